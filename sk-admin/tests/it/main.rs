//! sk-admin, started for real (in-process through `run`, or as its binary) against real
//! dependencies on loopback.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "a failing test should fail loudly"
)]

mod auth;
mod blacklist;
mod catalog;
mod helpers;
mod ledger;
mod lifecycle;
mod openapi;
mod scheduler;
mod tokens;
