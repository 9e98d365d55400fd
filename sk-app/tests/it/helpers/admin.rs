//! sk-admin started in-process on a shop's Redis key prefix, with a database of its own and
//! the shop's JWT key, so its blacklist changes reach the shop's sk-app instances.

use reqwest::Method;
use sk_common::domain::Role;
use sk_common::testing::{
    TestServer, Vars, eventually, load_settings, redis_url, unique_mysql_url,
};

use super::Shop;
use super::shop::JWT_SECRET;

#[derive(Debug)]
pub struct Admin {
    pub server: TestServer,
    token: String,
}

impl Admin {
    /// Starts sk-admin for `shop` and waits until it is ready (schema migrated).
    pub async fn start(shop: &Shop) -> Self {
        let vars: Vars = vec![
            ("SK_MYSQL__URL", unique_mysql_url()),
            ("SK_REDIS__URL", redis_url()),
            ("SK_REDIS__KEY_PREFIX", shop.prefix.clone()),
            ("SK_JWT__SECRET", JWT_SECRET.into()),
        ];
        let settings: sk_admin::Settings = load_settings(&vars);
        let server = TestServer::spawn(settings, sk_admin::run).await;
        eventually("sk-admin to be ready", || async {
            server.get_json("/readyz").await.0 == 200
        })
        .await;
        Self {
            server,
            token: shop.token("ops", Role::Admin),
        }
    }

    /// `PUT` (listed) or `DELETE` (not) `/admin/v1/blacklist/{kind}/{value}`; its status.
    pub async fn blacklist(&self, kind: &str, value: &str, listed: bool) -> u16 {
        let method = if listed { Method::PUT } else { Method::DELETE };
        let path = format!("/admin/v1/blacklist/{kind}/{value}");
        let response = self
            .server
            .client
            .request(method, self.server.url(&path))
            .bearer_auth(&self.token)
            .send()
            .await
            .unwrap();
        response.status().as_u16()
    }
}
