//! Push registrations of the caller's own device (the session's): `PUT /device/push`
//! {platform, token} (form or JSON), `DELETE /device/push`, `GET /device/push`; the caller's
//! push settings (`GET/PUT /user/settings`) and mutes (`PUT /mute`, `GET /mute`).

use super::{Ctx, Fields, Reply};
use crate::domain::push::{parse_token, Platform, MAX_TOKEN_LEN};
use crate::domain::refusal::{Refusal, Result};
use crate::service::push;
use crate::store::push::{Flag, Visibility};
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

/// The caller's settings as answered: `[[settings]] push_preview`.
fn settings_reply(settings: &crate::store::push::Settings) -> Reply {
    let view = json!({
        "push_preview": settings.push_preview,
        "read_receipts": settings.read_receipts,
        "presence": settings.presence.as_str(),
    });
    Reply::ok(json!({ "settings": [view] }))
}

/// `GET /user/settings`.
pub async fn get_user_settings(ctx: &Ctx, _req: &Request) -> Result<Reply> {
    let caller = ctx.caller()?;
    Ok(settings_reply(&push::update_settings(&*ctx.clients, caller.user_id, &[], None).await?))
}

/// `PUT /user/settings`: a partial update (form, JSON or TOML); only the fields sent change.
pub async fn put_user_settings(ctx: &Ctx, req: &Request) -> Result<Reply> {
    let caller = ctx.caller()?;
    let fields = Fields::parse(req)?;
    let mut flags = vec![];
    for flag in [Flag::PushPreview, Flag::ReadReceipts] {
        if let Some(on) = fields.opt_bool(flag.name())? {
            flags.push((flag, on));
        }
    }
    let presence = match fields.opt_text("presence", 1, 16)? {
        Some(text) => {
            Some(Visibility::parse(&text).ok_or_else(|| Refusal::invalid("presence must be friends or nobody"))?)
        }
        None => None,
    };
    Ok(settings_reply(&push::update_settings(&*ctx.clients, caller.user_id, &flags, presence).await?))
}

/// `PUT /mute` {with | g_id, until}: no pushes for that conversation until `until`; 0 unmutes.
pub async fn put_mute(ctx: &Ctx, req: &Request) -> Result<Reply> {
    let caller = ctx.caller()?;
    let fields = Fields::parse(req)?;
    let target = fields.target()?;
    let until = fields.opt_u64("until", u64::MAX)?.ok_or_else(|| Refusal::invalid("until is required"))?;
    Ok(Reply::ok(json!({ "mute": push::mute(&*ctx.clients, caller.user_id, target, until).await? })))
}

/// `GET /mute`: the caller's mutes still in force (a bare array in JSON).
pub async fn list_mutes(ctx: &Ctx, _req: &Request) -> Result<Reply> {
    let caller = ctx.caller()?;
    Ok(Reply::list("mute", push::mutes(&*ctx.clients, caller.user_id).await?))
}
