//! The items at `(pk, 0)` of the conversations table (a stream's head, a read marker, a send
//! key, a device's cursor): one read, or many in a batch.

use super::keys::stream_key;
use crate::domain::ids::ConversationId;
use crate::store::{aws, batch_get, from_item, n, s, Item, Result};
use im_adapters::Clients;
use serde::Deserialize;
use std::collections::HashMap;

#[derive(Deserialize)]
pub(super) struct Marker {
    #[serde(default)]
    pub seq: Option<u64>,
    #[serde(default)]
    pub above: Option<String>,
    #[serde(default)]
    pub v: Option<u64>,
}

/// The item at `(pk, 0)`, read consistently: a head, cursor, read marker or dedup key.
pub(super) async fn marker(clients: &Clients, pk: &str) -> Result<Option<Marker>> {
    marker_item(clients, pk).await?.map(from_item::<Marker>).transpose()
}

/// The item at `(pk, 0)` as stored (one consistent GetItem).
pub(super) async fn marker_item(clients: &Clients, pk: &str) -> Result<Option<Item>> {
    let get = clients.dynamodb.get_item().table_name(&clients.config.tables.conversations);
    let out = get.key("pk", s(pk)).key("sk", n(0)).consistent_read(true).send().await.map_err(aws)?;
    Ok(out.item)
}

/// The latest sequence number of a stream (0 when empty).
pub async fn head(clients: &Clients, conversation: ConversationId) -> Result<u64> {
    Ok(marker(clients, &stream_key(conversation)).await?.and_then(|m| m.seq).unwrap_or(0))
}

/// A number attribute of an item as stored.
pub(super) fn number(item: &Item, name: &str) -> Option<u64> {
    item.get(name).and_then(|v| v.as_n().ok()).and_then(|v| v.parse().ok())
}

/// The items at `(pk, 0)` for many keys (consistent BatchGetItem), by key.
pub(super) async fn markers(clients: &Clients, pks: Vec<String>) -> Result<HashMap<String, Marker>> {
    items(clients, pks).await?.into_iter().map(|(pk, item)| Ok((pk, from_item::<Marker>(item)?))).collect()
}

/// The items at `(pk, 0)` for many keys as stored (consistent BatchGetItem), by key.
pub(super) async fn items(clients: &Clients, pks: Vec<String>) -> Result<HashMap<String, Item>> {
    let keys = pks.into_iter().map(|pk| Item::from([("pk".to_string(), s(pk)), ("sk".to_string(), n(0))])).collect();
    let items = batch_get(clients, &clients.config.tables.conversations, keys, true).await?;
    Ok(items.into_iter().filter_map(|item| Some((item.get("pk")?.as_s().ok()?.clone(), item))).collect())
}
