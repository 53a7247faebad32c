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
use im_adapters::Clients;
use lambda_http::Request;
use serde_json::{json, Map, Value};

fn other_user(req: &Request) -> ApiResult<u64> {
    path_param(req, "id")?.parse().map_err(|_| ApiError::coded("400-3", "user id must be a number"))
}

pub async fn existing_user(clients: &Clients, id: u64) -> ApiResult<()> {
    match users::load_profile(clients, id).await? {
        Some(_) => Ok(()),
        None => Err(ApiError::coded("404-3", "user not found")),
    }
}

/// Stores a friend request from `from` to `to` and the `request#<id>` item that finds it by id;
/// returns seed 004's `friend_request_id`.
pub async fn send_request(clients: &Clients, from: u64, to: u64, ask: &str) -> ApiResult<u64> {
    let request_id = users::next_id(clients, "counter#requests").await?;
    relations::transition(clients, from, to, |ab, ba| decide_request(ab, ba, ask, request_id)).await?;
    relations::remember_request(clients, request_id, from, to).await?;
    Ok(request_id)
}

pub fn actor(caller: &Caller) -> Actor {
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
pub fn decide_request(ab: &Edge, ba: &Edge, ask: &str, request_id: u64) -> ApiResult<(Edge, Edge)> {
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
                Edge {
                    friendship: Friendship::Requested,
                    ask: ask.to_string(),
                    requested_at: now,
                    request_id,
                    ..ab.clone()
                },
                Edge {
                    friendship: Friendship::RequestedBy,
                    ask: ask.to_string(),
                    requested_at: now,
                    request_id,
                    ..ba.clone()
                },
            ))
        }
    }
}

/// The edge with no friendship and no pending request (follows and blocks stay).
pub fn cleared(e: &Edge) -> Edge {
    Edge { friendship: Friendship::None, ask: String::new(), requested_at: 0, request_id: 0, ..e.clone() }
}

/// Rules for accepting the request the other side sent.
pub fn decide_accept(ab: &Edge, ba: &Edge) -> ApiResult<(Edge, Edge)> {
    if ab.friendship != Friendship::RequestedBy {
        return Err(ApiError::coded("404-12", "friend request not found"));
    }
    if ab.blocking || ab.blocked_by {
        return Err(ApiError::coded("400-6", "one of you has blocked the other"));
    }
    let friends = |e: &Edge| Edge { friendship: Friendship::Friends, ..cleared(e) };
    Ok((friends(ab), friends(ba)))
}

/// Rules for ending a friendship or a pending request either way.
pub fn decide_delete(ab: &Edge, ba: &Edge) -> ApiResult<(Edge, Edge)> {
    if ab.friendship == Friendship::None {
        return Err(ApiError::not_found("not a contact"));
    }
    Ok((cleared(ab), cleared(ba)))
}

/// `POST /contact/{id}` with `ask`: asks user `id` to be a contact; they get `add_contact`.
pub async fn add_contact(ctx: &Ctx, req: &Request) -> ApiResult {
    let caller = ctx.caller()?;
    let them = other_user(req)?;
    let ask = Fields::parse(req)?.opt_text("ask", 0, 256)?.unwrap_or_default();
    if them == caller.user_id {
        return Err(ApiError::coded("400-23", "you cannot add yourself"));
    }
    existing_user(&ctx.clients, them).await?;
    let request_id = send_request(&ctx.clients, caller.user_id, them, &ask).await?;
    let notice = notice("add_contact", caller, them, json!({ "ask": ask, "friend_request_id": request_id }));
    push::notify(&ctx.clients, &actor(caller), &[them], notice).await?;
    Ok(Reply::ok(json!({})))
}

/// `PUT /contact/{id}`: accepts user `id`'s request; they get `accept_contact`.
pub async fn accept_contact(ctx: &Ctx, req: &Request) -> ApiResult {
    let caller = ctx.caller()?;
    confirm(&ctx.clients, &actor(caller), other_user(req)?).await?;
    Ok(Reply::ok(json!({})))
}

/// `DELETE /contact/{id}`: ends the friendship (or a pending request); they get `delete_contact`.
pub async fn delete_contact(ctx: &Ctx, req: &Request) -> ApiResult {
    let caller = ctx.caller()?;
    unfriend(&ctx.clients, &actor(caller), other_user(req)?).await?;
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

/// How seed 002/003 name a user: an email, a phone, or a numeric id.
pub async fn resolve_user(clients: &Clients, name: &str) -> ApiResult<Option<u64>> {
    let name = name.trim();
    if name.contains('@') {
        return users::claimed_by(clients, format!("email#{}", name.to_lowercase())).await;
    }
    let digits = name.strip_prefix('+').unwrap_or(name);
    if digits.is_empty() || !digits.bytes().all(|c| c.is_ascii_digit()) {
        return Ok(None);
    }
    if digits.len() >= 5 {
        if let Some(id) = users::claimed_by(clients, format!("phone#{name}")).await? {
            return Ok(Some(id));
        }
    }
    if name.starts_with('+') {
        return Ok(None);
    }
    match name.parse::<u64>() {
        Ok(id) if users::load_profile(clients, id).await?.is_some() => Ok(Some(id)),
        _ => Ok(None),
    }
}

/// What a socket contact verb did, for the dialect to report.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    Requested,
    Accepted,
    Deleted,
}

/// Seed 003's `CREATE_CONTACT` and seed 002's `Friend`: asks them, or accepts when they
/// already asked (seed 003 has no accept step). Friends already, or asked already: 400-21/400-20.
pub async fn befriend(clients: &Clients, actor: &Actor, them: u64) -> ApiResult<Outcome> {
    if them == actor.user_id {
        return Err(ApiError::coded("400-23", "you cannot add yourself"));
    }
    let caller = Caller { user_id: actor.user_id, device: actor.device.clone() };
    let request_id = users::next_id(clients, "counter#requests").await?;
    let pair = relations::transition(clients, caller.user_id, them, |ab, ba| match ab.friendship {
        Friendship::RequestedBy => decide_accept(ab, ba),
        _ => decide_request(ab, ba, "", request_id),
    })
    .await?;
    if pair.ab.friendship == Friendship::Friends {
        push::notify(clients, actor, &[them], notice("accept_contact", &caller, them, json!({}))).await?;
        return Ok(Outcome::Accepted);
    }
    relations::remember_request(clients, request_id, caller.user_id, them).await?;
    let notice = notice("add_contact", &caller, them, json!({ "ask": "", "friend_request_id": request_id }));
    push::notify(clients, actor, &[them], notice).await?;
    Ok(Outcome::Requested)
}

/// Accepts their request (404-12 when there is none): `PUT /contact/{id}`, seed 002's `Confirm`.
pub async fn confirm(clients: &Clients, actor: &Actor, them: u64) -> ApiResult<Outcome> {
    let caller = Caller { user_id: actor.user_id, device: actor.device.clone() };
    relations::transition(clients, caller.user_id, them, decide_accept).await?;
    push::notify(clients, actor, &[them], notice("accept_contact", &caller, them, json!({}))).await?;
    Ok(Outcome::Accepted)
}

/// Ends a friendship or a pending request: `DELETE /contact/{id}`, seed 003's `DELETE_CONTACT`,
/// seed 002's `Revoke`.
pub async fn unfriend(clients: &Clients, actor: &Actor, them: u64) -> ApiResult<Outcome> {
    let caller = Caller { user_id: actor.user_id, device: actor.device.clone() };
    relations::transition(clients, caller.user_id, them, decide_delete).await?;
    push::notify(clients, actor, &[them], notice("delete_contact", &caller, them, json!({}))).await?;
    Ok(Outcome::Deleted)
}

/// How seed 003 keys a contact: the email, else the phone, else the id.
pub fn contact_key(profile: &users::Profile) -> String {
    profile.email.clone().or_else(|| profile.phone.clone()).unwrap_or_else(|| profile.id.to_string())
}

/// Seed 003's `LIST_CONTACTS_UNREAD`: every friend with the count of unread messages
/// (head minus read marker of each conversation).
pub async fn contacts_unread(clients: &Clients, user_id: u64) -> ApiResult<Map<String, Value>> {
    let friends = relations::list(clients, user_id, relations::List::Friends).await?;
    let ids: Vec<u64> = friends.iter().map(|f| f.other).collect();
    let profiles = users::load_profiles(clients, &ids).await?;
    let mut counts = Map::new();
    for profile in ids.iter().filter_map(|id| profiles.get(id)) {
        let unread = crate::messages::unread(clients, user_id, &crate::messages::direct(user_id, profile.id)).await?;
        counts.insert(contact_key(profile), json!(unread));
    }
    Ok(counts)
}
