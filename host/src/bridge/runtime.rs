//! Runtime files: how a `tabwright` started in a terminal finds the relays of the browsers
//! whose extension is connected.
//!
//! Each native host writes one JSON file (mode 0600, directory 0700) named after its browser's
//! stable id into [`runtime_dir`], and removes it when it exits. Files of dead processes are
//! ignored and removed by [`list_live`].

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

/// Which browser a relay belongs to.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct BrowserIdent {
    /// Stable id: the same browser and profile always get the same id.
    pub id: String,
    /// A name for people, e.g. `Chromium (profile tabwright-ud-1234)`.
    pub name: String,
    /// The brand the extension reported (Google Chrome, Microsoft Edge, Chromium …).
    pub brand: String,
    /// The user-data directory, when known.
    #[serde(default)]
    pub profile: Option<String>,
    /// The browser's product string.
    #[serde(default)]
    pub product: String,
}

/// The content of one runtime file.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RuntimeInfo {
    /// File format version.
    pub version: u32,
    /// The native host's process id.
    pub pid: u32,
    /// The relay's WebSocket URL (with the token).
    pub url: String,
    /// The relay's secret token.
    pub token: String,
    /// The browser.
    pub browser: BrowserIdent,
    /// The extension's id.
    pub extension_id: String,
    /// The protocol version in use.
    pub protocol: u64,
    /// When the host started (seconds since the epoch).
    pub started: u64,
    /// When the host started (milliseconds since the epoch), to tell two hosts of one browser
    /// apart (the newest wins).
    #[serde(default)]
    pub started_ms: u64,
}

/// Where runtime files live: `$TABWRIGHT_RUNTIME_DIR`, else `$XDG_RUNTIME_DIR/tabwright`, else
/// `~/.local/state/tabwright`.
pub fn runtime_dir() -> PathBuf {
    if let Some(d) = std::env::var_os("TABWRIGHT_RUNTIME_DIR").filter(|d| !d.is_empty()) {
        return PathBuf::from(d);
    }
    if let Some(d) = std::env::var_os("XDG_RUNTIME_DIR").filter(|d| !d.is_empty()) {
        return PathBuf::from(d).join("tabwright");
    }
    if let Some(h) = std::env::var_os("HOME").filter(|d| !d.is_empty()) {
        return PathBuf::from(h).join(".local/state/tabwright");
    }
    std::env::temp_dir().join("tabwright-runtime")
}

/// A stable short id for a browser brand and profile directory.
pub fn stable_id(brand: &str, profile: Option<&str>) -> String {
    use sha2::Digest;
    let mut h = sha2::Sha256::new();
    h.update(brand.as_bytes());
    h.update([0]);
    h.update(profile.unwrap_or("").as_bytes());
    h.finalize()
        .iter()
        .take(4)
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// The parent process's user-data directory (Chrome starts the host directly), if readable.
pub fn parent_profile() -> Option<String> {
    #[cfg(target_os = "linux")]
    {
        let ppid = std::os::unix::process::parent_id();
        let cmdline = std::fs::read(format!("/proc/{ppid}/cmdline")).ok()?;
        // Chrome takes the last one when a switch repeats.
        cmdline
            .split(|b| *b == 0)
            .rev()
            .filter_map(|a| std::str::from_utf8(a).ok())
            .find_map(|a| a.strip_prefix("--user-data-dir=").map(str::to_string))
    }
    #[cfg(not(target_os = "linux"))]
    {
        None
    }
}

/// Whether a process is alive.
pub fn pid_alive(pid: u32) -> bool {
    #[cfg(unix)]
    {
        // SAFETY: kill with signal 0 only checks for existence and permission.
        let r = unsafe { libc::kill(pid as libc::pid_t, 0) };
        r == 0 || std::io::Error::last_os_error().raw_os_error() == Some(libc::EPERM)
    }
    #[cfg(not(unix))]
    {
        let _ = pid;
        true
    }
}

fn ensure_dir(dir: &Path) -> std::io::Result<()> {
    std::fs::create_dir_all(dir)?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))?;
    }
    Ok(())
}

/// Writes `info` as `<dir>/<browser id>-<pid>.json` (mode 0600, atomically) and returns the
/// path. One file per host process: a browser may briefly run two hosts (a service worker
/// restarting), and each host removes only its own file.
pub fn write(dir: &Path, info: &RuntimeInfo) -> std::io::Result<PathBuf> {
    ensure_dir(dir)?;
    let path = dir.join(format!("{}-{}.json", info.browser.id, info.pid));
    let tmp = dir.join(format!(".{}.{}.tmp", info.browser.id, info.pid));
    let text = serde_json::to_string_pretty(info).map_err(std::io::Error::other)?;
    {
        use std::io::Write;
        let mut opts = std::fs::OpenOptions::new();
        opts.write(true).create(true).truncate(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            opts.mode(0o600);
        }
        let mut f = opts.open(&tmp)?;
        f.write_all(text.as_bytes())?;
        f.sync_all()?;
    }
    std::fs::rename(&tmp, &path)?;
    Ok(path)
}

/// Reads one runtime file.
pub fn read(path: &Path) -> Option<RuntimeInfo> {
    let text = std::fs::read_to_string(path).ok()?;
    serde_json::from_str(&text).ok()
}

/// Removes `path` if it still belongs to process `pid`.
pub fn remove_if_ours(path: &Path, pid: u32) {
    if read(path).is_some_and(|i| i.pid == pid) {
        let _ = std::fs::remove_file(path);
    }
}

/// The runtime files of live hosts in `dir`, one per browser (its newest host), oldest browser
/// first; files of dead hosts are removed.
pub fn list_live(dir: &Path) -> Vec<RuntimeInfo> {
    let mut out = Vec::new();
    collect_live(dir, &mut out);
    newest_per_browser(out)
}

/// [`list_live`] over every folder of [`runtime_dirs`]: what a process started with a bare
/// environment (an MCP client passing only HOME, PATH, SHELL, TERM, USER, LOGNAME) finds,
/// although the host that Chrome started in the desktop session wrote under its
/// `XDG_RUNTIME_DIR`.
pub fn list_live_all() -> Vec<RuntimeInfo> {
    let mut out = Vec::new();
    for d in runtime_dirs() {
        collect_live(&d, &mut out);
    }
    newest_per_browser(out)
}

/// Every folder a host of this user may have written its runtime file to: only
/// `$TABWRIGHT_RUNTIME_DIR` when set; else `$XDG_RUNTIME_DIR/tabwright`, the desktop
/// session's `/run/user/UID/tabwright` (found from the uid alone) and
/// `~/.local/state/tabwright`. Folders owned by another user are left out.
pub fn runtime_dirs() -> Vec<PathBuf> {
    if std::env::var_os("TABWRIGHT_RUNTIME_DIR").is_some_and(|d| !d.is_empty()) {
        return vec![runtime_dir()];
    }
    let mut dirs = vec![runtime_dir()];
    #[cfg(unix)]
    {
        // SAFETY: getuid has no preconditions and cannot fail.
        let uid = unsafe { libc::getuid() };
        dirs.push(PathBuf::from(format!("/run/user/{uid}/tabwright")));
    }
    if let Some(h) = std::env::var_os("HOME").filter(|d| !d.is_empty()) {
        dirs.push(PathBuf::from(h).join(".local/state/tabwright"));
    }
    let mut seen = std::collections::HashSet::new();
    dirs.retain(|d| seen.insert(d.clone()) && owned_by_me(d));
    dirs
}

fn owned_by_me(dir: &Path) -> bool {
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        // SAFETY: getuid has no preconditions and cannot fail.
        let uid = unsafe { libc::getuid() };
        // A folder that does not exist yet is fine: it lists nothing.
        std::fs::symlink_metadata(dir).map_or(true, |m| m.uid() == uid && m.is_dir())
    }
    #[cfg(not(unix))]
    {
        let _ = dir;
        true
    }
}

fn collect_live(dir: &Path, out: &mut Vec<RuntimeInfo>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for e in entries.flatten() {
        let path = e.path();
        if path.extension().and_then(|x| x.to_str()) != Some("json") {
            continue;
        }
        match read(&path) {
            Some(info) if pid_alive(info.pid) => out.push(info),
            Some(_) => {
                tracing::info!("removing the stale runtime file {}", path.display());
                let _ = std::fs::remove_file(&path);
            }
            None => {}
        }
    }
}

fn newest_per_browser(mut out: Vec<RuntimeInfo>) -> Vec<RuntimeInfo> {
    // One per browser: its newest host.
    out.sort_by(|a, b| {
        a.browser
            .id
            .cmp(&b.browser.id)
            .then(b.started_ms.cmp(&a.started_ms))
    });
    out.dedup_by(|later, first| later.browser.id == first.browser.id);
    out.sort_by(|a, b| {
        a.started
            .cmp(&b.started)
            .then(a.browser.id.cmp(&b.browser.id))
    });
    out
}

/// Picks a runtime by `choice` (an id, or part of a name or profile path, case-insensitive);
/// without a choice, the oldest. The error lists what is connected.
/// No connected browser matches the choice; the text lists the connected ones.
#[derive(Debug, Clone, Default, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct PickError(pub String);

/// Picks the connected browser `choice` names (id, name or profile), or the only one.
pub fn pick(list: &[RuntimeInfo], choice: Option<&str>) -> Result<RuntimeInfo, PickError> {
    pick_in(list, choice).map_err(PickError)
}

fn pick_in(list: &[RuntimeInfo], choice: Option<&str>) -> Result<RuntimeInfo, String> {
    if list.is_empty() {
        return Err(format!(
            "no browser with the Tabwright extension is connected (no live runtime file in {}): \
             install the extension, run `tabwright install`, and make sure the browser is running",
            runtime_dirs()
                .iter()
                .map(|d| d.display().to_string())
                .collect::<Vec<_>>()
                .join(", ")
        ));
    }
    let Some(c) = choice.filter(|c| !c.is_empty()) else {
        return Ok(list[0].clone());
    };
    let lc = c.to_lowercase();
    if let Some(i) = list.iter().find(|i| i.browser.id == c) {
        return Ok(i.clone());
    }
    list.iter()
        .find(|i| {
            i.browser.name.to_lowercase().contains(&lc)
                || i.browser
                    .profile
                    .as_deref()
                    .is_some_and(|p| p.to_lowercase().contains(&lc))
        })
        .cloned()
        .ok_or_else(|| {
            format!(
                "no connected browser matches \"{c}\"; connected: {}",
                describe_all(list)
            )
        })
}

/// "id (name), …" for messages.
pub fn describe_all(list: &[RuntimeInfo]) -> String {
    list.iter()
        .map(|i| format!("{} ({})", i.browser.id, i.browser.name))
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn info(pid: u32, id: &str, name: &str, started: u64) -> RuntimeInfo {
        RuntimeInfo {
            version: 1,
            pid,
            url: "ws://127.0.0.1:1/devtools/browser/x".into(),
            token: "x".into(),
            browser: BrowserIdent {
                id: id.into(),
                name: name.into(),
                brand: "Chromium".into(),
                profile: Some(format!("/tmp/{name}")),
                product: String::new(),
            },
            extension_id: String::new(),
            protocol: 1,
            started,
            started_ms: started * 1000,
        }
    }

    #[test]
    fn write_list_pick_and_stale_removal() {
        let dir = std::env::temp_dir().join(format!("tw-rt-test-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let me = std::process::id();
        let p = write(&dir, &info(me, "aaaa0001", "Chromium (work)", 2)).expect("write");
        write(&dir, &info(me, "bbbb0002", "Microsoft Edge (home)", 1)).expect("write");
        // A second, newer host of the same browser (another live pid: our parent) wins.
        let parent = std::os::unix::process::parent_id();
        let mut newer = info(parent, "bbbb0002", "Microsoft Edge (home)", 1);
        newer.started_ms += 500;
        write(&dir, &newer).expect("write");
        // A dead pid: the largest pid number is never in use.
        let stale = write(&dir, &info(4_194_304, "cccc0003", "Brave", 0)).expect("write");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&p).expect("meta").permissions().mode() & 0o777;
            assert_eq!(mode, 0o600);
        }
        let live = list_live(&dir);
        assert_eq!(live.len(), 2, "{live:?}");
        assert!(!stale.exists(), "the stale file is removed");
        assert_eq!(live[0].browser.id, "bbbb0002", "oldest first");
        assert_eq!(live[0].pid, parent, "the newest host of a browser");
        assert_eq!(
            pick(&live, None).map(|i| i.browser.id),
            Ok("bbbb0002".into())
        );
        assert_eq!(
            pick(&live, Some("aaaa0001")).map(|i| i.browser.id),
            Ok("aaaa0001".into())
        );
        assert_eq!(
            pick(&live, Some("edge")).map(|i| i.browser.id),
            Ok("bbbb0002".into())
        );
        let e = pick(&live, Some("safari")).expect_err("no match");
        assert!(e.0.contains("aaaa0001 (Chromium (work))"), "{e}");
        remove_if_ours(&p, me + 1);
        assert!(p.exists(), "not removed for another pid");
        remove_if_ours(&p, me);
        assert!(!p.exists());
        assert_eq!(
            stable_id("Chromium", Some("/a")),
            stable_id("Chromium", Some("/a"))
        );
        assert_ne!(
            stable_id("Chromium", Some("/a")),
            stable_id("Chromium", Some("/b"))
        );
        let _ = std::fs::remove_dir_all(&dir);
    }
}
