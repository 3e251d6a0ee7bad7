//! The `extension` backend: a person's own browser, reached through the Tabwright extension's
//! CDP relay (see [`crate::bridge`]). This module only finds the relay; the CDP client then
//! talks to it like to any browser endpoint.

use std::time::Duration;

use crate::bridge::runtime::{self, RuntimeInfo};

/// How to pick the connected browser.
#[derive(Debug, Clone, Default)]
pub struct ExtensionOptions {
    /// A browser id, or part of its name or profile path; `None` = the first connected one.
    pub select: Option<String>,
    /// How long to wait for a browser to connect before giving up.
    pub wait: Duration,
}

/// Finds the relay of the chosen browser (`choice` overrides the options' selection), waiting
/// (bounded, polling the runtime directory) for it to connect.
pub async fn resolve(opts: &ExtensionOptions, choice: Option<&str>) -> Result<RuntimeInfo, String> {
    let want = choice.or(opts.select.as_deref());
    let deadline = tokio::time::Instant::now() + opts.wait;
    loop {
        let list = runtime::list_live_all();
        match runtime::pick(&list, want) {
            Ok(info) => return Ok(info),
            Err(e) if tokio::time::Instant::now() >= deadline => return Err(e.0),
            Err(_) => tokio::time::sleep(Duration::from_millis(50)).await,
        }
    }
}

/// The browsers connected right now.
pub fn connected() -> Vec<RuntimeInfo> {
    runtime::list_live_all()
}
