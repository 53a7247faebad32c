//! Images, files and videos over HTTP (issue 26): `POST /media/upload` for a presigned POST,
//! simple_im's multipart `POST /m/image`, `/gm/image`, `/m/video`, `/gm/video` for files that
//! fit a Lambda request, and `GET /file/image|video|media/{name}` for a signed URL.

use super::audio::{redirect, upload, upload_answer};
use super::messages::sent;
use super::{Ctx, Fields, Reply};
use crate::domain::media::Media;
use crate::domain::refusal::Result;
use crate::service::{audio, media};
use lambda_http::Request;

/// `POST /media/upload` (`kind`, `type`): the presigned POST form (`url` and `fields`; the file
/// goes last) and the key to send as the message's `c` once the upload is done.
pub async fn presign_media_upload(ctx: &Ctx, req: &Request) -> Result<Reply> {
    let caller = ctx.caller()?;
    let fields = Fields::parse(req)?;
    let kind = Media::parse(&fields.text("kind", 1, 16)?)?;
    let declared = fields.opt_text("type", 1, 129)?;
    let (key, content_type, form) = media::presign(&*ctx.clients, caller.user_id, kind, declared.as_deref()).await?;
    Ok(upload_answer(&key, form, (&content_type, kind.max_bytes())))
}

async fn upload_and_send(ctx: &Ctx, req: &Request, kind: Media, group: bool) -> Result<Reply> {
    let actor = ctx.actor()?;
    let (target, upload) = upload(req, group).await?;
    let (client_id, result) = audio::send_upload(&*ctx.clients, &actor, target, kind, upload).await?;
    Ok(sent(&client_id, &result))
}

/// `POST /m/image`: the image and `to`.
pub async fn send_image(ctx: &Ctx, req: &Request) -> Result<Reply> {
    upload_and_send(ctx, req, Media::Image, false).await
}

/// `POST /gm/image`: the image and `g_id`.
pub async fn send_group_image(ctx: &Ctx, req: &Request) -> Result<Reply> {
    upload_and_send(ctx, req, Media::Image, true).await
}

/// `POST /m/video`: the video and `to`.
pub async fn send_video(ctx: &Ctx, req: &Request) -> Result<Reply> {
    upload_and_send(ctx, req, Media::Video, false).await
}

/// `POST /gm/video`: the video and `g_id`.
pub async fn send_group_video(ctx: &Ctx, req: &Request) -> Result<Reply> {
    upload_and_send(ctx, req, Media::Video, true).await
}

/// `GET /file/image/{name}`: an image message's `c`, for participants of its conversation.
pub async fn get_image(ctx: &Ctx, req: &Request) -> Result<Reply> {
    redirect(ctx, req, "image", "file").await
}

/// `GET /file/video/{name}`: a video message's `c`.
pub async fn get_video(ctx: &Ctx, req: &Request) -> Result<Reply> {
    redirect(ctx, req, "video", "file").await
}

/// `GET /file/media/{name}`: a file message's `c` (saved under its name), an image's `thumb`.
pub async fn get_media(ctx: &Ctx, req: &Request) -> Result<Reply> {
    redirect(ctx, req, "media", "file").await
}
