"use strict";
// `@consult/web/webhooks` (Node only: node:crypto): checks a Consult webhook delivery as Standard
// Webhooks 1.0 signs it, the same rules as consult-sdk's `webhooks::verify` (sdk/src/webhooks.rs)
// and the same shared vectors (sdk/tests/vectors/webhooks.json):
//   webhook-signature: v1,<base64 HMAC-SHA256(key, "{webhook-id}.{webhook-timestamp}.{body}")>
// one signature per secret (space-separated) during a rotation; secrets are `whsec_<base64 key>`.

const { createHmac, timingSafeEqual } = require("node:crypto");

/** What `verifyWebhook` throws: an `Error` named "WebhookError" with a stable `code`. */
class WebhookError extends Error {
  constructor(code, message) {
    super(message);
    this.name = "WebhookError";
    this.code = code;
  }
}

/** Decodes standard base64 as Rust's `STANDARD` engine does: canonical, padded, nothing else. */
function base64(text) {
  const bytes = Buffer.from(text, "base64");
  return bytes.toString("base64") === text ? bytes : null;
}

function key(secret) {
  const bytes = base64(secret.startsWith("whsec_") ? secret.slice(6) : secret);
  if (!bytes || bytes.length < 16) {
    throw new WebhookError("bad_secret", "a webhook secret is whsec_ followed by base64 (at least 16 bytes)");
  }
  return bytes;
}

/** A header of a Node `IncomingMessage`, a fetch `Headers` or a plain object, by any case. */
function header(headers, name) {
  let value;
  if (headers && typeof headers.get === "function") {
    value = headers.get(name);
  } else if (headers && typeof headers === "object") {
    const found = Object.keys(headers).find((k) => k.toLowerCase() === name);
    value = found === undefined ? undefined : headers[found];
  }
  if (Array.isArray(value)) value = value.join(" ");
  if (typeof value !== "string" || value === "") {
    throw new WebhookError("bad_header", `the ${name} header is missing`);
  }
  return value;
}

/**
 * Verifies a delivery and returns its parsed payload. `secret`: the endpoint's secret, or several
 * (an array, or space-separated) during a rotation. `body`: the raw request body, exactly as
 * received (a string or bytes), not parsed JSON. `now`: Unix seconds (default: the clock).
 */
function verifyWebhook(secret, headers, body, options = {}) {
  const { toleranceSecs = 300, now = Math.floor(Date.now() / 1000) } = options;
  if (typeof body !== "string" && !(body instanceof Uint8Array)) {
    throw new TypeError("verifyWebhook: body must be the raw request body (a string or bytes), not parsed JSON");
  }
  const secrets = Array.isArray(secret) ? secret : String(secret).split(" ").filter(Boolean);
  const id = header(headers, "webhook-id");
  const timestamp = header(headers, "webhook-timestamp").trim();
  const signatures = header(headers, "webhook-signature");
  if (!/^\+?[0-9]+$/.test(timestamp)) {
    throw new WebhookError("bad_header", "webhook-timestamp is not a number of seconds");
  }
  if (Math.abs(Number(timestamp) - now) > toleranceSecs) {
    throw new WebhookError("stale_timestamp", "webhook-timestamp is too far from now");
  }
  const bytes = typeof body === "string" ? Buffer.from(body, "utf8") : Buffer.from(body.buffer, body.byteOffset, body.byteLength);
  for (const s of secrets) {
    const expected = createHmac("sha256", key(s)).update(`${id}.${timestamp}.`).update(bytes).digest();
    for (const part of signatures.split(" ")) {
      if (!part.startsWith("v1,")) continue;
      const given = base64(part.slice(3));
      if (given && given.length === expected.length && timingSafeEqual(given, expected)) {
        return JSON.parse(bytes.toString("utf8"));
      }
    }
  }
  throw new WebhookError("bad_signature", "no signature matches");
}

// Shorthand names: what lets Node's ESM `import { … }` see them (cjs-module-lexer).
module.exports = { verifyWebhook, WebhookError };
