//! Keys, signing and verification. The key id in a token names one key of one channel, and that key
//! fixes the algorithm: nothing in a token chooses it.

use std::collections::{HashMap, HashSet};

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use ed25519_dalek::{Signature, VerifyingKey};
use serde::{Deserialize, Serialize};

use crate::encoding::{DecodeError, RawToken};
use crate::model::{Claims, Kind};

/// Default clock leeway, seconds.
pub const DEFAULT_LEEWAY: u64 = 60;

/// Signature algorithms a key can be registered with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
#[non_exhaustive]
pub enum Algorithm {
    /// Ed25519 (RFC 8032), verified strictly.
    Ed25519,
}

/// A key that cannot be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum KeyError {
    /// Not canonical unpadded base64url.
    #[error("key is not canonical base64url without padding")]
    Base64,
    /// Wrong length after decoding.
    #[error("key is {0} bytes long; an Ed25519 key is 32")]
    Length(usize),
    /// Bytes that are not a valid curve point.
    #[error("public key is not a valid Ed25519 point")]
    InvalidPoint,
    /// Unknown algorithm name.
    #[error("algorithm {0:?} is not supported; use \"ed25519\"")]
    Algorithm(String),
    /// Invalid channel or key id.
    #[error("{0}")]
    Claims(#[from] crate::model::ClaimsError),
    /// A key file that is not the expected JSON.
    #[error("key file is not valid: {0}")]
    File(String),
    /// The system random source failed.
    #[error("the system random source failed: {0}")]
    Random(String),
}

/// Why a token was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum VerifyError {
    /// Larger than any token may be.
    #[error("token is too large: {len} bytes, at most {max}")]
    TooLarge {
        /// Input length.
        len: usize,
        /// The bound.
        max: usize,
    },
    /// Not a well-formed token.
    #[error("token is malformed: {0}")]
    Malformed(DecodeError),
    /// The key id names no key of this key set.
    #[error("token is signed with key {key_id:?}, which is not a key of channel {channel:?}")]
    UnknownKey {
        /// Key id in the token.
        key_id: String,
        /// Channel in the token.
        channel: String,
    },
    /// The signature does not verify.
    #[error("token signature does not verify (was it altered, or signed with another key?)")]
    BadSignature,
    /// Past its expiry (plus leeway).
    #[error("token expired at {expires_at} (now {now})")]
    Expired {
        /// Expiry.
        expires_at: u64,
        /// The time checked against.
        now: u64,
    },
    /// Issued in the future (beyond leeway).
    #[error("token is not valid before {issued_at} (now {now}); check the signing server's clock")]
    NotYetValid {
        /// Issue time.
        issued_at: u64,
        /// The time checked against.
        now: u64,
    },
    /// For another channel.
    #[error("token is for channel {found:?}, not {expected:?}")]
    WrongChannel {
        /// Channel expected.
        expected: String,
        /// Channel in the token.
        found: String,
    },
    /// Of another kind.
    #[error("token is a {found} token, not a {expected} token")]
    WrongKind {
        /// Kind expected.
        expected: Kind,
        /// Kind in the token.
        found: Kind,
    },
    /// Its serial was revoked.
    #[error("token serial {serial} of channel {channel:?} was revoked")]
    Revoked {
        /// Channel.
        channel: String,
        /// Serial.
        serial: u64,
    },
}

impl VerifyError {
    /// A stable machine-readable code, the same in Rust, JS and the gateway's HTTP errors.
    pub fn code(&self) -> &'static str {
        match self {
            VerifyError::TooLarge { .. } => "too_large",
            VerifyError::Malformed(_) => "malformed",
            VerifyError::UnknownKey { .. } => "unknown_key",
            VerifyError::BadSignature => "bad_signature",
            VerifyError::Expired { .. } => "expired",
            VerifyError::NotYetValid { .. } => "not_yet_valid",
            VerifyError::WrongChannel { .. } => "wrong_channel",
            VerifyError::WrongKind { .. } => "wrong_kind",
            VerifyError::Revoked { .. } => "revoked",
        }
    }
}

impl From<DecodeError> for VerifyError {
    fn from(e: DecodeError) -> Self {
        match e {
            DecodeError::TooLarge { len, max } => VerifyError::TooLarge { len, max },
            other => VerifyError::Malformed(other),
        }
    }
}

/// A public key registered for one channel under one key id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PublicKey {
    /// Channel the key signs for.
    pub channel: String,
    /// Key id.
    pub key_id: String,
    /// Algorithm, fixed by registration.
    pub algorithm: Algorithm,
    key: VerifyingKey,
}

impl PublicKey {
    /// Reads an Ed25519 public key in unpadded base64url.
    ///
    /// # Errors
    /// [`KeyError`] for a bad channel, key id or key encoding.
    pub fn ed25519(channel: &str, key_id: &str, base64url: &str) -> Result<PublicKey, KeyError> {
        check_names(channel, key_id)?;
        let bytes = decode_32(base64url)?;
        let key = VerifyingKey::from_bytes(&bytes).map_err(|_| KeyError::InvalidPoint)?;
        Ok(PublicKey { channel: channel.into(), key_id: key_id.into(), algorithm: Algorithm::Ed25519, key })
    }

    /// Reads a key of the named algorithm (as written in configuration).
    ///
    /// # Errors
    /// [`KeyError::Algorithm`] for an unknown algorithm, else as [`PublicKey::ed25519`].
    pub fn parse(channel: &str, key_id: &str, algorithm: &str, base64url: &str) -> Result<PublicKey, KeyError> {
        match algorithm {
            "ed25519" => PublicKey::ed25519(channel, key_id, base64url),
            other => Err(KeyError::Algorithm(other.into())),
        }
    }

    /// The key's bytes in unpadded base64url.
    pub fn to_base64url(&self) -> String {
        URL_SAFE_NO_PAD.encode(self.key.as_bytes())
    }

    fn verify(&self, message: &[u8], signature: &[u8; 64]) -> bool {
        match self.algorithm {
            Algorithm::Ed25519 => {
                let sig = Signature::from_bytes(signature);
                self.key.verify_strict(message, &sig).is_ok()
            }
        }
    }
}

/// Verifies raw Ed25519 signatures with the same strict rules tokens get (for test vectors).
pub fn verify_ed25519_raw(public_key: &[u8], message: &[u8], signature: &[u8]) -> bool {
    let Ok(pk) = <[u8; 32]>::try_from(public_key) else { return false };
    let Ok(sig) = <[u8; 64]>::try_from(signature) else { return false };
    let Ok(key) = VerifyingKey::from_bytes(&pk) else { return false };
    key.verify_strict(message, &Signature::from_bytes(&sig)).is_ok()
}

/// The live keys of one or more channels, the revoked serials, and the clock leeway.
#[derive(Debug, Clone)]
pub struct KeySet {
    keys: HashMap<(String, String), PublicKey>,
    revoked: HashSet<(String, u64)>,
    leeway: u64,
}

impl Default for KeySet {
    fn default() -> Self {
        KeySet { keys: HashMap::new(), revoked: HashSet::new(), leeway: DEFAULT_LEEWAY }
    }
}

impl KeySet {
    /// An empty key set with the default leeway.
    pub fn new() -> KeySet {
        KeySet::default()
    }

    /// Adds a live key; several keys of one channel may be live at once (rotation).
    pub fn add(&mut self, key: PublicKey) -> &mut Self {
        self.keys.insert((key.channel.clone(), key.key_id.clone()), key);
        self
    }

    /// Revokes one serial of one channel.
    pub fn revoke(&mut self, channel: &str, serial: u64) -> &mut Self {
        self.revoked.insert((channel.to_string(), serial));
        self
    }

    /// Sets the clock leeway in seconds.
    pub fn set_leeway(&mut self, seconds: u64) -> &mut Self {
        self.leeway = seconds;
        self
    }

    /// True when the serial is revoked for the channel.
    pub fn is_revoked(&self, channel: &str, serial: u64) -> bool {
        self.revoked.contains(&(channel.to_string(), serial))
    }

    /// Verifies a text token for `channel` and `kind` at time `now` (Unix seconds).
    ///
    /// # Errors
    /// A [`VerifyError`] naming the first check that failed; the signature is checked before any
    /// claim is trusted.
    pub fn verify(&self, token: &str, channel: &str, kind: Kind, now: u64) -> Result<Claims, VerifyError> {
        self.verify_raw(RawToken::from_text(token)?, channel, kind, now)
    }

    /// As [`KeySet::verify`], for the QR (digits) form.
    ///
    /// # Errors
    /// As [`KeySet::verify`].
    pub fn verify_digits(&self, digits: &str, channel: &str, kind: Kind, now: u64) -> Result<Claims, VerifyError> {
        self.verify_raw(RawToken::from_digits(digits)?, channel, kind, now)
    }

    /// Verifies an already decoded token.
    ///
    /// # Errors
    /// As [`KeySet::verify`].
    pub fn verify_raw(&self, raw: RawToken, channel: &str, kind: Kind, now: u64) -> Result<Claims, VerifyError> {
        let claims = &raw.claims;
        let key = self
            .keys
            .get(&(claims.channel.clone(), claims.key_id.clone()))
            .ok_or_else(|| VerifyError::UnknownKey { key_id: claims.key_id.clone(), channel: claims.channel.clone() })?;
        if !key.verify(&raw.signed_message(), &raw.signature) {
            return Err(VerifyError::BadSignature);
        }
        if claims.channel != channel {
            return Err(VerifyError::WrongChannel { expected: channel.into(), found: claims.channel.clone() });
        }
        if claims.kind != kind {
            return Err(VerifyError::WrongKind { expected: kind, found: claims.kind });
        }
        if claims.issued_at > now.saturating_add(self.leeway) {
            return Err(VerifyError::NotYetValid { issued_at: claims.issued_at, now });
        }
        if now > claims.expires_at.saturating_add(self.leeway) {
            return Err(VerifyError::Expired { expires_at: claims.expires_at, now });
        }
        if self.is_revoked(&claims.channel, claims.serial) {
            return Err(VerifyError::Revoked { channel: claims.channel.clone(), serial: claims.serial });
        }
        Ok(raw.claims)
    }
}

fn check_names(channel: &str, key_id: &str) -> Result<(), KeyError> {
    // Reuse the claim rules so a key can never be registered under a name no token can carry.
    let probe = Claims {
        kind: Kind::Handoff,
        channel: channel.into(),
        key_id: key_id.into(),
        issued_at: 0,
        expires_at: 1,
        serial: 0,
        entry: Default::default(),
        member: None,
    };
    probe.validate()?;
    Ok(())
}

fn decode_32(base64url: &str) -> Result<[u8; 32], KeyError> {
    let bytes = URL_SAFE_NO_PAD.decode(base64url.trim()).map_err(|_| KeyError::Base64)?;
    <[u8; 32]>::try_from(bytes.as_slice()).map_err(|_| KeyError::Length(bytes.len()))
}

#[cfg(feature = "sign")]
pub use signing::*;

#[cfg(feature = "sign")]
mod signing {
    use super::*;
    use crate::encoding::{SIGNATURE_LEN, encode_body, signed_message};
    use ed25519_dalek::{Signer as _, SigningKey};

    /// Why a token could not be signed.
    #[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
    #[non_exhaustive]
    pub enum SignError {
        /// The claims break a bound or a rule of their kind.
        #[error("claims are invalid: {0}")]
        Claims(#[from] crate::model::ClaimsError),
        /// The claims name another channel or key than the signing key.
        #[error("claims name channel {claims_channel:?} and key {claims_key_id:?}, but the key is {key_channel:?}/{key_id:?}")]
        KeyMismatch {
            /// Channel in the claims.
            claims_channel: String,
            /// Key id in the claims.
            claims_key_id: String,
            /// Channel of the key.
            key_channel: String,
            /// Id of the key.
            key_id: String,
        },
    }

    /// A channel's secret signing key. Its Debug output never shows key material.
    #[derive(Clone)]
    pub struct SecretKey {
        /// Channel the key signs for.
        pub channel: String,
        /// Key id.
        pub key_id: String,
        key: SigningKey,
    }

    impl std::fmt::Debug for SecretKey {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.debug_struct("SecretKey").field("channel", &self.channel).field("key_id", &self.key_id).finish_non_exhaustive()
        }
    }

    /// The JSON file a secret key is stored in.
    #[derive(Serialize, Deserialize)]
    #[serde(deny_unknown_fields)]
    struct SecretKeyFile {
        channel: String,
        key_id: String,
        algorithm: Algorithm,
        secret_key: String,
        public_key: String,
    }

    impl SecretKey {
        /// A fresh key from the system's random source.
        ///
        /// # Errors
        /// [`KeyError`] for a bad channel or key id, or a failing random source.
        pub fn generate(channel: &str, key_id: &str) -> Result<SecretKey, KeyError> {
            let mut seed = [0u8; 32];
            getrandom::getrandom(&mut seed).map_err(|e| KeyError::Random(e.to_string()))?;
            SecretKey::from_seed(channel, key_id, seed)
        }

        /// A key from a 32-byte seed (tests and deterministic fixtures).
        ///
        /// # Errors
        /// [`KeyError`] for a bad channel or key id.
        pub fn from_seed(channel: &str, key_id: &str, seed: [u8; 32]) -> Result<SecretKey, KeyError> {
            check_names(channel, key_id)?;
            Ok(SecretKey { channel: channel.into(), key_id: key_id.into(), key: SigningKey::from_bytes(&seed) })
        }

        /// The matching public key.
        pub fn public_key(&self) -> PublicKey {
            PublicKey {
                channel: self.channel.clone(),
                key_id: self.key_id.clone(),
                algorithm: Algorithm::Ed25519,
                key: self.key.verifying_key(),
            }
        }

        /// The key file's JSON text.
        pub fn to_json(&self) -> String {
            let file = SecretKeyFile {
                channel: self.channel.clone(),
                key_id: self.key_id.clone(),
                algorithm: Algorithm::Ed25519,
                secret_key: URL_SAFE_NO_PAD.encode(self.key.to_bytes()),
                public_key: self.public_key().to_base64url(),
            };
            serde_json::to_string_pretty(&file).expect("a key file always serialises")
        }

        /// Reads a key file's JSON text.
        ///
        /// # Errors
        /// [`KeyError`] for bad JSON, names or key bytes, or a public key that does not match.
        pub fn from_json(text: &str) -> Result<SecretKey, KeyError> {
            let file: SecretKeyFile = serde_json::from_str(text).map_err(|e| KeyError::File(e.to_string()))?;
            let key = SecretKey::from_seed(&file.channel, &file.key_id, decode_32(&file.secret_key)?)?;
            if key.public_key().to_base64url() != file.public_key {
                return Err(KeyError::File("public_key does not match secret_key".into()));
            }
            Ok(key)
        }

        /// Signs claims into the text form. The claims must name this key's channel and id.
        ///
        /// # Errors
        /// [`SignError`] for invalid claims or claims naming another key.
        pub fn sign(&self, claims: &Claims) -> Result<String, SignError> {
            Ok(self.sign_raw(claims)?.to_text())
        }

        /// Signs claims into a [`RawToken`], from which every form can be written.
        ///
        /// # Errors
        /// As [`SecretKey::sign`].
        pub fn sign_raw(&self, claims: &Claims) -> Result<RawToken, SignError> {
            if claims.channel != self.channel || claims.key_id != self.key_id {
                return Err(SignError::KeyMismatch {
                    claims_channel: claims.channel.clone(),
                    claims_key_id: claims.key_id.clone(),
                    key_channel: self.channel.clone(),
                    key_id: self.key_id.clone(),
                });
            }
            let body = encode_body(claims)?;
            let signature: [u8; SIGNATURE_LEN] = self.key.sign(&signed_message(&body)).to_bytes();
            Ok(RawToken { claims: claims.clone(), body, signature })
        }
    }

    /// A random serial for a token.
    ///
    /// # Errors
    /// [`KeyError::Random`] when the system random source fails.
    pub fn random_serial() -> Result<u64, KeyError> {
        let mut bytes = [0u8; 8];
        getrandom::getrandom(&mut bytes).map_err(|e| KeyError::Random(e.to_string()))?;
        Ok(u64::from_le_bytes(bytes))
    }
}

#[cfg(all(test, feature = "sign"))]
mod tests {
    use super::*;
    use crate::model::{EntryPoint, Membership};

    const NOW: u64 = 1_763_700_000;

    fn key() -> SecretKey {
        SecretKey::from_seed("demo-shop", "k1", [1; 32]).unwrap()
    }

    fn claims() -> Claims {
        Claims {
            kind: Kind::Button,
            channel: "demo-shop".into(),
            key_id: "k1".into(),
            issued_at: NOW,
            expires_at: NOW + 600,
            serial: 42,
            entry: EntryPoint { button: Some("product".into()), ..Default::default() },
            member: Some(Membership { id: "m-1".into(), ..Default::default() }),
        }
    }

    fn keys() -> KeySet {
        let mut set = KeySet::new();
        set.add(key().public_key());
        set
    }

    #[test]
    fn signs_and_verifies() {
        let token = key().sign(&claims()).unwrap();
        assert_eq!(keys().verify(&token, "demo-shop", Kind::Button, NOW).unwrap(), claims());
    }

    #[test]
    fn every_refusal_has_its_kind() {
        let token = key().sign(&claims()).unwrap();
        let k = keys();
        assert_eq!(k.verify(&token, "other", Kind::Button, NOW).unwrap_err().code(), "wrong_channel");
        assert_eq!(k.verify(&token, "demo-shop", Kind::Printed, NOW).unwrap_err().code(), "wrong_kind");
        assert_eq!(k.verify(&token, "demo-shop", Kind::Button, NOW + 600 + 61).unwrap_err().code(), "expired");
        assert!(k.verify(&token, "demo-shop", Kind::Button, NOW + 600 + 60).is_ok(), "leeway");
        assert_eq!(k.verify(&token, "demo-shop", Kind::Button, NOW - 61).unwrap_err().code(), "not_yet_valid");
        let mut revoked = keys();
        revoked.revoke("demo-shop", 42);
        assert_eq!(revoked.verify(&token, "demo-shop", Kind::Button, NOW).unwrap_err().code(), "revoked");
        assert_eq!(KeySet::new().verify(&token, "demo-shop", Kind::Button, NOW).unwrap_err().code(), "unknown_key");
        let other = SecretKey::from_seed("demo-shop", "k1", [2; 32]).unwrap();
        let forged = other.sign(&claims()).unwrap();
        assert_eq!(k.verify(&forged, "demo-shop", Kind::Button, NOW).unwrap_err(), VerifyError::BadSignature);
    }

    #[test]
    fn rotation_keeps_old_and_new_keys_live() {
        let new = SecretKey::from_seed("demo-shop", "k2", [3; 32]).unwrap();
        let mut set = keys();
        set.add(new.public_key());
        let mut c = claims();
        c.key_id = "k2".into();
        assert!(set.verify(&new.sign(&c).unwrap(), "demo-shop", Kind::Button, NOW).is_ok());
        assert!(set.verify(&key().sign(&claims()).unwrap(), "demo-shop", Kind::Button, NOW).is_ok());
    }

    #[test]
    fn a_key_of_one_channel_never_verifies_another() {
        // Same key bytes registered for channel b; a token for channel a must not pass as b.
        let a = SecretKey::from_seed("a", "k1", [1; 32]).unwrap();
        let mut set = KeySet::new();
        set.add(PublicKey::ed25519("b", "k1", &a.public_key().to_base64url()).unwrap());
        let mut c = claims();
        c.channel = "a".into();
        let token = a.sign(&c).unwrap();
        assert_eq!(set.verify(&token, "b", Kind::Button, NOW).unwrap_err().code(), "unknown_key");
    }

    #[test]
    fn key_files_round_trip_and_hide_secrets_in_debug() {
        let k = key();
        let back = SecretKey::from_json(&k.to_json()).unwrap();
        assert_eq!(back.public_key(), k.public_key());
        let secret = URL_SAFE_NO_PAD.encode([1u8; 32]);
        assert!(!format!("{k:?}").contains(&secret));
    }

    #[test]
    fn sign_refuses_claims_for_another_key() {
        let mut c = claims();
        c.key_id = "k9".into();
        assert!(matches!(key().sign(&c), Err(SignError::KeyMismatch { .. })));
    }
}
