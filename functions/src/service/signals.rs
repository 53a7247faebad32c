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
async fn hearers(backend: &impl Backend, actor: &Actor, target: Target) -> Result<Option<Vec<UserId>>> {
    match target {
        Target::User(other) if other == actor.user_id => Err(Refusal::invalid("that is your own conversation").into()),
        Target::User(other) => {
            let edge = backend.edge(actor.user_id, other).await?;
            Ok(relation::may_message(&edge).is_ok().then(|| vec![other]))
        }
        Target::Group(group) => {
            let members = backend.members(group).await?;
            if !members.contains(&actor.user_id) {
                return Err(Refusal::NotGroupMember.into());
            }
            Ok((members.len() <= SIGNALLED_GROUP).then_some(members))
        }
    }
}

/// How a signal names its conversation to a hearer: `with` the actor (one to one), or `g_id`.
fn named(actor: &Actor, target: Target) -> Value {
    match target {
        Target::User(_) => json!({ "with": actor.user_id }),
        Target::Group(group) => json!({ "g_id": group }),
    }
}

/// `TYPING`: relayed as `NOTIFY_TYPING` to the other participants' live sockets, at most once
/// per [`TYPING_EVERY_MS`] per user and conversation (one conditional write decides, whichever
/// instance serves the frame); extra frames are dropped silently.
pub async fn typing(backend: &impl Backend, actor: &Actor, target: Target, start: bool) -> Result<()> {
    let Some(hearers) = hearers(backend, actor, target).await? else { return Ok(()) };
    let conversation = ConversationId::of(actor.user_id, target);
    if !backend.turn(&format!("limit#typing#{}#{conversation}", actor.user_id), TYPING_EVERY_MS).await? {
        return Ok(());
    }
    let mut data = named(actor, target);
    data["user"] = json!(actor.user_id);
    data["state"] = json!(if start { "start" } else { "stop" });
    delivery::signals::post(backend, actor, conversation, &hearers, ("NOTIFY_TYPING", &data)).await;
    Ok(())
}

/// `READ` (and `CHAT_WITH`, up to the head): raises the reader's marker to `upto` (at most the
/// conversation's head; never lowered). When it moved, the reader's phones get their new badge
/// and the other participants `NOTIFY_READ`, unless the reader turned read receipts off.
/// Answers where the marker stands for this read.
pub async fn read(backend: &impl Backend, actor: &Actor, target: Target, upto: u64) -> Result<u64> {
    let hearers = hearers(backend, actor, target).await?;
    let conversation = ConversationId::of(actor.user_id, target);
    let upto = upto.min(backend.head(conversation).await?);
    if upto == 0 || !backend.raise_read_marker(actor.user_id, conversation, upto).await? {
        return Ok(upto);
    }
    let settings = async { backend.push_settings(actor.user_id).await };
    let (settings, ()) = futures::join!(settings, delivery::push::queue_badge(backend, actor, conversation, upto));
    if let (Some(hearers), true) = (hearers, settings?.read_receipts) {
        let mut data = named(actor, target);
        data["user"] = json!(actor.user_id);
        data["upto"] = json!(upto);
        delivery::signals::post(backend, actor, conversation, &hearers, ("NOTIFY_READ", &data)).await;
    }
    Ok(upto)
}
