//! Conversations: one-to-one and group chat in both dialects, idempotent sends, unread counts,
//! history, deletion, groups, AMR audio, and no loss under concurrent load.

use im_tests::{audio_url, befriend, connect, multipart, new_user, next_text, send_text, Client, Socket, User};
use serde_json::{json, Value};
use std::collections::BTreeSet;

fn client(user: &User) -> Client {
    Client::new().with_token(&user.token)
}

fn toml_doc(frame: &str) -> Value {
    serde_json::to_value(toml::from_str::<toml::Table>(frame).unwrap_or_else(|e| panic!("{frame:?}: {e}"))).unwrap()
}

fn json_doc(frame: &str) -> Value {
    serde_json::from_str(frame).unwrap_or_else(|e| panic!("{frame:?}: {e}"))
}

async fn ask(socket: &mut Socket, frame: Value) -> Value {
    send_text(socket, &frame.to_string()).await;
    json_doc(&next_text(socket).await)
}

async fn assert_quiet_json(socket: &mut Socket) {
    send_text(socket, r#"{"event":"PING"}"#).await;
    assert_eq!(json_doc(&next_text(socket).await)["event"], "PONG");
}

#[tokio::test]
async fn one_to_one_in_both_dialects_with_acks_unread_history_and_delete() {
    let a = new_user("a", "android").await;
    let b = new_user("b", "iphone").await;
    befriend(&a, &b).await;
    let mut a_toml = connect(&format!("token={}&format=toml", a.token)).await.unwrap();
    let mut a_web = connect(&format!("token={}&device=web", im_tests::login(&a.phone, "web").await)).await.unwrap();
    let mut b_json = connect(&format!("token={}", b.token)).await.unwrap();
    // A tablet logged in now and offline while the messages come.
    let tablet = Client::new().with_token(&im_tests::login(&b.phone, "tablet").await);

    let frame = format!("[[m]]\nid = \"c1\"\nt = \"text\"\nc = \"hello\"\nto = {}\n", b.id);
    send_text(&mut a_toml, &frame).await;
    let ack = toml_doc(&next_text(&mut a_toml).await);
    assert_eq!(ack["a"][0]["id"], "c1");
    let sid = ack["a"][0]["sid"].as_str().unwrap().to_string();
    let pushed = json_doc(&next_text(&mut b_json).await);
    assert_eq!(pushed["event"], "NOTIFY_NEW_MSG");
    let unread = json_doc(&next_text(&mut b_json).await);
    assert_eq!(unread["event"], "NOTIFY_UPDATE_UNREAD");
    assert_eq!(unread["data"]["unread_msg_count"][&a.phone], 1);
    let msg = &pushed["data"]["msg"];
    assert_eq!(
        (msg["content"].as_str(), msg["from"].as_u64(), msg["id"].as_str()),
        (Some("hello"), Some(a.id), Some(sid.as_str()))
    );
    assert_eq!((msg["d"].as_str(), msg["t"].as_str()), (Some("android"), Some("text")));
    assert!(msg["time"].as_str().unwrap().contains('T'));
    assert_eq!(json_doc(&next_text(&mut a_web).await)["data"]["msg"]["id"], json!(sid), "echo to a's other device");

    // A retried frame is the same message: same id, nothing stored twice; it is pushed again
    // (the first attempt may have died before its pushes) and b drops it by id.
    send_text(&mut a_toml, &frame).await;
    assert_eq!(toml_doc(&next_text(&mut a_toml).await)["a"][0]["sid"], json!(sid));
    assert_eq!(json_doc(&next_text(&mut b_json).await)["data"]["msg"]["id"], json!(sid), "the same message again");
    assert_eq!(json_doc(&next_text(&mut b_json).await)["event"], "NOTIFY_UPDATE_UNREAD");
    assert_eq!(json_doc(&next_text(&mut a_web).await)["data"]["msg"]["id"], json!(sid));
    assert_quiet_json(&mut b_json).await;
    let history = client(&b).get(&format!("/message/history?with={}", a.id)).await.doc();
    assert_eq!(history["m"].as_array().map(Vec::len), Some(1), "stored once: {history}");

    let unread = ask(&mut b_json, json!({"event": "LIST_CONTACTS_UNREAD"})).await;
    assert_eq!(unread["data"]["contacts"][&a.phone], 1);
    assert_eq!(ask(&mut b_json, json!({"event": "CHAT_RECEIVE_MSG", "data": {"id": sid}})).await["event"], "OK");
    assert_eq!(ask(&mut b_json, json!({"event": "CHAT_WITH", "data": {"user": a.id}})).await["event"], "OK");
    assert_eq!(ask(&mut b_json, json!({"event": "LIST_CONTACTS_UNREAD"})).await["data"]["contacts"][&a.phone], 0);

    let sent = ask(&mut b_json, json!({"event": "CHAT_SEND_MSG", "data": {"content": "《金刚狼吧》", "user": a.phone, "time": "2017-03-22T16:36:45"}})).await;
    assert_eq!(sent["event"], "OK");
    let b_sid = sent["data"]["id"].as_str().unwrap().to_string();
    let got = toml_doc(&next_text(&mut a_toml).await);
    assert_eq!((got["m"][0]["c"].as_str(), got["m"][0]["from"].as_u64()), (Some("《金刚狼吧》"), Some(b.id)));
    next_text(&mut a_web).await;

    let history =
        ask(&mut b_json, json!({"event": "CHAT_HISTORY", "data": {"user": a.phone, "page": 1, "pagesize": 20}})).await;
    let items = history["data"]["chat_history"].as_array().unwrap();
    assert_eq!(items.iter().map(|m| m["content"].as_str().unwrap()).collect::<Vec<_>>(), ["hello", "《金刚狼吧》"]);
    assert_eq!(items[0]["user"], json!(a.phone));
    assert_eq!(history["data"]["current_page"], 1);
    let older = ask(&mut b_json, json!({"event": "CHAT_HISTORY", "data": {"user": a.phone, "before": b_sid}})).await;
    assert_eq!(older["data"]["chat_history"].as_array().unwrap().len(), 1);
    // A page far past the start is empty, not an overflow (it was API Gateway's 500 frame).
    let far = json!({"event": "CHAT_HISTORY", "data": {"user": a.phone, "page": u64::MAX, "pagesize": 20}});
    let far = ask(&mut b_json, far).await;
    assert_eq!(far["event"], "OK", "{far}");
    assert_eq!(far["data"]["chat_history"], json!([]));

    let not_mine = ask(&mut b_json, json!({"event": "CHAT_DELETE", "data": {"id": sid}})).await;
    assert_eq!(not_mine["event"], "FAIL");
    assert_eq!(ask(&mut b_json, json!({"event": "CHAT_DELETE", "data": {"id": b_sid}})).await["event"], "OK");
    let told = toml_doc(&next_text(&mut a_toml).await);
    assert_eq!(
        (told["n"][0]["t"].as_str(), told["n"][0]["msg_id"].as_str()),
        (Some("delete_message"), Some(b_sid.as_str()))
    );
    let rest = client(&a).get(&format!("/message/history?with={}", b.id)).await.doc();
    assert_eq!(rest["m"][1]["deleted"], 1, "no booleans in TOML");
    assert_eq!(rest["m"][1]["c"], "");
    assert_eq!(rest["m"][0]["c"], "hello");

    // A device that was offline finds both messages; DELETE /offline clears them for it.
    let offline = tablet.get("/offline").await.doc();
    assert_eq!(offline["m"].as_array().map(Vec::len), Some(2), "{offline}");
    assert_eq!(tablet.send("DELETE", "/offline", None, None).await.status, 200);
    let cleared = tablet.get("/offline").await.doc();
    assert!(cleared.get("m").is_none() && cleared.get("n").is_none(), "{cleared}");
    assert_eq!(client(&a).send("DELETE", &format!("/friends/{}", a.id), None, None).await.status, 400);
}

#[tokio::test]
async fn who_may_message_whom() {
    let a = new_user("a", "android").await;
    let stranger = new_user("stranger", "android").await;
    let mut socket = connect(&format!("token={}", a.token)).await.unwrap();
    let refused =
        ask(&mut socket, json!({"event": "CHAT_SEND_MSG", "data": {"content": "hi", "user": stranger.id}})).await;
    assert_eq!(
        (refused["event"].as_str(), refused["data"]["msg"].as_str()),
        (Some("FAIL"), Some("you can only message your contacts"))
    );
    let rest = client(&a).post_form("/message", &[("to", &stranger.id.to_string()), ("id", "x1"), ("c", "hi")]).await;
    assert_eq!(rest.status, 403);

    let friend = new_user("friend", "android").await;
    befriend(&a, &friend).await;
    let ok = client(&a).post_form("/message", &[("to", &friend.id.to_string()), ("id", "x2"), ("c", "hi")]).await;
    assert_eq!(ok.status, 200, "{}", ok.text);
    let again = client(&a).post_form("/message", &[("to", &friend.id.to_string()), ("id", "x2"), ("c", "hi")]).await;
    assert_eq!((again.status, again.doc()["message"][0]["sid"].clone()), (200, ok.doc()["message"][0]["sid"].clone()));
    let body = Some(("application/json", json!({ "user_id": a.id }).to_string().into_bytes()));
    assert_eq!(client(&friend).send("POST", "/blocks", None, body).await.status, 201);
    let blocked = client(&a).post_form("/message", &[("to", &friend.id.to_string()), ("id", "x3"), ("c", "hi")]).await;
    assert_eq!((blocked.status, blocked.reason().as_str()), (403, "one of you has blocked the other"));
    for (field, value) in [("t", "sticker"), ("c", "")] {
        let bad = client(&a)
            .post_form("/message", &[("to", &friend.id.to_string()), ("id", "x4"), ("c", "x"), (field, value)])
            .await;
        assert_eq!(bad.status, 400, "{field}: {}", bad.text);
    }
}

#[tokio::test]
async fn groups_create_join_add_message_leave_delete() {
    let owner = new_user("owner", "android").await;
    let m1 = new_user("m1", "android").await;
    let m2 = new_user("m2", "android").await;
    let joiner = new_user("joiner", "android").await;
    befriend(&owner, &m1).await;
    befriend(&owner, &m2).await;
    let mut m1_socket = connect(&format!("token={}&format=toml", m1.token)).await.unwrap();
    let mut joiner_socket = connect(&format!("token={}&format=toml", joiner.token)).await.unwrap();

    let created = client(&owner)
        .post_form(
            "/group",
            &[("members[]", &m1.id.to_string()), ("members[]", &m2.id.to_string()), ("name", "group1")],
        )
        .await;
    assert_eq!(created.status, 200, "{}", created.text);
    let group = created.doc()["group"][0].clone();
    let (g_id, g_key) = (group["g_id"].as_u64().unwrap(), group["g_key"].as_str().unwrap().to_string());
    let n = toml_doc(&next_text(&mut m1_socket).await)["n"][0].clone();
    assert_eq!(
        (n["t"].as_str(), n["g_id"].as_u64(), n["g_key"].as_str(), n["d"].as_str()),
        (Some("create_group"), Some(g_id), Some(g_key.as_str()), Some("android"))
    );

    let wrong = client(&joiner).post_form(&format!("/group/{g_id}/member"), &[("g_key", "nope")]).await;
    assert_eq!(wrong.status, 403);
    assert_eq!(client(&joiner).post_form(&format!("/group/{g_id}/member"), &[("g_key", &g_key)]).await.status, 200);
    let joined = toml_doc(&next_text(&mut m1_socket).await)["n"][0].clone();
    assert_eq!((joined["t"].as_str(), joined["member_id"].as_u64()), (Some("create_group_member"), Some(joiner.id)));
    let late = new_user("late", "android").await;
    befriend(&late, &owner).await;
    assert_eq!(
        client(&m1).post_form(&format!("/group/{g_id}/member/{}", late.id), &[]).await.status,
        403,
        "only the creator adds"
    );
    assert_eq!(client(&owner).post_form(&format!("/group/{g_id}/member/{}", late.id), &[]).await.status, 200);
    next_text(&mut m1_socket).await;
    while !next_text(&mut joiner_socket).await.contains("create_group_member") {}

    send_text(&mut m1_socket, &format!("[[gm]]\nid = \"g1\"\nt = \"text\"\nc = \"hi all\"\ng_id = {g_id}\n")).await;
    let ack = toml_doc(&next_text(&mut m1_socket).await);
    assert!(ack["a"][0]["sid"].as_str().unwrap().starts_with(&format!("group#{g_id}:")));
    let gm = toml_doc(&next_text(&mut joiner_socket).await)["gm"][0].clone();
    assert_eq!((gm["c"].as_str(), gm["from"].as_u64(), gm["g_id"].as_u64()), (Some("hi all"), Some(m1.id), Some(g_id)));
    let mut m2_json = connect(&format!("token={}", m2.token)).await.unwrap();
    let sent =
        ask(&mut m2_json, json!({"event": "CHAT_SEND_MSG", "data": {"g_id": g_id, "content": "json too"}})).await;
    assert_eq!(sent["event"], "OK", "{sent}");
    let gm = toml_doc(&next_text(&mut m1_socket).await)["gm"][0].clone();
    assert_eq!((gm["c"].as_str(), gm["from"].as_u64()), (Some("json too"), Some(m2.id)));
    let members = client(&joiner).get(&format!("/group/{g_id}/member")).await.doc();
    assert_eq!(members["member"].as_array().unwrap().len(), 5);
    assert_eq!(client(&joiner).get("/group").await.doc()["group"][0]["name"], "group1");
    let outsider = new_user("outsider", "android").await;
    assert_eq!(
        client(&outsider)
            .post_form("/message", &[("g_id", &g_id.to_string()), ("id", "o1"), ("c", "let me in")])
            .await
            .status,
        403
    );

    assert_eq!(client(&joiner).send("DELETE", &format!("/group/{g_id}/member"), None, None).await.status, 200);
    let left = toml_doc(&next_text(&mut m1_socket).await)["n"][0].clone();
    assert_eq!((left["t"].as_str(), left["gm_id"].as_u64()), (Some("delete_group_member"), Some(joiner.id)));
    assert_eq!(client(&m1).send("DELETE", &format!("/group/{g_id}"), None, None).await.status, 403);
    assert_eq!(client(&owner).send("DELETE", &format!("/group/{g_id}"), None, None).await.status, 200);
    assert_eq!(toml_doc(&next_text(&mut m1_socket).await)["n"][0]["t"], "delete_group");
    assert_eq!(client(&m1).get(&format!("/group/{g_id}/member")).await.status, 404);
}

/// The users whose live connections a group's index lists (`store::live`), as a send reads it.
async fn listed_in(group: u64) -> BTreeSet<u64> {
    let clients = im_adapters::Clients::local(im_tests::stack().config());
    let live = im_functions::store::live::in_group(&clients, im_functions::domain::ids::GroupId(group)).await.unwrap();
    live.iter().filter_map(|c| c.user_id).map(|u| u.0).collect()
}

#[tokio::test]
async fn a_groups_live_index_follows_its_members_sockets() {
    let owner = new_user("owner", "android").await;
    let (member, leaver) = (new_user("member", "android").await, new_user("leaver", "android").await);
    befriend(&owner, &member).await;
    befriend(&owner, &leaver).await;
    let fields = [("members[]", member.id.to_string()), ("members[]", leaver.id.to_string()), ("name", "g".into())];
    let fields: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let created = client(&owner).post_form("/group", &fields).await;
    assert_eq!(created.status, 200, "{}", created.text);
    let g_id = created.doc()["group"][0]["g_id"].as_u64().unwrap();
    assert!(listed_in(g_id).await.is_empty(), "nobody is connected");

    // Sockets opened after the group was made are listed by their binding.
    let mut member_socket = connect(&format!("token={}", member.token)).await.unwrap();
    let mut leaver_socket = connect(&format!("token={}", leaver.token)).await.unwrap();
    assert_quiet_json(&mut member_socket).await;
    assert_quiet_json(&mut leaver_socket).await;
    assert_eq!(listed_in(g_id).await, BTreeSet::from([member.id, leaver.id]));

    // A leaver's socket stays listed (the leave's notice reaches the leaver's other devices
    // through it) but gets none of the group's messages: the members a send checked decide.
    assert_eq!(client(&leaver).send("DELETE", &format!("/group/{g_id}/member"), None, None).await.status, 200);
    assert_eq!(listed_in(g_id).await, BTreeSet::from([member.id, leaver.id]));
    let sent =
        client(&owner).post_form("/message", &[("g_id", &g_id.to_string()), ("id", "i1"), ("c", "still here")]).await;
    assert_eq!(sent.status, 200, "{}", sent.text);
    while im_tests::next_event(&mut member_socket, "NOTIFY_NEW_MSG").await["data"]["msg"]["content"] != "still here" {}
    // The send answered after its posts: had the leaver been posted to, it would come first.
    assert_quiet_json(&mut leaver_socket).await;

    // A closed socket is taken out once `$disconnect` has run.
    drop(member_socket);
    im_tests::eventually("the closed socket leaves the index", || async {
        listed_in(g_id).await == BTreeSet::from([leaver.id])
    })
    .await;
    // A new login of the leaver's device replaces its socket; being added back lists the open
    // one (the replaced socket's item, left from before the leave, delivers nothing and expires).
    let mut late_socket = connect(&format!("token={}", leaver.token)).await.unwrap();
    assert_quiet_json(&mut late_socket).await;
    assert_eq!(client(&owner).post_form(&format!("/group/{g_id}/member/{}", leaver.id), &[]).await.status, 200);
    assert_eq!(listed_in(g_id).await, BTreeSet::from([leaver.id]));
}

#[tokio::test]
async fn amr_audio_round_trip_and_refusals() {
    let a = new_user("a", "android").await;
    let b = new_user("b", "android").await;
    befriend(&a, &b).await;
    let mut b_socket = connect(&format!("token={}", b.token)).await.unwrap();
    let mut amr = b"#!AMR\n".to_vec();
    amr.extend((0..4000u32).map(|i| (i * 7 % 251) as u8));

    let (ct, body) = multipart(&amr, "audio/amr", "to", &b.id.to_string());
    let sent = client(&a).send("POST", "/m/audio", None, Some((&ct, body))).await;
    assert_eq!(sent.status, 200, "{}", sent.text);
    let msg = im_tests::next_event(&mut b_socket, "NOTIFY_NEW_MSG").await["data"]["msg"].clone();
    assert_eq!(msg["t"], "audio");
    let path = msg["content"].as_str().unwrap().to_string();
    assert!(path.starts_with("file/audio/") && path.ends_with(".amr"), "a stable server path: {path}");
    let url = audio_url(&b, &path).await.expect("a participant gets a signed URL");
    assert_eq!(audio_url(&new_user("c", "android").await, &path).await, Err(404), "others do not");
    let http = reqwest::Client::new();
    let fetched = http.get(&url).send().await.unwrap();
    assert_eq!(fetched.status(), 200);
    assert_eq!(fetched.bytes().await.unwrap().to_vec(), amr, "identical bytes");
    let (head, signature) = url.split_once("X-Amz-Signature=").unwrap();
    let flipped = if signature.starts_with('0') { "1" } else { "0" };
    let tampered = format!("{head}X-Amz-Signature={flipped}{}", &signature[1..]);
    assert_eq!(http.get(&tampered).send().await.unwrap().status(), 403);
    assert_eq!(http.get(url.split('?').next().unwrap()).send().await.unwrap().status(), 403, "the bucket is private");

    // A retried upload with the sender's id is the same message (200, same id), not a second one.
    let (ct, mut body) = multipart(&amr, "audio/amr", "to", &b.id.to_string());
    body.truncate(body.len() - "------im-test-boundary--\r\n".len());
    body.extend_from_slice(b"------im-test-boundary\r\nContent-Disposition: form-data; name=\"id\"\r\n\r\nvoice-1\r\n------im-test-boundary--\r\n");
    let first = client(&a).send("POST", "/m/audio", None, Some((&ct, body.clone()))).await;
    assert_eq!(first.status, 200, "{}", first.text);
    im_tests::next_event(&mut b_socket, "NOTIFY_NEW_MSG").await;
    let retry = client(&a).send("POST", "/m/audio", None, Some((&ct, body))).await;
    assert_eq!(
        (retry.status, retry.doc()["message"][0]["sid"].clone()),
        (200, first.doc()["message"][0]["sid"].clone())
    );

    let (ct, body) = multipart(b"RIFF\x00\x00WAVEfmt ", "audio/amr", "to", &b.id.to_string());
    let refused = client(&a).send("POST", "/m/audio", None, Some((&ct, body))).await;
    assert_eq!((refused.status, refused.reason().contains("AMR")), (415, true));
    let (ct, body) = multipart(&amr, "image/png", "to", &b.id.to_string());
    assert_eq!(client(&a).send("POST", "/m/audio", None, Some((&ct, body))).await.status, 415);
    assert_eq!(
        client(&a)
            .send("POST", "/m/audio", None, Some(("multipart/form-data; boundary=x", b"junk".to_vec())))
            .await
            .status,
        400
    );

    // Large files: a presigned POST straight to S3, then a message naming the key.
    let upload = im_tests::upload_audio(&a, &amr).await;
    let key = upload["key"].as_str().unwrap();
    let via_key = client(&a)
        .post_form("/message", &[("to", &b.id.to_string()), ("id", "big1"), ("t", "audio"), ("c", key)])
        .await;
    assert_eq!(via_key.status, 200, "{}", via_key.text);
    let msg = im_tests::next_event(&mut b_socket, "NOTIFY_NEW_MSG").await["data"]["msg"].clone();
    let url = audio_url(&b, msg["content"].as_str().unwrap()).await.unwrap();
    assert_eq!(http.get(&url).send().await.unwrap().bytes().await.unwrap().to_vec(), amr);
    // The key now belongs to a's conversation with b: nobody can attach it elsewhere.
    let (c, d) = (new_user("c", "android").await, new_user("d", "android").await);
    befriend(&c, &d).await;
    let stolen = client(&c)
        .post_form("/message", &[("to", &d.id.to_string()), ("id", "steal"), ("t", "audio"), ("c", key)])
        .await;
    assert_eq!((stolen.status, stolen.reason()), (400, "no upload of yours under that key".to_string()));
    let bogus = client(&a)
        .post_form(
            "/message",
            &[
                ("to", &b.id.to_string()),
                ("id", "big2"),
                ("t", "audio"),
                ("c", "audio/00000000000000000000000000000000.amr"),
            ],
        )
        .await;
    assert_eq!(bogus.status, 400);
}

#[tokio::test]
async fn an_expired_presigned_url_is_refused() {
    use aws_sdk_s3::presigning::PresigningConfig;
    let urls = im_tests::stack();
    let clients = im_adapters::Clients::local(im_local::stack::local_config(
        &urls.dynamodb,
        &urls.s3,
        &urls.management,
        "audio-bucket",
    ));
    clients
        .s3
        .put_object()
        .bucket("audio-bucket")
        .key("audio/expiry.amr")
        .body(b"#!AMR\n".to_vec().into())
        .send()
        .await
        .unwrap();
    let config = PresigningConfig::expires_in(std::time::Duration::from_secs(1)).unwrap();
    let url = clients
        .s3
        .get_object()
        .bucket("audio-bucket")
        .key("audio/expiry.amr")
        .presigned(config)
        .await
        .unwrap()
        .uri()
        .to_string();
    tokio::time::sleep(std::time::Duration::from_secs(3)).await;
    assert_eq!(reqwest::get(&url).await.unwrap().status(), 403);
}

#[tokio::test]
async fn no_loss_under_concurrent_senders_online_and_offline() {
    const SENDERS: usize = 4;
    const EACH: usize = 30;
    let mut members = vec![];
    for i in 0..6 {
        members.push(new_user(&format!("m{i}"), "android").await);
    }
    for member in &members[1..] {
        befriend(&members[0], member).await;
    }
    let ids: Vec<String> = members[1..].iter().map(|m| m.id.to_string()).collect();
    let mut form: Vec<(&str, &str)> = ids.iter().map(|id| ("members[]", id.as_str())).collect();
    form.push(("name", "busy"));
    let g_id = client(&members[0]).post_form("/group", &form).await.doc()["group"][0]["g_id"].as_u64().unwrap();
    // Offline members' tablets: logged in before the sends, never connected.
    let mut tablets = vec![];
    for member in &members[..3] {
        tablets.push(Client::new().with_token(&im_tests::login(&member.phone, "tablet").await));
    }
    let mut online = vec![];
    for member in &members[3..] {
        online.push(
            connect(&format!("token={}&format=toml&device=watch", im_tests::login(&member.phone, "watch").await))
                .await
                .unwrap(),
        );
    }

    let sends = (0..SENDERS).map(|s| {
        let sender = client(&members[s]);
        async move {
            for i in 0..EACH {
                let answer = sender
                    .post_form(
                        "/message",
                        &[("g_id", &g_id.to_string()), ("id", &format!("s{s}-{i}")), ("c", &format!("{s}/{i}"))],
                    )
                    .await;
                assert_eq!(answer.status, 200, "{}", answer.text);
            }
        }
    });
    futures::future::join_all(sends).await;
    let expected: BTreeSet<String> = (0..SENDERS).flat_map(|s| (0..EACH).map(move |i| format!("{s}/{i}"))).collect();

    for socket in &mut online {
        let mut seen = BTreeSet::new();
        let mut seqs = BTreeSet::new();
        while seen.len() < expected.len() {
            let frame = toml_doc(&next_text(socket).await);
            for gm in frame["gm"].as_array().into_iter().flatten() {
                assert!(seen.insert(gm["c"].as_str().unwrap().to_string()), "delivered twice: {gm}");
                assert!(seqs.insert(gm["id"].as_str().unwrap().rsplit(':').next().unwrap().parse::<u64>().unwrap()));
            }
        }
        assert_eq!(seen, expected);
    }
    // Offline members (a device that never connected) get everything by GET /offline, once, in order.
    for device in &tablets {
        let mut got = vec![];
        loop {
            let page = device.send("GET", "/offline", Some("application/json"), None).await.doc();
            let batch = page["gm"].as_array().cloned().unwrap_or_default();
            for gm in &batch {
                got.push(gm.clone());
            }
            if !page["response"][0]["more"].as_bool().unwrap() {
                break;
            }
            assert!(!batch.is_empty(), "more pages mean messages");
            let ids: Vec<String> =
                batch.iter().map(|m| format!("id={}", m["id"].as_str().unwrap().replace('#', "%23"))).collect();
            assert_eq!(device.send("DELETE", &format!("/offline?{}", ids.join("&")), None, None).await.status, 200);
        }
        let contents: BTreeSet<String> = got.iter().map(|m| m["c"].as_str().unwrap().to_string()).collect();
        assert_eq!((got.len(), contents), (expected.len(), expected.clone()));
        let seqs: Vec<u64> =
            got.iter().map(|m| m["id"].as_str().unwrap().rsplit(':').next().unwrap().parse().unwrap()).collect();
        assert!(seqs.windows(2).all(|w| w[0] < w[1]), "one order: {seqs:?}");
    }
}

/// An audio message's `c` is a path, not a URL: fetched after every URL it ever gave out has
/// expired (here a 1 s lifetime stands in for an hour), it still downloads. The route runs
/// in-process with that lifetime, on the stack's DynamoDB and S3.
#[tokio::test]
async fn audio_in_history_still_downloads_after_its_signed_urls_expire() {
    let a = new_user("a", "android").await;
    let b = new_user("b", "android").await;
    befriend(&a, &b).await;
    let amr = b"#!AMR\n\x01\x02\x03".to_vec();
    let (ct, body) = multipart(&amr, "audio/amr", "to", &b.id.to_string());
    assert_eq!(client(&a).send("POST", "/m/audio", None, Some((&ct, body))).await.status, 200);
    let history =
        client(&b).send("GET", &format!("/message/history?with={}", a.id), Some("application/json"), None).await;
    let path = history.doc()["m"][0]["c"].as_str().unwrap().to_string();

    let urls = im_tests::stack();
    let mut config = im_local::stack::local_config(&urls.dynamodb, &urls.s3, &urls.management, "audio-bucket");
    config.audio_url_ttl_secs = 1;
    let clients = std::sync::Arc::new(im_adapters::Clients::local(config));
    let mut event: Value = serde_json::from_str(include_str!("../../../events/get_audio.json")).unwrap();
    let name = path.rsplit('/').next().unwrap();
    event["rawPath"] = json!(format!("/{path}"));
    event["pathParameters"]["name"] = json!(name);
    event["requestContext"]["authorizer"]["lambda"]["user_id"] = json!(b.id);
    let fetch = || async {
        let function = im_functions::function("get_audio").unwrap();
        let answer = im_functions::invoke(clients.clone(), function, event.clone(), Default::default()).await.unwrap();
        assert_eq!(answer["statusCode"], 302, "{answer}");
        answer["headers"]["location"].as_str().unwrap().to_string()
    };
    let first = fetch().await;
    assert_eq!(reqwest::get(&first).await.unwrap().bytes().await.unwrap().to_vec(), amr);
    tokio::time::sleep(std::time::Duration::from_millis(2500)).await;
    assert_eq!(reqwest::get(&first).await.unwrap().status(), 403, "that URL is dead");
    let later = fetch().await;
    assert_eq!(reqwest::get(&later).await.unwrap().bytes().await.unwrap().to_vec(), amr, "the path still works");
}
