//! Conversation signals (issue 25): someone types, someone read. Who may signal whom is checked
//! here, once per use case: a group's members only (a non-member is refused), and in a
//! one-to-one conversation nobody the relation forbids messaging (a block either way: the
//! signal reaches nobody, and the signaller is not told, so a block stays unseen). Groups past
//! [`SIGNALLED_GROUP`] members do not signal.

use crate::delivery;
use crate::domain::ids::{Actor, ConversationId, Target, UserId};
use crate::domain::refusal::{Refusal, Result};
use crate::domain::relation;
use crate::store::Backend;
use serde_json::{json, Value};

/// The largest group whose members hear typing and reads live (larger ones: queryable only).
pub const SIGNALLED_GROUP: usize = 100;
/// One typing relay per user per conversation in this window; extra frames are dropped.
pub const TYPING_EVERY_MS: u64 = 3_000;

/// Who may hear `actor`'s signals in the conversation with `target`: the other user, or the
/// group's members. `None`: nobody (a block, a group too large). A non-member of the group is
/// refused.
async fn hearers(backend: &impl Backend, user: UserId, target: Target) -> Result<Option<Vec<UserId>>> {
    match target {
        Target::User(other) if other == user => Err(Refusal::invalid("that is your own conversation").into()),
        Target::User(other) => {
            let edge = backend.edge(user, other).await?;
            Ok(relation::may_message(&edge).is_ok().then(|| vec![other]))
        }
        Target::Group(group) => {
            let members = backend.members(group).await?;
            if !members.contains(&user) {
                return Err(Refusal::NotGroupMember.into());
            }
            Ok((members.len() <= SIGNALLED_GROUP).then_some(members))
        }
    }
}

/// A signal of `user`'s as a hearer sees it: the conversation (`with` the user, one to one, or
/// `g_id`) and `user`.
fn named(user: UserId, target: Target) -> Value {
    match target {
        Target::User(_) => json!({ "with": user, "user": user }),
        Target::Group(group) => json!({ "g_id": group, "user": user }),
    }
}

/// `TYPING`: relayed as `NOTIFY_TYPING` to the other participants' live sockets, at most once
/// per [`TYPING_EVERY_MS`] per user and conversation (one conditional write decides, whichever
/// instance serves the frame); extra frames are dropped silently.
pub async fn typing(backend: &impl Backend, actor: &Actor, target: Target, start: bool) -> Result<()> {
    let Some(hearers) = hearers(backend, actor.user_id, target).await? else { return Ok(()) };
    let conversation = ConversationId::of(actor.user_id, target);
    if !backend.turn(&format!("limit#typing#{}#{conversation}", actor.user_id), TYPING_EVERY_MS).await? {
        return Ok(());
    }
    let mut data = named(actor.user_id, target);
    data["state"] = json!(if start { "start" } else { "stop" });
    delivery::signals::post(backend, actor.user_id, conversation, &hearers, ("NOTIFY_TYPING", &data)).await;
    Ok(())
}

/// `READ` (and `CHAT_WITH`, up to the head): raises the reader's marker to `upto` (at most the
/// conversation's head; never lowered). When it moved, the reader's phones get their new badge
/// and the other participants `NOTIFY_READ`, unless the reader turned read receipts off.
/// Answers where the marker stands for this read.
pub async fn read(backend: &impl Backend, actor: &Actor, target: Target, upto: u64) -> Result<u64> {
    let hearers = hearers(backend, actor.user_id, target).await?;
    let conversation = ConversationId::of(actor.user_id, target);
    let upto = upto.min(backend.head(conversation).await?);
    if upto == 0 || !backend.raise_read_marker(actor.user_id, conversation, upto).await? {
        return Ok(upto);
    }
    let settings = async { backend.push_settings(actor.user_id).await };
    let (settings, ()) = futures::join!(settings, delivery::push::queue_badge(backend, actor, conversation, upto));
    if let (Some(hearers), true) = (hearers, settings?.read_receipts) {
        let mut data = named(actor.user_id, target);
        data["upto"] = json!(upto);
        delivery::signals::post(backend, actor.user_id, conversation, &hearers, ("NOTIFY_READ", &data)).await;
    }
    Ok(upto)
}

/// `user`'s reaction changed (`data`: the message id, emoji, on, count): `others`, the
/// conversation's other participants as the reaction's own check found them (so never across
/// a block), hear `NOTIFY_REACTION` on their live sockets, in groups up to [`SIGNALLED_GROUP`].
/// Best effort, as every signal; a client that missed it sees the counts in history.
pub async fn reacted(
    backend: &impl Backend,
    (user, others): (UserId, &[UserId]),
    conversation: ConversationId,
    data: Value,
) {
    let Some(target) = conversation.target_for(user) else { return };
    if others.len() >= SIGNALLED_GROUP {
        return;
    }
    let mut named = named(user, target);
    if let (Some(named), Value::Object(fields)) = (named.as_object_mut(), data) {
        named.extend(fields);
    }
    delivery::signals::post(backend, user, conversation, others, ("NOTIFY_REACTION", &named)).await;
}

/// One delivered receipt per user and conversation per second at most: acks come in bursts.
pub const DELIVERED_EVERY_MS: u64 = 1_000;

/// A device of `user` confirmed entries of `conversation` up to `upto` for the first time (any
/// device of theirs): the others in it hear `NOTIFY_DELIVERED`, at most once per
/// [`DELIVERED_EVERY_MS`] (the next receipt carries the later `upto`; `GET /message/receipts`
/// always has it). A user's own feed, a conversation across a block, and groups past
/// [`SIGNALLED_GROUP`] signal nothing. Best effort: a failure is logged, never the ack's.
pub async fn delivered(backend: &impl Backend, user: UserId, conversation: ConversationId, upto: u64) {
    if let Err(err) = tell_delivered(backend, user, conversation, upto).await {
        tracing::warn!(error = %err, "a delivered receipt was not sent");
    }
}

async fn tell_delivered(backend: &impl Backend, user: UserId, conversation: ConversationId, upto: u64) -> Result<()> {
    let target = match conversation {
        ConversationId::Feed(_) => return Ok(()),
        ConversationId::Direct(a, b) => Target::User(if a == user { b } else { a }),
        ConversationId::Group(group) => Target::Group(group),
    };
    let Some(hearers) = hearers(backend, user, target).await? else { return Ok(()) };
    if !backend.turn(&format!("limit#delivered#{user}#{conversation}"), DELIVERED_EVERY_MS).await? {
        return Ok(());
    }
    let mut data = named(user, target);
    data["upto"] = json!(upto);
    delivery::signals::post(backend, user, conversation, &hearers, ("NOTIFY_DELIVERED", &data)).await;
    Ok(())
}

/// `GET /message/receipts`: for each other participant, the `seq` they read (left out when
/// their `read_receipts` is off, and for everyone when the caller's is: as in WhatsApp, who
/// shows nothing sees nothing) and the highest `seq` any of their devices confirmed.
pub async fn receipts(backend: &impl Backend, caller: UserId, target: Target) -> Result<Vec<Value>> {
    let others: Vec<UserId> = match target {
        Target::User(other) if other == caller => return Err(Refusal::invalid("that is your own conversation").into()),
        // Across a block, nothing: as no signal crosses it.
        Target::User(other) if relation::may_message(&backend.edge(caller, other).await?).is_err() => vec![],
        Target::User(other) => vec![other],
        Target::Group(group) => {
            let members = backend.members(group).await?;
            if !members.contains(&caller) {
                return Err(Refusal::NotGroupMember.into());
            }
            members.into_iter().filter(|m| *m != caller).collect()
        }
    };
    if others.is_empty() {
        return Ok(vec![]);
    }
    let conversation = ConversationId::of(caller, target);
    let mut everyone = others.clone();
    everyone.push(caller);
    let (positions, settings) = futures::join!(backend.receipts(conversation, &others), backend.settings_of(&everyone));
    let (positions, settings) = (positions?, settings?);
    let shows = |i: usize| settings[i].read_receipts && settings[others.len()].read_receipts;
    let listed = others.iter().zip(positions).enumerate().map(|(i, (user, (read, delivered)))| {
        let mut receipt = json!({ "user": user, "delivered": delivered });
        if shows(i) {
            receipt["read"] = json!(read);
        }
        receipt
    });
    Ok(listed.collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::format::Format;
    use crate::domain::message::Outgoing;
    use crate::store::memory::{actor, refused, Memory};
    use crate::store::ports::PushStore;

    /// Ann (1) and Bob (2), friends; Bob's JSON socket.
    fn ann_and_bob() -> (Memory, String) {
        let memory = Memory::default();
        memory.user(1, None);
        memory.user(2, None);
        memory.befriend(1, 2);
        let socket = memory.connect(2, "web", Format::Json);
        (memory, socket)
    }

    /// The events posted to `cid`, in order.
    fn events(memory: &Memory, cid: &str) -> Vec<Value> {
        let state = memory.state();
        let frames = state.posts.iter().filter(|(c, _)| c == cid);
        frames.map(|(_, f)| serde_json::from_slice::<Value>(f).unwrap()).collect()
    }

    #[tokio::test]
    async fn typing_is_relayed_once_per_window_and_never_to_a_non_member() {
        let (memory, bob) = ann_and_bob();
        for _ in 0..5 {
            typing(&memory, &actor(1, "web"), Target::User(UserId(2)), true).await.unwrap();
        }
        let relayed = events(&memory, &bob);
        assert_eq!(relayed.len(), 1, "{relayed:?}");
        assert_eq!(relayed[0]["data"], json!({ "with": 1, "user": 1, "state": "start" }));
        memory.group(9, &[2, 3]);
        let outsider = typing(&memory, &actor(1, "web"), Target::Group(crate::domain::ids::GroupId(9)), true).await;
        assert_eq!(refused(outsider), Refusal::NotGroupMember);
    }

    #[tokio::test]
    async fn a_read_never_moves_back_and_receipts_off_hides_it_both_ways() {
        let (memory, bob) = ann_and_bob();
        let ann = memory.connect(1, "web", Format::Json);
        for i in 0..3 {
            let out = Outgoing::new(format!("c{i}"), "text", "hi".into(), Target::User(UserId(2))).unwrap();
            crate::service::messages::send(&memory, &actor(1, "web"), &out).await.unwrap();
        }
        assert_eq!(read(&memory, &actor(2, "web"), Target::User(UserId(1)), 9).await.unwrap(), 3, "at most the head");
        let told: Vec<Value> = events(&memory, &ann).into_iter().filter(|e| e["event"] == "NOTIFY_READ").collect();
        assert_eq!(told.len(), 1);
        assert_eq!(told[0]["data"], json!({ "with": 2, "user": 2, "upto": 3 }));
        read(&memory, &actor(2, "web"), Target::User(UserId(1)), 1).await.unwrap();
        let shown = receipts(&memory, UserId(1), Target::User(UserId(2))).await.unwrap();
        assert_eq!(shown, [json!({ "user": 2, "delivered": 0, "read": 3 })], "the marker stayed at 3");
        memory.set_flag(UserId(2), crate::store::push::Flag::ReadReceipts, false).await.unwrap();
        assert!(receipts(&memory, UserId(1), Target::User(UserId(2))).await.unwrap()[0].get("read").is_none());
        assert!(receipts(&memory, UserId(2), Target::User(UserId(1))).await.unwrap()[0].get("read").is_none());
        let _ = bob;
    }
}
