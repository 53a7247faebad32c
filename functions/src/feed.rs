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
use crate::domain::confirmed::Confirmed;
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

    /// The notification as clients see it: its fields plus `id` and `seq`, its place in its
    /// stream, so a client sees a gap (and syncs) without parsing ids.
    pub fn view(&self) -> Value {
        let mut fields = Map::new();
        fields.insert("id".into(), json!(self.id()));
        fields.insert("seq".into(), json!(self.seq));
        fields.extend(self.body.iter().filter(|(k, _)| !k.starts_with('_')).map(|(k, v)| (k.clone(), v.clone())));
        Value::Object(fields)
    }

    /// Stored in the actor's own feed for its other devices; the acting device skips it.
    pub fn echo_of(&self) -> Option<&str> {
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
    Ok(get_marker(clients, pk).await?.as_ref().and_then(|i| i.u64("seq")))
}

/// The item at `(pk, 0)`, read consistently: a head, cursor, read marker or dedup key.
async fn get_marker(clients: &Clients, pk: &str) -> ApiResult<Option<Item>> {
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
    Ok(out.item)
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

/// Where a device's confirmations of a stream are kept: `cursor#<user>#<device>` for the user's
/// feed, `cursor#<user>#<device>#<conversation>` for a conversation.
fn device_cursor_key(user_id: u64, device: &str, stream: Option<&str>) -> String {
    match stream {
        None => format!("cursor#{user_id}#{device}"),
        Some(stream) => format!("cursor#{user_id}#{device}#{stream}"),
    }
}

/// The stream itself: the user's feed when `stream` is `None`.
fn stream_key(user_id: u64, stream: Option<&str>) -> String {
    stream.map(str::to_string).unwrap_or_else(|| feed_key(user_id))
}

/// What `device` has confirmed in a stream, and the version a write of it is conditioned on.
/// Stored at `(cursor key, 0)`: `seq` the contiguous prefix, `above` the ranges past it, `v`.
async fn load_confirmed(clients: &Clients, cursor: &str) -> ApiResult<(Confirmed, Option<u64>)> {
    let Some(item) = get_marker(clients, cursor).await? else { return Ok((Confirmed::default(), None)) };
    let state = Confirmed::decode(item.u64("seq").unwrap_or(0), item.str("above").unwrap_or(""));
    Ok((state, item.u64("v")))
}

/// What `device` of `user_id` has confirmed in a stream (its feed when `stream` is `None`).
pub async fn confirmed(clients: &Clients, user_id: u64, device: &str, stream: Option<&str>) -> ApiResult<Confirmed> {
    Ok(load_confirmed(clients, &device_cursor_key(user_id, device, stream)).await?.0)
}

/// Confirms, for one device, the entries `seqs` of a stream (its feed when `stream` is `None`),
/// and everything up to `up_to` when that explicit form is asked. Ids past the head name nothing
/// and are ignored. One read and one conditional write, whatever the gap; a concurrent ack of
/// the same stream makes the loser read again, so no confirmation is lost.
pub async fn confirm(
    clients: &Clients,
    user_id: u64,
    device: &str,
    stream: Option<&str>,
    seqs: &[u64],
    up_to: Option<u64>,
) -> ApiResult<()> {
    let head = head_of(clients, &stream_key(user_id, stream)).await?;
    confirm_below(clients, &device_cursor_key(user_id, device, stream), head, seqs, up_to).await
}

/// Confirms entries known to exist (the acting device's own, just stored), without reading
/// the head: `seqs` are at most the head by construction.
pub async fn confirm_stored(
    clients: &Clients,
    user_id: u64,
    device: &str,
    stream: Option<&str>,
    seqs: &[u64],
) -> ApiResult<()> {
    let head = seqs.iter().copied().max().unwrap_or(0);
    confirm_below(clients, &device_cursor_key(user_id, device, stream), head, seqs, None).await
}

async fn confirm_below(clients: &Clients, cursor: &str, head: u64, seqs: &[u64], up_to: Option<u64>) -> ApiResult<()> {
    let table = &clients.config.tables.conversations;
    until_won(|| async {
        let (mut state, version) = load_confirmed(clients, cursor).await?;
        let mut changed = up_to.is_some_and(|seq| state.confirm_up_to(seq, head));
        for &seq in seqs {
            changed |= state.confirm(seq, head);
        }
        if !changed {
            return Ok(Some(()));
        }
        let mut put = clients
            .dynamodb
            .put_item()
            .table_name(table)
            .item("pk", s(cursor))
            .item("sk", n(0))
            .item("seq", n(state.prefix()))
            .item("above", s(state.encode_above()))
            .item("v", n(version.unwrap_or(0) + 1))
            .expression_attribute_names("#v", "v");
        put = match version {
            Some(v) => put.condition_expression("#v = :v").expression_attribute_values(":v", n(v)),
            None => put.condition_expression("attribute_not_exists(#v)"),
        };
        match put.send().await {
            Ok(_) => Ok(Some(())),
            Err(err) if err.as_service_error().is_some_and(|e| e.is_conditional_check_failed_exception()) => Ok(None),
            Err(err) => Err(ApiError::aws(err)),
        }
    })
    .await
}

/// The entries of a stream (the user's feed when `stream` is `None`) that `device` has not
/// confirmed, oldest first, at most `limit`, keeping those `keep` accepts. `after` additionally
/// skips everything up to it (for this read only). Reads only the gaps, a page at a time; also
/// tells whether more may follow.
pub async fn unconfirmed(
    clients: &Clients,
    user_id: u64,
    device: &str,
    stream: Option<&str>,
    after: Option<u64>,
    limit: usize,
    keep: impl Fn(&Entry) -> bool,
) -> ApiResult<(Vec<Entry>, bool)> {
    let key = stream_key(user_id, stream);
    let head = head_of(clients, &key).await?;
    let mut state = confirmed(clients, user_id, device, stream).await?;
    if let Some(after) = after {
        state.confirm_up_to(after, head);
    }
    let gaps = state.gaps(head);
    let mut found = vec![];
    for &(from, to) in &gaps {
        let mut last = from - 1;
        loop {
            let (page, more) = read_range(clients, &key, last, to, limit - found.len()).await?;
            for mut entry in page {
                last = entry.seq;
                if stream.is_none() {
                    entry.stream = None;
                }
                if keep(&entry) {
                    found.push(entry);
                }
            }
            if found.len() == limit {
                return Ok((found, gaps.iter().any(|&(_, to)| to > last)));
            }
            if !more {
                break;
            }
        }
    }
    Ok((found, false))
}

/// Most entries one `GET /offline` returns; `more = true` says to ask again.
pub const OFFLINE_PAGE: usize = 100;

/// `GET /offline[?after=n:12]`: what this device has not confirmed (in its feed, only what
/// comes after `after` too), oldest first, as simple_im's `[[n]]`, `[[m]]`, `[[gm]]` entries.
pub async fn get_offline(ctx: &Ctx, req: &Request) -> ApiResult {
    let caller = ctx.caller()?;
    let after = match req.query_string_parameters_ref().and_then(|q| q.first("after")) {
        Some(id) => {
            Some(parse_id(id).ok_or_else(|| ApiError::bad_request("after must be a notification id like n:12"))?)
        }
        None => None,
    };
    let pending = crate::messages::pending(&ctx.clients, caller.user_id, &caller.device, after, OFFLINE_PAGE).await?;
    let mut reply = Reply::ok_with_response(json!({ "more": pending.more }));
    if let Value::Object(doc) = &mut reply.doc {
        for (table, list) in by_table(&pending.feed, &pending.messages) {
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

/// `DELETE /offline?id=...[&id=...]`: confirms, for this device, exactly the entries named —
/// notification ids (`n:12`) or message ids (`dm#1#2:7`, `group#9:3`, URL-encoded).
/// `?upto=<id>` is the explicit "everything up to this one" of its stream; without either,
/// everything: the feed and every conversation.
pub async fn delete_offline(ctx: &Ctx, req: &Request) -> ApiResult {
    let caller = ctx.caller()?;
    let query = req.query_string_parameters();
    let ids = query.all("id").unwrap_or_default();
    let up_to = query.first("upto");
    let clients = &ctx.clients;
    if ids.is_empty() && up_to.is_none() {
        crate::messages::acknowledge_everything(clients, caller.user_id, &caller.device).await?;
    } else {
        crate::messages::acknowledge(clients, caller.user_id, &caller.device, &ids, up_to).await?;
    }
    Ok(Reply::ok(json!({})))
}
