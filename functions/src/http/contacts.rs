//! simple_im's contacts (seeds 000, 001): add, accept, delete, and the versioned sync.

use super::{path_number, Ctx, Fields, Reply};
use crate::domain::ids::UserId;
use crate::domain::refusal::{Refusal, Result};
use crate::service::contacts;
use lambda_http::Request;
use serde_json::{json, Value};

/// The other user of a contact route (`/contact/{id}`): seed 004's 400-3 when not a number.
fn other_user(req: &Request) -> Result<UserId> {
    path_number(req, "id", || Refusal::BadUserId("user id".into()))
}

/// `POST /contact/{id}` with `ask`: asks user `id` to be a contact; they get `add_contact`.
pub async fn add_contact(ctx: &Ctx, req: &Request) -> Result<Reply> {
    let actor = ctx.actor()?;
    let them = other_user(req)?;
    let ask = Fields::parse(req)?.opt_text("ask", 0, 256)?.unwrap_or_default();
    contacts::add(&*ctx.clients, &actor, them, &ask).await.map(Reply::empty)
}

/// `PUT /contact/{id}`: accepts user `id`'s request; they get `accept_contact`.
pub async fn accept_contact(ctx: &Ctx, req: &Request) -> Result<Reply> {
    contacts::confirm(&*ctx.clients, &ctx.actor()?, other_user(req)?).await.map(Reply::empty)
}

/// `DELETE /contact/{id}`: ends the friendship (or a pending request); they get `delete_contact`.
pub async fn delete_contact(ctx: &Ctx, req: &Request) -> Result<Reply> {
    contacts::end(&*ctx.clients, &ctx.actor()?, other_user(req)?).await.map(Reply::empty)
}

/// `GET /contact/version/{v}`: what changed in my contacts since version `v` — contacts as
/// `[[user]]`, removed contacts as `[[deleted]] id`, requests waiting for me as `[[request]]`.
pub async fn get_contacts_since(ctx: &Ctx, req: &Request) -> Result<Reply> {
    let caller = ctx.caller()?;
    let since = path_number(req, "v", || Refusal::invalid("version must be a number"))?;
    let changes = contacts::since(&*ctx.clients, caller.user_id, since).await?;
    let contacts: Vec<Value> = changes.contacts.iter().map(|p| p.view(Some(caller.user_id))).collect();
    let deleted: Vec<Value> = changes.deleted.iter().map(|id| json!({ "id": id })).collect();
    let requests: Vec<Value> =
        changes.requests.iter().map(|(from, ask, ts)| json!({ "from": from, "ask": ask, "ts": ts })).collect();
    let tables = [("user", contacts), ("deleted", deleted), ("request", requests)];
    Ok(Reply::ok_with_response(json!({ "version": changes.version }))
        .with_tables(tables.into_iter().filter(|(_, list)| !list.is_empty())))
}
