//! `tabwright install` and `serve-fixtures` (`doctor` and `native-host` live in
//! [`crate::bridge`]).

use std::path::Path;
use std::process::ExitCode;

use super::{print_out, shutdown_signal};

/// Runs `tabwright install`.
pub fn install(target: &str, user_data_dir: Option<&Path>, system: bool) -> ExitCode {
    match crate::bridge::install::install(target, user_data_dir, system) {
        Ok(files) => {
            for f in files {
                print_out(&format!("wrote {}", f.display()));
            }
            print_out(&format!(
                "extension ID {}; load extension/ unpacked (or install it), then run `tabwright doctor`",
                crate::bridge::protocol::EXTENSION_ID
            ));
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("tabwright install: {e}");
            ExitCode::FAILURE
        }
    }
}

/// Runs `tabwright serve-fixtures`.
pub async fn serve_fixtures(port: u16, dir: &Path) -> anyhow::Result<ExitCode> {
    let root = dir
        .canonicalize()
        .map_err(|e| anyhow::anyhow!("cannot serve {}: {e}", dir.display()))?;
    let server = crate::fixture_server::start(root, port).await?;
    print_out(&server.url(""));
    eprintln!(
        "tabwright: serving fixtures at {} (and {}); Ctrl-C stops",
        server.url(""),
        server.other_origin_url("")
    );
    shutdown_signal().await;
    Ok(ExitCode::SUCCESS)
}
