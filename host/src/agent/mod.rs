//! The agent: talks to language models and (later) runs the loop that plans, calls tools and
//! asks for approval.
//!
//! What is here now:
//! - [`protocol`]: provider-neutral messages, content blocks, tool definitions, requests,
//!   streamed events, stop reasons and token usage;
//! - [`providers`]: the [`ModelClient`](providers::ModelClient) trait and its streaming
//!   clients for the Anthropic Messages API and OpenAI-compatible Chat Completions APIs, with
//!   their SSE parser, retries and timeouts;
//! - [`config`]: `--model PROVIDER:MODEL`, keys and base URLs from the environment, the
//!   config file.
//!
//! Later: the loop, prompt assembly, sub-agents, todo and ask-user. The loop depends on the
//! `ModelClient` trait only, and policy (approval, domains, action classes) stays in its own
//! module.
//!
//! Boundaries: this module knows no browser. It names tools only through
//! [`ToolSpec`](crate::tools::ToolSpec) → [`ToolDefinition`](protocol::ToolDefinition); it never
//! touches `browser`, `outline`, `find` or the tool handlers.

pub mod config;
pub mod protocol;
pub mod providers;
