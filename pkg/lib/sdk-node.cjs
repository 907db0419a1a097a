"use strict";
// `@consult/web/sdk` under Node (the "node" export condition, for `require` and `import` alike):
// wasm-bindgen's Node glue, which loads its wasm synchronously when it is first required.
// `init` and `initSync` are here too, doing nothing, so code written for browsers runs unchanged.

/** The wasm is loaded already in Node: resolves at once. */
function init(_options) {
  return Promise.resolve();
}

/** The wasm is loaded already in Node: ignores its argument. */
function initSync(_options) {}

// This shape (a spread require, then shorthand names) is what lets Node's ESM `import { … }` see
// every name: cjs-module-lexer reads it without running it.
module.exports = { ...require("../sdk/node/consult_sdk.js"), init, initSync };
