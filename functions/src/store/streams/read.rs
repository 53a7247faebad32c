//! Read markers: `read#<conversation>#<user>` holds how far a user has read; unread is the
//! stream's head minus it, exact under races, one write to mark read.

use super::keys::{read_key, stream_key};
use super::markers::{head, marker, markers};
use crate::domain::ids::{ConversationId, UserId};
use crate::store::{aws, lost_condition, n, s, Result};
use im_adapters::Clients;

/// `user`'s read marker in a conversation (0 when nothing was read).
pub async fn read_marker(clients: &Clients, user: UserId, conversation: ConversationId) -> Result<u64> {
    Ok(marker(clients, &read_key(conversation, user)).await?.and_then(|m| m.seq).unwrap_or(0))
}

/// Unread entries of `user` in a conversation: head minus read marker, exact under races.
pub async fn unread(clients: &Clients, user: UserId, conversation: ConversationId) -> Result<u64> {
    let head = head(clients, conversation).await?;
    Ok(head.saturating_sub(read_marker(clients, user, conversation).await?))
}

/// Raises `user`'s read marker to `seq`, never lowering it.
pub async fn raise_read_marker(clients: &Clients, user: UserId, conversation: ConversationId, seq: u64) -> Result<()> {
    let moved = clients
        .dynamodb
        .update_item()
        .table_name(&clients.config.tables.conversations)
        .key("pk", s(read_key(conversation, user)))
        .key("sk", n(0))
        .update_expression("SET #seq = :seq")
        .condition_expression("attribute_not_exists(#seq) OR #seq < :seq")
        .expression_attribute_names("#seq", "seq")
        .expression_attribute_values(":seq", n(seq))
        .send()
        .await;
    match moved {
        Err(err) if !lost_condition(&err) => Err(aws(err)),
        _ => Ok(()),
    }
}

/// Unread counts of `user` in each of `conversations` (head minus read marker), in their order:
/// one BatchGetItem per 50 conversations.
pub async fn unread_in(clients: &Clients, user: UserId, conversations: &[ConversationId]) -> Result<Vec<u64>> {
    let keys = |c: &ConversationId| [stream_key(*c), read_key(*c, user)];
    let markers = markers(clients, conversations.iter().flat_map(keys).collect()).await?;
    let seq = |key: &String| markers.get(key).and_then(|m| m.seq).unwrap_or(0);
    Ok(conversations
        .iter()
        .map(|c| {
            let [head, read] = keys(c);
            seq(&head).saturating_sub(seq(&read))
        })
        .collect())
}
