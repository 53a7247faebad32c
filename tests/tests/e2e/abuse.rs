//! The abuse suite: one test per attack an ordinary account could make (issue 10), each run
//! from outside as the attacker would, through the local stack. docs/SECURITY.md maps attacks
//! to tests.

use im_tests::{
    audio_url, befriend, closed, connect, login, multipart, new_user, next_event, next_text, send_text, Answer, Client,
    User,
};
use serde_json::{json, Value};

fn client(user: &User) -> Client {
    Client::new().with_token(&user.token)
}

async fn send(from: &User, to: &User, id: &str, text: &str) -> Answer {
    client(from).post_form("/message", &[("to", &to.id.to_string()), ("id", id), ("t", "text"), ("c", text)]).await
}

async fn send_audio_key(from: &User, to: &User, id: &str, key: &str) -> Answer {
    client(from).post_form("/message", &[("to", &to.id.to_string()), ("id", id), ("t", "audio"), ("c", key)]).await
}

/// Presigns an upload as `user` and POSTs `bytes` with its form; returns the key.
async fn upload(user: &User, bytes: Vec<u8>) -> String {
    im_tests::upload_audio(user, &bytes).await["key"].as_str().unwrap().to_string()
}

async fn object_exists(key: &str) -> bool {
    im_tests::s3().head_object().bucket("audio-bucket").key(key).send().await.is_ok()
}

fn amr() -> Vec<u8> {
    let mut amr = b"#!AMR\n".to_vec();
    amr.extend((0..2000u32).map(|i| (i * 13 % 251) as u8));
    amr
}

#[tokio::test]
async fn audio_is_attached_by_its_uploader_once_read_by_participants_and_dies_with_its_message() {
    let (a, b) = (new_user("a", "android").await, new_user("b", "android").await);
    let (thief, accomplice) = (new_user("thief", "android").await, new_user("accomplice", "android").await);
    befriend(&a, &b).await;
    befriend(&thief, &accomplice).await;
    let key = upload(&a, amr()).await;

    // Someone else's upload cannot be attached, even with its key in hand.
    let stolen = send_audio_key(&thief, &accomplice, "steal", &key).await;
    assert_eq!((stolen.status, stolen.reason()), (400, "no upload of yours under that key".to_string()));

    let sent = send_audio_key(&a, &b, "voice", &key).await;
    assert_eq!(sent.status, 200, "{}", sent.text);
    let sid = sent.doc()["message"][0]["sid"].as_str().unwrap().to_string();
    let history = client(&b).get(&format!("/message/history?with={}", a.id)).await.doc();
    let path = history["m"][0]["c"].as_str().unwrap().to_string();
    assert!(audio_url(&b, &path).await.is_ok(), "a participant reads it");
    assert_eq!(audio_url(&thief, &path).await, Err(404), "nobody else does");
    let object = path.strip_prefix("file/").unwrap().to_string();
    assert!(object_exists(&object).await);

    // Attached once: not again, in this conversation or another.
    befriend(&a, &accomplice).await;
    assert_eq!(send_audio_key(&a, &accomplice, "again", &key).await.status, 400);

    // Deleting the message deletes the file.
    let mut socket = connect(&format!("token={}", a.token)).await.unwrap();
    send_text(&mut socket, &json!({"event": "CHAT_DELETE", "data": {"id": sid}}).to_string()).await;
    assert_eq!(next_event(&mut socket, "OK").await["event"], "OK");
    assert!(!object_exists(&object).await, "the object went with its message");
    assert_eq!(audio_url(&b, &path).await, Err(404));
}

#[tokio::test]
async fn audio_keys_are_not_derived_from_guessable_ids() {
    let (a, b) = (new_user("a", "android").await, new_user("b", "android").await);
    befriend(&a, &b).await;
    let mut paths = vec![];
    for id in ["c-6", "c-7"] {
        let (ct, body) = multipart(&amr(), "audio/amr", "to", &b.id.to_string());
        let body = String::from_utf8_lossy(&body).replace("--\r\n", "");
        let body = format!(
            "{body}\r\nContent-Disposition: form-data; name=\"id\"\r\n\r\n{id}\r\n------im-test-boundary--\r\n"
        );
        let sent = client(&a).send("POST", "/m/audio", None, Some((&ct, body.into_bytes()))).await;
        assert_eq!(sent.status, 200, "{}", sent.text);
    }
    let history = client(&b).get(&format!("/message/history?with={}", a.id)).await.doc();
    for m in history["m"].as_array().unwrap() {
        paths.push(m["c"].as_str().unwrap().to_string());
    }
    use sha2::Digest;
    for (path, id) in paths.iter().zip(["c-6", "c-7"]) {
        let guess = hex::encode(sha2::Sha256::digest(format!("{}\n{id}", a.id)));
        assert!(!path.contains(&guess[..32]), "the key of {id} is guessable: {path}");
    }
}

#[tokio::test]
async fn only_contacts_may_put_someone_in_a_group_and_a_block_holds() {
    let (creator, friend, stranger) = (
        new_user("creator", "android").await,
        new_user("friend", "android").await,
        new_user("stranger", "android").await,
    );
    befriend(&creator, &friend).await;
    // A stranger cannot be made a member, at creation or later.
    let with_stranger =
        client(&creator).post_form("/group", &[("members[]", &stranger.id.to_string()), ("name", "trap")]).await;
    assert_eq!(with_stranger.status, 403, "{}", with_stranger.text);
    let created = client(&creator).post_form("/group", &[("members[]", &friend.id.to_string()), ("name", "ok")]).await;
    assert_eq!(created.status, 200, "{}", created.text);
    let g_id = created.doc()["group"][0]["g_id"].as_u64().unwrap();
    let added = client(&creator).post_form(&format!("/group/{g_id}/member/{}", stranger.id), &[]).await;
    assert_eq!(added.status, 403);

    // A friend who blocked you cannot be put in a group of yours (blocks keep the friendship).
    let blocked = client(&friend)
        .send(
            "POST",
            "/blocks",
            None,
            Some(("application/json", json!({"user_id": creator.id}).to_string().into_bytes())),
        )
        .await;
    assert_eq!(blocked.status, 201, "{}", blocked.text);
    let around =
        client(&creator).post_form("/group", &[("members[]", &friend.id.to_string()), ("name", "around")]).await;
    assert_eq!(around.status, 403, "a block holds for groups: {}", around.text);
    let groups = client(&friend).get("/group").await.doc();
    assert_eq!(groups["group"].as_array().map(Vec::len), Some(1), "only the group made before the block: {groups}");
}

#[tokio::test]
async fn password_guessing_is_stopped_per_account_over_http_and_sockets_alike() {
    let victim = new_user("victim", "android").await;
    let guess = |password: &'static str| {
        let phone = victim.phone.clone();
        async move { Client::new().post_form("/server/login", &[("phone", &phone), ("password", password)]).await }
    };
    // Wrong guesses from many addresses, over HTTP and over sockets, until one is refused:
    // the count is the account's (20 per fixed quarter hour, so a run straddling two windows
    // is cut within 40).
    let mut tries = 1; // the victim's own login counted
    loop {
        let limited = if tries % 2 == 0 {
            let answer = guess("wrong!").await;
            assert!([401, 429].contains(&answer.status), "{}", answer.text);
            answer.status == 429
        } else {
            let mut socket = im_tests::connect_plain().await;
            let frame = json!({"event": "LOGIN", "data": {"user": victim.phone, "password": "wrong!"}});
            send_text(&mut socket, &frame.to_string()).await;
            let answer: Value = serde_json::from_str(&next_text(&mut socket).await).unwrap();
            assert_eq!(answer["event"], "FAIL");
            answer.to_string().contains("too many attempts")
        };
        if limited {
            break;
        }
        tries += 1;
        assert!(tries <= 40, "{tries} guesses and still no limit");
    }
    assert!(tries >= 20, "limited after {tries} tries, before the limit");
    let refused = guess("888888").await;
    assert_eq!(refused.status, 429, "even the right password waits: {}", refused.text);
    let retry: u64 = refused.headers["retry-after"].to_str().unwrap().parse().unwrap();
    assert!((1..=900).contains(&retry), "Retry-After {retry}");
    assert!(refused.reason().starts_with("too many attempts"), "{}", refused.text);
    let mut socket = im_tests::connect_plain().await;
    send_text(
        &mut socket,
        &json!({"event": "LOGIN", "data": {"user": victim.phone, "password": "888888"}}).to_string(),
    )
    .await;
    let answer: Value = serde_json::from_str(&next_text(&mut socket).await).unwrap();
    assert_eq!(answer["event"], "FAIL", "{answer}");
    assert!(answer.to_string().contains("too many attempts"), "{answer}");
}

#[tokio::test]
async fn sign_ups_are_limited_per_source_address() {
    let [_, b, c]: [u8; 3] = rand::random();
    let address: std::net::IpAddr = std::net::Ipv4Addr::new(127, 250, b, c.max(2)).into();
    let from_one_place = Client::from_address(address);
    // 30 per fixed hour: a run straddling two windows is cut within 60.
    let mut accepted = 0;
    let refused = loop {
        let phone = im_tests::unique_phone();
        let answer =
            from_one_place.post_form("/user", &[("phone", &phone), ("name", "bot"), ("password", "888888")]).await;
        match answer.status {
            200 => accepted += 1,
            _ => break answer,
        }
        assert!(accepted <= 60, "{accepted} sign-ups from one address and still no limit");
    };
    assert_eq!(refused.status, 429, "{}", refused.text);
    assert!(accepted >= 30, "limited after {accepted}");
    let phone = im_tests::unique_phone();
    assert!(refused.headers.contains_key("retry-after"));
    let elsewhere =
        Client::new().post_form("/user", &[("phone", &phone), ("name", "human"), ("password", "888888")]).await;
    assert_eq!(elsewhere.status, 200, "another address is not affected");
}

#[tokio::test]
async fn a_flood_of_messages_is_cut_at_the_per_user_rate() {
    let (spammer, target) = (new_user("spammer", "android").await, new_user("target", "android").await);
    befriend(&spammer, &target).await;
    // Windows are fixed minutes: a flood that starts late in one may straddle two, so it is
    // cut within 240 sends (120 per window), never later.
    let mut accepted = 0;
    let refused = loop {
        let answer = send(&spammer, &target, &format!("s{accepted}"), "spam").await;
        match answer.status {
            200 => accepted += 1,
            _ => break answer,
        }
        assert!(accepted <= 240, "a flood of {accepted} messages was never cut");
    };
    assert_eq!(refused.status, 429, "{}", refused.text);
    assert!(refused.headers.contains_key("retry-after"));
    assert!(accepted >= 120, "cut after {accepted}, before the limit");
    let newest = client(&target).get(&format!("/message/history?with={}&limit=1", spammer.id)).await.doc();
    assert_eq!(newest["m"][0]["seq"], accepted, "the refused one was not stored: {newest}");
}

#[tokio::test]
async fn the_strong_password_rule_refuses_common_passwords() {
    let urls = im_tests::stack();
    let mut config = im_local::stack::local_config(&urls.dynamodb, &urls.s3, &urls.management, "audio-bucket");
    config.strong_passwords = true;
    let clients = std::sync::Arc::new(im_adapters::Clients::local(config));
    let sign_up = |password: &str| {
        let mut event: Value = serde_json::from_str(include_str!("../../../events/create_user.json")).unwrap();
        let phone = im_tests::unique_phone();
        event["body"] = json!(im_tests::form(&[("phone", &phone), ("name", "x"), ("password", password)]));
        event["headers"]["content-type"] = json!("application/x-www-form-urlencoded");
        event["isBase64Encoded"] = json!(false);
        event["requestContext"]["http"]["sourceIp"] = json!(im_tests::any_loopback_address().to_string());
        let clients = clients.clone();
        async move {
            let function = im_functions::function("create_user").unwrap();
            let answer = im_functions::invoke(clients, function, event, Default::default()).await.unwrap();
            answer["statusCode"].as_u64().unwrap()
        }
    };
    assert_eq!(sign_up("password123").await, 400);
    assert_eq!(sign_up("888888").await, 400);
    assert_eq!(sign_up("violet-harbour-kettle").await, 200);
}

#[tokio::test]
async fn a_password_change_and_logout_everywhere_end_the_other_sessions_and_their_sockets() {
    let user = new_user("owner", "android").await;
    let tablet = login(&user.phone, "tablet").await;
    let web = login(&user.phone, "web").await;
    let mut phone_socket = connect(&format!("token={}", user.token)).await.unwrap();
    let mut tablet_socket = connect(&format!("token={tablet}")).await.unwrap();
    let mut web_socket = connect(&format!("token={web}&device=web")).await.unwrap();

    let body =
        |fields: &[(&str, &str)]| Some(("application/x-www-form-urlencoded", im_tests::form(fields).into_bytes()));
    let wrong = Client::new()
        .with_token(&web)
        .send("PUT", "/user/password", None, body(&[("password", "nope!!"), ("new_password", "s3cond-secret")]))
        .await;
    assert_eq!(wrong.status, 401, "the current password is checked");
    let changed = Client::new()
        .with_token(&web)
        .send("PUT", "/user/password", None, body(&[("password", "888888"), ("new_password", "s3cond-secret")]))
        .await;
    assert_eq!(changed.status, 200, "{}", changed.text);
    assert!(closed(&mut phone_socket).await && closed(&mut tablet_socket).await, "other sessions' sockets close");
    assert_eq!(client(&user).get("/group").await.status, 401, "the other tokens are dead");
    assert_eq!(Client::new().with_token(&tablet).get("/group").await.status, 401);
    assert_eq!(Client::new().with_token(&web).get("/group").await.status, 200, "this session stays");
    send_text(&mut web_socket, r#"{"event":"PING"}"#).await;
    assert!(next_text(&mut web_socket).await.contains("PONG"));
    let old = Client::new().post_form("/server/login", &[("phone", &user.phone), ("password", "888888")]).await;
    assert_eq!(old.status, 401);
    let fresh = Client::new()
        .post_form("/server/login", &[("phone", &user.phone), ("password", "s3cond-secret"), ("device", "ipad")])
        .await;
    assert_eq!(fresh.status, 200);
    let ipad = fresh.doc()["response"][0]["user"]["token"].as_str().unwrap().to_string();

    let out = Client::new().with_token(&web).post_form("/server/logout", &[("everywhere", "true")]).await;
    assert_eq!(out.status, 200, "{}", out.text);
    assert!(closed(&mut web_socket).await);
    assert_eq!(Client::new().with_token(&web).get("/group").await.status, 401);
    assert_eq!(Client::new().with_token(&ipad).get("/group").await.status, 401, "every session ended");
}

#[tokio::test]
async fn a_retried_send_pushes_what_the_first_attempt_may_not_have() {
    let (a, b) = (new_user("a", "android").await, new_user("b", "android").await);
    befriend(&a, &b).await;
    // The first attempt is stored while b is offline (as if its pushes died with it).
    assert_eq!(send(&a, &b, "once", "are you there").await.status, 200);
    let mut b_socket = connect(&format!("token={}&format=json", b.token)).await.unwrap();
    let retried = send(&a, &b, "once", "are you there").await;
    assert_eq!(retried.status, 200, "already stored: {}", retried.text);
    let pushed = next_event(&mut b_socket, "NOTIFY_NEW_MSG").await;
    assert_eq!(pushed["data"]["msg"]["content"], "are you there");
    assert_eq!(pushed["data"]["msg"]["id"].as_str(), retried.doc()["message"][0]["sid"].as_str());
}

#[tokio::test]
async fn racing_joins_never_pass_the_member_cap() {
    use aws_sdk_dynamodb::types::AttributeValue as A;
    let owner = new_user("owner", "android").await;
    let created = client(&owner).post_form("/group", &[("name", "nearly full")]).await;
    let group = created.doc()["group"][0].clone();
    let (g_id, g_key) = (group["g_id"].as_u64().unwrap(), group["g_key"].as_str().unwrap().to_string());
    // Two seats left of 500 (the count stands in for 498 members a test would take minutes to make).
    im_tests::dynamodb()
        .update_item()
        .table_name("GroupsTable")
        .key("pk", A::S(format!("group#{g_id}")))
        .key("sk", A::S("#info".into()))
        .update_expression("SET members = :n")
        .expression_attribute_values(":n", A::N("498".into()))
        .send()
        .await
        .unwrap();
    let mut joiners = vec![];
    for i in 0..5 {
        joiners.push(new_user(&format!("j{i}"), "android").await);
    }
    let joins = joiners.iter().map(|j| {
        let key = g_key.clone();
        async move { client(j).post_form(&format!("/group/{g_id}/member"), &[("g_key", &key)]).await.status }
    });
    let statuses = futures::future::join_all(joins).await;
    assert_eq!(statuses.iter().filter(|s| **s == 200).count(), 2, "{statuses:?}");
    assert!(statuses.iter().all(|s| [200, 409].contains(s)), "{statuses:?}");
}

#[tokio::test]
async fn made_up_device_names_cannot_pile_up_sockets() {
    let user = new_user("many", "android").await;
    // Sockets are ordered by the second they were bound in: the oldest gets a second of its own.
    let mut first = connect(&format!("token={}&device=d0", user.token)).await.unwrap();
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    let mut rest = vec![];
    for i in 1..10 {
        rest.push(connect(&format!("token={}&device=d{i}", user.token)).await.unwrap());
    }
    send_text(&mut first, r#"{"event":"PING"}"#).await;
    assert!(next_text(&mut first).await.contains("PONG"), "ten sockets are fine");
    let mut eleventh = connect(&format!("token={}&device=d10", user.token)).await.unwrap();
    assert!(closed(&mut first).await, "the oldest goes");
    send_text(&mut eleventh, r#"{"event":"PING"}"#).await;
    assert!(next_text(&mut eleventh).await.contains("PONG"));
    im_tests::eventually("ten records", || async { im_tests::connection_ids(user.id).await.len() == 10 }).await;
}

#[tokio::test]
async fn lists_come_in_pages_that_link_to_the_next() {
    let owner = new_user("popular", "android").await;
    let mut friends = vec![];
    for i in 0..3 {
        let friend = new_user(&format!("f{i}"), "android").await;
        befriend(&owner, &friend).await;
        friends.push(friend.id);
    }
    let first = client(&owner).get("/friends?limit=2").await;
    assert_eq!(first.status, 200, "{}", first.text);
    let link = first.headers["link"].to_str().unwrap().to_string();
    assert!(link.starts_with("</friends?after=") && link.ends_with(">; rel=\"next\""), "{link}");
    let next = link.trim_start_matches('<').split('>').next().unwrap();
    let second = client(&owner).get(next).await;
    assert!(!second.headers.contains_key("link"), "the last page links nowhere");
    let mut seen: Vec<u64> = [first.doc(), second.doc()]
        .iter()
        .flat_map(|page| page.as_array().unwrap().iter().map(|f| f["friend_id"].as_u64().unwrap()).collect::<Vec<_>>())
        .collect();
    seen.sort_unstable();
    friends.sort_unstable();
    assert_eq!(seen, friends, "every friend once, across the pages");
    assert_eq!(
        client(&owner).get("/friends").await.doc().as_array().map(Vec::len),
        Some(3),
        "no limit: the whole list"
    );
    assert_eq!(client(&owner).get("/friends?limit=0").await.status, 400);
}

#[tokio::test]
async fn a_retried_group_creation_resumes_the_same_group() {
    let (creator, member) = (new_user("creator", "android").await, new_user("member", "android").await);
    befriend(&creator, &member).await;
    let mut socket = connect(&format!("token={}&format=json", member.token)).await.unwrap();
    let form = [("members[]", member.id.to_string()), ("name", "once".into()), ("id", "g-1".into())];
    let form: Vec<(&str, &str)> = form.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let first = client(&creator).post_form("/group", &form).await;
    let again = client(&creator).post_form("/group", &form).await;
    assert_eq!((first.status, again.status), (200, 200), "{} {}", first.text, again.text);
    assert_eq!(first.doc()["group"][0]["g_id"], again.doc()["group"][0]["g_id"], "one group");
    assert_eq!(first.doc()["group"][0]["g_key"], again.doc()["group"][0]["g_key"]);
    assert_eq!(client(&member).get("/group").await.doc()["group"].as_array().map(Vec::len), Some(1));
    let told = next_text(&mut socket).await;
    assert!(told.contains("create_group"), "{told}");
    send_text(&mut socket, r#"{"event":"PING"}"#).await;
    assert!(next_text(&mut socket).await.contains("PONG"), "announced once");
}
