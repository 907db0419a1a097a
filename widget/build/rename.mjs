// Applies wasm-opt's `--minify-imports-and-exports-and-modules` renaming to wasm-bindgen's glue.
//
// Run by `cargo xtask build-widget`: node widget/build/rename.mjs <chat.js> <map.json>
// where map.json is what wasm-opt printed for that pass:
//   { "imports": [[module, old, new], …], "exports": [[old, new], …] }
// wasm-bindgen names every import `__wbg_<name>_<16 hex digits>`: about 130 of them, written once
// in the wasm and once in the glue, cost ~4 KB gzip that no compressor can squeeze. The glue is
// rewritten to the short names here; any name this script cannot place fails the build, and the
// browser tests and the checker run against the renamed output.
import { readFileSync, writeFileSync } from 'node:fs';

const [jsPath, mapPath] = process.argv.slice(2);
if (!jsPath || !mapPath) {
  console.error('usage: node rename.mjs <chat.js> <map.json>');
  process.exit(2);
}
let js = readFileSync(jsPath, 'utf8');
const text = readFileSync(mapPath, 'utf8');
const map = JSON.parse(text.slice(text.indexOf('{'), text.lastIndexOf('}') + 1));

const escape = (s) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
function replaceExactlyOnceOrMore(pattern, replacement, what) {
  const re = new RegExp(pattern, 'g');
  const count = (js.match(re) || []).length;
  if (count === 0) throw new Error(`rename: ${what} not found in ${jsPath}`);
  js = js.replace(re, replacement);
}

const modules = new Set(map.imports.map(([module]) => module));
if (modules.size !== 1) throw new Error(`rename: expected one import module, got ${[...modules].join(', ')}`);
const [module] = modules;
// wasm-opt names the one module "a".
replaceExactlyOnceOrMore(`"${escape(module)}":`, '"a":', `import module ${module}`);

for (const [, from, to] of map.imports) {
  // Keys of the imports object: `__wbg_foo_0123456789abcdef: function(…)`.
  replaceExactlyOnceOrMore(`(?<![\\w$])${escape(from)}(?=\\s*:)`, JSON.stringify(to), `import ${from}`);
}
for (const [from, to] of map.exports) {
  // Uses of the instance's exports: `wasm.__wbindgen_malloc(…)`. Some exports (the stack
  // pointer, data end) are not used by the glue.
  js = js.replace(new RegExp(`\\bwasm\\.${escape(from)}(?![\\w$])`, 'g'), `wasm[${JSON.stringify(to)}]`);
}
// start.js only imports the default export (the async init): initSync and the start hook's JS
// wrapper (the module runs it itself on instantiation) are dropped, and esbuild's tree shaking
// then removes the code only they used.
replaceExactlyOnceOrMore('export \\{ initSync, __wbg_init as default \\};', 'export { __wbg_init as default };', 'the glue\'s export list');
replaceExactlyOnceOrMore('export function start\\(\\)', 'function start()', 'the start export');
// Anything still named the long way would be undefined at run time.
const left = js.match(/__wb\w+_[0-9a-f]{16}\b|\bwasm\.[A-Za-z_$][\w$]*/g);
if (left) throw new Error(`rename: names left unrenamed in ${jsPath}: ${[...new Set(left)].join(', ')}`);
writeFileSync(jsPath, js);
