//! The launcher's public API on a real page (issue 4, for the web developer): booting twice makes
//! one widget, `open` with a prefilled message, `close`, and the events `ready`, `open`, `close`,
//! `message` and `unread` with the launcher's unread badge.

use consult_e2e::{Device, run};
use serde_json::json;

const PREFILL: &str = "배송은 언제 출발하나요?";
const REPLY: &str = "내일 오전에 출발합니다";

#[test]
fn launcher_boots_once_opens_with_prefill_and_reports_events() {
    run("launcher-api", None, |t| async move {
        let agent = t.agent("mina", "mina-demo").await;
        let v = t.visitor_on("visitor", Device::Desktop, "/product.html").await;
        v.b.js(
            "window.__events = [];
             ['ready', 'open', 'close', 'message', 'unread', 'error'].forEach(n => Consult('on', n, e => window.__events.push([n, e])));
             return true",
            vec![],
        )
        .await;

        // Booting again, and loading the script a second time, never makes a second widget.
        v.b.js(
            "Consult('boot', {channel: 'demo-shop'});
             const s = document.createElement('script');
             s.src = document.querySelector('script[src*=\"consult.js\"]').src;
             s.onload = () => { window.__secondLoaded = true; };
             document.body.appendChild(s);
             return true",
            vec![],
        )
        .await;
        v.b.wait_js("the second copy of consult.js to load", "window.__secondLoaded === true").await;
        let widgets = v.b.js("return [document.querySelectorAll('consult-launcher').length, document.querySelector('consult-launcher').shadowRoot.querySelectorAll('.fab').length]", vec![]).await;
        assert_eq!(widgets, json!([1, 1]), "one launcher, one floating button");

        // `open` with a prefilled message: the panel opens with the text in the composer.
        v.b.js("Consult('open', arguments[0]); return true", vec![json!(PREFILL)]).await;
        v.enter_chat().await;
        v.b.wait_js("the prefilled composer", &format!("document.querySelector('#consult textarea.input').value === {}", json!(PREFILL))).await;
        v.b.find("#consult button.send").await.click().await.expect("send the prefilled message");
        v.wait_message("mine", PREFILL).await;
        v.choose("agent").await;
        agent.open_chat("Visitor").await;
        agent.wait_message("visitor", PREFILL).await;

        // Closed panel: the agent's answer raises the unread badge and the events.
        v.b.top().await;
        v.b.js("Consult('close'); return true", vec![]).await;
        v.b.wait_js("the panel to close", "document.querySelector('consult-launcher').shadowRoot.querySelector('.panel').hidden").await;
        agent.reply(REPLY).await;
        v.b.wait_js(
            "the unread badge to show 1",
            "(() => { const b = document.querySelector('consult-launcher').shadowRoot.querySelector('.badge'); return b && !b.hidden && b.textContent === '1'; })()",
        )
        .await;
        let events = v
            .b
            .js(
                "const names = window.__events.map(e => e[0]);
                 return {
                   ready: names.filter(n => n === 'ready').length,
                   openBeforeClose: names.indexOf('open') >= 0 && names.indexOf('open') < names.indexOf('close'),
                   agentMessage: window.__events.some(([n, e]) => n === 'message' && e.body && e.body.text === arguments[0] && e.sender.role === 'agent'),
                   lastUnread: window.__events.filter(e => e[0] === 'unread').map(e => e[1].count).pop(),
                   errors: names.filter(n => n === 'error').length,
                 }",
                vec![json!(REPLY)],
            )
            .await;
        assert_eq!(
            events,
            json!({"ready": 1, "openBeforeClose": true, "agentMessage": true, "lastUnread": 1, "errors": 0}),
            "the page hears each event once, in order"
        );

        // Reopening shows the answer and clears the badge.
        v.b.js("Consult('open'); return true", vec![]).await;
        v.enter_chat().await;
        v.wait_message("agent", REPLY).await;
        v.b.top().await;
        v.b.wait_js("the badge to clear", "document.querySelector('consult-launcher').shadowRoot.querySelector('.badge').hidden").await;

        // A single-page app changes route: the widget is not reloaded and the chat carries on.
        v.b.js(
            "const frame = document.querySelector('consult-launcher').shadowRoot.querySelector('iframe');
             frame.__beforeRoute = true;
             window.__frameLoads = 0;
             frame.addEventListener('load', () => { window.__frameLoads++; });
             history.pushState({}, '', '/orders.html?from=spa');
             return true",
            vec![],
        )
        .await;
        v.b.js("Consult('close'); Consult('open'); return true", vec![]).await;
        let same = v.b.js(
            "const frame = document.querySelector('consult-launcher').shadowRoot.querySelector('iframe');
             return [location.pathname, frame.__beforeRoute === true, window.__frameLoads, document.querySelectorAll('consult-launcher').length]",
            vec![],
        ).await;
        assert_eq!(same, json!(["/orders.html", true, 0, 1]), "the route changed without reloading the widget");
        // The agent holding the chat sees, live, where the visitor is now: declared, unverified,
        // apart from the entry point the chat started on.
        agent
            .b
            .wait_js(
                "the desk to show the visitor now on /orders.html",
                "(() => { const n = document.querySelector('#entry .now-viewing');
                   return !!n && n.querySelector('.now-page').textContent === '/orders.html' && !!n.querySelector('.badge.declared'); })()",
            )
            .await;
        let pane = agent.pane().await;
        assert!(pane.entry.contains("Now viewing: /orders.html"), "{pane:?}");
        assert!(pane.entry.contains("/product.html"), "the entry point still says where the chat started: {pane:?}");
        v.enter_chat().await;
        v.wait_message("agent", REPLY).await;
        v.wait_message("mine", PREFILL).await;
    });
}
