//! The checks over hand-made snapshots: a consistent sale passes, and each kind of damage is
//! named under its invariant.

use std::time::Duration;

use sk_common::events::OrderStatus;

use super::*;
use crate::verify::drain::Lag;
use crate::verify::snapshot::{Limits, RedisState};

const A: &str = "0193e0c4-0000-7000-8000-00000000000a";
const B: &str = "0193e0c4-0000-7000-8000-00000000000b";
const C: &str = "0193e0c4-0000-7000-8000-00000000000c";

fn order(id: &str, user: &str, status: OrderStatus) -> Order {
    Order {
        id: id.into(),
        user: user.into(),
        quantity: 1,
        status,
    }
}

/// 5 units, limit 1: A paid by u-a, B reserved by u-b, C cancelled by u-c; 3 left.
fn sale() -> (Snapshot, Vec<Confirmed>) {
    let orders = [
        order(A, "u-a", OrderStatus::Paid),
        order(B, "u-b", OrderStatus::Reserved),
        order(C, "u-c", OrderStatus::Cancelled),
    ];
    let redis = RedisState {
        total: Some(5),
        remaining: 3,
        per_user_limit: Some(1),
        bought: [("u-a".to_owned(), 1), ("u-b".to_owned(), 1)].into(),
        orders: orders.iter().map(|o| (o.id.clone(), o.clone())).collect(),
        ..RedisState::default()
    };
    let confirmed = orders
        .iter()
        .map(|o| Confirmed {
            order_id: o.id.to_uppercase(),
            user_id: o.user.clone(),
            quantity: 1,
        })
        .collect();
    let snapshot = Snapshot {
        activity_id: 9,
        limits: Limits {
            total_stock: 5,
            per_user_limit: 1,
        },
        redis,
        ledger: orders.to_vec(),
    };
    (snapshot, confirmed)
}

fn drained() -> Drain {
    Drain {
        drained: true,
        waited: Duration::from_millis(300),
        lag: Lag::default(),
    }
}

fn consistent() -> Reconciliation {
    Reconciliation {
        difference: 0,
        outbox_backlog: 0,
        consistent: true,
    }
}

/// Breaches of invariant `number`.
fn breaches_of(s: &Snapshot, confirmed: Option<&[Confirmed]>, number: u8) -> Vec<String> {
    let invariants = check(s, confirmed, &drained(), &consistent());
    invariants
        .into_iter()
        .find(|inv| inv.number == number)
        .map(|inv| inv.breaches)
        .unwrap()
}

fn all_breaches(s: &Snapshot, confirmed: Option<&[Confirmed]>) -> Vec<String> {
    check(s, confirmed, &drained(), &consistent())
        .into_iter()
        .flat_map(|inv| inv.breaches)
        .collect()
}

#[test]
fn a_consistent_sale_passes_with_and_without_a_run() {
    let (s, confirmed) = sale();
    assert_eq!(all_breaches(&s, Some(&confirmed)), Vec::<String>::new());
    assert_eq!(all_breaches(&s, None), Vec::<String>::new());
    let numbers: Vec<u8> = check(&s, None, &drained(), &consistent())
        .iter()
        .map(|inv| inv.number)
        .collect();
    assert_eq!(numbers, [1, 2, 3, 4, 5]);
}

#[test]
fn an_idempotent_retry_confirmed_twice_is_not_a_breach() {
    let (s, mut confirmed) = sale();
    confirmed.push(confirmed[0].clone());
    assert!(breaches_of(&s, Some(&confirmed), 2).is_empty());
    confirmed[3].user_id = "u-z".into();
    assert!(breaches_of(&s, Some(&confirmed), 2)[0].contains("confirmed twice"));
}

#[test]
fn stock_below_zero_is_named() {
    let (mut s, _) = sale();
    s.redis.remaining = -1;
    let breaches = breaches_of(&s, None, 1);
    assert!(
        breaches
            .iter()
            .any(|b| b.contains("below zero") && b.contains("-1")),
        "{breaches:?}"
    );
}

#[test]
fn more_units_in_the_ledger_than_on_sale_is_an_oversell() {
    let (mut s, _) = sale();
    s.ledger[0].quantity = 5;
    let breaches = breaches_of(&s, None, 1);
    assert!(
        breaches[0].contains("MySQL holds 6 non-cancelled units"),
        "{breaches:?}"
    );
}

#[test]
fn a_lost_row_names_the_confirmed_order() {
    let (mut s, confirmed) = sale();
    s.ledger.retain(|o| o.id != A);
    let breaches = breaches_of(&s, Some(&confirmed), 2);
    assert!(
        breaches
            .iter()
            .any(|b| b.contains(A) && b.contains("u-a") && b.contains("not in MySQL")),
        "{breaches:?}"
    );
    let units = breaches_of(&s, None, 4);
    assert!(
        units[0].contains("MySQL holds 1 non-cancelled units but Redis took 2"),
        "{units:?}"
    );
}

#[test]
fn an_invented_row_and_the_shopper_over_the_limit_are_named() {
    let (mut s, confirmed) = sale();
    let invented = "0193e0c4-0000-7000-8000-0000000000ff";
    s.ledger.push(order(invented, "u-a", OrderStatus::Paid));
    let orders = breaches_of(&s, Some(&confirmed), 2);
    assert!(
        orders
            .iter()
            .any(|b| b.contains(invented) && b.contains("never confirmed")),
        "{orders:?}"
    );
    assert!(
        orders
            .iter()
            .any(|b| b.contains(invented) && b.contains("not in Redis")),
        "{orders:?}"
    );
    let limit = breaches_of(&s, None, 3);
    assert!(
        limit[0].contains("shopper u-a holds 2") && limit[0].contains("limit 1"),
        "{limit:?}"
    );
}

#[test]
fn redis_over_the_limit_and_a_wrong_allowance_are_named() {
    let (mut s, _) = sale();
    s.redis.bought.insert("u-b".into(), 2);
    assert!(breaches_of(&s, None, 3)[0].contains("shopper u-b holds 2 units in Redis"));
    let returned = breaches_of(&s, None, 5);
    assert!(
        returned[0].contains("shopper u-b: Redis bought is 2 but their non-cancelled orders"),
        "{returned:?}"
    );
}

#[test]
fn a_unit_returned_twice_shows_in_the_stock_and_a_status_mismatch_is_named() {
    let (mut s, _) = sale();
    s.redis.remaining = 4;
    if let Some(row) = s.ledger.iter_mut().find(|o| o.id == C) {
        row.status = OrderStatus::Paid;
    }
    let returned = breaches_of(&s, None, 5);
    assert!(
        returned[0].contains("Redis remaining is 4 but total 5 − 2 units"),
        "{returned:?}"
    );
    assert!(
        returned
            .iter()
            .any(|b| b.contains(C) && b.contains("cancelled in Redis but paid in MySQL")),
        "{returned:?}"
    );
}

#[test]
fn an_undrained_pipeline_and_a_reconciliation_difference_are_breaches_of_4() {
    let (s, _) = sale();
    let lag = Lag {
        backlog: 0,
        missing: vec![A.into()],
        stale: Vec::new(),
    };
    let drain = Drain {
        drained: false,
        waited: Duration::from_secs(5),
        lag,
    };
    let reconciliation = Reconciliation {
        difference: 1,
        outbox_backlog: 0,
        consistent: false,
    };
    let invariants = check(&s, None, &drain, &reconciliation);
    let breaches = &invariants[3].breaches;
    assert!(
        breaches[0].starts_with("the pipeline did not drain within 5 s") && breaches[0].contains(A),
        "{breaches:?}"
    );
    assert!(breaches[1].contains("difference 1"), "{breaches:?}");
}

#[test]
fn unreadable_redis_entries_are_breaches() {
    let (mut s, _) = sale();
    s.redis
        .unreadable_orders
        .push("order x has the unreadable record \"?\"".into());
    s.redis
        .unreadable_bought
        .push("bought[u-q] is \"?\", not a number".into());
    assert!(breaches_of(&s, None, 2)[0].contains("order x"));
    assert!(breaches_of(&s, None, 3)[0].contains("bought[u-q]"));
}
