//! Reports over HTTP (issue 27).

use super::{Ctx, Fields, Reply};
use crate::domain::ids::UserId;
use crate::domain::refusal::Result;
use crate::domain::report::{Reason, MAX_REPORT_TEXT};
use crate::service::reports::{self, Reported};
use http::StatusCode;
use lambda_http::Request;
use serde_json::json;

/// `POST /report` (`user` or `message`, `reason`, optional `text`): `201` with the report's id.
pub async fn report(ctx: &Ctx, req: &Request) -> Result<Reply> {
    let actor = ctx.actor()?;
    let fields = Fields::parse(req)?;
    let user = fields.opt_u64("user", u64::MAX)?.map(UserId);
    let reported = Reported::named(user, fields.opt_text("message", 1, 100)?)?;
    let reason = Reason::parse(&fields.text("reason", 1, 16)?)?;
    let text = fields.opt_text("text", 0, MAX_REPORT_TEXT)?;
    let id = reports::report(&*ctx.clients, &actor, reported, reason, text).await?;
    Ok(Reply::ok(json!({ "report": [{ "id": id }] })).with_status(StatusCode::CREATED))
}
