//! Send keys: `dedup#<conversation>#<sender>#<client id>` holds the sequence a send got, so a
//! retry with the same client id finds the first send (written with it, in `entries::append`).

pub use super::keys::dedup_key;
use super::markers::marker;
use crate::store::Result;
use im_adapters::Clients;

/// The sequence a send with this dedup key got, if it was stored already.
pub async fn sent_before(clients: &Clients, dedup: &str) -> Result<Option<u64>> {
    Ok(marker(clients, dedup).await?.and_then(|m| m.seq))
}
