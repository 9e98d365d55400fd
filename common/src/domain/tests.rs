use super::*;

#[test]
fn ids_accept_only_canonical_positive_decimals() {
    assert_eq!(ActivityId::parse("42").unwrap().get(), 42);
    for bad in [
        "",
        "0",
        "-1",
        "+1",
        "01",
        " 1",
        "1.0",
        "abc",
        "9223372036854775808",
        "99999999999999999999999",
    ] {
        assert!(ActivityId::parse(bad).is_err(), "{bad:?} accepted");
    }
    assert_eq!(
        ProductId::parse("9223372036854775807").unwrap().get(),
        i64::MAX as u64
    );
}

#[test]
fn serde_goes_through_the_same_checks() {
    assert!(serde_json::from_str::<ActivityId>("0").is_err());
    assert!(serde_json::from_str::<Quantity>("0").is_err());
    assert!(serde_json::from_str::<Quantity>("101").is_err());
    assert!(serde_json::from_str::<Quantity>("-1").is_err());
    assert_eq!(serde_json::from_str::<Quantity>("3").unwrap().get(), 3);
    assert!(serde_json::from_str::<UserId>("\"a b\"").is_err());
    assert!(serde_json::from_str::<Role>("\"root\"").is_err());
}

#[test]
fn order_ids_are_uuid_v7_and_round_trip() {
    let id = OrderId::generate();
    assert_eq!(OrderId::parse(&id.to_string()).unwrap(), id);
    assert_eq!(OrderId::from_bytes(id.to_bytes()).unwrap(), id);
    assert!(
        OrderId::parse("6f1c8a2e-3b4d-4f5a-9c8b-1a2b3c4d5e6f").is_err(),
        "v4 accepted"
    );
    assert!(OrderId::parse("not-a-uuid").is_err());
    let later = OrderId::generate();
    assert!(later > id, "ids sort by creation time");
}

#[test]
fn text_ids_bound_length_and_alphabet() {
    assert!(UserId::parse("user-42@shop.example").is_ok());
    assert!(UserId::parse("").is_err());
    assert!(UserId::parse(&"u".repeat(65)).is_err());
    assert!(
        UserId::parse("a{b}").is_err(),
        "braces would break the Redis hash tag"
    );
    assert!(IdempotencyKey::parse("k-1").is_ok());
    assert!(IdempotencyKey::parse("has space").is_err());
    assert!(IdempotencyKey::parse(&"k".repeat(129)).is_err());
}
