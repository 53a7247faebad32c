//! Rate-limit counters in the users table: `limit#<action>#<subject>#<window start>`, `n`
//! counted by atomic ADD, `expires_at` at the window's end so TTL removes it.

use super::{aws, lost_condition, n, s, users, Result};
use im_adapters::Clients;

/// Counts `by` more attempts under `key` and returns the count so far in its window.
pub async fn count(clients: &Clients, key: &str, by: u64, expires_at: u64) -> Result<u64> {
    users::add(clients, key, "n", by as i64, Some(expires_at)).await
}

/// Gives back one attempt counted under `key` (a login that turned out right).
pub async fn refund(clients: &Clients, key: &str, expires_at: u64) -> Result<()> {
    users::add(clients, key, "n", -1, Some(expires_at)).await.map(|_| ())
}

/// Takes the one turn of `key` in a sliding window of `window_ms` milliseconds ending `now_ms`:
/// `true` for the first caller since the last turn, `false` until the window has passed (one
/// conditional write either way, so every instance of every function agrees).
pub async fn turn(clients: &Clients, key: &str, now_ms: u64, window_ms: u64) -> Result<bool> {
    let update = clients.dynamodb.update_item().table_name(&clients.config.tables.users).key("pk", s(key));
    let update = update
        .update_expression("SET #at = :now, expires_at = :expires")
        .condition_expression("attribute_not_exists(#at) OR #at <= :cutoff")
        .expression_attribute_names("#at", "at")
        .expression_attribute_values(":now", n(now_ms))
        .expression_attribute_values(":cutoff", n(now_ms.saturating_sub(window_ms)))
        .expression_attribute_values(":expires", n(now_ms / 1000 + window_ms / 1000 + 60));
    match update.send().await {
        Ok(_) => Ok(true),
        Err(err) if lost_condition(&err) => Ok(false),
        Err(err) => Err(aws(err)),
    }
}
