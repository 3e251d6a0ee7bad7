//! Resource limits for a sandboxed command: a cap on processes (a fork bomb stops there), on
//! memory (where the cgroup's memory controller is available), on the size of any one file it
//! writes, and no core dumps.
//!
//! Processes are capped by a `pids` cgroup when the host may make one (cgroup v2 with the
//! `pids` controller, or v1's `pids` hierarchy; typical when the host runs as root, where
//! `RLIMIT_NPROC` does not apply), and by `RLIMIT_NPROC` otherwise.

use std::ffi::CString;
use std::os::unix::process::CommandExt;
use std::path::PathBuf;

/// Most processes (and threads) a command may have at once.
pub const MAX_PROCESSES: u64 = 512;

/// Most memory a command's processes may use together (bytes; cgroup v2 with the memory
/// controller), so one command cannot starve the host.
pub const MAX_MEMORY: u64 = 4 << 30;

/// Largest file a command may write (bytes).
pub const MAX_FILE_BYTES: u64 = 1 << 30;

/// The cgroup folder new sandboxes go under, made once; `None` when none can be made.
fn cgroup_parent() -> Option<&'static PathBuf> {
    static PARENT: std::sync::OnceLock<Option<PathBuf>> = std::sync::OnceLock::new();
    PARENT
        .get_or_init(|| {
            let v2 = PathBuf::from("/sys/fs/cgroup");
            let v2_ok = std::fs::read_to_string(v2.join("cgroup.controllers"))
                .is_ok_and(|c| c.split_whitespace().any(|x| x == "pids"));
            let candidates = if v2_ok {
                vec![v2.join("tabwright")]
            } else {
                vec![PathBuf::from("/sys/fs/cgroup/pids/tabwright")]
            };
            for dir in candidates {
                if std::fs::create_dir_all(&dir).is_ok() {
                    if v2_ok {
                        // Let the children have the pids controller.
                        let _ = std::fs::write(dir.join("cgroup.subtree_control"), "+pids");
                        let _ = std::fs::write(dir.join("cgroup.subtree_control"), "+memory");
                    }
                    if dir.join("cgroup.procs").exists() {
                        return Some(dir);
                    }
                }
            }
            None
        })
        .as_ref()
}

/// The cgroup of one command: every process it starts is in it, whatever it does to escape
/// its parent (`setsid`, double forks), so the host can count and kill them all.
#[derive(Debug)]
pub struct Cgroup {
    dir: PathBuf,
    join: CString,
    /// cgroup v1's separate memory hierarchy: the folder and its `cgroup.procs`.
    memory: Option<(PathBuf, CString)>,
}

impl Cgroup {
    /// A fresh cgroup capped at [`MAX_PROCESSES`]; `None` when the host cannot make cgroups.
    fn fresh() -> Option<Cgroup> {
        let parent = cgroup_parent()?;
        sweep(parent);
        let mut bytes = [0u8; 6];
        getrandom::fill(&mut bytes).ok()?;
        let name: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
        let dir = parent.join(format!("sbx-{name}"));
        // Registered before it exists, so a concurrent sweep never removes it while empty.
        live().insert(dir.clone());
        if std::fs::create_dir(&dir).is_err() {
            live().remove(&dir);
            return None;
        }
        if std::fs::write(dir.join("pids.max"), MAX_PROCESSES.to_string()).is_err() {
            let _ = std::fs::remove_dir(&dir);
            return None;
        }
        // Where the memory controller is on, cap memory too (swap included when it can be).
        let mut memory = None;
        if dir.join("memory.max").exists() {
            let _ = std::fs::write(dir.join("memory.max"), MAX_MEMORY.to_string());
            let _ = std::fs::write(dir.join("memory.swap.max"), "0");
        } else if let Some(m) = memory_v1(&format!("sbx-{name}")) {
            memory = Some(m);
        }
        let join = CString::new(dir.join("cgroup.procs").to_string_lossy().as_bytes()).ok()?;
        Some(Cgroup { dir, join, memory })
    }

    /// The processes in it now.
    pub fn pids(&self) -> Vec<i32> {
        std::fs::read_to_string(self.dir.join("cgroup.procs"))
            .map(|s| s.lines().filter_map(|l| l.trim().parse().ok()).collect())
            .unwrap_or_default()
    }

    /// Sends SIGKILL to every process in it (a forking process is killed before its children
    /// can replace it: the cap on processes holds them).
    pub fn kill_all(&self) {
        if std::fs::write(self.dir.join("cgroup.kill"), "1").is_ok() {
            return;
        }
        for _ in 0..64 {
            let pids = self.pids();
            if pids.is_empty() {
                return;
            }
            for pid in pids {
                // SAFETY: kill(2) on a pid read from this command's cgroup.
                unsafe {
                    libc::kill(pid, libc::SIGKILL);
                }
            }
        }
    }

    /// Waits, bounded by `limit`, until no process is left in it; true when empty.
    pub async fn wait_empty(&self, limit: std::time::Duration) -> bool {
        let t0 = std::time::Instant::now();
        loop {
            if self.pids().is_empty() {
                return true;
            }
            if t0.elapsed() >= limit {
                return false;
            }
            tokio::time::sleep(std::time::Duration::from_millis(5)).await;
        }
    }
}

impl Drop for Cgroup {
    fn drop(&mut self) {
        self.kill_all();
        // Removable once empty; otherwise a later sweep removes it.
        let _ = std::fs::remove_dir(&self.dir);
        if let Some((dir, _)) = &self.memory {
            let _ = std::fs::remove_dir(dir);
            live().remove(dir);
        }
        live().remove(&self.dir);
    }
}

/// cgroup v1: a memory cgroup named like the pids one, capped at [`MAX_MEMORY`]; its folder
/// and `cgroup.procs`.
fn memory_v1(name: &str) -> Option<(PathBuf, CString)> {
    let parent = PathBuf::from("/sys/fs/cgroup/memory/tabwright");
    std::fs::create_dir_all(&parent).ok()?;
    sweep(&parent);
    let dir = parent.join(name);
    live().insert(dir.clone());
    let made = std::fs::create_dir(&dir).is_ok()
        && std::fs::write(dir.join("memory.limit_in_bytes"), MAX_MEMORY.to_string()).is_ok();
    if !made {
        let _ = std::fs::remove_dir(&dir);
        live().remove(&dir);
        return None;
    }
    let _ = std::fs::write(
        dir.join("memory.memsw.limit_in_bytes"),
        MAX_MEMORY.to_string(),
    );
    let join = CString::new(dir.join("cgroup.procs").to_string_lossy().as_bytes()).ok()?;
    Some((dir, join))
}

/// The cgroups of this process's commands that still run (never swept).
fn live() -> std::sync::MutexGuard<'static, std::collections::HashSet<PathBuf>> {
    static LIVE: std::sync::OnceLock<std::sync::Mutex<std::collections::HashSet<PathBuf>>> =
        std::sync::OnceLock::new();
    let m = LIVE.get_or_init(Default::default);
    match m.lock() {
        Ok(g) => g,
        Err(p) => p.into_inner(),
    }
}

/// Removes the empty cgroups of earlier commands (an empty cgroup can be removed; a busy one
/// refuses).
fn sweep(parent: &std::path::Path) {
    if let Ok(rd) = std::fs::read_dir(parent) {
        for e in rd.flatten() {
            let p = e.path();
            let ours = p
                .file_name()
                .is_some_and(|n| n.to_string_lossy().starts_with("sbx-"));
            if ours && !live().contains(&p) {
                let _ = std::fs::remove_dir(&p);
            }
        }
    }
}

/// Sets the limits on `cmd` (applied in the child between fork and exec); the command's
/// cgroup, when the host can make one.
pub fn apply(cmd: &mut std::process::Command) -> Option<Cgroup> {
    let cgroup = Cgroup::fresh();
    let join = cgroup.as_ref().map(|c| c.join.clone());
    let join_memory = cgroup
        .as_ref()
        .and_then(|c| c.memory.as_ref().map(|(_, j)| j.clone()));
    // SAFETY: the closure runs in the forked child before exec and only makes
    // async-signal-safe system calls (open, write, close, setrlimit, prctl) on memory prepared
    // before the fork.
    unsafe {
        cmd.pre_exec(move || {
            // A command that cannot join its cgroups does not run uncapped.
            for procs in join.iter().chain(join_memory.iter()) {
                let fd = libc::open(procs.as_ptr(), libc::O_WRONLY | libc::O_CLOEXEC);
                if fd < 0 {
                    return Err(std::io::Error::last_os_error());
                }
                let n = libc::write(fd, b"0".as_ptr().cast(), 1);
                libc::close(fd);
                if n != 1 {
                    return Err(std::io::Error::last_os_error());
                }
            }
            let set = |res, n: u64| {
                let lim = libc::rlimit {
                    rlim_cur: n as libc::rlim_t,
                    rlim_max: n as libc::rlim_t,
                };
                libc::setrlimit(res, &lim);
            };
            set(libc::RLIMIT_NPROC, MAX_PROCESSES * 8);
            set(libc::RLIMIT_FSIZE, MAX_FILE_BYTES);
            set(libc::RLIMIT_CORE, 0);
            // The sandbox dies with the host, even on SIGKILL.
            libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL);
            Ok(())
        });
    }
    cgroup
}
