//! The provider-neutral model protocol: what the agent loop sends to a model and what comes
//! back, with no HTTP and no provider's wire format in it.
//!
//! A conversation is a list of [`Message`]s, each a role and a list of [`ContentBlock`]s. A
//! [`ModelRequest`] adds the system prompt, the tools and the sampling limits. A provider
//! client streams [`ModelEvent`]s back; the last one of a successful stream is
//! [`ModelEvent::Finished`] with the assembled [`AssistantTurn`], which the loop appends to
//! the history as it is (thinking blocks with their signatures included, so they go back to
//! the provider verbatim).

use std::time::Duration;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::tools::ToolSpec;

/// Who wrote a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// The person, or tool results sent on their behalf.
    User,
    /// The model.
    Assistant,
}

/// One message of the conversation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Message {
    /// Who wrote it.
    pub role: Role,
    /// Its content, in order.
    pub content: Vec<ContentBlock>,
}

impl Message {
    /// A user message with one text block.
    pub fn user_text(text: impl Into<String>) -> Message {
        Message {
            role: Role::User,
            content: vec![ContentBlock::text(text)],
        }
    }

    /// A user message carrying tool results (and whatever else the blocks hold).
    pub fn user(content: Vec<ContentBlock>) -> Message {
        Message {
            role: Role::User,
            content,
        }
    }

    /// An assistant message with one text block.
    pub fn assistant_text(text: impl Into<String>) -> Message {
        Message {
            role: Role::Assistant,
            content: vec![ContentBlock::text(text)],
        }
    }

    /// The concatenated text blocks.
    pub fn text(&self) -> String {
        self.content
            .iter()
            .filter_map(|b| match b {
                ContentBlock::Text { text } => Some(text.as_str()),
                _ => None,
            })
            .collect()
    }

    /// The tool calls in this message, in order.
    pub fn tool_uses(&self) -> Vec<ToolUse<'_>> {
        self.content
            .iter()
            .filter_map(|b| match b {
                ContentBlock::ToolUse { id, name, input } => Some(ToolUse { id, name, input }),
                _ => None,
            })
            .collect()
    }
}

/// A borrowed view of one tool call (see [`Message::tool_uses`]).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ToolUse<'a> {
    /// The call's id, to be echoed by the tool result.
    pub id: &'a str,
    /// The tool's name.
    pub name: &'a str,
    /// The arguments.
    pub input: &'a Value,
}

/// An image carried in a message: base64 data and its media type.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImageData {
    /// MIME type, e.g. `image/png`.
    pub media_type: String,
    /// Base64 data (no `data:` prefix).
    pub data: String,
}

/// One block of a message.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ContentBlock {
    /// Plain text.
    Text {
        /// The text.
        text: String,
    },
    /// An image.
    Image {
        /// The image.
        #[serde(flatten)]
        image: ImageData,
    },
    /// A tool call made by the model.
    ToolUse {
        /// The call's id (provider-assigned, e.g. `toolu_…` or `call_…`).
        id: String,
        /// The tool's name.
        name: String,
        /// The arguments (a JSON object).
        input: Value,
    },
    /// The result of a tool call, sent in the next user message.
    ToolResult {
        /// The id of the tool call this answers.
        tool_use_id: String,
        /// Text and images.
        content: Vec<ToolResultContent>,
        /// Whether the tool failed.
        is_error: bool,
    },
    /// The model's visible reasoning; must be sent back unchanged (with its signature).
    Thinking {
        /// The reasoning text.
        thinking: String,
        /// The provider's signature over it (empty when the provider has none).
        signature: String,
    },
    /// Reasoning the provider returned encrypted; sent back unchanged.
    RedactedThinking {
        /// The opaque data.
        data: String,
    },
}

impl ContentBlock {
    /// A text block.
    pub fn text(text: impl Into<String>) -> ContentBlock {
        ContentBlock::Text { text: text.into() }
    }

    /// A successful text-only tool result.
    pub fn tool_result(tool_use_id: impl Into<String>, text: impl Into<String>) -> ContentBlock {
        ContentBlock::ToolResult {
            tool_use_id: tool_use_id.into(),
            content: vec![ToolResultContent::Text { text: text.into() }],
            is_error: false,
        }
    }

    /// A failed tool result (the text tells the model what went wrong).
    pub fn tool_error(tool_use_id: impl Into<String>, text: impl Into<String>) -> ContentBlock {
        ContentBlock::ToolResult {
            tool_use_id: tool_use_id.into(),
            content: vec![ToolResultContent::Text { text: text.into() }],
            is_error: true,
        }
    }
}

/// One part of a tool result.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ToolResultContent {
    /// Text.
    Text {
        /// The text.
        text: String,
    },
    /// An image (a screenshot).
    Image {
        /// The image.
        #[serde(flatten)]
        image: ImageData,
    },
}

/// A tool as the model sees it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ToolDefinition {
    /// The tool's name.
    pub name: String,
    /// What it does.
    pub description: String,
    /// JSON Schema of its parameters.
    pub input_schema: Value,
}

impl From<&ToolSpec> for ToolDefinition {
    fn from(spec: &ToolSpec) -> ToolDefinition {
        ToolDefinition {
            name: spec.name.to_string(),
            description: spec.description.to_string(),
            input_schema: spec.schema.clone(),
        }
    }
}

/// One request to a model: everything it sees for one assistant turn.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ModelRequest {
    /// The system prompt (empty: none).
    pub system: String,
    /// The conversation so far; the last message is the user's.
    pub messages: Vec<Message>,
    /// The tools the model may call.
    pub tools: Vec<ToolDefinition>,
    /// Output token limit for this turn (0: the client's configured default).
    pub max_tokens: u32,
    /// Sampling temperature (None: the provider's default).
    pub temperature: Option<f32>,
    /// Extended-thinking budget in tokens (None: no extended thinking). Anthropic only; the
    /// OpenAI-compatible client ignores it.
    pub thinking_budget: Option<u32>,
}

/// Why the model stopped.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StopReason {
    /// It finished its turn.
    EndTurn,
    /// It wants tool results.
    ToolUse,
    /// It hit the output token limit.
    MaxTokens,
    /// It produced a stop sequence.
    StopSequence,
    /// It declined (safety refusal or content filter).
    Refusal,
    /// The provider paused a long turn; send the history back to continue.
    PauseTurn,
    /// A reason this crate does not know, as the provider spelled it.
    Other(String),
}

impl StopReason {
    /// Maps an Anthropic `stop_reason`.
    pub fn from_anthropic(s: &str) -> StopReason {
        match s {
            "end_turn" => StopReason::EndTurn,
            "tool_use" => StopReason::ToolUse,
            "max_tokens" => StopReason::MaxTokens,
            "stop_sequence" => StopReason::StopSequence,
            "refusal" => StopReason::Refusal,
            "pause_turn" => StopReason::PauseTurn,
            other => StopReason::Other(other.to_string()),
        }
    }

    /// Maps an OpenAI `finish_reason`.
    pub fn from_openai(s: &str) -> StopReason {
        match s {
            "stop" => StopReason::EndTurn,
            "tool_calls" | "function_call" => StopReason::ToolUse,
            "length" => StopReason::MaxTokens,
            "content_filter" => StopReason::Refusal,
            other => StopReason::Other(other.to_string()),
        }
    }
}

/// Token counts of one response. `input_tokens` counts input that was neither read from nor
/// written to the prompt cache (Anthropic's meaning; OpenAI's `prompt_tokens` minus
/// `cached_tokens`), so the four fields add up to everything the provider processed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Usage {
    /// Uncached input tokens.
    pub input_tokens: u64,
    /// Output tokens (thinking included).
    pub output_tokens: u64,
    /// Input tokens read from the prompt cache.
    pub cache_read_tokens: u64,
    /// Input tokens written to the prompt cache.
    pub cache_write_tokens: u64,
}

impl Usage {
    /// All input tokens, cached or not.
    pub fn total_input(&self) -> u64 {
        self.input_tokens + self.cache_read_tokens + self.cache_write_tokens
    }

    /// Adds another count to this one.
    pub fn add(&mut self, other: &Usage) {
        self.input_tokens += other.input_tokens;
        self.output_tokens += other.output_tokens;
        self.cache_read_tokens += other.cache_read_tokens;
        self.cache_write_tokens += other.cache_write_tokens;
    }
}

/// Usage summed over the turns of a session (or of one agent step).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct UsageTotals {
    /// How many model responses were counted.
    pub turns: u32,
    /// Their summed usage.
    pub usage: Usage,
}

impl UsageTotals {
    /// Counts one response.
    pub fn record(&mut self, usage: &Usage) {
        self.turns += 1;
        self.usage.add(usage);
    }
}

/// The assembled result of one streamed response.
#[derive(Debug, Clone, PartialEq)]
pub struct AssistantTurn {
    /// The assistant message, ready to append to the history (role `Assistant`).
    pub message: Message,
    /// Why the model stopped.
    pub stop_reason: StopReason,
    /// What the response cost.
    pub usage: Usage,
}

/// One event of a streamed response.
///
/// Deltas are for showing progress; the complete message comes in [`ModelEvent::Finished`].
/// When a stream fails after it had already produced events and the request is retried, the
/// client emits [`ModelEvent::Retrying`] with `discard_partial: true` first: a consumer that
/// displays or buffers deltas drops everything it got since the stream started, and the
/// retried response streams from the beginning.
#[derive(Debug, Clone, PartialEq)]
pub enum ModelEvent {
    /// A piece of assistant text.
    TextDelta(String),
    /// A piece of reasoning.
    ThinkingDelta(String),
    /// A tool call began. A call cut off by the output token limit gets no
    /// [`ModelEvent::ToolCallFinished`] and is left out of the message (the stop reason is
    /// [`StopReason::MaxTokens`]).
    ToolCallStarted {
        /// The call's id.
        id: String,
        /// The tool's name.
        name: String,
    },
    /// A fragment of a tool call's JSON arguments, as streamed.
    ToolCallArgsDelta {
        /// The call's id.
        id: String,
        /// The raw JSON fragment.
        fragment: String,
    },
    /// A tool call is complete and its arguments parsed.
    ToolCallFinished {
        /// The call's id.
        id: String,
        /// The tool's name.
        name: String,
        /// The parsed arguments.
        input: Value,
    },
    /// The request failed in a way that is retried; the client waits `delay` first.
    Retrying {
        /// The attempt that comes next (2 for the first retry).
        attempt: u32,
        /// How long the client waits before it.
        delay: Duration,
        /// What went wrong.
        reason: String,
        /// Whether events of this request were already emitted and must be dropped.
        discard_partial: bool,
    },
    /// The response is complete. Always the last event of a successful stream.
    Finished(AssistantTurn),
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn registry_tools_become_definitions() {
        let defs: Vec<ToolDefinition> = crate::agent::tools()
            .specs()
            .iter()
            .map(ToolDefinition::from)
            .collect();
        assert!(defs.iter().any(|d| d.name == "navigate"));
        let mut names: Vec<&str> = defs.iter().map(|d| d.name.as_str()).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), defs.len(), "tool names are unique");
        for d in &defs {
            // Both APIs want an object schema and a description.
            assert_eq!(d.input_schema["type"], "object", "{}", d.name);
            assert!(!d.description.is_empty(), "{}", d.name);
        }
    }

    #[test]
    fn usage_totals_add_up() {
        let mut t = UsageTotals::default();
        let u = Usage {
            input_tokens: 3,
            output_tokens: 2,
            cache_read_tokens: 10,
            cache_write_tokens: 1,
        };
        t.record(&u);
        t.record(&u);
        assert_eq!(t.turns, 2);
        assert_eq!(t.usage.total_input(), 28);
        assert_eq!(t.usage.output_tokens, 4);
    }

    #[test]
    fn stop_reasons_map() {
        assert_eq!(StopReason::from_anthropic("tool_use"), StopReason::ToolUse);
        assert_eq!(StopReason::from_anthropic("refusal"), StopReason::Refusal);
        assert_eq!(StopReason::from_openai("length"), StopReason::MaxTokens);
        assert_eq!(
            StopReason::from_openai("content_filter"),
            StopReason::Refusal
        );
        assert_eq!(
            StopReason::from_openai("weird"),
            StopReason::Other("weird".into())
        );
    }
}
