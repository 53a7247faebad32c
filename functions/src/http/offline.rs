//! simple_im's offline store over HTTP: what this device has not confirmed, and confirming it.

use super::{query, Ctx, Reply};
use crate::delivery::render::by_table;
use crate::domain::ids::EntryId;
use crate::domain::refusal::{Refusal, Result};
use crate::service::sync;
use lambda_http::{Request, RequestExt};
use serde_json::json;

/// Most entries of each kind one `GET /offline` returns; `more = true` says to ask again.
pub const OFFLINE_PAGE: usize = 100;

/// `GET /offline[?after=n:12]`: what this device has not confirmed (in its feed, only what comes
/// after `after` too), oldest first, as simple_im's `[[n]]`, `[[m]]`, `[[gm]]` entries.
pub async fn get_offline(ctx: &Ctx, req: &Request) -> Result<Reply> {
    let caller = ctx.caller()?;
    let after = match query(req, "after").map(str::parse::<EntryId>) {
        Some(Ok(EntryId::Feed(seq))) => Some(seq),
        Some(_) => return Err(Refusal::invalid("after must be a notification id like n:12").into()),
        None => None,
    };
    let device = (caller.device_key(), caller.device.as_str());
    let pending = sync::pending(&*ctx.clients, caller.user_id, device, after, OFFLINE_PAGE).await?;
    let tables = by_table(pending.feed.iter().chain(&pending.messages));
    let response = json!({ "more": pending.more, "friend_request": pending.friend_requests });
    Ok(Reply::ok_with_response(response).with_tables(tables))
}

/// `DELETE /offline?id=...[&id=...]`: confirms, for this device, exactly the entries named —
/// notification ids (`n:12`) or message ids (`dm#1#2:7`, `group#9:3`, URL-encoded).
/// `?upto=<id>` is the explicit "everything up to this one" of its stream; without either,
/// everything: the feed and every conversation.
pub async fn delete_offline(ctx: &Ctx, req: &Request) -> Result<Reply> {
    let caller = ctx.caller()?;
    let params = req.query_string_parameters();
    let ids = params.all("id").unwrap_or_default();
    let up_to = params.first("upto");
    let (clients, device) = (&*ctx.clients, &caller.device_key());
    if ids.is_empty() && up_to.is_none() {
        sync::acknowledge_everything(clients, caller.user_id, device).await?;
    } else {
        sync::acknowledge(clients, caller.user_id, device, &ids, up_to).await?;
    }
    Ok(Reply::ok(json!({})))
}
