//! Issue 12, the operations side: role boundaries (each refused action tried, nothing changed),
//! ratings, notes, the live board, reports against figures computed here from the seed, the audit
//! log, and export and erasure of one user key.

use std::path::{Path, PathBuf};

use consult_gateway::store::{SessionMark, SqliteStore, Store};
use consult_sdk::protocol::{AgentCommand, AgentEvent, Body, CloseReason, LaunchRequest, SessionState, SessionSummary, VisitorCommand, VisitorEvent};
use serde_json::Value;

use crate::common::*;

/// An admin of "shop" only (`adm`, password `pw5`).
pub const SHOP_ADMIN: &str = r#"
[[agents]]
id = "adm"
name = "Admin Shop"
password = "pw5"
role = "admin"
max_chats = 2
channels = ["shop"]
"#;

/// The test configuration plus a supervisor and an admin of "shop" only.
fn ops_toml(db: &Path) -> String {
    config_toml(db, 1000)
        + r#"
[[agents]]
id = "supa"
name = "Sup Shop"
password = "pw4"
role = "supervisor"
max_chats = 2
channels = ["shop"]
"# + SHOP_ADMIN
}

async fn ops_server() -> (Server, PathBuf) {
    let db = temp_dir("ops").join("c.db");
    (Server::start_toml(&ops_toml(&db)).await, db)
}

pub async fn token(s: &Server, id: &str, pw: &str) -> String {
    let (status, token) = s.login(id, pw).await;
    assert_eq!(status, 200, "login {id}");
    token.unwrap()
}

async fn get(s: &Server, token: &str, path: &str) -> (u16, String) {
    let r = s.http.get(s.url(path)).bearer_auth(token).send().await.unwrap();
    (r.status().as_u16(), r.text().await.unwrap())
}

fn code_of(body: &str) -> String {
    serde_json::from_str::<Value>(body).map(|v| v["code"].as_str().unwrap_or_default().to_string()).unwrap_or_default()
}

pub async fn board(a: &mut Agent) -> (Vec<SessionSummary>, Vec<consult_sdk::protocol::BoardAgent>, Vec<consult_sdk::protocol::BoardQueue>) {
    a.cmd(&AgentCommand::Board).await;
    a.until(|e| match e {
        AgentEvent::Board { sessions, agents, queues, .. } => Some((sessions.clone(), agents.clone(), queues.clone())),
        _ => None,
    })
    .await
}

async fn notes_of(a: &mut Agent, session: &str) -> AgentEvent {
    a.until(|e| match e {
        AgentEvent::Notes { session: s, .. } if s == session => Some(e.clone()),
        _ => None,
    })
    .await
}

fn acked(e: &VisitorEvent, id: &str) -> Option<()> {
    matches!(e, VisitorEvent::Ack { client_id, .. } if client_id == id).then_some(())
}

#[tokio::test]
async fn every_refused_role_boundary_changes_nothing_and_supervisors_watch_note_reassign_take_over() {
    let (s, _) = ops_server().await;
    let mut a1 = s.agent("a1", "pw1").await;
    a1.available().await;
    let (handle, _) = s.anon("shop").await;
    let mut v = s.visitor(&handle, 0).await;
    v.say("c1", "where is my parcel").await;
    let shop = a1.assigned("a1").await.id;
    // Channel B: after hours, so it waits in the queue.
    let (night_handle, _) = s.anon("night-wait").await;
    let mut vn = s.visitor(&night_handle, 0).await;
    vn.say("n1", "hello at night").await;
    vn.until(|e| acked(e, "n1")).await;
    let mut sup = s.agent("sup", "pw3").await;
    let (sessions, _, queues) = board(&mut sup).await;
    let night = sessions.iter().find(|x| x.channel == "night-wait").expect("night session on the all-channel board").id.clone();
    assert!(queues.iter().any(|q| q.channel == "night-wait" && q.waiting == 1));

    // An agent calling supervisor actions: forbidden, even on their own chat.
    for cmd in [
        AgentCommand::Board,
        AgentCommand::Watch { session: shop.clone(), on: true },
        AgentCommand::Reassign { session: shop.clone(), to_agent: "a2".into() },
    ] {
        a1.cmd(&cmd).await;
        assert_eq!(a1.error_code().await, "forbidden", "{cmd:?}");
    }
    // An agent noting a chat that is not theirs.
    let mut a2 = s.agent("a2", "pw2").await;
    a2.cmd(&AgentCommand::Note { session: shop.clone(), text: "not mine".into() }).await;
    assert_eq!(a2.error_code().await, "not_assigned");
    // A supervisor of channel A on channel B: as if the session did not exist.
    let mut supa = s.agent("supa", "pw4").await;
    for cmd in [
        AgentCommand::Watch { session: night.clone(), on: true },
        AgentCommand::Reassign { session: night.clone(), to_agent: "supa".into() },
        AgentCommand::Note { session: night.clone(), text: "x".into() },
        AgentCommand::Open { session: night.clone(), after_seq: 0 },
        AgentCommand::Close { session: night.clone(), to_bot: false },
    ] {
        supa.cmd(&cmd).await;
        assert_eq!(supa.error_code().await, "not_found", "{cmd:?}");
    }
    let (seen, agents, _) = board(&mut supa).await;
    assert!(seen.iter().all(|x| x.channel == "shop"), "{seen:?}");
    assert!(agents.iter().any(|a| a.id == "a1" && a.load == 1 && a.chats == vec![shop.clone()] && a.status == "available"));
    // Over HTTP: reports need a supervisor, audit and privacy an admin, and only their channels.
    let (t_a1, t_supa, t_adm) = (token(&s, "a1", "pw1").await, token(&s, "supa", "pw4").await, token(&s, "adm", "pw5").await);
    let (st, body) = get(&s, &t_a1, "/v1/reports?by=day").await;
    assert_eq!((st, code_of(&body).as_str()), (403, "forbidden"));
    let (st, body) = get(&s, &t_supa, "/v1/reports?by=day&channel=night-wait").await;
    assert_eq!((st, code_of(&body).as_str()), (404, "not_found"));
    for path in ["/v1/admin/audit", "/v1/admin/users/export?channel=shop&user_key=x"] {
        let (st, body) = get(&s, &t_supa, path).await;
        assert_eq!((st, code_of(&body).as_str()), (403, "forbidden"), "{path}");
    }
    let erase = |t: &str, channel: &str| {
        s.http.post(s.url("/v1/admin/users/erase")).bearer_auth(t.to_string()).json(&serde_json::json!({"channel": channel, "user_key": "x"})).send()
    };
    let r = erase(&t_supa, "shop").await.unwrap();
    assert_eq!(r.status(), 403);
    let r = erase(&t_adm, "night-wait").await.unwrap();
    assert_eq!(r.status(), 404);
    let (st, _) = get(&s, &t_adm, "/v1/admin/users/export?channel=night-wait&user_key=x").await;
    assert_eq!(st, 404);
    // Nothing changed: the chat is still a1's, the night one still waits, no notes, no moves logged.
    let (sessions, _, _) = board(&mut sup).await;
    let state = |id: &str| sessions.iter().find(|x| x.id == id).map(|x| (x.state, x.agent.clone())).unwrap();
    assert_eq!(state(&shop), (SessionState::Assigned, Some("a1".into())));
    assert_eq!(state(&night), (SessionState::Queued, None));
    sup.cmd(&AgentCommand::Open { session: shop.clone(), after_seq: 0 }).await;
    assert!(matches!(notes_of(&mut sup, &shop).await, AgentEvent::Notes { notes, .. } if notes.is_empty()));
    let (_, audit) = get(&s, &t_adm, "/v1/admin/audit?action=reassign").await;
    assert_eq!(serde_json::from_str::<Value>(&audit).unwrap()["entries"].as_array().unwrap().len(), 0);

    // What a supervisor of the channel may do: watch live, note, reassign, take over.
    supa.cmd(&AgentCommand::Watch { session: shop.clone(), on: true }).await;
    supa.until(|e| matches!(e, AgentEvent::Message { session, .. } if *session == shop).then_some(())).await;
    v.say("c2", "it has been a week").await;
    supa.until(|e| match e {
        AgentEvent::Message { message, .. } if message.body == Body::Text { text: "it has been a week".into() } => Some(()),
        _ => None,
    })
    .await;
    supa.cmd(&AgentCommand::Note { session: shop.clone(), text: "check the refund rule".into() }).await;
    let note = notes_of(&mut a1, &shop).await;
    assert!(matches!(&note, AgentEvent::Notes { notes, .. } if notes.len() == 1 && notes[0].text == "check the refund rule" && notes[0].agent == "supa"));
    supa.cmd(&AgentCommand::Reassign { session: shop.clone(), to_agent: "a2".into() }).await;
    a2.assigned("a2").await;
    supa.cmd(&AgentCommand::Reassign { session: shop.clone(), to_agent: "supa".into() }).await;
    supa.assigned("supa").await;
    supa.say(&shop, "r1", "I have taken this over").await;
    let to_visitor = v.drain(800).await;
    let text = serde_json::to_string(&to_visitor).unwrap();
    assert!(text.contains("I have taken this over"), "{text}");
    assert!(!text.contains("check the refund rule"), "a note reached the visitor: {text}");
    let (_, audit) = get(&s, &t_adm, "/v1/admin/audit?action=reassign").await;
    let entries: Value = serde_json::from_str(&audit).unwrap();
    let lines = entries["entries"].as_array().unwrap();
    assert_eq!(lines.len(), 2, "{entries}");
    assert!(lines.iter().all(|l| l["actor"] == "supa" && l["target"] == shop.as_str()));
}

#[tokio::test]
async fn a_visitor_rates_a_closed_chat_once_and_the_agent_sees_it() {
    let (s, _) = ops_server().await;
    let mut a1 = s.agent("a1", "pw1").await;
    a1.available().await;
    let (handle, _) = s.anon("shop").await;
    let mut v = s.visitor(&handle, 0).await;
    v.say("c1", "hi").await;
    let session = a1.assigned("a1").await.id;
    v.cmd(&VisitorCommand::Rate { score: 5, comment: None }).await;
    assert_eq!(v.error_code().await, "bad_request", "no rating while the chat is open");
    a1.cmd(&AgentCommand::Close { session: session.clone(), to_bot: false }).await;
    v.until(|e| matches!(e, VisitorEvent::State { state: SessionState::Closed, .. }).then_some(())).await;
    v.cmd(&VisitorCommand::Rate { score: 6, comment: None }).await;
    assert_eq!(v.error_code().await, "bad_request");
    v.cmd(&VisitorCommand::Rate { score: 4, comment: Some("  quick, thanks ".into()) }).await;
    let rated = notes_of(&mut a1, &session).await;
    let AgentEvent::Notes { rating: Some(r), .. } = rated else { panic!("{rated:?}") };
    assert_eq!((r.score, r.comment.as_deref()), (4, Some("quick, thanks")));
    v.cmd(&VisitorCommand::Rate { score: 1, comment: None }).await;
    assert_eq!(v.error_code().await, "already_rated");
    a1.cmd(&AgentCommand::Open { session: session.clone(), after_seq: 0 }).await;
    let again = notes_of(&mut a1, &session).await;
    assert!(matches!(again, AgentEvent::Notes { rating: Some(r), .. } if r.score == 4), "the first rating stands");
}

/// One seeded session, in plain numbers; the expected report figures come from these, not from
/// the database.
struct Seed {
    day: u64,
    channel: &'static str,
    entry: &'static str,
    category: Option<&'static str>,
    /// None: the bot resolved it (never queued).
    queued_after_s: Option<u64>,
    /// None: left while waiting.
    wait_s: Option<u64>,
    reply_after_s: Option<u64>,
    handle_s: u64,
    transfers: u32,
    rating: Option<u8>,
}

const SEEDS: &[Seed] = &[
    Seed { day: 0, channel: "shop", entry: "product", category: Some("orders"), queued_after_s: Some(0), wait_s: Some(30), reply_after_s: Some(40), handle_s: 300, transfers: 0, rating: Some(5) },
    Seed { day: 0, channel: "shop", entry: "product", category: Some("orders"), queued_after_s: Some(0), wait_s: Some(90), reply_after_s: Some(120), handle_s: 600, transfers: 1, rating: Some(3) },
    Seed { day: 0, channel: "shop", entry: "order-help", category: None, queued_after_s: Some(0), wait_s: None, reply_after_s: None, handle_s: 0, transfers: 0, rating: None },
    Seed { day: 1, channel: "botshop", entry: "banner", category: None, queued_after_s: None, wait_s: None, reply_after_s: None, handle_s: 0, transfers: 0, rating: None },
    Seed { day: 1, channel: "botshop", entry: "banner", category: Some("refunds"), queued_after_s: Some(20), wait_s: Some(10), reply_after_s: Some(15), handle_s: 120, transfers: 0, rating: None },
    Seed { day: 1, channel: "shop", entry: "product", category: None, queued_after_s: Some(0), wait_s: Some(200), reply_after_s: Some(260), handle_s: 900, transfers: 2, rating: Some(4) },
    Seed { day: 2, channel: "shop", entry: "order-help", category: None, queued_after_s: Some(0), wait_s: Some(5), reply_after_s: Some(8), handle_s: 60, transfers: 0, rating: Some(2) },
];

/// 2026-03-02 00:00 UTC plus a few hours, so every seed day is one calendar day.
const BASE_MS: u64 = 1_772_416_800_000 + 9 * 3_600_000;

fn seed_history(db: &Path) {
    let mut st = SqliteStore::open(db, false).unwrap();
    for (i, seed) in SEEDS.iter().enumerate() {
        let t0 = BASE_MS + seed.day * 86_400_000 + i as u64 * 60_000;
        let ctx = consult_gateway::store::LaunchContext::default();
        let handle = st.launch(seed.channel, &format!("u{i}"), &ctx, t0).unwrap();
        let conv = st.resolve_handle(&handle, t0).unwrap().unwrap();
        let open_as = match seed.queued_after_s {
            Some(0) => consult_gateway::store::OpenAs::Queued(seed.category.map(Into::into)),
            _ => consult_gateway::store::OpenAs::Bot,
        };
        let w = st.visitor_write(&conv.id, "c", &Body::Text { text: "hi".into() }, &open_as, t0).unwrap();
        let id = w.session.id.clone();
        st.mark_session(&id, &SessionMark::Opened { entry: seed.entry.into() }, t0).unwrap();
        let Some(q) = seed.queued_after_s else {
            st.close_session(&id, CloseReason::VisitorLeft, "bye", t0 + 45_000).unwrap().unwrap();
            continue;
        };
        let tq = t0 + q * 1000;
        if q > 0 {
            st.queue_session(&id, seed.category, tq).unwrap().unwrap();
        }
        st.mark_session(&id, &SessionMark::Queued, tq).unwrap();
        let Some(wait) = seed.wait_s else {
            st.close_session(&id, CloseReason::VisitorLeft, "bye", tq + 400_000).unwrap().unwrap();
            continue;
        };
        let ta = tq + wait * 1000;
        st.assign(&id, "a1", None).unwrap().unwrap();
        st.mark_session(&id, &SessionMark::Assigned, ta).unwrap();
        let mut holder = "a1";
        for k in 0..seed.transfers {
            let to = if k % 2 == 0 { "a2" } else { "a1" };
            st.assign(&id, to, Some(holder)).unwrap().unwrap();
            st.mark_session(&id, &SessionMark::Transfer, ta + 1000).unwrap();
            holder = to;
        }
        let tr = tq + seed.reply_after_s.unwrap() * 1000;
        st.agent_write(&id, holder, "A", "r", &Body::Text { text: "hello".into() }, tr).unwrap().unwrap();
        st.mark_session(&id, &SessionMark::FirstReply, tr).unwrap();
        st.close_session(&id, CloseReason::AgentClosed, "bye", ta + seed.handle_s * 1000).unwrap().unwrap();
        if let Some(r) = seed.rating {
            assert!(st.rate_session(&id, r, None, ta + seed.handle_s * 1000 + 5000).unwrap());
        }
    }
}

/// The CSV line the report must print for these seeds, computed from the seed numbers alone.
fn expected_line(group: &str, key: &str, seeds: &[&Seed]) -> String {
    let n = seeds.len();
    let bot = seeds.iter().filter(|s| s.queued_after_s.is_none()).count();
    let mut replies: Vec<u64> = seeds.iter().filter(|s| s.wait_s.is_some()).map(|s| s.reply_after_s.unwrap() * 1000).collect();
    replies.sort();
    // Nearest rank: the smallest value with at least p% of the values at or below it.
    let pct = |p: f64| -> String {
        if replies.is_empty() {
            return String::new();
        }
        let rank = ((p / 100.0) * replies.len() as f64).ceil().max(1.0) as usize;
        format!("{:.1}", replies[rank - 1] as f64 / 1000.0)
    };
    let handled: Vec<u64> = seeds.iter().filter(|s| s.wait_s.is_some()).map(|s| s.handle_s * 1000).collect();
    let handle = if handled.is_empty() { String::new() } else { format!("{:.1}", (handled.iter().sum::<u64>() / handled.len() as u64) as f64 / 1000.0) };
    let transfers: u32 = seeds.iter().map(|s| s.transfers).sum();
    let left = seeds.iter().filter(|s| s.queued_after_s.is_some() && s.wait_s.is_none()).count();
    let ratings: Vec<u8> = seeds.iter().filter_map(|s| s.rating).collect();
    let asked = seeds.iter().filter(|s| s.wait_s.is_some()).count();
    let avg = if ratings.is_empty() { String::new() } else { format!("{:.2}", ratings.iter().map(|&r| f64::from(r)).sum::<f64>() / ratings.len() as f64) };
    let rate = if asked == 0 { String::new() } else { format!("{:.3}", ratings.len() as f64 / asked as f64) };
    format!(
        "{group},{key},{n},{bot},{:.3},{},{},{handle},{transfers},{left},{avg},{},{asked},{rate}",
        bot as f64 / n as f64,
        pct(50.0),
        pct(90.0),
        ratings.len()
    )
}

#[tokio::test]
async fn reports_match_figures_computed_from_the_seeded_history() {
    let db = temp_dir("reports").join("c.db");
    seed_history(&db);
    let s = Server::start_toml(&ops_toml(&db)).await;
    let t = token(&s, "sup", "pw3").await;
    let period = "from=2026-03-02&to=2026-03-04";
    let day = |d: u64| consult_gateway::reports::day_of(BASE_MS + d * 86_400_000, &jiff::tz::TimeZone::UTC);
    type Key = fn(&Seed) -> String;
    let groups: [(&str, Key); 4] = [
        ("entry", |s| s.entry.to_string()),
        ("channel", |s| s.channel.to_string()),
        ("category", |s| s.category.unwrap_or("(none)").to_string()),
        ("agent", |s| if s.wait_s.is_some() { if s.transfers % 2 == 1 { "a2" } else { "a1" }.to_string() } else { "(none)".into() }),
    ];
    for (group, key) in groups {
        let (st, csv) = get(&s, &t, &format!("/v1/reports?by={group}&{period}&format=csv")).await;
        assert_eq!(st, 200, "{csv}");
        let mut keys: Vec<String> = SEEDS.iter().map(key).collect();
        keys.sort();
        keys.dedup();
        let mut want = vec![consult_gateway::reports::CSV_HEADER.to_string()];
        for k in &keys {
            want.push(expected_line(group, k, &SEEDS.iter().filter(|s| key(s) == *k).collect::<Vec<_>>()));
        }
        want.push(expected_line(group, "total", &SEEDS.iter().collect::<Vec<_>>()));
        assert_eq!(csv.lines().collect::<Vec<_>>(), want, "by {group}");
    }
    // Per day, and one day's window leaves the others out.
    let (_, csv) = get(&s, &t, &format!("/v1/reports?by=day&{period}&format=csv")).await;
    for d in 0..3 {
        let seeds: Vec<&Seed> = SEEDS.iter().filter(|s| s.day == d).collect();
        assert!(csv.lines().any(|l| l == expected_line("day", &day(d), &seeds)), "day {d}: {csv}");
    }
    let (_, one) = get(&s, &t, "/v1/reports?by=day&from=2026-03-03&to=2026-03-03").await;
    let one: Value = serde_json::from_str(&one).unwrap();
    assert_eq!(one["lines"].as_array().unwrap().last().unwrap()["sessions"], 3);
    assert_eq!((one["from"].as_str(), one["to"].as_str(), one["time_zone"].as_str()), (Some("2026-03-03"), Some("2026-03-03"), Some("UTC")), "the days it covers: {one}");
    // The chart draws one bar per group with its figure; the CSV export was audited.
    let (st, svg) = get(&s, &t, &format!("/v1/reports/chart.svg?by=entry&metric=sessions&{period}")).await;
    assert_eq!(st, 200);
    assert_eq!(svg.matches("<rect x=").count(), 3, "{svg}");
    assert!(svg.contains(">product<") && svg.contains(">3<"), "{svg}");
    let (_, csat) = get(&s, &t, &format!("/v1/reports/chart.svg?by=channel&metric=csat&{period}")).await;
    assert!(csat.contains(">3.5<"), "shop's mean rating (5+3+4+2)/4: {csat}");
    let conn = rusqlite::Connection::open(&db).unwrap();
    let exports: i64 = conn.query_row("SELECT COUNT(*) FROM audit_log WHERE action = 'export' AND actor = 'sup'", [], |r| r.get(0)).unwrap();
    assert_eq!(exports, 5);
    let (st, body) = get(&s, &t, "/v1/reports?by=week").await;
    assert_eq!((st, code_of(&body).as_str()), (400, "bad_request"));
}

#[tokio::test]
async fn the_audit_log_records_sign_ins_blocks_closes_and_exports_filters_and_refuses_edits() {
    let (s, db) = ops_server().await;
    let mut a1 = s.agent("a1", "pw1").await;
    a1.available().await;
    for i in 0..2 {
        let (handle, _) = s.anon("shop").await;
        let mut v = s.visitor(&handle, 0).await;
        v.say("c", "hi").await;
        let id = a1.assigned("a1").await.id;
        if i == 0 {
            a1.cmd(&AgentCommand::Close { session: id, to_bot: false }).await;
        } else {
            a1.cmd(&AgentCommand::Block { session: id, days: 2, reason: "abuse".into() }).await;
        }
        v.drain(300).await;
    }
    let t = token(&s, "adm", "pw5").await;
    let (_, all) = get(&s, &t, "/v1/admin/audit").await;
    let all: Value = serde_json::from_str(&all).unwrap();
    let actions: Vec<&str> = all["entries"].as_array().unwrap().iter().map(|e| e["action"].as_str().unwrap()).collect();
    for a in ["sign_in", "close", "block"] {
        assert!(actions.contains(&a), "{a} in {actions:?}");
    }
    let (_, blocks) = get(&s, &t, "/v1/admin/audit?action=block&actor=a1").await;
    let blocks: Value = serde_json::from_str(&blocks).unwrap();
    let blocks = blocks["entries"].as_array().unwrap();
    assert_eq!(blocks.len(), 1);
    assert_eq!(blocks[0]["detail"], "2 days: abuse");
    let (st, csv) = get(&s, &t, "/v1/admin/audit?format=csv&action=sign_in").await;
    assert_eq!(st, 200);
    assert!(csv.starts_with("id,at,actor,action,channel,target,detail\n"));
    assert_eq!(csv.lines().count(), 3, "header, a1 and adm signing in: {csv}");
    let (_, after) = get(&s, &t, "/v1/admin/audit?action=export").await;
    assert!(after.contains("audit csv"), "the export itself is logged: {after}");
    // Append-only, even to someone with the database file.
    let conn = rusqlite::Connection::open(&db).unwrap();
    assert!(conn.execute("UPDATE audit_log SET actor = 'nobody'", []).is_err());
    assert!(conn.execute("DELETE FROM audit_log", []).is_err());
}

#[tokio::test]
async fn erasing_a_user_key_leaves_no_message_attachment_context_or_membership_and_keeps_counts() {
    let (s, db) = ops_server().await;
    let mut a1 = s.agent("a1", "pw1").await;
    a1.available().await;
    let token_m = button_token("shop", Some("m-4242"));
    let (handle, _) = s.launch_ok(&LaunchRequest { channel: "shop".into(), token: Some(token_m), ..Default::default() }).await;
    let mut v = s.visitor(&handle, 0).await;
    v.say("c1", "my address is 12 Secret Street").await;
    let sum = a1.assigned("a1").await;
    let (session, user_key) = (sum.id.clone(), sum.user_key.clone());
    let up = s.http.post(s.url("/v1/uploads?name=receipt.txt")).header("x-consult-session", &handle).body("receipt 4242").send().await.unwrap();
    assert_eq!(up.status(), 200);
    let attachment = up.json::<Value>().await.unwrap()["attachment"].as_str().unwrap().to_string();
    v.cmd(&VisitorCommand::Send { client_id: "c2".into(), body: Body::File { attachment: attachment.clone(), name: String::new(), mime: String::new(), size: 0 } }).await;
    v.until(|e| acked(e, "c2")).await;
    a1.cmd(&AgentCommand::Note { session: session.clone(), text: "VIP, lives at Secret Street".into() }).await;
    a1.cmd(&AgentCommand::Tag { session: session.clone(), tags: vec!["vip".into()] }).await;
    a1.cmd(&AgentCommand::Close { session: session.clone(), to_bot: false }).await;
    v.until(|e| matches!(e, VisitorEvent::State { state: SessionState::Closed, .. }).then_some(())).await;
    v.cmd(&VisitorCommand::Rate { score: 5, comment: Some("thanks Secret Street".into()) }).await;
    notes_of(&mut a1, &session).await;
    let t = token(&s, "adm", "pw5").await;
    let (st, export) = get(&s, &t, &format!("/v1/admin/users/export?channel=shop&user_key={user_key}")).await;
    assert_eq!(st, 200);
    for needle in ["12 Secret Street", "m-4242", "receipt.txt", "VIP, lives at", "thanks Secret Street", "vip"] {
        assert!(export.contains(needle), "export has {needle}: {export}");
    }
    let r = s.http.post(s.url("/v1/admin/users/erase")).bearer_auth(&t).json(&serde_json::json!({"channel": "shop", "user_key": user_key})).send().await.unwrap();
    assert_eq!(r.status(), 200);
    let counts: Value = r.json().await.unwrap();
    assert_eq!(counts["sessions"], 1);
    assert!(counts["messages"].as_u64().unwrap() >= 3, "{counts}");
    assert_eq!(counts["attachments"], 1);
    // Nothing of theirs is left anywhere in the database.
    let conn = rusqlite::Connection::open(&db).unwrap();
    let dump: Vec<String> = ["messages", "attachments", "handles", "conversations", "session_tags", "session_notes", "blocks", "sessions"]
        .iter()
        .flat_map(|t| {
            let mut st = conn.prepare(&format!("SELECT * FROM {t}")).unwrap();
            let n = st.column_count();
            st.query_map([], |r| Ok((0..n).map(|i| format!("{:?}", r.get_ref(i).unwrap())).collect::<Vec<_>>().join("|"))).unwrap().map(Result::unwrap).collect::<Vec<_>>()
        })
        .collect();
    for needle in ["Secret Street", "m-4242", "Kim", "receipt", user_key.as_str(), "vip"] {
        assert!(dump.iter().all(|row| !row.contains(needle)), "{needle} left in {dump:#?}");
    }
    let left: i64 = conn.query_row("SELECT COUNT(*) FROM messages", [], |r| r.get(0)).unwrap();
    assert_eq!(left, 0);
    // The handle is dead, the attachment gone, and the report still counts the rated session.
    assert_eq!(s.visitor_refusal(&handle).await.as_deref(), Some("unknown_session"));
    let (_, sup_csv) = get(&s, &token(&s, "sup", "pw3").await, "/v1/reports?by=channel&format=csv").await;
    assert!(sup_csv.lines().any(|l| l.starts_with("channel,shop,1,0,") && l.ends_with(",5.00,1,1,1.000")), "{sup_csv}");
    let (_, export) = get(&s, &t, &format!("/v1/admin/users/export?channel=shop&user_key={user_key}")).await;
    let export: Value = serde_json::from_str(&export).unwrap();
    for k in ["conversations", "sessions", "messages", "attachments"] {
        assert_eq!(export[k].as_array().unwrap().len(), 0, "{k}");
    }
    let (_, audit) = get(&s, &t, "/v1/admin/audit?action=erase").await;
    assert!(audit.contains("erased: 1 sessions"), "{audit}");
}

fn wait_of(events: &[VisitorEvent]) -> Option<u32> {
    events.iter().find_map(|e| match e {
        VisitorEvent::Wait { secs } => Some(*secs),
        _ => None,
    })
}

#[tokio::test]
async fn queued_visitors_get_a_wait_estimate_only_from_recent_assignments() {
    let (s, _) = ops_server().await;
    // Nobody was ever assigned on this channel: no estimate, rather than a made-up one.
    let (h1, _) = s.anon("shop").await;
    let mut v1 = s.visitor(&h1, 0).await;
    v1.say("c", "first").await;
    let early = v1.drain(600).await;
    assert!(early.iter().any(|e| matches!(e, VisitorEvent::State { queue_position: Some(1), .. })), "{early:?}");
    assert_eq!(wait_of(&early), None);
    // a1 (two slots) takes it and one more: two recent waits, both well under a minute.
    let mut a1 = s.agent("a1", "pw1").await;
    a1.available().await;
    a1.assigned("a1").await;
    let (h2, _) = s.anon("shop").await;
    let mut v2 = s.visitor(&h2, 0).await;
    v2.say("c", "second").await;
    a1.assigned("a1").await;
    // Now a1 is full: the next visitors queue, and hear about how long (30 s a place at least).
    let (h3, _) = s.anon("shop").await;
    let mut v3 = s.visitor(&h3, 0).await;
    v3.say("c", "third").await;
    assert_eq!(wait_of(&v3.drain(600).await), Some(30));
    let (h4, _) = s.anon("shop").await;
    let mut v4 = s.visitor(&h4, 0).await;
    v4.say("c", "fourth").await;
    assert_eq!(wait_of(&v4.drain(600).await), Some(60), "second in the queue: twice the wait");
    // Reconnecting while queued: the welcome comes with it again.
    drop(v4);
    let mut again = s.visitor(&h4, 0).await;
    assert_eq!(wait_of(&again.drain(600).await), Some(60));
}
