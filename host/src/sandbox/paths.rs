//! Path confinement for the file tools: a path is resolved (symlinks and `..` followed, as
//! the kernel would) before it is checked against the roots, so no spelling reaches outside.

use std::path::{Component, Path, PathBuf};

/// What a tool will do with a path.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// Read it (or list it).
    Read,
    /// Create, change or delete it.
    Write,
}

/// Why a path was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PathError {
    /// It resolves outside every root.
    #[error("{path} is outside the workspace ({roots}): the file tools only reach the workspace and the folders the person added")]
    Outside {
        /// The path as given.
        path: String,
        /// The roots, for the message.
        roots: String,
    },
    /// It is inside a read-only root (skills folders).
    #[error("{0} is in a read-only folder: it can be read, not changed")]
    ReadOnly(String),
    /// It is one of the files the sandbox write-protects.
    #[error(
        "{path} is write-protected ({why}): neither the file tools nor the shell may change it"
    )]
    Protected {
        /// The path as given.
        path: String,
        /// Which rule.
        why: &'static str,
    },
    /// A final symlink whose target does not exist (writing would create the target, wherever
    /// it points).
    #[error("{0} is a symbolic link to a file that does not exist; refusing to write through it")]
    DanglingLink(String),
    /// One of the user's secrets (keys, credentials, browser profiles), hidden from the
    /// sandbox too.
    #[error("{0} holds the user's secrets (keys, credentials or a browser profile); the tools never read or change it")]
    Secret(String),
    /// Cannot be looked at.
    #[error("{0}")]
    Io(String),
}

/// Files and folders inside a writable root that nothing in the sandbox may change: they run
/// code or configure the agent the next time someone opens the workspace. Matched on any path
/// component sequence ending the relative path (`.git/hooks/pre-commit` matches `.git/hooks`).
pub const PROTECTED: &[(&str, &str)] = &[
    (".git/hooks", "git hooks run code on the next git command"),
    (".git/config", "git config can name programs git runs"),
    (
        ".git/config.worktree",
        "git config can name programs git runs",
    ),
    (
        ".git/commondir",
        "it points git at another repository's config and hooks",
    ),
    (".git/worktrees", "worktree config and hooks git reads"),
    (
        ".git/modules",
        "submodule repositories with their own config and hooks",
    ),
    (".mcp.json", "it names MCP servers the agent would start"),
    (".tabwright", "the workspace's Tabwright settings"),
    (".claude", "agent settings, skills and hooks"),
    (".bashrc", "a shell start-up file"),
    (".bash_profile", "a shell start-up file"),
    (".bash_login", "a shell start-up file"),
    (".profile", "a shell start-up file"),
    (".zshrc", "a shell start-up file"),
    (".zprofile", "a shell start-up file"),
    (".zshenv", "a shell start-up file"),
    (".zlogin", "a shell start-up file"),
    (".zlogout", "a shell start-up file"),
    (".bash_aliases", "a shell start-up file"),
    (".bash_logout", "a shell start-up file"),
    (".inputrc", "a shell start-up file"),
    (".config/git", "git config can name programs git runs"),
    (".config/fish", "a shell start-up folder"),
    (".config/autostart", "programs started at login"),
    (".config/systemd", "services started for the user"),
    (".local/bin", "programs found before the system's on PATH"),
    (".gitconfig", "git config can name programs git runs"),
    (".gitmodules", "git submodules fetch code"),
    (".vscode", "editor tasks run code"),
    (".idea", "editor settings run code"),
    (".cursor", "another agent's settings and MCP servers"),
    (".gemini", "another agent's settings and MCP servers"),
    (".codex", "another agent's settings and MCP servers"),
    (".windsurf", "another agent's settings and MCP servers"),
    (".zed", "editor settings and tasks run code"),
    (".helix", "editor language servers run code"),
    (".nvim.lua", "an editor's local config runs code"),
    (".nvimrc", "an editor's local config runs code"),
    (".exrc", "an editor's local config runs code"),
    (
        ".devcontainer",
        "its commands run when the container is built",
    ),
    (".envrc", "direnv runs it on entering the folder"),
    (
        ".npmrc",
        "npm config names the shell and node options npm runs scripts with",
    ),
    (".yarnrc", "yarn config names the program yarn runs"),
    (".yarnrc.yml", "yarn config names the program yarn runs"),
    (
        ".pre-commit-config.yaml",
        "pre-commit runs the hooks it names on every commit",
    ),
    (".hg/hgrc", "Mercurial hooks run code"),
    (
        ".cargo/config.toml",
        "cargo config names programs cargo runs (rustc-wrapper, runners)",
    ),
    (
        ".cargo/config",
        "cargo config names programs cargo runs (rustc-wrapper, runners)",
    ),
];

/// The folders the file tools may reach.
#[derive(Debug, Clone, Default)]
pub struct Roots {
    /// Read-write: the workspace first, then folders the person added.
    pub writable: Vec<PathBuf>,
    /// Read-only: skills folders and the like.
    pub readable: Vec<PathBuf>,
}

impl Roots {
    /// Just the workspace, read-write.
    pub fn workspace(ws: impl Into<PathBuf>) -> Roots {
        Roots {
            writable: vec![ws.into()],
            readable: Vec::new(),
        }
    }

    /// The workspace (the first writable root).
    pub fn main(&self) -> Option<&Path> {
        self.writable.first().map(PathBuf::as_path)
    }

    fn describe(&self) -> String {
        self.writable
            .iter()
            .chain(&self.readable)
            .map(|p| p.display().to_string())
            .collect::<Vec<_>>()
            .join(", ")
    }

    /// Resolves `path` (absolute, or relative to `base`) for `access`: the real path, with
    /// every symlink and `..` resolved — for a file that does not exist yet, its deepest
    /// existing ancestor is resolved and the rest appended (no `..` allowed in that rest) —
    /// then checked against the roots and, for writes, the protected names.
    pub fn resolve(&self, path: &str, base: &Path, access: Access) -> Result<PathBuf, PathError> {
        if path.is_empty() {
            return Err(PathError::Io("the path is empty".into()));
        }
        if path.contains('\0') {
            return Err(PathError::Io("the path contains a NUL byte".into()));
        }
        let given = Path::new(path);
        let joined = if given.is_absolute() {
            given.to_path_buf()
        } else {
            base.join(given)
        };
        let real = real_path(&joined, path, access)?;
        if super::is_secret(&real) {
            return Err(PathError::Secret(path.to_string()));
        }
        let inside = |roots: &[PathBuf]| {
            roots
                .iter()
                .filter_map(|r| r.canonicalize().ok())
                .find(|r| real.starts_with(r))
        };
        match (inside(&self.writable), inside(&self.readable)) {
            (Some(root), _) => {
                if access == Access::Write {
                    let rel = real.strip_prefix(&root).unwrap_or(&real);
                    let home = std::env::var_os("HOME").map(PathBuf::from);
                    let why = protected(rel)
                        .or_else(|| super::git::write_risk(&root, rel))
                        .or_else(|| {
                            super::git::named_by_config(&root, &real, home.as_deref()).then_some(
                                "the repository's git config names it (an include, the hooks folder or a program git runs)",
                            )
                        });
                    if let Some(why) = why {
                        return Err(PathError::Protected {
                            path: path.to_string(),
                            why,
                        });
                    }
                }
                Ok(real)
            }
            (None, Some(_)) if access == Access::Read => Ok(real),
            (None, Some(_)) => Err(PathError::ReadOnly(path.to_string())),
            (None, None) => Err(PathError::Outside {
                path: path.to_string(),
                roots: self.describe(),
            }),
        }
    }
}

/// Whether a file named `name` could end a protected path (the last part of one of
/// [`PROTECTED`]): a cheap test before [`protected`] on every entry of a tree walk.
pub fn protected_name(name: &std::ffi::OsStr) -> bool {
    PROTECTED
        .iter()
        .any(|(p, _)| p.rsplit('/').next().is_some_and(|last| name == last))
}

/// Which protection rule, if any, covers `rel` (a path relative to a writable root).
pub fn protected(rel: &Path) -> Option<&'static str> {
    let parts: Vec<String> = rel
        .components()
        .filter_map(|c| match c {
            Component::Normal(s) => Some(s.to_string_lossy().to_string()),
            _ => None,
        })
        .collect();
    for (name, why) in PROTECTED {
        let want: Vec<&str> = name.split('/').collect();
        // Anywhere in the tree: a nested repository's hooks are as dangerous.
        for start in 0..parts.len() {
            if parts.len() - start >= want.len()
                && parts[start..start + want.len()]
                    .iter()
                    .zip(&want)
                    .all(|(a, b)| a == b)
            {
                return Some(why);
            }
        }
    }
    None
}

/// The real path of `joined`: canonical when it exists; otherwise the canonical deepest
/// existing ancestor plus the remaining plain components.
fn real_path(joined: &Path, shown: &str, access: Access) -> Result<PathBuf, PathError> {
    match std::fs::symlink_metadata(joined) {
        Ok(m) if m.file_type().is_symlink() => {
            return match joined.canonicalize() {
                Ok(p) => Ok(p),
                Err(_) if access == Access::Write => Err(PathError::DanglingLink(shown.into())),
                Err(e) => Err(PathError::Io(format!("cannot read {shown}: {e}"))),
            };
        }
        Ok(_) => {
            return joined
                .canonicalize()
                .map_err(|e| PathError::Io(format!("cannot resolve {shown}: {e}")));
        }
        Err(_) => {}
    }
    // Does not exist (yet): walk up to the deepest ancestor that does.
    let mut rest: Vec<std::ffi::OsString> = Vec::new();
    let mut cur = joined.to_path_buf();
    loop {
        match std::fs::symlink_metadata(&cur) {
            Ok(m) if m.file_type().is_symlink() && cur.canonicalize().is_err() => {
                return Err(PathError::DanglingLink(shown.into()));
            }
            Ok(_) => break,
            Err(_) => {}
        }
        let Some(name) = cur.file_name().map(|n| n.to_os_string()) else {
            return Err(PathError::Io(format!("cannot resolve {shown}")));
        };
        if name == ".." || name == "." {
            return Err(PathError::Io(format!(
                "{shown}: `..` or `.` after a folder that does not exist"
            )));
        }
        rest.push(name);
        cur = match cur.parent() {
            Some(p) => p.to_path_buf(),
            None => return Err(PathError::Io(format!("cannot resolve {shown}"))),
        };
    }
    let mut real = cur
        .canonicalize()
        .map_err(|e| PathError::Io(format!("cannot resolve {shown}: {e}")))?;
    for name in rest.into_iter().rev() {
        real.push(name);
    }
    Ok(real)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tmp(tag: &str) -> PathBuf {
        let d = std::env::temp_dir().join(format!("tw-paths-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(d.join("ws/sub")).expect("mkdir");
        std::fs::create_dir_all(d.join("outside")).expect("mkdir");
        std::fs::write(d.join("outside/secret"), "s").expect("write");
        std::fs::write(d.join("ws/a.txt"), "a").expect("write");
        d
    }

    #[test]
    fn every_spelling_of_outside_is_refused() {
        let d = tmp("outside");
        let ws = d.join("ws");
        let roots = Roots::workspace(&ws);
        let r = |p: &str, a| roots.resolve(p, &ws, a);
        assert!(r("a.txt", Access::Read).is_ok());
        assert!(r("sub/../a.txt", Access::Write).is_ok());
        assert!(r("new/deeper/file.txt", Access::Write).is_ok());
        for p in [
            "../outside/secret",
            "sub/../../outside/secret",
            "/etc/passwd",
            &d.join("outside/secret").display().to_string(),
            "/proc/self/root/etc/passwd",
            "nosuch/../../outside/x",
        ] {
            assert!(r(p, Access::Read).is_err(), "{p} read");
            assert!(r(p, Access::Write).is_err(), "{p} write");
        }
        std::os::unix::fs::symlink(d.join("outside"), ws.join("link")).expect("symlink");
        assert!(matches!(
            r("link/secret", Access::Read),
            Err(PathError::Outside { .. })
        ));
        assert!(matches!(
            r("link/new", Access::Write),
            Err(PathError::Outside { .. })
        ));
        std::os::unix::fs::symlink(d.join("outside/nothing"), ws.join("dangling"))
            .expect("symlink");
        assert!(matches!(
            r("dangling", Access::Write),
            Err(PathError::DanglingLink(_))
        ));
        assert!(matches!(
            r("dangling/x", Access::Write),
            Err(PathError::DanglingLink(_))
        ));
        // A symlink inside that stays inside is fine.
        std::os::unix::fs::symlink(ws.join("a.txt"), ws.join("alias")).expect("symlink");
        assert_eq!(
            r("alias", Access::Write).expect("inside"),
            ws.canonicalize().expect("ws").join("a.txt")
        );
    }

    #[test]
    fn protected_files_can_be_read_not_written() {
        let d = tmp("protected");
        let ws = d.join("ws");
        std::fs::create_dir_all(ws.join(".git/hooks")).expect("mkdir");
        let roots = Roots::workspace(&ws);
        for p in [
            ".git/hooks/pre-commit",
            ".mcp.json",
            "sub/.bashrc",
            ".git/config",
            "vendor/x/.git/hooks/post-checkout",
        ] {
            assert!(
                matches!(
                    roots.resolve(p, &ws, Access::Write),
                    Err(PathError::Protected { .. })
                ),
                "{p}"
            );
        }
        assert!(roots.resolve(".git/HEAD", &ws, Access::Write).is_ok());
        assert!(roots.resolve(".mcp.json", &ws, Access::Read).is_ok());
        assert!(roots.resolve("notes.mcp.json", &ws, Access::Write).is_ok());
    }

    #[test]
    fn read_only_roots_are_read_only() {
        let d = tmp("ro");
        let ws = d.join("ws");
        let roots = Roots {
            writable: vec![ws.clone()],
            readable: vec![d.join("outside")],
        };
        assert!(roots
            .resolve(
                &d.join("outside/secret").display().to_string(),
                &ws,
                Access::Read
            )
            .is_ok());
        assert!(matches!(
            roots.resolve(
                &d.join("outside/secret").display().to_string(),
                &ws,
                Access::Write
            ),
            Err(PathError::ReadOnly(_))
        ));
    }
}
