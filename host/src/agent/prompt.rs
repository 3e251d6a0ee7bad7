//! Prompt assembly: the system prompt from sections kept as files (identity, behaviour, tool
//! guidance, security rules), a dynamic environment block, the available skills, and system
//! reminders (the todo list's state) attached to the latest user turn.

use super::todo::TodoList;

const IDENTITY: &str = include_str!("prompts/identity.md");
const BEHAVIOUR: &str = include_str!("prompts/behaviour.md");
const TOOLS: &str = include_str!("prompts/tools.md");
const SECURITY: &str = include_str!("prompts/security.md");

/// Facts about where the agent runs, for the environment block.
#[derive(Debug, Clone, Default)]
pub struct Environment {
    /// Today's date, `YYYY-MM-DD`.
    pub date: String,
    /// `provider:model`.
    pub model: String,
    /// The workspace folder.
    pub workspace: String,
    /// Which browser backend is in use.
    pub browser: String,
    /// The permission mode (`ask` or `auto`).
    pub approve: String,
}

/// Today's date in UTC.
pub fn today() -> String {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    let (y, m, d, ..) = super::transcript::civil(secs);
    format!("{y:04}-{m:02}-{d:02}")
}

/// Characters the skills listing may take in the system prompt (about 1% of a 200k-token
/// context, as Claude Code budgets it).
pub const SKILLS_BUDGET: usize = 8_000;

/// The whole system prompt; `skills` is the catalog's listing
/// ([`crate::skills::Catalog::prompt_section`]), empty when there are none.
pub fn system_prompt(env: &Environment, skills: &str) -> String {
    let mut s = String::new();
    for part in [IDENTITY, BEHAVIOUR, TOOLS, SECURITY] {
        s.push_str(part.trim());
        s.push_str("\n\n");
    }
    s.push_str(&format!(
        "# Environment\n- Date: {}\n- Model: {}\n- Workspace: {}\n- Browser: {}\n- Approvals: {}\n",
        env.date, env.model, env.workspace, env.browser, env.approve
    ));
    if !skills.is_empty() {
        s.push('\n');
        s.push_str(skills);
    }
    s
}

/// The system reminder for the todo list's state, attached to the next user turn when the
/// list is not empty.
pub fn todo_reminder(todo: &TodoList) -> Option<String> {
    if todo.is_empty() {
        return None;
    }
    Some(format!(
        "<system-reminder>\nYour todo list now:\n{}\nKeep it current with TodoWrite.\n</system-reminder>",
        todo.render()
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sections_and_environment_are_in_order() {
        let env = Environment {
            date: "2026-11-23".into(),
            model: "anthropic:m".into(),
            workspace: "/w".into(),
            browser: "launch".into(),
            approve: "ask".into(),
        };
        let p = system_prompt(&env, "");
        let i = p.find("You are Tabwright").expect("identity");
        let b = p.find("# How you work").expect("behaviour");
        let t = p.find("# Tools").expect("tools");
        let s = p.find("# Security").expect("security");
        let e = p.find("- Date: 2026-11-23").expect("env");
        assert!(i < b && b < t && t < s && s < e);
        assert!(!p.contains("# Skills"));
        let p = system_prompt(&env, "# Skills\n<available_skills>\n</available_skills>\n");
        assert!(p.find("- Date:").expect("env") < p.find("<available_skills>").expect("skills"));
    }
}
