//! AMR audio (seed 001): `POST /m/audio` (multipart: the file and `to`) and `POST /gm/audio`
//! (the file and `g_id`) store the file privately in S3 and send an audio message whose
//! content is a short-lived presigned GET URL. `POST /audio/upload` hands out a presigned PUT
//! URL for large files a phone uploads straight to S3; the message then names the `key`.

use crate::api::{ApiError, ApiResult, Reply};
use crate::contacts::actor;
use crate::messages::{self, Outgoing, Target};
use crate::Ctx;
use aws_sdk_s3::presigning::PresigningConfig;
use http::StatusCode;
use im_adapters::Clients;
use lambda_http::Request;
use serde_json::json;
use std::time::Duration;

/// Every AMR file starts with this.
pub const AMR_MAGIC: &[u8] = b"#!AMR\n";
/// Largest audio accepted: minutes of AMR speech.
pub const MAX_AUDIO_BYTES: usize = 1024 * 1024;
/// How long a presigned URL works.
pub const URL_LIFETIME: Duration = Duration::from_secs(15 * 60);

/// Checks an upload is AMR: the declared type (when one is given) and the magic header.
pub fn check_amr(bytes: &[u8], content_type: Option<&str>) -> ApiResult<()> {
    if let Some(ct) = content_type.map(str::to_ascii_lowercase) {
        let ct = ct.split(';').next().unwrap_or_default().trim().to_string();
        if !["audio/amr", "audio/x-amr", "application/octet-stream", ""].contains(&ct.as_str()) {
            return Err(ApiError::new(StatusCode::UNSUPPORTED_MEDIA_TYPE, format!("audio must be AMR, not {ct}")));
        }
    }
    if bytes.len() > MAX_AUDIO_BYTES {
        return Err(ApiError::new(StatusCode::PAYLOAD_TOO_LARGE, "audio is larger than 1 MiB"));
    }
    if !bytes.starts_with(AMR_MAGIC) {
        return Err(ApiError::new(StatusCode::UNSUPPORTED_MEDIA_TYPE, "not an AMR file (no #!AMR header)"));
    }
    Ok(())
}

/// One part of a `multipart/form-data` body.
#[derive(Debug)]
pub struct Part {
    pub name: String,
    pub content_type: Option<String>,
    pub data: Vec<u8>,
}

fn find(haystack: &[u8], needle: &[u8], from: usize) -> Option<usize> {
    haystack.get(from..)?.windows(needle.len()).position(|w| w == needle).map(|i| i + from)
}

/// Parses a `multipart/form-data` body (what `curl -F` sends).
pub fn parse_multipart(content_type: &str, body: &[u8]) -> ApiResult<Vec<Part>> {
    let boundary = content_type
        .split(';')
        .find_map(|p| p.trim().strip_prefix("boundary="))
        .map(|b| b.trim_matches('"').to_string())
        .ok_or_else(|| ApiError::bad_request("multipart body without a boundary"))?;
    let delimiter = format!("--{boundary}").into_bytes();
    let broken = || ApiError::bad_request("malformed multipart body");
    let mut parts = vec![];
    let mut at = find(body, &delimiter, 0).ok_or_else(broken)? + delimiter.len();
    while !body[at..].starts_with(b"--") {
        let headers_end = find(body, b"\r\n\r\n", at).ok_or_else(broken)?;
        let headers = std::str::from_utf8(&body[at..headers_end]).map_err(|_| broken())?;
        let data_start = headers_end + 4;
        let next = find(body, &delimiter, data_start).ok_or_else(broken)?;
        let data_end = next.checked_sub(2).filter(|e| *e >= data_start).ok_or_else(broken)?;
        let mut name = None;
        let mut content_type = None;
        for line in headers.lines() {
            let lower = line.to_ascii_lowercase();
            if lower.starts_with("content-disposition:") {
                name = line
                    .split(';')
                    .find_map(|p| p.trim().strip_prefix("name="))
                    .map(|n| n.trim_matches('"').to_string());
            } else if let Some(ct) = lower.strip_prefix("content-type:") {
                content_type = Some(ct.trim().to_string());
            }
        }
        parts.push(Part { name: name.ok_or_else(broken)?, content_type, data: body[data_start..data_end].to_vec() });
        at = next + delimiter.len();
        if at >= body.len() {
            return Err(broken());
        }
    }
    Ok(parts)
}

fn text_part(parts: &[Part], name: &str) -> ApiResult<String> {
    let part =
        parts.iter().find(|p| p.name == name).ok_or_else(|| ApiError::bad_request(format!("{name} is required")))?;
    String::from_utf8(part.data.clone())
        .map(|s| s.trim().to_string())
        .map_err(|_| ApiError::bad_request(format!("{name} is not text")))
}

/// A presigned GET URL for a stored audio key.
pub async fn download_url(clients: &Clients, key: &str) -> ApiResult<String> {
    let config = PresigningConfig::expires_in(URL_LIFETIME).map_err(ApiError::internal)?;
    let request = clients.s3.get_object().bucket(&clients.config.audio_bucket).key(key).presigned(config).await;
    Ok(request.map_err(ApiError::aws)?.uri().to_string())
}

fn new_key() -> String {
    use rand::Rng;
    format!("audio/{:032x}.amr", rand::thread_rng().gen::<u128>())
}

/// The key of a sender's upload with their own message id: a retried upload overwrites the
/// same object (and the send is deduplicated) instead of leaving an orphan.
fn key_for(sender: u64, client_id: &str) -> String {
    use sha2::{Digest, Sha256};
    let digest = Sha256::digest(format!("{sender}\n{client_id}").as_bytes());
    format!("audio/{}.amr", &hex::encode(digest)[..32])
}

/// `POST /m/audio` and `POST /gm/audio`: stores the AMR file, then sends it as a message.
async fn upload_and_send(ctx: &Ctx, req: &Request, group: bool) -> ApiResult {
    let caller = ctx.caller()?;
    let content_type = req.headers().get(http::header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("");
    if !content_type.to_ascii_lowercase().starts_with("multipart/form-data") {
        return Err(ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "send multipart/form-data with the file and its recipient",
        ));
    }
    let parts = parse_multipart(content_type, req.body().as_ref())?;
    let file = parts
        .iter()
        .find(|p| p.content_type.is_some() || p.name == "filename" || p.name == "file")
        .ok_or_else(|| ApiError::bad_request("the audio file part is missing"))?;
    check_amr(&file.data, file.content_type.as_deref())?;
    let target = if group {
        Target::Group(text_part(&parts, "g_id")?.parse().map_err(|_| ApiError::bad_request("g_id must be a number"))?)
    } else {
        Target::User(text_part(&parts, "to")?.parse().map_err(|_| ApiError::bad_request("to must be a user id"))?)
    };
    // Refused senders store nothing.
    messages::check_allowed(&ctx.clients, caller.user_id, target).await?;
    let client_id = match parts.iter().find(|p| p.name == "id") {
        Some(part) => String::from_utf8(part.data.clone()).map_err(|_| ApiError::bad_request("id is not text"))?,
        None => new_key(),
    };
    let key = key_for(caller.user_id, &client_id);
    ctx.clients
        .s3
        .put_object()
        .bucket(&ctx.clients.config.audio_bucket)
        .key(&key)
        .content_type("audio/amr")
        .body(file.data.clone().into())
        .send()
        .await
        .map_err(ApiError::aws)?;
    let out = Outgoing { client_id, kind: "audio".into(), content: key, target };
    let sent = messages::send(&ctx.clients, &actor(caller), &out).await?;
    let status = if sent.new { StatusCode::CREATED } else { StatusCode::OK };
    Ok(Reply::ok(json!({ "message": [{ "id": out.client_id, "sid": sent.id }] })).with_status(status))
}

pub async fn send_audio(ctx: &Ctx, req: &Request) -> ApiResult {
    upload_and_send(ctx, req, false).await
}

pub async fn send_group_audio(ctx: &Ctx, req: &Request) -> ApiResult {
    upload_and_send(ctx, req, true).await
}

/// `POST /audio/upload`: a presigned PUT URL and the key to send as an audio message's `c`
/// once the phone has uploaded the file.
pub async fn presign_upload(ctx: &Ctx, _req: &Request) -> ApiResult {
    ctx.caller()?;
    let key = new_key();
    let config = PresigningConfig::expires_in(URL_LIFETIME).map_err(ApiError::internal)?;
    let request = ctx
        .clients
        .s3
        .put_object()
        .bucket(&ctx.clients.config.audio_bucket)
        .key(&key)
        .content_type("audio/amr")
        .presigned(config)
        .await
        .map_err(ApiError::aws)?;
    Ok(Reply::ok(
        json!({ "upload": [{ "key": key, "url": request.uri(), "method": "PUT", "content_type": "audio/amr" }] }),
    ))
}

/// Checks an uploaded key holds AMR (first bytes only) before a message may point at it.
pub async fn check_uploaded(clients: &Clients, key: &str) -> ApiResult<()> {
    let object = clients
        .s3
        .get_object()
        .bucket(&clients.config.audio_bucket)
        .key(key)
        .range(format!("bytes=0-{}", AMR_MAGIC.len() - 1))
        .send()
        .await
        .map_err(|err| match err.as_service_error() {
            Some(e) if e.is_no_such_key() => ApiError::bad_request("no uploaded audio under that key"),
            _ => ApiError::aws(err),
        })?;
    let head = object.body.collect().await.map_err(ApiError::internal)?.into_bytes();
    if head.as_ref() != AMR_MAGIC {
        return Err(ApiError::new(StatusCode::UNSUPPORTED_MEDIA_TYPE, "not an AMR file (no #!AMR header)"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn multipart_parts_and_amr_checks() {
        let body = b"--XyZ\r\nContent-Disposition: form-data; name=\"filename\"; filename=\"a.amr\"\r\nContent-Type: audio/amr\r\n\r\n#!AMR\n\x00\x01\r\n--XyZ\r\nContent-Disposition: form-data; name=\"to\"\r\n\r\n2\r\n--XyZ--\r\n";
        let parts = parse_multipart("multipart/form-data; boundary=XyZ", body).unwrap();
        assert_eq!(parts.len(), 2);
        assert_eq!(parts[0].data, b"#!AMR\n\x00\x01");
        assert_eq!(text_part(&parts, "to").unwrap(), "2");
        assert!(check_amr(&parts[0].data, parts[0].content_type.as_deref()).is_ok());
        assert!(check_amr(b"RIFF....WAVE", Some("audio/amr")).is_err());
        assert!(check_amr(b"#!AMR\n", Some("image/png")).is_err());
        assert!(parse_multipart("multipart/form-data; boundary=XyZ", b"--XyZ\r\nbroken").is_err());
        assert!(parse_multipart("multipart/form-data", body).is_err());
    }
}
