//! `tabwright native-host`: what Chrome starts for the extension.
//!
//! stdin and stdout carry native-messaging frames only (logs go to stderr, which Chrome keeps
//! out of the channel). The host waits for the extension's hello, checks versions, starts the
//! CDP relay, writes its runtime file, then serves until stdin ends (the extension or the
//! browser went away), when it removes the runtime file and exits.

use std::io::Write;
use std::time::Duration;

use anyhow::Context;
use serde_json::{json, Value};
use tokio::sync::mpsc;

use super::native::{self, FrameError, Reassembler};
use super::protocol::{self, Hello};
use super::relay::{self, Hub};
use super::runtime::{self, BrowserIdent, RuntimeInfo};

/// Starts the stdout writer thread; messages sent to the returned channel are written as
/// (chunked) frames in order.
fn stdout_writer() -> std::sync::mpsc::Sender<String> {
    let (tx, rx) = std::sync::mpsc::channel::<String>();
    let _ = std::thread::Builder::new()
        .name("tabwright-stdout".into())
        .spawn(move || {
            let stdout = std::io::stdout();
            let mut out = std::io::BufWriter::with_capacity(1 << 16, stdout.lock());
            let mut chunk_id = 0u64;
            while let Ok(text) = rx.recv() {
                chunk_id += 1;
                for frame in native::encode_chunked(&text, chunk_id) {
                    if out.write_all(&frame).is_err() {
                        return;
                    }
                }
                // Write everything that is queued, then flush once.
                let mut failed = false;
                while let Ok(more) = rx.try_recv() {
                    chunk_id += 1;
                    for frame in native::encode_chunked(&more, chunk_id) {
                        failed |= out.write_all(&frame).is_err();
                    }
                }
                if failed || out.flush().is_err() {
                    return;
                }
            }
        });
    tx
}

/// Starts the stdin reader thread; whole messages arrive on the returned channel, which
/// closes at end of input (with the reason as the last item).
fn stdin_reader() -> mpsc::UnboundedReceiver<Result<Value, String>> {
    let (tx, rx) = mpsc::unbounded_channel();
    let _ = std::thread::Builder::new()
        .name("tabwright-stdin".into())
        .spawn(move || {
            let stdin = std::io::stdin();
            let mut input = std::io::BufReader::with_capacity(1 << 16, stdin.lock());
            let mut joiner = Reassembler::default();
            loop {
                match native::read_frame(&mut input) {
                    Ok(v) => match joiner.feed(v) {
                        Ok(Some(msg)) => {
                            if tx.send(Ok(msg)).is_err() {
                                return;
                            }
                        }
                        Ok(None) => {}
                        Err(e) => tracing::warn!("dropping a broken chunked message: {e}"),
                    },
                    Err(FrameError::Eof) => {
                        let _ = tx.send(Err("end of input".into()));
                        return;
                    }
                    Err(e @ (FrameError::Json(_) | FrameError::Utf8(_))) => {
                        // The stream is still in step: skip the bad frame.
                        tracing::warn!("dropping a bad frame: {e}");
                    }
                    Err(e) => {
                        let _ = tx.send(Err(e.to_string()));
                        return;
                    }
                }
            }
        });
    rx
}

fn now_secs() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

/// The browser's identity from the hello and the parent process.
pub fn identify(hello: &Hello) -> BrowserIdent {
    let brand = if hello.browser.brand.is_empty() {
        "Chromium".to_string()
    } else {
        hello.browser.brand.clone()
    };
    let profile = runtime::parent_profile();
    let id = runtime::stable_id(&brand, profile.as_deref());
    let name = match &profile {
        Some(p) => format!(
            "{brand} ({})",
            std::path::Path::new(p)
                .file_name()
                .and_then(|n| n.to_str())
                .unwrap_or(p)
        ),
        None => format!("{brand} (default profile)"),
    };
    BrowserIdent {
        id,
        name,
        brand,
        profile,
        product: hello.browser.product.clone(),
    }
}

/// Appends one line to `host.log` in the runtime directory (the host's stderr goes to the
/// browser's log, which people rarely see).
fn log_line(msg: &str) {
    use std::io::Write as _;
    let dir = runtime::runtime_dir();
    let _ = std::fs::create_dir_all(&dir);
    if let Ok(mut f) = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(dir.join("host.log"))
    {
        let _ = writeln!(f, "{} pid {}: {msg}", now_secs(), std::process::id());
    }
}

/// Runs the native host until stdin ends.
pub async fn run() -> anyhow::Result<()> {
    log_line("started");
    let r = serve().await;
    match &r {
        Ok(()) => log_line("exits: end of input"),
        Err(e) => log_line(&format!("exits: {e:#}")),
    }
    r
}

async fn serve() -> anyhow::Result<()> {
    let out = stdout_writer();
    let mut input = stdin_reader();
    let first = tokio::time::timeout(Duration::from_secs(30), input.recv())
        .await
        .context("the extension sent no hello within 30 s")?;
    let hello_value = match first {
        Some(Ok(v)) => v,
        Some(Err(e)) => anyhow::bail!("reading the hello failed: {e}"),
        None => anyhow::bail!("the input closed before the hello"),
    };
    if hello_value.get("type").and_then(|t| t.as_str()) != Some("hello") {
        anyhow::bail!("the first message was not a hello: {hello_value}");
    }
    let hello: Hello = serde_json::from_value(hello_value).context("a malformed hello")?;
    if let Err(why) = protocol::check_hello(&hello) {
        let _ = out.send(
            json!({"type": "error", "code": "version", "message": why, "protocol": protocol::PROTOCOL_VERSION})
                .to_string(),
        );
        // Give the writer a moment to flush the refusal before the process ends.
        tokio::time::sleep(Duration::from_millis(100)).await;
        anyhow::bail!("{why}");
    }
    let ident = identify(&hello);
    let extension_id = hello
        .extension
        .get("id")
        .and_then(|i| i.as_str())
        .unwrap_or(protocol::EXTENSION_ID)
        .to_string();
    let hub = Hub::new(out.clone(), hello.browser.clone());
    let relay = relay::serve(hub.clone(), format!("chrome-extension://{extension_id}"))
        .await
        .context("cannot start the CDP relay")?;
    let channel = relay.channel_url();
    // TABWRIGHT_NATIVE_ONLY=1: no fast channel (for networks where loopback WebSockets from
    // the browser are blocked, and for testing the native path with a real browser).
    let native_only =
        std::env::var("TABWRIGHT_NATIVE_ONLY").is_ok_and(|v| !v.is_empty() && v != "0");
    let offered = (!native_only).then_some(channel.as_str());
    let _ = out.send(protocol::welcome(offered).to_string());
    log_line("hello accepted");
    let info = RuntimeInfo {
        version: 1,
        pid: std::process::id(),
        url: relay.url(),
        token: relay.token.clone(),
        browser: ident,
        extension_id,
        protocol: protocol::PROTOCOL_VERSION,
        started: now_secs(),
        started_ms: std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_millis() as u64)
            .unwrap_or(0),
    };
    let dir = runtime::runtime_dir();
    let path = runtime::write(&dir, &info)
        .with_context(|| format!("cannot write the runtime file in {}", dir.display()))?;
    log_line(&format!(
        "relay at {} for {}",
        relay.addr, info.browser.name
    ));
    tracing::info!(
        "relay for {} at {} (runtime file {})",
        info.browser.name,
        relay.addr,
        path.display()
    );
    let reason = loop {
        match input.recv().await {
            Some(Ok(msg)) => hub.on_extension_message(msg),
            Some(Err(e)) => break e,
            None => break "the reader stopped".to_string(),
        }
    };
    tracing::info!("native host exits: {reason}");
    hub.fail_pending("the extension disconnected");
    runtime::remove_if_ours(&path, info.pid);
    Ok(())
}
