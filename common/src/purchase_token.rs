//! Purchase tokens: the proof a shopper shows to pay for a reservation.
//!
//! `v1.<activity_id>.<quantity>.<expires_at_ms>.<hex HMAC-SHA256>`, where the MAC covers the
//! order id, user id, activity id, quantity and expiry. The order id and user id are not in the
//! token (they come from the URL and the verified JWT), so a token is worthless for any other
//! order or any other user; the rest is in clear so pay finds the order's activity without a
//! lookup. Forged or altered tokens are refused before Redis is touched.

use hmac::Mac;
use secrecy::SecretString;

use crate::domain::{ActivityId, OrderId, Quantity, UserId};
use crate::signing::hmac_sha256;

/// What a purchase token vouches for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PurchaseClaims {
    /// The order it pays.
    pub order_id: OrderId,
    /// The shopper who may pay it.
    pub user_id: UserId,
    /// The activity the order belongs to.
    pub activity_id: ActivityId,
    /// Units reserved.
    pub quantity: Quantity,
    /// Payment deadline (Unix ms, Redis clock).
    pub expires_at_ms: u64,
}

/// The token does not vouch for this order and user.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("the purchase token is not valid for this order")]
pub struct InvalidToken;

/// Issues and verifies purchase tokens with one secret.
#[derive(Clone)]
pub struct PurchaseTokens {
    secret: SecretString,
}

impl std::fmt::Debug for PurchaseTokens {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PurchaseTokens").finish_non_exhaustive()
    }
}

const VERSION: &str = "v1";

impl PurchaseTokens {
    /// Tokens signed with `secret`.
    #[must_use]
    pub const fn new(secret: SecretString) -> Self {
        Self { secret }
    }

    /// The token for `claims` (deterministic: the same claims give the same token).
    #[must_use]
    pub fn issue(&self, claims: &PurchaseClaims) -> String {
        format!(
            "{VERSION}.{}.{}.{}.{}",
            claims.activity_id,
            claims.quantity,
            claims.expires_at_ms,
            hex::encode(self.mac(claims).finalize().into_bytes())
        )
    }

    /// The claims of `token` if it was issued for `order_id` and `user_id`.
    ///
    /// # Errors
    /// [`InvalidToken`] for anything else (malformed, altered, other order or user).
    pub fn verify(
        &self,
        token: &str,
        order_id: OrderId,
        user_id: &UserId,
    ) -> Result<PurchaseClaims, InvalidToken> {
        let mut parts = token.split('.');
        let (Some(VERSION), Some(activity), Some(quantity), Some(expires), Some(mac), None) = (
            parts.next(),
            parts.next(),
            parts.next(),
            parts.next(),
            parts.next(),
            parts.next(),
        ) else {
            return Err(InvalidToken);
        };
        let claims = PurchaseClaims {
            order_id,
            user_id: user_id.clone(),
            activity_id: ActivityId::parse(activity).map_err(|_| InvalidToken)?,
            quantity: quantity
                .parse()
                .ok()
                .and_then(|q| Quantity::new(q).ok())
                .ok_or(InvalidToken)?,
            expires_at_ms: expires.parse().map_err(|_| InvalidToken)?,
        };
        let mac_bytes = hex::decode(mac).map_err(|_| InvalidToken)?;
        self.mac(&claims)
            .verify_slice(&mac_bytes)
            .map_err(|_| InvalidToken)?;
        Ok(claims)
    }

    fn mac(&self, claims: &PurchaseClaims) -> hmac::Hmac<sha2::Sha256> {
        let mut mac = hmac_sha256(&self.secret);
        // Length-prefixed fields: no two different claim sets share an input.
        for field in [
            claims.order_id.to_string(),
            claims.user_id.to_string(),
            claims.activity_id.to_string(),
            claims.quantity.to_string(),
            claims.expires_at_ms.to_string(),
        ] {
            mac.update(&(field.len() as u64).to_be_bytes());
            mac.update(field.as_bytes());
        }
        mac
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    fn tokens(secret: &str) -> PurchaseTokens {
        PurchaseTokens::new(SecretString::from(secret))
    }

    fn claims() -> PurchaseClaims {
        PurchaseClaims {
            order_id: OrderId::generate(),
            user_id: UserId::parse("alice").unwrap(),
            activity_id: ActivityId::new(12).unwrap(),
            quantity: Quantity::new(2).unwrap(),
            expires_at_ms: 1_795_305_600_000,
        }
    }

    #[test]
    fn an_issued_token_verifies_for_its_order_and_user() {
        let t = tokens("k");
        let c = claims();
        let token = t.issue(&c);
        assert_eq!(t.verify(&token, c.order_id, &c.user_id), Ok(c));
    }

    #[test]
    fn a_token_is_worthless_for_another_order_user_or_secret() {
        let t = tokens("k");
        let c = claims();
        let token = t.issue(&c);
        let mallory = UserId::parse("mallory").unwrap();
        assert_eq!(t.verify(&token, c.order_id, &mallory), Err(InvalidToken));
        assert_eq!(
            t.verify(&token, OrderId::generate(), &c.user_id),
            Err(InvalidToken)
        );
        assert_eq!(
            tokens("other").verify(&token, c.order_id, &c.user_id),
            Err(InvalidToken)
        );
    }

    #[test]
    fn altered_or_malformed_tokens_are_refused() {
        let t = tokens("k");
        let c = claims();
        let token = t.issue(&c);
        let altered = [
            token.replacen(".2.", ".1.", 1),
            token.replacen("v1.12.", "v1.13.", 1),
            token.replacen("1795305600000", "1795305699999", 1),
            format!("{token}.x"),
            token.replacen("v1", "v2", 1),
            String::new(),
            "v1.12.2.1.zz".into(),
            "v1.12.0.1.00".into(),
        ];
        for bad in altered {
            assert_eq!(
                t.verify(&bad, c.order_id, &c.user_id),
                Err(InvalidToken),
                "{bad}"
            );
        }
    }
}
