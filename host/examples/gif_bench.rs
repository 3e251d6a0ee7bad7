//! The GIF encoder benchmark's helper (see `bench/gif/run.sh`).
//!
//!     gif_bench capture DIR [FRAMES]       # real screenshots of fixture pages in Chromium
//!     gif_bench encode DIR OUT.gif [WIDTH] [QUALITY]   # Tabwright's encoder, no overlays
//!     gif_bench compare OUT.gif DIR        # mean PSNR of a GIF's frames against the PNGs
//!     gif_bench dump OUT.gif DIR           # the GIF's frames as PNGs, to look at
//!
//! `capture` writes `frame-NNN.png` and `times.txt` (milliseconds since the first frame, one
//! line per frame): a 1280×800 viewport scrolling through `fixtures/large.html`, filling in
//! `forms.html` and clicking around `buttons.html`, each frame a real screenshot taken after
//! the action settled, as the recorder takes them.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use base64::Engine;
use serde_json::{json, Value};
use tabwright::browser::{Backend, Browser, LaunchOptions, Session};
use tabwright::recording::{encode, ClipFrame, EncodeOptions, Overlays, Shot};
use tabwright::runtime::{Runtime, ToolContext, ToolError, ToolOutput};

/// The browser tools with no policy, called on a session given per call.
struct Registry(std::sync::Arc<Runtime>);

impl Registry {
    fn browser() -> Registry {
        Registry(Runtime::new(tabwright::tools::browser(), None))
    }

    async fn call(
        &self,
        s: &std::sync::Arc<Session>,
        tool: &str,
        args: serde_json::Value,
    ) -> Result<ToolOutput, ToolError> {
        ToolContext::new(self.0.clone(), s.workspace.clone())
            .with_session(s.clone())
            .call_tool(tool, args)
            .await
    }
}

type Res<T> = Result<T, String>;

fn main() -> std::process::ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let r = match args.first().map(String::as_str) {
        Some("capture") if args.len() >= 2 => {
            let n = args.get(2).and_then(|v| v.parse().ok()).unwrap_or(60);
            capture(Path::new(&args[1]), n)
        }
        Some("encode") if args.len() >= 3 => {
            let width = args.get(3).and_then(|v| v.parse().ok()).unwrap_or(1280);
            let quality = args.get(4).and_then(|v| v.parse().ok()).unwrap_or(10);
            encode_dir(Path::new(&args[1]), Path::new(&args[2]), width, quality)
        }
        Some("compare") if args.len() >= 3 => compare(Path::new(&args[1]), Path::new(&args[2])),
        Some("dump") if args.len() >= 3 => dump(Path::new(&args[1]), Path::new(&args[2])),
        _ => Err("usage: gif_bench capture DIR [FRAMES] | encode DIR OUT.gif [WIDTH] [QUALITY] | compare OUT.gif DIR | dump OUT.gif DIR".into()),
    };
    match r {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("gif_bench: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}

fn frames_in(dir: &Path) -> Res<Vec<PathBuf>> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(dir)
        .map_err(|e| format!("{}: {e}", dir.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "png"))
        .collect();
    v.sort();
    if v.is_empty() {
        return Err(format!("no PNG frames in {}", dir.display()));
    }
    Ok(v)
}

fn encode_dir(dir: &Path, out: &Path, width: u32, quality: u32) -> Res<()> {
    let t0 = Instant::now();
    let files = frames_in(dir)?;
    let times: Vec<u64> = std::fs::read_to_string(dir.join("times.txt"))
        .map_err(|e| format!("times.txt: {e}"))?
        .lines()
        .filter_map(|l| l.trim().parse().ok())
        .collect();
    if times.len() != files.len() {
        return Err(format!("{} frames but {} times", files.len(), times.len()));
    }
    let mut frames = Vec::with_capacity(files.len());
    for (f, t) in files.iter().zip(&times) {
        let bytes = std::fs::read(f).map_err(|e| format!("{}: {e}", f.display()))?;
        let shot = Shot::from_png(bytes).ok_or(format!("{} is not a PNG", f.display()))?;
        frames.push(ClipFrame {
            shot: Arc::new(shot),
            at: Duration::from_millis(*t),
            mark: None,
        });
    }
    let read = t0.elapsed();
    let opts = EncodeOptions {
        overlays: Overlays::none(),
        max_width: width,
        quality,
        ..EncodeOptions::default()
    };
    let e = encode(&frames, &opts).map_err(|e| e.to_string())?;
    let encoded = t0.elapsed() - read;
    std::fs::write(out, &e.gif).map_err(|er| format!("{}: {er}", out.display()))?;
    println!(
        "{}",
        json!({
            "frames_in": frames.len(), "frames_out": e.frames, "width": e.width, "height": e.height,
            "bytes": e.gif.len(), "palette": e.palette_colors, "duration_ms": e.duration.as_millis() as u64,
            "read_ms": read.as_millis() as u64, "encode_ms": encoded.as_millis() as u64,
            "total_ms": t0.elapsed().as_millis() as u64,
        })
    );
    Ok(())
}

/// Every frame of a GIF composited onto its canvas, as RGB.
fn gif_frames(path: &Path) -> Res<(u32, u32, Vec<Vec<u8>>)> {
    let bytes = std::fs::read(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let mut o = gif::DecodeOptions::new();
    o.set_color_output(gif::ColorOutput::RGBA);
    let mut d = o.read_info(&bytes[..]).map_err(|e| e.to_string())?;
    let (w, h) = (d.width() as u32, d.height() as u32);
    let mut canvas = vec![0u8; (w * h * 4) as usize];
    let mut out = Vec::new();
    while let Some(f) = d.read_next_frame().map_err(|e| e.to_string())? {
        let mut prev = None;
        if f.dispose == gif::DisposalMethod::Previous {
            prev = Some(canvas.clone());
        }
        for y in 0..f.height as u32 {
            for x in 0..f.width as u32 {
                let s = ((y * f.width as u32 + x) * 4) as usize;
                if f.buffer[s + 3] == 0 {
                    continue;
                }
                let (cx, cy) = (x + f.left as u32, y + f.top as u32);
                if cx >= w || cy >= h {
                    continue;
                }
                let t = ((cy * w + cx) * 4) as usize;
                canvas[t..t + 4].copy_from_slice(&f.buffer[s..s + 4]);
            }
        }
        out.push(
            canvas
                .chunks_exact(4)
                .flat_map(|p| [p[0], p[1], p[2]])
                .collect(),
        );
        match f.dispose {
            gif::DisposalMethod::Background => {
                for y in 0..f.height as u32 {
                    for x in 0..f.width as u32 {
                        let (cx, cy) = (x + f.left as u32, y + f.top as u32);
                        if cx < w && cy < h {
                            let t = ((cy * w + cx) * 4) as usize;
                            canvas[t..t + 4].fill(0);
                        }
                    }
                }
            }
            gif::DisposalMethod::Previous => {
                if let Some(p) = prev {
                    canvas = p;
                }
            }
            _ => {}
        }
    }
    Ok((w, h, out))
}

/// Mean PSNR (dB) of the GIF's frames against the source PNGs (scaled to the GIF's size),
/// matched by index when the counts agree, else each source frame against the GIF frame
/// shown at the same position in the sequence.
fn compare(gif_path: &Path, dir: &Path) -> Res<()> {
    let (w, h, frames) = gif_frames(gif_path)?;
    let files = frames_in(dir)?;
    let mut sum = 0.0;
    let mut worst = f64::MAX;
    for (i, f) in files.iter().enumerate() {
        let src = image::open(f).map_err(|e| e.to_string())?.to_rgb8();
        let src = if src.width() != w || src.height() != h {
            tabwright::recording::encode::resize_rgb(src.as_raw(), src.width(), src.height(), w, h)
        } else {
            src.into_raw()
        };
        let k = (i * frames.len()) / files.len();
        let g = &frames[k.min(frames.len() - 1)];
        let mse: f64 = src
            .iter()
            .zip(g.iter())
            .map(|(a, b)| {
                let d = *a as f64 - *b as f64;
                d * d
            })
            .sum::<f64>()
            / src.len() as f64;
        let psnr = if mse == 0.0 {
            99.0
        } else {
            10.0 * (255.0 * 255.0 / mse).log10()
        };
        sum += psnr;
        worst = worst.min(psnr);
    }
    println!(
        "{}",
        json!({"gif_frames": frames.len(), "source_frames": files.len(),
               "mean_psnr_db": (sum / files.len() as f64 * 100.0).round() / 100.0,
               "worst_psnr_db": (worst * 100.0).round() / 100.0})
    );
    Ok(())
}

fn dump(gif_path: &Path, dir: &Path) -> Res<()> {
    let (w, h, frames) = gif_frames(gif_path)?;
    std::fs::create_dir_all(dir).map_err(|e| e.to_string())?;
    for (i, f) in frames.iter().enumerate() {
        let img = image::RgbImage::from_raw(w, h, f.clone()).ok_or("bad frame size")?;
        img.save(dir.join(format!("gif-{i:03}.png")))
            .map_err(|e| e.to_string())?;
    }
    println!("{} frames written to {}", frames.len(), dir.display());
    Ok(())
}

fn capture(dir: &Path, n: usize) -> Res<()> {
    std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|e| e.to_string())?;
    rt.block_on(async {
        let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../fixtures");
        let server = tabwright::fixture_server::start(root, 0)
            .await
            .map_err(|e| e.to_string())?;
        let browser = Browser::new(Backend::Launch(LaunchOptions {
            window: (1280, 800),
            ..Default::default()
        }));
        let session = std::sync::Arc::new(Session::new(browser.clone(), std::env::temp_dir()));
        let reg = Registry::browser();
        let r = script(&reg, &session, &server, dir, n).await;
        browser.shutdown().await;
        r
    })
}

async fn call(
    reg: &Registry,
    s: &std::sync::Arc<Session>,
    tool: &str,
    args: Value,
) -> Res<ToolOutput> {
    reg.call(s, tool, args.clone())
        .await
        .map_err(|e| format!("{tool} {args}: {e}"))
}

async fn center(reg: &Registry, s: &std::sync::Arc<Session>, sel: &str) -> Res<[f64; 2]> {
    let code = format!("(() => {{ const r = document.querySelector({}).getBoundingClientRect(); return [r.x + r.width / 2, r.y + r.height / 2]; }})()", json!(sel));
    let out = call(reg, s, "javascript_tool", json!({"code": code})).await?;
    // The value may be pretty-printed over several lines; notes may follow it.
    let mut acc = String::new();
    let mut v = Value::Null;
    for line in out.text.lines() {
        acc.push_str(line);
        acc.push('\n');
        if let Ok(parsed) = serde_json::from_str::<Value>(&acc) {
            v = parsed;
            break;
        }
    }
    match (v[0].as_f64(), v[1].as_f64()) {
        (Some(x), Some(y)) => Ok([x, y]),
        _ => Err(format!("no point for {sel}: {}", out.text)),
    }
}

async fn script(
    reg: &Registry,
    s: &std::sync::Arc<Session>,
    server: &tabwright::fixture_server::FixtureServer,
    dir: &Path,
    n: usize,
) -> Res<()> {
    call(
        reg,
        s,
        "resize_window",
        json!({"width": 1280, "height": 800}),
    )
    .await?;
    let mut shots = Shots {
        dir: dir.to_path_buf(),
        t0: None,
        times: Vec::new(),
        last: Vec::new(),
    };
    // 1. Scroll through the large page.
    call(reg, s, "navigate", json!({"url": server.url("large.html")})).await?;
    shots.take(reg, s).await?;
    for _ in 0..24 {
        call(
            reg,
            s,
            "computer",
            json!({"action": "scroll", "scroll_direction": "down", "scroll_amount": 3}),
        )
        .await?;
        shots.take(reg, s).await?;
    }
    // 2. Fill in a form.
    call(reg, s, "navigate", json!({"url": server.url("forms.html")})).await?;
    shots.take(reg, s).await?;
    for (sel, parts) in [
        ("#fullname", &["Ada", " Love", "lace"][..]),
        ("#email", &["ada@", "example", ".com"][..]),
        ("#password", &["correct", "horse"][..]),
        (
            "#bio",
            &["Mathematician; ", "wrote the first ", "program."][..],
        ),
    ] {
        let p = center(reg, s, sel).await?;
        call(
            reg,
            s,
            "computer",
            json!({"action": "left_click", "coordinate": p}),
        )
        .await?;
        shots.take(reg, s).await?;
        for t in parts {
            call(reg, s, "computer", json!({"action": "type", "text": t})).await?;
            shots.take(reg, s).await?;
        }
    }
    // 3. Click around the buttons page, then scroll the large page back up until n frames.
    call(
        reg,
        s,
        "navigate",
        json!({"url": server.url("buttons.html")}),
    )
    .await?;
    shots.take(reg, s).await?;
    for sel in ["#save", "#dbl", "#later", "#save", "#mods"] {
        let p = center(reg, s, sel).await?;
        call(
            reg,
            s,
            "computer",
            json!({"action": "left_click", "coordinate": p}),
        )
        .await?;
        shots.take(reg, s).await?;
    }
    call(reg, s, "navigate", json!({"url": server.url("large.html")})).await?;
    call(
        reg,
        s,
        "computer",
        json!({"action": "scroll", "scroll_direction": "down", "scroll_amount": 10}),
    )
    .await?;
    while shots.times.len() < n {
        call(
            reg,
            s,
            "computer",
            json!({"action": "scroll", "scroll_direction": "down", "scroll_amount": 2}),
        )
        .await?;
        shots.take(reg, s).await?;
    }
    let times: String = shots
        .times
        .iter()
        .take(n)
        .map(|t| format!("{t}\n"))
        .collect();
    std::fs::write(dir.join("times.txt"), times).map_err(|e| e.to_string())?;
    println!("{} frames in {}", n.min(shots.times.len()), dir.display());
    Ok(())
}

struct Shots {
    dir: PathBuf,
    t0: Option<Instant>,
    times: Vec<u64>,
    last: Vec<u8>,
}

impl Shots {
    /// A screenshot as the next frame (skipped when identical to the last one, as the
    /// recorder would).
    async fn take(&mut self, reg: &Registry, s: &std::sync::Arc<Session>) -> Res<()> {
        let at = Instant::now();
        let out = call(reg, s, "computer", json!({"action": "screenshot"})).await?;
        let data = out.images.first().ok_or("no image")?.data.clone();
        let png = base64::engine::general_purpose::STANDARD
            .decode(data)
            .map_err(|e| e.to_string())?;
        if png == self.last {
            return Ok(());
        }
        let t0 = *self.t0.get_or_insert(at);
        let i = self.times.len();
        std::fs::write(self.dir.join(format!("frame-{i:03}.png")), &png)
            .map_err(|e| e.to_string())?;
        self.times.push(at.duration_since(t0).as_millis() as u64);
        self.last = png;
        Ok(())
    }
}
