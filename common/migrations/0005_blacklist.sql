-- Shoppers and client addresses refused at sk-app, owned by sk-admin (mirrored into Redis).
CREATE TABLE IF NOT EXISTS blacklist (
    kind ENUM('user', 'ip') NOT NULL,
    value VARCHAR(64) NOT NULL,
    reason VARCHAR(200) NOT NULL DEFAULT '',
    created_at DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
    PRIMARY KEY (kind, value)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4;
