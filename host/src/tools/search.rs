//! `Glob` and `Grep`: finding files and text in the workspace with ripgrep's own crates
//! (`ignore` for the parallel walk that honours `.gitignore`, `grep-searcher`/`grep-regex` for
//! the search), with Claude Code's contracts. Symbolic links are not followed; the user's
//! secrets are skipped; paths are confined like the other file tools.

use std::path::PathBuf;
use std::sync::Mutex;
use std::time::SystemTime;

use grep_regex::RegexMatcherBuilder;
use grep_searcher::{BinaryDetection, Searcher, SearcherBuilder, Sink, SinkContext, SinkMatch};
use ignore::{WalkBuilder, WalkState};
use serde::Deserialize;
use serde_json::json;

use super::args::object;
use super::workspace::resolve;
use super::{lock, ActionClass, Registry, ToolContext, ToolError, ToolOutput, ToolSpec};
use crate::policy::Effects;
use crate::sandbox::{is_secret, nofollow, Access};
use crate::tool;

pub(super) fn register(r: &mut Registry) {
    super::add::<Glob>(r);
    super::add::<Grep>(r);
}

/// Most paths `Glob` returns.
pub const GLOB_MAX: usize = 100;
/// Characters of `Grep` output the model gets.
const MAX_CHARS: usize = 30_000;
/// Lines of content `Grep` collects at most (the output is cut long before).
const MAX_LINES: usize = 50_000;

fn search_root(ctx: &ToolContext, path: Option<&str>) -> Result<PathBuf, ToolError> {
    let root = match path {
        Some(p) => resolve(ctx, p, Access::Read)?,
        None => resolve(ctx, ".", Access::Read)?,
    };
    if !root.exists() {
        return Err(ToolError(format!("{} does not exist", path.unwrap_or("."))));
    }
    Ok(root)
}

fn path_effects(path: Option<&str>) -> Effects {
    let mut fx = Effects::of(ActionClass::Read);
    fx.paths = vec![PathBuf::from(path.unwrap_or("."))];
    fx
}

fn threads() -> usize {
    std::thread::available_parallelism()
        .map(|n| n.get().min(12))
        .unwrap_or(2)
}

// ---- Glob ----

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct GlobArgs {
    pattern: String,
    path: Option<String>,
}

tool!(
    Glob,
    GlobArgs,
    ToolSpec::new(
        "Glob",
        "Find files by name pattern (`**/*.rs`, `src/**/*.{ts,tsx}`), relative to path (default: the workspace). \
         Newest first, at most 100. Files ignored by .gitignore are skipped.",
        object(
            json!({
                "pattern": {"type": "string"},
                "path": {"type": "string", "description": "Folder to search in (default: the workspace)."},
            }),
            &["pattern"]
        ),
        ActionClass::Read,
    ),
    glob,
    glob_effects
);

async fn glob_effects(_ctx: &ToolContext, a: &GlobArgs) -> Effects {
    path_effects(a.path.as_deref())
}

async fn glob(ctx: &ToolContext, a: GlobArgs) -> Result<ToolOutput, ToolError> {
    let root = search_root(ctx, a.path.as_deref())?;
    let pattern = a.pattern.trim_start_matches("./").to_string();
    let matcher = globset::GlobBuilder::new(&pattern)
        .literal_separator(true)
        .build()
        .map_err(|e| ToolError(format!("invalid parameters for Glob: bad pattern: {e}")))?
        .compile_matcher();
    let root2 = root.clone();
    let found = tokio::task::spawn_blocking(move || {
        let hits: Mutex<Vec<(SystemTime, PathBuf)>> = Mutex::new(Vec::new());
        WalkBuilder::new(&root2)
            .hidden(false)
            .filter_entry(|e| e.file_name() != ".git" && !is_secret(e.path()))
            .threads(threads())
            .build_parallel()
            .run(|| {
                let matcher = &matcher;
                let hits = &hits;
                let root = &root2;
                Box::new(move |entry| {
                    let Ok(entry) = entry else {
                        return WalkState::Continue;
                    };
                    if !entry.file_type().is_some_and(|t| t.is_file()) {
                        return WalkState::Continue;
                    }
                    let rel = entry.path().strip_prefix(root).unwrap_or(entry.path());
                    if matcher.is_match(rel) {
                        let mtime = entry
                            .metadata()
                            .ok()
                            .and_then(|m| m.modified().ok())
                            .unwrap_or(SystemTime::UNIX_EPOCH);
                        lock(hits).push((mtime, entry.path().to_path_buf()));
                    }
                    WalkState::Continue
                })
            });
        hits.into_inner().unwrap_or_else(|p| p.into_inner())
    })
    .await
    .map_err(|e| ToolError(format!("the search failed: {e}")))?;
    let mut found = found;
    found.sort_by(|a, b| b.0.cmp(&a.0).then_with(|| a.1.cmp(&b.1)));
    if found.is_empty() {
        return Ok(ToolOutput::text(format!(
            "No files match {} in {}.",
            a.pattern,
            root.display()
        )));
    }
    let total = found.len();
    let mut out: Vec<String> = found
        .into_iter()
        .take(GLOB_MAX)
        .map(|(_, p)| p.display().to_string())
        .collect();
    if total > GLOB_MAX {
        out.push(format!(
            "[{total} files match; the {GLOB_MAX} newest are shown. Narrow the pattern or the path]"
        ));
    }
    Ok(ToolOutput::text(out.join("\n")))
}

// ---- Grep ----

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct GrepArgs {
    pattern: String,
    path: Option<String>,
    glob: Option<String>,
    #[serde(rename = "type")]
    file_type: Option<String>,
    output_mode: Option<String>,
    #[serde(rename = "-A")]
    after: Option<usize>,
    #[serde(rename = "-B")]
    before: Option<usize>,
    #[serde(rename = "-C")]
    context: Option<usize>,
    #[serde(rename = "-i")]
    ignore_case: Option<bool>,
    #[serde(rename = "-n")]
    line_numbers: Option<bool>,
    head_limit: Option<usize>,
    offset: Option<usize>,
    multiline: Option<bool>,
}

tool!(
    Grep,
    GrepArgs,
    ToolSpec::new(
        "Grep",
        "Search file contents with a regular expression (ripgrep syntax) under path (default: the workspace). \
         output_mode: files_with_matches (default; newest first), content (matching lines; -A/-B/-C context, -n line \
         numbers, default on), or count. glob filters file names (`*.{ts,tsx}`), type by language (`rust`, `py`, \
         `js`). -i ignores case; multiline lets patterns span lines. head_limit/offset page through the results. \
         .gitignore'd, hidden and binary files are skipped.",
        object(
            json!({
                "pattern": {"type": "string"},
                "path": {"type": "string"},
                "glob": {"type": "string"},
                "type": {"type": "string"},
                "output_mode": {"type": "string", "enum": ["content", "files_with_matches", "count"]},
                "-A": {"type": "integer", "minimum": 0},
                "-B": {"type": "integer", "minimum": 0},
                "-C": {"type": "integer", "minimum": 0},
                "-i": {"type": "boolean"},
                "-n": {"type": "boolean"},
                "head_limit": {"type": "integer", "minimum": 1},
                "offset": {"type": "integer", "minimum": 0},
                "multiline": {"type": "boolean"},
            }),
            &["pattern"]
        ),
        ActionClass::Read,
    ),
    grep,
    grep_effects
);

async fn grep_effects(_ctx: &ToolContext, a: &GrepArgs) -> Effects {
    path_effects(a.path.as_deref())
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Mode {
    Files,
    Content,
    Count,
}

/// What one file gave.
struct FileHit {
    path: PathBuf,
    mtime: SystemTime,
    count: u64,
    lines: Vec<String>,
}

/// Collects one file's matches (and context lines) as `path:line:text` / `path-line-text`.
struct Collect<'a> {
    shown: &'a str,
    mode: Mode,
    numbers: bool,
    count: u64,
    lines: Vec<String>,
    budget: usize,
}

impl Collect<'_> {
    fn line(&mut self, sep: char, no: Option<u64>, bytes: &[u8]) {
        if self.lines.len() >= self.budget {
            return;
        }
        let text = String::from_utf8_lossy(bytes);
        for (i, l) in text.lines().enumerate() {
            let l: String = if l.chars().count() > 500 {
                let mut s: String = l.chars().take(500).collect();
                s.push_str("… [line cut]");
                s
            } else {
                l.to_string()
            };
            match (self.numbers, no) {
                (true, Some(n)) => {
                    self.lines
                        .push(format!("{}{sep}{}{sep}{l}", self.shown, n + i as u64))
                }
                _ => self.lines.push(format!("{}{sep}{l}", self.shown)),
            }
        }
    }
}

impl Sink for Collect<'_> {
    type Error = std::io::Error;

    fn matched(&mut self, _s: &Searcher, m: &SinkMatch<'_>) -> Result<bool, Self::Error> {
        self.count += 1;
        match self.mode {
            // One match is enough to list the file.
            Mode::Files => Ok(false),
            Mode::Count => Ok(true),
            Mode::Content => {
                self.line(':', m.line_number(), m.bytes());
                Ok(true)
            }
        }
    }

    fn context(&mut self, _s: &Searcher, c: &SinkContext<'_>) -> Result<bool, Self::Error> {
        if self.mode == Mode::Content {
            self.line('-', c.line_number(), c.bytes());
        }
        Ok(true)
    }

    fn context_break(&mut self, _s: &Searcher) -> Result<bool, Self::Error> {
        if self.mode == Mode::Content && self.lines.len() < self.budget {
            self.lines.push("--".into());
        }
        Ok(true)
    }
}

async fn grep(ctx: &ToolContext, a: GrepArgs) -> Result<ToolOutput, ToolError> {
    let root = search_root(ctx, a.path.as_deref())?;
    let mode = match a.output_mode.as_deref().unwrap_or("files_with_matches") {
        "files_with_matches" => Mode::Files,
        "content" => Mode::Content,
        "count" => Mode::Count,
        other => {
            return Err(ToolError(format!(
                "invalid parameters for Grep: output_mode \"{other}\" is not content, files_with_matches or count"
            )))
        }
    };
    let multiline = a.multiline == Some(true);
    let mut mb = RegexMatcherBuilder::new();
    mb.case_insensitive(a.ignore_case == Some(true));
    if multiline {
        mb.multi_line(true).dot_matches_new_line(true);
    } else {
        mb.line_terminator(Some(b'\n'));
    }
    let matcher = mb
        .build(&a.pattern)
        .map_err(|e| ToolError(format!("invalid parameters for Grep: bad pattern: {e}")))?;
    let mut sb = SearcherBuilder::new();
    sb.line_number(true)
        .multi_line(multiline)
        .binary_detection(BinaryDetection::quit(0));
    if mode == Mode::Content {
        sb.before_context(a.before.or(a.context).unwrap_or(0))
            .after_context(a.after.or(a.context).unwrap_or(0));
    }
    let numbers = a.line_numbers.unwrap_or(true);
    let mut wb = WalkBuilder::new(&root);
    wb.threads(threads()).filter_entry(|e| !is_secret(e.path()));
    if let Some(t) = &a.file_type {
        let mut tb = ignore::types::TypesBuilder::new();
        tb.add_defaults();
        tb.select(t);
        let types = tb
            .build()
            .map_err(|e| ToolError(format!("invalid parameters for Grep: type: {e}")))?;
        if !tb.definitions().iter().any(|d| d.name() == t) {
            return Err(ToolError(format!(
                "invalid parameters for Grep: unknown type \"{t}\" (try rust, py, js, ts, go, java, c, cpp, md, json, yaml, html, css, sh)"
            )));
        }
        wb.types(types);
    }
    if let Some(g) = &a.glob {
        let mut ob = ignore::overrides::OverrideBuilder::new(&root);
        for part in split_globs(g) {
            ob.add(&part)
                .map_err(|e| ToolError(format!("invalid parameters for Grep: glob: {e}")))?;
        }
        wb.overrides(
            ob.build()
                .map_err(|e| ToolError(format!("invalid parameters for Grep: glob: {e}")))?,
        );
    }
    let searcher = sb.build();
    let ws_root = root.clone();
    let hits = tokio::task::spawn_blocking(move || {
        let hits: Mutex<Vec<FileHit>> = Mutex::new(Vec::new());
        let lines_left = std::sync::atomic::AtomicUsize::new(MAX_LINES);
        wb.build_parallel().run(|| {
            let mut searcher = searcher.clone();
            let matcher = matcher.clone();
            let hits = &hits;
            let lines_left = &lines_left;
            Box::new(move |entry| {
                let Ok(entry) = entry else {
                    return WalkState::Continue;
                };
                if !entry.file_type().is_some_and(|t| t.is_file()) {
                    return WalkState::Continue;
                }
                let shown = entry.path().display().to_string();
                let budget = lines_left.load(std::sync::atomic::Ordering::Relaxed);
                let mut sink = Collect {
                    shown: &shown,
                    mode,
                    numbers,
                    count: 0,
                    lines: Vec::new(),
                    budget,
                };
                // Opened following no link: a folder swapped for a link during the walk (a
                // command racing the tool) cannot send the search out of the workspace.
                let Ok(file) = nofollow::open_read(entry.path()) else {
                    return WalkState::Continue;
                };
                if searcher.search_file(&matcher, &file, &mut sink).is_err() {
                    return WalkState::Continue;
                }
                if sink.count > 0 {
                    lines_left.fetch_sub(
                        sink.lines.len().min(budget),
                        std::sync::atomic::Ordering::Relaxed,
                    );
                    let mtime = entry
                        .metadata()
                        .ok()
                        .and_then(|m| m.modified().ok())
                        .unwrap_or(SystemTime::UNIX_EPOCH);
                    let (count, lines) = (sink.count, sink.lines);
                    lock(hits).push(FileHit {
                        path: entry.path().to_path_buf(),
                        mtime,
                        count,
                        lines,
                    });
                }
                WalkState::Continue
            })
        });
        hits.into_inner().unwrap_or_else(|p| p.into_inner())
    })
    .await
    .map_err(|e| ToolError(format!("the search failed: {e}")))?;
    let mut hits = hits;
    if hits.is_empty() {
        return Ok(ToolOutput::text(format!(
            "No matches for {} in {}.",
            a.pattern,
            ws_root.display()
        )));
    }
    let entries: Vec<String> = match mode {
        Mode::Files => {
            hits.sort_by(|a, b| b.mtime.cmp(&a.mtime).then_with(|| a.path.cmp(&b.path)));
            hits.iter().map(|h| h.path.display().to_string()).collect()
        }
        Mode::Count => {
            hits.sort_by(|a, b| a.path.cmp(&b.path));
            hits.iter()
                .map(|h| format!("{}:{}", h.path.display(), h.count))
                .collect()
        }
        Mode::Content => {
            hits.sort_by(|a, b| a.path.cmp(&b.path));
            let mut v = Vec::new();
            for (i, h) in hits.iter_mut().enumerate() {
                if i > 0
                    && (a.before.or(a.context).unwrap_or(0) + a.after.or(a.context).unwrap_or(0))
                        > 0
                {
                    v.push("--".to_string());
                }
                v.append(&mut h.lines);
            }
            v
        }
    };
    let total = entries.len();
    let skip = a.offset.unwrap_or(0);
    let take = a.head_limit.unwrap_or(usize::MAX);
    let page: Vec<String> = entries.into_iter().skip(skip).take(take).collect();
    let mut text = match mode {
        Mode::Files => format!(
            "Found {} file{}\n",
            hits.len(),
            if hits.len() == 1 { "" } else { "s" }
        ),
        Mode::Count => String::new(),
        Mode::Content => String::new(),
    };
    text.push_str(&page.join("\n"));
    if skip + page.len() < total {
        text.push_str(&format!(
            "\n[{} of {total} entries shown; page on with offset {}]",
            page.len(),
            skip + page.len()
        ));
    }
    if mode == Mode::Count {
        let sum: u64 = hits.iter().map(|h| h.count).sum();
        text.push_str(&format!("\n[{sum} matching lines in {} files]", hits.len()));
    }
    Ok(ToolOutput::text(cut(&text)))
}

/// `*.{ts,tsx}` is one glob; `*.ts *.tsx` or `*.ts,*.tsx` are two.
fn split_globs(g: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut depth = 0;
    for c in g.chars() {
        match c {
            '{' => {
                depth += 1;
                cur.push(c)
            }
            '}' => {
                depth -= 1;
                cur.push(c)
            }
            ',' | ' ' if depth == 0 => {
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

fn cut(text: &str) -> String {
    if text.len() <= MAX_CHARS {
        return text.to_string();
    }
    let mut end = MAX_CHARS;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    let shown = &text[..end];
    let shown = &shown[..shown.rfind('\n').unwrap_or(shown.len())];
    format!(
        "{shown}\n[output cut at {MAX_CHARS} characters: narrow the pattern, use glob/type, or page with head_limit and offset]"
    )
}
