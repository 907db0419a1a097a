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

/// Every file under `dir`, recursively.
fn files_under(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let Ok(entries) = std::fs::read_dir(dir) else { return Vec::new() };
    entries.flat_map(|e| {
        let path = e.unwrap().path();
        if path.is_dir() { files_under(&path) } else { vec![path] }
    })
    .collect()
}

#[tokio::test]
async fn upload_bytes_live_in_the_directory_store_survive_a_restart_and_go_with_a_purge_or_an_erase() {
    let dir = temp_dir("blobs");
    let db = dir.join("c.db");
    let toml = config_toml(&db, 1000) + crate::ops::SHOP_ADMIN;
    let s = Server::start_toml(&toml).await;
    let (handle, _) = s.anon("shop").await;
    let bytes = b"receipt 4242, blob store".to_vec();
    let r = s.http.post(s.url("/v1/uploads?name=receipt.txt")).header("x-consult-session", &handle).body(bytes.clone()).send().await.unwrap();
    assert_eq!(r.status(), 200);
    let attachment = r.json::<serde_json::Value>().await.unwrap()["attachment"].as_str().unwrap().to_string();

    // The bytes are one file, sharded under <database dir>/attachments; the row has the key and
    // digest, not the bytes.
    let files = files_under(&dir.join("attachments"));
    assert_eq!(files.len(), 1, "{files:?}");
    assert_eq!(files[0].file_name().unwrap().to_str(), Some(attachment.as_str()));
    assert_eq!(files[0].strip_prefix(dir.join("attachments")).unwrap().components().count(), 3);
    assert_eq!(std::fs::read(&files[0]).unwrap(), bytes);
    let conn = rusqlite::Connection::open(&db).unwrap();
    let (key, sha256, data_len, user_key): (String, String, i64, String) = conn
        .query_row(
            "SELECT a.blob_key, a.sha256, length(a.data), c.user_key FROM attachments a JOIN conversations c ON c.id = a.conversation WHERE a.id = ?1",
            [&attachment],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
        )
        .unwrap();
    assert_eq!((key.as_str(), sha256, data_len), (attachment.as_str(), consult_gateway::blob::sha256_hex(&bytes), 0));
    // A row from before blobs (bytes inline, no key) is still served from the row.
    conn.execute(
        "INSERT INTO attachments(id, conversation, agent, mime, name, size, data, created_ms) VALUES ('a_legacy', NULL, 'a1', 'text/plain; charset=utf-8', 'old.txt', 3, X'6f6c64', unixepoch() * 1000)",
        [],
    )
    .unwrap();

    // An agent upload past the retention period, bytes in the store: the next purge takes both.
    let expired = consult_gateway::blob::DirStore::new(dir.join("attachments")).path_of("a_expired").unwrap();
    std::fs::create_dir_all(expired.parent().unwrap()).unwrap();
    std::fs::write(&expired, b"old bytes").unwrap();
    conn.execute(
        "INSERT INTO attachments(id, conversation, agent, mime, name, size, data, blob_key, sha256, created_ms) VALUES ('a_expired', NULL, 'a1', 'text/plain; charset=utf-8', 'x.txt', 9, X'', 'a_expired', '', 1)",
        [],
    )
    .unwrap();

    // A second gateway on the same database and directory (nothing in memory of the first); its
    // first tick runs the retention purge.
    let s2 = Server::start_toml(&toml).await;
    for _ in 0..50 {
        if !expired.exists() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert!(!expired.exists(), "the purge deleted the expired attachment's bytes");
    assert_eq!(s2.http.get(s2.url("/v1/attachments/a_expired")).send().await.unwrap().status(), 404);
    let r = s2.http.get(s2.url(&format!("/v1/attachments/{attachment}"))).send().await.unwrap();
    assert_eq!((r.status().as_u16(), r.headers()["content-type"].to_str().unwrap().to_string()), (200, "text/plain; charset=utf-8".into()));
    assert_eq!(r.bytes().await.unwrap(), bytes);
    assert_eq!(s2.http.get(s2.url("/v1/attachments/a_legacy")).send().await.unwrap().bytes().await.unwrap(), "old".as_bytes());

    // The export carries the bytes; an erase deletes the row and then the file.
    let (_, t) = s2.login("adm", "pw5").await;
    let t = t.unwrap();
    let export: serde_json::Value = s2
        .http
        .get(s2.url(&format!("/v1/admin/users/export?channel=shop&user_key={user_key}")))
        .bearer_auth(&t)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let exported = &export["attachments"][0];
    use base64::Engine;
    assert_eq!(exported["data_base64"], base64::engine::general_purpose::STANDARD.encode(&bytes), "{export}");
    assert!(exported.get("blob_key").is_none(), "{export}");
    let r = s2.http.post(s2.url("/v1/admin/users/erase")).bearer_auth(&t).json(&serde_json::json!({"channel": "shop", "user_key": user_key})).send().await.unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.json::<serde_json::Value>().await.unwrap()["attachments"], 1);
    assert!(files_under(&dir.join("attachments")).is_empty(), "the bytes are gone with the row");
    assert_eq!(s2.http.get(s2.url(&format!("/v1/attachments/{attachment}"))).send().await.unwrap().status(), 404);
}

/// The same path through S3-compatible storage, when `CONSULT_TEST_S3` names a bucket URL of a
/// local server (with its `AWS_*` variables; see blob/s3.rs) and the build has feature `s3`.
#[cfg(feature = "s3")]
#[tokio::test]
async fn upload_bytes_go_to_s3_and_back() {
    let Ok(url) = std::env::var("CONSULT_TEST_S3") else {
        eprintln!("skipped: CONSULT_TEST_S3 is not set");
        return;
    };
    let db = temp_dir("s3").join("c.db");
    let toml = config_toml(&db, 1000) + &format!("\n[storage]\nattachments = {url:?}\n");
    let s = Server::start_toml(&toml).await;
    let (handle, _) = s.anon("shop").await;
    let r = s.http.post(s.url("/v1/uploads?name=n.txt")).header("x-consult-session", &handle).body("to the bucket").send().await.unwrap();
    assert_eq!(r.status(), 200);
    let attachment = r.json::<serde_json::Value>().await.unwrap()["attachment"].as_str().unwrap().to_string();
    assert!(!db.parent().unwrap().join("attachments").exists(), "nothing written locally");
    let s2 = Server::start_toml(&toml).await;
    let r = s2.http.get(s2.url(&format!("/v1/attachments/{attachment}"))).send().await.unwrap();
    assert_eq!(r.bytes().await.unwrap(), "to the bucket".as_bytes());
}
