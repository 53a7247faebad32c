//! Groups (seed 001): create, delete, join by key, add, leave, list. Group events are stored
//! once in the group's conversation (`group#<id>`) and pushed to every member's devices.
//!
//! Items in the groups table (`pk`, `sk`): `group#<id>`,`#info` (name, creator, g_key);
//! `group#<id>`,`member#<user>`; `member#<user>`,`group#<id>` (my groups).

use crate::api::{path_param, ApiError, ApiResult, Fields, Reply};
use crate::contacts::{actor, notice};
use crate::db::{n, now_secs, query_all, s, Item, ItemExt};
use crate::push;
use crate::users;
use crate::Ctx;
use aws_sdk_dynamodb::types::{DeleteRequest, PutRequest, WriteRequest};
use http::StatusCode;
use im_adapters::Clients;
use lambda_http::Request;
use rand::Rng;
use serde_json::{json, Value};

/// The conversation a group's messages and events live in.
pub fn stream(group: u64) -> String {
    format!("group#{group}")
}

/// Most members a group takes.
pub const MAX_MEMBERS: usize = 5000;

struct Info {
    name: String,
    creator: u64,
    key: String,
}

async fn info(clients: &Clients, group: u64) -> ApiResult<Option<Info>> {
    let out = clients
        .dynamodb
        .get_item()
        .table_name(&clients.config.tables.groups)
        .key("pk", s(stream(group)))
        .key("sk", s("#info"))
        .consistent_read(true)
        .send()
        .await
        .map_err(ApiError::aws)?;
    Ok(out.item.and_then(|i| {
        Some(Info { name: i.str("name")?.to_string(), creator: i.u64("creator")?, key: i.str("g_key")?.to_string() })
    }))
}

async fn query_prefix(clients: &Clients, pk: String, prefix: &str) -> ApiResult<Vec<Item>> {
    let query = clients
        .dynamodb
        .query()
        .table_name(&clients.config.tables.groups)
        .key_condition_expression("pk = :pk AND begins_with(sk, :prefix)")
        .expression_attribute_values(":pk", s(&pk))
        .expression_attribute_values(":prefix", s(prefix))
        .consistent_read(true);
    query_all(query).await
}

fn id_after(item: &Item, prefix: &str) -> Option<u64> {
    item.str("sk")?.strip_prefix(prefix)?.parse().ok()
}

/// A group's members (a Query on the group's partition).
pub async fn members(clients: &Clients, group: u64) -> ApiResult<Vec<u64>> {
    Ok(query_prefix(clients, stream(group), "member#").await?.iter().filter_map(|i| id_after(i, "member#")).collect())
}

/// The groups a user belongs to.
pub async fn groups_of(clients: &Clients, user: u64) -> ApiResult<Vec<u64>> {
    Ok(query_prefix(clients, format!("member#{user}"), "group#")
        .await?
        .iter()
        .filter_map(|i| id_after(i, "group#"))
        .collect())
}

/// Writes (or deletes) both membership items of each user, 25 requests per BatchWriteItem.
pub async fn write_memberships(clients: &Clients, group: u64, users: &[u64], add: bool) -> ApiResult<()> {
    let table = &clients.config.tables.groups;
    let mut requests = vec![];
    for user in users {
        for (pk, sk) in [(stream(group), format!("member#{user}")), (format!("member#{user}"), stream(group))] {
            let request = if add {
                let put = PutRequest::builder().item("pk", s(pk)).item("sk", s(sk)).item("joined_at", n(now_secs()));
                WriteRequest::builder().put_request(put.build().map_err(ApiError::internal)?).build()
            } else {
                let delete = DeleteRequest::builder().key("pk", s(pk)).key("sk", s(sk));
                WriteRequest::builder().delete_request(delete.build().map_err(ApiError::internal)?).build()
            };
            requests.push(request);
        }
    }
    for chunk in requests.chunks(25) {
        let mut pending = chunk.to_vec();
        while !pending.is_empty() {
            let out = clients
                .dynamodb
                .batch_write_item()
                .request_items(table, pending)
                .send()
                .await
                .map_err(ApiError::aws)?;
            pending = out.unprocessed_items.unwrap_or_default().remove(table).unwrap_or_default();
        }
    }
    Ok(())
}

fn group_id(req: &Request) -> ApiResult<u64> {
    path_param(req, "id")?.parse().map_err(|_| ApiError::bad_request("group id must be a number"))
}

async fn existing(clients: &Clients, group: u64) -> ApiResult<Info> {
    info(clients, group).await?.ok_or_else(|| ApiError::not_found("group not found"))
}

/// A fresh join key: 16 letters and digits, like simple_im's `g_key`.
fn new_key() -> String {
    const CHARS: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    let mut rng = rand::thread_rng();
    (0..16).map(|_| CHARS[rng.gen_range(0..CHARS.len())] as char).collect()
}

/// `POST /group` (`members[]`, `name`): creates a group with the caller and the members; all of
/// them get `create_group` with the `g_key`.
pub async fn create_group(ctx: &Ctx, req: &Request) -> ApiResult {
    let caller = ctx.caller()?;
    let fields = Fields::parse(req)?;
    let name = fields.text("name", 1, 64)?;
    let mut member_ids = fields.u64_list("members", MAX_MEMBERS)?;
    member_ids.push(caller.user_id);
    member_ids.sort_unstable();
    member_ids.dedup();
    if member_ids.len() > MAX_MEMBERS {
        return Err(ApiError::bad_request(format!("a group has at most {MAX_MEMBERS} members")));
    }
    let known = users::load_profiles(&ctx.clients, &member_ids).await?;
    if let Some(missing) = member_ids.iter().find(|id| !known.contains_key(id)) {
        return Err(ApiError::coded("404-3", format!("user {missing} not found")));
    }
    let group = users::next_id(&ctx.clients, "counter#groups").await?;
    let key = new_key();
    ctx.clients
        .dynamodb
        .put_item()
        .table_name(&ctx.clients.config.tables.groups)
        .item("pk", s(stream(group)))
        .item("sk", s("#info"))
        .item("name", s(&name))
        .item("creator", n(caller.user_id))
        .item("g_key", s(&key))
        .item("created_at", n(now_secs()))
        .condition_expression("attribute_not_exists(pk)")
        .send()
        .await
        .map_err(ApiError::aws)?;
    write_memberships(&ctx.clients, group, &member_ids, true).await?;
    let event = notice("create_group", caller, group, json!({ "g_id": group, "g_key": key, "name": name }));
    push::broadcast(&ctx.clients, &actor(caller), &stream(group), &member_ids, event).await?;
    let view = json!({ "g_id": group, "g_key": key, "name": name, "members": member_ids });
    Ok(Reply::ok(json!({ "group": [view] })).with_status(StatusCode::CREATED))
}

/// `DELETE /group/{id}`: the creator only; every member gets `delete_group`.
pub async fn delete_group(ctx: &Ctx, req: &Request) -> ApiResult {
    let caller = ctx.caller()?;
    let group = group_id(req)?;
    let info = existing(&ctx.clients, group).await?;
    if info.creator != caller.user_id {
        return Err(ApiError::new(StatusCode::FORBIDDEN, "only the creator can delete the group"));
    }
    let members = members(&ctx.clients, group).await?;
    // Into each member's own feed, not the group's conversation: once the memberships are gone
    // the group's conversation is no longer theirs to sync. Deleting a group is rare; this is
    // the one group event whose writes grow with the members.
    let event = notice("delete_group", caller, group, json!({ "g_id": group }));
    push::notify(&ctx.clients, &actor(caller), &members, event).await?;
    write_memberships(&ctx.clients, group, &members, false).await?;
    ctx.clients
        .dynamodb
        .delete_item()
        .table_name(&ctx.clients.config.tables.groups)
        .key("pk", s(stream(group)))
        .key("sk", s("#info"))
        .send()
        .await
        .map_err(ApiError::aws)?;
    Ok(Reply::ok(json!({})))
}

async fn add_member(ctx: &Ctx, group: u64, member: u64) -> ApiResult {
    let caller = ctx.caller()?;
    let mut current = members(&ctx.clients, group).await?;
    if current.contains(&member) {
        return Err(ApiError::conflict("already a member"));
    }
    if current.len() >= MAX_MEMBERS {
        return Err(ApiError::conflict(format!("a group has at most {MAX_MEMBERS} members")));
    }
    write_memberships(&ctx.clients, group, &[member], true).await?;
    current.push(member);
    let event = notice("create_group_member", caller, group, json!({ "g_id": group, "member_id": member }));
    push::broadcast(&ctx.clients, &actor(caller), &stream(group), &current, event).await?;
    Ok(Reply::ok(json!({})))
}

/// `POST /group/{id}/member` (`g_key`): joins with the group's key.
pub async fn join_group(ctx: &Ctx, req: &Request) -> ApiResult {
    let caller = ctx.caller()?;
    let group = group_id(req)?;
    let key = Fields::parse(req)?.text("g_key", 1, 64)?;
    let info = existing(&ctx.clients, group).await?;
    if info.key != key {
        return Err(ApiError::new(StatusCode::FORBIDDEN, "wrong g_key"));
    }
    add_member(ctx, group, caller.user_id).await
}

/// `POST /group/{id}/member/{uid}`: the creator adds a user.
pub async fn add_group_member(ctx: &Ctx, req: &Request) -> ApiResult {
    let caller = ctx.caller()?;
    let group = group_id(req)?;
    let member: u64 = path_param(req, "uid")?.parse().map_err(|_| ApiError::bad_request("uid must be a number"))?;
    let info = existing(&ctx.clients, group).await?;
    if info.creator != caller.user_id {
        return Err(ApiError::new(StatusCode::FORBIDDEN, "only the creator can add members"));
    }
    if users::load_profile(&ctx.clients, member).await?.is_none() {
        return Err(ApiError::coded("404-3", "user not found"));
    }
    add_member(ctx, group, member).await
}

/// `DELETE /group/{id}/member`: leaves; members (and the leaver's other devices) get
/// `delete_group_member`.
pub async fn leave_group(ctx: &Ctx, req: &Request) -> ApiResult {
    let caller = ctx.caller()?;
    let group = group_id(req)?;
    existing(&ctx.clients, group).await?;
    let current = members(&ctx.clients, group).await?;
    if !current.contains(&caller.user_id) {
        return Err(ApiError::not_found("not a member"));
    }
    let event = notice("delete_group_member", caller, group, json!({ "g_id": group, "gm_id": caller.user_id }));
    push::broadcast(&ctx.clients, &actor(caller), &stream(group), &current, event).await?;
    write_memberships(&ctx.clients, group, &[caller.user_id], false).await?;
    Ok(Reply::ok(json!({})))
}

/// `GET /group`: my groups.
pub async fn list_groups(ctx: &Ctx, _req: &Request) -> ApiResult {
    let caller = ctx.caller()?;
    let mut groups = vec![];
    for group in groups_of(&ctx.clients, caller.user_id).await? {
        if let Some(info) = info(&ctx.clients, group).await? {
            groups.push(json!({ "g_id": group, "name": info.name, "creator": info.creator }));
        }
    }
    Ok(Reply::ok(json!({ "group": groups })))
}

/// `GET /group/{id}/member`: the members, for members only.
pub async fn list_members(ctx: &Ctx, req: &Request) -> ApiResult {
    let caller = ctx.caller()?;
    let group = group_id(req)?;
    existing(&ctx.clients, group).await?;
    let members = members(&ctx.clients, group).await?;
    if !members.contains(&caller.user_id) {
        return Err(ApiError::new(StatusCode::FORBIDDEN, "not a member"));
    }
    let profiles = users::load_profiles(&ctx.clients, &members).await?;
    let list: Vec<Value> =
        members.iter().filter_map(|m| profiles.get(m)).map(|p| p.view(Some(caller.user_id))).collect();
    Ok(Reply::ok(json!({ "member": list })))
}
