//! A self-renewing, fenced Redis lock: one owner at a time for an outbox relay or a scheduler.
//!
//! The holder's value is `<owner>:<fence>`, where the fence comes from a counter that only
//! grows, so every new holder has a larger fence than all before it. A background task renews
//! the lease every ttl/3; the moment one renewal fails (error, timeout or the value is no longer
//! ours) the lease's `lost` token fires and the holder must stop. Work that changes shared state
//! after the lease is lost is refused by checking the value in the same script (see
//! `lua/ack_relayed.lua`), and the fence travels with what the holder produces.
//!
//! The lock key must carry a hash tag (e.g. `sk:{42}:relay-lock`): its fence counter is
//! `<key>:fence` and both must live in one cluster slot.

use std::sync::LazyLock;
use std::time::Duration;

use redis::Script;
use redis::aio::ConnectionManager;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use crate::Result;

static ACQUIRE: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r"
        if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
        local fence = redis.call('INCR', KEYS[2])
        redis.call('SET', KEYS[1], ARGV[1] .. ':' .. fence, 'PX', ARGV[2])
        return fence",
    )
});

static RENEW: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r"
        if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
        return redis.call('PEXPIRE', KEYS[1], ARGV[2])",
    )
});

static RELEASE: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r"
        if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
        return redis.call('DEL', KEYS[1])",
    )
});

/// A named lock; [`RedisLock::try_acquire`] hands out [`Lease`]s.
#[derive(Debug, Clone)]
pub struct RedisLock {
    key: String,
    fence_key: String,
    owner: String,
    ttl: Duration,
}

impl RedisLock {
    /// The lock at `key` (with a hash tag), held for `ttl` per renewal by `owner` (an id unique
    /// to this process, e.g. a UUID).
    #[must_use]
    pub fn new(key: String, owner: &str, ttl: Duration) -> Self {
        Self {
            fence_key: format!("{key}:fence"),
            key,
            owner: owner.to_owned(),
            ttl,
        }
    }

    /// Takes the lock if nobody holds it, and starts renewing it.
    ///
    /// # Errors
    /// When Redis fails.
    pub async fn try_acquire(&self, conn: &ConnectionManager) -> Result<Option<Lease>> {
        let fence: u64 = ACQUIRE
            .key(&self.key)
            .key(&self.fence_key)
            .arg(&self.owner)
            .arg(ttl_ms(self.ttl))
            .invoke_async(&mut conn.clone())
            .await?;
        if fence == 0 {
            return Ok(None);
        }
        let value = format!("{}:{fence}", self.owner);
        let lost = CancellationToken::new();
        let renewal = tokio::spawn(renew_until_lost(
            conn.clone(),
            self.key.clone(),
            value.clone(),
            self.ttl,
            lost.clone(),
        ));
        Ok(Some(Lease {
            key: self.key.clone(),
            value,
            fence,
            lost,
            renewal,
        }))
    }
}

/// Proof of holding a [`RedisLock`] until [`Lease::lost`] fires. Dropping it stops renewing
/// (the lock then lapses after its ttl); [`Lease::release`] hands it back at once.
#[derive(Debug)]
pub struct Lease {
    key: String,
    value: String,
    fence: u64,
    lost: CancellationToken,
    renewal: JoinHandle<()>,
}

impl Lease {
    /// This holder's fencing token: larger than every earlier holder's.
    #[must_use]
    pub const fn fence(&self) -> u64 {
        self.fence
    }

    /// The value stored in the lock while we hold it (scripts compare it to fence writes).
    #[must_use]
    pub fn value(&self) -> &str {
        &self.value
    }

    /// Fires when a renewal fails: stop working for this lock at once.
    #[must_use]
    pub fn lost(&self) -> &CancellationToken {
        &self.lost
    }

    /// Stops renewing and deletes the lock if it is still ours, so another owner can start now.
    pub async fn release(self, conn: &ConnectionManager) {
        self.renewal.abort();
        self.lost.cancel();
        let released: Result<i64, _> = RELEASE
            .key(&self.key)
            .arg(&self.value)
            .invoke_async(&mut conn.clone())
            .await;
        if let Err(e) = released {
            tracing::debug!(lock = %self.key, error = %e, "lock not released; it lapses after its ttl");
        }
    }
}

impl Drop for Lease {
    fn drop(&mut self) {
        self.renewal.abort();
        self.lost.cancel();
    }
}

async fn renew_until_lost(
    mut conn: ConnectionManager,
    key: String,
    value: String,
    ttl: Duration,
    lost: CancellationToken,
) {
    let period = ttl / 3;
    loop {
        tokio::select! {
            () = lost.cancelled() => return,
            () = tokio::time::sleep(period) => {}
        }
        // A renewal must land well inside the ttl, or another owner may already be working.
        let mut renewal = RENEW.prepare_invoke();
        renewal.key(&key).arg(&value).arg(ttl_ms(ttl));
        match tokio::time::timeout(period, renewal.invoke_async::<i64>(&mut conn)).await {
            Ok(Ok(1)) => {}
            outcome => {
                let why = match outcome {
                    Ok(Ok(_)) => "held by another owner".to_owned(),
                    Ok(Err(e)) => e.to_string(),
                    Err(_) => format!("no answer within {period:?}"),
                };
                tracing::warn!(lock = %key, reason = %why, "lock lease lost");
                lost.cancel();
                return;
            }
        }
    }
}

fn ttl_ms(ttl: Duration) -> u64 {
    u64::try_from(ttl.as_millis()).unwrap_or(u64::MAX).max(1)
}
