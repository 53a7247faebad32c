//! Sessions in the users table: `token#<sha256(token)>` with the user, the device, the login's
//! tag and an `expires_at` TTL; and `sessions#<user>`, a map `s` of that user's sessions by
//! token hash (device, tag, expiry), so "log out everywhere" and a password change find them.
//! The token itself is never stored.

use super::{aws, batch_write, from_item, malformed, put_in_map, remove_from_map, s, to_item, Result};
use crate::domain::ids::UserId;
use crate::domain::now_secs;
use aws_sdk_dynamodb::types::{AttributeValue, DeleteRequest, ReturnValue, WriteRequest};
use im_adapters::Clients;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::collections::HashMap;

#[derive(Serialize, Deserialize)]
struct SessionItem {
    pk: String,
    user_id: UserId,
    device: String,
    /// The login's own tag (see `domain::ids::device_key`); none on older sessions.
    #[serde(default)]
    tag: String,
    expires_at: u64,
}

/// A live session: whose, on which device, until when.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Session {
    pub user_id: UserId,
    pub device: String,
    pub tag: String,
    pub expires_at: u64,
}

/// One session in a user's `s` map.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Listed {
    /// Device name.
    pub d: String,
    /// The login's tag.
    pub g: String,
    /// When it expires (seconds).
    pub x: u64,
    /// When it was opened (seconds); 0 for sessions listed before this was kept.
    #[serde(default)]
    pub c: u64,
    /// When a socket of it last logged in (seconds); 0: never.
    #[serde(default)]
    pub l: u64,
}

fn hash(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

fn session_key(hash: &str) -> String {
    format!("token#{hash}")
}

fn ticket_key(hash: &str) -> String {
    format!("ticket#{hash}")
}

pub(super) fn index_key(user: UserId) -> String {
    format!("sessions#{user}")
}

/// Stores the session `id` (its token's hash) and lists it.
pub async fn open(clients: &Clients, id: &str, session: &Session) -> Result<()> {
    let Session { user_id, device, tag, expires_at } = session.clone();
    let item = SessionItem { pk: session_key(id), user_id, device: device.clone(), tag: tag.clone(), expires_at };
    let table = &clients.config.tables.users;
    let put = clients.dynamodb.put_item().table_name(table).set_item(Some(to_item(&item)?));
    put.send().await.map_err(aws)?;
    let listed = Listed { d: device, g: tag, x: expires_at, c: now_secs(), l: 0 };
    put_in_map(clients, table, &index_key(user_id), ("s", id), AttributeValue::M(to_item(&listed)?)).await
}

/// Ends the session `id`; ending an unknown session is not an error.
pub async fn close(clients: &Clients, id: &str) -> Result<()> {
    let table = &clients.config.tables.users;
    let delete = clients.dynamodb.delete_item().table_name(table).key("pk", s(session_key(id)));
    let removed = delete.return_values(ReturnValue::AllOld).send().await.map_err(aws)?;
    if let Some(item) = removed.attributes {
        let session: SessionItem = from_item(item)?;
        remove_from_map(clients, table, &index_key(session.user_id), "s", &[id.to_string()]).await?;
    }
    Ok(())
}

/// A live session (one strongly consistent GetItem, so a socket bound after a logout sees it
/// ended); `None` when unknown or expired (and not yet swept by TTL).
pub async fn find(clients: &Clients, id: &str) -> Result<Option<Session>> {
    let get = clients.dynamodb.get_item().table_name(&clients.config.tables.users);
    let get = get.key("pk", s(session_key(id))).consistent_read(true);
    let Some(item) = get.send().await.map_err(aws)?.item else { return Ok(None) };
    let item: SessionItem = from_item(item)?;
    let session = Session { user_id: item.user_id, device: item.device, tag: item.tag, expires_at: item.expires_at };
    Ok((session.expires_at > now_secs()).then_some(session))
}

#[derive(Serialize, Deserialize)]
struct TicketItem {
    pk: String,
    session: String,
    expires_at: u64,
}

/// Stores a one-time socket ticket (by its hash) for the session `session`.
pub async fn issue_ticket(clients: &Clients, ticket: &str, session: &str, expires_at: u64) -> Result<()> {
    let item = TicketItem { pk: ticket_key(ticket), session: session.to_string(), expires_at };
    let put = clients.dynamodb.put_item().table_name(&clients.config.tables.users);
    put.set_item(Some(to_item(&item)?)).send().await.map_err(aws)?;
    Ok(())
}

/// Takes a ticket (one DeleteItem: a second use finds nothing): its session, while valid.
pub async fn take_ticket(clients: &Clients, ticket: &str) -> Result<Option<String>> {
    let delete = clients.dynamodb.delete_item().table_name(&clients.config.tables.users);
    let delete = delete.key("pk", s(ticket_key(ticket))).return_values(ReturnValue::AllOld);
    let Some(item) = delete.send().await.map_err(aws)?.attributes else { return Ok(None) };
    let item: TicketItem = from_item(item)?;
    Ok((item.expires_at > now_secs()).then_some(item.session))
}

/// A user's sessions by token hash, expired ones included (until they are ended).
pub async fn of_user(clients: &Clients, user: UserId) -> Result<HashMap<String, Listed>> {
    #[derive(Deserialize)]
    struct Index {
        #[serde(default)]
        s: HashMap<String, Listed>,
    }
    let get = clients.dynamodb.get_item().table_name(&clients.config.tables.users).key("pk", s(index_key(user)));
    let item = get.consistent_read(true).send().await.map_err(aws)?.item;
    Ok(item.map(from_item::<Index>).transpose()?.map(|i| i.s).unwrap_or_default())
}

/// Ends the sessions with these token hashes, then unlists them.
pub async fn end(clients: &Clients, user: UserId, hashes: &[String]) -> Result<()> {
    let table = &clients.config.tables.users;
    let deletes = hashes
        .iter()
        .map(|h| {
            let delete = DeleteRequest::builder().key("pk", s(session_key(h))).build().map_err(malformed)?;
            Ok(WriteRequest::builder().delete_request(delete).build())
        })
        .collect::<Result<Vec<_>>>()?;
    batch_write(clients, table, deletes).await?;
    remove_from_map(clients, table, &index_key(user), "s", hashes).await
}

/// Notes that a socket of the session `id` logged in at `at` (the devices list's "last seen");
/// nothing when the session is no longer listed.
pub async fn touch(clients: &Clients, user: UserId, id: &str, at: u64) -> Result<()> {
    use aws_sdk_dynamodb::operation::update_item::UpdateItemError;
    let update = clients
        .dynamodb
        .update_item()
        .table_name(&clients.config.tables.users)
        .key("pk", s(index_key(user)))
        .update_expression("SET s.#id.l = :at")
        .condition_expression("attribute_exists(s.#id)")
        .expression_attribute_names("#id", id)
        .expression_attribute_values(":at", AttributeValue::N(at.to_string()));
    match update.send().await {
        Ok(_) => Ok(()),
        Err(err) if matches!(err.as_service_error(), Some(UpdateItemError::ConditionalCheckFailedException(_))) => {
            Ok(())
        }
        Err(err) => Err(aws(err)),
    }
}

/// A session's id, or a ticket's: the hash of its secret (the secret itself is never stored).
pub fn id_of(secret: &str) -> String {
    hash(secret)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_hash_of_the_token_is_the_key() {
        let key = session_key(&hash("abc"));
        assert!(key.starts_with("token#") && !key.contains("abc"));
        assert_ne!(key, session_key(&hash("abd")));
    }
}
