//! The desk from the keyboard alone: reach the chat list, open a chat, answer, reach "attach
//! file", open the close dialog (focus stays inside it, Escape gives focus back), choose and
//! confirm closing the chat.

use consult_e2e::{Device, Key, run};

#[test]
fn an_agent_works_a_chat_with_the_keyboard_only() {
    run("flow-desk-keyboard", None, |t| async move {
        let agent = t.agent("mina", "mina-demo").await;
        let v = t.visitor_on("visitor", Device::Desktop, "/product.html").await;
        v.click_consult_button("#product-consult").await;
        v.enter_chat().await;
        v.send("키보드로 답해 주세요").await;
        v.choose("agent").await;
        agent.b.wait_js("the chat in My chats", "document.querySelectorAll('#chats > li').length === 1").await;
        // Start from nowhere in particular.
        agent.b.js("document.activeElement.blur(); return true", vec![]).await;

        let b = &agent.b;
        // Alt+2: the first of my chats; Enter opens it.
        b.press(&[Key::Alt], '2').await;
        assert!(b.focused().await.starts_with("button.item-open"), "Alt+2 focuses a chat row: {}", b.focused().await);
        b.press(&[], Key::Enter.into()).await;
        b.wait_js("the chat pane", "!document.getElementById('pane').hidden && document.getElementById('pane-title').textContent.length > 0").await;
        agent.wait_message("visitor", "키보드로").await;

        // Alt+3: the reply box; type, Enter sends.
        b.press(&[Key::Alt], '3').await;
        assert_eq!(b.focused().await, "textarea#reply-text");
        b.type_text("키보드만으로 답합니다").await;
        b.press(&[], Key::Enter.into()).await;
        v.wait_message("agent", "키보드만으로 답합니다").await;

        // Tab from the reply box reaches "attach file" (a real button now).
        b.press(&[], Key::Tab.into()).await;
        assert_eq!(b.focused().await, "button#attach-btn.ghost", "Tab reaches attach file");

        // Back up to the close button: Shift+Tab through the message list and the block button.
        for _ in 0..4 {
            b.press(&[Key::Shift], Key::Tab.into()).await;
        }
        assert_eq!(b.focused().await, "button#close.ghost", "Shift+Tab reaches the close button");
        b.press(&[], Key::Enter.into()).await;
        b.wait_js("the close dialog", "document.querySelector('dialog[open]')").await;
        // Focus is trapped: however far one tabs, it stays in the dialog.
        for _ in 0..5 {
            b.press(&[], Key::Tab.into()).await;
            let inside = b.js("return !!document.activeElement.closest('dialog[open]') || document.activeElement === document.body", vec![]).await;
            assert_eq!(inside, serde_json::json!(true), "focus left the dialog: {}", b.focused().await);
        }
        // Escape cancels and gives the focus back to the button that opened it.
        b.press(&[], Key::Escape.into()).await;
        b.wait_js("the dialog to close", "!document.querySelector('dialog[open]')").await;
        assert_eq!(b.focused().await, "button#close.ghost");
        assert_eq!(b.js("return document.getElementById('pane-sub').dataset.state", vec![]).await, "assigned", "cancel closes nothing");

        // Enter opens it on the choice (close, or give the chat back to the bot), "close" chosen;
        // Tab past Cancel to the confirm button, Enter: closed.
        b.press(&[], Key::Enter.into()).await;
        b.wait_js("the close dialog on its choice", "document.activeElement && document.activeElement.closest('dialog[open]') && document.activeElement.type === 'radio' && document.activeElement.value === 'close' && document.activeElement.checked").await;
        b.snap("close-dialog").await;
        b.press(&[], Key::Tab.into()).await;
        b.press(&[], Key::Tab.into()).await;
        b.wait_js("the confirm button", "document.activeElement && document.activeElement.closest('dialog[open]') && document.activeElement.type === 'submit'").await;
        b.press(&[], Key::Enter.into()).await;
        b.wait_js("the chat to close", "document.getElementById('pane-sub').dataset.state === 'closed'").await;
        v.b.wait_js("the visitor to see the close", "[...document.querySelectorAll('#consult .log > li')].some(li => li.textContent.includes('종료'))").await;
    });
}
