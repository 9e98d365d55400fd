//! Issue test 3: exactly one scheduler leader among sk-admin instances.

use std::time::{Duration, Instant};

use sk_common::testing::{eventually, unique};

use crate::helpers::Admin;

const LOCK_TTL_MS: u64 = 1_000;
const INTERVAL_MS: u64 = 100;

async fn leading(admin: &Admin) -> bool {
    let (_, view) = admin.get("/admin/v1/scheduler").await;
    view["leading"].as_bool().unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_instance_leads_and_another_takes_over_when_it_dies_or_loses_its_lease() {
    let prefix = unique("skt");
    let settings = [
        ("SK_SCHEDULER__LOCK_TTL_MS", LOCK_TTL_MS.to_string()),
        ("SK_SCHEDULER__INTERVAL_MS", INTERVAL_MS.to_string()),
    ];
    let first = Admin::start_with(&prefix, &settings).await;
    let second = Admin::start_with(&prefix, &settings).await;
    eventually("one leader", || async {
        leading(&first).await || leading(&second).await
    })
    .await;
    // Several rounds later there is still exactly one.
    for _ in 0..5 {
        tokio::time::sleep(Duration::from_millis(INTERVAL_MS)).await;
        assert!(
            leading(&first).await ^ leading(&second).await,
            "not exactly one leader"
        );
    }
    let (leader, follower) = if leading(&first).await {
        (first, second)
    } else {
        (second, first)
    };

    leader.server.kill().await;
    let killed = Instant::now();
    eventually("the follower to lead", || async {
        leading(&follower).await
    })
    .await;
    let takeover = killed.elapsed();
    assert!(
        takeover < Duration::from_millis(LOCK_TTL_MS + INTERVAL_MS + 1_000),
        "takeover took {takeover:?}"
    );

    // Someone else's value in the lock: the leader's next renewal fails and it stops at once.
    let lock = format!("{prefix}:{{scheduler}}:lock");
    redis::cmd("SET")
        .arg(&lock)
        .arg("intruder:999999")
        .arg("PX")
        .arg(60_000)
        .query_async::<()>(&mut follower.redis().await)
        .await
        .unwrap();
    let stolen = Instant::now();
    eventually("the leader to stop leading", || async {
        !leading(&follower).await
    })
    .await;
    assert!(
        stolen.elapsed() < Duration::from_millis(LOCK_TTL_MS / 3 * 2 + 1_000),
        "stopping took {:?}",
        stolen.elapsed()
    );
    follower.server.stop().await.unwrap();
}
