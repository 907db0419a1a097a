//! Three gateway nodes on one PostgreSQL database (a throwaway server from tests/pg-temp.sh):
//! the rules hold across nodes and a chat works whichever node each side is on.

use std::sync::OnceLock;
use std::time::Duration;

use consult_sdk::protocol::{AgentEvent, SessionState, VisitorEvent};

use crate::common::*;

/// The test process's PostgreSQL server, or `None` (the test says it skipped) where it can't run.
fn server() -> Option<&'static str> {
    static URL: OnceLock<Option<String>> = OnceLock::new();
    URL.get_or_init(|| {
        let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/pg-temp.sh");
        let dir = std::env::temp_dir().join(format!("consult-it-pg-{}", std::process::id()));
        let port = (40_000 + std::process::id() % 20_000).to_string();
        let pid = std::process::id().to_string();
        let out = std::process::Command::new("sh").arg(script).arg("start").arg(&dir).args([&port, &pid]).output().ok()?;
        if !out.status.success() {
            eprintln!("PostgreSQL unavailable, cluster tests skipped: {}", String::from_utf8_lossy(&out.stderr));
            return None;
        }
        Some(String::from_utf8_lossy(&out.stdout).trim().to_string())
    })
    .as_deref()
}

/// A fresh database and three nodes on it.
async fn cluster() -> Option<[Server; 3]> {
    let url = server()?;
    let name = format!("c{}", consult_gateway::identity::random_token(9).to_ascii_lowercase().replace(['-', '_'], "x"));
    let admin = url.to_string();
    let created = std::thread::spawn(move || {
        let mut c = postgres::Client::connect(&admin, postgres::NoTls)?;
        c.batch_execute(&format!("CREATE DATABASE {name}")).map(|()| name)
    })
    .join()
    .unwrap()
    .expect("creating the test database");
    let db = format!("{}/{created}", url.rsplit_once('/').unwrap().0);
    let toml = config_toml(std::path::Path::new(&db), 100_000);
    Some([Server::start_toml(&toml).await, Server::start_toml(&toml).await, Server::start_toml(&toml).await])
}

/// Waits (up to 15 s) for a session assigned to `agent`, skipping the node's other events.
async fn assigned(a: &mut Agent, agent: &str) -> consult_sdk::protocol::SessionSummary {
    tokio::time::timeout(Duration::from_secs(15), async {
        loop {
            match a.next().await {
                Some(AgentEvent::Session { session }) if session.agent.as_deref() == Some(agent) && session.state == SessionState::Assigned => {
                    return session;
                }
                Some(_) => {}
                None => panic!("the agent's socket closed or went quiet"),
            }
        }
    })
    .await
    .expect("no assignment reached the agent's node")
}

#[tokio::test]
async fn a_visitor_on_one_node_and_an_agent_on_another_chat() {
    let Some([n1, n2, _n3]) = cluster().await else { return };
    // Signed in on node 2; the sign-in lives in the shared database.
    let mut agent = n2.agent("a1", "pw1").await;
    agent.available().await;
    // Presence reaches node 1 with the next heartbeat.
    tokio::time::sleep(Duration::from_secs(4)).await;
    let (handle, _) = n1.anon("shop").await;
    let mut visitor = n1.visitor(&handle, 0).await;
    visitor.say("v1", "hello from node 1").await;
    let session = assigned(&mut agent, "a1").await;
    agent.say(&session.id, "a1", "hello from node 2").await;
    let reply = visitor
        .until(|e| match e {
            VisitorEvent::Message { message } if message.client_id.as_deref() == Some("a1") => Some(message.clone()),
            _ => None,
        })
        .await;
    assert_eq!(reply.seq, 2, "stored once, in order after the visitor's message");
    // The visitor's next message reaches the agent on the other node.
    visitor.say("v2", "thanks").await;
    let seen = tokio::time::timeout(Duration::from_secs(5), agent.until(|e| match e {
        AgentEvent::Message { message, .. } if message.client_id.as_deref() == Some("v2") => Some(message.seq),
        _ => None,
    }))
    .await
    .expect("the visitor's message reached node 2");
    assert_eq!(seen, 3);
}

#[tokio::test]
async fn one_member_launching_on_three_nodes_gets_one_open_session() {
    let Some(nodes) = cluster().await else { return };
    let token = button_token("shop", Some("m-77"));
    let req = consult_sdk::protocol::LaunchRequest { channel: "shop".into(), token: Some(token), ..Default::default() };
    // 60 launches spread over the nodes, each followed at once by a first message.
    let tries = (0..60).map(|i| {
        let (node, req) = (&nodes[i % 3], req.clone());
        async move {
            let (handle, _) = node.launch_ok(&req).await;
            let mut v = node.visitor(&handle, 0).await;
            v.say(&format!("c{i}"), "hi").await;
            v.until(|e| match e {
                VisitorEvent::Ack { seq, .. } => Some(*seq),
                VisitorEvent::Error { code, .. } => panic!("refused: {code}"),
                _ => None,
            })
            .await
        }
    });
    let mut seqs = futures_util::future::join_all(tries).await;
    seqs.sort();
    assert_eq!(seqs, (1..=60).collect::<Vec<_>>(), "every message once, gap-free across nodes");
    let mut sup = nodes[1].agent("sup", "pw3").await;
    let queue = sup
        .until(|e| match e {
            AgentEvent::Welcome { queue, .. } => Some(queue.clone()),
            _ => None,
        })
        .await;
    assert_eq!(queue.len(), 1, "one open session for the member: {queue:?}");
}

#[tokio::test]
async fn a_queue_drained_by_three_nodes_never_puts_an_agent_over_max_chats() {
    let Some(nodes) = cluster().await else { return };
    // 12 visitors waiting, spread over the nodes.
    let mut visitors = Vec::new();
    for i in 0..12 {
        let node = &nodes[i % 3];
        let (handle, _) = node.anon("shop").await;
        let mut v = node.visitor(&handle, 0).await;
        v.say("c1", "waiting").await;
        v.until(|e| matches!(e, VisitorEvent::Ack { .. }).then_some(())).await;
        visitors.push(v);
    }
    // a1 (max_chats = 2) becomes available on node 3; every node routes its queue meanwhile.
    let mut a1 = nodes[2].agent("a1", "pw1").await;
    a1.available().await;
    tokio::time::sleep(Duration::from_secs(6)).await;
    let mut sup = nodes[0].agent("sup", "pw3").await;
    let (queue, _) = sup
        .until(|e| match e {
            AgentEvent::Welcome { queue, chats, .. } => Some((queue.clone(), chats.clone())),
            _ => None,
        })
        .await;
    assert_eq!(queue.len(), 10, "exactly two of twelve were assigned (a1's limit), whatever node routed them");
}

/// `consult serve` processes on one database, for the tests that kill a node.
fn spawn_nodes(db: &str, n: usize) -> Vec<(std::process::Child, Server)> {
    let dir = temp_dir("cluster-procs");
    (0..n)
        .map(|i| {
            let toml = config_toml(std::path::Path::new(db), 100_000)
                .replace("[server]", "[server]\nlisten = \"127.0.0.1:0\"\npublic_url = \"http://consult.test\"");
            let path = dir.join(format!("node{i}.toml"));
            std::fs::write(&path, toml).unwrap();
            let (child, addr) = crate::restart::spawn_gateway(&path);
            (child, Server { addr: addr.parse().unwrap(), http: reqwest::Client::new() })
        })
        .collect()
}

async fn leader(s: &Server) -> Option<bool> {
    let text = s.http.get(s.url("/metrics")).send().await.ok()?.text().await.ok()?;
    text.lines().find_map(|l| l.strip_prefix("consult_timed_work_leader ")).map(|v| v == "1")
}

async fn fresh_db() -> Option<String> {
    let url = server()?.to_string();
    let name = format!("k{}", consult_gateway::identity::random_token(9).to_ascii_lowercase().replace(['-', '_'], "x"));
    let created = std::thread::spawn(move || {
        let mut c = postgres::Client::connect(&url, postgres::NoTls)?;
        c.batch_execute(&format!("CREATE DATABASE {name}")).map(|()| format!("{}/{name}", url.rsplit_once('/').unwrap().0))
    });
    Some(created.join().unwrap().expect("creating the test database"))
}

#[tokio::test]
async fn kill_9_of_the_agents_node_loses_nothing_and_the_lease_moves() {
    let Some(db) = fresh_db().await else { return };
    let mut nodes = spawn_nodes(&db, 3);
    tokio::time::sleep(Duration::from_secs(3)).await;
    let mut leaders = Vec::new();
    for (_, s) in &nodes {
        leaders.push(leader(s).await.unwrap());
    }
    assert_eq!(leaders.iter().filter(|l| **l).count(), 1, "one node holds the lease: {leaders:?}");

    // The agent on node 2, the visitor on node 1; they chat.
    let (_, token) = nodes[1].1.login("a1", "pw1").await;
    let token = token.unwrap();
    let mut agent = nodes[1].1.agent_with_token(&token).await.unwrap();
    agent.available().await;
    tokio::time::sleep(Duration::from_secs(4)).await;
    let (handle, _) = nodes[0].1.anon("shop").await;
    let mut visitor = nodes[0].1.visitor(&handle, 0).await;
    visitor.say("v1", "one").await;
    let session = assigned(&mut agent, "a1").await;
    agent.say(&session.id, "a1", "two").await;
    visitor.until(|e| matches!(e, VisitorEvent::Message { message } if message.seq == 2).then_some(())).await;
    visitor.say("v2", "three").await;
    visitor.until(|e| matches!(e, VisitorEvent::Ack { client_id, .. } if client_id == "v2").then_some(())).await;

    // kill -9 the agent's node, and the lease holder if that is another one.
    let lease_holder = leaders.iter().position(|l| *l).unwrap();
    nodes[1].0.kill().unwrap();
    nodes[1].0.wait().unwrap();
    if lease_holder != 1 {
        nodes[lease_holder].0.kill().unwrap();
        nodes[lease_holder].0.wait().unwrap();
    }
    let survivor = (0..3).find(|i| *i != 1 && *i != lease_holder).unwrap();
    // The agent reconnects to a surviving node: every stored message is there once, in order.
    let mut again = nodes[survivor].1.agent_with_token(&token).await.unwrap();
    again.cmd(&consult_sdk::protocol::AgentCommand::Open { session: session.id.clone(), after_seq: 0 }).await;
    let mut seqs = Vec::new();
    while let Some(e) = tokio::time::timeout(Duration::from_secs(2), again.next()).await.ok().flatten() {
        if let AgentEvent::Message { message, .. } = e {
            seqs.push((message.seq, message.client_id.clone()));
        }
    }
    assert_eq!(
        seqs,
        vec![(1, Some("v1".into())), (2, Some("a1".into())), (3, Some("v2".into()))],
        "every acknowledged message once, in order"
    );
    // The lease moves to a node still alive within a few seconds.
    let mut moved = false;
    for _ in 0..20 {
        if leader(&nodes[survivor].1).await == Some(true) {
            moved = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    assert!(moved, "the lease did not move to the surviving node");
    for (mut child, _) in nodes {
        let _ = child.kill();
        let _ = child.wait();
    }
}

/// A publish too big for a PostgreSQL notification (a bot's menu with long links, over 8000
/// bytes) still reaches a visitor whose socket is on another node, live.
#[tokio::test]
async fn a_publish_too_big_to_notify_still_reaches_the_other_node() {
    let Some(db) = fresh_db().await else { return };
    let dir = temp_dir("cluster-spill");
    let toml = config_toml(std::path::Path::new(&db), 100_000);
    let path = dir.join("consult.toml");
    std::fs::write(&path, &toml).unwrap();
    let (a, b) = (Server::start_toml(&toml).await, Server::start_toml(&toml).await);
    let key = crate::counsel::api_key(&path, "botshop", "read,write", None);

    // The visitor is on node b and talks to the built-in bot.
    let (handle, _) = b.anon("botshop").await;
    let mut v = b.visitor(&handle, 0).await;
    v.say("v1", "hello").await;
    v.until(|e| matches!(e, VisitorEvent::Ack { .. }).then_some(())).await;
    let (_, list) = crate::counsel::call(&a, "GET", "/v1/counsel/sessions?state=bot", Some(&key), None).await;
    let id = list["sessions"][0]["id"].as_str().unwrap_or_else(|| panic!("the session with the bot: {list}")).to_string();

    // An integration answers through node a with ten buttons of long links: ~20 KB.
    let options: Vec<_> = (0..10).map(|i| serde_json::json!({"id": format!("o{i}"), "label": format!("Option {i}"), "url": format!("https://shop.test/{i}/{}", "x".repeat(1900))})).collect();
    let body = serde_json::json!({"client_id": "big", "sender": "bot", "body": {"kind": "menu", "text": "Pick one", "options": options}});
    let (st, sent) = crate::counsel::call(&a, "POST", &format!("/v1/counsel/sessions/{id}/messages"), Some(&key), Some(body)).await;
    assert_eq!(st, 200, "{sent}");
    let seq = sent["seq"].as_u64().unwrap();
    let got = tokio::time::timeout(Duration::from_secs(10), v.until(|e| match e {
        VisitorEvent::Message { message } if message.seq == seq => Some(message.clone()),
        _ => None,
    }))
    .await
    .expect("the big menu reached the visitor's node live, without a reconnect");
    let consult_sdk::protocol::Body::Menu { options, .. } = got.body else { panic!("a menu: {got:?}") };
    assert_eq!(options.len(), 10);
    assert!(options[9].url.as_deref().is_some_and(|u| u.len() > 1900));
}

/// The database goes away under a running node and comes back: requests get a typed 503
/// `unavailable` with Retry-After (never a hang, a crash or a 500), `/healthz` says so, and the
/// node works again once the database is back, without a restart.
#[tokio::test]
async fn the_database_going_away_gives_typed_errors_and_the_node_recovers() {
    if server().is_none() {
        return;
    }
    // A private server: this test stops it.
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/pg-temp.sh");
    let dir = temp_dir("pg-loss");
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port().to_string();
    let pg = |args: &[&str]| {
        let out = std::process::Command::new("sh").arg(script).args(args).output().unwrap();
        assert!(out.status.success(), "pg-temp.sh {args:?}: {}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8_lossy(&out.stdout).trim().to_string()
    };
    let dir_s = dir.to_string_lossy().to_string();
    let url = pg(&["start", &dir_s, &port, &std::process::id().to_string()]);
    let s = Server::start_toml(&config_toml(std::path::Path::new(&url), 100_000)).await;
    let launch = || async {
        let r = tokio::time::timeout(Duration::from_secs(10), s.http.post(s.url("/v1/launch")).header("origin", SHOP_ORIGIN).json(&serde_json::json!({"channel": "shop"})).send())
            .await
            .expect("an answer within 10 s, not a hang")
            .unwrap();
        let retry = r.headers().get("retry-after").map(|v| v.to_str().unwrap().to_string());
        (r.status().as_u16(), retry, r.json::<serde_json::Value>().await.unwrap_or_default())
    };
    assert_eq!(launch().await.0, 200);

    pg(&["stop", &dir_s]);
    let (status, retry, body) = launch().await;
    assert_eq!((status, body["code"].as_str()), (503, Some("unavailable")), "{body}");
    assert!(retry.is_some(), "Retry-After tells the client when to try again");
    let health = s.http.get(s.url("/healthz")).send().await.unwrap().status().as_u16();
    assert_eq!(health, 503, "/healthz says the database is gone");

    pg(&["resume", &dir_s, &port]);
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    loop {
        let (status, _, body) = launch().await;
        if status == 200 {
            break;
        }
        assert!(tokio::time::Instant::now() < deadline, "the node did not recover: {status} {body}");
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    // And a whole chat works again.
    let (handle, _) = s.anon("shop").await;
    let mut v = s.visitor(&handle, 0).await;
    v.say("back", "are you there again?").await;
    assert_eq!(v.until(|e| match e { VisitorEvent::Ack { client_id, seq } if client_id == "back" => Some(*seq), _ => None }).await, 1);
    assert_eq!(s.http.get(s.url("/healthz")).send().await.unwrap().status().as_u16(), 200);
}

/// An agent an admin creates on one node signs in on another within a tick, and a raised
/// max chats made on the first node routes a waiting chat to them on the second.
#[tokio::test]
async fn an_agent_created_on_one_node_works_on_another_within_a_tick() {
    let Some(db) = fresh_db().await else { return };
    let toml = config_toml(std::path::Path::new(&db), 100_000) + crate::ops::SHOP_ADMIN;
    let (n1, n2) = (Server::start_toml(&toml).await, Server::start_toml(&toml).await);
    let (_, admin) = n1.login("adm", "pw5").await;
    let admin = admin.unwrap();
    let body = serde_json::json!({"id": "n9", "name": "Night Nine", "password": "night-nine-pw", "channels": ["shop"], "max_chats": 1});
    let r = n1.http.post(n1.url("/v1/admin/agents")).bearer_auth(&admin).json(&body).send().await.unwrap();
    assert_eq!(r.status(), 200);
    // Node 2 learns of n9 on its next tick.
    let mut signed_in = false;
    for _ in 0..30 {
        if n2.login("n9", "night-nine-pw").await.0 == 200 {
            signed_in = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert!(signed_in, "the agent created on node 1 signs in on node 2 within a few ticks");
    let mut desk = n2.agent("n9", "night-nine-pw").await;
    desk.available().await;
    tokio::time::sleep(Duration::from_secs(4)).await;
    let mut visitors = Vec::new();
    for i in 0..2 {
        let (handle, _) = n2.anon("shop").await;
        let mut v = n2.visitor(&handle, 0).await;
        v.say("v", &format!("visitor {i}")).await;
        visitors.push(v);
    }
    assigned(&mut desk, "n9").await;
    // Max chats 1: the second waits until node 1 raises it to 2.
    let r = n1.http.post(n1.url("/v1/admin/agents/n9")).bearer_auth(&admin).json(&serde_json::json!({"max_chats": 2, "version": 1})).send().await.unwrap();
    assert_eq!(r.status(), 200);
    assigned(&mut desk, "n9").await;
}

async fn launch(s: &Server) -> (u16, serde_json::Value) {
    s.launch(&consult_sdk::protocol::LaunchRequest { channel: "shop".into(), ..Default::default() }).await
}

/// Hours and guidance an admin changes on one node apply on another within a tick: its next
/// launch is refused after hours, and the next visitor reads the new guidance.
#[tokio::test]
async fn channel_settings_changed_on_one_node_apply_on_another_within_a_tick() {
    let Some(db) = fresh_db().await else { return };
    let toml = config_toml(std::path::Path::new(&db), 100_000) + crate::ops::SHOP_ADMIN;
    let (n1, n2) = (Server::start_toml(&toml).await, Server::start_toml(&toml).await);
    assert_eq!(launch(&n2).await.0, 200);
    let (_, admin) = n1.login("adm", "pw5").await;
    let admin = admin.unwrap();
    let put = |path: &str, body: serde_json::Value| n1.http.put(n1.url(path)).bearer_auth(&admin).json(&body).send();
    let guidance = serde_json::json!({"version": 0, "guidance": "New greeting", "retention_notice": "Kept 30 days."});
    assert_eq!(put("/v1/admin/channels/shop/guidance", guidance).await.unwrap().status(), 200);
    let closed = serde_json::json!({"version": 0, "hours": {"after_hours": "refuse", "days": {}}});
    assert_eq!(put("/v1/admin/channels/shop/hours", closed).await.unwrap().status(), 200);
    let mut refused = false;
    for _ in 0..30 {
        if launch(&n2).await.0 == 503 {
            refused = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert!(refused, "node 2 closes the channel within a few ticks");
    assert_eq!(put("/v1/admin/channels/shop/hours", serde_json::json!({"version": 1, "hours": null})).await.unwrap().status(), 200);
    let mut shown = None;
    for _ in 0..30 {
        let (st, b) = launch(&n2).await;
        if st == 200 {
            shown = b["channel"]["guidance"].as_str().map(String::from);
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert_eq!(shown.as_deref(), Some("New greeting\n\nKept 30 days."));
}

/// A message whose notification never came (its node died between commit and notify, or the
/// bus connection dropped) reaches the visitor with the next one: the socket sees the gap in
/// `seq` and reads what it missed, so the chat shows every message once, in order.
#[tokio::test]
async fn a_message_whose_notification_was_lost_reaches_the_visitor_with_the_next() {
    let Some(db) = fresh_db().await else { return };
    let toml = config_toml(std::path::Path::new(&db), 100_000);
    let (n1, n2) = (Server::start_toml(&toml).await, Server::start_toml(&toml).await);
    let mut agent = n2.agent("a1", "pw1").await;
    agent.available().await;
    tokio::time::sleep(Duration::from_secs(4)).await;
    let (handle, _) = n1.anon("shop").await;
    let mut visitor = n1.visitor(&handle, 0).await;
    visitor.say("v1", "hello").await;
    let session = assigned(&mut agent, "a1").await;
    agent.say(&session.id, "a1", "first reply").await;
    let first = visitor.until(|e| match e { VisitorEvent::Message { message } if message.client_id.as_deref() == Some("a1") => Some(message.seq), _ => None }).await;
    assert_eq!(first, 2);
    // A reply stored with no notification at all: a copy of the first under the next seq.
    let (url, id) = (db.clone(), session.id.clone());
    std::thread::spawn(move || {
        let mut c = postgres::Client::connect(&url, postgres::NoTls).unwrap();
        let mut tx = c.transaction().unwrap();
        let conv: String = tx.query_one("UPDATE sessions SET last_seq = last_seq + 1 WHERE id = $1 RETURNING conversation", &[&id]).unwrap().get(0);
        tx.execute("UPDATE conversations SET last_seq = last_seq + 1 WHERE id = $1", &[&conv]).unwrap();
        tx.execute(
            "INSERT INTO messages(conversation, seq, session, author, client_id, sender, body, at_ms)
             SELECT conversation, 3, session, author, 'unnotified', sender, '{\"kind\":\"text\",\"text\":\"never announced\"}', at_ms
             FROM messages WHERE conversation = $1 AND seq = 2",
            &[&conv],
        )
        .unwrap();
        tx.commit().unwrap();
    })
    .join()
    .unwrap();
    agent.say(&session.id, "a2", "second reply").await;
    let ack = agent.until(|e| match e { AgentEvent::Ack { client_id, seq } if client_id == "a2" => Some(*seq), AgentEvent::Error { .. } => panic!("{e:?}"), _ => None }).await;
    assert_eq!(ack, 4);
    let mut seen = Vec::new();
    while seen.len() < 2 {
        if let VisitorEvent::Message { message } = tokio::time::timeout(Duration::from_secs(10), visitor.next()).await.expect("the reply arrived").expect("socket open") {
            seen.push((message.seq, message.client_id.unwrap_or_default()));
        }
    }
    assert_eq!(seen, [(3, "unnotified".to_string()), (4, "a2".to_string())], "the missed message first, then the new one, each once");
    let metrics = n1.http.get(n1.url("/metrics")).send().await.unwrap().text().await.unwrap();
    assert!(metrics.contains("consult_socket_gaps_filled_total 1"), "{metrics}");
}
