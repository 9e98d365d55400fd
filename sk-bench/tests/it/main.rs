//! sk-bench against the real platform: the whole platform in-process (every service through its
//! library `run`, on real Redis, MariaDB and Kafka) or as the real binaries, one process each
//! (`helpers::Cluster`), and small stand-in servers for the load engine's timing.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "a failing test should fail loudly"
)]

mod api_fuzz;
mod faults;
mod flash;
mod helpers;
mod logs;
mod metrics;
mod open_loop;
mod processes;
mod traces;
mod verify;
