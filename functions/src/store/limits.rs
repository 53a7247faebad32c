//! Rate-limit counters in the users table: `limit#<action>#<subject>#<window start>`, `n`
//! counted by atomic ADD, `expires_at` at the window's end so TTL removes it.

use super::{users, Result};
use im_adapters::Clients;

/// Counts `by` more attempts under `key` and returns the count so far in its window.
pub async fn count(clients: &Clients, key: &str, by: u64, expires_at: u64) -> Result<u64> {
    users::add(clients, key, "n", by as i64, Some(expires_at)).await
}

/// Gives back one attempt counted under `key` (a login that turned out right).
pub async fn refund(clients: &Clients, key: &str, expires_at: u64) -> Result<()> {
    users::add(clients, key, "n", -1, Some(expires_at)).await.map(|_| ())
}
