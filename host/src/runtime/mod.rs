//! The tool runtime: every tool is an entry of one [`Registry`], and every call, whoever makes
//! it (the model, an MCP client, a shortcut step, a sub-agent, a scheduled run), goes through
//! one door, [`Runtime::call`]: parse → effects → policy → ask the person → run → mark untrusted
//! output → audit → observers.
//!
//! Owns: the [`Tool`] trait and the typed [`Handler`] (with the `tool!` macro), [`ToolSpec`],
//! [`ToolOutput`] and [`ToolError`], the [`ToolContext`] a call runs over, the call observers
//! ([`trace`]) and the door. Tools themselves live in modules above this one (the browser tools
//! and `update_plan` in `tools`, the agent's own in `agent`).
//!
//! May use: [`crate::policy`] (decisions, audit, marking), [`crate::frontend`] (asking the
//! person, events) and [`crate::browser`] (the session is one of the context's capabilities).

mod context;
mod registry;
pub mod scope;
mod spec;
mod tool;
pub mod trace;

pub use context::{State, ToolContext};
pub use registry::{describe_action, Registry, Runtime};
pub use scope::ToolScope;
pub use spec::{parse_args, ActionClass, Image, ToolError, ToolOutput, ToolSpec, Trust};
pub use tool::{spec_effects, Handler, Invocation, Tool, Typed};
