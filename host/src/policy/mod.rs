//! Policy, enforced by the host rather than by prompts: the permission mode, plan approval and
//! approved domains, risky-action confirmation, prohibited domains and actions, untrusted-content
//! marking and the audit log.
//!
//! Owns: the [`Gate`] every agent tool call passes, the pure [`rules`], page [`inspect`]ion for
//! the facts the rules need, the [`approval`] front ends, the [`audit`] log and the
//! [`untrusted`] wrapper. May touch: the tool registry (to run calls) and the browser session
//! (read-only looks at the page before acting). Page content never changes a decision except
//! through the facts the rules read from the DOM.

pub mod approval;
pub mod audit;
mod gate;
pub mod inspect;
pub mod rules;
pub mod untrusted;

pub use approval::{
    ApprovalAnswer, ApprovalRequest, Approver, ChannelApprover, NoApprover, TerminalApprover,
};
pub use audit::AuditLog;
pub use gate::{update_plan_spec, ApprovalRequestKind, Decision, Gate, Plan};

pub(crate) use crate::tools::BoxFuture;

/// How much the agent may do without asking.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Mode {
    /// A plan must be approved before acting; off-plan domains and risky actions are asked.
    #[default]
    Ask,
    /// Act without a plan; risky actions are still confirmed every time.
    Auto,
}

/// The policy's settings.
#[derive(Debug, Clone)]
pub struct PolicyConfig {
    /// The permission mode.
    pub mode: Mode,
    /// Domains approved up front (`--allow-domain`); in `auto` mode, when not empty, the only
    /// domains the agent may go to.
    pub allowed_domains: Vec<String>,
    /// Domains never touched.
    pub prohibited_domains: Vec<String>,
    /// Tool names (`javascript_tool`) or risk kinds (`purchase`, `send`, `account_creation`,
    /// `deletion`, `download`, `upload`, `script`) never allowed.
    pub prohibited_tools: Vec<String>,
}

impl Default for PolicyConfig {
    fn default() -> PolicyConfig {
        PolicyConfig {
            mode: Mode::Ask,
            allowed_domains: Vec::new(),
            prohibited_domains: rules::DEFAULT_PROHIBITED_DOMAINS
                .iter()
                .map(|s| s.to_string())
                .collect(),
            prohibited_tools: Vec::new(),
        }
    }
}
