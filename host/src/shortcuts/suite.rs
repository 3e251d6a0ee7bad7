//! A suite of flows for `tabwright replay`: files, folders and globs collected into flows;
//! `--grep`, `--tag` and `--shard` selecting among them; the flows run in parallel, each in a
//! browser context of its own, retried when asked; the results the reports are made from.
//!
//! Uses the shortcut format and replay of [`super`], and tool contexts the caller makes (each
//! with a browser session of its own). The CLI (`cli/replay.rs`) uses it.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use futures_util::stream::{self, StreamExt};

use super::replay::{self, Options, Report, StepOutcome};
use super::Shortcut;
use crate::runtime::ToolContext;

/// A tool context (with a browser session of its own) for one attempt of one flow, and what
/// ends the attempt's own browser when it has one (a WebDriver session per flow).
pub struct Lease {
    /// The context the flow's steps run in.
    pub ctx: ToolContext,
    /// Run when the attempt is over.
    pub end: Option<crate::BoxFuture<'static, ()>>,
}

/// Makes a [`Lease`] for one attempt of one flow.
pub type NewContext<'a> =
    &'a (dyn Fn() -> crate::BoxFuture<'a, Result<Lease, String>> + Send + Sync);

/// One flow of the suite: where it came from and what was read there.
#[derive(Debug, Clone)]
pub struct Flow {
    /// The file as the person named it (or the saved shortcut's name).
    pub file: String,
    /// The shortcut, or why the file is not one.
    pub shortcut: Result<Shortcut, String>,
}

impl Flow {
    /// The flow's name: the shortcut's, else the file's.
    pub fn name(&self) -> String {
        match &self.shortcut {
            Ok(sc) => sc.name.clone(),
            Err(_) => self.file.clone(),
        }
    }
}

fn has_glob(s: &str) -> bool {
    s.contains(['*', '?', '[', '{'])
}

/// Collects the flows `args` name: files (or saved shortcuts by id or name), folders
/// (every `.json` beneath, hidden folders and `node_modules` left out) and globs (`**`
/// crosses folders). Each folder's and glob's files come sorted; a file named twice runs
/// once. A file that cannot be read as a flow is still a flow (it fails in the report); an
/// argument that names nothing at all is an error.
pub fn collect(
    args: &[String],
    load: impl Fn(&str) -> Result<Shortcut, String>,
) -> Result<Vec<Flow>, String> {
    let mut files: Vec<String> = Vec::new();
    for a in args {
        let p = Path::new(a);
        if p.is_dir() {
            let mut found = Vec::new();
            walk(p, &mut found);
            if found.is_empty() {
                return Err(format!("{a}: the folder holds no .json flow"));
            }
            found.sort();
            files.extend(found.into_iter().map(|f| f.to_string_lossy().into_owned()));
        } else if !p.exists() && has_glob(a) {
            let matcher = globset::GlobBuilder::new(a)
                .literal_separator(true)
                .build()
                .map_err(|e| format!("{a}: not a valid glob: {e}"))?
                .compile_matcher();
            // Walk from the glob's literal beginning.
            let base: PathBuf = p
                .components()
                .take_while(|c| !has_glob(&c.as_os_str().to_string_lossy()))
                .collect();
            let base = if base.as_os_str().is_empty() {
                PathBuf::from(".")
            } else {
                base
            };
            let mut found = Vec::new();
            walk(&base, &mut found);
            let mut hits: Vec<String> = found
                .into_iter()
                .map(|f| {
                    let s = f.to_string_lossy().into_owned();
                    // A relative glob matches paths as written, without a leading "./".
                    s.strip_prefix("./").map(str::to_string).unwrap_or(s)
                })
                .filter(|f| matcher.is_match(f))
                .collect();
            if hits.is_empty() {
                return Err(format!("{a}: no file matches"));
            }
            hits.sort();
            files.extend(hits);
        } else {
            files.push(a.clone());
        }
    }
    let mut seen = std::collections::HashSet::new();
    let mut flows = Vec::new();
    for f in files {
        let key = std::fs::canonicalize(&f)
            .map(|c| c.to_string_lossy().into_owned())
            .unwrap_or_else(|_| f.clone());
        if !seen.insert(key) {
            continue;
        }
        let shortcut = load(&f);
        flows.push(Flow { file: f, shortcut });
    }
    Ok(flows)
}

fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for e in entries.flatten() {
        let path = e.path();
        let name = e.file_name().to_string_lossy().into_owned();
        let Ok(kind) = e.file_type() else { continue };
        if kind.is_dir() {
            if !name.starts_with('.') && name != "node_modules" {
                walk(&path, out);
            }
        } else if name.ends_with(".json") && !name.starts_with('.') {
            out.push(path);
        }
    }
}

/// Which flows of the collected ones run.
#[derive(Debug, Clone, Default)]
pub struct Selection {
    /// Only flows whose name or file matches.
    pub grep: Option<regex_lite::Regex>,
    /// Only flows with one of these tags (a file that could not be read is kept: it may be
    /// one of them, and a broken flow must not pass unseen).
    pub tags: Vec<String>,
    /// Only the `i`th of `n` slices (1-based): flow `k` of the selection, in file order,
    /// belongs to slice `k mod n + 1`, so `n` machines split a suite without overlap.
    pub shard: Option<(usize, usize)>,
}

/// Parses `--shard I/N`.
pub fn parse_shard(s: &str) -> Result<(usize, usize), String> {
    let (i, n) = s
        .split_once('/')
        .ok_or_else(|| format!("--shard {s}: expected I/N, for example 2/4"))?;
    let (i, n): (usize, usize) = match (i.trim().parse(), n.trim().parse()) {
        (Ok(i), Ok(n)) => (i, n),
        _ => return Err(format!("--shard {s}: expected I/N with whole numbers")),
    };
    if n == 0 || i == 0 || i > n {
        return Err(format!("--shard {s}: I must be between 1 and N"));
    }
    Ok((i, n))
}

/// The flows `sel` keeps, in order.
pub fn select(flows: Vec<Flow>, sel: &Selection) -> Vec<Flow> {
    let kept: Vec<Flow> = flows
        .into_iter()
        .filter(|f| match &sel.grep {
            Some(re) => re.is_match(&f.name()) || re.is_match(&f.file),
            None => true,
        })
        .filter(|f| {
            sel.tags.is_empty()
                || match &f.shortcut {
                    Ok(sc) => sc.tags.iter().any(|t| sel.tags.contains(t)),
                    Err(_) => true,
                }
        })
        .collect();
    match sel.shard {
        Some((i, n)) => kept
            .into_iter()
            .enumerate()
            .filter(|(k, _)| k % n == i - 1)
            .map(|(_, f)| f)
            .collect(),
        None => kept,
    }
}

/// How a flow ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Outcome {
    /// Passed on the first attempt.
    Passed,
    /// Failed, then passed on a retry.
    Flaky,
    /// Failed on every attempt.
    Failed,
    /// Could not run: the file is not a flow, a variable is missing, the browser would not
    /// start.
    Broken,
}

/// The result of one flow.
#[derive(Debug, Clone)]
pub struct FlowResult {
    /// Its file.
    pub file: String,
    /// Its name.
    pub name: String,
    /// How it ended.
    pub outcome: Outcome,
    /// Every attempt's report, in order (empty when broken).
    pub attempts: Vec<Report>,
    /// Why it could not run.
    pub error: Option<String>,
    /// Wall time over all attempts.
    pub ms: u128,
}

impl FlowResult {
    /// The last attempt's report.
    pub fn report(&self) -> Option<&Report> {
        self.attempts.last()
    }
}

/// Counts of a run so far.
#[derive(Debug, Clone, Copy, Default)]
pub struct Tally {
    /// Passed on the first attempt.
    pub passed: usize,
    /// Passed on a retry.
    pub flaky: usize,
    /// Failed or broken.
    pub failed: usize,
    /// Not finished yet.
    pub left: usize,
}

/// How to run a suite.
#[derive(Debug, Clone)]
pub struct SuiteOptions {
    /// Flows at once.
    pub jobs: usize,
    /// Reruns of a failed flow.
    pub retries: usize,
    /// Per-step timeout.
    pub timeout: Option<Duration>,
    /// Where failure screenshots go.
    pub artifacts: Option<PathBuf>,
    /// A GIF per flow in this folder.
    pub gif_dir: Option<PathBuf>,
    /// Variables for every flow.
    pub vars: BTreeMap<String, String>,
}

/// A file name for `flow`'s GIF that no other flow of the suite has.
fn gif_name(file: &str, index: usize) -> String {
    let stem = Path::new(file)
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_else(|| "flow".into());
    let clean: String = stem
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '-'
            }
        })
        .collect();
    format!("{:03}-{clean}.gif", index + 1)
}

/// Runs `flows` in contexts `new_ctx` makes, `opts.jobs` at a time, each in a browser context of its
/// own; `done` hears of each flow as it finishes, with the tally so far. Results come back in
/// the flows' order.
/// `gif` is where a one-flow run's GIF goes (`--gif`); `on_step` hears of every step.
pub async fn run(
    new_ctx: NewContext<'_>,
    flows: Vec<Flow>,
    opts: &SuiteOptions,
    gif: Option<&Path>,
    on_step: &(dyn Fn(&StepOutcome) + Send + Sync),
    done: &(dyn Fn(&FlowResult, Tally) + Send + Sync),
) -> Vec<FlowResult> {
    let tally = Mutex::new(Tally {
        left: flows.len(),
        ..Tally::default()
    });
    let jobs = opts.jobs.max(1);
    let tally = &tally;
    let mut results: Vec<(usize, FlowResult)> = stream::iter(flows.into_iter().enumerate())
        .map(|(i, flow)| async move {
            let r = run_flow(new_ctx, &flow, i, opts, gif, on_step).await;
            let now = {
                let mut t = match tally.lock() {
                    Ok(t) => t,
                    Err(p) => p.into_inner(),
                };
                t.left = t.left.saturating_sub(1);
                match r.outcome {
                    Outcome::Passed => t.passed += 1,
                    Outcome::Flaky => t.flaky += 1,
                    Outcome::Failed | Outcome::Broken => t.failed += 1,
                }
                *t
            };
            done(&r, now);
            (i, r)
        })
        .buffer_unordered(jobs)
        .collect()
        .await;
    results.sort_by_key(|(i, _)| *i);
    results.into_iter().map(|(_, r)| r).collect()
}

async fn run_flow(
    new_ctx: NewContext<'_>,
    flow: &Flow,
    index: usize,
    opts: &SuiteOptions,
    gif: Option<&Path>,
    on_step: &(dyn Fn(&StepOutcome) + Send + Sync),
) -> FlowResult {
    let started = Instant::now();
    let broken = |e: String| FlowResult {
        file: flow.file.clone(),
        name: flow.name(),
        outcome: Outcome::Broken,
        attempts: Vec::new(),
        error: Some(e),
        ms: started.elapsed().as_millis(),
    };
    let sc = match &flow.shortcut {
        Ok(sc) => sc,
        Err(e) => return broken(e.clone()),
    };
    // Every step and variable is checked before a browser is asked for anything.
    if let Err(e) = sc.ops(&opts.vars) {
        return broken(e.to_string());
    }
    let mut attempts = Vec::new();
    for attempt in 0..=opts.retries {
        let at = Attempt {
            index,
            attempt,
            gif,
        };
        match attempt_once(new_ctx, sc, flow, at, opts, on_step).await {
            Ok(report) => {
                let passed = report.passed();
                attempts.push(report);
                if passed {
                    break;
                }
            }
            Err(e) => {
                if attempts.is_empty() && attempt == opts.retries {
                    return broken(e);
                }
                tracing::warn!("{}: attempt {} could not run: {e}", flow.file, attempt + 1);
            }
        }
    }
    let outcome = match attempts.last() {
        Some(r) if r.passed() && attempts.len() == 1 => Outcome::Passed,
        Some(r) if r.passed() => Outcome::Flaky,
        _ => Outcome::Failed,
    };
    FlowResult {
        file: flow.file.clone(),
        name: sc.name.clone(),
        outcome,
        attempts,
        error: None,
        ms: started.elapsed().as_millis(),
    }
}

/// Which attempt of which flow, and the one-flow GIF path.
#[derive(Clone, Copy)]
struct Attempt<'a> {
    index: usize,
    attempt: usize,
    gif: Option<&'a Path>,
}

fn with_retry(p: &Path, attempt: usize) -> PathBuf {
    if attempt == 0 {
        return p.to_path_buf();
    }
    let stem = p
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    p.with_file_name(format!("{stem}-retry{attempt}.gif"))
}

async fn attempt_once(
    new_ctx: NewContext<'_>,
    sc: &Shortcut,
    flow: &Flow,
    at: Attempt<'_>,
    opts: &SuiteOptions,
    on_step: &(dyn Fn(&StepOutcome) + Send + Sync),
) -> Result<Report, String> {
    let lease = new_ctx().await?;
    let ctx = lease.ctx;
    let session = match ctx.session() {
        Ok(s) => s,
        Err(e) => {
            if let Some(end) = lease.end {
                end.await;
            }
            return Err(e.0.clone());
        }
    };
    let result = async {
        // Cookies, storage and cache of one flow never reach another.
        session
            .isolate()
            .await
            .map_err(|e| format!("cannot start the browser: {e}"))?;
        // The tab first, so step times are the steps' own, not the browser's start-up.
        session
            .tab(None)
            .await
            .map_err(|e| format!("cannot open a tab: {e}"))?;
        let gif = match (at.gif, &opts.gif_dir) {
            (Some(g), _) => Some(with_retry(g, at.attempt)),
            (None, Some(d)) => Some(with_retry(
                &d.join(gif_name(&flow.file, at.index)),
                at.attempt,
            )),
            (None, None) => None,
        };
        let o = Options {
            timeout: opts.timeout,
            artifacts: opts.artifacts.clone(),
            gif,
        };
        replay::run(&ctx, sc, &opts.vars, &o, &mut |s| on_step(s))
            .await
            .map_err(|e| e.to_string())
    }
    .await;
    session.dispose().await;
    if let Some(end) = lease.end {
        end.await;
    }
    result
}

#[cfg(test)]
mod tests {
    use super::*;

    fn flow(file: &str, name: &str, tags: &[&str]) -> Flow {
        let json = serde_json::json!({"name": name, "tags": tags, "steps": []});
        Flow {
            file: file.into(),
            shortcut: serde_json::from_value(json).map_err(|e| e.to_string()),
        }
    }

    #[test]
    fn shards_split_without_overlap_and_cover_all() {
        let all: Vec<Flow> = (0..10)
            .map(|i| flow(&format!("f{i}.json"), "x", &[]))
            .collect();
        let mut seen = Vec::new();
        for i in 1..=3 {
            let part = select(
                all.clone(),
                &Selection {
                    shard: Some((i, 3)),
                    ..Selection::default()
                },
            );
            seen.extend(part.into_iter().map(|f| f.file));
        }
        seen.sort();
        let mut want: Vec<String> = all.iter().map(|f| f.file.clone()).collect();
        want.sort();
        assert_eq!(seen, want);
        assert!(parse_shard("0/3").is_err());
        assert!(parse_shard("4/3").is_err());
        assert!(parse_shard("x").is_err());
        assert_eq!(parse_shard("2/3"), Ok((2, 3)));
    }

    #[test]
    fn grep_and_tags_select_and_broken_files_stay() {
        let broken = Flow {
            file: "bad.json".into(),
            shortcut: Err("not JSON".into()),
        };
        let all = vec![
            flow("a.json", "Checkout with card", &["smoke"]),
            flow("b.json", "Search", &["slow"]),
            broken,
        ];
        let by_tag = select(
            all.clone(),
            &Selection {
                tags: vec!["smoke".into()],
                ..Selection::default()
            },
        );
        let files: Vec<&str> = by_tag.iter().map(|f| f.file.as_str()).collect();
        assert_eq!(files, ["a.json", "bad.json"]);
        let by_grep = select(
            all,
            &Selection {
                grep: regex_lite::Regex::new("(?i)search").ok(),
                ..Selection::default()
            },
        );
        assert_eq!(by_grep.len(), 1);
        assert_eq!(by_grep[0].file, "b.json");
    }

    #[test]
    fn gif_names_are_unique_and_plain() {
        assert_eq!(gif_name("flows/a b.json", 0), "001-a-b.gif");
        assert_ne!(gif_name("x/a.json", 0), gif_name("y/a.json", 1));
    }
}
