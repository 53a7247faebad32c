//! Rate-limit counters in the users table: `limit#<action>#<subject>#<window start>`, `n`
//! counted by atomic ADD, `expires_at` at the window's end so TTL removes it.

use super::{aws, n, s, Result};
use im_adapters::Clients;

/// Counts one more attempt under `key` and returns the count so far in its window.
pub async fn count(clients: &Clients, key: &str, expires_at: u64) -> Result<u64> {
    let out = clients
        .dynamodb
        .update_item()
        .table_name(&clients.config.tables.users)
        .key("pk", s(key))
        .update_expression("ADD #n :one SET expires_at = :expires")
        .expression_attribute_names("#n", "n")
        .expression_attribute_values(":one", n(1))
        .expression_attribute_values(":expires", n(expires_at))
        .return_values(aws_sdk_dynamodb::types::ReturnValue::UpdatedNew)
        .send()
        .await
        .map_err(aws)?;
    let counted = out.attributes.as_ref().and_then(|a| a.get("n")).and_then(|v| v.as_n().ok());
    Ok(counted.and_then(|v| v.parse().ok()).unwrap_or(u64::MAX))
}
