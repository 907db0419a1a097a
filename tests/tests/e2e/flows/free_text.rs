//! Free text during the bot is never a dead end: a question the FAQ knows is answered at once
//! (a supervisor sees the chat while it is still with the bot); one it doesn't know reaches a
//! person without the visitor having to find the "talk to an agent" button.

use consult_e2e::{Device, run};

#[test]
fn typed_questions_get_an_faq_answer_or_reach_an_agent() {
    run("flow-free-text", None, |t| async move {
        let agent = t.agent("mina", "mina-demo").await;
        let sup = t.agent("sora", "sora-demo").await;
        // Only Mina takes chats automatically, so the one that reaches a person lands on her desk.
        sup.b.js("const a = document.getElementById('available'); a.checked = false; a.dispatchEvent(new Event('change')); return true", vec![]).await;

        let v = t.visitor_on("visitor", Device::Desktop, "/").await;
        v.click("[data-consult-entry=spring-banner]").await;
        v.enter_chat().await;

        // A question the FAQ knows (keyword "배송"): answered by the bot, with the menu after it.
        v.send("배송은 보통 며칠 걸려요?").await;
        v.wait_message("bot", "1~2일").await;
        v.b.wait_js("the menu after the answer", "document.querySelector('#consult .log > li:last-of-type [data-option=agent]')").await;

        // Nobody's desk has the chat yet, but the supervisor sees it with the bot.
        sup.b.wait_js("the chat under 'with the bot'", "[...document.querySelectorAll('#with-bot > li')].some(li => li.textContent.includes('며칠 걸려요'))").await;
        let desk = agent.b.js("return document.querySelectorAll('#queue > li, #chats > li').length", vec![]).await;
        assert_eq!(desk, 0, "an answered FAQ question queues nothing");

        // A question it doesn't know: typed, not tapped, and it reaches a person.
        v.send("선물 포장도 해 주시나요? 3개요").await;
        v.wait_message("bot", "상담원에게 연결").await;
        agent.open_chat("Visitor").await;
        agent.wait_message("visitor", "선물 포장도").await;
        let pane = agent.pane().await;
        assert!(pane.messages.iter().any(|m| m.text.contains("며칠 걸려요")), "the desk sees what the bot already answered: {:?}", pane.messages);
        assert!(!pane.reply_disabled, "the agent can answer");
        sup.b.wait_js("the chat to leave 'with the bot'", "document.querySelectorAll('#with-bot > li').length === 0").await;

        agent.reply("네, 가능합니다").await;
        v.wait_message("agent", "네, 가능합니다").await;
    });
}
