//! One store test suite, every store: the same functions run against SQLite and PostgreSQL
//! (`conformance_suite!` in each store's tests), so a rule one store keeps and another doesn't
//! shows up as a failing test, not as a bug on a cluster.

use consult_sdk::protocol::{Body, CloseReason, EntryView, SessionState};
use consult_sdk::{EntryPoint, Membership};

use super::{AgentWriteError, HANDLE_TTL_MS, LaunchContext, OpenAs, Store};

fn text(t: &str) -> Body {
    Body::Text { text: t.into() }
}

fn member_context() -> LaunchContext {
    LaunchContext {
        entry: EntryView { verified: Some(EntryPoint { button: Some("order".into()), ..Default::default() }), declared: None, via: "button".into() },
        member: Some(Membership { id: "m-1".into(), name: Some("Kim".into()), ..Default::default() }),
    }
}

/// Visitor speaks first; agents write only into an open session assigned to them.
pub fn agent_writes_need_an_open_assigned_session(s: &mut dyn Store) {
    let h = s.launch("shop", "u1", &LaunchContext::default(), 1).unwrap();
    let conv = s.resolve_handle(&h, 1).unwrap().unwrap();
    let w = s.visitor_write(&conv.id, "c1", &text("hi"), &OpenAs::Queued(None), 2).unwrap();
    assert!(w.opened);
    assert_eq!(s.agent_write(&w.session.id, "a1", "A", "x", &text("yo"), 3).unwrap(), Err(AgentWriteError::NotAssigned));
    s.assign(&w.session.id, "a1", None).unwrap().unwrap();
    assert!(s.agent_write(&w.session.id, "a1", "A", "x", &text("yo"), 3).unwrap().is_ok());
    assert_eq!(s.agent_write(&w.session.id, "a2", "B", "z", &text("not mine"), 3).unwrap(), Err(AgentWriteError::NotAssigned));
    s.close_session(&w.session.id, CloseReason::VisitorLeft, "bye", 4).unwrap().unwrap();
    assert_eq!(s.agent_write(&w.session.id, "a1", "A", "y", &text("late"), 5).unwrap(), Err(AgentWriteError::NotOpen));
    assert_eq!(s.agent_write("s_nope", "a1", "A", "y", &text("?"), 5).unwrap(), Err(AgentWriteError::UnknownSession));
    // A closed session is closed once; the next visitor message opens a new one.
    assert!(s.close_session(&w.session.id, CloseReason::VisitorLeft, "bye", 6).unwrap().is_none());
    let again = s.visitor_write(&conv.id, "c2", &text("back"), &OpenAs::Bot, 7).unwrap();
    assert!(again.opened && again.session.id != w.session.id && again.session.state == SessionState::Bot);
    assert_eq!(again.session.earlier_sessions, 1);
}

/// A retried client id stores once; seq runs gap-free per conversation.
pub fn client_ids_are_idempotent_and_seq_is_gap_free(s: &mut dyn Store) {
    let h = s.launch("shop", "u1", &LaunchContext::default(), 1).unwrap();
    let conv = s.resolve_handle(&h, 1).unwrap().unwrap();
    let a = s.visitor_write(&conv.id, "c1", &text("hi"), &OpenAs::Bot, 2).unwrap();
    let b = s.visitor_write(&conv.id, "c1", &text("hi"), &OpenAs::Bot, 3).unwrap();
    assert!(b.duplicate);
    assert_eq!(a.message.seq, b.message.seq);
    let c = s.visitor_write(&conv.id, "c2", &text("again"), &OpenAs::Bot, 4).unwrap();
    assert_eq!(c.message.seq, 2);
    let notice = s.system_write(&conv.id, &consult_sdk::protocol::Sender::Bot, &text("menu"), 5).unwrap();
    assert_eq!(notice.seq, 3);
    let all = s.messages_after(&conv.id, 0, 100).unwrap();
    assert_eq!(all.iter().map(|m| m.seq).collect::<Vec<_>>(), vec![1, 2, 3]);
    assert_eq!(s.messages_after(&conv.id, 2, 100).unwrap().len(), 1);
    assert_eq!(s.session_messages(&a.session.id, 0, 100).unwrap().len(), 3);
    assert_eq!(s.conversation_state(&conv.id).unwrap().1, 3);
}

/// One conversation per user key; the launch context is the latest launch's.
pub fn one_conversation_per_user_key(s: &mut dyn Store) {
    let h1 = s.launch("shop", "u1", &LaunchContext::default(), 1).unwrap();
    let h2 = s.launch("shop", "u1", &member_context(), 2).unwrap();
    let other = s.launch("other", "u1", &LaunchContext::default(), 2).unwrap();
    let (c1, c2) = (s.resolve_handle(&h1, 3).unwrap().unwrap(), s.resolve_handle(&h2, 3).unwrap().unwrap());
    assert_eq!(c1.id, c2.id);
    assert_ne!(s.resolve_handle(&other, 3).unwrap().unwrap().id, c1.id);
    let w = s.visitor_write(&c1.id, "c1", &text("hi"), &OpenAs::Queued(Some("orders".into())), 4).unwrap();
    assert_eq!(w.session.context, member_context());
    assert_eq!(w.session.category.as_deref(), Some("orders"));
    assert_eq!(w.session.preview.as_deref(), Some("hi"));
}

/// A queued session is assigned once; transfer needs the current assignee; loads count.
pub fn assignment_happens_once_and_loads_count(s: &mut dyn Store) {
    let h = s.launch("shop", "u1", &LaunchContext::default(), 1).unwrap();
    let conv = s.resolve_handle(&h, 1).unwrap().unwrap();
    let w = s.visitor_write(&conv.id, "c1", &text("hi"), &OpenAs::Bot, 2).unwrap();
    assert!(s.assign(&w.session.id, "a1", None).unwrap().is_none(), "a bot session is not in the queue");
    assert_eq!(s.queue_session(&w.session.id, Some("refunds"), 3).unwrap().unwrap().state, SessionState::Queued);
    assert_eq!(s.queued().unwrap().len(), 1);
    assert_eq!(s.assign(&w.session.id, "a1", None).unwrap().unwrap().agent.as_deref(), Some("a1"));
    assert!(s.assign(&w.session.id, "a2", None).unwrap().is_none(), "assigned once");
    assert!(s.assign(&w.session.id, "a2", Some("a3")).unwrap().is_none(), "transfer from the wrong agent");
    assert_eq!(s.agent_load_locked("a1").unwrap(), 1);
    assert_eq!(s.agent_loads().unwrap(), vec![("a1".to_string(), 1)]);
    assert_eq!(s.assign(&w.session.id, "a2", Some("a1")).unwrap().unwrap().agent.as_deref(), Some("a2"));
    assert_eq!(s.agent_load_locked("a1").unwrap(), 0);
    assert_eq!(s.agent_sessions("a2").unwrap().len(), 1);
    assert!(s.queued().unwrap().is_empty());
}

/// Handoff codes are single use and move the conversation to a new handle.
pub fn handoffs_are_single_use(s: &mut dyn Store) {
    let h = s.launch("shop", "u1", &LaunchContext::default(), 1).unwrap();
    s.handoff_minted(42, &h, 1_000).unwrap();
    let (old, new, conv) = s.handoff_use(42, 500).unwrap().unwrap();
    assert_eq!(old, h);
    assert!(s.resolve_handle(&h, 501).unwrap().is_none(), "the desktop's handle is revoked");
    assert_eq!(s.resolve_handle(&new, 501).unwrap().unwrap().id, conv.id);
    assert!(s.handoff_use(42, 600).unwrap().is_none(), "single use");
    s.handoff_minted(43, &new, 1_000).unwrap();
    assert!(s.handoff_use(43, 1_000).unwrap().is_none(), "expired");
}

/// Handles expire; blocks, tokens and secrets behave.
pub fn handles_expire_blocks_tokens_and_secrets(s: &mut dyn Store) {
    let h = s.launch("shop", "u1", &LaunchContext::default(), 1_000).unwrap();
    assert!(s.resolve_handle(&h, 1_000 + HANDLE_TTL_MS - 1).unwrap().is_some());
    assert!(s.resolve_handle(&h, 1_000 + HANDLE_TTL_MS).unwrap().is_none());
    s.block("shop", "u1", 2_000, "abuse", "a1").unwrap();
    assert!(s.is_blocked("shop", "u1", 1_999).unwrap());
    assert!(!s.is_blocked("shop", "u1", 2_000).unwrap());
    assert!(!s.is_blocked("other", "u1", 1_500).unwrap());
    let token = [7u8; 32];
    s.agent_token_put(&token, "a1", 10, 100).unwrap();
    assert_eq!(s.agent_token_get(&token, 99).unwrap().as_deref(), Some("a1"));
    assert!(s.agent_token_get(&token, 100).unwrap().is_none());
    s.agent_token_delete(&token).unwrap();
    assert!(s.agent_token_get(&token, 50).unwrap().is_none());
    let secret = s.channel_secret("shop", "user_key").unwrap();
    assert_eq!(s.channel_secret("shop", "user_key").unwrap(), secret);
    assert_ne!(s.channel_secret("shop", "handoff").unwrap(), secret);
}

/// Retention forgets messages, the entry point and membership, expired handles and blocks.
pub fn retention_forgets_personal_data(s: &mut dyn Store) {
    let h = s.launch("shop", "u1", &member_context(), 1).unwrap();
    let conv = s.resolve_handle(&h, 1).unwrap().unwrap();
    let w = s.visitor_write(&conv.id, "c1", &text("hi"), &OpenAs::Queued(None), 2).unwrap();
    s.close_session(&w.session.id, CloseReason::VisitorLeft, "bye", 3).unwrap().unwrap();
    s.block("shop", "u1", 10, "x", "a1").unwrap();
    let now = 100 + HANDLE_TTL_MS;
    assert!(s.purge("shop", 100, now).unwrap().messages >= 2);
    let session = s.session(&w.session.id).unwrap().unwrap();
    assert_eq!(session.context, LaunchContext::default());
    assert!(s.messages_after(&conv.id, 0, 100).unwrap().is_empty());
    assert!(s.resolve_handle(&h, 101).unwrap().is_none());
    assert!(s.blocks(&["shop".to_string()], 0).unwrap().is_empty());
    // The next launch's context is the only one left.
    let h2 = s.launch("shop", "u1", &LaunchContext::default(), now).unwrap();
    let conv2 = s.resolve_handle(&h2, now).unwrap().unwrap().id;
    let w2 = s.visitor_write(&conv2, "c2", &text("new"), &OpenAs::Bot, now).unwrap();
    assert_eq!(w2.session.context, LaunchContext::default());
}

/// Receipt marks only rise, never past the last message; a visitor's read is also a delivery.
pub fn receipts_only_rise_and_stop_at_the_last_message(s: &mut dyn Store) {
    use super::ReceiptMark::*;
    let h = s.launch("shop", "u1", &LaunchContext::default(), 1).unwrap();
    let conv = s.resolve_handle(&h, 1).unwrap().unwrap().id;
    assert_eq!(s.raise_receipt(&conv, VisitorRead, 5).unwrap(), None, "nothing to read yet");
    for i in 0..3 {
        s.visitor_write(&conv, &format!("c{i}"), &text("hi"), &OpenAs::Bot, 2).unwrap();
    }
    let r = s.raise_receipt(&conv, VisitorDelivered, 2).unwrap().unwrap();
    assert_eq!((r.visitor_delivered_seq, r.visitor_read_seq, r.agent_read_seq), (2, 0, 0));
    assert_eq!(s.raise_receipt(&conv, VisitorDelivered, 1).unwrap(), None, "marks never go back");
    assert_eq!(s.raise_receipt(&conv, VisitorDelivered, 2).unwrap(), None, "the same mark is no change");
    let r = s.raise_receipt(&conv, VisitorRead, 99).unwrap().unwrap();
    assert_eq!((r.visitor_delivered_seq, r.visitor_read_seq), (3, 3), "capped at the last seq; read implies delivered");
    let r = s.raise_receipt(&conv, AgentRead, u64::MAX).unwrap().unwrap();
    assert_eq!(r.agent_read_seq, 3);
    assert_eq!(s.receipts(&conv).unwrap(), r);
    assert_eq!(s.receipts("c_nope").unwrap(), Default::default());
    assert_eq!(s.raise_receipt("c_nope", AgentRead, 1).unwrap(), None);
}

/// An assigned session goes back to the bot once; its agent's load drops; closed ones stay closed.
pub fn a_session_returns_to_the_bot_and_frees_the_agent(s: &mut dyn Store) {
    let h = s.launch("shop", "u1", &LaunchContext::default(), 1).unwrap();
    let conv = s.resolve_handle(&h, 1).unwrap().unwrap().id;
    let w = s.visitor_write(&conv, "c1", &text("hi"), &OpenAs::Queued(None), 2).unwrap();
    s.assign(&w.session.id, "a1", None).unwrap().unwrap();
    assert_eq!(s.agent_load_locked("a1").unwrap(), 1);
    let back = s.return_to_bot(&w.session.id).unwrap().expect("assigned goes back");
    assert_eq!((back.state, back.agent.as_deref()), (SessionState::Bot, None));
    assert_eq!(s.agent_load_locked("a1").unwrap(), 0, "the agent's slot is free");
    assert!(s.return_to_bot(&w.session.id).unwrap().is_none(), "already with the bot");
    assert_eq!(s.agent_write(&w.session.id, "a1", "A", "late", &text("x"), 3).unwrap(), Err(AgentWriteError::NotAssigned));
    s.close_session(&w.session.id, CloseReason::VisitorLeft, "bye", 4).unwrap().unwrap();
    assert!(s.return_to_bot(&w.session.id).unwrap().is_none(), "a closed session stays closed");
}

/// A channel's runtime switch is stored, changed in place and listed.
pub fn channel_switches_are_stored_and_changed_in_place(s: &mut dyn Store) {
    assert!(s.channel_switches().unwrap().is_empty());
    s.set_channel_enabled("shop", false, "admin", 1).unwrap();
    s.set_channel_enabled("brief", true, "api:k1", 2).unwrap();
    s.set_channel_enabled("shop", true, "admin", 3).unwrap();
    let mut all = s.channel_switches().unwrap();
    all.sort();
    assert_eq!(all, vec![("brief".to_string(), true), ("shop".to_string(), true)]);
}

/// An attachment row keeps its blob key, size, MIME type and digest, not the bytes; a row with
/// its bytes inline (written before blobs) still reads back; a purge hands back the blob keys of
/// the rows it deleted, for the caller to delete after the commit.
pub fn attachment_rows_keep_the_blob_key_and_digest(s: &mut dyn Store) {
    use super::{Attachment, AttachmentBytes};
    let h = s.launch("shop", "u1", &LaunchContext::default(), 1).unwrap();
    let conv = s.resolve_handle(&h, 1).unwrap().unwrap().id;
    let digest = crate::blob::sha256_hex(b"png bytes");
    let blob = Attachment {
        id: "a_blob".into(),
        conversation: Some(conv.clone()),
        agent: None,
        mime: "image/png".into(),
        name: "p.png".into(),
        size: 9,
        sha256: digest.clone(),
        bytes: AttachmentBytes::Blob("a_blob".into()),
    };
    s.put_attachment(&blob, 10).unwrap();
    let back = s.attachment("a_blob").unwrap().unwrap();
    assert_eq!((back.conversation.as_deref(), back.mime.as_str(), back.name.as_str()), (Some(conv.as_str()), "image/png", "p.png"));
    assert_eq!((back.size, back.sha256, back.bytes), (9, digest, AttachmentBytes::Blob("a_blob".into())));
    let inline = Attachment {
        id: "a_old".into(),
        conversation: None,
        agent: Some("a1".into()),
        mime: "text/plain; charset=utf-8".into(),
        name: "n.txt".into(),
        size: 5,
        sha256: crate::blob::sha256_hex(b"hello"),
        bytes: AttachmentBytes::Inline(b"hello".to_vec()),
    };
    s.put_attachment(&inline, 10).unwrap();
    let back = s.attachment("a_old").unwrap().unwrap();
    assert_eq!((back.agent.as_deref(), back.bytes, back.size), (Some("a1"), AttachmentBytes::Inline(b"hello".to_vec()), 5));
    assert!(s.attachment("a_none").unwrap().is_none());
    let asked = ["a_blob".to_string(), "a_old".to_string(), "a_none".to_string()];
    assert_eq!(s.blob_keys_in_use(&asked).unwrap(), ["a_blob"], "an inline row names no blob");
    assert!(s.blob_keys_in_use(&[]).unwrap().is_empty());
    assert!(s.purge("shop", 10, 20).unwrap().blobs.is_empty(), "nothing older than 10");
    assert_eq!(s.purge("shop", 11, 20).unwrap().blobs, vec!["a_blob".to_string()], "the blob's key; the inline row had none");
    assert!(s.blob_keys_in_use(&asked).unwrap().is_empty(), "purged rows name no blob");
    assert!(s.attachment("a_blob").unwrap().is_none() && s.attachment("a_old").unwrap().is_none());
}

/// One user key's data is exported whole and erased whole; another user's stays; the session
/// counts stay for the reports.
pub fn one_users_data_is_exported_and_erased_and_no_one_elses(s: &mut dyn Store) {
    use super::{Attachment, AttachmentBytes};
    let mut convs = Vec::new();
    for user in ["u1", "u2"] {
        let h = s.launch("shop", user, &member_context(), 1).unwrap();
        let conv = s.resolve_handle(&h, 1).unwrap().unwrap().id;
        let w = s.visitor_write(&conv, "c1", &text(&format!("hello from {user}")), &OpenAs::Queued(None), 2).unwrap();
        s.assign(&w.session.id, "a1", None).unwrap().unwrap();
        s.agent_write(&w.session.id, "a1", "A", "r1", &text("hi"), 3).unwrap().unwrap();
        s.add_note(&w.session.id, "a1", "A", &format!("note on {user}"), 4).unwrap();
        s.set_tags(&w.session.id, &["vip".to_string()]).unwrap();
        let id = format!("att_{user}");
        let a = Attachment { id: id.clone(), conversation: Some(conv.clone()), agent: None, mime: "image/png".into(), name: "p.png".into(), size: 3, sha256: "00".into(), bytes: AttachmentBytes::Blob(id) };
        s.put_attachment(&a, 5).unwrap();
        s.block("shop", user, 99_999_999, "spam", "a1").unwrap();
        convs.push(conv);
    }
    let export = s.user_export("shop", "u1").unwrap();
    let count = |k: &str| export[k].as_array().map_or(0, Vec::len);
    assert_eq!((count("conversations"), count("sessions"), count("messages"), count("attachments"), count("blocks")), (1, 1, 2, 1, 1), "{export}");
    assert_eq!(export["sessions"][0]["tags"], serde_json::json!(["vip"]));
    assert_eq!(export["sessions"][0]["notes"][0]["text"], "note on u1");
    assert_eq!(export["messages"][0]["body"]["text"], "hello from u1");
    assert_eq!(export["attachments"][0]["blob_key"], "att_u1");
    assert!(export.to_string().contains("m-1") && !export.to_string().contains("hello from u2"), "the member, and nobody else: {export}");

    let erased = s.user_erase("shop", "u1", 10).unwrap();
    assert_eq!((erased.sessions, erased.messages, erased.attachments, erased.blobs.clone()), (1, 2, 1, vec!["att_u1".to_string()]));
    let after = s.user_export("shop", "u1").unwrap();
    for k in ["conversations", "sessions", "messages", "attachments", "blocks"] {
        assert_eq!(after[k].as_array().map_or(0, Vec::len), 0, "{k} left after the erase: {after}");
    }
    assert!(s.attachment("att_u1").unwrap().is_none() && s.attachment("att_u2").unwrap().is_some());
    assert!(!s.is_blocked("shop", "u1", 11).unwrap() && s.is_blocked("shop", "u2", 11).unwrap());
    assert_eq!(s.messages_after(&convs[1], 0, 10).unwrap().len(), 2, "u2 keeps everything");
    let reports = s.report_rows(&["shop".to_string()], 0, 100).unwrap();
    assert_eq!(reports.len(), 2, "both sessions still count in the reports");
}

/// API keys are stored, found, used and revoked; the Counsel API pages sessions by state.
pub fn api_keys_and_session_paging_work(s: &mut dyn Store) {
    use consult_sdk::counsel::Scope;
    let key = super::ApiKeyRow { id: "k_1".into(), channel: "shop".into(), name: "crm".into(), scopes: vec![Scope::Read, Scope::Write], agent: None, hash: [7; 32], created_ms: 1, last_used_ms: None, revoked_ms: None };
    s.api_key_put(&key).unwrap();
    assert_eq!(s.api_key_get("k_1").unwrap().as_ref(), Some(&key));
    s.api_key_used("k_1", 5).unwrap();
    assert_eq!(s.api_key_get("k_1").unwrap().unwrap().last_used_ms, Some(5));
    assert_eq!(s.api_keys("shop").unwrap().len(), 1);
    let h = s.launch("shop", "u1", &LaunchContext::default(), 1).unwrap();
    let conv = s.resolve_handle(&h, 1).unwrap().unwrap().id;
    let w = s.visitor_write(&conv, "c1", &text("hi"), &OpenAs::Bot, 2).unwrap();
    let bots = s.counsel_sessions("shop", Some(SessionState::Bot), None, 10).unwrap();
    assert_eq!(bots.iter().map(|r| r.id.as_str()).collect::<Vec<_>>(), vec![w.session.id.as_str()]);
    assert!(s.counsel_sessions("shop", Some(SessionState::Queued), None, 10).unwrap().is_empty());
    assert_eq!(s.counsel_sessions("shop", None, None, 10).unwrap().len(), 1);
    assert!(s.counsel_sessions("shop", None, Some((w.session.opened_ms, &w.session.id)), 10).unwrap().is_empty(), "after the last, nothing");
    assert!(s.api_key_revoke("shop", "k_1", 9).unwrap());
    assert_eq!(s.api_key_get("k_1").unwrap().unwrap().revoked_ms, Some(9));
}

/// The webhook outbox: one row per listening endpoint, one delivery at a time per session line,
/// retries keep their id, failures are listed and replayed, a paused endpoint waits.
pub fn the_webhook_outbox_keeps_order_retries_and_replays(s: &mut dyn Store) {
    use super::{DeliveryOutcome, EndpointRow};
    let endpoint = |id: &str, events: &[&str]| EndpointRow {
        id: id.into(), channel: "shop".into(), url: format!("https://{id}.test/hook"), secret: "whsec_x".into(),
        events: events.iter().map(|e| e.to_string()).collect(), source: "api".into(), paused_ms: None, paused_reason: None, pending: 0, failed: 0,
    };
    s.webhook_endpoint_put(&endpoint("all", &["*"]), 1).unwrap();
    s.webhook_endpoint_put(&endpoint("msgs", &["message.created"]), 1).unwrap();
    assert_eq!(s.webhook_emit("shop", Some("s1"), "message.created", "{\"n\":1}", "msg_a", 2).unwrap(), 2, "both listen");
    assert_eq!(s.webhook_emit("shop", Some("s1"), "session.opened", "{\"n\":2}", "msg_b", 2).unwrap(), 1, "only the catch-all");
    assert_eq!(s.webhook_emit("other", Some("s9"), "message.created", "{}", "msg_c", 2).unwrap(), 0, "another channel's endpoints only");
    // One at a time per (endpoint, session): the first of each line is due.
    let due = s.webhook_due(3, 10).unwrap();
    let mut heads: Vec<(String, String)> = due.iter().map(|d| (d.endpoint.clone(), d.payload.clone())).collect();
    heads.sort();
    assert_eq!(heads, vec![("all".into(), "{\"n\":1}".into()), ("msgs".into(), "{\"n\":1}".into())]);
    let first = due.iter().find(|d| d.endpoint == "all").unwrap().clone();
    s.webhook_outcome(first.n, &DeliveryOutcome::Retry { next_ms: 100, status: Some(500), error: "500".into() }, 3).unwrap();
    assert!(s.webhook_due(50, 10).unwrap().iter().all(|d| d.endpoint != "all"), "the line waits for its head's retry");
    let again = s.webhook_due(100, 10).unwrap().into_iter().find(|d| d.endpoint == "all").unwrap();
    assert_eq!((again.id.as_str(), again.attempts), (first.id.as_str(), 1), "a retry keeps its delivery id");
    s.webhook_outcome(again.n, &DeliveryOutcome::GiveUp { status: None, error: "down".into() }, 101).unwrap();
    s.webhook_pause("all", "failing", 101).unwrap();
    assert!(s.webhook_due(200, 10).unwrap().iter().all(|d| d.endpoint != "all"), "a paused endpoint gets nothing");
    assert_eq!(s.webhook_deliveries("shop", "all", Some("failed"), 10).unwrap().len(), 1);
    assert_eq!(s.webhook_replay("shop", "all", 300).unwrap(), Some(1), "the failed one goes again");
    let replayed = s.webhook_due(300, 10).unwrap().into_iter().find(|d| d.endpoint == "all").unwrap();
    assert_eq!(replayed.id, first.id, "the same delivery id");
    assert!(s.webhook_endpoint_delete("shop", "msgs").unwrap());
    assert_eq!(s.webhook_endpoints(Some("shop")).unwrap().len(), 1);
}

/// Canned answers: none stored until first set; then exactly what was set, in order.
pub fn canned_answers_are_stored_whole(s: &mut dyn Store) {
    use consult_sdk::protocol::CannedAnswer;
    assert_eq!(s.canned_answers().unwrap(), None, "nothing stored: the file's answers apply");
    let a = |k: &str, t: &str| CannedAnswer { shortcut: k.into(), text: t.into() };
    s.set_canned_answers(&[a("/hi", "Hello"), a("/bye", "Bye")]).unwrap();
    assert_eq!(s.canned_answers().unwrap(), Some(vec![a("/hi", "Hello"), a("/bye", "Bye")]));
    s.set_canned_answers(&[]).unwrap();
    assert_eq!(s.canned_answers().unwrap(), Some(vec![]), "emptied on purpose is not 'never set'");
}

/// An agent disabled or given a new password by an admin: stored, changed field by field, and
/// every sign-in of theirs can be ended at once.
pub fn agent_accounts_change_field_by_field_and_sign_ins_end(s: &mut dyn Store) {
    assert_eq!(s.agent_account("a1").unwrap(), Default::default());
    s.agent_token_put(&[1; 32], "a1", 1, 1_000_000).unwrap();
    s.agent_token_put(&[2; 32], "a1", 1, 1_000_000).unwrap();
    s.agent_token_put(&[3; 32], "a2", 1, 1_000_000).unwrap();
    s.set_agent_account("a1", Some(true), None).unwrap();
    s.set_agent_account("a1", None, Some("$argon2id$x")).unwrap();
    assert_eq!(s.agent_account("a1").unwrap(), super::AgentAccount { disabled: true, password_hash: Some("$argon2id$x".into()) });
    s.set_agent_account("a1", Some(false), None).unwrap();
    assert_eq!(s.agent_account("a1").unwrap().password_hash.as_deref(), Some("$argon2id$x"), "unchanged when not given");
    assert_eq!(s.agent_accounts().unwrap().len(), 1);
    let mut ended = s.agent_tokens_revoke("a1").unwrap();
    ended.sort();
    assert_eq!(ended, vec![[1; 32], [2; 32]]);
    assert_eq!(s.agent_token_get(&[1; 32], 2).unwrap(), None);
    assert_eq!(s.agent_token_get(&[3; 32], 2).unwrap().as_deref(), Some("a2"), "another agent stays signed in");
}

/// A runtime entry is written only when the version named is still its own (0: none yet); a
/// stale write changes nothing; listing by prefix takes ids with '_' literally.
pub fn runtime_entries_are_written_only_at_the_version_read(s: &mut dyn Store) {
    assert_eq!(s.runtime_list("agent:").unwrap(), vec![]);
    assert_eq!(s.runtime_put("agent:n_1", 0, r#"{"a":1}"#, "adm", 10).unwrap(), Some(1));
    assert_eq!(s.runtime_put("agent:n_1", 0, r#"{"a":2}"#, "adm2", 11).unwrap(), None, "created twice");
    assert_eq!(s.runtime_put("agent:n_1", 1, r#"{"a":3}"#, "adm", 12).unwrap(), Some(2));
    assert_eq!(s.runtime_put("agent:n_1", 1, r#"{"a":4}"#, "adm2", 13).unwrap(), None, "stale");
    assert_eq!(s.runtime_put("agent:n_1", 7, r#"{"a":5}"#, "adm2", 13).unwrap(), None, "from the future");
    s.runtime_put("agent:nx1", 0, "{}", "adm", 14).unwrap();
    s.runtime_put("canned", 0, "", "adm", 15).unwrap();
    let agents = s.runtime_list("agent:").unwrap();
    let seen: Vec<(&str, u64, &str)> = agents.iter().map(|e| (e.name.as_str(), e.version, e.value.as_str())).collect();
    assert_eq!(seen, vec![("agent:n_1", 2, r#"{"a":3}"#), ("agent:nx1", 1, "{}")]);
    assert_eq!(s.runtime_list("agent:n_").unwrap().len(), 1, "'_' is no wildcard");
    assert_eq!(s.runtime_list("canned").unwrap().len(), 1);
    assert_eq!(s.runtime_list("").unwrap().len(), 3);
}

/// Runs every conformance test against a store made by `$make` (an `Option<Box<dyn Store>>`;
/// `None` skips, for a database that is not available here, saying so).
macro_rules! conformance_suite {
    ($make:expr) => {
        $crate::store::conformance::conformance_suite!(@each $make;
            agent_writes_need_an_open_assigned_session,
            client_ids_are_idempotent_and_seq_is_gap_free,
            one_conversation_per_user_key,
            assignment_happens_once_and_loads_count,
            handoffs_are_single_use,
            handles_expire_blocks_tokens_and_secrets,
            retention_forgets_personal_data,
            receipts_only_rise_and_stop_at_the_last_message,
            channel_switches_are_stored_and_changed_in_place,
            a_session_returns_to_the_bot_and_frees_the_agent,
            attachment_rows_keep_the_blob_key_and_digest,
            one_users_data_is_exported_and_erased_and_no_one_elses,
            api_keys_and_session_paging_work,
            the_webhook_outbox_keeps_order_retries_and_replays,
            canned_answers_are_stored_whole,
            agent_accounts_change_field_by_field_and_sign_ins_end,
            runtime_entries_are_written_only_at_the_version_read);
    };
    (@each $make:expr; $($name:ident),*) => {
        $(
            #[test]
            fn $name() {
                let made: Option<Box<dyn $crate::store::Store>> = $make;
                match made {
                    Some(mut store) => $crate::store::conformance::$name(store.as_mut()),
                    None => eprintln!("skipped {}: the database is not available here", stringify!($name)),
                }
            }
        )*
    };
}
pub(crate) use conformance_suite;
