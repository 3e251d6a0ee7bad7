//! `resize_window`: set the viewport size.

use std::sync::Arc;

use serde::Deserialize;
use serde_json::json;

use super::args::{object, tab_id};
use super::{tool, ActionClass, Registry, ToolError, ToolOutput, ToolSpec};
use crate::browser::{Session, TabId};

pub(super) fn register(r: &mut Registry) {
    r.add(Arc::new(Resize));
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
    ToolSpec {
        name: "resize_window",
        description: "Set the page's viewport to width x height CSS pixels (e.g. 390x844 for a phone-sized layout).",
        schema: object(
            json!({
                "width": {"type": "integer", "minimum": 100, "maximum": 8192},
                "height": {"type": "integer", "minimum": 100, "maximum": 8192},
                "tab_id": tab_id(),
            }),
            &["width", "height"]
        ),
        class: ActionClass::Act,
    },
    resize
);

async fn resize(session: &Session, a: Args) -> Result<ToolOutput, ToolError> {
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
