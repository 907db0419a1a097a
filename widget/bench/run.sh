#!/bin/sh
# The widget bench (issue 4's evidence), called by `cargo xtask bench` after the widget build.
# Run alone: sh widget/bench/run.sh   (needs /usr/bin/chromium, node, npm)
# Prints markdown tables: bytes before the button, time to a clickable button beside a hand-written
# JS button, and the chat app's size beside published figures for complete widgets.
set -eu
cd "$(dirname "$0")/../.."
if [ ! -f widget/dist/chat_bg.wasm ] || [ ! -f widget/dist/consult.js ]; then
  cargo xtask build-widget
fi
if [ ! -x target/debug/consult ]; then
  cargo build -q -p consult-gateway --bin consult
fi
if [ ! -d .tools/node_modules/playwright-core ]; then
  npm install --no-audit --no-fund --prefix .tools playwright-core
fi
exec node widget/bench/bench.mjs "$@"
