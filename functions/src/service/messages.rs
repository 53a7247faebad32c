//! Conversations: one-to-one and group chat. A message is stored once, in its conversation, at
//! the conversation's next sequence number (head and message in one transaction, with the
//! sender's message id as an idempotency key); nobody gets a copy. Unread counts are derived:
//! the conversation's head minus the member's read marker. Delivery is pushes only.

use crate::delivery;
use crate::domain::entry::{Body, Entry, Message};
use crate::domain::ids::{Actor, ConversationId, Target};
use crate::domain::limits::SENDS_PER_USER;
use crate::domain::message::{is_audio_key, MessageKind, Outgoing};
use crate::domain::notice::Change;
use crate::domain::now_secs;
use crate::domain::refusal::{Refusal, Result};
use crate::domain::relation::{self, Friendship};
use crate::domain::user::Profile;
use crate::service::{attachments, limits};
use crate::store::relations::{self, List};
use crate::store::streams::{self, NewEntry};
use crate::store::{blobs, groups, users};
use im_adapters::Clients;
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
pub async fn check_allowed(clients: &Clients, from: u64, target: Target) -> Result<Vec<u64>> {
    match target {
        Target::User(other) => {
            if other == from {
                return Err(Refusal::MessageSelf.into());
            }
            relation::may_message(&relations::pair(clients, from, other).await?.ab)?;
            Ok(vec![other])
        }
        Target::Group(id) => {
            let members = groups::members(clients, id).await?;
            if !members.contains(&from) {
                return Err(Refusal::NotGroupMember.into());
            }
            Ok(members)
        }
    }
}

/// Sends a message: checked, stored durably (once, idempotently, the sender's read marker in
/// the same transaction), then pushed to every device of the recipients and the sender's other
/// devices. The sender is acked only after the store. A retry with the same client id stores
/// nothing new but pushes the stored message again: the first attempt may have died between
/// its commit and its pushes, and devices drop what they already hold by `seq`.
pub async fn send(clients: &Clients, actor: &Actor, out: &Outgoing) -> Result<Sent> {
    let conversation = ConversationId::of(actor.user_id, out.target);
    let dedup = streams::dedup_key(conversation, actor.user_id, &out.client_id);
    let subject = actor.user_id.to_string();
    // Four independent round trips at once, none with an effect but the rate counter; their
    // answers are judged in the order of the rules (rate limit first).
    let (admitted, audience, sender, sent_before) = futures::join!(
        limits::check(clients, &SENDS_PER_USER, &subject),
        check_allowed(clients, actor.user_id, out.target),
        users::profile(clients, actor.user_id),
        streams::sent_before(clients, &dedup),
    );
    admitted?;
    let audience = audience?;
    let sender = sender?;
    let (entry, new) = match sent_before? {
        Some(seq) => (stored(clients, conversation, seq).await?, false),
        None => store(clients, actor, out, conversation, sender.as_ref(), &dedup).await?,
    };
    let seq = entry.seq;
    let unread = async {
        match out.target {
            Target::User(to) => {
                let key = sender.map_or_else(|| actor.user_id.to_string(), |p| p.contact_key());
                notify_unread(clients, &key, to, conversation).await
            }
            Target::Group(_) => Ok(()),
        }
    };
    let ((), unread) = futures::join!(delivery::push_to_members(clients, actor, &audience, &entry), unread);
    unread?;
    Ok(Sent { id: format!("{conversation}:{seq}"), seq, new })
}

/// The entry at `seq` of a conversation.
async fn stored(clients: &Clients, conversation: ConversationId, seq: u64) -> Result<Entry> {
    let (entries, _) = streams::read_range(clients, conversation, seq.saturating_sub(1), seq, 1).await?;
    Ok(entries.into_iter().next().ok_or_else(|| Refusal::NotFound("message not found".into()))?)
}

/// Stores a new message (its audio attached first); `false` when a concurrent retry won.
async fn store(
    clients: &Clients,
    actor: &Actor,
    out: &Outgoing,
    conversation: ConversationId,
    sender: Option<&Profile>,
    dedup: &str,
) -> Result<(Entry, bool)> {
    let content = if out.kind == MessageKind::Audio {
        attachments::attach(clients, actor.user_id, &out.content, conversation).await?;
        // The message names the object by a stable server path (simple_im's
        // `file/audio/<name>.amr`) that signs a fresh URL for each participant who fetches it.
        audio_path(&out.content)
    } else {
        out.content.clone()
    };
    let body = Body::Message(Message {
        client_id: out.client_id.clone(),
        t: out.kind,
        c: content,
        from: actor.user_id,
        // Seed 003 names the sender by email.
        from_email: sender.and_then(|p| p.email.clone()),
        target: out.target,
        ts: now_secs(),
        d: actor.device.as_str().to_string(),
        deleted: false,
    });
    let new = NewEntry { echo_of: None, body: &body, reader: Some(actor.user_id) };
    match streams::append(clients, conversation, new, Some(dedup)).await? {
        (seq, true) => Ok((Entry { conversation, seq, echo_of: None, body }, true)),
        (seq, false) => Ok((stored(clients, conversation, seq).await?, false)),
    }
}

/// The server path of an audio object (`audio/<name>.amr` → `file/audio/<name>.amr`).
fn audio_path(object: &str) -> String {
    format!("file/{object}")
}

/// A fresh signed URL for the audio at a message's path, for a participant of the
/// conversation it was sent in; anyone else is told it does not exist.
pub async fn audio_url(clients: &Clients, user: u64, name: &str) -> Result<String> {
    let object = format!("audio/{name}");
    let not_found = || Refusal::NotFound("no such audio".into());
    if !is_audio_key(&object) {
        return Err(not_found().into());
    }
    let conversation = streams::audio_owner(clients, &object).await?.ok_or_else(not_found)?;
    if !is_member(clients, user, conversation).await? {
        return Err(not_found().into());
    }
    Ok(blobs::download_url(clients, &object).await?)
}

/// Seed 003's `NOTIFY_UPDATE_UNREAD` to the recipient's JSON connections: their unread count
/// with the sender, keyed as `LIST_CONTACTS_UNREAD` keys it.
async fn notify_unread(clients: &Clients, key: &str, to: u64, conversation: ConversationId) -> Result<()> {
    let count = unread(clients, to, conversation).await?;
    let data = json!({ "unread_msg_count": { key: count } });
    delivery::push_event_to_user(clients, to, "NOTIFY_UPDATE_UNREAD", data).await;
    Ok(())
}

/// Marks a conversation read up to its head (seed 003's `CHAT_WITH`).
pub async fn mark_read(clients: &Clients, user: u64, conversation: ConversationId) -> Result<()> {
    let head = streams::head(clients, conversation).await?;
    Ok(streams::raise_read_marker(clients, conversation, user, head).await?)
}

/// Unread messages of `user` in a conversation: head minus read marker, exact under races.
pub async fn unread(clients: &Clients, user: u64, conversation: ConversationId) -> Result<u64> {
    Ok(streams::unread(clients, conversation, user).await?)
}

/// Whether `user` takes part in a conversation (its id names them, or they are a member).
pub async fn is_member(clients: &Clients, user: u64, conversation: ConversationId) -> Result<bool> {
    match conversation {
        ConversationId::Group(group) => Ok(groups::members(clients, group).await?.contains(&user)),
        other => Ok(other.names(user)),
    }
}

/// The conversations a user takes part in: one per contact or pending request, one per group.
pub async fn conversations_of(clients: &Clients, user: u64) -> Result<Vec<ConversationId>> {
    Ok(conversations_and_requests(clients, user).await?.0)
}

/// The user's conversations, and how many friend requests wait for them (seed 004's count),
/// from the one Query of their correspondents.
pub async fn conversations_and_requests(clients: &Clients, user: u64) -> Result<(Vec<ConversationId>, usize)> {
    let correspondents = relations::list(clients, user, List::Correspondents).await?;
    let requests = correspondents.iter().filter(|c| c.edge.friendship == Friendship::RequestedBy).count();
    let mut conversations: Vec<ConversationId> =
        correspondents.iter().map(|c| ConversationId::direct(user, c.other)).collect();
    conversations.extend(groups::groups_of(clients, user).await?.into_iter().map(ConversationId::Group));
    Ok((conversations, requests))
}

/// One page of history, oldest first: `page` 1 is the newest `pagesize` messages (seed 003);
/// sequence numbers are dense, so a page is a key range, not an offset scan. `before` (a
/// message's sequence) pages by cursor instead. Only participants may read it.
pub async fn history(
    clients: &Clients,
    user: u64,
    conversation: ConversationId,
    page: u64,
    pagesize: u64,
    before: Option<u64>,
) -> Result<Vec<Entry>> {
    if !is_member(clients, user, conversation).await? {
        return Err(Refusal::Forbidden("not your conversation".into()).into());
    }
    let head = streams::head(clients, conversation).await?;
    let until = match before {
        Some(seq) => seq.saturating_sub(1).min(head),
        // `page` is the client's: a huge one is simply past the start, never an overflow.
        None => head.saturating_sub((page.max(1) - 1).saturating_mul(pagesize)),
    };
    let after = until.saturating_sub(pagesize);
    Ok(streams::read_range(clients, conversation, after, until, pagesize as usize).await?.0)
}

/// Deletes a message for both sides (seed 003's `CHAT_DELETE`): only its sender may; the
/// message stays in place as a tombstone (`deleted = true`, no content), so sequence numbers
/// and unread counts stay exact, and the other side is told.
pub async fn delete(clients: &Clients, actor: &Actor, conversation: ConversationId, seq: u64) -> Result<()> {
    if !is_member(clients, actor.user_id, conversation).await? {
        return Err(Refusal::NotFound("message not found".into()).into());
    }
    let (entries, _) = streams::read_range(clients, conversation, seq.saturating_sub(1), seq, 1).await?;
    let mut entry = entries.into_iter().next().ok_or_else(|| Refusal::NotFound("message not found".into()))?;
    let Body::Message(message) = &mut entry.body else {
        return Err(Refusal::NotFound("message not found".into()).into());
    };
    if message.from != actor.user_id {
        return Err(Refusal::Forbidden("only the sender can delete a message".into()).into());
    }
    let audio = message.attachment().map(String::from);
    message.tombstone();
    streams::replace(clients, &entry).await?;
    if let Some(object) = audio.filter(|o| is_audio_key(o)) {
        attachments::discard(clients, &object).await?;
    }
    let participants: Vec<u64> = match conversation {
        ConversationId::Group(group) => groups::members(clients, group).await?,
        ConversationId::Direct(a, b) => vec![a, b],
        ConversationId::Feed(user) => vec![user],
    };
    let others: Vec<u64> = participants.into_iter().filter(|u| *u != actor.user_id).collect();
    // A delete notice is addressed to nobody in particular: it has no `to`.
    let change = Change::DeleteMessage { msg_id: format!("{conversation}:{seq}") };
    Ok(delivery::tell_users(clients, actor, &others, change, None).await?)
}
