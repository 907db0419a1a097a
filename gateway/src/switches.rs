//! Channels switched on or off at runtime, by an admin on the desk or over the Counsel API. The
//! switch is stored in the database and wins over the configuration file's `enabled` (which
//! stays the default for a channel nobody switched); every node re-reads the switches on each
//! tick, so a cluster follows within a second and a restart keeps them.

use std::collections::HashMap;
use std::sync::RwLock;

use consult_sdk::protocol::ChannelStatus;

use crate::config::Channel;
use crate::core::Core;
use crate::error::AppError;
use crate::store::Store;

type R<T> = Result<T, AppError>;

/// The stored switches, by channel id.
#[derive(Debug, Default)]
pub struct ChannelSwitches(RwLock<HashMap<String, bool>>);

impl ChannelSwitches {
    /// The stored switch of a channel, if anyone set one.
    pub fn get(&self, channel: &str) -> Option<bool> {
        self.0.read().unwrap_or_else(|e| e.into_inner()).get(channel).copied()
    }

    fn set(&self, channel: &str, enabled: bool) {
        self.0.write().unwrap_or_else(|e| e.into_inner()).insert(channel.into(), enabled);
    }

    /// Takes the database's switches as they are now.
    pub fn replace(&self, switches: Vec<(String, bool)>) {
        *self.0.write().unwrap_or_else(|e| e.into_inner()) = switches.into_iter().collect();
    }
}

impl Core {
    /// Whether the channel takes new chats: its stored switch, else the configuration's `enabled`.
    pub fn channel_enabled(&self, channel: &Channel) -> bool {
        self.switches.get(&channel.id).unwrap_or(channel.enabled)
    }

    /// The channel's status at `now` (Unix seconds), with its switch.
    pub fn channel_status(&self, channel: &Channel, now: u64) -> ChannelStatus {
        crate::http::launch::channel_status(channel, self.channel_enabled(channel), now)
    }

    /// Switches a channel on or off (open chats go on; new launches are refused while off) and
    /// writes who did it to the audit log. With `version`, only if the switch is still at it.
    ///
    /// # Errors
    /// `unknown_channel`; `conflict` for a stale version; storage failures.
    pub fn switch_channel(&self, store: &mut dyn Store, channel: &str, enabled: bool, version: Option<u64>, actor: &str, now_ms: u64) -> R<ChannelStatus> {
        let c = self.live_channel(channel).ok_or_else(|| AppError::UnknownChannel(channel.into()))?;
        let name = format!("switch:{channel}");
        let expected = match version {
            Some(v) => v,
            None => self.runtime_version(store, &name)?,
        };
        self.runtime_write(store, &name, expected, if enabled { "on" } else { "off" }, actor, now_ms)?;
        store.set_channel_enabled(channel, enabled, actor, now_ms)?;
        self.audit(store, actor, "channel_switch", Some(channel), None, if enabled { "on" } else { "off" }, now_ms)?;
        self.switches.set(channel, enabled);
        tracing::info!(channel, enabled, actor, "channel switched");
        Ok(self.channel_status(&c, now_ms / 1000))
    }
}
