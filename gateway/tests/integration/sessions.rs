//! Visitor speaks first, closing, delivery (acks, idempotency, resume), recognition.

use consult_sdk::protocol::{AgentCommand, AgentEvent, Body, CloseReason, LaunchRequest, SessionState, VisitorCommand, VisitorEvent};

use crate::common::*;

fn seq_of_ack(e: &VisitorEvent, id: &str) -> Option<u64> {
    match e {
        VisitorEvent::Ack { client_id, seq } if client_id == id => Some(*seq),
        _ => None,
    }
}

#[tokio::test]
async fn visitor_speaks_first_and_agents_cannot_write_after_close() {
    let s = Server::start().await;
    let mut a1 = s.agent("a1", "pw1").await;
    a1.available().await;
    let (handle, _) = s.anon("shop").await;
    let mut v = s.visitor(&handle, 0).await;
    let welcome = v.next().await.unwrap();
    assert!(matches!(welcome, VisitorEvent::Welcome { state: SessionState::Waiting, last_seq: 0, .. }), "{welcome:?}");
    // Nothing is queued before the visitor writes.
    let queued_early = tokio::time::timeout(std::time::Duration::from_millis(300), a1.assigned("a1")).await;
    assert!(queued_early.is_err(), "an agent got a session before the visitor wrote");

    v.say("v1", "안녕하세요").await;
    let seq = v.until(|e| seq_of_ack(e, "v1")).await;
    assert_eq!(seq, 1);
    let session = a1.assigned("a1").await;
    a1.say(&session.id, "g1", "무엇을 도와드릴까요?").await;
    a1.until(|e| matches!(e, AgentEvent::Ack { client_id, .. } if client_id == "g1").then_some(())).await;
    let text = v.until(|e| match e {
        VisitorEvent::Message { message } if matches!(message.sender, consult_sdk::protocol::Sender::Agent { .. }) => Some(message.body.clone()),
        _ => None,
    })
    .await;
    assert_eq!(text, Body::Text { text: "무엇을 도와드릴까요?".into() });

    a1.cmd(&AgentCommand::Close { session: session.id.clone(), to_bot: false }).await;
    let reason = v.until(|e| match e {
        VisitorEvent::State { state: SessionState::Closed, reason, .. } => Some(*reason),
        _ => None,
    })
    .await;
    assert_eq!(reason, Some(CloseReason::AgentClosed));
    a1.say(&session.id, "g2", "late").await;
    let code = a1.until(|e| match e {
        AgentEvent::Error { code, client_id: Some(c), .. } if c == "g2" => Some(code.clone()),
        _ => None,
    })
    .await;
    assert_eq!(code, "session_not_open");

    // The visitor writes again: a new session in the same conversation, with history visible.
    v.say("v2", "one more thing").await;
    v.until(|e| seq_of_ack(e, "v2")).await;
    let second = a1.assigned("a1").await;
    assert_ne!(second.id, session.id);
    assert_eq!(second.user_key, session.user_key);
    assert_eq!(second.earlier_sessions, 1);
    a1.cmd(&AgentCommand::History { user_key: second.user_key.clone() }).await;
    let ids = a1
        .until(|e| match e {
            AgentEvent::History { sessions, .. } => Some(sessions.iter().map(|s| s.id.clone()).collect::<Vec<_>>()),
            _ => None,
        })
        .await;
    assert_eq!(ids, vec![second.id.clone(), session.id.clone()]);
}

#[tokio::test]
async fn no_agent_message_lands_after_a_racing_close() {
    let s = Server::start().await;
    let mut a1 = s.agent("a1", "pw1").await;
    a1.available().await;
    for round in 0..8 {
        let (handle, _) = s.anon("shop").await;
        let mut v = s.visitor(&handle, 0).await;
        v.say("open", "hi").await;
        let session = a1.assigned("a1").await;
        // Fire agent sends and the visitor's leave at the same time.
        for i in 0..40 {
            a1.say(&session.id, &format!("r{round}-{i}"), "racing").await;
            if i == 10 {
                v.cmd(&VisitorCommand::Leave).await;
            }
        }
        let mut acked = 0;
        let mut refused = 0;
        while acked + refused < 40 {
            match a1.next().await.expect("agent socket") {
                AgentEvent::Ack { client_id, .. } if client_id.starts_with(&format!("r{round}-")) => acked += 1,
                AgentEvent::Error { code, client_id: Some(c), .. } if c.starts_with(&format!("r{round}-")) => {
                    assert_eq!(code, "session_not_open");
                    refused += 1;
                }
                _ => {}
            }
        }
        assert!(refused > 0, "the close never won the race");
        // Read back everything stored: the close notice is the last message, no agent text after it.
        let mut check = s.visitor(&handle, 0).await;
        let events = check.drain(400).await;
        let messages: Vec<_> = events
            .iter()
            .filter_map(|e| match e {
                VisitorEvent::Message { message } => Some(message.clone()),
                _ => None,
            })
            .collect();
        let last = messages.last().unwrap();
        assert_eq!(last.sender, consult_sdk::protocol::Sender::System, "{last:?}");
        let agent_count = messages.iter().filter(|m| matches!(m.sender, consult_sdk::protocol::Sender::Agent { .. })).count();
        assert_eq!(agent_count, acked, "every ack is stored exactly once and nothing else");
        let seqs: Vec<u64> = messages.iter().map(|m| m.seq).collect();
        assert_eq!(seqs, (1..=seqs.len() as u64).collect::<Vec<_>>(), "gap-free");
    }
}

#[tokio::test]
async fn retries_are_idempotent_and_resume_fills_the_gap() {
    let s = Server::start().await;
    let (handle, _) = s.anon("shop").await;
    let mut v = s.visitor(&handle, 0).await;
    v.say("same", "first").await;
    let a = v.until(|e| seq_of_ack(e, "same")).await;
    v.say("same", "first").await;
    let b = v.until(|e| seq_of_ack(e, "same")).await;
    assert_eq!(a, b);
    for i in 0..5 {
        v.say(&format!("m{i}"), &format!("text {i}")).await;
        v.until(|e| seq_of_ack(e, &format!("m{i}"))).await;
    }
    drop(v);
    let mut again = s.visitor(&handle, 3).await;
    let events = again.drain(300).await;
    let VisitorEvent::Welcome { last_seq, .. } = events[0] else { panic!("{:?}", events[0]) };
    let seqs: Vec<u64> = events
        .iter()
        .filter_map(|e| match e {
            VisitorEvent::Message { message } => Some(message.seq),
            _ => None,
        })
        .collect();
    assert_eq!(seqs, (4..=last_seq).collect::<Vec<_>>());
    assert_eq!(last_seq, 6, "one stored message for the retried send plus five");
}

#[tokio::test]
async fn text_is_bounded_to_a_thousand_characters() {
    let s = Server::start().await;
    let (handle, _) = s.anon("shop").await;
    let mut v = s.visitor(&handle, 0).await;
    v.say("long", &"가".repeat(1001)).await;
    let code = v.until(|e| match e {
        VisitorEvent::Error { code, client_id: Some(c), .. } if c == "long" => Some(code.clone()),
        _ => None,
    })
    .await;
    assert_eq!(code, "message_too_long");
    v.say("max", &"가".repeat(1000)).await;
    assert_eq!(v.until(|e| seq_of_ack(e, "max")).await, 1, "the refused send stored nothing");
    v.say("blank", "   ").await;
    let code = v.error_code().await;
    assert_eq!(code, "empty_message");
    v.cmd(&VisitorCommand::Send { client_id: "menu".into(), body: Body::Menu { text: "x".into(), options: vec![] } }).await;
    let code = v.error_code().await;
    assert_eq!(code, "bad_request");
}

#[tokio::test]
async fn user_key_follows_signed_members_and_visitor_keys_only() {
    let s = Server::start().await;
    let mut a1 = s.agent("a1", "pw1").await;
    a1.available().await;
    let mut key_of = async |r: LaunchRequest, text: &str| {
        let (handle, vk) = s.launch_ok(&r).await;
        let mut v = s.visitor(&handle, 0).await;
        v.say(text, text).await;
        v.until(|e| seq_of_ack(e, text)).await;
        let summary = a1.assigned("a1").await;
        v.cmd(&VisitorCommand::Leave).await;
        v.until(|e| matches!(e, VisitorEvent::State { state: SessionState::Closed, .. }).then_some(())).await;
        (summary, vk)
    };
    let member = |vk: Option<String>| LaunchRequest {
        channel: "shop".into(),
        token: Some(button_token("shop", Some("M-1"))),
        visitor_key: vk,
        ..Default::default()
    };
    let (m1, vk1) = key_of(member(None), "m1").await;
    assert_eq!(m1.member.as_ref().unwrap().id, "M-1");
    let (m2, _) = key_of(member(Some("x".repeat(22))), "m2").await;
    assert_eq!(m1.user_key, m2.user_key, "members are recognised whatever the browser");
    assert_eq!(m2.earlier_sessions, 1);
    // Anonymous: the same visitor key is the same user; a new one is someone else.
    let anon = |vk: Option<String>| LaunchRequest { channel: "shop".into(), visitor_key: vk, ..Default::default() };
    let (x1, vk_anon) = key_of(anon(None), "x1").await;
    let (x2, _) = key_of(anon(Some(vk_anon.clone())), "x2").await;
    let (x3, _) = key_of(anon(None), "x3").await;
    assert_eq!(x1.user_key, x2.user_key);
    assert_ne!(x1.user_key, x3.user_key);
    // The member's anonymous visitor key never merges with the member.
    let (x4, _) = key_of(anon(Some(vk1)), "x4").await;
    assert_ne!(x4.user_key, m1.user_key);
    assert!(x4.member.is_none());
    // Declared data is kept apart from verified.
    let declared = LaunchRequest {
        channel: "shop".into(),
        declared: consult_sdk::EntryPoint { button: Some("banner-3".into()), ..Default::default() },
        ..Default::default()
    };
    let (d, _) = key_of(declared, "d1").await;
    assert!(d.entry.verified.is_none());
    assert_eq!(d.entry.declared.unwrap().button.as_deref(), Some("banner-3"));
}

#[tokio::test]
async fn inactivity_closes_and_quiet_is_noticed() {
    let s = Server::start().await;
    let mut a1 = s.agent("a1", "pw1").await;
    a1.available().await;
    let (handle, _) = s.anon("brief").await;
    let mut v = s.visitor(&handle, 0).await;
    v.say("hi", "hello").await;
    let session = a1.assigned("a1").await;
    // quiet_after_secs = 1, inactivity_secs = 2.
    let quiet = a1.until(|e| match e {
        AgentEvent::Quiet { session } => Some(session.clone()),
        _ => None,
    })
    .await;
    assert_eq!(quiet, session.id);
    // Warned once, a little before the close.
    let secs = v.until(|e| match e {
        VisitorEvent::Closing { secs } => Some(*secs),
        VisitorEvent::State { state: SessionState::Closed, .. } => Some(0),
        _ => None,
    })
    .await;
    assert!((1..=2).contains(&secs), "the warning comes before the close, with the seconds left: {secs}");
    let reason = v.until(|e| match e {
        VisitorEvent::State { state: SessionState::Closed, reason, .. } => Some(*reason),
        _ => None,
    })
    .await;
    assert_eq!(reason, Some(CloseReason::Inactivity));
    a1.say(&session.id, "late", "still there?").await;
    let code = a1.error_code().await;
    assert_eq!(code, "session_not_open");
}

#[tokio::test]
async fn unknown_handles_and_bad_frames_change_nothing() {
    let s = Server::start().await;
    assert_eq!(s.visitor_refusal("nope").await.as_deref(), Some("unknown_session"));
    let (handle, _) = s.anon("shop").await;
    let mut v = s.visitor(&handle, 0).await;
    v.next().await.unwrap();
    v.ws.send(tokio_tungstenite::tungstenite::Message::Text("{\"type\":\"explode\"}".into())).await.unwrap();
    let code = v.error_code().await;
    assert_eq!(code, "bad_request");
    v.say("ok", "still works").await;
    assert_eq!(v.until(|e| seq_of_ack(e, "ok")).await, 1);
}

use futures_util::SinkExt;

/// An agent ends their part and gives the chat back to the bot (from the desk, then over the
/// API): the session stays open with the bot, the visitor is told and gets the menu again, the
/// bot answers again, and the agent can no longer write.
#[tokio::test]
async fn an_agent_gives_the_chat_back_to_the_bot_and_the_bot_answers_again() {
    let (s, config) = crate::counsel::start("to-bot", "").await;
    let key = crate::counsel::api_key(&config, "botshop", "read,write", None);
    let mut a2 = s.agent("a2", "pw2").await;
    a2.available().await;
    let (handle, _) = s.anon("botshop").await;
    let mut v = s.visitor(&handle, 0).await;
    v.say("hi", "hello").await;
    let to_refunds = |id: &str| VisitorCommand::Choose { client_id: id.into(), option: "refund".into() };
    v.cmd(&to_refunds("c1")).await;
    let session = a2.assigned("a2").await.id;

    // From the desk.
    a2.cmd(&AgentCommand::Close { session: session.clone(), to_bot: true }).await;
    let state = v.until(|e| match e { VisitorEvent::State { state, .. } => Some(*state), _ => None }).await;
    assert_eq!(state, SessionState::Bot, "the chat stays open, with the bot");
    let menu = v.until(|e| match e { VisitorEvent::Message { message } if matches!(message.body, Body::Menu { .. }) => Some(message.clone()), _ => None }).await;
    assert_eq!(menu.sender, consult_sdk::protocol::Sender::Bot);
    let gone = a2.until(|e| match e { AgentEvent::Session { session: s } if s.id == session => Some(s.clone()), _ => None }).await;
    assert_eq!((gone.state, gone.agent), (SessionState::Bot, None), "it left the agent's chats");
    a2.say(&session, "late", "still here?").await;
    assert_eq!(a2.error_code().await, "not_assigned");
    v.cmd(&VisitorCommand::Choose { client_id: "c2".into(), option: "faq".into() }).await;
    let answer = v.until(|e| match e { VisitorEvent::Message { message } if message.body == Body::Text { text: "Two days.".into() } => Some(()), _ => None }).await;
    assert_eq!(answer, ());

    // Over the API, the same; a closed session can't be handed back; a bad body is refused.
    v.cmd(&to_refunds("c3")).await;
    a2.assigned("a2").await;
    let path = format!("/v1/counsel/sessions/{session}/close");
    let (st, b) = crate::counsel::call(&s, "POST", &path, Some(&key), Some(serde_json::json!({"to_bot": "yes"}))).await;
    assert_eq!((st, b["code"].as_str()), (400, Some("bad_request")));
    let (st, b) = crate::counsel::call(&s, "POST", &path, Some(&key), Some(serde_json::json!({"to_bot": true}))).await;
    assert_eq!((st, b["session"]["state"].as_str()), (200, Some("bot")), "{b}");
    let (st, _) = crate::counsel::call(&s, "POST", &path, Some(&key), None).await;
    assert_eq!(st, 200, "an empty body closes");
    let (st, b) = crate::counsel::call(&s, "POST", &path, Some(&key), Some(serde_json::json!({"to_bot": true}))).await;
    assert_eq!((st, b["code"].as_str()), (409, Some("session_not_open")), "{b}");
}
