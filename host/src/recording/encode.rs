//! The GIF encoder: captured screenshots (PNG bytes) plus marks → one animated GIF.
//!
//! Fast by construction, for screen content:
//! - one global palette per GIF, built by median cut over a histogram sampled from every
//!   frame (`quality` is the sampling stride: 1 looks at every pixel, 30 at every 30th), with
//!   the overlay colours and a transparent index reserved;
//! - a deterministic pixel → index mapping (a lazily filled 18-bit lookup table, no error
//!   diffusion), so unchanged pixels give unchanged indices and frame differencing is exact;
//! - frame differencing: each frame after the first carries only the rectangle that changed,
//!   with unchanged pixels inside it transparent (long runs that LZW packs well);
//! - frames decoded, scaled, quantized and LZW-compressed in parallel on every core
//!   (`std::thread::scope`), in bounded chunks so memory stays bounded.
//!
//! No dithering: flat UI colours stay flat (and compress well); photos band a little.

use std::borrow::Cow;
use std::sync::atomic::{AtomicU16, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use super::overlay::{self, colors, Canvas, Inks, Metrics};
use super::timeline::{self, Timing};

/// A captured screenshot: compressed image bytes (PNG) and their size in pixels.
#[derive(Debug)]
pub struct Shot {
    /// PNG bytes as the browser returned them.
    pub bytes: Vec<u8>,
    /// Width in pixels.
    pub width: u32,
    /// Height in pixels.
    pub height: u32,
}

impl Shot {
    /// A shot from PNG bytes, its size read from the header; `None` when they are not a PNG.
    pub fn from_png(bytes: Vec<u8>) -> Option<Shot> {
        if bytes.len() < 24 || &bytes[1..4] != b"PNG" {
            return None;
        }
        let width = u32::from_be_bytes([bytes[16], bytes[17], bytes[18], bytes[19]]);
        let height = u32::from_be_bytes([bytes[20], bytes[21], bytes[22], bytes[23]]);
        if width == 0 || height == 0 {
            return None;
        }
        Some(Shot {
            bytes,
            width,
            height,
        })
    }
}

/// What kind of marker an action gets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MarkKind {
    /// A click: a ring at the point (before), ring and dot (after).
    Click,
    /// A hover: a ring at the point.
    Hover,
    /// A drag: a path with an arrowhead from the point to `drag_to`.
    Drag,
    /// Anything else (typing, keys, scrolling, navigation): the label only.
    Note,
}

/// Whether a frame was taken just before an action or after it settled.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    /// Before the action ran.
    Before,
    /// After it ran and the page settled.
    After,
}

/// An action drawn over a frame.
#[derive(Debug, Clone, PartialEq)]
pub struct Mark {
    /// Which marker.
    pub kind: MarkKind,
    /// Before or after the action.
    pub phase: Phase,
    /// The label, e.g. `Click “Save”` (may be empty).
    pub label: String,
    /// The point acted on, in the shot's pixels.
    pub point: Option<(f64, f64)>,
    /// Where a drag ended, in the shot's pixels.
    pub drag_to: Option<(f64, f64)>,
}

/// One frame to encode.
#[derive(Debug, Clone)]
pub struct ClipFrame {
    /// The screenshot (shared between frames that show the same picture).
    pub shot: Arc<Shot>,
    /// When it was taken, from the start of the recording.
    pub at: Duration,
    /// The action drawn over it, if any.
    pub mark: Option<Mark>,
}

/// Which overlays to draw.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Overlays {
    /// Click and hover markers.
    pub click_indicators: bool,
    /// Drag paths.
    pub drag_paths: bool,
    /// The action label box.
    pub action_labels: bool,
    /// The progress bar at the bottom.
    pub progress_bar: bool,
    /// The "Tabwright" watermark.
    pub watermark: bool,
}

impl Default for Overlays {
    /// Everything on except the watermark.
    fn default() -> Overlays {
        Overlays {
            click_indicators: true,
            drag_paths: true,
            action_labels: true,
            progress_bar: true,
            watermark: false,
        }
    }
}

impl Overlays {
    /// No overlays at all (plain frames, as for the benchmark).
    pub fn none() -> Overlays {
        Overlays {
            click_indicators: false,
            drag_paths: false,
            action_labels: false,
            progress_bar: false,
            watermark: false,
        }
    }
}

/// How to encode.
#[derive(Debug, Clone)]
pub struct EncodeOptions {
    /// Overlays to draw.
    pub overlays: Overlays,
    /// 1 (best palette, slowest) to 30 (fastest): the palette's pixel sampling stride.
    pub quality: u32,
    /// Frames wider than this are scaled down (aspect kept).
    pub max_width: u32,
    /// Frame delay bounds.
    pub timing: Timing,
    /// Worker threads (0 = one per core).
    pub threads: usize,
    /// Bytes of decoded frames kept between the palette pass and the encoding pass; past
    /// this, frames are decoded a second time instead.
    pub cache_budget: usize,
}

impl Default for EncodeOptions {
    fn default() -> EncodeOptions {
        EncodeOptions {
            overlays: Overlays::default(),
            quality: 10,
            max_width: 800,
            timing: Timing::default(),
            threads: 0,
            cache_budget: 256 << 20,
        }
    }
}

/// An encoded GIF and what is in it.
#[derive(Debug, Clone)]
pub struct Encoded {
    /// The GIF file's bytes.
    pub gif: Vec<u8>,
    /// Canvas width.
    pub width: u32,
    /// Canvas height.
    pub height: u32,
    /// Frames written (after duplicates were merged).
    pub frames: usize,
    /// Each written frame's delay, in centiseconds.
    pub delays_cs: Vec<u16>,
    /// The animation's length (sum of delays).
    pub duration: Duration,
    /// Colours in the palette (including overlay colours and the transparent entry).
    pub palette_colors: usize,
}

/// Why encoding failed.
#[derive(Debug, Clone, thiserror::Error)]
pub enum EncodeError {
    /// Nothing to encode.
    #[error("there are no frames to encode")]
    NoFrames,
    /// A frame's bytes are not a readable image.
    #[error("frame {0} is not a readable image: {1}")]
    Decode(usize, String),
    /// The canvas would be larger than GIF allows.
    #[error("the frames are too large for a GIF ({0}x{1}; at most 65535 pixels a side)")]
    TooLarge(u32, u32),
    /// The GIF writer failed.
    #[error("the GIF encoder failed: {0}")]
    Gif(String),
}

/// Overlay inks (accent, light, dark, progress, three greys) and the transparent entry
/// occupy the palette's last eight slots.
const RESERVED: usize = 8;

/// Encodes `frames` (in any order; they are sorted by time) into a GIF.
pub fn encode(frames: &[ClipFrame], opts: &EncodeOptions) -> Result<Encoded, EncodeError> {
    if frames.is_empty() {
        return Err(EncodeError::NoFrames);
    }
    let threads = if opts.threads == 0 {
        std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(1)
    } else {
        opts.threads
    };
    let quality = opts.quality.clamp(1, 30) as usize;
    let ov = opts.overlays;

    // Time order, then consecutive duplicates (same picture, same mark) merged.
    let mut order: Vec<&ClipFrame> = frames.iter().collect();
    order.sort_by_key(|f| f.at);
    // A walkthrough does not open on an empty page: frames of one flat colour (a blank tab,
    // a page not painted yet) before the first real picture are left out.
    let first_picture = order.iter().position(|f| !is_flat(&f.shot)).unwrap_or(0);
    order.drain(..first_picture);
    let visible_mark = |m: &Option<Mark>| -> Option<Mark> {
        let m = m.as_ref()?;
        let draws_marker = match m.kind {
            MarkKind::Click | MarkKind::Hover => ov.click_indicators && m.point.is_some(),
            MarkKind::Drag => ov.drag_paths && m.point.is_some() && m.drag_to.is_some(),
            MarkKind::Note => false,
        };
        let draws_label = ov.action_labels && !m.label.trim().is_empty();
        if !draws_marker && !draws_label {
            return None;
        }
        let mut m = m.clone();
        if !draws_label {
            m.label.clear();
        }
        if !draws_marker {
            m.point = None;
            m.drag_to = None;
        }
        Some(m)
    };
    let marks: Vec<Option<Mark>> = order.iter().map(|f| visible_mark(&f.mark)).collect();
    let keep = timeline::keep_distinct(order.len(), |a, b| {
        marks[a] == marks[b]
            && (Arc::ptr_eq(&order[a].shot, &order[b].shot)
                || order[a].shot.bytes == order[b].shot.bytes)
    });
    let kept: Vec<(&ClipFrame, Option<Mark>)> =
        keep.iter().map(|&i| (order[i], marks[i].clone())).collect();
    let starts: Vec<Duration> = kept.iter().map(|(f, _)| f.at).collect();
    let labeled: Vec<bool> = kept
        .iter()
        .map(|(_, m)| m.as_ref().is_some_and(|m| !m.label.is_empty()))
        .collect();
    let delays = timeline::delays(&starts, &labeled, opts.timing);
    let total_cs: u64 = delays.iter().map(|d| *d as u64).sum::<u64>().max(1);

    // The canvas: the most common frame size (a viewport change early in a recording, like a
    // replay's setViewport, would otherwise letterbox every later frame), the later one on a
    // tie, scaled to at most max_width.
    let mut sizes: Vec<((u32, u32), usize)> = Vec::new();
    for (f, _) in &kept {
        let d = (f.shot.width, f.shot.height);
        match sizes.iter_mut().find(|(s, _)| *s == d) {
            Some((_, n)) => *n += 1,
            None => sizes.push((d, 1)),
        }
    }
    // `max_by_key` keeps the last of equal maxima: the later size.
    let (cw, ch) = sizes
        .iter()
        .max_by_key(|(_, n)| *n)
        .map(|(d, _)| *d)
        .unwrap_or((kept[0].0.shot.width, kept[0].0.shot.height));
    let width = cw.min(opts.max_width.max(16));
    let height = ((ch as u64 * width as u64 + cw as u64 / 2) / cw.max(1) as u64).max(1) as u32;
    if width > 65535 || height > 65535 {
        return Err(EncodeError::TooLarge(width, height));
    }

    // Each distinct picture is decoded once per pass.
    let mut uniq: Vec<Arc<Shot>> = Vec::new();
    let mut uid_of: Vec<usize> = Vec::with_capacity(kept.len());
    for (f, _) in &kept {
        match uniq.iter().position(|u| Arc::ptr_eq(u, &f.shot)) {
            Some(i) => uid_of.push(i),
            None => {
                uid_of.push(uniq.len());
                uniq.push(f.shot.clone());
            }
        }
    }

    // Pass 1: decode, fit to the canvas, sample the histogram; keep pictures within budget.
    let frame_bytes = width as usize * height as usize * 3;
    let budget_left = AtomicUsize::new(opts.cache_budget);
    let (hists, fitted) = par_fold(
        uniq.len(),
        threads,
        Histogram::new,
        |h, i| -> Result<Option<Arc<Fitted>>, EncodeError> {
            let fitted = fit(&uniq[i], width, height).map_err(|e| EncodeError::Decode(i, e))?;
            h.sample(&fitted.rgb, quality, i);
            let cached = budget_left
                .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |left| {
                    left.checked_sub(frame_bytes)
                })
                .is_ok();
            Ok(cached.then(|| Arc::new(fitted)))
        },
    );
    let mut fitted_cache: Vec<Option<Arc<Fitted>>> = Vec::with_capacity(fitted.len());
    for r in fitted {
        fitted_cache.push(r?);
    }
    let mut hist = Histogram::new();
    for h in &hists {
        hist.add(h);
    }
    drop(hists);

    // The palette: median-cut colours, then the overlay inks, then the transparent entry.
    let mut palette = median_cut(&hist, 256 - RESERVED);
    drop(hist);
    let n_colors = palette.len();
    let inks = Inks {
        accent: n_colors as u8,
        light: n_colors as u8 + 1,
        dark: n_colors as u8 + 2,
        progress: n_colors as u8 + 3,
        greys: [n_colors as u8 + 4, n_colors as u8 + 5, n_colors as u8 + 6],
    };
    palette.extend([
        colors::ACCENT,
        colors::LIGHT,
        colors::DARK,
        colors::PROGRESS,
        colors::GREYS[0],
        colors::GREYS[1],
        colors::GREYS[2],
    ]);
    let transparent = palette.len() as u8;
    palette.push([0, 0, 0]);
    let lut = Lut::new(&palette[..palette.len() - 1]);
    let metrics = Metrics::for_width(width);

    // Pass 2, in chunks: indices + overlays in parallel, differencing in order, LZW in
    // parallel. Frames equal to the previous one are merged into it.
    let mut out_frames: Vec<gif::Frame<'static>> = Vec::new();
    let mut out_delays: Vec<u16> = Vec::new();
    let mut prev: Option<Vec<u8>> = None;
    let mut elapsed_cs: u64 = 0;
    let chunk = (threads * 3).max(2);
    let mut start = 0;
    while start < kept.len() {
        let end = (start + chunk).min(kept.len());
        let progress: Vec<f64> = (start..end)
            .map(|i| {
                let upto: u64 = delays[..=i].iter().map(|d| *d as u64).sum();
                upto as f64 / total_cs as f64
            })
            .collect();
        let (_, indexed) = par_fold(
            end - start,
            threads,
            || (),
            |_, j| -> Result<Vec<u8>, EncodeError> {
                let i = start + j;
                let uid = uid_of[i];
                let fitted = match &fitted_cache[uid] {
                    Some(f) => f.clone(),
                    None => Arc::new(
                        fit(&uniq[uid], width, height).map_err(|e| EncodeError::Decode(i, e))?,
                    ),
                };
                let mut px = lut.map(&fitted.rgb);
                let mut canvas = Canvas {
                    px: &mut px,
                    width,
                    height,
                };
                if let Some(m) = &kept[i].1 {
                    draw_mark(&mut canvas, m, fitted.scale, metrics, inks);
                }
                if ov.progress_bar {
                    overlay::progress_bar(&mut canvas, progress[j], metrics, inks);
                }
                if ov.watermark {
                    overlay::watermark(&mut canvas, inks);
                }
                Ok(px)
            },
        );
        let mut jobs: Vec<gif::Frame<'static>> = Vec::new();
        for (j, px) in indexed.into_iter().enumerate() {
            let px = px?;
            let delay = delays[start + j];
            elapsed_cs += delay as u64;
            let frame = match &prev {
                None => Some(gif::Frame {
                    width: width as u16,
                    height: height as u16,
                    buffer: Cow::Owned(px.clone()),
                    ..gif::Frame::default()
                }),
                Some(p) => difference(p, &px, width, height, transparent),
            };
            match frame {
                Some(mut f) => {
                    f.delay = delay;
                    f.dispose = gif::DisposalMethod::Keep;
                    jobs.push(f);
                    prev = Some(px);
                }
                None => {
                    // Same picture as the frame before: show that one longer.
                    if let Some(last) = jobs.last_mut() {
                        last.delay = last.delay.saturating_add(delay);
                    } else if let Some(last) = out_frames.last_mut() {
                        last.delay = last.delay.saturating_add(delay);
                    }
                }
            }
        }
        let (_, compressed) = par_fold(
            jobs.len(),
            threads,
            || (),
            |_, k| {
                let mut f = jobs[k].clone();
                f.make_lzw_pre_encoded();
                f
            },
        );
        for f in compressed {
            out_delays.push(f.delay);
            out_frames.push(f);
        }
        start = end;
    }
    // Delays may have grown after a frame was compressed (merged duplicates).
    for (f, d) in out_frames.iter_mut().zip(out_delays.iter_mut()) {
        *d = f.delay;
    }
    debug_assert_eq!(
        elapsed_cs,
        out_delays.iter().map(|d| *d as u64).sum::<u64>()
    );

    let flat: Vec<u8> = palette.iter().flatten().copied().collect();
    let mut enc = gif::Encoder::new(Vec::new(), width as u16, height as u16, &flat)
        .map_err(|e| EncodeError::Gif(e.to_string()))?;
    enc.set_repeat(gif::Repeat::Infinite)
        .map_err(|e| EncodeError::Gif(e.to_string()))?;
    for f in &out_frames {
        enc.write_lzw_pre_encoded_frame(f)
            .map_err(|e| EncodeError::Gif(e.to_string()))?;
    }
    let gif = enc
        .into_inner()
        .map_err(|e| EncodeError::Gif(e.to_string()))?;
    let total: u64 = out_delays.iter().map(|d| *d as u64).sum();
    Ok(Encoded {
        gif,
        width,
        height,
        frames: out_frames.len(),
        delays_cs: out_delays,
        duration: Duration::from_millis(total * 10),
        palette_colors: palette.len(),
    })
}

/// Whether a screenshot is one flat colour (blank or black); an undecodable one is not.
fn is_flat(shot: &Shot) -> bool {
    let Ok(img) = image::load_from_memory(&shot.bytes) else {
        return false;
    };
    let rgb = img.to_rgb8();
    let mut px = rgb.pixels();
    match px.next() {
        Some(first) => px.all(|p| p == first),
        None => true,
    }
}

/// Draws one action's marker and label (points are in the shot's pixels; `scale` maps them
/// onto the canvas).
fn draw_mark(c: &mut Canvas, m: &Mark, scale: f64, metrics: Metrics, inks: Inks) {
    let s = |p: (f64, f64)| (p.0 * scale, p.1 * scale);
    match (m.kind, m.point, m.drag_to) {
        // The press is drawn on the picture the person would have seen when clicking (the
        // frame before the action): after it, the layout may have moved under the point.
        (MarkKind::Click, Some(p), _) if m.phase == Phase::Before => {
            overlay::click_marker(c, s(p), true, metrics, inks)
        }
        (MarkKind::Hover, Some(p), _) => overlay::click_marker(c, s(p), false, metrics, inks),
        (MarkKind::Drag, Some(a), Some(b)) => {
            if m.phase == Phase::After {
                overlay::drag_path(c, s(a), s(b), metrics, inks);
            } else {
                overlay::click_marker(c, s(a), false, metrics, inks);
            }
        }
        _ => {}
    }
    if !m.label.is_empty() {
        overlay::label(c, &m.label, metrics, inks);
    }
}

/// The changed rectangle of `cur` against `prev` as a frame whose unchanged pixels are
/// transparent; `None` when nothing changed.
fn difference(
    prev: &[u8],
    cur: &[u8],
    width: u32,
    height: u32,
    transparent: u8,
) -> Option<gif::Frame<'static>> {
    let w = width as usize;
    let h = height as usize;
    let row = |y: usize| y * w..(y + 1) * w;
    let y0 = (0..h).find(|&y| prev[row(y)] != cur[row(y)])?;
    let y1 = (y0..h).rev().find(|&y| prev[row(y)] != cur[row(y)])?;
    let mut x0 = w;
    let mut x1 = 0;
    for y in y0..=y1 {
        let (p, c) = (&prev[row(y)], &cur[row(y)]);
        if let Some(a) = (0..x0.min(w)).find(|&x| p[x] != c[x]) {
            x0 = a;
        }
        if let Some(b) = (x1..w).rev().find(|&x| p[x] != c[x]) {
            x1 = x1.max(b);
        }
    }
    if x0 > x1 {
        return None;
    }
    let (rw, rh) = (x1 - x0 + 1, y1 - y0 + 1);
    let mut buf = Vec::with_capacity(rw * rh);
    for y in y0..=y1 {
        let r = y * w;
        for x in x0..=x1 {
            let v = cur[r + x];
            buf.push(if v == prev[r + x] { transparent } else { v });
        }
    }
    Some(gif::Frame {
        left: x0 as u16,
        top: y0 as u16,
        width: rw as u16,
        height: rh as u16,
        transparent: Some(transparent),
        buffer: Cow::Owned(buf),
        ..gif::Frame::default()
    })
}

/// A picture fitted into the canvas: RGB rows, and the scale from shot pixels to canvas.
struct Fitted {
    rgb: Vec<u8>,
    scale: f64,
}

/// Decodes `shot` and scales it to fit a `width × height` canvas (top-left aligned, the rest
/// filled dark when its aspect differs).
fn fit(shot: &Shot, width: u32, height: u32) -> Result<Fitted, String> {
    let img = image::load_from_memory(&shot.bytes).map_err(|e| e.to_string())?;
    let rgb = img.to_rgb8();
    let (sw, sh) = (rgb.width(), rgb.height());
    if sw == 0 || sh == 0 {
        return Err("the image is empty".into());
    }
    let raw = rgb.into_raw();
    if sw == width && sh == height {
        return Ok(Fitted {
            rgb: raw,
            scale: 1.0,
        });
    }
    let scale = (width as f64 / sw as f64).min(height as f64 / sh as f64);
    let tw = ((sw as f64 * scale).round() as u32).clamp(1, width);
    let th = ((sh as f64 * scale).round() as u32).clamp(1, height);
    let scaled = if (tw, th) == (sw, sh) {
        raw
    } else {
        resize_rgb(&raw, sw, sh, tw, th)
    };
    if (tw, th) == (width, height) {
        return Ok(Fitted { rgb: scaled, scale });
    }
    let mut out = Vec::with_capacity(width as usize * height as usize * 3);
    for _ in 0..width as usize * height as usize {
        out.extend_from_slice(&colors::DARK);
    }
    for y in 0..th as usize {
        let src = &scaled[y * tw as usize * 3..(y + 1) * tw as usize * 3];
        let at = y * width as usize * 3;
        out[at..at + src.len()].copy_from_slice(src);
    }
    Ok(Fitted { rgb: out, scale })
}

/// Per output position along one axis: the first source index and the normalized weights
/// (area coverage when shrinking, nearest neighbour when growing).
fn axis_weights(src: u32, dst: u32) -> Vec<(usize, Vec<f32>)> {
    let ratio = src as f64 / dst as f64;
    (0..dst)
        .map(|o| {
            if ratio <= 1.0 {
                let s = (((o as f64 + 0.5) * ratio) as usize).min(src as usize - 1);
                return (s, vec![1.0]);
            }
            let a = o as f64 * ratio;
            let b = ((o + 1) as f64 * ratio).min(src as f64);
            let first = a.floor() as usize;
            let last = (b.ceil() as usize).min(src as usize).max(first + 1);
            let w: Vec<f32> = (first..last)
                .map(|i| {
                    let lo = a.max(i as f64);
                    let hi = b.min(i as f64 + 1.0);
                    ((hi - lo).max(0.0) / (b - a)) as f32
                })
                .collect();
            (first, w)
        })
        .collect()
}

/// Resizes RGB rows from `sw × sh` to `dw × dh` (area averaging when shrinking).
pub fn resize_rgb(src: &[u8], sw: u32, sh: u32, dw: u32, dh: u32) -> Vec<u8> {
    let hx = axis_weights(sw, dw);
    let vy = axis_weights(sh, dh);
    let (sw, dw) = (sw as usize, dw as usize);
    // Horizontal pass: sh rows of dw pixels.
    let mut tmp = vec![0f32; dw * sh as usize * 3];
    for y in 0..sh as usize {
        let srow = &src[y * sw * 3..(y + 1) * sw * 3];
        let trow = &mut tmp[y * dw * 3..(y + 1) * dw * 3];
        for (x, (first, w)) in hx.iter().enumerate() {
            let mut acc = [0f32; 3];
            for (k, wk) in w.iter().enumerate() {
                let p = &srow[(first + k) * 3..(first + k) * 3 + 3];
                acc[0] += p[0] as f32 * wk;
                acc[1] += p[1] as f32 * wk;
                acc[2] += p[2] as f32 * wk;
            }
            trow[x * 3..x * 3 + 3].copy_from_slice(&acc);
        }
    }
    // Vertical pass.
    let mut out = vec![0u8; dw * dh as usize * 3];
    let mut acc = vec![0f32; dw * 3];
    for (y, (first, w)) in vy.iter().enumerate() {
        acc.fill(0.0);
        for (k, wk) in w.iter().enumerate() {
            let trow = &tmp[(first + k) * dw * 3..(first + k + 1) * dw * 3];
            for (a, t) in acc.iter_mut().zip(trow) {
                *a += t * wk;
            }
        }
        for (o, a) in out[y * dw * 3..(y + 1) * dw * 3].iter_mut().zip(&acc) {
            *o = (a + 0.5).clamp(0.0, 255.0) as u8;
        }
    }
    out
}

/// Colour weights for distances and box ranges (green counts most, blue least).
const W: [i32; 3] = [3, 4, 2];
/// Bits per channel of histogram cells and lookup cells.
const BITS: u32 = 6;
const CELLS: usize = 1 << (3 * BITS);

fn cell_of(r: u8, g: u8, b: u8) -> usize {
    let s = 8 - BITS;
    ((r as usize >> s) << (2 * BITS)) | ((g as usize >> s) << BITS) | (b as usize >> s)
}

fn cell_coords(cell: usize) -> [u8; 3] {
    let m = (1 << BITS) - 1;
    [
        (cell >> (2 * BITS)) as u8,
        ((cell >> BITS) & m) as u8,
        (cell & m) as u8,
    ]
}

/// Pixel counts and colour sums per 18-bit colour cell.
struct Histogram {
    count: Vec<u32>,
    sum: Vec<[u64; 3]>,
}

impl Histogram {
    fn new() -> Histogram {
        Histogram {
            count: vec![0; CELLS],
            sum: vec![[0; 3]; CELLS],
        }
    }

    /// Adds about one pixel in `stride` of RGB rows, at jittered positions (a fixed stride
    /// would see the same columns on every row); `seed` varies the positions per frame.
    fn sample(&mut self, rgb: &[u8], stride: usize, seed: usize) {
        let stride = stride.max(1) as u64;
        let n = rgb.len() / 3;
        let mut rng: u64 =
            0x9E37_79B9_7F4A_7C15 ^ (seed as u64).wrapping_mul(0xD1B5_4A32_D192_ED03);
        let mut i = 0usize;
        while i < n {
            let (r, g, b) = (rgb[i * 3], rgb[i * 3 + 1], rgb[i * 3 + 2]);
            let c = cell_of(r, g, b);
            self.count[c] = self.count[c].saturating_add(1);
            let s = &mut self.sum[c];
            s[0] += r as u64;
            s[1] += g as u64;
            s[2] += b as u64;
            if stride == 1 {
                i += 1;
            } else {
                // xorshift64: steps of 1 ..= 2·stride−1, mean `stride`.
                rng ^= rng << 13;
                rng ^= rng >> 7;
                rng ^= rng << 17;
                i += 1 + (rng % (2 * stride - 1)) as usize;
            }
        }
    }

    fn add(&mut self, o: &Histogram) {
        for c in 0..CELLS {
            if o.count[c] != 0 {
                self.count[c] = self.count[c].saturating_add(o.count[c]);
                for k in 0..3 {
                    self.sum[c][k] += o.sum[c][k];
                }
            }
        }
    }

    fn mean(&self, cells: &[usize]) -> [u8; 3] {
        let mut n = 0u64;
        let mut s = [0u64; 3];
        for &c in cells {
            n += self.count[c] as u64;
            for (acc, v) in s.iter_mut().zip(self.sum[c]) {
                *acc += v;
            }
        }
        let n = n.max(1);
        [
            ((s[0] + n / 2) / n) as u8,
            ((s[1] + n / 2) / n) as u8,
            ((s[2] + n / 2) / n) as u8,
        ]
    }
}

/// At most `k` colours for the sampled histogram, by median cut: the box with the most
/// pixels times the widest (weighted) colour range is split at its pixel median, until there
/// are `k` boxes; each box's colour is the mean of its pixels (so a flat colour is exact).
fn median_cut(h: &Histogram, k: usize) -> Vec<[u8; 3]> {
    let cells: Vec<usize> = (0..CELLS).filter(|&c| h.count[c] > 0).collect();
    if cells.is_empty() {
        return vec![[255, 255, 255]];
    }
    if cells.len() <= k {
        return cells.iter().map(|&c| h.mean(&[c])).collect();
    }
    struct Bx {
        cells: Vec<usize>,
        count: u64,
        score: u64,
        axis: usize,
    }
    let make = |cells: Vec<usize>| -> Bx {
        let mut lo = [u8::MAX; 3];
        let mut hi = [0u8; 3];
        let mut count = 0u64;
        for &c in &cells {
            let p = cell_coords(c);
            for k in 0..3 {
                lo[k] = lo[k].min(p[k]);
                hi[k] = hi[k].max(p[k]);
            }
            count += h.count[c] as u64;
        }
        let mut axis = 0;
        let mut best = 0i32;
        for k in 0..3 {
            let r = (hi[k] as i32 - lo[k] as i32) * W[k];
            if r > best {
                best = r;
                axis = k;
            }
        }
        let score = if cells.len() < 2 {
            0
        } else {
            count * best as u64
        };
        Bx {
            cells,
            count,
            score,
            axis,
        }
    };
    let mut boxes = vec![make(cells)];
    while boxes.len() < k {
        let Some((bi, _)) = boxes
            .iter()
            .enumerate()
            .filter(|(_, b)| b.score > 0)
            .max_by_key(|(_, b)| b.score)
        else {
            break;
        };
        let b = boxes.swap_remove(bi);
        let axis = b.axis;
        let mut cells = b.cells;
        cells.sort_unstable_by_key(|&c| cell_coords(c)[axis]);
        let half = b.count / 2;
        let mut acc = 0u64;
        let mut m = 1;
        for (i, &c) in cells.iter().enumerate() {
            acc += h.count[c] as u64;
            if acc >= half {
                m = i + 1;
                break;
            }
        }
        let m = m.clamp(1, cells.len() - 1);
        let right = cells.split_off(m);
        boxes.push(make(cells));
        boxes.push(make(right));
    }
    boxes.iter().map(|b| h.mean(&b.cells)).collect()
}

/// Pixel → palette index through an 18-bit cell table, filled on first use of each cell
/// (nearest palette colour to the cell's centre, weighted distance). Shared by all threads:
/// a race only computes the same answer twice.
struct Lut {
    table: Vec<AtomicU16>,
    pal: Vec<[i32; 3]>,
}

impl Lut {
    fn new(palette: &[[u8; 3]]) -> Lut {
        Lut {
            table: (0..CELLS).map(|_| AtomicU16::new(u16::MAX)).collect(),
            pal: palette
                .iter()
                .map(|p| [p[0] as i32, p[1] as i32, p[2] as i32])
                .collect(),
        }
    }

    fn nearest(&self, cell: usize) -> u8 {
        let c = cell_coords(cell);
        let half = 1 << (7 - BITS);
        let q = [
            ((c[0] as i32) << (8 - BITS)) + half,
            ((c[1] as i32) << (8 - BITS)) + half,
            ((c[2] as i32) << (8 - BITS)) + half,
        ];
        let mut best = 0usize;
        let mut best_d = i32::MAX;
        for (i, p) in self.pal.iter().enumerate() {
            let (dr, dg, db) = (p[0] - q[0], p[1] - q[1], p[2] - q[2]);
            let d = W[0] * dr * dr + W[1] * dg * dg + W[2] * db * db;
            if d < best_d {
                best_d = d;
                best = i;
            }
        }
        best as u8
    }

    fn index(&self, r: u8, g: u8, b: u8) -> u8 {
        let cell = cell_of(r, g, b);
        let v = self.table[cell].load(Ordering::Relaxed);
        if v != u16::MAX {
            return v as u8;
        }
        let i = self.nearest(cell);
        self.table[cell].store(i as u16, Ordering::Relaxed);
        i
    }

    /// Maps RGB rows to indices.
    fn map(&self, rgb: &[u8]) -> Vec<u8> {
        let mut out = Vec::with_capacity(rgb.len() / 3);
        let mut last = (u32::MAX, 0u8);
        for p in rgb.chunks_exact(3) {
            let key = (p[0] as u32) << 16 | (p[1] as u32) << 8 | p[2] as u32;
            if key != last.0 {
                last = (key, self.index(p[0], p[1], p[2]));
            }
            out.push(last.1);
        }
        out
    }
}

/// Runs `f(state, i)` for `i` in `0..n` on `threads` scoped threads that take items in turn;
/// returns each thread's final state and the results in item order.
fn par_fold<S, R, I, F>(n: usize, threads: usize, init: I, f: F) -> (Vec<S>, Vec<R>)
where
    S: Send,
    R: Send,
    I: Fn() -> S + Sync,
    F: Fn(&mut S, usize) -> R + Sync,
{
    let threads = threads.clamp(1, n.max(1));
    let next = AtomicUsize::new(0);
    let work = |s: &mut S| -> Vec<(usize, R)> {
        let mut out = Vec::new();
        loop {
            let i = next.fetch_add(1, Ordering::Relaxed);
            if i >= n {
                return out;
            }
            out.push((i, f(s, i)));
        }
    };
    let mut parts: Vec<(S, Vec<(usize, R)>)> = Vec::with_capacity(threads);
    if threads == 1 {
        let mut s = init();
        let r = work(&mut s);
        parts.push((s, r));
    } else {
        std::thread::scope(|scope| {
            let handles: Vec<_> = (0..threads - 1)
                .map(|_| {
                    scope.spawn(|| {
                        let mut s = init();
                        let r = work(&mut s);
                        (s, r)
                    })
                })
                .collect();
            let mut s = init();
            let r = work(&mut s);
            parts.push((s, r));
            for h in handles {
                match h.join() {
                    Ok(p) => parts.push(p),
                    Err(panic) => std::panic::resume_unwind(panic),
                }
            }
        });
    }
    let mut states = Vec::with_capacity(parts.len());
    let mut all: Vec<(usize, R)> = Vec::with_capacity(n);
    for (s, r) in parts {
        states.push(s);
        all.extend(r);
    }
    all.sort_by_key(|(i, _)| *i);
    (states, all.into_iter().map(|(_, r)| r).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A PNG of `w × h` pixels from a colour function.
    fn png(w: u32, h: u32, f: impl Fn(u32, u32) -> [u8; 3]) -> Arc<Shot> {
        let mut img = image::RgbImage::new(w, h);
        for (x, y, p) in img.enumerate_pixels_mut() {
            *p = image::Rgb(f(x, y));
        }
        let mut bytes = Vec::new();
        img.write_to(
            &mut std::io::Cursor::new(&mut bytes),
            image::ImageFormat::Png,
        )
        .expect("png");
        Arc::new(Shot::from_png(bytes).expect("png header"))
    }

    /// Decodes a GIF into full RGBA canvases, one per frame, and the delays.
    fn decode(gif_bytes: &[u8]) -> (u32, u32, Vec<Vec<u8>>, Vec<u16>) {
        let mut opts = gif::DecodeOptions::new();
        opts.set_color_output(gif::ColorOutput::RGBA);
        let mut d = opts.read_info(gif_bytes).expect("gif header");
        let (w, h) = (d.width() as u32, d.height() as u32);
        let mut canvas = vec![0u8; (w * h * 4) as usize];
        let mut frames = Vec::new();
        let mut delays = Vec::new();
        while let Some(f) = d.read_next_frame().expect("frame") {
            for y in 0..f.height as u32 {
                for x in 0..f.width as u32 {
                    let s = ((y * f.width as u32 + x) * 4) as usize;
                    if f.buffer[s + 3] == 0 {
                        continue;
                    }
                    let t = (((y + f.top as u32) * w + x + f.left as u32) * 4) as usize;
                    canvas[t..t + 4].copy_from_slice(&f.buffer[s..s + 4]);
                }
            }
            frames.push(canvas.clone());
            delays.push(f.delay);
        }
        (w, h, frames, delays)
    }

    fn at(ms: u64) -> Duration {
        Duration::from_millis(ms)
    }

    fn plain(shot: &Arc<Shot>, ms: u64) -> ClipFrame {
        ClipFrame {
            shot: shot.clone(),
            at: at(ms),
            mark: None,
        }
    }

    fn opts_plain() -> EncodeOptions {
        EncodeOptions {
            overlays: Overlays::none(),
            ..EncodeOptions::default()
        }
    }

    /// A UI-like picture: white page, grey header, a blue button, dark text, a gradient
    /// strip; `shift` moves the button.
    fn ui(shift: u32) -> impl Fn(u32, u32) -> [u8; 3] {
        move |x, y| {
            if y < 20 {
                [0xF1, 0xF3, 0xF4]
            } else if (40 + shift..100 + shift).contains(&x) && (40..60).contains(&y) {
                [0x1A, 0x73, 0xE8]
            } else if (80..90).contains(&y) && x % 7 < 3 {
                [0x20, 0x21, 0x24]
            } else if y >= 100 {
                [(x * 255 / 160) as u8, 128, (255 - x * 255 / 160) as u8]
            } else {
                [255, 255, 255]
            }
        }
    }

    #[test]
    fn round_trip_is_close_to_the_input_and_flat_colours_exact() {
        let a = png(160, 120, ui(0));
        let b = png(160, 120, ui(30));
        let frames = vec![plain(&a, 0), plain(&b, 700), plain(&a, 1500)];
        let e = encode(&frames, &opts_plain()).expect("encode");
        assert_eq!((e.width, e.height, e.frames), (160, 120, 3));
        let (w, h, decoded, delays) = decode(&e.gif);
        assert_eq!((w, h), (160, 120));
        assert_eq!(delays, vec![70, 80, 200]);
        for (k, src) in [&a, &b, &a].iter().enumerate() {
            let img = image::load_from_memory(&src.bytes).expect("png").to_rgb8();
            let mut worst = 0i32;
            for (x, y, p) in img.enumerate_pixels() {
                let t = ((y * w + x) * 4) as usize;
                for c in 0..3 {
                    worst = worst.max((decoded[k][t + c] as i32 - p.0[c] as i32).abs());
                }
                if y < 100 {
                    // Flat UI colours survive exactly.
                    assert_eq!(&decoded[k][t..t + 3], &p.0[..], "frame {k} at {x},{y}");
                }
            }
            assert!(worst <= 12, "frame {k}: worst channel error {worst}");
        }
    }

    /// `bg` everywhere but one pixel in the middle: a picture that is not one flat colour.
    fn dotted(x: u32, y: u32, bg: [u8; 3]) -> [u8; 3] {
        if (x, y) == (7, 5) {
            [bg[0] ^ 0x80, bg[1] ^ 0x80, bg[2] ^ 0x80]
        } else {
            bg
        }
    }

    #[test]
    fn leading_flat_frames_are_left_out_unless_all_are_flat() {
        let blank = png(80, 60, |_, _| [255, 255, 255]);
        let black = png(80, 60, |_, _| [0, 0, 0]);
        let page = png(80, 60, |x, y| dotted(x, y, [200, 220, 240]));
        let e = encode(
            &[
                plain(&blank, 0),
                plain(&black, 200),
                plain(&page, 400),
                plain(&blank, 900),
            ],
            &opts_plain(),
        )
        .expect("encode");
        assert_eq!(e.frames, 2, "the page, then the later blank frame");
        let (_, _, decoded, _) = decode(&e.gif);
        assert_eq!(&decoded[0][..3], &[200, 220, 240]);
        let e = encode(&[plain(&blank, 0), plain(&black, 200)], &opts_plain()).expect("encode");
        assert_eq!(e.frames, 2, "nothing but flat frames: all kept");
    }

    #[test]
    fn differencing_encodes_only_the_changed_rectangle() {
        let a = png(200, 100, |x, y| dotted(x, y, [250, 250, 250]));
        let b = png(200, 100, |x, y| {
            if (50..60).contains(&x) && (20..30).contains(&y) {
                [200, 10, 10]
            } else {
                dotted(x, y, [250, 250, 250])
            }
        });
        let e = encode(&[plain(&a, 0), plain(&b, 500)], &opts_plain()).expect("encode");
        let mut opts = gif::DecodeOptions::new();
        opts.set_color_output(gif::ColorOutput::Indexed);
        let mut d = opts.read_info(&e.gif[..]).expect("gif");
        let f0 = d.read_next_frame().expect("f0").expect("f0").clone();
        assert_eq!((f0.left, f0.top, f0.width, f0.height), (0, 0, 200, 100));
        let f1 = d.read_next_frame().expect("f1").expect("f1");
        assert_eq!((f1.left, f1.top, f1.width, f1.height), (50, 20, 10, 10));
        assert!(f1.transparent.is_some());
    }

    #[test]
    fn duplicates_are_merged_with_their_time() {
        let a = png(64, 48, |x, y| dotted(x, y, [10, 20, 30]));
        let a2 = png(64, 48, |x, y| dotted(x, y, [10, 20, 30])); // same picture, other allocation
        let b = png(64, 48, |x, _| [x as u8 * 4, 0, 0]);
        let frames = vec![
            plain(&a, 0),
            plain(&a, 300),
            plain(&a2, 600),
            plain(&b, 1000),
            plain(&b, 1200),
        ];
        let e = encode(&frames, &opts_plain()).expect("encode");
        assert_eq!(e.frames, 2);
        assert_eq!(e.delays_cs, vec![100, 200]);
        assert_eq!(e.duration, Duration::from_secs(3));
    }

    #[test]
    fn the_same_picture_with_a_mark_is_a_new_frame() {
        let a = png(320, 200, |x, y| dotted(x, y, [255, 255, 255]));
        let mark = Mark {
            kind: MarkKind::Click,
            phase: Phase::Before,
            label: "Click “Save”".into(),
            point: Some((100.0, 50.0)),
            drag_to: None,
        };
        let frames = vec![
            plain(&a, 0),
            ClipFrame {
                shot: a.clone(),
                at: at(1000),
                mark: Some(mark.clone()),
            },
        ];
        let o = EncodeOptions {
            overlays: Overlays {
                progress_bar: false,
                ..Overlays::default()
            },
            ..EncodeOptions::default()
        };
        let e = encode(&frames, &o).expect("encode");
        assert_eq!(e.frames, 2);
        let (_, _, decoded, _) = decode(&e.gif);
        let px = |k: usize, x: u32, y: u32| {
            let t = ((y * 320 + x) * 4) as usize;
            [decoded[k][t], decoded[k][t + 1], decoded[k][t + 2]]
        };
        assert_eq!(px(0, 100, 50), [255, 255, 255]);
        assert_eq!(px(1, 100, 50), colors::ACCENT, "the click dot");
        // The label box, bottom left.
        let m = Metrics::for_width(320);
        let margin = (m.font * 0.5).round() as u32;
        let y = 200 - m.bar as u32 - margin - 2;
        assert_eq!(px(1, margin + 1, y), colors::DARK);
        // Overlays off: the marked frame is a duplicate and merges.
        let e = encode(&frames, &opts_plain()).expect("encode");
        assert_eq!(e.frames, 1);
    }

    #[test]
    fn frames_are_scaled_to_max_width_with_marks_scaled_too() {
        let a = png(400, 300, |x, y| dotted(x, y, [255, 255, 255]));
        let frames = vec![
            plain(&a, 0),
            ClipFrame {
                shot: a.clone(),
                at: at(800),
                mark: Some(Mark {
                    kind: MarkKind::Click,
                    phase: Phase::Before,
                    label: String::new(),
                    point: Some((200.0, 100.0)),
                    drag_to: None,
                }),
            },
        ];
        let o = EncodeOptions {
            max_width: 200,
            overlays: Overlays {
                progress_bar: false,
                ..Overlays::default()
            },
            ..EncodeOptions::default()
        };
        let e = encode(&frames, &o).expect("encode");
        assert_eq!((e.width, e.height), (200, 150));
        let (_, _, decoded, _) = decode(&e.gif);
        let t = ((50 * 200 + 100) * 4) as usize;
        assert_eq!(&decoded[1][t..t + 3], &colors::ACCENT[..]);
    }

    #[test]
    fn progress_bar_grows_with_time() {
        let a = png(100, 60, |x, y| dotted(x, y, [255, 255, 255]));
        let b = png(100, 60, |x, y| dotted(x, y, [0, 0, 0]));
        let frames = vec![plain(&a, 0), plain(&b, 1000), plain(&a, 2000)];
        let o = EncodeOptions {
            overlays: Overlays {
                progress_bar: true,
                ..Overlays::none()
            },
            ..EncodeOptions::default()
        };
        let e = encode(&frames, &o).expect("encode");
        // Delays 1 s, 1 s, hold 2 s: the bar ends at 25 %, 50 %, 100 %.
        let (_, _, decoded, _) = decode(&e.gif);
        let bar_end = |k: usize| {
            (0..100)
                .take_while(|&x| {
                    let t = ((59 * 100 + x) * 4) as usize;
                    decoded[k][t..t + 3] == colors::PROGRESS
                })
                .count()
        };
        assert_eq!(
            [bar_end(0), bar_end(1), bar_end(2)],
            [25, 50, 100],
            "bar lengths"
        );
    }

    #[test]
    fn many_colours_get_a_full_palette_and_stay_close() {
        let a = png(256, 64, |x, y| [x as u8, (y * 4) as u8, 255 - x as u8]);
        let e = encode(&[plain(&a, 0)], &opts_plain()).expect("encode");
        assert_eq!(e.palette_colors, 256);
        let (_, _, decoded, _) = decode(&e.gif);
        let img = image::load_from_memory(&a.bytes).expect("png").to_rgb8();
        let mut total = 0i64;
        for (x, y, p) in img.enumerate_pixels() {
            let t = ((y * 256 + x) * 4) as usize;
            for c in 0..3 {
                total += (decoded[0][t + c] as i64 - p.0[c] as i64).abs();
            }
        }
        let mean = total as f64 / (256.0 * 64.0 * 3.0);
        assert!(mean < 6.0, "mean channel error {mean}");
    }

    #[test]
    fn resize_averages_areas() {
        // 4×2 → 2×1: each output pixel is the mean of a 2×2 block.
        let src = [
            0, 0, 0, 100, 100, 100, 200, 200, 200, 200, 200, 200, //
            0, 0, 0, 100, 100, 100, 0, 0, 0, 0, 0, 0,
        ];
        assert_eq!(
            resize_rgb(&src, 4, 2, 2, 1),
            vec![50, 50, 50, 100, 100, 100]
        );
        // 3 → 2 keeps the mean brightness.
        let src = [90u8; 3 * 3];
        assert_eq!(resize_rgb(&src, 3, 1, 2, 1), vec![90; 6]);
    }

    #[test]
    fn no_frames_and_bad_bytes_are_errors() {
        assert!(matches!(
            encode(&[], &EncodeOptions::default()),
            Err(EncodeError::NoFrames)
        ));
        let bad = Arc::new(Shot {
            bytes: b"\x89PNG not really".to_vec(),
            width: 10,
            height: 10,
        });
        let e = encode(&[plain(&bad, 0)], &EncodeOptions::default());
        assert!(matches!(e, Err(EncodeError::Decode(0, _))), "{e:?}");
    }

    #[test]
    fn par_fold_keeps_order_and_states() {
        let (states, out) = par_fold(
            100,
            3,
            || 0usize,
            |s, i| {
                *s += 1;
                i * 2
            },
        );
        assert_eq!(out, (0..100).map(|i| i * 2).collect::<Vec<_>>());
        assert_eq!(states.iter().sum::<usize>(), 100);
    }
}
