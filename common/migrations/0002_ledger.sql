-- The order ledger, written by order-consumer from the Kafka order events.
-- order_id is a UUIDv7 (time-ordered), so inserts append to the primary key.
-- status only moves forward: reserved -> paid | cancelled (see DESIGN.md §4.5).
CREATE TABLE IF NOT EXISTS orders (
    order_id BINARY(16) NOT NULL PRIMARY KEY,
    activity_id BIGINT UNSIGNED NOT NULL,
    user_id VARCHAR(64) NOT NULL,
    quantity INT UNSIGNED NOT NULL,
    status ENUM('reserved', 'paid', 'cancelled') NOT NULL,
    reserved_at DATETIME(3) NOT NULL,
    expires_at DATETIME(3) NOT NULL,
    paid_at DATETIME(3) NULL,
    cancelled_at DATETIME(3) NULL,
    cancel_reason VARCHAR(32) NULL,
    updated_at DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3) ON UPDATE CURRENT_TIMESTAMP(3),
    KEY idx_orders_user (user_id, order_id),
    KEY idx_orders_activity (activity_id, status, order_id)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4;
