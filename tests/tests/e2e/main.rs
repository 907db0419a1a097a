//! The consult flow end to end: real `consult demo`, real headless Chromium, visitor and agent in
//! separate browser sessions. Run with `CHROMEDRIVER=/usr/bin/chromedriver cargo test -p consult-e2e`
//! (needs `target/debug/consult` and `widget/dist/`; `cargo xtask test` builds both).

mod flows;
