//! Groups (seed 001), TOML by default.

use super::{path_number, Ctx, Fields, Reply};
use crate::domain::ids::GroupId;
use crate::domain::refusal::{Refusal, Result};
use crate::service::groups::{self, MAX_MEMBERS};
use lambda_http::Request;
use serde_json::{json, Value};

fn group_id(req: &Request) -> Result<GroupId> {
    path_number(req, "id", || Refusal::invalid("group id must be a number"))
}

/// `POST /group` (`members[]`, `name`, optional `id`): 200 with the group, its `g_key` and
/// members.
pub async fn create_group(ctx: &Ctx, req: &Request) -> Result<Reply> {
    let actor = ctx.actor()?;
    let fields = Fields::parse(req)?;
    let name = fields.text("name", 1, 64)?;
    let members = fields.user_list("members", MAX_MEMBERS)?;
    let client_id = fields.opt_text("id", 1, 64)?;
    let created = groups::create(&*ctx.clients, &actor, &name, &members, client_id.as_deref()).await?;
    let view = json!({ "g_id": created.id, "g_key": created.key, "name": name, "members": created.members });
    Ok(Reply::ok(json!({ "group": [view] })))
}

/// `DELETE /group/{id}`: the creator only.
pub async fn delete_group(ctx: &Ctx, req: &Request) -> Result<Reply> {
    groups::delete(&*ctx.clients, &ctx.actor()?, group_id(req)?).await.map(Reply::empty)
}

/// `POST /group/{id}/member` (`g_key`): joins with the group's key.
pub async fn join_group(ctx: &Ctx, req: &Request) -> Result<Reply> {
    let key = Fields::parse(req)?.text("g_key", 1, 64)?;
    groups::join(&*ctx.clients, &ctx.actor()?, group_id(req)?, &key).await.map(Reply::empty)
}

/// `POST /group/{id}/member/{uid}`: the creator adds a user.
pub async fn add_group_member(ctx: &Ctx, req: &Request) -> Result<Reply> {
    let member = path_number(req, "uid", || Refusal::invalid("uid must be a number"))?;
    groups::add(&*ctx.clients, &ctx.actor()?, group_id(req)?, member).await.map(Reply::empty)
}

/// `DELETE /group/{id}/member/{uid}`: the creator removes a member.
pub async fn remove_group_member(ctx: &Ctx, req: &Request) -> Result<Reply> {
    let member = path_number(req, "uid", || Refusal::invalid("uid must be a number"))?;
    groups::remove(&*ctx.clients, &ctx.actor()?, group_id(req)?, member).await.map(Reply::empty)
}

/// `PUT /group/{id}/key`: the creator rotates the join key; answers the new `g_key`.
pub async fn rotate_group_key(ctx: &Ctx, req: &Request) -> Result<Reply> {
    let key = groups::rotate_key(&*ctx.clients, &ctx.actor()?, group_id(req)?).await?;
    Ok(Reply::ok_with_response(json!({ "g_key": key })))
}

/// `DELETE /group/{id}/member`: leaves the group.
pub async fn leave_group(ctx: &Ctx, req: &Request) -> Result<Reply> {
    groups::leave(&*ctx.clients, &ctx.actor()?, group_id(req)?).await.map(Reply::empty)
}

/// `GET /group`: my groups.
pub async fn list_groups(ctx: &Ctx, _req: &Request) -> Result<Reply> {
    let caller = ctx.caller()?;
    let list: Vec<Value> = groups::of_user(&*ctx.clients, caller.user_id)
        .await?
        .into_iter()
        .map(|(id, info)| json!({ "g_id": id, "name": info.name, "creator": info.creator }))
        .collect();
    Ok(Reply::ok(json!({ "group": list })))
}

/// `GET /group/{id}/member`: the members, for members only.
pub async fn list_group_members(ctx: &Ctx, req: &Request) -> Result<Reply> {
    let caller = ctx.caller()?;
    let members = groups::members(&*ctx.clients, caller.user_id, group_id(req)?).await?;
    let list: Vec<Value> = members.iter().map(|p| p.view(Some(caller.user_id))).collect();
    Ok(Reply::ok(json!({ "member": list })))
}
