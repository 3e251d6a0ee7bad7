//! Tabwright: an open browser agent. This crate is the host: the browser layer over CDP, the
//! one tool registry, the accessibility outline, offline element search, the MCP server and
//! the fixture server the tests and demos use.
//!
//! Map (see DESIGN.md): [`browser`] owns the CDP connection, tabs and waiting; [`outline`]
//! turns pages into the outline with refs; [`find`] ranks elements for a query; [`tools`] is
//! the registry every front end uses; [`mcp`] serves it to other agents; [`fixture_server`]
//! serves `fixtures/`; [`cli`] is the command line; [`agent`] talks to language models;
//! [`shortcuts`] records, imports and replays browser flows without a model; [`bridge`] lets
//! the tools drive a person's own Chrome through the extension; [`egress`] is the proxy that
//! holds a guarded browser context's (and a sandbox's) connections to the policy's domains;
//! [`sandbox`] confines the shell commands of the workspace tools.

#![warn(missing_docs)]

pub mod agent;
pub mod bridge;
pub mod browser;
pub mod cli;
pub mod egress;
pub mod find;
pub mod fixture_server;
pub mod frontend;
pub mod host;
pub mod mcp;
pub mod outline;
pub mod plugins;
pub mod policy;
pub mod recording;
pub mod runtime;
pub mod sandbox;
pub mod schedule;
pub mod shortcuts;
pub mod skills;
#[cfg(any(test, feature = "test-support"))]
pub mod testing;
pub mod tools;

/// A boxed future, so async trait methods can be stored as trait objects.
pub type BoxFuture<'a, T> = std::pin::Pin<Box<dyn std::future::Future<Output = T> + Send + 'a>>;
