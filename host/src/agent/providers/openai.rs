//! The OpenAI-compatible Chat Completions client: `POST {base}/chat/completions` with
//! `stream: true` and `stream_options.include_usage`, for OpenAI and for local servers
//! (Ollama, llama.cpp, vLLM, LM Studio), which need no key.
//!
//! Mapping of the protocol: the system prompt is a `system` message; user text and images
//! (as `data:` URLs) are a `user` message; an assistant message carries `tool_calls`; each
//! tool result is a `tool` message with its `tool_call_id`, placed right after the assistant
//! message (images from tool results follow in one `user` message, since `tool` messages
//! carry text only). Thinking blocks are not sent back (these APIs take none).
//!
//! Stream: `choices[0].delta.content`, `delta.reasoning_content` / `delta.reasoning` (as
//! thinking), `delta.tool_calls[]` accumulated by `index`, `finish_reason`, `usage` (in the
//! last chunk, or never), `data: [DONE]`. Chunks with empty `choices` are fine; a stream that
//! ends after `finish_reason` without `[DONE]` is accepted.

use std::collections::BTreeMap;

use reqwest::header::{HeaderMap, HeaderValue, AUTHORIZATION, CONTENT_TYPE};
use serde_json::{json, Map, Value};

use super::sse::{SseEvent, Truncated};
use super::{
    count, http_client, parse_tool_input, spawn_stream, ApiInfo, Decoder, EventStream, ModelClient,
    ModelError, Prepared,
};
use crate::agent::config::{ModelConfig, Provider, OPENAI_DEFAULT_BASE_URL};
use crate::agent::protocol::{
    AssistantTurn, ContentBlock, ImageData, Message, ModelEvent, ModelRequest, Role, StopReason,
    ToolResultContent, Usage,
};

/// A client for OpenAI-compatible Chat Completions APIs.
#[derive(Debug, Clone)]
pub struct OpenAiClient {
    http: reqwest::Client,
    config: ModelConfig,
}

impl OpenAiClient {
    /// A client for `config` (its provider should be OpenAI).
    pub fn new(config: &ModelConfig) -> Result<OpenAiClient, ModelError> {
        Ok(OpenAiClient {
            http: http_client(config)?,
            config: config.clone(),
        })
    }

    fn headers(&self) -> Result<HeaderMap, ModelError> {
        let mut h = HeaderMap::new();
        h.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
        if let Some(key) = &self.config.api_key {
            let mut v = HeaderValue::from_str(&format!("Bearer {key}")).map_err(|_| {
                ModelError::Setup(format!(
                    "the key in {} is not a valid header value",
                    self.config.api_key_env
                ))
            })?;
            v.set_sensitive(true);
            h.insert(AUTHORIZATION, v);
        }
        Ok(h)
    }
}

impl ModelClient for OpenAiClient {
    fn provider(&self) -> Provider {
        Provider::OpenAi
    }

    fn model(&self) -> &str {
        &self.config.spec.model
    }

    fn stream(&self, request: ModelRequest) -> EventStream {
        let headers = match self.headers() {
            Ok(h) => h,
            Err(e) => return EventStream::failed(e),
        };
        let base = self.config.base_url.trim_end_matches('/');
        let body = request_body(
            &self.config.spec.model,
            &request,
            self.config.max_tokens,
            base == OPENAI_DEFAULT_BASE_URL,
        );
        let url = format!("{base}/chat/completions");
        let prepared = Prepared {
            info: ApiInfo {
                name: "OpenAI-compatible",
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
            OpenAiDecoder::default,
        )
    }
}

/// The JSON body for `request`. OpenAI's own API gets `max_completion_tokens` (its reasoning
/// models refuse `max_tokens`); other servers get `max_tokens`, which they all understand.
pub fn request_body(
    model: &str,
    request: &ModelRequest,
    default_max_tokens: u32,
    openai_proper: bool,
) -> Value {
    let max_tokens = if request.max_tokens > 0 {
        request.max_tokens
    } else {
        default_max_tokens
    };
    let mut messages = Vec::new();
    if !request.system.is_empty() {
        messages.push(json!({"role": "system", "content": request.system}));
    }
    for m in &request.messages {
        push_messages(m, &mut messages);
    }
    let mut body = Map::new();
    body.insert("model".into(), json!(model));
    body.insert("messages".into(), Value::Array(messages));
    body.insert("stream".into(), json!(true));
    body.insert("stream_options".into(), json!({"include_usage": true}));
    let key = if openai_proper {
        "max_completion_tokens"
    } else {
        "max_tokens"
    };
    body.insert(key.into(), json!(max_tokens));
    if let Some(t) = request.temperature {
        body.insert("temperature".into(), json!(t));
    }
    if !request.tools.is_empty() {
        let tools = request
            .tools
            .iter()
            .map(|t| {
                json!({
                    "type": "function",
                    "function": {
                        "name": t.name,
                        "description": t.description,
                        "parameters": t.input_schema,
                    }
                })
            })
            .collect();
        body.insert("tools".into(), Value::Array(tools));
    }
    Value::Object(body)
}

fn data_url(image: &ImageData) -> Value {
    json!({
        "type": "image_url",
        "image_url": {"url": format!("data:{};base64,{}", image.media_type, image.data)},
    })
}

/// Appends the Chat Completions messages for one protocol message.
fn push_messages(m: &Message, out: &mut Vec<Value>) {
    match m.role {
        Role::Assistant => {
            let text: String = m.text();
            let calls: Vec<Value> = m
                .tool_uses()
                .iter()
                .map(|t| {
                    json!({
                        "id": t.id,
                        "type": "function",
                        "function": {"name": t.name, "arguments": t.input.to_string()},
                    })
                })
                .collect();
            let mut msg = json!({"role": "assistant"});
            msg["content"] = if text.is_empty() {
                Value::Null
            } else {
                json!(text)
            };
            if !calls.is_empty() {
                msg["tool_calls"] = Value::Array(calls);
            }
            out.push(msg);
        }
        Role::User => {
            // Tool results first: they must follow the assistant's tool calls directly.
            let mut parts = Vec::new();
            let mut tool_images = Vec::new();
            for b in &m.content {
                match b {
                    ContentBlock::ToolResult {
                        tool_use_id,
                        content,
                        is_error,
                    } => {
                        let mut text = String::new();
                        if *is_error {
                            text.push_str("Error: ");
                        }
                        for c in content {
                            match c {
                                ToolResultContent::Text { text: t } => {
                                    if !text.is_empty() && !text.ends_with(' ') {
                                        text.push('\n');
                                    }
                                    text.push_str(t);
                                }
                                ToolResultContent::Image { image } => {
                                    tool_images.push((tool_use_id.clone(), image.clone()));
                                }
                            }
                        }
                        out.push(
                            json!({"role": "tool", "tool_call_id": tool_use_id, "content": text}),
                        );
                    }
                    ContentBlock::Text { text } => {
                        parts.push(json!({"type": "text", "text": text}))
                    }
                    ContentBlock::Image { image } => parts.push(data_url(image)),
                    ContentBlock::ToolUse { .. }
                    | ContentBlock::Thinking { .. }
                    | ContentBlock::RedactedThinking { .. } => {}
                }
            }
            let mut content = Vec::new();
            for (id, image) in &tool_images {
                content
                    .push(json!({"type": "text", "text": format!("Image from tool call {id}:")}));
                content.push(data_url(image));
            }
            content.extend(parts);
            if content.is_empty() {
                return;
            }
            let all_text = content.iter().all(|p| p["type"] == "text");
            let content = if all_text {
                json!(content
                    .iter()
                    .filter_map(|p| p["text"].as_str())
                    .collect::<Vec<_>>()
                    .join("\n"))
            } else {
                Value::Array(content)
            };
            out.push(json!({"role": "user", "content": content}));
        }
    }
}

/// A tool call being streamed.
#[derive(Debug, Default)]
struct Call {
    id: Option<String>,
    name: Option<String>,
    args: String,
    started: bool,
}

/// The stream state of one response.
#[derive(Debug, Default)]
struct OpenAiDecoder {
    text: String,
    reasoning: String,
    calls: BTreeMap<u64, Call>,
    finish_reason: Option<String>,
    usage: Usage,
}

impl OpenAiDecoder {
    fn tool_call_delta(&mut self, position: usize, tc: &Value, out: &mut Vec<ModelEvent>) {
        let index = tc
            .get("index")
            .and_then(Value::as_u64)
            .unwrap_or(position as u64);
        let call = self.calls.entry(index).or_default();
        if call.id.is_none() {
            call.id = Some(
                tc.get("id")
                    .and_then(Value::as_str)
                    .filter(|s| !s.is_empty())
                    .map(str::to_string)
                    .unwrap_or_else(|| format!("call_{index}")),
            );
        }
        let function = tc.get("function");
        if let Some(name) = function
            .and_then(|f| f.get("name"))
            .and_then(Value::as_str)
            .filter(|s| !s.is_empty())
        {
            if call.name.is_none() {
                call.name = Some(name.to_string());
            }
        }
        let fragment = function
            .and_then(|f| f.get("arguments"))
            .and_then(Value::as_str)
            .unwrap_or("");
        call.args.push_str(fragment);
        let id = call.id.clone().unwrap_or_default();
        if !call.started {
            if let Some(name) = &call.name {
                call.started = true;
                out.push(ModelEvent::ToolCallStarted {
                    id: id.clone(),
                    name: name.clone(),
                });
                if !call.args.is_empty() {
                    out.push(ModelEvent::ToolCallArgsDelta {
                        id,
                        fragment: call.args.clone(),
                    });
                }
            }
        } else if !fragment.is_empty() {
            out.push(ModelEvent::ToolCallArgsDelta {
                id,
                fragment: fragment.to_string(),
            });
        }
    }

    fn finish(&mut self, out: &mut Vec<ModelEvent>) -> Result<(), ModelError> {
        let mut content = Vec::new();
        if !self.reasoning.is_empty() {
            content.push(ContentBlock::Thinking {
                thinking: std::mem::take(&mut self.reasoning),
                signature: String::new(),
            });
        }
        if !self.text.is_empty() {
            content.push(ContentBlock::Text {
                text: std::mem::take(&mut self.text),
            });
        }
        for (index, call) in std::mem::take(&mut self.calls) {
            let id = call.id.unwrap_or_else(|| format!("call_{index}"));
            let name = call.name.unwrap_or_default();
            if name.is_empty() {
                return Err(ModelError::Protocol(format!(
                    "tool call {id} came without a function name"
                )));
            }
            let input = match parse_tool_input(&id, &name, &call.args) {
                Ok(input) => input,
                // Cut off by the token limit: drop the unfinished call, report MaxTokens.
                Err(_) if self.finish_reason.as_deref() == Some("length") => continue,
                Err(e) => return Err(e),
            };
            if !call.started {
                out.push(ModelEvent::ToolCallStarted {
                    id: id.clone(),
                    name: name.clone(),
                });
            }
            out.push(ModelEvent::ToolCallFinished {
                id: id.clone(),
                name: name.clone(),
                input: input.clone(),
            });
            content.push(ContentBlock::ToolUse { id, name, input });
        }
        let has_tools = content
            .iter()
            .any(|b| matches!(b, ContentBlock::ToolUse { .. }));
        let stop_reason = match self.finish_reason.as_deref().map(StopReason::from_openai) {
            // Some servers say "stop" after tool calls.
            Some(StopReason::EndTurn) | None if has_tools => StopReason::ToolUse,
            Some(r) => r,
            None => StopReason::EndTurn,
        };
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

/// An `{"error": …}` chunk: retried when it looks like a server-side failure.
fn chunk_error(err: &Value) -> ModelError {
    let message = err
        .get("message")
        .and_then(Value::as_str)
        .map(str::to_string)
        .unwrap_or_else(|| err.to_string());
    let kind = err
        .get("type")
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_string();
    let code = err.get("code").and_then(Value::as_u64).unwrap_or(0);
    let retryable = code >= 500
        || code == 429
        || kind.contains("server")
        || kind.contains("overloaded")
        || message.to_ascii_lowercase().contains("overloaded");
    ModelError::Api {
        status: None,
        message: format!("the OpenAI-compatible API reported an error mid-stream: {message}"),
        kind,
        retry_after: None,
        retryable,
    }
}

impl Decoder for OpenAiDecoder {
    fn on_event(&mut self, event: SseEvent, out: &mut Vec<ModelEvent>) -> Result<bool, ModelError> {
        let data = event.data.trim();
        if data == "[DONE]" {
            self.finish(out)?;
            return Ok(true);
        }
        if data.is_empty() {
            return Ok(false);
        }
        let v: Value = serde_json::from_str(data).map_err(|e| {
            ModelError::Protocol(format!(
                "a chunk is not JSON ({e}): {}",
                super::clip(data, 200)
            ))
        })?;
        if let Some(err) = v.get("error").filter(|e| !e.is_null()) {
            return Err(chunk_error(err));
        }
        if let Some(u) = v.get("usage").filter(|u| u.is_object()) {
            let prompt = count(u, "prompt_tokens");
            let cached = u
                .get("prompt_tokens_details")
                .map(|d| count(d, "cached_tokens"))
                .unwrap_or(0);
            self.usage = Usage {
                input_tokens: prompt.saturating_sub(cached),
                output_tokens: count(u, "completion_tokens"),
                cache_read_tokens: cached,
                cache_write_tokens: 0,
            };
        }
        let Some(choice) = v
            .get("choices")
            .and_then(Value::as_array)
            .and_then(|c| c.first())
        else {
            return Ok(false);
        };
        if let Some(delta) = choice.get("delta") {
            let reasoning = delta
                .get("reasoning_content")
                .and_then(Value::as_str)
                .or_else(|| delta.get("reasoning").and_then(Value::as_str))
                .unwrap_or("");
            if !reasoning.is_empty() {
                self.reasoning.push_str(reasoning);
                out.push(ModelEvent::ThinkingDelta(reasoning.to_string()));
            }
            if let Some(text) = delta.get("content").and_then(Value::as_str) {
                if !text.is_empty() {
                    self.text.push_str(text);
                    out.push(ModelEvent::TextDelta(text.to_string()));
                }
            }
            if let Some(calls) = delta.get("tool_calls").and_then(Value::as_array) {
                for (position, tc) in calls.iter().enumerate() {
                    self.tool_call_delta(position, tc, out);
                }
            }
        }
        if let Some(reason) = choice.get("finish_reason").and_then(Value::as_str) {
            self.finish_reason = Some(reason.to_string());
        }
        Ok(false)
    }

    fn on_eof(
        &mut self,
        truncated: Option<Truncated>,
        out: &mut Vec<ModelEvent>,
    ) -> Result<(), ModelError> {
        if self.finish_reason.is_some() {
            return self.finish(out);
        }
        Err(ModelError::StreamDropped(match truncated {
            Some(t) => format!("no finish_reason; {t}"),
            None => "the connection closed before finish_reason".into(),
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::agent::protocol::ToolDefinition;

    #[test]
    fn request_body_shapes() {
        let png = ImageData {
            media_type: "image/png".into(),
            data: "iVBOR".into(),
        };
        let req = ModelRequest {
            system: "sys".into(),
            messages: vec![
                Message::user(vec![
                    ContentBlock::text("look"),
                    ContentBlock::Image { image: png.clone() },
                ]),
                Message {
                    role: Role::Assistant,
                    content: vec![
                        ContentBlock::Thinking {
                            thinking: "t".into(),
                            signature: String::new(),
                        },
                        ContentBlock::text("calling"),
                        ContentBlock::ToolUse {
                            id: "call_1".into(),
                            name: "navigate".into(),
                            input: json!({"url": "u"}),
                        },
                        ContentBlock::ToolUse {
                            id: "call_2".into(),
                            name: "computer".into(),
                            input: json!({"action": "screenshot"}),
                        },
                    ],
                },
                Message::user(vec![
                    ContentBlock::tool_result("call_1", "ok"),
                    ContentBlock::ToolResult {
                        tool_use_id: "call_2".into(),
                        content: vec![
                            ToolResultContent::Text {
                                text: "shot".into(),
                            },
                            ToolResultContent::Image { image: png.clone() },
                        ],
                        is_error: false,
                    },
                    ContentBlock::text("go on"),
                ]),
                Message::user(vec![ContentBlock::tool_error("call_3", "boom")]),
            ],
            tools: vec![ToolDefinition {
                name: "navigate".into(),
                description: "go".into(),
                input_schema: json!({"type": "object"}),
            }],
            max_tokens: 0,
            temperature: None,
            thinking_budget: Some(100),
        };
        let body = request_body("gpt-x", &req, 99, false);
        assert_eq!(
            body,
            json!({
                "model": "gpt-x",
                "stream": true,
                "stream_options": {"include_usage": true},
                "max_tokens": 99,
                "messages": [
                    {"role": "system", "content": "sys"},
                    {"role": "user", "content": [
                        {"type": "text", "text": "look"},
                        {"type": "image_url", "image_url": {"url": "data:image/png;base64,iVBOR"}}
                    ]},
                    {"role": "assistant", "content": "calling", "tool_calls": [
                        {"id": "call_1", "type": "function", "function": {"name": "navigate", "arguments": "{\"url\":\"u\"}"}},
                        {"id": "call_2", "type": "function", "function": {"name": "computer", "arguments": "{\"action\":\"screenshot\"}"}}
                    ]},
                    {"role": "tool", "tool_call_id": "call_1", "content": "ok"},
                    {"role": "tool", "tool_call_id": "call_2", "content": "shot"},
                    {"role": "user", "content": [
                        {"type": "text", "text": "Image from tool call call_2:"},
                        {"type": "image_url", "image_url": {"url": "data:image/png;base64,iVBOR"}},
                        {"type": "text", "text": "go on"}
                    ]},
                    {"role": "tool", "tool_call_id": "call_3", "content": "Error: boom"}
                ],
                "tools": [{"type": "function", "function": {"name": "navigate", "description": "go", "parameters": {"type": "object"}}}]
            })
        );
        let body = request_body("gpt-x", &ModelRequest::default(), 5, true);
        assert_eq!(body["max_completion_tokens"], json!(5));
        assert!(body.get("max_tokens").is_none());
        assert!(body.get("tools").is_none());
    }

    fn feed(d: &mut OpenAiDecoder, data: &str, out: &mut Vec<ModelEvent>) -> bool {
        d.on_event(
            SseEvent {
                event: String::new(),
                data: data.into(),
                id: None,
            },
            out,
        )
        .unwrap()
    }

    #[test]
    fn lenient_servers() {
        // No index, no id, arguments whole, "stop" after a tool call, no usage, no [DONE].
        let mut d = OpenAiDecoder::default();
        let mut out = Vec::new();
        feed(
            &mut d,
            r#"{"choices":[{"delta":{"tool_calls":[{"function":{"name":"find","arguments":"{\"query\":\"x\"}"}}]}}]}"#,
            &mut out,
        );
        feed(
            &mut d,
            r#"{"choices":[{"delta":{},"finish_reason":"stop"}]}"#,
            &mut out,
        );
        d.on_eof(None, &mut out).unwrap();
        let Some(ModelEvent::Finished(turn)) = out.last() else {
            panic!("{out:?}")
        };
        assert_eq!(turn.stop_reason, StopReason::ToolUse);
        assert_eq!(turn.message.tool_uses()[0].id, "call_0");
        assert_eq!(turn.message.tool_uses()[0].input, &json!({"query": "x"}));
        assert_eq!(turn.usage, Usage::default());
        // A stream that ends before finish_reason is dropped.
        let mut d = OpenAiDecoder::default();
        feed(
            &mut d,
            r#"{"choices":[{"delta":{"content":"hi"}}]}"#,
            &mut Vec::new(),
        );
        assert!(matches!(
            d.on_eof(None, &mut Vec::new()),
            Err(ModelError::StreamDropped(_))
        ));
    }

    #[test]
    fn interleaved_tool_call_indexes() {
        let mut d = OpenAiDecoder::default();
        let mut out = Vec::new();
        for data in [
            r#"{"choices":[{"delta":{"tool_calls":[{"index":1,"id":"call_b","function":{"name":"find","arguments":""}}]}}]}"#,
            r#"{"choices":[{"delta":{"tool_calls":[{"index":0,"id":"call_a","function":{"name":"navigate","arguments":"{\"url\":"}}]}}]}"#,
            r#"{"choices":[{"delta":{"tool_calls":[{"index":1,"function":{"arguments":"{\"query\":\"q\"}"}}]}}]}"#,
            r#"{"choices":[{"delta":{"tool_calls":[{"index":0,"function":{"arguments":"\"u\"}"}}]}}]}"#,
            r#"{"choices":[{"delta":{},"finish_reason":"tool_calls"}]}"#,
            r#"{"choices":[],"usage":{"prompt_tokens":10,"completion_tokens":3,"prompt_tokens_details":{"cached_tokens":4}}}"#,
        ] {
            feed(&mut d, data, &mut out);
        }
        assert!(feed(&mut d, "[DONE]", &mut out));
        let Some(ModelEvent::Finished(turn)) = out.last() else {
            panic!("{out:?}")
        };
        let uses = turn.message.tool_uses();
        assert_eq!(uses[0].id, "call_a");
        assert_eq!(uses[0].input, &json!({"url": "u"}));
        assert_eq!(uses[1].id, "call_b");
        assert_eq!(uses[1].input, &json!({"query": "q"}));
        assert_eq!(
            turn.usage,
            Usage {
                input_tokens: 6,
                output_tokens: 3,
                cache_read_tokens: 4,
                cache_write_tokens: 0
            }
        );
        // Deltas went to the right calls.
        let frags: Vec<(&str, &str)> = out
            .iter()
            .filter_map(|e| match e {
                ModelEvent::ToolCallArgsDelta { id, fragment } => {
                    Some((id.as_str(), fragment.as_str()))
                }
                _ => None,
            })
            .collect();
        assert_eq!(
            frags,
            vec![
                ("call_a", "{\"url\":"),
                ("call_b", "{\"query\":\"q\"}"),
                ("call_a", "\"u\"}")
            ]
        );
    }

    #[test]
    fn error_chunk() {
        let mut d = OpenAiDecoder::default();
        let e = d
            .on_event(
                SseEvent {
                    event: String::new(),
                    data: r#"{"error":{"message":"model is overloaded","code":503}}"#.into(),
                    id: None,
                },
                &mut Vec::new(),
            )
            .unwrap_err();
        assert!(e.is_retryable());
        assert!(e.to_string().contains("model is overloaded"));
    }
}
