//! `Read`, `Write`, `Edit` and `NotebookEdit`: the file tools, with Claude Code's contracts.
//!
//! Every path is resolved (symlinks and `..` followed) and confined to the workspace roots
//! before anything is opened ([`crate::sandbox::paths`]); secrets and write-protected names are
//! refused. A file that exists is changed only after it was read in this session and only if
//! it has not changed since (the model edits what it saw). Writes go to a temporary file in the
//! same folder that then replaces the original, keeping its permissions: a crash never leaves
//! half a file.

use std::collections::HashMap;
use std::io::{BufRead, Read as _};
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::SystemTime;

use base64::Engine;
use serde::Deserialize;
use serde_json::{json, Value};

use super::args::object;
use super::workspace::resolve;
use super::{ActionClass, Image, Registry, ToolContext, ToolError, ToolOutput, ToolSpec};
use crate::policy::Effects;
use crate::sandbox::{nofollow, Access};
use crate::tool;

pub(super) fn register(r: &mut Registry) {
    super::add::<Read>(r);
    super::add::<Write>(r);
    super::add::<Edit>(r);
    super::add::<NotebookEdit>(r);
}

/// Lines `Read` returns when no limit is given.
pub const DEFAULT_LINES: usize = 2000;
/// Longest line `Read` shows in full (characters).
pub const MAX_LINE_CHARS: usize = 2000;
/// Largest image `Read` returns (bytes).
const MAX_IMAGE_BYTES: u64 = 5 << 20;
/// Largest file `Write`/`Edit` handle (bytes).
const MAX_EDIT_BYTES: u64 = 64 << 20;

/// What this session has read: the file's modification time when it was read.
#[derive(Default)]
pub(crate) struct Reads(Mutex<HashMap<PathBuf, Option<SystemTime>>>);

impl Reads {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<PathBuf, Option<SystemTime>>> {
        match self.0.lock() {
            Ok(g) => g,
            Err(p) => p.into_inner(),
        }
    }

    fn note(&self, path: &Path) {
        let mtime = std::fs::metadata(path).and_then(|m| m.modified()).ok();
        self.lock().insert(path.to_path_buf(), mtime);
    }

    /// Refuses a change to an existing file not read in this session, or changed since.
    fn check(&self, path: &Path, shown: &str) -> Result<(), ToolError> {
        let Some(seen) = self.lock().get(path).cloned() else {
            return Err(ToolError(format!(
                "{shown} exists and has not been read in this session: Read it first, then change it"
            )));
        };
        let now = std::fs::metadata(path).and_then(|m| m.modified()).ok();
        if now != seen {
            return Err(ToolError(format!(
                "{shown} has changed since you read it (by the person, a command or another tool): Read it again, then change it"
            )));
        }
        Ok(())
    }
}

fn path_effects(class: ActionClass, path: &str) -> Effects {
    let mut fx = Effects::of(class);
    fx.paths = vec![PathBuf::from(path)];
    fx
}

// ---- Read ----

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ReadArgs {
    file_path: String,
    offset: Option<usize>,
    limit: Option<usize>,
}

tool!(
    Read,
    ReadArgs,
    ToolSpec::new(
        "Read",
        "Read a file in the workspace: text as `cat -n` (line numbers, 2000 lines from offset by default, lines over \
         2000 characters cut), images as images, PDF as text, Jupyter notebooks as cells with their outputs. \
         offset is the first line (1-based), limit the number of lines.",
        object(
            json!({
                "file_path": {"type": "string", "description": "Absolute path (or relative to the workspace)."},
                "offset": {"type": "integer", "minimum": 1},
                "limit": {"type": "integer", "minimum": 1},
            }),
            &["file_path"]
        ),
        ActionClass::Read,
    ),
    read,
    read_effects
);

async fn read_effects(_ctx: &ToolContext, a: &ReadArgs) -> Effects {
    path_effects(ActionClass::Read, &a.file_path)
}

async fn read(ctx: &ToolContext, a: ReadArgs) -> Result<ToolOutput, ToolError> {
    let path = resolve(ctx, &a.file_path, Access::Read)?;
    // One descriptor, opened following no link, for everything read below.
    let file = nofollow::open_read(&path).map_err(|e| {
        ToolError(if e.kind() == std::io::ErrorKind::NotFound {
            format!("{} does not exist. Use Glob to find the file", a.file_path)
        } else {
            format!("cannot read {}: {e}", a.file_path)
        })
    })?;
    let meta = file
        .metadata()
        .map_err(|e| ToolError(format!("cannot read {}: {e}", a.file_path)))?;
    if meta.is_dir() {
        return Err(ToolError(format!(
            "{} is a folder: list it with Glob or Bash (ls)",
            a.file_path
        )));
    }
    let offset = a.offset.unwrap_or(1).max(1);
    let limit = a.limit.unwrap_or(DEFAULT_LINES).max(1);
    let ext = path
        .extension()
        .map(|e| e.to_string_lossy().to_ascii_lowercase())
        .unwrap_or_default();
    let out = match ext.as_str() {
        "png" | "jpg" | "jpeg" | "gif" | "webp" => {
            read_image(file, &a.file_path, meta.len(), &ext)?
        }
        "pdf" => {
            let text = pdf_text(file, &a.file_path).await?;
            ToolOutput::text(numbered(
                std::io::Cursor::new(text.into_bytes()),
                offset,
                limit,
                &a.file_path,
            )?)
        }
        "ipynb" => ToolOutput::text(notebook_text(&path, &a.file_path)?),
        _ => {
            let mut f = file;
            let mut head = vec![0u8; 8192];
            let n = read_some(&mut f, &mut head);
            if head[..n].contains(&0) {
                return Err(ToolError(format!(
                    "{} is a binary file ({} bytes); inspect it with Bash (file, xxd, strings)",
                    a.file_path,
                    meta.len()
                )));
            }
            if meta.len() == 0 {
                ToolOutput::text(format!("{} exists and is empty.", a.file_path))
            } else {
                use std::io::Seek as _;
                f.rewind()
                    .map_err(|e| ToolError(format!("cannot read {}: {e}", a.file_path)))?;
                ToolOutput::text(numbered(
                    std::io::BufReader::new(f),
                    offset,
                    limit,
                    &a.file_path,
                )?)
            }
        }
    };
    ctx.state().get_or_default::<Reads>().note(&path);
    Ok(out)
}

fn read_some(f: &mut std::fs::File, buf: &mut [u8]) -> usize {
    let mut n = 0;
    while n < buf.len() {
        match f.read(&mut buf[n..]) {
            Ok(0) | Err(_) => break,
            Ok(k) => n += k,
        }
    }
    n
}

/// Lines `offset..offset+limit` of `r` as `cat -n` does, long lines cut, with notes for what
/// was left out and for bytes that are not UTF-8.
fn numbered(
    r: impl BufRead,
    offset: usize,
    limit: usize,
    shown: &str,
) -> Result<String, ToolError> {
    let mut out = String::new();
    let mut lossy = false;
    let mut cut_lines = 0usize;
    let mut more = false;
    let mut last = 0usize;
    for (i, line) in r.split(b'\n').enumerate() {
        let no = i + 1;
        let line = line.map_err(|e| ToolError(format!("cannot read {shown}: {e}")))?;
        if no < offset {
            continue;
        }
        if no >= offset + limit {
            more = true;
            break;
        }
        let line = line.strip_suffix(b"\r").unwrap_or(&line);
        let text = match std::str::from_utf8(line) {
            Ok(t) => std::borrow::Cow::Borrowed(t),
            Err(_) => {
                lossy = true;
                String::from_utf8_lossy(line)
            }
        };
        let shown_text: String = if text.chars().count() > MAX_LINE_CHARS {
            cut_lines += 1;
            let mut t: String = text.chars().take(MAX_LINE_CHARS).collect();
            t.push_str("… [line cut]");
            t
        } else {
            text.into_owned()
        };
        out.push_str(&format!("{no:>6}\t{shown_text}\n"));
        last = no;
    }
    if last == 0 {
        return Ok(format!(
            "{shown} has fewer than {offset} lines; nothing to show from line {offset}."
        ));
    }
    let mut notes = Vec::new();
    if more {
        notes.push(format!(
            "showing lines {offset}-{last}; the file goes on: Read with offset {} to continue",
            last + 1
        ));
    }
    if cut_lines > 0 {
        notes.push(format!(
            "{cut_lines} line(s) over {MAX_LINE_CHARS} characters were cut"
        ));
    }
    if lossy {
        notes.push("the file is not valid UTF-8: invalid bytes are shown as �".into());
    }
    if !notes.is_empty() {
        out.push_str(&format!("[{}]\n", notes.join("; ")));
    }
    Ok(out)
}

fn read_image(
    file: std::fs::File,
    shown: &str,
    len: u64,
    ext: &str,
) -> Result<ToolOutput, ToolError> {
    if len > MAX_IMAGE_BYTES {
        return Err(ToolError(format!(
            "{shown} is a {} MB image, over the {} MB the model can take; make a smaller copy with Bash first",
            len >> 20,
            MAX_IMAGE_BYTES >> 20
        )));
    }
    let mut bytes = Vec::new();
    {
        let mut file = file;
        file.read_to_end(&mut bytes)
            .map_err(|e| ToolError(format!("cannot read {shown}: {e}")))?;
    }
    let mime = match ext {
        "png" => "image/png",
        "jpg" | "jpeg" => "image/jpeg",
        "gif" => "image/gif",
        _ => "image/webp",
    };
    let magic_ok = match mime {
        "image/png" => bytes.starts_with(b"\x89PNG"),
        "image/jpeg" => bytes.starts_with(b"\xff\xd8"),
        "image/gif" => bytes.starts_with(b"GIF8"),
        _ => bytes.len() > 12 && &bytes[0..4] == b"RIFF" && &bytes[8..12] == b"WEBP",
    };
    if !magic_ok {
        return Err(ToolError(format!(
            "{shown} is named as an image but is not a {mime} file; inspect it with Bash (file)"
        )));
    }
    Ok(ToolOutput {
        text: format!("Image {shown} ({} bytes, {mime}).", bytes.len()),
        images: vec![Image {
            mime: mime.into(),
            data: base64::engine::general_purpose::STANDARD.encode(&bytes),
        }],
    })
}

async fn pdf_text(file: std::fs::File, shown: &str) -> Result<String, ToolError> {
    // The PDF comes on stdin from the descriptor the tool opened (no second open by path).
    let run = tokio::process::Command::new("pdftotext")
        .args(["-layout", "-q", "-enc", "UTF-8", "-", "-"])
        .stdin(std::process::Stdio::from(file))
        .kill_on_drop(true)
        .output();
    let out = match tokio::time::timeout(std::time::Duration::from_secs(60), run).await {
        Err(_) => {
            return Err(ToolError(format!(
                "reading the text of {shown} took over 60 s; it may be damaged"
            )))
        }
        Ok(Err(e)) if e.kind() == std::io::ErrorKind::NotFound => {
            return Err(ToolError(
                "reading PDF needs poppler's pdftotext, which is not installed: ask the person to install poppler-utils".into(),
            ))
        }
        Ok(Err(e)) => return Err(ToolError(format!("cannot run pdftotext: {e}"))),
        Ok(Ok(o)) => o,
    };
    if !out.status.success() {
        return Err(ToolError(format!(
            "{shown} is not a readable PDF (pdftotext failed: {})",
            String::from_utf8_lossy(&out.stderr).trim()
        )));
    }
    let text = String::from_utf8_lossy(&out.stdout).replace('\u{c}', "\n");
    if text.trim().is_empty() {
        return Ok("[the PDF has no text layer (scanned pages?)]\n".into());
    }
    Ok(text)
}

/// The text of a cell's `source` (a string or a list of strings).
fn joined(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Array(a) => a.iter().filter_map(Value::as_str).collect(),
        _ => String::new(),
    }
}

fn load_notebook(path: &Path, shown: &str) -> Result<Value, ToolError> {
    let bytes = nofollow::read(path).map_err(|e| ToolError(format!("cannot read {shown}: {e}")))?;
    let text =
        String::from_utf8(bytes).map_err(|_| ToolError(format!("{shown} is not UTF-8 text")))?;
    let nb: Value = serde_json::from_str(&text).map_err(|e| {
        ToolError(format!(
            "{shown} is not a valid notebook (JSON error: {e}); Read it as text with Bash (cat)"
        ))
    })?;
    if !nb.get("cells").is_some_and(Value::is_array) {
        return Err(ToolError(format!(
            "{shown} is not a notebook: it has no `cells`"
        )));
    }
    Ok(nb)
}

fn cell_id(cell: &Value, i: usize) -> String {
    cell.get("id")
        .and_then(Value::as_str)
        .map(String::from)
        .unwrap_or_else(|| format!("cell-{i}"))
}

fn notebook_text(path: &Path, shown: &str) -> Result<String, ToolError> {
    let nb = load_notebook(path, shown)?;
    let cells = nb["cells"].as_array().cloned().unwrap_or_default();
    let mut out = String::new();
    for (i, cell) in cells.iter().enumerate() {
        let kind = cell
            .get("cell_type")
            .and_then(Value::as_str)
            .unwrap_or("code");
        out.push_str(&format!(
            "<cell id=\"{}\" type=\"{kind}\">\n{}\n</cell>\n",
            cell_id(cell, i),
            joined(&cell["source"])
        ));
        for o in cell
            .get("outputs")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            let text = if let Some(t) = o.get("text") {
                joined(t)
            } else if let Some(d) = o.get("data") {
                match d.get("text/plain") {
                    Some(t) => joined(t),
                    None if d.get("image/png").is_some() => "[image output]".into(),
                    None => String::new(),
                }
            } else if let Some(e) = o.get("ename") {
                format!(
                    "{}: {}",
                    e.as_str().unwrap_or(""),
                    o.get("evalue").and_then(Value::as_str).unwrap_or("")
                )
            } else {
                String::new()
            };
            if !text.is_empty() {
                let text: String = text.chars().take(10_000).collect();
                out.push_str(&format!("<output>\n{text}\n</output>\n"));
            }
        }
    }
    if cells.is_empty() {
        out.push_str("(the notebook has no cells)\n");
    }
    Ok(out)
}

// ---- Write ----

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct WriteArgs {
    file_path: String,
    content: String,
}

tool!(
    Write,
    WriteArgs,
    ToolSpec::new(
        "Write",
        "Write a file in the workspace (parent folders are made). A file that exists must have been Read in this \
         session first, and is replaced whole: prefer Edit for changes.",
        object(
            json!({
                "file_path": {"type": "string"},
                "content": {"type": "string"},
            }),
            &["file_path", "content"]
        ),
        ActionClass::Act,
    )
    .trusted(),
    write,
    write_effects
);

async fn write_effects(_ctx: &ToolContext, a: &WriteArgs) -> Effects {
    path_effects(ActionClass::Act, &a.file_path)
}

/// Checks that `path` may be replaced: a regular file with one name, read and unchanged.
fn may_replace(ctx: &ToolContext, path: &Path, shown: &str) -> Result<bool, ToolError> {
    use std::os::unix::fs::MetadataExt;
    match std::fs::symlink_metadata(path) {
        Ok(m) if m.is_dir() => Err(ToolError(format!("{shown} is a folder"))),
        Ok(m) if !m.is_file() => Err(ToolError(format!(
            "{shown} is not a regular file (a device, socket or pipe)"
        ))),
        Ok(m) if m.nlink() > 1 => Err(ToolError(format!(
            "{shown} has {} hard links: changing it would change the other names too (maybe outside the workspace); copy it with Bash and change the copy",
            m.nlink()
        ))),
        Ok(m) if m.len() > MAX_EDIT_BYTES => Err(ToolError(format!(
            "{shown} is {} MB, too large to change with the file tools; use Bash",
            m.len() >> 20
        ))),
        Ok(_) => {
            ctx.state().get_or_default::<Reads>().check(path, shown)?;
            Ok(true)
        }
        Err(_) => Ok(false),
    }
}

/// Replaces `path` with `bytes`: a temporary file beside it, renamed over it, with the old
/// file's permissions.
fn replace(path: &Path, bytes: &[u8], shown: &str) -> Result<(), ToolError> {
    nofollow::replace(path, bytes).map_err(|e| ToolError(format!("cannot write {shown}: {e}")))
}

async fn write(ctx: &ToolContext, a: WriteArgs) -> Result<ToolOutput, ToolError> {
    let path = resolve(ctx, &a.file_path, Access::Write)?;
    let existed = may_replace(ctx, &path, &a.file_path)?;
    replace(&path, a.content.as_bytes(), &a.file_path)?;
    ctx.state().get_or_default::<Reads>().note(&path);
    let lines = a.content.lines().count();
    Ok(ToolOutput::text(if existed {
        format!("Replaced {} ({lines} lines).", path.display())
    } else {
        format!("Created {} ({lines} lines).", path.display())
    }))
}

// ---- Edit ----

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct EditArgs {
    file_path: String,
    old_string: String,
    new_string: String,
    replace_all: Option<bool>,
}

tool!(
    Edit,
    EditArgs,
    ToolSpec::new(
        "Edit",
        "Replace old_string with new_string in a file you have Read: an exact match (whitespace and tabs as in the \
         file, without Read's line-number prefix) that must be unique unless replace_all. An empty old_string on a \
         file that does not exist creates it.",
        object(
            json!({
                "file_path": {"type": "string"},
                "old_string": {"type": "string"},
                "new_string": {"type": "string"},
                "replace_all": {"type": "boolean", "default": false},
            }),
            &["file_path", "old_string", "new_string"]
        ),
        ActionClass::Act,
    ),
    edit,
    edit_effects
);

async fn edit_effects(_ctx: &ToolContext, a: &EditArgs) -> Effects {
    path_effects(ActionClass::Act, &a.file_path)
}

async fn edit(ctx: &ToolContext, a: EditArgs) -> Result<ToolOutput, ToolError> {
    let path = resolve(ctx, &a.file_path, Access::Write)?;
    if a.old_string == a.new_string {
        return Err(ToolError::new(
            "old_string and new_string are the same: nothing to change",
        ));
    }
    let existed = may_replace(ctx, &path, &a.file_path)?;
    if !existed {
        if a.old_string.is_empty() {
            replace(&path, a.new_string.as_bytes(), &a.file_path)?;
            ctx.state().get_or_default::<Reads>().note(&path);
            return Ok(ToolOutput::text(format!("Created {}.", path.display())));
        }
        return Err(ToolError(format!(
            "{} does not exist. Use Glob to find the file, or Write to create it",
            a.file_path
        )));
    }
    let bytes = nofollow::read(&path)
        .map_err(|e| ToolError(format!("cannot read {}: {e}", a.file_path)))?;
    let text = String::from_utf8(bytes).map_err(|_| {
        ToolError(format!(
            "{} is not UTF-8 text; change it with Bash (sed, python)",
            a.file_path
        ))
    })?;
    if a.old_string.is_empty() {
        return Err(ToolError(format!(
            "old_string is empty but {} exists: give the text to replace, or use Write",
            a.file_path
        )));
    }
    // A file with Windows line ends: match the model's `\n` against `\r\n`.
    let crlf = text.contains("\r\n") && !a.old_string.contains("\r\n");
    let (old, new) = if crlf {
        (
            a.old_string.replace('\n', "\r\n"),
            a.new_string.replace('\n', "\r\n"),
        )
    } else {
        (a.old_string.clone(), a.new_string.clone())
    };
    let count = text.matches(old.as_str()).count();
    if count == 0 {
        return Err(ToolError(format!(
            "old_string was not found in {}{}",
            a.file_path,
            not_found_hint(&text, &a.old_string)
        )));
    }
    let all = a.replace_all == Some(true);
    if count > 1 && !all {
        return Err(ToolError(format!(
            "old_string occurs {count} times in {}: add surrounding lines to make it unique, or set replace_all",
            a.file_path
        )));
    }
    let first = text.find(old.as_str()).unwrap_or(0);
    let updated = if all {
        text.replace(old.as_str(), new.as_str())
    } else {
        text.replacen(old.as_str(), new.as_str(), 1)
    };
    replace(&path, updated.as_bytes(), &a.file_path)?;
    ctx.state().get_or_default::<Reads>().note(&path);
    // A few numbered lines around the (first) change, as Read shows them.
    let line = updated[..first.min(updated.len())].matches('\n').count() + 1;
    let start = line.saturating_sub(3).max(1);
    let span = new.matches('\n').count() + 7;
    let snippet = numbered(
        std::io::Cursor::new(updated.as_bytes()),
        start,
        span,
        &a.file_path,
    )?;
    let snippet: String = snippet
        .lines()
        .filter(|l| !l.starts_with('['))
        .collect::<Vec<_>>()
        .join("\n");
    Ok(ToolOutput::text(format!(
        "Edited {} ({} replacement{}). Around the change:\n{snippet}",
        path.display(),
        if all { count } else { 1 },
        if all && count != 1 { "s" } else { "" }
    )))
}

/// Why old_string may not have matched: Read's line-number prefix copied along, or
/// whitespace that differs.
fn not_found_hint(text: &str, old: &str) -> String {
    let prefixed = old.lines().next().is_some_and(|l| {
        let t = l.trim_start();
        let digits = t.chars().take_while(char::is_ascii_digit).count();
        digits > 0 && t[digits..].starts_with('\t')
    });
    if prefixed {
        return ": it starts with a line number and a tab, as Read shows lines; leave that prefix out".into();
    }
    let squash = |s: &str| s.split_whitespace().collect::<Vec<_>>().join(" ");
    if squash(text).contains(&squash(old)) {
        return ": the text is there with different whitespace (tabs vs spaces, or line breaks); copy it exactly from Read".into();
    }
    ". Read the file again and copy the text exactly".into()
}

// ---- NotebookEdit ----

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NotebookArgs {
    notebook_path: String,
    cell_id: Option<String>,
    new_source: String,
    cell_type: Option<String>,
    edit_mode: Option<String>,
}

tool!(
    NotebookEdit,
    NotebookArgs,
    ToolSpec::new(
        "NotebookEdit",
        "Change a Jupyter notebook you have Read: replace a cell's source (edit_mode replace, the default), insert a \
         new cell after cell_id (or first, without cell_id; cell_type required), or delete a cell. Cell ids are as \
         Read shows them.",
        object(
            json!({
                "notebook_path": {"type": "string"},
                "cell_id": {"type": "string"},
                "new_source": {"type": "string"},
                "cell_type": {"type": "string", "enum": ["code", "markdown"]},
                "edit_mode": {"type": "string", "enum": ["replace", "insert", "delete"]},
            }),
            &["notebook_path", "new_source"]
        ),
        ActionClass::Act,
    )
    .trusted(),
    notebook_edit,
    notebook_effects
);

async fn notebook_effects(_ctx: &ToolContext, a: &NotebookArgs) -> Effects {
    path_effects(ActionClass::Act, &a.notebook_path)
}

fn source_lines(s: &str) -> Value {
    let mut out = Vec::new();
    let mut rest = s;
    while let Some(i) = rest.find('\n') {
        out.push(Value::String(rest[..=i].to_string()));
        rest = &rest[i + 1..];
    }
    if !rest.is_empty() {
        out.push(Value::String(rest.to_string()));
    }
    Value::Array(out)
}

async fn notebook_edit(ctx: &ToolContext, a: NotebookArgs) -> Result<ToolOutput, ToolError> {
    let shown = &a.notebook_path;
    if !shown.to_ascii_lowercase().ends_with(".ipynb") {
        return Err(ToolError(format!(
            "{shown} is not a notebook (.ipynb); use Edit for other files"
        )));
    }
    let path = resolve(ctx, shown, Access::Write)?;
    if !may_replace(ctx, &path, shown)? {
        return Err(ToolError(format!("{shown} does not exist")));
    }
    let mut nb = load_notebook(&path, shown)?;
    let mode = a.edit_mode.as_deref().unwrap_or("replace");
    let cells = nb["cells"]
        .as_array_mut()
        .ok_or_else(|| ToolError(format!("{shown} has no cells")))?;
    let index = match &a.cell_id {
        Some(id) => Some(
            cells
                .iter()
                .enumerate()
                .position(|(i, c)| cell_id(c, i) == *id)
                .ok_or_else(|| {
                    ToolError(format!(
                        "no cell {id} in {shown}; Read the notebook for the cell ids"
                    ))
                })?,
        ),
        None => None,
    };
    let done = match mode {
        "replace" => {
            let i = index.ok_or_else(|| {
                ToolError::new("invalid parameters for NotebookEdit: replace needs cell_id")
            })?;
            let cell = &mut cells[i];
            cell["source"] = source_lines(&a.new_source);
            if let Some(t) = &a.cell_type {
                cell["cell_type"] = json!(t);
            }
            if cell["cell_type"] == "code" {
                cell["outputs"] = json!([]);
                cell["execution_count"] = Value::Null;
            }
            format!("Replaced the source of cell {}", cell_id(&cells[i], i))
        }
        "insert" => {
            let kind = a.cell_type.clone().ok_or_else(|| {
                ToolError::new("invalid parameters for NotebookEdit: insert needs cell_type (code or markdown)")
            })?;
            let mut rnd = [0u8; 4];
            let _ = getrandom::fill(&mut rnd);
            let id: String = rnd.iter().map(|b| format!("{b:02x}")).collect();
            let mut cell = json!({"cell_type": kind, "id": id, "metadata": {}, "source": source_lines(&a.new_source)});
            if kind == "code" {
                cell["outputs"] = json!([]);
                cell["execution_count"] = Value::Null;
            }
            let at = index.map(|i| i + 1).unwrap_or(0);
            cells.insert(at, cell);
            format!("Inserted a {kind} cell {id} at position {}", at + 1)
        }
        "delete" => {
            let i = index.ok_or_else(|| {
                ToolError::new("invalid parameters for NotebookEdit: delete needs cell_id")
            })?;
            cells.remove(i);
            format!("Deleted cell {}", a.cell_id.clone().unwrap_or_default())
        }
        other => {
            return Err(ToolError(format!(
                "invalid parameters for NotebookEdit: edit_mode \"{other}\" is not replace, insert or delete"
            )))
        }
    };
    let text = serde_json::to_string_pretty(&nb)
        .map_err(|e| ToolError(format!("cannot write the notebook: {e}")))?;
    replace(&path, format!("{text}\n").as_bytes(), shown)?;
    ctx.state().get_or_default::<Reads>().note(&path);
    Ok(ToolOutput::text(format!("{done} in {}.", path.display())))
}
