//! Every `#[wasm_bindgen]` export of the chat app: just the start hook.

use wasm_bindgen::prelude::wasm_bindgen;

/// Runs when chat.js instantiates the module: starts the app in chat.html's `#consult`.
#[wasm_bindgen(start)]
pub fn start() {
    if let Err(e) = crate::app::start() {
        web_sys::console::error_2(&"consult: the chat could not start".into(), &e);
    }
}
