//! Push registrations of the caller's own device (the session's): `PUT /device/push`
//! {platform, token} (form or JSON), `DELETE /device/push`, `GET /device/push`.

use super::{Ctx, Fields, Reply};
use crate::domain::push::{parse_token, Platform, MAX_TOKEN_LEN};
use crate::domain::refusal::Result;
use crate::service::push;
use lambda_http::Request;
use serde_json::json;

/// `PUT /device/push`: registers (or re-registers) the session's device; 200 with it.
pub async fn put_device_push(ctx: &Ctx, req: &Request) -> Result<Reply> {
    let caller = ctx.caller()?;
    let fields = Fields::parse(req)?;
    let platform = Platform::parse(&fields.text("platform", 1, 16)?)?;
    let token = parse_token(&fields.text("token", 1, MAX_TOKEN_LEN)?)?;
    let who = (caller.user_id, caller.device_key(), caller.session.as_str());
    let registration = push::register(&*ctx.clients, (who.0, &who.1, who.2), platform, &token).await?;
    Ok(Reply::ok(json!({ "push": [push::view(&registration)] })))
}

/// `DELETE /device/push`: ends the session's device's registration; 204 (also when none).
pub async fn delete_device_push(ctx: &Ctx, _req: &Request) -> Result<Reply> {
    let caller = ctx.caller()?;
    push::unregister(&*ctx.clients, (caller.user_id, &caller.device_key())).await?;
    Ok(Reply::no_content())
}

/// `GET /device/push`: the caller's registrations, one per device (a bare array in JSON).
pub async fn list_device_push(ctx: &Ctx, _req: &Request) -> Result<Reply> {
    let caller = ctx.caller()?;
    let listed = push::list(&*ctx.clients, caller.user_id).await?;
    Ok(Reply::list("push", listed.iter().map(push::view).collect()))
}
