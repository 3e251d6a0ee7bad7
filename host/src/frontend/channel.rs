//! Front ends reached over channels: [`ChannelPerson`] hands each question out with a reply
//! slot (tests); [`Channel`] speaks the protocol's messages, events out and answers in by
//! question id (the side panel's connection).

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use tokio::sync::{mpsc, oneshot};

use super::{Answer, Ask, Event, EventSink, Person, Unanswered};
use crate::BoxFuture;

/// A question waiting for its answer.
pub struct Pending {
    /// The question.
    pub ask: Ask,
    /// Where the answer goes.
    pub reply: oneshot::Sender<Answer>,
}

/// Sends each question to a channel and waits for the reply.
pub struct ChannelPerson {
    tx: mpsc::Sender<Pending>,
}

impl ChannelPerson {
    /// A new person and the receiving end a front end listens on.
    pub fn new() -> (ChannelPerson, mpsc::Receiver<Pending>) {
        let (tx, rx) = mpsc::channel(16);
        (ChannelPerson { tx }, rx)
    }
}

impl Person for ChannelPerson {
    fn ask<'a>(&'a self, ask: Ask) -> BoxFuture<'a, Result<Answer, Unanswered>> {
        Box::pin(async move {
            let (reply, rx) = oneshot::channel();
            self.tx.send(Pending { ask, reply }).await.map_err(|_| {
                Unanswered("the front end that answers is gone; reopen it and try again".into())
            })?;
            rx.await
                .map_err(|_| Unanswered("the front end closed without answering".into()))
        })
    }
}

/// A front end reached by messages, as the side panel is: events go out on a channel, each
/// question goes out as [`Event::Ask`] with an id and comes back as
/// [`Op::Answer`](super::Op::Answer) through [`Channel::answer`].
pub struct Channel {
    tx: mpsc::UnboundedSender<Event>,
    pending: Mutex<HashMap<u64, oneshot::Sender<Answer>>>,
    next: AtomicU64,
}

impl Channel {
    /// A new front end and the receiving end of its events.
    pub fn new() -> (Arc<Channel>, mpsc::UnboundedReceiver<Event>) {
        let (tx, rx) = mpsc::unbounded_channel();
        (
            Arc::new(Channel {
                tx,
                pending: Mutex::new(HashMap::new()),
                next: AtomicU64::new(1),
            }),
            rx,
        )
    }

    fn pending(&self) -> std::sync::MutexGuard<'_, HashMap<u64, oneshot::Sender<Answer>>> {
        match self.pending.lock() {
            Ok(g) => g,
            Err(p) => p.into_inner(),
        }
    }

    /// Delivers the person's answer to question `id`.
    pub fn answer(&self, id: u64, answer: Answer) -> Result<(), Unanswered> {
        let reply = self.pending().remove(&id).ok_or_else(|| {
            Unanswered(format!(
                "no open question {id}: it was answered already, or the task it belonged to ended"
            ))
        })?;
        reply
            .send(answer)
            .map_err(|_| Unanswered(format!("question {id} is no longer waiting")))
    }

    /// Questions still waiting for an answer.
    pub fn open_questions(&self) -> Vec<u64> {
        let mut ids: Vec<u64> = self.pending().keys().copied().collect();
        ids.sort_unstable();
        ids
    }
}

impl Person for Channel {
    fn ask<'a>(&'a self, ask: Ask) -> BoxFuture<'a, Result<Answer, Unanswered>> {
        Box::pin(async move {
            let id = self.next.fetch_add(1, Ordering::Relaxed);
            let (reply, rx) = oneshot::channel();
            self.pending().insert(id, reply);
            if self.tx.send(Event::Ask { id, ask }).is_err() {
                self.pending().remove(&id);
                return Err(Unanswered(
                    "the front end that answers is gone; reopen it and try again".into(),
                ));
            }
            // Withdrawn when this future is dropped (the task was stopped), so a late answer
            // is told the question is gone.
            let _withdraw = Withdraw { channel: self, id };
            let answer = rx.await;
            answer.map_err(|_| {
                Unanswered("the question was withdrawn before the person answered".into())
            })
        })
    }
}

struct Withdraw<'a> {
    channel: &'a Channel,
    id: u64,
}

impl Drop for Withdraw<'_> {
    fn drop(&mut self) {
        self.channel.pending().remove(&self.id);
    }
}

impl EventSink for Channel {
    fn emit(&self, event: Event) {
        // A front end that went away misses events; the transcript keeps them.
        let _ = self.tx.send(event);
    }
}
