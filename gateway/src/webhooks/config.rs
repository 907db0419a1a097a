//! `[counsel]` in the configuration: webhook endpoints kept in the file, delivery tuning, and
//! channels whose new sessions go to an outside bot first.

use serde::Deserialize;

/// `[counsel]` as written.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawCounsel {
    allow_private_targets: Option<bool>,
    timeout_ms: Option<i64>,
    retry_base_ms: Option<i64>,
    give_up_after_secs: Option<i64>,
    #[serde(default)]
    webhooks: Vec<RawEndpoint>,
    #[serde(default)]
    bots: Vec<RawBot>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawEndpoint {
    id: Option<String>,
    channel: Option<String>,
    url: Option<String>,
    secret: Option<String>,
    events: Option<Vec<String>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawBot {
    channel: Option<String>,
    fallback_secs: Option<i64>,
    #[serde(default)]
    entries: Vec<String>,
}

/// Validated `[counsel]`.
#[derive(Debug, Clone)]
pub struct CounselConfig {
    /// Deliver to loopback and private addresses (demo, tests, a receiver on the same network).
    pub allow_private_targets: bool,
    /// A receiver slower than this is a failed attempt.
    pub timeout_ms: u64,
    /// First retry delay; doubling (with jitter) up to an hour.
    pub retry_base_ms: u64,
    /// A delivery failing this long is given up and its endpoint paused (at least a day by default).
    pub give_up_after_secs: u64,
    /// Endpoints kept in the file (synced into the database at start).
    pub webhooks: Vec<EndpointConfig>,
    /// Channels whose new sessions go to an outside bot.
    pub bots: Vec<BotConfig>,
}

impl Default for CounselConfig {
    fn default() -> Self {
        CounselConfig {
            allow_private_targets: false,
            timeout_ms: 10_000,
            retry_base_ms: 5_000,
            give_up_after_secs: 26 * 3600,
            webhooks: Vec::new(),
            bots: Vec::new(),
        }
    }
}

impl CounselConfig {
    /// The outside bot of a channel.
    pub fn bot(&self, channel: &str) -> Option<&BotConfig> {
        self.bots.iter().find(|b| b.channel == channel)
    }

    /// The outside bot that answers a session of `channel` opened from `entry` (the entry point
    /// as the reports name it), if any; otherwise the channel's menu does.
    pub fn bot_for(&self, channel: &str, entry: &str) -> Option<&BotConfig> {
        self.bots.iter().find(|b| b.channel == channel && b.takes(entry))
    }
}

/// One endpoint from the file.
#[derive(Debug, Clone)]
pub struct EndpointConfig {
    /// Id, unique.
    pub id: String,
    /// Channel.
    pub channel: String,
    /// Target URL.
    pub url: String,
    /// `whsec_` secrets, space-separated.
    pub secret: String,
    /// Event types (`*`: all).
    pub events: Vec<String>,
}

/// An outside bot for a channel: new sessions open with the bot (state `bot`), the bot hears of
/// them by webhook and answers over the Counsel API; without an answer within `fallback_secs`
/// of the visitor's last message, the session goes to the agents' queue. The sessions it takes
/// (every one, or those of its `entries`) skip the channel's built-in menu; the menu's sessions
/// are not the outside bot's to answer.
#[derive(Debug, Clone)]
pub struct BotConfig {
    /// Channel.
    pub channel: String,
    /// Seconds to wait for the bot.
    pub fallback_secs: u64,
    /// Entry points (the verified button or campaign, else the declared one, as the reports name
    /// them) whose sessions go to this bot; empty: every session of the channel.
    pub entries: Vec<String>,
}

impl BotConfig {
    /// Whether a session opened from `entry` is this bot's.
    pub fn takes(&self, entry: &str) -> bool {
        self.entries.is_empty() || self.entries.iter().any(|e| e == entry)
    }
}

/// Checks a webhook URL's form (the address is checked again at each delivery).
pub fn check_url(url: &str) -> Result<(), String> {
    let Some((scheme, rest)) = url.split_once("://") else { return Err(format!("{url:?} is not an http(s) URL")) };
    if scheme != "https" && scheme != "http" {
        return Err(format!("{url:?}: only http and https URLs"));
    }
    let host = rest.split(['/', '?', '#']).next().unwrap_or("");
    if host.is_empty() || host.contains('@') || host.contains(' ') || url.len() > 2000 {
        return Err(format!("{url:?} has no usable host"));
    }
    Ok(())
}

/// Checks event names.
pub fn check_events(events: &[String]) -> Result<(), String> {
    if events.is_empty() {
        return Err("list at least one event type, or \"*\"".into());
    }
    for e in events {
        if e != "*" && !consult_sdk::counsel::EVENT_TYPES.contains(&e.as_str()) {
            return Err(format!("unknown event type {e:?}; known: {}", consult_sdk::counsel::EVENT_TYPES.join(", ")));
        }
    }
    Ok(())
}

impl RawCounsel {
    /// Validates, reporting each problem as `counsel.…: what`.
    pub fn validate(self, problems: &mut Vec<String>, channels: &[String]) -> CounselConfig {
        let d = CounselConfig::default();
        let mut num = |key: &str, v: Option<i64>, default: u64, min: u64| match v {
            None => default,
            Some(n) if n >= min as i64 => n as u64,
            Some(n) => {
                problems.push(format!("counsel.{key}: {n} is below {min}"));
                default
            }
        };
        let timeout_ms = num("timeout_ms", self.timeout_ms, d.timeout_ms, 100);
        let retry_base_ms = num("retry_base_ms", self.retry_base_ms, d.retry_base_ms, 10);
        let give_up_after_secs = num("give_up_after_secs", self.give_up_after_secs, d.give_up_after_secs, 1);
        let mut webhooks = Vec::new();
        for (i, w) in self.webhooks.into_iter().enumerate() {
            let key = format!("counsel.webhooks[{i}]");
            let id = w.id.unwrap_or_default();
            if id.is_empty() || id.len() > 64 || !id.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_') {
                problems.push(format!("{key}.id: {id:?} must be 1-64 of a-z, 0-9, '-' or '_'"));
            }
            let channel = w.channel.unwrap_or_default();
            if !channels.contains(&channel) {
                problems.push(format!("{key}.channel: no channel {channel:?}"));
            }
            let url = w.url.unwrap_or_default();
            if let Err(e) = check_url(&url) {
                problems.push(format!("{key}.url: {e}"));
            }
            let secret = w.secret.unwrap_or_default();
            if secret.split(' ').any(|s| consult_sdk::webhooks::check_secret(s).is_err()) {
                problems.push(format!("{key}.secret: each secret is whsec_ followed by base64 of 16 bytes or more"));
            }
            let events = w.events.unwrap_or_else(|| vec!["*".into()]);
            if let Err(e) = check_events(&events) {
                problems.push(format!("{key}.events: {e}"));
            }
            webhooks.push(EndpointConfig { id, channel, url, secret, events });
        }
        let mut bots = Vec::new();
        for (i, b) in self.bots.into_iter().enumerate() {
            let channel = b.channel.unwrap_or_default();
            if !channels.contains(&channel) {
                problems.push(format!("counsel.bots[{i}].channel: no channel {channel:?}"));
            }
            let fallback_secs = match b.fallback_secs {
                None => 30,
                Some(n) if (1..=3600).contains(&n) => n as u64,
                Some(n) => {
                    problems.push(format!("counsel.bots[{i}].fallback_secs: {n} is not 1 to 3600"));
                    30
                }
            };
            if let Some(bad) = b.entries.iter().find(|e| e.is_empty() || e.len() > 64) {
                problems.push(format!("counsel.bots[{i}].entries: {bad:?} is not an entry point name (1 to 64 characters)"));
            }
            bots.push(BotConfig { channel, fallback_secs, entries: b.entries });
        }
        CounselConfig {
            allow_private_targets: self.allow_private_targets.unwrap_or(false),
            timeout_ms,
            retry_base_ms,
            give_up_after_secs,
            webhooks,
            bots,
        }
    }
}
