-- The ledger keeps the unit price each order was reserved at, so revenue and reconciliation
-- never depend on a catalog price that may change after the sale.
ALTER TABLE orders ADD COLUMN price_cents BIGINT UNSIGNED NOT NULL DEFAULT 0 AFTER quantity;
