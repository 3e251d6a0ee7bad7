//! Test support shared by this crate's unit tests and the end-to-end suites (enable the
//! `test-support` feature to use it from outside): a scripted model server.
//!
//! May use: [`crate::agent`] (the model protocol it speaks).

pub mod model_server;

pub use model_server::{ModelServer, RecordedRequest, Reply, Turn};
