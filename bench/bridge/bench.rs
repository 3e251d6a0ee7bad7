//! Latency per tool call through the extension bridge vs the launch backend, on the same pages
//! in one run. Run: `cargo run --release -p tabwright-e2e --example bridge_bench [-- ROUNDS]`
//! (build the workspace first: the extension's native host is the built `tabwright`).
//!
//! Each backend gets its own headless Chromium; the extension one has `extension/` loaded and
//! is driven through the relay. Prints the median per tool and overall, and the difference.

use std::time::{Duration, Instant};

use serde_json::{json, Value};
use tabwright::browser::{Backend, Browser, LaunchOptions, Session};
use tabwright_e2e::Tools;
use tabwright_e2e::{start_extension_browser, url};

const CALLS: &[(&str, &str)] = &[
    ("read_page", r#"{}"#),
    ("find", r#"{"query": "email field"}"#),
    ("javascript_tool", r#"{"code": "document.title"}"#),
    ("get_page_text", r#"{}"#),
    (
        "computer",
        r#"{"action": "scroll", "scroll_direction": "down", "scroll_amount": 1}"#,
    ),
    (
        "form_input",
        r#"{"ref": "REF", "value": "bench@example.com"}"#,
    ),
    ("computer", r#"{"action": "screenshot"}"#),
    ("tabs_context", r#"{}"#),
];

/// The same reads on `large.html` (10k+ elements): large results through the bridge.
const LARGE_CALLS: &[(&str, &str)] = &[
    ("read_page", r#"{"max_chars": 5000000}"#),
    ("find", r#"{"query": "search box"}"#),
    ("get_page_text", r#"{}"#),
];

fn median(v: &mut [f64]) -> f64 {
    v.sort_by(|a, b| a.total_cmp(b));
    if v.is_empty() {
        0.0
    } else {
        v[v.len() / 2]
    }
}

/// The median proper: the mean of the two middle values for an even count.
fn true_median(v: &mut [f64]) -> f64 {
    v.sort_by(|a, b| a.total_cmp(b));
    match v.len() {
        0 => 0.0,
        n if n % 2 == 1 => v[n / 2],
        n => (v[n / 2 - 1] + v[n / 2]) / 2.0,
    }
}

async fn measure(name: &str, backend: Backend, rounds: usize) -> Vec<(String, Vec<f64>)> {
    let browser = Browser::new(backend);
    let s = std::sync::Arc::new(Session::new(browser.clone(), std::env::temp_dir()));
    let reg = Tools::browser();
    reg.call(&s, "navigate", json!({"url": url("forms.html")}))
        .await
        .unwrap_or_else(|e| panic!("{name}: navigate: {e}"));
    let outline = reg
        .call(&s, "read_page", json!({}))
        .await
        .expect("read")
        .text;
    let email_ref = outline
        .lines()
        .find(|l| l.contains("textbox \"Email\""))
        .and_then(|l| l.split("\"Email\" [").nth(1))
        .and_then(|r| r.split(']').next())
        .unwrap_or("e6")
        .to_string();
    let mut out: Vec<(String, Vec<f64>)> = CALLS
        .iter()
        .map(|(t, a)| (format!("{t} {a}"), Vec::new()))
        .collect();
    for round in 0..rounds + 2 {
        for (i, (tool, args)) in CALLS.iter().enumerate() {
            let args: Value = serde_json::from_str(&args.replace("REF", &email_ref)).expect("args");
            let t = Instant::now();
            let calls_before = tabwright::browser::cdp::calls_made();
            reg.call(&s, tool, args)
                .await
                .unwrap_or_else(|e| panic!("{name}: {tool}: {e}"));
            if round == rounds + 1 {
                eprintln!(
                    "{name}: {tool} made {} CDP calls",
                    tabwright::browser::cdp::calls_made() - calls_before
                );
            }
            // The first two rounds warm up.
            if round >= 2 {
                out[i].1.push(t.elapsed().as_secs_f64() * 1000.0);
            }
        }
    }
    // Large results: the reads on large.html.
    reg.call(&s, "navigate", json!({"url": url("large.html")}))
        .await
        .unwrap_or_else(|e| panic!("{name}: navigate: {e}"));
    let ready = json!({"code": "await new Promise(r => { const t = () => document.body.dataset.ready === 'true' ? r(1) : setTimeout(t, 20); t(); })"});
    reg.call(&s, "javascript_tool", ready)
        .await
        .unwrap_or_else(|e| panic!("{name}: large.html ready: {e}"));
    for (tool, args) in LARGE_CALLS {
        let args: Value = serde_json::from_str(args).expect("args");
        let mut times = Vec::new();
        for round in 0..rounds.min(15) + 2 {
            let t = Instant::now();
            let r = reg
                .call(&s, tool, args.clone())
                .await
                .unwrap_or_else(|e| panic!("{name}: {tool} on large.html: {e}"));
            if round == 0 {
                eprintln!(
                    "{name}: {tool} on large.html returned {} chars",
                    r.text.len()
                );
            }
            if round >= 2 {
                times.push(t.elapsed().as_secs_f64() * 1000.0);
            }
        }
        out.push((format!("large.html: {tool} {args}"), times));
    }
    // Raw CDP round trips: what one call costs on its own, small and large results.
    let tab = s.tab(None).await.expect("tab");
    for (label, expr) in [
        ("raw Runtime.evaluate 1", "1"),
        ("raw Runtime.evaluate 1 after 5 ms idle", "1"),
        ("raw Runtime.evaluate 100 KB", "'x'.repeat(100000)"),
        ("raw Runtime.evaluate 1 MB", "'x'.repeat(1000000)"),
        (
            "raw Runtime.evaluate 40 ms timer",
            "new Promise(r => setTimeout(() => r(1), 40))",
        ),
    ] {
        let mut times = Vec::new();
        for round in 0..rounds + 2 {
            if label.contains("idle") {
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
            let t = Instant::now();
            let _: Value = tab
                .call(
                    "Runtime.evaluate",
                    json!({"expression": expr, "returnByValue": true, "awaitPromise": true}),
                )
                .await
                .unwrap_or_else(|e| panic!("{name}: {label}: {e}"));
            if round >= 2 {
                times.push(t.elapsed().as_secs_f64() * 1000.0);
            }
        }
        out.push((label.to_string(), times));
    }
    browser.shutdown().await;
    out
}

fn main() {
    let rounds: usize = std::env::args()
        .nth(1)
        .and_then(|r| r.parse().ok())
        .unwrap_or(30);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    let _ = url("forms.html");
    let (launch, ext) = rt.block_on(async {
        let launch = measure(
            "launch",
            Backend::Launch(LaunchOptions {
                window: (1280, 800),
                ..Default::default()
            }),
            rounds,
        )
        .await;
        let (backend, _browser) = start_extension_browser().await;
        let ext = measure("extension", backend, rounds).await;
        tokio::time::sleep(Duration::from_millis(10)).await;
        (launch, ext)
    });
    println!("{rounds} rounds per tool; median ms per call (launch | extension | difference)");
    let mut all_l = Vec::new();
    let mut all_e = Vec::new();
    let mut diffs = Vec::new();
    let mut raw = Vec::new();
    for ((name, mut l), (_, mut e)) in launch.into_iter().zip(ext) {
        let (ml, me) = (median(&mut l), median(&mut e));
        let row = format!("{name:<75} {ml:>8.2} | {me:>8.2} | {:>+7.2}", me - ml);
        // Raw CDP round trips are shown apart: they are not tool calls.
        if name.starts_with("raw ") {
            raw.push(row);
            continue;
        }
        all_l.extend(l.iter().copied());
        all_e.extend(e.iter().copied());
        diffs.push(me - ml);
        println!("{row}");
    }
    let (ml, me) = (median(&mut all_l), median(&mut all_e));
    println!(
        "{:<75} {ml:>8.2} | {me:>8.2} | {:>+7.2}  (bimodal: reads ~3 ms, actions ~45 ms)",
        "all calls",
        me - ml
    );
    println!(
        "mean of the per-tool differences: {:+.2} ms",
        diffs.iter().sum::<f64>() / diffs.len().max(1) as f64
    );
    println!(
        "median of the per-tool differences: {:+.2} ms",
        true_median(&mut diffs)
    );
    println!("\nsingle CDP round trips (not tool calls):");
    for row in raw {
        println!("{row}");
    }
}
