//! Files a function uploads itself (seed 001's AMR audio, simple_im's `/m/image` and
//! `/m/video`), stored privately in S3 and sent as messages; presigned POST forms for large
//! audio a phone uploads straight to S3. An upload goes under the uploader's own prefix; a
//! message attaches it (`service::media`).

use crate::domain::ids::{Actor, Target, UserId};
use crate::domain::limits::PRESIGNS_PER_USER;
use crate::domain::media::{new_key, Media};
use crate::domain::message::{check_amr, new_audio_key, upload_object, Outgoing, MAX_AUDIO_BYTES};
use crate::domain::refusal::{Error, Refusal, Result};
use crate::service::limits;
use crate::service::messages::{self, Sent};
use crate::store::post_policy::UploadForm;
use crate::store::Backend;

/// An uploaded AMR file to send: the bytes, their declared type, the sender's id for it.
pub struct Upload {
    pub bytes: Vec<u8>,
    pub content_type: Option<String>,
    pub client_id: Option<String>,
}

/// `POST /m/audio`, `POST /gm/audio`: checks the file and the recipient (refused senders store
/// nothing), uploads the file, then sends it as a message. Returns the client id and the send.
pub async fn send(backend: &impl Backend, actor: &Actor, target: Target, upload: Upload) -> Result<(String, Sent)> {
    check_amr(&upload.bytes, upload.content_type.as_deref())?;
    messages::check_allowed(backend, actor.user_id, target).await?;
    let key = new_audio_key();
    let client_id = upload.client_id.unwrap_or_else(|| key.clone());
    let out = Outgoing::new(client_id.clone(), "audio", key.clone(), target)?;
    backend.put_blob(&upload_object(actor.user_id, &key), upload.bytes, "audio/amr").await?;
    Ok((client_id, messages::send(backend, actor, &out).await?))
}

/// `POST /audio/upload`: a fresh key and the presigned POST form for the caller's upload of it,
/// at most [`PRESIGNS_PER_USER`] an hour.
pub async fn presign_upload(backend: &impl Backend, uploader: UserId) -> Result<(String, UploadForm)> {
    limits::check(backend, &PRESIGNS_PER_USER, &uploader.to_string()).await?;
    let key = new_audio_key();
    let form = backend
        .upload_form(&upload_object(uploader, &key), "audio/amr", MAX_AUDIO_BYTES as u64)
        .await
        .map_err(Error::from)?;
    Ok((key, form))
}

/// `POST /m/image`, `/m/video` (and `/gm/...`): a file small enough for a Lambda request,
/// uploaded by the function itself once the recipient is allowed (refused senders store
/// nothing), then sent and attached as an upload by presigned POST is.
pub async fn send_upload(
    backend: &impl Backend,
    actor: &Actor,
    target: Target,
    media: Media,
    upload: Upload,
) -> Result<(String, Sent)> {
    if upload.bytes.len() as u64 > media.max_bytes() {
        return Err(Refusal::TooLarge(format!("at most {} bytes", media.max_bytes())).into());
    }
    let content_type = media
        .content_type(upload.content_type.as_deref())
        .map_err(|refusal| Refusal::UnsupportedMedia(refusal.to_string()))?;
    messages::check_allowed(backend, actor.user_id, target).await?;
    let key = new_key(media);
    let client_id = upload.client_id.unwrap_or_else(|| key.clone());
    let kind = match media {
        Media::Image => "image",
        Media::Video => "video",
        Media::File => "file",
    };
    let out = Outgoing::new(client_id.clone(), kind, key.clone(), target)?;
    backend.put_blob(&upload_object(actor.user_id, &key), upload.bytes, &content_type).await?;
    Ok((client_id, messages::send(backend, actor, &out).await?))
}
