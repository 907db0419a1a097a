// What a bundled app writes: a side-effect import installs window.Consult.
import '@consult/web';

// The gateway comes from the app's config here: no script tag of ours names it.
const gateway = new URLSearchParams(location.search).get('gateway') || 'http://127.0.0.1:8080';
window.Consult('boot', { channel: 'demo-shop', gateway }).then((ready) => {
  document.body.dataset.ready = JSON.stringify(ready);
});
