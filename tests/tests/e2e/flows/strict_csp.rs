//! Flow 5: a host page under a strict CSP (no WebAssembly, no inline script) still opens a chat,
//! and a message carrying HTML is inert text in the widget and on the desk.

use consult_e2e::{Device, run};
use serde_json::json;

const PAYLOAD: &str = "<img src=x onerror=\"window.__xss=1\">신발 사이즈 문의 <b>bold</b>";
const REPLY: &str = "<img src=y onerror=\"window.__xss=2\"><script>window.__xss=3</script>답변드립니다";

#[test]
fn strict_csp_page_opens_a_chat_and_html_stays_text() {
    run("flow5-strict-csp", None, |t| async move {
        let agent = t.agent("mina", "mina-demo").await;
        let v = t.visitor_on("visitor", Device::Desktop, "/strict.html").await;

        // The host page really is strict: it may not compile WebAssembly.
        let csp = v.b.js("return document.querySelector('meta[http-equiv=Content-Security-Policy]').content", vec![]).await;
        let csp = csp.as_str().unwrap_or_default();
        assert!(csp.contains("script-src 'self'") && !csp.contains("wasm-unsafe-eval") && !csp.contains("unsafe-inline"), "{csp}");
        let wasm = v
            .b
            .client
            .execute_async(
                "const done = arguments[0]; WebAssembly.compile(new Uint8Array([0,97,115,109,1,0,0,0])).then(() => done('compiled'), e => done('refused: ' + e.name));",
                vec![],
            )
            .await
            .expect("wasm probe");
        assert!(wasm.as_str().unwrap_or_default().starts_with("refused"), "the strict page must refuse WebAssembly, got {wasm}");

        // The button still opens the chat (the chat's wasm runs in the gateway's frame).
        v.click("#strict-consult").await;
        v.enter_chat().await;
        v.b.wait_js("the guidance message", "document.querySelector('#consult .log > li.guidance')").await;

        // HTML typed by the visitor is text in the widget…
        v.send(PAYLOAD).await;
        v.wait_message("mine", "신발 사이즈 문의").await;
        let mine = v.b.js(
            "const li = [...document.querySelectorAll('#consult .log > li.mine')].pop(); return {text: li.querySelector('.bubble').textContent, imgs: document.querySelectorAll('#consult .log img').length, bs: document.querySelectorAll('#consult .log b').length, flag: window.__xss === undefined ? null : window.__xss};",
            vec![],
        ).await;
        assert_eq!(mine, json!({"text": PAYLOAD, "imgs": 0, "bs": 0, "flag": null}), "the visitor's own bubble must be the literal text");

        // …and on the desk.
        v.choose("agent").await;
        agent.open_chat("Visitor").await;
        agent.wait_message("visitor", "신발 사이즈 문의").await;
        let desk = agent.b.js(
            "const li = [...document.querySelectorAll('#messages > li.visitor')].shift(); return {text: li.querySelector('.bubble').textContent, imgs: document.querySelectorAll('#messages img').length, bs: document.querySelectorAll('#messages b').length, flag: window.__xss === undefined ? null : window.__xss};",
            vec![],
        ).await;
        assert_eq!(desk, json!({"text": PAYLOAD, "imgs": 0, "bs": 0, "flag": null}), "the desk must show the visitor's HTML as text");

        // The agent's HTML reaches the visitor as text too.
        agent.reply(REPLY).await;
        agent.wait_message("agent", "답변드립니다").await;
        v.wait_message("agent", "답변드립니다").await;
        let theirs = v.b.js(
            "const li = [...document.querySelectorAll('#consult .log > li.agent')].pop(); return {text: li.querySelector('.bubble').textContent, imgs: document.querySelectorAll('#consult .log img').length, scripts: document.querySelectorAll('#consult script').length, flag: window.__xss === undefined ? null : window.__xss};",
            vec![],
        ).await;
        assert_eq!(theirs, json!({"text": REPLY, "imgs": 0, "scripts": 0, "flag": null}), "the agent's HTML must be text in the widget");
        // Nothing ran on the host page either.
        v.b.top().await;
        assert_eq!(v.b.js("return window.__xss === undefined", vec![]).await, json!(true));
        assert_eq!(agent.b.js("return window.__xss === undefined && document.querySelectorAll('#messages img, #messages script').length === 0", vec![]).await, json!(true));
    });
}
