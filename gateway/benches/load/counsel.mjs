// Run with `cargo bench -p consult-gateway --bench relay --profile native -- --counsel` (add
// `--quick` for a short check of the instrument, `--help` for the options); `cargo xtask bench`
// runs it after the relay section.
//
// The Counsel API section: starts the real `consult serve` (SQLite, fsync before every ack) with
// one API key per agent made by `consult api-key create`, opens N visitors whose sessions (they
// speak first) are assigned to the agents, and measures in one run:
//
// - replies: the same replies sent two ways, `POST /v1/counsel/sessions/{id}/messages` with the
//   assigned agent's key, and `send` on that agent's desk socket, at fixed rates (open loop) and
//   at saturation (closed loop, a fixed number of requests in flight). Latency = send start (the
//   HTTP request, or the socket frame) → the visitor's socket receives the message, on
//   CLOCK_MONOTONIC in this one process. The two paths alternate within each round. A desk socket
//   runs one command at a time (a send waits for its commit), so the desk path has as many sends
//   in flight as agents (`--agents`); the API has as many as the generator keeps open.
// - webhooks: a receiver in this process (Node http) registered with `POST /v1/counsel/webhooks`
//   for `message.created`; visitors write at fixed rates and at saturation. Deliveries/s as the
//   receiver gets them; latency = the visitor's ack (sent after the commit) → receiver, on the
//   same monotonic clock, and beside it the payload's `message.at_ms` (stored time, Unix ms) →
//   receiver on the wall clock. Every acked message must arrive: missing, duplicate delivery ids
//   and per-session order breaks are counted; a sample of signatures is checked with the npm
//   package's `verifyWebhook` (and one tampered body must be refused).
//
// Each step runs `--rounds` times; the table shows medians. Every process it starts dies with it.
import { spawn, execFileSync } from "node:child_process";
import crypto from "node:crypto";
import fs from "node:fs";
import http from "node:http";
import { createRequire } from "node:module";
import os from "node:os";
import path from "node:path";
import { performance } from "node:perf_hooks";
import { fileURLToPath } from "node:url";
import WebSocket from "ws";
import { ORIGIN, getText, launch, nowNs, postJson } from "./clients.mjs";

const here = path.dirname(fileURLToPath(import.meta.url));
const { verifyWebhook } = createRequire(import.meta.url)(path.join(here, "../../../pkg/lib/webhooks.cjs"));
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const log = (...a) => console.error("[counsel]", ...a);
const PAD = "bench reply, about as long as a short chat line";

const HELP = `usage: node counsel.mjs --consult PATH [options]
  --consult PATH     the consult binary (built with --profile native)
  --quick            a short run for checking the instrument
  --visitors N       visitors with open, assigned sessions (default 200)
  --agents N         agents, each with an API key and a desk socket (default 20)
  --rates LIST       fixed rates, msg/s (default 100,1000)
  --inflight N       requests in flight at saturation (default 64)
  --rounds N         rounds of every step; the table shows medians (default 3)
  --secs N           measured seconds per step, after 0.5 s of warm-up (default 3)
  --json FILE        also write every measurement as JSON`;

function parseArgs(argv) {
  const o = { consult: null, visitors: 200, agents: 20, rates: [100, 1000], inflight: 64, rounds: 3, secs: 3, warmupMs: 500, json: null };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const v = () => {
      if (i + 1 >= argv.length) throw new Error(`${a} needs a value (see --help)`);
      return argv[++i];
    };
    if (a === "--help" || a === "-h") {
      console.log(HELP);
      process.exit(0);
    } else if (a === "--consult") o.consult = v();
    else if (a === "--quick") Object.assign(o, { visitors: 40, agents: 2, rounds: 1, secs: 1 });
    else if (a === "--visitors") o.visitors = Number(v());
    else if (a === "--agents") o.agents = Number(v());
    else if (a === "--rates") o.rates = v().split(",").map(Number);
    else if (a === "--inflight") o.inflight = Number(v());
    else if (a === "--rounds") o.rounds = Number(v());
    else if (a === "--secs") o.secs = Number(v());
    else if (a === "--json") o.json = v();
    else throw new Error(`unknown option ${a} (see --help)`);
  }
  if (!o.consult) throw new Error("--consult PATH is required");
  if (o.agents * 100 < o.visitors) throw new Error(`--visitors ${o.visitors} needs at least ${Math.ceil(o.visitors / 100)} agents (max_chats is 100)`);
  return o;
}
const opts = parseArgs(process.argv.slice(2));

// ---------------------------------------------------------------- the gateway

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "consult-counsel-bench-"));
let server = null;
const cleanup = () => {
  try {
    server?.kill("SIGKILL");
  } catch {}
  fs.rmSync(tmp, { recursive: true, force: true });
};
process.on("exit", cleanup);
for (const sig of ["SIGINT", "SIGTERM", "SIGHUP"]) process.on(sig, () => process.exit(130));
for (const ev of ["uncaughtException", "unhandledRejection"]) {
  process.on(ev, (e) => {
    console.error(`counsel bench failed: ${e?.stack ?? e}`);
    process.exit(1);
  });
}

function config(port) {
  let s = `[server]
listen = "127.0.0.1:${port}"
public_url = "http://127.0.0.1:${port}"
database = ${JSON.stringify(path.join(tmp, "bench.db"))}
durability = "full"
log_format = "json"

[rate_limit]
per_minute = 1000000
burst = 1000000
address_messages_per_second = 10000000
conversation_messages_per_second = 100000

[counsel]
allow_private_targets = true   # the receiver is on loopback

[[channels]]
id = "bench"
allowed_origins = [${JSON.stringify(ORIGIN)}]
guidance = "bench; kept 1 day"
retention_days = 1
keys = { k1 = "ed25519:A6EHv_POEL4dcN0Y50vAmWfk1jCbpQ1fHdyGZBJVMbg" }
`;
  for (let i = 1; i <= opts.agents; i++) s += `\n[[agents]]\nid = "agent${i}"\npassword = "pw"\nmax_chats = 100\n`;
  return s;
}

/// A free ephemeral port (bound, then released).
function freePort() {
  return new Promise((resolve, reject) => {
    const s = http.createServer();
    s.once("error", reject);
    s.listen(0, "127.0.0.1", () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

async function startGateway() {
  const port = await freePort();
  const file = path.join(tmp, "consult.toml");
  fs.writeFileSync(file, config(port));
  // One key per agent (read, write, admin), made the way an operator would, before serving.
  const keys = {};
  for (let i = 1; i <= opts.agents; i++) {
    const args = ["api-key", "create", "--config", file, "--channel", "bench", "--scopes", "read,write,admin", "--name", `bench-agent${i}`, "--agent", `agent${i}`];
    keys[`agent${i}`] = execFileSync(path.resolve(opts.consult), args, { cwd: tmp, stdio: ["ignore", "pipe", "ignore"] }).toString().trim();
  }
  const setpriv = ["/usr/bin/setpriv", "/bin/setpriv"].find((p) => fs.existsSync(p));
  const cmd = [path.resolve(opts.consult), "serve", "--config", file];
  const logFd = fs.openSync(path.join(tmp, "consult.log"), "w");
  server = setpriv ? spawn(setpriv, ["--pdeathsig", "KILL", "--", ...cmd], { stdio: ["ignore", "ignore", logFd], cwd: tmp }) : spawn(cmd[0], cmd.slice(1), { stdio: ["ignore", "ignore", logFd], cwd: tmp });
  fs.closeSync(logFd);
  const base = `http://127.0.0.1:${port}`;
  const until = Date.now() + 20_000;
  for (;;) {
    if (server.exitCode !== null) throw new Error(`consult exited (${server.exitCode}) at start:\n${fs.readFileSync(path.join(tmp, "consult.log"), "utf8").slice(-2000)}`);
    try {
      if ((await getText(`${base}/metrics`)).includes("consult_")) break;
    } catch {}
    if (Date.now() > until) throw new Error(`consult not answering on ${base} after 20 s`);
    await sleep(100);
  }
  return { base, ws: `ws://127.0.0.1:${port}`, kind: "consult", keys, pid: server.pid };
}

const CLK_TCK = Number(execFileSync("getconf", ["CLK_TCK"]).toString()) || 100;
function cpuSeconds(pid) {
  const stat = fs.readFileSync(`/proc/${pid}/stat`, "utf8");
  const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return (Number(f[11]) + Number(f[12])) / CLK_TCK;
}

// ---------------------------------------------------------------- clients

/// Parses `<tag><step>:<send ns>:` from a text.
function marker(text, tag) {
  if (typeof text !== "string" || text[0] !== tag) return null;
  const a = text.indexOf(":");
  const b = text.indexOf(":", a + 1);
  return { step: Number(text.slice(1, a)), sentNs: Number(text.slice(a + 1, b)) };
}

/// The step now measured, and what arrives for it.
let cur = null;

/// A visitor: socket open, `open v<i>` said. Replies (`R…`) are timed on arrival; acks of its own
/// sends are timed for the webhook latency.
async function openVisitor(target, i) {
  const handle = await launch(target);
  const ws = new WebSocket(`${target.ws}/v1/visitor/socket`, { headers: { origin: ORIGIN }, perMessageDeflate: false });
  const v = { i, ws, session: null, agent: null, assigned: false, inflight: 0, n: 0 };
  await new Promise((resolve, reject) => {
    ws.once("error", reject);
    ws.on("open", () => ws.send(JSON.stringify({ type: "hello", version: 1, after_seq: 0, session: handle })));
    ws.on("message", (data) => {
      const s = data.toString();
      if (s.startsWith('{"type":"welcome"')) resolve();
      else if (s.startsWith('{"type":"message"')) {
        const at = s.indexOf('"text":"R');
        if (at < 0 || !cur) return;
        const m = marker(s.slice(at + 8, s.indexOf('"', at + 9)), "R");
        if (m && m.step === cur.id) cur.arrived(m.sentNs, nowNs());
      } else if (s.startsWith('{"type":"ack"')) {
        v.inflight--;
        if (cur?.onAck) cur.onAck(JSON.parse(s).client_id, nowNs());
      } else if (s.startsWith('{"type":"state"')) {
        if (s.includes('"state":"assigned"')) v.assigned = true;
      } else if (s.startsWith('{"type":"error"')) {
        const e = JSON.parse(s);
        if (e.client_id) {
          v.inflight--;
          cur?.onAck?.(e.client_id, null, false);
        }
        cur?.error(`visitor ${e.code}`);
      }
    });
  });
  ws.on("close", () => cur?.error("visitor socket closed"));
  return v;
}

/// An agent on the desk socket: signs in, is available, learns its sessions (`session` events
/// carry the visitor's `open v<i>` as preview) and sends replies as `send` commands.
async function openAgent(target, id, onSession) {
  const r = await postJson(target.base, "/v1/agent/login", { agent_id: id, password: "pw" });
  if (r.status !== 200) throw new Error(`${id} login answered ${r.status}`);
  const ws = new WebSocket(`${target.ws}/v1/agent/socket`, { perMessageDeflate: false });
  const a = { id, ws, pending: new Map() }; // client_id → done(ok)
  const settle = (s, ok) => {
    const cid = JSON.parse(s).client_id;
    const done = a.pending.get(cid);
    a.pending.delete(cid);
    done?.(ok);
    return cid;
  };
  await new Promise((resolve, reject) => {
    ws.once("error", reject);
    ws.on("open", () => ws.send(JSON.stringify({ type: "hello", version: 1, token: r.body.token })));
    ws.on("message", (data) => {
      const s = data.toString();
      if (s.startsWith('{"type":"message"')) return; // the bulk: echoes of every message
      if (s.startsWith('{"type":"ack"')) settle(s, true);
      else if (s.startsWith('{"type":"welcome"')) {
        ws.send(JSON.stringify({ type: "available", available: true }));
        resolve();
      } else if (s.startsWith('{"type":"session"')) {
        const x = JSON.parse(s).session;
        const m = /^open v(\d+)$/.exec(x.preview ?? "");
        if (x.state === "assigned" && x.agent === id && m) onSession(Number(m[1]), x.id, id);
      } else if (s.startsWith('{"type":"error"')) {
        settle(s, false);
        cur?.error(`desk ${JSON.parse(s).code}`);
      }
    });
  });
  ws.on("close", () => cur?.error("agent socket closed"));
  return a;
}

const api = new http.Agent({ keepAlive: true, maxSockets: 256 });

/// `POST …/messages` as the session's agent; calls `done(status)`.
function apiSend(target, v, clientId, text, done) {
  const data = JSON.stringify({ client_id: clientId, sender: "agent", body: { kind: "text", text } });
  const req = http.request(
    `${target.base}/v1/counsel/sessions/${v.session}/messages`,
    { method: "POST", agent: api, headers: { authorization: `Bearer ${target.keys[v.agent]}`, "content-type": "application/json", "content-length": Buffer.byteLength(data) } },
    (res) => {
      res.resume();
      res.on("end", () => done(res.statusCode));
    },
  );
  req.on("error", () => done(0));
  req.end(data);
}

// ---------------------------------------------------------------- statistics

function median(xs) {
  const s = xs.filter(Number.isFinite).sort((a, b) => a - b);
  if (!s.length) return NaN;
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}
function percentile(sorted, p) {
  return sorted.length ? sorted[Math.min(sorted.length - 1, Math.round((sorted.length - 1) * p))] : NaN;
}

let nextStep = 0;
let nextClient = 0;

/// Runs one step: `send(v, clientId, text, done)` fired open loop at `rate`, or closed loop with
/// `inflight` in flight when rate is "sat". `tag` R: the visitors time arrivals; W: the receiver does.
async function runStep({ rate, send, visitors, pid, tag, onAck = null }) {
  const id = ++nextStep;
  const startNs = nowNs() + 20e6;
  const measuredFrom = startNs + opts.warmupMs * 1e6;
  const endNs = measuredFrom + opts.secs * 1e9;
  const step = {
    id,
    measuredFrom,
    endNs,
    lat: [],
    arrivedInWindow: 0,
    arrivedAll: 0,
    sent: 0,
    sentInWindow: 0,
    skipped: 0,
    outstanding: 0,
    errors: {},
    onAck,
    arrived(sentNs, now) {
      step.arrivedAll++;
      if (now >= measuredFrom && now < endNs) step.arrivedInWindow++;
      if (sentNs >= measuredFrom && sentNs < endNs) step.lat.push(now - sentNs);
    },
    error(what) {
      step.errors[what] = (step.errors[what] ?? 0) + 1;
    },
  };
  cur = step;
  const cpu = {};
  const elu0 = performance.eventLoopUtilization();
  let rr = 0;
  const pick = () => {
    for (let k = 0; k < visitors.length; k++) {
      const v = visitors[rr];
      rr = (rr + 1) % visitors.length;
      if (v.inflight < 8) return v;
    }
    return null;
  };
  const fire = (then) => {
    const v = pick();
    if (!v) return false;
    const t = nowNs();
    step.sent++;
    if (t >= measuredFrom && t < endNs) step.sentInWindow++;
    step.outstanding++;
    send(v, `b${++nextClient}`, `${tag}${id}:${t}:${PAD}`, (ok) => {
      step.outstanding--;
      if (!ok) step.error("refused");
      then?.();
    });
    return true;
  };
  const at = (ns, key) => setTimeout(() => (cpu[key] = { s: cpuSeconds(pid), t: nowNs() }), Math.max(0, (ns - nowNs()) / 1e6));
  at(measuredFrom, "a");
  at(endNs, "b");
  await new Promise((resolve) => {
    if (rate === "sat") {
      const loop = () => {
        if (nowNs() >= endNs) return;
        if (!fire(loop)) setTimeout(loop, 1);
      };
      setTimeout(() => {
        for (let k = 0; k < opts.inflight; k++) loop();
      }, Math.max(0, (startNs - nowNs()) / 1e6));
      setTimeout(resolve, (endNs - nowNs()) / 1e6 + 5);
      return;
    }
    let scheduled = 0;
    const tick = () => {
      const now = nowNs();
      if (now >= endNs) return resolve();
      if (now >= startNs) {
        const due = Math.floor(((now - startNs) / 1e9) * rate) - scheduled;
        for (let k = 0; k < due; k++) {
          scheduled++;
          // Past 256 unanswered the gateway is saturated; the send is not made (counted).
          if (step.outstanding >= 256 || !fire(null)) step.skipped++;
        }
      }
      setTimeout(tick, 1);
    };
    tick();
  });
  const elu = performance.eventLoopUtilization(elu0).utilization;
  return { step, cpu, elu };
}

/// Waits until `done()` or `ms` pass.
async function until(done, ms) {
  const end = Date.now() + ms;
  while (!done() && Date.now() < end) await sleep(20);
}

function summarize(rate, path, { step, cpu, elu }) {
  const lat = Float64Array.from(step.lat).sort();
  return {
    rate,
    path,
    offered: step.sentInWindow / opts.secs,
    delivered: step.arrivedInWindow / opts.secs,
    p50ms: percentile(lat, 0.5) / 1e6,
    p99ms: percentile(lat, 0.99) / 1e6,
    samples: lat.length,
    sent: step.sent,
    arrived: step.arrivedAll,
    skipped: step.skipped,
    errors: step.errors,
    genElu: elu,
    serverCores: cpu.a && cpu.b ? (cpu.b.s - cpu.a.s) / ((cpu.b.t - cpu.a.t) / 1e9) : NaN,
  };
}

// ---------------------------------------------------------------- replies: API beside desk

async function replySteps(target, visitors, agents) {
  const byAgent = Object.fromEntries(agents.map((a) => [a.id, a]));
  const paths = {
    api: (v, cid, text, done) => apiSend(target, v, cid, text, (status) => done(status === 200)),
    desk: (v, cid, text, done) => {
      const a = byAgent[v.agent];
      a.pending.set(cid, done);
      a.ws.send(JSON.stringify({ type: "send", session: v.session, client_id: cid, body: { kind: "text", text } }));
    },
  };
  const results = [];
  for (let round = 0; round < opts.rounds; round++) {
    for (const rate of [...opts.rates, "sat"]) {
      const order = round % 2 ? ["desk", "api"] : ["api", "desk"];
      for (const p of order) {
        const run = await runStep({ rate, send: paths[p], visitors, pid: target.pid, tag: "R" });
        await until(() => run.step.outstanding === 0 && run.step.arrivedAll >= run.step.sent - count(run.step.errors), 5000);
        const r = summarize(rate, p, run);
        r.round = round;
        results.push(r);
        log(`round ${round + 1} ${p} @ ${rate}: offered ${fmt(r.offered)}, delivered ${fmt(r.delivered)} msg/s; p50 ${ms(r.p50ms)}, p99 ${ms(r.p99ms)} (${r.samples}); server ${r.serverCores.toFixed(2)} cores, generator ${pct(r.genElu)}${Object.keys(r.errors).length ? `; ${JSON.stringify(r.errors)}` : ""}${r.skipped ? `; ${r.skipped} not sent` : ""}`);
        cur = null;
        await sleep(300);
      }
    }
  }
  return results;
}
const count = (o) => Object.values(o).reduce((n, x) => n + x, 0);

// ---------------------------------------------------------------- webhooks

async function webhookSteps(target, visitors) {
  const secret = `whsec_${crypto.randomBytes(24).toString("base64")}`;
  const seen = new Set(); // webhook-id
  const lastSeq = new Map(); // session → seq
  const ackNs = new Map(); // client_id → ack time
  const totals = { deliveries: 0, duplicates: 0, outOfOrder: 0, verified: 0, badSignatures: 0, tamperRefused: null };
  let wstep = null;
  const receiver = http.createServer((req, res) => {
    const chunks = [];
    req.on("data", (c) => chunks.push(c));
    req.on("end", () => {
      const now = nowNs();
      const wall = performance.timeOrigin + performance.now();
      res.writeHead(204).end();
      const body = Buffer.concat(chunks).toString();
      totals.deliveries++;
      const id = req.headers["webhook-id"];
      if (seen.has(id)) {
        totals.duplicates++;
        return;
      }
      seen.add(id);
      if (totals.tamperRefused === null) {
        try {
          verifyWebhook(secret, req.headers, body.replace('"text":"', '"text":"x'));
          totals.tamperRefused = false;
        } catch (e) {
          totals.tamperRefused = e.code === "bad_signature";
        }
      }
      if (totals.deliveries % 20 === 1) {
        try {
          verifyWebhook(secret, req.headers, body);
          totals.verified++;
        } catch {
          totals.badSignatures++;
        }
      }
      const p = JSON.parse(body);
      if (p.type !== "message.created") return;
      const { session, message } = p.data;
      if ((lastSeq.get(session) ?? 0) >= message.seq) totals.outOfOrder++;
      lastSeq.set(session, message.seq);
      const m = marker(message.body?.text, "W");
      if (!m || !wstep || m.step !== wstep.step.id) return;
      const s = wstep.step;
      s.arrivedAll++;
      if (now >= s.measuredFrom && now < s.endNs) s.arrivedInWindow++;
      wstep.missing.delete(message.client_id);
      if (m.sentNs >= s.measuredFrom && m.sentNs < s.endNs) {
        const ack = ackNs.get(message.client_id);
        if (ack !== undefined) s.lat.push(now - ack);
        wstep.stored.push(wall - message.at_ms);
      }
      wstep.lastNs = now;
    });
  });
  await new Promise((r) => receiver.listen(0, "127.0.0.1", r));
  const url = `http://127.0.0.1:${receiver.address().port}/hook`;
  const key = target.keys.agent1;
  const made = await postJson(target.base, "/v1/counsel/webhooks", { url, events: ["message.created"], secret }, { authorization: `Bearer ${key}` });
  if (made.status !== 201 && made.status !== 200) throw new Error(`POST /v1/counsel/webhooks answered ${made.status}: ${JSON.stringify(made.body)}`);
  log(`webhook endpoint ${made.body?.endpoint?.id ?? ""} → ${url}`);

  const visitorSend = (v, cid, text, done) => {
    v.inflight++;
    wstep.missing.add(cid);
    wstep.pending.set(cid, done);
    v.ws.send(JSON.stringify({ type: "send", client_id: cid, body: { kind: "text", text } }));
  };
  const results = [];
  for (let round = 0; round < opts.rounds; round++) {
    for (const rate of [...opts.rates, "sat"]) {
      wstep = { missing: new Set(), pending: new Map(), stored: [], lastNs: 0 };
      const onAck = (cid, t, ok = true) => {
        if (ok) ackNs.set(cid, t);
        else wstep.missing.delete(cid); // refused, so never stored: nothing to deliver
        const done = wstep.pending.get(cid);
        wstep.pending.delete(cid);
        done?.(ok);
      };
      const stepPromise = runStep({ rate, send: visitorSend, visitors, pid: target.pid, tag: "W", onAck });
      wstep.step = cur;
      const run = await stepPromise;
      const sendsEnd = nowNs();
      // Every acked message must arrive; a backlog may take a while to drain.
      await until(() => run.step.outstanding === 0 && wstep.missing.size === 0, 120_000);
      const r = summarize(rate, "webhook", run);
      const stored = Float64Array.from(wstep.stored).sort();
      r.storedP50ms = percentile(stored, 0.5);
      r.storedP99ms = percentile(stored, 0.99);
      r.missing = wstep.missing.size;
      r.drainSecs = wstep.lastNs > sendsEnd ? (wstep.lastNs - sendsEnd) / 1e9 : 0;
      r.round = round;
      results.push(r);
      log(
        `round ${round + 1} webhooks @ ${rate}: visitors sent ${fmt(r.offered)}/s, receiver got ${fmt(r.delivered)}/s; ack → receiver p50 ${ms(r.p50ms)}, p99 ${ms(r.p99ms)}; ` +
          `at_ms → receiver p99 ${ms(r.storedP99ms)}; ${r.missing} missing; last delivery ${r.drainSecs.toFixed(2)} s after the sends stopped; server ${r.serverCores.toFixed(2)} cores, generator ${pct(r.genElu)}` +
          `${Object.keys(r.errors).length ? `; ${JSON.stringify(r.errors)}` : ""}`,
      );
      cur = null;
      ackNs.clear();
      await sleep(300);
    }
  }
  await sleep(500);
  receiver.close();
  return { results, totals };
}

// ---------------------------------------------------------------- table

const fmt = (x) => (Number.isFinite(x) ? Math.round(x).toLocaleString("en-US") : "—");
const ms = (x) => (Number.isFinite(x) ? `${x < 10 ? x.toFixed(2) : x.toFixed(1)} ms` : "—");
const pct = (x) => (Number.isFinite(x) ? `${Math.round(x * 100)} %` : "—");
const GEN_BUSY = 0.85;

function medianOf(rows) {
  const m = (k) => median(rows.map((r) => r[k]));
  return { offered: m("offered"), delivered: m("delivered"), p50ms: m("p50ms"), p99ms: m("p99ms"), storedP99ms: m("storedP99ms"), serverCores: m("serverCores"), genElu: Math.max(...rows.map((r) => r.genElu)) };
}

function table(replies, hooks) {
  const rows = [];
  const label = (rate) => (rate === "sat" ? `saturation (${opts.inflight} in flight)` : `${fmt(rate)} msg/s`);
  const gen = (m) => (m.genElu >= GEN_BUSY ? " †" : "");
  for (const rate of [...opts.rates, "sat"]) {
    const api = medianOf(replies.filter((r) => r.rate === rate && r.path === "api"));
    const desk = medianOf(replies.filter((r) => r.rate === rate && r.path === "desk"));
    const ratio = Number.isFinite(api.p99ms / desk.p99ms) ? `p99 ${(api.p99ms / desk.p99ms).toFixed(2)}×, rate ${(api.delivered / desk.delivered).toFixed(2)}×` : "";
    rows.push([label(rate), "API `POST …/messages` → visitor socket", `${fmt(api.delivered)}${gen(api)}`, `${ms(api.p50ms)} / ${ms(api.p99ms)}`, api.serverCores.toFixed(2), ratio]);
    rows.push([label(rate), "desk socket `send` → visitor socket", `${fmt(desk.delivered)}${gen(desk)}`, `${ms(desk.p50ms)} / ${ms(desk.p99ms)}`, desk.serverCores.toFixed(2), ""]);
  }
  for (const rate of [...opts.rates, "sat"]) {
    const rs = hooks.results.filter((r) => r.rate === rate);
    const h = medianOf(rs);
    const drain = median(rs.map((r) => r.drainSecs));
    const label2 = rate === "sat" ? `saturation (${opts.inflight} visitor sends in flight)` : label(rate);
    rows.push([label2, "webhook `message.created` → receiver", `${fmt(h.delivered)} of ${fmt(h.offered)} sent${gen(h)}`, `${ms(h.p50ms)} / ${ms(h.p99ms)}`, h.serverCores.toFixed(2), `at_ms → receiver p99 ${ms(h.storedP99ms)}; drained ${drain.toFixed(1)} s after sends`]);
  }
  const head = ["load", "path", "delivered msg/s", "latency p50 / p99", "server cores", "notes"];
  const widths = head.map((x, i) => Math.max(x.length, ...rows.map((r) => r[i].length)));
  const line = (cells) => `| ${cells.map((c, i) => (i >= 2 && i <= 4 ? c.padStart(widths[i]) : c.padEnd(widths[i]))).join(" | ")} |`;
  return [line(head), `|${widths.map((w, i) => (i >= 2 && i <= 4 ? `${"-".repeat(w + 1)}:` : "-".repeat(w + 2))).join("|")}|`, ...rows.map(line)].join("\n");
}

// ---------------------------------------------------------------- main

const started = Date.now();
const target = await startGateway();
log(`consult on ${target.base}, ${opts.agents} agents with API keys`);
const assignedTo = new Map(); // visitor index → { session, agent }
const agents = [];
for (let i = 1; i <= opts.agents; i++) agents.push(await openAgent(target, `agent${i}`, (vi, session, agent) => assignedTo.set(vi, { session, agent })));
const visitors = [];
for (let i = 0; i < opts.visitors; i += 20) visitors.push(...(await Promise.all(Array.from({ length: Math.min(20, opts.visitors - i) }, (_, k) => openVisitor(target, i + k)))));
// The visitor speaks first; the session is queued, then assigned to an available agent.
for (const v of visitors) {
  v.inflight++;
  v.ws.send(JSON.stringify({ type: "send", client_id: `open-${v.i}`, body: { kind: "text", text: `open v${v.i}` } }));
  await sleep(5);
}
await until(() => visitors.every((v) => v.assigned) && assignedTo.size >= visitors.length, 30_000);
for (const v of visitors) Object.assign(v, assignedTo.get(v.i) ?? {});
const ready = visitors.filter((v) => v.assigned && v.session);
if (ready.length < visitors.length) log(`only ${ready.length} of ${visitors.length} visitors assigned and mapped; measuring those`);
log(`${ready.length} sessions assigned across ${opts.agents} agents`);

const replies = await replySteps(target, ready, agents);
const hooks = await webhookSteps(target, ready);
for (const v of visitors) v.ws.terminate();
for (const a of agents) a.ws.terminate();

const t = hooks.totals;
const missing = hooks.results.reduce((n, r) => n + r.missing, 0);
console.log();
console.log(
  `Counsel API and webhooks, ${os.cpus().length} cores: \`consult serve\`, SQLite, fsync before every ack; ${ready.length} open sessions across ${opts.agents} agents; ` +
    `one generator (Node ${process.version}, one thread); each step ${opts.warmupMs / 1000} s + ${opts.secs} s measured, medians of ${opts.rounds} round(s). ` +
    `Replies: send start → the visitor's socket receives, CLOCK_MONOTONIC. Webhooks: the visitor's ack (after the commit) → the receiver, CLOCK_MONOTONIC; at_ms = the stored message time (Unix ms) → the receiver, wall clock.`,
);
console.log();
console.log(table(replies, hooks));
console.log();
console.log(
  `Webhooks: ${fmt(t.deliveries)} deliveries, ${missing} acked messages missing, ${t.duplicates} duplicate delivery ids, ${t.outOfOrder} out of seq order per session; ` +
    `${t.verified} sampled signatures verified with verifyWebhook, ${t.badSignatures} refused; a tampered body ${t.tamperRefused ? "refused (bad_signature)" : "NOT refused"}. ` +
    `† the generator was busy ≥ ${pct(GEN_BUSY)}: the figure may be the generator's. Per-step detail is on stderr${opts.json ? ` and in ${opts.json}` : ""}.`,
);
console.log(`(whole section ${((Date.now() - started) / 1000).toFixed(0)} s)`);
if (opts.json) fs.writeFileSync(opts.json, JSON.stringify({ opts, cores: os.cpus().length, sessions: ready.length, replies, webhooks: hooks }, null, 2));
const failed = missing > 0 || t.badSignatures > 0 || t.tamperRefused === false || t.outOfOrder > 0;
process.exit(failed ? 1 : 0);
