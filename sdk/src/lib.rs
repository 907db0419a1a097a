//! Signed consult-button payloads for Consult.
//!
//! A business's server signs what a consult button carries (entry point, membership); the gateway
//! verifies it. This crate does no I/O: times come in as arguments, keys as values.
//!
//! ```
//! # #[cfg(feature = "sign")] {
//! use consult_sdk::{Claims, EntryPoint, Kind, KeySet, LaunchUrl, SecretKey};
//!
//! let now = 1_763_700_000;
//! let key = SecretKey::from_seed("demo-shop", "k1", [7; 32]).unwrap();
//! let claims = Claims {
//!     kind: Kind::Button,
//!     channel: "demo-shop".into(),
//!     key_id: "k1".into(),
//!     issued_at: now,
//!     expires_at: now + 600,
//!     serial: 1,
//!     entry: EntryPoint { button: Some("product-detail".into()), ..Default::default() },
//!     member: None,
//! };
//! let token = key.sign(&claims).unwrap();
//!
//! let mut keys = KeySet::new();
//! keys.add(key.public_key());
//! assert_eq!(keys.verify(&token, "demo-shop", Kind::Button, now).unwrap(), claims);
//!
//! let url = LaunchUrl::Button {
//!     base: "https://consult.example.com".into(),
//!     channel: "demo-shop".into(),
//!     token: Some(token),
//!     declared: Default::default(),
//! };
//! assert!(url.to_url().starts_with("https://consult.example.com/l/demo-shop?token="));
//! # }
//! ```
//!
//! Features: `verify` (Ed25519 verification), `sign` (signing, key generation), `qr` (QR codes),
//! `js` (wasm-bindgen bindings), `ts` (TypeScript declarations of the wire types, a build tool).
//! Without features the crate holds the model, the encoding and the
//! wire protocol only — what a browser chat app needs.

#![warn(missing_docs)]

pub mod encoding;
pub mod launch;
pub mod model;
pub mod protocol;
pub mod counsel;

#[cfg(feature = "webhooks")]
pub mod webhooks;

#[cfg(feature = "verify")]
pub mod keys;

#[cfg(feature = "qr")]
pub mod qr;

#[cfg(feature = "sign")]
pub mod draft;

#[cfg(feature = "js")]
mod js_api;

#[cfg(feature = "ts")]
pub mod ts;

pub use encoding::{DecodeError, RawToken};
pub use launch::{LaunchUrl, LaunchUrlError};
pub use model::{Claims, ClaimsError, EntryPoint, Kind, Membership};

#[cfg(feature = "verify")]
pub use keys::{Algorithm, KeyError, KeySet, PublicKey, VerifyError};

#[cfg(feature = "sign")]
pub use keys::{SecretKey, SignError, random_serial};

#[cfg(feature = "sign")]
pub use draft::{ClaimsDraft, DraftError};

#[cfg(feature = "qr")]
pub use qr::{QrError, QrLevel, QrMatrix, qr_svg};
