-- The scheduler's last comparison of Redis with the ledger, per activity (see sk-admin).
CREATE TABLE IF NOT EXISTS reconciliations (
    activity_id BIGINT UNSIGNED NOT NULL PRIMARY KEY,
    checked_at DATETIME(3) NOT NULL,
    redis_sold_units BIGINT NOT NULL,
    redis_remaining BIGINT NULL,
    ledger_units BIGINT NOT NULL,
    ledger_reserved BIGINT NOT NULL,
    ledger_paid BIGINT NOT NULL,
    ledger_cancelled BIGINT NOT NULL,
    outbox_backlog BIGINT NOT NULL,
    difference BIGINT NOT NULL
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4;
