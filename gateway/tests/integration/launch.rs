//! Launch verification, Origin rules, channel status, pages.

use consult_sdk::protocol::LaunchRequest;
use consult_sdk::{EntryPoint, Kind, SecretKey};

use crate::common::*;

fn req(channel: &str, token: Option<String>) -> LaunchRequest {
    LaunchRequest { channel: channel.into(), token, ..Default::default() }
}

#[tokio::test]
async fn every_bad_launch_gets_its_own_code() {
    let s = Server::start().await;
    let good = button_token("shop", None);
    let now = now();
    let claims = |key_id: &str, issued_at: u64, expires_at: u64| consult_sdk::Claims {
        kind: Kind::Button,
        channel: "shop".into(),
        key_id: key_id.into(),
        issued_at,
        expires_at,
        serial: 2,
        entry: EntryPoint::default(),
        member: None,
    };
    // Same key id, another key: the signature cannot verify.
    let forged = SecretKey::from_seed("shop", "k1", [9; 32]).unwrap().sign(&claims("k1", now, now + 60)).unwrap();
    let unknown_key = SecretKey::from_seed("shop", "k9", [7; 32]).unwrap().sign(&claims("k9", now, now + 60)).unwrap();
    let expired = key("shop").sign(&claims("k1", now - 7200, now - 3600)).unwrap();
    let revoked = sign("shop", Kind::Button, EntryPoint::default(), None, 666, 600).to_text();
    let printed_as_button = sign("shop", Kind::Printed, EntryPoint { button: Some("poster".into()), ..Default::default() }, None, 4, 600).to_text();
    let cases: Vec<(LaunchRequest, Option<String>, u16, &str)> = vec![
        (req("shop", Some("!!!not-base64".into())), Some(SHOP_ORIGIN.into()), 400, "malformed"),
        (req("shop", Some("A".repeat(5000))), Some(SHOP_ORIGIN.into()), 413, "too_large"),
        (req("shop", Some(forged)), Some(SHOP_ORIGIN.into()), 401, "bad_signature"),
        (req("shop", Some(unknown_key)), Some(SHOP_ORIGIN.into()), 401, "unknown_key"),
        (req("shop", Some(expired)), Some(SHOP_ORIGIN.into()), 401, "expired"),
        (req("shop", Some(revoked)), Some(SHOP_ORIGIN.into()), 401, "revoked"),
        (req("shop", Some(printed_as_button)), Some(SHOP_ORIGIN.into()), 401, "wrong_kind"),
        (req("botshop", Some(good.clone())), Some(SHOP_ORIGIN.into()), 401, "wrong_channel"),
        (req("shop", Some(good.clone())), Some("https://evil.test".into()), 403, "origin_not_allowed"),
        (req("shop", Some(good.clone())), None, 403, "origin_not_allowed"),
        (req("off", None), Some(SHOP_ORIGIN.into()), 403, "channel_disabled"),
        (req("nope", None), Some(SHOP_ORIGIN.into()), 404, "unknown_channel"),
        (req("night-refuse", None), Some(SHOP_ORIGIN.into()), 503, "closed_after_hours"),
        (
            LaunchRequest { channel: "shop".into(), host_origin: Some("https://evil.test".into()), ..Default::default() },
            Some(s.own_origin()),
            403,
            "origin_not_allowed",
        ),
        (
            LaunchRequest { channel: "shop".into(), token: Some(good.clone()), printed: Some("123".into()), ..Default::default() },
            Some(SHOP_ORIGIN.into()),
            400,
            "bad_request",
        ),
    ];
    for (r, origin, status, code) in cases {
        let (got_status, body) = s.launch_from(origin.as_deref(), &r).await;
        assert_eq!((got_status, body["code"].as_str().unwrap_or_default()), (status, code), "{r:?} → {body}");
        assert!(!body["message"].as_str().unwrap_or_default().is_empty());
    }
    // Malformed JSON body.
    let r = s.http.post(s.url("/v1/launch")).header("origin", SHOP_ORIGIN).body("{nope").send().await.unwrap();
    assert_eq!(r.status(), 400);
    // The good token still works, from the page and from the chat frame on behalf of the page.
    let (status, body) = s.launch(&req("shop", Some(good.clone()))).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["verified"], true);
    assert!(body["channel"]["guidance"].as_str().unwrap().contains("90 days"));
    let framed = LaunchRequest { channel: "shop".into(), token: Some(good), host_origin: Some(SHOP_ORIGIN.into()), ..Default::default() };
    assert_eq!(s.launch_from(Some(&s.own_origin()), &framed).await.0, 200);
    // Metrics counted both outcomes.
    let metrics = s.http.get(s.url("/metrics")).send().await.unwrap().text().await.unwrap();
    assert!(metrics.contains("consult_launches_total{outcome=\"ok\"} 2"), "{metrics}");
    assert!(metrics.contains("consult_launches_total{outcome=\"bad_signature\"} 1"), "{metrics}");
}

#[tokio::test]
async fn printed_codes_take_the_channel_from_the_token() {
    let s = Server::start().await;
    let raw = sign("shop", Kind::Printed, EntryPoint { button: Some("store-counter".into()), ..Default::default() }, None, 77, 86_400);
    let r = LaunchRequest { channel: String::new(), printed: Some(raw.to_digits()), ..Default::default() };
    // A full-page launch from the gateway's own /P/ page carries no host origin.
    let (status, body) = s.launch_from(Some(&s.own_origin()), &r).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["channel"]["id"], "shop");
    let bad = LaunchRequest { printed: Some("12345".into()), ..Default::default() };
    assert_eq!(s.launch_from(Some(&s.own_origin()), &bad).await.1["code"], "malformed");
}

#[tokio::test]
async fn channel_status_and_pages() {
    let s = Server::start().await;
    let r = s.http.get(s.url("/v1/channels/shop/status")).header("origin", SHOP_ORIGIN).send().await.unwrap();
    assert_eq!(r.headers()["access-control-allow-origin"], SHOP_ORIGIN);
    let body: serde_json::Value = r.json().await.unwrap();
    assert_eq!((body["enabled"].as_bool(), body["open_now"].as_bool()), (Some(true), Some(true)));
    let off: serde_json::Value = s.http.get(s.url("/v1/channels/off/status")).send().await.unwrap().json().await.unwrap();
    assert_eq!(off["enabled"], false);
    let night: serde_json::Value = s.http.get(s.url("/v1/channels/night-wait/status")).send().await.unwrap().json().await.unwrap();
    assert_eq!(night["open_now"], false);
    let tomorrow_10 = jiff::Zoned::now()
        .with_time_zone(jiff::tz::TimeZone::UTC)
        .date()
        .tomorrow()
        .unwrap()
        .at(10, 0, 0, 0)
        .to_zoned(jiff::tz::TimeZone::UTC)
        .unwrap()
        .timestamp()
        .as_second();
    assert_eq!(night["next_opening"].as_i64(), Some(tomorrow_10));
    assert!(night["after_hours_message"].as_str().unwrap().contains("closed"));
    let evil = s.http.get(s.url("/v1/channels/shop/status")).header("origin", "https://evil.test").send().await.unwrap();
    assert!(evil.headers().get("access-control-allow-origin").is_none());
    // Desk, health and metrics are served; the desk never embeds.
    let desk = s.http.get(s.url("/desk")).send().await.unwrap();
    assert!(desk.headers()["content-security-policy"].to_str().unwrap().contains("frame-ancestors 'none'"));
    assert!(desk.text().await.unwrap().contains("Consult Desk"));
    assert_eq!(s.http.get(s.url("/healthz")).send().await.unwrap().status(), 200);
}

#[tokio::test]
async fn chat_frame_names_the_channel_origins_as_frame_ancestors() {
    let s = Server::start().await;
    let r = s.http.get(s.url("/chat?channel=shop")).send().await.unwrap();
    if r.status() == 404 {
        // Widget not built in this checkout: the 404 must say how to build it.
        let text = r.text().await.unwrap();
        assert!(text.contains("cargo xtask build-widget") || text == "not found", "{text}");
        return;
    }
    let csp = r.headers()["content-security-policy"].to_str().unwrap().to_string();
    assert!(csp.contains(&format!("frame-ancestors {SHOP_ORIGIN}")), "{csp}");
    assert!(csp.contains("'wasm-unsafe-eval'"));
    assert!(csp.contains(&format!("ws://{}", s.addr)));
    let full = s.http.get(s.url("/l/shop")).send().await.unwrap();
    assert!(full.headers()["content-security-policy"].to_str().unwrap().contains("frame-ancestors 'none'"));
    let wasm = s.http.get(s.url("/widget/chat_bg.wasm")).send().await.unwrap();
    if wasm.status() == 200 {
        assert_eq!(wasm.headers()["content-type"], "application/wasm");
    }
    assert_eq!(s.http.get(s.url("/widget/..%2Fsecret")).send().await.unwrap().status(), 404);
}
