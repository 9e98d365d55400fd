//! At most one purchase per (user, activity) in flight in this process (DESIGN §4 step 2): a
//! shopper hammering "buy" costs sk-core one call at a time, and the repeats get 429 at once.

use std::collections::HashSet;
use std::sync::{Arc, Mutex, PoisonError};

use sk_common::domain::{ActivityId, UserId};

type Key = (UserId, ActivityId);

/// The purchases under way. Cheap to clone; clones share the set.
#[derive(Debug, Clone, Default)]
pub struct InFlight(Arc<Mutex<HashSet<Key>>>);

/// Holds a (user, activity) slot; dropping it frees the slot, whichever way the call ended
/// (answer, error, timeout or a client that hung up and cancelled the handler).
#[derive(Debug)]
pub struct InFlightGuard {
    set: InFlight,
    key: Key,
}

impl InFlight {
    /// The slot of `user` for `activity`, or `None` while another purchase holds it.
    #[must_use]
    pub fn claim(&self, user: &UserId, activity: ActivityId) -> Option<InFlightGuard> {
        let key = (user.clone(), activity);
        self.locked().insert(key.clone()).then(|| InFlightGuard {
            set: self.clone(),
            key,
        })
    }

    /// The set; a panic elsewhere while holding the lock cannot leave it half-updated (one
    /// insert or remove), so a poisoned lock is still sound to use.
    fn locked(&self) -> std::sync::MutexGuard<'_, HashSet<Key>> {
        self.0.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl Drop for InFlightGuard {
    fn drop(&mut self) {
        self.set.locked().remove(&self.key);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn user(name: &str) -> UserId {
        UserId::parse(name).unwrap()
    }

    fn activity(id: u64) -> ActivityId {
        ActivityId::new(id).unwrap()
    }

    #[test]
    fn a_second_claim_waits_for_the_first_to_drop() {
        let in_flight = InFlight::default();
        let first = in_flight.claim(&user("u1"), activity(1));
        assert!(first.is_some());
        assert!(in_flight.claim(&user("u1"), activity(1)).is_none());
        drop(first);
        assert!(in_flight.claim(&user("u1"), activity(1)).is_some());
    }

    #[test]
    fn other_users_and_activities_are_independent() {
        let in_flight = InFlight::default();
        let _held = in_flight.claim(&user("u1"), activity(1)).unwrap();
        assert!(in_flight.claim(&user("u2"), activity(1)).is_some());
        assert!(in_flight.claim(&user("u1"), activity(2)).is_some());
    }
}
