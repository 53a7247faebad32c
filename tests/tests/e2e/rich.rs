//! Rich messages (issue 26) from outside, through the local gateways: edits, deletes for
//! everyone and for oneself, reactions and replies, seen in history, in the sync of a device
//! that was offline meanwhile, on live sockets and in pushes.

use im_tests::{ask, befriend, connect, new_user, Client, User};
use serde_json::{json, Value};

fn client(user: &User) -> Client {
    Client::new().with_token(&user.token)
}

/// Sends a text over HTTP; answers its server id.
async fn send(from: &User, to: &User, id: &str, text: &str, reply_to: Option<&str>) -> Value {
    let mut body = json!({ "to": to.id, "id": id, "c": text });
    if let Some(reply_to) = reply_to {
        body["reply_to"] = json!(reply_to);
    }
    let sent = client(from).post_json("/message", &body).await;
    json!({ "status": sent.status, "sid": sent.doc()["message"][0]["sid"], "text": sent.text })
}

async fn sid(from: &User, to: &User, id: &str, text: &str) -> String {
    let sent = send(from, to, id, text, None).await;
    assert_eq!(sent["status"], 200, "{sent}");
    sent["sid"].as_str().expect("a server id").to_string()
}

/// The messages of a conversation as `reader` reads its history (JSON).
async fn history(reader: &User, with: &User) -> Vec<Value> {
    let path = format!("/message/history?with={}", with.id);
    let doc = client(reader).send("GET", &path, Some("application/json"), None).await.doc();
    doc["m"].as_array().cloned().unwrap_or_default()
}

fn by_id<'a>(messages: &'a [Value], id: &str) -> Option<&'a Value> {
    messages.iter().find(|m| m["id"] == id)
}

/// What a device has not confirmed (`GET /offline`, JSON), then confirmed.
async fn drain_offline(device: &Client) -> Value {
    let offline = device.send("GET", "/offline", Some("application/json"), None).await;
    assert_eq!(offline.status, 200, "{}", offline.text);
    assert_eq!(device.send("DELETE", "/offline", None, None).await.status, 200);
    offline.doc()
}

/// Moves a stored message's send time back by `secs`, as if it had been sent that long ago.
async fn age(sid: &str, secs: u64) {
    let (stream, seq) = sid.rsplit_once(':').expect("a message id");
    let item = im_tests::dynamodb()
        .get_item()
        .table_name("ConversationsTable")
        .key("pk", aws_sdk_dynamodb::types::AttributeValue::S(stream.into()))
        .key("sk", aws_sdk_dynamodb::types::AttributeValue::N(seq.into()))
        .send()
        .await
        .expect("the message item");
    let ts: u64 = item.item.unwrap()["body"].as_m().unwrap()["ts"].as_n().unwrap().parse().unwrap();
    im_tests::dynamodb()
        .update_item()
        .table_name("ConversationsTable")
        .key("pk", aws_sdk_dynamodb::types::AttributeValue::S(stream.into()))
        .key("sk", aws_sdk_dynamodb::types::AttributeValue::N(seq.into()))
        .update_expression("SET body.ts = :ts")
        .expression_attribute_values(":ts", aws_sdk_dynamodb::types::AttributeValue::N((ts - secs).to_string()))
        .send()
        .await
        .expect("the message aged");
}

#[tokio::test]
async fn an_edit_shows_in_history_and_in_the_sync_of_a_device_offline_during_it() {
    let (ann, bob) = (new_user("ann", "web").await, new_user("bob", "web").await);
    befriend(&ann, &bob).await;
    let phone_token = im_tests::login(&bob.phone, "phone").await;
    let phone = Client::new().with_token(&phone_token);
    let id = sid(&ann, &bob, "e1", "see you at 5").await;
    let first = drain_offline(&phone).await;
    assert!(first["m"].to_string().contains("see you at 5"), "{first}");

    // The phone is away; ann fixes her message. Bob's open web socket hears it at once.
    let mut bobs_socket = connect(&format!("token={}", bob.token)).await.unwrap();
    let edited = client(&ann)
        .send(
            "PATCH",
            "/message",
            None,
            Some(("application/json", json!({ "id": id, "c": "see you at 6" }).to_string().into_bytes())),
        )
        .await;
    assert_eq!(edited.status, 200, "{}", edited.text);
    assert_eq!(edited.doc()["message"][0]["c"], "see you at 6");
    let live = im_tests::next_event(&mut bobs_socket, "NOTIFY_EDIT_MSG").await;
    assert_eq!(
        (live["data"]["msg_id"].as_str(), live["data"]["c"].as_str()),
        (Some(id.as_str()), Some("see you at 6"))
    );
    let shown = history(&bob, &ann).await;
    let message = by_id(&shown, &id).expect("the message in bob's history");
    assert_eq!(message["c"], "see you at 6");
    assert!(message["edited_at"].as_u64().is_some(), "{message}");
    let synced = drain_offline(&phone).await;
    let notice = synced["n"].as_array().and_then(|n| n.iter().find(|n| n["t"] == "edit_message")).cloned();
    let notice = notice.unwrap_or_else(|| panic!("the phone learns the edit in sync: {synced}"));
    assert_eq!((notice["msg_id"].as_str(), notice["c"].as_str()), (Some(id.as_str()), Some("see you at 6")));

    // Refused: bob editing ann's message, an edit of a voice note, an edit past the window.
    let patch = |user: &User, id: &str, c: &str| {
        let body = json!({ "id": id, "c": c }).to_string().into_bytes();
        let client = client(user);
        async move { client.send("PATCH", "/message", None, Some(("application/json", body))).await.status }
    };
    assert_eq!(patch(&bob, &id, "mine now").await, 403);
    let upload = im_tests::upload_audio(&ann, b"#!AMR\n\x00\x01").await;
    let voice = client(&ann)
        .post_json("/message", &json!({ "to": bob.id, "id": "v1", "t": "audio", "c": upload["key"] }))
        .await;
    assert_eq!(voice.status, 200, "{}", voice.text);
    let voice = voice.doc()["message"][0]["sid"].as_str().unwrap().to_string();
    assert_eq!(patch(&ann, &voice, "words").await, 400);
    age(&id, 3 * 24 * 3600).await;
    assert_eq!(patch(&ann, &id, "too late").await, 403);
    assert_eq!(by_id(&history(&bob, &ann).await, &id).unwrap()["c"], "see you at 6", "refusals change nothing");
}

#[tokio::test]
async fn a_deleted_message_is_a_tombstone_in_history_and_in_the_sync_of_an_offline_device() {
    let (ann, bob) = (new_user("ann", "web").await, new_user("bob", "web").await);
    befriend(&ann, &bob).await;
    let phone = Client::new().with_token(&im_tests::login(&bob.phone, "phone").await);
    let gone = sid(&ann, &bob, "d1", "wrong chat").await;
    let kept = sid(&ann, &bob, "d2", "hello").await;
    drain_offline(&phone).await;

    let delete = |user: &User, query: String| {
        let client = client(user);
        async move { client.send("DELETE", &format!("/message?{query}"), None, None).await.status }
    };
    let escaped = |id: &str| id.replace('#', "%23").replace(':', "%3A");
    assert_eq!(delete(&bob, format!("id={}", escaped(&gone))).await, 403, "only the sender deletes for everyone");
    assert_eq!(delete(&ann, format!("id={}", escaped(&gone))).await, 204);
    assert_eq!(delete(&ann, format!("id={}", escaped(&gone))).await, 409, "deleted once");
    let shown = history(&bob, &ann).await;
    let tombstone = by_id(&shown, &gone).expect("the tombstone keeps its place");
    assert_eq!((tombstone["deleted"].as_bool(), tombstone["c"].as_str()), (Some(true), Some("")));
    let synced = drain_offline(&phone).await;
    let told =
        synced["n"].as_array().is_some_and(|n| n.iter().any(|n| n["t"] == "delete_message" && n["msg_id"] == gone));
    assert!(told, "the phone learns the delete in sync: {synced}");

    // For me: bob hides ann's other message from his own history; ann still has it.
    assert_eq!(delete(&bob, format!("id={}&for=me", escaped(&kept))).await, 204);
    assert_eq!(delete(&bob, format!("id={}&for=me", escaped(&kept))).await, 409);
    assert!(by_id(&history(&bob, &ann).await, &kept).is_none());
    assert_eq!(by_id(&history(&ann, &bob).await, &kept).unwrap()["c"], "hello");
    assert_eq!(delete(&ann, format!("id={}&for=them", escaped(&kept))).await, 400);
}

#[tokio::test]
async fn reactions_show_as_counts_with_mine_and_reach_the_other_socket() {
    let (ann, bob) = (new_user("ann", "web").await, new_user("bob", "web").await);
    befriend(&ann, &bob).await;
    let id = sid(&ann, &bob, "r1", "pizza tonight?").await;
    let mut bobs = connect(&format!("token={}", bob.token)).await.unwrap();
    let mut anns = connect(&format!("token={}", ann.token)).await.unwrap();

    let react = |user: &User, emoji: &str, on: bool| {
        let body = json!({ "id": id, "emoji": emoji, "on": on });
        let client = client(user);
        async move { client.post_json("/message/reaction", &body).await }
    };
    assert_eq!(react(&ann, "👍", true).await.status, 200);
    let live = im_tests::next_event(&mut bobs, "NOTIFY_REACTION").await;
    assert_eq!((live["data"]["emoji"].as_str(), live["data"]["count"].as_u64()), (Some("👍"), Some(1)), "{live}");
    let answer = ask(&mut bobs, "CHAT_REACT", json!({ "id": id, "emoji": "👍" })).await;
    assert_eq!(answer["data"]["msg"]["reactions"]["👍"], json!({ "count": 2, "mine": true }), "{answer}");
    assert_eq!(im_tests::next_event(&mut anns, "NOTIFY_REACTION").await["data"]["user"], bob.id);
    let ann_sees = by_id(&history(&ann, &bob).await, &id).unwrap()["reactions"].clone();
    assert_eq!(ann_sees["👍"], json!({ "count": 2, "mine": true }));

    assert_eq!(react(&ann, "👍", false).await.status, 200);
    assert_eq!(react(&bob, "👍", false).await.status, 200);
    assert!(by_id(&history(&bob, &ann).await, &id).unwrap().get("reactions").is_none(), "toggled off, gone");
    for not_one_emoji in ["yes", "👍👍", ""] {
        assert_eq!(react(&bob, not_one_emoji, true).await.status, 400, "{not_one_emoji:?}");
    }
}

#[tokio::test]
async fn a_reply_carries_its_quote_through_history_and_push_and_stays_in_its_conversation() {
    let (ann, bob, cy) = (new_user("ann", "web").await, new_user("bob", "android").await, new_user("cy", "web").await);
    befriend(&ann, &bob).await;
    befriend(&ann, &cy).await;
    let token = format!("fcm-reply-{}:APA91bH", bob.id);
    let body = json!({ "platform": "fcm", "token": token }).to_string().into_bytes();
    let registered = client(&bob).send("PUT", "/device/push", None, Some(("application/json", body))).await;
    assert_eq!(registered.status, 200, "{}", registered.text);

    let question = sid(&bob, &ann, "q1", "Are we still on for Saturday's hike up the ridge?").await;
    let reply = sid(&ann, &bob, "a1", "Yes!").await;
    let answer = send(&ann, &bob, "a2", "Bring water", Some(&question)).await;
    assert_eq!(answer["status"], 200, "{answer}");
    let answer_id = answer["sid"].as_str().unwrap();
    let shown = history(&bob, &ann).await;
    let quoted = by_id(&shown, answer_id).expect("the reply in history");
    assert_eq!(
        (quoted["reply_to"].as_str(), quoted["reply_snippet"].as_str()),
        (Some(question.as_str()), Some("Are we still on for Saturday's hike up the ridge?")),
        "{quoted}"
    );
    assert!(by_id(&shown, &reply).unwrap().get("reply_to").is_none());

    let pushes = || async {
        Client::new().get(&format!("/_local/push?token={token}")).await.doc().as_array().cloned().unwrap_or_default()
    };
    let pushed_reply = |pushes: &[Value]| {
        pushes
            .iter()
            .find(|p| p["payload"]["fcmV1Message"]["message"]["data"]["reply_to"] == question.as_str())
            .cloned()
    };
    im_tests::eventually_within("the reply's push", 30, || async { pushed_reply(&pushes().await).is_some() }).await;
    let data = pushed_reply(&pushes().await).unwrap()["payload"]["fcmV1Message"]["message"]["data"].clone();
    assert_eq!(data["reply_snippet"], "Are we still on for Saturday's hike up the ridge?", "{data}");

    // A reply to a message of another conversation is refused and stores nothing.
    let elsewhere = send(&ann, &cy, "x1", "hi", Some(&question)).await;
    assert_eq!(elsewhere["status"], 400, "{elsewhere}");
    assert!(history(&cy, &ann).await.is_empty());
    // The quoted message deleted: the reply quotes its tombstone.
    let escaped = question.replace('#', "%23").replace(':', "%3A");
    assert_eq!(client(&bob).send("DELETE", &format!("/message?id={escaped}"), None, None).await.status, 204);
    let requoted = by_id(&history(&ann, &bob).await, answer_id).unwrap().clone();
    assert_eq!(
        (requoted["reply_to"].as_str(), requoted["reply_snippet"].as_str()),
        (Some(question.as_str()), Some(""))
    );
}
