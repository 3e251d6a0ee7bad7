//! `read_console_messages` and `read_network_requests`: what the page logged and fetched
//! since it loaded (or since the last clear).

use serde::Deserialize;
use serde_json::json;

use super::args::{object, tab_id};
use super::{ActionClass, Registry, ToolContext, ToolError, ToolOutput, ToolSpec};
use crate::browser::TabId;
use crate::tool;

pub(super) fn register(r: &mut Registry) {
    super::add::<Console>(r);
    super::add::<Network>(r);
}

fn pattern(
    p: &Option<String>,
    field: &str,
    tool: &str,
) -> Result<Option<regex_lite::Regex>, ToolError> {
    match p {
        None => Ok(None),
        Some(p) => regex_lite::RegexBuilder::new(p)
            .case_insensitive(true)
            .build()
            .map(Some)
            .map_err(|e| {
                ToolError(format!(
                    "invalid parameters for {tool}: field `{field}` is not a valid pattern: {e}"
                ))
            }),
    }
}

/// The last `limit` entries, saying how many were left out; `empty` when there are none.
fn tail(picked: &[String], limit: usize, empty: &str) -> String {
    if picked.is_empty() {
        return empty.to_string();
    }
    let skip = picked.len().saturating_sub(limit);
    let mut out = String::new();
    if skip > 0 {
        out.push_str(&format!("(showing the last {limit} of {})\n", picked.len()));
    }
    out.push_str(&picked[skip..].join("\n"));
    out
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ConsoleArgs {
    #[serde(default)]
    only_errors: bool,
    pattern: Option<String>,
    limit: Option<usize>,
    #[serde(default)]
    clear: bool,
    tab_id: Option<TabId>,
}

tool!(
    Console,
    ConsoleArgs,
    ToolSpec::new(
        "read_console_messages",
        "Read the page's console messages and uncaught errors since it loaded (or since the last clear). \
                      only_errors keeps errors and exceptions; pattern filters by a case-insensitive regular expression; \
                      clear empties the list after reading.",
        object(
            json!({
                "only_errors": {"type": "boolean"},
                "pattern": {"type": "string", "description": "Regular expression the message must match."},
                "limit": {"type": "integer", "minimum": 1, "description": "Most recent entries to return (default 100)."},
                "clear": {"type": "boolean"},
                "tab_id": tab_id(),
            }),
            &[]
        ),
        ActionClass::Read,
    ),
    console
);

async fn console(ctx: &ToolContext, a: ConsoleArgs) -> Result<ToolOutput, ToolError> {
    let session = ctx.session()?;
    let re = pattern(&a.pattern, "pattern", "read_console_messages")?;
    let tab = session.tab(a.tab_id).await?;
    let limit = a.limit.unwrap_or(100).max(1);
    let mut st = tab.state();
    let picked: Vec<String> = st
        .console
        .iter()
        .filter(|e| {
            !a.only_errors || e.level == "error" || e.level == "exception" || e.level == "assert"
        })
        .filter(|e| re.as_ref().is_none_or(|r| r.is_match(&e.text)))
        .map(|e| match &e.source {
            Some(s) => format!("[{}] {} ({s})", e.level, e.text),
            None => format!("[{}] {}", e.level, e.text),
        })
        .collect();
    if a.clear {
        st.console.clear();
    }
    drop(st);
    Ok(ToolOutput::text(tail(
        &picked,
        limit,
        "No console messages match.",
    )))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NetworkArgs {
    url_pattern: Option<String>,
    limit: Option<usize>,
    #[serde(default)]
    clear: bool,
    tab_id: Option<TabId>,
}

tool!(
    Network,
    NetworkArgs,
    ToolSpec::new(
        "read_network_requests",
        "List the page's network requests since it loaded (or since the last clear): method, URL, status, type, \
                      time. url_pattern filters by a case-insensitive regular expression; clear empties the list.",
        object(
            json!({
                "url_pattern": {"type": "string"},
                "limit": {"type": "integer", "minimum": 1, "description": "Most recent requests to return (default 100)."},
                "clear": {"type": "boolean"},
                "tab_id": tab_id(),
            }),
            &[]
        ),
        ActionClass::Read,
    ),
    network
);

async fn network(ctx: &ToolContext, a: NetworkArgs) -> Result<ToolOutput, ToolError> {
    let session = ctx.session()?;
    let re = pattern(&a.url_pattern, "url_pattern", "read_network_requests")?;
    let tab = session.tab(a.tab_id).await?;
    let limit = a.limit.unwrap_or(100).max(1);
    let mut st = tab.state();
    let picked: Vec<String> = st
        .network
        .iter()
        .filter(|n| re.as_ref().is_none_or(|r| r.is_match(&n.url)))
        .map(|n| {
            let status = match (&n.failed, n.status) {
                (Some(f), _) => format!("failed: {f}"),
                (None, Some(s)) => s.to_string(),
                (None, None) => "pending".into(),
            };
            let time = n
                .duration
                .map(|d| format!(" {} ms", d.as_millis()))
                .unwrap_or_default();
            format!("{} {} → {} [{}]{time}", n.method, n.url, status, n.kind)
        })
        .collect();
    if a.clear {
        st.network.clear();
    }
    drop(st);
    Ok(ToolOutput::text(tail(
        &picked,
        limit,
        "No network requests match.",
    )))
}
