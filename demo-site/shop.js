/* 데모 상점 · Demo Shop: the page side of the demo business.
 * - queues Consult(...) commands until the launcher (loaded async from the gateway) is there;
 * - asks the shop's own server for a signed button token (/api/token) and hands it to the widget
 *   with Consult('setToken', …): membership and the signed entry point travel in that token;
 * - shows who is signed in, and runs the fake sign-in form.
 * No inline script anywhere, so the strict-CSP page can use this file as it is. */
(function (w, d) {
  'use strict';
  w.Consult = w.Consult || function () { (w.Consult.q = w.Consult.q || []).push(arguments); };

  function $(sel) { return d.querySelector(sel); }

  function api(path, options) {
    return fetch(path, Object.assign({ credentials: 'same-origin' }, options || {})).then(function (r) {
      return r.json().then(function (body) {
        if (!r.ok) throw new Error(body.message || r.statusText);
        return body;
      });
    });
  }

  // The signed entry point of this page comes from <body data-token-button=… data-token-product=…>.
  function tokenQuery() {
    var ds = d.body.dataset, q = new URLSearchParams();
    q.set('page', location.pathname);
    ['button', 'product', 'campaign', 'order'].forEach(function (k) {
      var v = ds['token' + k.charAt(0).toUpperCase() + k.slice(1)];
      if (v) q.set(k, v);
    });
    return q.toString();
  }

  // Each consult button carries a token signed for what it says (its entry, order, campaign), so
  // agents see its fields verified, never "declared ≠ verified".
  function signButtons() {
    return Promise.all(Array.prototype.map.call(d.querySelectorAll('[data-consult-entry]'), function (el) {
      var q = new URLSearchParams();
      q.set('page', location.pathname);
      q.set('button', el.getAttribute('data-consult-entry'));
      ['product', 'campaign', 'order'].forEach(function (k) {
        var v = el.getAttribute('data-consult-' + k);
        if (v) q.set(k, v);
      });
      return api('/api/token?' + q).then(function (body) { el.setAttribute('data-consult-token', body.token); }).catch(function () {});
    }));
  }

  function refreshToken() {
    return Promise.all([api('/api/token?' + tokenQuery()), signButtons()]).then(function (done) {
      var body = done[0];
      w.Consult('setToken', body.token);
      // Tests and curious people can see that the page holds a signed token, and for whom.
      d.documentElement.dataset.consultToken = body.member ? 'member' : 'anonymous';
      return body;
    }).catch(function (e) {
      console.warn('demo shop: no signed token (' + e.message + '); the chat opens anonymously');
      d.documentElement.dataset.consultToken = 'none';
    });
  }

  function showAccount(member) {
    var box = $('.account');
    if (!box) return;
    box.textContent = '';
    if (member) {
      var name = d.createElement('span');
      name.className = 'member';
      name.textContent = (member.name || member.id) + ' 님';
      box.appendChild(name);
      if (member.tier) {
        var tier = d.createElement('span');
        tier.className = 'tier';
        tier.textContent = member.tier.toUpperCase();
        box.appendChild(tier);
      }
      var out = d.createElement('a');
      out.href = '#';
      out.textContent = '로그아웃';
      out.addEventListener('click', function (e) {
        e.preventDefault();
        api('/api/sign-out', { method: 'POST' }).then(function () { location.reload(); });
      });
      box.appendChild(out);
    } else {
      var a = d.createElement('a');
      a.href = '/signin.html';
      a.textContent = '로그인 · Sign in';
      box.appendChild(a);
    }
  }

  function signInForm() {
    var form = $('#signin');
    if (!form) return;
    form.addEventListener('submit', function (e) {
      e.preventDefault();
      var body = {
        member_id: form.member_id.value.trim(),
        name: form.name.value.trim() || null,
        tier: form.tier.value || null
      };
      api('/api/sign-in', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) })
        .then(function (member) {
          showAccount(member);
          $('#signin-result').textContent = (member.name || member.id) + ' 님으로 로그인했어요. 이제 상담 버튼에 회원 정보가 서명되어 함께 갑니다. · Signed in: the consult buttons now carry your signed membership.';
          $('#signin-result').className = 'ok';
          return refreshToken();
        })
        .catch(function (err) {
          $('#signin-result').textContent = err.message;
          $('#signin-result').className = 'error';
        });
    });
  }

  function markNav() {
    d.querySelectorAll('.nav a').forEach(function (a) {
      if (a.pathname === location.pathname) a.setAttribute('aria-current', 'page');
    });
  }

  function start() {
    markNav();
    signInForm();
    api('/api/me').then(function (me) { showAccount(me.member); }).catch(function () { showAccount(null); });
    if (d.body.dataset.tokenButton) {
      refreshToken();
      // Member tokens live ten minutes: keep a fresh one.
      setInterval(refreshToken, 5 * 60 * 1000);
    }
  }

  if (d.readyState === 'loading') d.addEventListener('DOMContentLoaded', start); else start();
})(window, document);
