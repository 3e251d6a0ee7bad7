//! `tabs_context` and `tabs_create`: the session's tabs and new ones.

use serde::Deserialize;
use serde_json::json;

use super::args::{object, tab_id};
use super::{ActionClass, Registry, ToolContext, ToolError, ToolOutput, ToolSpec};
use crate::policy::Effects;
use crate::tool;

pub(super) fn register(r: &mut Registry) {
    super::add::<TabsContext>(r);
    super::add::<TabsCreate>(r);
    let _ = tab_id;
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ContextArgs {
    #[serde(default)]
    create_if_empty: bool,
}

tool!(
    TabsContext,
    ContextArgs,
    ToolSpec::new(
        "tabs_context",
        "List this session's browser tabs (id, title, url, which is active) and which browser is in use. \
                      Call it first; with create_if_empty=true a blank tab is opened when there is none.",
        object(json!({"create_if_empty": {"type": "boolean", "description": "Open a blank tab when the session has none."}}), &[]),
        ActionClass::Read,
    ),
    tabs_context
);

async fn tabs_context(ctx: &ToolContext, args: ContextArgs) -> Result<ToolOutput, ToolError> {
    let session = ctx.session()?;
    let live = session.live().await?;
    session.sync(&live);
    if args.create_if_empty && session.tab_ids().0.is_empty() {
        session.create_tab("about:blank").await?;
    }
    let (ids, active) = session.tab_ids();
    live.refresh_targets().await;
    let targets = live.targets();
    let mut out = format!(
        "Browser: {} — {}\n",
        live.product,
        session.browser.backend().describe()
    );
    if ids.is_empty() {
        out.push_str("No tabs yet. Call navigate (it opens a tab) or tabs_create.");
    } else {
        out.push_str("Tabs:\n");
        for t in targets.iter().filter(|t| ids.contains(&t.tab_id)) {
            let mark = if Some(t.tab_id) == active {
                " (active)"
            } else {
                ""
            };
            out.push_str(&format!(
                "- tab {}{mark}: \"{}\" {}\n",
                t.tab_id, t.title, t.url
            ));
        }
    }
    Ok(ToolOutput::text(out.trim_end()))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CreateArgs {
    url: Option<String>,
}

tool!(
    TabsCreate,
    CreateArgs,
    ToolSpec::new(
        "tabs_create",
        "Open a new tab (blank, or at url) and make it the active tab. Returns its tab id.",
        object(
            json!({"url": {"type": "string", "description": "Page to open (default about:blank)."}}),
            &[]
        ),
        ActionClass::Act,
    ),
    tabs_create,
    create_effects
);

/// A new tab goes to its URL (none: a blank tab).
async fn create_effects(_ctx: &ToolContext, a: &CreateArgs) -> Effects {
    Effects {
        class: Some(ActionClass::Act),
        urls: a
            .url
            .iter()
            .map(|u| super::navigate::normalize_url(u).unwrap_or_else(|_| u.clone()))
            .collect(),
        ..Effects::default()
    }
}

async fn tabs_create(ctx: &ToolContext, args: CreateArgs) -> Result<ToolOutput, ToolError> {
    let session = ctx.session()?;
    let url = match args.url.as_deref() {
        Some(u) => super::navigate::normalize_url(u)?,
        None => "about:blank".to_string(),
    };
    let tab = session.create_tab("about:blank").await?;
    if url != "about:blank" {
        let r = super::navigate::go(session, &tab, &url).await?;
        return Ok(ToolOutput::text(format!(
            "Opened tab {} (now active).\n{r}",
            tab.id
        )));
    }
    Ok(ToolOutput::text(format!(
        "Opened tab {} (now active) at about:blank.",
        tab.id
    )))
}
