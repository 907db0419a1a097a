//! Launch URLs: the gateway URL a button, a printed code or a handoff code opens.
//!
//! - button: `{base}/l/{channel}?token=…&button=…&page=…&campaign=…&product=…&order=…&tag=…`
//! - printed: `{BASE}/P/{digits}`, all upper case so the whole URL is QR alphanumeric + numeric
//! - handoff: `{BASE}/H/{digits}`

use crate::encoding::{DecodeError, RawToken};
use crate::model::{ClaimsError, EntryPoint, Kind};

/// A parsed launch URL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LaunchUrl {
    /// A consult button: an optional signed token and a declared (unsigned) entry point.
    Button {
        /// Gateway base URL, e.g. `https://consult.example.com`.
        base: String,
        /// Channel id.
        channel: String,
        /// Signed button token (text form), if any.
        token: Option<String>,
        /// Entry point declared by the page, shown to agents as unverified.
        declared: EntryPoint,
    },
    /// A printed entry code (poster, receipt), digits form.
    Printed {
        /// Gateway base URL.
        base: String,
        /// Token in digits form.
        digits: String,
    },
    /// A desktop-to-phone handoff code, digits form.
    Handoff {
        /// Gateway base URL.
        base: String,
        /// Token in digits form.
        digits: String,
    },
}

/// Why a URL is not a launch URL.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum LaunchUrlError {
    /// Not an http(s) URL.
    #[error("launch URL must start with http:// or https://")]
    Scheme,
    /// No recognised launch path.
    #[error("launch URL path must be /l/<channel>, /P/<code> or /H/<code>")]
    Path,
    /// A bad query string or percent escape.
    #[error("launch URL query is malformed: {0}")]
    Query(String),
    /// The declared entry point breaks a bound.
    #[error("launch URL entry point is invalid: {0}")]
    Entry(#[from] ClaimsError),
    /// The code in a printed or handoff URL is not a token.
    #[error("launch URL code is malformed: {0}")]
    Code(#[from] DecodeError),
}

impl LaunchUrl {
    /// A printed-code URL for a token, with the base upper-cased for QR alphanumeric mode.
    ///
    /// # Errors
    /// [`LaunchUrlError::Scheme`] for a base that is not http(s).
    pub fn printed(base: &str, token: &RawToken) -> Result<LaunchUrl, LaunchUrlError> {
        Self::coded(base, token, Kind::Printed)
    }

    /// A handoff URL for a token.
    ///
    /// # Errors
    /// [`LaunchUrlError::Scheme`] for a base that is not http(s).
    pub fn handoff(base: &str, token: &RawToken) -> Result<LaunchUrl, LaunchUrlError> {
        Self::coded(base, token, Kind::Handoff)
    }

    fn coded(base: &str, token: &RawToken, kind: Kind) -> Result<LaunchUrl, LaunchUrlError> {
        let base = normalise_base(base)?;
        let digits = token.to_digits();
        Ok(match kind {
            Kind::Handoff => LaunchUrl::Handoff { base, digits },
            _ => LaunchUrl::Printed { base, digits },
        })
    }

    /// Writes the URL.
    pub fn to_url(&self) -> String {
        match self {
            LaunchUrl::Button { base, channel, token, declared } => {
                let mut url = format!("{base}/l/{}", encode_component(channel));
                let mut query: Vec<(&str, &str)> = Vec::new();
                if let Some(t) = token {
                    query.push(("token", t));
                }
                for (name, value) in entry_pairs(declared) {
                    query.push((name, value));
                }
                for (i, (k, v)) in query.iter().enumerate() {
                    url.push(if i == 0 { '?' } else { '&' });
                    url.push_str(k);
                    url.push('=');
                    url.push_str(&encode_component(v));
                }
                url
            }
            // Upper case scheme and host: both are case-insensitive, and upper case keeps the
            // whole URL inside QR alphanumeric mode (the code itself is in numeric mode).
            LaunchUrl::Printed { base, digits } => format!("{}/P/{digits}", base.to_ascii_uppercase()),
            LaunchUrl::Handoff { base, digits } => format!("{}/H/{digits}", base.to_ascii_uppercase()),
        }
    }

    /// Parses a launch URL.
    ///
    /// # Errors
    /// [`LaunchUrlError`] naming what is wrong.
    pub fn parse(url: &str) -> Result<LaunchUrl, LaunchUrlError> {
        let lower = url.get(..8).unwrap_or(url).to_ascii_lowercase();
        let scheme_len = if lower.starts_with("https://") {
            8
        } else if lower.starts_with("http://") {
            7
        } else {
            return Err(LaunchUrlError::Scheme);
        };
        let (without_fragment, _) = url.split_once('#').unwrap_or((url, ""));
        let (path_part, query) = without_fragment.split_once('?').unwrap_or((without_fragment, ""));
        let host_end = path_part[scheme_len..].find('/').map(|i| i + scheme_len).ok_or(LaunchUrlError::Path)?;
        let path = &path_part[host_end..];
        // Keep any path prefix the gateway is mounted under.
        let (prefix, marker, rest) = ["/l/", "/P/", "/p/", "/H/", "/h/"]
            .iter()
            .filter_map(|m| path.rfind(m).map(|i| (&path[..i], *m, &path[i + 3..])))
            .max_by_key(|(p, _, _)| p.len())
            .ok_or(LaunchUrlError::Path)?;
        if rest.is_empty() || rest.contains('/') {
            return Err(LaunchUrlError::Path);
        }
        let base = format!(
            "{}{}{}",
            path_part[..scheme_len].to_ascii_lowercase(),
            path_part[scheme_len..host_end].to_ascii_lowercase(),
            prefix
        );
        match marker {
            "/l/" => {
                let channel = decode_component(rest)?;
                let mut token = None;
                let mut declared = EntryPoint::default();
                for pair in query.split('&').filter(|p| !p.is_empty()) {
                    let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
                    let v = decode_component(v)?;
                    let slot = match k {
                        "token" => &mut token,
                        "button" => &mut declared.button,
                        "page" => &mut declared.page,
                        "campaign" => &mut declared.campaign,
                        "product" => &mut declared.product,
                        "order" => &mut declared.order,
                        "tag" => {
                            declared.tags.push(v);
                            continue;
                        }
                        // Unknown parameters (utm_*, fbclid) are the host page's business.
                        _ => continue,
                    };
                    if slot.is_some() {
                        return Err(LaunchUrlError::Query(format!("parameter {k:?} is repeated")));
                    }
                    *slot = Some(v);
                }
                declared.validate()?;
                Ok(LaunchUrl::Button { base, channel, token, declared })
            }
            m => {
                // Decoding checks the code is a canonical token of bounded size.
                let raw = RawToken::from_digits(rest)?;
                let digits = rest.to_string();
                match (m, raw.claims.kind) {
                    ("/P/" | "/p/", _) => Ok(LaunchUrl::Printed { base, digits }),
                    _ => Ok(LaunchUrl::Handoff { base, digits }),
                }
            }
        }
    }
}

fn entry_pairs(e: &EntryPoint) -> Vec<(&'static str, &str)> {
    let mut pairs = Vec::new();
    for (name, value) in [
        ("button", &e.button),
        ("page", &e.page),
        ("campaign", &e.campaign),
        ("product", &e.product),
        ("order", &e.order),
    ] {
        if let Some(v) = value {
            pairs.push((name, v.as_str()));
        }
    }
    for t in &e.tags {
        pairs.push(("tag", t.as_str()));
    }
    pairs
}

fn normalise_base(base: &str) -> Result<String, LaunchUrlError> {
    let lower = base.to_ascii_lowercase();
    if !(lower.starts_with("https://") || lower.starts_with("http://")) {
        return Err(LaunchUrlError::Scheme);
    }
    Ok(base.trim_end_matches('/').to_string())
}

/// Percent-encodes everything but RFC 3986 unreserved characters.
pub fn encode_component(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(b as char);
        } else {
            // By hand rather than `format!`: the browser chat app links this, not the formatter.
            const HEX: &[u8; 16] = b"0123456789ABCDEF";
            out.push('%');
            out.push(char::from(HEX[usize::from(b >> 4)]));
            out.push(char::from(HEX[usize::from(b & 0xf)]));
        }
    }
    out
}

/// Decodes percent escapes (and `+` as space, as forms send it).
///
/// # Errors
/// [`LaunchUrlError::Query`] for a bad escape or bytes that are not UTF-8.
pub fn decode_component(s: &str) -> Result<String, LaunchUrlError> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'%' => {
                let hex = bytes
                    .get(i + 1..i + 3)
                    .and_then(|h| std::str::from_utf8(h).ok())
                    .and_then(|h| u8::from_str_radix(h, 16).ok())
                    .ok_or_else(|| LaunchUrlError::Query("bad percent escape".into()))?;
                out.push(hex);
                i += 3;
            }
            b'+' => {
                out.push(b' ');
                i += 1;
            }
            b => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8(out).map_err(|_| LaunchUrlError::Query("escaped text is not UTF-8".into()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn components_escape_every_other_byte_as_two_upper_hex_digits() {
        let all: Vec<u8> = (0..=255u8).collect();
        let text = String::from_utf8_lossy(&all).into_owned() + "한글 ✓";
        let expected: String = text
            .bytes()
            .map(|b| if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) { char::from(b).to_string() } else { format!("%{b:02X}") })
            .collect();
        assert_eq!(encode_component(&text), expected);
        assert_eq!(decode_component(&encode_component(&text)).as_deref(), Ok(text.as_str()));
    }

    #[test]
    fn button_urls_round_trip() {
        let url = LaunchUrl::Button {
            base: "https://consult.example.com".into(),
            channel: "demo-shop".into(),
            token: Some("abc-_".into()),
            declared: EntryPoint {
                button: Some("banner 3".into()),
                page: Some("/p?x=1&y=2".into()),
                tags: vec!["봄".into(), "sale".into()],
                ..Default::default()
            },
        };
        let text = url.to_url();
        assert_eq!(LaunchUrl::parse(&text).unwrap(), url);
    }

    #[test]
    fn refuses_non_launch_urls() {
        assert_eq!(LaunchUrl::parse("ftp://x/l/a"), Err(LaunchUrlError::Scheme));
        assert_eq!(LaunchUrl::parse("https://x/other"), Err(LaunchUrlError::Path));
        assert_eq!(LaunchUrl::parse("https://x/l/"), Err(LaunchUrlError::Path));
        assert!(matches!(LaunchUrl::parse("https://x/l/a?page=%zz"), Err(LaunchUrlError::Query(_))));
        assert!(matches!(LaunchUrl::parse("https://x/l/a?page=1&page=2"), Err(LaunchUrlError::Query(_))));
        assert!(matches!(LaunchUrl::parse("https://x/P/123"), Err(LaunchUrlError::Code(_))));
    }
}
