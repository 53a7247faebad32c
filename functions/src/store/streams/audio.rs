//! Attachment claims: `audio#audio/<name>.amr` names the one conversation an audio object
//! belongs to, so only its participants get a signed URL for it.

use super::keys::audio_key;
use crate::domain::ids::ConversationId;
use crate::store::{aws, from_item, lost_condition, malformed, n, s, Result};
use im_adapters::Clients;
use serde::Deserialize;

/// Claims an audio object for the conversation whose message names it: `false` when another
/// conversation holds it. Claiming it again for the same conversation (a retry) is fine.
pub async fn claim_audio(clients: &Clients, object: &str, conversation: ConversationId) -> Result<bool> {
    let put = clients
        .dynamodb
        .put_item()
        .table_name(&clients.config.tables.conversations)
        .item("pk", s(audio_key(object)))
        .item("sk", n(0))
        .item("conversation", s(conversation.to_string()))
        .condition_expression("attribute_not_exists(pk) OR #c = :c")
        .expression_attribute_names("#c", "conversation")
        .expression_attribute_values(":c", s(conversation.to_string()));
    match put.send().await {
        Ok(_) => Ok(true),
        Err(err) if lost_condition(&err) => Ok(false),
        Err(err) => Err(aws(err)),
    }
}

/// Forgets which conversation an audio object belonged to (its message was deleted).
pub async fn release_audio(clients: &Clients, object: &str) -> Result<()> {
    let delete = clients.dynamodb.delete_item().table_name(&clients.config.tables.conversations);
    delete.key("pk", s(audio_key(object))).key("sk", n(0)).send().await.map_err(aws)?;
    Ok(())
}

/// The conversation an audio object belongs to.
pub async fn audio_owner(clients: &Clients, object: &str) -> Result<Option<ConversationId>> {
    #[derive(Deserialize)]
    struct Claim {
        conversation: String,
    }
    let get = clients.dynamodb.get_item().table_name(&clients.config.tables.conversations);
    let out = get.key("pk", s(audio_key(object))).key("sk", n(0)).send().await.map_err(aws)?;
    let claim = out.item.map(from_item::<Claim>).transpose()?;
    claim.map(|c| c.conversation.parse().map_err(malformed)).transpose()
}
