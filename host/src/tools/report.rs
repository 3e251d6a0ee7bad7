//! Running an acting tool and telling the model what changed: a navigation, a new tab, a
//! dialog, a download, the focus. Every acting tool goes through [`act`].

use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::Value;

use super::ToolError;
use crate::browser::settle::{self, Limits};
use crate::browser::tab::{Tab, WorldRef};
use crate::browser::Session;
use crate::outline::{self, eval_world};

/// The text for an open dialog.
pub fn dialog_text(kind: &str, message: &str) -> String {
    let how = if kind == "prompt" {
        "type the answer with computer action=type, then action=key text=Enter; or text=Escape to cancel"
    } else {
        "accept with computer action=key text=Enter, dismiss with text=Escape"
    };
    let article = if kind.starts_with(['a', 'e', 'i', 'o', 'u']) {
        "An"
    } else {
        "A"
    };
    format!("{article} {kind} dialog is open: \"{message}\". {how}.")
}

/// Refuses to act while a dialog is open.
pub fn no_dialog(tab: &Tab) -> Result<(), ToolError> {
    match tab.state().dialog.clone() {
        Some(d) => Err(ToolError(format!(
            "cannot act now. {}",
            dialog_text(&d.kind, &d.message)
        ))),
        None => Ok(()),
    }
}

/// Runs `action` on `tab`, waits for the page to settle and returns the action's own text
/// followed by what changed.
pub async fn act<F, Fut>(
    session: &Session,
    tab: &Arc<Tab>,
    limits: Limits,
    action: F,
) -> Result<String, ToolError>
where
    F: FnOnce() -> Fut,
    Fut: Future<Output = Result<String, ToolError>>,
{
    act_then(session, tab, limits, action, |text, _| text).await
}

/// [`act`] for an action that is one page call (a script, setting a value): the settle's
/// first DOM wait is sent right behind it, so the page starts waiting as soon as the action
/// ran instead of one round trip later. When the action outlasts that wait (a slow promise),
/// the wait runs again after it.
pub async fn act_overlapped<F, Fut>(
    session: &Session,
    tab: &Arc<Tab>,
    limits: Limits,
    action: F,
) -> Result<String, ToolError>
where
    F: FnOnce() -> Fut,
    Fut: Future<Output = Result<String, ToolError>>,
{
    run_act(session, tab, limits, action, true, |text, _| text).await
}

/// [`act`], with `finish` turning the action's text into its final form once the page has
/// settled (for reports that need the settled page, such as the scroll position).
pub async fn act_then<F, Fut>(
    session: &Session,
    tab: &Arc<Tab>,
    limits: Limits,
    action: F,
    finish: impl FnOnce(String, &settle::Settled) -> String,
) -> Result<String, ToolError>
where
    F: FnOnce() -> Fut,
    Fut: Future<Output = Result<String, ToolError>>,
{
    run_act(session, tab, limits, action, false, finish).await
}

async fn run_act<F, Fut>(
    session: &Session,
    tab: &Arc<Tab>,
    limits: Limits,
    action: F,
    overlap: bool,
    finish: impl FnOnce(String, &settle::Settled) -> String,
) -> Result<String, ToolError>
where
    F: FnOnce() -> Fut,
    Fut: Future<Output = Result<String, ToolError>>,
{
    // Input to a page that does not answer would wait out the CDP limit on every event.
    if tab.state().unresponsive && !tab.answers(outline::PROBE).await {
        return Err(ToolError(outline::not_responding(outline::PROBE).0));
    }
    let before = settle::marks(tab);
    let (opened_before, blocked_before) = {
        let st = tab.state();
        (st.dialogs_opened, st.blocked_count)
    };
    let refused_before = session.egress_refused_count();
    let dialog_opened = tab.wait_for(Duration::from_secs(3600), |st| {
        st.dialogs_opened > opened_before
    });
    let mut first = None;
    let text = if overlap {
        // The action is polled first, so its call leaves first and runs first in the page.
        let timed = async {
            let r = action().await;
            (r, Instant::now())
        };
        let waited = async {
            let q = settle::first_wait(tab, limits).await;
            (q, Instant::now())
        };
        tokio::select! {
            ((r, acted), (q, quiet)) = async { tokio::join!(timed, waited) } => {
                // A wait that ended before the action did says nothing about after it.
                if quiet >= acted {
                    first = Some(q);
                }
                r?
            }
            opened = dialog_opened => dialog_or_closed(opened),
        }
    } else {
        tokio::select! {
            r = action() => r?,
            opened = dialog_opened => dialog_or_closed(opened),
        }
    };
    let s = settle::settle_after(tab, &before, limits, first).await;
    let mut text = finish(text, &s);
    let mut notes: Vec<String> = Vec::new();
    if s.navigated || s.url.is_some() {
        let st = tab.state();
        let status = st.status_of_current();
        let mut line = format!("Page is now {}", st.url);
        if let Some(code) = status {
            line.push_str(&format!(" (HTTP {code})"));
        }
        if let Some(err) = &st.doc_error {
            line.push_str(&format!(" (load failed: {err})"));
        }
        if s.load_timed_out {
            line.push_str(" — still loading after the wait limit");
        }
        notes.push(line);
    }
    if let Some(d) = &s.dialog {
        notes.push(dialog_text(&d.kind, &d.message));
    }
    for name in &s.downloads {
        notes.push(format!("A download started: {name}"));
    }
    {
        let st = tab.state();
        // What the tab's interception stopped, then connections the browser's egress proxy
        // refused (WebSockets and the like; not attributable to a tab, so all of them).
        let stopped: Vec<String> = st
            .blocked
            .iter()
            .filter(|b| b.seq > blocked_before)
            .map(|b| format!("{} {} ({})", b.kind, b.url, b.reason))
            .chain(
                session
                    .egress_refused_since(refused_before)
                    .into_iter()
                    .map(|r| format!("Connection to {} ({})", r.target, r.reason)),
            )
            .collect();
        if !stopped.is_empty() {
            let shown: Vec<&str> = stopped.iter().take(3).map(String::as_str).collect();
            notes.push(format!(
                "The host stopped {} request(s): {}{}",
                stopped.len(),
                shown.join("; "),
                if stopped.len() > 3 { "; …" } else { "" }
            ));
        }
    }
    if let Ok(live) = session.browser.live().await {
        // A tab the page asked for (a middle or modifier click on a link) may still be on its
        // way: wait for it, bounded, so the result names it.
        let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(2);
        while crate::browser::tab_requests_pending(&tab.target_id)
            && tokio::time::Instant::now() < deadline
        {
            let _ = live.targets();
            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
        }
        // One that never came (blocked, or the page changed its mind) delays nothing later.
        crate::browser::forget_tab_requests(&tab.target_id);
        let changes = session.sync(&live);
        if let Err(e) = session.guard_all(&live).await {
            tracing::debug!("guarding new tabs failed: {e}");
        }
        for t in changes.opened {
            notes.push(format!(
                "A new tab opened: tab {} {} — pass tab_id={} to use it",
                t.tab_id, t.url, t.tab_id
            ));
        }
        for id in changes.closed {
            notes.push(format!("Tab {id} closed"));
        }
    }
    if s.pending > 0 {
        notes.push(format!("{} request(s) still running", s.pending));
    }
    if s.dialog.is_none() && !s.navigated {
        // The settle wait read the focus as it ended; ask again only when it could not.
        let focus = match s.focus.clone() {
            Some(f) => f,
            None => focus_line(tab).await,
        };
        if let Some(f) = focus {
            notes.push(format!("Focus: {f}"));
        }
        let (lines, more) = &s.appeared;
        if !lines.is_empty() {
            let mut block = String::from("Appeared:");
            for l in lines {
                block.push_str("\n  ");
                block.push_str(l);
            }
            if *more > 0 {
                block.push_str(&format!("\n  … and {more} more (read_page shows them)"));
            }
            notes.push(block);
        }
    }
    if !notes.is_empty() {
        text.push('\n');
        text.push_str(&notes.join("\n"));
    }
    Ok(text)
}

fn dialog_or_closed(opened: bool) -> String {
    String::from(if opened {
        "The action opened a dialog."
    } else {
        "The tab closed (or its page crashed) while the action ran."
    })
}

/// The outline line of the focused element, if it is not the body.
pub async fn focus_line(tab: &Tab) -> Option<String> {
    let world = tab.world(&tab.target_id).await?;
    let v = outline::eval_world(
        tab,
        &world,
        "__tabwright.focusLine ? __tabwright.focusLine('e') : null",
    )
    .await
    .ok()?;
    v.as_str().map(str::to_string)
}

/// A fill's hold on submissions: with a policy on (the tab guarded), filling a field or typing
/// text fills and nothing more. A submission it sets off is stopped and said, so that
/// submitting stays a step of its own, judged (and confirmed when risky) as one: a submit
/// event is cancelled by the walker's listener (which runs ahead of the page's own) in
/// `world`'s frame, and a form post (a document asked for with POST …) is stopped at the
/// network in every frame of the tab.
pub struct SubmitHold {
    on: bool,
    world: Option<WorldRef>,
}

impl SubmitHold {
    /// Starts the hold on `tab` when it is guarded (otherwise holds nothing).
    pub async fn start(tab: &Tab, world: Option<&WorldRef>) -> SubmitHold {
        if !tab.guarded() {
            return SubmitHold {
                on: false,
                world: None,
            };
        }
        tab.hold_form_posts(true);
        let world = world.cloned();
        if let Some(w) = &world {
            if let Err(e) = eval_world(tab, w, "__tabwright.holdSubmits(), 1").await {
                tracing::debug!("holding submissions: {e}");
            }
        }
        SubmitHold { on: true, world }
    }

    /// Ends the hold; the sentence for the result when it stopped a submission.
    pub async fn end(self, tab: &Tab) -> Option<String> {
        if !self.on {
            return None;
        }
        tab.hold_form_posts(false);
        let held = match &self.world {
            Some(w) => eval_world(tab, w, "__tabwright.releaseSubmits()")
                .await
                .unwrap_or(Value::Null),
            None => Value::Null,
        };
        let held: Vec<&str> = held
            .as_array()
            .map(|a| a.iter().filter_map(Value::as_str).collect())
            .unwrap_or_default();
        (!held.is_empty()).then(|| {
            format!(
                "Filling it made the page submit {}; the host stopped that: filling does not \
                 submit. To submit, click the form's button (a risky submission is confirmed).",
                held.join(" and ")
            )
        })
    }
}
