//! The CDP connection: one WebSocket to a browser endpoint, request/response matching by id,
//! and event routing by session id.
//!
//! Results stay as raw JSON until the caller deserializes them into the type it wants, so a
//! 20 MB accessibility tree is parsed once, straight into typed structs. Every call is bounded
//! by a timeout. Events the host does not know are routed like any other and ignored by whoever
//! receives them: an unknown event can never break the session.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use serde::de::DeserializeOwned;
use serde::Deserialize;
use serde_json::value::RawValue;
use serde_json::Value;
use tokio::sync::{mpsc, oneshot};
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::tungstenite::Message;

/// CDP commands sent by this process so far (all connections); benchmarks read it to count
/// round trips per tool call.
static CALLS_MADE: AtomicU64 = AtomicU64::new(0);

/// How many CDP commands this process has sent so far, over all connections.
pub fn calls_made() -> u64 {
    CALLS_MADE.load(Ordering::Relaxed)
}

/// How long one CDP call may take unless the caller says otherwise.
pub const DEFAULT_CALL_TIMEOUT: Duration = Duration::from_secs(30);

/// What can go wrong with one CDP call.
#[derive(Debug, Clone, thiserror::Error)]
pub enum CdpError {
    /// The browser answered with a protocol error.
    #[error("{method}: {message}")]
    Protocol {
        /// The CDP method called.
        method: String,
        /// Chromium's error message.
        message: String,
        /// Chromium's error code.
        code: i64,
    },
    /// No answer within the time limit.
    #[error("{method} got no answer within {secs:.1} s (the page may be busy or hung)")]
    Timeout {
        /// The CDP method called.
        method: String,
        /// The limit that passed.
        secs: f64,
    },
    /// The connection to the browser is gone.
    #[error("the connection to the browser is closed ({0})")]
    Closed(String),
    /// The answer did not have the expected shape.
    #[error("{method}: unexpected answer from the browser: {message}")]
    Decode {
        /// The CDP method called.
        method: String,
        /// What serde said.
        message: String,
    },
}

impl CdpError {
    /// True when the browser connection itself is gone (as opposed to one call failing).
    pub fn is_closed(&self) -> bool {
        matches!(self, CdpError::Closed(_))
    }
}

/// One CDP event as received.
#[derive(Debug, Clone)]
pub struct Event {
    /// The flat-mode session it belongs to; `None` for browser-level events.
    pub session_id: Option<Arc<str>>,
    /// Event name, e.g. `Page.loadEventFired`.
    pub method: String,
    /// Event parameters, unparsed.
    pub params: Arc<RawValue>,
}

impl Event {
    /// Parses the parameters into `T`; `None` when they do not fit (the event is then ignored).
    pub fn parse<T: DeserializeOwned>(&self) -> Option<T> {
        serde_json::from_str(self.params.get()).ok()
    }
}

type Reply = Result<Box<RawValue>, CdpError>;

struct Shared {
    pending: Mutex<HashMap<u64, (String, oneshot::Sender<Reply>)>>,
    /// Event sinks by session id ("" = browser-level).
    sinks: Mutex<HashMap<String, mpsc::UnboundedSender<Event>>>,
    closed: AtomicBool,
    close_reason: Mutex<String>,
}

/// A cheap-to-clone handle on one CDP WebSocket connection.
#[derive(Clone)]
pub struct Cdp {
    out: mpsc::UnboundedSender<String>,
    next_id: Arc<AtomicU64>,
    shared: Arc<Shared>,
}

#[derive(Deserialize)]
struct Incoming<'a> {
    id: Option<u64>,
    #[serde(borrow)]
    method: Option<&'a str>,
    #[serde(rename = "sessionId", borrow)]
    session_id: Option<&'a str>,
    #[serde(borrow)]
    result: Option<&'a RawValue>,
    error: Option<ProtocolError>,
    #[serde(borrow)]
    params: Option<&'a RawValue>,
}

#[derive(Deserialize)]
struct ProtocolError {
    #[serde(default)]
    code: i64,
    #[serde(default)]
    message: String,
    #[serde(default)]
    data: Option<String>,
}

/// Removes a pending call's entry when its future is dropped (e.g. a tool returns early because
/// a dialog opened while `Input.dispatchMouseEvent` was waiting), so late answers are discarded.
struct PendingGuard<'a> {
    shared: &'a Shared,
    id: u64,
}

impl Drop for PendingGuard<'_> {
    fn drop(&mut self) {
        if let Ok(mut p) = self.shared.pending.lock() {
            p.remove(&self.id);
        }
    }
}

impl Cdp {
    /// Connects to a browser's WebSocket debugger URL (`ws://…/devtools/browser/…`).
    pub async fn connect(ws_url: &str) -> Result<Cdp, CdpError> {
        let config = WebSocketConfig::default()
            .max_message_size(Some(1 << 30))
            .max_frame_size(Some(1 << 30));
        let (ws, _) = tokio::time::timeout(
            Duration::from_secs(20),
            tokio_tungstenite::connect_async_with_config(ws_url, Some(config), true),
        )
        .await
        .map_err(|_| CdpError::Closed(format!("connecting to {ws_url} timed out")))?
        .map_err(|e| CdpError::Closed(format!("cannot connect to {ws_url}: {e}")))?;
        let (mut sink, mut stream) = ws.split();
        let (out, mut out_rx) = mpsc::unbounded_channel::<String>();
        let shared = Arc::new(Shared {
            pending: Mutex::new(HashMap::new()),
            sinks: Mutex::new(HashMap::new()),
            closed: AtomicBool::new(false),
            close_reason: Mutex::new(String::new()),
        });
        tokio::spawn(async move {
            while let Some(text) = out_rx.recv().await {
                if sink.send(Message::text(text)).await.is_err() {
                    break;
                }
            }
            let _ = sink.close().await;
        });
        let reader_shared = shared.clone();
        tokio::spawn(async move {
            let reason = loop {
                match stream.next().await {
                    Some(Ok(Message::Text(text))) => dispatch(&reader_shared, text.as_str()),
                    Some(Ok(Message::Binary(bytes))) => {
                        if let Ok(text) = std::str::from_utf8(&bytes) {
                            dispatch(&reader_shared, text)
                        }
                    }
                    Some(Ok(Message::Close(frame))) => {
                        break format!(
                            "closed by the browser{}",
                            frame.map(|f| format!(": {}", f.reason)).unwrap_or_default()
                        )
                    }
                    Some(Ok(_)) => {}
                    Some(Err(e)) => break format!("{e}"),
                    None => break "the browser went away".to_string(),
                }
            };
            close_all(&reader_shared, &reason);
        });
        Ok(Cdp {
            out,
            next_id: Arc::new(AtomicU64::new(1)),
            shared,
        })
    }

    /// True once the connection has closed.
    pub fn is_closed(&self) -> bool {
        self.shared.closed.load(Ordering::SeqCst)
    }

    /// Why the connection closed (empty while open).
    pub fn close_reason(&self) -> String {
        self.shared
            .close_reason
            .lock()
            .map(|r| r.clone())
            .unwrap_or_default()
    }

    /// Routes events of `session_id` (`""` for browser-level events) to `sink`.
    pub fn route(&self, session_id: &str, sink: mpsc::UnboundedSender<Event>) {
        if let Ok(mut s) = self.shared.sinks.lock() {
            s.insert(session_id.to_string(), sink);
        }
    }

    /// Stops routing events of `session_id`.
    pub fn unroute(&self, session_id: &str) {
        if let Ok(mut s) = self.shared.sinks.lock() {
            s.remove(session_id);
        }
    }

    /// Sends a command and returns its raw result, within `timeout`.
    pub async fn call_raw(
        &self,
        session: Option<&str>,
        method: &str,
        params: Value,
        timeout: Duration,
    ) -> Result<Box<RawValue>, CdpError> {
        if self.is_closed() {
            return Err(CdpError::Closed(self.close_reason()));
        }
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        CALLS_MADE.fetch_add(1, Ordering::Relaxed);
        tracing::trace!(target: "tabwright::cdp", %method, ?session, "call");
        let mut msg = serde_json::json!({"id": id, "method": method, "params": params});
        if let Some(s) = session {
            msg["sessionId"] = Value::String(s.to_string());
        }
        let (tx, rx) = oneshot::channel();
        self.shared
            .pending
            .lock()
            .map_err(|_| CdpError::Closed("internal lock poisoned".into()))?
            .insert(id, (method.to_string(), tx));
        let _guard = PendingGuard {
            shared: &self.shared,
            id,
        };
        if self.out.send(msg.to_string()).is_err() {
            return Err(CdpError::Closed(self.close_reason()));
        }
        match tokio::time::timeout(timeout, rx).await {
            Ok(Ok(reply)) => reply,
            Ok(Err(_)) => Err(CdpError::Closed(self.close_reason())),
            Err(_) => Err(CdpError::Timeout {
                method: method.to_string(),
                secs: timeout.as_secs_f64(),
            }),
        }
    }

    /// Sends a command and deserializes its result into `T`, within `timeout`.
    pub async fn call_with<T: DeserializeOwned>(
        &self,
        session: Option<&str>,
        method: &str,
        params: Value,
        timeout: Duration,
    ) -> Result<T, CdpError> {
        let raw = self.call_raw(session, method, params, timeout).await?;
        serde_json::from_str(raw.get()).map_err(|e| CdpError::Decode {
            method: method.to_string(),
            message: e.to_string(),
        })
    }

    /// Sends a command with the default timeout and deserializes its result.
    pub async fn call<T: DeserializeOwned>(
        &self,
        session: Option<&str>,
        method: &str,
        params: Value,
    ) -> Result<T, CdpError> {
        self.call_with(session, method, params, DEFAULT_CALL_TIMEOUT)
            .await
    }

    /// Sends a command whose result does not matter, with the default timeout.
    pub async fn run(
        &self,
        session: Option<&str>,
        method: &str,
        params: Value,
    ) -> Result<(), CdpError> {
        self.call_raw(session, method, params, DEFAULT_CALL_TIMEOUT)
            .await
            .map(|_| ())
    }
}

fn dispatch(shared: &Shared, text: &str) {
    let Ok(msg) = serde_json::from_str::<Incoming>(text) else {
        tracing::debug!("ignoring a CDP frame that is not JSON-RPC");
        return;
    };
    if let Some(id) = msg.id {
        let entry = shared.pending.lock().ok().and_then(|mut p| p.remove(&id));
        if let Some((method, tx)) = entry {
            let reply = match (msg.error, msg.result) {
                (Some(e), _) => Err(CdpError::Protocol {
                    method,
                    message: match e.data {
                        Some(d) if !d.is_empty() => format!("{} ({d})", e.message),
                        _ => e.message,
                    },
                    code: e.code,
                }),
                (None, Some(r)) => Ok(r.to_owned()),
                (None, None) => Ok(empty_raw()),
            };
            let _ = tx.send(reply);
        }
        return;
    }
    let Some(method) = msg.method else { return };
    let key = msg.session_id.unwrap_or("");
    let sink = shared.sinks.lock().ok().and_then(|s| s.get(key).cloned());
    if let Some(sink) = sink {
        let params = msg.params.map(|p| p.to_owned()).unwrap_or_else(empty_raw);
        let _ = sink.send(Event {
            session_id: msg.session_id.map(Arc::from),
            method: method.to_string(),
            params: Arc::from(params),
        });
    }
}

fn empty_raw() -> Box<RawValue> {
    // "{}" is valid JSON, so this cannot fail; keep a fallback that is also valid.
    RawValue::from_string("{}".to_string()).unwrap_or_else(|_| RawValue::NULL.to_owned())
}

fn close_all(shared: &Shared, reason: &str) {
    if let Ok(mut r) = shared.close_reason.lock() {
        *r = reason.to_string();
    }
    shared.closed.store(true, Ordering::SeqCst);
    let pending: Vec<_> = shared
        .pending
        .lock()
        .map(|mut p| p.drain().collect())
        .unwrap_or_default();
    for (_, (_, tx)) in pending {
        let _ = tx.send(Err(CdpError::Closed(reason.to_string())));
    }
    // Dropping the sinks closes every event stream, which tells tabs the browser is gone.
    if let Ok(mut s) = shared.sinks.lock() {
        s.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::net::TcpListener;

    /// A scripted CDP peer: answers each command by `reply(method)`; `None` = never answer.
    async fn peer(reply: fn(&str, u64) -> Vec<String>) -> String {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("addr");
        tokio::spawn(async move {
            let (stream, _) = listener.accept().await.expect("accept");
            let mut ws = tokio_tungstenite::accept_async(stream)
                .await
                .expect("handshake");
            while let Some(Ok(Message::Text(t))) = ws.next().await {
                let v: Value = serde_json::from_str(t.as_str()).expect("json");
                let id = v["id"].as_u64().unwrap_or(0);
                let method = v["method"].as_str().unwrap_or("").to_string();
                if method == "Test.close" {
                    let _ = ws.close(None).await;
                    return;
                }
                for frame in reply(&method, id) {
                    let _ = ws.send(Message::text(frame)).await;
                }
            }
        });
        format!("ws://{addr}/devtools/browser/test")
    }

    fn script(method: &str, id: u64) -> Vec<String> {
        match method {
            "Test.ok" => vec![
                // Noise first: an unknown event, a frame that is not JSON, a response to
                // nobody, an event with no params. None of it may disturb the call.
                r#"{"method":"Some.unknownEvent","params":{"x":[1,2,3]}}"#.into(),
                "this is not json".into(),
                r#"{"id":999999,"result":{}}"#.into(),
                r#"{"method":"Page.weird"}"#.into(),
                format!(r#"{{"id":{id},"result":{{"answer":42}}}}"#),
            ],
            "Test.fail" => vec![format!(
                r#"{{"id":{id},"error":{{"code":-32000,"message":"No node with given id found"}}}}"#
            )],
            "Test.silent" => vec![],
            _ => vec![format!(r#"{{"id":{id},"result":{{}}}}"#)],
        }
    }

    #[tokio::test]
    async fn noise_errors_timeouts_and_close_are_handled() {
        let url = peer(script).await;
        let cdp = Cdp::connect(&url).await.expect("connect");
        let (tx, mut rx) = mpsc::unbounded_channel();
        cdp.route("", tx);
        let v: Value = cdp
            .call(None, "Test.ok", serde_json::json!({}))
            .await
            .expect("ok");
        assert_eq!(v["answer"], 42);
        let ev = rx.recv().await.expect("unknown events are still delivered");
        assert_eq!(ev.method, "Some.unknownEvent");
        let e = cdp
            .call::<Value>(None, "Test.fail", serde_json::json!({}))
            .await
            .expect_err("protocol error");
        assert!(
            matches!(&e, CdpError::Protocol { message, .. } if message.contains("No node")),
            "{e}"
        );
        let e = cdp
            .call_with::<Value>(
                None,
                "Test.silent",
                serde_json::json!({}),
                Duration::from_millis(100),
            )
            .await
            .expect_err("timeout");
        assert!(matches!(e, CdpError::Timeout { .. }), "{e}");
        assert!(e.to_string().contains("Test.silent"), "{e}");
        let typed = cdp
            .call::<Vec<u8>>(None, "Test.ok", serde_json::json!({}))
            .await
            .expect_err("decode");
        assert!(matches!(typed, CdpError::Decode { .. }), "{typed}");
        // The session goes on after all of that.
        let v: Value = cdp
            .call(None, "Test.ok", serde_json::json!({}))
            .await
            .expect("still fine");
        assert_eq!(v["answer"], 42);
        // A close fails pending and later calls with Closed, quickly.
        let _ = cdp
            .call_with::<Value>(
                None,
                "Test.close",
                serde_json::json!({}),
                Duration::from_secs(5),
            )
            .await;
        let e = cdp
            .call::<Value>(None, "Test.ok", serde_json::json!({}))
            .await
            .expect_err("closed");
        assert!(e.is_closed(), "{e}");
        assert!(cdp.is_closed());
    }
}
