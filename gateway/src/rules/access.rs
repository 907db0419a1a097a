//! Who may do what: the checks an agent action, a client id, a block or a tag list passes
//! before anything is written.

use consult_sdk::protocol::{BlockInfo, Body, MAX_CLIENT_ID_LEN, MAX_RATING_COMMENT_CHARS, SessionState, check_text};

use crate::config::Agent;
use crate::error::AppError;
use crate::store::{AgentWriteError, Attachment, SessionRow};

type R<T> = Result<T, AppError>;

/// What an agent asks to do with a session: the one list [`authorize`] checks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AgentAction {
    /// Read the session and its messages.
    View,
    /// Pick it from the queue.
    Take,
    /// Write into it, or show typing.
    Write,
    /// Hand it to another agent.
    Transfer,
    /// Close it.
    Close,
    /// Block its visitor.
    Block,
    /// Add an internal note (the assignee, or a supervisor).
    Note,
    /// Follow its messages read-only (supervisors).
    Watch,
    /// Give it to another agent or take it over, queued or assigned (supervisors).
    Reassign,
}

/// The one check every agent action on a session passes: the agent works the session's channel
/// (another channel's sessions look like no session at all), and the role allows the action
/// (the assignee, or a supervisor of that channel, for transfer, close, block and notes; the
/// assignee only, for writing; supervisors only, for watching and reassigning).
///
/// # Errors
/// `not_found`, `forbidden`, `not_assigned`.
pub fn authorize(me: &Agent, session: &SessionRow, action: AgentAction) -> R<()> {
    if !me.works(&session.channel) {
        return Err(AppError::NotFound);
    }
    let assignee = session.agent.as_deref() == Some(me.id.as_str());
    let allowed = match action {
        AgentAction::View | AgentAction::Take => true,
        AgentAction::Write => assignee,
        AgentAction::Transfer | AgentAction::Close | AgentAction::Block | AgentAction::Note => assignee || me.role.supervises(),
        AgentAction::Watch | AgentAction::Reassign => {
            if !me.role.supervises() {
                return Err(AppError::Forbidden(format!("{action:?} needs the supervisor or admin role").to_lowercase()));
            }
            true
        }
    };
    if allowed { Ok(()) } else { Err(AppError::AgentWrite(AgentWriteError::NotAssigned)) }
}

/// The visitor speaks first: an agent writes only into an open session assigned to them, so
/// never before the visitor's first message opened one, nor after a close. The stores ask this
/// of the row they read in the write's own transaction (under the session's lock on
/// PostgreSQL), which makes it hold across nodes.
///
/// # Errors
/// `NotOpen` (closed, or never opened), `NotAssigned` (queued, with the bot, or someone else's).
pub fn agent_may_write(session: &SessionRow, agent: &str) -> Result<(), AgentWriteError> {
    if session.state != SessionState::Assigned {
        return Err(if session.is_open() { AgentWriteError::NotAssigned } else { AgentWriteError::NotOpen });
    }
    if session.agent.as_deref() != Some(agent) {
        return Err(AgentWriteError::NotAssigned);
    }
    Ok(())
}

/// `agent` has a free slot with `load` chats now.
///
/// # Errors
/// `agent_full`.
pub fn has_room(agent: &Agent, load: u32) -> R<()> {
    if load >= agent.max_chats {
        return Err(AppError::AgentFull(agent.name.clone()));
    }
    Ok(())
}

/// A manual pick from the queue fits the agent's limit (supervisors may exceed it).
///
/// # Errors
/// `agent_full`.
pub fn may_take(me: &Agent, load: u32) -> R<()> {
    if me.role.supervises() { Ok(()) } else { has_room(me, load) }
}

/// Who a transfer of `session` to `target` comes from: the session is open and assigned, and
/// `target` works its channel (whether they have room is [`has_room`], under their lock).
///
/// # Errors
/// `session_not_open`, `not_assigned`, `bad_request` (target does not work the channel).
pub fn transfer_from(session: &SessionRow, target: &Agent) -> R<String> {
    if !session.is_open() {
        return Err(AppError::AgentWrite(AgentWriteError::NotOpen));
    }
    let from = session.agent.clone().ok_or(AppError::AgentWrite(AgentWriteError::NotAssigned))?;
    if !target.works(&session.channel) {
        return Err(AppError::BadRequest(format!("{} does not work this channel", target.name)));
    }
    Ok(from)
}

/// A supervisor's reassignment of `session` (with the bot, queued or assigned) to `target`:
/// the session is open, `target` works its channel and does not have it already (whether they
/// have room is [`has_room`], under their lock; a supervisor taking it over needs none).
///
/// # Errors
/// `bad_request`, `session_not_open`.
pub fn may_reassign(session: &SessionRow, target: &Agent) -> R<()> {
    if !target.works(&session.channel) {
        return Err(AppError::BadRequest(format!("{} does not work this channel", target.name)));
    }
    if !session.is_open() {
        return Err(AppError::AgentWrite(AgentWriteError::NotOpen));
    }
    if session.agent.as_deref() == Some(target.id.as_str()) {
        return Err(AppError::BadRequest(format!("{} has this chat already", target.name)));
    }
    Ok(())
}

/// A supervisor may lift a user key's blocks; an agent only when every block of it is theirs.
pub fn may_unblock(me: &Agent, blocks: &[BlockInfo], user_key: &str) -> bool {
    me.role.supervises() || blocks.iter().filter(|b| b.user_key == user_key).all(|b| b.agent == me.id)
}

/// A client-chosen message id: 1 to [`MAX_CLIENT_ID_LEN`] bytes.
///
/// # Errors
/// `bad_request`.
pub fn check_client_id(id: &str) -> R<()> {
    if id.is_empty() || id.len() > MAX_CLIENT_ID_LEN {
        return Err(AppError::BadRequest(format!("client_id must be 1 to {MAX_CLIENT_ID_LEN} bytes")));
    }
    Ok(())
}

/// When a block of `days` (1 to 3650) from `now_ms` ends.
///
/// # Errors
/// `bad_request`.
pub fn block_until(days: u32, now_ms: u64) -> R<u64> {
    if !(1..=3650).contains(&days) {
        return Err(AppError::BadRequest("block for 1 to 3650 days".into()));
    }
    Ok(now_ms + u64::from(days) * 86_400_000)
}

/// A session's tags as stored: trimmed, without a leading `#`, lowercase, unique, at most 10 of
/// 1-32 characters.
///
/// # Errors
/// `bad_request` naming the bad tag.
pub fn clean_tags(tags: &[String]) -> R<Vec<String>> {
    let mut clean: Vec<String> = Vec::new();
    for t in tags {
        let t = t.trim().trim_start_matches('#').to_lowercase();
        if t.is_empty() || clean.contains(&t) {
            continue;
        }
        if t.chars().count() > 32 || t.chars().any(char::is_control) {
            return Err(AppError::BadRequest(format!("tag {t:?}: at most 32 characters, no control characters")));
        }
        clean.push(t);
    }
    if clean.len() > 10 {
        return Err(AppError::BadRequest("at most 10 tags a session".into()));
    }
    Ok(clean)
}

/// Longest internal note, in characters.
pub const MAX_NOTE_CHARS: usize = 1000;

/// An internal note, trimmed: 1 to [`MAX_NOTE_CHARS`] characters.
///
/// # Errors
/// `bad_request`.
pub fn check_note(text: &str) -> R<&str> {
    let text = text.trim();
    if text.is_empty() || text.chars().count() > MAX_NOTE_CHARS {
        return Err(AppError::BadRequest(format!("a note is 1 to {MAX_NOTE_CHARS} characters")));
    }
    Ok(text)
}

/// A visitor's rating: a score of 1 to 5 and an optional comment, trimmed (blank is none), of at
/// most [`MAX_RATING_COMMENT_CHARS`] characters with no control characters but line breaks.
///
/// # Errors
/// `bad_request`.
pub fn check_rating(score: u8, comment: Option<String>) -> R<Option<String>> {
    if !(1..=5).contains(&score) {
        return Err(AppError::BadRequest("score must be 1 to 5".into()));
    }
    let comment = comment.map(|c| c.trim().to_string()).filter(|c| !c.is_empty());
    if comment.as_ref().is_some_and(|c| c.chars().count() > MAX_RATING_COMMENT_CHARS || c.chars().any(|ch| ch.is_control() && ch != '\n')) {
        return Err(AppError::BadRequest(format!("comment: at most {MAX_RATING_COMMENT_CHARS} characters")));
    }
    Ok(comment)
}

/// Who sends a body, for [`check_body`]: a visitor's attachments are their conversation's, an
/// agent's their own uploads.
#[derive(Debug, Clone, Copy)]
pub enum Uploader<'a> {
    /// The visitor of this conversation.
    Conversation(&'a str),
    /// This agent (or bot owner).
    Agent(&'a str),
}

/// A visitor's or agent's message body: text within the limits, or an upload of theirs
/// (`stored`, the attachment row the body names, if any) whose details fill the body.
/// Menus and cards come from the bot only.
///
/// # Errors
/// `bad_request` and the text errors (`empty_message`, `message_too_long`, ...).
pub fn check_body(body: Body, stored: Option<Attachment>, uploader: Uploader<'_>) -> R<Body> {
    match body {
        Body::Text { text } => {
            check_text(&text).map_err(AppError::Message)?;
            Ok(Body::Text { text })
        }
        Body::Image { .. } | Body::File { .. } => {
            let unknown = || AppError::BadRequest("unknown attachment".into());
            let a = stored.ok_or_else(unknown)?;
            let owned = match uploader {
                Uploader::Conversation(c) => a.conversation.as_deref() == Some(c),
                Uploader::Agent(ag) => a.agent.as_deref() == Some(ag),
            };
            if !owned {
                return Err(unknown());
            }
            Ok(if a.mime.starts_with("image/") {
                Body::Image { attachment: a.id, mime: a.mime, size: a.size }
            } else {
                Body::File { attachment: a.id, name: a.name, mime: a.mime, size: a.size }
            })
        }
        Body::Menu { .. } | Body::Cards { .. } => Err(AppError::BadRequest("menus and cards come from the bot only".into())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Role;
    use crate::rules::fixtures::{agent, session};
    use crate::store::AttachmentBytes;

    fn not_assigned(r: R<()>) -> bool {
        matches!(r, Err(AppError::AgentWrite(AgentWriteError::NotAssigned)))
    }

    #[test]
    fn only_the_assignee_writes_and_a_supervisor_may_close_or_block_but_not_write() {
        let mina = agent("mina", Role::Agent);
        let joon = agent("joon", Role::Agent);
        let boss = agent("boss", Role::Supervisor);
        let mine = session("s1", SessionState::Assigned, Some("mina"));
        assert!(authorize(&mina, &mine, AgentAction::Write).is_ok());
        assert!(not_assigned(authorize(&joon, &mine, AgentAction::Write)));
        assert!(not_assigned(authorize(&boss, &mine, AgentAction::Write)));
        for action in [AgentAction::Transfer, AgentAction::Close, AgentAction::Block, AgentAction::Note] {
            assert!(authorize(&mina, &mine, action).is_ok(), "{action:?}");
            assert!(authorize(&boss, &mine, action).is_ok(), "{action:?}");
            assert!(not_assigned(authorize(&joon, &mine, action)), "{action:?}");
        }
        // Anyone of the channel may look at or pick from the queue.
        let queued = session("s2", SessionState::Queued, None);
        assert!(authorize(&joon, &queued, AgentAction::View).is_ok());
        assert!(authorize(&joon, &queued, AgentAction::Take).is_ok());
    }

    #[test]
    fn the_visitor_speaks_first_and_nobody_writes_after_a_close() {
        // With the bot or in the queue (the visitor wrote, nobody has it yet): not the agent's.
        for state in [SessionState::Bot, SessionState::Queued, SessionState::Waiting] {
            assert_eq!(agent_may_write(&session("s", state, None), "mina"), Err(AgentWriteError::NotAssigned), "{state:?}");
        }
        assert_eq!(agent_may_write(&session("s", SessionState::Assigned, Some("mina")), "mina"), Ok(()));
        assert_eq!(agent_may_write(&session("s", SessionState::Assigned, Some("joon")), "mina"), Err(AgentWriteError::NotAssigned));
        // Closed: the visitor must write again before anyone may.
        assert_eq!(agent_may_write(&session("s", SessionState::Closed, Some("mina")), "mina"), Err(AgentWriteError::NotOpen));
    }

    #[test]
    fn watching_and_reassigning_need_a_supervisor_and_other_channels_look_like_nothing() {
        let mina = agent("mina", Role::Agent);
        let admin = agent("root", Role::Admin);
        let s = session("s1", SessionState::Assigned, Some("mina"));
        assert!(matches!(authorize(&mina, &s, AgentAction::Watch), Err(AppError::Forbidden(m)) if m.contains("supervisor")));
        assert!(matches!(authorize(&mina, &s, AgentAction::Reassign), Err(AppError::Forbidden(_))));
        assert!(authorize(&admin, &s, AgentAction::Reassign).is_ok());
        let mut elsewhere = agent("mina", Role::Admin);
        elsewhere.channels = vec!["other".into()];
        assert!(matches!(authorize(&elsewhere, &s, AgentAction::View), Err(AppError::NotFound)));
    }

    #[test]
    fn take_respects_max_chats_except_for_supervisors() {
        let mut mina = agent("mina", Role::Agent);
        mina.max_chats = 2;
        assert!(may_take(&mina, 1).is_ok());
        assert!(matches!(may_take(&mina, 2), Err(AppError::AgentFull(n)) if n == "Mina"));
        mina.role = Role::Supervisor;
        assert!(may_take(&mina, 5).is_ok());
    }

    #[test]
    fn transfer_needs_an_open_assigned_session_and_a_target_with_room_on_the_channel() {
        let mut joon = agent("joon", Role::Agent);
        joon.max_chats = 1;
        let s = session("s1", SessionState::Assigned, Some("mina"));
        assert_eq!(transfer_from(&s, &joon).unwrap(), "mina");
        assert!(has_room(&joon, 0).is_ok());
        assert!(matches!(has_room(&joon, 1), Err(AppError::AgentFull(n)) if n == "Joon"));
        let queued = session("s2", SessionState::Queued, None);
        assert!(not_assigned(transfer_from(&queued, &joon).map(drop)));
        let closed = session("s3", SessionState::Closed, Some("mina"));
        assert!(matches!(transfer_from(&closed, &joon), Err(AppError::AgentWrite(AgentWriteError::NotOpen))));
        joon.channels = vec!["other".into()];
        assert!(matches!(transfer_from(&s, &joon), Err(AppError::BadRequest(m)) if m.contains("does not work")));
    }

    #[test]
    fn a_reassignment_goes_to_someone_else_of_the_channel_while_the_session_is_open() {
        let joon = agent("joon", Role::Agent);
        assert!(may_reassign(&session("s", SessionState::Bot, None), &joon).is_ok());
        assert!(may_reassign(&session("s", SessionState::Assigned, Some("mina")), &joon).is_ok());
        assert!(matches!(may_reassign(&session("s", SessionState::Assigned, Some("joon")), &joon), Err(AppError::BadRequest(m)) if m.contains("already")));
        assert!(matches!(may_reassign(&session("s", SessionState::Closed, None), &joon), Err(AppError::AgentWrite(AgentWriteError::NotOpen))));
        let mut elsewhere = joon.clone();
        elsewhere.channels = vec!["other".into()];
        assert!(matches!(may_reassign(&session("s", SessionState::Queued, None), &elsewhere), Err(AppError::BadRequest(m)) if m.contains("does not work")));
    }

    #[test]
    fn notes_and_ratings_are_bounded_and_trimmed() {
        assert_eq!(check_note("  call back  ").unwrap(), "call back");
        assert!(check_note(" ").is_err());
        assert!(check_note(&"x".repeat(MAX_NOTE_CHARS + 1)).is_err());
        assert_eq!(check_rating(5, Some("  ".into())).unwrap(), None);
        assert_eq!(check_rating(1, Some(" slow\nbut kind ".into())).unwrap().as_deref(), Some("slow\nbut kind"));
        assert!(check_rating(0, None).is_err());
        assert!(check_rating(6, None).is_err());
        assert!(check_rating(3, Some("bell\u{7}".into())).is_err());
        assert!(check_rating(3, Some("x".repeat(MAX_RATING_COMMENT_CHARS + 1))).is_err());
    }

    #[test]
    fn an_agent_lifts_only_their_own_blocks() {
        let block = |agent: &str| BlockInfo { channel: "shop".into(), user_key: "u1".into(), until_ms: 1, reason: String::new(), agent: agent.into(), created_ms: 0 };
        let mina = agent("mina", Role::Agent);
        assert!(may_unblock(&mina, &[block("mina")], "u1"));
        assert!(!may_unblock(&mina, &[block("mina"), block("joon")], "u1"));
        assert!(may_unblock(&agent("boss", Role::Supervisor), &[block("joon")], "u1"));
    }

    #[test]
    fn client_ids_blocks_and_tags_are_bounded() {
        assert!(check_client_id("").is_err());
        assert!(check_client_id(&"x".repeat(MAX_CLIENT_ID_LEN)).is_ok());
        assert!(check_client_id(&"x".repeat(MAX_CLIENT_ID_LEN + 1)).is_err());
        assert_eq!(block_until(1, 1_000).unwrap(), 1_000 + 86_400_000);
        assert!(block_until(0, 0).is_err());
        assert!(block_until(3651, 0).is_err());
        let tags: Vec<String> = [" #VIP ", "vip", "", "refund"].map(String::from).into();
        assert_eq!(clean_tags(&tags).unwrap(), ["vip", "refund"]);
        assert!(clean_tags(&["x".repeat(33)]).is_err());
        let eleven: Vec<String> = (0..11).map(|i| format!("t{i}")).collect();
        assert!(clean_tags(&eleven).is_err());
    }

    #[test]
    fn bodies_are_checked_text_or_the_senders_own_upload() {
        assert!(matches!(check_body(Body::Text { text: "  ".into() }, None, Uploader::Agent("mina")), Err(AppError::Message(_))));
        let menu = Body::Menu { text: "pick".into(), options: vec![] };
        assert!(matches!(check_body(menu, None, Uploader::Conversation("c1")), Err(AppError::BadRequest(m)) if m.contains("bot only")));
        let upload = |conversation: Option<&str>, agent: Option<&str>, mime: &str| Attachment {
            id: "a1".into(),
            conversation: conversation.map(Into::into),
            agent: agent.map(Into::into),
            mime: mime.into(),
            name: "receipt.pdf".into(),
            size: 10,
            sha256: String::new(),
            bytes: AttachmentBytes::Blob("k".into()),
        };
        let asked = || Body::File { attachment: "a1".into(), name: String::new(), mime: String::new(), size: 0 };
        let filled = check_body(asked(), Some(upload(Some("c1"), None, "application/pdf")), Uploader::Conversation("c1")).unwrap();
        assert!(matches!(filled, Body::File { name, size: 10, .. } if name == "receipt.pdf"));
        let photo = check_body(asked(), Some(upload(None, Some("mina"), "image/png")), Uploader::Agent("mina")).unwrap();
        assert!(matches!(photo, Body::Image { .. }));
        // Someone else's upload, or none, is unknown.
        assert!(check_body(asked(), Some(upload(Some("c2"), None, "image/png")), Uploader::Conversation("c1")).is_err());
        assert!(check_body(asked(), Some(upload(None, Some("joon"), "image/png")), Uploader::Agent("mina")).is_err());
        assert!(check_body(asked(), None, Uploader::Agent("mina")).is_err());
    }
}
