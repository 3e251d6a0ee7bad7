//! Workspace tools side by side with their peers: `Grep` (ripgrep's crates behind the tool
//! runtime) vs the `rg` binary over a generated tree, a sandboxed `Bash` `true` vs plain
//! `bash -c true`, and WebFetch's HTML → Markdown step on a large docs page. Prints medians
//! and ratios. Run with `bench/workspace/run.sh`.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use serde_json::json;
use tabwright::runtime::{Runtime, ToolContext};

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

/// A tree of `files` source-like files in nested folders (deterministic words).
fn make_tree(root: &Path, files: usize) {
    if root.join(".done").is_file() {
        return;
    }
    let _ = std::fs::remove_dir_all(root);
    let words = [
        "alpha", "request", "handler", "config", "widget", "render", "buffer", "token", "stream",
        "cursor",
    ];
    let mut seed: u64 = 0x9e3779b97f4a7c15;
    let mut next = || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    for i in 0..files {
        let dir = root.join(format!("d{:02}/e{:02}", i % 50, (i / 50) % 40));
        std::fs::create_dir_all(&dir).expect("mkdir");
        let mut text = String::new();
        for line in 0..40 {
            let w1 = words[(next() % 10) as usize];
            let w2 = words[(next() % 10) as usize];
            text.push_str(&format!(
                "fn {w1}_{line}(x: u32) -> u32 {{ {w2}(x) + {} }}\n",
                next() % 1000
            ));
        }
        if i % 997 == 0 {
            text.push_str("// NEEDLE_MARKER here\n");
        }
        std::fs::write(dir.join(format!("f{i}.rs")), text).expect("write");
    }
    std::fs::write(root.join(".done"), "").expect("done");
}

#[tokio::main(flavor = "multi_thread")]
async fn main() {
    let runs: usize = std::env::var("RUNS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(9);
    let files: usize = std::env::var("FILES")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(100_000);
    let base = PathBuf::from(
        std::env::var("BENCH_DIR").unwrap_or_else(|_| "target/bench-workspace".into()),
    );
    // ONLY=grep,bash,webfetch picks sections (the Landlock run of run.sh wants bash alone).
    let only = std::env::var("ONLY").unwrap_or_default();
    let want = |s: &str| only.is_empty() || only.split(',').any(|o| o == s);
    let tree = base.join(format!("tree-{files}"));
    if want("grep") {
        eprintln!("bench: tree of {files} files in {}", tree.display());
        make_tree(&tree, files);
    }
    let ctx = ToolContext::new(
        Runtime::new(tabwright::tools::workspace(), None),
        tree.clone(),
    );

    // Grep vs rg: the same regex, count mode (every file read, little output).
    let patterns: &[(&str, &str)] = if want("grep") {
        &[
            ("literal", "NEEDLE_MARKER"),
            ("regex", r"handler\(x\) \+ 9\d\d"),
        ]
    } else {
        &[]
    };
    for &(label, pattern) in patterns {
        let (mut ours, mut theirs) = (Vec::new(), Vec::new());
        let mut counts = (String::new(), String::new());
        for i in 0..runs + 1 {
            let t = Instant::now();
            let out = ctx
                .call_tool("Grep", json!({"pattern": pattern, "output_mode": "count"}))
                .await
                .expect("Grep");
            let d1 = t.elapsed();
            let t = Instant::now();
            let rg = Command::new("rg")
                .args(["-c", pattern, "."])
                .current_dir(&tree)
                .output()
                .expect("rg");
            let d2 = t.elapsed();
            if i > 0 {
                ours.push(d1);
                theirs.push(d2);
            }
            counts = (
                out.text.lines().last().unwrap_or("").to_string(),
                String::from_utf8_lossy(&rg.stdout)
                    .lines()
                    .count()
                    .to_string(),
            );
        }
        let (a, b) = (median(ours), median(theirs));
        println!(
            "grep {label:8} Grep {:7.1} ms   rg {:7.1} ms   ratio {:.2}   ({} | rg files {})",
            ms(a),
            ms(b),
            ms(a) / ms(b),
            counts.0,
            counts.1
        );
    }

    // Sandboxed Bash `true` vs plain `bash -c true`.
    if want("bash") {
        bash_true(&base, runs).await;
    }
    if want("webfetch") {
        webfetch(runs);
    }
}

async fn bash_true(base: &std::path::Path, runs: usize) {
    // BASH_WS: run the commands over another folder (a big tree shows the cost of checking
    // the protected names after each command).
    let ws = std::env::var("BASH_WS")
        .map(PathBuf::from)
        .unwrap_or_else(|_| base.join("bash-ws"));
    std::fs::create_dir_all(&ws).expect("ws");
    let bash_ctx = ToolContext::new(
        Runtime::new(tabwright::tools::workspace(), None),
        ws.clone(),
    );
    let (mut ours, mut plain) = (Vec::new(), Vec::new());
    for i in 0..runs * 3 + 1 {
        let t = Instant::now();
        bash_ctx
            .call_tool("Bash", json!({"command": "true"}))
            .await
            .expect("Bash");
        let d1 = t.elapsed();
        let t = Instant::now();
        Command::new("bash")
            .args(["-c", "true"])
            .status()
            .expect("bash");
        let d2 = t.elapsed();
        if i > 0 {
            ours.push(d1);
            plain.push(d2);
        }
    }
    let (a, b) = (median(ours), median(plain));
    let how = tabwright::sandbox::Sandbox::detect()
        .map(|s| s.describe())
        .unwrap_or_else(|e| e.0);
    println!(
        "bash true     sandboxed {:6.1} ms   plain {:6.1} ms   overhead {:6.1} ms   ({how})",
        ms(a),
        ms(b),
        ms(a) - ms(b)
    );
}

/// WebFetch's conversion of a large docs page (after download).
fn webfetch(runs: usize) {
    let page = std::env::var("DOCS_PAGE")
        .unwrap_or_else(|_| "/usr/share/doc/python3.11/html/library/stdtypes.html".into());
    match std::fs::read(&page) {
        Ok(html) => {
            let mut v = Vec::new();
            let mut len = 0;
            for i in 0..runs + 1 {
                let t = Instant::now();
                let (md, _) = tabwright::tools::web::convert(
                    &html,
                    "text/html",
                    "https://docs.python.org/3/library/stdtypes.html",
                )
                .expect("convert");
                if i > 0 {
                    v.push(t.elapsed());
                }
                len = md.len();
            }
            println!(
                "webfetch      {} KB HTML -> {} KB Markdown in {:.1} ms (median)",
                html.len() / 1024,
                len / 1024,
                ms(median(v))
            );
        }
        Err(e) => println!("webfetch      skipped: {page}: {e} (install python3.11-doc)"),
    }
}
