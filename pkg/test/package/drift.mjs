// The hand-written types against the code, name by name (run by run.mjs inside the test project):
// - the value exports of sdk.d.ts == what `require`, Node's `import` and the browser entry export;
// - each class's declared methods == its runtime methods, and each function's parameter count;
// - ErrorCode == the codes sdk/src (js_api.rs, VerifyError::code) can throw;
// - the launcher's commands and events == the ones index.d.ts declares;
// - the webhook helper's exports and error codes == webhooks.d.ts and sdk/src/webhooks.rs.
// Usage: node drift.mjs <project dir> <typescript module path> <repo root>
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { pathToFileURL } from "node:url";

const [project, tsPath, repo] = process.argv.slice(2);
const ts = createRequire(import.meta.url)(tsPath);
const require = createRequire(join(project, "package.json"));

// The declared side, through the TypeScript checker (bundler resolution, as an app sees it).
const probe = join(project, "drift-probe.ts");
const program = ts.createProgram([probe], {
  strict: true, noEmit: true, module: ts.ModuleKind.ESNext, moduleResolution: ts.ModuleResolutionKind.Bundler, target: ts.ScriptTarget.ES2020,
});
const diagnostics = ts.getPreEmitDiagnostics(program);
assert.equal(diagnostics.length, 0, ts.formatDiagnostics(diagnostics, { getCanonicalFileName: (f) => f, getCurrentDirectory: () => project, getNewLine: () => "\n" }));
const checker = program.getTypeChecker();
const source = program.getSourceFile(probe);
const moduleOf = (specifier) => {
  const decl = source.statements.find((s) => ts.isImportDeclaration(s) && s.moduleSpecifier.text === specifier);
  return checker.getSymbolAtLocation(decl.moduleSpecifier);
};
const sdkExports = checker.getExportsOfModule(moduleOf("@consult/web/sdk"));
const isValue = (s) => (s.flags & (ts.SymbolFlags.Function | ts.SymbolFlags.Class | ts.SymbolFlags.Variable)) !== 0;
const declared = sdkExports.filter(isValue).map((s) => s.name).sort();
const sorted = (names) => [...names].sort();

// The runtime side: Node CommonJS, Node ESM, and the browser entry (imported in Node: its module
// body only defines functions; nothing is fetched until init()).
const cjs = require("@consult/web/sdk");
const esm = await import(pathToFileURL(require.resolve("@consult/web/sdk")).href);
const webEntry = join(dirname(require.resolve("@consult/web/package.json")), "lib/sdk-web.mjs");
const web = await import(pathToFileURL(webEntry).href);
assert.deepEqual(sorted(Object.keys(cjs)), declared, "require('@consult/web/sdk') exports what sdk.d.ts declares");
assert.deepEqual(sorted(Object.keys(esm).filter((k) => k !== "default")), declared, "import from '@consult/web/sdk' in Node exports what sdk.d.ts declares");
assert.deepEqual(sorted(Object.keys(web)), declared, "the browser entry exports what sdk.d.ts declares");

// wasm-bindgen's own plumbing, not API.
const internal = new Set(["constructor", "__wrap", "__destroy_into_raw", "__unwrap"]);
let members = 0;
for (const symbol of sdkExports.filter(isValue)) {
  const type = checker.getTypeOfSymbol(symbol);
  const arity = (sig) => sig.parameters.length;
  if (symbol.flags & ts.SymbolFlags.Class) {
    const instance = checker.getDeclaredTypeOfSymbol(symbol);
    const declaredMethods = checker.getPropertiesOfType(instance).map((p) => p.name).sort();
    const declaredStatics = checker.getPropertiesOfType(type).filter((p) => p.name !== "prototype").map((p) => p.name).sort();
    for (const [name, runtime] of [["Node", cjs[symbol.name]], ["browser", web[symbol.name]]]) {
      const methods = Object.getOwnPropertyNames(runtime.prototype).filter((n) => !internal.has(n)).sort();
      const statics = Object.getOwnPropertyNames(runtime).filter((n) => !["length", "name", "prototype"].includes(n) && !internal.has(n)).sort();
      assert.deepEqual(methods, declaredMethods, `${symbol.name}'s methods (${name})`);
      assert.deepEqual(statics, declaredStatics, `${symbol.name}'s static methods (${name})`);
      for (const m of methods) {
        const sig = checker.getSignaturesOfType(checker.getTypeOfSymbol(instance.getProperty(m)), ts.SignatureKind.Call)[0];
        assert.equal(runtime.prototype[m].length, arity(sig), `${symbol.name}.${m} takes ${arity(sig)} arguments (${name})`);
        members++;
      }
    }
  } else {
    const sig = checker.getSignaturesOfType(type, ts.SignatureKind.Call)[0];
    for (const [name, runtime] of [["Node", cjs], ["browser", web]]) {
      assert.equal(runtime[symbol.name].length, arity(sig), `${symbol.name} takes ${arity(sig)} arguments (${name})`);
    }
  }
}

// Error codes: the union against every code the Rust boundary throws.
const literals = (type) => (type.isUnion() ? type.types : [type]).map((t) => t.value).sort();
const errorCode = sdkExports.find((s) => s.name === "ErrorCode");
const declaredCodes = literals(checker.getDeclaredTypeOfSymbol(errorCode));
const jsApi = readFileSync(join(repo, "sdk/src/js_api.rs"), "utf8");
const keysRs = readFileSync(join(repo, "sdk/src/keys.rs"), "utf8");
const verifyCodes = keysRs.slice(keysRs.indexOf("pub fn code(&self)"), keysRs.indexOf("impl From<DecodeError> for VerifyError"));
const thrown = new Set([...jsApi.matchAll(/js_error\("([a-z_]+)"/g), ...verifyCodes.matchAll(/=> "([a-z_]+)",/g)].map((m) => m[1]));
assert.ok(thrown.size >= 15, `found the codes in the Rust sources (${[...thrown]})`);
assert.deepEqual(declaredCodes, [...thrown].sort(), "ErrorCode in sdk.d.ts == the codes sdk/src throws");

// The launcher: commands and events, declared and implemented.
const widgetExports = checker.getExportsOfModule(moduleOf("@consult/web"));
const api = checker.getDeclaredTypeOfSymbol(widgetExports.find((s) => s.name === "ConsultApi"));
const declaredCommands = [...new Set(api.getCallSignatures().flatMap((sig) => literals(checker.getTypeOfSymbol(sig.parameters[0]))))].sort();
const events = checker.getDeclaredTypeOfSymbol(widgetExports.find((s) => s.name === "ConsultEvents"));
const declaredEvents = checker.getPropertiesOfType(events).map((p) => p.name).sort();
const launcher = readFileSync(join(repo, "widget/launcher/consult.js"), "utf8");
const commandsBlock = launcher.slice(launcher.indexOf("var commands = {"), launcher.indexOf("function Consult(name)"));
const commands = [...commandsBlock.matchAll(/^ {4}([a-zA-Z]+):/gm)].map((m) => m[1]).sort();
const eventNames = JSON.parse(launcher.match(/var EVENTS = (\[[^\]]*\])/)[1].replace(/'/g, '"')).sort();
assert.deepEqual(declaredCommands, commands, "Consult(command) in index.d.ts == the launcher's commands");
assert.deepEqual(declaredEvents, eventNames, "ConsultEvents in index.d.ts == the launcher's EVENTS");

// The webhook helper: value exports, declared and implemented (require and import), and its error
// codes against the Rust helper's (WebhookError::code).
const webhookExports = checker.getExportsOfModule(moduleOf("@consult/web/webhooks"));
const webhookValues = webhookExports.filter(isValue).map((s) => s.name).sort();
const webhooksCjs = require("@consult/web/webhooks");
const webhooksEsm = await import(pathToFileURL(require.resolve("@consult/web/webhooks")).href);
assert.deepEqual(sorted(Object.keys(webhooksCjs)), webhookValues, "require('@consult/web/webhooks') exports what webhooks.d.ts declares");
assert.deepEqual(sorted(Object.keys(webhooksEsm).filter((k) => k !== "default")), webhookValues, "import from '@consult/web/webhooks' exports what webhooks.d.ts declares");
const webhookCodes = literals(checker.getDeclaredTypeOfSymbol(webhookExports.find((s) => s.name === "WebhookErrorCode")));
const webhooksRs = readFileSync(join(repo, "sdk/src/webhooks.rs"), "utf8");
const rustWebhookArms = webhooksRs.slice(webhooksRs.indexOf("pub fn code(&self)"), webhooksRs.indexOf("fn key("));
assert.deepEqual(webhookCodes, [...rustWebhookArms.matchAll(/=> "([a-z_]+)",/g)].map((m) => m[1]).sort(), "WebhookErrorCode == WebhookError::code in sdk/src/webhooks.rs");

console.log(`  ok ${declared.length} exports, ${members} methods, ${declaredCodes.length} error codes, ${commands.length} commands, ${eventNames.length} events, ${webhookValues.length} webhook exports and ${webhookCodes.length} codes match`);
