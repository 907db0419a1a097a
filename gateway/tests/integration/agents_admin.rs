//! Agents created and changed at runtime by an admin: role boundaries, refused changes that
//! change nothing, the version check, a created agent signing in and taking a routed chat, and
//! a max chats change taking effect at once.

use consult_sdk::protocol::{AgentCommand, AgentEvent, SessionState, VisitorEvent};
use serde_json::{Value, json};

use crate::common::*;
use crate::counsel::start;
use crate::ops::SHOP_ADMIN;

/// An agent of "brief" only: outside the shop admin's reach.
const BRIEF_ONLY: &str = r#"
[[agents]]
id = "b1"
name = "Brief One"
password = "pw6"
max_chats = 2
channels = ["brief"]
"#;

async fn post(s: &Server, token: &str, path: &str, body: Value) -> (u16, Value) {
    let r = s.http.post(s.url(path)).bearer_auth(token).json(&body).send().await.unwrap();
    (r.status().as_u16(), r.json().await.unwrap_or(Value::Null))
}

async fn list(s: &Server, token: &str) -> Vec<Value> {
    let v: Value = s.http.get(s.url("/v1/admin/agents")).bearer_auth(token).send().await.unwrap().json().await.unwrap();
    v.as_array().cloned().unwrap_or_default()
}

async fn token(s: &Server, id: &str, pw: &str) -> String {
    let (st, t) = s.login(id, pw).await;
    assert_eq!(st, 200, "sign-in of {id}");
    t.unwrap()
}

fn new_agent(id: &str, channels: &[&str]) -> Value {
    json!({"id": id, "name": "New Agent", "password": "new-agent-pw-1", "channels": channels, "skills": ["general"], "max_chats": 1, "team": "night"})
}

#[tokio::test]
async fn an_admin_creates_an_agent_who_signs_in_and_takes_a_routed_chat() {
    let (s, config) = start("agents-create", &format!("{SHOP_ADMIN}{BRIEF_ONLY}")).await;
    let admin = token(&s, "adm", "pw5").await;
    let before = list(&s, &admin).await;
    assert!(before.iter().all(|a| a["id"] != "b1"), "an agent of brief only is not the shop admin's: {before:?}");

    // Refused: an agent, a supervisor; the shop admin on brief (create there, or change b1).
    let a1 = token(&s, "a1", "pw1").await;
    let sup = token(&s, "sup", "pw3").await;
    assert_eq!(post(&s, &a1, "/v1/admin/agents", new_agent("n1", &["shop"])).await.0, 403, "an agent is not an admin");
    assert_eq!(post(&s, &sup, "/v1/admin/agents", new_agent("n1", &["shop"])).await.0, 403, "a supervisor is not an admin");
    let (st, b) = post(&s, &admin, "/v1/admin/agents", new_agent("n1", &["brief"])).await;
    assert_eq!((st, b["code"].as_str()), (400, Some("bad_request")), "brief is not the shop admin's: {b}");
    let (st, _) = post(&s, &admin, "/v1/admin/agents/b1", json!({"max_chats": 5, "version": 0})).await;
    assert_eq!(st, 404, "b1 works brief only");

    // Invalid: each refused with a typed error, nothing created.
    let mut bad = vec![
        json!({"id": "Bad Id", "name": "x", "password": "long-enough-1", "channels": ["shop"], "max_chats": 1}),
        json!({"id": "n1", "name": "", "password": "long-enough-1", "channels": ["shop"], "max_chats": 1}),
        json!({"id": "n1", "name": "x", "password": "short", "channels": ["shop"], "max_chats": 1}),
        json!({"id": "n1", "name": "x", "password": "long-enough-1", "channels": [], "max_chats": 1}),
        json!({"id": "n1", "name": "x", "password": "long-enough-1", "channels": ["shop"], "max_chats": 0}),
        json!({"id": "n1", "name": "x", "password": "long-enough-1", "channels": ["shop"], "max_chats": 1, "role": "boss"}),
    ];
    bad.push(json!({"id": "a1", "name": "x", "password": "long-enough-1", "channels": ["shop"], "max_chats": 1}));
    for (i, body) in bad.iter().enumerate() {
        let (st, b) = post(&s, &admin, "/v1/admin/agents", body.clone()).await;
        let want = if i == bad.len() - 1 { (409, "conflict") } else { (400, "bad_request") };
        assert_eq!((st, b["code"].as_str().unwrap_or_default()), want, "{body}: {b}");
    }
    assert_eq!(list(&s, &admin).await, before, "refused creations change nothing");
    assert_eq!(s.login("n1", "long-enough-1").await.0, 401);

    // Created: listed with its version, audited, and it signs in and takes a chat at once.
    let (st, b) = post(&s, &admin, "/v1/admin/agents", new_agent("n1", &["shop"])).await;
    assert_eq!(st, 200, "{b}");
    assert_eq!((b["version"].as_u64(), b["team"].as_str(), b["max_chats"].as_u64()), (Some(1), Some("night"), Some(1)), "{b}");
    let (st, b) = post(&s, &admin, "/v1/admin/agents", new_agent("n1", &["shop"])).await;
    assert_eq!((st, b["code"].as_str()), (409, Some("conflict")), "the same id twice");
    let mut desk = s.agent("n1", "new-agent-pw-1").await;
    desk.available().await;
    let (handle, _) = s.anon("shop").await;
    let mut v = s.visitor(&handle, 0).await;
    v.say("v1", "hello, anyone?").await;
    let chat = desk.assigned("n1").await;
    assert_eq!(chat.channel, "shop");
    let name = v.until(|e| match e { VisitorEvent::State { state: SessionState::Assigned, agent_name, .. } => agent_name.clone(), _ => None }).await;
    assert_eq!(name, "New Agent");
    let audit: Value = s.http.get(s.url("/v1/admin/audit?action=agent")).bearer_auth(&admin).send().await.unwrap().json().await.unwrap();
    let created = audit["entries"].as_array().unwrap().iter().any(|e| e["target"] == "n1" && e["detail"].as_str().is_some_and(|d| d.starts_with("created")));
    assert!(created, "{audit}");

    // A restart on the same database: the created agent is still there.
    let toml = std::fs::read_to_string(&config).unwrap();
    drop((desk, v, s));
    let again = Server::start_toml(&toml).await;
    assert_eq!(again.login("n1", "new-agent-pw-1").await.0, 200, "the database keeps created agents");
}

#[tokio::test]
async fn a_max_chats_change_takes_effect_at_once_and_a_stale_version_is_refused() {
    let (s, _) = start("agents-edit", SHOP_ADMIN).await;
    let admin = token(&s, "adm", "pw5").await;
    let mut a1 = s.agent("a1", "pw1").await;
    a1.available().await;
    // a1 (max 2) is the only one available: the third chat waits.
    let mut visitors = Vec::new();
    for i in 0..3 {
        let (handle, _) = s.anon("shop").await;
        let mut v = s.visitor(&handle, 0).await;
        v.say("hi", &format!("visitor {i}")).await;
        v.until(|e| matches!(e, VisitorEvent::Ack { .. }).then_some(())).await;
        visitors.push(v);
    }
    a1.assigned("a1").await;
    a1.assigned("a1").await;
    let third = &mut visitors[2];

    // Refused: an agent and a supervisor; invalid values change nothing.
    let a1_token = token(&s, "a1", "pw1").await;
    let sup = token(&s, "sup", "pw3").await;
    assert_eq!(post(&s, &a1_token, "/v1/admin/agents/a1", json!({"max_chats": 3, "version": 0})).await.0, 403);
    assert_eq!(post(&s, &sup, "/v1/admin/agents/a1", json!({"max_chats": 3, "version": 0})).await.0, 403);
    for body in [json!({"max_chats": 0, "version": 0}), json!({"max_chats": 101, "version": 0}), json!({"skills": ["x".repeat(65)], "version": 0}), json!({"max_chats": 3})] {
        let (st, b) = post(&s, &admin, "/v1/admin/agents/a1", body.clone()).await;
        assert_eq!((st, b["code"].as_str()), (400, Some("bad_request")), "{body}: {b}");
    }
    let a1_now = |l: Vec<Value>| l.into_iter().find(|a| a["id"] == "a1").unwrap();
    let seen = a1_now(list(&s, &admin).await);
    assert_eq!((seen["max_chats"].as_u64(), seen["version"].as_u64()), (Some(2), Some(0)), "{seen}");

    // Raised to 3: the waiting chat goes to a1 at once, and the board shows it.
    let (st, b) = post(&s, &admin, "/v1/admin/agents/a1", json!({"max_chats": 3, "team": "day", "version": 0})).await;
    assert_eq!((st, b["max_chats"].as_u64(), b["version"].as_u64()), (200, Some(3), Some(1)), "{b}");
    a1.assigned("a1").await;
    third.until(|e| matches!(e, VisitorEvent::State { state: SessionState::Assigned, .. }).then_some(())).await;
    let mut board = s.agent("adm", "pw5").await;
    board.cmd(&AgentCommand::Board).await;
    let agents = board.until(|e| match e { AgentEvent::Board { agents, .. } => Some(agents.clone()), _ => None }).await;
    let on_board = agents.iter().find(|a| a.id == "a1").unwrap();
    assert_eq!((on_board.max_chats, on_board.load), (3, 3));

    // A second admin still holding version 0 would undo it: refused, nothing changed.
    let (st, b) = post(&s, &admin, "/v1/admin/agents/a1", json!({"max_chats": 1, "version": 0})).await;
    assert_eq!((st, b["code"].as_str()), (409, Some("conflict")), "{b}");
    let seen = a1_now(list(&s, &admin).await);
    assert_eq!((seen["max_chats"].as_u64(), seen["team"].as_str(), seen["version"].as_u64()), (Some(3), Some("day"), Some(1)), "{seen}");
    let audit: Value = s.http.get(s.url("/v1/admin/audit?action=agent")).bearer_auth(&admin).send().await.unwrap().json().await.unwrap();
    assert_eq!(audit["entries"].as_array().map(Vec::len), Some(1), "only the accepted change is audited: {audit}");
}

/// The board shows each agent's team, and a team an admin gives follows at once.
#[tokio::test]
async fn the_board_shows_the_team_an_admin_gives() {
    let (s, _) = start("agents-team", SHOP_ADMIN).await;
    let admin = token(&s, "adm", "pw5").await;
    let mut sup = s.agent("sup", "pw3").await;
    let team_of = |agents: &[consult_sdk::protocol::BoardAgent], id: &str| agents.iter().find(|a| a.id == id).map(|a| a.team.clone());
    let (_, agents, _) = crate::ops::board(&mut sup).await;
    assert_eq!(team_of(&agents, "a1"), Some(None), "no team in the file");
    let (st, b) = post(&s, &admin, "/v1/admin/agents/a1", json!({"team": "Orders", "version": 0})).await;
    assert_eq!(st, 200, "{b}");
    let (_, agents, _) = crate::ops::board(&mut sup).await;
    assert_eq!(team_of(&agents, "a1"), Some(Some("Orders".to_string())));
    assert_eq!(team_of(&agents, "sup"), Some(None));
}
