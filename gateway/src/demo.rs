//! `consult demo`: the gateway with a demo channel, plus a second listener for the demo shop site
//! and its small "business server" API (sign-in, signed button tokens, a printed poster code).

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::{Path as FsPath, PathBuf};
use std::sync::{Arc, Mutex};

use anyhow::Context as _;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use consult_sdk::qr::{QrLevel, qr_svg};
use consult_sdk::{Claims, EntryPoint, Kind, LaunchUrl, Membership, SecretKey, random_serial};
use serde::Deserialize;

use crate::config::Config;
use crate::identity::random_token;
use crate::{AppState, now_ms};

/// Demo channel id.
pub const DEMO_CHANNEL: &str = "demo-shop";
/// Demo agents: id, name, password, skills, role.
pub const DEMO_AGENTS: &[(&str, &str, &str, &[&str], &str)] = &[
    ("mina", "김민아 Mina", "mina-demo", &["orders", "delivery", "general"], "agent"),
    ("joon", "이준호 Joon", "joon-demo", &["refunds", "general"], "agent"),
    ("sora", "박소라 Sora", "sora-demo", &["orders", "delivery", "refunds", "general"], "supervisor"),
    ("hana", "최하나 Hana", "hana-demo", &["general"], "admin"),
];

/// Options of `consult demo`.
///
/// Environment knobs (for trying out, and for the end-to-end suite):
/// `CONSULT_DEMO_INACTIVITY_SECS=N` closes a session after N quiet seconds (default 600);
/// `CONSULT_DEMO_HOURS=closed` gives the channel business hours closed today (a holiday) and open
/// from 09:00 tomorrow (Seoul), with
/// its after-hours reply and `after_hours = "wait"` (requests queue, nobody is assigned), instead
/// of the default open-all-week hours (`open`); `CONSULT_DEMO_ENABLED=false` switches the channel
/// off (`enabled = false`: every button hides, launches are refused with `channel_disabled`).
#[derive(Debug, Clone, clap::Args)]
#[command(after_help = DEMO_ENV_HELP)]
pub struct DemoArgs {
    /// Gateway port (0 picks a free one).
    #[arg(long, default_value_t = 8080)]
    pub port: u16,
    /// Demo site port (0 picks a free one).
    #[arg(long, default_value_t = 8081)]
    pub site_port: u16,
    /// Data directory (SQLite file and the demo signing key).
    #[arg(long, default_value = "consult-demo-data")]
    pub data: PathBuf,
    /// The demo site's static files.
    #[arg(long)]
    pub site_dir: Option<PathBuf>,
}

/// The entry point whose sessions go to the example integration instead of the built-in menu:
/// the orders page's per-order buttons.
pub const ORDER_BOT_ENTRY: &str = "order-detail";
/// Seconds a visitor of the example's chats waits for its answer before the chat goes to the
/// agents' queue (python3 died, or the example is slow): short enough that nobody gives up.
pub const ORDER_BOT_FALLBACK_SECS: u64 = 5;

/// The environment knobs of `consult demo` and what the example integration does, as `--help`
/// lists them.
pub const DEMO_ENV_HELP: &str = "Example integration:
  With python3 on PATH the demo runs examples/order-bot/order_bot.py beside the gateway (Counsel API:
  signed webhooks in, REST out). Chats opened from the orders page's per-order buttons (entry
  order-detail) go to it instead of the built-in menu: ask about order 1234, then for an agent.
  When it has not answered within 5 seconds (it died or is slow), the chat goes to the agents'
  queue. Without python3, the built-in menu answers those chats too.

Environment:
  CONSULT_DEMO_INACTIVITY_SECS=N   close a session after N quiet seconds (default 600)
  CONSULT_DEMO_HOURS=closed        closed today (a holiday), open from 09:00 tomorrow: the after-hours reply,
                                   requests wait in the queue (after_hours = \"wait\"); default: open
  CONSULT_DEMO_ENABLED=false       switch the channel off: every button hides, launches are
                                   refused with channel_disabled; default: true";

/// What the environment changes in the demo channel (see [`DEMO_ENV_HELP`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DemoKnobs {
    /// Inactivity close, seconds.
    pub inactivity_secs: u64,
    /// Closed today, open from 09:00 tomorrow (after-hours reply, `after_hours = "wait"`).
    pub hours_closed: bool,
    /// The channel switch.
    pub enabled: bool,
}

impl Default for DemoKnobs {
    fn default() -> Self {
        DemoKnobs { inactivity_secs: 600, hours_closed: false, enabled: true }
    }
}

impl DemoKnobs {
    /// Reads `CONSULT_DEMO_INACTIVITY_SECS`, `CONSULT_DEMO_HOURS` and `CONSULT_DEMO_ENABLED`.
    ///
    /// # Errors
    /// A value of `CONSULT_DEMO_HOURS` or `CONSULT_DEMO_ENABLED` the demo does not know.
    pub fn from_env() -> anyhow::Result<DemoKnobs> {
        Self::from_vars(|name| std::env::var(name).ok())
    }

    /// [`DemoKnobs::from_env`] over any lookup.
    ///
    /// # Errors
    /// See [`DemoKnobs::from_env`].
    pub fn from_vars(var: impl Fn(&str) -> Option<String>) -> anyhow::Result<DemoKnobs> {
        let mut knobs = DemoKnobs::default();
        if let Some(secs) = var("CONSULT_DEMO_INACTIVITY_SECS").and_then(|v| v.trim().parse().ok()) {
            knobs.inactivity_secs = secs;
        }
        knobs.hours_closed = match var("CONSULT_DEMO_HOURS").as_deref().map(str::trim) {
            None | Some("" | "open") => false,
            Some("closed") => true,
            Some(other) => anyhow::bail!("CONSULT_DEMO_HOURS={other:?}: use \"closed\" or \"open\""),
        };
        knobs.enabled = match var("CONSULT_DEMO_ENABLED").as_deref().map(str::trim) {
            None | Some("" | "true" | "1") => true,
            Some("false" | "0") => false,
            Some(other) => anyhow::bail!("CONSULT_DEMO_ENABLED={other:?}: use \"true\" or \"false\""),
        };
        Ok(knobs)
    }
}

/// The example integration `examples/order-bot` beside the demo: where it listens and the
/// secret its webhook endpoint signs with.
#[derive(Debug, Clone)]
pub struct OrderBot {
    /// Its port on 127.0.0.1.
    pub port: u16,
    /// `whsec_…`.
    pub secret: String,
}

/// The demo configuration as TOML, so it goes through the same validation as a real file. With
/// the order bot: a webhook endpoint of the demo channel to it, private targets allowed, and the
/// sessions of [`ORDER_BOT_ENTRY`] its own (`[[counsel.bots]]`), not the menu's. The shop's logo is
/// `img/logo.svg` in `site_dir`.
pub fn demo_config_toml(public_key: &str, site_port: u16, database: &FsPath, site_dir: &FsPath, knobs: &DemoKnobs, order_bot: Option<&OrderBot>) -> String {
    let DemoKnobs { inactivity_secs, hours_closed, enabled } = knobs;
    // Closed: today is a holiday in Seoul and the shop opens tomorrow at 09:00, so every
    // after-hours text has an opening time to tell.
    let (day, holidays) = if *hours_closed {
        let today = jiff::Timestamp::now().to_zoned(jiff::tz::TimeZone::get("Asia/Seoul").unwrap_or(jiff::tz::TimeZone::UTC)).date();
        ("09:00-18:00", format!("[\"{today}\"]"))
    } else {
        ("00:00-24:00", "[]".to_string())
    };
    let agents: String = DEMO_AGENTS
        .iter()
        .map(|(id, name, pw, skills, role)| {
            let skills = skills.iter().map(|s| format!("{s:?}")).collect::<Vec<_>>().join(", ");
            format!("[[agents]]\nid = {id:?}\nname = {name:?}\npassword = {pw:?}\nskills = [{skills}]\nmax_chats = 3\nrole = {role:?}\n\n")
        })
        .collect();
    let counsel = order_bot.map_or_else(String::new, |b| {
        format!(
            "\n[counsel]\nallow_private_targets = true\nretry_base_ms = 500\n\n[[counsel.webhooks]]\nid = \"order-bot\"\nchannel = \"{DEMO_CHANNEL}\"\nurl = \"http://127.0.0.1:{}/webhook\"\nsecret = \"{}\"\nevents = [\"message.created\"]\n\n[[counsel.bots]]\nchannel = \"{DEMO_CHANNEL}\"\nentries = [\"{ORDER_BOT_ENTRY}\"]\nfallback_secs = {ORDER_BOT_FALLBACK_SECS}\n",
            b.port, b.secret
        )
    });
    // The shop's own green (written here: a quote and a hash would end the raw string).
    let brand_color = "#2f5d50";
    let logo = site_dir.join("img/logo.svg");
    format!(
        r#"[server]
database = {database:?}
quiet_after_secs = 60
report_time_zone = "Asia/Seoul"
durability = "normal"

[rate_limit]
per_minute = 120
burst = 40

[[channels]]
id = "{DEMO_CHANNEL}"
name = "데모 상점 Demo Shop"
enabled = {enabled}
allowed_origins = ["http://localhost:{site_port}", "http://127.0.0.1:{site_port}"]
guidance = """안녕하세요, 데모 상점 상담 채널입니다. 궁금한 점을 남겨 주시면 상담원이 답변드립니다.
Hello, this is the Demo Shop consult channel. Leave your question and an agent will answer."""
retention_notice = """상담 내용은 상담 품질 관리를 위해 90일간 보관된 후 삭제됩니다.
Chats are kept for 90 days for quality purposes, then deleted."""
inactivity_secs = {inactivity_secs}
retention_days = 90
keys = {{ k1 = "ed25519:{public_key}" }}

[channels.hours]
time_zone = "Asia/Seoul"
after_hours = "wait"
after_hours_message = "지금은 상담 시간이 아닙니다. 남겨 주시면 영업시간에 답변드립니다. · We are closed now; leave a message and we will answer when we open."
days = {{ mon = "{day}", tue = "{day}", wed = "{day}", thu = "{day}", fri = "{day}", sat = "{day}", sun = "{day}" }}
holidays = {holidays}

[channels.brand]
color = "{brand_color}"
logo = {logo:?}
welcome = "안녕하세요, 데모 상점입니다. 무엇이든 물어보세요. · Hello from the Demo Shop: ask us anything."
welcome_by_entry = {{ "product-detail" = "이 상품에 대해 궁금한 점을 남겨 주세요. 상담원도 같은 상품을 보고 있어요. · Ask about this product: the agent sees which one it is.", "order-detail" = "이 주문에 대해 물어보세요. 주문 번호는 이미 전달됐어요. · Ask about this order: we already have its number." }}

[channels.bot]
prompt = "무엇을 도와드릴까요? · How can we help?"
free_text = "offer"

[[channels.bot.options]]
id = "orders"
label = "주문 문의 · Orders"
category = "orders"

[[channels.bot.options]]
id = "refunds"
label = "교환/환불 · Returns & refunds"
category = "refunds"

[[channels.bot.options]]
id = "delivery-time"
label = "배송은 얼마나 걸리나요? · Delivery time?"
answer = "주문 후 평일 기준 1~2일 안에 도착합니다. · Orders arrive within 1-2 business days."
keywords = ["배송", "도착", "언제 와", "delivery", "arrive", "shipping"]

[[channels.bot.options]]
id = "track"
label = "배송 조회 · Track my order"
url = "http://localhost:{site_port}/orders.html"

[[channels.bot.options]]
id = "agent"
label = "상담원 연결 · Talk to an agent"
category = "general"

{agents}
[[canned]]
shortcut = "/hello"
text = "안녕하세요, 데모 상점입니다. 무엇을 도와드릴까요? · Hello, how can I help?"

[[canned]]
shortcut = "/refund"
text = "환불은 상품 수령 후 7일 이내에 신청하실 수 있습니다. · Refunds can be requested within 7 days of delivery."

[[canned]]
shortcut = "/delivery"
text = "주문하신 상품은 내일 도착 예정입니다. · Your order is due tomorrow."

[[canned]]
shortcut = "/thanks"
text = "이용해 주셔서 감사합니다. 좋은 하루 보내세요! · Thank you, have a nice day!"
{counsel}"#
    )
}

/// The order bot's script and a `python3` on PATH to run it, or why it is skipped.
fn order_bot_program() -> Result<(PathBuf, PathBuf), String> {
    let script = [PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../examples/order-bot/order_bot.py"), PathBuf::from("examples/order-bot/order_bot.py")]
        .into_iter()
        .find(|p| p.is_file())
        .ok_or("examples/order-bot/order_bot.py not found")?;
    let path = std::env::var_os("PATH").unwrap_or_default();
    let python = std::env::split_paths(&path).map(|d| d.join("python3")).find(|p| p.is_file()).ok_or("python3 is not on PATH")?;
    Ok((python, script))
}

/// The example's process, ended with the demo.
struct Child(std::process::Child);

impl Drop for Child {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// A read/write API key of the demo channel for this run (the earlier runs' revoked): for the
/// order bot and the README's curl lines.
async fn demo_api_key(state: &AppState) -> anyhow::Result<String> {
    let now = now_ms();
    let (row, secret) = crate::apikeys::mint(DEMO_CHANNEL, "demo", vec![consult_sdk::counsel::Scope::Read, consult_sdk::counsel::Scope::Write], None, now);
    state
        .db
        .call(move |s| {
            for old in s.api_keys(DEMO_CHANNEL)?.into_iter().filter(|k| k.name == "demo" && k.revoked_ms.is_none()) {
                s.api_key_revoke(DEMO_CHANNEL, &old.id, now)?;
            }
            s.api_key_put(&row)
        })
        .await
        .context("storing the demo API key")?;
    Ok(secret)
}

/// The order bot, answering through the API with `key`.
fn start_order_bot(bot: &OrderBot, python: &FsPath, script: &FsPath, gateway: &str, key: &str) -> anyhow::Result<Child> {
    let child = std::process::Command::new(python)
        .arg(script)
        .env("CONSULT_URL", gateway)
        .env("CONSULT_API_KEY", key)
        .env("CONSULT_WEBHOOK_SECRET", &bot.secret)
        .env("ORDER_BOT_PORT", bot.port.to_string())
        .stdin(std::process::Stdio::null())
        .spawn()
        .with_context(|| format!("starting {}", script.display()))?;
    Ok(Child(child))
}

fn load_or_create_key(data: &FsPath) -> anyhow::Result<SecretKey> {
    let path = data.join("demo-shop.key.json");
    if let Ok(text) = std::fs::read_to_string(&path) {
        return SecretKey::from_json(&text).with_context(|| format!("{} is not a valid key file; delete it", path.display()));
    }
    let key = SecretKey::generate(DEMO_CHANNEL, "k1").context("generating the demo key")?;
    std::fs::write(&path, key.to_json()).with_context(|| format!("writing {}", path.display()))?;
    Ok(key)
}

/// Runs the demo until the process ends.
///
/// # Errors
/// Binding, data-directory or database failures.
pub async fn run(args: DemoArgs) -> anyhow::Result<()> {
    std::fs::create_dir_all(&args.data).with_context(|| format!("creating {}", args.data.display()))?;
    let key = load_or_create_key(&args.data)?;
    let site_listener = tokio::net::TcpListener::bind(("127.0.0.1", args.site_port)).await.context("binding the demo site port")?;
    let gateway_listener = tokio::net::TcpListener::bind(("127.0.0.1", args.port)).await.context("binding the gateway port")?;
    let site_port = site_listener.local_addr()?.port();
    let port = gateway_listener.local_addr()?.port();
    let knobs = DemoKnobs::from_env()?;
    let order_bot = order_bot_program().map(|(python, script)| {
        use base64::Engine as _;
        let port = std::net::TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).map_or(8090, |a| a.port());
        let secret = format!("whsec_{}", base64::engine::general_purpose::STANDARD.encode(crate::identity::random_bytes::<24>()));
        (OrderBot { port, secret }, python, script)
    });
    let site_dir = args.site_dir.clone().unwrap_or_else(default_site_dir);
    let toml = demo_config_toml(&key.public_key().to_base64url(), site_port, &args.data.join("consult.db"), &site_dir, &knobs, order_bot.as_ref().ok().map(|(b, _, _)| b));
    let config = Config::from_toml(&toml).map_err(|e| anyhow::anyhow!("demo configuration: {e}"))?;
    let state = AppState::new(config).context("opening the demo database")?;
    let gateway = format!("http://127.0.0.1:{port}");
    let site = format!("http://127.0.0.1:{site_port}");
    let demo = DemoSite { key: Arc::new(key), gateway: gateway.clone(), dir: site_dir, members: Arc::default() };

    println!("consult demo: gateway {gateway} site {site}");
    println!("  demo shop   {site}/            (also http://localhost:{site_port}/)");
    println!("  agent desk  {gateway}/desk");
    for (id, name, pw, _, role) in DEMO_AGENTS {
        println!("  agent       {id} / {pw}   ({name}, {role})");
    }
    println!("  data        {}", args.data.display());
    let api_key = demo_api_key(&state).await?;
    println!("  api key     {api_key}   (read,write on {DEMO_CHANNEL}; new each run)");
    let _order_bot = match &order_bot {
        Ok((bot, python, script)) => {
            let child = start_order_bot(bot, python, script, &gateway, &api_key)?;
            println!(
                "  order bot   examples/order-bot on http://127.0.0.1:{}/webhook (webhook endpoint order-bot): answers chats from {site}/orders.html (entry {ORDER_BOT_ENTRY}); when it is silent for {ORDER_BOT_FALLBACK_SECS} s, the chat goes to the queue",
                bot.port
            );
            Some(child)
        }
        Err(why) => {
            println!("  order bot   skipped: {why}; the built-in menu answers every chat");
            None
        }
    };

    let site_app = site_router(demo);
    tokio::spawn(async move {
        if let Err(e) = axum::serve(site_listener, site_app).await {
            tracing::error!(error = %e, "demo site stopped");
        }
    });
    crate::serve(gateway_listener, state).await.context("gateway stopped")
}

fn default_site_dir() -> PathBuf {
    let from_crate = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../demo-site");
    if from_crate.is_dir() { from_crate } else { PathBuf::from("demo-site") }
}

#[derive(Clone)]
struct DemoSite {
    key: Arc<SecretKey>,
    gateway: String,
    dir: PathBuf,
    /// Demo sign-in sessions: cookie value → member.
    members: Arc<Mutex<HashMap<String, Membership>>>,
}

/// The demo shop: static pages plus the business server's API.
fn site_router(site: DemoSite) -> Router {
    Router::new()
        .route("/api/sign-in", post(sign_in))
        .route("/api/sign-out", post(sign_out))
        .route("/api/me", get(me))
        .route("/api/token", get(token))
        .route("/api/poster", get(poster))
        .route("/api/config", get(config))
        .fallback(get(static_file))
        .with_state(site)
}

#[derive(Deserialize)]
struct SignIn {
    member_id: String,
    name: Option<String>,
    tier: Option<String>,
}

fn cookie_member(site: &DemoSite, headers: &HeaderMap) -> Option<Membership> {
    let cookies = headers.get(header::COOKIE)?.to_str().ok()?;
    let id = cookies.split(';').find_map(|c| c.trim().strip_prefix("demo_session="))?;
    site.members.lock().unwrap_or_else(|e| e.into_inner()).get(id).cloned()
}

async fn sign_in(State(site): State<DemoSite>, Json(req): Json<SignIn>) -> Response {
    let member = Membership { id: req.member_id, tier: req.tier, name: req.name, attrs: Default::default() };
    let probe = Claims {
        kind: Kind::Button,
        channel: DEMO_CHANNEL.into(),
        key_id: "k1".into(),
        issued_at: 0,
        expires_at: 1,
        serial: 0,
        entry: EntryPoint::default(),
        member: Some(member.clone()),
    };
    if let Err(e) = probe.validate() {
        return (StatusCode::BAD_REQUEST, Json(serde_json::json!({"code": "bad_request", "message": e.to_string()}))).into_response();
    }
    let sid = random_token(18);
    site.members.lock().unwrap_or_else(|e| e.into_inner()).insert(sid.clone(), member.clone());
    let cookie = format!("demo_session={sid}; Path=/; HttpOnly; SameSite=Lax");
    let mut r = Json(member).into_response();
    if let Ok(v) = HeaderValue::from_str(&cookie) {
        r.headers_mut().insert(header::SET_COOKIE, v);
    }
    r
}

async fn sign_out() -> Response {
    ([(header::SET_COOKIE, "demo_session=; Path=/; Max-Age=0")], Json(serde_json::json!({"ok": true}))).into_response()
}

async fn me(State(site): State<DemoSite>, headers: HeaderMap) -> Response {
    Json(serde_json::json!({ "member": cookie_member(&site, &headers) })).into_response()
}

#[derive(Deserialize, Default)]
struct TokenQuery {
    button: Option<String>,
    page: Option<String>,
    product: Option<String>,
    campaign: Option<String>,
    order: Option<String>,
}

async fn token(State(site): State<DemoSite>, headers: HeaderMap, Query(q): Query<TokenQuery>) -> Response {
    let member = cookie_member(&site, &headers);
    let now = now_ms() / 1000;
    let ttl = if member.is_some() { 600 } else { 3600 };
    let entry = EntryPoint { button: q.button, page: q.page, campaign: q.campaign, product: q.product, order: q.order, tags: vec![] };
    let claims = Claims {
        kind: Kind::Button,
        channel: DEMO_CHANNEL.into(),
        key_id: "k1".into(),
        issued_at: now,
        expires_at: now + ttl,
        serial: random_serial().unwrap_or(0),
        entry,
        member: member.clone(),
    };
    match site.key.sign(&claims) {
        Ok(token) => Json(serde_json::json!({ "token": token, "expires_at": now + ttl, "member": member })).into_response(),
        Err(e) => (StatusCode::BAD_REQUEST, Json(serde_json::json!({"code": "bad_request", "message": e.to_string()}))).into_response(),
    }
}

async fn config(State(site): State<DemoSite>) -> Response {
    Json(serde_json::json!({ "gateway": site.gateway, "channel": DEMO_CHANNEL })).into_response()
}

async fn poster(State(site): State<DemoSite>) -> Response {
    let now = now_ms() / 1000;
    let claims = Claims {
        kind: Kind::Printed,
        channel: DEMO_CHANNEL.into(),
        key_id: "k1".into(),
        issued_at: now,
        expires_at: now + 365 * 24 * 3600,
        serial: random_serial().unwrap_or(0),
        entry: EntryPoint { button: Some("store-counter".into()), ..Default::default() },
        member: None,
    };
    let made = site
        .key
        .sign_raw(&claims)
        .map_err(|e| e.to_string())
        .and_then(|raw| LaunchUrl::printed(&site.gateway, &raw).map_err(|e| e.to_string()))
        .map(|u| u.to_url())
        .and_then(|url| qr_svg(&url, QrLevel::Print).map(|svg| (url, svg)).map_err(|e| e.to_string()));
    match made {
        Ok((url, svg)) => Json(serde_json::json!({ "url": url, "svg": svg, "serial": claims.serial.to_string() })).into_response(),
        Err(e) => (StatusCode::INTERNAL_SERVER_ERROR, Json(serde_json::json!({"code": "internal", "message": e}))).into_response(),
    }
}

async fn static_file(State(site): State<DemoSite>, uri: Uri) -> Response {
    let path = uri.path().trim_start_matches('/');
    if path.split('/').any(|seg| seg.starts_with('.') || seg.contains('\\')) {
        return StatusCode::NOT_FOUND.into_response();
    }
    let mut file = site.dir.join(path);
    if path.is_empty() || file.is_dir() {
        file = file.join("index.html");
    }
    match tokio::fs::read(&file).await {
        Ok(mut data) => {
            let name = file.to_string_lossy().to_string();
            if name.ends_with(".html") {
                // Pages name the gateway (script tag, CSP, desk link) as `{{GATEWAY}}`: its port is
                // only known at run time, and a placeholder keeps the pages free of inline script.
                // The shop's header and footer are written once, in `_header.html` and `_footer.html`.
                let mut page = String::from_utf8_lossy(&data).into_owned();
                for (slot, partial) in [("{{HEADER}}", "_header.html"), ("{{FOOTER}}", "_footer.html")] {
                    if page.contains(slot) {
                        let text = tokio::fs::read_to_string(site.dir.join(partial)).await.unwrap_or_default();
                        page = page.replace(slot, text.trim_end());
                    }
                }
                data = page.replace("{{GATEWAY}}", &site.gateway).into_bytes();
            }
            let mime = crate::http::pages::content_type(&name);
            ([(header::CONTENT_TYPE, mime), (header::CACHE_CONTROL, "no-cache")], data).into_response()
        }
        Err(_) if path.is_empty() => (
            StatusCode::OK,
            [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
            format!("<!doctype html><meta charset=utf-8><title>Demo shop</title><p>The demo site pages are not written yet ({}).", site.dir.display()),
        )
            .into_response(),
        Err(_) => (StatusCode::NOT_FOUND, "not found").into_response(),
    }
}

/// The address a bound demo prints, for tests that start `consult demo --port 0`.
pub fn parse_ready_line(line: &str) -> Option<(SocketAddr, SocketAddr)> {
    let rest = line.strip_prefix("consult demo: gateway http://")?;
    let (gw, site) = rest.split_once(" site http://")?;
    Some((gw.trim().parse().ok()?, site.trim().parse().ok()?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn demo_config_passes_validation() {
        let key = SecretKey::from_seed(DEMO_CHANNEL, "k1", [3; 32]).unwrap();
        let toml = demo_config_toml(&key.public_key().to_base64url(), 8081, FsPath::new("/tmp/x.db"), &default_site_dir(), &DemoKnobs::default(), None);
        let config = Config::from_toml(&toml).unwrap_or_else(|e| panic!("{e}\n{toml}"));
        assert_eq!(config.agents.len(), DEMO_AGENTS.len());
        assert!(config.counsel.webhooks.is_empty() && !config.counsel.allow_private_targets, "no order bot, no endpoint");
        let bot = OrderBot { port: 8090, secret: "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw".into() };
        let toml = demo_config_toml(&key.public_key().to_base64url(), 8081, FsPath::new("/tmp/x.db"), &default_site_dir(), &DemoKnobs::default(), Some(&bot));
        let with_bot = Config::from_toml(&toml).unwrap_or_else(|e| panic!("{e}\n{toml}"));
        assert!(with_bot.counsel.allow_private_targets);
        let hook = &with_bot.counsel.webhooks[0];
        assert_eq!((hook.channel.as_str(), hook.url.as_str(), hook.secret.as_str()), (DEMO_CHANNEL, "http://127.0.0.1:8090/webhook", bot.secret.as_str()));
        assert!(config.counsel.bots.is_empty(), "no order bot: the menu answers every chat");
        let outside = with_bot.counsel.bot(DEMO_CHANNEL).expect("the order bot is the demo channel's outside bot");
        assert_eq!(outside.entries, [ORDER_BOT_ENTRY], "only the orders page's chats are the example's");
        assert!(with_bot.counsel.bot_for(DEMO_CHANNEL, "product-detail").is_none() && with_bot.channels[0].bot.is_some(), "the menu keeps the rest");
        assert!((1..=10).contains(&outside.fallback_secs), "a person should not give up waiting: {}", outside.fallback_secs);
        assert!(DEMO_ENV_HELP.contains(&format!("within {} seconds", outside.fallback_secs)), "--help names the fallback");
        assert!(config.channels[0].hours.as_ref().unwrap().is_open(now_ms() / 1000), "demo must be open now");
        assert!(config.channels[0].retention_notice.contains("90일") && config.channels[0].shown_guidance().contains("90 days"), "the notice, on its own so an admin can't lose it");
        assert!(config.channels[0].enabled);
        assert_eq!(config.channels[0].brand.logo.as_ref().map(|l| l.mime), Some("image/svg+xml"), "the shop wears its logo");
    }

    #[test]
    fn knobs_close_the_hours_and_switch_the_channel_off() {
        let vars = |pairs: &'static [(&'static str, &'static str)]| {
            move |name: &str| pairs.iter().find(|(k, _)| *k == name).map(|(_, v)| v.to_string())
        };
        assert_eq!(DemoKnobs::from_vars(vars(&[])).unwrap(), DemoKnobs::default());
        let knobs = DemoKnobs::from_vars(vars(&[("CONSULT_DEMO_HOURS", "closed"), ("CONSULT_DEMO_ENABLED", "false"), ("CONSULT_DEMO_INACTIVITY_SECS", "5")])).unwrap();
        assert_eq!(knobs, DemoKnobs { inactivity_secs: 5, hours_closed: true, enabled: false });
        assert!(DemoKnobs::from_vars(vars(&[("CONSULT_DEMO_HOURS", "sometimes")])).is_err());
        assert!(DemoKnobs::from_vars(vars(&[("CONSULT_DEMO_ENABLED", "off-ish")])).is_err());

        let key = SecretKey::from_seed(DEMO_CHANNEL, "k1", [3; 32]).unwrap();
        let toml = demo_config_toml(&key.public_key().to_base64url(), 8081, FsPath::new("/tmp/x.db"), &default_site_dir(), &knobs, None);
        let config = Config::from_toml(&toml).unwrap_or_else(|e| panic!("{e}\n{toml}"));
        let channel = &config.channels[0];
        assert!(!channel.enabled);
        let hours = channel.hours.as_ref().unwrap();
        assert_eq!(hours.after_hours, crate::hours::AfterHours::Wait);
        let now = now_ms() / 1000;
        assert!(!hours.is_open(now), "closed now");
        let opens = hours.next_opening(now).expect("opens again");
        assert!(opens > now && opens <= now + 2 * 86_400, "tomorrow at 09:00 in Seoul: {opens} vs {now}");
        assert!(hours.message.contains("We are closed now"));
        assert!(hours.reply(now).contains("다음 상담 시작") && hours.reply(now).contains("09:00"), "{}", hours.reply(now));
    }
}
