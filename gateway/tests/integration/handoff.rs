//! Desktop-to-phone handoff and blocking.

use consult_sdk::protocol::{AgentCommand, LaunchRequest, VisitorCommand, VisitorEvent};
use consult_sdk::{EntryPoint, Kind, LaunchUrl};

use crate::common::*;

async fn handoff_code(v: &mut Visitor) -> String {
    v.cmd(&VisitorCommand::StartHandoff).await;
    let url = v
        .until(|e| match e {
            VisitorEvent::Handoff { url, svg, expires_at } => {
                assert!(svg.starts_with("<svg"));
                assert!(*expires_at <= now() + 600);
                Some(url.clone())
            }
            _ => None,
        })
        .await;
    match LaunchUrl::parse(&url).unwrap() {
        LaunchUrl::Handoff { digits, .. } => digits,
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn phone_takes_over_once_with_history_and_the_desktop_is_told() {
    let s = Server::start().await;
    let (desktop_handle, _) = s.anon("shop").await;
    let mut desktop = s.visitor(&desktop_handle, 0).await;
    desktop.say("d1", "from the desktop").await;
    desktop.until(|e| matches!(e, VisitorEvent::Ack { .. }).then_some(())).await;
    let digits = handoff_code(&mut desktop).await;

    // The phone opens /H/… on the gateway's own origin: no host origin.
    let phone_req = LaunchRequest { handoff: Some(digits.clone()), ..Default::default() };
    let (status, body) = s.launch_from(Some(&s.own_origin()), &phone_req).await;
    assert_eq!(status, 200, "{body}");
    let phone_handle = body["session"].as_str().unwrap().to_string();
    assert_ne!(phone_handle, desktop_handle);
    let told = desktop.until(|e| matches!(e, VisitorEvent::HandedOff).then_some(())).await;
    assert_eq!(told, ());
    assert!(desktop.next().await.is_none(), "the desktop socket closes after handed_off");

    let mut phone = s.visitor(&phone_handle, 0).await;
    let history = phone
        .until(|e| match e {
            VisitorEvent::Message { message } => Some(message.body.clone()),
            _ => None,
        })
        .await;
    assert_eq!(history, consult_sdk::protocol::Body::Text { text: "from the desktop".into() });

    // Single use.
    let (status, body) = s.launch_from(Some(&s.own_origin()), &phone_req).await;
    assert_eq!((status, body["code"].as_str().unwrap()), (410, "handoff_used"));
    // The desktop's handle is revoked.
    assert_eq!(s.visitor_refusal(&desktop_handle).await.as_deref(), Some("unknown_session"));
    // A handoff code signed by the business key (not the gateway's) is refused.
    let forged = sign("shop", Kind::Handoff, EntryPoint::default(), None, 5, 300);
    let (_, body) = s.launch_from(Some(&s.own_origin()), &LaunchRequest { handoff: Some(forged.to_digits()), ..Default::default() }).await;
    assert_eq!(body["code"], "unknown_key");
}

#[tokio::test]
async fn a_block_refuses_button_printed_and_handoff_launches() {
    let s = Server::start().await;
    let mut a1 = s.agent("a1", "pw1").await;
    a1.available().await;
    let member_req = LaunchRequest { channel: "shop".into(), token: Some(button_token("shop", Some("M-BAD"))), ..Default::default() };
    let (handle, visitor_key) = s.launch_ok(&member_req).await;
    let mut v = s.visitor(&handle, 0).await;
    v.say("x", "abuse").await;
    let digits = handoff_code(&mut v).await;
    let session = a1.assigned("a1").await;
    a1.cmd(&AgentCommand::Block { session: session.id.clone(), days: 7, reason: "abuse".into() }).await;
    let reason = v
        .until(|e| match e {
            VisitorEvent::State { reason: Some(r), .. } => Some(*r),
            _ => None,
        })
        .await;
    assert_eq!(reason, consult_sdk::protocol::CloseReason::Blocked);

    // Button, signed member: refused on any device.
    let again = LaunchRequest { channel: "shop".into(), token: Some(button_token("shop", Some("M-BAD"))), ..Default::default() };
    assert_eq!(s.launch(&again).await.1["code"], "blocked");
    // Handoff minted before the block: refused too.
    let (_, body) = s.launch_from(Some(&s.own_origin()), &LaunchRequest { handoff: Some(digits), ..Default::default() }).await;
    assert_eq!(body["code"], "blocked");
    // Another member is fine.
    assert_eq!(s.launch(&LaunchRequest { channel: "shop".into(), token: Some(button_token("shop", Some("M-OK"))), ..Default::default() }).await.0, 200);

    // An anonymous visitor blocked by visitor key: button and printed launches refused.
    let anon = LaunchRequest { channel: "shop".into(), visitor_key: Some(visitor_key.clone()), ..Default::default() };
    let (h2, vk) = s.launch_ok(&anon).await;
    assert_eq!(vk, visitor_key);
    let mut v2 = s.visitor(&h2, 0).await;
    v2.say("y", "more abuse").await;
    let s2 = a1.assigned("a1").await;
    a1.cmd(&AgentCommand::Block { session: s2.id, days: 1, reason: "abuse".into() }).await;
    v2.until(|e| matches!(e, VisitorEvent::State { reason: Some(_), .. }).then_some(())).await;
    assert_eq!(s.launch(&anon).await.1["code"], "blocked");
    let printed = sign("shop", Kind::Printed, EntryPoint { button: Some("counter".into()), ..Default::default() }, None, 9, 86_400);
    let printed_req = LaunchRequest { printed: Some(printed.to_digits()), visitor_key: Some(visitor_key), ..Default::default() };
    assert_eq!(s.launch_from(Some(&s.own_origin()), &printed_req).await.1["code"], "blocked");
}
