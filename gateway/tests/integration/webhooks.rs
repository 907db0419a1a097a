//! Webhooks end to end: a real receiver checks Standard Webhooks signatures, per-session order
//! and delivery ids through a receiver outage and a `kill -9` of the gateway; a maintained
//! standardwebhooks library (PyPI, installed pinned into a temp dir) accepts our signature and
//! rejects a tampered body.

use std::sync::atomic::{AtomicBool, Ordering::SeqCst};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use consult_sdk::protocol::{LaunchRequest, VisitorEvent};
use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::common::*;
use crate::counsel::{api_key, call};
use crate::restart::spawn_gateway;

pub const SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";

#[derive(Clone, Debug)]
pub struct Hit {
    pub id: String,
    pub timestamp: String,
    pub signature: String,
    pub body: String,
}

/// A receiver that answers 200 while `up`, 500 otherwise, and records every request.
pub async fn receiver(up: Arc<AtomicBool>, hits: Arc<Mutex<Vec<Hit>>>) -> u16 {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move {
        loop {
            let Ok((mut sock, _)) = listener.accept().await else { return };
            let (up, hits) = (up.clone(), hits.clone());
            tokio::spawn(async move {
                let mut buf = Vec::new();
                let mut chunk = [0u8; 4096];
                let head_end = loop {
                    let n = sock.read(&mut chunk).await.unwrap_or(0);
                    if n == 0 {
                        return;
                    }
                    buf.extend_from_slice(&chunk[..n]);
                    if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                        break i + 4;
                    }
                };
                let head = String::from_utf8_lossy(&buf[..head_end]).to_string();
                let header = |name: &str| {
                    head.lines().find_map(|l| l.split_once(':').filter(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v.trim().to_string())).unwrap_or_default()
                };
                let len: usize = header("content-length").parse().unwrap_or(0);
                while buf.len() < head_end + len {
                    let n = sock.read(&mut chunk).await.unwrap_or(0);
                    if n == 0 {
                        break;
                    }
                    buf.extend_from_slice(&chunk[..n]);
                }
                let ok = up.load(SeqCst);
                hits.lock().unwrap().push(Hit {
                    id: header("webhook-id"),
                    timestamp: header("webhook-timestamp"),
                    signature: header("webhook-signature"),
                    body: String::from_utf8_lossy(&buf[head_end..]).to_string(),
                });
                let status = if ok { "200 OK" } else { "500 Internal Server Error" };
                let _ = sock.write_all(format!("HTTP/1.1 {status}\r\ncontent-length: 0\r\nconnection: close\r\n\r\n").as_bytes()).await;
            });
        }
    });
    port
}

pub fn verify(h: &Hit) -> bool {
    consult_sdk::webhooks::verify(&[SECRET], &h.id, &h.timestamp, &h.signature, h.body.as_bytes(), now(), 300).is_ok()
}

/// message.created seqs in first-arrival order, and each seq's delivery ids.
fn message_arrivals(hits: &[Hit]) -> (Vec<u64>, std::collections::HashMap<u64, Vec<String>>) {
    let mut order = Vec::new();
    let mut ids: std::collections::HashMap<u64, Vec<String>> = Default::default();
    for h in hits {
        let v: Value = serde_json::from_str(&h.body).unwrap();
        if v["type"] == "message.created" && v["data"]["message"]["sender"]["role"] == "visitor" {
            let seq = v["data"]["message"]["seq"].as_u64().unwrap();
            if !ids.contains_key(&seq) {
                order.push(seq);
            }
            ids.entry(seq).or_default().push(h.id.clone());
        }
    }
    (order, ids)
}

#[tokio::test]
async fn deliveries_are_signed_ordered_and_survive_an_outage_and_kill_9() {
    let up = Arc::new(AtomicBool::new(true));
    let hits = Arc::new(Mutex::new(Vec::new()));
    let port = receiver(up.clone(), hits.clone()).await;
    let dir = temp_dir("webhooks");
    let toml = config_toml(&dir.join("c.db"), 1000).replace("[server]", "[server]\nlisten = \"127.0.0.1:0\"\npublic_url = \"http://consult.test\"")
        + &format!(
            "\n[counsel]\nallow_private_targets = true\nretry_base_ms = 100\ntimeout_ms = 2000\n[[counsel.webhooks]]\nid = \"crm\"\nchannel = \"shop\"\nurl = \"http://127.0.0.1:{port}/hook\"\nsecret = \"{SECRET}\"\nevents = [\"*\"]\n"
        );
    let config = dir.join("consult.toml");
    std::fs::write(&config, toml).unwrap();
    let key = api_key(&config, "shop", "read,write", None);

    let (mut child, addr) = spawn_gateway(&config);
    let s = Server { addr: addr.parse().unwrap(), http: reqwest::Client::new() };
    let (handle, _) = s.launch_ok(&LaunchRequest { channel: "shop".into(), ..Default::default() }).await;
    let mut v = s.visitor(&handle, 0).await;
    for i in 0..5 {
        v.say(&format!("m{i}"), &format!("message {i}")).await;
    }
    let mut acks = 0;
    while acks < 5 {
        if let VisitorEvent::Ack { .. } = v.next().await.expect("ack") {
            acks += 1;
        }
    }
    // All five arrive while the receiver is up; session.opened comes first.
    for _ in 0..100 {
        if message_arrivals(&hits.lock().unwrap()).0.len() >= 5 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    {
        let h = hits.lock().unwrap();
        let first: Value = serde_json::from_str(&h[0].body).unwrap();
        assert_eq!(first["type"], "session.opened", "{}", h[0].body);
        assert_eq!(first["data"]["session"]["state"], "queued");
        assert!(h.iter().all(verify), "every delivery verifies");
        assert_eq!(message_arrivals(&h).0, vec![1, 2, 3, 4, 5]);
    }

    // The receiver fails; five more messages are retried, none skipped, none reordered.
    up.store(false, SeqCst);
    for i in 5..10 {
        v.say(&format!("m{i}"), &format!("message {i}")).await;
    }
    let mut acks = 0;
    while acks < 5 {
        if let VisitorEvent::Ack { .. } = v.next().await.expect("ack") {
            acks += 1;
        }
    }
    tokio::time::sleep(Duration::from_millis(1200)).await;
    let (st, b) = call(&s, "GET", "/v1/counsel/webhooks/crm/deliveries?status=pending", Some(&key), None).await;
    assert_eq!(st, 200, "{b}");
    let pending = b["deliveries"].as_array().unwrap();
    assert!(!pending.is_empty());
    assert!(pending[0]["attempts"].as_u64().unwrap() >= 2, "retried while down: {b}");
    assert_eq!(pending[0]["last_status"], 500);
    let during = message_arrivals(&hits.lock().unwrap()).0;
    // Only the head of the session's line is tried: nothing after seq 6 went out of order.
    assert!(during.iter().all(|s| *s <= 6), "{during:?}");

    // kill -9 with deliveries pending, the receiver comes back, the gateway restarts.
    child.kill().unwrap();
    child.wait().unwrap();
    up.store(true, SeqCst);
    let (mut child, _addr) = spawn_gateway(&config);
    for _ in 0..200 {
        if message_arrivals(&hits.lock().unwrap()).0.len() >= 10 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let h = hits.lock().unwrap().clone();
    let (order, ids) = message_arrivals(&h);
    assert_eq!(order, (1..=10).collect::<Vec<u64>>(), "every event arrives, in seq order");
    for (seq, list) in &ids {
        assert!(list.iter().all(|i| i == &list[0]), "seq {seq}: one delivery id across retries: {list:?}");
    }
    assert!(h.iter().all(verify), "every delivery verifies");
    let tampered = Hit { body: h[1].body.replace("message", "massage"), ..h[1].clone() };
    assert!(!verify(&tampered));

    // A maintained Standard Webhooks library agrees.
    standardwebhooks_library_agrees(&h[1], &tampered);
    child.kill().unwrap();
    child.wait().unwrap();
}

fn standardwebhooks_library_agrees(good: &Hit, tampered: &Hit) {
    let dir = std::env::temp_dir().join("consult-standardwebhooks-1.1.0");
    if !dir.join("standardwebhooks").exists() {
        let out = std::process::Command::new("python3")
            .args(["-m", "pip", "install", "--quiet", "--disable-pip-version-check", "--target"])
            .arg(&dir)
            .arg("standardwebhooks==1.1.0")
            .output()
            .expect("python3 with pip is needed for this test");
        assert!(out.status.success(), "installing standardwebhooks: {}", String::from_utf8_lossy(&out.stderr));
    }
    let script = r#"
import json, sys
from standardwebhooks.webhooks import Webhook
hits = json.load(sys.stdin)
wh = Webhook(hits["secret"])
out = []
for h in hits["hits"]:
    try:
        wh.verify(h["body"], {"webhook-id": h["id"], "webhook-timestamp": h["timestamp"], "webhook-signature": h["signature"]})
        out.append("ok")
    except Exception as e:
        out.append("refused")
print(" ".join(out))
"#;
    let list: Vec<Value> =
        [good, tampered].iter().map(|h| serde_json::json!({"id": h.id, "timestamp": h.timestamp, "signature": h.signature, "body": h.body})).collect();
    let input = serde_json::json!({"secret": SECRET, "hits": list});
    let mut child = std::process::Command::new("python3")
        .arg("-c")
        .arg(script)
        .env("PYTHONPATH", &dir)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    use std::io::Write as _;
    child.stdin.take().unwrap().write_all(input.to_string().as_bytes()).unwrap();
    let out = child.wait_with_output().unwrap();
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "ok refused", "{}", String::from_utf8_lossy(&out.stderr));
}

#[tokio::test]
async fn a_visitor_upload_reports_attachment_created_with_its_open_session() {
    let hits = Arc::new(Mutex::new(Vec::new()));
    let port = receiver(Arc::new(AtomicBool::new(true)), hits.clone()).await;
    let extra = format!(
        "[counsel]\nallow_private_targets = true\nretry_base_ms = 100\n[[counsel.webhooks]]\nid = \"crm\"\nchannel = \"shop\"\nurl = \"http://127.0.0.1:{port}/hook\"\nsecret = \"{SECRET}\"\nevents = [\"attachment.created\"]\n"
    );
    let (s, cfg) = crate::counsel::start("attachment-created", &extra).await;
    let png = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR\0\0\0\x01\0\0\0\x01\x08\x06\0\0\0\x1f\x15\xc4\x89".to_vec();
    let (handle, _) = s.anon("shop").await;
    let upload = |body: Vec<u8>, name: &str| s.http.post(s.url(&format!("/v1/uploads?name={name}"))).header("x-consult-session", &handle).body(body).send();
    let uploaded = |r: reqwest::Response| async move {
        assert_eq!(r.status().as_u16(), 200);
        r.json::<Value>().await.unwrap()["attachment"].as_str().unwrap().to_string()
    };

    // Before any session is open: the event has no session.
    let first = uploaded(upload(png.clone(), "before.png").await.unwrap()).await;
    // A refused upload (not an accepted type) reports nothing.
    assert_eq!(upload(b"MZ\x90\0\x03".to_vec(), "x.exe").await.unwrap().status().as_u16(), 415);
    // The visitor writes (the session opens), then uploads again.
    let mut v = s.visitor(&handle, 0).await;
    v.say("v1", "here is the receipt").await;
    v.until(|e| matches!(e, VisitorEvent::Ack { .. }).then_some(())).await;
    let second = uploaded(upload(png.clone(), "receipt.png").await.unwrap()).await;
    // A desk agent's upload is not a visitor's attachment: no event.
    let (_, token) = s.login("a1", "pw1").await;
    let r = s.http.post(s.url("/v1/uploads?name=agent.png")).bearer_auth(token.unwrap()).body(png.clone()).send().await.unwrap();
    assert_eq!(r.status().as_u16(), 200);

    for _ in 0..100 {
        if hits.lock().unwrap().len() >= 2 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    // Time for a wrong third event to arrive.
    tokio::time::sleep(Duration::from_millis(300)).await;
    let events: Vec<Value> = hits.lock().unwrap().iter().filter(|h| verify(h)).map(|h| serde_json::from_str(&h.body).unwrap()).collect();
    assert_eq!(events.len(), 2, "one event per accepted visitor upload: {events:?}");
    assert!(events.iter().all(|e| e["type"] == "attachment.created" && e["channel"] == "shop"));
    assert_eq!(events[0]["data"]["attachment"], first.as_str());
    assert!(events[0]["data"].get("session").is_none(), "no session was open: {}", events[0]);
    assert_eq!(events[0]["data"]["name"], "before.png");
    assert_eq!(events[0]["data"]["mime"], "image/png");
    assert_eq!(events[0]["data"]["size"], png.len());
    assert_eq!(events[1]["data"]["attachment"], second.as_str());
    let key = crate::counsel::api_key(&cfg, "shop", "read", None);
    let (_, b) = call(&s, "GET", "/v1/counsel/sessions", Some(&key), None).await;
    assert_eq!(events[1]["data"]["session"], b["sessions"][0]["id"], "the open session: {b}");
}
