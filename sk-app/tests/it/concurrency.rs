//! One user firing many purchases at once gets exactly one unit when the limit is one: the
//! in-flight guard lets one call through at a time and sk-core's per-user limit refuses the
//! rest; nothing else sells.

use futures_util::future::join_all;
use sk_common::domain::ActivityId;
use sk_common::stock::Inventory;

use crate::helpers::Shop;

#[tokio::test]
async fn fifty_concurrent_purchases_of_one_user_buy_exactly_one_unit() {
    let limits = [
        ("SK_LIMITS__USER_PER_SEC", "10000".to_owned()),
        ("SK_LIMITS__USER_BURST", "10000".to_owned()),
    ];
    let shop = Shop::start_with(&limits).await;
    shop.open_activity(1, 100, 1).await;
    let alice = shop.shopper("alice");

    let answers = join_all((0..50).map(|_| shop.buy(&alice, 1, 1))).await;

    let bought = answers.iter().filter(|a| a.status == 200).count();
    assert_eq!(bought, 1, "{answers:?}");
    for answer in answers.iter().filter(|a| a.status != 200) {
        let refusal = (answer.status, answer.code());
        assert!(
            matches!(refusal, (429, "try_again") | (409, "limit_exceeded")),
            "{answer:?}"
        );
        if answer.status == 429 {
            assert_eq!(answer.retry_after.as_deref(), Some("1"));
        }
    }
    let remaining = Inventory::new(&shop.prefix)
        .remaining(&mut shop.redis().await, ActivityId::new(1).unwrap())
        .await
        .unwrap();
    assert_eq!(remaining, Some(99));
}
