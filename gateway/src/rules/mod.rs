//! The consult rules as plain functions over rows, configuration and `now`: no store, no
//! sockets, no clock, so they are tested natively like the widget's `chat.rs`.
//!
//! [`crate::core::Core`] reads the rows a rule needs, asks it, writes what it decided in the
//! storage job's transaction (the database stays the arbiter where nodes race: "visitor speaks
//! first", one assignment, an agent's load under its lock), and collects the [`Event`]s; once
//! the rule succeeded they go to [`crate::core::Core::publish`], which the hub holds until the
//! batch commits.
//!
//! Where is what: [`access`] (who may do what: agent actions, the visitor speaking first,
//! client ids, bodies, blocks, tags, notes, ratings), [`session`] (how a session opens and
//! moves: after hours, the queue, notices, the events a change sends), [`bot`] (the built-in
//! menu and FAQ, outside bots' buttons and fallback), [`routing`] (which agent gets a queued
//! session), [`timers`] (inactivity closes and warnings, quiet notices).

pub mod access;
pub mod bot;
mod events;
pub mod routing;
pub mod session;
pub mod timers;

#[cfg(test)]
pub(crate) mod fixtures;

pub use events::Event;
