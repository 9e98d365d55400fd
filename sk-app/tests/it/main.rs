//! sk-app, started for real (in-process through `run`, or as its binary) against real
//! dependencies on loopback.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "a failing test should fail loudly"
)]

mod blacklist;
mod browse;
mod concurrency;
mod error_codes;
mod helpers;
mod lifecycle;
mod openapi;
mod purchase;
mod sold_out;
