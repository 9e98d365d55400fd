//! Products: what a flash sale sells.

use mysql_async::prelude::Queryable;
use serde::{Deserialize, Serialize};
use sk_common::cursor::{self, next_page};
use sk_common::domain::{PriceCents, ProductId};
use sk_common::mysql::unix_ms;
use sk_common::time::rfc3339_from_ms;

use super::Catalog;
use crate::{Error, Result};

/// A product as created by an admin (already validated).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewProduct {
    /// Shown to shoppers; 1–200 characters.
    pub name: String,
    /// Shown to shoppers; at most 10,000 characters.
    #[serde(default)]
    pub description: String,
    /// Price of one unit.
    pub price_cents: PriceCents,
}

impl NewProduct {
    /// Checks what the types do not.
    ///
    /// # Errors
    /// [`Error::Invalid`] naming the field.
    pub fn validate(&self) -> Result<()> {
        super::activities::check_name("name", &self.name)?;
        if self.description.chars().count() > 10_000 {
            return Err(Error::invalid(
                "description",
                "must be at most 10000 characters",
            ));
        }
        Ok(())
    }
}

/// A product in the catalog.
#[derive(Debug, Clone, Serialize)]
pub struct Product {
    /// Its id.
    pub id: u64,
    /// Name.
    pub name: String,
    /// Description.
    pub description: String,
    /// Unit price.
    pub price_cents: u64,
    /// When it was created (RFC 3339).
    pub created_at: String,
}

/// The columns of [`Row`], then `WHERE …` may follow.
fn select() -> String {
    format!(
        "SELECT id, name, description, price_cents, {} FROM products",
        unix_ms("created_at")
    )
}

type Row = (u64, String, String, u64, u64);

fn product((id, name, description, price_cents, created_ms): Row) -> Product {
    Product {
        id,
        name,
        description,
        price_cents,
        created_at: rfc3339_from_ms(created_ms),
    }
}

impl Catalog {
    /// Stores a new product.
    ///
    /// # Errors
    /// When MySQL fails.
    pub async fn create_product(&self, new: &NewProduct) -> Result<Product> {
        let mut conn = self.mysql.conn().await?;
        conn.exec_drop(
            "INSERT INTO products (name, description, price_cents) VALUES (?, ?, ?)",
            (&new.name, &new.description, new.price_cents.get()),
        )
        .await
        .map_err(sk_common::Error::from)?;
        let id = conn.last_insert_id().unwrap_or_default();
        self.product(&mut conn, id)
            .await?
            .ok_or(Error::ProductNotFound)
    }

    async fn product(&self, conn: &mut mysql_async::Conn, id: u64) -> Result<Option<Product>> {
        let row: Option<Row> = conn
            .exec_first(format!("{} WHERE id = ?", select()), (id,))
            .await
            .map_err(sk_common::Error::from)?;
        Ok(row.map(product))
    }

    /// The unit price of a product, if it exists.
    ///
    /// # Errors
    /// When MySQL fails.
    pub async fn product_price(&self, id: ProductId) -> Result<Option<u64>> {
        let mut conn = self.mysql.conn().await?;
        let price = conn
            .exec_first("SELECT price_cents FROM products WHERE id = ?", (id.get(),))
            .await
            .map_err(sk_common::Error::from)?;
        Ok(price)
    }

    /// A page of products, newest first, and the cursor of the next page.
    ///
    /// # Errors
    /// [`Error::InvalidCursor`] for a cursor this list did not make; MySQL failures.
    pub async fn products(
        &self,
        limit: u32,
        after: Option<&str>,
    ) -> Result<(Vec<Product>, Option<String>)> {
        let after_id: Option<u64> = after
            .map(|c| cursor::decode::<ProductCursor>(c).map(|c| c.id))
            .transpose()
            .map_err(|_| Error::InvalidCursor)?;
        let mut conn = self.mysql.conn().await?;
        let rows: Vec<Row> = conn
            .exec(
                format!("{} WHERE id < ? ORDER BY id DESC LIMIT ?", select()),
                (after_id.unwrap_or(u64::MAX), limit + 1),
            )
            .await
            .map_err(sk_common::Error::from)?;
        let mut items: Vec<Product> = rows.into_iter().map(product).collect();
        let next = next_page(&mut items, limit, |last| {
            cursor::encode(&ProductCursor { id: last.id })
        });
        Ok((items, next))
    }
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct ProductCursor {
    id: u64,
}
