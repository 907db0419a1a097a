//! Configuration in two phases: [`RawConfig`] (every field optional, straight from TOML), then
//! [`Config`] (validated), with every bad field reported at once, one line each, naming the key.

use std::collections::{BTreeMap, HashSet};
use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;

use consult_sdk::protocol::{CannedAnswer, HoursSpec, MenuSpec};
use consult_sdk::{KeySet, PublicKey};
use serde::Deserialize;

use crate::hours::BusinessHours;
use crate::identity::Password;

/// A configuration that could not be used: each line names a key and what is wrong with it.
#[derive(Debug, thiserror::Error)]
#[error("{}", .problems.join("\n"))]
pub struct ConfigError {
    /// One line per bad field.
    pub problems: Vec<String>,
}

/// The TOML file as written: nothing is trusted yet.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawConfig {
    server: Option<RawServer>,
    rate_limit: Option<RawRateLimit>,
    #[serde(default)]
    channels: Vec<RawChannel>,
    #[serde(default)]
    agents: Vec<RawAgent>,
    #[serde(default)]
    canned: Vec<RawCanned>,
    counsel: Option<crate::webhooks::config::RawCounsel>,
    storage: Option<RawStorage>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawStorage {
    attachments: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawServer {
    listen: Option<String>,
    public_url: Option<String>,
    database: Option<String>,
    assets_dir: Option<String>,
    trusted_proxies: Option<Vec<String>>,
    log_format: Option<String>,
    quiet_after_secs: Option<i64>,
    report_time_zone: Option<String>,
    durability: Option<String>,
    metrics_token: Option<String>,
    ping_secs: Option<i64>,
    max_sockets: Option<i64>,
    database_connections: Option<i64>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRateLimit {
    per_minute: Option<i64>,
    burst: Option<i64>,
    address_messages_per_second: Option<i64>,
    conversation_messages_per_second: Option<i64>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawChannel {
    id: Option<String>,
    name: Option<String>,
    enabled: Option<bool>,
    allowed_origins: Option<Vec<String>>,
    guidance: Option<String>,
    inactivity_secs: Option<i64>,
    retention_days: Option<i64>,
    #[serde(default)]
    keys: BTreeMap<String, String>,
    #[serde(default)]
    revoked_serials: Vec<u64>,
    retention_notice: Option<String>,
    hours: Option<HoursSpec>,
    bot: Option<MenuSpec>,
    brand: Option<crate::brand::RawBrand>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawAgent {
    id: Option<String>,
    name: Option<String>,
    password: Option<String>,
    password_hash: Option<String>,
    /// No longer accepted (unsalted); kept so the error can say what to use instead.
    password_sha256: Option<String>,
    #[serde(default)]
    skills: Vec<String>,
    max_chats: Option<i64>,
    role: Option<String>,
    #[serde(default)]
    channels: Vec<String>,
    team: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawCanned {
    shortcut: Option<String>,
    text: Option<String>,
}

/// The validated configuration.
#[derive(Debug, Clone)]
pub struct Config {
    /// Where to listen.
    pub listen: SocketAddr,
    /// The gateway's public base URL (`https://consult.example.com`), when known; otherwise it is
    /// taken from each request's `Host`.
    pub public_url: Option<String>,
    /// SQLite file.
    pub database: PathBuf,
    /// Where attachment bytes are kept (`[storage] attachments`): by default the directory
    /// `attachments` beside the SQLite file (for PostgreSQL, in the working directory).
    pub attachments: crate::blob::BlobConfig,
    /// Built widget assets.
    pub assets_dir: PathBuf,
    /// Peers whose `X-Forwarded-For` is believed: addresses or CIDR ranges.
    pub trusted_proxies: Vec<IpNet>,
    /// `pretty` or `json`.
    pub log_json: bool,
    /// After this long without a visitor message, the assigned agent gets a quiet notice.
    pub quiet_after_secs: u64,
    /// Visitor and agent sockets held at once (`[server] max_sockets`); past it an upgrade is
    /// refused as `busy`. `None`: the open-file limit less a reserve for everything else.
    pub max_sockets: Option<u64>,
    /// PostgreSQL connections this node opens (`[server] database_connections`, 4 by default):
    /// each carries one storage worker, so as many rules run at once. SQLite has one writer.
    pub database_connections: usize,
    /// Where a report's days begin and end (`[server] report_time_zone`, UTC by default).
    pub report_tz: jiff::tz::TimeZone,
    /// `synchronous=FULL` (survives power loss) rather than NORMAL (survives process kills).
    pub durable_full: bool,
    /// Launches and uploads per address per minute.
    pub rate_per_minute: u32,
    /// Burst above the steady rate.
    pub rate_burst: u32,
    /// Sockets are pinged this often; one silent for 2.5 times as long is closed as half-open.
    pub ping_secs: u64,
    /// Visitor messages per second from one address (all its conversations together).
    pub address_messages_per_second: u32,
    /// Visitor messages per second in one conversation (six seconds' worth at once).
    pub conversation_messages_per_second: u32,
    /// Bearer token `/metrics` requires; without one, only loopback peers may read it.
    pub metrics_token: Option<String>,
    /// Channels.
    pub channels: Vec<Channel>,
    /// Agents.
    pub agents: Vec<Agent>,
    /// Canned answers.
    pub canned: Vec<CannedAnswer>,
    /// Counsel API: webhook endpoints, delivery tuning, outside bots (`[counsel]`).
    pub counsel: crate::webhooks::config::CounselConfig,
}

/// One option of the bot menu: it answers, links out, or queues for an agent.
#[derive(Debug, Clone)]
pub struct BotOption {
    /// Option id.
    pub id: String,
    /// Button label.
    pub label: String,
    /// What choosing it does.
    pub action: BotAction,
    /// Lowercase words or phrases: a typed message containing one is answered by this option
    /// (answer options only).
    pub keywords: Vec<String>,
}

/// What a bot option does.
#[derive(Debug, Clone)]
pub enum BotAction {
    /// An FAQ answer.
    Answer(String),
    /// A self-service link (opened by the client; choosing it just records the choice).
    Link(String),
    /// Queue for an agent with this skill.
    Queue(String),
}

/// The bot menu.
#[derive(Debug, Clone)]
pub struct Bot {
    /// Prompt above the buttons.
    pub prompt: String,
    /// Buttons.
    pub options: Vec<BotOption>,
    /// What a typed message that matches no keyword does.
    pub free_text: FreeText,
}

/// What the bot does with a typed message that no FAQ keyword matches.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FreeText {
    /// Say no answer was found and offer the menu (with its agent option); a second typed
    /// message queues.
    Offer,
    /// Queue for an agent at once.
    Queue,
}

/// A validated channel.
#[derive(Debug, Clone)]
pub struct Channel {
    /// Id.
    pub id: String,
    /// Display name.
    pub name: String,
    /// Off hides every button and refuses launches.
    pub enabled: bool,
    /// Origins allowed to embed and launch.
    pub allowed_origins: Vec<String>,
    /// Guidance shown first (with the retention notice inside, when `retention_notice` is empty).
    pub guidance: String,
    /// The retention/privacy notice, shown under the guidance; empty when the file keeps it
    /// inside `guidance`.
    pub retention_notice: String,
    /// A session closes after this long without a message.
    pub inactivity_secs: u64,
    /// Messages older than this are deleted.
    pub retention_days: u32,
    /// The channel's public keys, with revoked serials.
    pub keys: KeySet,
    /// Business hours; `None` means always open.
    pub hours: Option<BusinessHours>,
    /// Bot menu, if any.
    pub bot: Option<Bot>,
    /// Colour and welcome lines.
    pub brand: crate::brand::Brand,
}

/// Agent role.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// Works chats.
    Agent,
    /// Works chats and may take or transfer any chat.
    Supervisor,
    /// A supervisor who also reads the audit log and exports or erases a visitor's data.
    Admin,
}

impl Role {
    /// Supervisor rights (the board, watching, reassigning, reports): supervisors and admins.
    pub fn supervises(self) -> bool {
        matches!(self, Role::Supervisor | Role::Admin)
    }

    /// As the desk and the board name it.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Agent => "agent",
            Role::Supervisor => "supervisor",
            Role::Admin => "admin",
        }
    }
}

/// An address range, `addr/prefix`; a bare address is a range of one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IpNet {
    addr: IpAddr,
    prefix: u8,
}

impl IpNet {
    /// Reads `10.0.0.0/8`, `::1/128` or a bare address.
    pub fn parse(s: &str) -> Option<IpNet> {
        let (addr, prefix) = match s.trim().split_once('/') {
            Some((a, p)) => (a.parse::<IpAddr>().ok()?, Some(p.parse::<u8>().ok()?)),
            None => (s.trim().parse::<IpAddr>().ok()?, None),
        };
        let max = if addr.is_ipv4() { 32 } else { 128 };
        let prefix = prefix.unwrap_or(max);
        (prefix <= max).then_some(IpNet { addr, prefix })
    }

    /// Whether `ip` is in the range (IPv4-mapped IPv6 addresses count as IPv4).
    pub fn contains(&self, ip: IpAddr) -> bool {
        let ip = match ip {
            IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
            v4 => v4,
        };
        match (self.addr, ip) {
            (IpAddr::V4(net), IpAddr::V4(ip)) => {
                let mask = u32::MAX.checked_shl(32 - u32::from(self.prefix)).unwrap_or(0);
                u32::from(net) & mask == u32::from(ip) & mask
            }
            (IpAddr::V6(net), IpAddr::V6(ip)) => {
                let mask = u128::MAX.checked_shl(128 - u32::from(self.prefix)).unwrap_or(0);
                u128::from(net) & mask == u128::from(ip) & mask
            }
            _ => false,
        }
    }
}

/// A validated agent.
#[derive(Debug, Clone)]
pub struct Agent {
    /// Id.
    pub id: String,
    /// Display name.
    pub name: String,
    /// Password check.
    pub password: Password,
    /// Skills (bot categories they take).
    pub skills: Vec<String>,
    /// Most chats at once.
    pub max_chats: u32,
    /// Role.
    pub role: Role,
    /// Channels worked; empty means all.
    pub channels: Vec<String>,
    /// Team, for the board and the admin's list.
    pub team: Option<String>,
}

impl Agent {
    /// Works this channel.
    pub fn works(&self, channel: &str) -> bool {
        self.channels.is_empty() || self.channels.iter().any(|c| c == channel)
    }
}

impl Config {
    /// Parses and validates a TOML file's text.
    ///
    /// # Errors
    /// [`ConfigError`] listing every bad field.
    pub fn from_toml(text: &str) -> Result<Config, ConfigError> {
        let raw: RawConfig = toml::from_str(text).map_err(|e| ConfigError { problems: vec![toml_problem(&e)] })?;
        raw.validate()
    }

    /// Reads, parses and validates a file.
    ///
    /// # Errors
    /// [`ConfigError`] for an unreadable file or bad fields.
    pub fn load(path: &std::path::Path) -> Result<Config, ConfigError> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| ConfigError { problems: vec![format!("{}: cannot read: {e}", path.display())] })?;
        Config::from_toml(&text).map_err(|e| ConfigError {
            problems: e.problems.into_iter().map(|p| format!("{}: {p}", path.display())).collect(),
        })
    }

    /// A channel by id.
    pub fn channel(&self, id: &str) -> Option<&Channel> {
        self.channels.iter().find(|c| c.id == id)
    }

    /// An agent by id.
    pub fn agent(&self, id: &str) -> Option<&Agent> {
        self.agents.iter().find(|a| a.id == id)
    }
}

fn toml_problem(e: &toml::de::Error) -> String {
    // toml's message spans several lines with a source excerpt; keep its first and last lines.
    let msg = e.message().trim().replace('\n', " ");
    match e.span() {
        Some(span) => format!("at byte {}: {msg}", span.start),
        None => msg,
    }
}

/// `attachments` beside a SQLite file; in the working directory for a PostgreSQL URL (a
/// cluster should set `[storage] attachments` to shared storage).
fn default_attachments_dir(database: &std::path::Path) -> PathBuf {
    let text = database.to_string_lossy();
    if text.starts_with("postgres://") || text.starts_with("postgresql://") {
        return PathBuf::from("attachments");
    }
    let file = std::path::Path::new(text.strip_prefix("sqlite:").unwrap_or(&text));
    file.parent().unwrap_or(std::path::Path::new("")).join("attachments")
}

/// The workspace's `widget/dist`, found from the crate at compile time, else from the current dir.
pub fn default_assets_dir() -> PathBuf {
    let from_crate = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../widget/dist");
    if from_crate.parent().is_some_and(|p| p.exists()) {
        from_crate
    } else {
        PathBuf::from("widget/dist")
    }
}

struct Problems(Vec<String>);

impl Problems {
    fn add(&mut self, key: &str, what: impl std::fmt::Display) {
        self.0.push(format!("{key}: {what}"));
    }
}

fn positive(p: &mut Problems, key: &str, v: Option<i64>, default: u64, max: u64) -> u64 {
    match v {
        None => default,
        Some(n) if n > 0 && (n as u64) <= max => n as u64,
        Some(n) => {
            p.add(key, format!("{n} is out of range; use 1 to {max}"));
            default
        }
    }
}

pub(crate) fn is_id(s: &str) -> bool {
    !s.is_empty() && s.len() <= 64 && s.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_')
}

/// Checks `scheme://host[:port]` with nothing after.
pub fn is_origin(s: &str) -> bool {
    let rest = s.strip_prefix("https://").or_else(|| s.strip_prefix("http://"));
    match rest {
        Some(host) => !host.is_empty() && !host.contains(['/', '?', '#', ' ', '*']) && s == s.to_ascii_lowercase(),
        None => false,
    }
}

impl RawConfig {
    /// Validates every field, collecting every problem.
    ///
    /// # Errors
    /// [`ConfigError`] listing every bad field.
    pub fn validate(self) -> Result<Config, ConfigError> {
        let mut p = Problems(Vec::new());
        let server = self.server.unwrap_or_default();
        let listen = match server.listen.as_deref().unwrap_or("127.0.0.1:8080").parse::<SocketAddr>() {
            Ok(a) => a,
            Err(_) => {
                p.add("server.listen", format!("{:?} is not an address like 127.0.0.1:8080", server.listen.unwrap_or_default()));
                SocketAddr::from(([127, 0, 0, 1], 8080))
            }
        };
        let public_url = server.public_url.map(|u| u.trim_end_matches('/').to_string());
        if let Some(u) = &public_url
            && !is_origin(u)
        {
            p.add("server.public_url", format!("{u:?} must be scheme://host[:port] in lower case, without a path"));
        }
        let mut trusted_proxies = Vec::new();
        for (i, s) in server.trusted_proxies.unwrap_or_default().iter().enumerate() {
            match IpNet::parse(s) {
                Some(net) => trusted_proxies.push(net),
                None => p.add(&format!("server.trusted_proxies[{i}]"), format!("{s:?} is not an IP address or CIDR range (10.0.0.0/8, ::1/128)")),
            }
        }
        let log_json = match server.log_format.as_deref() {
            None | Some("pretty") => false,
            Some("json") => true,
            Some(o) => {
                p.add("server.log_format", format!("{o:?} is not \"pretty\" or \"json\""));
                false
            }
        };
        let durable_full = match server.durability.as_deref() {
            None | Some("full") => true,
            Some("normal") => false,
            Some(o) => {
                p.add("server.durability", format!("{o:?} is not \"full\" or \"normal\""));
                true
            }
        };
        let quiet_after_secs = positive(&mut p, "server.quiet_after_secs", server.quiet_after_secs, 120, 86_400);
        let max_sockets = server.max_sockets.map(|n| positive(&mut p, "server.max_sockets", Some(n), 1, 10_000_000));
        let database_connections = positive(&mut p, "server.database_connections", server.database_connections, 4, 256) as usize;
        let report_tz = match server.report_time_zone.as_deref() {
            None => jiff::tz::TimeZone::UTC,
            Some(name) => jiff::tz::TimeZone::get(name).unwrap_or_else(|_| {
                p.add("server.report_time_zone", format!("{name:?} is not a known time zone (e.g. \"Asia/Seoul\")"));
                jiff::tz::TimeZone::UTC
            }),
        };
        let ping_secs = positive(&mut p, "server.ping_secs", server.ping_secs, 20, 3600);
        let metrics_token = server.metrics_token.filter(|t| !t.is_empty());
        if metrics_token.as_ref().is_some_and(|t| t.len() < 16 || t.chars().any(|c| c.is_whitespace() || c.is_control())) {
            p.add("server.metrics_token", "must be at least 16 characters without spaces (e.g. `openssl rand -hex 16`)");
        }
        let rate = self.rate_limit.unwrap_or_default();
        let rate_per_minute = positive(&mut p, "rate_limit.per_minute", rate.per_minute, 60, 1_000_000) as u32;
        let rate_burst = positive(&mut p, "rate_limit.burst", rate.burst, 20, 1_000_000) as u32;
        let conversation_messages_per_second =
            positive(&mut p, "rate_limit.conversation_messages_per_second", rate.conversation_messages_per_second, 10, 100_000) as u32;
        let address_messages_per_second =
            positive(&mut p, "rate_limit.address_messages_per_second", rate.address_messages_per_second, 100, 10_000_000) as u32;

        let mut channels = Vec::new();
        let mut seen = HashSet::new();
        if self.channels.is_empty() {
            p.add("channels", "no channel is configured; add a [[channels]] table");
        }
        for (i, c) in self.channels.into_iter().enumerate() {
            let key = format!("channels[{i}]");
            if let Some(ch) = validate_channel(&mut p, &key, c) {
                if !seen.insert(ch.id.clone()) {
                    p.add(&format!("{key}.id"), format!("{:?} is used by an earlier channel", ch.id));
                }
                channels.push(ch);
            }
        }
        let mut agents = Vec::new();
        let mut seen = HashSet::new();
        for (i, a) in self.agents.into_iter().enumerate() {
            let key = format!("agents[{i}]");
            if let Some(agent) = validate_agent(&mut p, &key, a, &channels) {
                if !seen.insert(agent.id.clone()) {
                    p.add(&format!("{key}.id"), format!("{:?} is used by an earlier agent", agent.id));
                }
                agents.push(agent);
            }
        }
        let mut canned = Vec::new();
        for (i, c) in self.canned.into_iter().enumerate() {
            let key = format!("canned[{i}]");
            match (c.shortcut, c.text) {
                (Some(s), Some(t)) if s.starts_with('/') && s.len() > 1 && !s.contains(' ') => {
                    if let Err(e) = consult_sdk::protocol::check_text(&t) {
                        p.add(&format!("{key}.text"), e.message);
                    }
                    canned.push(CannedAnswer { shortcut: s, text: t });
                }
                (Some(s), Some(_)) => p.add(&format!("{key}.shortcut"), format!("{s:?} must start with '/' and have no spaces")),
                (None, _) => p.add(&format!("{key}.shortcut"), "is missing"),
                (_, None) => p.add(&format!("{key}.text"), "is missing"),
            }
        }
        let database = PathBuf::from(server.database.unwrap_or_else(|| "consult.db".into()));
        let attachments = match self.storage.unwrap_or_default().attachments {
            Some(text) => crate::blob::BlobConfig::parse(&text).unwrap_or_else(|e| {
                p.add("storage.attachments", e);
                crate::blob::BlobConfig::Dir(PathBuf::new())
            }),
            None => crate::blob::BlobConfig::Dir(default_attachments_dir(&database)),
        };
        let channel_ids: Vec<String> = channels.iter().map(|c: &Channel| c.id.clone()).collect();
        let counsel = self.counsel.unwrap_or_default().validate(&mut p.0, &channel_ids);
        for (i, b) in counsel.bots.iter().enumerate() {
            // The sessions of the other entry points need someone to answer them.
            if !b.entries.is_empty() && channels.iter().any(|c| c.id == b.channel && c.bot.is_none()) {
                p.add(&format!("counsel.bots[{i}].entries"), format!("channel {:?} has no [channels.bot] menu for its other entry points; add one, or drop entries", b.channel));
            }
        }
        if !p.0.is_empty() {
            return Err(ConfigError { problems: p.0 });
        }
        Ok(Config {
            listen,
            public_url,
            database,
            attachments,
            assets_dir: server.assets_dir.map(PathBuf::from).unwrap_or_else(default_assets_dir),
            trusted_proxies,
            log_json,
            quiet_after_secs,
            max_sockets,
            database_connections,
            report_tz,
            durable_full,
            rate_per_minute,
            rate_burst,
            address_messages_per_second,
            conversation_messages_per_second,
            ping_secs,
            metrics_token,
            channels,
            agents,
            canned,
            counsel,
        })
    }
}

fn validate_channel(p: &mut Problems, key: &str, c: RawChannel) -> Option<Channel> {
    let id = match c.id {
        Some(id) if is_id(&id) => id,
        Some(id) => {
            p.add(&format!("{key}.id"), format!("{id:?} must be 1-64 of a-z, 0-9, '-' or '_'"));
            return None;
        }
        None => {
            p.add(&format!("{key}.id"), "is missing");
            return None;
        }
    };
    let key = format!("{key} ({id})");
    let name = c.name.unwrap_or_else(|| id.clone());
    let mut allowed_origins = Vec::new();
    for (i, o) in c.allowed_origins.unwrap_or_default().into_iter().enumerate() {
        if is_origin(&o) {
            allowed_origins.push(o);
        } else {
            p.add(&format!("{key}.allowed_origins[{i}]"), format!("{o:?} must be scheme://host[:port] in lower case, without a path"));
        }
    }
    let (guidance, retention_notice) = crate::settings::guidance(c.guidance.as_deref(), c.retention_notice.as_deref()).unwrap_or_else(|e| {
        setting_problems(p, &key, e);
        Default::default()
    });
    let inactivity_secs = positive(p, &format!("{key}.inactivity_secs"), c.inactivity_secs, 600, 7 * 86_400);
    let retention_days = positive(p, &format!("{key}.retention_days"), c.retention_days, 90, 3650) as u32;
    let mut keys = KeySet::new();
    if c.keys.is_empty() {
        p.add(&format!("{key}.keys"), "has no key; add one like k1 = \"ed25519:BASE64URL\" (consult keygen prints it)");
    }
    for (key_id, spec) in &c.keys {
        let (alg, b64) = spec.split_once(':').unwrap_or(("ed25519", spec));
        match PublicKey::parse(&id, key_id, alg, b64) {
            Ok(k) => {
                keys.add(k);
            }
            Err(e) => p.add(&format!("{key}.keys.{key_id}"), e),
        }
    }
    for serial in &c.revoked_serials {
        keys.revoke(&id, *serial);
    }
    let hours = c.hours.and_then(|h| crate::settings::hours(h).map_err(|e| setting_problems(p, &format!("{key}.hours"), e)).ok());
    let bot = c.bot.and_then(|b| crate::settings::menu(b).map_err(|e| setting_problems(p, &format!("{key}.bot"), e)).ok());
    let brand = match c.brand.map(crate::brand::validate).transpose() {
        Ok(b) => b.unwrap_or_default(),
        Err(problems) => {
            for (k, what) in problems {
                p.add(&format!("{key}.brand.{k}"), what);
            }
            Default::default()
        }
    };
    Some(Channel {
        id,
        name,
        enabled: c.enabled.unwrap_or(true),
        allowed_origins,
        guidance,
        retention_notice,
        inactivity_secs,
        retention_days,
        keys,
        hours,
        bot,
        brand,
    })
}

/// The channel settings' broken rules (hours, guidance, menu), named under the channel's key:
/// the same rules an admin's runtime change meets (see [`crate::settings`]).
fn setting_problems(p: &mut Problems, key: &str, e: crate::settings::SettingErrors) {
    for problem in e.0 {
        p.0.push(format!("{key}.{problem}"));
    }
}

fn validate_agent(p: &mut Problems, key: &str, a: RawAgent, channels: &[Channel]) -> Option<Agent> {
    let id = match a.id {
        Some(id) if is_id(&id) => id,
        other => {
            p.add(&format!("{key}.id"), format!("{:?} must be 1-64 of a-z, 0-9, '-' or '_'", other.unwrap_or_default()));
            return None;
        }
    };
    let key = format!("{key} ({id})");
    if a.password_sha256.is_some() {
        p.add(&format!("{key}.password_sha256"), "unsalted hashes are no longer accepted; set password_hash from `consult hash-password`");
        return None;
    }
    let password = match (a.password, a.password_hash) {
        (Some(pw), None) if !pw.is_empty() => Password::Plain(pw),
        // Stored as checked: a hash with stray whitespace must sign in, not fail later.
        (None, Some(phc)) => match crate::identity::check_password_hash(phc.trim()) {
            Ok(()) => Password::Hash(phc.trim().to_string()),
            Err(why) => {
                p.add(&format!("{key}.password_hash"), format!("{why}; make one with `consult hash-password`"));
                return None;
            }
        },
        _ => {
            p.add(&format!("{key}.password"), "set exactly one of password (demo only) or password_hash");
            return None;
        }
    };
    let role = match a.role.as_deref() {
        None | Some("agent") => Role::Agent,
        Some("supervisor") => Role::Supervisor,
        Some("admin") => Role::Admin,
        Some(o) => {
            p.add(&format!("{key}.role"), format!("{o:?} is not \"agent\", \"supervisor\" or \"admin\""));
            Role::Agent
        }
    };
    for (i, c) in a.channels.iter().enumerate() {
        if !channels.iter().any(|ch| &ch.id == c) {
            p.add(&format!("{key}.channels[{i}]"), format!("{c:?} is not a configured channel"));
        }
    }
    let max_chats = positive(p, &format!("{key}.max_chats"), a.max_chats, 3, 100) as u32;
    Some(Agent {
        name: a.name.unwrap_or_else(|| id.clone()),
        id,
        password,
        skills: a.skills,
        max_chats,
        role,
        channels: a.channels,
        team: a.team.filter(|t| !t.trim().is_empty()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn example_config_parses() {
        let text = include_str!("../consult.example.toml");
        let config = Config::from_toml(text).unwrap_or_else(|e| panic!("example config: {e}"));
        assert_eq!(config.channels[0].id, "my-shop");
        assert!(config.channels[0].hours.is_some());
        assert!(!config.agents.is_empty());
    }

    #[test]
    fn every_bad_field_is_named_at_once() {
        let text = r#"
            [server]
            listen = "nowhere"
            [[channels]]
            id = "Shop"
            [[channels]]
            id = "ok"
            guidance = "hi"
            allowed_origins = ["https://x.com/path"]
            keys = { k1 = "ed25519:short" }
            hours = { time_zone = "Mars/Base", days = { mon = "9-18" } }
            [[agents]]
            id = "a1"
        "#;
        let problems = Config::from_toml(text).unwrap_err().problems;
        let joined = problems.join("\n");
        for key in [
            "server.listen",
            "channels[0].id",
            "channels[1] (ok).allowed_origins[0]",
            "channels[1] (ok).keys.k1",
            "channels[1] (ok).hours.time_zone",
            "channels[1] (ok).hours.days.mon",
            "agents[0] (a1).password",
        ] {
            assert!(joined.contains(key), "missing {key} in:\n{joined}");
        }
        assert!(problems.iter().all(|l| !l.contains('\n')));
    }

    #[test]
    fn attachments_default_beside_the_database_or_are_named_when_bad() {
        use crate::blob::BlobConfig;
        let with = |server: &str, storage: &str| Config::from_toml(&format!("[server]\n{server}\n{storage}\n[[channels]]\nid = \"c\"\nguidance = \"hi\"\nkeys = {{ k1 = \"ed25519:A6EHv_POEL4dcN0Y50vAmWfk1jCbpQ1fHdyGZBJVMbg\" }}\n"));
        assert_eq!(with("database = \"/var/lib/consult/c.db\"", "").unwrap().attachments, BlobConfig::Dir("/var/lib/consult/attachments".into()));
        assert_eq!(with("database = \"postgres://db/consult\"", "").unwrap().attachments, BlobConfig::Dir("attachments".into()));
        assert_eq!(with("", "[storage]\nattachments = \"s3://b/p\"").unwrap().attachments, BlobConfig::S3("s3://b/p".into()));
        let problems = with("", "[storage]\nattachments = \"/tmp/x\"").unwrap_err().problems;
        assert!(problems.iter().any(|p| p.starts_with("storage.attachments") && p.contains("dir:/path")), "{problems:?}");
    }

    #[test]
    fn malformed_or_unsalted_password_hashes_are_named() {
        let agent = |line: &str| format!("[[channels]]\nid = \"c\"\nguidance = \"hi\"\n[[agents]]\nid = \"a1\"\n{line}\n");
        for (line, key, says) in [
            ("password_hash = \"$argon2id$v=19$nonsense\"", "agents[0] (a1).password_hash", "hash-password"),
            ("password_hash = \"argon2id:pw1\"", "agents[0] (a1).password_hash", "PHC"),
            ("password_hash = \"$argon2i$v=19$m=8,t=1,p=1$c2FsdHNhbHRzYWx0$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\"", "agents[0] (a1).password_hash", "argon2id"),
            ("password_sha256 = \"2bb80d537b1da3e38bd30361aa855686bde0eacd7162fef6a25fe97bf527a25b\"", "agents[0] (a1).password_sha256", "hash-password"),
            ("password = \"x\"\npassword_hash = \"$argon2id$v=19$m=8,t=1,p=1$c2FsdHNhbHRzYWx0c2FsdA$LsyNtuDcAL3DJu/GNqCRZnRzoIUJXoO1FO1sJYMc3vQ\"", "agents[0] (a1).password", "exactly one"),
        ] {
            let err = Config::from_toml(&agent(line)).unwrap_err().problems.join("\n");
            assert!(err.contains(key) && err.contains(says), "{line}: {err}");
        }
        let good = agent("password_hash = \"$argon2id$v=19$m=8,t=1,p=1$c2FsdHNhbHRzYWx0c2FsdA$LsyNtuDcAL3DJu/GNqCRZnRzoIUJXoO1FO1sJYMc3vQ\"");
        let problems = Config::from_toml(&good).unwrap_err().problems; // the channel lacks keys
        assert!(problems.iter().all(|l| !l.contains("agents[0]")), "{problems:?}");
    }

    #[test]
    fn an_outside_bot_for_some_entry_points_needs_a_menu_for_the_others() {
        let config = |menu: &str, entries: &str| {
            format!("[[channels]]\nid = \"c\"\nguidance = \"hi\"\n{menu}\n[counsel]\n[[counsel.bots]]\nchannel = \"c\"\n{entries}\n")
        };
        let menu = "[channels.bot]\n[[channels.bot.options]]\nid = \"agent\"\nlabel = \"Agent\"\ncategory = \"general\"";
        let counsel_problems = |text: String| match Config::from_toml(&text) {
            Ok(_) => Vec::new(),
            Err(e) => e.problems.into_iter().filter(|l| l.starts_with("counsel")).collect::<Vec<_>>(),
        };
        let without_menu = counsel_problems(config("", "entries = [\"order-detail\"]"));
        assert!(without_menu.len() == 1 && without_menu[0].starts_with("counsel.bots[0].entries:") && without_menu[0].contains("[channels.bot]"), "{without_menu:?}");
        assert_eq!(counsel_problems(config(menu, "entries = [\"order-detail\"]")), Vec::<String>::new());
        assert_eq!(counsel_problems(config("", "")), Vec::<String>::new(), "every session of the channel: no menu needed");
        assert!(counsel_problems(config(menu, "entries = [\"\"]"))[0].starts_with("counsel.bots[0].entries:"));
    }

    #[test]
    fn the_file_meets_the_same_rules_as_a_runtime_change() {
        let text = "[[channels]]\nid = \"c\"\nguidance = \"hi\"\nretention_notice = \" \"\n[channels.hours]\ndays = { tue = \"09:00-13:00,12:00-18:00\" }\n[channels.bot]\noptions = []\n";
        let problems = Config::from_toml(text).unwrap_err().problems;
        for want in [
            "channels[0] (c).retention_notice: is empty",
            "channels[0] (c).hours.days.tue: 09:00-13:00 and 12:00-18:00 overlap",
            "channels[0] (c).bot.options: is empty",
        ] {
            assert!(problems.iter().any(|p| p.starts_with(want)), "missing {want:?} in {problems:#?}");
        }
    }

    #[test]
    fn trusted_proxy_ranges() {
        let net = IpNet::parse("10.1.0.0/16").unwrap();
        assert!(net.contains("10.1.200.3".parse().unwrap()));
        assert!(!net.contains("10.2.0.1".parse().unwrap()));
        assert!(net.contains("::ffff:10.1.0.9".parse().unwrap()));
        assert!(IpNet::parse("127.0.0.1").unwrap().contains("127.0.0.1".parse().unwrap()));
        assert!(!IpNet::parse("127.0.0.1/32").unwrap().contains("127.0.0.2".parse().unwrap()));
        assert!(IpNet::parse("0.0.0.0/0").unwrap().contains("8.8.8.8".parse().unwrap()));
        assert!(IpNet::parse("fd00::/8").unwrap().contains("fd12::1".parse().unwrap()));
        assert!(IpNet::parse("10.0.0.0/33").is_none());
        assert!(IpNet::parse("nope/8").is_none());
    }

    #[test]
    fn unknown_keys_are_reported() {
        let err = Config::from_toml("[server]\nlisten_addr = \"x\"\n").unwrap_err();
        assert!(err.problems[0].contains("listen_addr"), "{err}");
    }
}
