//! The inbox over HTTP (issue 27).

use super::{query, Ctx, Reply};
use crate::domain::inbox::MAX_PAGE;
use crate::domain::refusal::{Refusal, Result};
use crate::service::inbox;
use lambda_http::Request;

/// The inbox's `limit` as a client wrote it.
pub fn limit(raw: Option<&str>) -> Result<Option<u64>> {
    let bad = || Refusal::invalid(format!("limit must be 1 to {MAX_PAGE}"));
    Ok(raw.map(|raw| raw.parse().map_err(|_| bad())).transpose()?)
}

/// `GET /conversations?limit=&after=`: the caller's conversations, newest activity first.
pub async fn list_conversations(ctx: &Ctx, req: &Request) -> Result<Reply> {
    let caller = ctx.caller()?;
    let page = inbox::list(&*ctx.clients, caller.user_id, limit(query(req, "limit"))?, query(req, "after")).await?;
    Ok(Reply::ok(page.fields()))
}
