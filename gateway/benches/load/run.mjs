// Run with `cargo xtask bench` (every bench), or this section alone with
// `cargo bench -p consult-gateway --bench relay --profile native` (add `-- --quick` for a short
// run, `-- --help` for the options). relay.rs installs the npm packages and starts this file.
//
// The gateway section of the benches: starts the real `consult serve` (SQLite, fsync before every
// ack) and two peers that store nothing (peer-ws.mjs, a plain Node `ws` relay; peer-socketio.mjs,
// a socket.io relay), drives each with the same generator and prints one table with ratios:
//
// - launches/s: 32 concurrent clients on keep-alive connections (gateway only);
// - idle sessions: held in steps (1k, 5k, 10k, then as many as the server will take), each
//   counted by the server itself (`/metrics`) beside its resident memory (VmRSS); RSS per idle
//   session = RSS growth / sessions held, from before the first step; then back to 10k;
// - relay: 500 active visitors across 5 agents, with those 10k idle sessions open, at 100, 1,000
//   and 5,000 msg/s asked, then rising until the delivered rate stops growing (two steps without
//   5 % more): the saturation rate is the highest median delivered. Sends are open loop, at most
//   8 unanswered per visitor; busy and rate_limited refusals are counted apart. Latency is
//   visitor send → agent receive on CLOCK_MONOTONIC, inside this generator.
//
// Every process it starts dies with it (exit, Ctrl-C, failure). Ports come from 9500-9599.
import { spawn, fork, execFileSync } from "node:child_process";
import fs from "node:fs";
import http from "node:http";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import { performance } from "node:perf_hooks";
import { fileURLToPath } from "node:url";
import { Worker } from "node:worker_threads";
import { getText, launch, nodeOf, nowNs, openAgent } from "./clients.mjs";

const here = path.dirname(fileURLToPath(import.meta.url));
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const log = (...a) => console.error("[bench]", ...a);

// ---------------------------------------------------------------- options

const HELP = `usage: node run.mjs --consult PATH [options]
  --consult PATH        the consult binary (built with --profile native)
  --only LIST           servers to measure, of consult,ws,socketio (default all three), and
                        consult-pg, consult-pg3: consult on a throwaway PostgreSQL (tests/pg-temp.sh),
                        one node or three (visitors and agents spread over the nodes)
  --quick               a short run for checking the instrument (small steps, fewer windows)
  --rates LIST          fixed offered rates, msg/s (default 100,1000,5000)
  --ramp LIST           saturation rates tried after them (default 7500,10000,15000,20000,30000,40000)
  --idle LIST           idle session steps (default 1000,5000,10000; "max" always follows)
  --max-idle N          sessions tried at the "max" step (default 20000: the open-file limit)
  --relay-idle N        idle sessions kept open during the relay steps (default 10000)
  --visitors N          active visitors (default 500)     --agents N   agents (default 5)
  --arrivals N          active visitors arriving per second before the relay steps (default 200)
  --threads N           generator worker threads for launches and visitors (default 2)
  --windows N           measured 1 s windows per rate step (default 4)
  --pg-connections N    PostgreSQL connections per node ([server] database_connections; default the server's)
  --json FILE           also write every measurement as JSON`;

function parseArgs(argv) {
  const o = {
    consult: null,
    only: ["consult", "ws", "socketio"],
    rates: [100, 1000, 5000],
    ramp: [7500, 10000, 15000, 20000, 30000, 40000],
    idle: [1000, 5000, 10000],
    maxIdle: 20000,
    relayIdle: 10000,
    visitors: 500,
    agents: 5,
    arrivals: 200,
    // Unanswered sends one visitor may have; past it a due send is not made (counted apart).
    // With 500 visitors that bounds the backlog a saturated server builds to 4,000 messages.
    window: 8,
    threads: 2,
    windows: 4,
    windowMs: 1000,
    warmupMs: 1000,
    drainMs: 3000,
    launchSecs: 3,
    launchClients: 32,
    perHolder: 9000,
    pgConnections: null,
    json: null,
  };
  const list = (v) => v.split(",").map((x) => x.trim()).filter(Boolean);
  const nums = (v) => list(v).map(Number);
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
    else if (a === "--only") o.only = list(v());
    else if (a === "--quick") Object.assign(o, { rates: [100, 1000], ramp: [2000, 4000], idle: [500, 1000], maxIdle: 2000, relayIdle: 1000, windows: 2, drainMs: 1500, launchSecs: 1 });
    else if (a === "--rates") o.rates = nums(v());
    else if (a === "--ramp") o.ramp = nums(v());
    else if (a === "--idle") o.idle = nums(v());
    else if (a === "--max-idle") o.maxIdle = Number(v());
    else if (a === "--relay-idle") o.relayIdle = Number(v());
    else if (a === "--visitors") o.visitors = Number(v());
    else if (a === "--agents") o.agents = Number(v());
    else if (a === "--threads") o.threads = Number(v());
    else if (a === "--arrivals") o.arrivals = Number(v());
    else if (a === "--windows") o.windows = Number(v());
    else if (a === "--pg-connections") o.pgConnections = Number(v());
    else if (a === "--json") o.json = v();
    else throw new Error(`unknown option ${a} (see --help)`);
  }
  const bad = o.only.filter((k) => !KINDS.includes(k));
  if (bad.length) throw new Error(`--only: ${bad.join(",")} is not one of ${KINDS.join(",")}`);
  if (o.only.some(isConsult) && !o.consult) throw new Error("--consult PATH is required to measure the gateway (or --only ws,socketio)");
  if (o.agents * 100 < o.visitors) throw new Error(`--visitors ${o.visitors} needs at least ${Math.ceil(o.visitors / 100)} agents (max_chats is 100)`);
  return o;
}

const KINDS = ["consult", "ws", "socketio", "consult-pg", "consult-pg3"];
const isConsult = (kind) => kind.startsWith("consult");
/// Gateway nodes of a kind (one but for the three-node cluster).
const nodesOf = (kind) => (kind === "consult-pg3" ? 3 : 1);
/// Ports a kind needs: its nodes, and PostgreSQL's.
const portsOf = (kind) => nodesOf(kind) + (kind.startsWith("consult-pg") ? 1 : 0);

// ---------------------------------------------------------------- processes we start

const children = new Set();
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "consult-bench-"));
let cleaned = false;

function cleanup() {
  if (cleaned) return;
  cleaned = true;
  for (const c of children) {
    try {
      c.kill("SIGKILL");
    } catch {}
  }
  fs.rmSync(tmp, { recursive: true, force: true });
}
process.on("exit", cleanup);
for (const sig of ["SIGINT", "SIGTERM", "SIGHUP"]) {
  process.on(sig, () => {
    log(`${sig}: stopping every process this bench started`);
    cleanup();
    process.exit(130);
  });
}
process.on("uncaughtException", (e) => {
  console.error(`bench failed: ${e.stack ?? e}`);
  cleanup();
  process.exit(1);
});
process.on("unhandledRejection", (e) => {
  console.error(`bench failed: ${e?.stack ?? e}`);
  cleanup();
  process.exit(1);
});

const setpriv = ["/usr/bin/setpriv", "/bin/setpriv"].find((p) => fs.existsSync(p));

/// Starts a server process; with setpriv it also dies if this process is killed outright.
function startProcess(cmd, args, logName) {
  const logFd = fs.openSync(path.join(tmp, logName), "w");
  const [file, argv] = setpriv ? [setpriv, ["--pdeathsig", "KILL", "--", cmd, ...args]] : [cmd, args];
  const child = spawn(file, argv, { stdio: ["pipe", "pipe", logFd], cwd: tmp });
  fs.closeSync(logFd);
  children.add(child);
  child.on("exit", () => children.delete(child));
  return child;
}

function logTail(name, lines = 15) {
  try {
    return fs.readFileSync(path.join(tmp, name), "utf8").trim().split("\n").slice(-lines).join("\n");
  } catch {
    return "";
  }
}

async function stopServer(srv) {
  for (const node of srv.nodes) {
    clearInterval(node.warm);
    node.metricsAgent.destroy();
    await stopProcess(node.child);
  }
  if (srv.postgres) {
    execFileSync("sh", [srv.postgres.script, "stop", srv.postgres.dir]);
    fs.rmSync(srv.postgres.dir, { recursive: true, force: true });
  }
}

async function stopProcess(child) {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((r) => child.once("exit", r));
  child.kill("SIGTERM");
  if (await Promise.race([exited.then(() => true), sleep(3000).then(() => false)])) return;
  child.kill("SIGKILL");
  await exited;
}

/// Free ports from 9500-9599, checked by binding.
async function freePorts(n) {
  const found = [];
  for (let p = 9500; p <= 9599 && found.length < n; p++) {
    const ok = await new Promise((resolve) => {
      const s = net.createServer();
      s.once("error", () => resolve(false));
      s.listen(p, "127.0.0.1", () => s.close(() => resolve(true)));
    });
    if (ok) found.push(p);
  }
  if (found.length < n) throw new Error(`only ${found.length} free ports in 9500-9599; ${n} needed`);
  return found;
}

// ---------------------------------------------------------------- servers

function consultConfig(port, agents, database, pgConnections) {
  let s = `[server]
listen = "127.0.0.1:${port}"
public_url = "http://127.0.0.1:${port}"
database = ${JSON.stringify(database)}
durability = "full"
log_format = "json"
${pgConnections && database.startsWith("postgres") ? `database_connections = ${pgConnections}\n` : ""}
[rate_limit]
per_minute = 1000000
burst = 1000000
address_messages_per_second = 10000000
conversation_messages_per_second = 100000

[[channels]]
id = "bench"
allowed_origins = ["https://bench.test"]
guidance = "bench; kept 1 day"
retention_days = 1
keys = { k1 = "ed25519:A6EHv_POEL4dcN0Y50vAmWfk1jCbpQ1fHdyGZBJVMbg" }
`;
  for (let i = 1; i <= agents; i++) s += `\n[[agents]]\nid = "agent${i}"\npassword = "pw"\nmax_chats = 100\n`;
  return s;
}

/// A throwaway PostgreSQL (tests/pg-temp.sh) that stops when this process ends; its URL.
function startPostgres(port) {
  // Not under `tmp`: the server runs as the postgres user, who can't enter it.
  const dir = path.join(os.tmpdir(), `consult-bench-pg-${process.pid}-${port}`);
  const script = path.join(here, "../../tests/pg-temp.sh");
  const url = execFileSync("sh", [script, "start", dir, String(port), String(process.pid)]).toString().trim();
  return { dir, script, url };
}

/// One gateway node or peer process, answering /metrics.
async function startNode(kind, port, database, n) {
  const base = `http://127.0.0.1:${port}`;
  let child;
  const logName = isConsult(kind) ? `consult-${n}.log` : `${kind}.log`;
  if (isConsult(kind)) {
    const config = path.join(tmp, `consult-${n}.toml`);
    fs.writeFileSync(config, consultConfig(port, opts.agents, database, opts.pgConnections));
    child = startProcess(path.resolve(opts.consult), ["serve", "--config", config], logName);
  } else {
    child = startProcess(process.execPath, [path.join(here, kind === "ws" ? "peer-ws.mjs" : "peer-socketio.mjs"), String(port)], logName);
  }
  const until = Date.now() + 20_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`${kind} server exited (${child.exitCode}) at start:\n${logTail(logName)}`);
    try {
      if ((await getText(`${base}/metrics`)).includes("_visitor_sockets")) break;
    } catch {}
    if (Date.now() > until) throw new Error(`${kind} server not answering /metrics on ${base} after 20 s:\n${logTail(logName)}`);
    await sleep(100);
  }
  // One connection kept open for /metrics: at its open-file limit a server accepts no new
  // connection, and that is exactly when its count matters. A read every second keeps it warm.
  const metricsAgent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  const warm = setInterval(() => getText(`${base}/metrics`, metricsAgent).catch(() => {}), 1000);
  child.on("exit", () => clearInterval(warm));
  return { child, pid: child.pid, base, logName, metricsAgent, warm };
}

async function startServer(kind, ports) {
  let database = path.join(tmp, "bench.db");
  let postgres = null;
  if (kind.startsWith("consult-pg")) {
    postgres = startPostgres(ports[nodesOf(kind)]);
    database = postgres.url;
  }
  const nodes = [];
  for (let n = 0; n < nodesOf(kind); n++) nodes.push(await startNode(kind, ports[n], database, n + 1));
  const targets = nodes.map((node) => ({ kind: isConsult(kind) ? "consult" : kind, base: node.base, ws: node.base.replace("http:", "ws:") }));
  // Visitor or agent i goes to node i mod N (see nodeOf in clients.mjs).
  const target = { ...targets[0], nodes: targets.length > 1 ? targets : undefined };
  return { kind, nodes, postgres, target, child: nodes[0].child, pid: nodes[0].pid, logName: nodes[0].logName };
}

/// What the server reports and holds: its own visitor socket count and its resident memory
/// (summed over a cluster's nodes).
async function serverNow(srv) {
  let held = 0;
  let rss = 0;
  for (const node of srv.nodes) {
    let metrics;
    try {
      metrics = await getText(`${node.base}/metrics`, node.metricsAgent);
    } catch (e) {
      const state = node.child.exitCode !== null || node.child.signalCode ? `exited (${node.child.exitCode ?? node.child.signalCode})` : "still running";
      throw new Error(`${srv.kind} server: GET /metrics failed (${e.message}); the process has ${state}:\n${logTail(node.logName)}`);
    }
    const m = metrics.match(/^(?:consult|peer)_visitor_sockets (\d+)$/m);
    const status = fs.readFileSync(`/proc/${node.pid}/status`, "utf8");
    held += m ? Number(m[1]) : NaN;
    rss += Number(status.match(/^VmRSS:\s+(\d+) kB/m)?.[1] ?? NaN);
  }
  return { held, rssKiB: rss };
}

/// Median of three readings 300 ms apart.
async function sampleServer(srv) {
  const rs = [];
  for (let i = 0; i < 3; i++) {
    rs.push(await serverNow(srv));
    if (i < 2) await sleep(300);
  }
  return { held: median(rs.map((r) => r.held)), rssKiB: median(rs.map((r) => r.rssKiB)) };
}

const CLK_TCK = (() => {
  try {
    return Number(execFileSync("getconf", ["CLK_TCK"]).toString()) || 100;
  } catch {
    return 100;
  }
})();

/// CPU seconds the process has used (user + system).
function cpuSeconds(pid) {
  const stat = fs.readFileSync(`/proc/${pid}/stat`, "utf8");
  const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return (Number(f[11]) + Number(f[12])) / CLK_TCK;
}

// ---------------------------------------------------------------- statistics

function median(xs) {
  const s = [...xs].sort((a, b) => a - b);
  if (!s.length) return NaN;
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

function percentile(sorted, p) {
  if (!sorted.length) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.round((sorted.length - 1) * p))];
}

// ---------------------------------------------------------------- generator threads

/// The generator's worker threads (visitors.mjs), for launches and for the active visitors.
function startThreads(target) {
  const n = Math.max(1, opts.threads);
  const workers = Array.from({ length: n }, (_, w) => {
    const worker = new Worker(path.join(here, "visitors.mjs"), { workerData: { target, wid: w, window: opts.window } });
    worker.on("error", (e) => {
      throw e;
    });
    return worker;
  });
  const ask = (worker, msg, ev) =>
    new Promise((resolve) => {
      const on = (m) => {
        if (m.ev === ev) {
          worker.off("message", on);
          resolve(m);
        }
      };
      worker.on("message", on);
      worker.postMessage(msg);
    });
  /// Thread `w`'s share of `total`.
  const share = (total, w) => Math.floor(total / n) + (w < total % n ? 1 : 0);
  return { workers, ask, share, stop: () => Promise.all(workers.map((w) => w.terminate())) };
}

// ---------------------------------------------------------------- launches

async function launchRate(target) {
  const threads = startThreads(target);
  const start = nowNs();
  const untilNs = start + opts.launchSecs * 1e9;
  const rs = await Promise.all(threads.workers.map((w, i) => threads.ask(w, { cmd: "launches", clients: threads.share(opts.launchClients, i), untilNs }, "launched")));
  const secs = (nowNs() - start) / 1e9;
  await threads.stop();
  const ok = rs.reduce((n, x) => n + x.ok, 0);
  const failed = rs.reduce((n, x) => n + x.failed, 0);
  const firstError = rs.find((x) => x.firstError)?.firstError ?? null;
  const r = { perSec: ok / secs, ok, failed, firstError, genElu: Math.max(...rs.map((x) => x.elu)) };
  log(`launches: ${fmt(r.perSec)}/s (${ok} in ${secs.toFixed(1)} s, ${failed} failed${firstError ? `: ${firstError}` : ""}), generator busy ${pct(r.genElu)}`);
  return r;
}

// ---------------------------------------------------------------- idle sessions

function makeHolders(srv) {
  const holders = []; // { child, held }
  const call = (h, msg, ev) =>
    new Promise((resolve, reject) => {
      const onMsg = (m) => {
        if (m.ev === ev) {
          h.child.off("message", onMsg);
          h.child.off("exit", onExit);
          resolve(m);
        }
      };
      const onExit = (code) => reject(new Error(`idle holder exited (${code})`));
      h.child.on("message", onMsg);
      h.child.once("exit", onExit);
      h.child.send(msg);
    });
  const total = () => holders.reduce((n, h) => n + h.held, 0);
  return {
    total,
    /// Opens sessions until `want` are held by the generator (or the server stops taking them).
    async fill(want) {
      const jobs = [];
      let need = want - total();
      while (need > 0) {
        let h = holders.find((x) => x.held + (x.pending ?? 0) < opts.perHolder);
        if (!h) {
          const child = fork(path.join(here, "idle.mjs"), [], { stdio: ["ignore", "inherit", "inherit", "ipc"] });
          children.add(child);
          child.on("exit", () => children.delete(child));
          h = { child, held: 0, pending: 0 };
          holders.push(h);
        }
        const n = Math.min(need, opts.perHolder - h.held - h.pending);
        h.pending += n;
        need -= n;
        jobs.push(
          call(h, { cmd: "open", target: srv.target, count: n, concurrency: 48 }, "opened").then((m) => {
            h.held = m.held;
            h.pending = 0;
            return m;
          }),
        );
      }
      const rs = await Promise.all(jobs);
      const failed = rs.reduce((n, m) => n + m.failed, 0);
      const firstError = rs.find((m) => m.firstError)?.firstError ?? null;
      return { held: total(), failed, firstError };
    },
    /// Closes sessions until `want` are held.
    async trim(want) {
      let extra = total() - want;
      for (let i = holders.length - 1; i >= 0 && extra > 0; i--) {
        const n = Math.min(extra, holders[i].held);
        const m = await call(holders[i], { cmd: "trim", count: n }, "trimmed");
        holders[i].held = m.held;
        extra -= n;
      }
    },
    stop() {
      for (const h of holders) h.child.kill("SIGKILL");
    },
  };
}

// ---------------------------------------------------------------- relay

async function startRelay(srv) {
  let cur = null;
  let stray = 0;
  // Delivered counts every arrival in a window, whichever step sent it (a backlog drained is
  // delivered too); latency is sampled from the messages sent inside the measured windows.
  const onMessage = ({ step, sentNs }) => {
    const now = nowNs();
    if (!cur) {
      stray++;
      return;
    }
    const w = Math.floor((now - cur.measuredFrom) / cur.windowNs);
    if (w >= 0 && w < cur.arrWin.length) cur.arrWin[w]++;
    if (step !== cur.id) return;
    cur.delivered++;
    if (sentNs >= cur.measuredFrom && sentNs < cur.endNs) cur.lat.push(now - sentNs);
  };
  // An agent socket the server closes loses every later message of its chats: said at once,
  // counted in the step, marked in the table.
  let agentsClosed = 0;
  const onClosed = (i) => (why) => {
    agentsClosed++;
    if (cur) cur.agentsClosed++;
    log(`${srv.kind}: agent${i}'s socket was closed by the server (${why || "no reason given"})${cur ? ` during the ${fmt(cur.rate)} msg/s step` : ""}`);
  };
  const agents = [];
  for (let i = 1; i <= opts.agents; i++) agents.push(await openAgent(nodeOf(srv.target, i), i, onMessage, onClosed(i)));
  const { workers, ask, share, stop: stopThreads } = startThreads(srv.target);
  const opened = await Promise.all(workers.map((w, i) => ask(w, { cmd: "open", count: share(opts.visitors, i), concurrency: 16 }, "opened")));
  const nOpen = opened.reduce((n, m) => n + m.ok, 0);
  const openFail = opened.find((m) => m.firstError)?.firstError;
  if (nOpen < opts.visitors) log(`relay: only ${nOpen} of ${opts.visitors} visitors opened${openFail ? `: ${openFail}` : ""}`);
  // Visitors arrive at --arrivals per second in all (500 in one instant is not what a desk sees).
  const assigned = await Promise.all(workers.map((w) => ask(w, { cmd: "assign", timeoutMs: 30_000, perSecond: opts.arrivals / workers.length }, "assigned")));
  const nAssigned = assigned.reduce((n, m) => n + m.n, 0);
  log(`relay: ${nOpen} visitors open, ${nAssigned} assigned to ${agents.length} agents${agentsClosed ? `; ${agentsClosed} agent sockets closed by the server already` : ""}`);
  if (nAssigned < nOpen) {
    const errs = assigned.map((m) => JSON.stringify(m.counters)).join(" ");
    log(`relay: ${nOpen - nAssigned} visitors were never assigned (${errs}); they still send`);
  }

  let nextStep = 0;
  return {
    nOpen,
    nAssigned,
    agentsClosed: () => agentsClosed,
    async step(rate) {
      const id = ++nextStep;
      const windowNs = opts.windowMs * 1e6;
      const startNs = nowNs() + 50e6;
      const measuredFrom = startNs + opts.warmupMs * 1e6;
      const endNs = measuredFrom + opts.windows * windowNs;
      cur = { id, rate, measuredFrom, endNs, windowNs, arrWin: new Array(opts.windows).fill(0), lat: [], delivered: 0, agentsClosed: 0 };
      const elu0 = performance.eventLoopUtilization();
      // Server CPU over the measured windows, read on timers at their edges.
      const cpu = {};
      const at = (ns, key) =>
        setTimeout(() => {
          cpu[key] = { s: srv.nodes.reduce((sum, node) => sum + cpuSeconds(node.pid), 0), t: nowNs() };
        }, Math.max(0, (ns - nowNs()) / 1e6));
      at(measuredFrom, "a");
      at(endNs, "b");
      const done = await Promise.all(
        workers.map((w, i) =>
          ask(w, { cmd: "step", id, rate: (rate * share(opts.visitors, i)) / opts.visitors, startNs, warmupNs: opts.warmupMs * 1e6, windowNs, windows: opts.windows, drainMs: opts.drainMs }, "stepDone"),
        ),
      );
      await sleep(100);
      const mainElu = performance.eventLoopUtilization(elu0).utilization;
      const step = cur;
      cur = null;
      const perSec = 1000 / opts.windowMs;
      const sentWin = step.arrWin.map((_, k) => done.reduce((n, d) => n + d.sentWin[k], 0));
      const lat = Float64Array.from(step.lat).sort();
      const sum = (key) => done.reduce((n, d) => n + d[key], 0);
      const errors = {};
      for (const d of done) for (const [k, v] of Object.entries(d.errors)) errors[k] = (errors[k] ?? 0) + v;
      const r = {
        rate,
        offered: median(sentWin) * perSec,
        delivered: median(step.arrWin) * perSec,
        sentWin: sentWin.map((x) => x * perSec),
        deliveredWin: step.arrWin.map((x) => x * perSec),
        p50ms: percentile(lat, 0.5) / 1e6,
        p99ms: percentile(lat, 0.99) / 1e6,
        maxms: lat.length ? lat[lat.length - 1] / 1e6 : NaN,
        samples: lat.length,
        sent: sum("sent"),
        acked: sum("acked"),
        deliveredAll: step.delivered,
        busy: sum("busy"),
        rate_limited: sum("rate_limited"),
        errors,
        lagSkipped: sum("lagSkipped"),
        windowFull: sum("windowFull"),
        inflightLeft: sum("inflightLeft"),
        closed: sum("closed"),
        agentsClosed: step.agentsClosed,
        agentsGone: agentsClosed,
        genElu: Math.max(mainElu, ...done.map((d) => d.elu)),
        serverCores: cpu.a && cpu.b ? (cpu.b.s - cpu.a.s) / ((cpu.b.t - cpu.a.t) / 1e9) : NaN,
      };
      const extra = [
        r.busy && `${r.busy} busy`,
        r.rate_limited && `${r.rate_limited} rate_limited`,
        Object.keys(errors).length && `errors ${JSON.stringify(errors)}`,
        r.lagSkipped && `${r.lagSkipped} not sent (generator behind)`,
        r.windowFull && `${r.windowFull} not sent (visitor had ${opts.window} unanswered)`,
        r.inflightLeft && `${r.inflightLeft} unanswered after drain`,
        r.closed && `${r.closed} visitor sockets closed`,
        r.agentsGone && `${r.agentsGone} of ${opts.agents} agent sockets closed by the server`,
      ].filter(Boolean);
      log(
        `${srv.kind} @ ${fmt(rate)}/s: offered ${fmt(r.offered)}, delivered ${fmt(r.delivered)} msg/s; p50 ${ms(r.p50ms)}, p99 ${ms(r.p99ms)}, max ${ms(r.maxms)} (${r.samples} samples); ` +
          `server ${r.serverCores.toFixed(2)} cores, generator busy ${pct(r.genElu)}${extra.length ? `; ${extra.join(", ")}` : ""}`,
      );
      return r;
    },
    async stop() {
      await Promise.all(workers.map((w) => ask(w, { cmd: "close" }, "closed")));
      await stopThreads();
      for (const a of agents) a.close();
      if (stray) log(`relay: ${stray} deliveries arrived after their step ended`);
    },
  };
}

// ---------------------------------------------------------------- one server

async function benchServer(kind, ports) {
  const t0 = Date.now();
  log(`${kind}: starting on port${ports.length > 1 ? "s" : ""} ${ports.join(", ")}`);
  const srv = await startServer(kind, ports);
  const r = { kind, idle: [], steps: [], ramp: [] };
  const holders = makeHolders(srv);
  try {
    if (isConsult(kind)) r.launches = await launchRate(srv.target);
    await sleep(500);
    r.base = await sampleServer(srv);
    log(`${kind}: before idle sessions: ${r.base.held} visitor sockets, RSS ${fmt(r.base.rssKiB)} KiB`);
    const idleStep = async (asked) => {
      const t = Date.now();
      const f = await holders.fill(asked === "max" ? opts.maxIdle : asked);
      await sleep(1000);
      const s = await sampleServer(srv);
      const perKiB = (s.rssKiB - r.base.rssKiB) / (s.held - r.base.held);
      const row = { asked, generatorHeld: f.held, failed: f.failed, firstError: f.firstError, held: s.held, rssKiB: s.rssKiB, perSessionKiB: perKiB, secs: (Date.now() - t) / 1000 };
      r.idle.push(row);
      log(
        `${kind}: idle ${asked === "max" ? `max (tried ${fmt(opts.maxIdle)})` : fmt(asked)}: server holds ${fmt(s.held)}, RSS ${fmt(s.rssKiB)} KiB, ` +
          `${perKiB.toFixed(1)} KiB per session; ${f.failed} failed${f.firstError ? ` (${f.firstError})` : ""}; ${row.secs.toFixed(1)} s`,
      );
    };
    for (const n of opts.idle) await idleStep(n);
    await idleStep("max");
    await holders.trim(opts.relayIdle);
    await sleep(1000);
    r.relayIdle = (await sampleServer(srv)).held;
    log(`${kind}: back to ${fmt(r.relayIdle)} idle sessions for the relay steps`);

    const relay = await startRelay(srv);
    r.visitors = relay.nOpen;
    r.assigned = relay.nAssigned;
    for (const rate of opts.rates) r.steps.push(await relay.step(rate));
    // Saturation: raise the offered rate until the delivered rate stops growing.
    // Two steps in a row without 5 % more delivered end the ramp.
    let best = Math.max(...r.steps.map((s) => s.delivered));
    let flat = 0;
    let grewLast = false;
    for (const rate of opts.ramp.filter((x) => x > Math.max(...opts.rates))) {
      const s = await relay.step(rate);
      r.ramp.push(s);
      grewLast = s.delivered > best * 1.05;
      if (grewLast) {
        best = s.delivered;
        flat = 0;
      } else flat++;
      if (flat >= 2) break;
    }
    r.agentsClosed = relay.agentsClosed();
    await relay.stop();
    const all = [...r.steps, ...r.ramp];
    const top = all.reduce((a, b) => (b.delivered > a.delivered ? b : a));
    const after = all.slice(all.indexOf(top) + 1);
    const low = after.length ? after.reduce((a, b) => (b.delivered < a.delivered ? b : a)) : null;
    r.saturation = {
      maxDelivered: top.delivered,
      atOffered: top.offered,
      atRate: top.rate,
      step: top,
      p99ms: top.p99ms,
      fell: low && low.delivered < top.delivered * 0.9 ? { to: low.delivered, atOffered: low.offered, atRate: low.rate } : null,
      stillGrowing: grewLast,
      refusals: all.reduce((n, s) => n + s.busy + s.rate_limited, 0),
    };
  } finally {
    await stopServer(srv);
    holders.stop();
  }
  r.secs = (Date.now() - t0) / 1000;
  log(`${kind}: done in ${r.secs.toFixed(0)} s`);
  return r;
}

// ---------------------------------------------------------------- the table

const fmt = (x) => (Number.isFinite(x) ? Math.round(x).toLocaleString("en-US") : "—");
const ms = (x) => (Number.isFinite(x) ? `${x < 10 ? x.toFixed(2) : x.toFixed(1)} ms` : "—");
const pct = (x) => (Number.isFinite(x) ? `${Math.round(x * 100)} %` : "—");
const ratio = (a, b) => (Number.isFinite(a) && Number.isFinite(b) && b > 0 ? `${(a / b).toFixed(2)}×` : "");

/// Generator busy this much of the time, or behind schedule: the figure may be the generator's.
const GEN_BUSY = 0.85;
const genMark = (x) => (x && (x.genElu >= GEN_BUSY || x.lagSkipped > 0) ? " †" : "") + (x?.agentsGone ? " ‡" : "");

function table(results) {
  const by = Object.fromEntries(results.map((r) => [r.kind, r]));
  const cols = KINDS.filter((k) => by[k]);
  const names = { consult: "consult", ws: "ws relay", socketio: "socket.io relay", "consult-pg": "consult, PostgreSQL, 1 node", "consult-pg3": "consult, PostgreSQL, 3 nodes" };
  const peers = cols.filter((k) => !isConsult(k) && by.consult);
  const head = ["", ...cols.map((k) => names[k]), ...peers.map((k) => `consult ÷ ${names[k]}`)];
  const rows = [];
  // cell(kind) → [text, number for the ratio]
  const row = (label, cell) => rows.push([label, ...cols.map((k) => cell(by[k])[0]), ...peers.map((k) => ratio(cell(by.consult)[1], cell(by[k])[1]))]);
  const stepOf = (r, rate) => r.steps.find((s) => s.rate === rate);
  for (const rate of opts.rates) {
    row(`asked ${fmt(rate)} msg/s: offered → delivered`, (r) => {
      const s = stepOf(r, rate);
      return s ? [`${fmt(s.offered)} → ${fmt(s.delivered)}${genMark(s)}`, s.delivered] : ["—", NaN];
    });
    row(`asked ${fmt(rate)} msg/s: latency p50 / p99 (ratio of p99)`, (r) => {
      const s = stepOf(r, rate);
      return s ? [`${ms(s.p50ms)} / ${ms(s.p99ms)}`, s.p99ms] : ["—", NaN];
    });
  }
  row("saturation: max delivered msg/s (offered then)", (r) =>
    r.saturation
      ? [`${fmt(r.saturation.maxDelivered)} (${fmt(r.saturation.atOffered)})${r.saturation.stillGrowing ? ", still growing at the last step" : ""}${genMark(r.saturation.step)}`, r.saturation.maxDelivered]
      : ["—", NaN],
  );
  row("saturation: delivered fell as offered rose?", (r) =>
    r.saturation ? [r.saturation.fell ? `yes: ${fmt(r.saturation.fell.to)} at ${fmt(r.saturation.fell.atOffered)} offered` : "no", NaN] : ["—", NaN],
  );
  row("relay: visitors assigned / agent sockets the server closed", (r) => [`${fmt(r.assigned)} of ${fmt(r.visitors)} / ${fmt(r.agentsClosed)}`, NaN]);
  row("refused at any rate (busy / rate_limited)", (r) => {
    const all = [...r.steps, ...r.ramp];
    return [`${fmt(all.reduce((n, s) => n + s.busy, 0))} / ${fmt(all.reduce((n, s) => n + s.rate_limited, 0))}`, NaN];
  });
  const idleAt = (r, asked) => r.idle.find((x) => x.asked === asked);
  row(`idle sessions held, server's count (asked ${opts.idle.map((n) => fmt(n)).join(" / ")} / max)`, (r) => [[...opts.idle, "max"].map((a) => fmt(idleAt(r, a)?.held)).join(" / "), idleAt(r, "max")?.held]);
  const last = opts.idle[opts.idle.length - 1];
  row(`RSS per idle session, KiB (at ${fmt(last)})`, (r) => {
    const x = idleAt(r, last);
    return x ? [x.perSessionKiB.toFixed(1), x.perSessionKiB] : ["—", NaN];
  });
  row(`launches/s (${opts.launchClients} clients, keep-alive)`, (r) => (r.launches ? [`${fmt(r.launches.perSec)}${genMark(r.launches)}`, r.launches.perSec] : ["—", NaN]));

  const out = [];
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (cells) => `| ${cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join(" | ")} |`;
  out.push(line(head));
  out.push(`|${widths.map((w, i) => (i === 0 ? "-".repeat(w + 2) : `${"-".repeat(w + 1)}:`)).join("|")}|`);
  for (const r of rows) out.push(line(r));
  return out.join("\n");
}

/// Where the run stands against the issue's targets.
function verdicts(results) {
  const by = Object.fromEntries(results.map((r) => [r.kind, r]));
  const c = by.consult;
  if (!c) return [];
  const v = [];
  const mark = (ok) => (ok ? "met " : "MISS");
  const sat = c.saturation?.maxDelivered;
  v.push(`${mark(sat >= 10000)} durable relay ≥ 10,000 msg/s sustained: ${fmt(sat)}`);
  if (by.socketio?.saturation) v.push(`${mark(sat >= 2 * by.socketio.saturation.maxDelivered)} ≥ 2× socket.io's max (${fmt(by.socketio.saturation.maxDelivered)}): ${ratio(sat, by.socketio.saturation.maxDelivered)}`);
  const s1k = c.steps.find((s) => s.rate === 1000);
  const s5k = c.steps.find((s) => s.rate === 5000);
  if (s1k) v.push(`${mark(s1k.p99ms <= 20 && s1k.delivered >= 0.95 * 1000)} p99 ≤ 20 ms at 1,000 msg/s with ${fmt(c.relayIdle)} idle sessions open: ${ms(s1k.p99ms)}, ${fmt(s1k.delivered)} delivered`);
  if (s5k) v.push(`${mark(s5k.p99ms <= 50 && s5k.delivered >= 0.95 * 5000)} p99 ≤ 50 ms at 5,000 msg/s with ${fmt(c.relayIdle)} idle sessions open: ${ms(s5k.p99ms)}, ${fmt(s5k.delivered)} delivered`);
  const last = opts.idle[opts.idle.length - 1];
  const idle = c.idle.find((x) => x.asked === last);
  const sio = by.socketio?.idle.find((x) => x.asked === last);
  if (idle) v.push(`${mark(idle.perSessionKiB <= 20)} ≤ 20 KiB per idle visitor session: ${idle.perSessionKiB.toFixed(1)} KiB${sio ? ` (socket.io ${sio.perSessionKiB.toFixed(1)} KiB, ${ratio(idle.perSessionKiB, sio.perSessionKiB)})` : ""}`);
  if (c.launches) v.push(`${mark(c.launches.perSec >= 5000)} launches ≥ 5,000/s: ${fmt(c.launches.perSec)}`);
  return v;
}

// ---------------------------------------------------------------- main

const opts = parseArgs(process.argv.slice(2));
const started = Date.now();
const ports = await freePorts(opts.only.reduce((n, kind) => n + portsOf(kind), 0));
const results = [];
for (const kind of opts.only) results.push(await benchServer(kind, ports.splice(0, portsOf(kind))));

const cores = os.cpus().length;
console.log();
const pg = opts.only.some((k) => k.startsWith("consult-pg"))
  ? "consult on PostgreSQL = the same binary on a throwaway PostgreSQL (Debian's package, default settings: synchronous commit), one node or three on the same cores, visitors and agents spread over the nodes; "
  : "";
console.log(
  `Gateway, ${cores} cores: consult = \`consult serve\`, SQLite, fsync before every ack; ${pg}ws relay (Node \`ws\`) and socket.io relay store nothing. ` +
    `One generator (Node ${process.version}, ${opts.threads} worker threads): ${opts.visitors} active visitors across ${opts.agents} agents with ` +
    `${fmt(opts.relayIdle)} idle sessions open; each rate held ${opts.warmupMs / 1000} s + ${opts.windows} × ${opts.windowMs / 1000} s, medians of the windows; ` +
    `latency = visitor send → agent receive on one monotonic clock; sessions held and RSS as the server reports and holds them.`,
);
console.log();
console.log(table(results));
console.log();
console.log(
  `† the generator was busy ≥ ${pct(GEN_BUSY)} of the time or fell behind its schedule: the figure may be the generator's limit, not the server's. ` +
    `‡ the server had closed agent sockets by then: their chats' messages were not delivered. ` +
    `offered = sent by the generator; below the rate asked when every visitor already had ${opts.window} unanswered sends (the server is saturated) ` +
    `or the generator fell behind. Per-step detail is on stderr${opts.json ? ` and in ${opts.json}` : ""}.`,
);
const v = verdicts(results);
if (v.length) {
  console.log();
  for (const line of v) console.log(`  ${line}`);
}
console.log();
console.log(`(whole section ${((Date.now() - started) / 1000).toFixed(0)} s)`);
if (opts.json) fs.writeFileSync(opts.json, JSON.stringify({ opts, cores, results }, null, 2));
