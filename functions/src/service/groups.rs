//! Groups (seed 001): create, delete, join by key, add, leave, list. Group events are stored
//! once in the group's conversation and pushed to every member's devices.

use crate::delivery;
use crate::domain::ids::{Actor, ConversationId, GroupId, UserId};
use crate::domain::limits::{ADDS_PER_USER, JOINS_PER_USER, LEAVES_PER_USER};
use crate::domain::notice::{Change, Notice};
use crate::domain::now_secs;
use crate::domain::refusal::{Error, Refusal, Result};
use crate::domain::relation::{self, Edge};
use crate::domain::user::Profile;
use crate::service::{inbox, limits};
use crate::store::groups::{Creation, Info};
use crate::store::relations::List;
use crate::store::until_won;
use crate::store::Backend;
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

async fn existing(backend: &impl Backend, group: GroupId) -> Result<Info> {
    backend.info(group).await?.ok_or_else(|| Refusal::NotFound("group not found".into()).into())
}

/// Stores a group event once in the group's conversation and pushes it to `members`.
async fn announce(
    backend: &impl Backend,
    actor: &Actor,
    group: GroupId,
    members: &[UserId],
    change: Change,
) -> Result<u64> {
    let notice = Notice::new(change, actor, Some(group.0), now_secs());
    Ok(delivery::tell_group(backend, actor, ConversationId::Group(group), members, &notice).await?)
}

/// A new group.
#[derive(Debug)]
pub struct Created {
    pub id: GroupId,
    pub key: String,
    pub members: Vec<UserId>,
}

/// `POST /group` (optional client `id`: a retry resumes the same creation): creates a group
/// with the actor and the members (contacts of the actor who
/// do not block them, see [`relation::may_add_to_group`]); all of them get
/// `create_group` with the `g_key`.
pub async fn create(
    backend: &impl Backend,
    actor: &Actor,
    name: &str,
    members: &[UserId],
    client_id: Option<&str>,
) -> Result<Created> {
    let mut members = members.to_vec();
    members.push(actor.user_id);
    members.sort_unstable();
    members.dedup();
    if members.len() > MAX_MEMBERS {
        return Err(Refusal::invalid(format!("a group has at most {MAX_MEMBERS} members")).into());
    }
    let known = backend.profiles(&members).await?;
    if let Some(missing) = members.iter().find(|id| !known.contains_key(id)) {
        return Err(Refusal::MemberNotFound(missing.0).into());
    }
    let contacts = backend.list(actor.user_id, List::Friends).await?;
    let edges: HashMap<UserId, &Edge> = contacts.iter().map(|c| (c.other, &c.edge)).collect();
    for member in members.iter().filter(|m| **m != actor.user_id) {
        relation::may_add_to_group(edges.get(member).copied(), *member)?;
    }
    // With the client's id, a retry resumes the creation it repeats: same group, the members
    // the first attempt asked for, every step done again idempotently, the announcement only
    // once. A creation that finished (announced) is only answered; a deleted group's claim is
    // gone, so its retry makes a new group.
    let (id, members) = match client_id {
        Some(cid) => {
            let claim = match backend.created_by(actor.user_id, cid).await? {
                Some(claim) => claim,
                None => {
                    let group = GroupId(backend.next_id("counter#groups").await?);
                    let fresh = Creation { group, members: members.clone() };
                    backend.claim_creation(actor.user_id, cid, &fresh).await?
                }
            };
            let asked = if claim.members.is_empty() { members } else { claim.members };
            (claim.group, asked)
        }
        None => (GroupId(backend.next_id("counter#groups").await?), members),
    };
    if backend.head(ConversationId::Group(id)).await? > 0 {
        let info = existing(backend, id).await?;
        return Ok(Created { id, key: info.g_key, members: backend.members(id).await? });
    }
    let info = Info {
        name: name.to_string(),
        creator: actor.user_id,
        g_key: new_key(),
        client_id: client_id.map(String::from),
    };
    let key = match backend.create_group(id, &info, members.len()).await? {
        true => info.g_key,
        false => existing(backend, id).await?.g_key,
    };
    backend.write_memberships(id, &members, true).await?;
    inbox::enter(backend, &members, ConversationId::Group(id)).await;
    let change = Change::CreateGroup { g_id: id, g_key: key.clone(), name: name.to_string() };
    let seq = announce(backend, actor, id, &members, change).await?;
    // The creator has read their own group's creation; the members it adds have it to read.
    backend.raise_read_marker(actor.user_id, ConversationId::Group(id), seq).await?;
    Ok(Created { id, key, members })
}

/// The group, when `actor` created it (what only the creator may do: `what`).
async fn created_by_actor(backend: &impl Backend, actor: &Actor, group: GroupId, what: &str) -> Result<Info> {
    let info = existing(backend, group).await?;
    if info.creator != actor.user_id {
        return Err(Refusal::Forbidden(format!("only the creator can {what}")).into());
    }
    Ok(info)
}

/// `DELETE /group/{id}`: the creator only; every member gets `delete_group`.
pub async fn delete(backend: &impl Backend, actor: &Actor, group: GroupId) -> Result<()> {
    let info = created_by_actor(backend, actor, group, "delete the group").await?;
    let members = backend.members(group).await?;
    // Into each member's own feed, not the group's conversation: once the memberships are gone
    // the group's conversation is no longer theirs to sync. Deleting a group is rare; this is
    // the one group event whose writes grow with the members.
    delivery::tell_users(backend, actor, &members, Change::DeleteGroup { g_id: group }, Some(group.0)).await?;
    backend.write_memberships(group, &members, false).await?;
    inbox::leave(backend, &members, ConversationId::Group(group)).await;
    Ok(backend.delete_group(group, &info).await?)
}

/// `PUT /group/{id}/key`: the creator gives the group a new join key (the old one joins no
/// more); every member gets `update_group_key` with it.
pub async fn rotate_key(backend: &impl Backend, actor: &Actor, group: GroupId) -> Result<String> {
    created_by_actor(backend, actor, group, "change the key").await?;
    let key = new_key();
    backend.set_group_key(group, &key).await?;
    let members = backend.members(group).await?;
    announce(backend, actor, group, &members, Change::UpdateGroupKey { g_id: group, g_key: key.clone() }).await?;
    Ok(key)
}

/// Adds a member: the cap, the membership and the group's notice of it in one transaction, so
/// racing joins cannot pass the cap and no crash keeps a join untold; a lost race reads again.
async fn add_member(backend: &impl Backend, actor: &Actor, group: GroupId, member: UserId) -> Result<()> {
    let change = Change::CreateGroupMember { g_id: group, member_id: member };
    let notice = Notice::new(change, actor, Some(group.0), now_secs());
    let (mut members, entry) = until_won(|| async {
        let current = backend.members(group).await?;
        if current.contains(&member) {
            return Err(Refusal::Conflict("already a member".into()).into());
        }
        if current.len() >= MAX_MEMBERS {
            return Err(Refusal::Conflict(format!("a group has at most {MAX_MEMBERS} members")).into());
        }
        let joined = backend.join(group, member, MAX_MEMBERS, &notice).await?;
        Ok::<_, Error>(joined.map(|entry| (current, entry)))
    })
    .await?;
    members.push(member);
    inbox::enter(backend, &[member], ConversationId::Group(group)).await;
    if member == actor.user_id {
        // What came before one's own join is not unread (one who was added has the notice to read).
        backend.raise_read_marker(member, ConversationId::Group(group), entry.seq).await?;
    }
    delivery::push_to_members(backend, actor, &members, &entry).await;
    Ok(())
}

/// `POST /group/{id}/member`: joins with the group's key (at most [`JOINS_PER_USER`]).
pub async fn join(backend: &impl Backend, actor: &Actor, group: GroupId, key: &str) -> Result<()> {
    limits::check(backend, &JOINS_PER_USER, &actor.user_id.to_string()).await?;
    if existing(backend, group).await?.g_key != key {
        return Err(Refusal::Forbidden("wrong g_key".into()).into());
    }
    add_member(backend, actor, group, actor.user_id).await
}

/// `POST /group/{id}/member/{uid}`: the creator adds a user who has them as a contact (at
/// most [`ADDS_PER_USER`]).
pub async fn add(backend: &impl Backend, actor: &Actor, group: GroupId, member: UserId) -> Result<()> {
    limits::check(backend, &ADDS_PER_USER, &actor.user_id.to_string()).await?;
    created_by_actor(backend, actor, group, "add members").await?;
    if backend.profile(member).await?.is_none() {
        return Err(Refusal::UserNotFound.into());
    }
    relation::may_add_to_group(Some(&backend.pair(actor.user_id, member).await?.ab), member)?;
    add_member(backend, actor, group, member).await
}

/// `DELETE /group/{id}/member`: leaves (at most [`LEAVES_PER_USER`]); members (and the
/// leaver's other devices) get `delete_group_member`.
pub async fn leave(backend: &impl Backend, actor: &Actor, group: GroupId) -> Result<()> {
    limits::check(backend, &LEAVES_PER_USER, &actor.user_id.to_string()).await?;
    existing(backend, group).await?;
    take_out(backend, actor, group, actor.user_id).await
}

/// `DELETE /group/{id}/member/{uid}`: the creator removes a member (not themselves: they
/// leave, or delete the group); every member, the removed one too, gets `delete_group_member`.
pub async fn remove(backend: &impl Backend, actor: &Actor, group: GroupId, member: UserId) -> Result<()> {
    created_by_actor(backend, actor, group, "remove members").await?;
    if member == actor.user_id {
        return Err(Refusal::invalid("the creator leaves or deletes the group").into());
    }
    take_out(backend, actor, group, member).await
}

/// Takes a member out: the membership and the group's notice in one transaction; everyone
/// who was a member is told.
pub(super) async fn take_out(backend: &impl Backend, actor: &Actor, group: GroupId, member: UserId) -> Result<()> {
    let current = backend.members(group).await?;
    if !current.contains(&member) {
        return Err(Refusal::NotFound("not a member".into()).into());
    }
    let change = Change::DeleteGroupMember { g_id: group, gm_id: member };
    let notice = Notice::new(change, actor, Some(group.0), now_secs());
    let entry = until_won(|| async {
        if !backend.members(group).await?.contains(&member) {
            return Err(Refusal::NotFound("not a member".into()).into());
        }
        Ok::<_, Error>(backend.leave(group, member, &notice).await?)
    })
    .await?;
    inbox::leave(backend, &[member], ConversationId::Group(group)).await;
    delivery::push_to_members(backend, actor, &current, &entry).await;
    Ok(())
}

/// `GET /group`: the user's groups.
pub async fn of_user(backend: &impl Backend, user: UserId) -> Result<Vec<(GroupId, Info)>> {
    Ok(backend.infos(&backend.groups_of(user).await?).await?)
}

/// `GET /group/{id}/member`: the members' profiles, for members only.
pub async fn members(backend: &impl Backend, user: UserId, group: GroupId) -> Result<Vec<Profile>> {
    existing(backend, group).await?;
    let members = backend.members(group).await?;
    if !members.contains(&user) {
        return Err(Refusal::Forbidden("not a member".into()).into());
    }
    let mut profiles = backend.profiles(&members).await?;
    Ok(members.iter().filter_map(|m| profiles.remove(m)).collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::entry::Body;
    use crate::store::memory::{actor, refused, Memory};

    /// Alice (1) friends with Bob (2) and Carol (3); Dan (4) knows nobody.
    fn people() -> Memory {
        let memory = Memory::default();
        for id in 1..=4 {
            memory.user(id, None);
        }
        memory.befriend(1, 2);
        memory.befriend(1, 3);
        memory
    }

    #[tokio::test]
    async fn a_group_is_created_with_contacts_only_and_a_retry_resumes_the_same_group() {
        let memory = people();
        let alice = actor(1, "web");
        let refused_stranger = create(&memory, &alice, "team", &[UserId(2), UserId(4)], Some("c1")).await;
        assert_eq!(refused(refused_stranger), Refusal::NotAddable(4));
        let first = create(&memory, &alice, "team", &[UserId(2), UserId(3)], Some("c2")).await.unwrap();
        let again = create(&memory, &alice, "team", &[UserId(2), UserId(3)], Some("c2")).await.unwrap();
        assert_eq!((first.id, &first.key, &first.members), (again.id, &again.key, &[1, 2, 3].map(UserId).to_vec()));
        let told = memory.stream(ConversationId::Group(first.id));
        assert_eq!(told.len(), 1, "announced once, whatever the retries");
        assert!(
            matches!(&told[0].body, Body::Notice(n) if n.what == Change::CreateGroup { g_id: first.id, g_key: first.key.clone(), name: "team".into() })
        );
    }

    #[tokio::test]
    async fn joining_takes_the_groups_key_and_stays_under_the_cap() {
        let memory = people();
        memory.group(9, &[1, 2]);
        let dan = actor(4, "ipad");
        assert!(matches!(refused(join(&memory, &dan, GroupId(9), "wrong").await), Refusal::Forbidden(_)));
        join(&memory, &dan, GroupId(9), "key").await.unwrap();
        assert!(memory.state().members[&GroupId(9)].contains(&UserId(4)));
        assert!(
            matches!(refused(join(&memory, &dan, GroupId(9), "key").await), Refusal::Conflict(_)),
            "already a member"
        );
        memory.group(10, &(100..100 + MAX_MEMBERS as u64).collect::<Vec<_>>());
        assert!(matches!(refused(join(&memory, &dan, GroupId(10), "key").await), Refusal::Conflict(_)), "full");
    }

    #[tokio::test]
    async fn only_the_creator_adds_and_only_someone_who_made_them_a_contact() {
        let memory = people();
        memory.group(9, &[1]);
        assert!(matches!(refused(add(&memory, &actor(2, "web"), GroupId(9), UserId(3)).await), Refusal::Forbidden(_)));
        assert_eq!(refused(add(&memory, &actor(1, "web"), GroupId(9), UserId(4)).await), Refusal::NotAddable(4));
        add(&memory, &actor(1, "web"), GroupId(9), UserId(3)).await.unwrap();
        assert_eq!(memory.state().members[&GroupId(9)], [UserId(1), UserId(3)]);
        let told = memory.stream(ConversationId::Group(GroupId(9)));
        assert!(
            matches!(&told[0].body, Body::Notice(n) if n.what == Change::CreateGroupMember { g_id: GroupId(9), member_id: UserId(3) })
        );
    }

    #[tokio::test]
    async fn leaving_is_told_to_the_group_and_only_members_leave() {
        let memory = people();
        memory.group(9, &[1, 2]);
        assert!(matches!(refused(leave(&memory, &actor(4, "web"), GroupId(9)).await), Refusal::NotFound(_)));
        leave(&memory, &actor(2, "web"), GroupId(9)).await.unwrap();
        assert_eq!(memory.state().members[&GroupId(9)], [UserId(1)]);
        assert_eq!(memory.stream(ConversationId::Group(GroupId(9)))[0].body.t(), "delete_group_member");
    }

    #[tokio::test]
    async fn only_the_creator_deletes_and_every_member_hears_it_in_their_own_feed() {
        let memory = people();
        memory.group(9, &[1, 2, 3]);
        assert!(matches!(refused(delete(&memory, &actor(2, "web"), GroupId(9)).await), Refusal::Forbidden(_)));
        delete(&memory, &actor(1, "web"), GroupId(9)).await.unwrap();
        assert!(!memory.state().groups.contains_key(&GroupId(9)) && memory.state().members[&GroupId(9)].is_empty());
        for member in [2, 3] {
            assert_eq!(memory.told(member), ["delete_group"]);
        }
        assert_eq!(memory.told(1), ["delete_group"], "the creator's other devices too");
    }

    #[tokio::test]
    async fn a_deleted_groups_retry_makes_a_new_group_and_a_resumed_one_adds_only_the_first_members() {
        let memory = people();
        let alice = actor(1, "web");
        let first = create(&memory, &alice, "team", &[UserId(2)], Some("c1")).await.unwrap();
        let resumed = create(&memory, &alice, "team", &[UserId(2), UserId(3)], Some("c1")).await.unwrap();
        assert_eq!(resumed.members, [UserId(1), UserId(2)], "the first attempt's members only");
        delete(&memory, &alice, first.id).await.unwrap();
        let after = create(&memory, &alice, "team", &[UserId(2)], Some("c1")).await.unwrap();
        assert_ne!(after.id, first.id, "the deleted group stays deleted");
        assert!(!memory.state().groups.contains_key(&first.id));
    }

    #[tokio::test]
    async fn the_creator_rotates_the_key_and_removes_members_each_told() {
        let memory = people();
        memory.group(9, &[1, 2, 3]);
        assert!(matches!(refused(rotate_key(&memory, &actor(2, "web"), GroupId(9)).await), Refusal::Forbidden(_)));
        let key = rotate_key(&memory, &actor(1, "web"), GroupId(9)).await.unwrap();
        assert!(matches!(refused(join(&memory, &actor(4, "web"), GroupId(9), "key").await), Refusal::Forbidden(_)));
        join(&memory, &actor(4, "web"), GroupId(9), &key).await.unwrap();
        assert!(matches!(
            refused(remove(&memory, &actor(2, "web"), GroupId(9), UserId(3)).await),
            Refusal::Forbidden(_)
        ));
        remove(&memory, &actor(1, "web"), GroupId(9), UserId(3)).await.unwrap();
        assert_eq!(memory.state().members[&GroupId(9)], [UserId(1), UserId(2), UserId(4)]);
        let told: Vec<&str> = memory.stream(ConversationId::Group(GroupId(9))).iter().map(|e| e.body.t()).collect();
        assert_eq!(told, ["update_group_key", "create_group_member", "delete_group_member"]);
    }

    #[tokio::test]
    async fn joining_and_leaving_in_a_loop_is_cut_at_the_per_user_limit() {
        let memory = people();
        memory.group(9, &[1]);
        let dan = actor(4, "web");
        for _ in 0..JOINS_PER_USER.max {
            join(&memory, &dan, GroupId(9), "key").await.unwrap();
            leave(&memory, &dan, GroupId(9)).await.unwrap();
        }
        assert!(matches!(refused(join(&memory, &dan, GroupId(9), "key").await), Refusal::TooManyRequests(_)));
    }
}
