//! Shared vectors, checked natively (`cargo test`) and in headless Chromium (wasm-bindgen-test):
//! Consult token vectors and Wycheproof's Ed25519 vectors.
#![cfg(feature = "verify")]

use consult_sdk::{KeySet, Kind, PublicKey};
use serde_json::Value;

#[cfg(target_arch = "wasm32")]
use wasm_bindgen_test::wasm_bindgen_test as test;
#[cfg(target_arch = "wasm32")]
wasm_bindgen_test::wasm_bindgen_test_configure!(run_in_browser);

const TOKENS: &str = include_str!("vectors/tokens.json");
const WYCHEPROOF: &str = include_str!("vectors/wycheproof-ed25519_test.json");

fn kind(name: &str) -> Kind {
    match name {
        "button" => Kind::Button,
        "printed" => Kind::Printed,
        "handoff" => Kind::Handoff,
        other => panic!("unknown kind {other}"),
    }
}

#[test]
fn token_vectors_give_their_expected_results() {
    let doc: Value = serde_json::from_str(TOKENS).unwrap();
    let mut keys = KeySet::new();
    for k in doc["keys"].as_array().unwrap() {
        let s = |f: &str| k[f].as_str().unwrap();
        keys.add(PublicKey::parse(s("channel"), s("key_id"), s("algorithm"), s("public_key")).unwrap());
    }
    for r in doc["revoked"].as_array().unwrap() {
        keys.revoke(r["channel"].as_str().unwrap(), r["serial"].as_u64().unwrap());
    }
    keys.set_leeway(doc["leeway"].as_u64().unwrap());
    let now = doc["now"].as_u64().unwrap();
    let cases = doc["cases"].as_array().unwrap();
    assert!(cases.len() >= 25, "the vectors file lost cases");
    for case in cases {
        let name = case["name"].as_str().unwrap();
        let token = case["token"].as_str().unwrap();
        let channel = case["channel"].as_str().unwrap();
        let k = kind(case["kind"].as_str().unwrap());
        let is_digits = !token.is_empty() && token.bytes().all(|b| b.is_ascii_digit());
        let result = if is_digits { keys.verify_digits(token, channel, k, now) } else { keys.verify(token, channel, k, now) };
        let got = match &result {
            Ok(_) => "valid",
            Err(e) => e.code(),
        };
        assert_eq!(got, case["expect"].as_str().unwrap(), "case {name:?}: {result:?}");
        if let (Ok(claims), Some(expected)) = (&result, case.get("claims")) {
            assert_eq!(&serde_json::to_value(claims).unwrap(), expected, "case {name:?}");
        }
    }
}

#[test]
fn wycheproof_ed25519_vectors_give_their_expected_results() {
    let doc: Value = serde_json::from_str(WYCHEPROOF).unwrap();
    let mut checked = 0;
    for group in doc["testGroups"].as_array().unwrap() {
        let pk = hex(group["publicKey"]["pk"].as_str().unwrap());
        for t in group["tests"].as_array().unwrap() {
            let msg = hex(t["msg"].as_str().unwrap());
            let sig = hex(t["sig"].as_str().unwrap());
            let expected = t["result"].as_str().unwrap() == "valid";
            let got = consult_sdk::keys::verify_ed25519_raw(&pk, &msg, &sig);
            assert_eq!(got, expected, "Wycheproof tcId {} ({})", t["tcId"], t["comment"]);
            checked += 1;
        }
    }
    assert_eq!(checked, doc["numberOfTests"].as_u64().unwrap());
}

fn hex(s: &str) -> Vec<u8> {
    (0..s.len()).step_by(2).map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap()).collect()
}

#[cfg(all(feature = "sign", not(target_arch = "wasm32")))]
#[path = "vectors/generate.rs"]
mod generate;

#[cfg(all(feature = "sign", not(target_arch = "wasm32")))]
#[test]
fn vectors_file_matches_the_generator() {
    assert_eq!(
        TOKENS,
        generate::generate(),
        "regenerate: cargo run -p consult-sdk --features sign --example gen_vectors > sdk/tests/vectors/tokens.json"
    );
}
