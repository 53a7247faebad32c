//! AMR audio (seed 001): files stored privately in S3 and sent as audio messages; presigned
//! PUT URLs for large files a phone uploads straight to S3.
//!
//! An audio object belongs to one conversation. A file is first uploaded under its uploader's
//! prefix (`upload/<user>/<name>.amr`, unguessable name); a message of that uploader attaches
//! it, once, to a conversation they may write to: the size and header are checked, the object
//! is claimed for the conversation and moved to `audio/<name>.amr`. Only participants get a
//! signed URL for it; deleting the message deletes the object. Uploads never attached expire
//! (the bucket's lifecycle rule on `upload/`).

use crate::domain::ids::{Actor, ConversationId, Target};
use crate::domain::message::{check_amr, new_audio_key, upload_object, Outgoing, AMR_MAGIC, MAX_AUDIO_BYTES};
use crate::domain::refusal::{Error, Refusal, Result};
use crate::service::messages::{self, Sent};
use crate::store::{blobs, streams};
use im_adapters::Clients;

/// An uploaded AMR file to send: the bytes, their declared type, the sender's id for it.
pub struct Upload {
    pub bytes: Vec<u8>,
    pub content_type: Option<String>,
    pub client_id: Option<String>,
}

/// `POST /m/audio`, `POST /gm/audio`: checks the file and the recipient (refused senders store
/// nothing), uploads the file, then sends it as a message. Returns the client id and the send.
pub async fn send(clients: &Clients, actor: &Actor, target: Target, upload: Upload) -> Result<(String, Sent)> {
    check_amr(&upload.bytes, upload.content_type.as_deref())?;
    messages::check_allowed(clients, actor.user_id, target).await?;
    let key = new_audio_key();
    let client_id = upload.client_id.unwrap_or_else(|| key.clone());
    let out = Outgoing::new(client_id.clone(), "audio", key.clone(), target)?;
    blobs::put(clients, &upload_object(actor.user_id, &key), upload.bytes).await?;
    Ok((client_id, messages::send(clients, actor, &out).await?))
}

/// `POST /audio/upload`: a fresh key and a presigned PUT URL for the caller's upload of it.
pub async fn presign_upload(clients: &Clients, uploader: u64) -> Result<(String, String)> {
    let key = new_audio_key();
    let url = blobs::upload_url(clients, &upload_object(uploader, &key)).await.map_err(Error::from)?;
    Ok((key, url))
}

/// Attaches the sender's upload for `key` to a conversation (see the module doc). A retry of
/// an attach that completed finds the object already in place for the same conversation.
pub async fn attach(clients: &Clients, sender: u64, key: &str, conversation: ConversationId) -> Result<()> {
    let upload = upload_object(sender, key);
    let Some(size) = blobs::size(clients, &upload).await? else {
        return match streams::audio_owner(clients, key).await? {
            Some(owner) if owner == conversation && blobs::size(clients, key).await?.is_some() => Ok(()),
            _ => Err(Refusal::invalid("no upload of yours under that key").into()),
        };
    };
    if size > MAX_AUDIO_BYTES as u64 {
        blobs::delete(clients, &upload).await?;
        return Err(Refusal::TooLarge("audio is larger than 1 MiB".into()).into());
    }
    let head = blobs::first_bytes(clients, &upload, AMR_MAGIC.len()).await?;
    if head.as_deref() != Some(AMR_MAGIC) {
        return Err(Refusal::UnsupportedMedia("not an AMR file (no #!AMR header)".into()).into());
    }
    if !streams::claim_audio(clients, key, conversation).await? {
        return Err(Refusal::Forbidden("that audio belongs to another conversation".into()).into());
    }
    Ok(blobs::rename(clients, &upload, key).await?)
}

/// Deletes an attached audio object and its claim (its message was deleted).
pub async fn discard(clients: &Clients, key: &str) -> Result<()> {
    blobs::delete(clients, key).await?;
    Ok(streams::release_audio(clients, key).await?)
}
