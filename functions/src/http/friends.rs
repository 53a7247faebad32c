//! Seed 004: friends, follows and blocks over REST, JSON by default, with the seed's codes.

use super::{path_number, query, Ctx, Fields, Reply};
use crate::domain::format::rfc3339;
use crate::domain::ids::UserId;
use crate::domain::refusal::{Refusal, Result};
use crate::domain::user::Profile;
use crate::service::friends::{self, Listing, RequestAnswer, Tie};
use crate::store::relations::{List, Page};
use http::StatusCode;
use lambda_http::Request;
use serde_json::{json, Map, Value};

/// A user id from a path segment: seed 004's 400-3 when it is not a number.
fn path_user(req: &Request, name: &str) -> Result<UserId> {
    path_number(req, name, || Refusal::BadUserId(name.to_string()))
}

fn required_user(fields: &Fields, name: &str) -> Result<UserId> {
    fields.opt_user(name)?.ok_or_else(|| Refusal::invalid(format!("{name} is required")).into())
}

/// `{prefix}_user_name`, `_nick_name`, `_age`, `_gender` as the viewer may see them.
fn person(prefix: &str, id_field: &str, id: UserId, profile: Option<&Profile>, viewer: UserId) -> Map<String, Value> {
    let view = profile.map(|p| p.view(Some(viewer))).unwrap_or_else(|| json!({}));
    let mut fields = Map::new();
    fields.insert(id_field.into(), json!(id));
    for field in ["name", "nick_name", "age", "gender"] {
        fields.insert(format!("{prefix}_user_{field}"), view.get(field).cloned().unwrap_or(Value::Null));
    }
    fields
}

/// A seed 004 list of people: `{prefix}_user_*` fields for each edge.
fn people(section: &'static str, prefix: &str, id_field: &str, list: &Listing, viewer: UserId) -> Reply {
    let items = list
        .edges
        .iter()
        .map(|e| Value::Object(person(prefix, id_field, e.other, list.profiles.get(&e.other), viewer)))
        .collect();
    Reply::list(section, items)
}

/// Most users one list page holds: the default and the ceiling of `?limit=`.
pub const LIST_PAGE: usize = 1000;

/// A list route's page: `?after=<user id>` (where the previous page ended) and `?limit=`.
fn page(req: &Request) -> Result<Page> {
    let limit = match query(req, "limit") {
        None => LIST_PAGE,
        Some(raw) => raw
            .parse()
            .ok()
            .filter(|l| (1..=LIST_PAGE).contains(l))
            .ok_or_else(|| Refusal::invalid(format!("limit must be a number from 1 to {LIST_PAGE}")))?,
    };
    let after =
        query(req, "after").map(|raw| raw.parse().map_err(|_| Refusal::BadUserId("after".into()))).transpose()?;
    Ok(Page { after, limit })
}

/// A page's answer: the seed's bare list, and when more follow a `Link` header to the next
/// page (RFC 8288), which seed clients ignore.
fn paged(reply: Reply, req: &Request, page: Page, next: Option<UserId>) -> Reply {
    match next {
        Some(after) => {
            let link = format!("<{}?after={after}&limit={}>; rel=\"next\"", req.uri().path(), page.limit);
            reply.with_header(http::header::LINK, link)
        }
        None => reply,
    }
}

/// The pending request a body names: `friend_request_id` (wins) or `requested_user_id`.
async fn request_party(ctx: &Ctx, req: &Request, caller: UserId) -> Result<(UserId, Option<u64>)> {
    let fields = Fields::parse(req)?;
    let id = fields.opt_user("friend_request_id")?.map(|id| id.0);
    let other = fields.opt_user("requested_user_id")?;
    friends::request_party(&*ctx.clients, caller, id, other).await
}

/// `POST /friends/request` {requested_user_id, resend}: 201 with the request's id.
pub async fn request_friend(ctx: &Ctx, req: &Request) -> Result<Reply> {
    let actor = ctx.actor()?;
    let fields = Fields::parse(req)?;
    let them = required_user(&fields, "requested_user_id")?;
    let resend = fields.opt_bool("resend")?.unwrap_or(false);
    let id = friends::request(&*ctx.clients, &actor, them, resend).await?;
    Ok(Reply::ok(json!({ "friend_request": [{ "friend_request_id": id }] })).with_status(StatusCode::CREATED))
}

/// Accept, ignore or withdraw the request a body names: 201.
async fn answer_request(ctx: &Ctx, req: &Request, answer: RequestAnswer) -> Result<Reply> {
    let actor = ctx.actor()?;
    let party = request_party(ctx, req, actor.user_id).await?;
    friends::answer(&*ctx.clients, &actor, party, answer).await?;
    Ok(Reply::created())
}

/// `POST /friends/accept` {friend_request_id | requested_user_id}
pub async fn accept_friend(ctx: &Ctx, req: &Request) -> Result<Reply> {
    answer_request(ctx, req, RequestAnswer::Accept).await
}

/// `POST /friends/ignore` {friend_request_id | requested_user_id}
pub async fn ignore_friend(ctx: &Ctx, req: &Request) -> Result<Reply> {
    answer_request(ctx, req, RequestAnswer::Ignore).await
}

/// `POST /friends/withdraw` {friend_request_id | requested_user_id}
pub async fn withdraw_friend(ctx: &Ctx, req: &Request) -> Result<Reply> {
    answer_request(ctx, req, RequestAnswer::Withdraw).await
}

/// `DELETE /friends/{user_id}`: 204.
pub async fn delete_friend(ctx: &Ctx, req: &Request) -> Result<Reply> {
    let actor = ctx.actor()?;
    friends::unfriend(&*ctx.clients, &actor, path_user(req, "user_id")?).await?;
    Ok(Reply::no_content())
}

/// `GET /friends`
pub async fn list_friends(ctx: &Ctx, req: &Request) -> Result<Reply> {
    let caller = ctx.caller()?;
    let page = page(req)?;
    let list = friends::list(&*ctx.clients, caller.user_id, List::Friends, page).await?;
    Ok(paged(people("friend", "friend", "friend_id", &list, caller.user_id), req, page, list.next))
}

/// `GET /friends/request` and `GET /friends/request_sent`
async fn list_requests(ctx: &Ctx, req: &Request, which: List) -> Result<Reply> {
    let caller = ctx.caller()?;
    let page = page(req)?;
    let Listing { edges, profiles, next } = friends::list(&*ctx.clients, caller.user_id, which, page).await?;
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
            // Always a string (seed 004): the requester shows their email to whom they ask;
            // asking someone never reveals theirs (otherwise a request to anyone harvests
            // their address): empty.
            let email = profile.and_then(|p| p.email.as_ref()).filter(|_| which == List::RequestsReceived);
            item.insert(email_field.into(), json!(email.map_or("", |e| e.as_str())));
            item.insert("created_at".into(), json!(rfc3339(e.edge.requested_at)));
            Value::Object(item)
        })
        .collect();
    Ok(paged(Reply::list(section, items), req, page, next))
}

/// `GET /friends/request`
pub async fn list_friend_requests(ctx: &Ctx, req: &Request) -> Result<Reply> {
    list_requests(ctx, req, List::RequestsReceived).await
}

/// `GET /friends/request_sent`
pub async fn list_sent_friend_requests(ctx: &Ctx, req: &Request) -> Result<Reply> {
    list_requests(ctx, req, List::RequestsSent).await
}

/// Sets a follow or block of the user a body names: 201.
async fn tie_from_body(ctx: &Ctx, req: &Request, field: &str, tie: Tie) -> Result<Reply> {
    let them = required_user(&Fields::parse(req)?, field)?;
    friends::tie(&*ctx.clients, &ctx.actor()?, them, tie).await?;
    Ok(Reply::created())
}

/// Lifts a follow or block of the user a path names: 204.
async fn untie(ctx: &Ctx, req: &Request, field: &str, tie: Tie) -> Result<Reply> {
    friends::tie(&*ctx.clients, &ctx.actor()?, path_user(req, field)?, tie).await?;
    Ok(Reply::no_content())
}

/// `POST /follows` {followee_id}
pub async fn follow(ctx: &Ctx, req: &Request) -> Result<Reply> {
    tie_from_body(ctx, req, "followee_id", Tie::Follow).await
}

/// `DELETE /follows/{followee_id}`
pub async fn unfollow(ctx: &Ctx, req: &Request) -> Result<Reply> {
    untie(ctx, req, "followee_id", Tie::Unfollow).await
}

/// `GET /follows/{user_id}/follower`
pub async fn list_followers(ctx: &Ctx, req: &Request) -> Result<Reply> {
    let caller = ctx.caller()?;
    let page = page(req)?;
    let list = friends::follows(&*ctx.clients, path_user(req, "user_id")?, List::Followers, page).await?;
    Ok(paged(people("follower", "follower", "follower_id", &list, caller.user_id), req, page, list.next))
}

/// `GET /follows/{user_id}/followee`
pub async fn list_followees(ctx: &Ctx, req: &Request) -> Result<Reply> {
    let caller = ctx.caller()?;
    let page = page(req)?;
    let list = friends::follows(&*ctx.clients, path_user(req, "user_id")?, List::Following, page).await?;
    Ok(paged(people("followee", "followee", "followee_id", &list, caller.user_id), req, page, list.next))
}

/// `POST /blocks` {user_id}
pub async fn block(ctx: &Ctx, req: &Request) -> Result<Reply> {
    tie_from_body(ctx, req, "user_id", Tie::Block).await
}

/// `GET /blocks`
pub async fn list_blocks(ctx: &Ctx, req: &Request) -> Result<Reply> {
    let caller = ctx.caller()?;
    let page = page(req)?;
    let Listing { edges, profiles, next } = friends::list(&*ctx.clients, caller.user_id, List::Blocking, page).await?;
    let name = |id: UserId| profiles.get(&id).map(|p| p.view(Some(caller.user_id))["name"].clone());
    let items = edges.iter().map(|e| json!({ "user_id": e.other, "user_name": name(e.other) })).collect();
    Ok(paged(Reply::list("block", items), req, page, next))
}

/// `DELETE /blocks/{user_id}`
pub async fn unblock(ctx: &Ctx, req: &Request) -> Result<Reply> {
    untie(ctx, req, "user_id", Tie::Unblock).await
}
