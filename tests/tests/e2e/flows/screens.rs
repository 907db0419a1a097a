//! The screenshots of issue 10 (`docs/screens/`), made by driving the demo: desktop 1280×800 and
//! phone 390×844, Korean and English. Ignored in the suite (they rewrite files in docs/); run with
//! `cargo test -p consult-e2e screens -- --ignored`. Each step asserts what the picture must show.

use consult_e2e::{Agent, Browser, Device, Test, Visitor, run, run_with_env, workspace};
use serde_json::json;

/// Saves the viewport as `docs/screens/NAME.png`.
async fn shot(b: &Browser, name: &str) {
    let dir = workspace().join("docs/screens");
    std::fs::create_dir_all(&dir).expect("docs/screens");
    b.save_screenshot(&dir.join(format!("{name}.png"))).await.unwrap_or_else(|e| panic!("screenshot {name}: {e}"));
}

/// Desktop browsers at 1280×800 (the harness opens 1280×860 windows).
async fn desktop_viewport(b: &Browser) {
    b.cdp("Emulation.setDeviceMetricsOverride", json!({ "width": 1280, "height": 800, "deviceScaleFactor": 1, "mobile": false })).await;
}

fn device_name(d: Device) -> &'static str {
    if d == Device::Phone { "phone" } else { "desktop" }
}

/// A visitor on the product page, the chat in `lang` (the browser itself is Korean).
async fn visitor(t: &Test, lang: &str, device: Device) -> Visitor {
    let name = format!("visitor-{lang}-{}", device_name(device));
    let v = Visitor::on(t.browser(&name, device).await, &t.demo.site);
    if device == Device::Desktop {
        desktop_viewport(&v.b).await;
    }
    v.open_page("/product.html").await;
    v.b.js(&format!("Consult('boot', {{ locale: '{lang}' }}); return true"), vec![]).await;
    v
}

/// An agent's desk in `lang` at 1280×800.
async fn agent(t: &Test, id: &str, lang: &str) -> Agent {
    let a = t.agent_in(id, &format!("{id}-demo"), lang).await;
    desktop_viewport(&a.b).await;
    a
}

/// Presses the product's button and asks `question`; waits for the bot's answer.
async fn ask(v: &Visitor, question: &str) {
    v.click_consult_button("#product-consult").await;
    v.enter_chat().await;
    v.send(question).await;
    v.wait_message("mine", question).await;
    v.b.wait_js("the bot to offer a person", "document.querySelector('#consult .log > li.bot:last-of-type .menu [data-option=agent]')").await;
}

/// Opens the chat in "My chats" that was not there before `seen` (ids), returns its id.
async fn open_new_chat(a: &Agent, seen: &[String]) -> String {
    let js = format!("[...document.querySelectorAll('#chats > li')].map(li => li.dataset.session).find(id => !{}.includes(id))", json!(seen));
    let id = a.b.wait_js("a new chat in My chats", &js).await.as_str().expect("session id").to_string();
    a.b.js(&format!("document.querySelector('#chats > li[data-session=\"{id}\"] .item-open').click(); return true"), vec![]).await;
    a.b.wait_js("the chat pane", &format!("!document.getElementById('pane').hidden && desk.active === '{id}'")).await;
    id
}

/// Opens a desk dialog with the button `button`, shoots it, and leaves it open.
async fn dialog_shot(a: &Agent, button: &str, name: &str) {
    a.b.find(button).await.click().await.unwrap_or_else(|e| panic!("click {button}: {e}"));
    a.b.wait_js("the dialog to open", "document.querySelector('dialog[open]')").await;
    shot(&a.b, name).await;
}

/// Blocks the open chat through the dialog (shot), then the visitor (the desk's language too)
/// presses the button again and is refused (shot).
async fn block_then_refused(a: &Agent, lang: &str, reason: &str, v: &Visitor, refusal: &str) {
    dialog_shot(a, "#block", &format!("desk-dialog-block-{lang}")).await;
    a.b.find("#block-reason").await.send_keys(reason).await.expect("reason");
    a.b.find("dialog[open] button[type=submit]").await.click().await.expect("confirm block");
    a.b.wait_js("the chat closed by the block", "document.getElementById('pane-sub').dataset.state === 'closed'").await;
    v.open_page("/product.html").await;
    v.b.js(&format!("Consult('boot', {{ locale: '{lang}' }}); return true"), vec![]).await;
    v.click_consult_button("#product-consult").await;
    v.enter_chat().await;
    v.b.wait_js("the refusal", "document.querySelector('#consult .banner').dataset.code === 'blocked' && document.querySelector('#consult textarea.input').disabled").await;
    shot(&v.b, refusal).await;
}

#[test]
#[ignore = "rewrites docs/screens; run with --ignored"]
fn screens_of_a_working_day() {
    run("screens", None, |t| async move {
        let mina = agent(&t, "mina", "en").await;
        // Four visitors ask; Mina (3 chats at most) takes three, the fourth waits in the queue.
        let people = [("ko", Device::Desktop, "선물 포장 되나요?"), ("en", Device::Phone, "Can you gift-wrap it?"), ("en", Device::Desktop, "Do you ship to Jeju?"), ("ko", Device::Phone, "영수증 받을 수 있나요?")];
        let mut visitors = Vec::new();
        let mut sessions: Vec<String> = Vec::new();
        for (i, (lang, device, question)) in people.into_iter().enumerate() {
            let v = visitor(&t, lang, device).await;
            ask(&v, question).await;
            let d = device_name(device);
            shot(&v.b, &format!("first-question-{lang}-{d}")).await;
            v.choose("agent").await;
            if i < 3 {
                v.b.wait_js("the agent's join line", "[...document.querySelectorAll('#consult .log > li.system')].some(li => li.textContent.includes('Mina'))").await;
                let id = open_new_chat(&mina, &sessions).await;
                sessions.push(id);
                mina.reply(if lang == "ko" { "안녕하세요, 김민아입니다. 확인해 드릴게요." } else { "Hi, Mina here. Let me check that for you." }).await;
                v.wait_message("agent", if lang == "ko" { "김민아입니다" } else { "Mina here" }).await;
                shot(&v.b, &format!("agent-joined-{lang}-{d}")).await;
            } else {
                mina.b.wait_js("the fourth chat in the queue", "document.querySelectorAll('#queue > li').length === 1").await;
            }
            visitors.push(v);
        }

        // Mina is full: Take says why not instead of doing nothing.
        mina.b.find("#queue > li button.take").await.click().await.expect("click Take");
        mina.b.wait_js("the why-not line", "!document.getElementById('why-not').hidden && document.getElementById('why-not').textContent.includes('3')").await;
        assert_eq!(mina.b.js("return document.getElementById('capacity').textContent", vec![]).await, "Chats 3 / 3");
        shot(&mina.b, "desk-full-queue-en").await;

        // Sora signs in (her desk in Korean) and the queued chat reaches her.
        let sora = agent(&t, "sora", "ko").await;
        sora.b.wait_js("the queued chat assigned to Sora", "document.querySelectorAll('#chats > li').length === 1").await;

        // Mina transfers the Korean desktop visitor's chat: the dialog, the visitor's line, Sora's desk.
        mina.b.js(&format!("document.querySelector('#chats > li[data-session=\"{}\"] .item-open').click(); return true", sessions[0]), vec![]).await;
        dialog_shot(&mina, "#transfer", "desk-dialog-transfer-en").await;
        mina.b.js("const r = [...document.querySelectorAll('dialog[open] input[name=to]')].find(r => r.value === 'sora'); r.checked = true; return true", vec![]).await;
        mina.b.find("dialog[open] button[type=submit]").await.click().await.expect("confirm transfer");
        let ko = &visitors[0];
        ko.b.wait_js("the transfer line", "[...document.querySelectorAll('#consult .log > li.system')].some(li => li.textContent.includes('Sora'))").await;
        shot(&ko.b, "transfer-ko-desktop").await;
        sora.b.wait_js("the transferred chat on Sora's desk", &format!("!!document.querySelector('#chats > li[data-session=\"{}\"]')", sessions[0])).await;
        sora.b.js(&format!("document.querySelector('#chats > li[data-session=\"{}\"] .item-open').click(); return true", sessions[0]), vec![]).await;
        // The whole history, not only the transfer's own line.
        sora.b.wait_js("the transferred chat with its history", "!document.getElementById('pane').hidden && [...document.querySelectorAll('#messages > li.visitor')].some(li => li.textContent.includes('선물 포장'))").await;
        shot(&sora.b, "transfer-desk-ko").await;

        // And the English phone visitor's chat, too.
        mina.b.js(&format!("document.querySelector('#chats > li[data-session=\"{}\"] .item-open').click(); return true", sessions[1]), vec![]).await;
        mina.b.find("#transfer").await.click().await.expect("click transfer");
        mina.b.wait_js("the transfer dialog", "document.querySelector('dialog[open] input[value=sora]')").await;
        mina.b.js("document.querySelector('dialog[open] input[value=sora]').checked = true; return true", vec![]).await;
        mina.b.find("dialog[open] button[type=submit]").await.click().await.expect("confirm transfer");
        let en_phone = &visitors[1];
        en_phone.b.wait_js("the transfer line", "[...document.querySelectorAll('#consult .log > li.system')].some(li => li.textContent.includes('Sora'))").await;
        shot(&en_phone.b, "transfer-en-phone").await;

        // Sora's dialogs in Korean: close, block (then the Korean phone visitor is refused), blocked list.
        sora.b.js(&format!("document.querySelector('#chats > li[data-session=\"{}\"] .item-open').click(); return true", sessions[0]), vec![]).await;
        dialog_shot(&sora, "#close", "desk-dialog-close-ko").await;
        sora.b.js("document.querySelector('dialog[open]').close(); return true", vec![]).await;
        let ko_phone_chat = sora.b.js("return [...document.querySelectorAll('#chats > li')].map(li => li.dataset.session).find(id => !arguments[0].includes(id))", vec![json!(sessions)]).await;
        let ko_phone_chat = ko_phone_chat.as_str().expect("the Korean phone visitor's chat").to_string();
        sora.b.js(&format!("document.querySelector('#chats > li[data-session=\"{ko_phone_chat}\"] .item-open').click(); return true"), vec![]).await;
        block_then_refused(&sora, "ko", "스팸 반복 spam", &visitors[3], "refusal-ko-phone").await;
        dialog_shot(&sora, "#blocks", "desk-dialog-blocks-ko").await;
        sora.b.wait_js("the blocked visitor listed", "document.querySelectorAll('dialog[open] .block-row').length === 1").await;
        shot(&sora.b, "desk-dialog-blocks-ko").await;
        sora.b.js("document.querySelector('dialog[open]').close(); return true", vec![]).await;

        // Mina's close and block dialogs in English; the English desktop visitor is refused next time.
        mina.b.js(&format!("document.querySelector('#chats > li[data-session=\"{}\"] .item-open').click(); return true", sessions[2]), vec![]).await;
        dialog_shot(&mina, "#close", "desk-dialog-close-en").await;
        mina.b.js("document.querySelector('dialog[open]').close(); return true", vec![]).await;
        block_then_refused(&mina, "en", "Repeated spam", &visitors[2], "refusal-en-desktop").await;
    });
}

#[test]
#[ignore = "rewrites docs/screens; run with --ignored"]
fn screens_after_hours() {
    run_with_env("screens-after-hours", &[("CONSULT_DEMO_HOURS", "closed")], |t| async move {
        for (lang, device) in [("ko", Device::Desktop), ("en", Device::Phone)] {
            let v = visitor(&t, lang, device).await;
            v.click_consult_button("#product-consult").await;
            v.enter_chat().await;
            v.b.wait_js("the after-hours note", "document.querySelector('#consult .log > li.after-hours')").await;
            shot(&v.b, &format!("after-hours-{lang}-{}", device_name(device))).await;
        }
    });
}

#[test]
#[ignore = "rewrites docs/screens; run with --ignored"]
fn screens_inactivity_warning() {
    run("screens-inactivity", Some(12), |t| async move {
        let mina = agent(&t, "mina", "en").await;
        let mut seen = Vec::new();
        for (lang, device) in [("en", Device::Desktop), ("ko", Device::Phone)] {
            let v = visitor(&t, lang, device).await;
            ask(&v, if lang == "ko" { "배송 문의요" } else { "A question about delivery" }).await;
            v.choose("agent").await;
            seen.push(open_new_chat(&mina, &seen).await);
            mina.reply(if lang == "ko" { "네, 말씀하세요." } else { "Sure, go ahead." }).await;
            let soon = if lang == "ko" { "곧 상담이 종료돼요" } else { "closes soon" };
            v.b.wait_js("the inactivity warning", &format!("document.querySelector('#consult .banner:not([hidden])') && document.querySelector('#consult .banner').textContent.includes('{soon}')")).await;
            shot(&v.b, &format!("inactivity-warning-{lang}-{}", device_name(device))).await;
        }
    });
}
