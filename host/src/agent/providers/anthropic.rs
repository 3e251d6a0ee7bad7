//! The Anthropic Messages API client: `POST {base}/v1/messages` with `stream: true`.
//!
//! Stream events handled: `message_start` (input usage), `content_block_start` /
//! `content_block_delta` / `content_block_stop` (text, thinking with its signature,
//! redacted thinking, tool use with `input_json_delta` fragments), `message_delta` (stop
//! reason, cumulative usage), `message_stop`, `ping` and `error`. Unknown event types, block
//! types and delta types are ignored. Thinking blocks are kept with their signatures in the
//! assembled message, and [`request_body`] sends them back unchanged.

use std::collections::BTreeMap;

use reqwest::header::{HeaderMap, HeaderName, HeaderValue, CONTENT_TYPE};
use serde_json::{json, Map, Value};

use super::sse::{SseEvent, Truncated};
use super::{
    count, http_client, parse_tool_input, spawn_stream, ApiInfo, Decoder, EventStream, ModelClient,
    ModelError, Prepared,
};
use crate::agent::config::{ModelConfig, Provider};
use crate::agent::protocol::{
    AssistantTurn, ContentBlock, ImageData, Message, ModelEvent, ModelRequest, Role, StopReason,
    ToolResultContent, Usage,
};

/// The API version header value.
pub const ANTHROPIC_VERSION: &str = "2023-06-01";

/// A client for the Anthropic Messages API.
#[derive(Debug, Clone)]
pub struct AnthropicClient {
    http: reqwest::Client,
    config: ModelConfig,
}

impl AnthropicClient {
    /// A client for `config` (its provider should be Anthropic).
    pub fn new(config: &ModelConfig) -> Result<AnthropicClient, ModelError> {
        Ok(AnthropicClient {
            http: http_client(config)?,
            config: config.clone(),
        })
    }

    fn headers(&self) -> Result<HeaderMap, ModelError> {
        let mut h = HeaderMap::new();
        h.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
        h.insert(
            HeaderName::from_static("anthropic-version"),
            HeaderValue::from_static(ANTHROPIC_VERSION),
        );
        if let Some(key) = &self.config.api_key {
            let mut v = HeaderValue::from_str(key).map_err(|_| {
                ModelError::Setup(format!(
                    "the key in {} is not a valid header value",
                    self.config.api_key_env
                ))
            })?;
            v.set_sensitive(true);
            h.insert(HeaderName::from_static("x-api-key"), v);
        }
        Ok(h)
    }
}

impl ModelClient for AnthropicClient {
    fn provider(&self) -> Provider {
        Provider::Anthropic
    }

    fn model(&self) -> &str {
        &self.config.spec.model
    }

    fn stream(&self, request: ModelRequest) -> EventStream {
        let headers = match self.headers() {
            Ok(h) => h,
            Err(e) => return EventStream::failed(e),
        };
        let body = request_body(
            &self.config.spec.model,
            &request,
            self.config.max_tokens,
            self.config.prompt_caching,
        );
        let url = format!("{}/v1/messages", self.config.base_url.trim_end_matches('/'));
        let prepared = Prepared {
            info: ApiInfo {
                name: "Anthropic",
                key_env: self.config.api_key_env.clone(),
                model: self.config.spec.to_string(),
                url: url.clone(),
            },
            url,
            headers,
            body: body.to_string().into(),
            idle: self.config.idle_timeout,
        };
        spawn_stream(
            self.http.clone(),
            prepared,
            self.config.retry.clone(),
            AnthropicDecoder::default,
        )
    }
}

/// The JSON body for `request`. Extended thinking, when asked for, turns `temperature` off
/// (the API accepts no other value with thinking on). With `prompt_caching` (see
/// [`ModelConfig::prompt_caching`]), the system prompt is sent as a text block and the last
/// tool, the system block and the last block of the last message carry
/// `cache_control: {"type": "ephemeral"}`.
pub fn request_body(
    model: &str,
    request: &ModelRequest,
    default_max_tokens: u32,
    prompt_caching: bool,
) -> Value {
    let max_tokens = if request.max_tokens > 0 {
        request.max_tokens
    } else {
        default_max_tokens
    };
    let mut body = Map::new();
    body.insert("model".into(), json!(model));
    body.insert("max_tokens".into(), json!(max_tokens));
    body.insert("stream".into(), json!(true));
    let cache = prompt_caching;
    if !request.system.is_empty() {
        let system = if cache {
            json!([{"type": "text", "text": request.system, "cache_control": ephemeral()}])
        } else {
            json!(request.system)
        };
        body.insert("system".into(), system);
    }
    let mut messages: Vec<Value> = request.messages.iter().map(message_json).collect();
    if cache {
        if let Some(last) = messages
            .last_mut()
            .and_then(|m| m["content"].as_array_mut())
            .and_then(|c| c.last_mut())
        {
            if last["type"] != "thinking" && last["type"] != "redacted_thinking" {
                last["cache_control"] = ephemeral();
            }
        }
    }
    body.insert("messages".into(), Value::Array(messages));
    if !request.tools.is_empty() {
        let tools = request
            .tools
            .iter()
            .map(|t| {
                json!({
                    "name": t.name,
                    "description": t.description,
                    "input_schema": t.input_schema,
                })
            })
            .collect::<Vec<_>>();
        let mut tools = tools;
        if cache {
            if let Some(last) = tools.last_mut() {
                last["cache_control"] = ephemeral();
            }
        }
        body.insert("tools".into(), Value::Array(tools));
    }
    match request.thinking_budget {
        Some(budget) => {
            body.insert(
                "thinking".into(),
                json!({"type": "enabled", "budget_tokens": budget}),
            );
        }
        None => {
            if let Some(t) = request.temperature {
                body.insert("temperature".into(), json!(t));
            }
        }
    }
    Value::Object(body)
}

fn ephemeral() -> Value {
    json!({"type": "ephemeral"})
}

fn message_json(m: &Message) -> Value {
    let role = match m.role {
        Role::User => "user",
        Role::Assistant => "assistant",
    };
    json!({
        "role": role,
        "content": m.content.iter().map(block_json).collect::<Vec<_>>(),
    })
}

fn image_json(image: &ImageData) -> Value {
    json!({
        "type": "image",
        "source": {"type": "base64", "media_type": image.media_type, "data": image.data},
    })
}

fn block_json(b: &ContentBlock) -> Value {
    match b {
        ContentBlock::Text { text } => json!({"type": "text", "text": text}),
        ContentBlock::Image { image } => image_json(image),
        ContentBlock::ToolUse { id, name, input } => {
            json!({"type": "tool_use", "id": id, "name": name, "input": input})
        }
        ContentBlock::ToolResult {
            tool_use_id,
            content,
            is_error,
        } => {
            let content: Vec<Value> = content
                .iter()
                .map(|c| match c {
                    ToolResultContent::Text { text } => json!({"type": "text", "text": text}),
                    ToolResultContent::Image { image } => image_json(image),
                })
                .collect();
            let mut v =
                json!({"type": "tool_result", "tool_use_id": tool_use_id, "content": content});
            if *is_error {
                v["is_error"] = json!(true);
            }
            v
        }
        ContentBlock::Thinking {
            thinking,
            signature,
        } => json!({"type": "thinking", "thinking": thinking, "signature": signature}),
        ContentBlock::RedactedThinking { data } => {
            json!({"type": "redacted_thinking", "data": data})
        }
    }
}

/// A content block being streamed.
#[derive(Debug)]
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
        json: String,
        /// The `input` of `content_block_start`, used when no fragments follow.
        initial: Value,
        done: Option<Value>,
        /// The arguments did not parse; reported at `message_stop` unless the turn hit
        /// `max_tokens` (then the cut-off call is dropped).
        error: Option<ModelError>,
    },
    /// A block type this client does not know; left out of the message.
    Other,
}

/// The stream state of one response.
#[derive(Debug, Default)]
struct AnthropicDecoder {
    blocks: BTreeMap<u64, Block>,
    stop_reason: Option<StopReason>,
    usage: Usage,
}

fn merge_usage(usage: &mut Usage, v: &Value) {
    if v.get("input_tokens").is_some_and(|x| !x.is_null()) {
        usage.input_tokens = count(v, "input_tokens");
    }
    if v.get("output_tokens").is_some_and(|x| !x.is_null()) {
        usage.output_tokens = count(v, "output_tokens");
    }
    if v.get("cache_read_input_tokens")
        .is_some_and(|x| !x.is_null())
    {
        usage.cache_read_tokens = count(v, "cache_read_input_tokens");
    }
    if v.get("cache_creation_input_tokens")
        .is_some_and(|x| !x.is_null())
    {
        usage.cache_write_tokens = count(v, "cache_creation_input_tokens");
    }
}

fn str_of<'a>(v: &'a Value, key: &str) -> &'a str {
    v.get(key).and_then(Value::as_str).unwrap_or("")
}

impl AnthropicDecoder {
    fn block_start(&mut self, index: u64, block: &Value, out: &mut Vec<ModelEvent>) {
        let b = match str_of(block, "type") {
            "text" => {
                let text = str_of(block, "text").to_string();
                if !text.is_empty() {
                    out.push(ModelEvent::TextDelta(text.clone()));
                }
                Block::Text(text)
            }
            "thinking" => {
                let thinking = str_of(block, "thinking").to_string();
                if !thinking.is_empty() {
                    out.push(ModelEvent::ThinkingDelta(thinking.clone()));
                }
                Block::Thinking {
                    thinking,
                    signature: str_of(block, "signature").to_string(),
                }
            }
            "redacted_thinking" => Block::Redacted(str_of(block, "data").to_string()),
            "tool_use" => {
                let id = str_of(block, "id").to_string();
                let name = str_of(block, "name").to_string();
                out.push(ModelEvent::ToolCallStarted {
                    id: id.clone(),
                    name: name.clone(),
                });
                Block::ToolUse {
                    id,
                    name,
                    json: String::new(),
                    initial: block.get("input").cloned().unwrap_or(Value::Null),
                    done: None,
                    error: None,
                }
            }
            _ => Block::Other,
        };
        self.blocks.insert(index, b);
    }

    fn block_delta(&mut self, index: u64, delta: &Value, out: &mut Vec<ModelEvent>) {
        let Some(block) = self.blocks.get_mut(&index) else {
            return;
        };
        match (str_of(delta, "type"), block) {
            ("text_delta", Block::Text(text)) => {
                let piece = str_of(delta, "text");
                text.push_str(piece);
                out.push(ModelEvent::TextDelta(piece.to_string()));
            }
            ("thinking_delta", Block::Thinking { thinking, .. }) => {
                let piece = str_of(delta, "thinking");
                thinking.push_str(piece);
                out.push(ModelEvent::ThinkingDelta(piece.to_string()));
            }
            ("signature_delta", Block::Thinking { signature, .. }) => {
                signature.push_str(str_of(delta, "signature"));
            }
            ("input_json_delta", Block::ToolUse { id, json, .. }) => {
                let piece = str_of(delta, "partial_json");
                if !piece.is_empty() {
                    json.push_str(piece);
                    out.push(ModelEvent::ToolCallArgsDelta {
                        id: id.clone(),
                        fragment: piece.to_string(),
                    });
                }
            }
            _ => {}
        }
    }

    fn block_stop(&mut self, index: u64, out: &mut Vec<ModelEvent>) {
        if let Some(Block::ToolUse {
            id,
            name,
            json,
            initial,
            done,
            error,
        }) = self.blocks.get_mut(&index)
        {
            if done.is_none() && error.is_none() {
                match finish_tool_input(id, name, json, initial) {
                    Ok(input) => {
                        out.push(ModelEvent::ToolCallFinished {
                            id: id.clone(),
                            name: name.clone(),
                            input: input.clone(),
                        });
                        *done = Some(input);
                    }
                    Err(e) => *error = Some(e),
                }
            }
        }
    }

    fn finish(&mut self, out: &mut Vec<ModelEvent>) -> Result<(), ModelError> {
        let indexes: Vec<u64> = self.blocks.keys().copied().collect();
        for i in indexes {
            self.block_stop(i, out);
        }
        let cut_off = self.stop_reason == Some(StopReason::MaxTokens);
        let mut content = Vec::new();
        for block in std::mem::take(&mut self.blocks).into_values() {
            match block {
                Block::Text(text) if !text.is_empty() => content.push(ContentBlock::Text { text }),
                Block::Thinking {
                    thinking,
                    signature,
                } => content.push(ContentBlock::Thinking {
                    thinking,
                    signature,
                }),
                Block::Redacted(data) => content.push(ContentBlock::RedactedThinking { data }),
                Block::ToolUse { error: Some(_), .. } if cut_off => {}
                Block::ToolUse { error: Some(e), .. } => return Err(e),
                Block::ToolUse { id, name, done, .. } => content.push(ContentBlock::ToolUse {
                    id,
                    name,
                    input: done.unwrap_or_else(|| Value::Object(Map::new())),
                }),
                Block::Text(_) | Block::Other => {}
            }
        }
        let has_tools = content
            .iter()
            .any(|b| matches!(b, ContentBlock::ToolUse { .. }));
        let stop_reason = self.stop_reason.take().unwrap_or(if has_tools {
            StopReason::ToolUse
        } else {
            StopReason::EndTurn
        });
        out.push(ModelEvent::Finished(AssistantTurn {
            message: Message {
                role: Role::Assistant,
                content,
            },
            stop_reason,
            usage: self.usage,
        }));
        Ok(())
    }
}

fn finish_tool_input(
    id: &str,
    name: &str,
    json: &str,
    initial: &Value,
) -> Result<Value, ModelError> {
    if json.trim().is_empty() && initial.as_object().is_some_and(|o| !o.is_empty()) {
        return Ok(initial.clone());
    }
    parse_tool_input(id, name, json)
}

/// The error of an `error` stream event; overloaded and internal errors are retried.
fn stream_error(v: &Value) -> ModelError {
    let err = v.get("error").unwrap_or(v);
    let kind = str_of(err, "type").to_string();
    let message = str_of(err, "message");
    let retryable = matches!(
        kind.as_str(),
        "overloaded_error" | "api_error" | "rate_limit_error" | "timeout_error"
    );
    ModelError::Api {
        status: None,
        message: format!("the Anthropic API reported an error mid-stream ({kind}: {message})"),
        kind,
        retry_after: None,
        retryable,
    }
}

impl Decoder for AnthropicDecoder {
    fn on_event(&mut self, event: SseEvent, out: &mut Vec<ModelEvent>) -> Result<bool, ModelError> {
        let v: Value = serde_json::from_str(&event.data).map_err(|e| {
            ModelError::Protocol(format!(
                "event \"{}\" is not JSON ({e}): {}",
                event.event,
                super::clip(&event.data, 200)
            ))
        })?;
        let kind = match str_of(&v, "type") {
            "" => event.event.as_str(),
            t => t,
        };
        let index = v.get("index").and_then(Value::as_u64).unwrap_or(0);
        match kind {
            "message_start" => {
                if let Some(u) = v.get("message").and_then(|m| m.get("usage")) {
                    merge_usage(&mut self.usage, u);
                }
            }
            "content_block_start" => {
                if let Some(block) = v.get("content_block") {
                    self.block_start(index, block, out);
                }
            }
            "content_block_delta" => {
                if let Some(delta) = v.get("delta") {
                    self.block_delta(index, delta, out);
                }
            }
            "content_block_stop" => self.block_stop(index, out),
            "message_delta" => {
                if let Some(reason) = v
                    .get("delta")
                    .and_then(|d| d.get("stop_reason"))
                    .and_then(Value::as_str)
                {
                    self.stop_reason = Some(StopReason::from_anthropic(reason));
                }
                if let Some(u) = v.get("usage") {
                    merge_usage(&mut self.usage, u);
                }
            }
            "message_stop" => {
                self.finish(out)?;
                return Ok(true);
            }
            "error" => return Err(stream_error(&v)),
            _ => {}
        }
        Ok(false)
    }

    fn on_eof(
        &mut self,
        truncated: Option<Truncated>,
        _out: &mut Vec<ModelEvent>,
    ) -> Result<(), ModelError> {
        Err(ModelError::StreamDropped(match truncated {
            Some(t) => format!("no message_stop; {t}"),
            None => "the connection closed before message_stop".into(),
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::agent::protocol::ToolDefinition;

    #[test]
    fn request_body_shapes() {
        let req = ModelRequest {
            system: "be brief".into(),
            messages: vec![
                Message::user(vec![
                    ContentBlock::text("look"),
                    ContentBlock::Image {
                        image: ImageData {
                            media_type: "image/png".into(),
                            data: "iVBOR".into(),
                        },
                    },
                ]),
                Message {
                    role: Role::Assistant,
                    content: vec![
                        ContentBlock::Thinking {
                            thinking: "hmm".into(),
                            signature: "sig==".into(),
                        },
                        ContentBlock::RedactedThinking { data: "xyz".into() },
                        ContentBlock::ToolUse {
                            id: "toolu_1".into(),
                            name: "navigate".into(),
                            input: json!({"url": "https://a.example"}),
                        },
                    ],
                },
                Message::user(vec![ContentBlock::tool_error("toolu_1", "timed out")]),
            ],
            tools: vec![ToolDefinition {
                name: "navigate".into(),
                description: "go".into(),
                input_schema: json!({"type": "object"}),
            }],
            max_tokens: 0,
            temperature: Some(0.2),
            thinking_budget: None,
        };
        let body = request_body("claude-x", &req, 1234, false);
        assert_eq!(
            body,
            json!({
                "model": "claude-x",
                "max_tokens": 1234,
                "stream": true,
                "system": "be brief",
                "temperature": 0.2f32,
                "messages": [
                    {"role": "user", "content": [
                        {"type": "text", "text": "look"},
                        {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": "iVBOR"}}
                    ]},
                    {"role": "assistant", "content": [
                        {"type": "thinking", "thinking": "hmm", "signature": "sig=="},
                        {"type": "redacted_thinking", "data": "xyz"},
                        {"type": "tool_use", "id": "toolu_1", "name": "navigate", "input": {"url": "https://a.example"}}
                    ]},
                    {"role": "user", "content": [
                        {"type": "tool_result", "tool_use_id": "toolu_1", "content": [{"type": "text", "text": "timed out"}], "is_error": true}
                    ]}
                ],
                "tools": [{"name": "navigate", "description": "go", "input_schema": {"type": "object"}}]
            })
        );
        let thinking = ModelRequest {
            thinking_budget: Some(2048),
            temperature: Some(0.2),
            max_tokens: 4096,
            ..ModelRequest::default()
        };
        let body = request_body("claude-x", &req, 1234, true);
        let eph = json!({"type": "ephemeral"});
        assert_eq!(
            body["system"],
            json!([{"type": "text", "text": "be brief", "cache_control": eph}])
        );
        assert_eq!(body["tools"][0]["cache_control"], eph);
        assert_eq!(body["messages"][2]["content"][0]["cache_control"], eph);
        assert!(body["messages"][1]["content"][2]
            .get("cache_control")
            .is_none());
        assert_eq!(body.to_string().matches("cache_control").count(), 3);
        let body = request_body("m", &thinking, 1, false);
        assert_eq!(
            body["thinking"],
            json!({"type": "enabled", "budget_tokens": 2048})
        );
        assert_eq!(body["max_tokens"], json!(4096));
        assert!(body.get("temperature").is_none());
        assert!(body.get("system").is_none());
        assert!(body.get("tools").is_none());
    }

    fn decode(events: &[(&str, Value)]) -> (Vec<ModelEvent>, Result<bool, ModelError>) {
        let mut d = AnthropicDecoder::default();
        let mut out = Vec::new();
        let mut last = Ok(false);
        for (name, data) in events {
            last = d.on_event(
                SseEvent {
                    event: name.to_string(),
                    data: data.to_string(),
                    id: None,
                },
                &mut out,
            );
            if last.is_err() {
                break;
            }
        }
        (out, last)
    }

    #[test]
    fn initial_tool_input_without_fragments_is_kept() {
        let (out, last) = decode(&[
            (
                "content_block_start",
                json!({"type": "content_block_start", "index": 0, "content_block": {"type": "tool_use", "id": "t", "name": "n", "input": {"a": 1}}}),
            ),
            (
                "content_block_stop",
                json!({"type": "content_block_stop", "index": 0}),
            ),
            ("message_stop", json!({"type": "message_stop"})),
        ]);
        assert_eq!(last, Ok(true));
        let Some(ModelEvent::Finished(turn)) = out.last() else {
            panic!("{out:?}")
        };
        assert_eq!(turn.message.tool_uses()[0].input, &json!({"a": 1}));
        assert_eq!(turn.stop_reason, StopReason::ToolUse);
    }

    #[test]
    fn error_event_and_bad_json() {
        let (_, last) = decode(&[(
            "error",
            json!({"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}}),
        )]);
        let e = last.unwrap_err();
        assert!(e.is_retryable());
        assert!(
            e.to_string().contains("overloaded_error: Overloaded"),
            "{e}"
        );
        let mut d = AnthropicDecoder::default();
        let e = d
            .on_event(
                SseEvent {
                    event: "message_start".into(),
                    data: "{not json".into(),
                    id: None,
                },
                &mut Vec::new(),
            )
            .unwrap_err();
        assert!(matches!(e, ModelError::Protocol(_)));
    }
}
