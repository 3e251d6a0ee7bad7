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

/// `(el, enter) => facts`: the actionable element at or above `el`, its name (for icon-only
/// controls also its title, alt, icon class and SVG title), its form and fields. `enter`: the
/// event is an Enter key press in it (which submits its form, and in a message box may send).
const FACTS_JS: &str = r#"(el, enter) => {
  const txt = (s) => (s || "").replace(/\s+/g, " ").trim().slice(0, 200);
  const words = (s) => String(s || "").replace(/[-_.:]+/g, " ").replace(/([a-z])([A-Z])/g, "$1 $2");
  const act = (el && el.closest && el.closest('a,button,input,select,textarea,summary,label,[role=button],[role=link],[role=menuitem],[role=tab],[role=checkbox],[role=switch],[role=option],[onclick],[tabindex]')) || el;
  if (!act || !act.localName) return {};
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
  const nameOf = (b) => {
    const visible = txt(b.innerText || b.textContent || b.value || "");
    const parts = [b.getAttribute("aria-label"), b.getAttribute("title"), b.getAttribute("alt"), visible];
    // Icon-only controls (no letters shown): what the page says about the icon.
    if (!/\p{L}/u.test(visible)) {
      const icons = Array.from(b.querySelectorAll ? b.querySelectorAll("img[alt], svg title, use, [aria-label], [title], i, span") : []).slice(0, 8);
      for (const i of [b, ...icons]) {
        parts.push(i.getAttribute("alt"), i.getAttribute("aria-label"), i.getAttribute("title"),
          i.localName === "title" ? i.textContent : "", words(i.getAttribute("href") || i.getAttribute("xlink:href")),
          words(typeof i.className === "string" ? i.className : (i.className && i.className.baseVal)), words(i.id),
          i.dataset ? words(i.dataset.action || i.dataset.icon || i.dataset.tooltip || "") : "");
      }
      const bg = getComputedStyle(b).backgroundImage || "";
      const before = getComputedStyle(b, "::before").content || "";
      parts.push(words(bg.replace(/.*\/|\.(svg|png|gif|jpe?g|webp).*/gi, "")), before === "none" ? "" : words(before.replace(/.*\/|\.(svg|png).*/gi, "")));
    }
    return txt(parts.filter(Boolean).join(" "));
  };
  const submits = form ? Array.from(form.querySelectorAll('button:not([type=button]):not([type=reset]), input[type=submit]')).slice(0, 10).map(nameOf) : [];
  let text = "";
  if (tag === "input" || tag === "textarea" || tag === "select") {
    text = txt((act.labels && act.labels[0] ? act.labels[0].textContent : "") || act.getAttribute("aria-label") || act.placeholder || act.name || (isSubmit ? act.value : ""));
  } else text = nameOf(act);
  const multiline = tag === "textarea" || !!act.isContentEditable || act.getAttribute("role") === "textbox";
  return {
    line, tag, type, role: String(act.getAttribute("role") || ""), text,
    href: tag === "a" ? String(act.href || "") : "",
    download: tag === "a" && act.hasAttribute("download"),
    form_action: form ? String(form.action || "") : "",
    fields: (tag === "input" || tag === "textarea" || tag === "select") && !isSubmit && !enter
      ? [{tag, type, name: txt((act.name || "") + " " + (act.id || "")), autocomplete: String(act.getAttribute("autocomplete") || ""), label: text}]
      : fields,
    submits,
    iframe_src: tag === "iframe" ? String(act.src || "") : "",
    frame_url: String(location.href),
    submits_form: !!form && (isSubmit || (!!enter && !multiline)),
    enter_in_message: !!enter && multiline,
  };
}"#;

/// `(x, y) => element`: what really receives an event at viewport point (x, y) of this
/// document: into open shadow roots and same-origin frames (a cross-origin frame is the iframe).
const HIT_JS: &str = r#"(x, y) => {
  let doc = document, hit = null;
  for (let depth = 0; depth < 8; depth++) {
    hit = doc.elementFromPoint(x, y);
    while (hit && hit.shadowRoot) { const inner = hit.shadowRoot.elementFromPoint(x, y); if (!inner || inner === hit) break; hit = inner; }
    if (!hit || (hit.localName !== "iframe" && hit.localName !== "frame")) break;
    let inner = null;
    try { inner = hit.contentDocument; } catch (e) { inner = null; }
    if (!inner) break;
    const r = hit.getBoundingClientRect(), cs = getComputedStyle(hit);
    x -= r.left + hit.clientLeft + parseFloat(cs.paddingLeft || 0);
    y -= r.top + hit.clientTop + parseFloat(cs.paddingTop || 0);
    doc = inner;
  }
  return hit;
}"#;

/// `el => {x, y}`: where a click on `el` lands (its center, scrolled into view as the click
/// will), or null when it has no box.
const POINT_OF_JS: &str = r#"(el) => {
  const box = () => { for (const r of el.getClientRects()) if (r.width > 0 && r.height > 0) return r; return el.getBoundingClientRect(); };
  let r = box();
  if (r.width === 0 && r.height === 0) return null;
  if (r.top < 0 || r.left < 0 || r.bottom > innerHeight || r.right > innerWidth) { el.scrollIntoView({block: "center", inline: "center", behavior: "instant"}); r = box(); }
  return {x: Math.min(Math.max(r.left + r.width / 2, 0), innerWidth - 1), y: Math.min(Math.max(r.top + r.height / 2, 0), innerHeight - 1)};
}"#;

fn parse(v: Value) -> TargetFacts {
    serde_json::from_value(v).unwrap_or_default()
}

/// Facts about what a click on the element behind `r` really reaches: the element at the
/// point the click lands (after the scroll the click does), when that is not the element, its
/// descendant or its label (a transparent "Place order" over "Cancel" is classified as "Place
/// order"). A stale ref is the tool's own error to report, so it gives empty facts here.
pub async fn by_ref(tab: &Tab, r: &str, enter: bool) -> Result<TargetFacts, PageError> {
    let el = match resolve_ref(tab, r).await {
        Ok(el) => el,
        Err(_) => return Ok(TargetFacts::default()),
    };
    let js = format!(
        "(el, enter) => {{ const facts = ({FACTS_JS}); const hitAt = ({HIT_JS}); const p = ({POINT_OF_JS})(el); \
         let target = el; if (p) {{ const hit = hitAt(p.x, p.y); \
         const inside = (n) => {{ for (let c = n; c; c = c.parentNode || c.host) if (c === el) return true; return false; }}; \
         const labelOf = hit && hit.closest && hit.closest('label'); \
         if (hit && !inside(hit) && !(labelOf && (labelOf.control === el || labelOf.contains(el)))) target = hit; }} \
         return facts(target, enter); }}"
    );
    Ok(parse(el.call(tab, &js, &[json!(enter)]).await?))
}

/// Facts about whatever receives an event at viewport point (`x`, `y`): into open shadow
/// roots and same-origin frames; a cross-origin frame is reported as the iframe, with its
/// source.
pub async fn at_point(tab: &Tab, x: f64, y: f64) -> Result<TargetFacts, PageError> {
    let world = outline::main_world(tab).await?;
    let expr = format!(
        "(({FACTS_JS}))((({HIT_JS}))({x}, {y}), false)",
        x = x.max(0.0),
        y = y.max(0.0)
    );
    Ok(parse(outline::eval_world(tab, &world, &expr).await?))
}

/// Facts about the focused element (into open shadow roots and same-origin frames), as the
/// target of a key press; `submits` for Enter.
pub async fn focused(tab: &Tab, submits: bool) -> Result<TargetFacts, PageError> {
    let world = outline::main_world(tab).await?;
    let expr = format!(
        "(({FACTS_JS}))((() => {{ let a = document.activeElement; \
         for (let d = 0; d < 8 && a; d++) {{ if (a.shadowRoot && a.shadowRoot.activeElement) a = a.shadowRoot.activeElement; \
         else if ((a.localName === 'iframe' || a.localName === 'frame') && (() => {{ try {{ return a.contentDocument; }} catch (e) {{ return null; }} }})()) a = a.contentDocument.activeElement; \
         else break; }} return a && a !== document.body ? a : null; }})(), {submits})"
    );
    Ok(parse(outline::eval_world(tab, &world, &expr).await?))
}

/// Facts about the element that `moves` presses of Tab (Shift+Tab: negative) would focus, in
/// the page's sequential focus order (positive tabindex first, then document order).
pub async fn focused_after(tab: &Tab, moves: i32, submits: bool) -> Result<TargetFacts, PageError> {
    let world = outline::main_world(tab).await?;
    let expr = format!(
        "(({FACTS_JS}))((() => {{ \
         const all = [...document.querySelectorAll('a[href],area[href],button,input,select,textarea,summary,iframe,[tabindex],[contenteditable]')] \
           .filter((e) => !e.disabled && e.tabIndex >= 0 && e.getClientRects().length && getComputedStyle(e).visibility !== 'hidden' && !(e.type === 'hidden')); \
         const order = all.filter((e) => e.tabIndex > 0).sort((a, b) => a.tabIndex - b.tabIndex).concat(all.filter((e) => e.tabIndex === 0)); \
         if (!order.length) return null; \
         let i = order.indexOf(document.activeElement); \
         if (i < 0) i = {moves} > 0 ? -1 : order.length; \
         i = ((i + {moves}) % order.length + order.length) % order.length; \
         return order[i]; }})(), {submits})"
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
    /// The element focused after `moves` presses of Tab (negative: Shift+Tab), then a key
    /// press on it.
    FocusedAfter {
        /// Tab presses before the key (Shift+Tab counts -1).
        moves: i32,
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
    let (url, dialog) = {
        let st = tab.state();
        (st.url.clone(), st.dialog.clone())
    };
    fx.page = Some(url);
    // With a dialog open the page cannot be asked (it would wait until the dialog closes); a
    // key that accepts it (Enter, Space) confirms what its message says ("Delete your
    // account?"), so the message is what is classified.
    if let Some(d) = dialog {
        if matches!(aim, Some(Aim::Focused { .. } | Aim::FocusedAfter { .. })) {
            fx.target = Some(Target {
                facts: TargetFacts {
                    tag: "dialog".into(),
                    text: d.message.chars().take(200).collect(),
                    ..TargetFacts::default()
                },
                interaction,
            });
        }
        return fx;
    }
    let facts = match aim {
        None => return fx,
        Some(Aim::Ref(r)) => by_ref(&tab, r, false).await,
        Some(Aim::Point(x, y)) => at_point(&tab, x, y).await,
        Some(Aim::Focused { submits }) => focused(&tab, submits).await,
        Some(Aim::FocusedAfter { moves, submits }) => focused_after(&tab, moves, submits).await,
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
