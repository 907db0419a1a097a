// The peer for the relay bench: a plain Node `ws` relay with no storage, no checks.
// Visitors connect to /?role=visitor, agents to /?role=agent; every visitor frame goes to every agent.
"use strict";
const { WebSocketServer } = require("ws");
const wss = new WebSocketServer({ host: "127.0.0.1", port: Number(process.argv[2] || 0) });
const agents = new Set();
wss.on("connection", (ws, req) => {
  if (req.url.includes("role=agent")) {
    agents.add(ws);
    ws.on("close", () => agents.delete(ws));
  } else {
    ws.on("message", (data) => {
      for (const a of agents) a.send(data.toString());
    });
  }
});
wss.on("listening", () => console.log("ready " + wss.address().port));
