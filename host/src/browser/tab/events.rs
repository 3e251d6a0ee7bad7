//! How CDP events change a tab's state: console, network, dialogs, navigation, frames and
//! isolated worlds. The pump calls [`apply`] for every event it does not handle itself.

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::Instant;

use serde_json::Value;

use super::{ConsoleEntry, Dialog, NetEntry, TabState, WorldRef, LOG_CAP, WORLD};
use crate::browser::cdp::Event;

fn arg_text(arg: &Value) -> String {
    if let Some(v) = arg.get("value") {
        return match v {
            Value::String(s) => s.clone(),
            other => other.to_string(),
        };
    }
    if let Some(d) = arg.get("description").and_then(|d| d.as_str()) {
        return d.to_string();
    }
    arg.get("unserializableValue")
        .and_then(|v| v.as_str())
        .or_else(|| arg.get("type").and_then(|t| t.as_str()))
        .unwrap_or("")
        .to_string()
}

fn push_console(st: &mut TabState, entry: ConsoleEntry) {
    if st.console.len() >= LOG_CAP {
        st.console.pop_front();
    }
    st.console.push_back(entry);
}

/// Applies one event to the state; returns whether anything changed.
pub(super) fn apply(
    st: &mut TabState,
    main_frame: &str,
    main_session: &Arc<str>,
    ev: &Event,
) -> bool {
    let p: Value = match ev.parse() {
        Some(v) => v,
        None => return false,
    };
    let frame_of = |p: &Value| {
        p.get("frameId")
            .and_then(|f| f.as_str())
            .unwrap_or("")
            .to_string()
    };
    let session: Arc<str> = ev
        .session_id
        .clone()
        .unwrap_or_else(|| main_session.clone());
    match ev.method.as_str() {
        "Page.frameRequestedNavigation" | "Page.frameStartedNavigating" => {
            let disposition = p.get("disposition").and_then(|d| d.as_str());
            if ev.method == "Page.frameRequestedNavigation"
                && matches!(disposition, Some("newTab" | "newWindow"))
            {
                if let Some(url) = p.get("url").and_then(|u| u.as_str()) {
                    crate::browser::requested_tab(main_frame, url);
                }
            }
            if frame_of(&p) == main_frame
                && p.get("disposition")
                    .and_then(|d| d.as_str())
                    .is_none_or(|d| d == "currentTab")
            {
                st.navs += 1;
                return true;
            }
            false
        }
        "Page.frameStartedLoading" => {
            if frame_of(&p) == main_frame {
                st.loading = true;
                st.navs += 1;
                return true;
            }
            false
        }
        "Page.loadEventFired" => {
            if ev.session_id.as_deref() == Some(&**main_session) {
                st.loads += 1;
                st.loading = false;
                return true;
            }
            false
        }
        "Page.frameStoppedLoading" => {
            if frame_of(&p) == main_frame {
                st.loading = false;
                st.loads += 1;
                return true;
            }
            false
        }
        "Page.frameNavigated" => {
            let frame = p.get("frame").cloned().unwrap_or(Value::Null);
            let id = frame.get("id").and_then(|i| i.as_str()).unwrap_or("");
            if id == main_frame {
                st.url = frame
                    .get("url")
                    .and_then(|u| u.as_str())
                    .unwrap_or("")
                    .to_string();
                // A new document: console and network start over ("since load").
                st.console.clear();
                // A document committed: the renderer is alive again after a crash.
                st.crashed = false;
                st.unresponsive = false;
                let keep: VecDeque<NetEntry> = st
                    .network
                    .drain(..)
                    .filter(|n| n.kind == "Document" && n.url == st.url)
                    .collect();
                st.network = keep;
                return true;
            }
            false
        }
        "Page.frameDetached" => {
            // On a swap to an out-of-process frame the child session may already have
            // registered the new world: only forget a world this session owned.
            let id = frame_of(&p);
            if st.worlds.get(&id).is_some_and(|w| w.session == session) {
                st.worlds.remove(&id);
            }
            true
        }
        "Page.navigatedWithinDocument" => {
            if frame_of(&p) == main_frame {
                st.same_doc_navs += 1;
                if let Some(u) = p.get("url").and_then(|u| u.as_str()) {
                    st.url = u.to_string();
                }
                return true;
            }
            false
        }
        "Page.javascriptDialogOpening" => {
            let s = |k: &str| p.get(k).and_then(|v| v.as_str()).unwrap_or("").to_string();
            st.dialogs_opened += 1;
            st.dialog = Some(Dialog {
                kind: s("type"),
                message: s("message"),
                default_prompt: s("defaultPrompt"),
                session,
            });
            true
        }
        "Page.javascriptDialogClosed" => {
            st.dialog = None;
            st.prompt_text = None;
            true
        }
        "Page.downloadWillBegin" => {
            let name = p
                .get("suggestedFilename")
                .and_then(|v| v.as_str())
                .unwrap_or("")
                .to_string();
            st.downloads.push(name);
            true
        }
        "Input.dragIntercepted" => {
            st.drag_data = p.get("data").cloned();
            true
        }
        "Inspector.targetCrashed" => {
            st.crashed = true;
            true
        }
        "Inspector.targetReloadedAfterCrash" => {
            st.crashed = false;
            true
        }
        "Runtime.executionContextCreated" => {
            let ctx = p.get("context").cloned().unwrap_or(Value::Null);
            if ctx.get("name").and_then(|n| n.as_str()) == Some(WORLD) {
                let frame = ctx
                    .pointer("/auxData/frameId")
                    .and_then(|f| f.as_str())
                    .unwrap_or("");
                if let Some(id) = ctx.get("id").and_then(|i| i.as_i64()) {
                    st.worlds.insert(
                        frame.to_string(),
                        WorldRef {
                            session,
                            context: id,
                        },
                    );
                    return true;
                }
            }
            false
        }
        "Runtime.executionContextDestroyed" => {
            let id = p
                .get("executionContextId")
                .and_then(|i| i.as_i64())
                .unwrap_or(-1);
            st.worlds
                .retain(|_, w| !(w.context == id && w.session == session));
            true
        }
        "Runtime.executionContextsCleared" => {
            st.worlds.retain(|_, w| w.session != session);
            true
        }
        "Runtime.consoleAPICalled" => {
            let level = p
                .get("type")
                .and_then(|t| t.as_str())
                .unwrap_or("log")
                .to_string();
            let text = p
                .get("args")
                .and_then(|a| a.as_array())
                .map(|a| a.iter().map(arg_text).collect::<Vec<_>>().join(" "))
                .unwrap_or_default();
            let source = p.pointer("/stackTrace/callFrames/0").map(|f| {
                format!(
                    "{}:{}",
                    f.get("url").and_then(|u| u.as_str()).unwrap_or(""),
                    f.get("lineNumber").and_then(|l| l.as_i64()).unwrap_or(0) + 1
                )
            });
            push_console(
                st,
                ConsoleEntry {
                    level,
                    text,
                    source,
                },
            );
            true
        }
        "Runtime.exceptionThrown" => {
            let d = p.get("exceptionDetails").cloned().unwrap_or(Value::Null);
            let text = d
                .pointer("/exception/description")
                .and_then(|t| t.as_str())
                .or_else(|| d.get("text").and_then(|t| t.as_str()))
                .unwrap_or("uncaught exception")
                .to_string();
            let source = d.get("url").and_then(|u| u.as_str()).map(|u| {
                format!(
                    "{}:{}",
                    u,
                    d.get("lineNumber").and_then(|l| l.as_i64()).unwrap_or(0) + 1
                )
            });
            push_console(
                st,
                ConsoleEntry {
                    level: "exception".into(),
                    text,
                    source,
                },
            );
            true
        }
        "Log.entryAdded" => {
            let e = p.get("entry").cloned().unwrap_or(Value::Null);
            let s = |k: &str| e.get(k).and_then(|v| v.as_str()).unwrap_or("").to_string();
            let url = s("url");
            push_console(
                st,
                ConsoleEntry {
                    level: s("level"),
                    text: s("text"),
                    source: if url.is_empty() { None } else { Some(url) },
                },
            );
            true
        }
        "Network.requestWillBeSent" => {
            let id = p
                .get("requestId")
                .and_then(|v| v.as_str())
                .unwrap_or("")
                .to_string();
            let kind = p
                .get("type")
                .and_then(|v| v.as_str())
                .unwrap_or("Other")
                .to_string();
            let url = p
                .pointer("/request/url")
                .and_then(|v| v.as_str())
                .unwrap_or("")
                .to_string();
            let method = p
                .pointer("/request/method")
                .and_then(|v| v.as_str())
                .unwrap_or("GET")
                .to_string();
            if p.get("redirectResponse").is_some() {
                // A redirect reuses the request id: close the old hop.
                if let Some(old) = st.network.iter_mut().rev().find(|n| n.id == id) {
                    old.status = p
                        .pointer("/redirectResponse/status")
                        .and_then(|s| s.as_i64());
                    old.duration = Some(old.started.elapsed());
                }
            }
            st.net_seq += 1;
            let seq = st.net_seq;
            if kind != "EventSource" && kind != "WebSocket" {
                st.inflight.insert(id.clone(), seq);
            }
            if kind == "Document" && frame_of(&p) == main_frame {
                st.doc_error = None;
            }
            if st.network.len() >= LOG_CAP {
                st.network.pop_front();
            }
            st.network.push_back(NetEntry {
                id,
                method,
                url,
                kind,
                status: None,
                failed: None,
                started: Instant::now(),
                duration: None,
                seq,
            });
            true
        }
        "Network.responseReceived" => {
            let id = p.get("requestId").and_then(|v| v.as_str()).unwrap_or("");
            let status = p.pointer("/response/status").and_then(|v| v.as_i64());
            let kind = p.get("type").and_then(|v| v.as_str()).unwrap_or("");
            if kind == "Document" && frame_of(&p) == main_frame {
                let url = p
                    .pointer("/response/url")
                    .and_then(|v| v.as_str())
                    .unwrap_or("")
                    .to_string();
                st.doc_status = status.map(|s| (url, s));
            }
            if let Some(n) = st.network.iter_mut().rev().find(|n| n.id == id) {
                n.status = status;
            }
            true
        }
        "Network.loadingFinished" | "Network.loadingFailed" => {
            let id = p
                .get("requestId")
                .and_then(|v| v.as_str())
                .unwrap_or("")
                .to_string();
            st.inflight.remove(&id);
            let failed = if ev.method == "Network.loadingFailed" {
                Some(
                    p.get("errorText")
                        .and_then(|v| v.as_str())
                        .unwrap_or("failed")
                        .to_string(),
                )
            } else {
                None
            };
            if let Some(n) = st.network.iter_mut().rev().find(|n| n.id == id) {
                n.duration = Some(n.started.elapsed());
                if failed.is_some() {
                    if n.kind == "Document" {
                        st.doc_error = failed.clone();
                    }
                    n.failed = failed;
                }
            }
            true
        }
        "Target.detachedFromTarget" => {
            if let Some(s) = p.get("sessionId").and_then(|v| v.as_str()) {
                if let Some(frame) = st.children.remove(s) {
                    st.worlds.remove(&frame);
                }
            }
            true
        }
        _ => false,
    }
}
