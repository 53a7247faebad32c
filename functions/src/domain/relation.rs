//! What two users are to each other, and the rules that change it, as pure functions. Each
//! rule takes both sides of a pair (A's view of B, B's view of A) and returns the new pair or
//! the refusal with its seed code; the store applies it atomically and retries on a race.
//!
//! Rules beyond the seeds (see docs/API.md): a block clears pending requests both ways and the
//! blocked user's follow and keeps a friendship; afterwards the blocked user's requests and
//! follows are refused (400-6).

use super::ids::UserId;
use super::refusal::Refusal;

/// Where a friendship stands, from one side. Stored by its name (`as_str`); an unknown name
/// is a malformed item, not a default.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum Friendship {
    #[default]
    #[serde(rename = "none")]
    None,
    /// I asked them.
    #[serde(rename = "requested")]
    Requested,
    /// They asked me.
    #[serde(rename = "requested_by")]
    RequestedBy,
    #[serde(rename = "friend")]
    Friends,
}

impl Friendship {
    pub fn as_str(self) -> &'static str {
        match self {
            Friendship::None => "none",
            Friendship::Requested => "requested",
            Friendship::RequestedBy => "requested_by",
            Friendship::Friends => "friend",
        }
    }
}

/// One user's view of another, stored as these fields (each absent one its default).
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(default)]
pub struct Edge {
    pub friendship: Friendship,
    /// The note sent with a pending request (simple_im's `ask`).
    pub ask: String,
    /// When the pending request was made (seconds), for request lists.
    pub requested_at: u64,
    /// Seed 004's `friend_request_id` of the pending request (0 when none).
    pub request_id: u64,
    pub following: bool,
    pub followed_by: bool,
    pub blocking: bool,
    pub blocked_by: bool,
    /// Version of the owner's list at this edge's last change.
    pub version: u64,
}

impl Edge {
    /// The same edge, ignoring the version: what a transition compares to see if anything changed.
    pub fn state(&self) -> Edge {
        Edge { version: 0, ..self.clone() }
    }

    /// The edge with no friendship and no pending request (follows and blocks stay).
    pub fn cleared(&self) -> Edge {
        Edge { friendship: Friendship::None, ask: String::new(), requested_at: 0, request_id: 0, ..self.clone() }
    }

    fn blocked_either_way(&self) -> bool {
        self.blocking || self.blocked_by
    }
}

/// The outcome of a rule: both new sides, or why not.
pub type Decision = Result<(Edge, Edge), Refusal>;

/// A rule the store applies to a pair.
pub trait Rule: Fn(&Edge, &Edge) -> Decision {}
impl<F: Fn(&Edge, &Edge) -> Decision> Rule for F {}

/// Asking someone to be a contact.
pub fn request(ask: &str, request_id: u64, now: u64) -> impl Rule + '_ {
    move |ab, ba| {
        if ab.blocked_either_way() {
            return Err(Refusal::Blocked);
        }
        match ab.friendship {
            Friendship::Friends => Err(Refusal::AlreadyFriends),
            Friendship::Requested => Err(Refusal::RequestAlreadySent),
            Friendship::RequestedBy => Err(Refusal::TheyAlreadyAsked),
            Friendship::None => {
                let pending = |e: &Edge, friendship| Edge {
                    friendship,
                    ask: ask.to_string(),
                    requested_at: now,
                    request_id,
                    ..e.clone()
                };
                Ok((pending(ab, Friendship::Requested), pending(ba, Friendship::RequestedBy)))
            }
        }
    }
}

/// Accepting the request the other side sent (when `id` is given, that very request).
pub fn accept(id: Option<u64>) -> impl Rule {
    move |ab, ba| {
        if ab.friendship != Friendship::RequestedBy || id.is_some_and(|id| ab.request_id != id) {
            return Err(Refusal::RequestNotFound);
        }
        if ab.blocked_either_way() {
            return Err(Refusal::Blocked);
        }
        let friends = |e: &Edge| Edge { friendship: Friendship::Friends, ..e.cleared() };
        Ok((friends(ab), friends(ba)))
    }
}

/// Seed 003's `CREATE_CONTACT` and seed 002's `Friend`: accept when they asked, else ask.
pub fn befriend(request_id: u64, now: u64) -> impl Rule {
    move |ab, ba| match ab.friendship {
        Friendship::RequestedBy => accept(None)(ab, ba),
        _ => request("", request_id, now)(ab, ba),
    }
}

/// simple_im's contact deletion: ends a friendship or a pending request either way.
pub fn delete(ab: &Edge, ba: &Edge) -> Decision {
    if ab.friendship == Friendship::None {
        return Err(Refusal::NotAContact);
    }
    Ok((ab.cleared(), ba.cleared()))
}

/// Seed 004's unfriend: ends a friendship; anything else stays as it is.
pub fn unfriend(ab: &Edge, ba: &Edge) -> Decision {
    match ab.friendship {
        Friendship::Friends => Ok((ab.cleared(), ba.cleared())),
        _ => Ok((ab.clone(), ba.clone())),
    }
}

/// Dropping a request the other side sent (when `id` is given, that very request).
pub fn ignore(id: Option<u64>) -> impl Rule {
    move |ab, ba| {
        if ab.friendship != Friendship::RequestedBy || id.is_some_and(|id| ab.request_id != id) {
            return Err(Refusal::RequestNotFound);
        }
        Ok((ab.cleared(), ba.cleared()))
    }
}

/// Taking back a request one sent; the requested side may not (403-6).
pub fn withdraw(id: Option<u64>) -> impl Rule {
    move |ab, ba| match ab.friendship {
        Friendship::Requested if id.is_none_or(|id| ab.request_id == id) => Ok((ab.cleared(), ba.cleared())),
        Friendship::RequestedBy => Err(Refusal::OnlySenderWithdraws),
        _ => Err(Refusal::RequestNotFound),
    }
}

pub fn follow(ab: &Edge, ba: &Edge) -> Decision {
    if ab.blocked_either_way() {
        return Err(Refusal::Blocked);
    }
    if ab.following {
        return Err(Refusal::AlreadyFollowing);
    }
    Ok((Edge { following: true, ..ab.clone() }, Edge { followed_by: true, ..ba.clone() }))
}

pub fn unfollow(ab: &Edge, ba: &Edge) -> Decision {
    if !ab.following {
        return Err(Refusal::NotFollowing);
    }
    Ok((Edge { following: false, ..ab.clone() }, Edge { followed_by: false, ..ba.clone() }))
}

/// Allowed whatever the relationship: a friendship stays, pending requests both ways are
/// cleared, the blocked user's follow is removed.
pub fn block(ab: &Edge, ba: &Edge) -> Decision {
    let (ab, ba) = match ab.friendship {
        Friendship::Friends => (ab.clone(), ba.clone()),
        _ => (ab.cleared(), ba.cleared()),
    };
    Ok((Edge { blocking: true, followed_by: false, ..ab }, Edge { blocked_by: true, following: false, ..ba }))
}

pub fn unblock(ab: &Edge, ba: &Edge) -> Decision {
    Ok((Edge { blocking: false, ..ab.clone() }, Edge { blocked_by: false, ..ba.clone() }))
}

/// Forgets everything between the two, both ways: one of them deletes their account.
pub fn erase(_: &Edge, _: &Edge) -> Decision {
    Ok((Edge::default(), Edge::default()))
}

/// Seed 004's view of a relationship from one side, as its block rules name it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
pub struct Flags {
    pub is_friend: bool,
    /// I asked them.
    pub friend_requested: bool,
    /// They asked me.
    pub friend_requested_by: bool,
    pub following: bool,
    pub followed_by: bool,
    pub blocking: bool,
}

impl From<&Edge> for Flags {
    fn from(ab: &Edge) -> Flags {
        Flags {
            is_friend: ab.friendship == Friendship::Friends,
            friend_requested: ab.friendship == Friendship::Requested,
            friend_requested_by: ab.friendship == Friendship::RequestedBy,
            following: ab.following,
            followed_by: ab.followed_by,
            blocking: ab.blocking,
        }
    }
}

/// Who may message whom one-to-one: contacts, and the two sides of a pending request (a request
/// opens the conversation, so seed 003's `CREATE_CONTACT` then `CHAT_SEND_MSG` works; the
/// recipient sees a message from a non-contact); never when either blocks the other.
pub fn may_message(ab: &Edge) -> Result<(), Refusal> {
    if ab.blocked_either_way() {
        return Err(Refusal::MessageBlocked);
    }
    if ab.friendship == Friendship::None {
        return Err(Refusal::NotYourContact);
    }
    Ok(())
}

/// What still reaches the other side of a conversation after it ended (deleting one's own
/// message tells them): anything but across a block.
pub fn may_reach(ab: &Edge) -> Result<(), Refusal> {
    match ab.blocked_either_way() {
        true => Err(Refusal::MessageBlocked),
        false => Ok(()),
    }
}

/// Consent for groups: someone may put a user in a group only if that user made them a
/// contact (friends), and neither blocks the other. Joining with a group's key is one's own
/// choice and needs no contact.
pub fn may_add_to_group(ab: Option<&Edge>, user: UserId) -> Result<(), Refusal> {
    match ab {
        Some(edge) if edge.friendship == Friendship::Friends && !edge.blocked_either_way() => Ok(()),
        _ => Err(Refusal::NotAddable(user.0)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn none() -> (Edge, Edge) {
        (Edge::default(), Edge::default())
    }

    fn run(rule: impl Rule, (ab, ba): (Edge, Edge)) -> Decision {
        rule(&ab, &ba)
    }

    fn requested() -> (Edge, Edge) {
        run(request("hi", 7, 100), none()).unwrap()
    }

    fn friends() -> (Edge, Edge) {
        let (ab, ba) = requested();
        run(accept(None), (ba, ab)).map(|(ba, ab)| (ab, ba)).unwrap()
    }

    fn blocked() -> (Edge, Edge) {
        run(block, none()).unwrap()
    }

    fn swap((a, b): (Edge, Edge)) -> (Edge, Edge) {
        (b, a)
    }

    #[test]
    fn request_marks_both_sides_and_refuses_with_seed_codes() {
        let (ab, ba) = requested();
        assert_eq!((ab.friendship, ba.friendship), (Friendship::Requested, Friendship::RequestedBy));
        assert_eq!((ab.ask.as_str(), ba.request_id, ba.requested_at), ("hi", 7, 100));
        assert_eq!(run(request("", 8, 0), requested()), Err(Refusal::RequestAlreadySent));
        assert_eq!(run(request("", 8, 0), swap(requested())), Err(Refusal::TheyAlreadyAsked));
        assert_eq!(run(request("", 8, 0), friends()), Err(Refusal::AlreadyFriends));
        assert_eq!(run(request("", 8, 0), blocked()), Err(Refusal::Blocked));
        assert_eq!(run(request("", 8, 0), swap(blocked())), Err(Refusal::Blocked));
        assert_eq!(Refusal::TheyAlreadyAsked.code(), Some("400-22"));
    }

    #[test]
    fn accept_needs_their_request_and_no_block() {
        let (ab, ba) = friends();
        assert_eq!((ab.friendship, ba.friendship), (Friendship::Friends, Friendship::Friends));
        assert_eq!((ab.request_id, ab.ask.as_str()), (0, ""), "the request is gone");
        assert_eq!(run(accept(None), requested()), Err(Refusal::RequestNotFound), "not one's own request");
        assert_eq!(run(accept(None), none()), Err(Refusal::RequestNotFound));
        assert_eq!(run(accept(Some(99)), swap(requested())), Err(Refusal::RequestNotFound), "another id");
        assert!(run(accept(Some(7)), swap(requested())).is_ok());
        let (mut ab, ba) = swap(requested());
        ab.blocking = true;
        assert_eq!(run(accept(None), (ab, ba)), Err(Refusal::Blocked));
    }

    #[test]
    fn befriend_accepts_when_they_asked_and_asks_otherwise() {
        assert_eq!(run(befriend(3, 0), none()).unwrap().0.friendship, Friendship::Requested);
        assert_eq!(run(befriend(3, 0), swap(requested())).unwrap().0.friendship, Friendship::Friends);
        assert_eq!(run(befriend(3, 0), friends()), Err(Refusal::AlreadyFriends));
    }

    #[test]
    fn delete_ends_friendships_and_requests_but_needs_one() {
        assert_eq!(run(delete, friends()).unwrap(), none());
        assert_eq!(run(delete, requested()).unwrap(), none());
        assert_eq!(run(delete, none()), Err(Refusal::NotAContact));
    }

    #[test]
    fn unfriend_ends_only_a_friendship() {
        assert_eq!(run(unfriend, friends()).unwrap(), none());
        assert_eq!(run(unfriend, requested()).unwrap(), requested(), "a pending request stays");
    }

    #[test]
    fn ignore_drops_only_a_received_request() {
        assert_eq!(run(ignore(None), swap(requested())).unwrap(), none());
        assert_eq!(run(ignore(None), requested()), Err(Refusal::RequestNotFound));
        assert_eq!(run(ignore(Some(8)), swap(requested())), Err(Refusal::RequestNotFound));
    }

    #[test]
    fn withdraw_is_for_the_sender_only() {
        assert_eq!(run(withdraw(Some(7)), requested()).unwrap(), none());
        assert_eq!(run(withdraw(None), swap(requested())), Err(Refusal::OnlySenderWithdraws));
        assert_eq!(Refusal::OnlySenderWithdraws.code(), Some("403-6"));
        assert_eq!(run(withdraw(Some(8)), requested()), Err(Refusal::RequestNotFound));
        assert_eq!(run(withdraw(None), none()), Err(Refusal::RequestNotFound));
    }

    #[test]
    fn follow_and_unfollow() {
        let (ab, ba) = run(follow, none()).unwrap();
        assert!(ab.following && ba.followed_by);
        assert_eq!(run(follow, (ab.clone(), ba.clone())), Err(Refusal::AlreadyFollowing));
        assert_eq!(run(follow, swap(blocked())), Err(Refusal::Blocked));
        assert_eq!(run(unfollow, (ab, ba)).unwrap(), none());
        assert_eq!(run(unfollow, none()), Err(Refusal::NotFollowing));
    }

    #[test]
    fn block_keeps_friends_clears_requests_and_the_blocked_follow() {
        let (ab, ba) = run(block, friends()).unwrap();
        assert!(ab.blocking && ba.blocked_by && ab.friendship == Friendship::Friends);
        let (ab, ba) = run(block, swap(requested())).unwrap();
        assert_eq!((ab.friendship, ba.friendship), (Friendship::None, Friendship::None));
        let (ba, ab) = run(follow, none()).unwrap();
        let (ab, ba) = run(block, (ab, ba)).unwrap();
        assert!(!ab.followed_by && !ba.following, "the blocked user's follow is removed");
    }

    #[test]
    fn flags_name_the_relationship_from_each_side() {
        let (ab, ba) = requested();
        assert!(Flags::from(&ab).friend_requested && Flags::from(&ba).friend_requested_by);
        let (ab, _) = run(block, friends()).unwrap();
        let flags = Flags::from(&ab);
        assert!(flags.is_friend && flags.blocking, "a block keeps is_friend (seed 004)");
    }

    #[test]
    fn unblock_lifts_only_the_block() {
        let (ab, ba) = run(unblock, run(block, friends()).unwrap()).unwrap();
        assert!(!ab.blocking && !ba.blocked_by && ab.friendship == Friendship::Friends);
    }

    #[test]
    fn messaging_needs_a_contact_or_a_pending_request_and_no_block() {
        assert_eq!(may_message(&friends().0), Ok(()));
        assert_eq!(may_message(&requested().0), Ok(()), "the asker may write");
        assert_eq!(may_message(&swap(requested()).0), Ok(()), "and be answered");
        assert_eq!(may_message(&Edge::default()), Err(Refusal::NotYourContact));
        assert_eq!(may_message(&run(block, friends()).unwrap().1), Err(Refusal::MessageBlocked));
        let (mut ab, _) = requested();
        ab.blocked_by = true;
        assert_eq!(may_message(&ab), Err(Refusal::MessageBlocked), "a request does not get around a block");
    }
}
