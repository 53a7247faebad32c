//! Signals: frames of the moment (someone types, someone read) posted to the live JSON sockets
//! of a conversation's other participants. Never stored and never pushed to phones: a lost one
//! is lost (a client expires a typing `start`; read positions can be asked again). TOML clients
//! keep what they have: simple_im has no such frames.

use super::{audience_of, post_forgetting_gone};
use crate::domain::format::Format;
use crate::domain::ids::{ConversationId, UserId};
use crate::store::Backend;
use serde_json::Value;
use std::sync::Arc;

/// Posts `name` with `data` to the JSON connections of `users` in `conversation`, the user it
/// is `from` aside (their devices know what they did). One look-up of the connections (a
/// group's live index, one Query), then the posts.
pub async fn post(
    backend: &impl Backend,
    from: UserId,
    conversation: ConversationId,
    users: &[UserId],
    (name, data): (&str, &Value),
) {
    let mut users: Vec<UserId> = users.iter().copied().filter(|u| *u != from).collect();
    users.sort_unstable();
    users.dedup();
    if users.is_empty() {
        return;
    }
    let found = match audience_of(backend, conversation, &users, users.len(), false).await {
        Ok(found) => found,
        Err(err) => return tracing::warn!(error = %err, signal = name, "connection look-up failed; signal dropped"),
    };
    let frame: Arc<[u8]> = Arc::from(Format::Json.frame("", name, data).into_bytes());
    let posts =
        found.live.into_iter().filter(|c| c.format == Format::Json).map(|c| (c.connection_id, frame.clone())).collect();
    post_forgetting_gone(backend, posts).await;
}
