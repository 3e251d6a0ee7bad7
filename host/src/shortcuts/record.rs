//! Recording shortcuts from tool calls: a [`CallObserver`] that turns each successful acting
//! call (navigate, `computer` clicks/hover/type/key/scroll/drag, `form_input`,
//! `resize_window`) into steps, using the locators the tools captured in their action traces.
//!
//! - The first URL's origin becomes the variable `base_url`, so a shortcut recorded against
//!   one server replays against another (`--var base_url=…`).
//! - Typing right after a click on a text field becomes a `fill` step whose value is a
//!   variable named after the field (passwords get no default: they must be given).
//! - A call made inside another recorded call (the steps of `shortcuts_execute`) is recorded
//!   instead of the outer call.
//!
//! [`start`] / [`finish`] are the API for the agent loop; [`Recordings`] is how
//! `tabwright mcp --save-shortcut NAME` records every MCP session. Touches only the session's
//! observers and the shortcuts store.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use serde_json::{json, Value};

use super::format::{slug, Condition, Locator, Shortcut, Step, Target, FORMAT_TAG};
use super::store::Store;
use crate::browser::Session;
use crate::runtime::trace::{CallObserver, CallRecord, Observers};
use crate::runtime::{ActionClass, ToolOutput};
use crate::BoxFuture;

/// The name the recorder is installed under in a session's observers.
pub const OBSERVER_NAME: &str = "shortcut-recorder";

#[derive(Default)]
struct State {
    steps: Vec<Step>,
    vars: BTreeMap<String, Value>,
    base: Option<String>,
    /// One flag per call in flight: whether a call nested in it was recorded.
    stack: Vec<bool>,
    /// The variable the last fill step wrote (typing more appends to it).
    last_fill_var: Option<String>,
    /// What the last left click's element was (a text field turns following typing into
    /// a fill step).
    last_click_facts: Option<Value>,
}

/// Records one session's acting calls as shortcut steps.
pub struct Recorder {
    state: Mutex<State>,
    autosave: Option<(Store, String)>,
}

fn lock(m: &Mutex<State>) -> std::sync::MutexGuard<'_, State> {
    match m.lock() {
        Ok(g) => g,
        Err(p) => p.into_inner(),
    }
}

impl Recorder {
    /// A recorder; with `autosave` (store, name) the shortcut is rewritten after every step,
    /// so a crash loses at most the step in flight.
    pub fn new(autosave: Option<(Store, String)>) -> Recorder {
        Recorder {
            state: Mutex::new(State::default()),
            autosave,
        }
    }

    /// How many steps were recorded.
    pub fn len(&self) -> usize {
        lock(&self.state).steps.len()
    }

    /// True when nothing was recorded.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The recording so far as a shortcut named `name`.
    pub fn shortcut(&self, name: &str) -> Shortcut {
        let st = lock(&self.state);
        Shortcut {
            format: FORMAT_TAG.into(),
            version: 1,
            id: slug(name),
            name: name.to_string(),
            description: format!("Recorded by tabwright ({} steps)", st.steps.len()),
            tags: Vec::new(),
            variables: st.vars.clone(),
            steps: st.steps.clone(),
        }
    }

    fn save(&self) {
        if let Some((store, name)) = &self.autosave {
            if self.is_empty() {
                return;
            }
            if let Err(e) = store.save(&self.shortcut(name)) {
                tracing::warn!("cannot save shortcut {name}: {e}");
            }
        }
    }

    /// Turns one finished call into steps; returns whether it recorded something.
    fn record(&self, call: &CallRecord<'_>) -> bool {
        let Ok(out) = call.result else { return false };
        let args = call.args;
        let s = |k: &str| args.get(k).and_then(|v| v.as_str()).map(str::to_string);
        let label = call
            .trace
            .as_ref()
            .map(|t| t.label.clone())
            .filter(|l| !l.is_empty());
        let target = call.trace.as_ref().and_then(|t| t.target.clone());
        let point = call.trace.as_ref().and_then(|t| t.point);
        let mut st = lock(&self.state);
        let nav = navigated_to(out);
        let step = match (call.tool, s("action").as_deref()) {
            ("navigate", _) | ("tabs_create", _) => {
                let Some(url) = s("url") else { return false };
                let url = st.templated(&url, true);
                Step {
                    action: "navigate".into(),
                    url: Some(url),
                    ..Default::default()
                }
            }
            ("resize_window", _) => Step {
                action: "set_viewport".into(),
                width: args.get("width").and_then(|v| v.as_u64()).map(|v| v as u32),
                height: args
                    .get("height")
                    .and_then(|v| v.as_u64())
                    .map(|v| v as u32),
                ..Default::default()
            },
            ("form_input", _) => {
                let Some((t, facts)) = split_target(target, point) else {
                    return false;
                };
                let value = args.get("value").cloned().unwrap_or(Value::Null);
                let value = match value {
                    Value::String(text) => {
                        let var = st.new_var(&facts, &text);
                        st.last_fill_var = None;
                        Value::String(format!("{{{{{var}}}}}"))
                    }
                    other => other,
                };
                Step {
                    action: "fill".into(),
                    description: Some(fill_label(&facts, &value)),
                    target: Some(t),
                    value: Some(value),
                    ..Default::default()
                }
            }
            ("computer", Some(action)) => match action {
                "left_click" | "right_click" | "middle_click" | "double_click" | "triple_click"
                | "hover" => {
                    let (t, facts) = match split_target(target, point) {
                        Some(x) => x,
                        None => match args.get("coordinate").and_then(|c| c.as_array()) {
                            Some(c) if c.len() == 2 => (
                                Target {
                                    locators: vec![Locator {
                                        point: Some([
                                            c[0].as_f64().unwrap_or(0.0),
                                            c[1].as_f64().unwrap_or(0.0),
                                        ]),
                                        ..Default::default()
                                    }],
                                    ..Default::default()
                                },
                                Value::Null,
                            ),
                            _ => return false,
                        },
                    };
                    let mut step = Step {
                        action: if action == "hover" { "hover" } else { "click" }.into(),
                        description: label,
                        target: Some(t),
                        modifiers: s("modifiers"),
                        ..Default::default()
                    };
                    match action {
                        "right_click" => step.button = Some("right".into()),
                        "middle_click" => step.button = Some("middle".into()),
                        "double_click" => step.count = Some(2),
                        "triple_click" => step.count = Some(3),
                        _ => {}
                    }
                    if let Some(o) = facts.get("_offset").and_then(|o| o.as_array()) {
                        if let (Some(x), Some(y)) = (
                            o.first().and_then(|v| v.as_f64()),
                            o.get(1).and_then(|v| v.as_f64()),
                        ) {
                            step.offset = Some([x, y]);
                        }
                    }
                    st.last_fill_var = None;
                    st.last_click_facts = (action == "left_click").then_some(facts);
                    step
                }
                "type" => {
                    let Some(text) = s("text") else { return false };
                    if let Some(var) = st.last_fill_var.clone() {
                        // More typing into the same field: extend the variable's default.
                        if let Some(Value::String(d)) = st.vars.get_mut(&var) {
                            d.push_str(&text);
                            return true;
                        }
                        if st.vars.get(&var) == Some(&Value::Null) {
                            return true;
                        }
                    }
                    let focus_click = st.steps.last().is_some_and(|l| {
                        l.action == "click"
                            && l.count.is_none()
                            && l.button.is_none()
                            && l.expect.is_empty()
                    });
                    let facts = st.last_click_facts.take();
                    match (focus_click, facts) {
                        (true, Some(facts)) if is_text_field(&facts) => {
                            let click = st.steps.pop().unwrap_or_default();
                            let var = st.new_var(&facts, &text);
                            st.last_fill_var = Some(var.clone());
                            let value = Value::String(format!("{{{{{var}}}}}"));
                            Step {
                                action: "fill".into(),
                                description: Some(fill_label(&facts, &value)),
                                target: click.target,
                                value: Some(value),
                                ..Default::default()
                            }
                        }
                        _ => Step {
                            action: "type".into(),
                            description: label,
                            text: Some(text),
                            ..Default::default()
                        },
                    }
                }
                "key" => Step {
                    action: "key".into(),
                    description: label,
                    keys: s("text"),
                    repeat: args
                        .get("repeat")
                        .and_then(|r| r.as_u64())
                        .filter(|r| *r > 1)
                        .map(|r| r as u32),
                    ..Default::default()
                },
                "scroll" => Step {
                    action: "scroll".into(),
                    description: label,
                    direction: s("scroll_direction"),
                    amount: args
                        .get("scroll_amount")
                        .and_then(|r| r.as_u64())
                        .map(|r| r as u32),
                    at: args
                        .get("coordinate")
                        .and_then(|c| serde_json::from_value(c.clone()).ok()),
                    ..Default::default()
                },
                "scroll_to" => {
                    let Some((t, _)) = split_target(target, None) else {
                        return false;
                    };
                    Step {
                        action: "scroll_into_view".into(),
                        description: label,
                        target: Some(t),
                        ..Default::default()
                    }
                }
                "left_click_drag" => {
                    let drop = target.as_ref().and_then(|t| t.get("drop").cloned());
                    let to_point = call.trace.as_ref().and_then(|t| t.drag_to);
                    let (Some((from, _)), Some((to, _))) =
                        (split_target(target, point), split_target(drop, to_point))
                    else {
                        return false;
                    };
                    Step {
                        action: "drag".into(),
                        description: label,
                        target: Some(from),
                        drop_target: Some(to),
                        ..Default::default()
                    }
                }
                _ => return false,
            },
            _ => return false,
        };
        let mut step = step;
        // A value typed into a variable that shows up in what this step acts on (the result
        // named after the search, its text, its selector) follows the variable on replay.
        if step.action != "navigate" && step.action != "fill" {
            step = st.step_with_vars(step);
        }
        if step.action != "navigate" {
            if let Some(u) = nav {
                let u = st.templated(&u, false);
                let u = st.with_vars(&u);
                step.expect.push(Condition {
                    url: Some(u),
                    ..Default::default()
                });
            }
        }
        if step.action != "click" {
            st.last_click_facts = None;
        }
        st.steps.push(step);
        true
    }
}

impl State {
    /// Replaces the recorded origin with `{{base_url}}`; the first http(s) navigation sets it.
    fn templated(&mut self, url: &str, may_set: bool) -> String {
        if self.base.is_none() && may_set {
            if let Some(origin) = origin_of(url) {
                self.vars
                    .insert("base_url".into(), Value::String(origin.clone()));
                self.base = Some(origin);
            }
        }
        match &self.base {
            Some(b) if url.starts_with(b.as_str()) => {
                format!("{{{{base_url}}}}{}", &url[b.len()..])
            }
            _ => url.to_string(),
        }
    }

    /// Replaces the values typed into variables (3+ characters) inside a recorded string by
    /// the variables, so `?user=ada` follows `{{username}}` when the replay types someone
    /// else. Text already inside `{{…}}` is left alone.
    fn with_vars(&self, text: &str) -> String {
        let mut out = text.to_string();
        for (name, v) in &self.vars {
            if name == "base_url" {
                continue;
            }
            if let Value::String(s) = v {
                if s.chars().count() >= 3 && !s.contains('{') {
                    out = replace_outside_vars(&out, s, &format!("{{{{{name}}}}}"));
                }
            }
        }
        out
    }

    /// [`State::with_vars`] over every string of a step's target, drop target, description
    /// and conditions (not its action, keys or point).
    fn step_with_vars(&self, step: Step) -> Step {
        let Ok(mut v) = serde_json::to_value(&step) else {
            return step;
        };
        fn walk(v: &mut Value, st: &State) {
            match v {
                Value::String(s) => *s = st.with_vars(s),
                Value::Array(a) => a.iter_mut().for_each(|x| walk(x, st)),
                Value::Object(o) => o.values_mut().for_each(|x| walk(x, st)),
                _ => {}
            }
        }
        if let Value::Object(o) = &mut v {
            for key in ["target", "drop_target", "description", "expect", "text"] {
                if let Some(x) = o.get_mut(key) {
                    walk(x, self);
                }
            }
        }
        serde_json::from_value(v).unwrap_or(step)
    }

    fn new_var(&mut self, facts: &Value, default: &str) -> String {
        let base = facts
            .get("_name")
            .and_then(|n| n.as_str())
            .map(|n| slug(n).replace('-', "_"))
            .filter(|n| !n.is_empty() && n != "shortcut")
            .unwrap_or_else(|| "text".into());
        let password = facts.get("_password").and_then(|p| p.as_bool()) == Some(true);
        let mut name = base.clone();
        let mut n = 2;
        while self.vars.contains_key(&name) {
            name = format!("{base}_{n}");
            n += 1;
        }
        self.vars.insert(
            name.clone(),
            if password {
                Value::Null
            } else {
                Value::String(default.to_string())
            },
        );
        name
    }
}

fn fill_label(facts: &Value, value: &Value) -> String {
    let name = facts
        .get("_name")
        .and_then(|n| n.as_str())
        .filter(|n| !n.is_empty())
        .unwrap_or("the field");
    let shown = match value {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    };
    format!("Set “{name}” to “{shown}”")
}

fn is_text_field(facts: &Value) -> bool {
    let role = facts.get("_role").and_then(|r| r.as_str()).unwrap_or("");
    let editable = facts.get("_editable").and_then(|e| e.as_bool()) == Some(true);
    let ty = facts.get("_type").and_then(|t| t.as_str()).unwrap_or("");
    editable
        && !matches!(
            ty,
            "checkbox" | "radio" | "button" | "submit" | "reset" | "file" | "range" | "color"
        )
        || matches!(role, "textbox" | "searchbox" | "combobox" | "spinbutton")
}

/// The target of a trace (with the facts the recorder uses), or the point alone.
fn split_target(target: Option<Value>, point: Option<(f64, f64)>) -> Option<(Target, Value)> {
    if let Some(Value::Object(m)) = target {
        let facts: serde_json::Map<String, Value> = m
            .iter()
            .filter(|(k, _)| k.starts_with('_'))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        let clean: serde_json::Map<String, Value> = m
            .into_iter()
            .filter(|(k, _)| !k.starts_with('_') && k != "drop")
            .collect();
        if let Ok(t) = serde_json::from_value::<Target>(Value::Object(clean)) {
            if !t.locators.is_empty() {
                return Some((t, Value::Object(facts)));
            }
        }
    }
    let (x, y) = point?;
    Some((
        Target {
            locators: vec![Locator {
                point: Some([x.round(), y.round()]),
                ..Default::default()
            }],
            ..Default::default()
        },
        Value::Null,
    ))
}

/// The URL a call's report says the page moved to (`Page is now URL`).
fn navigated_to(out: &ToolOutput) -> Option<String> {
    out.text
        .lines()
        .find_map(|l| l.strip_prefix("Page is now "))
        .and_then(|rest| rest.split_whitespace().next())
        .map(str::to_string)
}

/// Replaces `from` by `to` in `text`, except inside `{{…}}` (a variable already there).
fn replace_outside_vars(text: &str, from: &str, to: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(start) = rest.find("{{") {
        let end = rest[start..].find("}}").map(|e| start + e + 2);
        let Some(end) = end else { break };
        out.push_str(&rest[..start].replace(from, to));
        out.push_str(&rest[start..end]);
        rest = &rest[end..];
    }
    out.push_str(&rest.replace(from, to));
    out
}

fn origin_of(url: &str) -> Option<String> {
    let (scheme, rest) = url.split_once("://")?;
    if scheme != "http" && scheme != "https" {
        return None;
    }
    let host = rest.split(['/', '?', '#']).next()?;
    if host.is_empty() {
        return None;
    }
    Some(format!("{scheme}://{host}"))
}

impl CallObserver for Recorder {
    fn before<'a>(
        &'a self,
        _session: &'a Session,
        _tool: &'a str,
        _class: ActionClass,
        _args: &'a Value,
    ) -> BoxFuture<'a, ()> {
        lock(&self.state).stack.push(false);
        Box::pin(async {})
    }

    fn after<'a>(&'a self, _session: &'a Session, call: &'a CallRecord<'a>) -> BoxFuture<'a, ()> {
        let nested = {
            let mut st = lock(&self.state);
            st.stack.pop().unwrap_or(false)
        };
        let recorded = if nested { true } else { self.record(call) };
        if recorded {
            if let Some(top) = lock(&self.state).stack.last_mut() {
                *top = true;
            }
            if !nested {
                self.save();
            }
        }
        Box::pin(async {})
    }
}

/// The recorder [`start`] put on a session (a session extension).
#[derive(Default)]
pub struct Active(Mutex<Option<Arc<Recorder>>>);

/// Starts recording `session`'s tool calls (replacing a recording in progress).
pub fn start(session: &Session) -> Arc<Recorder> {
    let rec = Arc::new(Recorder::new(None));
    Observers::of(session).install(OBSERVER_NAME, rec.clone());
    set_active(session, Some(rec.clone()));
    rec
}

fn set_active(session: &Session, rec: Option<Arc<Recorder>>) -> Option<Arc<Recorder>> {
    let slot = session.ext::<Active>();
    let mut g = match slot.0.lock() {
        Ok(g) => g,
        Err(p) => p.into_inner(),
    };
    std::mem::replace(&mut *g, rec)
}

/// Stops recording `session` and saves the steps as shortcut `name` in the session's store.
/// Returns the file written and the shortcut, or `None` when nothing was recorded (or no
/// recording was started).
pub fn finish(session: &Session, name: &str) -> std::io::Result<Option<(PathBuf, Shortcut)>> {
    let Some(rec) = set_active(session, None) else {
        return Ok(None);
    };
    Observers::of(session).remove(OBSERVER_NAME);
    if rec.is_empty() {
        return Ok(None);
    }
    let sc = rec.shortcut(name);
    let path = Store::for_session(session).save(&sc)?;
    Ok(Some((path, sc)))
}

/// The recordings of `tabwright mcp --save-shortcut NAME`: one per MCP session, saved as
/// NAME, NAME-2, … after every step and once more at the end.
pub struct Recordings {
    name: String,
    store: Store,
    list: Mutex<Vec<Arc<Recorder>>>,
}

impl Recordings {
    fn new_recorder(&self) -> Arc<Recorder> {
        let mut list = match self.list.lock() {
            Ok(g) => g,
            Err(p) => p.into_inner(),
        };
        let name = if list.is_empty() {
            self.name.clone()
        } else {
            format!("{}-{}", self.name, list.len() + 1)
        };
        let rec = Arc::new(Recorder::new(Some((self.store.clone(), name))));
        list.push(rec.clone());
        rec
    }

    /// Saves every non-empty recording; returns the files written or the errors.
    pub fn save_all(&self) -> Vec<Result<PathBuf, String>> {
        let list = match self.list.lock() {
            Ok(g) => g.clone(),
            Err(p) => p.into_inner().clone(),
        };
        list.iter()
            .filter(|r| !r.is_empty())
            .filter_map(|r| {
                let (store, name) = r.autosave.as_ref()?;
                Some(store.save(&r.shortcut(name)).map_err(|e| e.to_string()))
            })
            .collect()
    }
}

/// Starts the recordings of `tabwright mcp --save-shortcut NAME`: each session gets its own
/// recorder, saved as `name` (then `name-2` … for further sessions).
pub fn recordings(name: &str, store: Store) -> Arc<Recordings> {
    Arc::new(Recordings {
        name: name.to_string(),
        store,
        list: Mutex::new(Vec::new()),
    })
}

impl Recordings {
    /// Puts a recorder on `session` if it has none yet (call before each of its tool calls,
    /// so a session that never calls a tool records nothing).
    pub fn attach(&self, session: &Session) {
        let observers = Observers::of(session);
        if observers.get(OBSERVER_NAME).is_none() {
            observers.install(OBSERVER_NAME, self.new_recorder());
        }
    }
}

/// A small JSON summary of a recording, for logs.
pub fn summary(sc: &Shortcut) -> Value {
    json!({"id": sc.id, "name": sc.name, "steps": sc.steps.len(), "variables": sc.variables.keys().collect::<Vec<_>>()})
}

#[cfg(test)]
mod tests {
    use super::replace_outside_vars;

    #[test]
    fn values_inside_a_variable_are_left_alone() {
        assert_eq!(
            replace_outside_vars("sear {{search}} x sear", "sear", "{{q}}"),
            "{{q}} {{search}} x {{q}}"
        );
        assert_eq!(replace_outside_vars("a {{b", "a", "c"), "c {{b");
        assert_eq!(replace_outside_vars("Ada", "Ada", "{{who}}"), "{{who}}");
    }
}
