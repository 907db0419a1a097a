// Types of `@consult/web`: the launcher (`widget/consult.js`), the same file the script tag loads.
//
// Script tag:  <script async src="https://GATEWAY/widget/consult.js" data-channel="demo-shop"></script>
// Bundler:     import "@consult/web";
//              Consult("boot", { channel: "demo-shop", gateway: "https://GATEWAY" });
//
// Importing the package installs `window.Consult` (a side effect; the module exports nothing but
// these types). Imported in Node without a DOM it throws an Error with code "ERR_CONSULT_NO_DOM".
// Before the script has loaded, pages may queue commands with the usual stub:
//   window.Consult = window.Consult || function () { (Consult.q = Consult.q || []).push(arguments) };
// Every command returns a promise; the ones that can fail reject with an `Error`.

import type { ChannelStatus, ChatMessage, Body, ErrorBody, MenuOption, Sender } from "./types/protocol.js";

// The wire shapes are generated from the Rust protocol (types/protocol.d.ts, `cargo xtask types`);
// these names are the launcher's for them.

/** `GET /v1/channels/{id}/status`, as the `ready` event reports it. */
export type ConsultChannelStatus = ChannelStatus;

/** A stable error body: `code` is machine-readable (`malformed_token`, `origin_not_allowed`, `blocked`…). */
export type ConsultError = ErrorBody;

/** Who wrote a message. */
export type ConsultSender = Sender;

/** One bot menu button. */
export type ConsultMenuOption = MenuOption;

/** What a message holds. Text is text: render it with `textContent`, never as HTML. */
export type ConsultBody = Body;

/** A stored chat message, as the `message` event delivers it. */
export type ConsultMessage = ChatMessage;

/** `boot` options; the script tag's `data-channel`, `data-token`, `data-entry`, `data-locale`
 * and `data-position` attributes are the same options. */
export interface ConsultBootOptions {
  /** Channel id. Required unless the script tag has `data-channel`. */
  channel?: string;
  /** Signed button token from the business's server (unpadded base64url). A malformed token
   * launches anonymously and is reported once through `ready` (`error.code: "malformed_token"`). */
  token?: string | null;
  /** Button or placement id declared by the page (shown to agents as unverified). */
  entry?: string | null;
  /** UI language: `"ko"` or `"en"`; the browser's language otherwise. */
  locale?: "ko" | "en" | (string & {}) | null;
  /** Which corner the floating button sits in. */
  position?: "right" | "left";
  /** The gateway's URL. Needed when the launcher is bundled (no script tag names the gateway);
   * only the first `boot` can set it. */
  gateway?: string;
}

export interface ConsultReadyDetail {
  channel: string;
  /** `null` when the gateway could not be reached (the button still shows). */
  status: ConsultChannelStatus | null;
  /** Set when `data-token` / `token` was malformed. */
  error?: ConsultError;
}

/** Event names and what their listeners receive. */
export interface ConsultEvents {
  /** After `boot`; replayed to listeners added later. */
  ready: ConsultReadyDetail;
  open: Record<string, never>;
  close: Record<string, never>;
  /** A new message in the chat (from the agent, the bot, the system or the visitor). */
  message: ConsultMessage;
  /** Messages the visitor has not seen (the badge on the button). */
  unread: { count: number };
  /** The launch failed (channel off, origin not allowed, blocked…). */
  error: ConsultError;
}

export type ConsultEventName = keyof ConsultEvents;
export type ConsultListener<E extends ConsultEventName> = (detail: ConsultEvents[E]) => void;

/** `Consult(command, …args)`. */
export interface ConsultApi {
  /** Starts the widget; booting twice never makes two widgets (later calls update options). */
  (command: "boot", options?: ConsultBootOptions): Promise<ConsultReadyDetail>;
  /** Opens the chat, optionally with a message prefilled in the composer. Rejects before `boot`
   * or when the channel is switched off. */
  (command: "open", prefill?: string): Promise<void>;
  (command: "close"): Promise<void>;
  /** Sets (or, with `null`, clears) the signed token for the next launch. Rejects a malformed token. */
  (command: "setToken", token: string | null): Promise<void>;
  /** Sets the declared entry (button id) and tells an open chat the page context changed. */
  (command: "setEntry", entry: string | null): Promise<void>;
  /** Forgets the visitor (logout): closes the chat; the next member starts clean. */
  (command: "shutdown"): Promise<void>;
  /** Adds or removes an event listener; `on` rejects an unknown event name. */
  <E extends ConsultEventName>(command: "on" | "off", event: E, listener: ConsultListener<E>): Promise<void>;
  /** Set once the launcher has loaded. */
  readonly loaded?: true;
  /** The pre-load stub's queue. */
  q?: IArguments[];
}

declare global {
  interface Window {
    Consult: ConsultApi;
  }
  // eslint-disable-next-line no-var
  var Consult: ConsultApi;
}

export {};
