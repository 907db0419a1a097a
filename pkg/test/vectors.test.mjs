// The npm package's wasm (Node build) against the same vectors as native and Chromium.
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";

const require = createRequire(import.meta.url);
const sdk = require("../sdk/node/consult_sdk.js");
const vectors = (name) => JSON.parse(readFileSync(new URL(`../../sdk/tests/vectors/${name}`, import.meta.url)));

test("token vectors give their expected results", () => {
  const doc = vectors("tokens.json");
  const keys = new sdk.KeySet();
  for (const k of doc.keys) keys.addKey(k.channel, k.key_id, k.algorithm, k.public_key);
  for (const r of doc.revoked) keys.revoke(r.channel, BigInt(r.serial));
  keys.setLeeway(doc.leeway);
  assert.ok(doc.cases.length >= 25);
  for (const c of doc.cases) {
    let got;
    try {
      const claims = keys.verify(c.token, c.channel, c.kind, doc.now);
      got = "valid";
      // Serials come back as bigints (64-bit); the vectors' JSON writes them as numbers.
      if (c.claims) assert.deepEqual(claims, { ...c.claims, serial: BigInt(c.claims.serial) }, c.name);
    } catch (e) {
      assert.ok(e instanceof Error, c.name);
      got = e.code;
    }
    assert.equal(got, c.expect, c.name);
  }
});

test("Wycheproof Ed25519 vectors give their expected results", () => {
  const doc = vectors("wycheproof-ed25519_test.json");
  const hex = (s) => Uint8Array.from(Buffer.from(s, "hex"));
  let n = 0;
  for (const g of doc.testGroups) {
    for (const t of g.tests) {
      assert.equal(sdk.verifyEd25519(hex(g.publicKey.pk), hex(t.msg), hex(t.sig)), t.result === "valid", `tcId ${t.tcId}`);
      n++;
    }
  }
  assert.equal(n, doc.numberOfTests);
});

test("Node signs what Rust verifies, byte for byte", () => {
  // Same seed and claims as the vectors' first case: the token must be identical.
  const doc = vectors("tokens.json");
  const first = doc.cases[0];
  const seed = Buffer.alloc(32, 1).toString("base64url");
  const k = doc.keys[0];
  const key = sdk.SecretKey.fromJson(JSON.stringify({
    channel: k.channel, key_id: k.key_id, algorithm: "ed25519", secret_key: seed, public_key: k.public_key,
  }));
  assert.equal(key.sign(first.claims), first.token);
});

test("a fresh key signs a printed code whose QR is a scannable SVG", () => {
  const key = sdk.SecretKey.generate("demo-shop", "k1");
  const now = Math.floor(Date.now() / 1000);
  const digits = key.signDigits({
    kind: "printed", channel: "demo-shop", key_id: "k1", issued_at: now, expires_at: now + 86400 * 365,
    serial: 3, entry: { button: "store-counter" },
  });
  const url = sdk.printedUrl("https://consult.example.com", digits);
  assert.match(url, /^HTTPS:\/\/CONSULT\.EXAMPLE\.COM\/P\/\d+$/);
  const svg = sdk.qrSvg(url, true);
  assert.match(svg, /^<svg[^>]+viewBox="0 0 \d+ \d+"/);
  assert.equal(sdk.decodeToken(digits).entry.button, "store-counter");
  assert.throws(() => key.sign({ kind: "printed", channel: "demo-shop", key_id: "k1", issued_at: now, expires_at: now + 60, serial: 1, member: { id: "m" }, entry: { button: "x" } }),
    (e) => e.code === "invalid_claims");
});
