//! Redis, MariaDB and the Kafka-protocol broker (tansu) as processes of a fault test's own, on
//! free loopback ports with their data in a directory of the test's. Unlike the local stack's
//! stores, which every test shares, these can be killed and restarted mid-sale. Each keeps
//! what it acknowledged on disk as the README's "Guarantees under faults" tells production
//! to: Redis with AOF `appendfsync always`, MariaDB with `innodb_flush_log_at_trx_commit=1`,
//! the broker on its sqlite storage.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use sk_common::testing::DEADLINE;

use super::daemon::{Daemon, Launch, find_program};
use super::process::free_local_addr;

/// Which store a process is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StoreKind {
    Redis,
    Mysql,
    Broker,
}

impl StoreKind {
    pub const fn name(self) -> &'static str {
        match self {
            Self::Redis => "redis",
            Self::Mysql => "mysql",
            Self::Broker => "broker",
        }
    }
}

/// One store's process.
#[derive(Debug)]
pub struct Store {
    kind: StoreKind,
    addr: SocketAddr,
    daemon: Daemon,
}

impl Store {
    /// Where clients connect: `redis://…`, `mysql://root@…` (no database) or `host:port`.
    pub fn url(&self) -> String {
        match self.kind {
            StoreKind::Redis => format!("redis://{}", self.addr),
            StoreKind::Mysql => format!("mysql://root@{}", self.addr),
            StoreKind::Broker => self.addr.to_string(),
        }
    }

    /// Waits until the store answers its own protocol (Redis: `PING`, which fails while the
    /// AOF loads; MariaDB: `SELECT 1`; the broker: a TCP connection).
    ///
    /// # Panics
    /// After [`DEADLINE`], or at once when the process exits, with the tail of its log.
    pub async fn wait_ready(&mut self) {
        self.wait_ready_within(DEADLINE).await;
    }

    /// [`Self::wait_ready`], for at most `patience`.
    pub async fn wait_ready_within(&mut self, patience: Duration) {
        let (kind, url, addr) = (self.kind, self.url(), self.addr);
        self.daemon
            .wait_until_ready(patience, || answers(kind, &url, addr))
            .await;
    }

    /// `kill -9`, then reaped.
    pub async fn kill(&mut self) {
        self.daemon.kill().await;
    }

    /// Starts it again on the same port and data (after a kill).
    pub fn restart(&mut self) {
        self.daemon.restart();
    }
}

/// Whether the store at `url` (`addr`) answers its own protocol.
async fn answers(kind: StoreKind, url: &str, addr: SocketAddr) -> bool {
    match kind {
        StoreKind::Redis => redis_answers(url).await,
        StoreKind::Mysql => mysql_answers(url).await,
        StoreKind::Broker => tokio::net::TcpStream::connect(addr).await.is_ok(),
    }
}

async fn redis_answers(url: &str) -> bool {
    let Ok(client) = redis::Client::open(url) else {
        return false;
    };
    let Ok(mut conn) = client.get_multiplexed_async_connection().await else {
        return false;
    };
    redis::cmd("PING")
        .query_async::<String>(&mut conn)
        .await
        .is_ok()
}

async fn mysql_answers(url: &str) -> bool {
    use mysql_async::prelude::Queryable as _;
    let Ok(mut conn) = mysql_async::Conn::from_url(url).await else {
        return false;
    };
    let answered = conn.query_drop("SELECT 1").await.is_ok();
    let _ = conn.disconnect().await;
    answered
}

/// The three stores of one fault test.
#[derive(Debug)]
pub struct Stores {
    pub redis: Store,
    pub mysql: Store,
    pub broker: Store,
}

impl Stores {
    /// Starts the three under `dir` (data and logs) and waits until each answers.
    pub async fn start(dir: &Path) -> Self {
        let mut stores = Self {
            redis: start_redis(dir),
            mysql: start_mysql(dir).await,
            broker: start_broker(dir),
        };
        for store in [&mut stores.redis, &mut stores.mysql, &mut stores.broker] {
            store.wait_ready().await;
        }
        stores
    }
}

fn data_dir(dir: &Path, kind: StoreKind) -> PathBuf {
    let data = dir.join(kind.name());
    std::fs::create_dir_all(&data)
        .unwrap_or_else(|e| panic!("cannot create {}: {e}", data.display()));
    data
}

fn start(kind: StoreKind, dir: &Path, addr: SocketAddr, launch: Launch) -> Store {
    let log = dir.join(format!("{}.log", kind.name()));
    Store {
        kind,
        addr,
        daemon: Daemon::start(kind.name(), launch, log),
    }
}

/// Every write is on disk before Redis answers it (`appendfsync always`), so a `kill -9`
/// loses nothing a client was told.
fn start_redis(dir: &Path) -> Store {
    let addr = free_local_addr();
    let launch = Launch::new(find_program(&["redis-server"]))
        .arg("--port")
        .arg(addr.port().to_string())
        .arg("--bind")
        .arg("127.0.0.1")
        .arg("--dir")
        .arg(data_dir(dir, StoreKind::Redis))
        .arg("--appendonly")
        .arg("yes")
        .arg("--appendfsync")
        .arg("always")
        .arg("--save")
        .arg("")
        .arg("--daemonize")
        .arg("no")
        .arg("--logfile")
        .arg("");
    start(StoreKind::Redis, dir, addr, launch)
}

/// A fresh data directory (`mariadb-install-db`, a few seconds), then the server with durable
/// commits.
async fn start_mysql(dir: &Path) -> Store {
    let addr = free_local_addr();
    let data = data_dir(dir, StoreKind::Mysql);
    let as_root = rustix::process::geteuid().is_root();
    let mut install =
        std::process::Command::new(find_program(&["mariadb-install-db", "mysql_install_db"]));
    install
        .arg("--no-defaults")
        .arg(format!("--datadir={}", data.display()))
        .arg("--auth-root-authentication-method=normal")
        .arg("--skip-test-db");
    if as_root {
        install.arg("--user=root");
    }
    let installed = tokio::task::spawn_blocking(move || install.output())
        .await
        .expect("the install task")
        .expect("mariadb-install-db runs");
    assert!(
        installed.status.success(),
        "mariadb-install-db failed: {}{}",
        String::from_utf8_lossy(&installed.stdout),
        String::from_utf8_lossy(&installed.stderr)
    );
    let mut launch = Launch::new(find_program(&["mariadbd", "mysqld"]))
        .arg("--no-defaults")
        .arg(format!("--datadir={}", data.display()))
        // A Unix socket path may not exceed 107 bytes, which a deep checkout's test directory
        // can: the socket goes to the short temporary directory, named by the port.
        .arg(format!(
            "--socket={}",
            std::env::temp_dir()
                .join(format!("sk-test-mysqld-{}.sock", addr.port()))
                .display()
        ))
        .arg(format!("--port={}", addr.port()))
        .arg("--bind-address=127.0.0.1")
        .arg(format!("--pid-file={}", dir.join("mysqld.pid").display()))
        .arg("--skip-name-resolve")
        .arg("--innodb-flush-log-at-trx-commit=1")
        .arg("--innodb-buffer-pool-size=64M")
        .arg("--max-connections=500");
    if as_root {
        launch = launch.arg("--user=root");
    }
    start(StoreKind::Mysql, dir, addr, launch)
}

/// tansu on sqlite storage in its data directory, which outlives a `kill -9`.
fn start_broker(dir: &Path) -> Store {
    let addr = free_local_addr();
    let listener = format!("tcp://{addr}");
    let mut launch = Launch::new(find_program(&["tansu"]))
        .arg("broker")
        .arg("--listener-url")
        .arg(&listener)
        .arg("--advertised-listener-url")
        .arg(&listener)
        .arg("--storage-engine")
        .arg("sqlite://tansu.db")
        .env("NO_COLOR", "1");
    launch.current_dir = Some(data_dir(dir, StoreKind::Broker));
    start(StoreKind::Broker, dir, addr, launch)
}
