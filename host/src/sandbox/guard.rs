//! The write-protected names of the writable folders (`.git/hooks`, `.git/config`,
//! `.mcp.json`, shell start-up files … see [`super::paths::PROTECTED`]), checked after every
//! command and put back to how they were.
//!
//! Under bubblewrap the existing ones are read-only mounts; the guard catches what a mount
//! cannot: protected names made *new* anywhere in the tree (`git init sub` and its hooks, a
//! new `.git/commondir`). Under the Landlock fallback a folder is writable as a whole, so the
//! guard is the protection: it copies them (content hashed, bytes kept within a budget, hooks
//! and git config first) before a command and restores them after it.
//!
//! The restore treats the tree as hostile: every change is made through a descriptor of the
//! root with `openat2(RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS)`, so a folder swapped for a link
//! during the command cannot send a write outside; a file it has no copy of is moved aside,
//! not trusted.

use std::collections::BTreeMap;
use std::ffi::CString;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Component, Path, PathBuf};

use sha2::{Digest, Sha256};

/// Most bytes of protected files kept for restoring (beyond it a change is moved aside).
const MAX_BYTES: u64 = 32 << 20;

/// Most entries looked at per folder per check.
const MAX_ENTRIES: usize = 100_000;

/// Most folders walked per root before a command, unless `TABWRIGHT_SANDBOX_MAX_FOLDERS`
/// says another number; a workspace over it is refused (the copy could not cover all of it).
pub const MAX_FOLDERS: usize = 300_000;

/// [`MAX_FOLDERS`], or what `TABWRIGHT_SANDBOX_MAX_FOLDERS` sets (read once).
pub fn max_folders() -> usize {
    static N: std::sync::OnceLock<usize> = std::sync::OnceLock::new();
    *N.get_or_init(|| {
        std::env::var("TABWRIGHT_SANDBOX_MAX_FOLDERS")
            .ok()
            .and_then(|v| v.parse().ok())
            .filter(|n| *n > 0)
            .unwrap_or(MAX_FOLDERS)
    })
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Entry {
    File {
        hash: [u8; 32],
        bytes: Option<Vec<u8>>,
        mode: u32,
        size: u64,
    },
    Dir {
        mode: u32,
    },
    Link(PathBuf),
}

impl Entry {
    fn same(&self, other: &Entry) -> bool {
        match (self, other) {
            (
                Entry::File {
                    hash: a, mode: ma, ..
                },
                Entry::File {
                    hash: b, mode: mb, ..
                },
            ) => a == b && ma == mb,
            (a, b) => a == b,
        }
    }

    fn is_dir(&self) -> bool {
        matches!(self, Entry::Dir { .. })
    }
}

/// One writable folder's protected paths (relative to it) as they were.
#[derive(Debug)]
struct Root {
    path: PathBuf,
    entries: BTreeMap<PathBuf, Entry>,
    /// The protected paths found (relative; their contents are in `entries`).
    found: Vec<PathBuf>,
    /// Every `.git` found: whether a folder, and its inode.
    gits: BTreeMap<PathBuf, (bool, u64)>,
    /// Paths the repositories' configs send git to (includes, the hooks folder, programs),
    /// as the copy found them: compared and restored like the protected names.
    extra: Vec<PathBuf>,
    /// Top-level protected names that did not exist (`.git` of a folder that is not a
    /// repository, `.mcp.json` …): whatever appears there is removed.
    absent: Vec<PathBuf>,
}

/// A copy of the protected paths of some folders.
#[derive(Debug)]
pub struct Guard {
    roots: Vec<Root>,
    /// Why the copy cannot be trusted to cover everything (too many folders, unreadable
    /// ones); a command must not run over such a copy.
    pub incomplete: Vec<String>,
}

impl Guard {
    /// Copies the protected paths of `roots` as they are now.
    pub fn take(roots: &[PathBuf], cache: &mut DirCache) -> Guard {
        let mut budget = MAX_BYTES;
        let home = std::env::var_os("HOME").map(PathBuf::from);
        let mut incomplete = Vec::new();
        let roots = roots
            .iter()
            .map(|r| {
                let first = scan(r, &mut budget, cache, &[], None);
                incomplete.extend(first.unchecked.iter().cloned());
                // What the configs found send git to is protected as well; walked again (from
                // the cache: nothing is read twice) so that it is copied with the rest.
                let extra = config_extras(r, &first.found, home.as_deref());
                let sc = if extra.is_empty() {
                    first
                } else {
                    let mut budget2 = MAX_BYTES;
                    scan(r, &mut budget2, cache, &extra, None)
                };
                Root {
                    path: r.clone(),
                    entries: sc.entries,
                    found: sc.found,
                    gits: sc.gits,
                    extra,
                    absent: super::top_protected(r, home.as_deref())
                        .into_iter()
                        .filter(|(p, _)| std::fs::symlink_metadata(p).is_err())
                        .filter_map(|(p, _)| p.strip_prefix(r).ok().map(Path::to_path_buf))
                        .collect(),
                }
            })
            .collect();
        Guard { roots, incomplete }
    }

    /// The protected paths that existed when the copy was taken (absolute).
    pub fn protected(&self) -> Vec<PathBuf> {
        self.roots
            .iter()
            .flat_map(|r| r.found.iter().map(|f| r.path.join(f)))
            .collect()
    }

    /// The `.git` folders that existed when the copy was taken (absolute).
    pub fn git_dirs(&self) -> Vec<PathBuf> {
        self.roots
            .iter()
            .flat_map(|r| {
                r.gits
                    .iter()
                    .filter(|(_, (dir, _))| *dir)
                    .map(|(g, _)| r.path.join(g))
            })
            .collect()
    }

    /// Puts back what differs from the copy: removes protected paths and `.git` entries that
    /// appeared, moves aside a `.git` put in place of the one there was, restores protected
    /// paths changed or removed. Paths in `skip` (other commands' placeholders) are left
    /// alone. The paths touched, and what could not be done.
    pub fn restore(
        &self,
        cache: &mut DirCache,
        skip: &std::collections::HashSet<PathBuf>,
    ) -> (Vec<PathBuf>, Vec<String>) {
        let mut touched = Vec::new();
        let mut failed = self.incomplete.clone();
        for root in &self.roots {
            let Ok(dir) = Beneath::open(&root.path) else {
                continue;
            };
            let mut budget = u64::MAX;
            let sc = scan(
                &root.path,
                &mut budget,
                cache,
                &root.extra,
                Some(&root.entries),
            );
            failed.extend(sc.unchecked.iter().cloned());
            let now = sc.entries;
            let skipped = |rel: &Path| {
                skip.iter().any(|s| {
                    s.starts_with(root.path.join(rel)) || root.path.join(rel).starts_with(s)
                })
            };
            // A `.git` that appeared is removed (a new repository, or a `gitdir:` file pointing
            // at a config the command wrote); one that replaced the original is moved aside.
            let mut replaced: Vec<&PathBuf> = Vec::new();
            for (rel, (is_dir, ino)) in &sc.gits {
                if skipped(rel) {
                    continue;
                }
                match root.gits.get(rel) {
                    Some((d, i)) if d == is_dir && i == ino => {}
                    // A `gitdir:` file: its content is copied, so it is put back below; a
                    // folder made in its place goes.
                    Some((false, _)) if !*is_dir => {}
                    Some((false, _)) => {
                        if let Err(err) = dir.remove_tree(&root.path, rel) {
                            failed.push(format!("{}: {err}", root.path.join(rel).display()));
                        }
                        touched.push(root.path.join(rel));
                    }
                    Some(_) => {
                        match dir.aside(rel, "replaced") {
                            Err(err) => {
                                failed.push(format!("{}: {err}", root.path.join(rel).display()))
                            }
                            Ok(aside) => failed.push(format!(
                                "{}: the command put another .git in place of the repository's; it was moved to {} — put the original back by hand",
                                root.path.join(rel).display(),
                                root.path.join(&aside).display()
                            )),
                        }
                        replaced.push(rel);
                        touched.push(root.path.join(rel));
                    }
                    None => {
                        if let Err(err) = dir.remove_tree(&root.path, rel) {
                            failed.push(format!("{}: {err}", root.path.join(rel).display()));
                        }
                        replaced.push(rel);
                        touched.push(root.path.join(rel));
                    }
                }
            }
            // What appeared or changed kind: removed.
            let mut removed: Vec<&PathBuf> = Vec::new();
            for (rel, e) in now.iter() {
                let keep = root.entries.get(rel).is_some_and(|b| {
                    b.is_dir() == e.is_dir()
                        && matches!(b, Entry::Link(_)) == matches!(e, Entry::Link(_))
                });
                if keep
                    || skipped(rel)
                    || removed.iter().any(|r| rel.starts_with(r))
                    || replaced.iter().any(|r| rel.starts_with(r))
                {
                    continue;
                }
                match dir.remove_tree(&root.path, rel) {
                    Ok(()) => {}
                    Err(err) => failed.push(format!("{}: {err}", root.path.join(rel).display())),
                }
                removed.push(rel);
                touched.push(root.path.join(rel));
            }
            // Names that must stay absent.
            for rel in &root.absent {
                if skipped(rel) {
                    continue;
                }
                if std::fs::symlink_metadata(root.path.join(rel)).is_ok() {
                    if let Err(err) = dir.remove_tree(&root.path, rel) {
                        failed.push(format!("{}: {err}", root.path.join(rel).display()));
                    }
                    touched.push(root.path.join(rel));
                }
            }
            // What was there: made again or rewritten, shallowest first (not inside a `.git`
            // that was replaced: the original is elsewhere now).
            for (rel, b) in &root.entries {
                let same = now.get(rel).is_some_and(|n| n.same(b))
                    && !removed.iter().any(|r| rel.starts_with(r));
                if same || replaced.iter().any(|r| rel.starts_with(r)) {
                    continue;
                }
                if let Err(err) = dir.put(rel, b) {
                    failed.push(format!("{}: {err}", root.path.join(rel).display()));
                }
                touched.push(root.path.join(rel));
            }
        }
        touched.sort();
        touched.dedup();
        (touched, failed)
    }
}

/// What a tree walk learnt of each folder, kept across a session's commands: a folder whose
/// change time (`ctime`: set by the kernel on any change, never by a command) has not changed
/// has the same entries, so only changed folders are read
/// again (a 100,000-file workspace costs a `stat` per folder, not a read of every entry).
#[derive(Debug, Default)]
pub struct DirCache {
    dirs: std::collections::HashMap<PathBuf, CachedDir>,
}

#[derive(Debug)]
struct CachedDir {
    mtime: (i64, i64),
    /// Sub-folders to walk into.
    subdirs: Vec<std::ffi::OsString>,
    /// Entries whose name could end a protected path (or is `.git`).
    candidates: Vec<std::ffi::OsString>,
    /// Whether the folder looks like a git directory (`HEAD`, `objects/`, `refs/`).
    git_dir: bool,
}

/// What a walk of one root found.
#[derive(Debug, Default)]
struct Scan {
    /// The protected paths and everything inside them.
    entries: BTreeMap<PathBuf, Entry>,
    /// The protected paths themselves.
    found: Vec<PathBuf>,
    /// Every `.git` (folder or `gitdir:` file): whether a folder, and its inode.
    gits: BTreeMap<PathBuf, (bool, u64)>,
    /// Folders that could not be walked (over the bound, unreadable).
    unchecked: Vec<String>,
}

/// The protected paths under `root` (relative), with everything inside them; links are not
/// followed. Breadth first (shallow names first), git's own folders copied first, so neither
/// the walk's bound nor the copy budget can leave a top-level hook out. A folder git would
/// read as a repository ([`super::git::is_git_dir`]: `HEAD` with `objects` and `refs`, links
/// and all, or with a `commondir`), whatever its name, has its config and hooks protected too.
///
/// `extra` are more paths to copy (what the baseline's git configs send git to). With a
/// `baseline` (the check after a command, against that copy) the walk does not stop at [`max_folders`]: past
/// it the rest is walked depth first without being cached, so a command cannot hide a new
/// repository behind many folders.
fn scan(
    root: &Path,
    budget: &mut u64,
    cache: &mut DirCache,
    extra: &[PathBuf],
    baseline: Option<&BTreeMap<PathBuf, Entry>>,
) -> Scan {
    let unbounded = baseline.is_some();
    let mut out = Scan::default();
    let mut queue = std::collections::VecDeque::from([PathBuf::new()]);
    let mut seen = 0usize;
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0);
    while let Some(rel) = queue.pop_front() {
        seen += 1;
        if seen > max_folders() {
            queue.push_front(rel);
            if unbounded {
                deep(root, queue, &mut out);
            } else {
                out.unchecked.push(format!(
                    "over {} folders under {}: {} not walked",
                    max_folders(),
                    root.display(),
                    queue.len()
                ));
            }
            break;
        }
        let abs = root.join(&rel);
        let Ok(m) = std::fs::symlink_metadata(&abs) else {
            cache.dirs.remove(&abs);
            continue;
        };
        // The change time, which no one can set back (a command can reset the modification
        // time with `touch -d`, not this).
        let mtime = (m.ctime(), m.ctime_nsec());
        // A folder changed within the last two seconds may change again within the same
        // clock tick: not trusted from the cache ("racy" entries, as git calls them).
        let fresh = cache
            .dirs
            .get(&abs)
            .is_some_and(|c| c.mtime == mtime && mtime.0 < now - 2);
        if !fresh {
            match read_folder(&abs, &rel, &m, mtime) {
                Ok(c) => {
                    cache.dirs.insert(abs.clone(), c);
                }
                Err(e) => {
                    out.unchecked.push(e);
                    continue;
                }
            }
        }
        let Some(c) = cache.dirs.get(&abs) else {
            continue;
        };
        queue.extend(visit(root, &rel, c, &mut out));
    }
    let mut found = std::mem::take(&mut out.found);
    found.extend(extra.iter().cloned());
    found.sort_by_key(|r| (!r.starts_with(".git"), r.components().count(), r.clone()));
    found.dedup();
    for rel in &found {
        copy(
            root,
            rel,
            budget,
            &mut out.entries,
            baseline,
            &mut out.unchecked,
        );
    }
    out.found = found;
    out
}

/// What the git configs among `found` (relative to `root`) send git to inside `root`: their
/// includes, hooks folder and programs named by path ([`super::git::config_targets`]), and
/// the config and hooks of a folder a `commondir` names. Relative, without the root itself.
fn config_extras(root: &Path, found: &[PathBuf], home: Option<&Path>) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for rel in found {
        let Some(name) = rel.file_name().and_then(|n| n.to_str()) else {
            continue;
        };
        let abs = root.join(rel);
        let parent = abs.parent().unwrap_or(root);
        let mut targets = Vec::new();
        match name {
            "config" | "config.worktree" | ".gitconfig" => {
                // A repository's top level: the folder above `.git`, else the git folder
                // itself (bare), else the root (a user-wide config).
                let top = if parent.file_name().is_some_and(|n| n == ".git") {
                    parent.parent().unwrap_or(root)
                } else if name == ".gitconfig" || rel.starts_with(".config") {
                    root
                } else {
                    parent
                };
                for t in super::git::config_targets(&abs, top, home) {
                    // Husky's `core.hooksPath = .husky/_` runs the scripts one folder up.
                    if t.file_name().is_some_and(|n| n == "_") {
                        if let Some(up) = t.parent() {
                            targets.push(up.to_path_buf());
                        }
                    }
                    targets.push(t);
                }
            }
            "commondir" => {
                if let Some(common) = super::git::commondir_target(parent) {
                    for n in ["config", "config.worktree", "hooks"] {
                        targets.push(common.join(n));
                    }
                }
            }
            _ => {}
        }
        for t in targets {
            if let Ok(r) = super::git::lexical(&t).strip_prefix(root) {
                let r = r.to_path_buf();
                if !r.as_os_str().is_empty() && !found.contains(&r) && !out.contains(&r) {
                    out.push(r);
                }
            }
        }
    }
    out
}

/// Reads one folder of the walk: its sub-folders, the names that could be protected, whether
/// git would read it as a repository. A folder made unreadable is made readable again for
/// its owner first (a command hiding what is in it).
fn read_folder(
    abs: &Path,
    rel: &Path,
    m: &std::fs::Metadata,
    mtime: (i64, i64),
) -> Result<CachedDir, String> {
    let mut rd = std::fs::read_dir(abs);
    if matches!(&rd, Err(e) if e.kind() == std::io::ErrorKind::PermissionDenied) {
        let _ = std::fs::set_permissions(
            abs,
            std::fs::Permissions::from_mode((m.permissions().mode() | 0o700) & 0o7777),
        );
        rd = std::fs::read_dir(abs);
    }
    let rd = rd.map_err(|_| format!("{}: cannot be read", abs.display()))?;
    let mut subdirs = Vec::new();
    let mut candidates = Vec::new();
    let mut sig: Vec<&'static str> = Vec::new();
    for e in rd.flatten() {
        let name = e.file_name();
        let is_dir = e.file_type().is_ok_and(|t| t.is_dir());
        // Any kind of entry, links included: git only checks the path can be reached.
        for s in ["HEAD", "objects", "refs", "commondir"] {
            if name == s {
                sig.push(s);
            }
        }
        if super::paths::protected_name(&name) || name == ".git" {
            candidates.push(name.clone());
        }
        // Every folder, `node_modules` too (a repository hidden there runs its config through
        // the parent's `git status` when the parent's index has a gitlink to it).
        if is_dir && !(name == "objects" && rel.ends_with(".git")) {
            subdirs.push(name);
        }
    }
    Ok(CachedDir {
        mtime,
        subdirs,
        candidates,
        git_dir: super::git::signature(&|n: &str| sig.contains(&n)),
    })
}

/// Records what one folder holds into `out`; the sub-folders to walk next.
fn visit(root: &Path, rel: &Path, c: &CachedDir, out: &mut Scan) -> Vec<PathBuf> {
    let mut hits = Vec::new();
    for n in &c.candidates {
        let r = rel.join(n);
        if n == ".git" {
            if let Ok(gm) = std::fs::symlink_metadata(root.join(&r)) {
                out.gits.insert(r.clone(), (gm.is_dir(), gm.ino()));
                if !gm.is_dir() {
                    // A `gitdir:` file (or a link): its content is what git follows.
                    hits.push(n.clone());
                    out.found.push(r);
                }
            }
            continue;
        }
        let bare = c.git_dir
            && !rel.ends_with(".git")
            && n.to_str()
                .is_some_and(|s| super::git::GIT_DIR_PROTECTED.contains(&s));
        if bare || super::paths::protected(&r).is_some() {
            hits.push(n.clone());
            out.found.push(r);
        }
    }
    c.subdirs
        .iter()
        .filter(|d| !hits.contains(d))
        .map(|d| rel.join(d))
        .collect()
}

/// The rest of an unbounded walk, depth first (what is held is the folders still to visit
/// along the current path, not every folder) and not cached.
fn deep(root: &Path, queue: std::collections::VecDeque<PathBuf>, out: &mut Scan) {
    let mut stack: Vec<PathBuf> = queue.into_iter().rev().collect();
    while let Some(rel) = stack.pop() {
        let abs = root.join(&rel);
        let Ok(m) = std::fs::symlink_metadata(&abs) else {
            continue;
        };
        if !m.is_dir() {
            continue;
        }
        match read_folder(&abs, &rel, &m, (0, 0)) {
            Ok(c) => {
                let mut next = visit(root, &rel, &c, out);
                next.reverse();
                stack.extend(next);
            }
            Err(e) => out.unchecked.push(e),
        }
    }
}

/// Records `rel` (and what is under it) into `out`; what cannot be read goes to `errors`.
///
/// With `baseline` (the check after a command), a file's content is hashed only where the
/// copy has a file of the same size at that path: a file that is new, or of another size, is
/// different without reading it (a command cannot make the host read gigabytes of sparse
/// files). Content is hashed as it streams; bytes are kept only within `budget`.
fn copy(
    root: &Path,
    rel: &Path,
    budget: &mut u64,
    out: &mut BTreeMap<PathBuf, Entry>,
    baseline: Option<&BTreeMap<PathBuf, Entry>>,
    errors: &mut Vec<String>,
) {
    let p = root.join(rel);
    if rel.components().count() > MAX_DEPTH / 2 {
        errors.push(format!(
            "{}: folders nested over {} deep, not checked",
            p.display(),
            MAX_DEPTH / 2
        ));
        return;
    }
    let m = match std::fs::symlink_metadata(&p) {
        Ok(m) => m,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return,
        Err(e) => {
            errors.push(format!("{}: cannot be read ({e})", p.display()));
            return;
        }
    };
    let mode = m.permissions().mode() & 0o7777;
    if m.file_type().is_symlink() {
        out.insert(
            rel.to_path_buf(),
            Entry::Link(std::fs::read_link(&p).unwrap_or_default()),
        );
    } else if m.is_dir() {
        out.insert(rel.to_path_buf(), Entry::Dir { mode });
        match std::fs::read_dir(&p) {
            Ok(rd) => {
                let mut names: Vec<_> = rd.flatten().map(|e| e.file_name()).collect();
                names.sort();
                if names.len() > MAX_ENTRIES {
                    errors.push(format!(
                        "{}: over {MAX_ENTRIES} entries, not all checked",
                        p.display()
                    ));
                }
                for n in names.into_iter().take(MAX_ENTRIES) {
                    copy(root, &rel.join(n), budget, out, baseline, errors);
                }
            }
            Err(e) => errors.push(format!("{}: cannot be read ({e})", p.display())),
        }
    } else if m.is_file() {
        let size = m.len();
        let comparable = match baseline {
            None => true,
            Some(b) => matches!(b.get(rel), Some(Entry::File { size: s, .. }) if *s == size),
        };
        if !comparable {
            // Not the copy's file: different, unread.
            let hash: [u8; 32] = Sha256::digest(format!("unread:{size}")).into();
            out.insert(
                rel.to_path_buf(),
                Entry::File {
                    hash,
                    bytes: None,
                    mode,
                    size,
                },
            );
            return;
        }
        let keep = baseline.is_none() && size <= *budget;
        let (hash, bytes) = match hash_file(&p, keep) {
            Ok(r) => r,
            Err(e) => {
                errors.push(format!("{}: cannot be read ({e})", p.display()));
                return;
            }
        };
        if let Some(b) = &bytes {
            *budget = budget.saturating_sub(b.len() as u64);
        }
        out.insert(
            rel.to_path_buf(),
            Entry::File {
                hash,
                bytes,
                mode,
                size,
            },
        );
    } else {
        // A FIFO, socket or device where a protected file belongs: hash of its kind only.
        let hash: [u8; 32] = Sha256::digest(m.mode().to_le_bytes()).into();
        out.insert(
            rel.to_path_buf(),
            Entry::File {
                hash,
                bytes: None,
                mode,
                size: 0,
            },
        );
    }
}

/// A file's SHA-256, streamed (and its bytes when `keep`).
fn hash_file(p: &Path, keep: bool) -> std::io::Result<([u8; 32], Option<Vec<u8>>)> {
    use std::io::Read;
    let mut f = std::fs::File::open(p)?;
    let mut h = Sha256::new();
    let mut kept = keep.then(Vec::new);
    let mut buf = vec![0u8; 64 << 10];
    loop {
        let n = f.read(&mut buf)?;
        if n == 0 {
            break;
        }
        h.update(&buf[..n]);
        if let Some(k) = kept.as_mut() {
            k.extend_from_slice(&buf[..n]);
        }
    }
    Ok((h.finalize().into(), kept))
}

/// Deepest folder [`remove_at`] goes into (each level holds a descriptor).
const MAX_DEPTH: usize = 256;

/// Removes `name` in the folder `dir` and, when it is a folder, everything in it.
fn remove_at(dir: libc::c_int, name: &std::ffi::CStr, depth: usize) -> std::io::Result<()> {
    // SAFETY: unlinkat on a descriptor and C string the caller owns.
    if unsafe { libc::unlinkat(dir, name.as_ptr(), 0) } == 0 {
        return Ok(());
    }
    let err = std::io::Error::last_os_error();
    match err.raw_os_error() {
        Some(libc::ENOENT) => return Ok(()),
        Some(libc::EISDIR) | Some(libc::EPERM) => {}
        _ => return Err(err),
    }
    if depth >= MAX_DEPTH {
        return Err(std::io::Error::other(format!(
            "folders nested over {MAX_DEPTH} deep"
        )));
    }
    // SAFETY: openat on a descriptor and C string the caller owns; the result is owned below.
    let fd = unsafe {
        libc::openat(
            dir,
            name.as_ptr(),
            libc::O_RDONLY | libc::O_DIRECTORY | libc::O_NOFOLLOW | libc::O_CLOEXEC,
        )
    };
    check(fd)?;
    // SAFETY: fd is a fresh descriptor; fdopendir takes it over (closed by closedir).
    let dp = unsafe { libc::fdopendir(fd) };
    if dp.is_null() {
        let e = std::io::Error::last_os_error();
        // SAFETY: fdopendir failed, so fd is still ours to close.
        unsafe { libc::close(fd) };
        return Err(e);
    }
    let mut names: Vec<CString> = Vec::new();
    loop {
        // SAFETY: readdir on a live DIR*; the entry is copied out before the next call.
        let ent = unsafe { libc::readdir(dp) };
        if ent.is_null() {
            break;
        }
        // SAFETY: d_name is a NUL-terminated array inside the entry.
        let n = unsafe { std::ffi::CStr::from_ptr((*ent).d_name.as_ptr()) };
        let b = n.to_bytes();
        if b != b"." && b != b".." {
            names.push(n.to_owned());
        }
    }
    // SAFETY: dirfd on a live DIR*.
    let inner = unsafe { libc::dirfd(dp) };
    let mut result = Ok(());
    for n in &names {
        if let Err(e) = remove_at(inner, n, depth + 1) {
            result = Err(e);
            break;
        }
    }
    // SAFETY: closes the DIR* (and its descriptor) opened above.
    unsafe { libc::closedir(dp) };
    result?;
    // SAFETY: unlinkat on a descriptor and C string the caller owns.
    check(unsafe { libc::unlinkat(dir, name.as_ptr(), libc::AT_REMOVEDIR) })
}

/// Changes made only beneath one folder, never through a link.
struct Beneath {
    root: OwnedFd,
}

fn cstr(p: &Path) -> std::io::Result<CString> {
    CString::new(p.as_os_str().as_bytes()).map_err(|_| std::io::Error::other("a NUL in a path"))
}

fn check(r: libc::c_int) -> std::io::Result<()> {
    if r < 0 {
        Err(std::io::Error::last_os_error())
    } else {
        Ok(())
    }
}

impl Beneath {
    fn open(root: &Path) -> std::io::Result<Beneath> {
        let c = cstr(root)?;
        // SAFETY: open(2) with a valid C string; the descriptor is owned below.
        let fd = unsafe {
            libc::open(
                c.as_ptr(),
                libc::O_DIRECTORY | libc::O_PATH | libc::O_CLOEXEC | libc::O_NOFOLLOW,
            )
        };
        check(fd)?;
        // SAFETY: fd is a fresh descriptor this function owns.
        Ok(Beneath {
            root: unsafe { OwnedFd::from_raw_fd(fd) },
        })
    }

    /// A descriptor of the folder `rel` beneath the root (no link, no `..` out of it).
    fn dir(&self, rel: &Path) -> std::io::Result<OwnedFd> {
        let path = if rel.as_os_str().is_empty() {
            CString::new(".").map_err(std::io::Error::other)?
        } else {
            cstr(rel)?
        };
        // SAFETY: open_how is plain data; all zero is its empty value.
        let mut how: libc::open_how = unsafe { std::mem::zeroed() };
        how.flags = (libc::O_DIRECTORY | libc::O_CLOEXEC) as u64;
        how.resolve =
            libc::RESOLVE_BENEATH | libc::RESOLVE_NO_SYMLINKS | libc::RESOLVE_NO_MAGICLINKS;
        // SAFETY: openat2 with a valid dirfd, C string and open_how of the size passed.
        let fd = unsafe {
            libc::syscall(
                libc::SYS_openat2,
                self.root.as_raw_fd(),
                path.as_ptr(),
                &how as *const libc::open_how,
                std::mem::size_of::<libc::open_how>(),
            )
        } as libc::c_int;
        check(fd)?;
        // SAFETY: fd is a fresh descriptor this function owns.
        Ok(unsafe { OwnedFd::from_raw_fd(fd) })
    }

    /// The parent folder of `rel` (made when missing, beneath the root) and its last name.
    fn parent(&self, rel: &Path, make: bool) -> std::io::Result<(OwnedFd, CString)> {
        if rel.components().any(|c| !matches!(c, Component::Normal(_))) {
            return Err(std::io::Error::other("not a plain relative path"));
        }
        let name = rel
            .file_name()
            .ok_or_else(|| std::io::Error::other("no file name"))?;
        let parent = rel.parent().unwrap_or(Path::new(""));
        if make {
            let mut sofar = PathBuf::new();
            for c in parent.components() {
                let up = self.dir(&sofar)?;
                let n = cstr(Path::new(c.as_os_str()))?;
                // SAFETY: mkdirat on a descriptor and C string owned here.
                let r = unsafe { libc::mkdirat(up.as_raw_fd(), n.as_ptr(), 0o755) };
                if r < 0
                    && std::io::Error::last_os_error().kind() != std::io::ErrorKind::AlreadyExists
                {
                    check(r)?;
                }
                sofar.push(c);
            }
        }
        Ok((self.dir(parent)?, cstr(Path::new(name))?))
    }

    /// Removes `rel` and everything under it as it is on disk now, through descriptors
    /// (each folder opened beneath its parent, links removed, never followed), so no path
    /// length or depth a command made can hide part of it.
    fn remove_tree(&self, _root: &Path, rel: &Path) -> std::io::Result<()> {
        let (dir, name) = self.parent(rel, false)?;
        remove_at(dir.as_raw_fd(), &name, 0)
    }

    /// Moves `rel` aside to a new name beside it (`<name>.tabwright-<what>-N`, never over
    /// an existing entry); the name used.
    fn aside(&self, rel: &Path, what: &str) -> std::io::Result<PathBuf> {
        let (dir, name) = self.parent(rel, false)?;
        let base = rel
            .file_name()
            .unwrap_or_default()
            .to_string_lossy()
            .to_string();
        let stamp = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or(0);
        let mut last = std::io::Error::other("no free name");
        for n in 0..16u32 {
            let new = format!("{base}.tabwright-{what}-{stamp}-{n}");
            let c = cstr(Path::new(&new))?;
            // SAFETY: renameat2 on descriptors and C strings owned here.
            let r = unsafe {
                libc::renameat2(
                    dir.as_raw_fd(),
                    name.as_ptr(),
                    dir.as_raw_fd(),
                    c.as_ptr(),
                    libc::RENAME_NOREPLACE,
                )
            };
            if r == 0 {
                return Ok(rel.with_file_name(new));
            }
            last = std::io::Error::last_os_error();
            if last.kind() != std::io::ErrorKind::AlreadyExists {
                break;
            }
        }
        Err(last)
    }

    /// Makes `rel` what `e` says (replacing what is there).
    fn put(&self, rel: &Path, e: &Entry) -> std::io::Result<()> {
        let (dir, name) = self.parent(rel, true)?;
        let fd = dir.as_raw_fd();
        match e {
            Entry::Dir { mode } => {
                // SAFETY: *at calls on a descriptor and C string owned here.
                unsafe {
                    let r = libc::mkdirat(fd, name.as_ptr(), *mode);
                    if r < 0
                        && std::io::Error::last_os_error().kind()
                            == std::io::ErrorKind::AlreadyExists
                    {
                        // A file or link where the folder was: moved out of the way.
                        if libc::unlinkat(fd, name.as_ptr(), 0) == 0 {
                            check(libc::mkdirat(fd, name.as_ptr(), *mode))?;
                        }
                    } else {
                        check(r)?;
                    }
                }
                // Its mode through a descriptor opened beneath the root (no link followed).
                let d = self.dir(rel)?;
                // SAFETY: fchmod on a descriptor owned here.
                check(unsafe { libc::fchmod(d.as_raw_fd(), *mode) })
            }
            Entry::Link(target) => {
                let t = cstr(target)?;
                // SAFETY: *at calls on a descriptor and C strings owned here.
                unsafe {
                    libc::unlinkat(fd, name.as_ptr(), 0);
                    check(libc::symlinkat(t.as_ptr(), fd, name.as_ptr()))
                }
            }
            Entry::File {
                bytes: Some(bytes),
                mode,
                ..
            } => {
                // SAFETY: *at calls on a descriptor and C string owned here; the new file's
                // descriptor is owned by `file`.
                unsafe {
                    // A new inode: a hard link made meanwhile keeps the old content elsewhere.
                    libc::unlinkat(fd, name.as_ptr(), 0);
                    let f = libc::openat(
                        fd,
                        name.as_ptr(),
                        libc::O_WRONLY
                            | libc::O_CREAT
                            | libc::O_EXCL
                            | libc::O_NOFOLLOW
                            | libc::O_CLOEXEC,
                        *mode,
                    );
                    check(f)?;
                    let mut file = std::fs::File::from_raw_fd(f);
                    std::io::Write::write_all(&mut file, bytes)?;
                    check(libc::fchmod(f, *mode))
                }
            }
            Entry::File { bytes: None, .. } => {
                // No copy to put back: the changed file is moved aside, never left in place.
                let aside = cstr(Path::new(&format!(
                    "{}.tabwright-changed",
                    rel.file_name().unwrap_or_default().to_string_lossy()
                )))?;
                // SAFETY: renameat on descriptors and C strings owned here.
                unsafe {
                    check(libc::renameat(fd, name.as_ptr(), fd, aside.as_ptr()))?;
                }
                Err(std::io::Error::other(
                    "too large to have been copied: the changed file was renamed *.tabwright-changed; check it and put the original back",
                ))
            }
        }
    }
}
