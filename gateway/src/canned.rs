//! Canned answers managed at runtime. The configuration file's `[[canned]]` apply until an admin
//! first changes the list on the desk; from then on the database holds it (the file no longer
//! does, and every desk gets the new list at once).

use consult_sdk::protocol::{AgentEvent, CannedAnswer, CannedList, check_text};

use crate::core::Core;
use crate::rules::Event;
use crate::error::AppError;
use crate::store::Store;

type R<T> = Result<T, AppError>;

/// Most canned answers kept.
pub const MAX_CANNED: usize = 200;

impl Core {
    /// The canned answers now: the database's once an admin changed them, else the file's.
    ///
    /// # Errors
    /// Storage failures.
    pub fn canned(&self, store: &mut dyn Store) -> R<Vec<CannedAnswer>> {
        Ok(store.canned_answers()?.unwrap_or_else(|| self.config.canned.clone()))
    }

    /// The canned answers with the version an edit must name.
    ///
    /// # Errors
    /// Storage failures.
    pub fn canned_list(&self, store: &mut dyn Store) -> R<CannedList> {
        Ok(CannedList { version: self.runtime_version(store, "canned")?, answers: self.canned(store)? })
    }

    /// Saves (`text` given: adds or replaces) or removes one canned answer if the list is still
    /// at `version`, audits it, and sends every desk the new list.
    ///
    /// # Errors
    /// `bad_request` for a bad shortcut or text, or too many answers; `not_found` when removing
    /// one that isn't there; `conflict` for a stale version.
    pub fn edit_canned(&self, store: &mut dyn Store, admin: &str, shortcut: &str, text: Option<&str>, version: u64, now_ms: u64) -> R<CannedList> {
        let shortcut_ok = shortcut.starts_with('/') && (2..=32).contains(&shortcut.chars().count()) && !shortcut.chars().any(char::is_whitespace);
        if !shortcut_ok {
            return Err(AppError::BadRequest(format!("shortcut {shortcut:?}: '/' and 1 to 31 more characters, no spaces")));
        }
        let mut list = self.canned(store)?;
        let at = list.iter().position(|c| c.shortcut == shortcut);
        match (text, at) {
            (Some(t), at) => {
                check_text(t).map_err(AppError::Message)?;
                let answer = CannedAnswer { shortcut: shortcut.into(), text: t.into() };
                match at {
                    Some(i) => list[i] = answer,
                    None if list.len() >= MAX_CANNED => return Err(AppError::BadRequest(format!("at most {MAX_CANNED} canned answers"))),
                    None => list.push(answer),
                }
            }
            (None, Some(i)) => {
                list.remove(i);
            }
            (None, None) => return Err(AppError::NotFound),
        }
        let version = self.runtime_write(store, "canned", version, "", admin, now_ms)?;
        store.set_canned_answers(&list)?;
        let what = if text.is_some() { "canned answer saved" } else { "canned answer removed" };
        self.audit(store, admin, "config", None, Some(shortcut), what, now_ms)?;
        self.publish(vec![Event::Desks(AgentEvent::Canned { canned: list.clone() })]);
        Ok(CannedList { version, answers: list })
    }
}
