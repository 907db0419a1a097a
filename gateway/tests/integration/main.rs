//! Integration tests: the real gateway on an ephemeral port, driven over HTTP and WebSocket.
//! Run with `cargo test -p consult-gateway --test integration`.

mod common;
mod handoff;
mod launch;
mod restart;
mod routing;
mod sessions;
mod uploads;
