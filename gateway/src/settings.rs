//! Channel settings an admin changes at runtime: business hours and holidays, the guidance with
//! its retention notice, and the bot menu.
//!
//! One set of rules checks them, whether they come from the configuration file or from an admin
//! ([`hours`], [`guidance`], [`menu`]), so the two never disagree. The file seeds them; once an
//! admin changed one, its stored row (`hours:<channel>`, `guidance:<channel>`,
//! `menu:<channel>` in `runtime_config`, versioned like the agents' rows, see
//! [`crate::runtime`]) wins. Every node re-reads the rows on each tick, so a cluster follows
//! within a second.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::{Arc, RwLock};

use consult_sdk::protocol::{ChannelGuidance, ChannelHours, ChannelMenu, HoursSpec, MAX_TEXT_CHARS, MenuOptionSpec, MenuSpec};
use serde::{Deserialize, Serialize};

use crate::config::{Bot, BotAction, BotOption, Channel, Config, FreeText, is_id};
use crate::hours::AfterHours;
use crate::core::Core;
use crate::error::AppError;
use crate::hours::{BusinessHours, DayHours};
use crate::store::{RuntimeEntry, Store};

type R<T> = Result<T, AppError>;

/// How a setting is read: `(core, store, channel)`.
pub type Read<T> = fn(&Core, &mut dyn Store, &str) -> R<T>;
/// How a setting is changed: `(core, store, actor, channel, change, now_ms)`.
pub type Write<T> = fn(&Core, &mut dyn Store, &str, &str, T, u64) -> R<T>;

/// Longest menu label, in characters.
pub const MAX_LABEL_CHARS: usize = 100;
/// Most options in a bot menu.
pub const MAX_OPTIONS: usize = 20;
/// Most keywords of one option, and most holidays.
const MAX_KEYWORDS: usize = 50;
const MAX_HOLIDAYS: usize = 400;
const DAYS: [&str; 7] = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];
const DEFAULT_AFTER_HOURS: &str = "We are closed now. We will answer when we open.";
const DEFAULT_PROMPT: &str = "How can we help?";

/// One broken rule of a channel setting. Each names the field (relative to the setting: the file
/// loader puts `channels[0] (id).hours.` in front) and what would fix it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SettingError {
    /// No greeting (or, in a file, no guidance at all).
    #[error("guidance: is empty or missing; write what visitors read first, with the retention/privacy notice (or put that in retention_notice)")]
    GuidanceMissing,
    /// The retention notice was sent empty.
    #[error("retention_notice: is empty; say how long chats are kept (e.g. \"Chats are kept 90 days, then deleted.\")")]
    NoticeMissing,
    /// A text over its limit.
    #[error("{field}: {chars} characters; at most {max}")]
    TooLong {
        /// The field.
        field: String,
        /// Its length.
        chars: usize,
        /// The limit.
        max: usize,
    },
    /// More entries than allowed.
    #[error("{field}: {count} entries; at most {max}")]
    TooMany {
        /// The field.
        field: &'static str,
        /// How many were sent.
        count: usize,
        /// The limit.
        max: usize,
    },
    /// An unknown time zone.
    #[error("time_zone: {0:?} is not a known time zone (e.g. \"Asia/Seoul\")")]
    TimeZone(String),
    /// `after_hours` is neither `wait` nor `refuse`.
    #[error("after_hours: {0:?} is not \"wait\" or \"refuse\"")]
    AfterHours(String),
    /// A day that is not a day.
    #[error("days.{0}: is not a day; use mon, tue, wed, thu, fri, sat or sun")]
    Day(String),
    /// Hours that don't parse, or a range that ends before it starts.
    #[error("days.{day}: {spec:?} is not \"HH:MM-HH:MM\" (several joined by ',', or \"closed\"); a range ends after it starts on the same day (18:00-09:00 is 18:00-24:00 on one day and 00:00-09:00 on the next)")]
    Hours {
        /// The day.
        day: String,
        /// What was written.
        spec: String,
    },
    /// Two ranges of one day overlap.
    #[error("days.{day}: {first} and {second} overlap; join them into one range")]
    Overlap {
        /// The day.
        day: String,
        /// One range.
        first: String,
        /// The range it overlaps.
        second: String,
    },
    /// A holiday that is not a date.
    #[error("holidays[{index}]: {value:?} is not a date like 2025-12-25")]
    Holiday {
        /// Its position.
        index: usize,
        /// What was written.
        value: String,
    },
    /// A menu without options.
    #[error("options: is empty; a menu needs at least one option")]
    EmptyMenu,
    /// An option id that is no id.
    #[error("options[{index}].id: {id:?} must be 1-64 of a-z, 0-9, '-' or '_'")]
    OptionId {
        /// Its position.
        index: usize,
        /// What was written.
        id: String,
    },
    /// Two options with one id.
    #[error("options[{index}].id: {id:?} is used twice")]
    DuplicateId {
        /// The second one's position.
        index: usize,
        /// The id.
        id: String,
    },
    /// An option without a label.
    #[error("options[{index}].label: is empty; write what the button says")]
    EmptyLabel {
        /// Its position.
        index: usize,
    },
    /// A link that is not http(s).
    #[error("options[{index}].url: {url:?} must start with https:// or http://")]
    Url {
        /// Its position.
        index: usize,
        /// What was written.
        url: String,
    },
    /// A category that is no id.
    #[error("options[{index}].category: {category:?} must be 1-64 of a-z, 0-9, '-' or '_'")]
    Category {
        /// Its position.
        index: usize,
        /// What was written.
        category: String,
    },
    /// Not exactly one of answer, url, category.
    #[error("options[{index}]: needs exactly one of answer, url or category")]
    Action {
        /// Its position.
        index: usize,
    },
    /// Keywords on an option that does not answer.
    #[error("options[{index}].keywords: only answer options take keywords")]
    Keywords {
        /// Its position.
        index: usize,
    },
    /// `free_text` is neither `queue` nor `offer`.
    #[error("free_text: {0:?} is not \"queue\" or \"offer\"")]
    FreeText(String),
}

/// Every broken rule of one setting, reported at once; nothing was changed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}", .0.iter().map(ToString::to_string).collect::<Vec<_>>().join("; "))]
pub struct SettingErrors(pub Vec<SettingError>);

fn check_len(errors: &mut Vec<SettingError>, field: impl Into<String>, text: &str, max: usize) {
    let chars = text.chars().count();
    if chars > max {
        errors.push(SettingError::TooLong { field: field.into(), chars, max });
    }
}

fn done<T>(errors: Vec<SettingError>, value: impl FnOnce() -> T) -> Result<T, SettingErrors> {
    if errors.is_empty() { Ok(value()) } else { Err(SettingErrors(errors)) }
}

/// Checks business hours as written.
///
/// # Errors
/// Every broken rule: unknown time zone or `after_hours`, a day that is not a day, hours that
/// don't parse or end before they start, overlapping ranges, a bad holiday, oversize text.
pub fn hours(spec: HoursSpec) -> Result<BusinessHours, SettingErrors> {
    let mut errors = Vec::new();
    let tz_name = spec.time_zone.unwrap_or_else(|| "UTC".into());
    let tz = jiff::tz::TimeZone::get(&tz_name).ok();
    if tz.is_none() {
        errors.push(SettingError::TimeZone(tz_name.clone()));
    }
    let after_hours = match spec.after_hours.as_deref() {
        None | Some("wait") => AfterHours::Wait,
        Some("refuse") => AfterHours::Refuse,
        Some(o) => {
            errors.push(SettingError::AfterHours(o.into()));
            AfterHours::Wait
        }
    };
    let message = spec.after_hours_message.filter(|m| !m.trim().is_empty()).unwrap_or_else(|| DEFAULT_AFTER_HOURS.into());
    check_len(&mut errors, "after_hours_message", &message, MAX_TEXT_CHARS);
    let mut days: [DayHours; 7] = Default::default();
    for (day, text) in &spec.days {
        let Some(index) = DAYS.iter().position(|n| n == day) else {
            errors.push(SettingError::Day(day.clone()));
            continue;
        };
        let Some(parsed) = DayHours::parse(text) else {
            errors.push(SettingError::Hours { day: day.clone(), spec: text.clone() });
            continue;
        };
        let mut ranges = parsed.0.clone();
        ranges.sort_unstable();
        if let Some(w) = ranges.windows(2).find(|w| w[1].0 < w[0].1) {
            errors.push(SettingError::Overlap { day: day.clone(), first: range_text(w[0]), second: range_text(w[1]) });
            continue;
        }
        days[index] = DayHours(ranges);
    }
    if spec.holidays.len() > MAX_HOLIDAYS {
        errors.push(SettingError::TooMany { field: "holidays", count: spec.holidays.len(), max: MAX_HOLIDAYS });
    }
    let mut holidays = Vec::new();
    for (index, value) in spec.holidays.iter().enumerate() {
        match value.trim().parse::<jiff::civil::Date>() {
            Ok(d) => holidays.push(d),
            Err(_) => errors.push(SettingError::Holiday { index, value: value.clone() }),
        }
    }
    holidays.sort_unstable();
    holidays.dedup();
    let tz = tz.unwrap_or(jiff::tz::TimeZone::UTC);
    done(errors, || BusinessHours { tz, tz_name, days, holidays, after_hours, message })
}

fn range_text((start, end): (u16, u16)) -> String {
    format!("{:02}:{:02}-{:02}:{:02}", start / 60, start % 60, end / 60, end % 60)
}

/// Business hours as an admin edits them: every day named, `closed` or its ranges.
pub fn hours_spec(h: &BusinessHours) -> HoursSpec {
    let days: BTreeMap<String, String> = DAYS
        .iter()
        .zip(&h.days)
        .map(|(name, d)| {
            let text = if d.0.is_empty() { "closed".to_string() } else { d.0.iter().map(|&r| range_text(r)).collect::<Vec<_>>().join(",") };
            ((*name).to_string(), text)
        })
        .collect();
    HoursSpec {
        time_zone: Some(h.tz_name.clone()),
        after_hours: Some(if h.after_hours == AfterHours::Refuse { "refuse" } else { "wait" }.into()),
        after_hours_message: Some(h.message.clone()),
        days,
        holidays: h.holidays.iter().map(ToString::to_string).collect(),
    }
}

/// Checks the guidance and its retention notice. `notice` is `None` only for a configuration
/// file that keeps the notice inside the guidance; an admin's change always sends one.
///
/// # Errors
/// An empty guidance or notice; oversize text.
pub fn guidance(guidance: Option<&str>, notice: Option<&str>) -> Result<(String, String), SettingErrors> {
    let mut errors = Vec::new();
    let text = guidance.map(str::trim).unwrap_or_default();
    if text.is_empty() {
        errors.push(SettingError::GuidanceMissing);
    }
    check_len(&mut errors, "guidance", text, MAX_TEXT_CHARS);
    let notice = notice.map(str::trim);
    if notice == Some("") {
        errors.push(SettingError::NoticeMissing);
    }
    check_len(&mut errors, "retention_notice", notice.unwrap_or_default(), MAX_TEXT_CHARS);
    done(errors, || (text.to_string(), notice.unwrap_or_default().to_string()))
}

/// Checks a bot menu.
///
/// # Errors
/// Every broken rule: no options (or too many), an option with a bad or repeated id, an empty
/// label, not exactly one of answer/url/category, a bad link or category, keywords on an option
/// that does not answer, an unknown `free_text`, oversize text.
pub fn menu(spec: MenuSpec) -> Result<Bot, SettingErrors> {
    let mut errors = Vec::new();
    if spec.options.is_empty() {
        errors.push(SettingError::EmptyMenu);
    }
    if spec.options.len() > MAX_OPTIONS {
        errors.push(SettingError::TooMany { field: "options", count: spec.options.len(), max: MAX_OPTIONS });
    }
    let prompt = spec.prompt.filter(|p| !p.trim().is_empty()).unwrap_or_else(|| DEFAULT_PROMPT.into());
    check_len(&mut errors, "prompt", &prompt, MAX_TEXT_CHARS);
    let mut ids = HashSet::new();
    let mut options = Vec::new();
    for (index, o) in spec.options.into_iter().enumerate() {
        if let Some(option) = menu_option(&mut errors, index, o, &mut ids) {
            options.push(option);
        }
    }
    let free_text = match spec.free_text.as_deref() {
        None | Some("queue") => FreeText::Queue,
        Some("offer") => FreeText::Offer,
        Some(o) => {
            errors.push(SettingError::FreeText(o.into()));
            FreeText::Queue
        }
    };
    done(errors, || Bot { prompt, options, free_text })
}

fn menu_option(errors: &mut Vec<SettingError>, index: usize, o: MenuOptionSpec, ids: &mut HashSet<String>) -> Option<BotOption> {
    let before = errors.len();
    if !is_id(&o.id) {
        errors.push(SettingError::OptionId { index, id: o.id.clone() });
    } else if !ids.insert(o.id.clone()) {
        errors.push(SettingError::DuplicateId { index, id: o.id.clone() });
    }
    let label = o.label.trim().to_string();
    if label.is_empty() {
        errors.push(SettingError::EmptyLabel { index });
    }
    check_len(errors, format!("options[{index}].label"), &label, MAX_LABEL_CHARS);
    let action = match (o.answer, o.url, o.category) {
        (Some(a), None, None) => {
            check_len(errors, format!("options[{index}].answer"), &a, MAX_TEXT_CHARS);
            Some(BotAction::Answer(a))
        }
        (None, Some(u), None) if u.starts_with("https://") || u.starts_with("http://") => {
            check_len(errors, format!("options[{index}].url"), &u, 2000);
            Some(BotAction::Link(u))
        }
        (None, Some(url), None) => {
            errors.push(SettingError::Url { index, url });
            None
        }
        (None, None, Some(c)) if is_id(&c) => Some(BotAction::Queue(c)),
        (None, None, Some(category)) => {
            errors.push(SettingError::Category { index, category });
            None
        }
        _ => {
            errors.push(SettingError::Action { index });
            None
        }
    };
    let keywords: Vec<String> = o.keywords.iter().map(|k| k.trim().to_lowercase()).filter(|k| !k.is_empty()).collect();
    if !keywords.is_empty() && !matches!(action, Some(BotAction::Answer(_))) {
        errors.push(SettingError::Keywords { index });
    }
    if keywords.len() > MAX_KEYWORDS {
        errors.push(SettingError::TooMany { field: "keywords", count: keywords.len(), max: MAX_KEYWORDS });
    }
    let action = action.filter(|_| errors.len() == before)?;
    Some(BotOption { id: o.id, label, action, keywords })
}

/// A bot menu as an admin edits it.
pub fn menu_spec(b: &Bot) -> MenuSpec {
    let options = b
        .options
        .iter()
        .map(|o| {
            let mut spec = MenuOptionSpec { id: o.id.clone(), label: o.label.clone(), keywords: o.keywords.clone(), ..Default::default() };
            match &o.action {
                BotAction::Answer(a) => spec.answer = Some(a.clone()),
                BotAction::Link(u) => spec.url = Some(u.clone()),
                BotAction::Queue(c) => spec.category = Some(c.clone()),
            }
            spec
        })
        .collect();
    let free_text = if b.free_text == FreeText::Offer { "offer" } else { "queue" };
    MenuSpec { prompt: Some(b.prompt.clone()), options, free_text: Some(free_text.into()) }
}

impl Channel {
    /// What a visitor reads first: the guidance, then the retention notice under it.
    pub fn shown_guidance(&self) -> String {
        if self.retention_notice.is_empty() { self.guidance.clone() } else { format!("{}\n\n{}", self.guidance, self.retention_notice) }
    }
}

/// The stored value of a `guidance:<channel>` row.
#[derive(Debug, Serialize, Deserialize)]
struct StoredGuidance {
    guidance: String,
    retention_notice: String,
}

/// The row prefixes of channel settings.
const PREFIXES: [&str; 3] = ["hours:", "guidance:", "menu:"];

/// The channels as they are now: the file's, with what admins changed.
#[derive(Debug, Default)]
pub struct LiveChannels {
    channels: Vec<Arc<Channel>>,
    /// Row name → version, to skip rebuilding when nothing changed.
    versions: HashMap<String, u64>,
}

/// The runtime channel settings every rule reads (through [`Core::live_channel`]).
#[derive(Debug, Default)]
pub struct ChannelSettings(RwLock<Arc<LiveChannels>>);

impl ChannelSettings {
    /// The file's channels, before anything stored is read.
    pub fn seeded(config: &Config) -> ChannelSettings {
        let live = LiveChannels { channels: config.channels.iter().cloned().map(Arc::new).collect(), versions: HashMap::new() };
        ChannelSettings(RwLock::new(Arc::new(live)))
    }

    fn snapshot(&self) -> Arc<LiveChannels> {
        self.0.read().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// One channel now.
    pub fn get(&self, id: &str) -> Option<Arc<Channel>> {
        self.snapshot().channels.iter().find(|c| c.id == id).cloned()
    }

    /// Rebuilds from the file and the stored rows, unless their versions are unchanged. A row
    /// that no longer reads or passes the rules is skipped (the file's value holds) and logged.
    pub fn reload(&self, config: &Config, entries: Vec<RuntimeEntry>) {
        let versions: HashMap<String, u64> = entries.iter().map(|e| (e.name.clone(), e.version)).collect();
        if versions == self.snapshot().versions {
            return;
        }
        let rows: HashMap<&str, &str> = entries.iter().map(|e| (e.name.as_str(), e.value.as_str())).collect();
        let channels = config
            .channels
            .iter()
            .map(|file| {
                let mut c = file.clone();
                apply_rows(&mut c, &rows);
                Arc::new(c)
            })
            .collect();
        *self.0.write().unwrap_or_else(|e| e.into_inner()) = Arc::new(LiveChannels { channels, versions });
    }
}

fn apply_rows(c: &mut Channel, rows: &HashMap<&str, &str>) {
    let unusable = |what: &str, why: &dyn std::fmt::Display| tracing::warn!(channel = %c.id, what, %why, "stored setting unusable; the file's holds");
    if let Some(value) = rows.get(format!("hours:{}", c.id).as_str()) {
        match serde_json::from_str::<Option<HoursSpec>>(value) {
            Ok(None) => c.hours = None,
            Ok(Some(spec)) => match hours(spec) {
                Ok(h) => c.hours = Some(h),
                Err(e) => unusable("hours", &e),
            },
            Err(e) => unusable("hours", &e),
        }
    }
    if let Some(value) = rows.get(format!("guidance:{}", c.id).as_str()) {
        match serde_json::from_str::<StoredGuidance>(value) {
            Ok(g) => match guidance(Some(&g.guidance), Some(&g.retention_notice)) {
                Ok((text, notice)) => (c.guidance, c.retention_notice) = (text, notice),
                Err(e) => unusable("guidance", &e),
            },
            Err(e) => unusable("guidance", &e),
        }
    }
    if let Some(value) = rows.get(format!("menu:{}", c.id).as_str()) {
        match serde_json::from_str::<MenuSpec>(value) {
            Ok(spec) => match menu(spec) {
                Ok(b) => c.bot = Some(b),
                Err(e) => unusable("menu", &e),
            },
            Err(e) => unusable("menu", &e),
        }
    }
}

impl Core {
    /// A channel as it is now: the file's, with the hours, guidance and menu admins changed.
    pub fn live_channel(&self, id: &str) -> Option<Arc<Channel>> {
        self.settings.get(id)
    }

    /// Re-reads the stored channel settings (each tick, at start, after a change).
    ///
    /// # Errors
    /// Storage failures.
    pub fn reload_channel_settings(&self, store: &mut dyn Store) -> R<()> {
        let mut entries = Vec::new();
        for prefix in PREFIXES {
            entries.extend(store.runtime_list(prefix)?);
        }
        self.settings.reload(&self.config, entries);
        Ok(())
    }

    /// The stored row of a setting, read now (not as of the last tick: a change must name the
    /// version of what it shows).
    fn setting_row(store: &mut dyn Store, name: &str) -> R<Option<RuntimeEntry>> {
        Ok(store.runtime_list(name)?.into_iter().find(|e| e.name == name))
    }

    fn file_channel(&self, id: &str) -> R<&Channel> {
        self.config.channel(id).ok_or_else(|| AppError::UnknownChannel(id.into()))
    }

    /// Writes a checked setting if `version` is still its version, audits it, and applies it on
    /// this node at once (the others follow on their next tick).
    fn write_setting(&self, store: &mut dyn Store, actor: &str, channel: &str, kind: &str, version: u64, value: &str, now_ms: u64) -> R<u64> {
        let version = self.runtime_write(store, &format!("{kind}:{channel}"), version, value, actor, now_ms)?;
        self.audit(store, actor, "config", Some(channel), Some(kind), &format!("{kind} changed"), now_ms)?;
        self.reload_channel_settings(store)?;
        tracing::info!(channel, kind, actor, version, "channel setting changed");
        Ok(version)
    }

    /// A channel's business hours now, with their version.
    ///
    /// # Errors
    /// `unknown_channel`; storage failures.
    pub fn channel_hours(&self, store: &mut dyn Store, channel: &str) -> R<ChannelHours> {
        let file = self.file_channel(channel)?;
        Ok(match Self::setting_row(store, &format!("hours:{channel}"))? {
            Some(row) => ChannelHours { version: row.version, hours: serde_json::from_str(&row.value).unwrap_or_else(|_| file.hours.as_ref().map(hours_spec)) },
            None => ChannelHours { version: 0, hours: file.hours.as_ref().map(hours_spec) },
        })
    }

    /// Sets a channel's business hours (`None`: always open) if they are still at `version`.
    ///
    /// # Errors
    /// `invalid_settings` naming every broken rule (nothing changed); `unknown_channel`;
    /// `conflict` for a stale version; storage failures.
    pub fn set_channel_hours(&self, store: &mut dyn Store, actor: &str, channel: &str, change: ChannelHours, now_ms: u64) -> R<ChannelHours> {
        self.file_channel(channel)?;
        // Stored as the rules read it back: what the next GET shows is what applies.
        let checked = change.hours.map(hours).transpose()?;
        let spec = checked.as_ref().map(hours_spec);
        let value = serde_json::to_string(&spec).unwrap_or_default();
        let version = self.write_setting(store, actor, channel, "hours", change.version, &value, now_ms)?;
        Ok(ChannelHours { version, hours: spec })
    }

    /// A channel's guidance and retention notice now, with their version.
    ///
    /// # Errors
    /// `unknown_channel`; storage failures.
    pub fn channel_guidance(&self, store: &mut dyn Store, channel: &str) -> R<ChannelGuidance> {
        let file = self.file_channel(channel)?;
        let stored = Self::setting_row(store, &format!("guidance:{channel}"))?;
        let (version, g) = match stored.and_then(|row| Some((row.version, serde_json::from_str::<StoredGuidance>(&row.value).ok()?))) {
            Some(found) => found,
            None => (0, StoredGuidance { guidance: file.guidance.clone(), retention_notice: file.retention_notice.clone() }),
        };
        Ok(ChannelGuidance { version, guidance: g.guidance, retention_notice: g.retention_notice })
    }

    /// Sets a channel's guidance and retention notice if they are still at `version`.
    ///
    /// # Errors
    /// `invalid_settings` (an empty guidance or notice, oversize text; nothing changed);
    /// `unknown_channel`; `conflict` for a stale version; storage failures.
    pub fn set_channel_guidance(&self, store: &mut dyn Store, actor: &str, channel: &str, change: ChannelGuidance, now_ms: u64) -> R<ChannelGuidance> {
        self.file_channel(channel)?;
        let (guidance, retention_notice) = guidance(Some(&change.guidance), Some(&change.retention_notice))?;
        let stored = StoredGuidance { guidance, retention_notice };
        let version = self.write_setting(store, actor, channel, "guidance", change.version, &serde_json::to_string(&stored).unwrap_or_default(), now_ms)?;
        Ok(ChannelGuidance { version, guidance: stored.guidance, retention_notice: stored.retention_notice })
    }

    /// A channel's bot menu now, with its version.
    ///
    /// # Errors
    /// `unknown_channel`; storage failures.
    pub fn channel_menu(&self, store: &mut dyn Store, channel: &str) -> R<ChannelMenu> {
        let file = self.file_channel(channel)?;
        Ok(match Self::setting_row(store, &format!("menu:{channel}"))? {
            Some(row) => ChannelMenu { version: row.version, menu: serde_json::from_str(&row.value).ok().or_else(|| file.bot.as_ref().map(menu_spec)) },
            None => ChannelMenu { version: 0, menu: file.bot.as_ref().map(menu_spec) },
        })
    }

    /// Sets a channel's bot menu if it is still at `version`. New sessions get it; a session
    /// already with the bot gets it the next time the menu is shown.
    ///
    /// # Errors
    /// `invalid_settings` naming every broken rule (nothing changed); `unknown_channel`;
    /// `conflict` for a stale version; storage failures.
    pub fn set_channel_menu(&self, store: &mut dyn Store, actor: &str, channel: &str, change: ChannelMenu, now_ms: u64) -> R<ChannelMenu> {
        self.file_channel(channel)?;
        let bot = menu(change.menu.unwrap_or_default())?;
        let spec = menu_spec(&bot);
        let version = self.write_setting(store, actor, channel, "menu", change.version, &serde_json::to_string(&spec).unwrap_or_default(), now_ms)?;
        Ok(ChannelMenu { version, menu: Some(spec) })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn week(pairs: &[(&str, &str)]) -> HoursSpec {
        HoursSpec { days: pairs.iter().map(|(d, h)| ((*d).to_string(), (*h).to_string())).collect(), ..Default::default() }
    }

    fn errors<T: std::fmt::Debug>(r: Result<T, SettingErrors>) -> Vec<SettingError> {
        r.unwrap_err().0
    }

    #[test]
    fn hours_that_end_before_they_start_or_overlap_are_refused_by_name() {
        assert_eq!(errors(hours(week(&[("mon", "18:00-09:00")]))), vec![SettingError::Hours { day: "mon".into(), spec: "18:00-09:00".into() }]);
        assert_eq!(
            errors(hours(week(&[("tue", "13:00-18:00,09:00-14:00")]))),
            vec![SettingError::Overlap { day: "tue".into(), first: "09:00-14:00".into(), second: "13:00-18:00".into() }]
        );
        assert_eq!(errors(hours(week(&[("funday", "closed")]))), vec![SettingError::Day("funday".into())]);
        // Touching ranges are not overlapping: [09:00, 12:00) then [12:00, 18:00).
        let h = hours(week(&[("mon", "12:00-18:00,09:00-12:00"), ("sat", "closed")])).unwrap();
        assert_eq!(h.days[0].0, vec![(540, 720), (720, 1080)], "kept in order");
        assert!(h.days[5].0.is_empty());
    }

    #[test]
    fn every_bad_hours_field_is_reported_at_once() {
        let spec = HoursSpec {
            time_zone: Some("Mars/Base".into()),
            after_hours: Some("maybe".into()),
            after_hours_message: Some("x".repeat(MAX_TEXT_CHARS + 1)),
            holidays: vec!["2025-12-25".into(), "12/25".into()],
            ..week(&[("wed", "9-18")])
        };
        let found = errors(hours(spec));
        assert_eq!(found.len(), 5, "{found:?}");
        assert!(found.contains(&SettingError::TimeZone("Mars/Base".into())));
        assert!(found.contains(&SettingError::AfterHours("maybe".into())));
        assert!(found.contains(&SettingError::Holiday { index: 1, value: "12/25".into() }));
        assert!(found.contains(&SettingError::TooLong { field: "after_hours_message".into(), chars: MAX_TEXT_CHARS + 1, max: MAX_TEXT_CHARS }));
        assert!(found.iter().any(|e| matches!(e, SettingError::Hours { day, .. } if day == "wed")));
    }

    #[test]
    fn hours_read_back_as_written_pass_the_rules_again() {
        let spec = HoursSpec {
            time_zone: Some("Asia/Seoul".into()),
            after_hours: Some("refuse".into()),
            after_hours_message: Some("Closed".into()),
            holidays: vec!["2026-01-01".into()],
            ..week(&[("mon", "09:00-12:00,13:00-18:00"), ("fri", "00:00-24:00")])
        };
        let back = hours_spec(&hours(spec).unwrap());
        assert_eq!(back.days["mon"], "09:00-12:00,13:00-18:00");
        assert_eq!(back.days["fri"], "00:00-24:00");
        assert_eq!(back.days["sun"], "closed");
        assert_eq!((back.after_hours.as_deref(), back.holidays.clone()), (Some("refuse"), vec!["2026-01-01".to_string()]));
        assert_eq!(hours_spec(&hours(back.clone()).unwrap()), back);
    }

    #[test]
    fn the_retention_notice_must_stay_present() {
        assert_eq!(errors(guidance(Some("Hello"), Some("  "))), vec![SettingError::NoticeMissing]);
        assert_eq!(errors(guidance(Some(""), Some("Kept 90 days."))), vec![SettingError::GuidanceMissing]);
        assert_eq!(errors(guidance(None, None)), vec![SettingError::GuidanceMissing], "a file without guidance");
        let long = "가".repeat(MAX_TEXT_CHARS + 1);
        assert_eq!(errors(guidance(Some(&long), Some("Kept 90 days."))), vec![SettingError::TooLong { field: "guidance".into(), chars: MAX_TEXT_CHARS + 1, max: MAX_TEXT_CHARS }]);
        assert_eq!(guidance(Some(" Hello "), Some("Kept 90 days.")).unwrap(), ("Hello".to_string(), "Kept 90 days.".to_string()));
        assert_eq!(guidance(Some("Hello, kept 90 days."), None).unwrap().1, "", "a file may keep the notice inside the guidance");
    }

    fn option(id: &str, label: &str) -> MenuOptionSpec {
        MenuOptionSpec { id: id.into(), label: label.into(), answer: Some("Two days.".into()), ..Default::default() }
    }

    #[test]
    fn menus_without_options_labels_or_unique_ids_are_refused() {
        assert_eq!(errors(menu(MenuSpec::default())), vec![SettingError::EmptyMenu]);
        let spec = MenuSpec { options: vec![option("faq", "Delivery"), option("faq", " "), option("Bad Id", "x")], ..Default::default() };
        assert_eq!(
            errors(menu(spec)),
            vec![SettingError::DuplicateId { index: 1, id: "faq".into() }, SettingError::EmptyLabel { index: 1 }, SettingError::OptionId { index: 2, id: "Bad Id".into() }]
        );
        let two_actions = MenuOptionSpec { url: Some("https://x.test".into()), ..option("a", "A") };
        let bad_url = MenuOptionSpec { answer: None, url: Some("javascript:alert(1)".into()), ..option("b", "B") };
        let keywords_on_queue = MenuOptionSpec { answer: None, category: Some("refunds".into()), keywords: vec!["refund".into()], ..option("c", "C") };
        let spec = MenuSpec { options: vec![two_actions, bad_url, keywords_on_queue], free_text: Some("chat".into()), ..Default::default() };
        assert_eq!(
            errors(menu(spec)),
            vec![
                SettingError::Action { index: 0 },
                SettingError::Url { index: 1, url: "javascript:alert(1)".into() },
                SettingError::Keywords { index: 2 },
                SettingError::FreeText("chat".into())
            ]
        );
    }

    #[test]
    fn a_menu_reads_back_as_written() {
        let spec = MenuSpec {
            prompt: Some("Pick one".into()),
            options: vec![
                MenuOptionSpec { keywords: vec!["Delivery".into()], ..option("faq", "Delivery time?") },
                MenuOptionSpec { answer: None, category: Some("refunds".into()), ..option("refund", "Refunds") },
                MenuOptionSpec { answer: None, url: Some("https://shop.test/track".into()), ..option("track", "Track") },
            ],
            free_text: Some("offer".into()),
        };
        let back = menu_spec(&menu(spec.clone()).unwrap());
        assert_eq!(back.options[0].keywords, vec!["delivery".to_string()], "keywords are kept in lower case");
        assert_eq!((back.options[1].category.as_deref(), back.options[2].url.as_deref()), (Some("refunds"), Some("https://shop.test/track")));
        assert_eq!(menu_spec(&menu(back.clone()).unwrap()), back);
        let too_long = MenuSpec { options: vec![option("a", &"x".repeat(MAX_LABEL_CHARS + 1))], ..Default::default() };
        assert!(matches!(errors(menu(too_long))[..], [SettingError::TooLong { .. }]));
    }
}
