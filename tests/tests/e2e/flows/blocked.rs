//! Flow 7: an agent blocks a visitor; the button, the printed poster code and a handoff code made
//! before the block are all refused.

use consult_e2e::{Device, Visitor, run};

/// Refused by the gateway with the stable code `blocked`, shown to the visitor in their language.
const REFUSED: &str = "(() => { const b = document.querySelector('#consult .banner'); return !b.hidden && b.dataset.code === 'blocked' && document.querySelector('#consult .title').textContent === '상담을 시작하지 못했어요' && document.querySelector('#consult textarea.input').disabled; })()";

#[test]
fn blocked_visitor_is_refused_by_button_poster_and_handoff() {
    run("flow7-blocked", None, |t| async move {
        let agent = t.agent("mina", "mina-demo").await;
        let v = t.visitor_on("visitor", Device::Desktop, "/product.html").await;
        v.click_consult_button("#product-consult").await;
        v.enter_chat().await;
        v.send("이 가게 정말 최악이네요!!!").await;
        v.choose("agent").await;
        agent.open_chat("Visitor").await;
        agent.wait_message("visitor", "최악").await;

        // The visitor asked for a handoff code before the block.
        v.b.wait_js("the handoff button", "!document.querySelector('#consult .handoff-btn').hidden").await;
        v.b.find("#consult .handoff-btn").await.click().await.expect("click handoff");
        v.b.wait_js("the QR code", "(() => { const i = document.querySelector('#consult img.qr-code'); return i && !i.hidden && i.complete && i.naturalWidth > 0; })()").await;
        let handoff = v.b.decode_qr("#consult img.qr-code").await;

        // The agent blocks for 7 days: a dialog asks for the period (7 days preselected) and a reason.
        agent.b.find("#block").await.click().await.expect("click block");
        agent.b.wait_js("the block dialog", "document.querySelector('dialog[open] #block-reason')").await;
        assert_eq!(agent.b.js("return document.getElementById('block-days').value", vec![]).await, "7", "a week is preselected");
        agent.b.find("#block-reason").await.send_keys("욕설 abusive language").await.expect("type reason");
        agent.b.find("dialog[open] button[type=submit]").await.click().await.expect("confirm block");
        agent.b.wait_js("the desk to mark the chat closed", "document.getElementById('pane-sub').dataset.state === 'closed'").await;

        // Handoff: refused.
        let phone = Visitor::on(t.browser("phone", Device::Phone).await, &t.demo.site);
        phone.b.goto(&handoff).await;
        phone.wait_ready().await;
        phone.b.wait_js("the handoff to be refused", REFUSED).await;
        assert!(!phone.messages().await.iter().any(|m| m.text.contains("최악")), "no history reaches a refused phone");

        // Button: the visitor comes back later in a new tab and presses it again.
        v.b.new_tab().await;
        v.open_page("/product.html").await;
        v.click_consult_button("#product-consult").await;
        v.enter_chat().await;
        v.b.wait_js("the button launch to be refused", REFUSED).await;

        // Poster: the same browser opens the store-counter code.
        let poster = t.demo.get_json(&format!("{}/api/poster", t.demo.site)).await;
        let printed = poster["url"].as_str().expect("poster url").to_string();
        v.b.new_tab().await;
        v.b.goto(&printed).await;
        v.wait_ready().await;
        v.b.wait_js("the poster launch to be refused", REFUSED).await;
        assert_eq!(agent.b.js("return document.querySelectorAll('#queue > li, #chats > li').length", vec![]).await, 0, "nothing new reaches the desk");

        // The desk lists the block with its reason; lifting it lets the visitor start again.
        agent.b.find("#blocks").await.click().await.expect("open blocked list");
        agent.b.wait_js("one blocked visitor", "document.querySelectorAll('dialog[open] .block-row').length === 1 && document.querySelector('dialog[open] .block-row').textContent.includes('욕설')").await;
        agent.b.find("dialog[open] .block-row button").await.click().await.expect("unblock");
        agent.b.wait_js("the list to empty", "document.querySelectorAll('dialog[open] .block-row').length === 0 && document.querySelector('dialog[open] .blocks li')").await;
        agent.b.find("dialog[open] .dialog-bar button").await.click().await.expect("close the list");
        v.b.new_tab().await;
        v.open_page("/product.html").await;
        v.click_consult_button("#product-consult").await;
        v.enter_chat().await;
        v.send("차단이 풀렸나요?").await;
        v.wait_message("mine", "차단이 풀렸나요?").await;
    });
}
