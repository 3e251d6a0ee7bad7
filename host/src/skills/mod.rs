//! Skills: folders of instructions (`SKILL.md`, YAML frontmatter + Markdown, with optional
//! `scripts/`, `references/`, `assets/`) the model loads when a task matches.
//!
//! Owns: finding skills in their sources, in order of precedence — the workspace
//! (`.tabwright/skills/`), the user's (`$XDG_CONFIG_HOME/tabwright/skills/`), installed plugins
//! (`plugin:skill`), the built-in ones of this repository's `skills/` (embedded, written out to
//! a cache folder so they have real paths) — checking them ([`parse`]), reporting clashes and
//! broken files without losing the rest ([`Catalog`]), the `<available_skills>` listing for the
//! system prompt within a budget, and the `Skill` tool ([`tool`]).
//!
//! May use: [`crate::runtime`] (the tools, the scope that narrows tools while a skill runs) and
//! [`crate::policy`] (saving a skill is a risk the person confirms).

mod builtin;
pub mod parse;
pub mod tool;

use std::path::{Path, PathBuf};

pub use parse::{Problem, Severity};

/// Where a skill comes from (in order of precedence).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase", tag = "kind", content = "plugin")]
pub enum Source {
    /// The workspace's `.tabwright/skills/`.
    Workspace,
    /// The user's `$XDG_CONFIG_HOME/tabwright/skills/`.
    User,
    /// An installed plugin (its name).
    Plugin(String),
    /// Built into Tabwright.
    Builtin,
}

impl std::fmt::Display for Source {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Source::Workspace => f.write_str("workspace"),
            Source::User => f.write_str("user"),
            Source::Plugin(p) => write!(f, "plugin {p}"),
            Source::Builtin => f.write_str("built-in"),
        }
    }
}

/// A skill found in a source.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Skill {
    /// The name the model and the person use (the folder's name; `plugin:folder` for a
    /// plugin's skill).
    pub name: String,
    /// What it does and when to use it.
    pub description: String,
    /// Claude Code's `when_to_use`, appended in listings.
    pub when_to_use: Option<String>,
    /// Its `SKILL.md`.
    pub location: PathBuf,
    /// Its folder (the base of relative paths in the body).
    pub dir: PathBuf,
    /// Where it comes from.
    pub source: Source,
    /// `allowed-tools`: the tools it narrows the session to while it runs.
    pub allowed_tools: Option<Vec<String>>,
    /// Only the person may start it: not listed to the model.
    pub disable_model_invocation: bool,
    /// The plugin's root folder, for `${TABWRIGHT_PLUGIN_ROOT}`.
    pub plugin_root: Option<PathBuf>,
}

/// The folders skills are looked for in.
#[derive(Debug, Clone, Default)]
pub struct Sources {
    /// `<workspace>/.tabwright/skills`.
    pub workspace: Option<PathBuf>,
    /// `$XDG_CONFIG_HOME/tabwright/skills`.
    pub user: Option<PathBuf>,
    /// Installed plugins: (name, root folder); their skills are in `<root>/skills/`.
    pub plugins: Vec<(String, PathBuf)>,
    /// Whether to include the built-in skills.
    pub builtin: bool,
}

impl Sources {
    /// The standard sources for a workspace: its folder, the user's, the enabled plugins and
    /// the built-in skills.
    pub fn standard(workspace: &Path) -> Sources {
        Sources {
            workspace: Some(workspace.join(".tabwright").join("skills")),
            user: user_dir(),
            plugins: Vec::new(),
            builtin: true,
        }
    }
}

/// `$XDG_CONFIG_HOME/tabwright/skills` (else `~/.config/…`).
pub fn user_dir() -> Option<PathBuf> {
    config_home().map(|c| c.join("tabwright").join("skills"))
}

fn config_home() -> Option<PathBuf> {
    std::env::var_os("XDG_CONFIG_HOME")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".config")))
}

/// The skills found, and what was wrong on the way.
#[derive(Debug, Clone, Default)]
pub struct Catalog {
    skills: Vec<Skill>,
    /// Broken files, clashes and warnings, each naming the file.
    pub problems: Vec<Problem>,
}

/// Most folders looked at per source (a huge folder does not stall start-up).
const MAX_DIRS: usize = 2000;

impl Catalog {
    /// Loads every source; a broken skill is reported and the rest load.
    pub fn load(sources: &Sources) -> Catalog {
        let mut c = Catalog::default();
        if let Some(d) = &sources.workspace {
            c.scan(d, Source::Workspace, None);
        }
        if let Some(d) = &sources.user {
            c.scan(d, Source::User, None);
        }
        for (name, root) in &sources.plugins {
            c.scan(
                &root.join("skills"),
                Source::Plugin(name.clone()),
                Some(root.clone()),
            );
        }
        if sources.builtin {
            match builtin::folder() {
                Ok(d) => c.scan(&d, Source::Builtin, None),
                Err(e) => c.problems.push(Problem {
                    path: PathBuf::from("<built-in skills>"),
                    field: None,
                    message: format!("cannot write the built-in skills out: {e}"),
                    severity: Severity::Warning,
                }),
            }
        }
        c
    }

    /// Every skill, in order of precedence.
    pub fn all(&self) -> &[Skill] {
        &self.skills
    }

    /// The skills the model may start.
    pub fn for_model(&self) -> impl Iterator<Item = &Skill> {
        self.skills.iter().filter(|s| !s.disable_model_invocation)
    }

    /// The skill called `name`.
    pub fn get(&self, name: &str) -> Option<&Skill> {
        self.skills.iter().find(|s| s.name == name)
    }

    /// The errors (not the warnings).
    pub fn errors(&self) -> impl Iterator<Item = &Problem> {
        self.problems
            .iter()
            .filter(|p| p.severity == Severity::Error)
    }

    fn scan(&mut self, dir: &Path, source: Source, plugin_root: Option<PathBuf>) {
        let Ok(rd) = std::fs::read_dir(dir) else {
            return;
        };
        let mut entries: Vec<PathBuf> = rd
            .flatten()
            .map(|e| e.path())
            .filter(|p| p.is_dir())
            .collect();
        entries.sort();
        for folder in entries.into_iter().take(MAX_DIRS) {
            let fname = folder
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            if fname.starts_with('.') || fname == "node_modules" {
                continue;
            }
            let file = ["SKILL.md", "skill.md"]
                .iter()
                .map(|n| folder.join(n))
                .find(|p| p.is_file());
            let Some(file) = file else {
                self.problems.push(Problem {
                    path: folder.clone(),
                    field: None,
                    message: "a folder in a skills directory without SKILL.md: add one (name and \
                              description in YAML frontmatter) or move the folder out"
                        .into(),
                    severity: Severity::Warning,
                });
                continue;
            };
            let text = match std::fs::read_to_string(&file) {
                Ok(t) => t,
                Err(e) => {
                    self.problems.push(Problem {
                        path: file.clone(),
                        field: None,
                        message: format!("cannot read it: {e}"),
                        severity: Severity::Error,
                    });
                    continue;
                }
            };
            let Some(p) = parse::parse(&file, &text, &fname, &mut self.problems) else {
                continue;
            };
            let name = match &source {
                Source::Plugin(plugin) => format!("{plugin}:{fname}"),
                _ => fname.clone(),
            };
            if let Some(first) = self.skills.iter().find(|s| s.name == name) {
                self.problems.push(Problem {
                    path: file.clone(),
                    field: Some("name".into()),
                    message: format!(
                        "`{name}` ({source}) is shadowed by the {} skill of the same name at {}: \
                         rename one of them to use both",
                        first.source,
                        first.location.display()
                    ),
                    severity: Severity::Warning,
                });
                continue;
            }
            let dir = folder.canonicalize().unwrap_or(folder);
            self.skills.push(Skill {
                name,
                description: p.description,
                when_to_use: p.when_to_use,
                location: dir.join(file.file_name().unwrap_or_default()),
                dir,
                source: source.clone(),
                allowed_tools: p.allowed_tools,
                disable_model_invocation: p.disable_model_invocation,
                plugin_root: plugin_root.clone(),
            });
        }
    }

    /// The system prompt's skills section: `<available_skills>` within `budget` characters,
    /// in order of precedence. Entries that do not fit are listed by name only, then counted;
    /// the section says so (the `Skill` tool's parameter still names every skill). Empty when
    /// the model may start no skill.
    pub fn prompt_section(&self, budget: usize) -> String {
        let skills: Vec<&Skill> = self.for_model().collect();
        if skills.is_empty() {
            return String::new();
        }
        let mut s = String::from(
            "# Skills\nSkills are folders of instructions, scripts and resources for particular tasks. \
             When the task matches a skill's description, call the Skill tool with its name before \
             doing anything else, then follow what it says; do not load a skill that is already \
             loaded. Files a skill mentions are relative to its folder and readable with Read.\n\
             <available_skills>\n",
        );
        let start = s.len();
        let mut names_only = 0usize;
        let mut left_out = Vec::new();
        for k in &skills {
            let mut desc = k.description.clone();
            if let Some(w) = &k.when_to_use {
                desc.push(' ');
                desc.push_str(w);
            }
            let desc: String = desc.chars().take(1536).collect();
            let full = format!(
                "<skill><name>{}</name><description>{}</description><location>{}</location></skill>\n",
                esc(&k.name),
                esc(&desc),
                esc(&k.location.display().to_string())
            );
            let short = format!("<skill><name>{}</name></skill>\n", esc(&k.name));
            if s.len() - start + full.len() <= budget && names_only == 0 {
                s.push_str(&full);
            } else if s.len() - start + short.len() <= budget {
                s.push_str(&short);
                names_only += 1;
            } else {
                left_out.push(k.name.clone());
            }
        }
        s.push_str("</available_skills>\n");
        if names_only > 0 || !left_out.is_empty() {
            s.push_str(&format!(
                "Not all skills fit the listing budget ({budget} characters): {names_only} listed by \
                 name only{}. The Skill tool's `skill` parameter names them all; load one to read it.\n",
                if left_out.is_empty() {
                    String::new()
                } else {
                    format!(", {} left out ({})", left_out.len(), left_out.join(", "))
                }
            ));
        }
        s
    }
}

/// Escapes text for the XML-like listing.
fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(dir: &Path, name: &str, text: &str) {
        std::fs::create_dir_all(dir.join(name)).expect("mkdir");
        std::fs::write(dir.join(name).join("SKILL.md"), text).expect("write");
    }

    #[test]
    fn sources_precedence_clashes_and_broken_files() {
        let base = std::env::temp_dir().join(format!("tw-skills-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&base);
        let (ws, user) = (base.join("ws"), base.join("user"));
        write(
            &ws,
            "deploy",
            "---\nname: deploy\ndescription: Deploy the site (workspace).\n---\nws body",
        );
        write(
            &user,
            "deploy",
            "---\nname: deploy\ndescription: Deploy (user).\n---\nuser body",
        );
        write(&user, "broken", "---\nname: broken\ndescription: [x\n---\n");
        write(
            &user,
            "notes",
            "---\nname: notes\ndescription: Take notes.\nauthor: me\n---\n",
        );
        std::fs::create_dir_all(user.join("empty")).expect("mkdir");
        let c = Catalog::load(&Sources {
            workspace: Some(ws),
            user: Some(user.clone()),
            plugins: Vec::new(),
            builtin: false,
        });
        let names: Vec<_> = c.all().iter().map(|s| s.name.as_str()).collect();
        assert_eq!(names, ["deploy", "notes"]);
        assert_eq!(c.get("deploy").expect("deploy").source, Source::Workspace);
        let msgs: Vec<String> = c.problems.iter().map(|p| p.to_string()).collect();
        assert!(
            msgs.iter()
                .any(|m| m.contains("shadowed by the workspace skill")),
            "{msgs:?}"
        );
        assert!(
            msgs.iter()
                .any(|m| m.contains("broken/SKILL.md") && m.contains("not valid YAML")),
            "{msgs:?}"
        );
        assert!(
            msgs.iter()
                .any(|m| m.contains("empty") && m.contains("without SKILL.md")),
            "{msgs:?}"
        );
        assert!(msgs.iter().any(|m| m.contains("`author`")), "{msgs:?}");
        let _ = std::fs::remove_dir_all(&base);
    }

    #[test]
    fn the_listing_keeps_to_its_budget_and_says_so() {
        let mut c = Catalog::default();
        for i in 0..30 {
            c.skills.push(Skill {
                name: format!("skill-{i}"),
                description: "d".repeat(200),
                when_to_use: None,
                location: PathBuf::from(format!("/s/skill-{i}/SKILL.md")),
                dir: PathBuf::from("/s"),
                source: Source::User,
                allowed_tools: None,
                disable_model_invocation: i == 0,
                plugin_root: None,
            });
        }
        let s = c.prompt_section(2000);
        assert!(!s.contains("skill-0<"), "a person-only skill is not listed");
        assert!(s.contains("<name>skill-1</name><description>"));
        assert!(s.contains("listed by name only"), "{s}");
        assert!(s.contains("left out (") && s.contains("skill-29"), "{s}");
        let all = c.prompt_section(100_000);
        assert!(!all.contains("budget"));
        assert_eq!(all.matches("<description>").count(), 29);
    }
}
