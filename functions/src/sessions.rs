//! Passwords (argon2id), session tokens (random, stored only as a SHA-256 hash, with expiry)
//! and resolving a request's token to the calling user.

use crate::api::{ApiError, ApiResult};
use crate::db::{n, now_secs, s, Item, ItemExt};
use argon2::password_hash::{rand_core::OsRng, PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::Argon2;
use base64::Engine;
use im_adapters::Clients;
use rand::RngCore;
use sha2::{Digest, Sha256};

/// Who is calling, as resolved from a valid token.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Caller {
    pub user_id: u64,
    /// The device the session was opened on (simple_im's `d`: android, iphone, ipad, web ...).
    pub device: String,
}

/// Hashes a password with argon2id off the async threads (it is deliberately slow).
pub async fn hash_password(password: String) -> ApiResult<String> {
    tokio::task::spawn_blocking(move || {
        let salt = SaltString::generate(&mut OsRng);
        Argon2::default().hash_password(password.as_bytes(), &salt).map(|h| h.to_string())
    })
    .await
    .map_err(ApiError::internal)?
    .map_err(ApiError::internal)
}

/// Checks a password against a stored hash. Without a stored hash it still spends the same work,
/// so response time does not tell whether an account exists.
pub async fn verify_password(password: String, stored: Option<String>) -> bool {
    tokio::task::spawn_blocking(move || {
        let stored = stored.unwrap_or_else(|| DUMMY_HASH.to_string());
        let Ok(parsed) = PasswordHash::new(&stored) else { return false };
        Argon2::default().verify_password(password.as_bytes(), &parsed).is_ok() && stored != DUMMY_HASH
    })
    .await
    .unwrap_or(false)
}

/// An argon2id hash of a random string nobody knows, used to equalise timing.
const DUMMY_HASH: &str =
    "$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHRzb21lc2FsdA$0vSPrNfTzZl0kbgJqrz4+qI9S3Hsv3W4mIC7WMCGqBs";

/// A new session token: 32 random bytes, URL-safe base64 (cookie- and query-safe).
pub fn new_token() -> String {
    let mut bytes = [0u8; 32];
    rand::thread_rng().fill_bytes(&mut bytes);
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

fn token_key(token: &str) -> String {
    format!("token#{}", hex::encode(Sha256::digest(token.as_bytes())))
}

/// Stores a session for `user_id` on `device`; only the hash of the token is written.
pub async fn open_session(clients: &Clients, user_id: u64, device: &str) -> ApiResult<String> {
    let token = new_token();
    let expires_at = now_secs() + clients.config.token_ttl_secs;
    clients
        .dynamodb
        .put_item()
        .table_name(&clients.config.tables.users)
        .item("pk", s(token_key(&token)))
        .item("user_id", n(user_id))
        .item("device", s(device))
        .item("expires_at", n(expires_at))
        .send()
        .await
        .map_err(ApiError::aws)?;
    Ok(token)
}

/// Ends the session of `token`; ending an unknown session is not an error.
pub async fn close_session(clients: &Clients, token: &str) -> ApiResult<()> {
    clients
        .dynamodb
        .delete_item()
        .table_name(&clients.config.tables.users)
        .key("pk", s(token_key(token)))
        .send()
        .await
        .map_err(ApiError::aws)?;
    Ok(())
}

/// Resolves a token to its caller: one GetItem. Expired sessions (not yet swept by TTL) fail.
pub async fn resolve(clients: &Clients, token: &str) -> ApiResult<Caller> {
    if token.is_empty() || token.len() > 256 {
        return Err(ApiError::unauthorized("invalid token"));
    }
    let item: Option<Item> = clients
        .dynamodb
        .get_item()
        .table_name(&clients.config.tables.users)
        .key("pk", s(token_key(token)))
        .send()
        .await
        .map_err(ApiError::aws)?
        .item;
    let item = item.ok_or_else(|| ApiError::unauthorized("invalid or expired token"))?;
    if item.u64("expires_at").unwrap_or(0) <= now_secs() {
        return Err(ApiError::unauthorized("invalid or expired token"));
    }
    match (item.u64("user_id"), item.str("device")) {
        (Some(user_id), Some(device)) => Ok(Caller { user_id, device: device.to_string() }),
        _ => Err(ApiError::internal("malformed session item")),
    }
}

/// Finds the token a client sent: `Authorization: Bearer`, else a `token=` cookie, else `?token=`
/// (browsers cannot set headers on a WebSocket handshake).
pub fn find_token<'a>(
    authorization: Option<&'a str>,
    cookies: impl IntoIterator<Item = &'a str>,
    query_token: Option<&'a str>,
) -> Option<&'a str> {
    if let Some(bearer) = authorization.and_then(|a| a.strip_prefix("Bearer ")) {
        return Some(bearer.trim());
    }
    for header in cookies {
        for cookie in header.split(';') {
            if let Some(value) = cookie.trim().strip_prefix("token=") {
                return Some(value.trim_matches('"'));
            }
        }
    }
    query_token
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn token_found_in_each_place_in_order() {
        assert_eq!(find_token(Some("Bearer abc"), ["token=zzz"], Some("q")), Some("abc"));
        assert_eq!(find_token(None, ["a=1; token=xyz; b=2"], Some("q")), Some("xyz"));
        assert_eq!(find_token(None, ["a=1"], Some("q")), Some("q"));
        assert_eq!(find_token(Some("Basic x"), [], None), None);
    }

    #[test]
    fn tokens_are_random_and_hash_differently() {
        let (a, b) = (new_token(), new_token());
        assert_ne!(a, b);
        assert_eq!(a.len(), 43);
        assert_ne!(token_key(&a), token_key(&b));
        assert!(!token_key(&a).contains(&a));
    }

    #[tokio::test]
    async fn passwords_verify_only_with_the_right_secret() {
        let hash = hash_password("888888".into()).await.unwrap();
        assert!(hash.starts_with("$argon2id$"));
        assert!(verify_password("888888".into(), Some(hash.clone())).await);
        assert!(!verify_password("888889".into(), Some(hash)).await);
        assert!(!verify_password("anything".into(), None).await);
    }
}
