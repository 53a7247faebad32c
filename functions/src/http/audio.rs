//! AMR audio (seed 001): `POST /m/audio` (multipart: the file and `to`), `POST /gm/audio` (the
//! file and `g_id`), and `POST /audio/upload` for a presigned POST of a large file.

use super::messages::sent;
use super::{path_param, Ctx, Reply};
use crate::domain::ids::Target;
use crate::domain::message::MAX_AUDIO_BYTES;
use crate::domain::refusal::{Refusal, Result};
use crate::service::audio::{self, Upload};
use crate::service::media;
use crate::store::post_policy::UploadForm;
use lambda_http::Request;
use serde_json::json;

/// One part of a `multipart/form-data` body.
#[derive(Debug)]
pub struct Part {
    pub name: String,
    pub content_type: Option<String>,
    pub data: Vec<u8>,
}

fn malformed(err: multer::Error) -> Refusal {
    Refusal::invalid(format!("malformed multipart body: {err}"))
}

/// Parses a `multipart/form-data` body (what `curl -F` sends) with `multer`.
pub async fn parse_multipart(content_type: &str, body: &[u8]) -> Result<Vec<Part>> {
    let boundary =
        multer::parse_boundary(content_type).map_err(|_| Refusal::invalid("multipart body without a boundary"))?;
    let body = bytes::Bytes::copy_from_slice(body);
    let stream = futures::stream::once(async move { Ok::<_, std::convert::Infallible>(body) });
    let mut multipart = multer::Multipart::new(stream, boundary);
    let mut parts = vec![];
    while let Some(field) = multipart.next_field().await.map_err(malformed)? {
        let name = field.name().ok_or_else(|| Refusal::invalid("a multipart part has no name"))?.to_string();
        let content_type = field.content_type().map(|m| m.to_string());
        let data = field.bytes().await.map_err(malformed)?.to_vec();
        parts.push(Part { name, content_type, data });
    }
    Ok(parts)
}

fn text_part(parts: &[Part], name: &str) -> Result<String> {
    let part = parts.iter().find(|p| p.name == name).ok_or_else(|| Refusal::invalid(format!("{name} is required")))?;
    String::from_utf8(part.data.clone())
        .map(|s| s.trim().to_string())
        .map_err(|_| Refusal::invalid(format!("{name} is not text")).into())
}

/// The uploaded file and its recipient from a multipart body.
pub async fn upload(req: &Request, group: bool) -> Result<(Target, Upload)> {
    let content_type = req.headers().get(http::header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("");
    if !content_type.to_ascii_lowercase().starts_with("multipart/form-data") {
        return Err(Refusal::UnsupportedMedia("send multipart/form-data with the file and its recipient".into()).into());
    }
    let mut parts = parse_multipart(content_type, req.body().as_ref()).await?;
    let target = if group {
        Target::Group(text_part(&parts, "g_id")?.parse().map_err(|_| Refusal::invalid("g_id must be a number"))?)
    } else {
        Target::User(text_part(&parts, "to")?.parse().map_err(|_| Refusal::invalid("to must be a user id"))?)
    };
    let client_id = match parts.iter().find(|p| p.name == "id") {
        Some(part) => Some(String::from_utf8(part.data.clone()).map_err(|_| Refusal::invalid("id is not text"))?),
        None => None,
    };
    let file = parts
        .iter()
        .position(|p| p.content_type.is_some() || p.name == "filename" || p.name == "file")
        .map(|i| parts.swap_remove(i))
        .ok_or_else(|| Refusal::invalid("the file part is missing"))?;
    Ok((target, Upload { bytes: file.data, content_type: file.content_type, client_id }))
}

async fn upload_and_send(ctx: &Ctx, req: &Request, group: bool) -> Result<Reply> {
    let actor = ctx.actor()?;
    let (target, upload) = upload(req, group).await?;
    let (client_id, result) = audio::send(&*ctx.clients, &actor, target, upload).await?;
    Ok(sent(&client_id, &result))
}

/// `POST /m/audio`: the file and `to`.
pub async fn send_audio(ctx: &Ctx, req: &Request) -> Result<Reply> {
    upload_and_send(ctx, req, false).await
}

/// `POST /gm/audio`: the file and `g_id`.
pub async fn send_group_audio(ctx: &Ctx, req: &Request) -> Result<Reply> {
    upload_and_send(ctx, req, true).await
}

/// `POST /audio/upload`: the presigned POST form (`url` and `fields`; the file goes last) and
/// the key to send as an audio message's `c` once the phone has uploaded the file.
pub async fn presign_audio_upload(ctx: &Ctx, _req: &Request) -> Result<Reply> {
    let caller = ctx.caller()?;
    let (key, form) = audio::presign_upload(&*ctx.clients, caller.user_id).await?;
    Ok(upload_answer(&key, form, ("audio/amr", MAX_AUDIO_BYTES as u64)))
}

/// The answer to a presign: the key to send as the message's `c`, and the form (`url`,
/// `fields`) to POST the file with, which S3 holds to `content_type` and `max_bytes`.
pub fn upload_answer(key: &str, form: UploadForm, (content_type, max_bytes): (&str, u64)) -> Reply {
    let fields: serde_json::Map<String, serde_json::Value> =
        form.fields.into_iter().map(|(k, v)| (k, v.into())).collect();
    let upload = json!({
        "key": key,
        "url": form.url,
        "method": "POST",
        "content_type": content_type,
        "max_bytes": max_bytes,
        "fields": fields,
    });
    Reply::ok(json!({ "upload": [upload] }))
}

/// `GET /file/audio/{name}`: an audio message's `c` (simple_im's `file/audio/<name>.amr`),
/// for participants of its conversation: `302` to a freshly signed URL of the file.
pub async fn get_audio(ctx: &Ctx, req: &Request) -> Result<Reply> {
    redirect(ctx, req, "audio", "audio").await
}

/// `302` to a freshly signed URL of the object at `file/<prefix>/{name}`, answered in `section`.
pub async fn redirect(ctx: &Ctx, req: &Request, prefix: &str, section: &'static str) -> Result<Reply> {
    let caller = ctx.caller()?;
    let url = media::file_url(&*ctx.clients, caller.user_id, (prefix, path_param(req, "name")?)).await?;
    Ok(found(url, section))
}

/// `302 Found` to `url`, which the body names too (in `section`).
pub fn found(url: String, section: &'static str) -> Reply {
    let reply = Reply::ok(json!({ section: [{ "url": url }] })).with_status(http::StatusCode::FOUND);
    reply.with_header(http::header::LOCATION, url)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn multipart_parts() {
        let body = b"--XyZ\r\nContent-Disposition: form-data; name=\"filename\"; filename=\"a.amr\"\r\nContent-Type: audio/amr\r\n\r\n#!AMR\n\x00\x01\r\n--XyZ\r\nContent-Disposition: form-data; name=\"to\"\r\n\r\n2\r\n--XyZ--\r\n";
        let parts = parse_multipart("multipart/form-data; boundary=XyZ", body).await.unwrap();
        assert_eq!(parts.len(), 2);
        assert_eq!(parts[0].data, b"#!AMR\n\x00\x01");
        assert_eq!(text_part(&parts, "to").unwrap(), "2");
        assert!(parse_multipart("multipart/form-data; boundary=XyZ", b"--XyZ\r\nbroken").await.is_err());
        assert!(parse_multipart("multipart/form-data", body).await.is_err());
    }
}
