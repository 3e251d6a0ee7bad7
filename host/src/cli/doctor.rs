//! `tabwright doctor`: the whole chain checked, offline (manifests, executable, extension
//! folder) and live (a CDP round trip through every connected browser's relay).

use std::path::Path;

use serde_json::{json, Value};

use crate::bridge::install::{check_extension_dir, doctor_offline, extension_dir_near_exe, Check};
use crate::bridge::protocol::EXTENSION_ID;
use crate::browser::Cdp;

/// A live round trip through one connected browser's relay: version and tab list.
pub async fn round_trip(info: &crate::bridge::runtime::RuntimeInfo) -> Result<String, String> {
    let started = std::time::Instant::now();
    let cdp = Cdp::connect(&info.url).await.map_err(|e| e.to_string())?;
    let v: Value = cdp
        .call(None, "Browser.getVersion", json!({}))
        .await
        .map_err(|e| e.to_string())?;
    let t: Value = cdp
        .call(None, "Target.getTargets", json!({}))
        .await
        .map_err(|e| e.to_string())?;
    let _ = cdp.run(None, "Browser.close", json!({})).await;
    let channel = match v.get("tabwrightChannel").and_then(|c| c.as_str()) {
        Some("websocket") => "fast channel open",
        Some(_) => {
            "native port only (the fast channel is not open: reload the extension if this stays)"
        }
        None => "channel unknown (an older host)",
    };
    Ok(format!(
        "{} answers: {}, {channel}, {} tab(s) in the Tabwright group, {} ms",
        info.browser.name,
        v.get("product").and_then(|p| p.as_str()).unwrap_or("?"),
        t.get("targetInfos")
            .and_then(|a| a.as_array())
            .map(|a| a.len())
            .unwrap_or(0),
        started.elapsed().as_millis()
    ))
}

/// The `tabwright install` command for the same browser and user-data directory doctor
/// was asked about.
fn install_command(browser: &str, user_data_dir: Option<&Path>) -> String {
    match user_data_dir {
        Some(d) => format!("tabwright install --user-data-dir {}", d.display()),
        None if browser != "all" => format!("tabwright install --browser {browser}"),
        None => "tabwright install".into(),
    }
}

/// `tabwright doctor`: prints every check (with the fixing command for failures) and returns
/// success only when all passed.
pub async fn doctor(browser: &str, user_data_dir: Option<&Path>) -> std::process::ExitCode {
    let mut checks = doctor_offline(browser, user_data_dir);
    match extension_dir_near_exe() {
        Some(dir) => checks.push(check_extension_dir(&dir)),
        None => checks.push(Check {
            what: "extension".into(),
            ok: true,
            detail: format!(
                "expected ID {EXTENSION_ID} (no checkout folder next to this executable to verify)"
            ),
            fix: None,
        }),
    }
    let dirs = crate::bridge::runtime::runtime_dirs();
    let live = crate::bridge::runtime::list_live_all();
    if live.is_empty() {
        checks.push(Check {
            what: "connected browsers".into(),
            ok: false,
            detail: format!(
                "none (no live runtime file in {})",
                dirs.iter()
                    .map(|d| d.display().to_string())
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            fix: Some(format!(
                "open the browser with the Tabwright extension (ID {EXTENSION_ID}) enabled; if it is, run `{}` and restart the browser",
                install_command(browser, user_data_dir)
            )),
        });
    }
    for info in &live {
        let r = round_trip(info).await;
        checks.push(Check {
            what: format!("browser {} ({})", info.browser.id, info.browser.name),
            ok: r.is_ok(),
            detail: r.clone().unwrap_or_else(|e| e),
            fix: r.err().map(|_| {
                "reload the Tabwright extension (chrome://extensions), then run `tabwright doctor` again".to_string()
            }),
        });
    }
    let mut all_ok = true;
    for c in &checks {
        all_ok &= c.ok;
        let mark = if c.ok { "ok  " } else { "FAIL" };
        println!("{mark} {}: {}", c.what, c.detail);
        if let Some(f) = &c.fix {
            if !c.ok {
                println!("     fix: {f}");
            }
        }
    }
    if all_ok {
        std::process::ExitCode::SUCCESS
    } else {
        std::process::ExitCode::FAILURE
    }
}
