// Peer for the gateway bench: a plain Node `ws` relay that stores nothing and checks nothing.
//
// It speaks the shape of Consult's visitor and agent sockets so the load generator drives it with
// the same frames: a visitor's `hello` gets `welcome`; each `send` gets the message echoed to the
// visitor, an `ack`, and the message relayed to the visitor's agent (assigned on first send, the
// least-loaded available agent). Three frames out per message, as the gateway sends.
//
// Run with `node peer-ws.mjs PORT`; prints `ready PORT`. GET /metrics reports the visitor sockets
// past `hello` as `peer_visitor_sockets`. Exits when its standard input closes (its parent died).
import http from "node:http";
import { WebSocketServer } from "ws";

const port = Number(process.argv[2] || 0);
const agents = new Map(); // agent id → { ws, available, load }
let visitors = 0;
let nextConversation = 0;

function pickAgent() {
  let best = null;
  for (const a of agents.values()) if (a.available && (!best || a.load < best.load)) best = a;
  if (best) best.load++;
  return best;
}

function visitor(ws) {
  ws.on("error", () => {});
  let conv = null;
  let agent = null;
  let seq = 0;
  ws.on("message", (data) => {
    const cmd = JSON.parse(data.toString());
    if (conv === null) {
      if (cmd.type !== "hello") return ws.close();
      conv = `c${++nextConversation}`;
      visitors++;
      ws.send(JSON.stringify({ type: "welcome", state: "waiting", last_seq: 0 }));
      return;
    }
    if (cmd.type !== "send") return;
    if (!agent) {
      agent = pickAgent();
      if (agent) ws.send(JSON.stringify({ type: "state", state: "assigned", agent_name: agent.id }));
    }
    const message = { seq: ++seq, sender: { role: "visitor" }, body: cmd.body, client_id: cmd.client_id, at_ms: Date.now() };
    ws.send(JSON.stringify({ type: "message", message }));
    ws.send(JSON.stringify({ type: "ack", client_id: cmd.client_id, seq }));
    if (agent?.ws.readyState === 1) agent.ws.send(JSON.stringify({ type: "message", session: conv, message }));
  });
  ws.on("close", () => {
    if (conv !== null) visitors--;
    if (agent) agent.load--;
  });
}

function agentSocket(ws) {
  ws.on("error", () => {});
  let me = null;
  ws.on("message", (data) => {
    const cmd = JSON.parse(data.toString());
    if (!me) {
      if (cmd.type !== "hello") return ws.close();
      const id = `agent${agents.size + 1}`;
      me = { id, ws, available: false, load: 0 };
      agents.set(id, me);
      ws.send(JSON.stringify({ type: "welcome", agent_id: id, agent_name: id, queue: [], chats: [], canned: [], agents: [] }));
    } else if (cmd.type === "available") {
      me.available = !!cmd.available;
    }
  });
  ws.on("close", () => me && agents.delete(me.id));
}

const server = http.createServer((req, res) => {
  if (req.url === "/metrics") {
    res.writeHead(200, { "content-type": "text/plain" });
    res.end(`peer_visitor_sockets ${visitors}\npeer_agent_sockets ${agents.size}\n`);
  } else {
    res.writeHead(404).end();
  }
});
const wss = new WebSocketServer({ noServer: true });
server.on("upgrade", (req, socket, head) => {
  const path = req.url.split("?")[0];
  if (path !== "/v1/visitor/socket" && path !== "/v1/agent/socket") return socket.destroy();
  wss.handleUpgrade(req, socket, head, (ws) => (path === "/v1/agent/socket" ? agentSocket(ws) : visitor(ws)));
});
server.listen(port, "127.0.0.1", () => {
  // From here on, a failed accept (EMFILE at the open-file limit) is logged and serving goes on,
  // as a production relay would; only a failure to listen at all ends the process.
  server.on("error", (e) => console.error(`accept: ${e.message}`));
  console.log(`ready ${server.address().port}`);
});
process.stdin.on("end", () => process.exit(0));
process.stdin.resume();
