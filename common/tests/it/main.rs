//! sk-common against real dependencies on loopback.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "a failing test should fail loudly"
)]

mod lock;
mod migrations;
