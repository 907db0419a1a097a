//! Flow 3: desktop → phone. The QR code the desktop renders is decoded from a screenshot, opened
//! on an emulated phone, which takes the chat over with its history; the desktop says so; the same
//! code scanned again is refused.

use consult_e2e::{Device, run};

#[test]
fn desktop_hands_the_chat_to_a_phone_once() {
    run("flow3-qr-handoff", None, |t| async move {
        let desktop = t.visitor_on("desktop", Device::Desktop, "/product.html").await;
        desktop.click_consult_button("#product-consult").await;
        desktop.enter_chat().await;
        desktop.send("휴대폰으로 옮겨서 계속할게요").await;
        desktop.b.wait_js("the first message acknowledged", "document.querySelector('#consult .log > li.mine[data-seq]')").await;

        // "Continue on your phone": the gateway's QR code, shown as an image.
        desktop.b.wait_js("the handoff button", "!document.querySelector('#consult .handoff-btn').hidden").await;
        desktop.b.find("#consult .handoff-btn").await.click().await.expect("click handoff");
        desktop
            .b
            .wait_js("the QR code to render", "(() => { const i = document.querySelector('#consult img.qr-code'); return i && !i.hidden && i.complete && i.naturalWidth > 0; })()")
            .await;
        let url = desktop.b.decode_qr("#consult img.qr-code").await;
        desktop.b.snap("qr").await;
        let gateway = &t.demo.gateway;
        assert!(url.to_ascii_lowercase().starts_with(&format!("{gateway}/h/")), "the handoff code points at the gateway's /H/ route: {url}");

        // The phone opens it: full-screen chat with the history.
        let phone = t.browser("phone", Device::Phone).await;
        let phone = consult_e2e::Visitor::on(phone, &t.demo.site);
        phone.b.goto(&url).await;
        phone.wait_ready().await;
        phone.wait_message("mine", "휴대폰으로 옮겨서 계속할게요").await;
        assert!(phone.messages().await.first().is_some_and(|m| m.class.contains("guidance")), "the phone shows the guidance first");
        phone.b.snap("took-over").await;

        // The desktop says the phone took over.
        desktop
            .b
            .wait_js("the desktop's handed-off notice", "!document.querySelector('#consult .handed-off').hidden && document.querySelector('#consult .handed-off').textContent.includes('휴대폰')")
            .await;
        assert_eq!(desktop.b.js("return document.querySelector('#consult .composer').hidden", vec![]).await, true, "the desktop can no longer write");
        desktop.b.snap("handed-off").await;

        // The phone carries on.
        phone.send("폰에서 이어서 씁니다").await;
        phone.b.wait_js("the phone's message acknowledged", "[...document.querySelectorAll('#consult .log > li.mine[data-seq]')].some(li => li.textContent.includes('폰에서 이어서'))").await;

        // The same code again (scanned a second time, in a new tab): refused.
        phone.b.new_tab().await;
        phone.b.goto(&url).await;
        phone.wait_ready().await;
        phone
            .b
            .wait_js("the second use to be refused", "(() => { const b = document.querySelector('#consult .banner'); return !b.hidden && b.dataset.code === 'handoff_used' && document.querySelector('#consult .title').textContent === '상담을 시작하지 못했어요' && document.querySelector('#consult textarea.input').disabled; })()")
            .await;
        assert!(!phone.messages().await.iter().any(|m| m.text.contains("휴대폰으로 옮겨서")), "a refused code shows none of the conversation");
    });
}
