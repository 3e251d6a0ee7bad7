//! Sub-agents: `Task`, `TaskOutput`, `TaskStop`. A sub-agent is an [`Agent`] with its own
//! history, its own browser tabs (a session of its own over the same browser), a subset of the
//! tools and possibly another model. It runs in the foreground (the parent waits for it) or in
//! the background (the parent gets an id and collects the result with `TaskOutput`). Only the
//! sub-agent's final answer reaches the parent's context. Sub-agents share the parent's policy
//! gate, so the approved plan and every rule apply to them too, and they cannot start
//! sub-agents of their own.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde::Deserialize;
use serde_json::json;
use tokio::sync::watch;

use super::config::{self, Flags};
use super::providers::{self, ModelClient};
use super::runner::{Agent, Limits, Outcome};
use super::transcript::Transcript;
use crate::browser::{Browser, Session};
use crate::frontend::{Event, EventSink, Person, Prefixed};
use crate::runtime::{
    ActionClass, Registry, Runtime, ToolContext, ToolError, ToolOutput, ToolSpec, Typed,
};
use crate::tool;

/// The names of the sub-agent tools (a sub-agent never gets them).
pub const NAMES: [&str; 3] = ["Task", "TaskOutput", "TaskStop"];

/// Adds `Task`, `TaskOutput` and `TaskStop` to `r`. They work in a context whose state holds
/// the [`Subagents`] of the run.
pub fn register(r: &mut Registry) {
    r.add(Arc::new(Typed::<TaskTool>::new()));
    r.add(Arc::new(Typed::<TaskOutputTool>::new()));
    r.add(Arc::new(Typed::<TaskStopTool>::new()));
}

pub use crate::plugins::AgentDef;

/// Builds a model client for `provider:model`.
pub type ConnectFn = dyn Fn(&str) -> Result<Arc<dyn ModelClient>, String> + Send + Sync;

/// What a sub-agent needs from its parent.
#[derive(Clone)]
pub struct SubagentEnv {
    /// The parent's model (used unless the call names another).
    pub client: Arc<dyn ModelClient>,
    /// The parent's runtime (its policy is shared; its tools, less these three, are offered).
    pub runtime: Arc<Runtime>,
    /// The browser (each sub-agent gets its own session over it).
    pub browser: Arc<Browser>,
    /// The workspace folder.
    pub workspace: PathBuf,
    /// The parent's event sink (sub-agent activity is shown prefixed).
    pub events: Arc<dyn EventSink>,
    /// Who answers the sub-agents' questions (the parent's person).
    pub person: Arc<dyn Person>,
    /// The parent's session folder (sub-agent transcripts go under `tasks/`).
    pub session_dir: Option<PathBuf>,
    /// The system prompt.
    pub system: String,
    /// Output tokens per turn.
    pub max_tokens: u32,
    /// Limits for each sub-agent.
    pub limits: Limits,
    /// Builds a client for `provider:model` when a call names another model.
    pub connect: Arc<ConnectFn>,
    /// The named kinds of sub-agent (`subagent_type`).
    pub agents: Vec<AgentDef>,
}

/// The default way to build a client for another model: the usual configuration with the
/// model replaced.
pub fn connect_model(model: &str) -> Result<Arc<dyn ModelClient>, String> {
    let cfg = config::load(&Flags {
        model: Some(model.to_string()),
        ..Flags::default()
    })
    .map_err(|e| e.to_string())?;
    providers::connect(&cfg).map_err(|e| e.to_string())
}

enum State {
    Running,
    Finished(Outcome),
}

struct Task {
    state: watch::Receiver<Option<Outcome>>,
    stop: watch::Sender<bool>,
    description: String,
}

/// The sub-agents of one parent.
pub struct Subagents {
    env: SubagentEnv,
    tasks: Mutex<HashMap<String, Task>>,
    next: std::sync::atomic::AtomicU32,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct TaskArgs {
    description: String,
    prompt: String,
    #[serde(default)]
    tools: Option<Vec<String>>,
    #[serde(default)]
    model: Option<String>,
    #[serde(default)]
    run_in_background: bool,
    #[serde(default)]
    max_turns: Option<u32>,
    #[serde(default)]
    subagent_type: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct OutputArgs {
    task_id: String,
    #[serde(default = "yes")]
    block: bool,
    #[serde(default)]
    timeout_secs: Option<f64>,
}

fn yes() -> bool {
    true
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct StopArgs {
    task_id: String,
}

tool!(
    TaskTool,
    TaskArgs,
    ToolSpec::new(
        "Task",
        "Start a sub-agent for a self-contained part of the task. It has its own context and its own browser tabs, \
         follows the same approved plan, and returns only its final answer. Give it a complete prompt: it sees nothing of this conversation. \
         tools: the tool names it may use (default: all browser tools). model: another provider:model. run_in_background: return at once with a task_id \
         (collect with TaskOutput). subagent_type: a named kind of sub-agent a plugin provides (plugin:name), with instructions of its own.",
        json!({
            "type": "object",
            "properties": {
                "description": {"type": "string", "description": "3-5 words: what it does."},
                "prompt": {"type": "string", "description": "The complete task for the sub-agent."},
                "tools": {"type": "array", "items": {"type": "string"}},
                "model": {"type": "string", "description": "provider:model, e.g. anthropic:claude-haiku-4-5."},
                "run_in_background": {"type": "boolean"},
                "max_turns": {"type": "integer", "minimum": 1, "maximum": 100},
                "subagent_type": {"type": "string"},
            },
            "required": ["description", "prompt"],
            "additionalProperties": false,
        }),
        ActionClass::Read,
    )
    .trusted()
    .serial(),
    task
);

tool!(
    TaskOutputTool,
    OutputArgs,
    ToolSpec::new(
        "TaskOutput",
        "Get a background sub-agent's result. block (default true) waits up to timeout_secs (default 300).",
        json!({
            "type": "object",
            "properties": {
                "task_id": {"type": "string"},
                "block": {"type": "boolean"},
                "timeout_secs": {"type": "number", "minimum": 0, "maximum": 1800},
            },
            "required": ["task_id"],
            "additionalProperties": false,
        }),
        ActionClass::Read,
    )
    .trusted()
    .serial(),
    task_output
);

tool!(
    TaskStopTool,
    StopArgs,
    ToolSpec::new(
        "TaskStop",
        "Stop a background sub-agent.",
        json!({
            "type": "object",
            "properties": {"task_id": {"type": "string"}},
            "required": ["task_id"],
            "additionalProperties": false,
        }),
        ActionClass::Read,
    )
    .trusted()
    .serial(),
    task_stop
);

fn subagents(ctx: &ToolContext) -> Result<Arc<Subagents>, ToolError> {
    ctx.state()
        .get::<Subagents>()
        .ok_or_else(|| ToolError::new("sub-agents are not available here"))
}

async fn task(ctx: &ToolContext, a: TaskArgs) -> Result<ToolOutput, ToolError> {
    let s = subagents(ctx)?;
    s.start(a).await.map(ToolOutput::text).map_err(ToolError)
}

async fn task_output(ctx: &ToolContext, a: OutputArgs) -> Result<ToolOutput, ToolError> {
    let s = subagents(ctx)?;
    s.output(a).await.map(ToolOutput::text).map_err(ToolError)
}

async fn task_stop(ctx: &ToolContext, a: StopArgs) -> Result<ToolOutput, ToolError> {
    let s = subagents(ctx)?;
    s.stop(a).map(ToolOutput::text).map_err(ToolError)
}

fn report(id: &str, o: &Outcome) -> String {
    match o {
        Outcome::Done(answer) => format!("Sub-agent {id} finished. Its answer:\n{answer}"),
        other => format!("Sub-agent {id} did not finish: {}", other.describe()),
    }
}

impl Subagents {
    /// Sub-agents for a parent with this environment.
    pub fn new(env: SubagentEnv) -> Subagents {
        Subagents {
            env,
            tasks: Mutex::new(HashMap::new()),
            next: std::sync::atomic::AtomicU32::new(1),
        }
    }

    fn tasks(&self) -> std::sync::MutexGuard<'_, HashMap<String, Task>> {
        match self.tasks.lock() {
            Ok(g) => g,
            Err(p) => p.into_inner(),
        }
    }

    fn start(&self, a: TaskArgs) -> crate::BoxFuture<'_, Result<String, String>> {
        // Boxed (and so `Send` by declaration): a sub-agent's loop calls back into the
        // runtime, and the compiler cannot prove a recursive future `Send` otherwise.
        Box::pin(self.start_inner(a))
    }

    async fn start_inner(&self, mut a: TaskArgs) -> Result<String, String> {
        if a.prompt.trim().is_empty() {
            return Err("invalid parameters for Task: field `prompt` is empty".into());
        }
        let mut system = self.env.system.clone();
        if let Some(kind) = &a.subagent_type {
            let Some(def) = self.env.agents.iter().find(|d| d.name == *kind) else {
                return Err(format!(
                    "invalid parameters for Task: no sub-agent type \"{kind}\"; the types are: {}",
                    if self.env.agents.is_empty() {
                        "none (no plugin provides one)".to_string()
                    } else {
                        self.env
                            .agents
                            .iter()
                            .map(|d| d.name.as_str())
                            .collect::<Vec<_>>()
                            .join(", ")
                    }
                ));
            };
            system.push_str(&format!("\n\n# Your role: {}\n{}\n", def.name, def.prompt));
            if a.tools.is_none() {
                a.tools = def.tools.clone();
            }
            if a.model.is_none() {
                a.model = def.model.clone();
            }
        }
        let client = match &a.model {
            Some(m) => (self.env.connect)(m).map_err(|e| format!("Task: model {m}: {e}"))?,
            None => self.env.client.clone(),
        };
        let known: Vec<String> = self
            .env
            .runtime
            .registry()
            .names()
            .iter()
            .filter(|n| !NAMES.contains(&n.as_str()))
            .cloned()
            .collect();
        let runtime = match &a.tools {
            Some(names) => {
                if let Some(bad) = names.iter().find(|n| !known.contains(n)) {
                    return Err(format!(
                        "invalid parameters for Task: unknown tool \"{bad}\" in `tools`; the tools are: {}",
                        known.join(", ")
                    ));
                }
                let mut names = names.clone();
                names.extend(["TodoWrite", "AskUserQuestion"].map(String::from));
                self.env.runtime.restricted(&names)
            }
            None => self.env.runtime.restricted(&known),
        };
        let id = format!(
            "task-{}",
            self.next.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
        );
        let transcript = match &self.env.session_dir {
            Some(d) => Transcript::open(&d.join("tasks").join(&id))
                .ok()
                .map(Arc::new),
            None => None,
        };
        let session = Arc::new(Session::new(
            self.env.browser.clone(),
            self.env.workspace.clone(),
        ));
        let (stop_tx, stop_rx) = watch::channel(false);
        let mut limits = self.env.limits.clone();
        if let Some(t) = a.max_turns {
            limits.max_turns = t.clamp(1, 100);
        }
        let ctx = ToolContext::new(runtime, self.env.workspace.clone())
            .with_session(session)
            .with_person(self.env.person.clone())
            .with_events(Arc::new(Prefixed {
                label: id.clone(),
                inner: self.env.events.clone(),
            }));
        let mut agent = Agent::new(
            client,
            ctx,
            transcript,
            system,
            limits,
            self.env.max_tokens,
            stop_rx,
        );
        self.env.events.emit(Event::Notice {
            text: format!("[{id}] sub-agent started: {}", a.description),
        });
        if !a.run_in_background {
            let o = agent.run(&a.prompt).await;
            return Ok(report(&id, &o));
        }
        let (state_tx, state_rx) = watch::channel(None);
        let prompt = a.prompt.clone();
        tokio::spawn(async move {
            let o = agent.run(&prompt).await;
            let _ = state_tx.send(Some(o));
        });
        self.tasks().insert(
            id.clone(),
            Task {
                state: state_rx,
                stop: stop_tx,
                description: a.description.clone(),
            },
        );
        Ok(format!(
            "Sub-agent {id} is running in the background ({}). Collect its answer with TaskOutput task_id={id}.",
            a.description
        ))
    }

    fn lookup(&self, id: &str) -> Result<(watch::Receiver<Option<Outcome>>, String), String> {
        let tasks = self.tasks();
        match tasks.get(id) {
            Some(t) => Ok((t.state.clone(), t.description.clone())),
            None => Err(format!(
                "no background sub-agent {id}; running ones: {}",
                if tasks.is_empty() {
                    "none".to_string()
                } else {
                    tasks.keys().cloned().collect::<Vec<_>>().join(", ")
                }
            )),
        }
    }

    async fn output(&self, a: OutputArgs) -> Result<String, String> {
        let (mut rx, description) = self.lookup(&a.task_id)?;
        let state = |rx: &watch::Receiver<Option<Outcome>>| match &*rx.borrow() {
            Some(o) => State::Finished(o.clone()),
            None => State::Running,
        };
        if a.block {
            let limit = Duration::from_secs_f64(a.timeout_secs.unwrap_or(300.0).clamp(0.0, 1800.0));
            let _ = tokio::time::timeout(limit, rx.wait_for(|s| s.is_some())).await;
        }
        Ok(match state(&rx) {
            State::Finished(o) => report(&a.task_id, &o),
            State::Running => format!(
                "Sub-agent {} ({description}) is still running; call TaskOutput again later.",
                a.task_id
            ),
        })
    }

    fn stop(&self, a: StopArgs) -> Result<String, String> {
        let tasks = self.tasks();
        let t = tasks
            .get(&a.task_id)
            .ok_or_else(|| format!("no background sub-agent {}", a.task_id))?;
        if t.state.borrow().is_some() {
            return Ok(format!("Sub-agent {} had already finished.", a.task_id));
        }
        let _ = t.stop.send(true);
        Ok(format!("Sub-agent {} is stopping.", a.task_id))
    }
}
