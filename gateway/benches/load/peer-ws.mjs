// Peer for the gateway bench: a plain Node `ws` relay that stores nothing and checks nothing.
//
// It speaks the shape of Consult's visitor and agent sockets so the load generator drives it with
// the same frames: a visitor's `hello` gets `welcome`; each `send` gets the message echoed to the
// visitor, an `ack`, and the message relayed to the visitor's agent (assigned on first send, the
// least-loaded available agent). Three frames out per message, as the gateway sends.
//
// Run with `node peer-ws.mjs PORT`; prints `ready PORT`. GET /metrics reports the visitor sockets
// past `hello` as `peer_visitor_sockets`. Exits when its standard input closes (its parent died).
import { WebSocketServer } from "ws";
import { listen, metricsServer, relayState } from "./peer-common.mjs";

const state = relayState();

function visitor(ws) {
  ws.on("error", () => {});
  let conv = null;
  let agent = null;
  let seq = 0;
  ws.on("message", (data) => {
    const cmd = JSON.parse(data.toString());
    if (conv === null) {
      if (cmd.type !== "hello") return ws.close();
      conv = `c${++state.nextConversation}`;
      state.visitors++;
      ws.send(JSON.stringify({ type: "welcome", state: "waiting", last_seq: 0 }));
      return;
    }
    if (cmd.type !== "send") return;
    if (!agent) {
      agent = state.pickAgent();
      if (agent) ws.send(JSON.stringify({ type: "state", state: "assigned", agent_name: agent.id }));
    }
    const message = { seq: ++seq, sender: { role: "visitor" }, body: cmd.body, client_id: cmd.client_id, at_ms: Date.now() };
    ws.send(JSON.stringify({ type: "message", message }));
    ws.send(JSON.stringify({ type: "ack", client_id: cmd.client_id, seq }));
    agent?.send(JSON.stringify({ type: "message", session: conv, message }));
  });
  ws.on("close", () => {
    if (conv !== null) state.visitors--;
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
      me = state.addAgent((text) => ws.readyState === 1 && ws.send(text));
      ws.send(JSON.stringify({ type: "welcome", agent_id: me.id, agent_name: me.id, queue: [], chats: [], canned: [], agents: [] }));
    } else if (cmd.type === "available") {
      me.available = !!cmd.available;
    }
  });
  ws.on("close", () => me && state.agents.delete(me.id));
}

const server = metricsServer(state);
const wss = new WebSocketServer({ noServer: true });
server.on("upgrade", (req, socket, head) => {
  const path = req.url.split("?")[0];
  if (path !== "/v1/visitor/socket" && path !== "/v1/agent/socket") return socket.destroy();
  wss.handleUpgrade(req, socket, head, (ws) => (path === "/v1/agent/socket" ? agentSocket(ws) : visitor(ws)));
});
listen(server, Number(process.argv[2] || 0));
