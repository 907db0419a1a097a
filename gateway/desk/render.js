// Consult agent desk: drawing the state in `desk` (desk.js) into the page. Every piece of message
// or visitor data reaches the DOM through textContent, never innerHTML.
"use strict";

const $ = (id) => document.getElementById(id);
const el = (tag, cls, text) => {
  const e = document.createElement(tag);
  if (cls) e.className = cls;
  if (text !== undefined && text !== null) e.textContent = String(text);
  return e;
};
const TITLE = document.title;

function badge(kind, text) {
  return el("span", "badge " + kind, text);
}

function who(s) {
  if (s.member) return s.member.name || s.member.id;
  return t("visitor", { k: s.user_key.slice(2, 8) });
}

function stateLabel(state) {
  return t("state." + state);
}

function entryText(entry) {
  if (!entry) return "";
  return [entry.button, entry.product, entry.campaign, entry.order, entry.page].filter(Boolean).join(" · ");
}

function locale() {
  return DESK_LANG === "ko" ? "ko-KR" : "en-GB";
}

function timeAgo(ms) {
  const s = Math.max(0, Math.round((Date.now() - ms) / 1000));
  if (s < 60) return s + (DESK_LANG === "ko" ? "초" : "s");
  if (s < 3600) return Math.round(s / 60) + (DESK_LANG === "ko" ? "분" : "m");
  return new Date(ms).toLocaleString(locale(), { month: "short", day: "numeric", hour: "2-digit", minute: "2-digit" });
}

function sizeText(bytes) {
  // The visitor's panel's rule (widget/src/dom.rs human_size), so both sides say the same size.
  if (bytes < 1024) return bytes + " B";
  if (bytes < 1048576) return Math.floor(bytes / 1024) + " KB";
  return Math.floor(bytes / 1048576) + "." + Math.floor((bytes % 1048576) * 10 / 1048576) + " MB";
}

function mine(s) {
  return s.state === "assigned" && s.agent === desk.me.id;
}

function activeCount() {
  return [...desk.chats.values()].filter(mine).length;
}

function atCapacity() {
  return desk.profile && !isSup() && activeCount() >= desk.profile.max_chats;
}

// One list row: a button that opens the chat (Enter/Space from the keyboard) and, in the queue,
// a Take button beside it.
function sessionItem(s, onOpen, extra) {
  const li = el("li", "item" + (s.id === desk.active ? " active" : ""));
  li.dataset.session = s.id;
  const open = el("button", "item-open");
  open.type = "button";
  if (s.id === desk.active) open.setAttribute("aria-current", "true");
  const top = el("span", "item-top");
  top.append(el("span", "item-name", who(s)));
  if (s.member) top.append(badge("verified", t("member.verified")));
  if (desk.quiet.has(s.id)) top.append(badge("quiet", t("quiet.badge")));
  const n = desk.unread.get(s.id);
  if (n) top.append(el("span", "unread", n));
  open.append(top);
  const ep = s.entry.verified || s.entry.declared;
  const line = el("span", "small muted item-line");
  line.append((s.category ? "#" + s.category + " " : "") + (entryText(ep) || s.entry.via));
  if (ep) line.append(" ", badge(s.entry.verified ? "verified" : "declared", t(s.entry.verified ? "verified" : "declared")));
  open.append(line);
  if (s.preview) open.append(el("span", "item-preview", s.preview));
  const tags = desk.tags.get(s.id);
  const meta = `${stateLabel(s.state)} · ${timeAgo(s.opened_ms)}` + (s.earlier_sessions ? " · " + t("earlier", { n: s.earlier_sessions }) : "") + (tags && tags.length ? " · #" + tags.join(" #") : "");
  open.append(el("span", "small muted", meta));
  li.append(open);
  if (extra) li.append(extra);
  li.addEventListener("click", onOpen);
  return li;
}

function renderAll() {
  renderTop();
  renderLists();
  renderTabs();
  renderPane();
}

function renderTop() {
  const c = $("conn");
  c.dataset.state = desk.conn;
  c.textContent = t("conn." + desk.conn);
  c.classList.toggle("off", desk.conn !== "online");
  $("me").textContent = desk.me ? desk.me.name : "";
  if (desk.profile) {
    const key = isSup() ? "capacity.sup" : "capacity";
    $("capacity").textContent = t(key, { n: activeCount(), max: desk.profile.max_chats });
    $("capacity").classList.toggle("full", !!atCapacity());
  }
  $("alerts").hidden = !notifier.shouldOffer();
  $("sound").checked = notifier.sound;
  const off = desk.conn !== "online" && desk.token;
  $("offline").hidden = !off || desk.conn === "connecting" && desk.everOnline === false;
  if (off) {
    $("offline-text").textContent = desk.conn === "connecting" ? t("conn.trying") : t("conn.lost", { s: Math.max(1, Math.round(desk.retryIn / 1000)) });
  }
}

function takeButton(s) {
  const take = el("button", "take", t("take"));
  take.type = "button";
  take.dataset.take = s.id;
  if (atCapacity()) {
    take.setAttribute("aria-disabled", "true");
    take.title = t("take.full", { n: activeCount(), max: desk.profile.max_chats });
  }
  take.addEventListener("click", (ev) => { ev.stopPropagation(); takeChat(s.id); });
  return take;
}

// Lists and tabs are redrawn whole; the row (and button) that had the keyboard focus gets it back.
function focusKey() {
  const a = document.activeElement;
  const row = a && a.closest && a.closest("[data-session]");
  const list = row && row.parentElement;
  if (!row || !list || !list.id) return null;
  return { list: list.id, session: row.dataset.session, cls: a.classList[0] };
}

function restoreFocus(k) {
  if (!k || (document.activeElement && document.activeElement !== document.body && document.activeElement.isConnected)) return;
  const row = [...$(k.list).children].find((r) => r.dataset.session === k.session);
  const b = row && (row.querySelector("." + k.cls) || row.querySelector("button"));
  if (b) b.focus();
}

function renderLists() {
  const k = focusKey();
  renderListsInner();
  restoreFocus(k);
}

function renderListsInner() {
  const q = $("queue");
  q.replaceChildren(...[...desk.queue.values()].map((s) => sessionItem(s, () => viewReadOnly(s), takeButton(s))));
  // The empty state sits beside the list, so the list holds only requests (and reads as empty).
  $("queue-empty").hidden = desk.queue.size > 0;
  $("queue-count").textContent = desk.queue.size;
  const sup = isSup();
  $("bot-box").hidden = !sup;
  if (sup) {
    $("with-bot").replaceChildren(...[...desk.withBot.values()].map((s) => sessionItem(s, () => viewReadOnly(s))));
    $("bot-empty").hidden = desk.withBot.size > 0;
    $("bot-count").textContent = desk.withBot.size;
  }
  // A desk left in a background tab all day still says when someone waits or writes.
  const unread = [...desk.unread.values()].reduce((a, b) => a + b, 0);
  const waiting = desk.queue.size + unread;
  document.title = (waiting ? `(${waiting}) ` : "") + TITLE;
  const list = [...desk.chats.values()].filter(mine);
  $("chats").replaceChildren(...list.map((s) => sessionItem(s, () => openTab(s.id, true))));
  $("chats-empty").hidden = list.length > 0;
  $("chats-count").textContent = list.length;
  renderResults();
}

function renderResults() {
  const k = focusKey();
  renderResultsInner();
  restoreFocus(k);
}

function renderResultsInner() {
  const box = $("results-box");
  box.hidden = desk.search === null;
  $("search-clear").hidden = desk.search === null;
  if (desk.search === null) return;
  const note = $("results-note");
  if (desk.search.short) note.textContent = t("search.short");
  else if (desk.search.results && !desk.search.results.length) note.textContent = t("search.none");
  else note.textContent = "";
  note.hidden = !note.textContent;
  $("results").replaceChildren(...(desk.search.results || []).map((s) => sessionItem(s, () => viewReadOnly(s))));
}

function renderTabs() {
  const k = focusKey();
  $("tabs").replaceChildren(...desk.tabs.map((id) => {
    const s = desk.chats.get(id);
    const wrap = el("span", "tab" + (id === desk.active ? " active" : ""));
    wrap.dataset.session = id;
    const b = el("button", "tab-open");
    b.type = "button";
    if (id === desk.active) b.setAttribute("aria-current", "true");
    b.append(el("span", "", s ? who(s) : id));
    if (s && s.state === "closed") b.append(" ", badge("state", stateLabel("closed")));
    const n = desk.unread.get(id);
    if (n) b.append(" ", el("span", "unread", n));
    b.addEventListener("click", () => openTab(id, true));
    const x = el("button", "x", "×");
    x.type = "button";
    x.setAttribute("aria-label", t("tab.close") + ": " + (s ? who(s) : id));
    x.addEventListener("click", (ev) => { ev.stopPropagation(); closeTab(id); });
    wrap.append(b, x);
    return wrap;
  }));
  restoreFocus(k);
}

function canBlock(s) {
  return !!s && (s.agent === desk.me.id || isSup());
}

function renderPane() {
  const s = desk.active && desk.chats.get(desk.active);
  $("pane").hidden = !s;
  $("empty").hidden = !!s;
  document.querySelector(".info").classList.toggle("none", !s);
  if (!s) {
    $("entry").replaceChildren();
    $("member").replaceChildren();
    $("history").replaceChildren();
    $("tags").replaceChildren();
    return;
  }
  const own = mine(s);
  const online = desk.conn === "online";
  $("pane-title").textContent = who(s);
  const sub = $("pane-sub");
  sub.dataset.state = s.state;
  sub.textContent = stateLabel(s.state) + (s.category ? ` · #${s.category}` : "") + (s.agent && !own ? ` · ${agentName(s.agent)}` : "");
  const take = $("take");
  take.hidden = s.state !== "queued";
  take.toggleAttribute("aria-disabled", !!atCapacity());
  const why = $("why-not");
  const full = s.state === "queued" && atCapacity();
  why.hidden = !full && !desk.whyNot;
  why.textContent = full ? t("take.full", { n: activeCount(), max: desk.profile.max_chats }) : desk.whyNot || "";
  const sup = isSup();
  $("transfer").disabled = !online || !(s.state === "assigned" && (own || sup));
  $("close").disabled = !online || !(s.state !== "closed" && (own || sup));
  $("block").disabled = !online || !canBlock(s);
  $("quiet").hidden = !desk.quiet.has(s.id) || !own;
  const canWrite = own && online;
  $("reply").classList.toggle("disabled", !canWrite);
  $("reply-text").disabled = !canWrite;
  $("attach-btn").disabled = !canWrite;
  $("reply").querySelector("button[type=submit]").disabled = !canWrite;
  $("reply-text").placeholder = !online ? t("reply.offline")
    : own ? t("reply.placeholder")
    : s.state === "closed" ? t("reply.closed")
    : s.state === "queued" ? t("reply.take") : t("reply.other");
  renderInfo(s);
  renderTags(s);
  renderNotes();
  renderMessages();
}

function agentName(id) {
  const a = desk.agents.find((x) => x.id === id);
  return a ? a.name : id;
}

function kv(rows) {
  const dl = el("dl", "kv");
  for (const [k, v] of rows) dl.append(el("dt", "", k), el("dd", "", v));
  return dl;
}

function renderInfo(s) {
  const entry = $("entry");
  entry.replaceChildren();
  entry.append(kv([[t("via"), s.entry.via], [t("category"), s.category || "—"]]));
  // The page the visitor moved to mid-chat: declared by the page, so unverified, and kept apart
  // from the entry point the chat started with.
  if (s.current_page) {
    const now = el("p", "now-viewing", t("now") + ": ");
    now.append(el("span", "now-page", s.current_page), " ", badge("declared", t("declared")));
    entry.append(now);
  }
  const rows = entryRows(s.entry.verified, s.entry.declared);
  if (rows.verified.length) {
    const label = el("div", "section-label");
    label.append(badge("verified", t("verified")));
    entry.append(label, kv(rows.verified));
  }
  // Declared fields the signature already says are not repeated; a contradiction stays, marked.
  if (rows.declared.length) {
    const label = el("div", "section-label");
    label.append(badge("declared", t("declared.long")));
    const dl = el("dl", "kv");
    for (const d of rows.declared) {
      const dd = el("dd", d.differs ? "differs" : "", d.value);
      if (d.differs) {
        dd.append(" ", badge("mismatch", t("mismatch") + ": " + d.verified));
      }
      dl.append(el("dt", "", d.key), dd);
    }
    entry.append(label, dl);
  }
  const member = $("member");
  member.replaceChildren();
  if (s.member) {
    const label = el("div", "section-label");
    label.append(badge("verified", t("member.verified")));
    const rows = [["ID", s.member.id], ["name", s.member.name], ["tier", s.member.tier]];
    for (const [k, v] of Object.entries(s.member.attrs || {})) rows.push([k, v]);
    member.append(label, kv(rows.filter(([, v]) => v)));
  } else {
    member.append(el("p", "muted small", t("member.none")));
  }
}

function renderTags(s) {
  const tags = desk.tags.get(s.id) || [];
  $("tags").replaceChildren(...tags.map((tag) => {
    const li = el("li", "tag");
    li.append(el("span", "", "#" + tag));
    const x = el("button", "x", "×");
    x.type = "button";
    x.setAttribute("aria-label", t("tags.remove", { t: tag }));
    x.addEventListener("click", () => setTags(s.id, tags.filter((v) => v !== tag)));
    li.append(x);
    return li;
  }));
}

function renderHistory(userKey, sessions) {
  const s = desk.active && desk.chats.get(desk.active);
  if (!s || s.user_key !== userKey) return;
  const others = sessions.filter((x) => x.id !== s.id);
  if (!others.length) {
    $("history").replaceChildren(el("li", "muted small", t("history.first")));
    return;
  }
  $("history").replaceChildren(...others.map((h) => {
    const li = el("li", "item");
    const b = el("button", "item-open");
    b.type = "button";
    b.append(el("span", "item-name small", new Date(h.opened_ms).toLocaleString(locale())));
    b.append(el("span", "small muted", stateLabel(h.state) + (h.category ? ` · #${h.category}` : "") + (h.agent ? ` · ${agentName(h.agent)}` : "")));
    if (h.preview) b.append(el("span", "item-preview", h.preview));
    li.append(b);
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
  // "Read" or "Delivered" under the agents' latest reply only, as messengers do.
  const r = desk.receipts.get(id);
  const last = list.map((m, i) => [m, i]).filter(([m]) => m.sender.role === "agent").pop();
  if (r && last) {
    const [m, i] = last;
    const status = m.seq <= r.visitor_read_seq ? t("receipt.read") : m.seq <= r.visitor_delivered_seq ? t("receipt.delivered") : "";
    if (status) items[i].append(el("div", "receipt", status));
  }
  for (const [, p] of desk.pending) {
    if (p.session !== id) continue;
    const li = el("li", "msg agent pending");
    li.append(el("div", "bubble", p.text), el("div", "meta", t("sending")));
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
    const a = el("a");
    a.href = "/v1/attachments/" + encodeURIComponent(b.attachment);
    a.target = "_blank";
    a.rel = "noopener";
    const img = el("img");
    img.src = a.href;
    img.alt = t("photo") + " (" + sizeText(b.size) + ")";
    img.loading = "lazy";
    a.append(img);
    bubble.append(a);
  } else if (b.kind === "file") {
    const a = el("a", "", `${b.name} (${sizeText(b.size)})`);
    a.href = "/v1/attachments/" + encodeURIComponent(b.attachment);
    a.target = "_blank";
    a.rel = "noopener";
    bubble.append(a);
  } else if (b.kind === "menu") {
    bubble.append(el("div", "", b.text));
    const opts = el("div", "options");
    for (const o of b.options) opts.append(el("span", "", o.label));
    bubble.append(opts);
  } else if (b.kind === "cards") {
    // What the visitor was shown: each card's title, line and buttons, as text.
    bubble.append(el("div", "", b.text));
    const list = el("ul", "cards");
    for (const c of b.cards) {
      const li = el("li", "", c.title + (c.description ? " · " + c.description : ""));
      if (c.options.length) li.append(el("div", "options", c.options.map((o) => o.label).join(" · ")));
      list.append(li);
    }
    bubble.append(list);
  }
  const author = role === "agent" ? m.sender.name : role === "visitor" ? t("role.visitor") : role === "bot" ? t("role.bot") : "";
  const time = new Date(m.at_ms).toLocaleTimeString(locale(), { hour: "2-digit", minute: "2-digit" });
  li.append(bubble, el("div", "meta", [author, time].filter(Boolean).join(" · ")));
  return li;
}
