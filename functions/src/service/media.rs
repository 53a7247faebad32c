//! One pipeline for what a message attaches (issue 26): voice notes, images, files, videos. A
//! phone uploads by a presigned POST (S3 itself enforces the size range, the exact key and the
//! type) under its own prefix (`upload/<user>/...`); a message of that uploader attaches the
//! upload, once, to a conversation they may write to: checked by signature and size, claimed
//! for the conversation, moved under its kind's prefix. An image is checked by its header (at
//! most 40 megapixels), its metadata stripped before anyone else can download it, and its
//! thumbnail made by the thumbnail function, invoked asynchronously. Only the conversation's
//! participants get a signed URL for any of it; deleting the message deletes it.

use crate::domain::entry::Message;
use crate::domain::ids::{ConversationId, UserId};
use crate::domain::limits::PRESIGNS_PER_USER;
use crate::domain::media::{self, Media, VIDEO_SIGNATURE_BYTES};
use crate::domain::message::{is_audio_key, upload_object, MessageKind, Outgoing};
use crate::domain::refusal::{Error, Refusal, Result};
use crate::domain::rich::Details;
use crate::domain::strip::strip_metadata;
use crate::service::access::is_member;
use crate::service::{attachments, limits};
use crate::store::blobs::Download;
use crate::store::post_policy::UploadForm;
use crate::store::Backend;
use serde_json::{json, Value};

/// The stable server path of an attached object (`image/<hex>` → `file/image/<hex>`): it signs
/// a fresh URL for each participant who follows it.
pub fn path_of(object: &str) -> String {
    format!("file/{object}")
}

/// What a message stores as its content (`c`) and details: a text as it is; an attachment's
/// stable path, after the upload `out.content` names is attached to `conversation`.
pub async fn attach(
    backend: &impl Backend,
    sender: UserId,
    out: &Outgoing,
    conversation: ConversationId,
    details: Details,
) -> Result<(String, Details)> {
    let key = out.content.as_str();
    let media = match out.kind {
        MessageKind::Text => return Ok((out.content.clone(), details)),
        MessageKind::Audio => {
            attachments::attach(backend, sender, key, conversation).await?;
            return Ok((path_of(key), details));
        }
        kind => Media::of(kind).ok_or_else(|| Refusal::invalid("not an attachment"))?,
    };
    if !media::is_key(media, key) {
        return Err(Refusal::invalid(format!(
            "a {} message's c is the key from POST /media/upload",
            out.kind.as_str()
        ))
        .into());
    }
    let name = match media {
        Media::File => Some(out.name.clone().unwrap_or_else(|| "file".into())),
        _ => None,
    };
    let upload = upload_object(sender, key);
    let mut details = Details { name: name.clone(), ..details };
    let Some(stat) = backend.stat(&upload).await? else {
        return attached_before(backend, (media, key), (sender, conversation), details).await;
    };
    if stat.size > media.max_bytes() {
        backend.delete(&upload).await?;
        return Err(Refusal::TooLarge(format!("a {} is at most {} bytes", out.kind.as_str(), media.max_bytes())).into());
    }
    details.size = Some(stat.size);
    if media == Media::Image {
        let bytes = backend.first_bytes(&upload, stat.size as usize, &stat.etag).await?.ok_or_else(changed)?;
        let checked = media::check_image(&bytes)?;
        let clean = strip_metadata(checked.format, &bytes)
            .ok_or_else(|| Refusal::UnsupportedMedia("a broken image file".into()))?;
        claim(backend, key, (sender, conversation), None).await?;
        details = Details { size: Some(clean.len() as u64), w: Some(checked.w), h: Some(checked.h), ..details };
        details.thumb = Some(path_of(&media::thumb_key(key)));
        backend.put_blob(key, clean, checked.format.to_mime_type()).await?;
        backend.delete(&upload).await?;
        queue_thumbnail(backend, key).await;
        return Ok((path_of(key), details));
    }
    if media == Media::Video {
        let head = backend.first_bytes(&upload, VIDEO_SIGNATURE_BYTES, &stat.etag).await?.ok_or_else(changed)?;
        if !media::is_video(&head) {
            return Err(Refusal::UnsupportedMedia("a video must be MP4 or QuickTime".into()).into());
        }
    }
    claim(backend, key, (sender, conversation), name.as_deref()).await?;
    match backend.rename_if(&upload, key, &stat.etag).await? {
        true => Ok((path_of(key), details)),
        false => Err(changed()),
    }
}

/// A retry of an attach that completed: the object is in place, claimed for this very
/// conversation by this very sender (another participant naming it attaches nothing); its
/// details are read again.
async fn attached_before(
    backend: &impl Backend,
    (media, key): (Media, &str),
    (sender, conversation): (UserId, ConversationId),
    details: Details,
) -> Result<(String, Details)> {
    let refused = || Error::from(Refusal::invalid("no upload of yours under that key"));
    let claim = backend.attachment_owner(key).await?;
    let claim = claim.filter(|c| c.conversation == conversation && c.by == Some(sender)).ok_or_else(refused)?;
    let stat = backend.stat(key).await?.ok_or_else(refused)?;
    let mut details = Details { size: Some(stat.size), name: claim.name.or(details.name), ..details };
    if media == Media::Image {
        let bytes = backend.first_bytes(key, stat.size as usize, &stat.etag).await?.ok_or_else(changed)?;
        let checked = media::check_image(&bytes)?;
        details =
            Details { w: Some(checked.w), h: Some(checked.h), thumb: Some(path_of(&media::thumb_key(key))), ..details };
    }
    Ok((path_of(key), details))
}

async fn claim(
    backend: &impl Backend,
    key: &str,
    (sender, conversation): (UserId, ConversationId),
    name: Option<&str>,
) -> Result<()> {
    match backend.claim_attachment(key, conversation, (sender, name)).await? {
        true => Ok(()),
        false => Err(Refusal::Forbidden("that upload belongs to another conversation".into()).into()),
    }
}

/// The upload was replaced (or removed) while it was being checked.
fn changed() -> Error {
    Refusal::Conflict("the upload changed while it was checked: send the message again".into()).into()
}

/// Hands an attached image to the thumbnail function. Best effort: without a thumbnail, a
/// client shows the image itself.
async fn queue_thumbnail(backend: &impl Backend, key: &str) {
    let Some(function) = backend.thumbnail_worker() else { return };
    let payload = json!({ "key": key }).to_string().into_bytes();
    if let Err(err) = backend.queue(function, payload).await {
        tracing::warn!(error = %err, "the thumbnail was not queued");
    }
}

/// The thumbnail function: reads an attached image, writes its JPEG thumbnail beside the files
/// (`media/<hex>.jpg`). Its memory is sized by the largest image it decodes (docs/BENCHMARKS.md).
pub async fn make_thumbnail(backend: &impl Backend, payload: Value) -> std::result::Result<Value, String> {
    let key = payload["key"].as_str().filter(|k| media::is_key(Media::Image, k)).ok_or("not an image key")?;
    let Some(stat) = backend.stat(key).await.map_err(|e| e.to_string())? else {
        return Ok(json!({ "skipped": "no such image" }));
    };
    let bytes = backend.first_bytes(key, stat.size as usize, &stat.etag).await.map_err(|e| e.to_string())?;
    let Some(bytes) = bytes else { return Ok(json!({ "skipped": "the image changed" })) };
    let thumb = media::thumbnail(&bytes).map_err(|e| e.to_string())?;
    let thumb_key = media::thumb_key(key);
    backend.put_blob(&thumb_key, thumb, "image/jpeg").await.map_err(|e| e.to_string())?;
    Ok(json!({ "thumb": thumb_key }))
}

/// `POST /media/upload`: a fresh key of `media` and the presigned POST form for the caller's
/// upload of it (their declared type, at most the kind's size), at most [`PRESIGNS_PER_USER`]
/// an hour with audio's.
pub async fn presign(
    backend: &impl Backend,
    uploader: UserId,
    media: Media,
    declared: Option<&str>,
) -> Result<(String, String, UploadForm)> {
    let content_type = media.content_type(declared)?;
    limits::check(backend, &PRESIGNS_PER_USER, &uploader.to_string()).await?;
    let key = media::new_key(media);
    let form = backend.upload_form(&upload_object(uploader, &key), &content_type, media.max_bytes()).await?;
    Ok((key, content_type, form))
}

/// A fresh signed URL for the object at an attachment's path (`file/<prefix>/<name>`), for a
/// participant of the conversation it was sent in; anyone else is told it does not exist. A
/// thumbnail belongs to its image's conversation, and is not there until it is made.
pub async fn file_url(backend: &impl Backend, user: UserId, (prefix, name): (&str, &str)) -> Result<String> {
    let object = format!("{prefix}/{name}");
    let not_found = || Error::from(Refusal::NotFound("no such file".into()));
    let thumb_of = media::image_of_thumb(&object);
    let known = match prefix {
        "audio" => is_audio_key(&object),
        "image" => media::is_key(Media::Image, &object),
        "video" => media::is_key(Media::Video, &object),
        "media" => media::is_key(Media::File, &object) || thumb_of.is_some(),
        _ => false,
    };
    if !known {
        return Err(not_found());
    }
    let claimed = thumb_of.as_deref().unwrap_or(&object);
    let claim = backend.attachment_owner(claimed).await?.ok_or_else(not_found)?;
    if !is_member(backend, user, claim.conversation).await? {
        return Err(not_found());
    }
    if thumb_of.is_some() && backend.stat(&object).await?.is_none() {
        return Err(not_found());
    }
    let download = Download { file_name: claim.name, ..Download::default() };
    Ok(backend.download_url(&object, &download).await?)
}

/// The objects a message attached, by key: an image's thumbnail first, then its file.
pub fn attached_objects(message: &Message) -> Option<Vec<String>> {
    let file = message.attachment()?;
    let thumb = message.details.thumb.as_deref().and_then(|t| t.strip_prefix("file/"));
    Some(thumb.into_iter().chain(std::iter::once(file)).map(String::from).collect())
}

/// Deletes the objects a deleted message of `sender` attached, each only if it (or, for a
/// thumbnail, its image) is claimed for this very conversation by that sender: a message naming
/// someone else's file deletes nothing.
pub async fn discard_attached(
    backend: &impl Backend,
    (sender, conversation): (UserId, ConversationId),
    objects: &[String],
) -> Result<()> {
    for object in objects {
        let claimed = media::image_of_thumb(object).unwrap_or_else(|| object.clone());
        let claim = backend.attachment_owner(&claimed).await?;
        let theirs = claim.is_some_and(|c| c.conversation == conversation && c.by.is_none_or(|by| by == sender));
        if !theirs {
            continue;
        }
        match &claimed == object {
            true => attachments::discard(backend, object).await?,
            false => backend.delete(object).await?,
        }
    }
    Ok(())
}
