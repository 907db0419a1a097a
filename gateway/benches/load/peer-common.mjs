// What the two bench peers share: who is connected, agent assignment, /metrics, listening.
// The relaying itself stays in each peer, in its library's own idiom.
import http from "node:http";

/// Connected agents and counted visitors of one peer.
export function relayState() {
  const state = {
    /// agent id → { id, available, load, send }
    agents: new Map(),
    /// Visitor sockets past `hello`.
    visitors: 0,
    nextConversation: 0,
    /// The least-loaded available agent, now one chat busier; null when none is available.
    pickAgent() {
      let best = null;
      for (const a of state.agents.values()) if (a.available && (!best || a.load < best.load)) best = a;
      if (best) best.load++;
      return best;
    },
    /// Registers an agent after its `hello`.
    addAgent(send) {
      const id = `agent${state.agents.size + 1}`;
      const a = { id, available: false, load: 0, send };
      state.agents.set(id, a);
      return a;
    },
  };
  return state;
}

/// An HTTP server answering GET /metrics with the peer's counts (404 elsewhere, except the paths
/// `passThrough` names, which another handler answers).
export function metricsServer(state, passThrough = null) {
  return http.createServer((req, res) => {
    if (req.url === "/metrics") {
      res.writeHead(200, { "content-type": "text/plain" });
      res.end(`peer_visitor_sockets ${state.visitors}\npeer_agent_sockets ${state.agents.size}\n`);
    } else if (!passThrough || !req.url.startsWith(passThrough)) {
      res.writeHead(404).end();
    }
  });
}

/// Listens on 127.0.0.1:`port`, prints `ready PORT`, and exits when standard input closes (the
/// bench that started it is gone).
export function listen(server, port) {
  server.listen(port, "127.0.0.1", () => {
    // From here on, a failed accept (EMFILE at the open-file limit) is logged and serving goes on,
    // as a production relay would; only a failure to listen at all ends the process.
    server.on("error", (e) => console.error(`accept: ${e.message}`));
    console.log(`ready ${server.address().port}`);
  });
  process.stdin.on("end", () => process.exit(0));
  process.stdin.resume();
}
