//! One page target: its flat CDP session, the out-of-process iframes attached under it, and the
//! state its events build up (console, network, dialogs, navigation, frames, isolated worlds).
//!
//! A pump task owns the event stream and is the only writer of [`TabState`]; tools read the
//! state and wait for it to change through a watch channel. Events the pump does not know are
//! ignored.

use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use serde::Deserialize;
use serde_json::{json, Value};
use tokio::sync::{mpsc, watch};

use super::cdp::{Cdp, CdpError, Event};

mod events;
mod guard;

use events::apply;
use guard::{confirm, fetch_patterns, no_websockets, on_request, on_websocket};
pub use guard::{Blocked, RequestGuard};

/// The small number a session uses to name a tab.
pub type TabId = u32;

/// How many console entries and network requests a tab keeps.
const LOG_CAP: usize = 2000;

/// The name of the isolated world our page scripts run in.
pub const WORLD: &str = "tabwright";

/// One console message or uncaught error.
#[derive(Debug, Clone)]
pub struct ConsoleEntry {
    /// log, info, warning, error, debug, exception …
    pub level: String,
    /// The message text.
    pub text: String,
    /// Where it came from (url:line), when known.
    pub source: Option<String>,
}

/// One network request.
#[derive(Debug, Clone)]
pub struct NetEntry {
    /// CDP request id.
    pub id: String,
    /// HTTP method.
    pub method: String,
    /// Full URL.
    pub url: String,
    /// Resource type (Document, XHR, Fetch, Script …).
    pub kind: String,
    /// HTTP status once the response arrived.
    pub status: Option<i64>,
    /// Failure text, when it failed.
    pub failed: Option<String>,
    /// When it started.
    pub started: Instant,
    /// How long it took, once finished.
    pub duration: Option<Duration>,
    /// Sequence number (monotonic per tab) used by waits.
    pub seq: u64,
}

/// A JavaScript dialog waiting for an answer.
#[derive(Debug, Clone)]
pub struct Dialog {
    /// alert, confirm, prompt or beforeunload.
    pub kind: String,
    /// The dialog's message.
    pub message: String,
    /// The default text of a prompt.
    pub default_prompt: String,
    /// The session (frame) that opened it.
    pub session: Arc<str>,
}

/// Where our isolated world lives for one frame.
#[derive(Debug, Clone)]
pub struct WorldRef {
    /// The flat session that owns the frame.
    pub session: Arc<str>,
    /// The execution context id of our isolated world in that frame.
    pub context: i64,
}

/// A frame's place in the ref scheme.
#[derive(Debug, Clone)]
pub struct FrameInfo {
    /// Ref prefix of the frame: `e` for the main frame, `f1e`, `f2e` … for iframes.
    pub prefix: String,
    /// The parent frame id (None for the main frame).
    pub parent: Option<String>,
    /// The ref of the `<iframe>` element in the parent frame.
    pub owner_ref: Option<String>,
}

/// Everything the pump knows about a tab.
#[derive(Debug, Default)]
pub struct TabState {
    /// The tab is reached through the extension bridge (large answers then cross compressed).
    pub bridged: bool,
    /// Console entries since the last load or clear.
    pub console: VecDeque<ConsoleEntry>,
    /// Network requests since the last load or clear.
    pub network: VecDeque<NetEntry>,
    /// Requests still in flight: request id → sequence number.
    pub inflight: HashMap<String, u64>,
    /// Next network sequence number.
    pub net_seq: u64,
    /// The open dialog, if any.
    pub dialog: Option<Dialog>,
    /// How many dialogs have opened so far.
    pub dialogs_opened: u64,
    /// Counts main-frame navigations requested or started.
    pub navs: u64,
    /// Counts main-frame load events and stopped loads.
    pub loads: u64,
    /// Counts same-document navigations (history API, fragments).
    pub same_doc_navs: u64,
    /// True between a main-frame load start and its stop.
    pub loading: bool,
    /// The main document's last HTTP status and the URL it was for.
    pub doc_status: Option<(String, i64)>,
    /// The main document's last network failure.
    pub doc_error: Option<String>,
    /// Current main-frame URL.
    pub url: String,
    /// Our isolated worlds by frame id.
    pub worlds: HashMap<String, WorldRef>,
    /// Frames by id, with their ref prefix.
    pub frames: HashMap<String, FrameInfo>,
    /// Frame id by ref prefix.
    pub prefixes: HashMap<String, String>,
    /// Child (OOPIF) sessions by session id → frame id.
    pub children: HashMap<String, String>,
    /// Downloads that started.
    pub downloads: Vec<String>,
    /// The renderer crashed.
    pub crashed: bool,
    /// A page call went unanswered (a script that never yields, dialogs one after another):
    /// page reads probe briefly ([`Tab::answers`]) instead of waiting out their limit. A new
    /// document or an answer clears it.
    pub unresponsive: bool,
    /// The target was closed.
    pub closed: bool,
    /// Number of frame prefixes handed out so far.
    pub next_frame: u32,
    /// Drag data intercepted while a drag is in progress.
    pub drag_data: Option<Value>,
    /// Text typed for an open prompt dialog, used when it is accepted.
    pub prompt_text: Option<String>,
    /// Requests the guard stopped (the latest `LOG_CAP`).
    pub blocked: VecDeque<Blocked>,
    /// How many requests the guard stopped so far.
    pub blocked_count: u64,
}

impl TabState {
    /// The HTTP status of the document now shown, when known.
    pub fn status_of_current(&self) -> Option<i64> {
        self.doc_status
            .as_ref()
            .filter(|(u, _)| *u == self.url)
            .map(|(_, s)| *s)
    }
}

/// A page target attached through a flat session.
pub struct Tab {
    /// The session's number for this tab.
    pub id: TabId,
    /// The CDP target id (also the main frame id).
    pub target_id: String,
    /// The flat session id.
    pub session: Arc<str>,
    cdp: Cdp,
    state: Arc<Mutex<TabState>>,
    changed: watch::Sender<u64>,
    guard: Arc<Mutex<Option<RequestGuard>>>,
    /// True once `Fetch.enable` succeeded on the tab's sessions (held while enabling, so a
    /// second caller waits instead of acting on a tab that is not guarded yet).
    enabled: tokio::sync::Mutex<bool>,
    /// Guard probes whose request reached the interception (see [`guard::confirm`]).
    probes: Mutex<HashSet<String>>,
    /// While set, a guarded tab's form posts (documents asked for with a method other than
    /// GET) are stopped: a fill is running (see [`Tab::hold_form_posts`]).
    hold_posts: std::sync::atomic::AtomicBool,
    /// Every WebSocket of the tab is stopped (see [`Tab::block_websockets`]).
    no_websockets: std::sync::atomic::AtomicBool,
}

#[derive(Deserialize)]
struct AttachResult {
    #[serde(rename = "sessionId")]
    session_id: String,
}

impl Tab {
    /// Attaches to `target_id`, enables the domains the tools need and starts the event pump.
    pub async fn attach(
        cdp: Cdp,
        id: TabId,
        target_id: &str,
        script: &str,
    ) -> Result<Arc<Tab>, CdpError> {
        let attached: AttachResult = cdp
            .call(
                None,
                "Target.attachToTarget",
                json!({"targetId": target_id, "flatten": true}),
            )
            .await?;
        Tab::adopt(cdp, id, target_id, &attached.session_id, script, None).await
    }

    /// Takes over a flat session already attached to `target_id` (a page the browser attached
    /// to us as it opened, paused before it ran): enables the domains the tools need, puts it
    /// behind `guard` when one is given (before it sends anything: a popup of a guarded tab),
    /// and lets it run.
    pub async fn adopt(
        cdp: Cdp,
        id: TabId,
        target_id: &str,
        session: &str,
        script: &str,
        guard: Option<RequestGuard>,
    ) -> Result<Arc<Tab>, CdpError> {
        let session: Arc<str> = Arc::from(session);
        let (tx, rx) = mpsc::unbounded_channel();
        cdp.route(&session, tx.clone());
        let mut state = TabState::default();
        state.frames.insert(
            target_id.to_string(),
            FrameInfo {
                prefix: "e".into(),
                parent: None,
                owner_ref: None,
            },
        );
        state.prefixes.insert("e".into(), target_id.to_string());
        let (changed, _) = watch::channel(0u64);
        let tab = Arc::new(Tab {
            id,
            target_id: target_id.to_string(),
            session: session.clone(),
            cdp: cdp.clone(),
            state: Arc::new(Mutex::new(state)),
            changed,
            guard: Arc::new(Mutex::new(None)),
            enabled: tokio::sync::Mutex::new(false),
            probes: Mutex::new(HashSet::new()),
            hold_posts: std::sync::atomic::AtomicBool::new(false),
            no_websockets: std::sync::atomic::AtomicBool::new(false),
        });
        let pump = Pump {
            tab: Arc::downgrade(&tab),
            sink: tx,
            script: Arc::from(script),
        };
        tokio::spawn(pump.run(rx));
        if let Some(g) = guard {
            // Nothing has run yet: interception is on before the first request, no probe needed.
            *lock(&tab.guard) = Some(g);
            let mut enabled = tab.enabled.lock().await;
            cdp.run(Some(&session), "Fetch.enable", fetch_patterns())
                .await?;
            *enabled = true;
        }
        setup_session(&cdp, &session, script, true).await?;
        Ok(tab)
    }

    /// The guard this tab's requests are behind, if any.
    pub fn guard(&self) -> Option<RequestGuard> {
        lock(&self.guard).clone()
    }

    /// Puts every network request of this tab (its frames, out-of-process iframes attached now
    /// or later, redirects, subresources, beacons, form posts) behind `guard`, through CDP
    /// `Fetch` interception; requests it stops fail with `net::ERR_BLOCKED_BY_CLIENT` and are
    /// kept in [`TabState::blocked`]. A later guard replaces the earlier one.
    pub async fn set_guard(&self, guard: RequestGuard) -> Result<(), CdpError> {
        *lock(&self.guard) = Some(guard);
        let mut enabled = self.enabled.lock().await;
        if *enabled {
            return Ok(());
        }
        // Marked guarded only once interception is on everywhere; a failure leaves it off, so
        // the next look tries again and the tool that needed it fails instead of running
        // unguarded.
        let children: Vec<String> = self.state().children.keys().cloned().collect();
        let sessions = std::iter::once(self.session.to_string()).chain(children);
        let sessions: Vec<String> = sessions.collect();
        for s in &sessions {
            self.cdp
                .run(Some(s), "Fetch.enable", fetch_patterns())
                .await?;
        }
        // `Fetch.enable` answers before a document already loaded has its loaders swapped for
        // intercepted ones: a request it makes at once can still slip past. Wait until one
        // does reach the interception.
        for s in &sessions {
            confirm(self, s).await;
        }
        *enabled = true;
        Ok(())
    }

    /// Stops every WebSocket this tab's pages open, its frames' included (`Network`
    /// emulation, which the page cannot undo): for a guarded tab whose connections do not go
    /// through an egress proxy, as CDP `Fetch` interception never sees a WebSocket and the
    /// browser cannot be told "only to these hosts". Each attempt is kept in
    /// [`TabState::blocked`].
    pub async fn block_websockets(&self) -> Result<(), CdpError> {
        self.no_websockets
            .store(true, std::sync::atomic::Ordering::SeqCst);
        let children: Vec<String> = self.state().children.keys().cloned().collect();
        let sessions = std::iter::once(self.session.to_string()).chain(children);
        for s in sessions.collect::<Vec<_>>() {
            self.cdp
                .run(
                    Some(&s),
                    "Network.emulateNetworkConditionsByRule",
                    no_websockets(),
                )
                .await?;
        }
        Ok(())
    }

    /// Whether [`Tab::block_websockets`] is on.
    pub fn websockets_blocked(&self) -> bool {
        self.no_websockets.load(std::sync::atomic::Ordering::SeqCst)
    }

    /// While `on`, a guarded tab stops the form posts its pages make (a document asked for with
    /// POST, PUT …), whatever their host: set around a fill, which must not submit.
    pub fn hold_form_posts(&self, on: bool) {
        self.hold_posts
            .store(on, std::sync::atomic::Ordering::SeqCst);
    }

    /// Whether a guard is on.
    pub fn guarded(&self) -> bool {
        self.enabled.try_lock().is_ok_and(|e| *e)
    }

    /// Whether a guard was asked for (interception may still be being switched on).
    fn guard_wanted(&self) -> bool {
        lock(&self.guard).is_some()
    }

    /// The CDP connection.
    pub fn cdp(&self) -> &Cdp {
        &self.cdp
    }

    /// Locks the state for reading (or for the few writes tools make, like clearing logs).
    pub fn state(&self) -> MutexGuard<'_, TabState> {
        match self.state.lock() {
            Ok(g) => g,
            Err(p) => p.into_inner(),
        }
    }

    /// A receiver that wakes whenever the state changes.
    pub fn watch(&self) -> watch::Receiver<u64> {
        self.changed.subscribe()
    }

    /// Marks the tab closed (its target is gone) and wakes waiters.
    pub fn mark_closed(&self) {
        self.state().closed = true;
        self.changed.send_modify(|v| *v += 1);
    }

    /// Sends a command on the tab's own session.
    pub async fn call<T: serde::de::DeserializeOwned>(
        &self,
        method: &str,
        params: Value,
    ) -> Result<T, CdpError> {
        self.cdp.call(Some(&self.session), method, params).await
    }

    /// Sends a command on the tab's own session with an explicit timeout.
    pub async fn call_with<T: serde::de::DeserializeOwned>(
        &self,
        method: &str,
        params: Value,
        timeout: Duration,
    ) -> Result<T, CdpError> {
        self.cdp
            .call_with(Some(&self.session), method, params, timeout)
            .await
    }

    /// `Page.captureScreenshot` with `params`. A tab behind another in its window may not
    /// paint, and then its screenshot never comes: after `first` it is brought to the front
    /// (as a person would) and captured once more within `retry`. Returns the result and
    /// whether the tab had to be brought to the front.
    pub async fn capture_screenshot(
        &self,
        params: Value,
        first: Duration,
        retry: Duration,
    ) -> Result<(Value, bool), CdpError> {
        match self
            .call_with("Page.captureScreenshot", params.clone(), first)
            .await
        {
            Err(CdpError::Timeout { .. }) => {
                tracing::debug!("tab {} does not paint; bringing it to the front", self.id);
                let _ = self
                    .cdp
                    .call_with::<Value>(
                        None,
                        "Target.activateTarget",
                        json!({"targetId": self.target_id}),
                        Duration::from_secs(2),
                    )
                    .await;
                let v = self
                    .call_with("Page.captureScreenshot", params, retry)
                    .await?;
                Ok((v, true))
            }
            r => r.map(|v| (v, false)),
        }
    }

    /// Whether the page's main thread answers a trivial script within `within` (a slow or
    /// failing answer other than silence counts as an answer); remembered in
    /// [`TabState::unresponsive`].
    pub async fn answers(&self, within: Duration) -> bool {
        let r = self
            .call_with::<Value>(
                "Runtime.evaluate",
                json!({"expression": "0", "returnByValue": true}),
                within,
            )
            .await;
        let ok = !matches!(r, Err(CdpError::Timeout { .. }));
        self.state().unresponsive = !ok;
        ok
    }

    /// Records that a page call went unanswered.
    pub fn mark_unresponsive(&self) {
        self.state().unresponsive = true;
    }

    /// Sends a command on the tab's session, ignoring the result.
    pub async fn run(&self, method: &str, params: Value) -> Result<(), CdpError> {
        self.cdp.run(Some(&self.session), method, params).await
    }

    /// Waits until `pred` holds for the state or `limit` passes; returns whether it held.
    pub async fn wait_for(&self, limit: Duration, mut pred: impl FnMut(&TabState) -> bool) -> bool {
        let deadline = tokio::time::Instant::now() + limit;
        let mut rx = self.watch();
        loop {
            {
                let st = self.state();
                if pred(&st) {
                    return true;
                }
                if st.closed || st.crashed {
                    return false;
                }
            }
            match tokio::time::timeout_at(deadline, rx.changed()).await {
                Ok(Ok(())) => continue,
                _ => return pred(&self.state()),
            }
        }
    }

    /// Forgets intercepted drag data.
    pub fn state_drag_reset(&self) {
        self.state().drag_data = None;
    }

    /// Takes intercepted drag data, if a drag started.
    pub fn take_drag_data(&self) -> Option<Value> {
        self.state().drag_data.take()
    }

    /// Takes intercepted drag data, waiting briefly for it to arrive.
    pub async fn take_drag_data_wait(&self) -> Option<Value> {
        self.wait_for(Duration::from_millis(60), |st| st.drag_data.is_some())
            .await;
        self.take_drag_data()
    }

    /// The ref prefix of a frame, handing out a new one the first time a frame is seen.
    pub fn frame_prefix(
        &self,
        frame_id: &str,
        parent: Option<&str>,
        owner_ref: Option<&str>,
    ) -> String {
        let mut st = self.state();
        if let Some(info) = st.frames.get_mut(frame_id) {
            if owner_ref.is_some() {
                info.owner_ref = owner_ref.map(str::to_string);
                info.parent = parent.map(str::to_string);
            }
            return info.prefix.clone();
        }
        st.next_frame += 1;
        let prefix = format!("f{}e", st.next_frame);
        st.frames.insert(
            frame_id.to_string(),
            FrameInfo {
                prefix: prefix.clone(),
                parent: parent.map(str::to_string),
                owner_ref: owner_ref.map(str::to_string),
            },
        );
        st.prefixes.insert(prefix.clone(), frame_id.to_string());
        prefix
    }

    /// The isolated world of a frame, waiting briefly for it to appear after a navigation.
    pub async fn world(&self, frame_id: &str) -> Option<WorldRef> {
        self.world_within(frame_id, Duration::from_secs(5)).await
    }

    /// The isolated world of a frame, waiting at most `limit` for it to appear.
    pub async fn world_within(&self, frame_id: &str, limit: Duration) -> Option<WorldRef> {
        let mut found = None;
        self.wait_for(limit, |st| {
            found = st.worlds.get(frame_id).cloned();
            found.is_some()
        })
        .await;
        found
    }
}

/// Enables what the tools need on a page or OOPIF session, then lets it run.
async fn setup_session(
    cdp: &Cdp,
    session: &str,
    script: &str,
    is_page: bool,
) -> Result<(), CdpError> {
    let s = Some(session);
    let auto_attach = json!({"autoAttach": true, "waitForDebuggerOnStart": true, "flatten": true});
    let world = json!({"source": script, "worldName": WORLD, "runImmediately": true});
    // Sent in this order and answered in any: a target waiting for us (a popup in a new
    // process) has no renderer to answer the page domains until it is let run, so the
    // `runIfWaitingForDebugger` at the end must not wait for their answers (it is answered
    // after them on the wire order, and the browser has the world script before the page's
    // first document). Every tab behaves as if focused, so parallel sessions do not steal
    // focus from each other; failures there only cost fidelity.
    let focus = async {
        if is_page {
            let _ = cdp
                .run(
                    s,
                    "Emulation.setFocusEmulationEnabled",
                    json!({"enabled": true}),
                )
                .await;
        }
    };
    let timers = json!({"source": super::TIMERS_SCRIPT, "runImmediately": true});
    let (a, b, c, d, e, (), f, (), _) = tokio::join!(
        cdp.run(s, "Page.enable", json!({})),
        cdp.run(s, "Runtime.enable", json!({})),
        cdp.run(s, "Network.enable", json!({"maxPostDataSize": 0})),
        cdp.run(s, "Log.enable", json!({})),
        cdp.run(s, "Page.addScriptToEvaluateOnNewDocument", world),
        // Only fidelity is lost when the timer watch cannot be installed.
        async {
            let _ = cdp
                .run(s, "Page.addScriptToEvaluateOnNewDocument", timers)
                .await;
        },
        cdp.run(s, "Target.setAutoAttach", auto_attach),
        focus,
        // Always let the target run, even when a domain failed to enable: a paused frame
        // would otherwise hang the page.
        cdp.run(s, "Runtime.runIfWaitingForDebugger", json!({})),
    );
    a.and(b).and(c).and(d).and(e).and(f)
}

struct Pump {
    tab: std::sync::Weak<Tab>,
    sink: mpsc::UnboundedSender<Event>,
    script: Arc<str>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct AttachedToTarget {
    session_id: String,
    target_info: TargetInfoLite,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct TargetInfoLite {
    target_id: String,
    #[serde(rename = "type")]
    kind: String,
}

impl Pump {
    async fn run(self, mut rx: mpsc::UnboundedReceiver<Event>) {
        while let Some(ev) = rx.recv().await {
            let Some(tab) = self.tab.upgrade() else { break };
            if ev.method == "Target.attachedToTarget" {
                self.on_attached(&tab, &ev);
                continue;
            }
            if ev.method == "Fetch.requestPaused" {
                on_request(&tab, &ev);
                continue;
            }
            if ev.method == "Network.webSocketCreated" && tab.websockets_blocked() {
                on_websocket(&tab, &ev);
            }
            let changed = {
                let mut st = tab.state();
                apply(&mut st, &tab.target_id, &tab.session, &ev)
            };
            if changed {
                tab.changed.send_modify(|v| *v += 1);
            }
        }
        // The stream ended: the connection is gone or the session was detached.
        if let Some(tab) = self.tab.upgrade() {
            tab.mark_closed();
        }
    }

    fn on_attached(&self, tab: &Arc<Tab>, ev: &Event) {
        let Some(a) = ev.parse::<AttachedToTarget>() else {
            return;
        };
        let cdp = tab.cdp.clone();
        if a.target_info.kind == "iframe" {
            cdp.route(&a.session_id, self.sink.clone());
            tab.state()
                .children
                .insert(a.session_id.clone(), a.target_info.target_id.clone());
            let script = self.script.clone();
            let guarded = tab.guard_wanted();
            let no_ws = tab.websockets_blocked();
            tokio::spawn(async move {
                // A guarded tab's iframe is guarded before it runs.
                if guarded {
                    let _ = cdp
                        .run(Some(&a.session_id), "Fetch.enable", fetch_patterns())
                        .await;
                }
                if no_ws {
                    let _ = cdp
                        .run(
                            Some(&a.session_id),
                            "Network.emulateNetworkConditionsByRule",
                            no_websockets(),
                        )
                        .await;
                }
                if let Err(e) = setup_session(&cdp, &a.session_id, &script, false).await {
                    tracing::debug!("setting up iframe session failed: {e}");
                }
            });
        } else {
            // Workers and the like: let them run; we do not drive them.
            tokio::spawn(async move {
                let s = Some(a.session_id.as_str());
                let _ = cdp
                    .run(s, "Runtime.runIfWaitingForDebugger", json!({}))
                    .await;
                let _ = cdp
                    .run(
                        None,
                        "Target.detachFromTarget",
                        json!({"sessionId": a.session_id}),
                    )
                    .await;
            });
        }
    }
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    match m.lock() {
        Ok(g) => g,
        Err(p) => p.into_inner(),
    }
}
