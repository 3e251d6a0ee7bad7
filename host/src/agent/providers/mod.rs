//! Streaming clients for model APIs behind one trait, [`ModelClient`].
//!
//! Each client turns a [`ModelRequest`] into its provider's wire format, POSTs it with
//! `stream: true`, parses the server-sent events ([`sse`]) and yields provider-neutral
//! [`ModelEvent`]s on an [`EventStream`]. Retries, backoff and timeouts live in [`retry`] and
//! in the shared attempt driver here, so both clients behave the same way:
//!
//! - every attempt is bounded by a connect timeout and an idle timeout (no bytes for that
//!   long, while waiting for the response headers or the next piece of the body);
//! - failures that may pass (429, 5xx, 529, connection errors, timeouts, dropped streams)
//!   are retried with the whole request; see [`retry`] for how partial output is handled;
//! - other failures end the stream with a [`ModelError`] that says what to do.
//!
//! Dropping the [`EventStream`] cancels the request.

pub mod anthropic;
pub mod openai;
pub mod retry;
pub mod sse;

use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use futures_util::{Stream, StreamExt};
use reqwest::header::HeaderMap;
use serde_json::Value;
use tokio::sync::mpsc;

use super::config::{ModelConfig, Provider};
use super::protocol::{AssistantTurn, ModelEvent, ModelRequest};
use retry::Emitter;
use sse::{SseEvent, SseParser, Truncated};

pub use anthropic::AnthropicClient;
pub use openai::OpenAiClient;
pub use retry::RetryPolicy;

/// A failed model request, worded for the person running the agent.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ModelError {
    /// The API answered with an error (an HTTP status, or an error event in the stream).
    #[error("{message}")]
    Api {
        /// The HTTP status (None for an error event inside a stream).
        status: Option<u16>,
        /// The provider's error type, e.g. `overloaded_error`, `rate_limit_error`.
        kind: String,
        /// What happened and what to do.
        message: String,
        /// How long the server asked to wait.
        retry_after: Option<Duration>,
        /// Whether retrying may help.
        retryable: bool,
    },
    /// The connection could not be made or broke before the response started.
    #[error("could not reach the model API at {url}: {detail}")]
    Connect {
        /// The URL.
        url: String,
        /// The transport's error.
        detail: String,
    },
    /// No bytes arrived for the configured idle timeout.
    #[error("the model API sent nothing for {} s (idle timeout)", .0.as_secs_f64())]
    IdleTimeout(Duration),
    /// The response stream ended before the message was complete.
    #[error("the model's response stream broke off before the message was complete: {0}")]
    StreamDropped(String),
    /// The model's tool-call arguments were not valid JSON.
    #[error("the model sent invalid JSON arguments for tool call {id} ({name}): {error}; the arguments were: {raw}")]
    InvalidToolInput {
        /// The call's id.
        id: String,
        /// The tool's name.
        name: String,
        /// The JSON parser's message.
        error: String,
        /// The arguments as received (cut to 500 characters).
        raw: String,
    },
    /// The server sent something this client cannot read.
    #[error("the model API sent something unexpected: {0}")]
    Protocol(String),
    /// The client could not be set up (TLS, bad URL).
    #[error("model client setup failed: {0}")]
    Setup(String),
    /// The consumer dropped the stream (internal; never yielded).
    #[error("cancelled")]
    Cancelled,
}

impl ModelError {
    /// Whether the request should be sent again.
    pub fn is_retryable(&self) -> bool {
        match self {
            ModelError::Api { retryable, .. } => *retryable,
            ModelError::Connect { .. } | ModelError::IdleTimeout(_) => true,
            ModelError::StreamDropped(_) => true,
            ModelError::InvalidToolInput { .. }
            | ModelError::Protocol(_)
            | ModelError::Setup(_)
            | ModelError::Cancelled => false,
        }
    }

    /// The wait the server asked for, if any.
    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            ModelError::Api { retry_after, .. } => *retry_after,
            _ => None,
        }
    }

    /// The HTTP status, if the error came with one.
    pub fn status(&self) -> Option<u16> {
        match self {
            ModelError::Api { status, .. } => *status,
            _ => None,
        }
    }
}

/// A streamed model response: [`ModelEvent`]s, ending with [`ModelEvent::Finished`] or one
/// `Err`. Dropping it cancels the request.
pub struct EventStream {
    rx: mpsc::Receiver<Result<ModelEvent, ModelError>>,
}

impl EventStream {
    /// A stream fed by `rx` (for clients written elsewhere, e.g. test doubles).
    pub fn from_receiver(rx: mpsc::Receiver<Result<ModelEvent, ModelError>>) -> EventStream {
        EventStream { rx }
    }

    /// A stream that yields one error.
    pub fn failed(err: ModelError) -> EventStream {
        let (tx, rx) = mpsc::channel(1);
        let _ = tx.try_send(Err(err));
        EventStream { rx }
    }

    /// Waits for the whole response.
    pub async fn collect_turn(self) -> Result<AssistantTurn, ModelError> {
        self.collect_with(|_| {}).await
    }

    /// Waits for the whole response, showing each event to `on_event` first (for streaming
    /// output to a person; see [`ModelEvent::Retrying`] for partial output that is retried).
    pub async fn collect_with(
        mut self,
        mut on_event: impl FnMut(&ModelEvent),
    ) -> Result<AssistantTurn, ModelError> {
        while let Some(item) = self.next().await {
            let event = item?;
            on_event(&event);
            if let ModelEvent::Finished(turn) = event {
                return Ok(turn);
            }
        }
        Err(ModelError::StreamDropped(
            "the client stopped without finishing the message".into(),
        ))
    }
}

impl Stream for EventStream {
    type Item = Result<ModelEvent, ModelError>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        self.rx.poll_recv(cx)
    }
}

impl std::fmt::Debug for EventStream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("EventStream")
    }
}

/// A model API client. The agent loop depends on this trait only.
pub trait ModelClient: Send + Sync {
    /// The API family.
    fn provider(&self) -> Provider;
    /// The model name as sent to the API.
    fn model(&self) -> &str;
    /// Starts one request and streams its response. Must be called inside a Tokio runtime.
    fn stream(&self, request: ModelRequest) -> EventStream;
}

/// Builds the client `config` describes.
pub fn connect(config: &ModelConfig) -> Result<Arc<dyn ModelClient>, ModelError> {
    Ok(match config.spec.provider {
        Provider::Anthropic => Arc::new(AnthropicClient::new(config)?),
        Provider::OpenAi => Arc::new(OpenAiClient::new(config)?),
    })
}

/// Makes ring the process's rustls crypto provider (reqwest is built without one). A provider
/// installed earlier stays.
fn install_crypto_provider() {
    let _ = rustls::crypto::ring::default_provider().install_default();
}

/// The HTTP client for `config`: HTTP/1.1, rustls, the connect timeout; no proxy for
/// loopback servers.
fn http_client(config: &ModelConfig) -> Result<reqwest::Client, ModelError> {
    install_crypto_provider();
    let mut builder = reqwest::Client::builder()
        .connect_timeout(config.connect_timeout)
        .user_agent(concat!("tabwright/", env!("CARGO_PKG_VERSION")));
    if is_loopback(&config.base_url) {
        builder = builder.no_proxy();
    }
    builder
        .build()
        .map_err(|e| ModelError::Setup(error_chain(&e)))
}

fn is_loopback(url: &str) -> bool {
    let rest = url.split_once("://").map(|(_, r)| r).unwrap_or(url);
    let host = rest.split(['/', '?']).next().unwrap_or("");
    let host = host.rsplit_once('@').map(|(_, h)| h).unwrap_or(host);
    let host = match host.strip_prefix('[') {
        Some(v6) => v6.split(']').next().unwrap_or(""),
        None => host.split(':').next().unwrap_or(""),
    };
    host.eq_ignore_ascii_case("localhost")
        || host
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

/// An error and its sources, one line.
fn error_chain(e: &dyn std::error::Error) -> String {
    let mut s = e.to_string();
    let mut src = e.source();
    while let Some(cause) = src {
        let c = cause.to_string();
        if !s.contains(&c) {
            s.push_str(": ");
            s.push_str(&c);
        }
        src = cause.source();
    }
    s
}

/// Names that make the errors of one client specific.
#[derive(Debug, Clone)]
struct ApiInfo {
    /// `Anthropic`, `OpenAI-compatible`.
    name: &'static str,
    /// The variable that holds the key.
    key_env: String,
    /// `anthropic:MODEL`.
    model: String,
    /// The endpoint.
    url: String,
}

/// Turns an HTTP error response into a [`ModelError`] that says what to do.
fn status_error(info: &ApiInfo, status: u16, headers: &HeaderMap, body: &[u8]) -> ModelError {
    let (kind, detail) = error_body(body);
    let retry_after = retry::retry_after(headers);
    let detail = if detail.is_empty() {
        String::new()
    } else {
        format!(": {detail}")
    };
    let name = info.name;
    let (message, retryable) = match status {
        401 => (
            format!(
                "the {name} API rejected the API key (401{detail}): check {}",
                info.key_env
            ),
            false,
        ),
        403 => (
            format!(
                "the {name} API refused access (403{detail}): check that the key in {} may use {}",
                info.key_env, info.model
            ),
            false,
        ),
        404 => (
            format!(
                "model not found: check --model (the {name} API at {} answered 404 for {}{detail})",
                info.url, info.model
            ),
            false,
        ),
        408 | 409 => (
            format!("the {name} API answered {status}{detail}; retrying"),
            true,
        ),
        429 => (format!("rate limited by the {name} API (429{detail})"), true),
        529 => (format!("the {name} API is overloaded (529{detail})"), true),
        500..=599 => (format!("the {name} API failed ({status}{detail})"), true),
        413 => (
            format!("the request is too large for the {name} API (413{detail}): shorten the conversation"),
            false,
        ),
        _ => (
            format!("the {name} API rejected the request ({status}{detail})"),
            false,
        ),
    };
    // The server's own word on retrying (Anthropic sends `x-should-retry`) wins.
    let retryable = match header(headers, "x-should-retry") {
        Some("true") => true,
        Some("false") => false,
        _ => retryable,
    };
    let message = match header(headers, "request-id").or(header(headers, "x-request-id")) {
        Some(id) => format!("{message} [request id {id}]"),
        None => message,
    };
    ModelError::Api {
        status: Some(status),
        kind,
        message,
        retry_after,
        retryable,
    }
}

fn header<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(str::trim)
}

/// The error type and message of an error body (Anthropic's `{"error": {"type", "message"}}`,
/// OpenAI's `{"error": {"message", "type", "code"}}`, or plain text).
fn error_body(body: &[u8]) -> (String, String) {
    if let Ok(v) = serde_json::from_slice::<Value>(body) {
        let err = v.get("error").unwrap_or(&v);
        let kind = err
            .get("type")
            .and_then(Value::as_str)
            .or_else(|| err.get("code").and_then(Value::as_str))
            .unwrap_or("")
            .to_string();
        let message = err
            .get("message")
            .and_then(Value::as_str)
            .map(str::to_string)
            .or_else(|| err.as_str().map(str::to_string))
            .unwrap_or_else(|| clip(&v.to_string(), 300));
        let message = match kind.as_str() {
            "" => message,
            k => format!("{k}: {message}"),
        };
        return (kind, clip(&message, 500));
    }
    (
        String::new(),
        clip(String::from_utf8_lossy(body).trim(), 300),
    )
}

/// At most `max` characters of `s`.
fn clip(s: &str, max: usize) -> String {
    match s.char_indices().nth(max) {
        Some((i, _)) => format!("{}…", &s[..i]),
        None => s.to_string(),
    }
}

/// Turns one provider's server-sent events into [`ModelEvent`]s.
trait Decoder: Send {
    /// Handles one event, pushing what it produced to `out`; `Ok(true)` when the response is
    /// complete.
    fn on_event(&mut self, event: SseEvent, out: &mut Vec<ModelEvent>) -> Result<bool, ModelError>;
    /// The body ended without the decoder saying it was complete.
    fn on_eof(
        &mut self,
        truncated: Option<Truncated>,
        out: &mut Vec<ModelEvent>,
    ) -> Result<(), ModelError>;
}

/// One prepared request, sent once per attempt.
#[derive(Debug, Clone)]
struct Prepared {
    url: String,
    headers: HeaderMap,
    body: Bytes,
    idle: Duration,
    info: ApiInfo,
}

/// Sends the request with retries on a spawned task and returns the stream of its events.
fn spawn_stream<D, F>(
    http: reqwest::Client,
    prepared: Prepared,
    policy: RetryPolicy,
    make_decoder: F,
) -> EventStream
where
    D: Decoder + 'static,
    F: Fn() -> D + Send + Sync + 'static,
{
    let (tx, rx) = mpsc::channel(64);
    tokio::spawn(async move {
        let prepared = &prepared;
        let http = &http;
        let make_decoder = &make_decoder;
        retry::run_with_retries(&policy, tx, |emitter| async move {
            let mut decoder = make_decoder();
            attempt(http, prepared, &mut decoder, &emitter).await
        })
        .await;
    });
    EventStream { rx }
}

/// One attempt: send, check the status, read the body with the idle timeout, decode.
async fn attempt(
    http: &reqwest::Client,
    p: &Prepared,
    decoder: &mut dyn Decoder,
    emitter: &Emitter,
) -> Result<(), ModelError> {
    let send = http
        .post(&p.url)
        .headers(p.headers.clone())
        .body(p.body.clone())
        .send();
    let response = match tokio::time::timeout(p.idle, send).await {
        Err(_) => return Err(ModelError::IdleTimeout(p.idle)),
        Ok(Err(e)) => {
            return Err(ModelError::Connect {
                url: p.url.clone(),
                detail: error_chain(&e),
            })
        }
        Ok(Ok(r)) => r,
    };
    let status = response.status();
    if !status.is_success() {
        let headers = response.headers().clone();
        let body = match tokio::time::timeout(p.idle, response.bytes()).await {
            Ok(Ok(b)) => b,
            _ => Bytes::new(),
        };
        return Err(status_error(&p.info, status.as_u16(), &headers, &body));
    }
    let content_type = response
        .headers()
        .get(reqwest::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_ascii_lowercase();
    if content_type.starts_with("application/json") {
        // A server (or proxy) that ignored `stream: true`, or sent an error with status 200.
        let body = match tokio::time::timeout(p.idle, response.bytes()).await {
            Ok(Ok(b)) => b,
            _ => Bytes::new(),
        };
        let (_, detail) = error_body(&body);
        return Err(ModelError::Protocol(format!(
            "expected an event stream from {} but got {content_type}: {detail}",
            p.url
        )));
    }
    let mut body = response.bytes_stream();
    let mut parser = SseParser::new();
    let mut out = Vec::new();
    loop {
        let chunk = match tokio::time::timeout(p.idle, body.next()).await {
            Err(_) => return Err(ModelError::IdleTimeout(p.idle)),
            Ok(None) => {
                let truncated = parser.finish().err();
                let result = decoder.on_eof(truncated, &mut out);
                flush(emitter, &mut out).await?;
                return result;
            }
            Ok(Some(Err(e))) => return Err(ModelError::StreamDropped(error_chain(&e))),
            Ok(Some(Ok(chunk))) => chunk,
        };
        for event in parser.push(&chunk) {
            let result = decoder.on_event(event, &mut out);
            flush(emitter, &mut out).await?;
            if result? {
                return Ok(());
            }
        }
    }
}

async fn flush(emitter: &Emitter, out: &mut Vec<ModelEvent>) -> Result<(), ModelError> {
    for event in out.drain(..) {
        emitter.emit(event).await?;
    }
    Ok(())
}

/// Parses a tool call's accumulated argument JSON: empty means `{}`.
fn parse_tool_input(id: &str, name: &str, raw: &str) -> Result<Value, ModelError> {
    if raw.trim().is_empty() {
        return Ok(Value::Object(Default::default()));
    }
    serde_json::from_str(raw).map_err(|e| ModelError::InvalidToolInput {
        id: id.to_string(),
        name: name.to_string(),
        error: e.to_string(),
        raw: clip(raw, 500),
    })
}

/// A JSON number field as u64 (0 when absent or not a count).
fn count(v: &Value, key: &str) -> u64 {
    v.get(key).and_then(Value::as_u64).unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn info() -> ApiInfo {
        ApiInfo {
            name: "Anthropic",
            key_env: "ANTHROPIC_API_KEY".into(),
            model: "anthropic:m".into(),
            url: "http://x/v1/messages".into(),
        }
    }

    #[test]
    fn status_errors_say_what_to_do() {
        let h = HeaderMap::new();
        let body = br#"{"type":"error","error":{"type":"authentication_error","message":"invalid x-api-key"}}"#;
        let e = status_error(&info(), 401, &h, body);
        assert!(!e.is_retryable());
        assert_eq!(
            e.to_string(),
            "the Anthropic API rejected the API key (401: authentication_error: invalid x-api-key): check ANTHROPIC_API_KEY"
        );
        let e = status_error(&info(), 404, &h, b"not found");
        assert!(e.to_string().starts_with("model not found: check --model"));
        assert!(!e.is_retryable());
        for s in [429, 500, 502, 503, 504, 529] {
            assert!(status_error(&info(), s, &h, b"").is_retryable(), "{s}");
        }
        for s in [400, 401, 403, 404, 413, 422] {
            assert!(!status_error(&info(), s, &h, b"").is_retryable(), "{s}");
        }
        let e = status_error(
            &info(),
            400,
            &h,
            br#"{"error":{"message":"bad tools","type":"invalid_request_error","code":null}}"#,
        );
        assert_eq!(
            e.to_string(),
            "the Anthropic API rejected the request (400: invalid_request_error: bad tools)"
        );
    }

    #[test]
    fn server_retry_word_and_request_id() {
        let mut h = HeaderMap::new();
        h.insert("x-should-retry", "false".parse().unwrap());
        h.insert("request-id", "req_011abc".parse().unwrap());
        let e = status_error(&info(), 529, &h, b"");
        assert!(!e.is_retryable());
        assert!(e.to_string().ends_with("[request id req_011abc]"), "{e}");
        let mut h = HeaderMap::new();
        h.insert("x-should-retry", "true".parse().unwrap());
        assert!(status_error(&info(), 400, &h, b"").is_retryable());
    }

    #[test]
    fn loopback_detection() {
        assert!(is_loopback("http://127.0.0.1:8080/v1"));
        assert!(is_loopback("http://localhost:11434/v1"));
        assert!(is_loopback("http://[::1]:1/v1"));
        assert!(!is_loopback("https://api.anthropic.com"));
        assert!(!is_loopback("https://127.0.0.1.evil.example"));
    }

    #[test]
    fn tool_input_parsing() {
        assert_eq!(
            parse_tool_input("a", "t", " ").unwrap(),
            serde_json::json!({})
        );
        assert_eq!(
            parse_tool_input("a", "t", r#"{"x":1}"#).unwrap(),
            serde_json::json!({"x":1})
        );
        let e = parse_tool_input("toolu_1", "navigate", r#"{"url": "ht"#).unwrap_err();
        assert!(!e.is_retryable());
        assert!(e.to_string().contains("toolu_1 (navigate)"), "{e}");
    }
}
