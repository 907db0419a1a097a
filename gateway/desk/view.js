// Consult agent desk: pure view helpers (no DOM), loaded before desk.js and tested under Node
// (gateway/tests/integration/desk.rs).
"use strict";

const ENTRY_FIELDS = ["button", "page", "product", "campaign", "order", "tags"];

function fieldValue(ep, k) {
  if (!ep) return "";
  const v = ep[k];
  if (Array.isArray(v)) return v.join(", ");
  return v === undefined || v === null ? "" : String(v);
}

// The entry point as the desk shows it: every verified field, and only those declared fields
// that say something the signature does not — absent from the verified entry (`differs: false`)
// or contradicting it (`differs: true`, with the verified value, since that is a signal).
function entryRows(verified, declared) {
  const v = ENTRY_FIELDS.map((k) => [k, fieldValue(verified, k)]).filter(([, x]) => x);
  const d = [];
  for (const k of ENTRY_FIELDS) {
    const dv = fieldValue(declared, k);
    if (!dv) continue;
    const vv = fieldValue(verified, k);
    if (vv === dv) continue;
    d.push({ key: k, value: dv, differs: vv !== "", verified: vv });
  }
  return { verified: v, declared: d };
}

// One line for lists, as the gateway makes SessionSummary.preview.
function previewOf(body) {
  if (!body) return "";
  if (body.kind === "image") return "[photo]";
  if (body.kind === "file") return "[file]";
  const text = (body.text || "").split(/\s+/).filter(Boolean).join(" ");
  const chars = [...text];
  return chars.length > 120 ? chars.slice(0, 120).join("").trimEnd() + "…" : text;
}

if (typeof module !== "undefined") module.exports = { entryRows, previewOf };
