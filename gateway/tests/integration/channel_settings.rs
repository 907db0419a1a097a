//! Business hours, guidance and the bot menu changed at runtime by an admin on the desk or over
//! the Counsel API: refused with every broken rule named and nothing changed, refused on a stale
//! version, refused for anyone but an admin of that channel, and in effect for the next visitor
//! without a restart (and after one: the stored row wins over the file).

use consult_sdk::protocol::{Body, LaunchRequest, Sender, VisitorCommand, VisitorEvent};
use serde_json::{Value, json};

use crate::common::*;
use crate::counsel::{api_key, call, start};
use crate::ops::{SHOP_ADMIN, token};

/// An admin of "botshop" only, beside "adm" (an admin of "shop" only).
const BOTSHOP_ADMIN: &str = r#"
[[agents]]
id = "admb"
name = "Admin Botshop"
password = "pw6"
role = "admin"
max_chats = 2
channels = ["botshop"]
"#;

async fn get(s: &Server, token: &str, path: &str) -> (u16, Value) {
    let r = s.http.get(s.url(path)).bearer_auth(token).send().await.unwrap();
    (r.status().as_u16(), r.json().await.unwrap_or(Value::Null))
}

async fn put(s: &Server, token: &str, path: &str, body: Value) -> (u16, Value) {
    let r = s.http.put(s.url(path)).bearer_auth(token).json(&body).send().await.unwrap();
    (r.status().as_u16(), r.json().await.unwrap_or(Value::Null))
}

async fn launch(s: &Server, channel: &str) -> (u16, Value) {
    s.launch(&LaunchRequest { channel: channel.into(), ..Default::default() }).await
}

/// The next bot menu a visitor gets: its options' ids and labels.
async fn menu_of(v: &mut Visitor) -> Vec<(String, String)> {
    v.until(|e| match e {
        VisitorEvent::Message { message } if message.sender == Sender::Bot => match &message.body {
            Body::Menu { options, .. } => Some(options.iter().map(|o| (o.id.clone(), o.label.clone())).collect()),
            _ => None,
        },
        _ => None,
    })
    .await
}

#[tokio::test]
async fn hours_closed_now_turn_the_next_launch_away_and_a_stale_version_changes_nothing() {
    let (s, config) = start("settings-hours", SHOP_ADMIN).await;
    let adm = token(&s, "adm", "pw5").await;
    let (st, now) = get(&s, &adm, "/v1/admin/channels/shop/hours").await;
    assert_eq!((st, now), (200, json!({"version": 0, "hours": null})), "the file's: always open");
    assert_eq!(launch(&s, "shop").await.0, 200);

    // Closed every day from now on, refusing new chats: the very next launch is refused.
    let closed = json!({"time_zone": "Asia/Seoul", "after_hours": "refuse", "after_hours_message": "Closed for training today.", "days": {}, "holidays": ["2026-01-01"]});
    let (st, b) = put(&s, &adm, "/v1/admin/channels/shop/hours", json!({"version": 0, "hours": closed})).await;
    assert_eq!((st, &b["version"]), (200, &json!(1)), "{b}");
    assert_eq!(b["hours"]["days"]["mon"], "closed", "every day named as it applies: {b}");
    let (st, b) = launch(&s, "shop").await;
    assert_eq!((st, b["code"].as_str()), (503, Some("closed_after_hours")), "{b}");
    assert!(b["message"].as_str().unwrap().starts_with("Closed for training today."), "{b}");
    let status: Value = s.http.get(s.url("/v1/channels/shop/status")).send().await.unwrap().json().await.unwrap();
    assert_eq!((status["open_now"].as_bool(), status["after_hours_message"].as_str()), (Some(false), Some("Closed for training today.")));

    // Another admin who read version 0 would open it again: refused, still closed.
    let (st, b) = put(&s, &adm, "/v1/admin/channels/shop/hours", json!({"version": 0, "hours": null})).await;
    assert_eq!((st, b["code"].as_str()), (409, Some("conflict")), "{b}");
    assert_eq!(launch(&s, "shop").await.0, 503, "the stale write changed nothing");
    assert_eq!(get(&s, &adm, "/v1/admin/channels/shop/hours").await.1["version"], 1);

    // Over the Counsel API too, with an admin key; the change is audited with who made it.
    let key = api_key(&config, "shop", "admin", None);
    let (st, b) = call(&s, "PUT", "/v1/counsel/channel/hours", Some(&key), Some(json!({"version": 1, "hours": null}))).await;
    assert_eq!((st, &b), (200, &json!({"version": 2, "hours": null})));
    assert_eq!(launch(&s, "shop").await.0, 200, "always open again, without a restart");
    let audit = get(&s, &adm, "/v1/admin/audit?action=config").await.1;
    let who: Vec<&str> = audit["entries"].as_array().unwrap().iter().map(|e| e["actor"].as_str().unwrap()).collect();
    assert_eq!(who.len(), 2, "{audit}");
    assert!(who.contains(&"adm") && who.iter().any(|a| a.starts_with("api:")), "{who:?}");
}

#[tokio::test]
async fn every_refused_setting_names_what_is_wrong_and_changes_nothing() {
    let (s, _) = start("settings-refused", &format!("{SHOP_ADMIN}{BOTSHOP_ADMIN}")).await;
    let adm = token(&s, "adm", "pw5").await;
    let admb = token(&s, "admb", "pw6").await;
    let before = [
        get(&s, &adm, "/v1/admin/channels/shop/hours").await.1,
        get(&s, &adm, "/v1/admin/channels/shop/guidance").await.1,
        get(&s, &admb, "/v1/admin/channels/botshop/menu").await.1,
    ];
    assert_eq!(before[1], json!({"version": 0, "guidance": "Hello. Chats are kept for 90 days.", "retention_notice": ""}));
    assert_eq!(before[2]["menu"]["options"].as_array().map(Vec::len), Some(3), "{}", before[2]);
    let day = |d: &str, h: &str| json!({"version": 0, "hours": {"days": {d: h}}});
    let option = |id: &str, label: &str| json!({"id": id, "label": label, "answer": "Two days."});
    let menu = |options: Value| json!({"version": 0, "menu": {"options": options}});
    let cases = [
        (&adm, "shop/hours", day("mon", "18:00-09:00"), "days.mon: \"18:00-09:00\""),
        (&adm, "shop/hours", day("tue", "09:00-13:00,12:00-18:00"), "days.tue: 09:00-13:00 and 12:00-18:00 overlap"),
        (&adm, "shop/hours", day("wed", "9-18"), "days.wed"),
        (&adm, "shop/hours", json!({"version": 0, "hours": {"holidays": ["2026-13-01"]}}), "holidays[0]"),
        (&adm, "shop/hours", json!({"version": 0, "hours": {"time_zone": "Mars/Base"}}), "time_zone"),
        (&adm, "shop/guidance", json!({"version": 0, "guidance": "Hello", "retention_notice": " "}), "retention_notice: is empty"),
        (&adm, "shop/guidance", json!({"version": 0, "guidance": "", "retention_notice": "Kept 90 days."}), "guidance: is empty"),
        (&adm, "shop/guidance", json!({"version": 0, "guidance": "가".repeat(1001), "retention_notice": "Kept 90 days."}), "guidance: 1001 characters; at most 1000"),
        (&admb, "botshop/menu", menu(json!([])), "options: is empty"),
        (&admb, "botshop/menu", json!({"version": 0, "menu": null}), "options: is empty"),
        (&admb, "botshop/menu", menu(json!([option("faq", "Delivery"), option("more", "")])), "options[1].label: is empty"),
        (&admb, "botshop/menu", menu(json!([option("faq", "Delivery"), option("faq", "Again")])), "options[1].id: \"faq\" is used twice"),
    ];
    for (who, path, body, says) in cases {
        let (st, b) = put(&s, who, &format!("/v1/admin/channels/{path}"), body.clone()).await;
        assert_eq!((st, b["code"].as_str()), (400, Some("invalid_settings")), "{path} {body}: {b}");
        assert!(b["message"].as_str().unwrap().contains(says), "{path}: {b} should say {says:?}");
    }
    // A body of the wrong shape is a plain bad request.
    let (st, b) = put(&s, &adm, "/v1/admin/channels/shop/guidance", json!({"version": 0, "guidance": "Hi"})).await;
    assert_eq!((st, b["code"].as_str()), (400, Some("bad_request")), "no retention_notice field: {b}");
    let after = [
        get(&s, &adm, "/v1/admin/channels/shop/hours").await.1,
        get(&s, &adm, "/v1/admin/channels/shop/guidance").await.1,
        get(&s, &admb, "/v1/admin/channels/botshop/menu").await.1,
    ];
    assert_eq!(after, before, "nothing changed");
    assert_eq!(launch(&s, "shop").await.1["channel"]["guidance"], "Hello. Chats are kept for 90 days.");
    let audit = get(&s, &adm, "/v1/admin/audit?action=config").await.1;
    assert_eq!(audit["entries"], json!([]), "nothing audited");
}

#[tokio::test]
async fn new_guidance_and_menu_reach_the_next_visitor_and_win_over_the_file_after_a_restart() {
    let (s, config) = start("settings-live", &format!("{SHOP_ADMIN}{BOTSHOP_ADMIN}")).await;
    let adm = token(&s, "adm", "pw5").await;
    let admb = token(&s, "admb", "pw6").await;
    let change = json!({"version": 0, "guidance": "Welcome to the shop!", "retention_notice": "Chats are kept 30 days, then deleted."});
    let (st, b) = put(&s, &adm, "/v1/admin/channels/shop/guidance", change).await;
    assert_eq!((st, &b["version"]), (200, &json!(1)), "{b}");
    let shown = "Welcome to the shop!\n\nChats are kept 30 days, then deleted.";
    assert_eq!(launch(&s, "shop").await.1["channel"]["guidance"], shown, "the notice under the greeting");

    let new_menu = json!({"prompt": "What do you need?", "free_text": "offer", "options": [
        {"id": "hours", "label": "Opening hours", "answer": "Nine to six, on weekdays.", "keywords": ["open"]},
        {"id": "human", "label": "A person", "category": "general"},
    ]});
    // A visitor already with the bot, before the change.
    let (earlier, _) = s.anon("botshop").await;
    let (st, b) = put(&s, &admb, "/v1/admin/channels/botshop/menu", json!({"version": 0, "menu": new_menu})).await;
    assert_eq!((st, &b["version"]), (200, &json!(1)), "{b}");
    assert_eq!(b["menu"]["options"][0]["keywords"], json!(["open"]));
    for handle in [earlier, s.anon("botshop").await.0] {
        let mut v = s.visitor(&handle, 0).await;
        v.say("hi", "hello").await;
        let shown = menu_of(&mut v).await;
        assert_eq!(shown, [("hours".to_string(), "Opening hours".to_string()), ("human".to_string(), "A person".to_string())]);
        v.cmd(&VisitorCommand::Choose { client_id: "c1".into(), option: "hours".into() }).await;
        let answer = v.until(|e| match e {
            VisitorEvent::Message { message } if message.sender == Sender::Bot && matches!(message.body, Body::Text { .. }) => Some(message.body.clone()),
            _ => None,
        });
        assert_eq!(answer.await, Body::Text { text: "Nine to six, on weekdays.".into() });
    }

    // The Counsel API reads the same version; a key without the admin scope may not write.
    let read = api_key(&config, "botshop", "read,write", None);
    let (st, b) = call(&s, "GET", "/v1/counsel/channel/menu", Some(&read), None).await;
    assert_eq!((st, &b["version"], &b["menu"]["prompt"]), (200, &json!(1), &json!("What do you need?")));
    let (st, b) = call(&s, "PUT", "/v1/counsel/channel/menu", Some(&read), Some(json!({"version": 1, "menu": new_menu}))).await;
    assert_eq!((st, b["code"].as_str()), (403, Some("missing_scope")));

    // A restart with the same file: the stored settings win over it.
    let toml = std::fs::read_to_string(&config).unwrap();
    drop(s);
    let again = Server::start_toml(&toml).await;
    assert_eq!(launch(&again, "shop").await.1["channel"]["guidance"], shown);
    let (handle, _) = again.anon("botshop").await;
    let mut v = again.visitor(&handle, 0).await;
    v.say("hi", "hello").await;
    assert_eq!(menu_of(&mut v).await.iter().map(|(id, _)| id.as_str()).collect::<Vec<_>>(), ["hours", "human"]);
}

#[tokio::test]
async fn only_an_admin_of_the_channel_reads_or_changes_its_settings() {
    let (s, _) = start("settings-roles", SHOP_ADMIN).await;
    let agent = token(&s, "a1", "pw1").await;
    let sup = token(&s, "sup", "pw3").await;
    let adm = token(&s, "adm", "pw5").await;
    let change = json!({"version": 0, "guidance": "Mine now", "retention_notice": "Kept 1 day."});
    for (who, path, want) in [
        (&agent, "shop", 403),
        (&sup, "shop", 403),
        // An admin of shop only: botshop looks like no channel at all.
        (&adm, "botshop", 404),
        (&adm, "nowhere", 404),
    ] {
        for setting in ["hours", "guidance", "menu"] {
            let url = format!("/v1/admin/channels/{path}/{setting}");
            assert_eq!(get(&s, who, &url).await.0, want, "GET {url}");
        }
        let (st, _) = put(&s, who, &format!("/v1/admin/channels/{path}/guidance"), change.clone()).await;
        assert_eq!(st, want, "PUT {path}/guidance");
    }
    let r = s.http.put(s.url("/v1/admin/channels/shop/guidance")).json(&change).send().await.unwrap();
    assert_eq!(r.status().as_u16(), 401, "no token");
    assert_eq!(launch(&s, "botshop").await.1["channel"]["guidance"], "Hello bot. Kept 90 days.", "nothing changed");
    assert_eq!(launch(&s, "shop").await.1["channel"]["guidance"], "Hello. Chats are kept for 90 days.");
}
