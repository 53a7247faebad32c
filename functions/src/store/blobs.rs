//! The private audio bucket: AMR objects under `audio/<32 hex>.amr`, reached by presigned URLs.

use super::{aws, malformed, Result};
use aws_sdk_s3::presigning::PresigningConfig;
use im_adapters::Clients;
use std::time::Duration;

/// How long a presigned upload URL works.
pub const UPLOAD_URL_LIFETIME: Duration = Duration::from_secs(15 * 60);

/// Stores an AMR file under `key`.
pub async fn put_audio(clients: &Clients, key: &str, bytes: Vec<u8>) -> Result<()> {
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
