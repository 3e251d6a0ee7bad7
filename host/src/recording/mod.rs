//! GIF walkthroughs: frames captured around a session's acting tool calls, overlays that show
//! what each action did, and a fast GIF encoder.
//!
//! This module owns the per-session [`Recorder`] (frames, cap, pinned tab), the call observer
//! it installs while recording, screenshot capture for frames, the overlays
//! ([`overlay`]), frame timing ([`timeline`]) and the encoder ([`encode`]). The
//! `gif_creator` tool (`tools/gif.rs`) is its only front end.
//!
//! It may touch: [`Session`] extensions and tab lookup, the registry's call observers and
//! action traces (`runtime::trace`, the one hook mechanism), `Page.captureScreenshot` and the
//! page's viewport size, and files under the session's workspace (export). It never acts on a
//! page, and a failed capture never fails the user's tool call: it is logged and skipped.
//!
//! May use: [`crate::browser`] and [`crate::runtime`] (call observers).

pub mod encode;
pub mod overlay;
pub mod timeline;

use std::path::{Component, Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant, SystemTime};

use base64::Engine;
use serde_json::{json, Value};

pub use encode::{
    encode, ClipFrame, EncodeError, EncodeOptions, Encoded, Mark, MarkKind, Overlays, Phase, Shot,
};

use crate::browser::{Session, Tab, TabId};
use crate::runtime::trace::{CallObserver, CallRecord, Observers};
use crate::runtime::ActionClass;
use crate::BoxFuture;

/// The most frames one recording keeps.
pub const MAX_FRAMES: usize = 300;
/// The most bytes of screenshots one recording keeps (PNG as captured).
pub const MAX_BYTES: usize = 200 << 20;
/// The name the recorder's observer is installed under.
pub const OBSERVER: &str = "gif_creator";
/// How long one frame capture may take before it is skipped.
const CAPTURE_TIMEOUT: Duration = Duration::from_secs(2);

/// One captured frame.
#[derive(Debug, Clone)]
struct Frame {
    shot: Arc<Shot>,
    at: Instant,
    mark: Option<Mark>,
}

#[derive(Default)]
struct State {
    recording: bool,
    epoch: Option<Instant>,
    frames: Vec<Frame>,
    bytes: usize,
    capped: Option<String>,
    failed: usize,
    last_failure: Option<String>,
    pinned: Option<TabId>,
    /// The frame taken before the call in flight, waiting for that call's trace.
    pending_before: Option<Before>,
    options: Option<Value>,
}

/// A session's GIF recorder (one per session, through [`Session::ext`]).
#[derive(Default)]
pub struct Recorder {
    state: Mutex<State>,
}

/// What the recorder holds right now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Status {
    /// Whether frames are being captured.
    pub recording: bool,
    /// Frames kept.
    pub frames: usize,
    /// Bytes of screenshots kept.
    pub bytes: usize,
    /// From the first frame to the last.
    pub span: Duration,
    /// Why capturing stopped early, when the cap was hit.
    pub capped: Option<String>,
    /// Captures that failed (and were skipped) since the last clear.
    pub failed: usize,
    /// Why the last failed capture failed.
    pub last_failure: Option<String>,
    /// The tab the recording is pinned to, if any.
    pub pinned: Option<TabId>,
}

/// What happened to one captured frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Added {
    /// Kept as frame number `n` (0-based).
    Kept(usize),
    /// The same picture as the last frame and nothing to mark: not kept.
    Duplicate,
    /// Not kept: the recording is full (see [`Status::capped`]).
    Capped,
    /// Not kept: not recording.
    NotRecording,
}

fn lock(m: &Mutex<State>) -> MutexGuard<'_, State> {
    match m.lock() {
        Ok(g) => g,
        Err(p) => p.into_inner(),
    }
}

impl Recorder {
    /// The session's recorder.
    pub fn of(session: &Session) -> Arc<Recorder> {
        session.ext::<Recorder>()
    }

    /// The recorder's state in short.
    pub fn status(&self) -> Status {
        let s = lock(&self.state);
        let span = match (s.frames.first(), s.frames.last()) {
            (Some(a), Some(b)) => b.at.saturating_duration_since(a.at),
            _ => Duration::ZERO,
        };
        Status {
            recording: s.recording,
            frames: s.frames.len(),
            bytes: s.bytes,
            span,
            capped: s.capped.clone(),
            failed: s.failed,
            last_failure: s.last_failure.clone(),
            pinned: s.pinned,
        }
    }

    /// Starts (or resumes) capturing on `session`: installs the observer and captures a first
    /// frame of the recorded tab. `pin` limits the recording to one tab. Returns the status
    /// before starting and what happened to the first frame.
    pub async fn start(
        self: &Arc<Recorder>,
        session: &Session,
        pin: Option<TabId>,
    ) -> (Status, Added) {
        let before = self.status();
        {
            let mut s = lock(&self.state);
            s.recording = true;
            s.pinned = pin;
            s.pending_before = None;
        }
        Observers::of(session).install(
            OBSERVER,
            Arc::new(Watch {
                rec: Arc::clone(self),
            }),
        );
        let added = match self.tab(session, pin).await {
            Some(tab) => self.capture_into(&tab, None).await,
            None => Added::Duplicate,
        };
        (before, added)
    }

    /// Stops capturing (frames are kept for export).
    pub fn stop(&self, session: &Session) -> Status {
        Observers::of(session).remove(OBSERVER);
        let mut s = lock(&self.state);
        s.recording = false;
        s.pending_before = None;
        drop(s);
        self.status()
    }

    /// Drops every frame (recording, if on, goes on); returns how many were dropped.
    pub fn clear(&self) -> usize {
        let mut s = lock(&self.state);
        let n = s.frames.len();
        s.frames.clear();
        s.bytes = 0;
        s.capped = None;
        s.failed = 0;
        s.last_failure = None;
        s.epoch = None;
        s.pending_before = None;
        n
    }

    /// Remembers options given at `start_recording` (as JSON) for the export.
    pub fn set_options(&self, options: Option<Value>) {
        lock(&self.state).options = options;
    }

    /// The options remembered from `start_recording`.
    pub fn options(&self) -> Option<Value> {
        lock(&self.state).options.clone()
    }

    /// The frames for the encoder, times relative to the first frame.
    pub fn clip(&self) -> Vec<ClipFrame> {
        let s = lock(&self.state);
        let Some(epoch) = s.epoch else {
            return Vec::new();
        };
        s.frames
            .iter()
            .map(|f| ClipFrame {
                shot: f.shot.clone(),
                at: f.at.saturating_duration_since(epoch),
                mark: f.mark.clone(),
            })
            .collect()
    }

    /// Adds a captured frame taken at `at`. A picture identical to the last frame is kept
    /// only when it carries a mark (sharing the last frame's bytes).
    pub fn add(&self, shot: Shot, at: Instant, mark: Option<Mark>) -> Added {
        let mut s = lock(&self.state);
        if !s.recording {
            return Added::NotRecording;
        }
        if s.capped.is_some() {
            return Added::Capped;
        }
        let same = s
            .frames
            .last()
            .filter(|l| l.shot.bytes == shot.bytes)
            .map(|l| l.shot.clone());
        if same.is_some() && mark.is_none() {
            return Added::Duplicate;
        }
        let new_bytes = if same.is_some() { 0 } else { shot.bytes.len() };
        if s.frames.len() >= MAX_FRAMES || s.bytes + new_bytes > MAX_BYTES {
            let msg = format!(
                "the recording is full ({} frames, {:.1} MB of screenshots; the limits are {MAX_FRAMES} frames and {} MB), so later actions are not in it",
                s.frames.len(),
                s.bytes as f64 / 1e6,
                MAX_BYTES >> 20
            );
            tracing::warn!("gif_creator: {msg}");
            s.capped = Some(msg);
            return Added::Capped;
        }
        let shot = same.unwrap_or_else(|| Arc::new(shot));
        s.bytes += new_bytes;
        if s.epoch.is_none() {
            s.epoch = Some(at);
        }
        s.frames.push(Frame { shot, at, mark });
        Added::Kept(s.frames.len() - 1)
    }

    /// Adds a frame showing the same picture as the last one (no bytes stored twice); its
    /// index, or `None` with no frame yet or when the recording is full.
    fn repeat_last(&self, at: Instant) -> Option<usize> {
        let mut s = lock(&self.state);
        if s.capped.is_some() || s.frames.len() >= MAX_FRAMES {
            return None;
        }
        let shot = s.frames.last()?.shot.clone();
        s.frames.push(Frame {
            shot,
            at,
            mark: None,
        });
        Some(s.frames.len() - 1)
    }

    /// The tab frames come from: the pinned tab, else `explicit`, else the session's active
    /// tab. Never opens a tab.
    async fn tab(&self, session: &Session, explicit: Option<TabId>) -> Option<Arc<Tab>> {
        let pinned = lock(&self.state).pinned;
        let id = pinned.or(explicit).or(session.tab_ids().1)?;
        match session.tab(Some(id)).await {
            Ok(t) => Some(t),
            Err(e) => {
                tracing::debug!("gif_creator: no frame, tab {id} is not available: {e}");
                None
            }
        }
    }

    /// Captures `tab` and adds the frame; failures are logged and skipped.
    async fn capture_into(&self, tab: &Tab, mark: Option<Mark>) -> Added {
        let at = Instant::now();
        match capture(tab).await {
            Ok(shot) => self.add(shot, at, mark),
            Err(e) => {
                tracing::warn!("gif_creator: frame skipped: {e}");
                let mut s = lock(&self.state);
                s.failed += 1;
                s.last_failure = Some(e);
                Added::Duplicate
            }
        }
    }
}

/// Encodes `frames` (see [`Recorder::clip`]) and writes the GIF to `path` (written whole to
/// a `.part` file, then renamed). The path is taken as given: the tool confines it with
/// [`output_path`]; trusted callers (the CLI) may write anywhere. Encoding runs on a blocking
/// thread, off the async runtime.
pub async fn write_gif(
    frames: Vec<ClipFrame>,
    path: &Path,
    opts: EncodeOptions,
) -> Result<Encoded, String> {
    let out = path.to_path_buf();
    let job = tokio::task::spawn_blocking(move || -> Result<Encoded, String> {
        let enc = encode(&frames, &opts).map_err(|e| e.to_string())?;
        // A fresh temp name, created exclusively: a file or symlink planted under the name is
        // never followed. The rename then replaces `out` itself (a symlink there is replaced,
        // not written through).
        let tmp = out.with_extension(format!("gif.{}.part", unique_suffix()));
        write_new(&tmp, &enc.gif)
            .and_then(|_| std::fs::rename(&tmp, &out))
            .map_err(|e| {
                let _ = std::fs::remove_file(&tmp);
                format!("cannot write {}: {e}", out.display())
            })?;
        Ok(enc)
    });
    match job.await {
        Ok(r) => r,
        Err(e) => Err(format!("the encoder stopped: {e}")),
    }
}

/// Takes a PNG screenshot of the tab's viewport for a frame.
///
/// A tab that is not the front tab of its browser window may not paint, and its screenshot
/// never comes; after 2 s the tab is brought to the front
/// (`Target.activateTarget`: the recording follows the tab being acted on) and captured once
/// more.
pub async fn capture(tab: &Tab) -> Result<Shot, String> {
    {
        let st = tab.state();
        if st.closed {
            return Err("the tab is closed".into());
        }
        if st.dialog.is_some() {
            // The page cannot paint while a JavaScript dialog is open.
            return Err("a dialog is open".into());
        }
    }
    let params = json!({"format": "png", "optimizeForSpeed": true});
    let (v, _) = tab
        .capture_screenshot(params, CAPTURE_TIMEOUT, CAPTURE_TIMEOUT)
        .await
        .map_err(|e| format!("screenshot failed: {e}"))?;
    let data = v
        .get("data")
        .and_then(|d| d.as_str())
        .ok_or("the screenshot had no data")?;
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(data)
        .map_err(|e| format!("the screenshot is not base64: {e}"))?;
    Shot::from_png(bytes).ok_or_else(|| "the screenshot is not a PNG".to_string())
}

/// Whether a call gets frames: acting tools (class act or risky), except the recorder itself
/// and the computer tool's screenshot and zoom (they change nothing).
pub fn records(tool: &str, class: ActionClass, args: &Value) -> bool {
    if !matches!(class, ActionClass::Act | ActionClass::Risky) || tool == OBSERVER {
        return false;
    }
    !(tool == "computer"
        && matches!(
            args.get("action").and_then(|a| a.as_str()),
            Some("screenshot" | "zoom")
        ))
}

/// The marker kind for a call.
pub fn mark_kind(tool: &str, args: &Value) -> MarkKind {
    let action = args.get("action").and_then(|a| a.as_str()).unwrap_or("");
    match (tool, action) {
        (
            "computer",
            "left_click" | "right_click" | "middle_click" | "double_click" | "triple_click",
        ) => MarkKind::Click,
        ("computer", "hover") => MarkKind::Hover,
        ("computer", "left_click_drag") => MarkKind::Drag,
        ("computer", _) => MarkKind::Note,
        // Other tools that name a point (form_input on a control) get a click marker.
        _ => MarkKind::Click,
    }
}

fn tab_arg(args: &Value) -> Option<TabId> {
    args.get("tab_id")
        .and_then(|v| v.as_u64())
        .and_then(|v| TabId::try_from(v).ok())
}

/// The frame that shows the page just before the acting call in flight.
#[derive(Debug, Clone, Copy)]
enum Before {
    /// This frame (a new picture).
    Frame(usize),
    /// The same picture as the last frame, seen at this time.
    SameAsLast(Instant),
}

/// The observer installed while recording.
struct Watch {
    rec: Arc<Recorder>,
}

impl CallObserver for Watch {
    fn before<'a>(
        &'a self,
        session: &'a Session,
        tool: &'a str,
        class: ActionClass,
        args: &'a Value,
    ) -> BoxFuture<'a, ()> {
        Box::pin(async move {
            if !records(tool, class, args) {
                return;
            }
            lock(&self.rec.state).pending_before = None;
            let Some(tab) = self.rec.tab(session, tab_arg(args)).await else {
                return;
            };
            let at = Instant::now();
            let pending = match self.rec.capture_into(&tab, None).await {
                Added::Kept(i) => Some(Before::Frame(i)),
                // The page looks as it did after the last action: if the action gets a marker,
                // a frame showing that picture is added for it (see `after`).
                Added::Duplicate => Some(Before::SameAsLast(at)),
                _ => None,
            };
            lock(&self.rec.state).pending_before = pending;
        })
    }

    fn after<'a>(&'a self, session: &'a Session, call: &'a CallRecord<'a>) -> BoxFuture<'a, ()> {
        Box::pin(async move {
            if !records(call.tool, call.class, call.args) {
                return;
            }
            let Some(tab) = self.rec.tab(session, tab_arg(call.args)).await else {
                return;
            };
            let mark = match &call.trace {
                Some(t) => {
                    // Trace points are CSS pixels; frames are device pixels.
                    let scale = if t.point.is_some() {
                        css_scale(&tab).await
                    } else {
                        1.0
                    };
                    let sp = |p: (f64, f64)| (p.0 * scale, p.1 * scale);
                    Some(Mark {
                        kind: mark_kind(call.tool, call.args),
                        phase: Phase::After,
                        label: t.label.clone(),
                        point: t.point.map(sp),
                        drag_to: t.drag_to.map(sp),
                    })
                }
                None => None,
            };
            let pending = lock(&self.rec.state).pending_before.take();
            if let Some(m) = &mark {
                let i = match pending {
                    Some(Before::Frame(i)) => Some(i),
                    Some(Before::SameAsLast(at)) => self.rec.repeat_last(at),
                    None => None,
                };
                let mut s = lock(&self.rec.state);
                if let Some(i) = i {
                    if let Some(f) = s.frames.get_mut(i) {
                        if f.mark.is_none() {
                            f.mark = Some(Mark {
                                phase: Phase::Before,
                                ..m.clone()
                            });
                        }
                    }
                }
            }
            self.rec.capture_into(&tab, mark).await;
        })
    }
}

/// Device pixels per CSS pixel of the tab's viewport, from the browser's layout metrics (not
/// from page script); 1 when it cannot be told.
async fn css_scale(tab: &Tab) -> f64 {
    let v: Result<Value, _> = tab
        .call_with("Page.getLayoutMetrics", json!({}), Duration::from_secs(2))
        .await;
    let Ok(v) = v else {
        return 1.0;
    };
    let device = v
        .pointer("/visualViewport/clientWidth")
        .and_then(|x| x.as_f64());
    let css = v
        .pointer("/cssVisualViewport/clientWidth")
        .and_then(|x| x.as_f64());
    match (device, css) {
        (Some(d), Some(c)) if d > 0.0 && c > 0.0 && (d / c).is_finite() => d / c,
        _ => 1.0,
    }
}

/// A walkthrough could not be written where asked; the text says why and what to do.
#[derive(Debug, Clone, Default, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct RecordingError(pub String);

/// Where an export goes. No `filename`: `recordings/recording-YYYYMMDD-HHMMSS.gif` under the
/// workspace (a `-2`, `-3` … suffix when taken). A relative `filename` is under
/// `recordings/`; an absolute one must be inside the workspace. `.gif` is added when missing.
/// The folders are created once the path is known to stay inside the workspace; a path that
/// leaves it (`..`, symlinks in `recordings/` or below) is refused and creates nothing.
pub fn output_path(workspace: &Path, filename: Option<&str>) -> Result<PathBuf, RecordingError> {
    output_path_in(workspace, filename).map_err(RecordingError)
}

fn output_path_in(workspace: &Path, filename: Option<&str>) -> Result<PathBuf, String> {
    let ws = workspace.canonicalize().map_err(|e| {
        format!(
            "the workspace {} is not usable: {e}; start tabwright with --workspace DIR",
            workspace.display()
        )
    })?;
    let recordings = ws.join("recordings");
    let target = match filename.map(str::trim) {
        None => {
            let stamp = utc_stamp(SystemTime::now());
            let mut p = recordings.join(format!("recording-{stamp}.gif"));
            let mut n = 2;
            while p.exists() {
                p = recordings.join(format!("recording-{stamp}-{n}.gif"));
                n += 1;
            }
            p
        }
        Some("") => {
            return Err(
                "field `filename` is empty: give a name like \"checkout.gif\", or leave it out"
                    .into(),
            )
        }
        Some(name) => {
            let mut name = name.to_string();
            if !name.to_ascii_lowercase().ends_with(".gif") {
                name.push_str(".gif");
            }
            let p = Path::new(&name);
            if p.components().any(|c| matches!(c, Component::ParentDir)) {
                return Err(format!(
                    "refused: filename \"{name}\" contains `..`; give a name inside recordings/ or an absolute path inside the workspace ({})",
                    ws.display()
                ));
            }
            if p.is_absolute() {
                if !p.starts_with(&ws) && !p.starts_with(workspace) {
                    return Err(format!(
                        "refused: {name} is outside the workspace ({}); give a relative name (it goes under recordings/) or a path inside the workspace",
                        ws.display()
                    ));
                }
                p.to_path_buf()
            } else {
                recordings.join(p)
            }
        }
    };
    let parent = target
        .parent()
        .ok_or_else(|| format!("{} has no folder", target.display()))?;
    // The deepest folder that exists decides where the new ones would be made: check it first,
    // so a symlink planted in recordings/ makes no folder outside.
    let existing = parent
        .ancestors()
        .find(|a| a.exists())
        .ok_or_else(|| format!("no part of {} exists", parent.display()))?;
    within(&ws, existing, parent)?;
    std::fs::create_dir_all(parent)
        .map_err(|e| format!("cannot create the folder {}: {e}", parent.display()))?;
    let real_parent = within(&ws, parent, parent)?;
    let file = target
        .file_name()
        .ok_or_else(|| format!("{} is not a file name", target.display()))?;
    let out = real_parent.join(file);
    if out.is_dir() {
        return Err(format!("{} is a folder; give a file name", out.display()));
    }
    Ok(out)
}

/// `dir` with links resolved, when it lies inside the workspace `ws`; otherwise the refusal for
/// `asked` (the folder the export asked for).
fn within(ws: &Path, dir: &Path, asked: &Path) -> Result<PathBuf, String> {
    let real = dir
        .canonicalize()
        .map_err(|e| format!("cannot use the folder {}: {e}", dir.display()))?;
    if real.starts_with(ws) {
        Ok(real)
    } else {
        Err(format!(
            "refused: {} leads outside the workspace ({})",
            asked.display(),
            ws.display()
        ))
    }
}

/// A suffix no one can guess ahead of time.
fn unique_suffix() -> String {
    let mut b = [0u8; 8];
    if getrandom::fill(&mut b).is_err() {
        let n = SystemTime::now()
            .duration_since(SystemTime::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or(0);
        b = (n as u64 ^ u64::from(std::process::id())).to_le_bytes();
    }
    b.iter().map(|x| format!("{x:02x}")).collect()
}

/// Writes a file that must not exist yet (no following of a planted file or link).
fn write_new(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(path)?;
    f.write_all(bytes)?;
    f.sync_all()
}

/// `YYYYMMDD-HHMMSS` in UTC.
fn utc_stamp(t: SystemTime) -> String {
    let secs = t
        .duration_since(SystemTime::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    let (days, rem) = (secs / 86_400, secs % 86_400);
    // Civil date from days since 1970-01-01 (Howard Hinnant's algorithm).
    let z = days as i64 + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!(
        "{y:04}{m:02}{d:02}-{:02}{:02}{:02}",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shot(byte: u8) -> Shot {
        let mut bytes = vec![0x89, b'P', b'N', b'G', 13, 10, 26, 10];
        bytes.extend_from_slice(&[0, 0, 0, 13, b'I', b'H', b'D', b'R']);
        bytes.extend_from_slice(&[0, 0, 0, 4, 0, 0, 0, 3, byte]);
        Shot::from_png(bytes).expect("header")
    }

    fn recording() -> Recorder {
        let r = Recorder::default();
        lock(&r.state).recording = true;
        r
    }

    #[test]
    fn identical_frames_are_dropped_unless_marked() {
        let r = recording();
        let t = Instant::now();
        assert_eq!(r.add(shot(1), t, None), Added::Kept(0));
        assert_eq!(r.add(shot(1), t, None), Added::Duplicate);
        let m = Mark {
            kind: MarkKind::Click,
            phase: Phase::After,
            label: "Click".into(),
            point: Some((1.0, 1.0)),
            drag_to: None,
        };
        assert_eq!(r.add(shot(1), t, Some(m)), Added::Kept(1));
        assert_eq!(r.add(shot(2), t, None), Added::Kept(2));
        let st = r.status();
        assert_eq!(st.frames, 3);
        // The marked duplicate shares the bytes: counted once.
        assert_eq!(st.bytes, 2 * shot(1).bytes.len());
        let clip = r.clip();
        assert!(Arc::ptr_eq(&clip[0].shot, &clip[1].shot));
    }

    #[test]
    fn the_cap_stops_capturing_with_a_message() {
        let r = recording();
        let t = Instant::now();
        for i in 0..MAX_FRAMES {
            assert_eq!(r.add(shot((i % 250) as u8 + 1), t, None), Added::Kept(i));
            // Alternate so no two neighbours are equal.
        }
        assert_eq!(r.add(shot(255), t, None), Added::Capped);
        let st = r.status();
        assert_eq!(st.frames, MAX_FRAMES);
        let msg = st.capped.expect("cap message");
        assert!(msg.contains("300 frames"), "{msg}");
        assert_eq!(r.clear(), MAX_FRAMES);
        assert_eq!(r.status().capped, None);
        assert_eq!(r.add(shot(1), t, None), Added::Kept(0));
    }

    #[test]
    fn not_recording_keeps_nothing() {
        let r = Recorder::default();
        assert_eq!(r.add(shot(1), Instant::now(), None), Added::NotRecording);
    }

    #[test]
    fn which_calls_are_recorded() {
        let click = json!({"action": "left_click"});
        assert!(records("computer", ActionClass::Act, &click));
        assert!(!records(
            "computer",
            ActionClass::Act,
            &json!({"action": "screenshot"})
        ));
        assert!(!records("read_page", ActionClass::Read, &json!({})));
        assert!(!records("gif_creator", ActionClass::Act, &json!({})));
        assert!(records("upload_image", ActionClass::Risky, &json!({})));
        assert_eq!(mark_kind("computer", &click), MarkKind::Click);
        assert_eq!(
            mark_kind("computer", &json!({"action": "scroll"})),
            MarkKind::Note
        );
        assert_eq!(
            mark_kind("computer", &json!({"action": "left_click_drag"})),
            MarkKind::Drag
        );
    }

    #[test]
    fn output_paths_stay_in_the_workspace() {
        let ws = std::env::temp_dir().join(format!("tw-rec-paths-{}", std::process::id()));
        std::fs::create_dir_all(&ws).expect("ws");
        let real = ws.canonicalize().expect("canon");
        let p = output_path(&ws, None).expect("default");
        assert!(p.starts_with(real.join("recordings")), "{}", p.display());
        let name = p.file_name().and_then(|n| n.to_str()).unwrap_or("");
        assert!(
            name.starts_with("recording-") && name.ends_with(".gif"),
            "{name}"
        );
        assert_eq!(
            output_path(&ws, Some("demo")).expect("rel"),
            real.join("recordings/demo.gif")
        );
        assert_eq!(
            output_path(&ws, Some("sub/demo.GIF")).expect("sub"),
            real.join("recordings/sub/demo.GIF")
        );
        let abs = real.join("out/x.gif");
        assert_eq!(
            output_path(&ws, Some(abs.to_str().expect("utf8"))).expect("abs inside"),
            abs
        );
        let e = output_path(&ws, Some("/etc/x.gif")).expect_err("outside");
        assert!(e.0.contains("outside the workspace"), "{e}");
        let e = output_path(&ws, Some("../x.gif")).expect_err("dotdot");
        assert!(e.0.contains("`..`"), "{e}");
        let e = output_path(&ws, Some(" ")).expect_err("empty");
        assert!(e.0.contains("filename"), "{e}");
        #[cfg(unix)]
        {
            let link = real.join("recordings/escape");
            let _ = std::os::unix::fs::symlink(std::env::temp_dir(), &link);
            let e = output_path(&ws, Some("escape/x.gif")).expect_err("symlink");
            assert!(e.0.contains("outside the workspace"), "{e}");
            // A link to a folder outside: a nested name under it is refused and creates
            // nothing out there.
            let outside = std::env::temp_dir().join(format!("tw-outside-{}", std::process::id()));
            std::fs::create_dir_all(&outside).expect("outside dir");
            let link = ws.join("recordings").join("out");
            let _ = std::os::unix::fs::symlink(&outside, &link);
            let e = output_path(&ws, Some("out/deep/x.gif")).expect_err("nested symlink");
            assert!(e.0.contains("outside the workspace"), "{e}");
            assert!(!outside.join("deep").exists(), "no folder was made outside");
            // A planted link under a temp name is not written through.
            let victim = outside.join("victim");
            std::fs::write(&victim, b"keep").expect("victim");
            let planted = ws.join("recordings").join("planted.part");
            let _ = std::os::unix::fs::symlink(&victim, &planted);
            assert!(write_new(&planted, b"GIF89a").is_err());
            assert_eq!(std::fs::read(&victim).expect("victim"), b"keep");
            let _ = std::fs::remove_dir_all(&outside);
        }
        let _ = std::fs::remove_dir_all(&ws);
    }

    #[test]
    fn utc_stamps() {
        let t = SystemTime::UNIX_EPOCH + Duration::from_secs(1_795_000_000);
        assert_eq!(utc_stamp(t), "20261118-110640");
        assert_eq!(utc_stamp(SystemTime::UNIX_EPOCH), "19700101-000000");
    }
}
