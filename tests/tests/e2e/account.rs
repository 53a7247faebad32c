//! Leaving for good and taking one's data along (issue 28, item 5), from outside: `GET
//! /user/export` holds what was sent; `DELETE /user` refuses a wrong password and changes
//! nothing, then ends the sessions and sockets, the friendships, the profile, the uploads and
//! the phone's claim, passes the groups on, and leaves the messages in the others' history.

use im_tests::{audio_url, befriend, connect, new_user, Client, User};
use serde_json::{json, Value};

fn client(user: &User) -> Client {
    Client::new().with_token(&user.token)
}

async fn delete_account(user: &User, body: Value) -> im_tests::Answer {
    let body = Some(("application/json", body.to_string().into_bytes()));
    client(user).send("DELETE", "/user", Some("application/json"), body).await
}

async fn export(user: &User) -> Value {
    let answer = client(user).send("GET", "/user/export", Some("application/json"), None).await;
    assert_eq!(answer.status, 200, "{}", answer.text);
    answer.doc()["export"].clone()
}

#[tokio::test]
async fn a_deleted_account_is_gone_but_its_messages_stay_and_its_export_held_them() {
    let (ann, bob) = (new_user("ann", "android").await, new_user("bob", "android").await);
    befriend(&ann, &bob).await;
    let sent =
        client(&ann).post_form("/message", &[("to", &bob.id.to_string()), ("id", "bye-1"), ("c", "so long")]).await;
    assert_eq!(sent.status, 200, "{}", sent.text);
    let amr = [b"#!AMR\n".as_slice(), &[0x3c; 32]].concat();
    let key = im_tests::upload_audio(&ann, &amr).await["key"].as_str().unwrap().to_string();
    let voice = client(&ann)
        .post_form("/message", &[("to", &bob.id.to_string()), ("id", "bye-2"), ("t", "audio"), ("c", &key)])
        .await;
    assert_eq!(voice.status, 200, "{}", voice.text);
    let group = client(&ann).post_form("/group", &[("members[]", &bob.id.to_string()), ("name", "farewell")]).await;
    assert_eq!(group.status, 200, "{}", group.text);
    let g_id = group.doc()["group"][0]["g_id"].as_u64().unwrap();
    let history = client(&bob).get(&format!("/message/history?with={}", ann.id)).await.doc();
    let audio_path = history["m"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["t"] == "audio")
        .and_then(|m| m["c"].as_str())
        .expect("the voice note in bob's history")
        .to_string();
    assert!(audio_url(&bob, &audio_path).await.is_ok(), "bob can play it before");
    assert!(client(&bob).get("/friends").await.text.contains(&format!("\"friend_id\":{}", ann.id)));

    // The export holds the profile, the friendship, the group and what ann sent.
    let archive = export(&ann).await;
    assert_eq!(archive["profile"]["id"], ann.id, "{archive}");
    let friends: Vec<&Value> = archive["relationships"].as_array().unwrap().iter().collect();
    assert!(friends.iter().any(|r| r["user"] == bob.id && r["friendship"] == "friend"), "{archive}");
    assert!(archive["groups"].as_array().unwrap().iter().any(|g| g["g_id"] == g_id), "{archive}");
    let texts: Vec<&str> = archive["messages"].as_array().unwrap().iter().filter_map(|m| m["c"].as_str()).collect();
    assert!(texts.contains(&"so long"), "{archive}");
    assert!(archive["messages"].as_array().unwrap().iter().any(|m| m["t"] == "audio"), "{archive}");
    assert_eq!(export(&bob).await["messages"].as_array().map(Vec::len), Some(0), "bob sent nothing");
    let in_toml = client(&ann).send("GET", "/user/export", Some("application/toml"), None).await;
    assert_eq!(in_toml.status, 200, "{}", in_toml.text);
    assert_eq!(in_toml.doc()["response"][0]["export"]["profile"]["id"], ann.id, "{}", in_toml.text);

    // A wrong password, or none, is refused and changes nothing.
    let wrong = delete_account(&ann, json!({ "password": "not-it" })).await;
    assert_eq!(wrong.status, 401, "{}", wrong.text);
    assert_eq!(delete_account(&ann, json!({})).await.status, 400);
    assert_eq!(client(&ann).get(&format!("/user/id/{}", ann.id)).await.status, 200, "still there");

    let mut socket = connect(&format!("token={}", ann.token)).await.unwrap();
    let deleted = delete_account(&ann, json!({ "password": "888888" })).await;
    assert_eq!(deleted.status, 204, "{}", deleted.text);

    assert!(im_tests::closed(&mut socket).await, "its socket closed");
    assert_eq!(client(&ann).get("/group").await.status, 401, "its token is refused");
    let login = Client::new()
        .post_form("/server/login", &[("phone", &ann.phone), ("password", "888888"), ("device", "android")])
        .await;
    assert_eq!(login.status, 401, "its login fails: {}", login.text);
    assert_eq!(client(&bob).get(&format!("/user/id/{}", ann.id)).await.status, 404);
    let friends = client(&bob).get("/friends").await;
    let listed: Vec<u64> = friends.doc().as_array().unwrap().iter().filter_map(|f| f["friend_id"].as_u64()).collect();
    assert!(!listed.contains(&ann.id), "bob's friends: {}", friends.text);
    assert_eq!(audio_url(&bob, &audio_path).await, Err(404), "its uploads are gone");
    let groups = client(&bob).get("/group").await.doc();
    let passed = im_tests::rows(&groups, "group").iter().find(|g| g["g_id"] == g_id).cloned();
    assert_eq!(passed.map(|g| g["creator"].clone()), Some(json!(bob.id)), "the group passed to bob: {groups}");
    let history = client(&bob).get(&format!("/message/history?with={}", ann.id)).await.doc();
    let kept: Vec<&str> = history["m"].as_array().unwrap().iter().filter_map(|m| m["c"].as_str()).collect();
    assert!(kept.contains(&"so long"), "ann's message stays in bob's history: {history}");

    // The phone is free again.
    let again =
        Client::new().post_form("/user", &[("phone", &ann.phone), ("name", "ann"), ("password", "888888")]).await;
    assert_eq!(again.status, 200, "{}", again.text);
    assert_ne!(again.doc()["user"][0]["id"].as_u64(), Some(ann.id), "a new account, a new id");
}

#[tokio::test]
async fn the_last_member_deletes_their_group_and_a_stranger_cannot_delete_anyone() {
    let (cid, dan) = (new_user("cid", "web").await, new_user("dan", "web").await);
    befriend(&cid, &dan).await;
    let group = client(&cid).post_form("/group", &[("members[]", &dan.id.to_string()), ("name", "alone")]).await;
    let g_id = group.doc()["group"][0]["g_id"].as_u64().unwrap();
    assert_eq!(client(&dan).send("DELETE", &format!("/group/{g_id}/member"), None, None).await.status, 200);
    // Without a session nothing is deleted.
    let anonymous = Client::new()
        .send(
            "DELETE",
            "/user",
            None,
            Some(("application/json", json!({ "password": "888888" }).to_string().into_bytes())),
        )
        .await;
    assert_eq!(anonymous.status, 401);
    assert_eq!(delete_account(&cid, json!({ "password": "888888" })).await.status, 204);
    let members = client(&dan).get(&format!("/group/{g_id}/member")).await;
    assert_eq!(members.status, 404, "the group went with its last member: {}", members.text);
    assert_eq!(client(&dan).get(&format!("/user/id/{}", dan.id)).await.status, 200, "dan is untouched");
}
