//! Audio objects and the conversation each belongs to. A file is first uploaded under its
//! uploader's prefix (`upload/<user>/<name>.amr`, unguessable name); a message of that
//! uploader attaches it, once, to a conversation they may write to: the size and header are
//! checked, the object is claimed for the conversation and moved to `audio/<name>.amr`. Only
//! participants get a signed URL for it; deleting the message deletes the object. Uploads never
//! attached expire (the bucket's lifecycle rule on `upload/`).

use crate::domain::ids::{ConversationId, UserId};
use crate::domain::message::{upload_object, AMR_MAGIC, MAX_AUDIO_BYTES};
use crate::domain::refusal::{Refusal, Result};
use crate::store::Backend;

/// Attaches the sender's upload for `key` to a conversation (see the module doc). A retry of
/// an attach that completed finds the object already in place for the same conversation.
pub async fn attach(backend: &impl Backend, sender: UserId, key: &str, conversation: ConversationId) -> Result<()> {
    let upload = upload_object(sender, key);
    let Some(size) = backend.size(&upload).await? else {
        return match backend.audio_owner(key).await? {
            Some(owner) if owner == conversation && backend.size(key).await?.is_some() => Ok(()),
            _ => Err(Refusal::invalid("no upload of yours under that key").into()),
        };
    };
    if size > MAX_AUDIO_BYTES as u64 {
        backend.delete(&upload).await?;
        return Err(Refusal::TooLarge("audio is larger than 1 MiB".into()).into());
    }
    let head = backend.first_bytes(&upload, AMR_MAGIC.len()).await?;
    if head.as_deref() != Some(AMR_MAGIC) {
        return Err(Refusal::UnsupportedMedia("not an AMR file (no #!AMR header)".into()).into());
    }
    if !backend.claim_audio(key, conversation).await? {
        return Err(Refusal::Forbidden("that audio belongs to another conversation".into()).into());
    }
    Ok(backend.rename(&upload, key).await?)
}

/// Deletes an attached audio object and its claim (its message was deleted).
pub async fn discard(backend: &impl Backend, key: &str) -> Result<()> {
    backend.delete(key).await?;
    Ok(backend.release_audio(key).await?)
}
