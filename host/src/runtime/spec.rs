//! What a tool is to the outside ([`ToolSpec`]) and what a call gives back ([`ToolOutput`] or a
//! [`ToolError`] worded for the model).

use serde_json::Value;

use crate::browser::session::SessionError;
use crate::browser::{BrowserError, CdpError};
pub use crate::policy::ActionClass;

/// Whether a tool's output may carry content from outside (pages, remote servers) that the
/// model must read as data, never as instructions.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Trust {
    /// The output is the host's own words (a plan's answer, the todo list).
    Trusted,
    /// The output carries outside content; the runtime marks it when a policy is on.
    Untrusted,
}

/// A tool's public description, projected to the model, to MCP clients and to front ends.
#[derive(Debug, Clone)]
pub struct ToolSpec {
    /// The tool's name (TOOLS.md).
    pub name: String,
    /// What it does, for the model.
    pub description: String,
    /// JSON Schema of its parameters.
    pub schema: Value,
    /// The most a call can do; each call declares its own effects (see [`crate::policy::Effects`]).
    pub class: ActionClass,
    /// Whether its output carries outside content.
    pub trust: Trust,
    /// Whether calls may run alongside other parallel calls of the same turn.
    pub parallel: bool,
}

impl ToolSpec {
    /// A spec whose output is untrusted and which runs in parallel when it only reads.
    pub fn new(
        name: impl Into<String>,
        description: impl Into<String>,
        schema: Value,
        class: ActionClass,
    ) -> ToolSpec {
        ToolSpec {
            name: name.into(),
            description: description.into(),
            schema,
            class,
            trust: Trust::Untrusted,
            parallel: class == ActionClass::Read,
        }
    }

    /// The same spec with output in the host's own words.
    pub fn trusted(mut self) -> ToolSpec {
        self.trust = Trust::Trusted;
        self
    }

    /// The same spec, run one call at a time (it asks the person, or changes shared state).
    pub fn serial(mut self) -> ToolSpec {
        self.parallel = false;
        self
    }
}

/// An image returned by a tool.
#[derive(Debug, Clone)]
pub struct Image {
    /// MIME type, e.g. `image/png`.
    pub mime: String,
    /// Base64 data.
    pub data: String,
}

/// A tool's successful result: text, plus images where the tool makes them.
#[derive(Debug, Clone, Default)]
pub struct ToolOutput {
    /// The text the model reads.
    pub text: String,
    /// Images (screenshots).
    pub images: Vec<Image>,
}

impl ToolOutput {
    /// A text-only result.
    pub fn text(text: impl Into<String>) -> ToolOutput {
        ToolOutput {
            text: text.into(),
            images: Vec::new(),
        }
    }
}

/// A tool failure, worded for the model: what happened and what to do. It goes back to the
/// model as an error result; the session goes on.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{0}")]
pub struct ToolError(pub String);

impl ToolError {
    /// A new error from a message.
    pub fn new(msg: impl Into<String>) -> ToolError {
        ToolError(msg.into())
    }
}

impl From<CdpError> for ToolError {
    fn from(e: CdpError) -> ToolError {
        match e {
            CdpError::Closed(_) => ToolError(format!("{e}. The next call starts a new browser.")),
            other => ToolError(other.to_string()),
        }
    }
}

impl From<BrowserError> for ToolError {
    fn from(e: BrowserError) -> ToolError {
        ToolError(e.to_string())
    }
}

impl From<SessionError> for ToolError {
    fn from(e: SessionError) -> ToolError {
        ToolError(e.to_string())
    }
}

/// Parses a tool's arguments, naming the offending field on failure.
pub fn parse_args<T: serde::de::DeserializeOwned>(tool: &str, args: Value) -> Result<T, ToolError> {
    serde_path_to_error::deserialize(args).map_err(|e| {
        let path = e.path().to_string();
        let inner = e.into_inner().to_string();
        let inner = inner
            .split(" at line ")
            .next()
            .unwrap_or(&inner)
            .to_string();
        if path == "." || path.is_empty() {
            ToolError(format!("invalid parameters for {tool}: {inner}"))
        } else {
            ToolError(format!(
                "invalid parameters for {tool}: field `{path}`: {inner}"
            ))
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(serde::Deserialize, Debug)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct A {
        url: String,
        depth: Option<u32>,
    }

    #[test]
    fn errors_name_the_field() {
        let e = parse_args::<A>("navigate", serde_json::json!({})).expect_err("missing");
        assert!(e.0.contains("missing field `url`"), "{}", e.0);
        let e = parse_args::<A>("navigate", serde_json::json!({"url": "x", "depth": "deep"}))
            .expect_err("type");
        assert!(e.0.contains("field `depth`"), "{}", e.0);
        let e = parse_args::<A>("navigate", serde_json::json!({"url": "x", "bogus": 1}))
            .expect_err("unknown");
        assert!(e.0.contains("unknown field `bogus`"), "{}", e.0);
    }
}
