//! AMR audio (seed 001): files stored privately in S3 and sent as audio messages; presigned
//! PUT URLs for large files a phone uploads straight to S3.

use crate::domain::ids::{Actor, Target};
use crate::domain::message::{check_amr, Outgoing};
use crate::domain::refusal::{Error, Result};
use crate::service::messages::{self, Sent};
use crate::store::blobs;
use im_adapters::Clients;

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

/// An uploaded AMR file to send: the bytes, their declared type, the sender's id for it.
pub struct Upload {
    pub bytes: Vec<u8>,
    pub content_type: Option<String>,
    pub client_id: Option<String>,
}

/// `POST /m/audio`, `POST /gm/audio`: checks the file and the recipient (refused senders store
/// nothing), stores the file, then sends it as a message. Returns the client id and the send.
pub async fn send(clients: &Clients, actor: &Actor, target: Target, upload: Upload) -> Result<(String, Sent)> {
    check_amr(&upload.bytes, upload.content_type.as_deref())?;
    messages::check_allowed(clients, actor.user_id, target).await?;
    let client_id = upload.client_id.unwrap_or_else(new_key);
    let key = key_for(actor.user_id, &client_id);
    blobs::put_audio(clients, &key, upload.bytes).await?;
    let out = Outgoing::new(client_id.clone(), "audio", key, target)?;
    Ok((client_id, messages::send(clients, actor, &out).await?))
}

/// `POST /audio/upload`: a fresh key and a presigned PUT URL for it.
pub async fn presign_upload(clients: &Clients) -> Result<(String, String)> {
    let key = new_key();
    let url = blobs::upload_url(clients, &key).await.map_err(Error::from)?;
    Ok((key, url))
}
