//! `kill -9` of the real binary mid-conversation, then a restart on the same database.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};

use consult_sdk::protocol::{LaunchRequest, VisitorEvent};

use crate::common::*;

pub fn spawn_gateway(config: &std::path::Path) -> (Child, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_consult"))
        .args(["serve", "--config"])
        .arg(config)
        .env("RUST_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("starting consult serve");
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap()).read_line(&mut line).unwrap();
    let addr = line.trim().strip_prefix("consult serve: gateway http://").unwrap_or_else(|| panic!("unexpected first line {line:?}")).to_string();
    (child, addr)
}

#[tokio::test]
async fn kill_9_loses_no_acknowledged_message_and_duplicates_none() {
    let dir = temp_dir("kill9");
    let toml = config_toml(&dir.join("c.db"), 1000).replace("[server]", "[server]\nlisten = \"127.0.0.1:0\"\npublic_url = \"http://consult.test\"");
    let config = dir.join("consult.toml");
    std::fs::write(&config, toml).unwrap();

    let (mut child, addr) = spawn_gateway(&config);
    let s = Server { addr: addr.parse().unwrap(), http: reqwest::Client::new() };
    let (handle, _) = s.launch_ok(&LaunchRequest { channel: "shop".into(), ..Default::default() }).await;
    let mut v = s.visitor(&handle, 0).await;
    let total = 60;
    let mut acked = Vec::new();
    for i in 0..total {
        v.say(&format!("k{i}"), &format!("message {i}")).await;
        if i == 40 {
            // Mid-conversation: sends in flight, some acknowledged, some not.
            child.kill().unwrap();
            child.wait().unwrap();
            break;
        }
        if i % 2 == 0 {
            // Collect whatever acks are ready without waiting for all.
            while let Some(e) = tokio::time::timeout(std::time::Duration::from_millis(20), v.next()).await.ok().flatten() {
                if let VisitorEvent::Ack { client_id, seq } = e {
                    acked.push((client_id, seq));
                }
            }
        }
    }
    while let Some(e) = v.next().await {
        if let VisitorEvent::Ack { client_id, seq } = e {
            acked.push((client_id, seq));
        }
    }
    assert!(acked.len() >= 10, "too few acks before the kill: {}", acked.len());

    let (mut child, addr) = spawn_gateway(&config);
    let s = Server { addr: addr.parse().unwrap(), http: reqwest::Client::new() };
    let mut v = s.visitor(&handle, 0).await;
    let stored: Vec<_> = v.messages(500).await;
    for (client_id, seq) in &acked {
        let hits: Vec<_> = stored.iter().filter(|m| m.client_id.as_deref() == Some(client_id)).collect();
        assert_eq!(hits.len(), 1, "{client_id} stored {} times", hits.len());
        assert_eq!(hits[0].seq, *seq, "{client_id} moved");
    }
    let seqs: Vec<u64> = stored.iter().map(|m| m.seq).collect();
    assert_eq!(seqs, (1..=seqs.len() as u64).collect::<Vec<_>>(), "gap-free after restart");
    // Retrying everything after the restart stores each message once.
    for i in 0..=40 {
        v.say(&format!("k{i}"), &format!("message {i}")).await;
    }
    let mut retried = 0;
    while retried < 41 {
        if let VisitorEvent::Ack { .. } = v.next().await.expect("ack after restart") {
            retried += 1;
        }
    }
    let mut check = s.visitor(&handle, 0).await;
    let all: Vec<_> = check
        .drain(500)
        .await
        .into_iter()
        .filter_map(|e| match e {
            VisitorEvent::Message { message } => message.client_id,
            _ => None,
        })
        .collect();
    let mut unique = all.clone();
    unique.sort();
    unique.dedup();
    assert_eq!(all.len(), unique.len(), "a message was stored twice");
    assert_eq!(unique.len(), 41);
    child.kill().unwrap();
    child.wait().unwrap();
}

#[test]
fn bad_config_names_every_key_and_exits_non_zero() {
    let dir = temp_dir("badcfg");
    let path = dir.join("bad.toml");
    std::fs::write(
        &path,
        "[server]\nlisten = \"nowhere\"\n[[channels]]\nid = \"Bad Id\"\n[[channels]]\nid = \"ok\"\nguidance = \"hi\"\nkeys = { k1 = \"ed25519:xx\" }\n",
    )
    .unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_consult")).args(["serve", "--config"]).arg(&path).output().unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    for key in ["server.listen", "channels[0].id", "channels[1] (ok).keys.k1"] {
        assert!(stderr.lines().any(|l| l.starts_with("consult: ") && l.contains(key)), "{key} missing in:\n{stderr}");
    }
    // A valid file without public_url: outside the demo the gateway must know its own origin.
    let no_origin = dir.join("no-origin.toml");
    std::fs::write(&no_origin, config_toml(&dir.join("c.db"), 10)).unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_consult")).args(["serve", "--config"]).arg(&no_origin).output().unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("server.public_url"), "{out:?}");
    let missing = Command::new(env!("CARGO_BIN_EXE_consult")).args(["serve", "--config", "/nonexistent.toml"]).output().unwrap();
    assert!(!missing.status.success());
    assert!(String::from_utf8_lossy(&missing.stderr).contains("cannot read"));
}

/// Many visitors sending at once (so the storage thread commits them in batches), the gateway
/// killed with `-9` mid-flood: every acknowledged message is there after the restart, once, under
/// the seq it was acknowledged with, and nothing is stored twice.
#[tokio::test]
async fn kill_9_during_a_batched_flood_loses_no_acknowledged_message() {
    use futures_util::StreamExt;
    let dir = temp_dir("kill9-flood");
    let toml = config_toml(&dir.join("c.db"), 100_000)
        .replace("[server]", "[server]\nlisten = \"127.0.0.1:0\"\npublic_url = \"http://consult.test\"")
        .replace("durability = \"normal\"", "durability = \"full\"")
        .replace("burst = 100000", "burst = 100000\naddress_messages_per_second = 1000000");
    let config = dir.join("consult.toml");
    std::fs::write(&config, toml).unwrap();
    let (mut child, addr) = spawn_gateway(&config);
    let s = Server { addr: addr.parse().unwrap(), http: reqwest::Client::new() };
    let mut handles = Vec::new();
    for _ in 0..40 {
        handles.push(s.anon("shop").await.0);
    }
    // Each visitor pipelines its 60 sends (its burst) without waiting, then collects acks.
    let seen = std::sync::atomic::AtomicUsize::new(0);
    let floods = handles.iter().map(|handle| {
        let (s, seen) = (&s, &seen);
        async move {
            let mut v = s.visitor(handle, 0).await;
            for i in 0..60 {
                v.say(&format!("f{i}"), &format!("flood {i}")).await;
            }
            let mut acked = Vec::new();
            while let Some(Ok(frame)) = v.ws.next().await {
                if let Ok(VisitorEvent::Ack { client_id, seq }) = serde_json::from_str::<VisitorEvent>(frame.to_text().unwrap_or("")) {
                    acked.push((client_id, seq));
                    seen.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                }
            }
            let _ = v.ws.close(None).await;
            acked
        }
    });
    // Killed mid-flood: once some sends are acknowledged, however fast the machine is.
    let kill = async {
        while seen.load(std::sync::atomic::Ordering::SeqCst) < 100 {
            tokio::time::sleep(std::time::Duration::from_millis(2)).await;
        }
        child.kill().unwrap();
        child.wait().unwrap();
    };
    let (acked, ()) = tokio::join!(futures_util::future::join_all(floods), kill);
    let total: usize = acked.iter().map(Vec::len).sum();
    assert!(total > 0, "nothing was acknowledged before the kill");
    assert!(total < 40 * 60, "the kill came after everything was acknowledged; it proves nothing");

    let (mut child, addr) = spawn_gateway(&config);
    let s = Server { addr: addr.parse().unwrap(), http: reqwest::Client::new() };
    for (handle, acked) in handles.iter().zip(&acked) {
        let mut v = s.visitor(handle, 0).await;
        let stored = v.messages(300).await;
        for (client_id, seq) in acked {
            let hits: Vec<_> = stored.iter().filter(|m| m.client_id.as_deref() == Some(client_id)).collect();
            assert_eq!(hits.len(), 1, "{client_id} stored {} times", hits.len());
            assert_eq!(hits[0].seq, *seq, "{client_id} moved");
        }
        let mut ids: Vec<_> = stored.iter().filter_map(|m| m.client_id.clone()).collect();
        let n = ids.len();
        ids.sort();
        ids.dedup();
        assert_eq!(ids.len(), n, "a message was stored twice");
    }
    eprintln!("kill -9 mid-flood: {total} of 2400 sends acknowledged before the kill, all found once after restart");
    child.kill().unwrap();
    child.wait().unwrap();
}

/// SIGTERM (a node being rolled): the node stops accepting, tells its sockets to reconnect with
/// 1012, and exits cleanly; what was acknowledged is there when it (or another node) comes back.
#[tokio::test]
async fn sigterm_tells_sockets_to_reconnect_and_exits_cleanly() {
    let dir = temp_dir("sigterm");
    let toml = config_toml(&dir.join("c.db"), 1000).replace("[server]", "[server]\nlisten = \"127.0.0.1:0\"\npublic_url = \"http://consult.test\"");
    let config = dir.join("consult.toml");
    std::fs::write(&config, toml).unwrap();
    let (mut child, addr) = spawn_gateway(&config);
    let s = Server { addr: addr.parse().unwrap(), http: reqwest::Client::new() };
    let (handle, _) = s.anon("shop").await;
    let mut v = s.visitor(&handle, 0).await;
    v.say("before", "sent before the restart").await;
    v.until(|e| matches!(e, VisitorEvent::Ack { .. }).then_some(())).await;
    let mut agent = s.agent("a1", "pw1").await;
    agent.next().await.unwrap();

    assert!(Command::new("kill").args(["-TERM", &child.id().to_string()]).status().unwrap().success());
    assert_eq!(close_code(&mut v.ws).await, Some(1012), "the visitor is told to reconnect");
    assert_eq!(close_code(&mut agent.ws).await, Some(1012), "the desk is told to reconnect, not signed out");
    let exited = (0..120).find_map(|_| {
        std::thread::sleep(std::time::Duration::from_millis(100));
        child.try_wait().unwrap()
    });
    assert!(exited.is_some_and(|s| s.success()), "the node exits cleanly: {exited:?}");

    let (mut child, addr) = spawn_gateway(&config);
    let s = Server { addr: addr.parse().unwrap(), http: reqwest::Client::new() };
    let mut v = s.visitor(&handle, 0).await;
    let stored = v.messages(500).await;
    assert_eq!(stored.iter().filter_map(|m| m.client_id.as_deref()).collect::<Vec<_>>(), vec!["before"]);
    child.kill().unwrap();
    child.wait().unwrap();
}

type WsStream = tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// The code of the next close frame (skipping other frames), within 5 s.
async fn close_code(ws: &mut WsStream) -> Option<u16> {
    use futures_util::StreamExt;
    use tokio_tungstenite::tungstenite::Message;
    loop {
        match tokio::time::timeout(std::time::Duration::from_secs(5), ws.next()).await {
            Ok(Some(Ok(Message::Close(frame)))) => return frame.map(|f| u16::from(f.code)),
            Ok(Some(Ok(_))) => continue,
            other => panic!("expected a close frame, got {other:?}"),
        }
    }
}
