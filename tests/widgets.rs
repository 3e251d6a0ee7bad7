//! The browser tools on the widget code real apps use (issue: tools that hold on real web
//! apps): scroll panes, covered targets, debounced widgets, icon-only controls, jQuery UI.
//! Third-party libraries come from the npm registry (`fixtures/widgets/package.json`,
//! installed by `.ci/setup`); each test checks what the page did, not what the tool said.

use std::time::{Duration, Instant};

use serde_json::json;
use tabwright_e2e::{repo_root, run};

/// Fails clearly when the widget libraries are not installed (never skips).
fn libraries() {
    for lib in ["jquery", "jquery-ui"] {
        let p = repo_root()
            .join("fixtures/widgets/node_modules")
            .join(lib)
            .join("package.json");
        assert!(
            p.is_file(),
            "{} is missing: run `bash .ci/setup` (it installs the widget fixtures' libraries from npm)",
            p.display()
        );
    }
}

#[test]
fn a_click_in_a_scroll_pane_lands_on_the_element() {
    libraries();
    run(|c| async move {
        c.open("widgets/mail.html").await;
        // Ada's row is inside the viewport but clipped by the list's own scroll.
        let r = c.ref_of("button", "Archive mail from Ada Lovelace").await;
        let out = c
            .ok("computer", json!({"action": "left_click", "ref": r}))
            .await;
        assert_eq!(
            c.text_of("#status").await,
            "archived: Ada Lovelace",
            "{out}"
        );
        let top = c.js("document.querySelector('#list').scrollTop").await;
        assert!(
            top.as_f64().unwrap_or(0.0) > 0.0,
            "the pane was not scrolled: {top}"
        );
    });
}

#[test]
fn an_option_of_a_list_box_is_scrolled_to_and_clicked() {
    libraries();
    run(|c| async move {
        c.open("widgets/mail.html").await;
        let r = c.ref_of("option", "tag 25").await;
        let out = c
            .ok("computer", json!({"action": "left_click", "ref": r}))
            .await;
        assert_eq!(c.text_of("#status").await, "tags: t25", "{out}");
    });
}

#[test]
fn scrolling_a_pane_reports_the_pane() {
    libraries();
    run(|c| async move {
        c.open("widgets/mail.html").await;
        let p = c
            .js("(() => { const r = document.querySelector('#list').getBoundingClientRect(); return [r.x + r.width / 2, r.y + r.height / 2]; })()")
            .await;
        let out = c
            .ok(
                "computer",
                json!({"action": "scroll", "coordinate": p, "scroll_direction": "down", "scroll_amount": 3}),
            )
            .await;
        let top = c.js("document.querySelector('#list').scrollTop").await;
        assert_eq!(top.as_f64(), Some(300.0), "{out}");
        assert!(
            out.contains("scrolling pane") && out.contains("is now at scroll 0,300"),
            "{out}"
        );
        // Past the end nothing moves, and the result says so.
        let again = c
            .ok(
                "computer",
                json!({"action": "scroll", "coordinate": p, "scroll_direction": "up", "scroll_amount": 10}),
            )
            .await;
        assert!(again.contains("is now at scroll 0,0"), "{again}");
        let none = c
            .ok(
                "computer",
                json!({"action": "scroll", "coordinate": p, "scroll_direction": "up"}),
            )
            .await;
        assert!(none.contains("Nothing moved"), "{none}");
    });
}

#[test]
fn a_covered_target_is_not_clicked() {
    run(|c| async move {
        c.open("classify.html").await;
        let r = c.ref_of("button", "Cancel").await;
        let err = c
            .err("computer", json!({"action": "left_click", "ref": r}))
            .await;
        assert!(
            err.contains("covers it") && err.contains("Place order"),
            "{err}"
        );
        assert_eq!(
            c.text_of("#status").await,
            "ready",
            "the click went through"
        );
        let err = c
            .err("computer", json!({"action": "hover", "ref": r}))
            .await;
        assert!(err.contains("was not hovered"), "{err}");
    });
}

#[test]
fn an_option_of_a_drop_down_says_to_use_form_input() {
    run(|c| async move {
        c.open("forms.html").await;
        let outline = c.ok("read_page", json!({"filter": "all"})).await;
        let r = tabwright_e2e::parse_elements(&outline)
            .into_iter()
            .find(|e| e.role == "option")
            .and_then(|e| e.r#ref)
            .unwrap_or_else(|| panic!("no option in\n{outline}"));
        let err = c
            .err("computer", json!({"action": "left_click", "ref": r}))
            .await;
        assert!(err.contains("form_input"), "{err}");
    });
}

#[test]
fn points_outside_the_viewport_are_refused_at_once() {
    run(|c| async move {
        c.open("buttons.html").await;
        for p in [[5000.0, 5000.0], [1e308, 1e308], [1280.0, 10.0]] {
            let t0 = Instant::now();
            let err = c
                .err("computer", json!({"action": "left_click", "coordinate": p}))
                .await;
            assert!(err.contains("outside the viewport"), "{err}");
            assert!(t0.elapsed() < Duration::from_secs(2), "{:?}", t0.elapsed());
            let err = c
                .err(
                    "computer",
                    json!({"action": "scroll", "coordinate": p, "scroll_direction": "down"}),
                )
                .await;
            assert!(err.contains("not a point of the viewport"), "{err}");
        }
        let err = c
            .err(
                "computer",
                json!({"action": "zoom", "region": [3000, 3000, 4000, 4000]}),
            )
            .await;
        assert!(err.contains("outside the viewport"), "{err}");
        // Input on the tab still works at once.
        let save = c.ref_of("button", "Save").await;
        let t0 = Instant::now();
        c.ok("computer", json!({"action": "left_click", "ref": save}))
            .await;
        assert_eq!(c.text_of("#status").await, "clicked: Save");
        assert!(t0.elapsed() < Duration::from_secs(2), "{:?}", t0.elapsed());
    });
}

/// A page that never yields (or opens alerts one after another) does not keep the tab:
/// `navigate` leaves it, says so, and the next page answers. The hung page is on the other
/// origin, so the renderer it takes down is its own (site isolation), not another test's.
#[test]
fn navigate_leaves_a_page_that_stopped_answering() {
    use tabwright_e2e::other_url;
    for mode in ["spin", "alerts"] {
        run(move |c| async move {
            let t0 = Instant::now();
            let first = c
                .ok(
                    "navigate",
                    json!({"url": other_url(&format!("hung.html?{mode}"))}),
                )
                .await;
            let arrive = t0.elapsed();
            assert!(first.contains("hung.html"), "{mode}: {first}");
            assert!(
                arrive < Duration::from_secs(8),
                "{mode}: arriving took {arrive:?}\n{first}"
            );
            if mode == "spin" {
                assert!(first.contains("not responding"), "{first}");
                // Reading and acting are refused at once, with what to do.
                for (tool, args) in [
                    ("read_page", json!({})),
                    (
                        "computer",
                        json!({"action": "left_click", "coordinate": [20, 20]}),
                    ),
                ] {
                    let t0 = Instant::now();
                    let err = c.err(tool, args).await;
                    assert!(
                        err.contains("not responding") && err.contains("navigate"),
                        "{tool}: {err}"
                    );
                    assert!(
                        t0.elapsed() < Duration::from_secs(2),
                        "{tool}: {:?}",
                        t0.elapsed()
                    );
                }
            }
            let t0 = Instant::now();
            let text = c.open("buttons.html").await;
            let leave = t0.elapsed();
            assert!(
                text.starts_with("Loaded ") && text.contains("buttons.html"),
                "{mode}: {text}"
            );
            assert!(text.contains("was not responding"), "{mode}: {text}");
            assert!(
                leave < Duration::from_secs(6),
                "{mode}: leaving took {leave:?}"
            );
            // The tab is on the new page and answers at once.
            let save = c.ref_of("button", "Save").await;
            c.ok("computer", json!({"action": "left_click", "ref": save}))
                .await;
            assert_eq!(c.text_of("#status").await, "clicked: Save", "{mode}");
            eprintln!("{mode}: arrive {arrive:?}, leave {leave:?}");
        });
    }
}

#[test]
fn typing_into_an_autocomplete_returns_with_its_suggestions() {
    libraries();
    run(|c| async move {
        c.open("widgets/jqui.html").await;
        let r = c.ref_of("textbox", "Language").await;
        c.ok("computer", json!({"action": "left_click", "ref": r}))
            .await;
        let out = c
            .ok("computer", json!({"action": "type", "text": "Ja"}))
            .await;
        // The suggestions come 300 ms after the last key (jQuery UI's debounce): the result
        // waited for them, and says they appeared.
        let shown = c
            .js("[...document.querySelectorAll('.ui-autocomplete li')].filter(e => e.offsetParent).map(e => e.textContent).join(',')")
            .await;
        assert_eq!(shown, "Java,JavaScript", "{out}");
        assert!(
            out.split("Appeared:")
                .nth(1)
                .is_some_and(|a| a.contains("Java") && a.contains("JavaScript")),
            "{out}"
        );
    });
}

#[test]
fn hovering_a_menu_item_returns_with_its_submenu_open() {
    libraries();
    run(|c| async move {
        c.open("widgets/jqui.html").await;
        let r = c.ref_of("menuitem", "Export").await;
        let out = c.ok("computer", json!({"action": "hover", "ref": r})).await;
        let open = c
            .js("[...document.querySelectorAll('#menu ul')].some(u => u.offsetParent !== null)")
            .await;
        assert_eq!(
            open,
            json!(true),
            "the submenu was not open when hover returned: {out}"
        );
        assert!(out.contains("\"As PDF\""), "{out}");
        let pdf = c.ref_of("menuitem", "As PDF").await;
        c.ok("computer", json!({"action": "left_click", "ref": pdf}))
            .await;
        assert_eq!(c.text_of("#status").await, "menu: As PDF");
    });
}

#[test]
fn a_tooltip_is_there_when_hover_returns() {
    libraries();
    run(|c| async move {
        c.open("widgets/jqui.html").await;
        let r = c.ref_of("link", "Help").await;
        let out = c.ok("computer", json!({"action": "hover", "ref": r})).await;
        let tip = c
            .js("[...document.querySelectorAll('.ui-tooltip')].filter(t => getComputedStyle(t).display !== 'none' && getComputedStyle(t).opacity === '1').map(t => t.textContent).join('')")
            .await;
        assert_eq!(tip, "Opens the help pages", "{out}");
    });
}

#[test]
fn icon_only_controls_have_refs_names_and_are_found() {
    libraries();
    run(|c| async move {
        c.open("widgets/mail.html").await;
        let page = c.ok("read_page", json!({})).await;
        let els = tabwright_e2e::parse_elements(&page);
        let count = |role: &str, name: &str| {
            els.iter()
                .filter(|e| e.role == role && e.name == name && e.r#ref.is_some())
                .count()
        };
        // A background-image span with a title, a generated-content star named by its
        // data-action, an SVG named by its class: an image with a ref on every row.
        assert_eq!(count("img", "Delete"), 40, "{page}");
        assert_eq!(count("img", "star"), 40, "{page}");
        assert_eq!(count("img", "menu more"), 40, "{page}");
        // Two text controls on one line: a ref each.
        let reply = els
            .iter()
            .filter(|e| e.r#ref.is_some() && page_line_has(&page, e, "Reply"))
            .count();
        let forward = els
            .iter()
            .filter(|e| e.r#ref.is_some() && page_line_has(&page, e, "Forward"))
            .count();
        assert_eq!((reply, forward), (40, 40), "{page}");

        // find understands icon words and the row a control belongs to.
        for (query, want) in [
            ("trash icon of the email from Ada", "deleted: Ada Lovelace"),
            ("star the email from Alan Turing", "starred: Alan Turing"),
            (
                "more menu of the message from Donald Knuth",
                "more: Donald Knuth",
            ),
            (
                "Forward on the message from Grace Hopper",
                "forward: Grace Hopper",
            ),
        ] {
            let found = c.ok("find", json!({"query": query})).await;
            let first = tabwright_e2e::parse_elements(&found)
                .into_iter()
                .find_map(|e| e.r#ref)
                .unwrap_or_else(|| panic!("{query}: nothing found:\n{found}"));
            c.ok("computer", json!({"action": "left_click", "ref": first}))
                .await;
            assert_eq!(c.text_of("#status").await, want, "{query}:\n{found}");
        }
    });
}

/// Whether the outline line of element `e` (found by its ref) shows `text`.
fn page_line_has(page: &str, e: &tabwright_e2e::OutlineElement, text: &str) -> bool {
    let Some(r) = &e.r#ref else { return false };
    page.lines()
        .find(|l| l.contains(&format!("[{r}]")))
        .is_some_and(|l| l.trim_end().ends_with(&format!(": {text}")))
}

#[test]
fn text_a_page_makes_clickable_is_not_merged_into_its_line() {
    run(|c| async move {
        c.open("widgets/board.html").await;
        let page = c.ok("read_page", json!({})).await;
        let els = tabwright_e2e::parse_elements(&page);
        let with_ref = |text: &str| {
            els.iter()
                .filter(|e| e.r#ref.is_some() && (e.name == text || page_line_has(&page, e, text)))
                .count()
        };
        for w in ["apple", "pear", "plum", "C", "A", "T"] {
            assert!(
                with_ref(w) >= 1 || page.contains(&format!(": {w}]")),
                "{w} has no ref:\n{page}"
            );
        }
        // Inline words keep their own refs inside the paragraph's line.
        let pear = page
            .split("[generic ")
            .find(|p| p.contains(": pear]"))
            .and_then(|p| p.split(':').next())
            .unwrap_or_else(|| panic!("no ref for pear:\n{page}"))
            .to_string();
        c.ok("computer", json!({"action": "left_click", "ref": pear}))
            .await;
        assert_eq!(c.text_of("#status").await, "word: pear");
        let letter_a = els
            .iter()
            .find(|e| page_line_has(&page, e, "A"))
            .and_then(|e| e.r#ref.clone())
            .unwrap_or_else(|| panic!("no ref for the SVG letter A:\n{page}"));
        c.ok("computer", json!({"action": "left_click", "ref": letter_a}))
            .await;
        assert_eq!(c.text_of("#status").await, "letter: A");
        // Nine grid dots, nine refs.
        let dots = page
            .lines()
            .filter(|l| l.trim().starts_with("- generic [e") && !l.contains(':'))
            .count();
        assert_eq!(dots, 9, "{page}");
    });
}

#[test]
fn controls_say_what_they_are_and_form_input_names_the_format() {
    run(|c| async move {
        c.open("widgets/controls.html").await;
        let page = c.ok("read_page", json!({})).await;
        for want in [
            r#"textbox "Subject" [e"#,
            r#"[value="Hello   "]"#,
            r#"textbox "Message""#,
            r#"[multiline] [value="line one\n  indented line two   "]"#,
            r#"[type=date] [value="2026-12-05"]"#,
            r#"[type=time] [value="09:30"]"#,
            r#"spinbutton "Guests""#,
            "[min=1] [max=8]",
            r#"slider "Volume""#,
            "[min=0] [max=10] [step=2]",
            r##"[type=color] [value="#3366ff"]"##,
            "[haspopup=menu]",
        ] {
            assert!(page.contains(want), "{want} missing:\n{page}");
        }
        // A long value is cut in the page's outline, whole when the control is read alone.
        assert!(!page.contains("END"), "{page}");
        let notes = c.ref_of("textbox", "Notes").await;
        let one = c.ok("read_page", json!({"ref": notes})).await;
        assert!(one.contains(&format!("{}END", "x".repeat(250))), "{one}");

        // A value in the wrong format: the error says the format; nothing changed.
        let day = c.ref_of("textbox", "Day").await;
        let e = c
            .err("form_input", json!({"ref": day, "value": "12/05/2026"}))
            .await;
        assert!(e.contains("YYYY-MM-DD") && e.contains("unchanged"), "{e}");
        let guests = c.ref_of("spinbutton", "Guests").await;
        let e = c
            .err("form_input", json!({"ref": guests, "value": 12}))
            .await;
        assert!(e.contains("from 1 to 8"), "{e}");
        let code = c.ref_of("textbox", "Code").await;
        let e = c
            .err("form_input", json!({"ref": code, "value": "abcdef"}))
            .await;
        assert!(e.contains("at most 4"), "{e}");
        let start = c.ref_of("textbox", "Start").await;
        let e = c
            .err("form_input", json!({"ref": start, "value": "9.30pm"}))
            .await;
        assert!(e.contains("HH:MM"), "{e}");
        let values = c
            .js("[day.value, guests.value, code.value, start.value, document.getElementById('events').textContent]")
            .await;
        assert_eq!(values, json!(["2026-12-05", "2", "ab", "09:30", "0"]));
        // Right formats go in.
        c.ok("form_input", json!({"ref": day, "value": "2027-01-02"}))
            .await;
        c.ok("form_input", json!({"ref": guests, "value": 5})).await;
        assert_eq!(
            c.js("[day.value, guests.value]").await,
            json!(["2027-01-02", "5"])
        );
    });
}

#[test]
fn a_jquery_ui_slider_handle_is_a_slider_with_its_value() {
    libraries();
    run(|c| async move {
        c.open("widgets/jqui.html").await;
        let page = c.ok("read_page", json!({})).await;
        let line = page
            .lines()
            .find(|l| l.trim().starts_with("- slider"))
            .unwrap_or_else(|| panic!("no slider:\n{page}"));
        assert!(line.contains("[min=0] [max=100] [value=\"20\"]"), "{line}");
        let handle = tabwright_e2e::parse_elements(line)
            .into_iter()
            .find_map(|e| e.r#ref)
            .expect("ref");
        c.ok("computer", json!({"action": "left_click", "ref": handle}))
            .await;
        c.ok(
            "computer",
            json!({"action": "key", "text": "Right", "repeat": 3}),
        )
        .await;
        let again = c.ok("read_page", json!({"ref": handle})).await;
        let now = c.text_of("#amount").await;
        assert!(
            again.contains(&format!("[value=\"{now}\"]")) && now != "20",
            "page says {now}: {again}"
        );
    });
}

#[test]
fn find_understands_order_and_symbols() {
    run(|c| async move {
        c.open("widgets/results.html").await;
        for (query, want) in [
            ("the 9th search result", "went to #r9"),
            ("the third result", "went to #r3"),
            ("next page", "went to #p2"),
            ("last page", "went to #p9"),
            ("the plus button for Coconut tart", "Coconut tart: 2"),
            ("the minus button for Mince pie", "Mince pie: 0"),
            ("second link", "went to #help"),
        ] {
            let found = c.ok("find", json!({"query": query})).await;
            let first = tabwright_e2e::parse_elements(&found)
                .into_iter()
                .find_map(|e| e.r#ref)
                .unwrap_or_else(|| panic!("{query}: nothing found:\n{found}"));
            c.ok("computer", json!({"action": "left_click", "ref": first}))
                .await;
            let got = c.wait_text("#status", want).await;
            assert_eq!(got, want, "{query}:\n{found}");
        }
    });
}

#[test]
fn a_drag_onto_the_next_item_reorders_a_sortable_list() {
    libraries();
    run(|c| async move {
        c.open("widgets/jqui.html").await;
        let item = |name: &'static str| {
            let c = &c;
            async move {
                let page = c.ok("read_page", json!({})).await;
                page.lines()
                    .find(|l| {
                        l.contains("- listitem [") && l.trim_end().ends_with(&format!(": {name}"))
                    })
                    .and_then(|l| l.split('[').nth(1))
                    .and_then(|r| r.split(']').next())
                    .map(str::to_string)
                    .unwrap_or_else(|| panic!("no list item {name}:\n{page}"))
            }
        };
        let order = || async {
            c.js("$('#sortable li').map((i, e) => $(e).text()).get().join(',')")
                .await
        };
        // Down one place.
        let (a, b) = (item("Alpha").await, item("Bravo").await);
        c.ok(
            "computer",
            json!({"action": "left_click_drag", "start_ref": a, "ref": b}),
        )
        .await;
        assert_eq!(order().await, json!("Bravo,Alpha,Charlie,Delta"));
        // Up one place.
        let (d, ch) = (item("Delta").await, item("Charlie").await);
        c.ok(
            "computer",
            json!({"action": "left_click_drag", "start_ref": d, "ref": ch}),
        )
        .await;
        assert_eq!(order().await, json!("Bravo,Alpha,Delta,Charlie"));
        assert_eq!(
            c.text_of("#status").await,
            "order: Bravo,Alpha,Delta,Charlie"
        );
    });
}
