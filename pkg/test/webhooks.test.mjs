// `@consult/web/webhooks` (lib/webhooks.cjs) against the vectors consult-sdk's webhooks::verify
// passes too, and its error codes against the Rust helper's.
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { verifyWebhook, WebhookError } from "../lib/webhooks.cjs";

const repo = new URL("../../", import.meta.url);
const { vectors } = JSON.parse(readFileSync(new URL("sdk/tests/vectors/webhooks.json", repo)));
const headersOf = (v) => ({ "webhook-id": v.id, "webhook-timestamp": v.timestamp, "webhook-signature": v.signature });

/** Runs `f`; returns the thrown error's code, or "valid". */
function outcome(f) {
  try {
    f();
    return "valid";
  } catch (e) {
    assert.ok(e instanceof WebhookError && e instanceof Error, `a WebhookError (got ${e})`);
    assert.equal(e.name, "WebhookError");
    return e.code;
  }
}

test("the shared vectors give their expected results and codes", () => {
  assert.ok(vectors.length >= 10);
  for (const v of vectors) {
    const got = outcome(() => {
      const payload = verifyWebhook(v.secrets, headersOf(v), v.body, { now: v.now });
      assert.deepEqual(payload, JSON.parse(v.body), v.name);
    });
    assert.equal(got, v.valid ? "valid" : v.error, v.name);
  }
});

test("the error codes are the Rust helper's (WebhookError::code)", () => {
  const rust = readFileSync(new URL("sdk/src/webhooks.rs", repo), "utf8");
  const arms = rust.slice(rust.indexOf("pub fn code(&self)"), rust.indexOf("fn key("));
  const codes = [...arms.matchAll(/=> "([a-z_]+)",/g)].map((m) => m[1]).sort();
  assert.deepEqual(codes, ["bad_header", "bad_secret", "bad_signature", "stale_timestamp"]);
  assert.deepEqual([...new Set(vectors.filter((v) => !v.valid).map((v) => v.error))].sort(), codes, "the vectors cover every code");
});

test("headers in any case, from a fetch Headers, bytes as the body, secrets space-separated", () => {
  const v = vectors.find((x) => x.name === "rotation: receiver knows both, header has the old");
  const upper = { "Webhook-Id": v.id, "WEBHOOK-TIMESTAMP": v.timestamp, "webhook-signature": v.signature };
  assert.equal(verifyWebhook(v.secrets.join(" "), upper, v.body, { now: v.now }).type, "message.created");
  const fetched = new Headers(headersOf(v));
  assert.equal(verifyWebhook(v.secrets, fetched, new TextEncoder().encode(v.body), { now: v.now }).channel, "shop");
  assert.equal(verifyWebhook(v.secrets, fetched, Buffer.from(v.body), { now: v.now }).channel, "shop");
});

test("tolerance, missing headers and parsed bodies", () => {
  const v = vectors.find((x) => x.name === "valid");
  const late = Number(v.timestamp) + 600;
  assert.equal(outcome(() => verifyWebhook(v.secrets, headersOf(v), v.body, { now: late })), "stale_timestamp");
  assert.equal(outcome(() => verifyWebhook(v.secrets, headersOf(v), v.body, { now: late, toleranceSecs: 600 })), "valid");
  assert.equal(outcome(() => verifyWebhook(v.secrets, headersOf(v), v.body)), "stale_timestamp", "now defaults to the clock");
  for (const name of ["webhook-id", "webhook-timestamp", "webhook-signature"]) {
    const headers = headersOf(v);
    delete headers[name];
    assert.equal(outcome(() => verifyWebhook(v.secrets, headers, v.body, { now: v.now })), "bad_header", name);
  }
  assert.throws(() => verifyWebhook(v.secrets, headersOf(v), JSON.parse(v.body), { now: v.now }), TypeError);
});
