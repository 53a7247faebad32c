//! Read markers: how far a user has read; unread is the stream's head minus it (less the sealed
//! holes above it, `holes`), exact under races, one write to mark read. A group's is its own item, `read#<conversation>#<user>`; a
//! one-to-one conversation's two live on its head (`read_<user>`, see `direct`), where a send
//! raises its sender's in the update that numbers it. Items `read#dm#…` written before that
//! are still read: a one-to-one marker is the higher of the two.

use super::holes::{unread_count, Holes};
use super::keys::{cursor_key, read_attribute, read_key, stream_key};
use super::markers::{items, number};
use crate::domain::confirmed::Confirmed;
use crate::domain::ids::ANY_DEVICE;
use crate::domain::ids::{ConversationId, UserId};
use crate::store::{aws, lost_condition, n, s, Item, Result};
use im_adapters::Clients;
use std::collections::HashMap;

/// The items a marker is read from: the head, and the marker's own item.
fn keys(conversation: ConversationId, user: UserId) -> [String; 2] {
    [stream_key(conversation), read_key(conversation, user)]
}

/// The head's sequence, its sealed holes and `user`'s marker, from the items [`keys`] names.
fn head_and_marker(found: &HashMap<String, Item>, conversation: ConversationId, user: UserId) -> (u64, Holes, u64) {
    let [head, own] = keys(conversation, user).map(|key| found.get(&key));
    let seq = head.and_then(|item| number(item, "seq")).unwrap_or(0);
    let holes = head.map(Holes::of).unwrap_or_default();
    let on_head = head.and_then(|item| number(item, &read_attribute(user))).unwrap_or(0);
    let own = own.and_then(|item| number(item, "seq")).unwrap_or(0);
    (seq, holes, on_head.max(own))
}

/// Where each of `users` stands in a conversation: (read marker, the highest entry any of their
/// devices confirmed). One consistent BatchGetItem per 50 users: the head (a one-to-one
/// conversation's markers), each user's marker item and user-level cursor.
pub async fn receipts(clients: &Clients, conversation: ConversationId, users: &[UserId]) -> Result<Vec<(u64, u64)>> {
    let mut pks = vec![stream_key(conversation)];
    for user in users {
        pks.push(read_key(conversation, *user));
        pks.push(cursor_key(*user, ANY_DEVICE, conversation));
    }
    let found = items(clients, pks).await?;
    let delivered = |user: UserId| {
        let cursor = found.get(&cursor_key(user, ANY_DEVICE, conversation))?;
        let above = cursor.get("above").and_then(|v| v.as_s().ok()).map_or("", String::as_str);
        Some(Confirmed::decode(number(cursor, "seq").unwrap_or(0), above).highest())
    };
    Ok(users
        .iter()
        .map(|user| (head_and_marker(&found, conversation, *user).2, delivered(*user).unwrap_or(0)))
        .collect())
}

/// Unread entries of `user` in a conversation: head minus read marker less the sealed holes
/// above it, exact under races.
pub async fn unread(clients: &Clients, user: UserId, conversation: ConversationId) -> Result<u64> {
    Ok(unread_in(clients, user, &[conversation]).await?[0])
}

/// Raises `user`'s read marker to `seq`, never lowering it.
pub async fn raise_read_marker(
    clients: &Clients,
    user: UserId,
    conversation: ConversationId,
    seq: u64,
) -> Result<bool> {
    let (key, name) = match conversation {
        ConversationId::Direct(..) => (stream_key(conversation), read_attribute(user)),
        _ => (read_key(conversation, user), "seq".to_string()),
    };
    let moved = clients
        .dynamodb
        .update_item()
        .table_name(&clients.config.tables.conversations)
        .key("pk", s(key))
        .key("sk", n(0))
        .update_expression("SET #seq = :seq")
        .condition_expression("attribute_not_exists(#seq) OR #seq < :seq")
        .expression_attribute_names("#seq", name)
        .expression_attribute_values(":seq", n(seq))
        .send()
        .await;
    match moved {
        Ok(_) => Ok(true),
        Err(err) if lost_condition(&err) => Ok(false),
        Err(err) => Err(aws(err)),
    }
}

/// Unread counts of `user` in each of `conversations` (head minus read marker, less sealed
/// holes), in their order: one BatchGetItem per 50 conversations, and a Query for a marker
/// behind more holes than its head remembers (`holes`).
pub async fn unread_in(clients: &Clients, user: UserId, conversations: &[ConversationId]) -> Result<Vec<u64>> {
    let found = items(clients, conversations.iter().flat_map(|c| keys(*c, user)).collect()).await?;
    let counts = conversations.iter().map(|c| {
        let (head, holes, read) = head_and_marker(&found, *c, user);
        async move { unread_count(clients, *c, (head, &holes), read).await }
    });
    futures::future::try_join_all(counts).await
}
