//! Holes: a number taken whose message is never written (a sender killed between its two
//! writes, a group retry racing its first attempt) is sealed for good and never counted unread.
//! A crash cannot be staged from outside, so these tests leave in DynamoDB exactly what one
//! leaves (the head moved, no entry) and age an entry as an hour would; everything else goes
//! through the gateways.

use aws_sdk_dynamodb::types::AttributeValue;
use im_adapters::Clients;
use im_functions::domain::ids::{ConversationId, GroupId, UserId};
use im_functions::store::streams::{self, NewEntry, Placed};
use im_tests::{ask, befriend, connect, new_user, next_event, Client, Socket, User};
use serde_json::json;

fn client(user: &User) -> Client {
    Client::new().with_token(&user.token)
}

fn table() -> String {
    im_tests::stack().config().tables.conversations
}

fn number(value: u64) -> AttributeValue {
    AttributeValue::N(value.to_string())
}

/// What a sender killed after taking its number leaves: the head moved, nothing written.
async fn crash_after_numbering(conversation: ConversationId) {
    let update = im_tests::dynamodb().update_item().table_name(table());
    let update = update.key("pk", AttributeValue::S(conversation.to_string())).key("sk", number(0));
    let update = update.update_expression("ADD #seq :one").expression_attribute_names("#seq", "seq");
    update.expression_attribute_values(":one", number(1)).send().await.unwrap();
}

/// An entry as an hour later: its write time an hour back, past every function's timeout.
async fn age(conversation: ConversationId, seq: u64) {
    let ago = im_functions::domain::now_secs() - 3600;
    let update = im_tests::dynamodb().update_item().table_name(table());
    let update = update.key("pk", AttributeValue::S(conversation.to_string())).key("sk", number(seq));
    let update = update.update_expression("SET ts = :ago").expression_attribute_values(":ago", number(ago));
    update.condition_expression("attribute_exists(sk)").send().await.unwrap();
}

/// Removes an entry, as though its sender died before writing it.
async fn unwrite(conversation: ConversationId, seq: u64) {
    let delete = im_tests::dynamodb().delete_item().table_name(table());
    let delete = delete.key("pk", AttributeValue::S(conversation.to_string())).key("sk", number(seq));
    delete.send().await.unwrap();
}

/// Sends a text over HTTP; its number.
async fn send(from: &User, to: &User, id: &str, c: &str) -> u64 {
    let sent = client(from).post_form("/message", &[("to", &to.id.to_string()), ("id", id), ("c", c)]).await;
    assert_eq!(sent.status, 200, "{}", sent.text);
    let sid = sent.doc()["message"][0]["sid"].as_str().unwrap().to_string();
    sid.rsplit(':').next().unwrap().parse().unwrap()
}

async fn history(reader: &User, with: &User) -> Vec<String> {
    let doc = client(reader).get(&format!("/message/history?with={}", with.id)).await.doc();
    doc["m"].as_array().unwrap().iter().map(|m| m["c"].as_str().unwrap().to_string()).collect()
}

async fn unread_from(socket: &mut Socket, sender: &User) -> u64 {
    ask(socket, "LIST_CONTACTS_UNREAD", json!({})).await["data"]["contacts"][&sender.phone].as_u64().unwrap()
}

#[tokio::test]
async fn a_number_a_crashed_send_left_is_sealed_by_a_reader_and_never_counted_unread() {
    let (a, b) = (new_user("a", "android").await, new_user("b", "iphone").await);
    befriend(&a, &b).await;
    let dm = ConversationId::direct(UserId(a.id), UserId(b.id));
    let mut b_socket = connect(&format!("token={}", b.token)).await.unwrap();
    assert_eq!(send(&a, &b, "h1", "one").await, 1);
    crash_after_numbering(dm).await;
    assert_eq!(send(&a, &b, "h3", "three").await, 3);
    // Number 2 may still be written by a live sender: it counts until known for good.
    assert_eq!(unread_from(&mut b_socket, &a).await, 3);
    assert_eq!(history(&b, &a).await, ["one", "three"]);
    assert_eq!(unread_from(&mut b_socket, &a).await, 3, "an entry written just now proves nothing");

    // An hour on, the next reader seals it: counts and pushes leave it out.
    age(dm, 3).await;
    assert_eq!(history(&b, &a).await, ["one", "three"]);
    assert_eq!(unread_from(&mut b_socket, &a).await, 2);
    assert_eq!(send(&a, &b, "h4", "four").await, 4);
    let pushed = next_event(&mut b_socket, "NOTIFY_UPDATE_UNREAD").await;
    assert_eq!(pushed["data"]["unread_msg_count"][&a.phone], 3, "{pushed}");
    assert_eq!(history(&b, &a).await, ["one", "three", "four"]);

    // Reading to the head clears it all; the hole below the marker is nothing.
    assert_eq!(ask(&mut b_socket, "CHAT_WITH", json!({"user": a.id})).await["event"], "OK");
    assert_eq!(unread_from(&mut b_socket, &a).await, 0);
}

#[tokio::test]
async fn a_retry_whose_first_number_was_sealed_is_stored_at_a_new_one_once() {
    let (a, b) = (new_user("a", "android").await, new_user("b", "iphone").await);
    befriend(&a, &b).await;
    let dm = ConversationId::direct(UserId(a.id), UserId(b.id));
    // The first attempt of r1 took number 1 and died before writing it.
    assert_eq!(send(&a, &b, "r1", "x").await, 1);
    unwrite(dm, 1).await;
    assert_eq!(send(&a, &b, "r2", "y").await, 2);
    age(dm, 2).await;
    assert_eq!(history(&b, &a).await, ["y"], "the reader seals number 1");

    // The retry finds its number sealed and takes a new one; a second retry answers that one.
    assert_eq!(send(&a, &b, "r1", "x").await, 3);
    assert_eq!(send(&a, &b, "r1", "x").await, 3);
    assert_eq!(history(&b, &a).await, ["y", "x"]);
    let mut b_socket = connect(&format!("token={}", b.token)).await.unwrap();
    assert_eq!(unread_from(&mut b_socket, &a).await, 2);
}

#[tokio::test]
async fn a_group_retry_racing_its_first_attempt_seals_its_own_number() {
    let (owner, member) = (new_user("owner", "android").await, new_user("member", "android").await);
    befriend(&owner, &member).await;
    let fields = [("members[]", member.id.to_string()), ("name", "g".into())];
    let fields: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let created = client(&owner).post_form("/group", &fields).await;
    let g_id = created.doc()["group"][0]["g_id"].as_u64().unwrap();
    let group = ConversationId::Group(GroupId(g_id));
    let sent = client(&owner).post_form("/message", &[("g_id", &g_id.to_string()), ("id", "g1"), ("c", "hi")]).await;
    assert_eq!(sent.status, 200, "{}", sent.text);

    // A retry that looked its key up before the first attempt stored it: it takes a number,
    // then finds the key taken in the transaction that would write it.
    let clients = Clients::local(im_tests::stack().config());
    let unread_before = streams::unread(&clients, UserId(member.id), group).await.unwrap();
    let head = streams::head(&clients, group).await.unwrap();
    let (stored, _) = streams::read_range(&clients, group, 0, head, 10).await.unwrap();
    let first = stored.iter().find(|e| e.message().is_some_and(|m| m.client_id == "g1")).unwrap();
    let key = streams::dedup_key(group, UserId(owner.id), "g1");
    let seq = streams::allocate(&clients, group).await.unwrap().seq;
    let entry = NewEntry { echo_of: None, body: &first.body };
    let placed = streams::write(&clients, group, seq, &entry, Some(&key)).await.unwrap();
    assert_eq!(placed, Placed::Earlier(first.seq), "the first attempt's number is answered");
    assert_eq!(streams::head(&clients, group).await.unwrap(), head + 1);
    assert_eq!(streams::read_page(&clients, group, head, head + 1, 10).await.unwrap().holes, [seq], "sealed at once");
    assert_eq!(streams::unread(&clients, UserId(member.id), group).await.unwrap(), unread_before);
    let history = client(&member).get(&format!("/message/history?g_id={g_id}")).await.doc();
    let said: Vec<&str> = history["gm"].as_array().unwrap().iter().filter_map(|m| m["c"].as_str()).collect();
    assert_eq!(said, ["hi"], "{history}");
}
