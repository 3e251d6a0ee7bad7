//! The one tool registry: every tool defined once (name, JSON schema, action class, handler)
//! and projected to MCP clients, the agent loop, the side panel and the replay engine.
//!
//! One file per tool group, each with its schema next to its handler. Tools talk to the
//! browser through [`Session`] only; they never know which backend is in use. A tool's failure
//! is a [`ToolError`] whose message tells the model what to do next.

mod args;
mod computer;
mod element;
mod find;
mod form_input;
mod gif;
mod javascript;
mod logs;
mod navigate;
mod page_text;
mod read_page;
mod report;
mod resize;
mod shortcuts;
mod switch_browser;
mod tabs;
pub mod trace;
mod upload;

use std::collections::BTreeMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use serde_json::Value;

use crate::browser::session::SessionError;
use crate::browser::{BrowserError, CdpError, Session};

/// What a tool does to the world; the policy layer decides from this.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ActionClass {
    /// No side effects.
    Read,
    /// Changes page state.
    Act,
    /// Needs explicit confirmation (purchases, sending, deleting, uploads …).
    Risky,
    /// Never allowed.
    Prohibited,
}

/// A tool's public description.
#[derive(Debug, Clone)]
pub struct ToolSpec {
    /// The tool's name (TOOLS.md).
    pub name: &'static str,
    /// What it does, for the model.
    pub description: &'static str,
    /// JSON Schema of its parameters.
    pub schema: Value,
    /// Its action class.
    pub class: ActionClass,
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

/// A tool failure, worded for the model: what happened and what to do.
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

/// A boxed future, so handlers can be stored as trait objects.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// One tool.
pub trait ToolHandler: Send + Sync {
    /// Its public description.
    fn spec(&self) -> ToolSpec;
    /// Runs it.
    fn call<'a>(
        &'a self,
        session: &'a Session,
        args: Value,
    ) -> BoxFuture<'a, Result<ToolOutput, ToolError>>;
}

/// The registry of tools by name.
#[derive(Clone, Default)]
pub struct Registry {
    tools: BTreeMap<&'static str, (ToolSpec, Arc<dyn ToolHandler>)>,
    order: Vec<&'static str>,
}

impl Registry {
    /// An empty registry.
    pub fn new() -> Registry {
        Registry::default()
    }

    /// The browser tools of TOOLS.md.
    pub fn browser() -> Registry {
        let mut r = Registry::new();
        tabs::register(&mut r);
        navigate::register(&mut r);
        read_page::register(&mut r);
        find::register(&mut r);
        computer::register(&mut r);
        form_input::register(&mut r);
        page_text::register(&mut r);
        javascript::register(&mut r);
        logs::register(&mut r);
        resize::register(&mut r);
        upload::register(&mut r);
        switch_browser::register(&mut r);
        gif::register(&mut r);
        shortcuts::register(&mut r);
        r
    }

    /// A registry with only the named tools (unknown names are ignored).
    pub fn only(&self, names: &[String]) -> Registry {
        let mut r = Registry::new();
        for n in &self.order {
            if names.iter().any(|x| x == n) {
                if let Some((_, t)) = self.tools.get(n) {
                    r.add(t.clone());
                }
            }
        }
        r
    }

    /// Adds a tool (a later one with the same name replaces the earlier).
    pub fn add(&mut self, tool: Arc<dyn ToolHandler>) {
        let spec = tool.spec();
        if !self.tools.contains_key(spec.name) {
            self.order.push(spec.name);
        }
        self.tools.insert(spec.name, (spec, tool));
    }

    /// The tools' specs, in registration order.
    pub fn specs(&self) -> Vec<ToolSpec> {
        self.order
            .iter()
            .filter_map(|n| self.tools.get(n).map(|(s, _)| s.clone()))
            .collect()
    }

    /// The spec of one tool.
    pub fn spec(&self, name: &str) -> Option<&ToolSpec> {
        self.tools.get(name).map(|(s, _)| s)
    }

    /// The handler of one tool, for wrappers that add behaviour around every tool (the
    /// shortcut recorder of `tabwright mcp --save-shortcut`).
    pub fn handler(&self, name: &str) -> Option<Arc<dyn ToolHandler>> {
        self.tools.get(name).map(|(_, h)| h.clone())
    }

    /// Runs a tool by name. Unknown names and bad parameters are tool errors too.
    pub async fn call(
        &self,
        session: &Session,
        name: &str,
        args: Value,
    ) -> Result<ToolOutput, ToolError> {
        let Some((spec, tool)) = self.tools.get(name) else {
            return Err(ToolError(format!(
                "unknown tool \"{name}\"; the tools are: {}",
                self.order.join(", ")
            )));
        };
        let args = if args.is_null() {
            Value::Object(Default::default())
        } else {
            args
        };
        if !args.is_object() {
            return Err(ToolError(format!(
                "invalid parameters for {name}: expected a JSON object, got {args}"
            )));
        }
        let observers = trace::Observers::of(session);
        if observers.is_empty() {
            return tool.call(session, args).await;
        }
        let watching = observers.all();
        for o in &watching {
            o.before(session, spec.name, spec.class, &args).await;
        }
        let _ = observers.take_pending();
        let started = std::time::Instant::now();
        let started_at = std::time::SystemTime::now();
        let result = tool.call(session, args.clone()).await;
        let record = trace::CallRecord {
            tool: spec.name,
            class: spec.class,
            args: &args,
            result: &result,
            trace: observers.take_pending(),
            started,
            ended: std::time::Instant::now(),
            started_at,
        };
        for o in &watching {
            o.after(session, &record).await;
        }
        result
    }
}

/// Defines a tool struct that implements [`ToolHandler`] from a spec function and an async
/// handler taking typed arguments.
macro_rules! tool {
    ($ty:ident, $args:ty, $spec:expr, $handler:path) => {
        pub(crate) struct $ty;
        impl $crate::tools::ToolHandler for $ty {
            fn spec(&self) -> $crate::tools::ToolSpec {
                $spec
            }
            fn call<'a>(
                &'a self,
                session: &'a $crate::browser::Session,
                args: serde_json::Value,
            ) -> $crate::tools::BoxFuture<
                'a,
                Result<$crate::tools::ToolOutput, $crate::tools::ToolError>,
            > {
                Box::pin(async move {
                    let spec = self.spec();
                    let parsed: $args = $crate::tools::args::parse(spec.name, args)?;
                    $handler(session, parsed).await
                })
            }
        }
    };
}
pub(crate) use tool;

pub(crate) use element::{prefix_of as element_prefix, resolve as resolve_ref, stale as stale_ref};
