//! A browse test's shop window: a MySQL database of its own (migrated here: sk-app never
//! migrates, sk-admin does), a Redis key prefix of its own, and an sk-app reading both. Rows
//! are written straight into the catalog and the ledger, as sk-admin and order-consumer would.

use mysql_async::prelude::Queryable;
use reqwest::Method;
use secrecy::SecretString;
use sk_common::domain::{ActivityId, OrderId, PriceCents, Role, UserId};
use sk_common::jwt::JwtKeys;
use sk_common::mysql::{
    MIGRATIONS, MysqlPool, MysqlSettings, ensure_database, migrate, utc_datetime,
};
use sk_common::stock::{ActivitySpec, BUY_RATE_ALL_PPM, Inventory};
use sk_common::testing::{TestServer, Vars, closed_port, redis_url, unique, unique_mysql_url};

use super::settings;
use super::shop::{Answer, JWT_SECRET, answer, spawn_app};

/// A sale as the tests write it: times in Unix ms.
#[derive(Debug, Clone, Copy)]
pub struct Sale {
    pub start_ms: u64,
    pub end_ms: u64,
    pub total_stock: u32,
}

#[derive(Debug)]
pub struct Window {
    pub app: TestServer,
    pub prefix: String,
    mysql: MysqlPool,
    keys: JwtKeys,
}

impl Window {
    /// Nothing reused (`browse` caches at 0), so every answer shows the latest rows.
    pub async fn start() -> Self {
        Self::start_with(&[
            ("SK_BROWSE__CACHE_MS", "0".into()),
            ("SK_BROWSE__REMAINING_CACHE_MS", "0".into()),
        ])
        .await
    }

    /// With `extra` sk-app settings.
    pub async fn start_with(extra: &[(&'static str, String)]) -> Self {
        let url = unique_mysql_url();
        let mysql = migrated(&url).await;
        Self::launch(url, mysql, extra).await
    }

    /// sk-app whose MySQL is a closed port (the test's own database still works).
    pub async fn mysql_down() -> Self {
        let mysql = migrated(&unique_mysql_url()).await;
        let url = format!("mysql://root@{}/sk", closed_port());
        Self::launch(url, mysql, &[]).await
    }

    async fn launch(mysql_url: String, mysql: MysqlPool, extra: &[(&'static str, String)]) -> Self {
        let prefix = unique("skt");
        let mut vars: Vars = vec![
            ("SK_REDIS__URL", redis_url()),
            ("SK_REDIS__KEY_PREFIX", prefix.clone()),
            ("SK_MYSQL__URL", mysql_url),
            ("SK_CORE__URL", format!("http://{}", closed_port())),
            ("SK_JWT__SECRET", JWT_SECRET.into()),
        ];
        vars.extend(extra.iter().cloned());
        let keys = JwtKeys::new(&settings(&vars).jwt).unwrap();
        let app = spawn_app(&vars).await;
        Self {
            app,
            prefix,
            mysql,
            keys,
        }
    }

    /// A shopper's token.
    pub fn shopper(&self, user: &str) -> String {
        let user = UserId::parse(user).unwrap();
        self.keys.mint(&user, Role::Shopper, None).unwrap()
    }

    /// Adds a product and a sale of it to the catalog (not to Redis); the sale's id.
    pub async fn add_sale(&self, name: &str, sale: Sale) -> u64 {
        let mut conn = self.mysql.conn().await.unwrap();
        conn.exec_drop(
            "INSERT INTO products (name, description, price_cents) VALUES (?, '', ?)",
            (name, 1_999_u64),
        )
        .await
        .unwrap();
        let product = conn.last_insert_id().unwrap();
        conn.exec_drop(
            "INSERT INTO activities (product_id, name, start_at, end_at, total_stock, \
             per_user_limit, payment_timeout_secs, buy_rate) VALUES (?, ?, ?, ?, ?, 2, 900, 1.0)",
            (
                product,
                name,
                utc_datetime(sale.start_ms),
                utc_datetime(sale.end_ms),
                sale.total_stock,
            ),
        )
        .await
        .unwrap();
        conn.last_insert_id().unwrap()
    }

    /// Runs `sql` with `params` on the test's database (to close or rename a sale).
    pub async fn exec(&self, sql: &str, params: impl Into<mysql_async::Params> + Send) {
        let mut conn = self.mysql.conn().await.unwrap();
        conn.exec_drop(sql, params).await.unwrap();
    }

    /// Pushes a sale into Redis as sk-admin does (its `remaining` starts at `total_stock`).
    pub async fn push(&self, id: u64, sale: Sale) {
        let spec = ActivitySpec {
            open: true,
            start_at_ms: sale.start_ms,
            end_at_ms: sale.end_ms,
            total_stock: sale.total_stock,
            per_user_limit: 2,
            payment_timeout_ms: 900_000,
            price_cents: PriceCents::new(1_999).unwrap(),
            max_sold_per_sec: None,
            buy_rate_ppm: BUY_RATE_ALL_PPM,
        };
        Inventory::new(&self.prefix)
            .put_activity(&mut self.redis().await, ActivityId::new(id).unwrap(), &spec)
            .await
            .unwrap();
    }

    /// Sets a sale's `remaining` in Redis, as purchases would.
    pub async fn set_remaining(&self, id: u64, remaining: i64) {
        let keys = Inventory::new(&self.prefix).keys(ActivityId::new(id).unwrap());
        redis::cmd("HSET")
            .arg(keys.activity())
            .arg("remaining")
            .arg(remaining)
            .query_async::<()>(&mut self.redis().await)
            .await
            .unwrap();
    }

    /// Writes a reserved order into the ledger, as order-consumer would; its id.
    pub async fn add_order(&self, user: &str, activity: u64, quantity: u32) -> OrderId {
        let order = OrderId::generate();
        let now = sk_common::time::now_ms();
        self.exec(
            "INSERT INTO orders (order_id, activity_id, user_id, quantity, price_cents, status, \
             reserved_at, expires_at) VALUES (?, ?, ?, ?, 1999, 'reserved', ?, ?)",
            (
                order.to_bytes().to_vec(),
                activity,
                user,
                quantity,
                utc_datetime(now),
                utc_datetime(now + 900_000),
            ),
        )
        .await;
        order
    }

    /// GET `path`, with a bearer token if given.
    pub async fn get(&self, path: &str, token: Option<&str>) -> Answer {
        let request = self.app.client.request(Method::GET, self.app.url(path));
        match token {
            Some(token) => answer(request.bearer_auth(token)).await,
            None => answer(request).await,
        }
    }

    async fn redis(&self) -> redis::aio::MultiplexedConnection {
        let client = redis::Client::open(redis_url()).unwrap();
        client.get_multiplexed_async_connection().await.unwrap()
    }
}

/// A fresh database at `url` with the schema sk-admin would have applied.
async fn migrated(url: &str) -> MysqlPool {
    let settings = MysqlSettings {
        url: SecretString::from(url.to_owned()),
        connect_timeout_ms: 5_000,
        pool_max: 4,
        create_database: true,
    };
    ensure_database(&settings).await.unwrap();
    let pool = MysqlPool::new(&settings).unwrap();
    migrate(&pool, MIGRATIONS).await.unwrap();
    pool
}
