//! S3-compatible object storage (cargo feature `s3`), through the `object_store` crate:
//! `s3://bucket[/prefix]`, everything else from the environment as the AWS tools read it
//! (`AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`, `AWS_REGION`, `AWS_ENDPOINT` for MinIO, Ceph or
//! R2, `AWS_ALLOW_HTTP=true` for a plain-HTTP endpoint). A put is one PUT: S3 stores an object
//! whole or not at all.

use std::time::SystemTime;

use bytes::Bytes;
use futures_util::StreamExt;
use futures_util::future::BoxFuture;
use object_store::aws::{AmazonS3, AmazonS3Builder};
use object_store::path::Path;
use object_store::{ObjectStore, ObjectStoreExt, PutPayload};

use super::{BlobError, BlobResult, BlobStore, check_key};

/// Objects under one bucket and prefix.
#[derive(Debug)]
pub struct S3Store {
    store: AmazonS3,
    prefix: String,
}

fn remote(e: object_store::Error) -> BlobError {
    BlobError::Remote(e.to_string())
}

impl S3Store {
    /// A client for `s3://bucket[/prefix]` configured from the environment.
    ///
    /// # Errors
    /// [`BlobError::Remote`] when the environment does not make a usable client.
    pub fn from_env(url: &str) -> BlobResult<S3Store> {
        // reqwest's rustls takes the process's crypto provider: ring, as the rest of the gateway.
        let _ = rustls::crypto::ring::default_provider().install_default();
        let rest = url.strip_prefix("s3://").unwrap_or(url);
        let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
        let store = AmazonS3Builder::from_env().with_bucket_name(bucket).build().map_err(remote)?;
        Ok(S3Store { store, prefix: prefix.trim_matches('/').to_string() })
    }

    fn path(&self, key: &str) -> BlobResult<Path> {
        check_key(key)?;
        Ok(if self.prefix.is_empty() { Path::from(key) } else { Path::from(format!("{}/{key}", self.prefix)) })
    }
}

impl BlobStore for S3Store {
    fn put<'a>(&'a self, key: &'a str, bytes: Bytes) -> BoxFuture<'a, BlobResult<()>> {
        Box::pin(async move {
            self.store.put(&self.path(key)?, PutPayload::from(bytes)).await.map_err(remote)?;
            Ok(())
        })
    }

    fn get<'a>(&'a self, key: &'a str) -> BoxFuture<'a, BlobResult<Option<Bytes>>> {
        Box::pin(async move {
            match self.store.get(&self.path(key)?).await {
                Ok(found) => Ok(Some(found.bytes().await.map_err(remote)?)),
                Err(object_store::Error::NotFound { .. }) => Ok(None),
                Err(e) => Err(remote(e)),
            }
        })
    }

    fn delete<'a>(&'a self, key: &'a str) -> BoxFuture<'a, BlobResult<()>> {
        Box::pin(async move {
            match self.store.delete(&self.path(key)?).await {
                Ok(()) | Err(object_store::Error::NotFound { .. }) => Ok(()),
                Err(e) => Err(remote(e)),
            }
        })
    }

    fn keys_written_before(&self, before: SystemTime) -> BoxFuture<'_, BlobResult<Vec<String>>> {
        Box::pin(async move {
            let before_ms = before.duration_since(SystemTime::UNIX_EPOCH).map_or(0, |d| d.as_millis() as i64);
            let prefix = (!self.prefix.is_empty()).then(|| Path::from(self.prefix.as_str()));
            let mut listing = self.store.list(prefix.as_ref());
            let mut keys = Vec::new();
            while let Some(meta) = listing.next().await {
                let meta = meta.map_err(remote)?;
                let Some(key) = meta.location.filename().map(str::to_string) else { continue };
                // Only this store's own objects: `prefix/KEY`, nothing deeper, nothing else.
                let ours = self.path(&key).is_ok_and(|p| p == meta.location);
                if ours && meta.last_modified.timestamp_millis() < before_ms {
                    keys.push(key);
                }
            }
            Ok(keys)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Against a local S3-compatible server when `CONSULT_TEST_S3` names a bucket URL (with the
    /// `AWS_*` variables for it set), e.g. moto: `moto_server -p 9000`, `AWS_ENDPOINT=http://127.0.0.1:9000`,
    /// `AWS_ALLOW_HTTP=true`, any key id and secret, and an existing bucket.
    #[tokio::test]
    async fn put_get_delete_against_a_local_server() {
        let Ok(url) = std::env::var("CONSULT_TEST_S3") else {
            eprintln!("skipped: CONSULT_TEST_S3 is not set");
            return;
        };
        let store = S3Store::from_env(&url).unwrap();
        let key = crate::identity::random_id("a");
        assert!(store.get(&key).await.unwrap().is_none());
        store.put(&key, Bytes::from_static(b"first")).await.unwrap();
        store.put(&key, Bytes::from_static(b"second")).await.unwrap();
        assert_eq!(store.get(&key).await.unwrap().unwrap(), "second");
        // Listed once written before the cut-off, by its key alone.
        let later = SystemTime::now() + std::time::Duration::from_secs(60);
        assert!(store.keys_written_before(later).await.unwrap().contains(&key));
        let earlier = SystemTime::now() - std::time::Duration::from_secs(3600);
        assert!(!store.keys_written_before(earlier).await.unwrap().contains(&key));
        store.delete(&key).await.unwrap();
        store.delete(&key).await.unwrap();
        assert!(store.get(&key).await.unwrap().is_none());
        assert!(matches!(store.put("../x", Bytes::new()).await, Err(BlobError::BadKey(_))));
    }
}
