//! The store layer: one module per table (and the audio bucket), typed items in and out. It
//! returns [`StoreError`], never an HTTP answer; only rules applied inside a transaction
//! (relationships) come back as the domain's refusals.

mod account_ports;
mod aws;
mod aws_push;
pub mod blobs;
pub mod connections;
pub mod groups;
pub mod inbox;
pub mod limits;
pub mod live;
#[cfg(test)]
pub mod memory;
mod outside;
pub mod ports;
pub mod post_policy;
pub mod push;
mod push_ports;
pub mod pushable;
pub mod relations;
pub mod reports;
pub mod resets;
pub mod sessions;
pub mod streams;
pub mod users;
pub mod watch;

use crate::domain::refusal::{Error, Refusal};
use aws_sdk_dynamodb::error::SdkError;
use aws_sdk_dynamodb::operation::query::builders::QueryFluentBuilder;
use aws_sdk_dynamodb::types::{AttributeValue, KeysAndAttributes, TransactWriteItem, WriteRequest};
use im_adapters::Clients;
use serde::de::DeserializeOwned;
use serde::Serialize;
use std::collections::HashMap;
use std::future::Future;
use std::time::Duration;

pub use ports::Backend;

pub type Item = HashMap<String, AttributeValue>;

/// A uniqueness claim a sign-up makes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Claim {
    Phone,
    Email,
}

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// A failed AWS call, with its whole cause chain for the log.
    #[error("{0}")]
    Aws(String),
    #[error("malformed item: {0}")]
    Malformed(String),
    /// The claim belongs to someone else already.
    #[error("{0:?} already claimed")]
    Taken(Claim),
    /// Optimistic retries ran out against concurrent writers.
    #[error("too many concurrent changes")]
    Contended,
    /// The service timed out, could not be reached or throttled past the retries.
    #[error("{0}")]
    Unavailable(String),
}

pub type Result<T, E = StoreError> = std::result::Result<T, E>;

impl From<StoreError> for Error {
    fn from(err: StoreError) -> Error {
        match err {
            StoreError::Taken(Claim::Phone) => Refusal::PhoneTaken.into(),
            StoreError::Taken(Claim::Email) => Refusal::EmailTaken.into(),
            StoreError::Contended => Refusal::Contended.into(),
            StoreError::Unavailable(cause) => Error::Unavailable(cause),
            other => Error::Internal(other.to_string()),
        }
    }
}

/// Wraps a failed AWS SDK call: a timeout, a connection that failed or throttling past the
/// retries is `Unavailable` (the client is told to retry), anything else a failure.
pub fn aws<E, R>(err: SdkError<E, R>) -> StoreError
where
    E: std::error::Error + aws_sdk_dynamodb::error::ProvideErrorMetadata + 'static,
    R: std::fmt::Debug,
{
    let throttled = err.as_service_error().and_then(|e| e.code()).is_some_and(|code| {
        matches!(
            code,
            "ThrottlingException" | "ProvisionedThroughputExceededException" | "RequestLimitExceeded" | "SlowDown"
        )
    });
    let unavailable = matches!(err, SdkError::TimeoutError(_) | SdkError::DispatchFailure(_)) || throttled;
    let cause = aws_sdk_dynamodb::error::DisplayErrorContext(err).to_string();
    if unavailable {
        StoreError::Unavailable(cause)
    } else {
        StoreError::Aws(cause)
    }
}

pub fn malformed(err: impl std::fmt::Display) -> StoreError {
    StoreError::Malformed(err.to_string())
}

/// A typed item as DynamoDB attributes.
pub fn to_item(value: &impl Serialize) -> Result<Item> {
    serde_dynamo::to_item(value).map_err(malformed)
}

/// DynamoDB attributes as a typed item.
pub fn from_item<T: DeserializeOwned>(item: Item) -> Result<T> {
    serde_dynamo::from_item(item).map_err(malformed)
}

pub fn s(value: impl Into<String>) -> AttributeValue {
    AttributeValue::S(value.into())
}

pub fn n(value: impl ToString) -> AttributeValue {
    AttributeValue::N(value.to_string())
}

/// Writes items in one transaction. `Ok(false)` means a condition failed or another transaction
/// got there first: the caller's view is stale and it should read again.
pub async fn transact(clients: &Clients, writes: Vec<TransactWriteItem>) -> Result<bool> {
    use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError as E;
    match clients.dynamodb.transact_write_items().set_transact_items(Some(writes)).send().await {
        Ok(_) => Ok(true),
        Err(err) => match err.as_service_error() {
            Some(E::TransactionCanceledException(_)) | Some(E::TransactionInProgressException(_)) => Ok(false),
            _ => Err(aws(err)),
        },
    }
}

/// Whether a failed write only lost its condition (the caller re-reads and decides again).
pub fn lost_condition<E, R>(err: &aws_sdk_dynamodb::error::SdkError<E, R>) -> bool
where
    E: aws_sdk_dynamodb::error::ProvideErrorMetadata,
{
    err.as_service_error().and_then(|e| e.code()) == Some("ConditionalCheckFailedException")
}

/// Optimistic concurrency: runs read-decide-write `attempt`s (each `Ok(None)` when it lost a
/// race) with a short growing backoff, until one wins.
pub async fn until_won<T, E, F, Fut>(mut attempt: F) -> std::result::Result<T, E>
where
    E: From<StoreError>,
    F: FnMut() -> Fut,
    Fut: Future<Output = std::result::Result<Option<T>, E>>,
{
    for round in 0..10u32 {
        if let Some(done) = attempt().await? {
            return Ok(done);
        }
        tokio::time::sleep(Duration::from_millis(5 << round.min(5))).await;
    }
    Err(StoreError::Contended.into())
}

/// Sets `entry` under `name` in the map attribute `map` of the item `pk`. DynamoDB cannot set a
/// path inside a map that does not exist yet, so the first entry creates the map
/// (conditionally, against a race).
pub async fn put_in_map(
    clients: &Clients,
    table: &str,
    key: &str,
    (map, name): (&str, &str),
    entry: AttributeValue,
) -> Result<()> {
    let update = |expression: &str, condition: &str| {
        let update = clients.dynamodb.update_item().table_name(table).key("pk", s(key));
        update.update_expression(expression).condition_expression(condition).expression_attribute_names("#map", map)
    };
    let into_map = update("SET #map.#name = :entry", "attribute_exists(#map)")
        .expression_attribute_names("#name", name)
        .expression_attribute_values(":entry", entry.clone());
    let new_map = update("SET #map = :map", "attribute_not_exists(#map)")
        .expression_attribute_values(":map", AttributeValue::M(HashMap::from([(name.to_string(), entry)])));
    for _ in 0..3 {
        for attempt in [&into_map, &new_map] {
            match attempt.clone().send().await {
                Ok(_) => return Ok(()),
                Err(err) if !lost_condition(&err) => return Err(aws(err)),
                Err(_) => {}
            }
        }
    }
    Err(StoreError::Contended)
}

/// Removes entries from the map attribute `map` of the item `pk` (absent ones are no error).
pub async fn remove_from_map(clients: &Clients, table: &str, key: &str, map: &str, names: &[String]) -> Result<()> {
    for chunk in names.chunks(50) {
        let mut update = clients.dynamodb.update_item().table_name(table).key("pk", s(key));
        update = update.expression_attribute_names("#map", map);
        let mut paths = vec![];
        for (i, name) in chunk.iter().enumerate() {
            update = update.expression_attribute_names(format!("#n{i}"), name);
            paths.push(format!("#map.#n{i}"));
        }
        update.update_expression(format!("REMOVE {}", paths.join(", "))).send().await.map_err(aws)?;
    }
    Ok(())
}

/// Rounds of unprocessed items or keys a batch retries before it gives up as throttled.
const BATCH_ROUNDS: u32 = 8;

/// The pause before retry `round` of what a batch left unprocessed: growing, as AWS advises.
fn batch_backoff(round: u32) -> Duration {
    Duration::from_millis(10 << round.min(6))
}

/// Runs write requests 25 per BatchWriteItem, retrying what DynamoDB leaves unprocessed with a
/// growing backoff, [`BATCH_ROUNDS`] times at most; past that the table is throttled and the
/// caller is told to retry (`Unavailable`).
pub async fn batch_write(clients: &Clients, table: &str, requests: Vec<WriteRequest>) -> Result<()> {
    for chunk in requests.chunks(25) {
        let mut pending = chunk.to_vec();
        for round in 0.. {
            let out = clients.dynamodb.batch_write_item().request_items(table, pending).send().await.map_err(aws)?;
            pending = out.unprocessed_items.unwrap_or_default().remove(table).unwrap_or_default();
            if pending.is_empty() {
                break;
            }
            if round + 1 == BATCH_ROUNDS {
                return Err(StoreError::Unavailable(format!("{} writes left unprocessed by {table}", pending.len())));
            }
            tokio::time::sleep(batch_backoff(round)).await;
        }
    }
    Ok(())
}

/// Runs a Query to its last page (DynamoDB pages at 1 MB) and returns every item.
pub async fn query_all(query: QueryFluentBuilder) -> Result<Vec<Item>> {
    let mut items = vec![];
    let mut start = None;
    loop {
        let out = query.clone().set_exclusive_start_key(start).send().await.map_err(aws)?;
        items.extend(out.items.unwrap_or_default());
        start = out.last_evaluated_key;
        if start.is_none() {
            return Ok(items);
        }
    }
}

/// BatchGetItem takes at most 100 keys.
const BATCH_KEYS: usize = 100;

/// Reads many items of one table by key: one BatchGetItem per 100 keys, retrying what DynamoDB
/// leaves unprocessed with a growing backoff (as AWS advises), [`BATCH_ROUNDS`] times at most;
/// never a Scan.
pub async fn batch_get(clients: &Clients, table: &str, keys: Vec<Item>, consistent: bool) -> Result<Vec<Item>> {
    let mut found = vec![];
    for chunk in keys.chunks(BATCH_KEYS) {
        let mut pending = chunk.to_vec();
        for round in 0u32.. {
            let request = KeysAndAttributes::builder()
                .set_keys(Some(pending))
                .consistent_read(consistent)
                .build()
                .map_err(malformed)?;
            let out = clients.dynamodb.batch_get_item().request_items(table, request).send().await.map_err(aws)?;
            found.extend(out.responses.unwrap_or_default().remove(table).unwrap_or_default());
            pending = out.unprocessed_keys.unwrap_or_default().remove(table).map(|k| k.keys).unwrap_or_default();
            if pending.is_empty() {
                break;
            }
            if round + 1 == BATCH_ROUNDS {
                return Err(StoreError::Unavailable(format!("{} reads left unprocessed by {table}", pending.len())));
            }
            tokio::time::sleep(batch_backoff(round)).await;
        }
    }
    Ok(found)
}

/// The key `{pk}` of a table keyed by `pk` alone.
pub fn pk(value: impl Into<String>) -> Item {
    HashMap::from([("pk".to_string(), s(value))])
}

/// An item from its attributes, for tests that read items of a stored shape.
#[cfg(test)]
pub fn item(fields: &[(&str, AttributeValue)]) -> Item {
    fields.iter().map(|(k, v)| (k.to_string(), v.clone())).collect()
}
