//! Reading an activity's selling state back from its Redis hash (sk-app's activity cache).

use std::collections::HashMap;
use std::str::FromStr;

use redis::aio::ConnectionLike;

use super::{BUY_RATE_ALL_PPM, Inventory};
use crate::domain::ActivityId;
use crate::{Error, Result};

/// What an activity's hash says about selling right now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ActivityState {
    /// `status` is `open` (an admin has not closed it).
    pub open: bool,
    /// First millisecond of the sale (Unix).
    pub start_ms: u64,
    /// First millisecond after the sale (Unix).
    pub end_ms: u64,
    /// Units left (0 when sold out).
    pub remaining: i64,
    /// Share of attempts sk-app admits, parts per million (missing: all).
    pub buy_rate_ppm: u32,
}

impl Inventory {
    /// The selling state of `activity_id`, or `None` when Redis has no such activity.
    ///
    /// # Errors
    /// When Redis fails or the hash lacks or garbles a field.
    pub async fn activity_state<C: ConnectionLike + Send>(
        &self,
        conn: &mut C,
        activity_id: ActivityId,
    ) -> Result<Option<ActivityState>> {
        let mut states = self.activity_states(conn, &[activity_id]).await?;
        Ok(states.pop().flatten())
    }

    /// The selling state of each of `activity_ids`, in order, in one pipelined round trip
    /// (`None` where Redis has no such activity).
    ///
    /// # Errors
    /// When Redis fails or a hash lacks or garbles a field.
    pub async fn activity_states<C: ConnectionLike + Send>(
        &self,
        conn: &mut C,
        activity_ids: &[ActivityId],
    ) -> Result<Vec<Option<ActivityState>>> {
        if activity_ids.is_empty() {
            // An empty pipeline is not a request Redis answers.
            return Ok(Vec::new());
        }
        let mut pipe = redis::pipe();
        for &id in activity_ids {
            pipe.hgetall(self.keys(id).activity());
        }
        let hashes: Vec<HashMap<String, String>> = pipe.query_async(conn).await?;
        hashes
            .iter()
            .map(|fields| {
                (!fields.is_empty())
                    .then(|| ActivityState::from_fields(fields))
                    .transpose()
            })
            .collect()
    }
}

impl ActivityState {
    fn from_fields(fields: &HashMap<String, String>) -> Result<Self> {
        let buy_rate_ppm = match fields.get("buy_rate_ppm") {
            Some(_) => field(fields, "buy_rate_ppm")?,
            None => BUY_RATE_ALL_PPM,
        };
        Ok(Self {
            open: fields.get("status").map(String::as_str) == Some("open"),
            start_ms: field(fields, "start_ms")?,
            end_ms: field(fields, "end_ms")?,
            remaining: field(fields, "remaining")?,
            buy_rate_ppm,
        })
    }
}

fn field<T: FromStr>(fields: &HashMap<String, String>, name: &str) -> Result<T> {
    fields
        .get(name)
        .and_then(|text| text.parse().ok())
        .ok_or_else(|| {
            Error::UnexpectedAnswer(format!("activity hash field {name} missing or bad"))
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fields(pairs: &[(&str, &str)]) -> HashMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    #[test]
    fn a_full_hash_parses_and_a_missing_buy_rate_admits_all() {
        let mut hash = fields(&[
            ("status", "open"),
            ("start_ms", "10"),
            ("end_ms", "20"),
            ("remaining", "0"),
        ]);
        let state = ActivityState::from_fields(&hash).ok();
        assert_eq!(
            state,
            Some(ActivityState {
                open: true,
                start_ms: 10,
                end_ms: 20,
                remaining: 0,
                buy_rate_ppm: BUY_RATE_ALL_PPM,
            })
        );
        hash.insert("status".into(), "closed".into());
        hash.insert("buy_rate_ppm".into(), "250000".into());
        let state = ActivityState::from_fields(&hash).ok();
        assert_eq!(
            state.map(|s| (s.open, s.buy_rate_ppm)),
            Some((false, 250_000))
        );
    }

    #[test]
    fn a_garbled_field_is_an_error() {
        let hash = fields(&[("status", "open"), ("start_ms", "x"), ("end_ms", "20")]);
        assert!(ActivityState::from_fields(&hash).is_err());
    }
}
