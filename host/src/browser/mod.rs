//! The browser layer: one CDP connection to one browser, chosen at start-up.
//!
//! Backends: `launch` (start a local Chromium, headless by default) and `connect` (a running
//! browser's ws:// or http:// DevTools endpoint). Tools never see which one is in use. This
//! module owns the connection, the table of page targets and the tab objects; when the browser
//! dies, the next caller is told so and a `launch` backend is started again.
//!
//! In a browser the host launched, a guarded session's tabs live in a browser context of their
//! own whose every connection goes through the session's [`crate::egress`] proxy, which holds
//! what CDP `Fetch` interception does not see (WebSockets above all) to the same guard.
//!
//! May use: [`crate::bridge`] (the runtime files that say where the extension's relay is),
//! [`crate::egress`] (the proxy a launched browser's connections go through).

pub mod cdp;
pub mod extension;
pub mod input;
pub mod launch;
pub mod session;
pub mod settle;
pub mod tab;
pub mod webdriver;

use std::collections::HashMap;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde::Deserialize;
use serde_json::json;
use tokio::sync::mpsc;

use cdp::Event;
pub use cdp::{Cdp, CdpError};
pub use extension::ExtensionOptions;
pub use launch::LaunchOptions;
pub use session::Session;
pub use tab::{Blocked, RequestGuard, Tab, TabId};
pub use webdriver::WebDriverOptions;

/// The page script installed in every frame's isolated world (the outline walker).
pub const PAGE_SCRIPT: &str = include_str!("../outline/walker.js");

/// The script installed in every frame's main world: the timer watch the settle wait asks
/// (`timers.js`).
pub const TIMERS_SCRIPT: &str = include_str!("timers.js");

/// Which browser to drive.
#[derive(Debug, Clone)]
pub enum Backend {
    /// Start a local Chromium.
    Launch(LaunchOptions),
    /// Connect to a running browser's DevTools endpoint (ws:// or http://).
    Connect(String),
    /// A person's browser through the Tabwright extension's relay.
    Extension(ExtensionOptions),
    /// A browser of a new session on a W3C WebDriver endpoint (chromedriver, Selenium Grid),
    /// driven over CDP; the session ends when the browser is shut down.
    WebDriver(WebDriverOptions),
}

impl Backend {
    /// A short description for `tabs_context`.
    pub fn describe(&self) -> String {
        match self {
            Backend::Launch(o) if o.headed => "launch (headed Chromium, fresh profile)".into(),
            Backend::Launch(_) => "launch (headless Chromium, fresh profile)".into(),
            Backend::Connect(u) => format!("connect ({u})"),
            Backend::Extension(_) => "extension (your browser, Tabwright tab group)".into(),
            Backend::WebDriver(o) => format!("webdriver ({})", o.endpoint),
        }
    }
}

/// What the host knows about one page target.
#[derive(Debug, Clone)]
pub struct TargetEntry {
    /// Our tab number.
    pub tab_id: TabId,
    /// CDP target id.
    pub target_id: String,
    /// Last known URL.
    pub url: String,
    /// Last known title.
    pub title: String,
    /// The target that opened it, if any (also a tab a link opened by a middle or
    /// modifier click, which the browser reports without an opener: see [`requested_tab`]).
    pub opener: Option<String>,
    /// When the host first heard of it.
    pub seen: std::time::Instant,
}

/// A page asked for a new tab (a link opened by middle click, ctrl/shift/meta+click): the
/// browser opens it with no opener, so the tab that asked is remembered here for a while and
/// the new target matched to it by URL.
struct TabRequest {
    opener: String,
    url: String,
    at: std::time::Instant,
}

static TAB_REQUESTS: Mutex<Vec<TabRequest>> = Mutex::new(Vec::new());

/// How long a request waits for its tab.
const TAB_REQUEST_TTL: Duration = Duration::from_secs(10);

/// Notes that the page in target `opener` asked to open `url` in a new tab or window.
pub(crate) fn requested_tab(opener: &str, url: &str) {
    let mut r = TAB_REQUESTS.lock().unwrap_or_else(|p| p.into_inner());
    r.retain(|q| q.at.elapsed() < TAB_REQUEST_TTL);
    r.push(TabRequest {
        opener: opener.to_string(),
        url: url.to_string(),
        at: std::time::Instant::now(),
    });
}

/// Whether the page in target `opener` asked for a tab that has not shown up yet.
pub(crate) fn tab_requests_pending(opener: &str) -> bool {
    TAB_REQUESTS
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .iter()
        .any(|q| q.opener == opener && q.at.elapsed() < TAB_REQUEST_TTL)
}

/// Drops the requests of target `opener` that found no tab.
pub(crate) fn forget_tab_requests(opener: &str) {
    TAB_REQUESTS
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .retain(|q| q.opener != opener);
}

fn without_fragment(u: &str) -> &str {
    u.split('#').next().unwrap_or(u)
}

/// Gives opener-less targets that answer a [`requested_tab`] their opener.
fn match_requests(
    t: &mut HashMap<String, TargetEntry>,
    created: &std::collections::HashSet<String>,
) {
    let mut r = TAB_REQUESTS.lock().unwrap_or_else(|p| p.into_inner());
    if r.is_empty() {
        return;
    }
    r.retain(|q| q.at.elapsed() < TAB_REQUEST_TTL);
    let mut i = 0;
    while i < r.len() {
        let q = &r[i];
        let found = t
            .values_mut()
            .filter(|e| {
                e.opener.is_none()
                    && !created.contains(&e.target_id)
                    && e.target_id != q.opener
                    // Seen after the request (with slack for events processed out of order).
                    && e.seen + Duration::from_secs(2) >= q.at
                    && without_fragment(&e.url) == without_fragment(&q.url)
            })
            .min_by_key(|e| e.tab_id);
        match found {
            Some(e) => {
                e.opener = Some(q.opener.clone());
                r.remove(i);
            }
            None => i += 1,
        }
    }
}

/// A live connection and what belongs to it.
pub struct Live {
    /// The CDP connection.
    pub cdp: Cdp,
    /// Browser product string, e.g. `Chrome/156.0…`.
    pub product: String,
    /// Through the extension: which connected browser this is.
    pub via_extension: Option<crate::bridge::runtime::BrowserIdent>,
    launched: Option<launch::Launched>,
    /// The WebDriver session the browser belongs to, ended with it.
    webdriver: Option<webdriver::WebDriverSession>,
    /// Open each new tab in a window of its own: a headless browser paints only the front tab
    /// of a window, so tabs sharing one window could not be captured side by side. `None`
    /// (extension backend): the extension decides, as only it sees the person's windows.
    own_windows: Option<bool>,
    /// Whether sessions may open their tabs in browser contexts of their own (a browser the
    /// host launched: nothing of the person's is in it to lose).
    contexts: bool,
    targets: Arc<Mutex<HashMap<String, TargetEntry>>>,
    tabs: Arc<tokio::sync::Mutex<HashMap<String, Arc<Tab>>>>,
    next_tab: Arc<AtomicU32>,
    /// Targets this host created (`Target.createTarget`): in a browser it did not launch, the
    /// only ones it may close when it ends.
    created: Mutex<std::collections::HashSet<String>>,
}

/// The browser, possibly not started yet.
pub struct Browser {
    backend: Backend,
    live: tokio::sync::Mutex<Option<Arc<Live>>>,
    /// Extension backend: connections to browsers a session chose by id.
    chosen: tokio::sync::Mutex<HashMap<String, Arc<Live>>>,
    next_tab: Arc<AtomicU32>,
    /// Restarts/reconnects so far and the last report (see [`Browser::last_change`]).
    change: Mutex<(u64, Option<BrowserError>)>,
}

/// Failures of the browser layer, worded for the model.
#[derive(Debug, Clone, thiserror::Error)]
pub enum BrowserError {
    /// Could not start or reach the browser.
    #[error("cannot start the browser: {0}")]
    Start(String),
    /// The browser died since the last call; a new one was started.
    #[error("the browser had exited ({0}); a new browser was started and the old tabs are gone: navigate again")]
    Restarted(String),
    /// The connected browser is gone and cannot be restarted by us.
    #[error("the connected browser is gone ({0}); start it again, then retry")]
    Gone(String),
    /// The extension's connection dropped and was made again (the tabs live on, their ids
    /// changed).
    #[error("the connection to the browser's Tabwright extension was lost ({0}) and has been made again; tab ids changed: call tabs_context, then retry")]
    Reconnected(String),
    /// A CDP call failed.
    #[error("{0}")]
    Cdp(#[from] CdpError),
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct TargetInfo {
    target_id: String,
    #[serde(rename = "type")]
    kind: String,
    #[serde(default)]
    url: String,
    #[serde(default)]
    title: String,
    #[serde(default)]
    opener_id: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct TargetEvent {
    #[serde(default)]
    target_info: Option<TargetInfo>,
    #[serde(default)]
    target_id: Option<String>,
}

impl Browser {
    /// A browser that starts on first use.
    pub fn new(backend: Backend) -> Arc<Browser> {
        Arc::new(Browser {
            backend,
            live: tokio::sync::Mutex::new(None),
            chosen: tokio::sync::Mutex::new(HashMap::new()),
            next_tab: Arc::new(AtomicU32::new(1)),
            change: Mutex::new((0, None)),
        })
    }

    /// How many times the browser was restarted or reconnected, and the last such report.
    /// Sessions compare it with what they saw, so every session hears of a change once, not
    /// only the one whose call noticed it.
    pub fn last_change(&self) -> (u64, Option<BrowserError>) {
        match self.change.lock() {
            Ok(g) => g.clone(),
            Err(p) => p.into_inner().clone(),
        }
    }

    fn note_change(&self, r: Result<Arc<Live>, BrowserError>) -> Result<Arc<Live>, BrowserError> {
        if let Err(e @ (BrowserError::Restarted(_) | BrowserError::Reconnected(_))) = &r {
            let mut g = match self.change.lock() {
                Ok(g) => g,
                Err(p) => p.into_inner(),
            };
            *g = (g.0 + 1, Some(e.clone()));
        }
        r
    }

    /// The backend in use.
    pub fn backend(&self) -> &Backend {
        &self.backend
    }

    /// The live connection, starting the browser if needed. When a previously live browser
    /// died, this starts a new one (launch backend) and reports [`BrowserError::Restarted`] once.
    pub async fn live(&self) -> Result<Arc<Live>, BrowserError> {
        let r = self.live_inner().await;
        self.note_change(r)
    }

    async fn live_inner(&self) -> Result<Arc<Live>, BrowserError> {
        let mut guard = self.live.lock().await;
        if let Some(live) = guard.as_ref() {
            if !live.cdp.is_closed() {
                return Ok(live.clone());
            }
            let reason = live.cdp.close_reason();
            *guard = None;
            if let Backend::Extension(_) = self.backend {
                // The extension reconnects by itself (a new host, a new relay): follow it.
                return match self.start().await {
                    Ok(live) => {
                        *guard = Some(live);
                        Err(BrowserError::Reconnected(reason))
                    }
                    Err(e) => Err(BrowserError::Gone(format!("{reason}; {e}"))),
                };
            }
            if let Backend::Connect(_) = self.backend {
                // Try to reconnect once; the person may have restarted it.
                if let Ok(live) = self.start().await {
                    *guard = Some(live);
                    return Err(BrowserError::Restarted(reason));
                }
                return Err(BrowserError::Gone(reason));
            }
            let live = self.start().await?;
            *guard = Some(live);
            return Err(BrowserError::Restarted(reason));
        }
        let live = self.start().await?;
        *guard = Some(live.clone());
        Ok(live)
    }

    /// The live connection to the browser a session chose (extension backend: a browser id
    /// from `switch_browser`); `None` or another backend is [`Browser::live`].
    pub async fn live_for(&self, choice: Option<&str>) -> Result<Arc<Live>, BrowserError> {
        let Some(choice) = choice.filter(|_| matches!(self.backend, Backend::Extension(_))) else {
            return self.live().await;
        };
        let r = self.live_chosen(choice).await;
        self.note_change(r)
    }

    async fn live_chosen(&self, choice: &str) -> Result<Arc<Live>, BrowserError> {
        let mut map = self.chosen.lock().await;
        if let Some(live) = map.get(choice) {
            if !live.cdp.is_closed() {
                return Ok(live.clone());
            }
            let reason = live.cdp.close_reason();
            map.remove(choice);
            return match self.start_for(Some(choice)).await {
                Ok(live) => {
                    map.insert(choice.to_string(), live);
                    Err(BrowserError::Reconnected(reason))
                }
                Err(e) => Err(BrowserError::Gone(format!("{reason}; {e}"))),
            };
        }
        let live = self.start_for(Some(choice)).await?;
        map.insert(choice.to_string(), live.clone());
        Ok(live)
    }

    /// True once a browser has been started and is still connected.
    pub async fn is_running(&self) -> bool {
        self.live
            .lock()
            .await
            .as_ref()
            .is_some_and(|l| !l.cdp.is_closed())
    }

    /// The launched browser's process id, if we launched it.
    pub async fn pid(&self) -> Option<u32> {
        self.live
            .lock()
            .await
            .as_ref()
            .and_then(|l| l.launched.as_ref().and_then(|p| p.pid()))
    }

    /// Ends what this host started: a launched browser is closed (its process tree ended and
    /// its profile removed); in a browser it connected to, only the tabs it opened (and the
    /// tabs those opened) are closed — the person's browser and their tabs stay. Through the
    /// extension, `Browser.close` only ends the relay connection.
    pub async fn shutdown(&self) {
        if let Some(live) = self.live.lock().await.take() {
            live.end().await;
        }
        for (_, live) in self.chosen.lock().await.drain() {
            live.end().await;
        }
    }

    async fn start(&self) -> Result<Arc<Live>, BrowserError> {
        self.start_for(None).await
    }

    async fn start_for(&self, choice: Option<&str>) -> Result<Arc<Live>, BrowserError> {
        let mut via_extension = None;
        let mut wd = None;
        let (ws_url, launched) = match &self.backend {
            Backend::Launch(opts) => {
                let l = launch::launch(opts).await.map_err(BrowserError::Start)?;
                (l.ws_url.clone(), Some(l))
            }
            Backend::Connect(url) => (
                launch::resolve_endpoint(url)
                    .await
                    .map_err(BrowserError::Start)?,
                None,
            ),
            Backend::Extension(opts) => {
                let info = extension::resolve(opts, choice)
                    .await
                    .map_err(BrowserError::Start)?;
                via_extension = Some(info.browser.clone());
                (info.url, None)
            }
            Backend::WebDriver(opts) => {
                let session = webdriver::WebDriverSession::create(opts)
                    .await
                    .map_err(BrowserError::Start)?;
                let url = match launch::resolve_endpoint(&session.cdp_url).await {
                    Ok(u) => u,
                    Err(e) => {
                        session.end().await;
                        return Err(BrowserError::Start(e));
                    }
                };
                wd = Some(session);
                (url, None)
            }
        };
        let cdp = match Cdp::connect(&ws_url).await {
            Ok(c) => c,
            Err(e) => {
                if let Some(s) = &wd {
                    s.end().await;
                }
                return Err(BrowserError::Start(e.to_string()));
            }
        };
        let version: serde_json::Value = cdp.call(None, "Browser.getVersion", json!({})).await?;
        let product = version
            .get("product")
            .and_then(|p| p.as_str())
            .unwrap_or("unknown")
            .to_string();
        // Through the extension, say which of the person's browsers this is.
        let product = match &via_extension {
            Some(b) => format!("{product} ({}, browser id {})", b.name, b.id),
            None => product,
        };
        let targets = Arc::new(Mutex::new(HashMap::new()));
        let (tx, mut rx) = mpsc::unbounded_channel();
        cdp.route("", tx);
        let table = targets.clone();
        let next_tab = self.next_tab.clone();
        let pump_cdp = cdp.clone();
        let attached_tabs: Arc<tokio::sync::Mutex<HashMap<String, Arc<Tab>>>> = Arc::default();
        let pump_tabs = attached_tabs.clone();
        let adopt_tabs = attached_tabs.clone();
        let adopt_table = targets.clone();
        tokio::spawn(async move {
            while let Some(ev) = rx.recv().await {
                if ev.method == "Target.attachedToTarget" {
                    // The tabs lock is taken here, in event order, so a caller asking for the
                    // tab meanwhile waits for it instead of attaching a second time.
                    let tabs = adopt_tabs.clone().lock_owned().await;
                    let (cdp, table, next) =
                        (pump_cdp.clone(), adopt_table.clone(), next_tab.clone());
                    tokio::spawn(adopt(cdp, ev, tabs, table, next));
                    continue;
                }
                let Some(te) = ev.parse::<TargetEvent>() else {
                    continue;
                };
                let Ok(mut t) = table.lock() else { break };
                match ev.method.as_str() {
                    "Target.targetCreated" | "Target.targetInfoChanged" => {
                        if let Some(info) = te.target_info.filter(|i| i.kind == "page") {
                            upsert(&mut t, info, &next_tab);
                        }
                    }
                    "Target.targetDestroyed" => {
                        if let Some(id) = te.target_id {
                            t.remove(&id);
                        }
                    }
                    "Target.detachedFromTarget" => {
                        // Ending the session's event stream marks its tab closed at once, so
                        // nothing waits on a tab that is gone.
                        if let Some(s) = ev.parse::<serde_json::Value>().and_then(|v| {
                            v.get("sessionId")
                                .and_then(|s| s.as_str())
                                .map(str::to_string)
                        }) {
                            pump_cdp.unroute(&s);
                            // A detach without the target going away (the extension's
                            // debugger was taken off the tab): the tab object is stale, so
                            // the next call attaches again.
                            let tabs = pump_tabs.clone();
                            tokio::spawn(async move {
                                let stale: Vec<Arc<Tab>> = tabs
                                    .lock()
                                    .await
                                    .values()
                                    .filter(|t| *t.session == *s)
                                    .cloned()
                                    .collect();
                                for t in stale {
                                    t.mark_closed();
                                }
                            });
                        }
                    }
                    _ => {}
                }
            }
        });
        // Pages opened from now on are attached to us paused, before they send anything: a
        // popup of a guarded tab is guarded before its first request (see `adopt`). Through
        // the extension there is no browser-wide attach; its popups are guarded on adoption.
        if via_extension.is_none() {
            cdp.run(
                None,
                "Target.setAutoAttach",
                json!({"autoAttach": true, "waitForDebuggerOnStart": true, "flatten": true}),
            )
            .await?;
        }
        // Discovery reports every existing target as targetCreated, then keeps the table fresh.
        cdp.run(None, "Target.setDiscoverTargets", json!({"discover": true}))
            .await?;
        let list: serde_json::Value = cdp.call(None, "Target.getTargets", json!({})).await?;
        if let Some(infos) = list.get("targetInfos").and_then(|t| t.as_array()) {
            if let Ok(mut t) = targets.lock() {
                for info in infos {
                    if let Ok(info) = serde_json::from_value::<TargetInfo>(info.clone()) {
                        if info.kind == "page" {
                            upsert(&mut t, info, &self.next_tab);
                        }
                    }
                }
            }
        }
        let own_windows = match &self.backend {
            Backend::Launch(o) => Some(!o.headed),
            Backend::WebDriver(o) => Some(!o.headed),
            Backend::Connect(_) => Some(false),
            Backend::Extension(_) => None,
        };
        Ok(Arc::new(Live {
            cdp,
            product,
            via_extension,
            own_windows,
            contexts: matches!(self.backend, Backend::Launch(_) | Backend::WebDriver(_)),
            launched,
            webdriver: wd,
            targets,
            tabs: attached_tabs,
            next_tab: self.next_tab.clone(),
            created: Mutex::default(),
        }))
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct AutoAttached {
    session_id: String,
    target_info: TargetInfo,
    #[serde(default)]
    waiting_for_debugger: bool,
}

/// A target the browser attached to us (see `Target.setAutoAttach` in `Browser::live`): a
/// page that is opening becomes a tab at once, behind its opener's guard when the opener has
/// one, and then runs; anything else (a page that was already open, a worker) is let go.
async fn adopt(
    cdp: Cdp,
    ev: Event,
    mut tabs: tokio::sync::OwnedMutexGuard<HashMap<String, Arc<Tab>>>,
    table: Arc<Mutex<HashMap<String, TargetEntry>>>,
    next_tab: Arc<AtomicU32>,
) {
    let Some(a) = ev.parse::<AutoAttached>() else {
        return;
    };
    let let_go = |cdp: Cdp, session: String, waiting: bool| async move {
        if waiting {
            let _ = cdp
                .run(Some(&session), "Runtime.runIfWaitingForDebugger", json!({}))
                .await;
        }
        let _ = cdp
            .run(
                None,
                "Target.detachFromTarget",
                json!({"sessionId": session}),
            )
            .await;
    };
    if tabs.values().any(|t| *t.session == *a.session_id) {
        // Our own `Target.attachToTarget` (see `Live::tab`) is announced the same way.
        return;
    }
    let info = a.target_info;
    let known = tabs.get(&info.target_id).is_some_and(|t| !t.state().closed);
    if info.kind != "page" || !a.waiting_for_debugger || known {
        drop(tabs);
        let_go(cdp, a.session_id, a.waiting_for_debugger).await;
        return;
    }
    let guard = info
        .opener_id
        .as_ref()
        .and_then(|o| tabs.get(o))
        .and_then(|t| t.guard());
    let target_id = info.target_id.clone();
    let id = match table.lock() {
        Ok(mut t) => {
            if !t.contains_key(&target_id) {
                upsert(&mut t, info, &next_tab);
            }
            t.get(&target_id).map(|e| e.tab_id)
        }
        Err(_) => None,
    };
    let Some(id) = id else {
        drop(tabs);
        let_go(cdp, a.session_id, true).await;
        return;
    };
    match Tab::adopt(
        cdp.clone(),
        id,
        &target_id,
        &a.session_id,
        PAGE_SCRIPT,
        guard,
    )
    .await
    {
        Ok(tab) => {
            tabs.insert(target_id, tab);
        }
        Err(e) => {
            tracing::debug!("taking over a new page failed: {e}");
            drop(tabs);
            let_go(cdp, a.session_id, true).await;
        }
    }
}

fn upsert(t: &mut HashMap<String, TargetEntry>, info: TargetInfo, next_tab: &AtomicU32) {
    match t.get_mut(&info.target_id) {
        Some(e) => {
            e.url = info.url;
            e.title = info.title;
        }
        None => {
            let tab_id = next_tab.fetch_add(1, Ordering::Relaxed);
            t.insert(
                info.target_id.clone(),
                TargetEntry {
                    tab_id,
                    target_id: info.target_id,
                    url: info.url,
                    title: info.title,
                    opener: info.opener_id,
                    seen: std::time::Instant::now(),
                },
            );
        }
    }
}

impl Live {
    /// A snapshot of the page targets, in tab-id order.
    pub fn targets(&self) -> Vec<TargetEntry> {
        let created = self.created.lock().map(|c| c.clone()).unwrap_or_default();
        let mut v: Vec<TargetEntry> = self
            .targets
            .lock()
            .map(|mut t| {
                match_requests(&mut t, &created);
                t.values().cloned().collect()
            })
            .unwrap_or_default();
        v.sort_by_key(|e| e.tab_id);
        v
    }

    /// Asks the browser for current titles and URLs (discovery events can lag a moment).
    pub async fn refresh_targets(&self) {
        if let Ok(list) = self
            .cdp
            .call::<serde_json::Value>(None, "Target.getTargets", json!({}))
            .await
        {
            if let (Some(infos), Ok(mut t)) = (
                list.get("targetInfos").and_then(|t| t.as_array()),
                self.targets.lock(),
            ) {
                for info in infos {
                    if let Ok(info) = serde_json::from_value::<TargetInfo>(info.clone()) {
                        if info.kind == "page" {
                            upsert(&mut t, info, &self.next_tab);
                        }
                    }
                }
            }
        }
    }

    /// The target entry of a tab id.
    pub fn target_of(&self, tab: TabId) -> Option<TargetEntry> {
        self.targets
            .lock()
            .ok()?
            .values()
            .find(|e| e.tab_id == tab)
            .cloned()
    }

    /// Opens a new page target and returns its tab id.
    pub async fn create_target(&self, url: &str) -> Result<TabId, BrowserError> {
        self.create_target_in(url, None).await
    }

    /// Whether [`Live::create_context`] may be used: a browser the host launched.
    pub fn has_contexts(&self) -> bool {
        self.contexts
    }

    /// Creates a browser context (its own cookies and storage, gone when the connection
    /// closes); with `proxy` (`http://127.0.0.1:PORT`), every connection of its pages,
    /// loopback included, goes through that HTTP proxy. Returns its id for
    /// [`Live::create_target_in`].
    pub async fn create_context(&self, proxy: Option<&str>) -> Result<String, BrowserError> {
        #[derive(Deserialize)]
        #[serde(rename_all = "camelCase")]
        struct Created {
            browser_context_id: String,
        }
        let params = match proxy {
            Some(p) => json!({
                "disposeOnDetach": true,
                "proxyServer": p,
                "proxyBypassList": "<-loopback>",
            }),
            None => json!({"disposeOnDetach": true}),
        };
        let c: Created = self
            .cdp
            .call(None, "Target.createBrowserContext", params)
            .await?;
        Ok(c.browser_context_id)
    }

    /// Closes browser context `id` and every tab in it.
    pub async fn dispose_context(&self, id: &str) -> Result<(), BrowserError> {
        self.cdp
            .run(
                None,
                "Target.disposeBrowserContext",
                json!({"browserContextId": id}),
            )
            .await?;
        Ok(())
    }

    /// Opens a page target at `url`, in browser context `context` when given.
    pub async fn create_target_in(
        &self,
        url: &str,
        context: Option<&str>,
    ) -> Result<TabId, BrowserError> {
        #[derive(Deserialize)]
        #[serde(rename_all = "camelCase")]
        struct Created {
            target_id: String,
        }
        let mut params = match self.own_windows {
            Some(own) => json!({"url": url, "newWindow": own}),
            None => json!({"url": url}),
        };
        if let Some(ctx) = context {
            params["browserContextId"] = json!(ctx);
        }
        let c: Created = self.cdp.call(None, "Target.createTarget", params).await?;
        if let Ok(mut created) = self.created.lock() {
            created.insert(c.target_id.clone());
        }
        // The discovery event may still be on its way; make sure the table has it.
        let mut t = self
            .targets
            .lock()
            .map_err(|_| BrowserError::Start("target table lock".into()))?;
        if !t.contains_key(&c.target_id) {
            upsert(
                &mut t,
                TargetInfo {
                    target_id: c.target_id.clone(),
                    kind: "page".into(),
                    url: url.into(),
                    title: String::new(),
                    opener_id: None,
                },
                &self.next_tab,
            );
        }
        Ok(t.get(&c.target_id).map(|e| e.tab_id).unwrap_or(0))
    }

    /// The attached tab object for a tab id, attaching on first use.
    pub async fn tab(&self, id: TabId) -> Result<Option<Arc<Tab>>, BrowserError> {
        let Some(entry) = self.target_of(id) else {
            return Ok(None);
        };
        let mut tabs = self.tabs.lock().await;
        if let Some(tab) = tabs.get(&entry.target_id) {
            if !tab.state().closed {
                return Ok(Some(tab.clone()));
            }
        }
        let tab = match Tab::attach(self.cdp.clone(), id, &entry.target_id, PAGE_SCRIPT).await {
            Ok(t) => t,
            // Closed between the table's last update and now.
            Err(CdpError::Protocol { message, .. })
                if message.contains("No target with given id") =>
            {
                if let Ok(mut t) = self.targets.lock() {
                    t.remove(&entry.target_id);
                }
                return Ok(None);
            }
            Err(e) => return Err(e.into()),
        };
        if self.via_extension.is_some() {
            tab.state().bridged = true;
        }
        tabs.insert(entry.target_id.clone(), tab.clone());
        Ok(Some(tab))
    }

    /// Ends this connection's part: see [`Browser::shutdown`].
    async fn end(&self) {
        if let Some(s) = &self.webdriver {
            // Ending the session closes its browser (and a grid frees the node).
            s.end().await;
            return;
        }
        if let Some(l) = &self.launched {
            let _ = self.cdp.run(None, "Browser.close", json!({})).await;
            l.finish(Duration::from_secs(2)).await;
            return;
        }
        if self.via_extension.is_some() {
            let _ = self.cdp.run(None, "Browser.close", json!({})).await;
            return;
        }
        // A browser we connected to: close what we opened, and what those tabs opened.
        let ours: Vec<String> = {
            let created = self.created.lock().map(|c| c.clone()).unwrap_or_default();
            let table = self.targets.lock().map(|t| t.clone()).unwrap_or_default();
            table
                .values()
                .filter(|e| {
                    let mut id = Some(e.target_id.clone());
                    // Follow the opener chain (bounded: a cycle cannot loop forever).
                    for _ in 0..32 {
                        let Some(i) = id else { return false };
                        if created.contains(&i) {
                            return true;
                        }
                        id = table.get(&i).and_then(|t| t.opener.clone());
                    }
                    false
                })
                .map(|e| e.target_id.clone())
                .collect()
        };
        for id in &ours {
            let _ = self
                .cdp
                .run(None, "Target.closeTarget", json!({"targetId": id}))
                .await;
        }
        // closeTarget answers before the page is gone; wait (bounded) for the browser to
        // report each one destroyed, so the command ends with its tabs really closed.
        let deadline = tokio::time::Instant::now() + Duration::from_secs(2);
        while tokio::time::Instant::now() < deadline {
            let left = self
                .targets
                .lock()
                .map(|t| ours.iter().any(|id| t.contains_key(id)))
                .unwrap_or(false);
            if !left || self.cdp.is_closed() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }

    /// Closes a tab's target.
    pub async fn close_target(&self, target_id: &str) -> Result<(), BrowserError> {
        self.cdp
            .run(None, "Target.closeTarget", json!({"targetId": target_id}))
            .await?;
        if let Ok(mut t) = self.targets.lock() {
            t.remove(target_id);
        }
        if let Some(tab) = self.tabs.lock().await.remove(target_id) {
            tab.mark_closed();
        }
        Ok(())
    }
}
