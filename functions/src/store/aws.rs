//! The ports of `super::ports` on AWS: each method is the DynamoDB, S3, `@connections` or Lambda
//! call of the module beside it, so the rules of each table stay written once, there.

use super::connections::{self, Connection};
use super::groups::Info;
use super::ports::{
    BlobStore, ConnectionStore, GroupStore, LimitStore, RelationStore, SessionStore, Settings, Sockets, StreamStore,
    UserStore, Workers,
};
use super::relations::{self, List, ListedEdge, Page, Pair, Told};
use super::sessions::{self, Listed};
use super::streams::{self, NewEntry, Position};
use super::{blobs, groups, limits, users, Result};
use crate::domain::entry::Entry;
use crate::domain::ids::{ConversationId, DeviceName};
use crate::domain::names::LoginName;
use crate::domain::notice::Notice;
use crate::domain::refusal::Error;
use crate::domain::relation::{Edge, Rule};
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
    async fn unread(&self, user: u64, conversation: ConversationId) -> Result<u64> {
        streams::unread(self, user, conversation).await
    }
    async fn raise_read_marker(&self, user: u64, conversation: ConversationId, seq: u64) -> Result<()> {
        streams::raise_read_marker(self, user, conversation, seq).await
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
    async fn unread_in(&self, user: u64, conversations: &[ConversationId]) -> Result<Vec<u64>> {
        streams::unread_in(self, user, conversations).await
    }
    async fn positions(&self, user: u64, device: &str, conversations: &[ConversationId]) -> Result<Vec<Position>> {
        streams::positions(self, user, device, conversations).await
    }
    async fn unconfirmed(
        &self,
        user: u64,
        device: &str,
        conversation: ConversationId,
        after: Option<u64>,
        limit: usize,
        keep: impl Fn(&Entry) -> bool + Send + Sync,
    ) -> Result<(Vec<Entry>, bool)> {
        streams::unconfirmed(self, user, device, conversation, after, limit, keep).await
    }
    async fn unconfirmed_at(
        &self,
        position: &Position,
        limit: usize,
        keep: impl Fn(&Entry) -> bool + Send + Sync,
    ) -> Result<(Vec<Entry>, bool)> {
        streams::unconfirmed_at(self, position, limit, keep).await
    }
}

impl GroupStore for Clients {
    async fn members(&self, group: u64) -> Result<Vec<u64>> {
        groups::members(self, group).await
    }
    async fn groups_of(&self, user: u64) -> Result<Vec<u64>> {
        groups::groups_of(self, user).await
    }
    async fn info(&self, group: u64) -> Result<Option<Info>> {
        groups::info(self, group).await
    }
    async fn infos(&self, ids: &[u64]) -> Result<Vec<(u64, Info)>> {
        groups::infos(self, ids).await
    }
    async fn create_group(&self, group: u64, info: &Info, members: usize) -> Result<bool> {
        groups::create(self, group, info, members).await
    }
    async fn created_by(&self, creator: u64, client_id: &str) -> Result<Option<u64>> {
        groups::created_by(self, creator, client_id).await
    }
    async fn claim_creation(&self, creator: u64, client_id: &str, group: u64) -> Result<u64> {
        groups::claim_creation(self, creator, client_id, group).await
    }
    async fn delete_group(&self, group: u64) -> Result<()> {
        groups::delete(self, group).await
    }
    async fn join(&self, group: u64, user: u64, max: usize, notice: &Notice) -> Result<Option<Entry>> {
        groups::join(self, group, user, max, notice).await
    }
    async fn leave(&self, group: u64, user: u64, notice: &Notice) -> Result<Option<Entry>> {
        groups::leave(self, group, user, notice).await
    }
    async fn write_memberships(&self, group: u64, users: &[u64], add: bool) -> Result<()> {
        groups::write_memberships(self, group, users, add).await
    }
}

impl RelationStore for Clients {
    async fn pair(&self, a: u64, b: u64) -> std::result::Result<Pair, Error> {
        relations::pair(self, a, b).await
    }
    async fn list(&self, owner: u64, which: List) -> Result<Vec<ListedEdge>> {
        relations::list(self, owner, which).await
    }
    async fn transition(
        &self,
        a: u64,
        b: u64,
        rule: impl Rule + Send + Sync,
        tell: impl Fn(&Edge) -> Told + Send + Sync,
    ) -> std::result::Result<(Pair, Vec<(u64, Entry)>), Error> {
        relations::transition(self, a, b, rule, tell).await
    }
    async fn version(&self, owner: u64) -> Result<u64> {
        relations::version(self, owner).await
    }
    async fn changed_since(&self, owner: u64, since: u64, limit: usize) -> Result<(Vec<ListedEdge>, bool)> {
        relations::changed_since(self, owner, since, limit).await
    }
    async fn list_page(&self, owner: u64, which: List, page: Page) -> Result<(Vec<ListedEdge>, Option<u64>)> {
        relations::list_page(self, owner, which, page).await
    }
    async fn find_request(&self, request_id: u64) -> Result<Option<(u64, u64)>> {
        relations::find_request(self, request_id).await
    }
}

impl UserStore for Clients {
    async fn profile(&self, id: u64) -> Result<Option<Profile>> {
        users::profile(self, id).await
    }
    async fn profiles(&self, ids: &[u64]) -> Result<HashMap<u64, Profile>> {
        users::profiles(self, ids).await
    }
    async fn insert_user(&self, profile: &Profile, password_hash: String) -> Result<u64> {
        users::insert(self, profile, password_hash).await
    }
    async fn next_id(&self, counter: &str) -> Result<u64> {
        users::next_id(self, counter).await
    }
    async fn claimed_by(&self, name: &LoginName) -> Result<Option<u64>> {
        users::claimed_by(self, name).await
    }
    async fn password_hash(&self, id: u64) -> Result<Option<String>> {
        users::password_hash(self, id).await
    }
    async fn set_password_hash(&self, id: u64, hash: String) -> Result<()> {
        users::set_password_hash(self, id, hash).await
    }
}

impl SessionStore for Clients {
    async fn open_session(&self, token: &str, user: u64, device: &DeviceName, tag: &str) -> Result<()> {
        sessions::open(self, token, user, device, tag).await
    }
    async fn close_session(&self, token: &str) -> Result<()> {
        sessions::close(self, token).await
    }
    async fn find_session(&self, token: &str) -> Result<Option<(u64, String, String)>> {
        sessions::find(self, token).await
    }
    async fn sessions_of(&self, user: u64) -> Result<HashMap<String, Listed>> {
        sessions::of_user(self, user).await
    }
    async fn end_sessions(&self, user: u64, hashes: &[String]) -> Result<()> {
        sessions::end(self, user, hashes).await
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
    async fn bind(&self, connection: &Connection) -> Result<()> {
        connections::bind(self, connection).await
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
    async fn put_blob(&self, key: &str, bytes: Vec<u8>) -> Result<()> {
        blobs::put(self, key, bytes).await
    }
    async fn upload_url(&self, key: &str) -> Result<String> {
        blobs::upload_url(self, key).await
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

impl Settings for Clients {
    fn strong_passwords(&self) -> bool {
        self.config.strong_passwords
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
