"use strict";
// `@consult/web` under Node (the "node" export condition). The launcher is a browser script: it
// installs window.Consult and paints buttons into the page. With a DOM (jsdom, happy-dom) it loads
// as usual; without one, the error says what to use instead of a ReferenceError from inside it.
if (typeof window === "undefined" || typeof document === "undefined") {
  const error = new Error(
    "@consult/web is the browser launcher: it installs window.Consult and needs a DOM (window and document). " +
      "Import it from browser code only (or load it under jsdom in tests); " +
      "to sign or verify tokens on a server, use @consult/web/sdk.",
  );
  error.code = "ERR_CONSULT_NO_DOM";
  throw error;
}
require("../widget/consult.js");
