//! Run with `cargo bench -p consult-gateway --bench relay` (add `-- --connections 5000` to change
//! the number of idle visitor sockets held).
//!
//! Prints launches per second, concurrent visitor WebSockets held, and visitor → agent relay
//! latency p50/p99 for the gateway (durable SQLite write before relaying), beside a plain Node
//! `ws` relay (no storage) measured in the same run. `ws` is installed with npm into
//! gateway/benches/node_modules on first use.

use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use consult_gateway::AppState;
use consult_gateway::config::Config;
use futures_util::{SinkExt, StreamExt};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;

const ORIGIN: &str = "https://bench.test";

fn config(db: &std::path::Path) -> String {
    let pk = consult_sdk::SecretKey::from_seed("bench", "k1", [1; 32]).unwrap().public_key().to_base64url();
    format!(
        r#"[server]
database = {db:?}
[rate_limit]
per_minute = 1000000
burst = 1000000
[[channels]]
id = "bench"
allowed_origins = ["{ORIGIN}"]
guidance = "bench; kept 1 day"
keys = {{ k1 = "ed25519:{pk}" }}
[[agents]]
id = "agent"
password = "pw"
max_chats = 100
"#
    )
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

async fn launch(http: &reqwest::Client, base: &str) -> String {
    let r: serde_json::Value = http
        .post(format!("{base}/v1/launch"))
        .header("origin", ORIGIN)
        .json(&serde_json::json!({"channel": "bench"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    r["session"].as_str().unwrap().to_string()
}

type Ws = tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

async fn connect(url: &str) -> Ws {
    let mut req = url.into_client_request().unwrap();
    req.headers_mut().insert("origin", ORIGIN.parse().unwrap());
    tokio_tungstenite::connect_async(req).await.unwrap().0
}

/// The desk lives on the gateway's own origin; a tool without a browser sends no Origin.
async fn connect_agent(url: &str) -> Ws {
    tokio_tungstenite::connect_async(url).await.unwrap().0
}

async fn text(ws: &mut Ws) -> String {
    loop {
        match ws.next().await {
            Some(Ok(Message::Text(t))) => return t.to_string(),
            Some(Ok(_)) => continue,
            other => panic!("socket ended: {other:?}"),
        }
    }
}

struct Row {
    launches_per_sec: Option<f64>,
    held: usize,
    p50: Duration,
    p99: Duration,
}

async fn bench_gateway(connections: usize, samples: usize) -> Row {
    let dir = std::env::temp_dir().join(format!("consult-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let _ = std::fs::remove_file(dir.join("bench.db"));
    let state = AppState::new(Config::from_toml(&config(&dir.join("bench.db"))).unwrap()).unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(consult_gateway::serve(listener, state));
    let base = format!("http://{addr}");
    let http = reqwest::Client::new();

    // Launches per second: 32 concurrent clients for 3 s.
    let start = Instant::now();
    let deadline = start + Duration::from_secs(3);
    let mut tasks = Vec::new();
    for _ in 0..32 {
        let (http, base) = (http.clone(), base.clone());
        tasks.push(tokio::spawn(async move {
            let mut handles = Vec::new();
            while Instant::now() < deadline {
                handles.push(launch(&http, &base).await);
            }
            handles
        }));
    }
    let mut handles = Vec::new();
    for t in tasks {
        handles.extend(t.await.unwrap());
    }
    let launches_per_sec = handles.len() as f64 / start.elapsed().as_secs_f64();
    eprintln!("gateway: {launches_per_sec:.0} launches/s; opening {connections} visitor sockets");
    while handles.len() < connections + 1 {
        handles.push(launch(&http, &base).await);
    }

    // Hold idle visitor sockets, each past hello/welcome.
    let mut held = Vec::with_capacity(connections);
    for chunk in handles[1..=connections].chunks(200) {
        let opened = futures_util::future::join_all(chunk.iter().map(|h| {
            let url = format!("ws://{addr}/v1/visitor/socket?session={h}");
            async move {
                let mut ws = connect(&url).await;
                ws.send(Message::Text(r#"{"type":"hello","version":1,"after_seq":0}"#.into())).await.unwrap();
                text(&mut ws).await;
                ws
            }
        }))
        .await;
        held.extend(opened);
    }
    let metrics = http.get(format!("{base}/metrics")).send().await.unwrap().text().await.unwrap();
    let gauge = metrics.lines().find(|l| l.starts_with("consult_visitor_sockets ")).unwrap_or_default().to_string();

    // Relay latency: one visitor, one agent, while the idle sockets stay open.
    let login: serde_json::Value = http
        .post(format!("{base}/v1/agent/login"))
        .json(&serde_json::json!({"agent_id": "agent", "password": "pw"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let mut agent = connect_agent(&format!("ws://{addr}/v1/agent/socket?token={}", login["token"].as_str().unwrap())).await;
    agent.send(Message::Text(r#"{"type":"hello","version":1}"#.into())).await.unwrap();
    agent.send(Message::Text(r#"{"type":"available","available":true}"#.into())).await.unwrap();
    let mut visitor = connect(&format!("ws://{addr}/v1/visitor/socket?session={}", handles[0])).await;
    visitor.send(Message::Text(r#"{"type":"hello","version":1,"after_seq":0}"#.into())).await.unwrap();
    text(&mut visitor).await;
    // The visitor speaks first: the session opens and is assigned before relaying starts.
    visitor.send(Message::Text(r#"{"type":"send","client_id":"open","body":{"kind":"text","text":"hello"}}"#.into())).await.unwrap();
    while !text(&mut agent).await.contains("\"state\":\"assigned\"") {}
    eprintln!("gateway: relaying {samples} messages");
    let mut latencies = Vec::with_capacity(samples);
    for i in 0..samples + 20 {
        let marker = format!("bench-{i}");
        let cmd = serde_json::json!({"type": "send", "client_id": marker, "body": {"kind": "text", "text": marker}});
        let sent = Instant::now();
        visitor.send(Message::Text(cmd.to_string().into())).await.unwrap();
        loop {
            let t = text(&mut agent).await;
            if t.contains("\"type\":\"message\"") && t.contains(&format!("\"{marker}\"")) {
                break;
            }
        }
        if i >= 20 {
            latencies.push(sent.elapsed());
        }
        // Keep the visitor's own socket drained and under its per-socket send rate.
        while let Ok(Some(_)) = tokio::time::timeout(Duration::from_millis(1), visitor.next()).await {}
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    latencies.sort();
    eprintln!("gateway {gauge}");
    Row { launches_per_sec: Some(launches_per_sec), held: held.len(), p50: percentile(&latencies, 0.5), p99: percentile(&latencies, 0.99) }
}

async fn bench_node(connections: usize, samples: usize) -> Option<Row> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("benches");
    if !dir.join("node_modules/ws").is_dir() {
        let ok = Command::new("npm").args(["install", "--no-audit", "--no-fund", "--silent"]).current_dir(&dir).status().ok()?.success();
        if !ok {
            eprintln!("npm install ws failed; skipping the Node peer");
            return None;
        }
    }
    let mut child = Command::new("node").arg(dir.join("node-relay.js")).current_dir(&dir).stdout(Stdio::piped()).spawn().ok()?;
    let mut line = String::new();
    std::io::BufRead::read_line(&mut std::io::BufReader::new(child.stdout.take()?), &mut line).ok()?;
    let port: u16 = line.trim().strip_prefix("ready ")?.parse().ok()?;
    let url = format!("ws://127.0.0.1:{port}/");
    eprintln!("node: opening {connections} sockets");
    let mut held = Vec::with_capacity(connections);
    for _ in 0..connections.div_ceil(200) {
        let n = (connections - held.len()).min(200);
        let visitor_url = format!("{url}?role=visitor");
        held.extend(futures_util::future::join_all((0..n).map(|_| connect(&visitor_url))).await);
    }
    let mut agent = connect(&format!("{url}?role=agent")).await;
    let mut visitor = connect(&format!("{url}?role=visitor")).await;
    tokio::time::sleep(Duration::from_millis(100)).await;
    let mut latencies = Vec::with_capacity(samples);
    for i in 0..samples + 20 {
        let marker = format!("bench-{i}");
        let cmd = serde_json::json!({"type": "send", "client_id": marker, "body": {"kind": "text", "text": marker}});
        let sent = Instant::now();
        visitor.send(Message::Text(cmd.to_string().into())).await.unwrap();
        while !text(&mut agent).await.contains(&format!("\"{marker}\"")) {}
        if i >= 20 {
            latencies.push(sent.elapsed());
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    latencies.sort();
    let row = Row { launches_per_sec: None, held: held.len(), p50: percentile(&latencies, 0.5), p99: percentile(&latencies, 0.99) };
    drop(held);
    let _ = child.kill();
    let _ = child.wait();
    Some(row)
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let connections = args.iter().position(|a| a == "--connections").and_then(|i| args.get(i + 1)?.parse().ok()).unwrap_or(4000);
    let samples = 300;
    // Each held socket costs two descriptors here (client and server side).
    let _ = rlimit::increase_nofile_limit(4 * connections as u64 + 1024);
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build().unwrap();
    let gateway = rt.block_on(bench_gateway(connections, samples));
    let node = rt.block_on(bench_node(connections, samples));
    let ms = |d: Duration| format!("{:.2} ms", d.as_secs_f64() * 1000.0);
    println!();
    println!("| relay ({} cores)                  | launches/s | visitor sockets held | relay p50 | relay p99 |", std::thread::available_parallelism().map_or(0, |n| n.get()));
    println!("|----------------------------------|-----------:|---------------------:|----------:|----------:|");
    for (name, row) in [("consult gateway (fsync per msg)", Some(gateway)), ("node ws relay (no storage)", node)] {
        match row {
            Some(r) => println!(
                "| {name:<32} | {:>10} | {:>20} | {:>9} | {:>9} |",
                r.launches_per_sec.map_or("—".into(), |l| format!("{l:.0}")),
                r.held,
                ms(r.p50),
                ms(r.p99)
            ),
            None => println!("| {name:<32} | {:>10} | {:>20} | {:>9} | {:>9} |", "—", "skipped", "—", "—"),
        }
    }
}
