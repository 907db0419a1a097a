// Worker thread of the load generator: runs a share of the launch clients; holds a share of the
// active visitors and sends at the offered rate it is given, open loop (sends go out on schedule
// whether or not answers came back), with at most `window` unanswered sends per visitor so a
// saturated server builds a bounded backlog.
//
// Every text carries `L<step>:<send time, monotonic ns>:`; the agents (main thread) read it on
// arrival, so the latency is visitor send → agent receive on one clock.
import { parentPort, workerData } from "node:worker_threads";
import { performance } from "node:perf_hooks";
import { launch, launchLoop, nodeOf, nowNs, openVisitor } from "./clients.mjs";

/// About the length of a short chat line, beside the marker.
const PAD = "bench message, about as long as a short chat line";

const { target, wid, window: WINDOW } = workerData;
const visitors = [];
let counters = null;
let nextId = 0;

function newCounters() {
  return { acked: 0, busy: 0, rate_limited: 0, errors: {}, closed: 0 };
}

function onFrame(v, kind, payload) {
  const c = counters;
  if (kind === "ack") {
    v.inflight--;
    if (c) c.acked++;
  } else if (kind === "error") {
    if (payload?.client_id) v.inflight--;
    if (!c) return;
    const code = payload?.code ?? "unknown";
    if (code === "busy") c.busy++;
    else if (code === "rate_limited") c.rate_limited++;
    else c.errors[code] = (c.errors[code] ?? 0) + 1;
  } else if (kind === "state") {
    if (payload?.state === "assigned") v.assigned = true;
  } else if (kind === "closed") {
    v.open = false;
    if (c) c.closed++;
  }
}

async function open({ count, concurrency }) {
  let failed = 0;
  let firstError = null;
  let next = 0;
  const one = async () => {
    while (next < count) {
      const node = nodeOf(target, wid + next++);
      try {
        const handle = node.kind === "consult" ? await launch(node) : null;
        const v = { inflight: 0, assigned: false, open: true, c: null };
        v.c = await openVisitor(node, handle, (kind, payload) => onFrame(v, kind, payload));
        visitors.push(v);
      } catch (e) {
        failed++;
        firstError ??= e.message;
      }
    }
  };
  await Promise.all(Array.from({ length: concurrency }, one));
  parentPort.postMessage({ ev: "opened", ok: visitors.length, failed, firstError });
}

/// The visitor speaks first: one message each opens the session, which is queued and assigned.
/// Visitors arrive `perSecond`, not all in one instant.
async function assign({ timeoutMs, perSecond }) {
  counters = newCounters();
  for (const v of visitors) {
    v.inflight++;
    v.c.send(`w${wid}-open-${nextId++}`, "hello");
    await new Promise((r) => setTimeout(r, 1000 / perSecond));
  }
  const until = Date.now() + timeoutMs;
  while (Date.now() < until && visitors.some((v) => !v.assigned)) await new Promise((r) => setTimeout(r, 50));
  parentPort.postMessage({ ev: "assigned", n: visitors.filter((v) => v.assigned).length, counters });
  counters = null;
}

function step(s) {
  counters = newCounters();
  const measuredFrom = s.startNs + s.warmupNs;
  const endNs = measuredFrom + s.windows * s.windowNs;
  const sentWin = new Array(s.windows).fill(0);
  // A late timer (a busy loop, or the scheduler on a shared machine) sends what fell due, up to
  // a quarter second's worth; past that the sends are not made and are counted apart.
  const perTickCap = Math.max(1, Math.ceil(s.rate * 0.25));
  let scheduled = 0; // sends due so far (sent + skipped)
  let sent = 0;
  let lagSkipped = 0;
  let windowFull = 0;
  let rr = 0;
  const elu0 = performance.eventLoopUtilization();
  const tick = () => {
    const now = nowNs();
    if (now >= endNs) return drain();
    if (now >= s.startNs) {
      let due = Math.floor(((now - s.startNs) / 1e9) * s.rate) - scheduled;
      if (due > perTickCap) {
        // The generator fell behind; those sends are not offered.
        lagSkipped += due - perTickCap;
        scheduled += due - perTickCap;
        due = perTickCap;
      }
      for (let k = 0; k < due; k++) {
        scheduled++;
        let v = null;
        for (let tries = 0; tries < visitors.length; tries++) {
          const cand = visitors[rr];
          rr = (rr + 1) % visitors.length;
          if (cand.open && cand.inflight < WINDOW) {
            v = cand;
            break;
          }
        }
        if (!v) {
          windowFull++;
          continue;
        }
        const t = nowNs();
        v.inflight++;
        v.c.send(`w${wid}-${nextId++}`, `L${s.id}:${t}:${PAD}`);
        sent++;
        if (t >= measuredFrom) {
          const w = Math.floor((t - measuredFrom) / s.windowNs);
          if (w < s.windows) sentWin[w]++;
        }
      }
    }
    setTimeout(tick, 1);
  };
  const drain = () => {
    const sendElu = performance.eventLoopUtilization(elu0).utilization;
    const until = Date.now() + s.drainMs;
    const wait = () => {
      const inflight = visitors.reduce((n, v) => n + (v.open ? v.inflight : 0), 0);
      if (inflight > 0 && Date.now() < until) return setTimeout(wait, 20);
      parentPort.postMessage({ ev: "stepDone", id: s.id, sentWin, sent, lagSkipped, windowFull, inflightLeft: inflight, elu: sendElu, ...counters });
      counters = null;
    };
    wait();
  };
  tick();
}

/// `clients` concurrent launch loops on keep-alive connections until `untilNs`.
async function launches({ clients, untilNs }) {
  const elu0 = performance.eventLoopUtilization();
  const rs = await Promise.all(Array.from({ length: clients }, (_, i) => launchLoop(nodeOf(target, wid + i), untilNs)));
  const sum = (k) => rs.reduce((n, r) => n + r[k], 0);
  const firstError = rs.find((r) => r.firstError)?.firstError ?? null;
  parentPort.postMessage({ ev: "launched", ok: sum("ok"), failed: sum("failed"), firstError, elu: performance.eventLoopUtilization(elu0).utilization });
}

parentPort.on("message", (m) => {
  if (m.cmd === "launches") launches(m);
  else if (m.cmd === "open") open(m);
  else if (m.cmd === "assign") assign(m);
  else if (m.cmd === "step") step(m);
  else if (m.cmd === "close") {
    for (const v of visitors) v.c.close();
    visitors.length = 0;
    parentPort.postMessage({ ev: "closed" });
  }
});
