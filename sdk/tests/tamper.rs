//! Every single-bit flip of a valid token is refused, in both text and digits forms.
#![cfg(all(feature = "sign", not(target_arch = "wasm32")))]

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use consult_sdk::{Claims, EntryPoint, KeySet, Kind, Membership, RawToken, SecretKey};
use proptest::prelude::*;

const NOW: u64 = 1_763_700_000;

fn setup(claims: &Claims) -> (Vec<u8>, KeySet) {
    let key = SecretKey::from_seed(&claims.channel, &claims.key_id, [5; 32]).unwrap();
    let mut keys = KeySet::new();
    keys.add(key.public_key());
    (key.sign_raw(claims).unwrap().to_bytes(), keys)
}

fn assert_every_flip_refused(claims: &Claims) -> Result<(), TestCaseError> {
    let (bytes, keys) = setup(claims);
    prop_assert!(keys.verify(&URL_SAFE_NO_PAD.encode(&bytes), &claims.channel, claims.kind, NOW).is_ok());
    for bit in 0..bytes.len() * 8 {
        let mut flipped = bytes.clone();
        flipped[bit / 8] ^= 1 << (bit % 8);
        let text = URL_SAFE_NO_PAD.encode(&flipped);
        prop_assert!(keys.verify(&text, &claims.channel, claims.kind, NOW).is_err(), "bit {} accepted", bit);
        // The digits form carries the same bytes: a flip there must be refused too.
        let digits = RawToken::from_bytes(&flipped).map(|t| t.to_digits());
        if let Ok(d) = digits {
            prop_assert!(keys.verify_digits(&d, &claims.channel, claims.kind, NOW).is_err());
        }
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(24))]
    #[test]
    fn every_single_bit_flip_is_refused(
        member in proptest::option::of("[a-z0-9-]{1,20}"),
        button in "[a-z-]{1,20}",
        serial in any::<u64>(),
        ttl in 1u64..3600,
    ) {
        let claims = Claims {
            kind: Kind::Button,
            channel: "demo-shop".into(),
            key_id: "k1".into(),
            issued_at: NOW - 1,
            expires_at: NOW - 1 + ttl,
            serial,
            entry: EntryPoint { button: Some(button), ..Default::default() },
            member: member.map(|id| Membership { id, tier: Some("gold".into()), ..Default::default() }),
        };
        assert_every_flip_refused(&claims)?;
    }
}
