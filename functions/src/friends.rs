//! Seed 004: friends, follows and blocks over REST (JSON by default), with the seed's error
//! codes. Another view over `relations`; changes notify through `push` like simple_im's.
//!
//! Rules beyond the seed (see docs/API.md): `requested_user_id` names the other user of the
//! request (the requester for accept and ignore, the requested user for withdraw); ignoring
//! and withdrawing tell nobody but the actor's own devices; a block clears pending requests
//! both ways and the blocked user's follow, keeps a friendship, and afterwards the blocked
//! user's requests and follows are refused (400-6).

use crate::api::{path_param, ApiError, ApiResult, Fields, Reply};
use crate::contacts::{self, actor, cleared, existing_user, notice};
use crate::push;
use crate::relations::{self, Edge, Friendship, List, ListedEdge};
use crate::users::{self, Profile};
use crate::Ctx;
use http::StatusCode;
use lambda_http::Request;
use serde_json::{json, Map, Value};

fn created() -> Reply {
    Reply::ok(json!({})).with_status(StatusCode::CREATED)
}

/// A user id from a path segment: seed 004's 400-3 when it is not a number.
fn path_user(req: &Request, name: &str) -> ApiResult<u64> {
    path_param(req, name)?.parse().map_err(|_| ApiError::coded("400-3", format!("{name} must be a number")))
}

fn body_user(fields: &Fields, name: &str) -> ApiResult<Option<u64>> {
    fields.opt_u64(name, u64::MAX).map_err(|_| ApiError::coded("400-3", format!("{name} must be a number")))
}

/// `{prefix}_user_name`, `_nick_name`, `_age`, `_gender` as the viewer may see them.
fn person(prefix: &str, id_field: &str, id: u64, profile: Option<&Profile>, viewer: u64) -> Map<String, Value> {
    let view = profile.map(|p| p.view(Some(viewer))).unwrap_or_else(|| json!({}));
    let mut fields = Map::new();
    fields.insert(id_field.into(), json!(id));
    for field in ["name", "nick_name", "age", "gender"] {
        let key = format!("{prefix}_user_{field}");
        fields.insert(key, view.get(field).cloned().unwrap_or(Value::Null));
    }
    fields
}

fn rfc3339(secs: u64) -> String {
    time::OffsetDateTime::from_unix_timestamp(secs as i64)
        .ok()
        .and_then(|t| t.format(&time::format_description::well_known::Rfc3339).ok())
        .unwrap_or_default()
}

async fn profiles_of(ctx: &Ctx, edges: &[ListedEdge]) -> ApiResult<std::collections::HashMap<u64, Profile>> {
    let ids: Vec<u64> = edges.iter().map(|e| e.other).collect();
    users::load_profiles(&ctx.clients, &ids).await
}

/// `POST /friends/request` {requested_user_id, resend}: 201. With `resend`, an already sent
/// request is pushed again instead of answering 400-20.
pub async fn request(ctx: &Ctx, req: &Request) -> ApiResult {
    let caller = ctx.caller()?;
    let fields = Fields::parse(req)?;
    let them = body_user(&fields, "requested_user_id")?
        .ok_or_else(|| ApiError::bad_request("requested_user_id is required"))?;
    let resend = fields.opt_bool("resend")?.unwrap_or(false);
    if them == caller.user_id {
        return Err(ApiError::coded("400-23", "you cannot send a friend request to yourself"));
    }
    existing_user(&ctx.clients, them).await?;
    let request_id = match contacts::send_request(&ctx.clients, caller.user_id, them, "").await {
        Err(ApiError::Client { code: Some("400-20"), .. }) if resend => {
            relations::pair(&ctx.clients, caller.user_id, them).await?.ab.request_id
        }
        other => other?,
    };
    let notice = notice("add_contact", caller, them, json!({ "ask": "", "friend_request_id": request_id }));
    push::notify(&ctx.clients, &actor(caller), &[them], notice).await?;
    Ok(Reply::ok(json!({ "friend_request": [{ "friend_request_id": request_id }] })).with_status(StatusCode::CREATED))
}

/// Finds the other user of a pending request from `friend_request_id` (wins) or
/// `requested_user_id`; 404-12 when there is no such request involving the caller.
async fn request_party(ctx: &Ctx, fields: &Fields, caller: u64) -> ApiResult<(u64, Option<u64>)> {
    if let Some(id) = body_user(fields, "friend_request_id")? {
        let (from, to) = relations::find_request(&ctx.clients, id)
            .await?
            .ok_or_else(|| ApiError::coded("404-12", "friend request not found"))?;
        let other = if from == caller {
            to
        } else if to == caller {
            from
        } else {
            return Err(ApiError::coded("404-12", "friend request not found"));
        };
        return Ok((other, Some(id)));
    }
    match body_user(fields, "requested_user_id")? {
        Some(other) => Ok((other, None)),
        None => Err(ApiError::bad_request("friend_request_id or requested_user_id is required")),
    }
}

/// The pending request must be the one named by id, when an id was given.
fn same_request(edge: &Edge, id: Option<u64>) -> ApiResult<()> {
    match id {
        Some(id) if edge.request_id != id => Err(ApiError::coded("404-12", "friend request not found")),
        _ => Ok(()),
    }
}

/// `POST /friends/accept`: 201; the requester gets `accept_contact`.
pub async fn accept(ctx: &Ctx, req: &Request) -> ApiResult {
    let caller = ctx.caller()?;
    let (them, id) = request_party(ctx, &Fields::parse(req)?, caller.user_id).await?;
    relations::transition(&ctx.clients, caller.user_id, them, |ab, ba| {
        same_request(ab, id)?;
        contacts::decide_accept(ab, ba)
    })
    .await?;
    push::notify(&ctx.clients, &actor(caller), &[them], notice("accept_contact", caller, them, json!({}))).await?;
    Ok(created())
}

/// `POST /friends/ignore`: 201; the request is dropped and the requester is not told.
pub async fn ignore(ctx: &Ctx, req: &Request) -> ApiResult {
    let caller = ctx.caller()?;
    let (them, id) = request_party(ctx, &Fields::parse(req)?, caller.user_id).await?;
    relations::transition(&ctx.clients, caller.user_id, them, |ab, ba| {
        if ab.friendship != Friendship::RequestedBy {
            return Err(ApiError::coded("404-12", "friend request not found"));
        }
        same_request(ab, id)?;
        Ok((cleared(ab), cleared(ba)))
    })
    .await?;
    push::notify(&ctx.clients, &actor(caller), &[], notice("ignore_contact", caller, them, json!({}))).await?;
    Ok(created())
}

/// `POST /friends/withdraw`: 201; 403-6 for the requested side; the other side is not told.
pub async fn withdraw(ctx: &Ctx, req: &Request) -> ApiResult {
    let caller = ctx.caller()?;
    let (them, id) = request_party(ctx, &Fields::parse(req)?, caller.user_id).await?;
    relations::transition(&ctx.clients, caller.user_id, them, |ab, ba| match ab.friendship {
        Friendship::Requested => {
            same_request(ab, id)?;
            Ok((cleared(ab), cleared(ba)))
        }
        Friendship::RequestedBy => Err(ApiError::coded("403-6", "only the sender of a friend request can withdraw it")),
        _ => Err(ApiError::coded("404-12", "friend request not found")),
    })
    .await?;
    push::notify(&ctx.clients, &actor(caller), &[], notice("withdraw_contact", caller, them, json!({}))).await?;
    Ok(created())
}

/// `DELETE /friends/{user_id}`: 204; the former friend gets `delete_contact`.
pub async fn unfriend(ctx: &Ctx, req: &Request) -> ApiResult {
    let caller = ctx.caller()?;
    let them = path_user(req, "user_id")?;
    existing_user(&ctx.clients, them).await?;
    let pair = relations::pair(&ctx.clients, caller.user_id, them).await?;
    if pair.ab.friendship == Friendship::Friends {
        relations::transition(&ctx.clients, caller.user_id, them, |ab, ba| {
            if ab.friendship != Friendship::Friends {
                return Ok((ab.clone(), ba.clone()));
            }
            Ok((cleared(ab), cleared(ba)))
        })
        .await?;
        push::notify(&ctx.clients, &actor(caller), &[them], notice("delete_contact", caller, them, json!({}))).await?;
    }
    Ok(Reply::no_content())
}

/// `GET /friends`
pub async fn list_friends(ctx: &Ctx, _req: &Request) -> ApiResult {
    let caller = ctx.caller()?;
    let edges = relations::list(&ctx.clients, caller.user_id, List::Friends).await?;
    let profiles = profiles_of(ctx, &edges).await?;
    let items = edges
        .iter()
        .map(|e| Value::Object(person("friend", "friend_id", e.other, profiles.get(&e.other), caller.user_id)))
        .collect();
    Ok(Reply::list("friend", items))
}

/// `GET /friends/request` and `GET /friends/request_sent`
async fn list_requests(ctx: &Ctx, which: List) -> ApiResult {
    let caller = ctx.caller()?;
    let edges = relations::list(&ctx.clients, caller.user_id, which).await?;
    let profiles = profiles_of(ctx, &edges).await?;
    let (prefix, id_field, email_field, section) = match which {
        List::RequestsReceived => ("request", "request_user_id", "request_email", "friend_request"),
        _ => ("requested", "requested_user_id", "requested_email", "friend_request_sent"),
    };
    let items = edges
        .iter()
        .map(|e| {
            let profile = profiles.get(&e.other);
            let mut item = Map::new();
            item.insert("friend_request_id".into(), json!(e.edge.request_id));
            item.extend(person(prefix, id_field, e.other, profile, caller.user_id));
            item.insert(email_field.into(), json!(profile.and_then(|p| p.email.clone())));
            item.insert("created_at".into(), json!(rfc3339(e.edge.requested_at)));
            Value::Object(item)
        })
        .collect();
    Ok(Reply::list(section, items))
}

pub async fn list_requests_received(ctx: &Ctx, _req: &Request) -> ApiResult {
    list_requests(ctx, List::RequestsReceived).await
}

pub async fn list_requests_sent(ctx: &Ctx, _req: &Request) -> ApiResult {
    list_requests(ctx, List::RequestsSent).await
}

/// `POST /follows` {followee_id}: 201; the followee gets `follow`.
pub async fn follow(ctx: &Ctx, req: &Request) -> ApiResult {
    let caller = ctx.caller()?;
    let fields = Fields::parse(req)?;
    let them = body_user(&fields, "followee_id")?.ok_or_else(|| ApiError::bad_request("followee_id is required"))?;
    if them == caller.user_id {
        return Err(ApiError::coded("400-17", "you cannot follow yourself"));
    }
    existing_user(&ctx.clients, them).await?;
    relations::transition(&ctx.clients, caller.user_id, them, |ab, ba| {
        if ab.blocked_by || ab.blocking {
            return Err(ApiError::coded("400-6", "one of you has blocked the other"));
        }
        if ab.following {
            return Err(ApiError::coded("400-18", "already following"));
        }
        Ok((Edge { following: true, ..ab.clone() }, Edge { followed_by: true, ..ba.clone() }))
    })
    .await?;
    push::notify(&ctx.clients, &actor(caller), &[them], notice("follow", caller, them, json!({}))).await?;
    Ok(created())
}

/// `DELETE /follows/{followee_id}`: 204; 400-19 when not following.
pub async fn unfollow(ctx: &Ctx, req: &Request) -> ApiResult {
    let caller = ctx.caller()?;
    let them = path_user(req, "followee_id")?;
    relations::transition(&ctx.clients, caller.user_id, them, |ab, ba| {
        if !ab.following {
            return Err(ApiError::coded("400-19", "not following"));
        }
        Ok((Edge { following: false, ..ab.clone() }, Edge { followed_by: false, ..ba.clone() }))
    })
    .await?;
    push::notify(&ctx.clients, &actor(caller), &[them], notice("unfollow", caller, them, json!({}))).await?;
    Ok(Reply::no_content())
}

/// `GET /follows/{user_id}/follower` and `/followee`: anyone's, as seed 004 lists them.
async fn list_follows(ctx: &Ctx, req: &Request, which: List) -> ApiResult {
    let caller = ctx.caller()?;
    let user = path_user(req, "user_id")?;
    existing_user(&ctx.clients, user).await?;
    let edges = relations::list(&ctx.clients, user, which).await?;
    let profiles = profiles_of(ctx, &edges).await?;
    let (prefix, id_field, section) = match which {
        List::Followers => ("follower", "follower_id", "follower"),
        _ => ("followee", "followee_id", "followee"),
    };
    let items = edges
        .iter()
        .map(|e| Value::Object(person(prefix, id_field, e.other, profiles.get(&e.other), caller.user_id)))
        .collect();
    Ok(Reply::list(section, items))
}

pub async fn list_followers(ctx: &Ctx, req: &Request) -> ApiResult {
    list_follows(ctx, req, List::Followers).await
}

pub async fn list_followees(ctx: &Ctx, req: &Request) -> ApiResult {
    list_follows(ctx, req, List::Following).await
}

/// `POST /blocks` {user_id}: 201. Whatever the relationship: friends stay friends, pending
/// requests both ways are cleared, the blocked user's follow is removed. Only the blocker's own
/// devices are told.
pub async fn block(ctx: &Ctx, req: &Request) -> ApiResult {
    let caller = ctx.caller()?;
    let fields = Fields::parse(req)?;
    let them = body_user(&fields, "user_id")?.ok_or_else(|| ApiError::bad_request("user_id is required"))?;
    if them == caller.user_id {
        return Err(ApiError::coded("400-16", "you cannot block yourself"));
    }
    existing_user(&ctx.clients, them).await?;
    relations::transition(&ctx.clients, caller.user_id, them, |ab, ba| {
        let (ab, ba) = match ab.friendship {
            Friendship::Friends => (ab.clone(), ba.clone()),
            _ => (cleared(ab), cleared(ba)),
        };
        Ok((Edge { blocking: true, followed_by: false, ..ab }, Edge { blocked_by: true, following: false, ..ba }))
    })
    .await?;
    push::notify(&ctx.clients, &actor(caller), &[], notice("block", caller, them, json!({}))).await?;
    Ok(created())
}

/// `GET /blocks`
pub async fn list_blocks(ctx: &Ctx, _req: &Request) -> ApiResult {
    let caller = ctx.caller()?;
    let edges = relations::list(&ctx.clients, caller.user_id, List::Blocking).await?;
    let profiles = profiles_of(ctx, &edges).await?;
    let items = edges
        .iter()
        .map(|e| json!({ "user_id": e.other, "user_name": profiles.get(&e.other).map(|p| p.view(Some(caller.user_id))["name"].clone()) }))
        .collect();
    Ok(Reply::list("block", items))
}

/// `DELETE /blocks/{user_id}`: 204; 404-3 for an unknown user.
pub async fn unblock(ctx: &Ctx, req: &Request) -> ApiResult {
    let caller = ctx.caller()?;
    let them = path_user(req, "user_id")?;
    existing_user(&ctx.clients, them).await?;
    relations::transition(&ctx.clients, caller.user_id, them, |ab, ba| {
        Ok((Edge { blocking: false, ..ab.clone() }, Edge { blocked_by: false, ..ba.clone() }))
    })
    .await?;
    push::notify(&ctx.clients, &actor(caller), &[], notice("unblock", caller, them, json!({}))).await?;
    Ok(Reply::no_content())
}
