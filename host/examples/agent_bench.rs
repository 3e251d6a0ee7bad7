//! Agent loop benchmark (run by `bench/agent/run.sh`).
//!
//! 1. Loop overhead per step, excluding model and tool time: the real loop, the real Anthropic
//!    client and the real transcript, against the scripted model server on 127.0.0.1: N steps
//!    of a local tool (TodoWrite, no browser), then the form task below with a real Chromium.
//! 2. Tokens sent per step on a multi-step form task (fixtures/forms.html, 12 steps), run twice
//!    on the same browser: as Tabwright sends it, and with a full page outline appended to
//!    every acting tool's result (the Playwright MCP style of a snapshot after each action).
//!    Tokens are estimated as request-body characters / 4 for both, so the ratio is exact in
//!    characters.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use serde_json::{json, Value};
use tabwright::agent::config::{ModelConfig, ModelSpec};
use tabwright::agent::providers;
use tabwright::agent::runner::{Agent, Limits, Outcome};
use tabwright::agent::transcript::Transcript;
use tabwright::browser::{Backend, Browser, LaunchOptions, Session};
use tabwright::policy::{Effects, Mode, Policy, PolicyConfig};
use tabwright::runtime::{
    ActionClass, Invocation, Registry, Runtime, Tool, ToolContext, ToolError, ToolOutput, ToolSpec,
};
use tabwright::testing::model_server::{ModelServer, Turn};
use tabwright::BoxFuture;

/// A tool that runs the base runtime's tool, then appends the whole page outline when the
/// tool acts on the page (a snapshot after every action).
struct SnapshotAfter {
    spec: ToolSpec,
    base: Arc<Runtime>,
}

struct SnapshotCall {
    name: String,
    acts: bool,
    base: Arc<Runtime>,
    args: Value,
}

impl Tool for SnapshotAfter {
    fn spec(&self) -> &ToolSpec {
        &self.spec
    }
    fn parse(&self, args: Value) -> Result<Box<dyn Invocation>, ToolError> {
        Ok(Box::new(SnapshotCall {
            name: self.spec.name.clone(),
            acts: self.spec.class != ActionClass::Read,
            base: self.base.clone(),
            args,
        }))
    }
}

impl Invocation for SnapshotCall {
    fn effects<'a>(&'a self, _ctx: &'a ToolContext) -> BoxFuture<'a, Effects> {
        Box::pin(async { Effects::default() })
    }
    fn run<'a>(
        self: Box<Self>,
        ctx: &'a ToolContext,
    ) -> BoxFuture<'a, Result<ToolOutput, ToolError>> {
        Box::pin(async move {
            let mut out = self.base.call(ctx, &self.name, self.args).await?;
            if self.acts {
                let snap = self.base.call(ctx, "read_page", json!({})).await?;
                out.text.push_str("\n\n### Page snapshot\n");
                out.text.push_str(&snap.text);
            }
            Ok(out)
        })
    }
}

fn snapshot_registry(base: Registry) -> Registry {
    let base_rt = Runtime::new(base.clone(), None);
    let mut r = Registry::new();
    for spec in base.specs() {
        r.add(Arc::new(SnapshotAfter {
            spec,
            base: base_rt.clone(),
        }));
    }
    r
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

fn stats(mut v: Vec<f64>) -> (f64, f64, f64) {
    v.sort_by(|a, b| a.total_cmp(b));
    if v.is_empty() {
        return (0.0, 0.0, 0.0);
    }
    let med = v[v.len() / 2];
    let p95 = v[((v.len() as f64 * 0.95) as usize).min(v.len() - 1)];
    (med, p95, v[v.len() - 1])
}

struct Run {
    outcome: Outcome,
    overhead: Vec<f64>,
    request_chars: Vec<usize>,
}

async fn run_agent(
    server: &ModelServer,
    registry: Registry,
    browser: Arc<Browser>,
    task: &str,
    dir: &std::path::Path,
) -> Run {
    let mut cfg = ModelConfig::new(ModelSpec::parse("anthropic:bench-model").expect("model spec"));
    cfg.base_url = server.anthropic_url();
    cfg.api_key = Some("bench".into());
    let client = providers::connect(&cfg).expect("client");
    let config = PolicyConfig {
        mode: Mode::Auto,
        allowed_domains: vec!["127.0.0.1".into()],
        ..PolicyConfig::default()
    };
    let runtime = Runtime::new(registry, Some(Arc::new(Policy::new(config, None))));
    let session = Arc::new(Session::new(browser, std::env::temp_dir()));
    let ctx = ToolContext::new(runtime, std::env::temp_dir()).with_session(session);
    let transcript = Arc::new(Transcript::open(dir).expect("transcript"));
    let (_tx, rx) = tokio::sync::watch::channel(false);
    let before = server.requests().len();
    let mut agent = Agent::new(
        client,
        ctx,
        Some(transcript),
        "You are a benchmark.".into(),
        Limits {
            max_turns: 1000,
            ..Limits::default()
        },
        1024,
        rx,
    );
    let outcome = agent.run(task).await;
    let overhead = agent.timings().iter().map(|t| ms(t.overhead)).collect();
    let request_chars = server.requests()[before..]
        .iter()
        .map(|r| r.body.to_string().len())
        .collect();
    Run {
        outcome,
        overhead,
        request_chars,
    }
}

/// Refs of the form's controls as a fresh read with filter=interactive numbers them.
async fn form_refs(browser: Arc<Browser>, page: &str) -> Vec<(String, String)> {
    let s = Arc::new(Session::new(browser, std::env::temp_dir()));
    let ctx = ToolContext::new(
        Runtime::new(tabwright::tools::browser(), None),
        std::env::temp_dir(),
    )
    .with_session(s);
    ctx.call_tool("navigate", json!({"url": page}))
        .await
        .expect("navigate");
    let o = ctx
        .call_tool("read_page", json!({"filter": "interactive"}))
        .await
        .expect("read")
        .text;
    let want = [
        ("textbox", "Full name"),
        ("textbox", "Email"),
        ("textbox", "Bio"),
        ("combobox", "Country"),
        ("checkbox", "Subscribe"),
        ("textbox", "Notes"),
    ];
    let mut out = Vec::new();
    for (role, name) in want {
        let prefix = format!("- {role} \"{name}\" [");
        let r = o
            .lines()
            .find_map(|l| {
                let l = l.trim_start();
                l.strip_prefix(&prefix)
                    .and_then(|rest| rest.split(']').next())
                    .map(str::to_string)
            })
            .unwrap_or_else(|| panic!("no {role} \"{name}\" in:\n{o}"));
        out.push((name.to_string(), r));
    }
    out
}

fn form_script(server: &ModelServer, page: &str, refs: &[(String, String)]) {
    server.push(Turn::tool_use("f0", "navigate", json!({"url": page})));
    server.push(Turn::tool_use(
        "f1",
        "read_page",
        json!({"filter": "interactive"}),
    ));
    let values = [
        json!("Ada Lovelace"),
        json!("ada@example.com"),
        json!("Mathematician."),
        json!("Norway"),
        json!(true),
        json!("Call after 5pm"),
    ];
    for (i, ((_, r), v)) in refs.iter().zip(values.iter()).enumerate() {
        server.push(Turn::tool_use(
            format!("f{}", i + 2),
            "form_input",
            json!({"ref": r, "value": v}),
        ));
    }
    server.push(Turn::tool_use(
        "f8",
        "computer",
        json!({"action": "scroll", "scroll_direction": "down"}),
    ));
    server.push(Turn::tool_use(
        "f9",
        "find",
        json!({"query": "the newsletter checkbox"}),
    ));
    server.push(Turn::tool_use(
        "f10",
        "computer",
        json!({"action": "scroll", "scroll_direction": "up"}),
    ));
    server.push(Turn::tool_use(
        "f11",
        "read_page",
        json!({"filter": "interactive"}),
    ));
    server.push(Turn::text("The form is filled in."));
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let steps: usize = std::env::var("STEPS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(300);
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..");
    let fixtures = tabwright::fixture_server::start(root.join("fixtures"), 0)
        .await
        .expect("fixture server");
    let browser = Browser::new(Backend::Launch(LaunchOptions {
        window: (1280, 800),
        ..Default::default()
    }));
    let base = tabwright::agent::tools();
    let work = std::env::temp_dir().join(format!("tw-agent-bench-{}", std::process::id()));

    // 1a. Overhead with a local tool only.
    let server = ModelServer::start().await;
    for i in 0..steps {
        server.push(Turn::tool_use(
            format!("t{i}"),
            "TodoWrite",
            json!({"todos": [{"content": format!("step {i}"), "status": "in_progress"}]}),
        ));
    }
    server.push(Turn::text("done"));
    let r = run_agent(
        &server,
        base.clone(),
        browser.clone(),
        "Count.",
        &work.join("a"),
    )
    .await;
    assert_eq!(
        r.outcome,
        Outcome::Done("done".into()),
        "the scripted run finished"
    );
    let (med, p95, max) = stats(r.overhead.clone());
    println!(
        "Agent loop benchmark — tabwright {}",
        env!("CARGO_PKG_VERSION")
    );
    println!();
    println!("1. Loop overhead per step (model and tool time excluded; target median ≤ 2 ms)");
    println!(
        "   {:<44} {:>6} {:>8} {:>8} {:>8}",
        "run", "steps", "median", "p95", "max"
    );
    println!(
        "   {:<44} {:>6} {:>8.3} {:>8.3} {:>8.3}",
        "TodoWrite only (history grows to the end)",
        r.overhead.len(),
        med,
        p95,
        max
    );

    // 1b and 2. The form task, as Tabwright sends it.
    let page = fixtures.url("forms.html");
    let refs = form_refs(browser.clone(), &page).await;
    let server = ModelServer::start().await;
    form_script(&server, &page, &refs);
    let lean = run_agent(
        &server,
        base.clone(),
        browser.clone(),
        "Fill in the sign-up form.",
        &work.join("b"),
    )
    .await;
    assert_eq!(lean.outcome, Outcome::Done("The form is filled in.".into()));
    let (med, p95, max) = stats(lean.overhead.clone());
    println!(
        "   {:<44} {:>6} {:>8.3} {:>8.3} {:>8.3}",
        "form task on forms.html (real Chromium)",
        lean.overhead.len(),
        med,
        p95,
        max
    );

    // 2. The same task with a snapshot after every action.
    let server = ModelServer::start().await;
    form_script(&server, &page, &refs);
    let snap = run_agent(
        &server,
        snapshot_registry(base.clone()),
        browser.clone(),
        "Fill in the sign-up form.",
        &work.join("c"),
    )
    .await;
    assert_eq!(snap.outcome, Outcome::Done("The form is filled in.".into()));
    let tok = |c: &[usize]| c.iter().sum::<usize>() as f64 / 4.0;
    let n = lean.request_chars.len() as f64;
    let lean_t = tok(&lean.request_chars);
    let snap_t = tok(&snap.request_chars);
    println!();
    println!(
        "2. Tokens sent per step, form task ({} requests; tokens ≈ request characters / 4)",
        lean.request_chars.len()
    );
    println!(
        "   {:<44} {:>12} {:>12} {:>12}",
        "style", "total", "per step", "last request"
    );
    println!(
        "   {:<44} {:>12.0} {:>12.0} {:>12.0}",
        "tabwright (read when needed)",
        lean_t,
        lean_t / n,
        *lean.request_chars.last().unwrap_or(&0) as f64 / 4.0
    );
    println!(
        "   {:<44} {:>12.0} {:>12.0} {:>12.0}",
        "full snapshot after every action",
        snap_t,
        snap_t / n,
        *snap.request_chars.last().unwrap_or(&0) as f64 / 4.0
    );
    println!(
        "   ratio tabwright / snapshot-after-every-action: {:.3}",
        lean_t / snap_t
    );
    browser.shutdown().await;
    let _ = std::fs::remove_dir_all(&work);
}
