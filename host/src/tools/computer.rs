//! `computer`: mouse, keyboard, scrolling, screenshots and waiting, as a person uses them.
//!
//! Targets are refs (resolved to the element's visible center) or viewport coordinates in
//! CSS pixels, the same space screenshots show. Open dialogs are answered with `key`
//! (Enter accepts, Escape dismisses) and `type` (a prompt's answer).

use std::sync::Arc;
use std::time::Duration;

use base64::Engine;
use serde::Deserialize;
use serde_json::{json, Value};

use super::args::{object, tab_id};
use super::inspect::{self, Aim};
use super::report::{act, act_overlapped, act_then, no_dialog, SubmitHold};
use super::{ActionClass, Image, Registry, ToolContext, ToolError, ToolOutput, ToolSpec};
use crate::browser::input::{parse_chord, parse_modifiers};
use crate::browser::settle::Limits;
use crate::browser::tab::Tab;
use crate::browser::{Session, TabId};
use crate::outline::element::resolve;
use crate::policy::{Effects, Interaction};
use crate::runtime::trace::ActionTrace;
use crate::tool;

pub(super) fn register(r: &mut Registry) {
    super::add::<Computer>(r);
}

/// What `computer` does: one variant per action of TOOLS.md.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    /// `left_click`.
    LeftClick,
    /// `right_click`.
    RightClick,
    /// `middle_click`.
    MiddleClick,
    /// `double_click`.
    DoubleClick,
    /// `triple_click`.
    TripleClick,
    /// `hover`.
    Hover,
    /// `type`.
    Type,
    /// `key`.
    Key,
    /// `scroll`.
    Scroll,
    /// `scroll_to`.
    ScrollTo,
    /// `left_click_drag`.
    LeftClickDrag,
    /// `screenshot`.
    Screenshot,
    /// `zoom`.
    Zoom,
    /// `wait`.
    Wait,
}

const ACTIONS: &[&str] = &[
    "left_click",
    "right_click",
    "middle_click",
    "double_click",
    "triple_click",
    "hover",
    "type",
    "key",
    "scroll",
    "scroll_to",
    "left_click_drag",
    "screenshot",
    "zoom",
    "wait",
];

impl Action {
    /// The action's name in TOOLS.md.
    pub fn as_str(self) -> &'static str {
        match self {
            Action::LeftClick => "left_click",
            Action::RightClick => "right_click",
            Action::MiddleClick => "middle_click",
            Action::DoubleClick => "double_click",
            Action::TripleClick => "triple_click",
            Action::Hover => "hover",
            Action::Type => "type",
            Action::Key => "key",
            Action::Scroll => "scroll",
            Action::ScrollTo => "scroll_to",
            Action::LeftClickDrag => "left_click_drag",
            Action::Screenshot => "screenshot",
            Action::Zoom => "zoom",
            Action::Wait => "wait",
        }
    }

    /// True for actions that change nothing (looking, waiting, hovering, scrolling).
    pub fn passive(self) -> bool {
        matches!(
            self,
            Action::Screenshot
                | Action::Zoom
                | Action::Wait
                | Action::Hover
                | Action::Scroll
                | Action::ScrollTo
        )
    }
}

impl std::fmt::Display for Action {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Args {
    action: Action,
    #[serde(rename = "ref")]
    target: Option<String>,
    coordinate: Option<[f64; 2]>,
    modifiers: Option<String>,
    text: Option<String>,
    repeat: Option<u32>,
    scroll_direction: Option<String>,
    scroll_amount: Option<u32>,
    start_ref: Option<String>,
    start_coordinate: Option<[f64; 2]>,
    region: Option<[f64; 4]>,
    duration: Option<f64>,
    tab_id: Option<TabId>,
}

tool!(
    Computer,
    Args,
    ToolSpec::new(
        "computer",
        "Use the mouse and keyboard on the page. Clicks and hover take ref (from read_page/find) or coordinate [x, y] \
                      in viewport CSS pixels, plus optional modifiers like \"ctrl+shift\". type: text into the focused element. \
                      key: space-separated keys or chords (\"ctrl+a Backspace Enter\"), repeat. scroll: scroll_direction, \
                      scroll_amount 1-10, optional coordinate. scroll_to: ref. left_click_drag: start_ref/start_coordinate to \
                      ref/coordinate. screenshot. zoom: region [x0, y0, x1, y1]. wait: duration seconds (max 30). \
                      Returns what changed (navigation, new tab, dialog, focus). An open dialog is answered with key Enter/Escape.",
        object(
            json!({
                "action": {"type": "string", "enum": ACTIONS},
                "ref": {"type": "string", "description": "Target element ref."},
                "coordinate": {"type": "array", "items": {"type": "number"}, "minItems": 2, "maxItems": 2, "description": "[x, y] in viewport CSS pixels."},
                "modifiers": {"type": "string", "description": "Keys held during a click: ctrl, shift, alt, meta joined by +."},
                "text": {"type": "string", "description": "type: the text. key: keys/chords separated by spaces."},
                "repeat": {"type": "integer", "minimum": 1, "maximum": 100, "description": "key: how many times to press the sequence."},
                "scroll_direction": {"type": "string", "enum": ["up", "down", "left", "right"]},
                "scroll_amount": {"type": "integer", "minimum": 1, "maximum": 10, "description": "Wheel ticks (default 3)."},
                "start_ref": {"type": "string"},
                "start_coordinate": {"type": "array", "items": {"type": "number"}, "minItems": 2, "maxItems": 2},
                "region": {"type": "array", "items": {"type": "number"}, "minItems": 4, "maxItems": 4, "description": "zoom: [x0, y0, x1, y1]."},
                "duration": {"type": "number", "minimum": 0, "maximum": 30, "description": "wait: seconds."},
                "tab_id": tab_id(),
            }),
            &["action"]
        ),
        ActionClass::Act,
    ),
    computer,
    effects
);

/// What a `computer` call does: passive actions read; clicks act on the element at their
/// target (by ref or coordinate); Enter and Space act on the focused element; the rest act on
/// the page.
async fn effects(ctx: &ToolContext, a: &Args) -> Effects {
    if a.action.passive() {
        return Effects::of(ActionClass::Read);
    }
    let aim = match a.action {
        Action::LeftClick
        | Action::RightClick
        | Action::MiddleClick
        | Action::DoubleClick
        | Action::TripleClick => Aim::of(a.target.as_deref(), a.coordinate),
        Action::Key => {
            let text = a.text.as_deref().unwrap_or("");
            let enter = text.split_whitespace().any(|k| {
                k.rsplit('+').next().is_some_and(|k| {
                    k.eq_ignore_ascii_case("enter") || k.eq_ignore_ascii_case("return")
                })
            });
            let space = text
                .split_whitespace()
                .any(|k| k.eq_ignore_ascii_case("space") || k == " ");
            // Tab presses before the Enter move the focus first: the element then focused
            // receives the key.
            let mut moves = 0i32;
            for k in text.split_whitespace() {
                let key = k.rsplit('+').next().unwrap_or(k);
                if key.eq_ignore_ascii_case("enter")
                    || key.eq_ignore_ascii_case("return")
                    || key.eq_ignore_ascii_case("space")
                {
                    break;
                }
                if key.eq_ignore_ascii_case("tab") {
                    moves += if k.to_ascii_lowercase().contains("shift+") {
                        -1
                    } else {
                        1
                    };
                }
            }
            (enter || space).then_some(if moves != 0 {
                Aim::FocusedAfter {
                    moves,
                    submits: enter,
                }
            } else {
                Aim::Focused { submits: enter }
            })
        }
        // A typed newline is an Enter in the focused field.
        Action::Type => a
            .text
            .as_deref()
            .is_some_and(|t| t.contains(['\n', '\r']))
            .then_some(Aim::Focused { submits: true }),
        // A drop is classified by what it is dropped on (a trash zone deletes).
        Action::LeftClickDrag => Aim::of(a.target.as_deref(), a.coordinate),
        _ => None,
    };
    inspect::on_page(ctx, a.tab_id, aim, Interaction::Activate).await
}

fn need<T: Clone>(v: &Option<T>, field: &str, action: Action) -> Result<T, ToolError> {
    v.clone().ok_or_else(|| {
        ToolError(format!(
            "invalid parameters for computer: action={action} needs field `{field}`"
        ))
    })
}

/// The short form of a target description for labels: its quoted name when it has one
/// (`button "Save" [e3] at (10, 20)` → `“Save”`), else its role, else the point.
fn short_target(desc: &str) -> String {
    if let Some(start) = desc.find('"') {
        if let Some(len) = desc[start + 1..].find('"') {
            let name = &desc[start + 1..start + 1 + len];
            if !name.is_empty() {
                return format!("“{}”", clip(name, 40));
            }
        }
    }
    if desc.starts_with('(') {
        // A coordinate: "(44, 20)".
        return clip(desc, 40);
    }
    let head = desc.split(" at (").next().unwrap_or(desc);
    let role = head.split_whitespace().find(|w| *w != "-").unwrap_or(head);
    clip(role, 40)
}

/// At most `n` characters of `s`, with an ellipsis when cut.
fn clip(s: &str, n: usize) -> String {
    if s.chars().count() <= n {
        s.to_string()
    } else {
        let mut out: String = s.chars().take(n).collect();
        out.push('…');
        out
    }
}

/// A click/hover target: the point, a description for the report and, when `locators` is
/// set (a recorder listens), the element's locators captured before the action.
/// The scrollable containers around the element at (x, y), innermost first, each as
/// `[ref, scrollLeft, scrollTop]` (the page itself is not one of them).
const PANES_BEFORE_JS: &str = r#"(x, y) => {
  const out = [];
  let n = document.elementFromPoint(x, y);
  for (; n && n !== document.documentElement && n !== document.body; n = n.assignedSlot || n.parentElement || (n.parentNode && n.parentNode.host)) {
    if (n.scrollHeight <= n.clientHeight + 1 && n.scrollWidth <= n.clientWidth + 1) continue;
    const cs = getComputedStyle(n);
    if (!/(auto|scroll|overlay)/.test(cs.overflowX + ' ' + cs.overflowY) && n.tagName !== 'SELECT' && n.tagName !== 'TEXTAREA') continue;
    out.push([__tabwright.refOf(n, 'e'), n.scrollLeft, n.scrollTop]);
  }
  return out;
}"#;

/// Where the containers [`PANES_BEFORE_JS`] listed are now: `[ref, left, top, width,
/// height, clientWidth, clientHeight, line]` each (null when gone).
const PANES_AFTER_JS: &str = r#"list => list.map(([r]) => {
  const n = __tabwright.element(r);
  if (!n) return null;
  let line = null; try { line = __tabwright.lineOf(n); } catch (e) {}
  return [r, Math.round(n.scrollLeft), Math.round(n.scrollTop), n.scrollWidth, n.scrollHeight, n.clientWidth, n.clientHeight, line];
})"#;

/// Appends what a wheel scrolled to a scroll's result: the pane that moved (a mail list, a
/// `<select multiple>`), or that nothing moved when neither it nor the page did.
async fn pane_report(
    tab: &Tab,
    world: &crate::browser::tab::WorldRef,
    before: &Value,
    page_before: (i64, i64),
    text: String,
) -> String {
    let list = before.as_array().cloned().unwrap_or_default();
    let mut moved = None;
    if !list.is_empty() {
        let after =
            crate::outline::eval_world(tab, world, &format!("({PANES_AFTER_JS})({before})"))
                .await
                .unwrap_or(Value::Null);
        for (b, a) in list.iter().zip(after.as_array().into_iter().flatten()) {
            let (Some(b), Some(a)) = (b.as_array(), a.as_array()) else {
                continue;
            };
            let n = |v: &[Value], i: usize| v.get(i).and_then(Value::as_f64).unwrap_or(0.0);
            if (n(b, 1) - n(a, 1)).abs() >= 1.0 || (n(b, 2) - n(a, 2)).abs() >= 1.0 {
                moved = Some(a.clone());
                break;
            }
        }
    }
    let page_moved = {
        let (sx, sy) = page_before;
        !text.contains(&format!("The page is now at scroll {sx},{sy} "))
    };
    match moved {
        Some(a) => {
            let n = |i: usize| a.get(i).and_then(Value::as_i64).unwrap_or(0);
            let line = a
                .get(7)
                .and_then(Value::as_str)
                .map(str::to_string)
                .unwrap_or_else(|| a.first().and_then(Value::as_str).unwrap_or("?").to_string());
            // The pane's position replaces the page's (which did not move).
            let head = text
                .split(" The page is now at scroll")
                .next()
                .unwrap_or(&text)
                .to_string();
            let rest: String = text
                .split_once('\n')
                .map(|(_, r)| format!("\n{r}"))
                .unwrap_or_default();
            let page = if page_moved {
                text.split_once(" The page is now")
                    .map(|(_, p)| format!(" The page is now{}", p.lines().next().unwrap_or("")))
                    .unwrap_or_default()
            } else {
                String::new()
            };
            format!(
                "{head} The scrolling pane {line} is now at scroll {},{} of {}x{} (its view {}x{}).{page}{rest}",
                n(1),
                n(2),
                n(3),
                n(4),
                n(5),
                n(6)
            )
        }
        None if !page_moved => format!(
            "{text}\nNothing moved: the page (and any pane at that point) is already at its end in that direction."
        ),
        None => text,
    }
}

/// The past tense of a pointer action, for messages.
fn past(action: &str) -> &'static str {
    match action {
        "hover" => "hovered",
        "left_click_drag" => "dragged",
        "right_click" => "right-clicked",
        "double_click" => "double-clicked",
        "triple_click" => "triple-clicked",
        _ => "clicked",
    }
}

async fn target_point(
    tab: &Tab,
    r: &Option<String>,
    c: &Option<[f64; 2]>,
    action: &str,
    ref_field: &str,
    coord_field: &str,
    locators: bool,
) -> Result<(f64, f64, String, Option<Value>), ToolError> {
    if let Some(r) = r {
        let el = resolve(tab, r).await?;
        let p = el.point(tab).await?;
        let (x, y, covered) = (p.x, p.y, p.covered);
        let target = if locators {
            super::capture(&el, tab, Some((x, y))).await
        } else {
            None
        };
        let desc = p.line.unwrap_or_else(|| r.clone());
        if let Some(cov) = covered {
            // The event would go to what is on top: not sent.
            return Err(ToolError(format!(
                "{r} was not {verb}: {cov} covers it at ({x:.0}, {y:.0}), so that element would get the event instead. Close or dismiss what covers it (or scroll), then try again; to act on what is on top, use its ref or click by coordinate.",
                verb = past(action),
            )));
        }
        let d = format!("{desc} at ({x:.0}, {y:.0})");
        return Ok((x, y, d, target));
    }
    if let Some([x, y]) = c {
        if !x.is_finite() || !y.is_finite() || *x < 0.0 || *y < 0.0 {
            return Err(ToolError(format!("invalid parameters for computer: field `{coord_field}` must be two non-negative numbers")));
        }
        // Input outside the viewport reaches nothing (and far-off points stall the
        // renderer's input queue): refused before anything is sent.
        let meta = crate::outline::page_meta(tab).await?;
        if meta.vw > 0 && meta.vh > 0 && (*x >= meta.vw as f64 || *y >= meta.vh as f64) {
            return Err(ToolError(format!(
                "field `{coord_field}` ({x:.0}, {y:.0}) is outside the viewport ({}x{}): coordinates are viewport pixels as in the last screenshot; scroll first (computer action=scroll) or use a ref",
                meta.vw, meta.vh
            )));
        }
        return Ok((*x, *y, format!("({x:.0}, {y:.0})"), None));
    }
    Err(ToolError(format!(
        "invalid parameters for computer: action={action} needs `{ref_field}` (from read_page or find) or `{coord_field}` [x, y]"
    )))
}

async fn computer(ctx: &ToolContext, a: Args) -> Result<ToolOutput, ToolError> {
    let session = ctx.session()?;
    let action = a.action;
    let tab = session.tab(a.tab_id).await?;
    let limits = Limits::default();
    let text = match action {
        Action::LeftClick
        | Action::RightClick
        | Action::MiddleClick
        | Action::DoubleClick
        | Action::TripleClick
        | Action::Hover => {
            no_dialog(&tab)?;
            let mods = match &a.modifiers {
                Some(m) => parse_modifiers(m).map_err(|e| {
                    ToolError(format!(
                        "invalid parameters for computer: field `modifiers`: {e}"
                    ))
                })?,
                None => 0,
            };
            let (button, count, verb) = match action {
                Action::LeftClick => ("left", 1, "Clicked"),
                Action::RightClick => ("right", 1, "Right-clicked"),
                Action::MiddleClick => ("middle", 1, "Middle-clicked"),
                Action::DoubleClick => ("left", 2, "Double-clicked"),
                Action::TripleClick => ("left", 3, "Triple-clicked"),
                _ => ("none", 0, "Hovered over"),
            };
            let t = &tab;
            let target = (&a.target, &a.coordinate);
            act(session, &tab, limits, move || async move {
                let (x, y, desc, located) = target_point(
                    t,
                    target.0,
                    target.1,
                    action.as_str(),
                    "ref",
                    "coordinate",
                    ctx.observed(),
                )
                .await?;
                let verb_label = match action {
                    Action::LeftClick => "Click",
                    Action::RightClick => "Right-click",
                    Action::MiddleClick => "Middle-click",
                    Action::DoubleClick => "Double-click",
                    Action::TripleClick => "Triple-click",
                    _ => "Hover",
                };
                ctx.note(ActionTrace {
                    label: format!("{verb_label} {}", short_target(&desc)),
                    point: Some((x, y)),
                    target: located,
                    ..Default::default()
                });
                if count == 0 {
                    t.mouse_move(x, y, mods).await?;
                } else {
                    t.click_at(x, y, button, count, mods).await?;
                }
                Ok(format!("{verb} {desc}"))
            })
            .await?
        }
        Action::Type => {
            let text = need(&a.text, "text", action)?;
            let dialog = tab.state().dialog.clone();
            if let Some(d) = dialog {
                if d.kind == "prompt" {
                    tab.state().prompt_text = Some(text.clone());
                    return Ok(ToolOutput::text(format!(
                        "The prompt's answer will be \"{text}\": press Enter (computer action=key text=Enter) to submit it."
                    )));
                }
            }
            no_dialog(&tab)?;
            let t = &tab;
            let n = text.chars().count();
            if ctx.observed() {
                // Recorders (GIF labels, shortcuts) never show what goes into a password field.
                let shown = if focused_is_password(&tab).await {
                    "••••••".to_string()
                } else {
                    clip(&text, 40)
                };
                ctx.note(ActionTrace {
                    label: format!("Type “{shown}”"),
                    ..Default::default()
                });
            }
            // Text with no newline fills: a submission it sets off is held (a newline is
            // Enter, classified and judged as submitting).
            let hold = if text.contains('\n') {
                None
            } else {
                let world = tab
                    .world_within(&tab.target_id, Duration::from_millis(200))
                    .await;
                Some(SubmitHold::start(&tab, world.as_ref()).await)
            };
            let r = act(session, &tab, limits, move || async move {
                t.type_text(&text).await?;
                Ok(format!("Typed {n} character(s)."))
            })
            .await;
            let note = match hold {
                Some(h) => h.end(&tab).await,
                None => None,
            };
            let mut r = r?;
            if let Some(note) = note {
                r.push('\n');
                r.push_str(&note.replacen("Filling it", "Typing", 1));
            }
            r
        }
        Action::Key => {
            let text = need(&a.text, "text", action)?;
            let chords = text
                .split_whitespace()
                .map(parse_chord)
                .collect::<Result<Vec<_>, _>>()
                .map_err(|e| {
                    ToolError(format!(
                        "invalid parameters for computer: field `text`: {e}"
                    ))
                })?;
            if chords.is_empty() {
                return Err(ToolError(
                    "invalid parameters for computer: field `text` has no keys".into(),
                ));
            }
            let dialog = tab.state().dialog.clone();
            if let Some(d) = dialog {
                return answer_dialog(session, &tab, &d, &chords[0].key.key).await;
            }
            let repeat = a.repeat.unwrap_or(1).clamp(1, 100);
            ctx.note(ActionTrace {
                label: format!("Press {}", clip(&text, 40)),
                ..Default::default()
            });
            let t = &tab;
            let chords = &chords;
            act(session, &tab, limits, move || async move {
                for _ in 0..repeat {
                    for c in chords.iter() {
                        t.press(c).await?;
                    }
                }
                let times = if repeat > 1 {
                    format!(" ×{repeat}")
                } else {
                    String::new()
                };
                Ok(format!("Pressed {text}{times}."))
            })
            .await?
        }
        Action::Scroll => {
            no_dialog(&tab)?;
            let dir = need(&a.scroll_direction, "scroll_direction", action)?;
            let amount = a.scroll_amount.unwrap_or(3).clamp(1, 10) as f64 * 100.0;
            let (dx, dy) = match dir.as_str() {
                "up" => (0.0, -amount),
                "down" => (0.0, amount),
                "left" => (-amount, 0.0),
                "right" => (amount, 0.0),
                other => {
                    return Err(ToolError(format!(
                        "invalid parameters for computer: field `scroll_direction`: \"{other}\" is not up, down, left or right"
                    )))
                }
            };
            let meta = crate::outline::page_meta(&tab).await?;
            let (x, y) = match a.coordinate {
                Some([x, y]) => {
                    if !x.is_finite()
                        || !y.is_finite()
                        || x < 0.0
                        || y < 0.0
                        || (meta.vw > 0 && x >= meta.vw as f64)
                        || (meta.vh > 0 && y >= meta.vh as f64)
                    {
                        return Err(ToolError(format!(
                            "field `coordinate` [{x}, {y}] is not a point of the viewport ({}x{}): give viewport pixels as in a screenshot, or leave it out to scroll the page",
                            meta.vw, meta.vh
                        )));
                    }
                    (x, y)
                }
                None => (meta.vw as f64 / 2.0, meta.vh as f64 / 2.0),
            };
            ctx.note(ActionTrace {
                label: format!("Scroll {dir}"),
                point: Some((x, y)),
                ..Default::default()
            });
            let t = &tab;
            // The scrolling containers under the point, with where they are now: a wheel in a
            // pane scrolls the pane, and that is what the result must say.
            let world = crate::outline::main_world(&tab).await?;
            let panes =
                crate::outline::eval_world(&tab, &world, &format!("({PANES_BEFORE_JS})({x}, {y})"))
                    .await
                    .unwrap_or(Value::Null);
            // The settle wait lets two frames pass (the scroll is applied) and reads the
            // position as it ends.
            let scroll_limits = Limits {
                frames: 2,
                ..limits
            };
            let page_before = (meta.sx, meta.sy);
            let text = act_then(
                session,
                &tab,
                scroll_limits,
                move || async move {
                    t.wheel(x, y, dx, dy).await?;
                    Ok(format!("Scrolled {dir} at ({x:.0}, {y:.0})."))
                },
                |text, settled| match settled.view {
                    Some(v) => format!(
                        "{text} The page is now at scroll {},{} of {}x{} (viewport {}x{}).",
                        v.sx, v.sy, v.sw, v.sh, v.vw, v.vh
                    ),
                    None => text,
                },
            )
            .await?;
            pane_report(&tab, &world, &panes, page_before, text).await
        }
        Action::ScrollTo => {
            no_dialog(&tab)?;
            let r = need(&a.target, "ref", action)?;
            let el = resolve(&tab, &r).await?;
            if ctx.observed() {
                let located = super::capture(&el, &tab, None).await;
                ctx.note(ActionTrace {
                    label: format!("Scroll to {r}"),
                    target: located,
                    ..Default::default()
                });
            }
            let t = &tab;
            let el = &el;
            let scroll_limits = Limits {
                frames: 2,
                ..limits
            };
            act_overlapped(session, &tab, scroll_limits, move || async move {
                let v = el
                    .call(
                        t,
                        "el => { el.scrollIntoView({block: 'center', inline: 'center', behavior: 'instant'}); const r = el.getBoundingClientRect(); return {x: Math.round(r.left + r.width/2), y: Math.round(r.top + r.height/2)}; }",
                        &[],
                    )
                    .await?;
                Ok(format!("Scrolled {r} into view; its center is now at ({}, {}) in its frame.", v["x"], v["y"]))
            })
            .await?
        }
        Action::LeftClickDrag => {
            no_dialog(&tab)?;
            let t = &tab;
            let (sr, sc, er, ec) = (&a.start_ref, &a.start_coordinate, &a.target, &a.coordinate);
            act(session, &tab, limits, move || async move {
                let observed = ctx.observed();
                let (x0, y0, from, from_target) = target_point(
                    t,
                    sr,
                    sc,
                    "left_click_drag",
                    "start_ref",
                    "start_coordinate",
                    observed,
                )
                .await?;
                let (x1, y1, to, to_target) =
                    target_point(t, er, ec, "left_click_drag", "ref", "coordinate", observed)
                        .await?;
                // Dropped on an element, the pointer goes past its middle in the direction of
                // the move: sortable lists (jQuery UI, SortableJS …) swap only then, so a drag
                // onto the next item down would otherwise change nothing.
                let (x1, y1) = match er {
                    Some(r) => match resolve(t, r).await?.point(t).await?.visible {
                        Some([l, top, w, h]) if w > 0.0 && h > 0.0 => {
                            let (dx, dy) = (x1 - x0, y1 - y0);
                            if dy.abs() >= dx.abs() && dy != 0.0 {
                                (x1, top + h * if dy > 0.0 { 0.8 } else { 0.2 })
                            } else if dx != 0.0 {
                                (l + w * if dx > 0.0 { 0.8 } else { 0.2 }, y1)
                            } else {
                                (x1, y1)
                            }
                        }
                        _ => (x1, y1),
                    },
                    None => (x1, y1),
                };
                // The drop element's locators ride along under "drop".
                let located = match (from_target, to_target) {
                    (Some(mut f), Some(to)) => {
                        f["drop"] = to;
                        Some(f)
                    }
                    (f, _) => f,
                };
                ctx.note(ActionTrace {
                    label: format!("Drag {} to {}", short_target(&from), short_target(&to)),
                    point: Some((x0, y0)),
                    drag_to: Some((x1, y1)),
                    target: located,
                });
                let html5 = t.drag((x0, y0), (x1, y1)).await?;
                let how = if html5 { " (as a drag-and-drop)" } else { "" };
                Ok(format!("Dragged from {from} to {to}{how}."))
            })
            .await?
        }
        Action::Screenshot => return screenshot(session, &tab, None).await,
        Action::Zoom => {
            let region = need(&a.region, "region", action)?;
            let [x0, y0, x1, y1] = region;
            if !(x1 > x0 && y1 > y0) || region.iter().any(|v| !v.is_finite() || *v < 0.0) {
                return Err(ToolError(
                    "invalid parameters for computer: field `region` must be [x0, y0, x1, y1] with x1 > x0 and y1 > y0, non-negative".into(),
                ));
            }
            return screenshot(session, &tab, Some(region)).await;
        }
        Action::Wait => {
            let secs = need(&a.duration, "duration", action)?;
            if !(0.0..=30.0).contains(&secs) {
                return Err(ToolError("invalid parameters for computer: field `duration` must be between 0 and 30 seconds".into()));
            }
            let t = &tab;
            act(session, &tab, limits, move || async move {
                // The model asked to let time pass; wake early only if the tab closes.
                t.wait_for(Duration::from_secs_f64(secs), |st| st.closed)
                    .await;
                Ok(format!("Waited {secs} s."))
            })
            .await?
        }
    };
    Ok(ToolOutput::text(text))
}

async fn answer_dialog(
    session: &Session,
    tab: &Arc<Tab>,
    d: &crate::browser::tab::Dialog,
    key: &str,
) -> Result<ToolOutput, ToolError> {
    let accept = match key {
        "Enter" => true,
        "Escape" => false,
        other => {
            return Err(ToolError(format!(
                "a {} dialog is open (\"{}\"); the key \"{other}\" does not answer it: press Enter to accept or Escape to dismiss",
                d.kind, d.message
            )))
        }
    };
    let prompt = tab
        .state()
        .prompt_text
        .clone()
        .unwrap_or_else(|| d.default_prompt.clone());
    let mut params = json!({"accept": accept});
    if d.kind == "prompt" && accept {
        params["promptText"] = Value::String(prompt.clone());
    }
    let session_id = d.session.clone();
    let t = tab;
    let kind = d.kind.clone();
    let text = act(session, tab, Limits::default(), move || async move {
        t.cdp()
            .run(Some(&session_id), "Page.handleJavaScriptDialog", params)
            .await?;
        t.wait_for(Duration::from_secs(2), |st| st.dialog.is_none())
            .await;
        let what = if accept { "Accepted" } else { "Dismissed" };
        let with = if kind == "prompt" && accept {
            format!(" with \"{prompt}\"")
        } else {
            String::new()
        };
        Ok(format!("{what} the {kind} dialog{with}."))
    })
    .await?;
    Ok(ToolOutput::text(text))
}

async fn screenshot(
    session: &Session,
    tab: &Arc<Tab>,
    region: Option<[f64; 4]>,
) -> Result<ToolOutput, ToolError> {
    no_dialog(tab)?;
    let mut params = json!({"format": "png"});
    let mut note = String::new();
    if let Some([x0, y0, x1, y1]) = region {
        let m: Value = tab.call("Page.getLayoutMetrics", json!({})).await?;
        let px = m
            .pointer("/cssVisualViewport/pageX")
            .and_then(|v| v.as_f64())
            .unwrap_or(0.0);
        let py = m
            .pointer("/cssVisualViewport/pageY")
            .and_then(|v| v.as_f64())
            .unwrap_or(0.0);
        // Bounded by the viewport: a region past it would capture (and scale) nothing.
        let vw = m
            .pointer("/cssVisualViewport/clientWidth")
            .and_then(|v| v.as_f64())
            .unwrap_or(f64::MAX);
        let vh = m
            .pointer("/cssVisualViewport/clientHeight")
            .and_then(|v| v.as_f64())
            .unwrap_or(f64::MAX);
        if x0 >= vw || y0 >= vh {
            return Err(ToolError(format!(
                "field `region` [{x0:.0}, {y0:.0}, {x1:.0}, {y1:.0}] starts outside the viewport ({vw:.0}x{vh:.0}): regions are viewport pixels as in a screenshot"
            )));
        }
        let (x1, y1) = (x1.min(vw), y1.min(vh));
        let (w, h) = (x1 - x0, y1 - y0);
        let scale = (1280.0 / w).min(800.0 / h).clamp(1.0, 4.0);
        params["clip"] =
            json!({"x": x0 + px, "y": y0 + py, "width": w, "height": h, "scale": scale});
        note = format!(" of region [{x0:.0}, {y0:.0}, {x1:.0}, {y1:.0}] at {scale:.1}×");
    }
    let (r, activated) = tab
        .capture_screenshot(params, Duration::from_secs(3), Duration::from_secs(20))
        .await?;
    if activated {
        note.push_str(" (the tab was brought to the front to paint it)");
    }
    let data = r
        .get("data")
        .and_then(|d| d.as_str())
        .unwrap_or("")
        .to_string();
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(&data)
        .map_err(|e| {
            ToolError(format!(
                "the browser returned an unreadable screenshot: {e}"
            ))
        })?;
    let (w, h) = png_size(&bytes).unwrap_or((0, 0));
    let id = session.store_image(bytes);
    Ok(ToolOutput {
        text: format!("Screenshot{note}: {w}x{h} px, id {id} (usable with upload_image image_id)."),
        images: vec![Image {
            mime: "image/png".into(),
            data,
        }],
    })
}

/// Width and height from a PNG header.
pub fn png_size(b: &[u8]) -> Option<(u32, u32)> {
    if b.len() < 24 || &b[1..4] != b"PNG" {
        return None;
    }
    let w = u32::from_be_bytes([b[16], b[17], b[18], b[19]]);
    let h = u32::from_be_bytes([b[20], b[21], b[22], b[23]]);
    Some((w, h))
}

/// Whether the focused element (through open shadow roots and same-origin frames) is a
/// password field; `false` when it cannot be told.
async fn focused_is_password(tab: &Tab) -> bool {
    const JS: &str = r#"(() => {
  let e = document.activeElement;
  for (let i = 0; i < 32 && e; i++) {
    if (e.shadowRoot && e.shadowRoot.activeElement) { e = e.shadowRoot.activeElement; continue; }
    if ((e.tagName === 'IFRAME' || e.tagName === 'FRAME')) {
      try { if (e.contentDocument && e.contentDocument.activeElement) { e = e.contentDocument.activeElement; continue; } } catch (_) {}
    }
    break;
  }
  return !!(e && e.tagName === 'INPUT' && (e.type || '').toLowerCase() === 'password');
})()"#;
    let Ok(world) = crate::outline::main_world(tab).await else {
        return false;
    };
    matches!(
        crate::outline::eval_world(tab, &world, JS).await,
        Ok(Value::Bool(true))
    )
}
