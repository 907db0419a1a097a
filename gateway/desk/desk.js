// Consult agent desk: state, the socket and the agent's actions. Speaks AgentCommand/AgentEvent
// (consult-sdk protocol.rs) over one WebSocket. Labels come from i18n.js, drawing from render.js,
// dialogs from dialog.js, alerts from notify.js.
"use strict";

// The message shapes, generated from protocol.rs (`cargo xtask types`), for editors and `tsc --checkJs`:
/** @typedef {import("../../pkg/types/protocol").AgentCommand} AgentCommand */
/** @typedef {import("../../pkg/types/protocol").AgentEvent} AgentEvent */

const desk = {
  token: sessionStorage.getItem("consult.desk.token"),
  me: null,
  profile: null, // { role, max_chats }
  socket: null,
  conn: "offline", // online | connecting | offline
  everOnline: false,
  queue: new Map(), // session id -> summary
  withBot: new Map(), // supervisors: sessions still with the bot
  chats: new Map(), // session id -> summary (mine, or opened read-only)
  messages: new Map(), // session id -> Map(seq -> message)
  tags: new Map(), // session id -> [tag]
  unread: new Map(),
  receipts: new Map(), // session id -> { visitor_delivered_seq, visitor_read_seq, agent_read_seq }
  readSent: new Map(), // session id -> highest seq this desk reported read
  quiet: new Set(),
  tabs: [],
  active: null,
  canned: [],
  agents: [],
  pending: new Map(), // client id -> {session, text}
  search: null, // null, or { query, short, results }
  blocks: null, // last Blocks event's list
  whyNot: "",
  typingTimer: null,
  retry: 500,
  retryIn: 0,
  retryTimer: null,
};

/** @param {AgentCommand} cmd */
function send(cmd) {
  if (desk.socket && desk.socket.readyState === WebSocket.OPEN) {
    desk.socket.send(JSON.stringify(cmd));
    return true;
  }
  return false;
}

function clientId() {
  return "d-" + Date.now().toString(36) + "-" + Math.random().toString(36).slice(2, 10);
}

// ---------- language ----------
function relabel() {
  applyI18n(document);
  for (const s of document.querySelectorAll(".lang-select")) s.value = DESK_LANG;
  if (!$("desk").hidden) renderAll();
}
for (const s of document.querySelectorAll(".lang-select")) {
  s.addEventListener("change", () => { setDeskLang(s.value); relabel(); });
}
relabel();

// ---------- sign-in ----------
$("login-form").addEventListener("submit", async (ev) => {
  ev.preventDefault();
  $("login-error").textContent = "";
  let r;
  try {
    r = await fetch("/v1/agent/login", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ agent_id: $("login-id").value.trim(), password: $("login-pw").value }),
    });
  } catch {
    $("login-error").textContent = t("login.network");
    return;
  }
  const body = await r.json().catch(() => ({}));
  if (!r.ok) {
    $("login-error").textContent = r.status === 401 ? t("login.failed") : body.message || t("login.network");
    return;
  }
  desk.token = body.token;
  sessionStorage.setItem("consult.desk.token", body.token);
  start();
});

$("sign-out").addEventListener("click", async () => {
  // Sign-ins outlive gateway restarts, so signing out ends the token on the server too.
  const token = desk.token;
  desk.token = null;
  sessionStorage.removeItem("consult.desk.token");
  if (token) {
    await fetch("/v1/agent/logout", { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ token }) }).catch(() => {});
  }
  location.reload();
});

function start() {
  $("login").hidden = true;
  $("desk").hidden = false;
  connect();
}

function connect() {
  clearInterval(desk.retryTimer);
  if (!desk.token) return;
  setConn("connecting");
  const proto = location.protocol === "https:" ? "wss:" : "ws:";
  // The token travels in the first frame, never in the URL (URLs end up in logs).
  const ws = new WebSocket(`${proto}//${location.host}/v1/agent/socket`);
  desk.socket = ws;
  ws.onopen = () => {
    send({ type: "hello", version: 1, token: desk.token });
  };
  ws.onmessage = (ev) => {
    /** @type {AgentEvent} */
    let event;
    try { event = JSON.parse(ev.data); } catch { return; }
    onEvent(event);
  };
  ws.onclose = (ev) => {
    if (desk.socket !== ws) return;
    // 1008: the gateway refused the token (expired, signed out elsewhere).
    if (ev.code === 1008) return signedOut();
    if (!desk.token) return;
    scheduleReconnect();
  };
}

// Reconnects by itself with a growing wait (0.5 s → 10 s), counting down on screen; the banner's
// button or the browser coming back online reconnects at once.
function scheduleReconnect() {
  setConn("offline");
  desk.retryIn = desk.retry;
  desk.retry = Math.min(desk.retry * 2, 10000);
  clearInterval(desk.retryTimer);
  desk.retryTimer = setInterval(() => {
    desk.retryIn -= 1000;
    if (desk.retryIn <= 0) connect(); else renderTop();
  }, 1000);
  renderTop();
}

function signedOut() {
  sessionStorage.removeItem("consult.desk.token");
  desk.token = null;
  setConn("offline");
  $("desk").hidden = true;
  $("login").hidden = false;
  $("login-error").textContent = t("login.expired");
}

function setConn(state) {
  desk.conn = state;
  if (state === "online") desk.everOnline = true;
  renderTop();
  if (desk.me) renderPane();
}

$("reconnect").addEventListener("click", () => { desk.retry = 500; connect(); });
window.addEventListener("online", () => { if (desk.conn !== "online" && desk.token) { desk.retry = 500; connect(); } });

// ---------- events ----------
function onEvent(e) {
  switch (e.type) {
    case "welcome": {
      desk.me = { id: e.agent_id, name: e.agent_name };
      desk.retry = 500;
      desk.canned = e.canned;
      desk.agents = e.agents;
      desk.queue = new Map(e.queue.map((s) => [s.id, s]));
      // Resuming after a drop: each open tab catches up from the last message it has.
      for (const s of e.chats) desk.chats.set(s.id, s);
      for (const s of e.chats) if (!desk.tabs.includes(s.id)) openTab(s.id, !desk.active);
      for (const id of desk.tabs) openSession(id);
      send({ type: "available", available: $("available").checked });
      setConn("online");
      renderAll();
      break;
    }
    case "profile":
      desk.profile = { role: e.role, max_chats: e.max_chats };
      desk.withBot = new Map(e.with_bot.map((s) => [s.id, s]));
      renderViews();
      renderAll();
      // A deep link's view, once the role is known (a view the role can't use stays hidden).
      if (desk.linkView && !$("view-" + desk.linkView).hidden) showView(desk.linkView);
      desk.linkView = null;
      break;
    case "presence":
      desk.agents = e.agents;
      updateTransferDialog();
      renderPane();
      break;
    case "session":
      onSession(e.session);
      break;
    case "message":
      onMessage(e.session, e.message);
      break;
    case "ack": {
      const p = desk.pending.get(e.client_id);
      desk.pending.delete(e.client_id);
      if (p && p.session === desk.active) renderMessages();
      break;
    }
    case "typing":
      if (e.session === desk.active) $("typing").hidden = !e.active;
      break;
    case "quiet":
      desk.quiet.add(e.session);
      renderLists();
      renderPane();
      break;
    case "history":
      renderHistory(e.user_key, e.sessions);
      break;
    case "search_results":
      if (desk.search && desk.search.query === e.query) {
        desk.search.results = e.sessions;
        for (const s of e.sessions) if (desk.chats.has(s.id)) desk.chats.set(s.id, s);
        renderResults();
      }
      break;
    case "tags":
      desk.tags.set(e.session, e.tags);
      if (e.session === desk.active) renderTags(desk.chats.get(e.session));
      renderLists();
      break;
    case "blocks":
      desk.blocks = e.blocks;
      updateBlocksDialog();
      break;
    case "error":
      onError(e);
      break;
    case "notes":
      onNotes(e);
      break;
    case "board":
      onBoard(e);
      break;
    case "canned":
      desk.canned = e.canned;
      if (typeof renderCannedAdmin === "function") renderCannedAdmin();
      break;
    case "receipts":
      desk.receipts.set(e.session, e.receipts);
      if (e.session === desk.active) renderMessages();
      break;
  }
}

// The visitor sees "read" once the assignee has the chat in view: active tab, desk visible.
function reportRead() {
  const id = desk.active;
  const s = id && desk.chats.get(id);
  if (!s || !mine(s) || document.hidden) return;
  const seq = lastSeq(id);
  const known = Math.max(desk.readSent.get(id) || 0, (desk.receipts.get(id) || {}).agent_read_seq || 0);
  if (seq > known && send({ type: "read", session: id, seq })) desk.readSent.set(id, seq);
}
document.addEventListener("visibilitychange", reportRead);

function errorText(e) {
  const max = desk.profile ? desk.profile.max_chats : "";
  if (["agent_full", "not_assigned", "session_not_open", "not_found"].includes(e.code)) return t("err." + e.code, { max });
  return t("err.other", { m: e.message });
}

function onError(e) {
  if (e.client_id) {
    const p = desk.pending.get(e.client_id);
    desk.pending.delete(e.client_id);
    if (p && p.session === desk.active && !$("reply-text").value) $("reply-text").value = p.text;
    $("reply-error").textContent = errorText(e);
    setTimeout(() => { $("reply-error").textContent = ""; }, 8000);
    renderMessages();
    return;
  }
  // Anything else (take, transfer, close, block, tags, search) is said in the pane, where the
  // agent pressed the button, until the next action.
  desk.whyNot = errorText(e);
  renderPane();
  if (!desk.active) $("reply-error").textContent = desk.whyNot;
}

function onSession(s) {
  const wasQueued = desk.queue.has(s.id);
  const wasMine = desk.chats.has(s.id) && mine(desk.chats.get(s.id));
  if (s.state === "queued") desk.queue.set(s.id, s); else desk.queue.delete(s.id);
  if (s.state === "bot") desk.withBot.set(s.id, s); else desk.withBot.delete(s.id);
  if (mine(s)) {
    desk.chats.set(s.id, s);
    if (!wasMine) {
      const lost = document.activeElement === document.body || !document.activeElement;
      openTab(s.id, !desk.active || desk.active === s.id);
      if (lost && desk.active === s.id) reply.focus();
      openSession(s.id);
      notifier.alert(t("notify.assigned"), who(s) + (s.preview ? ": " + s.preview : ""), "s-" + s.id, () => openTab(s.id, true));
    }
  } else if (desk.chats.has(s.id)) {
    desk.chats.set(s.id, s);
  }
  if (s.state === "queued" && !wasQueued) {
    notifier.alert(t("notify.queued"), who(s) + (s.preview ? ": " + s.preview : ""), "q-" + s.id, () => viewReadOnly(s));
  }
  if (desk.search && desk.search.results) {
    desk.search.results = desk.search.results.map((x) => (x.id === s.id ? s : x));
  }
  renderAll();
}

function onMessage(session, m) {
  if (!desk.messages.has(session)) desk.messages.set(session, new Map());
  const list = desk.messages.get(session);
  const fresh = !list.has(m.seq);
  list.set(m.seq, m);
  if (m.sender.role === "visitor") desk.quiet.delete(session);
  const chat = desk.chats.get(session);
  if (chat) {
    chat.last_seq = Math.max(chat.last_seq, m.seq);
    chat.last_ms = m.at_ms;
    if (m.sender.role === "visitor" && m.seq >= chat.last_seq) chat.preview = previewOf(m.body);
  }
  const live = fresh && m.sender.role === "visitor" && chat && mine(chat) && Date.now() - m.at_ms < 60000;
  if (fresh && m.sender.role === "visitor" && (session !== desk.active || document.hidden)) {
    if (session !== desk.active) desk.unread.set(session, (desk.unread.get(session) || 0) + 1);
    if (live) notifier.alert(t("notify.message", { who: who(chat) }), previewOf(m.body), "m-" + session, () => openTab(session, true));
  }
  if (session === desk.active) {
    renderMessages();
    reportRead();
  }
  renderLists();
  renderTabs();
}

function lastSeq(session) {
  const list = desk.messages.get(session);
  return list ? Math.max(0, ...list.keys()) : 0;
}

// Asks for a chat's messages: all of them the first time (live lines that arrived before, such as
// a transfer's own line, must not hide the earlier history), then only what came after.
const complete = new Set();
function openSession(id) {
  if (send({ type: "open", session: id, after_seq: complete.has(id) ? lastSeq(id) : 0 })) complete.add(id);
}

// ---------- tabs ----------
function viewReadOnly(s) {
  if (!desk.chats.has(s.id) || !mine(desk.chats.get(s.id))) desk.chats.set(s.id, s);
  openTab(s.id, true);
  openSession(s.id);
}

function openTab(id, focus) {
  if (!desk.tabs.includes(id)) desk.tabs.push(id);
  if (focus) {
    desk.active = id;
    desk.whyNot = "";
    desk.unread.delete(id);
    $("typing").hidden = true;
    const s = desk.chats.get(id);
    if (s) send({ type: "history", user_key: s.user_key });
  }
  renderAll();
  if (focus) reportRead();
}

function closeTab(id) {
  desk.tabs = desk.tabs.filter((x) => x !== id);
  if (desk.active === id) desk.active = desk.tabs[desk.tabs.length - 1] || null;
  renderAll();
}

// ---------- reply & canned answers ----------
const reply = $("reply-text");
let cannedSel = 0;

function cannedMatches() {
  const v = reply.value;
  if (!v.startsWith("/") || v.includes("\n")) return [];
  return desk.canned.filter((c) => c.shortcut.startsWith(v.split(" ")[0]));
}

function renderCanned() {
  const matches = cannedMatches();
  const box = $("canned");
  box.hidden = matches.length === 0;
  cannedSel = Math.min(cannedSel, Math.max(0, matches.length - 1));
  box.replaceChildren(...matches.map((c, i) => {
    const li = el("li", i === cannedSel ? "sel" : "");
    li.setAttribute("role", "option");
    li.setAttribute("aria-selected", i === cannedSel ? "true" : "false");
    li.append(el("b", "", c.shortcut), el("span", "small", c.text));
    li.addEventListener("mousedown", (ev) => { ev.preventDefault(); pickCanned(c); });
    return li;
  }));
}

function pickCanned(c) {
  reply.value = c.text;
  renderCanned();
  updateCount();
  reply.focus();
}

function updateCount() {
  $("reply-count").textContent = `${[...reply.value].length} / 1000`;
}

reply.addEventListener("input", () => {
  renderCanned();
  updateCount();
  if (desk.active) {
    send({ type: "typing", session: desk.active, active: reply.value.length > 0 });
    clearTimeout(desk.typingTimer);
    desk.typingTimer = setTimeout(() => send({ type: "typing", session: desk.active, active: false }), 3000);
  }
});

reply.addEventListener("keydown", (ev) => {
  const matches = cannedMatches();
  if (matches.length && (ev.key === "ArrowDown" || ev.key === "ArrowUp")) {
    ev.preventDefault();
    cannedSel = (cannedSel + (ev.key === "ArrowDown" ? 1 : matches.length - 1)) % matches.length;
    renderCanned();
    return;
  }
  if (matches.length && (ev.key === "Tab" || (ev.key === "Enter" && !ev.isComposing))) {
    ev.preventDefault();
    pickCanned(matches[cannedSel]);
    return;
  }
  if (matches.length && ev.key === "Escape") {
    reply.value = "";
    renderCanned();
    return;
  }
  // Enter sends; Shift+Enter breaks the line; never while a Korean IME is composing.
  if (ev.key === "Enter" && !ev.shiftKey && !ev.isComposing && ev.keyCode !== 229) {
    ev.preventDefault();
    $("reply").requestSubmit();
  }
});

$("reply").addEventListener("submit", (ev) => {
  ev.preventDefault();
  const text = reply.value.trim();
  if (!text || !desk.active) return;
  const cid = clientId();
  // Offline: the text stays in the box rather than vanishing into a closed socket.
  if (!send({ type: "send", session: desk.active, client_id: cid, body: { kind: "text", text } })) {
    $("reply-error").textContent = t("reply.offline");
    return;
  }
  desk.pending.set(cid, { session: desk.active, text });
  send({ type: "typing", session: desk.active, active: false });
  reply.value = "";
  renderCanned();
  updateCount();
  renderMessages();
});

$("attach-btn").addEventListener("click", () => $("attach").click());
$("attach").addEventListener("change", async () => {
  const file = $("attach").files[0];
  $("attach").value = "";
  if (!file || !desk.active) return;
  const session = desk.active;
  try {
    const r = await fetch("/v1/uploads?name=" + encodeURIComponent(file.name), {
      method: "POST",
      headers: { authorization: "Bearer " + desk.token },
      body: file,
    });
    const up = await r.json().catch(() => ({ message: r.statusText }));
    if (!r.ok) throw new Error(up.message || r.statusText);
    const body = up.mime.startsWith("image/")
      ? { kind: "image", attachment: up.attachment, mime: up.mime, size: up.size }
      : { kind: "file", attachment: up.attachment, name: up.name, mime: up.mime, size: up.size };
    if (!send({ type: "send", session, client_id: clientId(), body })) throw new Error(t("reply.offline"));
  } catch (e) {
    $("reply-error").textContent = t("err.upload", { m: e.message });
  }
  $("attach-btn").focus();
});

// ---------- actions ----------
function takeChat(id) {
  desk.whyNot = "";
  if (atCapacity()) {
    // Say why rather than send what the gateway would refuse.
    desk.whyNot = t("take.full", { n: activeCount(), max: desk.profile.max_chats });
    const s = desk.queue.get(id);
    if (s && desk.active !== id) viewReadOnly(s); else renderPane();
    $("why-not").focus?.();
    return;
  }
  send({ type: "take", session: id });
}

$("take").addEventListener("click", () => desk.active && takeChat(desk.active));

let transferDialog = null;
function updateTransferDialog() {
  if (transferDialog) transferDialog();
}

$("transfer").addEventListener("click", async () => {
  const s = desk.chats.get(desk.active);
  if (!s) return;
  const to = await openDialog({
    title: t("dlg.transfer.title"),
    ok: t("dlg.transfer.ok"),
    fill(body) {
      body.append(el("p", "", t("dlg.transfer.body", { who: who(s) })));
      const fs = el("fieldset", "agents");
      fs.append(el("legend", "visually-hidden", t("dlg.transfer.title")));
      body.append(fs);
      // Presence is live: the list redraws when any agent signs in, out, or switches.
      transferDialog = () => {
        const checked = fs.querySelector("input:checked");
        const keep = checked ? checked.value : null;
        const others = desk.agents.filter((a) => a.id !== desk.me.id);
        if (!others.length) { fs.replaceChildren(el("p", "muted", t("dlg.transfer.none"))); return; }
        fs.replaceChildren(...others.map((a, i) => {
          const label = el("label", "agent-row");
          const r = el("input");
          r.type = "radio";
          r.name = "to";
          r.value = a.id;
          r.checked = keep ? keep === a.id : i === others.findIndex((x) => x.available);
          const p = a.available ? "on" : "off";
          label.append(r, el("span", "", a.name), el("span", "presence " + p, t(a.available ? "presence.on" : "presence.away")));
          return label;
        }));
      };
      transferDialog();
      return () => { const c = fs.querySelector("input:checked"); return c ? c.value : false; };
    },
  });
  transferDialog = null;
  if (to) send({ type: "transfer", session: s.id, to_agent: to });
});

$("close").addEventListener("click", async () => {
  const s = desk.chats.get(desk.active);
  if (!s) return;
  // Close, or end the agent's part and give the chat back to the bot (it stays open there).
  const how = await openDialog({
    title: t("dlg.close.title"),
    ok: t("dlg.close.ok"),
    danger: true,
    fill(body) {
      const fs = el("fieldset", "agents choices");
      fs.append(el("legend", "visually-hidden", t("dlg.close.title")));
      for (const [value, label] of [["close", t("dlg.close.body", { who: who(s) })], ["bot", t("dlg.close.bot")]]) {
        const row = el("label", "agent-row choice");
        const r = Object.assign(document.createElement("input"), { type: "radio", name: "how", value, checked: value === "close" });
        row.append(r, el("span", "", label));
        fs.append(row);
      }
      body.append(fs);
      return () => fs.querySelector("input:checked").value;
    },
  });
  if (how) send({ type: "close", session: s.id, to_bot: how === "bot" });
});

$("block").addEventListener("click", async () => {
  const s = desk.chats.get(desk.active);
  if (!s) return;
  const answer = await openDialog({
    title: t("dlg.block.title"),
    ok: t("dlg.block.ok"),
    danger: true,
    fill(body) {
      body.append(el("p", "", t("dlg.block.body", { who: who(s) })));
      const days = el("select");
      days.id = "block-days";
      for (const n of [1, 7, 30, 90, 365]) {
        const o = el("option", "", t("days", { n }));
        o.value = n;
        if (n === 7) o.selected = true;
        days.append(o);
      }
      const reason = el("input");
      reason.id = "block-reason";
      reason.maxLength = 200;
      reason.required = true;
      const l1 = el("label", "field");
      l1.append(el("span", "", t("dlg.block.days")), days);
      const l2 = el("label", "field");
      l2.append(el("span", "", t("dlg.block.reason")), reason);
      body.append(l1, l2);
      return () => (reason.value.trim() ? { days: parseInt(days.value, 10), reason: reason.value.trim() } : (reason.reportValidity(), false));
    },
  });
  if (answer) send({ type: "block", session: s.id, days: answer.days, reason: answer.reason });
});

let blocksDialog = null;
function updateBlocksDialog() {
  if (blocksDialog) blocksDialog();
}
$("blocks").addEventListener("click", async () => {
  desk.blocks = null;
  send({ type: "blocks" });
  await openDialog({
    title: t("dlg.blocks.title"),
    fill(body) {
      const ul = el("ul", "blocks");
      body.append(ul);
      blocksDialog = () => {
        if (desk.blocks === null) return;
        if (!desk.blocks.length) { ul.replaceChildren(el("li", "muted", t("dlg.blocks.none"))); return; }
        ul.replaceChildren(...desk.blocks.map((b) => {
          const li = el("li", "block-row");
          const text = el("div");
          text.append(el("code", "", b.user_key), el("div", "small muted", t("dlg.blocks.until", { d: new Date(b.until_ms).toLocaleDateString(locale()), a: agentName(b.agent), r: b.reason })));
          const u = el("button", "ghost", t("unblock"));
          u.type = "button";
          u.addEventListener("click", () => send({ type: "unblock", channel: b.channel, user_key: b.user_key }));
          li.append(text, u);
          return li;
        }));
        const first = ul.querySelector("button");
        if (first && !ul.contains(document.activeElement)) first.focus();
      };
      blocksDialog();
    },
  });
  blocksDialog = null;
});

function setTags(session, tags) {
  desk.whyNot = "";
  send({ type: "tag", session, tags });
}
$("tag-input").addEventListener("keydown", (ev) => {
  if (ev.key !== "Enter" || ev.isComposing || ev.keyCode === 229) return;
  ev.preventDefault();
  const v = ev.target.value.trim().replace(/^#/, "").toLowerCase();
  if (!v || !desk.active) return;
  const now = desk.tags.get(desk.active) || [];
  if (!now.includes(v)) setTags(desk.active, [...now, v]);
  ev.target.value = "";
});

// ---------- search over past chats ----------
let searchTimer = null;
function runSearch() {
  const q = $("search").value.trim();
  if (!q) { desk.search = null; renderResults(); return; }
  if ([...q].length < 2) { desk.search = { query: q, short: true, results: [] }; renderResults(); return; }
  desk.search = { query: q, short: false, results: null };
  send({ type: "search", query: q });
  renderResults();
}
$("search").addEventListener("input", () => { clearTimeout(searchTimer); searchTimer = setTimeout(runSearch, 250); });
$("search-form").addEventListener("submit", (ev) => { ev.preventDefault(); clearTimeout(searchTimer); runSearch(); });
$("search").addEventListener("keydown", (ev) => { if (ev.key === "Escape") { $("search").value = ""; runSearch(); } });
$("search-clear").addEventListener("click", () => { $("search").value = ""; runSearch(); $("search").focus(); });

// ---------- switches ----------
$("available").addEventListener("change", () => send({ type: "available", available: $("available").checked }));
$("sound").addEventListener("change", () => { notifier.setSound($("sound").checked); notifier.unlock(); });
$("alerts").addEventListener("click", async () => { await notifier.ask(); renderTop(); });

// ---------- keyboard ----------
document.addEventListener("pointerdown", () => notifier.unlock(), { once: true });
document.addEventListener("keydown", (ev) => {
  notifier.unlock();
  if (!ev.altKey || ev.ctrlKey || ev.metaKey || $("desk").hidden || document.querySelector("dialog[open]")) return;
  const focusFirst = (list) => { const b = $(list).querySelector("button"); if (b) b.focus(); return !!b; };
  if (ev.code === "Digit1") { ev.preventDefault(); focusFirst("queue") || $("queue-empty").scrollIntoView(); }
  else if (ev.code === "Digit2") { ev.preventDefault(); focusFirst("chats"); }
  else if (ev.code === "Digit3") { ev.preventDefault(); if (!reply.disabled) reply.focus(); }
  else if (ev.code === "Slash") { ev.preventDefault(); $("search").focus(); }
});
// Arrow keys move between rows of a list.
for (const id of ["queue", "chats", "with-bot", "results"]) {
  $(id).addEventListener("keydown", (ev) => {
    if (ev.key !== "ArrowDown" && ev.key !== "ArrowUp") return;
    const rows = [...$(id).querySelectorAll(".item-open")];
    const i = rows.indexOf(document.activeElement);
    if (i < 0) return;
    ev.preventDefault();
    const next = rows[(i + (ev.key === "ArrowDown" ? 1 : rows.length - 1)) % rows.length];
    next.focus();
  });
}

setInterval(renderLists, 30000);
// A deep link may carry a token in the fragment (never sent to the server), a view (`board`,
// `reports`, `audit`) and a language; take them and drop them.
const link = new URLSearchParams(location.hash.slice(1));
const hashToken = link.get("token");
if (["board", "reports", "audit"].includes(link.get("view"))) desk.linkView = link.get("view");
if (link.get("lang") && DESK_STRINGS[link.get("lang")]) {
  setDeskLang(link.get("lang"));
  relabel();
}
if (hashToken) {
  desk.token = hashToken;
  sessionStorage.setItem("consult.desk.token", hashToken);
  history.replaceState(null, "", location.pathname);
}
if (desk.token) start();
