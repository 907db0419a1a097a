// @consult/web as its users install it: `npm pack`, installed from the tarball into a fresh project,
// then every resolver and bundler a user may have. Run by `cargo xtask test` after `cargo xtask
// build` (pkg/sdk and pkg/widget must be built):
//   node pkg/test/package/run.mjs <tools node_modules>   (typescript, esbuild, vite, webpack, playwright-core)
// KEEP=1 keeps the temp project and prints where it is.
import assert from "node:assert/strict";
import { execFileSync, spawnSync } from "node:child_process";
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { createServer } from "node:http";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { dirname, extname, join, resolve } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const pkg = resolve(here, "../..");
const repo = resolve(pkg, "..");
const tools = resolve(process.argv[2] ?? join(repo, ".tools/pkg-test/node_modules"));
const tool = createRequire(join(tools, "x.js"));
const started = Date.now();
const step = (what) => console.log(`[${((Date.now() - started) / 1000).toFixed(1)} s] ${what}`);
/** Runs a command and returns its stdout; on failure, throws with its stdout (tsc writes errors there). */
function run(cmd, args, cwd) {
  try {
    return execFileSync(cmd, args, { cwd, encoding: "utf8", stdio: ["ignore", "pipe", "inherit"] });
  } catch (e) {
    throw new Error(`${cmd} ${args.join(" ")} failed in ${cwd}:\n${e.stdout ?? ""}`);
  }
}

for (const built of ["sdk/node/consult_sdk_bg.wasm", "sdk/web/consult_sdk_bg.wasm", "widget/consult.js"]) {
  assert.ok(existsSync(join(pkg, built)), `pkg/${built} missing: run cargo xtask build`);
}

// 1. The tarball: README and every file `exports` names, and nothing of the tests or benches.
step("npm pack --dry-run --json");
const [packed] = JSON.parse(run("npm", ["pack", "--dry-run", "--json", "--ignore-scripts"], pkg));
const files = new Set(packed.files.map((f) => f.path));
const manifest = JSON.parse(readFileSync(join(pkg, "package.json"), "utf8"));
const targets = (value) => (typeof value === "string" ? [value] : Object.values(value).flatMap(targets));
const named = [manifest.types, manifest.main, manifest.browser, ...targets(manifest.exports), ...targets(manifest.typesVersions ?? {})];
for (const path of ["README.md", ...named.map((p) => p.replace(/^\.\//, ""))]) {
  assert.ok(files.has(path), `the tarball lacks ${path} (files: ${[...files].join(", ")})`);
}
assert.ok(![...files].some((f) => f.startsWith("test/") || f.startsWith("bench/")), "tests and benches stay out of the tarball");
console.log(`  ok ${files.size} files, ${(packed.size / 1024).toFixed(0)} KiB packed, README.md and every export target among them`);

// 2. A fresh project with the tarball installed.
const project = mkdtempSync(join(tmpdir(), "consult-web-user-"));
try {
  run("npm", ["pack", "--pack-destination", project, "--ignore-scripts", "--silent"], pkg);
  const tarball = join(project, `${packed.filename}`);
  cpSync(join(here, "fixtures"), project, { recursive: true });
  writeFileSync(join(project, "package.json"), JSON.stringify({ name: "consult-web-user", private: true }));
  run("npm", ["install", "--no-audit", "--no-fund", "--offline", "--silent", tarball], project);
  step(`installed ${packed.filename} into ${project}`);

  // 3. tsc --strict under each resolution a user may have; node10 and node16 emit what Node runs.
// (`module: commonjs` alone, TypeScript's default, resolves as node10.)
  const tsc = join(tools, "typescript/bin/tsc");
  writeFileSync(join(project, "node.mts"), readFileSync(join(project, "node.ts"), "utf8"));
  const browserFiles = ["app.ts", "vite-main.ts", "esbuild-main.ts", "webpack-main.ts"];
  const configs = {
    node10: { module: "commonjs", moduleResolution: "node10", files: ["node.ts", ...browserFiles] },
    node16: { module: "node16", moduleResolution: "node16", files: ["node.ts", "node.mts", ...browserFiles] },
    nodenext: { module: "nodenext", moduleResolution: "nodenext", files: ["node.ts", "node.mts", ...browserFiles] },
    bundler: { module: "esnext", moduleResolution: "bundler", files: ["node.ts", ...browserFiles] },
  };
  for (const [name, { files, ...options }] of Object.entries(configs)) {
    const config = { compilerOptions: { strict: true, target: "es2020", outDir: `out/${name}`, ...options }, files };
    writeFileSync(join(project, `tsconfig.${name}.json`), JSON.stringify(config, null, 2));
    run("node", [tsc, "-p", `tsconfig.${name}.json`], project);
    console.log(`  ok tsc --strict, moduleResolution ${name}: ${files.join(", ")}`);
  }
  step("tsc under node10, node16, nodenext and bundler");

  // 4. Node runs what tsc emitted: CommonJS (node10, node16) and ESM (node16), sign → verify → refuse.
  for (const [label, file] of [["CommonJS (node10 build)", "out/node10/node.js"], ["CommonJS (node16 build)", "out/node16/node.js"], ["ESM (node16 build)", "out/node16/node.mjs"]]) {
    const out = run("node", [file], project);
    assert.match(out, /ok sign\(\{entry, member\}\) with defaults → verify/, `${label} ran the checks`);
    console.log(`  ok Node ${label}: ${out.trim().split("\n").length} groups of checks`);
  }
  writeFileSync(join(project, "drift-probe.ts"), 'import * as sdk from "@consult/web/sdk";\nimport * as widget from "@consult/web";\nimport * as webhooks from "@consult/web/webhooks";\nexport { sdk, widget, webhooks };\n');
  console.log(run("node", [join(here, "drift.mjs"), project, join(tools, "typescript"), repo], project).trimEnd());
  step("Node runs and types-against-runtime drift");

  // 5. The launcher in Node without a DOM: a clear error, from require and import alike.
  for (const [how, code] of [["require", "require('@consult/web')"], ["import", "await import('@consult/web')"]]) {
    const r = spawnSync("node", ["--input-type=module", "-e", `import { createRequire } from 'node:module'; const require = createRequire(process.cwd() + '/x.js'); ${code}`], { cwd: project, encoding: "utf8" });
    assert.notEqual(r.status, 0, `${how}('@consult/web') in Node must fail`);
    assert.match(r.stderr, /@consult\/web is the browser launcher: .*needs a DOM.*use @consult\/web\/sdk/, `${how}: a clear error`);
    assert.doesNotMatch(r.stderr, /ReferenceError/, `${how}: not a ReferenceError`);
    assert.match(r.stderr, /ERR_CONSULT_NO_DOM/, `${how}: the error's code`);
  }
  console.log("  ok require and import of '@consult/web' in Node: a clear ERR_CONSULT_NO_DOM error");

  // 5b. The webhook helper, imported and required from the tarball, on the shared vectors' first delivery.
  const [delivery] = JSON.parse(readFileSync(join(repo, "sdk/tests/vectors/webhooks.json"), "utf8")).vectors;
  const deliveryHeaders = { "webhook-id": delivery.id, "webhook-timestamp": delivery.timestamp, "webhook-signature": delivery.signature };
  const verifyCall = `console.log(verifyWebhook(${JSON.stringify(delivery.secrets)}, ${JSON.stringify(deliveryHeaders)}, ${JSON.stringify(delivery.body)}, { now: ${delivery.now} }).type)`;
  for (const [how, args] of [
    ["import", ["--input-type=module", "-e", `import { verifyWebhook } from '@consult/web/webhooks'; ${verifyCall}`]],
    ["require", ["-e", `const { verifyWebhook } = require('@consult/web/webhooks'); ${verifyCall}`]],
  ]) {
    assert.equal(run("node", args, project).trim(), "message.created", `${how}('@consult/web/webhooks') verifies a delivery`);
  }
  console.log("  ok import and require of '@consult/web/webhooks' verify a signed delivery");

  // 6. Bundles. esbuild for Node keeps the package external, as the README says.
  const esbuild = join(tools, ".bin/esbuild");
  run(esbuild, ["node.ts", "--bundle", "--platform=node", "--packages=external", "--log-level=warning", "--outfile=out/server.cjs"], project);
  assert.match(run("node", ["out/server.cjs"], project), /ok sign/, "the esbuild Node bundle signs and verifies");
  console.log("  ok esbuild --platform=node --packages=external bundle signs and verifies");
  run(esbuild, ["esbuild-main.ts", "--bundle", "--format=esm", "--loader:.wasm=file", "--log-level=warning", "--outdir=dist/esbuild"], project);
  const { build: viteBuild } = await import(pathToFileURL(tool.resolve("vite")).href);
  await viteBuild({ root: project, base: "./", logLevel: "warn", build: { outDir: "dist/vite", emptyOutDir: true } });
  const webpack = tool("webpack");
  const stats = await new Promise((done, fail) =>
    webpack({
      mode: "production", context: project, entry: "./out/bundler/webpack-main.js", devtool: false,
      output: { path: join(project, "dist/webpack"), filename: "main.js" },
    }, (err, s) => (err ? fail(err) : done(s))));
  assert.ok(!stats.hasErrors(), stats.toString("errors-only"));
  for (const bundler of ["esbuild", "webpack"]) {
    const script = bundler === "esbuild" ? "esbuild-main.js" : "main.js";
    writeFileSync(join(project, `dist/${bundler}/index.html`), `<!doctype html><meta charset="utf-8"><body><script type="module" src="./${script}"></script></body>`);
  }
  for (const bundler of ["vite", "esbuild", "webpack"]) {
    const dir = join(project, "dist", bundler);
    const leaked = readdirSync(dir, { recursive: true }).filter((f) => statSync(join(dir, f)).isFile() && /webhook-signature|node:crypto/.test(readFileSync(join(dir, f), "latin1")));
    assert.deepEqual(leaked, [], `${bundler}: the Node-only webhook helper stays out of browser bundles`);
  }
  step("esbuild (Node and browser), Vite and webpack builds; no webhook helper in them");

  // 7. The browser builds in headless Chromium, the static server standing in for the gateway.
  const types = { ".html": "text/html", ".js": "text/javascript", ".wasm": "application/wasm", ".css": "text/css" };
  const server = createServer((req, res) => {
    const url = new URL(req.url, "http://x");
    if (url.pathname === "/v1/channels/demo-shop/status") {
      res.writeHead(200, { "content-type": "application/json" });
      return res.end(JSON.stringify({ enabled: true, open_now: true }));
    }
    if (url.pathname === "/favicon.ico") {
      res.writeHead(204);
      return res.end();
    }
    const path = join(project, "dist", url.pathname.endsWith("/") ? `${url.pathname}index.html` : url.pathname);
    if (!path.startsWith(join(project, "dist")) || !existsSync(path)) {
      res.writeHead(404);
      return res.end();
    }
    res.writeHead(200, { "content-type": types[extname(path)] ?? "application/octet-stream" });
    res.end(readFileSync(path));
  });
  let port = 9300;
  for (;;) {
    const ok = await new Promise((done) => server.once("error", () => done(false)).listen(port, "127.0.0.1", () => done(true)));
    if (ok) break;
    assert.ok(++port < 9400, "no free port in 9300-9399");
  }
  const { chromium } = tool("playwright-core");
  const browser = await chromium.launch({
    executablePath: "/usr/bin/chromium",
    args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"],
  });
  try {
    for (const bundler of ["vite", "esbuild", "webpack"]) {
      const page = await browser.newPage();
      const problems = [];
      page.on("console", (m) => (m.type() === "error" || m.type() === "warning") && problems.push(`console ${m.type()}: ${m.text()}`));
      page.on("pageerror", (e) => problems.push(`page error: ${e.message}`));
      page.on("response", (r) => r.status() >= 400 && problems.push(`${r.status()} ${r.url()}`));
      await page.goto(`http://127.0.0.1:${port}/${bundler}/`);
      await page.waitForFunction(() => document.body?.dataset.result, null, { timeout: 20000 });
      const result = JSON.parse(await page.evaluate(() => document.body.dataset.result));
      assert.equal(result.error, undefined, `${bundler}: ${result.error}`);
      assert.deepEqual(problems, [], `${bundler}: no errors, warnings or failed requests`);
      assert.equal(result.checks, 6, `${bundler}: every sdk check ran`);
      assert.equal(result.open_now, true, `${bundler}: boot reached the status endpoint`);
      assert.equal(result.token_problem, null, `${bundler}: the launcher took the sdk's token`);
      assert.ok(result.replayed && result.loaded, `${bundler}: window.Consult loaded, ready delivered`);
      assert.match(result.unknown_command, /unknown command bogus/, `${bundler}: an unknown command rejects`);
      console.log(`  ok ${bundler} build in Chromium: sdk signs, verifies, refuses; Consult("boot") ready`);
      await page.close();
    }
  } finally {
    await browser.close();
    server.close();
  }
  step("Chromium: Vite, esbuild and webpack builds");
} finally {
  if (process.env.KEEP) console.log(`kept ${project}`);
  else rmSync(project, { recursive: true, force: true });
}
console.log(`ok   @consult/web as installed from its tarball (${((Date.now() - started) / 1000).toFixed(1)} s)`);
