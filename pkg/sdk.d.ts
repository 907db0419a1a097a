// Types of `@consult/web/sdk`: sign consult-button tokens on a business server (Node), decode,
// verify and render QR codes anywhere. Errors are thrown as `ConsultError`s with a stable `code`.

export type Kind = "button" | "printed" | "handoff";

export interface EntryPoint {
  button?: string;
  page?: string;
  campaign?: string;
  product?: string;
  order?: string;
  tags?: string[];
}

export interface Membership {
  id: string;
  tier?: string;
  name?: string;
  attrs?: Record<string, string>;
}

export interface Claims {
  kind: Kind;
  channel: string;
  key_id: string;
  /** Unix seconds. */
  issued_at: number;
  /** Unix seconds. */
  expires_at: number;
  /** Serials above 2^53 come back as numbers that lost precision; keep serials below 2^53 in JS. */
  serial: number;
  entry?: EntryPoint;
  member?: Membership;
}

export type ErrorCode =
  | "too_large" | "malformed" | "unknown_key" | "bad_signature" | "expired" | "not_yet_valid"
  | "wrong_channel" | "wrong_kind" | "revoked" | "invalid_claims" | "invalid_key" | "invalid_kind"
  | "qr_too_long" | "invalid_url";

export interface ConsultError extends Error {
  code: ErrorCode;
}

/** Decodes a token (text or digits form) without verifying it. */
export function decodeToken(token: string): Claims;

/** Verifies a raw Ed25519 signature with the same strict rules tokens get. */
export function verifyEd25519(publicKey: Uint8Array, message: Uint8Array, signature: Uint8Array): boolean;

/** Renders a launch URL as an SVG QR code (error correction Q when `print`, else M). */
export function qrSvg(text: string, print: boolean): string;

/** The printed-code launch URL for a digits-form token. */
export function printedUrl(base: string, digits: string): string;

export class SecretKey {
  private constructor();
  static generate(channel: string, keyId: string): SecretKey;
  static fromJson(text: string): SecretKey;
  toJson(): string;
  /** Unpadded base64url, as the gateway config wants it. */
  publicKey(): string;
  /** Signs claims into the text form (for `data-token`). */
  sign(claims: Claims): string;
  /** Signs claims into the digits form (for QR codes). */
  signDigits(claims: Claims): string;
  free(): void;
}

export class KeySet {
  constructor();
  addKey(channel: string, keyId: string, algorithm: "ed25519", publicKey: string): void;
  revoke(channel: string, serial: number | bigint): void;
  setLeeway(seconds: number): void;
  /** Throws a ConsultError when refused. `now` in Unix seconds. */
  verify(token: string, channel: string, kind: Kind, now: number): Claims;
  free(): void;
}

/** Browser builds only: fetches and instantiates the wasm. Node loads it synchronously. */
export default function init(input?: RequestInfo | URL | Response | BufferSource | WebAssembly.Module): Promise<unknown>;
