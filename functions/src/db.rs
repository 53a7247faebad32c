//! Small helpers for DynamoDB attribute maps, so area modules read like the model.

use aws_sdk_dynamodb::types::AttributeValue;
use std::collections::HashMap;

pub type Item = HashMap<String, AttributeValue>;

pub fn s(value: impl Into<String>) -> AttributeValue {
    AttributeValue::S(value.into())
}

pub fn n(value: impl ToString) -> AttributeValue {
    AttributeValue::N(value.to_string())
}

pub fn b(value: bool) -> AttributeValue {
    AttributeValue::Bool(value)
}

/// Typed reads from an item; a missing or mistyped attribute reads as `None`.
pub trait ItemExt {
    fn str(&self, name: &str) -> Option<&str>;
    fn u64(&self, name: &str) -> Option<u64>;
    fn bool(&self, name: &str) -> Option<bool>;
}

impl ItemExt for Item {
    fn str(&self, name: &str) -> Option<&str> {
        self.get(name).and_then(|v| v.as_s().ok()).map(String::as_str)
    }
    fn u64(&self, name: &str) -> Option<u64> {
        self.get(name).and_then(|v| v.as_n().ok()).and_then(|v| v.parse().ok())
    }
    fn bool(&self, name: &str) -> Option<bool> {
        self.get(name).and_then(|v| v.as_bool().ok()).copied()
    }
}

/// Seconds since the Unix epoch: what DynamoDB's TTL reads and what simple_im's `ts` carries.
pub fn now_secs() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0)
}

/// Writes items in one transaction. `Ok(false)` means a condition failed or another transaction
/// got there first: the caller's view is stale and it should read again.
pub async fn transact(
    clients: &im_adapters::Clients,
    writes: Vec<aws_sdk_dynamodb::types::TransactWriteItem>,
) -> crate::api::ApiResult<bool> {
    use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError as E;
    match clients.dynamodb.transact_write_items().set_transact_items(Some(writes)).send().await {
        Ok(_) => Ok(true),
        Err(err) => match err.as_service_error() {
            Some(E::TransactionCanceledException(_)) | Some(E::TransactionInProgressException(_)) => Ok(false),
            _ => Err(crate::api::ApiError::aws(err)),
        },
    }
}

/// Optimistic concurrency: runs read-decide-write `attempt`s (each `Ok(None)` when it lost a
/// race) with a short growing backoff, until one wins.
pub async fn until_won<T, F, Fut>(mut attempt: F) -> crate::api::ApiResult<T>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = crate::api::ApiResult<Option<T>>>,
{
    for round in 0..10u32 {
        if let Some(done) = attempt().await? {
            return Ok(done);
        }
        tokio::time::sleep(std::time::Duration::from_millis(5 << round.min(5))).await;
    }
    Err(crate::api::ApiError::new(http::StatusCode::CONFLICT, "too many concurrent changes, try again"))
}

/// Runs a Query to its last page (DynamoDB pages at 1 MB) and returns every item.
pub async fn query_all(
    query: aws_sdk_dynamodb::operation::query::builders::QueryFluentBuilder,
) -> crate::api::ApiResult<Vec<Item>> {
    let mut items = vec![];
    let mut start = None;
    loop {
        let out = query.clone().set_exclusive_start_key(start).send().await.map_err(crate::api::ApiError::aws)?;
        items.extend(out.items.unwrap_or_default());
        start = out.last_evaluated_key;
        if start.is_none() {
            return Ok(items);
        }
    }
}
