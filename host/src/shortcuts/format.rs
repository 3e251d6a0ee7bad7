//! The shortcut file format (see `FORMAT.md` beside this file): parsing with errors that name
//! the step, `{{variable}}` substitution, and validation into [`Op`]s the replay engine runs.
//!
//! Owns only data; touches no browser.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// The value of the `format` key that marks a shortcut file.
pub const FORMAT_TAG: &str = "tabwright-shortcut";

/// The default time a step may take to find its element or satisfy its assertion.
pub const DEFAULT_TIMEOUT_MS: u64 = 5000;

/// A saved shortcut: a named, replayable sequence of browser steps.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Shortcut {
    /// Always [`FORMAT_TAG`]; lets `tabwright replay` tell shortcuts from Recorder JSON.
    #[serde(default = "format_tag")]
    pub format: String,
    /// Format version (1).
    #[serde(default = "one")]
    pub version: u32,
    /// Stable id (also the file name in the store): lowercase letters, digits and dashes.
    #[serde(default)]
    pub id: String,
    /// Human name; `shortcuts_execute command=` matches it too.
    pub name: String,
    /// What it does.
    #[serde(default)]
    pub description: String,
    /// Labels `tabwright replay --tag` selects flows by (`smoke`, `checkout` …).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tags: Vec<String>,
    /// Variables the steps use as `{{name}}`, with their defaults (`null`: must be given).
    #[serde(default)]
    pub variables: BTreeMap<String, Value>,
    /// The steps, in order.
    pub steps: Vec<Step>,
}

fn format_tag() -> String {
    FORMAT_TAG.to_string()
}

fn one() -> u32 {
    1
}

fn is_false(b: &bool) -> bool {
    !*b
}

/// One step. `action` decides which of the other fields apply (see `FORMAT.md`).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Default)]
#[serde(deny_unknown_fields)]
pub struct Step {
    /// navigate, set_viewport, click, hover, fill, type, key, scroll, scroll_into_view, drag,
    /// wait_for, assert.
    pub action: String,
    /// A human label for reports (`Click “Sign in”`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// The element acted on or waited for.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target: Option<Target>,
    /// navigate: the URL (or back / forward / reload). wait_for/assert: the page URL expected.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    /// fill: the new value (string, number, bool or list of strings).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<Value>,
    /// type: the text typed. wait_for/assert: text the page must contain.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub text: Option<String>,
    /// key: keys or chords separated by spaces (`ctrl+a Backspace Enter`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub keys: Option<String>,
    /// key: how many times to press the sequence.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub repeat: Option<u32>,
    /// click: left (default), right or middle.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub button: Option<String>,
    /// click: 1 (default), 2 (double click) or 3. wait_for/assert with a target: the number of
    /// matching elements (default 1, compared with `operator`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub count: Option<u32>,
    /// click: where in the element, from its top-left corner, in CSS pixels (informational:
    /// replays click the element's visible center, which survives layout changes).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub offset: Option<[f64; 2]>,
    /// click/hover: modifier keys held, e.g. `ctrl+shift`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub modifiers: Option<String>,
    /// drag: where to drop.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub drop_target: Option<Target>,
    /// scroll: absolute horizontal position (of the window, or of `target`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub x: Option<f64>,
    /// scroll: absolute vertical position.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub y: Option<f64>,
    /// scroll: wheel direction (up, down, left, right) instead of an absolute position.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub direction: Option<String>,
    /// scroll: wheel ticks, 1-10 (default 3).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub amount: Option<u32>,
    /// scroll with direction: the viewport point to scroll at.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub at: Option<[f64; 2]>,
    /// set_viewport: width in CSS pixels.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub width: Option<u32>,
    /// set_viewport: height in CSS pixels.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub height: Option<u32>,
    /// wait_for/assert: the page title expected.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    /// wait_for/assert: a JavaScript expression (page context) that must become truthy.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expression: Option<String>,
    /// wait_for/assert with a target: `==` (default), `>=` or `<=` for `count`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub operator: Option<String>,
    /// wait_for/assert with a target: the elements must be visible (true) or hidden (false).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub visible: Option<bool>,
    /// wait_for/assert with a target: attribute values the elements must have.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub attributes: Option<BTreeMap<String, String>>,
    /// wait_for/assert with a target: DOM property values (a partial JSON match).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub properties: Option<Value>,
    /// How long to wait for the element or the assertion, in ms (default 5000).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout_ms: Option<u64>,
    /// Conditions checked after the action (each waited for up to the timeout).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub expect: Vec<Condition>,
    /// Continue the replay when this step fails (reported as skipped-with-failure).
    #[serde(default, skip_serializing_if = "is_false")]
    pub optional: bool,
}

/// An element: where it lives (frame path) and how to find it (locators, best first).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Default)]
#[serde(deny_unknown_fields)]
pub struct Target {
    /// The chain of iframes from the top document to the element's document: each entry is
    /// a CSS selector of the `<iframe>` in its parent document, or its index among the
    /// parent's frames.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub frame: Vec<FrameSel>,
    /// The same chain as indexes (filled in by recording; used by Recorder JSON export).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub frame_index: Option<Vec<usize>>,
    /// Ways to find the element, tried in order; the first is the primary. A later one
    /// matching when the primary does not is reported as HEALED.
    pub locators: Vec<Locator>,
}

/// One entry of a frame path.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(untagged)]
pub enum FrameSel {
    /// Index among the parent document's frames, in document order.
    Index(usize),
    /// CSS selector of the iframe element.
    Css(String),
}

/// A CSS locator: one selector, or a shadow path (each later selector is evaluated inside
/// the shadow root of the element the previous one found).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(untagged)]
pub enum Css {
    /// One selector.
    One(String),
    /// A shadow path.
    Path(Vec<String>),
}

/// One way to find an element. Exactly one kind is set (`role` may come with `name`).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Default)]
#[serde(deny_unknown_fields)]
pub struct Locator {
    /// ARIA role (with `name`: the accessible name, matched exactly after whitespace folding).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub role: Option<String>,
    /// Accessible name (with or without `role`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Visible text the element contains (the deepest such element wins).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub text: Option<String>,
    /// CSS selector or shadow path.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub css: Option<Css>,
    /// XPath.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub xpath: Option<String>,
    /// CSS selector matched in the document and every open shadow root.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pierce: Option<String>,
    /// A viewport point in CSS pixels (the last resort).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub point: Option<[f64; 2]>,
}

impl Locator {
    /// A short description for reports: `role+name button "Save"`, `css #save` …
    pub fn describe(&self) -> String {
        if self.role.is_some() || self.name.is_some() {
            let role = self.role.as_deref().unwrap_or("*");
            return match &self.name {
                Some(n) => format!("role+name {role} \"{n}\""),
                None => format!("role {role}"),
            };
        }
        if let Some(t) = &self.text {
            return format!("text \"{t}\"");
        }
        if let Some(c) = &self.css {
            return match c {
                Css::One(s) => format!("css {s}"),
                Css::Path(p) => format!("css {}", p.join(" >>> ")),
            };
        }
        if let Some(x) = &self.xpath {
            return format!("xpath {x}");
        }
        if let Some(p) = &self.pierce {
            return format!("pierce {p}");
        }
        if let Some([x, y]) = self.point {
            return format!("point ({x:.0}, {y:.0})");
        }
        "empty locator".into()
    }

    fn kinds(&self) -> usize {
        [
            self.role.is_some() || self.name.is_some(),
            self.text.is_some(),
            self.css.is_some(),
            self.xpath.is_some(),
            self.pierce.is_some(),
            self.point.is_some(),
        ]
        .iter()
        .filter(|b| **b)
        .count()
    }
}

/// A condition checked after a step (`expect`), or by a wait_for/assert step.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Default)]
#[serde(deny_unknown_fields)]
pub struct Condition {
    /// The page URL must equal this (a trailing `*` matches any rest).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    /// The page title must equal this.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    /// The page (or the target's frame) must contain this text.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub text: Option<String>,
    /// Elements to count / inspect.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target: Option<Target>,
    /// How many elements (default 1).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub count: Option<u32>,
    /// `==` (default), `>=`, `<=`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub operator: Option<String>,
    /// Visible (true) or hidden (false).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub visible: Option<bool>,
    /// Attribute values.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub attributes: Option<BTreeMap<String, String>>,
    /// DOM property values (partial JSON match).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub properties: Option<Value>,
    /// A JavaScript expression that must be truthy.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expression: Option<String>,
}

impl Condition {
    /// A short description for reports.
    pub fn describe(&self) -> String {
        let mut parts = Vec::new();
        if let Some(u) = &self.url {
            parts.push(format!("url = {u}"));
        }
        if let Some(t) = &self.title {
            parts.push(format!("title = \"{t}\""));
        }
        if let Some(t) = &self.text {
            parts.push(format!("page text contains \"{t}\""));
        }
        if let Some(t) = &self.target {
            let what = t
                .locators
                .first()
                .map(Locator::describe)
                .unwrap_or_default();
            let op = self.operator.as_deref().unwrap_or("==");
            parts.push(format!("count({what}) {op} {}", self.count.unwrap_or(1)));
            if let Some(v) = self.visible {
                parts.push(if v { "visible".into() } else { "hidden".into() });
            }
            if let Some(a) = &self.attributes {
                parts.push(format!("attributes {}", serde_json::json!(a)));
            }
            if let Some(p) = &self.properties {
                parts.push(format!("properties {p}"));
            }
        }
        if let Some(e) = &self.expression {
            parts.push(format!("expression `{e}` is truthy"));
        }
        parts.join(", ")
    }

    fn is_empty(&self) -> bool {
        self.url.is_none()
            && self.title.is_none()
            && self.text.is_none()
            && self.target.is_none()
            && self.expression.is_none()
    }
}

/// A load or validation error, naming the step when there is one.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{0}")]
pub struct FormatError(pub String);

/// What a step does, validated and with variables filled in.
#[derive(Debug, Clone)]
pub enum Op {
    /// Load a URL (or back / forward / reload).
    Navigate(String),
    /// Set the viewport.
    Viewport(u32, u32),
    /// Click an element.
    Click {
        /// The element.
        target: Target,
        /// left, right or middle.
        button: String,
        /// 1, 2 or 3.
        count: u32,
        /// Modifiers held.
        modifiers: Option<String>,
    },
    /// Move the mouse over an element.
    Hover(Target, Option<String>),
    /// Set a control's value.
    Fill(Target, Value),
    /// Type into the focused element.
    Type(String),
    /// Press keys.
    Key(String, u32),
    /// Scroll the window (no target) or an element to an absolute position.
    ScrollTo(Option<Target>, f64, f64),
    /// Turn the mouse wheel.
    Wheel(String, u32, Option<[f64; 2]>),
    /// Scroll an element into view.
    ScrollIntoView(Target),
    /// Drag one element onto another.
    Drag(Target, Target),
    /// Wait for / assert a condition.
    Check(Condition),
}

/// The actions a step may have.
pub const ACTIONS: &[&str] = &[
    "navigate",
    "set_viewport",
    "click",
    "hover",
    "fill",
    "type",
    "key",
    "scroll",
    "scroll_into_view",
    "drag",
    "wait_for",
    "assert",
];

/// Where in a JSON text a byte offset falls, as "line L column C".
fn line_col(text: &str, line: usize, col: usize) -> String {
    let _ = text;
    format!("line {line} column {col}")
}

/// Parses JSON text, reporting syntax errors with line and column.
pub fn parse_json(text: &str, origin: &str) -> Result<Value, FormatError> {
    serde_json::from_str(text).map_err(|e| {
        FormatError(format!(
            "{origin} is not valid JSON: {} at {}",
            e.to_string().split(" at line ").next().unwrap_or(""),
            line_col(text, e.line(), e.column())
        ))
    })
}

/// The label of step `i` (0-based) for error messages: `step 3 (click)`.
pub fn step_label(i: usize, action: &str) -> String {
    if action.is_empty() {
        format!("step {}", i + 1)
    } else {
        format!("step {} ({action})", i + 1)
    }
}

impl Shortcut {
    /// Parses a shortcut from its JSON value, checking every step (unknown actions and
    /// fields, missing or contradictory fields), so errors come before the browser starts.
    pub fn from_value(v: Value, origin: &str) -> Result<Shortcut, FormatError> {
        let Value::Object(mut top) = v else {
            return Err(FormatError(format!(
                "{origin}: a shortcut is a JSON object with \"name\" and \"steps\""
            )));
        };
        let steps = match top.remove("steps") {
            Some(Value::Array(a)) => a,
            Some(_) => return Err(FormatError(format!("{origin}: \"steps\" must be a list"))),
            None => return Err(FormatError(format!("{origin}: no \"steps\" list"))),
        };
        top.insert("steps".into(), Value::Array(Vec::new()));
        let mut sc: Shortcut = serde_path_to_error::deserialize(Value::Object(top))
            .map_err(|e| FormatError(format!("{origin}: field `{}`: {}", e.path(), e.inner())))?;
        for (i, s) in steps.into_iter().enumerate() {
            let action = s
                .get("action")
                .and_then(|a| a.as_str())
                .unwrap_or("")
                .to_string();
            let step: Step = serde_path_to_error::deserialize(s).map_err(|e| {
                FormatError(format!(
                    "{origin}: {}: field `{}`: {}",
                    step_label(i, &action),
                    e.path(),
                    e.inner()
                ))
            })?;
            sc.steps.push(step);
        }
        if sc.format != FORMAT_TAG {
            return Err(FormatError(format!(
                "{origin}: \"format\" is \"{}\", expected \"{FORMAT_TAG}\"",
                sc.format
            )));
        }
        if sc.id.is_empty() {
            sc.id = slug(&sc.name);
        }
        for (i, s) in sc.steps.iter().enumerate() {
            // Validate the shape with placeholder variables, so bad steps fail at load time.
            s.to_op(&|_| Some("x".into()))
                .map_err(|e| FormatError(format!("{origin}: {}: {e}", step_label(i, &s.action))))?;
        }
        Ok(sc)
    }

    /// Parses a shortcut from JSON text.
    pub fn from_json(text: &str, origin: &str) -> Result<Shortcut, FormatError> {
        Shortcut::from_value(parse_json(text, origin)?, origin)
    }

    /// The shortcut as pretty JSON.
    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).unwrap_or_else(|_| "{}".into())
    }

    /// The value of variable `name`: the override, else the shortcut's default.
    pub fn lookup(&self, overrides: &BTreeMap<String, String>, name: &str) -> Option<String> {
        if let Some(v) = overrides.get(name) {
            return Some(v.clone());
        }
        match self.variables.get(name) {
            Some(Value::String(s)) => Some(s.clone()),
            Some(Value::Null) | None => None,
            Some(other) => Some(other.to_string()),
        }
    }

    /// Resolves every step into an [`Op`] with `vars` (overrides, then the shortcut's
    /// defaults). A variable with no value is an error naming the step.
    pub fn ops(&self, overrides: &BTreeMap<String, String>) -> Result<Vec<Op>, FormatError> {
        Ok(self
            .resolved(overrides)?
            .into_iter()
            .map(|(_, op)| op)
            .collect())
    }

    /// Every step with its variables filled in, and its [`Op`].
    pub fn resolved(
        &self,
        overrides: &BTreeMap<String, String>,
    ) -> Result<Vec<(Step, Op)>, FormatError> {
        let lookup = |name: &str| self.lookup(overrides, name);
        self.steps
            .iter()
            .enumerate()
            .map(|(i, s)| {
                let label = |e: String| FormatError(format!("{}: {e}", step_label(i, &s.action)));
                let filled = s.filled(&lookup).map_err(label)?;
                let op = filled.to_op(&lookup).map_err(label)?;
                Ok((filled, op))
            })
            .collect()
    }

    /// A step's label for reports, with variables filled in except secrets (variables named
    /// like password / secret / token), which stay `{{name}}`.
    pub fn label(&self, step: &Step, overrides: &BTreeMap<String, String>) -> String {
        let raw = step.label();
        let lookup = |name: &str| -> Option<String> {
            let lower = name.to_ascii_lowercase();
            let secret = ["password", "secret", "token", "pass"]
                .iter()
                .any(|w| lower.contains(w));
            if secret {
                return Some(format!("{{{{{name}}}}}"));
            }
            self.lookup(overrides, name)
                .or_else(|| Some(format!("{{{{{name}}}}}")))
        };
        substitute(&raw, &lookup).unwrap_or(raw)
    }
}

/// Replaces `{{name}}` in `s` using `lookup`.
pub fn substitute(s: &str, lookup: &dyn Fn(&str) -> Option<String>) -> Result<String, String> {
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(start) = rest.find("{{") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        let Some(end) = after.find("}}") else {
            out.push_str(&rest[start..]);
            return Ok(out);
        };
        let name = after[..end].trim();
        if name.is_empty()
            || !name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
        {
            out.push_str(&rest[start..start + 2 + end + 2]);
        } else {
            match lookup(name) {
                Some(v) => out.push_str(&v),
                None => {
                    return Err(format!(
                        "variable {{{{{name}}}}} has no value; pass it with --var {name}=VALUE (or give it a default in \"variables\")"
                    ))
                }
            }
        }
        rest = &after[end + 2..];
    }
    out.push_str(rest);
    Ok(out)
}

/// Replaces `{{name}}` in every string inside `v`.
pub fn substitute_value(
    v: &Value,
    lookup: &dyn Fn(&str) -> Option<String>,
) -> Result<Value, String> {
    Ok(match v {
        Value::String(s) => Value::String(substitute(s, lookup)?),
        Value::Array(a) => Value::Array(
            a.iter()
                .map(|x| substitute_value(x, lookup))
                .collect::<Result<_, _>>()?,
        ),
        Value::Object(m) => {
            let mut out = Map::new();
            for (k, x) in m {
                out.insert(k.clone(), substitute_value(x, lookup)?);
            }
            Value::Object(out)
        }
        other => other.clone(),
    })
}

/// The variable names `{{…}}` used anywhere in `v`.
pub fn variables_in(v: &Value, out: &mut Vec<String>) {
    match v {
        Value::String(s) => {
            let mut rest = s.as_str();
            while let Some(start) = rest.find("{{") {
                let after = &rest[start + 2..];
                let Some(end) = after.find("}}") else { break };
                let name = after[..end].trim().to_string();
                if !name.is_empty() && !out.contains(&name) {
                    out.push(name);
                }
                rest = &after[end + 2..];
            }
        }
        Value::Array(a) => a.iter().for_each(|x| variables_in(x, out)),
        Value::Object(m) => m.values().for_each(|x| variables_in(x, out)),
        _ => {}
    }
}

fn check_target(t: &Target, what: &str) -> Result<(), String> {
    if t.locators.is_empty() {
        return Err(format!("{what} has no locators"));
    }
    for (i, l) in t.locators.iter().enumerate() {
        if l.kinds() != 1 {
            return Err(format!(
                "{what}: locator {} must have exactly one of role/name, text, css, xpath, pierce, point",
                i + 1
            ));
        }
        if let Some(Css::Path(p)) = &l.css {
            if p.is_empty() {
                return Err(format!("{what}: locator {} has an empty css path", i + 1));
            }
        }
    }
    Ok(())
}

fn check_condition(c: &Condition) -> Result<(), String> {
    if c.is_empty() {
        return Err("needs something to check: url, title, text, target or expression".into());
    }
    if let Some(t) = &c.target {
        check_target(t, "the target")?;
        if t.locators.iter().any(|l| l.point.is_some()) {
            return Err("a point cannot be counted; use role/name, text, css or xpath".into());
        }
    }
    if let Some(op) = &c.operator {
        if !matches!(op.as_str(), "==" | ">=" | "<=") {
            return Err(format!("operator \"{op}\" is not ==, >= or <="));
        }
    }
    if c.target.is_none()
        && (c.count.is_some()
            || c.operator.is_some()
            || c.visible.is_some()
            || c.attributes.is_some()
            || c.properties.is_some())
    {
        return Err("count, operator, visible, attributes and properties need a target".into());
    }
    Ok(())
}

impl Step {
    /// The step's label for reports: its description, or one made from the action.
    pub fn label(&self) -> String {
        if let Some(d) = &self.description {
            return d.clone();
        }
        let what = self.target.as_ref().map(human);
        let value = match &self.value {
            Some(Value::String(v)) => format!("“{v}”"),
            Some(v) => v.to_string(),
            None => String::new(),
        };
        match (self.action.as_str(), what) {
            ("navigate", _) => format!("Navigate to {}", self.url.as_deref().unwrap_or("?")),
            ("type", _) => format!("Type \"{}\"", self.text.as_deref().unwrap_or("")),
            ("key", _) => format!("Press {}", self.keys.as_deref().unwrap_or("")),
            ("set_viewport", _) => format!(
                "Set viewport {}x{}",
                self.width.unwrap_or(0),
                self.height.unwrap_or(0)
            ),
            ("wait_for" | "assert", _) => {
                format!(
                    "{} {}",
                    capitalize(&self.action),
                    self.condition().describe()
                )
            }
            ("fill", Some(w)) => format!("Set {w} to {value}"),
            ("click", Some(w)) => {
                let verb = match (self.button.as_deref(), self.count.unwrap_or(1)) {
                    (Some("right"), _) => "Right-click",
                    (Some("middle"), _) => "Middle-click",
                    (_, 2) => "Double-click",
                    (_, 3) => "Triple-click",
                    _ => "Click",
                };
                format!("{verb} {w}")
            }
            ("scroll", w) => match (&self.direction, w) {
                (Some(d), _) => format!("Scroll {d}"),
                (None, Some(w)) => format!(
                    "Scroll {w} to ({}, {})",
                    self.x.unwrap_or(0.0),
                    self.y.unwrap_or(0.0)
                ),
                (None, None) => format!(
                    "Scroll to ({}, {})",
                    self.x.unwrap_or(0.0),
                    self.y.unwrap_or(0.0)
                ),
            },
            (a, Some(w)) => format!("{} {w}", capitalize(a)),
            (a, None) => capitalize(a),
        }
    }

    /// The condition of a wait_for / assert step.
    pub fn condition(&self) -> Condition {
        Condition {
            url: self.url.clone(),
            title: self.title.clone(),
            text: self.text.clone(),
            target: self.target.clone(),
            count: self.count,
            operator: self.operator.clone(),
            visible: self.visible,
            attributes: self.attributes.clone(),
            properties: self.properties.clone(),
            expression: self.expression.clone(),
        }
    }

    /// The step with `{{variables}}` filled in.
    pub fn filled(&self, lookup: &dyn Fn(&str) -> Option<String>) -> Result<Step, String> {
        let v = serde_json::to_value(self).map_err(|e| e.to_string())?;
        let filled = substitute_value(&v, lookup)?;
        serde_json::from_value(filled).map_err(|e| e.to_string())
    }

    /// Validates the step and fills in variables.
    pub fn to_op(&self, lookup: &dyn Fn(&str) -> Option<String>) -> Result<Op, String> {
        let s = self.filled(lookup)?;
        for (i, c) in s.expect.iter().enumerate() {
            check_condition(c).map_err(|e| format!("expect {}: {e}", i + 1))?;
        }
        let need_target = |what: &str| -> Result<Target, String> {
            let t = s
                .target
                .clone()
                .ok_or_else(|| format!("{what} needs a \"target\" with locators"))?;
            check_target(&t, "the target")?;
            Ok(t)
        };
        let op = match s.action.as_str() {
            "navigate" => Op::Navigate(
                s.url
                    .clone()
                    .filter(|u| !u.trim().is_empty())
                    .ok_or("navigate needs a \"url\"")?,
            ),
            "set_viewport" => match (s.width, s.height) {
                (Some(w), Some(h)) if (100..=8192).contains(&w) && (100..=8192).contains(&h) => {
                    Op::Viewport(w, h)
                }
                _ => {
                    return Err(
                        "set_viewport needs \"width\" and \"height\" between 100 and 8192".into(),
                    )
                }
            },
            "click" => {
                let button = s.button.clone().unwrap_or_else(|| "left".into());
                if !matches!(button.as_str(), "left" | "right" | "middle") {
                    return Err(format!("button \"{button}\" is not left, right or middle"));
                }
                let count = s.count.unwrap_or(1);
                if !(1..=3).contains(&count) {
                    return Err(format!("click count {count} is not 1, 2 or 3"));
                }
                Op::Click {
                    target: need_target("click")?,
                    button,
                    count,
                    modifiers: s.modifiers.clone(),
                }
            }
            "hover" => Op::Hover(need_target("hover")?, s.modifiers.clone()),
            "fill" => Op::Fill(
                need_target("fill")?,
                s.value.clone().ok_or("fill needs a \"value\"")?,
            ),
            "type" => Op::Type(s.text.clone().ok_or("type needs \"text\"")?),
            "key" => Op::Key(
                s.keys
                    .clone()
                    .filter(|k| !k.trim().is_empty())
                    .ok_or("key needs \"keys\", e.g. \"Enter\" or \"ctrl+a\"")?,
                s.repeat.unwrap_or(1).clamp(1, 100),
            ),
            "scroll" => {
                if let Some(d) = &s.direction {
                    if !matches!(d.as_str(), "up" | "down" | "left" | "right") {
                        return Err(format!("direction \"{d}\" is not up, down, left or right"));
                    }
                    Op::Wheel(d.clone(), s.amount.unwrap_or(3).clamp(1, 10), s.at)
                } else {
                    if let Some(t) = &s.target {
                        check_target(t, "the target")?;
                    }
                    Op::ScrollTo(s.target.clone(), s.x.unwrap_or(0.0), s.y.unwrap_or(0.0))
                }
            }
            "scroll_into_view" => Op::ScrollIntoView(need_target("scroll_into_view")?),
            "drag" => {
                let to = s
                    .drop_target
                    .clone()
                    .ok_or("drag needs a \"drop_target\"")?;
                check_target(&to, "the drop_target")?;
                Op::Drag(need_target("drag")?, to)
            }
            "wait_for" | "assert" => {
                let c = s.condition();
                check_condition(&c)?;
                Op::Check(c)
            }
            "" => return Err(format!("no \"action\"; use one of {}", ACTIONS.join(", "))),
            other => {
                return Err(format!(
                    "unknown action \"{other}\"; use one of {}",
                    ACTIONS.join(", ")
                ))
            }
        };
        Ok(op)
    }
}

/// The most human way to name a target: its accessible name, its text, else its primary
/// locator.
fn human(t: &Target) -> String {
    if let Some(n) = t.locators.iter().find_map(|l| l.name.as_ref()) {
        return format!("“{n}”");
    }
    if let Some(x) = t.locators.iter().find_map(|l| l.text.as_ref()) {
        return format!("“{x}”");
    }
    t.locators
        .first()
        .map(Locator::describe)
        .unwrap_or_else(|| "the element".into())
}

fn capitalize(s: &str) -> String {
    let s = s.replace('_', " ");
    let mut c = s.chars();
    match c.next() {
        Some(f) => f.to_uppercase().collect::<String>() + c.as_str(),
        None => String::new(),
    }
}

/// A file-name-safe id from a name: lowercase ASCII letters, digits and dashes.
pub fn slug(name: &str) -> String {
    let mut out = String::new();
    for c in name.trim().chars() {
        if c.is_ascii_alphanumeric() {
            out.push(c.to_ascii_lowercase());
        } else if !out.ends_with('-') && !out.is_empty() {
            out.push('-');
        }
    }
    let out = out.trim_end_matches('-').to_string();
    if out.is_empty() {
        "shortcut".into()
    } else {
        out.chars().take(64).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sc(steps: &str) -> Result<Shortcut, FormatError> {
        Shortcut::from_json(
            &format!(r#"{{"format": "tabwright-shortcut", "name": "T", "steps": {steps}}}"#),
            "t.json",
        )
    }

    #[test]
    fn unknown_action_names_the_step() {
        let e = sc(r#"[{"action": "navigate", "url": "x"}, {"action": "clik"}]"#).expect_err("bad");
        assert!(
            e.0.contains("step 2 (clik)") && e.0.contains("unknown action"),
            "{e}"
        );
    }

    #[test]
    fn unknown_field_and_missing_target_name_the_step() {
        let e = sc(r#"[{"action": "click", "targte": {}}]"#).expect_err("bad");
        assert!(
            e.0.contains("step 1 (click)") && e.0.contains("targte"),
            "{e}"
        );
        let e = sc(r#"[{"action": "click"}]"#).expect_err("bad");
        assert!(
            e.0.contains("step 1 (click)") && e.0.contains("target"),
            "{e}"
        );
    }

    #[test]
    fn invalid_json_has_line_and_column() {
        let e = Shortcut::from_json("{\n  \"name\": \"x\",\n  \"steps\": [,]\n}", "f.json")
            .expect_err("bad");
        assert!(e.0.contains("line 3 column"), "{e}");
    }

    #[test]
    fn variables_fill_in_and_missing_ones_name_the_step() {
        let mut s = sc(r#"[{"action": "navigate", "url": "{{base}}/a"}, {"action": "type", "text": "{{who}}"}]"#)
            .expect("ok");
        s.variables
            .insert("base".into(), Value::String("http://h".into()));
        let e = s.ops(&BTreeMap::new()).expect_err("who missing");
        assert!(
            e.0.contains("step 2 (type)") && e.0.contains("{{who}}"),
            "{e}"
        );
        let mut o = BTreeMap::new();
        o.insert("who".to_string(), "ada".to_string());
        let ops = s.ops(&o).expect("ops");
        assert!(matches!(&ops[0], Op::Navigate(u) if u == "http://h/a"));
        assert!(matches!(&ops[1], Op::Type(t) if t == "ada"));
    }

    #[test]
    fn slugs() {
        assert_eq!(slug("Sign in & add todo!"), "sign-in-add-todo");
        assert_eq!(slug("  "), "shortcut");
    }
}
