//! MCP over streamable HTTP, bound to loopback.
//!
//! In front of rmcp's own checks: the listener must be a loopback address; requests with a
//! `Host` that is not this loopback listener get 403 (DNS rebinding); requests with an
//! `Origin` that is not loopback get 403; with a token, requests without
//! `Authorization: Bearer TOKEN` get 401.

use std::net::SocketAddr;
use std::sync::Arc;

use bytes::Bytes;
use http_body_util::{combinators::BoxBody, BodyExt, Full};
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use rmcp::transport::streamable_http_server::session::local::LocalSessionManager;
use rmcp::transport::streamable_http_server::{StreamableHttpServerConfig, StreamableHttpService};
use tokio::net::TcpListener;

use super::McpHandler;
use crate::host::Host;
use crate::shortcuts::record::Recordings;

/// Options of the HTTP server.
#[derive(Debug, Clone)]
pub struct HttpOptions {
    /// Where to listen; must be a loopback address.
    pub addr: SocketAddr,
    /// Bearer token required on every request, if set.
    pub token: Option<String>,
}

/// Checks Host, Origin and the bearer token; returns the refusal, if any.
pub fn check_request(
    headers: &hyper::HeaderMap,
    port: u16,
    token: Option<&str>,
) -> Option<(StatusCode, String)> {
    let host = headers
        .get(hyper::header::HOST)
        .and_then(|h| h.to_str().ok())
        .unwrap_or("");
    if !is_loopback_authority(host, Some(port)) {
        return Some((
            StatusCode::FORBIDDEN,
            format!("Host \"{host}\" is not this loopback server; refused"),
        ));
    }
    if let Some(origin) = headers.get(hyper::header::ORIGIN) {
        let o = origin.to_str().unwrap_or("");
        let authority = o
            .strip_prefix("http://")
            .or_else(|| o.strip_prefix("https://"));
        if !authority.is_some_and(|a| is_loopback_authority(a.trim_end_matches('/'), None)) {
            return Some((
                StatusCode::FORBIDDEN,
                format!("Origin \"{o}\" is not allowed; only loopback origins may call"),
            ));
        }
    }
    if let Some(t) = token {
        let given = headers
            .get(hyper::header::AUTHORIZATION)
            .and_then(|h| h.to_str().ok())
            .and_then(|h| h.strip_prefix("Bearer "))
            .unwrap_or("");
        if !constant_time_eq(given.as_bytes(), t.as_bytes()) {
            return Some((
                StatusCode::UNAUTHORIZED,
                "missing or wrong bearer token".into(),
            ));
        }
    }
    None
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// True for `127.x.x.x[:port]`, `localhost[:port]`, `[::1][:port]`; with `port`, the port must
/// match when present.
pub fn is_loopback_authority(authority: &str, port: Option<u16>) -> bool {
    let (host, p) = if let Some(rest) = authority.strip_prefix('[') {
        match rest.split_once(']') {
            Some((h, tail)) => (h, tail.strip_prefix(':')),
            None => return false,
        }
    } else {
        match authority.rsplit_once(':') {
            Some((h, p)) => (h, Some(p)),
            None => (authority, None),
        }
    };
    let host_ok = host.eq_ignore_ascii_case("localhost")
        || host == "::1"
        || host
            .parse::<std::net::Ipv4Addr>()
            .is_ok_and(|ip| ip.is_loopback());
    let port_ok = match (port, p) {
        (Some(want), Some(got)) => got.parse::<u16>().ok() == Some(want),
        (Some(_), None) => false,
        (None, _) => true,
    };
    host_ok && port_ok
}

/// Serves MCP over streamable HTTP at `/mcp` until the process ends. Calls `ready` with the
/// bound address once listening.
pub async fn serve_http(
    host: Arc<Host>,
    recordings: Option<Arc<Recordings>>,
    opts: HttpOptions,
    ready: impl FnOnce(SocketAddr),
) -> anyhow::Result<()> {
    if !opts.addr.ip().is_loopback() {
        anyhow::bail!(
            "refusing to listen on {}: use a loopback address such as 127.0.0.1",
            opts.addr
        );
    }
    let listener = TcpListener::bind(opts.addr)
        .await
        .map_err(|e| anyhow::anyhow!("cannot listen on {}: {e}", opts.addr))?;
    let addr = listener.local_addr()?;
    let config = StreamableHttpServerConfig::default()
        .with_allowed_hosts(["127.0.0.1", "localhost", "::1", "[::1]"])
        .with_allowed_origins(["http://127.0.0.1:*", "http://localhost:*", "http://[::1]:*"]);
    let service = StreamableHttpService::new(
        move || Ok(McpHandler::new(&host, recordings.clone())),
        Arc::new(LocalSessionManager::default()),
        config,
    );
    ready(addr);
    let token: Option<Arc<str>> = opts.token.map(Arc::from);
    loop {
        let (stream, _) = match listener.accept().await {
            Ok(s) => s,
            Err(e) => {
                tracing::warn!("accept failed: {e}");
                continue;
            }
        };
        let service = service.clone();
        let token = token.clone();
        tokio::spawn(async move {
            let svc = hyper::service::service_fn(move |req: Request<hyper::body::Incoming>| {
                let mut service = service.clone();
                let token = token.clone();
                async move {
                    if let Some((status, msg)) =
                        check_request(req.headers(), addr.port(), token.as_deref())
                    {
                        let mut r = Response::new(
                            Full::new(Bytes::from(msg)).map_err(|e| match e {}).boxed(),
                        );
                        *r.status_mut() = status;
                        return Ok::<_, std::convert::Infallible>(r);
                    }
                    if req.uri().path() != "/mcp" {
                        let mut r = Response::new(
                            Full::new(Bytes::from("not found: the MCP endpoint is /mcp"))
                                .map_err(|e| match e {})
                                .boxed(),
                        );
                        *r.status_mut() = StatusCode::NOT_FOUND;
                        return Ok(r);
                    }
                    let resp = tower_service::Service::call(&mut service, req).await?;
                    let (parts, body) = resp.into_parts();
                    let body: BoxBody<Bytes, _> = body.map_err(|e| e).boxed();
                    Ok(Response::from_parts(parts, body))
                }
            });
            let _ = hyper::server::conn::http1::Builder::new()
                .serve_connection(TokioIo::new(stream), svc)
                .await;
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &str)]) -> hyper::HeaderMap {
        let mut h = hyper::HeaderMap::new();
        for (k, v) in pairs {
            h.insert(*k, v.parse().expect("header"));
        }
        h
    }

    #[test]
    fn loopback_authorities() {
        assert!(is_loopback_authority("127.0.0.1:8080", Some(8080)));
        assert!(is_loopback_authority("localhost:8080", Some(8080)));
        assert!(is_loopback_authority("[::1]:8080", Some(8080)));
        assert!(!is_loopback_authority("127.0.0.1:8081", Some(8080)));
        assert!(!is_loopback_authority("evil.com:8080", Some(8080)));
        assert!(!is_loopback_authority(
            "127.0.0.1.evil.com:8080",
            Some(8080)
        ));
        assert!(!is_loopback_authority("localhost", Some(8080)));
        assert!(is_loopback_authority("localhost", None));
    }

    #[test]
    fn foreign_host_origin_and_token_are_refused() {
        let ok = headers(&[("host", "127.0.0.1:9")]);
        assert!(check_request(&ok, 9, None).is_none());
        let bad_host = headers(&[("host", "attacker.example:9")]);
        assert_eq!(
            check_request(&bad_host, 9, None).map(|r| r.0),
            Some(StatusCode::FORBIDDEN)
        );
        let bad_origin = headers(&[
            ("host", "127.0.0.1:9"),
            ("origin", "https://attacker.example"),
        ]);
        assert_eq!(
            check_request(&bad_origin, 9, None).map(|r| r.0),
            Some(StatusCode::FORBIDDEN)
        );
        let null_origin = headers(&[("host", "127.0.0.1:9"), ("origin", "null")]);
        assert_eq!(
            check_request(&null_origin, 9, None).map(|r| r.0),
            Some(StatusCode::FORBIDDEN)
        );
        let local_origin = headers(&[("host", "127.0.0.1:9"), ("origin", "http://localhost:3000")]);
        assert!(check_request(&local_origin, 9, None).is_none());
        assert_eq!(
            check_request(&ok, 9, Some("s3cret")).map(|r| r.0),
            Some(StatusCode::UNAUTHORIZED)
        );
        let wrong = headers(&[("host", "127.0.0.1:9"), ("authorization", "Bearer nope")]);
        assert_eq!(
            check_request(&wrong, 9, Some("s3cret")).map(|r| r.0),
            Some(StatusCode::UNAUTHORIZED)
        );
        let right = headers(&[("host", "127.0.0.1:9"), ("authorization", "Bearer s3cret")]);
        assert!(check_request(&right, 9, Some("s3cret")).is_none());
    }
}
