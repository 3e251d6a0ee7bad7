//! The messages between the host and a front end: what a front end sends ([`Op`]), what it
//! receives ([`Event`]), and what the host asks the person ([`Ask`], answered by an
//! [`Answer`]). Plain serde data, so the side panel can speak it as JSON.

use serde::{Deserialize, Serialize};

/// What a front end sends to the host.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case")]
pub enum Op {
    /// Start (or continue) the agent on a task.
    Task {
        /// The task in the person's words.
        text: String,
    },
    /// The person's answer to the question with this id.
    Answer {
        /// The question's id (from [`Event::Ask`]).
        id: u64,
        /// The answer.
        answer: Answer,
    },
    /// Stop the running task cleanly.
    Stop,
}

/// What the host tells a front end.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum Event {
    /// A piece of the model's text as it streams.
    TextDelta {
        /// The text.
        text: String,
    },
    /// The model's streamed text so far was retried: forget it.
    DiscardPartial,
    /// A tool call starts.
    ToolStarted {
        /// The call's id (unique within the host process).
        call_id: u64,
        /// The tool.
        name: String,
        /// Its arguments.
        args: serde_json::Value,
    },
    /// A tool call ended.
    ToolFinished {
        /// The call's id.
        call_id: u64,
        /// The tool.
        name: String,
        /// False for a tool error (a refusal by the policy included).
        ok: bool,
        /// The start of the result's text (or the error), at most [`EVENT_TEXT_MAX`] bytes.
        text: String,
        /// Images the result carried.
        images: usize,
        /// How long it took, in milliseconds.
        ms: u64,
    },
    /// A notice for the person (retries, limits).
    Notice {
        /// The text.
        text: String,
    },
    /// Files the agent made for the person (`present_files`): absolute paths.
    Files {
        /// The files.
        paths: Vec<String>,
    },
    /// The todo list changed.
    Todo {
        /// The whole list.
        items: Vec<TodoItem>,
    },
    /// The host asks the person something; answer with [`Op::Answer`].
    Ask {
        /// The question's id.
        id: u64,
        /// The question.
        ask: Ask,
    },
    /// Tokens used so far.
    Usage {
        /// Input tokens (cache reads and writes included).
        input_tokens: u64,
        /// Output tokens.
        output_tokens: u64,
        /// Model turns.
        turns: u32,
    },
    /// The task ended.
    Ended {
        /// One line: how it ended.
        outcome: String,
    },
}

/// How much of a tool result's text a [`Event::ToolFinished`] carries: enough for a compact
/// line in a front end; the model and the transcript get the whole text.
pub const EVENT_TEXT_MAX: usize = 2000;

/// The first `max` bytes of `text`, cut at a character boundary.
pub fn clip_text(text: &str, max: usize) -> String {
    if text.len() <= max {
        return text.to_string();
    }
    let mut end = max;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    text[..end].to_string()
}

/// One item of the visible task list (`TodoWrite`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TodoItem {
    /// What to do.
    pub content: String,
    /// `pending`, `in_progress` or `completed`.
    pub status: String,
    /// The present-tense form shown while it runs ("Filling the form").
    #[serde(
        default,
        rename = "activeForm",
        skip_serializing_if = "Option::is_none"
    )]
    pub active_form: Option<String>,
}

/// The list as text, one item a line: `[x]` done, `[>]` in progress, `[ ]` pending.
pub fn render_todos(items: &[TodoItem]) -> String {
    items
        .iter()
        .map(|t| {
            let mark = match t.status.as_str() {
                "completed" => "[x]",
                "in_progress" => "[>]",
                _ => "[ ]",
            };
            format!("{mark} {}", t.content)
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// One option of a multiple-choice question.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Choice {
    /// Short label.
    pub label: String,
    /// What it means.
    #[serde(default)]
    pub description: String,
}

/// One multiple-choice question (`AskUserQuestion`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Question {
    /// The question.
    pub question: String,
    /// A short header (chip) for the question.
    #[serde(default)]
    pub header: String,
    /// 2-4 options.
    pub options: Vec<Choice>,
    /// Whether several options may be chosen.
    #[serde(default, rename = "multiSelect")]
    pub multi_select: bool,
}

/// What the host asks a person. Every way of asking goes through this one type: plan approval,
/// leaving the plan's domains, confirming a risky action, and the model's own questions.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Ask {
    /// A plan (update_plan): the domains the agent will visit and its approach.
    Plan {
        /// Domains to approve.
        domains: Vec<String>,
        /// Steps of the approach.
        approach: Vec<String>,
    },
    /// Going to a domain outside the approved plan.
    Domain {
        /// The domain.
        domain: String,
        /// The tool and what it was about to do.
        action: String,
    },
    /// A risky action (confirmed every time).
    Confirm {
        /// The tool and what it was about to do.
        action: String,
        /// Why it is risky.
        reason: String,
    },
    /// Multiple-choice questions from the model; answered with [`Answer::Answers`].
    Questions {
        /// 1-4 questions.
        questions: Vec<Question>,
    },
}

impl Ask {
    /// One-paragraph text for a prompt (terminal, elicitation form).
    pub fn prompt(&self) -> String {
        match self {
            Ask::Plan { domains, approach } => {
                let mut s = format!(
                    "The agent proposes a plan.\n  Domains: {}\n  Approach:",
                    domains.join(", ")
                );
                for (i, step) in approach.iter().enumerate() {
                    s.push_str(&format!("\n    {}. {step}", i + 1));
                }
                s
            }
            Ask::Domain { domain, action } => {
                format!("The agent wants to go to {domain}, which is not in the approved plan ({action}).")
            }
            Ask::Confirm { action, reason } => {
                format!("The agent wants to do something risky: {reason}.\n  Action: {action}")
            }
            Ask::Questions { questions } => questions
                .iter()
                .map(|q| q.question.as_str())
                .collect::<Vec<_>>()
                .join("\n"),
        }
    }
}

/// A person's answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "answer", rename_all = "snake_case")]
pub enum Answer {
    /// Go ahead.
    Approve,
    /// Do not; the reason (may be empty) goes back to the model.
    Reject {
        /// Why not, or what to do instead.
        #[serde(default)]
        reason: String,
    },
    /// Plans only: approved with the person's edits.
    EditPlan {
        /// The domains as edited.
        domains: Vec<String>,
        /// The approach as edited.
        approach: Vec<String>,
    },
    /// Questions only: one answer per question (an option's label or the person's words).
    Answers {
        /// The answers, in the questions' order.
        answers: Vec<String>,
    },
}

impl Answer {
    /// A refusal with this reason.
    pub fn reject(reason: impl Into<String>) -> Answer {
        Answer::Reject {
            reason: reason.into(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_round_trip_as_json() {
        let op: Op = serde_json::from_str(
            r#"{"op":"answer","id":3,"answer":{"answer":"reject","reason":"not now"}}"#,
        )
        .expect("valid op");
        assert_eq!(
            op,
            Op::Answer {
                id: 3,
                answer: Answer::reject("not now")
            }
        );
        let ev = Event::Ask {
            id: 1,
            ask: Ask::Confirm {
                action: "computer left_click ref=e3".into(),
                reason: "it places an order".into(),
            },
        };
        let text = serde_json::to_string(&ev).expect("json");
        assert!(text.contains(r#""event":"ask""#) && text.contains(r#""kind":"confirm""#));
        assert_eq!(serde_json::from_str::<Event>(&text).expect("back"), ev);
    }
}
