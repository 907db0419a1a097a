//! Identifiers and secrets: random handles, the stable per-channel `user_key`, agent passwords.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use argon2::password_hash::{PasswordHash, PasswordHasher as _, SaltString};
use argon2::Argon2;
use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};

/// How an agent's password is checked.
#[derive(Debug, Clone)]
pub enum Password {
    /// Plain text (demo only; `serve` warns at start).
    Plain(String),
    /// Argon2id hash in PHC string format (`$argon2id$v=19$m=…,t=…,p=…$salt$hash`), as printed by
    /// `consult hash-password`.
    Hash(String),
}

impl Password {
    /// Whether this is a plain-text password.
    pub fn is_plain(&self) -> bool {
        matches!(self, Password::Plain(_))
    }
}

/// Random bytes from the system source.
pub fn random_bytes<const N: usize>() -> [u8; N] {
    let mut out = [0u8; N];
    // The OS random source failing leaves no safe way to mint secrets.
    getrandom::getrandom(&mut out).expect("the system random source failed");
    out
}

/// A random URL-safe token of `bytes` random bytes.
pub fn random_token(bytes: usize) -> String {
    let mut buf = vec![0u8; bytes];
    getrandom::getrandom(&mut buf).expect("the system random source failed");
    URL_SAFE_NO_PAD.encode(buf)
}

/// A random id with a readable prefix (`s_…` session, `c_…` conversation, `a_…` attachment).
pub fn random_id(prefix: &str) -> String {
    format!("{prefix}_{}", random_token(12))
}

/// A fresh anonymous visitor key for browser storage.
pub fn new_visitor_key() -> String {
    random_token(16)
}

/// A visitor key as the gateway issues them: 22 URL-safe characters. Anything else is replaced.
pub fn is_visitor_key(key: &str) -> bool {
    key.len() == 22 && key.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// Which identity a user key derives from. Members come only from signed data.
pub enum Identity<'a> {
    /// A signed member id.
    Member(&'a str),
    /// An anonymous visitor key.
    Visitor(&'a str),
}

/// The stable per-channel user key: HMAC-SHA-256 under the channel's secret, so it reveals
/// nothing about the member id and differs across channels.
pub fn user_key(channel_secret: &[u8; 32], identity: Identity<'_>) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(channel_secret).expect("HMAC takes any key length");
    match identity {
        Identity::Member(id) => {
            mac.update(b"member\0");
            mac.update(id.as_bytes());
        }
        Identity::Visitor(key) => {
            mac.update(b"visitor\0");
            mac.update(key.as_bytes());
        }
    }
    let digest = mac.finalize().into_bytes();
    format!("u_{}", URL_SAFE_NO_PAD.encode(&digest[..18]))
}

/// Equality whose time depends on the lengths only (compared as SHA-256 digests).
pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    let (a, b) = (Sha256::digest(a), Sha256::digest(b));
    a.iter().zip(&b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// Checks a password: argon2id for hashes, constant time for equal lengths for plain (demo) ones.
/// Hash checks take tens of milliseconds by design: call it off the async workers.
pub fn password_matches(expected: &Password, given: &str) -> bool {
    match expected {
        Password::Plain(p) => constant_time_eq(p.as_bytes(), given.as_bytes()),
        Password::Hash(phc) => PasswordHash::new(phc).is_ok_and(|hash| verify_reusing_memory(&hash, given.as_bytes())),
    }
}

thread_local! {
    /// argon2's working memory, kept by each thread that checks passwords: a check allocates
    /// nothing, so a thread's footprint stays one buffer however many checks it runs.
    static ARGON2_MEMORY: std::cell::RefCell<Vec<argon2::Block>> = const { std::cell::RefCell::new(Vec::new()) };
}

fn verify_reusing_memory(hash: &PasswordHash<'_>, given: &[u8]) -> bool {
    let (Ok(params), Some(expected), Some(salt)) = (argon2::Params::try_from(hash), hash.hash, hash.salt) else { return false };
    let Ok(algorithm) = argon2::Algorithm::try_from(hash.algorithm) else { return false };
    let version = hash.version.and_then(|v| argon2::Version::try_from(v).ok()).unwrap_or_default();
    let mut salt_bytes = [0u8; 64];
    let Ok(salt) = salt.decode_b64(&mut salt_bytes) else { return false };
    let mut out = vec![0u8; expected.len()];
    let blocks = params.block_count();
    let argon = Argon2::new(algorithm, version, params);
    let hashed = ARGON2_MEMORY.with(|memory| {
        let mut memory = memory.borrow_mut();
        if memory.len() < blocks {
            memory.resize(blocks, argon2::Block::default());
        }
        argon.hash_password_into_with_memory(given, salt, &mut out, &mut memory[..blocks]).is_ok()
    });
    hashed && constant_time_eq(&out, expected.as_bytes())
}

/// A few threads of their own for password checks. Each argon2id check holds its memory
/// (~19 MiB at default parameters) while it runs; on their own threads, at most one check per
/// thread runs and the allocator keeps at most one arena's worth per thread, where tokio's
/// blocking pool would spread them over as many threads (and retained arenas) as there were
/// sign-ins at once.
pub struct PasswordChecks {
    jobs: std::sync::mpsc::SyncSender<Box<dyn FnOnce() + Send>>,
    slots: tokio::sync::Semaphore,
}

impl PasswordChecks {
    /// `threads` checkers.
    pub fn new(threads: usize) -> PasswordChecks {
        let threads = threads.max(1);
        let (jobs, rx) = std::sync::mpsc::sync_channel::<Box<dyn FnOnce() + Send>>(threads);
        let rx = std::sync::Arc::new(std::sync::Mutex::new(rx));
        for i in 0..threads {
            let rx = rx.clone();
            std::thread::Builder::new()
                .name(format!("consult-password-{i}"))
                .spawn(move || loop {
                    let job = rx.lock().unwrap_or_else(|e| e.into_inner()).recv();
                    match job {
                        Ok(job) => job(),
                        Err(_) => return,
                    }
                })
                .expect("spawning a password-check thread");
        }
        PasswordChecks { jobs, slots: tokio::sync::Semaphore::new(threads) }
    }

    /// Checks `given` against `expected` on a checker thread, waiting at most `wait` for a free
    /// one; `None` when none came free in time (the caller answers `busy`).
    pub async fn check(&self, expected: Password, given: String, wait: std::time::Duration) -> Option<bool> {
        let _slot = tokio::time::timeout(wait, self.slots.acquire()).await.ok()?.ok()?;
        let (tx, rx) = tokio::sync::oneshot::channel();
        // Never blocks: a slot is held, so fewer jobs than threads are queued.
        self.jobs.send(Box::new(move || { let _ = tx.send(password_matches(&expected, &given)); })).ok()?;
        Some(rx.await.unwrap_or(false))
    }
}

/// Checks that a configured hash is an argon2id PHC string whose parameters argon2 accepts.
///
/// # Errors
/// What is wrong with it, as a phrase.
pub fn check_password_hash(phc: &str) -> Result<(), String> {
    let hash = PasswordHash::new(phc.trim()).map_err(|e| format!("is not a PHC string ({e})"))?;
    if hash.algorithm != argon2::ARGON2ID_IDENT {
        return Err(format!("uses {}; only argon2id is accepted", hash.algorithm));
    }
    argon2::Params::try_from(&hash).map_err(|e| format!("has bad argon2 parameters ({e})"))?;
    if hash.salt.is_none() || hash.hash.is_none() {
        return Err("lacks a salt or a hash".into());
    }
    Ok(())
}

/// How much work checking against a PHC hash takes (memory × passes), for comparing hashes.
pub fn hash_cost(phc: &str) -> u64 {
    PasswordHash::new(phc)
        .ok()
        .and_then(|h| argon2::Params::try_from(&h).ok())
        .map_or(0, |p| u64::from(p.m_cost()) * u64::from(p.t_cost()) * u64::from(p.p_cost()))
}

/// A hash of a random password with the same argon2 parameters as `like` (default parameters
/// without one): checking a password against it costs what checking a real agent's costs.
pub fn decoy_hash(like: Option<&str>) -> String {
    let params = like.and_then(|phc| PasswordHash::new(phc).ok()).and_then(|h| argon2::Params::try_from(&h).ok()).unwrap_or_default();
    let salt = SaltString::encode_b64(&random_bytes::<16>()).expect("16 bytes is a valid salt length");
    Argon2::new(argon2::Algorithm::Argon2id, argon2::Version::V0x13, params)
        .hash_password(&random_bytes::<32>(), &salt)
        .expect("argon2 hashes any password with a valid salt")
        .to_string()
}

/// Hashes a password with argon2id (default parameters) and a fresh random salt, as a PHC string.
pub fn hash_password(password: &str) -> String {
    let salt = SaltString::encode_b64(&random_bytes::<16>()).expect("16 bytes is a valid salt length");
    Argon2::default().hash_password(password.as_bytes(), &salt).expect("argon2 hashes any password with a valid salt").to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// argon2id of "pw1" with small parameters (m=8 KiB, t=1), so debug-build tests stay fast.
    const PW1_HASH: &str = "$argon2id$v=19$m=8,t=1,p=1$c2FsdHNhbHRzYWx0c2FsdA$LsyNtuDcAL3DJu/GNqCRZnRzoIUJXoO1FO1sJYMc3vQ";

    #[test]
    fn argon2id_hashes_verify_and_others_are_refused() {
        let h = Password::Hash(PW1_HASH.into());
        assert!(password_matches(&h, "pw1"));
        assert!(!password_matches(&h, "pw2"));
        assert!(!password_matches(&h, ""));
        assert!(check_password_hash(PW1_HASH).is_ok());
        assert!(check_password_hash("5e884898da28047151d0e56f8dc6292773603d0d6aabbdd62a11ef721d1542d8").is_err());
        assert!(check_password_hash("$argon2i$v=19$m=8,t=1,p=1$c2FsdHNhbHRzYWx0$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA").unwrap_err().contains("argon2id"));
        assert!(check_password_hash("$argon2id$v=19$m=1,t=1,p=1$c2FsdHNhbHRzYWx0$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA").is_err());
        assert!(password_matches(&Password::Plain("pw1".into()), "pw1"));
        assert!(!password_matches(&Password::Plain("pw1".into()), "pw1 "));
    }

    #[test]
    fn member_and_visitor_keys_never_collide_and_are_stable() {
        let secret = [9u8; 32];
        let m = user_key(&secret, Identity::Member("abc"));
        assert_eq!(m, user_key(&secret, Identity::Member("abc")));
        assert_ne!(m, user_key(&secret, Identity::Visitor("abc")));
        assert_ne!(m, user_key(&[8u8; 32], Identity::Member("abc")));
    }

    #[test]
    fn visitor_keys_round_trip_the_check() {
        assert!(is_visitor_key(&new_visitor_key()));
        assert!(!is_visitor_key("short"));
        assert!(!is_visitor_key(&"a".repeat(21).to_string().replace('a', "<")));
    }
}
