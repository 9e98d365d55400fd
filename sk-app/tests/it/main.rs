//! sk-app, started for real (in-process through `run`, or as its binary) against real
//! dependencies on loopback.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "a failing test should fail loudly"
)]

mod helpers;
mod lifecycle;
mod purchase;
