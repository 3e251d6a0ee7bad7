//! [`ToolContext`]: what a tool call may use. Capabilities are optional (a front end without a
//! browser has no session); a tool asks for what it needs and gets a clear error when it is not
//! there.

use std::any::{Any, TypeId};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use serde_json::Value;

use super::trace::{ActionTrace, Observers};
use super::{Runtime, ToolError, ToolOutput};
use crate::browser::Session;
use crate::frontend::{EventSink, NoEvents, Nobody, Person};
use crate::BoxFuture;

/// Per-front-end-session state owned by layers above the runtime (the todo list, the
/// sub-agents), one value per type.
#[derive(Default)]
pub struct State {
    map: Mutex<HashMap<TypeId, Arc<dyn Any + Send + Sync>>>,
}

impl State {
    fn map(&self) -> std::sync::MutexGuard<'_, HashMap<TypeId, Arc<dyn Any + Send + Sync>>> {
        match self.map.lock() {
            Ok(g) => g,
            Err(p) => p.into_inner(),
        }
    }

    /// The value of type `T`, created on first use.
    pub fn get_or_default<T: Default + Send + Sync + 'static>(&self) -> Arc<T> {
        let entry = self
            .map()
            .entry(TypeId::of::<T>())
            .or_insert_with(|| Arc::new(T::default()) as Arc<dyn Any + Send + Sync>)
            .clone();
        entry
            .downcast::<T>()
            .unwrap_or_else(|_| Arc::new(T::default()))
    }

    /// The value of type `T`, if one was set.
    pub fn get<T: Send + Sync + 'static>(&self) -> Option<Arc<T>> {
        let entry = self.map().get(&TypeId::of::<T>())?.clone();
        entry.downcast::<T>().ok()
    }

    /// Sets the value of type `T`.
    pub fn set<T: Send + Sync + 'static>(&self, value: Arc<T>) {
        self.map().insert(TypeId::of::<T>(), value);
    }
}

/// Per-call scope: what the tool notes about its action for recorders.
#[derive(Default)]
pub(super) struct CallScope {
    pub(super) trace: Mutex<Option<ActionTrace>>,
}

/// What a tool call runs over: the runtime (for re-entry), the browser session, the workspace,
/// the person, the event sink and per-session state. Cheap to clone (shared parts are `Arc`s);
/// the runtime gives each call its own copy with its own trace slot.
#[derive(Clone)]
pub struct ToolContext {
    runtime: Arc<Runtime>,
    session: Option<Arc<Session>>,
    workspace: PathBuf,
    person: Arc<dyn Person>,
    events: Arc<dyn EventSink>,
    state: Arc<State>,
    pub(super) call: Option<Arc<CallScope>>,
}

impl ToolContext {
    /// A context over `runtime` with the workspace `workspace`; nobody to ask, no events, no
    /// browser until given.
    pub fn new(runtime: Arc<Runtime>, workspace: impl Into<PathBuf>) -> ToolContext {
        ToolContext {
            runtime,
            session: None,
            workspace: workspace.into(),
            person: Arc::new(Nobody),
            events: Arc::new(NoEvents),
            state: Arc::new(State::default()),
            call: None,
        }
    }

    /// With a browser session. When the runtime has a policy, every network request of the
    /// session's tabs is put behind it (see [`Policy::request_verdict`](crate::policy::Policy::request_verdict)).
    pub fn with_session(mut self, session: Arc<Session>) -> ToolContext {
        self.session = Some(session);
        self.guard_requests();
        self
    }

    fn guard_requests(&self) {
        if let (Some(session), Some(policy)) = (&self.session, self.runtime.policy()) {
            let policy = policy.clone();
            session.set_guard(Arc::new(move |url: &str| policy.request_verdict(url)));
        }
    }

    /// With the person to ask.
    pub fn with_person(mut self, person: Arc<dyn Person>) -> ToolContext {
        self.person = person;
        self
    }

    /// With an event sink.
    pub fn with_events(mut self, events: Arc<dyn EventSink>) -> ToolContext {
        self.events = events;
        self
    }

    /// Over another runtime (a sub-agent's restricted one), with fresh per-session state.
    pub fn with_runtime(mut self, runtime: Arc<Runtime>) -> ToolContext {
        self.runtime = runtime;
        self.state = Arc::new(State::default());
        self.guard_requests();
        self
    }

    /// The runtime this context calls into.
    pub fn runtime(&self) -> &Arc<Runtime> {
        &self.runtime
    }

    /// The browser session, or a tool error saying there is none here.
    pub fn session(&self) -> Result<&Arc<Session>, ToolError> {
        self.session.as_ref().ok_or_else(|| {
            ToolError::new("this tool needs a browser, and this front end has none; use a front end with a browser (tabwright run, tabwright mcp)")
        })
    }

    /// The browser session, if any.
    pub fn browser_session(&self) -> Option<&Arc<Session>> {
        self.session.as_ref()
    }

    /// The folder file paths are confined to.
    pub fn workspace(&self) -> &Path {
        &self.workspace
    }

    /// The person to ask.
    pub fn person(&self) -> &Arc<dyn Person> {
        &self.person
    }

    /// Where progress goes.
    pub fn events(&self) -> &Arc<dyn EventSink> {
        &self.events
    }

    /// Per-session state.
    pub fn state(&self) -> &Arc<State> {
        &self.state
    }

    /// Calls another tool through the same door (policy, audit, observers): shortcut steps,
    /// sub-agents.
    pub fn call_tool<'a>(
        &'a self,
        name: &'a str,
        args: Value,
    ) -> BoxFuture<'a, Result<ToolOutput, ToolError>> {
        self.runtime.call(self, name, args)
    }

    /// Leaves a trace of what the call in flight did, for recorders (the last note wins).
    pub fn note(&self, trace: ActionTrace) {
        if let Some(c) = &self.call {
            *match c.trace.lock() {
                Ok(g) => g,
                Err(p) => p.into_inner(),
            } = Some(trace);
        }
    }

    /// True when some recorder watches this session's calls, so tools can skip work (like
    /// describing the target element) that only recorders need.
    pub fn observed(&self) -> bool {
        self.session
            .as_ref()
            .is_some_and(|s| !Observers::of(s).is_empty())
    }
}
