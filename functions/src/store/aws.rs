//! The ports of `super::ports` on AWS: each method is the DynamoDB, S3, `@connections` or Lambda
//! call of the module beside it, so the rules of each table stay written once, there.

use super::connections::{self, Connection};
use super::ports::{
    BlobStore, ConnectionStore, GroupStore, LimitStore, RelationStore, Sockets, StreamStore, UserStore, Workers,
};
use super::relations::{self, List, ListedEdge, Pair};
use super::streams::{self, NewEntry};
use super::{blobs, groups, limits, users, Result};
use crate::domain::entry::Entry;
use crate::domain::ids::ConversationId;
use crate::domain::refusal::Error;
use crate::domain::user::Profile;
use im_adapters::{Clients, PostOutcome};
use std::collections::HashMap;
use std::sync::Arc;

impl StreamStore for Clients {
    async fn head(&self, conversation: ConversationId) -> Result<u64> {
        streams::head(self, conversation).await
    }
    async fn append(
        &self,
        conversation: ConversationId,
        entry: NewEntry<'_>,
        dedup: Option<&str>,
    ) -> Result<(u64, bool)> {
        streams::append(self, conversation, entry, dedup).await
    }
    async fn read_range(
        &self,
        conversation: ConversationId,
        after: u64,
        until: u64,
        limit: usize,
    ) -> Result<(Vec<Entry>, bool)> {
        streams::read_range(self, conversation, after, until, limit).await
    }
    async fn replace(&self, entry: &Entry) -> Result<()> {
        streams::replace(self, entry).await
    }
    async fn unread(&self, conversation: ConversationId, user: u64) -> Result<u64> {
        streams::unread(self, conversation, user).await
    }
    async fn raise_read_marker(&self, conversation: ConversationId, user: u64, seq: u64) -> Result<()> {
        streams::raise_read_marker(self, conversation, user, seq).await
    }
    async fn sent_before(&self, dedup: &str) -> Result<Option<u64>> {
        streams::sent_before(self, dedup).await
    }
    async fn confirm(
        &self,
        user: u64,
        device: &str,
        conversation: ConversationId,
        head: u64,
        seqs: &[u64],
        up_to: Option<u64>,
    ) -> Result<()> {
        streams::confirm(self, user, device, conversation, head, seqs, up_to).await
    }
    async fn claim_audio(&self, object: &str, conversation: ConversationId) -> Result<bool> {
        streams::claim_audio(self, object, conversation).await
    }
    async fn release_audio(&self, object: &str) -> Result<()> {
        streams::release_audio(self, object).await
    }
    async fn audio_owner(&self, object: &str) -> Result<Option<ConversationId>> {
        streams::audio_owner(self, object).await
    }
}

impl GroupStore for Clients {
    async fn members(&self, group: u64) -> Result<Vec<u64>> {
        groups::members(self, group).await
    }
    async fn groups_of(&self, user: u64) -> Result<Vec<u64>> {
        groups::groups_of(self, user).await
    }
}

impl RelationStore for Clients {
    async fn pair(&self, a: u64, b: u64) -> std::result::Result<Pair, Error> {
        relations::pair(self, a, b).await
    }
    async fn list(&self, owner: u64, which: List) -> Result<Vec<ListedEdge>> {
        relations::list(self, owner, which).await
    }
}

impl UserStore for Clients {
    async fn profile(&self, id: u64) -> Result<Option<Profile>> {
        users::profile(self, id).await
    }
    async fn profiles(&self, ids: &[u64]) -> Result<HashMap<u64, Profile>> {
        users::profiles(self, ids).await
    }
}

impl LimitStore for Clients {
    async fn count(&self, key: &str, expires_at: u64) -> Result<u64> {
        limits::count(self, key, expires_at).await
    }
}

impl ConnectionStore for Clients {
    async fn of_users(&self, users: &[u64]) -> Result<Vec<Connection>> {
        connections::of_users(self, users).await
    }
    async fn forget(&self, connection_id: &str) -> Result<()> {
        connections::forget(self, connection_id).await
    }
}

impl BlobStore for Clients {
    async fn size(&self, key: &str) -> Result<Option<u64>> {
        blobs::size(self, key).await
    }
    async fn first_bytes(&self, key: &str, len: usize) -> Result<Option<Vec<u8>>> {
        blobs::first_bytes(self, key, len).await
    }
    async fn rename(&self, from: &str, to: &str) -> Result<()> {
        blobs::rename(self, from, to).await
    }
    async fn delete(&self, key: &str) -> Result<()> {
        blobs::delete(self, key).await
    }
    async fn download_url(&self, key: &str) -> Result<String> {
        blobs::download_url(self, key).await
    }
}

impl Sockets for Clients {
    async fn post(&self, connection_id: &str, frame: &[u8]) -> PostOutcome {
        self.pusher.post(connection_id, frame).await
    }
    async fn post_all(&self, posts: Vec<(String, Arc<[u8]>)>) -> Vec<(String, PostOutcome)> {
        self.pusher.post_all(posts).await
    }
    async fn disconnect(&self, connection_id: &str) -> PostOutcome {
        self.pusher.disconnect(connection_id).await
    }
}

impl Workers for Clients {
    fn fan_out_worker(&self) -> Option<(&str, usize)> {
        self.config.fan_out_function.as_deref().map(|function| (function, self.config.direct_audience))
    }
    async fn queue(&self, function: &str, payload: Vec<u8>) -> std::result::Result<(), String> {
        self.invoker.queue(function, payload).await
    }
}
