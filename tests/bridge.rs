//! The extension bridge end to end.
//!
//! Part one drives the real `tabwright` native host through its stdin/stdout with a scripted
//! extension: handshake and version refusal, malformed frames, relay security (no token, wrong
//! token, foreign Origin, foreign Host), messages over 1 MiB both ways, event and detach
//! forwarding, the fast channel (its security, requests over it, fallback to the native port
//! when it closes), exit at end of input. Part two uses headless Chromium with `extension/` loaded
//! and a profile prepared by `tabwright install --user-data-dir`: big results, tabs outside the
//! group, a tab closed mid-action, a killed host and a restarted service worker, and another
//! debugger (a second extension, `fixtures/extensions/other-debugger`, and a CDP client) on the
//! tabs Tabwright drives.

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use serde_json::{json, Value};
use tabwright::bridge::native::{frame_bytes, read_frame, Reassembler, MAX_OUTBOUND};
use tabwright::bridge::protocol::{extension_id_of_key, EXTENSION_ID};
use tabwright::bridge::runtime::{self, RuntimeInfo};
use tabwright::browser::{Backend, Browser, Cdp, Session};
use tabwright_e2e::Tools;
use tabwright_e2e::{
    binary, find_ref, opened_tab, repo_root, start_extension_browser, start_extension_browser_env,
    start_extension_browser_with, url,
};

// ---------------------------------------------------------------- helpers

fn unique_dir(tag: &str) -> PathBuf {
    let d = tabwright::browser::launch::fresh_dir(tag).expect("temp dir");
    let _ = std::fs::create_dir_all(&d);
    d
}

/// Polls `f` every 20 ms until it returns `Some`, at most `limit`.
fn poll<T>(limit: Duration, mut f: impl FnMut() -> Option<T>) -> Option<T> {
    let deadline = Instant::now() + limit;
    loop {
        if let Some(v) = f() {
            return Some(v);
        }
        if Instant::now() > deadline {
            return None;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

async fn poll_async<T, F, Fut>(limit: Duration, mut f: F) -> Option<T>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let deadline = Instant::now() + limit;
    loop {
        if let Some(v) = f().await {
            return Some(v);
        }
        if Instant::now() > deadline {
            return None;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// What the scripted extension saw from the host.
#[derive(Default)]
struct Seen {
    max_frame: usize,
    chunks: usize,
}

/// The native host under a scripted extension.
struct FakeExtension {
    child: Child,
    stdin: Option<ChildStdin>,
    messages: mpsc::Receiver<Value>,
    seen: Arc<Mutex<Seen>>,
    dir: PathBuf,
}

impl FakeExtension {
    fn start() -> FakeExtension {
        let dir = unique_dir("bridge-rt");
        let mut child = Command::new(binary())
            // What Chrome passes: the origin picks native-host mode by itself.
            .arg(format!("chrome-extension://{EXTENSION_ID}/"))
            .env("TABWRIGHT_RUNTIME_DIR", &dir)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("start the native host (build the workspace first)");
        let stdin = child.stdin.take();
        let mut stdout = child.stdout.take().expect("stdout");
        let (tx, rx) = mpsc::channel();
        let seen = Arc::new(Mutex::new(Seen::default()));
        let seen2 = seen.clone();
        std::thread::spawn(move || {
            let mut joiner = Reassembler::default();
            loop {
                let mut len = [0u8; 4];
                if stdout.read_exact(&mut len).is_err() {
                    return;
                }
                let n = u32::from_ne_bytes(len) as usize;
                let mut body = vec![0u8; n];
                if stdout.read_exact(&mut body).is_err() {
                    return;
                }
                let mut framed = len.to_vec();
                framed.extend(body);
                let Ok(v) = read_frame(&mut framed.as_slice()) else {
                    return;
                };
                if let Ok(mut s) = seen2.lock() {
                    s.max_frame = s.max_frame.max(n);
                    if v["type"] == "chunk" {
                        s.chunks += 1;
                    }
                }
                match joiner.feed(v) {
                    Ok(Some(msg)) => {
                        if tx.send(msg).is_err() {
                            return;
                        }
                    }
                    Ok(None) => {}
                    Err(_) => return,
                }
            }
        });
        FakeExtension {
            child,
            stdin,
            messages: rx,
            seen,
            dir,
        }
    }

    fn send(&mut self, v: &Value) {
        self.send_raw(&frame_bytes(&v.to_string()));
    }

    fn send_raw(&mut self, bytes: &[u8]) {
        if let Some(s) = self.stdin.as_mut() {
            s.write_all(bytes).expect("write to the host");
            s.flush().expect("flush");
        }
    }

    fn recv(&self) -> Value {
        self.messages
            .recv_timeout(Duration::from_secs(10))
            .expect("a message from the host within 10 s")
    }

    fn hello(&mut self, protocol: u64) {
        self.send(&json!({
            "type": "hello", "protocol": protocol, "minProtocol": 1,
            "extension": {"id": EXTENSION_ID, "version": "0.1.0"},
            "browser": {"product": "Chrome/999.0.0.1", "brand": "Scripted", "userAgent": "scripted"},
        }));
    }

    fn runtime(&self) -> RuntimeInfo {
        poll(Duration::from_secs(10), || {
            runtime::list_live(&self.dir).into_iter().next()
        })
        .expect("the host writes its runtime file")
    }

    fn wait_exit(&mut self) -> Option<std::process::ExitStatus> {
        poll(Duration::from_secs(10), || {
            self.child.try_wait().ok().flatten()
        })
    }
}

impl Drop for FakeExtension {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// Sends a raw WebSocket upgrade request and returns the HTTP status code.
fn handshake_status(addr: &str, path: &str, host: &str, origin: Option<&str>) -> u16 {
    let mut s = std::net::TcpStream::connect(addr).expect("connect to the relay");
    s.set_read_timeout(Some(Duration::from_secs(5))).ok();
    let origin = origin
        .map(|o| format!("Origin: {o}\r\n"))
        .unwrap_or_default();
    let req = format!(
        "GET {path} HTTP/1.1\r\nHost: {host}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
         Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n{origin}\r\n"
    );
    s.write_all(req.as_bytes()).expect("send");
    let mut buf = [0u8; 256];
    let n = s.read(&mut buf).unwrap_or(0);
    let head = String::from_utf8_lossy(&buf[..n]).to_string();
    head.split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or_else(|| panic!("no HTTP status in {head:?}"))
}

fn rt() -> &'static tokio::runtime::Runtime {
    static RT: OnceLock<tokio::runtime::Runtime> = OnceLock::new();
    RT.get_or_init(|| {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .expect("runtime")
    })
}

// ---------------------------------------------------------------- identity

#[test]
fn the_extension_id_follows_from_the_manifest_key_and_is_documented() {
    let manifest: Value = serde_json::from_str(
        &std::fs::read_to_string(repo_root().join("extension/manifest.json")).expect("manifest"),
    )
    .expect("manifest JSON");
    let key = manifest["key"].as_str().expect("a key in the manifest");
    assert_eq!(extension_id_of_key(key).expect("id"), EXTENSION_ID);
    let readme = std::fs::read_to_string(repo_root().join("README.md")).expect("README");
    assert!(
        readme.contains(EXTENSION_ID),
        "README names the extension ID"
    );
    let perms: Vec<&str> = manifest["permissions"]
        .as_array()
        .expect("permissions")
        .iter()
        .filter_map(|p| p.as_str())
        .collect();
    for p in [
        "debugger",
        "tabs",
        "tabGroups",
        "nativeMessaging",
        "storage",
    ] {
        assert!(perms.contains(&p), "permission {p}");
    }
}

// ---------------------------------------------------------------- scripted extension

#[test]
fn native_host_handshake_relay_security_big_messages_and_events() {
    let mut ext = FakeExtension::start();
    // A malformed frame before the hello is dropped, not fatal.
    ext.send_raw(&frame_bytes("{not json"));
    ext.hello(1);
    let welcome = ext.recv();
    assert_eq!(welcome["type"], "welcome", "{welcome}");
    assert_eq!(welcome["protocol"], 1);
    let channel = welcome["channel"]
        .as_str()
        .expect("the welcome names the fast channel")
        .to_string();
    let info = ext.runtime();
    assert_eq!(info.pid, ext.child.id());
    assert_eq!(info.browser.brand, "Scripted");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let file = ext
            .dir
            .join(format!("{}-{}.json", info.browser.id, info.pid));
        let mode = std::fs::metadata(&file).expect("file").permissions().mode() & 0o777;
        assert_eq!(mode, 0o600, "the runtime file is private");
    }

    // Security: token, Host, Origin.
    let addr = info
        .url
        .trim_start_matches("ws://")
        .split('/')
        .next()
        .expect("addr")
        .to_string();
    let port = addr.rsplit(':').next().expect("port");
    let good = format!("/devtools/browser/{}", info.token);
    assert_eq!(
        handshake_status(&addr, "/devtools/browser/", &addr, None),
        401,
        "no token"
    );
    assert_eq!(handshake_status(&addr, "/", &addr, None), 401, "no path");
    assert_eq!(
        handshake_status(&addr, "/devtools/browser/0123456789abcdef", &addr, None),
        401,
        "wrong token"
    );
    assert_eq!(
        handshake_status(&addr, &good, &addr, Some("https://evil.example")),
        403,
        "foreign Origin"
    );
    assert_eq!(
        handshake_status(&addr, &good, &format!("evil.example:{port}"), None),
        403,
        "foreign Host (DNS rebinding)"
    );
    assert_eq!(
        handshake_status(&addr, &good, &addr, None),
        101,
        "the right token"
    );
    assert_eq!(
        handshake_status(&addr, &good, &format!("localhost:{port}"), None),
        101,
        "localhost is loopback too"
    );

    // The scripted extension answers requests on its own thread.
    let messages = std::mem::replace(&mut ext.messages, mpsc::channel().1);
    let mut stdin = ext.stdin.take().expect("stdin");
    let (to_ext_tx, to_ext_rx) = mpsc::channel::<Value>();
    let (requests_tx, requests_rx) = mpsc::channel::<Value>();
    let writer = std::thread::spawn(move || {
        while let Ok(v) = to_ext_rx.recv() {
            if v.is_null() {
                return stdin;
            }
            if stdin.write_all(&frame_bytes(&v.to_string())).is_err() {
                return stdin;
            }
            let _ = stdin.flush();
        }
        stdin
    });
    let answer = to_ext_tx.clone();
    std::thread::spawn(move || {
        while let Ok(m) = messages.recv() {
            if m["type"] != "request" {
                continue;
            }
            let id = m["id"].clone();
            let p = &m["params"];
            let result = match m["method"].as_str().unwrap_or("") {
                "tabs.list" => json!({"tabs": [
                    {"tabId": 7, "targetId": "TARGET7", "url": "https://example.test/", "title": "Seven"}
                ]}),
                "debugger.attach" | "debugger.detach" => json!({}),
                "debugger.send" => match p["method"].as_str().unwrap_or("") {
                    "Runtime.evaluate" => {
                        let expr = p["params"]["expression"].as_str().unwrap_or("");
                        json!({"result": {"type": "number", "value": expr.len()}})
                    }
                    "Test.big" => json!({"data": "y".repeat(5 << 20)}),
                    _ => json!({}),
                },
                _ => {
                    let _ = answer.send(json!({"type": "response", "id": id, "error": {"code": -32601, "message": "unknown"}}));
                    continue;
                }
            };
            let _ = requests_tx.send(m.clone());
            let _ = answer.send(json!({"type": "response", "id": id, "result": result}));
        }
    });

    rt().block_on(async {
        let cdp = Cdp::connect(&info.url).await.expect("connect with the token");
        let v: Value = cdp
            .call(None, "Browser.getVersion", json!({}))
            .await
            .expect("version");
        assert_eq!(v["product"], "Chrome/999.0.0.1");
        let (btx, mut brx) = tokio::sync::mpsc::unbounded_channel();
        cdp.route("", btx);
        cdp.run(None, "Target.setDiscoverTargets", json!({"discover": true}))
            .await
            .expect("discover");
        let created = tokio::time::timeout(Duration::from_secs(5), brx.recv())
            .await
            .expect("targetCreated in time")
            .expect("event");
        assert_eq!(created.method, "Target.targetCreated");
        assert!(created.params.get().contains("TARGET7"));
        let t: Value = cdp
            .call(None, "Target.getTargets", json!({}))
            .await
            .expect("targets");
        assert_eq!(t["targetInfos"][0]["targetId"], "TARGET7");
        assert_eq!(t["targetInfos"][0]["type"], "page");
        let a: Value = cdp
            .call(
                None,
                "Target.attachToTarget",
                json!({"targetId": "TARGET7", "flatten": true}),
            )
            .await
            .expect("attach");
        let session = a["sessionId"].as_str().expect("session id").to_string();
        let e = cdp
            .call::<Value>(
                None,
                "Target.attachToTarget",
                json!({"targetId": "NOPE", "flatten": true}),
            )
            .await
            .expect_err("unknown target");
        assert!(e.to_string().contains("No target with given id"), "{e}");

        // Host → extension over 1 MiB: chunked, reassembled whole.
        let expr = "1+".repeat(1_500_000) + "1";
        let r: Value = cdp
            .call(
                Some(&session),
                "Runtime.evaluate",
                json!({"expression": expr}),
            )
            .await
            .expect("big command");
        assert_eq!(r["result"]["value"], expr.len());
        // Extension → host, 5 MiB in one frame: arrives whole.
        let r: Value = cdp
            .call(Some(&session), "Test.big", json!({}))
            .await
            .expect("big result");
        assert_eq!(r["data"].as_str().map(str::len), Some(5 << 20));

        // Events on the session, then a debugger detach.
        let (stx, mut srx) = tokio::sync::mpsc::unbounded_channel();
        cdp.route(&session, stx);
        to_ext_tx
            .send(json!({"type": "event", "event": "debugger.event",
                "params": {"tabId": 7, "method": "Page.loadEventFired", "params": {"timestamp": 1.5}}}))
            .expect("send event");
        let ev = tokio::time::timeout(Duration::from_secs(5), srx.recv())
            .await
            .expect("event in time")
            .expect("event");
        assert_eq!(ev.method, "Page.loadEventFired");
        assert_eq!(ev.session_id.as_deref(), Some(session.as_str()));
        to_ext_tx
            .send(json!({"type": "event", "event": "debugger.detached",
                "params": {"tabId": 7, "reason": "target_closed"}}))
            .expect("send detach");
        let detached = tokio::time::timeout(Duration::from_secs(5), async {
            while let Some(ev) = brx.recv().await {
                if ev.method == "Target.detachedFromTarget" {
                    return Some(ev);
                }
            }
            None
        })
        .await
        .ok()
        .flatten()
        .expect("detachedFromTarget");
        assert!(detached.params.get().contains(&session));
        let e = cdp
            .call::<Value>(Some(&session), "Runtime.evaluate", json!({"expression": "1"}))
            .await
            .expect_err("the session is gone");
        assert!(e.to_string().contains("not found"), "{e}");
        let e = cdp
            .call::<Value>(None, "SystemInfo.getInfo", json!({}))
            .await
            .expect_err("not relayed");
        assert!(e.to_string().contains("not available through the Tabwright extension"), "{e}");
    });
    let runtime_file = runtime::list_live(&ext.dir)
        .first()
        .map(|i| {
            std::fs::read_to_string(ext.dir.join(format!("{}-{}.json", i.browser.id, i.pid)))
                .expect("runtime file")
        })
        .expect("a runtime file");
    fast_channel_part(&info, &addr, &channel, &runtime_file);
    {
        let seen = ext.seen.lock().expect("seen");
        assert!(
            seen.chunks >= 3,
            "the big command was chunked ({} chunks)",
            seen.chunks
        );
        assert!(
            seen.max_frame <= MAX_OUTBOUND,
            "frame of {} bytes",
            seen.max_frame
        );
    }
    let reqs: Vec<Value> = requests_rx.try_iter().collect();
    assert!(
        reqs.iter().any(|r| r["method"] == "debugger.attach"),
        "{reqs:?}"
    );

    // End of input: the host exits and removes its runtime file.
    let _ = to_ext_tx.send(Value::Null);
    let stdin = writer.join().expect("writer");
    drop(stdin);
    let status = ext.wait_exit().expect("the host exits at end of input");
    assert!(status.success(), "{status:?}");
    assert!(
        runtime::list_live(&ext.dir).is_empty(),
        "runtime file removed"
    );
}

/// The fast channel of a running native host whose native side answers `Runtime.evaluate`
/// with the expression's length: only the extension's origin with the channel token gets in;
/// while it is open requests go over it; a request lost with it fails at once, and the native
/// port carries requests again.
fn fast_channel_part(info: &RuntimeInfo, addr: &str, channel: &str, runtime_file: &str) {
    use futures_util::{SinkExt, StreamExt};
    use tokio_tungstenite::tungstenite::client::IntoClientRequest;
    use tokio_tungstenite::tungstenite::Message;

    let path = channel
        .split_once(addr)
        .map(|(_, p)| p.to_string())
        .expect("the channel is on the relay's address");
    let channel_token = path
        .strip_prefix("/extension/")
        .expect("an /extension/ path")
        .to_string();
    assert!(channel_token.len() >= 32, "{channel_token}");
    assert_ne!(channel_token, info.token, "a secret of its own");
    assert!(
        !runtime_file.contains(&channel_token),
        "the channel token is not in the runtime file"
    );
    let origin = format!("chrome-extension://{EXTENSION_ID}");
    let status = |p: &str, o: Option<&str>| handshake_status(addr, p, addr, o);
    assert_eq!(status(&path, None), 403, "no Origin");
    assert_eq!(
        status(&path, Some("https://evil.example")),
        403,
        "a web page"
    );
    assert_eq!(
        status(
            &path,
            Some("chrome-extension://aaaabbbbccccddddeeeeffffgggghhhh")
        ),
        403,
        "another extension"
    );
    let with_cdp_token = format!("/extension/{}", info.token);
    assert_eq!(status(&with_cdp_token, Some(&origin)), 401, "the CDP token");
    assert_eq!(status("/extension/", Some(&origin)), 401, "no token");
    let foreign_host = handshake_status(addr, &path, "evil.example:80", Some(&origin));
    assert_eq!(foreign_host, 403, "a foreign Host");

    rt().block_on(async {
        let mut req = channel.into_client_request().expect("request");
        req.headers_mut()
            .insert("origin", origin.parse().expect("header"));
        let (ws, _) = tokio_tungstenite::connect_async(req)
            .await
            .expect("the extension's origin with the channel token gets in");
        // The scripted extension's channel side: answers evaluations with "via the channel",
        // and closes the channel, unanswered, on the expression "LOSE".
        let (mut sink, mut stream) = ws.split();
        let (seen_tx, mut seen_rx) = tokio::sync::mpsc::unbounded_channel::<String>();
        tokio::spawn(async move {
            while let Some(Ok(Message::Text(t))) = stream.next().await {
                let m: Value = serde_json::from_str(t.as_str()).expect("JSON on the channel");
                let method = m["method"].as_str().unwrap_or("").to_string();
                let expr = m["params"]["params"]["expression"]
                    .as_str()
                    .unwrap_or("")
                    .to_string();
                let _ = seen_tx.send(format!("{method} {expr}"));
                if expr == "LOSE" {
                    let _ = sink.close().await;
                    return;
                }
                let result = if m["params"]["method"] == "Runtime.evaluate" {
                    json!({"result": {"type": "string", "value": "via the channel"}})
                } else {
                    json!({})
                };
                let answer = json!({"type": "response", "id": m["id"], "result": result});
                if sink.send(Message::text(answer.to_string())).await.is_err() {
                    return;
                }
            }
        });
        let cdp = Cdp::connect(&info.url).await.expect("connect");
        let open = poll_async(Duration::from_secs(5), || async {
            let v: Value = cdp.call(None, "Browser.getVersion", json!({})).await.ok()?;
            (v["tabwrightChannel"] == "websocket").then_some(())
        })
        .await;
        assert!(open.is_some(), "the relay reports the channel open");
        let a: Value = cdp
            .call(
                None,
                "Target.attachToTarget",
                json!({"targetId": "TARGET7", "flatten": true}),
            )
            .await
            .expect("attach");
        let session = a["sessionId"].as_str().expect("session").to_string();
        let eval = |expr: &'static str| {
            let cdp = &cdp;
            let session = session.clone();
            async move {
                cdp.call::<Value>(
                    Some(&session),
                    "Runtime.evaluate",
                    json!({"expression": expr}),
                )
                .await
            }
        };
        let r = eval("2+2").await.expect("answered over the channel");
        assert_eq!(r["result"]["value"], "via the channel", "{r}");
        let started = Instant::now();
        let e = eval("LOSE").await.expect_err("lost with the channel");
        assert!(
            e.to_string().contains("closed while this command ran"),
            "{e}"
        );
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "it failed at once"
        );
        let mut seen = Vec::new();
        while let Ok(m) = seen_rx.try_recv() {
            seen.push(m);
        }
        assert!(seen.iter().any(|m| m == "debugger.send 2+2"), "{seen:?}");
        // The native port carries requests again (its side answers with the length).
        let r = eval("1+1").await.expect("answered over the native port");
        assert_eq!(r["result"]["value"], 3, "{r}");
        let v: Value = cdp
            .call(None, "Browser.getVersion", json!({}))
            .await
            .expect("version");
        assert_eq!(v["tabwrightChannel"], "native", "{v}");
    });
}

#[test]
fn an_incompatible_extension_is_refused_and_garbage_ends_the_host_cleanly() {
    let mut ext = FakeExtension::start();
    ext.hello(0);
    let refusal = ext.recv();
    assert_eq!(refusal["type"], "error", "{refusal}");
    assert_eq!(refusal["code"], "version");
    assert!(
        refusal["message"]
            .as_str()
            .unwrap_or("")
            .contains("update the extension"),
        "{refusal}"
    );
    let status = ext.wait_exit().expect("exits");
    assert!(!status.success());

    // A length over the 64 MiB cap: a clear exit, no runtime file, no panic.
    let mut ext = FakeExtension::start();
    ext.hello(1);
    assert_eq!(ext.recv()["type"], "welcome");
    ext.runtime();
    ext.send_raw(&(100u32 << 20).to_ne_bytes());
    let status = ext.wait_exit().expect("exits on a bad length");
    assert!(status.code().is_some(), "no crash by signal: {status:?}");
    assert!(runtime::list_live(&ext.dir).is_empty());
}

// ---------------------------------------------------------------- real Chromium + extension

struct Real {
    browser: Arc<Browser>,
    /// The browser's own DevTools endpoint, for the test to play "someone else".
    raw_ws: String,
    profile: String,
    _launched: tabwright::browser::launch::Launched,
}

fn real() -> &'static Real {
    static REAL: OnceLock<Real> = OnceLock::new();
    REAL.get_or_init(|| {
        // Start the fixture server first (support starts it lazily, on its own runtime).
        let _ = url("forms.html");
        rt().block_on(async {
            // Beside Tabwright, a second extension that debugs tabs (another debugger).
            let other = repo_root().join("fixtures/extensions/other-debugger");
            let (backend, launched) = start_extension_browser_with(&[other]).await;
            let profile = match &backend {
                Backend::Extension(o) => o.select.clone().unwrap_or_default(),
                _ => String::new(),
            };
            // Bounded wait until the extension's host is up, so every test starts connected.
            if poll(Duration::from_secs(30), || runtime_of(&profile)).is_none() {
                panic!("the extension's native host did not start within 30 s");
            }
            Real {
                browser: Browser::new(backend),
                raw_ws: launched.ws_url.clone(),
                profile,
                _launched: launched,
            }
        })
    })
}

fn runtime_of(profile: &str) -> Option<RuntimeInfo> {
    runtime::list_live(&runtime::runtime_dir())
        .into_iter()
        .find(|i| i.browser.profile.as_deref() == Some(profile))
}

fn real_run<F, Fut>(body: F)
where
    F: FnOnce(&'static Real, Arc<Session>, Tools) -> Fut,
    Fut: std::future::Future<Output = ()>,
{
    // One test at a time on the shared extension browser: one test kills its host and
    // restarts its service worker, another connects a second browser, so running them side by
    // side would have each see the other's faults.
    static ONE_AT_A_TIME: std::sync::Mutex<()> = std::sync::Mutex::new(());
    let _turn = ONE_AT_A_TIME
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    let r = real();
    let session = Arc::new(Session::new(r.browser.clone(), std::env::temp_dir()));
    rt().block_on(async move {
        tokio::time::timeout(Duration::from_secs(120), body(r, session, Tools::browser()))
            .await
            .expect("the test took over 120 s");
    });
}

/// Calls a tool until it succeeds (the first call after a reconnect reports the reconnect).
async fn call_until_ok(
    reg: &Tools,
    s: &Arc<Session>,
    tool: &str,
    args: Value,
) -> (String, Vec<String>) {
    let mut errors = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        match reg.call(s, tool, args.clone()).await {
            Ok(o) => return (o.text, errors),
            Err(e) => {
                errors.push(e.0);
                assert!(Instant::now() < deadline, "{tool} kept failing: {errors:?}");
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
    }
}

#[test]
fn big_results_and_big_scripts_pass_whole_through_the_extension() {
    real_run(|_r, s, reg| async move {
        reg.call(&s, "navigate", json!({"url": url("forms.html")}))
            .await
            .expect("navigate");
        big_messages_pass_whole(&s, &reg).await;
        // A full screenshot arrives whole as a valid PNG.
        let shot = reg
            .call(&s, "computer", json!({"action": "screenshot"}))
            .await
            .expect("screenshot");
        let img = shot.images.first().expect("an image");
        use base64::Engine;
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(&img.data)
            .expect("base64");
        assert!(
            bytes.starts_with(b"\x89PNG") || bytes.starts_with(&[0xff, 0xd8]),
            "an image"
        );
        let ctx = reg
            .call(&s, "switch_browser", json!({}))
            .await
            .expect("switch_browser");
        assert!(ctx.text.contains("(in use)"), "{}", ctx.text);
        let tabs = reg.call(&s, "tabs_context", json!({})).await.expect("tabs");
        assert!(
            tabs.text.contains("browser id") && tabs.text.contains("extension ("),
            "tabs_context names the browser and backend: {}",
            tabs.text
        );
    });
}

/// A CDP result of 3 MB (extension → host) and a script of 2 MiB (host → extension: chunked
/// over native messaging) pass whole. The tool would cut the result to its output limit, so
/// the tab is asked directly.
async fn big_messages_pass_whole(s: &Arc<Session>, reg: &Tools) {
    let tab = s.tab(None).await.expect("tab");
    let v: Value = tab
        .call(
            "Runtime.evaluate",
            json!({"expression": "'y'.repeat(3000000) + 'END'", "returnByValue": true}),
        )
        .await
        .expect("big result");
    let text = v["result"]["value"].as_str().unwrap_or("");
    assert_eq!(text.len(), 3_000_003);
    assert!(text.ends_with("yEND"));
    let code = format!("'{}'.length", "z".repeat(2 << 20));
    let out = reg
        .call(s, "javascript_tool", json!({"code": code}))
        .await
        .expect("big script");
    assert!(
        out.text.starts_with(&(2usize << 20).to_string()),
        "{}",
        out.text
    );
}

/// With the fast channel switched off (`TABWRIGHT_NATIVE_ONLY=1` for the native host), the
/// real extension carries everything over native messaging: a 2 MiB script (host → extension:
/// chunked, joined by the service worker), a 3 MB result, an outline.
#[test]
fn native_messaging_alone_carries_everything() {
    let _ = url("forms.html");
    rt().block_on(async {
        let (backend, _launched) =
            start_extension_browser_env(&[], vec![("TABWRIGHT_NATIVE_ONLY".into(), "1".into())])
                .await;
        let profile = match &backend {
            Backend::Extension(o) => o.select.clone().unwrap_or_default(),
            _ => String::new(),
        };
        let browser = Browser::new(backend);
        let s = Arc::new(Session::new(browser.clone(), std::env::temp_dir()));
        let reg = Tools::browser();
        let body = async {
            reg.call(&s, "navigate", json!({"url": url("forms.html")}))
                .await
                .expect("navigate");
            let info = runtime_of(&profile).expect("the runtime file");
            let cdp = Cdp::connect(&info.url).await.expect("relay");
            let v: Value = cdp
                .call(None, "Browser.getVersion", json!({}))
                .await
                .expect("version");
            assert_eq!(v["tabwrightChannel"], "native", "{v}");
            big_messages_pass_whole(&s, &reg).await;
            let page = reg.call(&s, "read_page", json!({})).await.expect("read");
            assert!(page.text.contains("textbox \"Email\""), "{}", page.text);
        };
        tokio::time::timeout(Duration::from_secs(120), body)
            .await
            .expect("the test took over 120 s");
        browser.shutdown().await;
    });
}

#[test]
fn only_tabs_of_the_group_are_seen_and_closed_tabs_give_clear_errors() {
    real_run(|r, s, reg| async move {
        // A tab opened by someone else (not in the group) is invisible to Tabwright.
        let raw = Cdp::connect(&r.raw_ws).await.expect("raw CDP");
        let foreign: Value = raw
            .call(
                None,
                "Target.createTarget",
                // A window of its own: a tab opened inside the group's range would join it.
                json!({"url": url("buttons.html"), "newWindow": true}),
            )
            .await
            .expect("foreign tab");
        let foreign_id = foreign["targetId"].as_str().expect("id").to_string();
        reg.call(&s, "navigate", json!({"url": url("forms.html")}))
            .await
            .expect("navigate");
        let live = s.live().await.expect("live");
        live.refresh_targets().await;
        assert!(
            live.targets().iter().all(|t| t.target_id != foreign_id),
            "a tab outside the group is not a target"
        );

        // A tab closed while a tool waits on it: a quick, clear error.
        let (_, active) = s.tab_ids();
        let target = live
            .target_of(active.expect("active tab"))
            .expect("target")
            .target_id;
        let (s2, reg2) = (s.clone(), reg.clone());
        let pending = tokio::spawn(async move {
            reg2.call(
                &s2,
                "javascript_tool",
                json!({"code": "document.title = 'script running'; new Promise(() => {})"}),
            )
            .await
        });
        // Close it once the script is running (it says so in the title), bounded.
        let deadline = Instant::now() + Duration::from_secs(10);
        while live
            .target_of(active.expect("active tab"))
            .is_some_and(|t| t.title != "script running")
        {
            assert!(Instant::now() < deadline, "the script never started");
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        let started = Instant::now();
        raw.run(None, "Target.closeTarget", json!({"targetId": target}))
            .await
            .expect("close");
        let r = pending.await.expect("join");
        assert!(started.elapsed() < Duration::from_secs(10), "no hang");
        // Either a tool error or a report; both must say the tab closed.
        let text = match r {
            Ok(o) => o.text,
            Err(e) => e.0,
        };
        assert!(
            text.contains("closed")
                || text.contains("not attached")
                || text.contains("detached")
                || text.contains("not found"),
            "{text}"
        );
        // The session recovers with a new tab.
        let (t, _) = call_until_ok(&reg, &s, "navigate", json!({"url": url("buttons.html")})).await;
        assert!(t.contains("HTTP 200"), "{t}");
        let _ = raw
            .run(None, "Target.closeTarget", json!({"targetId": foreign_id}))
            .await;
    });
}

/// Through the extension too, `navigate` leaves a page whose script never yields (the
/// debugger API lets the host end its renderer) and the tab answers on the new page.
#[test]
fn navigate_leaves_a_hung_page_through_the_extension() {
    real_run(|_r, s, reg| async move {
        let (_, _) =
            call_until_ok(&reg, &s, "tabs_create", json!({"url": url("forms.html")})).await;
        let hung = tabwright_e2e::other_url("hung.html?spin");
        let first = reg
            .call(&s, "navigate", json!({"url": hung}))
            .await
            .expect("arrive");
        assert!(first.text.contains("not responding"), "{}", first.text);
        let t0 = Instant::now();
        let text = reg
            .call(&s, "navigate", json!({"url": url("buttons.html")}))
            .await
            .expect("leave")
            .text;
        assert!(
            text.contains("buttons.html") && text.contains("was not responding"),
            "{text}"
        );
        assert!(t0.elapsed() < Duration::from_secs(6), "{:?}", t0.elapsed());
        let page = reg
            .call(&s, "read_page", json!({}))
            .await
            .expect("read")
            .text;
        assert!(page.contains("Save"), "{page}");
    });
}

#[test]
fn pages_the_browser_forbids_give_a_clear_error() {
    real_run(|_r, s, reg| async move {
        reg.call(&s, "navigate", json!({"url": url("forms.html")}))
            .await
            .expect("navigate");
        // The browser takes the tab away from the extension mid-navigation; what the navigate
        // itself reports depends on timing, so look at what follows.
        let first = match reg
            .call(&s, "navigate", json!({"url": "chrome://version"}))
            .await
        {
            Ok(o) => o.text,
            Err(e) => e.0,
        };
        // From then on the tab cannot be driven, and the error says why (bounded polling:
        // the detach notice may still be on its way).
        let mut seen = vec![first];
        let clear = poll_async(Duration::from_secs(10), || {
            let (s, reg) = (&s, &reg);
            async move {
                match reg.call(s, "read_page", json!({})).await {
                    Err(e) if e.0.contains("Cannot access a chrome:// URL") => Some(e.0),
                    _ => None,
                }
            }
        })
        .await;
        if clear.is_none() {
            seen.push("no clear error within 10 s".into());
        }
        let clear = clear.unwrap_or_else(|| panic!("{seen:?}"));
        assert!(clear.contains("cannot attach to tab"), "{clear}");
        let (t, _) =
            call_until_ok(&reg, &s, "tabs_create", json!({"url": url("buttons.html")})).await;
        assert!(t.contains("HTTP 200"), "{t}");
    });
}

fn kill9(pid: u32) {
    let _ = Command::new("kill").args(["-9", &pid.to_string()]).status();
}

async fn wait_new_host(profile: &str, old_pid: u32) -> RuntimeInfo {
    let found = poll_async(Duration::from_secs(30), || async {
        runtime_of(profile).filter(|i| i.pid != old_pid)
    })
    .await;
    match found {
        Some(i) => i,
        None => panic!(
            "the extension started no new host within 30 s; runtime files in {}: {:?}",
            runtime::runtime_dir().display(),
            std::fs::read_dir(runtime::runtime_dir())
                .map(|d| d
                    .flatten()
                    .map(|e| std::fs::read_to_string(e.path()).unwrap_or_default())
                    .collect::<Vec<_>>())
                .unwrap_or_default()
        ),
    }
}

#[test]
fn recovers_after_the_host_is_killed_and_after_the_service_worker_restarts() {
    real_run(|r, s, reg| async move {
        reg.call(&s, "navigate", json!({"url": url("forms.html")}))
            .await
            .expect("navigate");
        // 1. The host is killed.
        let before = runtime_of(&r.profile).expect("runtime file");
        kill9(before.pid);
        let after = wait_new_host(&r.profile, before.pid).await;
        assert_ne!(after.token, before.token, "a new relay, a new secret");
        let (t, errors) =
            call_until_ok(&reg, &s, "navigate", json!({"url": url("buttons.html")})).await;
        assert!(t.contains("HTTP 200"), "{t}");
        assert!(
            errors
                .iter()
                .any(|e| e.contains("made again") || e.contains("closed")),
            "the lost connection is reported once: {errors:?}"
        );
        let page = reg.call(&s, "read_page", json!({})).await.expect("read");
        assert!(page.text.contains("button \"Save\""), "{}", page.text);
        assert_fast_channel(&after).await;

        // 2. The service worker is stopped (as browsers do to idle workers) and started again
        // by the next extension event (here a tab opening).
        let raw = Cdp::connect(&r.raw_ws).await.expect("raw CDP");
        let targets: Value = raw
            .call(None, "Target.getTargets", json!({}))
            .await
            .expect("targets");
        let sw = targets["targetInfos"]
            .as_array()
            .and_then(|a| {
                a.iter().find(|t| {
                    t["type"] == "service_worker"
                        && t["url"].as_str().is_some_and(|u| u.contains(EXTENSION_ID))
                })
            })
            .and_then(|t| t["targetId"].as_str())
            .expect("the extension's service worker")
            .to_string();
        raw.run(None, "Target.closeTarget", json!({"targetId": sw}))
            .await
            .expect("stop the worker");
        let _ = raw
            .call::<Value>(
                None,
                "Target.createTarget",
                json!({"url": "about:blank", "newWindow": true}),
            )
            .await;
        let again = wait_new_host(&r.profile, after.pid).await;
        assert_ne!(again.pid, after.pid);
        let (t, _) = call_until_ok(&reg, &s, "navigate", json!({"url": url("forms.html")})).await;
        assert!(t.contains("HTTP 200"), "{t}");
        let page = reg.call(&s, "read_page", json!({})).await.expect("read");
        assert!(page.text.contains("textbox \"Email\""), "{}", page.text);
        assert_fast_channel(&again).await;
    });
}

/// The new host's relay has the extension's fast channel open again (bounded wait).
async fn assert_fast_channel(info: &RuntimeInfo) {
    let open = poll_async(Duration::from_secs(10), || async {
        let cdp = Cdp::connect(&info.url).await.ok()?;
        let v: Value = cdp.call(None, "Browser.getVersion", json!({})).await.ok()?;
        (v["tabwrightChannel"] == "websocket").then_some(())
    })
    .await;
    assert!(
        open.is_some(),
        "the extension reopened its fast channel to the new host"
    );
}

#[test]
fn doctor_checks_the_chain_live() {
    let r = real();
    let profile = Path::new(&r.profile);
    let out = Command::new(binary())
        .args(["doctor", "--user-data-dir"])
        .arg(profile)
        .output()
        .expect("doctor");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains(&format!("ID {EXTENSION_ID}")), "{text}");
    assert!(text.contains("answers: Chrome/"), "{text}");
    // The real extension opened the fast channel (it is open a moment after the welcome).
    let fast = poll(Duration::from_secs(10), || {
        let out = Command::new(binary())
            .args(["doctor", "--user-data-dir"])
            .arg(profile)
            .output()
            .ok()?;
        let text = String::from_utf8_lossy(&out.stdout).to_string();
        text.contains("fast channel open").then_some(text)
    });
    assert!(
        fast.is_some(),
        "doctor never saw the fast channel open: {text}"
    );
    assert!(text.contains("ok   manifest"), "{text}");
    // A broken manifest fails with the command that fixes it.
    let other = unique_dir("doctor-udd");
    let out = Command::new(binary())
        .args(["doctor", "--user-data-dir"])
        .arg(&other)
        .output()
        .expect("doctor");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(!out.status.success());
    assert!(text.contains("FAIL manifest"), "{text}");
    assert!(
        text.contains(&format!(
            "fix: tabwright install --user-data-dir {}",
            other.display()
        )),
        "{text}"
    );
    let _ = std::fs::remove_dir_all(&other);
}

#[test]
fn two_connected_browsers_are_listed_and_chosen_per_session() {
    real_run(|r, a, reg| async move {
        let (_backend, second) = start_extension_browser().await;
        let first = runtime_of(&r.profile).expect("first browser");
        let other = poll_async(Duration::from_secs(30), || async {
            runtime::list_live(&runtime::runtime_dir())
                .into_iter()
                .find(|i| i.browser.id != first.browser.id && i.browser.profile.is_some())
        })
        .await
        .expect("the second browser connects");
        let list = reg
            .call(&a, "switch_browser", json!({}))
            .await
            .expect("list")
            .text;
        assert!(
            list.contains(&first.browser.id) && list.contains(&other.browser.id),
            "{list}"
        );
        // Session B picks the second browser; session A stays on the first.
        let b = Arc::new(Session::new(r.browser.clone(), std::env::temp_dir()));
        let chosen = reg
            .call(
                &b,
                "switch_browser",
                json!({"browser_id": other.browser.id}),
            )
            .await
            .expect("switch")
            .text;
        assert!(
            chosen.contains(&format!("Now using {}", other.browser.id)),
            "{chosen}"
        );
        reg.call(&b, "navigate", json!({"url": url("buttons.html")}))
            .await
            .expect("navigate in B");
        reg.call(&a, "navigate", json!({"url": url("forms.html")}))
            .await
            .expect("navigate in A");
        let tb = reg
            .call(&b, "tabs_context", json!({}))
            .await
            .expect("B")
            .text;
        let ta = reg
            .call(&a, "tabs_context", json!({}))
            .await
            .expect("A")
            .text;
        assert!(
            tb.contains(&format!("browser id {}", other.browser.id)),
            "{tb}"
        );
        assert!(
            ta.contains(&format!("browser id {}", first.browser.id)),
            "{ta}"
        );
        let e = reg
            .call(
                &b,
                "switch_browser",
                json!({"browser_id": "no-such-browser"}),
            )
            .await
            .expect_err("unknown id");
        assert!(e.0.contains("no connected browser matches"), "{}", e.0);
        drop(second);
    });
}

/// The title and URL of one of the session's tabs as the browser lists them (no attaching).
async fn listed(s: &Arc<Session>, id: u32) -> (String, String) {
    let Ok(live) = s.live().await else {
        return Default::default();
    };
    live.refresh_targets().await;
    live.target_of(id)
        .map(|t| (t.title, t.url))
        .unwrap_or_default()
}

/// Waits (bounded) until the fixture extension `fixtures/extensions/other-debugger` has
/// attached its own debugger to tab `id` (it says so in the title) and returns the title.
async fn other_debugger_on(s: &Arc<Session>, id: u32) -> String {
    let seen = poll_async(Duration::from_secs(15), || async {
        let (title, url) = listed(s, id).await;
        (title.starts_with("other debugger attached") || url.contains("other-debugger-failed"))
            .then_some((title, url))
    })
    .await;
    let Some((title, url)) = seen else {
        panic!(
            "the other extension never attached to tab {id}: {:?}",
            listed(s, id).await
        );
    };
    assert!(
        !url.contains("other-debugger-failed"),
        "the other extension could not attach: {url}"
    );
    title
}

/// Opens a tab from the session's active tab (a page's window.open) and returns its id.
async fn open_from_page(s: &Arc<Session>, reg: &Tools, path: &str) -> u32 {
    let code = format!("window.open({}) ? 'opened' : 'blocked'", json!(url(path)));
    let out = reg
        .call(s, "javascript_tool", json!({"code": code}))
        .await
        .expect("window.open");
    opened_tab(&out.text).unwrap_or_else(|| panic!("no new tab reported: {}", out.text))
}

#[test]
fn another_debugger_on_the_tab_does_not_block_tabwright() {
    // Chrome lets several debuggers attach to one tab: another extension's chrome.debugger,
    // DevTools or any CDP client, before or after Tabwright's. Its "Another debugger is already
    // attached" error comes only when one extension attaches twice to the same tab.
    real_run(|r, s, reg| async move {
        reg.call(&s, "navigate", json!({"url": url("buttons.html")}))
            .await
            .expect("navigate");

        // 1. Another extension debugs the tab first: Tabwright attaches beside it and acts.
        let tab = open_from_page(&s, &reg, "links-target.html?other-debugger").await;
        let title = other_debugger_on(&s, tab).await;
        // What does give Chrome's error: the other extension attaching a second time.
        assert!(
            title.contains("attaching again: Another debugger is already attached to the tab"),
            "{title}"
        );
        let page = reg
            .call(&s, "read_page", json!({"tab_id": tab}))
            .await
            .expect("read_page beside another extension's debugger");
        assert!(
            page.text.contains("heading \"Target page\""),
            "{}",
            page.text
        );
        let back = find_ref(&page.text, "link", "Back to buttons").expect("link ref");
        let clicked = reg
            .call(
                &s,
                "computer",
                json!({"action": "left_click", "ref": back, "tab_id": tab}),
            )
            .await
            .expect("click beside another extension's debugger");
        assert!(
            clicked.text.contains("Page is now") && clicked.text.contains("buttons.html"),
            "{}",
            clicked.text
        );

        // 2. A CDP client (what DevTools is) attaches first: both sessions keep working.
        let tab = open_from_page(&s, &reg, "links-target.html?cdp-client").await;
        let live = s.live().await.expect("live");
        let target = live.target_of(tab).expect("target").target_id;
        let raw = Cdp::connect(&r.raw_ws).await.expect("raw CDP");
        let attached: Value = raw
            .call(
                None,
                "Target.attachToTarget",
                json!({"targetId": target, "flatten": true}),
            )
            .await
            .expect("a CDP client attaches");
        let sid = attached["sessionId"].as_str().expect("session").to_string();
        let eval = |code: &'static str| {
            let (raw, sid) = (&raw, &sid);
            async move {
                raw.call::<Value>(
                    Some(sid),
                    "Runtime.evaluate",
                    json!({"expression": code, "returnByValue": true}),
                )
                .await
                .expect("the CDP client's session works")["result"]["value"]
                    .clone()
            }
        };
        eval("document.title = 'CDP client attached'").await;
        let page = reg
            .call(&s, "read_page", json!({"tab_id": tab}))
            .await
            .expect("read_page beside a CDP client");
        assert!(
            page.text.contains("page \"CDP client attached\""),
            "{}",
            page.text
        );
        reg.call(
            &s,
            "javascript_tool",
            json!({"code": "document.title = 'Tabwright was here'", "tab_id": tab}),
        )
        .await
        .expect("javascript_tool beside a CDP client");
        assert_eq!(eval("document.title").await, json!("Tabwright was here"));

        // 3. Tabwright first, the other extension after: it attaches, and Tabwright goes on.
        let nav = reg
            .call(
                &s,
                "navigate",
                json!({"url": url("buttons.html?other-debugger")}),
            )
            .await
            .expect("navigate");
        assert!(nav.text.contains("HTTP 200"), "{}", nav.text);
        let (_, active) = s.tab_ids();
        other_debugger_on(&s, active.expect("active tab")).await;
        let page = reg.call(&s, "read_page", json!({})).await.expect("read");
        let save = find_ref(&page.text, "button", "Save").expect("Save ref");
        reg.call(&s, "computer", json!({"action": "left_click", "ref": save}))
            .await
            .expect("click with the other extension attached");
        let status = reg
            .call(
                &s,
                "javascript_tool",
                json!({"code": "document.querySelector('#status').textContent"}),
            )
            .await
            .expect("status");
        assert!(status.text.contains("clicked: Save"), "{}", status.text);
        let _ = raw
            .run(None, "Target.detachFromTarget", json!({"sessionId": sid}))
            .await;
    });
}

#[test]
fn an_mcp_client_with_a_bare_environment_finds_the_desktop_sessions_browser() {
    // Chrome (and so the native host) runs in the desktop session with
    // XDG_RUNTIME_DIR=/run/user/UID; the MCP server is started by a client that passes only
    // HOME, PATH, SHELL, TERM, USER and LOGNAME (the TypeScript SDK's default).
    // SAFETY: getuid has no preconditions.
    let uid = unsafe { libc::getuid() };
    let xdg = PathBuf::from(format!("/run/user/{uid}"));
    if !xdg.is_dir() {
        std::fs::create_dir_all(&xdg).expect("create /run/user/UID (the test runs as its owner)");
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&xdg, std::fs::Permissions::from_mode(0o700)).expect("chmod");
    }
    let home = unique_dir("bare-home");
    let (backend, launched) = rt().block_on(start_extension_browser_env(
        &[],
        vec![
            ("XDG_RUNTIME_DIR".into(), xdg.display().to_string()),
            // Unset for the host (an empty value counts as unset).
            ("TABWRIGHT_RUNTIME_DIR".into(), String::new()),
            ("HOME".into(), home.display().to_string()),
        ],
    ));
    let Backend::Extension(opts) = backend else {
        panic!("not the extension backend")
    };
    let profile = opts.select.clone().unwrap_or_default();
    let desktop_dir = xdg.join("tabwright");
    let info = poll(Duration::from_secs(30), || {
        runtime::list_live(&desktop_dir)
            .into_iter()
            .find(|i| i.browser.profile.as_deref() == Some(profile.as_str()))
    })
    .expect("the native host wrote its runtime file under /run/user/UID/tabwright");
    let mut cmd = Command::new(binary());
    let choice = format!("extension={}", info.browser.id);
    cmd.args(["mcp", "--browser", &choice])
        .env_clear()
        .env("HOME", &home)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    for k in ["PATH", "SHELL", "TERM", "USER", "LOGNAME"] {
        if let Some(v) = std::env::var_os(k) {
            cmd.env(k, v);
        }
    }
    let mut child = cmd.spawn().expect("start tabwright mcp");
    let mut stdin = child.stdin.take().expect("stdin");
    for f in [
        json!({"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"bare","version":"1"}}}),
        json!({"jsonrpc":"2.0","method":"notifications/initialized"}),
        json!({"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"tabs_context","arguments":{}}}),
    ] {
        writeln!(stdin, "{f}").expect("write");
    }
    stdin.flush().expect("flush");
    let stdout = child.stdout.take().expect("stdout");
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        use std::io::BufRead;
        for line in std::io::BufReader::new(stdout)
            .lines()
            .map_while(Result::ok)
        {
            if let Ok(v) = serde_json::from_str::<Value>(&line) {
                if v["id"] == 2 {
                    let _ = tx.send(v);
                    return;
                }
            }
        }
    });
    let reply = rx.recv_timeout(Duration::from_secs(60));
    drop(stdin);
    let _ = child.kill();
    let out = child.wait_with_output().expect("output");
    let reply = reply.unwrap_or_else(|_| {
        panic!(
            "no answer to tabs_context; stderr:\n{}",
            String::from_utf8_lossy(&out.stderr)
        )
    });
    let text = reply["result"]["content"][0]["text"].as_str().unwrap_or("");
    assert_ne!(reply["result"]["isError"], json!(true), "{text}");
    assert!(
        !text.contains("no browser with the Tabwright extension"),
        "{text}"
    );
    drop(launched);
    let _ = std::fs::remove_dir_all(&home);
}
