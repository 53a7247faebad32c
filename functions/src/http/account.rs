//! Leaving and taking one's data along over HTTP (issue 28).

use super::fields::Fields;
use super::{Ctx, Reply};
use crate::domain::refusal::Result;
use crate::service::account::{self, Export, EXPORT_INLINE_MAX};
use lambda_http::Request;
use serde_json::json;

/// `DELETE /user` with `password` (form or JSON): the account and what it holds, for good.
pub async fn delete_user(ctx: &Ctx, req: &Request) -> Result<Reply> {
    let caller = ctx.caller()?;
    let password = Fields::parse(req)?.text("password", 1, 128)?.into();
    account::delete(&*ctx.clients, caller, password).await?;
    Ok(Reply::no_content())
}

/// `GET /user/export`: the archive in the answer (`export`), or, past what one answer holds, a
/// signed link to it (`export_url`, with its size in `bytes`).
pub async fn export_user(ctx: &Ctx, _req: &Request) -> Result<Reply> {
    let caller = ctx.caller()?;
    Ok(match account::export(&*ctx.clients, caller.user_id, EXPORT_INLINE_MAX).await? {
        Export::Inline(archive) => Reply::ok(json!({ "export": archive })),
        Export::Stored { url, bytes } => Reply::ok(json!({ "export_url": url, "bytes": bytes })),
    })
}
