//! `tabwright call TOOL ARGS`: one tool call, for scripts.

use std::process::ExitCode;

use super::{print_out, BrowserArgs};
use crate::browser::Browser;
use crate::host::Host;

/// Runs `tabwright call`.
pub async fn run(
    tool: &str,
    args: &str,
    url: Option<String>,
    browser: &BrowserArgs,
) -> anyhow::Result<ExitCode> {
    let backend = browser.backend().map_err(anyhow::Error::msg)?;
    let args: serde_json::Value = serde_json::from_str(args)
        .map_err(|e| anyhow::anyhow!("the arguments are not JSON: {e}"))?;
    let b = Browser::new(backend);
    let ctx = Host::new(b.clone(), browser.workspace(), crate::tools::browser()).one_shot();
    if let Some(u) = url {
        let u = super::url_or_file(&u);
        if let Err(e) = ctx
            .call_tool("navigate", serde_json::json!({"url": u}))
            .await
        {
            b.shutdown().await;
            anyhow::bail!("{e}");
        }
    }
    let r = ctx.call_tool(tool, args).await;
    b.shutdown().await;
    match r {
        Ok(o) => {
            print_out(&o.text);
            for i in o.images {
                print_out(&format!("[image {} {} bytes base64]", i.mime, i.data.len()));
            }
            Ok(ExitCode::SUCCESS)
        }
        Err(e) => {
            eprintln!("tabwright: {e}");
            Ok(ExitCode::FAILURE)
        }
    }
}
