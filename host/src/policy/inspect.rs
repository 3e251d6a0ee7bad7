//! Looks at the page before an action runs: what element a call targets (by ref, by
//! coordinate, or the focused element for key presses) and what its form holds. The facts come
//! from the DOM, never from the model's arguments, so a model cannot talk its way past a rule.

use serde_json::{json, Value};

use super::rules::TargetFacts;
use crate::browser::tab::Tab;
use crate::outline;
use crate::tools::{resolve_ref, ToolError};

/// `el => facts`: the actionable element at or above `el`, its form and fields.
const FACTS_JS: &str = r#"(el, submitsForm) => {
  const txt = (s) => (s || "").replace(/\s+/g, " ").trim().slice(0, 200);
  const act = (el && el.closest && el.closest('a,button,input,select,textarea,summary,label,[role=button],[role=link],[role=menuitem],[role=tab],[role=checkbox],[role=switch],[role=option]')) || el;
  if (!act) return {};
  const line = globalThis.__tabwright && __tabwright.lineOf ? String(__tabwright.lineOf(act) || "") : "";
  const tag = act.localName || "";
  const type = String(act.type || act.getAttribute && act.getAttribute("type") || "");
  const form = act.form || (act.closest && act.closest("form"));
  const isSubmit = (tag === "button" && (type === "submit" || type === "")) || (tag === "input" && (type === "submit" || type === "image"));
  const fields = form ? Array.from(form.elements).slice(0, 60).map((f) => ({
    tag: f.localName, type: String(f.type || ""), name: txt((f.name || "") + " " + (f.id || "")),
    autocomplete: String(f.getAttribute("autocomplete") || ""),
    label: txt(f.labels && f.labels[0] ? f.labels[0].textContent : (f.getAttribute("aria-label") || f.placeholder || "")),
  })) : [];
  const submits = form ? Array.from(form.querySelectorAll('button:not([type=button]):not([type=reset]), input[type=submit]')).slice(0, 10).map((b) => txt(b.innerText || b.value || b.getAttribute("aria-label"))) : [];
  let text = "";
  if (tag === "input" || tag === "textarea" || tag === "select") {
    text = txt((act.labels && act.labels[0] ? act.labels[0].textContent : "") || act.getAttribute("aria-label") || act.placeholder || act.name || (isSubmit ? act.value : ""));
  } else text = txt(act.getAttribute("aria-label") || act.innerText || act.textContent || act.title || act.getAttribute("alt"));
  return {
    line, tag, type, role: String(act.getAttribute("role") || ""), text,
    href: tag === "a" ? String(act.href || "") : "",
    download: tag === "a" && act.hasAttribute("download"),
    form_action: form ? String(form.action || "") : "",
    fields: (tag === "input" || tag === "textarea" || tag === "select") && !isSubmit && !submitsForm
      ? [{tag, type, name: txt((act.name || "") + " " + (act.id || "")), autocomplete: String(act.getAttribute("autocomplete") || ""), label: text}]
      : fields,
    submits,
    iframe_src: tag === "iframe" ? String(act.src || "") : "",
    frame_url: String(location.href),
    submits_form: !!form && (isSubmit || !!submitsForm),
  };
}"#;

fn parse(v: Value) -> TargetFacts {
    serde_json::from_value(v).unwrap_or_default()
}

/// Facts about the element behind `r`. A stale ref is the tool's own error to report, so it
/// gives empty facts here rather than failing the check.
pub async fn by_ref(tab: &Tab, r: &str) -> Result<TargetFacts, ToolError> {
    let el = match resolve_ref(tab, r).await {
        Ok(el) => el,
        Err(_) => return Ok(TargetFacts::default()),
    };
    Ok(parse(el.call(tab, FACTS_JS, &[json!(false)]).await?))
}

/// Facts about whatever is at viewport point (`x`, `y`) of the top-level page (an iframe hit
/// is reported as the iframe, with its source).
pub async fn at_point(tab: &Tab, x: f64, y: f64) -> Result<TargetFacts, ToolError> {
    let world = outline::main_world(tab).await?;
    let expr = format!(
        "(({FACTS_JS}))(document.elementFromPoint({x}, {y}), false)",
        x = x.max(0.0),
        y = y.max(0.0)
    );
    Ok(parse(outline::eval_world(tab, &world, &expr).await?))
}

/// Facts about the focused element, as the target of a key press that submits (`Enter`).
pub async fn focused(tab: &Tab, submits: bool) -> Result<TargetFacts, ToolError> {
    let world = outline::main_world(tab).await?;
    let expr = format!(
        "(({FACTS_JS}))(document.activeElement && document.activeElement !== document.body ? document.activeElement : null, {submits})"
    );
    Ok(parse(outline::eval_world(tab, &world, &expr).await?))
}
