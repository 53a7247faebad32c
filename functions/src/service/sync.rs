//! What each device has not yet confirmed, and confirming it: `SYNC` / `[[s]]`,
//! `GET /offline`, and the acks (`[[a]]`, `ACK`, `CHAT_RECEIVE_MSG`, `DELETE /offline`).
//! An ack confirms exactly the entries it names, never the ones before them
//! (`domain::confirmed`); "everything up to" is a separate, explicit request.

use crate::delivery::confirmations::{confirm, ANY_DEVICE};
use crate::domain::confirmed::Confirmed;
use crate::domain::entry::Entry;
use crate::domain::ids::{ConversationId, EntryId, UserId};
use crate::domain::refusal::{Refusal, Result};
use crate::service::messages::{conversations_and_requests, conversations_of, is_member};
use crate::service::signals;
use crate::store::Backend;
use std::collections::BTreeMap;

/// What a device has not confirmed: its feed's notifications and its conversations' messages.
pub struct Pending {
    pub feed: Vec<Entry>,
    pub messages: Vec<Entry>,
    /// More may follow: confirm these and ask again.
    pub more: bool,
    /// Friend requests waiting for the user (seed 004: when not 0, list them).
    pub friend_requests: usize,
}

/// What a device has not confirmed, oldest first per stream, at most `limit` of each kind
/// (`after` skips feed entries up to it): `device` is its key (`domain::ids::device_key`, for
/// what it confirmed) and its name (for the echo rules: its own actions are not offered back).
pub async fn pending(
    backend: &impl Backend,
    user: UserId,
    (device, name): (String, &str),
    after: Option<u64>,
    limit: usize,
) -> Result<Pending> {
    let device = device.as_str();
    let not_own = |e: &Entry| !e.is_own(user, device, name);
    let feed = ConversationId::Feed(user);
    let (feed, more_feed) = backend.unconfirmed(user, device, feed, after, limit, not_own).await?;
    let mut messages = vec![];
    let mut more_messages = false;
    let (conversations, friend_requests) = conversations_and_requests(backend, user).await?;
    // Where the device stands in every conversation is read in batches; only the streams it
    // is behind in are queried.
    for position in backend.positions(user, device, &conversations).await?.iter().filter(|p| p.behind()) {
        let room = limit - messages.len();
        if room == 0 {
            more_messages = true;
            break;
        }
        let (entries, more) = backend.unconfirmed_at(position, room, not_own).await?;
        messages.extend(entries);
        if more {
            more_messages = true;
            break;
        }
    }
    // A message the user deleted for themselves stays in its place, shown without its content.
    let messages = messages.into_iter().map(|entry| entry.seen_by(user)).collect();
    Ok(Pending { feed, messages, more: more_feed || more_messages, friend_requests })
}

/// Seed 003's `CHAT_RECEIVE_MSG` without an id: the device has one message pushed to it (at
/// login or live since, so among the first `limit` it has not confirmed): the oldest with that
/// `content`, or the oldest of all when the frame gives none. A content no such message has
/// confirms nothing: better offered again than lost.
pub async fn receive(
    backend: &impl Backend,
    user: UserId,
    device: (String, &str),
    content: Option<&str>,
    limit: usize,
) -> Result<()> {
    let key = device.0.clone();
    let waiting = pending(backend, user, device, None, limit).await?.messages;
    let received = waiting
        .iter()
        .filter(|entry| content.is_none() || entry.message().map(|m| m.c.as_str()) == content)
        .min_by_key(|entry| (entry.body.ts(), entry.seq));
    match received {
        Some(entry) => acknowledge(backend, user, &key, &[entry.id().to_string()], None).await,
        None => Ok(()),
    }
}

/// Seed 003's `LIST_CONTACTS_UNREAD` answers the whole contact list, so the contact changes this
/// device was offered (`NOTIFY_UPDATE_CONTACT`, a snapshot of that list) are superseded by it:
/// they are confirmed before the list is read, so the answer is at least as new as each. Seed
/// 003 has no other way to confirm a notice; without this every login would replay them.
pub async fn supersede_contact_changes(
    backend: &impl Backend,
    user: UserId,
    (device, name): (String, &str),
) -> Result<()> {
    let device = device.as_str();
    let feed = ConversationId::Feed(user);
    let keep = |e: &Entry| e.is_contact_change() && !e.is_own(user, device, name);
    let (changes, _) = backend.unconfirmed(user, device, feed, None, SUPERSEDED_PAGE, keep).await?;
    let seqs: Vec<u64> = changes.iter().map(|e| e.seq).collect();
    // Entries just read are stored: the highest of them bounds what is confirmed, as the head would.
    match seqs.iter().max() {
        Some(&head) => Ok(confirm(backend, user, device, feed, head, &seqs, None).await.map(|_| ())?),
        None => Ok(()),
    }
}

/// Contact changes one `LIST_CONTACTS_UNREAD` confirms at most (a login replays at most a
/// page of the feed, so a client has never been offered more).
const SUPERSEDED_PAGE: usize = 100;

/// A device confirms exactly the entries it names, and everything up to `up_to` only when that
/// explicit form is asked. One read and one write per stream named, whatever the gap; ids past
/// their stream's head name nothing and are ignored. So are ids that are no entry's (simple_im's
/// client acks every table it gets, answers and acks included) and entries of conversations
/// the user is not in: one such id never refuses the rest of a batch, and confirms nothing. A
/// request that names entries only of others' conversations is refused.
pub async fn acknowledge(
    backend: &impl Backend,
    user: UserId,
    device: &str,
    ids: &[impl AsRef<str>],
    up_to: Option<&str>,
) -> Result<()> {
    let mut by_stream: BTreeMap<ConversationId, (Vec<u64>, Option<u64>)> = BTreeMap::new();
    for id in ids.iter().filter_map(|id| id.as_ref().parse::<EntryId>().ok()) {
        by_stream.entry(id.conversation(user)).or_default().0.push(id.seq());
    }
    if let Some(id) = up_to {
        let id: EntryId = id.parse()?;
        by_stream.entry(id.conversation(user)).or_default().1 = Some(id.seq());
    }
    let (mut mine, mut theirs) = (0, 0);
    for (conversation, (seqs, up_to)) in by_stream {
        if !is_member(backend, user, conversation).await? {
            theirs += 1;
            continue;
        }
        mine += 1;
        let head = backend.head(conversation).await?;
        if let Some(upto) = confirm(backend, user, device, conversation, head, &seqs, up_to).await? {
            signals::delivered(backend, user, conversation, upto).await;
        }
    }
    if theirs > 0 && mine == 0 {
        return Err(Refusal::NotYourConversation.into());
    }
    Ok(())
}

/// A device seen for the first time (every new login) starts where its user stands: what the
/// user's devices confirmed counts as delivered to it, and so does what the user sent (a send
/// confirms nothing; the user's cursor takes its messages in at its next confirmation, and
/// those since are taken in here, from the last [`OWN_SCAN`] entries of each stream the user
/// is behind in). So a login is offered what arrived while the user was away, once, and
/// nothing a device of the user already had or sent. One read of the user's streams, one
/// BatchGetItem per 50 of them, one Query per stream with something new, one BatchWriteItem
/// per 25 it inherits.
pub async fn start_device(backend: &impl Backend, user: UserId, device: &str, expires_at: u64) -> Result<()> {
    let mut all = vec![ConversationId::Feed(user)];
    all.extend(conversations_of(backend, user).await?);
    let mut inherited = vec![];
    for mut position in backend.positions(user, ANY_DEVICE, &all).await? {
        if position.behind() {
            let head = position.head;
            let (recent, _) = backend
                .read_range(position.conversation, head.saturating_sub(OWN_SCAN), head, OWN_SCAN as usize)
                .await?;
            for entry in recent.iter().filter(|e| e.sent_from(user, ANY_DEVICE)) {
                position.confirmed.confirm(entry.seq, head);
            }
        }
        if position.confirmed != Confirmed::default() {
            inherited.push(position);
        }
    }
    if !inherited.is_empty() {
        backend.start_cursors(user, device, &inherited, expires_at).await?;
    }
    Ok(())
}

/// How far below a stream's head a new device looks for its user's own messages.
const OWN_SCAN: u64 = 100;

/// `DELETE /offline` without ids: the device confirms everything, its feed and every
/// conversation.
pub async fn acknowledge_everything(backend: &impl Backend, user: UserId, device: &str) -> Result<()> {
    let mut all = vec![ConversationId::Feed(user)];
    all.extend(conversations_of(backend, user).await?);
    for position in backend.positions(user, device, &all).await?.iter().filter(|p| p.behind()) {
        // Catching up at a login is no news to anyone: no delivered receipt.
        confirm(backend, user, device, position.conversation, position.head, &[], Some(u64::MAX)).await?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::ids::Target;
    use crate::domain::message::Outgoing;
    use crate::service::{contacts, messages};
    use crate::store::memory::{actor, refused, Memory};

    /// Alice (1) asked Bob (2) to be a contact and sent him two messages from her web client.
    async fn bob_was_away() -> Memory {
        let memory = Memory::default();
        memory.user(1, None);
        memory.user(2, None);
        contacts::add(&memory, &actor(1, "web"), UserId(2), "hi").await.unwrap();
        memory.befriend(1, 2);
        for id in ["c1", "c2"] {
            let out = Outgoing::new(id.into(), "text", "hello".into(), Target::User(UserId(2))).unwrap();
            messages::send(&memory, &actor(1, "web"), &out).await.unwrap();
        }
        memory
    }

    #[tokio::test]
    async fn a_device_is_offered_what_it_has_not_confirmed_and_an_ack_confirms_exactly_that() {
        let memory = bob_was_away().await;
        let phone = ("android".to_string(), "android");
        let waiting = pending(&memory, UserId(2), phone.clone(), None, 10).await.unwrap();
        assert_eq!((waiting.feed.len(), waiting.messages.len(), waiting.more), (1, 2, false));
        let second = waiting.messages[1].id().to_string();
        acknowledge(&memory, UserId(2), "android", &[second], None).await.unwrap();
        let left = pending(&memory, UserId(2), phone.clone(), None, 10).await.unwrap();
        assert_eq!(left.messages.iter().map(|e| e.seq).collect::<Vec<_>>(), [1], "the one before is not confirmed");
        let other_device = pending(&memory, UserId(2), ("ipad".to_string(), "ipad"), None, 10).await.unwrap();
        assert_eq!(other_device.messages.len(), 2, "each device confirms for itself");
        acknowledge_everything(&memory, UserId(2), "android").await.unwrap();
        let none = pending(&memory, UserId(2), phone, None, 10).await.unwrap();
        assert!(none.feed.is_empty() && none.messages.is_empty());
    }

    #[tokio::test]
    async fn the_acting_device_is_not_offered_its_own_entries_and_pages_say_more() {
        let memory = bob_was_away().await;
        let own = pending(&memory, UserId(1), ("web".to_string(), "web"), None, 10).await.unwrap();
        assert!(own.feed.is_empty() && own.messages.is_empty(), "alice's web client sent them");
        let page = pending(&memory, UserId(2), ("android".to_string(), "android"), None, 1).await.unwrap();
        assert_eq!((page.messages.len(), page.more), (1, true));
    }

    #[tokio::test]
    async fn nobody_confirms_in_a_conversation_of_others_and_foreign_ids_leave_the_rest_of_a_batch() {
        let memory = bob_was_away().await;
        memory.user(3, None);
        let theirs = EntryId::of(ConversationId::direct(UserId(1), UserId(2)), 1).to_string();
        assert_eq!(
            refused(acknowledge(&memory, UserId(3), "web", std::slice::from_ref(&theirs), None).await),
            Refusal::NotYourConversation
        );
        assert!(memory.state().cursors.keys().all(|(user, _, _)| *user != UserId(3)), "nothing written for carol");
        let batch = ["a_02".to_string(), theirs.replace("dm#1#2", "dm#1#3"), theirs];
        acknowledge(&memory, UserId(2), "android", &batch, None).await.unwrap();
        let left = pending(&memory, UserId(2), ("android".to_string(), "android"), None, 10).await.unwrap();
        assert_eq!(left.messages.iter().map(|e| e.seq).collect::<Vec<_>>(), [2], "bob's own id in the batch counts");
    }

    #[tokio::test]
    async fn a_new_device_starts_where_its_user_stands() {
        let memory = bob_was_away().await;
        let phone = ("android".to_string(), "android");
        let waiting = pending(&memory, UserId(2), phone.clone(), None, 10).await.unwrap();
        let first = waiting.messages[0].id().to_string();
        acknowledge(&memory, UserId(2), "android", &[first], None).await.unwrap();
        start_device(&memory, UserId(2), "web~new", 0).await.unwrap();
        let new_login = pending(&memory, UserId(2), ("web~new".to_string(), "web"), None, 10).await.unwrap();
        assert_eq!(new_login.messages.iter().map(|e| e.seq).collect::<Vec<_>>(), [2], "only what no device confirmed");
        assert_eq!(new_login.feed.len(), 1, "the request no device confirmed");
        let old_device = pending(&memory, UserId(2), ("ipad".to_string(), "ipad"), None, 10).await.unwrap();
        assert_eq!(old_device.messages.len(), 2, "a device that existed before keeps its own count");
    }

    #[tokio::test]
    async fn reading_the_contact_list_confirms_the_contact_changes_it_supersedes() {
        let memory = bob_was_away().await;
        let phone = ("android".to_string(), "android");
        supersede_contact_changes(&memory, UserId(2), phone.clone()).await.unwrap();
        let left = pending(&memory, UserId(2), phone, None, 10).await.unwrap();
        assert_eq!((left.feed.len(), left.messages.len()), (0, 2), "messages are not contact changes");
        let other_device = pending(&memory, UserId(2), ("ipad".to_string(), "ipad"), None, 10).await.unwrap();
        assert_eq!(other_device.feed.len(), 1, "a device that existed before keeps its own");
    }

    #[tokio::test]
    async fn a_receipt_without_an_id_confirms_the_oldest_message_with_its_content() {
        let memory = bob_was_away().await;
        let phone = ("android".to_string(), "android");
        receive(&memory, UserId(2), phone.clone(), Some("no such text"), 10).await.unwrap();
        assert_eq!(pending(&memory, UserId(2), phone.clone(), None, 10).await.unwrap().messages.len(), 2);
        receive(&memory, UserId(2), phone.clone(), Some("hello"), 10).await.unwrap();
        let left = pending(&memory, UserId(2), phone.clone(), None, 10).await.unwrap();
        assert_eq!(left.messages.iter().map(|e| e.seq).collect::<Vec<_>>(), [2]);
        receive(&memory, UserId(2), phone.clone(), None, 10).await.unwrap();
        assert!(pending(&memory, UserId(2), phone, None, 10).await.unwrap().messages.is_empty());
    }
}
