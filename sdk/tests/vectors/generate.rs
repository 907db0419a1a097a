//! Builds the shared token vectors (see `sdk/examples/gen_vectors.rs`).

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use consult_sdk::{Claims, EntryPoint, Kind, Membership, SecretKey};
use serde_json::{Value, json};

/// The time every case is checked at.
pub const NOW: u64 = 1_763_700_000;

fn key(channel: &str, key_id: &str, seed: u8) -> SecretKey {
    SecretKey::from_seed(channel, key_id, [seed; 32]).expect("valid names")
}

fn button() -> Claims {
    Claims {
        kind: Kind::Button,
        channel: "demo-shop".into(),
        key_id: "k1".into(),
        issued_at: NOW - 30,
        expires_at: NOW + 570,
        serial: 1001,
        entry: EntryPoint {
            button: Some("product-detail".into()),
            page: Some("/products/42".into()),
            product: Some("SKU-42".into()),
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

fn printed() -> Claims {
    Claims {
        kind: Kind::Printed,
        channel: "demo-shop".into(),
        key_id: "k1".into(),
        issued_at: NOW - 86_400,
        expires_at: NOW + 365 * 86_400,
        serial: 17,
        entry: EntryPoint { button: Some("store-counter".into()), ..Default::default() },
        member: None,
    }
}

fn case(name: &str, token: String, kind: &str, expect: &str) -> Value {
    json!({ "name": name, "token": token, "channel": "demo-shop", "kind": kind, "expect": expect })
}

/// The vectors file's JSON text.
pub fn generate() -> String {
    let k1 = key("demo-shop", "k1", 1);
    let k2 = key("demo-shop", "k2", 2);
    let stranger = key("demo-shop", "k1", 9);
    let other_channel = key("other-shop", "k1", 3);

    let sign = |k: &SecretKey, c: &Claims| k.sign(c).expect("valid claims");
    let valid = sign(&k1, &button());
    let valid_bytes = URL_SAFE_NO_PAD.decode(&valid).unwrap();
    let b64 = |bytes: &[u8]| URL_SAFE_NO_PAD.encode(bytes);

    let mut cases = vec![];
    let mut ok = case("button token with membership", valid.clone(), "button", "valid");
    ok["claims"] = serde_json::to_value(button()).unwrap();
    cases.push(ok);
    let mut rotated = button();
    rotated.key_id = "k2".into();
    cases.push(case("signed with the second live key (rotation)", sign(&k2, &rotated), "button", "valid"));
    let printed_raw = k1.sign_raw(&printed()).unwrap();
    let mut p = case("printed code, digits form", printed_raw.to_digits(), "printed", "valid");
    p["claims"] = serde_json::to_value(printed()).unwrap();
    cases.push(p);
    cases.push(case("printed code, text form", printed_raw.to_text(), "printed", "valid"));

    let mut c = button();
    c.expires_at = NOW - 61;
    c.issued_at = NOW - 600;
    cases.push(case("expired beyond the 60 s leeway", sign(&k1, &c), "button", "expired"));
    let mut c = button();
    c.expires_at = NOW - 59;
    c.issued_at = NOW - 600;
    cases.push(case("expired within the leeway", sign(&k1, &c), "button", "valid"));
    let mut c = button();
    c.issued_at = NOW + 120;
    c.expires_at = NOW + 600;
    cases.push(case("issued in the future", sign(&k1, &c), "button", "not_yet_valid"));
    let mut c = button();
    c.channel = "other-shop".into();
    cases.push(case("for another channel", sign(&other_channel, &c), "button", "wrong_channel"));
    cases.push(case("printed code presented as a button", printed_raw.to_text(), "button", "wrong_kind"));
    cases.push(case("button token presented as a printed code", valid.clone(), "printed", "wrong_kind"));
    let mut c = button();
    c.serial = 666;
    cases.push(case("revoked serial", sign(&k1, &c), "button", "revoked"));
    let mut c = button();
    c.key_id = "k9".into();
    cases.push(case("unknown key id", sign(&key("demo-shop", "k9", 9), &c), "button", "unknown_key"));
    cases.push(case("signed by a stranger under a known key id", sign(&stranger, &button()), "button", "bad_signature"));

    let mut tampered = valid_bytes.clone();
    let member_pos = tampered.windows(4).position(|w| w == b"gold").unwrap();
    tampered[member_pos..member_pos + 4].copy_from_slice(b"vip!");
    cases.push(case("tier changed after signing", b64(&tampered), "button", "bad_signature"));
    let mut sig_flip = valid_bytes.clone();
    *sig_flip.last_mut().unwrap() ^= 0x01;
    cases.push(case("signature bit flipped", b64(&sig_flip), "button", "bad_signature"));
    cases.push(case("truncated", b64(&valid_bytes[..valid_bytes.len() - 1]), "button", "malformed"));
    let mut trailing = valid_bytes.clone();
    trailing.push(0);
    cases.push(case("trailing byte", b64(&trailing), "button", "malformed"));
    cases.push(case("padded base64", format!("{valid}=="), "button", "malformed"));
    cases.push(case("standard base64 alphabet", format!("+{}", &valid[1..]), "button", "malformed"));
    let mut chars = valid.clone().into_bytes();
    if valid_bytes.len() % 3 != 0 {
        let alphabet = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
        let last = chars.last_mut().unwrap();
        let i = alphabet.iter().position(|c| c == last).unwrap();
        *last = alphabet[i ^ 1];
        cases.push(case("non-canonical final base64 character", String::from_utf8(chars).unwrap(), "button", "malformed"));
    }
    cases.push(case("empty", String::new(), "button", "malformed"));
    cases.push(case("whitespace inside", format!("{} {}", &valid[..10], &valid[10..]), "button", "malformed"));
    cases.push(case("too large", "A".repeat(consult_sdk::encoding::MAX_TOKEN_TEXT + 4), "button", "too_large"));
    let mut version = valid_bytes.clone();
    version[0] = 0x21;
    cases.push(case("unknown format version", b64(&version), "button", "malformed"));
    let mut kind = valid_bytes.clone();
    kind[0] = 0x1f;
    cases.push(case("unknown kind", b64(&kind), "button", "malformed"));
    let mut utf8 = valid_bytes.clone();
    utf8[2] = 0xff;
    cases.push(case("key id not UTF-8", b64(&utf8), "button", "malformed"));
    let mut dup = vec![0x11, 2, b'k', b'1', 9];
    dup.extend_from_slice(b"demo-shop");
    dup.extend_from_slice(&[1, 1, 1, 2, 0x01, 1, b'a', 0x01, 1, b'b']);
    dup.extend_from_slice(&[0; 64]);
    cases.push(case("duplicate field", b64(&dup), "button", "malformed"));
    let mut overlong = vec![0x11, 2, b'k', b'1', 9];
    overlong.extend_from_slice(b"demo-shop");
    overlong.extend_from_slice(&[0x81, 0x00, 1, 1, 0]);
    overlong.extend_from_slice(&[0; 64]);
    cases.push(case("overlong varint", b64(&overlong), "button", "malformed"));
    let mut digits = printed_raw.to_digits();
    digits.push('0');
    cases.push(case("digits of impossible length", digits, "printed", "malformed"));
    let digits = printed_raw.to_digits();
    cases.push(case("digit chunk out of range", format!("99999999999999999{}", &digits[17..]), "printed", "malformed"));

    let keys: Vec<Value> = [&k1, &k2, &other_channel]
        .iter()
        .map(|k| {
            json!({ "channel": k.channel, "key_id": k.key_id, "algorithm": "ed25519", "public_key": k.public_key().to_base64url() })
        })
        .collect();
    let doc = json!({
        "description": "Consult token vectors: verify each token for `channel` and `kind` at `now` with `keys`, `revoked` and a 60 s leeway; `expect` is `valid` or the error code.",
        "now": NOW,
        "leeway": 60,
        "keys": keys,
        "revoked": [{ "channel": "demo-shop", "serial": 666 }],
        "cases": cases,
    });
    let mut text = serde_json::to_string_pretty(&doc).unwrap();
    text.push('\n');
    text
}
