//! Browsers from a W3C WebDriver endpoint (chromedriver, Selenium Grid 4, a cloud grid): a
//! session is created (`POST /session`), its browser is driven over CDP — the session's
//! `se:cdp` address (Grid) or chromedriver's `goog:chromeOptions.debuggerAddress` — and the
//! session is ended (`DELETE /session/ID`) when its browser is shut down, also when the
//! command fails or the process is told to stop ([`end_all`]). Only this module speaks
//! WebDriver; everything else sees a CDP browser.

use std::sync::Mutex;
use std::time::Duration;

use serde_json::{json, Value};

/// How to ask a WebDriver endpoint for a browser.
#[derive(Debug, Clone)]
pub struct WebDriverOptions {
    /// The endpoint, e.g. `http://127.0.0.1:9515` or `http://grid:4444` (a trailing `/wd/hub`
    /// is fine).
    pub endpoint: String,
    /// The browser binary on the node (`goog:chromeOptions.binary`); the node's default when
    /// `None`.
    pub binary: Option<String>,
    /// Show a window instead of running headless.
    pub headed: bool,
}

/// A live WebDriver session and the CDP address of its browser.
#[derive(Debug)]
pub struct WebDriverSession {
    endpoint: String,
    id: String,
    /// The browser's CDP endpoint (ws:// or http://).
    pub cdp_url: String,
}

/// Sessions this process created and has not ended yet.
static LIVE: Mutex<Vec<(String, String)>> = Mutex::new(Vec::new());

/// Session requests on their way: a stop that comes meanwhile waits for them, so a session
/// the endpoint has just made is ended too.
static CREATING: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);

/// Set once the process is stopping: no new session is asked for after that.
static STOPPING: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// Counts a session request while it is on its way.
struct Creating;

impl Creating {
    fn new() -> Creating {
        CREATING.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        Creating
    }
}

impl Drop for Creating {
    fn drop(&mut self) {
        CREATING.fetch_sub(1, std::sync::atomic::Ordering::SeqCst);
    }
}

fn live() -> std::sync::MutexGuard<'static, Vec<(String, String)>> {
    match LIVE.lock() {
        Ok(g) => g,
        Err(p) => p.into_inner(),
    }
}

fn client() -> Result<reqwest::Client, String> {
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::Client::builder()
        .connect_timeout(Duration::from_secs(10))
        .build()
        .map_err(|e| format!("cannot make an HTTP client: {e}"))
}

/// The W3C error message of a refused request, or the body.
fn error_of(body: &str) -> String {
    serde_json::from_str::<Value>(body)
        .ok()
        .and_then(|v| {
            let e = v.get("value")?;
            let kind = e.get("error").and_then(|x| x.as_str()).unwrap_or("error");
            let msg = e.get("message").and_then(|x| x.as_str()).unwrap_or("");
            Some(format!("{kind}: {}", msg.lines().next().unwrap_or(msg)))
        })
        .unwrap_or_else(|| body.chars().take(300).collect())
}

/// The capabilities Tabwright asks for: Chrome (or Chromium) with the flags a fresh, quiet,
/// headless browser needs.
fn capabilities(opts: &WebDriverOptions) -> Value {
    let mut args = vec![
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--no-first-run",
        "--no-default-browser-check",
        "--disable-renderer-backgrounding",
        "--disable-background-timer-throttling",
        "--disable-backgrounding-occluded-windows",
        "--window-size=1280,800",
    ];
    if !opts.headed {
        args.push("--headless=new");
        args.push("--hide-scrollbars");
    }
    if super::launch::is_root() {
        args.push("--no-sandbox");
    }
    let mut chrome = json!({"args": args});
    if let Some(b) = &opts.binary {
        chrome["binary"] = json!(b);
    }
    json!({"capabilities": {"alwaysMatch": {
        "browserName": "chrome",
        "goog:chromeOptions": chrome,
        "se:cdpEnabled": true,
    }}})
}

impl WebDriverSession {
    /// Creates a session on `opts.endpoint` and finds its browser's CDP address.
    pub async fn create(opts: &WebDriverOptions) -> Result<WebDriverSession, String> {
        let endpoint = opts.endpoint.trim_end_matches('/').to_string();
        let http = client()?;
        let creating = Creating::new();
        if STOPPING.load(std::sync::atomic::Ordering::SeqCst) {
            return Err("the command is stopping: no new WebDriver session".into());
        }
        let resp = http
            .post(format!("{endpoint}/session"))
            .json(&capabilities(opts))
            // A grid may queue the request until a node is free.
            .timeout(Duration::from_secs(120))
            .send()
            .await
            .map_err(|e| format!("cannot reach the WebDriver endpoint {endpoint}: {e}"))?;
        let status = resp.status();
        let body = resp.text().await.unwrap_or_default();
        if !status.is_success() {
            return Err(format!(
                "the WebDriver endpoint {endpoint} refused a session (HTTP {}): {}",
                status.as_u16(),
                error_of(&body)
            ));
        }
        let v: Value = serde_json::from_str(&body)
            .map_err(|e| format!("the WebDriver endpoint {endpoint} answered with no JSON: {e}"))?;
        let value = v.get("value").unwrap_or(&v);
        let id = value
            .get("sessionId")
            .or_else(|| v.get("sessionId"))
            .and_then(|s| s.as_str())
            .ok_or_else(|| format!("the WebDriver endpoint {endpoint} gave no session id"))?
            .to_string();
        live().push((endpoint.clone(), id.clone()));
        drop(creating);
        let caps = value.get("capabilities").cloned().unwrap_or(Value::Null);
        let cdp_url = caps
            .get("se:cdp")
            .and_then(|c| c.as_str())
            .map(str::to_string)
            .or_else(|| {
                caps.pointer("/goog:chromeOptions/debuggerAddress")
                    .and_then(|a| a.as_str())
                    .map(|a| format!("http://{a}"))
            });
        let session = WebDriverSession {
            endpoint,
            id,
            cdp_url: String::new(),
        };
        match cdp_url {
            Some(u) => Ok(WebDriverSession {
                cdp_url: u,
                ..session
            }),
            None => {
                let msg = format!(
                    "the WebDriver session's browser offers no CDP address (neither se:cdp nor goog:chromeOptions.debuggerAddress): Tabwright needs Chrome or Chromium on {}",
                    session.endpoint
                );
                session.end().await;
                Err(msg)
            }
        }
    }

    /// Ends the session (its browser closes).
    pub async fn end(&self) {
        live().retain(|(e, i)| !(e == &self.endpoint && i == &self.id));
        delete(&self.endpoint, &self.id).await;
    }
}

async fn delete(endpoint: &str, id: &str) {
    let Ok(http) = client() else { return };
    let r = http
        .delete(format!("{endpoint}/session/{id}"))
        .timeout(Duration::from_secs(10))
        .send()
        .await;
    if let Err(e) = r {
        tracing::warn!("ending WebDriver session {id} on {endpoint}: {e}");
    }
}

/// Ends every session this process still has (on Ctrl-C, SIGTERM, SIGHUP), within `limit`.
pub async fn end_all(limit: Duration) {
    STOPPING.store(true, std::sync::atomic::Ordering::SeqCst);
    // Requests on their way first (bounded): their sessions exist at the endpoint already.
    let deadline = tokio::time::Instant::now() + limit;
    while CREATING.load(std::sync::atomic::Ordering::SeqCst) > 0
        && tokio::time::Instant::now() < deadline
    {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let all: Vec<(String, String)> = std::mem::take(&mut *live());
    if all.is_empty() {
        return;
    }
    let ends = futures_util::future::join_all(all.iter().map(|(e, i)| delete(e, i)));
    let _ = tokio::time::timeout_at(
        deadline.max(tokio::time::Instant::now() + Duration::from_secs(1)),
        ends,
    )
    .await;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn w3c_errors_are_read() {
        let body = r#"{"value":{"error":"session not created","message":"no chrome binary\n(Driver info)"}}"#;
        assert_eq!(error_of(body), "session not created: no chrome binary");
        assert_eq!(error_of("plain"), "plain");
    }
}
