//! The CDP relay: a WebSocket server on 127.0.0.1 that looks like a browser's DevTools endpoint
//! to Tabwright's CDP client, and turns what it receives into extension requests
//! (`chrome.debugger` and `chrome.tabs` through the native-messaging port).
//!
//! Security: a random port, a random secret token in the path (wrong or missing → 401), and
//! only loopback `Host` headers and no `Origin` header (anything else → 403), so web pages
//! cannot reach it.
//!
//! The fast channel: the same listener takes one more kind of connection, from the extension
//! itself at `/extension/<channel token>` with `Origin: chrome-extension://<its id>` (anything
//! else → 401/403). The channel token reaches the extension only in the welcome over native
//! messaging. While that WebSocket is open, requests go over it instead of the native port:
//! Chrome hands a native-messaging frame to the service worker several milliseconds late when
//! the browser has been idle, a WebSocket message does not (bench/bridge/README.md). The
//! native port stays the control line: when it ends, the host ends.
//!
//! Mapping: every tab of the Tabwright group is a `page` target whose id is the tab's real
//! DevTools target id (also its main frame id). `Target.attachToTarget` attaches
//! `chrome.debugger` and hands out a relay session id; commands on it become
//! `chrome.debugger.sendCommand({tabId}, …)`. Child sessions (out-of-process iframes, from
//! `Target.setAutoAttach` with `flatten`) keep Chrome's own session ids and become
//! `sendCommand({tabId, sessionId}, …)`. A debugger detach becomes `Target.detachedFromTarget`.
//! Several CDP clients may connect at once; they share the attachment of a tab.

use std::collections::{HashMap, HashSet};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use serde::Deserialize;
use serde_json::value::RawValue;
use serde_json::{json, Value};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{mpsc, oneshot};
use tokio_tungstenite::tungstenite::handshake::server::{ErrorResponse, Request, Response};
use tokio_tungstenite::tungstenite::http::StatusCode;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::tungstenite::Message;

use super::protocol::HelloBrowser;

/// How long the relay waits for the extension to answer one request.
const EXT_TIMEOUT: Duration = Duration::from_secs(120);

/// A failed extension request, in CDP error terms.
#[derive(Debug, Clone)]
pub struct RelayError {
    /// CDP-style error code.
    pub code: i64,
    /// What went wrong, worded for whoever reads the tool error.
    pub message: String,
}

impl RelayError {
    fn new(code: i64, message: impl Into<String>) -> RelayError {
        RelayError {
            code,
            message: message.into(),
        }
    }
}

enum Out {
    Text(String),
    Close,
}

struct Client {
    tx: mpsc::UnboundedSender<Out>,
    discover: bool,
}

#[derive(Debug, Clone, Default)]
struct TabInfo {
    target_id: String,
    url: String,
    title: String,
    opener_target: Option<String>,
}

#[derive(Default)]
struct State {
    clients: HashMap<u64, Client>,
    /// Relay (root) session id → (client, tab).
    sessions: HashMap<String, (u64, i64)>,
    /// Tab → its relay root sessions.
    tab_sessions: HashMap<i64, Vec<String>>,
    /// Chrome child session id → tab.
    children: HashMap<String, i64>,
    /// Tabs of the group the relay knows about.
    tabs: HashMap<i64, TabInfo>,
    /// Tabs the debugger is attached to.
    attached: HashSet<i64>,
}

impl State {
    fn tab_of_target(&self, target: &str) -> Option<i64> {
        self.tabs
            .iter()
            .find(|(_, t)| t.target_id == target)
            .map(|(id, _)| *id)
    }
}

/// Where the answer to one extension request goes: the result as raw JSON, so a large result
/// (an outline, a screenshot) is passed on to the CDP client without being parsed and
/// written again.
type Answer = oneshot::Sender<Result<Box<RawValue>, RelayError>>;

/// The relay's shared state: the extension port and the connected CDP clients.
pub struct Hub {
    ext: std::sync::mpsc::Sender<String>,
    /// The extension's WebSocket channel while it is open: (connection number, sender).
    fast: Mutex<Option<(u64, mpsc::UnboundedSender<Out>)>>,
    next_req: AtomicU64,
    /// Requests waiting for an answer: the answer's sender, and the fast-channel connection
    /// the request went over (`None`: the native port).
    pending: Mutex<HashMap<u64, (Answer, Option<u64>)>>,
    state: Mutex<State>,
    browser: HelloBrowser,
    next_client: AtomicU64,
    next_session: AtomicU64,
}

#[derive(Deserialize)]
struct Command {
    id: u64,
    method: String,
    #[serde(default)]
    params: Option<Box<RawValue>>,
    #[serde(rename = "sessionId", default)]
    session_id: Option<String>,
}

#[derive(Deserialize)]
struct ExtTab {
    #[serde(rename = "tabId")]
    tab_id: i64,
    #[serde(rename = "targetId", default)]
    target_id: Option<String>,
    #[serde(default)]
    url: String,
    #[serde(default)]
    title: String,
    #[serde(rename = "openerTargetId", default)]
    opener_target_id: Option<String>,
}

impl ExtTab {
    fn info(self) -> Option<(i64, TabInfo)> {
        Some((
            self.tab_id,
            TabInfo {
                target_id: self.target_id?,
                url: self.url,
                title: self.title,
                opener_target: self.opener_target_id,
            },
        ))
    }
}

fn target_info(t: &TabInfo, attached: bool) -> Value {
    let mut v = json!({
        "targetId": t.target_id, "type": "page", "title": t.title, "url": t.url,
        "attached": attached, "canAccessOpener": false, "browserContextId": "default",
    });
    if let Some(o) = &t.opener_target {
        v["openerId"] = Value::String(o.clone());
    }
    v
}

/// `{}` as raw JSON.
fn empty_object() -> Box<RawValue> {
    EMPTY.clone()
}

/// A static `{}`.
static EMPTY: std::sync::LazyLock<Box<RawValue>> = std::sync::LazyLock::new(|| {
    serde_json::value::to_raw_value(&serde_json::Map::new()).unwrap_or_default()
});

/// A message from the extension, with its result and params left raw.
#[derive(Deserialize)]
struct Incoming<'a> {
    #[serde(rename = "type")]
    kind: Option<String>,
    id: Option<u64>,
    #[serde(borrow, default)]
    result: Option<&'a RawValue>,
    #[serde(default)]
    error: Option<Value>,
    event: Option<String>,
    #[serde(borrow, default)]
    params: Option<&'a RawValue>,
}

/// The params of a `debugger.event`.
#[derive(Deserialize)]
struct DebuggerEvent<'a> {
    #[serde(rename = "tabId")]
    tab_id: Option<i64>,
    #[serde(rename = "sessionId")]
    session_id: Option<String>,
    method: Option<String>,
    #[serde(borrow, default)]
    params: Option<&'a RawValue>,
}

/// A command's params as a value (`null` when absent or malformed), for the commands the
/// relay answers itself.
fn params_value(raw: &Option<Box<RawValue>>) -> Value {
    raw.as_ref()
        .and_then(|r| serde_json::from_str(r.get()).ok())
        .unwrap_or(Value::Null)
}

/// A CDP event message with raw params.
fn event_text_raw(method: &str, params: &RawValue, session: Option<&str>) -> String {
    #[derive(serde::Serialize)]
    struct Ev<'a> {
        method: &'a str,
        params: &'a RawValue,
        #[serde(rename = "sessionId", skip_serializing_if = "Option::is_none")]
        session_id: Option<&'a str>,
    }
    serde_json::to_string(&Ev {
        method,
        params,
        session_id: session,
    })
    .unwrap_or_default()
}

fn event_text(method: &str, params: &Value, session: Option<&str>) -> String {
    match session {
        Some(s) => json!({"method": method, "params": params, "sessionId": s}).to_string(),
        None => json!({"method": method, "params": params}).to_string(),
    }
}

impl Hub {
    /// A hub that sends extension messages (JSON text) to `ext`.
    pub fn new(ext: std::sync::mpsc::Sender<String>, browser: HelloBrowser) -> Arc<Hub> {
        Arc::new(Hub {
            ext,
            fast: Mutex::new(None),
            next_req: AtomicU64::new(1),
            pending: Mutex::new(HashMap::new()),
            state: Mutex::new(State::default()),
            browser,
            next_client: AtomicU64::new(1),
            next_session: AtomicU64::new(1),
        })
    }

    fn state(&self) -> MutexGuard<'_, State> {
        match self.state.lock() {
            Ok(g) => g,
            Err(p) => p.into_inner(),
        }
    }

    /// Sends a request to the extension now (so requests keep their order) and returns the
    /// receiver of its answer.
    fn send_request(
        &self,
        method: &str,
        params: Value,
    ) -> oneshot::Receiver<Result<Box<RawValue>, RelayError>> {
        self.send_request_raw(method, &params.to_string())
    }

    /// [`Hub::send_request`] with the params already as JSON text.
    fn send_request_raw(
        &self,
        method: &str,
        params: &str,
    ) -> oneshot::Receiver<Result<Box<RawValue>, RelayError>> {
        let id = self.next_req.fetch_add(1, Ordering::Relaxed);
        let (tx, rx) = oneshot::channel();
        let msg = format!(
            r#"{{"type":"request","id":{id},"method":{},"params":{params}}}"#,
            Value::String(method.to_string())
        );
        // The lock is held while sending, so an answer (or the channel closing) cannot be
        // handled before the request is on record with the channel it went over.
        let Ok(mut pending) = self.pending.lock() else {
            let _ = tx.send(Err(RelayError::new(-32000, "internal lock poisoned")));
            return rx;
        };
        match self.send_to_extension(msg) {
            Ok(via) => {
                pending.insert(id, (tx, via));
            }
            Err(()) => {
                let _ = tx.send(Err(RelayError::new(-32000, "the extension port is closed")));
            }
        }
        rx
    }

    /// Sends one message to the extension: over its WebSocket channel when that is open,
    /// else over the native port.
    /// Returns the fast-channel connection used, `None` for the native port.
    fn send_to_extension(&self, text: String) -> Result<Option<u64>, ()> {
        let text = match self.fast.lock().ok().and_then(|f| f.clone()) {
            Some((conn, tx)) => match tx.send(Out::Text(text)) {
                Ok(()) => return Ok(Some(conn)),
                Err(mpsc::error::SendError(Out::Text(t))) => t,
                Err(_) => return Err(()),
            },
            None => text,
        };
        self.ext.send(text).map(|()| None).map_err(|_| ())
    }

    /// Makes `tx` the extension's channel (replacing an older one); returns its number.
    fn open_fast(&self, tx: mpsc::UnboundedSender<Out>) -> u64 {
        let conn = self.next_client.fetch_add(1, Ordering::Relaxed);
        if let Ok(mut f) = self.fast.lock() {
            *f = Some((conn, tx));
        }
        tracing::info!("the extension's fast channel is open");
        conn
    }

    /// Forgets channel `conn` if it is still the current one: messages go over the native
    /// port again.
    /// Requests that went over it and have no answer fail now: whether the extension got
    /// them cannot be known, and sending them again could act twice.
    fn close_fast(&self, conn: u64) {
        if let Ok(mut f) = self.fast.lock() {
            if f.as_ref().is_some_and(|(c, _)| *c == conn) {
                *f = None;
                tracing::info!("the extension's fast channel closed; using the native port");
            }
        }
        let lost: Vec<_> = self
            .pending
            .lock()
            .map(|mut p| {
                let ids: Vec<u64> = p
                    .iter()
                    .filter(|(_, (_, via))| *via == Some(conn))
                    .map(|(id, _)| *id)
                    .collect();
                ids.into_iter().filter_map(|id| p.remove(&id)).collect()
            })
            .unwrap_or_default();
        for (tx, _) in lost {
            let _ = tx.send(Err(RelayError::new(
                -32000,
                "the connection to the extension closed while this command ran; it may or may not \
                 have taken effect: check the page (read_page) before retrying",
            )));
        }
    }

    /// True while the extension's WebSocket channel is open.
    pub fn fast_channel_open(&self) -> bool {
        self.fast.lock().map(|f| f.is_some()).unwrap_or(false)
    }

    async fn wait(
        rx: oneshot::Receiver<Result<Box<RawValue>, RelayError>>,
    ) -> Result<Box<RawValue>, RelayError> {
        match tokio::time::timeout(EXT_TIMEOUT, rx).await {
            Ok(Ok(r)) => r,
            Ok(Err(_)) => Err(RelayError::new(-32000, "the extension went away")),
            Err(_) => Err(RelayError::new(
                -32000,
                "the extension did not answer within 120 s",
            )),
        }
    }

    /// Sends a request to the extension and waits for its answer.
    pub async fn request(&self, method: &str, params: Value) -> Result<Value, RelayError> {
        let raw = Self::wait(self.send_request(method, params)).await?;
        serde_json::from_str(raw.get()).map_err(|e| {
            RelayError::new(
                -32000,
                format!("the extension sent a malformed result: {e}"),
            )
        })
    }

    /// Handles one whole message from the extension (a response or an event), parsed.
    pub fn on_extension_message(&self, msg: Value) {
        self.on_extension_text(&msg.to_string());
    }

    /// Handles one whole message from the extension (a response or an event) as JSON text.
    /// A result's JSON stays raw: it goes to the CDP client as it came.
    pub fn on_extension_text(&self, text: &str) {
        let msg: Incoming<'_> = match serde_json::from_str(text) {
            Ok(m) => m,
            Err(e) => {
                tracing::warn!("dropping a malformed message from the extension: {e}");
                return;
            }
        };
        match msg.kind.as_deref() {
            Some("response") => {
                let Some(id) = msg.id else {
                    return;
                };
                let Some((tx, _)) = self.pending.lock().ok().and_then(|mut p| p.remove(&id)) else {
                    return;
                };
                let reply = match msg.error {
                    Some(e) if !e.is_null() => Err(RelayError::new(
                        e.get("code").and_then(|c| c.as_i64()).unwrap_or(-32000),
                        e.get("message")
                            .and_then(|m| m.as_str())
                            .unwrap_or("the extension reported an error"),
                    )),
                    _ => Ok(msg
                        .result
                        .map(|r| r.to_owned())
                        .unwrap_or_else(empty_object)),
                };
                let _ = tx.send(reply);
            }
            Some("event") => {
                let name = msg.event.as_deref().unwrap_or("");
                if name == "debugger.event" {
                    if let Some(p) = msg.params {
                        self.on_debugger_event(p);
                    }
                    return;
                }
                let params = msg
                    .params
                    .and_then(|p| serde_json::from_str(p.get()).ok())
                    .unwrap_or(Value::Null);
                self.on_event(name, params);
            }
            _ => {}
        }
    }

    /// A CDP event from a tab: routed to the sessions on that tab, its params passed on raw.
    fn on_debugger_event(&self, raw: &RawValue) {
        let Ok(ev) = serde_json::from_str::<DebuggerEvent<'_>>(raw.get()) else {
            return;
        };
        let Some(tab) = ev.tab_id else {
            return;
        };
        let method = ev.method.as_deref().unwrap_or("");
        let params = ev.params.unwrap_or_else(|| EMPTY.as_ref());
        let mut st = self.state();
        if matches!(
            method,
            "Target.attachedToTarget" | "Target.detachedFromTarget"
        ) {
            #[derive(Deserialize)]
            struct Child {
                #[serde(rename = "sessionId")]
                session_id: Option<String>,
            }
            if let Some(s) = serde_json::from_str::<Child>(params.get())
                .ok()
                .and_then(|c| c.session_id)
            {
                if method == "Target.attachedToTarget" {
                    st.children.insert(s, tab);
                } else {
                    st.children.remove(&s);
                }
            }
        }
        let Some(roots) = st.tab_sessions.get(&tab) else {
            return;
        };
        for root in roots {
            let Some((cid, _)) = st.sessions.get(root) else {
                continue;
            };
            if let Some(c) = st.clients.get(cid) {
                let s = ev.session_id.as_deref().unwrap_or(root);
                let _ =
                    c.tx.send(Out::Text(event_text_raw(method, params, Some(s))));
            }
        }
    }

    /// Fails every request still waiting (the extension port closed).
    pub fn fail_pending(&self, why: &str) {
        let pending: Vec<_> = self
            .pending
            .lock()
            .map(|mut p| p.drain().collect())
            .unwrap_or_default();
        for (_, (tx, _)) in pending {
            let _ = tx.send(Err(RelayError::new(-32000, why)));
        }
    }

    fn on_event(&self, name: &str, p: Value) {
        match name {
            "debugger.detached" => {
                let Some(tab) = p.get("tabId").and_then(|t| t.as_i64()) else {
                    return;
                };
                let mut st = self.state();
                st.attached.remove(&tab);
                st.children.retain(|_, t| *t != tab);
                let target = st
                    .tabs
                    .get(&tab)
                    .map(|t| t.target_id.clone())
                    .unwrap_or_default();
                for root in st.tab_sessions.remove(&tab).unwrap_or_default() {
                    if let Some((cid, _)) = st.sessions.remove(&root) {
                        if let Some(c) = st.clients.get(&cid) {
                            let params = json!({"sessionId": root, "targetId": target});
                            let _ = c.tx.send(Out::Text(event_text(
                                "Target.detachedFromTarget",
                                &params,
                                None,
                            )));
                        }
                    }
                }
            }
            "tab.created" | "tab.updated" => {
                let Ok(t) = serde_json::from_value::<ExtTab>(p) else {
                    return;
                };
                let Some((tab, info)) = t.info() else { return };
                let mut st = self.state();
                let known = st.tabs.contains_key(&tab);
                let attached = st.attached.contains(&tab);
                let method = if known {
                    "Target.targetInfoChanged"
                } else {
                    "Target.targetCreated"
                };
                let text = event_text(
                    method,
                    &json!({"targetInfo": target_info(&info, attached)}),
                    None,
                );
                st.tabs.insert(tab, info);
                for c in st.clients.values().filter(|c| c.discover) {
                    let _ = c.tx.send(Out::Text(text.clone()));
                }
            }
            "tab.removed" => {
                let Some(tab) = p.get("tabId").and_then(|t| t.as_i64()) else {
                    return;
                };
                let mut st = self.state();
                if let Some(info) = st.tabs.remove(&tab) {
                    let text = event_text(
                        "Target.targetDestroyed",
                        &json!({"targetId": info.target_id}),
                        None,
                    );
                    for c in st.clients.values().filter(|c| c.discover) {
                        let _ = c.tx.send(Out::Text(text.clone()));
                    }
                }
            }
            _ => {}
        }
    }

    fn add_client(&self, tx: mpsc::UnboundedSender<Out>) -> u64 {
        let id = self.next_client.fetch_add(1, Ordering::Relaxed);
        self.state().clients.insert(
            id,
            Client {
                tx,
                discover: false,
            },
        );
        id
    }

    /// Forgets a client and lets go of tabs nobody else uses.
    async fn remove_client(&self, cid: u64) {
        let roots: Vec<String> = {
            let mut st = self.state();
            st.clients.remove(&cid);
            st.sessions
                .iter()
                .filter(|(_, (c, _))| *c == cid)
                .map(|(s, _)| s.clone())
                .collect()
        };
        for s in roots {
            let _ = self.detach_root(&s).await;
        }
    }

    fn reply(&self, cid: u64, id: u64, session: Option<&str>, r: Result<Value, RelayError>) {
        let r = r.and_then(|v| {
            serde_json::value::to_raw_value(&v)
                .map_err(|e| RelayError::new(-32000, format!("cannot encode a result: {e}")))
        });
        self.reply_raw(cid, id, session, r);
    }

    /// Sends a CDP answer whose result is raw JSON.
    fn reply_raw(
        &self,
        cid: u64,
        id: u64,
        session: Option<&str>,
        r: Result<Box<RawValue>, RelayError>,
    ) {
        #[derive(serde::Serialize)]
        struct Reply<'a> {
            id: u64,
            #[serde(skip_serializing_if = "Option::is_none")]
            result: Option<&'a RawValue>,
            #[serde(skip_serializing_if = "Option::is_none")]
            error: Option<Value>,
            #[serde(rename = "sessionId", skip_serializing_if = "Option::is_none")]
            session_id: Option<&'a str>,
        }
        let (result, error) = match &r {
            Ok(raw) => (Some(raw.as_ref()), None),
            Err(e) => (None, Some(json!({"code": e.code, "message": e.message}))),
        };
        let text = serde_json::to_string(&Reply {
            id,
            result,
            error,
            session_id: session,
        })
        .unwrap_or_default();
        self.send_to(cid, Out::Text(text));
    }

    fn send_to(&self, cid: u64, out: Out) {
        if let Some(c) = self.state().clients.get(&cid) {
            let _ = c.tx.send(out);
        }
    }

    /// Handles one CDP command from client `cid`.
    fn on_command(self: &Arc<Self>, cid: u64, text: &str) {
        let cmd: Command = match serde_json::from_str(text) {
            Ok(c) => c,
            Err(e) => {
                if let Some(id) = serde_json::from_str::<Value>(text)
                    .ok()
                    .and_then(|v| v.get("id").and_then(|i| i.as_u64()))
                {
                    self.reply(
                        cid,
                        id,
                        None,
                        Err(RelayError::new(-32600, format!("invalid command: {e}"))),
                    );
                }
                return;
            }
        };
        let Some(session) = cmd.session_id.clone() else {
            let hub = self.clone();
            tokio::spawn(async move {
                let r = hub
                    .browser_command(cid, &cmd.method, params_value(&cmd.params))
                    .await;
                let close = cmd.method == "Browser.close";
                hub.reply(cid, cmd.id, None, r);
                if close {
                    hub.send_to(cid, Out::Close);
                }
            });
            return;
        };
        let route = {
            let st = self.state();
            if let Some((_, tab)) = st.sessions.get(&session) {
                Some((*tab, None))
            } else {
                st.children
                    .get(&session)
                    .map(|tab| (*tab, Some(session.clone())))
            }
        };
        let Some((tab, child)) = route else {
            self.reply(
                cid,
                cmd.id,
                Some(&session),
                Err(RelayError::new(
                    -32001,
                    format!("Session with given id not found: {session} (the tab was closed or detached)"),
                )),
            );
            return;
        };
        if cmd.method.starts_with("Browser.") {
            let hub = self.clone();
            tokio::spawn(async move {
                let mut params = params_value(&cmd.params);
                if cmd.method == "Browser.getWindowForTarget" {
                    params = json!({"tabId": tab});
                }
                let r = hub.browser_command(cid, &cmd.method, params).await;
                hub.reply(cid, cmd.id, Some(&session), r);
            });
            return;
        }
        // The command's params go on as they came (a large script is not parsed and written
        // again).
        #[derive(serde::Serialize)]
        struct Send<'a> {
            #[serde(rename = "tabId")]
            tab_id: i64,
            method: &'a str,
            params: &'a RawValue,
            #[serde(rename = "sessionId", skip_serializing_if = "Option::is_none")]
            session_id: Option<&'a str>,
        }
        let params = serde_json::to_string(&Send {
            tab_id: tab,
            method: &cmd.method,
            params: cmd.params.as_deref().unwrap_or_else(|| EMPTY.as_ref()),
            session_id: child.as_deref(),
        })
        .unwrap_or_default();
        let rx = self.send_request_raw("debugger.send", &params);
        let hub = self.clone();
        tokio::spawn(async move {
            let r = Self::wait(rx).await.map_err(explain);
            hub.reply_raw(cid, cmd.id, Some(&session), r);
        });
    }

    async fn list_tabs(&self) -> Result<Vec<(i64, TabInfo)>, RelayError> {
        let v = self.request("tabs.list", json!({})).await?;
        let tabs: Vec<(i64, TabInfo)> = v
            .get("tabs")
            .and_then(|t| t.as_array())
            .map(|a| {
                a.iter()
                    .filter_map(|t| serde_json::from_value::<ExtTab>(t.clone()).ok())
                    .filter_map(ExtTab::info)
                    .collect()
            })
            .unwrap_or_default();
        let mut st = self.state();
        st.tabs = tabs.iter().cloned().collect();
        Ok(tabs)
    }

    async fn tab_of_target(&self, target: &str) -> Result<i64, RelayError> {
        if let Some(t) = self.state().tab_of_target(target) {
            return Ok(t);
        }
        self.list_tabs().await?;
        self.state().tab_of_target(target).ok_or_else(|| {
            RelayError::new(
                -32602,
                format!(
                    "No target with given id found: {target} is not a tab of the Tabwright group"
                ),
            )
        })
    }

    fn target_param(params: &Value) -> Result<&str, RelayError> {
        params
            .get("targetId")
            .and_then(|t| t.as_str())
            .ok_or_else(|| RelayError::new(-32602, "targetId is required"))
    }

    async fn browser_command(
        &self,
        cid: u64,
        method: &str,
        params: Value,
    ) -> Result<Value, RelayError> {
        match method {
            "Browser.getVersion" => Ok(json!({
                "protocolVersion": "1.3",
                "product": self.browser.product,
                "revision": "",
                "userAgent": self.browser.user_agent,
                "jsVersion": "",
                // Not CDP: how the host reaches the extension now (`tabwright doctor` shows it).
                "tabwrightChannel": if self.fast_channel_open() { "websocket" } else { "native" },
            })),
            // Closing means "this client is done": a person's browser is never closed.
            "Browser.close" => Ok(json!({})),
            "Target.setDiscoverTargets" => {
                let on = params
                    .get("discover")
                    .and_then(|d| d.as_bool())
                    .unwrap_or(false);
                let tabs = if on { self.list_tabs().await? } else { vec![] };
                let mut st = self.state();
                let attached = st.attached.clone();
                if let Some(c) = st.clients.get_mut(&cid) {
                    c.discover = on;
                    for (tab, info) in &tabs {
                        let _ = c.tx.send(Out::Text(event_text(
                            "Target.targetCreated",
                            &json!({"targetInfo": target_info(info, attached.contains(tab))}),
                            None,
                        )));
                    }
                }
                Ok(json!({}))
            }
            "Target.getTargets" => {
                let tabs = self.list_tabs().await?;
                let st = self.state();
                let infos: Vec<Value> = tabs
                    .iter()
                    .map(|(tab, info)| target_info(info, st.attached.contains(tab)))
                    .collect();
                Ok(json!({"targetInfos": infos}))
            }
            "Target.createTarget" => {
                let url = params
                    .get("url")
                    .and_then(|u| u.as_str())
                    .unwrap_or("about:blank");
                // Unset: the extension decides (a new window when the group's window already
                // shows a tab being driven, so no driven tab is a hidden background tab).
                let new_window = params.get("newWindow").and_then(|n| n.as_bool());
                let v = self
                    .request(
                        "tabs.create",
                        json!({"url": url, "active": true, "newWindow": new_window}),
                    )
                    .await?;
                let t: ExtTab = serde_json::from_value(v).map_err(|e| {
                    RelayError::new(-32000, format!("the extension sent a bad tab: {e}"))
                })?;
                let (tab, info) = t.info().ok_or_else(|| {
                    RelayError::new(-32000, "the new tab has no DevTools target yet")
                })?;
                let target = info.target_id.clone();
                self.state().tabs.insert(tab, info);
                Ok(json!({"targetId": target}))
            }
            "Target.closeTarget" => {
                let tab = self.tab_of_target(Self::target_param(&params)?).await?;
                self.request("tabs.close", json!({"tabId": tab})).await?;
                Ok(json!({"success": true}))
            }
            "Target.activateTarget" => {
                let tab = self.tab_of_target(Self::target_param(&params)?).await?;
                self.request("tabs.activate", json!({"tabId": tab})).await?;
                Ok(json!({}))
            }
            "Target.attachToTarget" => {
                let tab = self.tab_of_target(Self::target_param(&params)?).await?;
                let need = !self.state().attached.contains(&tab);
                if need {
                    self.request("debugger.attach", json!({"tabId": tab}))
                        .await?;
                    self.state().attached.insert(tab);
                }
                let n = self.next_session.fetch_add(1, Ordering::Relaxed);
                let sid = format!("TW{tab:X}S{n:X}");
                let mut st = self.state();
                st.sessions.insert(sid.clone(), (cid, tab));
                st.tab_sessions.entry(tab).or_default().push(sid.clone());
                Ok(json!({"sessionId": sid}))
            }
            "Target.detachFromTarget" => {
                let s = params
                    .get("sessionId")
                    .and_then(|s| s.as_str())
                    .unwrap_or("")
                    .to_string();
                let child_tab = self.state().children.get(&s).copied();
                if let Some(tab) = child_tab {
                    return self
                        .request(
                            "debugger.send",
                            json!({"tabId": tab, "method": "Target.detachFromTarget", "params": {"sessionId": s}}),
                        )
                        .await;
                }
                self.detach_root(&s).await?;
                Ok(json!({}))
            }
            "Target.setAutoAttach" | "Target.setRemoteLocations" => Ok(json!({})),
            "Browser.getWindowForTarget" => {
                let tab = match params.get("tabId").and_then(|t| t.as_i64()) {
                    Some(t) => t,
                    None => self.tab_of_target(Self::target_param(&params)?).await?,
                };
                self.request("window.get", json!({"tabId": tab})).await
            }
            "Browser.setWindowBounds" => {
                self.request("window.setBounds", params).await?;
                Ok(json!({}))
            }
            other => Err(RelayError::new(
                -32601,
                format!("{other} is not available through the Tabwright extension bridge"),
            )),
        }
    }

    async fn detach_root(&self, session: &str) -> Result<(), RelayError> {
        let last_on_tab = {
            let mut st = self.state();
            let Some((_, tab)) = st.sessions.remove(session) else {
                return Err(RelayError::new(
                    -32001,
                    format!("Session with given id not found: {session}"),
                ));
            };
            let left = match st.tab_sessions.get_mut(&tab) {
                Some(v) => {
                    v.retain(|s| s != session);
                    v.len()
                }
                None => 0,
            };
            if left == 0 {
                st.tab_sessions.remove(&tab);
                st.children.retain(|_, t| *t != tab);
                st.attached.remove(&tab).then_some(tab)
            } else {
                None
            }
        };
        if let Some(tab) = last_on_tab {
            self.request("debugger.detach", json!({"tabId": tab}))
                .await?;
        }
        Ok(())
    }
}

/// Adds what a person can do about errors `chrome.debugger` words tersely.
fn explain(mut e: RelayError) -> RelayError {
    if e.message.contains("Detached while handling command") {
        e.message.push_str(
            " The browser took the tab away from the extension: it navigated to a page extensions \
             may not debug (chrome:// pages, the Web Store, another extension's page) or it closed. \
             Navigate to a web page or open a new tab.",
        );
    } else if e.message.contains("No tab with given id") {
        e.message.push_str(
            " The tab was closed. Use tabs_context to see the open tabs, or navigate to open a \
             new one.",
        );
    } else if e.message.contains("Cannot access") || e.message.contains("cannot attach") {
        e.message.push_str(
            " (browsers do not let extensions debug chrome:// pages, the Web Store or other \
             extensions' pages)",
        );
    }
    e
}

/// A running relay: where it listens and its secrets.
#[derive(Debug, Clone)]
pub struct RelayAddr {
    /// The loopback address.
    pub addr: SocketAddr,
    /// The CDP clients' secret token (the URL path).
    pub token: String,
    /// The extension channel's secret token.
    pub channel_token: String,
}

impl RelayAddr {
    /// The WebSocket URL a CDP client connects to.
    pub fn url(&self) -> String {
        format!("ws://{}/devtools/browser/{}", self.addr, self.token)
    }

    /// The WebSocket URL of the extension's fast channel (sent only in the welcome).
    pub fn channel_url(&self) -> String {
        format!("ws://{}/extension/{}", self.addr, self.channel_token)
    }
}

/// A fresh random token (32 hex digits).
pub fn random_token() -> String {
    let mut b = [0u8; 16];
    if getrandom::fill(&mut b).is_err() {
        // Fall back to time and pid: still unguessable enough for a loopback socket.
        let t = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or(0);
        b = (t ^ ((std::process::id() as u128) << 64)).to_le_bytes();
    }
    b.iter().map(|x| format!("{x:02x}")).collect()
}

/// Whether a Host header names this loopback listener.
fn host_ok(host: &str, port: u16) -> bool {
    let allowed = [
        format!("127.0.0.1:{port}"),
        format!("localhost:{port}"),
        format!("[::1]:{port}"),
    ];
    allowed.iter().any(|a| a.eq_ignore_ascii_case(host))
}

/// Who a checked connection is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Peer {
    /// A CDP client (Tabwright's browser layer).
    Cdp,
    /// The extension's fast channel.
    Extension,
}

/// The secrets a connection must show.
#[derive(Debug, Clone)]
pub struct Secrets {
    /// The CDP clients' token.
    pub token: String,
    /// The extension channel's token.
    pub channel_token: String,
    /// The only Origin the extension channel accepts (`chrome-extension://<id>`).
    pub extension_origin: String,
}

/// Checks a handshake: loopback Host; then either a CDP client (no Origin, else 403; the
/// token in the path, else 401) or the extension (its exact Origin, else 403; the channel
/// token, else 401).
pub fn check_request(
    req: &Request,
    port: u16,
    secrets: &Secrets,
) -> Result<Peer, (StatusCode, String)> {
    let host = req
        .headers()
        .get("host")
        .and_then(|h| h.to_str().ok())
        .unwrap_or("");
    if !host_ok(host, port) {
        return Err((
            StatusCode::FORBIDDEN,
            format!("forbidden Host header {host:?}"),
        ));
    }
    let path = req.uri().path();
    if let Some(given) = path.strip_prefix("/extension/") {
        let origin = req
            .headers()
            .get("origin")
            .and_then(|o| o.to_str().ok())
            .unwrap_or("");
        if origin != secrets.extension_origin {
            return Err((
                StatusCode::FORBIDDEN,
                format!("forbidden Origin {origin:?} for the extension channel"),
            ));
        }
        if !constant_time_eq(given, &secrets.channel_token) {
            return Err((
                StatusCode::UNAUTHORIZED,
                "missing or wrong channel token".into(),
            ));
        }
        return Ok(Peer::Extension);
    }
    if let Some(origin) = req.headers().get("origin") {
        return Err((
            StatusCode::FORBIDDEN,
            format!(
                "forbidden Origin {:?}: the relay takes no browser-page connections",
                origin.to_str().unwrap_or("?")
            ),
        ));
    }
    match path.strip_prefix("/devtools/browser/") {
        Some(given) if constant_time_eq(given, &secrets.token) => Ok(Peer::Cdp),
        _ => Err((StatusCode::UNAUTHORIZED, "missing or wrong token".into())),
    }
}

/// Compares two secrets without stopping at the first difference.
fn constant_time_eq(a: &str, b: &str) -> bool {
    a.len() == b.len()
        && a.bytes()
            .zip(b.bytes())
            .fold(0u8, |acc, (x, y)| acc | (x ^ y))
            == 0
}

/// Binds the relay on 127.0.0.1 (random port) and serves CDP clients, and the extension's
/// fast channel from `extension_origin`, until the process ends.
pub async fn serve(hub: Arc<Hub>, extension_origin: String) -> std::io::Result<RelayAddr> {
    let listener = TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    let secrets = Arc::new(Secrets {
        token: random_token(),
        channel_token: random_token(),
        extension_origin,
    });
    let relay = RelayAddr {
        addr,
        token: secrets.token.clone(),
        channel_token: secrets.channel_token.clone(),
    };
    tokio::spawn(async move {
        loop {
            let Ok((stream, _)) = listener.accept().await else {
                continue;
            };
            let _ = stream.set_nodelay(true);
            let hub = hub.clone();
            let secrets = secrets.clone();
            tokio::spawn(async move {
                serve_client(hub, stream, addr.port(), &secrets).await;
            });
        }
    });
    Ok(relay)
}

// The handshake callback's signature (a large Err type) is tungstenite's.
#[allow(clippy::result_large_err)]
async fn serve_client(hub: Arc<Hub>, stream: TcpStream, port: u16, secrets: &Secrets) {
    let peer = Arc::new(Mutex::new(None));
    let seen = peer.clone();
    let check = move |req: &Request, resp: Response| -> Result<Response, ErrorResponse> {
        match check_request(req, port, secrets) {
            Ok(p) => {
                if let Ok(mut s) = seen.lock() {
                    *s = Some(p);
                }
                Ok(resp)
            }
            Err((status, why)) => {
                tracing::info!("relay refused a connection: {why}");
                let mut r = ErrorResponse::new(Some(why));
                *r.status_mut() = status;
                Err(r)
            }
        }
    };
    let config = WebSocketConfig::default()
        .max_message_size(Some(1 << 30))
        .max_frame_size(Some(1 << 30));
    let ws =
        match tokio_tungstenite::accept_hdr_async_with_config(stream, check, Some(config)).await {
            Ok(ws) => ws,
            Err(e) => {
                tracing::debug!("relay handshake failed: {e}");
                return;
            }
        };
    let peer = peer.lock().ok().and_then(|p| *p);
    let (mut sink, mut stream) = ws.split();
    let (tx, mut rx) = mpsc::unbounded_channel::<Out>();
    let writer = tokio::spawn(async move {
        while let Some(out) = rx.recv().await {
            match out {
                Out::Text(t) => {
                    if sink.send(Message::text(t)).await.is_err() {
                        break;
                    }
                }
                Out::Close => break,
            }
        }
        let _ = sink.close().await;
    });
    if peer == Some(Peer::Extension) {
        let conn = hub.open_fast(tx);
        while let Some(msg) = stream.next().await {
            let text = match &msg {
                Ok(Message::Text(t)) => t.as_str(),
                Ok(Message::Binary(b)) => std::str::from_utf8(b).unwrap_or(""),
                Ok(Message::Close(_)) | Err(_) => break,
                Ok(_) => continue,
            };
            hub.on_extension_text(text);
            if writer.is_finished() {
                break;
            }
        }
        hub.close_fast(conn);
        writer.abort();
        return;
    }
    let cid = hub.add_client(tx);
    while let Some(msg) = stream.next().await {
        match msg {
            Ok(Message::Text(t)) => hub.on_command(cid, t.as_str()),
            Ok(Message::Binary(b)) => {
                if let Ok(t) = std::str::from_utf8(&b) {
                    hub.on_command(cid, t)
                }
            }
            Ok(Message::Close(_)) | Err(_) => break,
            Ok(_) => {}
        }
        if writer.is_finished() {
            break;
        }
    }
    hub.remove_client(cid).await;
    writer.abort();
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio_tungstenite::tungstenite::http;

    fn req(path: &str, host: &str, origin: Option<&str>) -> Request {
        let mut b = http::Request::builder().uri(path).header("host", host);
        if let Some(o) = origin {
            b = b.header("origin", o);
        }
        b.body(()).expect("request")
    }

    fn secrets() -> Secrets {
        Secrets {
            token: "t0k".into(),
            channel_token: "ch4n".into(),
            extension_origin: "chrome-extension://abc".into(),
        }
    }

    fn status(path: &str, host: &str, origin: Option<&str>) -> Result<Peer, StatusCode> {
        check_request(&req(path, host, origin), 9, &secrets()).map_err(|e| e.0)
    }

    #[test]
    fn handshake_checks() {
        use StatusCode as S;
        assert_eq!(
            status("/devtools/browser/t0k", "127.0.0.1:9", None),
            Ok(Peer::Cdp)
        );
        assert_eq!(
            status("/devtools/browser/t0k", "localhost:9", None),
            Ok(Peer::Cdp)
        );
        assert_eq!(
            status("/devtools/browser/bad", "127.0.0.1:9", None),
            Err(S::UNAUTHORIZED)
        );
        assert_eq!(
            status("/devtools/browser/t0", "127.0.0.1:9", None),
            Err(S::UNAUTHORIZED)
        );
        assert_eq!(status("/", "127.0.0.1:9", None), Err(S::UNAUTHORIZED));
        assert_eq!(
            status("/devtools/browser/t0k", "evil.com:9", None),
            Err(S::FORBIDDEN)
        );
        assert_eq!(
            status("/devtools/browser/t0k", "127.0.0.1:10", None),
            Err(S::FORBIDDEN)
        );
        let evil = Some("https://evil.com");
        assert_eq!(
            status("/devtools/browser/t0k", "127.0.0.1:9", evil),
            Err(S::FORBIDDEN)
        );
        // The CDP token does not open the extension channel, nor the reverse.
        assert_eq!(
            status("/devtools/browser/ch4n", "127.0.0.1:9", None),
            Err(S::UNAUTHORIZED)
        );
        let ext = Some("chrome-extension://abc");
        assert_eq!(
            status("/extension/ch4n", "127.0.0.1:9", ext),
            Ok(Peer::Extension)
        );
        assert_eq!(
            status("/extension/t0k", "127.0.0.1:9", ext),
            Err(S::UNAUTHORIZED)
        );
        assert_eq!(
            status("/extension/", "127.0.0.1:9", ext),
            Err(S::UNAUTHORIZED)
        );
        // Only the extension's own origin, on a loopback Host.
        assert_eq!(
            status("/extension/ch4n", "127.0.0.1:9", None),
            Err(S::FORBIDDEN)
        );
        assert_eq!(
            status("/extension/ch4n", "127.0.0.1:9", evil),
            Err(S::FORBIDDEN)
        );
        let other = Some("chrome-extension://abd");
        assert_eq!(
            status("/extension/ch4n", "127.0.0.1:9", other),
            Err(S::FORBIDDEN)
        );
        assert_eq!(
            status("/extension/ch4n", "evil.com:9", ext),
            Err(S::FORBIDDEN)
        );
    }
}
