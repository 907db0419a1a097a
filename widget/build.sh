#!/bin/sh
# Builds the widget into widget/dist (what the gateway serves at /widget/*). Each step is one
# command with fixed arguments, so `cargo xtask build-widget` can run the same list.
#   1. the chat app, release profile (opt z, lto, panic abort)
#   2. wasm-bindgen 0.2.130 (the pinned version), ES module glue
#   3. wasm-opt from npm's binaryen (Debian's breaks wasm-bindgen output); the optimised file is
#      the one the browser tests load
#   4. static files and the launcher
set -eu
cd "$(dirname "$0")/.."
WASM_OPT="${WASM_OPT:-.tools/node_modules/.bin/wasm-opt}"
[ -x "$WASM_OPT" ] || npm install --prefix .tools binaryen@132

cargo build -p consult-widget --target wasm32-unknown-unknown --profile wasm-size
wasm-bindgen --target web --no-typescript --out-dir widget/dist --out-name chat \
  target/wasm32-unknown-unknown/wasm-size/consult_widget.wasm
"$WASM_OPT" -Oz --enable-bulk-memory --enable-nontrapping-float-to-int --enable-sign-ext \
  --enable-mutable-globals --enable-reference-types --enable-multivalue \
  widget/dist/chat_bg.wasm -o widget/dist/chat_bg.wasm
cp widget/static/chat.html widget/static/chat.css widget/static/start.js widget/launcher/consult.js widget/dist/
