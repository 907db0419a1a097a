// Smoke test: Vite 7 bundles `import '@consult/web'` (the package's "." export, the launcher).
// Run after `cargo xtask build` (it fills pkg/widget/): node pkg/test/vite/smoke.mjs
// Needs vite in .tools: npm install --prefix .tools vite@7
import { mkdirSync, readdirSync, readFileSync, rmSync, symlinkSync, existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import assert from 'node:assert/strict';

const here = dirname(fileURLToPath(import.meta.url));
const pkg = join(here, '..', '..');
const root = join(pkg, '..');
assert.ok(existsSync(join(pkg, 'widget/consult.js')), 'pkg/widget/consult.js missing: run cargo xtask build');

// Resolve '@consult/web' the way an installed package resolves: node_modules/@consult/web → pkg/.
const scope = join(here, 'node_modules', '@consult');
rmSync(join(here, 'node_modules'), { recursive: true, force: true });
mkdirSync(scope, { recursive: true });
symlinkSync(pkg, join(scope, 'web'), 'dir');

const vitePath = createRequire(join(root, '.tools', 'node_modules', 'x.js')).resolve('vite');
const { build } = await import(pathToFileURL(vitePath).href);
const outDir = join(here, 'dist');
try {
  await build({ root: here, logLevel: 'warn', build: { outDir, emptyOutDir: true, minify: false } });
  const assets = readdirSync(join(outDir, 'assets')).filter((f) => f.endsWith('.js'));
  assert.equal(assets.length, 1, `one bundle expected, got ${assets}`);
  const bundle = readFileSync(join(outDir, 'assets', assets[0]), 'utf8');
  // The launcher is in the bundle, and so is the app code after it.
  assert.ok(bundle.includes('consult-launcher'), 'the launcher is bundled');
  assert.ok(bundle.includes("'demo-shop'") || bundle.includes('"demo-shop"'), 'the app code is bundled');
  console.log(`ok   vite bundled @consult/web (${assets[0]}, ${bundle.length} bytes)`);
} finally {
  rmSync(join(here, 'node_modules'), { recursive: true, force: true });
}
