// `@consult/web/sdk` in browsers and bundlers: wasm-bindgen's web glue. Call `await init()` once
// before anything else (it fetches sdk/web/consult_sdk_bg.wasm beside the glue; bundlers that do not
// follow `new URL(…, import.meta.url)` pass the URL or the bytes, see README.md).
export * from "../sdk/web/consult_sdk.js";
export { default as init } from "../sdk/web/consult_sdk.js";
