//! Who answers when the host must ask: the terminal for `tabwright run`, a channel for the side
//! panel (and tests), and a refusal when nobody can answer. An [`Approver`] never decides by
//! itself what needs asking; the [`Gate`](super::Gate) does.

use std::io::{BufRead, IsTerminal, Write};

use tokio::sync::{mpsc, oneshot};

use super::BoxFuture;

/// What the host asks a person.
#[derive(Debug, Clone, serde::Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum ApprovalRequest {
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
    Risky {
        /// The tool and what it was about to do.
        action: String,
        /// Why it is risky.
        reason: String,
    },
}

impl ApprovalRequest {
    /// One-paragraph text for a terminal prompt.
    pub fn prompt(&self) -> String {
        match self {
            ApprovalRequest::Plan { domains, approach } => {
                let mut s = format!(
                    "The agent proposes a plan.\n  Domains: {}\n  Approach:",
                    domains.join(", ")
                );
                for (i, step) in approach.iter().enumerate() {
                    s.push_str(&format!("\n    {}. {step}", i + 1));
                }
                s
            }
            ApprovalRequest::Domain { domain, action } => {
                format!("The agent wants to go to {domain}, which is not in the approved plan ({action}).")
            }
            ApprovalRequest::Risky { action, reason } => {
                format!("The agent wants to do something risky: {reason}.\n  Action: {action}")
            }
        }
    }
}

/// A person's answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ApprovalAnswer {
    /// Go ahead.
    Approve,
    /// Do not; the text (may be empty) goes back to the model.
    Reject(String),
    /// Plans only: approved with the person's edits.
    Edit {
        /// The domains as edited.
        domains: Vec<String>,
        /// The approach as edited.
        approach: Vec<String>,
    },
}

/// Something that can ask a person.
pub trait Approver: Send + Sync {
    /// Asks and waits for the answer; `Err` when nobody can answer (no terminal, panel gone).
    fn ask<'a>(&'a self, req: ApprovalRequest) -> BoxFuture<'a, Result<ApprovalAnswer, String>>;
}

/// Refuses every request with a message that says how to run unattended.
pub struct NoApprover;

impl Approver for NoApprover {
    fn ask<'a>(&'a self, req: ApprovalRequest) -> BoxFuture<'a, Result<ApprovalAnswer, String>> {
        Box::pin(async move {
            Err(format!(
                "this needs a person's approval, but no one can answer here ({}). Run in a terminal, or pass --approve auto and --allow-domain DOMAIN for unattended runs (risky actions still need a person).",
                req.prompt().lines().next().unwrap_or("")
            ))
        })
    }
}

/// Asks on the terminal (stdin must be a TTY; otherwise it fails at once instead of hanging).
pub struct TerminalApprover;

impl Approver for TerminalApprover {
    fn ask<'a>(&'a self, req: ApprovalRequest) -> BoxFuture<'a, Result<ApprovalAnswer, String>> {
        Box::pin(async move {
            if !std::io::stdin().is_terminal() {
                return NoApprover.ask(req).await;
            }
            let text = req.prompt();
            let answer = tokio::task::spawn_blocking(move || -> Result<String, String> {
                let mut err = std::io::stderr().lock();
                let _ = write!(
                    err,
                    "\n{text}\nApprove? [y]es / [n]o (or type a reason to refuse): "
                );
                let _ = err.flush();
                let mut line = String::new();
                std::io::stdin()
                    .lock()
                    .read_line(&mut line)
                    .map_err(|e| format!("cannot read the answer from the terminal: {e}"))?;
                Ok(line)
            })
            .await
            .map_err(|e| format!("the approval prompt failed: {e}"))??;
            Ok(parse_answer(&answer))
        })
    }
}

/// A pending question for a front end that answers over a channel (the side panel, tests).
pub struct Pending {
    /// The question.
    pub request: ApprovalRequest,
    /// Where the answer goes.
    pub reply: oneshot::Sender<ApprovalAnswer>,
}

/// Sends each question to a channel and waits for the reply.
pub struct ChannelApprover {
    tx: mpsc::Sender<Pending>,
}

impl ChannelApprover {
    /// A new approver and the receiving end a front end listens on.
    pub fn new() -> (ChannelApprover, mpsc::Receiver<Pending>) {
        let (tx, rx) = mpsc::channel(16);
        (ChannelApprover { tx }, rx)
    }
}

impl Approver for ChannelApprover {
    fn ask<'a>(
        &'a self,
        request: ApprovalRequest,
    ) -> BoxFuture<'a, Result<ApprovalAnswer, String>> {
        Box::pin(async move {
            let (reply, rx) = oneshot::channel();
            self.tx
                .send(Pending { request, reply })
                .await
                .map_err(|_| {
                    "the approval front end is gone; reopen it and try again".to_string()
                })?;
            rx.await
                .map_err(|_| "the approval front end closed without answering".to_string())
        })
    }
}

/// Reads one terminal answer: `y`/`yes` approves; empty, `n`/`no` or any other text refuses
/// (other text is the reason given back to the model).
pub fn parse_answer(line: &str) -> ApprovalAnswer {
    let a = line.trim();
    match a.to_ascii_lowercase().as_str() {
        "y" | "yes" | "ok" | "approve" => ApprovalAnswer::Approve,
        "" | "n" | "no" => ApprovalAnswer::Reject(String::new()),
        _ => ApprovalAnswer::Reject(a.to_string()),
    }
}
