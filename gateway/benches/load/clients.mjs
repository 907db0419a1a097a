// The load generator's clients: one visitor and one agent shape per server kind, so the same
// driver code runs against the gateway and both peers.
//
// - `consult`: the real gateway. `POST /v1/launch`, visitor socket `hello` carrying the handle,
//   agents sign in and say `hello` with their token. Node `ws` clients.
// - `ws`: peer-ws.mjs, the same frames without launch or sign-in. Node `ws` clients.
// - `socketio`: peer-socketio.mjs, the same flow as socket.io events. socket.io-client, websocket
//   transport only, one connection per client (`forceNew`).
//
// Frames are classified by their first bytes (`{"type":"ack"…`) rather than parsed: at tens of
// thousands of frames a second the generator must not be what saturates.
import http from "node:http";
import net from "node:net";
import WebSocket from "ws";
import { io } from "socket.io-client";

/// The allowed origin of the bench channel.
export const ORIGIN = "https://bench.test";

const keepAlive = new http.Agent({ keepAlive: true, maxSockets: 64 });

/// Monotonic now, nanoseconds (CLOCK_MONOTONIC: one clock for every thread and process here).
export const nowNs = () => Number(process.hrtime.bigint());

/// POST JSON; resolves { status, body } (body parsed when it is JSON).
export function postJson(base, path, payload, headers = {}) {
  const data = JSON.stringify(payload);
  return new Promise((resolve, reject) => {
    const req = http.request(
      `${base}${path}`,
      { method: "POST", agent: keepAlive, headers: { "content-type": "application/json", "content-length": Buffer.byteLength(data), ...headers } },
      (res) => {
        const chunks = [];
        res.on("data", (c) => chunks.push(c));
        res.on("end", () => {
          const text = Buffer.concat(chunks).toString();
          let body = text;
          try {
            body = JSON.parse(text);
          } catch {}
          resolve({ status: res.statusCode, body });
        });
      },
    );
    req.on("error", reject);
    req.setTimeout(10_000, () => req.destroy(new Error(`POST ${path} timed out`)));
    req.end(data);
  });
}

/// GET text (on `agent`, or the shared keep-alive pool).
export function getText(url, agent = keepAlive) {
  return new Promise((resolve, reject) => {
    const req = http.get(url, { agent }, (res) => {
      const chunks = [];
      res.on("data", (c) => chunks.push(c));
      res.on("end", () => resolve(Buffer.concat(chunks).toString()));
    });
    req.on("error", reject);
    req.setTimeout(5_000, () => req.destroy(new Error(`GET ${url} timed out`)));
  });
}

/// A visitor handle from `POST /v1/launch` (consult only).
/// The node client `i` uses: a cluster's nodes take turns.
export function nodeOf(target, i) {
  return target.nodes ? target.nodes[i % target.nodes.length] : target;
}

export async function launch(target) {
  const r = await postJson(target.base, "/v1/launch", { channel: "bench" }, { origin: ORIGIN });
  if (r.status !== 200 || typeof r.body?.session !== "string") {
    throw new Error(`launch answered ${r.status}: ${typeof r.body === "string" ? r.body.slice(0, 120) : JSON.stringify(r.body).slice(0, 120)}`);
  }
  return r.body.session;
}

/// One launch client for the launches/s figure: a single keep-alive connection sending
/// `POST /v1/launch` and waiting for each answer before the next, until `untilNs`. Written on a
/// bare socket (request bytes built once, answers read by Content-Length) because Node's HTTP
/// client costs the generator more CPU per request than the gateway spends answering it, and
/// the two share this machine's cores. Resolves { ok, failed, firstError }.
export function launchLoop(target, untilNs) {
  const url = new URL(target.base);
  const body = JSON.stringify({ channel: "bench" });
  const request = Buffer.from(
    `POST /v1/launch HTTP/1.1\r\nhost: ${url.host}\r\norigin: ${ORIGIN}\r\ncontent-type: application/json\r\n` +
      `content-length: ${Buffer.byteLength(body)}\r\n\r\n${body}`,
  );
  return new Promise((resolve) => {
    const r = { ok: 0, failed: 0, firstError: null };
    const socket = net.connect(Number(url.port), url.hostname);
    let buf = Buffer.alloc(0);
    const next = () => {
      if (nowNs() >= untilNs) {
        socket.end();
        return resolve(r);
      }
      socket.write(request);
    };
    socket.setNoDelay(true);
    socket.on("connect", next);
    socket.on("error", (e) => {
      r.failed++;
      r.firstError ??= `launch connection: ${e.message}`;
      resolve(r);
    });
    socket.on("data", (chunk) => {
      buf = buf.length ? Buffer.concat([buf, chunk]) : chunk;
      for (;;) {
        const end = buf.indexOf("\r\n\r\n");
        if (end < 0) return;
        const head = buf.subarray(0, end).toString("latin1");
        const length = Number(/\r\ncontent-length: *(\d+)/i.exec(head)?.[1] ?? NaN);
        if (!Number.isFinite(length)) {
          r.failed++;
          r.firstError ??= `launch answer without content-length: ${head.slice(0, 80)}`;
          socket.destroy();
          return resolve(r);
        }
        if (buf.length < end + 4 + length) return;
        const status = Number(head.slice(9, 12));
        const answer = buf.subarray(end + 4, end + 4 + length);
        buf = buf.subarray(end + 4 + length);
        if (status === 200 && answer.includes('"session"')) r.ok++;
        else {
          r.failed++;
          r.firstError ??= `launch answered ${status}: ${answer.toString().slice(0, 120)}`;
        }
        next();
      }
    });
  });
}

/// Classifies a visitor frame of the ws kinds by its prefix.
function visitorKind(s) {
  if (s.startsWith('{"type":"ack"')) return "ack";
  if (s.startsWith('{"type":"message"')) return "message";
  if (s.startsWith('{"type":"error"')) return "error";
  if (s.startsWith('{"type":"state"')) return "state";
  if (s.startsWith('{"type":"welcome"')) return "welcome";
  return "other";
}

/// `opened` or a timeout, whichever comes first; on failure the connection is closed, so a
/// refused or late client never lingers as a session the server still counts.
function settle(opened, ms, what, close) {
  let timer;
  const late = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: no answer in ${ms} ms`)), ms);
  });
  return Promise.race([opened, late]).then(
    (x) => {
      clearTimeout(timer);
      return x;
    },
    (e) => {
      clearTimeout(timer);
      close();
      throw e;
    },
  );
}

/// Opens a visitor socket and says hello; resolves after `welcome` with
/// { send(clientId, text), close() }. `on(kind, payload)` gets every later frame:
/// kind is ack | message | error | state | closed | other; payload is { code, client_id } for errors,
/// { state } for state, nothing otherwise.
export function openVisitor(target, handle, on = () => {}, timeoutMs = 15_000) {
  if (target.kind === "socketio") {
    const socket = io(`${target.base}/visitor`, { forceNew: true, transports: ["websocket"], reconnection: false, timeout: timeoutMs });
    const opened = new Promise((resolve, reject) => {
      socket.on("connect_error", (e) => reject(new Error(`socket.io connect: ${e.message}`)));
      socket.on("connect", () => socket.emit("hello", { version: 1, after_seq: 0 }));
      socket.once("welcome", () =>
        resolve({
          send: (client_id, text) => socket.emit("send", { client_id, body: { kind: "text", text } }),
          close: () => socket.disconnect(),
        }),
      );
    });
    socket.on("ack", () => on("ack"));
    socket.on("message", () => on("message"));
    socket.on("state", (e) => on("state", e));
    socket.on("error", (e) => on("error", e));
    socket.on("disconnect", (reason) => on("closed", { reason }));
    return settle(opened, timeoutMs, "visitor hello", () => socket.disconnect());
  }
  const ws = new WebSocket(`${target.ws}/v1/visitor/socket`, { headers: { origin: ORIGIN }, perMessageDeflate: false });
  const hello = { type: "hello", version: 1, after_seq: 0 };
  if (target.kind === "consult") hello.session = handle;
  let welcomed = false;
  const opened = new Promise((resolve, reject) => {
    ws.on("error", (e) => reject(new Error(`visitor socket: ${e.message}`)));
    ws.on("unexpected-response", (_, res) => reject(new Error(`visitor socket upgrade answered ${res.statusCode}`)));
    ws.on("close", (code) => (welcomed ? on("closed", { code }) : reject(new Error(`visitor socket closed (${code}) before welcome`))));
    ws.on("open", () => ws.send(JSON.stringify(hello)));
    ws.on("message", (data) => {
      const s = data.toString();
      const kind = visitorKind(s);
      if (!welcomed) {
        if (kind === "welcome") {
          welcomed = true;
          resolve({
            send: (client_id, text) => ws.send(JSON.stringify({ type: "send", client_id, body: { kind: "text", text } })),
            close: () => ws.terminate(),
          });
        } else if (kind === "error") {
          reject(new Error(`hello refused: ${s.slice(0, 160)}`));
        }
        return;
      }
      if (kind === "error") on(kind, JSON.parse(s));
      else if (kind === "state") on(kind, JSON.parse(s));
      else on(kind);
    });
  });
  return settle(opened, timeoutMs, "visitor hello", () => ws.terminate());
}

/// Extracts the bench marker (`L<step>:<send ns>:`) from a delivered text.
function marker(text) {
  if (typeof text !== "string" || text[0] !== "L") return null;
  const a = text.indexOf(":");
  const b = text.indexOf(":", a + 1);
  return { step: Number(text.slice(1, a)), sentNs: Number(text.slice(a + 1, b)) };
}

/// Signs agent `i` in (consult), opens its socket, says hello and becomes available.
/// `onMessage({ step, sentNs })` gets every delivered visitor message carrying a bench marker;
/// `onClosed(why)` is called if the socket closes after `welcome`.
export async function openAgent(target, i, onMessage, onClosed = () => {}) {
  if (target.kind === "socketio") {
    const socket = io(`${target.base}/agent`, { forceNew: true, transports: ["websocket"], reconnection: false, timeout: 15_000 });
    const opened = new Promise((resolve, reject) => {
      socket.on("connect_error", (e) => reject(new Error(`socket.io connect: ${e.message}`)));
      socket.on("connect", () => socket.emit("hello", { version: 1 }));
      socket.once("welcome", () => {
        socket.emit("available", { available: true });
        resolve({
          close: () => {
            onClosed = () => {};
            socket.disconnect();
          },
        });
      });
    });
    socket.on("message", (e) => {
      const m = marker(e?.message?.body?.text);
      if (m) onMessage(m);
    });
    socket.on("disconnect", (reason) => onClosed(reason));
    return settle(opened, 15_000, `agent ${i} hello`, () => socket.disconnect());
  }
  const hello = { type: "hello", version: 1 };
  if (target.kind === "consult") {
    const r = await postJson(target.base, "/v1/agent/login", { agent_id: `agent${i}`, password: "pw" });
    if (r.status !== 200) throw new Error(`agent${i} login answered ${r.status}: ${JSON.stringify(r.body).slice(0, 160)}`);
    hello.token = r.body.token;
  }
  const ws = new WebSocket(`${target.ws}/v1/agent/socket`, { perMessageDeflate: false });
  let welcomed = false;
  const opened = new Promise((resolve, reject) => {
    ws.on("error", (e) => reject(new Error(`agent socket: ${e.message}`)));
    ws.on("unexpected-response", (_, res) => reject(new Error(`agent socket upgrade answered ${res.statusCode}`)));
    ws.on("close", (code, reason) => (welcomed ? onClosed(`${code} ${reason}`.trim()) : reject(new Error(`agent socket closed (${code}) before welcome`))));
    ws.on("open", () => ws.send(JSON.stringify(hello)));
    ws.on("message", (data) => {
      const s = data.toString();
      if (!welcomed) {
        if (s.startsWith('{"type":"welcome"')) {
          welcomed = true;
          ws.send(JSON.stringify({ type: "available", available: true }));
          resolve({
            close: () => {
              onClosed = () => {};
              ws.terminate();
            },
          });
        } else if (s.startsWith('{"type":"error"')) {
          reject(new Error(`agent hello refused: ${s.slice(0, 160)}`));
        }
        return;
      }
      if (!s.startsWith('{"type":"message"')) return;
      const at = s.indexOf('"text":"L');
      if (at < 0) return;
      const m = marker(s.slice(at + 8, s.indexOf('"', at + 9)));
      if (m) onMessage(m);
    });
  });
  return settle(opened, 15_000, `agent ${i} hello`, () => ws.terminate());
}
