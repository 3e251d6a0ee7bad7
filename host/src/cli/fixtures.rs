//! `tabwright serve-fixtures`: the test pages on 127.0.0.1 and localhost until Ctrl-C.

use std::path::Path;
use std::process::ExitCode;

use super::{print_out, shutdown_signal};

/// Runs `tabwright serve-fixtures`.
pub async fn serve_fixtures(port: u16, dir: &Path) -> anyhow::Result<ExitCode> {
    let root = dir.canonicalize().map_err(|e| {
        anyhow::anyhow!(
            "cannot serve {}: {e}. Run it from the repository checkout (the default is its \
                 fixtures/ folder) or name the folder with --dir DIR",
            dir.display()
        )
    })?;
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
