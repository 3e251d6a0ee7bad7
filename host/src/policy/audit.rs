//! The audit log: one JSON line per tool call with its arguments, the policy's decision and a
//! summary of the result, appended and flushed as it happens so a crash loses nothing.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use serde_json::{json, Value};

use super::PolicyError;

/// An append-only JSONL audit log.
pub struct AuditLog {
    path: PathBuf,
    file: Mutex<std::fs::File>,
}

/// Longest string kept from an argument or result in the log.
const KEEP: usize = 300;

fn clip(s: &str) -> String {
    if s.chars().count() <= KEEP {
        s.to_string()
    } else {
        let mut out: String = s.chars().take(KEEP).collect();
        out.push('…');
        out
    }
}

/// Arguments with long strings cut and secrets (keys named like passwords) masked.
fn redact(args: &Value, key: Option<&str>) -> Value {
    let secret = key.is_some_and(|k| {
        let k = k.to_ascii_lowercase();
        ["password", "passwd", "secret", "token", "api_key"]
            .iter()
            .any(|s| k.contains(s))
    });
    match args {
        Value::String(_) if secret => json!("•••"),
        Value::String(s) => json!(clip(s)),
        Value::Array(a) => Value::Array(a.iter().map(|v| redact(v, key)).collect()),
        Value::Object(o) => Value::Object(
            o.iter()
                .map(|(k, v)| (k.clone(), redact(v, Some(k))))
                .collect(),
        ),
        other => other.clone(),
    }
}

impl AuditLog {
    /// Opens (creating folders as needed) the log at `path` for appending.
    pub fn open(path: &Path) -> Result<AuditLog, PolicyError> {
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).map_err(|e| {
                PolicyError(format!(
                    "cannot create the audit log folder {}: {e}",
                    dir.display()
                ))
            })?;
        }
        let file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
            .map_err(|e| {
                PolicyError(format!("cannot open the audit log {}: {e}", path.display()))
            })?;
        Ok(AuditLog {
            path: path.to_path_buf(),
            file: Mutex::new(file),
        })
    }

    /// Where the log is.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Appends one record: tool, arguments, decision (`allow`, `approved`, `rejected`,
    /// `denied`), the reason, and the outcome (`ok`/`error` with a summary) when it ran.
    pub fn record(
        &self,
        tool: &str,
        args: &Value,
        decision: &str,
        reason: &str,
        outcome: Option<Result<&str, &str>>,
        ms: u128,
    ) {
        let ts = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_millis())
            .unwrap_or(0);
        let (status, summary) = match outcome {
            None => ("not_run", String::new()),
            Some(Ok(t)) => ("ok", clip(t)),
            Some(Err(e)) => ("error", clip(e)),
        };
        let line = json!({
            "ts_ms": ts,
            "tool": tool,
            "args": redact(args, None),
            "decision": decision,
            "reason": reason,
            "status": status,
            "summary": summary,
            "ms": ms,
        });
        let mut f = match self.file.lock() {
            Ok(g) => g,
            Err(p) => p.into_inner(),
        };
        if let Err(e) = writeln!(f, "{line}").and_then(|_| f.flush()) {
            tracing::warn!("audit log {}: {e}", self.path.display());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_are_masked_and_long_strings_cut() {
        let v = redact(
            &json!({"password": "hunter2", "nested": {"api_key": "k"}, "text": "x".repeat(1000), "n": 3}),
            None,
        );
        assert_eq!(v["password"], "•••");
        assert_eq!(v["nested"]["api_key"], "•••");
        assert_eq!(
            v["text"].as_str().map(|s| s.chars().count()),
            Some(KEEP + 1)
        );
        assert_eq!(v["n"], 3);
    }
}
