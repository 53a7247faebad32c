//! A message's life after it is sent (issue 26): its sender edits it or deletes it for
//! everyone, anyone in the conversation deletes it for themselves or reacts to it, a reply
//! quotes it. Each change rewrites the message in place, on condition of the revision it read
//! (`store::streams::replace`), so concurrent changes never overwrite each other. Who may do
//! what is checked once per use case, here: participants only (anyone else is told the message
//! does not exist); in a one-to-one conversation, not across a block (deleting for oneself
//! aside: it touches only the caller's own view).

use crate::delivery;
use crate::domain::entry::{Body, Entry, Message};
use crate::domain::ids::{Actor, ConversationId, EntryId, UserId};
use crate::domain::limits::SENDS_PER_USER;
use crate::domain::message::MessageKind;
use crate::domain::notice::Change;
use crate::domain::now_secs;
use crate::domain::refusal::{Error, Refusal, Result};
use crate::domain::relation;
use crate::domain::rich::{self, Emoji};
use crate::service::access::is_member;
use crate::service::{limits, media, signals};
use crate::store::{Backend, StoreError};
use serde_json::json;

/// How often a change is tried again after another change of the same message came first.
const ATTEMPTS: usize = 5;

fn not_found() -> Error {
    Refusal::NotFound("message not found".into()).into()
}

/// The conversation's participants other than the actor, once the actor may change a message
/// there: a participant (else "not found"), and one to one, nobody they block or who blocks them.
async fn others(
    backend: &impl Backend,
    actor: &Actor,
    conversation: ConversationId,
    reach: bool,
) -> Result<Vec<UserId>> {
    if !is_member(backend, actor.user_id, conversation).await? {
        return Err(not_found());
    }
    let participants: Vec<UserId> = match conversation {
        ConversationId::Group(group) => backend.members(group).await?,
        ConversationId::Direct(a, b) => {
            let other = if a == actor.user_id { b } else { a };
            if reach {
                relation::may_reach(&backend.edge(actor.user_id, other).await?)?;
            }
            vec![a, b]
        }
        ConversationId::Feed(_) => return Err(not_found()),
    };
    Ok(participants.into_iter().filter(|u| *u != actor.user_id).collect())
}

/// The message at `seq` ("not found" when there is none).
pub async fn message_at(backend: &impl Backend, conversation: ConversationId, seq: u64) -> Result<Entry> {
    let (entries, _) = backend.read_range(conversation, seq.saturating_sub(1), seq, 1).await?;
    entries.into_iter().next().filter(|e| e.message().is_some()).ok_or_else(not_found)
}

/// Applies `change` to the message at `seq` and writes it if it changed, reading again when
/// another change came first. `change` answers whether it changed anything; the entry is
/// answered as stored afterwards.
async fn rewrite(
    backend: &impl Backend,
    conversation: ConversationId,
    seq: u64,
    change: impl Fn(&mut Message) -> Result<bool>,
) -> Result<(Entry, bool)> {
    for _ in 0..ATTEMPTS {
        let mut entry = message_at(backend, conversation, seq).await?;
        let Body::Message(message) = &mut entry.body else { return Err(not_found()) };
        let seen = message.details.rev;
        if !change(message)? {
            return Ok((entry, false));
        }
        message.details.rev = seen + 1;
        if backend.replace(&entry, seen).await? {
            return Ok((entry, true));
        }
    }
    Err(StoreError::Contended.into())
}

/// `CHAT_EDIT` / `PATCH /message`: the sender replaces a text message's content within
/// `EDIT_WINDOW_SECS` of sending it, under the send rate limit and a send's length rule; the
/// others are told by an `edit_message` notice (their feeds: a device offline meanwhile learns
/// it in sync). Answers the message as edited.
pub async fn edit(
    backend: &impl Backend,
    actor: &Actor,
    (conversation, seq): (ConversationId, u64),
    content: &str,
) -> Result<Entry> {
    limits::check(backend, &SENDS_PER_USER, &actor.user_id.to_string()).await?;
    rich::check_content(content)?;
    let others = others(backend, actor, conversation, true).await?;
    let (window, now) = (backend.edit_window_secs(), now_secs());
    let (entry, _) = rewrite(backend, conversation, seq, |message| {
        if message.from != actor.user_id {
            return Err(Refusal::Forbidden("only the sender can edit a message".into()).into());
        }
        if message.deleted {
            return Err(Refusal::Conflict("message deleted".into()).into());
        }
        if message.t != MessageKind::Text {
            return Err(Refusal::invalid("only a text message can be edited").into());
        }
        if !rich::within_window(message.ts, now, window) {
            return Err(Refusal::Forbidden(format!("a message can be edited for {window} s after it is sent")).into());
        }
        message.c = content.to_string();
        message.details.edited_at = Some(now);
        Ok(true)
    })
    .await?;
    requote(backend, &entry).await;
    let change = Change::EditMessage { msg_id: entry.id().to_string(), c: content.to_string(), edited_at: now };
    delivery::tell_users(backend, actor, &others, change, None).await?;
    Ok(entry.seen_by(actor.user_id))
}

/// Deletes a message for everyone (seed 003's `CHAT_DELETE`): only its sender may, once,
/// within the send limit, and not across a block (each delete tells every participant); the
/// message stays in place as a tombstone (`deleted = true`, no content), so sequence numbers
/// and unread counts stay exact, and replies quoting it quote nothing. Only an object the
/// message really attached (claimed for this very conversation) is deleted with it.
pub async fn delete(backend: &impl Backend, actor: &Actor, conversation: ConversationId, seq: u64) -> Result<()> {
    limits::check(backend, &SENDS_PER_USER, &actor.user_id.to_string()).await?;
    let others = others(backend, actor, conversation, true).await?;
    let attached = std::sync::Mutex::new(None);
    let (entry, _) = rewrite(backend, conversation, seq, |message| {
        if message.from != actor.user_id {
            return Err(Refusal::Forbidden("only the sender can delete a message".into()).into());
        }
        if message.deleted {
            return Err(Refusal::Conflict("message already deleted".into()).into());
        }
        *attached.lock().unwrap_or_else(|e| e.into_inner()) = media::attached_objects(message);
        message.tombstone();
        Ok(true)
    })
    .await?;
    let attached = attached.into_inner().unwrap_or_else(|e| e.into_inner()).unwrap_or_default();
    media::discard_attached(backend, (actor.user_id, conversation), &attached).await?;
    requote(backend, &entry).await;
    // A delete notice is addressed to nobody in particular: it has no `to`.
    let change = Change::DeleteMessage { msg_id: entry.id().to_string() };
    Ok(delivery::tell_users(backend, actor, &others, change, None).await?)
}

/// `DELETE /message?for=me` / `CHAT_DELETE {"for": "me"}`: hides a message from the caller's
/// own history and sync (shown to them as `hidden`, without content), anyone's message, once.
/// The caller's other devices are told (`hide_message`); nobody else is.
pub async fn hide(backend: &impl Backend, actor: &Actor, conversation: ConversationId, seq: u64) -> Result<()> {
    others(backend, actor, conversation, false).await?;
    let (entry, changed) =
        rewrite(backend, conversation, seq, |message| Ok(message.details.hide_for(actor.user_id))).await?;
    if !changed {
        return Err(Refusal::Conflict("message already deleted for you".into()).into());
    }
    let change = Change::HideMessage { msg_id: entry.id().to_string() };
    Ok(delivery::tell_users(backend, actor, &[], change, None).await?)
}

/// `CHAT_REACT` / `POST /message/reaction`: the caller's reaction `emoji` on a message, added
/// (`on`) or taken back; one per user and emoji, at most 20 distinct emoji a message, counted
/// in the send rate limit. The others hear `NOTIFY_REACTION` live. Answers the message as the
/// caller now sees it.
pub async fn react(
    backend: &impl Backend,
    actor: &Actor,
    (conversation, seq): (ConversationId, u64),
    emoji: &str,
    on: bool,
) -> Result<Entry> {
    let emoji = Emoji::parse(emoji)?;
    limits::check(backend, &SENDS_PER_USER, &actor.user_id.to_string()).await?;
    let others = others(backend, actor, conversation, true).await?;
    let (entry, changed) = rewrite(backend, conversation, seq, |message| {
        if message.deleted {
            return Err(Refusal::Conflict("message deleted".into()).into());
        }
        Ok(message.details.react(actor.user_id, &emoji, on)?)
    })
    .await?;
    let entry = entry.seen_by(actor.user_id);
    if changed {
        let count = entry.message().and_then(|m| m.details.reactions.get(emoji.as_str())).map_or(0, |t| t.count);
        let data = json!({ "id": entry.id().to_string(), "emoji": emoji.as_str(), "on": on, "count": count });
        signals::reacted(backend, (actor.user_id, &others), conversation, data).await;
    }
    Ok(entry)
}

/// What a reply in `conversation` quotes of the message `reply_to` names: its id and snippet.
/// Refused when it names no message of this very conversation.
pub async fn quote(backend: &impl Backend, conversation: ConversationId, reply_to: &str) -> Result<(String, String)> {
    let refused = || Error::from(Refusal::invalid("reply_to must be a message of this conversation"));
    let (quoted, seq) = EntryId::message(reply_to).ok_or_else(refused)?;
    if quoted != conversation {
        return Err(refused());
    }
    let entry = message_at(backend, conversation, seq).await.map_err(|_| refused())?;
    let message = entry.message().ok_or_else(refused)?;
    Ok((reply_to.to_string(), rich::snippet(message.t.as_str(), &message.c, message.deleted)))
}

/// Remembers on the quoted message that the reply at `seq` quotes it, so an edit or a delete
/// of it can quote it anew. Best effort: a reply whose note was lost keeps the quote it had.
pub async fn note_reply(backend: &impl Backend, conversation: ConversationId, reply_to: &str, seq: u64) {
    let Some((_, quoted)) = EntryId::message(reply_to) else { return };
    let noted = rewrite(backend, conversation, quoted, |message| Ok(message.details.note_reply(seq))).await;
    if let Err(err) = noted {
        tracing::warn!(error = %err, "a reply was not noted on the message it quotes");
    }
}

/// Quotes an edited or deleted message anew in the replies noted on it. Best effort.
async fn requote(backend: &impl Backend, quoted: &Entry) {
    let Some(message) = quoted.message() else { return };
    let snippet = rich::snippet(message.t.as_str(), &message.c, message.deleted);
    for &reply in &message.details.replies {
        let requoted = rewrite(backend, quoted.conversation, reply, |reply| {
            let stale = reply.details.reply_snippet.as_deref() != Some(snippet.as_str());
            if stale {
                reply.details.reply_snippet = Some(snippet.clone());
            }
            Ok(stale)
        })
        .await;
        if let Err(err) = requoted {
            tracing::warn!(error = %err, "a reply's quote was not renewed");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::ids::Target;
    use crate::domain::message::Outgoing;
    use crate::service::messages::send;
    use crate::store::memory::{actor, refused, Memory};

    fn text(id: &str, c: &str, target: Target) -> Outgoing {
        Outgoing::new(id.into(), "text", c.into(), target).unwrap()
    }

    /// Alice (1) and Bob (2), friends.
    fn alice_and_bob() -> (Memory, ()) {
        let memory = Memory::default();
        memory.user(1, Some("alice@example.com"));
        memory.user(2, None);
        memory.befriend(1, 2);
        (memory, ())
    }

    #[tokio::test]
    async fn only_the_sender_deletes_a_message_and_its_place_stays_as_a_tombstone() {
        let (memory, _) = alice_and_bob();
        let dm = ConversationId::direct(UserId(1), UserId(2));
        send(&memory, &actor(1, "web"), &text("c1", "oops", Target::User(UserId(2)))).await.unwrap();
        assert!(matches!(refused(delete(&memory, &actor(2, "ipad"), dm, 1).await), Refusal::Forbidden(_)));
        assert!(matches!(refused(delete(&memory, &actor(3, "ipad"), dm, 1).await), Refusal::NotFound(_)));
        delete(&memory, &actor(1, "web"), dm, 1).await.unwrap();
        let tombstone = memory.stream(dm)[0].message().unwrap().clone();
        assert!(tombstone.deleted && tombstone.c.is_empty());
        let told = memory.stream(ConversationId::Feed(UserId(2)));
        assert!(
            matches!(&told[0].body, Body::Notice(n) if n.what == Change::DeleteMessage { msg_id: "dm#1#2:1".into() })
        );
    }

    #[tokio::test]
    async fn deleting_a_text_that_names_someone_elses_voice_note_deletes_no_audio() {
        let (memory, _) = alice_and_bob();
        let object = format!("audio/{}.amr", "a".repeat(32));
        memory.state().blobs.insert(object.clone(), b"#!AMR\n".to_vec());
        memory.state().audio.insert(object.clone(), ConversationId::direct(UserId(7), UserId(8)));
        let bait = text("c1", &format!("file/{object}"), Target::User(UserId(2)));
        send(&memory, &actor(1, "web"), &bait).await.unwrap();
        delete(&memory, &actor(1, "web"), ConversationId::direct(UserId(1), UserId(2)), 1).await.unwrap();
        assert!(memory.state().blobs.contains_key(&object), "the voice note of 7 and 8 is still there");
        assert_eq!(memory.state().audio.get(&object), Some(&ConversationId::direct(UserId(7), UserId(8))));
    }

    #[tokio::test]
    async fn a_message_is_deleted_once_and_not_across_a_block() {
        let (memory, _) = alice_and_bob();
        let dm = ConversationId::direct(UserId(1), UserId(2));
        send(&memory, &actor(1, "web"), &text("c1", "hi", Target::User(UserId(2)))).await.unwrap();
        send(&memory, &actor(1, "web"), &text("c2", "hi again", Target::User(UserId(2)))).await.unwrap();
        delete(&memory, &actor(1, "web"), dm, 1).await.unwrap();
        assert!(matches!(refused(delete(&memory, &actor(1, "web"), dm, 1).await), Refusal::Conflict(_)));
        assert_eq!(memory.told(2), ["delete_message"], "one notice");
        memory.state().edges.get_mut(&(UserId(2), UserId(1))).unwrap().blocking = true;
        memory.state().edges.get_mut(&(UserId(1), UserId(2))).unwrap().blocked_by = true;
        assert_eq!(refused(delete(&memory, &actor(1, "web"), dm, 2).await), Refusal::MessageBlocked);
        assert_eq!(memory.told(2), ["delete_message"]);
    }

    #[tokio::test]
    async fn the_sender_edits_a_text_within_the_window_and_the_other_is_told() {
        let (memory, _) = alice_and_bob();
        let dm = ConversationId::direct(UserId(1), UserId(2));
        send(&memory, &actor(1, "web"), &text("c1", "helo", Target::User(UserId(2)))).await.unwrap();
        assert!(matches!(refused(edit(&memory, &actor(2, "ipad"), (dm, 1), "x").await), Refusal::Forbidden(_)));
        let edited = edit(&memory, &actor(1, "web"), (dm, 1), "hello").await.unwrap();
        let message = edited.message().unwrap();
        assert_eq!((message.c.as_str(), message.details.rev), ("hello", 1));
        assert!(message.details.edited_at.is_some());
        assert_eq!(memory.told(2), ["edit_message"]);
        // Past the window: the message was sent three days ago.
        if let Body::Message(m) = &mut memory.state().entries.get_mut(&(dm, 1)).unwrap().body {
            m.ts -= 3 * 24 * 3600;
        }
        assert!(matches!(refused(edit(&memory, &actor(1, "web"), (dm, 1), "late").await), Refusal::Forbidden(_)));
        assert!(edit(&memory, &actor(1, "web"), (dm, 1), "").await.is_err(), "the length rule of a send");
    }

    #[tokio::test]
    async fn reactions_count_per_user_and_hiding_is_the_callers_own() {
        let (memory, _) = alice_and_bob();
        let dm = ConversationId::direct(UserId(1), UserId(2));
        send(&memory, &actor(1, "web"), &text("c1", "hi", Target::User(UserId(2)))).await.unwrap();
        react(&memory, &actor(1, "web"), (dm, 1), "👍", true).await.unwrap();
        let seen = react(&memory, &actor(2, "ipad"), (dm, 1), "👍", true).await.unwrap();
        let tally = &seen.message().unwrap().details.reactions["👍"];
        assert_eq!((tally.count, tally.mine), (2, true));
        assert!(refused(react(&memory, &actor(2, "ipad"), (dm, 1), "yes", true).await).status() == 400);
        memory.user(3, None);
        assert!(matches!(refused(react(&memory, &actor(3, "web"), (dm, 1), "👍", true).await), Refusal::NotFound(_)));
        hide(&memory, &actor(2, "ipad"), dm, 1).await.unwrap();
        assert!(matches!(refused(hide(&memory, &actor(2, "ipad"), dm, 1).await), Refusal::Conflict(_)));
        let bobs = crate::service::messages::history(&memory, UserId(2), dm, 1, 20, None).await.unwrap();
        let alices = crate::service::messages::history(&memory, UserId(1), dm, 1, 20, None).await.unwrap();
        assert!(bobs.is_empty() && alices.len() == 1, "hidden from bob only");
    }

    #[tokio::test]
    async fn a_reply_quotes_a_message_of_its_own_conversation_and_follows_its_delete() {
        let (memory, _) = alice_and_bob();
        memory.user(3, None);
        memory.befriend(1, 3);
        let dm = ConversationId::direct(UserId(1), UserId(2));
        send(&memory, &actor(1, "web"), &text("c1", "lunch?", Target::User(UserId(2)))).await.unwrap();
        let elsewhere = text("c2", "hi", Target::User(UserId(3))).replying_to(Some("dm#1#2:1".into())).unwrap();
        assert!(send(&memory, &actor(1, "web"), &elsewhere).await.is_err(), "another conversation's message");
        let reply = text("c3", "yes", Target::User(UserId(1))).replying_to(Some("dm#1#2:1".into())).unwrap();
        send(&memory, &actor(2, "ipad"), &reply).await.unwrap();
        let quoted = |memory: &Memory| memory.stream(dm)[1].message().unwrap().details.reply_snippet.clone();
        assert_eq!(quoted(&memory).as_deref(), Some("lunch?"));
        delete(&memory, &actor(1, "web"), dm, 1).await.unwrap();
        assert_eq!(quoted(&memory).as_deref(), Some(""), "the reply now quotes a tombstone");
    }
}
