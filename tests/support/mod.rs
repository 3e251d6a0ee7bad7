//! Test support for the end-to-end suites: one real Chromium and one fixture server per test
//! binary, a fresh browser session per test, and bounded polling helpers.
//!
//! The backend comes from `TABWRIGHT_TEST_BROWSER` (`launch`, the default, `connect=URL`, or
//! `extension`: headless Chromium with the repository's extension loaded and a profile prepared
//! by `tabwright install --user-data-dir`, driven through the extension's relay), so the same
//! suite runs against every backend.

use std::future::Future;
use std::path::PathBuf;
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use serde_json::{json, Value};
use tabwright::browser::{Backend, Browser, LaunchOptions, Session};
use tabwright::fixture_server::FixtureServer;
use tabwright::runtime::{Registry, Runtime, ToolContext, ToolError, ToolOutput};

/// The repository root.
pub fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map(PathBuf::from)
        .unwrap_or_default()
}

/// The built `tabwright` binary (built by cargo for this test run).
pub fn binary() -> PathBuf {
    let target = std::env::var("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|_| repo_root().join("target"));
    let profile = if cfg!(debug_assertions) {
        "debug"
    } else {
        "release"
    };
    target.join(profile).join("tabwright")
}

struct Shared {
    browser: Arc<Browser>,
    /// The extension backend's browser process (kept alive for the whole test binary).
    _extension_browser: Option<tabwright::browser::launch::Launched>,
    server: FixtureServer,
    registry: Registry,
}

fn runtime() -> &'static tokio::runtime::Runtime {
    static RT: OnceLock<tokio::runtime::Runtime> = OnceLock::new();
    RT.get_or_init(|| {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .expect("tokio runtime")
    })
}

fn shared() -> &'static Shared {
    static SHARED: OnceLock<Shared> = OnceLock::new();
    SHARED.get_or_init(|| {
        runtime().block_on(async {
            let server = tabwright::fixture_server::start(repo_root().join("fixtures"), 0)
                .await
                .expect("fixture server");
            let mut extension_browser = None;
            let backend = match std::env::var("TABWRIGHT_TEST_BROWSER").ok().as_deref() {
                None | Some("") | Some("launch") => Backend::Launch(LaunchOptions {
                    window: (1280, 800),
                    ..Default::default()
                }),
                Some("extension") => {
                    let (backend, launched) = start_extension_browser().await;
                    extension_browser = Some(launched);
                    backend
                }
                Some(other) => match other.strip_prefix("connect=") {
                    Some(url) => Backend::Connect(url.to_string()),
                    None => panic!(
                        "TABWRIGHT_TEST_BROWSER={other}: use launch, extension or connect=URL"
                    ),
                },
            };
            Shared {
                browser: Browser::new(backend),
                _extension_browser: extension_browser,
                server,
                registry: tabwright::tools::browser(),
            }
        })
    })
}

/// True when the suite runs through the extension backend.
pub fn via_extension() -> bool {
    std::env::var("TABWRIGHT_TEST_BROWSER").as_deref() == Ok("extension")
}

/// Starts headless Chromium with `extension/` loaded and a fresh profile registered by
/// `tabwright install --user-data-dir`; returns the extension backend that picks exactly this
/// browser (by its profile path) and the browser process.
pub async fn start_extension_browser() -> (Backend, tabwright::browser::launch::Launched) {
    start_extension_browser_with(&[]).await
}

/// [`start_extension_browser`] with more unpacked extensions loaded beside Tabwright's (test
/// fixtures under `fixtures/extensions/`).
pub async fn start_extension_browser_with(
    others: &[PathBuf],
) -> (Backend, tabwright::browser::launch::Launched) {
    start_extension_browser_env(others, Vec::new()).await
}

/// [`start_extension_browser_with`], with extra environment variables for the browser (and so
/// for the native host it starts).
pub async fn start_extension_browser_env(
    others: &[PathBuf],
    env: Vec<(String, String)>,
) -> (Backend, tabwright::browser::launch::Launched) {
    let profile = tabwright::browser::launch::fresh_dir("ext-profile").expect("profile dir");
    let out = std::process::Command::new(binary())
        .args(["install", "--user-data-dir"])
        .arg(&profile)
        .output()
        .expect("run tabwright install (build the workspace first)");
    assert!(
        out.status.success(),
        "tabwright install failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let ext = std::iter::once(repo_root().join("extension"))
        .chain(others.iter().cloned())
        .map(|p| p.display().to_string())
        .collect::<Vec<_>>()
        .join(",");
    let launched = tabwright::browser::launch::launch(&LaunchOptions {
        window: (1280, 800),
        extra_args: vec![
            format!("--user-data-dir={}", profile.display()),
            format!("--load-extension={ext}"),
            format!("--disable-extensions-except={ext}"),
        ]
        .into_iter()
        // Debugging aid: the browser's log (extension console included) into a file.
        .chain(
            std::env::var("TABWRIGHT_TEST_CHROME_LOG")
                .ok()
                .into_iter()
                .flat_map(|f| {
                    [
                        "--enable-logging".to_string(),
                        format!("--log-file={f}"),
                        "--v=0".into(),
                    ]
                }),
        )
        .collect(),
        env,
        ..Default::default()
    })
    .await
    .expect("launch Chromium with the extension");
    let backend = Backend::Extension(tabwright::browser::ExtensionOptions {
        select: Some(profile.display().to_string()),
        wait: Duration::from_secs(30),
    });
    (backend, launched)
}

/// One test's view: its own session over the shared browser.
pub struct Ctx {
    /// The session.
    pub session: Arc<Session>,
    /// The browser tools over that session, with no policy (every call allowed).
    pub tools: ToolContext,
    /// The workspace folder of this session.
    pub workspace: PathBuf,
}

/// Runs one test body with a fresh session, bounded to 90 s.
pub fn run<F, Fut>(body: F)
where
    F: FnOnce(Ctx) -> Fut,
    Fut: Future<Output = ()>,
{
    let sh = shared();
    let workspace = std::env::temp_dir().join(format!(
        "tw-ws-{}-{:?}",
        std::process::id(),
        std::thread::current().id()
    ));
    let _ = std::fs::create_dir_all(&workspace);
    let session = Arc::new(Session::new(sh.browser.clone(), workspace.clone()));
    let tools = ToolContext::new(Runtime::new(sh.registry.clone(), None), workspace.clone())
        .with_session(session.clone());
    let ctx = Ctx {
        session,
        tools,
        workspace,
    };
    runtime().block_on(async move {
        tokio::time::timeout(Duration::from_secs(90), body(ctx))
            .await
            .expect("the test took over 90 s");
    });
}

/// URL of a fixture on 127.0.0.1.
pub fn url(path: &str) -> String {
    shared().server.url(path)
}

/// URL of a fixture on the other origin (localhost).
pub fn other_url(path: &str) -> String {
    shared().server.other_origin_url(path)
}

/// The shared browser.
pub fn browser() -> Arc<Browser> {
    shared().browser.clone()
}

impl Ctx {
    /// Calls a tool.
    pub async fn call(&self, tool: &str, args: Value) -> Result<ToolOutput, ToolError> {
        self.tools.call_tool(tool, args).await
    }

    /// A second session over the same browser and workspace, as a second MCP client would
    /// have.
    pub fn second(&self) -> Ctx {
        let session = Arc::new(Session::new(browser(), self.workspace.clone()));
        Ctx {
            tools: self.tools.clone().with_session(session.clone()),
            session,
            workspace: self.workspace.clone(),
        }
    }

    /// A context over the same session and workspace with `runtime`'s tools and policy.
    pub fn with_runtime(&self, runtime: Arc<Runtime>) -> ToolContext {
        ToolContext::new(runtime, self.workspace.clone()).with_session(self.session.clone())
    }

    /// Calls a tool that must succeed; returns its text.
    pub async fn ok(&self, tool: &str, args: Value) -> String {
        match self.call(tool, args.clone()).await {
            Ok(o) => o.text,
            Err(e) => panic!("{tool} {args} failed: {e}"),
        }
    }

    /// Calls a tool that must fail; returns the error text.
    pub async fn err(&self, tool: &str, args: Value) -> String {
        match self.call(tool, args.clone()).await {
            Ok(o) => panic!("{tool} {args} should have failed but returned: {}", o.text),
            Err(e) => e.0,
        }
    }

    /// Navigates to a fixture page.
    pub async fn open(&self, path: &str) -> String {
        self.ok("navigate", json!({"url": url(path)})).await
    }

    /// Evaluates JavaScript in the page and returns the JSON value.
    pub async fn js(&self, code: &str) -> Value {
        let text = self.ok("javascript_tool", json!({"code": code})).await;
        let first = text.lines().next().unwrap_or("");
        let body: String =
            if first.starts_with('"') || first.starts_with('{') || first.starts_with('[') {
                // Pretty-printed JSON may span lines; notes come after a blank-free last line.
                let mut acc = String::new();
                for line in text.lines() {
                    acc.push_str(line);
                    acc.push('\n');
                    if serde_json::from_str::<Value>(&acc).is_ok() {
                        break;
                    }
                }
                acc
            } else {
                first.to_string()
            };
        serde_json::from_str(body.trim()).unwrap_or(Value::String(body.trim().to_string()))
    }

    /// Reads `document.querySelector(sel).textContent` (trimmed), "" when missing.
    pub async fn text_of(&self, sel: &str) -> String {
        let code = format!(
            "(document.querySelector({}) || {{}}).textContent || ''",
            json!(sel)
        );
        match self.js(&code).await {
            Value::String(s) => s.trim().to_string(),
            other => other.to_string(),
        }
    }

    /// Polls `text_of(sel)` until it contains `want` (bounded to 5 s); returns the last text.
    pub async fn wait_text(&self, sel: &str, want: &str) -> String {
        let deadline = Instant::now() + Duration::from_secs(5);
        loop {
            let t = self.text_of(sel).await;
            if t.contains(want) || Instant::now() > deadline {
                return t;
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
    }

    /// Reads the page and returns the ref of the first line with this role and name.
    pub async fn ref_of(&self, role: &str, name: &str) -> String {
        let outline = self.ok("read_page", json!({})).await;
        match find_ref(&outline, role, name) {
            Some(r) => r,
            None => panic!("no {role} \"{name}\" in the outline:\n{outline}"),
        }
    }
}

/// The tab id in a tool report's "A new tab opened: … pass tab_id=N to use it" line.
pub fn opened_tab(report: &str) -> Option<u32> {
    report
        .split("tab_id=")
        .nth(1)
        .and_then(|s| s.split(|ch: char| !ch.is_ascii_digit()).next())
        .and_then(|s| s.parse().ok())
}

/// Finds the ref of the first element `ROLE "NAME"` of an outline, written as a line
/// (`- ROLE "NAME" [REF] …`) or inline in a line's content (`[ROLE "NAME" REF …]`).
pub fn find_ref(outline: &str, role: &str, name: &str) -> Option<String> {
    let quoted = serde_json::to_string(name).ok()?;
    parse_elements(outline)
        .into_iter()
        .find(|e| e.role == role && e.quoted_name.as_deref() == Some(quoted.as_str()))
        .and_then(|e| e.r#ref)
}

/// One element of an outline: a line, or an inline element of a line's content.
#[derive(Debug, Clone)]
pub struct OutlineElement {
    /// Nesting: a line's indentation level; an inline element's line level plus its nesting.
    pub level: usize,
    /// Role (`text` for text lines).
    pub role: String,
    /// Name as written (JSON-quoted), if any.
    pub quoted_name: Option<String>,
    /// Name, unquoted ("" when none).
    pub name: String,
    /// Ref, if any.
    pub r#ref: Option<String>,
    /// True for an inline element.
    pub inline: bool,
}

/// Whether `s` is a ref (`e12`, `f1e3`).
pub fn is_ref(s: &str) -> bool {
    let rest = match s.strip_prefix('f') {
        Some(r) => r.trim_start_matches(|c: char| c.is_ascii_digit()),
        None => s,
    };
    rest.strip_prefix('e')
        .is_some_and(|d| !d.is_empty() && d.chars().all(|c| c.is_ascii_digit()))
}

/// Reads a JSON string at the start of `s`: (the quoted text, the rest).
fn json_prefix(s: &str) -> Option<(&str, &str)> {
    if !s.starts_with('"') {
        return None;
    }
    let mut esc = false;
    for (i, c) in s.char_indices().skip(1) {
        match c {
            _ if esc => esc = false,
            '\\' => esc = true,
            '"' => return Some((&s[..=i], &s[i + 1..])),
            _ => {}
        }
    }
    None
}

/// Every element of an outline, lines and inline elements, in reading order.
pub fn parse_elements(outline: &str) -> Vec<OutlineElement> {
    let mut out = Vec::new();
    for l in outline.lines() {
        let indent = (l.len() - l.trim_start().len()) / 2;
        let Some(t) = l.trim_start().strip_prefix("- ") else {
            continue;
        };
        let (role, rest) = t.split_once([' ', ':']).unwrap_or((t, ""));
        let (quoted, rest) = match json_prefix(rest) {
            Some((q, r)) => (Some(q.to_string()), r),
            None => (None, rest),
        };
        let r = rest
            .split('[')
            .skip(1)
            .filter_map(|x| x.split(']').next())
            .find(|x| is_ref(x))
            .map(str::to_string);
        out.push(element(indent, role, quoted, r, false));
        // Inline elements in the content: `[ROLE "NAME" REF`.
        let mut depth = 0usize;
        let mut i = 0;
        let b = l.as_bytes();
        while i < b.len() {
            match b[i] {
                b'[' => {
                    depth += 1;
                    let after = &l[i + 1..];
                    let role_end = after
                        .find(|c: char| !c.is_ascii_lowercase())
                        .unwrap_or(after.len());
                    let (role, rest) = after.split_at(role_end);
                    if let Some(rest) = rest.strip_prefix(' ') {
                        let (quoted, rest) = match json_prefix(rest) {
                            Some((q, r)) => {
                                (Some(q.to_string()), r.strip_prefix(' ').unwrap_or(""))
                            }
                            None => (None, rest),
                        };
                        let token = rest.split([' ', ':', ']']).next().unwrap_or("");
                        if !role.is_empty() && is_ref(token) {
                            out.push(element(
                                indent + depth,
                                role,
                                quoted,
                                Some(token.into()),
                                true,
                            ));
                        }
                    }
                }
                b']' => depth = depth.saturating_sub(1),
                _ => {}
            }
            i += 1;
        }
    }
    out
}

fn element(
    level: usize,
    role: &str,
    quoted: Option<String>,
    r: Option<String>,
    inline: bool,
) -> OutlineElement {
    let name = quoted
        .as_deref()
        .and_then(|q| serde_json::from_str::<String>(q).ok())
        .unwrap_or_default();
    OutlineElement {
        level,
        role: role.to_string(),
        quoted_name: quoted,
        name,
        r#ref: r,
        inline,
    }
}

/// Parses every outline line into (indent, role, name, ref); inline elements are left out
/// (see [`parse_elements`]).
pub fn parse_lines(outline: &str) -> Vec<(usize, String, String, Option<String>)> {
    parse_elements(outline)
        .into_iter()
        .filter(|e| !e.inline)
        .map(|e| (e.level, e.role, e.name, e.r#ref))
        .collect()
}

/// The browser tools with no policy, called on a session given per call (tests that manage
/// their own sessions and backends).
#[derive(Clone)]
pub struct Tools(Arc<Runtime>);

impl Tools {
    /// The browser tools of TOOLS.md.
    pub fn browser() -> Tools {
        Tools(Runtime::new(tabwright::tools::browser(), None))
    }

    /// Calls `tool` on `session` through the runtime.
    pub async fn call(
        &self,
        session: &Arc<Session>,
        tool: &str,
        args: Value,
    ) -> Result<ToolOutput, ToolError> {
        ToolContext::new(self.0.clone(), session.workspace.clone())
            .with_session(session.clone())
            .call_tool(tool, args)
            .await
    }
}

/// Parses a JUnit file with python3's standard XML parser and returns a summary JSON: the root
/// tag, and suites with their counts and testcases (name, classname, failures, flaky
/// failures, errors, `healed`/`flaky` properties, system-out).
pub fn parse_junit(path: &std::path::Path) -> Value {
    let script = r#"
import json, sys, xml.etree.ElementTree as ET
root = ET.parse(sys.argv[1]).getroot()
suites = []
for s in root.iter('testsuite'):
    cases = []
    for c in s.iter('testcase'):
        props = {}
        for p in c.iter('property'):
            props.setdefault(p.get('name'), []).append(p.get('value'))
        cases.append({
            'name': c.get('name'),
            'classname': c.get('classname'),
            'failures': [{'message': f.get('message'), 'text': f.text} for f in c.findall('failure')],
            'flaky': [{'message': f.get('message'), 'text': f.text} for f in c.findall('flakyFailure')],
            'errors': [{'message': f.get('message'), 'text': f.text} for f in c.findall('error')],
            'healed': props.get('healed', []),
            'props': props,
            'out': (c.findtext('system-out') or ''),
        })
    suites.append({'name': s.get('name'), 'tests': s.get('tests'), 'failures': s.get('failures'),
                   'errors': s.get('errors'), 'skipped': s.get('skipped'), 'cases': cases})
print(json.dumps({'root': root.tag, 'suites': suites}))
"#;
    let out = std::process::Command::new("python3")
        .arg("-c")
        .arg(script)
        .arg(path)
        .output()
        .expect("python3");
    assert!(
        out.status.success(),
        "python3 could not parse {}: {}\n{}",
        path.display(),
        String::from_utf8_lossy(&out.stderr),
        std::fs::read_to_string(path).unwrap_or_default()
    );
    serde_json::from_slice(&out.stdout).expect("summary json")
}

/// What a run of the `tabwright` binary printed and how it ended.
pub struct CliOut {
    /// Exit status (-1 when killed by a signal).
    pub code: i32,
    /// Standard output.
    pub stdout: String,
    /// Standard error.
    pub stderr: String,
    /// Wall time of the run.
    pub took: std::time::Duration,
}

/// Runs the `tabwright` binary in folder `dir` with stdin closed (not a terminal), bounded to
/// `limit` (the run is killed and the test fails past it).
pub fn cli_in(dir: &std::path::Path, args: &[&str], limit: std::time::Duration) -> CliOut {
    use std::process::{Command, Stdio};
    let bin = binary();
    assert!(
        bin.exists(),
        "{} is missing: build it first (cargo build -p tabwright)",
        bin.display()
    );
    let t0 = std::time::Instant::now();
    let mut child = Command::new(&bin)
        .args(args)
        .current_dir(dir)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn tabwright");
    loop {
        if let Ok(Some(_)) = child.try_wait() {
            break;
        }
        if t0.elapsed() > limit {
            let _ = child.kill();
            panic!("tabwright {args:?} took over {limit:?}");
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    let out = child.wait_with_output().expect("output");
    CliOut {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).to_string(),
        stderr: String::from_utf8_lossy(&out.stderr).to_string(),
        took: t0.elapsed(),
    }
}
