//! Narrowing the tools a session may call ([`ToolScope`]): set by whoever narrows (a skill's
//! `allowed-tools` while it runs), enforced at the door for every call and used by the loop to
//! show the model only what it may call. A scope only ever narrows: a second narrowing keeps
//! what both allow.

use std::sync::Mutex;

use serde_json::Value;

/// Tools that stay callable under any scope: loading skills, the task list, asking the person.
pub const ALWAYS: &[&str] = &["Skill", "TodoWrite", "AskUserQuestion"];

/// The session's narrowing (a [`super::State`] value); empty: every tool.
#[derive(Debug, Default)]
pub struct ToolScope(Mutex<Vec<Narrowing>>);

/// One narrowing: who set it and the rules it allows (`Read`, `Bash(git:*)`).
#[derive(Debug, Clone)]
pub struct Narrowing {
    /// Who narrowed (`skill pdf-tools`).
    pub by: String,
    /// The allowed rules.
    pub rules: Vec<String>,
}

impl ToolScope {
    fn list(&self) -> std::sync::MutexGuard<'_, Vec<Narrowing>> {
        match self.0.lock() {
            Ok(g) => g,
            Err(p) => p.into_inner(),
        }
    }

    /// Adds a narrowing (kept together with any already in force).
    pub fn narrow(&self, by: impl Into<String>, rules: Vec<String>) {
        self.list().push(Narrowing {
            by: by.into(),
            rules,
        });
    }

    /// Lifts every narrowing (the task that set them ended).
    pub fn clear(&self) {
        self.list().clear();
    }

    /// Whether any narrowing is in force.
    pub fn is_narrowed(&self) -> bool {
        !self.list().is_empty()
    }

    /// Whether the tool `name` may be offered at all.
    pub fn offers(&self, name: &str) -> bool {
        ALWAYS.contains(&name)
            || self
                .list()
                .iter()
                .all(|n| n.rules.iter().any(|r| rule_tool(r) == name))
    }

    /// Whether this call is allowed; the refusal, worded for the model, when not.
    pub fn permits(&self, name: &str, args: &Value) -> Result<(), String> {
        if ALWAYS.contains(&name) {
            return Ok(());
        }
        for n in self.list().iter() {
            if !n.rules.iter().any(|r| rule_matches(r, name, args)) {
                return Err(format!(
                    "{name} is not allowed while {} runs: it allows only {} (and {}). Use one of \
                     those, or finish the skill's task first.",
                    n.by,
                    n.rules.join(" "),
                    ALWAYS.join(", ")
                ));
            }
        }
        Ok(())
    }
}

/// The tool a rule names (`Bash(git:*)` → `Bash`).
fn rule_tool(rule: &str) -> &str {
    rule.split('(').next().unwrap_or(rule).trim()
}

/// Whether `rule` allows calling `name` with `args`. `Bash(PREFIX:*)` allows commands each of
/// whose parts (split on `;`, `&&`, `||`, `|`, newlines) starts with the word PREFIX;
/// `Bash(COMMAND)` that exact command; a pattern on another tool allows the tool.
fn rule_matches(rule: &str, name: &str, args: &Value) -> bool {
    if rule_tool(rule) != name {
        return false;
    }
    let Some(pattern) = rule.split_once('(').and_then(|(_, p)| p.strip_suffix(')')) else {
        return true;
    };
    if name != "Bash" {
        return true;
    }
    let command = args.get("command").and_then(Value::as_str).unwrap_or("");
    if let Some(prefix) = pattern
        .strip_suffix(":*")
        .or_else(|| pattern.strip_suffix(" *"))
    {
        // Substitutions, subshells, function definitions, groups and redirections could run
        // or write anything: not allowed under a prefix rule.
        if command
            .chars()
            .any(|c| matches!(c, '`' | '(' | ')' | '{' | '}' | '<' | '>' | '$'))
        {
            return false;
        }
        let parts = command
            .split(['\n', ';', '|', '&'])
            .map(str::trim)
            .filter(|p| !p.is_empty());
        let mut any = false;
        for p in parts {
            any = true;
            if p != prefix && !p.starts_with(&format!("{prefix} ")) {
                return false;
            }
            // Options that make a program run another one (git -c alias.x=!sh, --exec-path…).
            if p.split_whitespace().skip(1).any(|w| {
                w == "-c"
                    || w.starts_with("--exec-path")
                    || w.starts_with("--config-env")
                    || w.starts_with("-c=")
            }) {
                return false;
            }
        }
        return any;
    }
    command.trim() == pattern
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn narrowing_only_narrows_and_bash_prefixes_hold() {
        let s = ToolScope::default();
        assert!(s.permits("Write", &json!({})).is_ok());
        s.narrow(
            "skill a",
            vec!["Read".into(), "Bash(git:*)".into(), "Grep".into()],
        );
        assert!(s.permits("Read", &json!({})).is_ok());
        assert!(s.permits("Skill", &json!({})).is_ok());
        let e = s.permits("Write", &json!({})).expect_err("narrowed");
        assert!(e.contains("skill a") && e.contains("Bash(git:*)"), "{e}");
        assert!(s.permits("Bash", &json!({"command": "git status"})).is_ok());
        assert!(s
            .permits("Bash", &json!({"command": "git log | git shortlog"}))
            .is_ok());
        for bad in [
            "rm -rf x",
            "git status; rm -rf x",
            "git $(rm x)",
            "gitx",
            "git status && curl x",
            "echo `id`",
        ] {
            assert!(
                s.permits("Bash", &json!({"command": bad})).is_err(),
                "{bad}"
            );
        }
        assert!(s.offers("Grep") && !s.offers("Write") && s.offers("TodoWrite"));
        // A second skill cannot widen: both must allow.
        s.narrow("skill b", vec!["Write".into(), "Read".into()]);
        assert!(s.permits("Write", &json!({})).is_err());
        assert!(s.permits("Read", &json!({})).is_ok());
        s.clear();
        assert!(s.permits("Write", &json!({})).is_ok());
    }
}
