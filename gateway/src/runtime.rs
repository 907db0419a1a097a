//! What admins change at runtime, and the version check that keeps two admins from silently
//! undoing each other.
//!
//! Every runtime-editable thing has a row in `runtime_config` named `agent:<id>`, `canned`,
//! `switch:<channel>`, `hours:<channel>`… whose version a write must name (0 before the first
//! write). The agents live in an [`AgentDirectory`]: the configuration file seeds it, and an
//! agent's stored row wins over the file once an admin created or changed that agent. Every
//! node re-reads the rows on each tick, so a PostgreSQL cluster follows within a second.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};

use serde::{Deserialize, Serialize};

use crate::config::{Agent, Config, Role};
use crate::identity::Password;
use crate::core::Core;
use crate::error::AppError;
use crate::store::{RuntimeEntry, Store};

type R<T> = Result<T, AppError>;

/// The stored part of an agent (the password lives in `agent_accounts`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AgentProfile {
    /// Display name.
    pub name: String,
    /// `agent`, `supervisor` or `admin`.
    pub role: String,
    /// Channels worked (empty: all).
    pub channels: Vec<String>,
    /// Bot categories taken.
    pub skills: Vec<String>,
    /// Most chats at once.
    pub max_chats: u32,
    /// Team.
    #[serde(default)]
    pub team: Option<String>,
}

impl AgentProfile {
    /// The profile of an agent as it is now.
    pub fn of(a: &Agent) -> AgentProfile {
        AgentProfile { name: a.name.clone(), role: a.role.as_str().into(), channels: a.channels.clone(), skills: a.skills.clone(), max_chats: a.max_chats, team: a.team.clone() }
    }
}

/// Parses a role name.
pub fn parse_role(s: &str) -> Option<Role> {
    match s {
        "agent" => Some(Role::Agent),
        "supervisor" => Some(Role::Supervisor),
        "admin" => Some(Role::Admin),
        _ => None,
    }
}

/// The agents as they are now, with their versions.
#[derive(Debug, Default)]
pub struct Directory {
    /// File agents first (in file order), then agents created at runtime (by id).
    pub agents: Vec<Arc<Agent>>,
    index: HashMap<String, usize>,
    versions: HashMap<String, u64>,
}

/// The runtime agent directory every rule reads (never `config.agents` directly).
#[derive(Debug, Default)]
pub struct AgentDirectory(RwLock<Arc<Directory>>);

impl AgentDirectory {
    /// The file's agents, before anything stored is read.
    pub fn seeded(config: &Config) -> AgentDirectory {
        let d = AgentDirectory::default();
        d.reload(config, Vec::new());
        d
    }

    /// The directory now (cheap: one `Arc`).
    pub fn snapshot(&self) -> Arc<Directory> {
        self.0.read().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// Rebuilds from the file and the stored `agent:` rows, unless the versions are unchanged.
    pub fn reload(&self, config: &Config, entries: Vec<RuntimeEntry>) {
        let now = self.snapshot();
        let unchanged = !now.agents.is_empty()
            && entries.len() == now.versions.len()
            && entries.iter().all(|e| e.name.strip_prefix("agent:").is_some_and(|id| now.versions.get(id) == Some(&e.version)));
        if unchanged {
            return;
        }
        let mut agents: Vec<Agent> = config.agents.clone();
        let mut versions = HashMap::new();
        for e in entries {
            let Some(id) = e.name.strip_prefix("agent:") else { continue };
            let Ok(p) = serde_json::from_str::<AgentProfile>(&e.value) else {
                tracing::warn!(agent = id, "stored agent row unreadable; the file's holds");
                continue;
            };
            versions.insert(id.to_string(), e.version);
            let apply = |a: &mut Agent| {
                a.name = p.name.clone();
                a.role = parse_role(&p.role).unwrap_or(Role::Agent);
                a.channels = p.channels.clone();
                a.skills = p.skills.clone();
                a.max_chats = p.max_chats;
                a.team = p.team.clone();
            };
            match agents.iter_mut().find(|a| a.id == id) {
                Some(a) => apply(a),
                None => {
                    // Created at runtime: the password is the one stored in agent_accounts.
                    let mut a = Agent { id: id.into(), name: String::new(), password: Password::Hash(String::new()), skills: Vec::new(), max_chats: 0, role: Role::Agent, channels: Vec::new(), team: None };
                    apply(&mut a);
                    agents.push(a);
                }
            }
        }
        let index = agents.iter().enumerate().map(|(i, a)| (a.id.clone(), i)).collect();
        let agents = agents.into_iter().map(Arc::new).collect();
        *self.0.write().unwrap_or_else(|e| e.into_inner()) = Arc::new(Directory { agents, index, versions });
    }
}

impl Directory {
    /// One agent.
    pub fn get(&self, id: &str) -> Option<&Arc<Agent>> {
        self.index.get(id).map(|&i| &self.agents[i])
    }

    /// An agent's version (0: as the file says, never changed here).
    pub fn version(&self, id: &str) -> u64 {
        self.versions.get(id).copied().unwrap_or(0)
    }
}

impl Core {
    /// An agent as it is now.
    pub fn agent(&self, id: &str) -> Option<Arc<Agent>> {
        self.directory.snapshot().get(id).cloned()
    }

    /// Every agent as they are now.
    pub fn agents(&self) -> Vec<Arc<Agent>> {
        self.directory.snapshot().agents.clone()
    }

    /// Re-reads the stored agents (each tick, at start, after a change).
    ///
    /// # Errors
    /// Storage failures.
    pub fn reload_agents(&self, store: &mut dyn Store) -> R<()> {
        self.directory.reload(&self.config, store.runtime_list("agent:")?);
        Ok(())
    }

    /// The stored version of a runtime entry (0: never written).
    ///
    /// # Errors
    /// Storage failures.
    pub fn runtime_version(&self, store: &mut dyn Store, name: &str) -> R<u64> {
        Ok(store.runtime_list(name)?.into_iter().find(|e| e.name == name).map_or(0, |e| e.version))
    }

    /// Writes a runtime entry if `expected` is still its version; answers the new one.
    ///
    /// # Errors
    /// `conflict` when someone wrote it since (nothing is written); storage failures.
    pub fn runtime_write(&self, store: &mut dyn Store, name: &str, expected: u64, value: &str, by: &str, now_ms: u64) -> R<u64> {
        store.runtime_put(name, expected, value, by, now_ms)?.ok_or_else(|| AppError::Conflict(name.replace(':', " ")))
    }
}
