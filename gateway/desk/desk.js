// Consult agent desk. Speaks AgentCommand/AgentEvent (consult-sdk protocol.rs) over one WebSocket.
// Every piece of message or visitor data reaches the DOM through textContent, never innerHTML.
"use strict";

const $ = (id) => document.getElementById(id);
const el = (tag, cls, text) => {
  const e = document.createElement(tag);
  if (cls) e.className = cls;
  if (text !== undefined && text !== null) e.textContent = String(text);
  return e;
};

const TITLE = document.title;

const desk = {
  token: sessionStorage.getItem("consult.desk.token"),
  me: null,
  socket: null,
  queue: new Map(), // session id -> summary
  chats: new Map(), // session id -> summary (mine, or opened read-only)
  messages: new Map(), // session id -> Map(seq -> message)
  unread: new Map(),
  quiet: new Set(),
  tabs: [],
  active: null,
  canned: [],
  agents: [],
  pending: new Map(), // client id -> {session, text}
  typingTimer: null,
  retry: 500,
};

function send(cmd) {
  if (desk.socket && desk.socket.readyState === WebSocket.OPEN) desk.socket.send(JSON.stringify(cmd));
}

function clientId() {
  return "d-" + Date.now().toString(36) + "-" + Math.random().toString(36).slice(2, 10);
}

// ---------- sign-in ----------
$("login-form").addEventListener("submit", async (ev) => {
  ev.preventDefault();
  $("login-error").textContent = "";
  try {
    const r = await fetch("/v1/agent/login", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ agent_id: $("login-id").value.trim(), password: $("login-pw").value }),
    });
    const body = await r.json();
    if (!r.ok) throw new Error(body.message || "sign-in failed");
    desk.token = body.token;
    sessionStorage.setItem("consult.desk.token", body.token);
    start();
  } catch (e) {
    $("login-error").textContent = e.message;
  }
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
  const proto = location.protocol === "https:" ? "wss:" : "ws:";
  const ws = new WebSocket(`${proto}//${location.host}/v1/agent/socket?token=${encodeURIComponent(desk.token)}`);
  desk.socket = ws;
  ws.onopen = () => {
    desk.retry = 500;
    send({ type: "hello", version: 1 });
  };
  ws.onmessage = (ev) => {
    let event;
    try { event = JSON.parse(ev.data); } catch { return; }
    onEvent(event);
  };
  ws.onclose = (ev) => {
    setConn(false);
    if (ev.code === 1008 || !desk.token) return;
    setTimeout(connect, desk.retry);
    desk.retry = Math.min(desk.retry * 2, 10000);
  };
  ws.onerror = () => {
    // A refused upgrade (sign-in expired or signed out elsewhere) lands here first.
    fetch(`/v1/agent/socket?token=${encodeURIComponent(desk.token)}`).then((r) => {
      if (r.status === 401) {
        sessionStorage.removeItem("consult.desk.token");
        desk.token = null;
        $("desk").hidden = true;
        $("login").hidden = false;
        $("login-error").textContent = "세션이 만료되었습니다. 다시 로그인하세요 · Session expired, sign in again";
      }
    });
  };
}

function setConn(on) {
  $("conn").textContent = on ? "online" : "offline";
  $("conn").classList.toggle("off", !on);
}

// ---------- events ----------
function onEvent(e) {
  switch (e.type) {
    case "welcome":
      desk.me = { id: e.agent_id, name: e.agent_name };
      $("me").textContent = e.agent_name;
      setConn(true);
      desk.canned = e.canned;
      desk.agents = e.agents;
      desk.queue = new Map(e.queue.map((s) => [s.id, s]));
      for (const s of e.chats) {
        desk.chats.set(s.id, s);
        openTab(s.id, !desk.active);
        send({ type: "open", session: s.id, after_seq: lastSeq(s.id) });
      }
      send({ type: "available", available: $("available").checked });
      renderAll();
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
    case "error":
      if (e.client_id) {
        const p = desk.pending.get(e.client_id);
        desk.pending.delete(e.client_id);
        if (p && p.session === desk.active) $("reply-text").value = p.text;
      }
      $("reply-error").textContent = e.message;
      setTimeout(() => { $("reply-error").textContent = ""; }, 6000);
      renderMessages();
      break;
  }
}

function onSession(s) {
  const mine = s.state === "assigned" && s.agent === desk.me.id;
  if (s.state === "queued") desk.queue.set(s.id, s); else desk.queue.delete(s.id);
  if (mine) {
    const isNew = !desk.chats.has(s.id) || desk.chats.get(s.id).agent !== desk.me.id;
    desk.chats.set(s.id, s);
    if (isNew) {
      openTab(s.id, !desk.active);
      send({ type: "open", session: s.id, after_seq: lastSeq(s.id) });
    }
  } else if (desk.chats.has(s.id)) {
    desk.chats.set(s.id, s);
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
  if (fresh && session !== desk.active && m.sender.role === "visitor") {
    desk.unread.set(session, (desk.unread.get(session) || 0) + 1);
  }
  if (session === desk.active) renderMessages();
  renderLists();
  renderTabs();
}

function lastSeq(session) {
  const list = desk.messages.get(session);
  return list ? Math.max(0, ...list.keys()) : 0;
}

// ---------- labels ----------
function who(s) {
  if (s.member) return s.member.name || s.member.id;
  return "방문자 Visitor " + s.user_key.slice(2, 8);
}

function entryText(entry) {
  if (!entry) return "";
  return [entry.button, entry.product, entry.campaign, entry.order, entry.page].filter(Boolean).join(" · ");
}

const STATE_LABEL = { waiting: "대기 waiting", bot: "봇 bot", queued: "대기열 queued", assigned: "상담 중 active", closed: "종료 closed" };

function badge(kind, text) {
  return el("span", "badge " + kind, text);
}

function sessionItem(s, onClick) {
  const li = el("li", "item" + (s.id === desk.active ? " active" : ""));
  const top = el("div", "item-top");
  top.append(el("span", "item-name", who(s)));
  if (s.member) top.append(badge("verified", "회원 verified"));
  if (desk.quiet.has(s.id)) top.append(badge("quiet", "조용 quiet"));
  const n = desk.unread.get(s.id);
  if (n) top.append(el("span", "unread", n));
  li.append(top);
  const ep = s.entry.verified || s.entry.declared;
  const line = el("div", "small muted");
  line.append(document.createTextNode((s.category ? "#" + s.category + " " : "") + (entryText(ep) || s.entry.via)));
  if (ep) line.append(" ", badge(s.entry.verified ? "verified" : "declared", s.entry.verified ? "verified" : "declared (unverified)"));
  li.append(line);
  if (s.preview) li.append(el("div", "item-preview", s.preview));
  const meta = el("div", "small muted", `${STATE_LABEL[s.state] || s.state} · ${timeAgo(s.opened_ms)}` + (s.earlier_sessions ? ` · 이전 ${s.earlier_sessions}회` : ""));
  li.append(meta);
  li.addEventListener("click", onClick);
  return li;
}

function timeAgo(ms) {
  const s = Math.max(0, Math.round((Date.now() - ms) / 1000));
  if (s < 60) return s + "s";
  if (s < 3600) return Math.round(s / 60) + "m";
  return new Date(ms).toLocaleString("ko-KR", { month: "short", day: "numeric", hour: "2-digit", minute: "2-digit" });
}

// ---------- rendering ----------
function renderAll() {
  renderLists();
  renderTabs();
  renderPane();
}

function renderLists() {
  const q = $("queue");
  q.replaceChildren(...[...desk.queue.values()].map((s) => {
    const li = sessionItem(s, () => { viewReadOnly(s); });
    const take = el("button", "", "Take · 가져오기");
    take.addEventListener("click", (ev) => { ev.stopPropagation(); send({ type: "take", session: s.id }); });
    li.append(take);
    return li;
  }));
  // The empty state sits beside the list, so the list holds only requests (and reads as empty).
  $("queue-empty").hidden = desk.queue.size > 0;
  $("queue-count").textContent = desk.queue.size;
  // A desk left in a background tab all day still says when someone waits or writes.
  const unread = [...desk.unread.values()].reduce((a, b) => a + b, 0);
  const waiting = desk.queue.size + unread;
  document.title = (waiting ? `(${waiting}) ` : "") + TITLE;
  const mine = [...desk.chats.values()].filter((s) => s.state === "assigned" && s.agent === desk.me.id);
  $("chats").replaceChildren(...mine.map((s) => sessionItem(s, () => openTab(s.id, true))));
  $("chats-count").textContent = mine.length;
}

function viewReadOnly(s) {
  desk.chats.set(s.id, s);
  openTab(s.id, true);
  send({ type: "open", session: s.id, after_seq: lastSeq(s.id) });
}

function openTab(id, focus) {
  if (!desk.tabs.includes(id)) desk.tabs.push(id);
  if (focus) {
    desk.active = id;
    desk.unread.delete(id);
    const s = desk.chats.get(id);
    if (s) send({ type: "history", user_key: s.user_key });
  }
  renderAll();
}

function closeTab(id) {
  desk.tabs = desk.tabs.filter((t) => t !== id);
  if (desk.active === id) desk.active = desk.tabs[desk.tabs.length - 1] || null;
  renderAll();
}

function renderTabs() {
  $("tabs").replaceChildren(...desk.tabs.map((id) => {
    const s = desk.chats.get(id);
    const t = el("button", "tab" + (id === desk.active ? " active" : ""));
    t.append(el("span", "", s ? who(s) : id));
    if (s && s.state === "closed") t.append(badge("state", "종료"));
    const n = desk.unread.get(id);
    if (n) t.append(el("span", "unread", n));
    const x = el("button", "x", "×");
    x.title = "Close tab";
    x.addEventListener("click", (ev) => { ev.stopPropagation(); closeTab(id); });
    t.append(x);
    t.addEventListener("click", () => openTab(id, true));
    return t;
  }));
}

function renderPane() {
  const s = desk.active && desk.chats.get(desk.active);
  $("pane").hidden = !s;
  $("empty").hidden = !!s;
  if (!s) {
    $("entry").replaceChildren();
    $("member").replaceChildren();
    $("history").replaceChildren();
    return;
  }
  const mine = s.state === "assigned" && s.agent === desk.me.id;
  $("pane-title").textContent = who(s);
  $("pane-sub").textContent = `${STATE_LABEL[s.state] || s.state}` + (s.category ? ` · #${s.category}` : "") + (s.agent && !mine ? ` · ${agentName(s.agent)}` : "");
  $("take").hidden = s.state !== "queued";
  for (const id of ["transfer", "transfer-to", "close", "block"]) $(id).disabled = !mine;
  $("transfer-to").replaceChildren(...desk.agents.filter((a) => a.id !== desk.me.id).map((a) => {
    const o = el("option", "", a.name + (a.available ? "" : " (away)"));
    o.value = a.id;
    return o;
  }));
  $("quiet").hidden = !desk.quiet.has(s.id) || !mine;
  $("reply").classList.toggle("disabled", !mine);
  $("reply-text").disabled = !mine;
  $("reply-text").placeholder = mine
    ? "메시지 입력, / 로 자주 쓰는 답변 · Type a reply, / for canned answers"
    : s.state === "closed" ? "종료된 상담입니다. 고객이 다시 메시지를 보내면 이어집니다 · Closed: the visitor must write first" : "이 상담을 가져오면 답할 수 있습니다 · Take this chat to reply";
  renderInfo(s);
  renderMessages();
}

function agentName(id) {
  const a = desk.agents.find((x) => x.id === id);
  return a ? a.name : id;
}

function renderInfo(s) {
  const entry = $("entry");
  entry.replaceChildren();
  entry.append(kv([["경로 via", s.entry.via], ["카테고리", s.category || "—"]]));
  // The page the visitor moved to mid-chat: declared by the page, so unverified, and kept apart
  // from the entry point the chat started with.
  if (s.current_page) {
    const now = el("p", "now-viewing", "지금 보는 페이지 · Now viewing: ");
    now.append(el("span", "now-page", s.current_page), " ", badge("declared", "(declared)"));
    entry.append(now);
  }
  const rows = entryRows(s.entry.verified, s.entry.declared);
  if (rows.verified.length) {
    const label = el("div", "section-label");
    label.append(badge("verified", "verified · 서명됨"));
    entry.append(label, kv(rows.verified));
  }
  // Declared fields the signature already says are not repeated; a contradiction stays, marked.
  if (rows.declared.length) {
    const label = el("div", "section-label");
    label.append(badge("declared", "declared (unverified) · 미검증"));
    const dl = el("dl", "kv");
    for (const d of rows.declared) {
      const dd = el("dd", d.differs ? "differs" : "", d.value);
      if (d.differs) {
        dd.append(" ", badge("mismatch", "≠ verified · 서명과 다름"));
        dd.title = `verified: ${d.verified}`;
      }
      dl.append(el("dt", "", d.key), dd);
    }
    entry.append(label, dl);
  }
  const member = $("member");
  member.replaceChildren();
  if (s.member) {
    const label = el("div", "section-label");
    label.append(badge("verified", "verified member · 회원 인증"));
    const rows = [["ID", s.member.id], ["이름 name", s.member.name], ["등급 tier", s.member.tier]];
    for (const [k, v] of Object.entries(s.member.attrs || {})) rows.push([k, v]);
    member.append(label, kv(rows.filter(([, v]) => v)));
  } else {
    member.append(el("p", "muted small", "비회원 (서명된 회원 정보 없음) · Not a signed-in member"));
  }
}

function kv(rows) {
  const dl = el("dl", "kv");
  for (const [k, v] of rows) dl.append(el("dt", "", k), el("dd", "", v));
  return dl;
}

function renderHistory(userKey, sessions) {
  const s = desk.active && desk.chats.get(desk.active);
  if (!s || s.user_key !== userKey) return;
  const others = sessions.filter((x) => x.id !== s.id);
  if (!others.length) {
    $("history").replaceChildren(el("li", "muted small", "처음 방문한 고객입니다 · First visit"));
    return;
  }
  $("history").replaceChildren(...others.map((h) => {
    const li = el("li", "item");
    li.append(el("div", "item-name small", new Date(h.opened_ms).toLocaleString("ko-KR")));
    li.append(el("div", "small muted", `${STATE_LABEL[h.state] || h.state}` + (h.category ? ` · #${h.category}` : "") + (h.agent ? ` · ${agentName(h.agent)}` : "") + ` · ${h.last_seq ? "msgs" : ""}`));
    li.addEventListener("click", () => viewReadOnly(h));
    return li;
  }));
}

function renderMessages() {
  const id = desk.active;
  const box = $("messages");
  const atBottom = box.scrollHeight - box.scrollTop - box.clientHeight < 40;
  const list = [...(desk.messages.get(id) || new Map()).values()].sort((a, b) => a.seq - b.seq);
  const items = list.map(messageItem);
  for (const [cid, p] of desk.pending) {
    if (p.session !== id) continue;
    const li = el("li", "msg agent pending");
    li.append(el("div", "bubble", p.text), el("div", "meta", "sending… " + cid.slice(-4)));
    items.push(li);
  }
  box.replaceChildren(...items);
  if (atBottom || items.length < 30) box.scrollTop = box.scrollHeight;
}

function messageItem(m) {
  const role = m.sender.role;
  const li = el("li", "msg " + role);
  const b = m.body;
  const bubble = el("div", "bubble");
  if (b.kind === "text") bubble.textContent = b.text;
  else if (b.kind === "image") {
    const img = el("img");
    img.src = "/v1/attachments/" + encodeURIComponent(b.attachment);
    img.alt = "image";
    img.loading = "lazy";
    bubble.append(img);
  } else if (b.kind === "file") {
    const a = el("a", "", `${b.name} (${Math.ceil(b.size / 1024)} KB)`);
    a.href = "/v1/attachments/" + encodeURIComponent(b.attachment);
    a.target = "_blank";
    a.rel = "noopener";
    bubble.append(a);
  } else if (b.kind === "menu") {
    bubble.append(el("div", "", b.text));
    const opts = el("div", "options");
    for (const o of b.options) opts.append(el("span", "", o.label));
    bubble.append(opts);
  }
  const author = role === "agent" ? m.sender.name : role === "visitor" ? "고객 visitor" : role === "bot" ? "봇 bot" : "";
  const time = new Date(m.at_ms).toLocaleTimeString("ko-KR", { hour: "2-digit", minute: "2-digit" });
  li.append(bubble, el("div", "meta", [author, time].filter(Boolean).join(" · ")));
  return li;
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
  desk.pending.set(cid, { session: desk.active, text });
  send({ type: "send", session: desk.active, client_id: cid, body: { kind: "text", text } });
  send({ type: "typing", session: desk.active, active: false });
  reply.value = "";
  renderCanned();
  updateCount();
  renderMessages();
});

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
    const up = await r.json();
    if (!r.ok) throw new Error(up.message);
    const body = up.mime.startsWith("image/")
      ? { kind: "image", attachment: up.attachment, mime: up.mime, size: up.size }
      : { kind: "file", attachment: up.attachment, name: up.name, mime: up.mime, size: up.size };
    send({ type: "send", session, client_id: clientId(), body });
  } catch (e) {
    $("reply-error").textContent = e.message;
  }
});

// ---------- actions ----------
$("take").addEventListener("click", () => desk.active && send({ type: "take", session: desk.active }));
$("transfer").addEventListener("click", () => {
  const to = $("transfer-to").value;
  if (desk.active && to && confirm(`${agentName(to)}에게 전달할까요? · Transfer to ${agentName(to)}?`)) {
    send({ type: "transfer", session: desk.active, to_agent: to });
  }
});
$("close").addEventListener("click", () => {
  if (desk.active && confirm("상담을 종료할까요? · Close this chat?")) send({ type: "close", session: desk.active });
});
$("block").addEventListener("click", () => {
  if (!desk.active) return;
  const days = parseInt(prompt("차단 기간(일) · Block for how many days?", "7") || "", 10);
  if (!days) return;
  const reason = prompt("사유 · Reason (for the audit log)", "abusive language") || "";
  send({ type: "block", session: desk.active, days, reason });
});
$("available").addEventListener("change", () => send({ type: "available", available: $("available").checked }));

setInterval(renderLists, 30000);
// A deep link may carry a token in the fragment (never sent to the server); take it and drop it.
const hashToken = new URLSearchParams(location.hash.slice(1)).get("token");
if (hashToken) {
  desk.token = hashToken;
  sessionStorage.setItem("consult.desk.token", hashToken);
  history.replaceState(null, "", location.pathname);
}
if (desk.token) start();
