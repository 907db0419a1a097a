//! The default blob store: files in a local directory, `ROOT/ab/cd/KEY` where `abcd…` is the
//! SHA-256 of the key (an even spread whatever the keys look like). A put writes a temporary
//! file in the same directory, fsyncs it, renames it over the final name and fsyncs the
//! directory: a reader sees the whole file or none. The blocking calls run on tokio's blocking
//! pool.

use std::io::Write;
use std::path::{Path, PathBuf};

use bytes::Bytes;
use futures_util::future::BoxFuture;

use super::{BlobError, BlobResult, BlobStore, check_key, sha256_hex};

/// Files under one directory.
#[derive(Debug, Clone)]
pub struct DirStore {
    root: PathBuf,
}

impl DirStore {
    /// A store rooted at `root` (created on the first put).
    pub fn new(root: PathBuf) -> DirStore {
        DirStore { root }
    }

    /// Where `key`'s bytes are (or would be).
    ///
    /// # Errors
    /// [`BlobError::BadKey`].
    pub fn path_of(&self, key: &str) -> BlobResult<PathBuf> {
        check_key(key)?;
        let h = sha256_hex(key.as_bytes());
        Ok(self.root.join(&h[..2]).join(&h[2..4]).join(key))
    }
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> BlobError + '_ {
    move |source| BlobError::Io { path: path.to_path_buf(), source }
}

fn put_file(path: &Path, bytes: &[u8]) -> BlobResult<()> {
    let dir = path.parent().expect("a blob path has a shard directory");
    let fresh = !dir.exists();
    std::fs::create_dir_all(dir).map_err(io(dir))?;
    let name = path.file_name().and_then(|n| n.to_str()).unwrap_or_default();
    let tmp = dir.join(format!(".{name}.{}.tmp", crate::identity::random_token(6)));
    let written = (|| {
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()?;
        std::fs::rename(&tmp, path)
    })();
    if let Err(e) = written {
        let _ = std::fs::remove_file(&tmp);
        return Err(io(path)(e));
    }
    // The rename itself is durable once the directory is; a new shard directory (and the root,
    // on the first put) once its parent is.
    let parents = if fresh { 3 } else { 0 };
    for d in dir.ancestors().take(1 + parents) {
        let d = if d.as_os_str().is_empty() { Path::new(".") } else { d };
        std::fs::File::open(d).and_then(|f| f.sync_all()).map_err(io(d))?;
    }
    Ok(())
}

/// Runs `f(path)` on the blocking pool.
async fn blocking<T: Send + 'static>(path: PathBuf, f: impl FnOnce(&Path) -> BlobResult<T> + Send + 'static) -> BlobResult<T> {
    let at = path.clone();
    tokio::task::spawn_blocking(move || f(&path)).await.unwrap_or_else(|e| Err(io(&at)(std::io::Error::other(e))))
}

impl BlobStore for DirStore {
    fn put<'a>(&'a self, key: &'a str, bytes: Bytes) -> BoxFuture<'a, BlobResult<()>> {
        Box::pin(async move {
            blocking(self.path_of(key)?, move |path| put_file(path, &bytes)).await
        })
    }

    fn get<'a>(&'a self, key: &'a str) -> BoxFuture<'a, BlobResult<Option<Bytes>>> {
        Box::pin(async move {
            blocking(self.path_of(key)?, |path| match std::fs::read(path) {
                Ok(b) => Ok(Some(Bytes::from(b))),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
                Err(e) => Err(io(path)(e)),
            })
            .await
        })
    }

    fn delete<'a>(&'a self, key: &'a str) -> BoxFuture<'a, BlobResult<()>> {
        Box::pin(async move {
            blocking(self.path_of(key)?, |path| match std::fs::remove_file(path) {
                Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(io(path)(e)),
                _ => Ok(()),
            })
            .await
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn put_get_delete_sharded_and_whole() {
        let root = std::env::temp_dir().join(format!("consult-blobs-{}", crate::identity::random_token(6)));
        let store = DirStore::new(root.clone());
        assert!(store.get("a_1").await.unwrap().is_none());
        store.put("a_1", Bytes::from_static(b"first")).await.unwrap();
        store.put("a_1", Bytes::from_static(b"second")).await.unwrap();
        assert_eq!(store.get("a_1").await.unwrap().unwrap(), "second");
        let path = store.path_of("a_1").unwrap();
        assert_eq!(path.strip_prefix(&root).unwrap().components().count(), 3, "two shard levels, then the key");
        let left: Vec<_> = std::fs::read_dir(path.parent().unwrap()).unwrap().map(|e| e.unwrap().file_name()).collect();
        assert_eq!(left, vec![std::ffi::OsString::from("a_1")], "no temporary file is left behind");
        store.delete("a_1").await.unwrap();
        store.delete("a_1").await.unwrap();
        assert!(store.get("a_1").await.unwrap().is_none());
        assert!(matches!(store.put("../x", Bytes::new()).await, Err(BlobError::BadKey(_))));
        std::fs::remove_dir_all(root).unwrap();
    }
}
