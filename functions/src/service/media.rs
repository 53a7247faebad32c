//! Attachments of every kind (voice notes, images, files, videos): what a message attached,
//! and letting it go with the message.

use crate::domain::entry::Message;
use crate::domain::ids::ConversationId;
use crate::domain::refusal::Result;
use crate::service::attachments;
use crate::store::Backend;

/// The objects a message attached (its file, an image's thumbnail), by key.
pub fn attached_objects(message: &Message) -> Option<Vec<String>> {
    let file = message.attachment()?;
    let thumb = message.details.thumb.as_deref().and_then(|t| t.strip_prefix("file/"));
    Some(std::iter::once(file).chain(thumb).map(String::from).collect())
}

/// Deletes the objects a deleted message attached, each only if it is claimed for this very
/// conversation (a text naming someone else's file deletes nothing).
pub async fn discard_attached(backend: &impl Backend, conversation: ConversationId, objects: &[String]) -> Result<()> {
    for object in objects {
        if backend.audio_owner(object).await? == Some(conversation) {
            attachments::discard(backend, object).await?;
        }
    }
    Ok(())
}
