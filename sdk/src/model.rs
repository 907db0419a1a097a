//! The payload a consult button carries: who may open it, where it was pressed, and who pressed it.

use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Serialize};

/// Longest string field, in bytes (entry point parts, member fields, attribute values).
pub const MAX_FIELD_LEN: usize = 200;
/// Most free tags on an entry point.
pub const MAX_TAGS: usize = 8;
/// Most custom membership attributes.
pub const MAX_ATTRS: usize = 16;
/// Longest attribute key, in bytes.
pub const MAX_ATTR_KEY_LEN: usize = 32;
/// Longest key id, in bytes.
pub const MAX_KEY_ID_LEN: usize = 32;
/// Longest channel id, in bytes.
pub const MAX_CHANNEL_LEN: usize = 64;

/// Longest lifetime of a button launch without membership: a page may be cached for a day.
pub const MAX_TTL_BUTTON: u64 = 24 * 3600;
/// Longest lifetime of a button launch that carries membership data.
pub const MAX_TTL_MEMBER: u64 = 3600;
/// Longest lifetime of a printed entry code: posters stay on walls for years.
pub const MAX_TTL_PRINTED: u64 = 5 * 366 * 24 * 3600;
/// Longest lifetime of a desktop-to-phone handoff code.
pub const MAX_TTL_HANDOFF: u64 = 10 * 60;

/// What a token is for. Each kind has its own rules, and a token of one kind never passes as another.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    /// A consult button on a web page, signed by the business's server at page render.
    Button,
    /// A printed entry code (poster, receipt, sticker): long-lived, never carries personal data.
    Printed,
    /// A desktop-to-phone handoff minted by the gateway: minutes-long, single-use.
    Handoff,
}

impl Kind {
    pub(crate) fn code(self) -> u8 {
        match self {
            Kind::Button => 1,
            Kind::Printed => 2,
            Kind::Handoff => 3,
        }
    }

    pub(crate) fn from_code(code: u8) -> Option<Kind> {
        match code {
            1 => Some(Kind::Button),
            2 => Some(Kind::Printed),
            3 => Some(Kind::Handoff),
            _ => None,
        }
    }

    /// The name used in JSON and error messages.
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Button => "button",
            Kind::Printed => "printed",
            Kind::Handoff => "handoff",
        }
    }
}

impl fmt::Display for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Where the consultation started: which button, on which page, for which campaign, product or order.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct EntryPoint {
    /// Button or placement id, e.g. `product-detail` or `store-counter`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub button: Option<String>,
    /// Page path or URL the button sits on.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub page: Option<String>,
    /// Campaign id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub campaign: Option<String>,
    /// Product reference (SKU, product id).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub product: Option<String>,
    /// Order reference.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub order: Option<String>,
    /// A few free tags.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tags: Vec<String>,
}

impl EntryPoint {
    /// True when no part of the entry point is set.
    pub fn is_empty(&self) -> bool {
        self.button.is_none()
            && self.page.is_none()
            && self.campaign.is_none()
            && self.product.is_none()
            && self.order.is_none()
            && self.tags.is_empty()
    }

    /// Checks every bound; used for signed and declared entry points alike.
    pub fn validate(&self) -> Result<(), ClaimsError> {
        for (name, value) in [
            ("entry.button", &self.button),
            ("entry.page", &self.page),
            ("entry.campaign", &self.campaign),
            ("entry.product", &self.product),
            ("entry.order", &self.order),
        ] {
            if let Some(v) = value {
                check_text(name, v, MAX_FIELD_LEN)?;
            }
        }
        if self.tags.len() > MAX_TAGS {
            return Err(ClaimsError::TooMany { field: "entry.tags", max: MAX_TAGS });
        }
        for tag in &self.tags {
            check_text("entry.tags", tag, MAX_FIELD_LEN)?;
        }
        Ok(())
    }
}

/// Membership data of a logged-in member, only ever accepted when signed.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct Membership {
    /// The business's member id; the gateway derives the stable `user_key` from it.
    pub id: String,
    /// Membership tier, e.g. `gold`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tier: Option<String>,
    /// Display name shown to agents.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// A bounded map of custom attributes.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub attrs: BTreeMap<String, String>,
}

impl Membership {
    fn validate(&self) -> Result<(), ClaimsError> {
        check_text("member.id", &self.id, MAX_FIELD_LEN)?;
        if let Some(tier) = &self.tier {
            check_text("member.tier", tier, MAX_FIELD_LEN)?;
        }
        if let Some(name) = &self.name {
            check_text("member.name", name, MAX_FIELD_LEN)?;
        }
        if self.attrs.len() > MAX_ATTRS {
            return Err(ClaimsError::TooMany { field: "member.attrs", max: MAX_ATTRS });
        }
        for (k, v) in &self.attrs {
            check_text("member.attrs key", k, MAX_ATTR_KEY_LEN)?;
            check_text("member.attrs value", v, MAX_FIELD_LEN)?;
        }
        Ok(())
    }
}

/// Everything a token says. Times are Unix seconds; the sdk never reads a clock.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Claims {
    /// What the token is for.
    pub kind: Kind,
    /// The audience: the channel this token opens.
    pub channel: String,
    /// Names one key of one channel, and with it the algorithm.
    pub key_id: String,
    /// Issue time (Unix seconds).
    pub issued_at: u64,
    /// Expiry (Unix seconds), after `issued_at`.
    pub expires_at: u64,
    /// Serial for replay detection and revocation of one token or sticker.
    pub serial: u64,
    /// Where the consultation started.
    #[serde(default, skip_serializing_if = "EntryPoint::is_empty")]
    pub entry: EntryPoint,
    /// Membership of a logged-in member (button tokens only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub member: Option<Membership>,
}

impl Claims {
    /// Checks the bounds of every field and the rules of the token's kind.
    ///
    /// # Errors
    /// [`ClaimsError`] naming the first field that breaks a rule.
    pub fn validate(&self) -> Result<(), ClaimsError> {
        check_id("key_id", &self.key_id, MAX_KEY_ID_LEN, |c| {
            c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.')
        })?;
        check_id("channel", &self.channel, MAX_CHANNEL_LEN, |c| {
            c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '-' | '_')
        })?;
        if self.expires_at <= self.issued_at {
            return Err(ClaimsError::ExpiryNotAfterIssue);
        }
        self.entry.validate()?;
        if let Some(member) = &self.member {
            member.validate()?;
        }
        let ttl = self.expires_at - self.issued_at;
        let max_ttl = match self.kind {
            Kind::Button if self.member.is_some() => MAX_TTL_MEMBER,
            Kind::Button => MAX_TTL_BUTTON,
            Kind::Printed => MAX_TTL_PRINTED,
            Kind::Handoff => MAX_TTL_HANDOFF,
        };
        if ttl > max_ttl {
            return Err(ClaimsError::LifetimeTooLong { kind: self.kind, ttl, max: max_ttl });
        }
        match self.kind {
            Kind::Button => {}
            Kind::Printed => {
                if self.member.is_some() {
                    return Err(ClaimsError::NotAllowed { kind: self.kind, field: "member" });
                }
                if self.entry.button.is_none() {
                    return Err(ClaimsError::Required { kind: self.kind, field: "entry.button" });
                }
            }
            Kind::Handoff => {
                if self.member.is_some() {
                    return Err(ClaimsError::NotAllowed { kind: self.kind, field: "member" });
                }
                if !self.entry.is_empty() {
                    return Err(ClaimsError::NotAllowed { kind: self.kind, field: "entry" });
                }
            }
        }
        Ok(())
    }
}

/// A claim that breaks a bound or a rule of its kind.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ClaimsError {
    /// A required string is empty.
    #[error("{field} is empty")]
    Empty {
        /// The field.
        field: &'static str,
    },
    /// A string is longer than its bound.
    #[error("{field} is {len} bytes long; at most {max} are allowed")]
    TooLong {
        /// The field.
        field: &'static str,
        /// Its length.
        len: usize,
        /// The bound.
        max: usize,
    },
    /// A list or map has too many entries.
    #[error("{field} has too many entries; at most {max} are allowed")]
    TooMany {
        /// The field.
        field: &'static str,
        /// The bound.
        max: usize,
    },
    /// An identifier uses a character outside its alphabet.
    #[error("{field} contains {ch:?}; use lowercase letters, digits, '-' or '_' (key ids may also use uppercase and '.')")]
    BadCharacter {
        /// The field.
        field: &'static str,
        /// The character.
        ch: char,
    },
    /// A text field contains a control character.
    #[error("{field} contains a control character")]
    ControlCharacter {
        /// The field.
        field: &'static str,
    },
    /// `expires_at` is not after `issued_at`.
    #[error("expires_at must be after issued_at")]
    ExpiryNotAfterIssue,
    /// The lifetime exceeds what the kind allows.
    #[error("a {kind} token may live at most {max} s, this one lives {ttl} s")]
    LifetimeTooLong {
        /// The kind.
        kind: Kind,
        /// The requested lifetime.
        ttl: u64,
        /// The bound.
        max: u64,
    },
    /// A field the kind forbids is present.
    #[error("a {kind} token must not carry {field}")]
    NotAllowed {
        /// The kind.
        kind: Kind,
        /// The field.
        field: &'static str,
    },
    /// A field the kind requires is missing.
    #[error("a {kind} token needs {field}")]
    Required {
        /// The kind.
        kind: Kind,
        /// The field.
        field: &'static str,
    },
}

fn check_text(field: &'static str, value: &str, max: usize) -> Result<(), ClaimsError> {
    if value.is_empty() {
        return Err(ClaimsError::Empty { field });
    }
    if value.len() > max {
        return Err(ClaimsError::TooLong { field, len: value.len(), max });
    }
    if value.chars().any(char::is_control) {
        return Err(ClaimsError::ControlCharacter { field });
    }
    Ok(())
}

fn check_id(
    field: &'static str,
    value: &str,
    max: usize,
    allowed: impl Fn(char) -> bool,
) -> Result<(), ClaimsError> {
    if value.is_empty() {
        return Err(ClaimsError::Empty { field });
    }
    if value.len() > max {
        return Err(ClaimsError::TooLong { field, len: value.len(), max });
    }
    match value.chars().find(|&c| !allowed(c)) {
        Some(ch) => Err(ClaimsError::BadCharacter { field, ch }),
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn printed() -> Claims {
        Claims {
            kind: Kind::Printed,
            channel: "demo-shop".into(),
            key_id: "k1".into(),
            issued_at: 1_700_000_000,
            expires_at: 1_700_000_000 + 365 * 24 * 3600,
            serial: 7,
            entry: EntryPoint { button: Some("store-counter".into()), ..Default::default() },
            member: None,
        }
    }

    #[test]
    fn printed_codes_refuse_membership_and_need_a_button() {
        let mut c = printed();
        assert_eq!(c.validate(), Ok(()));
        c.member = Some(Membership { id: "m1".into(), ..Default::default() });
        assert!(matches!(c.validate(), Err(ClaimsError::NotAllowed { field: "member", .. })));
        let mut c = printed();
        c.entry.button = None;
        assert!(matches!(c.validate(), Err(ClaimsError::Required { .. })));
    }

    #[test]
    fn membership_launches_are_short_lived() {
        let mut c = printed();
        c.kind = Kind::Button;
        c.member = Some(Membership { id: "m1".into(), ..Default::default() });
        c.expires_at = c.issued_at + MAX_TTL_MEMBER + 1;
        assert!(matches!(c.validate(), Err(ClaimsError::LifetimeTooLong { .. })));
        c.expires_at = c.issued_at + MAX_TTL_MEMBER;
        assert_eq!(c.validate(), Ok(()));
    }

    #[test]
    fn handoff_carries_nothing_personal() {
        let mut c = printed();
        c.kind = Kind::Handoff;
        c.expires_at = c.issued_at + 300;
        assert!(matches!(c.validate(), Err(ClaimsError::NotAllowed { field: "entry", .. })));
        c.entry = EntryPoint::default();
        assert_eq!(c.validate(), Ok(()));
    }

    #[test]
    fn ids_and_texts_are_bounded() {
        let mut c = printed();
        c.channel = "Demo".into();
        assert!(matches!(c.validate(), Err(ClaimsError::BadCharacter { ch: 'D', .. })));
        let mut c = printed();
        c.entry.page = Some("x".repeat(MAX_FIELD_LEN + 1));
        assert!(matches!(c.validate(), Err(ClaimsError::TooLong { field: "entry.page", .. })));
        let mut c = printed();
        c.entry.campaign = Some("a\nb".into());
        assert!(matches!(c.validate(), Err(ClaimsError::ControlCharacter { .. })));
    }
}
