//! Webhooks: events written to an outbox in the transaction of the change that made them, and a
//! worker that delivers them at least once, in order per session and endpoint, signed with
//! Standard Webhooks 1.0, retried with exponential backoff and jitter; an endpoint failing past
//! `give_up_after_secs` is paused and reported (log, `/metrics`, the API) until replayed.

pub mod config;

use std::net::{IpAddr, SocketAddr};
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::{Arc, LazyLock};
use std::time::Duration;

use consult_sdk::counsel::{WebhookEvent, WebhookPayload};
use futures_util::StreamExt;

use crate::error::AppError;
use crate::identity::random_id;
use crate::store::{DeliveryOutcome, DueDelivery, EndpointRow, Store};
use crate::{AppState, now_ms};

/// Deliveries read per round of the worker: at most one per session and endpoint (order), so a
/// round serves this many sessions. A round costs two trips through the store's writer (read
/// the due rows, record outcomes), each waiting for a group commit while visitors write; 64 capped
/// deliveries at a few hundred a second under load (see README, Counsel API and webhooks).
const DUE_PER_ROUND: u32 = 256;
/// Requests in flight at once, over all endpoints.
const IN_FLIGHT: usize = 16;

/// Wakes the worker after a commit that wrote deliveries (it also polls).
static WAKE: LazyLock<tokio::sync::Notify> = LazyLock::new(tokio::sync::Notify::new);

/// Delivery counters for `/metrics`.
#[derive(Default)]
pub struct WebhookStats {
    /// Attempts answered 2xx.
    pub delivered: AtomicU64,
    /// Attempts that failed (and will be retried).
    pub retried: AtomicU64,
    /// Deliveries given up.
    pub given_up: AtomicU64,
    /// Endpoints paused now (as of the worker's last look).
    pub paused: AtomicU64,
}

/// The process's delivery counters.
pub static STATS: LazyLock<WebhookStats> = LazyLock::new(WebhookStats::default);

/// `/metrics` lines.
pub fn metrics_text() -> String {
    format!(
        "# TYPE consult_webhook_deliveries_total counter\nconsult_webhook_deliveries_total{{outcome=\"delivered\"}} {}\nconsult_webhook_deliveries_total{{outcome=\"retried\"}} {}\nconsult_webhook_deliveries_total{{outcome=\"given_up\"}} {}\n# TYPE consult_webhook_endpoints_paused gauge\nconsult_webhook_endpoints_paused {}\n",
        STATS.delivered.load(Relaxed),
        STATS.retried.load(Relaxed),
        STATS.given_up.load(Relaxed),
        STATS.paused.load(Relaxed)
    )
}

/// Writes `event` to the outbox of every endpoint of `channel` that wants it, inside the calling
/// rule's transaction: if the rule fails, no delivery exists; if it commits, every one does.
///
/// # Errors
/// Storage failures (the rule then fails whole).
pub fn emit(store: &mut dyn Store, channel: &str, session: Option<&str>, event: WebhookEvent, now_ms: u64) -> Result<(), AppError> {
    let timestamp = jiff::Timestamp::from_millisecond(now_ms as i64).map(|t| t.to_string()).unwrap_or_default();
    let event_type = event.type_name();
    let payload = WebhookPayload { channel: channel.into(), timestamp, event };
    let body = serde_json::to_string(&payload).map_err(|e| AppError::Store(e.into()))?;
    let written = store.webhook_emit(channel, session, event_type, &body, &random_id("msg"), now_ms)?;
    if written > 0 {
        // After the commit only: the worker must not look before the rows exist.
        if let Some(wake) = crate::hub::outbox::defer(Box::new(|| WAKE.notify_one())) {
            wake();
        }
    }
    Ok(())
}

/// Puts the configuration file's endpoints into the database (they keep their paused state).
///
/// # Errors
/// Storage failures.
pub async fn sync_config(state: &AppState) -> Result<(), AppError> {
    let rows: Vec<EndpointRow> = state
        .config()
        .counsel
        .webhooks
        .iter()
        .map(|w| EndpointRow {
            id: w.id.clone(),
            channel: w.channel.clone(),
            url: w.url.clone(),
            secret: w.secret.clone(),
            events: w.events.clone(),
            source: "config".into(),
            paused_ms: None,
            paused_reason: None,
            pending: 0,
            failed: 0,
        })
        .collect();
    let now = now_ms();
    state
        .db
        .call(move |s| {
            for r in &rows {
                s.webhook_endpoint_put(r, now)?;
            }
            Ok(())
        })
        .await?;
    Ok(())
}

/// True for addresses a webhook may reach without `allow_private_targets`.
pub fn is_public(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => {
            let o = v4.octets();
            !(v4.is_loopback()
                || v4.is_private()
                || v4.is_link_local()
                || v4.is_unspecified()
                || v4.is_broadcast()
                || v4.is_multicast()
                || v4.is_documentation()
                || o[0] == 0
                || (o[0] == 100 && (o[1] & 0xc0) == 64)
                || (o[0] == 192 && o[1] == 0 && o[2] == 0)
                || o[0] >= 240)
        }
        IpAddr::V6(v6) => {
            if let Some(v4) = v6.to_ipv4_mapped() {
                return is_public(IpAddr::V4(v4));
            }
            let s = v6.segments();
            !(v6.is_loopback() || v6.is_unspecified() || v6.is_multicast() || (s[0] & 0xfe00) == 0xfc00 || (s[0] & 0xffc0) == 0xfe80)
        }
    }
}

/// Resolves webhook hosts, dropping addresses that aren't public unless allowed: a name can't
/// smuggle a request to the gateway's own network.
struct GuardedResolver {
    allow_private: bool,
}

impl reqwest::dns::Resolve for GuardedResolver {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        let allow = self.allow_private;
        Box::pin(async move {
            let addrs: Vec<SocketAddr> =
                tokio::net::lookup_host((name.as_str(), 0)).await?.filter(|a| allow || is_public(a.ip())).collect();
            if addrs.is_empty() {
                return Err(format!("{} resolves to no public address", name.as_str()).into());
            }
            Ok(Box::new(addrs.into_iter()) as reqwest::dns::Addrs)
        })
    }
}

/// Why a URL may not be a target now (an address literal outside the allowed ranges).
pub fn refuse_target(url: &reqwest::Url, allow_private: bool) -> Option<String> {
    let ip = match url.host()? {
        url::Host::Ipv4(ip) => IpAddr::V4(ip),
        url::Host::Ipv6(ip) => IpAddr::V6(ip),
        url::Host::Domain(_) => return None,
    };
    (!allow_private && !is_public(ip)).then(|| format!("{ip} is not a public address"))
}

fn client(allow_private: bool, timeout: Duration) -> reqwest::Client {
    let policy = reqwest::redirect::Policy::custom(move |attempt| {
        let first = attempt.previous().first().and_then(|u| u.host_str().map(str::to_string));
        if attempt.previous().len() > 3 {
            attempt.error("too many redirects")
        } else if attempt.url().host_str().map(str::to_string) != first {
            attempt.error("redirect to another host refused")
        } else if let Some(why) = refuse_target(attempt.url(), allow_private) {
            attempt.error(why)
        } else {
            attempt.follow()
        }
    });
    reqwest::Client::builder()
        .redirect(policy)
        .timeout(timeout)
        .connect_timeout(timeout)
        .dns_resolver(Arc::new(GuardedResolver { allow_private }))
        .user_agent(concat!("consult-webhooks/", env!("CARGO_PKG_VERSION")))
        .build()
        .expect("building the webhook client")
}

/// Exponential backoff with jitter: `base · 2^attempts`, capped at an hour, times 0.5–1.
pub fn backoff_ms(base_ms: u64, attempts: u32) -> u64 {
    let full = base_ms.saturating_mul(1u64 << attempts.min(20)).min(3_600_000);
    let jitter = u64::from(u16::from_le_bytes(crate::identity::random_bytes::<2>()));
    full / 2 + full / 2 * jitter / 65_535
}

async fn attempt(client: &reqwest::Client, d: &DueDelivery, allow_private: bool) -> Result<(), (Option<u16>, String)> {
    let url = reqwest::Url::parse(&d.url).map_err(|e| (None, format!("bad url: {e}")))?;
    if let Some(why) = refuse_target(&url, allow_private) {
        return Err((None, why));
    }
    let ts = now_ms() / 1000;
    let secrets: Vec<&str> = d.secret.split(' ').filter(|s| !s.is_empty()).collect();
    let signature = consult_sdk::webhooks::sign(&secrets, &d.id, ts, d.payload.as_bytes()).map_err(|e| (None, e.to_string()))?;
    let response = client
        .post(url)
        .header("content-type", "application/json")
        .header("webhook-id", &d.id)
        .header("webhook-timestamp", ts.to_string())
        .header("webhook-signature", signature)
        .body(d.payload.clone())
        .send()
        .await
        .map_err(|e| (None, format!("{e:#}").chars().take(300).collect::<String>()))?;
    let status = response.status();
    if status.is_success() {
        Ok(())
    } else {
        Err((Some(status.as_u16()), format!("answered {status}")))
    }
}

/// Starts the delivery worker.
pub fn spawn_worker(state: AppState) {
    tokio::spawn(async move {
        if let Err(e) = sync_config(&state).await {
            tracing::error!(error = %e, "webhook endpoints from the configuration could not be stored");
        }
        let cfg = state.config().counsel.clone();
        let client = client(cfg.allow_private_targets, Duration::from_millis(cfg.timeout_ms));
        let mut last_count = 0u64;
        loop {
            let now = now_ms();
            let due = match state.db.call(move |s| s.webhook_due(now, DUE_PER_ROUND)).await {
                Ok(d) => d,
                Err(e) => {
                    tracing::warn!(error = %e, "reading due webhook deliveries failed");
                    Vec::new()
                }
            };
            let busy = !due.is_empty();
            let results: Vec<(DueDelivery, Result<(), (Option<u16>, String)>)> = futures_util::stream::iter(due)
                .map(|d| {
                    let client = client.clone();
                    async move {
                        let r = attempt(&client, &d, cfg.allow_private_targets).await;
                        (d, r)
                    }
                })
                .buffer_unordered(IN_FLIGHT)
                .collect()
                .await;
            let now = now_ms();
            let mut outcomes = Vec::with_capacity(results.len());
            for (d, r) in results {
                let outcome = match r {
                    Ok(()) => {
                        STATS.delivered.fetch_add(1, Relaxed);
                        DeliveryOutcome::Delivered
                    }
                    Err((status, error)) if now.saturating_sub(d.created_ms) >= cfg.give_up_after_secs * 1000 => {
                        STATS.given_up.fetch_add(1, Relaxed);
                        tracing::warn!(endpoint = %d.endpoint, delivery = %d.id, %error, "webhook delivery given up; endpoint paused");
                        DeliveryOutcome::GiveUp { status, error }
                    }
                    Err((status, error)) => {
                        STATS.retried.fetch_add(1, Relaxed);
                        tracing::debug!(endpoint = %d.endpoint, delivery = %d.id, %error, "webhook delivery failed; retrying later");
                        DeliveryOutcome::Retry { next_ms: now + backoff_ms(cfg.retry_base_ms, d.attempts), status, error }
                    }
                };
                outcomes.push((d.n, d.endpoint, outcome));
            }
            if !outcomes.is_empty() {
                let stored = state
                    .db
                    .call(move |s| {
                        for (n, endpoint, o) in &outcomes {
                            s.webhook_outcome(*n, o, now)?;
                            if let DeliveryOutcome::GiveUp { error, .. } = o {
                                s.webhook_pause(endpoint, &format!("a delivery failed for too long: {error}"), now)?;
                            }
                        }
                        Ok(())
                    })
                    .await;
                if let Err(e) = stored {
                    tracing::warn!(error = %e, "recording webhook outcomes failed; they will be retried");
                }
            }
            last_count += 1;
            if last_count % 20 == 0
                && let Ok(endpoints) = state.db.call(|s| s.webhook_endpoints(None)).await
            {
                STATS.paused.store(endpoints.iter().filter(|e| e.paused_ms.is_some()).count() as u64, Relaxed);
            }
            if !busy {
                let _ = tokio::time::timeout(Duration::from_millis(250), WAKE.notified()).await;
            }
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn private_and_special_addresses_are_refused() {
        for a in ["127.0.0.1", "10.1.2.3", "172.16.0.1", "192.168.1.1", "169.254.169.254", "100.64.0.1", "0.0.0.0", "::1", "fd00::1", "fe80::1", "::ffff:127.0.0.1"] {
            assert!(!is_public(a.parse().unwrap()), "{a}");
        }
        for a in ["93.184.216.34", "2606:2800:220:1::1"] {
            assert!(is_public(a.parse().unwrap()), "{a}");
        }
        let u = reqwest::Url::parse("http://127.0.0.1:9/x").unwrap();
        assert!(refuse_target(&u, false).is_some());
        assert!(refuse_target(&u, true).is_none());
    }

    #[test]
    fn backoff_grows_with_jitter_and_is_capped() {
        for attempts in 0..30 {
            let full = (1000u64 << attempts.min(20)).min(3_600_000);
            let b = backoff_ms(1000, attempts);
            assert!(b >= full / 2 && b <= full, "{attempts}: {b}");
        }
    }
}
