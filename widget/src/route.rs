//! What the frame's own URL says: an embedded panel waiting for the launcher, or a full-page launch
//! (a button link, a scanned printed code, a scanned handoff code).

use consult_sdk::launch::decode_component;
use consult_sdk::protocol::LaunchRequest;
use consult_sdk::{DecodeError, LaunchUrl, LaunchUrlError, RawToken};

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
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RouteError {
    /// `/chat` without `channel` or `origin`.
    MissingParameter(&'static str),
    /// Not a launch URL.
    Launch(LaunchUrlError),
    /// The printed or handoff code does not decode.
    Code(DecodeError),
}

impl std::fmt::Display for RouteError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            RouteError::MissingParameter(name) => write!(f, "chat URL has no {name:?} parameter"),
            RouteError::Launch(e) => write!(f, "{e}"),
            RouteError::Code(e) => write!(f, "{e}"),
        }
    }
}

/// Reads the frame's `location.href`.
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
    let mut request = match LaunchUrl::parse(href).map_err(RouteError::Launch)? {
        LaunchUrl::Button { channel, token, declared, .. } => {
            LaunchRequest { channel, token, declared, ..Default::default() }
        }
        LaunchUrl::Printed { digits, .. } => {
            let channel = RawToken::from_digits(&digits).map_err(RouteError::Code)?.claims.channel;
            LaunchRequest { channel, printed: Some(digits), ..Default::default() }
        }
        LaunchUrl::Handoff { digits, .. } => {
            let channel = RawToken::from_digits(&digits).map_err(RouteError::Code)?.claims.channel;
            LaunchRequest { channel, handoff: Some(digits), ..Default::default() }
        }
    };
    request.locale = locale;
    Ok(FrameRoute::FullPage { request })
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
    use consult_sdk::{Claims, EntryPoint, Kind};

    fn coded_token(kind: Kind, channel: &str) -> RawToken {
        let claims = Claims {
            kind,
            channel: channel.into(),
            key_id: "k1".into(),
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
        assert!(matches!(parse("https://gw.example/elsewhere"), Err(RouteError::Launch(_))));
        assert!(matches!(parse("https://gw.example/P/12345"), Err(RouteError::Launch(LaunchUrlError::Code(_)))));
    }
}
