//! A scripted model server: a real HTTP/1.1 server on 127.0.0.1 that answers model API
//! requests from a queue of [`Reply`]s, in the exact wire formats of the Anthropic Messages
//! API (`POST …/v1/messages`) and OpenAI Chat Completions (`POST …/chat/completions`), and
//! records every request.
//!
//! ```text
//! let server = ModelServer::start().await;
//! server.push(Turn::text("hi"));
//! server.push(Turn::tool_use("toolu_1", "navigate", json!({"url": "https://example.com"})));
//! server.push(Reply::status(529, OVERLOADED).header("retry-after", "1"));
//! // … point a client at server.anthropic_url() or server.openai_url() …
//! assert_eq!(server.requests()[0].header("x-api-key"), Some("k"));
//! ```
//!
//! A [`Turn`] is served in whichever format the request's path asks for, so one script works
//! for both providers. Streams use chunked transfer encoding, and each SSE event is written
//! in two HTTP chunks split at a varying byte offset with a flush between, so clients see
//! events cut across reads. Faults: an HTTP status with body and headers, a stream cut after
//! N events (the connection closes mid-event, without the chunked terminator), a stall after
//! N events, and a hang before the response headers (both bounded: the connection closes
//! after the given time).

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::{json, Value};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

use crate::agent::protocol::Usage;

/// Anthropic's body for 529.
pub const ANTHROPIC_OVERLOADED: &str =
    r#"{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}"#;

/// One request as the server received it.
#[derive(Debug, Clone, PartialEq)]
pub struct RecordedRequest {
    /// `POST`.
    pub method: String,
    /// The path, e.g. `/v1/messages`.
    pub path: String,
    /// Header names (lowercase) and values, in order.
    pub headers: Vec<(String, String)>,
    /// The body as JSON (`Null` when it was not JSON).
    pub body: Value,
}

impl RecordedRequest {
    /// A header's value (name case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        let name = name.to_ascii_lowercase();
        self.headers
            .iter()
            .find(|(k, _)| *k == name)
            .map(|(_, v)| v.as_str())
    }
}

/// One block of a scripted assistant turn.
#[derive(Debug, Clone, PartialEq)]
enum Block {
    Text(String),
    Thinking {
        thinking: String,
        signature: String,
    },
    Redacted(String),
    ToolUse {
        id: String,
        name: String,
        args: String,
    },
}

/// A scripted assistant turn, served as a stream.
#[derive(Debug, Clone, PartialEq)]
pub struct Turn {
    blocks: Vec<Block>,
    usage: Usage,
    stop_reason: Option<String>,
    unknown_events: bool,
    fragment_len: usize,
    send_usage: bool,
}

impl Default for Turn {
    fn default() -> Turn {
        Turn {
            blocks: Vec::new(),
            usage: Usage {
                input_tokens: 10,
                output_tokens: 5,
                cache_read_tokens: 0,
                cache_write_tokens: 0,
            },
            stop_reason: None,
            unknown_events: false,
            fragment_len: 4,
            send_usage: true,
        }
    }
}

impl Turn {
    /// An empty turn (add blocks with the builder methods).
    pub fn new() -> Turn {
        Turn::default()
    }

    /// A turn with one text block.
    pub fn text(text: impl Into<String>) -> Turn {
        Turn::new().with_text(text)
    }

    /// A turn with one tool call.
    pub fn tool_use(id: impl Into<String>, name: impl Into<String>, input: Value) -> Turn {
        Turn::new().with_tool_use(id, name, input)
    }

    /// Adds a text block.
    pub fn with_text(mut self, text: impl Into<String>) -> Turn {
        self.blocks.push(Block::Text(text.into()));
        self
    }

    /// Adds a thinking block with its signature (OpenAI format: `reasoning_content`, no
    /// signature).
    pub fn with_thinking(
        mut self,
        thinking: impl Into<String>,
        signature: impl Into<String>,
    ) -> Turn {
        self.blocks.push(Block::Thinking {
            thinking: thinking.into(),
            signature: signature.into(),
        });
        self
    }

    /// Adds a redacted thinking block (Anthropic only; left out of OpenAI streams).
    pub fn with_redacted_thinking(mut self, data: impl Into<String>) -> Turn {
        self.blocks.push(Block::Redacted(data.into()));
        self
    }

    /// Adds a tool call.
    pub fn with_tool_use(
        self,
        id: impl Into<String>,
        name: impl Into<String>,
        input: Value,
    ) -> Turn {
        self.with_raw_tool_use(id, name, input.to_string())
    }

    /// Adds a tool call whose arguments are this exact text (e.g. invalid JSON).
    pub fn with_raw_tool_use(
        mut self,
        id: impl Into<String>,
        name: impl Into<String>,
        args: impl Into<String>,
    ) -> Turn {
        self.blocks.push(Block::ToolUse {
            id: id.into(),
            name: name.into(),
            args: args.into(),
        });
        self
    }

    /// Sets the usage the stream reports (OpenAI: `prompt_tokens` = input + cache read).
    pub fn with_usage(mut self, usage: Usage) -> Turn {
        self.usage = usage;
        self
    }

    /// Sends no usage at all (OpenAI format; servers that ignore `include_usage`).
    pub fn without_usage(mut self) -> Turn {
        self.send_usage = false;
        self
    }

    /// Sets the stop reason as the wire spells it (default: tool use when the turn has tool
    /// calls, else the end of the turn).
    pub fn with_stop_reason(mut self, reason: impl Into<String>) -> Turn {
        self.stop_reason = Some(reason.into());
        self
    }

    /// Mixes in event types, block types, delta types and fields no client knows, plus
    /// comments.
    pub fn with_unknown_events(mut self) -> Turn {
        self.unknown_events = true;
        self
    }

    /// Splits text, thinking and arguments into deltas of this many characters (default 4).
    pub fn with_fragment_len(mut self, n: usize) -> Turn {
        self.fragment_len = n.max(1);
        self
    }

    /// Serve this turn but close the connection in the middle of event `after_events + 1`.
    pub fn cut_after(self, after_events: usize) -> Reply {
        Reply::Cut {
            turn: self,
            after_events,
        }
    }

    /// Serve `after_events` events of this turn, then send nothing for `stall` and close.
    pub fn stall_after(self, after_events: usize, stall: Duration) -> Reply {
        Reply::Stall {
            turn: self,
            after_events,
            stall,
        }
    }

    /// Serve `after_events` events of this turn, then an "overloaded" error event in the
    /// request's format (Anthropic `event: error`, OpenAI `{"error": …}`), then end the
    /// stream cleanly.
    pub fn overloaded_after(self, after_events: usize) -> Reply {
        Reply::ErrorEvent {
            turn: self,
            after_events,
        }
    }

    fn has_tools(&self) -> bool {
        self.blocks
            .iter()
            .any(|b| matches!(b, Block::ToolUse { .. }))
    }

    /// The turn as Anthropic SSE events.
    fn anthropic_events(&self, model: &str) -> Vec<String> {
        let ev = |v: Value| {
            let kind = v["type"].as_str().unwrap_or("unknown").to_string();
            format!("event: {kind}\ndata: {v}\n\n")
        };
        let mut out = Vec::new();
        out.push(ev(json!({
            "type": "message_start",
            "message": {
                "id": "msg_scripted", "type": "message", "role": "assistant", "model": model,
                "content": [], "stop_reason": null, "stop_sequence": null,
                "usage": {
                    "input_tokens": self.usage.input_tokens,
                    "cache_creation_input_tokens": self.usage.cache_write_tokens,
                    "cache_read_input_tokens": self.usage.cache_read_tokens,
                    "output_tokens": 1,
                    "service_tier": "standard"
                }
            }
        })));
        out.push(ev(json!({"type": "ping"})));
        let n = self.fragment_len;
        for (index, block) in self.blocks.iter().enumerate() {
            let delta =
                |d: Value| ev(json!({"type": "content_block_delta", "index": index, "delta": d}));
            match block {
                Block::Text(text) => {
                    out.push(ev(json!({"type": "content_block_start", "index": index,
                        "content_block": {"type": "text", "text": ""}})));
                    for piece in pieces(text, n) {
                        out.push(delta(json!({"type": "text_delta", "text": piece})));
                    }
                    if self.unknown_events {
                        out.push(delta(json!({"type": "citations_delta", "citation": {"type": "char_location", "cited_text": "x"}})));
                    }
                }
                Block::Thinking {
                    thinking,
                    signature,
                } => {
                    out.push(ev(json!({"type": "content_block_start", "index": index,
                        "content_block": {"type": "thinking", "thinking": "", "signature": ""}})));
                    for piece in pieces(thinking, n) {
                        out.push(delta(json!({"type": "thinking_delta", "thinking": piece})));
                    }
                    out.push(delta(
                        json!({"type": "signature_delta", "signature": signature}),
                    ));
                }
                Block::Redacted(data) => {
                    out.push(ev(json!({"type": "content_block_start", "index": index,
                        "content_block": {"type": "redacted_thinking", "data": data}})));
                }
                Block::ToolUse { id, name, args } => {
                    out.push(ev(json!({"type": "content_block_start", "index": index,
                        "content_block": {"type": "tool_use", "id": id, "name": name, "input": {}}})));
                    out.push(delta(
                        json!({"type": "input_json_delta", "partial_json": ""}),
                    ));
                    for piece in pieces(args, n) {
                        out.push(delta(
                            json!({"type": "input_json_delta", "partial_json": piece}),
                        ));
                    }
                }
            }
            out.push(ev(json!({"type": "content_block_stop", "index": index})));
            if self.unknown_events && index == 0 {
                out.push(ev(json!({"type": "ping"})));
                out.push(": a comment line\n\n".to_string());
                out.push(ev(json!({"type": "some_future_event", "detail": {"x": 1}})));
            }
        }
        if self.unknown_events {
            let index = self.blocks.len();
            out.push(ev(json!({"type": "content_block_start", "index": index,
                "content_block": {"type": "some_future_block", "payload": 1}})));
            out.push(ev(json!({"type": "content_block_delta", "index": index,
                "delta": {"type": "some_future_delta", "payload": 2}})));
            out.push(ev(json!({"type": "content_block_stop", "index": index})));
        }
        let stop = self.stop_reason.clone().unwrap_or_else(|| {
            if self.has_tools() {
                "tool_use"
            } else {
                "end_turn"
            }
            .to_string()
        });
        out.push(ev(json!({
            "type": "message_delta",
            "delta": {"stop_reason": stop, "stop_sequence": null},
            "usage": {"output_tokens": self.usage.output_tokens}
        })));
        out.push(ev(json!({"type": "message_stop"})));
        out
    }

    /// The turn as OpenAI Chat Completions chunks.
    fn openai_events(&self, model: &str, include_usage: bool) -> Vec<String> {
        let chunk = |delta: Value, finish: Value| {
            let v = json!({
                "id": "chatcmpl-scripted", "object": "chat.completion.chunk", "created": 1700000000,
                "model": model, "system_fingerprint": "fp_scripted",
                "choices": [{"index": 0, "delta": delta, "logprobs": null, "finish_reason": finish}]
            });
            format!("data: {v}\n\n")
        };
        let n = self.fragment_len;
        let mut out = vec![chunk(
            json!({"role": "assistant", "content": ""}),
            Value::Null,
        )];
        if self.unknown_events {
            out.push(": OPENROUTER PROCESSING\n\n".to_string());
            out.push(chunk(
                json!({"refusal": null, "some_future_field": {"x": 1}}),
                Value::Null,
            ));
            out.push("event: some_future_event\ndata: {\"choices\":[]}\n\n".to_string());
        }
        let mut tool_index = 0;
        for block in &self.blocks {
            match block {
                Block::Text(text) => {
                    for piece in pieces(text, n) {
                        out.push(chunk(json!({"content": piece}), Value::Null));
                    }
                }
                Block::Thinking { thinking, .. } => {
                    for piece in pieces(thinking, n) {
                        out.push(chunk(json!({"reasoning_content": piece}), Value::Null));
                    }
                }
                Block::Redacted(_) => {}
                Block::ToolUse { id, name, args } => {
                    out.push(chunk(
                        json!({"tool_calls": [{"index": tool_index, "id": id, "type": "function",
                            "function": {"name": name, "arguments": ""}}]}),
                        Value::Null,
                    ));
                    for piece in pieces(args, n) {
                        out.push(chunk(
                            json!({"tool_calls": [{"index": tool_index, "function": {"arguments": piece}}]}),
                            Value::Null,
                        ));
                    }
                    tool_index += 1;
                }
            }
        }
        let stop = self.stop_reason.clone().unwrap_or_else(|| {
            if self.has_tools() {
                "tool_calls"
            } else {
                "stop"
            }
            .to_string()
        });
        out.push(chunk(json!({}), json!(stop)));
        if include_usage && self.send_usage {
            let u = &self.usage;
            let prompt = u.input_tokens + u.cache_read_tokens;
            let v = json!({
                "id": "chatcmpl-scripted", "object": "chat.completion.chunk", "created": 1700000000,
                "model": model, "choices": [],
                "usage": {
                    "prompt_tokens": prompt,
                    "completion_tokens": u.output_tokens,
                    "total_tokens": prompt + u.output_tokens,
                    "prompt_tokens_details": {"cached_tokens": u.cache_read_tokens}
                }
            });
            out.push(format!("data: {v}\n\n"));
        }
        out.push("data: [DONE]\n\n".to_string());
        out
    }
}

/// `s` in pieces of `n` characters.
fn pieces(s: &str, n: usize) -> Vec<String> {
    let chars: Vec<char> = s.chars().collect();
    chars.chunks(n).map(|c| c.iter().collect()).collect()
}

/// One scripted response.
#[derive(Debug, Clone, PartialEq)]
pub enum Reply {
    /// A complete streamed turn.
    Turn(Turn),
    /// A plain HTTP response.
    Status {
        /// The status code.
        status: u16,
        /// Extra headers.
        headers: Vec<(String, String)>,
        /// The body (sent as `application/json`).
        body: String,
    },
    /// A turn whose connection closes in the middle of the event after `after_events`.
    Cut {
        /// The turn.
        turn: Turn,
        /// Whole events sent before the cut.
        after_events: usize,
    },
    /// A turn that stops sending after `after_events` events for `stall`, then closes.
    Stall {
        /// The turn.
        turn: Turn,
        /// Events sent before the stall.
        after_events: usize,
        /// How long nothing is sent.
        stall: Duration,
    },
    /// A turn that sends `after_events` events, then an overloaded error event, then ends.
    ErrorEvent {
        /// The turn.
        turn: Turn,
        /// Events sent before the error.
        after_events: usize,
    },
    /// No response at all (not even headers) for this long, then the connection closes.
    Hang(Duration),
}

impl Reply {
    /// An HTTP error (or any status) with a JSON body.
    pub fn status(status: u16, body: impl Into<String>) -> Reply {
        Reply::Status {
            status,
            headers: Vec::new(),
            body: body.into(),
        }
    }

    /// Adds a header to a [`Reply::Status`] (no effect on other replies).
    pub fn header(mut self, name: impl Into<String>, value: impl Into<String>) -> Reply {
        if let Reply::Status { headers, .. } = &mut self {
            headers.push((name.into(), value.into()));
        }
        self
    }
}

impl From<Turn> for Reply {
    fn from(turn: Turn) -> Reply {
        Reply::Turn(turn)
    }
}

#[derive(Debug, Default)]
struct State {
    queue: VecDeque<Reply>,
    requests: Vec<RecordedRequest>,
    disconnects: usize,
}

/// The server. Stops when dropped.
#[derive(Debug)]
pub struct ModelServer {
    addr: SocketAddr,
    state: Arc<Mutex<State>>,
    task: tokio::task::JoinHandle<()>,
}

impl ModelServer {
    /// Starts a server on a free port of 127.0.0.1.
    pub async fn start() -> ModelServer {
        let listener = match TcpListener::bind("127.0.0.1:0").await {
            Ok(l) => l,
            Err(e) => panic!("model server: cannot bind 127.0.0.1: {e}"),
        };
        let addr = match listener.local_addr() {
            Ok(a) => a,
            Err(e) => panic!("model server: no local address: {e}"),
        };
        let state = Arc::new(Mutex::new(State::default()));
        let shared = state.clone();
        let task = tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let state = shared.clone();
                tokio::spawn(async move {
                    let _ = serve(stream, state).await;
                });
            }
        });
        ModelServer { addr, state, task }
    }

    /// `http://127.0.0.1:PORT`: the Anthropic base URL.
    pub fn anthropic_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// `http://127.0.0.1:PORT/v1`: the OpenAI base URL.
    pub fn openai_url(&self) -> String {
        format!("http://{}/v1", self.addr)
    }

    /// Queues a reply.
    pub fn push(&self, reply: impl Into<Reply>) {
        self.lock().queue.push_back(reply.into());
    }

    /// The requests received so far, in order.
    pub fn requests(&self) -> Vec<RecordedRequest> {
        self.lock().requests.clone()
    }

    /// How many stalled or hanging replies saw the client close the connection before the
    /// stall ended (a client that gives up, or whose consumer dropped the stream).
    pub fn disconnects(&self) -> usize {
        self.lock().disconnects
    }

    /// Replies not yet served.
    pub fn remaining(&self) -> usize {
        self.lock().queue.len()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }
}

impl Drop for ModelServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

enum Format {
    Anthropic,
    OpenAi,
}

async fn serve(mut stream: TcpStream, state: Arc<Mutex<State>>) -> std::io::Result<()> {
    stream.set_nodelay(true)?;
    // A TLS ClientHello (a client told to use https): answer in plain HTTP, as a
    // misconfigured server would, so the client's handshake fails at once.
    let mut first = [0u8; 1];
    if stream.peek(&mut first).await? == 1 && first[0] == 0x16 {
        stream
            .write_all(b"HTTP/1.1 400 Bad Request\r\nconnection: close\r\n\r\n")
            .await?;
        return stream.shutdown().await;
    }
    let Some(request) = read_request(&mut stream).await? else {
        return Ok(());
    };
    let format = if request.path.ends_with("/v1/messages") {
        Some(Format::Anthropic)
    } else if request.path.ends_with("/chat/completions") {
        Some(Format::OpenAi)
    } else {
        None
    };
    let model = request.body["model"].as_str().unwrap_or("").to_string();
    let include_usage = request.body["stream_options"]["include_usage"] == json!(true);
    let reply = {
        let mut s = state.lock().unwrap_or_else(|p| p.into_inner());
        s.requests.push(request);
        if format.is_some() {
            s.queue.pop_front()
        } else {
            None
        }
    };
    let Some(format) = format else {
        return write_status(
            &mut stream,
            404,
            &[],
            r#"{"error":{"type":"not_found_error","message":"no such endpoint"}}"#,
        )
        .await;
    };
    let Some(reply) = reply else {
        return write_status(
            &mut stream,
            400,
            &[],
            r#"{"error":{"type":"invalid_request_error","message":"model server: no scripted reply left"}}"#,
        )
        .await;
    };
    let events = |turn: &Turn| match format {
        Format::Anthropic => turn.anthropic_events(&model),
        Format::OpenAi => turn.openai_events(&model, include_usage),
    };
    match reply {
        Reply::Status {
            status,
            headers,
            body,
        } => write_status(&mut stream, status, &headers, &body).await,
        Reply::Turn(turn) => {
            write_stream_head(&mut stream).await?;
            for (i, e) in events(&turn).iter().enumerate() {
                write_event(&mut stream, i, e).await?;
            }
            stream.write_all(b"0\r\n\r\n").await?;
            stream.flush().await?;
            stream.shutdown().await
        }
        Reply::Cut { turn, after_events } => {
            write_stream_head(&mut stream).await?;
            let all = events(&turn);
            for (i, e) in all.iter().take(after_events).enumerate() {
                write_event(&mut stream, i, e).await?;
            }
            if let Some(next) = all.get(after_events) {
                let half = &next.as_bytes()[..next.len() / 2];
                write_chunk(&mut stream, half).await?;
            }
            // Closing without the terminating chunk: the body is incomplete.
            Ok(())
        }
        Reply::ErrorEvent { turn, after_events } => {
            write_stream_head(&mut stream).await?;
            let all = events(&turn);
            for (i, e) in all.iter().take(after_events).enumerate() {
                write_event(&mut stream, i, e).await?;
            }
            let error = match format {
                Format::Anthropic => format!("event: error\ndata: {ANTHROPIC_OVERLOADED}\n\n"),
                Format::OpenAi => "data: {\"error\":{\"message\":\"The server is overloaded\",\"type\":\"server_error\",\"code\":503}}\n\n".to_string(),
            };
            write_event(&mut stream, after_events, &error).await?;
            stream.write_all(b"0\r\n\r\n").await?;
            stream.flush().await?;
            stream.shutdown().await
        }
        Reply::Stall {
            turn,
            after_events,
            stall,
        } => {
            write_stream_head(&mut stream).await?;
            for (i, e) in events(&turn).iter().take(after_events).enumerate() {
                write_event(&mut stream, i, e).await?;
            }
            wait_or_disconnect(&mut stream, stall, &state).await;
            Ok(())
        }
        Reply::Hang(d) => {
            wait_or_disconnect(&mut stream, d, &state).await;
            Ok(())
        }
    }
}

/// Waits `d`, or until the client closes the connection (counted in `disconnects`).
async fn wait_or_disconnect(stream: &mut TcpStream, d: Duration, state: &Mutex<State>) {
    let mut buf = [0u8; 256];
    let deadline = tokio::time::Instant::now() + d;
    loop {
        tokio::select! {
            _ = tokio::time::sleep_until(deadline) => return,
            n = stream.read(&mut buf) => {
                if matches!(n, Ok(0) | Err(_)) {
                    state.lock().unwrap_or_else(|p| p.into_inner()).disconnects += 1;
                    return;
                }
            }
        }
    }
}

async fn read_request(stream: &mut TcpStream) -> std::io::Result<Option<RecordedRequest>> {
    let mut buf = Vec::new();
    let mut scratch = [0u8; 4096];
    let head_end = loop {
        if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break i + 4;
        }
        let n = stream.read(&mut scratch).await?;
        if n == 0 {
            return Ok(None);
        }
        buf.extend_from_slice(&scratch[..n]);
    };
    let head = String::from_utf8_lossy(&buf[..head_end]).into_owned();
    let mut lines = head.split("\r\n");
    let mut first = lines.next().unwrap_or("").split_whitespace();
    let method = first.next().unwrap_or("").to_string();
    let path = first.next().unwrap_or("").to_string();
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_string()))
        .collect();
    let length = headers
        .iter()
        .find(|(k, _)| k == "content-length")
        .and_then(|(_, v)| v.parse::<usize>().ok())
        .unwrap_or(0);
    let mut body = buf[head_end..].to_vec();
    while body.len() < length {
        let n = stream.read(&mut scratch).await?;
        if n == 0 {
            break;
        }
        body.extend_from_slice(&scratch[..n]);
    }
    body.truncate(length);
    Ok(Some(RecordedRequest {
        method,
        path,
        headers,
        body: serde_json::from_slice(&body).unwrap_or(Value::Null),
    }))
}

fn reason(status: u16) -> &'static str {
    match status {
        200 => "OK",
        400 => "Bad Request",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        429 => "Too Many Requests",
        500 => "Internal Server Error",
        502 => "Bad Gateway",
        503 => "Service Unavailable",
        504 => "Gateway Timeout",
        529 => "Overloaded",
        _ => "Status",
    }
}

async fn write_status(
    stream: &mut TcpStream,
    status: u16,
    headers: &[(String, String)],
    body: &str,
) -> std::io::Result<()> {
    let mut head = format!(
        "HTTP/1.1 {status} {}\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n",
        reason(status),
        body.len()
    );
    for (k, v) in headers {
        head.push_str(&format!("{k}: {v}\r\n"));
    }
    head.push_str("\r\n");
    stream.write_all(head.as_bytes()).await?;
    stream.write_all(body.as_bytes()).await?;
    stream.flush().await?;
    stream.shutdown().await
}

async fn write_stream_head(stream: &mut TcpStream) -> std::io::Result<()> {
    stream
        .write_all(
            b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream; charset=utf-8\r\ncache-control: no-cache\r\ntransfer-encoding: chunked\r\nconnection: close\r\n\r\n",
        )
        .await?;
    stream.flush().await
}

/// Writes one SSE event as two HTTP chunks split at an offset that varies with `i`.
async fn write_event(stream: &mut TcpStream, i: usize, event: &str) -> std::io::Result<()> {
    let bytes = event.as_bytes();
    let cut = if bytes.len() > 1 {
        1 + (i * 7 + 3) % (bytes.len() - 1)
    } else {
        bytes.len()
    };
    write_chunk(stream, &bytes[..cut]).await?;
    if cut < bytes.len() {
        write_chunk(stream, &bytes[cut..]).await?;
    }
    Ok(())
}

async fn write_chunk(stream: &mut TcpStream, bytes: &[u8]) -> std::io::Result<()> {
    if bytes.is_empty() {
        return Ok(());
    }
    stream
        .write_all(format!("{:x}\r\n", bytes.len()).as_bytes())
        .await?;
    stream.write_all(bytes).await?;
    stream.write_all(b"\r\n").await?;
    stream.flush().await
}
