//! A channel's logo: read and checked at start, served from the gateway's own origin.

use std::process::Command;

use consult_sdk::protocol::LaunchRequest;

use crate::common::*;

fn toml_with_logo(dir: &std::path::Path, logo: &std::path::Path) -> String {
    let pk = key("shop").public_key().to_base64url();
    format!(
        "[server]\ndatabase = {:?}\npublic_url = \"http://127.0.0.1:1\"\n[[channels]]\nid = \"shop\"\nname = \"Tea Shop\"\nallowed_origins = [\"{SHOP_ORIGIN}\"]\nguidance = \"Kept 90 days.\"\nkeys = {{ k1 = \"ed25519:{pk}\" }}\n[channels.brand]\nlogo = {logo:?}\n",
        dir.join("c.db")
    )
}

const SVG: &[u8] = br##"<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 8 8"><rect width="8" height="8" fill="#2f5d50"/></svg>"##;

#[tokio::test]
async fn the_logo_is_served_as_an_image_with_its_type_and_a_tag_for_caches() {
    let dir = temp_dir("logo");
    // Named .png, but the bytes say SVG: the bytes win.
    let path = dir.join("logo.png");
    std::fs::write(&path, SVG).unwrap();
    let s = Server::start_toml(&toml_with_logo(&dir, &path)).await;
    let status: serde_json::Value = s.http.get(s.url("/v1/channels/shop/status")).send().await.unwrap().json().await.unwrap();
    let src = status["logo"].as_str().expect("the status names the logo").to_string();
    assert!(src.starts_with("/v1/channels/shop/logo?v="), "{src}");
    let (code, body) = s.launch(&LaunchRequest { channel: "shop".into(), ..Default::default() }).await;
    assert_eq!(code, 200, "{body}");
    assert_eq!(body["channel"]["status"]["logo"].as_str(), Some(src.as_str()), "the chat learns it at launch");

    let r = s.http.get(s.url(&src)).send().await.unwrap();
    assert_eq!(r.status(), 200);
    let header = |r: &reqwest::Response, name: &str| r.headers().get(name).map(|v| v.to_str().unwrap().to_string()).unwrap_or_default();
    assert_eq!(header(&r, "content-type"), "image/svg+xml");
    assert!(header(&r, "cache-control").contains("max-age="));
    assert!(header(&r, "content-security-policy").contains("default-src 'none'") && header(&r, "content-security-policy").contains("sandbox"));
    assert_eq!(header(&r, "x-content-type-options"), "nosniff");
    let etag = header(&r, "etag");
    assert!(src.ends_with(etag.trim_matches('"')), "{src} vs {etag}");
    assert_eq!(r.bytes().await.unwrap().as_ref(), SVG);

    let again = s.http.get(s.url("/v1/channels/shop/logo")).header("if-none-match", &etag).send().await.unwrap();
    assert_eq!(again.status(), 304);
    assert!(again.bytes().await.unwrap().is_empty());
    let other = s.http.get(s.url("/v1/channels/shop/logo")).header("if-none-match", "\"elsewhere\"").send().await.unwrap();
    assert_eq!(other.status(), 200);

    // A channel without a logo has none to serve, and its status says none.
    let plain = Server::start().await;
    assert_eq!(plain.http.get(plain.url("/v1/channels/shop/logo")).send().await.unwrap().status(), 404);
    let status: serde_json::Value = plain.http.get(plain.url("/v1/channels/shop/status")).send().await.unwrap().json().await.unwrap();
    assert!(status.get("logo").is_none(), "{status}");
}

#[test]
fn a_bad_logo_stops_the_start_with_a_line_naming_it() {
    let dir = temp_dir("badlogo");
    let jpeg = dir.join("logo.svg");
    std::fs::write(&jpeg, b"\xff\xd8\xff\xe0 a photo").unwrap();
    let big = dir.join("big.png");
    std::fs::write(&big, [b"\x89PNG\r\n\x1a\n".as_slice(), &vec![0; 70_000]].concat()).unwrap();
    for (logo, why) in [(jpeg, "not a PNG, WebP or SVG"), (big, "at most 64 KiB"), (dir.join("missing.svg"), "cannot read")] {
        let path = dir.join("c.toml");
        std::fs::write(&path, toml_with_logo(&dir, &logo)).unwrap();
        let out = Command::new(env!("CARGO_BIN_EXE_consult")).args(["serve", "--config"]).arg(&path).output().unwrap();
        assert!(!out.status.success());
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            stderr.lines().any(|l| l.starts_with("consult: ") && l.contains("channels[0] (shop).brand.logo") && l.contains(why)),
            "{why} missing in:\n{stderr}"
        );
    }
}
