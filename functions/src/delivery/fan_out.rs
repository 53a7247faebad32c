//! Audiences beyond one invocation. A function that stored an entry for more than
//! `DIRECT_AUDIENCE` users does not post it: it queues batches of at most
//! [`USERS_PER_HAND_OFF`] users to the fan-out worker (asynchronous invocations: Lambda keeps
//! the event and retries a failed run) and answers its caller. The worker splits a batch
//! larger than [`USERS_PER_DELIVERY`] into invocations of itself, and posts a smaller one.
//!
//! A message's writes do not depend on its audience: nothing is confirmed for the acting device
//! of a message, and a notice's confirmation stays with the function that stored it; the
//! worker only reads, posts and queues push jobs.
//!
//! Each user is in exactly one posting invocation, so each connection gets one post and each
//! registered device one push job (queued beside the posts); a retry happens only when a run
//! failed before posting (the entry or the connections could not be read). Lambda may still run an event twice, rarely: backend drop a repeat by its `seq`, as
//! they do for any repeat (docs/API.md).

use super::{audience_of, deliver_to};
use crate::domain::entry::Entry;
use crate::domain::ids::{Actor, ConversationId, DeviceName, UserId};
use crate::store::Backend;
use futures::StreamExt;
use im_adapters::emf::{self, Unit};
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// Users one hand-off names: 5000 ids keep the event near 100 KB, under Lambda's 256 KB.
pub const USERS_PER_HAND_OFF: usize = 5_000;
/// Users one worker invocation posts to itself: ten connection look-ups, about a thousand posts.
pub const USERS_PER_DELIVERY: usize = 1_000;
/// Invocations queued at once.
const QUEUED_AT_ONCE: usize = 16;

/// What a worker invocation is handed: who acted, which entry, to whom.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Batch {
    pub user_id: UserId,
    pub device: String,
    #[serde(default)]
    pub tag: String,
    #[serde(default)]
    pub connection_id: Option<String>,
    pub conversation: String,
    pub seq: u64,
    pub users: Vec<UserId>,
    /// How many users the whole hand-off named (this batch may be a part of it); 0 when not
    /// known (events queued before it was recorded): connections are then looked up by user.
    #[serde(default)]
    pub audience: usize,
}

impl Batch {
    fn new(actor: &Actor, entry: &Entry, users: Vec<UserId>) -> Batch {
        Batch {
            user_id: actor.user_id,
            device: actor.device.as_str().to_string(),
            tag: actor.tag.clone(),
            connection_id: actor.connection_id.clone(),
            conversation: entry.conversation.to_string(),
            seq: entry.seq,
            audience: users.len(),
            users,
        }
    }

    /// The same hand-off for other users (without copying this batch's own list).
    fn for_users(&self, users: &[UserId]) -> Batch {
        Batch {
            user_id: self.user_id,
            device: self.device.clone(),
            tag: self.tag.clone(),
            connection_id: self.connection_id.clone(),
            conversation: self.conversation.clone(),
            seq: self.seq,
            users: users.to_vec(),
            audience: self.audience,
        }
    }

    fn actor(&self) -> Result<Actor, String> {
        let device = DeviceName::parse(Some(&self.device)).map_err(|e| format!("device: {e:?}"))?;
        Ok(Actor { user_id: self.user_id, device, tag: self.tag.clone(), connection_id: self.connection_id.clone() })
    }
}

/// Queues `users` to the worker `function` in batches of `size`; returns the users of the
/// batches Lambda did not take (the caller posts to them itself).
async fn queue(backend: &impl Backend, function: &str, batch: &Batch, size: usize) -> Vec<UserId> {
    let parts: Vec<Batch> = batch.users.chunks(size).map(|users| batch.for_users(users)).collect();
    futures::stream::iter(parts)
        .map(|part| queue_one(backend, function, part))
        .buffer_unordered(QUEUED_AT_ONCE)
        .concat()
        .await
}

/// Queues one batch; its users when Lambda did not take it.
async fn queue_one(backend: &impl Backend, function: &str, part: Batch) -> Vec<UserId> {
    let payload = serde_json::to_vec(&part).unwrap_or_default();
    match backend.queue(function, payload).await {
        Ok(()) => vec![],
        Err(err) => {
            tracing::warn!(error = %err, users = part.users.len(), "could not hand a delivery off; posting it here");
            part.users
        }
    }
}

/// Hands the delivery of a stored entry to `audience` off to the worker, when the audience is
/// too large to post here and a worker is configured; returns the users left to post here.
pub async fn hand_off(backend: &impl Backend, actor: &Actor, entry: &Entry, audience: Vec<UserId>) -> Vec<UserId> {
    let Some((function, direct)) = backend.fan_out_worker() else { return audience };
    if audience.len() <= direct {
        return audience;
    }
    queue(backend, function, &Batch::new(actor, entry, audience), USERS_PER_HAND_OFF).await
}

/// The worker (`fan_out` function): splits a large batch into invocations of itself, posts a
/// small one. An error makes Lambda retry the event.
pub async fn run(backend: &impl Backend, payload: Value) -> Result<Value, String> {
    let batch: Batch = serde_json::from_value(payload).map_err(|e| format!("not a fan-out batch: {e}"))?;
    let actor = batch.actor()?;
    let users = match backend.fan_out_worker() {
        Some((function, _)) if batch.users.len() > USERS_PER_DELIVERY => {
            queue(backend, function, &batch, USERS_PER_DELIVERY).await
        }
        _ => batch.users.clone(),
    };
    if users.is_empty() {
        return Ok(Value::Null);
    }
    let conversation: ConversationId = batch.conversation.parse().map_err(|_| "bad conversation id".to_string())?;
    let (entries, _) =
        backend.read_range(conversation, batch.seq.saturating_sub(1), batch.seq, 1).await.map_err(|e| e.to_string())?;
    let entry = entries.into_iter().next().ok_or_else(|| format!("{conversation}:{} is not stored", batch.seq))?;
    let audience = if batch.audience == 0 { usize::MAX } else { batch.audience };
    emf::emit(&[("FanOutBatches", 1.0, Unit::Count)]);
    for part in users.chunks(USERS_PER_DELIVERY) {
        let mut part = part.to_vec();
        part.sort_unstable();
        let found = audience_of(backend, conversation, &part, audience, true).await.map_err(|e| e.to_string())?;
        let reached: Vec<(UserId, &Entry)> = part.iter().map(|user| (*user, &entry)).collect();
        deliver_to(backend, &actor, &reached, found, None).await;
    }
    Ok(Value::Null)
}
