//! What git would read as a repository, and which files of a writable folder would therefore
//! run code on the person's next git command: git directories recognised the way git itself
//! recognises them (not only folders named `.git`), the `gitdir:` files that point at one, and
//! the files a repository's config sends git to (includes, `core.hooksPath`, programs named
//! by path).
//!
//! Used by the session guard ([`super::guard`]) and by the file tools' write check
//! ([`super::paths`]). May use: nothing else of the crate.

use std::path::{Component, Path, PathBuf};

/// Files and folders of a git directory that make git run code or read another config.
pub const GIT_DIR_PROTECTED: &[&str] = &[
    "config",
    "config.worktree",
    "commondir",
    "hooks",
    "worktrees",
    "modules",
];

/// Whether `dir` is a git directory as git's `is_git_directory()` decides it: a `HEAD`, and
/// `objects` and `refs` in it (or in the folder its `commondir` names). Links are followed
/// and any kind of entry counts (git only checks that the path can be reached), so a
/// symlinked `objects` or a split layout is a repository too.
pub fn is_git_dir(dir: &Path) -> bool {
    signature(&|name: &str| std::fs::metadata(dir.join(name)).is_ok())
}

/// [`is_git_dir`] over a folder's names (`has` says whether an entry of that name exists):
/// for a tree walk that already read the folder. A `commondir` counts on its own: what it
/// names is checked by git, not here, so a folder with `HEAD` and `commondir` is treated as
/// a repository whatever the other folder holds.
pub fn signature(has: &dyn Fn(&str) -> bool) -> bool {
    has("HEAD") && (has("commondir") || (has("objects") && has("refs")))
}

/// The folder a git directory's `commondir` names (resolved against it), if it has one.
pub fn commondir_target(git_dir: &Path) -> Option<PathBuf> {
    let text = read_small(&git_dir.join("commondir"))?;
    let target = text.lines().next()?.trim();
    if target.is_empty() {
        return None;
    }
    Some(git_dir.join(target))
}

/// Config keys whose value is a program git runs (the first word, when it is a path, names a
/// file that runs the next time git does): `core.fsmonitor`, `diff.<x>.textconv`,
/// `filter.<x>.smudge` …
const PROGRAM_KEYS: &[&str] = &[
    "core.fsmonitor",
    "core.pager",
    "core.editor",
    "core.sshcommand",
    "core.askpass",
    "sequence.editor",
    "gpg.program",
    "credential.helper",
    "uploadpack.packobjectshook",
    "ssh.variant",
];

/// Config keys of the form `<section>.<name>.<key>` whose value is a program.
const PROGRAM_SUBKEYS: &[(&str, &str)] = &[
    ("diff", "textconv"),
    ("diff", "command"),
    ("filter", "clean"),
    ("filter", "smudge"),
    ("filter", "process"),
    ("merge", "driver"),
    ("gpg", "program"),
    ("credential", "helper"),
    ("difftool", "cmd"),
    ("mergetool", "cmd"),
];

/// The files a git config sends git to, besides itself: `include.path` and
/// `includeIf.*.path` targets (read as config, followed, up to ten deep), the `core.hooksPath`
/// folder, and programs named by a path. `worktree` is the folder relative paths of hooks and
/// programs are taken from (the repository's top level); includes are relative to the config
/// file. Absolute paths; whether each exists is the caller's to check.
pub fn config_targets(config: &Path, worktree: &Path, home: Option<&Path>) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut todo = vec![(config.to_path_buf(), 0usize)];
    while let Some((file, depth)) = todo.pop() {
        let Some(text) = read_small(&file) else {
            continue;
        };
        let base = file.parent().unwrap_or(Path::new("/")).to_path_buf();
        for (key, value) in parse(&text) {
            let first = value.split_whitespace().next().unwrap_or("").to_string();
            let expand = |v: &str, rel_to: &Path| -> Option<PathBuf> {
                if let Some(rest) = v.strip_prefix("~/") {
                    return home.map(|h| h.join(rest));
                }
                let v = v.strip_prefix("%(prefix)/").map_or(v, |r| r);
                if v.is_empty() {
                    return None;
                }
                Some(rel_to.join(v))
            };
            let parts: Vec<&str> = key.split('.').collect();
            let is_include = key == "include.path"
                || (parts.first() == Some(&"includeif") && parts.last() == Some(&"path"));
            if is_include {
                if let Some(p) = expand(&value, &base) {
                    out.push(p.clone());
                    if depth < 10 {
                        todo.push((p, depth + 1));
                    }
                }
            } else if key == "core.hookspath" {
                if let Some(p) = expand(&value, worktree) {
                    out.push(p);
                }
            } else if value_names_program(&key, &parts) {
                // `!cmd` (a shell snippet) or a plain word on PATH cannot be pinned to a file;
                // a path can.
                let word = first.trim_start_matches('!');
                if word.contains('/') {
                    if let Some(p) = expand(word, worktree) {
                        out.push(p);
                    }
                }
            }
        }
    }
    out
}

fn value_names_program(key: &str, parts: &[&str]) -> bool {
    if PROGRAM_KEYS.contains(&key) {
        return true;
    }
    if parts.len() >= 3 {
        let (section, last) = (parts[0], parts[parts.len() - 1]);
        return PROGRAM_SUBKEYS
            .iter()
            .any(|(s, k)| *s == section && *k == last);
    }
    parts.first() == Some(&"alias")
}

/// The `(section[.subsection].key, value)` pairs of a git config, keys lower-cased except the
/// subsection (which git compares as written); quotes and escapes undone, comments dropped.
/// Lenient: a line it cannot read is skipped (git would refuse the whole file; nothing it
/// would run is missed by reading more).
pub fn parse(text: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut section = String::new();
    for raw in text.lines() {
        let line = raw.trim();
        if line.is_empty() || line.starts_with('#') || line.starts_with(';') {
            continue;
        }
        let rest = if let Some(after) = line.strip_prefix('[') {
            let Some(end) = after.find(']') else {
                continue;
            };
            let head = &after[..end];
            section = match head.split_once(char::is_whitespace) {
                Some((name, sub)) => {
                    let sub = sub.trim().trim_matches('"');
                    format!("{}.{}", name.to_lowercase(), sub.to_lowercase())
                }
                None => head.to_lowercase(),
            };
            after[end + 1..].trim()
        } else {
            line
        };
        if rest.is_empty() || rest.starts_with('#') || rest.starts_with(';') {
            continue;
        }
        let (k, v) = match rest.split_once('=') {
            Some((k, v)) => (k.trim(), v.trim()),
            None => (rest, "true"),
        };
        if section.is_empty() || k.is_empty() {
            continue;
        }
        out.push((format!("{section}.{}", k.to_lowercase()), unquote(v)));
    }
    out
}

/// A config value as git reads it: quotes removed, `\"`, `\\`, `\n`, `\t` undone, a comment
/// outside quotes dropped.
fn unquote(v: &str) -> String {
    let mut out = String::new();
    let mut quoted = false;
    let mut chars = v.chars();
    while let Some(c) = chars.next() {
        match c {
            '"' => quoted = !quoted,
            '\\' => match chars.next() {
                Some('n') => out.push('\n'),
                Some('t') => out.push('\t'),
                Some(o) => out.push(o),
                None => {}
            },
            '#' | ';' if !quoted => break,
            o => out.push(o),
        }
    }
    out.trim().to_string()
}

/// Whether `real` (a resolved path inside the writable folder `root`) is something the
/// config of a repository above it sends git to: an included config, a file of its hooks
/// folder (husky's `.husky/_` and the scripts above it), a program named by path.
pub fn named_by_config(root: &Path, real: &Path, home: Option<&Path>) -> bool {
    let mut dir = real.parent();
    while let Some(top) = dir {
        if !top.starts_with(root) {
            break;
        }
        let git = top.join(".git");
        if git.is_dir() {
            for cfg in ["config", "config.worktree"] {
                for t in config_targets(&git.join(cfg), top, home) {
                    let t = lexical(&t);
                    let husky = t.file_name().is_some_and(|n| n == "_");
                    let hit = t != top
                        && (real.starts_with(&t)
                            || (husky && t.parent().is_some_and(|up| real.starts_with(up))));
                    if hit {
                        return true;
                    }
                }
            }
        }
        dir = top.parent();
    }
    false
}

/// `p` with `.` and `..` taken lexically.
pub fn lexical(p: &Path) -> PathBuf {
    let mut norm = PathBuf::new();
    for c in p.components() {
        match c {
            Component::ParentDir => {
                norm.pop();
            }
            Component::CurDir => {}
            other => norm.push(other.as_os_str()),
        }
    }
    norm
}

/// A small file's text (configs and `gitdir:` files are small; a huge one is not read).
fn read_small(p: &Path) -> Option<String> {
    let m = std::fs::metadata(p).ok()?;
    if !m.is_file() || m.len() > (1 << 20) {
        return None;
    }
    let bytes = std::fs::read(p).ok()?;
    Some(String::from_utf8_lossy(&bytes).into_owned())
}

/// Why a write to `rel` (beneath the writable folder `root`, not followed through links)
/// would give git something to run, if it would: a `.git` file or folder of its own; the
/// config, hooks or `commondir` of a folder git reads as a repository; or the last piece
/// (`HEAD`, `objects`, `refs`, `commondir`) that makes a folder holding a config or hooks one.
pub fn write_risk(root: &Path, rel: &Path) -> Option<&'static str> {
    let parts: Vec<&std::ffi::OsStr> = rel
        .components()
        .filter_map(|c| match c {
            Component::Normal(s) => Some(s),
            _ => None,
        })
        .collect();
    if parts.last().is_some_and(|n| *n == ".git") {
        return Some("a .git file tells git where a repository's config and hooks are");
    }
    let mut dir = root.to_path_buf();
    for (i, name) in parts.iter().enumerate() {
        let Some(name) = name.to_str() else {
            dir.push(name);
            continue;
        };
        let last = i + 1 == parts.len();
        let was = is_git_dir(&dir);
        if GIT_DIR_PROTECTED.contains(&name)
            && (last || matches!(name, "hooks" | "worktrees" | "modules"))
            && (was || signature(&|n: &str| n == name || std::fs::metadata(dir.join(n)).is_ok()))
        {
            return Some("git reads this folder as a repository: its config and hooks run code on the next git command");
        }
        if matches!(name, "HEAD" | "objects" | "refs" | "commondir") && !was {
            let after = signature(&|n: &str| n == name || std::fs::metadata(dir.join(n)).is_ok());
            let armed = ["config", "config.worktree", "hooks"]
                .iter()
                .any(|n| std::fs::symlink_metadata(dir.join(n)).is_ok());
            if after && armed {
                return Some(
                    "it would make a folder with a git config or hooks a repository git reads",
                );
            }
        }
        dir.push(name);
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_includes_hooks_and_programs() {
        let dir = std::env::temp_dir().join(format!("tw-git-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(dir.join(".git")).expect("mkdir");
        std::fs::create_dir_all(dir.join("tools")).expect("mkdir");
        std::fs::write(
            dir.join(".git/config"),
            "[core]\n\tHooksPath = .husky ; husky\n\tfsmonitor = \"tools/fsmon.sh --x\"\n[include]\n\tpath = ../tools/gitconfig\n[includeIf \"gitdir:~/w/\"]\n\tpath = ~/inc.cfg\n[diff \"pdf\"]\n\ttextconv = ./bin/pdf2txt\n[alias]\n\tst = !./scripts/st.sh\n\tco = checkout\n",
        )
        .expect("config");
        std::fs::write(
            dir.join("tools/gitconfig"),
            "[filter \"lfs\"]\n\tsmudge = tools/smudge %f\n",
        )
        .expect("inc");
        let got = config_targets(&dir.join(".git/config"), &dir, Some(Path::new("/h")));
        for want in [
            dir.join(".husky"),
            dir.join("tools/fsmon.sh"),
            dir.join(".git/../tools/gitconfig"),
            PathBuf::from("/h/inc.cfg"),
            dir.join("./bin/pdf2txt"),
            dir.join("./scripts/st.sh"),
            dir.join("tools/smudge"),
        ] {
            assert!(got.contains(&want), "{want:?} not in {got:?}");
        }
        assert_eq!(got.len(), 7, "{got:?}");
    }

    #[test]
    fn git_dirs_as_git_sees_them() {
        let d = std::env::temp_dir().join(format!("tw-gitdir-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(d.join("a/o")).expect("mkdir");
        std::fs::create_dir_all(d.join("a/refs")).expect("mkdir");
        std::fs::write(d.join("a/HEAD"), "ref: refs/heads/main\n").expect("head");
        assert!(!is_git_dir(&d.join("a")));
        std::os::unix::fs::symlink("o", d.join("a/objects")).expect("link");
        assert!(
            is_git_dir(&d.join("a")),
            "a symlinked objects folder counts"
        );
        std::fs::create_dir_all(d.join("b")).expect("mkdir");
        std::fs::write(d.join("b/HEAD"), "x").expect("head");
        std::fs::write(d.join("b/commondir"), "../a").expect("commondir");
        assert!(is_git_dir(&d.join("b")), "a split layout counts");
        // Writes the file tools refuse.
        std::fs::write(d.join("c.txt"), "").expect("c");
        assert!(write_risk(&d, Path::new("a/config")).is_some());
        assert!(write_risk(&d, Path::new("a/hooks/pre-commit")).is_some());
        assert!(write_risk(&d, Path::new("b/config.worktree")).is_some());
        assert!(write_risk(&d, Path::new("sub/.git")).is_some());
        std::fs::create_dir_all(d.join("e/objects")).expect("mkdir");
        std::fs::create_dir_all(d.join("e/refs")).expect("mkdir");
        std::fs::write(d.join("e/config"), "[core]\n").expect("config");
        assert!(write_risk(&d, Path::new("e/HEAD")).is_some(), "arming HEAD");
        std::fs::create_dir_all(d.join("f")).expect("mkdir");
        std::fs::write(d.join("f/HEAD"), "x").expect("head");
        std::fs::write(d.join("f/config"), "x").expect("config");
        assert!(write_risk(&d, Path::new("f/commondir")).is_some());
        // Ordinary files are fine, a repository's HEAD too.
        assert!(write_risk(&d, Path::new("a/HEAD")).is_none());
        assert!(write_risk(&d, Path::new("docs/refs/x.md")).is_none());
        assert!(write_risk(&d, Path::new("config")).is_none());
        assert!(write_risk(&d, Path::new("src/hooks/useThing.ts")).is_none());
    }
}
