//! Shortcuts and model-free replay against fixtures/ in a real Chromium: Chrome DevTools
//! Recorder JSON (every selector kind, frames, shadow roots), assertions that really fail,
//! self-healing on a changed page, broken input, JUnit XML, `tabwright replay` exit codes,
//! record → save → list → execute through the registry, export → replay, and
//! `tabwright mcp --save-shortcut`.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{json, Value};
use tabwright::shortcuts::replay::{self, Options, Report, Status};
use tabwright::shortcuts::{self, record, recorder_json, store, Kind, Shortcut};
use tabwright_e2e::{binary, repo_root, run, url, Ctx};

fn base() -> String {
    url("").trim_end_matches('/').to_string()
}

fn tmp(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!(
        "tw-replay-{}-{name}-{:?}",
        std::process::id(),
        std::thread::current().id()
    ));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).expect("temp dir");
    d
}

fn load(rel: &str) -> Shortcut {
    shortcuts::load_file(&repo_root().join(rel)).unwrap_or_else(|e| panic!("{rel}: {e}"))
}

fn vars(extra: &[(&str, &str)]) -> BTreeMap<String, String> {
    let mut v = BTreeMap::new();
    v.insert("base_url".to_string(), base());
    for (k, x) in extra {
        v.insert(k.to_string(), x.to_string());
    }
    v
}

async fn replay_sc(c: &Ctx, sc: &Shortcut, v: &BTreeMap<String, String>) -> Report {
    let opts = Options {
        artifacts: Some(tmp("shots")),
        timeout: Some(Duration::from_millis(3000)),
        ..Default::default()
    };
    replay::run(&c.tools, sc, v, &opts, &mut |_| {})
        .await
        .unwrap_or_else(|e| panic!("{} should be valid: {e}", sc.name))
}

fn assert_green(r: &Report) {
    assert!(r.passed(), "{}", r.text());
    assert!(
        r.steps.iter().all(|s| s.status == Status::Passed),
        "expected no healed steps:\n{}",
        r.text()
    );
}

/// The report's first failed step.
fn failed(r: &Report) -> &replay::StepOutcome {
    r.steps
        .iter()
        .find(|s| s.status == Status::Failed)
        .unwrap_or_else(|| panic!("expected a failed step:\n{}", r.text()))
}

#[test]
fn recorder_json_todo_flow_replays_green_and_leaves_the_recorded_state() {
    run(|c| async move {
        let sc = load("fixtures/recorder/todo-flow.json");
        let r = replay_sc(&c, &sc, &vars(&[])).await;
        assert_green(&r);
        assert_eq!(r.steps.len(), 26, "{}", r.text());
        // What the page shows afterwards, read independently of the replay.
        assert_eq!(c.text_of("#user").await, "Signed in as ada");
        assert_eq!(c.text_of("#count").await, "1 items left");
        assert_eq!(
            c.js("document.querySelectorAll('#todo-list li').length")
                .await,
            json!(1)
        );
        assert_eq!(
            c.js("document.querySelector('[data-filter=active]').getAttribute('aria-pressed')")
                .await,
            json!("true")
        );
    });
}

#[test]
fn recorder_json_frames_replay_green_and_a_wrong_frame_assertion_fails() {
    run(|c| async move {
        let sc = load("fixtures/recorder/frames.json");
        assert!(sc
            .steps
            .iter()
            .any(|s| s.target.as_ref().is_some_and(|t| t.frame.len() == 2)));
        assert_green(&replay_sc(&c, &sc, &vars(&[])).await);

        // The same recording expecting other text in the cross-origin frame must fail there.
        let text = std::fs::read_to_string(repo_root().join("fixtures/recorder/frames.json"))
            .expect("read");
        let bad = text.replace("text/typed: hello cross", "text/typed: goodbye");
        let (sc, kind) = shortcuts::parse(&bad, "frames-bad.json").expect("parse");
        assert_eq!(kind, Kind::Recorder);
        let r = replay_sc(&c, &sc, &vars(&[])).await;
        let f = failed(&r);
        assert_eq!(f.index, 6, "{}", r.text());
        assert!(
            f.expected.as_deref().unwrap_or("").contains("goodbye"),
            "{}",
            r.text()
        );
    });
}

#[test]
fn recorder_json_shadow_paths_pierce_and_aria_replay_green() {
    run(|c| async move {
        let sc = load("fixtures/recorder/shadow.json");
        assert_green(&replay_sc(&c, &sc, &vars(&[])).await);
        assert_eq!(c.text_of("#status").await, "shadow clicked");

        let text = std::fs::read_to_string(repo_root().join("fixtures/recorder/shadow.json"))
            .expect("read");
        let bad = text.replace("\"shadow input: deep text\"", "\"shadow input: other\"");
        let (sc, _) = shortcuts::parse(&bad, "shadow-bad.json").expect("parse");
        let r = replay_sc(&c, &sc, &vars(&[])).await;
        let f = failed(&r);
        assert_eq!(f.index, 5, "{}", r.text());
        assert!(
            f.seen
                .as_deref()
                .unwrap_or("")
                .contains("shadow input: deep text"),
            "seen should show the real text:\n{}",
            r.text()
        );
    });
}

#[test]
fn recorder_json_clicks_keys_and_scrolls_replay_green() {
    run(|c| async move {
        let sc = load("fixtures/recorder/buttons.json");
        // keyDown/keyUp pairs became key presses, Shift held over Tab a chord.
        assert!(sc
            .steps
            .iter()
            .any(|s| s.keys.as_deref() == Some("shift+Tab")));
        assert_green(&replay_sc(&c, &sc, &vars(&[])).await);
        let y = c.js("Math.round(scrollY)").await;
        assert_eq!(y, json!(1500));
        assert_eq!(
            c.js("document.getElementById('wide').scrollLeft >= 399")
                .await,
            json!(true)
        );
    });
}

type Out = tabwright_e2e::CliOut;

/// Runs the `tabwright` binary from the repository root, bounded to 60 s.
fn cli(args: &[&str]) -> Out {
    cli_in(&repo_root(), args)
}

/// Runs the `tabwright` binary in folder `dir`, bounded to 60 s.
fn cli_in(dir: &Path, args: &[&str]) -> Out {
    tabwright_e2e::cli_in(dir, args, Duration::from_secs(60))
}

fn parse_junit(path: &Path) -> Value {
    tabwright_e2e::parse_junit(path)
}

#[test]
fn a_wrong_asserted_url_fails_the_cli_with_expected_seen_screenshot_and_junit() {
    let dir = tmp("wrong-url");
    let report = dir.join("report.xml");
    let o = cli(&[
        "replay",
        "fixtures/recorder/wrong-url.json",
        "--serve",
        "fixtures",
        "--junit",
        report.to_str().expect("path"),
        "--artifacts",
        dir.to_str().expect("path"),
        "--timeout",
        "1500",
    ]);
    assert_eq!(o.code, 1, "stdout:\n{}\nstderr:\n{}", o.stdout, o.stderr);
    assert!(o.stdout.contains("✗  3"), "{}", o.stdout);
    let expected = o
        .stdout
        .lines()
        .find(|l| l.trim_start().starts_with("expected:"))
        .unwrap_or_default();
    let seen = o
        .stdout
        .lines()
        .find(|l| l.trim_start().starts_with("seen:"))
        .unwrap_or_default();
    assert!(expected.contains("/app/dashboard.html"), "{}", o.stdout);
    assert!(seen.contains("/app/index.html?user=ada"), "{}", o.stdout);
    assert!(
        o.stdout
            .contains("FAILED: 2 passed, 0 healed, 1 failed, 1 skipped"),
        "{}",
        o.stdout
    );
    let shot = o
        .stdout
        .lines()
        .find_map(|l| l.trim_start().strip_prefix("screenshot: "))
        .unwrap_or_else(|| panic!("no screenshot line:\n{}", o.stdout));
    let png = std::fs::read(shot).expect("screenshot file");
    assert_eq!(&png[1..4], b"PNG");
    // Progress lines (plain: stderr is not a terminal here).
    assert!(o.stderr.contains("FAIL  3"), "{}", o.stderr);

    let j = parse_junit(&report);
    assert_eq!(j["root"], "testsuites");
    // A testcase per flow; its failure carries the failed step, expected, seen, screenshot.
    let suite = &j["suites"][0];
    assert_eq!(suite["tests"], "1");
    assert_eq!(suite["failures"], "1");
    let case = &suite["cases"][0];
    assert_eq!(
        case["name"], "Sign in, asserting the wrong landing page",
        "{j}"
    );
    let f = &case["failures"][0];
    assert!(
        f["message"]
            .as_str()
            .unwrap_or("")
            .contains("assertion failed"),
        "{j}"
    );
    let text = f["text"].as_str().unwrap_or("");
    assert!(
        text.contains("step 3")
            && text.contains("expected: url")
            && text.contains("seen: url")
            && text.contains(shot),
        "{j}"
    );
    assert!(
        case["out"].as_str().unwrap_or("").contains("SKIP  4"),
        "{j}"
    );
}

#[test]
fn a_changed_page_heals_and_is_reported_as_healed() {
    let dir = tmp("heal");
    let report = dir.join("heal.xml");
    let o = cli(&[
        "replay",
        "fixtures/recorder/login-css-first.json",
        "--serve",
        "fixtures",
        "--var",
        "login_page=login-v2.html",
        "--junit",
        report.to_str().expect("path"),
    ]);
    assert_eq!(o.code, 0, "stdout:\n{}\nstderr:\n{}", o.stdout, o.stderr);
    assert!(
        o.stdout.contains("PASSED: 2 passed, 3 healed, 0 failed"),
        "{}",
        o.stdout
    );
    assert!(
        o.stdout.contains(
            "healed: primary locator css #sign-in matched nothing; found by role+name button \"Sign in\""
        ),
        "{}",
        o.stdout
    );
    assert!(o.stderr.contains("HEALED  4"), "{}", o.stderr);
    let j = parse_junit(&report);
    let case = &j["suites"][0]["cases"][0];
    let healed = case["healed"].as_array().cloned().unwrap_or_default();
    assert_eq!(healed.len(), 3, "{j}");
    let out = case["out"].as_str().unwrap_or("");
    assert_eq!(out.matches("HEALED: ").count(), 3, "{j}");

    // The original page needs no healing.
    let o = cli(&[
        "replay",
        "fixtures/recorder/login-css-first.json",
        "--serve",
        "fixtures",
        "--var",
        "login_page=login.html",
    ]);
    assert_eq!(o.code, 0, "{}\n{}", o.stdout, o.stderr);
    assert!(
        o.stdout.contains("PASSED: 5 passed, 0 healed"),
        "{}",
        o.stdout
    );
    assert!(!o.stdout.contains("HEALED"), "{}", o.stdout);
}

#[test]
fn broken_input_gives_clear_errors_naming_the_step() {
    let o = cli(&["replay", "fixtures/recorder/broken-unknown-step.json"]);
    assert_eq!(o.code, 2, "{}", o.stderr);
    assert!(
        o.stderr.contains("step 2 (teleport)") && o.stderr.contains("unknown step type"),
        "{}",
        o.stderr
    );
    let o = cli(&["replay", "fixtures/recorder/broken-invalid.json"]);
    assert_eq!(o.code, 2, "{}", o.stderr);
    assert!(
        o.stderr.contains("not valid JSON") && o.stderr.contains("line 5 column"),
        "{}",
        o.stderr
    );
    let o = cli(&["replay", "fixtures/recorder/no-such-file.json"]);
    assert_eq!(o.code, 2, "{}", o.stderr);
    assert!(
        o.stderr
            .contains("cannot read fixtures/recorder/no-such-file.json"),
        "{}",
        o.stderr
    );
    let o = cli(&["replay", "fixtures/shortcuts/demo.json"]);
    assert_eq!(o.code, 2, "{}", o.stderr);
    assert!(
        o.stderr.contains("step 2 (navigate)") && o.stderr.contains("{{base_url}}"),
        "{}",
        o.stderr
    );
    let o = cli(&["replay", "fixtures/shortcuts/demo.json", "--var", "oops"]);
    assert_eq!(o.code, 2, "{}", o.stderr);
    assert!(o.stderr.contains("name=value"), "{}", o.stderr);

    let dir = tmp("broken");
    let f = dir.join("typo.json");
    std::fs::write(
        &f,
        r##"{"format": "tabwright-shortcut", "name": "Typo", "steps": [
            {"action": "navigate", "url": "about:blank"},
            {"action": "clik", "target": {"locators": [{"css": "#a"}]}}]}"##,
    )
    .expect("write");
    let o = cli(&["replay", f.to_str().expect("path")]);
    assert_eq!(o.code, 2, "{}", o.stderr);
    assert!(
        o.stderr.contains("step 2 (clik)") && o.stderr.contains("unknown action"),
        "{}",
        o.stderr
    );
    assert!(!o.stderr.contains("panicked"), "{}", o.stderr);
}

#[test]
fn the_demo_shortcut_replays_from_the_cli_with_a_gif() {
    let ws = tmp("demo");
    let gif = ws.join("demo.gif");
    let o = cli(&[
        "replay",
        "fixtures/shortcuts/demo.json",
        "--serve",
        "fixtures",
        "--gif",
        gif.to_str().expect("path"),
        "--workspace",
        ws.to_str().expect("path"),
    ]);
    assert_eq!(o.code, 0, "stdout:\n{}\nstderr:\n{}", o.stdout, o.stderr);
    assert!(o.stdout.contains("PASSED: 17 passed"), "{}", o.stdout);
    let bytes = std::fs::read(&gif)
        .unwrap_or_else(|e| panic!("no GIF at {}: {e}\n{}", gif.display(), o.stdout));
    assert_eq!(&bytes[..3], b"GIF");
}

#[test]
fn report_and_gif_paths_from_the_command_line_go_where_they_say() {
    let ws = tmp("paths-ws");
    let cwd = tmp("paths-cwd");
    let elsewhere = tmp("paths-abs");
    let root = repo_root();
    let demo = root.join("fixtures/shortcuts/demo.json");
    let fixtures = root.join("fixtures");
    let abs_gif = elsewhere.join("walk.gif");
    let common = [
        "replay",
        demo.to_str().expect("path"),
        "--serve",
        fixtures.to_str().expect("path"),
        "--workspace",
        ws.to_str().expect("path"),
    ];
    // Relative paths: under the current directory (not the workspace).
    let mut args = common.to_vec();
    args.extend(["--gif", "out/walk.gif", "--junit", "reports/junit.xml"]);
    let o = cli_in(&cwd, &args);
    assert_eq!(o.code, 0, "stdout:\n{}\nstderr:\n{}", o.stdout, o.stderr);
    let gif = std::fs::read(cwd.join("out/walk.gif"))
        .unwrap_or_else(|e| panic!("no GIF under the current directory: {e}\n{}", o.stdout));
    assert_eq!(&gif[..3], b"GIF");
    assert!(cwd.join("reports/junit.xml").is_file(), "{}", o.stderr);
    assert!(!ws.join("out").exists() && !ws.join("reports").exists());
    // An absolute path outside the workspace.
    let mut args = common.to_vec();
    args.extend(["--gif", abs_gif.to_str().expect("path")]);
    let o = cli_in(&cwd, &args);
    assert_eq!(o.code, 0, "stdout:\n{}\nstderr:\n{}", o.stdout, o.stderr);
    assert_eq!(&std::fs::read(&abs_gif).expect("absolute GIF")[..3], b"GIF");
    // A GIF or report that cannot be written fails the run.
    std::fs::write(elsewhere.join("file"), "a file, not a folder").expect("write");
    let blocked = elsewhere.join("file/walk.gif");
    let mut args = common.to_vec();
    args.extend(["--gif", blocked.to_str().expect("path")]);
    let o = cli_in(&cwd, &args);
    assert_ne!(o.code, 0, "an unwritable GIF passed:\n{}", o.stdout);
    assert!(o.stderr.contains("GIF"), "{}", o.stderr);
    let mut args = common.to_vec();
    let blocked = elsewhere.join("file/junit.xml");
    args.extend(["--junit", blocked.to_str().expect("path")]);
    let o = cli_in(&cwd, &args);
    assert_ne!(o.code, 0, "an unwritable report passed:\n{}", o.stdout);
}

fn ref_in(outline: &str, role: &str, name: &str) -> String {
    tabwright_e2e::find_ref(outline, role, name)
        .unwrap_or_else(|| panic!("no {role} \"{name}\" in:\n{outline}"))
}

#[test]
fn record_save_list_execute_round_trip_through_the_registry() {
    run(|c| async move {
        let dir = tmp("store");
        store::set_session_dir(&c.session, dir.clone());
        record::start(&c.session);
        c.open("app/login.html").await;
        let page = c.ok("read_page", json!({})).await;
        let user = ref_in(&page, "textbox", "Username");
        c.ok("computer", json!({"action": "left_click", "ref": user}))
            .await;
        c.ok("computer", json!({"action": "type", "text": "ada"}))
            .await;
        let pw = ref_in(&page, "textbox", "Password");
        c.ok("form_input", json!({"ref": pw, "value": "s3cret"}))
            .await;
        let sign_in = ref_in(&page, "button", "Sign in");
        c.ok("computer", json!({"action": "left_click", "ref": sign_in}))
            .await;
        let page = c.ok("read_page", json!({})).await;
        let todo = ref_in(&page, "textbox", "New todo");
        c.ok("form_input", json!({"ref": todo, "value": "Buy milk"}))
            .await;
        c.ok("computer", json!({"action": "key", "text": "Enter"}))
            .await;
        assert_eq!(c.wait_text("#count", "1 items").await, "1 items left");
        let (path, sc) = record::finish(&c.session, "Sign in and add a todo")
            .expect("save")
            .expect("something was recorded");
        assert!(
            path.starts_with(&dir) && path.exists(),
            "{}",
            path.display()
        );

        let actions: Vec<&str> = sc.steps.iter().map(|s| s.action.as_str()).collect();
        assert_eq!(
            actions,
            vec!["navigate", "fill", "fill", "click", "fill", "key"],
            "{}",
            sc.to_json()
        );
        assert_eq!(
            sc.steps[0].url.as_deref(),
            Some("{{base_url}}/app/login.html")
        );
        assert_eq!(sc.variables.get("base_url"), Some(&json!(base())));
        assert_eq!(sc.variables.get("username"), Some(&json!("ada")));
        assert_eq!(sc.variables.get("password"), Some(&Value::Null));
        assert_eq!(sc.steps[1].value, Some(json!("{{username}}")));
        let first = &sc.steps[1].target.as_ref().expect("target").locators;
        assert_eq!(first[0].role.as_deref(), Some("textbox"));
        assert_eq!(first[0].name.as_deref(), Some("Username"));
        assert!(
            first
                .iter()
                .any(|l| l.css == Some(tabwright::shortcuts::format::Css::One("#username".into()))),
            "{}",
            sc.to_json()
        );
        assert!(first.iter().any(|l| l.xpath.is_some()));
        assert_eq!(
            sc.steps[3].expect[0].url.as_deref(),
            Some("{{base_url}}/app/index.html?user={{username}}")
        );
        assert_eq!(sc.steps[3].description.as_deref(), Some("Click “Sign in”"));

        let list = c.ok("shortcuts_list", json!({})).await;
        assert!(
            list.contains("sign-in-and-add-a-todo \"Sign in and add a todo\"")
                && list.contains("(6 steps)")
                && list.contains("password (required)"),
            "{list}"
        );

        // Without the required password the tool says so and names the step.
        c.ok("navigate", json!({"url": "about:blank"})).await;
        let e = c
            .err(
                "shortcuts_execute",
                json!({"shortcut_id": "sign-in-and-add-a-todo"}),
            )
            .await;
        assert!(
            e.contains("step 3 (fill)") && e.contains("{{password}}"),
            "{e}"
        );

        let out = c
            .ok(
                "shortcuts_execute",
                json!({"command": "/sign-in-and-add-a-todo password=pw2", "variables": {"username": "bob"}}),
            )
            .await;
        assert!(out.contains("PASSED: 6 passed"), "{out}");
        assert_eq!(c.text_of("#user").await, "Signed in as bob");
        assert!(c
            .wait_text("#todo-list", "Buy milk")
            .await
            .contains("Buy milk"));

        // Export to Recorder JSON and replay that: green too.
        let (exported, notes) =
            recorder_json::export(&sc, &vars(&[("password", "pw3"), ("username", "cy")]))
                .expect("export");
        assert!(notes.is_empty(), "{notes:?}");
        assert!(recorder_json::is_recorder(&exported));
        let (again, kind) =
            shortcuts::parse(&exported.to_string(), "exported.json").expect("reimport");
        assert_eq!(kind, Kind::Recorder);
        c.ok("navigate", json!({"url": "about:blank"})).await;
        assert_green(&replay_sc(&c, &again, &BTreeMap::new()).await);
        assert_eq!(c.text_of("#user").await, "Signed in as cy");
    });
}

#[test]
fn the_demo_shortcut_exported_to_recorder_json_replays_green() {
    run(|c| async move {
        let demo = load("fixtures/shortcuts/demo.json");
        let (v, notes) = recorder_json::export(&demo, &vars(&[])).expect("export");
        assert!(notes.is_empty(), "{notes:?}");
        let types: Vec<&str> = v["steps"]
            .as_array()
            .expect("steps")
            .iter()
            .filter_map(|s| s["type"].as_str())
            .collect();
        for t in [
            "setViewport",
            "navigate",
            "change",
            "click",
            "keyDown",
            "hover",
            "waitForElement",
            "waitForExpression",
        ] {
            assert!(types.contains(&t), "{t} missing in {types:?}");
        }
        let sc = recorder_json::import(&v, "demo-export.json").expect("import");
        assert_green(&replay_sc(&c, &sc, &BTreeMap::new()).await);
        assert_eq!(c.text_of("#count").await, "1 items left");

        // And through the CLI's --export-recorder.
        let dir = tmp("export");
        let out = dir.join("demo.recorder.json");
        let o = cli(&[
            "replay",
            "fixtures/shortcuts/demo.json",
            "--var",
            &format!("base_url={}", base()),
            "--export-recorder",
            out.to_str().expect("path"),
        ]);
        assert_eq!(o.code, 0, "{}", o.stderr);
        let text = std::fs::read_to_string(&out).expect("exported file");
        let (_, kind) = shortcuts::parse(&text, "x").expect("parse");
        assert_eq!(kind, Kind::Recorder);
    });
}

/// A minimal MCP stdio client: newline-delimited JSON-RPC.
struct Mcp {
    child: std::process::Child,
    stdin: Option<std::process::ChildStdin>,
    lines: std::sync::mpsc::Receiver<String>,
    next: u64,
}

impl Mcp {
    fn start(args: &[&str]) -> Mcp {
        let mut child = Command::new(binary())
            .args(args)
            .current_dir(repo_root())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn mcp");
        let stdout = child.stdout.take().expect("stdout");
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        let stdin = child.stdin.take();
        let mut m = Mcp {
            child,
            stdin,
            lines: rx,
            next: 1,
        };
        m.request(
            "initialize",
            json!({"protocolVersion": "2025-03-26", "capabilities": {}, "clientInfo": {"name": "replay-test", "version": "1"}}),
        );
        m.send(json!({"jsonrpc": "2.0", "method": "notifications/initialized"}));
        m
    }

    fn send(&mut self, v: Value) {
        let stdin = self.stdin.as_mut().expect("stdin open");
        writeln!(stdin, "{v}").expect("write");
        stdin.flush().expect("flush");
    }

    fn request(&mut self, method: &str, params: Value) -> Value {
        let id = self.next;
        self.next += 1;
        self.send(json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params}));
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            let line = self
                .lines
                .recv_timeout(left)
                .unwrap_or_else(|_| panic!("no answer to {method}"));
            let v: Value = serde_json::from_str(&line).unwrap_or(Value::Null);
            if v["id"] == json!(id) {
                return v;
            }
        }
    }

    fn tool(&mut self, name: &str, args: Value) -> String {
        let v = self.request("tools/call", json!({"name": name, "arguments": args}));
        let text = v["result"]["content"][0]["text"]
            .as_str()
            .unwrap_or_default()
            .to_string();
        assert_ne!(v["result"]["isError"], json!(true), "{name} failed: {text}");
        text
    }

    /// Closes stdin (EOF ends the server) and waits for the process, bounded.
    fn finish(mut self) -> String {
        drop(self.stdin.take());
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            if let Ok(Some(_)) = self.child.try_wait() {
                break;
            }
            if Instant::now() > deadline {
                let _ = self.child.kill();
                panic!("tabwright mcp did not exit after EOF");
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let mut err = String::new();
        if let Some(mut e) = self.child.stderr.take() {
            let _ = std::io::Read::read_to_string(&mut e, &mut err);
        }
        err
    }
}

#[test]
fn mcp_save_shortcut_records_the_session_and_the_recording_replays() {
    let dir = tmp("mcp");
    let mut m = Mcp::start(&[
        "mcp",
        "--save-shortcut",
        "MCP sign in",
        "--shortcuts-dir",
        dir.to_str().expect("path"),
    ]);
    m.tool("navigate", json!({"url": url("app/login.html")}));
    let page = m.tool("read_page", json!({}));
    let user = ref_in(&page, "textbox", "Username");
    m.tool("form_input", json!({"ref": user, "value": "mia"}));
    let sign_in = ref_in(&page, "button", "Sign in");
    m.tool("computer", json!({"action": "left_click", "ref": sign_in}));
    let err = m.finish();
    let file = dir.join("mcp-sign-in.json");
    let sc = shortcuts::load_file(&file).unwrap_or_else(|e| panic!("{e}\nstderr:\n{err}"));
    let actions: Vec<&str> = sc.steps.iter().map(|s| s.action.as_str()).collect();
    assert_eq!(
        actions,
        vec!["navigate", "fill", "click"],
        "{}",
        sc.to_json()
    );
    assert!(err.contains("saved shortcut"), "{err}");

    run(|c| async move {
        let r = replay_sc(
            &c,
            &sc,
            &BTreeMap::from([("username".to_string(), "zoe".to_string())]),
        )
        .await;
        assert_green(&r);
        assert_eq!(c.text_of("#user").await, "Signed in as zoe");
    });
}

#[test]
fn a_recorded_value_becomes_a_variable_everywhere_it_was_recorded() {
    let dir = tmp("mcp-vars");
    let mut m = Mcp::start(&[
        "mcp",
        "--save-shortcut",
        "Find a person",
        "--shortcuts-dir",
        dir.to_str().expect("path"),
    ]);
    m.tool("navigate", json!({"url": url("app/people.html")}));
    let page = m.tool("read_page", json!({}));
    let q = ref_in(&page, "textbox", "Search people");
    m.tool("form_input", json!({"ref": q, "value": "Lovelace"}));
    let search = ref_in(&page, "button", "Search");
    m.tool("computer", json!({"action": "left_click", "ref": search}));
    // The result (not the "Recently viewed" link of the same name).
    let page = m.tool("read_page", json!({}));
    let result = tabwright_e2e::parse_elements(&page)
        .into_iter()
        .filter(|e| e.role == "link" && e.name == "Lovelace")
        .filter_map(|e| e.r#ref)
        .next_back()
        .unwrap_or_else(|| panic!("no result link in:\n{page}"));
    m.tool("computer", json!({"action": "left_click", "ref": result}));
    let err = m.finish();
    let file = dir.join("find-a-person.json");
    let sc = shortcuts::load_file(&file).unwrap_or_else(|e| panic!("{e}\nstderr:\n{err}"));
    let json = sc.to_json();
    let var = sc
        .variables
        .iter()
        .find(|(_, v)| v.as_str() == Some("Lovelace"))
        .map(|(k, _)| k.clone())
        .unwrap_or_else(|| panic!("no variable for the search: {json}"));
    // Only the variable's default still says Lovelace.
    assert_eq!(json.matches("Lovelace").count(), 1, "{json}");
    assert!(json.contains(&format!("{{{{{var}}}}}")), "{json}");

    run(|c| async move {
        let r = replay_sc(
            &c,
            &sc,
            &BTreeMap::from([(var.clone(), "Hopper".to_string())]),
        )
        .await;
        assert_green(&r);
        assert_eq!(c.text_of("#who").await, "Profile of Hopper");
        assert_eq!(c.text_of("#via").await, "opened from the results");
    });
}

#[test]
fn a_dialog_left_open_by_a_step_is_accepted_and_noted() {
    run(|c| async move {
        let sc = Shortcut::from_json(
            r##"{"name": "Confirm", "steps": [
                {"action": "navigate", "url": "{{base_url}}/dialogs.html"},
                {"action": "click", "target": {"locators": [{"role": "button", "name": "Confirm"}]}},
                {"action": "assert", "text": "confirm: true"}
            ]}"##,
            "confirm.json",
        )
        .expect("valid");
        let r = replay_sc(&c, &sc, &vars(&[])).await;
        assert_green(&r);
        assert!(
            r.notes
                .iter()
                .any(|n| n.contains("before step 3: accepted a confirm dialog")),
            "{}",
            r.text()
        );
        assert_eq!(c.text_of("#status").await, "confirm: true");
    });
}

#[test]
fn several_files_replay_in_one_run_with_a_testcase_each() {
    let dir = tmp("several");
    let report = dir.join("all.xml");
    let o = cli(&[
        "replay",
        "fixtures/recorder/shadow.json",
        "fixtures/recorder/wrong-url.json",
        "fixtures/shortcuts/demo.json",
        "--serve",
        "fixtures",
        "--timeout",
        "1000",
        "--artifacts",
        dir.to_str().expect("path"),
        "--junit",
        report.to_str().expect("path"),
    ]);
    // One failing file fails the run; the others still ran.
    assert_eq!(o.code, 1, "{}\n{}", o.stdout, o.stderr);
    assert_eq!(
        o.stdout.matches("\nPASS ").count() + usize::from(o.stdout.starts_with("PASS ")),
        2,
        "{}",
        o.stdout
    );
    assert_eq!(o.stdout.matches("FAIL ").count(), 1, "{}", o.stdout);
    assert!(
        o.stdout.contains("3 flows: 2 passed, 0 flaky, 1 failed"),
        "{}",
        o.stdout
    );
    let j = parse_junit(&report);
    let cases = j["suites"][0]["cases"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    let names: Vec<&str> = cases.iter().filter_map(|c| c["name"].as_str()).collect();
    assert_eq!(
        names,
        vec![
            "Shadow DOM: paths, pierce and aria",
            "Sign in, asserting the wrong landing page",
            "Sign in and plan the day"
        ]
    );
    assert_eq!(
        cases[1]["failures"].as_array().map(Vec::len),
        Some(1),
        "{j}"
    );
    assert_eq!(
        cases[2]["failures"].as_array().map(Vec::len),
        Some(0),
        "{j}"
    );
}

#[test]
fn clicks_recorded_inside_cross_origin_and_nested_frames_replay_through_their_frame_paths() {
    run(|c| async move {
        let dir = tmp("frames-store");
        store::set_session_dir(&c.session, dir);
        c.open("frames.html").await;
        let page = c.ok("read_page", json!({})).await;
        let buttons: Vec<String> = tabwright_e2e::parse_elements(&page)
            .into_iter()
            .filter(|e| e.role == "button" && e.name == "Frame button")
            .filter_map(|e| e.r#ref)
            .collect();
        assert_eq!(buttons.len(), 3, "{page}");
        record::start(&c.session);
        // The cross-origin frame (second) and the frame nested in the third.
        c.ok(
            "computer",
            json!({"action": "left_click", "ref": buttons[1]}),
        )
        .await;
        c.ok(
            "computer",
            json!({"action": "left_click", "ref": buttons[2]}),
        )
        .await;
        let (_, mut sc) = record::finish(&c.session, "Frame clicks")
            .expect("save")
            .expect("recorded");
        assert_eq!(sc.steps.len(), 2, "{}", sc.to_json());
        let cross = sc.steps[0].target.clone().expect("target");
        let nested = sc.steps[1].target.clone().expect("target");
        use tabwright::shortcuts::format::FrameSel;
        assert_eq!(cross.frame, vec![FrameSel::Css("#cross".into())]);
        assert_eq!(cross.frame_index, Some(vec![1]));
        assert_eq!(
            nested.frame,
            vec![
                FrameSel::Css("#nested".into()),
                FrameSel::Css("#inner".into())
            ]
        );
        assert_eq!(nested.frame_index, Some(vec![2, 0]));

        // Replay from a fresh load, checking each frame's own status line.
        let status = |t: &tabwright::shortcuts::Target| {
            let mut s = tabwright::shortcuts::Step {
                action: "assert".into(),
                target: Some(tabwright::shortcuts::Target {
                    locators: vec![tabwright::shortcuts::format::Locator {
                        css: Some(tabwright::shortcuts::format::Css::One("#status".into())),
                        ..Default::default()
                    }],
                    ..t.clone()
                }),
                ..Default::default()
            };
            s.properties = Some(json!({"textContent": "frame clicked"}));
            s
        };
        sc.steps.insert(
            0,
            tabwright::shortcuts::Step {
                action: "navigate".into(),
                url: Some(url("frames.html")),
                ..Default::default()
            },
        );
        sc.steps.push(status(&cross));
        sc.steps.push(status(&nested));
        assert_green(&replay_sc(&c, &sc, &BTreeMap::new()).await);

        // The same assertion on the untouched same-origin frame fails: it still says "ready".
        let same = tabwright::shortcuts::Target {
            frame: vec![FrameSel::Index(0)],
            ..Default::default()
        };
        sc.steps.push(status(&same));
        let r = replay_sc(&c, &sc, &BTreeMap::new()).await;
        assert_eq!(failed(&r).index, 6, "{}", r.text());
        assert!(
            failed(&r)
                .seen
                .as_deref()
                .unwrap_or("")
                .contains("frame ready"),
            "{}",
            r.text()
        );
    });
}

#[test]
fn a_recorded_click_on_one_of_many_same_named_buttons_replays_on_the_same_one() {
    run(|c| async move {
        store::set_session_dir(&c.session, tmp("delete-store"));
        record::start(&c.session);
        c.open("app/index.html").await;
        for t in ["Alpha", "Beta", "Gamma"] {
            let page = c.ok("read_page", json!({})).await;
            let todo = ref_in(&page, "textbox", "New todo");
            c.ok("form_input", json!({"ref": todo, "value": t})).await;
            c.ok("computer", json!({"action": "key", "text": "Enter"}))
                .await;
        }
        let page = c.ok("read_page", json!({})).await;
        let deletes: Vec<String> = tabwright_e2e::parse_elements(&page)
            .into_iter()
            .filter(|e| e.role == "button" && e.name == "Delete")
            .filter_map(|e| e.r#ref)
            .collect();
        assert_eq!(deletes.len(), 3, "{page}");
        c.ok(
            "computer",
            json!({"action": "left_click", "ref": deletes[1]}),
        )
        .await;
        assert_eq!(c.text_of("#status").await, "deleted: Beta");
        let (_, sc) = record::finish(&c.session, "Delete Beta")
            .expect("save")
            .expect("recorded");
        let click = sc.steps.last().expect("steps");
        let locators = &click.target.as_ref().expect("target").locators;
        // "Delete" names three buttons: the primary locator must be the unique css path.
        assert!(
            matches!(&locators[0].css, Some(tabwright::shortcuts::format::Css::One(s)) if s.contains("todo-2")),
            "{}",
            sc.to_json()
        );
        assert!(
            locators.iter().any(|l| l.name.as_deref() == Some("Delete")),
            "role+name stays as a fallback: {}",
            sc.to_json()
        );
        c.ok("navigate", json!({"url": "about:blank"})).await;
        assert_green(&replay_sc(&c, &sc, &BTreeMap::new()).await);
        assert_eq!(c.text_of("#status").await, "deleted: Beta");
        let left = c
            .js("[...document.querySelectorAll('#todo-list label')].map(l => l.textContent).join(',')")
            .await;
        assert_eq!(left, json!("Alpha,Gamma"));
    });
}
