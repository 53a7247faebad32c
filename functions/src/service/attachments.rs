//! Audio objects and the conversation each belongs to. A file is first uploaded under its
//! uploader's prefix (`upload/<user>/<name>.amr`, unguessable name); a message of that
//! uploader attaches it, once, to a conversation they may write to: the size and header are
//! checked, the object is claimed for the conversation and moved to `audio/<name>.amr`. Only
//! participants get a signed URL for it; deleting the message deletes the object. Uploads never
//! attached expire (the bucket's lifecycle rule on `upload/`).

use crate::domain::ids::{ConversationId, UserId};
use crate::domain::message::{upload_object, AMR_MAGIC, MAX_AUDIO_BYTES};
use crate::domain::refusal::{Error, Refusal, Result};
use crate::store::Backend;

/// Attaches the sender's upload for `key` to a conversation (see the module doc). A retry of
/// an attach that completed finds the object already in place for the same conversation. The
/// header read and the move are pinned to the ETag the size check saw, so an object swapped in
/// under the key meanwhile is never what gets attached.
pub async fn attach(backend: &impl Backend, sender: UserId, key: &str, conversation: ConversationId) -> Result<()> {
    let upload = upload_object(sender, key);
    let Some(stat) = backend.stat(&upload).await? else {
        return match backend.attachment_owner(key).await? {
            Some(claim)
                if claim.conversation == conversation
                    && claim.by == Some(sender)
                    && backend.stat(key).await?.is_some() =>
            {
                Ok(())
            }
            _ => Err(Refusal::invalid("no upload of yours under that key").into()),
        };
    };
    if stat.size > MAX_AUDIO_BYTES as u64 {
        backend.delete(&upload).await?;
        return Err(Refusal::TooLarge("audio is larger than 1 MiB".into()).into());
    }
    let Some(head) = backend.first_bytes(&upload, AMR_MAGIC.len(), &stat.etag).await? else {
        return Err(changed());
    };
    if head != AMR_MAGIC {
        return Err(Refusal::UnsupportedMedia("not an AMR file (no #!AMR header)".into()).into());
    }
    if !backend.claim_attachment(key, conversation, (sender, None)).await? {
        return Err(Refusal::Forbidden("that audio belongs to another conversation".into()).into());
    }
    // A failed move leaves the claim: it names this very conversation, and a retry checks again.
    match backend.rename_if(&upload, key, &stat.etag).await? {
        true => Ok(()),
        false => Err(changed()),
    }
}

/// The upload was replaced (or removed) while it was being checked.
fn changed() -> Error {
    Refusal::Conflict("the upload changed while it was checked: send the message again".into()).into()
}

/// Deletes an attached audio object and its claim (its message was deleted).
pub async fn discard(backend: &impl Backend, key: &str) -> Result<()> {
    backend.delete(key).await?;
    Ok(backend.release_attachment(key).await?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::memory::{refused, Memory};

    fn amr(fill: u8) -> Vec<u8> {
        let mut bytes = AMR_MAGIC.to_vec();
        bytes.extend([fill; 100]);
        bytes
    }

    #[tokio::test]
    async fn an_upload_swapped_after_its_check_is_not_attached() {
        let memory = Memory::default();
        let (key, conversation) = ("audio/ab.amr", ConversationId::Group(crate::domain::ids::GroupId(9)));
        let upload = upload_object(UserId(1), key);
        memory.state().blobs.insert(upload.clone(), amr(1));
        memory.state().swap_after_stat.insert(upload.clone(), b"not audio at all".to_vec());
        let refusal = refused(attach(&memory, UserId(1), key, conversation).await);
        assert_eq!(refusal.status(), 409, "{refusal:?}");
        assert!(!memory.state().blobs.contains_key(key), "the swapped object was not attached");

        // Checked again, the object now there is what it is: here, not AMR.
        let refusal = refused(attach(&memory, UserId(1), key, conversation).await);
        assert_eq!(refusal.status(), 415);
        memory.state().blobs.insert(upload.clone(), amr(2));
        attach(&memory, UserId(1), key, conversation).await.unwrap();
        assert_eq!(memory.state().blobs.get(key), Some(&amr(2)));
        assert!(!memory.state().blobs.contains_key(&upload));
    }
}
