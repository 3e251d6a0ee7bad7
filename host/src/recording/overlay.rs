//! Overlays drawn on a frame's palette indices after it was scaled and quantized: click
//! markers, drag paths, the action label, the progress bar and the watermark.
//!
//! Drawing on indices (not RGBA) keeps every overlay pixel exactly one of the reserved
//! palette colours, so markers stay crisp and identical frames stay identical. Text is set in
//! Inter SemiBold (SIL Open Font License 1.1, `host/assets/fonts/OFL.txt`), anti-aliased with
//! three reserved greys between the label box and the text colour.

use std::sync::OnceLock;

use ab_glyph::{Font, FontRef, PxScale, ScaleFont};

/// The bundled label font.
static FONT_BYTES: &[u8] = include_bytes!("../../assets/fonts/Inter-SemiBold.ttf");

fn font() -> Option<&'static FontRef<'static>> {
    static FONT: OnceLock<Option<FontRef<'static>>> = OnceLock::new();
    FONT.get_or_init(|| FontRef::try_from_slice(FONT_BYTES).ok())
        .as_ref()
}

/// A frame's pixels as palette indices, row by row.
pub struct Canvas<'a> {
    /// The indices, `width * height` of them.
    pub px: &'a mut [u8],
    /// Width in pixels.
    pub width: u32,
    /// Height in pixels.
    pub height: u32,
}

/// The palette indices overlays draw with (reserved in every palette).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Inks {
    /// Click markers and drag paths.
    pub accent: u8,
    /// Outlines around markers, label text.
    pub light: u8,
    /// Label and watermark boxes.
    pub dark: u8,
    /// The progress bar.
    pub progress: u8,
    /// Anti-aliasing greys from `dark` towards `light` (25, 50, 75 %).
    pub greys: [u8; 3],
}

/// The colours of [`Inks`], as RGB.
pub mod colors {
    /// Click markers and drag paths (a strong red).
    pub const ACCENT: [u8; 3] = [0xE5, 0x25, 0x3A];
    /// Outlines and label text.
    pub const LIGHT: [u8; 3] = [0xFF, 0xFF, 0xFF];
    /// Label and watermark boxes.
    pub const DARK: [u8; 3] = [0x1F, 0x23, 0x28];
    /// The progress bar (blue).
    pub const PROGRESS: [u8; 3] = [0x1A, 0x73, 0xE8];
    /// The anti-aliasing greys between [`DARK`] and [`LIGHT`].
    pub const GREYS: [[u8; 3]; 3] = [mix(1), mix(2), mix(3)];

    const fn mix(quarter: u16) -> [u8; 3] {
        let mut out = [0u8; 3];
        let mut i = 0;
        while i < 3 {
            out[i] = ((DARK[i] as u16 * (4 - quarter) + LIGHT[i] as u16 * quarter) / 4) as u8;
            i += 1;
        }
        out
    }
}

impl Canvas<'_> {
    /// Sets one pixel; points outside the canvas are ignored.
    pub fn set(&mut self, x: i64, y: i64, ink: u8) {
        if x < 0 || y < 0 || x >= self.width as i64 || y >= self.height as i64 {
            return;
        }
        self.px[(y as usize) * (self.width as usize) + x as usize] = ink;
    }

    /// The index at a pixel (0 outside).
    pub fn get(&self, x: i64, y: i64) -> u8 {
        if x < 0 || y < 0 || x >= self.width as i64 || y >= self.height as i64 {
            return 0;
        }
        self.px[(y as usize) * (self.width as usize) + x as usize]
    }

    /// Fills the rectangle `[x0, x1) × [y0, y1)`, clipped to the canvas.
    pub fn fill_rect(&mut self, x0: i64, y0: i64, x1: i64, y1: i64, ink: u8) {
        let (x0, x1) = (x0.max(0), x1.min(self.width as i64));
        let (y0, y1) = (y0.max(0), y1.min(self.height as i64));
        if x0 >= x1 || y0 >= y1 {
            return;
        }
        let w = self.width as usize;
        for y in y0..y1 {
            let row = y as usize * w;
            self.px[row + x0 as usize..row + x1 as usize].fill(ink);
        }
    }

    /// Fills the ring between radii `r_in` and `r_out` around `(cx, cy)` (a disc when
    /// `r_in` is 0).
    pub fn ring(&mut self, cx: f64, cy: f64, r_in: f64, r_out: f64, ink: u8) {
        let (x0, x1) = ((cx - r_out).floor() as i64, (cx + r_out).ceil() as i64);
        let (y0, y1) = ((cy - r_out).floor() as i64, (cy + r_out).ceil() as i64);
        for y in y0..=y1 {
            for x in x0..=x1 {
                let (dx, dy) = (x as f64 + 0.5 - cx, y as f64 + 0.5 - cy);
                let d2 = dx * dx + dy * dy;
                if d2 <= r_out * r_out && d2 >= r_in * r_in {
                    self.set(x, y, ink);
                }
            }
        }
    }

    /// A line of the given thickness from `a` to `b`.
    pub fn line(&mut self, a: (f64, f64), b: (f64, f64), thickness: f64, ink: u8) {
        let (dx, dy) = (b.0 - a.0, b.1 - a.1);
        let len = (dx * dx + dy * dy).sqrt();
        let steps = (len.ceil() as i64).max(1);
        let r = thickness / 2.0;
        for i in 0..=steps {
            let t = i as f64 / steps as f64;
            let (x, y) = (a.0 + dx * t, a.1 + dy * t);
            self.ring(x, y, 0.0, r, ink);
        }
    }

    /// Draws `text` at `px` pixels high, its top-left at `(x, y)`, light on the dark ink
    /// (edges in the greys between them).
    pub fn text(&mut self, x: i64, y: i64, text: &str, px: f32, inks: Inks) {
        let Some(font) = font() else { return };
        let scaled = font.as_scaled(PxScale::from(px));
        let ramp = [inks.greys[0], inks.greys[1], inks.greys[2], inks.light];
        let mut caret = x as f32;
        let baseline = y as f32 + scaled.ascent();
        let mut prev = None;
        for ch in text.chars() {
            let id = scaled.glyph_id(ch);
            if let Some(p) = prev {
                caret += scaled.kern(p, id);
            }
            let glyph = id.with_scale_and_position(px, ab_glyph::point(caret, baseline));
            caret += scaled.h_advance(id);
            prev = Some(id);
            let Some(outlined) = font.outline_glyph(glyph) else {
                continue;
            };
            let b = outlined.px_bounds();
            outlined.draw(|gx, gy, cov| {
                // Coverage in five steps: nothing, three greys, the text colour.
                let level = (cov.clamp(0.0, 1.0) * 4.0).round() as usize;
                if level > 0 {
                    self.set(
                        b.min.x as i64 + gx as i64,
                        b.min.y as i64 + gy as i64,
                        ramp[level - 1],
                    );
                }
            });
        }
    }
}

/// The width of `text` set at `px` pixels.
pub fn text_width(text: &str, px: f32) -> f32 {
    let Some(font) = font() else { return 0.0 };
    let scaled = font.as_scaled(PxScale::from(px));
    let mut w = 0.0;
    let mut prev = None;
    for ch in text.chars() {
        let id = scaled.glyph_id(ch);
        if let Some(p) = prev {
            w += scaled.kern(p, id);
        }
        w += scaled.h_advance(id);
        prev = Some(id);
    }
    w
}

/// The height of a line of text at `px` pixels (ascent + descent).
pub fn line_height(px: f32) -> f32 {
    font().map_or(px, |f| {
        let s = f.as_scaled(PxScale::from(px));
        s.ascent() - s.descent()
    })
}

/// `text` without control characters, cut with `…` so that it is at most `max_w` pixels wide
/// at `px` pixels.
pub fn fit_width(text: &str, px: f32, max_w: f32) -> String {
    let s: String = text.chars().filter(|c| !c.is_control()).collect();
    if text_width(&s, px) <= max_w {
        return s;
    }
    let chars: Vec<char> = s.chars().collect();
    let mut n = chars.len();
    while n > 0 {
        let cut: String = chars[..n].iter().collect::<String>() + "…";
        if text_width(&cut, px) <= max_w {
            return cut;
        }
        n -= 1;
    }
    String::new()
}

/// Sizes of overlays for a canvas, so they read the same at any output width.
#[derive(Debug, Clone, Copy)]
pub struct Metrics {
    /// Label text size in pixels.
    pub font: f32,
    /// Click ring outer radius.
    pub ring: f64,
    /// Progress bar height.
    pub bar: i64,
}

impl Metrics {
    /// The metrics for a canvas `width` pixels wide.
    pub fn for_width(width: u32) -> Metrics {
        Metrics {
            font: if width >= 560 { 17.0 } else { 12.0 },
            ring: (width as f64 / 60.0).clamp(9.0, 22.0),
            bar: if width >= 560 { 4 } else { 3 },
        }
    }
}

/// A click marker: a light-outlined accent ring around `p`; `pressed` adds the filled dot
/// at the point itself (the frame after the click), without it the ring shows where the
/// action is about to happen.
pub fn click_marker(c: &mut Canvas, p: (f64, f64), pressed: bool, m: Metrics, inks: Inks) {
    let r = m.ring;
    c.ring(p.0, p.1, r - 4.5, r + 1.0, inks.light);
    c.ring(p.0, p.1, r - 3.5, r, inks.accent);
    if pressed {
        let d = (r / 3.0).max(3.5);
        c.ring(p.0, p.1, 0.0, d + 1.0, inks.light);
        c.ring(p.0, p.1, 0.0, d, inks.accent);
    }
}

/// A drag path from `a` to `b`: a dot at the start, a line, and an arrowhead at the end.
pub fn drag_path(c: &mut Canvas, a: (f64, f64), b: (f64, f64), m: Metrics, inks: Inks) {
    let t = (m.ring / 4.0).max(2.5);
    c.line(a, b, t + 2.0, inks.light);
    c.ring(a.0, a.1, 0.0, m.ring / 2.0 + 1.0, inks.light);
    c.line(a, b, t, inks.accent);
    c.ring(a.0, a.1, 0.0, m.ring / 2.0, inks.accent);
    let (dx, dy) = (b.0 - a.0, b.1 - a.1);
    let len = (dx * dx + dy * dy).sqrt();
    if len < 1.0 {
        return;
    }
    let (ux, uy) = (dx / len, dy / len);
    let head = m.ring * 1.2;
    for side in [-1.0f64, 1.0] {
        // Rotate the reversed direction by ±30°.
        let (cs, sn) = (0.866_f64, 0.5 * side);
        let (rx, ry) = (-ux * cs - -uy * sn, -ux * sn + -uy * cs);
        c.line(b, (b.0 + rx * head, b.1 + ry * head), t, inks.accent);
    }
}

/// The action label: light text in a dark box at the bottom left, above the progress bar.
pub fn label(c: &mut Canvas, text: &str, m: Metrics, inks: Inks) {
    let pad = (m.font * 0.45).round() as i64;
    let margin = (m.font * 0.5).round() as i64;
    let max_w = (c.width as i64 - 2 * margin - 2 * pad).max(1) as f32;
    let text = fit_width(text, m.font, max_w);
    if text.is_empty() {
        return;
    }
    let w = text_width(&text, m.font).ceil() as i64 + 2 * pad;
    let h = line_height(m.font).ceil() as i64 + 2 * pad;
    let x0 = margin;
    let y0 = c.height as i64 - m.bar - margin - h;
    c.fill_rect(x0, y0, x0 + w, y0 + h, inks.dark);
    c.text(x0 + pad, y0 + pad, &text, m.font, inks);
}

/// The progress bar: `fraction` (0–1) of the width, at the very bottom.
pub fn progress_bar(c: &mut Canvas, fraction: f64, m: Metrics, inks: Inks) {
    let w = (c.width as f64 * fraction.clamp(0.0, 1.0)).round() as i64;
    let h = c.height as i64;
    c.fill_rect(0, h - m.bar, w, h, inks.progress);
}

/// A small "Tabwright" watermark in the top right corner.
pub fn watermark(c: &mut Canvas, inks: Inks) {
    let text = "Tabwright";
    let px = 12.0;
    let pad = 4;
    let w = text_width(text, px).ceil() as i64 + 2 * pad;
    let h = line_height(px).ceil() as i64 + 2 * pad;
    let x0 = c.width as i64 - w - 4;
    let y0 = 4;
    c.fill_rect(x0, y0, x0 + w, y0 + h, inks.dark);
    c.text(x0 + pad, y0 + pad, text, px, inks);
}

#[cfg(test)]
mod tests {
    use super::*;

    const INKS: Inks = Inks {
        accent: 1,
        light: 2,
        dark: 3,
        progress: 4,
        greys: [5, 6, 7],
    };

    fn blank(w: u32, h: u32) -> Vec<u8> {
        vec![0; (w * h) as usize]
    }

    #[test]
    fn click_marker_is_centred_on_the_point() {
        let mut px = blank(200, 100);
        let mut c = Canvas {
            px: &mut px,
            width: 200,
            height: 100,
        };
        let m = Metrics::for_width(200);
        click_marker(&mut c, (50.0, 40.0), true, m, INKS);
        assert_eq!(c.get(50, 40), INKS.accent, "dot at the point");
        // On the ring, left of the point.
        let rx = (50.0 - m.ring + 1.5) as i64;
        assert_eq!(c.get(rx, 40), INKS.accent, "ring");
        // Far away: untouched.
        assert_eq!(c.get(150, 80), 0);
        // Not pressed: the ring without the dot.
        let mut px2 = blank(200, 100);
        let mut c2 = Canvas {
            px: &mut px2,
            width: 200,
            height: 100,
        };
        click_marker(&mut c2, (50.0, 40.0), false, m, INKS);
        assert_ne!(c2.get(50, 40), INKS.accent, "no dot before the click");
        assert_eq!(c2.get(rx, 40), INKS.accent, "ring before the click");
    }

    #[test]
    fn markers_near_the_edge_are_clipped_not_panicking() {
        let mut px = blank(40, 30);
        let mut c = Canvas {
            px: &mut px,
            width: 40,
            height: 30,
        };
        let m = Metrics::for_width(40);
        click_marker(&mut c, (0.0, 0.0), true, m, INKS);
        click_marker(&mut c, (39.9, 29.9), true, m, INKS);
        drag_path(&mut c, (-10.0, -10.0), (100.0, 100.0), m, INKS);
        label(&mut c, "a very long label that cannot fit at all", m, INKS);
        progress_bar(&mut c, 2.0, m, INKS);
        watermark(&mut c, INKS);
    }

    #[test]
    fn label_box_has_anti_aliased_text_inside_at_the_bottom_left() {
        let (w, h) = (640u32, 400u32);
        let mut px = blank(w, h);
        let mut c = Canvas {
            px: &mut px,
            width: w,
            height: h,
        };
        let m = Metrics::for_width(w);
        label(&mut c, "Click “Save”", m, INKS);
        // Find the box's extent.
        let mut xs = (i64::MAX, i64::MIN);
        let mut ys = (i64::MAX, i64::MIN);
        let (mut light, mut grey) = (0, 0);
        for y in 0..h as i64 {
            for x in 0..w as i64 {
                let v = c.get(x, y);
                if v != 0 {
                    xs = (xs.0.min(x), xs.1.max(x));
                    ys = (ys.0.min(y), ys.1.max(y));
                }
                if v == INKS.light {
                    light += 1;
                }
                if INKS.greys.contains(&v) {
                    grey += 1;
                }
            }
        }
        let margin = (m.font * 0.5).round() as i64;
        assert_eq!(xs.0, margin, "left margin");
        let want_w = text_width("Click “Save”", m.font);
        assert!(
            (xs.1 - xs.0) as f32 > want_w && ((xs.1 - xs.0) as f32) < want_w + m.font * 1.5,
            "box width {} for text {want_w}",
            xs.1 - xs.0
        );
        assert_eq!(ys.1, h as i64 - m.bar - margin - 1, "above the bar");
        assert!(ys.0 > h as i64 / 2, "in the bottom half");
        assert!(light > 100, "text pixels drawn: {light}");
        assert!(grey > 30, "anti-aliased edges: {grey}");
        // Only the box's inks are used.
        for v in c.px.iter().filter(|v| **v != 0) {
            assert!(
                [INKS.dark, INKS.light].contains(v) || INKS.greys.contains(v),
                "{v}"
            );
        }
    }

    #[test]
    fn drag_path_connects_start_and_end() {
        let mut px = blank(300, 200);
        let mut c = Canvas {
            px: &mut px,
            width: 300,
            height: 200,
        };
        let m = Metrics::for_width(300);
        drag_path(&mut c, (30.0, 30.0), (250.0, 150.0), m, INKS);
        assert_eq!(c.get(30, 30), INKS.accent);
        assert_eq!(c.get(140, 90), INKS.accent, "midpoint on the line");
        assert_eq!(c.get(250, 150), INKS.accent, "end");
        assert_eq!(c.get(250, 30), 0, "off the path");
    }

    #[test]
    fn progress_bar_is_proportional() {
        let mut px = blank(100, 50);
        let mut c = Canvas {
            px: &mut px,
            width: 100,
            height: 50,
        };
        let m = Metrics::for_width(100);
        progress_bar(&mut c, 0.25, m, INKS);
        assert_eq!(c.get(24, 49), INKS.progress);
        assert_eq!(c.get(25, 49), 0);
        assert_eq!(c.get(10, 49 - m.bar), 0, "only the bottom rows");
    }

    #[test]
    fn fit_width_cuts_with_an_ellipsis() {
        let px = 16.0;
        assert_eq!(fit_width("Type “hello”", px, 1000.0), "Type “hello”");
        let cut = fit_width("abcdefghijklmnopqrstuvwxyz", px, text_width("abcdef", px));
        assert!(cut.ends_with('…') && cut.len() < 26, "{cut}");
        assert!(text_width(&cut, px) <= text_width("abcdef", px));
        assert_eq!(fit_width("abc\u{7}", px, 1000.0), "abc");
    }
}
