//! Conversations: one-to-one and group chat. A message is stored once, in its conversation,
//! at the conversation's next sequence number (head and message in one transaction, with the
//! sender's message id as an idempotency key); nobody gets a copy. Unread counts are derived:
//! the conversation's head minus the member's read marker. Delivery is pushes only.
//!
//! Items in the conversations table besides feeds:
//! - `dm#<a>#<b>` (a < b) and `group#<id>`: head at 0, message n at n;
//! - `dedup#<conversation>#<sender>#<client id>`: the sequence a send got (retries find it);
//! - `read#<conversation>#<user>`: the member's read marker;
//! - `cursor#<user>#<device>#<conversation>`: what that device has acknowledged.

use crate::api::{ApiError, ApiResult};
use crate::db::now_secs;
use crate::feed::{self, Entry};
use crate::groups;
use crate::push::{self, Actor};
use crate::relations::{self, Friendship, List};
use im_adapters::Clients;
use serde_json::{json, Map, Value};

/// Where a message goes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Target {
    User(u64),
    Group(u64),
}

/// The conversation of two users, the same whichever of them names it.
pub fn direct(a: u64, b: u64) -> String {
    format!("dm#{}#{}", a.min(b), a.max(b))
}

pub fn conversation(from: u64, target: Target) -> String {
    match target {
        Target::User(other) => direct(from, other),
        Target::Group(id) => groups::stream(id),
    }
}

/// Message kinds simple_im knows (`t`).
pub const KINDS: [&str; 4] = ["text", "audio", "image", "video"];

/// Most characters a message body carries; bigger media go by reference (an upload URL).
pub const MAX_CONTENT_CHARS: usize = 4000;

/// A message a client sends.
#[derive(Clone, Debug, PartialEq)]
pub struct Outgoing {
    /// The sender's own id for it (simple_im `id`): retries with the same id are one message.
    pub client_id: String,
    pub kind: String,
    pub content: String,
    pub target: Target,
}

impl Outgoing {
    pub fn validate(&self) -> ApiResult<()> {
        if self.client_id.is_empty() || self.client_id.len() > 64 {
            return Err(ApiError::bad_request("id must be 1 to 64 characters"));
        }
        if !KINDS.contains(&self.kind.as_str()) {
            return Err(ApiError::bad_request("t must be text, audio, image or video"));
        }
        let chars = self.content.chars().count();
        if chars == 0 || chars > MAX_CONTENT_CHARS {
            return Err(ApiError::bad_request(format!("c must be 1 to {MAX_CONTENT_CHARS} characters")));
        }
        Ok(())
    }
}

/// What a send produced.
#[derive(Clone, Debug, PartialEq)]
pub struct Sent {
    /// The server's id for the message: `<conversation>:<seq>`.
    pub id: String,
    pub seq: u64,
    /// False when the same client id was sent before: nothing new was stored or pushed.
    pub new: bool,
}

/// Who may message whom: friends who do not block each other; members of a group.
pub async fn check_allowed(clients: &Clients, from: u64, target: Target) -> ApiResult<Vec<u64>> {
    match target {
        Target::User(other) => {
            if other == from {
                return Err(ApiError::bad_request("you cannot message yourself"));
            }
            let pair = relations::pair(clients, from, other).await?;
            if pair.ab.blocking || pair.ab.blocked_by {
                return Err(ApiError::new(http::StatusCode::FORBIDDEN, "one of you has blocked the other"));
            }
            if pair.ab.friendship != Friendship::Friends {
                return Err(ApiError::new(http::StatusCode::FORBIDDEN, "you can only message your contacts"));
            }
            Ok(vec![other])
        }
        Target::Group(id) => {
            let members = groups::members(clients, id).await?;
            if !members.contains(&from) {
                return Err(ApiError::new(http::StatusCode::FORBIDDEN, "you are not a member of this group"));
            }
            Ok(members)
        }
    }
}

/// Sends a message: checked, stored durably (once, idempotently), then pushed to every device
/// of the recipients and the sender's other devices. The sender is acked only after the store.
pub async fn send(clients: &Clients, actor: &Actor, out: &Outgoing) -> ApiResult<Sent> {
    out.validate()?;
    let audience = check_allowed(clients, actor.user_id, out.target).await?;
    // Audio names an uploaded key; the message carries a presigned URL to it (and the key).
    let audio_key = if out.kind == "audio" {
        let key = out.content.clone();
        let valid = key
            .strip_prefix("audio/")
            .and_then(|k| k.strip_suffix(".amr"))
            .is_some_and(|h| h.len() == 32 && h.bytes().all(|c| c.is_ascii_hexdigit()));
        if !valid {
            return Err(ApiError::bad_request("an audio message's c is the key from POST /audio/upload"));
        }
        crate::audio::check_uploaded(clients, &key).await?;
        Some(key)
    } else {
        None
    };
    let stream = conversation(actor.user_id, out.target);
    let mut body = Map::new();
    let (frame, target_field, target_value) = match out.target {
        Target::User(to) => ("m", "to", to),
        Target::Group(id) => ("gm", "g_id", id),
    };
    body.insert("_frame".into(), json!(frame));
    body.insert("client_id".into(), json!(out.client_id));
    body.insert("t".into(), json!(out.kind));
    match &audio_key {
        Some(key) => {
            body.insert("c".into(), json!(crate::audio::download_url(clients, key).await?));
            body.insert("key".into(), json!(key));
        }
        None => {
            body.insert("c".into(), json!(out.content));
        }
    }
    body.insert("from".into(), json!(actor.user_id));
    body.insert(target_field.into(), json!(target_value));
    body.insert("ts".into(), json!(now_secs()));
    body.insert("d".into(), json!(actor.device));
    let dedup = format!("dedup#{stream}#{}#{}", actor.user_id, out.client_id);
    let (seq, new) = feed::append_once(clients, &stream, &body, Some(&dedup)).await?;
    let id = format!("{stream}:{seq}");
    if new {
        feed::raise_seq(clients, &read_key(&stream, actor.user_id), seq).await?;
        let entry = Entry { stream: Some(stream.clone()), seq, body };
        let mut recipients = audience;
        recipients.push(actor.user_id);
        recipients.sort_unstable();
        recipients.dedup();
        let stored: Vec<(u64, Entry)> = recipients.into_iter().map(|u| (u, entry.clone())).collect();
        push::deliver(clients, actor, &stored).await;
        if let Target::User(to) = out.target {
            notify_unread(clients, actor.user_id, to, &stream).await?;
        }
    }
    Ok(Sent { id, seq, new })
}

/// Seed 003's `NOTIFY_UPDATE_UNREAD` to the recipient's JSON connections: their unread count
/// with the sender, keyed as `LIST_CONTACTS_UNREAD` keys it.
async fn notify_unread(clients: &Clients, from: u64, to: u64, stream: &str) -> ApiResult<()> {
    let count = unread(clients, to, stream).await?;
    let key = match crate::users::load_profile(clients, from).await? {
        Some(profile) => crate::contacts::contact_key(&profile),
        None => from.to_string(),
    };
    push::post_json_event(clients, to, "NOTIFY_UPDATE_UNREAD", json!({ "unread_msg_count": { key: count } })).await;
    Ok(())
}

fn read_key(stream: &str, user: u64) -> String {
    format!("read#{stream}#{user}")
}

/// Marks a conversation read up to its head (seed 003's `CHAT_WITH`).
pub async fn mark_read(clients: &Clients, user: u64, stream: &str) -> ApiResult<()> {
    let head = feed::head_of(clients, stream).await?;
    feed::raise_seq(clients, &read_key(stream, user), head).await
}

/// Unread messages of `user` in a conversation: head minus read marker, exact under races.
pub async fn unread(clients: &Clients, user: u64, stream: &str) -> ApiResult<u64> {
    let head = feed::head_of(clients, stream).await?;
    let read = feed::get_seq(clients, &read_key(stream, user)).await?.unwrap_or(0);
    Ok(head.saturating_sub(read))
}

/// Splits a message id `<conversation>:<seq>`.
pub fn parse_message_id(id: &str) -> Option<(String, u64)> {
    let (stream, seq) = id.rsplit_once(':')?;
    let valid = stream.starts_with("dm#") || stream.starts_with("group#");
    valid.then(|| Some((stream.to_string(), seq.parse().ok()?)))?
}

/// Whether `user` takes part in a conversation (its id names them, or they are a member).
pub async fn is_member(clients: &Clients, user: u64, stream: &str) -> ApiResult<bool> {
    if let Some(pair) = stream.strip_prefix("dm#") {
        return Ok(pair.split('#').any(|p| p.parse() == Ok(user)));
    }
    match stream.strip_prefix("group#").and_then(|g| g.parse().ok()) {
        Some(group) => Ok(groups::members(clients, group).await?.contains(&user)),
        None => Ok(false),
    }
}

/// Splits any id a device acknowledges: a message id, or a notification id of its own feed
/// (`None` stream).
fn parse_any_id(id: &str) -> ApiResult<(Option<String>, u64)> {
    if let Some((stream, seq)) = parse_message_id(id) {
        return Ok((Some(stream), seq));
    }
    feed::parse_id(id).map(|seq| (None, seq)).ok_or_else(|| ApiError::bad_request(format!("unknown id {id}")))
}

/// A device confirms exactly the entries it names (`[[a]] id`, `ACK`, `CHAT_RECEIVE_MSG`,
/// `DELETE /offline?id=`), never the ones before them, and everything up to `up_to` only when
/// that explicit form is asked. One read and one write per stream named, whatever the gap.
pub async fn acknowledge(
    clients: &Clients,
    user: u64,
    device: &str,
    ids: &[impl AsRef<str>],
    up_to: Option<&str>,
) -> ApiResult<()> {
    let mut by_stream: std::collections::BTreeMap<Option<String>, (Vec<u64>, Option<u64>)> = Default::default();
    for id in ids {
        let (stream, seq) = parse_any_id(id.as_ref())?;
        by_stream.entry(stream).or_default().0.push(seq);
    }
    if let Some(id) = up_to {
        let (stream, seq) = parse_any_id(id)?;
        by_stream.entry(stream).or_default().1 = Some(seq);
    }
    for (stream, (seqs, up_to)) in by_stream {
        if let Some(stream) = &stream {
            if !is_member(clients, user, stream).await? {
                return Err(ApiError::bad_request("not your conversation"));
            }
        }
        feed::confirm(clients, user, device, stream.as_deref(), &seqs, up_to).await?;
    }
    Ok(())
}

/// `DELETE /offline` without ids: the device confirms everything, its feed and every conversation.
pub async fn acknowledge_everything(clients: &Clients, user: u64, device: &str) -> ApiResult<()> {
    feed::confirm(clients, user, device, None, &[], Some(u64::MAX)).await?;
    for stream in conversations_of(clients, user).await? {
        feed::confirm(clients, user, device, Some(&stream), &[], Some(u64::MAX)).await?;
    }
    Ok(())
}

/// The conversations a user takes part in: one per friend and one per group.
pub async fn conversations_of(clients: &Clients, user: u64) -> ApiResult<Vec<String>> {
    let mut streams: Vec<String> =
        relations::list(clients, user, List::Friends).await?.iter().map(|f| direct(user, f.other)).collect();
    streams.extend(groups::groups_of(clients, user).await?.into_iter().map(groups::stream));
    Ok(streams)
}

/// What a device has not confirmed: its feed's notifications and its conversations' messages.
pub struct Pending {
    pub feed: Vec<Entry>,
    pub messages: Vec<Entry>,
    /// More may follow: confirm these and ask again.
    pub more: bool,
}

/// What `device` has not confirmed, oldest first per stream, at most `limit` of each kind
/// (`after` skips feed entries up to it). Its own actions are not offered back to it.
pub async fn pending(
    clients: &Clients,
    user: u64,
    device: &str,
    after: Option<u64>,
    limit: usize,
) -> ApiResult<Pending> {
    let not_echo = |e: &Entry| e.echo_of() != Some(device);
    let (feed, more_feed) = feed::unconfirmed(clients, user, device, None, after, limit, not_echo).await?;
    let (messages, more_messages) = undelivered(clients, user, device, limit).await?;
    Ok(Pending { feed, messages, more: more_feed || more_messages })
}

/// Messages this device has not confirmed, oldest first per conversation, at most `limit`.
async fn undelivered(clients: &Clients, user: u64, device: &str, limit: usize) -> ApiResult<(Vec<Entry>, bool)> {
    let mut found = vec![];
    let not_own = |e: &Entry| e.body.get("from") != Some(&json!(user)) || e.body.get("d") != Some(&json!(device));
    for stream in conversations_of(clients, user).await? {
        let room = limit.saturating_sub(found.len());
        if room == 0 {
            return Ok((found, true));
        }
        let (entries, more) = feed::unconfirmed(clients, user, device, Some(&stream), None, room, not_own).await?;
        found.extend(entries);
        if more {
            return Ok((found, true));
        }
    }
    Ok((found, false))
}

/// One page of history, oldest first: `page` 1 is the newest `pagesize` messages (seed 003);
/// sequence numbers are dense, so a page is a key range, not an offset scan. `before` (a
/// message id's sequence) pages by cursor instead.
pub async fn history(
    clients: &Clients,
    stream: &str,
    page: u64,
    pagesize: u64,
    before: Option<u64>,
) -> ApiResult<Vec<Entry>> {
    let head = feed::head_of(clients, stream).await?;
    let until = match before {
        Some(seq) => seq.saturating_sub(1).min(head),
        None => head.saturating_sub((page.max(1) - 1) * pagesize),
    };
    let after = until.saturating_sub(pagesize);
    Ok(feed::read_range(clients, stream, after, until, pagesize as usize).await?.0)
}

/// The message as clients see it: simple_im's fields plus `id`.
pub fn view(entry: &Entry) -> Value {
    entry.view()
}

/// Deletes a message for both sides (seed 003's `CHAT_DELETE`): only its sender may; the
/// message stays in place as a tombstone (`deleted = true`, no content), so sequence numbers
/// and unread counts stay exact, and the other side is told.
pub async fn delete(clients: &Clients, actor: &Actor, stream: &str, seq: u64) -> ApiResult<()> {
    let (entries, _) = feed::read_range(clients, stream, seq.saturating_sub(1), seq, 1).await?;
    let entry = entries.into_iter().next().ok_or_else(|| ApiError::not_found("message not found"))?;
    if entry.body.get("from") != Some(&json!(actor.user_id)) {
        return Err(ApiError::new(http::StatusCode::FORBIDDEN, "only the sender can delete a message"));
    }
    let mut body = entry.body.clone();
    body.insert("c".into(), json!(""));
    body.insert("deleted".into(), json!(true));
    feed::replace(clients, stream, seq, &body).await?;
    let recipients: Vec<u64> = match stream.strip_prefix("group#").and_then(|g| g.parse().ok()) {
        Some(group) => groups::members(clients, group).await?,
        None => stream.trim_start_matches("dm#").split('#').filter_map(|p| p.parse().ok()).collect(),
    };
    let notice = json!({ "t": "delete_message", "msg_id": format!("{stream}:{seq}"), "from": actor.user_id, "ts": now_secs(), "d": actor.device });
    let others: Vec<u64> = recipients.into_iter().filter(|u| *u != actor.user_id).collect();
    push::notify(clients, actor, &others, notice.as_object().cloned().unwrap_or_default()).await
}

/// `POST /message` (`to` or `g_id`, `id`, `t`, `c`): the REST way to send, for apps that want it.
/// Answers once the message is durable, with its server id.
pub async fn send_route(ctx: &crate::Ctx, req: &lambda_http::Request) -> ApiResult<crate::api::Reply> {
    let caller = ctx.caller()?;
    let fields = crate::api::Fields::parse(req)?;
    let target = match (fields.opt_u64("to", u64::MAX)?, fields.opt_u64("g_id", u64::MAX)?) {
        (Some(to), None) => Target::User(to),
        (None, Some(group)) => Target::Group(group),
        _ => return Err(ApiError::bad_request("give to (a user id) or g_id (a group id)")),
    };
    let out = Outgoing {
        client_id: fields.text("id", 1, 64)?,
        kind: fields.opt_text("t", 1, 16)?.unwrap_or_else(|| "text".into()),
        content: fields.text("c", 1, MAX_CONTENT_CHARS)?,
        target,
    };
    let actor = crate::contacts::actor(caller);
    let sent = send(&ctx.clients, &actor, &out).await?;
    let status = if sent.new { http::StatusCode::CREATED } else { http::StatusCode::OK };
    Ok(crate::api::Reply::ok(json!({ "message": [{ "id": out.client_id, "sid": sent.id }] })).with_status(status))
}

/// `GET /message/history?with=<user>|g_id=<group>[&before=<id>][&limit=20]`: newest `limit`
/// messages before `before`, oldest first.
pub async fn history_route(ctx: &crate::Ctx, req: &lambda_http::Request) -> ApiResult<crate::api::Reply> {
    use lambda_http::RequestExt;
    let caller = ctx.caller()?;
    let query = req.query_string_parameters();
    let number = |name: &str| -> ApiResult<Option<u64>> {
        query
            .first(name)
            .map(|v| v.parse().map_err(|_| ApiError::bad_request(format!("{name} must be a number"))))
            .transpose()
    };
    let stream = match (number("with")?, number("g_id")?) {
        (Some(other), None) => direct(caller.user_id, other),
        (None, Some(group)) => groups::stream(group),
        _ => return Err(ApiError::bad_request("give with (a user id) or g_id (a group id)")),
    };
    if !is_member(&ctx.clients, caller.user_id, &stream).await? {
        return Err(ApiError::new(http::StatusCode::FORBIDDEN, "not your conversation"));
    }
    let limit = number("limit")?.unwrap_or(20).clamp(1, 100);
    let before = match query.first("before") {
        Some(id) => Some(
            parse_message_id(id)
                .filter(|(s, _)| *s == stream)
                .map(|(_, seq)| seq)
                .ok_or_else(|| ApiError::bad_request("before must be a message id of this conversation"))?,
        ),
        None => None,
    };
    let entries = history(&ctx.clients, &stream, 1, limit, before).await?;
    let mut tables = std::collections::BTreeMap::<&str, Vec<Value>>::new();
    for entry in &entries {
        tables.entry(crate::push::toml_table(entry)).or_default().push(view(entry));
    }
    let mut reply = crate::api::Reply::ok(json!({}));
    if let Value::Object(doc) = &mut reply.doc {
        for (table, list) in tables {
            doc.insert(table.into(), Value::Array(list));
        }
    }
    Ok(reply)
}
