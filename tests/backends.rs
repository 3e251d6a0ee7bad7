//! Backends and browser failures: `connect` to a running browser by ws:// and http://
//! endpoints, and a launched browser that dies mid-session (the next call says so and a new
//! browser is started; the call after that works).

use std::sync::Arc;

use serde_json::json;
use tabwright::browser::launch::{launch, LaunchOptions};
use tabwright::browser::{Backend, Browser, Session};
use tabwright_e2e::Tools;
use tabwright_e2e::{run, url};

async fn drive(backend: Backend) -> String {
    let browser = Browser::new(backend);
    let session = Arc::new(Session::new(browser.clone(), std::env::temp_dir()));
    let reg = Tools::browser();
    reg.call(&session, "navigate", json!({"url": url("forms.html")}))
        .await
        .expect("navigate");
    let out = reg
        .call(&session, "read_page", json!({}))
        .await
        .expect("read_page")
        .text;
    let ctx = reg
        .call(&session, "tabs_context", json!({}))
        .await
        .expect("tabs_context")
        .text;
    assert!(ctx.contains("connect ("), "{ctx}");
    out
}

#[test]
fn connect_by_ws_and_http_endpoints() {
    run(|_c| async move {
        let running = launch(&LaunchOptions::default())
            .await
            .expect("a browser to connect to");
        let out = drive(Backend::Connect(running.ws_url.clone())).await;
        assert!(out.contains("- textbox \"Email\" [e"), "{out}");
        let http = running
            .ws_url
            .replace("ws://", "http://")
            .split("/devtools")
            .next()
            .map(str::to_string)
            .expect("http endpoint");
        let out = drive(Backend::Connect(http)).await;
        assert!(out.contains("- combobox \"Country\""), "{out}");
        let bad = Browser::new(Backend::Connect("http://127.0.0.1:9".into()));
        let s = Arc::new(Session::new(bad, std::env::temp_dir()));
        let e = Tools::browser()
            .call(&s, "tabs_context", json!({}))
            .await
            .expect_err("unreachable");
        assert!(
            e.0.contains("cannot start the browser") && e.0.contains("127.0.0.1:9"),
            "{}",
            e.0
        );
    });
}

#[test]
fn a_dead_browser_is_reported_then_relaunched() {
    run(|_c| async move {
        let browser: Arc<Browser> = Browser::new(Backend::Launch(LaunchOptions::default()));
        let session = Arc::new(Session::new(browser.clone(), std::env::temp_dir()));
        let other = Arc::new(Session::new(browser.clone(), std::env::temp_dir()));
        let reg = Tools::browser();
        reg.call(&session, "navigate", json!({"url": url("forms.html")}))
            .await
            .expect("navigate");
        reg.call(&other, "navigate", json!({"url": url("buttons.html")}))
            .await
            .expect("navigate in a second session");
        let pid = browser.pid().await.expect("pid");
        std::process::Command::new("kill")
            .args(["-9", &pid.to_string()])
            .status()
            .expect("kill");
        // Wait (bounded) until the connection notices.
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        while browser.is_running().await && std::time::Instant::now() < deadline {
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
        let e = reg
            .call(&session, "read_page", json!({}))
            .await
            .expect_err("the dead browser is reported");
        assert!(
            e.0.contains("the browser had exited") && e.0.contains("navigate again"),
            "{}",
            e.0
        );
        let t = reg
            .call(&session, "navigate", json!({"url": url("buttons.html")}))
            .await
            .expect("relaunched");
        assert!(t.text.contains("HTTP 200"), "{}", t.text);
        assert_ne!(browser.pid().await, Some(pid), "a new browser process");
        // The other session hears of it too, once, though the first session's call noticed it.
        let e = reg
            .call(&other, "read_page", json!({}))
            .await
            .expect_err("the restart is reported to every session");
        assert!(e.0.contains("the browser had exited"), "{}", e.0);
        reg.call(&other, "navigate", json!({"url": url("buttons.html")}))
            .await
            .expect("the second session goes on");
        let page = reg
            .call(&session, "read_page", json!({}))
            .await
            .expect("read after relaunch");
        assert!(page.text.contains("button \"Save\""), "{}", page.text);
        browser.shutdown().await;
    });
}
