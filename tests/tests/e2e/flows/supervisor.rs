//! Issue 12 in a real browser: a supervisor watches a chat from the live board, writes an internal
//! note the agent sees and the visitor never does, reassigns it, takes it over and closes it; the
//! visitor rates the closed chat and the rating shows in the report chart and table.

use consult_e2e::{Device, run};

#[test]
fn a_supervisor_watches_notes_reassigns_and_the_visitors_rating_reaches_the_report() {
    run("flow-supervisor", None, |t| async move {
        let mina = t.agent("mina", "mina-demo").await;
        let v = t.visitor_on("visitor", Device::Desktop, "/product.html").await;
        v.click_consult_button("#product-consult").await;
        v.enter_chat().await;
        v.send("주문한 신발 사이즈를 바꾸고 싶어요").await;
        v.choose("agent").await;
        mina.open_chat("").await;
        mina.reply("네, 확인해 볼게요").await;
        v.wait_message("agent", "확인해 볼게요").await;

        let sora = t.agent("sora", "sora-demo").await;
        let b = &sora.b;
        b.wait_js("the board button for a supervisor", "!document.getElementById('view-board').hidden").await;
        b.find("#view-board").await.click().await.expect("open the board");
        b.wait_js("the chat on the board", "document.querySelector('#board-body [data-watch]') && document.querySelector('#board-body').textContent.includes('김민아')").await;
        assert!(b.js("return document.querySelector('#board-body .tiles').textContent", vec![]).await.as_str().unwrap().contains("Chats in progress"));

        // Watch: the chat opens read-only with its history, and new messages arrive live.
        b.find("#board-body [data-watch]").await.click().await.expect("watch");
        sora.wait_message("visitor", "사이즈").await;
        assert!(sora.pane().await.reply_disabled, "watching is read-only");
        v.send("270으로 부탁드려요").await;
        sora.wait_message("visitor", "270으로").await;

        // A note: the agent sees it beside the chat; the visitor never does.
        b.find("#note-text").await.send_keys("교환 규정 확인 필요 (supervisor)").await.expect("type note");
        b.find("#note-add").await.click().await.expect("add note");
        mina.b.wait_js("the note on the agent's desk", "document.getElementById('notes-list').textContent.includes('교환 규정 확인 필요')").await;
        assert!(!v.b.js("return document.body.textContent", vec![]).await.as_str().unwrap().contains("교환 규정"), "a note reached the visitor");

        // Reassign to Joon from the board, then take it over.
        b.find("#view-board").await.click().await.expect("back to the board");
        b.wait_js("the reassign list", "document.querySelector('#board-body select[data-reassign] option[value=joon]')").await;
        b.js("const s = document.querySelector('#board-body select[data-reassign]'); s.value = 'joon'; s.dispatchEvent(new Event('change')); return true", vec![]).await;
        v.wait_message("system", "Joon").await;
        b.wait_js("the board to show Joon", "[...document.querySelectorAll('#board-body .chats-table tbody tr')].some(r => r.textContent.includes('이준호'))").await;
        b.find("#board-body [data-takeover]").await.click().await.expect("take over");
        v.wait_message("system", "Sora").await;
        b.find("#view-chats").await.click().await.expect("back to chats");
        sora.open_chat("").await;
        sora.reply("제가 이어서 도와드릴게요").await;
        v.wait_message("agent", "이어서 도와드릴게요").await;

        // Sora closes it; the visitor is asked for a rating once, in their language.
        b.find("#close").await.click().await.expect("close");
        b.wait_js("the close dialog", "document.querySelector('dialog[open] button[type=submit]')").await;
        b.find("dialog[open] button[type=submit]").await.click().await.expect("confirm close");
        v.b.wait_js("the rating question", "!document.querySelector('#consult .rate').hidden").await;
        assert!(v.b.js("return document.querySelector('#consult .rate-q').textContent", vec![]).await.as_str().unwrap().contains("상담은 어떠셨나요"));
        v.click("#consult .star[data-score='4']").await;
        v.b.find("#consult .rate-comment").await.send_keys("빨리 해결됐어요").await.expect("comment");
        v.click("#consult .rate-send").await;
        v.wait_message("note", "감사합니다").await;
        assert!(v.b.js("return document.querySelector('#consult .rate').hidden", vec![]).await.as_bool().unwrap());

        // The agent sees the rating beside the chat; the report counts it, chart and table.
        b.wait_js("the rating on the desk", "document.getElementById('rating-line').textContent.includes('4 / 5')").await;
        b.find("#view-reports").await.click().await.expect("reports");
        b.js("const s = document.getElementById('r-by'); s.value = 'agent'; return true", vec![]).await;
        b.find("#r-form button[type=submit]").await.click().await.expect("show");
        b.wait_js("the report table with Sora's rating", "[...document.querySelectorAll('#r-table tbody tr')].some(r => r.textContent.includes('sora') && r.textContent.includes('4.00 (1)'))").await;
        // The days are the gateway's report time zone's (the demo's is Asia/Seoul), and it says so.
        let tz = b.js("return document.getElementById('r-tz').textContent", vec![]).await;
        assert_eq!(tz, "Days in Asia/Seoul", "the report names its time zone");
        b.wait_js("every chart drawn", "[...document.querySelectorAll('#r-charts img')].every(i => i.complete && i.naturalWidth > 0)").await;
        let chart = b
            .js("return (async () => (await (await fetch('/v1/reports/chart.svg?by=agent&metric=csat', {headers: {authorization: 'Bearer ' + desk.token}})).text()))()", vec![])
            .await;
        let chart = chart.as_str().unwrap_or_default().to_string();
        assert!(chart.contains(">sora<") && chart.contains(">4<"), "the CSAT chart shows Sora's 4: {chart}");
    });
}
