//! `resize_window`: set the viewport size.

use serde::Deserialize;
use serde_json::json;

use super::args::{object, tab_id};
use super::inspect;
use super::{ActionClass, Registry, ToolContext, ToolError, ToolOutput, ToolSpec};
use crate::browser::TabId;
use crate::policy::Effects;
use crate::tool;

pub(super) fn register(r: &mut Registry) {
    super::add::<Resize>(r);
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Args {
    width: u32,
    height: u32,
    tab_id: Option<TabId>,
}

tool!(
    Resize,
    Args,
    ToolSpec::new(
        "resize_window",
        "Set the page's viewport to width x height CSS pixels (e.g. 390x844 for a phone-sized layout).",
        object(
            json!({
                "width": {"type": "integer", "minimum": 100, "maximum": 8192},
                "height": {"type": "integer", "minimum": 100, "maximum": 8192},
                "tab_id": tab_id(),
            }),
            &["width", "height"]
        ),
        ActionClass::Act,
    ),
    resize,
    effects
);

/// Resizing acts on the tab's page.
async fn effects(ctx: &ToolContext, a: &Args) -> Effects {
    inspect::page(ctx, a.tab_id).await
}

async fn resize(ctx: &ToolContext, a: Args) -> Result<ToolOutput, ToolError> {
    let session = ctx.session()?;
    if !(100..=8192).contains(&a.width) || !(100..=8192).contains(&a.height) {
        return Err(ToolError(
            "invalid parameters for resize_window: width and height must be between 100 and 8192"
                .into(),
        ));
    }
    let tab = session.tab(a.tab_id).await?;
    tab.run(
        "Emulation.setDeviceMetricsOverride",
        json!({"width": a.width, "height": a.height, "deviceScaleFactor": 1, "mobile": false}),
    )
    .await?;
    // Headed windows follow, so what a person sees matches.
    if let Ok(w) = tab
        .call::<serde_json::Value>("Browser.getWindowForTarget", json!({}))
        .await
    {
        if let Some(id) = w.get("windowId") {
            let _ = tab
                .cdp()
                .run(
                    None,
                    "Browser.setWindowBounds",
                    json!({"windowId": id, "bounds": {"width": a.width, "height": a.height + 85}}),
                )
                .await;
        }
    }
    let m = crate::outline::page_meta(&tab).await?;
    Ok(ToolOutput::text(format!(
        "The viewport is now {}x{}.",
        m.vw, m.vh
    )))
}
