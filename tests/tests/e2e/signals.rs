//! Conversation signals (issue 25), over real sockets through the local gateway: typing relayed
//! to the other side's live socket only (never stored, never pushed, at most once per 3 s,
//! nothing across a block); a first confirmation telling the sender `NOTIFY_DELIVERED`; reads
//! raising the marker with `NOTIFY_READ` unless the reader turned read receipts off; receipts
//! asked over HTTP.

use im_tests::{ask, connect, new_user, send_text, Client, Socket, User};
use serde_json::{json, Value};

async fn socket(user: &User) -> Socket {
    connect(&format!("token={}", user.token)).await.expect("the socket opens")
}

/// Sends a frame that gets no answer.
async fn signal(socket: &mut Socket, event: &str, data: Value) {
    send_text(socket, &json!({ "event": event, "data": data }).to_string()).await;
}

/// The next typing or read signal on a socket, past any other frame.
async fn next_signal(socket: &mut Socket) -> Value {
    loop {
        let frame: Value = serde_json::from_str(&im_tests::next_text(socket).await).expect("a JSON frame");
        if frame["event"] == "NOTIFY_TYPING" || frame["event"] == "NOTIFY_READ" {
            return frame;
        }
    }
}

fn client(user: &User) -> Client {
    Client::new().with_token(&user.token)
}

#[tokio::test]
async fn typing_reaches_the_other_socket_once_per_window_and_is_never_stored_or_pushed() {
    let (ann, bob) = (new_user("ann", "web").await, new_user("bob", "android").await);
    im_tests::befriend(&ann, &bob).await;
    let token = format!("fcm-typing-{}:APA91bH", bob.id);
    let body = json!({ "platform": "fcm", "token": token }).to_string().into_bytes();
    let registered = client(&bob).send("PUT", "/device/push", None, Some(("application/json", body))).await;
    assert_eq!(registered.status, 200, "{}", registered.text);
    let (mut a, mut b) = (socket(&ann).await, socket(&bob).await);

    signal(&mut a, "TYPING", json!({ "with": bob.id, "state": "start" })).await;
    let typing = next_signal(&mut b).await;
    assert_eq!(typing["data"], json!({ "with": ann.id, "user": ann.id, "state": "start" }), "{typing}");
    // Ten more in the same moment: at most one of them is relayed (the window is 3 s).
    for _ in 0..10 {
        signal(&mut a, "TYPING", json!({ "with": bob.id, "state": "start" })).await;
    }
    // A PING's PONG comes after the frames before it were served; then a message marks the end.
    assert_eq!(ask(&mut a, "PING", json!({})).await["event"], "PONG");
    let sent = ask(&mut a, "CHAT_SEND_MSG", json!({ "user": bob.phone, "content": "all done" })).await;
    assert_eq!(sent["event"], "OK", "{sent}");
    let mut relayed = 0;
    loop {
        let frame: Value = serde_json::from_str(&im_tests::next_text(&mut b).await).unwrap();
        match frame["event"].as_str() {
            Some("NOTIFY_TYPING") => relayed += 1,
            Some("NOTIFY_NEW_MSG") => break,
            _ => {}
        }
    }
    assert!(relayed <= 1, "ten frames in a moment relayed {relayed} times");

    let history = client(&bob).get(&format!("/message/history?with={}", ann.id)).await;
    assert_eq!(history.status, 200, "{}", history.text);
    assert!(!history.text.contains("typing") && !history.text.contains("NOTIFY_TYPING"), "{}", history.text);
    let pushes = || async {
        let answer = Client::new().get(&format!("/_local/push?token={token}")).await;
        answer.doc().as_array().unwrap().clone()
    };
    im_tests::eventually_within("the message's push", 30, || async { !pushes().await.is_empty() }).await;
    let delivered = pushes().await;
    assert_eq!(delivered.len(), 1, "only the message is pushed, never typing: {delivered:?}");
    assert_eq!(delivered[0]["payload"]["fcmV1Message"]["message"]["notification"]["body"], "all done");
}

#[tokio::test]
async fn a_blocked_users_typing_reaches_nobody_and_strangers_bad_frames_are_refused() {
    let (ann, cy, dee) = (new_user("ann", "web").await, new_user("cy", "web").await, new_user("dee", "web").await);
    im_tests::befriend(&ann, &cy).await;
    im_tests::befriend(&dee, &cy).await;
    let blocked = Client::new()
        .with_token(&cy.token)
        .send(
            "POST",
            "/blocks",
            None,
            Some(("application/json", json!({ "user_id": ann.id }).to_string().into_bytes())),
        )
        .await;
    assert_eq!(blocked.status, 201, "{}", blocked.text);
    let (mut a, mut c, mut d) = (socket(&ann).await, socket(&cy).await, socket(&dee).await);
    signal(&mut a, "TYPING", json!({ "with": cy.id, "state": "start" })).await;
    assert_eq!(ask(&mut a, "PING", json!({})).await["event"], "PONG", "served, and the typer is not told");
    signal(&mut d, "TYPING", json!({ "with": cy.id, "state": "start" })).await;
    let first = next_signal(&mut c).await;
    assert_eq!(first["data"]["user"], dee.id, "ann's typing never reached cy: {first}");

    // A frame that does not parse is an ERROR; one the rules refuse, a FAIL.
    for (data, event, reason) in [
        (json!({ "with": cy.id, "g_id": 1, "state": "start" }), "ERROR", "give with or g_id, not both"),
        (json!({ "state": "start" }), "ERROR", "with or g_id is required"),
        (json!({ "with": cy.id, "state": "sleeping" }), "ERROR", "state must be start or stop"),
        (json!({ "g_id": 999_999_999, "state": "start" }), "FAIL", "you are not a member of this group"),
        (json!({ "with": ann.id, "state": "start" }), "FAIL", "that is your own conversation"),
    ] {
        let refused = ask(&mut a, "TYPING", data).await;
        assert_eq!(
            (refused["event"].as_str(), refused["data"]["msg"].as_str()),
            (Some(event), Some(reason)),
            "{refused}"
        );
    }
}

#[tokio::test]
async fn a_read_moves_the_marker_and_tells_the_sender_unless_receipts_are_off() {
    let (ann, bob) = (new_user("ann", "web").await, new_user("bob", "web").await);
    im_tests::befriend(&ann, &bob).await;
    let (mut a, mut b) = (socket(&ann).await, socket(&bob).await);
    let sent = ask(&mut a, "CHAT_SEND_MSG", json!({ "user": bob.phone, "content": "read me" })).await;
    assert_eq!(sent["event"], "OK", "{sent}");
    let pushed = im_tests::next_event(&mut b, "NOTIFY_NEW_MSG").await;
    let seq = pushed["data"]["msg"]["seq"].as_u64().unwrap();
    let id = pushed["data"]["msg"]["id"].as_str().unwrap().to_string();
    assert_eq!(ask(&mut b, "CHAT_RECEIVE_MSG", json!({ "id": id })).await["event"], "OK");
    let delivered = im_tests::next_event(&mut a, "NOTIFY_DELIVERED").await;
    assert_eq!(delivered["data"], json!({ "with": bob.id, "user": bob.id, "upto": seq }), "{delivered}");
    let read = ask(&mut b, "READ", json!({ "with": ann.id, "upto": seq + 100 })).await;
    assert_eq!(
        (read["event"].as_str(), read["data"]["upto"].as_u64()),
        (Some("OK"), Some(seq)),
        "at most the head: {read}"
    );
    let told = next_signal(&mut a).await;
    assert_eq!(told, json!({ "event": "NOTIFY_READ", "data": { "with": bob.id, "user": bob.id, "upto": seq } }));
    let again = ask(&mut b, "READ", json!({ "with": ann.id, "upto": 1 })).await;
    assert_eq!(again["data"]["upto"], 1, "{again}");
    let receipts = client(&ann).get(&format!("/message/receipts?with={}", bob.id)).await;
    assert_eq!(receipts.status, 200, "{}", receipts.text);
    assert_eq!(
        receipts.doc(),
        json!([{ "user": bob.id, "delivered": seq, "read": seq }]),
        "the marker never moved back"
    );

    let off = client(&bob)
        .send("PUT", "/user/settings", None, Some(("application/json", br#"{"read_receipts": false}"#.to_vec())))
        .await;
    assert_eq!((off.status, off.doc()["settings"][0]["read_receipts"].clone()), (200, json!(false)), "{}", off.text);
    let sent = ask(&mut a, "CHAT_SEND_MSG", json!({ "user": bob.phone, "content": "unseen" })).await;
    assert_eq!(sent["event"], "OK", "{sent}");
    let seq = im_tests::next_event(&mut b, "NOTIFY_NEW_MSG").await["data"]["msg"]["seq"].as_u64().unwrap();
    let body = json!({ "with": ann.id, "upto": seq }).to_string().into_bytes();
    let read = client(&bob).send("POST", "/message/read", None, Some(("application/json", body))).await;
    assert_eq!((read.status, read.doc()["read"][0]["upto"].as_u64()), (200, Some(seq)), "{}", read.text);
    // Bob's receipts are off: ann sees no read position of his, and he sees none of anyone's.
    let seen_by_ann = client(&ann).get(&format!("/message/receipts?with={}", bob.id)).await.doc();
    assert!(seen_by_ann[0].get("read").is_none(), "{seen_by_ann}");
    let seen_by_bob = client(&bob).get(&format!("/message/receipts?with={}", ann.id)).await.doc();
    assert!(seen_by_bob[0].get("read").is_none() && seen_by_bob[0]["user"] == ann.id, "{seen_by_bob}");
    // Bob then types: the next signal ann gets is that, not a read.
    signal(&mut b, "TYPING", json!({ "with": ann.id, "state": "start" })).await;
    let next = next_signal(&mut a).await;
    assert_eq!(next["event"], "NOTIFY_TYPING", "no read receipt with receipts off: {next}");
}
