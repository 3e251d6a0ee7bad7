//! The sandbox: where the model's shell commands run, and what the file tools may reach.
//!
//! Owns: confining a command (Linux: bubblewrap — the workspace and the folders the person
//! added read-write, the rest of the system read-only, the user's secrets hidden, the
//! workspace's hooks and agent settings write-protected, no network but the host's egress
//! proxy, a private `/tmp` and process tree, limits on processes and file size; where
//! bubblewrap cannot run, Landlock + seccomp ([`kernel`]) with the protected names guarded by
//! copy and restore ([`guard`])), the bridge that carries the proxy into the sandbox's network
//! namespace, and path confinement for the file tools ([`paths`]). It decides nothing: whether a command may run unsandboxed, and
//! which hosts the proxy lets through, are the policy's and the person's.
//!
//! May use: nothing else of the crate (the shell tool starts the egress proxy whose socket a
//! [`Spec`] names).

pub mod bridge;
mod git;
mod guard;
pub mod kernel;
mod limits;
pub mod nofollow;
pub mod paths;

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

pub use limits::{Cgroup, MAX_FILE_BYTES, MAX_PROCESSES};
pub use paths::{Access, PathError, Roots};

/// Puts the process limits (a cgroup capping processes, file size, no core dumps, death with
/// the host) on a command that runs without the sandbox; its cgroup when one could be made.
pub fn limit(cmd: &mut std::process::Command) -> Option<Cgroup> {
    limits::apply(cmd)
}

/// Where, inside the sandbox, the host's per-command folder is mounted (the proxy socket, the
/// file the shell leaves its working directory in).
pub const RUN_DIR: &str = "/run/tabwright";

/// Size of the sandbox's private `/tmp` (and `/var/tmp`), in bytes.
pub const TMP_BYTES: u64 = 512 << 20;

/// The port, inside the sandbox's own loopback, where the bridge listens for the proxy.
pub const PROXY_PORT: u16 = 3128;

/// Why a command cannot be sandboxed here.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{0}")]
pub struct SandboxError(pub String);

/// One command to run confined.
#[derive(Debug, Clone)]
pub struct Spec {
    /// Read-write and read-only folders.
    pub roots: Roots,
    /// Where the command starts (inside a root).
    pub cwd: PathBuf,
    /// The host folder mounted at [`RUN_DIR`] (private to this command).
    pub run_dir: PathBuf,
    /// The Unix socket of the egress proxy (inside `run_dir`), when the command may reach the
    /// network through it (see [`Sandbox::can_proxy`]); `None`: no network at all.
    pub proxy_socket: Option<PathBuf>,
    /// The write-protected paths that exist in the writable roots, when the caller knows them
    /// (the session's [`Ticket`]); otherwise they are looked for, three levels deep.
    pub protected: Option<Vec<PathBuf>>,
    /// The `.git` folders of the writable roots (made mount points: not renamed or replaced).
    pub git_dirs: Vec<PathBuf>,
    /// The shell script to run (`bash -c`).
    pub script: String,
    /// Extra arguments after the script (`$0`, `$1` …).
    pub args: Vec<String>,
}

/// A working sandbox: bubblewrap able to make namespaces here, or else the kernel's Landlock
/// and seccomp.
#[derive(Debug, Clone)]
pub struct Sandbox {
    backend: Backend,
}

#[derive(Debug, Clone)]
enum Backend {
    Bwrap(PathBuf),
    Landlock { abi: i32 },
}

/// The variables that point programs at the egress proxy.
const PROXY_VARS: &[&str] = &[
    "http_proxy",
    "https_proxy",
    "HTTP_PROXY",
    "HTTPS_PROXY",
    "ALL_PROXY",
    "all_proxy",
];

/// Environment variables passed into the sandbox (nothing else: API keys and tokens in the
/// host's environment stay out).
const ENV_PASSED: &[&str] = &[
    "PATH", "LANG", "LC_ALL", "LC_CTYPE", "TZ", "USER", "LOGNAME",
];

/// Secrets under the home folder that are hidden (an empty folder or file in their place).
const HOME_SECRETS: &[&str] = &[
    ".ssh",
    ".aws",
    ".gnupg",
    ".azure",
    ".kube",
    ".docker",
    ".netrc",
    ".git-credentials",
    ".npmrc",
    ".pypirc",
    ".password-store",
    ".cargo/credentials",
    ".cargo/credentials.toml",
    ".config/tabwright",
    ".config/gh",
    ".config/gcloud",
    ".config/google-chrome",
    ".config/chromium",
    ".config/BraveSoftware",
    ".config/microsoft-edge",
    ".config/vivaldi",
    ".mozilla",
    ".local/state/tabwright",
    ".local/share/keyrings",
    ".anthropic",
    ".codex",
    ".claude",
    ".claude.json",
    ".gemini",
    ".cursor",
    ".vault-token",
    ".pgpass",
    ".my.cnf",
    ".s3cfg",
    ".boto",
    ".oci",
    ".databrickscfg",
    ".terraform.d",
    ".terraformrc",
    ".minikube",
    ".snowsql",
    ".dbt",
    ".gem/credentials",
    ".m2/settings.xml",
    ".gradle/gradle.properties",
    ".composer/auth.json",
    ".config/composer/auth.json",
    ".nuget",
    ".huggingface",
    ".cache/huggingface",
    ".config/rclone",
    ".config/op",
    ".config/1Password",
    ".config/Bitwarden",
    ".config/hub",
    ".config/glab-cli",
    ".config/doctl",
    ".config/configstore",
    ".config/github-copilot",
    ".config/stripe",
    ".config/ngrok",
    ".config/sops",
    ".config/openstack",
    ".config/Slack",
    ".config/discord",
    ".config/Signal",
    ".config/Code/User/globalStorage",
    ".config/Cursor",
    ".config/git/credentials",
    ".ngrok2",
    ".fly",
    ".wrangler",
    ".pki",
    ".thunderbird",
    ".Xauthority",
    ".ICEauthority",
    ".local/share/atuin",
    ".local/share/fish/fish_history",
    ".bash_history",
    ".zsh_history",
    ".histfile",
    ".python_history",
    ".psql_history",
    ".mysql_history",
    ".node_repl_history",
    ".sqlite_history",
    ".rediscli_history",
    ".lesshst",
    ".viminfo",
];

/// Words that mark a file or folder under the home folder (its top level, and the top of
/// `.config`, `.local/share` and `.cache`) as a secret besides [`HOME_SECRETS`]: tools keep
/// tokens and histories under names like these, and a list cannot know them all.
const SECRET_WORDS: &[&str] = &[
    "token",
    "secret",
    "credential",
    "password",
    "passwd",
    "history",
    "keyring",
    "wallet",
    "apikey",
    "api_key",
    "api-key",
    "auth.json",
    "_rsa",
    "_ed25519",
    "_ecdsa",
    ".pem",
    ".p12",
    ".pfx",
    ".key",
    ".env",
    "auth",
];

/// The entries of `.config`, `.local/share` and `.cache` under `home`, and the files at its
/// top, named like a secret ([`SECRET_WORDS`]). (Not folders at the top: a project folder
/// called `token-service` is somebody's workspace.)
fn secrets_by_name(
    home: &Path,
    seen: &mut Vec<(PathBuf, Option<std::time::SystemTime>)>,
) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let listed: Vec<PathBuf> = HOME_SECRETS.iter().map(|s| home.join(s)).collect();
    // The top of home (files only), then up to four levels of the settings folders.
    let mut todo: Vec<(PathBuf, usize)> = vec![(home.to_path_buf(), 4)];
    todo.extend(
        [".config", ".local/share", ".cache"]
            .iter()
            .map(|d| (home.join(d), 0)),
    );
    let mut looked = 0usize;
    while let Some((dir, depth)) = todo.pop() {
        // Each folder read, with its modification time: a name added or removed changes it.
        seen.push((
            dir.clone(),
            std::fs::metadata(&dir).and_then(|m| m.modified()).ok(),
        ));
        let Ok(rd) = std::fs::read_dir(&dir) else {
            continue;
        };
        for e in rd.flatten() {
            looked += 1;
            if looked > 50_000 {
                return out;
            }
            let path = e.path();
            if listed.iter().any(|l| path.starts_with(l)) {
                continue;
            }
            let name = e.file_name().to_string_lossy().to_lowercase();
            let is_dir = e.file_type().is_ok_and(|t| t.is_dir());
            if dir == home && is_dir {
                continue;
            }
            if SECRET_WORDS.iter().any(|w| name.contains(w)) {
                out.push(path);
            } else if is_dir && depth < 3 {
                todo.push((path, depth + 1));
            }
        }
    }
    out
}

/// System files that hold secrets of their own.
const SYSTEM_SECRETS: &[&str] = &[
    "/etc/shadow",
    "/etc/gshadow",
    "/etc/ssh",
    "/root/.ssh",
    "/etc/ssl/private",
];

/// Whether `real` (a resolved path) is one of the user's secrets, or inside one.
pub fn is_secret(real: &Path) -> bool {
    secrets().iter().any(|s| real.starts_with(s))
}

/// The secret paths of this machine (system ones, and those under `$HOME`). The scan is kept
/// while no folder it read has changed (checked with one `stat` per folder), so a secret-named
/// file that appears later is hidden from the next command too.
fn secrets() -> std::sync::Arc<Vec<PathBuf>> {
    type Seen = Vec<(PathBuf, Option<std::time::SystemTime>)>;
    static CACHE: std::sync::Mutex<Option<(Seen, std::sync::Arc<Vec<PathBuf>>)>> =
        std::sync::Mutex::new(None);
    let mut cache = match CACHE.lock() {
        Ok(g) => g,
        Err(p) => p.into_inner(),
    };
    if let Some((seen, list)) = cache.as_ref() {
        let fresh = seen
            .iter()
            .all(|(d, t)| std::fs::metadata(d).and_then(|m| m.modified()).ok() == *t);
        if fresh {
            return list.clone();
        }
    }
    let mut seen = Vec::new();
    let mut list: Vec<PathBuf> = SYSTEM_SECRETS.iter().map(PathBuf::from).collect();
    if let Some(h) = std::env::var_os("HOME").map(PathBuf::from) {
        list.extend(HOME_SECRETS.iter().map(|s| h.join(s)));
        list.extend(secrets_by_name(&h, &mut seen));
    }
    let list = std::sync::Arc::new(list);
    *cache = Some((seen, list.clone()));
    list
}

impl Sandbox {
    /// Finds bubblewrap (`TABWRIGHT_BWRAP` or `bwrap` on PATH) and checks once that it can
    /// make the namespaces a command needs; where it cannot, checks the kernel's Landlock.
    /// `TABWRIGHT_SANDBOX_BACKEND=bwrap|landlock` picks one. The error says how to fix it;
    /// there is no unsandboxed fallback.
    pub fn detect() -> Result<Sandbox, SandboxError> {
        static FOUND: OnceLock<Result<Sandbox, SandboxError>> = OnceLock::new();
        FOUND.get_or_init(probe).clone()
    }

    /// Which mechanism confines commands, for people and logs.
    pub fn describe(&self) -> String {
        match &self.backend {
            Backend::Bwrap(p) => format!("bubblewrap ({})", p.display()),
            Backend::Landlock { abi } => format!("Landlock ABI {abi} + seccomp"),
        }
    }

    /// Whether commands can reach the network through the egress proxy (bubblewrap: a network
    /// namespace whose only way out is the proxy). The Landlock fallback has no network at
    /// all: Landlock checks TCP ports, not addresses, so it could not keep a command to the
    /// proxy.
    pub fn can_proxy(&self) -> bool {
        matches!(self.backend, Backend::Bwrap(_))
    }

    /// Where the command sees the host's run folder `run_dir`.
    pub fn run_dir_inside(&self, run_dir: &Path) -> PathBuf {
        match self.backend {
            Backend::Bwrap(_) => PathBuf::from(RUN_DIR),
            Backend::Landlock { .. } => run_dir.to_path_buf(),
        }
    }

    /// The bubblewrap command for `spec`, ready to spawn (stdin, stdout and stderr are the
    /// caller's to set).
    ///
    /// The [`Stubs`] must live until the command has exited: write-protected names that do
    /// not exist yet are covered too (so the command cannot create `.mcp.json` or
    /// `.git/hooks`), which leaves an empty placeholder in the workspace while it runs; dropping
    /// the stubs removes them.
    pub fn command(&self, spec: &Spec) -> Result<(std::process::Command, Stubs), SandboxError> {
        let mut stubs = Stubs {
            paths: Vec::new(),
            cgroup: None,
            seccomp: None,
        };
        let mut cmd = match &self.backend {
            Backend::Bwrap(bwrap) => {
                let mut cmd = std::process::Command::new(bwrap);
                // No Unix sockets for the command (host folders it can see may hold one). With
                // a network policy the bridge puts the same filter on the command it runs,
                // since the bridge itself needs a Unix socket to the host's proxy.
                if spec.proxy_socket.is_none() {
                    let fd = seccomp_memfd()?;
                    let raw = std::os::fd::AsRawFd::as_raw_fd(&fd);
                    cmd.args(["--seccomp", &SECCOMP_FD.to_string()]);
                    // SAFETY: the closure runs in the forked child before exec and only calls
                    // dup2, which is async-signal-safe; dup2 clears close-on-exec on the copy.
                    unsafe {
                        std::os::unix::process::CommandExt::pre_exec(&mut cmd, move || {
                            if libc::dup2(raw, SECCOMP_FD) < 0 {
                                return Err(std::io::Error::last_os_error());
                            }
                            Ok(())
                        });
                    }
                    stubs.seccomp = Some(fd);
                }
                cmd.args(Self::args(spec, &mut stubs));
                cmd.env_clear();
                cmd
            }
            Backend::Landlock { .. } => Self::landlock_command(spec)?,
        };
        stubs.cgroup = limits::apply(&mut cmd);
        Ok((cmd, stubs))
    }

    /// `tabwright sandbox-exec` with a plan in the run folder and the environment set here.
    fn landlock_command(spec: &Spec) -> Result<std::process::Command, SandboxError> {
        let tmp = spec.run_dir.join("tmp");
        std::fs::create_dir_all(&tmp)
            .map_err(|e| SandboxError(format!("cannot make the command's temp folder: {e}")))?;
        let mut writable = spec.roots.writable.clone();
        writable.push(spec.run_dir.clone());
        let mut private: Vec<PathBuf> = ["/tmp", "/var/tmp", "/run", "/dev"]
            .iter()
            .map(PathBuf::from)
            .collect();
        private.push(std::env::temp_dir());
        let plan = kernel::Plan {
            writable,
            readable: spec.roots.readable.clone(),
            secrets: secrets().as_ref().clone(),
            private,
        };
        let file = spec.run_dir.join("plan.json");
        let json = serde_json::to_vec(&plan).map_err(|e| SandboxError(e.to_string()))?;
        std::fs::write(&file, json)
            .map_err(|e| SandboxError(format!("cannot write the sandbox plan: {e}")))?;
        let mut cmd = std::process::Command::new(bridge_exe());
        cmd.arg("sandbox-exec")
            .arg("--plan")
            .arg(&file)
            .arg("--")
            .arg("/bin/bash")
            .arg("-c")
            .arg(&spec.script)
            .args(&spec.args)
            .current_dir(&spec.cwd)
            .env_clear();
        for k in ENV_PASSED {
            if let Some(v) = std::env::var_os(k) {
                cmd.env(k, v);
            }
        }
        let home = std::env::var_os("HOME")
            .map(PathBuf::from)
            .unwrap_or_else(|| spec.cwd.clone());
        cmd.env("HOME", home)
            .env("TMPDIR", &tmp)
            .env("TERM", "dumb")
            .env("SHELL", "/bin/bash")
            .env("TABWRIGHT_SANDBOX", "1");
        Ok(cmd)
    }

    fn args(spec: &Spec, stubs: &mut Stubs) -> Vec<OsString> {
        let mut a: Vec<OsString> = Vec::new();
        let mut push = |items: &[&dyn AsRef<std::ffi::OsStr>]| {
            for i in items {
                a.push(i.as_ref().to_os_string());
            }
        };
        let home = std::env::var_os("HOME").map(PathBuf::from);
        push(&[
            &"--new-session",
            &"--die-with-parent",
            &"--unshare-pid",
            &"--unshare-net",
            &"--unshare-ipc",
            &"--unshare-uts",
            &"--unshare-cgroup-try",
            // Run by root, bubblewrap would keep every capability: a command could mount over
            // its own read-only view or remount it writable.
            &"--cap-drop",
            &"ALL",
            &"--ro-bind",
            &"/",
            &"/",
            &"--dev",
            &"/dev",
            &"--proc",
            &"/proc",
            // The kernel's knobs under /proc stay read-only (as in container runtimes).
            &"--ro-bind",
            &"/proc/sys",
            &"/proc/sys",
            // Private scratch space in memory, capped so it cannot eat the host's memory.
            &"--size",
            &TMP_BYTES.to_string(),
            &"--tmpfs",
            &"/tmp",
            &"--size",
            &(16u64 << 20).to_string(),
            &"--tmpfs",
            &"/run",
            &"--size",
            &TMP_BYTES.to_string(),
            &"--tmpfs",
            &"/var/tmp",
        ]);
        if Path::new("/proc/sysrq-trigger").exists() {
            push(&[&"--ro-bind", &"/dev/null", &"/proc/sysrq-trigger"]);
        }
        for root in &spec.roots.writable {
            push(&[&"--bind", root, root]);
        }
        for root in &spec.roots.readable {
            push(&[&"--ro-bind", root, root]);
        }
        for p in secrets().iter() {
            // After the roots, so a secret inside an added folder stays hidden. Only what
            // exists can be covered; a secret made later is outside the writable roots anyway.
            match std::fs::metadata(p) {
                Ok(m) if m.is_dir() => push(&[&"--tmpfs", p]),
                Ok(_) => push(&[&"--ro-bind", &"/dev/null", p]),
                Err(_) => {}
            }
        }
        let known = spec.protected.clone().unwrap_or_else(|| {
            spec.roots
                .writable
                .iter()
                .flat_map(|r| protected_in(r))
                .collect()
        });
        for g in &spec.git_dirs {
            push(&[&"--bind", g, g]);
        }
        for p in &known {
            push(&[&"--ro-bind", p, p]);
        }
        for root in &spec.roots.writable {
            for (p, dir) in top_protected(root, home.as_deref()) {
                match std::fs::symlink_metadata(&p) {
                    // Missing: covered, so the command cannot create it.
                    Err(_) => {
                        if dir {
                            push(&[&"--tmpfs", &p, &"--remount-ro", &p]);
                        } else {
                            push(&[&"--ro-bind", &"/dev/null", &p]);
                        }
                        stubs.paths.push(p);
                    }
                    // There but not covered yet: another running command's placeholder (left
                    // out of the copy the list above comes from). Read-only like the rest.
                    Ok(_) if !known.contains(&p) => push(&[&"--ro-bind", &p, &p]),
                    Ok(_) => {}
                }
            }
        }
        push(&[&"--bind", &spec.run_dir, &RUN_DIR]);
        push(&[&"--chdir", &spec.cwd]);
        for k in ENV_PASSED {
            if let Some(v) = std::env::var_os(k) {
                push(&[&"--setenv", k, &v]);
            }
        }
        let ws = spec.roots.main().unwrap_or(&spec.cwd);
        push(&[
            &"--setenv",
            &"HOME",
            &home.as_deref().unwrap_or(ws),
            &"--setenv",
            &"TMPDIR",
            &"/tmp",
            &"--setenv",
            &"TERM",
            &"dumb",
            &"--setenv",
            &"SHELL",
            &"/bin/bash",
            &"--setenv",
            &"TABWRIGHT_SANDBOX",
            &"1",
        ]);
        if spec.proxy_socket.is_some() {
            let url = format!("http://127.0.0.1:{PROXY_PORT}");
            for k in PROXY_VARS {
                push(&[&"--setenv", k, &url]);
            }
            push(&[&"--setenv", &"NO_PROXY", &"", &"--setenv", &"no_proxy", &""]);
        }
        push(&[&"--"]);
        if let Some(sock) = &spec.proxy_socket {
            // The bridge listens on the namespace's loopback and carries each connection to the
            // host's proxy over the socket; it runs the shell and exits with its status.
            let inside = Path::new(RUN_DIR).join(sock.file_name().unwrap_or_default());
            let exe = bridge_exe();
            push(&[
                &exe,
                &"sandbox-bridge",
                &"--socket",
                &inside,
                &"--port",
                &PROXY_PORT.to_string(),
                &"--",
            ]);
        }
        push(&[&"/bin/bash", &"-c", &spec.script]);
        for arg in &spec.args {
            push(&[arg]);
        }
        a
    }
}

/// The write-protected names of a session's writable folders, watched across its commands
/// (a [`Watch`] per session): the copy is taken when no command of the session runs, and every
/// command that ends puts them back to it — so a background job cannot make its own change
/// the copy a later command restores to.
#[derive(Debug, Default)]
pub struct Watch(std::sync::Mutex<WatchState>);

#[derive(Debug, Default)]
struct WatchState {
    baseline: Option<std::sync::Arc<guard::Guard>>,
    live: usize,
    cache: guard::DirCache,
    /// Placeholders of running bubblewrap commands (not changes to undo).
    placeholders: std::collections::HashSet<PathBuf>,
    /// A check that could not put everything back: the copy it compared with, and what was
    /// left. No command runs until a check against that copy succeeds.
    poisoned: Option<(std::sync::Arc<guard::Guard>, Vec<String>)>,
}

impl Watch {
    fn state(&self) -> std::sync::MutexGuard<'_, WatchState> {
        match self.0.lock() {
            Ok(g) => g,
            Err(p) => p.into_inner(),
        }
    }

    /// A command over `roots` starts: the copy to restore to when it ends. Refused when the
    /// copy cannot cover the roots (too many folders), since the command would then be
    /// unwatched.
    pub fn begin(self: &std::sync::Arc<Self>, roots: &[PathBuf]) -> Result<Ticket, SandboxError> {
        let mut st = self.state();
        if let Some((old, _)) = st.poisoned.clone() {
            // Try again to put back what the last check could not; refuse while it fails.
            let skip = st.placeholders.clone();
            let (_, failed) = old.restore(&mut st.cache, &skip);
            if failed.is_empty() {
                st.poisoned = None;
            } else {
                st.poisoned = Some((old, failed.clone()));
                return Err(SandboxError(format!(
                    "a command changed the workspace's protected files in a way the host could not undo ({}); no command runs until that is fixed: remove what is named there by hand (outside Tabwright), then try again",
                    failed.join("; ")
                )));
            }
        }
        let guard = match (&st.baseline, st.live) {
            (Some(g), n) if n > 0 => g.clone(),
            _ => {
                let g = std::sync::Arc::new(guard::Guard::take(roots, &mut st.cache));
                if !g.incomplete.is_empty() {
                    return Err(SandboxError(format!(
                        "the workspace cannot be watched for changes to its protected files ({}), so no command runs in it: use a smaller workspace folder (at most {} folders) or remove what cannot be read",
                        g.incomplete.join("; "),
                        guard::max_folders()
                    )));
                }
                st.baseline = Some(g.clone());
                g
            }
        };
        st.live += 1;
        Ok(Ticket {
            watch: self.clone(),
            guard: Some(guard),
            placeholders: Vec::new(),
        })
    }
}

/// One running command's hold on the session's [`Watch`].
#[derive(Debug)]
pub struct Ticket {
    watch: std::sync::Arc<Watch>,
    guard: Option<std::sync::Arc<guard::Guard>>,
    placeholders: Vec<PathBuf>,
}

impl Ticket {
    /// The write-protected paths that exist in the roots (as the copy found them).
    pub fn protected(&self) -> Option<Vec<PathBuf>> {
        self.guard.as_ref().map(|g| g.protected())
    }

    /// The `.git` folders of the roots (bubblewrap makes each a mount point, so a command
    /// cannot rename or replace it).
    pub fn git_dirs(&self) -> Option<Vec<PathBuf>> {
        self.guard.as_ref().map(|g| g.git_dirs())
    }

    /// The command's placeholders (its [`Stubs`]): other commands' checks leave them alone.
    pub fn own(&mut self, stubs: &Stubs) {
        self.placeholders = stubs.paths.clone();
        self.watch
            .state()
            .placeholders
            .extend(self.placeholders.iter().cloned());
    }

    /// The command has ended (its processes are gone): puts the protected names back; what
    /// was restored, for the model, or `None` when nothing had changed.
    pub fn end(mut self) -> Option<String> {
        self.finish()
    }

    fn finish(&mut self) -> Option<String> {
        let guard = self.guard.take()?;
        let (touched, failed) = {
            let mut st = self.watch.state();
            for p in &self.placeholders {
                st.placeholders.remove(p);
            }
            st.live = st.live.saturating_sub(1);
            if st.live == 0 {
                st.baseline = None;
            }
            let skip = st.placeholders.clone();
            let (touched, failed) = guard.restore(&mut st.cache, &skip);
            if !failed.is_empty() {
                st.poisoned = Some((guard.clone(), failed.clone()));
            }
            (touched, failed)
        };
        if touched.is_empty() && failed.is_empty() {
            return None;
        }
        let list: Vec<String> = touched.iter().map(|p| p.display().to_string()).collect();
        let mut note = format!(
            "[write-protected paths were changed by the command and have been restored: {}]",
            list.join(", ")
        );
        if !failed.is_empty() {
            note.push_str(&format!("\n[could not restore: {}]", failed.join("; ")));
        }
        tracing::warn!("{note}");
        Some(note)
    }
}

impl Drop for Ticket {
    fn drop(&mut self) {
        let _ = self.finish();
    }
}

/// What a sandboxed command leaves to clean up: its cgroup (every process it started is
/// killed on drop) and the placeholders bubblewrap made in the workspace to cover
/// write-protected names that did not exist (removed, when still empty, on drop).
#[derive(Debug)]
pub struct Stubs {
    paths: Vec<PathBuf>,
    cgroup: Option<Cgroup>,
    /// The memory file bubblewrap reads the command's seccomp program from (open until the
    /// command has started).
    seccomp: Option<std::os::fd::OwnedFd>,
}

impl Stubs {
    /// The command's cgroup, when the host could make one.
    pub fn cgroup(&self) -> Option<&Cgroup> {
        self.cgroup.as_ref()
    }

    /// Kills what is left of the command and waits (bounded) until it is gone.
    fn stop(&mut self) {
        if let Some(cg) = &self.cgroup {
            cg.kill_all();
            let t0 = std::time::Instant::now();
            while !cg.pids().is_empty() && t0.elapsed() < std::time::Duration::from_secs(2) {
                std::thread::sleep(std::time::Duration::from_millis(5));
            }
        }
    }
}

impl Drop for Stubs {
    fn drop(&mut self) {
        // The processes first: a placeholder is a mount point while the sandbox lives.
        self.stop();
        self.cgroup = None;
        for p in &self.paths {
            match std::fs::symlink_metadata(p) {
                Ok(m) if m.is_dir() => {
                    let _ = std::fs::remove_dir(p);
                }
                Ok(m) if m.is_file() && m.len() == 0 => {
                    let _ = std::fs::remove_file(p);
                }
                _ => {}
            }
        }
    }
}

/// The descriptor number bubblewrap reads the seccomp program from.
const SECCOMP_FD: libc::c_int = 230;

/// A memory file holding [`kernel::unix_socket_filter`], read from the start.
fn seccomp_memfd() -> Result<std::os::fd::OwnedFd, SandboxError> {
    use std::io::{Seek, Write};
    let bytes = kernel::unix_socket_filter()
        .map(|p| kernel::program_bytes(&p))
        .map_err(|e| SandboxError(format!("cannot build the sandbox's seccomp filter: {e}")))?;
    let name = c"tabwright-seccomp";
    // SAFETY: memfd_create with a C string literal; the descriptor is owned below.
    let fd = unsafe { libc::memfd_create(name.as_ptr(), libc::MFD_CLOEXEC) };
    if fd < 0 {
        return Err(SandboxError(format!(
            "cannot make the seccomp program's memory file: {}",
            std::io::Error::last_os_error()
        )));
    }
    // SAFETY: fd is a fresh descriptor owned from here on.
    let mut f = std::fs::File::from(unsafe {
        <std::os::fd::OwnedFd as std::os::fd::FromRawFd>::from_raw_fd(fd)
    });
    f.write_all(&bytes)
        .and_then(|()| f.rewind())
        .map_err(|e| SandboxError(format!("cannot write the seccomp program: {e}")))?;
    Ok(f.into())
}

/// Write-protected names at the top of `root` (every top-level name of
/// [`paths::PROTECTED`]; shell start-up files only when `root` is home), with whether each is a
/// folder. Those that do not exist are covered so that a command cannot create them (`git
/// init` in a folder that is not a repository is refused for the same reason: it would make
/// `.git/hooks` writable).
fn top_protected(root: &Path, home: Option<&Path>) -> Vec<(PathBuf, bool)> {
    const FOLDERS: &[&str] = &[
        ".claude",
        ".tabwright",
        ".vscode",
        ".idea",
        ".cursor",
        ".gemini",
        ".codex",
        ".windsurf",
        ".zed",
        ".helix",
        ".devcontainer",
    ];
    const FILES: &[&str] = &[
        ".mcp.json",
        ".gitmodules",
        ".nvim.lua",
        ".nvimrc",
        ".exrc",
        ".envrc",
        ".npmrc",
        ".yarnrc",
        ".yarnrc.yml",
        ".pre-commit-config.yaml",
    ];
    let mut names: Vec<(&str, bool)> = FOLDERS
        .iter()
        .map(|n| (*n, true))
        .chain(FILES.iter().map(|n| (*n, false)))
        .collect();
    let git = root.join(".git");
    if git.is_dir() {
        names.push((".git/hooks", true));
        names.push((".git/config", false));
    } else if std::fs::symlink_metadata(&git).is_err() {
        names.push((".git", true));
    }
    if home == Some(root) {
        for rc in [
            ".bashrc",
            ".bash_profile",
            ".bash_login",
            ".profile",
            ".zshrc",
            ".zprofile",
            ".zshenv",
            ".gitconfig",
        ] {
            names.push((rc, false));
        }
    }
    names
        .into_iter()
        .map(|(n, dir)| (root.join(n), dir))
        .collect()
}

/// The `tabwright` executable that runs the network bridge inside a sandbox: this process
/// when it is `tabwright`, else `TABWRIGHT_EXE`, else a `tabwright` next to this executable
/// (or one folder up: tests run from `target/debug/deps`), else on PATH.
fn bridge_exe() -> PathBuf {
    if let Some(p) = std::env::var_os("TABWRIGHT_EXE") {
        return PathBuf::from(p);
    }
    let me = std::env::current_exe().ok();
    if let Some(me) = &me {
        if me.file_stem().is_some_and(|n| n == "tabwright") {
            return me.clone();
        }
        for dir in me.ancestors().skip(1).take(2) {
            let p = dir.join("tabwright");
            if p.is_file() {
                return p;
            }
        }
    }
    PathBuf::from("tabwright")
}

/// The protected paths (see [`paths::PROTECTED`]) that exist in `root`, down to three levels.
fn protected_in(root: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![(root.to_path_buf(), 0usize)];
    while let Some((dir, depth)) = stack.pop() {
        let Ok(rd) = std::fs::read_dir(&dir) else {
            continue;
        };
        for entry in rd.flatten() {
            let name = entry.file_name();
            let is_dir = entry.file_type().is_ok_and(|t| t.is_dir());
            if !is_dir && !paths::protected_name(&name) {
                continue;
            }
            let p = entry.path();
            let rel = p.strip_prefix(root).unwrap_or(&p);
            if paths::protected_name(&name) && paths::protected(rel).is_some() {
                out.push(p);
                continue;
            }
            if is_dir && depth < 3 && name != "node_modules" && name != "target" {
                stack.push((p, depth + 1));
            }
        }
    }
    out
}

fn probe() -> Result<Sandbox, SandboxError> {
    let landlock = || {
        kernel::probe().map(|abi| Sandbox {
            backend: Backend::Landlock { abi },
        })
    };
    match std::env::var("TABWRIGHT_SANDBOX_BACKEND").as_deref() {
        Ok("landlock") => return landlock(),
        Ok("bwrap") | Ok("bubblewrap") => return probe_bwrap(),
        Ok("") | Err(_) => {}
        Ok(other) => {
            return Err(SandboxError(format!(
                "TABWRIGHT_SANDBOX_BACKEND={other:?} is not a sandbox: use bwrap or landlock"
            )))
        }
    }
    match probe_bwrap() {
        Ok(s) => Ok(s),
        Err(bwrap) => match landlock() {
            Ok(s) => {
                tracing::warn!("{bwrap} Falling back to Landlock + seccomp.");
                Ok(s)
            }
            Err(ll) => Err(SandboxError(format!(
                "{} The fallback, Landlock + seccomp, cannot run either: {ll}. Commands never \
                 run unsandboxed unless the person allows one.",
                bwrap.0.replace(
                    " Commands never run unsandboxed unless the person allows one.",
                    ""
                )
            ))),
        },
    }
}

fn probe_bwrap() -> Result<Sandbox, SandboxError> {
    let bwrap = match std::env::var_os("TABWRIGHT_BWRAP") {
        Some(p) => PathBuf::from(p),
        None => std::env::var_os("PATH")
            .and_then(|path| {
                std::env::split_paths(&path)
                    .map(|d| d.join("bwrap"))
                    .find(|p| p.is_file())
            })
            .ok_or_else(|| {
                SandboxError(
                    "the shell needs bubblewrap to run commands confined, and it is not \
                     installed: install it (Debian/Ubuntu: `apt-get install bubblewrap`; \
                     Fedora: `dnf install bubblewrap`), then retry. Commands never run \
                     unsandboxed unless the person allows one."
                        .into(),
                )
            })?,
    };
    let out = std::process::Command::new(&bwrap)
        .args([
            "--unshare-pid",
            "--unshare-net",
            "--ro-bind",
            "/",
            "/",
            "--dev",
            "/dev",
            "--proc",
            "/proc",
            "--",
            "/bin/true",
        ])
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .output()
        .map_err(|e| SandboxError(format!("cannot run {}: {e}", bwrap.display())))?;
    if !out.status.success() {
        let err = String::from_utf8_lossy(&out.stderr).trim().to_string();
        return Err(SandboxError(format!(
            "bubblewrap is installed but cannot make a sandbox here ({err}). Unprivileged user \
             namespaces are probably off: allow them (`sysctl -w \
             kernel.unprivileged_userns_clone=1`, or on Ubuntu 24.04+ `sysctl -w \
             kernel.apparmor_restrict_unprivileged_userns=0`, or an AppArmor profile for bwrap), \
             or run inside a container that permits them. Commands never run unsandboxed \
             unless the person allows one."
        )));
    }
    Ok(Sandbox {
        backend: Backend::Bwrap(bwrap),
    })
}
