//! The host, assembled in one place: a browser, a workspace, the tools a front end offers and
//! the policy they run behind. Every command builds its runtime and tool contexts here
//! (`run`, `mcp`, `replay`, `call`, `open`), so none wires the pieces its own way.
//!
//! May use: [`crate::browser`], [`crate::policy`] and [`crate::runtime`]. The CLI and the MCP
//! server use it.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::browser::{Browser, Session};
use crate::policy::{AuditLog, Policy, PolicyConfig};
use crate::runtime::{Registry, Runtime, ToolContext};

/// What the host offers a front end.
pub struct Host {
    browser: Arc<Browser>,
    workspace: PathBuf,
    registry: Registry,
    policy: Option<PolicyConfig>,
}

impl Host {
    /// A host over `browser` offering `registry`, with no policy (every call allowed, as for
    /// `replay`, `call` and `mcp` without `--policy`).
    pub fn new(browser: Arc<Browser>, workspace: PathBuf, registry: Registry) -> Host {
        Host {
            browser,
            workspace,
            registry,
            policy: None,
        }
    }

    /// The same host with every call behind this policy.
    pub fn with_policy(mut self, config: PolicyConfig) -> Host {
        self.policy = Some(config);
        self
    }

    /// The browser.
    pub fn browser(&self) -> &Arc<Browser> {
        &self.browser
    }

    /// The workspace folder.
    pub fn workspace(&self) -> &Path {
        &self.workspace
    }

    /// The tools offered.
    pub fn registry(&self) -> &Registry {
        &self.registry
    }

    /// The policy's settings, if calls are gated.
    pub fn policy_config(&self) -> Option<&PolicyConfig> {
        self.policy.as_ref()
    }

    /// A runtime for one front-end session (an agent run, an MCP connection): with a policy,
    /// its approvals are this session's own and its calls go to `audit`.
    pub fn runtime(&self, audit: Option<AuditLog>) -> Arc<Runtime> {
        let policy = self.policy.clone().map(|c| Arc::new(Policy::new(c, audit)));
        Runtime::new(self.registry.clone(), policy)
    }

    /// A tool context over `runtime` with a browser session of its own.
    pub fn context(&self, runtime: Arc<Runtime>) -> ToolContext {
        ToolContext::new(runtime, self.workspace.clone()).with_session(Arc::new(Session::new(
            self.browser.clone(),
            self.workspace.clone(),
        )))
    }

    /// A context over a runtime of its own, without a policy's audit log: for one-shot
    /// commands (`open`, `call`, `replay`).
    pub fn one_shot(&self) -> ToolContext {
        self.context(self.runtime(None))
    }
}
