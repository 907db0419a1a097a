//! The compact, versioned binary form of a token, its URL-safe text form and its QR (digits) form.
//!
//! Layout, version 1 (all strings are a length byte then UTF-8):
//!
//! ```text
//! header   u8      version << 4 | kind
//! key_id   str
//! channel  str
//! issued   varint  Unix seconds
//! ttl      varint  expires_at - issued_at
//! serial   varint
//! count    u8      number of fields that follow, tags strictly increasing
//! fields   (tag u8, value)*
//! sig      64 bytes Ed25519 over DOMAIN || everything above
//! ```

use std::collections::BTreeMap;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

use crate::model::{Claims, ClaimsError, EntryPoint, Kind, Membership};

/// Current binary format version.
pub const VERSION: u8 = 1;
/// Signature length in bytes.
pub const SIGNATURE_LEN: usize = 64;
/// Largest binary token accepted.
pub const MAX_TOKEN_BYTES: usize = 2048;
/// Largest text token accepted (base64url of [`MAX_TOKEN_BYTES`]).
pub const MAX_TOKEN_TEXT: usize = MAX_TOKEN_BYTES.div_ceil(3) * 4;
/// Domain separation: a Consult signature never verifies as anything else's, and vice versa.
pub const SIGNING_DOMAIN: &[u8] = b"consult-token-v1\0";

const TAG_BUTTON: u8 = 0x01;
const TAG_PAGE: u8 = 0x02;
const TAG_CAMPAIGN: u8 = 0x03;
const TAG_PRODUCT: u8 = 0x04;
const TAG_ORDER: u8 = 0x05;
const TAG_TAGS: u8 = 0x06;
const TAG_MEMBER_ID: u8 = 0x10;
const TAG_MEMBER_TIER: u8 = 0x11;
const TAG_MEMBER_NAME: u8 = 0x12;
const TAG_MEMBER_ATTRS: u8 = 0x13;

/// Why bytes or text are not a well-formed token.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DecodeError {
    /// Input larger than any token may be.
    #[error("token is {len} bytes long; at most {max} are accepted")]
    TooLarge {
        /// Input length.
        len: usize,
        /// The bound.
        max: usize,
    },
    /// Not canonical unpadded base64url.
    #[error("token is not canonical base64url without padding (check it was not cut or re-encoded)")]
    Base64,
    /// Not a canonical digit string.
    #[error("QR code text is not a canonical digit string")]
    Digits,
    /// Input ends before the token does.
    #[error("token is truncated")]
    Truncated,
    /// Unknown format version.
    #[error("token format version {0} is not supported; this sdk reads version {VERSION}")]
    UnknownVersion(u8),
    /// Unknown kind code.
    #[error("token kind {0} is unknown")]
    UnknownKind(u8),
    /// Unknown field tag.
    #[error("token field tag {0:#04x} is unknown")]
    UnknownField(u8),
    /// Field tags repeated or out of order.
    #[error("token field tag {0:#04x} is repeated or out of order")]
    FieldOrder(u8),
    /// A varint that is overlong or overflows.
    #[error("token holds a non-canonical number")]
    Varint,
    /// A string that is not UTF-8.
    #[error("token holds text that is not UTF-8")]
    Utf8,
    /// Bytes after the end of the token.
    #[error("token has {0} trailing bytes")]
    TrailingBytes(usize),
    /// Membership fields without a member id.
    #[error("token has membership fields but no member id")]
    MemberWithoutId,
    /// Attribute keys repeated or out of order.
    #[error("token membership attributes are repeated or out of order")]
    AttrOrder,
    /// The decoded claims break a bound or a rule of their kind.
    #[error("token claims are invalid: {0}")]
    Claims(#[from] ClaimsError),
}

/// A decoded token: its claims, the exact signed bytes, and the signature.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RawToken {
    /// The claims, bounds and kind rules already checked.
    pub claims: Claims,
    /// The bytes the signature covers (without the domain prefix).
    pub body: Vec<u8>,
    /// The signature.
    pub signature: [u8; SIGNATURE_LEN],
}

impl RawToken {
    /// The message the signature is computed over: the domain, then the body.
    pub fn signed_message(&self) -> Vec<u8> {
        signed_message(&self.body)
    }

    /// The binary form.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = self.body.clone();
        out.extend_from_slice(&self.signature);
        out
    }

    /// The URL-safe text form (unpadded base64url).
    pub fn to_text(&self) -> String {
        URL_SAFE_NO_PAD.encode(self.to_bytes())
    }

    /// The QR form: decimal digits, which QR numeric mode stores at 3.33 bits a character.
    pub fn to_digits(&self) -> String {
        bytes_to_digits(&self.to_bytes())
    }

    /// Parses the binary form.
    ///
    /// # Errors
    /// [`DecodeError`] for anything but one canonical token.
    pub fn from_bytes(bytes: &[u8]) -> Result<RawToken, DecodeError> {
        if bytes.len() > MAX_TOKEN_BYTES {
            return Err(DecodeError::TooLarge { len: bytes.len(), max: MAX_TOKEN_BYTES });
        }
        let mut reader = Reader { bytes, pos: 0 };
        let claims = read_claims(&mut reader)?;
        let body_len = reader.pos;
        let sig = reader.take(SIGNATURE_LEN)?;
        let signature: [u8; SIGNATURE_LEN] = sig.try_into().map_err(|_| DecodeError::Truncated)?;
        if reader.pos != bytes.len() {
            return Err(DecodeError::TrailingBytes(bytes.len() - reader.pos));
        }
        Ok(RawToken { claims, body: bytes[..body_len].to_vec(), signature })
    }

    /// Parses the text form.
    ///
    /// # Errors
    /// [`DecodeError`] for oversize input, non-canonical base64url or a malformed token.
    pub fn from_text(text: &str) -> Result<RawToken, DecodeError> {
        if text.len() > MAX_TOKEN_TEXT {
            return Err(DecodeError::TooLarge { len: text.len(), max: MAX_TOKEN_TEXT });
        }
        let bytes = URL_SAFE_NO_PAD.decode(text).map_err(|_| DecodeError::Base64)?;
        RawToken::from_bytes(&bytes)
    }

    /// Parses the QR (digits) form.
    ///
    /// # Errors
    /// [`DecodeError`] for oversize input, non-canonical digits or a malformed token.
    pub fn from_digits(text: &str) -> Result<RawToken, DecodeError> {
        let max = MAX_TOKEN_BYTES / CHUNK_BYTES * CHUNK_DIGITS + CHUNK_DIGITS;
        if text.len() > max {
            return Err(DecodeError::TooLarge { len: text.len(), max });
        }
        RawToken::from_bytes(&digits_to_bytes(text)?)
    }
}

/// Encodes the unsigned part of a token. Claims are validated first.
///
/// # Errors
/// [`ClaimsError`] when a claim breaks a bound or a rule of its kind.
pub fn encode_body(claims: &Claims) -> Result<Vec<u8>, ClaimsError> {
    claims.validate()?;
    let mut out = Vec::with_capacity(96);
    out.push(VERSION << 4 | claims.kind.code());
    put_str(&mut out, &claims.key_id);
    put_str(&mut out, &claims.channel);
    put_varint(&mut out, claims.issued_at);
    put_varint(&mut out, claims.expires_at - claims.issued_at);
    put_varint(&mut out, claims.serial);

    let mut fields: Vec<(u8, Vec<u8>)> = Vec::new();
    let mut text = |tag: u8, value: &Option<String>| {
        if let Some(v) = value {
            let mut buf = Vec::new();
            put_str(&mut buf, v);
            fields.push((tag, buf));
        }
    };
    let entry = &claims.entry;
    text(TAG_BUTTON, &entry.button);
    text(TAG_PAGE, &entry.page);
    text(TAG_CAMPAIGN, &entry.campaign);
    text(TAG_PRODUCT, &entry.product);
    text(TAG_ORDER, &entry.order);
    if !entry.tags.is_empty() {
        let mut buf = vec![entry.tags.len() as u8];
        for tag in &entry.tags {
            put_str(&mut buf, tag);
        }
        fields.push((TAG_TAGS, buf));
    }
    if let Some(member) = &claims.member {
        let mut buf = Vec::new();
        put_str(&mut buf, &member.id);
        fields.push((TAG_MEMBER_ID, buf));
        for (tag, value) in [(TAG_MEMBER_TIER, &member.tier), (TAG_MEMBER_NAME, &member.name)] {
            if let Some(v) = value {
                let mut buf = Vec::new();
                put_str(&mut buf, v);
                fields.push((tag, buf));
            }
        }
        if !member.attrs.is_empty() {
            let mut buf = vec![member.attrs.len() as u8];
            for (k, v) in &member.attrs {
                put_str(&mut buf, k);
                put_str(&mut buf, v);
            }
            fields.push((TAG_MEMBER_ATTRS, buf));
        }
    }
    out.push(fields.len() as u8);
    for (tag, value) in fields {
        out.push(tag);
        out.extend_from_slice(&value);
    }
    Ok(out)
}

/// The message a signature covers.
pub fn signed_message(body: &[u8]) -> Vec<u8> {
    let mut message = Vec::with_capacity(SIGNING_DOMAIN.len() + body.len());
    message.extend_from_slice(SIGNING_DOMAIN);
    message.extend_from_slice(body);
    message
}

fn read_claims(r: &mut Reader<'_>) -> Result<Claims, DecodeError> {
    let header = r.u8()?;
    let version = header >> 4;
    if version != VERSION {
        return Err(DecodeError::UnknownVersion(version));
    }
    let kind = Kind::from_code(header & 0x0f).ok_or(DecodeError::UnknownKind(header & 0x0f))?;
    let key_id = r.str()?;
    let channel = r.str()?;
    let issued_at = r.varint()?;
    let ttl = r.varint()?;
    let expires_at = issued_at.checked_add(ttl).ok_or(DecodeError::Varint)?;
    let serial = r.varint()?;
    let count = r.u8()?;
    let mut entry = EntryPoint::default();
    let mut member_id = None;
    let mut tier = None;
    let mut name = None;
    let mut attrs = BTreeMap::new();
    let mut last_tag = 0u8;
    for _ in 0..count {
        let tag = r.u8()?;
        if tag <= last_tag {
            return Err(DecodeError::FieldOrder(tag));
        }
        last_tag = tag;
        match tag {
            TAG_BUTTON => entry.button = Some(r.str()?),
            TAG_PAGE => entry.page = Some(r.str()?),
            TAG_CAMPAIGN => entry.campaign = Some(r.str()?),
            TAG_PRODUCT => entry.product = Some(r.str()?),
            TAG_ORDER => entry.order = Some(r.str()?),
            TAG_TAGS => {
                let n = r.u8()?;
                if n == 0 {
                    return Err(DecodeError::FieldOrder(tag));
                }
                for _ in 0..n {
                    entry.tags.push(r.str()?);
                }
            }
            TAG_MEMBER_ID => member_id = Some(r.str()?),
            TAG_MEMBER_TIER => tier = Some(r.str()?),
            TAG_MEMBER_NAME => name = Some(r.str()?),
            TAG_MEMBER_ATTRS => {
                let n = r.u8()?;
                if n == 0 {
                    return Err(DecodeError::FieldOrder(tag));
                }
                let mut last: Option<String> = None;
                for _ in 0..n {
                    let k = r.str()?;
                    let v = r.str()?;
                    if last.as_ref().is_some_and(|l| *l >= k) {
                        return Err(DecodeError::AttrOrder);
                    }
                    last = Some(k.clone());
                    attrs.insert(k, v);
                }
            }
            other => return Err(DecodeError::UnknownField(other)),
        }
    }
    let member = match member_id {
        Some(id) => Some(Membership { id, tier, name, attrs }),
        None if tier.is_some() || name.is_some() || !attrs.is_empty() => {
            return Err(DecodeError::MemberWithoutId);
        }
        None => None,
    };
    let claims = Claims { kind, channel, key_id, issued_at, expires_at, serial, entry, member };
    claims.validate()?;
    Ok(claims)
}

struct Reader<'a> {
    bytes: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], DecodeError> {
        let end = self.pos.checked_add(n).ok_or(DecodeError::Truncated)?;
        let slice = self.bytes.get(self.pos..end).ok_or(DecodeError::Truncated)?;
        self.pos = end;
        Ok(slice)
    }

    fn u8(&mut self) -> Result<u8, DecodeError> {
        Ok(self.take(1)?[0])
    }

    fn str(&mut self) -> Result<String, DecodeError> {
        let len = self.u8()? as usize;
        let bytes = self.take(len)?;
        String::from_utf8(bytes.to_vec()).map_err(|_| DecodeError::Utf8)
    }

    fn varint(&mut self) -> Result<u64, DecodeError> {
        let mut value: u64 = 0;
        for i in 0..10 {
            let byte = self.u8()?;
            let bits = u64::from(byte & 0x7f);
            if i == 9 && byte > 1 {
                return Err(DecodeError::Varint);
            }
            value |= bits << (7 * i);
            if byte & 0x80 == 0 {
                // Canonical: no zero continuation byte at the end (except the value 0 itself).
                if byte == 0 && i > 0 {
                    return Err(DecodeError::Varint);
                }
                return Ok(value);
            }
        }
        Err(DecodeError::Varint)
    }
}

fn put_str(out: &mut Vec<u8>, s: &str) {
    // Lengths are bounded by validation, far below 256.
    out.push(s.len() as u8);
    out.extend_from_slice(s.as_bytes());
}

fn put_varint(out: &mut Vec<u8>, mut v: u64) {
    loop {
        let byte = (v & 0x7f) as u8;
        v >>= 7;
        if v == 0 {
            out.push(byte);
            return;
        }
        out.push(byte | 0x80);
    }
}

/// Seven bytes fit in seventeen digits (2^56 < 10^17): 99 % of numeric mode's density.
const CHUNK_BYTES: usize = 7;
const CHUNK_DIGITS: usize = 17;

/// Digits needed for a final chunk of `n` bytes: the fewest that can hold 2^(8n) - 1.
fn digits_for(n: usize) -> usize {
    const TABLE: [usize; CHUNK_BYTES + 1] = [0, 3, 5, 8, 10, 13, 15, 17];
    TABLE[n]
}

fn bytes_to_digits(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len() * CHUNK_DIGITS / CHUNK_BYTES + CHUNK_DIGITS);
    for chunk in bytes.chunks(CHUNK_BYTES) {
        let value = chunk.iter().fold(0u64, |acc, &b| acc << 8 | u64::from(b));
        let width = digits_for(chunk.len());
        out.push_str(&format!("{value:0width$}"));
    }
    out
}

fn digits_to_bytes(text: &str) -> Result<Vec<u8>, DecodeError> {
    if !text.bytes().all(|b| b.is_ascii_digit()) {
        return Err(DecodeError::Digits);
    }
    let full = text.len() / CHUNK_DIGITS;
    let rest = text.len() % CHUNK_DIGITS;
    let last_bytes = match (0..CHUNK_BYTES).find(|&n| digits_for(n) == rest) {
        Some(n) => n,
        None => return Err(DecodeError::Digits),
    };
    let mut out = Vec::with_capacity(full * CHUNK_BYTES + last_bytes);
    let mut push = |digits: &str, n: usize| -> Result<(), DecodeError> {
        let value: u64 = digits.parse().map_err(|_| DecodeError::Digits)?;
        if n < 8 && value >> (8 * n) != 0 {
            return Err(DecodeError::Digits);
        }
        out.extend_from_slice(&value.to_be_bytes()[8 - n..]);
        Ok(())
    };
    for i in 0..full {
        push(&text[i * CHUNK_DIGITS..(i + 1) * CHUNK_DIGITS], CHUNK_BYTES)?;
    }
    if rest > 0 {
        push(&text[full * CHUNK_DIGITS..], last_bytes)?;
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn claims() -> Claims {
        Claims {
            kind: Kind::Button,
            channel: "demo-shop".into(),
            key_id: "k1".into(),
            issued_at: 1_763_700_000,
            expires_at: 1_763_700_600,
            serial: 0xdead_beef,
            entry: EntryPoint {
                button: Some("product-detail".into()),
                page: Some("/products/42".into()),
                product: Some("SKU-42".into()),
                tags: vec!["spring".into(), "sale".into()],
                ..Default::default()
            },
            member: Some(Membership {
                id: "member-1001".into(),
                tier: Some("gold".into()),
                name: Some("김민지".into()),
                attrs: [("plan".to_string(), "annual".to_string())].into(),
            }),
        }
    }

    fn token(c: &Claims) -> RawToken {
        RawToken { claims: c.clone(), body: encode_body(c).unwrap(), signature: [7; 64] }
    }

    #[test]
    fn text_and_digit_forms_round_trip() {
        let t = token(&claims());
        assert_eq!(RawToken::from_text(&t.to_text()).unwrap(), t);
        assert_eq!(RawToken::from_digits(&t.to_digits()).unwrap(), t);
    }

    #[test]
    fn refuses_unknown_version_and_trailing_bytes() {
        let t = token(&claims());
        let mut bytes = t.to_bytes();
        bytes[0] = 2 << 4 | 1;
        assert_eq!(RawToken::from_bytes(&bytes), Err(DecodeError::UnknownVersion(2)));
        let mut bytes = t.to_bytes();
        bytes.push(0);
        assert_eq!(RawToken::from_bytes(&bytes), Err(DecodeError::TrailingBytes(1)));
    }

    #[test]
    fn refuses_non_canonical_base64_and_digits() {
        let t = token(&claims());
        let text = t.to_text();
        assert_eq!(RawToken::from_text(&format!("{text}=")), Err(DecodeError::Base64));
        assert_eq!(RawToken::from_text(&format!("+{}", &text[1..])), Err(DecodeError::Base64));
        // A final character whose unused low bits are set is another spelling of the same bytes.
        let bytes = t.to_bytes();
        if !bytes.len().is_multiple_of(3) {
            let mut chars: Vec<u8> = text.clone().into_bytes();
            let last = chars.last_mut().unwrap();
            let alphabet = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
            let idx = alphabet.iter().position(|c| c == last).unwrap();
            *last = alphabet[idx ^ 1];
            assert_eq!(RawToken::from_text(std::str::from_utf8(&chars).unwrap()), Err(DecodeError::Base64));
        }
        let digits = t.to_digits();
        assert_eq!(RawToken::from_digits(&format!("{digits}1")), Err(DecodeError::Digits));
        // 99999999999999999 > 2^56 - 1: a chunk out of range.
        let bad = format!("99999999999999999{}", &digits[17..]);
        assert_eq!(RawToken::from_digits(&bad), Err(DecodeError::Digits));
    }

    #[test]
    fn refuses_bad_utf8_duplicates_and_overlong_varints() {
        let c = claims();
        let body = encode_body(&c).unwrap();
        // Flip the first byte of the key id into a lone continuation byte.
        let mut bad = body.clone();
        bad[2] = 0x80;
        bad.extend_from_slice(&[0; 64]);
        assert_eq!(RawToken::from_bytes(&bad), Err(DecodeError::Utf8));

        // Build a body by hand with a repeated field tag.
        let mut dup = vec![0x11, 1, b'k', 1, b'c', 1, 1, 1, 2, TAG_BUTTON, 1, b'a', TAG_BUTTON, 1, b'b'];
        dup.extend_from_slice(&[0; 64]);
        assert_eq!(RawToken::from_bytes(&dup), Err(DecodeError::FieldOrder(TAG_BUTTON)));

        // Overlong varint: 1 spelled as 0x81 0x00.
        let mut overlong = vec![0x11, 1, b'k', 1, b'c', 0x81, 0x00, 1, 1, 0];
        overlong.extend_from_slice(&[0; 64]);
        assert_eq!(RawToken::from_bytes(&overlong), Err(DecodeError::Varint));
    }

    #[test]
    fn refuses_oversize_input() {
        let long = "A".repeat(MAX_TOKEN_TEXT + 1);
        assert!(matches!(RawToken::from_text(&long), Err(DecodeError::TooLarge { .. })));
    }

    fn arb_text() -> impl Strategy<Value = String> {
        "[a-zA-Z0-9가-힣 /_.-]{1,40}"
    }

    prop_compose! {
        fn arb_claims()(
            kind_member in prop_oneof![Just((Kind::Button, false)), Just((Kind::Button, true)), Just((Kind::Printed, false))],
            channel in "[a-z0-9-]{1,20}",
            key_id in "[A-Za-z0-9._-]{1,12}",
            issued_at in 0u64..4_000_000_000,
            ttl in 1u64..3600,
            serial in any::<u64>(),
            button in arb_text(),
            page in proptest::option::of(arb_text()),
            product in proptest::option::of(arb_text()),
            tags in proptest::collection::vec(arb_text(), 0..4),
            member_id in arb_text(),
            tier in proptest::option::of(arb_text()),
            attrs in proptest::collection::btree_map("[a-z]{1,8}", arb_text(), 0..4),
        ) -> Claims {
            let (kind, with_member) = kind_member;
            Claims {
                kind, channel, key_id, issued_at, expires_at: issued_at + ttl, serial,
                entry: EntryPoint { button: Some(button), page, product, tags, ..Default::default() },
                member: with_member.then_some(Membership { id: member_id, tier, name: None, attrs }),
            }
        }
    }

    proptest! {
        #[test]
        fn encode_decode_round_trips(c in arb_claims(), sig in any::<[u8; 32]>()) {
            let mut signature = [0u8; 64];
            signature[..32].copy_from_slice(&sig);
            let t = RawToken { claims: c.clone(), body: encode_body(&c).unwrap(), signature };
            prop_assert_eq!(RawToken::from_bytes(&t.to_bytes()).unwrap().claims, c.clone());
            prop_assert_eq!(RawToken::from_text(&t.to_text()).unwrap(), t.clone());
            prop_assert_eq!(RawToken::from_digits(&t.to_digits()).unwrap(), t);
        }

        #[test]
        fn arbitrary_input_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..400), text in ".{0,300}") {
            let _ = RawToken::from_bytes(&bytes);
            let _ = RawToken::from_text(&text);
            let _ = RawToken::from_digits(&text);
        }

        #[test]
        fn digits_round_trip(bytes in proptest::collection::vec(any::<u8>(), 0..200)) {
            prop_assert_eq!(digits_to_bytes(&bytes_to_digits(&bytes)).unwrap(), bytes);
        }
    }
}
