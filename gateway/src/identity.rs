//! Identifiers and secrets: random handles, the stable per-channel `user_key`, agent passwords.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};

use crate::config::Password;

/// Random bytes from the system source.
pub fn random_bytes<const N: usize>() -> [u8; N] {
    let mut out = [0u8; N];
    // The OS random source failing leaves no safe way to mint secrets.
    getrandom::getrandom(&mut out).expect("the system random source failed");
    out
}

/// A random URL-safe token of `bytes` random bytes.
pub fn random_token(bytes: usize) -> String {
    let mut buf = vec![0u8; bytes];
    getrandom::getrandom(&mut buf).expect("the system random source failed");
    URL_SAFE_NO_PAD.encode(buf)
}

/// A random id with a readable prefix (`s_…` session, `c_…` conversation, `a_…` attachment).
pub fn random_id(prefix: &str) -> String {
    format!("{prefix}_{}", random_token(12))
}

/// A fresh anonymous visitor key for browser storage.
pub fn new_visitor_key() -> String {
    random_token(16)
}

/// A visitor key as the gateway issues them: 22 URL-safe characters. Anything else is replaced.
pub fn is_visitor_key(key: &str) -> bool {
    key.len() == 22 && key.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// Which identity a user key derives from. Members come only from signed data.
pub enum Identity<'a> {
    /// A signed member id.
    Member(&'a str),
    /// An anonymous visitor key.
    Visitor(&'a str),
}

/// The stable per-channel user key: HMAC-SHA-256 under the channel's secret, so it reveals
/// nothing about the member id and differs across channels.
pub fn user_key(channel_secret: &[u8; 32], identity: Identity<'_>) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(channel_secret).expect("HMAC takes any key length");
    match identity {
        Identity::Member(id) => {
            mac.update(b"member\0");
            mac.update(id.as_bytes());
        }
        Identity::Visitor(key) => {
            mac.update(b"visitor\0");
            mac.update(key.as_bytes());
        }
    }
    let digest = mac.finalize().into_bytes();
    format!("u_{}", URL_SAFE_NO_PAD.encode(&digest[..18]))
}

/// Checks a password in constant time for equal lengths.
pub fn password_matches(expected: &Password, given: &str) -> bool {
    let (a, b): (Vec<u8>, Vec<u8>) = match expected {
        Password::Plain(p) => (Sha256::digest(p.as_bytes()).to_vec(), Sha256::digest(given.as_bytes()).to_vec()),
        Password::Sha256(h) => (h.to_vec(), Sha256::digest(given.as_bytes()).to_vec()),
    };
    a.iter().zip(&b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0 && a.len() == b.len()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn member_and_visitor_keys_never_collide_and_are_stable() {
        let secret = [9u8; 32];
        let m = user_key(&secret, Identity::Member("abc"));
        assert_eq!(m, user_key(&secret, Identity::Member("abc")));
        assert_ne!(m, user_key(&secret, Identity::Visitor("abc")));
        assert_ne!(m, user_key(&[8u8; 32], Identity::Member("abc")));
    }

    #[test]
    fn visitor_keys_round_trip_the_check() {
        assert!(is_visitor_key(&new_visitor_key()));
        assert!(!is_visitor_key("short"));
        assert!(!is_visitor_key(&"a".repeat(21).to_string().replace('a', "<")));
    }
}
