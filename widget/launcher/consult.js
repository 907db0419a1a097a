/*! Consult launcher: paints the consult buttons at once and opens the chat frame on demand.
 * <script async src="https://GATEWAY/widget/consult.js" data-channel="demo-shop"></script>
 * Plain JS, no WebAssembly, no inline script or style: works under a strict host CSP
 * (it needs connect-src and frame-src for the gateway). */
(function (w, d) {
  'use strict';
  // The stub queue: window.Consult = window.Consult || function(){(Consult.q=Consult.q||[]).push(arguments)}
  var stub = w.Consult;
  if (stub && stub.loaded) return; // loaded twice: one widget only

  var script = d.currentScript;
  // A classic script tag names the gateway; a bundled import (no tag of ours) boots with `gateway`.
  if (!script || !/consult(\.min)?\.js/.test(script.src)) script = d.querySelector('script[src*="consult.js"]');
  var gateway = new URL(script ? script.src : location.href).origin;
  var EVENTS = ['ready', 'open', 'close', 'message', 'unread', 'error'];
  var TEXT = {
    ko: { open: '상담하기', close: '상담 닫기', closed: '운영 시간 외', unread: '읽지 않은 메시지' },
    en: { open: 'Chat with us', close: 'Close chat', closed: "We're closed", unread: 'unread messages' }
  };

  var config = null;       // { channel, token, entry, locale, position }
  var status = null;       // ChannelStatus from the gateway
  var handlers = {};
  var readyDetail = null;  // replayed to late `on('ready')` listeners
  var host, shadow, fab, label, sub, badge, panel, frame, frameUrl, frameLayout, frameReady = false, isOpen = false, lastButton = null;
  var pendingLaunch = null, pageStyle = null, unread = 0;

  function emit(name, detail) {
    (handlers[name] || []).slice().forEach(function (cb) {
      try { cb(detail); } catch (e) { setTimeout(function () { throw e; }); }
    });
  }

  function text() {
    var tag = (config && config.locale) || navigator.language || 'ko';
    return TEXT[tag.slice(0, 2).toLowerCase()] || TEXT.ko;
  }

  function isMobile() {
    return w.matchMedia('(max-width: 640px), (pointer: coarse) and (max-width: 1024px)').matches;
  }

  // Shape check only (the gateway verifies): unpadded base64url of at least header + signature,
  // format version 1 in the first byte's high nibble.
  function tokenProblem(token) {
    if (token == null || token === '') return null;
    if (typeof token !== 'string' || !/^[A-Za-z0-9_-]+$/.test(token) || token.length % 4 === 1 || token.length < 88) {
      return 'data-token is not a Consult token (expected unpadded base64url); launching anonymously';
    }
    var first = atob(token.slice(0, 4).replace(/-/g, '+').replace(/_/g, '/')).charCodeAt(0);
    if (first >> 4 !== 1) return 'data-token has an unknown format version; launching anonymously';
    return null;
  }

  function entryOf(el) {
    var entry = { page: location.pathname };
    var button = el && (el.getAttribute('data-consult-entry') || el.getAttribute('entry'));
    if (button) entry.button = button;
    else if (config.entry) entry.button = config.entry;
    ['campaign', 'product', 'order'].forEach(function (k) {
      var v = el && (el.getAttribute('data-consult-' + k) || el.getAttribute(k));
      if (v) entry[k] = v;
    });
    return entry;
  }

  // Styles go in through constructable stylesheets where possible: a strict style-src blocks
  // <style> elements but not CSSOM.
  function adopt(root, css) {
    try {
      var sheet = new CSSStyleSheet();
      sheet.replaceSync(css);
      root.adoptedStyleSheets = root.adoptedStyleSheets.concat(sheet);
      return sheet;
    } catch (e) {
      var style = d.createElement('style');
      style.textContent = css;
      (root.head || root).appendChild(style);
      return style;
    }
  }

  var CSS =
    ':host{all:initial}' +
    '.fab{position:fixed;bottom:20px;right:20px;z-index:2147483000;display:flex;align-items:center;gap:8px;' +
    'height:56px;padding:0 22px 0 18px;border:0;border-radius:28px;background:var(--consult-accent,#0b57d0);color:#fff;cursor:pointer;' +
    'font:600 16px/1 system-ui,-apple-system,"Apple SD Gothic Neo","Noto Sans KR",sans-serif;' +
    'box-shadow:0 4px 14px rgba(0,0,0,.25)}' +
    '.fab>span{display:flex;flex-direction:column;align-items:flex-start;gap:3px}' +
    '.sub{font-size:12px;font-weight:500;opacity:.95}' +
    '.fab:hover{filter:brightness(.85)}.fab:focus-visible{outline:3px solid var(--consult-accent,#0b57d0);outline-offset:3px}' +
    '.left .fab,.left .panel{left:20px;right:auto}' +
    '.fab::before{content:"";width:22px;height:18px;border-radius:9px 9px 9px 2px;background:#fff}' +
    '.after-hours{background:#5f6368}' +
    '.badge{position:absolute;top:-4px;right:-4px;min-width:22px;height:22px;padding:0 6px;border-radius:11px;' +
    'background:#c5221f;color:#fff;font:700 12px/22px system-ui,sans-serif;text-align:center}' +
    '.panel{position:fixed;bottom:88px;right:20px;z-index:2147483001;width:380px;height:min(640px,calc(100vh - 108px));' +
    'border-radius:16px;overflow:hidden;box-shadow:0 8px 32px rgba(0,0,0,.3);background:#fff}' +
    '.panel.mobile{inset:0;width:100%;height:100%;border-radius:0;bottom:auto;right:auto}' +
    'iframe{display:block;width:100%;height:100%;border:0}' +
    '[hidden]{display:none!important}';

  function render() {
    if (host) return;
    host = d.createElement('consult-launcher');
    shadow = host.attachShadow({ mode: 'open' });
    adopt(shadow, CSS);
    var wrap = d.createElement('div');
    if (config.position === 'left') wrap.className = 'left';
    fab = d.createElement('button');
    fab.type = 'button';
    fab.className = 'fab';
    fab.setAttribute('aria-haspopup', 'dialog');
    fab.setAttribute('aria-expanded', 'false');
    var labels = fab.appendChild(d.createElement('span'));
    label = labels.appendChild(d.createElement('span'));
    sub = labels.appendChild(d.createElement('span'));
    sub.className = 'sub';
    badge = d.createElement('span');
    badge.className = 'badge';
    badge.hidden = true;
    fab.appendChild(badge);
    fab.addEventListener('click', function () { isOpen ? close() : open(null, null, fab); });
    // Warm the frame up on intent, so a click opens a chat that is already loading.
    fab.addEventListener('pointerenter', ensureFrame, { once: true });
    wrap.appendChild(fab);
    panel = d.createElement('div');
    panel.className = 'panel';
    panel.hidden = true;
    wrap.appendChild(panel);
    shadow.appendChild(wrap);
    d.body.appendChild(host);
    applyStatus();
  }

  function applyStatus() {
    if (!fab) return;
    var disabled = status && status.enabled === false;
    var after = status && status.enabled !== false && status.open_now === false;
    fab.hidden = disabled;
    fab.classList.toggle('after-hours', !!after);
    // Said on the button itself, not only in a tooltip; the panel shows the channel's message.
    label.textContent = text().open;
    sub.textContent = text().closed;
    sub.hidden = !after;
    fab.title = after ? (status.after_hours_message || text().closed) : '';
    // The channel's colour on every button (custom properties reach into the shadow roots).
    if (status && status.color) d.documentElement.style.setProperty('--consult-accent', status.color);
    if (!pageStyle) pageStyle = adopt(d, '');
    var css = disabled ? '[data-consult-entry],consult-button{display:none!important}' : '';
    if (pageStyle.replaceSync) pageStyle.replaceSync(css); else pageStyle.textContent = css;
  }

  // data-locale / boot({locale}) decides every label, also of buttons defined before the boot.
  function relabel() {
    if (fab) applyStatus();
    d.querySelectorAll('consult-button').forEach(function (el) {
      var slot = el.shadowRoot && el.shadowRoot.querySelector('slot');
      if (slot) slot.textContent = text().open;
    });
  }

  function ensureFrame() {
    if (frame) return;
    frame = d.createElement('iframe');
    frame.title = text().open;
    frame.allow = 'clipboard-write';
    var q = 'channel=' + encodeURIComponent(config.channel) + '&origin=' + encodeURIComponent(location.origin);
    if (config.locale) q += '&locale=' + encodeURIComponent(config.locale);
    frameUrl = gateway + '/chat?' + q;
    frameLayout = isMobile() ? 'mobile' : 'panel';
    frame.src = frameUrl + '#' + frameLayout;
    panel.appendChild(frame);
  }

  // The frame reads its layout from its URL's fragment (full screen: focus stays inside, Escape
  // does not close). A fragment-only change is no reload; replace() adds no history entry.
  function setLayout(layout) {
    if (layout === frameLayout) return;
    frameLayout = layout;
    try { frame.contentWindow.location.replace(frameUrl + '#' + layout); } catch (e) { /* not loaded yet */ }
  }

  function post(message) {
    // Exact origin, never '*'.
    if (frame && frame.contentWindow) frame.contentWindow.postMessage(message, gateway);
  }

  function launchMessage(entry, prefill, token) {
    var request = { channel: config.channel, declared: entry };
    token = token || config.token;
    if (token) request.token = token;
    if (config.locale) request.locale = config.locale;
    var message = { type: 'launch', request: request };
    if (prefill) message.prefill = String(prefill);
    return message;
  }

  function onMessage(event) {
    if (!frame || event.origin !== gateway || event.source !== frame.contentWindow) return;
    var m = event.data || {};
    switch (m.type) {
      case 'ready':
        frameReady = true;
        if (pendingLaunch) { post(pendingLaunch); pendingLaunch = null; }
        break;
      case 'close': close(); break;
      case 'unread':
        unread = m.count | 0;
        badge.hidden = unread === 0;
        badge.textContent = unread > 99 ? '99+' : String(unread);
        if (unread) fab.setAttribute('aria-label', text().open + ', ' + unread + ' ' + text().unread);
        else fab.removeAttribute('aria-label');
        emit('unread', { count: unread });
        break;
      case 'message': emit('message', m.message); break;
      case 'error': emit('error', m.error); break;
    }
  }

  function followViewport() {
    var vv = w.visualViewport;
    if (!vv || !panel || !panel.classList.contains('mobile')) return;
    // The on-screen keyboard shrinks the visual viewport: keep the frame inside it.
    panel.style.height = vv.height + 'px';
    panel.style.top = vv.offsetTop + 'px';
  }

  function open(entryEl, prefill, opener) {
    if (!config) return Promise.reject(new Error('Consult: boot first (data-channel or Consult("boot", {channel}))'));
    if (status && status.enabled === false) return Promise.reject(new Error('Consult: channel ' + config.channel + ' is switched off'));
    render();
    ensureFrame();
    lastButton = opener || lastButton || fab;
    var mobile = isMobile();
    setLayout(mobile ? 'mobile' : 'panel');
    panel.classList.toggle('mobile', mobile);
    panel.hidden = false;
    if (mobile) { d.documentElement.style.overflow = 'hidden'; followViewport(); }
    fab.hidden = mobile || (status && status.enabled === false);
    fab.setAttribute('aria-expanded', 'true');
    // A button may carry its own signed token (what the business signed for that button).
    var own = entryEl && (entryEl.getAttribute('data-consult-token') || entryEl.getAttribute('token'));
    var message = launchMessage(entryOf(entryEl), prefill, own && !tokenProblem(own) ? own : null);
    if (frameReady) post(message); else pendingLaunch = message;
    frame.focus();
    if (!isOpen) { isOpen = true; emit('open', {}); }
    return Promise.resolve();
  }

  function close() {
    if (!isOpen) return Promise.resolve();
    isOpen = false;
    panel.hidden = true;
    panel.style.height = panel.style.top = '';
    d.documentElement.style.overflow = '';
    applyStatus();
    fab.setAttribute('aria-expanded', 'false');
    post({ type: 'close' });
    // Focus goes back to the button that opened the chat.
    if (lastButton && lastButton.isConnected) lastButton.focus();
    emit('close', {});
    return Promise.resolve();
  }

  function fetchStatus() {
    return fetch(gateway + '/v1/channels/' + encodeURIComponent(config.channel) + '/status', { credentials: 'omit' })
      .then(function (r) { return r.ok ? r.json() : null; })
      .catch(function () { return null; }) // unreachable gateway: show the button, the chat says why
      .then(function (s) { status = s; applyStatus(); return s; });
  }

  function boot(options) {
    options = options || {};
    var channel = options.channel || (config && config.channel);
    if (!channel) return Promise.reject(new Error('Consult: boot needs a channel'));
    var problem = tokenProblem(options.token);
    if (problem) console.error('Consult: ' + problem);
    var first = !config;
    // Imported from a bundle there is no script tag to take the gateway's origin from.
    if (first && options.gateway) {
      try { gateway = new URL(options.gateway).origin; } catch (e) { return Promise.reject(new Error('Consult: gateway must be an absolute URL')); }
    }
    config = {
      channel: channel,
      token: problem ? null : options.token || (config && config.token) || null,
      entry: options.entry || (config && config.entry) || null,
      locale: options.locale || (config && config.locale) || null,
      position: options.position || (config && config.position) || 'right'
    };
    relabel();
    if (!first) return Promise.resolve(readyDetail); // booting twice never makes two widgets
    if (d.body) render(); else d.addEventListener('DOMContentLoaded', render);
    return fetchStatus().then(function (s) {
      readyDetail = { channel: channel, status: s };
      if (problem) readyDetail.error = { code: 'malformed_token', message: problem };
      emit('ready', readyDetail);
      return readyDetail;
    });
  }

  function onRouteChange() {
    if (frame) post({ type: 'context', declared: entryOf(null) });
  }

  var commands = {
    boot: boot,
    open: function (prefill) { return open(null, prefill, null); },
    close: close,
    setToken: function (token) {
      var problem = tokenProblem(token);
      if (problem) return Promise.reject(new Error('Consult: ' + problem));
      if (config) config.token = token || null;
      return Promise.resolve();
    },
    setEntry: function (entry) { if (config) config.entry = entry || null; onRouteChange(); return Promise.resolve(); },
    shutdown: function () {
      post({ type: 'shutdown' });
      if (config) config.token = null;
      unread = 0;
      if (badge) badge.hidden = true;
      return close();
    },
    on: function (name, cb) {
      if (EVENTS.indexOf(name) < 0 || typeof cb !== 'function') return Promise.reject(new Error('Consult: unknown event ' + name));
      (handlers[name] = handlers[name] || []).push(cb);
      if (name === 'ready' && readyDetail) cb(readyDetail);
      return Promise.resolve();
    },
    off: function (name, cb) {
      handlers[name] = (handlers[name] || []).filter(function (h) { return h !== cb; });
      return Promise.resolve();
    }
  };

  function Consult(name) {
    var command = commands[name];
    if (!command) return Promise.reject(new Error('Consult: unknown command ' + name));
    return command.apply(null, Array.prototype.slice.call(arguments, 1));
  }
  Consult.loaded = true;
  w.Consult = Consult;

  w.addEventListener('message', onMessage);
  if (w.visualViewport) {
    w.visualViewport.addEventListener('resize', followViewport);
    w.visualViewport.addEventListener('scroll', followViewport);
  }
  // Single-page apps: route changes update the page context without reloading the chat.
  ['pushState', 'replaceState'].forEach(function (name) {
    var original = history[name];
    history[name] = function () {
      var result = original.apply(this, arguments);
      onRouteChange();
      return result;
    };
  });
  w.addEventListener('popstate', onRouteChange);

  // Every [data-consult-entry] element, present or added later, opens the chat with its entry.
  d.addEventListener('click', function (event) {
    var el = event.target.closest && event.target.closest('[data-consult-entry]');
    if (!el || !config) return;
    event.preventDefault();
    open(el, el.getAttribute('data-consult-prefill'), el);
  });
  d.addEventListener('keydown', function (event) {
    var el = event.target;
    if ((event.key === 'Enter' || event.key === ' ') && el.getAttribute && el.getAttribute('data-consult-entry') != null &&
        !/^(BUTTON|A|INPUT)$/.test(el.tagName)) {
      event.preventDefault();
      el.click();
    }
  });
  function markEntries() {
    d.querySelectorAll('[data-consult-entry]:not([role])').forEach(function (el) {
      if (!/^(BUTTON|A)$/.test(el.tagName)) { el.setAttribute('role', 'button'); el.tabIndex = 0; }
    });
  }

  // <consult-button entry="product-detail">Ask about this</consult-button>
  if (w.customElements && !customElements.get('consult-button')) {
    customElements.define('consult-button', class extends HTMLElement {
      connectedCallback() {
        if (this.shadowRoot) return;
        var root = this.attachShadow({ mode: 'open' });
        adopt(root, ':host{display:inline-block}button{font:600 15px/1.2 system-ui,sans-serif;color:#fff;' +
          'background:var(--consult-accent,#0b57d0);border:0;border-radius:8px;padding:10px 16px;cursor:pointer}' +
          'button:hover{filter:brightness(.85)}button:focus-visible{outline:3px solid var(--consult-accent,#0b57d0);outline-offset:2px}');
        var b = d.createElement('button');
        b.type = 'button';
        b.part = 'button';
        b.appendChild(d.createElement('slot')).textContent = text().open;
        var self = this;
        b.addEventListener('click', function () { open(self, self.getAttribute('prefill'), b); });
        root.appendChild(b);
      }
    });
  }

  // Commands queued before this script loaded, then the script tag's own configuration.
  var queued = (stub && stub.q) || [];
  var attrs = script ? script.dataset : {};
  if (attrs.channel && !queued.some(function (args) { return args[0] === 'boot'; })) {
    boot({ channel: attrs.channel, token: attrs.token, entry: attrs.entry, locale: attrs.locale, position: attrs.position });
  }
  queued.forEach(function (args) {
    if (args[0] === 'boot' && attrs.channel) args[1] = Object.assign({ channel: attrs.channel }, args[1]);
    Consult.apply(null, args);
  });
  if (d.readyState === 'loading') d.addEventListener('DOMContentLoaded', markEntries); else markEntries();
})(window, document);
