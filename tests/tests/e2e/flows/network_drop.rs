//! Flow 6: the visitor's network drops (DevTools network emulation); the visitor sends, the agent
//! sends; back online, both sides show every message exactly once, in order.
//!
//! DevTools' offline emulation blocks new requests and socket connects but, in Chromium, leaves an
//! already open WebSocket alone; the visitor's browser therefore also goes through a [`Link`]
//! (a proxy the test controls) that cuts its open connections at the same moment.

use consult_e2e::{Device, Link, Shown, run};
use serde_json::json;

fn texts(shown: &[Shown], keep: impl Fn(&Shown) -> bool) -> Vec<String> {
    shown.iter().filter(|m| keep(m)).map(|m| m.text.clone()).collect()
}

#[test]
fn messages_survive_a_network_drop_once_and_in_order() {
    run("flow6-network-drop", None, |t| async move {
        let agent = t.agent("mina", "mina-demo").await;
        let link = Link::start().await;
        let v = t.visitor_via("visitor", Device::Desktop, "/product.html", Some(&link)).await;
        v.click_consult_button("#product-consult").await;
        v.enter_chat().await;
        v.send("연결 전 첫 메시지").await;
        v.choose("agent").await;
        agent.open_chat("Visitor").await;
        agent.reply("상담원 연결되었습니다").await;
        v.wait_message("agent", "상담원 연결되었습니다").await;

        // Offline. The widget must notice (its socket drops), or this flow tests nothing.
        v.b.cdp("Network.enable", json!({})).await;
        v.b.cdp("Network.emulateNetworkConditions", json!({"offline": true, "latency": 0, "downloadThroughput": -1, "uploadThroughput": -1})).await;
        link.set_online(false);
        v.b.wait_js("the widget to show it is offline", "document.querySelector('#consult .status').textContent.includes('연결 중') || !document.querySelector('#consult .banner').hidden").await;

        v.send("오프라인 1").await;
        v.send("오프라인 2").await;
        agent.reply("상담원 A").await;
        agent.wait_message("agent", "상담원 A").await;
        agent.reply("상담원 B").await;
        agent.wait_message("agent", "상담원 B").await;
        // While offline nothing crosses: the visitor's sends are pending, the agent's unseen.
        let during = v.messages().await;
        assert!(during.iter().filter(|m| m.text.starts_with("오프라인")).all(|m| m.class.contains("pending")), "offline sends stay pending: {during:?}");
        assert!(!during.iter().any(|m| m.text.starts_with("상담원 A")), "the visitor cannot have the agent's message yet: {during:?}");
        v.b.snap("offline").await;

        v.b.cdp("Network.emulateNetworkConditions", json!({"offline": false, "latency": 0, "downloadThroughput": -1, "uploadThroughput": -1})).await;
        link.set_online(true);
        agent.wait_message("visitor", "오프라인 2").await;
        v.wait_message("agent", "상담원 B").await;
        v.b.wait_js("every pending send acknowledged", "document.querySelectorAll('#consult .log > li.pending').length === 0").await;

        // Each side: every message once, in one order, and the same order on both sides.
        let wanted = ["연결 전 첫 메시지", "상담원 연결되었습니다", "오프라인 1", "오프라인 2", "상담원 A", "상담원 B"];
        let keep = |m: &Shown| wanted.iter().any(|w| m.text == *w);
        let visitor = texts(&v.messages().await, keep);
        let desk = texts(&agent.pane().await.messages, keep);
        for w in wanted {
            assert_eq!(visitor.iter().filter(|t| *t == w).count(), 1, "visitor shows {w:?} once: {visitor:?}");
            assert_eq!(desk.iter().filter(|t| *t == w).count(), 1, "desk shows {w:?} once: {desk:?}");
        }
        assert_eq!(visitor, desk, "both sides show the same order");
        let pos = |w: &str| visitor.iter().position(|t| t == w).unwrap();
        assert!(pos("오프라인 1") < pos("오프라인 2") && pos("상담원 A") < pos("상담원 B"), "each side's own order kept: {visitor:?}");
        // The visitor's log is in sequence order (data-seq ascending).
        let seqs = v.b.js("return [...document.querySelectorAll('#consult .log > li[data-seq]')].map(li => +li.dataset.seq)", vec![]).await;
        let seqs: Vec<u64> = serde_json::from_value(seqs).unwrap();
        assert!(seqs.windows(2).all(|w| w[0] < w[1]), "visitor log in seq order: {seqs:?}");
    });
}
