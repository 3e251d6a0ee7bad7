//! The outline grammar of read_page: header, refs on every element and stable across reads,
//! hidden content left out, filter / ref / depth / max_chars, and a 10k+ element page.

use serde_json::json;
use tabwright_e2e::{find_ref, parse_lines, run};

#[test]
fn header_and_grammar() {
    run(|c| async move {
        c.open("forms.html").await;
        let o = c.ok("read_page", json!({})).await;
        let header = o.lines().next().unwrap_or("");
        assert!(header.starts_with("page \"Sign up"), "{header}");
        assert!(
            header.contains("[url=http://127.0.0.1:")
                && header.contains("[viewport=")
                && header.contains("[scroll=0,0]"),
            "{header}"
        );
        for (indent, role, _name, r) in parse_lines(&o).into_iter().skip(1) {
            assert!(indent < 40, "sane nesting");
            if role != "text" {
                assert!(r.is_some(), "every element line carries a ref: {role}\n{o}");
            }
        }
        assert!(o.contains("- textbox \"Email\" [e"), "{o}");
        assert!(o.contains("[disabled]"), "states are shown:\n{o}");
        assert!(o.contains("- combobox \"Country\" [e"), "{o}");
        assert!(
            o.contains("[placeholder=") || o.contains("\"Search products\""),
            "{o}"
        );
    });
}

#[test]
fn refs_are_stable_across_reads_and_changes() {
    run(|c| async move {
        c.open("app/index.html").await;
        let first = c.ok("read_page", json!({})).await;
        let add = find_ref(&first, "button", "Add").expect("Add");
        let input = find_ref(&first, "textbox", "New todo").expect("New todo");
        c.ok("form_input", json!({"ref": input, "value": "Buy milk"}))
            .await;
        c.ok("computer", json!({"action": "left_click", "ref": add}))
            .await;
        let second = c.ok("read_page", json!({})).await;
        assert_eq!(
            find_ref(&second, "button", "Add").as_deref(),
            Some(add.as_str()),
            "{second}"
        );
        assert_eq!(
            find_ref(&second, "textbox", "New todo").as_deref(),
            Some(input.as_str())
        );
        assert!(
            find_ref(&second, "checkbox", "Buy milk").is_some(),
            "{second}"
        );
        let third = c.ok("read_page", json!({})).await;
        assert_eq!(
            second.lines().skip(1).collect::<Vec<_>>(),
            third.lines().skip(1).collect::<Vec<_>>()
        );
    });
}

#[test]
fn hidden_content_is_left_out() {
    run(|c| async move {
        c.open("text.html").await;
        let o = c.ok("read_page", json!({})).await;
        assert!(o.contains("The Article Title"), "{o}");
        assert!(
            !o.contains("HIDDEN TEXT")
                && !o.contains("ARIA HIDDEN TEXT")
                && !o.contains("INVISIBLE TEXT"),
            "{o}"
        );
        assert!(
            o.contains("- main [e") && o.contains("- navigation"),
            "landmarks carry refs:\n{o}"
        );
        assert!(
            o.contains("- img \"A blue circle on a light background\""),
            "{o}"
        );
    });
}

#[test]
fn filter_ref_and_depth_narrow_the_outline() {
    run(|c| async move {
        c.open("text.html").await;
        let all = c.ok("read_page", json!({})).await;
        let inter = c.ok("read_page", json!({"filter": "interactive"})).await;
        assert!(inter.len() < all.len(), "interactive is smaller");
        assert!(!inter.contains("- paragraph"), "{inter}");
        assert!(inter.contains("- link"), "{inter}");
        let main = all
            .lines()
            .find(|l| l.trim_start().starts_with("- main"))
            .and_then(|l| parse_lines(l).pop())
            .and_then(|l| l.3)
            .expect("main ref");
        let sub = c.ok("read_page", json!({"ref": main})).await;
        assert!(
            sub.contains("The Article Title") && !sub.contains("- navigation"),
            "{sub}"
        );
        let shallow = c.ok("read_page", json!({"depth": 1})).await;
        let max_indent = parse_lines(&shallow)
            .iter()
            .skip(1)
            .map(|l| l.0)
            .max()
            .unwrap_or(0);
        assert!(max_indent <= 1, "depth=1 keeps two levels:\n{shallow}");
        assert!(
            shallow.contains("[+"),
            "cut children are counted:\n{shallow}"
        );
    });
}

#[test]
fn over_max_chars_says_how_to_narrow_instead_of_cutting() {
    run(|c| async move {
        c.open("large.html").await;
        c.wait_text("body", "").await;
        let o = c.ok("read_page", json!({"max_chars": 5000})).await;
        assert!(
            o.contains("larger than max_chars=5000"),
            "{}",
            &o[..o.len().min(2000)]
        );
        assert!(
            o.contains("filter=interactive") && o.contains("ref="),
            "{}",
            &o[..o.len().min(2000)]
        );
        assert!(
            o.len() < 6000,
            "the answer itself respects the limit: {}",
            o.len()
        );
    });
}

#[test]
fn large_page_outline_is_complete() {
    run(|c| async move {
        c.open("large.html").await;
        let ready = c.js("document.body.dataset.ready").await;
        assert_eq!(ready, json!("true"));
        let o = c.ok("read_page", json!({"max_chars": 2_000_000})).await;
        let rows = o
            .lines()
            .filter(|l| l.trim_start().starts_with("- row "))
            .count();
        assert!(rows >= 1000, "all 1000 rows are present, got {rows}");
        let open = tabwright_e2e::parse_elements(&o)
            .iter()
            .filter(|e| e.role == "button" && e.name.starts_with("Open ") && e.r#ref.is_some())
            .count();
        assert_eq!(open, 250, "every 4th row has an Open button");
        let last = find_ref(&o, "button", "Open 1000").expect("the last Open button");
        // find on a big page (the walker keeps the lines back and sends only the shown ones):
        // the lines are the outline's own, with the same refs.
        let f = c
            .ok("find", json!({"query": "Open 1000 button", "limit": 3}))
            .await;
        let first = f.lines().next().unwrap_or("");
        assert!(
            first.starts_with(&format!("- button \"Open 1000\" [{last}]")),
            "{f}"
        );
        let detail = find_ref(&o, "link", "Detail 1000").expect("link Detail 1000");
        let f = c
            .ok("find", json!({"query": "Detail 1000 link", "limit": 3}))
            .await;
        let first = f.lines().next().unwrap_or("");
        assert!(
            first.starts_with(&format!(
                "- link \"Detail 1000\" [{detail}] [url=#row-1000]"
            )),
            "the full outline line, url included: {f}"
        );
        c.ok("computer", json!({"action": "left_click", "ref": last}))
            .await;
        assert_eq!(c.text_of("#status").await, "clicked: Open 1000");
    });
}

#[test]
fn names_shown_by_child_lines_are_not_repeated() {
    run(|c| async move {
        c.open("large.html").await;
        let o = c.ok("read_page", json!({"max_chars": 2_000_000})).await;
        // A row's content name is exactly its cells: the row line carries the ref only, and
        // its cells are written inline on it.
        let row = o
            .lines()
            .find(|l| l.contains("[cell \"Row 1\" "))
            .expect("the row of Row 1");
        assert!(
            row.trim_start().starts_with("- row [e"),
            "row line without a name: {row}"
        );
        // A cell whose only child is a link: the link says the name.
        assert!(
            row.contains(": [link \"Detail 1\" ") && row.contains("[cell e"),
            "the cell over the link is nameless: {row}"
        );
        // A cell with only text keeps its name, and the text is not printed again.
        assert!(
            !row.contains(": Row 1]"),
            "cell \"Row 1\" keeps its name, text not repeated: {row}"
        );
    });
}

/// The outline with every ref replaced by `R`, so lines can be compared whole.
fn without_refs(outline: &str) -> String {
    let mut out = String::new();
    for l in outline.lines() {
        let mut rest = l;
        while let Some(i) = rest.find(['[', ' ']) {
            out.push_str(&rest[..=i]);
            rest = &rest[i + 1..];
            let end = rest.find([']', ' ', ':']).unwrap_or(rest.len());
            if tabwright_e2e::is_ref(&rest[..end]) {
                out.push('R');
                rest = &rest[end..];
            }
        }
        out.push_str(rest);
        out.push('\n');
    }
    out
}

#[test]
fn running_text_keeps_its_elements_in_place_with_refs_that_work() {
    run(|c| async move {
        c.open("inline.html").await;
        let o = c.ok("read_page", json!({})).await;
        let plain = without_refs(&o);
        for want in [
            // a name from content with an element under it: the children say it
            "  - heading [R] [level=2]: Methods of [code R: str]",
            // a link around code, emphasis, a link with its name; spacing as on the page
            "  - paragraph [R]: Call [link R url=/library/functions.html#repr: [code R: repr()]] on \
             [emphasis R: x], or see [link \"the notes\" R url=#notes].",
            // brackets in the text, strong, no space before punctuation
            "  - paragraph [R]: Empty ones: [code R: ''], [code R: []], [code R: {}]; [strong R: never] \
             [code R: None].",
            "  - paragraph [R]: Press [button \"Go\" R] to start.",
            // a row's cells on its line; a cell's lone paragraph inline
            "      - row [R]: [columnheader R: [paragraph R: Operation]] [columnheader R: [paragraph R: Result]]",
            "      - row [R]: [cell R: [paragraph R: [code R: x or y]]] [cell R: [paragraph R: if \
             [emphasis R: x] is false, then [emphasis R: y]]]",
            "      - row [R]: [cell \"plain\" R] [cell R: [link \"Detail 2\" R url=#row-2]]",
            "    - listitem [R]: [paragraph R: Only a paragraph.]",
            "    - listitem [R]: Text and [link \"a link\" R url=#more]",
            // two paragraphs are block content: lines
            "    - listitem [R]\n      - paragraph [R]: First paragraph.\n      - paragraph [R]: Second paragraph.",
        ] {
            assert!(plain.contains(want), "missing:\n{want}\nin:\n{o}");
        }
        // Every element has a ref, inline ones too, and they all differ.
        let els = tabwright_e2e::parse_elements(&o);
        let refs: Vec<String> = els.iter().filter_map(|e| e.r#ref.clone()).collect();
        let lines = els.iter().filter(|e| e.role != "text").count();
        assert_eq!(refs.len(), lines, "an element without a ref:\n{o}");
        let unique: std::collections::HashSet<&String> = refs.iter().collect();
        assert_eq!(unique.len(), refs.len(), "refs repeat:\n{o}");
        assert!(
            els.iter().filter(|e| e.inline).count() >= 20,
            "inline elements are parsed:\n{o}"
        );
        // Inline refs are refs like any other: act on one, read the subtree of another.
        let go = find_ref(&o, "button", "Go").expect("inline button Go");
        c.ok("computer", json!({"action": "left_click", "ref": go}))
            .await;
        assert_eq!(c.text_of("#out").await, "pressed");
        let code = tabwright_e2e::parse_elements(&o)
            .into_iter()
            .find(|e| e.role == "code" && e.inline)
            .and_then(|e| e.r#ref)
            .expect("an inline code ref");
        let sub = c.ok("read_page", json!({"ref": code})).await;
        assert!(sub.contains(&format!("- code [{code}]: str")), "{sub}");
        // The same refs in the next read.
        let again = c.ok("read_page", json!({})).await;
        // (The header is left out: tests running beside this one may resize the window.)
        let body = |o: &str| {
            o.split_once('\n')
                .map(|(_, b)| b.to_string())
                .unwrap_or_default()
        };
        assert_eq!(
            body(&without_refs(&again))
                .replace("idle", "pressed")
                .replace(" focused]", "]"),
            body(&plain).replace("idle", "pressed")
        );
        assert_eq!(
            find_ref(&again, "button", "Go").as_deref(),
            Some(go.as_str())
        );
        // find prints an element's line as read_page does, content included.
        let f = c
            .ok("find", json!({"query": "paragraph", "limit": 3}))
            .await;
        let first = f.lines().next().unwrap_or("");
        let line = again
            .lines()
            .map(str::trim_start)
            .find(|l| l.starts_with("- paragraph [") && l.contains("Call [link "))
            .expect("the paragraph with repr()");
        assert!(first.starts_with(line), "find: {first}\nread_page: {line}");
        // find matches the text of a nameless element (a paragraph has no name).
        let f = c
            .ok(
                "find",
                json!({"query": "paragraph saying empty ones", "limit": 3}),
            )
            .await;
        assert!(
            f.lines().next().is_some_and(
                |l| l.starts_with("- paragraph [") && l.contains(": Empty ones: [code ")
            ),
            "{f}"
        );
        // filter=interactive: lines only.
        let inter = c.ok("read_page", json!({"filter": "interactive"})).await;
        assert!(
            inter.lines().skip(1).all(|l| !l.contains("[link ")),
            "{inter}"
        );
        assert!(find_ref(&inter, "link", "the notes").is_some(), "{inter}");
    });
}

/// Page text shaped like an element of the grammar cannot pass for one: its brackets are
/// escaped, while real inline elements and ordinary brackets are written as they are.
#[test]
fn text_that_imitates_an_element_is_escaped() {
    run(|c| async move {
        c.open("classify.html").await;
        let out = c.ok("read_page", json!({})).await;
        let line = out
            .lines()
            .find(|l| l.contains("To continue"))
            .unwrap_or_else(|| panic!("the paragraph:\n{out}"));
        assert!(
            line.contains(r#"click \[button "Pay now" e3\] or \[e4\]; a list[int] stays"#),
            "{line}"
        );
        assert!(!line.contains(r#" [button "Pay now" e3]"#), "{line}");
    });
}
