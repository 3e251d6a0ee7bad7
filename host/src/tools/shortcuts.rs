//! `shortcuts_list` and `shortcuts_execute`: the saved shortcuts (see `crate::shortcuts`) as
//! tools, so a model or an MCP client can run a recorded flow without re-planning it.

use std::collections::BTreeMap;
use std::sync::Arc;

use serde::Deserialize;
use serde_json::json;

use super::args::object;
use super::{tool, ActionClass, Registry, ToolError, ToolOutput, ToolSpec};
use crate::browser::Session;
use crate::shortcuts::replay::{self, Options};
use crate::shortcuts::store::Store;

pub(super) fn register(r: &mut Registry) {
    r.add(Arc::new(ShortcutsList));
    r.add(Arc::new(ShortcutsExecute));
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ListArgs {}

tool!(
    ShortcutsList,
    ListArgs,
    ToolSpec {
        name: "shortcuts_list",
        description: "List the saved shortcuts (recorded browser flows): id, name, description, step count and the \
                      variables each takes. Run one with shortcuts_execute.",
        schema: object(json!({}), &[]),
        class: ActionClass::Read,
    },
    list
);

async fn list(session: &Session, _a: ListArgs) -> Result<ToolOutput, ToolError> {
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
    ToolSpec {
        name: "shortcuts_execute",
        description: "Run a saved shortcut by shortcut_id, or by command (its name or /id, optionally followed by \
                      name=value variables, e.g. \"/add-todo text=milk\"). variables: values for its {{variables}}. \
                      Returns the outcome of every step (passed, HEALED when a fallback locator was needed, failed with \
                      expected vs seen).",
        schema: object(
            json!({
                "shortcut_id": {"type": "string", "description": "The shortcut's id (from shortcuts_list)."},
                "command": {"type": "string", "description": "Its name or slash command, with optional name=value variables."},
                "variables": {"type": "object", "additionalProperties": {"type": ["string", "number", "boolean"]}},
            }),
            &[]
        ),
        class: ActionClass::Act,
    },
    execute
);

async fn execute(session: &Session, a: ExecArgs) -> Result<ToolOutput, ToolError> {
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
    let registry = Registry::browser();
    let report = replay::run(
        &registry,
        session,
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
