//! The Lua scripts, embedded at build time. Each order script is `order.lua` (shared helpers
//! and the key layout) followed by its own body, so the helpers exist once.

use std::sync::LazyLock;

use redis::Script;

macro_rules! order_source {
    ($file:literal) => {
        concat!(
            include_str!("../../lua/order.lua"),
            "\n",
            include_str!(concat!("../../lua/", $file))
        )
    };
}

/// The reserve script's source, for running it outside a service (benchmarks).
pub const RESERVE_SOURCE: &str = order_source!("reserve.lua");

pub(super) static RESERVE: LazyLock<Script> = LazyLock::new(|| Script::new(RESERVE_SOURCE));
pub(super) static PAY: LazyLock<Script> = LazyLock::new(|| Script::new(order_source!("pay.lua")));
pub(super) static CANCEL: LazyLock<Script> =
    LazyLock::new(|| Script::new(order_source!("cancel.lua")));
pub(super) static EXPIRE: LazyLock<Script> =
    LazyLock::new(|| Script::new(order_source!("expire.lua")));
pub(super) static ORDER_STATUS: LazyLock<Script> =
    LazyLock::new(|| Script::new(order_source!("order_status.lua")));
pub(super) static ACK_RELAYED: LazyLock<Script> =
    LazyLock::new(|| Script::new(include_str!("../../lua/ack_relayed.lua")));
