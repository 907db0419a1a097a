//! The Consult chat app: runs in a frame on the gateway's origin, launched by the host-page
//! launcher (`launcher/consult.js`) or opened full page from a link or a scanned QR code.
//!
//! The logic is plain Rust state machines that test natively — [`session`] (delivery, ordering,
//! reconnects), [`chat`] (UI state and update rules), [`ime`] (Enter during IME composition),
//! [`i18n`], [`route`] — and a thin browser layer (`dom`, `app`, `net`, `js_api`) compiled for
//! wasm32 only.

pub mod chat;
pub mod i18n;
pub mod ime;
pub mod json;
pub mod route;
pub mod session;
pub mod text;

#[cfg(target_arch = "wasm32")]
mod app;
#[cfg(target_arch = "wasm32")]
pub mod dom;
#[cfg(target_arch = "wasm32")]
mod js_api;
#[cfg(target_arch = "wasm32")]
mod net;

// A free-list allocator a few hundred bytes big: dlmalloc costs ~3 KB gzip of the 60 KB budget.
// The lock is uncontended (the chat app has one thread) and keeps this free of `unsafe`.
#[cfg(target_arch = "wasm32")]
#[global_allocator]
static ALLOCATOR: lol_alloc::LockedAllocator<lol_alloc::FreeListAllocator> =
    lol_alloc::LockedAllocator::new(lol_alloc::FreeListAllocator::new());
