//! What each device has not yet confirmed, and confirming it: `SYNC` / `[[s]]`,
//! `GET /offline`, and the acks (`[[a]]`, `ACK`, `CHAT_RECEIVE_MSG`, `DELETE /offline`).
//! An ack confirms exactly the entries it names, never the ones before them
//! (`domain::confirmed`); "everything up to" is a separate, explicit request.

use crate::domain::entry::Entry;
use crate::domain::ids::{ConversationId, EntryId, UserId};
use crate::domain::refusal::{Refusal, Result};
use crate::service::messages::{conversations_and_requests, conversations_of, is_member};
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
    let not_own = |e: &Entry| !e.is_own(user, name);
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
    Ok(Pending { feed, messages, more: more_feed || more_messages, friend_requests })
}

/// A device confirms exactly the entries it names, and everything up to `up_to` only when that
/// explicit form is asked. One read and one write per stream named, whatever the gap; ids past
/// their stream's head name nothing and are ignored.
pub async fn acknowledge(
    backend: &impl Backend,
    user: UserId,
    device: &str,
    ids: &[impl AsRef<str>],
    up_to: Option<&str>,
) -> Result<()> {
    let mut by_stream: BTreeMap<ConversationId, (Vec<u64>, Option<u64>)> = BTreeMap::new();
    for id in ids {
        let id: EntryId = id.as_ref().parse()?;
        by_stream.entry(id.conversation(user)).or_default().0.push(id.seq());
    }
    if let Some(id) = up_to {
        let id: EntryId = id.parse()?;
        by_stream.entry(id.conversation(user)).or_default().1 = Some(id.seq());
    }
    for (conversation, (seqs, up_to)) in by_stream {
        if !is_member(backend, user, conversation).await? {
            return Err(Refusal::NotYourConversation.into());
        }
        let head = backend.head(conversation).await?;
        backend.confirm(user, device, conversation, head, &seqs, up_to).await?;
    }
    Ok(())
}

/// `DELETE /offline` without ids: the device confirms everything, its feed and every
/// conversation.
pub async fn acknowledge_everything(backend: &impl Backend, user: UserId, device: &str) -> Result<()> {
    let mut all = vec![ConversationId::Feed(user)];
    all.extend(conversations_of(backend, user).await?);
    for position in backend.positions(user, device, &all).await?.iter().filter(|p| p.behind()) {
        backend.confirm(user, device, position.conversation, position.head, &[], Some(u64::MAX)).await?;
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
    async fn nobody_confirms_in_a_conversation_of_others() {
        let memory = bob_was_away().await;
        memory.user(3, None);
        let theirs = EntryId::of(ConversationId::direct(UserId(1), UserId(2)), 1).to_string();
        assert_eq!(
            refused(acknowledge(&memory, UserId(3), "web", &[theirs], None).await),
            Refusal::NotYourConversation
        );
    }
}
