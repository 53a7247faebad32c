//! The private audio bucket: attached AMR objects under `audio/<32 hex>.amr`, uploads waiting
//! for a message under `upload/<user>/<32 hex>.amr` (a lifecycle rule expires those), reached
//! by presigned URLs.

use super::{aws, malformed, Result};
use aws_sdk_s3::presigning::PresigningConfig;
use im_adapters::Clients;
use std::time::Duration;

/// How long a presigned upload URL works.
pub const UPLOAD_URL_LIFETIME: Duration = Duration::from_secs(15 * 60);

/// Stores an AMR file under `key`.
pub async fn put(clients: &Clients, key: &str, bytes: Vec<u8>) -> Result<()> {
    let put = clients.s3.put_object().bucket(&clients.config.audio_bucket).key(key).content_type("audio/amr");
    put.body(bytes.into()).send().await.map_err(aws)?;
    Ok(())
}

/// A presigned GET URL for a stored key, working for the configured lifetime.
pub async fn download_url(clients: &Clients, key: &str) -> Result<String> {
    let lifetime = Duration::from_secs(clients.config.audio_url_ttl_secs);
    let config = PresigningConfig::expires_in(lifetime).map_err(malformed)?;
    let request = clients.s3.get_object().bucket(&clients.config.audio_bucket).key(key).presigned(config).await;
    Ok(request.map_err(aws)?.uri().to_string())
}

/// A presigned PUT URL a phone uploads an AMR file to.
pub async fn upload_url(clients: &Clients, key: &str) -> Result<String> {
    let config = PresigningConfig::expires_in(UPLOAD_URL_LIFETIME).map_err(malformed)?;
    let put = clients.s3.put_object().bucket(&clients.config.audio_bucket).key(key).content_type("audio/amr");
    Ok(put.presigned(config).await.map_err(aws)?.uri().to_string())
}

/// The size of an object; `None` when there is no such key.
pub async fn size(clients: &Clients, key: &str) -> Result<Option<u64>> {
    let head = clients.s3.head_object().bucket(&clients.config.audio_bucket).key(key).send().await;
    match head {
        Ok(head) => Ok(Some(head.content_length.unwrap_or(0).max(0) as u64)),
        Err(err) if err.as_service_error().is_some_and(|e| e.is_not_found()) => Ok(None),
        Err(err) if err.raw_response().is_some_and(|r| r.status().as_u16() == 404) => Ok(None),
        Err(err) => Err(aws(err)),
    }
}

/// Moves an object to another key in the bucket (a copy, then the delete).
pub async fn rename(clients: &Clients, from: &str, to: &str) -> Result<()> {
    let bucket = &clients.config.audio_bucket;
    let copy = clients.s3.copy_object().bucket(bucket).copy_source(format!("{bucket}/{from}")).key(to);
    copy.send().await.map_err(aws)?;
    delete(clients, from).await
}

/// Deletes an object (nothing when there is none).
pub async fn delete(clients: &Clients, key: &str) -> Result<()> {
    clients.s3.delete_object().bucket(&clients.config.audio_bucket).key(key).send().await.map_err(aws)?;
    Ok(())
}

/// The first `len` bytes of an object; `None` when there is no such key.
pub async fn first_bytes(clients: &Clients, key: &str, len: usize) -> Result<Option<Vec<u8>>> {
    let get = clients.s3.get_object().bucket(&clients.config.audio_bucket).key(key);
    let object = match get.range(format!("bytes=0-{}", len.saturating_sub(1))).send().await {
        Ok(object) => object,
        Err(err) if err.as_service_error().is_some_and(|e| e.is_no_such_key()) => return Ok(None),
        Err(err) => return Err(aws(err)),
    };
    Ok(Some(object.body.collect().await.map_err(malformed)?.into_bytes().to_vec()))
}
