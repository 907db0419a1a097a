//! What the frame's own URL says: an embedded panel waiting for the launcher, or a full-page launch
//! (a button link, a scanned printed code, a scanned handoff code).

use consult_sdk::launch::decode_component;
use consult_sdk::protocol::LaunchRequest;

/// How the chat frame was opened.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FrameRoute {
    /// `/chat?channel=ID&origin=…`: inside the launcher's panel; the launch comes by postMessage
    /// from `parent_origin`.
    Embedded {
        /// Channel id.
        channel: String,
        /// The host page's origin, as the launcher declared it; messages are only accepted from
        /// (and posted to) this origin.
        parent_origin: String,
        /// UI language override.
        locale: Option<String>,
    },
    /// `/l/…`, `/P/…`, `/H/…`: a full-page launch.
    FullPage {
        /// The launch to make.
        request: LaunchRequest,
    },
}

/// Why the frame's URL is not one the chat app serves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RouteError {
    /// `/chat` without `channel` or `origin`.
    MissingParameter(&'static str),
    /// Not `/chat`, `/l/<channel>`, `/P/<code>` or `/H/<code>`.
    Path,
    /// A bad percent escape, or a repeated entry point parameter.
    Query,
    /// The printed or handoff code is not a token's digits.
    Code,
}

impl RouteError {
    /// What is wrong, for developers (the [`std::fmt::Display`] text, built without `core::fmt`).
    pub fn message(self) -> String {
        match self {
            RouteError::MissingParameter(name) => crate::text::cat(&["chat URL has no \"", name, "\" parameter"]),
            RouteError::Path => "launch URL path must be /l/<channel>, /P/<code> or /H/<code>".into(),
            RouteError::Query => "launch URL query is malformed".into(),
            RouteError::Code => "launch URL code is malformed".into(),
        }
    }
}

impl std::fmt::Display for RouteError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message())
    }
}

/// Reads the frame's `location.href`.
///
/// This is the chat app's own reading of `consult_sdk::LaunchUrl::parse` (the tests check they
/// agree): the sdk's parser fully decodes printed and handoff codes, which would link the token
/// decoder into the wasm. The gateway verifies the code and takes the channel from it, so the
/// frame only reads the channel out of the code, for its per-channel storage keys. Declared entry
/// point bounds are checked by the gateway too.
///
/// # Errors
/// [`RouteError`] for a URL that is neither an embedded chat nor a launch URL.
pub fn parse(href: &str) -> Result<FrameRoute, RouteError> {
    let without_fragment = href.split('#').next().unwrap_or(href);
    let (path, query) = without_fragment.split_once('?').unwrap_or((without_fragment, ""));
    let locale = query_param(query, "locale");
    if path.ends_with("/chat") {
        let channel = query_param(query, "channel").ok_or(RouteError::MissingParameter("channel"))?;
        let parent_origin = query_param(query, "origin").ok_or(RouteError::MissingParameter("origin"))?;
        return Ok(FrameRoute::Embedded { channel, parent_origin, locale });
    }
    // Skip the scheme and host; keep any prefix the gateway is mounted under.
    // Byte windows rather than `str` pattern searches (the two-way searcher is ~2 KB of wasm), and
    // `get` rather than indexing (a str index panic links char Debug and Unicode tables).
    let after_scheme = path.as_bytes().windows(3).position(|w| w == b"://").and_then(|i| path.get(i + 3..)).unwrap_or(path);
    let path = after_scheme.find('/').and_then(|i| after_scheme.get(i..)).ok_or(RouteError::Path)?;
    let (marker, rest) = ["/l/", "/P/", "/p/", "/H/", "/h/"]
        .iter()
        .filter_map(|m| path.as_bytes().windows(3).rposition(|w| w == m.as_bytes()).map(|i| (i, *m, path.get(i + 3..).unwrap_or_default())))
        .max_by_key(|(i, _, _)| *i)
        .map(|(_, m, rest)| (m, rest))
        .ok_or(RouteError::Path)?;
    if rest.is_empty() || rest.contains('/') {
        return Err(RouteError::Path);
    }
    let mut request = LaunchRequest::default();
    match marker {
        "/l/" => {
            request.channel = decode_component(rest).map_err(|_| RouteError::Query)?;
            for pair in query.split('&').filter(|p| !p.is_empty()) {
                let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
                let v = decode_component(v).map_err(|_| RouteError::Query)?;
                let d = &mut request.declared;
                let slot = match k {
                    "token" => &mut request.token,
                    "button" => &mut d.button,
                    "page" => &mut d.page,
                    "campaign" => &mut d.campaign,
                    "product" => &mut d.product,
                    "order" => &mut d.order,
                    "tag" => {
                        d.tags.push(v);
                        continue;
                    }
                    // Unknown parameters (utm_*, fbclid, locale) are not the entry point.
                    _ => continue,
                };
                if slot.replace(v).is_some() {
                    return Err(RouteError::Query);
                }
            }
        }
        m => {
            request.channel = code_channel(rest).ok_or(RouteError::Code)?;
            let digits = Some(rest.to_string());
            if m.eq_ignore_ascii_case("/p/") {
                request.printed = digits;
            } else {
                request.handoff = digits;
            }
        }
    }
    request.locale = locale;
    Ok(FrameRoute::FullPage { request })
}

/// The channel a printed or handoff code names, read from its digits without decoding the rest.
///
/// Digits form: every 7 bytes as 17 decimal digits, a shorter last chunk in the fewest digits that
/// hold it; the token starts `header, key_id (length byte + UTF-8), channel (length byte + UTF-8)`
/// (see `consult_sdk::encoding`). `None` when the digits cannot be a token.
pub fn code_channel(digits: &str) -> Option<String> {
    const CHUNK_DIGITS: usize = 17;
    // Digits of a final chunk of n bytes, n = 0..7.
    const LAST: [usize; 7] = [0, 3, 5, 8, 10, 13, 15];
    let (full, rest) = (digits.len() / CHUNK_DIGITS, digits.len() % CHUNK_DIGITS);
    let last_bytes = LAST.iter().position(|&d| d == rest)?;
    let mut bytes = Vec::with_capacity(full * 7 + last_bytes);
    for (i, chunk) in digits.as_bytes().chunks(CHUNK_DIGITS).enumerate() {
        let n = if i < full { 7 } else { last_bytes };
        let value = chunk.iter().try_fold(0u64, |acc, &d| d.is_ascii_digit().then(|| acc * 10 + u64::from(d - b'0')))?;
        if value >> (8 * n) != 0 {
            return None;
        }
        bytes.extend_from_slice(&value.to_be_bytes()[8 - n..]);
    }
    // Header: format version 1 (high nibble), kind button, printed or handoff (1..=3).
    if !matches!(bytes.first()?, 0x11..=0x13) {
        return None;
    }
    let key_id_len = usize::from(*bytes.get(1)?);
    let channel_at = 2 + key_id_len;
    let channel_len = usize::from(*bytes.get(channel_at)?);
    let channel = bytes.get(channel_at + 1..channel_at + 1 + channel_len)?;
    String::from_utf8(channel.to_vec()).ok().filter(|c| !c.is_empty())
}

/// The first value of `name` in a query string, decoded; `None` when absent, empty or malformed.
pub fn query_param(query: &str, name: &str) -> Option<String> {
    query
        .split('&')
        .filter_map(|pair| pair.split_once('=').or(Some((pair, ""))))
        .find(|(k, _)| *k == name)
        .and_then(|(_, v)| decode_component(v).ok())
        .filter(|v| !v.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;
    use consult_sdk::{Claims, EntryPoint, Kind, LaunchUrl, RawToken};

    fn coded_token(kind: Kind, channel: &str) -> RawToken {
        coded_token_with(kind, channel, "k1")
    }

    fn coded_token_with(kind: Kind, channel: &str, key_id: &str) -> RawToken {
        let claims = Claims {
            kind,
            channel: channel.into(),
            key_id: key_id.into(),
            issued_at: 1_763_700_000,
            expires_at: 1_763_700_000 + 300,
            serial: 42,
            entry: match kind {
                Kind::Handoff => EntryPoint::default(),
                _ => EntryPoint { button: Some("poster".into()), ..Default::default() },
            },
            member: None,
        };
        let body = consult_sdk::encoding::encode_body(&claims).expect("valid claims");
        // Signature bytes are not checked here: the gateway verifies.
        let mut bytes = body;
        bytes.extend_from_slice(&[0u8; 64]);
        RawToken::from_bytes(&bytes).expect("decodes")
    }

    #[test]
    fn embedded_chat_needs_channel_and_origin() {
        let r = parse("https://gw.example/chat?channel=demo-shop&origin=https%3A%2F%2Fshop.example&locale=en");
        assert_eq!(
            r,
            Ok(FrameRoute::Embedded {
                channel: "demo-shop".into(),
                parent_origin: "https://shop.example".into(),
                locale: Some("en".into()),
            })
        );
        assert_eq!(parse("https://gw.example/chat?origin=x"), Err(RouteError::MissingParameter("channel")));
        assert_eq!(parse("https://gw.example/chat?channel=a"), Err(RouteError::MissingParameter("origin")));
    }

    #[test]
    fn button_link_becomes_a_launch_with_declared_entry() {
        let r = parse("https://gw.example/l/demo-shop?token=abc&button=banner-3&page=%2Fsale&utm_source=x").unwrap();
        let FrameRoute::FullPage { request } = r else { panic!("full page expected") };
        assert_eq!(request.channel, "demo-shop");
        assert_eq!(request.token.as_deref(), Some("abc"));
        assert_eq!(request.declared.button.as_deref(), Some("banner-3"));
        assert_eq!(request.declared.page.as_deref(), Some("/sale"));
    }

    #[test]
    fn printed_and_handoff_codes_name_their_channel() {
        let printed = coded_token(Kind::Printed, "demo-shop").to_digits();
        let FrameRoute::FullPage { request } = parse(&format!("HTTPS://GW.EXAMPLE/P/{printed}")).unwrap() else {
            panic!("full page expected")
        };
        assert_eq!((request.channel.as_str(), request.printed.as_deref()), ("demo-shop", Some(printed.as_str())));

        let handoff = coded_token(Kind::Handoff, "other-shop").to_digits();
        let FrameRoute::FullPage { request } = parse(&format!("https://gw.example/H/{handoff}")).unwrap() else {
            panic!("full page expected")
        };
        assert_eq!(request.channel, "other-shop");
        assert_eq!(request.handoff.as_deref(), Some(handoff.as_str()));
        assert!(request.token.is_none() && request.printed.is_none());
    }

    #[test]
    fn garbage_paths_and_codes_are_refused() {
        assert_eq!(parse("https://gw.example/elsewhere"), Err(RouteError::Path));
        assert_eq!(parse("https://gw.example/l/"), Err(RouteError::Path));
        assert_eq!(parse("https://gw.example/P/12345"), Err(RouteError::Code));
        assert_eq!(parse("https://gw.example/P/12a45"), Err(RouteError::Code));
        assert_eq!(parse("https://gw.example/l/shop?button=a&button=b"), Err(RouteError::Query));
        assert_eq!(parse("https://gw.example/l/shop?page=%zz"), Err(RouteError::Query));
    }

    /// The sdk's `LaunchUrl::parse` and `RawToken::from_digits` are the reference; the frame's
    /// lighter reading must give the same launch for every URL the sdk writes.
    #[test]
    fn agrees_with_the_sdk_launch_url_parser() {
        let mut urls = Vec::new();
        for declared in [
            EntryPoint::default(),
            EntryPoint { button: Some("banner 3".into()), page: Some("/sale?x=1&y=가".into()), ..Default::default() },
            EntryPoint {
                campaign: Some("spring".into()),
                product: Some("sku-1".into()),
                order: Some("o/9".into()),
                tags: vec!["a".into(), "b c".into()],
                ..Default::default()
            },
        ] {
            for token in [None, Some("AbC-_x".to_string())] {
                for base in ["https://gw.example", "http://127.0.0.1:8090/consult"] {
                    let url = LaunchUrl::Button { base: base.into(), channel: "demo shop".into(), token: token.clone(), declared: declared.clone() };
                    urls.push(url.to_url());
                }
            }
        }
        for kind in [Kind::Printed, Kind::Handoff] {
            for (channel, key_id) in [("demo-shop", "k1"), ("x", "a-much-longer-key-id-0123456789a"), (&*"c".repeat(64), "k")] {
                let token = coded_token_with(kind, channel, key_id);
                urls.push(LaunchUrl::printed("https://gw.example/mount", &token).unwrap().to_url());
                urls.push(LaunchUrl::handoff("http://gw.example", &token).unwrap().to_url());
            }
        }
        assert!(urls.len() > 20);
        for url in urls {
            let FrameRoute::FullPage { request } = parse(&url).unwrap_or_else(|e| panic!("{url}: {e}")) else {
                panic!("{url}: full page expected")
            };
            match LaunchUrl::parse(&url).unwrap() {
                LaunchUrl::Button { channel, token, declared, .. } => {
                    assert_eq!(request, LaunchRequest { channel, token, declared, ..Default::default() }, "{url}");
                }
                LaunchUrl::Printed { digits, .. } => {
                    let channel = RawToken::from_digits(&digits).unwrap().claims.channel;
                    assert_eq!(request, LaunchRequest { channel, printed: Some(digits), ..Default::default() }, "{url}");
                }
                LaunchUrl::Handoff { digits, .. } => {
                    let channel = RawToken::from_digits(&digits).unwrap().claims.channel;
                    assert_eq!(request, LaunchRequest { channel, handoff: Some(digits), ..Default::default() }, "{url}");
                }
            }
        }
    }

    #[test]
    fn code_channel_refuses_what_the_sdk_refuses_to_name() {
        let digits = coded_token(Kind::Printed, "demo-shop").to_digits();
        assert_eq!(code_channel(&digits).as_deref(), Some("demo-shop"));
        // Cut inside the channel, a digit count no chunk has, and a chunk above 2^56.
        assert_eq!(code_channel(&digits[..17]), None);
        assert_eq!(code_channel(&digits[..digits.len() - 1]), None);
        assert_eq!(code_channel(&format!("99999999999999999{}", &digits[17..])), None);
        // Format version 2 in the header byte (the top byte of the first 7-byte chunk).
        let first: u64 = digits[..17].parse().unwrap();
        let v2 = format!("{:017}{}", first ^ ((0x12 ^ 0x22) << 48), &digits[17..]);
        assert_eq!(code_channel(&v2), None);
    }
}
