//! The replay engine: runs a shortcut's steps without a model, through the runtime's tools
//! (`navigate`, `computer`, `form_input`, `resize_window`), so settling, dialogs and call
//! observers (the GIF recorder) apply to replays as to any other tool call.
//!
//! Elements are found with [`super::locate`] by bounded polling (never a fixed sleep): the
//! primary locator first; when only a later one matches, the step passes as HEALED with a note
//! naming both. Assertions are polled until they hold or the step's timeout passes; a failure
//! records expected vs seen and a screenshot.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use base64::Engine;
use serde_json::{json, Value};

mod check;
mod report;

pub use report::{step_line, Report, Status, StepOutcome};

use super::format::{Condition, FormatError, Locator, Op, Shortcut, Target, DEFAULT_TIMEOUT_MS};
use super::locate;
use crate::browser::tab::Tab;
use crate::browser::Session;
use crate::runtime::{ToolContext, ToolError};
use check::check;

/// How often a missing element or a failing assertion is looked at again.
pub(super) const POLL: Duration = Duration::from_millis(25);
/// How long the primary locator may still appear after a fallback matched.
const HEAL_GRACE: Duration = Duration::from_millis(300);

/// Replay options.
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// Per-step timeout when a step gives none (default 5000 ms).
    pub timeout: Option<Duration>,
    /// Where failure screenshots go (default `recordings/`).
    pub artifacts: Option<PathBuf>,
    /// Record a GIF of the replay here (through the `gif_creator` tool).
    pub gif: Option<PathBuf>,
}

/// Why a step failed.
#[derive(Debug, Clone, Default)]
pub(super) struct Fail {
    pub(super) message: String,
    pub(super) expected: Option<String>,
    pub(super) seen: Option<String>,
}

impl Fail {
    fn msg(m: impl Into<String>) -> Fail {
        Fail {
            message: m.into(),
            ..Default::default()
        }
    }
}

impl From<ToolError> for Fail {
    fn from(e: ToolError) -> Fail {
        Fail::msg(e.0)
    }
}

/// Runs `sc` with variable overrides `vars`, every step a tool call through `tools`' runtime
/// (so a gated context confirms risky steps and audits each one). Calls `progress` after each
/// step. Bad steps and missing variables are errors before anything runs; a context without a
/// browser is an error too.
pub async fn run(
    tools: &ToolContext,
    sc: &Shortcut,
    vars: &BTreeMap<String, String>,
    opts: &Options,
    progress: &mut (dyn FnMut(&StepOutcome) + Send),
) -> Result<Report, FormatError> {
    let resolved = sc.resolved(vars)?;
    let session: &Session = tools.session().map_err(|e| FormatError(e.0))?;
    let started = Instant::now();
    let mut report = Report {
        id: sc.id.clone(),
        name: sc.name.clone(),
        steps: Vec::new(),
        ms: 0,
        gif: None,
        gif_path: None,
        gif_error: None,
        notes: Vec::new(),
    };
    let gif = match &opts.gif {
        Some(path) => match tools
            .call_tool("gif_creator", json!({"action": "start_recording"}))
            .await
        {
            Ok(_) => Some(path.clone()),
            Err(e) => {
                report.gif_error = Some(format!("the GIF recording did not start: {e}"));
                None
            }
        },
        None => None,
    };
    let mut failed_at: Option<usize> = None;
    for (i, (raw, (step, op))) in sc.steps.iter().zip(resolved.iter()).enumerate() {
        let label = sc.label(raw, vars);
        let t0 = Instant::now();
        let mut outcome = StepOutcome {
            index: i + 1,
            action: step.action.clone(),
            label,
            status: Status::Skipped,
            ms: 0,
            message: None,
            expected: None,
            seen: None,
            healed: None,
            screenshot: None,
        };
        if let Some(f) = failed_at {
            outcome.message = Some(format!("not run: step {f} failed"));
            progress(&outcome);
            report.steps.push(outcome);
            continue;
        }
        let timeout = step
            .timeout_ms
            .map(Duration::from_millis)
            .or(opts.timeout)
            .unwrap_or(Duration::from_millis(DEFAULT_TIMEOUT_MS));
        // A dialog left open by the previous step (an alert after a click) would block every
        // action: accept it, as a person clicking OK would, and say so in the report.
        if let Ok(tab) = session.tab(None).await {
            let open = tab.state().dialog.clone();
            if let Some(d) = open {
                let _ = tools
                    .call_tool("computer", json!({"action": "key", "text": "Enter"}))
                    .await;
                report.notes.push(format!(
                    "before step {}: accepted a {} dialog \"{}\"",
                    i + 1,
                    d.kind,
                    d.message
                ));
            }
        }
        let result = exec(tools, session, op, &step.expect, timeout).await;
        outcome.ms = t0.elapsed().as_millis();
        match result {
            Ok(heals) if heals.is_empty() => outcome.status = Status::Passed,
            Ok(heals) => {
                outcome.status = Status::Healed;
                outcome.healed = Some(heals.join("; "));
            }
            Err(f) => {
                outcome.message = Some(f.message);
                outcome.expected = f.expected;
                outcome.seen = f.seen;
                if step.optional {
                    outcome.status = Status::Skipped;
                } else {
                    outcome.status = Status::Failed;
                    outcome.screenshot = screenshot(tools, session, opts, &sc.id, i + 1).await;
                    failed_at = Some(i + 1);
                }
            }
        }
        progress(&outcome);
        report.steps.push(outcome);
    }
    if let Some(path) = gif {
        let _ = tools
            .call_tool("gif_creator", json!({"action": "stop_recording"}))
            .await;
        // The path comes from the person (the command line), not from a model: it is written
        // where it says, inside the workspace or not.
        let clip = crate::recording::Recorder::of(session).clip();
        if clip.is_empty() {
            report.gif_error = Some("no frame was recorded, so no GIF was written".into());
        } else {
            if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
                let _ = std::fs::create_dir_all(parent);
            }
            match crate::recording::write_gif(clip, &path, Default::default()).await {
                Ok(enc) => {
                    report.gif_path = Some(path.clone());
                    report.gif = Some(format!(
                        "Saved the GIF to {} ({} frames, {} bytes).",
                        path.display(),
                        enc.frames,
                        enc.gif.len()
                    ))
                }
                Err(e) => {
                    report.gif_error = Some(format!("cannot write the GIF {}: {e}", path.display()))
                }
            }
        }
    }
    report.ms = started.elapsed().as_millis();
    Ok(report)
}

async fn screenshot(
    tools: &ToolContext,
    _session: &Session,
    opts: &Options,
    id: &str,
    step: usize,
) -> Option<PathBuf> {
    let out = tools
        .call_tool("computer", json!({"action": "screenshot"}))
        .await
        .ok()?;
    let img = out.images.first()?;
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(&img.data)
        .ok()?;
    let dir = opts
        .artifacts
        .clone()
        .unwrap_or_else(|| PathBuf::from("recordings"));
    std::fs::create_dir_all(&dir).ok()?;
    let stamp = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis())
        .unwrap_or(0);
    let path = dir.join(format!("replay-{id}-step{step}-{stamp}.png"));
    std::fs::write(&path, bytes).ok()?;
    Some(std::fs::canonicalize(&path).unwrap_or(path))
}

pub(super) async fn tab(session: &Session) -> Result<Arc<Tab>, Fail> {
    session
        .tab(None)
        .await
        .map_err(|e| Fail::msg(e.to_string()))
}

fn point_only(t: &Target) -> Option<[f64; 2]> {
    if t.locators.iter().all(|l| l.point.is_some()) {
        t.locators.first().and_then(|l| l.point)
    } else {
        None
    }
}

/// The target without its point locators (a point always "matches" something, so it is
/// used only when it is the only way the step was recorded).
pub(super) fn without_points(t: &Target) -> Target {
    Target {
        locators: t
            .locators
            .iter()
            .filter(|l| l.point.is_none())
            .cloned()
            .collect(),
        ..t.clone()
    }
}

pub(super) fn describe(t: &Target, i: usize) -> String {
    t.locators.get(i).map(Locator::describe).unwrap_or_default()
}

/// Finds the target's element by bounded polling; returns its ref and a heal note when only
/// a fallback locator matched.
async fn locate_ref(
    session: &Session,
    target: &Target,
    timeout: Duration,
) -> Result<(String, Option<String>), Fail> {
    let t = if point_only(target).is_some() {
        target.clone()
    } else {
        without_points(target)
    };
    let deadline = Instant::now() + timeout;
    let mut fallback_since: Option<Instant> = None;
    let mut last: Vec<String> = Vec::new();
    let mut last_err: Option<String> = None;
    loop {
        let tab = tab(session).await?;
        match locate::find(&tab, &t).await {
            Ok(a) => match (a.index, a.r#ref) {
                (Some(0), Some(r)) => return Ok((r, None)),
                (Some(i), Some(r)) => {
                    let since = *fallback_since.get_or_insert_with(Instant::now);
                    if since.elapsed() >= HEAL_GRACE || Instant::now() >= deadline {
                        let several = if a.count > 1 {
                            format!(" ({} matches; the first visible one was used)", a.count)
                        } else {
                            String::new()
                        };
                        return Ok((
                            r,
                            Some(format!(
                                "primary locator {} matched nothing; found by {}{several}",
                                describe(&t, 0),
                                describe(&t, i)
                            )),
                        ));
                    }
                }
                _ => {
                    last = a.tried;
                    last_err = None;
                }
            },
            Err(e) => last_err = Some(e),
        }
        if Instant::now() >= deadline {
            let seen = match last_err {
                Some(e) => e,
                None if last.is_empty() => "nothing".into(),
                None => last.join("; "),
            };
            return Err(Fail {
                message: format!(
                    "no locator found the element within {} ms",
                    timeout.as_millis()
                ),
                expected: Some(format!(
                    "an element matching one of: {}",
                    t.locators
                        .iter()
                        .map(Locator::describe)
                        .collect::<Vec<_>>()
                        .join(" | ")
                )),
                seen: Some(seen),
            });
        }
        tokio::time::sleep(POLL).await;
    }
}

async fn call(
    tools: &ToolContext,
    _session: &Session,
    tool: &str,
    args: Value,
) -> Result<String, ToolError> {
    tools.call_tool(tool, args).await.map(|o| o.text)
}

/// Finds the target and runs `make(ref)` through the registry; a ref gone stale between
/// finding and acting (the page re-rendered) is found again, within the timeout.
async fn act_on(
    tools: &ToolContext,
    session: &Session,
    target: &Target,
    timeout: Duration,
    tool: &str,
    make: &(dyn Fn(&str) -> Value + Sync),
    heals: &mut Vec<String>,
) -> Result<(), Fail> {
    let deadline = Instant::now() + timeout;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        let (r, heal) = locate_ref(session, target, left.max(Duration::from_millis(1))).await?;
        match call(tools, session, tool, make(&r)).await {
            Ok(_) => {
                heals.extend(heal);
                return Ok(());
            }
            Err(e) if e.0.contains("is stale") && Instant::now() < deadline => continue,
            Err(e) => return Err(e.into()),
        }
    }
}

async fn exec(
    tools: &ToolContext,
    session: &Session,
    op: &Op,
    expect: &[Condition],
    timeout: Duration,
) -> Result<Vec<String>, Fail> {
    let mut heals = Vec::new();
    match op {
        Op::Navigate(url) => {
            call(tools, session, "navigate", json!({"url": url})).await?;
        }
        Op::Viewport(w, h) => {
            call(
                tools,
                session,
                "resize_window",
                json!({"width": w, "height": h}),
            )
            .await?;
        }
        Op::Click {
            target,
            button,
            count,
            modifiers,
        } => {
            let action = match (button.as_str(), count) {
                ("right", _) => "right_click",
                ("middle", _) => "middle_click",
                (_, 2) => "double_click",
                (_, 3) => "triple_click",
                _ => "left_click",
            };
            pointer(
                tools, session, target, timeout, action, modifiers, &mut heals,
            )
            .await?;
        }
        Op::Hover(target, modifiers) => {
            pointer(
                tools, session, target, timeout, "hover", modifiers, &mut heals,
            )
            .await?;
        }
        Op::Fill(target, value) => {
            let v = value.clone();
            act_on(
                tools,
                session,
                target,
                timeout,
                "form_input",
                &move |r| json!({"ref": r, "value": v}),
                &mut heals,
            )
            .await?;
        }
        Op::Type(text) => {
            call(
                tools,
                session,
                "computer",
                json!({"action": "type", "text": text}),
            )
            .await?;
        }
        Op::Key(keys, repeat) => {
            call(
                tools,
                session,
                "computer",
                json!({"action": "key", "text": keys, "repeat": repeat}),
            )
            .await?;
        }
        Op::ScrollTo(target, x, y) => {
            let deadline = Instant::now() + timeout;
            loop {
                let tab = tab(session).await?;
                let t = target.as_ref().map(without_points);
                match locate::scroll(&tab, t.as_ref(), *x, *y).await {
                    Ok(Some(i)) => {
                        if i > 0 {
                            if let Some(t) = &t {
                                heals.push(format!(
                                    "primary locator {} matched nothing; found by {}",
                                    describe(t, 0),
                                    describe(t, i)
                                ));
                            }
                        }
                        break;
                    }
                    Ok(None) | Err(_) if Instant::now() < deadline => {
                        tokio::time::sleep(POLL).await
                    }
                    Ok(None) => {
                        return Err(Fail {
                            message: "the element to scroll was not found".into(),
                            expected: t.as_ref().map(|t| describe(t, 0)),
                            seen: Some("nothing".into()),
                        })
                    }
                    Err(e) => return Err(Fail::msg(e)),
                }
            }
        }
        Op::Wheel(direction, amount, at) => {
            let mut args =
                json!({"action": "scroll", "scroll_direction": direction, "scroll_amount": amount});
            if let Some(p) = at {
                args["coordinate"] = json!(p);
            }
            call(tools, session, "computer", args).await?;
        }
        Op::ScrollIntoView(target) => {
            act_on(
                tools,
                session,
                target,
                timeout,
                "computer",
                &|r| json!({"action": "scroll_to", "ref": r}),
                &mut heals,
            )
            .await?;
        }
        Op::Drag(from, to) => {
            let (a, h1) = locate_ref(session, from, timeout).await?;
            let (b, h2) = locate_ref(session, to, timeout).await?;
            heals.extend(h1);
            heals.extend(h2.map(|h| format!("drop target: {h}")));
            call(
                tools,
                session,
                "computer",
                json!({"action": "left_click_drag", "start_ref": a, "ref": b}),
            )
            .await?;
        }
        Op::Check(c) => {
            if let Some(h) = check(session, c, timeout).await? {
                heals.push(h);
            }
        }
    }
    for c in expect {
        if let Some(h) = check(session, c, timeout).await? {
            heals.push(h);
        }
    }
    Ok(heals)
}

async fn pointer(
    tools: &ToolContext,
    session: &Session,
    target: &Target,
    timeout: Duration,
    action: &str,
    modifiers: &Option<String>,
    heals: &mut Vec<String>,
) -> Result<(), Fail> {
    let with_mods = |mut v: Value| {
        if let Some(m) = modifiers {
            v["modifiers"] = json!(m);
        }
        v
    };
    if target.frame.is_empty() {
        if let Some(p) = point_only(target) {
            call(
                tools,
                session,
                "computer",
                with_mods(json!({"action": action, "coordinate": p})),
            )
            .await?;
            return Ok(());
        }
    }
    act_on(
        tools,
        session,
        target,
        timeout,
        "computer",
        &|r| with_mods(json!({"action": action, "ref": r})),
        heals,
    )
    .await
}
