/* The printed poster: the shop's server mints a long-lived printed entry code for the
 * "store-counter" entry point (no personal data), as a URL on the gateway's own domain and a QR
 * SVG. The SVG is shown through an <img> (a blob URL), where no script can run. */
(function (d) {
  'use strict';
  function start() {
    d.getElementById('print').addEventListener('click', function () { window.print(); });
    // While the service is switched off there is nothing to print: a code would lead nowhere.
    fetch('/api/config').then(function (r) { return r.json(); })
      .then(function (c) { return fetch(c.gateway + '/v1/channels/' + encodeURIComponent(c.channel) + '/status').then(function (r) { return r.json(); }); })
      .then(function (status) {
        if (status.enabled !== false) return poster();
        d.documentElement.dataset.poster = 'off';
        d.getElementById('print').hidden = true;
        d.querySelector('.code').hidden = true;
        var note = d.createElement('p');
        note.className = 'paused';
        note.setAttribute('role', 'status');
        note.textContent = '상담 서비스가 잠시 중단되어 인쇄할 코드가 없어요. 서비스가 다시 켜지면 이 페이지에서 새 코드를 받으세요. · The chat service is switched off, so there is no code to print. Come back to this page once it is on again.';
        d.querySelector('.sub').after(note);
      })
      .catch(poster);
  }
  function poster() {
    return fetch('/api/poster', { credentials: 'same-origin' })
      .then(function (r) { if (!r.ok) throw new Error('poster: ' + r.status); return r.json(); })
      .then(function (p) {
        var img = d.getElementById('poster-qr');
        img.src = URL.createObjectURL(new Blob([p.svg], { type: 'image/svg+xml' }));
        img.dataset.url = p.url;
        d.getElementById('poster-domain').textContent = new URL(p.url).host;
        d.getElementById('poster-serial').textContent = p.serial;
        d.documentElement.dataset.poster = 'ready';
      })
      .catch(function (e) {
        d.getElementById('poster-domain').textContent = '코드를 만들지 못했어요 · could not make the code (' + e.message + ')';
      });
  }
  if (d.readyState === 'loading') d.addEventListener('DOMContentLoaded', start); else start();
})(document);
