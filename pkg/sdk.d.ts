// Types of `@consult/web/sdk`: sign consult-button tokens on a business server (Node), decode,
// verify and render QR codes anywhere. Written by hand to match sdk/src/js_api.rs and lib/sdk-*
// (EntryPoint and Membership come from the generated types/protocol.d.ts);
// pkg/test/package fails when an export, a method or an error code here and there drift apart.
//
// Node (ESM or CommonJS): ready when imported. Browsers and bundlers: `await init()` first.

import type { EntryPoint, Membership } from "./types/protocol.js";

export type Kind = "button" | "printed" | "handoff";

/** Where the consultation started (`EntryPoint`) and a logged-in member (`Membership`, button
 * tokens only): generated from the Rust model with the wire types. */
export type { EntryPoint, Membership };

/**
 * A token serial (64 bits): a `bigint` in 0..2^64, or a `number` only when it is exact
 * (`Number.isSafeInteger`, not negative). Anything else throws a `ConsultError` with code
 * `invalid_serial`, never a rounded serial.
 */
export type Serial = bigint | number;

/** A token's claims, as `decodeToken` and `KeySet.verify` return them. */
export interface Claims {
  kind: Kind;
  channel: string;
  key_id: string;
  /** Unix seconds. */
  issued_at: number;
  /** Unix seconds. */
  expires_at: number;
  /** Always a `bigint` (a `number` cannot hold every serial); `JSON.stringify` needs a replacer. */
  serial: bigint;
  entry?: EntryPoint;
  member?: Membership;
}

/**
 * Claims to sign. Fields left out get the defaults of `consult sign`: `kind` "button", `channel`
 * and `key_id` from the key, `issued_at` now, `expires_at` by kind (button 600 s, printed 365 days,
 * handoff 300 s), a random `serial` (32 bits for printed codes). Unknown fields are refused.
 */
export interface ClaimsInput {
  kind?: Kind;
  channel?: string;
  key_id?: string;
  /** Whole Unix seconds. */
  issued_at?: number;
  /** Whole Unix seconds. */
  expires_at?: number;
  serial?: Serial;
  entry?: EntryPoint;
  member?: Membership;
}

/** Every `code` a `ConsultError` of this module carries. */
export type ErrorCode =
  // Refusals of KeySet.verify (the gateway's codes too).
  | "too_large" | "malformed" | "unknown_key" | "bad_signature" | "expired" | "not_yet_valid"
  | "wrong_channel" | "wrong_kind" | "revoked"
  // Bad arguments.
  | "invalid_claims" | "invalid_serial" | "invalid_key" | "invalid_kind" | "qr_too_long" | "invalid_url";

/**
 * What every function here throws: an `Error` named "ConsultError" with one plain message and a
 * stable `code` to switch on (`catch (e) { if ((e as ConsultError).code === "expired") … }`).
 */
export interface ConsultError extends Error {
  name: "ConsultError";
  code: ErrorCode;
}

/** Where `init` loads the wasm from: its URL (`@consult/web/sdk/wasm` with a bundler's file loader), a `fetch` response, or its bytes. */
export type InitInput = string | URL | Request | Response | BufferSource | WebAssembly.Module;

/**
 * Loads the wasm; call once before anything else in browsers. Without `module_or_path` it fetches
 * `consult_sdk_bg.wasm` beside the glue (`new URL(…, import.meta.url)`: Vite and webpack follow it,
 * esbuild does not). In Node it resolves at once: the wasm loaded with the module.
 */
export function init(options?: { module_or_path?: InitInput | Promise<InitInput> }): Promise<void>;

/** Loads the wasm from bytes or a compiled module, synchronously. In Node it does nothing. */
export function initSync(options: { module: BufferSource | WebAssembly.Module }): void;

/** Decodes a token (text or digits form) without verifying it. */
export function decodeToken(token: string): Claims;

/** Verifies a raw Ed25519 signature with the same strict rules tokens get. */
export function verifyEd25519(publicKey: Uint8Array, message: Uint8Array, signature: Uint8Array): boolean;

/** Renders a launch URL as an SVG QR code (error correction Q when `print`, else M). */
export function qrSvg(text: string, print: boolean): string;

/** The printed-code launch URL for a digits-form token. */
export function printedUrl(base: string, digits: string): string;

/** A channel's secret signing key. */
export class SecretKey {
  private constructor();
  static generate(channel: string, keyId: string): SecretKey;
  /** A key file's JSON text, as `consult keygen` writes it. */
  static fromJson(text: string): SecretKey;
  toJson(): string;
  /** Unpadded base64url, as the gateway config wants it. */
  publicKey(): string;
  /** Signs claims into the text form (for `data-token`). */
  sign(claims: ClaimsInput): string;
  /** Signs claims into the digits form (for QR codes). */
  signDigits(claims: ClaimsInput): string;
  /** Frees the wasm memory now rather than when garbage-collected. */
  free(): void;
}

/** Live public keys, revoked serials and the clock leeway. */
export class KeySet {
  constructor();
  addKey(channel: string, keyId: string, algorithm: "ed25519", publicKey: string): void;
  revoke(channel: string, serial: Serial): void;
  setLeeway(seconds: number): void;
  /** Throws a `ConsultError` when refused. `now` in Unix seconds. */
  verify(token: string, channel: string, kind: Kind, now: number): Claims;
  /** Frees the wasm memory now rather than when garbage-collected. */
  free(): void;
}
