//! A forgotten password over HTTP (issue 27): both routes are open (no token: the user lost it).

use super::{Ctx, Fields, Reply};
use crate::domain::refusal::Result;
use crate::service::reset;
use http::StatusCode;
use lambda_http::Request;
use serde_json::json;

/// `POST /user/password/reset` (`phone` or `email`): `202`, whether or not an account has it;
/// when one does, a code goes there.
pub async fn request_password_reset(ctx: &Ctx, req: &Request) -> Result<Reply> {
    reset::request(&*ctx.clients, &Fields::parse(req)?.login_name()?).await?;
    Ok(Reply::ok(json!({})).with_status(StatusCode::ACCEPTED))
}

/// `POST /user/password/reset/confirm` (`phone` or `email`, `code`, `password`): the new
/// password; every session of the account ends.
pub async fn confirm_password_reset(ctx: &Ctx, req: &Request) -> Result<Reply> {
    let fields = Fields::parse(req)?;
    let (code, password) = (fields.text("code", 1, 16)?, fields.text("password", 1, 128)?.into());
    reset::confirm(&*ctx.clients, &fields.login_name()?, &code, password, &ctx.source).await?;
    Ok(Reply::ok(json!({})))
}
