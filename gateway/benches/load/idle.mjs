// Child process of the load generator: opens idle visitor sessions and holds them (each process
// holds a share, so no generator process nears the per-process open-file limit). An idle session
// is what a visitor with the chat open and nothing to say costs: for the gateway a launch, a socket
// and its `welcome`; for the peers a socket and its `welcome`. Pings are answered by the clients.
//
// Talks to its parent over IPC: { cmd: "open", target, count, concurrency } → { ev: "opened", … };
// { cmd: "trim", count } closes its newest `count` sessions → { ev: "trimmed", held }.
// Exits when the parent goes away.
import { launch, nodeOf, openVisitor } from "./clients.mjs";

const held = [];

async function open({ target, count, concurrency }) {
  let failed = 0;
  let firstError = null;
  let next = 0;
  const started = Date.now();
  const one = async () => {
    // Stop early once the server refuses many: its limit is what the step measures.
    while (next < count && failed < 32) {
      const node = nodeOf(target, next++);
      try {
        const handle = node.kind === "consult" ? await launch(node) : null;
        held.push(await openVisitor(node, handle, undefined, 5_000));
      } catch (e) {
        failed++;
        firstError ??= e.message;
      }
    }
  };
  await Promise.all(Array.from({ length: concurrency }, one));
  process.send({ ev: "opened", held: held.length, failed, firstError, ms: Date.now() - started });
}

process.on("message", (m) => {
  if (m.cmd === "open") open(m);
  else if (m.cmd === "trim") {
    // Close the newest `count` sessions.
    for (const c of held.splice(Math.max(0, held.length - m.count))) c.close();
    process.send({ ev: "trimmed", held: held.length });
  }
});
process.on("disconnect", () => process.exit(0));
