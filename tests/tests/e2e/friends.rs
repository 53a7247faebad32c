//! Seed 004: friends, follows and blocks over REST, every error code, block semantics, races.

use im_tests::{connect, new_user, next_text, unique_phone, Answer, Client, User};
use serde_json::{json, Value};

fn client(user: &User) -> Client {
    Client::new().with_token(&user.token)
}

/// A refusal's seed-004 code, which a JSON client reads at the top level, beside its message.
fn code(answer: &Answer) -> String {
    let doc = answer.doc();
    let code = doc["response"][0]["code"].as_str().unwrap_or_default().to_string();
    if !code.is_empty() {
        assert_eq!(doc["code"], json!(code), "the code at the top level: {doc}");
        assert!(doc["message"].as_str().is_some_and(|m| !m.is_empty()), "a message at the top level: {doc}");
    }
    code
}

fn ids(answer: &Answer, field: &str) -> Vec<u64> {
    let list = answer.doc();
    assert!(list.is_array(), "seed 004 lists are bare JSON arrays: {}", answer.text);
    list.as_array().unwrap().iter().map(|i| i[field].as_u64().unwrap()).collect()
}

async fn post(user: &User, path: &str, body: Value) -> Answer {
    client(user).send("POST", path, None, Some(("application/json", body.to_string().into_bytes()))).await
}

#[tokio::test]
async fn friend_requests_lists_and_their_error_codes() {
    let a = new_user("a", "android").await;
    let b = new_user("b", "android").await;
    let mut b_socket = connect(&format!("token={}", b.token)).await.unwrap();

    let sent = post(&a, "/friends/request", json!({"requested_user_id": b.id})).await;
    assert_eq!(sent.status, 201, "{}", sent.text);
    assert_eq!(sent.content_type, "application/json");
    let request_id = sent.doc()["friend_request"][0]["friend_request_id"].as_u64().unwrap();
    assert_eq!(
        serde_json::from_str::<Value>(&next_text(&mut b_socket).await).unwrap()["data"]["friend_request_id"],
        json!(request_id)
    );

    let received = client(&b).get("/friends/request").await;
    assert_eq!(received.status, 200);
    let item = &received.doc()[0];
    assert_eq!((item["friend_request_id"].as_u64(), item["request_user_id"].as_u64()), (Some(request_id), Some(a.id)));
    assert_eq!(item["request_user_name"], "a");
    assert!(item["created_at"].as_str().unwrap().contains('T'));
    assert_eq!(ids(&client(&a).get("/friends/request_sent").await, "requested_user_id"), vec![b.id]);

    assert_eq!(code(&post(&a, "/friends/request", json!({"requested_user_id": 99_999_999})).await), "404-3");
    assert_eq!(code(&post(&a, "/friends/request", json!({"requested_user_id": a.id})).await), "400-23");
    let twice = post(&a, "/friends/request", json!({"requested_user_id": b.id})).await;
    assert_eq!((twice.status, code(&twice)), (400, "400-20".to_string()));
    let resent = post(&a, "/friends/request", json!({"requested_user_id": b.id, "resend": true})).await;
    assert_eq!(resent.status, 201);
    assert_eq!(
        serde_json::from_str::<Value>(&next_text(&mut b_socket).await).unwrap()["data"]["t"],
        "add_contact",
        "resend pushes again"
    );
    assert_eq!(code(&post(&b, "/friends/request", json!({"requested_user_id": a.id})).await), "400-22");
    assert_eq!(code(&post(&b, "/friends/accept", json!({"friend_request_id": request_id + 1000})).await), "404-12");

    let accepted = post(&b, "/friends/accept", json!({"friend_request_id": request_id, "requested_user_id": 1})).await;
    assert_eq!(accepted.status, 201, "the id wins over requested_user_id: {}", accepted.text);
    assert_eq!(ids(&client(&a).get("/friends").await, "friend_id"), vec![b.id]);
    assert_eq!(ids(&client(&b).get("/friends").await, "friend_id"), vec![a.id]);
    assert!(ids(&client(&b).get("/friends/request").await, "friend_request_id").is_empty());
    assert_eq!(code(&post(&a, "/friends/request", json!({"requested_user_id": b.id})).await), "400-21");
    assert_eq!(code(&post(&b, "/friends/accept", json!({"friend_request_id": request_id})).await), "404-12");

    let removed = client(&a).send("DELETE", &format!("/friends/{}", b.id), None, None).await;
    assert_eq!((removed.status, removed.text.as_str()), (204, ""));
    assert!(ids(&client(&b).get("/friends").await, "friend_id").is_empty());
    let toml = client(&a).send("GET", "/friends", Some("application/toml"), None).await;
    assert_eq!(toml.doc()["response"][0]["status"], 0, "TOML wraps the list: {}", toml.text);
}

#[tokio::test]
async fn ignore_withdraw_and_accept_by_user() {
    let a = new_user("a", "android").await;
    let b = new_user("b", "android").await;
    post(&a, "/friends/request", json!({"requested_user_id": b.id})).await;
    assert_eq!(code(&post(&b, "/friends/withdraw", json!({"requested_user_id": a.id})).await), "403-6");
    let ignored = post(&b, "/friends/ignore", json!({"requested_user_id": a.id})).await;
    assert_eq!(ignored.status, 201);
    assert!(ids(&client(&a).get("/friends/request_sent").await, "requested_user_id").is_empty());
    assert_eq!(code(&post(&b, "/friends/ignore", json!({"requested_user_id": a.id})).await), "404-12");

    post(&a, "/friends/request", json!({"requested_user_id": b.id})).await;
    let mut b_socket = connect(&format!("token={}", b.token)).await.unwrap();
    assert_eq!(post(&a, "/friends/withdraw", json!({"requested_user_id": b.id})).await.status, 201);
    assert!(ids(&client(&b).get("/friends/request").await, "friend_request_id").is_empty());
    assert_eq!(code(&post(&a, "/friends/withdraw", json!({"requested_user_id": b.id})).await), "404-12");
    // Withdrawal pushes nothing to b: the next frame b gets answers its own ping.
    im_tests::send_text(&mut b_socket, r#"{"event":"PING"}"#).await;
    assert!(next_text(&mut b_socket).await.contains("PONG"));

    post(&a, "/friends/request", json!({"requested_user_id": b.id})).await;
    assert_eq!(post(&b, "/friends/accept", json!({"requested_user_id": a.id})).await.status, 201);
    assert_eq!(ids(&client(&a).get("/friends").await, "friend_id"), vec![b.id]);
    assert_eq!(post(&a, "/friends/accept", json!({})).await.status, 400);
    assert_eq!(post(&a, "/friends/accept", json!({"requested_user_id": "x"})).await.status, 400);
}

#[tokio::test]
async fn follows_and_their_error_codes() {
    let a = new_user("a", "android").await;
    let b = new_user("b", "android").await;
    assert_eq!(post(&a, "/follows", json!({"followee_id": b.id})).await.status, 201);
    assert_eq!(code(&post(&a, "/follows", json!({"followee_id": b.id})).await), "400-18");
    assert_eq!(code(&post(&a, "/follows", json!({"followee_id": a.id})).await), "400-17");
    assert_eq!(code(&post(&a, "/follows", json!({"followee_id": 99_999_999})).await), "404-3");
    assert_eq!(ids(&client(&a).get(&format!("/follows/{}/follower", b.id)).await, "follower_id"), vec![a.id]);
    assert_eq!(ids(&client(&b).get(&format!("/follows/{}/followee", a.id)).await, "followee_id"), vec![b.id]);
    let followers = client(&b).get(&format!("/follows/{}/follower", b.id)).await;
    assert_eq!(followers.doc()[0]["follower_user_name"], "a");
    assert_eq!(code(&client(&a).get("/follows/abc/follower").await), "400-3");
    assert_eq!(code(&client(&a).get("/follows/99999999/followee").await), "404-3");
    assert_eq!(client(&a).send("DELETE", &format!("/follows/{}", b.id), None, None).await.status, 204);
    assert_eq!(code(&client(&a).send("DELETE", &format!("/follows/{}", b.id), None, None).await), "400-19");
    assert_eq!(code(&client(&a).send("DELETE", "/follows/abc", None, None).await), "400-3");
    assert!(ids(&client(&a).get(&format!("/follows/{}/follower", b.id)).await, "follower_id").is_empty());
}

#[tokio::test]
async fn blocks_keep_friends_clear_requests_and_refuse_the_blocked() {
    let a = new_user("a", "android").await;
    let friend = new_user("friend", "android").await;
    let asker = new_user("asker", "android").await;
    post(&friend, "/friends/request", json!({"requested_user_id": a.id})).await;
    post(&a, "/friends/accept", json!({"requested_user_id": friend.id})).await;
    post(&asker, "/friends/request", json!({"requested_user_id": a.id})).await;
    post(&asker, "/follows", json!({"followee_id": a.id})).await;

    assert_eq!(post(&a, "/blocks", json!({"user_id": friend.id})).await.status, 201);
    assert_eq!(post(&a, "/blocks", json!({"user_id": asker.id})).await.status, 201);
    assert_eq!(ids(&client(&a).get("/friends").await, "friend_id"), vec![friend.id], "friends stay friends");
    assert_eq!(ids(&client(&friend).get("/friends").await, "friend_id"), vec![a.id]);
    assert!(ids(&client(&a).get("/friends/request").await, "friend_request_id").is_empty(), "requests cleared");
    assert!(ids(&client(&asker).get("/friends/request_sent").await, "requested_user_id").is_empty());
    assert!(ids(&client(&a).get(&format!("/follows/{}/follower", a.id)).await, "follower_id").is_empty());
    let mut blocked = ids(&client(&a).get("/blocks").await, "user_id");
    blocked.sort();
    let mut expected = vec![friend.id, asker.id];
    expected.sort();
    assert_eq!(blocked, expected);
    assert!(client(&a).get("/blocks").await.doc()[0]["user_name"].is_string());

    assert_eq!(code(&post(&asker, "/friends/request", json!({"requested_user_id": a.id})).await), "400-6");
    assert_eq!(code(&post(&asker, "/follows", json!({"followee_id": a.id})).await), "400-6");
    assert_eq!(code(&post(&a, "/blocks", json!({"user_id": a.id})).await), "400-16");
    assert_eq!(code(&client(&a).send("DELETE", "/blocks/99999999", None, None).await), "404-3");
    assert_eq!(client(&a).send("DELETE", &format!("/blocks/{}", asker.id), None, None).await.status, 204);
    assert_eq!(post(&asker, "/friends/request", json!({"requested_user_id": a.id})).await.status, 201);
}

#[tokio::test]
async fn privacy_flags_apply_to_lists() {
    let phone = unique_phone();
    let shy = Client::new()
        .post_form(
            "/user",
            &[
                ("phone", &phone),
                ("name", "shy"),
                ("password", "888888"),
                ("age", "20"),
                ("show_user_name", "false"),
                ("show_age", "false"),
            ],
        )
        .await;
    let shy_id = shy.doc()["user"][0]["id"].as_u64().unwrap();
    let shy = User { id: shy_id, phone: phone.clone(), token: im_tests::login(&phone, "android").await };
    let other = new_user("other", "android").await;
    post(&shy, "/friends/request", json!({"requested_user_id": other.id})).await;
    let seen = &client(&other).get("/friends/request").await.doc()[0];
    assert_eq!(seen["request_user_name"], Value::Null);
    assert_eq!(seen["request_user_age"], Value::Null);
    assert_eq!(seen["request_user_id"], json!(shy_id));
}

#[tokio::test]
async fn block_racing_accept_and_accept_racing_withdraw_stay_consistent() {
    for round in 0..6 {
        let a = new_user("a", "android").await;
        let b = new_user("b", "android").await;
        post(&a, "/friends/request", json!({"requested_user_id": b.id})).await;
        let (x, y) = if round % 2 == 0 {
            tokio::join!(
                post(&b, "/friends/accept", json!({"requested_user_id": a.id})),
                post(&a, "/blocks", json!({"user_id": b.id}))
            )
        } else {
            tokio::join!(
                post(&b, "/friends/accept", json!({"requested_user_id": a.id})),
                post(&a, "/friends/withdraw", json!({"requested_user_id": b.id}))
            )
        };
        assert!(x.status < 500 && y.status < 500, "{} / {}", x.text, y.text);
        let fa = ids(&client(&a).get("/friends").await, "friend_id");
        let fb = ids(&client(&b).get("/friends").await, "friend_id");
        assert_eq!(fa.is_empty(), fb.is_empty(), "both sides agree");
        assert_eq!(fa.is_empty(), x.status != 201, "friends exactly when the accept won");
        assert!(
            ids(&client(&b).get("/friends/request").await, "friend_request_id").is_empty(),
            "no request left pending"
        );
    }
}

/// Seed 004's "sync" count of friend requests, and the flags its block rules name
/// (`is_friend`, `friend_requested`, `friend_requested_by`) as `GET /user/id` shows them.
#[tokio::test]
async fn the_request_count_and_the_relationship_flags_the_block_rules_name() {
    let a = new_user("a", "android").await;
    let b = new_user("b", "android").await;
    let c = new_user("c", "android").await;
    assert_eq!(post(&a, "/friends/request", json!({"requested_user_id": b.id})).await.status, 201);
    assert_eq!(post(&c, "/friends/request", json!({"requested_user_id": b.id})).await.status, 201);
    let offline = client(&b).send("GET", "/offline", Some("application/json"), None).await.doc();
    assert_eq!(offline["response"][0]["friend_request"], 2, "{offline}");
    let mut socket = connect(&format!("token={}", b.token)).await.unwrap();
    im_tests::send_text(&mut socket, r#"{"event":"SYNC"}"#).await;
    assert_eq!(serde_json::from_str::<Value>(&next_text(&mut socket).await).unwrap()["data"]["friend_request"], 2);

    let flags = |viewer: &User, other: &User| {
        let path = format!("/user/id/{}", other.id);
        let client = client(viewer);
        async move {
            let user = client.send("GET", &path, Some("application/json"), None).await.doc()["user"][0].clone();
            (user["is_friend"].as_bool(), user["friend_requested"].as_bool(), user["friend_requested_by"].as_bool())
        }
    };
    assert_eq!(flags(&a, &b).await, (Some(false), Some(true), Some(false)));
    assert_eq!(flags(&b, &a).await, (Some(false), Some(false), Some(true)));
    assert_eq!(post(&b, "/friends/accept", json!({"requested_user_id": a.id})).await.status, 201);
    assert_eq!(post(&b, "/blocks", json!({"user_id": a.id})).await.status, 201);
    assert_eq!(flags(&b, &a).await, (Some(true), Some(false), Some(false)), "is_friend stays true after a block");
    assert_eq!(post(&b, "/blocks", json!({"user_id": c.id})).await.status, 201);
    assert_eq!(flags(&b, &c).await, (Some(false), Some(false), Some(false)), "the request is gone");
    let own = client(&a).send("GET", &format!("/user/id/{}", a.id), Some("application/json"), None).await.doc();
    assert!(own["user"][0].get("is_friend").is_none(), "no flags about oneself");
}

/// Asking someone is not a way to learn their email: `request_sent` leaves it out, while the
/// asked side sees the asker's (they chose to reveal themselves).
#[tokio::test]
async fn a_friend_request_does_not_harvest_the_askeds_email() {
    let asker = new_user("asker", "android").await;
    let email = format!("target{}@example.com", unique_phone());
    let created =
        Client::new().post_form("/user", &[("email", &email), ("name", "target"), ("password", "888888")]).await;
    assert_eq!(created.status, 200, "{}", created.text);
    let target_id = created.doc()["user"][0]["id"].as_u64().unwrap();
    assert_eq!(post(&asker, "/friends/request", json!({"requested_user_id": target_id})).await.status, 201);
    let sent = client(&asker).get("/friends/request_sent").await.doc();
    assert_eq!(sent[0]["requested_user_id"], json!(target_id));
    assert_eq!(sent[0]["requested_email"], json!(""), "a string, and a stranger's email never leaks: {sent}");
}
