//! Wires the state machine to the browser: listeners turn events into [`Msg`]s, [`apply`] carries
//! out the [`Effect`]s. Listeners, the socket and the reconnect timer are fields of [`App`], so
//! dropping one of them unregisters it.

use std::cell::{Ref, RefCell, RefMut};
use std::rc::Rc;

use consult_sdk::protocol::{FrameMessage, VisitorEvent};
use gloo::events::EventListener;
use gloo::timers::callback::Timeout;
use wasm_bindgen::{JsCast, JsValue};
use web_sys::{Element, HtmlElement, KeyboardEvent, MessageEvent, WebSocket, Window};

use crate::chat::{Effect, Mode, Msg, State, Stored, update};
use crate::dom::{Dom, OPTION_ATTR, OPTION_SELECTOR};
use crate::i18n::Locale;
use crate::json::{FromJson, ToJson};
use crate::route::{self, FrameRoute};
use crate::text::{cat, push_hex, push_u64};

/// The element chat.html provides for the app.
pub const CONTAINER_ID: &str = "consult";

type Shared = Rc<RefCell<App>>;

/// The app, to read. Every borrow goes through this and [`write`]: `RefCell::borrow` records its
/// caller's source location for its panic message, one more in the wasm per call site.
fn read(app: &Shared) -> Ref<'_, App> {
    app.borrow()
}

/// The app, to change (see [`read`]).
fn write(app: &Shared) -> RefMut<'_, App> {
    app.borrow_mut()
}

/// The launcher's window and the origin it may be posted to.
struct Bridge {
    parent: Window,
    origin: String,
}

impl Bridge {
    fn post(&self, message: &FrameMessage) {
        if let Ok(value) = js_sys::JSON::parse(&message.to_json()) {
            // The exact origin, never "*": nobody else on that window gets chat content.
            let _ = self.parent.post_message(&value, &self.origin);
        }
    }
}

/// An open visitor socket; dropping it closes it and unregisters its listeners.
struct Socket {
    ws: WebSocket,
    _listeners: [EventListener; 3],
}

impl Drop for Socket {
    fn drop(&mut self) {
        let _ = self.ws.close();
    }
}

struct App {
    state: State,
    dom: Dom,
    window: Window,
    channel: String,
    bridge: Option<Bridge>,
    socket: Option<Socket>,
    reconnect: Option<Timeout>,
    listeners: Vec<EventListener>,
}

fn visitor_key_name(channel: &str) -> String {
    cat(&["consult:visitor:", channel])
}

fn session_key_name(channel: &str) -> String {
    cat(&["consult:session:", channel])
}

/// Starts the app in the page's `#consult` container; does nothing on a page without one.
///
/// # Errors
/// A DOM exception while building the UI.
pub fn start() -> Result<(), JsValue> {
    let window = web_sys::window().ok_or("no window")?;
    let doc = window.document().ok_or("no document")?;
    let Some(container) = doc.get_element_by_id(CONTAINER_ID) else { return Ok(()) };
    let route = route::parse(&window.location().href()?);
    let browser_languages: Vec<String> =
        window.navigator().languages().iter().filter_map(|l| l.as_string()).collect();
    let locale_override = match &route {
        Ok(FrameRoute::Embedded { locale, .. }) => locale.as_deref(),
        Ok(FrameRoute::FullPage { request }) => request.locale.as_deref(),
        Err(_) => None,
    };
    let locale = Locale::pick(locale_override, browser_languages.iter().map(String::as_str));
    if let Some(html) = doc.document_element() {
        html.set_attribute("lang", locale.tag())?;
    }
    let route = match route {
        Ok(route) => route,
        Err(e) => {
            // A mistyped or cut-off code is a refusal like any other: in the visitor's language,
            // with what to do next, and nothing to type into.
            let mut state = State::new(Mode::FullPage, locale, random_prefix(), None);
            let mut dom = Dom::build(&doc, &container, Mode::FullPage, locale.strings())?;
            let error = consult_sdk::protocol::ErrorBody { code: consult_sdk::protocol::codes::MALFORMED.into(), message: e.message() };
            let _ = update(&mut state, Msg::LaunchFailed(error));
            dom.render(&state)?;
            return Ok(());
        }
    };
    let (mode, channel, launch) = match &route {
        FrameRoute::Embedded { channel, .. } => (Mode::Embedded, channel.clone(), None),
        FrameRoute::FullPage { request } => (Mode::FullPage, request.channel.clone(), Some(request.clone())),
    };
    let visitor_key = window
        .local_storage()
        .ok()
        .flatten()
        .and_then(|s| s.get_item(&visitor_key_name(&channel)).ok().flatten());
    let state = State::new(mode, locale, random_prefix(), visitor_key);
    let dom = Dom::build(&doc, &container, mode, locale.strings())?;
    let bridge = match &route {
        FrameRoute::Embedded { parent_origin, .. } => {
            window.parent()?.map(|parent| Bridge { parent, origin: parent_origin.clone() })
        }
        FrameRoute::FullPage { .. } => None,
    };
    let app: Shared = Rc::new(RefCell::new(App {
        state,
        dom,
        window: window.clone(),
        channel: channel.clone(),
        bridge,
        socket: None,
        reconnect: None,
        listeners: Vec::new(),
    }));
    listen(&app)?;

    let stored = window
        .session_storage()
        .ok()
        .flatten()
        .and_then(|s| s.get_item(&session_key_name(&channel)).ok().flatten())
        .and_then(|json| Stored::from_json_str(&json));
    if let Some(stored) = stored {
        dispatch(&app, Msg::Resume(stored));
    }
    apply(&app, Effect::Render);
    match launch {
        Some(request) => dispatch(&app, Msg::Launch { request, prefill: None }),
        None => {
            if let Some(bridge) = &read(&app).bridge {
                bridge.post(&FrameMessage::Ready);
            }
        }
    }
    Ok(())
}

fn random_prefix() -> String {
    let mut out = String::new();
    for _ in 0..2 {
        push_hex(&mut out, (js_sys::Math::random() * 4_294_967_296.0) as u64, 8);
    }
    out
}

/// Runs one message through [`update`] and applies its effects.
fn dispatch(app: &Shared, msg: Msg) {
    let effects = update(&mut write(app).state, msg);
    for effect in effects {
        apply(app, effect);
    }
}

/// Dispatches on a fresh task: for messages raised while `app` may be borrowed.
fn dispatch_later(app: &Shared, msg: Msg) {
    let app = app.clone();
    later(0, Box::new(move || dispatch(&app, msg))).forget();
}

/// A timer. Every timer goes through this one (boxed) callback type: each closure type given to
/// `Timeout::new` would bring its own copy of the timer and closure glue into the wasm.
fn later(ms: u32, callback: Box<dyn FnOnce()>) -> Timeout {
    Timeout::new(ms, callback)
}

fn apply(app: &Shared, effect: Effect) {
    match effect {
        Effect::PostLaunch(request) => {
            let app = app.clone();
            wasm_bindgen_futures::spawn_local(async move {
                let msg = match crate::net::launch(&request).await {
                    Ok(launch) => Msg::Launched(launch),
                    Err(error) => Msg::LaunchFailed(error),
                };
                dispatch(&app, msg);
            });
        }
        Effect::Connect(_) => connect(app),
        Effect::ReconnectIn(ms) => {
            // ±25 % jitter so many visitors dropped together do not return together.
            let jittered = (f64::from(ms) * (0.75 + js_sys::Math::random() * 0.5)) as u32;
            let again = app.clone();
            let timer = later(jittered, Box::new(move || reconnect_now(&again)));
            let mut a = write(app);
            retire(a.socket.take());
            a.reconnect = Some(timer);
        }
        Effect::Disconnect => {
            let mut a = write(app);
            retire(a.socket.take());
            a.reconnect = None;
        }
        Effect::Transmit(command) => {
            let a = read(app);
            if let Some(socket) = &a.socket {
                let _ = socket.ws.send_with_str(&command.to_json());
            }
        }
        Effect::ToLauncher(message) => {
            if let Some(bridge) = &read(app).bridge {
                bridge.post(&message);
            }
        }
        Effect::Store(stored) => {
            let a = read(app);
            if let Ok(Some(storage)) = a.window.session_storage() {
                let key = session_key_name(&a.channel);
                let _ = match stored.map(|s| s.to_json()) {
                    Some(json) => storage.set_item(&key, &json),
                    None => storage.remove_item(&key),
                };
            }
        }
        Effect::StoreVisitorKey(visitor_key) => {
            let a = read(app);
            // Best effort: partitioned or disabled storage just means a new key next time.
            if let Ok(Some(storage)) = a.window.local_storage() {
                let key = visitor_key_name(&a.channel);
                let _ = match visitor_key {
                    Some(v) => storage.set_item(&key, &v),
                    None => storage.remove_item(&key),
                };
            }
        }
        effect => {
            let mut guard = write(app);
            let a = &mut *guard;
            let strings = a.state.locale.strings();
            let result = match effect {
                Effect::ShowChannel => match &a.state.launch {
                    Some(launch) => a.dom.show_channel(launch, strings),
                    None => Ok(()),
                },
                Effect::ShowMessage(m) => a.dom.show_message(&m, strings),
                Effect::ShowPending { client_id, body } => a.dom.show_pending(&client_id, &body, strings),
                Effect::FailPending(client_id) => a.dom.fail_pending(&client_id, strings),
                Effect::ShowNote(text) => a.dom.show_note(&text),
                Effect::Render => a.dom.render(&a.state),
                Effect::Announce(text) => {
                    a.dom.announce(&text);
                    Ok(())
                }
                Effect::SetDraft(text) => {
                    a.dom.input.set_value(&text);
                    fit_input(&a.dom.input);
                    Ok(())
                }
                Effect::FocusComposer => {
                    a.dom.focus_composer();
                    Ok(())
                }
                Effect::ClearMessages => {
                    a.dom.clear_messages();
                    Ok(())
                }
                Effect::MarkChosen { menu_seq, option } => a.dom.mark_chosen_in(menu_seq, &option),
                Effect::MarkRead(seq) => a.dom.mark_read(seq, strings.read),
                _ => Ok(()),
            };
            if let Err(e) = result {
                web_sys::console::error_1(&e);
            }
        }
    }
}

/// Drops a socket on a later task: its listeners may be the ones running now.
fn retire(socket: Option<Socket>) {
    if let Some(socket) = socket {
        later(0, Box::new(move || drop(socket))).forget();
    }
}

fn reconnect_now(app: &Shared) {
    let live = {
        let mut a = write(app);
        a.reconnect = None;
        if a.socket.is_some() {
            return;
        }
        a.state.session_handle().is_some()
    };
    if live {
        connect(app);
    }
}

fn connect(app: &Shared) {
    let location = read(app).window.location();
    let scheme = if location.protocol().as_deref() == Ok("https:") { "wss:" } else { "ws:" };
    let host = location.host().unwrap_or_default();
    // The handle goes in the first frame (hello), never in the URL.
    let url = cat(&[scheme, "//", &host, "/v1/visitor/socket"]);
    let ws = match WebSocket::new(&url) {
        Ok(ws) => ws,
        Err(_) => return dispatch_later(app, Msg::SocketClosed),
    };
    let on_open = on(app, &ws, "open", |app, _| dispatch(app, Msg::SocketOpened));
    let on_message = on(app, &ws, "message", |app, e| {
        let Some(text) = e.unchecked_ref::<MessageEvent>().data().as_string() else { return };
        match VisitorEvent::from_json_str(&text) {
            Some(event) => dispatch(app, Msg::Socket(event)),
            None => web_sys::console::warn_2(&"consult: ignored socket frame".into(), &text.into()),
        }
    });
    let on_close = on(app, &ws, "close", |app, _| {
        retire(write(app).socket.take());
        dispatch(app, Msg::SocketClosed);
    });
    let mut a = write(app);
    a.reconnect = None;
    a.socket = Some(Socket { ws, _listeners: [on_open, on_message, on_close] });
}

/// Grows the composer with its text, up to the CSS max-height.
fn fit_input(input: &web_sys::HtmlTextAreaElement) {
    let style = input.style();
    let _ = style.set_property("height", "auto");
    let mut height = String::new();
    push_u64(&mut height, input.scroll_height().max(0) as u64);
    height.push_str("px");
    let _ = style.set_property("height", &height);
}

/// What a listener of the app runs: a plain function of the app and the event.
type Handler = fn(&Shared, &web_sys::Event);

/// Listens with a [`Handler`]: one closure type for every listener of the app, so the listener
/// glue is in the wasm once.
fn on(app: &Shared, target: &web_sys::EventTarget, event: &'static str, handler: Handler) -> EventListener {
    let app = app.clone();
    crate::dom::listen(target, event, Box::new(move |e| handler(&app, e)))
}

/// The first file of a paste's `clipboardData` or a drop's `dataTransfer` (read through
/// Reflect, so no extra web-sys bindings ship for it).
fn event_file(e: &web_sys::Event, field: &str) -> Option<web_sys::File> {
    let data = js_sys::Reflect::get(e, &JsValue::from_str(field)).ok().filter(|d| !d.is_null() && !d.is_undefined())?;
    let files = js_sys::Reflect::get(&data, &JsValue::from_str("files")).ok().filter(|f| !f.is_null() && !f.is_undefined())?;
    files.unchecked_into::<web_sys::FileList>().get(0)
}

/// Uploads a file into the live session and sends it (nothing without a session or a file).
fn upload_file(app: &Shared, picked: Option<web_sys::File>) {
    let handle = {
        let a = read(app);
        if !matches!(a.state.phase, crate::chat::Phase::Live) {
            return;
        }
        a.state.session_handle().map(str::to_string)
    };
    let (Some(picked), Some(handle)) = (picked, handle) else { return };
    let app = app.clone();
    wasm_bindgen_futures::spawn_local(async move {
        let msg = match crate::net::upload(&handle, &picked).await {
            Ok(body) => Msg::Uploaded(body),
            Err(error) => Msg::UploadFailed(error),
        };
        dispatch(&app, msg);
    });
}

fn listen(app: &Shared) -> Result<(), JsValue> {
    let a = read(app);
    let (d, window) = (&a.dom, &a.window);
    // A table rather than a call each: the listeners go into the Vec in one loop.
    let handlers: [(&web_sys::EventTarget, &'static str, Handler); 15] = [
        (&d.composer, "submit", |app, e| {
            e.prevent_default();
            let text = read(app).dom.input.value();
            dispatch(app, Msg::Submit(text));
        }),
        (&d.input, "input", |app, _| {
            let drafting = {
                let a = read(app);
                fit_input(&a.dom.input);
                !a.dom.input.value().trim().is_empty()
            };
            dispatch(app, Msg::Drafting(drafting));
        }),
        (&d.file, "change", |app, _| {
            let picked = {
                let a = read(app);
                let picked = a.dom.file.files().and_then(|files| files.get(0));
                a.dom.file.set_value("");
                picked
            };
            upload_file(app, picked);
        }),
        // A file pasted into the message box (a screenshot, say) is sent like a picked one.
        (&d.input, "paste", |app, e| {
            if let Some(file) = event_file(e, "clipboardData") {
                e.prevent_default();
                upload_file(app, Some(file));
            }
        }),
        // Dropped anywhere on the panel: sent. Dragging over it must be allowed first.
        (&d.root, "dragover", |_, e| e.prevent_default()),
        (&d.root, "drop", |app, e| {
            e.prevent_default();
            upload_file(app, event_file(e, "dataTransfer"));
        }),
        (&d.log, "click", |app, e| {
            let Some(target) = e.target().and_then(|t| t.dyn_into::<Element>().ok()) else { return };
            let Ok(Some(option)) = target.closest(OPTION_SELECTOR) else { return };
            let Some(id) = option.get_attribute(OPTION_ATTR) else { return };
            // One answer per menu: the others go inert at once (the stored answer marks it again).
            if let Some(menu) = option.parent_element() {
                Dom::mark_chosen(&menu, &id);
            }
            dispatch(app, Msg::Choose { option: id });
        }),
        (&d.handoff_button, "click", |app, _| dispatch(app, Msg::StartHandoff)),
        (&d.chat_here_button, "click", |app, _| dispatch(app, Msg::CancelHandoff)),
        (&d.close_button, "click", |app, _| dispatch(app, Msg::CloseRequested)),
        (&d.end_button, "click", |app, _| dispatch(app, Msg::Leave)),
        (window, "keydown", |app, e| {
            if e.unchecked_ref::<KeyboardEvent>().key() != "Escape" {
                return;
            }
            let (showing_qr, full_screen) = {
                let a = read(app);
                (a.state.handoff_requested, full_screen(&a.window, a.state.mode))
            };
            // Escape closes the desktop panel; a full-screen chat closes with its visible button.
            if showing_qr {
                dispatch(app, Msg::CancelHandoff);
            } else if !full_screen {
                dispatch(app, Msg::CloseRequested);
            }
        }),
        (window, "online", |app, _| reconnect_now(app)),
        (&d.rate, "click", |app, e| {
            let Some(target) = e.target().and_then(|t| t.dyn_into::<Element>().ok()) else { return };
            if let Some(n) = target.get_attribute("data-score").and_then(|n| n.parse().ok()) {
                dispatch(app, Msg::PickScore(n));
            }
            match target.get_attribute("data-act").as_deref() {
                Some("send") => {
                    let comment = read(app).dom.rate_comment.value();
                    dispatch(app, Msg::Rate(comment));
                }
                Some("skip") => dispatch(app, Msg::SkipRating),
                _ => {}
            }
        }),
        // Only for the launcher's frame (below): messages from the host page.
        (window, "message", on_parent_message),
    ];
    let embedded = a.state.mode == Mode::Embedded;
    let mut listeners: Vec<EventListener> = handlers
        .into_iter()
        .filter(|&(_, event, _)| embedded || event != "message")
        .map(|(target, event, handler)| on(app, target, event, handler))
        .collect();
    let submitter = app.clone();
    listeners.extend(crate::dom::enter_to_send(&d.input, move || {
        let text = read(&submitter).dom.input.value();
        dispatch(&submitter, Msg::Submit(text));
    }));
    if let Some(viewport) = window.visual_viewport() {
        // The on-screen keyboard shrinks the visual viewport, not the layout one: size the app to
        // what is visible and keep the newest message in view.
        for event in ["resize", "scroll"] {
            listeners.push(on(app, &viewport, event, |app, _| follow_viewport(app)));
        }
        follow_viewport(app);
    }
    if embedded {
        let frame_window = window.clone();
        listeners.push(crate::dom::focus_trap(&d.root, move || full_screen(&frame_window, Mode::Embedded)));
    }
    drop(a);
    write(app).listeners = listeners;
    Ok(())
}

/// True when the chat fills the screen: the full page, or the launcher's frame on a phone (the
/// launcher marks its frame's URL with `#mobile` when it opens it full screen).
fn full_screen(window: &Window, mode: Mode) -> bool {
    mode == Mode::FullPage || window.location().hash().is_ok_and(|h| h == "#mobile")
}

fn follow_viewport(app: &Shared) {
    let a = read(app);
    let (Some(viewport), Some(doc)) = (a.window.visual_viewport(), a.window.document()) else { return };
    if let Some(html) = doc.document_element().and_then(|e| e.dyn_into::<HtmlElement>().ok()) {
        let _ = html.style().set_property("--vvh", &css_px(viewport.height()));
        let _ = html.style().set_property("--vvtop", &css_px(viewport.offset_top()));
    }
    a.dom.scroll_to_end();
}

/// `12.34px`: two decimals are enough for CSS, and writing them by hand keeps float formatting
/// (about 14 KB of wasm) out of the build.
fn css_px(v: f64) -> String {
    let hundredths = (v.max(0.0) * 100.0 + 0.5) as u64;
    let mut out = String::new();
    push_u64(&mut out, hundredths / 100);
    out.push('.');
    out.push(char::from(b'0' + (hundredths / 10 % 10) as u8));
    out.push(char::from(b'0' + (hundredths % 10) as u8));
    out.push_str("px");
    out
}

fn on_parent_message(app: &Shared, e: &web_sys::Event) {
    let e: &MessageEvent = e.unchecked_ref();
    let trusted = {
        let a = read(app);
        let Some(bridge) = &a.bridge else { return };
        let from_parent = e.source().is_some_and(|s| js_sys::Object::is(&s, &bridge.parent));
        from_parent && e.origin() == bridge.origin
    };
    if !trusted {
        return;
    }
    let Some(json) = js_sys::JSON::stringify(&e.data()).ok().and_then(|s| s.as_string()) else { return };
    let Some(message) = FrameMessage::from_json_str(&json) else { return };
    let msg = match message {
        FrameMessage::Launch { mut request, prefill } => {
            // The browser vouches for event.origin; the gateway checks it against the channel.
            request.host_origin = Some(e.origin());
            Msg::Launch { request, prefill }
        }
        FrameMessage::Context { declared } => Msg::Context(declared),
        FrameMessage::Close => Msg::Hidden,
        FrameMessage::Shutdown => Msg::Shutdown,
        FrameMessage::Ready | FrameMessage::Unread { .. } | FrameMessage::Message { .. } | FrameMessage::Error { .. } => {
            return;
        }
    };
    dispatch(app, msg);
}
