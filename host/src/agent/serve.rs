//! The agent behind a message front end: [`drive`] reads the protocol's [`Op`]s — a task, an
//! answer, stop — and runs the one loop ([`Agent`]) on them, while the loop's events and
//! questions go out through the same [`Channel`]. The terminal calls the loop directly; the
//! side panel and tests speak to it through here. History carries over from task to task, so
//! a later task is a follow-up in the same conversation.

use std::sync::Arc;

use tokio::sync::{mpsc, watch};

use super::runner::{Agent, Outcome};
use crate::frontend::{Channel, Event, EventSink, Op};

/// Runs tasks from `ops` on `agent` until the front end closes `ops`. `stop` must be the
/// sender of the `cancel` receiver the agent was built with: [`Op::Stop`] cancels the running
/// task cleanly, and the next task starts uncancelled. Answers go to the question they name;
/// a task sent while another runs is refused with a notice. Returns the last task's outcome.
pub async fn drive(
    mut agent: Agent,
    channel: Arc<Channel>,
    mut ops: mpsc::Receiver<Op>,
    stop: watch::Sender<bool>,
) -> Option<Outcome> {
    let mut last = None;
    while let Some(op) = ops.recv().await {
        match op {
            Op::Task { text } => {
                let _ = stop.send(false);
                let run = agent.run(&text);
                tokio::pin!(run);
                let mut closed = false;
                let outcome = loop {
                    tokio::select! {
                        o = &mut run => break o,
                        op = ops.recv(), if !closed => match op {
                            Some(Op::Answer { id, answer }) => answer_or_notice(&channel, id, answer),
                            Some(Op::Stop) => {
                                let _ = stop.send(true);
                            }
                            Some(Op::Task { .. }) => channel.emit(Event::Notice {
                                text: "a task is running: stop it, or wait for it to end, before sending another".into(),
                            }),
                            None => {
                                // The front end is gone: nobody can answer or watch.
                                closed = true;
                                let _ = stop.send(true);
                            }
                        },
                    }
                };
                last = Some(outcome);
                if closed {
                    break;
                }
            }
            Op::Answer { id, answer } => answer_or_notice(&channel, id, answer),
            Op::Stop => {}
        }
    }
    last
}

fn answer_or_notice(channel: &Channel, id: u64, answer: crate::frontend::Answer) {
    if let Err(e) = channel.answer(id, answer) {
        channel.emit(Event::Notice { text: e.0 });
    }
}
