//! The chat app's state and its update rules: `update(&mut State, Msg) -> Vec<Effect>`. No DOM and
//! no I/O here; `dom.rs` and `app.rs` carry the effects out.

use consult_sdk::EntryPoint;
use consult_sdk::protocol::{
    Body, ChatMessage, CloseReason, ErrorBody, FrameMessage, LaunchRequest, LaunchResponse, Sender, SessionState,
    VisitorCommand, VisitorEvent, text_error_code,
};

use crate::i18n::Locale;
use crate::session::{SessionClient, SessionOutput};
use crate::text::cat;

/// Socket errors that mean the stored session handle is dead: launch afresh.
const DEAD_SESSION_CODES: [&str; 4] = ["unknown_session", "session_expired", "invalid_session", "unauthorized"];
/// Connection attempts that never got a `welcome` before a resumed session is given up.
const RESUME_ATTEMPTS: u32 = 3;

/// Where the chat runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// In the launcher's panel (or its full-screen frame on mobile) on a host page.
    Embedded,
    /// As the whole page (`/l/…`, `/P/…`, `/H/…`).
    FullPage,
}

/// Where the launch stands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Phase {
    /// Embedded, waiting for the launcher's `launch`.
    AwaitingLaunch,
    /// `POST /v1/launch` under way.
    Launching,
    /// A session handle is held; the socket connects and reconnects.
    Live,
    /// The launch was refused.
    Failed(ErrorBody),
    /// A phone took the chat over.
    HandedOff,
}

/// The handoff code the gateway rendered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HandoffCode {
    /// URL the QR code holds.
    pub url: String,
    /// The QR code as SVG.
    pub svg: String,
    /// Expiry, Unix seconds.
    pub expires_at: u64,
}

/// What sessionStorage keeps so a reload resumes the same session.
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(test, derive(serde::Serialize, serde::Deserialize))]
pub struct Stored {
    /// The launch answer (session handle, channel as shown).
    pub launch: LaunchResponse,
    /// Highest seq the visitor has seen: older messages are history, not news.
    pub seen_seq: u64,
}

impl crate::json::FromJson for Stored {
    fn from_json(j: &crate::json::Json) -> Option<Self> {
        Some(Stored { launch: crate::json::FromJson::from_json(j.get("launch")?)?, seen_seq: j.u64("seen_seq")? })
    }
}

impl crate::json::ToJson for Stored {
    fn write_json(&self, out: &mut String) {
        crate::json::ObjectWriter::new(out).val("launch", &self.launch).u64("seen_seq", self.seen_seq).end();
    }
}

/// Input to [`update`].
#[derive(Debug, Clone, PartialEq)]
pub enum Msg {
    /// Start or show the chat (launcher `launch` message, or the full-page route).
    Launch {
        /// The launch request (host origin already filled in by the bridge).
        request: LaunchRequest,
        /// Text to prefill the composer with.
        prefill: Option<String>,
    },
    /// A session stored by an earlier load of this tab.
    Resume(Stored),
    /// `POST /v1/launch` answered.
    Launched(LaunchResponse),
    /// `POST /v1/launch` failed.
    LaunchFailed(ErrorBody),
    /// The socket opened.
    SocketOpened,
    /// The socket closed or failed to open.
    SocketClosed,
    /// An event from the gateway.
    Socket(VisitorEvent),
    /// The visitor submitted the composer.
    Submit(String),
    /// "End chat": the visitor leaves; writing again starts a new chat.
    Leave,
    /// The visitor picked a bot menu option.
    Choose {
        /// Option id.
        option: String,
    },
    /// The composer became empty or non-empty.
    Drafting(bool),
    /// A photo or file was uploaded: send it.
    Uploaded(Body),
    /// An upload failed.
    UploadFailed(ErrorBody),
    /// "Continue on your phone".
    StartHandoff,
    /// "Chat here" (dismiss the QR code).
    CancelHandoff,
    /// The launcher hid the panel.
    Hidden,
    /// The visitor closed the panel from inside (close button, Escape).
    CloseRequested,
    /// The host page's route changed.
    Context(EntryPoint),
    /// Forget the visitor (logout).
    Shutdown,
    /// A score (1–5) picked in the rating after a chat with an agent ended.
    PickScore(u8),
    /// Send the picked score with this (optional) comment.
    Rate(String),
    /// No rating this time.
    SkipRating,
}

/// The satisfaction question after a chat with an agent ends: once per session, skippable.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rating {
    /// Not asked.
    Off,
    /// Asked; the score picked so far.
    Ask(Option<u8>),
}

/// What [`update`] asks the outside to do.
#[derive(Debug, Clone, PartialEq)]
pub enum Effect {
    /// `POST /v1/launch`.
    PostLaunch(LaunchRequest),
    /// Open the visitor socket for this session handle.
    Connect(String),
    /// Open it again after a delay, in ms (the caller adds jitter).
    ReconnectIn(u32),
    /// Close the socket for good.
    Disconnect,
    /// Write a command on the socket.
    Transmit(VisitorCommand),
    /// Show the channel header and its guidance message (first in the list).
    ShowChannel,
    /// Show a stored message, replacing the pending bubble of the same client id.
    ShowMessage(ChatMessage),
    /// Show a send waiting for its acknowledgement.
    ShowPending {
        /// Client id.
        client_id: String,
        /// What was sent.
        body: Body,
    },
    /// Mark a pending send as failed.
    FailPending(String),
    /// A line of the app's own in the list (not stored): "Mina joined the chat".
    ShowNote(String),
    /// Redraw the status line, banners, handoff view and composer from the state.
    Render,
    /// Say this through the ARIA live region.
    Announce(String),
    /// postMessage to the launcher (embedded mode only).
    ToLauncher(FrameMessage),
    /// Write (or, with `None`, clear) the session in sessionStorage.
    Store(Option<Stored>),
    /// Write (or clear) the anonymous visitor key in localStorage.
    StoreVisitorKey(Option<String>),
    /// Replace the composer text.
    SetDraft(String),
    /// Move focus into the composer.
    FocusComposer,
    /// Remove every message from the view.
    ClearMessages,
    /// "Read" under the visitor's last message at or before this seq (and nowhere else).
    MarkRead(u64),
    /// Show this option of the menu message `menu_seq` as the visitor's answer (others inert).
    MarkChosen {
        /// The menu message's seq.
        menu_seq: u64,
        /// The chosen option's id.
        option: String,
    },
}

/// The whole chat app state.
#[derive(Debug, Clone)]
pub struct State {
    /// Embedded or full page.
    pub mode: Mode,
    /// UI language.
    pub locale: Locale,
    /// Launch phase.
    pub phase: Phase,
    /// The launch answer once live.
    pub launch: Option<LaunchResponse>,
    /// The session client.
    pub session: SessionClient,
    /// Conversation state as the gateway reports it.
    pub conversation: SessionState,
    /// Queue position when queued.
    pub queue_position: Option<u32>,
    /// Assigned agent's name.
    pub agent_name: Option<String>,
    /// The agent is typing.
    pub agent_typing: bool,
    /// Welcomed on the current socket.
    pub connected: bool,
    /// The panel is on screen.
    pub visible: bool,
    /// Messages from others not yet seen.
    pub unread: u32,
    /// Highest seq seen by the visitor.
    pub seen_seq: u64,
    /// A QR handoff was asked for and not dismissed.
    pub handoff_requested: bool,
    /// The handoff code, once the gateway sent it.
    pub handoff: Option<HandoffCode>,
    /// A one-line notice (upload failed, message too long, blocked…).
    pub notice: Option<String>,
    /// The anonymous visitor key from localStorage.
    pub visitor_key: Option<String>,
    /// The last launch request, to launch again when a stored session turns out dead.
    pub last_request: Option<LaunchRequest>,
    /// The newest bot menu not answered yet (seq, options): the visitor's stored `choose` (a
    /// message with the option's label) marks its option, on reload as much as live.
    pub open_menu: Option<(u64, Vec<consult_sdk::protocol::MenuOption>)>,
    /// The rating question.
    pub rating: Rating,
    /// The expected wait while queued, seconds (from the gateway's recent data).
    pub wait_secs: Option<u32>,
    /// Highest seq the agents have read.
    pub agent_read_seq: u64,
    client_id_prefix: String,
    generation: u32,
    typing_sent: bool,
}

impl State {
    /// A fresh app. `client_id_prefix` must be random per page load.
    pub fn new(mode: Mode, locale: Locale, client_id_prefix: String, visitor_key: Option<String>) -> State {
        State {
            mode,
            locale,
            phase: if mode == Mode::Embedded { Phase::AwaitingLaunch } else { Phase::Launching },
            launch: None,
            session: SessionClient::new(client_id_prefix.clone(), 0),
            conversation: SessionState::Waiting,
            queue_position: None,
            agent_name: None,
            agent_typing: false,
            connected: false,
            visible: mode == Mode::FullPage,
            unread: 0,
            seen_seq: 0,
            handoff_requested: false,
            handoff: None,
            notice: None,
            visitor_key,
            last_request: None,
            open_menu: None,
            rating: Rating::Off,
            wait_secs: None,
            agent_read_seq: 0,
            client_id_prefix,
            generation: 0,
            typing_sent: false,
        }
    }

    /// A chat is open (bot, queued or with an agent) and can be ended.
    pub fn can_leave(&self) -> bool {
        matches!(self.phase, Phase::Live) && matches!(self.conversation, SessionState::Bot | SessionState::Queued | SessionState::Assigned)
    }

    /// The session handle, when live.
    pub fn session_handle(&self) -> Option<&str> {
        self.launch.as_ref().map(|l| l.session.as_str())
    }

    fn stored(&self) -> Option<Stored> {
        self.launch.clone().map(|launch| Stored { launch, seen_seq: self.seen_seq })
    }

    /// Back to a clean, unlaunched app (same mode and language).
    fn reset(&mut self) {
        let generation = self.generation + 1;
        let prefix = self.client_id_prefix.clone();
        *self = State::new(self.mode, self.locale, prefix.clone(), None);
        self.generation = generation;
        let mut prefix = crate::text::cat(&[&prefix, "g"]);
        crate::text::push_u64(&mut prefix, u64::from(generation));
        self.session = SessionClient::new(prefix, 0);
        self.phase = Phase::AwaitingLaunch;
    }
}

/// Applies one message.
pub fn update(state: &mut State, msg: Msg) -> Vec<Effect> {
    let mut fx = Vec::new();
    match msg {
        Msg::Launch { mut request, prefill } => {
            if request.visitor_key.is_none() {
                request.visitor_key = state.visitor_key.clone();
            }
            if request.locale.is_none() {
                request.locale = Some(state.locale.tag().to_string());
            }
            state.last_request = Some(request.clone());
            if matches!(state.phase, Phase::AwaitingLaunch | Phase::Failed(_))
                || (matches!(state.phase, Phase::Launching) && state.mode == Mode::FullPage)
            {
                state.phase = Phase::Launching;
                fx.push(Effect::PostLaunch(request));
            }
            if let Some(text) = prefill {
                fx.push(Effect::SetDraft(text));
            }
            show(state, &mut fx);
            fx.push(Effect::Render);
            fx.push(Effect::FocusComposer);
        }
        Msg::Resume(stored) => {
            state.seen_seq = stored.seen_seq;
            go_live(state, stored.launch, &mut fx);
        }
        Msg::Launched(launch) => {
            if !matches!(state.phase, Phase::Launching) {
                return fx; // a shutdown happened meanwhile
            }
            if state.visitor_key.as_deref() != Some(launch.visitor_key.as_str()) {
                state.visitor_key = Some(launch.visitor_key.clone());
                fx.push(Effect::StoreVisitorKey(state.visitor_key.clone()));
            }
            go_live(state, launch, &mut fx);
            fx.push(Effect::Store(state.stored()));
        }
        Msg::LaunchFailed(error) => {
            if !matches!(state.phase, Phase::Launching) {
                return fx;
            }
            state.phase = Phase::Failed(error.clone());
            fx.push(Effect::Render);
            fx.push(Effect::Announce(cat(&[state.locale.strings().launch_failed, ": ", &state.locale.error(&error.code)])));
            fx.push(Effect::ToLauncher(FrameMessage::Error { error }));
        }
        Msg::SocketOpened => {
            if matches!(state.phase, Phase::Live) {
                let handle = state.session_handle().unwrap_or_default().to_string();
                let outputs = state.session.opened(&handle);
                session_outputs(state, outputs, &mut fx);
            }
        }
        Msg::SocketClosed => {
            if !matches!(state.phase, Phase::Live) {
                return fx;
            }
            state.connected = false;
            state.agent_typing = false;
            let delay = state.session.closed();
            if state.session.failed_connects() >= RESUME_ATTEMPTS && state.session.last_seq() == 0 {
                // Never welcomed and nothing ever shown: the stored handle is probably dead.
                relaunch(state, &mut fx);
            } else {
                fx.push(Effect::ReconnectIn(delay));
                fx.push(Effect::Render);
            }
        }
        Msg::Socket(event) => {
            if !matches!(state.phase, Phase::Live) {
                return fx;
            }
            let outputs = state.session.receive(event);
            session_outputs(state, outputs, &mut fx);
        }
        Msg::Submit(text) => {
            let text = text.trim().to_string();
            if let Some(code) = text_error_code(&text) {
                if code != "empty_message" {
                    state.notice = Some(state.locale.error(code));
                    fx.push(Effect::Render);
                }
                return fx;
            }
            fx.push(Effect::SetDraft(String::new()));
            send(state, Body::Text { text }, &mut fx);
        }
        Msg::Uploaded(body) => send(state, body, &mut fx),
        Msg::UploadFailed(error) => {
            state.notice = Some(cat(&[state.locale.strings().upload_failed, ": ", &state.locale.error(&error.code)]));
            fx.push(Effect::Render);
            fx.push(Effect::Announce(state.notice.clone().unwrap_or_default()));
        }
        Msg::Leave => {
            if state.connected && state.can_leave() {
                let outputs = state.session.transient(VisitorCommand::Leave);
                session_outputs(state, outputs, &mut fx);
                if state.conversation == SessionState::Assigned {
                    state.rating = Rating::Ask(None);
                }
                state.conversation = SessionState::Closed;
                state.queue_position = None;
                state.agent_typing = false;
                fx.push(Effect::Announce(state.locale.strings().chat_ended.to_string()));
                fx.push(Effect::Render);
                fx.push(Effect::FocusComposer);
            }
        }
        Msg::Choose { option } => {
            let (_, outputs) = state.session.choose(option);
            session_outputs(state, outputs, &mut fx);
        }
        Msg::Drafting(active) => {
            if active != state.typing_sent {
                state.typing_sent = active;
                let outputs = state.session.transient(VisitorCommand::Typing { active });
                session_outputs(state, outputs, &mut fx);
            }
        }
        Msg::StartHandoff => {
            state.handoff_requested = true;
            let outputs = state.session.transient(VisitorCommand::StartHandoff);
            session_outputs(state, outputs, &mut fx);
            fx.push(Effect::Render);
        }
        Msg::CancelHandoff => {
            state.handoff_requested = false;
            state.handoff = None;
            fx.push(Effect::Render);
            fx.push(Effect::FocusComposer);
        }
        Msg::Hidden => state.visible = state.mode == Mode::FullPage,
        Msg::CloseRequested => {
            if state.mode == Mode::Embedded {
                state.visible = false;
                fx.push(Effect::ToLauncher(FrameMessage::Close));
            }
        }
        Msg::Context(declared) => {
            let Some(request) = &mut state.last_request else { return fx };
            // Only a real change reaches the agent (declared, unverified: see the protocol).
            if request.declared != declared {
                request.declared = declared.clone();
                if matches!(state.phase, Phase::Live) {
                    let outputs = state.session.transient(VisitorCommand::Context { declared });
                    session_outputs(state, outputs, &mut fx);
                }
            }
        }
        Msg::PickScore(score) => {
            if matches!(state.rating, Rating::Ask(_)) && (1..=5).contains(&score) {
                state.rating = Rating::Ask(Some(score));
                fx.push(Effect::Render);
            }
        }
        Msg::Rate(comment) => {
            let Rating::Ask(Some(score)) = state.rating else { return fx };
            let comment = Some(comment.trim().to_string()).filter(|c| !c.is_empty());
            let outputs = state.session.transient(VisitorCommand::Rate { score, comment });
            session_outputs(state, outputs, &mut fx);
            state.rating = Rating::Off;
            let thanks = state.locale.strings().rate_thanks.to_string();
            fx.push(Effect::ShowNote(thanks.clone()));
            fx.push(Effect::Announce(thanks));
            fx.push(Effect::Render);
        }
        Msg::SkipRating => {
            state.rating = Rating::Off;
            fx.push(Effect::Render);
            fx.push(Effect::FocusComposer);
        }
        Msg::Shutdown => {
            fx.push(Effect::Disconnect);
            fx.push(Effect::Store(None));
            fx.push(Effect::StoreVisitorKey(None));
            fx.push(Effect::ClearMessages);
            state.reset();
            fx.push(Effect::SetDraft(String::new()));
            fx.push(Effect::Render);
            fx.push(Effect::ToLauncher(FrameMessage::Unread { count: 0 }));
        }
    }
    fx
}

fn go_live(state: &mut State, launch: LaunchResponse, fx: &mut Vec<Effect>) {
    let handle = launch.session.clone();
    state.launch = Some(launch);
    state.phase = Phase::Live;
    fx.push(Effect::ShowChannel);
    fx.push(Effect::Connect(handle));
    fx.push(Effect::Render);
}

fn relaunch(state: &mut State, fx: &mut Vec<Effect>) {
    fx.push(Effect::Disconnect);
    fx.push(Effect::Store(None));
    fx.push(Effect::ClearMessages);
    let request = state.last_request.take();
    let visible = state.visible;
    let visitor_key = state.visitor_key.clone();
    state.reset();
    state.visible = visible;
    state.visitor_key = visitor_key;
    if let Some(mut request) = request {
        request.visitor_key = state.visitor_key.clone();
        state.last_request = Some(request.clone());
        state.phase = Phase::Launching;
        fx.push(Effect::PostLaunch(request));
    }
    fx.push(Effect::Render);
}

fn send(state: &mut State, body: Body, fx: &mut Vec<Effect>) {
    state.notice = None;
    state.typing_sent = false;
    let (client_id, outputs) = state.session.send(body.clone());
    fx.push(Effect::ShowPending { client_id, body });
    session_outputs(state, outputs, fx);
    fx.push(Effect::Render);
}

/// Marks everything delivered as seen (the panel is on screen).
fn show(state: &mut State, fx: &mut Vec<Effect>) {
    state.visible = true;
    if state.unread > 0 {
        state.unread = 0;
        fx.push(Effect::ToLauncher(FrameMessage::Unread { count: 0 }));
    }
    mark_seen(state, fx);
}

fn mark_seen(state: &mut State, fx: &mut Vec<Effect>) {
    let last = state.session.last_seq();
    if state.visible && last > state.seen_seq {
        state.seen_seq = last;
        for out in state.session.transient(VisitorCommand::Read { seq: last }) {
            if let SessionOutput::Transmit(c) = out {
                fx.push(Effect::Transmit(c));
            }
        }
        fx.push(Effect::Store(state.stored()));
    }
}

fn session_outputs(state: &mut State, outputs: Vec<SessionOutput>, fx: &mut Vec<Effect>) {
    let strings = state.locale.strings();
    let mut delivered_news = false;
    for out in outputs {
        match out {
            SessionOutput::Transmit(command) => fx.push(Effect::Transmit(command)),
            SessionOutput::Confirmed { .. } => {}
            SessionOutput::Rejected { client_id, error } => {
                fx.push(Effect::FailPending(client_id));
                state.notice = Some(state.locale.error(&error.code));
                fx.push(Effect::Announce(strings.send_failed.to_string()));
                fx.push(Effect::Render);
            }
            SessionOutput::Deliver(message) => {
                let news = message.seq > state.seen_seq && !matches!(message.sender, Sender::Visitor);
                if let Sender::Agent { .. } = message.sender {
                    state.agent_typing = false;
                }
                if news {
                    delivered_news = true;
                    fx.push(Effect::Announce(announcement(state.locale, &message)));
                    fx.push(Effect::ToLauncher(FrameMessage::Message { message: message.clone() }));
                    if !state.visible {
                        state.unread += 1;
                        fx.push(Effect::ToLauncher(FrameMessage::Unread { count: state.unread }));
                    }
                }
                let chosen = chosen_option(state, &message);
                fx.push(Effect::ShowMessage(message));
                fx.extend(chosen);
            }
            SessionOutput::Event(event) => on_event(state, event, fx),
        }
    }
    if delivered_news {
        fx.push(Effect::Render);
    }
    mark_seen(state, fx);
}

/// Tracks the open bot menu; a visitor message carrying one of its labels is the stored answer.
fn chosen_option(state: &mut State, message: &ChatMessage) -> Option<Effect> {
    match (&message.sender, &message.body) {
        (Sender::Bot, Body::Menu { options, .. }) => {
            state.open_menu = Some((message.seq, options.clone()));
            None
        }
        (Sender::Visitor, Body::Text { text }) => {
            let (menu_seq, options) = state.open_menu.as_ref()?;
            let option = options.iter().find(|o| o.url.is_none() && o.label == *text)?.id.clone();
            let menu_seq = *menu_seq;
            state.open_menu = None;
            Some(Effect::MarkChosen { menu_seq, option })
        }
        _ => None,
    }
}

fn on_event(state: &mut State, event: VisitorEvent, fx: &mut Vec<Effect>) {
    let strings = state.locale.strings();
    match event {
        VisitorEvent::Welcome { state: conversation, queue_position, agent_name, .. } => {
            state.connected = true;
            state.conversation = conversation;
            state.queue_position = queue_position;
            if conversation != SessionState::Queued {
                state.wait_secs = None;
            }
            state.agent_name = agent_name;
            if state.handoff_requested && state.handoff.is_none() {
                // Asked while offline: ask again now.
                fx.push(Effect::Transmit(VisitorCommand::StartHandoff));
            }
            fx.push(Effect::Render);
        }
        VisitorEvent::State { state: conversation, queue_position, agent_name, reason } => {
            let newly_assigned = conversation == SessionState::Assigned
                && agent_name.is_some()
                && (state.conversation != SessionState::Assigned || state.agent_name != agent_name);
            if newly_assigned {
                let joined = strings.agent_joined(agent_name.as_deref().unwrap_or_default());
                // A transfer brings the gateway's own line; a first join is said here.
                if state.conversation != SessionState::Assigned {
                    fx.push(Effect::ShowNote(joined.clone()));
                }
                fx.push(Effect::Announce(joined));
            }
            if conversation == SessionState::Closed && state.conversation != SessionState::Closed {
                fx.push(Effect::Announce(strings.chat_ended.to_string()));
                // Asked once, after a chat an agent had; never after a block or a move to a phone.
                if state.conversation == SessionState::Assigned && !matches!(reason, Some(CloseReason::Blocked | CloseReason::HandedOff)) {
                    state.rating = Rating::Ask(None);
                }
            } else if conversation != SessionState::Closed {
                state.rating = Rating::Off;
            }
            state.conversation = conversation;
            state.queue_position = queue_position;
            if conversation != SessionState::Queued {
                state.wait_secs = None;
            }
            state.agent_name = agent_name;
            state.agent_typing = false;
            if reason == Some(CloseReason::Blocked) {
                fx.push(Effect::Store(None));
            }
            fx.push(Effect::Render);
        }
        VisitorEvent::Closing { .. } => {
            let text = strings.closing_soon.to_string();
            fx.push(Effect::Announce(text.clone()));
            state.notice = Some(text);
            fx.push(Effect::Render);
        }
        VisitorEvent::Read { seq } => {
            if seq > state.agent_read_seq {
                state.agent_read_seq = seq;
                fx.push(Effect::MarkRead(seq));
            }
        }
        VisitorEvent::Wait { secs } => {
            state.wait_secs = (state.conversation == SessionState::Queued).then_some(secs);
            fx.push(Effect::Render);
        }
        VisitorEvent::Typing { active } => {
            state.agent_typing = active;
            fx.push(Effect::Render);
        }
        VisitorEvent::Handoff { url, svg, expires_at } => {
            if state.handoff_requested {
                state.handoff = Some(HandoffCode { url, svg, expires_at });
                fx.push(Effect::Render);
            }
        }
        VisitorEvent::HandedOff => {
            state.phase = Phase::HandedOff;
            state.handoff = None;
            state.handoff_requested = false;
            state.connected = false;
            fx.push(Effect::Disconnect);
            fx.push(Effect::Store(None));
            fx.push(Effect::Announce(strings.handed_off.to_string()));
            fx.push(Effect::Render);
        }
        VisitorEvent::Error { code, message, .. } => {
            if DEAD_SESSION_CODES.contains(&code.as_str()) {
                relaunch(state, fx);
            } else {
                let _ = message; // English, for developers: the visitor reads the localized text
                let text = state.locale.error(&code);
                fx.push(Effect::Announce(text.clone()));
                state.notice = Some(text);
                fx.push(Effect::Render);
            }
        }
        // Consumed by the session client.
        VisitorEvent::Message { .. } | VisitorEvent::Ack { .. } => {}
    }
}

/// What the live region says for a new message.
pub fn announcement(locale: Locale, message: &ChatMessage) -> String {
    let strings = locale.strings();
    let who = match &message.sender {
        Sender::Agent { name, .. } => name.as_str(),
        Sender::Bot => strings.bot,
        Sender::System => strings.title,
        Sender::Visitor => strings.you,
    };
    let what = match &message.body {
        Body::Text { text } | Body::Menu { text, .. } | Body::Cards { text, .. } => text.as_str(),
        Body::Image { .. } => strings.photo_alt,
        Body::File { name, .. } => name.as_str(),
    };
    cat(&[strings.new_message_from, ", ", who, ": ", what])
}

#[cfg(test)]
mod tests {
    use super::*;
    use consult_sdk::protocol::{ChannelInfo, ChannelStatus};

    fn launch_response() -> LaunchResponse {
        LaunchResponse {
            session: "S1".into(),
            visitor_key: "V1".into(),
            channel: ChannelInfo {
                id: "demo-shop".into(),
                name: "Demo Shop".into(),
                guidance: "Chats are kept 3 years.".into(),
                status: ChannelStatus { enabled: true, open_now: true, next_opening: None, after_hours_message: None, color: None, logo: None },
                welcome: None,
            },
            verified: false,
        }
    }

    fn request() -> LaunchRequest {
        LaunchRequest { channel: "demo-shop".into(), host_origin: Some("https://shop.example".into()), ..Default::default() }
    }

    fn agent_message(seq: u64, text: &str) -> VisitorEvent {
        VisitorEvent::Message {
            message: ChatMessage {
                seq,
                sender: Sender::Agent { id: "a1".into(), name: "Minji".into() },
                body: Body::Text { text: text.into() },
                client_id: None,
                at_ms: 0,
            },
        }
    }

    fn welcome() -> VisitorEvent {
        VisitorEvent::Welcome { state: SessionState::Waiting, queue_position: None, agent_name: None, last_seq: 0 }
    }

    /// An embedded app, launched, connected and welcomed, panel open.
    fn live() -> State {
        let mut s = State::new(Mode::Embedded, Locale::En, "p".into(), None);
        update(&mut s, Msg::Launch { request: request(), prefill: None });
        update(&mut s, Msg::Launched(launch_response()));
        update(&mut s, Msg::SocketOpened);
        update(&mut s, Msg::Socket(welcome()));
        s
    }

    fn transmits(fx: &[Effect]) -> Vec<VisitorCommand> {
        fx.iter()
            .filter_map(|e| match e {
                Effect::Transmit(c) => Some(c.clone()),
                _ => None,
            })
            .collect()
    }

    #[test]
    fn launch_posts_request_with_stored_visitor_key_and_locale() {
        let mut s = State::new(Mode::Embedded, Locale::Ko, "p".into(), Some("V0".into()));
        let fx = update(&mut s, Msg::Launch { request: request(), prefill: Some("size?".into()) });
        let posted = fx.iter().find_map(|e| match e {
            Effect::PostLaunch(r) => Some(r.clone()),
            _ => None,
        });
        let posted = posted.expect("launch posted");
        assert_eq!(posted.visitor_key.as_deref(), Some("V0"));
        assert_eq!(posted.locale.as_deref(), Some("ko"));
        assert_eq!(posted.host_origin.as_deref(), Some("https://shop.example"));
        assert!(fx.contains(&Effect::SetDraft("size?".into())));
        assert!(fx.contains(&Effect::FocusComposer));
        // Opening again does not launch twice.
        let again = update(&mut s, Msg::Launch { request: request(), prefill: None });
        assert!(!again.iter().any(|e| matches!(e, Effect::PostLaunch(_))));
    }

    #[test]
    fn launched_shows_guidance_connects_and_persists() {
        let mut s = State::new(Mode::Embedded, Locale::En, "p".into(), None);
        update(&mut s, Msg::Launch { request: request(), prefill: None });
        let fx = update(&mut s, Msg::Launched(launch_response()));
        let channel_at = fx.iter().position(|e| *e == Effect::ShowChannel).expect("guidance shown");
        let connect_at = fx.iter().position(|e| *e == Effect::Connect("S1".into())).expect("connects");
        assert!(channel_at < connect_at, "guidance is on screen before anything else can arrive");
        assert!(fx.contains(&Effect::StoreVisitorKey(Some("V1".into()))));
        assert!(fx.contains(&Effect::Store(Some(Stored { launch: launch_response(), seen_seq: 0 }))));
    }

    #[test]
    fn route_changes_reach_the_gateway_once_while_live() {
        let page = |p: &str| EntryPoint { page: Some(p.into()), ..Default::default() };
        // Before launch: remembered for the launch, nothing sent.
        let mut s = State::new(Mode::Embedded, Locale::En, "p".into(), None);
        assert!(update(&mut s, Msg::Context(page("/product.html"))).is_empty());
        let mut s = live();
        let fx = update(&mut s, Msg::Context(page("/orders.html")));
        assert_eq!(transmits(&fx), vec![VisitorCommand::Context { declared: page("/orders.html") }]);
        assert_eq!(s.last_request.as_ref().unwrap().declared, page("/orders.html"), "the next launch says it too");
        // The same page again (replaceState, hash change): nothing to tell.
        assert!(transmits(&update(&mut s, Msg::Context(page("/orders.html")))).is_empty());
        // Offline: dropped, like typing; the next launch still carries it.
        update(&mut s, Msg::SocketClosed);
        assert!(transmits(&update(&mut s, Msg::Context(page("/cart.html")))).is_empty());
        assert_eq!(s.last_request.as_ref().unwrap().declared, page("/cart.html"));
    }

    #[test]
    fn hello_then_pending_sends_after_reconnect() {
        let mut s = live();
        update(&mut s, Msg::SocketClosed);
        let fx = update(&mut s, Msg::Submit("  where is my order?  ".into()));
        assert!(transmits(&fx).is_empty(), "offline: queued, not sent");
        assert!(fx.iter().any(|e| matches!(e, Effect::ShowPending { body: Body::Text { text }, .. } if text == "where is my order?")));
        let fx = update(&mut s, Msg::SocketOpened);
        assert!(matches!(transmits(&fx)[..], [VisitorCommand::Hello { .. }]));
        let fx = update(&mut s, Msg::Socket(welcome()));
        assert!(matches!(&transmits(&fx)[..], [VisitorCommand::Send { .. }]));
    }

    #[test]
    fn empty_and_too_long_messages_are_not_sent() {
        let mut s = live();
        assert!(update(&mut s, Msg::Submit("   ".into())).is_empty());
        let fx = update(&mut s, Msg::Submit("x".repeat(1001)));
        assert!(transmits(&fx).is_empty());
        assert!(s.notice.as_deref().unwrap().contains("1000"));
    }

    #[test]
    fn an_agent_joining_is_a_line_in_the_chat_once_and_a_transfer_leaves_it_to_the_gateway() {
        let mut s = live();
        let assigned = |name: &str| VisitorEvent::State {
            state: SessionState::Assigned,
            queue_position: None,
            agent_name: Some(name.into()),
            reason: None,
        };
        let notes = |fx: &[Effect]| fx.iter().filter_map(|e| match e { Effect::ShowNote(t) => Some(t.clone()), _ => None }).collect::<Vec<_>>();
        let fx = update(&mut s, Msg::Socket(assigned("Minji")));
        assert_eq!(notes(&fx), vec!["Minji joined the chat.".to_string()]);
        // The same state again (a reconnect's replay) says nothing new.
        assert!(notes(&update(&mut s, Msg::Socket(assigned("Minji")))).is_empty());
        // A transfer: the gateway writes its own stored line, so the app adds none (but announces).
        let fx = update(&mut s, Msg::Socket(assigned("Joon")));
        assert!(notes(&fx).is_empty());
        assert!(fx.iter().any(|e| matches!(e, Effect::Announce(a) if a.contains("Joon"))));
    }

    #[test]
    fn messages_while_hidden_count_as_unread_and_clear_on_open() {
        let mut s = live();
        update(&mut s, Msg::CloseRequested);
        let fx = update(&mut s, Msg::Socket(agent_message(1, "hello")));
        assert!(fx.contains(&Effect::ToLauncher(FrameMessage::Unread { count: 1 })));
        assert!(fx.iter().any(|e| matches!(e, Effect::Announce(a) if a.contains("Minji: hello"))));
        assert!(transmits(&fx).is_empty(), "not read while hidden");
        let fx = update(&mut s, Msg::Socket(agent_message(2, "are you there?")));
        assert!(fx.contains(&Effect::ToLauncher(FrameMessage::Unread { count: 2 })));
        let fx = update(&mut s, Msg::Launch { request: request(), prefill: None });
        assert!(fx.contains(&Effect::ToLauncher(FrameMessage::Unread { count: 0 })));
        assert!(transmits(&fx).contains(&VisitorCommand::Read { seq: 2 }));
    }

    #[test]
    fn history_replayed_after_reload_is_not_news() {
        let mut s = State::new(Mode::Embedded, Locale::En, "p".into(), None);
        update(&mut s, Msg::Resume(Stored { launch: launch_response(), seen_seq: 2 }));
        update(&mut s, Msg::SocketOpened);
        update(&mut s, Msg::Socket(welcome()));
        let fx = update(&mut s, Msg::Socket(agent_message(1, "old")));
        assert!(fx.iter().any(|e| matches!(e, Effect::ShowMessage(m) if m.seq == 1)));
        assert!(!fx.iter().any(|e| matches!(e, Effect::Announce(_) | Effect::ToLauncher(_))));
        update(&mut s, Msg::Socket(agent_message(2, "old too")));
        let fx = update(&mut s, Msg::Socket(agent_message(3, "new")));
        assert!(fx.iter().any(|e| matches!(e, Effect::ToLauncher(FrameMessage::Unread { count: 1 }))));
    }

    #[test]
    fn closed_state_then_writing_again_sends_normally() {
        let mut s = live();
        let fx = update(
            &mut s,
            Msg::Socket(VisitorEvent::State {
                state: SessionState::Closed,
                queue_position: None,
                agent_name: None,
                reason: Some(CloseReason::Inactivity),
            }),
        );
        assert_eq!(s.conversation, SessionState::Closed);
        assert!(fx.iter().any(|e| matches!(e, Effect::Announce(a) if a.contains("Write again"))));
        let fx = update(&mut s, Msg::Submit("one more question".into()));
        assert!(matches!(&transmits(&fx)[..], [VisitorCommand::Send { .. }]));
    }

    fn state_event(state: SessionState, reason: Option<CloseReason>) -> VisitorEvent {
        VisitorEvent::State { state, queue_position: None, agent_name: Some("Minji".into()), reason }
    }

    #[test]
    fn end_chat_sends_leave_shows_ended_and_writing_again_restarts() {
        let mut s = live();
        assert!(!s.can_leave(), "nothing to end before the visitor writes");
        assert!(update(&mut s, Msg::Leave).is_empty());
        update(&mut s, Msg::Socket(state_event(SessionState::Assigned, None)));
        assert!(s.can_leave());
        let fx = update(&mut s, Msg::Leave);
        assert_eq!(transmits(&fx), vec![VisitorCommand::Leave]);
        assert_eq!(s.conversation, SessionState::Closed);
        assert!(!s.can_leave());
        assert!(fx.iter().any(|e| matches!(e, Effect::Announce(a) if a.contains("Write again"))));
        assert!(fx.contains(&Effect::Render) && fx.contains(&Effect::FocusComposer));
        // The gateway confirms: no second announcement.
        let fx = update(&mut s, Msg::Socket(state_event(SessionState::Closed, Some(CloseReason::VisitorLeft))));
        assert!(!fx.iter().any(|e| matches!(e, Effect::Announce(_))));
        // Undo: writing again is an ordinary send, which the gateway turns into a new chat.
        let fx = update(&mut s, Msg::Submit("one more thing".into()));
        assert!(matches!(&transmits(&fx)[..], [VisitorCommand::Send { .. }]));
    }

    #[test]
    fn end_chat_offline_does_nothing() {
        let mut s = live();
        update(&mut s, Msg::Socket(state_event(SessionState::Assigned, None)));
        update(&mut s, Msg::SocketClosed);
        assert!(update(&mut s, Msg::Leave).is_empty());
        assert_eq!(s.conversation, SessionState::Assigned, "not shown as ended when the gateway never heard it");
    }

    fn stored(seq: u64, sender: Sender, body: Body) -> VisitorEvent {
        VisitorEvent::Message { message: ChatMessage { seq, sender, body, client_id: None, at_ms: 0 } }
    }

    fn menu() -> Body {
        let option = |id: &str, label: &str, url: Option<&str>| consult_sdk::protocol::MenuOption {
            id: id.into(),
            label: label.into(),
            url: url.map(Into::into),
        };
        Body::Menu {
            text: "무엇을 도와드릴까요?".into(),
            options: vec![option("faq", "자주 묻는 질문", Some("https://shop.example/faq")), option("delivery", "배송 문의", None), option("refund", "환불", None)],
        }
    }

    #[test]
    fn chosen_menu_option_is_derived_from_stored_history_after_reload() {
        // A reload: the stored session resumes and the gateway replays the history.
        let mut s = State::new(Mode::Embedded, Locale::Ko, "p2".into(), None);
        update(&mut s, Msg::Resume(Stored { launch: launch_response(), seen_seq: 4 }));
        update(&mut s, Msg::SocketOpened);
        update(&mut s, Msg::Socket(welcome()));
        let text = |t: &str| Body::Text { text: t.into() };
        assert!(!update(&mut s, Msg::Socket(stored(1, Sender::Bot, menu()))).iter().any(|e| matches!(e, Effect::MarkChosen { .. })));
        let fx = update(&mut s, Msg::Socket(stored(2, Sender::Visitor, text("배송 문의"))));
        let show_at = fx.iter().position(|e| matches!(e, Effect::ShowMessage(m) if m.seq == 2)).expect("answer shown");
        let mark_at = fx.iter().position(|e| *e == Effect::MarkChosen { menu_seq: 1, option: "delivery".into() });
        assert!(mark_at.expect("option marked") > show_at);
        // The bot answers and shows the menu again: that one is open until answered.
        update(&mut s, Msg::Socket(stored(3, Sender::Bot, text("배송은 2일 걸려요."))));
        update(&mut s, Msg::Socket(stored(4, Sender::Bot, menu())));
        let fx = update(&mut s, Msg::Socket(stored(5, Sender::Visitor, text("자주 묻는 질문"))));
        assert!(!fx.iter().any(|e| matches!(e, Effect::MarkChosen { .. })), "link options are never chosen");
        let fx = update(&mut s, Msg::Socket(stored(6, Sender::Visitor, text("환불"))));
        assert!(fx.contains(&Effect::MarkChosen { menu_seq: 4, option: "refund".into() }));
        // Answered: the same words typed later mark nothing.
        let fx = update(&mut s, Msg::Socket(stored(7, Sender::Visitor, text("환불"))));
        assert!(!fx.iter().any(|e| matches!(e, Effect::MarkChosen { .. })));
    }

    #[test]
    fn gateway_errors_read_in_the_ui_language_not_the_gateway_english() {
        let mut s = State::new(Mode::Embedded, Locale::Ko, "p".into(), None);
        update(&mut s, Msg::Launch { request: request(), prefill: None });
        let english = "origin https://x may not open this channel; add it to the channel's allowed_origins";
        let fx = update(&mut s, Msg::LaunchFailed(ErrorBody { code: "origin_not_allowed".into(), message: english.into() }));
        let said = fx.iter().find_map(|e| match e {
            Effect::Announce(a) => Some(a.clone()),
            _ => None,
        });
        assert_eq!(said.as_deref(), Some("상담을 시작하지 못했어요: 이 페이지에서는 상담을 열 수 없어요."));
        // The launcher (the host page's developer) still gets the gateway's own body.
        assert!(fx.contains(&Effect::ToLauncher(FrameMessage::Error {
            error: ErrorBody { code: "origin_not_allowed".into(), message: english.into() }
        })));

        let mut s = live();
        s.locale = Locale::Ko;
        update(&mut s, Msg::Socket(VisitorEvent::Error { code: "rate_limited".into(), message: "too many requests".into(), client_id: None }));
        assert_eq!(s.notice.as_deref(), Some("요청이 너무 많아요. 잠시 후 다시 시도해 주세요."));
        update(&mut s, Msg::Submit("가".repeat(1001)));
        assert_eq!(s.notice.as_deref(), Some("메시지는 1000자까지 보낼 수 있어요."));
    }

    #[test]
    fn queue_and_agent_assignment_are_tracked_and_announced() {
        let mut s = live();
        update(
            &mut s,
            Msg::Socket(VisitorEvent::State {
                state: SessionState::Queued,
                queue_position: Some(3),
                agent_name: None,
                reason: None,
            }),
        );
        assert_eq!(s.queue_position, Some(3));
        let fx = update(
            &mut s,
            Msg::Socket(VisitorEvent::State {
                state: SessionState::Assigned,
                queue_position: None,
                agent_name: Some("Minji".into()),
                reason: None,
            }),
        );
        assert_eq!(s.agent_name.as_deref(), Some("Minji"));
        assert!(fx.contains(&Effect::Announce("Minji joined the chat.".into())));
    }

    #[test]
    fn handoff_shows_code_then_handed_off_stops_everything() {
        let mut s = live();
        let fx = update(&mut s, Msg::StartHandoff);
        assert_eq!(transmits(&fx), vec![VisitorCommand::StartHandoff]);
        update(
            &mut s,
            Msg::Socket(VisitorEvent::Handoff { url: "https://gw/H/1".into(), svg: "<svg/>".into(), expires_at: 9 }),
        );
        assert_eq!(s.handoff.as_ref().map(|h| h.url.as_str()), Some("https://gw/H/1"));
        let fx = update(&mut s, Msg::Socket(VisitorEvent::HandedOff));
        assert_eq!(s.phase, Phase::HandedOff);
        assert!(fx.contains(&Effect::Disconnect) && fx.contains(&Effect::Store(None)));
        assert!(update(&mut s, Msg::SocketClosed).is_empty(), "no reconnect after a handoff");
    }

    #[test]
    fn typing_is_sent_on_change_only() {
        let mut s = live();
        assert_eq!(transmits(&update(&mut s, Msg::Drafting(true))), vec![VisitorCommand::Typing { active: true }]);
        assert!(transmits(&update(&mut s, Msg::Drafting(true))).is_empty());
        assert_eq!(transmits(&update(&mut s, Msg::Drafting(false))), vec![VisitorCommand::Typing { active: false }]);
    }

    #[test]
    fn dead_stored_session_launches_again() {
        let mut s = State::new(Mode::FullPage, Locale::En, "p".into(), Some("V0".into()));
        update(&mut s, Msg::Resume(Stored { launch: launch_response(), seen_seq: 0 }));
        update(&mut s, Msg::Launch { request: request(), prefill: None });
        let mut relaunched = false;
        for _ in 0..RESUME_ATTEMPTS {
            let fx = update(&mut s, Msg::SocketClosed);
            relaunched |= fx.iter().any(|e| matches!(e, Effect::PostLaunch(_)));
        }
        assert!(relaunched);
        assert_eq!(s.phase, Phase::Launching);
    }

    #[test]
    fn unknown_session_error_relaunches() {
        let mut s = live();
        let fx = update(
            &mut s,
            Msg::Socket(VisitorEvent::Error { code: "unknown_session".into(), message: "gone".into(), client_id: None }),
        );
        assert!(fx.iter().any(|e| matches!(e, Effect::PostLaunch(_))));
        assert!(fx.contains(&Effect::Store(None)));
    }

    #[test]
    fn shutdown_forgets_the_visitor_and_waits_for_a_new_launch() {
        let mut s = live();
        let fx = update(&mut s, Msg::Shutdown);
        assert!(fx.contains(&Effect::StoreVisitorKey(None)) && fx.contains(&Effect::Store(None)));
        assert_eq!(s.phase, Phase::AwaitingLaunch);
        assert!(s.visitor_key.is_none() && s.launch.is_none());
        let fx = update(&mut s, Msg::Launch { request: request(), prefill: None });
        let posted = fx.iter().find_map(|e| match e {
            Effect::PostLaunch(r) => Some(r.clone()),
            _ => None,
        });
        assert_eq!(posted.expect("launches again").visitor_key, None, "the next member starts clean");
    }

    #[test]
    fn late_launch_answer_after_shutdown_is_ignored() {
        let mut s = State::new(Mode::Embedded, Locale::En, "p".into(), None);
        update(&mut s, Msg::Launch { request: request(), prefill: None });
        update(&mut s, Msg::Shutdown);
        assert!(update(&mut s, Msg::Launched(launch_response())).is_empty());
    }

    fn closed_by_agent() -> VisitorEvent {
        VisitorEvent::State { state: SessionState::Closed, queue_position: None, agent_name: None, reason: Some(CloseReason::AgentClosed) }
    }

    fn assigned() -> VisitorEvent {
        VisitorEvent::State { state: SessionState::Assigned, queue_position: None, agent_name: Some("Minji".into()), reason: None }
    }

    #[test]
    fn a_chat_an_agent_had_asks_for_a_rating_once_and_sends_score_and_comment() {
        let mut s = live();
        update(&mut s, Msg::Socket(assigned()));
        assert_eq!(s.rating, Rating::Off);
        update(&mut s, Msg::Socket(closed_by_agent()));
        assert_eq!(s.rating, Rating::Ask(None));
        // Nothing goes out before a score is picked.
        assert!(transmits(&update(&mut s, Msg::Rate("nice".into()))).is_empty());
        update(&mut s, Msg::PickScore(9));
        assert_eq!(s.rating, Rating::Ask(None), "scores are 1 to 5");
        update(&mut s, Msg::PickScore(2));
        update(&mut s, Msg::PickScore(4));
        let fx = update(&mut s, Msg::Rate("  quick and kind ".into()));
        assert_eq!(transmits(&fx), vec![VisitorCommand::Rate { score: 4, comment: Some("quick and kind".into()) }]);
        assert!(fx.contains(&Effect::ShowNote(Locale::En.strings().rate_thanks.into())));
        assert_eq!(s.rating, Rating::Off);
        // Once: the same closed chat does not ask again.
        update(&mut s, Msg::Socket(closed_by_agent()));
        assert_eq!(s.rating, Rating::Off);
    }

    #[test]
    fn the_rating_is_skippable_and_not_asked_after_a_bot_only_chat_a_block_or_a_handoff() {
        let mut s = live();
        update(&mut s, Msg::Socket(assigned()));
        update(&mut s, Msg::Socket(closed_by_agent()));
        let fx = update(&mut s, Msg::SkipRating);
        assert_eq!(s.rating, Rating::Off);
        assert!(transmits(&fx).is_empty());
        // With the bot only: nobody to rate.
        let mut bot = live();
        update(&mut bot, Msg::Socket(VisitorEvent::State { state: SessionState::Bot, queue_position: None, agent_name: None, reason: None }));
        update(&mut bot, Msg::Socket(closed_by_agent()));
        assert_eq!(bot.rating, Rating::Off);
        for reason in [CloseReason::Blocked, CloseReason::HandedOff] {
            let mut b = live();
            update(&mut b, Msg::Socket(assigned()));
            update(&mut b, Msg::Socket(VisitorEvent::State { state: SessionState::Closed, queue_position: None, agent_name: None, reason: Some(reason) }));
            assert_eq!(b.rating, Rating::Off, "{reason:?}");
        }
        // Ending the chat yourself asks too; writing again puts the question away.
        let mut own = live();
        update(&mut own, Msg::Socket(assigned()));
        update(&mut own, Msg::Leave);
        assert_eq!(own.rating, Rating::Ask(None));
        update(&mut own, Msg::Socket(VisitorEvent::State { state: SessionState::Queued, queue_position: Some(1), agent_name: None, reason: None }));
        assert_eq!(own.rating, Rating::Off);
    }

    #[test]
    fn the_inactivity_warning_shows_until_the_visitor_writes() {
        let mut s = live();
        let fx = update(&mut s, Msg::Socket(VisitorEvent::Closing { secs: 30 }));
        assert_eq!(s.notice.as_deref(), Some(s.locale.strings().closing_soon));
        assert!(fx.contains(&Effect::Announce(s.locale.strings().closing_soon.to_string())), "said aloud too: {fx:?}");
        update(&mut s, Msg::Submit("still here".into()));
        assert_eq!(s.notice, None, "writing keeps the chat open and clears the warning");
    }

    #[test]
    fn the_agents_read_mark_moves_forward_only() {
        let mut s = live();
        assert_eq!(update(&mut s, Msg::Socket(VisitorEvent::Read { seq: 4 })), vec![Effect::MarkRead(4)]);
        assert!(update(&mut s, Msg::Socket(VisitorEvent::Read { seq: 3 })).is_empty(), "an older mark moves nothing");
        assert!(update(&mut s, Msg::Socket(VisitorEvent::Read { seq: 4 })).is_empty());
        assert_eq!(update(&mut s, Msg::Socket(VisitorEvent::Read { seq: 9 })), vec![Effect::MarkRead(9)]);
        assert_eq!(s.agent_read_seq, 9);
    }

    #[test]
    fn a_queued_visitor_sees_the_estimated_wait_until_someone_takes_the_chat() {
        let mut s = live();
        update(&mut s, Msg::Socket(VisitorEvent::State { state: SessionState::Queued, queue_position: Some(2), agent_name: None, reason: None }));
        update(&mut s, Msg::Socket(VisitorEvent::Wait { secs: 95 }));
        assert_eq!(s.wait_secs, Some(95));
        assert_eq!(Locale::En.strings().wait_about(95), "about 2 min wait");
        assert_eq!(Locale::Ko.strings().wait_about(30), "예상 대기 약 1분");
        update(&mut s, Msg::Socket(assigned()));
        assert_eq!(s.wait_secs, None);
        // A late estimate for a chat no longer queued is not shown.
        update(&mut s, Msg::Socket(VisitorEvent::Wait { secs: 60 }));
        assert_eq!(s.wait_secs, None);
    }
}
