//! A channel's look in the chat: its colour on the buttons, the panel header and the visitor's
//! bubbles (white text on it must reach WCAG's 4.5:1), a welcome line per entry point, and a logo
//! the gateway serves from its own origin (so the chat frame's `img-src 'self'` still holds).

use std::collections::BTreeMap;

use serde::Deserialize;

/// `[channels.brand]` as written.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawBrand {
    color: Option<String>,
    welcome: Option<String>,
    logo: Option<std::path::PathBuf>,
    #[serde(default)]
    welcome_by_entry: BTreeMap<String, String>,
}

/// A channel's brand, checked.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Brand {
    /// `#rrggbb`, lower case.
    pub color: Option<String>,
    /// Shown first in the chat when no entry point has its own.
    pub welcome: Option<String>,
    /// Welcome lines by entry point (`button`).
    pub welcome_by_entry: BTreeMap<String, String>,
    /// The logo, read and checked at start.
    pub logo: Option<Logo>,
}

/// A channel's logo: its bytes, their type (sniffed, never taken from the file name) and a tag
/// for caches.
#[derive(Debug, Clone, PartialEq)]
pub struct Logo {
    /// The file's bytes.
    pub bytes: bytes::Bytes,
    /// `image/png`, `image/webp` or `image/svg+xml`.
    pub mime: &'static str,
    /// Strong ETag, quoted: the start of the bytes' SHA-256.
    pub etag: String,
}

/// Largest logo file.
pub const MAX_LOGO_BYTES: usize = 64 * 1024;

/// The logo's type from its bytes: PNG, WebP or SVG; `None` for anything else.
fn logo_type(data: &[u8]) -> Option<&'static str> {
    match crate::http::uploads::sniff(data) {
        Some(m @ ("image/png" | "image/webp")) => Some(m),
        // SVG is text: an optional XML declaration, comments or doctype, then an <svg> root.
        Some(m) if m.starts_with("text/plain") => {
            let text = std::str::from_utf8(data).ok()?.trim_start_matches('\u{feff}').trim_start();
            let head = &text[..text.len().min(1024)];
            let root = head.find("<svg")?;
            (head[..root].split('>').all(|part| part.trim().is_empty() || part.trim_start().starts_with("<?") || part.trim_start().starts_with("<!")))
                .then_some("image/svg+xml")
        }
        _ => None,
    }
}

/// Reads and checks a logo file.
fn read_logo(path: &std::path::Path) -> Result<Logo, String> {
    let bytes = std::fs::read(path).map_err(|e| format!("{}: cannot read: {e}", path.display()))?;
    if bytes.len() > MAX_LOGO_BYTES {
        return Err(format!("{} is {} bytes; a logo may be at most {} KiB", path.display(), bytes.len(), MAX_LOGO_BYTES / 1024));
    }
    let mime = logo_type(&bytes).ok_or_else(|| format!("{} is not a PNG, WebP or SVG file (judged by its bytes)", path.display()))?;
    let etag = format!("\"{}\"", &crate::blob::sha256_hex(&bytes)[..16]);
    Ok(Logo { bytes: bytes.into(), mime, etag })
}

/// Contrast needed for normal text (WCAG 2, AA).
pub const MIN_CONTRAST: f64 = 4.5;

/// Longest welcome line, in characters.
pub const MAX_WELCOME_CHARS: usize = 500;

impl Brand {
    /// The welcome line for a chat opened from `button` (the verified one, else the declared).
    pub fn welcome_for(&self, button: Option<&str>) -> Option<String> {
        button.and_then(|b| self.welcome_by_entry.get(b)).or(self.welcome.as_ref()).cloned()
    }
}

/// `#rrggbb` → (r, g, b).
fn rgb(hex: &str) -> Option<[u8; 3]> {
    let digits = hex.strip_prefix('#').filter(|d| d.len() == 6 && d.bytes().all(|b| b.is_ascii_hexdigit()))?;
    let channel = |i: usize| u8::from_str_radix(&digits[i..i + 2], 16).ok();
    Some([channel(0)?, channel(2)?, channel(4)?])
}

/// WCAG contrast ratio of white text on `hex`.
pub fn contrast_with_white(hex: &str) -> Option<f64> {
    let linear = |c: u8| {
        let c = f64::from(c) / 255.0;
        if c <= 0.039_28 { c / 12.92 } else { ((c + 0.055) / 1.055).powf(2.4) }
    };
    let [r, g, b] = rgb(hex)?;
    let luminance = 0.2126 * linear(r) + 0.7152 * linear(g) + 0.0722 * linear(b);
    Some(1.05 / (luminance + 0.05))
}

/// Checks `[channels.brand]`; each problem is `(key suffix, what)`.
pub fn validate(raw: RawBrand) -> Result<Brand, Vec<(String, String)>> {
    let mut problems = Vec::new();
    let color = raw.color.map(|c| c.to_ascii_lowercase());
    if let Some(c) = &color {
        match contrast_with_white(c) {
            None => problems.push(("color".into(), format!("{c:?} is not a colour like \"#1f6f4f\""))),
            Some(ratio) if ratio < MIN_CONTRAST => problems.push((
                "color".into(),
                format!("white text on {c} has a contrast of {ratio:.1}:1, under {MIN_CONTRAST}:1; pick a darker colour"),
            )),
            Some(_) => {}
        }
    }
    let mut check = |key: String, text: &str| {
        if text.trim().is_empty() || text.chars().count() > MAX_WELCOME_CHARS {
            problems.push((key, format!("must be 1 to {MAX_WELCOME_CHARS} characters")));
        }
    };
    if let Some(w) = &raw.welcome {
        check("welcome".into(), w);
    }
    for (entry, w) in &raw.welcome_by_entry {
        check(format!("welcome_by_entry.{entry}"), w);
    }
    let logo = raw.logo.and_then(|path| read_logo(&path).map_err(|e| problems.push(("logo".into(), e))).ok());
    if problems.is_empty() { Ok(Brand { color, welcome: raw.welcome, welcome_by_entry: raw.welcome_by_entry, logo }) } else { Err(problems) }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn contrast_follows_wcag() {
        assert!((contrast_with_white("#000000").unwrap() - 21.0).abs() < 0.01);
        assert!((contrast_with_white("#ffffff").unwrap() - 1.0).abs() < 0.01);
        // The widget's default blue.
        assert!((contrast_with_white("#0b57d0").unwrap() - 6.39).abs() < 0.01, "the widget's default blue");
        assert_eq!(contrast_with_white("#12345"), None);
        assert_eq!(contrast_with_white("0b57d0"), None);
        assert_eq!(contrast_with_white("#0b57dz"), None);
    }

    #[test]
    fn a_light_colour_or_an_empty_welcome_is_refused_with_the_reason() {
        let light = validate(RawBrand { color: Some("#8BB79F".into()), ..Default::default() }).unwrap_err();
        assert_eq!(light[0].0, "color");
        assert!(light[0].1.contains("#8bb79f") && light[0].1.contains("4.5:1"), "{light:?}");
        let empty = validate(RawBrand { welcome_by_entry: [("order".to_string(), " ".to_string())].into(), ..Default::default() }).unwrap_err();
        assert_eq!(empty[0].0, "welcome_by_entry.order");
    }

    #[test]
    fn the_entry_points_welcome_wins_over_the_channels() {
        let b = validate(RawBrand {
            color: Some("#1F6F4F".into()),
            welcome: Some("Hello".into()),
            welcome_by_entry: [("order-detail".to_string(), "About your order?".to_string())].into(),
            logo: None,
        })
        .unwrap();
        assert_eq!(b.color.as_deref(), Some("#1f6f4f"));
        assert_eq!(b.welcome_for(Some("order-detail")).as_deref(), Some("About your order?"));
        assert_eq!(b.welcome_for(Some("home")).as_deref(), Some("Hello"));
        assert_eq!(b.welcome_for(None).as_deref(), Some("Hello"));
    }

    fn write(name: &str, bytes: &[u8]) -> std::path::PathBuf {
        let dir = std::env::temp_dir().join(format!("consult-logo-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join(name);
        std::fs::write(&path, bytes).unwrap();
        path
    }

    fn logo(path: std::path::PathBuf) -> Result<Brand, Vec<(String, String)>> {
        validate(RawBrand { logo: Some(path), ..Default::default() })
    }

    #[test]
    fn a_logo_is_typed_by_its_bytes_whatever_its_name() {
        let svg = br#"<?xml version="1.0"?><!-- mark --><svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 8 8"/>"#;
        let b = logo(write("logo.png", svg)).unwrap();
        let l = b.logo.unwrap();
        assert_eq!((l.mime, l.bytes.as_ref()), ("image/svg+xml", &svg[..]));
        assert!(l.etag.starts_with('"') && l.etag.len() == 18, "{}", l.etag);
        let png = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR";
        assert_eq!(logo(write("logo.svg", png)).unwrap().logo.unwrap().mime, "image/png");
        let webp = b"RIFF\0\0\0\0WEBPVP8 ";
        assert_eq!(logo(write("logo", webp)).unwrap().logo.unwrap().mime, "image/webp");
    }

    #[test]
    fn a_bad_logo_is_refused_with_the_reason() {
        let why = |r: Result<Brand, Vec<(String, String)>>| {
            let e = r.unwrap_err();
            assert_eq!(e[0].0, "logo");
            e[0].1.clone()
        };
        assert!(why(logo(write("big.png", &[b"\x89PNG\r\n\x1a\n".as_slice(), &[0; MAX_LOGO_BYTES]].concat()))).contains("at most 64 KiB"));
        assert!(why(logo(write("photo.jpg", b"\xff\xd8\xff\xe0"))).contains("not a PNG, WebP or SVG"));
        assert!(why(logo(write("notes.svg", b"hello <svg> later"))).contains("not a PNG, WebP or SVG"), "text before the root");
        assert!(why(logo(write("page.svg", b"<html><svg></svg></html>"))).contains("not a PNG, WebP or SVG"));
        assert!(why(logo(std::path::PathBuf::from("/nonexistent/logo.svg"))).contains("cannot read"));
    }

    #[test]
    fn the_desks_white_links_read_on_its_agent_bubbles() {
        let css = include_str!("../desk/desk.css");
        assert!(css.contains(".msg.agent .bubble a { color: #fff;"), "links in agent bubbles are white");
        let accent = css.split("--accent: ").nth(1).and_then(|r| r.get(..7)).expect("the desk's --accent");
        let ratio = contrast_with_white(accent).expect("a #rrggbb accent");
        assert!(ratio >= MIN_CONTRAST, "white on {accent} is {ratio:.2}:1");
    }
}
