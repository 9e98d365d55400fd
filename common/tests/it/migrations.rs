use mysql_async::prelude::Queryable;
use secrecy::SecretString;
use sk_common::Error;
use sk_common::mysql::{MIGRATIONS, Migration, MysqlPool, MysqlSettings, ensure_database, migrate};
use sk_common::testing::unique_mysql_url;

async fn fresh_database() -> (MysqlSettings, MysqlPool) {
    let settings = MysqlSettings {
        url: SecretString::from(unique_mysql_url()),
        connect_timeout_ms: 5_000,
        pool_max: 8,
        create_database: true,
    };
    ensure_database(&settings).await.unwrap();
    let pool = MysqlPool::new(&settings).unwrap();
    (settings, pool)
}

async fn schema(pool: &MysqlPool) -> Vec<(String, String)> {
    let mut conn = pool.conn().await.unwrap();
    conn.query(
        "SELECT table_name, column_name FROM information_schema.columns
         WHERE table_schema = DATABASE() ORDER BY table_name, ordinal_position",
    )
    .await
    .unwrap()
}

async fn recorded(pool: &MysqlPool) -> Vec<u32> {
    let mut conn = pool.conn().await.unwrap();
    conn.query("SELECT version FROM schema_migrations ORDER BY version")
        .await
        .unwrap()
}

#[tokio::test]
async fn applying_twice_changes_nothing_the_second_time() {
    let (_, pool) = fresh_database().await;
    assert_eq!(migrate(&pool, MIGRATIONS).await.unwrap(), MIGRATIONS.len());
    let first = schema(&pool).await;
    assert_eq!(migrate(&pool, MIGRATIONS).await.unwrap(), 0);
    assert_eq!(schema(&pool).await, first);
    assert!(
        first
            .iter()
            .any(|(table, column)| table == "orders" && column == "order_id")
    );
}

#[tokio::test]
async fn concurrent_runs_apply_each_migration_once() {
    let (_, pool) = fresh_database().await;
    let runs = (0..4).map(|_| {
        let pool = pool.clone();
        tokio::spawn(async move { migrate(&pool, MIGRATIONS).await })
    });
    let mut applied = 0;
    for run in runs {
        applied += run.await.unwrap().unwrap();
    }
    assert_eq!(
        applied,
        MIGRATIONS.len(),
        "exactly one run applied each migration"
    );
    let versions: Vec<u32> = MIGRATIONS.iter().map(|m| m.version).collect();
    assert_eq!(recorded(&pool).await, versions);
}

#[tokio::test]
async fn an_edited_applied_migration_is_refused() {
    let (_, pool) = fresh_database().await;
    let original = [Migration {
        version: 1,
        name: "t",
        sql: "CREATE TABLE t (id INT)",
    }];
    migrate(&pool, &original).await.unwrap();
    let edited = [Migration {
        version: 1,
        name: "t",
        sql: "CREATE TABLE t (id BIGINT)",
    }];
    let err = migrate(&pool, &edited).await.unwrap_err();
    assert!(
        matches!(err, Error::MigrationChanged { version: 1, .. }),
        "{err}"
    );
}
