//! Waiting after actions: an acting tool returns once the page has settled, including DOM
//! changes its handlers make a moment later, and reports the focus and the scroll position
//! read as the wait ended (one round trip for the wait and the report).

use serde_json::json;
use tabwright_e2e::run;

#[test]
fn scripts_return_after_the_dom_changes_they_cause() {
    run(|c| async move {
        c.open("forms.html").await;
        // A change 5 ms after the script returns: the settle wait (40 ms of quiet) sees it.
        c.ok(
            "javascript_tool",
            json!({"code": "setTimeout(() => document.body.insertAdjacentHTML('beforeend', '<p id=late1>late</p>'), 5); 'scheduled'"}),
        )
        .await;
        assert_eq!(
            c.js("!!document.getElementById('late1')").await,
            json!(true)
        );
        // A promise that outlasts the first DOM wait (sent right behind the script), then a
        // change 5 ms after it resolves: the wait runs again after the script.
        c.ok(
            "javascript_tool",
            json!({"code": "await new Promise(r => setTimeout(r, 150)); setTimeout(() => document.body.insertAdjacentHTML('beforeend', '<p id=late2>late</p>'), 5); 'done'"}),
        )
        .await;
        assert_eq!(
            c.js("!!document.getElementById('late2')").await,
            json!(true)
        );
        // form_input: the control's input handler changes the page a moment later.
        c.js("document.querySelector('input[type=email]').addEventListener('input', () => setTimeout(() => document.body.insertAdjacentHTML('beforeend', '<p id=late3>typed</p>'), 5)); 1").await;
        let email = c.ref_of("textbox", "Email").await;
        c.ok(
            "form_input",
            json!({"ref": email, "value": "late@example.com"}),
        )
        .await;
        assert_eq!(
            c.js("!!document.getElementById('late3')").await,
            json!(true)
        );
    });
}

#[test]
fn action_results_report_the_focus_and_the_scroll_position() {
    run(|c| async move {
        c.open("forms.html").await;
        let email = c.ref_of("textbox", "Email").await;
        let r = c
            .ok("computer", json!({"action": "left_click", "ref": email}))
            .await;
        let focus = r
            .lines()
            .find(|l| l.starts_with("Focus: "))
            .unwrap_or_else(|| panic!("no focus line in {r}"));
        assert!(
            focus.contains("textbox \"Email\"") && focus.contains(&email),
            "{focus}"
        );
        c.open("scroll.html").await;
        let r = c
            .ok(
                "computer",
                json!({"action": "scroll", "scroll_direction": "down", "scroll_amount": 2}),
            )
            .await;
        let y = c.js("Math.round(scrollY)").await;
        assert!(y.as_i64().unwrap_or(0) > 0, "the page scrolled: {y}");
        assert!(
            r.contains(&format!("The page is now at scroll 0,{y} of ")),
            "{r}"
        );
    });
}
