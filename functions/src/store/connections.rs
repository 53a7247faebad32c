//! The connections table: `conn#<connection id>` (user once logged in, device, format,
//! `expires_at` TTL of 2 h, API Gateway's connection limit), found from a frame's connection
//! id; `user#<id>` with map `conns` of that user's live connections, so the connections of 100
//! users are one BatchGetItem when a notification fans out.

use super::{aws, batch_get, from_item, groups, live, pk, put_in_map, remove_from_map, s, to_item, Result, StoreError};
use crate::domain::format::Format;
use crate::domain::ids::{DeviceName, UserId};
use crate::domain::now_secs;
use aws_sdk_dynamodb::types::{AttributeValue, ReturnValue};
use im_adapters::Clients;
use serde::{Deserialize, Serialize};
use std::collections::HashMap;

/// API Gateway closes a WebSocket after two hours; records live no longer.
pub const LIFETIME_SECS: u64 = 2 * 3600;

/// A connection opened without a token must log in by a frame within this time; after it, its
/// record is gone and its next frame closes it.
pub const LOGIN_DEADLINE_SECS: u64 = 60;

/// What a frame's connection is: who (once logged in), which device, which format.
#[derive(Clone, Debug)]
pub struct Connection {
    pub connection_id: String,
    pub user_id: Option<UserId>,
    pub device: DeviceName,
    /// The login's tag: with the device name, the key of what this device confirmed.
    pub tag: String,
    pub format: Format,
    /// The client chose the format at connect (`?format=`); otherwise its login frame's
    /// dialect decides.
    pub format_chosen: bool,
    /// When it was bound to its user (seconds; 0 before).
    pub since: u64,
    /// The session it belongs to (its id, the token's hash; empty before login): ending the
    /// session closes it.
    pub session: String,
}

#[derive(Serialize, Deserialize)]
struct ConnectionItem {
    pk: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    user_id: Option<UserId>,
    device: String,
    #[serde(default)]
    tag: String,
    format: String,
    #[serde(default)]
    format_chosen: bool,
    #[serde(default)]
    session: String,
    connected_at: u64,
    expires_at: u64,
}

/// One connection in a user's `conns` map (and, without its session, in each of the user's
/// groups: `store::live`).
#[derive(Serialize, Deserialize)]
pub(super) struct Live {
    d: String,
    f: String,
    pub(super) at: u64,
    /// The login's tag.
    #[serde(default)]
    g: String,
    /// The session, so ending it finds its sockets whatever their device names.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    s: String,
}

impl Live {
    /// A bound connection's entry (bound at its `since`).
    pub(super) fn of(conn: &Connection) -> Live {
        let (d, f, g, s) =
            (conn.device.to_string(), conn.format.as_str().into(), conn.tag.clone(), conn.session.clone());
        Live { d, f, at: conn.since, g, s }
    }

    /// The connection `cid` of `user` this entry lists; `None` when it names no device or
    /// format this version knows.
    pub(super) fn connection(self, cid: String, user: UserId) -> Option<Connection> {
        let (Ok(device), Some(format)) = (DeviceName::parse(Some(&self.d)), Format::parse(Some(&self.f))) else {
            return None;
        };
        Some(Connection {
            connection_id: cid,
            user_id: Some(user),
            device,
            tag: self.g,
            format,
            format_chosen: true,
            since: self.at,
            session: self.s,
        })
    }
}

#[derive(Deserialize)]
struct UserConnections {
    pk: String,
    #[serde(default)]
    conns: HashMap<String, Live>,
}

fn conn_key(cid: &str) -> String {
    format!("conn#{cid}")
}

fn user_key(user: UserId) -> String {
    format!("user#{user}")
}

/// Writes the connection's own record; `user_id` is `None` until a login frame binds it.
pub async fn put(clients: &Clients, conn: &Connection) -> Result<()> {
    let now = now_secs();
    let item = ConnectionItem {
        pk: conn_key(&conn.connection_id),
        user_id: conn.user_id,
        device: conn.device.to_string(),
        tag: conn.tag.clone(),
        format: conn.format.as_str().into(),
        format_chosen: conn.format_chosen,
        session: conn.session.clone(),
        connected_at: now,
        expires_at: now + if conn.user_id.is_some() { LIFETIME_SECS } else { LOGIN_DEADLINE_SECS },
    };
    let put = clients.dynamodb.put_item().table_name(&clients.config.tables.connections);
    put.set_item(Some(to_item(&item)?)).send().await.map_err(aws)?;
    Ok(())
}

/// Binds a connection to its user: its own record, an entry in the user's `conns` map, and one
/// in the live index of each of the user's groups (`store::live`). All are written before the
/// connection syncs, so a send either finds it or numbered its message before the sync read.
pub async fn bind(clients: &Clients, conn: &Connection) -> Result<()> {
    let user = conn.user_id.ok_or_else(|| StoreError::Malformed("binding a connection without a user".into()))?;
    let conn = &Connection { since: now_secs(), ..conn.clone() };
    put(clients, conn).await?;
    let entry = AttributeValue::M(to_item(&Live::of(conn))?);
    add_to_user(clients, user, &conn.connection_id, entry).await?;
    // After the user's entry, so that a concurrent join (memberships first, then the user's
    // connections) finds the connection or is found here.
    let groups = groups::groups_of(clients, user).await?;
    live::add(clients, &groups, std::slice::from_ref(conn)).await
}

/// Adds a connection to the user's `conns` map.
async fn add_to_user(clients: &Clients, user: UserId, cid: &str, entry: AttributeValue) -> Result<()> {
    put_in_map(clients, &clients.config.tables.connections, &user_key(user), ("conns", cid), entry).await
}

/// A connection's own record (one GetItem); `None` when it is unknown or expired.
pub async fn find(clients: &Clients, cid: &str) -> Result<Option<Connection>> {
    let get = clients.dynamodb.get_item().table_name(&clients.config.tables.connections).key("pk", s(conn_key(cid)));
    let Some(item) = get.send().await.map_err(aws)?.item else { return Ok(None) };
    let item: ConnectionItem = from_item(item)?;
    if item.expires_at <= now_secs() {
        return Ok(None);
    }
    Ok(Some(Connection {
        connection_id: cid.to_string(),
        user_id: item.user_id,
        device: DeviceName::parse(Some(&item.device)).map_err(super::malformed)?,
        tag: item.tag,
        format: Format::parse(Some(&item.format)).unwrap_or(Format::Json),
        format_chosen: item.format_chosen,
        since: item.connected_at,
        session: item.session,
    }))
}

/// Removes both records of a connection; forgetting an unknown connection is not an error.
/// Answers its user, if it had one, and the users whose presence it watched (`store::watch`
/// takes it out of their maps).
pub async fn forget(clients: &Clients, cid: &str) -> Result<Option<(UserId, Vec<UserId>)>> {
    let table = &clients.config.tables.connections;
    let delete = clients.dynamodb.delete_item().table_name(table).key("pk", s(conn_key(cid)));
    let removed = delete.return_values(ReturnValue::AllOld).send().await.map_err(aws)?;
    #[derive(Deserialize)]
    struct Owner {
        user_id: Option<UserId>,
        #[serde(default)]
        watching: Vec<UserId>,
    }
    let Some(item) = removed.attributes else { return Ok(None) };
    let owner: Owner = from_item(item)?;
    let Some(user) = owner.user_id else { return Ok(None) };
    let (key, names) = (user_key(user), [cid.to_string()]);
    let (groups, removed) =
        futures::join!(groups::groups_of(clients, user), remove_from_map(clients, table, &key, "conns", &names));
    removed?;
    live::remove(clients, &groups?, &[cid.to_string()]).await?;
    Ok(Some((user, owner.watching)))
}

/// The live connections of `users`: one BatchGetItem per 100 users, never a Scan. Records
/// older than API Gateway's two-hour limit are ignored (their TTL removes them). `consistent`
/// reads see a connection bound an instant ago (what ending a session needs; a fan-out does
/// not, at half the price).
pub async fn of_users(clients: &Clients, users: &[UserId], consistent: bool) -> Result<Vec<Connection>> {
    Ok(audience(clients, users, consistent).await?.live)
}

/// What one look-up of users tells a delivery: their live connections, and their devices
/// registered for push (the `push` string set beside `conns`, kept by `service::push`), so a
/// message to users with no registered device queues no push job.
#[derive(Clone, Debug, Default)]
pub struct Audience {
    pub live: Vec<Connection>,
    /// (user, device key) of every device registered for push.
    pub pushable: Vec<(UserId, String)>,
}

/// [`of_users`] with each user's push-registered devices, from the same items.
pub async fn audience(clients: &Clients, users: &[UserId], consistent: bool) -> Result<Audience> {
    let oldest = now_secs().saturating_sub(LIFETIME_SECS);
    let mut unique = users.to_vec();
    unique.sort_unstable();
    unique.dedup();
    let keys = unique.iter().map(|u| pk(user_key(*u))).collect();
    let mut found = Audience::default();
    for mut item in batch_get(clients, &clients.config.tables.connections, keys, consistent).await? {
        let push = match item.remove("push") {
            Some(AttributeValue::Ss(devices)) => devices,
            _ => vec![],
        };
        let record: UserConnections = from_item(item)?;
        let Some(user) = record.pk.strip_prefix("user#").and_then(|id| id.parse().ok()) else { continue };
        for (cid, live) in record.conns.into_iter().filter(|(_, live)| live.at >= oldest) {
            found.live.extend(live.connection(cid, user));
        }
        found.pushable.extend(push.into_iter().map(|device| (user, device)));
    }
    Ok(found)
}

/// Marks a device of `user` as registered for push (or no longer) in the user's item, where
/// a delivery's connection look-up reads it ([`audience`]).
pub async fn mark_pushable(clients: &Clients, user: UserId, device: &str, on: bool) -> Result<()> {
    let expression = if on { "ADD #push :device" } else { "DELETE #push :device" };
    let update = clients.dynamodb.update_item().table_name(&clients.config.tables.connections);
    let update = update.key("pk", s(user_key(user))).update_expression(expression);
    let update = update.expression_attribute_names("#push", "push");
    let update = update.expression_attribute_values(":device", AttributeValue::Ss(vec![device.to_string()]));
    update.send().await.map_err(aws)?;
    Ok(())
}
