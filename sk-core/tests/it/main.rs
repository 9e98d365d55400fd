//! sk-core, started for real (in-process through `run`, or as its binary) against real
//! dependencies on loopback.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "a failing test should fail loudly"
)]

mod deadlines;
mod helpers;
mod hostile;
mod lifecycle;
mod purchase;
mod replay;
mod takeover;
