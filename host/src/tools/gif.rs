//! `gif_creator`: record the session's actions as a GIF walkthrough.
//!
//! `start_recording` installs the session's recorder (see [`crate::recording`]), which then
//! captures a frame before and after every acting tool call; `stop_recording` stops it and
//! keeps the frames; `export` writes the GIF (under `recordings/` in the workspace unless
//! `filename` says otherwise); `clear` drops the frames.
//!
//! The tool's action class is `act`: `export` writes a file into the workspace, and starting
//! a recording changes what later calls do (they take screenshots).

use serde::Deserialize;
use serde_json::json;

use super::args::{object, tab_id};
use super::inspect;
use super::{ActionClass, Registry, ToolContext, ToolError, ToolOutput, ToolSpec};
use crate::browser::{Session, TabId};
use crate::policy::Effects;
use crate::recording::{self, Added, EncodeOptions, Overlays, Recorder};
use crate::tool;

pub(super) fn register(r: &mut Registry) {
    super::add::<GifCreator>(r);
}

const ACTIONS: &[&str] = &["start_recording", "stop_recording", "export", "clear"];

/// Overlay and encoding options; unset fields take the value given at `start_recording`,
/// else the default.
#[derive(Deserialize, serde::Serialize, Default, Clone, Debug)]
#[serde(deny_unknown_fields)]
struct GifOptions {
    show_click_indicators: Option<bool>,
    show_drag_paths: Option<bool>,
    show_action_labels: Option<bool>,
    show_progress_bar: Option<bool>,
    show_watermark: Option<bool>,
    quality: Option<i64>,
    max_width: Option<i64>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Args {
    action: String,
    filename: Option<String>,
    options: Option<GifOptions>,
    tab_id: Option<TabId>,
}

const DEFAULT_QUALITY: u32 = 10;
const DEFAULT_MAX_WIDTH: u32 = 800;

tool!(
    GifCreator,
    Args,
    ToolSpec::new(
        "gif_creator",
        "Record what you do in the browser as an animated GIF walkthrough. start_recording (optional tab_id pins the tab), \
                      then act as usual: every acting tool call adds a frame before and after it, with click markers, drag paths, \
                      a label of the action and a progress bar. stop_recording stops capturing and keeps the frames; export writes \
                      the GIF (default recordings/recording-DATE.gif in the workspace; filename: a name under recordings/ or a path \
                      inside the workspace) and returns its path, frame count, size and duration; clear drops the frames. \
                      options: show_click_indicators, show_drag_paths, show_action_labels, show_progress_bar (default true), \
                      show_watermark (default false), quality 1-30 (default 10; lower = better colours, slower), \
                      max_width (default 800 px).",
        object(
            json!({
                "action": {"type": "string", "enum": ACTIONS},
                "filename": {"type": "string", "description": "export: file name (under recordings/) or a path inside the workspace; .gif is added when missing."},
                "options": {
                    "type": "object",
                    "additionalProperties": false,
                    "properties": {
                        "show_click_indicators": {"type": "boolean", "description": "Ring and dot where clicks happen (default true)."},
                        "show_drag_paths": {"type": "boolean", "description": "Arrow from drag start to end (default true)."},
                        "show_action_labels": {"type": "boolean", "description": "A label like Click \"Save\" at the bottom left (default true)."},
                        "show_progress_bar": {"type": "boolean", "description": "A thin bar at the bottom showing progress (default true)."},
                        "show_watermark": {"type": "boolean", "description": "A small Tabwright mark in the corner (default false)."},
                        "quality": {"type": "integer", "minimum": 1, "maximum": 30, "description": "1-30, lower is better colours and slower (default 10)."},
                        "max_width": {"type": "integer", "minimum": 100, "maximum": 4096, "description": "Frames are scaled down to this width (default 800)."}
                    }
                },
                "tab_id": tab_id(),
            }),
            &["action"]
        ),
        ActionClass::Act,
    ),
    gif_creator,
    effects
);

/// Recording acts on the tab's page (it captures it and writes files).
async fn effects(ctx: &ToolContext, a: &Args) -> Effects {
    inspect::page(ctx, a.tab_id).await
}

fn bad(msg: impl std::fmt::Display) -> ToolError {
    ToolError(format!("invalid parameters for gif_creator: {msg}"))
}

/// Checks option ranges (so a bad value is refused at start_recording, not at export).
fn validate(o: &GifOptions) -> Result<(), ToolError> {
    if let Some(q) = o.quality {
        if !(1..=30).contains(&q) {
            return Err(bad(format!(
                "field `options.quality` must be between 1 and 30 (lower is better colours and slower; default {DEFAULT_QUALITY}), got {q}"
            )));
        }
    }
    if let Some(w) = o.max_width {
        if !(100..=4096).contains(&w) {
            return Err(bad(format!(
                "field `options.max_width` must be between 100 and 4096 pixels (default {DEFAULT_MAX_WIDTH}), got {w}"
            )));
        }
    }
    Ok(())
}

/// The export's options: given fields, else those from start_recording, else defaults.
fn merged(given: Option<&GifOptions>, stored: Option<&GifOptions>) -> EncodeOptions {
    let pick = |f: fn(&GifOptions) -> Option<bool>, default: bool| {
        given
            .and_then(f)
            .or_else(|| stored.and_then(f))
            .unwrap_or(default)
    };
    let d = Overlays::default();
    let quality = given
        .and_then(|o| o.quality)
        .or_else(|| stored.and_then(|o| o.quality))
        .map(|q| q.clamp(1, 30) as u32)
        .unwrap_or(DEFAULT_QUALITY);
    let max_width = given
        .and_then(|o| o.max_width)
        .or_else(|| stored.and_then(|o| o.max_width))
        .map(|w| w.clamp(100, 4096) as u32)
        .unwrap_or(DEFAULT_MAX_WIDTH);
    EncodeOptions {
        overlays: Overlays {
            click_indicators: pick(|o| o.show_click_indicators, d.click_indicators),
            drag_paths: pick(|o| o.show_drag_paths, d.drag_paths),
            action_labels: pick(|o| o.show_action_labels, d.action_labels),
            progress_bar: pick(|o| o.show_progress_bar, d.progress_bar),
            watermark: pick(|o| o.show_watermark, d.watermark),
        },
        quality,
        max_width,
        ..EncodeOptions::default()
    }
}

fn secs(d: std::time::Duration) -> String {
    format!("{:.1} s", d.as_secs_f64())
}

fn size(bytes: usize) -> String {
    if bytes >= 1 << 20 {
        format!("{:.1} MB", bytes as f64 / (1 << 20) as f64)
    } else {
        format!("{:.1} KB", bytes as f64 / 1024.0)
    }
}

async fn gif_creator(ctx: &ToolContext, a: Args) -> Result<ToolOutput, ToolError> {
    let session = ctx.session()?;
    if !ACTIONS.contains(&a.action.as_str()) {
        return Err(bad(format!(
            "field `action`: unknown action \"{}\"; use one of {}",
            a.action,
            ACTIONS.join(", ")
        )));
    }
    if let Some(o) = &a.options {
        validate(o)?;
    }
    let rec = Recorder::of(session);
    let text = match a.action.as_str() {
        "start_recording" => {
            if let Some(id) = a.tab_id {
                // Fails with the list of open tabs when the id is wrong.
                session.tab(Some(id)).await?;
            }
            if a.options.is_some() {
                rec.set_options(
                    a.options
                        .as_ref()
                        .and_then(|o| serde_json::to_value(o).ok()),
                );
            }
            let already = rec.status();
            if already.recording && already.pinned == a.tab_id {
                return Ok(ToolOutput::text(format!(
                    "Already recording: {} frame(s) so far. Act on the page, then call gif_creator action=stop_recording and action=export.",
                    already.frames
                )));
            }
            let (before, first) = rec.start(session, a.tab_id).await;
            let which = match a.tab_id {
                Some(id) => format!("tab {id} only"),
                None => "the tab each action uses".into(),
            };
            let first = match first {
                Added::Kept(_) => "A first frame was captured.".to_string(),
                Added::Duplicate if before.frames > 0 => {
                    "The page looks as in the last frame.".to_string()
                }
                Added::Duplicate => {
                    "No first frame yet (no tab is open, or the capture failed); frames come with the next action.".to_string()
                }
                Added::Capped => format!(
                    "No frame was added: {}. Export it, then clear to record more.",
                    before.capped.clone().unwrap_or_default()
                ),
                Added::NotRecording => String::new(),
            };
            let resumed = if before.frames > 0 {
                format!(
                    " Resumed: {} earlier frame(s) are kept (call action=clear to start over).",
                    before.frames
                )
            } else {
                String::new()
            };
            format!(
                "Recording {which}. {first}{resumed} Every acting tool call now adds a frame before and after it. \
                 When done, call gif_creator action=stop_recording, then action=export."
            )
        }
        "stop_recording" => {
            let was = rec.status();
            let st = rec.stop(session);
            let head = if was.recording {
                "Stopped recording"
            } else {
                "Not recording"
            };
            let failures = match &st.last_failure {
                Some(why) => format!(
                    " {} frame capture(s) failed and were skipped (last: {why}).",
                    st.failed
                ),
                None => String::new(),
            };
            if st.frames == 0 {
                format!("{head}; there are no frames. Call gif_creator action=start_recording to record.")
            } else {
                format!(
                    "{head}: {} frame(s) over {}.{failures} Call gif_creator action=export to write the GIF, or action=clear to drop the frames.",
                    st.frames,
                    secs(st.span)
                )
            }
        }
        "clear" => {
            let n = rec.clear();
            let st = rec.status();
            if st.recording {
                // Start over with a fresh first frame.
                let (_, first) = rec.start(session, st.pinned).await;
                let f = if matches!(first, Added::Kept(_)) {
                    " A new first frame was captured."
                } else {
                    ""
                };
                format!("Dropped {n} frame(s); still recording.{f}")
            } else {
                format!("Dropped {n} frame(s).")
            }
        }
        "export" => return export(session, &rec, &a).await,
        _ => unreachable!("checked against ACTIONS above"),
    };
    Ok(ToolOutput::text(text))
}

async fn export(session: &Session, rec: &Recorder, a: &Args) -> Result<ToolOutput, ToolError> {
    let clip = rec.clip();
    let st = rec.status();
    if clip.is_empty() {
        let hint = if st.recording {
            "recording is on but no frame was captured yet: act on the page (or check that a tab is open), then export"
        } else {
            "call gif_creator action=start_recording first, act on the page, then export"
        };
        return Err(ToolError(format!(
            "there is nothing to export: no frames were recorded; {hint}."
        )));
    }
    let stored: Option<GifOptions> = rec
        .options()
        .and_then(|v| serde_json::from_value::<GifOptions>(v).ok());
    let opts = merged(a.options.as_ref(), stored.as_ref());
    let path = recording::output_path(&session.workspace, a.filename.as_deref())
        .map_err(|e| ToolError(format!("cannot export: {e}")))?;
    let captured = clip.len();
    let started = std::time::Instant::now();
    let enc = recording::write_gif(clip, &path, opts)
        .await
        .map_err(|e| ToolError(format!("export failed: {e}")))?;
    let took = started.elapsed();
    tracing::info!(
        "gif_creator: {} frames → {} ({} bytes) in {:?}",
        enc.frames,
        path.display(),
        enc.gif.len(),
        took
    );
    let shown = path
        .strip_prefix(session.workspace.canonicalize().unwrap_or_default())
        .map(|p| p.display().to_string())
        .unwrap_or_else(|_| path.display().to_string());
    let mut text = format!(
        "Saved the GIF to {} ({}): {} frame(s), {}x{} px, {} ({} bytes), {} long.",
        path.display(),
        shown,
        enc.frames,
        enc.width,
        enc.height,
        size(enc.gif.len()),
        enc.gif.len(),
        secs(enc.duration)
    );
    if captured > enc.frames {
        text.push_str(&format!(
            " {captured} frames were captured; identical neighbours were merged."
        ));
    }
    if let Some(c) = st.capped {
        text.push_str(&format!(" Note: {c}."));
    }
    if let Some(why) = &st.last_failure {
        text.push_str(&format!(
            " Note: {} frame capture(s) failed and were skipped (last: {why}).",
            st.failed
        ));
    }
    if st.recording {
        text.push_str(" Still recording; call action=stop_recording when done.");
    }
    Ok(ToolOutput::text(text))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn options_merge_given_over_stored_over_defaults() {
        let stored = GifOptions {
            show_watermark: Some(true),
            quality: Some(5),
            ..Default::default()
        };
        let given = GifOptions {
            quality: Some(20),
            show_progress_bar: Some(false),
            ..Default::default()
        };
        let o = merged(Some(&given), Some(&stored));
        assert_eq!(o.quality, 20);
        assert!(o.overlays.watermark);
        assert!(!o.overlays.progress_bar);
        assert!(o.overlays.click_indicators);
        assert_eq!(o.max_width, DEFAULT_MAX_WIDTH);
        let d = merged(None, None);
        assert_eq!(
            (d.quality, d.overlays),
            (DEFAULT_QUALITY, Overlays::default())
        );
    }

    #[test]
    fn out_of_range_options_name_the_field() {
        for q in [0, 31, -1] {
            let e = validate(&GifOptions {
                quality: Some(q),
                ..Default::default()
            })
            .expect_err("bad quality");
            assert!(e.0.contains("`options.quality`"), "{}", e.0);
        }
        let e = validate(&GifOptions {
            max_width: Some(50),
            ..Default::default()
        })
        .expect_err("bad width");
        assert!(e.0.contains("`options.max_width`"), "{}", e.0);
        assert!(validate(&GifOptions {
            quality: Some(1),
            max_width: Some(4096),
            ..Default::default()
        })
        .is_ok());
    }

    #[test]
    fn sizes_read_well() {
        assert_eq!(size(2048), "2.0 KB");
        assert_eq!(size(3 << 20), "3.0 MB");
    }
}
