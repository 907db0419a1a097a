//! Automatic assignment: which agent a queued session goes to.

use std::collections::HashMap;
use std::sync::Arc;

use crate::config::Agent;
use crate::store::SessionRow;

/// The agent a queued session goes to: among those who work its channel, are available, have
/// the session's category as a skill and a free slot (`loads`: open assigned chats per agent),
/// the least loaded; ties go to the lowest id, so every node picks the same one.
pub fn choose_agent<'a>(session: &SessionRow, agents: &'a [Arc<Agent>], available: impl Fn(&str) -> bool, loads: &HashMap<String, u32>) -> Option<&'a Arc<Agent>> {
    let load = |a: &Agent| loads.get(&a.id).copied().unwrap_or(0);
    agents
        .iter()
        .filter(|a| a.works(&session.channel) && available(&a.id))
        .filter(|a| session.category.as_ref().is_none_or(|c| a.skills.contains(c)))
        .filter(|a| load(a) < a.max_chats)
        .min_by_key(|a| (load(a), a.id.clone()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Role;
    use crate::rules::fixtures::{agent, session};
    use consult_sdk::protocol::SessionState;

    fn team() -> Vec<Arc<Agent>> {
        let mut mina = agent("mina", Role::Agent);
        mina.max_chats = 2;
        let mut joon = agent("joon", Role::Agent);
        joon.max_chats = 1;
        joon.skills = vec!["refund".into()];
        vec![Arc::new(mina), Arc::new(joon)]
    }

    fn loads(pairs: &[(&str, u32)]) -> HashMap<String, u32> {
        pairs.iter().map(|(a, n)| (a.to_string(), *n)).collect()
    }

    fn chosen(s: &SessionRow, agents: &[Arc<Agent>], online: &[&str], l: &HashMap<String, u32>) -> Option<String> {
        choose_agent(s, agents, |a| online.contains(&a), l).map(|a| a.id.clone())
    }

    #[test]
    fn the_least_loaded_available_agent_with_room_gets_it_and_ties_go_by_id() {
        let agents = team();
        let s = session("s1", SessionState::Queued, None);
        let all = ["mina", "joon"];
        assert_eq!(chosen(&s, &agents, &all, &loads(&[])).as_deref(), Some("joon"));
        assert_eq!(chosen(&s, &agents, &all, &loads(&[("joon", 1)])).as_deref(), Some("mina"));
        assert_eq!(chosen(&s, &agents, &all, &loads(&[("mina", 1)])).as_deref(), Some("joon"));
        // Both full: nobody, the session waits.
        assert_eq!(chosen(&s, &agents, &all, &loads(&[("mina", 2), ("joon", 1)])), None);
        // Away agents take nothing.
        assert_eq!(chosen(&s, &agents, &["mina"], &loads(&[])).as_deref(), Some("mina"));
        assert_eq!(chosen(&s, &agents, &[], &loads(&[])), None);
    }

    #[test]
    fn a_category_needs_the_skill_and_another_channel_is_never_routed_here() {
        let agents = team();
        let mut refund = session("s1", SessionState::Queued, None);
        refund.category = Some("refund".into());
        assert_eq!(chosen(&refund, &agents, &["mina", "joon"], &loads(&[])).as_deref(), Some("joon"));
        assert_eq!(chosen(&refund, &agents, &["mina", "joon"], &loads(&[("joon", 1)])), None);
        let mut elsewhere = session("s2", SessionState::Queued, None);
        elsewhere.channel = "other".into();
        let mut only_shop = team();
        Arc::make_mut(&mut only_shop[0]).channels = vec!["shop".into()];
        assert_eq!(chosen(&elsewhere, &only_shop[..1], &["mina"], &loads(&[])), None);
    }
}
