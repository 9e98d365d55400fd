//! Property tests of every parser that reads what a client or a peer sends: JWTs, purchase
//! tokens, request signatures (with their nonces), list cursors and `traceparent`. Whatever the
//! bytes, each one answers (no panic) and refuses what it did not issue; what it did issue reads
//! back.

use proptest::prelude::*;
use secrecy::SecretString;
use serde::{Deserialize, Serialize};

use crate::cursor;
use crate::domain::{ActivityId, OrderId, Quantity, UserId};
use crate::jwt::{JwtKeys, JwtSettings};
use crate::purchase_token::{PurchaseClaims, PurchaseTokens};
use crate::signing::{CallStamp, Nonce, PresentedSignature, RequestSigner, SignedParts};
use crate::trace::TraceParent;

const SECRET: &str = "outside-input-secret-0123456789abcdef0123";

fn jwt_keys() -> JwtKeys {
    JwtKeys::new(&JwtSettings {
        kid: "k1".into(),
        secret: SecretString::from(SECRET),
        previous_keys: Vec::new(),
        default_ttl_secs: 3_600,
        max_ttl_secs: 86_400,
    })
    .expect("valid test settings")
}

/// Text shaped like the real thing often enough to get past the first checks: dotted
/// segments of base64url-ish characters, hex, digits and dashes.
fn token_like() -> impl Strategy<Value = String> {
    prop_oneof![
        ".{0,300}",
        "[A-Za-z0-9_=-]{0,80}(\\.[A-Za-z0-9_=-]{0,80}){0,4}",
        "v1(\\.[0-9a-f]{0,70}){0,6}",
        "[0-9a-f-]{0,80}",
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn a_jwt_we_did_not_sign_is_refused(token in token_like()) {
        prop_assert!(jwt_keys().verify(&token).is_err());
    }

    #[test]
    fn a_purchase_token_we_did_not_issue_is_refused(token in token_like(), user in "[a-z0-9]{1,20}") {
        let tokens = PurchaseTokens::new(SecretString::from(SECRET));
        let user = UserId::parse(&user).expect("a valid user id");
        prop_assert!(tokens.verify(&token, OrderId::generate(), &user).is_err());
    }

    #[test]
    fn an_issued_purchase_token_reads_back_only_for_its_order_and_user(
        activity in 1_u64..1_000_000,
        quantity in 1_u32..100,
        expires in 0_u64..4_000_000_000_000,
        tamper in 0_usize..200,
    ) {
        let tokens = PurchaseTokens::new(SecretString::from(SECRET));
        let (order, user) = (OrderId::generate(), UserId::parse("alice").expect("valid"));
        let claims = PurchaseClaims {
            order_id: order,
            user_id: user.clone(),
            activity_id: ActivityId::new(activity).expect("positive"),
            quantity: Quantity::new(quantity).expect("positive"),
            expires_at_ms: expires,
        };
        let token = tokens.issue(&claims);
        prop_assert!(tokens.verify(&token, order, &user).is_ok());
        prop_assert!(tokens.verify(&token, OrderId::generate(), &user).is_err());
        let bob = UserId::parse("bob").expect("valid");
        prop_assert!(tokens.verify(&token, order, &bob).is_err());
        // Any one character changed breaks it.
        let at = tamper % token.len();
        let mut altered: Vec<char> = token.chars().collect();
        altered[at] = if altered[at] == '0' { '1' } else { '0' };
        let altered: String = altered.into_iter().collect();
        if altered != token {
            prop_assert!(tokens.verify(&altered, order, &user).is_err());
        }
    }

    #[test]
    fn a_request_signature_we_did_not_make_is_refused(
        method in "[A-Z]{0,8}",
        path in ".{0,100}",
        body in proptest::collection::vec(any::<u8>(), 0..200),
        timestamp in proptest::option::of("[0-9]{0,20}|.{0,20}"),
        nonce in proptest::option::of("[0-9a-f]{32}|[0-9a-fA-F]{0,40}|.{0,40}"),
        signature in proptest::option::of("[0-9a-f]{0,80}|.{0,80}"),
    ) {
        let signer = RequestSigner::new(SecretString::from(SECRET));
        let parts = SignedParts { method: &method, path_and_query: &path, body: &body };
        let now = 1_800_000_000_000;
        let presented = PresentedSignature {
            timestamp: timestamp.as_deref(),
            nonce: nonce.as_deref(),
            signature: signature.as_deref(),
        };
        let checked = signer.verify(parts, presented, now, 5_000);
        let timestamp_ms = timestamp.as_deref().and_then(|t| t.parse::<u64>().ok());
        let nonce = nonce.as_deref().and_then(|n| Nonce::parse(n).ok());
        let genuine = timestamp_ms.zip(nonce)
            .map(|(timestamp_ms, nonce)| signer.sign(parts, CallStamp { timestamp_ms, nonce }));
        if genuine.is_none() || genuine.as_deref() != signature.as_deref() {
            prop_assert!(checked.is_err());
        }
    }

    #[test]
    fn a_request_we_signed_verifies_and_only_with_its_own_nonce(
        method in "[A-Z]{1,8}",
        path in "/[ -~]{0,100}",
        body in proptest::collection::vec(any::<u8>(), 0..200),
        skew in 0_u64..=5_000,
        other in any::<u128>(),
    ) {
        let signer = RequestSigner::new(SecretString::from(SECRET));
        let parts = SignedParts { method: &method, path_and_query: &path, body: &body };
        let stamp = CallStamp::now();
        let [(_, timestamp), (_, nonce), (_, signature)] = signer.headers(parts, stamp);
        let mut presented = PresentedSignature {
            timestamp: Some(&timestamp),
            nonce: Some(&nonce),
            signature: Some(&signature),
        };
        let now = stamp.timestamp_ms + skew;
        prop_assert_eq!(signer.verify(parts, presented, now, 5_000), Ok(stamp.nonce));
        let other = format!("{other:032x}");
        presented.nonce = Some(&other);
        if other != nonce {
            prop_assert!(signer.verify(parts, presented, now, 5_000).is_err());
        }
    }

    #[test]
    fn a_cursor_we_did_not_make_is_refused_and_ours_read_back(
        text in token_like(),
        id in any::<u64>(),
        name in ".{0,30}",
    ) {
        #[derive(Debug, PartialEq, Serialize, Deserialize)]
        struct Position { id: u64, name: String }
        // Garbage is an error, never a panic (and seldom a position).
        let _ = cursor::decode::<Position>(&text);
        let position = Position { id, name };
        let made = cursor::encode(&position);
        prop_assert_eq!(cursor::decode::<Position>(&made).ok(), Some(position));
    }

    #[test]
    fn a_traceparent_parses_or_is_refused_and_valid_ones_round_trip(
        text in ".{0,80}",
        trace in 1_u128..,
        span in 1_u64..,
        sampled in any::<bool>(),
    ) {
        let _ = TraceParent::parse(&text);
        let made = format!("00-{trace:032x}-{span:016x}-{:02x}", u8::from(sampled));
        let parsed = TraceParent::parse(&made);
        prop_assert_eq!(parsed.map(|p| p.to_string()), Some(made));
    }
}
