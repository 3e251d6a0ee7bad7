//! What the `tabwright` binary leaves behind when it ends: nothing of its own (no profile
//! folder, no Chromium process — also when stopped by a signal or by its stdin closing), and
//! nothing of the person's taken away (a browser it connected to keeps running, with its tabs).

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{json, Value};
use tabwright::browser::cdp::Cdp;
use tabwright::browser::launch::{launch, LaunchOptions};
use tabwright_e2e::binary;

const PAGE: &str = "data:text/html,<title>Mine</title><h1>Hello</h1>";

fn private_tmp(tag: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("tw-life-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("temp dir");
    dir
}

fn spawn(tmp: &Path, args: &[&str]) -> Child {
    Command::new(binary())
        .args(args)
        .env("TMPDIR", tmp)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start tabwright")
}

/// Profiles left in `tmp`.
fn profiles(tmp: &Path) -> Vec<String> {
    std::fs::read_dir(tmp)
        .map(|d| {
            d.flatten()
                .map(|e| e.file_name().to_string_lossy().to_string())
                .filter(|n| n.starts_with("tabwright-profile-"))
                .collect()
        })
        .unwrap_or_default()
}

/// Processes (not yet reaped zombies aside) whose command line names `tmp`.
fn processes_using(tmp: &Path) -> Vec<String> {
    let needle = tmp.to_string_lossy().to_string();
    let mut found = Vec::new();
    for e in std::fs::read_dir("/proc").into_iter().flatten().flatten() {
        let Ok(cmd) = std::fs::read(e.path().join("cmdline")) else {
            continue;
        };
        let cmd = String::from_utf8_lossy(&cmd).replace('\0', " ");
        if cmd.contains(&needle) {
            found.push(format!(
                "{} {}",
                e.file_name().to_string_lossy(),
                &cmd[..cmd.len().min(120)]
            ));
        }
    }
    found
}

/// Waits (bounded) until a browser started by the child runs with a profile in `tmp`.
fn wait_for_browser(tmp: &Path) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while Instant::now() < deadline {
        let ready = profiles(tmp)
            .iter()
            .any(|p| tmp.join(p).join("SingletonLock").symlink_metadata().is_ok());
        if ready && !processes_using(tmp).is_empty() {
            return;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    panic!("no browser started with a profile in {}", tmp.display());
}

fn assert_nothing_left(tmp: &Path, what: &str) {
    assert_eq!(
        profiles(tmp),
        Vec::<String>::new(),
        "{what}: profile folders left behind"
    );
    assert_eq!(
        processes_using(tmp),
        Vec::<String>::new(),
        "{what}: Chromium processes outlived the command"
    );
}

fn wait_exit(mut child: Child, what: &str) -> std::process::ExitStatus {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        if let Some(s) = child.try_wait().expect("wait") {
            return s;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("{what}: tabwright did not end within 30 s");
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

fn signal(child: &Child, sig: i32) {
    // SAFETY: kill(2) on our own child's pid.
    unsafe {
        libc::kill(child.id() as i32, sig);
    }
}

fn mcp_frames(child: &mut Child, frames: &[Value]) {
    let stdin = child.stdin.as_mut().expect("stdin");
    for f in frames {
        writeln!(stdin, "{f}").expect("write a frame");
    }
    stdin.flush().expect("flush");
}

fn mcp_navigate(url: &str) -> Vec<Value> {
    vec![
        json!({"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"lifecycle","version":"1"}}}),
        json!({"jsonrpc":"2.0","method":"notifications/initialized"}),
        json!({"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"navigate","arguments":{"url":url}}}),
    ]
}

#[test]
fn a_finished_command_leaves_no_profile_and_no_process() {
    let tmp = private_tmp("done");
    let child = spawn(
        &tmp,
        &["call", "navigate", &json!({"url": PAGE}).to_string()],
    );
    let status = wait_exit(child, "call");
    assert!(status.success(), "call failed: {status}");
    assert_nothing_left(&tmp, "call");

    // The stdio MCP server ends when its client closes stdin.
    let mut child = spawn(&tmp, &["mcp"]);
    mcp_frames(&mut child, &mcp_navigate(PAGE));
    wait_for_browser(&tmp);
    drop(child.stdin.take());
    wait_exit(child, "mcp, stdin closed");
    assert_nothing_left(&tmp, "mcp after stdin closed");
    let _ = std::fs::remove_dir_all(&tmp);
}

#[test]
fn a_signal_ends_the_browser_and_removes_its_profile() {
    let tmp = private_tmp("sig");
    // A call that would run for a long time, stopped by SIGTERM, SIGINT (Ctrl-C) and SIGHUP.
    let long = json!({"code": "new Promise(() => {})"}).to_string();
    for (sig, name) in [
        (libc::SIGTERM, "SIGTERM"),
        (libc::SIGINT, "SIGINT"),
        (libc::SIGHUP, "SIGHUP"),
    ] {
        let child = spawn(&tmp, &["call", "--url", PAGE, "javascript_tool", &long]);
        wait_for_browser(&tmp);
        signal(&child, sig);
        let status = wait_exit(child, name);
        assert!(!status.success(), "{name}: exit status {status}");
        assert_nothing_left(&tmp, &format!("call stopped by {name}"));
    }
    // The MCP server stops gracefully on SIGTERM and ends its browser too.
    let mut child = spawn(&tmp, &["mcp"]);
    mcp_frames(&mut child, &mcp_navigate(PAGE));
    wait_for_browser(&tmp);
    signal(&child, libc::SIGTERM);
    wait_exit(child, "mcp SIGTERM");
    assert_nothing_left(&tmp, "mcp stopped by SIGTERM");
    let _ = std::fs::remove_dir_all(&tmp);
}

async fn page_targets(cdp: &Cdp) -> Vec<(String, String)> {
    let v: Value = cdp
        .call(None, "Target.getTargets", json!({}))
        .await
        .expect("getTargets");
    v["targetInfos"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|t| t["type"] == "page")
        .map(|t| {
            (
                t["targetId"].as_str().unwrap_or("").to_string(),
                t["url"].as_str().unwrap_or("").to_string(),
            )
        })
        .collect::<std::collections::BTreeSet<_>>()
        .into_iter()
        .collect()
}

#[test]
fn a_connected_browser_and_its_tabs_outlive_every_command() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(async {
        // The person's browser, with two tabs of their own.
        let person = launch(&LaunchOptions::default()).await.expect("launch");
        let cdp = Cdp::connect(&person.ws_url).await.expect("connect");
        for n in 1..=2 {
            let _: Value = cdp
                .call(
                    None,
                    "Target.createTarget",
                    json!({"url": format!("data:text/html,<title>Person {n}</title>")}),
                )
                .await
                .expect("createTarget");
        }
        let before = page_targets(&cdp).await;
        let endpoint = format!("connect={}", person.ws_url);
        let tmp = private_tmp("connect");
        let nav = json!({"url": PAGE}).to_string();
        let runs: Vec<(&str, Vec<&str>)> = vec![
            (
                "call",
                vec!["call", "--browser", &endpoint, "navigate", &nav],
            ),
            ("open", vec!["open", "--browser", &endpoint, PAGE]),
        ];
        for (what, args) in runs {
            let child = spawn(&tmp, &args);
            let out = child.wait_with_output().expect("wait");
            assert!(
                out.status.success(),
                "{what} failed: {}",
                String::from_utf8_lossy(&out.stderr)
            );
            assert!(!cdp.is_closed(), "{what}: the person's browser was closed");
            let after = page_targets(&cdp).await;
            assert_eq!(
                after, before,
                "{what}: the person's tabs changed (or the command's own tab was left open)"
            );
        }
        let mut child = spawn(&tmp, &["mcp", "--browser", &endpoint]);
        mcp_frames(&mut child, &mcp_navigate(PAGE));
        // Wait until the server's tab shows up, then end the session.
        let deadline = Instant::now() + Duration::from_secs(30);
        while page_targets(&cdp).await.len() == before.len() {
            assert!(Instant::now() < deadline, "mcp never opened its tab");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        drop(child.stdin.take());
        let status = tokio::task::spawn_blocking(move || wait_exit(child, "mcp connect"))
            .await
            .expect("join");
        assert!(status.success(), "mcp exit {status}");
        // A closed browser drops the connection; a live one answers.
        let v: Value = cdp
            .call(None, "Browser.getVersion", json!({}))
            .await
            .expect("the person's browser no longer answers after mcp");
        assert!(v["product"].is_string());
        assert_eq!(
            page_targets(&cdp).await,
            before,
            "mcp: the person's tabs changed"
        );
        let _ = std::fs::remove_dir_all(&tmp);
    });
}
