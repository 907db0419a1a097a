//! The one module that touches the chat frame's DOM. Text always goes in as text nodes or
//! `textContent`, never as HTML; the handoff QR (SVG from the gateway) is shown through an
//! `image/svg+xml` blob in an `<img>`, where no script can run.

use std::cell::RefCell;
use std::rc::Rc;

use consult_sdk::protocol::{Body, ChatMessage, LaunchResponse, MenuOption, Sender, SessionState};
use gloo::events::{EventListener, EventListenerOptions};
use wasm_bindgen::JsCast;
use wasm_bindgen::JsValue;
use web_sys::{Document, Element, HtmlElement, HtmlImageElement, HtmlInputElement, HtmlTextAreaElement};

use crate::chat::{Mode, Phase, State};
use crate::i18n::Strings;
use crate::ime::{Composition, KeyPress};
use crate::text::{cat, number, push_two_digits, push_u64};

/// Attribute marking a menu button with its option id.
pub const OPTION_ATTR: &str = "data-option";
/// Selector of a menu button ([`OPTION_ATTR`]).
pub const OPTION_SELECTOR: &str = "[data-option]";

/// Handles to the chat UI's elements.
pub struct Dom {
    doc: Document,
    /// The app root.
    pub root: HtmlElement,
    title: HtmlElement,
    status: HtmlElement,
    banner: HtmlElement,
    /// The message list.
    pub log: HtmlElement,
    typing: HtmlElement,
    /// "Continue on your phone".
    pub handoff_button: HtmlElement,
    /// The close button.
    pub close_button: HtmlElement,
    /// "End chat".
    pub end_button: HtmlElement,
    qr: HtmlElement,
    qr_image: HtmlImageElement,
    qr_svg: Option<(String, String)>,
    /// "Chat here" (dismiss the QR).
    pub chat_here_button: HtmlElement,
    handed_off: HtmlElement,
    /// The composer form.
    pub composer: HtmlElement,
    /// The message field.
    pub input: HtmlTextAreaElement,
    /// The file picker.
    pub file: HtmlInputElement,
    send: HtmlElement,
    /// The live region.
    pub live: HtmlElement,
    /// The rating question (score buttons carry `data-score`, the others `data-act`).
    pub rate: HtmlElement,
    /// The rating's comment field.
    pub rate_comment: HtmlInputElement,
}

fn create(doc: &Document, tag: &str, class: &str) -> Result<HtmlElement, JsValue> {
    let el: HtmlElement = doc.create_element(tag)?.unchecked_into();
    if !class.is_empty() {
        el.set_class_name(class);
    }
    Ok(el)
}

/// Sets attribute `name`, or the text when `name` is empty.
fn set(el: &Element, name: &str, value: &str) -> Result<(), JsValue> {
    if name.is_empty() {
        el.set_text_content(Some(value));
        Ok(())
    } else {
        el.set_attribute(name, value)
    }
}

fn button(doc: &Document, class: &str, label: &str) -> Result<HtmlElement, JsValue> {
    let b = create(doc, "button", class)?;
    b.set_attribute("type", "button")?;
    b.set_text_content(Some(label));
    Ok(b)
}

// The chat UI as data rather than code (a call per element and attribute was ~6 KB of wasm).
// Indexes into TREE of the elements `Dom` keeps.
const ROOT: u8 = 0;
const TITLE: u8 = 3;
const STATUS: u8 = 4;
const HANDOFF: u8 = 5;
const END: u8 = 6;
const CLOSE: u8 = 7;
const BANNER: u8 = 8;
const LOG: u8 = 9;
const TYPING: u8 = 10;
const RATE: u8 = 11;
const RATE_COMMENT: u8 = 19;
const QR: u8 = 23;
const QR_IMAGE: u8 = 25;
const CHAT_HERE: u8 = 27;
const HANDED_OFF: u8 = 28;
const COMPOSER: u8 = 31;
const FILE: u8 = 33;
const INPUT: u8 = 35;
const SEND: u8 = 36;
const LIVE: u8 = 37;

/// The chat UI's elements in document order, one a line: `tag class`, then `;name=value` for each
/// attribute that does not depend on the language (`;=text` for its text). Their parents, as
/// indexes of this list, are [`PARENTS`]; the root (line 0) goes into the container.
const TREE: &str = "div app
header head
div head-text
h1 title;id=consult-title
p status
button head-btn handoff-btn;type=button
button head-btn end-btn;type=button;hidden=
button head-btn close-btn;type=button;=\u{00d7}
p banner;hidden=
ol log;tabindex=0
p typing;hidden=
section rate;hidden=
p rate-q
div stars
button star;type=button;=\u{2605};data-score=1;aria-label=1 / 5
button star;type=button;=\u{2605};data-score=2;aria-label=2 / 5
button star;type=button;=\u{2605};data-score=3;aria-label=3 / 5
button star;type=button;=\u{2605};data-score=4;aria-label=4 / 5
button star;type=button;=\u{2605};data-score=5;aria-label=5 / 5
input rate-comment;maxlength=500
div rate-bar
button rate-skip;type=button;data-act=skip
button rate-send;type=button;data-act=send
section qr;hidden=
p qr-text
img qr-code
p qr-note
button chat-here;type=button
section handed-off;hidden=
h2
p
form composer
label attach
input sr-only;type=file
span attach-icon;aria-hidden=true
textarea input;rows=1;enterkeyhint=send
button send;type=submit
div sr-only;aria-live=polite;aria-atomic=true";

/// The parent of each line of [`TREE`]: the rating (score buttons carry `data-score`, the others
/// `data-act`), the handoff QR code, the composer (a file input of any type: the gateway decides
/// what a channel accepts and says so if it refuses) and the live region are the root's children.
const PARENTS: [u8; 38] = [0, 0, 1, 2, 2, 1, 1, 1, 0, 0, 0, 0, 11, 11, 13, 13, 13, 13, 13, 11, 11, 20, 20, 0, 23, 23, 23, 23, 0, 28, 28, 0, 31, 32, 32, 31, 31, 0];

impl Dom {
    /// Builds the chat UI inside `container` (emptied first): the elements of [`TREE`] with their
    /// attributes and text, the language's and the mode's.
    ///
    /// # Errors
    /// A DOM exception from the browser.
    pub fn build(doc: &Document, container: &Element, mode: Mode, s: &Strings) -> Result<Dom, JsValue> {
        container.set_text_content(None);
        let mut els: Vec<HtmlElement> = Vec::with_capacity(PARENTS.len());
        for (line, &parent) in TREE.split('\n').zip(&PARENTS) {
            let mut fields = line.split(';');
            let element = fields.next().unwrap_or_default();
            let (tag, class) = element.split_once(' ').unwrap_or((element, ""));
            let el = create(doc, tag, class)?;
            for field in fields {
                let (name, value) = field.split_once('=').unwrap_or((field, ""));
                set(&el, name, value)?;
            }
            if let Some(parent) = els.get(usize::from(parent)) {
                parent.append_child(&el)?;
            }
            els.push(el);
        }
        let localized = [
            (TITLE, "", s.title),
            (HANDOFF, "", s.continue_on_phone),
            (END, "", s.end_chat),
            (CLOSE, "aria-label", s.close),
            (CLOSE, "title", s.close),
            (LOG, "aria-label", s.messages_label),
            (RATE, "aria-label", s.rate_prompt),
            (RATE + 1, "", s.rate_prompt),
            (RATE_COMMENT, "placeholder", s.rate_comment),
            (RATE_COMMENT, "aria-label", s.rate_comment),
            (RATE_COMMENT + 2, "", s.rate_skip),
            (RATE_COMMENT + 3, "", s.rate_send),
            (QR + 1, "", s.scan_to_continue),
            (QR_IMAGE, "alt", s.continue_on_phone),
            (QR + 3, "", s.handoff_expires),
            (CHAT_HERE, "", s.chat_here),
            (HANDED_OFF + 1, "", s.handed_off),
            (HANDED_OFF + 2, "", s.handed_off_detail),
            (FILE - 1, "title", s.attach_file),
            (FILE, "aria-label", s.attach_file),
            (INPUT, "placeholder", s.placeholder),
            (INPUT, "aria-label", s.placeholder),
            (SEND, "", s.send),
        ];
        let by_mode: [(u8, &str, &str); 2] = match mode {
            Mode::Embedded => [(ROOT, "role", "dialog"), (ROOT, "aria-labelledby", "consult-title")],
            Mode::FullPage => [(ROOT, "class", "app full"), (CLOSE, "hidden", "")],
        };
        for &(i, name, value) in localized.iter().chain(&by_mode) {
            set(&els[usize::from(i)], name, value)?;
        }
        container.append_child(&els[0])?;
        let el = |i: u8| els[usize::from(i)].clone();
        Ok(Dom {
            doc: doc.clone(),
            root: el(ROOT),
            title: el(TITLE),
            status: el(STATUS),
            banner: el(BANNER),
            log: el(LOG),
            typing: el(TYPING),
            handoff_button: el(HANDOFF),
            close_button: el(CLOSE),
            end_button: el(END),
            qr: el(QR),
            qr_image: el(QR_IMAGE).unchecked_into(),
            qr_svg: None,
            chat_here_button: el(CHAT_HERE),
            handed_off: el(HANDED_OFF),
            composer: el(COMPOSER),
            input: el(INPUT).unchecked_into(),
            file: el(FILE).unchecked_into(),
            send: el(SEND),
            live: el(LIVE),
            rate: el(RATE),
            rate_comment: el(RATE_COMMENT).unchecked_into(),
        })
    }

    /// The channel's name in the header and its guidance message first in the list.
    ///
    /// # Errors
    /// A DOM exception.
    pub fn show_channel(&self, launch: &LaunchResponse, s: &Strings) -> Result<(), JsValue> {
        self.title.set_text_content(Some(&launch.channel.name));
        // The channel's colour on every accent (the gateway checked white on it at 4.5:1).
        if let Some(c) = &launch.channel.status.color {
            let style = self.root.style();
            style.set_property("--accent", c)?;
            style.set_property("--accent-dark", c)?;
        }
        let guidance = match self.log.query_selector(".guidance")? {
            Some(existing) => existing,
            None => {
                let li = create(&self.doc, "li", "msg system guidance")?;
                self.log.prepend_with_node_1(&li)?;
                li.into()
            }
        };
        guidance.set_text_content(Some(&launch.channel.guidance));
        self.show_logo(launch)?;
        // The welcome line of the button pressed, under the guidance (not stored).
        if let Some(w) = &launch.channel.welcome
            && self.log.query_selector(".welcome")?.is_none()
        {
            let li = create(&self.doc, "li", "msg welcome")?;
            let bubble = create(&self.doc, "div", "bubble")?;
            bubble.set_text_content(Some(w));
            li.append_child(&bubble)?;
            guidance.after_with_node_1(&li)?;
        }
        // Outside business hours the visitor reads so before writing, right under the guidance.
        let status = &launch.channel.status;
        // (A relaunch clears the list first, so a note from an earlier launch never lingers.)
        if !status.open_now && self.log.query_selector(".after-hours")?.is_none() {
            let note = create(&self.doc, "li", "msg system after-hours")?;
            let text = status.after_hours_message.as_deref().unwrap_or_default();
            let mut shown = cat(&[s.after_hours, "\n", text]);
            if let Some(at) = status.next_opening {
                shown.push('\n');
                shown.push_str(s.opens_again);
                push_date_time(&mut shown, &js_sys::Date::new(&JsValue::from_f64(at as f64 * 1000.0)), s);
            }
            note.set_text_content(Some(&shown));
            guidance.after_with_node_1(&note)?;
        }
        Ok(())
    }

    /// The channel's logo before its name in the header, once; only a path on the gateway's own
    /// origin (the frame's CSP allows no other). Without one, the name stands alone.
    fn show_logo(&self, launch: &LaunchResponse) -> Result<(), JsValue> {
        let Some(src) = launch.channel.status.logo.as_deref().filter(|p| p.starts_with('/') && !p.starts_with("//")) else { return Ok(()) };
        let Some(head_text) = self.title.parent_element() else { return Ok(()) };
        if head_text.previous_element_sibling().is_some() {
            return Ok(());
        }
        let img = create(&self.doc, "img", "head-logo")?;
        set(&img, "alt", &launch.channel.name)?;
        set(&img, "src", src)?;
        head_text.before_with_node_1(&img)
    }

    /// Marks option `id` of `menu` as the visitor's answer; every option goes inert.
    pub fn mark_chosen(menu: &Element, id: &str) {
        let mut item = menu.first_element_child();
        while let Some(el) = item {
            let _ = el.set_attribute("disabled", "");
            if el.get_attribute(OPTION_ATTR).as_deref() == Some(id) {
                let _ = el.set_attribute("aria-pressed", "true");
            }
            item = el.next_element_sibling();
        }
    }

    /// [`Dom::mark_chosen`] in the menu of the message `menu_seq`.
    ///
    /// # Errors
    /// A DOM exception.
    pub fn mark_chosen_in(&self, menu_seq: u64, id: &str) -> Result<(), JsValue> {
        if let Some(menu) = self.log.query_selector(&seq_selector(menu_seq, "\"] .menu"))? {
            Dom::mark_chosen(&menu, id);
        }
        Ok(())
    }

    /// "Read" under the visitor's last message at or before `seq`; the earlier mark goes.
    ///
    /// # Errors
    /// A DOM exception.
    pub fn mark_read(&self, seq: u64, label: &str) -> Result<(), JsValue> {
        if let Some(old) = self.log.query_selector(".read")? {
            old.remove();
        }
        let mine = self.log.query_selector_all("li.mine[data-seq]")?;
        for i in (0..mine.length()).rev() {
            let Some(li) = mine.item(i).and_then(|n| n.dyn_into::<Element>().ok()) else { continue };
            if li.get_attribute("data-seq").and_then(|s| s.parse::<u64>().ok()).is_some_and(|s| s <= seq) {
                let mark = create(&self.doc, "span", "read")?;
                mark.set_text_content(Some(label));
                li.append_child(&mark)?;
                break;
            }
        }
        Ok(())
    }

    /// Inserts a stored message in order: before any pending bubble, replacing its own.
    ///
    /// # Errors
    /// A DOM exception.
    pub fn show_message(&self, m: &ChatMessage, s: &Strings) -> Result<(), JsValue> {
        if self.log.query_selector(&seq_selector(m.seq, "\"]"))?.is_some() {
            return Ok(()); // never twice, even if asked twice
        }
        // The stored after-hours reply replaces the note shown before the visitor wrote.
        if matches!(m.sender, Sender::System) {
            if let Some(note) = self.log.query_selector(".after-hours")? {
                note.remove();
            }
        }
        let li = self.message_element(&m.sender, &m.body, s)?;
        li.set_attribute("data-seq", &number(m.seq))?;
        let at = self.time_element(m.at_ms)?;
        li.append_child(&at)?;
        if let Some(id) = &m.client_id {
            if let Some(own) = self.pending_element(id)? {
                own.remove();
            }
        }
        let first_pending = self.log.query_selector(".pending")?;
        self.log.insert_before(&li, first_pending.as_ref().map(|e| e.unchecked_ref()))?;
        self.scroll_to_end();
        Ok(())
    }

    /// A line of the app's own between messages (an agent joined), not stored by the gateway.
    ///
    /// # Errors
    /// A DOM exception.
    pub fn show_note(&self, text: &str) -> Result<(), JsValue> {
        let li = create(&self.doc, "li", "msg system note")?;
        let bubble = create(&self.doc, "div", "bubble")?;
        bubble.set_text_content(Some(text));
        let at = self.time_element(js_sys::Date::now() as u64)?;
        li.append_with_node_2(&bubble, &at)?;
        let first_pending = self.log.query_selector(".pending")?;
        self.log.insert_before(&li, first_pending.as_ref().map(|e| e.unchecked_ref()))?;
        self.scroll_to_end();
        Ok(())
    }

    /// `14:05` in the visitor's time zone, with the full date and time for assistive technology.
    fn time_element(&self, at_ms: u64) -> Result<HtmlElement, JsValue> {
        let d = js_sys::Date::new(&JsValue::from_f64(at_ms as f64));
        let t = create(&self.doc, "time", "at")?;
        let mut hh_mm = String::new();
        push_hh_mm(&mut hh_mm, &d);
        t.set_text_content(Some(&hh_mm));
        t.set_attribute("datetime", &String::from(d.to_iso_string()))?;
        Ok(t)
    }

    /// Shows a send waiting for its acknowledgement, at the end.
    ///
    /// # Errors
    /// A DOM exception.
    pub fn show_pending(&self, client_id: &str, body: &Body, s: &Strings) -> Result<(), JsValue> {
        let li = self.message_element(&Sender::Visitor, body, s)?;
        li.class_list().add_1("pending")?;
        li.set_attribute("data-client-id", client_id)?;
        li.set_attribute("aria-label", s.sending)?;
        self.log.append_child(&li)?;
        self.scroll_to_end();
        Ok(())
    }

    /// Marks a pending send as failed.
    ///
    /// # Errors
    /// A DOM exception.
    pub fn fail_pending(&self, client_id: &str, s: &Strings) -> Result<(), JsValue> {
        if let Some(li) = self.pending_element(client_id)? {
            li.class_list().add_1("failed")?;
            li.set_attribute("aria-label", s.send_failed)?;
        }
        Ok(())
    }

    fn pending_element(&self, client_id: &str) -> Result<Option<Element>, JsValue> {
        // Pending bubbles sit at the end: walk back from the last one.
        let mut item = self.log.last_element_child();
        while let Some(el) = item {
            if !el.class_list().contains("pending") {
                break;
            }
            if el.get_attribute("data-client-id").as_deref() == Some(client_id) {
                return Ok(Some(el));
            }
            item = el.previous_element_sibling();
        }
        Ok(None)
    }

    fn message_element(&self, sender: &Sender, body: &Body, s: &Strings) -> Result<Element, JsValue> {
        let (class, who) = match sender {
            Sender::Visitor => ("msg mine", None),
            Sender::Agent { name, .. } => ("msg agent", Some(name.as_str())),
            Sender::Bot => ("msg bot", Some(s.bot)),
            Sender::System => ("msg system", None),
        };
        let li = create(&self.doc, "li", class)?;
        if let Some(who) = who {
            let label = create(&self.doc, "span", "who")?;
            // An agent gets an avatar: their name's first letter (a whole character, so a name
            // starting with an emoji or Hangul is never cut in half).
            if let (Sender::Agent { .. }, Some(initial)) = (sender, who.chars().next()) {
                let avatar = create(&self.doc, "span", "avatar")?;
                avatar.set_attribute("aria-hidden", "true")?;
                avatar.set_text_content(Some(&initial.to_string()));
                label.append_child(&avatar)?;
            }
            label.append_child(&self.doc.create_text_node(who))?;
            li.append_child(&label)?;
        }
        let bubble = create(&self.doc, "div", "bubble")?;
        match body {
            Body::Text { text } => bubble.set_text_content(Some(text)),
            Body::Image { attachment, .. } => {
                let img: HtmlImageElement = self.doc.create_element("img")?.unchecked_into();
                img.set_alt(s.photo_alt);
                img.set_src(&attachment_url(attachment));
                img.set_attribute("loading", "lazy")?;
                bubble.class_list().add_1("image")?;
                bubble.append_child(&img)?;
            }
            Body::File { attachment, name, size, .. } => {
                let a = create(&self.doc, "a", "file")?;
                a.set_attribute("href", &attachment_url(attachment))?;
                a.set_attribute("download", name)?;
                a.set_text_content(Some(&cat(&[name, " (", &human_size(*size), ")"])));
                bubble.append_child(&a)?;
            }
            Body::Menu { text, options } => {
                bubble.set_text_content(Some(text));
                li.append_child(&bubble)?;
                li.append_child(&self.menu(options)?.into())?;
                return Ok(li.into());
            }
            Body::Cards { text, cards } => {
                bubble.set_text_content(Some(text));
                li.append_child(&bubble)?;
                let list = create(&self.doc, "div", "cards")?;
                for card in cards {
                    let c = create(&self.doc, "div", "card")?;
                    // The title links out when the bot gave a web link; text otherwise.
                    let title = match card.url.as_deref().filter(|u| is_web_url(u)) {
                        Some(url) => self.link_out("card-title", url)?,
                        None => create(&self.doc, "strong", "card-title")?,
                    };
                    title.set_text_content(Some(&card.title));
                    c.append_child(&title)?;
                    if let Some(d) = &card.description {
                        let p = create(&self.doc, "p", "card-line")?;
                        p.set_text_content(Some(d));
                        c.append_child(&p)?;
                    }
                    if !card.options.is_empty() {
                        c.append_child(&self.menu(&card.options)?.into())?;
                    }
                    list.append_child(&c)?;
                }
                li.append_child(&list)?;
                return Ok(li.into());
            }
        }
        li.append_child(&bubble)?;
        Ok(li.into())
    }

    /// A link that opens in a new tab and tells the target nothing about the chat.
    fn link_out(&self, class: &str, url: &str) -> Result<HtmlElement, JsValue> {
        let a = create(&self.doc, "a", class)?;
        a.set_attribute("href", url)?;
        a.set_attribute("target", "_blank")?;
        a.set_attribute("rel", "noopener noreferrer")?;
        Ok(a)
    }

    fn menu(&self, options: &[MenuOption]) -> Result<Element, JsValue> {
        let menu = create(&self.doc, "div", "menu")?;
        menu.set_attribute("role", "group")?;
        for option in options {
            let item = match option.url.as_deref().filter(|u| is_web_url(u)) {
                Some(url) => self.link_out("option link", url)?,
                None => {
                    let b = button(&self.doc, "option", "")?;
                    b.set_attribute(OPTION_ATTR, &option.id)?;
                    b
                }
            };
            item.set_text_content(Some(&option.label));
            menu.append_child(&item)?;
        }
        Ok(menu.into())
    }

    /// Redraws everything that follows from the state rather than from events.
    ///
    /// # Errors
    /// A DOM exception.
    pub fn render(&mut self, state: &State) -> Result<(), JsValue> {
        let s = state.locale.strings();
        let live = matches!(state.phase, Phase::Live);
        // Banners and the typing line take room from the list: keep the newest line in view.
        let at_end = self.log.scroll_height() - self.log.scroll_top() - self.log.client_height() < 48;
        let failed = matches!(state.phase, Phase::Failed(_));
        if failed {
            // A refusal is the panel's whole subject: it is the title, the reason is the banner.
            self.title.set_text_content(Some(s.launch_failed));
        }
        let status = match (&state.phase, state.connected, state.conversation) {
            (Phase::Failed(_), _, _) => String::new(),
            (Phase::HandedOff, _, _) => s.handed_off.to_string(),
            (Phase::Live, false, _) | (Phase::Launching | Phase::AwaitingLaunch, _, _) => s.connecting.to_string(),
            (_, true, SessionState::Assigned) => state.agent_name.clone().unwrap_or_default(),
            (_, true, SessionState::Queued) => {
                let place = match state.queue_position {
                    Some(n) => s.queue_position(n),
                    None => s.queued.to_string(),
                };
                match state.wait_secs {
                    Some(w) => cat(&[&place, " · ", &s.wait_about(w)]),
                    None => place,
                }
            }
            // Short: the banner right under it says what to do next.
            (_, true, SessionState::Closed) => s.ended.to_string(),
            (_, true, SessionState::Bot) => s.bot.to_string(),
            (_, true, SessionState::Waiting) => s.waiting_for_first_message.to_string(),
        };
        self.status.set_text_content(Some(&status));

        let banner = match &state.phase {
            Phase::Failed(e) => Some(state.locale.error(&e.code)),
            Phase::Live if !state.connected && state.session.failed_connects() > 0 => Some(s.offline.to_string()),
            Phase::Live if state.conversation == SessionState::Closed => Some(s.chat_ended.to_string()),
            _ => state.notice.clone(),
        };
        // The error's kind for support and tests (the text is the visitor's language).
        match &state.phase {
            Phase::Failed(e) => self.banner.set_attribute("data-code", &e.code)?,
            _ => self.banner.remove_attribute("data-code")?,
        }
        self.banner.set_hidden(banner.is_none());
        self.banner.set_text_content(banner.as_deref());
        self.banner.class_list().toggle_with_force("warn", matches!(state.phase, Phase::Failed(_)) || state.notice.is_some())?;

        self.typing.set_hidden(!state.agent_typing);
        self.typing.set_text_content(Some(s.agent_typing));

        let handed_off = matches!(state.phase, Phase::HandedOff);
        // A chat that has ended has nothing to hand over.
        let ended = state.conversation == SessionState::Closed;
        self.handoff_button.set_hidden(!live || ended || state.mode != Mode::Embedded || state.handoff_requested);
        // Nothing can be sent after a refusal: the box says so instead of taking text.
        self.input.set_disabled(failed);
        self.file.set_disabled(failed);
        self.send.toggle_attribute_with_force("disabled", failed)?;
        self.input.set_placeholder(if failed { s.cannot_send } else { s.placeholder });
        self.end_button.set_hidden(!state.connected || !state.can_leave() || state.handoff_requested);
        self.handed_off.set_hidden(!handed_off);
        self.composer.set_hidden(handed_off || state.handoff_requested);
        self.log.set_hidden(handed_off || state.handoff_requested);
        self.qr.set_hidden(!state.handoff_requested || handed_off);
        let svg = state.handoff.as_ref().map(|h| (h.svg.clone(), h.url.clone()));
        if svg != self.qr_svg {
            self.set_qr(svg.as_ref().map(|(svg, _)| svg.as_str()))?;
            self.qr_svg = svg;
        }
        self.qr_image.set_hidden(self.qr_svg.is_none());
        let picked = match state.rating {
            crate::chat::Rating::Ask(p) => p,
            crate::chat::Rating::Off => None,
        };
        self.rate.set_hidden(matches!(state.rating, crate::chat::Rating::Off) || handed_off);
        let stars = self.rate.query_selector_all("[data-score]")?;
        for i in 0..stars.length() {
            if let Some(star) = stars.item(i).and_then(|n| n.dyn_into::<Element>().ok()) {
                star.set_attribute("aria-pressed", if picked.is_some_and(|p| u32::from(p) > i) { "true" } else { "false" })?;
            }
        }
        if let Some(send) = self.rate.query_selector("[data-act=send]")? {
            send.toggle_attribute_with_force("disabled", picked.is_none())?;
        }
        self.status.set_hidden(status.is_empty());
        if at_end {
            self.scroll_to_end();
        }
        Ok(())
    }

    fn set_qr(&self, svg: Option<&str>) -> Result<(), JsValue> {
        let old = self.qr_image.src();
        if old.starts_with("blob:") {
            web_sys::Url::revoke_object_url(&old)?;
        }
        match svg {
            Some(svg) => {
                let parts = js_sys::Array::of1(&JsValue::from_str(svg));
                let options = web_sys::BlobPropertyBag::new();
                options.set_type("image/svg+xml");
                let blob = web_sys::Blob::new_with_str_sequence_and_options(&parts, &options)?;
                self.qr_image.set_src(&web_sys::Url::create_object_url_with_blob(&blob)?);
            }
            None => self.qr_image.remove_attribute("src")?,
        }
        Ok(())
    }

    /// Says `text` through the live region (cleared first so a repeat is announced again).
    pub fn announce(&self, text: &str) {
        self.live.set_text_content(None);
        self.live.set_text_content(Some(text));
    }

    /// Removes every message, the guidance included.
    pub fn clear_messages(&self) {
        self.log.set_text_content(None);
    }

    /// Keeps the newest message in view.
    pub fn scroll_to_end(&self) {
        self.log.set_scroll_top(self.log.scroll_height());
    }

    /// Moves focus into the composer (or the QR view's button while it shows).
    pub fn focus_composer(&self) {
        let target: &HtmlElement = if self.qr.hidden() { &self.input } else { &self.chat_here_button };
        let _ = target.focus();
    }
}

/// Enter sends (Shift+Enter is a new line), but never while an IME is composing: a Hangul
/// syllable being committed is not a message. Dropping the listeners unwires it.
pub fn enter_to_send(input: &HtmlTextAreaElement, on_send: impl Fn() + 'static) -> [EventListener; 3] {
    let composition = Rc::new(RefCell::new(Composition::default()));
    let started = composition.clone();
    let ended = composition.clone();
    [
        listen(input, "compositionstart", Box::new(move |_| started.borrow_mut().start())),
        listen(input, "compositionend", Box::new(move |_| ended.borrow_mut().end())),
        listen(input, "keydown", Box::new(move |e| {
            let key: &web_sys::KeyboardEvent = e.unchecked_ref();
            let press = KeyPress {
                enter: key.key() == "Enter",
                shift: key.shift_key(),
                is_composing: key.is_composing(),
                key_code: key.key_code(),
            };
            if composition.borrow().enter_sends(press) {
                e.prevent_default();
                on_send();
            }
        })),
    ]
}

/// What Tab can reach inside the app.
const FOCUSABLE: &str = "button:not([disabled]),a[href],input:not([disabled]),textarea:not([disabled]),[tabindex=\"0\"]";

/// Keeps Tab and Shift+Tab cycling inside `root` while `active()` (the full-screen chat, where
/// nothing behind it is visible): past the last control focus wraps to the first, and back.
pub fn focus_trap(root: &HtmlElement, active: impl Fn() -> bool + 'static) -> EventListener {
    let root_for_keys = root.clone();
    listen(root, "keydown", Box::new(move |e| {
        let key: &web_sys::KeyboardEvent = e.unchecked_ref();
        if key.key() != "Tab" || !active() {
            return;
        }
        let Ok(list) = root_for_keys.query_selector_all(FOCUSABLE) else { return };
        // The first and last control on screen (hidden ones have no box).
        let (mut first, mut last) = (None, None);
        for i in 0..list.length() {
            let Some(el) = list.get(i) else { continue };
            let el: HtmlElement = el.unchecked_into();
            if el.offset_width() > 0 || el.offset_height() > 0 {
                first.get_or_insert_with(|| el.clone());
                last = Some(el);
            }
        }
        let (Some(first), Some(last)) = (first, last) else { return };
        let current = root_for_keys.owner_document().and_then(|d| d.active_element());
        let at = |el: &HtmlElement| current.as_ref().is_some_and(|c| js_sys::Object::is(c, el));
        let wrap_to = match (key.shift_key(), at(&first), at(&last)) {
            (true, true, _) => last,
            (false, _, true) => first,
            _ => return,
        };
        e.prevent_default();
        let _ = wrap_to.focus();
    }))
}

/// Listens for `event` on `target` (the handler may prevent the default). Every listener of the
/// app goes through this one boxed callback type: each closure type given to gloo would bring its
/// own copy of the listener and closure glue into the wasm.
pub fn listen(target: &web_sys::EventTarget, event: &'static str, handler: Box<dyn Fn(&web_sys::Event)>) -> EventListener {
    EventListener::new_with_options(target, event, EventListenerOptions::enable_prevent_default(), handler)
}

/// `/v1/attachments/{id}`, the id percent-encoded. The unguessable id is the capability; the
/// visitor's handle never goes in a link that can be copied or logged.
pub fn attachment_url(attachment: &str) -> String {
    cat(&["/v1/attachments/", &consult_sdk::launch::encode_component(attachment)])
}

/// Menu links open only http(s) URLs: never `javascript:` or `data:`.
pub fn is_web_url(url: &str) -> bool {
    let lower = url.get(..8).unwrap_or(url).to_ascii_lowercase();
    lower.starts_with("https://") || lower.starts_with("http://")
}

/// `[data-seq="7` and `rest`.
fn seq_selector(seq: u64, rest: &str) -> String {
    let mut out = String::from("[data-seq=\"");
    push_u64(&mut out, seq);
    out.push_str(rest);
    out
}

fn human_size(bytes: u64) -> String {
    // Integer arithmetic: float formatting would cost the wasm ~15 KB.
    let mut out = String::new();
    match bytes {
        0..1024 => {
            push_u64(&mut out, bytes);
            out.push_str(" B");
        }
        1024..1_048_576 => {
            push_u64(&mut out, bytes / 1024);
            out.push_str(" KB");
        }
        _ => {
            push_u64(&mut out, bytes / 1_048_576);
            out.push('.');
            push_u64(&mut out, bytes % 1_048_576 * 10 / 1_048_576);
            out.push_str(" MB");
        }
    }
    out
}

/// `14:05` in the visitor's time zone.
fn push_hh_mm(out: &mut String, d: &js_sys::Date) {
    push_two_digits(out, u64::from(d.get_hours()));
    out.push(':');
    push_two_digits(out, u64::from(d.get_minutes()));
}

/// `11월 27일 09:00` or `27 Nov 09:00` in the visitor's time zone.
fn push_date_time(out: &mut String, d: &js_sys::Date, s: &Strings) {
    let month = s.months[(d.get_month() as usize).min(11)];
    let mut day = number(u64::from(d.get_date()));
    day.push_str(s.day_suffix);
    let (first, second) = if s.day_first { (day.as_str(), month) } else { (month, day.as_str()) };
    out.push_str(&cat(&[first, " ", second, " "]));
    push_hh_mm(out, d);
}
