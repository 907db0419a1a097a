//! The default blob store: files in a local directory, `ROOT/ab/cd/KEY` where `abcd…` is the
//! SHA-256 of the key (an even spread whatever the keys look like). A put writes a temporary
//! file in the same directory, fsyncs it, renames it over the final name and fsyncs the
//! directory: a reader sees the whole file or none. The blocking calls run on tokio's blocking
//! pool.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::SystemTime;

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

/// Keys under `root` (two shard levels, then the key) whose files were modified before `before`.
/// Temporary files (`.KEY.….tmp`) are no keys: one as old as that is what a put killed half-way
/// (a crash, `kill -9`) left, and is removed here.
fn keys_before(root: &Path, before: SystemTime) -> BlobResult<Vec<String>> {
    let mut keys = Vec::new();
    let entries = |dir: &Path| -> BlobResult<Vec<std::fs::DirEntry>> {
        match std::fs::read_dir(dir) {
            Ok(list) => list.collect::<Result<_, _>>().map_err(io(dir)),
            // No upload yet: nothing to list.
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Vec::new()),
            Err(e) => Err(io(dir)(e)),
        }
    };
    for first in entries(root)? {
        for second in entries(&first.path())? {
            for file in entries(&second.path())? {
                let Some(key) = file.file_name().to_str().map(str::to_string) else { continue };
                let path = file.path();
                let modified = file.metadata().and_then(|m| m.modified()).map_err(io(&path))?;
                if modified >= before {
                    continue;
                }
                if check_key(&key).is_ok() {
                    keys.push(key);
                } else if key.starts_with('.') && key.ends_with(".tmp") {
                    match std::fs::remove_file(&path) {
                        Ok(()) => tracing::info!(path = %path.display(), "removed the temporary file of an upload that never finished"),
                        Err(e) => tracing::warn!(path = %path.display(), error = %e, "could not remove an unfinished upload's temporary file"),
                    }
                }
            }
        }
    }
    Ok(keys)
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

    fn keys_written_before(&self, before: SystemTime) -> BoxFuture<'_, BlobResult<Vec<String>>> {
        Box::pin(blocking(self.root.clone(), move |root| keys_before(root, before)))
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

    #[tokio::test]
    async fn the_sweep_deletes_old_blobs_no_row_names_and_keeps_fresh_ones_and_those_in_use() {
        use crate::store::{Attachment, AttachmentBytes, Db, SqliteStore};
        let root = std::env::temp_dir().join(format!("consult-sweep-{}", crate::identity::random_token(6)));
        let blobs = DirStore::new(root.clone());
        for key in ["a_orphan", "a_used", "a_fresh"] {
            blobs.put(key, Bytes::from_static(b"bytes")).await.unwrap();
        }
        // Two of them from before the grace period, and a put that died half-way (no key, only a
        // temporary file).
        let old = SystemTime::now() - crate::blob::ORPHAN_GRACE - std::time::Duration::from_secs(60);
        let shard = blobs.path_of("a_orphan").unwrap().parent().unwrap().to_path_buf();
        let partial = shard.join(".a_gone.x1y2z3.tmp");
        std::fs::write(&partial, b"part").unwrap();
        let writing = shard.join(".a_now.q1w2e3.tmp");
        std::fs::write(&writing, b"part").unwrap();
        for path in [blobs.path_of("a_orphan").unwrap(), blobs.path_of("a_used").unwrap(), partial.clone()] {
            std::fs::File::options().write(true).open(path).unwrap().set_modified(old).unwrap();
        }
        let db = Db::spawn(Box::new(SqliteStore::open(Path::new(":memory:"), false).unwrap()));
        let used = Attachment {
            id: "a_used".into(),
            conversation: None,
            agent: Some("mina".into()),
            mime: "image/png".into(),
            name: "p.png".into(),
            size: 5,
            sha256: String::new(),
            bytes: AttachmentBytes::Blob("a_used".into()),
        };
        db.call(move |s| s.put_attachment(&used, 1)).await.unwrap();

        let deleted = crate::blob::sweep_orphans(&blobs, &db, SystemTime::now()).await.unwrap();
        assert_eq!(deleted, ["a_orphan"]);
        assert!(blobs.get("a_orphan").await.unwrap().is_none());
        assert!(blobs.get("a_used").await.unwrap().is_some(), "a row names it");
        assert!(blobs.get("a_fresh").await.unwrap().is_some(), "maybe an upload whose row is on its way");
        assert!(!partial.exists(), "an old temporary file is a put that died: removed");
        assert!(writing.exists(), "a fresh one may be a put under way: kept");
        // Nothing left to do the next time; a store nobody uploaded to has nothing at all.
        assert!(crate::blob::sweep_orphans(&blobs, &db, SystemTime::now()).await.unwrap().is_empty());
        assert!(crate::blob::sweep_orphans(&DirStore::new(root.join("none")), &db, SystemTime::now()).await.unwrap().is_empty());
        std::fs::remove_dir_all(root).unwrap();
    }
}
