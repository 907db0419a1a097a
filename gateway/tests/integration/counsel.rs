//! The Counsel API over real HTTP: API keys (made with the `consult api-key` CLI), sessions,
//! messages and actions under the desk's rules, typed refusals, and the OpenAPI document.

use std::path::{Path, PathBuf};
use std::process::Command;

use consult_sdk::protocol::{AgentEvent, SessionState, VisitorEvent};
use serde_json::{Value, json};

use crate::common::*;

/// A gateway with `extra` appended to the test configuration; returns it and its config path.
pub async fn start(name: &str, extra: &str) -> (Server, PathBuf) {
    let dir = temp_dir(name);
    let toml = format!("{}\n{extra}", config_toml(&dir.join("c.db"), 1000));
    let path = dir.join("consult.toml");
    std::fs::write(&path, &toml).unwrap();
    (Server::start_toml(&toml).await, path)
}

/// `consult api-key create`: the secret printed once.
pub fn api_key(config: &Path, channel: &str, scopes: &str, agent: Option<&str>) -> String {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_consult"));
    cmd.args(["api-key", "create", "--config"]).arg(config).args(["--channel", channel, "--scopes", scopes, "--name", "test"]);
    if let Some(a) = agent {
        cmd.args(["--agent", a]);
    }
    let out = cmd.output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let secret = String::from_utf8(out.stdout).unwrap().trim().to_string();
    assert!(secret.starts_with("ck_"), "{secret}");
    secret
}

/// A request with a bearer key; status and JSON body.
pub async fn call(s: &Server, method: &str, path: &str, key: Option<&str>, body: Option<Value>) -> (u16, Value) {
    let mut b = s.http.request(method.parse().unwrap(), s.url(path));
    if let Some(k) = key {
        b = b.bearer_auth(k);
    }
    if let Some(body) = body {
        b = b.json(&body);
    }
    let r = b.send().await.unwrap();
    (r.status().as_u16(), r.json().await.unwrap_or(Value::Null))
}

fn code(v: &Value) -> &str {
    v["code"].as_str().unwrap_or("")
}

#[tokio::test]
async fn counsel_rest_follows_the_desk_rules_and_refuses_with_typed_errors() {
    let (s, cfg) = start("counsel", "").await;
    let agent_key = api_key(&cfg, "shop", "read,write", Some("a1"));
    let system_key = api_key(&cfg, "shop", "admin", None);
    let read_key = api_key(&cfg, "shop", "read", None);
    let other_key = api_key(&cfg, "brief", "read,write", None);

    // Credentials.
    let (st, b) = call(&s, "GET", "/v1/counsel/sessions", None, None).await;
    assert_eq!((st, code(&b)), (401, "bad_api_key"));
    let forged = format!("{}x", &agent_key[..agent_key.len() - 1]);
    let (st, b) = call(&s, "GET", "/v1/counsel/sessions", Some(&forged), None).await;
    assert_eq!((st, code(&b)), (401, "bad_api_key"));

    // A visitor launches; nothing is open until they write.
    let (handle, _) = s.anon("shop").await;
    let mut v = s.visitor(&handle, 0).await;
    let (st, b) = call(&s, "GET", "/v1/counsel/sessions", Some(&read_key), None).await;
    assert_eq!(st, 200, "{b}");
    assert_eq!(b["sessions"].as_array().unwrap().len(), 0);
    v.say("v1", "hello, where is my order?").await;
    v.until(|e| matches!(e, VisitorEvent::Ack { .. }).then_some(())).await;

    let (_, b) = call(&s, "GET", "/v1/counsel/sessions?state=queued", Some(&read_key), None).await;
    let sessions = b["sessions"].as_array().unwrap();
    assert_eq!(sessions.len(), 1, "{b}");
    let id = sessions[0]["id"].as_str().unwrap().to_string();
    let user_key = sessions[0]["user_key"].as_str().unwrap().to_string();
    let (_, b) = call(&s, "GET", "/v1/counsel/sessions?state=assigned", Some(&read_key), None).await;
    assert_eq!(b["sessions"].as_array().unwrap().len(), 0);
    let (st, b) = call(&s, "GET", "/v1/counsel/sessions?state=nonsense", Some(&read_key), None).await;
    assert_eq!((st, code(&b)), (400, "bad_request"));

    // Another channel's key never sees it; an unknown session is not found.
    let (st, b) = call(&s, "GET", &format!("/v1/counsel/sessions/{id}"), Some(&other_key), None).await;
    assert_eq!((st, code(&b)), (404, "not_found"));
    let (st, b) = call(&s, "POST", &format!("/v1/counsel/sessions/{id}/messages"), Some(&other_key), Some(json!({"client_id": "x", "sender": "bot", "body": {"kind": "text", "text": "hi"}}))).await;
    assert_eq!((st, code(&b)), (404, "not_found"));
    let (st, b) = call(&s, "GET", "/v1/counsel/sessions/s_nope", Some(&read_key), None).await;
    assert_eq!((st, code(&b)), (404, "not_found"));
    let (st, b) = call(&s, "GET", &format!("/v1/counsel/sessions/{id}"), Some(&read_key), None).await;
    assert_eq!(st, 200);
    assert_eq!(b["session"]["state"], "queued");
    assert!(b["session"]["entry"].is_object());

    // Scope, identity and assignment.
    let send = |cid: &str, text: &str| json!({"client_id": cid, "body": {"kind": "text", "text": text}});
    let msgs = format!("/v1/counsel/sessions/{id}/messages");
    let (st, b) = call(&s, "POST", &msgs, Some(&read_key), Some(send("r1", "no"))).await;
    assert_eq!((st, code(&b)), (403, "missing_scope"));
    let (st, b) = call(&s, "POST", &msgs, Some(&system_key), Some(send("s1", "no"))).await;
    assert_eq!((st, code(&b)), (403, "no_agent"));
    let (st, b) = call(&s, "POST", &msgs, Some(&agent_key), Some(send("a0", "too early"))).await;
    assert_eq!((st, code(&b)), (409, "not_assigned"));
    let (st, b) = call(&s, "POST", &msgs, Some(&system_key), Some(json!({"client_id": "b1", "sender": "bot", "body": {"kind": "text", "text": "x"}}))).await;
    assert_eq!((st, code(&b)), (409, "not_with_bot"));
    // Bad input.
    let r = s.http.post(s.url(&msgs)).bearer_auth(&agent_key).header("content-type", "application/json").body("{not json").send().await.unwrap();
    assert_eq!(r.status().as_u16(), 400);
    assert_eq!(r.json::<Value>().await.unwrap()["code"], "bad_request");
    let big = json!({"client_id": "big", "body": {"kind": "text", "text": "x".repeat(100_000)}});
    let (st, b) = call(&s, "POST", &msgs, Some(&agent_key), Some(big)).await;
    assert_eq!((st, code(&b)), (413, "too_large"));

    // The desk agent and the API key share agent a1: take over the API, reply from both.
    let mut desk = s.agent("a1", "pw1").await;
    let (st, b) = call(&s, "POST", &format!("/v1/counsel/sessions/{id}/take"), Some(&agent_key), None).await;
    assert_eq!(st, 200, "{b}");
    assert_eq!(b["session"]["agent"], "a1");
    let (st, b) = call(&s, "POST", &msgs, Some(&agent_key), Some(send("api-1", "from the API"))).await;
    assert_eq!(st, 200, "{b}");
    let seq = b["seq"].as_u64().unwrap();
    let (st, b) = call(&s, "POST", &msgs, Some(&agent_key), Some(send("api-1", "from the API"))).await;
    assert_eq!((st, b["seq"].as_u64()), (200, Some(seq)), "the same client_id answers the same seq");
    desk.say(&id, "desk-1", "from the desk").await;
    desk.until(|e| matches!(e, AgentEvent::Ack { .. }).then_some(())).await;
    let (st, _) = call(&s, "POST", &msgs, Some(&agent_key), Some(send("api-2", "API again"))).await;
    assert_eq!(st, 200);
    let got: Vec<String> = v
        .messages(600)
        .await
        .into_iter()
        .filter_map(|m| match m.body {
            consult_sdk::protocol::Body::Text { text } if m.seq > 1 => Some(text),
            _ => None,
        })
        .collect();
    assert_eq!(got, vec!["from the API", "from the desk", "API again"], "each reply once, in stored order");

    // Messages after a seq, paged.
    let (_, b) = call(&s, "GET", &format!("{msgs}?after=0&limit=2"), Some(&read_key), None).await;
    assert_eq!(b["messages"].as_array().unwrap().len(), 2);
    assert_eq!(b["more"], true);
    let (_, b) = call(&s, "GET", &format!("{msgs}?after=2"), Some(&read_key), None).await;
    assert_eq!(b["messages"].as_array().unwrap().len(), 2);
    assert_eq!(b["more"], false);

    // Close; a reply after it is refused and stores nothing.
    let (st, b) = call(&s, "POST", &format!("/v1/counsel/sessions/{id}/close"), Some(&system_key), None).await;
    assert_eq!((st, &b["session"]["state"]), (200, &json!("closed")), "{b}");
    let (st, b) = call(&s, "POST", &msgs, Some(&agent_key), Some(send("late", "after close"))).await;
    assert_eq!((st, code(&b)), (409, "session_not_open"));
    let (_, b) = call(&s, "GET", &msgs, Some(&read_key), None).await;
    let texts = b["messages"].to_string();
    assert!(!texts.contains("after close"), "{texts}");
    let (_, b) = call(&s, "GET", &format!("/v1/counsel/users/{user_key}/sessions"), Some(&read_key), None).await;
    assert_eq!(b["sessions"][0]["id"], json!(id));

    // Keys over the API: list, create, revoke; a revoked key stops at once.
    let (st, b) = call(&s, "GET", "/v1/counsel/keys", Some(&read_key), None).await;
    assert_eq!((st, code(&b)), (403, "missing_scope"));
    let (st, b) = call(&s, "POST", "/v1/counsel/keys", Some(&system_key), Some(json!({"name": "crm", "scopes": ["read"]}))).await;
    assert_eq!(st, 201, "{b}");
    let new_secret = b["secret"].as_str().unwrap().to_string();
    let new_id = b["key"]["id"].as_str().unwrap().to_string();
    assert_eq!(call(&s, "GET", "/v1/counsel/sessions", Some(&new_secret), None).await.0, 200);
    let (_, b) = call(&s, "GET", "/v1/counsel/keys", Some(&system_key), None).await;
    assert!(b["keys"].as_array().unwrap().iter().any(|k| k["id"] == json!(new_id) && k["last_used_ms"].is_u64()), "{b}");
    assert!(!b.to_string().contains(&new_secret[10..]), "secrets are never listed");
    assert_eq!(call(&s, "DELETE", &format!("/v1/counsel/keys/{new_id}"), Some(&system_key), None).await.0, 204);
    let (st, b) = call(&s, "GET", "/v1/counsel/sessions", Some(&new_secret), None).await;
    assert_eq!((st, code(&b)), (401, "bad_api_key"));

    // Failed authentication is limited per key id and address, even for the right key after.
    let mut limited = false;
    for i in 0..30 {
        // A different key id each time: the per-address limit is what stops this.
        let (st, b) = call(&s, "GET", "/v1/counsel/sessions", Some(&format!("ck_{i:012x}_wrong")), None).await;
        if st == 429 {
            assert_eq!(code(&b), "rate_limited");
            limited = true;
            break;
        }
    }
    assert!(limited, "30 bad keys in a row were never rate limited");
    let (st, _) = call(&s, "GET", "/v1/counsel/sessions", Some(&read_key), None).await;
    assert_eq!(st, 429, "the address is limited for a while after the failures");
}

#[tokio::test]
async fn every_documented_route_exists_and_every_counsel_route_is_documented() {
    let (s, _) = start("openapi", "").await;
    let r = s.http.get(s.url("/v1/openapi.json")).send().await.unwrap();
    assert_eq!(r.status().as_u16(), 200);
    let doc: Value = r.json().await.unwrap();
    assert!(doc["openapi"].as_str().unwrap().starts_with("3.1"), "{}", doc["openapi"]);
    let expected = [
        ("get", "/v1/counsel/sessions"),
        ("get", "/v1/counsel/sessions/{id}"),
        ("get", "/v1/counsel/users/{user_key}/sessions"),
        ("get", "/v1/counsel/sessions/{id}/messages"),
        ("post", "/v1/counsel/sessions/{id}/messages"),
        ("post", "/v1/counsel/sessions/{id}/read"),
        ("post", "/v1/counsel/sessions/{id}/take"),
        ("post", "/v1/counsel/sessions/{id}/assign"),
        ("post", "/v1/counsel/sessions/{id}/transfer"),
        ("post", "/v1/counsel/sessions/{id}/close"),
        ("post", "/v1/counsel/sessions/{id}/handover"),
        ("post", "/v1/counsel/sessions/{id}/block"),
        ("post", "/v1/counsel/unblock"),
        ("get", "/v1/counsel/channel"),
        ("post", "/v1/counsel/channel"),
        ("get", "/v1/counsel/channel/hours"),
        ("put", "/v1/counsel/channel/hours"),
        ("get", "/v1/counsel/channel/guidance"),
        ("put", "/v1/counsel/channel/guidance"),
        ("get", "/v1/counsel/channel/menu"),
        ("put", "/v1/counsel/channel/menu"),
        ("post", "/v1/counsel/uploads"),
        ("get", "/v1/counsel/keys"),
        ("post", "/v1/counsel/keys"),
        ("delete", "/v1/counsel/keys/{id}"),
        ("get", "/v1/counsel/webhooks"),
        ("post", "/v1/counsel/webhooks"),
        ("delete", "/v1/counsel/webhooks/{id}"),
        ("get", "/v1/counsel/webhooks/{id}/deliveries"),
        ("post", "/v1/counsel/webhooks/{id}/replay"),
    ];
    let paths = doc["paths"].as_object().unwrap();
    let mut documented = Vec::new();
    for (path, ops) in paths {
        for method in ops.as_object().unwrap().keys() {
            documented.push((method.clone(), path.clone()));
        }
    }
    for (m, p) in expected {
        assert!(documented.iter().any(|(dm, dp)| dm == m && dp == p), "{m} {p} is missing from /v1/openapi.json");
    }
    assert_eq!(documented.len(), expected.len(), "documented but not expected here: {documented:?}");
    // Each documented route answers without a key: typed 401, not 404 — or, once this address has
    // failed 20 times in the minute, 429 (the limiter runs in the route, after routing).
    let mut refused = 0;
    for (m, p) in &documented {
        let path = p.replace("{id}", "x").replace("{user_key}", "u");
        let (st, b) = call(&s, &m.to_uppercase(), &path, None, None).await;
        match (st, code(&b)) {
            (401, "bad_api_key") => refused += 1,
            (429, "rate_limited") => {}
            other => panic!("{m} {p}: {other:?}"),
        }
    }
    assert!(refused >= 20, "the first 20 keyless calls are refused as bad_api_key, got {refused}");
    for schema in ["WebhookPayload", "SessionSummary", "ErrorBody", "SendMessage", "Body"] {
        assert!(doc["components"]["schemas"][schema].is_object(), "schema {schema} missing");
    }
    assert_eq!(s.http.get(s.url("/v1/counsel/nothing")).send().await.unwrap().status().as_u16(), 404);
    let _ = SessionState::Queued;
}
