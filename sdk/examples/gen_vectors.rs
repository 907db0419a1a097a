//! Run with `cargo run -p consult-sdk --features sign --example gen_vectors > sdk/tests/vectors/tokens.json`.
//!
//! Writes the shared token vectors every target checks (native, Node, Chromium). Deterministic:
//! fixed seeds, fixed times, fixed serials; a native test regenerates and compares.

fn main() {
    print!("{}", consult_sdk_vectors::generate());
}

#[path = "../tests/vectors/generate.rs"]
mod consult_sdk_vectors;
