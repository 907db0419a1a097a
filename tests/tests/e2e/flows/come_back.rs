//! Flow 2: bot menu → FAQ answer → "talk to an agent" → assigned → chat both ways → the visitor goes
//! quiet → the session closes → the agent can't write → the visitor writes again → a new session
//! with the same user_key, the earlier one visible to the agent.

use consult_e2e::{Device, run};
use serde_json::json;

/// Short inactivity so "goes quiet" takes seconds (every step below is well inside it).
const INACTIVITY_SECS: u64 = 6;

#[test]
fn bot_then_agent_then_inactivity_close_then_recognised_next_time() {
    run("flow2-bot-close-return", Some(INACTIVITY_SECS), |t| async move {
        let agent = t.agent("mina", "mina-demo").await;
        let v = t.visitor_on("visitor", Device::Desktop, "/").await;

        // The campaign banner's button, carrying the token the shop signed for it (an anonymous visit).
        v.click("[data-consult-entry=spring-banner]").await;
        v.enter_chat().await;
        v.send("배송 관련 문의요").await;

        // Bot first: the menu, a FAQ answer, the menu again, then a person.
        v.choose("delivery-time").await;
        v.wait_message("bot", "1~2일").await;
        v.choose("agent").await;
        v.b.wait_js("the agent's name in the header", "document.querySelector('#consult .status').textContent.includes('Mina')").await;

        agent.open_chat("Visitor").await;
        let first = agent.pane().await;
        assert!(first.messages.iter().any(|m| m.text.contains("1~2일")), "the desk sees the bot's FAQ answer: {:?}", first.messages);
        assert!(first.entry.contains("spring-banner") && first.entry.contains("verified") && !first.entry.contains("differs from signed"), "the banner's entry point, signed by the shop for that button: {:?}", first.entry);
        let first_key = agent.b.js("return desk.chats.get(desk.active).user_key", vec![]).await;

        // Both ways.
        agent.reply("내일 도착 예정입니다").await;
        v.wait_message("agent", "내일 도착 예정입니다").await;
        v.send("감사합니다").await;
        agent.wait_message("visitor", "감사합니다").await;

        // The visitor goes quiet: warned first, then the gateway closes the session; both sides say so.
        v.b.wait_js("the inactivity warning", "document.querySelector('#consult .banner:not([hidden])') && document.querySelector('#consult .banner').textContent.includes('곧 상담이 종료돼요')").await;
        v.b.snap("inactivity-warning").await;
        v.b.wait_js("the chat-ended banner", "document.querySelector('#consult .banner:not([hidden])') && document.querySelector('#consult .banner').textContent.includes('종료되었어요')").await;
        v.b.snap("inactivity-closed").await;
        agent.b.wait_js("the desk to mark the chat closed", "document.getElementById('pane-sub').dataset.state === 'closed'").await;
        assert!(agent.pane().await.reply_disabled, "the reply box is disabled on a closed chat");

        // Even forcing the desk's reply box open, the gateway refuses the agent's message.
        agent.b.js("document.getElementById('reply-text').disabled = false; document.querySelector('#reply button[type=submit]').disabled = false; return true", vec![]).await;
        agent.reply("닫힌 상담에 보내는 메시지").await;
        agent.b.wait_js("the desk to show the refusal", "document.getElementById('reply-error').textContent").await;
        assert!(!agent.pane().await.messages.iter().any(|m| m.text.contains("닫힌 상담") && !m.class.contains("pending")), "no agent message is stored in a closed session");
        assert!(!v.messages().await.iter().any(|m| m.text.contains("닫힌 상담")), "the visitor never receives it");

        // The visitor writes again: a new session, the same visitor.
        v.send("하나 더 물어볼게요").await;
        v.choose("agent").await;
        agent.b.wait_js("a second chat in My chats", "[...document.querySelectorAll('#chats > li')].length === 1 && desk.active !== null").await;
        agent.open_chat("Visitor").await;
        agent.wait_message("visitor", "하나 더 물어볼게요").await;
        let second_key = agent.b.js("return desk.chats.get(desk.active).user_key", vec![]).await;
        assert_eq!(first_key, second_key, "same user_key for the returning visitor");
        assert_ne!(first_key, json!(null));
        let pane = agent.pane().await;
        assert_eq!(pane.title, first.title, "the desk names the visitor the same way");
        assert!(!pane.messages.iter().any(|m| m.text.contains("감사합니다")), "the new session starts fresh: {:?}", pane.messages);
        agent.b.wait_js("the earlier session in the history box", "document.querySelectorAll('#history > li.item').length >= 1").await;
    });
}
