//! Blacklists set through sk-admin's API take effect on every sk-app instance within a
//! second, and removing an entry restores access. Three sk-app instances share the shop's
//! Redis prefix with sk-admin; client addresses come in `X-Forwarded-For` from the loopback
//! peer, which sk-app trusts by default.

use std::time::{Duration, Instant};

use sk_common::testing::{TestServer, closed_port, eventually};

use crate::helpers::{Admin, Shop};

/// How soon every instance must apply a change.
const WITHIN: Duration = Duration::from_secs(1);
/// An activity nobody created: a probe answers 404 when allowed and 403 when refused,
/// without buying or spending rate limit (the blacklist is checked first).
const NO_SUCH_ACTIVITY: u64 = 999_999;
const OPEN: u64 = 1;

struct Instances {
    shop: Shop,
    apps: Vec<TestServer>,
}

impl Instances {
    async fn start() -> Self {
        let shop = Shop::start().await;
        let apps = vec![shop.spawn_app().await, shop.spawn_app().await];
        shop.open_activity(OPEN, 100, 10).await;
        Self { shop, apps }
    }

    fn all(&self) -> impl Iterator<Item = &TestServer> {
        std::iter::once(&self.shop.app).chain(&self.apps)
    }

    /// Waits until every instance answers `status` to `user` at `ip`; how long that took.
    async fn all_answer(&self, user: &str, ip: &str, status: u16) -> Duration {
        let token = self.shop.shopper(user);
        let started = Instant::now();
        for app in self.all() {
            eventually("every instance to apply the change", || async {
                let answer = self.shop.buy_from(app, &token, NO_SUCH_ACTIVITY, ip).await;
                answer.status == status
            })
            .await;
        }
        started.elapsed()
    }

    /// A real purchase of the open activity on every instance answers `status`.
    async fn purchases_answer(&self, user: &str, ip: &str, status: u16) {
        let token = self.shop.shopper(user);
        for app in self.all() {
            let answer = self.shop.buy_from(app, &token, OPEN, ip).await;
            assert_eq!(answer.status, status, "{:?}", answer.body);
            if status == 403 {
                assert_eq!(answer.code(), "blacklisted");
            }
        }
    }
}

#[tokio::test]
async fn a_blacklisted_user_is_refused_everywhere_within_a_second_until_removed() {
    let shop = Instances::start().await;
    let admin = Admin::start(&shop.shop).await;
    shop.purchases_answer("mallory", "198.51.100.1", 200).await;

    assert_eq!(admin.blacklist("users", "mallory", true).await, 200);
    let took = shop.all_answer("mallory", "198.51.100.1", 403).await;
    assert!(took < WITHIN, "applied after {took:?}");
    shop.purchases_answer("mallory", "198.51.100.1", 403).await;
    shop.purchases_answer("alice", "198.51.100.1", 200).await;

    assert_eq!(admin.blacklist("users", "mallory", false).await, 200);
    let took = shop.all_answer("mallory", "198.51.100.1", 404).await;
    assert!(took < WITHIN, "removed after {took:?}");
    shop.purchases_answer("mallory", "198.51.100.1", 200).await;
}

#[tokio::test]
async fn a_blacklisted_address_is_refused_everywhere_within_a_second_until_removed() {
    let shop = Instances::start().await;
    let admin = Admin::start(&shop.shop).await;
    let (bad, good) = ("203.0.113.7", "203.0.113.8");

    assert_eq!(admin.blacklist("ips", bad, true).await, 200);
    let took = shop.all_answer("alice", bad, 403).await;
    assert!(took < WITHIN, "applied after {took:?}");
    shop.purchases_answer("alice", bad, 403).await;
    shop.purchases_answer("bob", good, 200).await;
    // The header counts only from a trusted peer: behind an untrusted hop, the hop is the
    // client ("bad, 192.0.2.1": 192.0.2.1 is not trusted, so it is the one checked).
    let token = shop.shop.shopper("carol");
    let spoofed = format!("{bad}, 192.0.2.1");
    let answer = shop
        .shop
        .buy_from(&shop.shop.app, &token, OPEN, &spoofed)
        .await;
    assert_eq!(answer.status, 200, "{:?}", answer.body);

    assert_eq!(admin.blacklist("ips", bad, false).await, 200);
    let took = shop.all_answer("alice", bad, 404).await;
    assert!(took < WITHIN, "removed after {took:?}");
    shop.purchases_answer("alice", bad, 200).await;
}

#[tokio::test]
async fn an_entry_whose_event_was_missed_arrives_with_the_periodic_reload() {
    let refresh = [("SK_CACHE__REFRESH_MS", "200".to_owned())];
    let shop = Shop::with_core_url(format!("http://{}", closed_port()), &refresh).await;
    let mut redis = shop.redis().await;
    // Written as sk-admin's resync does: into the set, with no event.
    redis::cmd("SADD")
        .arg(format!("{}:blacklist:users", shop.prefix))
        .arg("mallory")
        .query_async::<()>(&mut redis)
        .await
        .unwrap();
    let token = shop.shopper("mallory");
    eventually("the reload to bring the entry", || async {
        let answer = shop.buy(&token, NO_SUCH_ACTIVITY, 1).await;
        answer.status == 403
    })
    .await;
}
