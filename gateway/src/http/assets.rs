//! The widget's built files, compressed once and kept in memory.
//!
//! Each file is read and gzipped on first request and again only when its modification time or
//! size changes (a rebuild while the gateway runs). Responses honour `Accept-Encoding`, say
//! `Vary: Accept-Encoding`, and carry an `ETag` from the content hash: unversioned URLs revalidate
//! after a few minutes (in the background, so a button never waits on it), URLs with `?v=<hash>`
//! are immutable for a year.

use std::collections::HashMap;
use std::io::Write as _;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::SystemTime;

use axum::body::Bytes;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use sha2::{Digest, Sha256};

/// One file, as read and as gzipped.
#[derive(Debug)]
pub struct Asset {
    /// The file's bytes.
    pub identity: Bytes,
    /// Gzip of the file, when its type compresses and gzip is smaller.
    pub gzip: Option<Bytes>,
    /// Content hash, 16 hex digits: the `ETag` and the `?v=` value.
    pub hash: String,
    modified: Option<SystemTime>,
    len: u64,
}

/// Files by path, each with the modification time it was read at.
#[derive(Debug, Default)]
pub struct AssetCache {
    files: Mutex<HashMap<PathBuf, Arc<Asset>>>,
}

/// Types worth compressing (text and wasm; images are compressed already).
fn compressible(content_type: &str) -> bool {
    content_type.starts_with("text/")
        || content_type.starts_with("application/wasm")
        || content_type.starts_with("application/json")
        || content_type.starts_with("image/svg")
}

impl AssetCache {
    /// The file at `path`, from memory unless it changed on disk.
    ///
    /// # Errors
    /// The file cannot be read.
    pub async fn get(&self, path: PathBuf, content_type: &'static str) -> std::io::Result<Arc<Asset>> {
        let meta = tokio::fs::metadata(&path).await?;
        let (modified, len) = (meta.modified().ok(), meta.len());
        if let Some(a) = self.files.lock().unwrap_or_else(|e| e.into_inner()).get(&path)
            && a.modified == modified
            && a.len == len
            && modified.is_some()
        {
            return Ok(a.clone());
        }
        let data = tokio::fs::read(&path).await?;
        // Compression of a large wasm file takes a while: off the async workers.
        let asset = tokio::task::spawn_blocking(move || {
            let hash = Sha256::digest(&data);
            let hash: String = hash[..8].iter().map(|b| format!("{b:02x}")).collect();
            let gzip = compressible(content_type).then(|| gzip(&data)).flatten().filter(|z| z.len() < data.len()).map(Bytes::from);
            Asset { identity: Bytes::from(data), gzip, hash, modified, len }
        })
        .await
        .map_err(std::io::Error::other)?;
        let asset = Arc::new(asset);
        self.files.lock().unwrap_or_else(|e| e.into_inner()).insert(path, asset.clone());
        Ok(asset)
    }
}

fn gzip(data: &[u8]) -> Option<Vec<u8>> {
    let mut enc = flate2::write::GzEncoder::new(Vec::with_capacity(data.len() / 3), flate2::Compression::best());
    enc.write_all(data).ok()?;
    enc.finish().ok()
}

/// Whether the client accepts `coding`, per `Accept-Encoding` (q-values honoured, `q=0` refuses,
/// `*` counts).
pub fn accepts(headers: &HeaderMap, coding: &str) -> bool {
    let mut star = None;
    for value in headers.get_all(header::ACCEPT_ENCODING) {
        let Ok(value) = value.to_str() else { continue };
        for item in value.split(',') {
            let mut parts = item.split(';');
            let name = parts.next().unwrap_or_default().trim();
            let q = parts
                .filter_map(|p| p.trim().strip_prefix("q=").or_else(|| p.trim().strip_prefix("Q=")))
                .find_map(|q| q.trim().parse::<f32>().ok())
                .unwrap_or(1.0);
            if name.eq_ignore_ascii_case(coding) {
                return q > 0.0;
            }
            if name == "*" {
                star = Some(q > 0.0);
            }
        }
    }
    star.unwrap_or(false)
}

fn etag_matches(headers: &HeaderMap, etag: &str) -> bool {
    headers
        .get_all(header::IF_NONE_MATCH)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(|t| t.trim().trim_start_matches("W/"))
        .any(|t| t == etag || t == "*")
}

/// The response for `asset`: gzip when accepted, `304` when the client has it, cache headers by
/// whether the URL named the content hash.
pub fn respond(asset: &Asset, headers: &HeaderMap, content_type: &'static str, versioned: Option<&str>) -> Response {
    let gzip = asset.gzip.as_ref().filter(|_| accepts(headers, "gzip"));
    // Each representation has its own tag, so caches never swap one for the other.
    let etag = if gzip.is_some() { format!("\"{}-gz\"", asset.hash) } else { format!("\"{}\"", asset.hash) };
    let cache = if versioned == Some(asset.hash.as_str()) {
        "public, max-age=31536000, immutable"
    } else {
        "public, max-age=300, stale-while-revalidate=86400"
    };
    let mut r = if etag_matches(headers, &etag) {
        StatusCode::NOT_MODIFIED.into_response()
    } else {
        let mut r = gzip.unwrap_or(&asset.identity).clone().into_response();
        r.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
        if gzip.is_some() {
            r.headers_mut().insert(header::CONTENT_ENCODING, HeaderValue::from_static("gzip"));
        }
        r
    };
    let h = r.headers_mut();
    if asset.gzip.is_some() {
        h.insert(header::VARY, HeaderValue::from_static("Accept-Encoding"));
    }
    if let Ok(v) = HeaderValue::from_str(&etag) {
        h.insert(header::ETAG, v);
    }
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static(cache));
    h.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    r
}

#[cfg(test)]
mod tests {
    use super::*;

    fn with(value: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(header::ACCEPT_ENCODING, HeaderValue::from_str(value).unwrap());
        h
    }

    #[test]
    fn accept_encoding_honours_q_values_and_star() {
        assert!(accepts(&with("gzip, deflate, br"), "gzip"));
        assert!(accepts(&with("br;q=1.0, GZIP;q=0.5"), "gzip"));
        assert!(!accepts(&with("gzip;q=0"), "gzip"));
        assert!(!accepts(&with("gzip;q=0, *"), "gzip"));
        assert!(accepts(&with("*"), "gzip"));
        assert!(!accepts(&with("*;q=0"), "gzip"));
        assert!(!accepts(&with("identity"), "gzip"));
        assert!(!accepts(&HeaderMap::new(), "gzip"));
    }
}
