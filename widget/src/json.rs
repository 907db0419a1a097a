//! A small JSON reader and writer for the wire protocol types the chat app receives and sends.
//!
//! `consult_sdk::protocol` stays the single source of truth: its serde derives are what the gateway
//! speaks. The chat app does not link serde's deserialisers (the buffering code serde generates for
//! internally tagged enums was about a third of the wasm) and reads and writes the same JSON with
//! the code below instead. The tests serialise every variant with serde_json and check this
//! reader gives the same value back, and that this writer produces the same bytes serde_json does,
//! so the two cannot drift apart.
//!
//! Numbers: the protocol only carries non-negative integers, so a number is kept as `Some(u64)`
//! when it is one and as `None` otherwise (floats and negatives are accepted by the syntax but
//! have no value). No float parsing or formatting is linked.

use crate::text::push_u64;
use consult_sdk::EntryPoint;
use consult_sdk::protocol::{
    Body, Card, ChannelInfo, ChannelStatus, ChatMessage, CloseReason, ErrorBody, FrameMessage, LaunchRequest,
    LaunchResponse, MenuOption, Sender, SessionState, VisitorCommand, VisitorEvent,
};

/// Deepest nesting accepted; the protocol needs five levels.
const MAX_DEPTH: u32 = 32;

/// A parsed JSON value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Json {
    /// `null`.
    Null,
    /// `true` / `false`.
    Bool(bool),
    /// A number: its value when it is a non-negative integer that fits a `u64`.
    Num(Option<u64>),
    /// A string.
    Str(String),
    /// An array.
    Arr(Vec<Json>),
    /// An object, fields in document order.
    Obj(Vec<(String, Json)>),
}

impl Json {
    /// Parses one JSON document (surrounding whitespace allowed); `None` for anything else.
    pub fn parse(text: &str) -> Option<Json> {
        let mut p = Parser { s: text.as_bytes(), i: 0 };
        let value = p.value(0)?;
        p.ws();
        (p.i == p.s.len()).then_some(value)
    }

    /// An object's field; `None` when absent, `null`, or `self` is not an object.
    pub fn get(&self, key: &str) -> Option<&Json> {
        match self {
            // `matches!`, not `!=`: comparing with `Json::Null` would link the recursive `PartialEq`.
            Json::Obj(fields) => fields.iter().find(|(k, _)| k == key).map(|(_, v)| v).filter(|v| !matches!(v, Json::Null)),
            _ => None,
        }
    }

    /// The string value.
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Json::Str(s) => Some(s),
            _ => None,
        }
    }

    /// The integer value.
    pub fn as_u64(&self) -> Option<u64> {
        match self {
            Json::Num(n) => *n,
            _ => None,
        }
    }

    /// The boolean value.
    pub fn as_bool(&self) -> Option<bool> {
        match self {
            Json::Bool(b) => Some(*b),
            _ => None,
        }
    }

    /// A required string field.
    pub fn string(&self, key: &str) -> Option<String> {
        self.get(key)?.as_str().map(str::to_string)
    }

    /// A required integer field.
    pub fn u64(&self, key: &str) -> Option<u64> {
        self.get(key)?.as_u64()
    }

    /// A required integer field that fits a `u32`.
    pub fn u32(&self, key: &str) -> Option<u32> {
        self.u64(key)?.try_into().ok()
    }

    /// A required boolean field.
    pub fn bool(&self, key: &str) -> Option<bool> {
        self.get(key)?.as_bool()
    }

    /// An optional field: `Some(None)` when absent or `null`, `None` when present but malformed.
    pub fn opt<T>(&self, key: &str, read: impl FnOnce(&Json) -> Option<T>) -> Option<Option<T>> {
        match self.get(key) {
            None => Some(None),
            Some(v) => read(v).map(Some),
        }
    }

    /// An optional string field.
    pub fn opt_string(&self, key: &str) -> Option<Option<String>> {
        self.opt(key, |v| v.as_str().map(str::to_string))
    }

    /// The `type` tag of a message.
    fn tag(&self, key: &str) -> Option<&str> {
        self.get(key)?.as_str()
    }
}

struct Parser<'a> {
    s: &'a [u8],
    i: usize,
}

impl Parser<'_> {
    fn ws(&mut self) {
        while let Some(b' ' | b'\t' | b'\n' | b'\r') = self.s.get(self.i) {
            self.i += 1;
        }
    }

    fn eat(&mut self, b: u8) -> bool {
        self.ws();
        let hit = self.s.get(self.i) == Some(&b);
        if hit {
            self.i += 1;
        }
        hit
    }

    fn word(&mut self, w: &[u8], v: Json) -> Option<Json> {
        self.s[self.i..].starts_with(w).then(|| {
            self.i += w.len();
            v
        })
    }

    fn value(&mut self, depth: u32) -> Option<Json> {
        if depth > MAX_DEPTH {
            return None;
        }
        self.ws();
        match *self.s.get(self.i)? {
            b'n' => self.word(b"null", Json::Null),
            b't' => self.word(b"true", Json::Bool(true)),
            b'f' => self.word(b"false", Json::Bool(false)),
            b'"' => self.string().map(Json::Str),
            b'[' => {
                self.i += 1;
                let mut items = Vec::new();
                if !self.eat(b']') {
                    loop {
                        items.push(self.value(depth + 1)?);
                        if self.eat(b']') {
                            break;
                        }
                        if !self.eat(b',') {
                            return None;
                        }
                    }
                }
                Some(Json::Arr(items))
            }
            b'{' => {
                self.i += 1;
                let mut fields = Vec::new();
                if !self.eat(b'}') {
                    loop {
                        self.ws();
                        let key = self.string()?;
                        if !self.eat(b':') {
                            return None;
                        }
                        fields.push((key, self.value(depth + 1)?));
                        if self.eat(b'}') {
                            break;
                        }
                        if !self.eat(b',') {
                            return None;
                        }
                    }
                }
                Some(Json::Obj(fields))
            }
            _ => self.number(),
        }
    }

    fn digits(&mut self) -> usize {
        let start = self.i;
        while self.s.get(self.i).is_some_and(u8::is_ascii_digit) {
            self.i += 1;
        }
        self.i - start
    }

    fn number(&mut self) -> Option<Json> {
        let negative = self.s.get(self.i) == Some(&b'-');
        if negative {
            self.i += 1;
        }
        let start = self.i;
        let int_len = self.digits();
        if int_len == 0 || (int_len > 1 && self.s[start] == b'0') {
            return None;
        }
        let mut integer = !negative;
        if self.s.get(self.i) == Some(&b'.') {
            self.i += 1;
            integer = false;
            if self.digits() == 0 {
                return None;
            }
        }
        if let Some(b'e' | b'E') = self.s.get(self.i) {
            self.i += 1;
            integer = false;
            if let Some(b'+' | b'-') = self.s.get(self.i) {
                self.i += 1;
            }
            if self.digits() == 0 {
                return None;
            }
        }
        let value = integer
            .then(|| {
                self.s[start..start + int_len]
                    .iter()
                    .try_fold(0u64, |acc, d| acc.checked_mul(10)?.checked_add(u64::from(d - b'0')))
            })
            .flatten();
        Some(Json::Num(value))
    }

    fn hex4(&mut self) -> Option<u32> {
        let h = self.s.get(self.i..self.i + 4)?;
        self.i += 4;
        h.iter().try_fold(0u32, |acc, &c| Some(acc << 4 | char::from(c).to_digit(16)?))
    }

    fn string(&mut self) -> Option<String> {
        if self.s.get(self.i) != Some(&b'"') {
            return None;
        }
        self.i += 1;
        let mut out = String::new();
        loop {
            // Copy the run up to the next quote or backslash in one go.
            let start = self.i;
            while let Some(&b) = self.s.get(self.i) {
                if b == b'"' || b == b'\\' || b < 0x20 {
                    break;
                }
                self.i += 1;
            }
            // The input is a &str and the run stops only at ASCII bytes: a char boundary.
            out.push_str(std::str::from_utf8(&self.s[start..self.i]).ok()?);
            match *self.s.get(self.i)? {
                b'"' => {
                    self.i += 1;
                    return Some(out);
                }
                b'\\' => {
                    self.i += 1;
                    let c = *self.s.get(self.i)?;
                    self.i += 1;
                    out.push(match c {
                        b'"' => '"',
                        b'\\' => '\\',
                        b'/' => '/',
                        b'b' => '\u{8}',
                        b'f' => '\u{c}',
                        b'n' => '\n',
                        b'r' => '\r',
                        b't' => '\t',
                        b'u' => {
                            let hi = self.hex4()?;
                            let code = if (0xD800..0xDC00).contains(&hi) {
                                if self.s.get(self.i..self.i + 2)? != b"\\u" {
                                    return None;
                                }
                                self.i += 2;
                                let lo = self.hex4()?;
                                if !(0xDC00..0xE000).contains(&lo) {
                                    return None;
                                }
                                0x10000 + ((hi - 0xD800) << 10) + (lo - 0xDC00)
                            } else {
                                hi
                            };
                            char::from_u32(code)?
                        }
                        _ => return None,
                    });
                }
                _ => return None, // a raw control character
            }
        }
    }
}

/// Appends `s` as a JSON string, escaped the way serde_json escapes it.
pub fn write_str(out: &mut String, s: &str) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            c if (c as u32) < 0x20 => {
                const HEX: &[u8; 16] = b"0123456789abcdef";
                out.push_str("\\u00");
                out.push(char::from(HEX[(c as usize) >> 4]));
                out.push(char::from(HEX[(c as usize) & 0xf]));
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

/// Writes one JSON object; fields go in the order they are added, as serde's derives do.
pub struct ObjectWriter<'a> {
    out: &'a mut String,
    first: bool,
}

impl<'a> ObjectWriter<'a> {
    /// Opens an object.
    pub fn new(out: &'a mut String) -> Self {
        out.push('{');
        ObjectWriter { out, first: true }
    }

    fn key(&mut self, key: &str) -> &mut String {
        if !self.first {
            self.out.push(',');
        }
        self.first = false;
        write_str(self.out, key);
        self.out.push(':');
        self.out
    }

    /// A string field.
    pub fn str(&mut self, key: &str, value: &str) -> &mut Self {
        write_str(self.key(key), value);
        self
    }

    /// A string field left out when `None`.
    pub fn opt_str(&mut self, key: &str, value: &Option<String>) -> &mut Self {
        if let Some(v) = value {
            self.str(key, v);
        }
        self
    }

    /// An integer field.
    pub fn u64(&mut self, key: &str, value: u64) -> &mut Self {
        push_u64(self.key(key), value);
        self
    }

    /// A boolean field.
    pub fn bool(&mut self, key: &str, value: bool) -> &mut Self {
        self.key(key).push_str(if value { "true" } else { "false" });
        self
    }

    /// A field holding any [`ToJson`] value.
    pub fn val(&mut self, key: &str, value: &impl ToJson) -> &mut Self {
        value.write_json(self.key(key));
        self
    }

    /// Closes the object.
    pub fn end(&mut self) {
        self.out.push('}');
    }
}

/// Types the chat app reads from JSON.
pub trait FromJson: Sized {
    /// The value, or `None` when `json` is not one.
    fn from_json(json: &Json) -> Option<Self>;

    /// Parses text.
    fn from_json_str(text: &str) -> Option<Self> {
        Self::from_json(&Json::parse(text)?)
    }
}

/// Types the chat app writes as JSON.
pub trait ToJson {
    /// Appends the JSON form.
    fn write_json(&self, out: &mut String);

    /// The JSON form.
    fn to_json(&self) -> String {
        let mut out = String::new();
        self.write_json(&mut out);
        out
    }
}

impl<T: FromJson> FromJson for Vec<T> {
    fn from_json(json: &Json) -> Option<Self> {
        // A loop rather than `collect::<Option<Vec<_>>>()`: less code for each `T`.
        let Json::Arr(items) = json else { return None };
        let mut out = Vec::with_capacity(items.len());
        for item in items {
            out.push(T::from_json(item)?);
        }
        Some(out)
    }
}

impl<T: ToJson> ToJson for Vec<T> {
    fn write_json(&self, out: &mut String) {
        out.push('[');
        for (i, item) in self.iter().enumerate() {
            if i > 0 {
                out.push(',');
            }
            item.write_json(out);
        }
        out.push(']');
    }
}

impl FromJson for String {
    fn from_json(json: &Json) -> Option<Self> {
        json.as_str().map(str::to_string)
    }
}

impl ToJson for String {
    fn write_json(&self, out: &mut String) {
        write_str(out, self);
    }
}

impl FromJson for EntryPoint {
    fn from_json(j: &Json) -> Option<Self> {
        Some(EntryPoint {
            button: j.opt_string("button")?,
            page: j.opt_string("page")?,
            campaign: j.opt_string("campaign")?,
            product: j.opt_string("product")?,
            order: j.opt_string("order")?,
            tags: j.opt("tags", Vec::from_json)?.unwrap_or_default(),
        })
    }
}

impl ToJson for EntryPoint {
    fn write_json(&self, out: &mut String) {
        let mut w = ObjectWriter::new(out);
        w.opt_str("button", &self.button)
            .opt_str("page", &self.page)
            .opt_str("campaign", &self.campaign)
            .opt_str("product", &self.product)
            .opt_str("order", &self.order);
        if !self.tags.is_empty() {
            w.val("tags", &self.tags);
        }
        w.end();
    }
}

impl FromJson for LaunchRequest {
    fn from_json(j: &Json) -> Option<Self> {
        Some(LaunchRequest {
            channel: j.string("channel")?,
            token: j.opt_string("token")?,
            printed: j.opt_string("printed")?,
            handoff: j.opt_string("handoff")?,
            declared: j.opt("declared", EntryPoint::from_json)?.unwrap_or_default(),
            visitor_key: j.opt_string("visitor_key")?,
            locale: j.opt_string("locale")?,
            host_origin: j.opt_string("host_origin")?,
        })
    }
}

impl ToJson for LaunchRequest {
    fn write_json(&self, out: &mut String) {
        let mut w = ObjectWriter::new(out);
        w.str("channel", &self.channel)
            .opt_str("token", &self.token)
            .opt_str("printed", &self.printed)
            .opt_str("handoff", &self.handoff);
        if !self.declared.is_empty() {
            w.val("declared", &self.declared);
        }
        w.opt_str("visitor_key", &self.visitor_key)
            .opt_str("locale", &self.locale)
            .opt_str("host_origin", &self.host_origin)
            .end();
    }
}

impl FromJson for ChannelStatus {
    fn from_json(j: &Json) -> Option<Self> {
        Some(ChannelStatus {
            enabled: j.bool("enabled")?,
            open_now: j.bool("open_now")?,
            next_opening: j.opt("next_opening", Json::as_u64)?,
            after_hours_message: j.opt_string("after_hours_message")?,
            color: j.opt_string("color")?,
            logo: j.opt_string("logo")?,
        })
    }
}

impl ToJson for ChannelStatus {
    fn write_json(&self, out: &mut String) {
        let mut w = ObjectWriter::new(out);
        w.bool("enabled", self.enabled).bool("open_now", self.open_now);
        if let Some(t) = self.next_opening {
            w.u64("next_opening", t);
        }
        w.opt_str("after_hours_message", &self.after_hours_message).opt_str("color", &self.color).opt_str("logo", &self.logo).end();
    }
}

impl FromJson for ChannelInfo {
    fn from_json(j: &Json) -> Option<Self> {
        Some(ChannelInfo {
            id: j.string("id")?,
            name: j.string("name")?,
            guidance: j.string("guidance")?,
            status: ChannelStatus::from_json(j.get("status")?)?,
            welcome: j.opt_string("welcome")?,
        })
    }
}

impl ToJson for ChannelInfo {
    fn write_json(&self, out: &mut String) {
        ObjectWriter::new(out)
            .str("id", &self.id)
            .str("name", &self.name)
            .str("guidance", &self.guidance)
            .val("status", &self.status)
            .opt_str("welcome", &self.welcome)
            .end();
    }
}

impl FromJson for LaunchResponse {
    fn from_json(j: &Json) -> Option<Self> {
        Some(LaunchResponse {
            session: j.string("session")?,
            visitor_key: j.string("visitor_key")?,
            channel: ChannelInfo::from_json(j.get("channel")?)?,
            verified: j.bool("verified")?,
        })
    }
}

impl ToJson for LaunchResponse {
    fn write_json(&self, out: &mut String) {
        ObjectWriter::new(out)
            .str("session", &self.session)
            .str("visitor_key", &self.visitor_key)
            .val("channel", &self.channel)
            .bool("verified", self.verified)
            .end();
    }
}

impl FromJson for ErrorBody {
    fn from_json(j: &Json) -> Option<Self> {
        Some(ErrorBody { code: j.string("code")?, message: j.string("message")? })
    }
}

impl ToJson for ErrorBody {
    fn write_json(&self, out: &mut String) {
        ObjectWriter::new(out).str("code", &self.code).str("message", &self.message).end();
    }
}

impl FromJson for Sender {
    fn from_json(j: &Json) -> Option<Self> {
        Some(match j.tag("role")? {
            "visitor" => Sender::Visitor,
            "agent" => Sender::Agent { id: j.string("id")?, name: j.string("name")? },
            "bot" => Sender::Bot,
            "system" => Sender::System,
            _ => return None,
        })
    }
}

impl ToJson for Sender {
    fn write_json(&self, out: &mut String) {
        let mut w = ObjectWriter::new(out);
        match self {
            Sender::Visitor => w.str("role", "visitor"),
            Sender::Agent { id, name } => w.str("role", "agent").str("id", id).str("name", name),
            Sender::Bot => w.str("role", "bot"),
            Sender::System => w.str("role", "system"),
        }
        .end();
    }
}

impl FromJson for MenuOption {
    fn from_json(j: &Json) -> Option<Self> {
        Some(MenuOption { id: j.string("id")?, label: j.string("label")?, url: j.opt_string("url")? })
    }
}

impl ToJson for MenuOption {
    fn write_json(&self, out: &mut String) {
        ObjectWriter::new(out).str("id", &self.id).str("label", &self.label).opt_str("url", &self.url).end();
    }
}

impl FromJson for Card {
    fn from_json(j: &Json) -> Option<Self> {
        Some(Card {
            title: j.string("title")?,
            description: j.opt_string("description")?,
            url: j.opt_string("url")?,
            options: j.get("options").map_or(Some(Vec::new()), Vec::from_json)?,
        })
    }
}

impl ToJson for Card {
    fn write_json(&self, out: &mut String) {
        ObjectWriter::new(out)
            .str("title", &self.title)
            .opt_str("description", &self.description)
            .opt_str("url", &self.url)
            .val("options", &self.options)
            .end();
    }
}

impl FromJson for Body {
    fn from_json(j: &Json) -> Option<Self> {
        Some(match j.tag("kind")? {
            "text" => Body::Text { text: j.string("text")? },
            "image" => Body::Image { attachment: j.string("attachment")?, mime: j.string("mime")?, size: j.u64("size")? },
            "file" => Body::File {
                attachment: j.string("attachment")?,
                name: j.string("name")?,
                mime: j.string("mime")?,
                size: j.u64("size")?,
            },
            "menu" => Body::Menu { text: j.string("text")?, options: Vec::from_json(j.get("options")?)? },
            "cards" => Body::Cards { text: j.string("text")?, cards: Vec::from_json(j.get("cards")?)? },
            _ => return None,
        })
    }
}

impl ToJson for Body {
    fn write_json(&self, out: &mut String) {
        let mut w = ObjectWriter::new(out);
        match self {
            Body::Text { text } => w.str("kind", "text").str("text", text),
            Body::Image { attachment, mime, size } => {
                w.str("kind", "image").str("attachment", attachment).str("mime", mime).u64("size", *size)
            }
            Body::File { attachment, name, mime, size } => w
                .str("kind", "file")
                .str("attachment", attachment)
                .str("name", name)
                .str("mime", mime)
                .u64("size", *size),
            Body::Menu { text, options } => w.str("kind", "menu").str("text", text).val("options", options),
            Body::Cards { text, cards } => w.str("kind", "cards").str("text", text).val("cards", cards),
        }
        .end();
    }
}

impl FromJson for ChatMessage {
    fn from_json(j: &Json) -> Option<Self> {
        Some(ChatMessage {
            seq: j.u64("seq")?,
            sender: Sender::from_json(j.get("sender")?)?,
            body: Body::from_json(j.get("body")?)?,
            client_id: j.opt_string("client_id")?,
            at_ms: j.u64("at_ms")?,
        })
    }
}

impl ToJson for ChatMessage {
    fn write_json(&self, out: &mut String) {
        ObjectWriter::new(out)
            .u64("seq", self.seq)
            .val("sender", &self.sender)
            .val("body", &self.body)
            .opt_str("client_id", &self.client_id)
            .u64("at_ms", self.at_ms)
            .end();
    }
}

impl FromJson for SessionState {
    fn from_json(j: &Json) -> Option<Self> {
        Some(match j.as_str()? {
            "waiting" => SessionState::Waiting,
            "bot" => SessionState::Bot,
            "queued" => SessionState::Queued,
            "assigned" => SessionState::Assigned,
            "closed" => SessionState::Closed,
            _ => return None,
        })
    }
}

impl FromJson for CloseReason {
    fn from_json(j: &Json) -> Option<Self> {
        Some(match j.as_str()? {
            "visitor_left" => CloseReason::VisitorLeft,
            "inactivity" => CloseReason::Inactivity,
            "agent_closed" => CloseReason::AgentClosed,
            "handed_off" => CloseReason::HandedOff,
            "blocked" => CloseReason::Blocked,
            _ => return None,
        })
    }
}

impl FromJson for VisitorEvent {
    fn from_json(j: &Json) -> Option<Self> {
        let state = || SessionState::from_json(j.get("state")?);
        Some(match j.tag("type")? {
            "welcome" => VisitorEvent::Welcome {
                state: state()?,
                queue_position: j.opt("queue_position", |v| v.as_u64()?.try_into().ok())?,
                agent_name: j.opt_string("agent_name")?,
                last_seq: j.u64("last_seq")?,
            },
            "message" => VisitorEvent::Message { message: ChatMessage::from_json(j.get("message")?)? },
            "ack" => VisitorEvent::Ack { client_id: j.string("client_id")?, seq: j.u64("seq")? },
            "state" => VisitorEvent::State {
                state: state()?,
                queue_position: j.opt("queue_position", |v| v.as_u64()?.try_into().ok())?,
                agent_name: j.opt_string("agent_name")?,
                reason: j.opt("reason", CloseReason::from_json)?,
            },
            "typing" => VisitorEvent::Typing { active: j.bool("active")? },
            "handoff" => VisitorEvent::Handoff { url: j.string("url")?, svg: j.string("svg")?, expires_at: j.u64("expires_at")? },
            "handed_off" => VisitorEvent::HandedOff,
            "wait" => VisitorEvent::Wait { secs: j.u32("secs")? },
            "read" => VisitorEvent::Read { seq: j.u64("seq")? },
            "closing" => VisitorEvent::Closing { secs: j.u32("secs")? },
            "error" => VisitorEvent::Error {
                code: j.string("code")?,
                message: j.string("message")?,
                client_id: j.opt_string("client_id")?,
            },
            _ => return None,
        })
    }
}

impl ToJson for VisitorCommand {
    fn write_json(&self, out: &mut String) {
        let mut w = ObjectWriter::new(out);
        match self {
            VisitorCommand::Hello { version, session, after_seq } => w
                .str("type", "hello")
                .u64("version", u64::from(*version))
                .str("session", session)
                .u64("after_seq", *after_seq),
            VisitorCommand::Send { client_id, body } => w.str("type", "send").str("client_id", client_id).val("body", body),
            VisitorCommand::Choose { client_id, option } => {
                w.str("type", "choose").str("client_id", client_id).str("option", option)
            }
            VisitorCommand::Typing { active } => w.str("type", "typing").bool("active", *active),
            VisitorCommand::Read { seq } => w.str("type", "read").u64("seq", *seq),
            VisitorCommand::StartHandoff => w.str("type", "start_handoff"),
            VisitorCommand::Leave => w.str("type", "leave"),
            VisitorCommand::Context { declared } => w.str("type", "context").val("declared", declared),
            VisitorCommand::Rate { score, comment } => w.str("type", "rate").u64("score", u64::from(*score)).opt_str("comment", comment),
        }
        .end();
    }
}

impl FromJson for FrameMessage {
    fn from_json(j: &Json) -> Option<Self> {
        Some(match j.tag("type")? {
            "ready" => FrameMessage::Ready,
            "launch" => FrameMessage::Launch {
                request: LaunchRequest::from_json(j.get("request")?)?,
                prefill: j.opt_string("prefill")?,
            },
            "context" => FrameMessage::Context { declared: EntryPoint::from_json(j.get("declared")?)? },
            "close" => FrameMessage::Close,
            "shutdown" => FrameMessage::Shutdown,
            "unread" => FrameMessage::Unread { count: j.u32("count")? },
            "message" => FrameMessage::Message { message: ChatMessage::from_json(j.get("message")?)? },
            "error" => FrameMessage::Error { error: ErrorBody::from_json(j.get("error")?)? },
            _ => return None,
        })
    }
}

impl ToJson for FrameMessage {
    fn write_json(&self, out: &mut String) {
        let mut w = ObjectWriter::new(out);
        match self {
            FrameMessage::Ready => w.str("type", "ready"),
            FrameMessage::Launch { request, prefill } => {
                w.str("type", "launch").val("request", request).opt_str("prefill", prefill)
            }
            FrameMessage::Context { declared } => w.str("type", "context").val("declared", declared),
            FrameMessage::Close => w.str("type", "close"),
            FrameMessage::Shutdown => w.str("type", "shutdown"),
            FrameMessage::Unread { count } => w.str("type", "unread").u64("count", u64::from(*count)),
            FrameMessage::Message { message } => w.str("type", "message").val("message", message),
            FrameMessage::Error { error } => w.str("type", "error").val("error", error),
        }
        .end();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::chat::Stored;
    use serde::Serialize;
    use serde::de::DeserializeOwned;
    use std::fmt::Debug;

    const TRICKY: [&str; 6] = ["", "plain", "quote \" back \\ slash / solidus", "\n\r\t\u{8}\u{c}\u{0}\u{1f}\u{7f}", "한글 입력 ✓ 😀", "<b>not html</b>"];

    fn entry() -> EntryPoint {
        EntryPoint {
            button: Some("banner-3".into()),
            page: Some("/sale?x=1".into()),
            campaign: Some("spring".into()),
            product: Some("sku-9".into()),
            order: Some("o-1".into()),
            tags: vec!["vip".into(), TRICKY[4].into()],
        }
    }

    fn requests() -> Vec<LaunchRequest> {
        vec![
            LaunchRequest { channel: "demo-shop".into(), ..Default::default() },
            LaunchRequest {
                channel: "demo-shop".into(),
                token: Some("AbC-_x".into()),
                declared: entry(),
                visitor_key: Some("v1".into()),
                locale: Some("ko".into()),
                host_origin: Some("https://shop.example".into()),
                ..Default::default()
            },
            LaunchRequest { channel: "c".into(), printed: Some("0123".into()), declared: EntryPoint { page: Some("/".into()), ..Default::default() }, ..Default::default() },
            LaunchRequest { channel: "c".into(), handoff: Some("0123".into()), ..Default::default() },
        ]
    }

    fn launches() -> Vec<LaunchResponse> {
        let status = |open_now, next_opening, after_hours_message| ChannelStatus { enabled: true, open_now, next_opening, after_hours_message, color: None, logo: None };
        vec![
            LaunchResponse {
                session: "s1".into(),
                visitor_key: "v1".into(),
                channel: ChannelInfo { id: "demo-shop".into(), name: "Demo 상점".into(), guidance: TRICKY[3].into(), status: status(true, None, None), welcome: None },
                verified: false,
            },
            LaunchResponse {
                session: "s2".into(),
                visitor_key: "v2".into(),
                channel: ChannelInfo {
                    id: "x".into(),
                    name: "X".into(),
                    guidance: "g".into(),
                    status: ChannelStatus { color: Some("#1f6f4f".into()), logo: Some("/v1/channels/x/logo?v=0123abcd".into()), ..status(false, Some(u64::MAX), Some("closed".into())) },
                    welcome: Some(TRICKY[2].into()),
                },
                verified: true,
            },
        ]
    }

    fn bodies() -> Vec<Body> {
        vec![
            Body::Text { text: TRICKY[2].into() },
            Body::Image { attachment: "a1".into(), mime: "image/png".into(), size: 12_345 },
            Body::File { attachment: "a2".into(), name: "견적서.pdf".into(), mime: "application/pdf".into(), size: 0 },
            Body::Menu {
                text: "pick".into(),
                options: vec![
                    MenuOption { id: "o1".into(), label: "Orders".into(), url: None },
                    MenuOption { id: "o2".into(), label: "FAQ".into(), url: Some("https://shop.example/faq".into()) },
                ],
            },
            Body::Menu { text: "none".into(), options: vec![] },
            Body::Cards {
                text: "주문을 골라 주세요".into(),
                cards: vec![
                    Card {
                        title: TRICKY[1].into(),
                        description: Some("배송 중".into()),
                        url: Some("https://shop.example/o/1".into()),
                        options: vec![MenuOption { id: "o-1".into(), label: "이 주문".into(), url: None }],
                    },
                    Card { title: "B".into(), description: None, url: None, options: vec![] },
                ],
            },
        ]
    }

    fn messages() -> Vec<ChatMessage> {
        let senders = [Sender::Visitor, Sender::Agent { id: "a1".into(), name: "지민".into() }, Sender::Bot, Sender::System];
        bodies()
            .into_iter()
            .zip(senders.into_iter().cycle())
            .enumerate()
            .map(|(i, (body, sender))| ChatMessage {
                seq: i as u64 + 1,
                sender,
                body,
                client_id: (i % 2 == 0).then(|| format!("c{i}")),
                at_ms: 1_763_700_000_000 + i as u64,
            })
            .collect()
    }

    fn errors() -> Vec<ErrorBody> {
        TRICKY.iter().map(|t| ErrorBody { code: "blocked".into(), message: (*t).into() }).collect()
    }

    fn visitor_events() -> Vec<VisitorEvent> {
        let states = [SessionState::Waiting, SessionState::Bot, SessionState::Queued, SessionState::Assigned, SessionState::Closed];
        let reasons = [CloseReason::VisitorLeft, CloseReason::Inactivity, CloseReason::AgentClosed, CloseReason::HandedOff, CloseReason::Blocked];
        let mut events = vec![VisitorEvent::Wait { secs: 30 }, VisitorEvent::Wait { secs: u32::MAX }, VisitorEvent::Read { seq: 0 }, VisitorEvent::Read { seq: u64::MAX >> 11 }, VisitorEvent::Closing { secs: 45 }];
        for (i, state) in states.into_iter().enumerate() {
            events.push(VisitorEvent::Welcome { state, queue_position: None, agent_name: None, last_seq: 0 });
            events.push(VisitorEvent::Welcome { state, queue_position: Some(i as u32 + 1), agent_name: Some("지민".into()), last_seq: 99 });
            events.push(VisitorEvent::State { state, queue_position: None, agent_name: None, reason: None });
            events.push(VisitorEvent::State { state, queue_position: Some(u32::MAX), agent_name: Some("A".into()), reason: Some(reasons[i]) });
        }
        events.extend(messages().into_iter().map(|message| VisitorEvent::Message { message }));
        events.push(VisitorEvent::Ack { client_id: "c1".into(), seq: 7 });
        events.push(VisitorEvent::Typing { active: true });
        events.push(VisitorEvent::Typing { active: false });
        events.push(VisitorEvent::Handoff { url: "HTTPS://GW/H/0123".into(), svg: "<svg viewBox=\"0 0 1 1\"/>".into(), expires_at: 1_763_700_600 });
        events.push(VisitorEvent::HandedOff);
        events.push(VisitorEvent::Error { code: "message_too_long".into(), message: "m".into(), client_id: None });
        events.push(VisitorEvent::Error { code: "blocked".into(), message: TRICKY[3].into(), client_id: Some("c2".into()) });
        events
    }

    fn visitor_commands() -> Vec<VisitorCommand> {
        let mut commands = vec![
            VisitorCommand::Hello { version: consult_sdk::protocol::PROTOCOL_VERSION, session: "h1".into(), after_seq: 0 },
            VisitorCommand::Hello { version: u16::MAX, session: TRICKY[0].into(), after_seq: u64::MAX },
            VisitorCommand::Choose { client_id: "c1".into(), option: "o1".into() },
            VisitorCommand::Typing { active: true },
            VisitorCommand::Typing { active: false },
            VisitorCommand::Read { seq: 42 },
            VisitorCommand::StartHandoff,
            VisitorCommand::Leave,
            VisitorCommand::Context { declared: EntryPoint::default() },
            VisitorCommand::Context { declared: entry() },
            VisitorCommand::Context { declared: EntryPoint { page: Some(TRICKY[2].into()), ..Default::default() } },
            VisitorCommand::Rate { score: 5, comment: None },
            VisitorCommand::Rate { score: 1, comment: Some(TRICKY[3].into()) },
        ];
        commands.extend(bodies().into_iter().map(|body| VisitorCommand::Send { client_id: "c9".into(), body }));
        commands
    }

    fn frame_messages() -> Vec<FrameMessage> {
        let mut all = vec![
            FrameMessage::Ready,
            FrameMessage::Context { declared: EntryPoint::default() },
            FrameMessage::Context { declared: entry() },
            FrameMessage::Close,
            FrameMessage::Shutdown,
            FrameMessage::Unread { count: 0 },
            FrameMessage::Unread { count: u32::MAX },
        ];
        all.extend(requests().into_iter().flat_map(|request| {
            [FrameMessage::Launch { request: request.clone(), prefill: None }, FrameMessage::Launch { request, prefill: Some(TRICKY[4].into()) }]
        }));
        all.extend(messages().into_iter().map(|message| FrameMessage::Message { message }));
        all.extend(errors().into_iter().map(|error| FrameMessage::Error { error }));
        all
    }

    fn stored() -> Vec<Stored> {
        launches().into_iter().map(|launch| Stored { launch, seen_seq: 17 }).collect()
    }

    /// What serde writes, this reader reads back to the same value.
    fn reads_serde<T: FromJson + Serialize + Debug + PartialEq>(values: Vec<T>) {
        assert!(!values.is_empty());
        for v in values {
            let text = serde_json::to_string(&v).unwrap();
            assert_eq!(T::from_json_str(&text).as_ref(), Some(&v), "reading {text}");
            // Pretty-printed (whitespace everywhere) reads the same.
            let pretty = serde_json::to_string_pretty(&v).unwrap();
            assert_eq!(T::from_json_str(&pretty).as_ref(), Some(&v), "reading {pretty}");
        }
    }

    /// This writer writes exactly what serde writes, and serde reads it back.
    fn writes_serde<T: ToJson + Serialize + DeserializeOwned + Debug + PartialEq>(values: Vec<T>) {
        assert!(!values.is_empty());
        for v in values {
            let ours = v.to_json();
            assert_eq!(ours, serde_json::to_string(&v).unwrap());
            assert_eq!(serde_json::from_str::<T>(&ours).unwrap(), v);
        }
    }

    #[test]
    fn reads_every_message_the_chat_receives_as_serde_writes_it() {
        reads_serde(visitor_events());
        reads_serde(frame_messages());
        reads_serde(launches());
        reads_serde(errors());
        reads_serde(stored());
        reads_serde(requests());
        reads_serde(bodies());
    }

    #[test]
    fn writes_every_message_the_chat_sends_byte_for_byte_as_serde() {
        writes_serde(visitor_commands());
        writes_serde(frame_messages());
        writes_serde(requests());
        writes_serde(stored());
        writes_serde(messages());
        writes_serde(errors());
    }

    #[test]
    fn strings_escape_and_unescape_like_serde_json() {
        let mut all: Vec<String> = TRICKY.iter().map(|s| s.to_string()).collect();
        all.push((0u32..0x80).filter_map(char::from_u32).collect());
        for s in all {
            let mut ours = String::new();
            write_str(&mut ours, &s);
            assert_eq!(ours, serde_json::to_string(&s).unwrap());
            assert_eq!(Json::parse(&ours), Some(Json::Str(s)));
        }
        // Escapes serde_json never writes but JSON allows.
        assert_eq!(Json::parse(r#""\/\u0041\uD83D\uDE00\u00e9""#), Some(Json::Str("/A😀é".into())));
    }

    #[test]
    fn optional_fields_may_be_null_or_absent_and_unknown_fields_are_ignored() {
        let text = r#"{"type":"welcome","state":"queued","queue_position":null,"future_field":[1,{"x":2.5e-3}],"last_seq":3}"#;
        assert_eq!(serde_json::from_str::<VisitorEvent>(text).ok(), VisitorEvent::from_json_str(text));
        assert_eq!(
            VisitorEvent::from_json_str(text),
            Some(VisitorEvent::Welcome { state: SessionState::Queued, queue_position: None, agent_name: None, last_seq: 3 })
        );
    }

    #[test]
    fn refuses_what_serde_refuses() {
        for text in [
            "",
            "{",
            r#"{"type":"typing"}"#,
            r#"{"type":"typing","active":"yes"}"#,
            r#"{"type":"ack","client_id":"c","seq":-1}"#,
            r#"{"type":"ack","client_id":"c","seq":1.5}"#,
            r#"{"type":"ack","client_id":"c","seq":18446744073709551616}"#,
            r#"{"type":"ack","client_id":null,"seq":1}"#,
            r#"{"type":"nope"}"#,
            r#"{"type":"state","state":"gone"}"#,
            r#"{"type":"welcome","state":"queued","queue_position":4294967296,"last_seq":3}"#,
            r#"{"type":"message","message":{"seq":1,"sender":{"role":"agent","id":"a"},"body":{"kind":"text","text":"x"},"at_ms":1}}"#,
            r#"{"type":"typing","active":true} x"#,
            r#"{"type":"typing","active":true,}"#,
            r#"{"type":"error","code":"c","message":"raw
newline"}"#,
            r#"{"type":"error","code":"c","message":"\ud800"}"#,
            r#"{"type":"error","code":"c","message":"\x"}"#,
        ] {
            assert!(serde_json::from_str::<VisitorEvent>(text).is_err(), "serde accepts {text}");
            assert_eq!(VisitorEvent::from_json_str(text), None, "{text}");
        }
    }

    #[test]
    fn numbers_and_nesting() {
        assert_eq!(Json::parse(" 0 "), Some(Json::Num(Some(0))));
        assert_eq!(Json::parse("18446744073709551615"), Some(Json::Num(Some(u64::MAX))));
        assert_eq!(Json::parse("-0"), Some(Json::Num(None)));
        assert_eq!(Json::parse("1e3"), Some(Json::Num(None)));
        for bad in ["01", "1.", ".5", "-", "1e", "+1", "NaN"] {
            assert_eq!(Json::parse(bad), None, "{bad}");
        }
        let deep = "[".repeat(MAX_DEPTH as usize) + &"]".repeat(MAX_DEPTH as usize);
        assert!(Json::parse(&deep).is_some());
        let too_deep = "[".repeat(100_000) + &"]".repeat(100_000);
        assert_eq!(Json::parse(&too_deep), None);
        let mut n = String::new();
        for v in [0, 7, 10, 999, u64::MAX] {
            n.clear();
            push_u64(&mut n, v);
            assert_eq!(n, v.to_string());
        }
    }
}
