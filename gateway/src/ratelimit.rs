//! Keyed rate limits (GCRA, from `governor`): one key running dry leaves every other key alone,
//! and a refusal says how long to wait.

use std::hash::Hash;
use std::num::NonZeroU32;
use std::time::Duration;

use governor::clock::{Clock, DefaultClock};
use governor::state::keyed::DefaultKeyedStateStore;
use governor::{Quota, RateLimiter as Governor};

/// A rate limit per key (an address, an agent id, a conversation).
pub struct KeyedLimiter<K: Hash + Eq + Clone> {
    inner: Governor<K, DefaultKeyedStateStore<K>, DefaultClock>,
    clock: DefaultClock,
}

impl<K: Hash + Eq + Clone> KeyedLimiter<K> {
    /// `per_minute` steady, up to `burst` at once.
    pub fn per_minute(per_minute: u32, burst: u32) -> KeyedLimiter<K> {
        let quota = Quota::per_minute(NonZeroU32::new(per_minute.max(1)).unwrap_or(NonZeroU32::MIN))
            .allow_burst(NonZeroU32::new(burst.max(1)).unwrap_or(NonZeroU32::MIN));
        KeyedLimiter::with_quota(quota)
    }

    /// `per_second` steady, up to `burst` at once.
    pub fn per_second(per_second: u32, burst: u32) -> KeyedLimiter<K> {
        let quota = Quota::per_second(NonZeroU32::new(per_second.max(1)).unwrap_or(NonZeroU32::MIN))
            .allow_burst(NonZeroU32::new(burst.max(1)).unwrap_or(NonZeroU32::MIN));
        KeyedLimiter::with_quota(quota)
    }

    fn with_quota(quota: Quota) -> KeyedLimiter<K> {
        let clock = DefaultClock::default();
        KeyedLimiter { inner: Governor::dashmap_with_clock(quota, clock.clone()), clock }
    }

    /// Takes one cell for `key`; when there is none, how long until there is.
    ///
    /// # Errors
    /// The wait before the next request of this key can pass.
    pub fn check(&self, key: &K) -> Result<(), Duration> {
        self.inner.check_key(key).map_err(|not_until| not_until.wait_time_from(self.clock.now()))
    }

    /// Forgets keys whose limit has fully recovered, so a spray of keys can't grow memory forever.
    pub fn forget_idle(&self) {
        self.inner.retain_recent();
        self.inner.shrink_to_fit();
    }

    /// Keys remembered now.
    pub fn len(&self) -> usize {
        self.inner.len()
    }

    /// True when no key is remembered.
    pub fn is_empty(&self) -> bool {
        self.inner.is_empty()
    }
}

/// Whole seconds to put in `Retry-After` for a wait (at least 1).
pub fn retry_after_secs(wait: Duration) -> u64 {
    wait.as_secs() + u64::from(wait.subsec_nanos() > 0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::IpAddr;

    #[test]
    fn one_key_running_dry_leaves_another_alone_and_says_how_long() {
        let limiter = KeyedLimiter::per_minute(60, 3);
        let a: IpAddr = "10.0.0.1".parse().unwrap();
        let b: IpAddr = "10.0.0.2".parse().unwrap();
        assert!((0..3).all(|_| limiter.check(&a).is_ok()));
        let wait = limiter.check(&a).unwrap_err();
        assert!(wait > Duration::ZERO && wait <= Duration::from_secs(1), "{wait:?}");
        assert_eq!(retry_after_secs(wait), 1);
        assert!(limiter.check(&b).is_ok());
    }
}
