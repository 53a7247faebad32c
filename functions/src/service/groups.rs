//! Groups (seed 001): create, delete, join by key, add, leave, list. Group events are stored
//! once in the group's conversation and pushed to every member's devices.

use crate::delivery;
use crate::domain::ids::{Actor, ConversationId};
use crate::domain::notice::{Change, Notice};
use crate::domain::now_secs;
use crate::domain::refusal::{Error, Refusal, Result};
use crate::domain::relation::{self, Edge};
use crate::domain::user::Profile;
use crate::store::groups::{self, Info};
use crate::store::relations::{self, List};
use crate::store::{streams, until_won, users};
use im_adapters::Clients;
use rand::Rng;
use std::collections::HashMap;

/// Most members a group takes. It bounds what one request may do: a group's creation writes
/// 2 items per member, its deletion a notice into each member's feed.
pub const MAX_MEMBERS: usize = 500;

/// A fresh join key: 16 letters and digits, like simple_im's `g_key`.
fn new_key() -> String {
    const CHARS: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    let mut rng = rand::thread_rng();
    (0..16).map(|_| CHARS[rng.gen_range(0..CHARS.len())] as char).collect()
}

async fn existing(clients: &Clients, group: u64) -> Result<Info> {
    groups::info(clients, group).await?.ok_or_else(|| Refusal::NotFound("group not found".into()).into())
}

/// Stores a group event once in the group's conversation and pushes it to `members`.
async fn announce(clients: &Clients, actor: &Actor, group: u64, members: &[u64], change: Change) -> Result<()> {
    let notice = Notice::new(change, &actor.caller(), Some(group), now_secs());
    delivery::tell_group(clients, actor, ConversationId::Group(group), members, &notice).await?;
    Ok(())
}

/// A new group.
pub struct Created {
    pub id: u64,
    pub key: String,
    pub members: Vec<u64>,
}

/// `POST /group` (optional client `id`: a retry resumes the same creation): creates a group
/// with the actor and the members (contacts of the actor who
/// do not block them, see [`relation::may_add_to_group`]); all of them get
/// `create_group` with the `g_key`.
pub async fn create(
    clients: &Clients,
    actor: &Actor,
    name: &str,
    members: &[u64],
    client_id: Option<&str>,
) -> Result<Created> {
    let mut members = members.to_vec();
    members.push(actor.user_id);
    members.sort_unstable();
    members.dedup();
    if members.len() > MAX_MEMBERS {
        return Err(Refusal::invalid(format!("a group has at most {MAX_MEMBERS} members")).into());
    }
    let known = users::profiles(clients, &members).await?;
    if let Some(missing) = members.iter().find(|id| !known.contains_key(id)) {
        return Err(Refusal::MemberNotFound(*missing).into());
    }
    let contacts = relations::list(clients, actor.user_id, List::Friends).await?;
    let edges: HashMap<u64, &Edge> = contacts.iter().map(|c| (c.other, &c.edge)).collect();
    for member in members.iter().filter(|m| **m != actor.user_id) {
        relation::may_add_to_group(edges.get(member).copied(), *member)?;
    }
    // With the client's id, a retry resumes the creation it repeats: same group, every step
    // done again idempotently (the record, the memberships), the announcement only once.
    let id = match client_id {
        Some(cid) => match groups::created_by(clients, actor.user_id, cid).await? {
            Some(id) => id,
            None => {
                groups::claim_creation(clients, actor.user_id, cid, users::next_id(clients, "counter#groups").await?)
                    .await?
            }
        },
        None => users::next_id(clients, "counter#groups").await?,
    };
    let info = Info { name: name.to_string(), creator: actor.user_id, g_key: new_key() };
    let key = match groups::create(clients, id, &info, members.len()).await? {
        true => info.g_key,
        false => existing(clients, id).await?.g_key,
    };
    groups::write_memberships(clients, id, &members, true).await?;
    if streams::head(clients, ConversationId::Group(id)).await? == 0 {
        let change = Change::CreateGroup { g_id: id, g_key: key.clone(), name: name.to_string() };
        announce(clients, actor, id, &members, change).await?;
    }
    Ok(Created { id, key, members })
}

/// `DELETE /group/{id}`: the creator only; every member gets `delete_group`.
pub async fn delete(clients: &Clients, actor: &Actor, group: u64) -> Result<()> {
    if existing(clients, group).await?.creator != actor.user_id {
        return Err(Refusal::Forbidden("only the creator can delete the group".into()).into());
    }
    let members = groups::members(clients, group).await?;
    // Into each member's own feed, not the group's conversation: once the memberships are gone
    // the group's conversation is no longer theirs to sync. Deleting a group is rare; this is
    // the one group event whose writes grow with the members.
    delivery::tell_users(clients, actor, &members, Change::DeleteGroup { g_id: group }, Some(group)).await?;
    groups::write_memberships(clients, group, &members, false).await?;
    Ok(groups::delete(clients, group).await?)
}

/// Adds a member: the cap, the membership and the group's notice of it in one transaction, so
/// racing joins cannot pass the cap and no crash keeps a join untold; a lost race reads again.
async fn add_member(clients: &Clients, actor: &Actor, group: u64, member: u64) -> Result<()> {
    let change = Change::CreateGroupMember { g_id: group, member_id: member };
    let notice = Notice::new(change, &actor.caller(), Some(group), now_secs());
    let (mut members, entry) = until_won(|| async {
        let current = groups::members(clients, group).await?;
        if current.contains(&member) {
            return Err(Refusal::Conflict("already a member".into()).into());
        }
        if current.len() >= MAX_MEMBERS {
            return Err(Refusal::Conflict(format!("a group has at most {MAX_MEMBERS} members")).into());
        }
        let joined = groups::join(clients, group, member, MAX_MEMBERS, &notice).await?;
        Ok::<_, Error>(joined.map(|entry| (current, entry)))
    })
    .await?;
    members.push(member);
    delivery::push_to_members(clients, actor, &members, &entry).await;
    Ok(())
}

/// `POST /group/{id}/member`: joins with the group's key.
pub async fn join(clients: &Clients, actor: &Actor, group: u64, key: &str) -> Result<()> {
    if existing(clients, group).await?.g_key != key {
        return Err(Refusal::Forbidden("wrong g_key".into()).into());
    }
    add_member(clients, actor, group, actor.user_id).await
}

/// `POST /group/{id}/member/{uid}`: the creator adds a user who has them as a contact.
pub async fn add(clients: &Clients, actor: &Actor, group: u64, member: u64) -> Result<()> {
    if existing(clients, group).await?.creator != actor.user_id {
        return Err(Refusal::Forbidden("only the creator can add members".into()).into());
    }
    if users::profile(clients, member).await?.is_none() {
        return Err(Refusal::UserNotFound.into());
    }
    relation::may_add_to_group(Some(&relations::pair(clients, actor.user_id, member).await?.ab), member)?;
    add_member(clients, actor, group, member).await
}

/// `DELETE /group/{id}/member`: leaves; members (and the leaver's other devices) get
/// `delete_group_member`.
pub async fn leave(clients: &Clients, actor: &Actor, group: u64) -> Result<()> {
    existing(clients, group).await?;
    let current = groups::members(clients, group).await?;
    if !current.contains(&actor.user_id) {
        return Err(Refusal::NotFound("not a member".into()).into());
    }
    let change = Change::DeleteGroupMember { g_id: group, gm_id: actor.user_id };
    let notice = Notice::new(change, &actor.caller(), Some(group), now_secs());
    let entry = until_won(|| async {
        if !groups::members(clients, group).await?.contains(&actor.user_id) {
            return Err(Refusal::NotFound("not a member".into()).into());
        }
        Ok::<_, Error>(groups::leave(clients, group, actor.user_id, &notice).await?)
    })
    .await?;
    delivery::push_to_members(clients, actor, &current, &entry).await;
    Ok(())
}

/// `GET /group`: the user's groups.
pub async fn of_user(clients: &Clients, user: u64) -> Result<Vec<(u64, Info)>> {
    Ok(groups::infos(clients, &groups::groups_of(clients, user).await?).await?)
}

/// `GET /group/{id}/member`: the members' profiles, for members only.
pub async fn members(clients: &Clients, user: u64, group: u64) -> Result<Vec<Profile>> {
    existing(clients, group).await?;
    let members = groups::members(clients, group).await?;
    if !members.contains(&user) {
        return Err(Refusal::Forbidden("not a member".into()).into());
    }
    let mut profiles = users::profiles(clients, &members).await?;
    Ok(members.iter().filter_map(|m| profiles.remove(m)).collect())
}
