//! `tabwright replay FILE`: replays a shortcut or a Chrome DevTools Recorder JSON file with no
//! model. Progress per step on stderr (✓/✗/HEALED with ms on a terminal, plain words
//! otherwise), the report on stdout, optional JUnit XML and GIF. Exit status 0 only when
//! every step and assertion passed; 1 when the replay failed; 2 for bad input.

use std::collections::BTreeMap;
use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use super::BrowserArgs;
use crate::browser::{Backend, Browser};
use crate::host::Host;
use crate::shortcuts::replay::{self, step_line, Options, Status};
use crate::shortcuts::store::{self, Store};
use crate::shortcuts::{junit, load_file, recorder_json, FormatError, Shortcut};

/// What `tabwright replay` was asked to do.
#[derive(clap::Args, Debug, Clone)]
pub struct ReplayArgs {
    /// The files (or ids / names of saved shortcuts), replayed in order.
    #[arg(required = true, value_name = "FILE")]
    pub files: Vec<String>,
    /// Record the replay as a GIF at this path.
    #[arg(long, value_name = "OUT.gif")]
    pub gif: Option<PathBuf>,
    /// Write a JUnit XML report here.
    #[arg(long, value_name = "REPORT.xml")]
    pub junit: Option<PathBuf>,
    /// Set a variable: --var name=value (repeatable).
    #[arg(long = "var", value_name = "NAME=VALUE")]
    pub vars: Vec<String>,
    /// Serve this folder with the built-in fixture server and set {{base_url}} to it.
    #[arg(long, value_name = "DIR")]
    pub serve: Option<PathBuf>,
    /// Where failure screenshots go (default: recordings/).
    #[arg(long, value_name = "DIR")]
    pub artifacts: Option<PathBuf>,
    /// Do not replay: write the shortcut as Chrome DevTools Recorder JSON to this file.
    #[arg(long, value_name = "OUT.json")]
    pub export_recorder: Option<PathBuf>,
    /// Per-step timeout in milliseconds (default 5000 or the file's own).
    #[arg(long, value_name = "MS")]
    pub timeout: Option<u64>,
    /// The shortcuts folder, for saved shortcuts given by name.
    #[arg(long, env = "TABWRIGHT_SHORTCUTS_DIR", value_name = "DIR")]
    pub shortcuts_dir: Option<PathBuf>,
    /// The browser to replay in.
    #[command(flatten)]
    pub browser: BrowserArgs,
}

fn bad(msg: impl std::fmt::Display) -> ExitCode {
    eprintln!("tabwright replay: {msg}");
    ExitCode::from(2)
}

/// Parses `name=value` pairs.
pub fn parse_vars(pairs: &[String]) -> Result<BTreeMap<String, String>, String> {
    let mut out = BTreeMap::new();
    for p in pairs {
        let Some((k, v)) = p.split_once('=') else {
            return Err(format!("--var {p}: expected name=value"));
        };
        if k.trim().is_empty() {
            return Err(format!("--var {p}: the name is empty"));
        }
        out.insert(k.trim().to_string(), v.to_string());
    }
    Ok(out)
}

/// Loads FILE, or a saved shortcut of that id/name when no such file exists.
pub fn load(file: &str) -> Result<Shortcut, FormatError> {
    let path = Path::new(file);
    if path.exists() {
        return load_file(path);
    }
    let looks_like_path = file.contains('/') || file.ends_with(".json");
    match Store::at(store::default_dir()).find(file) {
        Ok((_, sc)) => Ok(sc),
        Err(_) if looks_like_path => load_file(path),
        Err(e) => Err(FormatError(format!(
            "cannot read {file}: no such file, and {}",
            e.0
        ))),
    }
}

/// Runs `tabwright replay`.
pub async fn run(args: ReplayArgs) -> anyhow::Result<ExitCode> {
    if let Some(dir) = &args.shortcuts_dir {
        crate::shortcuts::store::set_process_dir(dir.clone());
    }
    let backend = args.browser.backend().map_err(anyhow::Error::msg)?;
    let workspace = args.browser.workspace();
    Ok(replay(args, backend, workspace).await)
}

async fn replay(args: ReplayArgs, backend: Backend, workspace: PathBuf) -> ExitCode {
    let mut vars = match parse_vars(&args.vars) {
        Ok(v) => v,
        Err(e) => return bad(e),
    };
    if args.files.is_empty() {
        return bad("no file to replay");
    }
    let mut shortcuts = Vec::new();
    for f in &args.files {
        match load(f) {
            Ok(sc) => shortcuts.push((f.clone(), sc)),
            Err(e) => return bad(e),
        }
    }
    if let Some(out) = &args.export_recorder {
        let [(_, sc)] = shortcuts.as_slice() else {
            return bad("--export-recorder takes exactly one file");
        };
        return match recorder_json::export(sc, &vars) {
            Ok((json, notes)) => {
                for n in notes {
                    eprintln!("tabwright replay: note: {n}");
                }
                let text = serde_json::to_string_pretty(&json).unwrap_or_default();
                match store::write_atomic(out, text.as_bytes()) {
                    Ok(()) => {
                        eprintln!("tabwright replay: wrote Recorder JSON to {}", out.display());
                        ExitCode::SUCCESS
                    }
                    Err(e) => bad(format!("cannot write {}: {e}", out.display())),
                }
            }
            Err(e) => bad(e),
        };
    }
    let _server = match &args.serve {
        Some(dir) => {
            let root = match dir.canonicalize() {
                Ok(r) => r,
                Err(e) => return bad(format!("cannot serve {}: {e}", dir.display())),
            };
            match crate::fixture_server::start(root, 0).await {
                Ok(s) => {
                    let base = s.url("").trim_end_matches('/').to_string();
                    vars.entry("base_url".into()).or_insert(base);
                    Some(s)
                }
                Err(e) => return bad(format!("cannot start the fixture server: {e}")),
            }
        }
        None => None,
    };
    // Every step and variable of every file is checked before the browser starts.
    for (f, sc) in &shortcuts {
        if let Err(e) = sc.ops(&vars) {
            return bad(if shortcuts.len() > 1 {
                format!("{f}: {e}")
            } else {
                e.to_string()
            });
        }
    }
    let browser = Browser::new(backend);
    let host = Host::new(browser.clone(), workspace.clone(), crate::tools::browser());
    let gif = args.gif.as_ref().map(|g| {
        // The GIF tool takes relative names as names under recordings/; a path given on
        // the command line is relative to the current directory.
        if g.is_absolute() {
            g.clone()
        } else {
            std::env::current_dir()
                .map(|d| d.join(g))
                .unwrap_or_else(|_| g.clone())
        }
    });
    let tty = std::io::stderr().is_terminal();
    let mut progress = |s: &replay::StepOutcome| {
        let mut err = std::io::stderr().lock();
        let line = step_line(s, !tty);
        let _ = if tty {
            let color = match s.status {
                Status::Passed => "32",
                Status::Healed => "33",
                Status::Failed => "31",
                Status::Skipped => "90",
            };
            writeln!(err, "\x1b[{color}m{line}\x1b[0m")
        } else {
            writeln!(err, "{line}")
        };
        if let Some(h) = &s.healed {
            let _ = writeln!(err, "      healed: {h}");
        }
    };
    let many = shortcuts.len() > 1;
    let mut reports = Vec::new();
    for (i, (file, sc)) in shortcuts.iter().enumerate() {
        let ctx = host.one_shot();
        let Ok(session) = ctx.session() else {
            return ExitCode::FAILURE;
        };
        // Start the browser and open the tab first, so step times (and the report's total)
        // are the steps' own, not the browser's start-up.
        if let Err(e) = session.tab(None).await {
            browser.shutdown().await;
            eprintln!("tabwright replay: cannot start the browser: {e}");
            return ExitCode::FAILURE;
        }
        let opts = Options {
            timeout: args.timeout.map(std::time::Duration::from_millis),
            artifacts: args.artifacts.clone(),
            // With several files, each gets its own GIF: NAME-2.gif …
            gif: gif.as_ref().map(|g| {
                if i == 0 {
                    g.clone()
                } else {
                    let stem = g.file_stem().map(|s| s.to_string_lossy().to_string());
                    g.with_file_name(format!("{}-{}.gif", stem.unwrap_or_default(), i + 1))
                }
            }),
        };
        if many {
            eprintln!("tabwright replay: {file}");
        }
        match replay::run(&ctx, sc, &vars, &opts, &mut progress).await {
            Ok(r) => {
                let mut out = std::io::stdout().lock();
                let _ = writeln!(out, "{}", r.text());
                reports.push((file.clone(), r));
            }
            Err(e) => {
                browser.shutdown().await;
                return bad(e);
            }
        }
    }
    browser.shutdown().await;
    if let Some(path) = &args.junit {
        let suites: Vec<(String, &replay::Report)> =
            reports.iter().map(|(f, r)| (f.clone(), r)).collect();
        let xml = junit::document(&suites);
        if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
            let _ = std::fs::create_dir_all(parent);
        }
        if let Err(e) = store::write_atomic(path, xml.as_bytes()) {
            eprintln!("tabwright replay: cannot write {}: {e}", path.display());
            return ExitCode::FAILURE;
        }
    }
    // A GIF the person asked for and did not get fails the run (after the report is written).
    if let Some((_, r)) = reports.iter().find(|(_, r)| r.gif_error.is_some()) {
        eprintln!(
            "tabwright replay: {}",
            r.gif_error.as_deref().unwrap_or_default()
        );
        return ExitCode::FAILURE;
    }
    if reports.iter().all(|(_, r)| r.passed()) {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}
