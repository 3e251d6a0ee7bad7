//! Overlays drawn on a frame's palette indices after it was scaled and quantized: click
//! markers, drag paths, the action label, the progress bar and the watermark.
//!
//! Drawing on indices (not RGBA) keeps every overlay pixel exactly one of the reserved
//! palette colours, so markers stay crisp and identical frames stay identical.

use font8x8::legacy::{BASIC_LEGACY, LATIN_LEGACY};

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

    /// Draws `text` with the 8×8 bitmap font at an integer `scale`, top-left at `(x, y)`.
    pub fn text(&mut self, x: i64, y: i64, text: &str, scale: i64, ink: u8) {
        let mut cx = x;
        for ch in text.chars() {
            let g = glyph(ch);
            for (row, bits) in g.iter().enumerate() {
                for col in 0..8 {
                    if bits & (1 << col) != 0 {
                        self.fill_rect(
                            cx + col * scale,
                            y + row as i64 * scale,
                            cx + (col + 1) * scale,
                            y + (row as i64 + 1) * scale,
                            ink,
                        );
                    }
                }
            }
            cx += 8 * scale;
        }
    }
}

/// The 8×8 glyph for a character: ASCII and Latin-1 from `font8x8` (public domain glyphs,
/// MIT crate); typographic quotes, dashes and the ellipsis fold to ASCII; anything else is `?`.
pub fn glyph(ch: char) -> [u8; 8] {
    let c = match ch {
        '“' | '”' | '„' | '«' | '»' => '"',
        '‘' | '’' | '‚' => '\'',
        '–' | '—' | '−' => '-',
        '→' => '>',
        '×' => 'x',
        c => c,
    };
    let code = c as u32;
    if code < 128 {
        if code < 32 {
            return [0; 8];
        }
        return BASIC_LEGACY[code as usize];
    }
    if (0xA0..=0xFF).contains(&code) {
        return LATIN_LEGACY[(code - 0xA0) as usize];
    }
    BASIC_LEGACY['?' as usize]
}

/// Text as it is drawn: `…` spelled `...`, cut with `...` to at most `max` characters.
pub fn fit_text(text: &str, max: usize) -> String {
    let s: String = text.replace('…', "...");
    let s: String = s.chars().filter(|c| !c.is_control()).collect();
    if s.chars().count() <= max {
        return s;
    }
    if max <= 3 {
        return s.chars().take(max).collect();
    }
    let mut out: String = s.chars().take(max - 3).collect();
    out.push_str("...");
    out
}

/// Sizes of overlays for a canvas, so they read the same at any output width.
#[derive(Debug, Clone, Copy)]
pub struct Metrics {
    /// Font scale (8 px glyphs × scale).
    pub font: i64,
    /// Click ring outer radius.
    pub ring: f64,
    /// Progress bar height.
    pub bar: i64,
}

impl Metrics {
    /// The metrics for a canvas `width` pixels wide.
    pub fn for_width(width: u32) -> Metrics {
        Metrics {
            font: if width >= 560 { 2 } else { 1 },
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
    let glyph_w = 8 * m.font;
    let pad = 3 * m.font;
    let margin = 4 * m.font;
    let max_chars = ((c.width as i64 - 2 * margin - 2 * pad) / glyph_w).max(1) as usize;
    let text = fit_text(text, max_chars);
    let n = text.chars().count() as i64;
    if n == 0 {
        return;
    }
    let (w, h) = (n * glyph_w + 2 * pad, 8 * m.font + 2 * pad);
    let x0 = margin;
    let y0 = c.height as i64 - m.bar - margin - h;
    c.fill_rect(x0, y0, x0 + w, y0 + h, inks.dark);
    c.text(x0 + pad, y0 + pad, &text, m.font, inks.light);
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
    let pad = 3;
    let w = text.len() as i64 * 8 + 2 * pad;
    let h = 8 + 2 * pad;
    let x0 = c.width as i64 - w - 4;
    let y0 = 4;
    c.fill_rect(x0, y0, x0 + w, y0 + h, inks.dark);
    c.text(x0 + pad, y0 + pad, text, 1, inks.light);
}

#[cfg(test)]
mod tests {
    use super::*;

    const INKS: Inks = Inks {
        accent: 1,
        light: 2,
        dark: 3,
        progress: 4,
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
    fn label_box_has_text_inside_at_the_bottom_left() {
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
        let mut light = 0;
        for y in 0..h as i64 {
            for x in 0..w as i64 {
                let v = c.get(x, y);
                if v == INKS.dark || v == INKS.light {
                    xs = (xs.0.min(x), xs.1.max(x));
                    ys = (ys.0.min(y), ys.1.max(y));
                }
                if v == INKS.light {
                    light += 1;
                }
            }
        }
        let chars = "Click \"Save\"".len() as i64;
        assert_eq!(xs.0, 4 * m.font, "left margin");
        assert_eq!(
            xs.1 - xs.0 + 1,
            chars * 8 * m.font + 6 * m.font,
            "box width"
        );
        assert_eq!(ys.1, h as i64 - m.bar - 4 * m.font - 1, "above the bar");
        assert!(ys.0 > h as i64 / 2, "in the bottom half");
        assert!(light > 100, "text pixels drawn: {light}");
        // The curly quotes are drawn as the ASCII quote glyph.
        assert_eq!(glyph('“'), glyph('"'));
        assert_ne!(glyph('"'), [0; 8]);
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
    fn fit_text_cuts_with_an_ellipsis() {
        assert_eq!(fit_text("Type “hello…”", 40), "Type “hello...”");
        assert_eq!(fit_text("abcdefghij", 6), "abc...");
        assert_eq!(fit_text("abc", 3), "abc");
    }
}
