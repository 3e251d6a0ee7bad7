//! Call observers and action traces: how recorders (GIF walkthroughs, shortcut steps, the
//! audit log) see every tool call of a session without the tools knowing who listens.
//!
//! [`Runtime::call`](super::Runtime::call) runs each observer installed on the session
//! before and after every call. An acting tool may leave an [`ActionTrace`] for the call in
//! flight with [`ToolContext::note`](super::ToolContext::note) (where it clicked, what element,
//! a label); observers receive it in [`CallRecord::trace`]. Each call has its own trace slot,
//! so concurrent calls cannot swap traces. This module owns only the plumbing; it may touch
//! [`Session`] extensions and nothing of the browser.

use std::sync::{Arc, Mutex};
use std::time::{Instant, SystemTime};

use serde_json::Value;

use super::{ActionClass, ToolError, ToolOutput};
use crate::browser::Session;
use crate::BoxFuture;

/// What an acting tool did, as far as a recorder cares.
#[derive(Debug, Clone, Default)]
pub struct ActionTrace {
    /// A short human label, e.g. `Click “Save”` or `Type “hello”`.
    pub label: String,
    /// The viewport point acted on, in CSS pixels (clicks, hover, drag start, scroll).
    pub point: Option<(f64, f64)>,
    /// Where a drag ended, in CSS pixels.
    pub drag_to: Option<(f64, f64)>,
    /// Locators of the element acted on, captured before the action ran (role, name, text,
    /// css, xpath, frame path …) as a JSON object; `None` for coordinate-only actions.
    pub target: Option<Value>,
}

/// One finished call, as observers see it.
pub struct CallRecord<'a> {
    /// The tool's name.
    pub tool: &'a str,
    /// Its action class.
    pub class: ActionClass,
    /// The arguments it was called with.
    pub args: &'a Value,
    /// What it returned.
    pub result: &'a Result<ToolOutput, ToolError>,
    /// What the tool noted about its action, if anything.
    pub trace: Option<ActionTrace>,
    /// When the call started (monotonic).
    pub started: Instant,
    /// When it ended (monotonic).
    pub ended: Instant,
    /// When it started (wall clock), for logs.
    pub started_at: SystemTime,
}

/// Something that watches a session's tool calls (a recorder).
pub trait CallObserver: Send + Sync {
    /// Runs before the tool, with its (object) arguments.
    fn before<'a>(
        &'a self,
        session: &'a Session,
        tool: &'a str,
        class: ActionClass,
        args: &'a Value,
    ) -> BoxFuture<'a, ()>;
    /// Runs after the tool, with its result.
    fn after<'a>(&'a self, session: &'a Session, call: &'a CallRecord<'a>) -> BoxFuture<'a, ()>;
}

/// The observers installed on one session, by name.
#[derive(Default)]
pub struct Observers {
    list: Mutex<Vec<(String, Arc<dyn CallObserver>)>>,
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    match m.lock() {
        Ok(g) => g,
        Err(p) => p.into_inner(),
    }
}

impl Observers {
    /// The session's observers.
    pub fn of(session: &Session) -> Arc<Observers> {
        session.ext::<Observers>()
    }

    /// Installs `obs` under `name`, replacing one of the same name.
    pub fn install(&self, name: &str, obs: Arc<dyn CallObserver>) {
        let mut l = lock(&self.list);
        l.retain(|(n, _)| n != name);
        l.push((name.to_string(), obs));
    }

    /// Removes the observer `name`; returns it if it was there.
    pub fn remove(&self, name: &str) -> Option<Arc<dyn CallObserver>> {
        let mut l = lock(&self.list);
        let i = l.iter().position(|(n, _)| n == name)?;
        Some(l.remove(i).1)
    }

    /// The observer `name`, if installed.
    pub fn get(&self, name: &str) -> Option<Arc<dyn CallObserver>> {
        lock(&self.list)
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, o)| o.clone())
    }

    /// A snapshot of the installed observers.
    pub fn all(&self) -> Vec<Arc<dyn CallObserver>> {
        lock(&self.list).iter().map(|(_, o)| o.clone()).collect()
    }

    /// True when no observer is installed (the registry then skips all bookkeeping).
    pub fn is_empty(&self) -> bool {
        lock(&self.list).is_empty()
    }
}
