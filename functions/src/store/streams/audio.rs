//! Attachment claims: `audio#<object>` names the one conversation an attached object (a voice
//! note, an image, a file, a video) belongs to, so only its participants get a signed URL for
//! it; a file's claim also keeps the name it is downloaded under.

use super::keys::audio_key;
use crate::domain::ids::{ConversationId, UserId};
use crate::store::{aws, from_item, lost_condition, malformed, n, s, Result};
use im_adapters::Clients;
use serde::Deserialize;

/// Who an attached object belongs to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Claim {
    pub conversation: ConversationId,
    /// Who attached it (claims from before this was kept name nobody).
    pub by: Option<UserId>,
    /// A file's name, as its sender gave it.
    pub name: Option<String>,
}

/// Claims an object for the conversation whose message names it: `false` when another
/// conversation holds it. Claiming it again for the same conversation (a retry) is fine.
pub async fn claim_attachment(
    clients: &Clients,
    object: &str,
    conversation: ConversationId,
    (by, name): (UserId, Option<&str>),
) -> Result<bool> {
    let put = clients
        .dynamodb
        .put_item()
        .table_name(&clients.config.tables.conversations)
        .item("pk", s(audio_key(object)))
        .item("sk", n(0))
        .item("conversation", s(conversation.to_string()))
        .item("by", n(by.0));
    let put = match name {
        Some(name) => put.item("name", s(name)),
        None => put,
    };
    let put = put
        .condition_expression("attribute_not_exists(pk) OR #c = :c")
        .expression_attribute_names("#c", "conversation")
        .expression_attribute_values(":c", s(conversation.to_string()));
    match put.send().await {
        Ok(_) => Ok(true),
        Err(err) if lost_condition(&err) => Ok(false),
        Err(err) => Err(aws(err)),
    }
}

/// Forgets which conversation an object belonged to (its message was deleted).
pub async fn release_attachment(clients: &Clients, object: &str) -> Result<()> {
    let delete = clients.dynamodb.delete_item().table_name(&clients.config.tables.conversations);
    delete.key("pk", s(audio_key(object))).key("sk", n(0)).send().await.map_err(aws)?;
    Ok(())
}

/// The claim on an object, if any.
pub async fn attachment_owner(clients: &Clients, object: &str) -> Result<Option<Claim>> {
    #[derive(Deserialize)]
    struct Stored {
        conversation: String,
        #[serde(default)]
        by: Option<u64>,
        #[serde(default)]
        name: Option<String>,
    }
    let get = clients.dynamodb.get_item().table_name(&clients.config.tables.conversations);
    let out = get.key("pk", s(audio_key(object))).key("sk", n(0)).send().await.map_err(aws)?;
    let claim = out.item.map(from_item::<Stored>).transpose()?;
    claim
        .map(|c| {
            Ok(Claim { conversation: c.conversation.parse().map_err(malformed)?, by: c.by.map(UserId), name: c.name })
        })
        .transpose()
}
