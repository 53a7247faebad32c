//! An in-memory backend for unit tests of the rules above the store (who is told, who may act,
//! what is confirmed): every port of `super::ports`, with the semantics the DynamoDB modules
//! give them (dense sequences, send keys, cursors, read markers), and a record of every post,
//! so a test asserts who was reached and with what. No JVM, no network: milliseconds.
//! The stream ports are in `streams.rs`, the tables' in `tables.rs`, the AWS services' in
//! `services.rs`.

mod account;
mod inbox;
mod services;
mod streams;
mod tables;

use super::connections::Connection;
use super::groups::{Creation, Info};
use super::push::Holder;
use super::sessions::{Listed, Session};
use super::streams::Position;
use crate::domain::confirmed::Confirmed;
use crate::domain::entry::{Body, Entry};
use crate::domain::format::Format;
use crate::domain::ids::{Actor, ConversationId, DeviceName, GroupId, UserId};
use crate::domain::limits::Tallies;
use crate::domain::names::{Email, Phone};
use crate::domain::push::{Platform, Registration};
use crate::domain::refusal::{Error, Refusal};
use crate::domain::relation::{Edge, Friendship};
use crate::domain::user::Profile;
use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::sync::{Arc, Mutex, MutexGuard};

/// Everything the backend holds; tests read it to see what a use case did.
#[derive(Default)]
pub struct State {
    pub entries: BTreeMap<(ConversationId, u64), Entry>,
    pub read: HashMap<(ConversationId, UserId), u64>,
    pub dedup: HashMap<String, u64>,
    /// A one-to-one head's send slots: (conversation, sender, slot) → (client id hash, seq).
    pub send_slots: HashMap<(ConversationId, UserId, u64), (u64, u64)>,
    /// Numbers taken by `allocate` (an entry may not be written there yet).
    pub heads: HashMap<ConversationId, u64>,
    /// Numbers sealed as holes (`streams::holes`).
    pub holes: BTreeSet<(ConversationId, u64)>,
    pub cursors: HashMap<(UserId, String, ConversationId), Confirmed>,
    pub audio: HashMap<String, ConversationId>,
    /// Files' names, by object, as their claims keep them.
    pub attachment_names: HashMap<String, String>,
    /// Who attached each object, as its claim keeps it.
    pub attachment_by: HashMap<String, UserId>,
    pub members: BTreeMap<GroupId, Vec<UserId>>,
    pub groups: BTreeMap<GroupId, Info>,
    pub creations: HashMap<(UserId, String), Creation>,
    pub versions: HashMap<UserId, u64>,
    pub requests: HashMap<u64, (UserId, UserId)>,
    pub claims: HashMap<String, UserId>,
    pub password_hashes: HashMap<UserId, String>,
    pub counters: HashMap<String, u64>,
    /// Sessions by id (token hash).
    pub sessions: HashMap<String, Session>,
    /// Socket tickets by hash: their session and expiry.
    pub tickets: HashMap<String, (String, u64)>,
    pub session_lists: HashMap<UserId, HashMap<String, Listed>>,
    pub edges: HashMap<(UserId, UserId), Edge>,
    pub profiles: HashMap<UserId, Profile>,
    pub counts: HashMap<String, u64>,
    pub connections: Vec<Connection>,
    pub blobs: HashMap<String, Vec<u8>>,
    /// Bytes put under a key right after its next `stat`: an upload swapped mid-check.
    pub swap_after_stat: HashMap<String, Vec<u8>>,
    /// Every frame posted, in order, with the buffer it was posted from.
    pub posts: Vec<(String, Arc<[u8]>)>,
    /// Presence subscriptions: (watching connection, its user, the user watched).
    pub watching: Vec<(String, UserId, UserId)>,
    pub last_seen: HashMap<UserId, u64>,
    /// Connections that answer 410 Gone.
    pub gone: HashSet<String>,
    pub disconnected: Vec<String>,
    pub queued: Vec<(String, Vec<u8>)>,
    /// Push registrations by user and device, token holders, deleted SNS endpoints, and the
    /// platforms that are off.
    pub push: HashMap<UserId, BTreeMap<String, Registration>>,
    pub push_tokens: HashMap<String, Holder>,
    pub deleted_endpoints: Vec<String>,
    pub push_off: HashSet<Platform>,
    /// Every SNS publish (endpoint, message); endpoints SNS calls disabled; queued push jobs
    /// (body, delay).
    pub published: Vec<(String, String)>,
    pub gone_endpoints: HashSet<String>,
    pub push_jobs: Vec<(String, u32)>,
    pub push_settings: HashMap<UserId, super::push::Settings>,
    /// Inboxes: (user, conversation) → last activity (ms); heads' inbox refresh times.
    pub inbox: HashMap<(UserId, ConversationId), u64>,
    pub inbox_at: HashMap<ConversationId, u64>,
    /// Reports by (day, number).
    pub reports: BTreeMap<(String, u64), crate::domain::report::Report>,
    /// Password reset codes by account; every SMS and email sent (to, text).
    pub resets: HashMap<UserId, crate::domain::reset::Reset>,
    pub outbox: Vec<(String, String)>,
}

/// The refusal a use case answered; panics on anything else.
pub fn refused<T: std::fmt::Debug>(result: std::result::Result<T, Error>) -> Refusal {
    match result {
        Err(Error::Refused(refusal)) => refusal,
        other => panic!("not refused: {other:?}"),
    }
}

/// `user` acting from `device`, not over a socket.
pub fn actor(user: u64, device: &str) -> Actor {
    Actor {
        user_id: UserId(user),
        device: DeviceName::parse(Some(device)).expect("a device name"),
        tag: String::new(),
        connection_id: None,
    }
}

#[derive(Default)]
pub struct Memory {
    state: Mutex<State>,
    /// The fan-out worker and its audience threshold, when a test wants one.
    pub worker: Option<(String, usize)>,
    pub strong_passwords: bool,
    /// The tallies of frequent attempts this backend's "instance" keeps (`LimitStore::tallies`).
    pub tallies: Mutex<Tallies>,
}

impl Memory {
    /// A backend whose deliveries above `direct` users go to the worker `function`.
    pub fn with_worker(function: &str, direct: usize) -> Memory {
        Memory { worker: Some((function.to_string(), direct)), ..Memory::default() }
    }

    /// A backend of a deployment that chose the strong password rule.
    pub fn with_strong_passwords() -> Memory {
        Memory { strong_passwords: true, ..Memory::default() }
    }

    pub fn state(&self) -> MutexGuard<'_, State> {
        self.state.lock().expect("no test panicked holding the state")
    }

    /// A user with a profile: named by an email when given (as seed 003 makes accounts), else by a phone.
    pub fn user(&self, id: u64, email: Option<&str>) {
        let id = UserId(id);
        // Named by an email (as seed 003's `LOGON` makes accounts), else by a phone.
        let email = email.map(|e| Email::parse(e).expect("an email"));
        let phone = email.is_none().then(|| Phone::parse(&format!("86{id:09}")).expect("a phone"));
        let profile = Profile { id, ..Profile::named(format!("user {id}"), phone, email) };
        let mut state = self.state();
        for (_, claim) in super::users::claims_of(&profile) {
            state.claims.insert(claim, id);
        }
        state.profiles.insert(id, profile);
    }

    /// Makes two users friends, both ways.
    pub fn befriend(&self, a: u64, b: u64) {
        let (a, b) = (UserId(a), UserId(b));
        let friends = Edge { friendship: Friendship::Friends, ..Edge::default() };
        let mut state = self.state();
        state.edges.insert((a, b), friends.clone());
        state.edges.insert((b, a), friends);
    }

    /// A group of `members`, the first its creator, its key `key`.
    pub fn group(&self, id: u64, members: &[u64]) {
        let (id, members): (GroupId, Vec<UserId>) = (GroupId(id), members.iter().copied().map(UserId).collect());
        let mut state = self.state();
        state.members.insert(id, members.clone());
        let info = Info {
            name: format!("group {id}"),
            creator: members.first().copied().unwrap_or_default(),
            g_key: "key".into(),
            client_id: None,
        };
        state.groups.insert(id, info);
    }

    /// A live connection of `user` on `device` in `format` (its session `session-<id>`); its id.
    pub fn connect(&self, user: u64, device: &str, format: Format) -> String {
        let user = UserId(user);
        let mut state = self.state();
        let connection_id = format!("conn-{}", state.connections.len() + 1);
        let session = format!("session-{connection_id}");
        let opened = Session { user_id: user, device: device.into(), tag: String::new(), expires_at: u64::MAX };
        state.sessions.insert(session.clone(), opened);
        state.connections.push(Connection {
            connection_id: connection_id.clone(),
            user_id: Some(user),
            device: DeviceName::parse(Some(device)).expect("a device name"),
            tag: String::new(),
            format,
            format_chosen: true,
            since: 1,
            session,
        });
        connection_id
    }

    /// The frames posted to one connection, in order.
    pub fn frames_to(&self, connection_id: &str) -> Vec<String> {
        let state = self.state();
        let posted = state.posts.iter().filter(|(cid, _)| cid == connection_id);
        posted.map(|(_, frame)| String::from_utf8_lossy(frame).into_owned()).collect()
    }

    /// What each notice in `user`'s feed says, oldest first (`t`).
    pub fn told(&self, user: u64) -> Vec<&'static str> {
        self.stream(ConversationId::Feed(UserId(user))).iter().map(|e| e.body.t()).collect()
    }

    /// The entries of a stream, oldest first.
    pub fn stream(&self, conversation: ConversationId) -> Vec<Entry> {
        let state = self.state();
        state.entries.range((conversation, 0)..=(conversation, u64::MAX)).map(|(_, e)| e.clone()).collect()
    }

    /// Unread entries of `user`: head minus read marker, less the sealed holes above it.
    fn unread_of(state: &State, user: UserId, conversation: ConversationId) -> u64 {
        let read = state.read.get(&(conversation, user)).copied().unwrap_or(0);
        let sealed = state.holes.range((conversation, read + 1)..=(conversation, u64::MAX)).count() as u64;
        Memory::head_of(state, conversation).saturating_sub(read).saturating_sub(sealed)
    }

    fn head_of(state: &State, conversation: ConversationId) -> u64 {
        let last = state
            .entries
            .range((conversation, 0)..=(conversation, u64::MAX))
            .next_back()
            .map_or(0, |((_, seq), _)| *seq);
        last.max(state.heads.get(&conversation).copied().unwrap_or(0))
    }

    /// The next number of a stream, as `entries::allocate` takes it.
    fn allocate_in(state: &mut State, conversation: ConversationId) -> u64 {
        let seq = Memory::head_of(state, conversation) + 1;
        state.heads.insert(conversation, seq);
        seq
    }

    /// Appends `body` to a stream at its next sequence, as `entries::append` does.
    fn append_to(state: &mut State, conversation: ConversationId, echo_of: Option<String>, body: Body) -> Entry {
        let seq = Memory::allocate_in(state, conversation);
        let entry = Entry { conversation, seq, echo_of, body };
        state.entries.insert((conversation, seq), entry.clone());
        entry
    }

    /// What a device has not confirmed from where it stands, as `cursors::unconfirmed_at` reads it.
    fn unconfirmed_in(
        state: &State,
        position: &Position,
        limit: usize,
        keep: impl Fn(&Entry) -> bool,
    ) -> (Vec<Entry>, bool) {
        let gaps = position.confirmed.gaps(position.head);
        let mut found = vec![];
        for &(from, to) in &gaps {
            for entry in
                state.entries.range((position.conversation, from)..=(position.conversation, to)).map(|(_, e)| e)
            {
                if keep(entry) {
                    found.push(entry.clone());
                }
                if found.len() == limit {
                    return (found, gaps.iter().any(|&(_, to)| to > entry.seq));
                }
            }
        }
        (found, false)
    }
}
