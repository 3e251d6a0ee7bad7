//! `create_scheduled_task`, `list_scheduled_tasks`, `update_scheduled_task`: the model's way to
//! the task store. Creating a task, or changing what one asks, is confirmed by the person (it
//! runs later, unattended, with the domains approved now).

use serde::Deserialize;
use serde_json::{json, Value};

use super::{now_rfc3339, Schedule, Store, Task};
use crate::policy::rules::RiskKind;
use crate::policy::Effects;
use crate::runtime::{ActionClass, Registry, ToolContext, ToolError, ToolOutput, ToolSpec, Typed};
use crate::tool;

/// Adds the three tools to `r`.
pub fn register(r: &mut Registry) {
    r.add(std::sync::Arc::new(Typed::<CreateTask>::new()));
    r.add(std::sync::Arc::new(Typed::<ListTasks>::new()));
    r.add(std::sync::Arc::new(Typed::<UpdateTask>::new()));
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CreateArgs {
    task_id: String,
    prompt: String,
    description: Option<String>,
    cron: Option<String>,
    fire_at: Option<String>,
    enabled: Option<bool>,
}

tool!(
    CreateTask,
    CreateArgs,
    ToolSpec::new(
        "create_scheduled_task",
        "Create a task the agent runs later, unattended (the schedule skill says how to write one). prompt: \
         self-contained, second-person instructions — later runs do NOT see this conversation. cron: 5 fields \
         in the person's LOCAL time for recurring tasks (\"8am every Friday\" → \"0 8 * * 5\"); fire_at: one \
         ISO 8601 time with offset for a one-time task (never cron for one time); neither: run on demand \
         only. Runs may reach only the domains approved in this session. The person confirms.",
        json!({
            "type": "object",
            "properties": {
                "task_id": {"type": "string", "description": "kebab-case id, e.g. daily-inbox-summary"},
                "prompt": {"type": "string"},
                "description": {"type": "string", "description": "One line about the task."},
                "cron": {"type": "string"},
                "fire_at": {"type": "string"},
                "enabled": {"type": "boolean"}
            },
            "required": ["task_id", "prompt"],
            "additionalProperties": false
        }),
        ActionClass::Risky,
    )
    .trusted()
    .serial(),
    create,
    create_effects
);

fn approved_domains(ctx: &ToolContext) -> Vec<String> {
    let Some(p) = ctx.runtime().policy() else {
        return Vec::new();
    };
    let mut d = p.config().allowed_domains.clone();
    if let Some(plan) = p.plan() {
        d.extend(plan.domains);
    }
    d.sort();
    d.dedup();
    d
}

async fn create_effects(ctx: &ToolContext, a: &CreateArgs) -> Effects {
    let when = match (&a.cron, &a.fire_at) {
        (Some(c), _) => format!("on cron {c}"),
        (_, Some(f)) => format!("once at {f}"),
        _ => "on demand".into(),
    };
    let domains = approved_domains(ctx);
    Effects {
        risk: Some((
            RiskKind::AgentSettings,
            format!(
                "schedule \"{}\" to run unattended {when}, reaching {}: {}",
                a.task_id,
                if domains.is_empty() {
                    "no domains".to_string()
                } else {
                    domains.join(", ")
                },
                a.prompt.chars().take(300).collect::<String>()
            ),
        )),
        ..Effects::default()
    }
}

async fn create(ctx: &ToolContext, a: CreateArgs) -> Result<ToolOutput, ToolError> {
    let schedule = Schedule {
        cron: a.cron,
        fire_at: a.fire_at,
        enabled: a.enabled.unwrap_or(true),
        domains: approved_domains(ctx),
        workspace: ctx.workspace().to_path_buf(),
        model: None,
        gif: false,
        created_at: now_rfc3339(),
    };
    let t = Store::standard()
        .create(
            &a.task_id,
            a.description.as_deref().unwrap_or(""),
            &a.prompt,
            schedule,
        )
        .map_err(|e| ToolError(e.0))?;
    Ok(ToolOutput::text(format!(
        "Scheduled \"{}\" ({}); next run: {}; domains: {}. It runs while `tabwright daemon` runs (install it with `tabwright daemon install`).",
        t.id,
        t.when(),
        next_text(&t),
        if t.schedule.domains.is_empty() {
            "none".into()
        } else {
            t.schedule.domains.join(", ")
        }
    )))
}

fn next_text(t: &Task) -> String {
    t.next_run(chrono::Local::now())
        .map(|n| n.format("%Y-%m-%d %H:%M %Z").to_string())
        .unwrap_or_else(|| "none".into())
}

tool!(
    ListTasks,
    Value,
    ToolSpec::new(
        "list_scheduled_tasks",
        "List the scheduled tasks: id, schedule, enabled, last run and its outcome, next run, why a run was skipped.",
        json!({"type": "object", "properties": {}, "additionalProperties": false}),
        ActionClass::Read,
    )
    .trusted(),
    list
);

async fn list(_ctx: &ToolContext, _a: Value) -> Result<ToolOutput, ToolError> {
    Ok(ToolOutput::text(render(&Store::standard())))
}

/// The tasks as text (for the tool and `tabwright schedule list`).
pub fn render(store: &Store) -> String {
    let (tasks, problems) = store.list();
    let mut out = String::new();
    if tasks.is_empty() {
        out.push_str("No scheduled tasks.\n");
    }
    for t in &tasks {
        out.push_str(&format!(
            "{}: {} — {}\n  {}; next run: {}; runs: {}; last run: {} ({})\n",
            t.id,
            t.description,
            t.when(),
            if t.schedule.enabled {
                "enabled"
            } else {
                "disabled"
            },
            next_text(t),
            t.state.runs,
            t.state.last_run_at.as_deref().unwrap_or("never"),
            t.state.last_outcome.as_deref().unwrap_or("-"),
        ));
        if let Some(s) = &t.state.last_skip {
            out.push_str(&format!("  skipped: {s}\n"));
        }
    }
    for p in problems {
        out.push_str(&format!("problem: {p}\n"));
    }
    out
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct UpdateArgs {
    task_id: String,
    prompt: Option<String>,
    description: Option<String>,
    cron: Option<String>,
    fire_at: Option<String>,
    enabled: Option<bool>,
}

tool!(
    UpdateTask,
    UpdateArgs,
    ToolSpec::new(
        "update_scheduled_task",
        "Change a scheduled task: its prompt or description, its time (cron or fire_at; the other is cleared), or \
         enable/disable it. Changing the prompt is confirmed by the person.",
        json!({
            "type": "object",
            "properties": {
                "task_id": {"type": "string"},
                "prompt": {"type": "string"},
                "description": {"type": "string"},
                "cron": {"type": "string"},
                "fire_at": {"type": "string"},
                "enabled": {"type": "boolean"}
            },
            "required": ["task_id"],
            "additionalProperties": false
        }),
        ActionClass::Act,
    )
    .trusted()
    .serial(),
    update,
    update_effects
);

async fn update_effects(_ctx: &ToolContext, a: &UpdateArgs) -> Effects {
    match &a.prompt {
        Some(p) => Effects {
            risk: Some((
                RiskKind::AgentSettings,
                format!(
                    "change what the scheduled task \"{}\" does to: {}",
                    a.task_id,
                    p.chars().take(300).collect::<String>()
                ),
            )),
            ..Effects::default()
        },
        None => Effects::default(),
    }
}

async fn update(_ctx: &ToolContext, a: UpdateArgs) -> Result<ToolOutput, ToolError> {
    let store = Store::standard();
    let t = apply_update(
        &store,
        &a.task_id,
        a.prompt.as_deref(),
        a.description.as_deref(),
        a.cron.as_deref(),
        a.fire_at.as_deref(),
        a.enabled,
    )
    .map_err(|e| ToolError(e.0))?;
    Ok(ToolOutput::text(format!(
        "Updated \"{}\" ({}, {}); next run: {}.",
        t.id,
        t.when(),
        if t.schedule.enabled {
            "enabled"
        } else {
            "disabled"
        },
        next_text(&t)
    )))
}

/// Changes a task (shared with `tabwright schedule edit`). A new time clears the other kind and
/// what was dealt with, so it counts from now.
pub fn apply_update(
    store: &Store,
    id: &str,
    prompt: Option<&str>,
    description: Option<&str>,
    cron: Option<&str>,
    fire_at: Option<&str>,
    enabled: Option<bool>,
) -> Result<Task, super::ScheduleError> {
    let t = store.get(id)?;
    let mut s = t.schedule.clone();
    let mut state = t.state.clone();
    if cron.is_some() || fire_at.is_some() {
        s.cron = cron.map(str::to_string);
        s.fire_at = fire_at.map(str::to_string);
        s.created_at = now_rfc3339();
        state.last_slot = None;
        if fire_at.is_some() {
            s.enabled = true;
        }
    }
    if let Some(e) = enabled {
        s.enabled = e;
    }
    super::check(&s)?;
    if prompt.is_some() || description.is_some() {
        store.write_skill(
            id,
            description.unwrap_or(&t.description),
            prompt.unwrap_or(&t.prompt),
        )?;
    }
    store.write_schedule(id, &s)?;
    store.write_state(id, &state)?;
    store.get(id)
}
