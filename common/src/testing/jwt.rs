//! Hand-made JWTs for the refusal tests: headers and claims no honest minter would produce.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, Mac};
use sha2::Sha256;

/// A token with exactly `header` and `claims`, signed HS256 with `secret`, or with an empty
/// signature when `secret` is `None` (what `alg: none` tokens carry).
#[must_use]
pub fn forged_jwt(
    header: &serde_json::Value,
    claims: &serde_json::Value,
    secret: Option<&str>,
) -> String {
    let message = format!(
        "{}.{}",
        URL_SAFE_NO_PAD.encode(header.to_string()),
        URL_SAFE_NO_PAD.encode(claims.to_string())
    );
    let signature = secret.map_or_else(String::new, |secret| {
        let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).unwrap();
        mac.update(message.as_bytes());
        URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes())
    });
    format!("{message}.{signature}")
}
