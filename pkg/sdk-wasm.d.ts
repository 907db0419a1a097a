// `@consult/web/sdk/wasm`: the browser wasm file of `@consult/web/sdk`, for bundlers that do not
// follow `new URL(…, import.meta.url)` (esbuild). With esbuild's file loader (`--loader:.wasm=file`)
// the import is the file's URL in the build: `await init({ module_or_path: wasmUrl })`.
declare const wasmUrl: string;
export default wasmUrl;
