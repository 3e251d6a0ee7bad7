//! `tabwright mcp` driven by a real MCP client (the official Python SDK, `mcp` on PyPI) over
//! stdio and streamable HTTP, and raw HTTP requests that try to get past the server's Host,
//! Origin and token checks.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use tabwright_e2e::{binary, repo_root, url};

fn python_check(args: &[&str]) {
    let script = repo_root().join("tests/mcp/client_check.py");
    let out = Command::new("python3")
        .arg(&script)
        .args(args)
        .output()
        .expect("python3 runs (install it and `pip install mcp==2.3.0`, as .ci/run does)");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success() && stdout.contains("PASS"),
        "MCP client check failed ({:?}):\n{stdout}\n{stderr}",
        out.status
    );
}

fn bin() -> String {
    let b = binary();
    assert!(
        b.exists(),
        "{} is missing: build it first (cargo build --workspace)",
        b.display()
    );
    b.to_string_lossy().to_string()
}

struct Server {
    child: Child,
    port: u16,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts `tabwright mcp --http 127.0.0.1:0` and reads the bound port from stderr.
fn http_server(token: Option<&str>) -> Server {
    let mut cmd = Command::new(bin());
    cmd.args(["mcp", "--http", "127.0.0.1:0"])
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    if let Some(t) = token {
        cmd.args(["--token", t]);
    }
    let mut child = cmd.spawn().expect("start tabwright mcp --http");
    let stderr = child.stderr.take().expect("stderr");
    let mut lines = BufReader::new(stderr).lines();
    let deadline = Instant::now() + Duration::from_secs(20);
    let mut port = 0;
    while Instant::now() < deadline {
        match lines.next() {
            Some(Ok(l)) => {
                if let Some(rest) = l.split("http://127.0.0.1:").nth(1) {
                    port = rest
                        .split('/')
                        .next()
                        .and_then(|p| p.parse().ok())
                        .unwrap_or(0);
                    break;
                }
            }
            _ => break,
        }
    }
    assert!(port > 0, "the HTTP server did not report its address");
    // Keep draining stderr so the server never blocks on it.
    std::thread::spawn(move || for _ in lines {});
    Server { child, port }
}

/// Sends a raw HTTP request and returns the status code.
fn raw_status(port: u16, headers: &[(&str, &str)]) -> u16 {
    let body = r#"{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"raw","version":"1"}}}"#;
    let mut req = format!("POST /mcp HTTP/1.1\r\nContent-Type: application/json\r\nAccept: application/json, text/event-stream\r\nContent-Length: {}\r\nConnection: close\r\n", body.len());
    for (k, v) in headers {
        req.push_str(&format!("{k}: {v}\r\n"));
    }
    req.push_str("\r\n");
    req.push_str(body);
    let mut s = TcpStream::connect(("127.0.0.1", port)).expect("connect");
    s.set_read_timeout(Some(Duration::from_secs(10)))
        .expect("timeout");
    s.write_all(req.as_bytes()).expect("write");
    let mut buf = [0u8; 64];
    let n = s.read(&mut buf).expect("read");
    let head = String::from_utf8_lossy(&buf[..n]).to_string();
    head.split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0)
}

#[test]
fn stdio_with_the_python_sdk() {
    let fixtures = url("");
    python_check(&["stdio", &bin(), &fixtures]);
}

#[test]
fn streamable_http_with_the_python_sdk_and_a_token() {
    let fixtures = url("");
    let server = http_server(Some("tw-test-token"));
    let endpoint = format!("http://127.0.0.1:{}/mcp", server.port);
    python_check(&["http", &endpoint, &fixtures, "tw-test-token"]);
}

#[test]
fn http_refuses_foreign_origin_host_and_missing_token() {
    let server = http_server(Some("s3cret"));
    let p = server.port;
    let host = format!("127.0.0.1:{p}");
    let auth = "Bearer s3cret";
    assert_eq!(
        raw_status(p, &[("Host", &host), ("Authorization", auth)]),
        200,
        "a proper request works"
    );
    assert_eq!(raw_status(p, &[("Host", &host)]), 401, "no token");
    assert_eq!(
        raw_status(p, &[("Host", &host), ("Authorization", "Bearer wrong")]),
        401,
        "wrong token"
    );
    assert_eq!(
        raw_status(
            p,
            &[
                ("Host", &host),
                ("Authorization", auth),
                ("Origin", "https://evil.example")
            ]
        ),
        403,
        "foreign Origin"
    );
    assert_eq!(
        raw_status(
            p,
            &[("Host", &host), ("Authorization", auth), ("Origin", "null")]
        ),
        403,
        "null Origin"
    );
    assert_eq!(
        raw_status(
            p,
            &[
                ("Host", &format!("evil.example:{p}")),
                ("Authorization", auth)
            ]
        ),
        403,
        "DNS-rebinding Host"
    );
    assert_eq!(
        raw_status(
            p,
            &[
                ("Host", &host),
                ("Authorization", auth),
                ("Origin", &format!("http://localhost:{p}"))
            ]
        ),
        200,
        "a loopback Origin is allowed"
    );
}

#[test]
fn http_refuses_to_listen_off_loopback() {
    let out = Command::new(bin())
        .args(["mcp", "--http", "0.0.0.0:0"])
        .output()
        .expect("run");
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("loopback"), "{err}");
}

#[test]
fn stdio_stdout_carries_only_protocol_frames() {
    let mut child = Command::new(bin())
        .arg("mcp")
        .env("TABWRIGHT_LOG", "debug")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn");
    let mut stdin = child.stdin.take().expect("stdin");
    let init = r#"{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"raw","version":"1"}}}"#;
    writeln!(stdin, "{init}").expect("write");
    writeln!(stdin, "this is not json").expect("write");
    writeln!(
        stdin,
        r#"{{"jsonrpc":"2.0","method":"notifications/initialized"}}"#
    )
    .expect("write");
    writeln!(stdin, r#"{{"jsonrpc":"2.0","id":2,"method":"tools/list"}}"#).expect("write");
    let stdout = child.stdout.take().expect("stdout");
    let mut lines = BufReader::new(stdout).lines();
    let mut seen_list = false;
    let deadline = Instant::now() + Duration::from_secs(20);
    while Instant::now() < deadline {
        let Some(Ok(line)) = lines.next() else { break };
        let v: serde_json::Value = serde_json::from_str(&line)
            .unwrap_or_else(|e| panic!("stdout line is not JSON ({e}): {line}"));
        assert_eq!(v["jsonrpc"], "2.0", "{line}");
        if v["id"] == 2 {
            seen_list = v["result"]["tools"]
                .as_array()
                .is_some_and(|t| t.len() >= 13);
            break;
        }
    }
    drop(stdin);
    let _ = child.wait();
    assert!(seen_list, "tools/list answered after a malformed line");
}

/// Chromium processes whose command line names this profile directory prefix and parent pid.
fn browsers_of(pid: u32) -> Vec<u32> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir("/proc").into_iter().flatten().flatten() {
        let Ok(p) = entry.file_name().to_string_lossy().parse::<u32>() else {
            continue;
        };
        let stat = std::fs::read_to_string(format!("/proc/{p}/stat")).unwrap_or_default();
        let ppid = stat
            .rsplit(')')
            .next()
            .and_then(|r| r.split_whitespace().nth(1))
            .and_then(|v| v.parse::<u32>().ok());
        if ppid == Some(pid) {
            found.push(p);
        }
    }
    found
}

fn alive(pid: u32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat")).is_ok_and(|s| !s.contains(") Z "))
}

fn start_browser_via_stdio() -> (Child, Vec<u32>) {
    let mut child = Command::new(bin())
        .arg("mcp")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn");
    let mut stdin = child.stdin.take().expect("stdin");
    let stdout = child.stdout.take().expect("stdout");
    let msgs = [
        r#"{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"raw","version":"1"}}}"#.to_string(),
        r#"{"jsonrpc":"2.0","method":"notifications/initialized"}"#.to_string(),
        format!(r#"{{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{{"name":"navigate","arguments":{{"url":"{}"}}}}}}"#, url("forms.html")),
    ];
    for m in &msgs {
        writeln!(stdin, "{m}").expect("write");
    }
    let mut lines = BufReader::new(stdout).lines();
    while let Some(Ok(l)) = lines.next() {
        if l.contains(r#""id":2"#) {
            break;
        }
    }
    // Keep stdin open (leak it into a thread) so only the signal ends the server.
    std::thread::spawn(move || {
        let _keep = stdin;
        for _ in lines {}
    });
    let browsers = browsers_of(child.id());
    assert!(
        !browsers.is_empty(),
        "navigate started a browser under the server"
    );
    (child, browsers)
}

fn wait_gone(pids: &[u32]) -> bool {
    let deadline = Instant::now() + Duration::from_secs(10);
    while Instant::now() < deadline {
        if pids.iter().all(|p| !alive(*p)) {
            return true;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    false
}

#[test]
fn no_browser_is_orphaned_on_sigterm_or_sigkill() {
    for signal in ["-TERM", "-KILL"] {
        let (mut child, browsers) = start_browser_via_stdio();
        Command::new("kill")
            .args([signal, &child.id().to_string()])
            .status()
            .expect("kill");
        let _ = child.wait();
        assert!(
            wait_gone(&browsers),
            "browser {browsers:?} outlived the server after kill {signal}"
        );
    }
}

/// `--policy ask`: approvals reach the person through MCP elicitation (the Python SDK's
/// elicitation callback answers), and a client without it gets a clear error.
#[test]
fn policy_approvals_go_through_mcp_elicitation() {
    let script = repo_root().join("tests/mcp/elicitation_check.py");
    let out = Command::new("python3")
        .arg(&script)
        .args([&bin(), &url("")])
        .env(
            "TABWRIGHT_SESSIONS_DIR",
            std::env::temp_dir().join("tw-mcp-sessions"),
        )
        .output()
        .expect("python3 runs (pip install mcp==2.3.0, as .ci/run does)");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success() && stdout.contains("PASS"),
        "elicitation check failed ({:?}):\n{stdout}\n{stderr}",
        out.status
    );
}
