//! Attachment bytes, outside the database: a [`BlobStore`] keeps them by key; the `attachments`
//! row keeps the key, size, MIME type and SHA-256.
//!
//! Order of writes: an upload's blob is written (and fsynced) first, then its row, in the rule's
//! transaction; a crash in between leaves at most an orphan blob, never a row without bytes.
//! Retention purges and erasures delete their rows' blobs after the commit (a crash in between
//! leaves orphans there too); [`sweep_orphans`], in the once-per-cluster timed work (daily),
//! deletes orphans once they are older than [`ORPHAN_GRACE`]. Blob I/O runs on the async runtime, never
//! on the storage thread. A blob store belongs to one gateway database: the sweep deletes any
//! blob whose key no row of that database names.
//!
//! Stores: [`DirStore`] (a local directory, the default) and, with the `s3` cargo feature,
//! S3-compatible object storage (`s3.rs`, through the `object_store` crate).

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use bytes::Bytes;
use futures_util::future::BoxFuture;
use sha2::{Digest, Sha256};

mod dir;
#[cfg(feature = "s3")]
mod s3;

pub use dir::DirStore;

/// Why a blob operation failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum BlobError {
    /// A key outside `[A-Za-z0-9_-]{1,128}` (keys are made by the gateway, never by clients).
    #[error("blob key {0:?} is not valid; keys are 1 to 128 of A-Z, a-z, 0-9, '_' and '-'")]
    BadKey(String),
    /// The local directory could not be read or written.
    #[error("attachment directory {}: {source}", path.display())]
    Io {
        /// The file or directory concerned.
        path: PathBuf,
        /// What the OS said.
        #[source]
        source: std::io::Error,
    },
    /// The object store refused or could not be reached.
    #[error("attachment object store: {0}")]
    Remote(String),
    /// The `[storage] attachments` setting can't be used by this build.
    #[error("{0}")]
    Unsupported(String),
}

/// Result of blob operations.
pub type BlobResult<T> = Result<T, BlobError>;

/// Where attachment bytes live. Every method is safe to retry; `put` of an existing key
/// replaces it whole, `delete` of a missing key is not an error.
pub trait BlobStore: Send + Sync {
    /// Stores `bytes` under `key`, durably, before returning; a reader never sees part of it.
    fn put<'a>(&'a self, key: &'a str, bytes: Bytes) -> BoxFuture<'a, BlobResult<()>>;
    /// The bytes under `key`, or `None` when there are none.
    fn get<'a>(&'a self, key: &'a str) -> BoxFuture<'a, BlobResult<Option<Bytes>>>;
    /// Removes `key` (no error when it is already gone).
    fn delete<'a>(&'a self, key: &'a str) -> BoxFuture<'a, BlobResult<()>>;
    /// The keys of the blobs last written before `before` (for [`sweep_orphans`]).
    fn keys_written_before(&self, before: SystemTime) -> BoxFuture<'_, BlobResult<Vec<String>>>;
}

/// The validated `[storage] attachments` setting.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BlobConfig {
    /// A local directory (`dir:/path`); keys are sharded into two levels of subdirectories.
    Dir(PathBuf),
    /// S3-compatible object storage (`s3://bucket[/prefix]`), credentials and endpoint from the
    /// environment (`AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`, `AWS_REGION`, `AWS_ENDPOINT`…).
    S3(String),
}

impl BlobConfig {
    /// Parses `dir:/path` or `s3://bucket[/prefix]`.
    ///
    /// # Errors
    /// A line naming what is wrong with `text`.
    pub fn parse(text: &str) -> Result<BlobConfig, String> {
        if let Some(path) = text.strip_prefix("dir:") {
            if path.is_empty() {
                return Err("\"dir:\" needs a path, like \"dir:/var/lib/consult/attachments\"".into());
            }
            return Ok(BlobConfig::Dir(PathBuf::from(path)));
        }
        if let Some(rest) = text.strip_prefix("s3://") {
            if rest.split('/').next().is_none_or(str::is_empty) {
                return Err(format!("{text:?} names no bucket; write s3://bucket or s3://bucket/prefix"));
            }
            return Ok(BlobConfig::S3(text.to_string()));
        }
        Err(format!("{text:?} is not \"dir:/path\" or \"s3://bucket[/prefix]\""))
    }

    /// Opens the store. A directory is created on the first upload.
    ///
    /// # Errors
    /// [`BlobError::Unsupported`] for `s3://` in a build without the `s3` feature;
    /// [`BlobError::Remote`] when the S3 client can't be configured from the environment.
    pub fn open(&self) -> BlobResult<Arc<dyn BlobStore>> {
        match self {
            BlobConfig::Dir(path) => Ok(Arc::new(DirStore::new(path.clone()))),
            #[cfg(feature = "s3")]
            BlobConfig::S3(url) => Ok(Arc::new(s3::S3Store::from_env(url)?)),
            #[cfg(not(feature = "s3"))]
            BlobConfig::S3(_) => Err(BlobError::Unsupported(
                "storage.attachments: this consult was built without S3 support; build with `--features s3` or use \"dir:/path\"".into(),
            )),
        }
    }
}

impl std::fmt::Display for BlobConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            BlobConfig::Dir(p) => write!(f, "dir:{}", p.display()),
            BlobConfig::S3(url) => f.write_str(url),
        }
    }
}

/// Checks a key: 1 to 128 of `[A-Za-z0-9_-]`, so it is a safe file name and object name.
///
/// # Errors
/// [`BlobError::BadKey`].
pub fn check_key(key: &str) -> BlobResult<()> {
    let ok = !key.is_empty() && key.len() <= 128 && key.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
    if ok { Ok(()) } else { Err(BlobError::BadKey(key.chars().take(140).collect())) }
}

/// SHA-256 of `bytes`, lowercase hex (what the attachment row keeps).
pub fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes).iter().map(|b| format!("{b:02x}")).collect()
}

/// Deletes blobs whose rows are committed gone, logging (not failing on) each one that could not
/// be deleted: it stays behind as an orphan.
pub async fn delete_all(store: &dyn BlobStore, keys: &[String]) {
    for key in keys {
        if let Err(e) = store.delete(key).await {
            tracing::warn!(key = %key, error = %e, "attachment bytes not deleted; left as an orphan");
        }
    }
}

/// How old a blob with no attachment row must be before the sweep deletes it: an upload writes
/// its blob a moment before its row, and must never lose it in between.
pub const ORPHAN_GRACE: Duration = Duration::from_secs(3600);

/// Keys asked of the database at once by the sweep (one short storage job each).
const SWEEP_CHUNK: usize = 500;

/// Why the orphan sweep stopped.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SweepError {
    /// Listing the blob store failed.
    #[error(transparent)]
    Blob(#[from] BlobError),
    /// Asking the database which keys are in use failed (nothing more was deleted).
    #[error(transparent)]
    Store(#[from] crate::store::StoreError),
}

/// Deletes the blobs no attachment row names that were written more than [`ORPHAN_GRACE`]
/// before `now`: what a crash between a blob and its row, or a delete that failed after a purge,
/// left behind. Returns the keys deleted (a delete that fails is logged and left for next time).
///
/// # Errors
/// Listing the blobs or reading the rows failed.
pub async fn sweep_orphans(blobs: &dyn BlobStore, db: &crate::store::Db, now: SystemTime) -> Result<Vec<String>, SweepError> {
    let listed = blobs.keys_written_before(now.checked_sub(ORPHAN_GRACE).unwrap_or(SystemTime::UNIX_EPOCH)).await?;
    let mut orphans = Vec::new();
    for chunk in listed.chunks(SWEEP_CHUNK) {
        let asked = chunk.to_vec();
        let in_use: std::collections::HashSet<String> = db.call(move |s| s.blob_keys_in_use(&asked)).await?.into_iter().collect();
        orphans.extend(chunk.iter().filter(|k| !in_use.contains(*k)).cloned());
    }
    for key in &orphans {
        tracing::info!(key = %key, "deleting an attachment blob no row names");
    }
    delete_all(blobs, &orphans).await;
    Ok(orphans)
}

/// Puts the bytes of each `attachments[]` entry of a user export that names a `blob_key` in as
/// `data_base64` (as older rows carry them), so an export is whole wherever the bytes live.
///
/// # Errors
/// A blob that could not be read.
pub async fn fill_export(store: &dyn BlobStore, export: &mut serde_json::Value) -> BlobResult<()> {
    use base64::Engine;
    let Some(list) = export.get_mut("attachments").and_then(|a| a.as_array_mut()) else { return Ok(()) };
    for a in list {
        let Some(map) = a.as_object_mut() else { continue };
        let Some(serde_json::Value::String(key)) = map.remove("blob_key") else { continue };
        match store.get(&key).await? {
            Some(bytes) => map.insert("data_base64".into(), base64::engine::general_purpose::STANDARD.encode(&bytes).into()),
            None => {
                tracing::error!(key = %key, "attachment row without its bytes in the blob store; exported without them");
                map.insert("data_missing".into(), true.into())
            }
        };
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn settings_parse_or_name_the_problem() {
        assert_eq!(BlobConfig::parse("dir:/var/x").unwrap(), BlobConfig::Dir("/var/x".into()));
        assert_eq!(BlobConfig::parse("s3://b/p").unwrap(), BlobConfig::S3("s3://b/p".into()));
        assert!(BlobConfig::parse("dir:").unwrap_err().contains("needs a path"));
        assert!(BlobConfig::parse("s3://").unwrap_err().contains("no bucket"));
        assert!(BlobConfig::parse("/var/x").unwrap_err().contains("dir:/path"));
    }

    #[test]
    fn keys_are_safe_names() {
        assert!(check_key("a_Zz09-x").is_ok());
        for bad in ["", "../etc", "a/b", "a.b", &"x".repeat(129)] {
            assert!(matches!(check_key(bad), Err(BlobError::BadKey(_))), "{bad:?}");
        }
    }

    #[test]
    fn digest_is_lowercase_hex() {
        assert_eq!(sha256_hex(b"abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    }
}
