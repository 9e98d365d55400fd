//! The nonce of one signed internal call: what makes two genuine calls alike in every other
//! signed part (same method, path, body and millisecond) still two different calls.

use std::fmt;

use uuid::Uuid;

use super::SignatureError;

/// A signed call's nonce: 128 bits, sent as exactly 32 lowercase hex digits, new for every call
/// (a retry is a new call). It is part of the signed message, so it cannot be swapped for
/// another, and the receiver refuses one it has already served.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Nonce(u128);

impl Nonce {
    /// A fresh nonce from the operating system's CSPRNG (a UUIDv4: 122 random bits, so two
    /// calls sharing one is out of the question within any freshness window).
    #[must_use]
    pub fn generate() -> Self {
        Self(Uuid::new_v4().as_u128())
    }

    /// Reads the header's form. Only one spelling is accepted (lowercase, full length), so a
    /// nonce has exactly one text, the one that is signed and remembered.
    ///
    /// # Errors
    /// [`SignatureError::Malformed`] for anything but 32 lowercase hex digits.
    pub fn parse(text: &str) -> Result<Self, SignatureError> {
        let canonical =
            text.len() == 32 && text.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'));
        if !canonical {
            return Err(SignatureError::Malformed);
        }
        u128::from_str_radix(text, 16)
            .map(Self)
            .map_err(|_| SignatureError::Malformed)
    }
}

impl fmt::Display for Nonce {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:032x}", self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_generated_nonce_reads_back_and_the_next_one_differs() {
        let nonce = Nonce::generate();
        let text = nonce.to_string();
        assert_eq!(text.len(), 32);
        assert_eq!(Nonce::parse(&text), Ok(nonce));
        assert_ne!(Nonce::generate(), nonce);
    }

    #[test]
    fn leading_zeros_are_written_out() {
        let text = "0000000000000000000000000000002a";
        assert_eq!(
            Nonce::parse(text).map(|n| n.to_string()).as_deref(),
            Ok(text)
        );
    }

    #[test]
    fn only_32_lowercase_hex_digits_are_a_nonce() {
        for text in [
            "",
            "2a",
            "0123456789abcdef0123456789abcde",
            "0123456789abcdef0123456789abcdef0",
            "0123456789ABCDEF0123456789ABCDEF",
            "0123456789abcdef0123456789abcdeg",
            "+123456789abcdef0123456789abcdef",
            "0123456789abcdef 123456789abcdef",
            "01234567-89ab-cdef-0123-456789ab",
        ] {
            assert_eq!(
                Nonce::parse(text),
                Err(SignatureError::Malformed),
                "{text:?}"
            );
        }
    }
}
