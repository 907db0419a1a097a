//! API keys of the Counsel API: `ck_<id>_<secret>`, per channel, with scopes and optionally an
//! agent identity. The gateway keeps the SHA-256 of the whole key, never the key. Failed
//! authentication is rate limited per key id and per address; a key never reaches another
//! channel's data (every handler compares the session's channel with the key's).

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use axum::http::{HeaderMap, StatusCode, header};
use consult_sdk::counsel::{ApiKeyInfo, Scope, codes};
use sha2::{Digest, Sha256};

use crate::error::AppError;
use crate::ratelimit::KeyedLimiter;
use crate::store::ApiKeyRow;
use crate::{AppState, now_ms};

/// A new key: the row to store and the secret to show once.
pub fn mint(channel: &str, name: &str, scopes: Vec<Scope>, agent: Option<String>, now_ms: u64) -> (ApiKeyRow, String) {
    let id: String = crate::identity::random_bytes::<6>().iter().map(|b| format!("{b:02x}")).collect();
    let secret = format!("ck_{id}_{}", crate::identity::random_token(32));
    let row = ApiKeyRow {
        id,
        channel: channel.into(),
        name: name.into(),
        scopes,
        agent,
        hash: hash(&secret),
        created_ms: now_ms,
        last_used_ms: None,
        revoked_ms: None,
    };
    (row, secret)
}

/// SHA-256 of a key.
pub fn hash(secret: &str) -> [u8; 32] {
    Sha256::digest(secret.as_bytes()).into()
}

/// The id part of `ck_<id>_<secret>`.
pub fn key_id(secret: &str) -> Option<&str> {
    let (id, rest) = secret.strip_prefix("ck_")?.split_once('_')?;
    (id.len() == 12 && id.bytes().all(|b| b.is_ascii_hexdigit()) && !rest.is_empty() && secret.len() <= 128).then_some(id)
}

/// Checks a new key's fields.
///
/// # Errors
/// `bad_request` naming the field.
pub fn check_new(state: &AppState, channel: &str, name: &str, scopes: &[Scope], agent: Option<&str>) -> Result<(), AppError> {
    if name.trim().is_empty() || name.chars().count() > 64 || name.chars().any(char::is_control) {
        return Err(AppError::BadRequest("name: 1 to 64 characters".into()));
    }
    if scopes.is_empty() {
        return Err(AppError::BadRequest("scopes: give at least one of read, write, admin".into()));
    }
    if state.config().channel(channel).is_none() {
        return Err(AppError::UnknownChannel(channel.into()));
    }
    if let Some(a) = agent {
        let works = state.core.agent(a).is_some_and(|x| x.works(channel));
        if !works {
            return Err(AppError::BadRequest(format!("agent: no agent {a:?} works channel {channel:?}")));
        }
    }
    Ok(())
}

/// A stored key as listed.
pub fn info(k: &ApiKeyRow) -> ApiKeyInfo {
    ApiKeyInfo {
        id: k.id.clone(),
        channel: k.channel.clone(),
        name: k.name.clone(),
        scopes: k.scopes.clone(),
        agent: k.agent.clone(),
        created_ms: k.created_ms,
        last_used_ms: k.last_used_ms,
        revoked_ms: k.revoked_ms,
    }
}

/// Failed-authentication limits: per key id and per address. A key id or address that failed too
/// often is refused (as `rate_limited`, with `Retry-After`) until its limit recovers, right key
/// or not, so guessing gets nowhere.
pub struct AuthLimits {
    per_key: KeyedLimiter<String>,
    per_address: KeyedLimiter<IpAddr>,
    penalty: Mutex<HashMap<String, Instant>>,
}

impl Default for AuthLimits {
    fn default() -> Self {
        AuthLimits { per_key: KeyedLimiter::per_minute(10, 10), per_address: KeyedLimiter::per_minute(20, 20), penalty: Mutex::default() }
    }
}

impl AuthLimits {
    fn penalised(&self, names: &[String]) -> Option<Duration> {
        let now = Instant::now();
        let mut map = self.penalty.lock().unwrap_or_else(|e| e.into_inner());
        map.retain(|_, until| *until > now);
        names.iter().filter_map(|n| map.get(n)).map(|until| *until - now).max()
    }

    fn failed(&self, key: Option<&str>, addr: IpAddr) {
        let mut waits = Vec::new();
        if let Some(k) = key
            && let Err(w) = self.per_key.check(&k.to_string())
        {
            waits.push((format!("key:{k}"), w));
        }
        if let Err(w) = self.per_address.check(&addr) {
            waits.push((format!("addr:{addr}"), w));
        }
        let now = Instant::now();
        let mut map = self.penalty.lock().unwrap_or_else(|e| e.into_inner());
        for (name, w) in waits {
            map.insert(name, now + w.max(Duration::from_secs(1)));
        }
    }

    /// Forgets recovered keys.
    pub fn forget_idle(&self) {
        self.per_key.forget_idle();
        self.per_address.forget_idle();
    }
}

/// The caller of a Counsel API request.
#[derive(Debug, Clone)]
pub struct Caller {
    /// The key.
    pub key: ApiKeyRow,
}

impl Caller {
    /// Refuses without `scope` (admin implies write and read; write implies read).
    ///
    /// # Errors
    /// `missing_scope` (403).
    pub fn require(&self, scope: Scope) -> Result<(), AppError> {
        let has = self.key.scopes.iter().any(|s| *s == scope || *s == Scope::Admin || (*s == Scope::Write && scope == Scope::Read));
        if has {
            Ok(())
        } else {
            Err(AppError::Api(StatusCode::FORBIDDEN, codes::MISSING_SCOPE, format!("this key lacks the {} scope", scope.as_str())))
        }
    }

    /// The key's channel.
    pub fn channel(&self) -> &str {
        &self.key.channel
    }
}

/// Authenticates `Authorization: Bearer ck_…`.
///
/// # Errors
/// `rate_limited` after too many failures for this key id or address, `bad_api_key` otherwise.
pub async fn authenticate(state: &AppState, peer: SocketAddr, headers: &HeaderMap) -> Result<Caller, AppError> {
    let addr = state.client_ip(peer, headers);
    let secret = headers.get(header::AUTHORIZATION).and_then(|v| v.to_str().ok()).and_then(|v| v.strip_prefix("Bearer ")).unwrap_or("").trim();
    let id = key_id(secret).map(str::to_string);
    let mut names = vec![format!("addr:{addr}")];
    if let Some(id) = &id {
        names.push(format!("key:{id}"));
    }
    let limits = &state.limits.api_auth;
    if let Some(wait) = limits.penalised(&names) {
        state.core.metrics.rate_limited();
        return Err(AppError::RateLimited(wait));
    }
    let bad = || AppError::Api(StatusCode::UNAUTHORIZED, codes::BAD_API_KEY, "the API key is missing, unknown or revoked".into());
    let Some(id) = id else {
        limits.failed(None, addr);
        return Err(bad());
    };
    let lookup = id.clone();
    let row = state.db.call(move |s| s.api_key_get(&lookup)).await?;
    let given = hash(secret);
    // Compared in constant time; an unknown id compares against zeros.
    let stored = row.as_ref().map_or([0u8; 32], |r| r.hash);
    let equal = given.iter().zip(stored.iter()).fold(0u8, |acc, (a, b)| acc | (a ^ b)) == 0;
    match row {
        Some(row) if equal && row.revoked_ms.is_none() && state.config().channel(&row.channel).is_some() => {
            let (kid, now) = (row.id.clone(), now_ms());
            if row.last_used_ms.is_none_or(|t| t + 60_000 < now) {
                state.db.call(move |s| s.api_key_used(&kid, now)).await?;
            }
            Ok(Caller { key: row })
        }
        _ => {
            limits.failed(Some(&id), addr);
            if state.limits.should_log(addr) {
                tracing::info!(%addr, key = %id, "counsel API key refused");
            }
            Err(bad())
        }
    }
}

/// `consult api-key …`.
#[derive(clap::Subcommand)]
pub enum KeyCommand {
    /// Create a key; its secret is printed once (the gateway keeps only a hash).
    Create {
        /// TOML configuration (its database and channels).
        #[arg(long, default_value = "consult.toml")]
        config: std::path::PathBuf,
        /// The one channel the key works.
        #[arg(long)]
        channel: String,
        /// Comma-separated: read, write, admin.
        #[arg(long, default_value = "read,write")]
        scopes: String,
        /// A name for people.
        #[arg(long)]
        name: String,
        /// Agent identity for replies and takes (absent: a system key).
        #[arg(long)]
        agent: Option<String>,
    },
    /// List a channel's keys (never their secrets).
    List {
        /// TOML configuration.
        #[arg(long, default_value = "consult.toml")]
        config: std::path::PathBuf,
        /// Channel.
        #[arg(long)]
        channel: String,
    },
    /// Revoke a key by id.
    Revoke {
        /// TOML configuration.
        #[arg(long, default_value = "consult.toml")]
        config: std::path::PathBuf,
        /// Channel.
        #[arg(long)]
        channel: String,
        /// Key id (the part after `ck_`).
        id: String,
    },
}

/// Runs `consult api-key …` against the configuration's database.
///
/// # Errors
/// Bad arguments, configuration or storage failures, as one line.
pub fn cli(cmd: KeyCommand) -> anyhow::Result<()> {
    use anyhow::Context as _;
    // SQLite or PostgreSQL, as `consult serve` would open it.
    let open = |path: &std::path::Path| -> anyhow::Result<(crate::config::Config, Box<dyn crate::store::Store>)> {
        let config = crate::config::Config::load(path)?;
        let store = crate::store::open_store(&config.database, true).with_context(|| format!("opening {}", config.database.display()))?;
        Ok((config, store))
    };
    match cmd {
        KeyCommand::Create { config, channel, scopes, name, agent } => {
            let (cfg, mut store) = open(&config)?;
            let scopes: Vec<Scope> = scopes
                .split(',')
                .map(|s| Scope::parse(s).ok_or_else(|| anyhow::anyhow!("--scopes: {s:?} is not read, write or admin")))
                .collect::<anyhow::Result<_>>()?;
            anyhow::ensure!(cfg.channel(&channel).is_some(), "--channel: no channel {channel:?} in {}", config.display());
            anyhow::ensure!(!scopes.is_empty() && !name.trim().is_empty(), "--name and --scopes must not be empty");
            if let Some(a) = &agent {
                anyhow::ensure!(cfg.agent(a).is_some_and(|x| x.works(&channel)), "--agent: no agent {a:?} works channel {channel:?}");
            }
            let (row, secret) = mint(&channel, &name, scopes, agent, now_ms());
            store.api_key_put(&row)?;
            eprintln!("consult: key {} for channel {channel}; the secret below is shown once", row.id);
            println!("{secret}");
        }
        KeyCommand::List { config, channel } => {
            let (_, mut store) = open(&config)?;
            for k in store.api_keys(&channel)? {
                println!("{}", serde_json::to_string(&info(&k))?);
            }
        }
        KeyCommand::Revoke { config, channel, id } => {
            let (_, mut store) = open(&config)?;
            anyhow::ensure!(store.api_key_revoke(&channel, &id, now_ms())?, "no live key {id:?} in channel {channel:?}");
            eprintln!("consult: key {id} revoked");
        }
    }
    Ok(())
}
