//! Switching a channel off and on at runtime, over the Counsel API and from the desk's admin
//! view: buttons see it at once, launches are refused while off, open chats go on, the switch is
//! audited and outlives a restart (it wins over the configuration file's `enabled`).

use consult_sdk::protocol::VisitorEvent;
use serde_json::{Value, json};

use crate::common::*;
use crate::counsel::{api_key, call, start};
use crate::ops::SHOP_ADMIN;

async fn status(s: &Server) -> Value {
    s.http.get(s.url("/v1/channels/shop/status")).send().await.unwrap().json().await.unwrap()
}

async fn admin_post(s: &Server, token: &str, path: &str, body: Value) -> (u16, Value) {
    let r = s.http.post(s.url(path)).bearer_auth(token).json(&body).send().await.unwrap();
    (r.status().as_u16(), r.json().await.unwrap_or(Value::Null))
}

#[tokio::test]
async fn a_channel_switched_off_refuses_launches_keeps_open_chats_and_stays_off_after_a_restart() {
    let (s, config) = start("switches", SHOP_ADMIN).await;
    let admin_key = api_key(&config, "shop", "admin", None);
    let write_key = api_key(&config, "shop", "read,write", None);
    assert_eq!(status(&s).await["enabled"], true);

    // A chat already open before the switch.
    let (handle, _) = s.anon("shop").await;
    let mut v = s.visitor(&handle, 0).await;
    v.say("v1", "before the switch").await;
    v.until(|e| matches!(e, VisitorEvent::Ack { .. }).then_some(())).await;

    // Only an admin key may switch; the body is checked.
    let (st, b) = call(&s, "POST", "/v1/counsel/channel", Some(&write_key), Some(json!({"enabled": false}))).await;
    assert_eq!((st, b["code"].as_str()), (403, Some("missing_scope")));
    let (st, b) = call(&s, "POST", "/v1/counsel/channel", Some(&admin_key), Some(json!({"enabled": "no"}))).await;
    assert_eq!((st, b["code"].as_str()), (400, Some("bad_request")));
    assert_eq!(status(&s).await["enabled"], true, "refused switches change nothing");

    let (st, b) = call(&s, "POST", "/v1/counsel/channel", Some(&admin_key), Some(json!({"enabled": false}))).await;
    assert_eq!((st, &b["enabled"]), (200, &json!(false)), "{b}");
    assert_eq!(status(&s).await["enabled"], false, "buttons hide at once");
    let (_, b) = call(&s, "GET", "/v1/counsel/channel", Some(&write_key), None).await;
    assert_eq!(b["enabled"], false);
    let (code, b) = s.launch(&consult_sdk::protocol::LaunchRequest { channel: "shop".into(), ..Default::default() }).await;
    assert_eq!((code, b["code"].as_str()), (403, Some("channel_disabled")), "{b}");
    // Another channel is untouched.
    let (code, _) = s.launch(&consult_sdk::protocol::LaunchRequest { channel: "brief".into(), ..Default::default() }).await;
    assert_eq!(code, 200);

    // The open chat goes on.
    v.say("v2", "after the switch").await;
    let acked = v.until(|e| match e { VisitorEvent::Ack { client_id, .. } if client_id == "v2" => Some(true), VisitorEvent::Error { .. } => Some(false), _ => None }).await;
    assert!(acked, "a chat open before the switch keeps going");

    // The desk's admin view lists the channel off and switches it back on; both switches are audited.
    let (st, token) = s.login("adm", "pw5").await;
    assert_eq!(st, 200);
    let token = token.unwrap();
    let list: Value = s.http.get(s.url("/v1/admin/channels")).bearer_auth(&token).send().await.unwrap().json().await.unwrap();
    assert_eq!(list, json!([{"id": "shop", "name": list[0]["name"], "status": status(&s).await, "version": 1}]), "the API switch counted once");
    let (st, _) = admin_post(&s, &token, "/v1/admin/channels/brief", json!({"enabled": false, "version": 0})).await;
    assert_eq!(st, 404, "an admin of shop cannot switch brief");
    let (sup_status, sup_token) = s.login("sup", "pw3").await;
    assert_eq!(sup_status, 200);
    let (st, _) = admin_post(&s, &sup_token.unwrap(), "/v1/admin/channels/shop", json!({"enabled": true, "version": 1})).await;
    assert_eq!(st, 403, "a supervisor is not an admin");
    let (st, b) = admin_post(&s, &token, "/v1/admin/channels/shop", json!({"enabled": true})).await;
    assert_eq!((st, b["code"].as_str()), (400, Some("bad_request")), "the desk must name the version it read");
    let (st, b) = admin_post(&s, &token, "/v1/admin/channels/shop", json!({"enabled": true, "version": 0})).await;
    assert_eq!((st, b["code"].as_str()), (409, Some("conflict")), "a stale switch version: {b}");
    assert_eq!(status(&s).await["enabled"], false, "the stale switch changed nothing");
    let (st, b) = admin_post(&s, &token, "/v1/admin/channels/shop", json!({"enabled": true, "version": 1})).await;
    assert_eq!((st, &b["enabled"]), (200, &json!(true)), "{b}");
    let audit: Value = s.http.get(s.url("/v1/admin/audit?action=channel_switch")).bearer_auth(&token).send().await.unwrap().json().await.unwrap();
    let lines: Vec<(String, String)> = audit["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| (e["actor"].as_str().unwrap().to_string(), e["detail"].as_str().unwrap().to_string()))
        .collect();
    assert_eq!(lines.len(), 2, "{audit}");
    assert!(lines.contains(&("adm".into(), "on".into())) && lines.iter().any(|(a, d)| a.starts_with("api:") && d == "off"), "{lines:?}");

    // Off again, then a restart on the same database: still off, though the file says on.
    let (st, _) = call(&s, "POST", "/v1/counsel/channel", Some(&admin_key), Some(json!({"enabled": false}))).await;
    assert_eq!(st, 200);
    drop(v);
    let toml = std::fs::read_to_string(&config).unwrap();
    drop(s);
    let again = Server::start_toml(&toml).await;
    assert_eq!(status(&again).await["enabled"], false, "the stored switch outlives the restart");
}

/// Canned answers edited by an admin reach every open desk at once, are audited, are refused
/// when bad, and from then on the database wins over the file (also after a restart).
#[tokio::test]
async fn an_admin_edits_canned_answers_and_every_desk_gets_them() {
    use consult_sdk::protocol::{AgentEvent, CannedAnswer};
    let (s, config) = start("canned", SHOP_ADMIN).await;
    let mut a1 = s.agent("a1", "pw1").await;
    let welcome = a1.until(|e| match e { AgentEvent::Welcome { canned, .. } => Some(canned.clone()), _ => None }).await;
    assert_eq!(welcome, vec![CannedAnswer { shortcut: "/hi".into(), text: "Hello!".into() }], "the file's answers first");
    let (_, token) = s.login("adm", "pw5").await;
    let token = token.unwrap();
    let (_, sup_token) = s.login("sup", "pw3").await;

    let (st, _) = admin_post(&s, &sup_token.unwrap(), "/v1/admin/canned", json!({"shortcut": "/x", "text": "y", "version": 0})).await;
    assert_eq!(st, 403, "a supervisor is not an admin");
    for bad in [json!({"shortcut": "refund", "text": "no slash", "version": 0}), json!({"shortcut": "/a b", "text": "space", "version": 0}), json!({"shortcut": "/ok", "text": "", "version": 0}), json!({"shortcut": "/ok", "txt": "typo", "version": 0}), json!({"shortcut": "/ok", "text": "no version"})] {
        let (st, b) = admin_post(&s, &token, "/v1/admin/canned", bad.clone()).await;
        assert_eq!(st, 400, "{bad}: {b}");
    }
    let (st, _) = admin_post(&s, &token, "/v1/admin/canned", json!({"shortcut": "/nope", "version": 0})).await;
    assert_eq!(st, 404, "removing what isn't there");

    let (st, list) = admin_post(&s, &token, "/v1/admin/canned", json!({"shortcut": "/refund", "text": "환불은 7일 안에 신청할 수 있어요.", "version": 0})).await;
    assert_eq!((st, &list["version"]), (200, &json!(1)), "{list}");
    let pushed = a1.until(|e| match e { AgentEvent::Canned { canned } => Some(canned.clone()), _ => None }).await;
    assert_eq!(pushed.iter().map(|c| c.shortcut.as_str()).collect::<Vec<_>>(), vec!["/hi", "/refund"], "the open desk got the new list");
    // A second admin still holding version 0 would undo /refund: refused, nothing changed.
    let (st, b) = admin_post(&s, &token, "/v1/admin/canned", json!({"shortcut": "/hi", "version": 0})).await;
    assert_eq!((st, b["code"].as_str()), (409, Some("conflict")), "{b}");
    let now: Value = s.http.get(s.url("/v1/admin/canned")).bearer_auth(&token).send().await.unwrap().json().await.unwrap();
    assert_eq!((now["version"].as_u64(), now["answers"].as_array().map(Vec::len)), (Some(1), Some(2)), "{now}");
    let (st, _) = admin_post(&s, &token, "/v1/admin/canned", json!({"shortcut": "/hi", "version": 1})).await;
    assert_eq!(st, 200);
    let pushed = a1.until(|e| match e { AgentEvent::Canned { canned } => Some(canned.clone()), _ => None }).await;
    assert_eq!(pushed.iter().map(|c| c.shortcut.as_str()).collect::<Vec<_>>(), vec!["/refund"]);
    let audit: Value = s.http.get(s.url("/v1/admin/audit?action=config")).bearer_auth(&token).send().await.unwrap().json().await.unwrap();
    assert_eq!(audit["entries"].as_array().map_or(0, Vec::len), 2, "{audit}");

    // A restart on the same database with the same file (which still lists /hi): the database wins.
    let toml = std::fs::read_to_string(&config).unwrap();
    drop(s);
    let again = Server::start_toml(&toml).await;
    let mut a1 = again.agent("a1", "pw1").await;
    let welcome = a1.until(|e| match e { AgentEvent::Welcome { canned, .. } => Some(canned.clone()), _ => None }).await;
    assert_eq!(welcome.iter().map(|c| c.shortcut.as_str()).collect::<Vec<_>>(), vec!["/refund"]);
}

/// An admin disables an agent (their desk closes at once, their sign-in stops working, a new
/// sign-in is refused), enables them again, and sets a new password (the old one stops working).
#[tokio::test]
async fn an_admin_disables_an_agent_and_resets_a_password() {
    let (s, _) = start("accounts", SHOP_ADMIN).await;
    let (_, token) = s.login("adm", "pw5").await;
    let admin = token.unwrap();
    let (_, a1_token) = s.login("a1", "pw1").await;
    let a1_token = a1_token.unwrap();
    let mut desk = s.agent_with_token(&a1_token).await.unwrap();
    let me = |t: String| {
        let s = &s;
        async move { s.http.get(s.url("/v1/agent/me")).bearer_auth(t).send().await.unwrap().status().as_u16() }
    };
    assert_eq!(me(a1_token.clone()).await, 200);

    // Refused: a supervisor, an agent of no channel of this admin, disabling oneself, a short password, nothing to do.
    let (_, sup) = s.login("sup", "pw3").await;
    assert_eq!(admin_post(&s, &sup.unwrap(), "/v1/admin/agents/a1", json!({"disabled": true, "version": 0})).await.0, 403);
    assert_eq!(admin_post(&s, &admin, "/v1/admin/agents/nobody", json!({"disabled": true, "version": 0})).await.0, 404);
    assert_eq!(admin_post(&s, &admin, "/v1/admin/agents/adm", json!({"disabled": true, "version": 0})).await.0, 400);
    assert_eq!(admin_post(&s, &admin, "/v1/admin/agents/a1", json!({"password": "short", "version": 0})).await.0, 400);
    assert_eq!(admin_post(&s, &admin, "/v1/admin/agents/a1", json!({"version": 0})).await.0, 400);

    let list: Value = s.http.get(s.url("/v1/admin/agents")).bearer_auth(&admin).send().await.unwrap().json().await.unwrap();
    let a1 = list.as_array().unwrap().iter().find(|a| a["id"] == "a1").cloned().expect("a1 works shop");
    assert_eq!((a1["disabled"].as_bool(), a1["online"].as_bool()), (Some(false), Some(true)), "{list}");

    // Disabled: the open desk closes, the token stops working, a new sign-in is refused.
    let (st, b) = admin_post(&s, &admin, "/v1/admin/agents/a1", json!({"disabled": true, "version": 0})).await;
    assert_eq!((st, &b["disabled"]), (200, &json!(true)), "{b}");
    let closed = tokio::time::timeout(std::time::Duration::from_secs(5), async { while desk.next().await.is_some() {} }).await;
    assert!(closed.is_ok(), "the disabled agent's desk socket closes at once");
    assert_eq!(me(a1_token.clone()).await, 401);
    assert_eq!(s.login("a1", "pw1").await.0, 401, "refused like a wrong password");

    // Enabled again with a new password: only the new one works.
    let (st, _) = admin_post(&s, &admin, "/v1/admin/agents/a1", json!({"disabled": false, "password": "new-password-42", "version": 1})).await;
    assert_eq!(st, 200);
    assert_eq!(s.login("a1", "pw1").await.0, 401, "the file's password no longer works");
    let (st, t) = s.login("a1", "new-password-42").await;
    assert_eq!(st, 200);
    assert_eq!(me(t.unwrap()).await, 200);
    let audit: Value = s.http.get(s.url("/v1/admin/audit?action=agent")).bearer_auth(&admin).send().await.unwrap().json().await.unwrap();
    let details: Vec<&str> = audit["entries"].as_array().unwrap().iter().filter_map(|e| e["detail"].as_str()).collect();
    assert_eq!(details.len(), 2, "{audit}");
    assert!(details.contains(&"disabled") && details.contains(&"enabled, password reset"), "{details:?}");
}
