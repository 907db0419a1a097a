// Types of `@consult/web/webhooks` (Node only): check a Consult webhook delivery (Standard Webhooks
// 1.0: webhook-id, webhook-timestamp, webhook-signature; HMAC-SHA256; `whsec_` secrets).
//
//   import { verifyWebhook } from "@consult/web/webhooks";
//   const payload = verifyWebhook(process.env.CONSULT_WEBHOOK_SECRET, req.headers, rawBody);
//   if (payload.type === "message.created") console.log(payload.data.message.body);

import type { WebhookPayload } from "./types/protocol.js";

export type { WebhookPayload };

/** Every `code` a `WebhookError` carries (consult-sdk's `WebhookError::code` in Rust, the same names). */
export type WebhookErrorCode =
  /** No `v1` signature of the header matches the body with any of the secrets. */
  | "bad_signature"
  /** `webhook-timestamp` is further from `now` than `toleranceSecs` (a replay or a skewed clock). */
  | "stale_timestamp"
  /** A webhook header is missing, or `webhook-timestamp` is not whole seconds. */
  | "bad_header"
  /** A secret is not `whsec_` followed by base64 of at least 16 bytes. */
  | "bad_secret";

/** What `verifyWebhook` throws when it refuses a delivery. */
export class WebhookError extends Error {
  private constructor();
  name: "WebhookError";
  code: WebhookErrorCode;
}

/** Request headers: Node's `req.headers`, a fetch `Headers`, or a plain object (names in any case). */
export type WebhookHeaders =
  | { get(name: string): string | null }
  | Record<string, string | string[] | undefined>;

export interface VerifyWebhookOptions {
  /** How far `webhook-timestamp` may be from `now`, in seconds. Default 300. */
  toleranceSecs?: number;
  /** The time to check against, Unix seconds. Default: the clock. */
  now?: number;
}

/**
 * Verifies a delivery and returns its payload, parsed. `secret` is the endpoint's secret, or
 * several (an array, or space-separated) during a rotation. `body` is the raw request body exactly
 * as received (a string or bytes): parsed and re-serialised JSON no longer matches its signature.
 * Throws a `WebhookError` (see `WebhookErrorCode`) when refused, a `TypeError` for a parsed body.
 */
export function verifyWebhook(
  secret: string | readonly string[],
  headers: WebhookHeaders,
  body: string | Uint8Array,
  options?: VerifyWebhookOptions,
): WebhookPayload;
