//! A user's feed: personal notifications stored once, in order, where every device's sync
//! finds them. The feed is a conversation like any other: a head item holding the latest
//! sequence number and one item per entry at its sequence, written together in one
//! transaction so no number is ever skipped. Each device keeps its own read cursor.
//!
//! Items in the conversations table (`pk`, `sk`):
//! - `feed#<user>`, 0: the head, `seq` = latest entry;
//! - `feed#<user>`, n: entry n, `body` = the notification as JSON;
//! - `cursor#<user>#<device>`, 0: `seq` = the last entry that device acknowledged.

use crate::api::{ApiError, ApiResult, Reply};
use crate::db::{n, now_secs, s, transact, until_won, Item, ItemExt};
use crate::Ctx;
use aws_sdk_dynamodb::types::{Put, TransactWriteItem, Update};
use im_adapters::Clients;
use lambda_http::{Request, RequestExt};
use serde_json::{json, Map, Value};

/// One stored notification, with its place in the feed.
#[derive(Clone, Debug, PartialEq)]
pub struct Entry {
    /// The shared conversation it was stored in; `None` for the recipient's own feed.
    pub stream: Option<String>,
    pub seq: u64,
    /// simple_im's notification fields: `t`, `from`, `to`, `ts`, `d`, ...
    pub body: Map<String, Value>,
}

impl Entry {
    /// The id clients acknowledge: `n:<seq>` in their own feed, `<conversation>:<seq>` elsewhere.
    pub fn id(&self) -> String {
        match &self.stream {
            None => format!("n:{}", self.seq),
            Some(stream) => format!("{stream}:{}", self.seq),
        }
    }

    /// The notification as clients see it: its fields plus `id`.
    pub fn view(&self) -> Value {
        let mut fields = Map::new();
        fields.insert("id".into(), json!(self.id()));
        fields.extend(self.body.iter().filter(|(k, _)| !k.starts_with('_')).map(|(k, v)| (k.clone(), v.clone())));
        Value::Object(fields)
    }

    /// Stored in the actor's own feed for its other devices; the acting device skips it.
    fn echo_of(&self) -> Option<&str> {
        self.body.get("_echo_of").and_then(Value::as_str)
    }
}

/// Parses a notification id (`n:17`, or a bare `17`) back to its sequence number.
pub fn parse_id(id: &str) -> Option<u64> {
    id.strip_prefix("n:").unwrap_or(id).parse().ok()
}

fn feed_key(user_id: u64) -> String {
    format!("feed#{user_id}")
}

fn cursor_key(user_id: u64, device: &str) -> String {
    format!("cursor#{user_id}#{device}")
}

/// Appends an entry to a user's feed and returns its sequence number.
pub async fn append(clients: &Clients, user_id: u64, body: &Map<String, Value>) -> ApiResult<u64> {
    append_to(clients, &feed_key(user_id), body).await
}

/// Appends an entry to any conversation (`feed#<user>`, `group#<id>`, ...) and returns its
/// sequence number. Two writes, whoever and however many will read it.
pub async fn append_to(clients: &Clients, stream: &str, body: &Map<String, Value>) -> ApiResult<u64> {
    Ok(append_once(clients, stream, body, None).await?.0)
}

/// Appends an entry unless `dedup` (a key naming the sender's own id for it) was already used:
/// then returns the sequence it got the first time and `false`, so a retried send never makes a
/// second entry. The head is read, then head, entry (and dedup key) are written in one
/// transaction conditioned on the head not having moved; a concurrent append retries with the
/// next number, so no number is skipped or reused.
pub async fn append_once(
    clients: &Clients,
    stream: &str,
    body: &Map<String, Value>,
    dedup: Option<&str>,
) -> ApiResult<(u64, bool)> {
    let table = &clients.config.tables.conversations;
    let text = serde_json::to_string(body).map_err(ApiError::internal)?;
    until_won(|| async {
        if let Some(key) = dedup {
            if let Some(seq) = get_seq(clients, key).await? {
                return Ok(Some((seq, false)));
            }
        }
        let seq = head_of(clients, stream).await?;
        let next = seq + 1;
        let head_update = Update::builder()
            .table_name(table)
            .key("pk", s(stream))
            .key("sk", n(0))
            .update_expression("SET #seq = :next")
            .condition_expression("attribute_not_exists(#seq) OR #seq = :seq")
            .expression_attribute_names("#seq", "seq")
            .expression_attribute_values(":next", n(next))
            .expression_attribute_values(":seq", n(seq))
            .build()
            .map_err(ApiError::internal)?;
        let entry = Put::builder()
            .table_name(table)
            .item("pk", s(stream))
            .item("sk", n(next))
            .item("body", s(&text))
            .item("ts", n(now_secs()))
            .condition_expression("attribute_not_exists(sk)")
            .build()
            .map_err(ApiError::internal)?;
        let mut writes = vec![
            TransactWriteItem::builder().update(head_update).build(),
            TransactWriteItem::builder().put(entry).build(),
        ];
        if let Some(key) = dedup {
            let marker = Put::builder()
                .table_name(table)
                .item("pk", s(key))
                .item("sk", n(0))
                .item("seq", n(next))
                .condition_expression("attribute_not_exists(pk)")
                .build()
                .map_err(ApiError::internal)?;
            writes.push(TransactWriteItem::builder().put(marker).build());
        }
        Ok(transact(clients, writes).await?.then_some((next, true)))
    })
    .await
}

/// Rewrites an existing entry in place (a deleted message's tombstone).
pub async fn replace(clients: &Clients, stream: &str, seq: u64, body: &Map<String, Value>) -> ApiResult<()> {
    clients
        .dynamodb
        .put_item()
        .table_name(&clients.config.tables.conversations)
        .item("pk", s(stream))
        .item("sk", n(seq))
        .item("body", s(serde_json::to_string(body).map_err(ApiError::internal)?))
        .item("ts", n(now_secs()))
        .condition_expression("attribute_exists(sk)")
        .send()
        .await
        .map_err(ApiError::aws)?;
    Ok(())
}

/// The `seq` attribute of an item at `(pk, 0)`: heads, cursors, read markers, dedup keys.
pub async fn get_seq(clients: &Clients, pk: &str) -> ApiResult<Option<u64>> {
    let out = clients
        .dynamodb
        .get_item()
        .table_name(&clients.config.tables.conversations)
        .key("pk", s(pk))
        .key("sk", n(0))
        .consistent_read(true)
        .send()
        .await
        .map_err(ApiError::aws)?;
    Ok(out.item.as_ref().and_then(|i| i.u64("seq")))
}

/// Raises the `seq` of `(pk, 0)` to `seq`, never lowering it (cursors and read markers).
pub async fn raise_seq(clients: &Clients, pk: &str, seq: u64) -> ApiResult<()> {
    let moved = clients
        .dynamodb
        .update_item()
        .table_name(&clients.config.tables.conversations)
        .key("pk", s(pk))
        .key("sk", n(0))
        .update_expression("SET #seq = :seq")
        .condition_expression("attribute_not_exists(#seq) OR #seq < :seq")
        .expression_attribute_names("#seq", "seq")
        .expression_attribute_values(":seq", n(seq))
        .send()
        .await;
    match moved {
        Ok(_) => Ok(()),
        Err(err) if err.as_service_error().is_some_and(|e| e.is_conditional_check_failed_exception()) => Ok(()),
        Err(err) => Err(ApiError::aws(err)),
    }
}

/// The latest sequence number of a user's feed (0 when empty).
pub async fn head(clients: &Clients, user_id: u64) -> ApiResult<u64> {
    head_of(clients, &feed_key(user_id)).await
}

/// The latest sequence number of a conversation (0 when empty).
pub async fn head_of(clients: &Clients, stream: &str) -> ApiResult<u64> {
    Ok(get_seq(clients, stream).await?.unwrap_or(0))
}

/// Entries of a conversation with `after < seq <= until`, oldest first, at most `limit`
/// (a Query on the key, never a Scan); also tells whether more follow.
pub async fn read_range(
    clients: &Clients,
    stream: &str,
    after: u64,
    until: u64,
    limit: usize,
) -> ApiResult<(Vec<Entry>, bool)> {
    if until <= after || limit == 0 {
        return Ok((vec![], false));
    }
    let out = clients
        .dynamodb
        .query()
        .table_name(&clients.config.tables.conversations)
        .key_condition_expression("pk = :pk AND sk BETWEEN :from AND :until")
        .expression_attribute_values(":pk", s(stream))
        .expression_attribute_values(":from", n(after + 1))
        .expression_attribute_values(":until", n(until))
        .consistent_read(true)
        .limit(limit as i32)
        .send()
        .await
        .map_err(ApiError::aws)?;
    let items: Vec<Item> = out.items.unwrap_or_default();
    let entries: Vec<Entry> = items
        .iter()
        .filter_map(|item| {
            let seq = item.u64("sk")?;
            let Ok(Value::Object(body)) = serde_json::from_str(item.str("body")?) else { return None };
            Some(Entry { stream: Some(stream.to_string()), seq, body })
        })
        .collect();
    let last = entries.last().map(|e| e.seq).unwrap_or(until);
    Ok((entries, out.last_evaluated_key.is_some() && last < until))
}

/// Feed entries after `after`, oldest first, at most `limit`, skipping the echoes of
/// `device`'s own actions. Also tells whether more entries follow.
pub async fn read_after(
    clients: &Clients,
    user_id: u64,
    device: &str,
    after: u64,
    limit: usize,
) -> ApiResult<(Vec<Entry>, bool)> {
    let key = feed_key(user_id);
    let mut entries = vec![];
    let mut from = after;
    loop {
        let (page, more) = read_range(clients, &key, from, u64::MAX / 2, limit + 1).await?;
        for mut entry in page {
            from = entry.seq;
            entry.stream = None;
            if entry.echo_of() == Some(device) {
                continue;
            }
            if entries.len() == limit {
                return Ok((entries, true));
            }
            entries.push(entry);
        }
        if !more {
            return Ok((entries, false));
        }
    }
}

/// Where `device` stopped: the last sequence it acknowledged.
pub async fn cursor(clients: &Clients, user_id: u64, device: &str) -> ApiResult<u64> {
    Ok(get_seq(clients, &cursor_key(user_id, device)).await?.unwrap_or(0))
}

/// Moves `device`'s cursor forward to `seq` (never backward: acks may arrive out of order, and
/// never past the feed's head: an id from the future would silently skip what comes next).
pub async fn acknowledge(clients: &Clients, user_id: u64, device: &str, seq: u64) -> ApiResult<()> {
    let seq = seq.min(head(clients, user_id).await?);
    raise_seq(clients, &cursor_key(user_id, device), seq).await
}

/// Most entries one `GET /offline` returns; `more = true` says to ask again.
pub const OFFLINE_PAGE: usize = 100;

/// `GET /offline[?after=n:12]`: what this device has not acknowledged (or everything after
/// `after`), oldest first, as simple_im's `[[n]]` entries.
pub async fn get_offline(ctx: &Ctx, req: &Request) -> ApiResult {
    let caller = ctx.caller()?;
    let after = match req.query_string_parameters_ref().and_then(|q| q.first("after")) {
        Some(id) => parse_id(id).ok_or_else(|| ApiError::bad_request("after must be a notification id like n:12"))?,
        None => cursor(&ctx.clients, caller.user_id, &caller.device).await?,
    };
    let (entries, more) = read_after(&ctx.clients, caller.user_id, &caller.device, after, OFFLINE_PAGE).await?;
    let (messages, more_messages) =
        crate::messages::undelivered(&ctx.clients, caller.user_id, &caller.device, OFFLINE_PAGE).await?;
    let mut reply = Reply::ok_with_response(json!({ "more": more || more_messages }));
    if let Value::Object(doc) = &mut reply.doc {
        for (table, list) in by_table(&entries, &messages) {
            doc.insert(table.into(), Value::Array(list));
        }
    }
    Ok(reply)
}

/// Feed entries and messages grouped by simple_im table (`n`, `m`, `gm`); `n` always present.
pub fn by_table<'a>(feed: &'a [Entry], messages: &'a [Entry]) -> std::collections::BTreeMap<&'a str, Vec<Value>> {
    let mut tables: std::collections::BTreeMap<&str, Vec<Value>> = std::collections::BTreeMap::new();
    tables.entry("n").or_default().extend(feed.iter().map(Entry::view));
    for entry in messages {
        tables.entry(crate::push::toml_table(entry)).or_default().push(entry.view());
    }
    tables
}

/// `DELETE /offline[?id=...]`: acknowledges, for this device, everything up to `id` — a
/// notification id (`n:12`) or a message id (`dm#1#2:7`, `group#9:3`, URL-encoded) — or, without
/// an id, everything: the feed and every conversation.
pub async fn delete_offline(ctx: &Ctx, req: &Request) -> ApiResult {
    let caller = ctx.caller()?;
    let clients = &ctx.clients;
    match req.query_string_parameters_ref().and_then(|q| q.first("id")) {
        Some(id) => match crate::messages::parse_message_id(id) {
            Some((stream, seq)) => {
                crate::messages::acknowledge(clients, caller.user_id, &caller.device, &stream, seq).await?
            }
            None => {
                let seq =
                    parse_id(id).ok_or_else(|| ApiError::bad_request("id must be a notification or message id"))?;
                acknowledge(clients, caller.user_id, &caller.device, seq).await?;
            }
        },
        None => {
            acknowledge(clients, caller.user_id, &caller.device, u64::MAX).await?;
            for stream in crate::messages::conversations_of(clients, caller.user_id).await? {
                crate::messages::acknowledge(clients, caller.user_id, &caller.device, &stream, u64::MAX).await?;
            }
        }
    }
    Ok(Reply::ok(json!({})))
}
