//! Bad input and failures: each gives a clear error, never a panic or a hang, and the
//! session goes on working afterwards.

use serde_json::json;
use tabwright_e2e::{run, url};

#[test]
fn unknown_tool_and_bad_parameters_name_the_problem() {
    run(|c| async move {
        let e = c.err("teleport", json!({})).await;
        assert!(
            e.contains("unknown tool \"teleport\"") && e.contains("read_page"),
            "{e}"
        );
        let e = c.err("navigate", json!({})).await;
        assert!(e.contains("missing field `url`"), "{e}");
        let e = c.err("navigate", json!({"url": 5})).await;
        assert!(e.contains("`url`") || e.contains("url"), "{e}");
        let e = c.err("read_page", json!({"depth": "deep"})).await;
        assert!(e.contains("field `depth`"), "{e}");
        let e = c.err("read_page", json!({"filter": "everything"})).await;
        assert!(e.contains("filter"), "{e}");
        let e = c.err("computer", json!({"action": "fly"})).await;
        assert!(e.contains("action") && e.contains("left_click"), "{e}");
        let e = c.err("computer", json!({"action": "left_click"})).await;
        assert!(e.contains("`ref`") && e.contains("`coordinate`"), "{e}");
        let e = c.err("computer", json!({"action": "type"})).await;
        assert!(e.contains("`text`"), "{e}");
        let e = c
            .err(
                "computer",
                json!({"action": "left_click", "coordinate": [1]}),
            )
            .await;
        assert!(e.contains("coordinate"), "{e}");
        let e = c.err("read_page", json!({"bogus": true})).await;
        assert!(e.contains("unknown field `bogus`"), "{e}");
        let e = c.err("tabs_context", json!([1, 2])).await;
        assert!(e.contains("JSON object"), "{e}");
        // The session still works.
        c.open("forms.html").await;
    });
}

#[test]
fn stale_and_malformed_refs_tell_the_model_to_read_again() {
    run(|c| async move {
        c.open("buttons.html").await;
        let save = c.ref_of("button", "Save").await;
        c.js("document.querySelector('#save').remove()").await;
        let e = c
            .err("computer", json!({"action": "left_click", "ref": save}))
            .await;
        assert!(e.contains("stale") && e.contains("read_page"), "{e}");
        c.open("forms.html").await;
        let e = c
            .err("form_input", json!({"ref": save, "value": "x"}))
            .await;
        assert!(e.contains("stale"), "a ref from the previous page: {e}");
        let e = c
            .err(
                "computer",
                json!({"action": "left_click", "ref": "e999999"}),
            )
            .await;
        assert!(e.contains("stale"), "{e}");
        let e = c
            .err(
                "computer",
                json!({"action": "left_click", "ref": "button-3"}),
            )
            .await;
        assert!(e.contains("not a ref"), "{e}");
        let e = c.err("read_page", json!({"ref": "f77e1"})).await;
        assert!(e.contains("stale"), "{e}");
        c.ok("read_page", json!({})).await;
    });
}

#[test]
fn unreachable_url_gives_the_network_error() {
    run(|c| async move {
        // A port nothing listens on.
        let port = {
            let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
            l.local_addr().expect("addr").port()
        };
        let e = c
            .err(
                "navigate",
                json!({"url": format!("http://127.0.0.1:{port}/")}),
            )
            .await;
        assert!(e.contains("ERR_CONNECTION_REFUSED"), "{e}");
        let e = c
            .err("navigate", json!({"url": "http://no-such-host.invalid/"}))
            .await;
        assert!(
            e.contains("ERR_NAME_NOT_RESOLVED") || e.contains("net::"),
            "{e}"
        );
        let e = c
            .err("navigate", json!({"url": "javascript:alert(1)"}))
            .await;
        assert!(e.contains("javascript_tool"), "{e}");
        c.open("forms.html").await;
    });
}

#[test]
fn closed_tab_is_a_clear_error() {
    run(|c| async move {
        c.open("forms.html").await;
        let id = second_tab(&c).await;
        // The person closes the tab.
        let live = c.session.live().await.expect("browser");
        let target = live.target_of(id as u32).expect("target").target_id;
        live.close_target(&target).await.expect("close");
        let last = c.err("read_page", json!({"tab_id": id})).await;
        assert!(
            last.contains(&format!("tab {id} is not open")) && last.contains("tabs_context"),
            "{last}"
        );
        let e = c.err("read_page", json!({"tab_id": 4242})).await;
        assert!(e.contains("tab 4242 is not open"), "{e}");
        // The session falls back to a live tab.
        let ctx = c.ok("tabs_context", json!({})).await;
        assert!(ctx.contains("(active)"), "{ctx}");
    });
}

#[test]
fn javascript_exception_and_hung_script_are_tool_errors() {
    run(|c| async move {
        c.open("forms.html").await;
        let e = c.err("javascript_tool", json!({"code": "null.x"})).await;
        assert!(e.contains("TypeError"), "{e}");
        let e = c
            .err(
                "javascript_tool",
                json!({"code": "Promise.reject(new Error('nope'))"}),
            )
            .await;
        assert!(e.contains("nope"), "{e}");
        assert_eq!(c.js("2 * 21").await, json!(42));
    });
}

#[test]
fn a_dialog_opened_by_a_script_does_not_hang_the_tool() {
    run(|c| async move {
        c.open("forms.html").await;
        let started = std::time::Instant::now();
        let r = c
            .ok(
                "javascript_tool",
                json!({"code": "alert('from script'); 5"}),
            )
            .await;
        assert!(
            r.contains("alert dialog is open") && r.contains("from script"),
            "{r}"
        );
        assert!(
            started.elapsed() < std::time::Duration::from_secs(5),
            "returned promptly"
        );
        let refused = c
            .err(
                "computer",
                json!({"action": "left_click", "coordinate": [10, 10]}),
            )
            .await;
        assert!(refused.contains("dialog is open"), "{refused}");
        c.ok("computer", json!({"action": "key", "text": "Escape"}))
            .await;
        assert_eq!(c.js("1 + 1").await, json!(2));
    });
}

#[test]
fn slow_pages_are_waited_for_within_bounds() {
    run(|c| async move {
        let started = std::time::Instant::now();
        let r = c
            .ok("navigate", json!({"url": url("api/slow?ms=1500")}))
            .await;
        let took = started.elapsed();
        assert!(r.contains("HTTP 200"), "{r}");
        assert!(
            took >= std::time::Duration::from_millis(1400)
                && took < std::time::Duration::from_secs(10),
            "{took:?}"
        );
        assert_eq!(c.js("document.body.textContent").await, json!("ok"));
    });
}

/// Two sessions over one browser screenshot their own tabs at the same time, and the first
/// session's tab still answers after the second opened its own.
#[test]
fn two_sessions_screenshot_side_by_side() {
    run(|c| async move {
        let other = c.second();
        c.open("buttons.html").await;
        other
            .call("navigate", json!({"url": url("forms.html")}))
            .await
            .expect("second session navigates");
        let shot = json!({"action": "screenshot"});
        let (a, b) = tokio::join!(
            tokio::time::timeout(
                std::time::Duration::from_secs(10),
                c.call("computer", shot.clone())
            ),
            tokio::time::timeout(
                std::time::Duration::from_secs(10),
                other.call("computer", shot.clone())
            ),
        );
        let a = a
            .expect("first screenshot within 10 s")
            .expect("first screenshot");
        let b = b
            .expect("second screenshot within 10 s")
            .expect("second screenshot");
        assert_eq!(a.images.len(), 1);
        assert_eq!(b.images.len(), 1);
        // And again, the other way round (the first tab is now not the last one opened).
        let a2 = tokio::time::timeout(std::time::Duration::from_secs(10), c.call("computer", shot))
            .await;
        assert!(
            a2.is_ok_and(|r| r.is_ok()),
            "the first session's tab still paints"
        );
    });
}

/// A tab that closes while a script runs in it is reported as closed (not as a dialog), and
/// the session goes on.
#[test]
fn a_tab_closing_under_a_running_script_is_reported() {
    run(|c| async move {
        c.open("forms.html").await;
        let id = second_tab(&c).await;
        let live = c.session.live().await.expect("browser");
        let target = live.target_of(id as u32).expect("target").target_id;
        // The person closes the tab once the script is running (it says so in the title).
        let tab = c.session.tab(Some(id as u32)).await.expect("tab");
        let title = || async {
            tab.call::<serde_json::Value>(
                "Runtime.evaluate",
                json!({"expression": "document.title", "returnByValue": true}),
            )
            .await
            .ok()
            .and_then(|v| v.pointer("/result/value").cloned())
        };
        let closer = async {
            let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
            while title().await != Some(json!("script running")) {
                assert!(
                    std::time::Instant::now() < deadline,
                    "the script never started"
                );
                tokio::time::sleep(std::time::Duration::from_millis(10)).await;
            }
            live.close_target(&target).await.expect("close");
        };
        let script = c.call(
            "javascript_tool",
            json!({"code": "document.title = 'script running'; new Promise(() => {})", "tab_id": id}),
        );
        let (r, _) = tokio::join!(script, closer);
        let text = match r {
            Ok(o) => o.text,
            Err(e) => e.0,
        };
        // Launch: "the tab closed"; through the extension the debugger detach says so.
        assert!(text.contains("closed"), "{text}");
        assert!(!text.contains("opened a dialog"), "{text}");
        c.ok("tabs_context", json!({})).await;
    });
}

/// Opens links-target.html in a second tab of the test's session and returns its id.
async fn second_tab(c: &tabwright_e2e::Ctx) -> u64 {
    let made = c
        .ok("tabs_create", json!({"url": url("links-target.html")}))
        .await;
    made.split("Opened tab ")
        .nth(1)
        .and_then(|s| s.split(|ch: char| !ch.is_ascii_digit()).next())
        .and_then(|s| s.parse().ok())
        .expect("tab id")
}
