//! Seed 004: friend requests by id, follows and blocks, over the one relationship model.
//!
//! Rules beyond the seed (see docs/API.md): `requested_user_id` names the other user of the
//! request (the requester for accept and ignore, the requested user for withdraw); ignoring and
//! withdrawing tell nobody but the actor's own devices; blocks are told only to the blocker's.

use crate::delivery;
use crate::domain::ids::{Actor, UserId};
use crate::domain::notice::Change;
use crate::domain::refusal::{Error, Refusal, Result};
use crate::domain::relation::{self, Friendship, Rule};
use crate::domain::user::Profile;
use crate::service::contacts::{self, count_request, send_request, Telling};
use crate::service::users::existing;
use crate::store::relations::{List, ListedEdge, Page};
use crate::store::Backend;
use std::collections::HashMap;

/// Applies `rule` to the pair and tells `them` when `tell_them` (the actor's other devices
/// always), in the change's own transaction.
async fn change(
    backend: &impl Backend,
    actor: &Actor,
    them: UserId,
    rule: impl Rule + Send + Sync,
    told: Change,
    tell_them: bool,
) -> Result<()> {
    contacts::change(backend, actor, them, rule, |_| Telling::plain(told.clone(), tell_them)).await?;
    Ok(())
}

/// `POST /friends/request`: returns the request's id. With `resend`, a request already sent is
/// told again instead of refused with 400-20.
pub async fn request(backend: &impl Backend, actor: &Actor, them: UserId, resend: bool) -> Result<u64> {
    if them == actor.user_id {
        return Err(Refusal::CannotRequestSelf.into());
    }
    existing(backend, them).await?;
    match send_request(backend, actor, them, "").await {
        Err(Error::Refused(Refusal::RequestAlreadySent)) if resend => {
            let request_id = backend.pair(actor.user_id, them).await?.ab.request_id;
            let change = Change::AddContact { ask: String::new(), friend_request_id: request_id };
            delivery::tell_users(backend, actor, &[them], change, Some(them.0)).await?;
            Ok(request_id)
        }
        other => other,
    }
}

/// The other user of a pending request, from `friend_request_id` (wins) or
/// `requested_user_id`; 404-12 when there is no such request involving the caller.
pub async fn request_party(
    backend: &impl Backend,
    caller: UserId,
    request_id: Option<u64>,
    other: Option<UserId>,
) -> Result<(UserId, Option<u64>)> {
    if let Some(id) = request_id {
        return match backend.find_request(id).await? {
            Some((from, to)) if from == caller => Ok((to, Some(id))),
            Some((from, to)) if to == caller => Ok((from, Some(id))),
            _ => Err(Refusal::RequestNotFound.into()),
        };
    }
    other
        .map(|other| (other, None))
        .ok_or_else(|| Refusal::invalid("friend_request_id or requested_user_id is required").into())
}

/// What the actor does about a pending request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RequestAnswer {
    /// `POST /friends/accept`: the requester gets `accept_contact`.
    Accept,
    /// `POST /friends/ignore`: the request is dropped and the requester is not told.
    Ignore,
    /// `POST /friends/withdraw`: 403-6 for the requested side; the other side is not told.
    Withdraw,
}

/// Accepts, ignores or withdraws the pending request with `them` (that very one, with an id).
pub async fn answer(
    backend: &impl Backend,
    actor: &Actor,
    (them, id): (UserId, Option<u64>),
    answer: RequestAnswer,
) -> Result<()> {
    match answer {
        RequestAnswer::Accept => change(backend, actor, them, relation::accept(id), Change::AcceptContact, true).await,
        RequestAnswer::Ignore => change(backend, actor, them, relation::ignore(id), Change::IgnoreContact, false).await,
        RequestAnswer::Withdraw => {
            change(backend, actor, them, relation::withdraw(id), Change::WithdrawContact, false).await
        }
    }
}

/// `DELETE /friends/{user_id}`: the former friend gets `delete_contact`; not friends, nothing.
pub async fn unfriend(backend: &impl Backend, actor: &Actor, them: UserId) -> Result<()> {
    existing(backend, them).await?;
    if backend.pair(actor.user_id, them).await?.ab.friendship != Friendship::Friends {
        return Ok(());
    }
    change(backend, actor, them, relation::unfriend, Change::DeleteContact, true).await
}

/// A follow or a block, set or lifted.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Tie {
    /// `POST /follows`: the followee gets `follow`.
    Follow,
    /// `DELETE /follows/{followee_id}`: 400-19 when not following.
    Unfollow,
    /// `POST /blocks`: only the blocker's own devices are told.
    Block,
    /// `DELETE /blocks/{user_id}`: 404-3 for an unknown user.
    Unblock,
}

/// Sets or lifts a follow or a block of `them`.
pub async fn tie(backend: &impl Backend, actor: &Actor, them: UserId, tie: Tie) -> Result<()> {
    let on_self = match tie {
        Tie::Follow => Some(Refusal::CannotFollowSelf),
        Tie::Block => Some(Refusal::CannotBlockSelf),
        Tie::Unfollow | Tie::Unblock => None,
    };
    if let Some(refusal) = on_self.filter(|_| them == actor.user_id) {
        return Err(refusal.into());
    }
    if tie != Tie::Unfollow {
        existing(backend, them).await?;
    }
    match tie {
        Tie::Follow => {
            count_request(backend, actor.user_id).await?;
            change(backend, actor, them, relation::follow, Change::Follow, true).await
        }
        Tie::Unfollow => change(backend, actor, them, relation::unfollow, Change::Unfollow, true).await,
        Tie::Block => change(backend, actor, them, relation::block, Change::Block, false).await,
        Tie::Unblock => change(backend, actor, them, relation::unblock, Change::Unblock, false).await,
    }
}

/// One page of a list: the edges, the profiles of the others in them, and where the next
/// page starts (when there is one).
pub struct Listing {
    pub edges: Vec<ListedEdge>,
    pub profiles: HashMap<UserId, Profile>,
    pub next: Option<UserId>,
}

/// One page of one of a user's lists, with the profiles of the others in it.
pub async fn list(backend: &impl Backend, user: UserId, which: List, page: Page) -> Result<Listing> {
    let (edges, next) = backend.list_page(user, which, page).await?;
    let ids: Vec<UserId> = edges.iter().map(|e| e.other).collect();
    let profiles = backend.profiles(&ids).await?;
    Ok(Listing { edges, profiles, next })
}

/// `GET /follows/{user_id}/follower` and `/followee`: anyone's, as seed 004 lists them.
pub async fn follows(backend: &impl Backend, user: UserId, which: List, page: Page) -> Result<Listing> {
    existing(backend, user).await?;
    list(backend, user, which, page).await
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::memory::{actor, refused, Memory};

    fn two_users() -> Memory {
        let memory = Memory::default();
        memory.user(1, None);
        memory.user(2, None);
        memory
    }

    #[tokio::test]
    async fn a_request_is_answered_by_its_id_and_only_its_requester_withdraws_it() {
        let memory = two_users();
        let id = request(&memory, &actor(1, "web"), UserId(2), false).await.unwrap();
        assert_eq!(request_party(&memory, UserId(2), Some(id), None).await.unwrap().0, UserId(1));
        assert_eq!(refused(request(&memory, &actor(1, "web"), UserId(2), false).await), Refusal::RequestAlreadySent);
        assert_eq!(request(&memory, &actor(1, "web"), UserId(2), true).await.unwrap(), id, "resent, the same id");
        answer(&memory, &actor(2, "web"), (UserId(1), Some(id)), RequestAnswer::Accept).await.unwrap();
        assert_eq!(memory.told(1).last(), Some(&"accept_contact"));
        assert_eq!(refused(request_party(&memory, UserId(2), Some(id + 1), None).await), Refusal::RequestNotFound);
    }

    #[tokio::test]
    async fn a_block_is_told_only_to_the_blockers_devices_and_stops_requests() {
        let memory = two_users();
        tie(&memory, &actor(1, "web"), UserId(2), Tie::Block).await.unwrap();
        assert!(memory.told(2).is_empty(), "the blocked side is not told");
        assert_eq!(memory.told(1), ["block"]);
        assert_eq!(refused(request(&memory, &actor(2, "web"), UserId(1), false).await), Refusal::Blocked);
        assert_eq!(refused(tie(&memory, &actor(1, "web"), UserId(1), Tie::Block).await), Refusal::CannotBlockSelf);
    }

    #[tokio::test]
    async fn following_is_told_and_counted_and_lists_page_by_the_other_users_id() {
        let memory = two_users();
        memory.user(3, None);
        tie(&memory, &actor(2, "web"), UserId(1), Tie::Follow).await.unwrap();
        tie(&memory, &actor(3, "web"), UserId(1), Tie::Follow).await.unwrap();
        assert_eq!(memory.told(1), ["follow", "follow"]);
        let first = follows(&memory, UserId(1), List::Followers, Page { after: None, limit: 1 }).await.unwrap();
        assert_eq!(
            (first.edges.iter().map(|e| e.other).collect::<Vec<_>>(), first.next),
            (vec![UserId(2)], Some(UserId(2)))
        );
        let rest = follows(&memory, UserId(1), List::Followers, Page { after: first.next, limit: 1 }).await.unwrap();
        assert_eq!((rest.edges[0].other, rest.next), (UserId(3), None));
    }
}
