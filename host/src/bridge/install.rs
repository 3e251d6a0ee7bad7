//! `tabwright install` and `tabwright doctor`: the native-messaging host manifest in every
//! Chromium-family browser's `NativeMessagingHosts` directory, and a check of the whole chain.
//!
//! Linux and macOS use manifest files in per-browser directories (per user, or system-wide with
//! `--system`); Windows uses a manifest file plus a registry key (behind `cfg(windows)`).

use std::path::{Path, PathBuf};

use serde_json::{json, Value};

use super::protocol::{extension_origin, EXTENSION_ID, HOST_NAME};

/// The browsers `install` knows.
pub const BROWSERS: &[&str] = &["chrome", "chromium", "edge", "brave", "vivaldi"];

/// Where one browser keeps native-messaging manifests.
fn manifest_dir(browser: &str, system: bool) -> Option<PathBuf> {
    let home = std::env::var_os("HOME").map(PathBuf::from);
    if cfg!(target_os = "macos") {
        let rel = match browser {
            "chrome" => "Google/Chrome",
            "chromium" => "Chromium",
            "edge" => "Microsoft Edge",
            "brave" => "BraveSoftware/Brave-Browser",
            "vivaldi" => "Vivaldi",
            _ => return None,
        };
        return Some(if system {
            match browser {
                "chrome" => PathBuf::from("/Library/Google/Chrome/NativeMessagingHosts"),
                "edge" => PathBuf::from("/Library/Microsoft/Edge/NativeMessagingHosts"),
                _ => PathBuf::from("/Library/Application Support")
                    .join(rel)
                    .join("NativeMessagingHosts"),
            }
        } else {
            home?
                .join("Library/Application Support")
                .join(rel)
                .join("NativeMessagingHosts")
        });
    }
    if system {
        return Some(PathBuf::from(match browser {
            "chrome" => "/etc/opt/chrome/native-messaging-hosts",
            "chromium" => "/etc/chromium/native-messaging-hosts",
            "edge" => "/etc/opt/edge/native-messaging-hosts",
            "brave" => "/etc/opt/brave/native-messaging-hosts",
            "vivaldi" => "/etc/opt/vivaldi/native-messaging-hosts",
            _ => return None,
        }));
    }
    let config = std::env::var_os("XDG_CONFIG_HOME")
        .filter(|c| !c.is_empty())
        .map(PathBuf::from)
        .or_else(|| home.map(|h| h.join(".config")))?;
    let rel = match browser {
        "chrome" => "google-chrome",
        "chromium" => "chromium",
        "edge" => "microsoft-edge",
        "brave" => "BraveSoftware/Brave-Browser",
        "vivaldi" => "vivaldi",
        _ => return None,
    };
    Some(config.join(rel).join("NativeMessagingHosts"))
}

/// The manifest for `exe`.
pub fn manifest(exe: &Path) -> Value {
    json!({
        "name": HOST_NAME,
        "description": "Tabwright browser agent host",
        "path": exe.display().to_string(),
        "type": "stdio",
        "allowed_origins": [extension_origin()],
    })
}

/// Where `install` writes, for the given options.
pub fn targets(
    browser: &str,
    user_data_dir: Option<&Path>,
    system: bool,
) -> Result<Vec<(String, PathBuf)>, String> {
    if let Some(dir) = user_data_dir {
        // Chrome also looks in <user-data-dir>/NativeMessagingHosts.
        return Ok(vec![(
            "user-data-dir".into(),
            dir.join("NativeMessagingHosts"),
        )]);
    }
    let names: Vec<&str> = if browser == "all" {
        BROWSERS.to_vec()
    } else if BROWSERS.contains(&browser) {
        vec![browser]
    } else {
        return Err(format!(
            "unknown browser \"{browser}\": use one of {} or all",
            BROWSERS.join(", ")
        ));
    };
    Ok(names
        .into_iter()
        .filter_map(|b| manifest_dir(b, system).map(|d| (b.to_string(), d)))
        .collect())
}

/// Writes the manifest into each target directory; returns the files written.
pub fn install(
    browser: &str,
    user_data_dir: Option<&Path>,
    system: bool,
) -> Result<Vec<PathBuf>, String> {
    let exe = std::env::current_exe()
        .and_then(|p| p.canonicalize())
        .map_err(|e| format!("cannot find the tabwright executable: {e}"))?;
    let text = serde_json::to_string_pretty(&manifest(&exe)).map_err(|e| e.to_string())?;
    let mut written = Vec::new();
    for (_, dir) in targets(browser, user_data_dir, system)? {
        std::fs::create_dir_all(&dir)
            .map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
        let file = dir.join(format!("{HOST_NAME}.json"));
        std::fs::write(&file, &text)
            .map_err(|e| format!("cannot write {}: {e}", file.display()))?;
        #[cfg(windows)]
        register_windows(browser, &file)?;
        written.push(file);
    }
    Ok(written)
}

#[cfg(windows)]
fn register_windows(browser: &str, file: &Path) -> Result<(), String> {
    let key = match browser {
        "edge" => "Software\\Microsoft\\Edge",
        "brave" => "Software\\BraveSoftware\\Brave-Browser",
        "chromium" => "Software\\Chromium",
        _ => "Software\\Google\\Chrome",
    };
    let status = std::process::Command::new("reg")
        .args([
            "add",
            &format!("HKCU\\{key}\\NativeMessagingHosts\\{HOST_NAME}"),
            "/ve",
            "/t",
            "REG_SZ",
            "/d",
            &file.display().to_string(),
            "/f",
        ])
        .status()
        .map_err(|e| format!("cannot run reg: {e}"))?;
    if status.success() {
        Ok(())
    } else {
        Err(format!("reg add failed for {browser}"))
    }
}

/// One line of the doctor's report.
#[derive(Debug, Clone)]
pub struct Check {
    /// What was checked.
    pub what: String,
    /// Whether it is fine.
    pub ok: bool,
    /// Details, or what is wrong.
    pub detail: String,
    /// The command that fixes it, when it failed.
    pub fix: Option<String>,
}

/// Checks one manifest file: present, parseable, right name, an executable path, our origin.
pub fn check_manifest(file: &Path, fix: &str) -> Check {
    let what = format!("manifest {}", file.display());
    let bad = |detail: String| Check {
        what: what.clone(),
        ok: false,
        detail,
        fix: Some(fix.to_string()),
    };
    let Ok(text) = std::fs::read_to_string(file) else {
        return bad("missing".into());
    };
    let Ok(v) = serde_json::from_str::<Value>(&text) else {
        return bad("not JSON".into());
    };
    if v.get("name").and_then(|n| n.as_str()) != Some(HOST_NAME) {
        return bad(format!("name is not {HOST_NAME}"));
    }
    if v.get("type").and_then(|n| n.as_str()) != Some("stdio") {
        return bad("type is not stdio".into());
    }
    let path = v.get("path").and_then(|p| p.as_str()).unwrap_or("");
    if !Path::new(path).is_absolute() || !Path::new(path).is_file() {
        return bad(format!("path {path:?} is not an existing absolute file"));
    }
    let origins: Vec<&str> = v
        .get("allowed_origins")
        .and_then(|o| o.as_array())
        .map(|a| a.iter().filter_map(|x| x.as_str()).collect())
        .unwrap_or_default();
    if !origins.contains(&extension_origin().as_str()) {
        return bad(format!(
            "allowed_origins does not include {}",
            extension_origin()
        ));
    }
    if let Ok(me) = std::env::current_exe().and_then(|p| p.canonicalize()) {
        if Path::new(path) != me {
            return Check {
                what,
                ok: true,
                detail: format!("points to {path} (this tabwright is {})", me.display()),
                fix: None,
            };
        }
    }
    Check {
        what,
        ok: true,
        detail: format!("points to {path}"),
        fix: None,
    }
}

/// Checks the extension's manifest key against the fixed ID (when the extension folder is
/// known, e.g. next to the repository).
pub fn check_extension_dir(dir: &Path) -> Check {
    let what = format!("extension {}", dir.display());
    let fail = |detail: String| Check {
        what: what.clone(),
        ok: false,
        detail,
        fix: Some("restore extension/manifest.json from the repository".into()),
    };
    let Ok(text) = std::fs::read_to_string(dir.join("manifest.json")) else {
        return fail("no manifest.json".into());
    };
    let Ok(v) = serde_json::from_str::<Value>(&text) else {
        return fail("manifest.json is not JSON".into());
    };
    let Some(key) = v.get("key").and_then(|k| k.as_str()) else {
        return fail("manifest.json has no key".into());
    };
    match super::protocol::extension_id_of_key(key) {
        Ok(id) if id == EXTENSION_ID => Check {
            what,
            ok: true,
            detail: format!("ID {id}"),
            fix: None,
        },
        Ok(id) => fail(format!("the key gives ID {id}, not {EXTENSION_ID}")),
        Err(e) => fail(e),
    }
}

/// Runs every offline check for `browser` (or all) and returns them.
pub fn doctor_offline(browser: &str, user_data_dir: Option<&Path>) -> Vec<Check> {
    let mut checks = Vec::new();
    match std::env::current_exe() {
        Ok(p) => checks.push(Check {
            what: "executable".into(),
            ok: p.is_file(),
            detail: p.display().to_string(),
            fix: None,
        }),
        Err(e) => checks.push(Check {
            what: "executable".into(),
            ok: false,
            detail: e.to_string(),
            fix: Some("run tabwright from its installed path".into()),
        }),
    }
    let udd = user_data_dir
        .map(|d| format!(" --user-data-dir {}", d.display()))
        .unwrap_or_default();
    match targets(browser, user_data_dir, false) {
        Ok(list) => {
            for (name, dir) in list {
                let fix = if user_data_dir.is_some() {
                    format!("tabwright install{udd}")
                } else {
                    format!("tabwright install --browser {name}")
                };
                let file = dir.join(format!("{HOST_NAME}.json"));
                // A browser that is not installed has no config folder: not an error.
                if browser == "all"
                    && user_data_dir.is_none()
                    && !dir.parent().is_some_and(|p| p.exists())
                {
                    continue;
                }
                checks.push(check_manifest(&file, &fix));
            }
        }
        Err(e) => checks.push(Check {
            what: "browser".into(),
            ok: false,
            detail: e,
            fix: Some("tabwright doctor --browser all".into()),
        }),
    }
    checks
}

/// The repository's `extension/` folder, when this tabwright runs from a checkout.
pub fn extension_dir_near_exe() -> Option<PathBuf> {
    let exe = std::env::current_exe().ok()?.canonicalize().ok()?;
    exe.ancestors()
        .map(|a| a.join("extension"))
        .find(|d| d.join("manifest.json").is_file())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_manifest_key_gives_the_fixed_id() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../extension");
        let c = check_extension_dir(&dir);
        assert!(c.ok, "{c:?}");
    }

    #[test]
    fn install_into_a_user_data_dir_and_check() {
        let dir = std::env::temp_dir().join(format!("tw-install-{}", std::process::id()));
        let files = install("all", Some(&dir), false).expect("install");
        assert_eq!(files.len(), 1);
        let c = check_manifest(&files[0], "x");
        // The test binary is the "executable" here: it exists, so the manifest is fine.
        assert!(c.ok, "{c:?}");
        std::fs::write(&files[0], "{}").expect("write");
        let c = check_manifest(&files[0], "tabwright install");
        assert!(
            !c.ok && c.fix.as_deref() == Some("tabwright install"),
            "{c:?}"
        );
        assert!(targets("safari", None, false).is_err());
        let _ = std::fs::remove_dir_all(&dir);
    }
}
