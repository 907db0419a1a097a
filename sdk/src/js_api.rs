//! Every wasm-bindgen export of consult-sdk, for the npm package: sign in Node on a business
//! server; decode, verify, inspect and render QR codes anywhere.
//!
//! Errors are thrown as JS `Error`s named `ConsultError` with a stable `code` property (the codes of
//! [`crate::VerifyError::code`] and a few of this boundary's own) and one plain message. Serials
//! are 64-bit: claims carry them as a `bigint`; inputs take a `bigint` or a safe-integer `number`.

use wasm_bindgen::prelude::*;

use crate::encoding::RawToken;
use crate::model::{Claims, Kind};

fn js_error(code: &str, message: impl std::fmt::Display) -> JsValue {
    let error = js_sys::Error::new(&message.to_string());
    error.set_name("ConsultError");
    // Setting a property on a fresh Error object cannot fail.
    let _ = js_sys::Reflect::set(&error, &"code".into(), &code.into());
    error.into()
}

/// serde-wasm-bindgen's errors are JS `Error`s already: their message, not their `String()`
/// (which would put an "Error: " inside ours).
fn serde_message(e: serde_wasm_bindgen::Error) -> String {
    let value = JsValue::from(e);
    match value.dyn_ref::<js_sys::Error>() {
        Some(error) => error.message().into(),
        None => format!("{value:?}"),
    }
}

/// A JS value as an error message shows it: `1.5`, `"7"`, `12n`, `null`.
fn describe(value: &JsValue) -> String {
    if value.is_bigint() {
        let text = js_sys::BigInt::unchecked_from_js_ref(value).to_string(10).map(String::from).unwrap_or_default();
        return format!("{text}n");
    }
    if let Some(n) = value.as_f64() {
        return format!("{n}");
    }
    match js_sys::JSON::stringify(value) {
        Ok(text) if text.is_string() => String::from(text),
        _ => "a value of another type".into(),
    }
}

/// Claims as a plain object, `serial` as a `bigint` (a `number` cannot hold every u64).
fn claims_to_js(claims: &Claims) -> Result<JsValue, JsValue> {
    let serializer = serde_wasm_bindgen::Serializer::json_compatible();
    let value = serde::Serialize::serialize(&Claims { serial: 0, ..claims.clone() }, &serializer)
        .map_err(|e| js_error("malformed", format!("the token's claims do not fit JavaScript numbers: {}", serde_message(e))))?;
    js_sys::Reflect::set(&value, &"serial".into(), &JsValue::from(claims.serial))?;
    Ok(value)
}

/// A serial from JS: a `bigint` in 0..2^64, or a `number` only when it is exact
/// (`Number.isSafeInteger`, not negative). Anything else is refused with code `invalid_serial`.
fn serial_from_js(value: &JsValue) -> Result<u64, JsValue> {
    if value.is_bigint() {
        return u64::try_from(value.clone())
            .map_err(|_| js_error("invalid_serial", format!("serial {} is outside 0..2^64", describe(value))));
    }
    match value.as_f64() {
        Some(n) if js_sys::Number::is_safe_integer(value) && n >= 0.0 => Ok(n as u64),
        Some(n) if n.is_finite() && n >= 0.0 && n.fract() == 0.0 => Err(js_error(
            "invalid_serial",
            format!("serial {n} is above 2^53 and not exact as a number; pass it as a bigint, e.g. BigInt(\"…\") or 123n"),
        )),
        Some(n) => Err(js_error("invalid_serial", format!("serial {n} is not a whole number in 0..2^64"))),
        None => Err(js_error("invalid_serial", format!("serial must be a bigint or a whole number, not {}", describe(value)))),
    }
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
    claims_to_js(&raw.claims)
}

/// The Node/browser side of [`crate::ClaimsDraft`]: the same defaults as `consult sign`.
#[cfg(feature = "sign")]
struct ClaimsInput;

#[cfg(feature = "sign")]
impl ClaimsInput {
    /// Through JSON and serde_json rather than serde-wasm-bindgen: serde-wasm-bindgen reads only
    /// the fields it knows, so a misspelt `memebr` would be signed away without a word.
    fn from_js(value: &JsValue) -> Result<(crate::ClaimsDraft, Option<u64>), JsValue> {
        let invalid = |message: String| js_error("invalid_claims", format!("claims: {message}"));
        if !value.is_object() || js_sys::Array::is_array(value) {
            return Err(invalid("expected an object, e.g. { entry: { button: \"product-detail\" } }".into()));
        }
        let object = js_sys::Object::assign(&js_sys::Object::new(), value.unchecked_ref());
        let serial = js_sys::Reflect::get(&object, &"serial".into())?;
        js_sys::Reflect::delete_property(&object, &"serial".into())?;
        for field in ["issued_at", "expires_at"] {
            let at = js_sys::Reflect::get(&object, &field.into())?;
            let whole = js_sys::Number::is_safe_integer(&at) && at.as_f64().is_some_and(|n| n >= 0.0);
            if !(at.is_undefined() || at.is_null() || whole) {
                return Err(invalid(format!("{field} must be whole Unix seconds (a number), not {}", describe(&at))));
            }
        }
        let text = js_sys::JSON::stringify(&object)
            .map_err(|e| invalid(e.dyn_ref::<js_sys::Error>().map(|e| e.message().into()).unwrap_or_default()))?;
        let input: crate::ClaimsDraft = serde_json::from_str(&String::from(text)).map_err(|e| {
            let message = e.to_string();
            // serde_json places the error in the JSON text, which the caller never wrote.
            invalid(message.rsplit_once(" at line ").map_or(message.clone(), |(m, _)| m.to_string()))
        })?;
        let serial = if serial.is_undefined() || serial.is_null() { None } else { Some(serial_from_js(&serial)?) };
        Ok((input, serial))
    }

    fn complete(draft: crate::ClaimsDraft, serial: Option<u64>, key: &crate::SecretKey) -> Result<Claims, JsValue> {
        let now = (js_sys::Date::now() / 1000.0) as u64;
        crate::ClaimsDraft { serial, ..draft }.complete(key, None, now).map_err(|e| js_error("invalid_claims", format!("claims: {e}")))
    }
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

    /// Signs claims (a plain object; omitted fields get `consult sign`'s defaults) into the text form.
    pub fn sign(&self, claims: JsValue) -> Result<String, JsValue> {
        let (input, serial) = ClaimsInput::from_js(&claims)?;
        let claims = ClaimsInput::complete(input, serial, &self.0)?;
        self.0.sign(&claims).map_err(|e| js_error("invalid_claims", e))
    }

    /// Signs claims into the QR (digits) form.
    #[wasm_bindgen(js_name = signDigits)]
    pub fn sign_digits(&self, claims: JsValue) -> Result<String, JsValue> {
        let (input, serial) = ClaimsInput::from_js(&claims)?;
        let claims = ClaimsInput::complete(input, serial, &self.0)?;
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

    /// Revokes a serial of a channel: a `bigint`, or a `number` that is a safe integer.
    pub fn revoke(&mut self, channel: &str, serial: JsValue) -> Result<(), JsValue> {
        self.0.revoke(channel, serial_from_js(&serial)?);
        Ok(())
    }

    /// Sets the clock leeway, seconds.
    #[wasm_bindgen(js_name = setLeeway)]
    pub fn set_leeway(&mut self, seconds: u32) {
        self.0.set_leeway(u64::from(seconds));
    }

    /// Verifies a token (text or digits form) for a channel and kind at `now` (Unix seconds) and
    /// returns its claims; throws a `ConsultError` with a `code` on refusal.
    pub fn verify(&self, token: &str, channel: &str, kind: &str, now: f64) -> Result<JsValue, JsValue> {
        let kind = kind_from_str(kind)?;
        let now = if now.is_finite() && now >= 0.0 { now as u64 } else { 0 };
        let result = if !token.is_empty() && token.bytes().all(|b| b.is_ascii_digit()) {
            self.0.verify_digits(token, channel, kind, now)
        } else {
            self.0.verify(token, channel, kind, now)
        };
        let claims = result.map_err(|e| js_error(e.code(), e))?;
        claims_to_js(&claims)
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
