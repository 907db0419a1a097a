//! Photos and files: typed by content, bounded, served inert.

use consult_sdk::protocol::{AgentEvent, Body, VisitorCommand, VisitorEvent};

use crate::common::*;

const PNG: &[u8] = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR\0\0\0\x01\0\0\0\x01\x08\x06\0\0\0\x1f\x15\xc4\x89";

#[tokio::test]
async fn uploads_are_sniffed_bounded_and_served_inert() {
    let s = Server::start().await;
    let mut a1 = s.agent("a1", "pw1").await;
    a1.available().await;
    let (handle, _) = s.anon("shop").await;
    let up = |body: Vec<u8>, name: &str| {
        s.http.post(s.url(&format!("/v1/uploads?name={name}"))).header("x-consult-session", &handle).body(body).send()
    };
    // A PNG named .txt is an image; an executable named .png is refused.
    let r: serde_json::Value = up(PNG.to_vec(), "notes.txt").await.unwrap().json().await.unwrap();
    assert_eq!(r["mime"], "image/png");
    let attachment = r["attachment"].as_str().unwrap().to_string();
    let r = up(b"MZ\x90\0\x03\0\0\0".to_vec(), "cat.png").await.unwrap();
    assert_eq!(r.status(), 415);
    // Images up to 5 MB, files up to 10 MB.
    let mut big_png = PNG.to_vec();
    big_png.resize(5 * 1024 * 1024 + 1, 0);
    let r = up(big_png, "big.png").await.unwrap();
    assert_eq!(r.status(), 413);
    let r: serde_json::Value = r.json().await.unwrap();
    assert_eq!(r["code"], "too_large");
    let mut pdf = b"%PDF-1.7\n".to_vec();
    pdf.resize(6 * 1024 * 1024, b' ');
    assert_eq!(up(pdf.clone(), "ok.pdf").await.unwrap().status(), 200);
    pdf.resize(10 * 1024 * 1024 + 1, b' ');
    assert_eq!(up(pdf, "huge.pdf").await.unwrap().status(), 413);
    // Unknown handle.
    let r = s.http.post(s.url("/v1/uploads")).header("x-consult-session", "nope").body(PNG.to_vec()).send().await.unwrap();
    assert_eq!(r.status(), 404);
    // A handle in the URL is refused outright (URLs end up in logs), and nothing is stored.
    let r = s.http.post(s.url(&format!("/v1/uploads?session={handle}"))).body(PNG.to_vec()).send().await.unwrap();
    assert_eq!(r.status(), 400);

    // Served with nosniff and a sandbox CSP.
    let r = s.http.get(s.url(&format!("/v1/attachments/{attachment}"))).send().await.unwrap();
    assert_eq!(r.headers()["content-type"], "image/png");
    assert_eq!(r.headers()["x-content-type-options"], "nosniff");
    assert_eq!(r.headers()["content-security-policy"], "sandbox");

    // The visitor sends it; the agent sees the stored type, whatever the client claimed.
    let mut v = s.visitor(&handle, 0).await;
    v.cmd(&VisitorCommand::Send {
        client_id: "img".into(),
        body: Body::Image { attachment: attachment.clone(), mime: "text/html".into(), size: 1 },
    })
    .await;
    v.until(|e| matches!(e, VisitorEvent::Ack { .. }).then_some(())).await;
    let session = a1.assigned("a1").await;
    a1.cmd(&consult_sdk::protocol::AgentCommand::Open { session: session.id, after_seq: 0 }).await;
    let body = a1
        .until(|e| match e {
            AgentEvent::Message { message, .. } => Some(message.body.clone()),
            _ => None,
        })
        .await;
    assert_eq!(body, Body::Image { attachment, mime: "image/png".into(), size: PNG.len() as u64 });
    // Someone else's attachment id cannot be sent.
    let (other, _) = s.anon("shop").await;
    let mut v2 = s.visitor(&other, 0).await;
    let Body::Image { attachment, .. } = body else { unreachable!() };
    v2.cmd(&VisitorCommand::Send { client_id: "steal".into(), body: Body::Image { attachment, mime: "image/png".into(), size: 1 } }).await;
    let code = v2.error_code().await;
    assert_eq!(code, "bad_request");
}

#[tokio::test]
async fn a_flooding_address_is_limited_without_hurting_another() {
    let s = Server::start_with_burst(3).await;
    let req = consult_sdk::protocol::LaunchRequest { channel: "shop".into(), ..Default::default() };
    for _ in 0..3 {
        assert_eq!(s.launch(&req).await.0, 200);
    }
    let (status, body) = s.launch(&req).await;
    assert_eq!((status, body["code"].as_str().unwrap()), (429, "rate_limited"));
    // Another address (127.0.0.2 is loopback too) still launches.
    let other = reqwest::Client::builder().local_address("127.0.0.2".parse::<std::net::IpAddr>().unwrap()).build().unwrap();
    let r = other.post(s.url("/v1/launch")).header("origin", SHOP_ORIGIN).json(&req).send().await.unwrap();
    assert_eq!(r.status(), 200);
    // X-Forwarded-For is not believed from an untrusted peer.
    let r = s.http.post(s.url("/v1/launch")).header("origin", SHOP_ORIGIN).header("x-forwarded-for", "10.9.9.9").json(&req).send().await.unwrap();
    assert_eq!(r.status(), 429);
}
