//! The request guard: a tab's network requests paused by CDP `Fetch` interception and let go
//! or stopped as the guard (written by the policy) says.

use std::sync::Arc;

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
}

/// Lets a paused request go or stops it, as the tab's guard says.
pub(super) fn on_request(tab: &Arc<Tab>, ev: &Event) {
    let Some(p) = ev.parse::<RequestPaused>() else {
        return;
    };
    let guard = lock(&tab.guard).clone();
    let verdict = guard.and_then(|g| g(&p.request.url));
    let session = ev.session_id.clone();
    let cdp = tab.cdp.clone();
    if let Some(reason) = &verdict {
        {
            let mut st = tab.state();
            st.blocked_count += 1;
            let seq = st.blocked_count;
            if st.blocked.len() >= LOG_CAP {
                st.blocked.pop_front();
            }
            st.blocked.push_back(Blocked {
                url: p.request.url.clone(),
                reason: reason.clone(),
                kind: p.resource_type.clone(),
                seq,
            });
        }
        tab.changed.send_modify(|v| *v += 1);
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
