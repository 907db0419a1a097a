//! Claims as a person or a program writes them: what the key or the clock can supply may be left
//! out. One set of defaults for `consult sign` and the Node/browser `SecretKey.sign`: kind
//! `button`, channel and key id from the key, issued now, a lifetime by kind (10 minutes for a
//! button, a year for a printed code, 5 minutes for a handoff), a random serial (32 bits for a
//! printed code, whose every byte costs QR area).

use serde::Deserialize;

use crate::keys::{KeyError, SecretKey, random_serial};
use crate::model::{Claims, EntryPoint, Kind, MAX_TTL_HANDOFF, Membership};

/// Claims with their optional parts still open.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClaimsDraft {
    /// Default `button`.
    #[serde(default)]
    pub kind: Option<Kind>,
    /// Default: the key's channel.
    #[serde(default)]
    pub channel: Option<String>,
    /// Default: the key's id.
    #[serde(default)]
    pub key_id: Option<String>,
    /// Unix seconds; default now.
    #[serde(default)]
    pub issued_at: Option<u64>,
    /// Unix seconds; default by kind (see the module docs).
    #[serde(default)]
    pub expires_at: Option<u64>,
    /// Default random.
    #[serde(default)]
    pub serial: Option<u64>,
    /// Where the visitor pressed.
    #[serde(default)]
    pub entry: EntryPoint,
    /// Who, when signed in.
    #[serde(default)]
    pub member: Option<Membership>,
}

/// Why a draft could not be completed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DraftError {
    /// Both an expiry time and a lifetime were given.
    #[error("give either expires_at in the claims or a lifetime (--ttl), not both")]
    ExpiryTwice,
    /// The random source failed.
    #[error("{0}")]
    Random(#[from] KeyError),
}

impl ClaimsDraft {
    /// The lifetime a kind gets when none is given, in seconds.
    pub fn default_lifetime(kind: Kind) -> u64 {
        match kind {
            Kind::Button => 600,
            Kind::Printed => 365 * 24 * 3600,
            Kind::Handoff => MAX_TTL_HANDOFF / 2,
        }
    }

    /// Fills what was left out. The result still goes through the kind's rules when signed.
    ///
    /// # Errors
    /// [`DraftError`].
    pub fn complete(self, key: &SecretKey, lifetime: Option<u64>, now: u64) -> Result<Claims, DraftError> {
        let kind = self.kind.unwrap_or(Kind::Button);
        let issued_at = self.issued_at.unwrap_or(now);
        let expires_at = match (self.expires_at, lifetime) {
            (Some(_), Some(_)) => return Err(DraftError::ExpiryTwice),
            (Some(at), None) => at,
            (None, lifetime) => issued_at + lifetime.unwrap_or(Self::default_lifetime(kind)),
        };
        let serial = match self.serial {
            Some(serial) => serial,
            None if kind == Kind::Printed => random_serial()? >> 32,
            None => random_serial()?,
        };
        Ok(Claims {
            kind,
            channel: self.channel.unwrap_or_else(|| key.channel.clone()),
            key_id: self.key_id.unwrap_or_else(|| key.key_id.clone()),
            issued_at,
            expires_at,
            serial,
            entry: self.entry,
            member: self.member,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_defaults_fill_what_was_left_out_and_keep_what_was_given() {
        let key = SecretKey::from_seed("shop", "k1", [3; 32]).unwrap();
        let draft: ClaimsDraft = serde_json::from_str(r#"{"entry":{"button":"b"},"member":{"id":"m-1"}}"#).unwrap();
        let c = draft.clone().complete(&key, None, 1_000).unwrap();
        assert_eq!((c.kind, c.channel.as_str(), c.key_id.as_str(), c.issued_at, c.expires_at), (Kind::Button, "shop", "k1", 1_000, 1_600));
        assert!(key.sign(&c).is_ok(), "the defaults pass the kind's rules");
        let printed: ClaimsDraft = serde_json::from_str(r#"{"kind":"printed","entry":{"button":"b"}}"#).unwrap();
        let p = printed.complete(&key, None, 0).unwrap();
        assert!(p.serial < 1 << 32 && p.expires_at == 365 * 24 * 3600);
        let fixed = ClaimsDraft { serial: Some(7), expires_at: Some(50), ..draft.clone() };
        assert_eq!(fixed.clone().complete(&key, None, 0).unwrap().serial, 7);
        assert_eq!(fixed.complete(&key, Some(60), 0), Err(DraftError::ExpiryTwice));
        assert!(serde_json::from_str::<ClaimsDraft>(r#"{"memebr":{"id":"x"}}"#).is_err(), "a misspelt field is refused");
    }
}
