//! Opaque keyset cursors for every list: `next_cursor` names the last row of a page (its sort
//! key and id) plus the filter the page was made with, so the next page continues after it
//! with the same filter.
//!
//! A cursor is hex(JSON) followed by a checksum. It is opaque to clients, not secret: a
//! hand-edited cursor fails the checksum and is refused (400 `invalid_cursor`), and a forged
//! one could at most move the page position, because its values are only ever bound as SQL
//! parameters and the filter in it must equal the request's.

use serde::Serialize;
use serde::de::DeserializeOwned;
use sha2::{Digest, Sha256};

/// Most rows one page may ask for.
pub const MAX_LIMIT: u32 = 200;
/// Rows per page when the request does not say.
pub const DEFAULT_LIMIT: u32 = 50;

/// The cursor was not made by this service or was altered.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("the cursor is not valid for this list")]
pub struct InvalidCursor;

/// Length of the checksum, in hex characters.
const CHECKSUM_HEX: usize = 16;

fn checksum(payload: &str) -> String {
    let digest = Sha256::digest(format!("sk-cursor-v1\n{payload}").as_bytes());
    hex::encode(&digest[..CHECKSUM_HEX / 2])
}

/// Encodes a page position (any serialisable value: sort key, id, filter).
#[must_use]
pub fn encode<T: Serialize>(position: &T) -> String {
    // Serialising plain data (numbers, strings, options) cannot fail.
    let json = serde_json::to_vec(position).unwrap_or_default();
    let payload = hex::encode(json);
    let sum = checksum(&payload);
    format!("{payload}{sum}")
}

/// Decodes a cursor made by [`encode`].
///
/// # Errors
/// [`InvalidCursor`] when it is malformed, altered or of another shape.
pub fn decode<T: DeserializeOwned>(cursor: &str) -> Result<T, InvalidCursor> {
    if cursor.len() <= CHECKSUM_HEX || cursor.len() > 4_096 || !cursor.is_ascii() {
        return Err(InvalidCursor);
    }
    let (payload, sum) = cursor.split_at(cursor.len() - CHECKSUM_HEX);
    if checksum(payload) != sum {
        return Err(InvalidCursor);
    }
    let json = hex::decode(payload).map_err(|_| InvalidCursor)?;
    serde_json::from_slice(&json).map_err(|_| InvalidCursor)
}

/// Decodes the cursor of a request, if it sent one.
///
/// # Errors
/// [`InvalidCursor`] when it is malformed, altered or of another shape.
pub fn decode_optional<T: DeserializeOwned>(
    cursor: Option<&str>,
) -> Result<Option<T>, InvalidCursor> {
    cursor.map(decode).transpose()
}

/// The page size a request asked for, bounded to `1..=MAX_LIMIT`.
///
/// # Errors
/// The text for a 400 when `limit` is outside the bounds.
pub fn page_limit(limit: Option<u32>) -> Result<u32, String> {
    match limit {
        None => Ok(DEFAULT_LIMIT),
        Some(n) if (1..=MAX_LIMIT).contains(&n) => Ok(n),
        Some(_) => Err(format!("limit must be between 1 and {MAX_LIMIT}")),
    }
}

/// Trims the extra row a page query fetched (`limit + 1` rows) to learn whether another page
/// exists, and makes that page's cursor from the last row kept.
pub fn next_page<T>(
    items: &mut Vec<T>,
    limit: u32,
    cursor_of: impl Fn(&T) -> String,
) -> Option<String> {
    if items.len() > limit as usize {
        items.truncate(limit as usize);
        items.last().map(cursor_of)
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use serde::Deserialize;

    use super::*;

    #[derive(Debug, PartialEq, Serialize, Deserialize)]
    struct Position {
        start_ms: u64,
        id: u64,
        status: Option<String>,
    }

    #[test]
    fn a_position_survives_the_round_trip() {
        let position = Position {
            start_ms: 1_795_305_600_000,
            id: 42,
            status: Some("open".into()),
        };
        assert_eq!(decode::<Position>(&encode(&position)).unwrap(), position);
    }

    #[test]
    fn altered_or_foreign_cursors_are_refused() {
        let cursor = encode(&Position {
            start_ms: 1,
            id: 2,
            status: None,
        });
        let mut altered = cursor.clone().into_bytes();
        altered[3] = if altered[3] == b'0' { b'1' } else { b'0' };
        let altered = String::from_utf8(altered).unwrap();
        for bad in [
            altered.as_str(),
            "",
            "abc",
            "' OR 1=1 --",
            &cursor[..cursor.len() - 1],
            &format!("{cursor}0"),
        ] {
            assert_eq!(decode::<Position>(bad), Err(InvalidCursor), "{bad}");
        }
        // Valid checksum, wrong shape.
        assert_eq!(decode::<Position>(&encode(&"hello")), Err(InvalidCursor));
    }

    #[test]
    fn the_page_size_is_bounded() {
        assert_eq!(page_limit(None), Ok(DEFAULT_LIMIT));
        assert_eq!(page_limit(Some(17)), Ok(17));
        assert!(page_limit(Some(0)).is_err());
        assert!(page_limit(Some(MAX_LIMIT + 1)).is_err());
    }
}
