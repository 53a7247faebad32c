//! Conversations: one-to-one and group chat. A message is stored once, in its conversation, at
//! the conversation's next sequence number (taken by an atomic update of the head, so a busy
//! group's senders never conflict; the message written there with the sender's message id as
//! an idempotency key); nobody gets a copy. Unread counts are derived:
//! the conversation's head minus the member's read marker. Delivery is pushes only.

use crate::delivery;
use crate::domain::entry::{Body, Entry, Message};
use crate::domain::ids::{device_key, Actor, ConversationId, Target, UserId};
use crate::domain::limits::SENDS_PER_USER;
use crate::domain::message::Outgoing;
use crate::domain::now_micros;
use crate::domain::refusal::{Refusal, Result};
use crate::domain::relation;
use crate::domain::rich::Details;
use crate::domain::user::Profile;
pub use crate::service::access::is_member;
use crate::service::{changes, inbox, limits, media};
use crate::store::streams::{self, NewEntry, Placed};
use crate::store::Backend;
use crate::store::StoreError;
use im_adapters::emf::{self, Unit};
use serde_json::json;

/// What a send produced.
#[derive(Clone, Debug, PartialEq)]
pub struct Sent {
    /// The server's id for the message: `<conversation>:<seq>`.
    pub id: String,
    pub seq: u64,
    /// False when the same client id was sent before: nothing new was stored or pushed.
    pub new: bool,
}

/// Who may message whom: contacts who do not block each other; members of a group. Returns
/// the audience.
pub async fn check_allowed(backend: &impl Backend, from: UserId, target: Target) -> Result<Vec<UserId>> {
    match target {
        Target::User(other) => {
            if other == from {
                return Err(Refusal::MessageSelf.into());
            }
            relation::may_message(&backend.edge(from, other).await?)?;
            Ok(vec![other])
        }
        Target::Group(id) => {
            let members = backend.members(id).await?;
            if !members.contains(&from) {
                return Err(Refusal::NotGroupMember.into());
            }
            Ok(members)
        }
    }
}

/// Sends a message: checked, stored durably (once, idempotently, the sender's read marker raised
/// beside it), then pushed to every device of the recipients and the sender's other
/// devices. The sender is acked only after the store. A retry with the same client id stores
/// nothing new but pushes the stored message again: the first attempt may have died between
/// its commit and its pushes, and devices drop what they already hold by `seq`.
pub async fn send(backend: &impl Backend, actor: &Actor, out: &Outgoing) -> Result<Sent> {
    let conversation = ConversationId::of(actor.user_id, out.target);
    // A group's send key is an item of its own, looked up with the checks; a one-to-one send's
    // is on the conversation's head, checked by the update that numbers it (`streams::direct`).
    let dedup = match out.target {
        Target::Group(_) => Some(streams::dedup_key(conversation, actor.user_id, &out.client_id)),
        Target::User(_) => None,
    };
    let sent_before = async {
        match &dedup {
            Some(key) => backend.sent_before(key).await,
            None => Ok(None),
        }
    };
    // Independent round trips at once, none with an effect but the rate counter's; their
    // answers are judged in the order of the rules (rate limit first).
    let subject = actor.user_id.to_string();
    let quote = async {
        match &out.reply_to {
            Some(reply_to) => changes::quote(backend, conversation, reply_to).await.map(Some),
            None => Ok(None),
        }
    };
    let (admitted, audience, sender, sent_before, quote) = futures::join!(
        limits::check_often(backend, &SENDS_PER_USER, &subject),
        check_allowed(backend, actor.user_id, out.target),
        backend.profile(actor.user_id),
        sent_before,
        quote,
    );
    admitted?;
    let audience = audience?;
    let sender = sender?;
    let quote = quote?;
    let (stored, reach) = match sent_before? {
        Some(seq) => {
            let entry = stored(backend, conversation, seq).await?;
            (
                Stored { entry, new: false, peer_unread: None, inbox_at: None },
                delivery::reach(backend, actor, conversation, &audience).await,
            )
        }
        None => {
            let details = Details {
                reply_to: quote.as_ref().map(|q| q.0.clone()),
                reply_snippet: quote.map(|q| q.1),
                ..Details::default()
            };
            store(backend, actor, out, (conversation, &audience), (sender.as_ref(), details), dedup.as_deref()).await?
        }
    };
    let Stored { entry, new, peer_unread, inbox_at } = stored;
    let stored_at = std::time::Instant::now();
    let seq = entry.seq;
    if let (true, Some(reply_to)) = (new, &out.reply_to) {
        changes::note_reply(backend, conversation, reply_to, seq).await;
    }
    // Seed 003's unread count for a one-to-one recipient rides on the same connection look-up.
    let unread = match out.target {
        Target::User(to) => {
            let count = match peer_unread {
                Some(count) => count,
                None => backend.unread(to, conversation).await?,
            };
            let key = sender.map_or_else(|| actor.user_id.to_string(), |p| p.contact_key());
            Some(delivery::Event {
                user: to,
                name: "NOTIFY_UPDATE_UNREAD",
                data: json!({ "unread_msg_count": { key: count } }),
            })
        }
        Target::Group(_) => None,
    };
    let noted = async {
        if new {
            inbox::note_message(backend, conversation, &audience, inbox_at).await;
        }
    };
    futures::join!(delivery::push_message(backend, actor, reach, &entry, unread), noted);
    let delivered_ms = stored_at.elapsed().as_secs_f64() * 1000.0;
    emf::emit(&[
        ("MessagesStored", f64::from(u8::from(new)), Unit::Count),
        ("StoreToLastPostMs", delivered_ms, Unit::Milliseconds),
    ]);
    Ok(Sent { id: format!("{conversation}:{seq}"), seq, new })
}

/// A message as the store holds it after a send.
struct Stored {
    entry: Entry,
    /// False when the same client id was stored before.
    new: bool,
    /// The one-to-one recipient's unread count, when the store's answer tells it.
    peer_unread: Option<u64>,
    /// When the conversation's activity was last written into its participants' inboxes (ms),
    /// as the head's update that numbered it read.
    inbox_at: Option<u64>,
}

/// The entry at `seq` of a conversation.
async fn stored(backend: &impl Backend, conversation: ConversationId, seq: u64) -> Result<Entry> {
    changes::message_at(backend, conversation, seq).await
}

/// Stores a new message (its audio attached first); not new when a concurrent retry won. A
/// group's send writes with its dedup key `dedup`; a one-to-one send has none (its head keeps
/// the sender's recent client ids). Once its number is taken, the message is written and the
/// audience's live connections looked up side by side: a device that connects after the
/// look-up syncs after the number was taken, so it finds the message, or its gap, there
/// (docs/ARCHITECTURE.md, Messages).
async fn store(
    backend: &impl Backend,
    actor: &Actor,
    out: &Outgoing,
    (conversation, audience): (ConversationId, &[UserId]),
    (sender, details): (Option<&Profile>, Details),
    dedup: Option<&str>,
) -> Result<(Stored, delivery::Reach)> {
    let (content, details) = media::attach(backend, actor.user_id, out, conversation, details).await?;
    let (ts, us) = now_micros();
    let body = Body::Message(Message {
        client_id: out.client_id.clone(),
        t: out.kind,
        c: content,
        from: actor.user_id,
        // Seed 003 names the sender by email, always a string: the sender's contact key (the
        // public email, else the phone, else the id), as the recipient's contact list names them.
        from_email: Some(sender.map_or_else(|| actor.user_id.to_string(), Profile::contact_key)),
        target: out.target,
        ts,
        us,
        d: actor.device.as_str().to_string(),
        deleted: false,
        details,
    });
    // The sending device's key: sync never offers the message back to it (`Entry::is_own`).
    let device = device_key(&actor.device, &actor.tag);
    let new = NewEntry { echo_of: Some(&device), body: &body };
    let reach = delivery::reach(backend, actor, conversation, audience);
    let (written, reach, peer_unread, inbox_at) = match dedup {
        Some(key) => {
            let allocated = backend.allocate(conversation).await?;
            let seq = allocated.seq;
            // What one sends is read; a marker is only ever raised, so racing sends of one
            // sender leave it at the highest.
            let (written, read, reach) = futures::join!(
                backend.write(conversation, seq, &new, Some(key)),
                backend.raise_read_marker(actor.user_id, conversation, seq),
                reach
            );
            read?;
            (written?, reach, None, Some(allocated.inbox_at))
        }
        None => {
            let numbered = backend.number_direct(conversation, actor.user_id, &out.client_id, None).await?;
            let (written, reach) = futures::join!(backend.write(conversation, numbered.seq, &new, None), reach);
            let (written, peer_unread) = match written? {
                Placed::Sealed(seq) => renumber_direct(backend, actor.user_id, out, (conversation, seq), &new).await?,
                placed => (placed, numbered.peer_unread),
            };
            (written, reach, peer_unread, Some(numbered.inbox_at))
        }
    };
    let (entry, new) = match written {
        Placed::Written(seq) => (Entry { conversation, seq, echo_of: Some(device), body }, true),
        Placed::Earlier(seq) => (stored(backend, conversation, seq).await?, false),
        Placed::Sealed(_) => return Err(StoreError::Contended.into()),
    };
    Ok((Stored { entry, new, peer_unread, inbox_at }, reach))
}

/// A one-to-one retry whose number was sealed as a hole (its first attempt died before writing
/// and a reader gave the number up, `streams::holes`) takes a new number and writes there; a
/// racing retry that did so first is answered. Sealed again only past every function's
/// timeout, so a few rounds settle it.
async fn renumber_direct(
    backend: &impl Backend,
    sender: UserId,
    out: &Outgoing,
    (conversation, sealed): (ConversationId, u64),
    new: &NewEntry<'_>,
) -> Result<(Placed, Option<u64>)> {
    let mut sealed = sealed;
    for _ in 0..3 {
        let numbered = backend.number_direct(conversation, sender, &out.client_id, Some(sealed)).await?;
        match backend.write(conversation, numbered.seq, new, None).await? {
            Placed::Sealed(seq) => sealed = seq,
            placed => return Ok((placed, numbered.peer_unread)),
        }
    }
    Err(StoreError::Contended.into())
}

/// Unread messages of `user` in a conversation: head minus read marker, exact under races.
pub async fn unread(backend: &impl Backend, user: UserId, conversation: ConversationId) -> Result<u64> {
    Ok(backend.unread(user, conversation).await?)
}

/// The conversations a user takes part in: one per contact or pending request, one per group.
pub async fn conversations_of(backend: &impl Backend, user: UserId) -> Result<Vec<ConversationId>> {
    Ok(delivery::conversations_of(backend, user).await?)
}

/// The user's conversations, and how many friend requests wait for them (seed 004's count),
/// from the one Query of their correspondents.
pub async fn conversations_and_requests(backend: &impl Backend, user: UserId) -> Result<(Vec<ConversationId>, usize)> {
    Ok(delivery::conversations_and_requests(backend, user).await?)
}

/// One page of history, oldest first: `page` 1 is the newest `pagesize` messages (seed 003);
/// a page is a key range of sequence numbers, not an offset scan (a rare hole makes it short).
/// `before` (a message's sequence) pages by cursor instead. Only participants may read it;
/// each message as the reader sees it (`Entry::seen_by`), those they deleted for themselves left out.
pub async fn history(
    backend: &impl Backend,
    user: UserId,
    conversation: ConversationId,
    page: u64,
    pagesize: u64,
    before: Option<u64>,
) -> Result<Vec<Entry>> {
    if !is_member(backend, user, conversation).await? {
        return Err(Refusal::Forbidden("not your conversation".into()).into());
    }
    let head = backend.head(conversation).await?;
    let until = match before {
        Some(seq) => seq.saturating_sub(1).min(head),
        // `page` is the client's: a huge one is simply past the start, never an overflow.
        None => head.saturating_sub((page.max(1) - 1).saturating_mul(pagesize)),
    };
    let after = until.saturating_sub(pagesize);
    let (entries, _) = backend.read_range(conversation, after, until, pagesize as usize).await?;
    let seen = entries.into_iter().map(|entry| entry.seen_by(user));
    Ok(seen.filter(|entry| !entry.message().is_some_and(|m| m.details.hidden)).collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::format::Format;
    use crate::domain::ids::GroupId;
    use crate::domain::relation::Edge;
    use crate::store::memory::{actor, refused, Memory};
    use crate::store::ports::StreamStore;

    fn text(id: &str, c: &str, target: Target) -> Outgoing {
        Outgoing::new(id.into(), "text", c.into(), target).unwrap()
    }

    /// Alice (1) and Bob (2), friends; Bob online on a TOML phone.
    fn alice_and_bob() -> (Memory, String) {
        let memory = Memory::default();
        memory.user(1, Some("alice@example.com"));
        memory.user(2, None);
        memory.befriend(1, 2);
        let phone = memory.connect(2, "android", Format::Toml);
        (memory, phone)
    }

    #[tokio::test]
    async fn a_message_to_a_friend_is_stored_once_read_by_its_sender_and_pushed() {
        let (memory, phone) = alice_and_bob();
        let sent = send(&memory, &actor(1, "web"), &text("c1", "hello", Target::User(UserId(2)))).await.unwrap();
        assert_eq!((sent.id.as_str(), sent.seq, sent.new), ("dm#1#2:1", 1, true));
        let dm = ConversationId::direct(UserId(1), UserId(2));
        let stored = memory.stream(dm);
        assert_eq!(stored.len(), 1);
        let message = stored[0].message().unwrap();
        assert_eq!((message.c.as_str(), message.from_email.as_deref()), ("hello", Some("alice@example.com")));
        assert_eq!(
            (unread(&memory, UserId(1), dm).await.unwrap(), unread(&memory, UserId(2), dm).await.unwrap()),
            (0, 1)
        );
        let frames = memory.frames_to(&phone);
        assert!(frames.len() == 1 && frames[0].contains("c = \"hello\""), "{frames:?}");
    }

    #[tokio::test]
    async fn a_message_to_a_stranger_to_oneself_or_across_a_block_is_refused_and_stores_nothing() {
        let (memory, _) = alice_and_bob();
        memory.user(3, None);
        let alice = actor(1, "web");
        assert_eq!(
            refused(send(&memory, &alice, &text("c1", "hi", Target::User(UserId(3)))).await),
            Refusal::NotYourContact
        );
        assert_eq!(
            refused(send(&memory, &alice, &text("c2", "hi", Target::User(UserId(1)))).await),
            Refusal::MessageSelf
        );
        let blocked = Edge { blocking: true, ..memory.state().edges[&(UserId(2), UserId(1))].clone() };
        memory.state().edges.insert((UserId(2), UserId(1)), blocked);
        memory.state().edges.get_mut(&(UserId(1), UserId(2))).unwrap().blocked_by = true;
        assert_eq!(
            refused(send(&memory, &alice, &text("c3", "hi", Target::User(UserId(2)))).await),
            Refusal::MessageBlocked
        );
        assert!(memory.state().entries.is_empty() && memory.state().posts.is_empty());
    }

    #[tokio::test]
    async fn a_retry_with_the_same_client_id_stores_nothing_new_but_pushes_again() {
        let (memory, phone) = alice_and_bob();
        let alice = actor(1, "web");
        let first = send(&memory, &alice, &text("c1", "hello", Target::User(UserId(2)))).await.unwrap();
        let again = send(&memory, &alice, &text("c1", "hello", Target::User(UserId(2)))).await.unwrap();
        assert_eq!((again.seq, again.new, first.new), (first.seq, false, true));
        assert_eq!(memory.stream(ConversationId::direct(UserId(1), UserId(2))).len(), 1);
        assert_eq!(memory.frames_to(&phone).len(), 2, "the first attempt may have died before its push");
    }

    #[tokio::test]
    async fn a_group_retry_leaves_a_sealed_hole_that_no_member_counts_unread() {
        let (memory, _) = alice_and_bob();
        memory.group(9, &[1, 2]);
        let (alice, group) = (actor(1, "web"), ConversationId::Group(GroupId(9)));
        let first = send(&memory, &alice, &text("c1", "hi", Target::Group(GroupId(9)))).await.unwrap();
        // A retry that looked for its key before the first attempt stored it takes number 2.
        let key = streams::dedup_key(group, UserId(1), "c1");
        let seq = memory.allocate(group).await.unwrap().seq;
        let body = memory.stream(group)[0].body.clone();
        let placed = memory.write(group, seq, &NewEntry { echo_of: None, body: &body }, Some(&key)).await.unwrap();
        assert_eq!((seq, placed), (2, Placed::Earlier(first.seq)));
        let later = send(&memory, &alice, &text("c2", "more", Target::Group(GroupId(9)))).await.unwrap();
        assert_eq!(later.seq, 3);
        assert!(memory.state().holes.contains(&(group, 2)), "the retry's number is sealed at once");
        assert_eq!(memory.unread(UserId(2), group).await.unwrap(), 2);
    }

    #[tokio::test]
    async fn a_one_to_one_retry_whose_number_was_sealed_takes_a_new_one() {
        let (memory, _) = alice_and_bob();
        let (alice, dm) = (actor(1, "web"), ConversationId::direct(UserId(1), UserId(2)));
        // The first attempt took number 1 and died before writing; a reader sealed it.
        let numbered = memory.number_direct(dm, UserId(1), "c1", None).await.unwrap();
        memory.state().holes.insert((dm, numbered.seq));
        let retry = send(&memory, &alice, &text("c1", "hello", Target::User(UserId(2)))).await.unwrap();
        assert_eq!((retry.seq, retry.new), (2, true));
        let again = send(&memory, &alice, &text("c1", "hello", Target::User(UserId(2)))).await.unwrap();
        assert_eq!((again.seq, again.new), (2, false), "the new number is the send's from now on");
        assert_eq!(memory.stream(dm).len(), 1);
        assert_eq!(memory.unread(UserId(2), dm).await.unwrap(), 1, "the hole is not unread");
    }

    #[tokio::test]
    async fn only_members_send_to_a_group_and_every_member_is_reached() {
        let (memory, phone) = alice_and_bob();
        memory.group(9, &[1, 2]);
        memory.user(3, None);
        let outsider = send(&memory, &actor(3, "web"), &text("c1", "hi", Target::Group(GroupId(9)))).await;
        assert_eq!(refused(outsider), Refusal::NotGroupMember);
        let sent = send(&memory, &actor(1, "web"), &text("c2", "hi all", Target::Group(GroupId(9)))).await.unwrap();
        assert_eq!(sent.id, "group#9:1");
        assert!(memory.frames_to(&phone)[0].starts_with("[[gm]]"));
    }

    #[tokio::test]
    async fn sends_past_the_rate_limit_are_refused() {
        let (memory, _) = alice_and_bob();
        let alice = actor(1, "web");
        for i in 0..SENDS_PER_USER.max {
            send(&memory, &alice, &text(&format!("c{i}"), "hi", Target::User(UserId(2)))).await.unwrap();
        }
        let over = send(&memory, &alice, &text("one-more", "hi", Target::User(UserId(2)))).await;
        assert!(matches!(refused(over), Refusal::TooManyRequests(_)));
        assert_eq!(memory.stream(ConversationId::direct(UserId(1), UserId(2))).len() as u64, SENDS_PER_USER.max);
    }

    #[tokio::test]
    async fn history_pages_from_the_newest_and_only_for_participants() {
        let (memory, _) = alice_and_bob();
        for i in 1..=5 {
            send(&memory, &actor(1, "web"), &text(&format!("c{i}"), &format!("m{i}"), Target::User(UserId(2))))
                .await
                .unwrap();
        }
        let dm = ConversationId::direct(UserId(1), UserId(2));
        let page = history(&memory, UserId(2), dm, 1, 2, None).await.unwrap();
        assert_eq!(page.iter().map(|e| e.seq).collect::<Vec<_>>(), [4, 5]);
        let before = history(&memory, UserId(2), dm, 1, 2, Some(4)).await.unwrap();
        assert_eq!(before.iter().map(|e| e.seq).collect::<Vec<_>>(), [2, 3]);
        assert!(matches!(refused(history(&memory, UserId(3), dm, 1, 2, None).await), Refusal::Forbidden(_)));
    }

    #[tokio::test]
    async fn marking_read_clears_the_unread_count_and_never_moves_back() {
        let (memory, _) = alice_and_bob();
        let dm = ConversationId::direct(UserId(1), UserId(2));
        for i in 1..=3 {
            send(&memory, &actor(1, "web"), &text(&format!("c{i}"), "hi", Target::User(UserId(2)))).await.unwrap();
        }
        assert_eq!(unread(&memory, UserId(2), dm).await.unwrap(), 3);
        crate::service::signals::read(&memory, &actor(2, "web"), Target::User(UserId(1)), u64::MAX).await.unwrap();
        memory.raise_read_marker(UserId(2), dm, 1).await.unwrap();
        assert_eq!(unread(&memory, UserId(2), dm).await.unwrap(), 0);
    }
}
