//! Offline, deterministic element search for the `find` tool: candidates come from the
//! outline walker; [`rank`] scores them against the query by roles, names, values, context
//! and nearby text, with synonyms and typo tolerance. No model, no network.
//!
//! May use: nothing else of the crate.

mod rank;

pub use rank::{rank, Candidate};
