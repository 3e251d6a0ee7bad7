//! `navigate`: go to a URL (or back, forward, reload) and wait for the load.

use std::sync::Arc;
use std::time::Duration;

use serde::Deserialize;
use serde_json::{json, Value};

use super::args::{object, tab_id};
use super::report::act;
use super::{ActionClass, Registry, ToolContext, ToolError, ToolOutput, ToolSpec};
use crate::browser::settle::Limits;
use crate::browser::tab::Tab;
use crate::browser::{Session, TabId};
use crate::policy::Effects;
use crate::tool;

pub(super) fn register(r: &mut Registry) {
    super::add::<Navigate>(r);
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Args {
    url: String,
    tab_id: Option<TabId>,
}

tool!(
    Navigate,
    Args,
    ToolSpec::new(
        "navigate",
        "Load a URL in the tab and wait for it to load; url may also be \"back\", \"forward\" or \"reload\". \
                      Returns the final URL, title and HTTP status. Then call read_page or find to see the page. \
                      An open dialog is dismissed; a page that stopped responding is stopped first (the result says so).",
        object(
            json!({
                "url": {"type": "string", "description": "Absolute URL (https:// is assumed when no scheme is given), or back / forward / reload."},
                "tab_id": tab_id(),
            }),
            &["url"]
        ),
        ActionClass::Act,
    ),
    navigate,
    effects
);

/// Navigating sends the tab to its URL; back and forward go to the history entry they name
/// (read from the tab's history: a page restored from the back-forward cache sends no request
/// the network guard could stop); reload stays where it is.
async fn effects(ctx: &ToolContext, a: &Args) -> Effects {
    let mut fx = Effects::of(ActionClass::Act);
    match a.url.trim() {
        "reload" => {}
        dir @ ("back" | "forward") => {
            if let Some(u) = history_target(ctx, a.tab_id, dir == "back").await {
                fx.urls.push(u);
            }
        }
        _ => fx
            .urls
            .push(normalize_url(&a.url).unwrap_or_else(|_| a.url.clone())),
    }
    fx
}

/// The URL of the history entry back (or forward) would go to.
async fn history_target(ctx: &ToolContext, tab_id: Option<TabId>, back: bool) -> Option<String> {
    let tab = ctx.session().ok()?.tab(tab_id).await.ok()?;
    let h: Value = tab
        .call("Page.getNavigationHistory", json!({}))
        .await
        .ok()?;
    let i = h.get("currentIndex")?.as_i64()? + if back { -1 } else { 1 };
    let e = h
        .get("entries")?
        .as_array()?
        .get(usize::try_from(i).ok()?)?;
    e.get("url")?.as_str().map(str::to_string)
}

/// Checks and completes a URL typed by a model: adds https:// to bare hosts, refuses
/// schemes we do not load.
pub fn normalize_url(raw: &str) -> Result<String, ToolError> {
    let u = raw.trim();
    if u.is_empty() {
        return Err(ToolError(
            "invalid parameters for navigate: field `url` is empty".into(),
        ));
    }
    let lower = u.to_ascii_lowercase();
    if lower.starts_with("javascript:") {
        return Err(ToolError(
            "javascript: URLs are not navigated to; use javascript_tool to run code".into(),
        ));
    }
    if lower.starts_with("http://")
        || lower.starts_with("https://")
        || lower.starts_with("file://")
        || lower.starts_with("about:")
        || lower.starts_with("data:")
        || lower.starts_with("chrome://")
    {
        return Ok(u.to_string());
    }
    if u.contains("://") {
        return Err(ToolError(format!(
            "unsupported URL scheme in {u}: use http(s)://, file://, about: or data:"
        )));
    }
    let host = u.split(['/', ':']).next().unwrap_or("");
    let scheme = if host == "localhost" || host.starts_with("127.") || host == "[::1]" {
        "http"
    } else {
        "https"
    };
    Ok(format!("{scheme}://{u}"))
}

async fn navigate(ctx: &ToolContext, args: Args) -> Result<ToolOutput, ToolError> {
    let session = ctx.session()?;
    let tab = session.tab(args.tab_id).await?;
    let text = match args.url.trim() {
        "back" | "forward" => history(session, &tab, args.url.trim() == "back").await?,
        "reload" => {
            let stopped = make_way(&tab).await?;
            let limits = Limits {
                nav_max: Duration::from_secs(30),
                ..Limits::default()
            };
            let text = act(session, &tab, limits, || async {
                tab.run("Page.reload", json!({})).await?;
                Ok(String::from("Reloaded."))
            })
            .await?;
            with_note(stopped, text)
        }
        u => {
            let url = normalize_url(u)?;
            go(session, &tab, &url).await?
        }
    };
    Ok(ToolOutput::text(text))
}

/// Navigates `tab` to `url` and waits for the load; returns the account of the result.
pub async fn go(session: &Session, tab: &Arc<Tab>, url: &str) -> Result<String, ToolError> {
    let stopped = make_way(tab).await?;
    let limits = Limits {
        nav_max: Duration::from_secs(30),
        ..Limits::default()
    };
    let mut failure: Option<String> = None;
    let slot = &mut failure;
    let text = act(session, tab, limits, move || async move {
        let r: Value = tab
            .call_with(
                "Page.navigate",
                json!({"url": url}),
                Duration::from_secs(30),
            )
            .await?;
        if let Some(err) = r.get("errorText").and_then(|e| e.as_str()) {
            *slot = Some(err.to_string());
        }
        Ok(String::new())
    })
    .await?;
    if let Some(err) = failure {
        return Err(ToolError(format!(
            "could not load {url}: {err}. Check the address, or that the site is up and reachable from this machine."
        )));
    }
    summary(tab, &text).await.map(|t| with_note(stopped, t))
}

/// How long a page has to answer before it counts as not responding.
const PROBE: Duration = Duration::from_millis(1000);

/// Makes way for leaving the current page, as a person leaving it in Chrome would: an open
/// dialog is dismissed (Chrome closes it when an address is typed), and a page that does not
/// answer — a script that never yields, dialogs that open one after another — is stopped by
/// ending its renderer, which is what Chrome's "Page unresponsive → Exit page" does. Without
/// this the navigation waits for the old page's unload, which never runs: the tab stays
/// where it is. Returns the note for the result when the page had to be stopped.
async fn make_way(tab: &Tab) -> Result<Option<String>, ToolError> {
    if tab.state().crashed {
        return Ok(None);
    }
    let had_dialog = tab.state().dialog.is_some();
    if had_dialog {
        let _ = tab
            .call_with::<Value>(
                "Page.handleJavaScriptDialog",
                json!({"accept": false}),
                Duration::from_secs(2),
            )
            .await;
    }
    let probe = tab.call_with::<Value>(
        "Runtime.evaluate",
        json!({"expression": "0", "returnByValue": true}),
        PROBE,
    );
    // A dialog that opens again at once answers the probe as well as a timeout does.
    let reopened = async {
        tab.wait_for(PROBE, |st| st.dialog.is_some()).await;
    };
    let (answered, dialogs) = tokio::select! {
        r = probe => (r.is_ok() && tab.state().dialog.is_none(), tab.state().dialog.is_some()),
        () = reopened => (false, tab.state().dialog.is_some()),
    };
    if answered {
        return Ok(None);
    }
    let (url, dialogs) = {
        let st = tab.state();
        (st.url.clone(), dialogs || st.dialog.is_some())
    };
    let why = if dialogs {
        "it kept opening dialogs"
    } else {
        "a script on it never yields"
    };
    let crash = tab.call_with::<Value>("Page.crash", json!({}), Duration::from_secs(3));
    let stopped = tokio::select! {
        r = crash => r.is_ok() || tab.state().crashed,
        ok = tab.wait_for(Duration::from_secs(3), |st| st.crashed) => ok,
    };
    if !stopped {
        return Err(ToolError(format!(
            "the page at {url} is not responding ({why}) and could not be stopped, so the tab cannot leave it. Close this tab and open a new one (tabs_create)."
        )));
    }
    {
        // The renderer is gone: its dialog with it. The navigation starts a new one.
        let mut st = tab.state();
        st.dialog = None;
        st.crashed = false;
        st.unresponsive = false;
    }
    tracing::info!("tab {}: stopped the unresponsive page at {url}", tab.id);
    Ok(Some(format!(
        "The page at {url} was not responding ({why}); Tabwright stopped it to leave, as Chrome's \"Exit page\" does."
    )))
}

fn with_note(note: Option<String>, text: String) -> String {
    match note {
        Some(n) => format!("{text}\n{n}"),
        None => text,
    }
}

async fn summary(tab: &Tab, notes: &str) -> Result<String, ToolError> {
    let meta = crate::outline::page_meta(tab).await.ok();
    let st = tab.state();
    let status = st.status_of_current();
    let title = meta.as_ref().map(|m| m.title.clone()).unwrap_or_default();
    let mut out = format!("Loaded {} — \"{}\"", st.url, title);
    if let Some(s) = status {
        out.push_str(&format!(" (HTTP {s})"));
    }
    let silent = st.unresponsive;
    drop(st);
    if silent {
        out.push_str(
            "\nThe page is not responding: a script on it keeps it busy (or dialogs keep opening). Reading or acting on it fails until it answers; navigate elsewhere to leave it.",
        );
    }
    // The report's first line repeats the URL; keep the notes that add something.
    for line in notes
        .lines()
        .filter(|l| !l.is_empty() && !l.starts_with("Page is now"))
    {
        out.push('\n');
        out.push_str(line);
    }
    Ok(out)
}

async fn history(session: &Session, tab: &Arc<Tab>, back: bool) -> Result<String, ToolError> {
    let stopped = make_way(tab).await?;
    let h: Value = tab.call("Page.getNavigationHistory", json!({})).await?;
    let current = h.get("currentIndex").and_then(|c| c.as_i64()).unwrap_or(0);
    let entries = h
        .get("entries")
        .and_then(|e| e.as_array())
        .cloned()
        .unwrap_or_default();
    let target = if back { current - 1 } else { current + 1 };
    let Some(entry) = usize::try_from(target).ok().and_then(|i| entries.get(i)) else {
        return Err(ToolError(format!(
            "there is no page to go {} to in this tab's history",
            if back { "back" } else { "forward" }
        )));
    };
    let id = entry.get("id").and_then(|i| i.as_i64()).unwrap_or(0);
    let limits = Limits {
        nav_max: Duration::from_secs(30),
        ..Limits::default()
    };
    let notes = act(session, tab, limits, move || async move {
        tab.run("Page.navigateToHistoryEntry", json!({"entryId": id}))
            .await?;
        Ok(String::new())
    })
    .await?;
    summary(tab, &notes).await.map(|t| with_note(stopped, t))
}

#[cfg(test)]
mod tests {
    use super::normalize_url;

    #[test]
    fn urls_are_completed_or_refused() {
        assert_eq!(
            normalize_url("example.com").expect("bare"),
            "https://example.com"
        );
        assert_eq!(
            normalize_url("localhost:8080/x").expect("local"),
            "http://localhost:8080/x"
        );
        assert_eq!(normalize_url("http://a.b/").expect("http"), "http://a.b/");
        assert!(normalize_url("javascript:alert(1)").is_err());
        assert!(normalize_url("ftp://x").is_err());
        assert!(normalize_url("  ").is_err());
    }
}
