//! Live page context: the visitor's declared page reaches the agent mid-chat, apart from verified
//! fields and from the entry point the session started with.

use consult_sdk::EntryPoint;
use consult_sdk::protocol::{AgentEvent, LaunchRequest, SessionSummary, VisitorCommand, VisitorEvent};

use crate::common::*;

fn page(p: &str) -> EntryPoint {
    EntryPoint { page: Some(p.into()), ..Default::default() }
}

#[tokio::test]
async fn declared_page_changes_reach_the_assigned_agent_and_invalid_ones_change_nothing() {
    let s = Server::start().await;
    let mut a1 = s.agent("a1", "pw1").await;
    a1.available().await;
    let req = LaunchRequest {
        channel: "shop".into(),
        token: Some(button_token("shop", None)),
        declared: page("/product.html"),
        ..Default::default()
    };
    let (handle, _) = s.launch_ok(&req).await;
    let mut v = s.visitor(&handle, 0).await;
    v.until(|e| matches!(e, VisitorEvent::Welcome { .. }).then_some(())).await;
    v.say("v1", "hello").await;
    let opened = a1.assigned("a1").await;
    assert_eq!(opened.current_page, None);
    let verified = opened.entry.verified.clone();
    assert_eq!(verified.as_ref().and_then(|e| e.button.as_deref()), Some("product"));

    v.cmd(&VisitorCommand::Context { declared: page("/orders.html") }).await;
    let moved: SessionSummary = a1
        .until(|e| match e {
            AgentEvent::Session { session } if session.id == opened.id && session.current_page.is_some() => Some(session.clone()),
            _ => None,
        })
        .await;
    assert_eq!(moved.current_page.as_deref(), Some("/orders.html"));
    assert_eq!(moved.entry, opened.entry, "the entry point (verified and declared) stays where the chat started");
    assert_eq!(moved.agent.as_deref(), Some("a1"));

    // Oversized: a typed error, and nothing changes.
    v.cmd(&VisitorCommand::Context { declared: page(&"x".repeat(5_000)) }).await;
    assert_eq!(v.error_code().await, "bad_request");
    let events = a1.drain(400).await;
    assert!(!events.iter().any(|e| matches!(e, AgentEvent::Session { session } if session.id == opened.id)), "{events:?}");
    a1.cmd(&consult_sdk::protocol::AgentCommand::History { user_key: opened.user_key.clone() }).await;
    let now = a1
        .until(|e| match e {
            AgentEvent::History { sessions, .. } => sessions.iter().find(|x| x.id == opened.id).cloned(),
            _ => None,
        })
        .await;
    assert_eq!(now.current_page.as_deref(), Some("/orders.html"));
    assert_eq!(now.entry, opened.entry);

    // The same page again is not news.
    v.cmd(&VisitorCommand::Context { declared: page("/orders.html") }).await;
    let events = a1.drain(400).await;
    assert!(!events.iter().any(|e| matches!(e, AgentEvent::Session { .. })), "{events:?}");
}
