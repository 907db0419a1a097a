//! Rows and configuration for the rules' unit tests.

use consult_sdk::KeySet;
use consult_sdk::protocol::SessionState;

use crate::config::{Agent, Channel, Role};
use crate::identity::Password;
use crate::store::SessionRow;

/// An agent of every channel, 3 chats at most, named after the id.
pub fn agent(id: &str, role: Role) -> Agent {
    let mut name = id.to_string();
    name[..1].make_ascii_uppercase();
    Agent { id: id.into(), name, password: Password::Plain("pw".into()), skills: Vec::new(), max_chats: 3, role, channels: Vec::new(), team: None }
}

/// A session of channel `shop` in conversation `c-{id}`.
pub fn session(id: &str, state: SessionState, agent: Option<&str>) -> SessionRow {
    SessionRow {
        id: id.into(),
        conversation: format!("c-{id}"),
        channel: "shop".into(),
        user_key: format!("u-{id}"),
        state,
        context: Default::default(),
        category: None,
        agent: agent.map(Into::into),
        opened_ms: 0,
        last_ms: 0,
        last_visitor_ms: 0,
        last_seq: 0,
        close_reason: None,
        earlier_sessions: 0,
        preview: None,
        current_page: None,
    }
}

/// A channel with no hours and no bot.
pub fn channel(id: &str) -> Channel {
    Channel {
        id: id.into(),
        name: id.into(),
        enabled: true,
        allowed_origins: Vec::new(),
        guidance: String::new(),
        retention_notice: String::new(),
        inactivity_secs: 600,
        retention_days: 90,
        keys: KeySet::default(),
        hours: None,
        bot: None,
        brand: Default::default(),
    }
}
