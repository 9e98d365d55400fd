//! The self-renewing, fenced Redis lock against a real Redis.

use std::time::Duration;

use redis::aio::ConnectionManager;
use sk_common::lock::RedisLock;
use sk_common::testing::{eventually, redis_url, unique};

async fn connection() -> ConnectionManager {
    let client = redis::Client::open(redis_url()).unwrap();
    ConnectionManager::new(client).await.unwrap()
}

fn lock(name: &str, owner: &str) -> RedisLock {
    RedisLock::new(
        format!("{name}:{{lock}}"),
        owner,
        Duration::from_millis(1_200),
    )
}

#[tokio::test]
async fn one_holder_at_a_time_and_every_new_holder_has_a_larger_fence() {
    let conn = connection().await;
    let name = unique("sk_test_lock");
    let first = lock(&name, "a").try_acquire(&conn).await.unwrap().unwrap();
    assert!(lock(&name, "b").try_acquire(&conn).await.unwrap().is_none());

    // Held well past its ttl: the renewal keeps it.
    tokio::time::sleep(Duration::from_millis(2_500)).await;
    assert!(!first.lost().is_cancelled());
    assert!(lock(&name, "b").try_acquire(&conn).await.unwrap().is_none());

    let fence = first.fence();
    first.release(&conn).await;
    let second = lock(&name, "b").try_acquire(&conn).await.unwrap().unwrap();
    assert!(second.fence() > fence);
    second.release(&conn).await;
}

#[tokio::test]
async fn a_lease_whose_renewal_fails_is_lost_at_once() {
    let mut conn = connection().await;
    let name = unique("sk_test_lock");
    let lease = lock(&name, "a").try_acquire(&conn).await.unwrap().unwrap();
    // Someone else holds the key now (as after an expiry and a takeover).
    redis::cmd("SET")
        .arg(format!("{name}:{{lock}}"))
        .arg("b:999")
        .query_async::<()>(&mut conn)
        .await
        .unwrap();
    eventually("the lease to be lost", || async {
        lease.lost().is_cancelled()
    })
    .await;
    // Releasing a lost lease leaves the new holder's lock alone.
    lease.release(&conn).await;
    let holder: Option<String> = redis::cmd("GET")
        .arg(format!("{name}:{{lock}}"))
        .query_async(&mut conn)
        .await
        .unwrap();
    assert_eq!(holder.as_deref(), Some("b:999"));
}
