//! Standard Webhooks 1.0 signatures, as the gateway signs its deliveries and a receiver checks
//! them: `webhook-signature: v1,<base64 HMAC-SHA256(key, "{id}.{timestamp}.{body}")>`, one
//! signature per secret (space-separated) during a rotation; secrets are `whsec_<base64 key>`.
//!
//! ```
//! use consult_sdk::webhooks::{sign, verify};
//! let secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
//! let body = br#"{"type":"message.created"}"#;
//! let header = sign(&[secret], "msg_1", 1_700_000_000, body).unwrap();
//! verify(&[secret], "msg_1", "1700000000", &header, body, 1_700_000_010, 300).unwrap();
//! assert!(verify(&[secret], "msg_1", "1700000000", &header, b"{}", 1_700_000_010, 300).is_err());
//! ```

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use hmac::{Hmac, Mac};
use sha2::Sha256;

/// Why a secret or a signature was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum WebhookError {
    /// The secret is not `whsec_` followed by base64.
    #[error("a webhook secret is whsec_ followed by base64 (at least 16 bytes)")]
    BadSecret,
    /// The timestamp header is not Unix seconds.
    #[error("webhook-timestamp is not a number of seconds")]
    BadTimestamp,
    /// The timestamp is further from now than the tolerance (a replay or a skewed clock).
    #[error("webhook-timestamp is too far from now")]
    Stale,
    /// No `v1` signature matched.
    #[error("no signature matches")]
    NoMatch,
}

impl WebhookError {
    /// A stable code for the kind, the same the Node helper (`@consult/web/webhooks`) throws:
    /// `bad_secret`, `bad_header` (the timestamp), `stale_timestamp`, `bad_signature`.
    pub fn code(&self) -> &'static str {
        match self {
            WebhookError::BadSecret => "bad_secret",
            WebhookError::BadTimestamp => "bad_header",
            WebhookError::Stale => "stale_timestamp",
            WebhookError::NoMatch => "bad_signature",
        }
    }
}

fn key(secret: &str) -> Result<Vec<u8>, WebhookError> {
    let b64 = secret.strip_prefix("whsec_").unwrap_or(secret);
    let key = STANDARD.decode(b64).map_err(|_| WebhookError::BadSecret)?;
    if key.len() < 16 {
        return Err(WebhookError::BadSecret);
    }
    Ok(key)
}

/// Checks a secret's form.
///
/// # Errors
/// [`WebhookError::BadSecret`].
pub fn check_secret(secret: &str) -> Result<(), WebhookError> {
    if !secret.starts_with("whsec_") {
        return Err(WebhookError::BadSecret);
    }
    key(secret).map(|_| ())
}

fn signature(key: &[u8], id: &str, timestamp: &str, body: &[u8]) -> Vec<u8> {
    let mut mac = Hmac::<Sha256>::new_from_slice(key).expect("HMAC takes any key length");
    mac.update(id.as_bytes());
    mac.update(b".");
    mac.update(timestamp.as_bytes());
    mac.update(b".");
    mac.update(body);
    mac.finalize().into_bytes().to_vec()
}

/// The `webhook-signature` header value: `v1,<base64>` per secret, space-separated.
///
/// # Errors
/// [`WebhookError::BadSecret`].
pub fn sign(secrets: &[&str], id: &str, timestamp: u64, body: &[u8]) -> Result<String, WebhookError> {
    let ts = timestamp.to_string();
    let mut out = Vec::with_capacity(secrets.len());
    for s in secrets {
        out.push(format!("v1,{}", STANDARD.encode(signature(&key(s)?, id, &ts, body))));
    }
    Ok(out.join(" "))
}

/// Verifies a delivery: the timestamp within `tolerance_secs` of `now_secs`, and some `v1`
/// signature of the header made with one of `secrets` over exactly these bytes.
///
/// # Errors
/// [`WebhookError`] naming what failed.
pub fn verify(
    secrets: &[&str],
    id: &str,
    timestamp: &str,
    signature_header: &str,
    body: &[u8],
    now_secs: u64,
    tolerance_secs: u64,
) -> Result<(), WebhookError> {
    let ts: u64 = timestamp.trim().parse().map_err(|_| WebhookError::BadTimestamp)?;
    if ts.abs_diff(now_secs) > tolerance_secs {
        return Err(WebhookError::Stale);
    }
    for s in secrets {
        let mut mac = Hmac::<Sha256>::new_from_slice(&key(s)?).expect("HMAC takes any key length");
        mac.update(format!("{id}.{}.", timestamp.trim()).as_bytes());
        mac.update(body);
        for part in signature_header.split(' ') {
            let Some(sig) = part.strip_prefix("v1,") else { continue };
            let Ok(sig) = STANDARD.decode(sig) else { continue };
            // verify_slice compares in constant time.
            if mac.clone().verify_slice(&sig).is_ok() {
                return Ok(());
            }
        }
    }
    Err(WebhookError::NoMatch)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(serde::Deserialize)]
    struct Vector {
        secrets: Vec<String>,
        id: String,
        timestamp: String,
        body: String,
        signature: String,
        now: u64,
        valid: bool,
        /// The refusal's code, when not valid.
        #[serde(default)]
        error: Option<String>,
    }

    /// The shared vectors the Node package checks too.
    #[test]
    fn shared_vectors() {
        let text = include_str!("../tests/vectors/webhooks.json");
        let doc: serde_json::Value = serde_json::from_str(text).unwrap();
        let vectors: Vec<Vector> = serde_json::from_value(doc["vectors"].clone()).unwrap();
        assert!(vectors.len() >= 5);
        for v in vectors {
            let secrets: Vec<&str> = v.secrets.iter().map(String::as_str).collect();
            let got = verify(&secrets, &v.id, &v.timestamp, &v.signature, v.body.as_bytes(), v.now, 300);
            assert_eq!(got.is_ok(), v.valid, "{} {:?}", v.id, got);
            assert_eq!(got.err().map(|e| e.code().to_string()), v.error, "{}: the refusal's code", v.id);
            if v.valid && v.secrets.len() == 1 && !v.signature.contains(' ') {
                let ts: u64 = v.timestamp.parse().unwrap();
                assert_eq!(sign(&secrets, &v.id, ts, v.body.as_bytes()).unwrap(), v.signature);
            }
        }
    }
}
