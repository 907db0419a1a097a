//! UI text in Korean and English, chosen from an explicit override or the browser's languages.

use crate::text::{cat, number};

/// A UI language.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Locale {
    /// 한국어.
    Ko,
    /// English.
    En,
}

impl Locale {
    /// Picks the UI language: the override (`data-locale`, `?locale=`) when it names one we have,
    /// else the first browser language we have, else Korean.
    pub fn pick<'a>(overriding: Option<&str>, browser: impl IntoIterator<Item = &'a str>) -> Locale {
        overriding
            .and_then(Locale::parse)
            .or_else(|| browser.into_iter().find_map(Locale::parse))
            .unwrap_or(Locale::Ko)
    }

    /// `ko`, `ko-KR`, `en-US`… → the language; anything else → `None`.
    pub fn parse(tag: &str) -> Option<Locale> {
        // Bytes, not a `str` split with a lowercased copy: the same answer in less wasm.
        let primary = tag.as_bytes().split(|&b| b == b'-' || b == b'_').next().unwrap_or_default();
        if primary.eq_ignore_ascii_case(b"ko") {
            Some(Locale::Ko)
        } else if primary.eq_ignore_ascii_case(b"en") {
            Some(Locale::En)
        } else {
            None
        }
    }

    /// The BCP 47 tag sent to the gateway and set on `<html lang>`.
    pub fn tag(self) -> &'static str {
        match self {
            Locale::Ko => "ko",
            Locale::En => "en",
        }
    }

    /// The UI strings of this language.
    pub fn strings(self) -> &'static Strings {
        match self {
            Locale::Ko => &KO,
            Locale::En => &EN,
        }
    }

    /// What a visitor reads for a gateway error `code`, in this language. The gateway's own
    /// `message` is English for developers and is never shown; an unknown code gets a generic
    /// sentence with the code, so a report still names it.
    pub fn error(self, code: &str) -> String {
        let column = self as usize;
        match error_index(code) {
            Some(i) => ERROR_TEXT[i][column].to_string(),
            None => cat(&[ERROR_GENERIC[column], " (", code, ")"]),
        }
    }
}

/// Row of [`ERROR_TEXT`] for a visitor-facing error code (the list is
/// `consult_sdk::protocol::codes::VISITOR`; a test keeps the two in step).
fn error_index(code: &str) -> Option<usize> {
    Some(match code {
        "too_large" => 0,
        "malformed" | "unknown_key" | "bad_signature" | "not_yet_valid" | "wrong_channel" | "wrong_kind" | "revoked" => 1,
        "expired" => 2,
        "bad_request" | "hello_first" | "internal" => 3,
        "origin_not_allowed" => 4,
        "channel_disabled" => 5,
        "blocked" => 6,
        "unknown_channel" => 7,
        "unknown_session" | "unauthorized" => 8,
        "not_found" => 9,
        "handoff_used" => 10,
        "unsupported_type" => 11,
        "rate_limited" | "busy" | "unavailable" => 12,
        "closed_after_hours" => 13,
        "empty_message" => 14,
        "message_too_long" => 15,
        "unsupported_version" => 16,
        "already_rated" => 17,
        _ => return None,
    })
}

/// `[Korean, English]`, in the order of [`Locale`]'s variants.
const ERROR_GENERIC: [&str; 2] = ["문제가 생겼어요. 잠시 후 다시 시도해 주세요.", "Something went wrong. Please try again shortly."];

static ERROR_TEXT: [[&str; 2]; 18] = [
    ["파일이 너무 커요.", "That file is too large."],
    ["상담 링크가 올바르지 않아요. 상담 버튼을 다시 누르거나 QR 코드를 다시 스캔해 주세요.", "This chat link isn't valid. Press the chat button again or scan the QR code again."],
    ["상담 링크가 만료되었어요. 상담 버튼을 다시 누르거나, 컴퓨터에서 새 QR 코드를 받아 스캔해 주세요.", "This chat link has expired. Press the chat button again, or get a new QR code on your computer and scan it."],
    ERROR_GENERIC,
    ["이 페이지에서는 상담을 열 수 없어요.", "Chat isn't available on this page."],
    ["지금은 상담을 운영하지 않아요.", "Chat is switched off right now."],
    ["지금은 상담을 이용할 수 없어요.", "You can't start a chat right now."],
    ["상담 채널을 찾을 수 없어요.", "This chat channel doesn't exist."],
    ["상담이 끝났어요. 페이지를 새로 고쳐 주세요.", "This chat is over. Please reload the page."],
    ["파일을 찾을 수 없어요.", "File not found."],
    ["이미 사용한 QR 코드예요. 새 코드를 받아 주세요.", "This QR code was used already. Get a new one."],
    ["보낼 수 없는 형식의 파일이에요. 다른 형식으로 보내 주세요.", "That type of file can't be sent here. Try another format."],
    ["요청이 너무 많아요. 잠시 후 다시 시도해 주세요.", "Too many requests. Please try again shortly."],
    ["지금은 상담 시간이 아니에요.", "We're closed now."],
    ["메시지를 입력해 주세요.", "Write a message first."],
    ["메시지는 1000자까지 보낼 수 있어요.", "Messages can be at most 1000 characters."],
    ["새 버전이 나왔어요. 페이지를 새로 고쳐 주세요.", "A new version is out. Please reload the page."],
    ["이미 평가한 상담이에요.", "You have rated this chat already."],
];

/// Every fixed UI string.
#[derive(Debug)]
pub struct Strings {
    pub title: &'static str,
    pub placeholder: &'static str,
    pub send: &'static str,
    pub close: &'static str,
    pub attach_file: &'static str,
    pub photo_alt: &'static str,
    pub continue_on_phone: &'static str,
    pub chat_here: &'static str,
    pub scan_to_continue: &'static str,
    pub handoff_expires: &'static str,
    pub handed_off: &'static str,
    pub handed_off_detail: &'static str,
    pub chat_ended: &'static str,
    /// The header's short status once ended (the banner says the rest).
    pub ended: &'static str,
    pub connecting: &'static str,
    pub offline: &'static str,
    pub sending: &'static str,
    /// Under the visitor's last message an agent has read.
    pub read: &'static str,
    pub send_failed: &'static str,
    pub waiting_for_first_message: &'static str,
    pub bot: &'static str,
    pub you: &'static str,
    pub agent_typing: &'static str,
    pub launch_failed: &'static str,
    pub upload_failed: &'static str,
    /// The inactivity close is near.
    pub closing_soon: &'static str,
    pub new_message_from: &'static str,
    pub queued: &'static str,
    pub queue_position_before: &'static str,
    pub queue_position_after: &'static str,
    pub agent_joined_after: &'static str,
    pub messages_label: &'static str,
    pub verified: &'static str,
    pub end_chat: &'static str,
    pub after_hours: &'static str,
    /// Before the next opening's date and time.
    pub opens_again: &'static str,
    /// Month names as dates use them.
    pub months: [&'static str; 12],
    /// After the day of the month (`일`), and whether the day comes first (`27 Nov`).
    pub day_suffix: &'static str,
    pub day_first: bool,
    pub cannot_send: &'static str,
    pub rate_prompt: &'static str,
    pub wait_before: &'static str,
    pub wait_after: &'static str,
    pub rate_comment: &'static str,
    pub rate_send: &'static str,
    pub rate_skip: &'static str,
    pub rate_thanks: &'static str,
}

impl Strings {
    /// "You are number 3 in the queue."
    pub fn queue_position(&self, position: u32) -> String {
        cat(&[self.queue_position_before, &number(u64::from(position)), self.queue_position_after])
    }

    /// "About 3 min wait." from seconds, rounded up to whole minutes.
    pub fn wait_about(&self, secs: u32) -> String {
        cat(&[self.wait_before, &number(u64::from(secs.div_ceil(60).max(1))), self.wait_after])
    }

    /// "Minji joined the chat."
    pub fn agent_joined(&self, name: &str) -> String {
        cat(&[name, self.agent_joined_after])
    }
}

static KO: Strings = Strings {
    title: "상담",
    placeholder: "메시지를 입력하세요",
    send: "보내기",
    close: "닫기",
    attach_file: "파일 보내기 (붙여넣기, 끌어다 놓기도 돼요)",
    photo_alt: "보낸 사진",
    continue_on_phone: "휴대폰으로 이어하기",
    chat_here: "여기서 상담하기",
    scan_to_continue: "휴대폰 카메라로 QR 코드를 찍으면 이 상담을 휴대폰에서 이어갈 수 있어요.",
    handoff_expires: "코드는 몇 분 뒤 만료돼요.",
    handed_off: "휴대폰으로 옮겨졌어요",
    handed_off_detail: "상담은 휴대폰에서 계속됩니다. 이 창은 닫아도 돼요.",
    chat_ended: "상담이 종료되었어요. 메시지를 보내면 새로 시작돼요.",
    ended: "상담 종료",
    connecting: "연결 중…",
    offline: "연결이 끊겼어요. 다시 연결하는 중이에요. 보낸 메시지는 연결되면 전송돼요.",
    sending: "보내는 중",
    read: "읽음",
    send_failed: "전송 실패",
    waiting_for_first_message: "상담사가 답변해 드려요.",
    bot: "안내봇",
    you: "나",
    agent_typing: "상담사가 입력 중…",
    launch_failed: "상담을 시작하지 못했어요",
    upload_failed: "파일을 보내지 못했어요",
    closing_soon: "메시지가 없으면 곧 상담이 종료돼요. 이어서 상담하려면 메시지를 보내 주세요.",
    new_message_from: "새 메시지",
    queued: "상담사 연결을 기다리는 중이에요.",
    queue_position_before: "대기 순서: ",
    queue_position_after: "번째",
    agent_joined_after: " 상담사가 연결되었어요.",
    messages_label: "대화 내용",
    verified: "인증됨",
    end_chat: "상담 종료",
    after_hours: "운영 시간 외",
    opens_again: "다음 상담 시작: ",
    months: ["1월", "2월", "3월", "4월", "5월", "6월", "7월", "8월", "9월", "10월", "11월", "12월"],
    day_suffix: "일",
    day_first: false,
    cannot_send: "보낼 수 없어요",
    rate_prompt: "상담은 어떠셨나요? 별점을 골라 주세요.",
    wait_before: "예상 대기 약 ",
    wait_after: "분",
    rate_comment: "더 하실 말씀이 있으면 적어 주세요 (선택)",
    rate_send: "평가 보내기",
    rate_skip: "건너뛰기",
    rate_thanks: "평가해 주셔서 감사합니다.",
};

static EN: Strings = Strings {
    title: "Chat",
    placeholder: "Write a message",
    send: "Send",
    close: "Close",
    attach_file: "Send a file (or paste, or drop it here)",
    photo_alt: "Photo",
    continue_on_phone: "Continue on your phone",
    chat_here: "Chat here",
    scan_to_continue: "Scan this QR code with your phone's camera to continue this chat there.",
    handoff_expires: "The code expires in a few minutes.",
    handed_off: "Moved to your phone",
    handed_off_detail: "The chat continues on your phone. You can close this window.",
    chat_ended: "This chat has ended. Write again to start a new one.",
    ended: "Chat ended",
    connecting: "Connecting…",
    offline: "Connection lost. Reconnecting; messages you send will go out once connected.",
    sending: "Sending",
    read: "Read",
    send_failed: "Not sent",
    waiting_for_first_message: "An agent will answer here.",
    bot: "Assistant",
    you: "You",
    agent_typing: "The agent is typing…",
    launch_failed: "The chat could not start",
    upload_failed: "The file could not be sent",
    closing_soon: "This chat closes soon without a message. Write to keep it open.",
    new_message_from: "New message",
    queued: "Waiting for an agent.",
    queue_position_before: "You are number ",
    queue_position_after: " in the queue.",
    agent_joined_after: " joined the chat.",
    messages_label: "Conversation",
    verified: "Verified",
    end_chat: "End chat",
    after_hours: "We're closed",
    opens_again: "Opens again ",
    months: ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"],
    day_suffix: "",
    day_first: true,
    cannot_send: "Nothing can be sent",
    rate_prompt: "How was this chat? Pick a score.",
    wait_before: "about ",
    wait_after: " min wait",
    rate_comment: "Anything to add? (optional)",
    rate_send: "Send rating",
    rate_skip: "Skip",
    rate_thanks: "Thank you for your rating.",
};

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn override_wins_over_browser_languages() {
        assert_eq!(Locale::pick(Some("en"), ["ko-KR"]), Locale::En);
        assert_eq!(Locale::pick(Some("ko"), ["en-US", "en"]), Locale::Ko);
    }

    #[test]
    fn first_supported_browser_language_is_used() {
        assert_eq!(Locale::pick(None, ["fr-FR", "en-GB", "ko"]), Locale::En);
        assert_eq!(Locale::pick(None, ["ko_KR"]), Locale::Ko);
    }

    #[test]
    fn unknown_override_falls_back_to_browser_then_korean() {
        assert_eq!(Locale::pick(Some("de"), ["en-US"]), Locale::En);
        assert_eq!(Locale::pick(Some(""), ["ja", "zh"]), Locale::Ko);
        assert_eq!(Locale::pick(None, []), Locale::Ko);
    }

    #[test]
    fn formatted_strings_read_naturally() {
        assert_eq!(Locale::En.strings().queue_position(3), "You are number 3 in the queue.");
        assert_eq!(Locale::Ko.strings().queue_position(2), "대기 순서: 2번째");
        assert_eq!(Locale::En.strings().agent_joined("Minji"), "Minji joined the chat.");
    }

    fn has_hangul(s: &str) -> bool {
        s.chars().any(|c| ('\u{ac00}'..='\u{d7a3}').contains(&c))
    }

    #[test]
    fn every_visitor_error_code_reads_in_both_languages() {
        for &code in consult_sdk::protocol::codes::VISITOR {
            assert!(error_index(code).is_some(), "no visitor text for error code {code:?}");
            let (ko, en) = (Locale::Ko.error(code), Locale::En.error(code));
            assert!(has_hangul(&ko), "{code}: Korean text {ko:?}");
            assert!(!ko.replace("QR", "").chars().any(|c| c.is_ascii_alphabetic()), "{code}: English in the Korean text {ko:?}");
            assert!(en.is_ascii() && !en.is_empty(), "{code}: English text {en:?}");
        }
    }

    #[test]
    fn the_max_length_error_names_the_limit() {
        let limit = consult_sdk::protocol::MAX_TEXT_CHARS.to_string();
        assert!(Locale::Ko.error("message_too_long").contains(&limit));
        assert!(Locale::En.error("message_too_long").contains(&limit));
    }

    #[test]
    fn unknown_codes_get_a_localized_sentence_and_the_code() {
        let ko = Locale::Ko.error("quota_exceeded");
        assert!(has_hangul(&ko) && ko.ends_with("(quota_exceeded)"), "{ko}");
        assert!(Locale::En.error("quota_exceeded").starts_with("Something went wrong"));
    }
}
