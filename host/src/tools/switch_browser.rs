//! `switch_browser`: the browsers connected through the Tabwright extension, and which one this
//! session uses (the choice is per session; other sessions keep theirs).

use serde::Deserialize;
use serde_json::json;

use super::args::object;
use super::{ActionClass, Registry, ToolContext, ToolError, ToolOutput, ToolSpec};
use crate::bridge::runtime;
use crate::browser::{extension, Backend};
use crate::tool;

pub(super) fn register(r: &mut Registry) {
    super::add::<SwitchBrowser>(r);
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Args {
    browser_id: Option<String>,
}

tool!(
    SwitchBrowser,
    Args,
    ToolSpec::new(
        "switch_browser",
        "List the browsers connected through the Tabwright extension (id, name, profile) and which one this session uses; \
                      with browser_id, use that browser from now on (this session's tab list starts over: call tabs_context).",
        object(
            json!({"browser_id": {"type": "string", "description": "The id (or part of the name) of a connected browser."}}),
            &[]
        ),
        ActionClass::Read,
    ),
    switch_browser
);

async fn switch_browser(ctx: &ToolContext, a: Args) -> Result<ToolOutput, ToolError> {
    let session = ctx.session()?;
    if !matches!(session.browser.backend(), Backend::Extension(_)) {
        return match a.browser_id {
            Some(_) => Err(ToolError::new(format!(
                "this server drives one browser ({}); switching needs `--browser extension`",
                session.browser.backend().describe()
            ))),
            None => Ok(ToolOutput::text(format!(
                "One browser: {}. Start with `--browser extension` to use the browsers where the Tabwright extension is connected.",
                session.browser.backend().describe()
            ))),
        };
    }
    let list = extension::connected();
    let mut note = String::new();
    if let Some(want) = a.browser_id.as_deref() {
        let info = runtime::pick(&list, Some(want)).map_err(|e| ToolError(e.0))?;
        session.choose_browser(Some(info.browser.id.clone()));
        match session.live().await {
            Ok(_) => note = format!("Now using {} ({}).\n", info.browser.id, info.browser.name),
            Err(e) => {
                return Err(ToolError::new(format!(
                    "cannot use {}: {e}",
                    info.browser.id
                )))
            }
        }
    }
    if list.is_empty() {
        return Err(ToolError::new(
            runtime::pick(&list, None).err().unwrap_or_default().0,
        ));
    }
    // The browser in use: the session's choice, else what its live connection reached.
    let current = match session.browser_choice() {
        Some(c) => Some(c),
        None => session
            .live()
            .await
            .ok()
            .and_then(|l| l.via_extension.as_ref().map(|b| b.id.clone())),
    };
    let mut out = note;
    out.push_str("Connected browsers:\n");
    for i in &list {
        let mark = if current.as_deref() == Some(i.browser.id.as_str()) {
            " (in use)"
        } else {
            ""
        };
        out.push_str(&format!(
            "- {}: {} — {}{}{mark}\n",
            i.browser.id,
            i.browser.name,
            i.browser.product,
            i.browser
                .profile
                .as_deref()
                .map(|p| format!(", profile {p}"))
                .unwrap_or_default()
        ));
    }
    Ok(ToolOutput::text(out.trim_end()))
}
