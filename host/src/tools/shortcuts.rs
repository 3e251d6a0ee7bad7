//! `shortcuts_list` and `shortcuts_execute`: the saved shortcuts (see `crate::shortcuts`) as
//! tools, so a model or an MCP client can run a recorded flow without re-planning it.

use std::collections::BTreeMap;

use serde::Deserialize;
use serde_json::json;

use super::args::object;
use super::inspect;
use super::{ActionClass, Registry, ToolContext, ToolError, ToolOutput, ToolSpec};
use crate::policy::Effects;
use crate::shortcuts::replay::{self, Options};
use crate::shortcuts::store::Store;
use crate::tool;

pub(super) fn register(r: &mut Registry) {
    super::add::<ShortcutsList>(r);
    super::add::<ShortcutsExecute>(r);
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ListArgs {}

tool!(
    ShortcutsList,
    ListArgs,
    ToolSpec::new(
        "shortcuts_list",
        "List the saved shortcuts (recorded browser flows): id, name, description, step count and the \
                      variables each takes. Run one with shortcuts_execute.",
        object(json!({}), &[]),
        ActionClass::Read,
    ),
    list
);

async fn list(ctx: &ToolContext, _a: ListArgs) -> Result<ToolOutput, ToolError> {
    let session = ctx.session()?;
    let store = Store::for_session(session);
    let entries = store.list();
    if entries.is_empty() {
        return Ok(ToolOutput::text(format!(
            "No saved shortcuts (in {}).",
            store.dir.display()
        )));
    }
    let mut out = format!(
        "{} shortcut(s) in {}:\n",
        entries.len(),
        store.dir.display()
    );
    for e in entries {
        match e.shortcut {
            Ok(s) => {
                out.push_str(&format!(
                    "- {} \"{}\": {} ({} steps)",
                    s.id,
                    s.name,
                    if s.description.is_empty() {
                        "no description"
                    } else {
                        &s.description
                    },
                    s.steps.len()
                ));
                if !s.variables.is_empty() {
                    let vars: Vec<String> = s
                        .variables
                        .iter()
                        .map(|(k, v)| {
                            if v.is_null() {
                                format!("{k} (required)")
                            } else {
                                k.clone()
                            }
                        })
                        .collect();
                    out.push_str(&format!(" [variables: {}]", vars.join(", ")));
                }
                out.push('\n');
            }
            Err(err) => out.push_str(&format!("- {}: unreadable: {err}\n", e.path.display())),
        }
    }
    Ok(ToolOutput::text(out.trim_end().to_string()))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ExecArgs {
    shortcut_id: Option<String>,
    command: Option<String>,
    variables: Option<BTreeMap<String, serde_json::Value>>,
}

tool!(
    ShortcutsExecute,
    ExecArgs,
    ToolSpec::new(
        "shortcuts_execute",
        "Run a saved shortcut by shortcut_id, or by command (its name or /id, optionally followed by \
                      name=value variables, e.g. \"/add-todo text=milk\"). variables: values for its {{variables}}. \
                      Returns the outcome of every step (passed, HEALED when a fallback locator was needed, failed with \
                      expected vs seen).",
        object(
            json!({
                "shortcut_id": {"type": "string", "description": "The shortcut's id (from shortcuts_list)."},
                "command": {"type": "string", "description": "Its name or slash command, with optional name=value variables."},
                "variables": {"type": "object", "additionalProperties": {"type": ["string", "number", "boolean"]}},
            }),
            &[]
        ),
        ActionClass::Act,
    ),
    execute,
    effects
);

/// Running a shortcut acts on the active page; each step then passes the same door on its own.
async fn effects(ctx: &ToolContext, _a: &ExecArgs) -> Effects {
    inspect::page(ctx, None).await
}

async fn execute(ctx: &ToolContext, a: ExecArgs) -> Result<ToolOutput, ToolError> {
    let session = ctx.session()?;
    let store = Store::for_session(session);
    let mut vars: BTreeMap<String, String> = BTreeMap::new();
    let found = match (&a.shortcut_id, &a.command) {
        (Some(id), _) => store.find(id),
        (None, Some(cmd)) => match store.find(cmd) {
            Ok(f) => Ok(f),
            Err(e) => {
                // "/name k=v k2=v2": the words before the first k=v name the shortcut.
                let words: Vec<&str> = cmd.split_whitespace().collect();
                let split = words.iter().position(|w| w.contains('='));
                match split {
                    Some(i) if i > 0 => {
                        for w in &words[i..] {
                            if let Some((k, v)) = w.split_once('=') {
                                vars.insert(k.to_string(), v.to_string());
                            }
                        }
                        store.find(&words[..i].join(" "))
                    }
                    _ => Err(e),
                }
            }
        },
        (None, None) => {
            return Err(ToolError(
                "invalid parameters for shortcuts_execute: give shortcut_id or command (see shortcuts_list)".into(),
            ))
        }
    };
    let (_, sc) = found.map_err(|e| ToolError(e.0))?;
    for (k, v) in a.variables.unwrap_or_default() {
        let v = match v {
            serde_json::Value::String(s) => s,
            other => other.to_string(),
        };
        vars.insert(k, v);
    }
    // Every step goes back through this call's runtime: the same policy (domains, risky
    // steps confirmed), the same audit log, the same recorders.
    let report = replay::run(
        ctx,
        &sc,
        &vars,
        &Options {
            // Failure screenshots go where the session's files go.
            artifacts: Some(session.workspace.join("recordings")),
            ..Options::default()
        },
        &mut |_| {},
    )
    .await
    .map_err(|e| ToolError(e.0))?;
    let text = report.text();
    if report.passed() {
        Ok(ToolOutput::text(text))
    } else {
        Err(ToolError(text))
    }
}
