//! The blacklisted user ids and client addresses, held in memory: every purchase checks them
//! without leaving the process. Filled by the state sync (full reloads from the Redis sets
//! sk-admin mirrors, plus its change events).

use std::collections::HashSet;
use std::net::IpAddr;
use std::sync::{Arc, PoisonError, RwLock, RwLockReadGuard, RwLockWriteGuard};

use serde::Deserialize;
use sk_common::domain::UserId;

use crate::{Error, Result};

/// The blacklists. Cheap to clone; clones share the lists.
#[derive(Debug, Clone, Default)]
pub struct Blacklist(Arc<RwLock<Lists>>);

#[derive(Debug, Default)]
struct Lists {
    users: HashSet<String>,
    ips: HashSet<IpAddr>,
}

/// One change, as sk-admin publishes it on `<prefix>:blacklist-events`.
#[derive(Debug, Clone, Deserialize)]
pub struct BlacklistEvent {
    kind: Kind,
    value: String,
    action: Action,
}

#[derive(Debug, Clone, Copy, Deserialize)]
#[serde(rename_all = "lowercase")]
enum Kind {
    User,
    Ip,
}

#[derive(Debug, Clone, Copy, Deserialize)]
#[serde(rename_all = "lowercase")]
enum Action {
    Added,
    Removed,
}

impl Blacklist {
    /// [`Error::Blacklisted`] when the user or the address is listed.
    ///
    /// # Errors
    /// As above.
    pub fn check(&self, user: &UserId, ip: IpAddr) -> Result<()> {
        let lists = self.read();
        if lists.users.contains(user.as_str()) || lists.ips.contains(&ip.to_canonical()) {
            return Err(Error::Blacklisted);
        }
        Ok(())
    }

    /// Replaces both lists with what Redis holds (entries that are not addresses are skipped).
    pub fn replace(&self, users: Vec<String>, ips: &[String]) {
        let ips = ips.iter().filter_map(|ip| parse_ip(ip)).collect();
        *self.write() = Lists {
            users: users.into_iter().collect(),
            ips,
        };
    }

    /// Applies one change event.
    pub fn apply(&self, event: &BlacklistEvent) {
        let mut lists = self.write();
        let value = &event.value;
        // Whether the entry was there before does not matter: the event states the outcome.
        let _changed = match (event.kind, event.action) {
            (Kind::User, Action::Added) => lists.users.insert(value.clone()),
            (Kind::User, Action::Removed) => lists.users.remove(value),
            (Kind::Ip, Action::Added) => parse_ip(value).is_some_and(|ip| lists.ips.insert(ip)),
            (Kind::Ip, Action::Removed) => parse_ip(value).is_some_and(|ip| lists.ips.remove(&ip)),
        };
    }

    /// (users, addresses) listed, for logs.
    #[must_use]
    pub fn sizes(&self) -> (usize, usize) {
        let lists = self.read();
        (lists.users.len(), lists.ips.len())
    }

    // The lists are replaced or changed in one step: still consistent after a panic.
    fn read(&self) -> RwLockReadGuard<'_, Lists> {
        self.0.read().unwrap_or_else(PoisonError::into_inner)
    }

    fn write(&self) -> RwLockWriteGuard<'_, Lists> {
        self.0.write().unwrap_or_else(PoisonError::into_inner)
    }
}

/// sk-admin stores canonical addresses; parse the same way so IPv4-mapped IPv6 matches.
fn parse_ip(text: &str) -> Option<IpAddr> {
    text.parse::<IpAddr>().ok().map(|ip| ip.to_canonical())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(json: &str) -> BlacklistEvent {
        serde_json::from_str(json).unwrap()
    }

    fn ip(text: &str) -> IpAddr {
        text.parse().unwrap()
    }

    #[test]
    fn users_and_addresses_are_added_and_removed() {
        let blacklist = Blacklist::default();
        let alice = UserId::parse("alice").unwrap();
        assert!(blacklist.check(&alice, ip("10.0.0.1")).is_ok());
        blacklist.apply(&event(
            r#"{"kind":"user","value":"alice","action":"added"}"#,
        ));
        assert!(blacklist.check(&alice, ip("10.0.0.1")).is_err());
        blacklist.apply(&event(
            r#"{"kind":"user","value":"alice","action":"removed"}"#,
        ));
        blacklist.apply(&event(
            r#"{"kind":"ip","value":"10.0.0.1","action":"added"}"#,
        ));
        assert!(
            blacklist.check(&alice, ip("::ffff:10.0.0.1")).is_err(),
            "mapped"
        );
        assert!(blacklist.check(&alice, ip("10.0.0.2")).is_ok());
    }

    #[test]
    fn a_reload_replaces_everything() {
        let blacklist = Blacklist::default();
        blacklist.apply(&event(r#"{"kind":"user","value":"bob","action":"added"}"#));
        blacklist.replace(vec!["carol".into()], &["::1".into(), "junk".into()]);
        assert_eq!(blacklist.sizes(), (1, 1));
        let bob = UserId::parse("bob").unwrap();
        assert!(blacklist.check(&bob, ip("127.0.0.1")).is_ok());
        assert!(blacklist.check(&bob, ip("::1")).is_err());
    }
}
