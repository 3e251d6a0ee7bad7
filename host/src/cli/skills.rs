//! `tabwright skills list|show NAME|validate PATH|new NAME`.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::Subcommand;

use super::print_out;
use crate::skills::{parse, Catalog, Severity, Sources};

/// What to do with skills.
#[derive(Subcommand, Debug)]
pub enum SkillsCommand {
    /// List the skills of this workspace, the user's, the plugins' and the built-in ones, with
    /// the problems found.
    List {
        /// Print JSON instead of a table.
        #[arg(long)]
        json: bool,
        /// The workspace whose `.tabwright/skills` is searched (default: the current folder).
        #[arg(long)]
        workspace: Option<PathBuf>,
    },
    /// Print one skill: where it is, its frontmatter facts, its files and its instructions.
    Show {
        /// The skill's name.
        name: String,
        /// The workspace whose `.tabwright/skills` is searched (default: the current folder).
        #[arg(long)]
        workspace: Option<PathBuf>,
    },
    /// Check a skill folder (or its SKILL.md) against the Agent Skills specification; exit
    /// status 1 on errors.
    Validate {
        /// The skill's folder or its SKILL.md.
        path: PathBuf,
    },
    /// Create a new skill folder with a SKILL.md to fill in.
    New {
        /// The skill's name (lowercase letters, digits and -).
        name: String,
        /// Where to create it (default: the user's skills folder).
        #[arg(long)]
        dir: Option<PathBuf>,
        /// The description to start with.
        #[arg(long)]
        description: Option<String>,
    },
}

/// Runs a `skills` command.
pub fn run(cmd: SkillsCommand) -> anyhow::Result<ExitCode> {
    let here = || std::env::current_dir().unwrap_or_else(|_| PathBuf::from("."));
    match cmd {
        SkillsCommand::List { json, workspace } => {
            let c = Catalog::load(&with_plugins(Sources::standard(
                &workspace.unwrap_or_else(here),
            )));
            if json {
                let v = serde_json::json!({"skills": c.all(), "problems": c.problems});
                print_out(&serde_json::to_string_pretty(&v)?);
            } else {
                let mut out = String::new();
                if c.all().is_empty() {
                    out.push_str("no skills found\n");
                }
                for s in c.all() {
                    let first: String = s.description.chars().take(90).collect();
                    out.push_str(&format!(
                        "{:<28} {:<12} {}{}\n",
                        s.name,
                        s.source.to_string(),
                        first,
                        if s.description.chars().count() > 90 {
                            "…"
                        } else {
                            ""
                        }
                    ));
                }
                for p in &c.problems {
                    out.push_str(&format!("{p}\n"));
                }
                print_out(out.trim_end());
            }
            Ok(ExitCode::SUCCESS)
        }
        SkillsCommand::Show { name, workspace } => {
            let c = Catalog::load(&with_plugins(Sources::standard(
                &workspace.unwrap_or_else(here),
            )));
            let Some(s) = c.get(&name) else {
                let names: Vec<&str> = c.all().iter().map(|s| s.name.as_str()).collect();
                anyhow::bail!(
                    "no skill named \"{name}\"; the skills are: {} (tabwright skills list)",
                    names.join(", ")
                );
            };
            let text = std::fs::read_to_string(&s.location)?;
            let mut out = format!(
                "name: {}\nsource: {}\nlocation: {}\ndescription: {}\n",
                s.name,
                s.source,
                s.location.display(),
                s.description
            );
            if let Some(t) = &s.allowed_tools {
                out.push_str(&format!("allowed-tools: {}\n", t.join(" ")));
            }
            if s.disable_model_invocation {
                out.push_str("started by the person only (disable-model-invocation)\n");
            }
            for p in c.problems.iter().filter(|p| p.path.starts_with(&s.dir)) {
                out.push_str(&format!("{p}\n"));
            }
            out.push('\n');
            out.push_str(
                parse::split_frontmatter(&text)
                    .map(|(_, b)| b)
                    .unwrap_or(&text),
            );
            print_out(out.trim_end());
            Ok(ExitCode::SUCCESS)
        }
        SkillsCommand::Validate { path } => Ok(validate(&path)),
        SkillsCommand::New {
            name,
            dir,
            description,
        } => {
            if let Some(why) = parse::bad_name(&name) {
                anyhow::bail!("invalid skill name: {why}");
            }
            let base = match dir {
                Some(d) => d,
                None => crate::skills::user_dir()
                    .ok_or_else(|| anyhow::anyhow!("no user folder: set HOME or pass --dir"))?,
            };
            let folder = base.join(&name);
            let file = folder.join("SKILL.md");
            if file.exists() {
                anyhow::bail!(
                    "{} exists already; edit it, or choose another name",
                    file.display()
                );
            }
            let description = description.unwrap_or_else(|| {
                "TODO: what this skill does, and when to use it (the model picks skills by this text).".into()
            });
            #[derive(serde::Serialize)]
            struct Front<'a> {
                name: &'a str,
                description: &'a str,
            }
            let yaml = serde_saphyr::to_string(&Front {
                name: &name,
                description: &description,
            })?;
            std::fs::create_dir_all(&folder)?;
            std::fs::write(
                &file,
                format!(
                    "---\n{}---\n# {name}\n\n1. TODO: the first step, and how to check it worked.\n",
                    yaml
                ),
            )?;
            print_out(&format!(
                "created {}\nedit it, then check it with: tabwright skills validate {}",
                file.display(),
                folder.display()
            ));
            Ok(ExitCode::SUCCESS)
        }
    }
}

/// The sources with the enabled plugins' skills.
fn with_plugins(mut s: Sources) -> Sources {
    s.plugins = crate::plugins::Store::standard().session().skills;
    s
}

/// Checks one skill; prints the findings; 1 when there are errors.
fn validate(path: &Path) -> ExitCode {
    let (folder, file) = if path.is_dir() {
        let f = ["SKILL.md", "skill.md"]
            .iter()
            .map(|n| path.join(n))
            .find(|p| p.is_file())
            .unwrap_or_else(|| path.join("SKILL.md"));
        (path.to_path_buf(), f)
    } else {
        (
            path.parent().map(Path::to_path_buf).unwrap_or_default(),
            path.to_path_buf(),
        )
    };
    let text = match std::fs::read_to_string(&file) {
        Ok(t) => t,
        Err(e) => {
            eprintln!(
                "error: {}: cannot read it ({e}); a skill is a folder with a SKILL.md",
                file.display()
            );
            return ExitCode::from(1);
        }
    };
    let folder_name = folder
        .canonicalize()
        .unwrap_or(folder)
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let mut problems = Vec::new();
    let ok = parse::parse(&file, &text, &folder_name, &mut problems).is_some();
    let lines = text.lines().count();
    if lines > 500 {
        problems.push(crate::skills::Problem {
            path: file.clone(),
            field: None,
            message: format!(
                "{lines} lines; keep SKILL.md under 500 and move detail into references/ files"
            ),
            severity: Severity::Warning,
        });
    }
    for p in &problems {
        eprintln!("{p}");
    }
    let errors = problems
        .iter()
        .filter(|p| p.severity == Severity::Error)
        .count();
    if ok && errors == 0 {
        print_out(&format!("{}: valid", file.display()));
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    }
}
