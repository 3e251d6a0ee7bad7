//! `tabwright open URL|FILE`: print the `read_page` outline of a page.

use std::process::ExitCode;

use super::{print_out, BrowserArgs};
use crate::browser::Browser;
use crate::host::Host;

/// Runs `tabwright open`.
pub async fn run(url: &str, interactive: bool, browser: &BrowserArgs) -> anyhow::Result<ExitCode> {
    let url = super::url_or_file(url);
    let backend = browser.backend().map_err(anyhow::Error::msg)?;
    let b = Browser::new(backend);
    let ctx = Host::new(b.clone(), browser.workspace(), crate::tools::browser()).one_shot();
    let nav = ctx
        .call_tool("navigate", serde_json::json!({"url": url}))
        .await;
    let out = match nav {
        Ok(n) => {
            eprintln!("{}", n.text);
            let filter = if interactive { "interactive" } else { "all" };
            ctx.call_tool("read_page", serde_json::json!({"filter": filter}))
                .await
        }
        Err(e) => Err(e),
    };
    b.shutdown().await;
    match out {
        Ok(o) => {
            print_out(&o.text);
            Ok(ExitCode::SUCCESS)
        }
        Err(e) => {
            eprintln!("tabwright: {e}");
            Ok(ExitCode::FAILURE)
        }
    }
}
