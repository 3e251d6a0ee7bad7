//! The host's own small HTTP server for `fixtures/`: static files plus a few dynamic routes
//! the fixture pages use. Tests and demos run it on 127.0.0.1; the same port answers as
//! `localhost` too, which is a different origin, so cross-origin iframes need no second server.
//!
//! Routes: `/api/echo` (the request as JSON), `/api/slow?ms=N` (answers after N ms, at most
//! 10 s), `/status/N` (an empty response with status N), `/download/NAME` (an attachment).
//!
//! For the hostile corpus (`tests/hostile.rs`), which must tell from the world whether a
//! request reached a host outside the allowed domains: `/api/hit?tag=T` (also `/api/hit/…`, so
//! a path can carry URL tricks) records the request
//! (its `Host` header, method and tag) in a process-wide log and answers with a small HTML
//! page (CORS open, so `fetch` works from anywhere); [`hits`] reads that log (the same log as
//! JSON at `/api/hits`). `/api/redirect?to=URL&code=N` answers with a redirect (302 unless `N`
//! is 301, 303, 307 or 308) to the percent-decoded `URL`, an open redirect on purpose.
//!
//! For replay suites (`tests/qa.rs`): `/api/count?key=K` answers how many times it was asked
//! for `K` in this process (1, 2, …: a flow that fails once, then passes on a retry), and
//! `/api/barrier?key=K&n=N&ms=T` answers `together` once `N` requests for `K` are waiting, or
//! `alone` after `T` ms (at most 10 s): flows that only pass when they run at the same time.
//!
//! May use: nothing else of the crate.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::path::{Component, Path, PathBuf};
use std::sync::Mutex;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;

/// A running fixture server.
pub struct FixtureServer {
    /// Where it listens.
    pub addr: SocketAddr,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for FixtureServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl FixtureServer {
    /// `http://127.0.0.1:PORT` + path.
    pub fn url(&self, path: &str) -> String {
        format!(
            "http://127.0.0.1:{}/{}",
            self.addr.port(),
            path.trim_start_matches('/')
        )
    }

    /// The same path on the other origin, `http://localhost:PORT`.
    pub fn other_origin_url(&self, path: &str) -> String {
        format!(
            "http://localhost:{}/{}",
            self.addr.port(),
            path.trim_start_matches('/')
        )
    }
}

/// Starts serving `root` on 127.0.0.1:`port` (0 = any free port).
pub async fn start(root: PathBuf, port: u16) -> std::io::Result<FixtureServer> {
    let listener = TcpListener::bind(("127.0.0.1", port)).await?;
    let addr = listener.local_addr()?;
    let task = tokio::spawn(async move {
        loop {
            let Ok((stream, _)) = listener.accept().await else {
                continue;
            };
            let root = root.clone();
            tokio::spawn(async move {
                let svc = hyper::service::service_fn(move |req| handle(root.clone(), req));
                let _ = hyper::server::conn::http1::Builder::new()
                    .keep_alive(true)
                    .serve_connection(TokioIo::new(stream), svc)
                    .await;
            });
        }
    });
    Ok(FixtureServer { addr, task })
}

/// One request to `/api/hit`.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Hit {
    /// The `Host` header as sent (`127.0.0.1:PORT`, `localhost:PORT` …).
    pub host: String,
    /// The request method.
    pub method: String,
    /// The `tag` query parameter, percent-decoded.
    pub tag: String,
}

static HITS: Mutex<Vec<Hit>> = Mutex::new(Vec::new());

/// `/api/count` state: how many times each key was asked for.
static COUNTS: Mutex<Vec<(String, u64)>> = Mutex::new(Vec::new());

/// Counts one more request for `key`; returns the count.
fn bump(key: &str) -> u64 {
    let mut g = match COUNTS.lock() {
        Ok(g) => g,
        Err(p) => p.into_inner(),
    };
    match g.iter_mut().find(|(k, _)| k == key) {
        Some((_, n)) => {
            *n += 1;
            *n
        }
        None => {
            g.push((key.to_string(), 1));
            1
        }
    }
}

/// `/api/barrier` state per key: requests waiting now, and how many times a full group was
/// let through.
static BARRIERS: Mutex<Vec<(String, u64, u64)>> = Mutex::new(Vec::new());

/// Wakes barrier requests when a group is let through.
static RELEASED: std::sync::OnceLock<tokio::sync::watch::Sender<u64>> = std::sync::OnceLock::new();

/// Waits until `want` requests for `key` wait together (true) or `limit` passes (false).
async fn barrier(key: &str, want: u64, limit: Duration) -> bool {
    let tx = RELEASED.get_or_init(|| tokio::sync::watch::channel(0).0);
    let mut rx = tx.subscribe();
    let generation = {
        let mut g = match BARRIERS.lock() {
            Ok(g) => g,
            Err(p) => p.into_inner(),
        };
        let i = match g.iter().position(|(k, _, _)| k == key) {
            Some(i) => i,
            None => {
                g.push((key.to_string(), 0, 0));
                g.len() - 1
            }
        };
        let entry = &mut g[i];
        entry.1 += 1;
        if entry.1 >= want {
            entry.1 = 0;
            entry.2 += 1;
            drop(g);
            tx.send_modify(|v| *v += 1);
            return true;
        }
        entry.2
    };
    let released = |g: &Vec<(String, u64, u64)>| {
        g.iter()
            .find(|(k, _, _)| k == key)
            .is_some_and(|(_, _, r)| *r > generation)
    };
    let deadline = tokio::time::Instant::now() + limit;
    loop {
        {
            let mut g = match BARRIERS.lock() {
                Ok(g) => g,
                Err(p) => p.into_inner(),
            };
            if released(&g) {
                return true;
            }
            if tokio::time::Instant::now() >= deadline {
                if let Some(e) = g.iter_mut().find(|(k, _, _)| k == key) {
                    e.1 = e.1.saturating_sub(1);
                }
                return false;
            }
        }
        let _ = tokio::time::timeout_at(deadline, rx.changed()).await;
    }
}

/// Every request to `/api/hit` so far, in order, by any server of this process.
pub fn hits() -> Vec<Hit> {
    match HITS.lock() {
        Ok(g) => g.clone(),
        Err(p) => p.into_inner().clone(),
    }
}

fn respond(status: u16, mime: &str, body: impl Into<Bytes>) -> Response<Full<Bytes>> {
    let mut r = Response::new(Full::new(body.into()));
    *r.status_mut() = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    if let Ok(v) = mime.parse() {
        r.headers_mut().insert(hyper::header::CONTENT_TYPE, v);
    }
    r.headers_mut().insert(
        hyper::header::CACHE_CONTROL,
        hyper::header::HeaderValue::from_static("no-store"),
    );
    r
}

fn query_param<'a>(query: &'a str, key: &str) -> Option<&'a str> {
    query
        .split('&')
        .find_map(|kv| kv.strip_prefix(key).and_then(|r| r.strip_prefix('=')))
}

async fn handle(
    root: PathBuf,
    req: Request<Incoming>,
) -> Result<Response<Full<Bytes>>, Infallible> {
    let path = req.uri().path().to_string();
    let query = req.uri().query().unwrap_or("").to_string();
    let method = req.method().to_string();
    if path == "/api/echo" {
        let body = req
            .into_body()
            .collect()
            .await
            .map(|b| b.to_bytes())
            .unwrap_or_default();
        let json = serde_json::json!({
            "method": method, "path": path, "query": query, "body": String::from_utf8_lossy(&body),
        });
        let mut r = respond(200, "application/json", json.to_string());
        r.headers_mut().insert(
            "access-control-allow-origin",
            hyper::header::HeaderValue::from_static("*"),
        );
        return Ok(r);
    }
    if path == "/api/hit" || path.starts_with("/api/hit/") {
        let hit = Hit {
            host: req
                .headers()
                .get(hyper::header::HOST)
                .and_then(|h| h.to_str().ok())
                .unwrap_or("")
                .to_string(),
            method,
            tag: percent_decode(query_param(&query, "tag").unwrap_or("")).unwrap_or_default(),
        };
        let page = format!(
            "<!doctype html><title>hit {}</title><p id=hit>hit from {}</p>",
            hit.tag.replace(['<', '&'], "_"),
            hit.host.replace(['<', '&'], "_")
        );
        match HITS.lock() {
            Ok(mut g) => g.push(hit),
            Err(p) => p.into_inner().push(hit),
        }
        let mut r = respond(200, "text/html; charset=utf-8", page);
        r.headers_mut().insert(
            "access-control-allow-origin",
            hyper::header::HeaderValue::from_static("*"),
        );
        return Ok(r);
    }
    if path == "/api/hits" {
        let body = serde_json::to_string(&hits()).unwrap_or_default();
        return Ok(respond(200, "application/json", body));
    }
    if path == "/api/redirect" {
        let to = percent_decode(query_param(&query, "to").unwrap_or("/")).unwrap_or_default();
        let code = query_param(&query, "code")
            .and_then(|c| c.parse::<u16>().ok())
            .filter(|c| [301, 303, 307, 308].contains(c))
            .unwrap_or(302);
        let mut r = respond(code, "text/plain", "");
        if let Ok(v) = to.parse() {
            r.headers_mut().insert(hyper::header::LOCATION, v);
        }
        return Ok(r);
    }
    if path == "/api/count" {
        let key = percent_decode(query_param(&query, "key").unwrap_or("")).unwrap_or_default();
        let mut r = respond(200, "text/plain", bump(&key).to_string());
        r.headers_mut().insert(
            hyper::header::CACHE_CONTROL,
            hyper::header::HeaderValue::from_static("no-store"),
        );
        return Ok(r);
    }
    if path == "/api/barrier" {
        let key = percent_decode(query_param(&query, "key").unwrap_or("")).unwrap_or_default();
        let want = query_param(&query, "n")
            .and_then(|v| v.parse::<u64>().ok())
            .unwrap_or(2)
            .max(1);
        let ms = query_param(&query, "ms")
            .and_then(|v| v.parse::<u64>().ok())
            .unwrap_or(3000)
            .min(10_000);
        let together = barrier(&key, want, Duration::from_millis(ms)).await;
        let mut r = respond(
            200,
            "text/plain",
            if together { "together" } else { "alone" }.to_string(),
        );
        r.headers_mut().insert(
            hyper::header::CACHE_CONTROL,
            hyper::header::HeaderValue::from_static("no-store"),
        );
        return Ok(r);
    }
    if path == "/api/slow" {
        let ms = query_param(&query, "ms")
            .and_then(|v| v.parse::<u64>().ok())
            .unwrap_or(500)
            .min(10_000);
        tokio::time::sleep(Duration::from_millis(ms)).await;
        return Ok(respond(200, "text/plain", "ok"));
    }
    if let Some(code) = path.strip_prefix("/status/") {
        let code = code
            .parse::<u16>()
            .ok()
            .filter(|c| (200..600).contains(c))
            .unwrap_or(400);
        return Ok(respond(code, "text/plain", ""));
    }
    if let Some(name) = path.strip_prefix("/download/") {
        let mut r = respond(200, "text/plain", format!("file {name}\n"));
        if let Ok(v) = format!("attachment; filename=\"{}\"", name.replace('"', "")).parse() {
            r.headers_mut()
                .insert(hyper::header::CONTENT_DISPOSITION, v);
        }
        return Ok(r);
    }
    Ok(serve_file(&root, &path).await)
}

fn safe_join(root: &Path, url_path: &str) -> Option<PathBuf> {
    let decoded = percent_decode(url_path)?;
    let rel = Path::new(decoded.trim_start_matches('/'));
    if rel.components().any(|c| !matches!(c, Component::Normal(_))) {
        return None;
    }
    Some(root.join(rel))
}

fn percent_decode(s: &str) -> Option<String> {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' {
            let hex = std::str::from_utf8(b.get(i + 1..i + 3)?).ok()?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

async fn serve_file(root: &Path, url_path: &str) -> Response<Full<Bytes>> {
    let Some(mut file) = safe_join(root, url_path) else {
        return respond(400, "text/plain", "bad path");
    };
    if file.is_dir() {
        file = file.join("index.html");
    }
    match tokio::fs::read(&file).await {
        Ok(bytes) => respond(200, mime(&file), bytes),
        Err(_) => respond(
            404,
            "text/html",
            "<!doctype html><title>Not found</title><h1>Not found</h1>",
        ),
    }
}

fn mime(p: &Path) -> &'static str {
    match p.extension().and_then(|e| e.to_str()).unwrap_or("") {
        "html" | "htm" => "text/html; charset=utf-8",
        "js" | "mjs" => "text/javascript",
        "css" => "text/css",
        "json" => "application/json",
        "png" => "image/png",
        "jpg" | "jpeg" => "image/jpeg",
        "gif" => "image/gif",
        "svg" => "image/svg+xml",
        "txt" => "text/plain; charset=utf-8",
        _ => "application/octet-stream",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_stay_inside_the_root() {
        let root = Path::new("/srv");
        assert_eq!(
            safe_join(root, "/a/b.html"),
            Some(PathBuf::from("/srv/a/b.html"))
        );
        assert_eq!(safe_join(root, "/../etc/passwd"), None);
        assert_eq!(safe_join(root, "/%2e%2e/etc/passwd"), None);
        assert_eq!(
            safe_join(root, "/a%20b.html"),
            Some(PathBuf::from("/srv/a b.html"))
        );
        assert_eq!(safe_join(root, "/%zz"), None);
    }
}
