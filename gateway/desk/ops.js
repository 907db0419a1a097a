// Consult agent desk: the supervisor's and admin's side. The live board (queues per category,
// agents with status and load, chats in progress with their age; watch read-only, reassign, take
// over), internal notes and the visitor's rating beside a chat, the reports page (server-drawn SVG
// charts, the numbers as a table, CSV), and for admins the audit log and privacy requests.
// Roles are checked by the gateway; this file only hides what a role cannot use.
"use strict";

Object.assign(DESK_STRINGS.ko, {
  "view.chats": "상담", "view.board": "현황판", "view.reports": "리포트", "view.audit": "운영 관리",
  "board.title": "실시간 현황", "board.waiting": "대기 중", "board.longest": "최장 대기", "board.available": "상담 가능 상담원",
  "board.inprogress": "진행 중 상담", "board.queues": "카테고리별 대기열", "board.agents": "상담원", "board.chats": "진행 중인 상담",
  "board.channel": "채널", "board.category": "카테고리", "board.count": "대기", "board.name": "이름", "board.status": "상태",
  "board.load": "상담 수", "board.current": "현재 상담", "board.visitor": "고객", "board.state": "상태", "board.agent": "상담원",
  "board.age": "경과", "board.actions": "작업", "board.watch": "보기", "board.takeover": "가져오기", "board.reassign": "배정",
  "board.to": "배정할 상담원", "board.none": "없음", "board.noqueue": "대기 중인 고객이 없습니다.", "reports.tz": "날짜 기준 시간대: {z}", "board.updated": "{t} 기준, 5초마다 갱신",
  "status.available": "상담 가능", "status.away": "자리 비움", "status.offline": "오프라인",
  "notes": "내부 메모", "notes.placeholder": "상담원끼리만 보는 메모 (고객에게 보이지 않음)", "notes.add": "메모 추가",
  "notes.empty": "메모 없음", "rating": "고객 평가", "rating.none": "아직 평가 없음",
  "reports.title": "리포트", "reports.by": "기준", "reports.from": "시작일", "reports.to": "종료일", "reports.apply": "보기",
  "reports.csv": "CSV 내려받기", "by.day": "일별", "by.channel": "채널별", "by.entry": "진입점별", "by.category": "카테고리별", "by.agent": "상담원별",
  "col.key": "구분", "col.sessions": "상담", "col.bot": "봇 해결", "col.p50": "첫 상담원 응답 p50", "col.p90": "첫 상담원 응답 p90",
  "col.handle": "평균 처리", "col.transfers": "전달", "col.left": "대기 중 이탈", "col.csat": "만족도", "col.rate": "응답률",
  "audit.title": "감사 로그", "audit.actor": "수행자", "audit.action": "작업", "audit.filter": "찾기", "audit.csv": "CSV 내려받기",
  "agents.title": "상담원", "agents.disable": "사용 중지", "agents.enable": "다시 사용", "agents.password": "새 비밀번호…",
  "agents.disabled": "사용 중지됨", "agents.online": "접속 중", "agents.offline": "접속 안 함",
  "agents.confirm": "{name} 님을 사용 중지할까요? 열려 있는 상담 화면이 바로 닫히고 다시 로그인할 수 없습니다.",
  "agents.pw.title": "{name} 님의 새 비밀번호", "agents.pw.label": "새 비밀번호 (10자 이상)", "agents.pw.ok": "바꾸기",
  "agents.edit": "수정…", "agents.edit.title": "{name} 님의 기술, 최대 상담 수, 팀", "agents.save": "저장",
  "agents.add": "상담원 추가", "agents.create": "추가", "agents.id": "ID", "agents.name": "이름", "agents.password.new": "비밀번호 (10자 이상)",
  "agents.role": "역할", "agents.channels": "채널", "agents.skills": "기술 (쉼표로 구분)", "agents.max": "최대 상담 수", "agents.team": "팀",
  "agents.created": "{name} 님을 추가했어요. 바로 로그인할 수 있어요.", "agents.saved": "저장했어요. 바로 적용돼요.",
  "role.agent": "상담원", "role.supervisor": "관리자(수퍼바이저)", "role.admin": "운영자(어드민)",
  "conflict": "다른 관리자가 먼저 바꿨어요. 최신 내용을 불러왔으니 확인하고 다시 저장하세요.",
  "canned.title": "자주 쓰는 답변", "canned.shortcut": "단축어", "canned.text": "답변", "canned.save": "저장", "canned.remove": "삭제",
  "canned.confirm": "{k} 답변을 삭제할까요? 모든 상담원의 목록에서 바로 사라집니다.",
  "channels.title": "채널", "channels.on": "상담 받는 중", "channels.off": "꺼짐: 버튼이 숨겨지고 새 상담을 받지 않아요",
  "channels.turn_off": "끄기", "channels.turn_on": "켜기", "channels.confirm_off": "{name} 채널을 끌까요? 모든 상담 버튼이 숨겨지고 새 상담을 받지 않아요. 진행 중인 상담은 계속돼요.",
  "audit.at": "시각", "audit.target": "대상", "audit.detail": "내용", "audit.channel": "채널",
  "privacy.title": "개인정보 요청", "privacy.key": "user_key", "privacy.export": "JSON 내보내기", "privacy.erase": "삭제",
  "privacy.confirm": "{k}의 메시지, 첨부, 접속 정보, 회원 정보, 메모가 모두 삭제됩니다. 통계 숫자만 남습니다. 되돌릴 수 없습니다.",
  "privacy.done": "삭제 완료: 상담 {s}건(통계로만 유지), 메시지 {m}건, 첨부 {a}건",
  "settings.title": "채널 설정", "settings.note": "저장하면 모든 서버에 1초 안에 적용되고, 이후에는 설정 파일보다 우선해요.", "settings.save": "저장",
  "settings.saved": "저장했어요. 새로 들어오는 고객부터 바로 적용돼요.",
  "hours.title": "상담 시간과 휴일", "hours.always": "항상 상담 (시간 제한 없음)", "hours.tz": "시간대", "hours.after": "상담 시간 외",
  "hours.wait": "대기열에 받고 열면 응대", "hours.refuse": "새 상담 받지 않음", "hours.message": "상담 시간 외 안내 문구",
  "hours.days": "요일별 시간 (예: 09:00-18:00, 09:00-12:00,13:00-18:00 또는 closed)", "hours.holidays": "휴일 (YYYY-MM-DD, 쉼표로 구분)",
  "day.mon": "월", "day.tue": "화", "day.wed": "수", "day.thu": "목", "day.fri": "금", "day.sat": "토", "day.sun": "일",
  "guidance.title": "첫 안내 문구", "guidance.text": "인사말", "guidance.notice": "보관 기간·개인정보 안내 (필수)",
  "guidance.hint": "고객이 처음 보는 메시지예요. 안내는 인사말 아래에 붙어요. 비워 둘 수 없어요.",
  "menu.title": "봇 메뉴", "menu.prompt": "메뉴 위 문구", "menu.free": "메뉴에 없는 질문을 입력하면",
  "menu.free.queue": "바로 상담원 연결", "menu.free.offer": "메뉴를 다시 보여 줌", "menu.add": "항목 추가", "menu.remove": "삭제",
  "menu.id": "ID", "menu.label": "버튼 이름", "menu.kind": "동작", "menu.kind.answer": "답변", "menu.kind.url": "링크", "menu.kind.category": "상담원 연결",
  "menu.value": "답변 / 링크 / 카테고리", "menu.keywords": "키워드 (쉼표로 구분, 답변만)", "menu.none": "이 채널에는 봇 메뉴가 없어요. 항목을 추가해 만들 수 있어요.",
  "board.team": "팀", "board.allteams": "모든 팀", "board.noteam": "팀 없음", "board.byteam": "팀별로 묶기",
});
Object.assign(DESK_STRINGS.en, {
  "view.chats": "Chats", "view.board": "Live board", "view.reports": "Reports", "view.audit": "Admin",
  "board.title": "Live board", "board.waiting": "Waiting", "board.longest": "Longest wait", "board.available": "Agents available",
  "board.inprogress": "Chats in progress", "board.queues": "Queue by category", "board.agents": "Agents", "board.chats": "Chats in progress",
  "board.channel": "Channel", "board.category": "Category", "board.count": "Waiting", "board.name": "Name", "board.status": "Status",
  "board.load": "Load", "board.current": "Current chats", "board.visitor": "Visitor", "board.state": "State", "board.agent": "Agent",
  "board.age": "Age", "board.actions": "Actions", "board.watch": "Watch", "board.takeover": "Take over", "board.reassign": "Reassign",
  "board.to": "Reassign to", "board.none": "None", "board.noqueue": "Nobody is waiting.", "reports.tz": "Days in {z}", "board.updated": "As of {t}; refreshes every 5 s",
  "status.available": "Available", "status.away": "Away", "status.offline": "Offline",
  "notes": "Internal notes", "notes.placeholder": "For agents only; the visitor never sees it", "notes.add": "Add note",
  "notes.empty": "No notes", "rating": "Visitor rating", "rating.none": "Not rated yet",
  "reports.title": "Reports", "reports.by": "Group by", "reports.from": "From", "reports.to": "To", "reports.apply": "Show",
  "reports.csv": "Download CSV", "by.day": "Day", "by.channel": "Channel", "by.entry": "Entry point", "by.category": "Category", "by.agent": "Agent",
  "col.key": "Group", "col.sessions": "Sessions", "col.bot": "Bot resolved", "col.p50": "1st agent reply p50", "col.p90": "1st agent reply p90",
  "col.handle": "Handle time", "col.transfers": "Transfers", "col.left": "Left waiting", "col.csat": "CSAT", "col.rate": "Response rate",
  "audit.title": "Audit log", "audit.actor": "Actor", "audit.action": "Action", "audit.filter": "Filter", "audit.csv": "Download CSV",
  "agents.title": "Agents", "agents.disable": "Disable", "agents.enable": "Enable", "agents.password": "New password…",
  "agents.disabled": "Disabled", "agents.online": "Online", "agents.offline": "Offline",
  "agents.confirm": "Disable {name}? Their open desk closes at once and they can't sign in again.",
  "agents.pw.title": "New password for {name}", "agents.pw.label": "New password (10 characters or more)", "agents.pw.ok": "Change",
  "agents.edit": "Edit…", "agents.edit.title": "Skills, max chats and team of {name}", "agents.save": "Save",
  "agents.add": "Add an agent", "agents.create": "Add", "agents.id": "ID", "agents.name": "Name", "agents.password.new": "Password (10 characters or more)",
  "agents.role": "Role", "agents.channels": "Channels", "agents.skills": "Skills (comma-separated)", "agents.max": "Max chats", "agents.team": "Team",
  "agents.created": "{name} was added and can sign in now.", "agents.saved": "Saved; it applies at once.",
  "role.agent": "Agent", "role.supervisor": "Supervisor", "role.admin": "Admin",
  "conflict": "Another admin changed this first. The latest is loaded; check it and save again.",
  "canned.title": "Canned answers", "canned.shortcut": "Shortcut", "canned.text": "Answer", "canned.save": "Save", "canned.remove": "Remove",
  "canned.confirm": "Remove {k}? It leaves every agent's list at once.",
  "channels.title": "Channels", "channels.on": "Taking chats", "channels.off": "Off: buttons hidden, no new chats",
  "channels.turn_off": "Switch off", "channels.turn_on": "Switch on", "channels.confirm_off": "Switch {name} off? Every consult button hides and no new chat starts. Chats already open go on.",
  "audit.at": "When", "audit.target": "Target", "audit.detail": "Detail", "audit.channel": "Channel",
  "privacy.title": "Privacy request", "privacy.key": "user_key", "privacy.export": "Export JSON", "privacy.erase": "Erase",
  "privacy.confirm": "Every message, attachment, handle, membership, tag and note of {k} will be deleted; only the counts stay for reports. This cannot be undone.",
  "privacy.done": "Erased: {s} sessions kept as counts only, {m} messages and {a} attachments deleted",
  "settings.title": "Channel settings", "settings.note": "Saved settings apply on every node within a second and win over the configuration file from then on.", "settings.save": "Save",
  "settings.saved": "Saved; the next visitors get it at once.",
  "hours.title": "Business hours and holidays", "hours.always": "Always open (no hours)", "hours.tz": "Time zone", "hours.after": "After hours",
  "hours.wait": "Queue and answer at opening", "hours.refuse": "Refuse new chats", "hours.message": "After-hours message",
  "hours.days": "Hours by day (e.g. 09:00-18:00, 09:00-12:00,13:00-18:00 or closed)", "hours.holidays": "Holidays (YYYY-MM-DD, comma-separated)",
  "day.mon": "Mon", "day.tue": "Tue", "day.wed": "Wed", "day.thu": "Thu", "day.fri": "Fri", "day.sat": "Sat", "day.sun": "Sun",
  "guidance.title": "Guidance", "guidance.text": "Greeting", "guidance.notice": "Retention and privacy notice (required)",
  "guidance.hint": "Visitors read this first; the notice shows under the greeting and can't be left empty.",
  "menu.title": "Bot menu", "menu.prompt": "Prompt above the buttons", "menu.free": "A typed question the menu can't answer",
  "menu.free.queue": "Goes to an agent at once", "menu.free.offer": "Shows the menu again", "menu.add": "Add option", "menu.remove": "Remove",
  "menu.id": "ID", "menu.label": "Button label", "menu.kind": "Action", "menu.kind.answer": "Answer", "menu.kind.url": "Link", "menu.kind.category": "To an agent",
  "menu.value": "Answer / link / category", "menu.keywords": "Keywords (comma-separated, answers only)", "menu.none": "This channel has no bot menu; add options to make one.",
  "board.team": "Team", "board.allteams": "All teams", "board.noteam": "No team", "board.byteam": "Group by team",
});

const ops = { view: "chats", board: null, boardTimer: null, notes: new Map(), reportUrls: [], cannedVersion: 0, channels: [], team: "", byTeam: false, settings: {} };

function isSup() {
  return !!desk.profile && (desk.profile.role === "supervisor" || desk.profile.role === "admin");
}
function isAdmin() {
  return !!desk.profile && desk.profile.role === "admin";
}

function authFetch(path, init) {
  return fetch(path, Object.assign({}, init, { headers: Object.assign({ authorization: "Bearer " + desk.token }, (init || {}).headers) }));
}

function dur(ms) {
  if (ms === null || ms === undefined) return "–";
  const s = Math.round(ms / 1000);
  if (s < 60) return s + (DESK_LANG === "ko" ? "초" : "s");
  const m = Math.floor(s / 60);
  if (m < 60) return m + (DESK_LANG === "ko" ? "분 " : "m ") + (s % 60) + (DESK_LANG === "ko" ? "초" : "s");
  return Math.floor(m / 60) + (DESK_LANG === "ko" ? "시간 " : "h ") + (m % 60) + (DESK_LANG === "ko" ? "분" : "m");
}

function table(head, rows, cls) {
  const tbl = el("table", "grid " + (cls || ""));
  const tr = el("tr");
  for (const h of head) tr.append(el("th", "", h));
  const thead = el("thead");
  thead.append(tr);
  const tbody = el("tbody");
  for (const r of rows) {
    const row = el("tr");
    for (const c of r) {
      const td = el("td");
      if (c instanceof Node) td.append(c); else td.textContent = c === null || c === undefined ? "" : String(c);
      row.append(td);
    }
    tbody.append(row);
  }
  tbl.append(thead, tbody);
  return tbl;
}

// ---------- views ----------
function renderViews() {
  $("view-board").hidden = !isSup();
  $("view-reports").hidden = !isSup();
  $("view-audit").hidden = !isAdmin();
  for (const v of ["chats", "board", "reports", "audit"]) $("view-" + v).setAttribute("aria-pressed", String(ops.view === v));
  $("desk").classList.toggle("ops-view", ops.view !== "chats");
  for (const v of ["board", "reports", "audit"]) $(v + "-view").hidden = ops.view !== v;
}

function showView(v) {
  ops.view = v;
  clearInterval(ops.boardTimer);
  if (v === "board") {
    send({ type: "board" });
    ops.boardTimer = setInterval(() => send({ type: "board" }), 5000);
  }
  if (v === "reports") loadReports();
  if (v === "audit") { loadChannels().then(() => { loadAgents(); loadSettings(); }); loadCanned(); loadAudit(); }
  renderViews();
}
for (const v of ["chats", "board", "reports", "audit"]) $("view-" + v).addEventListener("click", () => showView(v));

// ---------- the live board ----------
function tile(label, value, warn) {
  const d = el("div", "tile" + (warn ? " warn" : ""));
  d.append(el("div", "tile-value", value), el("div", "tile-label small muted", label));
  return d;
}

function onBoard(e) {
  ops.board = e;
  for (const s of e.sessions) if (desk.chats.has(s.id)) desk.chats.set(s.id, s);
  renderBoard();
}

function renderBoard() {
  const e = ops.board;
  const box = $("board-body");
  if (!e) return;
  const waiting = e.queues.reduce((n, q) => n + q.waiting, 0);
  const longest = e.queues.reduce((m, q) => Math.max(m, q.longest_wait_ms), 0);
  renderTeamFilter(e.agents);
  // A team picked: its agents, the chats they hold and the tiles about them (the queue has no
  // team: its tiles stay whole). Grouped: agents sorted by team, a line naming each team.
  const inTeam = (a) => !ops.team || (ops.team === "-" ? !a.team : a.team === ops.team);
  const shown = e.agents.filter(inTeam);
  if (ops.byTeam) shown.sort((a, b) => (a.team || "\uffff").localeCompare(b.team || "\uffff", locale()));
  const teamChats = new Set(shown.flatMap((a) => a.chats));
  const avail = shown.filter((a) => a.status === "available").length;
  const inProgress = e.sessions.filter((s) => s.state === "assigned" && (!ops.team || teamChats.has(s.id))).length;
  const tiles = el("div", "tiles");
  tiles.append(
    tile(t("board.waiting"), waiting, waiting > 0),
    tile(t("board.longest"), waiting ? dur(longest) : "–", longest > 120000),
    tile(t("board.available"), avail + " / " + shown.length),
    tile(t("board.inprogress"), inProgress),
  );
  const queues = e.queues.length ? table(
    [t("board.channel"), t("board.category"), t("board.count"), t("board.longest")],
    e.queues.map((q) => [q.channel, q.category || "—", q.waiting, el("span", q.longest_wait_ms > 120000 ? "age warn" : "age", dur(q.longest_wait_ms))]),
  ) : el("p", "muted small", t("board.noqueue"));
  const byId = new Map(e.sessions.map((s) => [s.id, s]));
  const agents = table(
    [t("board.name"), t("board.team"), t("board.status"), t("board.load"), t("board.current")],
    shown.map((a) => {
      const st = el("span", "presence " + (a.status === "available" ? "on" : a.status === "away" ? "away" : "off"), t("status." + a.status));
      const load = el("span", "load");
      const bar = el("span", "load-bar" + (a.load >= a.max_chats ? " full" : ""));
      bar.style.width = Math.min(100, Math.round((a.load / Math.max(1, a.max_chats)) * 100)) + "%";
      load.append(el("span", "load-track"), a.load + " / " + a.max_chats);
      load.firstChild.append(bar);
      const chats = el("span", "small");
      chats.textContent = a.chats.map((id) => (byId.get(id) ? who(byId.get(id)) : id)).join(", ") || "—";
      return [el("strong", "", a.name + (a.role !== "agent" ? " · " + a.role : "")), a.team ? el("span", "team", a.team) : "—", st, load, chats];
    }),
  );
  if (ops.byTeam) groupRows(agents, shown.map((a) => a.team || t("board.noteam")));
  const others = desk.agents.length ? desk.agents : e.agents;
  const chats = table(
    [t("board.visitor"), t("board.channel"), t("board.state"), t("board.category"), t("board.agent"), t("board.age"), t("board.actions")],
    e.sessions.filter((s) => !ops.team || teamChats.has(s.id)).map((s) => {
      const acts = el("span", "acts");
      const watch = el("button", "ghost small-btn", t("board.watch"));
      watch.type = "button";
      watch.dataset.watch = s.id;
      watch.addEventListener("click", () => watchChat(s));
      acts.append(watch);
      {
        const sel = el("select", "small");
        sel.setAttribute("aria-label", t("board.to"));
        sel.dataset.reassign = s.id;
        sel.append(el("option", "", t("board.to") + "…"));
        sel.firstChild.value = "";
        for (const a of e.agents) if (a.id !== s.agent && a.id !== desk.me.id) {
          const o = el("option", "", a.name + " (" + a.load + "/" + a.max_chats + ")");
          o.value = a.id;
          sel.append(o);
        }
        sel.addEventListener("change", () => { if (sel.value) send({ type: "reassign", session: s.id, to_agent: sel.value }); });
        const take = el("button", "small-btn", t("board.takeover"));
        take.type = "button";
        take.dataset.takeover = s.id;
        take.disabled = s.agent === desk.me.id;
        take.addEventListener("click", () => send({ type: "reassign", session: s.id, to_agent: desk.me.id }));
        acts.append(sel, take);
      }
      const age = e.at_ms - s.opened_ms;
      const ageCell = el("span", age > 600000 ? "age warn" : "age", dur(age));
      return [who(s), s.channel, stateLabel(s.state), s.category || "—", s.agent ? agentNameIn(others, s.agent) : "—", ageCell, acts];
    }),
    "chats-table",
  );
  const sec = (title, node) => {
    const d = el("section", "board-sec");
    d.append(el("h2", "", title), node);
    return d;
  };
  box.replaceChildren(tiles, sec(t("board.queues"), queues), sec(t("board.agents"), agents), sec(t("board.chats"), chats));
  $("board-updated").textContent = t("board.updated", { t: new Date(e.at_ms).toLocaleTimeString(locale()) });
}

// The team picker lists the teams on the board now (rebuilt only when they change, so it keeps
// focus and choice across the 5 s refresh).
function renderTeamFilter(agents) {
  const sel = $("board-team");
  const teams = [...new Set(agents.map((a) => a.team).filter(Boolean))].sort();
  const key = teams.join("\n") + "|" + DESK_LANG;
  if (sel.dataset.teams === key) return;
  sel.dataset.teams = key;
  const option = (value, label) => Object.assign(el("option", "", label), { value });
  sel.replaceChildren(option("", t("board.allteams")), ...teams.map((x) => option(x, x)), option("-", t("board.noteam")));
  if (ops.team && ops.team !== "-" && !teams.includes(ops.team)) ops.team = "";
  sel.value = ops.team;
}

// A heading row above each team's first agent.
function groupRows(tbl, teams) {
  const rows = [...tbl.tBodies[0].rows];
  teams.forEach((team, i) => {
    if (i > 0 && teams[i - 1] === team) return;
    const tr = el("tr", "team-head");
    const td = el("td", "", team);
    td.colSpan = 5;
    tr.append(td);
    rows[i].before(tr);
  });
}

$("board-team").addEventListener("change", () => { ops.team = $("board-team").value; renderBoard(); });
$("board-byteam").addEventListener("change", () => { ops.byTeam = $("board-byteam").checked; renderBoard(); });

function agentNameIn(list, id) {
  const a = list.find((x) => x.id === id);
  return a ? a.name : id;
}

function watchChat(s) {
  desk.chats.set(s.id, s);
  send({ type: "watch", session: s.id, on: true });
  showView("chats");
  openTab(s.id, true);
}

// ---------- notes and rating, beside the open chat ----------
function onNotes(e) {
  ops.notes.set(e.session, e);
  if (e.session === desk.active) renderNotes();
}

function renderNotes() {
  const s = desk.active && desk.chats.get(desk.active);
  const box = $("notes-box");
  box.hidden = !s;
  if (!s) return;
  const n = ops.notes.get(s.id);
  const rating = $("rating-line");
  if (n && n.rating) {
    rating.replaceChildren(el("span", "stars-view", "★".repeat(n.rating.score) + "☆".repeat(5 - n.rating.score)), " " + n.rating.score + " / 5");
    if (n.rating.comment) rating.append(el("q", "rating-comment", n.rating.comment));
  } else {
    rating.textContent = t("rating.none");
  }
  const list = $("notes-list");
  list.replaceChildren(...(n && n.notes.length ? n.notes.map((x) => {
    const li = el("li", "note");
    li.append(el("div", "note-text", x.text), el("div", "small muted", x.agent_name + " · " + timeAgo(x.at_ms)));
    return li;
  }) : [el("li", "muted small", t("notes.empty"))]));
  const canNote = mine(s) || isSup();
  $("note-text").disabled = !canNote;
  $("note-add").disabled = !canNote;
}

$("note-form").addEventListener("submit", (ev) => {
  ev.preventDefault();
  const text = $("note-text").value.trim();
  if (!text || !desk.active) return;
  if (send({ type: "note", session: desk.active, text })) $("note-text").value = "";
});

// ---------- reports ----------
const METRICS = ["sessions", "bot_share", "first_reply", "handle_time", "left_waiting", "csat", "csat_rate", "transfers"];

function reportQuery() {
  const q = new URLSearchParams({ by: $("r-by").value });
  if ($("r-from").value) q.set("from", $("r-from").value);
  if ($("r-to").value) q.set("to", $("r-to").value);
  return q;
}

async function loadReports() {
  // Empty dates: the gateway's last 7 days, in its report time zone; it says which days.
  const q = reportQuery();
  for (const u of ops.reportUrls) URL.revokeObjectURL(u);
  ops.reportUrls = [];
  $("r-error").textContent = "";
  const r = await authFetch("/v1/reports?" + q);
  const body = await r.json().catch(() => ({}));
  if (!r.ok) { $("r-error").textContent = body.message || r.statusText; return; }
  $("r-from").value = body.from;
  $("r-to").value = body.to;
  $("r-tz").textContent = t("reports.tz", { z: body.time_zone });
  const charts = $("r-charts");
  charts.replaceChildren();
  for (const m of METRICS) {
    const fig = el("figure", "chart");
    const img = el("img");
    img.alt = m;
    img.dataset.metric = m;
    fig.append(img);
    charts.append(fig);
    // Fetched with the token (never in a URL), shown as a blob: the SVG cannot run anything.
    authFetch("/v1/reports/chart.svg?" + q + "&metric=" + m).then((x) => x.ok ? x.blob() : null).then((b) => {
      if (!b) return;
      const u = URL.createObjectURL(b);
      ops.reportUrls.push(u);
      img.src = u;
    });
  }
  const pct = (x) => (x === null || x === undefined ? "–" : Math.round(x * 1000) / 10 + "%");
  $("r-table").replaceChildren(table(
    [t("col.key"), t("col.sessions"), t("col.bot"), t("col.p50"), t("col.p90"), t("col.handle"), t("col.transfers"), t("col.left"), t("col.csat"), t("col.rate")],
    body.lines.map((l) => [l.key, l.sessions, pct(l.bot_resolved_share), dur(l.first_reply_p50_ms), dur(l.first_reply_p90_ms), dur(l.handle_time_avg_ms),
      l.transfers, l.left_waiting, l.csat_avg === null ? "–" : l.csat_avg.toFixed(2) + " (" + l.csat_responses + ")", pct(l.csat_response_rate)]),
    "report-table",
  ));
}

async function download(path, name) {
  const r = await authFetch(path);
  if (!r.ok) { const b = await r.json().catch(() => ({})); throw new Error(b.message || r.statusText); }
  const u = URL.createObjectURL(await r.blob());
  const a = el("a");
  a.href = u;
  a.download = name;
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(u), 1000);
}

$("r-form").addEventListener("submit", (ev) => { ev.preventDefault(); loadReports(); });
$("r-csv").addEventListener("click", () => download("/v1/reports?" + reportQuery() + "&format=csv", "consult-report.csv").catch((e) => { $("r-error").textContent = e.message; }));

// ---------- audit log and privacy (admins) ----------
function auditQuery() {
  const q = new URLSearchParams();
  for (const [id, k] of [["a-actor", "actor"], ["a-action", "action"], ["a-from", "from"], ["a-to", "to"]]) if ($(id).value) q.set(k, $(id).value.trim());
  return q;
}

// Every admin change names the version it read; a stale one comes back 409 `conflict`: say so
// and show the latest instead of overwriting another admin's change.
async function adminPost(path, body, errorId, reload, method) {
  $(errorId).textContent = "";
  const r = await authFetch(path, { method: method || "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) });
  const b = await r.json().catch(() => ({}));
  if (r.ok) { loadAudit(); return b; }
  if (r.status === 409 && b.code === "conflict") { await reload(); $(errorId).textContent = t("conflict"); return null; }
  $(errorId).textContent = b.message || r.statusText;
  return null;
}

const splitList = (v) => v.split(",").map((x) => x.trim()).filter(Boolean);

function field(label, input) {
  const l = el("label", "", label + " ");
  l.append(input);
  return l;
}

// A button that opens a dialog built by `fill` and hands what it confirms to `then`.
function dialogButton(label, title, ok, fill, then) {
  const b = el("button", "ghost", label);
  b.type = "button";
  b.addEventListener("click", async () => {
    const v = await openDialog({ title, ok, fill });
    if (v) then(v);
  });
  return b;
}

function input(props) {
  return Object.assign(document.createElement("input"), props);
}

// Agents: create; skills, max chats, team; disable or enable, or a new password (either signs
// them out everywhere). Each change applies at once, on every node.
async function loadAgents() {
  $("ag-error").textContent = "";
  const r = await authFetch("/v1/admin/agents");
  const list = await r.json().catch(() => []);
  if (!r.ok) { $("ag-error").textContent = list.message || r.statusText; return; }
  $("ag-list").replaceChildren(...list.map((a) => {
    const li = el("li", "ch " + (a.disabled ? "off" : "on"));
    const state = el("span", "ch-state" + (!a.disabled && !a.online ? " idle" : ""), a.disabled ? t("agents.disabled") : a.online ? t("agents.online") : t("agents.offline"));
    const toggle = el("button", a.disabled ? "" : "danger", a.disabled ? t("agents.enable") : t("agents.disable"));
    toggle.type = "button";
    toggle.disabled = desk.me && a.id === desk.me.id;
    toggle.addEventListener("click", async () => {
      if (!a.disabled && !(await confirmDialog(t("agents.disable"), t("agents.confirm", { name: a.name }), t("agents.disable"), true))) return;
      manageAgent(a, { disabled: !a.disabled });
    });
    const pw = dialogButton(t("agents.password"), t("agents.pw.title", { name: a.name }), t("agents.pw.ok"), (body) => {
      const i = input({ type: "password", minLength: 10, required: true, autocomplete: "new-password" });
      body.append(field(t("agents.pw.label"), i));
      return () => (i.value.length >= 10 ? i.value : false);
    }, (password) => manageAgent(a, { password }));
    const edit = dialogButton(t("agents.edit"), t("agents.edit.title", { name: a.name }), t("agents.save"), (body) => {
      const skills = input({ value: a.skills.join(", ") });
      const max = input({ type: "number", min: 1, max: 100, required: true, value: a.max_chats });
      const team = input({ value: a.team || "" });
      body.append(field(t("agents.skills"), skills), field(t("agents.max"), max), field(t("agents.team"), team));
      return () => (max.checkValidity() ? { skills: splitList(skills.value), max_chats: Number(max.value), team: team.value.trim() } : false);
    }, async (change) => { if (await manageAgent(a, change)) $("ag-status").textContent = t("agents.saved"); });
    const actions = el("span", "ch-actions");
    actions.append(edit, pw, toggle);
    const facts = [a.id, t("role." + a.role), a.team, a.skills.join(", "), t("agents.max") + " " + a.max_chats].filter(Boolean).join(" · ");
    li.append(el("strong", "", a.name), el("span", "small", facts), state, actions);
    return li;
  }));
  renderAgentForm();
}

async function manageAgent(a, change) {
  $("ag-status").textContent = "";
  const done = await adminPost("/v1/admin/agents/" + encodeURIComponent(a.id), { ...change, version: a.version }, "ag-error", loadAgents);
  if (done) loadAgents();
  return !!done;
}

// The add form's channel boxes: the admin's own channels (the gateway refuses any other).
function renderAgentForm() {
  const box = $("ag-channels");
  if (box.dataset.for === ops.channels.map((c) => c.id).join()) return;
  box.dataset.for = ops.channels.map((c) => c.id).join();
  box.replaceChildren(...ops.channels.map((c, i) => {
    const l = el("label", "check");
    l.append(input({ type: "checkbox", name: "ag-ch", value: c.id, checked: i === 0, defaultChecked: i === 0 }), " " + c.name);
    return l;
  }));
}

$("ag-form").addEventListener("submit", async (ev) => {
  ev.preventDefault();
  const body = {
    id: $("ag-id").value.trim(),
    name: $("ag-name").value.trim(),
    password: $("ag-pw").value,
    role: $("ag-role").value,
    channels: [...document.querySelectorAll("input[name=ag-ch]:checked")].map((c) => c.value),
    skills: splitList($("ag-skills").value),
    max_chats: Number($("ag-max").value),
    team: $("ag-team").value.trim() || undefined,
  };
  $("ag-status").textContent = "";
  const made = await adminPost("/v1/admin/agents", body, "ag-error", loadAgents);
  if (!made) return;
  $("ag-form").reset();
  await loadAgents();
  $("ag-status").textContent = t("agents.created", { name: made.name });
});

// Canned answers: every change reaches every desk at once (the gateway sends the new list).
async function loadCanned() {
  const r = await authFetch("/v1/admin/canned");
  const b = await r.json().catch(() => ({}));
  if (!r.ok) { $("cn-error").textContent = b.message || r.statusText; return; }
  desk.canned = b.answers;
  ops.cannedVersion = b.version;
  renderCannedAdmin();
}

function renderCannedAdmin() {
  if (!$("cn-list")) return;
  $("cn-list").replaceChildren(...desk.canned.map((c) => {
    const li = el("li", "cn");
    const remove = el("button", "ghost small", t("canned.remove"));
    remove.type = "button";
    remove.addEventListener("click", async () => {
      if (await confirmDialog(t("canned.remove"), t("canned.confirm", { k: c.shortcut }), t("canned.remove"), true)) editCanned({ shortcut: c.shortcut });
    });
    li.append(el("code", "", c.shortcut), el("span", "", c.text), remove);
    return li;
  }));
}

async function editCanned(body) {
  const b = await adminPost("/v1/admin/canned", { ...body, version: ops.cannedVersion }, "cn-error", loadCanned);
  if (!b) return false;
  desk.canned = b.answers;
  ops.cannedVersion = b.version;
  renderCannedAdmin();
  return true;
}

$("cn-form").addEventListener("submit", async (ev) => {
  ev.preventDefault();
  if (await editCanned({ shortcut: $("cn-shortcut").value.trim(), text: $("cn-text").value })) {
    $("cn-shortcut").value = "";
    $("cn-text").value = "";
  }
});

async function loadChannels() {
  $("ch-error").textContent = "";
  const r = await authFetch("/v1/admin/channels");
  const list = await r.json().catch(() => []);
  if (!r.ok) { $("ch-error").textContent = list.message || r.statusText; return; }
  ops.channels = list;
  $("ch-list").replaceChildren(...list.map((c) => {
    const li = el("li", "ch " + (c.status.enabled ? "on" : "off"));
    const state = el("span", "ch-state", c.status.enabled ? t("channels.on") : t("channels.off"));
    const button = el("button", c.status.enabled ? "danger" : "", c.status.enabled ? t("channels.turn_off") : t("channels.turn_on"));
    button.type = "button";
    button.addEventListener("click", async () => {
      const enabled = !c.status.enabled;
      if (!enabled && !(await confirmDialog(t("channels.turn_off"), t("channels.confirm_off", { name: c.name }), t("channels.turn_off"), true))) return;
      if (await adminPost("/v1/admin/channels/" + encodeURIComponent(c.id), { enabled, version: c.version }, "ch-error", loadChannels)) loadChannels();
    });
    li.append(el("strong", "", c.name), el("span", "small", "#" + c.id), state, button);
    return li;
  }));
}

// ---------- channel settings (admins): hours and holidays, guidance, bot menu ----------
// Each form shows the setting with the version it read and sends that version back; the
// gateway checks the rules (the same as for the configuration file) and says what is wrong.
const DAY_KEYS = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];

function settingsPath(kind) {
  return "/v1/admin/channels/" + encodeURIComponent($("st-channel").value) + "/" + kind;
}

// A label whose text follows the desk's language (applyI18n relabels it).
function labelled(key, control, cls) {
  const l = el("label", cls || "");
  const span = el("span", "", t(key));
  span.dataset.i18n = key;
  l.append(span, " ", control);
  return l;
}

async function loadSettings() {
  const sel = $("st-channel");
  const ids = ops.channels.map((c) => c.id).join();
  if (sel.dataset.for !== ids) {
    const keep = sel.value;
    sel.dataset.for = ids;
    sel.replaceChildren(...ops.channels.map((c) => Object.assign(el("option", "", c.name + " · #" + c.id), { value: c.id })));
    if (ops.channels.some((c) => c.id === keep)) sel.value = keep;
  }
  for (const p of ["hr", "gd", "mn"]) $(p + "-status").textContent = "";
  if (sel.value) await Promise.all([loadHours(), loadGuidance(), loadMenu()]);
}
$("st-channel").addEventListener("change", loadSettings);

async function getSetting(kind, errorId) {
  $(errorId).textContent = "";
  const r = await authFetch(settingsPath(kind));
  const b = await r.json().catch(() => ({}));
  if (!r.ok) { $(errorId).textContent = b.message || r.statusText; return null; }
  ops.settings[kind] = b;
  return b;
}

async function saveSetting(kind, body, prefix, reload) {
  $(prefix + "-status").textContent = "";
  const form = $(prefix + "-form");
  for (const e of form.querySelectorAll("[aria-invalid]")) e.removeAttribute("aria-invalid");
  const version = ops.settings[kind] ? ops.settings[kind].version : 0;
  if (!(await adminPost(settingsPath(kind), { ...body, version }, prefix + "-error", reload, "PUT"))) {
    markInvalid(form, $(prefix + "-error").textContent);
    return;
  }
  await reload();
  $(prefix + "-status").textContent = t("settings.saved");
}

// The gateway names each field at fault (`days.mon: …`, `options[1].label: …`): mark those
// fields, so the admin finds them without counting rows.
function markInvalid(form, message) {
  const fields = { "time_zone": "#hr-tz", "after_hours_message": "#hr-message", "holidays": "#hr-holidays", "guidance": "#gd-text", "retention_notice": "#gd-notice", "prompt": "#mn-prompt" };
  for (const d of DAY_KEYS) fields["days." + d] = "#hr-day-" + d;
  for (const [name, sel] of Object.entries(fields)) {
    if (new RegExp("(^|; )" + name.replace(".", "\\.") + "(\\[\\d+\\])?:").test(message) && form.querySelector(sel)) form.querySelector(sel).setAttribute("aria-invalid", "true");
  }
  const rows = form.querySelectorAll(".menu-option");
  for (const m of message.matchAll(/options\[(\d+)\]\.?(\w*)/g)) {
    const row = rows[Number(m[1])];
    if (!row) continue;
    const input = row.querySelector(".mo-" + ({ answer: "value", url: "value", category: "value" }[m[2]] || m[2]));
    (input || row).setAttribute("aria-invalid", "true");
  }
}

async function loadHours() {
  const b = await getSetting("hours", "hr-error");
  if (!b) return;
  const h = b.hours;
  $("hr-always").checked = !h;
  $("hr-tz").value = h ? h.time_zone : Intl.DateTimeFormat().resolvedOptions().timeZone || "UTC";
  $("hr-after").value = h ? h.after_hours : "wait";
  $("hr-message").value = h ? h.after_hours_message : "";
  $("hr-days").replaceChildren(...DAY_KEYS.map((d) => {
    const weekday = d !== "sat" && d !== "sun";
    const value = h ? h.days[d] || "closed" : weekday ? "09:00-18:00" : "closed";
    return labelled("day." + d, input({ id: "hr-day-" + d, value, autocomplete: "off", spellcheck: false }));
  }));
  $("hr-holidays").value = h ? h.holidays.join(", ") : "";
  $("hr-fields").hidden = !h;
}
$("hr-always").addEventListener("change", () => { $("hr-fields").hidden = $("hr-always").checked; });

$("hr-form").addEventListener("submit", (ev) => {
  ev.preventDefault();
  const hours = $("hr-always").checked ? null : {
    time_zone: $("hr-tz").value.trim(),
    after_hours: $("hr-after").value,
    after_hours_message: $("hr-message").value,
    days: Object.fromEntries(DAY_KEYS.map((d) => [d, $("hr-day-" + d).value.trim() || "closed"])),
    holidays: splitList($("hr-holidays").value),
  };
  saveSetting("hours", { hours }, "hr", loadHours);
});

async function loadGuidance() {
  const b = await getSetting("guidance", "gd-error");
  if (!b) return;
  $("gd-text").value = b.guidance;
  $("gd-notice").value = b.retention_notice;
}

$("gd-form").addEventListener("submit", (ev) => {
  ev.preventDefault();
  saveSetting("guidance", { guidance: $("gd-text").value, retention_notice: $("gd-notice").value }, "gd", loadGuidance);
});

async function loadMenu() {
  const b = await getSetting("menu", "mn-error");
  if (!b) return;
  const m = b.menu || { prompt: "", options: [], free_text: "queue" };
  $("mn-prompt").value = m.prompt || "";
  $("mn-free").value = m.free_text || "queue";
  $("mn-options").replaceChildren(...m.options.map(menuRow));
  if (!m.options.length) $("mn-options").append(el("li", "muted small menu-none", t("menu.none")));
}

// One option: id, label, what it does (answer, link or category) and, for answers, keywords.
function menuRow(o) {
  const li = el("li", "menu-option");
  const kind = o.url ? "url" : o.category ? "category" : "answer";
  const kindSel = el("select", "mo-kind");
  for (const k of ["answer", "url", "category"]) {
    const opt = Object.assign(el("option", "", t("menu.kind." + k)), { value: k });
    opt.dataset.i18n = "menu.kind." + k;
    kindSel.append(opt);
  }
  kindSel.value = kind;
  // Only answers take keywords: the field shows for them alone.
  const keywords = labelled("menu.keywords", input({ className: "mo-keywords", value: (o.keywords || []).join(", ") }), "keywords");
  const showKeywords = () => { keywords.hidden = kindSel.value !== "answer"; };
  kindSel.addEventListener("change", showKeywords);
  showKeywords();
  const remove = el("button", "ghost", t("menu.remove"));
  remove.type = "button";
  remove.dataset.i18n = "menu.remove";
  remove.addEventListener("click", () => { li.remove(); $("mn-add").focus(); });
  li.append(
    labelled("menu.id", input({ className: "mo-id", value: o.id, maxLength: 64, autocomplete: "off", spellcheck: false })),
    labelled("menu.label", input({ className: "mo-label", value: o.label, maxLength: 100 })),
    labelled("menu.kind", kindSel),
    labelled("menu.value", input({ className: "mo-value", value: o[kind] || "", maxLength: 1000 })),
    remove,
    keywords,
  );
  return li;
}

$("mn-add").addEventListener("click", () => {
  for (const none of $("mn-options").querySelectorAll(".menu-none")) none.remove();
  const row = menuRow({ id: "", label: "", keywords: [] });
  $("mn-options").append(row);
  row.querySelector(".mo-id").focus();
});

$("mn-form").addEventListener("submit", (ev) => {
  ev.preventDefault();
  const options = [...$("mn-options").querySelectorAll(".menu-option")].map((li) => {
    const value = (cls) => li.querySelector("." + cls).value.trim();
    const kind = value("mo-kind");
    const o = { id: value("mo-id"), label: value("mo-label"), keywords: kind === "answer" ? splitList(li.querySelector(".mo-keywords").value) : [] };
    o[kind] = value("mo-value");
    return o;
  });
  saveSetting("menu", { menu: { prompt: $("mn-prompt").value, free_text: $("mn-free").value, options } }, "mn", loadMenu);
});

async function loadAudit() {
  $("a-error").textContent = "";
  const r = await authFetch("/v1/admin/audit?" + auditQuery());
  const body = await r.json().catch(() => ({}));
  if (!r.ok) { $("a-error").textContent = body.message || r.statusText; return; }
  $("a-table").replaceChildren(table(
    [t("audit.at"), t("audit.actor"), t("audit.action"), t("audit.channel"), t("audit.target"), t("audit.detail")],
    body.entries.map((e) => [new Date(e.at_ms).toLocaleString(locale()), e.actor, e.action, e.channel || "", e.target || "", e.detail]),
  ));
}

$("a-form").addEventListener("submit", (ev) => { ev.preventDefault(); loadAudit(); });
$("a-csv").addEventListener("click", () => download("/v1/admin/audit?" + auditQuery() + "&format=csv", "consult-audit.csv").then(loadAudit).catch((e) => { $("a-error").textContent = e.message; }));
$("p-export").addEventListener("click", () => {
  const q = new URLSearchParams({ channel: $("p-channel").value.trim(), user_key: $("p-key").value.trim() });
  download("/v1/admin/users/export?" + q, "consult-user.json").catch((e) => { $("p-result").textContent = e.message; });
});
$("p-erase").addEventListener("click", async () => {
  const channel = $("p-channel").value.trim(), key = $("p-key").value.trim();
  if (!channel || !key) return;
  if (!(await confirmDialog(t("privacy.erase"), t("privacy.confirm", { k: key }), t("privacy.erase"), true))) return;
  const r = await authFetch("/v1/admin/users/erase", { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ channel, user_key: key }) });
  const b = await r.json().catch(() => ({}));
  $("p-result").textContent = r.ok ? t("privacy.done", { s: b.sessions, m: b.messages, a: b.attachments }) : b.message || r.statusText;
});
