//! A person reached over a channel: each question goes out with a reply slot and the answer
//! comes back on it (the side panel's connection, tests).

use tokio::sync::{mpsc, oneshot};

use super::{Answer, Ask, Person, Unanswered};
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
