//! Versioned SQL migrations, applied idempotently at start-up under a MySQL named lock so that
//! several services (or replicas) starting at once apply each migration exactly once.

use std::collections::HashMap;

use mysql_async::Conn;
use mysql_async::prelude::Queryable;
use sha2::{Digest, Sha256};

use super::MysqlPool;
use crate::{Error, Result};

/// One schema change, identified by its version; never edit one that has been applied.
#[derive(Debug, Clone, Copy)]
pub struct Migration {
    /// Applied in increasing order.
    pub version: u32,
    /// Short description, kept in `schema_migrations`.
    pub name: &'static str,
    /// One or more SQL statements.
    pub sql: &'static str,
}

impl Migration {
    fn checksum(&self) -> String {
        hex::encode(Sha256::digest(self.sql.as_bytes()))
    }
}

/// The platform's schema, in order.
pub const MIGRATIONS: &[Migration] = &[
    Migration {
        version: 1,
        name: "catalog",
        sql: include_str!("../../migrations/0001_catalog.sql"),
    },
    Migration {
        version: 2,
        name: "order ledger",
        sql: include_str!("../../migrations/0002_ledger.sql"),
    },
    Migration {
        version: 3,
        name: "order price",
        sql: include_str!("../../migrations/0003_order_price.sql"),
    },
    Migration {
        version: 4,
        name: "reconciliations",
        sql: include_str!("../../migrations/0004_reconciliations.sql"),
    },
    Migration {
        version: 5,
        name: "blacklist",
        sql: include_str!("../../migrations/0005_blacklist.sql"),
    },
];

/// Seconds to wait for another process that is migrating the same database.
const LOCK_WAIT_SECS: u32 = 60;

/// Applies every migration not yet recorded in `schema_migrations`; returns how many it applied.
///
/// # Errors
/// When MySQL fails, the lock is not granted in time, or an applied migration was edited.
pub async fn migrate(pool: &MysqlPool, migrations: &[Migration]) -> Result<usize> {
    let mut conn = pool.conn().await?;
    // GET_LOCK belongs to this connection: every step below must run on it.
    let granted: Option<Option<i64>> = conn
        .exec_first(
            "SELECT GET_LOCK(CONCAT('sk.migrate.', DATABASE()), ?)",
            (LOCK_WAIT_SECS,),
        )
        .await?;
    if granted.flatten() != Some(1) {
        let wait = std::time::Duration::from_secs(LOCK_WAIT_SECS.into());
        return Err(Error::Timeout(wait, "the migration lock"));
    }
    let outcome = apply_pending(&mut conn, migrations).await;
    let released: Result<Option<Option<i64>>> = conn
        .query_first("SELECT RELEASE_LOCK(CONCAT('sk.migrate.', DATABASE()))")
        .await
        .map_err(Error::from);
    let applied = outcome?;
    released?;
    Ok(applied)
}

async fn apply_pending(conn: &mut Conn, migrations: &[Migration]) -> Result<usize> {
    conn.query_drop(
        "CREATE TABLE IF NOT EXISTS schema_migrations (
            version INT UNSIGNED NOT NULL PRIMARY KEY,
            name VARCHAR(200) NOT NULL,
            checksum CHAR(64) NOT NULL,
            applied_at DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3)
        )",
    )
    .await?;
    let applied: HashMap<u32, String> = conn
        .query("SELECT version, checksum FROM schema_migrations")
        .await?
        .into_iter()
        .collect();
    let mut ordered: Vec<&Migration> = migrations.iter().collect();
    ordered.sort_by_key(|m| m.version);
    let mut count = 0;
    for migration in ordered {
        let embedded = migration.checksum();
        match applied.get(&migration.version) {
            Some(recorded) if *recorded == embedded => continue,
            Some(recorded) => {
                return Err(Error::MigrationChanged {
                    version: migration.version,
                    name: migration.name,
                    applied: recorded.clone(),
                    embedded,
                });
            }
            None => {}
        }
        conn.query_drop(migration.sql).await?;
        conn.exec_drop(
            "INSERT INTO schema_migrations (version, name, checksum) VALUES (?, ?, ?)",
            (migration.version, migration.name, &embedded),
        )
        .await?;
        tracing::info!(
            version = migration.version,
            name = migration.name,
            "applied migration"
        );
        count += 1;
    }
    Ok(count)
}
