//! The agent loop: stream a turn from the model, run the tools it asked for through the policy
//! gate (independent read-only calls together), send the results back, and repeat until the
//! model answers without tools or a limit is reached.
//!
//! Tool errors go back to the model as error results; model errors (after the client's
//! retries) end the run with a clear message. Every message and event is appended to the
//! transcript as it happens. The history sent to the model is kept inside the context window:
//! old screenshots and outlines are replaced by a note, oversized tool output is cut with a
//! note on how to get the rest.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::{json, Value};
use tokio::sync::watch;

use super::prompt;
use super::protocol::{
    ContentBlock, ImageData, Message, ModelEvent, ModelRequest, Role, StopReason, ToolDefinition,
    ToolResultContent, UsageTotals,
};
use super::providers::ModelClient;
use super::todo::{TodoList, TodoState};
use super::transcript::Transcript;
use crate::frontend::Event;
use crate::runtime::{ToolContext, ToolOutput, ToolScope, ToolSpec};

/// Limits on one run.
#[derive(Debug, Clone)]
pub struct Limits {
    /// Model turns (requests) at most.
    pub max_turns: u32,
    /// Wall-clock time at most.
    pub max_duration: Duration,
    /// Tokens (input + output, all turns) at most; `None` for no limit.
    pub max_total_tokens: Option<u64>,
    /// Characters of one tool result kept in the history; the rest is cut with a note.
    pub max_tool_chars: usize,
    /// Screenshots kept in the history sent to the model (older ones become a note).
    pub keep_images: usize,
    /// Page outlines kept in the history sent to the model (older ones become a note).
    pub keep_outlines: usize,
    /// Characters of the whole history sent to the model before old tool results are
    /// shortened (about four characters a token).
    pub context_chars: usize,
}

impl Default for Limits {
    fn default() -> Limits {
        Limits {
            max_turns: 60,
            max_duration: Duration::from_secs(30 * 60),
            max_total_tokens: None,
            max_tool_chars: 40_000,
            keep_images: 2,
            keep_outlines: 2,
            context_chars: 500_000,
        }
    }
}

/// How a run ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// The model answered without asking for tools.
    Done(String),
    /// The turn limit was reached.
    TurnLimit(u32),
    /// The time limit was reached.
    TimeLimit(Duration),
    /// The token limit was reached.
    SpendLimit(u64),
    /// The person cancelled (Ctrl-C).
    Cancelled,
    /// The model API failed (after retries).
    ModelError(String),
}

impl Outcome {
    /// One line for the person.
    pub fn describe(&self) -> String {
        match self {
            Outcome::Done(_) => "done".into(),
            Outcome::TurnLimit(n) => format!("stopped: the turn limit ({n}) was reached; resume with --resume and a higher --max-turns to go on"),
            Outcome::TimeLimit(d) => format!("stopped: the time limit ({} s) was reached", d.as_secs()),
            Outcome::SpendLimit(n) => format!("stopped: the token limit ({n}) was reached"),
            Outcome::Cancelled => "cancelled".into(),
            Outcome::ModelError(e) => format!("stopped: {e}"),
        }
    }
}

/// One agent: a model, a tool context (the runtime's tools behind its policy, the browser
/// session, the person, the front end's events) and a history.
pub struct Agent {
    client: Arc<dyn ModelClient>,
    ctx: ToolContext,
    transcript: Option<Arc<Transcript>>,
    system: String,
    history: Vec<Message>,
    usage: UsageTotals,
    limits: Limits,
    max_tokens: u32,
    cancel: watch::Receiver<bool>,
    timings: Vec<StepTiming>,
}

/// Where one step's time went: the model's streaming, the tools, and the loop itself.
#[derive(Debug, Clone, Copy, Default, PartialEq, serde::Serialize)]
pub struct StepTiming {
    /// From sending the request to the finished message.
    pub model: Duration,
    /// Running the tools (gate and browser included).
    pub tools: Duration,
    /// Everything else: building the request, compacting the history, bookkeeping.
    pub overhead: Duration,
}

/// A finished tool call.
struct Done {
    id: String,
    result: Result<ToolOutput, String>,
}

impl Agent {
    /// A new agent. `cancel` turning true stops the run at the next await point.
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        client: Arc<dyn ModelClient>,
        ctx: ToolContext,
        transcript: Option<Arc<Transcript>>,
        system: String,
        limits: Limits,
        max_tokens: u32,
        cancel: watch::Receiver<bool>,
    ) -> Agent {
        Agent {
            client,
            ctx,
            transcript,
            system,
            history: Vec::new(),
            usage: UsageTotals::default(),
            limits,
            max_tokens,
            cancel,
            timings: Vec::new(),
        }
    }

    /// The tool context the agent's calls run over.
    pub fn context(&self) -> &ToolContext {
        &self.ctx
    }

    fn todo(&self) -> TodoList {
        self.ctx.state().get_or_default::<TodoState>().list()
    }

    fn emit(&self, event: Event) {
        self.ctx.events().emit(event);
    }

    /// Starts from an earlier history (`--resume`). A last assistant turn whose tool calls
    /// have no results (the run died mid-step) gets error results saying so.
    pub fn resume(&mut self, mut history: Vec<Message>) {
        if let Some(last) = history.last() {
            if last.role == Role::Assistant {
                let ids: Vec<String> = last.tool_uses().iter().map(|u| u.id.to_string()).collect();
                if !ids.is_empty() {
                    let blocks = ids
                        .into_iter()
                        .map(|id| ContentBlock::tool_error(id, "This call was interrupted when the previous run stopped; it may or may not have happened. Check the page before going on."))
                        .collect();
                    history.push(Message::user(blocks));
                }
            }
        }
        self.history = history;
    }

    /// The conversation so far.
    pub fn history(&self) -> &[Message] {
        &self.history
    }

    /// Where each step's time went.
    pub fn timings(&self) -> &[StepTiming] {
        &self.timings
    }

    /// Token usage so far.
    pub fn usage(&self) -> UsageTotals {
        self.usage
    }

    /// The tools the model sees.
    pub fn tool_specs(&self) -> Vec<ToolSpec> {
        self.ctx.runtime().specs()
    }

    fn log(&self, kind: &str, fields: Value) {
        if let Some(t) = &self.transcript {
            t.event(kind, fields);
        }
    }

    fn push(&mut self, m: Message) {
        if let Some(t) = &self.transcript {
            t.message(&m);
        }
        // Consecutive user turns (a resumed run's results, then the new task) are merged so
        // roles alternate as the APIs require.
        if let (Some(last), Role::User) = (self.history.last_mut(), m.role) {
            if last.role == Role::User {
                last.content.extend(m.content);
                return;
            }
        }
        self.history.push(m);
    }

    fn cancelled(&self) -> bool {
        *self.cancel.borrow()
    }

    /// Runs `task` to the end.
    pub async fn run(&mut self, task: &str) -> Outcome {
        let started = Instant::now();
        self.log("task", json!({"task": task}));
        let mut first = vec![ContentBlock::text(task)];
        if let Some(r) = prompt::todo_reminder(&self.todo()) {
            first.push(ContentBlock::text(r));
        }
        self.push(Message::user(first));
        let specs = self.tool_specs();
        let parallel: HashMap<String, bool> = self
            .tool_specs()
            .iter()
            .map(|s| (s.name.clone(), s.parallel))
            .collect();
        let mut turns = 0u32;
        loop {
            if self.cancelled() {
                return self.end(Outcome::Cancelled);
            }
            if turns >= self.limits.max_turns {
                return self.end(Outcome::TurnLimit(self.limits.max_turns));
            }
            if started.elapsed() >= self.limits.max_duration {
                return self.end(Outcome::TimeLimit(self.limits.max_duration));
            }
            if let Some(max) = self.limits.max_total_tokens {
                let spent = self.usage.usage.total_input() + self.usage.usage.output_tokens;
                if spent >= max {
                    return self.end(Outcome::SpendLimit(max));
                }
            }
            turns += 1;
            let step_start = Instant::now();
            // While a skill narrows the tools, the model is shown only those (the door
            // refuses the others anyway).
            let scope = self.ctx.state().get::<ToolScope>();
            let tools: Vec<ToolDefinition> = specs
                .iter()
                .filter(|s| scope.as_ref().is_none_or(|sc| sc.offers(&s.name)))
                .map(ToolDefinition::from)
                .collect();
            let request = ModelRequest {
                system: self.system.clone(),
                messages: compact(&self.history, &self.limits),
                tools,
                max_tokens: self.max_tokens,
                ..ModelRequest::default()
            };
            let remaining = self.limits.max_duration.saturating_sub(started.elapsed());
            let events = self.ctx.events().clone();
            let transcript = self.transcript.clone();
            let stream = self.client.stream(request);
            let collect = stream.collect_with(|ev| match ev {
                ModelEvent::TextDelta(t) => events.emit(Event::TextDelta { text: t.clone() }),
                ModelEvent::Retrying {
                    attempt,
                    delay,
                    reason,
                    discard_partial,
                } => {
                    if *discard_partial {
                        events.emit(Event::DiscardPartial);
                    }
                    events.emit(Event::Notice {
                        text: format!(
                            "model: {reason}; retrying in {:.1} s (attempt {attempt})",
                            delay.as_secs_f64()
                        ),
                    });
                    if let Some(t) = &transcript {
                        t.event(
                            "retry",
                            json!({"attempt": attempt, "delay_ms": delay.as_millis() as u64, "reason": reason}),
                        );
                    }
                }
                _ => {}
            });
            let mut cancel = self.cancel.clone();
            let model_start = Instant::now();
            let turn = tokio::select! {
                r = tokio::time::timeout(remaining, collect) => match r {
                    Ok(r) => r,
                    Err(_) => return self.end(Outcome::TimeLimit(self.limits.max_duration)),
                },
                _ = cancel.wait_for(|c| *c) => return self.end(Outcome::Cancelled),
            };
            let model_time = model_start.elapsed();
            let turn = match turn {
                Ok(t) => t,
                Err(e) => {
                    self.log("model_error", json!({"error": e.to_string()}));
                    return self.end(Outcome::ModelError(e.to_string()));
                }
            };
            self.usage.record(&turn.usage);
            if let Some(t) = &self.transcript {
                t.usage(turns, &turn.usage);
            }
            let message = turn.message.clone();
            self.push(turn.message);
            let uses: Vec<(String, String, Value)> = message
                .tool_uses()
                .iter()
                .map(|u| (u.id.to_string(), u.name.to_string(), u.input.clone()))
                .collect();
            if uses.is_empty() {
                self.step_done(turns, step_start, model_time, Duration::ZERO);
                if turn.stop_reason == StopReason::MaxTokens {
                    self.emit(Event::Notice {
                        text: "the model's answer was cut at its output limit (--max-tokens)"
                            .into(),
                    });
                }
                return self.end(Outcome::Done(message.text()));
            }
            let tools_start = Instant::now();
            let results = self.dispatch(uses, &parallel).await;
            let tools_time = tools_start.elapsed();
            if self.cancelled() && results.is_none() {
                return self.end(Outcome::Cancelled);
            }
            let mut blocks = results.unwrap_or_default();
            if let Some(r) = prompt::todo_reminder(&self.todo()) {
                blocks.push(ContentBlock::text(r));
            }
            self.push(Message::user(blocks));
            self.step_done(turns, step_start, model_time, tools_time);
        }
    }

    fn step_done(&mut self, turn: u32, start: Instant, model: Duration, tools: Duration) {
        let t = StepTiming {
            model,
            tools,
            overhead: start.elapsed().saturating_sub(model + tools),
        };
        self.log(
            "step",
            json!({"turn": turn, "model_ms": t.model.as_secs_f64() * 1e3, "tools_ms": t.tools.as_secs_f64() * 1e3, "overhead_ms": t.overhead.as_secs_f64() * 1e3}),
        );
        self.timings.push(t);
    }

    fn end(&self, o: Outcome) -> Outcome {
        // A skill runs for the task that loaded it: its narrowing ends with the task.
        if let Some(scope) = self.ctx.state().get::<ToolScope>() {
            scope.clear();
        }
        if let Some(loaded) = self.ctx.state().get::<crate::skills::tool::Loaded>() {
            loaded.clear();
        }
        let u = self.usage;
        self.emit(Event::Usage {
            input_tokens: u.usage.total_input(),
            output_tokens: u.usage.output_tokens,
            turns: u.turns,
        });
        self.emit(Event::Ended {
            outcome: o.describe(),
        });
        self.log(
            "end",
            json!({"outcome": o.describe(), "turns": u.turns, "usage": u.usage}),
        );
        o
    }

    /// Runs the calls in order; consecutive read-only browser calls run together. Returns the
    /// results (None when cancelled before any result).
    async fn dispatch(
        &mut self,
        uses: Vec<(String, String, Value)>,
        parallel: &HashMap<String, bool>,
    ) -> Option<Vec<ContentBlock>> {
        let mut done: Vec<Done> = Vec::new();
        let mut i = 0;
        while i < uses.len() {
            if self.cancelled() {
                for (id, _, _) in &uses[i..] {
                    done.push(Done {
                        id: id.clone(),
                        result: Err("cancelled by the person before it ran".into()),
                    });
                }
                break;
            }
            let parallel = |n: &str| parallel.get(n) == Some(&true);
            let mut j = i + 1;
            if parallel(&uses[i].1) {
                while j < uses.len() && parallel(&uses[j].1) {
                    j += 1;
                }
            }
            if j - i > 1 {
                let batch: Vec<_> = uses[i..j]
                    .iter()
                    .map(|(id, name, args)| {
                        let ctx = self.ctx.clone();
                        let (id, name, args) = (id.clone(), name.clone(), args.clone());
                        async move {
                            let r = ctx.call_tool(&name, args).await.map_err(|e| e.0);
                            (id, name, r)
                        }
                    })
                    .collect();
                for (id, name, r) in futures_util::future::join_all(batch).await {
                    self.log_tool(&id, &name, &r);
                    done.push(Done { id, result: r });
                }
            } else {
                let (id, name, args) = uses[i].clone();
                let r = self.call_one(&name, args).await;
                self.log_tool(&id, &name, &r);
                done.push(Done { id, result: r });
            }
            i = j;
        }
        Some(done.into_iter().map(|d| self.result_block(d)).collect())
    }

    async fn call_one(&mut self, name: &str, args: Value) -> Result<ToolOutput, String> {
        let mut cancel = self.cancel.clone();
        tokio::select! {
            r = self.ctx.call_tool(name, args) => r.map_err(|e| e.0),
            _ = cancel.wait_for(|c| *c) => Err("cancelled by the person while it ran; the page may be part-way through the action".into()),
        }
    }

    fn log_tool(&self, id: &str, name: &str, r: &Result<ToolOutput, String>) {
        let (ok, text, images) = match r {
            Ok(o) => (true, o.text.as_str(), o.images.len()),
            Err(e) => (false, e.as_str(), 0),
        };
        let summary: String = text.chars().take(2000).collect();
        self.log(
            "tool_result",
            json!({"id": id, "name": name, "ok": ok, "text": summary, "chars": text.len(), "images": images}),
        );
    }

    fn result_block(&self, d: Done) -> ContentBlock {
        match d.result {
            Ok(out) => {
                let mut content = vec![ToolResultContent::Text {
                    text: cut(&out.text, self.limits.max_tool_chars),
                }];
                for img in out.images {
                    content.push(ToolResultContent::Image {
                        image: ImageData {
                            media_type: img.mime,
                            data: img.data,
                        },
                    });
                }
                ContentBlock::ToolResult {
                    tool_use_id: d.id,
                    content,
                    is_error: false,
                }
            }
            Err(e) => ContentBlock::tool_error(d.id, cut(&e, self.limits.max_tool_chars)),
        }
    }
}

/// At most `max` characters of `text`, with a note on how to get the rest.
pub fn cut(text: &str, max: usize) -> String {
    let n = text.chars().count();
    if n <= max {
        return text.to_string();
    }
    let head: String = text.chars().take(max).collect();
    format!(
        "{head}\n[output cut at {max} of {n} characters to fit the context. To see the rest, narrow the call: read_page with ref=, filter=interactive or depth=; get_page_text or find with a more specific query; javascript_tool returning less.]"
    )
}

const IMAGE_NOTE: &str = "[screenshot left out to save context; take a new one if you need it]";
const OUTLINE_NOTE: &str =
    "[page outline left out to save context; call read_page or find again for a fresh one]";

/// The history as sent to the model: all but the newest `keep_images` screenshots and
/// `keep_outlines` outlines become short notes, and while the whole is over `context_chars`
/// the oldest long tool results are shortened to their first lines.
pub fn compact(history: &[Message], limits: &Limits) -> Vec<Message> {
    let mut names: HashMap<String, String> = HashMap::new();
    for m in history {
        for u in m.tool_uses() {
            names.insert(u.id.to_string(), u.name.to_string());
        }
    }
    let mut out = history.to_vec();
    let mut images_seen = 0usize;
    let mut outlines_seen = 0usize;
    for m in out.iter_mut().rev() {
        for b in m.content.iter_mut().rev() {
            let ContentBlock::ToolResult {
                tool_use_id,
                content,
                ..
            } = b
            else {
                continue;
            };
            let is_outline = matches!(
                names.get(tool_use_id.as_str()).map(String::as_str),
                Some("read_page" | "find")
            );
            for c in content.iter_mut().rev() {
                match c {
                    ToolResultContent::Image { .. } => {
                        images_seen += 1;
                        if images_seen > limits.keep_images {
                            *c = ToolResultContent::Text {
                                text: IMAGE_NOTE.into(),
                            };
                        }
                    }
                    ToolResultContent::Text { text } if is_outline && text.len() > 400 => {
                        outlines_seen += 1;
                        if outlines_seen > limits.keep_outlines {
                            *text = OUTLINE_NOTE.into();
                        }
                    }
                    _ => {}
                }
            }
        }
    }
    let size = |ms: &[Message]| -> usize {
        ms.iter()
            .flat_map(|m| m.content.iter())
            .map(|b| match b {
                ContentBlock::Text { text } => text.len(),
                ContentBlock::ToolResult { content, .. } => content
                    .iter()
                    .map(|c| match c {
                        ToolResultContent::Text { text } => text.len(),
                        ToolResultContent::Image { image } => image.data.len() / 4,
                    })
                    .sum(),
                ContentBlock::ToolUse { input, .. } => input.to_string().len(),
                ContentBlock::Thinking { thinking, .. } => thinking.len(),
                _ => 0,
            })
            .sum()
    };
    let mut total = size(&out);
    // Oldest first, never the last two messages (the turn in flight).
    let protect = out.len().saturating_sub(2);
    'outer: for m in out.iter_mut().take(protect) {
        for b in m.content.iter_mut() {
            if total <= limits.context_chars {
                break 'outer;
            }
            if let ContentBlock::ToolResult {
                content,
                tool_use_id,
                ..
            } = b
            {
                // A loaded skill's instructions stay whole: the rest of the task follows them.
                if names.get(tool_use_id.as_str()).map(String::as_str) == Some("Skill") {
                    continue;
                }
                for c in content.iter_mut() {
                    if let ToolResultContent::Text { text } = c {
                        if text.len() > 1000 {
                            let before = text.len();
                            let head: String = text.chars().take(600).collect();
                            *text = format!("{head}\n[older output shortened to save context]");
                            total = total.saturating_sub(before - text.len());
                        }
                    }
                }
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn result(id: &str, text: &str, image: bool) -> ContentBlock {
        let mut content = vec![ToolResultContent::Text { text: text.into() }];
        if image {
            content.push(ToolResultContent::Image {
                image: ImageData {
                    media_type: "image/png".into(),
                    data: "AAAA".into(),
                },
            });
        }
        ContentBlock::ToolResult {
            tool_use_id: id.into(),
            content,
            is_error: false,
        }
    }

    fn call(id: &str, name: &str) -> Message {
        Message {
            role: Role::Assistant,
            content: vec![ContentBlock::ToolUse {
                id: id.into(),
                name: name.into(),
                input: json!({}),
            }],
        }
    }

    #[test]
    fn old_screenshots_and_outlines_become_notes() {
        let outline = "- button \"x\" [e1]\n".repeat(40);
        let mut h = vec![Message::user_text("task")];
        for i in 0..4 {
            h.push(call(&format!("s{i}"), "computer"));
            h.push(Message::user(vec![result(
                &format!("s{i}"),
                "Screenshot",
                true,
            )]));
            h.push(call(&format!("r{i}"), "read_page"));
            h.push(Message::user(vec![result(
                &format!("r{i}"),
                &outline,
                false,
            )]));
        }
        let limits = Limits::default();
        let c = compact(&h, &limits);
        let text = serde_json::to_string(&c).expect("json");
        assert_eq!(text.matches(IMAGE_NOTE).count(), 2);
        assert_eq!(text.matches("\"data\":\"AAAA\"").count(), 2);
        assert_eq!(text.matches(OUTLINE_NOTE).count(), 2);
        assert_eq!(h.len(), c.len(), "same messages, same order");
        // The original history is untouched (the transcript keeps everything).
        assert!(!serde_json::to_string(&h)
            .expect("json")
            .contains(IMAGE_NOTE));
    }

    #[test]
    fn oversized_output_is_cut_with_a_note() {
        let s = "x".repeat(50);
        assert_eq!(cut(&s, 100), s);
        let c = cut(&s, 10);
        assert!(c.starts_with("xxxxxxxxxx\n[output cut at 10 of 50 characters"));
    }

    #[test]
    fn history_over_the_budget_is_shortened_oldest_first() {
        let big = "y".repeat(5000);
        let mut h = vec![Message::user_text("task")];
        for i in 0..10 {
            h.push(call(&format!("j{i}"), "javascript_tool"));
            h.push(Message::user(vec![result(&format!("j{i}"), &big, false)]));
        }
        let limits = Limits {
            context_chars: 20_000,
            ..Limits::default()
        };
        // A loaded skill, oldest of all, survives the shortening whole.
        let skill = format!("<skill_content>{}</skill_content>", "z".repeat(5000));
        h.insert(1, call("k0", "Skill"));
        h.insert(2, Message::user(vec![result("k0", &skill, false)]));
        let c = compact(&h, &limits);
        assert!(serde_json::to_string(&c[2]).expect("json").contains(&skill));
        let last = serde_json::to_string(&c[c.len() - 1]).expect("json");
        assert!(last.contains(&big), "the newest result is whole");
        let first = serde_json::to_string(&c[4]).expect("json");
        assert!(
            first.contains("[older output shortened"),
            "{}",
            &first[..200]
        );
    }
}
