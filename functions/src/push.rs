//! The Middleman: how any function tells users something. A notification is stored durably
//! first, once per recipient feed, then posted to every live connection of every recipient
//! and to the acting user's other devices, with bounded concurrency. A failed push never fails
//! the request and never loses the notification: the feed keeps it until each device syncs.

use crate::api::{ApiError, ApiResult};
use crate::db::{now_secs, s, Item, ItemExt};
use crate::feed::{self, Entry};
use crate::realtime::{self, WireFormat, CONNECTION_LIFETIME_SECS};
use aws_sdk_dynamodb::types::{AttributeValue, KeysAndAttributes};
use im_adapters::{Clients, PostOutcome};
use serde_json::{json, Map, Value};
use std::collections::{BTreeSet, HashMap};

/// API Gateway's frame limit: a bigger notification is announced by reference and fetched by sync.
pub const MAX_FRAME_BYTES: usize = 32 * 1024;

/// BatchGetItem takes at most 100 keys.
const BATCH_KEYS: usize = 100;

/// Who acted: their other devices get the echo, the acting device does not.
#[derive(Clone, Debug)]
pub struct Actor {
    pub user_id: u64,
    pub device: String,
    /// Set when the action came over a WebSocket: that exact connection gets no echo.
    pub connection_id: Option<String>,
}

/// One live connection of a user.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Connection {
    pub user_id: u64,
    pub connection_id: String,
    pub device: String,
    pub format: WireFormat,
}

/// The live connections of `users`: one BatchGetItem per 100 users, never a Scan.
/// Records older than API Gateway's two-hour limit are ignored (their TTL removes them).
pub async fn connections_of(clients: &Clients, users: &[u64]) -> ApiResult<Vec<Connection>> {
    let table = &clients.config.tables.connections;
    let oldest = now_secs().saturating_sub(CONNECTION_LIFETIME_SECS);
    let mut found = vec![];
    let unique: BTreeSet<u64> = users.iter().copied().collect();
    let unique: Vec<u64> = unique.into_iter().collect();
    for chunk in unique.chunks(BATCH_KEYS) {
        let mut keys: Vec<HashMap<String, AttributeValue>> =
            chunk.iter().map(|u| HashMap::from([("pk".to_string(), s(format!("user#{u}")))])).collect();
        while !keys.is_empty() {
            let request = KeysAndAttributes::builder().set_keys(Some(keys)).build().map_err(ApiError::internal)?;
            let out =
                clients.dynamodb.batch_get_item().request_items(table, request).send().await.map_err(ApiError::aws)?;
            for item in out.responses.unwrap_or_default().remove(table).unwrap_or_default() {
                found.extend(parse_connections(&item, oldest));
            }
            keys = out.unprocessed_keys.unwrap_or_default().remove(table).map(|k| k.keys).unwrap_or_default();
        }
    }
    Ok(found)
}

fn parse_connections(item: &Item, oldest: u64) -> Vec<Connection> {
    let Some(user_id) = item.str("pk").and_then(|pk| pk.strip_prefix("user#")).and_then(|id| id.parse().ok()) else {
        return vec![];
    };
    let Some(conns) = item.get("conns").and_then(|c| c.as_m().ok()) else { return vec![] };
    conns
        .iter()
        .filter_map(|(cid, entry)| {
            let entry = entry.as_m().ok()?;
            let at = entry.get("at")?.as_n().ok()?.parse::<u64>().ok()?;
            if at < oldest {
                return None;
            }
            Some(Connection {
                user_id,
                connection_id: cid.clone(),
                device: entry.get("d")?.as_s().ok()?.clone(),
                format: WireFormat::parse(entry.get("f").and_then(|f| f.as_s().ok()).map(String::as_str)).ok()?,
            })
        })
        .collect()
}

/// The JSON event a stored entry travels as: seed 003's `NOTIFY_NEW_MSG` for messages,
/// `NOTIFY_UPDATE_CONTACT` for contact changes, `NOTIFY` for the rest.
fn json_event(entry: &Entry) -> &'static str {
    match (entry.body.get("_frame").and_then(Value::as_str), entry.body.get("t").and_then(Value::as_str)) {
        (Some("m" | "gm"), _) => "NOTIFY_NEW_MSG",
        (_, Some("add_contact" | "accept_contact" | "delete_contact")) => "NOTIFY_UPDATE_CONTACT",
        _ => "NOTIFY",
    }
}

/// simple_im's table for an entry: `[[m]]`, `[[gm]]` for messages, `[[n]]` for notifications.
pub fn toml_table(entry: &Entry) -> &str {
    entry.body.get("_frame").and_then(Value::as_str).unwrap_or("n")
}

/// An entry as its frame carries it: JSON messages follow seed 003 (`{"msg": {content, time,
/// ...}}`), everything else is the entry's own fields.
pub fn frame_data(format: WireFormat, entry: &Entry) -> Value {
    let view = entry.view();
    match (format, json_event(entry)) {
        (WireFormat::Json, "NOTIFY_NEW_MSG") => {
            let mut msg = view.as_object().cloned().unwrap_or_default();
            msg.insert("content".into(), view["c"].clone());
            let ts = view["ts"].as_i64().unwrap_or(0);
            let time = time::OffsetDateTime::from_unix_timestamp(ts)
                .ok()
                .and_then(|t| t.format(&time::format_description::well_known::Rfc3339).ok());
            msg.insert("time".into(), json!(time));
            json!({ "msg": msg })
        }
        _ => view,
    }
}

/// Renders a stored entry for a connection, in its format. A frame over API Gateway's limit
/// goes by reference (`more = true`): the client fetches it by sync.
pub fn notification_frame(format: WireFormat, entry: &Entry) -> Vec<u8> {
    let event = json_event(entry);
    let frame = realtime::encode_frame(format, toml_table(entry), event, &frame_data(format, entry));
    if frame.len() <= MAX_FRAME_BYTES {
        return frame;
    }
    let reference = json!({ "id": entry.id(), "seq": entry.seq, "t": entry.body.get("t"), "more": true });
    realtime::encode_frame(format, toml_table(entry), event, &reference)
}

/// Stores `notice` in each recipient's feed and in the actor's own (for its other devices),
/// then pushes it. Returns once the notification is durable; push failures are only logged.
pub async fn notify(clients: &Clients, actor: &Actor, recipients: &[u64], notice: Map<String, Value>) -> ApiResult<()> {
    let mut stored: Vec<(u64, Entry)> = vec![];
    let mut targets: Vec<u64> = recipients.iter().copied().filter(|r| *r != actor.user_id).collect();
    targets.sort_unstable();
    targets.dedup();
    for &user in &targets {
        let seq = feed::append(clients, user, &notice).await?;
        stored.push((user, Entry { stream: None, seq, body: notice.clone() }));
    }
    let mut echo = notice.clone();
    echo.insert("_echo_of".into(), json!(actor.device));
    let seq = feed::append(clients, actor.user_id, &echo).await?;
    stored.push((actor.user_id, Entry { stream: None, seq, body: echo }));
    deliver(clients, actor, &stored).await;
    Ok(())
}

/// Stores `notice` once in the shared conversation `stream` (a group's, say) and pushes it to
/// every member's live connections and the actor's other devices. Writes stay two, whatever
/// the number of members; look-ups grow as members / 100.
pub async fn broadcast(
    clients: &Clients,
    actor: &Actor,
    stream: &str,
    members: &[u64],
    notice: Map<String, Value>,
) -> ApiResult<u64> {
    let seq = feed::append_to(clients, stream, &notice).await?;
    let entry = Entry { stream: Some(stream.to_string()), seq, body: notice };
    let mut audience: Vec<u64> = members.to_vec();
    audience.push(actor.user_id);
    audience.sort_unstable();
    audience.dedup();
    let stored: Vec<(u64, Entry)> = audience.into_iter().map(|user| (user, entry.clone())).collect();
    deliver(clients, actor, &stored).await;
    Ok(seq)
}

/// Posts already-stored entries to every live connection of their users, except the actor's
/// own device. 410 Gone forgets that connection.
pub async fn deliver(clients: &Clients, actor: &Actor, stored: &[(u64, Entry)]) {
    confirm_for_acting_device(clients, actor, stored).await;
    let users: Vec<u64> = stored.iter().map(|(u, _)| *u).collect();
    let connections = match connections_of(clients, &users).await {
        Ok(connections) => connections,
        Err(err) => {
            tracing::warn!(error = %err, "connection look-up failed; the feed keeps the notification");
            return;
        }
    };
    let mut by_user: HashMap<u64, Vec<&Entry>> = HashMap::new();
    for (user, entry) in stored {
        by_user.entry(*user).or_default().push(entry);
    }
    let mut posts = vec![];
    for conn in &connections {
        let acting = conn.user_id == actor.user_id
            && match &actor.connection_id {
                Some(cid) => *cid == conn.connection_id,
                None => conn.device == actor.device,
            };
        if acting {
            continue;
        }
        for entry in by_user.get(&conn.user_id).into_iter().flatten() {
            posts.push((conn.connection_id.clone(), notification_frame(conn.format, entry)));
        }
    }
    post_frames(clients, posts).await;
}

/// The acting device has what it did itself: its own entries are confirmed for it, so they
/// leave no hole that would keep its confirmed prefix from moving. A failure here only means
/// the device is offered its own entry again by sync.
async fn confirm_for_acting_device(clients: &Clients, actor: &Actor, stored: &[(u64, Entry)]) {
    for (_, entry) in stored.iter().filter(|(user, _)| *user == actor.user_id) {
        let confirmed =
            feed::confirm_stored(clients, actor.user_id, &actor.device, entry.stream.as_deref(), &[entry.seq]).await;
        if let Err(err) = confirmed {
            tracing::warn!(error = %err, "could not confirm the acting device's own entry");
        }
    }
}

/// Posts frames; a connection that answers 410 Gone is forgotten.
async fn post_frames(clients: &Clients, posts: Vec<(String, Vec<u8>)>) {
    for (cid, outcome) in clients.pusher.post_all(posts).await {
        if outcome == PostOutcome::Gone {
            if let Err(err) = realtime::forget_connection(clients, &cid).await {
                tracing::warn!(error = %err, "could not forget a gone connection");
            }
        }
    }
}

/// Posts a frame of derived state (an unread count, say) to `user`'s JSON connections. Not
/// stored: whatever it says can be asked again (`LIST_CONTACTS_UNREAD`), so a lost one loses
/// nothing.
pub async fn post_json_event(clients: &Clients, user: u64, event: &str, data: Value) {
    let connections = match connections_of(clients, &[user]).await {
        Ok(connections) => connections,
        Err(err) => {
            tracing::warn!(error = %err, "connection look-up failed");
            return;
        }
    };
    let frame = realtime::encode_frame(WireFormat::Json, "", event, &data);
    let posts = connections
        .into_iter()
        .filter(|c| c.format == WireFormat::Json)
        .map(|c| (c.connection_id, frame.clone()))
        .collect();
    post_frames(clients, posts).await;
}
