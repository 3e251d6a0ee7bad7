//! `tabwright mcp`: the browser tools served to other agents over stdio or streamable HTTP,
//! optionally behind the host policy and recording each session as a shortcut.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use super::{shutdown_signal, BrowserArgs};
use crate::browser::Browser;
use crate::host::Host;
use crate::policy::{Mode, PolicyConfig, PolicyFile};

/// The options of `tabwright mcp`.
pub struct McpArgs {
    /// Streamable HTTP on this address instead of stdio.
    pub http: Option<SocketAddr>,
    /// Bearer token for HTTP.
    pub token: Option<String>,
    /// Record each session as a shortcut with this name.
    pub save_shortcut: Option<String>,
    /// The shortcuts folder.
    pub shortcuts_dir: Option<PathBuf>,
    /// off, ask or auto.
    pub policy: String,
    /// Domains approved up front.
    pub allow_domains: Vec<String>,
    /// The browser.
    pub browser: BrowserArgs,
}

/// Runs `tabwright mcp`.
pub async fn run(a: McpArgs) -> anyhow::Result<ExitCode> {
    let backend = a.browser.backend().map_err(anyhow::Error::msg)?;
    let policy = match a.policy.as_str() {
        "off" => None,
        "ask" | "auto" => {
            let mut p = PolicyConfig {
                mode: if a.policy == "ask" {
                    Mode::Ask
                } else {
                    Mode::Auto
                },
                allowed_domains: a.allow_domains,
                ..Default::default()
            };
            if let Some(path) = PolicyFile::path() {
                PolicyFile::load(&path)
                    .map_err(anyhow::Error::msg)?
                    .apply(&mut p, true);
            }
            Some(p)
        }
        other => anyhow::bail!("unknown --policy \"{other}\": use off, ask or auto"),
    };
    if let Some(dir) = a.shortcuts_dir {
        crate::shortcuts::store::set_process_dir(dir);
    }
    let b = Browser::new(backend);
    let recordings = a.save_shortcut.as_ref().map(|name| {
        let store = crate::shortcuts::store::Store::at(crate::shortcuts::store::default_dir());
        crate::shortcuts::record::recordings(name, store)
    });
    let host = match policy {
        Some(p) => Host::new(
            b.clone(),
            a.browser.workspace(),
            crate::tools::browser_with_plan(),
        )
        .with_policy(p),
        None => Host::new(b.clone(), a.browser.workspace(), crate::tools::browser()),
    };
    let host = Arc::new(host);
    let serve = async {
        match a.http {
            None => crate::mcp::serve_stdio(host, recordings.clone()).await,
            Some(addr) => {
                let opts = crate::mcp::http::HttpOptions {
                    addr,
                    token: a.token,
                };
                crate::mcp::http::serve_http(host, recordings.clone(), opts, |a| {
                    eprintln!("tabwright: MCP over HTTP at http://{a}/mcp");
                })
                .await
            }
        }
    };
    let result = tokio::select! {
        r = serve => r,
        _ = shutdown_signal() => Ok(()),
    };
    if let Some(rec) = recordings {
        for saved in rec.save_all() {
            match saved {
                Ok(p) => eprintln!("tabwright: saved shortcut {}", p.display()),
                Err(e) => eprintln!("tabwright: cannot save the shortcut: {e}"),
            }
        }
    }
    b.shutdown().await;
    result.map(|_| ExitCode::SUCCESS)
}
