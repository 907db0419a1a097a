//! A malformed `data-token` (issue 4, bad input): the button still appears, the chat opens as an
//! anonymous launch, and the error reaches the page once, through the `ready` event and the console.

use consult_e2e::{Device, Visitor, run};
use serde_json::json;

#[test]
fn malformed_data_token_launches_anonymously_and_reports_once() {
    run("bad-token", None, |t| async move {
        let agent = t.agent("mina", "mina-demo").await;
        let b = t.browser("visitor", Device::Desktop).await;
        // A site page without the launcher, so the script tag below is the page's only one.
        b.goto(&format!("{}/poster.html", t.demo.site)).await;
        let injected = b
            .js(
                "const gateway = arguments[0];
                 window.__consoleErrors = [];
                 const original = console.error;
                 console.error = (...a) => { window.__consoleErrors.push(a.join(' ')); original.apply(console, a); };
                 window.Consult = window.Consult || function () { (Consult.q = Consult.q || []).push(arguments); };
                 Consult('on', 'ready', (e) => { window.__ready = (window.__ready || []).concat([e]); });
                 const s = document.createElement('script');
                 s.src = gateway + '/widget/consult.js';
                 s.dataset.channel = 'demo-shop';
                 s.dataset.token = 'not-a-token!';
                 document.body.appendChild(s);
                 return true;",
                vec![json!(t.demo.gateway)],
            )
            .await;
        assert_eq!(injected, json!(true));

        b.wait_js("the launcher's button", "document.querySelector('consult-launcher') && document.querySelector('consult-launcher').shadowRoot.querySelector('.fab:not([hidden])')").await;
        b.wait_js("the ready event", "window.__ready && window.__ready.length").await;
        let ready = b.js("return {n: window.__ready.length, code: window.__ready[0].error && window.__ready[0].error.code, errors: window.__consoleErrors.filter(e => e.includes('Consult')).length}", vec![]).await;
        assert_eq!(ready, json!({"n": 1, "code": "malformed_token", "errors": 1}), "reported once, through ready and the console");

        // The button opens an anonymous chat: guidance first, and the visitor can write.
        b.js("document.querySelector('consult-launcher').shadowRoot.querySelector('.fab').click(); return true", vec![]).await;
        let v = Visitor::on(b.clone(), &t.demo.site);
        v.enter_chat().await;
        v.b.wait_js("the guidance message", "document.querySelector('#consult .log > li.guidance')").await;
        v.send("토큰이 깨진 페이지에서 문의").await;
        v.wait_message("mine", "토큰이 깨진 페이지에서 문의").await;

        // The agent sees an unverified visitor: no membership, nothing marked verified.
        v.choose("agent").await;
        agent.open_chat("Visitor").await;
        agent.wait_message("visitor", "토큰이 깨진 페이지에서 문의").await;
        let verified = agent.b.js("return [...document.querySelectorAll('.badge.verified')].map(e => e.textContent)", vec![]).await;
        assert_eq!(verified, json!([]), "nothing is marked verified on an anonymous launch");

        // Still one report after the whole flow.
        v.b.top().await;
        let errors = v.b.js("return window.__consoleErrors.filter(e => e.includes('Consult')).length", vec![]).await;
        assert_eq!(errors, json!(1));
    });
}
