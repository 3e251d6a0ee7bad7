//! `javascript_tool`: run JavaScript in the page and return the last expression's value.

use std::time::Duration;

use serde::Deserialize;
use serde_json::{json, Value};

use super::args::{object, tab_id};
use super::inspect;
use super::report::{act_overlapped, no_dialog};
use super::{ActionClass, Registry, ToolContext, ToolError, ToolOutput, ToolSpec};
use crate::browser::settle::Limits;
use crate::browser::TabId;
use crate::policy::rules::{self, RiskKind};
use crate::policy::Effects;
use crate::tool;

pub(super) fn register(r: &mut Registry) {
    super::add::<Javascript>(r);
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Args {
    code: String,
    tab_id: Option<TabId>,
}

tool!(
    Javascript,
    Args,
    ToolSpec::new(
        "javascript_tool",
        "Run JavaScript in the page (its own context, top-level await allowed) and return the value of the last \
                      expression as JSON, or the error it threw. Runs for at most 30 s.",
        object(json!({"code": {"type": "string", "description": "The script."}, "tab_id": tab_id()}), &["code"]),
        ActionClass::Act,
    ),
    javascript,
    effects
);

/// A page script can do anything a person's click can, and no reading of its text proves it
/// harmless (`el['cli'+'ck']()`, `eval(atob(…))`), so every script is risky: confirmed in both
/// modes, unless the person allowed scripts on the page's domain (`allow_scripts`).
async fn effects(ctx: &ToolContext, a: &Args) -> Effects {
    let mut fx = inspect::page(ctx, a.tab_id).await;
    let reason = if rules::script_mutates(&a.code) {
        "the script clicks, submits, writes or sends requests, which the host cannot check"
    } else {
        "page scripts can do whatever a click can, and the host cannot check what this one does"
    };
    fx.risk = Some((RiskKind::Script, reason.into()));
    fx
}

async fn javascript(ctx: &ToolContext, args: Args) -> Result<ToolOutput, ToolError> {
    let session = ctx.session()?;
    let tab = session.tab(args.tab_id).await?;
    no_dialog(&tab)?;
    let mut outcome: Option<Result<String, ToolError>> = None;
    let slot = &mut outcome;
    let t = &tab;
    let code = &args.code;
    let notes = act_overlapped(session, &tab, Limits::default(), move || async move {
        let limit = Duration::from_secs(35);
        let mut r: Value = t
            .call_with(
                "Runtime.evaluate",
                json!({"expression": code, "returnByValue": false, "awaitPromise": true, "replMode": true,
                       "userGesture": true, "allowUnsafeEvalBlockedByCSP": true, "timeout": 30000}),
                limit,
            )
            .await?;
        // REPL mode hands back a returned promise unawaited, and objects by reference:
        // settle the promise, then serialize the value.
        if r.get("exceptionDetails").is_none() {
            if let Some(id) = r.pointer("/result/objectId").and_then(|o| o.as_str()).map(str::to_string) {
                r = if r.pointer("/result/subtype").and_then(|s| s.as_str()) == Some("promise") {
                    t.call_with("Runtime.awaitPromise", json!({"promiseObjectId": id, "returnByValue": true}), limit).await?
                } else {
                    let desc = r.pointer("/result/description").cloned();
                    let mut v: Value = t
                        .call_with(
                            "Runtime.callFunctionOn",
                            json!({"objectId": id, "functionDeclaration": "function() { return this; }", "returnByValue": true}),
                            limit,
                        )
                        .await?;
                    // Values JSON cannot hold (DOM nodes, functions) keep their description.
                    if v.pointer("/result/value").is_some_and(|x| x.as_object().is_some_and(|o| o.is_empty())) {
                        if let (Some(d), Some(res)) = (desc, v.get_mut("result")) {
                            res["value"] = Value::Null;
                            res["description"] = d;
                            if let Some(o) = res.as_object_mut() {
                                o.remove("value");
                            }
                        }
                    }
                    v
                };
                let _ = t.run("Runtime.releaseObject", json!({"objectId": id})).await;
            }
        }
        *slot = Some(render(&r));
        Ok(String::new())
    })
    .await?;
    let text = match outcome {
        Some(Ok(v)) => v,
        Some(Err(e)) => return Err(e),
        None if tab.state().closed || tab.state().crashed => {
            String::from("The script did not finish: the tab closed (or its page crashed).")
        }
        None => String::from("The script did not finish (it opened a dialog)."),
    };
    Ok(ToolOutput::text(format!("{text}{notes}")))
}

fn render(r: &Value) -> Result<String, ToolError> {
    if let Some(ex) = r.get("exceptionDetails") {
        let msg = ex
            .pointer("/exception/description")
            .and_then(|d| d.as_str())
            .or_else(|| ex.pointer("/exception/value").and_then(|d| d.as_str()))
            .or_else(|| ex.get("text").and_then(|t| t.as_str()))
            .unwrap_or("error");
        return Err(ToolError(format!("the script threw: {msg}")));
    }
    let res = r.get("result").cloned().unwrap_or(Value::Null);
    let kind = res.get("type").and_then(|t| t.as_str()).unwrap_or("");
    if kind == "undefined" {
        return Ok("undefined".into());
    }
    if let Some(v) = res.get("value") {
        let s = serde_json::to_string_pretty(v).unwrap_or_default();
        return Ok(if s.len() > 100_000 {
            format!(
                "{}… [cut at 100000 characters]",
                &s[..s.floor_char_boundary(100_000)]
            )
        } else {
            s
        });
    }
    if let Some(u) = res.get("unserializableValue").and_then(|u| u.as_str()) {
        return Ok(u.to_string());
    }
    Ok(res
        .get("description")
        .and_then(|d| d.as_str())
        .unwrap_or(kind)
        .to_string())
}
