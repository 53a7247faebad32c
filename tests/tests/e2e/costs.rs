//! What a message costs in DynamoDB requests, counted by the SDK's own request counter on a
//! client of the functions' code (not the stack's shared one, which other tests also use), and
//! the fan-out hand-off of large audiences to the worker, through the local Lambda API.

use im_adapters::Clients;
use im_functions::delivery::fan_out::Batch;
use im_functions::domain::entry::{Body, Message};
use im_functions::domain::ids::{Actor, ConversationId, DeviceName, GroupId, Target, UserId};
use im_functions::domain::message::{MessageKind, Outgoing};
use im_functions::store::streams::{self, NewEntry};
use std::collections::BTreeMap;

const WRITES: [&str; 5] = ["PutItem", "UpdateItem", "DeleteItem", "TransactWriteItems", "BatchWriteItem"];

fn base() -> u64 {
    7_000_000_000 + u64::from(rand::random::<u32>()) * 1000
}

fn actor(user_id: u64) -> Actor {
    Actor {
        user_id: UserId(user_id),
        device: DeviceName::parse(Some("bench")).unwrap(),
        tag: String::new(),
        connection_id: None,
    }
}

/// Sends two messages to a group of `n` members, each with a live socket through the local
/// gateway, and returns the requests of the second send (the first creates the conversation).
async fn second_send(clients: &Clients, n: usize) -> BTreeMap<String, u64> {
    let base = base();
    let members: Vec<u64> = (0..n as u64).map(|i| base + i).collect();
    im_functions::store::groups::write_memberships(clients, GroupId(base), &im_tests::user_ids(&members), true)
        .await
        .unwrap();
    let mut sockets = im_tests::live_sockets(clients, &members[1..], "toml").await;
    let mut requests = BTreeMap::new();
    for i in 0..2 {
        let out =
            Outgoing::new(format!("cost-{i}"), "text", format!("message {i}"), Target::Group(GroupId(base))).unwrap();
        let before = clients.dynamodb_requests.snapshot();
        im_functions::service::messages::send(clients, &actor(members[0]), &out).await.unwrap();
        requests = clients.dynamodb_requests.since(&before);
        for socket in &mut sockets {
            let frame = im_tests::next_text(socket).await;
            assert!(frame.contains(&format!("message {i}")), "{frame}");
        }
    }
    requests
}

fn writes(requests: &BTreeMap<String, u64>) -> BTreeMap<String, u64> {
    requests.iter().filter(|(op, _)| WRITES.contains(&op.as_str())).map(|(op, c)| (op.clone(), *c)).collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_message_writes_the_same_whatever_the_group_size_and_nothing_scans() {
    let urls = im_tests::stack();
    let clients = Clients::local(urls.config());
    // Counted when Lambda takes the event, before the sender's send returns.
    let handed_off = urls.invocations.of("fan_out").queued;
    let small = second_send(&clients, 3).await;
    let medium = second_send(&clients, 60).await;
    // Beyond DIRECT_AUDIENCE (100): the worker posts; every member still gets the message.
    let large = second_send(&clients, 150).await;
    assert!(!writes(&small).is_empty(), "a send writes: {small:?}");
    assert_eq!(writes(&small), writes(&medium), "writes per message depend on the group size");
    assert_eq!(writes(&small), writes(&large), "writes per message depend on the group size");
    // Reads do not grow with the group either: its live connections and its push-registered
    // devices are one Query each of its indexes (`store::live`, `store::pushable`), the worker's
    // past the hand-off; nothing is looked up member by member.
    for requests in [&small, &medium, &large] {
        assert_eq!(requests.get("BatchGetItem"), None, "{requests:?}");
    }
    assert_eq!(small.get("Query"), medium.get("Query"), "{small:?} {medium:?}");
    let sender_queries = large.get("Query").copied().unwrap_or_default();
    assert_eq!(Some(&(sender_queries + 2)), small.get("Query"), "the sender looked its audience up itself: {large:?}");
    assert!(urls.invocations.of("fan_out").queued >= handed_off + 2, "{:?}", urls.invocations.of("fan_out"));
    // Nothing, in this send or anywhere in the stack so far, scans a table.
    for requests in [&small, &medium, &large, &urls.dynamodb_requests.snapshot()] {
        assert!(!requests.contains_key("Scan"), "a Scan: {requests:?}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_handed_off_delivery_that_fails_is_retried_by_lambda() {
    let urls = im_tests::stack();
    let clients = Clients::local(urls.config());
    let base = base();
    let members: Vec<u64> = (0..3).map(|i| base + i).collect();
    im_functions::store::groups::write_memberships(&clients, GroupId(base), &im_tests::user_ids(&members), true)
        .await
        .unwrap();
    let mut sockets = im_tests::live_sockets(&clients, &members, "toml").await;
    let conversation = ConversationId::Group(GroupId(base));
    // The worker is handed an entry that is not stored yet: its run fails, Lambda retries it.
    let before = urls.invocations.of("fan_out");
    let batch = Batch {
        user_id: UserId(base + 999),
        device: "bench".into(),
        tag: String::new(),
        connection_id: None,
        conversation: conversation.to_string(),
        seq: 1,
        users: im_tests::user_ids(&members),
        audience: members.len(),
    };
    let function = urls.fan_out_function.clone().expect("the template names a fan-out worker");
    clients.invoker.queue(&function, serde_json::to_vec(&batch).unwrap()).await.unwrap();
    im_tests::eventually("the first run fails", || async {
        urls.invocations.of("fan_out").failed_runs > before.failed_runs
    })
    .await;
    // A group message as a send stores it (docs/asyncapi.yaml holds the frame to that shape).
    let body = Body::Message(Message {
        client_id: "r-1".into(),
        t: MessageKind::Text,
        c: "retried".into(),
        from: UserId(base + 999),
        from_email: None,
        target: Target::Group(GroupId(base)),
        ts: 1_795_000_000,
        us: 0,
        d: "android".into(),
        deleted: false,
        details: Default::default(),
    });
    let new = NewEntry { echo_of: None, body: &body };
    streams::append(&clients, conversation, new).await.unwrap();
    for socket in &mut sockets {
        let frame = im_tests::next_text(socket).await;
        assert!(frame.contains("retried"), "{frame}");
    }
    im_tests::eventually("the retried run succeeds", || async {
        let after = urls.invocations.of("fan_out");
        after.succeeded > before.succeeded && after.runs >= before.runs + 2
    })
    .await;
}

#[tokio::test]
async fn the_lambda_api_refuses_an_event_over_256_kb_and_an_unknown_function() {
    let urls = im_tests::stack();
    let clients = Clients::local(urls.config());
    let function = urls.fan_out_function.clone().unwrap();
    let refused = clients.invoker.queue(&function, vec![b' '; 257 * 1024]).await.unwrap_err();
    assert!(refused.contains("RequestEntityTooLarge"), "{refused}");
    let unknown = clients.invoker.queue("no-such-function", b"{}".to_vec()).await.unwrap_err();
    assert!(unknown.contains("ResourceNotFound"), "{unknown}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_group_message_over_http_is_handed_off_under_the_functions_own_iam() {
    let urls = im_tests::stack();
    let clients = Clients::local(urls.config());
    let base = base();
    let members: Vec<u64> = (0..120).map(|i| base + i).collect();
    im_functions::store::groups::write_memberships(&clients, GroupId(base), &im_tests::user_ids(&members), true)
        .await
        .unwrap();
    let mut sockets = im_tests::live_sockets(&clients, &members[1..], "toml").await;
    let sender = DeviceName::parse(Some("bench")).unwrap();
    let token = im_tests::token_for(&clients, members[0], &sender).await;
    let queued = urls.invocations.of("fan_out").queued;
    // `send_message` runs with its template policy: the hand-off needs its lambda:InvokeFunction
    // grant (refused, the sender would post to everyone itself and nothing would be queued).
    let sent = im_tests::Client::new()
        .with_token(&token)
        .post_form("/message", &[("g_id", &base.to_string()), ("id", "http-1"), ("t", "text"), ("c", "over http")])
        .await;
    assert_eq!(sent.status, 200, "{}", sent.text);
    for socket in &mut sockets {
        let frame = im_tests::next_text(socket).await;
        assert!(frame.contains("over http"), "{frame}");
    }
    assert!(urls.invocations.of("fan_out").queued > queued, "{:?}", urls.invocations.of("fan_out"));
}

/// A one-to-one message writes twice, whatever happened before: the head's update (its number,
/// the sender's read marker, its client id) and the message; a retry of it writes nothing new
/// and answers the first message.
#[tokio::test(flavor = "multi_thread")]
async fn a_one_to_one_message_is_two_writes_and_its_retry_none() {
    let urls = im_tests::stack();
    let clients = Clients::local(urls.config());
    let (a, b) = (base(), base() + 1);
    im_functions::service::contacts::befriend(&clients, &actor(a), UserId(b)).await.unwrap();
    im_functions::service::contacts::befriend(&clients, &actor(b), UserId(a)).await.unwrap();
    let mut sockets = im_tests::live_sockets(&clients, &[b], "toml").await;
    let mut sent = vec![];
    let mut requests = BTreeMap::new();
    for (i, id) in ["d-1", "d-2", "d-2"].iter().enumerate() {
        let out = Outgoing::new(id.to_string(), "text", format!("note {i}"), Target::User(UserId(b))).unwrap();
        let before = clients.dynamodb_requests.snapshot();
        sent.push(im_functions::service::messages::send(&clients, &actor(a), &out).await.unwrap());
        requests = clients.dynamodb_requests.since(&before);
        if i == 1 {
            let writes = writes(&requests);
            assert_eq!(writes, BTreeMap::from([("PutItem".into(), 1), ("UpdateItem".into(), 1)]), "{requests:?}");
            assert_eq!(requests.get("BatchGetItem"), Some(&1), "one connection look-up: {requests:?}");
        }
    }
    assert_eq!((sent[1].seq, sent[1].new), (2, true));
    assert_eq!((sent[2].seq, sent[2].new), (2, false), "the retry answers the first");
    assert_eq!(requests.get("UpdateItem"), Some(&1), "{requests:?}");
    // The retry pushes the stored message again (a first attempt may have died before its posts).
    for expected in ["note 0", "note 1", "note 1"] {
        let frame = im_tests::next_text(&mut sockets[0]).await;
        assert!(frame.contains(expected), "{frame}");
    }
    let conversation = ConversationId::direct(UserId(a), UserId(b));
    let (stored, _) = streams::read_range(&clients, conversation, 0, 10, 10).await.unwrap();
    assert_eq!(stored.len(), 2, "stored once each");
    assert_eq!(streams::unread(&clients, UserId(b), conversation).await.unwrap(), 2);
    assert_eq!(streams::unread(&clients, UserId(a), conversation).await.unwrap(), 0, "what one sends is read");
}
