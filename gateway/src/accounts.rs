//! Agents an admin manages at runtime: create one for their channels; change skills, max chats
//! or team; disable (signed out everywhere at once, refused at sign-in) and enable again, or set
//! a new password (every sign-in ends). Each change names the agent's version as read (see
//! [`crate::runtime`]) and takes effect at once: routing, capacity and the board read the
//! runtime directory, never the file.

use consult_sdk::protocol::{AgentAccountInfo, AgentCreate};

use crate::config::{Agent, Role};
use crate::identity::Password;
use crate::rules::Event;
use crate::core::Core;
use crate::error::AppError;
use crate::runtime::{AgentProfile, parse_role};
use crate::store::Store;

type R<T> = Result<T, AppError>;

/// Shortest password an admin may set.
pub const MIN_PASSWORD_CHARS: usize = 10;

/// Most skills an agent has.
const MAX_SKILLS: usize = 20;

/// What an admin changes about an existing agent (`None`: unchanged).
#[derive(Debug, Default)]
pub struct AgentChange {
    /// Disable or enable.
    pub disabled: Option<bool>,
    /// An argon2id hash of the new password.
    pub password_hash: Option<String>,
    /// New skills.
    pub skills: Option<Vec<String>>,
    /// New most chats at once.
    pub max_chats: Option<u32>,
    /// New team (empty: none).
    pub team: Option<String>,
}

/// A short label (name, team, skill): 1 to 64 characters, no control characters.
fn label(field: &str, s: &str) -> R<String> {
    let t = s.trim();
    if t.is_empty() || t.chars().count() > 64 || t.chars().any(char::is_control) {
        return Err(AppError::BadRequest(format!("{field}: 1 to 64 characters, no control characters")));
    }
    Ok(t.to_string())
}

fn check_skills(skills: &[String]) -> R<Vec<String>> {
    let mut out: Vec<String> = Vec::new();
    for s in skills {
        let s = label("skills", s)?;
        if !out.contains(&s) {
            out.push(s);
        }
    }
    if out.len() > MAX_SKILLS {
        return Err(AppError::BadRequest(format!("skills: at most {MAX_SKILLS}")));
    }
    Ok(out)
}

fn check_max_chats(n: u32) -> R<u32> {
    if (1..=100).contains(&n) { Ok(n) } else { Err(AppError::BadRequest("max_chats: 1 to 100".into())) }
}

fn check_team(team: Option<&str>) -> R<Option<String>> {
    match team.map(str::trim) {
        None | Some("") => Ok(None),
        Some(t) => label("team", t).map(Some),
    }
}

/// Checks a new password's length.
///
/// # Errors
/// `bad_request` outside 10 to 1024 characters.
pub fn check_new_password(p: &str) -> R<()> {
    if p.chars().count() < MIN_PASSWORD_CHARS || p.len() > 1024 {
        return Err(AppError::BadRequest(format!("a password has {MIN_PASSWORD_CHARS} to 1024 characters")));
    }
    Ok(())
}

impl Core {
    /// The password an agent signs in with: the one an admin set, else the file's.
    ///
    /// # Errors
    /// Storage failures.
    pub fn password_of(&self, store: &mut dyn Store, agent: &str) -> R<Option<(Password, bool)>> {
        let Some(a) = self.agent(agent) else { return Ok(None) };
        let account = store.agent_account(agent)?;
        Ok(Some((account.password_hash.map_or_else(|| a.password.clone(), Password::Hash), account.disabled)))
    }

    fn account_info(&self, a: &Agent, disabled: bool, online: bool) -> AgentAccountInfo {
        AgentAccountInfo {
            id: a.id.clone(),
            name: a.name.clone(),
            role: a.role.as_str().into(),
            disabled,
            online,
            channels: a.channels.clone(),
            skills: a.skills.clone(),
            max_chats: a.max_chats,
            team: a.team.clone(),
            version: self.directory.snapshot().version(&a.id),
        }
    }

    /// An agent of one of the admin's channels.
    fn managed(&self, admin: &str, agent: &str) -> R<std::sync::Arc<Agent>> {
        let channels = self.channels_of(admin)?;
        self.agent(agent).filter(|a| channels.iter().any(|c| a.works(c))).ok_or(AppError::NotFound)
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
            .agents()
            .iter()
            .filter(|a| channels.iter().any(|c| a.works(c)))
            .map(|a| self.account_info(a, changed.get(&a.id).copied().unwrap_or(false), online.contains(&a.id)))
            .collect())
    }

    /// Creates an agent who works some of the admin's channels, with an already hashed
    /// password. Audited; they can sign in and take chats at once.
    ///
    /// # Errors
    /// `bad_request` for a bad field or a channel that isn't the admin's; `conflict` for an id
    /// that exists.
    pub fn create_agent(&self, store: &mut dyn Store, admin: &str, req: &AgentCreate, password_hash: &str, now_ms: u64) -> R<AgentAccountInfo> {
        let mine = self.channels_of(admin)?;
        if !crate::config::is_id(&req.id) {
            return Err(AppError::BadRequest("id: 1-64 of a-z, 0-9, '-' or '_'".into()));
        }
        let mut channels: Vec<String> = Vec::new();
        for c in &req.channels {
            if !mine.contains(c) {
                return Err(AppError::BadRequest(format!("channels: {c:?} is not one of your channels")));
            }
            if !channels.contains(c) {
                channels.push(c.clone());
            }
        }
        if channels.is_empty() {
            return Err(AppError::BadRequest("channels: give at least one of your channels".into()));
        }
        let role = match req.role.as_deref() {
            None => Role::Agent,
            Some(r) => parse_role(r).ok_or_else(|| AppError::BadRequest(format!("role: {r:?} is not agent, supervisor or admin")))?,
        };
        let profile = AgentProfile {
            name: label("name", &req.name)?,
            role: role.as_str().into(),
            channels,
            skills: check_skills(&req.skills)?,
            max_chats: check_max_chats(req.max_chats)?,
            team: check_team(req.team.as_deref())?,
        };
        if self.agent(&req.id).is_some() {
            return Err(AppError::Conflict(format!("agent {}", req.id)));
        }
        let value = serde_json::to_string(&profile).map_err(|e| AppError::BadRequest(e.to_string()))?;
        self.runtime_write(store, &format!("agent:{}", req.id), 0, &value, admin, now_ms)?;
        store.set_agent_account(&req.id, Some(false), Some(password_hash))?;
        let detail = format!("created: {}, {} of {}", profile.name, profile.role, profile.channels.join(" "));
        self.audit(store, admin, "agent", None, Some(&req.id), &detail, now_ms)?;
        self.reload_agents(store)?;
        self.publish_presence();
        tracing::info!(agent = %req.id, by = admin, "agent created");
        let a = self.agent(&req.id).ok_or(AppError::NotFound)?;
        Ok(self.account_info(&a, false, false))
    }

    /// Changes an agent of the admin's channels, if `version` is still theirs. Disabling or a
    /// new password ends every sign-in and closes their desks at once; skills, max chats and
    /// team apply to the next routing (run at once). Audited.
    ///
    /// # Errors
    /// `not_found` for an agent outside the admin's channels; `bad_request` for a bad field or
    /// disabling oneself; `conflict` for a stale version (nothing changed).
    pub fn manage_agent(&self, store: &mut dyn Store, admin: &str, agent: &str, version: u64, change: AgentChange, now_ms: u64) -> R<AgentAccountInfo> {
        let target = self.managed(admin, agent)?;
        if agent == admin && change.disabled == Some(true) {
            return Err(AppError::BadRequest("an admin can't disable themselves".into()));
        }
        let mut profile = AgentProfile::of(&target);
        let mut what: Vec<String> = Vec::new();
        if let Some(s) = &change.skills {
            profile.skills = check_skills(s)?;
            what.push(format!("skills {}", profile.skills.join(" ")));
        }
        if let Some(n) = change.max_chats {
            profile.max_chats = check_max_chats(n)?;
            what.push(format!("max_chats {n}"));
        }
        if let Some(t) = &change.team {
            profile.team = check_team(Some(t))?;
            what.push(format!("team {}", profile.team.as_deref().unwrap_or("(none)")));
        }
        if let Some(d) = change.disabled {
            what.push(if d { "disabled" } else { "enabled" }.into());
        }
        if change.password_hash.is_some() {
            what.push("password reset".into());
        }
        if what.is_empty() {
            return Err(AppError::BadRequest("say disabled, password, skills, max_chats or team".into()));
        }
        // Every change bumps the agent's version, so a stale edit of any field is refused.
        let value = serde_json::to_string(&profile).map_err(|e| AppError::BadRequest(e.to_string()))?;
        self.runtime_write(store, &format!("agent:{agent}"), version, &value, admin, now_ms)?;
        store.set_agent_account(agent, change.disabled, change.password_hash.as_deref())?;
        if change.disabled == Some(true) || change.password_hash.is_some() {
            let ended = store.agent_tokens_revoke(agent)?;
            self.publish(vec![Event::SignedOut { agent: agent.into() }]);
            tracing::info!(agent, by = admin, signins = ended.len(), "agent signed out everywhere");
        }
        self.audit(store, admin, "agent", None, Some(agent), &what.join(", "), now_ms)?;
        self.reload_agents(store)?;
        self.publish_presence();
        if self.hub.online_agents().iter().any(|a| a == agent) {
            // The desk shows its capacity; a raised one may take queued chats now.
            let profile = self.profile(store, agent)?;
            self.publish(vec![Event::Agent { agent: agent.into(), event: profile }]);
        }
        self.route(store, now_ms)?;
        let account = store.agent_account(agent)?;
        let a = self.agent(agent).ok_or(AppError::NotFound)?;
        Ok(self.account_info(&a, account.disabled, false))
    }
}
