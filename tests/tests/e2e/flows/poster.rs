//! Flow 4: the printed A4 poster. Its QR code, decoded from a screenshot, opens a chat on a phone
//! whose entry point on the desk is the store counter (printed, signed).

use consult_e2e::{Device, Visitor, run};

#[test]
fn printed_poster_starts_a_store_counter_chat() {
    run("flow4-poster", None, |t| async move {
        // The shop prints the poster.
        let printer = t.browser("poster", Device::Desktop).await;
        printer.goto(&format!("{}/poster.html", t.demo.site)).await;
        printer
            .wait_js("the poster's QR code", "document.documentElement.dataset.poster === 'ready' && document.getElementById('poster-qr').complete && document.getElementById('poster-qr').naturalWidth > 0")
            .await;
        let url = printer.decode_qr("#poster-qr").await;
        let gateway = &t.demo.gateway;
        assert!(url.to_ascii_lowercase().starts_with(&format!("{gateway}/p/")), "printed code on the gateway's /P/ route: {url}");
        let host = gateway.trim_start_matches("http://");
        let printed = printer.js("return document.getElementById('poster-domain').textContent", vec![]).await;
        assert_eq!(printed, host, "the gateway's domain is printed beside the code");
        let size = printer.js("return [...document.styleSheets].flatMap(s => [...s.cssRules]).filter(r => r instanceof CSSPageRule).map(r => r.style.size).join()", vec![]).await;
        assert_eq!(size.as_str().map(str::to_ascii_lowercase).as_deref(), Some("a4"), "the poster prints on A4");

        let agent = t.agent("mina", "mina-demo").await;

        // A customer at the counter scans it.
        let phone = Visitor::on(t.browser("phone", Device::Phone).await, &t.demo.site);
        phone.b.goto(&url).await;
        phone.wait_ready().await;
        phone.b.wait_js("the guidance message", "document.querySelector('#consult .log > li.guidance')").await;
        phone.send("매장에 재고 있나요?").await;
        phone.choose("agent").await;

        agent.open_chat("Visitor").await;
        agent.wait_message("visitor", "매장에 재고 있나요?").await;
        phone.b.snap("chat").await;
        let pane = agent.pane().await;
        assert!(pane.entry.contains("printed"), "the desk shows the chat came from a printed code: {:?}", pane.entry);
        assert!(pane.entry.contains("store-counter") && pane.entry.contains("verified"), "entry point store-counter, verified: {:?}", pane.entry);
    });
}
