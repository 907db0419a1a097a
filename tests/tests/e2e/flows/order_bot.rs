//! The example integration answers the chat (issue 13): on the orders page, a visitor's question
//! about order 1234 is answered by `examples/order-bot/order_bot.py`, which `consult demo` runs
//! beside the gateway — a signed `message.created` webhook in, a bot reply through the Counsel
//! REST API out — with no agent and no built-in menu involved. Asking for a person makes the
//! example hand the chat to the `orders` agents, and the agent sees what the bot said.

use consult_e2e::{Device, run};
use serde_json::json;

const ANSWER: &str = "Order 1234 is shipped; it arrives tomorrow. Type 'agent' to talk to our orders team.";

#[test]
fn the_example_integration_answers_an_order_question_and_hands_over_to_orders() {
    run("flow-order-bot", None, |t| async move {
        // Without python3 the demo skips the example; this flow then fails, it never passes silently.
        let started = t.demo.printed("the demo's order bot line", |l| l.trim_start().starts_with("order bot").then(|| l.trim().to_string())).await;
        assert!(!started.contains("skipped"), "the example integration did not start ({started:?}): this flow needs python3 on PATH");
        t.demo.printed("the example to listen", |l| l.starts_with("order-bot: listening on").then_some(())).await;

        let mina = t.agent("mina", "mina-demo").await; // skills: orders, delivery, general
        let joon = t.agent("joon", "joon-demo").await; // skills: refunds, general
        let desk_count = "return document.querySelectorAll('#queue > li, #chats > li').length";

        let v = t.visitor_on("visitor", Device::Desktop, "/orders.html").await;
        v.click("[data-consult-order='ORD-24-0917']").await;
        v.enter_chat().await;
        v.send("Where is my order 1234?").await;
        v.wait_message("bot", ANSWER).await;

        // Only the example spoke: no menu, no other bot line, and no desk has the chat.
        let shown = v.messages().await;
        let bot: Vec<&str> = shown.iter().filter(|m| m.class.split_whitespace().any(|c| c == "bot")).map(|m| m.text.trim()).collect();
        assert_eq!(bot, [ANSWER], "{shown:?}");
        assert_eq!(v.b.js("return document.querySelectorAll('#consult [data-option]').length", vec![]).await, json!(0), "the built-in menu stayed out");
        for desk in [&mina, &joon] {
            assert_eq!(desk.b.js(desk_count, vec![]).await, json!(0), "no agent is involved yet");
        }

        // The Counsel API says the same: the session, opened from the order's signed button, is
        // with the bot and nobody else; the answer came in through POST …/messages with the
        // example's client id (`order-bot-<webhook id>`), and the example logged a 200 for it.
        let sessions = t.demo.counsel_get("/v1/counsel/sessions?state=bot").await;
        let list = sessions["sessions"].as_array().unwrap_or_else(|| panic!("{sessions}"));
        assert_eq!(list.len(), 1, "{sessions}");
        let session = &list[0];
        assert_eq!((session["entry"]["verified"]["button"].as_str(), session["agent"].as_str()), (Some("order-detail"), None), "{session}");
        let id = session["id"].as_str().expect("session id").to_string();
        let page = t.demo.counsel_get(&format!("/v1/counsel/sessions/{id}/messages?after=0")).await;
        let messages = page["messages"].as_array().unwrap_or_else(|| panic!("{page}"));
        let senders: Vec<&str> = messages.iter().filter_map(|m| m["sender"]["role"].as_str()).collect();
        assert_eq!(senders, ["visitor", "bot"], "{page}");
        assert!(messages[1]["client_id"].as_str().is_some_and(|c| c.starts_with("order-bot-")), "the example's REST reply: {page}");
        t.demo.printed("the example's log of its answer", |l| (l == format!("order-bot: {id} order 1234 -> 200")).then_some(())).await;

        // Asking for a person: the example hands over to `orders`; Mina has that skill, Joon not.
        v.send("Can I talk to a person, please?").await;
        v.wait_message("bot", "Connecting you to our orders team").await;
        t.demo.printed("the example's log of its handover", |l| (l == format!("order-bot: {id} handover -> 200")).then_some(())).await;
        mina.open_chat("Visitor").await;
        mina.wait_message("visitor", "talk to a person").await;
        let pane = mina.pane().await;
        assert!(pane.messages.iter().any(|m| m.class.contains("bot") && m.text.contains("Order 1234 is shipped")), "the agent sees what the bot said: {:?}", pane.messages);
        assert!(pane.entry.contains("order-detail"), "{}", pane.entry);
        assert!(!pane.reply_disabled, "the agent can answer");
        assert_eq!(joon.b.js(desk_count, vec![]).await, json!(0), "an agent without the orders skill gets nothing");
        let detail = t.demo.counsel_get(&format!("/v1/counsel/sessions/{id}")).await;
        let s = &detail["session"];
        assert_eq!((s["state"].as_str(), s["agent"].as_str(), s["category"].as_str()), (Some("assigned"), Some("mina"), Some("orders")), "{detail}");

        mina.reply("Hi, Mina from the orders team here.").await;
        v.wait_message("agent", "Mina from the orders team").await;
    });
}
