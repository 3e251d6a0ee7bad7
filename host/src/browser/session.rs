//! A session: one client's view of the browser (its tabs and which one is active).
//!
//! The agent loop, each MCP client and the replay engine each get their own session over the
//! shared [`Browser`]. Tabs opened by a session's tabs (popups, `target=_blank`) join the session.

use std::any::{Any, TypeId};
use std::collections::{HashMap, HashSet};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use super::tab::RequestGuard;
use super::{Browser, BrowserError, Live, Tab, TabId, TargetEntry};
use crate::egress::{self, Egress};

#[derive(Default)]
struct Tabs {
    list: Vec<TabId>,
    active: Option<TabId>,
}

/// One client's tabs over a shared browser.
pub struct Session {
    /// The browser.
    pub browser: Arc<Browser>,
    /// The folder file paths are confined to (uploads and the like).
    pub workspace: PathBuf,
    tabs: Mutex<Tabs>,
    images: Mutex<std::collections::VecDeque<(String, Vec<u8>)>>,
    next_image: std::sync::atomic::AtomicU32,
    extensions: Mutex<HashMap<TypeId, Arc<dyn Any + Send + Sync>>>,
    /// The browser's change count when this session last looked (`u64::MAX`: never).
    seen_change: std::sync::atomic::AtomicU64,
    /// Extension backend: the browser this session chose with `switch_browser`.
    choice: Mutex<Option<String>>,
    /// The guard every tab of this session gets (see [`Session::set_guard`]).
    guard: Arc<Mutex<Option<RequestGuard>>>,
    /// With a guard, in a browser the host launched: the proxy the session's browser context
    /// sends every connection through, applying the same guard (started on first use).
    egress: tokio::sync::OnceCell<Arc<Egress>>,
    /// That browser context, with the browser generation (see [`Browser::last_change`]) it
    /// was made in.
    context: Mutex<Option<(u64, String)>>,
    /// Tabs open in a browser context of the session's own even without a guard (its own
    /// cookies and storage: one flow of a parallel replay), see [`Session::isolate`].
    isolated: std::sync::atomic::AtomicBool,
}

/// How many screenshots a session keeps for `upload_image`.
const IMAGE_CAP: usize = 20;

/// How the session's tabs changed since the last look.
#[derive(Debug, Default, Clone)]
pub struct TabChanges {
    /// Tabs that joined (opened by a session tab).
    pub opened: Vec<TargetEntry>,
    /// Tabs that went away.
    pub closed: Vec<TabId>,
}

impl Session {
    /// A new session with no tabs yet.
    pub fn new(browser: Arc<Browser>, workspace: PathBuf) -> Session {
        Session {
            browser,
            workspace,
            tabs: Mutex::new(Tabs::default()),
            images: Mutex::new(Default::default()),
            next_image: std::sync::atomic::AtomicU32::new(1),
            extensions: Mutex::new(HashMap::new()),
            seen_change: std::sync::atomic::AtomicU64::new(u64::MAX),
            choice: Mutex::new(None),
            guard: Arc::new(Mutex::new(None)),
            egress: tokio::sync::OnceCell::new(),
            context: Mutex::new(None),
            isolated: std::sync::atomic::AtomicBool::new(false),
        }
    }

    /// Opens this session's tabs in a browser context of its own (cookies, storage and cache
    /// apart from every other session's), in a browser the host launched or connected to over
    /// CDP; through the extension, tabs share the person's profile. Returns whether the
    /// browser can keep sessions apart. Call [`Session::dispose`] when done.
    pub async fn isolate(&self) -> Result<bool, BrowserError> {
        self.isolated
            .store(true, std::sync::atomic::Ordering::Relaxed);
        let live = self.live().await?;
        Ok(live.has_contexts())
    }

    /// Closes the session's browser context, if it made one, and with it every tab in it.
    pub async fn dispose(&self) {
        let known = match self.context.lock() {
            Ok(mut g) => g.take(),
            Err(p) => p.into_inner().take(),
        };
        let Some((generation, id)) = known else {
            return;
        };
        if generation != self.browser.last_change().0 {
            return;
        }
        if let Ok(live) = self
            .browser
            .live_for(self.browser_choice().as_deref())
            .await
        {
            if let Err(e) = live.dispose_context(&id).await {
                tracing::debug!("disposing browser context {id}: {e}");
            }
        }
    }

    /// Puts every network request of this session's tabs behind `guard` (see
    /// [`Tab::set_guard`]): tabs get it before a tool uses them, new tabs before they load
    /// anything, popups as soon as the session adopts them. In a browser the host launched,
    /// the tabs it opens from then on live in a browser context whose connections go through
    /// the session's egress proxy, held to the same guard: that covers what interception does
    /// not see (a page's WebSockets).
    pub fn set_guard(&self, guard: RequestGuard) {
        match self.guard.lock() {
            Ok(mut g) => *g = Some(guard),
            Err(p) => *p.into_inner() = Some(guard),
        }
    }

    fn guard(&self) -> Option<RequestGuard> {
        match self.guard.lock() {
            Ok(g) => g.clone(),
            Err(p) => p.into_inner().clone(),
        }
    }

    /// Guards every tab of the session that has no guard yet (popups it adopted): called when
    /// a tool looks for its tab and after every action.
    pub async fn guard_all(&self, live: &Live) -> Result<(), BrowserError> {
        if self.guard().is_none() {
            return Ok(());
        }
        for id in self.tab_ids().0 {
            if let Some(t) = live.tab(id).await? {
                self.guard_tab(&t).await?;
            }
        }
        Ok(())
    }

    /// Guards `tab` when the session has a guard and the tab has none yet.
    /// A tab outside the session's proxied browser context has all its WebSockets stopped
    /// first, as nothing else can hold them to the guard.
    async fn guard_tab(&self, tab: &Tab) -> Result<(), BrowserError> {
        if let Some(g) = self.guard() {
            if !tab.guarded() {
                if !tab.websockets_blocked() && !self.proxied(tab).await {
                    tab.block_websockets().await?;
                }
                tab.set_guard(g).await?;
            }
        }
        Ok(())
    }

    /// Whether `tab` lives in the session's browser context, whose connections go through
    /// the session's egress proxy.
    async fn proxied(&self, tab: &Tab) -> bool {
        #[derive(serde::Deserialize)]
        #[serde(rename_all = "camelCase")]
        struct Info {
            target_info: TargetContext,
        }
        #[derive(serde::Deserialize)]
        #[serde(rename_all = "camelCase")]
        struct TargetContext {
            #[serde(default)]
            browser_context_id: Option<String>,
        }
        let ours = match self.context.lock() {
            Ok(g) => g.clone(),
            Err(p) => p.into_inner().clone(),
        };
        let Some((_, ours)) = ours else { return false };
        let info: Result<Info, _> = tab
            .cdp()
            .call(
                None,
                "Target.getTargetInfo",
                serde_json::json!({"targetId": tab.target_id}),
            )
            .await;
        info.ok()
            .and_then(|i| i.target_info.browser_context_id)
            .is_some_and(|id| id == ours)
    }

    /// The connected browser this session chose (extension backend), if any.
    pub fn browser_choice(&self) -> Option<String> {
        match self.choice.lock() {
            Ok(g) => g.clone(),
            Err(p) => p.into_inner().clone(),
        }
    }

    /// Chooses a connected browser by id for this session (extension backend); the session's
    /// tabs are forgotten, since they belong to the previous browser.
    pub fn choose_browser(&self, id: Option<String>) {
        match self.choice.lock() {
            Ok(mut g) => *g = id,
            Err(p) => *p.into_inner() = id,
        }
        self.reset();
    }

    /// Per-session state owned by a layer above the browser (the tool registry's call
    /// observers, a recorder…), one value per type, created on first use. The browser layer
    /// never looks inside.
    pub fn ext<T: Default + Send + Sync + 'static>(&self) -> Arc<T> {
        let mut map = match self.extensions.lock() {
            Ok(g) => g,
            Err(p) => p.into_inner(),
        };
        let entry = map
            .entry(TypeId::of::<T>())
            .or_insert_with(|| Arc::new(T::default()) as Arc<dyn Any + Send + Sync>)
            .clone();
        drop(map);
        match entry.downcast::<T>() {
            Ok(v) => v,
            // Unreachable: the map is keyed by the value's own TypeId.
            Err(_) => Arc::new(T::default()),
        }
    }

    /// Keeps a screenshot (PNG or JPEG bytes) and returns its id.
    pub fn store_image(&self, bytes: Vec<u8>) -> String {
        let id = format!(
            "img_{}",
            self.next_image
                .fetch_add(1, std::sync::atomic::Ordering::Relaxed)
        );
        let mut imgs = match self.images.lock() {
            Ok(g) => g,
            Err(p) => p.into_inner(),
        };
        if imgs.len() >= IMAGE_CAP {
            imgs.pop_front();
        }
        imgs.push_back((id.clone(), bytes));
        id
    }

    /// A kept screenshot by id.
    pub fn image(&self, id: &str) -> Option<Vec<u8>> {
        let imgs = match self.images.lock() {
            Ok(g) => g,
            Err(p) => p.into_inner(),
        };
        imgs.iter().find(|(i, _)| i == id).map(|(_, b)| b.clone())
    }

    fn tabs(&self) -> std::sync::MutexGuard<'_, Tabs> {
        match self.tabs.lock() {
            Ok(g) => g,
            Err(p) => p.into_inner(),
        }
    }

    /// The session's tab ids and the active one.
    pub fn tab_ids(&self) -> (Vec<TabId>, Option<TabId>) {
        let t = self.tabs();
        (t.list.clone(), t.active)
    }

    /// Makes `id` the active tab.
    pub fn set_active(&self, id: TabId) {
        let mut t = self.tabs();
        if !t.list.contains(&id) {
            t.list.push(id);
        }
        t.active = Some(id);
    }

    /// Brings the tab list up to date with the browser: adopts tabs opened by session tabs,
    /// forgets closed ones. Returns what changed.
    pub fn sync(&self, live: &Live) -> TabChanges {
        let targets = live.targets();
        let mut t = self.tabs();
        let mut changes = TabChanges::default();
        let alive: HashSet<TabId> = targets.iter().map(|e| e.tab_id).collect();
        for id in t.list.clone() {
            if !alive.contains(&id) {
                changes.closed.push(id);
            }
        }
        t.list.retain(|id| alive.contains(id));
        if t.active.is_some_and(|a| !alive.contains(&a)) {
            t.active = t.list.last().copied();
        }
        loop {
            let mine: HashSet<String> = targets
                .iter()
                .filter(|e| t.list.contains(&e.tab_id))
                .map(|e| e.target_id.clone())
                .collect();
            let new: Vec<TargetEntry> = targets
                .iter()
                .filter(|e| {
                    !t.list.contains(&e.tab_id)
                        && e.opener.as_ref().is_some_and(|o| mine.contains(o))
                })
                .cloned()
                .collect();
            if new.is_empty() {
                break;
            }
            for e in new {
                t.list.push(e.tab_id);
                changes.opened.push(e);
            }
        }
        changes
    }

    /// Forgets every tab (after the browser was restarted).
    pub fn reset(&self) {
        *self.tabs() = Tabs::default();
    }

    /// The browser context the session's new tabs open in: with a guard, in a browser the
    /// host launched, one of its own behind the session's egress proxy; otherwise the default.
    async fn context(&self, live: &Live) -> Result<Option<String>, BrowserError> {
        let guarded = self.guard().is_some();
        let isolated = self.isolated.load(std::sync::atomic::Ordering::Relaxed);
        if (!guarded && !isolated) || !live.has_contexts() {
            return Ok(None);
        }
        let generation = self.browser.last_change().0;
        let known = match self.context.lock() {
            Ok(g) => g.clone(),
            Err(p) => p.into_inner().clone(),
        };
        if let Some((g, id)) = known {
            if g == generation {
                return Ok(Some(id));
            }
        }
        if !guarded {
            let id = live.create_context(None).await?;
            match self.context.lock() {
                Ok(mut g) => *g = Some((generation, id.clone())),
                Err(p) => *p.into_inner() = Some((generation, id.clone())),
            }
            return Ok(Some(id));
        }
        let slot = self.guard.clone();
        let egress = self
            .egress
            .get_or_try_init(|| async move {
                let verdict: egress::Verdict = Arc::new(move |url: &str| {
                    let g = match slot.lock() {
                        Ok(g) => g.clone(),
                        Err(p) => p.into_inner().clone(),
                    };
                    g.and_then(|guard| guard(url))
                });
                Egress::start(verdict).await.map(Arc::new).map_err(|e| {
                    BrowserError::Start(format!("cannot start the session's egress proxy: {e}"))
                })
            })
            .await?;
        let id = live.create_context(Some(&egress.url())).await?;
        match self.context.lock() {
            Ok(mut g) => *g = Some((generation, id.clone())),
            Err(p) => *p.into_inner() = Some((generation, id.clone())),
        }
        Ok(Some(id))
    }

    /// How many connections the session's egress proxy has refused so far.
    pub fn egress_refused_count(&self) -> u64 {
        self.egress.get().map(|e| e.refused_count()).unwrap_or(0)
    }

    /// The connections the session's egress proxy refused after the `seq`th.
    pub fn egress_refused_since(&self, seq: u64) -> Vec<egress::Refused> {
        self.egress
            .get()
            .map(|e| e.refused_since(seq))
            .unwrap_or_default()
    }

    /// Opens a new tab at `url`, makes it active and returns it. With a guard, the tab opens
    /// blank, is guarded, then goes to `url`, so its first request is checked too.
    pub async fn create_tab(&self, url: &str) -> Result<Arc<Tab>, BrowserError> {
        let live = self.live().await?;
        let context = self.context(&live).await?;
        let guarded = self.guard().is_some() && url != "about:blank";
        let id = live
            .create_target_in(
                if guarded { "about:blank" } else { url },
                context.as_deref(),
            )
            .await?;
        self.set_active(id);
        let tab = live
            .tab(id)
            .await?
            .ok_or_else(|| BrowserError::Start("the new tab vanished at once".into()))?;
        self.guard_tab(&tab).await?;
        if guarded {
            tab.run("Page.navigate", serde_json::json!({"url": url}))
                .await?;
        }
        Ok(tab)
    }

    /// The live browser; on a restart, the session forgets its old tabs.
    /// A restart or reconnect noticed by another session's call is reported here once too, so
    /// every session learns that its tab ids changed.
    pub async fn live(&self) -> Result<Arc<Live>, BrowserError> {
        let r = self
            .browser
            .live_for(self.browser_choice().as_deref())
            .await;
        let (generation, last) = self.browser.last_change();
        let seen = self
            .seen_change
            .swap(generation, std::sync::atomic::Ordering::Relaxed);
        match r {
            Err(e @ (BrowserError::Restarted(_) | BrowserError::Reconnected(_))) => {
                self.reset();
                Err(e)
            }
            Ok(live) if seen != u64::MAX && seen != generation => {
                self.reset();
                match last {
                    Some(e) => Err(e),
                    None => Ok(live),
                }
            }
            other => other,
        }
    }

    /// The tab `id` (or the active tab); with no tab at all, a new blank tab is opened.
    pub async fn tab(&self, id: Option<TabId>) -> Result<Arc<Tab>, SessionError> {
        let live = self.live().await?;
        self.sync(&live);
        self.guard_all(&live).await?;
        let (list, active) = self.tab_ids();
        let id = match id.or(active) {
            Some(id) => id,
            None => return Ok(self.create_tab("about:blank").await?),
        };
        if !list.contains(&id) {
            return Err(SessionError::NoSuchTab(id, list));
        }
        match live.tab(id).await? {
            Some(tab) => {
                self.guard_tab(&tab).await?;
                Ok(tab)
            }
            None => Err(SessionError::NoSuchTab(id, list)),
        }
    }
}

/// Why a tab could not be had.
#[derive(Debug, thiserror::Error)]
pub enum SessionError {
    /// The browser layer failed.
    #[error("{0}")]
    Browser(#[from] BrowserError),
    /// The tab id is not one of the session's open tabs.
    #[error("tab {0} is not open (open tabs: {list}); call tabs_context to see the tabs", list = fmt_list(.1))]
    NoSuchTab(TabId, Vec<TabId>),
}

fn fmt_list(l: &[TabId]) -> String {
    if l.is_empty() {
        "none".into()
    } else {
        l.iter()
            .map(|i| i.to_string())
            .collect::<Vec<_>>()
            .join(", ")
    }
}
