//! The egress proxy: an HTTP proxy on 127.0.0.1 — plain requests forwarded, `CONNECT` tunnels
//! for HTTPS and WebSockets — that lets a connection out only when its guard allows the host
//! it goes to, and keeps a log of the ones it refused.
//!
//! Owns: the listener, the forwarding and the refusal log. The browser the host launches sends
//! every connection through one (so a page's WebSocket, which CDP `Fetch` interception never
//! sees, is held to the approved domains too), and a sandboxed shell reaches the network only
//! through one. The guard is written by the policy; this module only applies it, by host name,
//! before any connection (or DNS lookup) is made.
//!
//! May use: nothing else of the crate.

use std::collections::VecDeque;
use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{Either, Full};
use hyper::body::Incoming;
use hyper::header::{HeaderValue, HOST, UPGRADE};
use hyper::service::service_fn;
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;

/// Decides one connection: called with `scheme://host:port/…` (`https://host:port/` for a
/// `CONNECT` tunnel, whose scheme the proxy cannot see); `None` lets it out, `Some(reason)`
/// refuses it.
pub type Verdict = Arc<dyn Fn(&str) -> Option<String> + Send + Sync>;

/// A connection the proxy refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refused {
    /// What was asked for: `host:port` for a tunnel, the URL for a plain request.
    pub target: String,
    /// Why, in the guard's words.
    pub reason: String,
    /// Sequence number, counting from 1 (see [`Egress::refused_since`]).
    pub seq: u64,
}

/// How many refusals the log keeps.
const LOG_CAP: usize = 200;

/// How long a connection to the upstream host may take.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

struct Shared {
    guard: Verdict,
    refused: Mutex<VecDeque<Refused>>,
    count: AtomicU64,
}

impl Shared {
    fn new(guard: Verdict) -> Arc<Shared> {
        Arc::new(Shared {
            guard,
            refused: Mutex::new(VecDeque::new()),
            count: AtomicU64::new(0),
        })
    }

    fn refuse(&self, target: String, reason: String) {
        let seq = self.count.fetch_add(1, Ordering::SeqCst) + 1;
        tracing::info!("egress proxy refused {target}: {reason}");
        let mut log = match self.refused.lock() {
            Ok(g) => g,
            Err(p) => p.into_inner(),
        };
        if log.len() == LOG_CAP {
            log.pop_front();
        }
        log.push_back(Refused {
            target,
            reason,
            seq,
        });
    }
}

/// A running proxy; it stops accepting when dropped.
pub struct Egress {
    addr: Option<SocketAddr>,
    socket: Option<std::path::PathBuf>,
    shared: Arc<Shared>,
    accept: JoinHandle<()>,
}

impl Drop for Egress {
    fn drop(&mut self) {
        self.accept.abort();
        if let Some(p) = &self.socket {
            let _ = std::fs::remove_file(p);
        }
    }
}

/// Serves one client connection (TCP or Unix) on its own task.
fn serve<S>(shared: Arc<Shared>, stream: S)
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
{
    tokio::spawn(async move {
        let service = service_fn(move |req| handle(shared.clone(), req));
        let conn = hyper::server::conn::http1::Builder::new()
            .serve_connection(TokioIo::new(stream), service)
            .with_upgrades();
        if let Err(e) = conn.await {
            tracing::debug!("egress proxy connection ended: {e}");
        }
    });
}

/// After a failed accept (out of descriptors and the like): wait a little rather than spin.
async fn pause(e: std::io::Error) {
    tracing::warn!("egress proxy: accept failed: {e}");
    tokio::time::sleep(Duration::from_millis(20)).await;
}

impl std::fmt::Debug for Egress {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Egress").field("addr", &self.addr).finish()
    }
}

impl Egress {
    /// Starts a proxy on a free port of 127.0.0.1 that asks `guard` about every connection.
    pub async fn start(guard: Verdict) -> std::io::Result<Egress> {
        let listener = TcpListener::bind(("127.0.0.1", 0)).await?;
        let addr = listener.local_addr()?;
        let shared = Shared::new(guard);
        let s = shared.clone();
        let accept = tokio::spawn(async move {
            loop {
                match listener.accept().await {
                    Ok((stream, _)) => {
                        let _ = stream.set_nodelay(true);
                        serve(s.clone(), stream);
                    }
                    Err(e) => pause(e).await,
                }
            }
        });
        Ok(Egress {
            addr: Some(addr),
            socket: None,
            shared,
            accept,
        })
    }

    /// Starts a proxy on a Unix socket at `path` (for a sandbox, whose network namespace
    /// reaches the host only through a socket mounted into it).
    pub async fn start_unix(path: &std::path::Path, guard: Verdict) -> std::io::Result<Egress> {
        let _ = std::fs::remove_file(path);
        let listener = tokio::net::UnixListener::bind(path)?;
        let shared = Shared::new(guard);
        let s = shared.clone();
        let accept = tokio::spawn(async move {
            loop {
                match listener.accept().await {
                    Ok((stream, _)) => serve(s.clone(), stream),
                    Err(e) => pause(e).await,
                }
            }
        });
        Ok(Egress {
            addr: None,
            socket: Some(path.to_path_buf()),
            shared,
            accept,
        })
    }

    /// Where it listens on TCP (`None` for a Unix-socket proxy).
    pub fn addr(&self) -> Option<SocketAddr> {
        self.addr
    }

    /// The Unix socket it listens on, if it was started with [`Egress::start_unix`].
    pub fn socket(&self) -> Option<&std::path::Path> {
        self.socket.as_deref()
    }

    /// The proxy as a URL (`http://127.0.0.1:PORT`), for `--proxy-server` or `HTTP_PROXY`
    /// (empty for a Unix-socket proxy).
    pub fn url(&self) -> String {
        self.addr.map(|a| format!("http://{a}")).unwrap_or_default()
    }

    /// How many connections it has refused so far.
    pub fn refused_count(&self) -> u64 {
        self.shared.count.load(Ordering::SeqCst)
    }

    /// The refusals numbered above `seq` that the log still holds (it keeps the last 200).
    pub fn refused_since(&self, seq: u64) -> Vec<Refused> {
        let log = match self.shared.refused.lock() {
            Ok(g) => g,
            Err(p) => p.into_inner(),
        };
        log.iter().filter(|r| r.seq > seq).cloned().collect()
    }
}

type Body = Either<Incoming, Full<Bytes>>;

fn reply(status: StatusCode, text: String) -> Response<Body> {
    let mut r = Response::new(Either::Right(Full::new(Bytes::from(text))));
    *r.status_mut() = status;
    r.headers_mut().insert(
        hyper::header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    r
}

/// `host:port` of an authority, with `default` as the port when it names none. IPv6 literals
/// keep their brackets.
fn host_port(authority: &hyper::http::uri::Authority, default: u16) -> (String, u16) {
    (
        authority.host().to_string(),
        authority.port_u16().unwrap_or(default),
    )
}

async fn connect(host: &str, port: u16) -> Result<TcpStream, String> {
    let target = format!(
        "{}:{port}",
        host.trim_start_matches('[').trim_end_matches(']')
    );
    match tokio::time::timeout(CONNECT_TIMEOUT, TcpStream::connect(target.as_str())).await {
        Ok(Ok(s)) => {
            let _ = s.set_nodelay(true);
            Ok(s)
        }
        Ok(Err(e)) => Err(format!("cannot connect to {host}:{port}: {e}")),
        Err(_) => Err(format!(
            "cannot connect to {host}:{port}: no answer within {CONNECT_TIMEOUT:?}"
        )),
    }
}

async fn handle(shared: Arc<Shared>, req: Request<Incoming>) -> Result<Response<Body>, Infallible> {
    if req.method() == Method::CONNECT {
        return Ok(tunnel(shared, req).await);
    }
    Ok(forward(shared, req).await)
}

/// `CONNECT host:port`: asks the guard, connects, answers 200 and splices the two streams.
async fn tunnel(shared: Arc<Shared>, req: Request<Incoming>) -> Response<Body> {
    let Some(authority) = req.uri().authority().cloned() else {
        return reply(
            StatusCode::BAD_REQUEST,
            "CONNECT needs host:port".to_string(),
        );
    };
    let (host, port) = host_port(&authority, 443);
    if let Some(reason) = (shared.guard)(&format!("https://{host}:{port}/")) {
        shared.refuse(format!("{host}:{port}"), reason.clone());
        return reply(
            StatusCode::FORBIDDEN,
            format!("refused by Tabwright: {reason}"),
        );
    }
    let mut upstream = match connect(&host, port).await {
        Ok(s) => s,
        Err(e) => return reply(StatusCode::BAD_GATEWAY, e),
    };
    tokio::spawn(async move {
        match hyper::upgrade::on(req).await {
            Ok(client) => {
                let mut client = TokioIo::new(client);
                let _ = tokio::io::copy_bidirectional(&mut client, &mut upstream).await;
            }
            Err(e) => tracing::debug!("egress proxy: tunnel upgrade failed: {e}"),
        }
    });
    Response::new(Either::Right(Full::new(Bytes::new())))
}

/// A plain request in absolute form (`GET http://host/path`): asks the guard, sends it on
/// in origin form over a fresh connection and streams the answer back (an `Upgrade` answered
/// 101 is spliced, as a WebSocket over plain HTTP would be).
async fn forward(shared: Arc<Shared>, mut req: Request<Incoming>) -> Response<Body> {
    let uri = req.uri().clone();
    let Some(authority) = uri.authority().cloned() else {
        return reply(
            StatusCode::BAD_REQUEST,
            "this is a proxy: ask for an absolute URL (http://host/path) or CONNECT host:port"
                .to_string(),
        );
    };
    if uri.scheme_str() != Some("http") {
        return reply(
            StatusCode::BAD_REQUEST,
            format!(
                "only http:// is forwarded in the clear; use CONNECT for {}",
                uri.scheme_str().unwrap_or("this scheme")
            ),
        );
    }
    let (host, port) = host_port(&authority, 80);
    let url = uri.to_string();
    if let Some(reason) = (shared.guard)(&url) {
        shared.refuse(url, reason.clone());
        return reply(
            StatusCode::FORBIDDEN,
            format!("refused by Tabwright: {reason}"),
        );
    }
    let upstream = match connect(&host, port).await {
        Ok(s) => s,
        Err(e) => return reply(StatusCode::BAD_GATEWAY, e),
    };
    let (mut sender, conn) = match hyper::client::conn::http1::Builder::new()
        .handshake::<_, Incoming>(TokioIo::new(upstream))
        .await
    {
        Ok(pair) => pair,
        Err(e) => return reply(StatusCode::BAD_GATEWAY, format!("{host}:{port}: {e}")),
    };
    tokio::spawn(async move {
        if let Err(e) = conn.with_upgrades().await {
            tracing::debug!("egress proxy: upstream connection ended: {e}");
        }
    });
    let origin_form = uri
        .path_and_query()
        .map(|p| p.as_str().to_string())
        .unwrap_or_else(|| "/".to_string());
    match origin_form.parse() {
        Ok(u) => *req.uri_mut() = u,
        Err(_) => return reply(StatusCode::BAD_REQUEST, "bad request path".to_string()),
    }
    let headers = req.headers_mut();
    headers.remove("proxy-connection");
    headers.remove("proxy-authorization");
    if !headers.contains_key(HOST) {
        if let Ok(v) = HeaderValue::from_str(authority.as_str()) {
            headers.insert(HOST, v);
        }
    }
    let upgrade = req.headers().contains_key(UPGRADE);
    let client_upgrade = upgrade.then(|| hyper::upgrade::on(&mut req));
    let mut resp = match sender.send_request(req).await {
        Ok(r) => r,
        Err(e) => return reply(StatusCode::BAD_GATEWAY, format!("{host}:{port}: {e}")),
    };
    if let (Some(client_upgrade), StatusCode::SWITCHING_PROTOCOLS) = (client_upgrade, resp.status())
    {
        let server_upgrade = hyper::upgrade::on(&mut resp);
        tokio::spawn(async move {
            if let (Ok(c), Ok(s)) = tokio::join!(client_upgrade, server_upgrade) {
                let (mut c, mut s) = (TokioIo::new(c), TokioIo::new(s));
                let _ = tokio::io::copy_bidirectional(&mut c, &mut s).await;
            }
        });
    }
    resp.map(Either::Left)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::AtomicUsize;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    /// An upstream that answers every request on a connection with the request line it got
    /// (as the body), and echoes raw bytes after a line "RAW"; counts connections.
    async fn upstream() -> (u16, Arc<AtomicUsize>) {
        let l = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let port = l.local_addr().expect("addr").port();
        let hits = Arc::new(AtomicUsize::new(0));
        let h = hits.clone();
        tokio::spawn(async move {
            while let Ok((mut s, _)) = l.accept().await {
                h.fetch_add(1, Ordering::SeqCst);
                tokio::spawn(async move {
                    let mut buf = Vec::new();
                    let mut chunk = [0u8; 1024];
                    loop {
                        let Ok(n) = s.read(&mut chunk).await else {
                            return;
                        };
                        if n == 0 {
                            return;
                        }
                        buf.extend_from_slice(&chunk[..n]);
                        if buf.starts_with(b"RAW") {
                            // A tunnel: echo everything.
                            let _ = s.write_all(&buf).await;
                            buf.clear();
                            continue;
                        }
                        while let Some(end) = find(&buf, b"\r\n\r\n") {
                            let head = String::from_utf8_lossy(&buf[..end]).to_string();
                            buf.drain(..end + 4);
                            let line = head.lines().next().unwrap_or("").to_string();
                            let host = head
                                .lines()
                                .find_map(|l| l.strip_prefix("host: ").or(l.strip_prefix("Host: ")))
                                .unwrap_or("")
                                .to_string();
                            let body = format!("{line} | {host}");
                            let resp = format!(
                                "HTTP/1.1 200 OK\r\ncontent-length: {}\r\n\r\n{body}",
                                body.len()
                            );
                            if s.write_all(resp.as_bytes()).await.is_err() {
                                return;
                            }
                        }
                    }
                });
            }
        });
        (port, hits)
    }

    fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
        hay.windows(needle.len()).position(|w| w == needle)
    }

    /// Refuses any host but 127.0.0.1.
    fn only_loopback_ip() -> Verdict {
        Arc::new(|url: &str| {
            let host = url.split("://").nth(1)?.split(['/', ':']).next()?;
            (host != "127.0.0.1").then(|| format!("{host} is not allowed"))
        })
    }

    /// Reads one HTTP response with a content-length body.
    async fn response(s: &mut TcpStream) -> (String, String) {
        let mut buf = Vec::new();
        let mut chunk = [0u8; 1024];
        loop {
            if let Some(end) = find(&buf, b"\r\n\r\n") {
                let head = String::from_utf8_lossy(&buf[..end]).to_string();
                let len: usize = head
                    .lines()
                    .find_map(|l| {
                        let (k, v) = l.split_once(':')?;
                        k.eq_ignore_ascii_case("content-length")
                            .then(|| v.trim().parse().ok())?
                    })
                    .unwrap_or(0);
                while buf.len() < end + 4 + len {
                    let n = s.read(&mut chunk).await.expect("read");
                    assert!(n > 0, "closed early");
                    buf.extend_from_slice(&chunk[..n]);
                }
                let body = String::from_utf8_lossy(&buf[end + 4..end + 4 + len]).to_string();
                return (head, body);
            }
            let n = s.read(&mut chunk).await.expect("read");
            assert!(n > 0, "closed before a response");
            buf.extend_from_slice(&chunk[..n]);
        }
    }

    #[tokio::test]
    async fn plain_requests_go_to_the_host_they_name_even_on_one_connection() {
        let (a, _) = upstream().await;
        let (b, _) = upstream().await;
        let proxy = Egress::start(Arc::new(|_: &str| None))
            .await
            .expect("start");
        let mut s = TcpStream::connect(proxy.addr().expect("tcp"))
            .await
            .expect("connect");
        for port in [a, b, a] {
            let req = format!(
                "GET http://127.0.0.1:{port}/p?q=1 HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nProxy-Connection: keep-alive\r\n\r\n"
            );
            s.write_all(req.as_bytes()).await.expect("write");
            let (head, body) = response(&mut s).await;
            assert!(head.starts_with("HTTP/1.1 200"), "{head}");
            // Origin form upstream, the right host each time.
            assert_eq!(body, format!("GET /p?q=1 HTTP/1.1 | 127.0.0.1:{port}"));
        }
    }

    #[tokio::test]
    async fn refused_hosts_are_never_connected_to() {
        let (port, hits) = upstream().await;
        let proxy = Egress::start(only_loopback_ip()).await.expect("start");
        let mut s = TcpStream::connect(proxy.addr().expect("tcp"))
            .await
            .expect("connect");
        let req =
            format!("GET http://localhost:{port}/x HTTP/1.1\r\nHost: localhost:{port}\r\n\r\n");
        s.write_all(req.as_bytes()).await.expect("write");
        let (head, body) = response(&mut s).await;
        assert!(head.starts_with("HTTP/1.1 403"), "{head}");
        assert!(body.contains("localhost is not allowed"), "{body}");
        let mut t = TcpStream::connect(proxy.addr().expect("tcp"))
            .await
            .expect("connect");
        let req = format!("CONNECT localhost:{port} HTTP/1.1\r\nHost: localhost:{port}\r\n\r\n");
        t.write_all(req.as_bytes()).await.expect("write");
        let (head, _) = response(&mut t).await;
        assert!(head.starts_with("HTTP/1.1 403"), "{head}");
        assert_eq!(
            hits.load(Ordering::SeqCst),
            0,
            "nothing reached the upstream"
        );
        assert_eq!(proxy.refused_count(), 2);
        let log = proxy.refused_since(1);
        assert_eq!(log.len(), 1);
        assert_eq!(log[0].target, format!("localhost:{port}"));
        assert_eq!(
            proxy.refused_since(0)[0].target,
            format!("http://localhost:{port}/x")
        );
    }

    #[tokio::test]
    async fn tunnels_carry_bytes_both_ways() {
        let (port, hits) = upstream().await;
        let proxy = Egress::start(only_loopback_ip()).await.expect("start");
        let mut s = TcpStream::connect(proxy.addr().expect("tcp"))
            .await
            .expect("connect");
        let req = format!("CONNECT 127.0.0.1:{port} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n\r\n");
        s.write_all(req.as_bytes()).await.expect("write");
        let (head, _) = response(&mut s).await;
        assert!(head.starts_with("HTTP/1.1 200"), "{head}");
        s.write_all(b"RAW hello").await.expect("write");
        let mut got = vec![0u8; 9];
        s.read_exact(&mut got).await.expect("echo");
        assert_eq!(&got, b"RAW hello");
        assert_eq!(hits.load(Ordering::SeqCst), 1);
    }

    #[tokio::test]
    async fn bad_input_gets_a_clear_answer() {
        let proxy = Egress::start(Arc::new(|_: &str| None))
            .await
            .expect("start");
        // Origin form: not a proxy request.
        let mut s = TcpStream::connect(proxy.addr().expect("tcp"))
            .await
            .expect("connect");
        s.write_all(b"GET /x HTTP/1.1\r\nHost: a\r\n\r\n")
            .await
            .expect("write");
        let (head, body) = response(&mut s).await;
        assert!(head.starts_with("HTTP/1.1 400"), "{head}");
        assert!(body.contains("this is a proxy"), "{body}");
        // A port nobody listens on.
        let free = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let port = free.local_addr().expect("addr").port();
        drop(free);
        let mut t = TcpStream::connect(proxy.addr().expect("tcp"))
            .await
            .expect("connect");
        let req = format!("CONNECT 127.0.0.1:{port} HTTP/1.1\r\nHost: x\r\n\r\n");
        t.write_all(req.as_bytes()).await.expect("write");
        let (head, body) = response(&mut t).await;
        assert!(head.starts_with("HTTP/1.1 502"), "{head}");
        assert!(body.contains("cannot connect"), "{body}");
        // Garbage: the connection ends, the proxy goes on.
        let mut u = TcpStream::connect(proxy.addr().expect("tcp"))
            .await
            .expect("connect");
        u.write_all(b"\x00\x01 not http\r\n\r\n")
            .await
            .expect("write");
        let mut rest = Vec::new();
        let _ = u.read_to_end(&mut rest).await;
        let mut v = TcpStream::connect(proxy.addr().expect("tcp"))
            .await
            .expect("still accepting");
        v.write_all(b"GET /x HTTP/1.1\r\nHost: a\r\n\r\n")
            .await
            .expect("write");
        let (head, _) = response(&mut v).await;
        assert!(head.starts_with("HTTP/1.1 400"), "{head}");
    }
}
