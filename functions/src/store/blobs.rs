//! The private audio bucket: attached AMR objects under `audio/<32 hex>.amr`, uploads waiting
//! for a message under `upload/<user>/<32 hex>.amr` (a lifecycle rule expires those), reached
//! by presigned URLs; uploads come by a presigned POST whose policy S3 enforces.

use super::post_policy::{self, UploadForm};
use super::{aws, malformed, Result, StoreError};
use aws_sdk_s3::config::http::HttpResponse;
use aws_sdk_s3::config::ProvideCredentials;
use aws_sdk_s3::error::SdkError;
use aws_sdk_s3::presigning::PresigningConfig;
use im_adapters::Clients;
use std::time::{Duration, SystemTime};

/// How long a presigned upload form works.
pub const UPLOAD_URL_LIFETIME: Duration = Duration::from_secs(15 * 60);

/// An object as a HEAD saw it: its size and the ETag later reads and the copy are pinned to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Stat {
    pub size: u64,
    pub etag: String,
}

/// Stores a file under `key`.
pub async fn put(clients: &Clients, key: &str, bytes: Vec<u8>, content_type: &str) -> Result<()> {
    let put = clients.s3.put_object().bucket(&clients.config.audio_bucket).key(key).content_type(content_type);
    put.body(bytes.into()).send().await.map_err(aws)?;
    Ok(())
}

/// How a download is answered: its type, and for a file, the name it is saved under.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Download {
    pub content_type: Option<String>,
    /// Served as an attachment with this name (`Content-Disposition`).
    pub file_name: Option<String>,
}

/// A presigned GET URL for a stored key, working for the configured lifetime, answered with
/// the headers `response` asks for (S3's `response-content-type`, `response-content-disposition`).
pub async fn download_url(clients: &Clients, key: &str, response: &Download) -> Result<String> {
    let lifetime = Duration::from_secs(clients.config.audio_url_ttl_secs);
    let config = PresigningConfig::expires_in(lifetime).map_err(malformed)?;
    let get = clients.s3.get_object().bucket(&clients.config.audio_bucket).key(key);
    let get = get.set_response_content_type(response.content_type.clone());
    let get = get.set_response_content_disposition(response.file_name.as_deref().map(attachment));
    let request = get.presigned(config).await;
    Ok(request.map_err(aws)?.uri().to_string())
}

/// `attachment` with RFC 6266's `filename*` (UTF-8, percent-encoded) and an ASCII fallback.
fn attachment(name: &str) -> String {
    use percent_encoding::{utf8_percent_encode, NON_ALPHANUMERIC};
    let ascii: String =
        name.chars().map(|c| if c.is_ascii_graphic() && c != '"' && c != '\\' { c } else { '_' }).collect();
    format!("attachment; filename=\"{ascii}\"; filename*=UTF-8''{}", utf8_percent_encode(name, NON_ALPHANUMERIC))
}

/// The presigned POST form a phone uploads an AMR file with: S3 itself refuses another key or
/// type, or a body outside 1..=`max_bytes` (see `post_policy`). Signed with the S3 client's own
/// credentials, which may put objects under `upload/` only.
pub async fn upload_form(clients: &Clients, key: &str, content_type: &str, max_bytes: u64) -> Result<UploadForm> {
    let provider = clients.credentials.as_ref().ok_or_else(|| StoreError::Aws("clients without credentials".into()))?;
    let credentials = provider.provide_credentials().await.map_err(|e| StoreError::Unavailable(format!("{e:?}")))?;
    let region = clients.s3.config().region().map_or(clients.config.region.as_str(), |r| r.as_ref());
    let bucket = &clients.config.audio_bucket;
    let upload = post_policy::Upload { bucket, key, content_type, max_bytes };
    let signer = post_policy::Signer {
        access_key: credentials.access_key_id(),
        secret_key: credentials.secret_access_key(),
        session_token: credentials.session_token(),
        region,
    };
    let url = post_policy::bucket_url(clients.config.s3_endpoint.as_deref(), bucket, region);
    Ok(post_policy::form(url, &upload, &signer, SystemTime::now(), UPLOAD_URL_LIFETIME))
}

/// An object's size and ETag; `None` when there is no such key.
pub async fn stat(clients: &Clients, key: &str) -> Result<Option<Stat>> {
    let head = clients.s3.head_object().bucket(&clients.config.audio_bucket).key(key).send().await;
    match head {
        Ok(head) => Ok(Some(Stat {
            size: head.content_length.unwrap_or(0).max(0) as u64,
            etag: head.e_tag.unwrap_or_default(),
        })),
        Err(err) if err.as_service_error().is_some_and(|e| e.is_not_found()) => Ok(None),
        Err(err) if status_of(&err) == Some(404) => Ok(None),
        Err(err) => Err(aws(err)),
    }
}

/// Moves an object to another key in the bucket (a copy, then the delete), only while it is the
/// object whose ETag is `etag`: `false` when it was replaced or removed since, so what is
/// attached is what was checked.
pub async fn rename_if(clients: &Clients, from: &str, to: &str, etag: &str) -> Result<bool> {
    let bucket = &clients.config.audio_bucket;
    let copy = clients.s3.copy_object().bucket(bucket).copy_source(format!("{bucket}/{from}")).key(to);
    match copy.copy_source_if_match(etag).send().await {
        Ok(_) => delete(clients, from).await.map(|_| true),
        Err(err) if changed(status_of(&err)) => Ok(false),
        Err(err) => Err(aws(err)),
    }
}

/// Deletes an object (nothing when there is none).
pub async fn delete(clients: &Clients, key: &str) -> Result<()> {
    clients.s3.delete_object().bucket(&clients.config.audio_bucket).key(key).send().await.map_err(aws)?;
    Ok(())
}

/// The first `len` bytes of the object whose ETag is `etag`; `None` when there is no such key
/// or it was replaced since.
pub async fn first_bytes(clients: &Clients, key: &str, len: usize, etag: &str) -> Result<Option<Vec<u8>>> {
    let get = clients.s3.get_object().bucket(&clients.config.audio_bucket).key(key).if_match(etag);
    let object = match get.range(format!("bytes=0-{}", len.saturating_sub(1))).send().await {
        Ok(object) => object,
        Err(err) if err.as_service_error().is_some_and(|e| e.is_no_such_key()) => return Ok(None),
        Err(err) if changed(status_of(&err)) => return Ok(None),
        Err(err) => return Err(aws(err)),
    };
    Ok(Some(object.body.collect().await.map_err(malformed)?.into_bytes().to_vec()))
}

/// The HTTP status of S3's answer to a failed call.
fn status_of<E>(err: &SdkError<E, HttpResponse>) -> Option<u16> {
    err.raw_response().map(|r| r.status().as_u16())
}

/// 412 Precondition Failed (another object under the key now) or 404 (none any more).
fn changed(status: Option<u16>) -> bool {
    matches!(status, Some(412 | 404))
}
