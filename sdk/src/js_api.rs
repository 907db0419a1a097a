//! Every wasm-bindgen export of consult-sdk, for the npm package: sign in Node on a business
//! server; decode, verify, inspect and render QR codes anywhere. Errors are thrown as `Error`s with
//! a stable `code` property (the same codes as [`crate::VerifyError::code`]).

use wasm_bindgen::prelude::*;

use crate::encoding::RawToken;
use crate::model::{Claims, Kind};

fn js_error(code: &str, message: impl std::fmt::Display) -> JsValue {
    let error = js_sys::Error::new(&message.to_string());
    // Setting a property on a fresh Error object cannot fail.
    let _ = js_sys::Reflect::set(&error, &"code".into(), &code.into());
    error.into()
}

fn to_js<T: serde::Serialize>(value: &T) -> Result<JsValue, JsValue> {
    let serializer = serde_wasm_bindgen::Serializer::json_compatible();
    value.serialize(&serializer).map_err(|e| js_error("internal", e))
}

fn claims_from_js(value: JsValue) -> Result<Claims, JsValue> {
    serde_wasm_bindgen::from_value(value).map_err(|e| js_error("invalid_claims", e))
}

fn kind_from_str(kind: &str) -> Result<Kind, JsValue> {
    match kind {
        "button" => Ok(Kind::Button),
        "printed" => Ok(Kind::Printed),
        "handoff" => Ok(Kind::Handoff),
        other => Err(js_error("invalid_kind", format!("kind {other:?} is not button, printed or handoff"))),
    }
}

/// Decodes a token (text or digits form) WITHOUT verifying it, for display and debugging.
#[wasm_bindgen(js_name = decodeToken)]
pub fn decode_token(token: &str) -> Result<JsValue, JsValue> {
    let raw = if !token.is_empty() && token.bytes().all(|b| b.is_ascii_digit()) {
        RawToken::from_digits(token)
    } else {
        RawToken::from_text(token)
    };
    let raw = raw.map_err(|e| js_error("malformed", e))?;
    to_js(&raw.claims)
}

/// A channel's secret signing key.
#[cfg(feature = "sign")]
#[wasm_bindgen(js_name = SecretKey)]
pub struct JsSecretKey(crate::keys::SecretKey);

#[cfg(feature = "sign")]
#[wasm_bindgen(js_class = SecretKey)]
impl JsSecretKey {
    /// A fresh key from the platform's random source.
    pub fn generate(channel: &str, key_id: &str) -> Result<JsSecretKey, JsValue> {
        crate::keys::SecretKey::generate(channel, key_id).map(JsSecretKey).map_err(|e| js_error("invalid_key", e))
    }

    /// Reads a key file's JSON text (as written by `consult keygen`).
    #[wasm_bindgen(js_name = fromJson)]
    pub fn from_json(text: &str) -> Result<JsSecretKey, JsValue> {
        crate::keys::SecretKey::from_json(text).map(JsSecretKey).map_err(|e| js_error("invalid_key", e))
    }

    /// The key file's JSON text.
    #[wasm_bindgen(js_name = toJson)]
    pub fn to_json(&self) -> String {
        self.0.to_json()
    }

    /// The public key, unpadded base64url.
    #[wasm_bindgen(js_name = publicKey)]
    pub fn public_key(&self) -> String {
        self.0.public_key().to_base64url()
    }

    /// Signs claims (a plain object) into the text form.
    pub fn sign(&self, claims: JsValue) -> Result<String, JsValue> {
        let claims = claims_from_js(claims)?;
        self.0.sign(&claims).map_err(|e| js_error("invalid_claims", e))
    }

    /// Signs claims into the QR (digits) form.
    #[wasm_bindgen(js_name = signDigits)]
    pub fn sign_digits(&self, claims: JsValue) -> Result<String, JsValue> {
        let claims = claims_from_js(claims)?;
        self.0.sign_raw(&claims).map(|raw| raw.to_digits()).map_err(|e| js_error("invalid_claims", e))
    }
}

/// Live public keys, revoked serials and the clock leeway.
#[cfg(feature = "verify")]
#[wasm_bindgen(js_name = KeySet)]
pub struct JsKeySet(crate::keys::KeySet);

#[cfg(feature = "verify")]
#[wasm_bindgen(js_class = KeySet)]
impl JsKeySet {
    /// An empty key set with the default 60 s leeway.
    #[wasm_bindgen(constructor)]
    #[allow(clippy::new_without_default)]
    pub fn new() -> JsKeySet {
        JsKeySet(crate::keys::KeySet::new())
    }

    /// Adds a live key (`algorithm` is "ed25519").
    #[wasm_bindgen(js_name = addKey)]
    pub fn add_key(&mut self, channel: &str, key_id: &str, algorithm: &str, public_key: &str) -> Result<(), JsValue> {
        let key = crate::keys::PublicKey::parse(channel, key_id, algorithm, public_key).map_err(|e| js_error("invalid_key", e))?;
        self.0.add(key);
        Ok(())
    }

    /// Revokes a serial of a channel. Serials above 2^53 must be passed as BigInt.
    pub fn revoke(&mut self, channel: &str, serial: u64) {
        self.0.revoke(channel, serial);
    }

    /// Sets the clock leeway, seconds.
    #[wasm_bindgen(js_name = setLeeway)]
    pub fn set_leeway(&mut self, seconds: u32) {
        self.0.set_leeway(u64::from(seconds));
    }

    /// Verifies a token (text or digits form) for a channel and kind at `now` (Unix seconds) and
    /// returns its claims; throws an Error with a `code` on refusal.
    pub fn verify(&self, token: &str, channel: &str, kind: &str, now: f64) -> Result<JsValue, JsValue> {
        let kind = kind_from_str(kind)?;
        let now = if now.is_finite() && now >= 0.0 { now as u64 } else { 0 };
        let result = if !token.is_empty() && token.bytes().all(|b| b.is_ascii_digit()) {
            self.0.verify_digits(token, channel, kind, now)
        } else {
            self.0.verify(token, channel, kind, now)
        };
        let claims = result.map_err(|e| js_error(e.code(), e))?;
        to_js(&claims)
    }
}

/// Verifies a raw Ed25519 signature with the same strict rules tokens get (test vectors).
#[cfg(feature = "verify")]
#[wasm_bindgen(js_name = verifyEd25519)]
pub fn verify_ed25519(public_key: &[u8], message: &[u8], signature: &[u8]) -> bool {
    crate::keys::verify_ed25519_raw(public_key, message, signature)
}

/// Renders text (a launch URL) as an SVG QR code; `print` selects error correction Q, else M.
#[cfg(feature = "qr")]
#[wasm_bindgen(js_name = qrSvg)]
pub fn qr_svg(text: &str, print: bool) -> Result<String, JsValue> {
    let level = if print { crate::qr::QrLevel::Print } else { crate::qr::QrLevel::Screen };
    crate::qr::qr_svg(text, level).map_err(|e| js_error("qr_too_long", e))
}

/// The printed-code launch URL for a digits-form token.
#[wasm_bindgen(js_name = printedUrl)]
pub fn printed_url(base: &str, digits: &str) -> Result<String, JsValue> {
    let raw = RawToken::from_digits(digits).map_err(|e| js_error("malformed", e))?;
    crate::launch::LaunchUrl::printed(base, &raw).map(|u| u.to_url()).map_err(|e| js_error("invalid_url", e))
}
