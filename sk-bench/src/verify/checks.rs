//! The invariants of DESIGN §6 (1–5) judged over what `verify` loaded: pure functions of a
//! [`Snapshot`], the run's confirmed purchases, how the drain ended and the admin API's
//! reconciliation. Each breach message names the thing at fault (order, shopper, figure).

use std::collections::{BTreeMap, HashMap};

use uuid::Uuid;

use super::admin::Reconciliation;
use super::drain::Drain;
use super::report::Invariant;
use super::sale::Confirmed;
use super::snapshot::{Order, Snapshot, holds_units};

#[cfg(test)]
mod tests;

/// Judges invariants 1–5, in order.
pub fn check(
    snapshot: &Snapshot,
    confirmed: Option<&[Confirmed]>,
    drain: &Drain,
    reconciliation: &Reconciliation,
) -> Vec<Invariant> {
    vec![
        invariant(1, "not oversold", not_oversold(snapshot)),
        invariant(
            2,
            "every success is exactly one order row",
            one_row_per_success(snapshot, confirmed),
        ),
        invariant(3, "per-user limit", within_user_limit(snapshot)),
        invariant(
            4,
            "ledger matches stock after the drain",
            ledger_matches_stock(snapshot, drain, reconciliation),
        ),
        invariant(
            5,
            "returned units returned exactly once",
            returned_once(snapshot),
        ),
    ]
}

const fn invariant(number: u8, name: &'static str, breaches: Vec<String>) -> Invariant {
    Invariant {
        number,
        name,
        breaches,
    }
}

/// 1: stock never below zero, never more units out than on sale.
fn not_oversold(s: &Snapshot) -> Vec<String> {
    let total_stock = s.limits.total_stock;
    let mut breaches = Vec::new();
    if s.redis.remaining < 0 {
        breaches.push(format!(
            "stock below zero: Redis remaining is {}",
            s.redis.remaining
        ));
    }
    if s.redis_taken() > total_stock {
        breaches.push(format!(
            "Redis handed out {} units (total {} − remaining {}), more than total_stock {total_stock}",
            s.redis_taken(),
            s.redis_total(),
            s.redis.remaining
        ));
    }
    let held = s.ledger_held_units();
    if held > total_stock {
        breaches.push(format!(
            "MySQL holds {held} non-cancelled units, more than total_stock {total_stock}"
        ));
    }
    breaches
}

/// 2: each confirmed purchase is one ledger row with its shopper and quantity; every row is a
/// confirmed purchase and an order in Redis; Redis and the ledger hold the same orders.
fn one_row_per_success(s: &Snapshot, confirmed: Option<&[Confirmed]>) -> Vec<String> {
    let mut breaches: Vec<String> = s
        .redis
        .unreadable_orders
        .iter()
        .map(|u| format!("in Redis, {u}"))
        .collect();
    let ledger: HashMap<&str, &Order> = s.ledger.iter().map(|o| (o.id.as_str(), o)).collect();
    if let Some(confirmed) = confirmed {
        breaches.extend(against_the_run(s, &ledger, confirmed));
    }
    breaches.extend(ledger_against_redis(s));
    breaches.extend(
        sorted(s.redis.orders.values())
            .into_iter()
            .filter(|o| !ledger.contains_key(o.id.as_str()))
            .map(|o| {
                format!(
                    "order {} of shopper {} is in Redis but not in MySQL",
                    o.id, o.user
                )
            }),
    );
    breaches
}

/// Each confirmed purchase is one row (and an order in Redis); each row was confirmed.
fn against_the_run(
    s: &Snapshot,
    ledger: &HashMap<&str, &Order>,
    confirmed: &[Confirmed],
) -> Vec<String> {
    let mut breaches = Vec::new();
    let told = told_orders(confirmed, &mut breaches);
    for (id, c) in &told {
        breaches.extend(confirmed_row_breach(
            id,
            c,
            ledger.get(id.as_str()).copied(),
        ));
        if !s.redis.orders.contains_key(id) {
            breaches.push(format!(
                "order {id} confirmed to shopper {} is not in Redis",
                c.user_id
            ));
        }
    }
    breaches.extend(sorted(&s.ledger).into_iter().filter(|o| !told.contains_key(&o.id)).map(|o| {
        format!(
            "order {} of shopper {} is in MySQL but was never confirmed to a shopper (duplicate or invented)",
            o.id, o.user
        )
    }));
    breaches
}

/// Each row is an order in Redis, with the same shopper and quantity.
fn ledger_against_redis(s: &Snapshot) -> Vec<String> {
    let mut breaches = Vec::new();
    for row in sorted(&s.ledger) {
        match s.redis.orders.get(&row.id) {
            None => breaches.push(format!(
                "order {} of shopper {} is in MySQL but not in Redis (duplicate or invented)",
                row.id, row.user
            )),
            Some(o) if o.user != row.user || o.quantity != row.quantity => breaches.push(format!(
                "order {} is shopper {} × {} in Redis but shopper {} × {} in MySQL",
                row.id, o.user, o.quantity, row.user, row.quantity
            )),
            Some(_) => {}
        }
    }
    breaches
}

/// The confirmed purchases by normalised order id; unreadable ids and one id confirmed with
/// two different contents are breaches. The same answer twice (an idempotent retry) is not.
fn told_orders<'a>(
    confirmed: &'a [Confirmed],
    breaches: &mut Vec<String>,
) -> BTreeMap<String, &'a Confirmed> {
    let mut told: BTreeMap<String, &Confirmed> = BTreeMap::new();
    for c in confirmed {
        let Ok(id) = Uuid::parse_str(&c.order_id) else {
            breaches.push(format!(
                "order {:?} confirmed to shopper {} is not an order id",
                c.order_id, c.user_id
            ));
            continue;
        };
        let id = id.hyphenated().to_string();
        match told.get(&id) {
            Some(&seen) if seen.user_id != c.user_id || seen.quantity != c.quantity => {
                breaches.push(format!(
                    "order {id} was confirmed twice: to shopper {} × {} and to shopper {} × {}",
                    seen.user_id, seen.quantity, c.user_id, c.quantity
                ));
            }
            Some(_) => {}
            None => {
                told.insert(id, c);
            }
        }
    }
    told
}

fn confirmed_row_breach(id: &str, c: &Confirmed, row: Option<&Order>) -> Option<String> {
    match row {
        None => Some(format!(
            "order {id} confirmed to shopper {} is not in MySQL",
            c.user_id
        )),
        Some(row) if row.user != c.user_id || row.quantity != i64::from(c.quantity) => {
            Some(format!(
                "order {id} confirmed to shopper {} × {} is in MySQL as shopper {} × {}",
                c.user_id, c.quantity, row.user, row.quantity
            ))
        }
        Some(_) => None,
    }
}

/// 3: no shopper holds more than `per_user_limit` non-cancelled units, in MySQL or in Redis.
fn within_user_limit(s: &Snapshot) -> Vec<String> {
    let limit = s.limits.per_user_limit;
    let mut held: BTreeMap<&str, (i64, Vec<&str>)> = BTreeMap::new();
    for row in sorted(&s.ledger)
        .into_iter()
        .filter(|o| holds_units(o.status))
    {
        let entry = held.entry(row.user.as_str()).or_default();
        entry.0 += row.quantity;
        entry.1.push(row.id.as_str());
    }
    let mut breaches: Vec<String> = s
        .redis
        .unreadable_bought
        .iter()
        .map(|u| format!("in Redis, {u}"))
        .collect();
    breaches.extend(held.into_iter().filter(|(_, (units, _))| *units > limit).map(
        |(user, (units, ids))| {
            format!(
                "shopper {user} holds {units} non-cancelled units in MySQL, over the per-user limit {limit} (orders {})",
                ids.join(", ")
            )
        },
    ));
    let bought: BTreeMap<&String, &i64> = s.redis.bought.iter().collect();
    breaches.extend(bought.into_iter().filter(|(_, units)| **units > limit).map(
        |(user, units)| {
            format!("shopper {user} holds {units} units in Redis (bought), over the per-user limit {limit}")
        },
    ));
    breaches
}

/// 4: once drained, the ledger's non-cancelled units are the units Redis handed out, and the
/// admin API's reconciliation agrees.
fn ledger_matches_stock(s: &Snapshot, drain: &Drain, r: &Reconciliation) -> Vec<String> {
    let mut breaches = Vec::new();
    if !drain.drained {
        breaches.push(format!(
            "the pipeline did not drain within {:.0} s: {}",
            drain.waited.as_secs_f64(),
            drain.lag.describe()
        ));
    }
    let held = s.ledger_held_units();
    let taken = s.limits.total_stock.saturating_sub(s.redis.remaining);
    if held != taken {
        breaches.push(format!(
            "MySQL holds {held} non-cancelled units but Redis took {taken} (total_stock {} − remaining {})",
            s.limits.total_stock, s.redis.remaining
        ));
    }
    if !r.agrees() {
        breaches.push(format!(
            "the admin reconciliation is not consistent: difference {}, outbox backlog {}",
            r.difference, r.outbox_backlog
        ));
    }
    breaches
}

/// 5: stock and each shopper's allowance equal what the non-cancelled orders hold (so every
/// cancelled unit came back exactly once), and each order has one status in both stores.
fn returned_once(s: &Snapshot) -> Vec<String> {
    let mut breaches = Vec::new();
    let mut held_by_user: BTreeMap<&str, i64> = BTreeMap::new();
    for order in s.redis.orders.values().filter(|o| holds_units(o.status)) {
        *held_by_user.entry(order.user.as_str()).or_default() += order.quantity;
    }
    let held: i64 = held_by_user.values().sum();
    let expected = s.redis_total().saturating_sub(held);
    if s.redis.remaining != expected {
        breaches.push(format!(
            "Redis remaining is {} but total {} − {held} units of its non-cancelled orders is {expected}",
            s.redis.remaining,
            s.redis_total()
        ));
    }
    for user in s.redis.bought.keys() {
        held_by_user.entry(user.as_str()).or_default();
    }
    for (user, units) in held_by_user {
        let bought = s.redis.bought.get(user).copied().unwrap_or(0);
        if bought != units {
            breaches.push(format!(
                "shopper {user}: Redis bought is {bought} but their non-cancelled orders in Redis hold {units} units"
            ));
        }
    }
    for row in sorted(&s.ledger) {
        if let Some(o) = s
            .redis
            .orders
            .get(&row.id)
            .filter(|o| o.status != row.status)
        {
            breaches.push(format!(
                "order {} of shopper {} is {} in Redis but {} in MySQL",
                row.id,
                row.user,
                o.status.as_str(),
                row.status.as_str()
            ));
        }
    }
    breaches
}

/// Orders by id, so reports are stable from run to run.
fn sorted<'a>(orders: impl IntoIterator<Item = &'a Order>) -> Vec<&'a Order> {
    let mut orders: Vec<&Order> = orders.into_iter().collect();
    orders.sort_by(|a, b| a.id.cmp(&b.id));
    orders
}
