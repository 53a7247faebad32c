//! The ports of `super::ports` on AWS: each method is the DynamoDB, S3, `@connections` or Lambda
//! call of the module beside it, so the rules of each table stay written once, there.

use super::blobs::Stat;
use super::connections::{self, Audience, Connection};
use super::groups::{Creation, Info};
use super::ports::{
    BlobStore, ConnectionStore, GroupStore, LimitStore, RelationStore, SessionStore, Settings, Sockets, StreamStore,
    Workers,
};
use super::post_policy::UploadForm;
use super::relations::{self, List, ListedEdge, Page, Pair, Told};
use super::sessions::{self, Listed, Session};
use super::streams::{self, NewEntry, Numbered, Placed, Position};
use super::{blobs, groups, limits, live, Result};
use crate::domain::entry::Entry;
use crate::domain::ids::{ConversationId, GroupId, UserId};
use crate::domain::limits::Tallies;
use crate::domain::notice::Notice;
use crate::domain::push::Platform;
use crate::domain::refusal::Error;
use crate::domain::relation::{Edge, Rule};
use im_adapters::{Clients, PostOutcome};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

impl StreamStore for Clients {
    async fn head(&self, conversation: ConversationId) -> Result<u64> {
        streams::head(self, conversation).await
    }
    async fn append(&self, conversation: ConversationId, entry: NewEntry<'_>) -> Result<u64> {
        streams::append(self, conversation, entry).await
    }
    async fn number_direct(
        &self,
        conversation: ConversationId,
        sender: UserId,
        client_id: &str,
        sealed: Option<u64>,
    ) -> Result<Numbered> {
        streams::number_direct(self, conversation, sender, client_id, sealed).await
    }
    async fn allocate(&self, conversation: ConversationId) -> Result<streams::Allocated> {
        streams::allocate(self, conversation).await
    }
    async fn write(
        &self,
        conversation: ConversationId,
        seq: u64,
        entry: &NewEntry<'_>,
        dedup: Option<&str>,
    ) -> Result<Placed> {
        streams::write(self, conversation, seq, entry, dedup).await
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
    async fn replace(&self, entry: &Entry, seen: u64) -> Result<bool> {
        streams::replace(self, entry, seen).await
    }
    async fn unread(&self, user: UserId, conversation: ConversationId) -> Result<u64> {
        streams::unread(self, user, conversation).await
    }
    async fn receipts(&self, conversation: ConversationId, users: &[UserId]) -> Result<Vec<(u64, u64)>> {
        streams::receipts(self, conversation, users).await
    }
    async fn raise_read_marker(&self, user: UserId, conversation: ConversationId, seq: u64) -> Result<bool> {
        streams::raise_read_marker(self, user, conversation, seq).await
    }
    async fn sent_before(&self, dedup: &str) -> Result<Option<u64>> {
        streams::sent_before(self, dedup).await
    }
    async fn confirm(
        &self,
        user: UserId,
        device: &str,
        conversation: ConversationId,
        head: u64,
        seqs: &[u64],
        up_to: Option<u64>,
        expires_at: Option<u64>,
    ) -> Result<Option<u64>> {
        streams::confirm(self, user, device, conversation, head, seqs, up_to, expires_at).await
    }
    async fn start_cursors(&self, user: UserId, device: &str, positions: &[Position], expires_at: u64) -> Result<()> {
        streams::start_cursors(self, user, device, positions, expires_at).await
    }
    async fn claim_attachment(
        &self,
        object: &str,
        conversation: ConversationId,
        by: (UserId, Option<&str>),
    ) -> Result<bool> {
        streams::claim_attachment(self, object, conversation, by).await
    }
    async fn release_attachment(&self, object: &str) -> Result<()> {
        streams::release_attachment(self, object).await
    }
    async fn attachment_owner(&self, object: &str) -> Result<Option<streams::Claim>> {
        streams::attachment_owner(self, object).await
    }
    async fn unread_in(&self, user: UserId, conversations: &[ConversationId]) -> Result<Vec<u64>> {
        streams::unread_in(self, user, conversations).await
    }
    async fn positions(&self, user: UserId, device: &str, conversations: &[ConversationId]) -> Result<Vec<Position>> {
        streams::positions(self, user, device, conversations).await
    }
    async fn unconfirmed(
        &self,
        user: UserId,
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
    async fn members(&self, group: GroupId) -> Result<Vec<UserId>> {
        groups::members(self, group).await
    }
    async fn groups_of(&self, user: UserId) -> Result<Vec<GroupId>> {
        groups::groups_of(self, user).await
    }
    async fn info(&self, group: GroupId) -> Result<Option<Info>> {
        groups::info(self, group).await
    }
    async fn infos(&self, ids: &[GroupId]) -> Result<Vec<(GroupId, Info)>> {
        groups::infos(self, ids).await
    }
    async fn create_group(&self, group: GroupId, info: &Info, members: usize) -> Result<bool> {
        groups::create(self, group, info, members).await
    }
    async fn created_by(&self, creator: UserId, client_id: &str) -> Result<Option<Creation>> {
        groups::created_by(self, creator, client_id).await
    }
    async fn claim_creation(&self, creator: UserId, client_id: &str, creation: &Creation) -> Result<Creation> {
        groups::claim_creation(self, creator, client_id, creation).await
    }
    async fn delete_group(&self, group: GroupId, info: &Info) -> Result<()> {
        groups::delete(self, group, info).await
    }
    async fn set_group_key(&self, group: GroupId, key: &str) -> Result<()> {
        groups::set_key(self, group, key).await
    }
    async fn pass_group(&self, group: GroupId, to: UserId) -> Result<()> {
        groups::pass(self, group, to).await
    }
    // A join lists the user's live connections in the group's index once the membership is
    // written (`store::live`). A leave leaves them listed: the leave's own notice reaches the
    // leaver through them, and past it the members a send checked keep them out; they go when
    // the connection does.
    async fn join(&self, group: GroupId, user: UserId, max: usize, notice: &Notice) -> Result<Option<Entry>> {
        let joined = groups::join(self, group, user, max, notice).await?;
        if joined.is_some() {
            live::list_members(self, group, &[user]).await?;
        }
        Ok(joined)
    }
    async fn leave(&self, group: GroupId, user: UserId, notice: &Notice) -> Result<Option<Entry>> {
        groups::leave(self, group, user, notice).await
    }
    async fn write_memberships(&self, group: GroupId, users: &[UserId], add: bool) -> Result<()> {
        groups::write_memberships(self, group, users, add).await?;
        match add {
            true => live::list_members(self, group, users).await,
            false => Ok(()),
        }
    }
}

impl RelationStore for Clients {
    async fn pair(&self, a: UserId, b: UserId) -> std::result::Result<Pair, Error> {
        relations::pair(self, a, b).await
    }
    async fn edge(&self, a: UserId, b: UserId) -> std::result::Result<Edge, Error> {
        relations::edge(self, a, b).await
    }
    async fn list(&self, owner: UserId, which: List) -> Result<Vec<ListedEdge>> {
        relations::list(self, owner, which).await
    }
    async fn transition(
        &self,
        a: UserId,
        b: UserId,
        rule: impl Rule + Send + Sync,
        tell: impl Fn(&Edge) -> Told + Send + Sync,
    ) -> std::result::Result<(Pair, Vec<(UserId, Entry)>), Error> {
        relations::transition(self, a, b, rule, tell).await
    }
    async fn version(&self, owner: UserId) -> Result<u64> {
        relations::version(self, owner).await
    }
    async fn changed_since(&self, owner: UserId, since: u64, limit: usize) -> Result<(Vec<ListedEdge>, bool)> {
        relations::changed_since(self, owner, since, limit).await
    }
    async fn list_page(&self, owner: UserId, which: List, page: Page) -> Result<(Vec<ListedEdge>, Option<UserId>)> {
        relations::list_page(self, owner, which, page).await
    }
    async fn find_request(&self, request_id: u64) -> Result<Option<(UserId, UserId)>> {
        relations::find_request(self, request_id).await
    }
}

impl SessionStore for Clients {
    async fn open_session(&self, id: &str, session: &Session) -> Result<()> {
        sessions::open(self, id, session).await
    }
    async fn close_session(&self, id: &str) -> Result<()> {
        sessions::close(self, id).await
    }
    async fn session(&self, id: &str) -> Result<Option<Session>> {
        sessions::find(self, id).await
    }
    async fn sessions_of(&self, user: UserId) -> Result<HashMap<String, Listed>> {
        sessions::of_user(self, user).await
    }
    async fn touch_session(&self, user: UserId, id: &str, at: u64) -> Result<()> {
        sessions::touch(self, user, id, at).await
    }
    async fn end_sessions(&self, user: UserId, ids: &[String]) -> Result<()> {
        sessions::end(self, user, ids).await
    }
    async fn issue_ticket(&self, ticket: &str, session: &str, expires_at: u64) -> Result<()> {
        sessions::issue_ticket(self, ticket, session, expires_at).await
    }
    async fn take_ticket(&self, ticket: &str) -> Result<Option<String>> {
        sessions::take_ticket(self, ticket).await
    }
}

impl LimitStore for Clients {
    async fn count(&self, key: &str, by: u64, expires_at: u64) -> Result<u64> {
        limits::count(self, key, by, expires_at).await
    }
    async fn refund(&self, key: &str, expires_at: u64) -> Result<()> {
        limits::refund(self, key, expires_at).await
    }
    async fn turn(&self, key: &str, window_ms: u64) -> Result<bool> {
        limits::turn(self, key, crate::domain::now_millis(), window_ms).await
    }
    fn tallies(&self) -> &Mutex<Tallies> {
        // One process is one warm Lambda instance: its tallies are the process's.
        static TALLIES: Mutex<Tallies> = Mutex::new(Tallies::new());
        &TALLIES
    }
}

impl ConnectionStore for Clients {
    async fn of_users(&self, users: &[UserId]) -> Result<Vec<Connection>> {
        connections::of_users(self, users, false).await
    }
    async fn audience(&self, users: &[UserId]) -> Result<Audience> {
        connections::audience(self, users, false).await
    }
    async fn sockets_of(&self, user: UserId) -> Result<Vec<Connection>> {
        connections::of_users(self, &[user], true).await
    }
    async fn forget(&self, connection_id: &str) -> Result<Option<UserId>> {
        let Some((user, watching)) = connections::forget(self, connection_id).await? else { return Ok(None) };
        super::watch::unwatch(self, connection_id, &watching).await?;
        Ok(Some(user))
    }
    async fn watch(&self, connection_id: &str, subscriber: UserId, users: &[UserId]) -> Result<()> {
        super::watch::subscribe(self, connection_id, subscriber, users).await
    }
    async fn watchers(&self, user: UserId) -> Result<Vec<(String, UserId)>> {
        super::watch::watchers(self, user).await
    }
    async fn presence_of(&self, users: &[UserId]) -> Result<Vec<(bool, u64)>> {
        super::watch::presence_of(self, users).await
    }
    async fn mark_seen(&self, user: UserId, at: u64) -> Result<()> {
        super::watch::mark_seen(self, user, at).await
    }
    async fn bind(&self, connection: &Connection) -> Result<()> {
        connections::bind(self, connection).await
    }
    async fn group_audience(&self, group: GroupId, pushable: bool) -> Result<Audience> {
        let devices = async {
            match pushable {
                true => super::pushable::in_group(self, group).await,
                false => Ok(vec![]),
            }
        };
        let (live, pushable) = futures::join!(live::in_group(self, group), devices);
        Ok(Audience { live: live?, pushable: pushable? })
    }
}

impl BlobStore for Clients {
    async fn stat(&self, key: &str) -> Result<Option<Stat>> {
        blobs::stat(self, key).await
    }
    async fn first_bytes(&self, key: &str, len: usize, etag: &str) -> Result<Option<Vec<u8>>> {
        blobs::first_bytes(self, key, len, etag).await
    }
    async fn rename_if(&self, from: &str, to: &str, etag: &str) -> Result<bool> {
        blobs::rename_if(self, from, to, etag).await
    }
    async fn delete(&self, key: &str) -> Result<()> {
        blobs::delete(self, key).await
    }
    async fn download_url(&self, key: &str, response: &blobs::Download) -> Result<String> {
        blobs::download_url(self, key, response).await
    }
    async fn put_blob(&self, key: &str, bytes: Vec<u8>, content_type: &str) -> Result<()> {
        blobs::put(self, key, bytes, content_type).await
    }
    async fn upload_form(&self, key: &str, content_type: &str, max_bytes: u64) -> Result<UploadForm> {
        blobs::upload_form(self, key, content_type, max_bytes).await
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
    fn push_application(&self, platform: Platform) -> Option<String> {
        let platforms = &self.config.push_platforms;
        match platform {
            Platform::Apns => platforms.apns.clone(),
            Platform::ApnsSandbox => platforms.apns_sandbox.clone(),
            Platform::Fcm => platforms.fcm.clone(),
        }
    }
    fn push_after_secs(&self) -> u32 {
        self.config.push_after_secs
    }
    fn strong_passwords(&self) -> bool {
        self.config.strong_passwords
    }
    fn token_lifetime(&self) -> u64 {
        self.config.token_ttl_secs
    }
    fn edit_window_secs(&self) -> u64 {
        self.config.edit_window_secs
    }
}

impl Workers for Clients {
    fn fan_out_worker(&self) -> Option<(&str, usize)> {
        self.config.fan_out_function.as_deref().map(|function| (function, self.config.direct_audience))
    }
    fn thumbnail_worker(&self) -> Option<&str> {
        self.config.thumbnail_function.as_deref()
    }
    async fn queue(&self, function: &str, payload: Vec<u8>) -> std::result::Result<(), String> {
        self.invoker.queue(function, payload).await
    }
}
