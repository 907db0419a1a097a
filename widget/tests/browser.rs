//! Browser tests of the DOM layer, in headless Chromium:
//! `CHROMEDRIVER=/usr/bin/chromedriver cargo test -p consult-widget --target wasm32-unknown-unknown`
#![cfg(target_arch = "wasm32")]

use std::cell::Cell;
use std::rc::Rc;

use consult_sdk::protocol::{Body, ChatMessage, MenuOption, Sender};
use consult_widget::chat::{Mode, State};
use consult_widget::dom::{Dom, enter_to_send};
use consult_widget::i18n::Locale;
use wasm_bindgen::JsCast;
use wasm_bindgen_test::{wasm_bindgen_test, wasm_bindgen_test_configure};
use web_sys::{CompositionEvent, CompositionEventInit, Document, KeyboardEvent, KeyboardEventInit};

wasm_bindgen_test_configure!(run_in_browser);

fn document() -> Document {
    web_sys::window().unwrap().document().unwrap()
}

fn mounted() -> Dom {
    let doc = document();
    let container = doc.create_element("div").unwrap();
    doc.body().unwrap().append_child(&container).unwrap();
    Dom::build(&doc, &container, Mode::Embedded, Locale::En.strings()).unwrap()
}

fn agent_text(seq: u64, text: &str) -> ChatMessage {
    ChatMessage {
        seq,
        sender: Sender::Agent { id: "a1".into(), name: "<b>Minji</b>".into() },
        body: Body::Text { text: text.into() },
        client_id: None,
        at_ms: 0,
    }
}

#[wasm_bindgen_test]
fn html_in_messages_is_inert_text() {
    let dom = mounted();
    let hostile = "<img src=x onerror=\"window.__pwned=1\"><script>window.__pwned=2</script>";
    dom.show_message(&agent_text(1, hostile), Locale::En.strings()).unwrap();
    let bubble = dom.log.query_selector(".agent .bubble").unwrap().unwrap();
    assert_eq!(bubble.text_content().unwrap(), hostile);
    assert_eq!(bubble.child_element_count(), 0, "no element was parsed from the text");
    assert!(dom.log.query_selector("img, script, b").unwrap().is_none());
    // The name, after the avatar's initial, is text too: "<" as the initial, then the whole name.
    let who = dom.log.query_selector(".who").unwrap().unwrap();
    assert_eq!(who.query_selector(".avatar").unwrap().unwrap().text_content().unwrap(), "<");
    assert_eq!(who.text_content().unwrap(), "<<b>Minji</b>");
    assert_eq!(who.query_selector("b").unwrap(), None, "no element was parsed from the name");
}

#[wasm_bindgen_test]
fn menu_links_only_open_web_urls() {
    let dom = mounted();
    let menu = ChatMessage {
        seq: 1,
        sender: Sender::Bot,
        body: Body::Menu {
            text: "Pick one".into(),
            options: vec![
                MenuOption { id: "faq".into(), label: "FAQ".into(), url: Some("https://example.com/faq".into()) },
                MenuOption { id: "x".into(), label: "Evil".into(), url: Some("javascript:alert(1)".into()) },
            ],
        },
        client_id: None,
        at_ms: 0,
    };
    dom.show_message(&menu, Locale::En.strings()).unwrap();
    let link = dom.log.query_selector("a.option").unwrap().unwrap();
    assert_eq!(link.get_attribute("href").as_deref(), Some("https://example.com/faq"));
    assert_eq!(link.get_attribute("rel").as_deref(), Some("noopener noreferrer"));
    let evil = dom.log.query_selector("button[data-option=\"x\"]").unwrap().expect("a plain option button");
    assert!(evil.get_attribute("href").is_none());
}

#[wasm_bindgen_test]
fn stored_messages_go_before_pending_ones_and_replace_their_own() {
    let dom = mounted();
    let s = Locale::En.strings();
    dom.show_pending("c-1", &Body::Text { text: "mine".into() }, s).unwrap();
    dom.show_message(&agent_text(1, "theirs"), s).unwrap();
    let own = ChatMessage {
        seq: 2,
        sender: Sender::Visitor,
        body: Body::Text { text: "mine".into() },
        client_id: Some("c-1".into()),
        at_ms: 0,
    };
    dom.show_message(&own, s).unwrap();
    dom.show_message(&own, s).unwrap(); // a replay is not shown twice
    let seqs: Vec<String> = (0..dom.log.child_element_count())
        .map(|i| dom.log.children().item(i).unwrap().get_attribute("data-seq").unwrap_or_default())
        .collect();
    assert_eq!(seqs, vec!["1", "2"]);
    assert!(dom.log.query_selector(".pending").unwrap().is_none());
}

#[wasm_bindgen_test]
fn live_region_announces_new_messages() {
    let dom = mounted();
    let live = dom.root.query_selector("[aria-live=\"polite\"]").unwrap().expect("a polite live region");
    let text = consult_widget::chat::announcement(Locale::En, &agent_text(1, "Your order shipped"));
    dom.announce(&text);
    assert_eq!(live.text_content().unwrap(), "New message, <b>Minji</b>: Your order shipped");
}

#[wasm_bindgen_test]
fn focus_moves_into_the_composer() {
    let dom = mounted();
    dom.focus_composer();
    let active = document().active_element().unwrap();
    assert_eq!(active, dom.input.clone().unchecked_into::<web_sys::Element>());
}

fn key(code: u32, composing: bool, shift: bool) -> KeyboardEvent {
    let init = KeyboardEventInit::new();
    init.set_key("Enter");
    init.set_key_code(code);
    init.set_is_composing(composing);
    init.set_shift_key(shift);
    init.set_cancelable(true);
    KeyboardEvent::new_with_keyboard_event_init_dict("keydown", &init).unwrap()
}

fn composition(kind: &str, data: &str) -> CompositionEvent {
    let init = CompositionEventInit::new();
    init.set_data(data);
    CompositionEvent::new_with_event_init_dict(kind, &init).unwrap()
}

#[wasm_bindgen_test]
fn enter_during_hangul_composition_never_sends() {
    let dom = mounted();
    let sent = Rc::new(Cell::new(0));
    let counter = sent.clone();
    let _listeners = enter_to_send(&dom.input, move || counter.set(counter.get() + 1));
    let input = &dom.input;

    input.dispatch_event(&composition("compositionstart", "")).unwrap();
    input.dispatch_event(&composition("compositionupdate", "한")).unwrap();
    assert!(input.dispatch_event(&key(13, false, false)).unwrap(), "Enter while composing keeps its default");
    input.dispatch_event(&key(229, true, false)).unwrap();
    input.dispatch_event(&composition("compositionend", "한")).unwrap();
    // Safari: the committing Enter arrives after compositionend, as keyCode 229.
    input.dispatch_event(&key(229, false, false)).unwrap();
    assert_eq!(sent.get(), 0, "nothing sent during composition");

    input.dispatch_event(&key(13, false, true)).unwrap();
    assert_eq!(sent.get(), 0, "Shift+Enter is a new line");
    let send = key(13, false, false);
    input.dispatch_event(&send).unwrap();
    assert_eq!(sent.get(), 1, "plain Enter after the syllable is committed sends");
    assert!(send.default_prevented(), "and does not insert a new line");
}

#[wasm_bindgen_test]
fn handoff_qr_is_an_image_not_inline_svg() {
    let mut dom = mounted();
    let mut state = State::new(Mode::Embedded, Locale::En, "t".into(), None);
    state.handoff_requested = true;
    state.handoff = Some(consult_widget::chat::HandoffCode {
        url: "https://gw/H/1".into(),
        svg: "<svg xmlns=\"http://www.w3.org/2000/svg\" onload=\"window.__pwned=3\"><rect width=\"1\" height=\"1\"/></svg>"
            .into(),
        expires_at: 0,
    });
    dom.render(&state).unwrap();
    let img = dom.root.query_selector("img.qr-code").unwrap().unwrap();
    assert!(img.get_attribute("src").unwrap().starts_with("blob:"));
    assert!(dom.root.query_selector("svg").unwrap().is_none(), "the SVG never enters the document");
    assert!(dom.log.hidden() && dom.composer.hidden(), "the QR view replaces the chat");
}

fn keydown(key: &str, shift: bool) -> KeyboardEvent {
    let init = KeyboardEventInit::new();
    init.set_key(key);
    init.set_shift_key(shift);
    init.set_bubbles(true);
    init.set_cancelable(true);
    KeyboardEvent::new_with_keyboard_event_init_dict("keydown", &init).unwrap()
}

fn active() -> web_sys::Element {
    document().active_element().unwrap()
}

#[wasm_bindgen_test]
fn tab_cycles_inside_the_full_screen_chat() {
    let mut dom = mounted();
    dom.render(&State::new(Mode::Embedded, Locale::En, "t".into(), None)).unwrap();
    let on = Rc::new(Cell::new(true));
    let flag = on.clone();
    let _trap = consult_widget::dom::focus_trap(&dom.root, move || flag.get());
    let close: web_sys::Element = dom.close_button.clone().unchecked_into();
    let send = dom.root.query_selector("button.send").unwrap().unwrap();
    let send_el: &web_sys::HtmlElement = send.unchecked_ref();

    // Tab on the last control wraps to the first (the header's close button).
    send_el.focus().unwrap();
    let tab = keydown("Tab", false);
    send.dispatch_event(&tab).unwrap();
    assert!(tab.default_prevented());
    assert_eq!(active(), close);
    // Shift+Tab on the first wraps to the last.
    let back = keydown("Tab", true);
    close.dispatch_event(&back).unwrap();
    assert!(back.default_prevented());
    assert_eq!(active(), send);
    // In between, the browser moves focus as usual.
    dom.input.focus().unwrap();
    let middle = keydown("Tab", false);
    dom.input.dispatch_event(&middle).unwrap();
    assert!(!middle.default_prevented());
    // The desktop panel does not trap.
    on.set(false);
    send_el.focus().unwrap();
    let free = keydown("Tab", false);
    send.dispatch_event(&free).unwrap();
    assert!(!free.default_prevented());
    assert_eq!(active(), send);
}

#[wasm_bindgen_test]
fn stored_choice_marks_its_menu_option() {
    let dom = mounted();
    let menu = ChatMessage {
        seq: 3,
        sender: Sender::Bot,
        body: Body::Menu {
            text: "Pick one".into(),
            options: vec![
                MenuOption { id: "a".into(), label: "A".into(), url: None },
                MenuOption { id: "b".into(), label: "B".into(), url: None },
            ],
        },
        client_id: None,
        at_ms: 0,
    };
    dom.show_message(&menu, Locale::En.strings()).unwrap();
    dom.mark_chosen_in(3, "b").unwrap();
    let b = dom.log.query_selector("[data-option=\"b\"]").unwrap().unwrap();
    assert_eq!(b.get_attribute("aria-pressed").as_deref(), Some("true"));
    assert!(b.has_attribute("disabled"));
    let a = dom.log.query_selector("[data-option=\"a\"]").unwrap().unwrap();
    assert!(a.has_attribute("disabled") && a.get_attribute("aria-pressed").is_none());
}

#[wasm_bindgen_test]
fn a_card_list_shows_titles_links_lines_and_buttons_as_text() {
    use consult_sdk::protocol::Card;
    let dom = mounted();
    let cards = ChatMessage {
        seq: 4,
        sender: Sender::Bot,
        body: Body::Cards {
            text: "Your orders".into(),
            cards: vec![
                Card {
                    title: "<b>Order 1234</b>".into(),
                    description: Some("Arrives tomorrow".into()),
                    url: Some("https://shop.test/o/1234".into()),
                    options: vec![MenuOption { id: "c-1234".into(), label: "Ask".into(), url: None }],
                },
                Card { title: "Order 5678".into(), description: None, url: Some("javascript:alert(1)".into()), options: vec![] },
            ],
        },
        client_id: None,
        at_ms: 0,
    };
    dom.show_message(&cards, Locale::En.strings()).unwrap();
    let shown = dom.log.query_selector_all("[data-seq=\"4\"] .card").unwrap();
    assert_eq!(shown.length(), 2);
    let link = dom.log.query_selector("[data-seq=\"4\"] a.card-title").unwrap().expect("the first title links out");
    assert_eq!(link.get_attribute("href").as_deref(), Some("https://shop.test/o/1234"));
    assert_eq!(link.get_attribute("rel").as_deref(), Some("noopener noreferrer"));
    assert_eq!(link.text_content().unwrap(), "<b>Order 1234</b>", "text, never HTML");
    assert_eq!(dom.log.query_selector_all("[data-seq=\"4\"] b").unwrap().length(), 0);
    assert_eq!(dom.log.query_selector_all("[data-seq=\"4\"] a.card-title").unwrap().length(), 1, "a script link is no link");
    assert!(dom.log.query_selector("[data-seq=\"4\"] [data-option=\"c-1234\"]").unwrap().is_some(), "the card's button chooses like a menu's");
    assert_eq!(dom.log.query_selector("[data-seq=\"4\"] .card-line").unwrap().unwrap().text_content().unwrap(), "Arrives tomorrow");
}

#[wasm_bindgen_test]
fn after_hours_notice_follows_the_guidance_until_open() {
    use consult_sdk::protocol::{ChannelInfo, ChannelStatus, LaunchResponse};
    let dom = mounted();
    let mut launch = LaunchResponse {
        session: "S".into(),
        visitor_key: "V".into(),
        channel: ChannelInfo {
            id: "c".into(),
            name: "Shop".into(),
            guidance: "Kept 3 years.".into(),
            status: ChannelStatus {
                enabled: true,
                open_now: false,
                next_opening: None,
                after_hours_message: Some("Back at 9.".into()),
                color: None,
                logo: None,
            },
            welcome: None,
        },
        verified: false,
    };
    dom.show_channel(&launch, Locale::En.strings()).unwrap();
    let note = dom.log.query_selector(".guidance + .after-hours").unwrap().expect("right after the guidance");
    assert_eq!(note.text_content().unwrap(), "We're closed\nBack at 9.");
    // Shown again (a resumed socket): still one note.
    launch.channel.guidance = "Kept 1 year.".into();
    dom.show_channel(&launch, Locale::En.strings()).unwrap();
    assert_eq!(dom.log.query_selector_all(".after-hours").unwrap().length(), 1);
    // Open hours: a fresh view shows none.
    let open = mounted();
    launch.channel.status.open_now = true;
    open.show_channel(&launch, Locale::En.strings()).unwrap();
    assert!(open.log.query_selector(".after-hours").unwrap().is_none());

    // A branded channel: its colour on the accents, its welcome line under the guidance, once.
    let branded = mounted();
    launch.channel.status.color = Some("#2f5d50".into());
    launch.channel.welcome = Some("Ask about your order.".into());
    branded.show_channel(&launch, Locale::En.strings()).unwrap();
    branded.show_channel(&launch, Locale::En.strings()).unwrap();
    assert_eq!(branded.root.style().get_property_value("--accent").unwrap(), "#2f5d50");
    let welcome = branded.log.query_selector_all(".welcome").unwrap();
    assert_eq!(welcome.length(), 1);
    assert_eq!(branded.log.query_selector(".guidance + .welcome").unwrap().unwrap().text_content().unwrap(), "Ask about your order.");
    assert!(branded.root.query_selector(".head-logo").unwrap().is_none(), "no logo configured, none shown");

    // A logo: before the name, alt the channel's name, once; a path off the gateway's origin is ignored.
    let with_logo = mounted();
    launch.channel.status.logo = Some("/v1/channels/c/logo?v=ab12".into());
    with_logo.show_channel(&launch, Locale::En.strings()).unwrap();
    with_logo.show_channel(&launch, Locale::En.strings()).unwrap();
    let logos = with_logo.root.query_selector_all(".head > .head-logo").unwrap();
    assert_eq!(logos.length(), 1);
    let logo: web_sys::Element = logos.item(0).unwrap().dyn_into().unwrap();
    assert_eq!((logo.get_attribute("alt").unwrap(), logo.get_attribute("src").unwrap()), ("Shop".to_string(), "/v1/channels/c/logo?v=ab12".to_string()));
    let elsewhere = mounted();
    launch.channel.status.logo = Some("//evil.example/x.svg".into());
    elsewhere.show_channel(&launch, Locale::En.strings()).unwrap();
    assert!(elsewhere.root.query_selector(".head-logo").unwrap().is_none());
}
