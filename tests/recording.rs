//! `gif_creator` end to end: actions recorded through the registry on fixture pages in a real
//! Chromium, the written GIF decoded and checked frame by frame (count, timing, size, the
//! overlay pixels where the clicks happened), and the tool's errors.

use std::path::Path;
use std::sync::Mutex;

use serde_json::json;
use tabwright::recording::overlay::{colors, Metrics};
use tabwright_e2e::{run, Ctx};

/// These tests run one at a time: all sessions share one browser window, where only the
/// front tab paints, and a test's tab should not lose the front to another test's new tab
/// halfway (the recorder then brings its tab back, which costs a capture timeout; that path
/// has its own test below).
static SERIAL: Mutex<()> = Mutex::new(());

fn serial() -> std::sync::MutexGuard<'static, ()> {
    SERIAL.lock().unwrap_or_else(|p| p.into_inner())
}

/// A decoded GIF: its size, every frame composited onto the canvas (RGBA), the delays (cs).
struct Decoded {
    width: u32,
    height: u32,
    frames: Vec<Vec<u8>>,
    delays: Vec<u16>,
}

impl Decoded {
    fn rgb(&self, frame: usize, x: u32, y: u32) -> [u8; 3] {
        let t = ((y * self.width + x) * 4) as usize;
        let f = &self.frames[frame];
        [f[t], f[t + 1], f[t + 2]]
    }
}

fn decode(path: &Path) -> Decoded {
    let bytes = std::fs::read(path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()));
    let mut opts = gif::DecodeOptions::new();
    opts.set_color_output(gif::ColorOutput::RGBA);
    let mut d = opts.read_info(&bytes[..]).expect("a GIF header");
    let (width, height) = (d.width() as u32, d.height() as u32);
    let mut canvas = vec![0u8; (width * height * 4) as usize];
    let mut frames = Vec::new();
    let mut delays = Vec::new();
    while let Some(f) = d.read_next_frame().expect("a readable frame") {
        assert_eq!(
            f.dispose,
            gif::DisposalMethod::Keep,
            "frames build on each other"
        );
        for y in 0..f.height as u32 {
            for x in 0..f.width as u32 {
                let s = ((y * f.width as u32 + x) * 4) as usize;
                if f.buffer[s + 3] == 0 {
                    continue;
                }
                let t = (((y + f.top as u32) * width + x + f.left as u32) * 4) as usize;
                canvas[t..t + 4].copy_from_slice(&f.buffer[s..s + 4]);
            }
        }
        frames.push(canvas.clone());
        delays.push(f.delay);
    }
    Decoded {
        width,
        height,
        frames,
        delays,
    }
}

fn near(a: [u8; 3], b: [u8; 3], tol: i32) -> bool {
    a.iter()
        .zip(b.iter())
        .all(|(x, y)| (*x as i32 - *y as i32).abs() <= tol)
}

/// The point a click report names: `… at (X, Y)`.
fn point_of(report: &str) -> (f64, f64) {
    let tail = report
        .split(" at (")
        .nth(1)
        .unwrap_or_else(|| panic!("no point in: {report}"));
    let inner = tail.split(')').next().unwrap_or("");
    let mut it = inner.split(',').map(|v| v.trim().parse::<f64>());
    match (it.next(), it.next()) {
        (Some(Ok(x)), Some(Ok(y))) => (x, y),
        _ => panic!("no point in: {report}"),
    }
}

/// The viewport in CSS pixels.
async fn viewport(c: &Ctx) -> (f64, f64) {
    let v = c.js("[innerWidth, innerHeight]").await;
    (
        v[0].as_f64().expect("innerWidth"),
        v[1].as_f64().expect("innerHeight"),
    )
}

/// Where the label box's dark fill is, for a GIF `width` × `height`.
fn label_probe(width: u32, height: u32) -> (u32, u32) {
    let m = Metrics::for_width(width);
    let margin = (m.font * 0.5).round() as u32;
    (margin + 1, height - m.bar as u32 - margin - 2)
}

#[test]
fn clicks_are_recorded_with_markers_labels_and_real_timing() {
    let _one = serial();
    run(|c| async move {
        c.open("buttons.html").await;
        let save = c.ref_of("button", "Save").await;
        let dbl = c.ref_of("button", "Double click me").await;
        let (vw, vh) = viewport(&c).await;

        let started = c
            .ok("gif_creator", json!({"action": "start_recording"}))
            .await;
        assert!(started.contains("A first frame was captured"), "{started}");
        let r1 = c
            .ok("computer", json!({"action": "left_click", "ref": save}))
            .await;
        assert_eq!(c.text_of("#status").await, "clicked: Save");
        // Nothing visible happens while waiting: no frame; the time shows as a longer delay.
        c.ok("computer", json!({"action": "wait", "duration": 0.6}))
            .await;
        let r2 = c
            .ok("computer", json!({"action": "left_click", "ref": dbl}))
            .await;
        // A read-only call adds nothing.
        c.ok("read_page", json!({"filter": "interactive"})).await;
        let stopped = c
            .ok("gif_creator", json!({"action": "stop_recording"}))
            .await;
        assert!(stopped.contains("5 frame(s)"), "{stopped}");
        // Stopped: actions add no frames.
        c.ok("computer", json!({"action": "left_click", "ref": save}))
            .await;

        let out = c
            .ok(
                "gif_creator",
                json!({"action": "export", "filename": "clicks"}),
            )
            .await;
        let path = c
            .workspace
            .canonicalize()
            .expect("workspace")
            .join("recordings/clicks.gif");
        assert!(out.contains(&path.display().to_string()), "{out}");
        assert!(out.contains("5 frame(s)"), "{out}");
        let size = std::fs::metadata(&path).expect("the GIF exists").len();
        assert!(out.contains(&format!("({size} bytes)")), "{out}");

        let g = decode(&path);
        // Frames: the first (start_recording); for each click, the picture as it was when
        // clicked (with the press drawn on it) and the picture after it settled.
        assert_eq!(g.frames.len(), 5, "delays {:?}", g.delays);
        let w = 800.0_f64.min(vw);
        assert_eq!(g.width, w as u32);
        assert_eq!(g.height, (vh * w / vw).round() as u32);
        assert!(
            out.contains(&format!("{}x{} px", g.width, g.height)),
            "{out}"
        );

        // Delays follow the real time between frames, within the bounds (0.1 s – 3 s).
        let d: Vec<i64> = g.delays.iter().map(|d| *d as i64 * 10).collect();
        assert!(d.iter().all(|d| *d >= 100), "{d:?}");
        assert!(
            d[2] >= 590,
            "the frame after Save lasts through the 0.6 s wait: {d:?}"
        );
        assert_eq!(d[4], 2000, "the last frame is held 2 s");

        // The press is drawn where the Save click happened, on the frame of that moment only.
        let scale = g.width as f64 / vw;
        let (sx, sy) = point_of(&r1);
        let (px, py) = ((sx * scale) as u32, (sy * scale) as u32);
        assert!(
            near(g.rgb(1, px, py), colors::ACCENT, 8),
            "press at ({px}, {py}) when clicking: {:?}",
            g.rgb(1, px, py)
        );
        for f in [0, 2, 3, 4] {
            assert!(
                !near(g.rgb(f, px, py), colors::ACCENT, 60),
                "no Save press in frame {f}: {:?}",
                g.rgb(f, px, py)
            );
        }
        let (dx, dy) = point_of(&r2);
        let (qx, qy) = ((dx * scale) as u32, (dy * scale) as u32);
        assert!(
            near(g.rgb(3, qx, qy), colors::ACCENT, 8),
            "press at the second click"
        );
        assert!(!near(g.rgb(4, qx, qy), colors::ACCENT, 60));

        // The label box (bottom left) in the marked frames only; the progress bar grows.
        let (lx, ly) = label_probe(g.width, g.height);
        for f in 1..5 {
            assert!(near(g.rgb(f, lx, ly), colors::DARK, 8), "label box in {f}");
        }
        assert!(!near(g.rgb(0, lx, ly), colors::DARK, 30), "no label");
        let bar_len = |f: usize| {
            (0..g.width)
                .take_while(|&x| near(g.rgb(f, x, g.height - 1), colors::PROGRESS, 8))
                .count() as u32
        };
        let bars: Vec<u32> = (0..5).map(bar_len).collect();
        assert!(bars.windows(2).all(|w| w[0] < w[1]), "bar {bars:?}");
        assert_eq!(bars[4], g.width, "full at the end");
    });
}

#[test]
fn the_press_is_drawn_on_the_element_even_when_the_layout_moves() {
    let _one = serial();
    run(|c| async move {
        // Recording starts on a blank tab: the GIF does not open on a blank frame.
        c.ok("navigate", json!({"url": "about:blank"})).await;
        c.ok(
            "gif_creator",
            json!({"action": "start_recording", "options": {"show_progress_bar": false}}),
        )
        .await;
        c.open("shift.html").await;
        let go = c.ref_of("button", "Show the banner").await;
        let bx = c
            .js("(() => { const r = document.getElementById('go').getBoundingClientRect(); return [r.left, r.top, r.right, r.bottom]; })()")
            .await;
        let r = c
            .ok("computer", json!({"action": "left_click", "ref": go}))
            .await;
        assert_eq!(
            c.js("!!document.getElementById('banner')").await,
            json!(true)
        );
        // A password typed into a field: its label shows dots, never the secret.
        let pw = c.ref_of("textbox", "Password").await;
        c.ok("computer", json!({"action": "left_click", "ref": pw}))
            .await;
        c.ok(
            "computer",
            json!({"action": "type", "text": "hunter2secret"}),
        )
        .await;
        c.ok("form_input", json!({"ref": pw, "value": "otherSecret9"}))
            .await;
        c.ok("gif_creator", json!({"action": "stop_recording"}))
            .await;
        let labels: Vec<String> = tabwright::recording::Recorder::of(&c.session)
            .clip()
            .iter()
            .filter_map(|f| f.mark.as_ref().map(|m| m.label.clone()))
            .collect();
        assert!(
            labels
                .iter()
                .all(|l| !l.contains("hunter2") && !l.contains("otherSecret")),
            "{labels:?}"
        );
        assert!(
            labels.iter().any(|l| l.starts_with("Type “•")),
            "{labels:?}"
        );
        c.ok(
            "gif_creator",
            json!({"action": "export", "filename": "shift"}),
        )
        .await;
        let g = decode(&c.workspace.join("recordings/shift.gif"));
        // The first frame is a picture of the page, not one flat colour.
        let first = &g.frames[0];
        assert!(
            first.chunks(4).any(|p| p[..3] != first[..3]),
            "the GIF opens on a blank frame"
        );
        let (vw, _) = viewport(&c).await;
        let scale = g.width as f64 / vw;
        let (x, y) = point_of(&r);
        let (px, py) = ((x * scale) as u32, (y * scale) as u32);
        let pressed: Vec<usize> = (0..g.frames.len())
            .filter(|&f| near(g.rgb(f, px, py), colors::ACCENT, 8))
            .collect();
        assert_eq!(pressed.len(), 1, "one frame shows the press: {pressed:?}");
        let f = pressed[0];
        // Around the press (outside the marker), that frame shows the green button the click
        // landed on, not the red banner that moved in after it.
        let m = Metrics::for_width(g.width);
        // Below the marker and the button's text, still inside the button.
        let probe = (y * scale + m.ring * 1.8) as u32;
        let edge = |i: usize| bx[i].as_f64().unwrap_or(0.0) * scale;
        assert!(
            (probe as f64) < edge(3) - 2.0,
            "the probe is inside the button's box {bx}"
        );
        assert!(
            near(g.rgb(f, px, probe), [0x10, 0xa0, 0x10], 40),
            "frame {f} at ({px}, {probe}) is {:?}, not the button",
            g.rgb(f, px, probe)
        );
        assert!(
            near(g.rgb(f + 1, px, probe), [0xd0, 0x10, 0x10], 40),
            "after the click the banner is there: {:?}",
            g.rgb(f + 1, px, probe)
        );
    });
}

#[test]
fn a_drag_gets_a_path_and_options_turn_overlays_off() {
    let _one = serial();
    run(|c| async move {
        c.open("dragdrop.html").await;
        let (vw, _) = viewport(&c).await;
        let v = c.js("(() => { const h = document.querySelector('#handle').getBoundingClientRect(); const t = document.querySelector('#track').getBoundingClientRect(); return [h.x + h.width/2, h.y + h.height/2, t.x + 300]; })()").await;
        let (sx, sy, ex) = (
            v[0].as_f64().expect("x"),
            v[1].as_f64().expect("y"),
            v[2].as_f64().expect("end"),
        );
        c.ok(
            "gif_creator",
            json!({"action": "start_recording", "options": {"show_progress_bar": false, "max_width": 640}}),
        )
        .await;
        c.ok("computer", json!({"action": "left_click_drag", "start_coordinate": [sx, sy], "coordinate": [ex, sy]})).await;
        assert_eq!(c.wait_text("#status2", "handle at").await, "handle at 300");
        let out = c
            .ok(
                "gif_creator",
                json!({"action": "export", "filename": "drag.gif"}),
            )
            .await;
        assert!(out.contains("Still recording"), "{out}");
        let path = c.workspace.join("recordings/drag.gif");
        let g = decode(&path);
        assert_eq!(g.width, 640, "max_width from start_recording");
        // The frame after the drag is the last one with the action label (the one before it
        // has the label too; a later call may add unmarked frames if the page still changed).
        let (lx, ly) = label_probe(g.width, g.height);
        let last = (1..g.frames.len())
            .rev()
            .find(|&k| near(g.rgb(k, lx, ly), colors::DARK, 8))
            .unwrap_or_else(|| panic!("no frame with the drag's label among {}", g.frames.len()));
        let scale = g.width as f64 / vw;
        let mid = (((sx + ex) / 2.0 * scale) as u32, (sy * scale) as u32);
        assert!(
            near(g.rgb(last, mid.0, mid.1), colors::ACCENT, 8),
            "the drag path passes through the middle: {:?}",
            g.rgb(last, mid.0, mid.1)
        );
        assert!(
            !near(g.rgb(0, mid.0, mid.1), colors::ACCENT, 60),
            "no path before the drag"
        );
        assert!(
            !near(g.rgb(last, g.width - 1, g.height - 1), colors::PROGRESS, 8),
            "no progress bar"
        );

        // The same frames without any overlay: the path is gone.
        c.ok("gif_creator", json!({"action": "stop_recording"}))
            .await;
        c.ok("gif_creator", json!({"action": "export", "filename": "plain", "options": {"show_drag_paths": false, "show_click_indicators": false, "show_action_labels": false, "show_progress_bar": false}})).await;
        let plain = decode(&c.workspace.join("recordings/plain.gif"));
        assert!(
            (0..plain.frames.len()).all(|k| !near(plain.rgb(k, mid.0, mid.1), colors::ACCENT, 60)),
            "overlays off"
        );

        // clear drops the frames: nothing left to export.
        let cleared = c.ok("gif_creator", json!({"action": "clear"})).await;
        assert!(cleared.contains("Dropped"), "{cleared}");
        let e = c.err("gif_creator", json!({"action": "export"})).await;
        assert!(e.contains("start_recording"), "{e}");
    });
}

#[test]
fn export_writes_under_recordings_by_default() {
    let _one = serial();
    run(|c| async move {
        c.open("forms.html").await;
        c.ok("gif_creator", json!({"action": "start_recording"}))
            .await;
        c.ok(
            "computer",
            json!({"action": "scroll", "scroll_direction": "down"}),
        )
        .await;
        let out = c.ok("gif_creator", json!({"action": "export"})).await;
        let ws = c.workspace.canonicalize().expect("workspace");
        let path = out
            .split("Saved the GIF to ")
            .nth(1)
            .and_then(|s| s.split(" (").next())
            .expect("a path in the report");
        let p = Path::new(path);
        assert!(p.starts_with(ws.join("recordings")), "{out}");
        assert!(p.extension().is_some_and(|e| e == "gif"), "{out}");
        assert!(!decode(p).frames.is_empty());
        c.ok("gif_creator", json!({"action": "stop_recording"}))
            .await;
    });
}

#[test]
fn errors_say_what_to_do() {
    let _one = serial();
    run(|c| async move {
        let e = c.err("gif_creator", json!({"action": "export"})).await;
        assert!(
            e.contains("nothing to export") && e.contains("start_recording"),
            "{e}"
        );
        for q in [0, 31] {
            let e = c
                .err(
                    "gif_creator",
                    json!({"action": "start_recording", "options": {"quality": q}}),
                )
                .await;
            assert!(
                e.contains("`options.quality`") && e.contains("between 1 and 30"),
                "{e}"
            );
        }
        let e = c
            .err(
                "gif_creator",
                json!({"action": "export", "options": {"qualty": 3}}),
            )
            .await;
        assert!(e.contains("qualty"), "{e}");
        let e = c.err("gif_creator", json!({"action": "rewind"})).await;
        assert!(
            e.contains("start_recording, stop_recording, export, clear"),
            "{e}"
        );
        let e = c
            .err(
                "gif_creator",
                json!({"action": "start_recording", "tab_id": 999}),
            )
            .await;
        assert!(e.contains("tab 999 is not open"), "{e}");

        c.open("buttons.html").await;
        c.ok("gif_creator", json!({"action": "start_recording"}))
            .await;
        for bad in ["/etc/tabwright.gif", "../outside.gif", "a/../../b.gif"] {
            let e = c
                .err("gif_creator", json!({"action": "export", "filename": bad}))
                .await;
            assert!(
                e.contains("outside the workspace") || e.contains("`..`"),
                "{bad}: {e}"
            );
        }
        assert!(!Path::new("/etc/tabwright.gif").exists());
        c.ok("gif_creator", json!({"action": "stop_recording"}))
            .await;
    });
}

#[test]
fn a_tab_behind_another_is_brought_to_the_front_and_recorded() {
    let _one = serial();
    run(|c| async move {
        c.open("buttons.html").await;
        let save = c.ref_of("button", "Save").await;
        // Another client opens a tab later: it is now the window's front tab.
        let other = c.second();
        other
            .call("navigate", json!({"url": tabwright_e2e::url("forms.html")}))
            .await
            .expect("the other session's tab");
        let started = c
            .ok("gif_creator", json!({"action": "start_recording"}))
            .await;
        assert!(started.contains("A first frame was captured"), "{started}");
        let r = c
            .ok("computer", json!({"action": "left_click", "ref": save}))
            .await;
        let stopped = c
            .ok("gif_creator", json!({"action": "stop_recording"}))
            .await;
        // The first frame, the moment of the click (the press on it), after it.
        assert!(
            stopped.contains("3 frame(s)") && !stopped.contains("failed"),
            "{stopped}"
        );
        c.ok(
            "gif_creator",
            json!({"action": "export", "filename": "behind"}),
        )
        .await;
        let g = decode(&c.workspace.join("recordings/behind.gif"));
        assert_eq!(g.frames.len(), 3);
        let (vw, _) = viewport(&c).await;
        let scale = g.width as f64 / vw;
        let (x, y) = point_of(&r);
        assert!(near(
            g.rgb(1, (x * scale) as u32, (y * scale) as u32),
            colors::ACCENT,
            8
        ));
        if let Ok(tab) = other.session.tab(None).await {
            let _ = tab
                .cdp()
                .run(
                    None,
                    "Target.closeTarget",
                    json!({"targetId": tab.target_id}),
                )
                .await;
        }
    });
}

#[test]
fn a_page_changed_between_calls_gets_a_before_frame_with_the_press() {
    let _one = serial();
    run(|c| async move {
        c.open("buttons.html").await;
        let save = c.ref_of("button", "Save").await;
        c.ok(
            "gif_creator",
            json!({"action": "start_recording", "options": {"show_progress_bar": false}}),
        )
        .await;
        // The page changes on its own (not through a tool): the next action's "before" frame
        // differs from the last frame, so it is kept, marked with where the click will land.
        let tab = c.session.tab(None).await.expect("tab");
        let _: serde_json::Value = tab
            .call(
                "Runtime.evaluate",
                json!({"expression": "document.querySelector('#status').textContent = 'changed outside'"}),
            )
            .await
            .expect("evaluate");
        let r = c
            .ok("computer", json!({"action": "left_click", "ref": save}))
            .await;
        c.ok("gif_creator", json!({"action": "stop_recording"}))
            .await;
        c.ok(
            "gif_creator",
            json!({"action": "export", "filename": "before"}),
        )
        .await;
        let g = decode(&c.workspace.join("recordings/before.gif"));
        assert_eq!(g.frames.len(), 3, "start, before the click, after it");
        let (vw, _) = viewport(&c).await;
        let scale = g.width as f64 / vw;
        let (x, y) = point_of(&r);
        let (px, py) = ((x * scale) as u32, (y * scale) as u32);
        let m = Metrics::for_width(g.width);
        let ring_x = (x * scale - m.ring + 1.5) as u32;
        // The press (ring and dot) on the frame of the moment of the click; none after it.
        assert!(near(g.rgb(1, ring_x, py), colors::ACCENT, 8), "ring");
        assert!(near(g.rgb(1, px, py), colors::ACCENT, 8), "dot");
        assert!(
            !near(g.rgb(2, ring_x, py), colors::ACCENT, 60),
            "no ring after"
        );
        assert!(!near(g.rgb(2, px, py), colors::ACCENT, 60), "no dot after");
        assert!(
            !near(g.rgb(0, ring_x, py), colors::ACCENT, 60),
            "nothing at the start"
        );
        // Both marked frames carry the label, so each shows at least 0.5 s.
        let (lx, ly) = label_probe(g.width, g.height);
        assert!(near(g.rgb(1, lx, ly), colors::DARK, 8) && near(g.rgb(2, lx, ly), colors::DARK, 8));
        assert!(g.delays[1] >= 50, "{:?}", g.delays);
    });
}
