//! simple_im's contacts (seeds 000, 001): add, accept, delete, and the versioned sync. A view
//! over the one relationship model in `relations`; every change notifies the other side and the
//! actor's other devices through `push`.

use crate::api::{path_param, ApiError, ApiResult, Fields, Reply};
use crate::db::now_secs;
use crate::push::{self, Actor};
use crate::relations::{self, Edge, Friendship};
use crate::sessions::Caller;
use crate::users;
use crate::Ctx;
use lambda_http::Request;
use serde_json::{json, Map, Value};

fn other_user(req: &Request) -> ApiResult<u64> {
    path_param(req, "id")?.parse().map_err(|_| ApiError::coded("400-3", "user id must be a number"))
}

async fn existing_user(ctx: &Ctx, id: u64) -> ApiResult<()> {
    match users::load_profile(&ctx.clients, id).await? {
        Some(_) => Ok(()),
        None => Err(ApiError::coded("404-3", "user not found")),
    }
}

fn actor(caller: &Caller) -> Actor {
    Actor { user_id: caller.user_id, device: caller.device.clone(), connection_id: None }
}

/// A notification in simple_im's shape: `t`, `from`, `to`, `ts`, `d` and extra fields.
pub fn notice(kind: &str, caller: &Caller, to: u64, extra: Value) -> Map<String, Value> {
    let mut fields = Map::new();
    fields.insert("t".into(), json!(kind));
    fields.insert("from".into(), json!(caller.user_id));
    fields.insert("to".into(), json!(to));
    if let Value::Object(extra) = extra {
        fields.extend(extra);
    }
    fields.insert("ts".into(), json!(now_secs()));
    fields.insert("d".into(), json!(caller.device));
    fields
}

/// Rules for asking someone to be a contact (seed 004's codes).
pub fn decide_request(ab: &Edge, ba: &Edge, ask: &str) -> ApiResult<(Edge, Edge)> {
    if ab.blocking || ab.blocked_by {
        return Err(ApiError::coded("400-6", "one of you has blocked the other"));
    }
    match ab.friendship {
        Friendship::Friends => Err(ApiError::coded("400-21", "already friends")),
        Friendship::Requested => Err(ApiError::coded("400-20", "friend request already sent")),
        Friendship::RequestedBy => Err(ApiError::coded("400-22", "they already sent you a friend request: accept it")),
        Friendship::None => {
            let now = now_secs();
            Ok((
                Edge { friendship: Friendship::Requested, ask: ask.to_string(), requested_at: now, ..ab.clone() },
                Edge { friendship: Friendship::RequestedBy, ask: ask.to_string(), requested_at: now, ..ba.clone() },
            ))
        }
    }
}

/// Rules for accepting the request the other side sent.
pub fn decide_accept(ab: &Edge, ba: &Edge) -> ApiResult<(Edge, Edge)> {
    if ab.friendship != Friendship::RequestedBy {
        return Err(ApiError::coded("404-12", "friend request not found"));
    }
    if ab.blocking || ab.blocked_by {
        return Err(ApiError::coded("400-6", "one of you has blocked the other"));
    }
    let friends = |e: &Edge| Edge { friendship: Friendship::Friends, ask: String::new(), requested_at: 0, ..e.clone() };
    Ok((friends(ab), friends(ba)))
}

/// Rules for ending a friendship or a pending request either way.
pub fn decide_delete(ab: &Edge, ba: &Edge) -> ApiResult<(Edge, Edge)> {
    if ab.friendship == Friendship::None {
        return Err(ApiError::not_found("not a contact"));
    }
    let none = |e: &Edge| Edge { friendship: Friendship::None, ask: String::new(), requested_at: 0, ..e.clone() };
    Ok((none(ab), none(ba)))
}

/// `POST /contact/{id}` with `ask`: asks user `id` to be a contact; they get `add_contact`.
pub async fn add_contact(ctx: &Ctx, req: &Request) -> ApiResult {
    let caller = ctx.caller()?;
    let them = other_user(req)?;
    let ask = Fields::parse(req)?.opt_text("ask", 0, 256)?.unwrap_or_default();
    if them == caller.user_id {
        return Err(ApiError::coded("400-23", "you cannot add yourself"));
    }
    existing_user(ctx, them).await?;
    relations::transition(&ctx.clients, caller.user_id, them, |ab, ba| decide_request(ab, ba, &ask)).await?;
    let notice = notice("add_contact", caller, them, json!({ "ask": ask }));
    push::notify(&ctx.clients, &actor(caller), &[them], notice).await?;
    Ok(Reply::ok(json!({})))
}

/// `PUT /contact/{id}`: accepts user `id`'s request; they get `accept_contact`.
pub async fn accept_contact(ctx: &Ctx, req: &Request) -> ApiResult {
    let caller = ctx.caller()?;
    let them = other_user(req)?;
    relations::transition(&ctx.clients, caller.user_id, them, decide_accept).await?;
    push::notify(&ctx.clients, &actor(caller), &[them], notice("accept_contact", caller, them, json!({}))).await?;
    Ok(Reply::ok(json!({})))
}

/// `DELETE /contact/{id}`: ends the friendship (or a pending request); they get `delete_contact`.
pub async fn delete_contact(ctx: &Ctx, req: &Request) -> ApiResult {
    let caller = ctx.caller()?;
    let them = other_user(req)?;
    relations::transition(&ctx.clients, caller.user_id, them, decide_delete).await?;
    push::notify(&ctx.clients, &actor(caller), &[them], notice("delete_contact", caller, them, json!({}))).await?;
    Ok(Reply::ok(json!({})))
}

/// `GET /contact/version/{v}`: what changed in my contacts since version `v` — contacts as
/// `[[user]]`, removed contacts as `[[deleted]] id`, requests waiting for me as `[[request]]`.
/// At the current version nothing is listed; from 0, everything current.
pub async fn contacts_since(ctx: &Ctx, req: &Request) -> ApiResult {
    let caller = ctx.caller()?;
    let since: u64 = path_param(req, "v")?.parse().map_err(|_| ApiError::bad_request("version must be a number"))?;
    let version = relations::version(&ctx.clients, caller.user_id).await?;
    let changed =
        if since >= version { vec![] } else { relations::changed_since(&ctx.clients, caller.user_id, since).await? };
    let ids: Vec<u64> = changed.iter().map(|c| c.other).collect();
    let profiles = users::load_profiles(&ctx.clients, &ids).await?;
    let (mut contacts, mut deleted, mut requests) = (vec![], vec![], vec![]);
    for change in &changed {
        match change.edge.friendship {
            Friendship::Friends => {
                if let Some(profile) = profiles.get(&change.other) {
                    contacts.push(profile.view(Some(caller.user_id)));
                }
            }
            Friendship::RequestedBy => {
                requests.push(json!({ "from": change.other, "ask": change.edge.ask, "ts": change.edge.requested_at }))
            }
            // From 0 there is nothing to delete; after that, anything no longer a contact is.
            Friendship::None | Friendship::Requested if since > 0 => deleted.push(json!({ "id": change.other })),
            _ => {}
        }
    }
    let mut reply = Reply::ok_with_response(json!({ "version": version }));
    if let Value::Object(doc) = &mut reply.doc {
        for (name, list) in [("user", contacts), ("deleted", deleted), ("request", requests)] {
            if !list.is_empty() {
                doc.insert(name.into(), Value::Array(list));
            }
        }
    }
    Ok(reply)
}
