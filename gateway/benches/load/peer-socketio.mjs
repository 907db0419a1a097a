// Peer for the gateway bench: a socket.io relay that stores nothing and checks nothing.
//
// The same flow as peer-ws.mjs, in socket.io's idiom: namespaces `/visitor` and `/agent`, one
// event per frame type (`hello` → `welcome`; `send` → `message` + `ack` to the visitor and
// `message` to the visitor's agent, assigned on first send, least-loaded available agent).
// Clients connect with the websocket transport only (no long-polling first).
//
// Run with `node peer-socketio.mjs PORT`; prints `ready PORT`. GET /metrics reports the visitor
// sockets past `hello` as `peer_visitor_sockets`. Exits when its standard input closes.
import { Server } from "socket.io";
import { listen, metricsServer, relayState } from "./peer-common.mjs";

const state = relayState();
const server = metricsServer(state, "/socket.io/");
const io = new Server(server, { transports: ["websocket"], serveClient: false });

io.of("/visitor").on("connection", (socket) => {
  let conv = null;
  let agent = null;
  let seq = 0;
  socket.on("hello", () => {
    if (conv !== null) return;
    conv = `c${++state.nextConversation}`;
    state.visitors++;
    socket.emit("welcome", { state: "waiting", last_seq: 0 });
  });
  socket.on("send", (cmd) => {
    if (conv === null) return socket.disconnect(true);
    if (!agent) {
      agent = state.pickAgent();
      if (agent) socket.emit("state", { state: "assigned", agent_name: agent.id });
    }
    const message = { seq: ++seq, sender: { role: "visitor" }, body: cmd.body, client_id: cmd.client_id, at_ms: Date.now() };
    socket.emit("message", { message });
    socket.emit("ack", { client_id: cmd.client_id, seq });
    agent?.send("message", { session: conv, message });
  });
  socket.on("disconnect", () => {
    if (conv !== null) state.visitors--;
    if (agent) agent.load--;
  });
});

io.of("/agent").on("connection", (socket) => {
  let me = null;
  socket.on("hello", () => {
    if (me) return;
    me = state.addAgent((event, payload) => socket.connected && socket.emit(event, payload));
    socket.emit("welcome", { agent_id: me.id, agent_name: me.id, queue: [], chats: [], canned: [], agents: [] });
  });
  socket.on("available", (cmd) => me && (me.available = !!cmd.available));
  socket.on("disconnect", () => me && state.agents.delete(me.id));
});

listen(server, Number(process.argv[2] || 0));
