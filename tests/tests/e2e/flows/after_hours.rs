//! Flow 11: outside business hours (`CONSULT_DEMO_HOURS=closed`, `after_hours = "wait"`) the
//! launcher button says so, the chat shows the after-hours note under the guidance, the visitor's
//! message gets the channel's after-hours reply and waits in the queue: the desk shows it waiting
//! and nobody is assigned while the channel is closed, even with agents online.

use std::time::{Duration, Instant};

use consult_e2e::{Browser, Device, Visitor, run_with_env};
use fantoccini::Locator;
use serde_json::json;

/// The demo channel's after-hours reply (gateway/src/demo.rs).
const REPLY: &str = "지금은 상담 시간이 아닙니다. 남겨 주시면 영업시간에 답변드립니다. · We are closed now; leave a message and we will answer when we open.";
/// The chat's own after-hours label (widget i18n, Korean browser).
const CLOSED_LABEL: &str = "운영 시간 외";
/// The visitor's status line while queued (widget i18n): with or without a position.
const QUEUED: [&str; 2] = ["대기 순서: 1번째", "상담사 연결을 기다리는 중이에요."];

/// Polls `expr` (truthy = still as it should be) for `span`: fails at the first falsy answer.
async fn holds(b: &Browser, what: &str, expr: &str, span: Duration) {
    let script = format!("try {{ return !!({expr}); }} catch (e) {{ return false; }}");
    let start = Instant::now();
    while start.elapsed() < span {
        let ok = b.js(&script, vec![]).await;
        assert_eq!(ok, json!(true), "[{}] {what} stopped holding after {:?}", b.name, start.elapsed());
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

const DESK_WAITING: &str = "document.getElementById('queue-count').textContent === '1' && document.getElementById('chats-count').textContent === '0' \
    && [...document.querySelectorAll('#queue > li')].some(li => li.textContent.includes('queued') && li.textContent.includes('선물 포장'))";

#[test]
fn after_hours_visitor_gets_the_reply_and_waits_in_the_queue() {
    run_with_env("flow11-after-hours", &[("CONSULT_DEMO_HOURS", "closed")], |t| async move {
        // An agent with the general skill is online: during hours the request would be hers at once.
        let mina = t.agent("mina", "mina-demo").await;
        let v = t.visitor_on("visitor", Device::Desktop, "/product.html").await;

        // The floating button says it on its face, not only in a tooltip.
        let fab = v
            .b
            .wait_js(
                "the launcher button's after-hours label",
                "(() => { const f = document.querySelector('consult-launcher').shadowRoot.querySelector('.fab'); const sub = f.querySelector('.sub');
                   return !f.hidden && f.classList.contains('after-hours') && !sub.hidden && sub.getClientRects().length > 0 && f.getClientRects().length > 0
                     && { sub: sub.textContent, title: f.title }; })()",
            )
            .await;
        assert_eq!(fab["sub"], json!(CLOSED_LABEL), "the button's after-hours label: {fab}");
        assert_eq!(fab["title"], json!(REPLY), "the button's tooltip carries the channel's after-hours message: {fab}");

        // The visitor presses that button: a real click on the launcher's own button.
        let host = v.b.find("consult-launcher").await;
        let root = host.shadow_root().await.expect("launcher shadow root");
        root.find(Locator::Css(".fab")).await.expect("launcher button").click().await.expect("click the launcher button");
        v.enter_chat().await;

        // Guidance first, the after-hours note right under it, before the visitor writes anything.
        v.b.wait_js("the after-hours note", "document.querySelector('#consult .log > li.after-hours')").await;
        let shown: Vec<_> = v.messages().await.into_iter().filter(|m| !m.class.contains("welcome")).collect();
        assert_eq!(shown.len(), 2, "before the visitor writes: guidance and after-hours note only (besides the channel's welcome): {shown:?}");
        assert!(shown[0].class.contains("guidance") && shown[0].text.contains("90일"), "the guidance first: {shown:?}");
        assert!(shown[1].class.contains("after-hours"), "the after-hours note second: {shown:?}");
        assert!(
            shown[1].text.starts_with(&format!("{CLOSED_LABEL}\n{REPLY}\n다음 상담 시작: ")) && shown[1].text.ends_with(":00") && shown[1].text.contains("일 "),
            "the note: the label, the channel's message, then when it opens (09:00 tomorrow in Seoul, shown in the browser's time zone): {:?}",
            shown[1].text
        );

        // The visitor writes; the channel's after-hours reply follows, and no bot menu (closed).
        v.send("선물 포장도 되나요? 내일 아침에 답 주세요").await;
        v.wait_message("mine", "선물 포장도 되나요?").await;
        v.wait_message("system", REPLY).await;
        let shown = v.messages().await;
        let mine = shown.iter().position(|m| m.class.contains("mine")).expect("my message shown");
        let reply = shown.iter().rposition(|m| m.class.contains("system") && m.text.starts_with(REPLY)).expect("after-hours reply shown");
        assert!(shown[reply].text.contains("다음 상담 시작") && shown[reply].text.contains("09:00"), "the reply says when the service opens: {:?}", shown[reply]);
        assert!(mine < reply, "the reply answers the message: {shown:?}");
        assert!(!shown.iter().any(|m| m.class.contains("bot")), "no bot menu after hours (the request goes to the queue): {shown:?}");
        assert_eq!(shown.iter().filter(|m| m.text.contains(REPLY)).count(), 1, "the closed notice once: the stored reply replaced the note: {shown:?}");
        let status = v.b.wait_js("the chat to say it is waiting in the queue", &format!("{}.includes(document.querySelector('#consult .status').textContent) && document.querySelector('#consult .status').textContent", json!(QUEUED))).await;
        assert!(QUEUED.contains(&status.as_str().unwrap_or_default()), "queued status: {status}");

        // The desk: the request waits in the queue, with the visitor's words; nobody has it.
        mina.b.wait_js("the request waiting in the queue", DESK_WAITING).await;

        // No auto-assignment while closed: another agent coming online (which routes the queue)
        // changes nothing, and it stays so.
        let joon = t.agent("joon", "joon-demo").await;
        joon.b.wait_js("the request waiting on a second desk", DESK_WAITING).await;
        let visitor_waiting = format!("{}.includes(document.querySelector('#consult .status').textContent)", json!(QUEUED));
        for (b, what, expr) in [(&mina.b, "the desk showing it waiting", DESK_WAITING), (&joon.b, "the desk showing it waiting", DESK_WAITING), (&v.b, "the visitor waiting", visitor_waiting.as_str())] {
            holds(b, what, expr, Duration::from_secs(2)).await;
        }
        let still = Visitor::on(v.b.clone(), &t.demo.site).messages().await;
        assert!(!still.iter().any(|m| m.class.contains("agent")), "no agent joined or wrote: {still:?}");
        mina.b.snap("after-hours-desk").await;
        v.b.snap("after-hours-panel").await;
    });
}
