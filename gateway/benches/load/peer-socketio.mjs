// Peer for the gateway bench: a socket.io relay that stores nothing and checks nothing.
//
// The same flow as peer-ws.mjs, in socket.io's idiom: namespaces `/visitor` and `/agent`, one
// event per frame type (`hello` → `welcome`; `send` → `message` + `ack` to the visitor and
// `message` to the visitor's agent, assigned on first send, least-loaded available agent).
// Clients connect with the websocket transport only (no long-polling first).
//
// Run with `node peer-socketio.mjs PORT`; prints `ready PORT`. GET /metrics reports the visitor
// sockets past `hello` as `peer_visitor_sockets`. Exits when its standard input closes.
import http from "node:http";
import { Server } from "socket.io";

const port = Number(process.argv[2] || 0);
const agents = new Map(); // agent id → { socket, available, load }
let visitors = 0;
let nextConversation = 0;

const server = http.createServer((req, res) => {
  if (req.url === "/metrics") {
    res.writeHead(200, { "content-type": "text/plain" });
    res.end(`peer_visitor_sockets ${visitors}\npeer_agent_sockets ${agents.size}\n`);
  } else if (!req.url.startsWith("/socket.io/")) {
    res.writeHead(404).end();
  }
});
const io = new Server(server, { transports: ["websocket"], serveClient: false });

function pickAgent() {
  let best = null;
  for (const a of agents.values()) if (a.available && (!best || a.load < best.load)) best = a;
  if (best) best.load++;
  return best;
}

io.of("/visitor").on("connection", (socket) => {
  let conv = null;
  let agent = null;
  let seq = 0;
  socket.on("hello", () => {
    if (conv !== null) return;
    conv = `c${++nextConversation}`;
    visitors++;
    socket.emit("welcome", { state: "waiting", last_seq: 0 });
  });
  socket.on("send", (cmd) => {
    if (conv === null) return socket.disconnect(true);
    if (!agent) {
      agent = pickAgent();
      if (agent) socket.emit("state", { state: "assigned", agent_name: agent.id });
    }
    const message = { seq: ++seq, sender: { role: "visitor" }, body: cmd.body, client_id: cmd.client_id, at_ms: Date.now() };
    socket.emit("message", { message });
    socket.emit("ack", { client_id: cmd.client_id, seq });
    if (agent?.socket.connected) agent.socket.emit("message", { session: conv, message });
  });
  socket.on("disconnect", () => {
    if (conv !== null) visitors--;
    if (agent) agent.load--;
  });
});

io.of("/agent").on("connection", (socket) => {
  let me = null;
  socket.on("hello", () => {
    if (me) return;
    const id = `agent${agents.size + 1}`;
    me = { id, socket, available: false, load: 0 };
    agents.set(id, me);
    socket.emit("welcome", { agent_id: id, agent_name: id, queue: [], chats: [], canned: [], agents: [] });
  });
  socket.on("available", (cmd) => me && (me.available = !!cmd.available));
  socket.on("disconnect", () => me && agents.delete(me.id));
});

server.listen(port, "127.0.0.1", () => {
  // From here on, a failed accept (EMFILE at the open-file limit) is logged and serving goes on,
  // as a production relay would; only a failure to listen at all ends the process.
  server.on("error", (e) => console.error(`accept: ${e.message}`));
  console.log(`ready ${server.address().port}`);
});
process.stdin.on("end", () => process.exit(0));
process.stdin.resume();
