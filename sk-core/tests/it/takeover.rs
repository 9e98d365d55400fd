//! Issue test 2: the relay owner dies mid-stream; another instance takes over within the lock
//! ttl, re-publishes what was pending, and the ledger is still exact.

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use futures_util::StreamExt;
use sk_common::domain::ActivityId;
use sk_common::stock::{ActivityKeys, OUTBOX_GROUP};
use sk_common::testing::{BlackHole, eventually};

use crate::helpers::{Core, Sale, open_activity};

const LOCK_TTL_MS: u64 = 1_500;
const SCAN_MS: u64 = 100;

async fn reserve_many(core: &Core, users: std::ops::Range<u32>) -> BTreeSet<String> {
    futures_util::stream::iter(users)
        .map(|i| async move {
            let (status, body) = core.reserve(1, &format!("user-{i}"), 1).await;
            assert_eq!(status.as_u16(), 200, "{body}");
            body["order_id"].as_str().unwrap().to_owned()
        })
        .buffer_unordered(50)
        .collect()
        .await
}

async fn lock_value(sale: &Sale, keys: &ActivityKeys) -> Option<String> {
    redis::cmd("GET")
        .arg(keys.relay_lock())
        .query_async(&mut sale.redis().await)
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_killed_relay_owner_is_replaced_and_its_pending_entries_are_republished() {
    let sale = Sale::new().await;
    sale.put_activity(1, &open_activity(10_000, 1)).await;
    let relay = [
        ("SK_RELAY__LOCK_TTL_MS", LOCK_TTL_MS.to_string()),
        ("SK_RELAY__SCAN_INTERVAL_MS", SCAN_MS.to_string()),
    ];
    // The first owner's broker accepts connections and never answers: it reads entries from
    // the outbox, produces them, and waits forever for acknowledgements.
    let broker_hole = BlackHole::start().await;
    let mut stuck = relay.to_vec();
    stuck.push(("SK_KAFKA__BROKERS", broker_hole.addr().to_string()));
    stuck.push(("SK_RELAY__PRODUCE_TIMEOUT_MS", "600000".into()));
    let owner = sale.spawn_core(&stuck).await;
    let mut successes = reserve_many(&owner, 0..300).await;

    let keys = sale.inventory.keys(ActivityId::new(1).unwrap());
    eventually(
        "the first owner to hold read-but-unacknowledged entries",
        || async {
            let pending: (u64, Option<String>, Option<String>, redis::Value) =
                redis::cmd("XPENDING")
                    .arg(keys.outbox())
                    .arg(OUTBOX_GROUP)
                    .query_async(&mut sale.redis().await)
                    .await
                    .unwrap_or((0, None, None, redis::Value::Nil));
            pending.0 > 0
        },
    )
    .await;
    let first_holder = lock_value(&sale, &keys).await.unwrap();

    let heir = sale.spawn_core(&relay).await;
    let consumer = sale.spawn_consumer().await;
    successes.extend(reserve_many(&heir, 300..600).await);
    assert_eq!(
        lock_value(&sale, &keys).await.as_deref(),
        Some(first_holder.as_str()),
        "the live owner keeps its lock"
    );

    owner.server.kill().await;
    let killed_at = Instant::now();
    eventually("another instance to take the lock", || async {
        lock_value(&sale, &keys)
            .await
            .is_some_and(|v| v != first_holder)
    })
    .await;
    let takeover = killed_at.elapsed();
    assert!(
        takeover < Duration::from_millis(LOCK_TTL_MS + SCAN_MS + 1_500),
        "takeover took {takeover:?}"
    );
    let fence = |v: &str| v.rsplit(':').next().unwrap().parse::<u64>().unwrap();
    assert!(fence(&lock_value(&sale, &keys).await.unwrap()) > fence(&first_holder));

    successes.extend(reserve_many(&heir, 600..700).await);
    sale.ledger_holds_exactly(&successes).await;
    consumer.stop().await.unwrap();
    heir.server.stop().await.unwrap();
}
