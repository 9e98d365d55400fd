//! The ledger writer against a real broker and a real MariaDB: events become rows, replays
//! and duplicates change nothing, a MySQL outage loses and doubles nothing, poison messages
//! are dead-lettered while their partition moves on.

use std::collections::BTreeSet;

use rdkafka::Message;
use rdkafka::message::Headers;
use reqwest::StatusCode;
use sk_common::domain::OrderId;
use sk_common::events::CancelReason;
use sk_common::testing::{TcpProxy, eventually};

use crate::helpers::{
    SENT_TRACEPARENT, TestLedger, cancelled, expected_row, ledger_vars, mysql_server_addr, paid,
    read_dead_letters, reserved, reset_group_to_earliest, var,
};

#[tokio::test]
async fn events_become_rows_and_stale_or_repeated_events_change_nothing() {
    let vars = ledger_vars().await;
    let ledger = TestLedger::new(vars.clone(), &vars);
    let server = ledger.start().await;
    let (a, b, c) = (reserved(1), reserved(2), reserved(3));
    let (a_paid, b_expired) = (
        paid(&a, 60_000),
        cancelled(&b, 900_000, CancelReason::Expired),
    );
    // One order's events share a key, hence a partition, hence their order.
    ledger
        .events
        .send_all(&[a.clone(), b.clone(), c.clone()])
        .await;
    ledger
        .events
        .send_all(&[a_paid.clone(), b_expired.clone()])
        .await;
    ledger.wait_caught_up().await;
    assert_eq!(ledger.db.row(a.order_id).await, Some(expected_row(&a_paid)));
    assert_eq!(
        ledger.db.row(b.order_id).await,
        Some(expected_row(&b_expired))
    );
    assert_eq!(ledger.db.row(c.order_id).await, Some(expected_row(&c)));
    let before = ledger.db.snapshot().await;
    assert_eq!(before.len(), 3);

    // Stale: a reservation after the payment, a payment after the expiry; repeated: c again.
    let stale = [a.clone(), paid(&b, 1_000), c.clone(), a_paid.clone()];
    ledger.events.send_all(&stale).await;
    ledger.wait_caught_up().await;
    assert_eq!(ledger.db.snapshot().await, before);
    server.stop().await.unwrap();
}

#[tokio::test]
async fn a_replay_from_the_earliest_offsets_leaves_every_row_unchanged() {
    let vars = ledger_vars().await;
    let ledger = TestLedger::new(vars.clone(), &vars);
    let server = ledger.start().await;
    let orders: Vec<_> = (0..60).map(reserved).collect();
    ledger.events.send_all(&orders).await;
    let transitions: Vec<_> = orders
        .iter()
        .enumerate()
        .filter_map(|(i, order)| match i % 3 {
            0 => Some(paid(order, 1_000 + i as u64)),
            1 => Some(cancelled(order, 2_000, CancelReason::Cancelled)),
            _ => None,
        })
        .collect();
    ledger.events.send_all(&transitions).await;
    ledger.wait_caught_up().await;
    let before = ledger.db.snapshot().await;
    assert_eq!(before.len(), orders.len());
    server.stop().await.unwrap();

    let group = &ledger.settings.consumer.group_id;
    reset_group_to_earliest(&ledger.settings.kafka, group).await;
    assert!(!ledger.caught_up().await, "the group was not rewound");
    let server = ledger.start().await;
    ledger.wait_caught_up().await;
    assert_eq!(ledger.db.snapshot().await, before);
    server.stop().await.unwrap();
}

/// The ledger holds exactly `expected` `(order id, status)` rows: none missing, none extra.
async fn assert_ledger_holds(ledger: &TestLedger, expected: BTreeSet<(OrderId, String)>) {
    let rows = ledger.db.statuses().await;
    let held: BTreeSet<_> = rows.iter().cloned().collect();
    let missing: Vec<_> = expected.difference(&held).take(3).collect();
    let extra: Vec<_> = held.difference(&expected).take(3).collect();
    assert!(
        rows.len() == expected.len() && missing.is_empty() && extra.is_empty(),
        "{} rows for {} orders; missing or wrong, e.g. {missing:?}; unexpected, e.g. {extra:?}",
        rows.len(),
        expected.len(),
    );
}

/// A ledger whose service reaches MySQL through `proxy` (the test itself goes direct), with
/// small batches so that an outage lands in the middle of a backlog.
async fn ledger_behind(proxy: &TcpProxy) -> TestLedger {
    let direct = ledger_vars().await;
    let database = var(&direct, "SK_MYSQL__URL")
        .rsplit('/')
        .next()
        .unwrap()
        .to_owned();
    let mut vars = direct.clone();
    vars.extend([
        (
            "SK_MYSQL__URL",
            format!("mysql://root@{}/{database}", proxy.addr()),
        ),
        ("SK_CONSUMER__BATCH_MAX", "20".to_owned()),
    ]);
    TestLedger::new(vars, &direct)
}

#[tokio::test]
async fn a_mysql_outage_mid_consumption_loses_and_doubles_nothing() {
    let proxy = TcpProxy::start(mysql_server_addr()).await;
    let ledger = ledger_behind(&proxy).await;
    let server = ledger.start().await;
    let before_cut: Vec<_> = (0..600).map(reserved).collect();
    ledger.events.send_all(&before_cut).await;
    eventually("the first rows", || async { ledger.db.count().await > 0 }).await;

    proxy.cut();
    eventually("/readyz to report mysql down", || async {
        let (status, body) = server.get_json("/readyz").await;
        status == StatusCode::SERVICE_UNAVAILABLE
            && body["message"]
                .as_str()
                .is_some_and(|m| m.contains("mysql"))
    })
    .await;
    let during_cut: Vec<_> = (600..900).map(reserved).collect();
    ledger.events.send_all(&during_cut).await;
    let payments: Vec<_> = before_cut
        .iter()
        .step_by(2)
        .map(|o| paid(o, 5_000))
        .collect();
    ledger.events.send_all(&payments).await;
    assert!(
        !ledger.caught_up().await,
        "offsets committed while MySQL was cut off"
    );

    proxy.restore();
    let after: Vec<_> = (900..1_000).map(reserved).collect();
    ledger.events.send_all(&after).await;
    ledger.wait_caught_up().await;

    let paid_ids: BTreeSet<_> = payments.iter().map(|e| e.order_id).collect();
    let orders = [before_cut, during_cut, after].concat();
    let expected = orders.iter().map(|o| {
        let status = if paid_ids.contains(&o.order_id) {
            "paid"
        } else {
            "reserved"
        };
        (o.order_id, status.to_owned())
    });
    assert_ledger_holds(&ledger, expected.collect()).await;
    server.stop().await.unwrap();
}

#[tokio::test]
async fn a_restart_while_mysql_is_down_loses_nothing() {
    let proxy = TcpProxy::start(mysql_server_addr()).await;
    let ledger = ledger_behind(&proxy).await;
    let server = ledger.start().await;
    let orders: Vec<_> = (0..300).map(reserved).collect();
    ledger.events.send_all(&orders).await;
    eventually("the first rows", || async { ledger.db.count().await > 0 }).await;
    proxy.cut();
    // Stopping mid-retry commits only what reached MySQL before the cut.
    server.stop().await.unwrap();
    proxy.restore();

    let server = ledger.start().await;
    ledger.wait_caught_up().await;
    let expected = orders.iter().map(|o| (o.order_id, "reserved".to_owned()));
    assert_ledger_holds(&ledger, expected.collect()).await;
    server.stop().await.unwrap();
}

#[tokio::test]
async fn a_poison_message_is_dead_lettered_and_its_partition_moves_on() {
    let vars = ledger_vars().await;
    let ledger = TestLedger::new(vars.clone(), &vars);
    let server = ledger.start().await;
    let (first, after) = (reserved(1), reserved(2));
    let (partition, _) = ledger.events.send(&first).await;
    let poison = br#"{"schema_version":1,"order_id":"oops"}"#;
    let (_, poison_offset) = ledger
        .events
        .send_raw(Some(partition), Some(b"oops"), poison)
        .await;
    let key = after.order_id.to_string();
    let (_, after_offset) = ledger
        .events
        .send_raw(
            Some(partition),
            Some(key.as_bytes()),
            &after.to_json().unwrap(),
        )
        .await;
    assert!(after_offset > poison_offset);

    ledger.wait_caught_up().await;
    assert_eq!(
        ledger.db.row(first.order_id).await,
        Some(expected_row(&first))
    );
    assert_eq!(
        ledger.db.row(after.order_id).await,
        Some(expected_row(&after))
    );
    assert_eq!(ledger.db.count().await, 2);

    let letters = read_dead_letters(&ledger.settings.kafka, 1).await;
    let letter = &letters[0];
    assert_eq!(letter.payload(), Some(&poison[..]));
    assert_eq!(letter.key(), Some(&b"oops"[..]));
    let header = |name: &str| {
        let headers = letter.headers().expect("dead letters carry headers");
        let found = headers.iter().find(|h| h.key == name);
        let value = found
            .and_then(|h| h.value)
            .unwrap_or_else(|| panic!("no {name}"));
        String::from_utf8(value.to_vec()).unwrap()
    };
    let error = header(order_consumer::ERROR_HEADER);
    assert!(error.contains("not valid JSON"), "{error}");
    let source_topic = header(order_consumer::SOURCE_TOPIC_HEADER);
    assert_eq!(source_topic, ledger.settings.kafka.orders_topic);
    let source_partition = header(order_consumer::SOURCE_PARTITION_HEADER);
    assert_eq!(source_partition, partition.to_string());
    let source_offset = header(order_consumer::SOURCE_OFFSET_HEADER);
    assert_eq!(source_offset, poison_offset.to_string());
    assert_eq!(header(sk_common::trace::TRACEPARENT), SENT_TRACEPARENT);

    let metrics = server
        .client
        .get(server.url("/metrics"))
        .send()
        .await
        .unwrap();
    let text = metrics.text().await.unwrap();
    // The counter exists from start-up at 0: the dead letter must have moved it.
    let dead_letters = text
        .lines()
        .find_map(|line| line.strip_prefix("order_consumer_dead_letters_total "))
        .and_then(|value| value.trim().parse::<f64>().ok());
    assert!(dead_letters.is_some_and(|n| n >= 1.0), "{text}");
    server.stop().await.unwrap();
}
