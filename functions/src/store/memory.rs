//! An in-memory backend for unit tests of the rules above the store (who is told, who may act,
//! what is confirmed): every port of `super::ports`, with the semantics the DynamoDB modules
//! give them (dense sequences, send keys, cursors, read markers), and a record of every post,
//! so a test asserts who was reached and with what. No JVM, no network: milliseconds.

use super::connections::Connection;
use super::ports::{
    BlobStore, ConnectionStore, GroupStore, LimitStore, RelationStore, Sockets, StreamStore, UserStore, Workers,
};
use super::relations::{List, ListedEdge, Pair};
use super::streams::NewEntry;
use super::{Result, StoreError};
use crate::domain::confirmed::Confirmed;
use crate::domain::entry::Entry;
use crate::domain::format::Format;
use crate::domain::ids::{ConversationId, DeviceName};
use crate::domain::refusal::{Error, Refusal};
use crate::domain::relation::{Edge, Friendship};
use crate::domain::user::Profile;
use im_adapters::PostOutcome;
use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::{Arc, Mutex, MutexGuard};

/// Everything the backend holds; tests read it to see what a use case did.
#[derive(Default)]
pub struct State {
    pub entries: BTreeMap<(ConversationId, u64), Entry>,
    pub read: HashMap<(ConversationId, u64), u64>,
    pub dedup: HashMap<String, u64>,
    pub cursors: HashMap<(u64, String, ConversationId), Confirmed>,
    pub audio: HashMap<String, ConversationId>,
    pub members: BTreeMap<u64, Vec<u64>>,
    pub edges: HashMap<(u64, u64), Edge>,
    pub profiles: HashMap<u64, Profile>,
    pub counts: HashMap<String, u64>,
    pub connections: Vec<Connection>,
    pub blobs: HashMap<String, Vec<u8>>,
    /// Every frame posted, in order, with the buffer it was posted from.
    pub posts: Vec<(String, Arc<[u8]>)>,
    /// Connections that answer 410 Gone.
    pub gone: HashSet<String>,
    pub disconnected: Vec<String>,
    pub queued: Vec<(String, Vec<u8>)>,
}

#[derive(Default)]
pub struct Memory {
    state: Mutex<State>,
    /// The fan-out worker and its audience threshold, when a test wants one.
    pub worker: Option<(String, usize)>,
}

impl Memory {
    /// A backend whose deliveries above `direct` users go to the worker `function`.
    pub fn with_worker(function: &str, direct: usize) -> Memory {
        Memory { worker: Some((function.to_string(), direct)), ..Memory::default() }
    }

    pub fn state(&self) -> MutexGuard<'_, State> {
        self.state.lock().expect("no test panicked holding the state")
    }

    /// A user with a profile (an email when given).
    pub fn user(&self, id: u64, email: Option<&str>) {
        let profile = Profile {
            id,
            phone: Some(format!("86{id:09}")),
            email: email.map(String::from),
            name: format!("user {id}"),
            nick_name: String::new(),
            age: None,
            gender: None,
            avatar: String::new(),
            show_user_name: true,
            show_age: true,
            show_gender: true,
        };
        self.state().profiles.insert(id, profile);
    }

    /// Makes two users friends, both ways.
    pub fn befriend(&self, a: u64, b: u64) {
        let friends = Edge { friendship: Friendship::Friends, ..Edge::default() };
        let mut state = self.state();
        state.edges.insert((a, b), friends.clone());
        state.edges.insert((b, a), friends);
    }

    pub fn group(&self, id: u64, members: &[u64]) {
        self.state().members.insert(id, members.to_vec());
    }

    /// A live connection of `user` on `device` in `format`; its id.
    pub fn connect(&self, user: u64, device: &str, format: Format) -> String {
        let mut state = self.state();
        let connection_id = format!("conn-{}", state.connections.len() + 1);
        state.connections.push(Connection {
            connection_id: connection_id.clone(),
            user_id: Some(user),
            device: DeviceName::parse(Some(device)).expect("a device name"),
            tag: String::new(),
            format,
            format_chosen: true,
            since: 1,
        });
        connection_id
    }

    /// The frames posted to one connection, in order.
    pub fn frames_to(&self, connection_id: &str) -> Vec<String> {
        let state = self.state();
        let posted = state.posts.iter().filter(|(cid, _)| cid == connection_id);
        posted.map(|(_, frame)| String::from_utf8_lossy(frame).into_owned()).collect()
    }

    /// The entries of a stream, oldest first.
    pub fn stream(&self, conversation: ConversationId) -> Vec<Entry> {
        let state = self.state();
        state.entries.range((conversation, 0)..=(conversation, u64::MAX)).map(|(_, e)| e.clone()).collect()
    }

    fn head_of(state: &State, conversation: ConversationId) -> u64 {
        state.entries.range((conversation, 0)..=(conversation, u64::MAX)).next_back().map_or(0, |((_, seq), _)| *seq)
    }
}

impl StreamStore for Memory {
    async fn head(&self, conversation: ConversationId) -> Result<u64> {
        Ok(Memory::head_of(&self.state(), conversation))
    }
    async fn append(
        &self,
        conversation: ConversationId,
        entry: NewEntry<'_>,
        dedup: Option<&str>,
    ) -> Result<(u64, bool)> {
        let mut state = self.state();
        if let Some(seq) = dedup.and_then(|key| state.dedup.get(key)) {
            return Ok((*seq, false));
        }
        let seq = Memory::head_of(&state, conversation) + 1;
        let echo_of = entry.echo_of.map(String::from);
        state.entries.insert((conversation, seq), Entry { conversation, seq, echo_of, body: entry.body.clone() });
        if let Some(reader) = entry.reader {
            state.read.insert((conversation, reader), seq);
        }
        if let Some(key) = dedup {
            state.dedup.insert(key.to_string(), seq);
        }
        Ok((seq, true))
    }
    async fn read_range(
        &self,
        conversation: ConversationId,
        after: u64,
        until: u64,
        limit: usize,
    ) -> Result<(Vec<Entry>, bool)> {
        let state = self.state();
        if until <= after || limit == 0 {
            return Ok((vec![], false));
        }
        let mut range = state.entries.range((conversation, after + 1)..=(conversation, until)).map(|(_, e)| e.clone());
        let page: Vec<Entry> = range.by_ref().take(limit).collect();
        Ok((page, range.next().is_some()))
    }
    async fn replace(&self, entry: &Entry) -> Result<()> {
        let mut state = self.state();
        let stored = state.entries.get_mut(&(entry.conversation, entry.seq));
        *stored.ok_or_else(|| StoreError::Aws("ConditionalCheckFailed: no such entry".into()))? = entry.clone();
        Ok(())
    }
    async fn unread(&self, conversation: ConversationId, user: u64) -> Result<u64> {
        let state = self.state();
        let read = state.read.get(&(conversation, user)).copied().unwrap_or(0);
        Ok(Memory::head_of(&state, conversation).saturating_sub(read))
    }
    async fn raise_read_marker(&self, conversation: ConversationId, user: u64, seq: u64) -> Result<()> {
        let mut state = self.state();
        let marker = state.read.entry((conversation, user)).or_default();
        *marker = (*marker).max(seq);
        Ok(())
    }
    async fn sent_before(&self, dedup: &str) -> Result<Option<u64>> {
        Ok(self.state().dedup.get(dedup).copied())
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
        let mut state = self.state();
        let cursor = state.cursors.entry((user, device.to_string(), conversation)).or_default();
        if let Some(seq) = up_to {
            cursor.confirm_up_to(seq, head);
        }
        for &seq in seqs {
            cursor.confirm(seq, head);
        }
        Ok(())
    }
    async fn claim_audio(&self, object: &str, conversation: ConversationId) -> Result<bool> {
        let mut state = self.state();
        let owner = *state.audio.entry(object.to_string()).or_insert(conversation);
        Ok(owner == conversation)
    }
    async fn release_audio(&self, object: &str) -> Result<()> {
        self.state().audio.remove(object);
        Ok(())
    }
    async fn audio_owner(&self, object: &str) -> Result<Option<ConversationId>> {
        Ok(self.state().audio.get(object).copied())
    }
}

impl GroupStore for Memory {
    async fn members(&self, group: u64) -> Result<Vec<u64>> {
        Ok(self.state().members.get(&group).cloned().unwrap_or_default())
    }
    async fn groups_of(&self, user: u64) -> Result<Vec<u64>> {
        Ok(self.state().members.iter().filter(|(_, m)| m.contains(&user)).map(|(g, _)| *g).collect())
    }
}

impl RelationStore for Memory {
    async fn pair(&self, a: u64, b: u64) -> std::result::Result<Pair, Error> {
        if a == b {
            return Err(Refusal::SelfRelation.into());
        }
        let state = self.state();
        let edge = |from: u64, to: u64| state.edges.get(&(from, to)).cloned().unwrap_or_default();
        Ok(Pair { ab: edge(a, b), ba: edge(b, a), changed: false })
    }
    async fn list(&self, owner: u64, which: List) -> Result<Vec<ListedEdge>> {
        let state = self.state();
        let mut listed: Vec<ListedEdge> = state
            .edges
            .iter()
            .filter(|((from, _), edge)| *from == owner && which.admits(edge))
            .map(|((_, other), edge)| ListedEdge { other: *other, edge: edge.clone() })
            .collect();
        listed.sort_by_key(|l| l.other);
        Ok(listed)
    }
}

impl UserStore for Memory {
    async fn profile(&self, id: u64) -> Result<Option<Profile>> {
        Ok(self.state().profiles.get(&id).cloned())
    }
    async fn profiles(&self, ids: &[u64]) -> Result<HashMap<u64, Profile>> {
        let state = self.state();
        Ok(ids.iter().filter_map(|id| state.profiles.get(id).map(|p| (*id, p.clone()))).collect())
    }
}

impl LimitStore for Memory {
    async fn count(&self, key: &str, _expires_at: u64) -> Result<u64> {
        let mut state = self.state();
        let count = state.counts.entry(key.to_string()).or_default();
        *count += 1;
        Ok(*count)
    }
}

impl ConnectionStore for Memory {
    async fn of_users(&self, users: &[u64]) -> Result<Vec<Connection>> {
        let state = self.state();
        Ok(state.connections.iter().filter(|c| c.user_id.is_some_and(|u| users.contains(&u))).cloned().collect())
    }
    async fn forget(&self, connection_id: &str) -> Result<()> {
        self.state().connections.retain(|c| c.connection_id != connection_id);
        Ok(())
    }
}

impl BlobStore for Memory {
    async fn size(&self, key: &str) -> Result<Option<u64>> {
        Ok(self.state().blobs.get(key).map(|b| b.len() as u64))
    }
    async fn first_bytes(&self, key: &str, len: usize) -> Result<Option<Vec<u8>>> {
        Ok(self.state().blobs.get(key).map(|b| b[..len.min(b.len())].to_vec()))
    }
    async fn rename(&self, from: &str, to: &str) -> Result<()> {
        let mut state = self.state();
        let bytes = state.blobs.remove(from).ok_or_else(|| StoreError::Aws(format!("NoSuchKey {from}")))?;
        state.blobs.insert(to.to_string(), bytes);
        Ok(())
    }
    async fn delete(&self, key: &str) -> Result<()> {
        self.state().blobs.remove(key);
        Ok(())
    }
    async fn download_url(&self, key: &str) -> Result<String> {
        Ok(format!("memory://{key}"))
    }
}

impl Sockets for Memory {
    async fn post(&self, connection_id: &str, frame: &[u8]) -> PostOutcome {
        self.post_all(vec![(connection_id.to_string(), Arc::from(frame))]).await.remove(0).1
    }
    async fn post_all(&self, posts: Vec<(String, Arc<[u8]>)>) -> Vec<(String, PostOutcome)> {
        let mut state = self.state();
        let mut outcomes = vec![];
        for (cid, frame) in posts {
            let outcome = if state.gone.contains(&cid) { PostOutcome::Gone } else { PostOutcome::Delivered };
            if outcome == PostOutcome::Delivered {
                state.posts.push((cid.clone(), frame));
            }
            outcomes.push((cid, outcome));
        }
        outcomes
    }
    async fn disconnect(&self, connection_id: &str) -> PostOutcome {
        self.state().disconnected.push(connection_id.to_string());
        PostOutcome::Delivered
    }
}

impl Workers for Memory {
    fn fan_out_worker(&self) -> Option<(&str, usize)> {
        self.worker.as_ref().map(|(function, direct)| (function.as_str(), *direct))
    }
    async fn queue(&self, function: &str, payload: Vec<u8>) -> std::result::Result<(), String> {
        self.state().queued.push((function.to_string(), payload));
        Ok(())
    }
}
