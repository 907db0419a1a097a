//! Send results both ways over real sockets, REST and a webhook receiver: a reply is stored,
//! then delivered when the visitor's socket gets it, then read when the open chat shows it; the
//! agent's read reaches the visitor. Marks never go back and never pass what was sent.

use std::sync::atomic::AtomicBool;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use consult_sdk::protocol::{AgentCommand, AgentEvent, Receipts, VisitorCommand, VisitorEvent};
use serde_json::{Value, json};

use crate::common::*;
use crate::counsel::{api_key, call};
use crate::webhooks::{Hit, SECRET, receiver, verify};

/// The agent's next receipts for `session` that satisfy `f`.
async fn receipts_until(a: &mut Agent, session: &str, f: impl Fn(&Receipts) -> bool) -> Receipts {
    a.until(|e| match e {
        AgentEvent::Receipts { session: s, receipts } if s == session && f(receipts) => Some(*receipts),
        _ => None,
    })
    .await
}

fn statuses(hits: &[Hit]) -> Vec<Value> {
    hits.iter()
        .filter(|h| verify(h))
        .filter_map(|h| serde_json::from_str::<Value>(&h.body).ok())
        .filter(|v| v["type"] == "message.status")
        .map(|v| v["data"]["receipts"].clone())
        .collect()
}

#[tokio::test]
async fn replies_are_delivered_then_read_and_the_agents_read_reaches_the_visitor() {
    let hits = Arc::new(Mutex::new(Vec::new()));
    let port = receiver(Arc::new(AtomicBool::new(true)), hits.clone()).await;
    let dir = temp_dir("receipts");
    let toml = config_toml(&dir.join("c.db"), 1000)
        + &format!(
            "\n[counsel]\nallow_private_targets = true\nretry_base_ms = 100\n[[counsel.webhooks]]\nid = \"crm\"\nchannel = \"shop\"\nurl = \"http://127.0.0.1:{port}/hook\"\nsecret = \"{SECRET}\"\nevents = [\"message.status\"]\n"
        );
    let config = dir.join("consult.toml");
    std::fs::write(&config, &toml).unwrap();
    let s = Server::start_toml(&toml).await;
    let system_key = api_key(&config, "shop", "read,write", None);

    let mut a = s.agent("a1", "pw1").await;
    a.available().await;
    let (handle, _) = s.anon("shop").await;
    let mut v = s.visitor(&handle, 0).await;
    v.say("v1", "hello").await;
    let session = a.assigned("a1").await.id;

    // A reply is stored; the visitor's socket writes it, and the desk hears "delivered" (not read).
    a.say(&session, "r1", "how can I help?").await;
    let reply_seq = a.until(|e| match e { AgentEvent::Ack { client_id, seq } if client_id == "r1" => Some(*seq), _ => None }).await;
    let r = receipts_until(&mut a, &session, |r| r.visitor_delivered_seq >= reply_seq).await;
    assert_eq!((r.visitor_delivered_seq, r.visitor_read_seq), (reply_seq, 0), "delivered, not yet read: {r:?}");

    // The visitor claims to have read far beyond what exists: the mark stops at what it was sent.
    v.cmd(&VisitorCommand::Read { seq: 1_000 }).await;
    let r = receipts_until(&mut a, &session, |r| r.visitor_read_seq > 0).await;
    assert_eq!(r.visitor_read_seq, reply_seq, "read stops at the last seq the socket was sent: {r:?}");
    // Going back, or repeating, changes nothing and tells nobody.
    v.cmd(&VisitorCommand::Read { seq: 1 }).await;
    v.cmd(&VisitorCommand::Read { seq: reply_seq }).await;
    let more = a.drain(400).await;
    assert!(!more.iter().any(|e| matches!(e, AgentEvent::Receipts { .. })), "no receipts for a mark that did not rise: {more:?}");

    // The agent reads the visitor's message: the visitor sees "read" up to it.
    v.say("v2", "my order 1234").await;
    let v2 = v.until(|e| match e { VisitorEvent::Ack { client_id, seq } if client_id == "v2" => Some(*seq), _ => None }).await;
    a.cmd(&AgentCommand::Read { session: session.clone(), seq: v2 }).await;
    let seen = v.until(|e| match e { VisitorEvent::Read { seq } => Some(*seq), _ => None }).await;
    assert_eq!(seen, v2);

    // REST shows the same marks beside the messages and on the session.
    let (st, b) = call(&s, "GET", &format!("/v1/counsel/sessions/{session}/messages"), Some(&system_key), None).await;
    assert_eq!(st, 200, "{b}");
    assert_eq!(b["receipts"], json!({"visitor_delivered_seq": reply_seq, "visitor_read_seq": reply_seq, "agent_read_seq": v2}));
    let (_, b) = call(&s, "GET", &format!("/v1/counsel/sessions/{session}"), Some(&system_key), None).await;
    assert_eq!(b["receipts"]["visitor_read_seq"], reply_seq);

    // An outside system marks read over REST; an unknown session or a bad body is a typed error.
    let (st, b) = call(&s, "POST", &format!("/v1/counsel/sessions/{session}/read"), Some(&system_key), Some(json!({"seq": v2 + 50}))).await;
    assert_eq!((st, b["agent_read_seq"].as_u64()), (200, Some(v2)), "{b}");
    let (st, b) = call(&s, "POST", "/v1/counsel/sessions/s_nope/read", Some(&system_key), Some(json!({"seq": 1}))).await;
    assert_eq!((st, b["code"].as_str()), (404, Some("not_found")));
    let (st, b) = call(&s, "POST", &format!("/v1/counsel/sessions/{session}/read"), Some(&system_key), Some(json!({"seq": "x"}))).await;
    assert_eq!((st, b["code"].as_str()), (400, Some("bad_request")));

    // The webhook receiver got signed message.status events whose marks only rise, ending at read.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        let got = statuses(&hits.lock().unwrap());
        if got.last().is_some_and(|r| r["visitor_read_seq"] == reply_seq) {
            let reads: Vec<u64> = got.iter().map(|r| r["visitor_read_seq"].as_u64().unwrap()).collect();
            assert!(reads.windows(2).all(|w| w[0] <= w[1]), "marks rise: {got:?}");
            assert!(got.iter().any(|r| r["visitor_delivered_seq"] == reply_seq && r["visitor_read_seq"] == 0), "delivered came before read: {got:?}");
            break;
        }
        assert!(tokio::time::Instant::now() < deadline, "no message.status with the read mark: {got:?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    // A visitor who reconnects learns how far the agent has read.
    drop(v);
    let mut again = s.visitor(&handle, 0).await;
    let seen = again.until(|e| match e { VisitorEvent::Read { seq } => Some(*seq), _ => None }).await;
    assert_eq!(seen, v2);
}
