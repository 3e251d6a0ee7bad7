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
#[derive(clap::Args, Debug)]
pub struct McpArgs {
    /// Serve streamable HTTP on this loopback address instead of stdio, e.g. 127.0.0.1:8931.
    #[arg(long)]
    http: Option<SocketAddr>,
    /// Require `Authorization: Bearer TOKEN` on HTTP requests (or set TABWRIGHT_TOKEN).
    #[arg(long, env = "TABWRIGHT_TOKEN")]
    token: Option<String>,
    /// Record the acting tool calls as a shortcut saved under this name (one per MCP
    /// session: NAME, NAME-2 …), rewritten after every step and when the server ends.
    #[arg(long, value_name = "NAME")]
    save_shortcut: Option<String>,
    /// The shortcuts folder (default: $XDG_DATA_HOME/tabwright/shortcuts).
    #[arg(long, env = "TABWRIGHT_SHORTCUTS_DIR", value_name = "DIR")]
    shortcuts_dir: Option<PathBuf>,
    /// Put tool calls behind the host policy: off (default: the client's own approvals
    /// apply), ask (a plan must be approved; risky actions and off-plan domains are
    /// asked through MCP elicitation) or auto (risky actions still asked).
    #[arg(long, default_value = "off")]
    policy: String,
    /// A domain approved up front (repeatable), with --policy.
    #[arg(long = "allow-domain", value_name = "DOMAIN")]
    allow_domains: Vec<String>,
    /// A domain where page scripts run without confirming each one (repeatable), with --policy.
    #[arg(long = "allow-scripts", value_name = "DOMAIN")]
    allow_scripts: Vec<String>,
    /// Also serve the workspace tools (Bash in the sandbox, Read, Write, Edit, Glob, Grep,
    /// NotebookEdit, WebFetch, WebSearch, request_directory, present_files) over the
    /// workspace folder.
    #[arg(long)]
    workspace_tools: bool,
    #[command(flatten)]
    browser: BrowserArgs,
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
                script_domains: a.allow_scripts,
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
    let mut tools = match policy {
        Some(_) => crate::tools::browser_with_plan(),
        None => crate::tools::browser(),
    };
    if a.workspace_tools {
        tools.extend(&crate::tools::workspace());
    }
    let host = Host::new(b.clone(), a.browser.workspace(), tools);
    let host = match policy {
        Some(p) => host.with_policy(p),
        None => host,
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
