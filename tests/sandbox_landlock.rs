//! The sandbox escape corpus of `sandbox.rs`, run against the fallback used where bubblewrap
//! cannot run: Landlock + seccomp (`TABWRIGHT_SANDBOX_BACKEND=landlock`, set by the corpus when
//! it finds itself in this binary). Same attempts, same checks on the host side; where the
//! kernel cannot make a path read-only inside the workspace, the check is that the host put
//! it back after the command and said so.

#[path = "sandbox.rs"]
mod corpus;
