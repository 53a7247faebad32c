//! The seam between the use cases and AWS: a small trait per table (and per AWS service the
//! use cases reach), as the serverless Rust demo's `Store` traits. [`Clients`](im_adapters::Clients)
//! implements them with DynamoDB, S3, `@connections` and Lambda (`super::aws`); unit tests of the
//! rules above use an in-memory implementation (`super::memory`). A use case asks for
//! [`Backend`], every port at once, so its signature stays short.

pub use super::account_ports::{InboxStore, Messenger, ReportStore, ResetStore};
use super::blobs::{Download, Stat};
use super::connections::{Audience, Connection};
use super::groups::{Creation, Info};
use super::post_policy::UploadForm;
pub use super::push_ports::PushStore;
use super::relations::{List, ListedEdge, Page, Pair, Told};
use super::sessions::{Listed, Session};
use super::streams::{Allocated, Claim, NewEntry, Numbered, Placed, Position};
use super::Result;
use crate::domain::entry::Entry;
use crate::domain::ids::{ConversationId, GroupId, UserId};
use crate::domain::limits::Tallies;
use crate::domain::names::LoginName;
use crate::domain::notice::Notice;
use crate::domain::push::Platform;
use crate::domain::refusal::Error;
use crate::domain::relation::{Edge, Rule};
use crate::domain::user::{Profile, ProfileChange};
use im_adapters::PostOutcome;
use std::collections::HashMap;
use std::future::Future;
use std::sync::{Arc, Mutex};

/// The conversations table: ordered streams, their read markers, send keys, device cursors and
/// attachment claims (`super::streams` for the rules of each). Who comes before where: a user
/// (and their device) first, then the conversation.
pub trait StreamStore: Sync {
    fn head(&self, conversation: ConversationId) -> impl Future<Output = Result<u64>> + Send;
    /// A notice at the stream's next number (`streams::append`).
    fn append(&self, conversation: ConversationId, entry: NewEntry<'_>) -> impl Future<Output = Result<u64>> + Send;
    /// A one-to-one message's number: taken, deduplicated on `client_id` and read by its
    /// sender in one update of the head (`streams::direct`); [`StreamStore::write`] follows.
    /// `sealed`: the number a retry found sealed as a hole, to be replaced.
    fn number_direct(
        &self,
        conversation: ConversationId,
        sender: UserId,
        client_id: &str,
        sealed: Option<u64>,
    ) -> impl Future<Output = Result<Numbered>> + Send;
    /// The next number of a stream, for an entry [`StreamStore::write`] writes.
    fn allocate(&self, conversation: ConversationId) -> impl Future<Output = Result<Allocated>> + Send;
    /// Writes an entry at a number taken for it (`streams::write`): where it went, or that the
    /// same send was stored before, or (one-to-one) that the number was sealed as a hole.
    fn write(
        &self,
        conversation: ConversationId,
        seq: u64,
        entry: &NewEntry<'_>,
        dedup: Option<&str>,
    ) -> impl Future<Output = Result<Placed>> + Send;
    fn read_range(
        &self,
        conversation: ConversationId,
        after: u64,
        until: u64,
        limit: usize,
    ) -> impl Future<Output = Result<(Vec<Entry>, bool)>> + Send;
    /// Rewrites a message in place if it is still at revision `seen` (its `details.rev` as read,
    /// `entry` carrying the next); false when another change came first (read it again).
    fn replace(&self, entry: &Entry, seen: u64) -> impl Future<Output = Result<bool>> + Send;
    fn unread(&self, user: UserId, conversation: ConversationId) -> impl Future<Output = Result<u64>> + Send;
    /// Where each of `users` stands: (read marker, highest entry any of their devices confirmed).
    fn receipts(
        &self,
        conversation: ConversationId,
        users: &[UserId],
    ) -> impl Future<Output = Result<Vec<(u64, u64)>>> + Send;
    /// Raises the user's read marker to `seq` (never lowers it); whether it moved.
    fn raise_read_marker(
        &self,
        user: UserId,
        conversation: ConversationId,
        seq: u64,
    ) -> impl Future<Output = Result<bool>> + Send;
    fn sent_before(&self, dedup: &str) -> impl Future<Output = Result<Option<u64>>> + Send;
    #[allow(clippy::too_many_arguments)]
    fn confirm(
        &self,
        user: UserId,
        device: &str,
        conversation: ConversationId,
        head: u64,
        seqs: &[u64],
        up_to: Option<u64>,
        expires_at: Option<u64>,
    ) -> impl Future<Output = Result<Option<u64>>> + Send;
    /// Starts `device`'s cursors where `positions` stand, living until `expires_at`.
    fn start_cursors(
        &self,
        user: UserId,
        device: &str,
        positions: &[Position],
        expires_at: u64,
    ) -> impl Future<Output = Result<()>> + Send;
    /// Claims an attached object for one conversation, by its uploader (a file keeps its `name`).
    fn claim_attachment(
        &self,
        object: &str,
        conversation: ConversationId,
        by_and_name: (UserId, Option<&str>),
    ) -> impl Future<Output = Result<bool>> + Send;
    fn release_attachment(&self, object: &str) -> impl Future<Output = Result<()>> + Send;
    fn attachment_owner(&self, object: &str) -> impl Future<Output = Result<Option<Claim>>> + Send;
    /// Unread counts of `user` in each conversation, in their order.
    fn unread_in(
        &self,
        user: UserId,
        conversations: &[ConversationId],
    ) -> impl Future<Output = Result<Vec<u64>>> + Send;
    /// Where `device` of `user` stands in each conversation, in their order.
    fn positions(
        &self,
        user: UserId,
        device: &str,
        conversations: &[ConversationId],
    ) -> impl Future<Output = Result<Vec<Position>>> + Send;
    /// What `device` has not confirmed in one stream (past `after` too), at most `limit` of those
    /// `keep` takes; whether more follow.
    #[allow(clippy::too_many_arguments)]
    fn unconfirmed(
        &self,
        user: UserId,
        device: &str,
        conversation: ConversationId,
        after: Option<u64>,
        limit: usize,
        keep: impl Fn(&Entry) -> bool + Send + Sync,
    ) -> impl Future<Output = Result<(Vec<Entry>, bool)>> + Send;
    fn unconfirmed_at(
        &self,
        position: &Position,
        limit: usize,
        keep: impl Fn(&Entry) -> bool + Send + Sync,
    ) -> impl Future<Output = Result<(Vec<Entry>, bool)>> + Send;
}

/// The groups table, as the messaging rules read it.
pub trait GroupStore: Sync {
    fn members(&self, group: GroupId) -> impl Future<Output = Result<Vec<UserId>>> + Send;
    fn groups_of(&self, user: UserId) -> impl Future<Output = Result<Vec<GroupId>>> + Send;
    fn info(&self, group: GroupId) -> impl Future<Output = Result<Option<Info>>> + Send;
    fn infos(&self, groups: &[GroupId]) -> impl Future<Output = Result<Vec<(GroupId, Info)>>> + Send;
    /// `false` when the group exists already.
    fn create_group(&self, group: GroupId, info: &Info, members: usize) -> impl Future<Output = Result<bool>> + Send;
    fn created_by(&self, creator: UserId, client_id: &str) -> impl Future<Output = Result<Option<Creation>>> + Send;
    /// The claim that won: this one, or a racing retry's.
    fn claim_creation(
        &self,
        creator: UserId,
        client_id: &str,
        creation: &Creation,
    ) -> impl Future<Output = Result<Creation>> + Send;
    /// The group's record and its creation's claim.
    fn delete_group(&self, group: GroupId, info: &Info) -> impl Future<Output = Result<()>> + Send;
    fn set_group_key(&self, group: GroupId, key: &str) -> impl Future<Output = Result<()>> + Send;
    /// Gives the group to another creator.
    fn pass_group(&self, group: GroupId, to: UserId) -> impl Future<Output = Result<()>> + Send;
    /// One member in, under `max`, with the group's notice of it, atomically; `None` when refused.
    fn join(
        &self,
        group: GroupId,
        user: UserId,
        max: usize,
        notice: &Notice,
    ) -> impl Future<Output = Result<Option<Entry>>> + Send;
    fn leave(
        &self,
        group: GroupId,
        user: UserId,
        notice: &Notice,
    ) -> impl Future<Output = Result<Option<Entry>>> + Send;
    fn write_memberships(&self, group: GroupId, users: &[UserId], add: bool)
        -> impl Future<Output = Result<()>> + Send;
}

/// The relations table, as the messaging rules read it.
pub trait RelationStore: Sync {
    fn pair(&self, a: UserId, b: UserId) -> impl Future<Output = std::result::Result<Pair, Error>> + Send;
    /// `a`'s edge to `b` alone (one item): enough for a decision that reads no other.
    fn edge(&self, a: UserId, b: UserId) -> impl Future<Output = std::result::Result<Edge, Error>> + Send;
    fn list(&self, owner: UserId, which: List) -> impl Future<Output = Result<Vec<ListedEdge>>> + Send;
    /// Applies `rule` to the pair and stores the result with what `tell` says, atomically.
    fn transition(
        &self,
        a: UserId,
        b: UserId,
        rule: impl Rule + Send + Sync,
        tell: impl Fn(&Edge) -> Told + Send + Sync,
    ) -> impl Future<Output = std::result::Result<(Pair, Vec<(UserId, Entry)>), Error>> + Send;
    fn version(&self, owner: UserId) -> impl Future<Output = Result<u64>> + Send;
    fn changed_since(
        &self,
        owner: UserId,
        since: u64,
        limit: usize,
    ) -> impl Future<Output = Result<(Vec<ListedEdge>, bool)>> + Send;
    fn list_page(
        &self,
        owner: UserId,
        which: List,
        page: Page,
    ) -> impl Future<Output = Result<(Vec<ListedEdge>, Option<UserId>)>> + Send;
    fn find_request(&self, request_id: u64) -> impl Future<Output = Result<Option<(UserId, UserId)>>> + Send;
}

/// The users table's profiles.
pub trait UserStore: Sync {
    fn profile(&self, id: UserId) -> impl Future<Output = Result<Option<Profile>>> + Send;
    fn profiles(&self, ids: &[UserId]) -> impl Future<Output = Result<HashMap<UserId, Profile>>> + Send;
    /// A new user under a fresh id, their phone and email claimed with it.
    fn insert_user(&self, profile: &Profile, password_hash: String) -> impl Future<Output = Result<UserId>> + Send;
    fn next_id(&self, counter: &str) -> impl Future<Output = Result<u64>> + Send;
    fn claimed_by(&self, name: &LoginName) -> impl Future<Output = Result<Option<UserId>>> + Send;
    fn password_hash(&self, id: UserId) -> impl Future<Output = Result<Option<String>>> + Send;
    fn set_password_hash(&self, id: UserId, hash: String) -> impl Future<Output = Result<()>> + Send;
    /// Sets the fields a partial update gives; the profile now, `None` for no such user.
    fn update_profile(
        &self,
        id: UserId,
        change: &ProfileChange,
    ) -> impl Future<Output = Result<Option<Profile>>> + Send;
    /// The account's own items: profile, password hash, phone and email claims, sessions list.
    fn erase_user(&self, profile: &Profile) -> impl Future<Output = Result<()>> + Send;
}

/// Sessions (in the users table), known by their id: their token's hash.
pub trait SessionStore: Sync {
    fn open_session(&self, id: &str, session: &Session) -> impl Future<Output = Result<()>> + Send;
    fn close_session(&self, id: &str) -> impl Future<Output = Result<()>> + Send;
    /// A live session, read strongly consistent.
    fn session(&self, id: &str) -> impl Future<Output = Result<Option<Session>>> + Send;
    fn sessions_of(&self, user: UserId) -> impl Future<Output = Result<HashMap<String, Listed>>> + Send;
    /// A socket of the session logged in at `at`.
    fn touch_session(&self, user: UserId, id: &str, at: u64) -> impl Future<Output = Result<()>> + Send;
    fn end_sessions(&self, user: UserId, ids: &[String]) -> impl Future<Output = Result<()>> + Send;
    /// A one-time socket ticket (by its hash) for a session, until `expires_at`.
    fn issue_ticket(&self, ticket: &str, session: &str, expires_at: u64) -> impl Future<Output = Result<()>> + Send;
    /// Uses up a ticket: its session while it is valid, `None` once taken or expired.
    fn take_ticket(&self, ticket: &str) -> impl Future<Output = Result<Option<String>>> + Send;
}

/// Rate-limit counters.
pub trait LimitStore: Sync {
    /// Counts `by` more attempts under `key`; the count so far in its window.
    fn count(&self, key: &str, by: u64, expires_at: u64) -> impl Future<Output = Result<u64>> + Send;
    /// Takes back one attempt counted under `key`.
    fn refund(&self, key: &str, expires_at: u64) -> impl Future<Output = Result<()>> + Send;
    /// The one turn of `key` per sliding window of `window_ms` (`store::limits::turn`).
    fn turn(&self, key: &str, window_ms: u64) -> impl Future<Output = Result<bool>> + Send;
    /// This warm instance's tallies of frequent attempts (`domain::limits::Tallies`).
    fn tallies(&self) -> &Mutex<Tallies>;
}

/// The connections table: who is online where.
pub trait ConnectionStore: Sync {
    fn of_users(&self, users: &[UserId]) -> impl Future<Output = Result<Vec<Connection>>> + Send;
    /// The users' live connections and push-registered devices, in one look-up.
    fn audience(&self, users: &[UserId]) -> impl Future<Output = Result<Audience>> + Send;
    /// One user's live connections, read strongly consistent (a socket bound an instant ago).
    fn sockets_of(&self, user: UserId) -> impl Future<Output = Result<Vec<Connection>>> + Send;
    /// Forgets a connection; its user, if it had one.
    fn forget(&self, connection_id: &str) -> impl Future<Output = Result<Option<UserId>>> + Send;
    /// Makes a connection of `subscriber` watch exactly `users`' presence (`store::watch`).
    fn watch(
        &self,
        connection_id: &str,
        subscriber: UserId,
        users: &[UserId],
    ) -> impl Future<Output = Result<()>> + Send;
    /// The connections watching `user` (connection id, subscriber).
    fn watchers(&self, user: UserId) -> impl Future<Output = Result<Vec<(String, UserId)>>> + Send;
    /// Whether each of `users` is online, and when last seen (0: never).
    fn presence_of(&self, users: &[UserId]) -> impl Future<Output = Result<Vec<(bool, u64)>>> + Send;
    /// Notes that `user`'s last socket closed at `at`.
    fn mark_seen(&self, user: UserId, at: u64) -> impl Future<Output = Result<()>> + Send;
    /// Binds a logged-in connection to its user.
    fn bind(&self, connection: &Connection) -> impl Future<Output = Result<()>> + Send;
    /// The live connections and push-registered devices listed for a group's members: who may
    /// receive is the caller's to check against the members (a leaver's may linger in the list).
    /// `pushable`: the push-registered devices too (a signal needs only the sockets).
    fn group_audience(&self, group: GroupId, pushable: bool) -> impl Future<Output = Result<Audience>> + Send;
}

/// The audio bucket. Reads and the move of an upload are pinned to the ETag its `stat` saw.
pub trait BlobStore: Sync {
    fn stat(&self, key: &str) -> impl Future<Output = Result<Option<Stat>>> + Send;
    /// `None` when there is no such key, or another object under it than `etag`'s.
    fn first_bytes(&self, key: &str, len: usize, etag: &str) -> impl Future<Output = Result<Option<Vec<u8>>>> + Send;
    /// `false` when the object under `from` is no longer `etag`'s (nothing moved).
    fn rename_if(&self, from: &str, to: &str, etag: &str) -> impl Future<Output = Result<bool>> + Send;
    fn delete(&self, key: &str) -> impl Future<Output = Result<()>> + Send;
    fn download_url(&self, key: &str, response: &Download) -> impl Future<Output = Result<String>> + Send;
    fn put_blob(&self, key: &str, bytes: Vec<u8>, content_type: &str) -> impl Future<Output = Result<()>> + Send;
    /// A presigned POST for `key`, of 1 to `max_bytes` bytes.
    fn upload_form(
        &self,
        key: &str,
        content_type: &str,
        max_bytes: u64,
    ) -> impl Future<Output = Result<UploadForm>> + Send;
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
    /// The function that makes an attached image's thumbnail; `None`: no thumbnails.
    fn thumbnail_worker(&self) -> Option<&str>;
    fn queue(&self, function: &str, payload: Vec<u8>) -> impl Future<Output = std::result::Result<(), String>> + Send;
}

/// What the deployment chose that the rules read (`template.yaml`'s parameters).
pub trait Settings: Sync {
    /// The SNS platform application of `platform`; `None`: that platform is off.
    fn push_application(&self, platform: Platform) -> Option<String>;
    /// How long a device with a live socket has to confirm an entry before it gets a push.
    fn push_after_secs(&self) -> u32;
    /// `PASSWORD_RULE=strong`: new passwords follow the strong rule.
    fn strong_passwords(&self) -> bool;
    /// How long a login's token lives (seconds).
    fn token_lifetime(&self) -> u64;
    /// How long after sending a message its sender may edit it (seconds, `EDIT_WINDOW_SECS`).
    fn edit_window_secs(&self) -> u64;
}

/// Every port: what the use cases and the delivery take.
pub trait Backend:
    StreamStore
    + InboxStore
    + ReportStore
    + ResetStore
    + Messenger
    + GroupStore
    + RelationStore
    + UserStore
    + SessionStore
    + LimitStore
    + ConnectionStore
    + BlobStore
    + Sockets
    + Workers
    + PushStore
    + Settings
{
}

impl<T> Backend for T where
    T: StreamStore
        + InboxStore
        + ReportStore
        + ResetStore
        + Messenger
        + GroupStore
        + RelationStore
        + UserStore
        + SessionStore
        + LimitStore
        + ConnectionStore
        + BlobStore
        + Sockets
        + Workers
        + PushStore
        + Settings
{
}
