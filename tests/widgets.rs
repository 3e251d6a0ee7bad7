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
