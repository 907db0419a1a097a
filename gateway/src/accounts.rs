//! Agents an admin manages at runtime: disable (signed out everywhere at once, refused at
//! sign-in) and enable again, or set a new password (every sign-in ends). The agents themselves,
//! their skills and channels, come from the configuration file.

use consult_sdk::protocol::AgentAccountInfo;

use crate::config::Password;
use crate::core::Core;
use crate::error::AppError;
use crate::store::Store;

type R<T> = Result<T, AppError>;

/// Shortest password an admin may set.
pub const MIN_PASSWORD_CHARS: usize = 10;

impl Core {
    /// The password an agent signs in with: the one an admin set, else the file's.
    ///
    /// # Errors
    /// Storage failures.
    pub fn password_of(&self, store: &mut dyn Store, agent: &str) -> R<Option<(Password, bool)>> {
        let Some(a) = self.config.agent(agent) else { return Ok(None) };
        let account = store.agent_account(agent)?;
        Ok(Some((account.password_hash.map_or_else(|| a.password.clone(), Password::Hash), account.disabled)))
    }

    /// The agents of the admin's channels, with what an admin changed.
    ///
    /// # Errors
    /// As [`Core::channels_of`]; storage failures.
    pub fn agent_accounts(&self, store: &mut dyn Store, admin: &str) -> R<Vec<AgentAccountInfo>> {
        let channels = self.channels_of(admin)?;
        let changed: std::collections::HashMap<String, bool> = store.agent_accounts()?.into_iter().map(|(id, a)| (id, a.disabled)).collect();
        let online = self.hub.online_agents();
        Ok(self
            .config
            .agents
            .iter()
            .filter(|a| channels.iter().any(|c| a.works(c)))
            .map(|a| AgentAccountInfo {
                id: a.id.clone(),
                name: a.name.clone(),
                role: a.role.as_str().into(),
                disabled: changed.get(&a.id).copied().unwrap_or(false),
                online: online.contains(&a.id),
            })
            .collect())
    }

    /// Disables or enables `agent`, and/or sets the already hashed `password_hash`: either ends
    /// every sign-in of theirs and closes their desks at once. Audited.
    ///
    /// # Errors
    /// `not_found` for an agent outside the admin's channels; `bad_request` for disabling oneself.
    pub fn manage_agent(&self, store: &mut dyn Store, admin: &str, agent: &str, disabled: Option<bool>, password_hash: Option<&str>, now_ms: u64) -> R<AgentAccountInfo> {
        let channels = self.channels_of(admin)?;
        let target = self.config.agent(agent).filter(|a| channels.iter().any(|c| a.works(c))).ok_or(AppError::NotFound)?;
        if agent == admin && disabled == Some(true) {
            return Err(AppError::BadRequest("an admin can't disable themselves".into()));
        }
        store.set_agent_account(agent, disabled, password_hash)?;
        if disabled == Some(true) || password_hash.is_some() {
            let ended = store.agent_tokens_revoke(agent)?;
            self.hub.end_agent(agent);
            tracing::info!(agent, by = admin, signins = ended.len(), "agent signed out everywhere");
        }
        let what = [
            disabled.map(|d| if d { "disabled" } else { "enabled" }),
            password_hash.map(|_| "password reset"),
        ];
        let detail = what.into_iter().flatten().collect::<Vec<_>>().join(", ");
        self.audit(store, admin, "agent", None, Some(agent), &detail, now_ms)?;
        self.publish_presence();
        let account = store.agent_account(agent)?;
        Ok(AgentAccountInfo { id: target.id.clone(), name: target.name.clone(), role: target.role.as_str().into(), disabled: account.disabled, online: false })
    }
}
