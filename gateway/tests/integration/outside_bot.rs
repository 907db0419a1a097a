//! An outside bot before the agents: new sessions open with the bot, which hears of them by a
//! signed webhook and answers over the Counsel API as sender `bot`, then hands over to the agents
//! with a category; when the bot endpoint is down, the session falls back to the queue after
//! `fallback_secs` and the visitor is told.

use std::collections::HashSet;
use std::sync::atomic::AtomicBool;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use consult_sdk::protocol::{AgentEvent, Body, LaunchRequest, Sender, SessionState, VisitorEvent};
use serde_json::{Value, json};

use crate::common::*;
use crate::counsel::{api_key, call, start};
use crate::webhooks::{Hit, SECRET, receiver, verify};

fn bot_config(port: u16, fallback_secs: u64) -> String {
    format!(
        "[counsel]\nallow_private_targets = true\nretry_base_ms = 100\ntimeout_ms = 1000\n[[counsel.webhooks]]\nid = \"bot\"\nchannel = \"shop\"\nurl = \"http://127.0.0.1:{port}/bot\"\nsecret = \"{SECRET}\"\nevents = [\"*\"]\n[[counsel.bots]]\nchannel = \"shop\"\nfallback_secs = {fallback_secs}\n"
    )
}

/// The bot: reads the receiver's verified deliveries (each delivery id once) and answers each
/// visitor message over REST as the bot; "person" or "agent" hands over to `orders`.
/// It hears everything but stays silent while `answering` is false.
fn run_bot(s: &Server, key: String, hits: Arc<Mutex<Vec<Hit>>>, unverified: Arc<Mutex<u32>>, answering: Arc<AtomicBool>) {
    let s = Server { addr: s.addr, http: reqwest::Client::new() };
    tokio::spawn(async move {
        let (mut next, mut seen) = (0usize, HashSet::new());
        loop {
            let new: Vec<Hit> = hits.lock().unwrap()[next..].to_vec();
            next += new.len();
            for h in new {
                if !verify(&h) {
                    *unverified.lock().unwrap() += 1;
                    continue;
                }
                if !seen.insert(h.id.clone()) {
                    continue;
                }
                let v: Value = serde_json::from_str(&h.body).unwrap();
                let m = &v["data"]["message"];
                if v["type"] != "message.created" || m["sender"]["role"] != "visitor" || !answering.load(std::sync::atomic::Ordering::SeqCst) {
                    continue;
                }
                let id = v["data"]["session"].as_str().unwrap().to_string();
                let text = m["body"]["text"].as_str().unwrap_or("").to_lowercase();
                let seq = m["seq"].as_u64().unwrap();
                let reply = |t: &str| json!({"client_id": format!("bot-{seq}"), "sender": "bot", "body": {"kind": "text", "text": t}});
                let msgs = format!("/v1/counsel/sessions/{id}/messages");
                if text.contains("person") || text.contains("agent") {
                    call(&s, "POST", &msgs, Some(&key), Some(reply("Handing you to our order team."))).await;
                    let (st, b) = call(&s, "POST", &format!("/v1/counsel/sessions/{id}/handover"), Some(&key), Some(json!({"category": "orders"}))).await;
                    assert_eq!(st, 200, "handover: {b}");
                } else {
                    let (st, b) = call(&s, "POST", &msgs, Some(&key), Some(reply("Order 1234 has shipped; it arrives tomorrow."))).await;
                    assert_eq!(st, 200, "bot reply: {b}");
                }
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    });
}

async fn bot_text(v: &mut Visitor) -> String {
    v.until(|e| match e {
        VisitorEvent::Message { message } if message.sender == Sender::Bot => match &message.body {
            Body::Text { text } => Some(text.clone()),
            _ => None,
        },
        _ => None,
    })
    .await
}

async fn session_state(s: &Server, key: &str) -> (String, Value) {
    let (st, b) = call(s, "GET", "/v1/counsel/sessions", Some(key), None).await;
    assert_eq!(st, 200, "{b}");
    let list = b["sessions"].as_array().unwrap();
    assert_eq!(list.len(), 1, "{b}");
    (list[0]["id"].as_str().unwrap().to_string(), list[0].clone())
}

#[tokio::test]
async fn outside_bot_answers_over_rest_and_hands_over_to_an_agent_on_the_desk() {
    let hits = Arc::new(Mutex::new(Vec::new()));
    let port = receiver(Arc::new(AtomicBool::new(true)), hits.clone()).await;
    let (s, cfg) = start("outside-bot", &bot_config(port, 2)).await;
    let key = api_key(&cfg, "shop", "read,write", None);
    let unverified = Arc::new(Mutex::new(0));
    run_bot(&s, key.clone(), hits.clone(), unverified.clone(), Arc::new(AtomicBool::new(true)));
    let mut a1 = s.agent("a1", "pw1").await;
    a1.available().await;

    let (handle, _) = s.anon("shop").await;
    let mut v = s.visitor(&handle, 0).await;
    v.say("v1", "Where is my order 1234?").await;
    let state = v.until(|e| match e {
        VisitorEvent::State { state, .. } => Some(*state),
        _ => None,
    })
    .await;
    assert_eq!(state, SessionState::Bot, "a new session opens with the outside bot");
    assert_eq!(bot_text(&mut v).await, "Order 1234 has shipped; it arrives tomorrow.");
    let (id, summary) = session_state(&s, &key).await;
    assert_eq!(summary["state"], "bot");

    // The bot answered: waiting past fallback_secs does not queue the session.
    let quiet = v.drain(2600).await;
    assert!(!quiet.iter().any(|e| matches!(e, VisitorEvent::State { .. })), "nothing changes while the bot answers: {quiet:?}");
    assert_eq!(session_state(&s, &key).await.1["state"], "bot");
    assert!(a1.drain(100).await.iter().all(|e| !matches!(e, AgentEvent::Session { session } if session.state == SessionState::Assigned)));

    // Asking for a person: the bot says so and hands over to `orders`; a1 (skill orders) gets it.
    v.say("v2", "Can I talk to a person?").await;
    assert_eq!(bot_text(&mut v).await, "Handing you to our order team.");
    let assigned = a1.assigned("a1").await;
    assert_eq!(assigned.id, id);
    assert_eq!(assigned.category.as_deref(), Some("orders"));
    let agent_name = v.until(|e| match e {
        VisitorEvent::State { state: SessionState::Assigned, agent_name, .. } => Some(agent_name.clone()),
        _ => None,
    })
    .await;
    assert_eq!(agent_name.as_deref(), Some("Agent One"));

    // The agent replies from the desk; the bot may no longer write.
    a1.say(&id, "d1", "Hi, Agent One here. Let me check order 1234.").await;
    let reply = v.until(|e| match e {
        VisitorEvent::Message { message } if matches!(message.sender, Sender::Agent { .. }) => Some(message.body.clone()),
        _ => None,
    })
    .await;
    assert_eq!(reply, Body::Text { text: "Hi, Agent One here. Let me check order 1234.".into() });
    let (st, b) = call(&s, "POST", &format!("/v1/counsel/sessions/{id}/messages"), Some(&key), Some(json!({"client_id": "late", "sender": "bot", "body": {"kind": "text", "text": "me again"}}))).await;
    assert_eq!((st, b["code"].as_str()), (409, Some("not_with_bot")));
    let (st, b) = call(&s, "POST", &format!("/v1/counsel/sessions/{id}/handover"), Some(&key), None).await;
    assert_eq!((st, b["code"].as_str()), (409, Some("not_with_bot")));

    // The bot heard the whole story by webhook: bot → queued (orders) → assigned (a1).
    let mut changes = Vec::new();
    for _ in 0..100 {
        changes = hits
            .lock()
            .unwrap()
            .iter()
            .map(|h| serde_json::from_str::<Value>(&h.body).unwrap())
            .filter(|v| v["type"] == "session.state_changed")
            .map(|v| (v["data"]["from"].as_str().unwrap().to_string(), v["data"]["to"].as_str().unwrap().to_string(), v["data"]["category"].clone(), v["data"]["agent"].clone()))
            .collect::<Vec<_>>();
        if changes.len() >= 2 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(
        changes,
        vec![
            ("bot".to_string(), "queued".to_string(), json!("orders"), Value::Null),
            ("queued".to_string(), "assigned".to_string(), json!("orders"), json!("a1")),
        ]
    );
    assert_eq!(*unverified.lock().unwrap(), 0, "every delivery verified");
    let (_, b) = call(&s, "GET", &format!("/v1/counsel/sessions/{id}/messages"), Some(&key), None).await;
    let senders: Vec<&str> = b["messages"].as_array().unwrap().iter().map(|m| m["sender"]["role"].as_str().unwrap()).collect();
    assert_eq!(senders, ["visitor", "bot", "visitor", "bot", "agent"], "{b}");
}

#[tokio::test]
async fn a_down_bot_endpoint_falls_back_to_the_queue_and_the_visitor_is_told() {
    // A port where nothing listens: every delivery to the bot fails.
    let dead = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let (s, cfg) = start("bot-down", &bot_config(dead, 1)).await;
    let key = api_key(&cfg, "shop", "read", None);
    let mut a1 = s.agent("a1", "pw1").await;
    a1.available().await;

    let (handle, _) = s.anon("shop").await;
    let mut v = s.visitor(&handle, 0).await;
    v.say("v1", "Hello, anyone?").await;
    let seq = v.until(|e| match e {
        VisitorEvent::Ack { seq, .. } => Some(*seq),
        _ => None,
    })
    .await;
    let (id, summary) = session_state(&s, &key).await;
    assert_eq!(summary["state"], "bot", "first with the bot, until fallback_secs pass");

    // The visitor is told, the session queues and the free agent gets it.
    let told = bot_text(&mut v).await;
    assert!(told.contains("Connecting you to an agent"), "{told}");
    let assigned = a1.assigned("a1").await;
    assert_eq!(assigned.id, id);
    let (_, b) = call(&s, "GET", &format!("/v1/counsel/sessions/{id}/messages"), Some(&key), None).await;
    let msgs = b["messages"].as_array().unwrap();
    let at = |i: usize| msgs[i]["at_ms"].as_u64().unwrap();
    assert_eq!(msgs[0]["seq"].as_u64(), Some(seq));
    assert!(at(1) - at(0) >= 1000, "not before fallback_secs: {b}");
    assert_eq!(msgs[1]["sender"]["role"], "bot");

    a1.say(&id, "d1", "Sorry for the wait, how can I help?").await;
    let reply = v.until(|e| match e {
        VisitorEvent::Message { message } if matches!(message.sender, Sender::Agent { .. }) => Some(message.body.clone()),
        _ => None,
    })
    .await;
    assert_eq!(reply, Body::Text { text: "Sorry for the wait, how can I help?".into() });
    // The failing deliveries stay in the outbox, retried, for when the bot comes back.
    let (st, b) = call(&s, "GET", "/v1/counsel/webhooks/bot/deliveries?status=pending", Some(&key), None).await;
    assert_eq!(st, 200, "{b}");
    assert!(!b["deliveries"].as_array().unwrap().is_empty(), "{b}");
}

#[tokio::test]
async fn a_bot_that_answered_once_then_went_silent_still_falls_back() {
    let hits = Arc::new(Mutex::new(Vec::new()));
    let port = receiver(Arc::new(AtomicBool::new(true)), hits.clone()).await;
    let (s, cfg) = start("bot-silent", &bot_config(port, 1)).await;
    let key = api_key(&cfg, "shop", "read,write", None);
    let answering = Arc::new(AtomicBool::new(true));
    run_bot(&s, key.clone(), hits, Arc::new(Mutex::new(0)), answering.clone());
    let mut a1 = s.agent("a1", "pw1").await;
    a1.available().await;
    let (handle, _) = s.anon("shop").await;
    let mut v = s.visitor(&handle, 0).await;
    v.say("v1", "order 1234?").await;
    assert!(bot_text(&mut v).await.starts_with("Order 1234 has shipped"));
    // Answered: past fallback_secs it is still with the bot.
    tokio::time::sleep(Duration::from_millis(1600)).await;
    assert_eq!(session_state(&s, &key).await.1["state"], "bot");
    // The bot stops answering; the visitor's next message falls back after fallback_secs.
    answering.store(false, std::sync::atomic::Ordering::SeqCst);
    v.say("v2", "hello? still there?").await;
    assert!(bot_text(&mut v).await.contains("Connecting you to an agent"));
    let (id, _) = session_state(&s, &key).await;
    assert_eq!(a1.assigned("a1").await.id, id);
}

/// `[[counsel.bots]]` with `entries`: sessions opened from those entry points skip the channel's
/// built-in menu and are the outside bot's (its answers, its fallback); the others stay the
/// menu's, and the API may not answer or hand them over as the bot.
#[tokio::test]
async fn an_outside_bot_for_some_entry_points_leaves_the_others_to_the_menu() {
    let bots = "[counsel]\n[[counsel.bots]]\nchannel = \"botshop\"\nentries = [\"order-detail\"]\nfallback_secs = 1\n";
    let (s, cfg) = start("bot-entries", bots).await;
    let key = api_key(&cfg, "botshop", "read,write", None);
    let mut a1 = s.agent("a1", "pw1").await;
    a1.available().await;
    let launch = |button: &str| LaunchRequest {
        channel: "botshop".into(),
        declared: consult_sdk::EntryPoint { button: Some(button.into()), ..Default::default() },
        ..Default::default()
    };
    let reply = |n: &str, t: &str| json!({"client_id": n, "sender": "bot", "body": {"kind": "text", "text": t}});

    // From an order button: the menu stays silent and the outside bot answers over REST.
    let (handle, _) = s.launch_ok(&launch("order-detail")).await;
    let mut orders = s.visitor(&handle, 0).await;
    orders.say("o1", "Where is order 1234?").await;
    let mut before_ack = Vec::new();
    orders
        .until(|e| match e {
            VisitorEvent::Ack { .. } => Some(()),
            other => {
                before_ack.push(other.clone());
                None
            }
        })
        .await;
    assert!(!before_ack.iter().any(|e| matches!(e, VisitorEvent::Message { message } if message.sender == Sender::Bot)), "the menu stays silent: {before_ack:?}");
    let (id, summary) = session_state(&s, &key).await;
    assert_eq!(summary["state"], "bot");
    let (st, b) = call(&s, "POST", &format!("/v1/counsel/sessions/{id}/messages"), Some(&key), Some(reply("r1", "Order 1234 has shipped."))).await;
    assert_eq!(st, 200, "{b}");
    assert_eq!(bot_text(&mut orders).await, "Order 1234 has shipped.");

    // From anywhere else: the menu answers; the outside bot may not write or hand over there.
    let (handle, _) = s.launch_ok(&launch("product")).await;
    let mut other = s.visitor(&handle, 0).await;
    other.say("p1", "hello?").await;
    other.until(|e| matches!(e, VisitorEvent::Message { message } if matches!(message.body, Body::Menu { .. })).then_some(())).await;
    let (_, b) = call(&s, "GET", "/v1/counsel/sessions?state=bot", Some(&key), None).await;
    let menu_id = b["sessions"].as_array().unwrap().iter().map(|v| v["id"].as_str().unwrap().to_string()).find(|s| *s != id).expect("the menu's session");
    let (st, b) = call(&s, "POST", &format!("/v1/counsel/sessions/{menu_id}/messages"), Some(&key), Some(reply("r2", "Not mine"))).await;
    assert_eq!((st, b["code"].as_str()), (409, Some("not_with_bot")), "{b}");
    let (st, b) = call(&s, "POST", &format!("/v1/counsel/sessions/{menu_id}/handover"), Some(&key), Some(json!({"category": "orders"}))).await;
    assert_eq!((st, b["code"].as_str()), (409, Some("not_with_bot")), "{b}");
    // A link choice leaves the visitor's message last; the menu's sessions never fall back.
    other.cmd(&consult_sdk::protocol::VisitorCommand::Choose { client_id: "p2".into(), option: "track".into() }).await;

    // The outside bot goes silent: its session falls back to the queue after fallback_secs.
    orders.say("o2", "hello? still there?").await;
    assert!(bot_text(&mut orders).await.contains("Connecting you to an agent"));
    assert_eq!(a1.assigned("a1").await.id, id);
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let (_, b) = call(&s, "GET", &format!("/v1/counsel/sessions/{menu_id}"), Some(&key), None).await;
    assert_eq!(b["session"]["state"], "bot", "{b}");
}

/// A free port in 9800-9899 (the range these tests may use for fixed ports).
fn free_port() -> u16 {
    (9800..9900).find(|p| std::net::TcpListener::bind(("127.0.0.1", *p)).is_ok()).expect("a free port in 9800-9899")
}

#[tokio::test]
async fn the_example_order_bot_answers_a_visitor_and_hands_over_to_orders() {
    let port = free_port();
    // `shop`: the example is the only bot (below, `botshop`: the built-in menu runs too, as in the demo).
    let (s, cfg) = start("order-bot-example", &bot_config(port, 30)).await;
    let menu_key = api_key(&cfg, "botshop", "read,write", None);
    let key = api_key(&cfg, "shop", "read,write", None);
    let _bot = spawn_example(&s, &key, port);

    let mut a1 = s.agent("a1", "pw1").await;
    a1.available().await;
    let (handle, _) = s.anon("shop").await;
    let mut v = s.visitor(&handle, 0).await;
    v.say("v1", "Hi, where is my order 1234?").await;
    let answer = bot_text(&mut v).await;
    assert_eq!(answer, "Order 1234 is shipped; it arrives tomorrow. Type 'agent' to talk to our orders team.");
    v.say("v2", "agent please").await;
    assert!(bot_text(&mut v).await.starts_with("Connecting you to our orders team."));
    let assigned = a1.assigned("a1").await;
    assert_eq!(assigned.category.as_deref(), Some("orders"));
    a1.say(&assigned.id, "d1", "Agent One here.").await;
    v.until(|e| matches!(e, VisitorEvent::Message { message } if matches!(message.sender, Sender::Agent { .. })).then_some(())).await;
    drop(v);

    // Beside a built-in menu with no [[counsel.bots]] for the channel (any integration may answer
    // as the bot there) it answers an order question too: one key per channel, so run a second
    // example for botshop's key.
    let port2 = free_port();
    let _bot2 = spawn_example(&s, &menu_key, port2);
    let (_, b) = call(&s, "POST", "/v1/counsel/webhooks", Some(&api_key(&cfg, "botshop", "admin", None)), Some(json!({"url": format!("http://127.0.0.1:{port2}/webhook"), "events": ["message.created"], "secret": SECRET}))).await;
    assert!(b["endpoint"]["id"].is_string(), "{b}");
    let (handle, _) = s.anon("botshop").await;
    let mut v = s.visitor(&handle, 0).await;
    v.say("m1", "where is order 5678?").await;
    assert_eq!(bot_text(&mut v).await, "Order 5678 is being packed; it ships today. Type 'agent' to talk to our orders team.");

    // A forged webhook is refused by the example.
    let r = s.http.post(format!("http://127.0.0.1:{port}/webhook")).header("webhook-id", "msg_x").header("webhook-timestamp", now().to_string()).header("webhook-signature", "v1,AAAA").body("{}").send().await.unwrap();
    assert_eq!(r.status().as_u16(), 401);
}

/// `examples/order-bot` on `port`, answering with `key`, once it says it listens.
fn spawn_example(s: &Server, key: &str, port: u16) -> KillOnDrop {
    let script = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples/order-bot/order_bot.py");
    let mut bot = KillOnDrop(std::process::Command::new("python3")
        .arg(&script)
        .env("CONSULT_URL", s.url(""))
        .env("CONSULT_API_KEY", key)
        .env("CONSULT_WEBHOOK_SECRET", SECRET)
        .env("ORDER_BOT_PORT", port.to_string())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("python3 runs the example"));
    let mut out = std::io::BufReader::new(bot.0.stdout.take().unwrap());
    let mut line = String::new();
    std::io::BufRead::read_line(&mut out, &mut line).unwrap();
    assert!(line.contains(&format!("listening on http://127.0.0.1:{port}/webhook")), "{line}");
    // Keep reading its log so its prints never hit a closed pipe.
    std::thread::spawn(move || std::io::copy(&mut out, &mut std::io::sink()));
    bot
}

/// The example's process, ended however the test ends.
struct KillOnDrop(std::process::Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// An outside bot offers buttons (a reply and a link) over the API; the visitor taps the reply
/// and the bot reads the tap as the option's label. Menus that could hurt are refused.
#[tokio::test]
async fn an_outside_bot_offers_buttons_and_hears_the_tap() {
    let hits = Arc::new(Mutex::new(Vec::new()));
    let port = receiver(Arc::new(AtomicBool::new(true)), hits.clone()).await;
    let (s, config) = start("bot-buttons", &bot_config(port, 60)).await;
    let key = api_key(&config, "shop", "read,write", None);
    let agent_key = api_key(&config, "shop", "read,write", Some("a1"));
    let (handle, _) = s.anon("shop").await;
    let mut v = s.visitor(&handle, 0).await;
    v.say("v1", "where is my order?").await;
    v.until(|e| matches!(e, VisitorEvent::Ack { .. }).then_some(())).await;
    let (_, b) = call(&s, "GET", "/v1/counsel/sessions?state=bot", Some(&key), None).await;
    let id = b["sessions"][0]["id"].as_str().expect("a session with the bot").to_string();
    let msgs = format!("/v1/counsel/sessions/{id}/messages");
    let menu = |options: Value| json!({"client_id": format!("m-{}", options.to_string().len()), "sender": "bot", "body": {"kind": "menu", "text": "Which order?", "options": options}});

    // Refused: a script link, no options, eleven, a repeated id, an id with spaces, an agent's menu.
    for bad in [
        json!([{"id": "x", "label": "Open", "url": "javascript:alert(1)"}]),
        json!([]),
        Value::Array((0..11).map(|i| json!({"id": format!("o{i}"), "label": "L"})).collect()),
        json!([{"id": "a", "label": "One"}, {"id": "a", "label": "Two"}]),
        json!([{"id": "a b", "label": "One"}]),
    ] {
        let (st, b) = call(&s, "POST", &msgs, Some(&key), Some(menu(bad.clone()))).await;
        assert_eq!((st, b["code"].as_str()), (400, Some("bad_request")), "{bad}: {b}");
    }
    let (st, b) = call(&s, "POST", &msgs, Some(&agent_key), Some(json!({"client_id": "am", "body": {"kind": "menu", "text": "x", "options": [{"id": "a", "label": "A"}]}}))).await;
    assert_eq!(st, 400, "only the bot sends buttons: {b}");

    // Sent: the visitor gets the buttons as they were sent.
    let options = json!([{"id": "order-1234", "label": "Order 1234"}, {"id": "track", "label": "Track it", "url": "https://shop.test/track/1234"}]);
    let (st, b) = call(&s, "POST", &msgs, Some(&key), Some(menu(options))).await;
    assert_eq!(st, 200, "{b}");
    let shown = v
        .until(|e| match e {
            VisitorEvent::Message { message } if message.sender == Sender::Bot => match &message.body {
                Body::Menu { options, .. } => Some(options.clone()),
                _ => None,
            },
            _ => None,
        })
        .await;
    assert_eq!(shown.iter().map(|o| (o.id.as_str(), o.url.as_deref())).collect::<Vec<_>>(), vec![("order-1234", None), ("track", Some("https://shop.test/track/1234"))]);

    // A tap on the menu is stored as the option's label.
    v.cmd(&consult_sdk::protocol::VisitorCommand::Choose { client_id: "tap-menu".into(), option: "order-1234".into() }).await;
    v.until(|e| match e { VisitorEvent::Ack { client_id, .. } if client_id == "tap-menu" => Some(()), _ => None }).await;
    let (_, b) = call(&s, "GET", &msgs, Some(&key), None).await;
    assert_eq!(b["messages"].as_array().unwrap().last().unwrap()["body"]["text"], "Order 1234", "{b}");

    // A card list: refused when it could hurt, shown as sent otherwise.
    let cards = |cards: Value| json!({"client_id": format!("c-{}", cards.to_string().len()), "sender": "bot", "body": {"kind": "cards", "text": "Your orders", "cards": cards}});
    for bad in [
        json!([]),
        json!([{"title": "", "options": []}]),
        json!([{"title": "A", "url": "javascript:alert(1)"}]),
        json!([{"title": "A", "options": [{"id": "x", "label": "1"}, {"id": "y", "label": "2"}, {"id": "z", "label": "3"}, {"id": "w", "label": "4"}]}]),
        json!([{"title": "A", "options": [{"id": "same", "label": "1"}]}, {"title": "B", "options": [{"id": "same", "label": "2"}]}]),
    ] {
        let (st, b) = call(&s, "POST", &msgs, Some(&key), Some(cards(bad.clone()))).await;
        assert_eq!((st, b["code"].as_str()), (400, Some("bad_request")), "{bad}: {b}");
    }
    let list = json!([
        {"title": "Order 1234", "description": "Shipped; arrives tomorrow", "url": "https://shop.test/o/1234", "options": [{"id": "c-1234", "label": "Ask about 1234"}]},
        {"title": "Order 5678", "options": [{"id": "c-5678", "label": "Ask about 5678"}]}
    ]);
    let (st, b) = call(&s, "POST", &msgs, Some(&key), Some(cards(list))).await;
    assert_eq!(st, 200, "{b}");
    let shown = v
        .until(|e| match e {
            VisitorEvent::Message { message } => match &message.body {
                Body::Cards { cards, .. } => Some(cards.clone()),
                _ => None,
            },
            _ => None,
        })
        .await;
    assert_eq!(shown.iter().map(|c| (c.title.as_str(), c.options.len())).collect::<Vec<_>>(), vec![("Order 1234", 1), ("Order 5678", 1)]);

    // The tap is stored as the label, and the bot reads it over REST; an unknown option is refused.
    // A card's button counts as well as a menu's: the latest list with buttons is the cards.
    v.cmd(&consult_sdk::protocol::VisitorCommand::Choose { client_id: "tap".into(), option: "c-1234".into() }).await;
    v.until(|e| match e { VisitorEvent::Ack { client_id, .. } if client_id == "tap" => Some(()), _ => None }).await;
    let (_, b) = call(&s, "GET", &msgs, Some(&key), None).await;
    let last = b["messages"].as_array().unwrap().last().unwrap().clone();
    assert_eq!((last["sender"]["role"].as_str(), last["body"]["text"].as_str()), (Some("visitor"), Some("Ask about 1234")), "{b}");
    v.cmd(&consult_sdk::protocol::VisitorCommand::Choose { client_id: "tap2".into(), option: "nope".into() }).await;
    assert_eq!(v.error_code().await, "bad_request");
    // The webhook says which option it was, beside the label.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        let tap = hits.lock().unwrap().iter().filter(|h| verify(h)).filter_map(|h| serde_json::from_str::<Value>(&h.body).ok()).find(|v| v["type"] == "message.created" && v["data"]["message"]["body"]["text"] == "Ask about 1234");
        if let Some(tap) = tap {
            assert_eq!(tap["data"]["option"], "c-1234", "{tap}");
            break;
        }
        assert!(tokio::time::Instant::now() < deadline, "no message.created for the tap");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}
