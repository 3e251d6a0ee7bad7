//! Finding and starting a local Chromium (the `launch` backend).
//!
//! Owns the child process and its throw-away profile directory. The browser runs in a process
//! group of its own, so the whole tree (zygotes, renderers, GPU and network services) is ended
//! at once; the profile is removed only after that, so nothing writes into it while it goes.
//! Every launched browser is also listed process-wide, so [`reap_all`] can end them all from a
//! signal handler (Ctrl-C, SIGTERM, SIGHUP) before the process exits. Touches nothing else.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

/// How to start the browser.
#[derive(Debug, Clone, Default)]
pub struct LaunchOptions {
    /// The browser executable; found on PATH when `None`.
    pub executable: Option<PathBuf>,
    /// Show a window instead of running headless.
    pub headed: bool,
    /// Extra command-line switches.
    pub extra_args: Vec<String>,
    /// Initial window size in CSS pixels.
    pub window: (u32, u32),
    /// Extra environment variables for the browser (and what it starts, such as the native
    /// messaging host).
    pub env: Vec<(String, String)>,
}

/// A running browser started by us.
pub struct Launched {
    /// The browser-level DevTools WebSocket URL.
    pub ws_url: String,
    child: tokio::sync::Mutex<Child>,
    pid: Option<u32>,
    profile: PathBuf,
}

impl Drop for Launched {
    fn drop(&mut self) {
        let _ = self.child.get_mut().start_kill();
        if let Some(pid) = self.pid {
            end_group(pid, &self.profile);
        }
    }
}

impl Launched {
    /// The process id of the browser.
    pub fn pid(&self) -> Option<u32> {
        self.pid
    }

    /// Ends the browser: waits (at most `grace`) for it to exit by itself after a
    /// `Browser.close`, then ends its whole process group and removes its profile.
    pub async fn finish(&self, grace: Duration) {
        let mut child = self.child.lock().await;
        let _ = tokio::time::timeout(grace, child.wait()).await;
        let _ = child.start_kill();
        let _ = tokio::time::timeout(Duration::from_secs(2), child.wait()).await;
        if let Some(pid) = self.pid {
            end_group(pid, &self.profile);
        }
    }
}

/// The browsers this process launched and has not ended yet: (process group, profile).
static RUNNING: std::sync::Mutex<Vec<(u32, PathBuf)>> = std::sync::Mutex::new(Vec::new());

fn running() -> std::sync::MutexGuard<'static, Vec<(u32, PathBuf)>> {
    RUNNING.lock().unwrap_or_else(|p| p.into_inner())
}

/// Kills the process group `pgid` (the browser and everything it started) and removes
/// `profile` once nothing writes into it any more (bounded: about 2 s).
fn end_group(pgid: u32, profile: &Path) {
    running().retain(|(p, _)| *p != pgid);
    #[cfg(unix)]
    if let Ok(pg) = i32::try_from(pgid) {
        // SAFETY: kill(2) with a negative pid signals a process group; no memory is touched.
        unsafe {
            libc::kill(-pg, libc::SIGKILL);
        }
    }
    // SIGKILL is not instant: wait (bounded) until no live process is left in the group, so
    // nothing of the browser outlives the host and nothing writes into the profile any more.
    let deadline = std::time::Instant::now() + Duration::from_secs(2);
    while group_alive(pgid) && std::time::Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(5));
    }
    // A removal that raced with a last write is tried again until the folder is gone.
    loop {
        match std::fs::remove_dir_all(profile) {
            Ok(()) => return,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return,
            Err(e) if std::time::Instant::now() > deadline => {
                tracing::warn!(
                    "cannot remove the browser profile {}: {e}",
                    profile.display()
                );
                return;
            }
            Err(_) => std::thread::sleep(Duration::from_millis(10)),
        }
    }
}

/// True while a process that is not a zombie is in process group `pgid` (from `/proc`).
fn group_alive(pgid: u32) -> bool {
    let Ok(dir) = std::fs::read_dir("/proc") else {
        return false;
    };
    dir.flatten().any(|e| {
        let Ok(stat) = std::fs::read_to_string(e.path().join("stat")) else {
            return false;
        };
        // "pid (comm) state ppid pgrp …": comm may hold spaces, so split after the last ')'.
        let Some((_, rest)) = stat.rsplit_once(')') else {
            return false;
        };
        let mut f = rest.split_whitespace();
        let state = f.next().unwrap_or("Z");
        let pgrp = f.nth(1).and_then(|p| p.parse::<u32>().ok());
        pgrp == Some(pgid) && state != "Z" && state != "X"
    })
}

/// Ends every browser this process launched and removes their profiles: for signal handlers,
/// just before the process exits.
pub fn reap_all() {
    let all: Vec<(u32, PathBuf)> = running().clone();
    for (pgid, profile) in all {
        end_group(pgid, &profile);
    }
}

/// Removes profiles that launches by processes now dead left behind (a host killed with
/// SIGKILL cannot clean up): a `tabwright-profile-*` folder whose Chromium lock names a
/// process that no longer exists on this machine.
fn sweep_stale_profiles() {
    let Ok(dir) = std::fs::read_dir(std::env::temp_dir()) else {
        return;
    };
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|h| h.trim().to_string())
        .unwrap_or_default();
    for entry in dir.flatten() {
        let name = entry.file_name();
        if !name.to_string_lossy().starts_with("tabwright-profile-") {
            continue;
        }
        // Chromium's SingletonLock is a symlink to "HOSTNAME-PID".
        let Ok(target) = std::fs::read_link(entry.path().join("SingletonLock")) else {
            continue;
        };
        let target = target.to_string_lossy().to_string();
        let Some((h, pid)) = target.rsplit_once('-') else {
            continue;
        };
        if h != host || pid.parse::<u32>().is_err() {
            continue;
        }
        if !Path::new("/proc").join(pid).exists() {
            let _ = std::fs::remove_dir_all(entry.path());
        }
    }
}

const CANDIDATES: &[&str] = &[
    "chromium",
    "chromium-browser",
    "google-chrome",
    "google-chrome-stable",
    "chrome",
    "microsoft-edge",
    "brave-browser",
];

const MAC_CANDIDATES: &[&str] = &[
    "/Applications/Google Chrome.app/Contents/MacOS/Google Chrome",
    "/Applications/Chromium.app/Contents/MacOS/Chromium",
];

/// Finds a Chromium-family browser on PATH (or the usual macOS places).
pub fn find_browser() -> Option<PathBuf> {
    if let Ok(p) = std::env::var("TABWRIGHT_CHROME") {
        let p = PathBuf::from(p);
        if p.is_file() {
            return Some(p);
        }
    }
    let path = std::env::var_os("PATH")?;
    for name in CANDIDATES {
        for dir in std::env::split_paths(&path) {
            let candidate = dir.join(name);
            if candidate.is_file() {
                return Some(candidate);
            }
        }
    }
    MAC_CANDIDATES
        .iter()
        .map(PathBuf::from)
        .find(|p| p.is_file())
}

pub(crate) fn is_root() -> bool {
    // The euid check without libc: /proc/self/status has "Uid: real effective ...".
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("Uid:"))
                .and_then(|l| l.split_whitespace().nth(2).map(|u| u == "0"))
        })
        .unwrap_or(false)
}

/// A fresh, private directory under the system temp dir.
pub fn fresh_dir(tag: &str) -> std::io::Result<PathBuf> {
    let mut bytes = [0u8; 8];
    getrandom::fill(&mut bytes).map_err(|e| std::io::Error::other(e.to_string()))?;
    let name: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    let dir = std::env::temp_dir().join(format!("tabwright-{tag}-{name}"));
    std::fs::create_dir_all(&dir)?;
    Ok(dir)
}

/// Starts the browser and waits (bounded) for its DevTools endpoint.
pub async fn launch(opts: &LaunchOptions) -> Result<Launched, String> {
    let exe = match &opts.executable {
        Some(p) => p.clone(),
        None => find_browser().ok_or_else(|| {
            "no Chromium or Chrome found on PATH: install one (Debian: `apt-get install chromium`) \
             or pass --chrome PATH"
                .to_string()
        })?,
    };
    sweep_stale_profiles();
    let profile =
        fresh_dir("profile").map_err(|e| format!("cannot create a profile directory: {e}"))?;
    let (w, h) = if opts.window.0 > 0 {
        opts.window
    } else {
        (1280, 800)
    };
    let mut args: Vec<String> = vec![
        "--remote-debugging-port=0".into(),
        format!("--user-data-dir={}", profile.display()),
        "--disable-background-networking".into(),
        "--disable-component-update".into(),
        "--disable-sync".into(),
        "--no-first-run".into(),
        "--no-default-browser-check".into(),
        "--disable-default-apps".into(),
        "--disable-extensions-except=".into(),
        "--disable-features=Translate,MediaRouter,OptimizationHints,AutofillServerCommunication"
            .into(),
        "--disable-renderer-backgrounding".into(),
        "--disable-background-timer-throttling".into(),
        "--disable-backgrounding-occluded-windows".into(),
        "--password-store=basic".into(),
        "--use-mock-keychain".into(),
        "--mute-audio".into(),
        format!("--window-size={w},{h}"),
    ];
    if !opts.headed {
        args.push("--headless=new".into());
        args.push("--hide-scrollbars".into());
    }
    if is_root() {
        args.push("--no-sandbox".into());
    }
    args.extend(opts.extra_args.iter().cloned());
    args.push("about:blank".into());
    let mut cmd = Command::new(&exe);
    cmd.envs(opts.env.iter().map(|(k, v)| (k, v)));
    cmd.args(&args)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    // A group of its own: the browser's whole tree can be ended with one signal.
    #[cfg(unix)]
    cmd.process_group(0);
    #[cfg(target_os = "linux")]
    // SAFETY: the closure runs in the forked child before exec and only calls prctl, which is
    // async-signal-safe. It makes the kernel kill the browser when the host dies, even by
    // SIGKILL, so no browser is ever orphaned.
    unsafe {
        cmd.pre_exec(|| {
            libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL);
            Ok(())
        });
    }
    let mut child = spawn_on_keeper(cmd)
        .await
        .map_err(|e| format!("cannot start {}: {e}", exe.display()))?;
    let pid = child.id();
    if let Some(pid) = pid {
        running().push((pid, profile.clone()));
    }
    let stderr = child
        .stderr
        .take()
        .ok_or("the browser's stderr is not available")?;
    let mut lines = BufReader::new(stderr).lines();
    let mut seen = Vec::new();
    let found = tokio::time::timeout(Duration::from_secs(30), async {
        while let Ok(Some(line)) = lines.next_line().await {
            if let Some(pos) = line.find("ws://") {
                return Some(line[pos..].trim().to_string());
            }
            if seen.len() < 20 {
                seen.push(line);
            }
        }
        None
    })
    .await;
    let ws_url = match found {
        Ok(Some(url)) => url,
        Ok(None) => {
            if let Some(pid) = pid {
                end_group(pid, &profile);
            }
            return Err(format!(
                "{} exited before opening its DevTools endpoint: {}",
                exe.display(),
                seen.join(" | ")
            ));
        }
        Err(_) => {
            let _ = child.start_kill();
            if let Some(pid) = pid {
                end_group(pid, &profile);
            }
            return Err(format!(
                "{} did not open its DevTools endpoint within 30 s",
                exe.display()
            ));
        }
    };
    // Keep draining stderr so the browser never blocks on a full pipe.
    tokio::spawn(async move {
        while let Ok(Some(line)) = lines.next_line().await {
            tracing::trace!(target: "chromium", "{line}");
        }
    });
    Ok(Launched {
        ws_url,
        child: tokio::sync::Mutex::new(child),
        pid,
        profile,
    })
}

/// Resolves a `connect=` endpoint to a browser WebSocket URL: ws:// URLs are used as they are;
/// http:// endpoints are asked for `/json/version`.
pub async fn resolve_endpoint(url: &str) -> Result<String, String> {
    if url.starts_with("ws://") || url.starts_with("wss://") {
        return Ok(url.to_string());
    }
    let rest = url
        .strip_prefix("http://")
        .ok_or_else(|| format!("unsupported endpoint {url}: use ws://HOST:PORT/devtools/browser/ID or http://HOST:PORT"))?;
    let authority = rest.split('/').next().unwrap_or(rest);
    let body = http_get(authority, "/json/version").await?;
    let v: serde_json::Value =
        serde_json::from_str(&body).map_err(|e| format!("{url}/json/version is not JSON: {e}"))?;
    v.get("webSocketDebuggerUrl")
        .and_then(|u| u.as_str())
        .map(|s| s.to_string())
        .ok_or_else(|| format!("{url}/json/version has no webSocketDebuggerUrl"))
}

async fn http_get(authority: &str, path: &str) -> Result<String, String> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let fut = async {
        let mut s = tokio::net::TcpStream::connect(authority)
            .await
            .map_err(|e| format!("cannot reach {authority}: {e}"))?;
        let req = format!("GET {path} HTTP/1.1\r\nHost: {authority}\r\nConnection: close\r\n\r\n");
        s.write_all(req.as_bytes())
            .await
            .map_err(|e| e.to_string())?;
        // Read the head, then exactly Content-Length bytes: DevTools keeps the socket open.
        let mut buf = Vec::new();
        let mut chunk = [0u8; 4096];
        let head_end = loop {
            let n = s.read(&mut chunk).await.map_err(|e| e.to_string())?;
            if n == 0 {
                return Err(format!(
                    "{authority} closed the connection without an answer"
                ));
            }
            buf.extend_from_slice(&chunk[..n]);
            if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                break i + 4;
            }
            if buf.len() > 64 * 1024 {
                return Err(format!("{authority} sent an oversized HTTP head"));
            }
        };
        let head = String::from_utf8_lossy(&buf[..head_end]).to_ascii_lowercase();
        let len = head
            .lines()
            .find_map(|l| {
                l.strip_prefix("content-length:")
                    .and_then(|v| v.trim().parse::<usize>().ok())
            })
            .unwrap_or(0);
        while buf.len() < head_end + len {
            let n = s.read(&mut chunk).await.map_err(|e| e.to_string())?;
            if n == 0 {
                break;
            }
            buf.extend_from_slice(&chunk[..n]);
        }
        let end = (head_end + len).min(buf.len());
        Ok::<_, String>(String::from_utf8_lossy(&buf[head_end..end]).to_string())
    };
    tokio::time::timeout(Duration::from_secs(10), fut)
        .await
        .map_err(|_| format!("{authority} did not answer within 10 s"))?
}

/// Spawns `cmd` on one thread that lives as long as the process.
///
/// `PR_SET_PDEATHSIG` fires when the *thread* that forked the child ends, not the process; a
/// browser spawned from a short-lived thread (a blocking-pool thread, a test's thread) would be
/// killed with it. The keeper thread never ends, so the browser dies only with the process.
async fn spawn_on_keeper(mut cmd: Command) -> std::io::Result<tokio::process::Child> {
    type Job = Box<dyn FnOnce() + Send>;
    static KEEPER: std::sync::OnceLock<std::sync::Mutex<std::sync::mpsc::Sender<Job>>> =
        std::sync::OnceLock::new();
    let keeper = KEEPER.get_or_init(|| {
        let (tx, rx) = std::sync::mpsc::channel::<Job>();
        let _ = std::thread::Builder::new()
            .name("tabwright-spawner".into())
            .spawn(move || {
                for job in rx {
                    job();
                }
            });
        std::sync::Mutex::new(tx)
    });
    let handle = tokio::runtime::Handle::current();
    let (done_tx, done_rx) = tokio::sync::oneshot::channel();
    let job: Job = Box::new(move || {
        let _rt = handle.enter();
        let _ = done_tx.send(cmd.spawn());
    });
    let sent = match keeper.lock() {
        Ok(tx) => tx.send(job),
        Err(p) => p.into_inner().send(job),
    };
    if sent.is_err() {
        return Err(std::io::Error::other("the spawner thread is gone"));
    }
    done_rx
        .await
        .map_err(|_| std::io::Error::other("the spawner thread dropped the request"))?
}
