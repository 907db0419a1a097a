// Drives headless Chromium through the widget against the mock gateway and takes screenshots.
// Run: ./widget/build.sh && node widget/examples/mock-gateway.mjs &  node widget/examples/check-widget.mjs [outdir]
// Checks: button painted under a strict host CSP, ready event, frame opens with guidance first,
// Enter sends, bot menu, agent text with HTML shown as text, handoff QR, mobile full screen.
import { spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const WebSocket = createRequire(join(root, '.tools', 'node_modules', 'x.js'))('ws');
const out = process.argv[2] || '/tmp/consult-shots';
mkdirSync(out, { recursive: true });
const PORT = 9333;
const chrome = spawn('chromium', ['--headless', '--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage',
  `--remote-debugging-port=${PORT}`, `--user-data-dir=${mkdtempSync(join(tmpdir(), 'cw-'))}`, '--hide-scrollbars', 'about:blank'],
  { stdio: 'ignore', detached: true });
// `chromium` is a wrapper script: end the whole process group it started.
const stopChrome = () => { try { process.kill(-chrome.pid); } catch { /* gone */ } };
process.on('exit', stopChrome);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
let failures = 0;
function check(ok, what) { console.log((ok ? 'ok   ' : 'FAIL ') + what); if (!ok) failures++; }

async function connect() {
  for (let i = 0; i < 50; i++) {
    try {
      const list = await (await fetch(`http://127.0.0.1:${PORT}/json/list`)).json();
      const page = list.find((t) => t.type === 'page');
      if (page) return page.webSocketDebuggerUrl;
    } catch { /* not up yet */ }
    await sleep(200);
  }
  throw new Error('chromium did not start');
}

const ws = new WebSocket(await connect());
await new Promise((r) => ws.on('open', r));
let nextId = 1;
const waiting = new Map();
const contexts = new Map(); // frame origin -> execution context id
ws.on('message', (raw) => {
  const m = JSON.parse(raw);
  if (m.id && waiting.has(m.id)) { waiting.get(m.id)(m); waiting.delete(m.id); }
  if (m.method === 'Runtime.executionContextCreated') {
    const c = m.params.context;
    const port = (/:(\d+)$/.exec(c.origin || '') || [])[1];
    if (c.auxData && c.auxData.isDefault && port) contexts.set(port, c.id);
  }
});
function cdp(method, params = {}) {
  const id = nextId++;
  ws.send(JSON.stringify({ id, method, params }));
  return new Promise((r) => waiting.set(id, (m) => r(m.result || m.error)));
}
async function evaluate(expression, port = '8091') {
  const r = await cdp('Runtime.evaluate', { expression, contextId: contexts.get(port), awaitPromise: true, returnByValue: true });
  return r.result ? r.result.value : r;
}
async function until(what, expression, port, ms = 5000) {
  for (let t = 0; t < ms; t += 100) {
    if (await evaluate(expression, port)) return check(true, what);
    await sleep(100);
  }
  check(false, what);
}
async function shot(name) {
  const r = await cdp('Page.captureScreenshot', { format: 'png' });
  writeFileSync(join(out, name), Buffer.from(r.data, 'base64'));
  console.log('     screenshot ' + join(out, name));
}
async function key(k, extra = {}) {
  const base = { key: k, code: k, windowsVirtualKeyCode: k === 'Enter' ? 13 : 0, text: k === 'Enter' ? '\r' : undefined, ...extra };
  await cdp('Input.dispatchKeyEvent', { type: 'keyDown', ...base });
  await cdp('Input.dispatchKeyEvent', { type: 'keyUp', ...base });
}
const FAB = "document.querySelector('consult-launcher').shadowRoot.querySelector('.fab')";

await cdp('Runtime.enable');
await cdp('Page.enable');

// Desktop.
await cdp('Emulation.setDeviceMetricsOverride', { width: 1280, height: 800, deviceScaleFactor: 1, mobile: false });
contexts.clear();
await cdp('Page.navigate', { url: 'http://127.0.0.1:8091/' });
await until('button painted under a strict host CSP', `!!document.querySelector('consult-launcher') && ${FAB}.getBoundingClientRect().width > 0`);
await until('ready event fired through the pre-load queue', `!!window.consultReady && window.consultReady.channel === 'demo-shop'`);
check(await evaluate("document.querySelectorAll('consult-launcher').length") === 1, 'one launcher');
await evaluate(`${FAB}.click()`);
await until('frame loaded and shows the guidance first', `!!document.querySelector('.log .guidance')`, '8090');
await until('focus moved into the composer', "document.activeElement && document.activeElement.tagName === 'TEXTAREA'", '8090');
await evaluate("document.querySelector('.input').focus()", '8090');
await cdp('Input.insertText', { text: '안녕하세요' });
await key('Enter');
await until('Enter sent the message, stored with a seq', `!!document.querySelector('.msg.mine[data-seq]')`, '8090');
await until('bot menu shown as buttons', `document.querySelectorAll('.menu button.option').length === 2`, '8090');
check(await evaluate("document.querySelector('.menu a.option').rel", '8090') === 'noopener noreferrer', 'menu link opens safely');
await evaluate("document.querySelector('.menu button.option').click()", '8090');
await until('agent reply shown', `!!document.querySelector('.msg.agent')`, '8090');
check(await evaluate("document.querySelector('.msg.agent .bubble').textContent.includes('<img src=x')", '8090') === true
  && await evaluate("document.querySelectorAll('.msg.agent img').length", '8090') === 0, 'agent HTML shown as text, inert');
check((await evaluate("document.querySelector('.status').textContent", '8090')).includes('김민지'), 'agent name in the header');
check(await evaluate("document.querySelector('[aria-live]').textContent", '8090') !== '', 'live region announced');
await sleep(300);
await shot('desktop-panel.png');
await evaluate("document.querySelector('.handoff-btn').click()", '8090');
await until('handoff QR shown', "document.querySelector('.qr-code').src.startsWith('blob:') && !document.querySelector('.qr').hidden", '8090');
await sleep(300);
await shot('desktop-qr.png');
await evaluate("document.querySelector('.chat-here').click()", '8090');
await key('Escape');
await until('Escape closes the panel', `document.querySelector('consult-launcher').shadowRoot.querySelector('.panel').hidden`);
check(await evaluate(`document.activeElement === document.querySelector('consult-launcher')`) === true, 'focus back on the launcher button');

// Mobile.
await cdp('Emulation.setDeviceMetricsOverride', { width: 390, height: 844, deviceScaleFactor: 2, mobile: true });
await cdp('Emulation.setTouchEmulationEnabled', { enabled: true });
contexts.clear();
await cdp('Page.navigate', { url: 'http://127.0.0.1:8091/?m' });
await until('mobile: button painted', `!!document.querySelector('consult-launcher') && ${FAB}.getBoundingClientRect().width > 0`);
await evaluate("document.querySelector('[data-consult-entry]').click()");
await until('mobile: chat opens full screen', `(() => { const r = document.querySelector('consult-launcher').shadowRoot.querySelector('.panel').getBoundingClientRect(); return r.width === 390 && r.height >= 800; })()`);
await until('mobile: frame ready', `!!document.querySelector('.log .guidance')`, '8090');
check(await evaluate("getComputedStyle(document.querySelector('.input')).fontSize", '8090') === '16px', 'mobile: input font is 16px');
check(await evaluate("getComputedStyle(document.querySelector('.handoff-btn')).display", '8090') === 'none', 'mobile: no phone handoff offered');
await evaluate("document.querySelector('.input').focus()", '8090');
await cdp('Input.insertText', { text: '사이즈 문의요' });
await key('Enter');
await until('mobile: message sent', `!!document.querySelector('.msg.mine[data-seq]')`, '8090');
await sleep(500);
await shot('mobile-full-screen.png');

ws.close();
console.log(failures ? `${failures} check(s) failed` : 'all checks passed');
process.exit(failures ? 1 : 0);
