//! `/widget/*`: gzip when asked for, identity otherwise, right types, cache validators.

use std::io::Read as _;

use crate::common::*;

fn widget_dir() -> std::path::PathBuf {
    let dir = temp_dir("assets");
    let js = "function consult(){return 'launcher';}\n".repeat(300);
    std::fs::write(dir.join("consult.js"), &js).unwrap();
    // A wasm-like body: magic, then compressible bytes.
    let mut wasm = b"\0asm\x01\0\0\0".to_vec();
    wasm.extend(std::iter::repeat_n(b"abcdefgh".as_slice(), 4000).flatten());
    std::fs::write(dir.join("chat_bg.wasm"), &wasm).unwrap();
    std::fs::write(dir.join("logo.png"), b"\x89PNG\r\n\x1a\nnot really").unwrap();
    dir
}

async fn server(assets: &std::path::Path) -> Server {
    let db = temp_dir("assets-db").join("c.db");
    Server::start_toml(&config_toml(&db, 1000).replace("[server]", &format!("[server]\nassets_dir = {assets:?}"))).await
}

fn gunzip(b: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    flate2::read::GzDecoder::new(b).read_to_end(&mut out).expect("a gzip body");
    out
}

#[tokio::test]
async fn widget_files_are_gzipped_when_accepted_and_identity_otherwise() {
    let dir = widget_dir();
    let s = server(&dir).await;
    for (file, ty) in [("consult.js", "text/javascript; charset=utf-8"), ("chat_bg.wasm", "application/wasm")] {
        let on_disk = std::fs::read(dir.join(file)).unwrap();
        let gz = s.http.get(s.url(&format!("/widget/{file}"))).header("accept-encoding", "gzip, deflate, br").send().await.unwrap();
        assert_eq!(gz.status(), 200);
        let h = gz.headers().clone();
        assert_eq!(h["content-encoding"], "gzip", "{file}");
        assert_eq!(h["content-type"], ty);
        assert_eq!(h["vary"], "Accept-Encoding");
        let etag = h["etag"].to_str().unwrap().to_string();
        let body = gz.bytes().await.unwrap();
        assert!(body.len() < on_disk.len() / 4, "{file}: {} of {}", body.len(), on_disk.len());
        assert_eq!(gunzip(&body), on_disk);

        let plain = s.http.get(s.url(&format!("/widget/{file}"))).send().await.unwrap();
        assert!(plain.headers().get("content-encoding").is_none());
        assert_eq!(plain.headers()["content-type"], ty);
        assert_eq!(plain.headers()["vary"], "Accept-Encoding");
        assert_ne!(plain.headers()["etag"].to_str().unwrap(), etag, "each representation has its own tag");
        assert_eq!(plain.bytes().await.unwrap(), on_disk);

        let refused = s.http.get(s.url(&format!("/widget/{file}"))).header("accept-encoding", "gzip;q=0, identity").send().await.unwrap();
        assert!(refused.headers().get("content-encoding").is_none());

        // Revalidation costs no body.
        let again = s.http.get(s.url(&format!("/widget/{file}"))).header("accept-encoding", "gzip").header("if-none-match", &etag).send().await.unwrap();
        assert_eq!(again.status(), 304);
        assert_eq!(again.headers()["etag"].to_str().unwrap(), etag);
    }
    // consult.js is loaded cross-origin by host pages.
    let r = s.http.get(s.url("/widget/consult.js")).send().await.unwrap();
    assert_eq!(r.headers()["access-control-allow-origin"], "*");
    // Images are not compressed again.
    let png = s.http.get(s.url("/widget/logo.png")).header("accept-encoding", "gzip").send().await.unwrap();
    assert!(png.headers().get("content-encoding").is_none());
    assert_eq!(png.headers()["content-type"], "image/png");
}

#[tokio::test]
async fn a_rebuilt_file_is_served_new_and_hashed_urls_are_immutable() {
    let dir = widget_dir();
    let s = server(&dir).await;
    let get = |q: &'static str| {
        let url = s.url(&format!("/widget/consult.js{q}"));
        let http = s.http.clone();
        async move { http.get(url).header("accept-encoding", "gzip").send().await.unwrap() }
    };
    let first = get("").await;
    let etag = first.headers()["etag"].to_str().unwrap().to_string();
    let cache = first.headers()["cache-control"].to_str().unwrap().to_string();
    assert!(!cache.contains("immutable"), "{cache}");
    let hash = etag.trim_matches('"').trim_end_matches("-gz").to_string();
    let pinned = s.http.get(s.url(&format!("/widget/consult.js?v={hash}"))).send().await.unwrap();
    assert!(pinned.headers()["cache-control"].to_str().unwrap().contains("immutable"));

    // A rebuild: new content (and a new size, so even a coarse mtime notices).
    std::fs::write(dir.join("consult.js"), "function consult(){return 'v2';}\n".repeat(500)).unwrap();
    let second = get("").await;
    assert_ne!(second.headers()["etag"].to_str().unwrap(), etag);
    let body = second.bytes().await.unwrap();
    assert!(String::from_utf8(gunzip(&body)).unwrap().contains("'v2'"));
}
