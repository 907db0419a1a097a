// Run with `cargo xtask bench` (needs the pkg build and jose/qrcode in .tools/node_modules).
// Our wasm under Node beside jose (JWT, EdDSA on Node's native crypto) and npm qrcode, in the same
// process and run; medians of 7 rounds.
import { createRequire } from "node:module";
import { performance } from "node:perf_hooks";

const require = createRequire(import.meta.url);
const sdk = require("../sdk/node/consult_sdk.js");
const jose = require("jose");
const QRCode = require("qrcode");

const now = Math.floor(Date.now() / 1000);
const key = sdk.SecretKey.generate("demo-shop", "k1");
const file = JSON.parse(key.toJson());
const keys = new sdk.KeySet();
keys.addKey("demo-shop", "k1", "ed25519", file.public_key);

const claims = {
  kind: "button", channel: "demo-shop", key_id: "k1", issued_at: now, expires_at: now + 600, serial: 123456789,
  entry: { button: "product-detail", page: "/products/42", product: "SKU-42", campaign: "spring-sale" },
  member: { id: "member-1001", tier: "gold", name: "Kim Minji" },
};
const jwtClaims = { aud: "demo-shop", iat: now, exp: now + 600, jti: "123456789", typ: "button", entry: claims.entry, member: claims.member };
const jwk = { kty: "OKP", crv: "Ed25519", x: file.public_key, d: file.secret_key };
const privateKey = await jose.importJWK(jwk, "EdDSA");
const publicKey = await jose.importJWK({ kty: "OKP", crv: "Ed25519", x: file.public_key }, "EdDSA");

const token = key.sign(claims);
const jwt = await new jose.SignJWT(jwtClaims).setProtectedHeader({ alg: "EdDSA", kid: "k1" }).sign(privateKey);
const printed = key.signDigits({ kind: "printed", channel: "demo-shop", key_id: "k1", issued_at: now, expires_at: now + 86400 * 365, serial: 17, entry: { button: "store-counter" } });
const printedUrl = sdk.printedUrl("https://consult.example.com", printed);

async function rate(fn, iters) {
  const rounds = [];
  for (let r = 0; r < 7; r++) {
    const t0 = performance.now();
    for (let i = 0; i < iters; i++) await fn();
    rounds.push(iters / ((performance.now() - t0) / 1000));
  }
  rounds.sort((a, b) => a - b);
  return rounds[3];
}

const rows = [
  ["verify / s", await rate(() => { if (!keys.verify(token, "demo-shop", "button", now)) throw 0; }, 1000),
    await rate(() => jose.jwtVerify(jwt, publicKey, { audience: "demo-shop" }), 1000)],
  ["sign / s", await rate(() => key.sign(claims), 1000),
    await rate(() => new jose.SignJWT(jwtClaims).setProtectedHeader({ alg: "EdDSA", kid: "k1" }).sign(privateKey), 1000)],
  ["printed QR → SVG / s", await rate(() => sdk.qrSvg(printedUrl, true), 100),
    await rate(() => QRCode.toString(printedUrl, { type: "svg", errorCorrectionLevel: "Q" }), 100)],
];

console.log(`\n## Under Node ${process.version}: Consult wasm beside jose ${require("jose/package.json").version ?? ""} and qrcode (median of 7 rounds, same process)\n`);
console.log("| operation | Consult (wasm) | peer | peer | ratio |");
console.log("|---|---:|---|---:|---:|");
const peers = ["jose (EdDSA JWT)", "jose (EdDSA JWT)", "npm qrcode"];
rows.forEach(([name, ours, theirs], i) => {
  console.log(`| ${name} | ${ours.toFixed(0)} | ${peers[i]} | ${theirs.toFixed(0)} | ${(ours / theirs).toFixed(2)}× |`);
});
console.log(`\n(token ${token.length} chars vs JWT ${jwt.length} chars; printed URL ${printedUrl.length} chars)`);
