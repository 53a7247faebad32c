//! The abuse suite, second round (issue 21), what an account can reach: no private email
//! through contact keys, no walking the id space, no flood through deletes or group churn, no
//! deleting someone else's voice note, no resurrected group. Each attack runs from outside.

use im_tests::{ask, befriend, connect, new_user, next_event, Answer, Client, User};
use serde_json::json;

fn client(user: &User) -> Client {
    Client::new().with_token(&user.token)
}

async fn new_group(creator: &User, members: &[&User], client_id: &str) -> Answer {
    let mut form: Vec<(&str, String)> = members.iter().map(|m| ("members[]", m.id.to_string())).collect();
    form.extend([("name", "g".to_string()), ("id", client_id.to_string())]);
    let form: Vec<(&str, &str)> = form.iter().map(|(k, v)| (*k, v.as_str())).collect();
    client(creator).post_form("/group", &form).await
}

#[tokio::test]
async fn a_friend_request_never_harvests_the_email_given_beside_a_phone() {
    let (phone, email) = (im_tests::unique_phone(), format!("private{}@example.com", im_tests::unique_phone()));
    let fields = [("phone", phone.as_str()), ("email", email.as_str()), ("name", "victim"), ("password", "888888")];
    assert_eq!(Client::new().post_form("/user", &fields).await.status, 200);
    let harvester = new_user("harvester", "android").await;
    let mut own_socket = connect(&format!("token={}&format=json", harvester.token)).await.unwrap();
    let mut echo_socket = connect(&format!("token={}&format=json&device=tablet", harvester.token)).await.unwrap();
    assert_eq!(ask(&mut own_socket, "CREATE_CONTACT", json!({ "user": phone })).await["event"], "OK");
    let echo = next_event(&mut echo_socket, "NOTIFY_UPDATE_CONTACT").await;
    assert!(!echo.to_string().contains(&email), "the actor's echo: {echo}");
    let unread = ask(&mut own_socket, "LIST_CONTACTS_UNREAD", json!({})).await;
    assert_eq!(unread["data"]["contacts"], json!({ phone.clone(): 0 }), "keyed by the phone they looked up");
    assert!(!unread.to_string().contains(&email));
}

#[tokio::test]
async fn walking_user_ids_is_cut_after_100_look_ups_of_strangers() {
    let (walker, friend) = (new_user("walker", "android").await, new_user("friend", "a").await);
    let phone = im_tests::unique_phone();
    let private = [("phone", phone.as_str()), ("name", "private"), ("password", "888888"), ("show_phone", "false")];
    let created = Client::new().post_form("/user", &private).await;
    assert_eq!(created.status, 200, "{}", created.text);
    let stranger = User { id: created.doc()["user"][0]["id"].as_u64().unwrap(), phone, token: String::new() };
    befriend(&walker, &friend).await;
    let seen = client(&walker).get(&format!("/user/id/{}", stranger.id)).await;
    assert_eq!(seen.status, 200);
    assert!(!seen.text.contains(&stranger.phone), "show_phone = false hides it from strangers: {}", seen.text);
    for miss in 1..100 {
        assert_eq!(client(&walker).get(&format!("/user/id/{}", 900_000_000 + miss)).await.status, 404);
    }
    let past = client(&walker).get(&format!("/user/id/{}", stranger.id)).await;
    assert_eq!(past.status, 429, "misses count too: {}", past.text);
    assert!(past.headers.contains_key("retry-after"));
    let known = client(&walker).get(&format!("/user/id/{}", friend.id)).await;
    assert_eq!(known.status, 200, "contacts are looked up freely");
    assert!(known.text.contains(&friend.phone), "and a contact's phone is shown");
}

#[tokio::test]
async fn deleting_a_message_again_or_through_a_block_is_refused() {
    let (sender, victim) = (new_user("sender", "android").await, new_user("victim", "android").await);
    befriend(&sender, &victim).await;
    let mut socket = connect(&format!("token={}&format=json", sender.token)).await.unwrap();
    let mut sids = vec![];
    for text in ["one", "two"] {
        let sent = ask(&mut socket, "CHAT_SEND_MSG", json!({ "user": victim.id, "content": text })).await;
        assert_eq!(sent["event"], "OK", "{sent}");
        sids.push(sent["data"]["id"].as_str().unwrap().to_string());
    }
    assert_eq!(ask(&mut socket, "CHAT_DELETE", json!({ "id": sids[0] })).await["event"], "OK");
    let again = ask(&mut socket, "CHAT_DELETE", json!({ "id": sids[0] })).await;
    assert_eq!(again["event"], "FAIL", "only once: {again}");
    let body = Some(("application/json", json!({ "user_id": sender.id }).to_string().into_bytes()));
    assert_eq!(client(&victim).send("POST", "/blocks", None, body).await.status, 201);
    let through = ask(&mut socket, "CHAT_DELETE", json!({ "id": sids[1] })).await;
    assert_eq!(through["event"], "FAIL", "not across a block: {through}");
    let feed = client(&victim).get("/offline").await;
    assert_eq!(feed.text.matches("delete_message").count(), 1, "one notice reached the victim: {}", feed.text);
}

#[tokio::test]
async fn a_text_naming_someone_elses_voice_note_does_not_delete_it() {
    let (a, b) = (new_user("a", "android").await, new_user("b", "android").await);
    befriend(&a, &b).await;
    let mut amr = b"#!AMR\n".to_vec();
    amr.extend([7u8; 500]);
    let upload = im_tests::upload_audio(&a, &amr).await;
    let key = upload["key"].as_str().unwrap();
    let voice = [("to", b.id.to_string()), ("id", "v".into()), ("t", "audio".into()), ("c", key.into())];
    let voice: Vec<(&str, &str)> = voice.iter().map(|(k, v)| (*k, v.as_str())).collect();
    assert_eq!(client(&a).post_form("/message", &voice).await.status, 200);
    let history = client(&b).get(&format!("/message/history?with={}", a.id)).await.doc();
    let path = history["m"][0]["c"].as_str().unwrap().to_string();

    // b, a recipient, names the file in a text to a group of b's own, then deletes that text.
    let g_id = new_group(&b, &[], "bait").await.doc()["group"][0]["g_id"].as_u64().unwrap();
    let bait = [("g_id", g_id.to_string()), ("id", "bait".into()), ("t", "text".into()), ("c", path.clone())];
    let bait: Vec<(&str, &str)> = bait.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let sent = client(&b).post_form("/message", &bait).await;
    assert_eq!(sent.status, 200, "{}", sent.text);
    let sid = sent.doc()["message"][0]["sid"].as_str().unwrap().to_string();
    let mut json_socket = connect(&format!("token={}&format=json&device=web", b.token)).await.unwrap();
    assert_eq!(ask(&mut json_socket, "CHAT_DELETE", json!({ "id": sid })).await["event"], "OK");
    assert!(im_tests::audio_url(&a, &path).await.is_ok(), "a's voice note is still there");
}

#[tokio::test]
async fn group_churn_is_cut_and_the_creator_rotates_the_key_and_removes_members() {
    let (creator, member, looper) =
        (new_user("creator", "android").await, new_user("member", "android").await, new_user("looper", "a").await);
    befriend(&creator, &member).await;
    let group = new_group(&creator, &[&member], "churn").await.doc()["group"][0].clone();
    let (g_id, g_key) = (group["g_id"].as_u64().unwrap(), group["g_key"].as_str().unwrap().to_string());
    let path = format!("/group/{g_id}/member");
    for _ in 0..20 {
        assert_eq!(client(&looper).post_form(&path, &[("g_key", &g_key)]).await.status, 200);
        assert_eq!(client(&looper).send("DELETE", &path, None, None).await.status, 200);
    }
    let past = client(&looper).post_form(&path, &[("g_key", &g_key)]).await;
    assert_eq!(past.status, 429, "{}", past.text);
    assert!(past.headers.contains_key("retry-after"));

    let mut member_socket = connect(&format!("token={}&format=json", member.token)).await.unwrap();
    let by_member = client(&member).send("PUT", &format!("/group/{g_id}/key"), None, None).await;
    assert_eq!(by_member.status, 403, "only the creator rotates");
    let rotated = client(&creator).send("PUT", &format!("/group/{g_id}/key"), None, None).await;
    assert_eq!(rotated.status, 200, "{}", rotated.text);
    let new_key = rotated.doc()["response"][0]["g_key"].as_str().unwrap().to_string();
    assert_ne!(new_key, g_key);
    let told = next_event(&mut member_socket, "NOTIFY").await;
    assert!(told.to_string().contains(&new_key), "members get the new key: {told}");
    let outsider = new_user("outsider", "android").await;
    let old = client(&outsider).post_form(&format!("/group/{g_id}/member"), &[("g_key", &g_key)]).await;
    assert_eq!(old.status, 403, "the old key joins no more");

    let removed = client(&creator).send("DELETE", &format!("/group/{g_id}/member/{}", member.id), None, None).await;
    assert_eq!(removed.status, 200, "{}", removed.text);
    let told = next_event(&mut member_socket, "NOTIFY").await;
    assert!(told.to_string().contains("delete_group_member"), "the removed member is told: {told}");
    let members = client(&creator).get(&format!("/group/{g_id}/member")).await.text;
    assert!(!members.contains(&format!("id = {}", member.id)), "{members}");
}

#[tokio::test]
async fn a_deleted_group_stays_deleted_and_a_resumed_creation_keeps_its_first_members() {
    let (creator, first, second) =
        (new_user("creator", "android").await, new_user("first", "android").await, new_user("second", "a").await);
    befriend(&creator, &first).await;
    befriend(&creator, &second).await;
    let created = new_group(&creator, &[&first], "c-1").await;
    let g_id = created.doc()["group"][0]["g_id"].as_u64().unwrap();
    let resumed = new_group(&creator, &[&first, &second], "c-1").await;
    assert_eq!(resumed.doc()["group"][0]["g_id"].as_u64(), Some(g_id));
    assert_eq!(client(&second).get("/group").await.doc().get("group"), None, "no groups: no [[group]]");
    assert_eq!(client(&creator).send("DELETE", &format!("/group/{g_id}"), None, None).await.status, 200);
    let retried = new_group(&creator, &[&first], "c-1").await;
    assert_eq!(retried.status, 200, "{}", retried.text);
    assert_ne!(retried.doc()["group"][0]["g_id"].as_u64(), Some(g_id), "a new group, not the deleted one back");
    let history = client(&first).get(&format!("/message/history?g_id={g_id}")).await;
    assert_ne!(history.status, 200, "the deleted group's history is nobody's: {}", history.text);
}
