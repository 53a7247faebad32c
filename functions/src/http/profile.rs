//! The caller's own profile over HTTP (issue 27): `PUT /user`, `PUT /user/avatar`, and
//! `GET /file/avatar/{name}`.

use super::audio::found;
use super::users::profile_fields;
use super::{path_param, Ctx, Fields, Reply};
use crate::domain::refusal::{Refusal, Result};
use crate::domain::user::Profile;
use crate::service::profile;
use lambda_http::Request;
use serde_json::json;

/// The caller's profile as they see it, in `POST /user`'s shape.
fn own(profile: &Profile) -> Reply {
    Reply::ok(json!({ "user": [profile.view(Some(profile.id))] }))
}

/// `PUT /user` (form or JSON): `name`, `nick_name`, `age`, `gender`, `show_user_name`,
/// `show_age`, `show_gender`, `show_phone`; the fields given change, the others stay.
pub async fn update_user(ctx: &Ctx, req: &Request) -> Result<Reply> {
    let actor = ctx.actor()?;
    let fields = Fields::parse(req)?;
    if fields.opt_text("avatar", 0, 1024)?.is_some() {
        return Err(Refusal::invalid("the avatar is set with PUT /user/avatar").into());
    }
    Ok(own(&profile::update(&*ctx.clients, &actor, &profile_fields(&fields)?).await?))
}

/// `PUT /user/avatar` (`key`: an image uploaded with `POST /media/upload`).
pub async fn put_avatar(ctx: &Ctx, req: &Request) -> Result<Reply> {
    let actor = ctx.actor()?;
    let key = Fields::parse(req)?.text("key", 1, 64)?;
    Ok(own(&profile::set_avatar(&*ctx.clients, &actor, &key).await?))
}

/// `GET /file/avatar/{name}`: `302` to a signed URL of an avatar, for any signed-in user.
pub async fn get_avatar(ctx: &Ctx, req: &Request) -> Result<Reply> {
    ctx.caller()?;
    Ok(found(profile::avatar_url(&*ctx.clients, path_param(req, "name")?).await?, "file"))
}
