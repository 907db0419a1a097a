// A stand-in gateway for working on the widget alone (the real one is `consult demo`).
// Run: node widget/examples/mock-gateway.mjs   (needs `npm install --prefix .tools ws@8`)
//   http://127.0.0.1:8090  gateway: /widget/*, /chat, /l/…, /v1/launch, /v1/channels/…/status,
//                          /v1/visitor/socket (scripted bot + agent), /v1/uploads, /v1/attachments/…
//   http://127.0.0.1:8091  host page widget/examples/index.html under a strict CSP (no wasm, no inline)
import { createServer } from 'node:http';
import { readFileSync, existsSync } from 'node:fs';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createRequire } from 'node:module';

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, '..', '..');
const { WebSocketServer } = createRequire(join(root, '.tools', 'node_modules', 'x.js'))('ws');
const dist = join(root, 'widget', 'dist');
const GW = 'http://127.0.0.1:8090';
const HOST = 'http://127.0.0.1:8091';
const types = { html: 'text/html; charset=utf-8', js: 'text/javascript', css: 'text/css', wasm: 'application/wasm', png: 'image/png' };
const disabled = process.env.CONSULT_MOCK_DISABLED === '1';
const afterHours = process.env.CONSULT_MOCK_CLOSED === '1';

function send(res, status, body, type = 'application/json', headers = {}) {
  res.writeHead(status, { 'content-type': type, 'access-control-allow-origin': '*', ...headers });
  res.end(body);
}
function file(res, path, headers) {
  if (!existsSync(path)) return send(res, 404, JSON.stringify({ code: 'not_found', message: path }));
  send(res, 200, readFileSync(path), types[path.split('.').pop()] || 'application/octet-stream', headers);
}
const frameCsp = "default-src 'self'; script-src 'self' 'wasm-unsafe-eval'; style-src 'self' 'unsafe-inline'; " +
  `img-src 'self' data: blob:; connect-src 'self' ws://127.0.0.1:8090; frame-ancestors ${HOST}`;

const uploads = new Map();
const gateway = createServer((req, res) => {
  const url = new URL(req.url, GW);
  const p = url.pathname;
  if (p.startsWith('/widget/')) return file(res, join(dist, p.slice(8)));
  if (p === '/chat' || /^\/(l|P|H)\//.test(p)) return file(res, join(dist, 'chat.html'), { 'content-security-policy': frameCsp });
  if (/^\/v1\/channels\/[^/]+\/status$/.test(p)) {
    return send(res, 200, JSON.stringify({ enabled: !disabled, open_now: !afterHours, ...(afterHours ? { after_hours_message: 'Back at 9:00' } : {}) }));
  }
  if (p === '/v1/launch' && req.method === 'POST') {
    let body = '';
    req.on('data', (c) => (body += c));
    return req.on('end', () => {
      const r = JSON.parse(body);
      console.log('launch', JSON.stringify(r));
      if (r.host_origin && r.host_origin !== HOST) return send(res, 403, JSON.stringify({ code: 'origin_not_allowed', message: r.host_origin }));
      send(res, 200, JSON.stringify({
        session: 'S' + Math.random().toString(36).slice(2), visitor_key: r.visitor_key || 'V' + Date.now(), verified: false,
        channel: { id: r.channel, name: '데모 쇼핑몰', guidance: '상담 내용은 3년간 보관됩니다. 개인정보 처리방침을 확인해 주세요.\nChats are kept for 3 years.', status: { enabled: true, open_now: true } },
      }));
    });
  }
  if (p === '/v1/uploads' && req.method === 'POST') {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    return req.on('end', () => {
      const id = 'A' + uploads.size;
      uploads.set(id, { data: Buffer.concat(chunks), mime: req.headers['content-type'] });
      send(res, 200, JSON.stringify({ attachment: id, mime: req.headers['content-type'], size: Buffer.concat(chunks).length, name: url.searchParams.get('name') || 'file' }));
    });
  }
  if (p.startsWith('/v1/attachments/')) {
    const a = uploads.get(p.split('/').pop());
    return a ? send(res, 200, a.data, a.mime) : send(res, 404, '{}');
  }
  send(res, 404, JSON.stringify({ code: 'not_found', message: p }));
});

// One conversation per session handle, kept across reconnects so resume can be tried.
const conversations = new Map();
const wss = new WebSocketServer({ server: gateway, path: '/v1/visitor/socket' });
wss.on('connection', (ws, req) => {
  const handle = new URL(req.url, GW).searchParams.get('session');
  const c = conversations.get(handle) || { messages: [], byClient: new Map() };
  conversations.set(handle, c);
  const out = (e) => ws.send(JSON.stringify(e));
  const store = (sender, body, client_id) => {
    const m = { seq: c.messages.length + 1, sender, body, at_ms: Date.now(), ...(client_id ? { client_id } : {}) };
    c.messages.push(m);
    out({ type: 'message', message: m });
    return m;
  };
  ws.on('message', (raw) => {
    const cmd = JSON.parse(raw);
    console.log('visitor', raw.toString());
    if (cmd.type === 'hello') {
      out({ type: 'welcome', state: c.messages.length ? 'assigned' : 'waiting', last_seq: c.messages.length, ...(c.messages.length ? { agent_name: '김민지' } : {}) });
      c.messages.filter((m) => m.seq > cmd.after_seq).forEach((m) => out({ type: 'message', message: m }));
    } else if (cmd.type === 'send' || cmd.type === 'choose') {
      const seen = c.byClient.get(cmd.client_id);
      if (seen) return out({ type: 'ack', client_id: cmd.client_id, seq: seen });
      const body = cmd.type === 'send' ? cmd.body : { kind: 'text', text: '선택: ' + cmd.option };
      const m = store({ role: 'visitor' }, body, cmd.client_id);
      c.byClient.set(cmd.client_id, m.seq);
      out({ type: 'ack', client_id: cmd.client_id, seq: m.seq });
      if (c.messages.length === 1) {
        store({ role: 'bot' }, { kind: 'menu', text: '어떤 도움이 필요하세요?', options: [
          { id: 'order', label: '주문·배송' }, { id: 'refund', label: '교환·환불' },
          { id: 'faq', label: '자주 묻는 질문', url: 'https://example.com/faq' }] });
      } else {
        out({ type: 'state', state: 'assigned', agent_name: '김민지' });
        out({ type: 'typing', active: true });
        setTimeout(() => store({ role: 'agent', id: 'a1', name: '김민지' },
          { kind: 'text', text: '안녕하세요, 김민지입니다. <img src=x onerror=alert(1)> 주문 번호를 알려주시겠어요?' }), 400);
      }
    } else if (cmd.type === 'start_handoff') {
      out({ type: 'handoff', url: GW.toUpperCase() + '/H/123', expires_at: Math.floor(Date.now() / 1000) + 300, svg: fakeQr() });
    }
  });
});

// A QR-looking SVG (the real gateway renders a real code).
function fakeQr() {
  let cells = '';
  for (let y = 0; y < 25; y++) for (let x = 0; x < 25; x++) {
    const finder = (x < 7 && y < 7) || (x > 17 && y < 7) || (x < 7 && y > 17);
    const on = finder ? (Math.max(Math.abs(x % 18 - 3), Math.abs(y % 18 - 3)) !== 2) : ((x * 7 + y * 13 + x * y) % 3 === 0);
    if (on) cells += `<rect x="${x}" y="${y}" width="1" height="1"/>`;
  }
  return `<svg xmlns="http://www.w3.org/2000/svg" viewBox="-2 -2 29 29"><rect x="-2" y="-2" width="29" height="29" fill="#fff"/><g fill="#000">${cells}</g></svg>`;
}

const hostCsp = "default-src 'self'; script-src 'self' " + GW + "; connect-src " + GW + "; frame-src " + GW + "; style-src 'self'; img-src 'self'";
const site = createServer((req, res) => {
  const p = new URL(req.url, HOST).pathname;
  const name = p === '/' ? 'index.html' : p.slice(1);
  file(res, join(here, name), { 'content-security-policy': hostCsp });
});

gateway.listen(8090, '127.0.0.1', () => console.log('mock gateway', GW));
site.listen(8091, '127.0.0.1', () => console.log('host page', HOST));
