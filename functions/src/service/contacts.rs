//! Contacts as simple_im (seeds 000, 001) and the socket verbs of seeds 002 and 003 see them:
//! ask, accept, end, and the versioned list. Views over the one relationship model; every
//! change is told to the other side and to the actor's other devices.

use crate::delivery;
use crate::domain::ids::{Actor, ConversationId};
use crate::domain::limits::REQUESTS_PER_USER;
use crate::domain::notice::NoticeKind;
use crate::domain::now_secs;
use crate::domain::refusal::{Refusal, Result};
use crate::domain::relation::{self, Friendship};
use crate::domain::user::Profile;
use crate::service::limits;
use crate::service::users as user_lookup;
use crate::store::{relations, streams, users};
use im_adapters::Clients;
use serde_json::{json, Map, Value};

/// Counts one more request (friend request or follow) of `user` against their hourly limit.
pub async fn count_request(clients: &Clients, user: u64) -> Result<()> {
    limits::check(clients, &REQUESTS_PER_USER, &user.to_string()).await
}

/// Stores a friend request from `from` to `to` and the `request#<id>` item that finds it by id;
/// returns seed 004's `friend_request_id`.
pub async fn send_request(clients: &Clients, from: u64, to: u64, ask: &str) -> Result<u64> {
    count_request(clients, from).await?;
    // The rule first, on the pair as it stands: a refused request takes no id.
    let pair = relations::pair(clients, from, to).await?;
    relation::request(ask, 0, now_secs())(&pair.ab, &pair.ba)?;
    let request_id = users::next_id(clients, "counter#requests").await?;
    relations::transition(clients, from, to, relation::request(ask, request_id, now_secs())).await?;
    relations::remember_request(clients, request_id, from, to).await?;
    Ok(request_id)
}

/// `POST /contact/{id}` with `ask`: asks `them` to be a contact; they get `add_contact`.
pub async fn add(clients: &Clients, actor: &Actor, them: u64, ask: &str) -> Result<()> {
    if them == actor.user_id {
        return Err(Refusal::CannotAddSelf.into());
    }
    user_lookup::existing(clients, them).await?;
    let request_id = send_request(clients, actor.user_id, them, ask).await?;
    let extra = json!({ "ask": ask, "friend_request_id": request_id });
    Ok(delivery::tell(clients, actor, &[them], NoticeKind::AddContact, them, extra).await?)
}

/// Seed 003's `CREATE_CONTACT` and seed 002's `Friend`: asks them, or accepts when they
/// already asked (seed 003 has no accept step). Friends already, or asked already: 400-21/400-20.
pub async fn befriend(clients: &Clients, actor: &Actor, them: u64) -> Result<()> {
    if them == actor.user_id {
        return Err(Refusal::CannotAddSelf.into());
    }
    count_request(clients, actor.user_id).await?;
    let pair = relations::pair(clients, actor.user_id, them).await?;
    relation::befriend(0, now_secs())(&pair.ab, &pair.ba)?;
    let request_id = users::next_id(clients, "counter#requests").await?;
    let pair = relations::transition(clients, actor.user_id, them, relation::befriend(request_id, now_secs())).await?;
    if pair.ab.friendship == Friendship::Friends {
        delivery::tell(clients, actor, &[them], NoticeKind::AcceptContact, them, json!({})).await?;
        return Ok(());
    }
    relations::remember_request(clients, request_id, actor.user_id, them).await?;
    let extra = json!({ "ask": "", "friend_request_id": request_id });
    delivery::tell(clients, actor, &[them], NoticeKind::AddContact, them, extra).await?;
    Ok(())
}

/// Accepts their request (404-12 when there is none): `PUT /contact/{id}`, seed 002's `Confirm`.
pub async fn confirm(clients: &Clients, actor: &Actor, them: u64) -> Result<()> {
    relations::transition(clients, actor.user_id, them, relation::accept(None)).await?;
    delivery::tell(clients, actor, &[them], NoticeKind::AcceptContact, them, json!({})).await?;
    Ok(())
}

/// Ends a friendship or a pending request: `DELETE /contact/{id}`, seed 003's `DELETE_CONTACT`,
/// seed 002's `Revoke`.
pub async fn end(clients: &Clients, actor: &Actor, them: u64) -> Result<()> {
    relations::transition(clients, actor.user_id, them, relation::delete).await?;
    delivery::tell(clients, actor, &[them], NoticeKind::DeleteContact, them, json!({})).await?;
    Ok(())
}

/// Whether the two are contacts already (seed 002's `Confirm` answers `already_present`).
pub async fn are_friends(clients: &Clients, a: u64, b: u64) -> Result<bool> {
    Ok(relations::pair(clients, a, b).await?.ab.friendship == Friendship::Friends)
}

/// What changed in a user's contacts since a version (`GET /contact/version/{v}`).
pub struct Changes {
    pub version: u64,
    pub contacts: Vec<Profile>,
    /// Users no longer contacts (from version 0 there is nothing to delete).
    pub deleted: Vec<u64>,
    /// Requests waiting for the user: (from, ask, when).
    pub requests: Vec<(u64, String, u64)>,
}

/// At the current version nothing is listed; from 0, everything current.
pub async fn since(clients: &Clients, user: u64, since: u64) -> Result<Changes> {
    let version = relations::version(clients, user).await?;
    let changed = if since >= version { vec![] } else { relations::changed_since(clients, user, since).await? };
    let ids: Vec<u64> = changed.iter().map(|c| c.other).collect();
    let mut profiles = users::profiles(clients, &ids).await?;
    let mut changes = Changes { version, contacts: vec![], deleted: vec![], requests: vec![] };
    for change in changed {
        match change.edge.friendship {
            Friendship::Friends => changes.contacts.extend(profiles.remove(&change.other)),
            Friendship::RequestedBy => changes.requests.push((change.other, change.edge.ask, change.edge.requested_at)),
            Friendship::None | Friendship::Requested if since > 0 => changes.deleted.push(change.other),
            _ => {}
        }
    }
    Ok(changes)
}

/// Seed 003's `LIST_CONTACTS_UNREAD`: everyone the user has a conversation with (contacts and
/// pending requests either way: seed 003 has no accept step), keyed as seed 003 keys contacts,
/// with the count of unread messages (head minus read marker of each conversation).
pub async fn unread_counts(clients: &Clients, user: u64) -> Result<Map<String, Value>> {
    let friends = relations::list(clients, user, relations::List::Correspondents).await?;
    let ids: Vec<u64> = friends.iter().map(|f| f.other).collect();
    let profiles = users::profiles(clients, &ids).await?;
    let known: Vec<&Profile> = ids.iter().filter_map(|id| profiles.get(id)).collect();
    let conversations: Vec<ConversationId> = known.iter().map(|p| ConversationId::direct(user, p.id)).collect();
    let unread = streams::unread_in(clients, user, &conversations).await?;
    Ok(known.iter().zip(unread).map(|(profile, count)| (profile.contact_key(), json!(count))).collect())
}
