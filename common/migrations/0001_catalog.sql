-- The catalog, owned by sk-admin: products and the flash sales (activities) that sell them.
-- An activity's status is derived from its times and closed_at; it is not stored.
CREATE TABLE IF NOT EXISTS products (
    id BIGINT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
    name VARCHAR(200) NOT NULL,
    description TEXT NOT NULL,
    price_cents BIGINT UNSIGNED NOT NULL,
    created_at DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4;

CREATE TABLE IF NOT EXISTS activities (
    id BIGINT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
    product_id BIGINT UNSIGNED NOT NULL,
    name VARCHAR(200) NOT NULL,
    start_at DATETIME(3) NOT NULL,
    end_at DATETIME(3) NOT NULL,
    total_stock INT UNSIGNED NOT NULL,
    per_user_limit INT UNSIGNED NOT NULL,
    payment_timeout_secs INT UNSIGNED NOT NULL,
    buy_rate DOUBLE NOT NULL,
    max_sold_per_sec INT UNSIGNED NULL,
    closed_at DATETIME(3) NULL,
    created_at DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
    updated_at DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3) ON UPDATE CURRENT_TIMESTAMP(3),
    CONSTRAINT fk_activities_product FOREIGN KEY (product_id) REFERENCES products (id),
    KEY idx_activities_start (start_at, id),
    KEY idx_activities_end (end_at, id)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4;
