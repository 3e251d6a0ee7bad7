//! The `Skill` tool (load a skill: its body, its folder and the list of its files, never the
//! files themselves) and `save_skill` (write a new skill after checking it; the person
//! confirms, since a skill is instructions later sessions follow).

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use serde::Deserialize;
use serde_json::{json, Value};

use super::{parse, Catalog, Severity, Skill};
use crate::policy::Effects;
use crate::runtime::{
    parse_args, ActionClass, Invocation, Registry, Tool, ToolContext, ToolError, ToolOutput,
    ToolScope, ToolSpec,
};
use crate::BoxFuture;

/// Adds `Skill` (when the catalog has skills the model may start) and `save_skill` to `r`.
pub fn register(r: &mut Registry, catalog: Arc<Catalog>) {
    let names: Vec<String> = catalog.for_model().map(|s| s.name.clone()).collect();
    if !names.is_empty() {
        r.add(Arc::new(SkillTool {
            spec: skill_spec(&names),
            catalog,
        }));
    }
    r.add(Arc::new(SaveSkill { spec: save_spec() }));
}

/// The skills loaded in this session (a [`crate::runtime::State`] value).
#[derive(Default)]
pub struct Loaded(Mutex<HashSet<String>>);

impl Loaded {
    /// Whether `name` was loaded; marks it.
    fn first_time(&self, name: &str) -> bool {
        match self.0.lock() {
            Ok(mut g) => g.insert(name.to_string()),
            Err(p) => p.into_inner().insert(name.to_string()),
        }
    }

    /// Forgets what was loaded (a new task).
    pub fn clear(&self) {
        match self.0.lock() {
            Ok(mut g) => g.clear(),
            Err(p) => p.into_inner().clear(),
        }
    }
}

fn skill_spec(names: &[String]) -> ToolSpec {
    ToolSpec::new(
        "Skill",
        "Load a skill: its instructions, its folder and the list of its files. When the task matches a \
         skill in the system prompt's <available_skills>, call this FIRST, before anything else, then \
         follow the instructions it returns. Never mention a skill without loading it; do not load one \
         that is already loaded in this task. Files it lists are relative to its folder and readable \
         with Read.",
        json!({
            "type": "object",
            "properties": {
                "skill": {"type": "string", "enum": names, "description": "The skill's name."},
                "args": {"type": "string", "description": "Arguments for the skill, if it takes any."}
            },
            "required": ["skill"],
            "additionalProperties": false
        }),
        ActionClass::Read,
    )
    .trusted()
    .serial()
}

struct SkillTool {
    spec: ToolSpec,
    catalog: Arc<Catalog>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SkillArgs {
    skill: String,
    args: Option<String>,
}

impl Tool for SkillTool {
    fn spec(&self) -> &ToolSpec {
        &self.spec
    }

    fn parse(&self, args: Value) -> Result<Box<dyn Invocation>, ToolError> {
        let a: SkillArgs = parse_args("Skill", args)?;
        let skill = self.catalog.get(&a.skill).cloned().ok_or_else(|| {
            ToolError(format!(
                "no skill named \"{}\"; the skills are: {}",
                a.skill,
                self.catalog
                    .for_model()
                    .map(|s| s.name.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            ))
        })?;
        if skill.disable_model_invocation {
            return Err(ToolError(format!(
                "the skill \"{}\" is started by the person only (disable-model-invocation)",
                skill.name
            )));
        }
        Ok(Box::new(LoadSkill {
            skill,
            args: a.args,
        }))
    }
}

struct LoadSkill {
    skill: Skill,
    args: Option<String>,
}

impl Invocation for LoadSkill {
    fn effects<'a>(&'a self, _ctx: &'a ToolContext) -> BoxFuture<'a, Effects> {
        Box::pin(async { Effects::default() })
    }

    fn run<'a>(
        self: Box<Self>,
        ctx: &'a ToolContext,
    ) -> BoxFuture<'a, Result<ToolOutput, ToolError>> {
        Box::pin(async move { load(ctx, &self.skill, self.args.as_deref()) })
    }
}

/// The skill's content for the model: read now (a hand edit since start-up counts).
fn load(ctx: &ToolContext, skill: &Skill, args: Option<&str>) -> Result<ToolOutput, ToolError> {
    let loaded = ctx.state().get_or_default::<Loaded>();
    if !loaded.first_time(&skill.name) {
        return Ok(ToolOutput::text(format!(
            "The skill \"{}\" is already loaded above in this task; follow it.",
            skill.name
        )));
    }
    let text = std::fs::read_to_string(&skill.location).map_err(|e| {
        ToolError(format!(
            "cannot read the skill \"{}\" ({}): {e}",
            skill.name,
            skill.location.display()
        ))
    })?;
    let body = parse::split_frontmatter(&text)
        .map(|(_, b)| b)
        .unwrap_or(&text);
    let body = substitute(body, skill, ctx.workspace(), args);
    if let Some(rules) = &skill.allowed_tools {
        ctx.state()
            .get_or_default::<ToolScope>()
            .narrow(format!("the skill {}", skill.name), rules.clone());
    }
    let files = bundled(&skill.dir);
    let mut out = format!(
        "<skill_content name=\"{}\">\nBase directory for this skill: {}\n\n{}\n",
        skill.name,
        skill.dir.display(),
        body.trim_end()
    );
    if !files.is_empty() {
        out.push_str("<skill_resources>\n");
        for f in &files {
            out.push_str(&format!("<file>{f}</file>\n"));
        }
        out.push_str("</skill_resources>\n");
    }
    if let Some(rules) = &skill.allowed_tools {
        out.push_str(&format!(
            "While this skill runs you may use only: {} (and Skill, TodoWrite, AskUserQuestion).\n",
            rules.join(" ")
        ));
    }
    out.push_str("</skill_content>");
    Ok(ToolOutput::text(out))
}

/// `$ARGUMENTS`, `$N`, and the folder variables (Claude Code's names accepted too).
fn substitute(body: &str, skill: &Skill, workspace: &Path, args: Option<&str>) -> String {
    let dir = skill.dir.display().to_string();
    let ws = workspace.display().to_string();
    let mut s = body.to_string();
    for (k, v) in [
        ("${TABWRIGHT_SKILL_DIR}", dir.as_str()),
        ("${CLAUDE_SKILL_DIR}", dir.as_str()),
        ("${TABWRIGHT_WORKSPACE}", ws.as_str()),
        ("${CLAUDE_PROJECT_DIR}", ws.as_str()),
    ] {
        s = s.replace(k, v);
    }
    if let Some(root) = &skill.plugin_root {
        let root = root.display().to_string();
        s = s
            .replace("${TABWRIGHT_PLUGIN_ROOT}", &root)
            .replace("${CLAUDE_PLUGIN_ROOT}", &root);
    }
    let args = args.unwrap_or("").trim();
    if s.contains("$ARGUMENTS") {
        let words: Vec<&str> = args.split_whitespace().collect();
        for (i, w) in words.iter().enumerate().rev() {
            s = s.replace(&format!("$ARGUMENTS[{i}]"), w);
        }
        s = s.replace("$ARGUMENTS", args);
    } else if !args.is_empty() {
        s.push_str(&format!("\n\nARGUMENTS: {args}\n"));
    }
    s
}

/// The skill's files (relative paths, `SKILL.md` left out), at most 200, four levels deep.
fn bundled(dir: &Path) -> Vec<String> {
    let mut out = Vec::new();
    let mut stack = vec![(dir.to_path_buf(), 0usize)];
    while let Some((d, depth)) = stack.pop() {
        let Ok(rd) = std::fs::read_dir(&d) else {
            continue;
        };
        let mut entries: Vec<_> = rd.flatten().collect();
        entries.sort_by_key(|e| e.file_name());
        for e in entries {
            let p = e.path();
            let name = e.file_name().to_string_lossy().into_owned();
            if name.starts_with('.') || name == "node_modules" || name == "__pycache__" {
                continue;
            }
            let Ok(t) = e.file_type() else { continue };
            if t.is_dir() && depth < 4 {
                stack.push((p, depth + 1));
            } else if t.is_file() && !(depth == 0 && (name == "SKILL.md" || name == "skill.md")) {
                if let Ok(rel) = p.strip_prefix(dir) {
                    out.push(rel.display().to_string());
                }
            }
            if out.len() >= 200 {
                return out;
            }
        }
    }
    out.sort();
    out
}

// ---- save_skill ----

fn save_spec() -> ToolSpec {
    ToolSpec::new(
        "save_skill",
        "Save a new skill (the skill-creator skill says how to write one): `content` is the whole SKILL.md \
         (YAML frontmatter with name and description, then the Markdown instructions). It is checked against \
         the Agent Skills specification first; problems come back and nothing is written until they are fixed. \
         scope \"user\" (default: every workspace) or \"workspace\" (.tabwright/skills of this workspace). The \
         person confirms, since later sessions follow what a skill says. An existing skill is replaced only \
         with replace: true.",
        json!({
            "type": "object",
            "properties": {
                "name": {"type": "string", "description": "The skill's name: lowercase letters, digits and -; also its folder."},
                "content": {"type": "string", "description": "The whole SKILL.md."},
                "scope": {"type": "string", "enum": ["user", "workspace"]},
                "replace": {"type": "boolean"}
            },
            "required": ["name", "content"],
            "additionalProperties": false
        }),
        ActionClass::Risky,
    )
    .trusted()
    .serial()
}

struct SaveSkill {
    spec: ToolSpec,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SaveArgs {
    name: String,
    content: String,
    scope: Option<String>,
    replace: Option<bool>,
}

impl Tool for SaveSkill {
    fn spec(&self) -> &ToolSpec {
        &self.spec
    }

    fn parse(&self, args: Value) -> Result<Box<dyn Invocation>, ToolError> {
        let a: SaveArgs = parse_args("save_skill", args)?;
        if let Some(why) = parse::bad_name(&a.name) {
            return Err(ToolError(format!("invalid skill name: {why}")));
        }
        // Checked before anyone is asked: a skill with errors is never offered for saving.
        let mut problems = Vec::new();
        let file = PathBuf::from(format!("{}/SKILL.md", a.name));
        let parsed = parse::parse(&file, &a.content, &a.name, &mut problems);
        let errors: Vec<String> = problems
            .iter()
            .filter(|p| p.severity == Severity::Error)
            .map(|p| p.to_string())
            .collect();
        if parsed.is_none() || !errors.is_empty() {
            return Err(ToolError(format!(
                "the skill was not saved; fix these and call save_skill again:\n{}",
                if errors.is_empty() {
                    problems
                        .iter()
                        .map(|p| p.to_string())
                        .collect::<Vec<_>>()
                        .join("\n")
                } else {
                    errors.join("\n")
                }
            )));
        }
        let warnings: Vec<String> = problems.iter().map(|p| p.to_string()).collect();
        Ok(Box::new(SaveCall { a, warnings }))
    }
}

struct SaveCall {
    a: SaveArgs,
    warnings: Vec<String>,
}

impl SaveCall {
    fn target(&self, ctx: &ToolContext) -> Result<PathBuf, ToolError> {
        let base = match self.a.scope.as_deref().unwrap_or("user") {
            "workspace" => ctx.workspace().join(".tabwright").join("skills"),
            _ => super::user_dir().ok_or_else(|| {
                ToolError::new("no user folder for skills: set HOME or XDG_CONFIG_HOME")
            })?,
        };
        Ok(base.join(&self.a.name))
    }
}

impl Invocation for SaveCall {
    fn effects<'a>(&'a self, ctx: &'a ToolContext) -> BoxFuture<'a, Effects> {
        Box::pin(async move {
            let mut e = Effects::default();
            let dir = self
                .target(ctx)
                .map(|d| d.display().to_string())
                .unwrap_or_default();
            e.risk = Some((
                crate::policy::rules::RiskKind::AgentSettings,
                format!(
                    "save the skill \"{}\" to {dir} (later sessions follow its instructions)",
                    self.a.name
                ),
            ));
            e
        })
    }

    fn run<'a>(
        self: Box<Self>,
        ctx: &'a ToolContext,
    ) -> BoxFuture<'a, Result<ToolOutput, ToolError>> {
        Box::pin(async move {
            let dir = self.target(ctx)?;
            let file = dir.join("SKILL.md");
            if file.exists() && self.a.replace != Some(true) {
                return Err(ToolError(format!(
                    "a skill named \"{}\" exists at {}; choose another name, or pass replace: true to overwrite it",
                    self.a.name,
                    file.display()
                )));
            }
            std::fs::create_dir_all(&dir)
                .and_then(|()| std::fs::write(&file, &self.a.content))
                .map_err(|e| ToolError(format!("cannot write {}: {e}", file.display())))?;
            let mut out = format!(
                "Saved the skill \"{}\" to {}. It is available from the next session.",
                self.a.name,
                file.display()
            );
            for w in &self.warnings {
                out.push_str(&format!("\n{w}"));
            }
            Ok(ToolOutput::text(out))
        })
    }
}
