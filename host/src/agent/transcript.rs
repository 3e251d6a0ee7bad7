//! Session folders and their transcripts: every event of a run appended as one JSON line and
//! flushed as it happens, so a crash loses at most the step in flight, and `--resume` rebuilds
//! the conversation from the file.
//!
//! Layout: `$XDG_STATE_HOME/tabwright/sessions/<id>/` (or `~/.local/state/…`, or
//! `TABWRIGHT_SESSIONS_DIR`) holding `transcript.jsonl` and `audit.jsonl`.

use std::io::{BufRead, Write};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use serde_json::{json, Value};

use super::protocol::{Message, Usage};

/// The folder that holds session folders.
pub fn sessions_dir() -> PathBuf {
    let nonempty = |k: &str| std::env::var(k).ok().filter(|v| !v.is_empty());
    if let Some(d) = nonempty("TABWRIGHT_SESSIONS_DIR") {
        return PathBuf::from(d);
    }
    let base = match nonempty("XDG_STATE_HOME") {
        Some(x) => PathBuf::from(x),
        None => PathBuf::from(nonempty("HOME").unwrap_or_else(|| ".".into()))
            .join(".local")
            .join("state"),
    };
    base.join("tabwright").join("sessions")
}

/// A new session id: UTC time plus a random suffix (`20261123-104512-3fa9`).
pub fn new_session_id() -> String {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    let (y, mo, d, h, mi, s) = civil(secs);
    let mut rnd = [0u8; 2];
    let _ = getrandom::fill(&mut rnd);
    format!(
        "{y:04}{mo:02}{d:02}-{h:02}{mi:02}{s:02}-{:02x}{:02x}",
        rnd[0], rnd[1]
    )
}

/// Seconds since the epoch → (year, month, day, hour, minute, second) in UTC.
pub fn civil(secs: u64) -> (i64, u32, u32, u32, u32, u32) {
    let days = (secs / 86_400) as i64;
    let rem = secs % 86_400;
    // Howard Hinnant's days-from-civil inverse.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = yoe + era * 400 + i64::from(m <= 2);
    (
        y,
        m,
        d,
        (rem / 3600) as u32,
        ((rem % 3600) / 60) as u32,
        (rem % 60) as u32,
    )
}

/// An append-only transcript.
pub struct Transcript {
    dir: PathBuf,
    file: Mutex<std::fs::File>,
}

impl Transcript {
    /// Creates (or reopens, for `--resume`) the session folder `dir`.
    pub fn open(dir: &Path) -> Result<Transcript, TranscriptError> {
        Transcript::open_in(dir).map_err(TranscriptError)
    }

    fn open_in(dir: &Path) -> Result<Transcript, String> {
        std::fs::create_dir_all(dir)
            .map_err(|e| format!("cannot create the session folder {}: {e}", dir.display()))?;
        let path = dir.join("transcript.jsonl");
        let file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&path)
            .map_err(|e| format!("cannot open the transcript {}: {e}", path.display()))?;
        Ok(Transcript {
            dir: dir.to_path_buf(),
            file: Mutex::new(file),
        })
    }

    /// The session folder.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Appends one event `{"ts_ms", "type", …fields}` and flushes it.
    pub fn event(&self, kind: &str, fields: Value) {
        let ts = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_millis())
            .unwrap_or(0);
        let mut line = json!({"ts_ms": ts, "type": kind});
        if let (Some(l), Value::Object(f)) = (line.as_object_mut(), fields) {
            l.extend(f);
        }
        let mut f = match self.file.lock() {
            Ok(g) => g,
            Err(p) => p.into_inner(),
        };
        if let Err(e) = writeln!(f, "{line}").and_then(|_| f.flush()) {
            tracing::warn!("transcript {}: {e}", self.dir.display());
        }
    }

    /// Records a message added to the history.
    pub fn message(&self, m: &Message) {
        self.event("message", json!({"message": m}));
    }

    /// Records a turn's token usage.
    pub fn usage(&self, turn: u32, u: &Usage) {
        self.event("usage", json!({"turn": turn, "usage": u}));
    }
}

/// What a transcript holds for `--resume`: the history and the original task.
#[derive(Debug, Default)]
pub struct Resumed {
    /// The messages in order.
    pub messages: Vec<Message>,
    /// The first task given.
    pub task: Option<String>,
    /// Lines that could not be read (reported, skipped).
    pub bad_lines: usize,
}

/// Reads a session's transcript back. A torn last line (a crash mid-write) is skipped.
/// A session folder or its transcript could not be opened or read; the text names the file.
#[derive(Debug, Clone, Default, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct TranscriptError(pub String);

/// Reads a session's transcript back for `--resume`.
pub fn load(dir: &Path) -> Result<Resumed, TranscriptError> {
    load_in(dir).map_err(TranscriptError)
}

fn load_in(dir: &Path) -> Result<Resumed, String> {
    let path = dir.join("transcript.jsonl");
    let f = std::fs::File::open(&path).map_err(|e| {
        format!(
            "cannot read the transcript {}: {e}. List sessions with `ls {}`.",
            path.display(),
            sessions_dir().display()
        )
    })?;
    let mut out = Resumed::default();
    for line in std::io::BufReader::new(f).lines() {
        let line = line.map_err(|e| format!("cannot read {}: {e}", path.display()))?;
        if line.trim().is_empty() {
            continue;
        }
        let Ok(v) = serde_json::from_str::<Value>(&line) else {
            out.bad_lines += 1;
            continue;
        };
        match v.get("type").and_then(|t| t.as_str()) {
            Some("message") => match v.get("message").cloned().map(serde_json::from_value) {
                Some(Ok(m)) => out.messages.push(m),
                _ => out.bad_lines += 1,
            },
            Some("task") if out.task.is_none() => {
                out.task = v.get("task").and_then(|t| t.as_str()).map(str::to_string);
            }
            _ => {}
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn civil_dates() {
        assert_eq!(civil(0), (1970, 1, 1, 0, 0, 0));
        assert_eq!(civil(1_795_428_000), (2026, 11, 23, 10, 0, 0));
        assert_eq!(civil(951_782_400), (2000, 2, 29, 0, 0, 0));
    }

    #[test]
    fn round_trip_and_torn_lines() {
        let dir = std::env::temp_dir().join(format!("tw-transcript-{}", new_session_id()));
        let t = Transcript::open(&dir).expect("open");
        t.event("task", json!({"task": "do it"}));
        t.message(&Message::user_text("do it"));
        t.message(&Message::assistant_text("done"));
        drop(t);
        let mut f = std::fs::OpenOptions::new()
            .append(true)
            .open(dir.join("transcript.jsonl"))
            .expect("append");
        let _ = f.write_all(b"{\"type\":\"message\",\"mess");
        let r = load(&dir).expect("load");
        assert_eq!(r.messages.len(), 2);
        assert_eq!(r.task.as_deref(), Some("do it"));
        assert_eq!(r.bad_lines, 1);
        let _ = std::fs::remove_dir_all(&dir);
    }
}
