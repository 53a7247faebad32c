//! Messages over HTTP, for apps that want REST beside the socket.

use super::{query, Ctx, Fields, Reply};
use crate::delivery::render::by_table;
use crate::domain::entry::Entry;
use crate::domain::ids::{ConversationId, EntryId, GroupId, Target, UserId};
use crate::domain::message::{Outgoing, MAX_CONTENT_CHARS};
use crate::domain::refusal::{Refusal, Result};
use crate::service::changes;
use crate::service::messages::{self, Sent};
use crate::service::signals;
use lambda_http::Request;
use serde_json::json;

/// The answer to a send: `200` with the server id, whether stored now or already stored under
/// the same client id (simple_im's client reads only `200 OK` as success).
pub fn sent(client_id: &str, sent: &Sent) -> Reply {
    Reply::ok(json!({ "message": [{ "id": client_id, "sid": sent.id }] }))
}

/// `POST /message` (`to` or `g_id`, `id`, `t`, `c`, optional `reply_to`): answers once the
/// message is durable, with its server id.
pub async fn send_message(ctx: &Ctx, req: &Request) -> Result<Reply> {
    let actor = ctx.actor()?;
    let fields = Fields::parse(req)?;
    let target = match (fields.opt_u64("to", u64::MAX)?, fields.opt_u64("g_id", u64::MAX)?) {
        (Some(to), None) => Target::User(UserId(to)),
        (None, Some(group)) => Target::Group(GroupId(group)),
        _ => return Err(Refusal::invalid("give to (a user id) or g_id (a group id)").into()),
    };
    let client_id = fields.text("id", 1, 64)?;
    let kind = fields.opt_text("t", 1, 16)?.unwrap_or_else(|| "text".into());
    let out = Outgoing::new(client_id, &kind, fields.text("c", 1, MAX_CONTENT_CHARS)?, target)?
        .replying_to(fields.opt_text("reply_to", 1, 100)?)?
        .named(fields.opt_text("name", 1, 255)?)?;
    Ok(sent(&out.client_id, &messages::send(&*ctx.clients, &actor, &out).await?))
}

/// The message a request names by `id` (a server id, `<conversation>:<seq>`).
fn message_named(id: &str) -> Result<(ConversationId, u64)> {
    Ok(EntryId::message(id).ok_or_else(|| Refusal::invalid("id must be a message id"))?)
}

/// A message as its changer now sees it.
fn changed(entry: &Entry) -> Reply {
    Reply::ok(json!({ "message": [entry.view()] }))
}

/// `PATCH /message` (`id`, `c`): the sender's new text for a text message, within the edit window.
pub async fn edit_message(ctx: &Ctx, req: &Request) -> Result<Reply> {
    let actor = ctx.actor()?;
    let fields = Fields::parse(req)?;
    let id = message_named(&fields.text("id", 1, 100)?)?;
    Ok(changed(&changes::edit(&*ctx.clients, &actor, id, &fields.text("c", 1, MAX_CONTENT_CHARS)?).await?))
}

/// `DELETE /message?id=<id>[&for=me]`: deletes a message for everyone (its sender), or hides it
/// from the caller's own history (`for=me`, anyone's message).
pub async fn delete_message(ctx: &Ctx, req: &Request) -> Result<Reply> {
    let actor = ctx.actor()?;
    let (conversation, seq) = message_named(query(req, "id").ok_or_else(|| Refusal::invalid("id is required"))?)?;
    match query(req, "for") {
        None | Some("everyone") => changes::delete(&*ctx.clients, &actor, conversation, seq).await?,
        Some("me") => changes::hide(&*ctx.clients, &actor, conversation, seq).await?,
        Some(_) => return Err(Refusal::invalid("for must be me or everyone").into()),
    }
    Ok(Reply::no_content())
}

/// `POST /message/reaction` (`id`, `emoji`, `on`, default true): the caller's reaction added
/// or taken back; answers the message with its `reactions`.
pub async fn react_message(ctx: &Ctx, req: &Request) -> Result<Reply> {
    let actor = ctx.actor()?;
    let fields = Fields::parse(req)?;
    let id = message_named(&fields.text("id", 1, 100)?)?;
    let (emoji, on) = (fields.text("emoji", 1, 64)?, fields.opt_bool("on")?.unwrap_or(true));
    Ok(changed(&changes::react(&*ctx.clients, &actor, id, &emoji, on).await?))
}

/// `GET /message/history?with=<user>|g_id=<group>[&before=<id>][&limit=20]`: the newest `limit`
/// messages before `before`, oldest first.
pub async fn get_message_history(ctx: &Ctx, req: &Request) -> Result<Reply> {
    let caller = ctx.caller()?;
    let conversation = ConversationId::of(caller.user_id, target_in_query(req)?);
    let limit = number_in_query(req, "limit")?.unwrap_or(20).clamp(1, 100);
    let before = query(req, "before").map(|id| EntryId::seq_in(id, conversation)).transpose()?;
    let entries = messages::history(&*ctx.clients, caller.user_id, conversation, 1, limit, before).await?;
    let mut tables = by_table(&entries);
    if tables.get("n").is_some_and(Vec::is_empty) {
        tables.remove("n");
    }
    Ok(Reply::ok(json!({})).with_tables(tables))
}

/// A number in the query string, if given.
fn number_in_query(req: &Request, name: &str) -> Result<Option<u64>> {
    query(req, name)
        .map(|v| v.parse().map_err(|_| Refusal::invalid(format!("{name} must be a number")).into()))
        .transpose()
}

/// The conversation a query string names: `with=<user>` or `g_id=<group>`, exactly one.
fn target_in_query(req: &Request) -> Result<Target> {
    let (with, group) = (number_in_query(req, "with")?, number_in_query(req, "g_id")?);
    Target::either(with.map(UserId), group.map(GroupId))
        .map_err(|_| Refusal::invalid("give with (a user id) or g_id (a group id)").into())
}

/// `POST /message/read` (`with` or `g_id`, `upto`): the caller read the conversation up to
/// `upto` (at most its head; a marker never moves back); the others hear it (`NOTIFY_READ`).
pub async fn post_message_read(ctx: &Ctx, req: &Request) -> Result<Reply> {
    let actor = ctx.actor()?;
    let fields = Fields::parse(req)?;
    let target = fields.target()?;
    let upto = fields.opt_u64("upto", u64::MAX)?.ok_or_else(|| Refusal::invalid("upto is required"))?;
    let upto = signals::read(&*ctx.clients, &actor, target, upto).await?;
    Ok(Reply::ok(json!({ "read": [{ "upto": upto }] })))
}

/// `GET /message/receipts?with=<user>|g_id=<group>`: each other participant's read and
/// delivered positions (`read` left out where a read receipts setting hides it).
pub async fn get_message_receipts(ctx: &Ctx, req: &Request) -> Result<Reply> {
    let caller = ctx.caller()?;
    let receipts = signals::receipts(&*ctx.clients, caller.user_id, target_in_query(req)?).await?;
    Ok(Reply::list("receipts", receipts))
}
