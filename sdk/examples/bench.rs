//! Run with `cargo xtask bench` (or `cargo run --profile native -p consult-sdk --features sign,qr --example bench`).
//!
//! Prints token sizes and QR versions beside the same claims as an EdDSA JWT, and sign/verify
//! throughput beside the `jsonwebtoken` crate, measured in the same run. Medians of 7 rounds.

use std::time::Instant;

use consult_sdk::{Claims, EntryPoint, KeySet, Kind, LaunchUrl, Membership, QrLevel, QrMatrix, SecretKey};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde_json::json;

const NOW: u64 = 1_763_700_000;
const BASE: &str = "https://consult.example.com";

fn button_claims() -> Claims {
    Claims {
        kind: Kind::Button,
        channel: "demo-shop".into(),
        key_id: "k1".into(),
        issued_at: NOW,
        expires_at: NOW + 600,
        serial: 0x5eed_1234_abcd_0001,
        entry: EntryPoint {
            button: Some("product-detail".into()),
            page: Some("/products/42".into()),
            product: Some("SKU-42".into()),
            campaign: Some("spring-sale".into()),
            ..Default::default()
        },
        member: Some(Membership {
            id: "member-1001".into(),
            tier: Some("gold".into()),
            name: Some("Kim Minji".into()),
            attrs: Default::default(),
        }),
    }
}

fn printed_claims() -> Claims {
    Claims {
        kind: Kind::Printed,
        channel: "demo-shop".into(),
        key_id: "k1".into(),
        issued_at: NOW,
        expires_at: NOW + 365 * 86_400,
        serial: 17,
        entry: EntryPoint { button: Some("store-counter".into()), ..Default::default() },
        member: None,
    }
}

/// The same claims as a JWT would carry them (registered names where they exist).
fn jwt_claims(c: &Claims) -> serde_json::Value {
    let mut v = json!({
        "aud": c.channel, "iat": c.issued_at, "exp": c.expires_at, "jti": c.serial.to_string(),
        "typ": c.kind.as_str(), "entry": c.entry,
    });
    if let Some(m) = &c.member {
        v["member"] = serde_json::to_value(m).unwrap();
    }
    v
}

fn pkcs8_der(seed: [u8; 32]) -> Vec<u8> {
    // RFC 8410 PKCS#8 v1 wrapper for an Ed25519 seed.
    let mut der = vec![0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x04, 0x22, 0x04, 0x20];
    der.extend_from_slice(&seed);
    der
}

fn median_rate(mut f: impl FnMut(), iters: u32) -> f64 {
    let mut rates: Vec<f64> = (0..7)
        .map(|_| {
            let start = Instant::now();
            for _ in 0..iters {
                f();
            }
            f64::from(iters) / start.elapsed().as_secs_f64()
        })
        .collect();
    rates.sort_by(f64::total_cmp);
    rates[3]
}

fn qr_version(text: &str, level: QrLevel) -> u8 {
    QrMatrix::new(text, level).map(|m| m.version).unwrap_or(99)
}

fn main() {
    let seed = [7u8; 32];
    let key = SecretKey::from_seed("demo-shop", "k1", seed).unwrap();
    let mut keys = KeySet::new();
    keys.add(key.public_key());

    let enc = EncodingKey::from_ed_der(&pkcs8_der(seed));
    let dec = DecodingKey::from_ed_der(&base64_to_bytes(&key.public_key().to_base64url()));
    let mut header = Header::new(Algorithm::EdDSA);
    header.kid = Some("k1".into());
    let mut validation = Validation::new(Algorithm::EdDSA);
    validation.set_audience(&["demo-shop"]);
    validation.leeway = 60;
    validation.validate_exp = false; // fixed clock in this bench; expiry logic is not what is timed

    let button = button_claims();
    let ours = key.sign(&button).unwrap();
    let jwt = jsonwebtoken::encode(&header, &jwt_claims(&button), &enc).unwrap();
    let printed = key.sign_raw(&printed_claims()).unwrap();
    let printed_url = LaunchUrl::printed(BASE, &printed).unwrap().to_url();
    let printed_jwt = jsonwebtoken::encode(&header, &jwt_claims(&printed_claims()), &enc).unwrap();
    let printed_jwt_url = format!("{BASE}/p/{printed_jwt}");
    let button_url = |t: &str| format!("{BASE}/l/demo-shop?token={t}");

    println!("## Token size and QR version (typical button: entry point + membership; printed: store-counter)\n");
    println!("| what | Consult | EdDSA JWT (jsonwebtoken) | ratio |");
    println!("|---|---:|---:|---:|");
    println!(
        "| button token, characters | {} | {} | {:.0} % |",
        ours.len(),
        jwt.len(),
        100.0 * ours.len() as f64 / jwt.len() as f64
    );
    println!(
        "| button launch URL, QR version (M, screen) | v{} | v{} | |",
        qr_version(&button_url(&ours), QrLevel::Screen),
        qr_version(&button_url(&jwt), QrLevel::Screen)
    );
    println!(
        "| printed code URL, characters | {} | {} | {:.0} % |",
        printed_url.len(),
        printed_jwt_url.len(),
        100.0 * printed_url.len() as f64 / printed_jwt_url.len() as f64
    );
    println!(
        "| printed code URL, QR version (Q, print) | v{} | v{} | |",
        qr_version(&printed_url, QrLevel::Print),
        qr_version(&printed_jwt_url, QrLevel::Print)
    );
    println!(
        "| printed code URL, QR version (M) | v{} | v{} | |",
        qr_version(&printed_url, QrLevel::Screen),
        qr_version(&printed_jwt_url, QrLevel::Screen)
    );

    let verify_ours = median_rate(|| assert!(keys.verify(&ours, "demo-shop", Kind::Button, NOW).is_ok()), 3000);
    let verify_jwt = median_rate(|| assert!(jsonwebtoken::decode::<serde_json::Value>(&jwt, &dec, &validation).is_ok()), 3000);
    let sign_ours = median_rate(|| assert!(!key.sign(&button).unwrap().is_empty()), 3000);
    let sign_jwt = median_rate(|| assert!(!jsonwebtoken::encode(&header, &jwt_claims(&button), &enc).unwrap().is_empty()), 3000);
    let qr_ours = median_rate(|| assert!(QrMatrix::new(&printed_url, QrLevel::Print).unwrap().to_svg().len() > 100), 300);

    println!("\n## Native throughput (median of 7 rounds, this machine, same run)\n");
    println!("| operation | Consult | jsonwebtoken (EdDSA) | ratio |");
    println!("|---|---:|---:|---:|");
    println!("| verify / s | {verify_ours:.0} | {verify_jwt:.0} | {:.2}× |", verify_ours / verify_jwt);
    println!("| sign / s | {sign_ours:.0} | {sign_jwt:.0} | {:.2}× |", sign_ours / sign_jwt);
    println!("| printed QR → SVG / s | {qr_ours:.0} | – | |");
}

fn base64_to_bytes(s: &str) -> Vec<u8> {
    use base64::Engine as _;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(s).unwrap()
}
