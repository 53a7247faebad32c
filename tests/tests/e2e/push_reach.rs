//! Mobile push beyond one-to-one messages (issue 24): a group's members each get one push,
//! through the fan-out worker, so the sender never waits for them; a friend request alerts the
//! phone of the user it is for.

use im_adapters::Clients;
use im_functions::domain::ids::{GroupId, UserId};
use im_functions::domain::push::Platform;
use im_tests::{new_user, Client};
use serde_json::Value;

/// What the local push platform received at `token`: each delivery's FCM message.
async fn delivered(token: &str) -> Vec<Value> {
    let answer = Client::new().get(&format!("/_local/push?token={token}")).await;
    assert_eq!(answer.status, 200, "{}", answer.text);
    answer.doc().as_array().unwrap().iter().map(|d| d["payload"]["fcmV1Message"]["message"].clone()).collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_group_of_150_phones_without_sockets_gets_one_push_each_through_the_worker() {
    let urls = im_tests::stack();
    let clients = Clients::local(urls.config());
    let sender = new_user("host", "web").await;
    let base = 8_000_000_000 + u64::from(rand::random::<u32>()) * 1000;
    let others: Vec<u64> = (0..149).map(|i| base + i).collect();
    let group = GroupId(base);
    let mut members = others.clone();
    members.push(sender.id);
    im_functions::store::groups::write_memberships(&clients, group, &im_tests::user_ids(&members), true).await.unwrap();
    let token = |id: u64| format!("fcm-group-{id}:APA91bH");
    for id in &others {
        let at = (UserId(*id), "android~phone", "session");
        im_functions::service::push::register(&clients, at, Platform::Fcm, &token(*id)).await.unwrap();
    }
    let handed_off = urls.invocations.of("fan_out").queued;
    let sent = Client::new()
        .with_token(&sender.token)
        .post_form("/message", &[("g_id", &base.to_string()), ("id", "g150"), ("c", "all hands")])
        .await;
    assert_eq!(sent.status, 200, "{}", sent.text);
    // The send handed the audience to the worker (an asynchronous invocation) and answered:
    // the worker, not the sender, queues the pushes.
    assert!(urls.invocations.of("fan_out").queued > handed_off, "{:?}", urls.invocations.of("fan_out"));
    for id in &others {
        let what = format!("member {id}'s push");
        im_tests::eventually_within(&what, 120, || async { !delivered(&token(*id)).await.is_empty() }).await;
    }
    for id in &others {
        let pushes = delivered(&token(*id)).await;
        assert_eq!(pushes.len(), 1, "one push each: {pushes:?}");
        assert_eq!(pushes[0]["notification"]["body"], "all hands", "{pushes:?}");
    }
    let own = format!("fcm-group-{}:APA91bH", sender.id);
    assert!(delivered(&own).await.is_empty(), "never to the sender");
}

#[tokio::test]
async fn a_friend_request_alerts_the_phone_it_is_for() {
    let (ann, bob) = (new_user("ann", "web").await, new_user("bob", "android").await);
    let token = format!("fcm-request-{}:APA91bH", bob.id);
    let body = serde_json::json!({ "platform": "fcm", "token": token }).to_string().into_bytes();
    let registered =
        Client::new().with_token(&bob.token).send("PUT", "/device/push", None, Some(("application/json", body))).await;
    assert_eq!(registered.status, 200, "{}", registered.text);
    im_tests::befriend(&ann, &bob).await;
    im_tests::eventually_within("the request's push", 30, || async { !delivered(&token).await.is_empty() }).await;
    let pushes = delivered(&token).await;
    assert_eq!(pushes[0]["notification"]["title"], "ann", "{pushes:?}");
    assert_eq!(pushes[0]["notification"]["body"], "ann sent you a friend request", "{pushes:?}");
    assert_eq!(pushes.len(), 1, "bob's own accept alerts nobody on his side: {pushes:?}");
}
