//! QA at scale: `tabwright replay` over folders and globs, flows in parallel each in a browser
//! context of its own, shards, retries and flaky flows, grep and tags, broken flows in the
//! report, JUnit and HTML reports, a GIF per flow. The fixture flows are in `fixtures/qa/`;
//! their pages ask the fixture server's `/api/barrier` (passes only when two flows run at the
//! same time) and `/api/count` (fails once, then passes), so each test checks what really
//! happened, not what the command said.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;
use tabwright_e2e::{binary, parse_junit, repo_root};

fn tmp(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("tw-qa-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).expect("temp dir");
    d
}

/// Runs the binary in the repository, stdin closed (not a terminal), bounded to 90 s.
fn cli(args: &[&str]) -> tabwright_e2e::CliOut {
    tabwright_e2e::cli_in(&repo_root(), args, Duration::from_secs(90))
}

fn cases(j: &Value) -> Vec<Value> {
    j["suites"][0]["cases"]
        .as_array()
        .cloned()
        .unwrap_or_default()
}

fn is_gif(p: &Path) -> bool {
    std::fs::read(p).is_ok_and(|b| b.starts_with(b"GIF89a") && b.len() > 100)
}

/// The twin flows pass only when they run at the same time; the visit flows only when their
/// cookies and storage are their own. A folder with `--jobs 2` passes them all.
#[test]
fn a_folder_runs_flows_in_parallel_each_in_its_own_context() {
    let dir = tmp("parallel");
    let report = dir.join("junit.xml");
    let o = cli(&[
        "replay",
        "fixtures/qa/flows",
        "--grep",
        "together|visit",
        "--jobs",
        "2",
        "--serve",
        "fixtures",
        "--junit",
        report.to_str().expect("path"),
    ]);
    assert_eq!(o.code, 0, "{}\n{}", o.stdout, o.stderr);
    assert!(
        o.stdout
            .contains("4 flows: 4 passed, 0 flaky, 0 failed, 0 broken"),
        "{}",
        o.stdout
    );
    // Not on a terminal: nothing but the final report lines (no progress on stderr).
    assert!(!o.stderr.contains("PASS"), "{}", o.stderr);
    let j = parse_junit(&report);
    let names: Vec<String> = cases(&j)
        .iter()
        .filter_map(|c| c["name"].as_str().map(str::to_string))
        .collect();
    assert_eq!(
        names,
        [
            "Runs alongside its twin a",
            "Runs alongside its twin b",
            "Fresh profile a",
            "Fresh profile b"
        ]
    );
    assert_eq!(j["suites"][0]["tests"], "4");
    assert_eq!(j["suites"][0]["failures"], "0");
    assert_eq!(
        cases(&j)[0]["classname"],
        "fixtures/qa/flows/together-a.json"
    );
}

/// A flow that fails once passes on a retry and is marked flaky in the output, JUnit
/// (Surefire's flakyFailure) and HTML; without retries it fails the run. A GIF per attempt.
#[test]
fn retries_mark_a_flow_flaky_in_every_report() {
    let dir = tmp("flaky");
    let report = dir.join("junit.xml");
    let html = dir.join("report.html");
    let gifs = dir.join("gifs");
    let o = cli(&[
        "replay",
        "fixtures/qa/flows/*.json",
        "--tag",
        "flaky",
        "--retries",
        "2",
        "--timeout",
        "1500",
        "--serve",
        "fixtures",
        "--artifacts",
        dir.to_str().expect("path"),
        "--junit",
        report.to_str().expect("path"),
        "--html",
        html.to_str().expect("path"),
        "--gif-dir",
        gifs.to_str().expect("path"),
    ]);
    // One flow selected: its own report, then the flaky mark; exit 0.
    assert_eq!(o.code, 0, "{}\n{}", o.stdout, o.stderr);
    assert!(
        o.stdout.contains("FLAKY: passed on attempt 2"),
        "{}",
        o.stdout
    );
    let j = parse_junit(&report);
    let case = &cases(&j)[0];
    assert_eq!(case["failures"].as_array().map(Vec::len), Some(0), "{j}");
    assert_eq!(case["flaky"].as_array().map(Vec::len), Some(1), "{j}");
    assert_eq!(case["props"]["flaky"][0], "true", "{j}");
    assert_eq!(case["props"]["attempts"][0], "2", "{j}");
    let page = std::fs::read_to_string(&html).expect("html report");
    assert!(
        page.contains("FLAKY") && page.contains("Attempt 1 of 2"),
        "{page}"
    );
    // Self-contained: the failure screenshot and both GIFs inline, nothing fetched.
    assert!(
        page.contains("src=\"data:image/png;base64,"),
        "no inline screenshot"
    );
    assert_eq!(page.matches("src=\"data:image/gif;base64,").count(), 2);
    assert!(
        !page.contains("src=\"http") && !page.contains("<link") && !page.contains("<script"),
        "the report fetches something"
    );
    assert!(is_gif(&gifs.join("001-flaky.gif")));
    assert!(is_gif(&gifs.join("001-flaky-retry1.gif")));

    // The same flow with no retries fails the run (its server counter starts over).
    let o = cli(&[
        "replay",
        "fixtures/qa/flows/flaky.json",
        "--timeout",
        "1000",
        "--serve",
        "fixtures",
        "--artifacts",
        dir.to_str().expect("path"),
    ]);
    assert_eq!(o.code, 1, "{}\n{}", o.stdout, o.stderr);
    assert!(o.stdout.contains("FAILED:"), "{}", o.stdout);
}

/// A broken JSON file, an unknown Recorder step type and a missing variable each fail their
/// own flow with a clear message; the good flow of the folder still runs.
#[test]
fn broken_flows_fail_in_the_report_and_the_others_still_run() {
    let dir = tmp("broken");
    let report = dir.join("junit.xml");
    let html = dir.join("report.html");
    let o = cli(&[
        "replay",
        "fixtures/qa/broken",
        "--serve",
        "fixtures",
        "--junit",
        report.to_str().expect("path"),
        "--html",
        html.to_str().expect("path"),
    ]);
    assert_eq!(o.code, 1, "{}\n{}", o.stdout, o.stderr);
    let line = |file: &str| {
        o.stdout
            .lines()
            .find(|l| l.contains(file))
            .unwrap_or_else(|| panic!("no line for {file}:\n{}", o.stdout))
            .to_string()
    };
    assert!(
        line("bad-json.json").starts_with("BROKEN")
            && line("bad-json.json").contains("not valid JSON")
    );
    assert!(line("unknown-step.json").contains("unknown step type \"teleport\""));
    assert!(line("missing-var.json").contains("--var password=VALUE"));
    assert!(line("good.json").starts_with("PASS"));
    assert!(o
        .stdout
        .contains("4 flows: 1 passed, 0 flaky, 0 failed, 3 broken"));
    let j = parse_junit(&report);
    assert_eq!(j["suites"][0]["errors"], "3", "{j}");
    let errors: usize = cases(&j)
        .iter()
        .map(|c| c["errors"].as_array().map_or(0, Vec::len))
        .sum();
    assert_eq!(errors, 3, "{j}");
    let page = std::fs::read_to_string(&html).expect("html report");
    assert_eq!(page.matches(">BROKEN<").count(), 3, "{page}");
}

/// `--shard I/N` splits the selected flows without overlap and covers them all; bad
/// selections are errors of the command.
#[test]
fn shards_split_a_suite_and_bad_selections_are_refused() {
    let mut seen: Vec<String> = Vec::new();
    for shard in ["1/2", "2/2"] {
        // The broken folder: most of its flows never start a browser, so this is quick.
        let o = cli(&[
            "replay",
            "fixtures/qa/broken",
            "--shard",
            shard,
            "--serve",
            "fixtures",
        ]);
        let lines: Vec<String> = o
            .stdout
            .lines()
            .filter(|l| l.starts_with("PASS") || l.starts_with("BROKEN") || l.starts_with("FAIL"))
            .filter_map(|l| l.split_whitespace().nth(1).map(str::to_string))
            .collect();
        assert_eq!(lines.len(), 2, "shard {shard}: {}", o.stdout);
        seen.extend(lines);
    }
    seen.sort();
    assert_eq!(
        seen,
        [
            "fixtures/qa/broken/bad-json.json",
            "fixtures/qa/broken/good.json",
            "fixtures/qa/broken/missing-var.json",
            "fixtures/qa/broken/unknown-step.json"
        ]
    );
    for (args, want) in [
        (vec!["--shard", "3/2"], "between 1 and N"),
        (vec!["--grep", "("], "--grep"),
        (vec!["--grep", "no such flow"], "matches --grep/--tag"),
        (vec!["--tag", "nope"], "matches --grep/--tag"),
    ] {
        let mut all = vec!["replay", "fixtures/qa/flows"];
        all.extend(args);
        let o = cli(&all);
        assert_eq!(o.code, 2, "{all:?}: {}", o.stderr);
        assert!(o.stderr.contains(want), "{all:?}: {}", o.stderr);
        assert!(o.took < Duration::from_secs(5), "{all:?} started a browser");
    }
    let o = cli(&["replay", "fixtures/qa/flows/*.nope"]);
    assert_eq!(o.code, 2, "{}", o.stderr);
    assert!(o.stderr.contains("no file matches"), "{}", o.stderr);
}

/// A real chromedriver on a free port, in a process group of its own (so the browsers it
/// starts go with it).
struct Driver {
    child: std::process::Child,
    url: String,
}

impl Driver {
    fn start() -> Driver {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .map(|a| a.port())
            .expect("a free port");
        let bin = ["/usr/bin/chromedriver", "/usr/lib/chromium/chromedriver"]
            .into_iter()
            .find(|p| Path::new(p).exists())
            .expect("chromedriver is missing: run `bash .ci/setup` (Debian: chromium-driver)");
        use std::os::unix::process::CommandExt;
        let child = Command::new(bin)
            .arg(format!("--port={port}"))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .process_group(0)
            .spawn()
            .expect("start chromedriver");
        let url = format!("http://127.0.0.1:{port}");
        let deadline = Instant::now() + Duration::from_secs(10);
        while Self::get(&url, "/status").is_none_or(|s| !s.contains("\"ready\":true")) {
            assert!(
                Instant::now() < deadline,
                "chromedriver did not become ready"
            );
            std::thread::sleep(Duration::from_millis(25));
        }
        Driver { child, url }
    }

    /// A GET on the driver, with curl (installed by .ci/setup).
    fn get(url: &str, path: &str) -> Option<String> {
        let out = Command::new("curl")
            .args(["-s", "--max-time", "2", &format!("{url}{path}")])
            .output()
            .ok()?;
        out.status
            .success()
            .then(|| String::from_utf8_lossy(&out.stdout).to_string())
    }

    /// Sessions the driver still has.
    fn sessions(&self) -> usize {
        let body = Self::get(&self.url, "/sessions").unwrap_or_default();
        serde_json::from_str::<Value>(&body)
            .ok()
            .and_then(|v| v["value"].as_array().map(Vec::len))
            .unwrap_or(usize::MAX)
    }

    fn kill(&mut self) {
        // SAFETY: kill(2) on the driver's own process group; no memory is touched.
        unsafe {
            libc::kill(-(self.child.id() as i32), libc::SIGKILL);
        }
        let _ = self.child.wait();
    }
}

impl Drop for Driver {
    fn drop(&mut self) {
        self.kill();
    }
}

/// `--browser webdriver=URL` on a real chromedriver: each flow gets a session (a browser)
/// of its own, two at once, and every session is ended when its flow is done.
#[test]
fn flows_run_on_webdriver_sessions_in_parallel_and_each_session_ends() {
    let driver = Driver::start();
    let report = tmp("webdriver").join("junit.xml");
    let browser = format!("--browser=webdriver={}", driver.url);
    let o = cli(&[
        "replay",
        "fixtures/qa/flows",
        "--grep",
        "together|visit",
        "--jobs",
        "2",
        "--serve",
        "fixtures",
        &browser,
        "--junit",
        report.to_str().expect("path"),
    ]);
    assert_eq!(o.code, 0, "{}\n{}", o.stdout, o.stderr);
    assert!(o.stdout.contains("4 flows: 4 passed"), "{}", o.stdout);
    assert_eq!(driver.sessions(), 0, "sessions left open on the driver");
    let j = parse_junit(&report);
    assert_eq!(j["suites"][0]["tests"], "4");

    // Ctrl-C while a flow runs: the process ends its session before it exits.
    let mut child = Command::new(binary())
        .args([
            "replay",
            "fixtures/qa/flows/together-a.json",
            "fixtures/qa/flows/visit-a.json",
            "--jobs",
            "1",
            "--serve",
            "fixtures",
            &browser,
        ])
        .current_dir(repo_root())
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn");
    let deadline = Instant::now() + Duration::from_secs(20);
    while driver.sessions() != 1 {
        assert!(
            Instant::now() < deadline,
            "the flow's session never appeared"
        );
        std::thread::sleep(Duration::from_millis(25));
    }
    // SAFETY: kill(2) on the child we started; no memory is touched.
    unsafe {
        libc::kill(child.id() as i32, libc::SIGINT);
    }
    let status = child.wait().expect("wait");
    assert_eq!(status.code(), Some(130), "{status:?}");
    assert_eq!(driver.sessions(), 0, "Ctrl-C left a session open");
}

/// An endpoint that refuses the session, one that is not there, and one that dies mid-suite:
/// the flows that cannot get a browser fail with a clear message, the others still run, the
/// report is written.
#[test]
fn a_webdriver_endpoint_that_refuses_or_dies_fails_its_flows_clearly() {
    let driver = Driver::start();
    let browser = format!("--browser=webdriver={}", driver.url);
    let o = cli(&[
        "replay",
        "fixtures/qa/flows",
        "--grep",
        "visit",
        "--serve",
        "fixtures",
        &browser,
        "--chrome",
        "/nonexistent/chrome",
    ]);
    assert_eq!(o.code, 1, "{}\n{}", o.stdout, o.stderr);
    assert_eq!(o.stdout.matches("BROKEN").count(), 2, "{}", o.stdout);
    assert!(o.stdout.contains("refused a session"), "{}", o.stdout);

    let o = cli(&[
        "replay",
        "fixtures/qa/flows/visit-a.json",
        "fixtures/qa/flows/visit-b.json",
        "--serve",
        "fixtures",
        "--browser=webdriver=http://127.0.0.1:9",
    ]);
    assert_eq!(o.code, 1, "{}\n{}", o.stdout, o.stderr);
    assert!(
        o.stdout.contains("cannot reach the WebDriver endpoint"),
        "{}",
        o.stdout
    );

    // Dies mid-suite: the first flow waits at its barrier (alone), the driver is killed
    // meanwhile; the later flows cannot get a session and say why.
    let mut driver = driver;
    let dir = tmp("webdriver-dies");
    let report = dir.join("junit.xml");
    let bin = binary();
    let child = Command::new(&bin)
        .args([
            "replay",
            "fixtures/qa/flows/together-a.json",
            "fixtures/qa/flows/visit-a.json",
            "fixtures/qa/flows/visit-b.json",
            "--jobs",
            "1",
            "--serve",
            "fixtures",
            &browser,
            "--junit",
            report.to_str().expect("path"),
        ])
        .current_dir(repo_root())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn");
    let deadline = Instant::now() + Duration::from_secs(20);
    while driver.sessions() != 1 {
        assert!(
            Instant::now() < deadline,
            "the first flow's session never appeared"
        );
        std::thread::sleep(Duration::from_millis(25));
    }
    driver.kill();
    let out = child.wait_with_output().expect("output");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    assert!(stdout.contains("3 flows:"), "{stdout}");
    for f in ["visit-a.json", "visit-b.json"] {
        let line = stdout
            .lines()
            .find(|l| l.contains(f) && !l.contains(" — FAIL") && !l.starts_with("Replay"))
            .unwrap_or_default();
        assert!(
            line.starts_with("BROKEN") && line.contains("WebDriver endpoint"),
            "{f}: {stdout}"
        );
    }
    let j = parse_junit(&report);
    assert_eq!(j["suites"][0]["tests"], "3");
}

/// On a terminal (a real pty, through util-linux `script`): a line per flow as it finishes
/// and a live passed/failed/flaky/left count.
#[test]
fn a_terminal_shows_a_line_per_flow_and_a_live_count() {
    let bin = binary();
    let cmd = format!(
        "{} replay fixtures/qa/broken --serve fixtures --jobs 1",
        bin.display()
    );
    let out = Command::new("script")
        .args(["-qec", &cmd, "/dev/null"])
        .current_dir(repo_root())
        .stdin(Stdio::null())
        .output()
        .expect("script (util-linux) runs");
    let text = String::from_utf8_lossy(&out.stdout);
    // The live count, as it went: after the first flow 3 were left, then 2, 1, 0.
    for left in ["3 left", "2 left", "1 left"] {
        assert!(text.contains(left), "no \"{left}\" in:\n{text}");
    }
    assert!(
        text.contains("1 passed · 3 failed · 0 flaky · 0 left"),
        "{text}"
    );
    // Each flow's line came as it finished (before the final report lines), in color.
    let first_line = text.find("\x1b[31mBROKEN").expect("a colored BROKEN line");
    let summary = text.find("4 flows:").expect("the final count");
    assert!(first_line < summary, "{text}");
}
