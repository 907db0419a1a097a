//! The Consult gateway: verifies launches, keeps consult sessions, relays messages between
//! visitors and agents, and serves the chat frame and the agent desk.
//!
//! ```no_run
//! # async fn run() -> anyhow::Result<()> {
//! let config = consult_gateway::config::Config::load("consult.toml".as_ref())?;
//! let state = consult_gateway::AppState::new(config)?;
//! let listener = tokio::net::TcpListener::bind("127.0.0.1:8080").await?;
//! consult_gateway::serve(listener, state).await?;
//! # Ok(()) }
//! ```
//!
//! Sessions and conversations: a visitor's handle names a *conversation* (the chat room of one
//! `user_key` in one channel). `seq` runs per conversation, so resuming works across sessions.
//! Each open → close episode is a consult *session* with its own id, the unit agents work.

#![warn(missing_docs)]

pub mod accounts;
pub mod apikeys;
pub mod blob;
pub mod brand;
pub mod canned;
#[cfg(feature = "postgres")]
pub mod cluster;
pub mod config;
pub mod counsel;
pub mod core;
pub mod demo;
pub mod error;
pub mod hours;
pub mod http;
pub mod hub;
pub mod identity;
pub mod metrics;
pub mod publish;
pub mod ratelimit;
pub mod receipts;
pub mod store;
pub mod supervise;
pub mod rules;
pub mod runtime;
pub mod settings;
pub mod switches;
pub mod webhooks;
pub mod reports;

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum::Router;
use axum::http::HeaderMap;
use consult_sdk::SecretKey;

use crate::config::Config;
use crate::core::Core;
use crate::error::AppError;
use crate::hub::Hub;
use crate::metrics::Metrics;
use crate::ratelimit::KeyedLimiter;
use crate::store::{Db, Store};

/// Unix milliseconds now.
pub fn now_ms() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_millis() as u64)
}

/// Why the gateway could not start.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StartError {
    /// The database could not be opened or migrated.
    #[error(transparent)]
    Store(#[from] store::StoreError),
    /// The attachment store could not be configured.
    #[error(transparent)]
    Blob(#[from] blob::BlobError),
}

/// Everything handlers share.
#[derive(Clone)]
pub struct AppState(Arc<Inner>);

/// The shared parts.
pub struct Inner {
    /// The rules and their inputs.
    pub core: Core,
    /// Storage thread.
    pub db: Db,
    /// Attachment bytes (used off the storage thread).
    pub blobs: Arc<dyn blob::BlobStore>,
    /// Rate limits and the cap on concurrent password checks.
    pub limits: Limits,
    /// The widget's files, compressed once.
    pub assets: http::assets::AssetCache,
    /// Per-channel gateway-held keys (handoff signing, user-key HMAC), loaded once.
    secrets: Mutex<HashMap<(String, &'static str), [u8; 32]>>,
    /// What an unknown agent id's password is checked against (see [`AppState::decoy_password`]).
    decoy: std::sync::OnceLock<identity::Password>,
}

impl std::ops::Deref for AppState {
    type Target = Inner;
    fn deref(&self) -> &Inner {
        &self.0
    }
}

impl AppState {
    /// Opens the database and the attachment store and builds the state.
    ///
    /// # Errors
    /// Storage errors opening or migrating the database; an attachment store that can't be
    /// configured.
    pub fn new(config: Config) -> Result<AppState, StartError> {
        let blobs = config.attachments.open()?;
        let db = Db::open(&config.database, config.durable_full, config.database_connections)?;
        #[cfg(feature = "postgres")]
        let url = config.database.to_string_lossy().into_owned();
        let state = AppState::with_stores(config, db, blobs);
        #[cfg(feature = "postgres")]
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            // A cluster node: timed work waits for the lease; publishes reach the other nodes.
            state.core.leader.store(false, std::sync::atomic::Ordering::SeqCst);
            cluster::Cluster::join(&url, &state.core.hub, state.core.leader.clone());
        }
        Ok(state)
    }

    /// Builds the state over an open store and attachment store.
    pub fn with_stores(config: Config, db: Db, blobs: Arc<dyn blob::BlobStore>) -> AppState {
        let limits = Limits::new(&config);
        let leader = Arc::new(std::sync::atomic::AtomicBool::new(true));
        let directory = Arc::new(runtime::AgentDirectory::seeded(&config));
        let settings = Arc::new(settings::ChannelSettings::seeded(&config));
        let core = Core { config: Arc::new(config), hub: Arc::new(Hub::default()), metrics: Arc::new(Metrics::default()), leader, switches: Arc::default(), directory, settings };
        AppState(Arc::new(Inner { core, db, blobs, limits, assets: Default::default(), secrets: Mutex::default(), decoy: Default::default() }))
    }

    /// The configuration.
    pub fn config(&self) -> &Config {
        &self.core.config
    }

    /// Runs a rule on the storage thread.
    ///
    /// # Errors
    /// What the rule returns; storage failures as [`AppError::Store`].
    pub async fn run<T: Send + 'static>(
        &self,
        f: impl FnOnce(&Core, &mut dyn Store) -> Result<T, AppError> + Send + 'static,
    ) -> Result<T, AppError> {
        let core = self.core.clone();
        self.db.call_rule(move |store| f(&core, store)).await?
    }

    /// The password an unknown agent id is checked against: a hash with the parameters of the
    /// configured agents' hashes, so a refusal takes as long whether or not the id exists.
    pub fn decoy_password(&self) -> &identity::Password {
        self.decoy.get_or_init(|| {
            // The costliest configured hash: an unknown id must never answer faster than a real one.
            let like = self
                .config()
                .agents
                .iter()
                .filter_map(|a| match &a.password {
                    identity::Password::Hash(phc) => Some(phc.clone()),
                    identity::Password::Plain(_) => None,
                })
                .max_by_key(|phc| identity::hash_cost(phc));
            match like {
                Some(phc) => identity::Password::Hash(identity::decoy_hash(Some(&phc))),
                // Only demo (plain) passwords: they are checked in constant time, no hash to mimic.
                None => identity::Password::Plain(identity::random_token(24)),
            }
        })
    }

    /// A per-channel secret held by the gateway (`user_key`, `handoff`).
    ///
    /// # Errors
    /// Storage failures.
    pub async fn secret(&self, channel: &str, purpose: &'static str) -> Result<[u8; 32], AppError> {
        let key = (channel.to_string(), purpose);
        if let Some(s) = self.secrets.lock().unwrap_or_else(|e| e.into_inner()).get(&key) {
            return Ok(*s);
        }
        let ch = channel.to_string();
        let secret = self.db.call(move |s| s.channel_secret(&ch, purpose)).await?;
        self.secrets.lock().unwrap_or_else(|e| e.into_inner()).insert(key, secret);
        Ok(secret)
    }

    /// The channel's handoff signing key, persisted in the database.
    ///
    /// # Errors
    /// Storage failures.
    pub async fn handoff_key(&self, channel: &str) -> Result<SecretKey, AppError> {
        let seed = self.secret(channel, "handoff").await?;
        SecretKey::from_seed(channel, HANDOFF_KEY_ID, seed).map_err(|e| AppError::BadRequest(e.to_string()))
    }

    /// The client address. When the peer is a trusted proxy, `X-Forwarded-For` is walked from
    /// the right (the hop nearest us) past trusted proxies; the first untrusted hop is the client.
    /// Hops left of it were written by the client and could be anything, so they never count.
    pub fn client_ip(&self, peer: SocketAddr, headers: &HeaderMap) -> IpAddr {
        let trusted = |ip: IpAddr| self.config().trusted_proxies.iter().any(|n| n.contains(ip));
        let mut client = peer.ip();
        if !trusted(client) {
            return client;
        }
        let hops = headers.get_all("x-forwarded-for").iter().filter_map(|v| v.to_str().ok()).flat_map(|v| v.split(',')).collect::<Vec<_>>();
        for hop in hops.iter().rev() {
            match hop.trim().parse::<IpAddr>() {
                Ok(ip) => {
                    client = ip;
                    if !trusted(ip) {
                        break;
                    }
                }
                // A garbled hop: stop at the last address we could believe.
                Err(_) => break,
            }
        }
        client
    }

    /// The gateway's own origin as the browser sees it.
    pub fn own_origin(&self, headers: &HeaderMap) -> Option<String> {
        if let Some(u) = &self.config().public_url {
            return Some(u.clone());
        }
        let host = headers.get("host")?.to_str().ok()?;
        let scheme = headers.get("x-forwarded-proto").and_then(|v| v.to_str().ok()).unwrap_or("http");
        Some(format!("{scheme}://{host}").to_ascii_lowercase())
    }
}

/// Every rate limit the gateway keeps, keyed by what they protect.
pub struct Limits {
    /// Launches and uploads per client address (`[rate_limit]`).
    pub requests: KeyedLimiter<IpAddr>,
    /// Socket upgrades per client address: reconnecting must not reset any other limit.
    pub upgrades: KeyedLimiter<IpAddr>,
    /// Visitor messages per conversation, whichever socket or handle they come through.
    pub conversation_messages: KeyedLimiter<String>,
    /// Visitor messages per client address.
    pub address_messages: KeyedLimiter<IpAddr>,
    /// Agent sign-in attempts per client address.
    pub login_address: KeyedLimiter<IpAddr>,
    /// Agent sign-in attempts per agent id (known or not).
    pub login_agent: KeyedLimiter<String>,
    /// Password checks running now: each argon2id check holds ~19 MiB, so they are capped at the
    /// number of cores and the rest are refused at once instead of queueing memory.
    pub password_checks: identity::PasswordChecks,
    /// At most one log line per address per minute for refusals.
    log_refusals: KeyedLimiter<IpAddr>,
    /// Failed Counsel API authentication, per key id and per address.
    pub api_auth: apikeys::AuthLimits,
    /// Sockets held at once.
    pub sockets: SocketSlots,
}

/// Files kept free of sockets for the database, its log, uploads, HTTP requests and PostgreSQL.
const RESERVED_FILES: u64 = 256;

/// Visitor and agent sockets held at once, against a cap: at the process's open-file limit the
/// kernel would leave new connections unanswered; below it they get a typed `busy` instead.
#[derive(Debug)]
pub struct SocketSlots {
    held: Arc<std::sync::atomic::AtomicU64>,
    configured: Option<u64>,
    /// Read on first use: `consult serve` raises the open-file limit after the state is built.
    cap: std::sync::OnceLock<u64>,
}

/// One socket's place; given back when dropped.
#[derive(Debug)]
pub struct SocketSlot(Arc<std::sync::atomic::AtomicU64>);

impl Drop for SocketSlot {
    fn drop(&mut self) {
        self.0.fetch_sub(1, std::sync::atomic::Ordering::Relaxed);
    }
}

impl SocketSlots {
    fn new(configured: Option<u64>) -> SocketSlots {
        SocketSlots { held: Arc::default(), configured, cap: std::sync::OnceLock::new() }
    }

    /// The cap: as configured, or the open-file limit less [`RESERVED_FILES`].
    pub fn cap(&self) -> u64 {
        *self.cap.get_or_init(|| {
            self.configured.unwrap_or_else(|| {
                let (soft, _) = rlimit::getrlimit(rlimit::Resource::NOFILE).unwrap_or((1024, 1024));
                soft.saturating_sub(RESERVED_FILES).max(1)
            })
        })
    }

    /// A place for one more socket, or `None` at the cap.
    pub fn take(&self) -> Option<SocketSlot> {
        let cap = self.cap();
        self.held
            .fetch_update(std::sync::atomic::Ordering::Relaxed, std::sync::atomic::Ordering::Relaxed, |n| (n < cap).then_some(n + 1))
            .ok()
            .map(|_| SocketSlot(self.held.clone()))
    }
}

impl Limits {
    fn new(config: &Config) -> Limits {
        let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
        Limits {
            requests: KeyedLimiter::per_minute(config.rate_per_minute, config.rate_burst),
            upgrades: KeyedLimiter::per_minute(config.rate_per_minute.saturating_mul(2), config.rate_burst.saturating_mul(2)),
            conversation_messages: KeyedLimiter::per_second(
                config.conversation_messages_per_second,
                config.conversation_messages_per_second.saturating_mul(6),
            ),
            address_messages: KeyedLimiter::per_second(config.address_messages_per_second, config.address_messages_per_second.saturating_mul(3)),
            login_address: KeyedLimiter::per_minute(20, 20),
            login_agent: KeyedLimiter::per_minute(10, 10),
            password_checks: identity::PasswordChecks::new(cores),
            log_refusals: KeyedLimiter::per_minute(1, 1),
            api_auth: apikeys::AuthLimits::default(),
            sockets: SocketSlots::new(config.max_sockets),
        }
    }

    /// Whether a refusal for `addr` should be logged now (once per address per minute).
    pub fn should_log(&self, addr: IpAddr) -> bool {
        self.log_refusals.check(&addr).is_ok()
    }

    /// Forgets keys whose limits have recovered.
    pub fn forget_idle(&self) {
        self.requests.forget_idle();
        self.upgrades.forget_idle();
        self.conversation_messages.forget_idle();
        self.address_messages.forget_idle();
        self.login_address.forget_idle();
        self.login_agent.forget_idle();
        self.log_refusals.forget_idle();
        self.api_auth.forget_idle();
    }
}

/// The key id of gateway-minted handoff tokens.
pub const HANDOFF_KEY_ID: &str = "handoff";

/// The whole HTTP surface.
pub fn app(state: AppState) -> Router {
    http::router(state)
}

/// Serves on a bound listener until the process ends; runs the periodic work beside it.
///
/// # Errors
/// I/O errors of the listener.
pub async fn serve(listener: tokio::net::TcpListener, state: AppState) -> std::io::Result<()> {
    serve_until(listener, state, std::future::pending()).await
}

/// Serves until `stop` resolves, then stops gracefully: no new connections, every socket told
/// to reconnect (close 1012), in-flight requests finished (each acknowledged write is already
/// committed), and at most 10 s for stragglers.
///
/// # Errors
/// I/O errors of the listener.
pub async fn serve_until(
    listener: tokio::net::TcpListener,
    state: AppState,
    stop: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    // Stored channel switches before the first request: a restart keeps a channel off.
    if let Err(e) = state.run(|core, store| Ok(core.switches.replace(store.channel_switches()?))).await {
        tracing::warn!(error = %e, "channel switches not read; the configuration's `enabled` holds until the next tick");
    }
    // And the agents admins created or changed, before the first sign-in.
    if let Err(e) = state.run(|core, store| core.reload_agents(store)).await {
        tracing::warn!(error = %e, "stored agents not read; the configuration's agents hold until the next tick");
    }
    // And the hours, guidance and menus admins changed, before the first launch.
    if let Err(e) = state.run(|core, store| core.reload_channel_settings(store)).await {
        tracing::warn!(error = %e, "stored channel settings not read; the configuration's hold until the next tick");
    }
    spawn_ticker(state.clone());
    webhooks::spawn_worker(state.clone());
    let hub = state.core.hub.clone();
    let (stopped_tx, stopped_rx) = tokio::sync::oneshot::channel::<()>();
    let signal = async move {
        stop.await;
        tracing::info!("stopping: no new connections; sockets told to reconnect");
        hub.stop();
        let _ = stopped_tx.send(());
    };
    let server = axum::serve(listener, app(state).into_make_service_with_connect_info::<SocketAddr>()).with_graceful_shutdown(signal);
    let server = std::pin::pin!(server.into_future());
    let mut stopped_rx = stopped_rx;
    tokio::select! {
        done = server => done,
        _ = async {
            let _ = (&mut stopped_rx).await;
            tokio::time::sleep(Duration::from_secs(10)).await;
        } => {
            tracing::warn!("stopping: connections still open after 10 s; closing them");
            Ok(())
        }
    }
}

/// How often the leader looks for attachment blobs no row names (see [`blob::sweep_orphans`]):
/// orphans are rare (a crash mid-upload, a failed delete) and the look lists every blob.
const ORPHAN_SWEEP_EVERY_MS: u64 = 24 * 3_600_000;

/// Inactivity closes, quiet notices, routing when the desk opens, retention purges, the
/// orphan-blob sweep.
pub fn spawn_ticker(state: AppState) {
    tokio::spawn(async move {
        let mut interval = tokio::time::interval(Duration::from_secs(1));
        let quiet = Arc::new(Mutex::new(rules::timers::TickMemory::default()));
        let mut last_purge = 0u64;
        let mut last_sweep = 0u64;
        let mut last_forget = now_ms();
        loop {
            interval.tick().await;
            let quiet = quiet.clone();
            let result = state
                .run(move |core, store| {
                    let mut q = quiet.lock().unwrap_or_else(|e| e.into_inner());
                    core.tick(store, now_ms(), &mut q)
                })
                .await;
            if let Err(e) = result {
                tracing::warn!(error = %e, code = %e.code(), "periodic work failed");
            }
            let now = now_ms();
            if now - last_forget > 60_000 {
                last_forget = now;
                state.limits.forget_idle();
            }
            if now - last_purge > 3_600_000 && state.core.leader.load(std::sync::atomic::Ordering::SeqCst) {
                last_purge = now;
                for channel in &state.config().channels {
                    let (id, days) = (channel.id.clone(), channel.retention_days);
                    let before = now.saturating_sub(u64::from(days) * 86_400_000);
                    match state.db.call(move |s| s.purge(&id, before, now)).await {
                        Ok(purged) => {
                            if purged.messages > 0 || !purged.blobs.is_empty() {
                                tracing::info!(channel = %channel.id, deleted = purged.messages, attachments = purged.blobs.len(), "retention purge");
                            }
                            // The rows are committed gone: their bytes go now.
                            blob::delete_all(state.blobs.as_ref(), &purged.blobs).await;
                        }
                        Err(e) => tracing::warn!(error = %e, "retention purge failed"),
                    }
                }
            }
            if now - last_sweep > ORPHAN_SWEEP_EVERY_MS && state.core.leader.load(std::sync::atomic::Ordering::SeqCst) {
                last_sweep = now;
                // Apart from the tick: listing a large store must not hold up closes and routing.
                let state = state.clone();
                tokio::spawn(async move {
                    match blob::sweep_orphans(state.blobs.as_ref(), &state.db, std::time::SystemTime::now()).await {
                        Ok(deleted) if !deleted.is_empty() => tracing::info!(deleted = deleted.len(), "orphan attachment blobs deleted"),
                        Ok(_) => {}
                        Err(e) => tracing::warn!(error = %e, "orphan blob sweep failed"),
                    }
                });
            }
        }
    });
}
