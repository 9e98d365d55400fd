//! gateway, started for real (in-process through `run`, or as its binary) against real
//! dependencies on loopback, and in front of stand-in upstreams that count what reaches them.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "a failing test should fail loudly"
)]

mod balancing;
mod breaker;
mod forwarding;
mod helpers;
mod hostile;
mod lifecycle;
mod limits;
mod shopping;
