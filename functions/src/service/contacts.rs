//! Contacts as simple_im (seeds 000, 001) and the socket verbs of seeds 002 and 003 see them:
//! ask, accept, end, and the versioned list. Views over the one relationship model; every
//! change is told to the other side and to the actor's other devices.

use crate::delivery::{self, render::Contacts};
use crate::domain::ids::{Actor, UserId};
use crate::domain::limits::REQUESTS_PER_USER;
use crate::domain::notice::{Change, Notice};
use crate::domain::now_secs;
use crate::domain::refusal::{Refusal, Result};
use crate::domain::relation::{self, Edge, Friendship, Rule};
use crate::domain::user::Profile;
use crate::service::limits;
use crate::service::users as user_lookup;
use crate::store::relations::{Pair, Told};
use crate::store::Backend;

/// Counts one more request (friend request or follow) of `user` against their hourly limit.
pub async fn count_request(backend: &impl Backend, user: UserId) -> Result<()> {
    limits::check(backend, &REQUESTS_PER_USER, &user.to_string()).await
}

/// What a relationship change tells: the notice's kind, whether the other side is told (the
/// actor's other devices always are), its fields, and a new friend request's id to remember.
pub struct Telling {
    pub change: Change,
    pub them: bool,
    pub request: Option<u64>,
}

impl Telling {
    /// A notice that is no friend request.
    pub fn plain(change: Change, them: bool) -> Telling {
        Telling { change, them, request: None }
    }

    /// A friend request's `add_contact`, remembering its id.
    fn request(ask: &str, id: u64) -> Telling {
        let change = Change::AddContact { ask: ask.to_string(), friend_request_id: id };
        Telling { change, them: true, request: Some(id) }
    }
}

/// Applies `rule` to the actor and `them` and stores, in the same transaction, the notice
/// `telling` picks for the resulting edge; then pushes it. Nothing changed: nothing is stored
/// or told. The one way a relationship changes.
pub async fn change(
    backend: &impl Backend,
    actor: &Actor,
    them: UserId,
    rule: impl Rule + Send + Sync,
    telling: impl Fn(&Edge) -> Telling + Send + Sync,
) -> Result<Pair> {
    let told = |edge: &Edge| {
        let Telling { change, them: tell_them, request } = telling(edge);
        let notice = Notice::new(change, actor, Some(them.0), now_secs());
        let recipients: &[UserId] = if tell_them { &[them] } else { &[] };
        let request = request.map(|id| (id, actor.user_id, them));
        Told { feeds: delivery::feeds(actor, recipients), notice, request }
    };
    let (pair, stored) = backend.transition(actor.user_id, them, rule, told).await?;
    delivery::push_stored(backend, actor, &stored).await;
    Ok(pair)
}

/// Asks `them` for friendship (`add_contact`, with the request's id); returns seed 004's
/// `friend_request_id`. The rule runs first on the pair as it stands, so a refused request
/// takes no id.
pub async fn send_request(backend: &impl Backend, actor: &Actor, them: UserId, ask: &str) -> Result<u64> {
    count_request(backend, actor.user_id).await?;
    let pair = backend.pair(actor.user_id, them).await?;
    relation::request(ask, 0, now_secs())(&pair.ab, &pair.ba)?;
    let id = backend.next_id("counter#requests").await?;
    let telling = |_: &Edge| Telling::request(ask, id);
    change(backend, actor, them, relation::request(ask, id, now_secs()), telling).await?;
    Ok(id)
}

/// `POST /contact/{id}` with `ask`: asks `them` to be a contact; they get `add_contact`.
pub async fn add(backend: &impl Backend, actor: &Actor, them: UserId, ask: &str) -> Result<()> {
    if them == actor.user_id {
        return Err(Refusal::CannotAddSelf.into());
    }
    user_lookup::existing(backend, them).await?;
    send_request(backend, actor, them, ask).await?;
    Ok(())
}

/// Seed 003's `CREATE_CONTACT` and seed 002's `Friend`: asks them, or accepts when they
/// already asked (seed 003 has no accept step). Friends already, or asked already: 400-21/400-20.
pub async fn befriend(backend: &impl Backend, actor: &Actor, them: UserId) -> Result<()> {
    if them == actor.user_id {
        return Err(Refusal::CannotAddSelf.into());
    }
    count_request(backend, actor.user_id).await?;
    let pair = backend.pair(actor.user_id, them).await?;
    relation::befriend(0, now_secs())(&pair.ab, &pair.ba)?;
    let id = backend.next_id("counter#requests").await?;
    let telling = |edge: &Edge| match edge.friendship {
        Friendship::Friends => Telling::plain(Change::AcceptContact, true),
        _ => Telling::request("", id),
    };
    change(backend, actor, them, relation::befriend(id, now_secs()), telling).await?;
    Ok(())
}

/// Accepts their request (404-12 when there is none): `PUT /contact/{id}`, seed 002's `Confirm`.
pub async fn confirm(backend: &impl Backend, actor: &Actor, them: UserId) -> Result<()> {
    change(backend, actor, them, relation::accept(None), |_| Telling::plain(Change::AcceptContact, true)).await?;
    Ok(())
}

/// Ends a friendship or a pending request: `DELETE /contact/{id}`, seed 003's `DELETE_CONTACT`,
/// seed 002's `Revoke`.
pub async fn end(backend: &impl Backend, actor: &Actor, them: UserId) -> Result<()> {
    change(backend, actor, them, relation::delete, |_| Telling::plain(Change::DeleteContact, true)).await?;
    Ok(())
}

/// Whether the two are contacts already (seed 002's `Confirm` answers `already_present`).
pub async fn are_friends(backend: &impl Backend, a: UserId, b: UserId) -> Result<bool> {
    Ok(backend.pair(a, b).await?.ab.friendship == Friendship::Friends)
}

/// Most changes one contact sync answers.
pub const CONTACT_SYNC_PAGE: usize = 500;

/// What changed in a user's contacts since a version (`GET /contact/version/{v}`).
pub struct Changes {
    pub version: u64,
    pub contacts: Vec<Profile>,
    /// Users no longer contacts (from version 0 there is nothing to delete).
    pub deleted: Vec<UserId>,
    /// Requests waiting for the user: (from, ask, when).
    pub requests: Vec<(UserId, String, u64)>,
}

/// At the current version nothing is listed; from 0, everything current.
pub async fn since(backend: &impl Backend, user: UserId, since: u64) -> Result<Changes> {
    let mut version = backend.version(user).await?;
    let (changed, more) = match since >= version {
        true => (vec![], false),
        false => backend.changed_since(user, since, CONTACT_SYNC_PAGE).await?,
    };
    // A partial page answers the version of its last change: the client's next sync from it
    // gets the rest.
    if more {
        version = changed.last().map_or(version, |c| c.edge.version);
    }
    let ids: Vec<UserId> = changed.iter().map(|c| c.other).collect();
    let mut profiles = backend.profiles(&ids).await?;
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
pub async fn unread_counts(backend: &impl Backend, user: UserId) -> Result<Contacts> {
    Ok(delivery::contacts_unread(backend, user).await?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::format::Format;
    use crate::domain::ids::ConversationId;
    use crate::store::memory::{actor, refused, Memory};

    fn two_strangers() -> Memory {
        let memory = Memory::default();
        memory.user(1, Some("alice@example.com"));
        memory.user(2, Some("bob@example.com"));
        memory
    }

    #[tokio::test]
    async fn a_request_is_told_to_them_and_accepting_makes_friends_both_ways() {
        let memory = two_strangers();
        let bob_phone = memory.connect(2, "android", Format::Json);
        add(&memory, &actor(1, "web"), UserId(2), "hello").await.unwrap();
        assert_eq!(memory.told(2), ["add_contact"]);
        assert_eq!(memory.frames_to(&bob_phone).len(), 1);
        assert_eq!(refused(add(&memory, &actor(1, "web"), UserId(2), "again").await), Refusal::RequestAlreadySent);
        confirm(&memory, &actor(2, "android"), UserId(1)).await.unwrap();
        assert!(
            are_friends(&memory, UserId(1), UserId(2)).await.unwrap()
                && are_friends(&memory, UserId(2), UserId(1)).await.unwrap()
        );
        assert_eq!(memory.told(1), ["add_contact", "accept_contact"], "the asker's own echo, then the answer");
    }

    #[tokio::test]
    async fn befriending_someone_who_asked_already_accepts_at_once() {
        let memory = two_strangers();
        befriend(&memory, &actor(1, "web"), UserId(2)).await.unwrap();
        befriend(&memory, &actor(2, "web"), UserId(1)).await.unwrap();
        assert!(are_friends(&memory, UserId(1), UserId(2)).await.unwrap());
        assert_eq!(refused(befriend(&memory, &actor(2, "web"), UserId(1)).await), Refusal::AlreadyFriends);
        assert_eq!(refused(befriend(&memory, &actor(2, "web"), UserId(2)).await), Refusal::CannotAddSelf);
    }

    #[tokio::test]
    async fn a_contact_sync_lists_changes_since_a_version_and_ended_contacts_as_deleted() {
        let memory = two_strangers();
        memory.user(3, None);
        befriend(&memory, &actor(1, "web"), UserId(2)).await.unwrap();
        confirm(&memory, &actor(2, "web"), UserId(1)).await.unwrap();
        let first = since(&memory, UserId(1), 0).await.unwrap();
        assert_eq!(first.contacts.iter().map(|p| p.id).collect::<Vec<_>>(), [UserId(2)]);
        end(&memory, &actor(1, "web"), UserId(2)).await.unwrap();
        let later = since(&memory, UserId(1), first.version).await.unwrap();
        assert!(later.version > first.version && later.deleted == [UserId(2)] && later.contacts.is_empty());
        assert!(since(&memory, UserId(1), later.version).await.unwrap().deleted.is_empty(), "nothing new");
    }

    #[tokio::test]
    async fn unread_counts_are_keyed_as_seed_003_keys_contacts() {
        let memory = two_strangers();
        memory.befriend(1, 2);
        let dm = ConversationId::direct(UserId(1), UserId(2));
        crate::service::messages::send(&memory, &actor(2, "web"), &outgoing(dm)).await.unwrap();
        assert_eq!(
            unread_counts(&memory, UserId(1)).await.unwrap(),
            Contacts::from([("bob@example.com".to_string(), 1)])
        );
        let phone = crate::domain::names::Phone::parse("8618266175357").unwrap();
        memory.state().profiles.get_mut(&UserId(2)).unwrap().phone = Some(phone);
        let keyed_by_phone = Contacts::from([("8618266175357".to_string(), 1)]);
        assert_eq!(
            unread_counts(&memory, UserId(1)).await.unwrap(),
            keyed_by_phone,
            "an email beside a phone is private"
        );
    }

    fn outgoing(_: ConversationId) -> crate::domain::message::Outgoing {
        let to = crate::domain::ids::Target::User(UserId(1));
        crate::domain::message::Outgoing::new("c1".into(), "text", "hi".into(), to).unwrap()
    }
}
