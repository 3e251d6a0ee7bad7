//! `tabwright install`: registers the native-messaging host for Chromium-family browsers.

use std::path::Path;
use std::process::ExitCode;

use super::print_out;

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
