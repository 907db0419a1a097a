//! Integration tests: the real gateway on an ephemeral port, driven over HTTP and WebSocket.
//! Run with `cargo test -p consult-gateway --test integration`.

mod agents_admin;
mod assets;
mod brand;
mod channel_settings;
mod cluster;
mod common;
mod context;
mod counsel;
mod desk;
mod handoff;
mod hardening;
mod launch;
mod outside_bot;
mod ops;
mod proxy;
mod receipts;
mod restart;
mod routing;
mod sessions;
mod switches;
mod uploads;
mod webhooks;
