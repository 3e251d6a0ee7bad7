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
    super::add::<ShortcutsRecord>(r);
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Check {
    text: Option<String>,
    url: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RecordArgs {
    action: String,
    name: Option<String>,
    description: Option<String>,
    #[serde(default)]
    assertions: Vec<Check>,
}

tool!(
    ShortcutsRecord,
    RecordArgs,
    ToolSpec::new(
        "shortcuts_record",
        "Record a browser flow as a shortcut that replays later without a model (QA suites, CI). action \"start\": \
         from now on every successful browser action of this session becomes a step. action \"save\" (name \
         required, description optional): stops and saves it; assertions (each {text} the page must contain and/or \
         {url} it must be at, a trailing * matches any rest) are appended as final checks. Replay it with \
         shortcuts_execute, or `tabwright replay FILE --junit report.xml` in CI.",
        object(
            json!({
                "action": {"type": "string", "enum": ["start", "save"]},
                "name": {"type": "string"},
                "description": {"type": "string"},
                "assertions": {"type": "array", "items": {"type": "object", "properties": {
                    "text": {"type": "string"}, "url": {"type": "string"}}, "additionalProperties": false}}
            }),
            &["action"]
        ),
        ActionClass::Read,
    )
    .trusted()
    .serial(),
    record
);

async fn record(ctx: &ToolContext, a: RecordArgs) -> Result<ToolOutput, ToolError> {
    let session = ctx.session()?;
    match a.action.as_str() {
        "start" => {
            crate::shortcuts::record::start(session);
            Ok(ToolOutput::text(
                "Recording: every successful browser action from now on becomes a step. Save with shortcuts_record {\"action\": \"save\", \"name\": …}.",
            ))
        }
        "save" => {
            let name = a.name.filter(|n| !n.trim().is_empty()).ok_or_else(|| {
                ToolError::new(
                    "invalid parameters for shortcuts_record: `name` is required to save",
                )
            })?;
            if let Some(bad) = a
                .assertions
                .iter()
                .position(|c| c.text.is_none() && c.url.is_none())
            {
                return Err(ToolError(format!(
                    "invalid parameters for shortcuts_record: assertions[{bad}] needs text or url"
                )));
            }
            let saved = crate::shortcuts::record::finish(session, &name)
                .map_err(|e| ToolError(format!("cannot save the shortcut: {e}")))?;
            let Some((_, mut sc)) = saved else {
                return Err(ToolError::new(
                    "nothing was recorded: start with shortcuts_record {\"action\": \"start\"}, then act in the browser",
                ));
            };
            if let Some(d) = a.description {
                sc.description = d;
            }
            for c in a.assertions {
                sc.steps.push(crate::shortcuts::format::Step {
                    action: "assert".into(),
                    description: Some(match (&c.text, &c.url) {
                        (Some(t), _) => format!("Page shows \u{201c}{t}\u{201d}"),
                        (None, Some(u)) => format!("Page is {u}"),
                        _ => String::new(),
                    }),
                    text: c.text,
                    url: c.url,
                    ..Default::default()
                });
            }
            let path = Store::for_session(session)
                .save(&sc)
                .map_err(|e| ToolError(format!("cannot save the shortcut: {e}")))?;
            Ok(ToolOutput::text(format!(
                "Saved the shortcut \"{}\" (id {}, {} steps) to {}. Replay it now with shortcuts_execute {{\"shortcut_id\": \"{}\"}}; in CI: tabwright replay {} --junit report.xml",
                sc.name,
                path.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_default(),
                sc.steps.len(),
                path.display(),
                path.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_default(),
                path.display()
            )))
        }
        other => Err(ToolError(format!(
            "invalid parameters for shortcuts_record: action \"{other}\"; use start or save"
        ))),
    }
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
