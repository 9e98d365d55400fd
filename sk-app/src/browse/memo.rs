//! A small in-process memo with a time to live and one load per key at a time: the shoppers
//! who miss together share one load (the first starts it, the others await the same future),
//! so a crowd refreshing a page costs the database one query per key per period.
//!
//! Failures are remembered for the same period as answers: while MySQL is down a key costs
//! one attempt per period and every other request is answered at once. The memo holds at most
//! `capacity` keys; when full it drops the expired ones, and everything if none has expired
//! (random keys cannot grow it without bound).

use std::collections::HashMap;
use std::future::Future;
use std::hash::Hash;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use futures_util::FutureExt;
use futures_util::future::{BoxFuture, Shared};

/// What a load gives every caller that shares it.
pub type Loaded<T> = Result<Arc<T>, Arc<sk_common::Error>>;

type Load<T> = Shared<BoxFuture<'static, Loaded<T>>>;

/// Each key's load and when it started.
type Entries<K, T> = HashMap<K, (Instant, Load<T>)>;

/// Answers by key, each kept for the time to live. Cheap to clone; clones share entries.
#[derive(Clone)]
pub struct Memo<K, T> {
    ttl: Duration,
    capacity: usize,
    entries: Arc<Mutex<Entries<K, T>>>,
}

impl<K, T> std::fmt::Debug for Memo<K, T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Memo")
            .field("ttl", &self.ttl)
            .field("capacity", &self.capacity)
            .finish_non_exhaustive()
    }
}

impl<K, T> Memo<K, T>
where
    K: Hash + Eq + Clone,
    T: Send + Sync + 'static,
{
    /// A memo keeping answers for `ttl` (zero: every call loads) and at most `capacity` keys.
    #[must_use]
    pub fn new(ttl: Duration, capacity: usize) -> Self {
        Self {
            ttl,
            capacity: capacity.max(1),
            entries: Arc::default(),
        }
    }

    /// The answer for `key`: remembered if younger than the time to live, else from `load`
    /// (shared with every caller asking for `key` meanwhile).
    pub async fn get<F, Fut>(&self, key: K, load: F) -> Loaded<T>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = sk_common::Result<T>> + Send + 'static,
    {
        if self.ttl.is_zero() {
            return load().await.map(Arc::new).map_err(Arc::new);
        }
        self.entry(key, load).await
    }

    /// The live load of `key`, or a new one started from `load`.
    fn entry<F, Fut>(&self, key: K, load: F) -> Load<T>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = sk_common::Result<T>> + Send + 'static,
    {
        let now = Instant::now();
        let mut entries = self.locked();
        if let Some((born, shared)) = entries.get(&key)
            && now.duration_since(*born) < self.ttl
        {
            return shared.clone();
        }
        if entries.len() >= self.capacity {
            entries.retain(|_, (born, _)| now.duration_since(*born) < self.ttl);
            if entries.len() >= self.capacity {
                entries.clear();
            }
        }
        let fresh = load();
        let shared = async move { fresh.await.map(Arc::new).map_err(Arc::new) }
            .boxed()
            .shared();
        entries.insert(key, (now, shared.clone()));
        shared
    }

    /// The entries; every change under the lock is one insert, retain or clear, so a panic
    /// elsewhere cannot leave them half-updated and a poisoned lock is still sound to use.
    fn locked(&self) -> MutexGuard<'_, Entries<K, T>> {
        self.entries.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use std::sync::atomic::{AtomicUsize, Ordering};

    use super::*;

    async fn counted(memo: &Memo<u32, u32>, key: u32, loads: &Arc<AtomicUsize>) -> u32 {
        let loads = Arc::clone(loads);
        let answer = memo
            .get(key, || async move {
                tokio::task::yield_now().await;
                Ok(loads.fetch_add(1, Ordering::SeqCst) as u32)
            })
            .await;
        *answer.unwrap()
    }

    #[tokio::test]
    async fn callers_within_the_ttl_share_one_load() {
        let memo = Memo::new(Duration::from_secs(60), 16);
        let loads = Arc::new(AtomicUsize::new(0));
        let (a, b) = tokio::join!(counted(&memo, 1, &loads), counted(&memo, 1, &loads));
        assert_eq!((a, b), (0, 0));
        assert_eq!(counted(&memo, 1, &loads).await, 0);
        assert_eq!(counted(&memo, 2, &loads).await, 1);
        assert_eq!(loads.load(Ordering::SeqCst), 2);
    }

    #[tokio::test]
    async fn a_zero_ttl_loads_every_time() {
        let memo = Memo::new(Duration::ZERO, 16);
        let loads = Arc::new(AtomicUsize::new(0));
        assert_eq!(counted(&memo, 1, &loads).await, 0);
        assert_eq!(counted(&memo, 1, &loads).await, 1);
    }

    #[tokio::test]
    async fn failures_are_shared_too() {
        let memo: Memo<u32, u32> = Memo::new(Duration::from_secs(60), 16);
        let failing = || async { Err(sk_common::Error::UnexpectedAnswer("down".into())) };
        assert!(memo.get(1, failing).await.is_err());
        assert!(memo.get(1, || async { Ok(7) }).await.is_err());
    }

    #[tokio::test]
    async fn a_full_memo_forgets_rather_than_grows() {
        let memo = Memo::new(Duration::from_secs(60), 2);
        let loads = Arc::new(AtomicUsize::new(0));
        for key in 0..5 {
            counted(&memo, key, &loads).await;
        }
        assert!(memo.locked().len() <= 2);
    }
}
