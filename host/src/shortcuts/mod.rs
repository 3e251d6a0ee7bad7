//! Shortcuts and model-free QA replay.
//!
//! A shortcut is a named, replayable list of browser steps with locators, `{{variables}}`
//! and assertions (format in `FORMAT.md` beside this file). This module owns:
//!
//! - [`format`]: the file format, validation and variables;
//! - [`store`]: the shortcuts folder (atomic writes);
//! - [`locate`] (+ `locate.js`): capturing locators of acted-on elements and finding
//!   elements again (role+name, text, css, xpath, pierce, shadow paths, frame paths);
//! - [`record`]: turning a session's tool calls into a shortcut (call observer);
//! - [`recorder_json`]: Chrome DevTools Recorder JSON import and export;
//! - [`replay`]: running a shortcut through the tool runtime (every step through its door, so a
//!   gated context confirms and audits each step), with self-healing locators and assertions;
//! - [`suite`]: suites of flows (files, folders, globs; grep, tags, shards; parallel runs in
//!   browser contexts of their own, retries);
//! - [`junit`] and [`html`]: JUnit XML and self-contained HTML reports.
//!
//! May use: [`crate::runtime`], [`crate::outline`], [`crate::browser`] and
//! [`crate::recording`] (writing a replay's GIF where the person asked).
//!
//! It may touch: the tool runtime (calling tools, installing its call observer on sessions),
//! pages through `locate.js` in the walker's isolated worlds (read-only apart from refs and
//! scrolling), the tab's frame/ref bookkeeping, and files in the shortcuts folder, the
//! artifacts folder (failure screenshots) and report paths it is given. It never edits the
//! walker or other tools' state.

pub mod format;
pub mod html;
pub mod junit;
pub mod locate;
pub mod record;
pub mod recorder_json;
pub mod replay;
pub mod store;
pub mod suite;

use std::path::Path;

pub use format::{FormatError, Shortcut, Step, Target};

/// Which format a file was in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// A tabwright shortcut.
    Shortcut,
    /// Chrome DevTools Recorder JSON (imported).
    Recorder,
}

/// Parses shortcut or Recorder JSON text (detecting which), naming `origin` in errors.
pub fn parse(text: &str, origin: &str) -> Result<(Shortcut, Kind), FormatError> {
    let v = format::parse_json(text, origin)?;
    if recorder_json::is_recorder(&v) {
        return Ok((recorder_json::import(&v, origin)?, Kind::Recorder));
    }
    Ok((Shortcut::from_value(v, origin)?, Kind::Shortcut))
}

/// Reads and parses a shortcut or Recorder JSON file.
pub fn load_file(path: &Path) -> Result<Shortcut, FormatError> {
    let origin = path.display().to_string();
    let text = std::fs::read_to_string(path)
        .map_err(|e| FormatError(format!("cannot read {origin}: {e}")))?;
    parse(&text, &origin).map(|(s, _)| s)
}
