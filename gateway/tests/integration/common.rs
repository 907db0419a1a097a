//! A real gateway on an ephemeral port, and real HTTP and WebSocket clients.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use consult_gateway::AppState;
use consult_gateway::config::Config;
use consult_sdk::protocol::{AgentCommand, AgentEvent, LaunchRequest, VisitorCommand, VisitorEvent};
use consult_sdk::{Claims, EntryPoint, Kind, Membership, SecretKey};
use futures_util::{SinkExt, StreamExt};
use serde_json::Value;
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

pub const SHOP_ORIGIN: &str = "https://shop.test";

pub fn key(channel: &str) -> SecretKey {
    SecretKey::from_seed(channel, "k1", [7; 32]).unwrap()
}

pub fn now() -> u64 {
    consult_gateway::now_ms() / 1000
}

/// A fresh directory under this test run's own (`consult-it-run-<pid>`).
pub fn temp_dir(name: &str) -> PathBuf {
    let dir = run_dir().join(format!("{name}-{}", consult_gateway::identity::random_token(6)));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// This run's directory. Servers run until the process ends, so nothing can be removed while
/// it runs; instead the first call removes what earlier runs (processes now gone) left.
fn run_dir() -> &'static std::path::Path {
    static DIR: std::sync::OnceLock<PathBuf> = std::sync::OnceLock::new();
    DIR.get_or_init(|| {
        let tmp = std::env::temp_dir();
        for entry in std::fs::read_dir(&tmp).into_iter().flatten().flatten() {
            let name = entry.file_name();
            let Some(pid) = name.to_str().and_then(|n| n.strip_prefix("consult-it-run-")) else { continue };
            if !std::path::Path::new("/proc").join(pid).exists() {
                let _ = std::fs::remove_dir_all(entry.path());
            }
        }
        tmp.join(format!("consult-it-run-{}", std::process::id()))
    })
}

/// The test configuration: several channels exercising each rule.
pub fn config_toml(db: &std::path::Path, burst: u32) -> String {
    let pk = key("shop").public_key().to_base64url();
    let tomorrow = jiff::Zoned::now().with_time_zone(jiff::tz::TimeZone::UTC).date().tomorrow().unwrap();
    let tomorrow_day = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"][tomorrow.weekday().to_monday_zero_offset() as usize];
    format!(
        r#"
[server]
database = {db:?}
quiet_after_secs = 1
durability = "normal"
[rate_limit]
per_minute = 60
burst = {burst}

[[channels]]
id = "shop"
allowed_origins = ["{SHOP_ORIGIN}"]
guidance = "Hello. Chats are kept for 90 days."
keys = {{ k1 = "ed25519:{pk}" }}
revoked_serials = [666]

[[channels]]
id = "botshop"
allowed_origins = ["{SHOP_ORIGIN}"]
guidance = "Hello bot. Kept 90 days."
keys = {{ k1 = "ed25519:{pk}" }}
[channels.bot]
prompt = "Pick one"
# Typed text the FAQ can't answer shows the menu again (the default, "queue", hands it to a person).
free_text = "offer"
[[channels.bot.options]]
id = "faq"
label = "Delivery time?"
answer = "Two days."
[[channels.bot.options]]
id = "refund"
label = "Refunds"
category = "refunds"
[[channels.bot.options]]
id = "track"
label = "Track"
url = "https://shop.test/track"

[[channels]]
id = "brief"
allowed_origins = ["{SHOP_ORIGIN}"]
guidance = "Brief. Kept 90 days."
inactivity_secs = 2
keys = {{ k1 = "ed25519:{pk}" }}

[[channels]]
id = "night-wait"
allowed_origins = ["{SHOP_ORIGIN}"]
guidance = "Night. Kept 90 days."
keys = {{ k1 = "ed25519:{pk}" }}
[channels.hours]
time_zone = "UTC"
after_hours = "wait"
after_hours_message = "We are closed; we will answer tomorrow."
days = {{ {tomorrow_day} = "10:00-11:00" }}

[[channels]]
id = "night-refuse"
allowed_origins = ["{SHOP_ORIGIN}"]
guidance = "Night. Kept 90 days."
keys = {{ k1 = "ed25519:{pk}" }}
[channels.hours]
after_hours = "refuse"
after_hours_message = "Closed, come back later."
days = {{ mon = "closed" }}

[[channels]]
id = "off"
enabled = false
allowed_origins = ["{SHOP_ORIGIN}"]
guidance = "Off. Kept 90 days."
keys = {{ k1 = "ed25519:{pk}" }}

[[agents]]
id = "a1"
name = "Agent One"
password = "pw1"
skills = ["orders", "general"]
max_chats = 2
channels = ["shop", "botshop", "brief", "night-wait"]

[[agents]]
id = "a2"
name = "Agent Two"
password = "pw2"
skills = ["refunds"]
max_chats = 1

[[agents]]
id = "sup"
name = "Supervisor"
# argon2id of "pw3" (small parameters so debug-build tests stay fast)
password_hash = "$argon2id$v=19$m=8,t=1,p=1$cGVwcGVycGVwcGVycGVwcA$vgxQ9wdXB51zakbxx8aabmnEZv5YXN4LNHZmBfI+zgo"
skills = []
max_chats = 1
role = "supervisor"

[[canned]]
shortcut = "/hi"
text = "Hello!"
"#
    )
}

pub struct Server {
    pub addr: SocketAddr,
    pub http: reqwest::Client,
}

impl Server {
    pub async fn start() -> Server {
        Server::start_with_burst(1000).await
    }

    pub async fn start_with_burst(burst: u32) -> Server {
        let dir = temp_dir("srv");
        Server::start_toml(&config_toml(&dir.join("c.db"), burst)).await
    }

    /// A gateway from this configuration text.
    pub async fn start_toml(toml: &str) -> Server {
        let config = Config::from_toml(toml).unwrap_or_else(|e| panic!("{e}"));
        let state = AppState::new(config).unwrap();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(consult_gateway::serve(listener, state));
        Server { addr, http: reqwest::Client::new() }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    pub fn own_origin(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// POST /v1/launch with an Origin; returns status and JSON body.
    pub async fn launch_from(&self, origin: Option<&str>, req: &LaunchRequest) -> (u16, Value) {
        let mut b = self.http.post(self.url("/v1/launch")).json(req);
        if let Some(o) = origin {
            b = b.header("origin", o);
        }
        let r = b.send().await.unwrap();
        (r.status().as_u16(), r.json().await.unwrap_or(Value::Null))
    }

    pub async fn launch(&self, req: &LaunchRequest) -> (u16, Value) {
        self.launch_from(Some(SHOP_ORIGIN), req).await
    }

    /// A successful launch's handle and visitor key.
    pub async fn launch_ok(&self, req: &LaunchRequest) -> (String, String) {
        let (status, body) = self.launch(req).await;
        assert_eq!(status, 200, "{body}");
        (body["session"].as_str().unwrap().into(), body["visitor_key"].as_str().unwrap().into())
    }

    pub async fn anon(&self, channel: &str) -> (String, String) {
        self.launch_ok(&LaunchRequest { channel: channel.into(), ..Default::default() }).await
    }

    /// A visitor socket after hello (the handle in the first frame, never in the URL).
    pub async fn visitor(&self, handle: &str, after_seq: u64) -> Visitor {
        let mut req = format!("ws://{}/v1/visitor/socket", self.addr).into_client_request().unwrap();
        req.headers_mut().insert("origin", SHOP_ORIGIN.parse().unwrap());
        let (ws, _) = tokio_tungstenite::connect_async(req).await.expect("visitor socket");
        let mut v = Visitor { ws };
        v.cmd(&VisitorCommand::Hello { version: 1, session: handle.into(), after_seq }).await;
        v
    }

    /// The error code a visitor socket with this handle is refused with (its first event must be
    /// an error, then the socket closes); `None` when it is welcomed.
    pub async fn visitor_refusal(&self, handle: &str) -> Option<String> {
        let mut v = self.visitor(handle, 0).await;
        match v.next().await {
            Some(VisitorEvent::Error { code, .. }) => {
                assert!(v.next().await.is_none(), "a refused socket closes after the error");
                Some(code)
            }
            Some(VisitorEvent::Welcome { .. }) => None,
            other => panic!("expected welcome or error, got {other:?}"),
        }
    }

    /// POST /v1/agent/login: the status and, on success, the token.
    pub async fn login(&self, id: &str, password: &str) -> (u16, Option<String>) {
        let r = self.http.post(self.url("/v1/agent/login")).json(&serde_json::json!({"agent_id": id, "password": password})).send().await.unwrap();
        let status = r.status().as_u16();
        let body: Value = r.json().await.unwrap_or(Value::Null);
        (status, body["token"].as_str().map(str::to_string))
    }

    pub async fn agent(&self, id: &str, password: &str) -> Agent {
        let (status, token) = self.login(id, password).await;
        assert_eq!(status, 200, "login {id}");
        self.agent_with_token(&token.expect("login token")).await.expect("agent socket")
    }

    /// The agent socket for a bearer token (sent in hello), welcomed; the refusal's error code
    /// otherwise.
    pub async fn agent_with_token(&self, token: &str) -> Result<Agent, String> {
        let (ws, _) = tokio_tungstenite::connect_async(format!("ws://{}/v1/agent/socket", self.addr)).await.expect("agent socket");
        let mut a = Agent { ws, first: None };
        a.cmd(&AgentCommand::Hello { version: 1, token: token.into() }).await;
        match a.next().await {
            Some(AgentEvent::Error { code, .. }) => Err(code),
            Some(welcome @ AgentEvent::Welcome { .. }) => {
                a.first = Some(welcome);
                Ok(a)
            }
            other => panic!("expected welcome or error, got {other:?}"),
        }
    }
}

pub fn sign(channel: &str, kind: Kind, entry: EntryPoint, member: Option<Membership>, serial: u64, ttl: u64) -> consult_sdk::RawToken {
    let now = now();
    let claims = Claims {
        kind,
        channel: channel.into(),
        key_id: "k1".into(),
        issued_at: now,
        expires_at: now + ttl,
        serial,
        entry,
        member,
    };
    key(channel).sign_raw(&claims).unwrap()
}

pub fn button_token(channel: &str, member: Option<&str>) -> String {
    let member = member.map(|id| Membership { id: id.into(), name: Some("Kim".into()), ..Default::default() });
    sign(channel, Kind::Button, EntryPoint { button: Some("product".into()), ..Default::default() }, member, 1, 600).to_text()
}

type Ws = WebSocketStream<MaybeTlsStream<TcpStream>>;

async fn next_json<T: serde::de::DeserializeOwned>(ws: &mut Ws, wait: Duration) -> Option<T> {
    loop {
        match tokio::time::timeout(wait, ws.next()).await {
            Ok(Some(Ok(Message::Text(t)))) => return Some(serde_json::from_str(&t).unwrap_or_else(|e| panic!("{e}: {t}"))),
            Ok(Some(Ok(Message::Close(_)))) | Ok(None) | Ok(Some(Err(_))) | Err(_) => return None,
            Ok(Some(Ok(_))) => continue,
        }
    }
}

pub struct Visitor {
    pub ws: Ws,
}

impl Visitor {
    pub async fn cmd(&mut self, c: &VisitorCommand) {
        self.ws.send(Message::Text(serde_json::to_string(c).unwrap().into())).await.unwrap();
    }

    pub async fn say(&mut self, client_id: &str, text: &str) {
        self.cmd(&VisitorCommand::Send { client_id: client_id.into(), body: consult_sdk::protocol::Body::Text { text: text.into() } })
            .await;
    }

    pub async fn next(&mut self) -> Option<VisitorEvent> {
        next_json(&mut self.ws, Duration::from_secs(5)).await
    }

    /// Reads events until one matches; panics after 5 s without it.
    pub async fn until<T>(&mut self, mut f: impl FnMut(&VisitorEvent) -> Option<T>) -> T {
        loop {
            let e = self.next().await.expect("visitor socket ended before the expected event");
            if let Some(t) = f(&e) {
                return t;
            }
        }
    }

    /// The code of the next error event.
    pub async fn error_code(&mut self) -> String {
        self.until(|e| match e {
            VisitorEvent::Error { code, .. } => Some(code.clone()),
            _ => None,
        })
        .await
    }

    /// The stored messages among the events of the next `wait_ms`.
    pub async fn messages(&mut self, wait_ms: u64) -> Vec<consult_sdk::protocol::ChatMessage> {
        self.drain(wait_ms)
            .await
            .into_iter()
            .filter_map(|e| match e {
                VisitorEvent::Message { message } => Some(message),
                _ => None,
            })
            .collect()
    }

    /// Reads events for a while, returning them all.
    pub async fn drain(&mut self, wait_ms: u64) -> Vec<VisitorEvent> {
        let mut out = Vec::new();
        while let Some(e) = next_json(&mut self.ws, Duration::from_millis(wait_ms)).await {
            out.push(e);
        }
        out
    }
}

pub struct Agent {
    pub ws: Ws,
    /// The welcome, read to tell it from a refusal, handed out first.
    first: Option<AgentEvent>,
}

impl Agent {
    pub async fn cmd(&mut self, c: &AgentCommand) {
        self.ws.send(Message::Text(serde_json::to_string(c).unwrap().into())).await.unwrap();
    }

    pub async fn next(&mut self) -> Option<AgentEvent> {
        if let Some(first) = self.first.take() {
            return Some(first);
        }
        next_json(&mut self.ws, Duration::from_secs(5)).await
    }

    pub async fn until<T>(&mut self, mut f: impl FnMut(&AgentEvent) -> Option<T>) -> T {
        loop {
            let e = self.next().await.expect("agent socket ended before the expected event");
            if let Some(t) = f(&e) {
                return t;
            }
        }
    }

    /// The code of the next error event.
    pub async fn error_code(&mut self) -> String {
        self.until(|e| match e {
            AgentEvent::Error { code, .. } => Some(code.clone()),
            _ => None,
        })
        .await
    }

    /// Reads events for a while, returning them all.
    pub async fn drain(&mut self, wait_ms: u64) -> Vec<AgentEvent> {
        let mut out: Vec<AgentEvent> = self.first.take().into_iter().collect();
        while let Some(e) = next_json(&mut self.ws, Duration::from_millis(wait_ms)).await {
            out.push(e);
        }
        out
    }

    pub async fn available(&mut self) {
        self.cmd(&AgentCommand::Available { available: true }).await;
    }

    pub async fn say(&mut self, session: &str, client_id: &str, text: &str) {
        self.cmd(&AgentCommand::Send {
            session: session.into(),
            client_id: client_id.into(),
            body: consult_sdk::protocol::Body::Text { text: text.into() },
        })
        .await;
    }

    /// Waits for a session assigned to `agent` and returns its summary.
    pub async fn assigned(&mut self, agent: &str) -> consult_sdk::protocol::SessionSummary {
        self.until(|e| match e {
            AgentEvent::Session { session } if session.agent.as_deref() == Some(agent) && session.state == consult_sdk::protocol::SessionState::Assigned => {
                Some(session.clone())
            }
            _ => None,
        })
        .await
    }
}
