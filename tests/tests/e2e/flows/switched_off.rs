//! Flow 12: the channel switched off (`CONSULT_DEMO_ENABLED=false`): every button hides (the
//! floating launcher button, `[data-consult-entry]` elements, `<consult-button>` elements) and a
//! direct full-page launch is refused with the stable code `channel_disabled`; the printed
//! poster's page has no code to print.

use consult_e2e::{Device, Visitor, run_with_env};
use serde_json::json;

/// Everything a visitor could press, and whether each is hidden (no box on screen).
const BUTTONS: &str = "(() => {
    const gone = el => el.hidden || el.getClientRects().length === 0 || getComputedStyle(el).display === 'none';
    const fab = document.querySelector('consult-launcher').shadowRoot.querySelector('.fab');
    const entries = [...document.querySelectorAll('[data-consult-entry]')];
    const tags = [...document.querySelectorAll('consult-button')];
    return { fab: gone(fab), entries: entries.length, entries_hidden: entries.filter(gone).length, tags: tags.length, tags_hidden: tags.filter(gone).length };
})()";

#[test]
fn switched_off_channel_hides_every_button_and_refuses_launches() {
    run_with_env("flow12-switched-off", &[("CONSULT_DEMO_ENABLED", "false")], |t| async move {
        let v = Visitor::on(t.browser("visitor", Device::Desktop).await, &t.demo.site);
        for (page, entries, tags) in [("/product.html", 0, 1), ("/orders.html", 3, 0), ("/index.html", 1, 0)] {
            v.open_page(page).await;
            let all_hidden = format!("(() => {{ const s = {BUTTONS}; return s.fab && s.entries_hidden === s.entries && s.tags_hidden === s.tags && s; }})()");
            let seen = v.b.wait_js(&format!("every consult button on {page} to hide"), &all_hidden).await;
            assert_eq!(seen["entries"], json!(entries), "{page}: the page has its [data-consult-entry] buttons: {seen}");
            assert_eq!(seen["tags"], json!(tags), "{page}: the page has its <consult-button> elements: {seen}");
            v.b.snap(&format!("switched-off-{}", page.trim_start_matches('/').trim_end_matches(".html"))).await;
        }

        // The poster page offers no code to print while the service is off.
        v.b.goto(&format!("{}/poster.html", t.demo.site)).await;
        v.b.wait_js("the poster page to say the service is off", "document.documentElement.dataset.poster === 'off'").await;
        let poster = v.b.js("return { code: !document.querySelector('.code').hidden, print: !document.getElementById('print').hidden, qr: !!document.getElementById('poster-qr').getAttribute('src'), note: (document.querySelector('.paused') || {}).textContent || '' }", vec![]).await;
        assert_eq!((&poster["code"], &poster["print"], &poster["qr"]), (&json!(false), &json!(false), &json!(false)), "no code while off: {poster}");
        assert!(poster["note"].as_str().unwrap_or_default().contains("switched off"), "{poster}");

        // A direct full-page launch (a shared link) is refused, in the visitor's language.
        let direct = Visitor::on(t.browser("direct", Device::Desktop).await, &t.demo.site);
        direct.b.goto(&format!("{}/l/demo-shop", t.demo.gateway)).await;
        direct.wait_ready().await;
        direct
            .b
            .wait_js(
                "the full-page launch to be refused with channel_disabled",
                "(() => { const b = document.querySelector('#consult .banner'); return !b.hidden && b.dataset.code === 'channel_disabled' && b.textContent.includes('지금은 상담을 운영하지 않아요'); })()",
            )
            .await;
        let shown = direct.messages().await;
        assert!(!shown.iter().any(|m| m.class.contains("mine")), "nothing was sent: {shown:?}");
    });
}
