//! Bot menu, routing by skill and load, manual take, transfer, queue position, business hours.

use consult_sdk::protocol::{AgentCommand, AgentEvent, Body, Sender, SessionState, VisitorCommand, VisitorEvent};

use crate::common::*;

#[tokio::test]
async fn bot_menu_answers_then_queues_with_the_category_for_the_skilled_agent() {
    let s = Server::start().await;
    let mut a1 = s.agent("a1", "pw1").await;
    let mut a2 = s.agent("a2", "pw2").await;
    a1.available().await;
    a2.available().await;
    let (handle, _) = s.anon("botshop").await;
    let mut v = s.visitor(&handle, 0).await;
    v.say("hi", "hello").await;
    let menu = v.until(|e| match e {
        VisitorEvent::Message { message } if message.sender == Sender::Bot => Some(message.body.clone()),
        _ => None,
    })
    .await;
    let Body::Menu { options, .. } = menu else { panic!("{menu:?}") };
    assert_eq!(options.iter().map(|o| o.id.as_str()).collect::<Vec<_>>(), ["faq", "refund", "track"]);
    assert_eq!(options[2].url.as_deref(), Some("https://shop.test/track"));

    v.cmd(&VisitorCommand::Choose { client_id: "c1".into(), option: "faq".into() }).await;
    let answer = v.until(|e| match e {
        VisitorEvent::Message { message } if message.sender == Sender::Bot && matches!(message.body, Body::Text { .. }) => {
            Some(message.body.clone())
        }
        _ => None,
    })
    .await;
    assert_eq!(answer, Body::Text { text: "Two days.".into() });

    v.cmd(&VisitorCommand::Choose { client_id: "c2".into(), option: "refund".into() }).await;
    // a2 has the refunds skill; a1 (less loaded, but without it) must not get it.
    let session = a2.assigned("a2").await;
    assert_eq!(session.category.as_deref(), Some("refunds"));
    let agent_name = v.until(|e| match e {
        VisitorEvent::State { state: SessionState::Assigned, agent_name, .. } => agent_name.clone(),
        _ => None,
    })
    .await;
    assert_eq!(agent_name, "Agent Two");
    v.cmd(&VisitorCommand::Choose { client_id: "c3".into(), option: "nope".into() }).await;
    let code = v.error_code().await;
    assert_eq!(code, "bad_request");
}

#[tokio::test]
async fn max_chats_queue_position_manual_take_and_transfer() {
    let s = Server::start().await;
    let mut a1 = s.agent("a1", "pw1").await;
    a1.available().await;
    // a1 takes at most 2 chats.
    let mut visitors = Vec::new();
    let mut positions = Vec::new();
    for i in 0..3 {
        let (handle, _) = s.anon("shop").await;
        let mut v = s.visitor(&handle, 0).await;
        v.say("hi", &format!("visitor {i}")).await;
        let mut last_state = None;
        // The state events come before the ack.
        loop {
            match v.next().await.expect("visitor events") {
                VisitorEvent::State { state, queue_position, .. } => last_state = Some((state, queue_position)),
                VisitorEvent::Ack { .. } => break,
                _ => {}
            }
        }
        positions.push(last_state.unwrap());
        visitors.push(v);
    }
    let first = a1.assigned("a1").await;
    let _second = a1.assigned("a1").await;
    assert_eq!(positions[0].0, SessionState::Assigned);
    assert_eq!(positions[1].0, SessionState::Assigned);
    assert_eq!(positions[2], (SessionState::Queued, Some(1)), "a1 is full at two chats");

    // Manual take by the supervisor.
    let mut sup = s.agent("sup", "pw3").await;
    let queued = sup
        .until(|e| match e {
            AgentEvent::Welcome { queue, .. } => Some(queue.clone()),
            _ => None,
        })
        .await;
    assert_eq!(queued.len(), 1);
    sup.cmd(&AgentCommand::Take { session: queued[0].id.clone() }).await;
    let taken = sup.assigned("sup").await;
    assert_eq!(taken.id, queued[0].id);
    // A second take of the same session fails: it is no longer queued.
    a1.cmd(&AgentCommand::Take { session: queued[0].id.clone() }).await;
    let code = a1.error_code().await;
    assert_eq!(code, "agent_full", "a1 is at max_chats");

    // Transfer: sup is full (max 1), a2 does not work... a2 works every channel; transfer a1's first chat to a2.
    let mut a2 = s.agent("a2", "pw2").await;
    a1.cmd(&AgentCommand::Transfer { session: first.id.clone(), to_agent: "a2".into() }).await;
    let moved = a2.assigned("a2").await;
    assert_eq!(moved.id, first.id);
    let name = visitors[0]
        .until(|e| match e {
            VisitorEvent::State { state: SessionState::Assigned, agent_name, .. } if agent_name.as_deref() == Some("Agent Two") => {
                agent_name.clone()
            }
            _ => None,
        })
        .await;
    assert_eq!(name, "Agent Two");
    // The old agent can no longer write there; the new one can.
    a1.say(&first.id, "old", "me again").await;
    let code = a1.until(|e| match e {
        AgentEvent::Error { code, client_id: Some(c), .. } if c == "old" => Some(code.clone()),
        _ => None,
    })
    .await;
    assert_eq!(code, "not_assigned");
    a2.say(&first.id, "new", "hello from two").await;
    a2.until(|e| matches!(e, AgentEvent::Ack { client_id, .. } if client_id == "new").then_some(())).await;
    // Transfer to a full agent is refused.
    a2.cmd(&AgentCommand::Transfer { session: first.id.clone(), to_agent: "sup".into() }).await;
    let code = a2.error_code().await;
    assert_eq!(code, "agent_full");
}

#[tokio::test]
async fn after_hours_replies_and_waits_without_assigning() {
    let s = Server::start().await;
    let mut a1 = s.agent("a1", "pw1").await;
    a1.available().await;
    let (handle, _) = s.anon("night-wait").await;
    let mut v = s.visitor(&handle, 0).await;
    v.say("hi", "anyone?").await;
    let reply = v.until(|e| match e {
        VisitorEvent::Message { message } if message.sender == Sender::System => Some(message.body.clone()),
        _ => None,
    })
    .await;
    let Body::Text { text } = reply else { panic!("a text reply: {reply:?}") };
    assert!(
        text.starts_with("We are closed; we will answer tomorrow.\n다음 상담 시작: ") && text.ends_with(" 10:00 (UTC)"),
        "the channel's message, then when it opens (tomorrow 10:00 UTC): {text:?}"
    );
    let state = v.until(|e| match e {
        VisitorEvent::State { state, .. } => Some(*state),
        _ => None,
    })
    .await;
    assert_eq!(state, SessionState::Queued);
    let assigned = tokio::time::timeout(std::time::Duration::from_millis(1500), a1.assigned("a1")).await;
    assert!(assigned.is_err(), "nothing is auto-assigned while closed");
}
