/* The printed poster: the shop's server mints a long-lived printed entry code for the
 * "store-counter" entry point (no personal data), as a URL on the gateway's own domain and a QR
 * SVG. The SVG is shown through an <img> (a blob URL), where no script can run. */
(function (d) {
  'use strict';
  function start() {
    d.getElementById('print').addEventListener('click', function () { window.print(); });
    fetch('/api/poster', { credentials: 'same-origin' })
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
