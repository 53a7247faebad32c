//! Sessions in the users table: `token#<sha256(token)>` with the user, the device and an
//! `expires_at` TTL. The token itself is never stored.

use super::{aws, from_item, s, to_item, Result};
use crate::domain::ids::DeviceName;
use crate::domain::now_secs;
use im_adapters::Clients;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

#[derive(Serialize, Deserialize)]
struct SessionItem {
    pk: String,
    user_id: u64,
    device: String,
    /// The login's own tag (see `domain::ids::device_key`); none on older sessions.
    #[serde(default)]
    tag: String,
    expires_at: u64,
}

fn token_key(token: &str) -> String {
    format!("token#{}", hex::encode(Sha256::digest(token.as_bytes())))
}

/// Stores a session for `user_id` on `device`, for the configured lifetime.
pub async fn open(clients: &Clients, token: &str, user_id: u64, device: &DeviceName, tag: &str) -> Result<()> {
    let item = SessionItem {
        pk: token_key(token),
        user_id,
        device: device.to_string(),
        tag: tag.to_string(),
        expires_at: now_secs() + clients.config.token_ttl_secs,
    };
    let put = clients.dynamodb.put_item().table_name(&clients.config.tables.users).set_item(Some(to_item(&item)?));
    put.send().await.map_err(aws)?;
    Ok(())
}

/// Ends the session of `token`; ending an unknown session is not an error.
pub async fn close(clients: &Clients, token: &str) -> Result<()> {
    let delete = clients.dynamodb.delete_item().table_name(&clients.config.tables.users).key("pk", s(token_key(token)));
    delete.send().await.map_err(aws)?;
    Ok(())
}

/// The user, device and tag of a live session (one GetItem); `None` when unknown or expired
/// (and not yet swept by TTL).
pub async fn find(clients: &Clients, token: &str) -> Result<Option<(u64, String, String)>> {
    let get = clients.dynamodb.get_item().table_name(&clients.config.tables.users).key("pk", s(token_key(token)));
    let Some(item) = get.send().await.map_err(aws)?.item else { return Ok(None) };
    let session: SessionItem = from_item(item)?;
    Ok((session.expires_at > now_secs()).then_some((session.user_id, session.device, session.tag)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_hash_of_the_token_is_the_key() {
        let key = token_key("abc");
        assert!(key.starts_with("token#") && !key.contains("abc"));
        assert_ne!(key, token_key("abd"));
    }
}
