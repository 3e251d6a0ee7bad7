//! Front ends: how the person and the host talk. One protocol ([`protocol`]: ops in, events
//! out, questions and answers) for every front end: the terminal of `tabwright run`, MCP
//! clients (elicitation, in [`crate::mcp`]), the side panel, and tests.
//!
//! Owns: the protocol types, the [`Person`] trait (the one way the host asks anything) and the
//! [`EventSink`] trait (the one way it shows progress), and the terminal and channel
//! implementations.
//!
//! May use: nothing else of the crate.

pub mod channel;
pub mod protocol;
pub mod terminal;

pub use channel::{Channel, ChannelPerson, Pending};
pub use protocol::{Answer, Ask, Choice, Event, Op, Question, TodoItem};
pub use terminal::{TerminalPerson, TerminalSink};

use crate::BoxFuture;

/// Nobody could answer: no terminal, the front end went away, the client cannot ask. The text
/// says what happened and what to do.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct Unanswered(pub String);

/// Someone who can be asked: the person at a terminal, in the side panel, or behind an MCP
/// client. Implementations never decide what needs asking; the policy does.
pub trait Person: Send + Sync {
    /// Asks and waits for the answer.
    fn ask<'a>(&'a self, ask: Ask) -> BoxFuture<'a, Result<Answer, Unanswered>>;
}

/// Where progress goes (text deltas, tool calls, notices, the todo list).
pub trait EventSink: Send + Sync {
    /// Shows one event. Must not block.
    fn emit(&self, event: Event);
    /// False when nothing is shown, so the host can skip building events.
    fn watching(&self) -> bool {
        true
    }
}

/// Nobody to ask: every question is refused with a message saying how to run unattended.
pub struct Nobody;

impl Person for Nobody {
    fn ask<'a>(&'a self, ask: Ask) -> BoxFuture<'a, Result<Answer, Unanswered>> {
        Box::pin(async move {
            Err(Unanswered(match ask {
                Ask::Questions { .. } => "the agent asked a question, but no one can answer here; give the answer in the task, or run tabwright in a terminal".into(),
                other => format!(
                    "this needs a person's approval, but no one can answer here ({}). Run in a terminal, or pass --approve auto and --allow-domain DOMAIN for unattended runs (risky actions still need a person).",
                    other.prompt().lines().next().unwrap_or("")
                ),
            }))
        })
    }
}

/// Drops every event (MCP, replay, tests that do not watch).
pub struct NoEvents;

impl EventSink for NoEvents {
    fn emit(&self, _event: Event) {}
    fn watching(&self) -> bool {
        false
    }
}

/// Shows another sink's events prefixed with a label (a sub-agent's activity in its parent's
/// front end); the sub-agent's streamed text is not shown.
pub struct Prefixed {
    /// The label, e.g. the sub-agent's id.
    pub label: String,
    /// Where the events go.
    pub inner: std::sync::Arc<dyn EventSink>,
}

impl EventSink for Prefixed {
    fn emit(&self, event: Event) {
        let label = &self.label;
        let mut event = match event {
            Event::TextDelta { .. } | Event::DiscardPartial | Event::Usage { .. } => return,
            Event::Todo { items } => Event::Notice {
                text: format!(
                    "todo: {}/{} done",
                    items.iter().filter(|t| t.status == "completed").count(),
                    items.len()
                ),
            },
            other => other,
        };
        match &mut event {
            Event::ToolStarted { name, .. } | Event::ToolFinished { name, .. } => {
                *name = format!("[{label}] {name}")
            }
            Event::Notice { text } => *text = format!("[{label}] {text}"),
            _ => {}
        }
        self.inner.emit(event);
    }

    fn watching(&self) -> bool {
        self.inner.watching()
    }
}
