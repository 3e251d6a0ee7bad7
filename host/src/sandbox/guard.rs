//! The write-protected names of a writable folder (`.git/hooks`, `.mcp.json`, shell start-up
//! files …), guarded where the kernel cannot make them read-only: under the Landlock fallback
//! a folder is writable as a whole. The guard copies them before the command and, when the
//! command has ended, puts back whatever it changed, made or removed, and says what.
//!
//! Weaker than bubblewrap's read-only mounts, and said so in the README: between the change and
//! the restore, only the sandboxed command itself can act on it.

use std::collections::BTreeMap;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

/// Most bytes of protected files kept for restoring (beyond it a change is only reported).
const MAX_BYTES: u64 = 8 << 20;

#[derive(Debug, Clone, PartialEq, Eq)]
enum Entry {
    File {
        bytes: Option<Vec<u8>>,
        mode: u32,
        len: u64,
        mtime: i64,
    },
    Dir {
        mode: u32,
    },
    Link(PathBuf),
}

/// A copy of the protected paths of some folders, taken before a command.
#[derive(Debug)]
pub struct Guard {
    /// The protected paths watched (existing or not).
    watched: Vec<PathBuf>,
    before: BTreeMap<PathBuf, Entry>,
}

impl Guard {
    /// Copies the protected paths of `roots` (those that exist, and the top-level names that do
    /// not, which must stay absent).
    pub fn take(roots: &[PathBuf], home: Option<&Path>) -> Guard {
        let mut watched = Vec::new();
        for root in roots {
            watched.extend(super::protected_in(root));
            watched.extend(
                super::missing_protected(root, home)
                    .into_iter()
                    .map(|(p, _)| p),
            );
        }
        watched.sort();
        watched.dedup();
        let mut budget = MAX_BYTES;
        let before = snapshot(&watched, &mut budget);
        Guard { watched, before }
    }

    /// Puts back what changed since [`Guard::take`]; the paths restored (empty: nothing
    /// changed), and those that could not be.
    pub fn restore(&self) -> (Vec<PathBuf>, Vec<String>) {
        let mut budget = u64::MAX;
        let now = snapshot(&self.watched, &mut budget);
        let mut touched = Vec::new();
        let mut failed = Vec::new();
        // What appeared or changed type: removed, deepest first.
        for (p, e) in now.iter().rev() {
            let keep = self.before.get(p).is_some_and(|b| same_kind(b, e));
            if !keep {
                let r = match e {
                    Entry::Dir { .. } => std::fs::remove_dir_all(p),
                    _ => std::fs::remove_file(p),
                };
                if let Err(err) = r {
                    if err.kind() != std::io::ErrorKind::NotFound {
                        failed.push(format!("{}: {err}", p.display()));
                    }
                }
                touched.push(p.clone());
            }
        }
        // What was there: made again or rewritten, shallowest first.
        for (p, b) in &self.before {
            let same = now.get(p).is_some_and(|n| unchanged(b, n));
            if same && touched.iter().all(|t| !p.starts_with(t)) {
                continue;
            }
            let r = match b {
                Entry::Dir { mode } => std::fs::create_dir_all(p).and_then(|()| {
                    std::fs::set_permissions(p, std::fs::Permissions::from_mode(*mode))
                }),
                Entry::Link(target) => {
                    let _ = std::fs::remove_file(p);
                    std::os::unix::fs::symlink(target, p)
                }
                Entry::File {
                    bytes: Some(bytes),
                    mode,
                    ..
                } => write_back(p, bytes, *mode),
                Entry::File { bytes: None, .. } => Err(std::io::Error::other(
                    "too large to have been copied; check it by hand",
                )),
            };
            if let Err(err) = r {
                failed.push(format!("{}: {err}", p.display()));
            }
            touched.push(p.clone());
        }
        touched.sort();
        touched.dedup();
        (touched, failed)
    }
}

/// Whether `now` is what `before` was (content when both were copied, else size and time).
fn unchanged(before: &Entry, now: &Entry) -> bool {
    match (before, now) {
        (
            Entry::File {
                bytes: Some(a),
                mode: ma,
                ..
            },
            Entry::File {
                bytes: Some(b),
                mode: mb,
                ..
            },
        ) => a == b && ma == mb,
        (
            Entry::File {
                len: la,
                mtime: ta,
                mode: ma,
                ..
            },
            Entry::File {
                len: lb,
                mtime: tb,
                mode: mb,
                ..
            },
        ) => la == lb && ta == tb && ma == mb,
        (a, b) => a == b,
    }
}

fn same_kind(a: &Entry, b: &Entry) -> bool {
    matches!(
        (a, b),
        (Entry::File { .. }, Entry::File { .. })
            | (Entry::Dir { .. }, Entry::Dir { .. })
            | (Entry::Link(_), Entry::Link(_))
    )
}

fn write_back(p: &Path, bytes: &[u8], mode: u32) -> std::io::Result<()> {
    // A hard link made meanwhile must not carry the old content elsewhere: a new inode.
    let _ = std::fs::remove_file(p);
    std::fs::write(p, bytes)?;
    std::fs::set_permissions(p, std::fs::Permissions::from_mode(mode))
}

/// The entries at and under `paths` (links not followed).
fn snapshot(paths: &[PathBuf], budget: &mut u64) -> BTreeMap<PathBuf, Entry> {
    let mut out = BTreeMap::new();
    let mut stack: Vec<PathBuf> = paths.to_vec();
    while let Some(p) = stack.pop() {
        let Ok(m) = std::fs::symlink_metadata(&p) else {
            continue;
        };
        let mode = m.permissions().mode() & 0o7777;
        let entry = if m.file_type().is_symlink() {
            Entry::Link(std::fs::read_link(&p).unwrap_or_default())
        } else if m.is_dir() {
            if let Ok(rd) = std::fs::read_dir(&p) {
                stack.extend(rd.flatten().map(|e| e.path()));
            }
            Entry::Dir { mode }
        } else {
            let bytes = if m.len() <= *budget {
                std::fs::read(&p).ok().inspect(|b| {
                    *budget = budget.saturating_sub(b.len() as u64);
                })
            } else {
                None
            };
            use std::os::unix::fs::MetadataExt;
            Entry::File {
                bytes,
                mode,
                len: m.len(),
                mtime: m.mtime_nsec() + m.mtime() * 1_000_000_000,
            }
        };
        out.insert(p, entry);
    }
    out
}
