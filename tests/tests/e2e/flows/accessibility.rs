//! axe-core (the maintained accessibility engine, installed by `cargo xtask test`) over the chat
//! panel on a desktop and on a phone, the agent desk with a chat open, the desk's close dialog
//! and an admin's view (channels, canned answers, audit log): no serious or critical violation
//! anywhere, and the admin's top bar fits without a sideways scroll. The admin then adds an
//! agent by keyboard in the desk, who signs in, and changes the channel's retention notice by
//! keyboard (an empty one refused beside the form first).

use consult_e2e::{Browser, Device, run, workspace};
use serde_json::Value;

/// Serious and critical violations axe finds in the current frame's document (or why it could
/// not check: it failed, or no rule applied).
async fn serious_violations(b: &Browser) -> Vec<Value> {
    let path = workspace().join(".tools/node_modules/axe-core/axe.min.js");
    let axe = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}; `cargo xtask test` installs axe-core", path.display()));
    let script = format!(
        "const done = arguments[0]; {axe}
         axe.run(document).then(r => done(r.passes.length === 0 ? [{{ id: 'axe-checked-nothing' }}] : r.violations
           .filter(v => v.impact === 'serious' || v.impact === 'critical')
           .map(v => ({{ id: v.id, impact: v.impact, help: v.help, nodes: v.nodes.slice(0, 4).map(n => n.target.join(' ')) }}))),
           e => done([{{ id: 'axe-failed', help: String(e) }}]));"
    );
    let found = b.client.execute_async(&script, vec![]).await.expect("running axe-core");
    found.as_array().cloned().unwrap_or_default()
}

#[test]
fn the_chat_panel_and_the_desk_have_no_serious_accessibility_violations() {
    run("flow-accessibility", None, |t| async move {
        let agent = t.agent("mina", "mina-demo").await;
        for (name, device) in [("visitor", Device::Desktop), ("phone", Device::Phone)] {
            let v = t.visitor_on(name, device, "/product.html").await;
            v.click_consult_button("#product-consult").await;
            v.enter_chat().await;
            v.send("접근성 점검 중이에요").await;
            v.wait_message("mine", "접근성 점검").await;
            let found = serious_violations(&v.b).await;
            assert!(found.is_empty(), "the chat panel ({name}) has serious accessibility violations: {found:#?}");
            v.choose("agent").await;
        }
        // The desk with a chat open.
        agent.open_chat("Visitor").await;
        agent.b.top().await;
        let found = serious_violations(&agent.b).await;
        assert!(found.is_empty(), "the desk has serious accessibility violations: {found:#?}");
        // And its close dialog.
        agent.b.js("document.getElementById('close').click(); return true", vec![]).await;
        agent.b.wait_js("the close dialog", "document.querySelector('dialog[open]')").await;
        let found = serious_violations(&agent.b).await;
        assert!(found.is_empty(), "the desk's close dialog has serious accessibility violations: {found:#?}");

        // An admin's desk: every control in the top bar without a sideways scroll, and the admin
        // view (channels, canned answers, audit log) as clean as the rest.
        let admin = t.agent("hana", "hana-demo").await;
        let bar = admin.b.js("const b = document.querySelector('.topbar'); return b.scrollWidth <= b.clientWidth && document.getElementById('sign-out').getBoundingClientRect().right <= innerWidth", vec![]).await;
        assert_eq!(bar, serde_json::json!(true), "the admin's top bar fits (wraps) at 1280 px");
        admin.b.js("document.getElementById('view-audit').click(); return true", vec![]).await;
        admin.b.wait_js("the channels, agents and canned answers", "document.querySelectorAll('#ch-list > li').length > 0 && document.querySelectorAll('#cn-list > li').length > 0 && document.querySelectorAll('#ag-list > li').length > 0").await;
        admin.b.snap("admin-view").await;
        let found = serious_violations(&admin.b).await;
        assert!(found.is_empty(), "the admin view has serious accessibility violations: {found:#?}");

        // The admin adds an agent by keyboard alone (Tab between fields, Enter submits); they
        // show in the list at once and can sign in.
        admin.b.find("#ag-id").await.click().await.expect("focus the new agent's id");
        admin.b.type_text("yuna").await;
        admin.b.press(&[], consult_e2e::Key::Tab.into()).await;
        admin.b.type_text("Yuna Park").await;
        admin.b.press(&[], consult_e2e::Key::Tab.into()).await;
        admin.b.type_text("yuna-demo-pw").await;
        admin.b.press(&[], consult_e2e::Key::Enter.into()).await;
        admin.b.wait_js("the new agent in the list", "[...document.querySelectorAll('#ag-list > li strong')].some(e => e.textContent === 'Yuna Park')").await;
        admin.b.snap("admin-agent-created").await;

        // The demo channel's guidance by keyboard: an emptied retention notice is refused beside
        // the form, the field marked and nothing stored; a new notice is saved and read back.
        admin.b.wait_js("the channel settings", "document.getElementById('gd-notice').value.includes('90')").await;
        admin.b.find("#gd-notice").await.click().await.expect("focus the retention notice");
        admin.b.js("document.getElementById('gd-notice').select(); return true", vec![]).await;
        admin.b.press(&[], consult_e2e::Key::Backspace.into()).await;
        admin.b.press(&[], consult_e2e::Key::Tab.into()).await;
        assert_eq!(admin.b.focused().await, "button", "Tab leads from the notice to its Save");
        admin.b.press(&[], consult_e2e::Key::Enter.into()).await;
        admin.b.wait_js("the refusal beside the form", "document.getElementById('gd-error').textContent.includes('retention_notice') && document.getElementById('gd-notice').getAttribute('aria-invalid') === 'true'").await;
        let found = serious_violations(&admin.b).await;
        assert!(found.is_empty(), "the refused settings form has serious accessibility violations: {found:#?}");
        admin.b.find("#gd-notice").await.click().await.expect("focus the retention notice again");
        admin.b.type_text("Chats are kept for 30 days.").await;
        admin.b.press(&[], consult_e2e::Key::Tab.into()).await;
        admin.b.press(&[], consult_e2e::Key::Enter.into()).await;
        admin.b.wait_js("the saved notice, read back", "document.getElementById('gd-status').textContent !== '' && document.getElementById('gd-notice').value === 'Chats are kept for 30 days.' && !document.getElementById('gd-notice').hasAttribute('aria-invalid')").await;
        if std::env::var_os("CONSULT_E2E_SHOTS").is_some() {
            // Screenshots of the agents' admin for the README: both languages, desktop and phone.
            for (phone, lang) in [(false, "ko"), (true, "ko"), (true, "en")] {
                if phone {
                    admin.b.cdp("Emulation.setDeviceMetricsOverride", serde_json::json!({"width": 390, "height": 844, "deviceScaleFactor": 2, "mobile": true})).await;
                }
                let relabel = format!("const s = document.getElementById('lang'); s.value = '{lang}'; s.dispatchEvent(new Event('change')); document.getElementById('view-audit').click(); return true");
                admin.b.js(&relabel, vec![]).await;
                admin.b.wait_js("the relabelled agents", &format!("document.documentElement.lang === '{lang}' && document.querySelectorAll('#ag-list > li').length > 1")).await;
                admin.b.js("document.getElementById('ag-list').previousElementSibling.scrollIntoView(); return true", vec![]).await;
                admin.b.snap(&format!("admin-agents-{lang}{}", if phone { "-phone" } else { "" })).await;
            }
        }
        let yuna = t.agent("yuna", "yuna-demo-pw").await;
        yuna.b.wait_js("the new agent's desk", "document.getElementById('conn').dataset.state === 'online'").await;
    });
}
