//! Flow 1: product-page button → room opens with the guidance message → no agent can write → the
//! visitor writes → the desk shows the request with the product entry point and membership, verified.

use consult_e2e::{Device, run};

/// The demo's agent who takes general requests first (least loaded, id order).
const AGENT: (&str, &str) = ("mina", "mina-demo");

#[test]
fn product_button_opens_a_room_and_the_desk_sees_a_verified_member() {
    run("flow1-product-button", None, |t| async move {
        let agent = t.agent(AGENT.0, AGENT.1).await;

        // A member signs in on the shop: the shop's server signs membership into the button token.
        let v = t.visitor_on("visitor", Device::Desktop, "/signin.html").await;
        v.click("#signin button[type=submit]").await;
        v.b.wait_js("the shop to confirm the sign-in", "document.querySelector('#signin-result.ok')").await;
        v.open_page("/product.html").await;
        assert_eq!(v.b.js("return document.documentElement.dataset.consultToken", vec![]).await, "member", "the product page must hold a member token");

        // Press the product's consult button: the room opens, the guidance (with the retention notice) first.
        v.click_consult_button("#product-consult").await;
        v.enter_chat().await;
        v.b.wait_js("the guidance message", "document.querySelector('#consult .log > li.guidance')").await;
        // The shop's logo heads the panel, served by the gateway itself (the frame's CSP allows no other).
        let logo = v
            .b
            .wait_js(
                "the channel's logo to load in the header",
                "(() => { const i = document.querySelector('#consult .head > img.head-logo'); return i && i.complete && i.naturalWidth > 0 && { alt: i.alt, src: new URL(i.src).pathname, same: new URL(i.src).origin === location.origin }; })()",
            )
            .await;
        assert_eq!(logo, serde_json::json!({ "alt": "데모 상점 Demo Shop", "src": "/v1/channels/demo-shop/logo", "same": true }), "{logo}");
        let shown = v.messages().await;
        assert_eq!(shown.len(), 2, "before the visitor speaks, only the guidance and the button's welcome line show: {shown:?}");
        assert!(shown[0].class.contains("guidance"), "the guidance comes first: {shown:?}");
        assert!(shown[1].class.contains("welcome") && shown[1].text.contains("이 상품에 대해"), "then the product button's welcome: {shown:?}");
        assert!(shown[0].text.contains("90일") && shown[0].text.contains("보관"), "the guidance carries the retention notice: {:?}", shown[0].text);

        // No agent can write yet: the request does not even reach the desk before the first word.
        let desk = agent.b.js("return [document.getElementById('queue-count').textContent, document.getElementById('chats-count').textContent, document.querySelectorAll('#chats > li, #queue > li').length]", vec![]).await;
        assert_eq!(desk, serde_json::json!(["0", "0", 0]), "the desk must show no request before the visitor's first message");

        // The visitor speaks first; the bot answers with its menu; the visitor asks for a person.
        v.send("선물 포장도 되나요? 3세트 주문하려고요").await;
        v.wait_message("mine", "선물 포장도 되나요?").await;
        v.b.wait_js("the bot menu", "document.querySelector('#consult .log > li.bot .menu [data-option=agent]')").await;
        v.choose("agent").await;

        // The desk: the chat, its entry point (product, signed) and the member (signed).
        agent.open_chat("김하늘").await;
        agent.wait_message("visitor", "선물 포장도 되나요?").await;
        let pane = agent.pane().await;
        assert!(pane.entry.contains("verified"), "entry point marked verified: {:?}", pane.entry);
        assert!(pane.entry.contains("TEA-1001") && pane.entry.contains("product-detail"), "product entry point shown: {:?}", pane.entry);
        assert!(pane.member.contains("verified") && pane.member.contains("M-1024") && pane.member.contains("gold"), "membership shown verified: {:?}", pane.member);
        assert!(!pane.reply_disabled, "the assigned agent can answer now");
        agent.b.snap("desk").await;

        // The chat wears the shop's colour.
        let look = v.b.js("return { bubble: getComputedStyle(document.querySelector('#consult .mine .bubble')).backgroundColor, header: getComputedStyle(document.querySelector('#consult header') || document.querySelector('#consult .head') || document.body).backgroundColor }", vec![]).await;
        assert_eq!(look["bubble"], "rgb(47, 93, 80)", "the visitor's bubbles in the channel's colour #2f5d50: {look}");

        // And the visitor sees who joined.
        v.b.wait_js("the agent's name in the chat header", "document.querySelector('#consult .status').textContent.includes('Mina')").await;

        // Send results both ways: the agent has the chat in view, so the visitor's last message
        // shows "read"; the visitor's open panel shows the reply, so the desk says "Read" under it.
        v.b.wait_js("'read' under the visitor's last message", "document.querySelectorAll('#consult .log > li.mine .read').length === 1").await;
        agent.reply("네, 3세트 모두 포장해 드릴게요").await;
        v.wait_message("agent", "모두 포장해").await;
        agent.b.wait_js("'Read' under the reply", "[...document.querySelectorAll('#messages > li.agent .receipt')].some(r => r.textContent === 'Read')").await;
        v.b.snap("panel").await;

        // A file (any type the gateway accepts; here plain text of 45 bytes): both sides say "45 B".
        let dir = tempfile::tempdir().expect("temp dir");
        let notes = dir.path().join("notes.txt");
        std::fs::write(&notes, "gift wrap: 3 sets, ribbons green, cards blank").expect("write the file");
        assert_eq!(std::fs::metadata(&notes).unwrap().len(), 45);
        v.b.find("#consult input[type=file]").await.send_keys(notes.to_str().unwrap()).await.expect("pick the file");
        v.wait_message("mine", "notes.txt (45 B)").await;
        agent.wait_message("visitor", "notes.txt (45 B)").await;
        // And a link in the agent's bubble reads on it: the desk's white on its blue, the panel's ink on grey.
        let contrast = agent.b.js("const a = document.createElement('a'); a.href = '#'; a.textContent = 'x'; const b = document.querySelector('#messages > li.agent .bubble'); b.append(a); const c = [getComputedStyle(a).color, getComputedStyle(b).backgroundColor]; a.remove(); return c;", vec![]).await;
        assert_eq!(contrast, serde_json::json!(["rgb(255, 255, 255)", "rgb(47, 111, 237)"]), "white links on the desk's #2f6fed (4.55:1)");
    });
}
