//! Mobile push, registration (issue 24, first step): one registration per device through
//! `PUT/DELETE/GET /device/push` and the socket's `PUSH_REGISTER`/`PUSH_UNREGISTER`, a token
//! held by one registration at a time across all users, registrations ended with their
//! sessions; SNS platform endpoints made on the local SNS emulator under each function's IAM.

use im_tests::{ask, connect, login, new_user, Client, User};
use serde_json::{json, Value};

fn client(token: &str) -> Client {
    Client::new().with_token(token)
}

async fn register(token: &str, platform: &str, push_token: &str) -> im_tests::Answer {
    let body = json!({ "platform": platform, "token": push_token }).to_string().into_bytes();
    client(token).send("PUT", "/device/push", Some("application/json"), Some(("application/json", body))).await
}

/// The user's registrations as `GET /device/push` lists them: (device, platform, token).
async fn listed(token: &str) -> Vec<(String, String, String)> {
    let answer = client(token).get("/device/push").await;
    assert_eq!(answer.status, 200, "{}", answer.text);
    let text = |r: &Value, k: &str| r[k].as_str().unwrap().to_string();
    answer
        .doc()
        .as_array()
        .unwrap()
        .iter()
        .map(|r| (text(r, "device"), text(r, "platform"), text(r, "token")))
        .collect()
}

fn fcm_token(user: &User, n: u32) -> String {
    format!("fcm-{}-{n}:APA91bH", user.id)
}

#[tokio::test]
async fn a_device_registers_lists_and_unregisters_and_bad_input_changes_nothing() {
    let user = new_user("pushy", "android").await;
    let token = fcm_token(&user, 1);
    let body = im_tests::form(&[("platform", "fcm"), ("token", &token)]).into_bytes();
    let form =
        client(&user.token).send("PUT", "/device/push", None, Some(("application/x-www-form-urlencoded", body))).await;
    assert_eq!(form.status, 200, "{}", form.text);
    let registered = &form.doc()["push"][0];
    assert_eq!((registered["platform"].as_str(), registered["token"].as_str()), (Some("fcm"), Some(token.as_str())));
    assert_eq!(registered["enabled"], true);
    assert!(registered["device"].as_str().unwrap().starts_with("android~"), "{registered}");
    assert!(registered.get("endpoint").is_none(), "the SNS endpoint stays the server's");

    for (platform, push_token, reason) in [
        ("gcm", token.as_str(), "platform must be apns, apns_sandbox or fcm"),
        ("fcm", "short", "token must be 8 to 4096"),
        ("fcm", "has spaces in it", "token must be 8 to 4096"),
    ] {
        let bad = register(&user.token, platform, push_token).await;
        assert_eq!(bad.status, 400, "{}", bad.text);
        assert!(bad.reason().starts_with(reason), "{}", bad.reason());
    }
    assert_eq!(listed(&user.token).await.len(), 1, "a refused registration changes nothing");
    assert_eq!(Client::new().get("/device/push").await.status, 401);

    // A new token from the same device replaces the old one.
    let renewed = fcm_token(&user, 2);
    assert_eq!(register(&user.token, "fcm", &renewed).await.status, 200);
    let now: Vec<String> = listed(&user.token).await.into_iter().map(|(_, _, t)| t).collect();
    assert_eq!(now, [renewed]);
    assert_eq!(client(&user.token).send("DELETE", "/device/push", None, None).await.status, 204);
    assert!(listed(&user.token).await.is_empty());
    assert_eq!(
        client(&user.token).send("DELETE", "/device/push", None, None).await.status,
        204,
        "none left: still 204"
    );
}

#[tokio::test]
async fn a_token_moves_to_whoever_registers_it_last_so_a_phone_never_gets_a_push_twice() {
    let first = new_user("first", "iphone").await;
    let token = format!("{:064x}", first.id);
    assert_eq!(register(&first.token, "apns", &token).await.status, 200);
    // A new login on the same phone registers the same token: the older login's goes.
    let again = login(&first.phone, "iphone").await;
    assert_eq!(register(&again, "apns", &token).await.status, 200);
    let devices = listed(&first.token).await;
    assert_eq!(devices.len(), 1, "{devices:?}");
    // Another user signs in on that phone: the token is theirs now.
    let second = new_user("second", "iphone").await;
    assert_eq!(register(&second.token, "apns_sandbox", &token).await.status, 200);
    assert!(listed(&first.token).await.is_empty());
    assert_eq!(listed(&second.token).await[0].1, "apns_sandbox");
}

#[tokio::test]
async fn ending_a_session_ends_its_devices_registration() {
    let user = new_user("leaving", "android").await;
    let tablet = login(&user.phone, "tablet").await;
    assert_eq!(register(&user.token, "fcm", &fcm_token(&user, 1)).await.status, 200);
    assert_eq!(register(&tablet, "fcm", &fcm_token(&user, 2)).await.status, 200);
    assert_eq!(client(&tablet).post_form("/server/logout", &[]).await.status, 200);
    let left: Vec<String> = listed(&user.token).await.into_iter().map(|(_, _, t)| t).collect();
    assert_eq!(left, [fcm_token(&user, 1)], "the tablet's registration went with its session");
    // Log out everywhere: none left, and the token is free for the next registration.
    assert_eq!(client(&user.token).post_form("/server/logout", &[("everywhere", "true")]).await.status, 200);
    let fresh = login(&user.phone, "android").await;
    assert!(listed(&fresh).await.is_empty());
}

#[tokio::test]
async fn the_socket_registers_and_unregisters_its_own_device() {
    let user = new_user("socket", "android").await;
    let mut socket = connect(&format!("token={}", user.token)).await.unwrap();
    let token = fcm_token(&user, 7);
    let ok = ask(&mut socket, "PUSH_REGISTER", json!({ "platform": "fcm", "token": token })).await;
    assert_eq!(ok["event"], "OK", "{ok}");
    assert_eq!(ok["data"]["push"]["token"], json!(token));
    assert_eq!(listed(&user.token).await.len(), 1);
    let refused = ask(&mut socket, "PUSH_REGISTER", json!({ "platform": "blackberry", "token": token })).await;
    assert_ne!(refused["event"], "OK", "{refused}");
    assert_eq!(ask(&mut socket, "PUSH_UNREGISTER", json!({})).await["event"], "OK");
    assert!(listed(&user.token).await.is_empty());
}

/// What the local push platform received at `token`: each delivery's payload.
async fn delivered(token: &str) -> Vec<Value> {
    let answer = Client::new().get(&format!("/_local/push?token={token}")).await;
    assert_eq!(answer.status, 200, "{}", answer.text);
    answer.doc().as_array().unwrap().iter().map(|d| d["payload"].clone()).collect()
}

/// Waits (bounded) until `token` has received `count` pushes; their FCM messages.
async fn fcm_messages(token: &str, count: usize) -> Vec<Value> {
    // Past PUSH_AFTER_SECS (10 s) for a delayed push, and the poller's rounds.
    let what = format!("{count} pushes at {token}");
    im_tests::eventually_within(&what, 40, || async { delivered(token).await.len() >= count }).await;
    delivered(token).await.iter().map(|p| p["fcmV1Message"]["message"].clone()).collect()
}

async fn send_text(from: &User, to: &User, id: &str, text: &str) {
    let sent = client(&from.token).post_form("/message", &[("to", &to.id.to_string()), ("id", id), ("c", text)]).await;
    assert_eq!(sent.status, 200, "{}", sent.text);
}

#[tokio::test]
async fn a_phone_without_a_socket_hears_of_each_message_with_its_exact_badge() {
    let (ann, bob) = (new_user("ann", "web").await, new_user("bob", "android").await);
    im_tests::befriend(&ann, &bob).await;
    let token = fcm_token(&bob, 1);
    assert_eq!(register(&bob.token, "fcm", &token).await.status, 200);
    send_text(&ann, &bob, "p1", "hello bob").await;
    let first = fcm_messages(&token, 1).await;
    assert_eq!(first[0]["notification"], json!({ "title": "ann", "body": "hello bob" }), "{first:?}");
    assert_eq!(first[0]["android"]["notification"]["notification_count"], 1);
    assert_eq!(first[0]["data"]["badge"], "1");
    send_text(&ann, &bob, "p2", "are you there?").await;
    let both = fcm_messages(&token, 2).await;
    assert_eq!(
        (both[1]["notification"]["body"].as_str(), both[1]["data"]["badge"].as_str()),
        (Some("are you there?"), Some("2"))
    );
    assert_eq!(both.len(), 2, "one push per message: {both:?}");

    // Bob reads the conversation on his laptop: the phone's badge falls to 0, silently.
    let laptop = login(&bob.phone, "laptop").await;
    let mut socket = connect(&format!("token={laptop}")).await.unwrap();
    assert_eq!(ask(&mut socket, "CHAT_WITH", json!({ "user": ann.id })).await["event"], "OK");
    let all = fcm_messages(&token, 3).await;
    assert!(all[2].get("notification").is_none(), "a badge-only push shows nothing: {:?}", all[2]);
    assert_eq!(all[2]["data"]["badge"], "0", "{:?}", all[2]);
}

#[tokio::test]
async fn a_live_socket_that_confirms_gets_no_push_and_one_that_does_not_gets_one_after_the_delay() {
    let (ann, bob) = (new_user("ann", "web").await, new_user("bob", "android").await);
    im_tests::befriend(&ann, &bob).await;
    let token = fcm_token(&bob, 1);
    assert_eq!(register(&bob.token, "fcm", &token).await.status, 200);
    let mut phone = connect(&format!("token={}", bob.token)).await.unwrap();
    send_text(&ann, &bob, "seen", "you will read this").await;
    let pushed = im_tests::next_event(&mut phone, "NOTIFY_NEW_MSG").await;
    let id = pushed["data"]["msg"]["id"].as_str().unwrap().to_string();
    assert_eq!(ask(&mut phone, "CHAT_RECEIVE_MSG", json!({ "id": id })).await["event"], "OK");
    // The backgrounded phone: its socket is open, but it confirms nothing.
    send_text(&ann, &bob, "unseen", "you will not").await;
    let pushed = fcm_messages(&token, 1).await;
    assert_eq!(pushed[0]["notification"]["body"], "you will not", "{pushed:?}");
    assert!(delivered(&token).await.len() == 1, "the confirmed message was never pushed");
}

#[tokio::test]
async fn a_token_the_platform_refuses_gets_nothing_and_its_registration_goes_after_the_first_push() {
    let (ann, bob) = (new_user("ann", "web").await, new_user("bob", "android").await);
    im_tests::befriend(&ann, &bob).await;
    let bad = format!("bad-token-{}", bob.id);
    assert_eq!(register(&bob.token, "fcm", &bad).await.status, 200);
    // SNS accepts the publish; the platform refuses the token, SNS disables the endpoint and
    // tells the applications' EventDeliveryFailure topic, whose subscriber (push_feedback)
    // removes the registration: no second message needed.
    send_text(&ann, &bob, "b1", "into the void").await;
    let gone = || async { listed(&bob.token).await.is_empty() };
    im_tests::eventually_within("the refused token's registration goes", 30, gone).await;
    assert!(delivered(&bad).await.is_empty(), "the platform delivered nothing");
}

/// A copy of the template whose push worker lacks `sns:Publish`: the push fails as AWS fails
/// it (the refusal names the worker, the action and the endpoint), nothing reaches the phone,
/// and the job, retried by SQS, ends in the dead-letter queue.
#[tokio::test]
async fn a_push_worker_without_sns_publish_is_refused_as_on_aws_and_its_job_dead_letters() {
    let grant = "            - { Effect: Allow, Action: [sns:Publish], Resource: !Sub \"arn:${AWS::Partition}:sns:${AWS::Region}:${AWS::AccountId}:endpoint/*\" }\n";
    let (stack, copy) = im_tests::stack_with_policy_changed("PushFunction", grant, "").await;

    let client = Client::of(&stack.http_url);
    let mut users = vec![];
    for name in ["ann", "bob"] {
        let phone = im_tests::unique_phone();
        let created = client.post_form("/user", &[("phone", &phone), ("name", name), ("password", "888888")]).await;
        let id = created.doc()["user"][0]["id"].as_u64().unwrap();
        let login = client.post_form("/server/login", &[("phone", &phone), ("password", "888888")]).await;
        users.push((id, login.doc()["response"][0]["user"]["token"].as_str().unwrap().to_string()));
    }
    let ((ann, ann_token), (bob, bob_token)) = (users[0].clone(), users[1].clone());
    let body = |id: u64| Some(("application/json", json!({ "requested_user_id": id }).to_string().into_bytes()));
    assert_eq!(client.with_token(&ann_token).send("POST", "/friends/request", None, body(bob)).await.status, 201);
    assert_eq!(client.with_token(&bob_token).send("POST", "/friends/accept", None, body(ann)).await.status, 201);
    let token = format!("fcm-denied-{bob}:APA91bH");
    let registration = json!({ "platform": "fcm", "token": token }).to_string().into_bytes();
    let registered =
        client.with_token(&bob_token).send("PUT", "/device/push", None, Some(("application/json", registration))).await;
    assert_eq!(registered.status, 200, "{}", registered.text);
    let sent = client
        .with_token(&ann_token)
        .post_form("/message", &[("to", &bob.to_string()), ("id", "d1"), ("c", "hi")])
        .await;
    assert_eq!(sent.status, 200, "the send never waits on its pushes: {}", sent.text);

    let refused =
        || async {
            stack.gateway.denials.list().iter().any(|d| {
                d.starts_with("push: sns:Publish on arn:aws:sns:us-east-1:000000000000:endpoint/GCM/local-fcm/")
            })
        };
    im_tests::eventually_within("the worker's publish is refused", 30, refused).await;
    let dead = || async { !stack.gateway.sqs.dead_letters("PushDeadLetterQueue").is_empty() };
    im_tests::eventually_within("the job ends in the dead-letter queue", 60, dead).await;
    assert!(stack.gateway.sns.deliveries_to(&token).is_empty(), "nothing reached the phone");
    std::fs::remove_file(copy).ok();
}

async fn put(token: &str, path: &str, body: Value) -> im_tests::Answer {
    let body = body.to_string().into_bytes();
    client(token).send("PUT", path, Some("application/json"), Some(("application/json", body))).await
}

#[tokio::test]
async fn without_previews_no_text_leaves_and_a_muted_conversation_is_not_pushed() {
    let (ann, bob) = (new_user("ann", "web").await, new_user("bob", "android").await);
    im_tests::befriend(&ann, &bob).await;
    let token = fcm_token(&bob, 3);
    assert_eq!(register(&bob.token, "fcm", &token).await.status, 200);
    assert_eq!(client(&bob.token).get("/user/settings").await.doc()["settings"][0]["push_preview"], true);
    let off = client(&bob.token)
        .send(
            "PUT",
            "/user/settings",
            None,
            Some(("application/x-www-form-urlencoded", b"push_preview=false".to_vec())),
        )
        .await;
    assert_eq!((off.status, off.doc()["settings"][0]["push_preview"].clone()), (200, json!(false)), "{}", off.text);
    send_text(&ann, &bob, "s1", "the secret plan").await;
    let first = fcm_messages(&token, 1).await;
    assert_eq!(first[0]["notification"]["body"], "New message");
    assert!(!delivered(&token).await[0].to_string().contains("secret"), "no text crosses the platform");

    // Unmuting what was never muted is no error (the settings item has no mutes yet).
    let nothing = put(&bob.token, "/mute", json!({ "with": ann.id, "until": 0 })).await;
    assert_eq!((nothing.status, nothing.doc()["mute"].clone()), (200, json!([])), "{}", nothing.text);
    let until = im_functions::domain::now_secs() + 3600;
    let muted = put(&bob.token, "/mute", json!({ "with": ann.id, "until": until })).await;
    assert_eq!(muted.status, 200, "{}", muted.text);
    assert_eq!(muted.doc()["mute"], json!([{ "with": ann.id, "until": until }]));
    assert_eq!(client(&bob.token).get("/mute").await.doc(), json!([{ "with": ann.id, "until": until }]));
    send_text(&ann, &bob, "s2", "while muted").await;
    // Carol is not muted: her message's job runs after the muted one, so once hers is pushed,
    // the muted one has had its turn.
    let carol = new_user("carol", "web").await;
    im_tests::befriend(&carol, &bob).await;
    send_text(&carol, &bob, "c1", "from carol").await;
    // Three pushes: ann's first message, carol's friend request, carol's message.
    let pushes = fcm_messages(&token, 3).await;
    let messages: Vec<&Value> =
        pushes.iter().filter(|p| p["data"]["conversation"].as_str().unwrap().starts_with("dm#")).collect();
    assert_eq!(messages.len(), 2, "the muted message was never pushed: {pushes:?}");
    assert_eq!(messages[1]["notification"]["title"], "carol", "{pushes:?}");
    let unmuted = put(&bob.token, "/mute", json!({ "with": ann.id, "until": 0 })).await;
    assert_eq!((unmuted.status, unmuted.doc()["mute"].clone()), (200, json!([])));

    for (body, status, reason) in [
        (json!({ "with": ann.id, "g_id": 1, "until": 5 }), 400, "give with or g_id, not both"),
        (json!({ "until": 5 }), 400, "with or g_id is required"),
        (json!({ "with": bob.id, "until": 5 }), 400, "you cannot mute yourself"),
        (json!({ "with": ann.id }), 400, "until is required"),
        (json!({ "g_id": 999_999_999, "until": 5 }), 403, "you are not a member of this group"),
    ] {
        let refused = put(&bob.token, "/mute", body).await;
        assert_eq!((refused.status, refused.reason()), (status, reason.to_string()), "{}", refused.text);
    }
    assert_eq!(client(&bob.token).get("/mute").await.doc(), json!([]), "refusals changed nothing");
}
