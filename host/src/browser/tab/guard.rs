//! The request guard: a tab's network requests paused by CDP `Fetch` interception and let go
//! or stopped as the guard (written by the policy) says.

use std::sync::Arc;
use std::time::{Duration, Instant};

use serde::Deserialize;
use serde_json::{json, Value};

use super::{lock, Tab, LOG_CAP};
use crate::browser::cdp::Event;

/// Decides each network request of a guarded tab (its frames and out-of-process iframes
/// included) before it leaves the browser: `None` lets it go, `Some(reason)` stops it. The
/// browser layer only applies it; the policy writes it.
pub type RequestGuard = Arc<dyn Fn(&str) -> Option<String> + Send + Sync>;

/// A request the guard stopped.
#[derive(Debug, Clone)]
pub struct Blocked {
    /// The URL asked for.
    pub url: String,
    /// Why it was stopped.
    pub reason: String,
    /// Resource type (Document, Image, Fetch, Ping …).
    pub kind: String,
    /// Sequence number (monotonic per tab), for "what was stopped during this action".
    pub seq: u64,
}

/// Every request, paused before it is sent.
pub(super) fn fetch_patterns() -> Value {
    json!({"patterns": [{"urlPattern": "*", "requestStage": "Request"}]})
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RequestPaused {
    request_id: String,
    request: PausedRequest,
    #[serde(default)]
    resource_type: String,
}

#[derive(Deserialize)]
struct PausedRequest {
    url: String,
    #[serde(default)]
    method: String,
}

/// Network emulation that takes every `ws://` and `wss://` connection offline and nothing
/// else (URL patterns; the only per-URL control CDP has over WebSockets).
pub(super) fn no_websockets() -> Value {
    let rule = |pattern: &str| json!({"urlPattern": pattern, "latency": 0, "downloadThroughput": -1, "uploadThroughput": -1});
    json!({"offline": true, "matchedNetworkConditions": [rule("ws://*:*/*"), rule("wss://*:*/*")]})
}

/// Why a WebSocket of a tab under [`no_websockets`] was stopped.
pub(super) const NO_WEBSOCKETS: &str = "WebSockets are stopped in a guarded tab whose \
     connections the host cannot hold to the approved domains (a tab opened before the policy \
     was on, or a browser the host did not launch)";

/// Notes a WebSocket that a tab under [`no_websockets`] tried to open.
pub(super) fn on_websocket(tab: &Arc<Tab>, ev: &Event) {
    #[derive(Deserialize)]
    struct Created {
        url: String,
    }
    if let Some(c) = ev.parse::<Created>() {
        record(
            tab,
            c.url,
            NO_WEBSOCKETS.to_string(),
            "WebSocket".to_string(),
        );
    }
}

/// Keeps a stopped request in the tab's log and wakes its waiters.
fn record(tab: &Tab, url: String, reason: String, kind: String) {
    {
        let mut st = tab.state();
        st.blocked_count += 1;
        let seq = st.blocked_count;
        if st.blocked.len() >= LOG_CAP {
            st.blocked.pop_front();
        }
        st.blocked.push_back(Blocked {
            url,
            reason,
            kind,
            seq,
        });
    }
    tab.changed.send_modify(|v| *v += 1);
}

/// Where guard probes go: a reserved name (RFC 2606) that never resolves, so a probe that
/// slips past the interception reaches nobody.
const PROBE: &str = "://tabwright-guard-probe.invalid/";

/// How long [`confirm`] keeps probing before it gives up.
const PROBE_BUDGET: Duration = Duration::from_millis(1000);

/// Waits until a request from the document in `session`'s main frame is seen paused by the
/// interception just switched on: Chromium answers `Fetch.enable` before the renderer has
/// swapped the document's loaders, and input events reach the page on a route of their own,
/// so a keystroke sent at once made a request that slipped past (4 of 12 times in
/// `tests/policy.rs`). The probe goes the DevTools route, which the swap precedes. Probes from a fresh isolated world (out of the page's reach) until one is paused,
/// within a bounded time; a document that cannot probe (an error page, a navigation in
/// flight, a CSP without network) is left after that time — a navigation gets intercepted
/// loaders from the start.
pub(super) async fn confirm(tab: &Tab, session: &str) {
    let frame = if session == &*tab.session {
        Some(tab.target_id.clone())
    } else {
        tab.state().children.get(session).cloned()
    };
    let Some(frame) = frame else { return };
    if session == &*tab.session && tab.state().url.starts_with("chrome") {
        // chrome:// and chrome-error:// documents make no requests of their own.
        return;
    }
    let world: Result<Value, _> = tab
        .cdp
        .call(
            Some(session),
            "Page.createIsolatedWorld",
            json!({"frameId": frame, "worldName": "tabwright-guard"}),
        )
        .await;
    let Some(ctx) = world.ok().and_then(|w| w["executionContextId"].as_i64()) else {
        return;
    };
    let deadline = Instant::now() + PROBE_BUDGET;
    let mut n = 0u32;
    while Instant::now() < deadline {
        n += 1;
        let token = format!("{}-{n}", tab.target_id);
        // Same scheme as the page, so mixed-content blocking does not stop the probe.
        let probe = format!(
            "fetch((location.protocol === 'https:' ? 'https' : 'http') + {}, \
             {{mode: 'no-cors', cache: 'no-store'}}).then(() => 1, () => 0)",
            json!(format!("{PROBE}{token}"))
        );
        let r = tab
            .cdp
            .call_raw(
                Some(session),
                "Runtime.evaluate",
                json!({"expression": probe, "contextId": ctx, "awaitPromise": true}),
                PROBE_BUDGET,
            )
            .await;
        if r.is_err() {
            return;
        }
        if lock(&tab.probes).remove(&token) {
            return;
        }
        tracing::debug!("guard probe {token} was not intercepted yet; probing again");
        tokio::task::yield_now().await;
    }
    tracing::warn!(
        "could not confirm request interception on frame {frame} within {PROBE_BUDGET:?}"
    );
}

/// Lets a paused request go or stops it, as the tab's guard says.
pub(super) fn on_request(tab: &Arc<Tab>, ev: &Event) {
    let Some(p) = ev.parse::<RequestPaused>() else {
        return;
    };
    let probe = ["http", "https"]
        .iter()
        .find_map(|scheme| p.request.url.strip_prefix(scheme)?.strip_prefix(PROBE));
    if let Some(token) = probe {
        // Our own probe (see `confirm`): noted, stopped, not reported.
        lock(&tab.probes).insert(token.to_string());
        let cdp = tab.cdp.clone();
        let session = ev.session_id.clone();
        tokio::spawn(async move {
            let _ = cdp
                .run(
                    session.as_deref(),
                    "Fetch.failRequest",
                    json!({"requestId": p.request_id, "errorReason": "BlockedByClient"}),
                )
                .await;
        });
        return;
    }
    let guard = lock(&tab.guard).clone();
    let form_post = p.resource_type == "Document"
        && !p.request.method.eq_ignore_ascii_case("GET")
        && tab.hold_posts.load(std::sync::atomic::Ordering::SeqCst);
    let verdict = if form_post {
        Some("a form post set off by filling a field: filling does not submit".to_string())
    } else {
        guard.and_then(|g| g(&p.request.url))
    };
    let session = ev.session_id.clone();
    let cdp = tab.cdp.clone();
    if let Some(reason) = &verdict {
        record(
            tab,
            p.request.url.clone(),
            reason.clone(),
            p.resource_type.clone(),
        );
    }
    tokio::spawn(async move {
        let s = session.as_deref();
        let r = match verdict {
            None => {
                cdp.run(
                    s,
                    "Fetch.continueRequest",
                    json!({"requestId": p.request_id}),
                )
                .await
            }
            // A held form post is answered "204 No Content", which a browser does not
            // navigate to: the page stays as it was, its form filled.
            Some(_) if form_post => {
                cdp.run(
                    s,
                    "Fetch.fulfillRequest",
                    json!({"requestId": p.request_id, "responseCode": 204}),
                )
                .await
            }
            Some(_) => {
                cdp.run(
                    s,
                    "Fetch.failRequest",
                    json!({"requestId": p.request_id, "errorReason": "BlockedByClient"}),
                )
                .await
            }
        };
        if let Err(e) = r {
            tracing::debug!("answering a paused request failed: {e}");
        }
    });
}
