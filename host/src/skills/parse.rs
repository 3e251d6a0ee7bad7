//! One `SKILL.md`: its YAML frontmatter checked against the Agent Skills specification (the six
//! keys), Claude Code's extra keys accepted with a warning, anything else a problem that names
//! the file, the field and the fix.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde_json::Value;

/// The keys of the Agent Skills specification.
pub const SPEC_KEYS: &[&str] = &[
    "name",
    "description",
    "license",
    "compatibility",
    "metadata",
    "allowed-tools",
];

/// Keys Claude Code adds: accepted (some acted on), with a warning that other clients reject
/// them.
pub const CLAUDE_CODE_KEYS: &[&str] = &[
    "when_to_use",
    "argument-hint",
    "arguments",
    "disable-model-invocation",
    "user-invocable",
    "disallowed-tools",
    "model",
    "effort",
    "context",
    "agent",
    "background",
    "hooks",
    "paths",
    "shell",
    "version",
];

/// How bad a finding is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// The skill loads; another client may not accept it.
    Warning,
    /// The file breaks the specification (`skills validate` fails); where the skill can
    /// still be used it loads.
    Error,
}

/// A finding about one file.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Problem {
    /// The file (or folder) concerned.
    pub path: PathBuf,
    /// The frontmatter field, when one is at fault.
    pub field: Option<String>,
    /// What is wrong and how to fix it.
    pub message: String,
    /// How bad.
    pub severity: Severity,
}

impl std::fmt::Display for Problem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let sev = match self.severity {
            Severity::Warning => "warning",
            Severity::Error => "error",
        };
        match &self.field {
            Some(k) => write!(f, "{sev}: {}: `{k}`: {}", self.path.display(), self.message),
            None => write!(f, "{sev}: {}: {}", self.path.display(), self.message),
        }
    }
}

/// A parsed `SKILL.md`.
#[derive(Debug, Clone)]
pub struct Parsed {
    /// `name` from the frontmatter (may differ from the folder's; see the problems).
    pub name: String,
    /// `description`.
    pub description: String,
    /// Claude Code's `when_to_use`, appended to the description in listings.
    pub when_to_use: Option<String>,
    /// `allowed-tools`, split (space- or comma-separated string, or a list).
    pub allowed_tools: Option<Vec<String>>,
    /// `disable-model-invocation`: only the person may start it (not listed to the model).
    pub disable_model_invocation: bool,
    /// `license`, `compatibility`, `metadata`: kept for `skills show`.
    pub extra: BTreeMap<String, Value>,
    /// The Markdown after the frontmatter.
    pub body: String,
}

/// Splits `text` into its frontmatter and body; `None` when it does not start with `---`.
pub fn split_frontmatter(text: &str) -> Option<(&str, &str)> {
    let t = text.strip_prefix('\u{feff}').unwrap_or(text);
    let rest = t
        .strip_prefix("---\n")
        .or_else(|| t.strip_prefix("---\r\n"))?;
    let mut offset = 0;
    for line in rest.split_inclusive('\n') {
        if line.trim_end() == "---" {
            let body = &rest[offset + line.len()..];
            return Some((&rest[..offset], body));
        }
        offset += line.len();
    }
    None
}

/// Parses and checks one `SKILL.md` whose folder is named `folder`. `None` when the skill
/// cannot be used at all (no frontmatter, unreadable YAML, no description); the problems found
/// either way go to `problems`.
pub fn parse(path: &Path, text: &str, folder: &str, problems: &mut Vec<Problem>) -> Option<Parsed> {
    let problem = |field: Option<&str>, message: String, severity: Severity| Problem {
        path: path.to_path_buf(),
        field: field.map(str::to_string),
        message,
        severity,
    };
    let Some((yaml, body)) = split_frontmatter(text) else {
        problems.push(problem(
            None,
            "no YAML frontmatter: the file must start with a line `---`, then `name:` and \
             `description:`, then a line `---`"
                .into(),
            Severity::Error,
        ));
        return None;
    };
    let map: BTreeMap<String, Value> =
        match serde_saphyr::from_str::<Option<BTreeMap<String, Value>>>(yaml) {
            Ok(m) => m.unwrap_or_default(),
            Err(e) => {
                let first = e.to_string();
                let first = first.lines().next().unwrap_or("").to_string();
                problems.push(problem(
                    None,
                    format!(
                    "the frontmatter is not valid YAML ({first}); quote values that contain `: ` \
                     or start with a special character"
                ),
                    Severity::Error,
                ));
                return None;
            }
        };
    for key in map.keys() {
        if SPEC_KEYS.contains(&key.as_str()) {
            continue;
        }
        if CLAUDE_CODE_KEYS.contains(&key.as_str()) {
            problems.push(problem(
                Some(key),
                "a Claude Code extension, not in the Agent Skills specification: Tabwright \
                 accepts it, other clients may reject the skill"
                    .into(),
                Severity::Warning,
            ));
        } else {
            problems.push(problem(
                Some(key),
                format!(
                    "unknown key; the specification allows only {}: move it under `metadata:`",
                    SPEC_KEYS.join(", ")
                ),
                Severity::Error,
            ));
        }
    }
    let text_of = |k: &str| -> Option<String> {
        match map.get(k)? {
            Value::String(s) => Some(s.clone()),
            Value::Null => None,
            other => Some(other.to_string()),
        }
    };
    let name = text_of("name").unwrap_or_default();
    if name.is_empty() {
        problems.push(problem(
            Some("name"),
            format!("missing: add `name: {folder}` (the folder's name)"),
            Severity::Error,
        ));
    } else {
        if let Some(why) = bad_name(&name) {
            problems.push(problem(Some("name"), why, Severity::Error));
        }
        if name != folder {
            problems.push(problem(
                Some("name"),
                format!(
                    "`{name}` does not match its folder `{folder}`: rename one so they agree \
                     (the skill is known as `{folder}`)"
                ),
                Severity::Error,
            ));
        }
    }
    let description = text_of("description").unwrap_or_default();
    if description.trim().is_empty() {
        problems.push(problem(
            Some("description"),
            "missing or empty: say what the skill does and when to use it (the model picks \
             skills by it)"
                .into(),
            Severity::Error,
        ));
        return None;
    }
    if description.chars().count() > 1024 {
        problems.push(problem(
            Some("description"),
            format!(
                "{} characters; at most 1024: shorten it and move detail into the body",
                description.chars().count()
            ),
            Severity::Error,
        ));
    }
    if description.contains('<') || description.contains('>') {
        problems.push(problem(
            Some("description"),
            "contains `<` or `>`, which skill uploads reject: reword it".into(),
            Severity::Error,
        ));
    }
    if let Some(c) = text_of("compatibility") {
        if c.chars().count() > 500 {
            problems.push(problem(
                Some("compatibility"),
                "over 500 characters: shorten it".into(),
                Severity::Error,
            ));
        }
    }
    if let Some(m) = map.get("metadata") {
        if !m.is_object() {
            problems.push(problem(
                Some("metadata"),
                "must be a map of keys to strings, e.g. `metadata:\n  author: me`".into(),
                Severity::Error,
            ));
        }
    }
    let allowed_tools = match map.get("allowed-tools") {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) => Some(split_tools(s)),
        Some(Value::Array(a)) => Some(
            a.iter()
                .filter_map(|v| v.as_str().map(str::to_string))
                .collect(),
        ),
        Some(_) => {
            problems.push(problem(
                Some("allowed-tools"),
                "must be a space-separated string such as `Read Grep Bash(git:*)`".into(),
                Severity::Error,
            ));
            None
        }
    };
    let truthy = |k: &str| {
        matches!(map.get(k), Some(Value::Bool(true)))
            || matches!(map.get(k), Some(Value::String(s)) if matches!(s.to_ascii_lowercase().as_str(), "true" | "yes" | "on" | "1"))
    };
    let mut extra = BTreeMap::new();
    for k in ["license", "compatibility", "metadata"] {
        if let Some(v) = map.get(k) {
            extra.insert(k.to_string(), v.clone());
        }
    }
    Some(Parsed {
        name,
        description,
        when_to_use: text_of("when_to_use"),
        allowed_tools,
        disable_model_invocation: truthy("disable-model-invocation"),
        extra,
        body: body.to_string(),
    })
}

/// Why `name` breaks the specification's rules, if it does.
pub fn bad_name(name: &str) -> Option<String> {
    if name.chars().count() > 64 {
        return Some(format!("{} characters; at most 64", name.chars().count()));
    }
    if !name
        .chars()
        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
    {
        return Some(format!(
            "`{name}`: only lowercase letters, digits and `-` (e.g. `{}`)",
            kebab(name)
        ));
    }
    if name.starts_with('-') || name.ends_with('-') || name.contains("--") {
        return Some(format!(
            "`{name}`: no leading, trailing or doubled `-` (e.g. `{}`)",
            kebab(name)
        ));
    }
    None
}

/// `name` in lowercase kebab-case (`Daily Inbox Summary` → `daily-inbox-summary`).
pub fn kebab(name: &str) -> String {
    let mut out = String::new();
    for c in name.chars() {
        if c.is_ascii_alphanumeric() {
            out.push(c.to_ascii_lowercase());
        } else if !out.ends_with('-') && !out.is_empty() {
            out.push('-');
        }
    }
    out.trim_end_matches('-')
        .chars()
        .take(64)
        .collect::<String>()
        .trim_end_matches('-')
        .to_string()
}

/// `allowed-tools` split on spaces and commas, keeping `Tool(pattern with spaces)` whole.
fn split_tools(s: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut depth = 0usize;
    for c in s.chars() {
        match c {
            '(' => {
                depth += 1;
                cur.push(c);
            }
            ')' => {
                depth = depth.saturating_sub(1);
                cur.push(c);
            }
            ' ' | ',' | '\t' | '\n' if depth == 0 => {
                if !cur.is_empty() {
                    out.push(std::mem::take(&mut cur));
                }
            }
            _ => cur.push(c),
        }
    }
    if !cur.is_empty() {
        out.push(cur);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(text: &str, folder: &str) -> (Option<Parsed>, Vec<Problem>) {
        let mut p = Vec::new();
        let r = parse(Path::new("/s/x/SKILL.md"), text, folder, &mut p);
        (r, p)
    }

    #[test]
    fn a_good_skill_has_no_problems() {
        let (r, p) = run(
            "---\nname: pdf-tools\ndescription: Fill PDF forms. Use when a PDF is involved.\nlicense: MIT\nmetadata:\n  author: me\nallowed-tools: Read Bash(pdftotext:*), Grep\n---\n# Body\n",
            "pdf-tools",
        );
        let s = r.expect("parsed");
        assert!(p.is_empty(), "{p:?}");
        assert_eq!(s.body, "# Body\n");
        assert_eq!(
            s.allowed_tools.expect("tools"),
            ["Read", "Bash(pdftotext:*)", "Grep"]
        );
    }

    #[test]
    fn bad_input_names_the_field_and_the_fix() {
        let (r, p) = run("# no frontmatter", "x");
        assert!(r.is_none() && p[0].message.contains("no YAML frontmatter"));
        let (r, p) = run("---\nname: x\ndescription: [unclosed\n---\n", "x");
        assert!(
            r.is_none() && p[0].message.contains("not valid YAML"),
            "{p:?}"
        );
        let (r, p) = run(
            "---\nname: Other_Name\ndescription: d\nauthor: me\nuser-invocable: false\n---\n",
            "x",
        );
        assert!(r.is_some());
        let msgs: Vec<String> = p.iter().map(|p| p.to_string()).collect();
        assert!(
            msgs.iter()
                .any(|m| m.contains("`author`") && m.contains("metadata")),
            "{msgs:?}"
        );
        assert!(
            msgs.iter()
                .any(|m| m.starts_with("warning") && m.contains("`user-invocable`")),
            "{msgs:?}"
        );
        assert!(
            msgs.iter()
                .any(|m| m.contains("`name`") && m.contains("lowercase")),
            "{msgs:?}"
        );
        assert!(
            msgs.iter()
                .any(|m| m.contains("does not match its folder `x`")),
            "{msgs:?}"
        );
        let (r, p) = run("---\nname: x\n---\nbody", "x");
        assert!(r.is_none() && p.iter().any(|p| p.field.as_deref() == Some("description")));
        let long = "d".repeat(1100);
        let (_, p) = run(&format!("---\nname: x\ndescription: {long}\n---\n"), "x");
        assert!(p.iter().any(|p| p.message.contains("at most 1024")));
    }

    #[test]
    fn names_and_kebab_case() {
        assert!(bad_name("a--b").is_some());
        assert!(bad_name("-a").is_some());
        assert!(bad_name(&"a".repeat(65)).is_some());
        assert!(bad_name("ok-name-2").is_none());
        assert_eq!(kebab("Daily Inbox  Summary!"), "daily-inbox-summary");
    }
}
