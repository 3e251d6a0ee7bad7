//! The agent: talks to language models and runs the loop that plans, calls tools and asks
//! for approval.
//!
//! - [`protocol`]: provider-neutral messages, content blocks, tool definitions, requests,
//!   streamed events, stop reasons and token usage (no HTTP, no wire format);
//! - [`providers`]: the [`ModelClient`](providers::ModelClient) trait and its streaming
//!   clients for the Anthropic Messages API and OpenAI-compatible Chat Completions APIs, with
//!   their SSE parser, retries and timeouts;
//! - [`config`]: `--model PROVIDER:MODEL`, keys and base URLs from the environment, the
//!   config file;
//! - [`runner`]: the loop ([`Agent`](runner::Agent)): turns, tool dispatch through the policy
//!   gate, limits, cancellation, context compaction; [`subagents`]: `Task`, `TaskOutput`,
//!   `TaskStop`; [`todo`] and [`ask`]: the `TodoWrite` and `AskUserQuestion` tools;
//! - [`prompt`]: the system prompt from the section files in `prompts/`, the environment block
//!   and system reminders; [`transcript`]: session folders, the JSONL transcript, `--resume`;
//! - [`run_cmd`]: `tabwright run` on a terminal.
//!
//! Boundaries: the loop depends on the `ModelClient` trait only, reaches tools only through
//! the policy [`Gate`](crate::policy::Gate) (which runs the one registry), and knows no
//! browser internals: it never touches `browser`, `outline`, `find` or the tool handlers
//! beyond holding a [`Session`](crate::browser::Session) for the gate to use.

pub mod ask;
pub mod config;
pub mod prompt;
pub mod protocol;
pub mod providers;
pub mod run_cmd;
pub mod runner;
pub mod subagents;
pub mod todo;
pub mod transcript;
