//! Presence (issue 25), over real sockets through the local gateway: a friend who subscribed
//! hears the first socket opening and the last closing (with `last_seen`), a stranger learns
//! nothing, and `presence = "nobody"` tells friends nothing either.

use im_tests::{ask, connect, new_user, Client, Socket, User};
use serde_json::{json, Value};

async fn socket(user: &User) -> Socket {
    connect(&format!("token={}", user.token)).await.expect("the socket opens")
}

async fn close(mut socket: Socket) {
    socket.close(None).await.ok();
}

/// The next `NOTIFY_PRESENCE` on a socket, past any other frame.
async fn next_presence(socket: &mut Socket) -> Value {
    im_tests::next_event(socket, "NOTIFY_PRESENCE").await["data"].clone()
}

#[tokio::test]
async fn a_friend_hears_the_first_socket_open_and_the_last_close_and_a_stranger_nothing() {
    let (ann, bob, eve) = (new_user("ann", "web").await, new_user("bob", "web").await, new_user("eve", "web").await);
    im_tests::befriend(&ann, &bob).await;
    let mut b = socket(&bob).await;
    let subscribed = ask(&mut b, "PRESENCE_SUBSCRIBE", json!({ "users": [ann.id, eve.id] })).await;
    assert_eq!(subscribed["event"], "OK", "{subscribed}");
    assert_eq!(
        subscribed["data"]["users"],
        json!([{ "user": ann.id, "online": false, "last_seen": 0 }]),
        "eve is no friend"
    );
    let mut e = socket(&eve).await;
    let stranger = ask(&mut e, "PRESENCE_SUBSCRIBE", json!({ "users": [ann.id] })).await;
    assert_eq!(stranger["data"]["users"], json!([]), "a stranger learns nothing: {stranger}");

    let a = socket(&ann).await;
    assert_eq!(next_presence(&mut b).await, json!({ "user": ann.id, "online": true, "last_seen": 0 }));
    let second = socket(&ann).await;
    close(a).await;
    close(second).await;
    let offline = next_presence(&mut b).await;
    assert_eq!((offline["user"].as_u64(), offline["online"].as_bool()), (Some(ann.id), Some(false)), "{offline}");
    assert!(offline["last_seen"].as_u64().unwrap() > 1_700_000_000, "{offline}");
    // The stranger heard nothing: every frame before the answer to a PING sent now.
    im_tests::send_text(&mut e, &json!({ "event": "PING", "data": {} }).to_string()).await;
    let mut heard = vec![];
    loop {
        let frame: Value = serde_json::from_str(&im_tests::next_text(&mut e).await).unwrap();
        if frame["event"] == "PONG" {
            break;
        }
        heard.push(frame);
    }
    assert!(heard.iter().all(|f| f["event"] != "NOTIFY_PRESENCE"), "the stranger heard: {heard:?}");
}

#[tokio::test]
async fn presence_shown_to_nobody_tells_friends_nothing() {
    let (ann, bob, cy) = (new_user("ann", "web").await, new_user("bob", "web").await, new_user("cy", "web").await);
    im_tests::befriend(&ann, &bob).await;
    im_tests::befriend(&cy, &bob).await;
    let body = br#"{"presence": "nobody"}"#.to_vec();
    let hidden = Client::new()
        .with_token(&ann.token)
        .send("PUT", "/user/settings", None, Some(("application/json", body)))
        .await;
    assert_eq!(
        (hidden.status, hidden.doc()["settings"][0]["presence"].clone()),
        (200, json!("nobody")),
        "{}",
        hidden.text
    );
    let mut b = socket(&bob).await;
    let subscribed = ask(&mut b, "PRESENCE_SUBSCRIBE", json!({ "users": [ann.id, cy.id] })).await;
    assert_eq!(
        subscribed["data"]["users"],
        json!([{ "user": cy.id, "online": false, "last_seen": 0 }]),
        "{subscribed}"
    );
    let a = socket(&ann).await;
    close(a).await;
    let _c = socket(&cy).await;
    assert_eq!(next_presence(&mut b).await["user"], cy.id, "ann's comings and goings were never told");
    let bad = Client::new()
        .with_token(&ann.token)
        .send("PUT", "/user/settings", None, Some(("application/json", br#"{"presence": "everyone"}"#.to_vec())))
        .await;
    assert_eq!((bad.status, bad.reason()), (400, "presence must be friends or nobody".to_string()), "{}", bad.text);
}
