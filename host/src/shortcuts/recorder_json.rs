//! Chrome DevTools Recorder JSON (the format of Chrome's Recorder panel and `@puppeteer/replay`):
//! import into a [`Shortcut`] (so one engine replays both) and export of any shortcut.
//!
//! Selectors: css, `aria/Name[role="button"]`, `text/…`, `xpath/…`, `pierce/…`, and arrays
//! (a shadow path: each later selector is searched inside the shadow root the previous one
//! found). `frame: [i, j]` is a path of frame indexes. Owns only data; touches no browser.

use serde_json::{json, Map, Value};

use super::format::{
    slug, step_label, Condition, Css, FormatError, FrameSel, Locator, Shortcut, Step, Target,
    FORMAT_TAG,
};
use crate::browser::input::{key_def, parse_chord};

/// The Recorder step types this importer understands.
pub const STEP_TYPES: &[&str] = &[
    "setViewport",
    "navigate",
    "click",
    "doubleClick",
    "hover",
    "change",
    "keyDown",
    "keyUp",
    "scroll",
    "waitForElement",
    "waitForExpression",
];

/// True when `v` looks like a Recorder recording (steps with `type`, no `action`).
pub fn is_recorder(v: &Value) -> bool {
    if v.get("format").and_then(|f| f.as_str()) == Some(FORMAT_TAG) {
        return false;
    }
    let Some(steps) = v.get("steps").and_then(|s| s.as_array()) else {
        return false;
    };
    let typed = steps.iter().any(|s| s.get("type").is_some());
    let acted = steps.iter().any(|s| s.get("action").is_some());
    typed && !acted || (steps.is_empty() && v.get("title").is_some())
}

/// One Recorder selector (a string, or an array for a shadow path) as a [`Locator`].
pub fn locator_of(sel: &Value) -> Result<Locator, String> {
    let one = |s: &str| -> Locator {
        if let Some(body) = s.strip_prefix("aria/") {
            if let Some(open) = body.rfind("[role=\"") {
                if body.ends_with("\"]") {
                    let name = &body[..open];
                    let role = &body[open + 7..body.len() - 2];
                    return Locator {
                        role: Some(role.to_string()),
                        name: Some(name.to_string()),
                        ..Default::default()
                    };
                }
            }
            return Locator {
                name: Some(body.to_string()),
                ..Default::default()
            };
        }
        if let Some(t) = s.strip_prefix("text/") {
            return Locator {
                text: Some(t.to_string()),
                ..Default::default()
            };
        }
        if let Some(x) = s.strip_prefix("xpath/") {
            return Locator {
                xpath: Some(x.to_string()),
                ..Default::default()
            };
        }
        if let Some(p) = s.strip_prefix("pierce/") {
            return Locator {
                pierce: Some(p.to_string()),
                ..Default::default()
            };
        }
        Locator {
            css: Some(Css::One(s.to_string())),
            ..Default::default()
        }
    };
    match sel {
        Value::String(s) if !s.is_empty() => Ok(one(s)),
        Value::Array(parts) => {
            let parts: Vec<String> = parts
                .iter()
                .map(|p| {
                    p.as_str()
                        .map(str::to_string)
                        .ok_or_else(|| format!("selector part {p} is not a string"))
                })
                .collect::<Result<_, _>>()?;
            match parts.len() {
                0 => Err("an empty selector list".into()),
                1 => Ok(one(&parts[0])),
                _ => Ok(Locator {
                    css: Some(Css::Path(parts)),
                    ..Default::default()
                }),
            }
        }
        other => Err(format!(
            "selector {other} is not a string or a list of strings"
        )),
    }
}

fn target_of(step: &Map<String, Value>, need: bool) -> Result<Option<Target>, String> {
    let frame = match step.get("frame") {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::Array(a)) => a
            .iter()
            .map(|i| {
                i.as_u64()
                    .map(|n| FrameSel::Index(n as usize))
                    .ok_or_else(|| format!("frame entry {i} is not an index"))
            })
            .collect::<Result<_, _>>()?,
        Some(other) => return Err(format!("\"frame\" {other} is not a list of indexes")),
    };
    let sels = match step.get("selectors") {
        None | Some(Value::Null) => {
            if need {
                return Err("needs \"selectors\"".into());
            }
            return Ok(if frame.is_empty() {
                None
            } else {
                Some(Target {
                    frame,
                    frame_index: None,
                    locators: Vec::new(),
                })
            });
        }
        Some(Value::Array(a)) => a,
        Some(_) => return Err("\"selectors\" must be a list".into()),
    };
    let locators = sels.iter().map(locator_of).collect::<Result<Vec<_>, _>>()?;
    if locators.is_empty() && need {
        return Err("\"selectors\" is empty".into());
    }
    Ok(Some(Target {
        frame,
        frame_index: None,
        locators,
    }))
}

fn asserted(step: &Map<String, Value>) -> Vec<Condition> {
    let mut out = Vec::new();
    for ev in step
        .get("assertedEvents")
        .and_then(|a| a.as_array())
        .into_iter()
        .flatten()
    {
        if ev.get("type").and_then(|t| t.as_str()) != Some("navigation") {
            continue;
        }
        let s = |k: &str| {
            ev.get(k)
                .and_then(|v| v.as_str())
                .filter(|v| !v.is_empty())
                .map(str::to_string)
        };
        let (url, title) = (s("url"), s("title"));
        if url.is_some() || title.is_some() {
            out.push(Condition {
                url,
                title,
                ..Default::default()
            });
        }
    }
    out
}

fn modifier_of(key: &str) -> Option<&'static str> {
    match key {
        "Shift" | "ShiftLeft" | "ShiftRight" => Some("shift"),
        "Control" | "ControlLeft" | "ControlRight" => Some("ctrl"),
        "Alt" | "AltLeft" | "AltRight" | "AltGraph" => Some("alt"),
        "Meta" | "MetaLeft" | "MetaRight" => Some("meta"),
        _ => None,
    }
}

/// A Recorder key name as a name the `computer` tool's key syntax knows.
fn key_name(key: &str) -> String {
    if let Some(c) = key.strip_prefix("Key").filter(|c| c.len() == 1) {
        return c.to_ascii_lowercase();
    }
    if let Some(d) = key.strip_prefix("Digit").filter(|c| c.len() == 1) {
        return d.to_string();
    }
    match key {
        "\r" | "\n" | "NumpadEnter" => "Enter".into(),
        " " => "Space".into(),
        "+" => "+".into(),
        other => other.to_string(),
    }
}

/// Imports a Recorder recording. Unknown step types and malformed steps are errors naming
/// the step.
pub fn import(v: &Value, origin: &str) -> Result<Shortcut, FormatError> {
    let title = v
        .get("title")
        .and_then(|t| t.as_str())
        .unwrap_or("Recording")
        .to_string();
    let flow_timeout = v.get("timeout").and_then(|t| t.as_u64());
    let steps = v
        .get("steps")
        .and_then(|s| s.as_array())
        .ok_or_else(|| FormatError(format!("{origin}: no \"steps\" list")))?;
    let mut out: Vec<Step> = Vec::new();
    let mut held: Vec<&'static str> = Vec::new();
    let mut mod_used = false;
    for (i, raw) in steps.iter().enumerate() {
        let Some(step) = raw.as_object() else {
            return Err(FormatError(format!(
                "{origin}: {}: a step must be an object",
                step_label(i, "")
            )));
        };
        let kind = step.get("type").and_then(|t| t.as_str()).unwrap_or("");
        let err = |m: String| FormatError(format!("{origin}: {}: {m}", step_label(i, kind)));
        if let Some(t) = step.get("target").and_then(|t| t.as_str()) {
            if t != "main" {
                return Err(err(format!(
                    "target \"{t}\" (another page or popup) is not supported; only \"main\""
                )));
            }
        }
        let mut s = Step {
            action: String::new(),
            timeout_ms: step
                .get("timeout")
                .and_then(|t| t.as_u64())
                .or(flow_timeout),
            expect: asserted(step),
            ..Default::default()
        };
        let num = |k: &str| step.get(k).and_then(|v| v.as_f64());
        let text = |k: &str| -> Result<String, FormatError> {
            step.get(k)
                .and_then(|v| v.as_str())
                .map(str::to_string)
                .ok_or_else(|| err(format!("needs \"{k}\" (a string)")))
        };
        match kind {
            "setViewport" => {
                s.action = "set_viewport".into();
                s.width = num("width").map(|w| w as u32);
                s.height = num("height").map(|h| h as u32);
                if s.width.is_none() || s.height.is_none() {
                    return Err(err("needs \"width\" and \"height\"".into()));
                }
            }
            "navigate" => {
                s.action = "navigate".into();
                s.url = Some(text("url")?);
            }
            "click" | "doubleClick" => {
                s.action = "click".into();
                s.target = target_of(step, true).map_err(err)?;
                s.button = match step.get("button").and_then(|b| b.as_str()) {
                    None | Some("primary") => None,
                    Some("secondary") => Some("right".into()),
                    Some("auxiliary") => Some("middle".into()),
                    Some(other) => {
                        return Err(err(format!(
                            "button \"{other}\" is not supported (primary, secondary, auxiliary)"
                        )))
                    }
                };
                if kind == "doubleClick" {
                    s.count = Some(2);
                }
                if let (Some(x), Some(y)) = (num("offsetX"), num("offsetY")) {
                    s.offset = Some([x, y]);
                }
            }
            "hover" => {
                s.action = "hover".into();
                s.target = target_of(step, true).map_err(err)?;
            }
            "change" => {
                s.action = "fill".into();
                s.target = target_of(step, true).map_err(err)?;
                s.value = Some(Value::String(text("value")?));
            }
            "keyDown" | "keyUp" => {
                let key = text("key")?;
                let name = key_name(&key);
                if let Some(m) = modifier_of(&key) {
                    if kind == "keyDown" {
                        if !held.contains(&m) {
                            held.push(m);
                        }
                        mod_used = false;
                        continue;
                    }
                    // A modifier pressed and released alone is a key press of its own.
                    if !mod_used && held.contains(&m) {
                        s.action = "key".into();
                        s.keys = Some(held.join("+"));
                    }
                    held.retain(|h| *h != m);
                    if s.action.is_empty() {
                        if let Some(last) = out.last_mut() {
                            last.expect.extend(s.expect);
                        }
                        continue;
                    }
                } else if kind == "keyDown" {
                    let chord = if held.is_empty() {
                        name.clone()
                    } else {
                        format!("{}+{name}", held.join("+"))
                    };
                    parse_chord(&chord).map_err(|e| err(format!("key \"{key}\": {e}")))?;
                    mod_used = true;
                    s.action = "key".into();
                    s.keys = Some(chord);
                } else {
                    // keyUp of an ordinary key: the press was the keyDown; keep its assertions.
                    if let Some(last) = out.last_mut() {
                        last.expect.extend(s.expect);
                    }
                    continue;
                }
            }
            "scroll" => {
                s.action = "scroll".into();
                s.target = target_of(step, false).map_err(err)?;
                if s.target.as_ref().is_some_and(|t| t.locators.is_empty()) {
                    return Err(err(
                        "scrolling inside a frame needs \"selectors\" of the element".into(),
                    ));
                }
                s.x = Some(num("x").unwrap_or(0.0));
                s.y = Some(num("y").unwrap_or(0.0));
            }
            "waitForElement" => {
                s.action = "wait_for".into();
                s.target = target_of(step, true).map_err(err)?;
                s.count = num("count").map(|c| c as u32);
                s.operator = step
                    .get("operator")
                    .and_then(|o| o.as_str())
                    .map(str::to_string);
                s.visible = step.get("visible").and_then(|v| v.as_bool());
                if let Some(a) = step.get("attributes") {
                    let m = a
                        .as_object()
                        .ok_or_else(|| err("\"attributes\" must be an object".into()))?;
                    s.attributes = Some(
                        m.iter()
                            .map(|(k, v)| {
                                (
                                    k.clone(),
                                    v.as_str()
                                        .map(str::to_string)
                                        .unwrap_or_else(|| v.to_string()),
                                )
                            })
                            .collect(),
                    );
                }
                s.properties = step.get("properties").cloned();
            }
            "waitForExpression" => {
                s.action = "wait_for".into();
                s.expression = Some(text("expression")?);
                if step
                    .get("frame")
                    .and_then(|f| f.as_array())
                    .is_some_and(|a| !a.is_empty())
                {
                    return Err(err(
                        "waitForExpression inside a frame is not supported; only the main frame"
                            .into(),
                    ));
                }
            }
            "" => {
                return Err(err(format!(
                    "no \"type\"; use one of {}",
                    STEP_TYPES.join(", ")
                )))
            }
            other => {
                return Err(err(format!(
                    "unknown step type \"{other}\"; supported: {}",
                    STEP_TYPES.join(", ")
                )))
            }
        }
        let sc_step_index = out.len();
        s.to_op(&|_| Some("x".into()))
            .map_err(|e| err(format!("{e} (as shortcut step {})", sc_step_index + 1)))?;
        out.push(s);
    }
    Ok(Shortcut {
        format: FORMAT_TAG.into(),
        version: 1,
        id: slug(&title),
        name: title,
        description: format!("Imported from Chrome DevTools Recorder JSON ({origin})"),
        tags: Vec::new(),
        variables: Default::default(),
        steps: out,
    })
}

fn selectors(t: &Target) -> Vec<Value> {
    t.locators
        .iter()
        .filter_map(|l| {
            if l.role.is_some() || l.name.is_some() {
                let name = l.name.as_deref()?;
                return Some(match &l.role {
                    Some(r) => json!(format!("aria/{name}[role=\"{r}\"]")),
                    None => json!(format!("aria/{name}")),
                });
            }
            if let Some(t) = &l.text {
                return Some(json!(format!("text/{t}")));
            }
            if let Some(c) = &l.css {
                return Some(match c {
                    Css::One(s) => json!(s),
                    Css::Path(p) => json!(p),
                });
            }
            if let Some(x) = &l.xpath {
                return Some(json!(format!("xpath/{x}")));
            }
            l.pierce.as_ref().map(|p| json!(format!("pierce/{p}")))
        })
        .map(|v| if v.is_string() { json!([v]) } else { v })
        .collect()
}

fn frame_of(t: &Target) -> Result<Option<Vec<usize>>, String> {
    if t.frame.is_empty() {
        return Ok(None);
    }
    let idx: Option<Vec<usize>> = t
        .frame
        .iter()
        .map(|f| match f {
            FrameSel::Index(i) => Some(*i),
            FrameSel::Css(_) => None,
        })
        .collect();
    match idx.or_else(|| t.frame_index.clone()) {
        Some(i) => Ok(Some(i)),
        None => Err("its frame path has selectors but no indexes".into()),
    }
}

fn with_target(mut v: Value, t: &Target) -> Result<Value, String> {
    let sels = selectors(t);
    if sels.is_empty() {
        return Err("its element has no selector Recorder JSON can express (only a point)".into());
    }
    v["selectors"] = Value::Array(sels);
    if let Some(f) = frame_of(t)? {
        v["frame"] = json!(f);
    }
    Ok(v)
}

/// Recorder key names for one of our chords (`ctrl+a` → Control, a).
fn chord_keys(chord: &str) -> Result<(Vec<String>, String), String> {
    let c = parse_chord(chord).map_err(|e| e.0)?;
    let mut mods = Vec::new();
    for (bit, name) in [(2, "Control"), (8, "Shift"), (1, "Alt"), (4, "Meta")] {
        if c.modifiers & bit != 0 {
            mods.push(name.to_string());
        }
    }
    Ok((mods, c.key.key))
}

fn condition_steps(c: &Condition, timeout: Option<u64>) -> Result<Vec<Value>, String> {
    let mut out = Vec::new();
    let with_timeout = |mut v: Value| {
        if let Some(t) = timeout {
            v["timeout"] = json!(t);
        }
        v
    };
    if let Some(t) = &c.target {
        if c.text.is_none() {
            let mut v = json!({"type": "waitForElement"});
            if let Some(n) = c.count {
                v["count"] = json!(n);
            }
            if let Some(o) = &c.operator {
                v["operator"] = json!(o);
            }
            if let Some(b) = c.visible {
                v["visible"] = json!(b);
            }
            if let Some(a) = &c.attributes {
                v["attributes"] = json!(a);
            }
            if let Some(p) = &c.properties {
                v["properties"] = p.clone();
            }
            out.push(with_timeout(with_target(v, t)?));
        }
    }
    let mut exprs = Vec::new();
    if let Some(u) = &c.url {
        exprs.push(match u.strip_suffix('*') {
            Some(p) => format!("location.href.startsWith({})", json!(p)),
            None => format!("location.href === {}", json!(u)),
        });
    }
    if let Some(t) = &c.title {
        exprs.push(format!("document.title === {}", json!(t)));
    }
    if let Some(t) = &c.text {
        exprs.push(format!(
            "document.body.innerText.replace(/\\s+/g, ' ').includes({})",
            json!(t)
        ));
    }
    if let Some(e) = &c.expression {
        exprs.push(format!("({e})"));
    }
    if !exprs.is_empty() {
        out.push(with_timeout(
            json!({"type": "waitForExpression", "expression": exprs.join(" && ")}),
        ));
    }
    Ok(out)
}

/// Exports a shortcut (variables filled from `vars` and the defaults) as Recorder JSON.
/// Steps Recorder JSON cannot express (wheel scrolls, drags, scroll-into-view, triple
/// clicks, frames known only by selector) are left out and named in the returned notes.
pub fn export(
    sc: &Shortcut,
    vars: &std::collections::BTreeMap<String, String>,
) -> Result<(Value, Vec<String>), FormatError> {
    // Validates and fills variables the same way a replay does.
    sc.ops(vars)?;
    let lookup = |name: &str| -> Option<String> {
        vars.get(name)
            .cloned()
            .or_else(|| match sc.variables.get(name) {
                Some(Value::String(s)) => Some(s.clone()),
                Some(Value::Null) | None => None,
                Some(o) => Some(o.to_string()),
            })
    };
    let mut steps = Vec::new();
    let mut notes = Vec::new();
    for (i, raw) in sc.steps.iter().enumerate() {
        let v = serde_json::to_value(raw).map_err(|e| FormatError(e.to_string()))?;
        let filled = super::format::substitute_value(&v, &lookup)
            .map_err(|e| FormatError(format!("{}: {e}", step_label(i, &raw.action))))?;
        let s: Step = serde_json::from_value(filled).map_err(|e| FormatError(e.to_string()))?;
        let label = step_label(i, &s.action);
        if s.action == "click" && s.offset.is_none() {
            // Recorder JSON needs a point inside the element; without a recorded one, (1, 1)
            // misses buttons with rounded corners in replayers that click at the offset.
            notes.push(format!(
                "{label}: no recorded click offset, exported as (1, 1); give the step an \"offset\" (for instance the element's middle) if another replayer misses it"
            ));
        }
        let converted = export_step(&s);
        match converted {
            Ok(mut vs) => {
                // Navigation assertions ride on the step; the rest become wait steps.
                let mut nav = Vec::new();
                for c in &s.expect {
                    let only_nav = c.target.is_none()
                        && c.text.is_none()
                        && c.expression.is_none()
                        && c.url.as_deref().is_none_or(|u| !u.ends_with('*'));
                    if only_nav && (c.url.is_some() || c.title.is_some()) {
                        let mut ev = json!({"type": "navigation"});
                        if let Some(u) = &c.url {
                            ev["url"] = json!(u);
                        }
                        if let Some(t) = &c.title {
                            ev["title"] = json!(t);
                        }
                        nav.push(ev);
                    } else {
                        match condition_steps(c, s.timeout_ms) {
                            Ok(mut w) => vs.append(&mut w),
                            Err(e) => notes.push(format!("{label}: an assertion left out: {e}")),
                        }
                    }
                }
                if !nav.is_empty() {
                    if let Some(first) = vs.first_mut() {
                        first["assertedEvents"] = Value::Array(nav);
                    }
                }
                steps.append(&mut vs);
            }
            Err(e) => notes.push(format!("{label} left out: {e}")),
        }
    }
    Ok((json!({"title": sc.name, "steps": steps}), notes))
}

fn export_step(s: &Step) -> Result<Vec<Value>, String> {
    let timeout = |mut v: Value| {
        if let Some(t) = s.timeout_ms {
            v["timeout"] = json!(t);
        }
        v
    };
    let target = || s.target.clone().ok_or_else(|| "no target".to_string());
    Ok(match s.action.as_str() {
        "navigate" => vec![json!({"type": "navigate", "url": s.url})],
        "set_viewport" => vec![json!({
            "type": "setViewport", "width": s.width, "height": s.height,
            "deviceScaleFactor": 1, "isMobile": false, "hasTouch": false, "isLandscape": false
        })],
        "click" => {
            let count = s.count.unwrap_or(1);
            if count > 2 {
                return Err("a triple click has no Recorder step".into());
            }
            let [ox, oy] = s.offset.unwrap_or([1.0, 1.0]);
            let mut v = json!({
                "type": if count == 2 { "doubleClick" } else { "click" },
                "offsetX": ox, "offsetY": oy,
            });
            match s.button.as_deref() {
                Some("right") => v["button"] = json!("secondary"),
                Some("middle") => v["button"] = json!("auxiliary"),
                _ => {}
            }
            if s.modifiers.is_some() {
                return Err("clicks with modifiers have no Recorder step".into());
            }
            vec![timeout(with_target(v, &target()?)?)]
        }
        "hover" => vec![timeout(with_target(json!({"type": "hover"}), &target()?)?)],
        "fill" => {
            let value = match &s.value {
                Some(Value::String(v)) => v.clone(),
                Some(Value::Number(n)) => n.to_string(),
                Some(other) => {
                    return Err(format!(
                        "the value {other} has no Recorder change step (strings and numbers only)"
                    ))
                }
                None => return Err("no value".into()),
            };
            vec![timeout(with_target(
                json!({"type": "change", "value": value}),
                &target()?,
            )?)]
        }
        "type" => {
            let mut out = Vec::new();
            for c in s.text.as_deref().unwrap_or("").chars() {
                let k = if c == '\n' {
                    "Enter".to_string()
                } else {
                    c.to_string()
                };
                out.push(json!({"type": "keyDown", "key": k}));
                out.push(json!({"type": "keyUp", "key": k}));
            }
            out
        }
        "key" => {
            let mut out = Vec::new();
            for _ in 0..s.repeat.unwrap_or(1) {
                for chord in s.keys.as_deref().unwrap_or("").split_whitespace() {
                    let (mods, key) = chord_keys(chord)?;
                    for m in &mods {
                        out.push(json!({"type": "keyDown", "key": m}));
                    }
                    out.push(json!({"type": "keyDown", "key": key}));
                    out.push(json!({"type": "keyUp", "key": key}));
                    for m in mods.iter().rev() {
                        out.push(json!({"type": "keyUp", "key": m}));
                    }
                }
            }
            out
        }
        "scroll" => {
            if s.direction.is_some() {
                return Err("a wheel scroll (direction) has no Recorder step; use x/y".into());
            }
            let v = json!({"type": "scroll", "x": s.x.unwrap_or(0.0), "y": s.y.unwrap_or(0.0)});
            match &s.target {
                Some(t) => vec![with_target(v, t)?],
                None => vec![v],
            }
        }
        "wait_for" | "assert" => condition_steps(&s.condition(), s.timeout_ms)?,
        other => return Err(format!("\"{other}\" has no Recorder step")),
    })
}

/// True when `name` is a key the `computer` tool knows (used by tests).
pub fn known_key(name: &str) -> bool {
    key_def(name).is_some()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn selectors_of_every_kind() {
        let l = locator_of(&json!("aria/Sign in[role=\"button\"]")).expect("aria");
        assert_eq!(l.role.as_deref(), Some("button"));
        assert_eq!(l.name.as_deref(), Some("Sign in"));
        assert_eq!(
            locator_of(&json!("aria/Username"))
                .expect("a")
                .name
                .as_deref(),
            Some("Username")
        );
        assert_eq!(
            locator_of(&json!("text/Add")).expect("t").text.as_deref(),
            Some("Add")
        );
        assert_eq!(
            locator_of(&json!("xpath///*[@id=\"a\"]"))
                .expect("x")
                .xpath
                .as_deref(),
            Some("//*[@id=\"a\"]")
        );
        assert_eq!(
            locator_of(&json!("pierce/#b"))
                .expect("p")
                .pierce
                .as_deref(),
            Some("#b")
        );
        assert_eq!(
            locator_of(&json!(["#a"])).expect("one").css,
            Some(Css::One("#a".into()))
        );
        assert_eq!(
            locator_of(&json!(["x-card", "#b"])).expect("path").css,
            Some(Css::Path(vec!["x-card".into(), "#b".into()]))
        );
        assert!(locator_of(&json!(3)).is_err());
    }

    #[test]
    fn keys_become_chords() {
        let v = json!({"title": "k", "steps": [
            {"type": "keyDown", "key": "Control"}, {"type": "keyDown", "key": "a"},
            {"type": "keyUp", "key": "a"}, {"type": "keyUp", "key": "Control"},
            {"type": "keyDown", "key": "Enter"},
            {"type": "keyUp", "key": "Enter", "assertedEvents": [{"type": "navigation", "url": "http://x/"}]},
            {"type": "keyDown", "key": "Shift"}, {"type": "keyUp", "key": "Shift"}
        ]});
        let sc = import(&v, "k.json").expect("import");
        let keys: Vec<_> = sc
            .steps
            .iter()
            .map(|s| s.keys.clone().unwrap_or_default())
            .collect();
        assert_eq!(keys, vec!["ctrl+a", "Enter", "shift"]);
        assert_eq!(sc.steps[1].expect[0].url.as_deref(), Some("http://x/"));
    }

    #[test]
    fn unknown_type_names_the_step() {
        let v = json!({"title": "k", "steps": [{"type": "navigate", "url": "http://x"}, {"type": "teleport"}]});
        let e = import(&v, "r.json").expect_err("bad");
        assert!(
            e.0.contains("step 2 (teleport)") && e.0.contains("unknown step type"),
            "{e}"
        );
        let v = json!({"title": "k", "steps": [{"type": "click"}]});
        let e = import(&v, "r.json").expect_err("bad");
        assert!(
            e.0.contains("step 1 (click)") && e.0.contains("selectors"),
            "{e}"
        );
    }

    #[test]
    fn export_round_trips_through_import() {
        let v = json!({"title": "Flow", "steps": [
            {"type": "setViewport", "width": 800, "height": 600, "deviceScaleFactor": 1, "isMobile": false, "hasTouch": false, "isLandscape": false},
            {"type": "navigate", "url": "http://h/a", "assertedEvents": [{"type": "navigation", "url": "http://h/a", "title": "A"}]},
            {"type": "click", "selectors": [["aria/Go[role=\"button\"]"], ["#go"]], "offsetX": 3, "offsetY": 4, "frame": [1]},
            {"type": "change", "selectors": [["#name"]], "value": "Ada"},
            {"type": "waitForElement", "selectors": [["li"]], "count": 2, "operator": ">="}
        ]});
        let sc = import(&v, "f.json").expect("import");
        let (back, notes) = export(&sc, &Default::default()).expect("export");
        assert!(notes.is_empty(), "{notes:?}");
        let again = import(&back, "back.json").expect("reimport");
        assert_eq!(sc.steps, again.steps);
    }
}
