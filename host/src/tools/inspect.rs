//! Looks at the page before an action runs, for the effects a call declares: the page it acts
//! on, what element a call targets (by ref, by coordinate, or the focused element for key
//! presses) and what its form holds. The facts come from the DOM, never from the model's
//! arguments, so a model cannot talk its way past a rule.

use serde_json::{json, Value};

use super::ToolContext;
use crate::browser::tab::Tab;
use crate::browser::TabId;
use crate::outline::{self, element::resolve as resolve_ref, PageError};
use crate::policy::rules::TargetFacts;
use crate::policy::{ActionClass, Effects, Interaction, Target};

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
pub async fn by_ref(tab: &Tab, r: &str) -> Result<TargetFacts, PageError> {
    let el = match resolve_ref(tab, r).await {
        Ok(el) => el,
        Err(_) => return Ok(TargetFacts::default()),
    };
    Ok(parse(el.call(tab, FACTS_JS, &[json!(false)]).await?))
}

/// Facts about whatever is at viewport point (`x`, `y`) of the top-level page (an iframe hit
/// is reported as the iframe, with its source).
pub async fn at_point(tab: &Tab, x: f64, y: f64) -> Result<TargetFacts, PageError> {
    let world = outline::main_world(tab).await?;
    let expr = format!(
        "(({FACTS_JS}))(document.elementFromPoint({x}, {y}), false)",
        x = x.max(0.0),
        y = y.max(0.0)
    );
    Ok(parse(outline::eval_world(tab, &world, &expr).await?))
}

/// Facts about the focused element, as the target of a key press that submits (`Enter`).
pub async fn focused(tab: &Tab, submits: bool) -> Result<TargetFacts, PageError> {
    let world = outline::main_world(tab).await?;
    let expr = format!(
        "(({FACTS_JS}))(document.activeElement && document.activeElement !== document.body ? document.activeElement : null, {submits})"
    );
    Ok(parse(outline::eval_world(tab, &world, &expr).await?))
}

/// Which element of the page a call sends its event to.
#[derive(Debug, Clone, Copy)]
pub enum Aim<'a> {
    /// The element behind a ref.
    Ref(&'a str),
    /// Whatever is at a viewport point.
    Point(f64, f64),
    /// The focused element (a key press); `submits` for Enter, which submits its form.
    Focused {
        /// Whether the key submits the form.
        submits: bool,
    },
}

impl<'a> Aim<'a> {
    /// The aim of a call with an optional ref and an optional coordinate (the ref wins).
    pub fn of(r: Option<&'a str>, point: Option<[f64; 2]>) -> Option<Aim<'a>> {
        match (r, point) {
            (Some(r), _) => Some(Aim::Ref(r)),
            (None, Some([x, y])) => Some(Aim::Point(x, y)),
            _ => None,
        }
    }
}

/// Effects of an acting call on tab `tab_id` (the active tab when `None`): the page's address,
/// and, when `aim` is given, the element that receives the event and how it is used. A tab
/// that cannot be reached gives bare effects; the call then fails on its own.
pub async fn on_page(
    ctx: &ToolContext,
    tab_id: Option<TabId>,
    aim: Option<Aim<'_>>,
    interaction: Interaction,
) -> Effects {
    let mut fx = Effects::of(ActionClass::Act);
    let Ok(session) = ctx.session() else {
        return fx;
    };
    let Ok(tab) = session.tab(tab_id).await else {
        return fx;
    };
    fx.page = Some(tab.state().url.clone());
    let facts = match aim {
        None => return fx,
        Some(Aim::Ref(r)) => by_ref(&tab, r).await,
        Some(Aim::Point(x, y)) => at_point(&tab, x, y).await,
        Some(Aim::Focused { submits }) => focused(&tab, submits).await,
    };
    if let Ok(facts) = facts {
        fx.target = Some(Target { facts, interaction });
    }
    fx
}

/// Effects of an acting call on a tab's page with no element target.
pub async fn page(ctx: &ToolContext, tab_id: Option<TabId>) -> Effects {
    on_page(ctx, tab_id, None, Interaction::Activate).await
}
