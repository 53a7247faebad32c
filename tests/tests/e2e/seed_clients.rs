//! A seed-003 client, written from the seed's text alone, on the device model: only the
//! seed's own frames (`LOGON`, `LOGIN {user, password}`, `CREATE_CONTACT`,
//! `LIST_CONTACTS_UNREAD`, `CHAT_SEND_MSG`, `CHAT_RECEIVE_MSG`) on plain connections. It names
//! no device, so every login is a device of its own that starts where its user stands.

use im_tests::{ask, connect_plain, connection_ids, eventually, next_event, next_text, send_text, Socket};
use serde_json::{json, Value};

/// Proves nothing else is queued for `socket`: a PING's answer is the very next frame.
async fn nothing_pending(socket: &mut Socket) -> Result<(), String> {
    send_text(socket, r#"{"event":"PING"}"#).await;
    let next: Value = serde_json::from_str(&next_text(socket).await).unwrap();
    match next["event"] == "PONG" {
        true => Ok(()),
        false => Err(next.to_string()),
    }
}

/// `LOGIN` as the seed writes it, on a new plain connection.
async fn login(email: &str) -> Socket {
    let mut socket = connect_plain().await;
    let answer = ask(&mut socket, "LOGIN", json!({ "user": email, "password": "123456" })).await;
    assert_eq!(answer["event"], "OK", "{answer}");
    socket
}

/// `CHAT_SEND_MSG` from `socket` to `to`, answered with the new message's id.
async fn send(socket: &mut Socket, to: &str, content: &str) -> String {
    let data = json!({ "content": content, "time": "2017-03-22T16:36:45.272345", "user": to });
    let sent = ask(socket, "CHAT_SEND_MSG", data).await;
    assert_eq!(sent["event"], "OK", "{sent}");
    sent["data"]["id"].as_str().unwrap().to_string()
}

/// The next `n` new messages pushed to `socket`, each then confirmed as seed 003's client does
/// (`CHAT_RECEIVE_MSG`); read first, since an answer comes after the pushes already queued.
async fn receive(socket: &mut Socket, n: usize) -> Vec<String> {
    let mut contents = vec![];
    for _ in 0..n {
        let new = next_event(socket, "NOTIFY_NEW_MSG").await;
        contents.push(new["data"]["msg"]["content"].as_str().unwrap().to_string());
    }
    for content in &contents {
        assert_eq!(ask(socket, "CHAT_RECEIVE_MSG", json!({ "content": content })).await["event"], "OK");
    }
    contents
}

#[tokio::test]
async fn two_logins_coexist_a_third_replays_nothing_and_what_came_while_away_comes_once() {
    let stamp = im_tests::unique_phone();
    let (sinchb_email, eva_email) = (format!("sinchb{stamp}@gmail.com"), format!("Eva{stamp}@gmail.com"));
    let mut sinchb = connect_plain().await;
    let logon = json!({ "user": sinchb_email, "password": "123456" });
    assert_eq!(ask(&mut sinchb, "LOGON", logon).await["event"], "OK");
    let mut eva = connect_plain().await;
    assert_eq!(ask(&mut eva, "LOGON", json!({ "user": eva_email, "password": "123456" })).await["event"], "OK");
    let eva_id = ask(&mut eva, "LOGIN", json!({})).await["data"]["id"].as_u64().unwrap();
    // 登录 on the socket that signed up: answered as a login of the same user.
    let again = ask(&mut eva, "LOGIN", json!({ "user": eva_email, "password": "123456" })).await;
    assert_eq!((again["event"].as_str(), again["data"]["id"].as_u64()), (Some("OK"), Some(eva_id)), "{again}");
    // 添加联系人 both ways (the second accepts), then the list as the seed's client reads it.
    assert_eq!(ask(&mut sinchb, "CREATE_CONTACT", json!({ "user": eva_email })).await["event"], "OK");
    next_event(&mut eva, "NOTIFY_UPDATE_CONTACT").await;
    assert_eq!(ask(&mut eva, "CREATE_CONTACT", json!({ "user": sinchb_email })).await["event"], "OK");
    let contacts = ask(&mut eva, "LIST_CONTACTS_UNREAD", json!({})).await;
    assert_eq!(contacts["data"]["contacts"], json!({ sinchb_email.clone(): 0 }), "{contacts}");
    drop(eva);
    // Emails are matched and shown lower-cased (a deliberate difference: one account per address).
    let listed = ask(&mut sinchb, "LIST_CONTACTS_UNREAD", json!({})).await;
    assert_eq!(listed["data"]["contacts"], json!({ eva_email.to_lowercase(): 0 }), "{listed}");

    // Two tabs log in: neither names a device, neither closes the other, both hear a message.
    let mut tab1 = login(&eva_email).await;
    nothing_pending(&mut tab1).await.expect("the contact list, read before, is not replayed");
    let mut tab2 = login(&eva_email).await;
    nothing_pending(&mut tab2).await.expect("a second tab starts where eva stands");
    send(&mut sinchb, &eva_email, "both tabs").await;
    assert_eq!(receive(&mut tab1, 1).await, ["both tabs"]);
    assert_eq!(receive(&mut tab2, 1).await, ["both tabs"], "the first tab's login did not evict the second");
    nothing_pending(&mut tab1).await.expect("tab 1 is still live");

    // A third login, after everything was confirmed, is offered nothing.
    let mut tab3 = login(&eva_email).await;
    nothing_pending(&mut tab3).await.expect("a login after everything was confirmed replays nothing");

    // Every socket of eva closes; what is sent meanwhile comes at the next login, once.
    drop((tab1, tab2, tab3));
    eventually("eva's sockets are gone", || async { connection_ids(eva_id).await.is_empty() }).await;
    send(&mut sinchb, &eva_email, "while away 1").await;
    send(&mut sinchb, &eva_email, "while away 2").await;
    let mut back = login(&eva_email).await;
    assert_eq!(receive(&mut back, 2).await, ["while away 1", "while away 2"]);
    nothing_pending(&mut back).await.expect("each comes once");
    drop(back);
    let mut later = login(&eva_email).await;
    nothing_pending(&mut later).await.expect("what the last login confirmed is not offered again");
    let unread = ask(&mut later, "LIST_CONTACTS_UNREAD", json!({})).await;
    assert_eq!(unread["data"]["contacts"][&sinchb_email], 3, "received is not read: {unread}");
}
