//! The simple_im wiki's socket client, word for word: a plain connect to the stage URL, the
//! login frame as simple_im's encoder writes it (one line, credentials in `[r.user]`), then
//! what was pending pushed without being asked, TOML pushes, several tables in one frame, and
//! one live socket per device.

use im_tests::{
    befriend, connect, connect_plain, connection_ids, eventually, login, new_user, next_text, send_text, Client, User,
};
use serde_json::{json, Value};

fn toml_doc(frame: &str) -> Value {
    serde_json::to_value(toml::from_str::<toml::Table>(frame).unwrap_or_else(|e| panic!("{frame:?}: {e}"))).unwrap()
}

async fn send(from: &User, to: &User, id: &str, text: &str) {
    let sent = Client::new()
        .with_token(&from.token)
        .post_form("/message", &[("to", &to.id.to_string()), ("id", id), ("c", text)])
        .await;
    assert_eq!(sent.status, 200, "{}", sent.text);
}

#[tokio::test]
async fn the_wikis_login_frame_on_a_plain_connection_gets_rr_then_what_was_pending() {
    let alice = new_user("alice", "android").await;
    let bob = new_user("bob", "android").await;
    befriend(&alice, &bob).await;
    send(&alice, &bob, "w1", "while you were away").await;
    send(&alice, &bob, "w2", "and this too").await;

    let token = login(&bob.phone, "ipad").await;
    let mut socket = connect_plain().await;
    let frame = format!(r#"[[r]] id = "a_01" t = "login" [r.user] id = {} d = "ipad" token = "{token}""#, bob.id);
    send_text(&mut socket, &frame).await;
    assert_eq!(next_text(&mut socket).await, "[[rr]]\nid = \"a_01\"\ns = 0\n");
    // The friend request and its acceptance wait in bob's feed too (`[[n]]`), then the messages.
    let mut pending = vec![];
    while pending.len() < 2 {
        let frame = toml_doc(&next_text(&mut socket).await);
        match frame.get("m") {
            Some(m) => pending.push(m[0].clone()),
            None => assert!(frame["n"][0]["t"].as_str().is_some_and(|t| t.ends_with("_contact")), "{frame}"),
        }
    }
    for m in &pending {
        assert_eq!((m["from"].as_u64(), m["d"].as_str()), (Some(alice.id), Some("android")), "{m}");
    }
    let texts: Vec<&str> = pending.iter().map(|m| m["c"].as_str().unwrap()).collect();
    assert_eq!(texts, ["while you were away", "and this too"]);

    // Live delivery continues in TOML, the login frame's dialect; acks as simple_im writes them.
    send(&alice, &bob, "w3", "now live").await;
    let live = toml_doc(&next_text(&mut socket).await)["m"][0].clone();
    assert_eq!(live["c"], "now live");
    let acks: String =
        pending.iter().chain([&live]).map(|m| format!(r#"[[a]] id = "{}" "#, m["id"].as_str().unwrap())).collect();
    send_text(&mut socket, &format!("{acks}[[p]]")).await;
    assert!(next_text(&mut socket).await.starts_with("[[pp]]\nts = "), "acks answer nothing; the ping answers");
    let offline = Client::new().with_token(&token).get("/offline").await.doc();
    assert!(offline["m"].as_array().is_none_or(Vec::is_empty), "all three confirmed: {offline}");
}

#[tokio::test]
async fn a_login_for_another_user_id_is_refused_with_the_frames_id() {
    let bob = new_user("bob", "android").await;
    let mut socket = connect_plain().await;
    let frame =
        format!(r#"[[r]] id = "a_02" t = "login" [r.user] id = {} d = "ipad" token = "{}""#, bob.id + 1, bob.token);
    send_text(&mut socket, &frame).await;
    let refused = toml_doc(&next_text(&mut socket).await);
    assert_eq!(refused["rr"][0], json!({ "id": "a_02", "s": 1, "r": "user id does not match the login" }));
    assert!(connection_ids(bob.id).await.is_empty(), "nothing was bound");
}

#[tokio::test]
async fn several_tables_in_one_frame_are_each_answered_in_order() {
    let alice = new_user("alice", "android").await;
    let bob = new_user("bob", "android").await;
    befriend(&alice, &bob).await;
    let mut socket = connect(&format!("token={}&format=toml", alice.token)).await.unwrap();
    send_text(
        &mut socket,
        &format!(r#"[[m]] id = "m_1" t = "text" c = "one frame, two tables" to = {} [[p]]"#, bob.id),
    )
    .await;
    let answer = next_text(&mut socket).await;
    let (ack, pong) = answer.split_once("[[pp]]").unwrap_or_else(|| panic!("both answers: {answer:?}"));
    assert_eq!(toml_doc(ack)["a"][0]["id"], "m_1", "the send is answered first: {answer:?}");
    assert!(pong.starts_with("\nts = ") && pong.trim_end().lines().count() == 2, "the ping last: {answer:?}");
}

#[tokio::test]
async fn a_second_login_from_the_same_device_closes_the_old_socket() {
    let bob = new_user("bob", "android").await;
    let alice = new_user("alice", "web").await;
    let mut old = connect(&format!("token={}", bob.token)).await.unwrap();
    let mut new = connect_plain().await;
    send_text(&mut new, &format!(r#"[[r]] t = "login" [r.user] d = "android" token = "{}""#, bob.token)).await;
    assert_eq!(next_text(&mut new).await, "[[rr]]\ns = 0\n");
    use futures::StreamExt;
    let closed =
        tokio::time::timeout(std::time::Duration::from_secs(10), old.next()).await.expect("the old socket closes");
    assert!(matches!(closed, Some(Ok(tokio_tungstenite::tungstenite::Message::Close(_))) | None), "{closed:?}");
    eventually("one socket left", || async { connection_ids(bob.id).await.len() == 1 }).await;
    Client::new().with_token(&alice.token).post_form(&format!("/contact/{}", bob.id), &[("ask", "hi")]).await;
    assert_eq!(toml_doc(&next_text(&mut new).await)["n"][0]["ask"], "hi", "the new socket receives");
}

#[tokio::test]
async fn seed_003s_empty_login_on_a_token_connection_answers_ok() {
    let eva = new_user("eva", "web").await;
    let mut socket = connect(&format!("token={}", eva.token)).await.unwrap();
    send_text(&mut socket, r#"{"event":"LOGIN","data":{}}"#).await;
    let ok: Value = serde_json::from_str(&next_text(&mut socket).await).unwrap();
    assert_eq!((ok["event"].as_str(), ok["data"]["id"].as_u64()), (Some("OK"), Some(eva.id)));
}

#[tokio::test]
async fn two_phones_with_the_same_device_name_confirm_apart() {
    let alice = new_user("alice", "web").await;
    let bob = new_user("bob", "android").await;
    befriend(&alice, &bob).await;
    send(&alice, &bob, "p1", "to both phones").await;
    let (first, second) = (login(&bob.phone, "android").await, login(&bob.phone, "android").await);
    let pending = |token: String| async move {
        let doc = Client::new().with_token(&token).send("GET", "/offline", Some("application/json"), None).await.doc();
        doc["m"].as_array().cloned().unwrap_or_default()
    };
    let messages = pending(first.clone()).await;
    assert_eq!(messages.len(), 1);
    let id = messages[0]["id"].as_str().unwrap().replace('#', "%23");
    let confirmed = Client::new().with_token(&first).send("DELETE", &format!("/offline?id={id}"), None, None).await;
    assert_eq!(confirmed.status, 200);
    assert!(pending(first).await.is_empty(), "the first phone confirmed it");
    assert_eq!(pending(second).await.len(), 1, "the other android still has it");
}

#[tokio::test]
async fn logout_closes_the_sockets_of_that_session_only() {
    let bob = new_user("bob", "android").await;
    let other = login(&bob.phone, "ipad").await;
    let mut ending = connect(&format!("token={}", bob.token)).await.unwrap();
    let mut staying = connect(&format!("token={other}")).await.unwrap();
    let out = Client::new().with_token(&bob.token).post_form("/server/logout", &[]).await;
    assert_eq!(out.status, 200, "{}", out.text);
    use futures::StreamExt;
    let closed = tokio::time::timeout(std::time::Duration::from_secs(10), ending.next()).await.expect("closed");
    assert!(matches!(closed, Some(Ok(tokio_tungstenite::tungstenite::Message::Close(_))) | None), "{closed:?}");
    send_text(&mut staying, r#"{"event":"PING"}"#).await;
    assert!(next_text(&mut staying).await.contains("PONG"), "the other session's socket stays");
}

#[tokio::test]
async fn a_sync_answer_fits_one_websocket_message_however_big_the_backlog() {
    let alice = new_user("alice", "android").await;
    let bob = new_user("bob", "android").await;
    befriend(&alice, &bob).await;
    let big = "😀".repeat(4000); // 16 KB of UTF-8: twelve of them are 192 KB
    for i in 0..12 {
        send(&alice, &bob, &format!("big{i}"), &big).await;
    }
    let mut socket = connect(&format!("token={}&format=toml", bob.token)).await.unwrap();
    let mut received = 0;
    for _ in 0..12 {
        send_text(&mut socket, "[[s]]\n").await;
        let page = next_text(&mut socket).await;
        assert!(page.len() <= 128 * 1024, "a page of {} bytes never reaches a phone through API Gateway", page.len());
        let doc = toml_doc(&page);
        let ids: String = doc["m"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|m| format!("[[a]]\nid = \"{}\"\n", m["id"].as_str().unwrap()))
            .collect();
        received += doc["m"].as_array().map_or(0, Vec::len);
        if !ids.is_empty() {
            send_text(&mut socket, &ids).await;
        }
        if doc["sync"][0]["more"] == false {
            break;
        }
    }
    assert_eq!(received, 12, "every message arrives, page by page");
}
