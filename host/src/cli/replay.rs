//! `tabwright replay PATH…`: replays shortcuts and Chrome DevTools Recorder JSON files with no
//! model. One flow: progress per step on stderr (✓/✗/HEALED with ms on a terminal, plain
//! words otherwise) and its report on stdout. A suite (folders, globs, several files): flows
//! run `--jobs` at a time, each in a browser context of its own (`--shard`, `--retries`,
//! `--grep`, `--tag`), a line per flow and a live count on a terminal, only the final report
//! lines otherwise. JUnit XML, a self-contained HTML report, GIFs. Exit status 0 only when
//! every selected flow passed (a flow that passed on a retry counts, marked flaky); 1 when
//! one failed; 2 for bad input.

use std::collections::BTreeMap;
use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use super::BrowserArgs;
use crate::browser::{Backend, Browser};
use crate::host::Host;
use crate::shortcuts::replay::{step_line, Status, StepOutcome};
use crate::shortcuts::store::{self, Store};
use crate::shortcuts::suite::{self, FlowResult, Lease, Outcome, Selection, SuiteOptions, Tally};
use crate::shortcuts::{html, junit, load_file, recorder_json, FormatError, Shortcut};

/// What `tabwright replay` was asked to do.
#[derive(clap::Args, Debug, Clone)]
pub struct ReplayArgs {
    /// Files, folders (every .json beneath), globs ('flows/**/*.json'), or ids / names of
    /// saved shortcuts.
    #[arg(required = true, value_name = "PATH")]
    pub files: Vec<String>,
    /// Flows at once, each in a browser context of its own (default: the number of cores).
    #[arg(long, short = 'j', value_name = "N")]
    pub jobs: Option<usize>,
    /// Run only slice I of N (1-based) of the selected flows, so N CI machines split a suite.
    #[arg(long, value_name = "I/N")]
    pub shard: Option<String>,
    /// Rerun a failed flow up to K times; one that then passes is reported flaky.
    #[arg(long, value_name = "K", default_value_t = 0)]
    pub retries: usize,
    /// Only flows whose name or file matches this regular expression.
    #[arg(long, value_name = "REGEX")]
    pub grep: Option<String>,
    /// Only flows with this tag (repeatable: any of them).
    #[arg(long = "tag", value_name = "TAG")]
    pub tags: Vec<String>,
    /// Record the replay of one flow as a GIF at this path.
    #[arg(long, value_name = "OUT.gif")]
    pub gif: Option<PathBuf>,
    /// Record a GIF of every flow into this folder (NNN-FILE.gif).
    #[arg(long, value_name = "DIR")]
    pub gif_dir: Option<PathBuf>,
    /// Write a JUnit XML report here (a testcase per flow).
    #[arg(long, value_name = "REPORT.xml")]
    pub junit: Option<PathBuf>,
    /// Write a self-contained HTML report here (steps, timings, screenshots and GIFs inline).
    #[arg(long, value_name = "REPORT.html")]
    pub html: Option<PathBuf>,
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

/// A path the person gave on the command line: absolute, or relative to the current folder.
fn person_path(p: &Path) -> PathBuf {
    if p.is_absolute() {
        p.to_path_buf()
    } else {
        std::env::current_dir()
            .map(|d| d.join(p))
            .unwrap_or_else(|_| p.to_path_buf())
    }
}

fn write_report(path: &Path, text: &str) -> Result<(), String> {
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        let _ = std::fs::create_dir_all(parent);
    }
    store::write_atomic(path, text.as_bytes())
        .map_err(|e| format!("cannot write {}: {e}", path.display()))
}

async fn replay(args: ReplayArgs, backend: Backend, workspace: PathBuf) -> ExitCode {
    let mut vars = match parse_vars(&args.vars) {
        Ok(v) => v,
        Err(e) => return bad(e),
    };
    if args.files.is_empty() {
        return bad("no file to replay");
    }
    let flows = match suite::collect(&args.files, |f| load(f).map_err(|e| e.to_string())) {
        Ok(f) => f,
        Err(e) => return bad(e),
    };
    if let Some(out) = &args.export_recorder {
        let [flow] = flows.as_slice() else {
            return bad("--export-recorder takes exactly one file");
        };
        let sc = match &flow.shortcut {
            Ok(sc) => sc,
            Err(e) => return bad(e),
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
    let grep = match &args.grep {
        Some(g) => match regex_lite::Regex::new(g) {
            Ok(r) => Some(r),
            Err(e) => return bad(format!("--grep {g}: {e}")),
        },
        None => None,
    };
    let shard = match args.shard.as_deref().map(suite::parse_shard) {
        Some(Ok(s)) => Some(s),
        Some(Err(e)) => return bad(e),
        None => None,
    };
    let collected = flows.len();
    let chosen = suite::select(
        flows,
        &Selection {
            grep,
            tags: args.tags.clone(),
            shard: None,
        },
    );
    if chosen.is_empty() {
        return bad(format!(
            "no flow of the {collected} found matches --grep/--tag"
        ));
    }
    let flows = suite::select(
        chosen,
        &Selection {
            shard,
            ..Selection::default()
        },
    );
    if flows.is_empty() {
        println!(
            "No flow in shard {}: nothing to run.",
            args.shard.as_deref().unwrap_or("")
        );
        return ExitCode::SUCCESS;
    }
    let single = flows.len() == 1;
    if args.gif.is_some() && !single {
        return bad("--gif names one file; with several flows use --gif-dir DIR");
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
    // One flow: bad input is an error of the command, before the browser starts (a suite
    // reports a broken flow and runs the others).
    if single {
        match &flows[0].shortcut {
            Err(e) => return bad(e),
            Ok(sc) => {
                if let Err(e) = sc.ops(&vars) {
                    return bad(e);
                }
            }
        }
    }
    let contexts = !matches!(backend, Backend::Extension(_));
    let backend_kind = backend.clone();
    let browser = Browser::new(backend);
    let host = Host::new(browser.clone(), workspace.clone(), crate::tools::browser());
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let mut jobs = args.jobs.unwrap_or(cores).max(1).min(flows.len());
    if jobs > 1 && !contexts {
        eprintln!("tabwright replay: note: through the extension, flows share the person's profile, so they run one at a time");
        jobs = 1;
    }
    let opts = SuiteOptions {
        jobs,
        retries: args.retries,
        timeout: args.timeout.map(std::time::Duration::from_millis),
        artifacts: args.artifacts.clone(),
        gif_dir: args.gif_dir.as_deref().map(person_path),
        vars,
    };
    let tty = std::io::stderr().is_terminal();
    let on_step = |s: &StepOutcome| {
        if !single {
            return;
        }
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
    let on_flow = |r: &FlowResult, t: Tally| {
        if single || !tty {
            return;
        }
        let mut err = std::io::stderr().lock();
        let _ = writeln!(err, "\r\x1b[K{}", flow_line(r, true));
        let _ = write!(
            err,
            "{} passed · {} failed · {} flaky · {} left",
            t.passed, t.failed, t.flaky, t.left
        );
        if t.left == 0 {
            let _ = write!(err, "\r\x1b[K");
        }
        let _ = err.flush();
    };
    let gif_one = args.gif.as_deref().map(person_path);
    let started = std::time::Instant::now();
    // A WebDriver endpoint gives each flow a session (a browser) of its own, so a grid
    // spreads the flows over its nodes; other backends share one browser, a context each.
    let per_flow = match &backend_kind {
        Backend::WebDriver(_) => Some(backend_kind.clone()),
        _ => None,
    };
    let (host, workspace_ref) = (&host, &workspace);
    let new_ctx = move || -> crate::BoxFuture<'_, Result<Lease, String>> {
        let per_flow = per_flow.clone();
        Box::pin(async move {
            match per_flow {
                Some(b) => {
                    let own = Browser::new(b);
                    let h = Host::new(own.clone(), workspace_ref.clone(), crate::tools::browser());
                    let end: crate::BoxFuture<'static, ()> =
                        Box::pin(async move { own.shutdown().await });
                    Ok(Lease {
                        ctx: h.one_shot(),
                        end: Some(end),
                    })
                }
                None => Ok(Lease {
                    ctx: host.one_shot(),
                    end: None,
                }),
            }
        })
    };
    let results = suite::run(
        &new_ctx,
        flows,
        &opts,
        gif_one.as_deref(),
        &on_step,
        &on_flow,
    )
    .await;
    browser.shutdown().await;
    let mut out = std::io::stdout().lock();
    if single {
        if let Some(r) = results.first() {
            match r.report() {
                Some(rep) => {
                    for earlier in &r.attempts[..r.attempts.len().saturating_sub(1)] {
                        let _ = writeln!(out, "{}\n(attempt failed; retried)", earlier.text());
                    }
                    let _ = writeln!(out, "{}", rep.text());
                    if r.outcome == Outcome::Flaky {
                        let _ = writeln!(out, "FLAKY: passed on attempt {}", r.attempts.len());
                    }
                }
                None => {
                    return bad(r.error.as_deref().unwrap_or("the flow could not run"));
                }
            }
        }
    } else {
        // Details of what did not pass, then a line per flow and the count.
        for r in results.iter().filter(|r| r.outcome != Outcome::Passed) {
            if let Some(rep) = r.report() {
                let _ = writeln!(
                    out,
                    "{} — {}\n{}\n",
                    r.file,
                    outcome_word(r.outcome),
                    rep.text()
                );
            }
        }
        for r in &results {
            let _ = writeln!(out, "{}", flow_line(r, false));
        }
        let count = |o: Outcome| results.iter().filter(|r| r.outcome == o).count();
        let _ = writeln!(
            out,
            "{} flows: {} passed, {} flaky, {} failed, {} broken in {:.1} s (jobs {jobs}{})",
            results.len(),
            count(Outcome::Passed),
            count(Outcome::Flaky),
            count(Outcome::Failed),
            count(Outcome::Broken),
            started.elapsed().as_secs_f64(),
            args.shard
                .as_deref()
                .map(|s| format!(", shard {s}"))
                .unwrap_or_default(),
        );
    }
    drop(out);
    let mut failed = false;
    if let Some(path) = &args.junit {
        if let Err(e) = write_report(path, &junit::document(&results)) {
            eprintln!("tabwright replay: {e}");
            failed = true;
        }
    }
    if let Some(path) = &args.html {
        let title = format!("tabwright replay — {}", args.files.join(" "));
        if let Err(e) = write_report(path, &html::document(&results, &title)) {
            eprintln!("tabwright replay: {e}");
            failed = true;
        }
    }
    // A GIF the person asked for and did not get fails the run (after the reports).
    for r in &results {
        if let Some(e) = r.report().and_then(|rep| rep.gif_error.as_deref()) {
            eprintln!("tabwright replay: {}: {e}", r.file);
            failed = true;
        }
    }
    let all_passed = results
        .iter()
        .all(|r| matches!(r.outcome, Outcome::Passed | Outcome::Flaky));
    if all_passed && !failed {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}

fn outcome_word(o: Outcome) -> &'static str {
    match o {
        Outcome::Passed => "PASS",
        Outcome::Flaky => "FLAKY",
        Outcome::Failed => "FAIL",
        Outcome::Broken => "BROKEN",
    }
}

/// One line for a finished flow: `PASS  flows/a.json — Sign in (1234 ms)`, the first failed
/// step or the reason it could not run after it.
fn flow_line(r: &FlowResult, color: bool) -> String {
    let word = outcome_word(r.outcome);
    let word = if color {
        let c = match r.outcome {
            Outcome::Passed => "32",
            Outcome::Flaky => "33",
            Outcome::Failed | Outcome::Broken => "31",
        };
        format!("\x1b[{c}m{word:<6}\x1b[0m")
    } else {
        format!("{word:<6}")
    };
    let mut line = if r.name == r.file {
        format!("{word} {} ({} ms)", r.file, r.ms)
    } else {
        format!("{word} {} — {} ({} ms)", r.file, r.name, r.ms)
    };
    if r.attempts.len() > 1 {
        line.push_str(&format!(", {} attempts", r.attempts.len()));
    }
    if let Some(e) = &r.error {
        line.push_str(&format!(": {}", e.lines().next().unwrap_or(e)));
    } else if r.outcome == Outcome::Failed {
        if let Some(s) = r
            .report()
            .and_then(|rep| rep.steps.iter().find(|s| s.status == Status::Failed))
        {
            line.push_str(&format!(
                ": step {} {}: {}",
                s.index,
                s.label,
                s.message.as_deref().unwrap_or("failed")
            ));
        }
    }
    line
}
