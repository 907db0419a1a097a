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

pub mod config;
pub mod core;
pub mod demo;
pub mod error;
pub mod hours;
pub mod http;
pub mod hub;
pub mod identity;
pub mod metrics;
pub mod ratelimit;
pub mod store;

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
use crate::ratelimit::RateLimiter;
use crate::store::{Db, Store, StoreResult};

/// Unix milliseconds now.
pub fn now_ms() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_millis() as u64)
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
    /// Per-address limiter for launches and uploads.
    pub limiter: RateLimiter,
    /// The widget's files, compressed once.
    pub assets: http::assets::AssetCache,
    /// Per-channel gateway-held keys (handoff signing, user-key HMAC), loaded once.
    secrets: Mutex<HashMap<(String, &'static str), [u8; 32]>>,
}

impl std::ops::Deref for AppState {
    type Target = Inner;
    fn deref(&self) -> &Inner {
        &self.0
    }
}

impl AppState {
    /// Opens the database and builds the state.
    ///
    /// # Errors
    /// Storage errors opening or migrating the database.
    pub fn new(config: Config) -> StoreResult<AppState> {
        let db = Db::open(&config.database, config.durable_full)?;
        Ok(AppState::with_db(config, db))
    }

    /// Builds the state over an open store.
    pub fn with_db(config: Config, db: Db) -> AppState {
        let limiter = RateLimiter::new(config.rate_per_minute, config.rate_burst);
        let core = Core { config: Arc::new(config), hub: Arc::new(Hub::default()), metrics: Arc::new(Metrics::default()) };
        AppState(Arc::new(Inner { core, db, limiter, assets: Default::default(), secrets: Mutex::default() }))
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
        let (tx, rx) = tokio::sync::oneshot::channel();
        self.db
            .call(move |store| {
                let _ = tx.send(f(&core, store));
                Ok(())
            })
            .await?;
        rx.await.map_err(|_| AppError::Store(store::StoreError::Stopped))?
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
    spawn_ticker(state.clone());
    axum::serve(listener, app(state).into_make_service_with_connect_info::<SocketAddr>()).await
}

/// Inactivity closes, quiet notices, routing when the desk opens, retention purges.
pub fn spawn_ticker(state: AppState) {
    tokio::spawn(async move {
        let mut interval = tokio::time::interval(Duration::from_secs(1));
        let quiet = Arc::new(Mutex::new(HashMap::new()));
        let mut last_purge = 0u64;
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
            if now - last_purge > 3_600_000 {
                last_purge = now;
                for channel in &state.config().channels {
                    let (id, days) = (channel.id.clone(), channel.retention_days);
                    let before = now.saturating_sub(u64::from(days) * 86_400_000);
                    match state.db.call(move |s| s.purge(&id, before)).await {
                        Ok(n) if n > 0 => tracing::info!(channel = %channel.id, deleted = n, "retention purge"),
                        Ok(_) => {}
                        Err(e) => tracing::warn!(error = %e, "retention purge failed"),
                    }
                }
            }
        }
    });
}
