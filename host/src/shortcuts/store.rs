//! The shortcuts folder: one `ID.json` file per shortcut, written atomically (a temporary
//! file in the same folder, then a rename), listed and looked up by id, name or slash command.
//!
//! Where: the session's override (tests), else the process-wide one (`--shortcuts-dir`),
//! else `$TABWRIGHT_SHORTCUTS_DIR`, else `$XDG_DATA_HOME/tabwright/shortcuts`, else
//! `~/.local/share/tabwright/shortcuts`. Touches only that folder.

use std::path::{Path, PathBuf};
use std::sync::{Mutex, OnceLock};

use super::format::{slug, FormatError, Shortcut};
use crate::browser::Session;

static PROCESS_DIR: OnceLock<PathBuf> = OnceLock::new();

/// Sets the process-wide shortcuts folder (the CLI's `--shortcuts-dir`); the first call wins.
pub fn set_process_dir(dir: PathBuf) {
    let _ = PROCESS_DIR.set(dir);
}

/// A per-session folder override (a session extension).
#[derive(Default)]
pub struct SessionDir(Mutex<Option<PathBuf>>);

/// Makes `session` use `dir` for its shortcuts (tests, embedders).
pub fn set_session_dir(session: &Session, dir: PathBuf) {
    let slot = session.ext::<SessionDir>();
    let mut g = match slot.0.lock() {
        Ok(g) => g,
        Err(p) => p.into_inner(),
    };
    *g = Some(dir);
}

/// The default folder, from the environment.
pub fn default_dir() -> PathBuf {
    if let Some(d) = PROCESS_DIR.get() {
        return d.clone();
    }
    if let Some(d) = std::env::var_os("TABWRIGHT_SHORTCUTS_DIR").filter(|d| !d.is_empty()) {
        return PathBuf::from(d);
    }
    if let Some(d) = std::env::var_os("XDG_DATA_HOME").filter(|d| !d.is_empty()) {
        return PathBuf::from(d).join("tabwright").join("shortcuts");
    }
    let home = std::env::var_os("HOME")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("."));
    home.join(".local/share/tabwright/shortcuts")
}

/// A shortcuts folder.
#[derive(Debug, Clone)]
pub struct Store {
    /// The folder.
    pub dir: PathBuf,
}

/// One entry of [`Store::list`].
#[derive(Debug, Clone)]
pub struct Entry {
    /// The file.
    pub path: PathBuf,
    /// The shortcut, or why the file could not be read.
    pub shortcut: Result<Shortcut, String>,
}

impl Store {
    /// The store at `dir`.
    pub fn at(dir: impl Into<PathBuf>) -> Store {
        Store { dir: dir.into() }
    }

    /// The store `session` uses.
    pub fn for_session(session: &Session) -> Store {
        let slot = session.ext::<SessionDir>();
        let own = match slot.0.lock() {
            Ok(g) => g.clone(),
            Err(p) => p.into_inner().clone(),
        };
        Store::at(own.unwrap_or_else(default_dir))
    }

    /// Every `*.json` file in the folder, sorted by file name (an absent folder is empty).
    pub fn list(&self) -> Vec<Entry> {
        let Ok(rd) = std::fs::read_dir(&self.dir) else {
            return Vec::new();
        };
        let mut paths: Vec<PathBuf> = rd
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|e| e == "json"))
            .collect();
        paths.sort();
        paths
            .into_iter()
            .map(|path| {
                let shortcut = super::load_file(&path).map_err(|e| e.0);
                Entry { path, shortcut }
            })
            .collect()
    }

    /// Finds a shortcut by id, name (case-insensitive) or slash command (`/id` or `/name`).
    pub fn find(&self, key: &str) -> Result<(PathBuf, Shortcut), FormatError> {
        let key = key.trim().trim_start_matches('/').trim();
        let want = slug(key);
        let entries = self.list();
        for e in &entries {
            if let Ok(s) = &e.shortcut {
                if s.id == key || s.id == want || s.name.eq_ignore_ascii_case(key) {
                    return Ok((e.path.clone(), s.clone()));
                }
            }
        }
        let names: Vec<String> = entries
            .iter()
            .filter_map(|e| e.shortcut.as_ref().ok().map(|s| s.id.clone()))
            .collect();
        Err(FormatError(format!(
            "no shortcut \"{key}\" in {}; saved shortcuts: {}",
            self.dir.display(),
            if names.is_empty() {
                "none".to_string()
            } else {
                names.join(", ")
            }
        )))
    }

    /// Saves `sc` as `ID.json` atomically; returns the path.
    pub fn save(&self, sc: &Shortcut) -> std::io::Result<PathBuf> {
        std::fs::create_dir_all(&self.dir)?;
        let id = if sc.id.is_empty() {
            slug(&sc.name)
        } else {
            slug(&sc.id)
        };
        let path = self.dir.join(format!("{id}.json"));
        write_atomic(&path, sc.to_json().as_bytes())?;
        Ok(path)
    }
}

/// Writes `bytes` to `path` through a temporary file in the same folder and a rename, so
/// readers see the old or the new file, never half of one.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    let dir = path.parent().unwrap_or(Path::new("."));
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().to_string())
        .unwrap_or_else(|| "shortcut".into());
    let tmp = dir.join(format!(".{name}.{}.tmp", std::process::id()));
    {
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(bytes)?;
        f.write_all(b"\n")?;
        f.sync_all()?;
    }
    std::fs::rename(&tmp, path).inspect_err(|_| {
        let _ = std::fs::remove_file(&tmp);
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn save_list_find() {
        let dir = std::env::temp_dir().join(format!("tw-store-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let store = Store::at(&dir);
        assert!(store.list().is_empty());
        let sc = Shortcut::from_json(
            r#"{"name": "Add a todo", "steps": [{"action": "navigate", "url": "http://x/"}]}"#,
            "t",
        )
        .expect("parse");
        let path = store.save(&sc).expect("save");
        assert!(path.ends_with("add-a-todo.json"));
        std::fs::write(dir.join("broken.json"), "{").expect("write");
        let list = store.list();
        assert_eq!(list.len(), 2);
        assert!(list.iter().any(|e| e.shortcut.is_err()));
        assert_eq!(
            store.find("/add-a-todo").expect("by command").1.name,
            "Add a todo"
        );
        assert_eq!(
            store.find("add a todo").expect("by name").1.id,
            "add-a-todo"
        );
        let e = store.find("nope").expect_err("missing");
        assert!(e.0.contains("add-a-todo"), "{e}");
        let _ = std::fs::remove_dir_all(&dir);
    }
}
