//! A stream's activity as the inbox (issue 27) reads and writes it: its last entry, and the
//! head's note of when its activity was last written into its members' inboxes.

use super::entries::entry;
use super::holes;
use super::keys::{stream_key, INBOX_AT};
use crate::domain::entry::Entry;
use crate::domain::ids::ConversationId;
use crate::store::{aws, lost_condition, n, s, Result};
use im_adapters::Clients;

/// A stream's last entry (holes skipped): one Query from the end, eventually consistent (the
/// inbox's line, where an instant's lag is harmless), of a few items in case the last are holes.
pub async fn latest(clients: &Clients, conversation: ConversationId) -> Result<Option<Entry>> {
    let out = clients
        .dynamodb
        .query()
        .table_name(&clients.config.tables.conversations)
        .key_condition_expression("pk = :pk AND sk > :head")
        .expression_attribute_values(":pk", s(stream_key(conversation)))
        .expression_attribute_values(":head", n(0))
        .scan_index_forward(false)
        .limit(4)
        .send()
        .await
        .map_err(aws)?;
    let mut items = out.items.unwrap_or_default().into_iter();
    let last =
        items.find(|item| item.get("kind").and_then(|k| k.as_s().ok()).map(String::as_str) != Some(holes::HOLE_KIND));
    last.map(|item| entry(conversation, item)).transpose()
}

/// Claims the writing of a conversation's activity into its members' inboxes at `now` (ms),
/// unless another send did within `every` ms: one conditional update of the head.
pub async fn claim_inbox_refresh(
    clients: &Clients,
    conversation: ConversationId,
    now: u64,
    every: u64,
) -> Result<bool> {
    let update = clients
        .dynamodb
        .update_item()
        .table_name(&clients.config.tables.conversations)
        .key("pk", s(stream_key(conversation)))
        .key("sk", n(0))
        .update_expression("SET #at = :now")
        .condition_expression("attribute_not_exists(#at) OR #at < :since")
        .expression_attribute_names("#at", INBOX_AT)
        .expression_attribute_values(":now", n(now))
        .expression_attribute_values(":since", n(now.saturating_sub(every)))
        .send()
        .await;
    match update {
        Ok(_) => Ok(true),
        Err(err) if lost_condition(&err) => Ok(false),
        Err(err) => Err(aws(err)),
    }
}
