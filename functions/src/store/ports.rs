//! The seam between the use cases and AWS: a small trait per table (and per AWS service the
//! use cases reach), as the serverless Rust demo's `Store` traits. [`Clients`](im_adapters::Clients)
//! implements them with DynamoDB, S3, `@connections` and Lambda (`super::aws`); unit tests of the
//! rules above use an in-memory implementation (`super::memory`). A use case asks for
//! [`Backend`], every port at once, so its signature stays short.

use super::connections::Connection;
use super::relations::{List, ListedEdge, Pair};
use super::streams::NewEntry;
use super::Result;
use crate::domain::entry::Entry;
use crate::domain::ids::ConversationId;
use crate::domain::refusal::Error;
use crate::domain::user::Profile;
use im_adapters::PostOutcome;
use std::collections::HashMap;
use std::future::Future;
use std::sync::Arc;

/// The conversations table: ordered streams, their read markers, send keys, device cursors and
/// attachment claims (`super::streams` for the rules of each).
pub trait StreamStore: Sync {
    fn head(&self, conversation: ConversationId) -> impl Future<Output = Result<u64>> + Send;
    fn append(
        &self,
        conversation: ConversationId,
        entry: NewEntry<'_>,
        dedup: Option<&str>,
    ) -> impl Future<Output = Result<(u64, bool)>> + Send;
    fn read_range(
        &self,
        conversation: ConversationId,
        after: u64,
        until: u64,
        limit: usize,
    ) -> impl Future<Output = Result<(Vec<Entry>, bool)>> + Send;
    fn replace(&self, entry: &Entry) -> impl Future<Output = Result<()>> + Send;
    fn unread(&self, conversation: ConversationId, user: u64) -> impl Future<Output = Result<u64>> + Send;
    fn raise_read_marker(
        &self,
        conversation: ConversationId,
        user: u64,
        seq: u64,
    ) -> impl Future<Output = Result<()>> + Send;
    fn sent_before(&self, dedup: &str) -> impl Future<Output = Result<Option<u64>>> + Send;
    #[allow(clippy::too_many_arguments)]
    fn confirm(
        &self,
        user: u64,
        device: &str,
        conversation: ConversationId,
        head: u64,
        seqs: &[u64],
        up_to: Option<u64>,
    ) -> impl Future<Output = Result<()>> + Send;
    fn claim_audio(&self, object: &str, conversation: ConversationId) -> impl Future<Output = Result<bool>> + Send;
    fn release_audio(&self, object: &str) -> impl Future<Output = Result<()>> + Send;
    fn audio_owner(&self, object: &str) -> impl Future<Output = Result<Option<ConversationId>>> + Send;
}

/// The groups table, as the messaging rules read it.
pub trait GroupStore: Sync {
    fn members(&self, group: u64) -> impl Future<Output = Result<Vec<u64>>> + Send;
    fn groups_of(&self, user: u64) -> impl Future<Output = Result<Vec<u64>>> + Send;
}

/// The relations table, as the messaging rules read it.
pub trait RelationStore: Sync {
    fn pair(&self, a: u64, b: u64) -> impl Future<Output = std::result::Result<Pair, Error>> + Send;
    fn list(&self, owner: u64, which: List) -> impl Future<Output = Result<Vec<ListedEdge>>> + Send;
}

/// The users table's profiles.
pub trait UserStore: Sync {
    fn profile(&self, id: u64) -> impl Future<Output = Result<Option<Profile>>> + Send;
    fn profiles(&self, ids: &[u64]) -> impl Future<Output = Result<HashMap<u64, Profile>>> + Send;
}

/// Rate-limit counters.
pub trait LimitStore: Sync {
    /// Counts one more attempt under `key`; the count so far in its window.
    fn count(&self, key: &str, expires_at: u64) -> impl Future<Output = Result<u64>> + Send;
}

/// The connections table: who is online where.
pub trait ConnectionStore: Sync {
    fn of_users(&self, users: &[u64]) -> impl Future<Output = Result<Vec<Connection>>> + Send;
    fn forget(&self, connection_id: &str) -> impl Future<Output = Result<()>> + Send;
}

/// The audio bucket.
pub trait BlobStore: Sync {
    fn size(&self, key: &str) -> impl Future<Output = Result<Option<u64>>> + Send;
    fn first_bytes(&self, key: &str, len: usize) -> impl Future<Output = Result<Option<Vec<u8>>>> + Send;
    fn rename(&self, from: &str, to: &str) -> impl Future<Output = Result<()>> + Send;
    fn delete(&self, key: &str) -> impl Future<Output = Result<()>> + Send;
    fn download_url(&self, key: &str) -> impl Future<Output = Result<String>> + Send;
}

/// API Gateway's `@connections`: posting to live sockets.
pub trait Sockets: Sync {
    fn post(&self, connection_id: &str, frame: &[u8]) -> impl Future<Output = PostOutcome> + Send;
    /// Each (connection, frame), with bounded concurrency; outcomes in order.
    fn post_all(&self, posts: Vec<(String, Arc<[u8]>)>) -> impl Future<Output = Vec<(String, PostOutcome)>> + Send;
    fn disconnect(&self, connection_id: &str) -> impl Future<Output = PostOutcome> + Send;
}

/// The fan-out worker, reached by asynchronous Lambda invocations.
pub trait Workers: Sync {
    /// The worker's function and the audience above which deliveries go to it; `None` when no
    /// worker is configured (everything is posted in place).
    fn fan_out_worker(&self) -> Option<(&str, usize)>;
    fn queue(&self, function: &str, payload: Vec<u8>) -> impl Future<Output = std::result::Result<(), String>> + Send;
}

/// Every port: what the use cases and the delivery take.
pub trait Backend:
    StreamStore + GroupStore + RelationStore + UserStore + LimitStore + ConnectionStore + BlobStore + Sockets + Workers
{
}

impl<T> Backend for T where
    T: StreamStore
        + GroupStore
        + RelationStore
        + UserStore
        + LimitStore
        + ConnectionStore
        + BlobStore
        + Sockets
        + Workers
{
}
