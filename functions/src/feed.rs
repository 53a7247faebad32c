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
/// sequence number. The head is read, then head and entry are written in one transaction
/// conditioned on the head not having moved; a concurrent append retries with the next number.
/// Two writes, whoever and however many will read it.
pub async fn append_to(clients: &Clients, stream: &str, body: &Map<String, Value>) -> ApiResult<u64> {
    let table = &clients.config.tables.conversations;
    let text = serde_json::to_string(body).map_err(ApiError::internal)?;
    until_won(|| async {
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
        let writes = vec![
            TransactWriteItem::builder().update(head_update).build(),
            TransactWriteItem::builder().put(entry).build(),
        ];
        Ok(transact(clients, writes).await?.then_some(next))
    })
    .await
}

/// The latest sequence number of a user's feed (0 when empty).
pub async fn head(clients: &Clients, user_id: u64) -> ApiResult<u64> {
    head_of(clients, &feed_key(user_id)).await
}

/// The latest sequence number of a conversation (0 when empty).
pub async fn head_of(clients: &Clients, stream: &str) -> ApiResult<u64> {
    let out = clients
        .dynamodb
        .get_item()
        .table_name(&clients.config.tables.conversations)
        .key("pk", s(stream))
        .key("sk", n(0))
        .consistent_read(true)
        .send()
        .await
        .map_err(ApiError::aws)?;
    Ok(out.item.as_ref().and_then(|i| i.u64("seq")).unwrap_or(0))
}

/// Entries after `after`, oldest first, at most `limit`, skipping the echoes of `device`'s own
/// actions. Also tells whether more entries follow.
pub async fn read_after(
    clients: &Clients,
    user_id: u64,
    device: &str,
    after: u64,
    limit: usize,
) -> ApiResult<(Vec<Entry>, bool)> {
    let mut entries = vec![];
    let mut from = after;
    loop {
        let out = clients
            .dynamodb
            .query()
            .table_name(&clients.config.tables.conversations)
            .key_condition_expression("pk = :pk AND sk > :after")
            .expression_attribute_values(":pk", s(feed_key(user_id)))
            .expression_attribute_values(":after", n(from))
            .consistent_read(true)
            .limit((limit + 1) as i32)
            .send()
            .await
            .map_err(ApiError::aws)?;
        let items: Vec<Item> = out.items.unwrap_or_default();
        let exhausted = out.last_evaluated_key.is_none();
        for item in &items {
            let (Some(seq), Some(body)) = (item.u64("sk"), item.str("body")) else { continue };
            from = seq;
            let Ok(Value::Object(body)) = serde_json::from_str(body) else { continue };
            let entry = Entry { stream: None, seq, body };
            if entry.echo_of() == Some(device) {
                continue;
            }
            if entries.len() == limit {
                return Ok((entries, true));
            }
            entries.push(entry);
        }
        if exhausted || items.is_empty() {
            return Ok((entries, false));
        }
    }
}

/// Where `device` stopped: the last sequence it acknowledged.
pub async fn cursor(clients: &Clients, user_id: u64, device: &str) -> ApiResult<u64> {
    let out = clients
        .dynamodb
        .get_item()
        .table_name(&clients.config.tables.conversations)
        .key("pk", s(cursor_key(user_id, device)))
        .key("sk", n(0))
        .consistent_read(true)
        .send()
        .await
        .map_err(ApiError::aws)?;
    Ok(out.item.as_ref().and_then(|i| i.u64("seq")).unwrap_or(0))
}

/// Moves `device`'s cursor forward to `seq` (never backward: acks may arrive out of order, and
/// never past the feed's head: an id from the future would silently skip what comes next).
pub async fn acknowledge(clients: &Clients, user_id: u64, device: &str, seq: u64) -> ApiResult<()> {
    let seq = seq.min(head(clients, user_id).await?);
    let moved = clients
        .dynamodb
        .update_item()
        .table_name(&clients.config.tables.conversations)
        .key("pk", s(cursor_key(user_id, device)))
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
    let mut reply = Reply::ok_with_response(json!({ "more": more }));
    if let Value::Object(doc) = &mut reply.doc {
        doc.insert("n".into(), Value::Array(entries.iter().map(Entry::view).collect()));
    }
    Ok(reply)
}

/// `DELETE /offline[?id=n:12]`: acknowledges everything up to `id` (default: all) for this device.
pub async fn delete_offline(ctx: &Ctx, req: &Request) -> ApiResult {
    let caller = ctx.caller()?;
    let upto = match req.query_string_parameters_ref().and_then(|q| q.first("id")) {
        Some(id) => parse_id(id).ok_or_else(|| ApiError::bad_request("id must be a notification id like n:12"))?,
        None => head(&ctx.clients, caller.user_id).await?,
    };
    acknowledge(&ctx.clients, caller.user_id, &caller.device, upto).await?;
    Ok(Reply::ok(json!({})))
}
