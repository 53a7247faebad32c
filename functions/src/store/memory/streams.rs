//! The streams in memory: entries, heads, read markers, send keys and cursors, as
//! `store::streams` keeps them in DynamoDB.

use super::{Memory, State};
use crate::domain::entry::Entry;
use crate::domain::ids::{ConversationId, UserId};
use crate::store::ports::StreamStore;
use crate::store::streams::{send_slot, Allocated, Claim, NewEntry, Numbered, Placed, Position};
use crate::store::{Result, StoreError};
impl StreamStore for Memory {
    async fn head(&self, conversation: ConversationId) -> Result<u64> {
        Ok(Memory::head_of(&self.state(), conversation))
    }
    async fn append(&self, conversation: ConversationId, entry: NewEntry<'_>) -> Result<u64> {
        let echo_of = entry.echo_of.map(String::from);
        Ok(Memory::append_to(&mut self.state(), conversation, echo_of, entry.body.clone()).seq)
    }
    async fn number_direct(
        &self,
        conversation: ConversationId,
        sender: UserId,
        client_id: &str,
        sealed: Option<u64>,
    ) -> Result<Numbered> {
        let mut state = self.state();
        let ConversationId::Direct(a, b) = conversation else {
            return Err(StoreError::Aws("ValidationException: not a one-to-one conversation".into()));
        };
        let peer = if sender == a { b } else { a };
        let (hash, slot) = send_slot(client_id);
        let peer_unread = |state: &State| Some(Memory::unread_of(state, peer, conversation));
        if let Some(&(stored, seq)) = state.send_slots.get(&(conversation, sender, slot)) {
            if stored == hash && sealed != Some(seq) {
                let inbox_at = state.inbox_at.get(&conversation).copied().unwrap_or(0);
                return Ok(Numbered { seq, first: false, peer_unread: peer_unread(&state), inbox_at });
            }
        }
        let seq = Memory::allocate_in(&mut state, conversation);
        state.send_slots.insert((conversation, sender, slot), (hash, seq));
        let marker = state.read.entry((conversation, sender)).or_default();
        *marker = (*marker).max(seq);
        let inbox_at = state.inbox_at.get(&conversation).copied().unwrap_or(0);
        Ok(Numbered { seq, first: true, peer_unread: peer_unread(&state), inbox_at })
    }
    async fn allocate(&self, conversation: ConversationId) -> Result<Allocated> {
        let mut state = self.state();
        let seq = Memory::allocate_in(&mut state, conversation);
        Ok(Allocated { seq, inbox_at: state.inbox_at.get(&conversation).copied().unwrap_or(0) })
    }
    async fn write(
        &self,
        conversation: ConversationId,
        seq: u64,
        entry: &NewEntry<'_>,
        dedup: Option<&str>,
    ) -> Result<Placed> {
        let mut state = self.state();
        if let Some(&first) = dedup.and_then(|key| state.dedup.get(key)) {
            // As `entries::write`: the retry's number, not needed, is sealed at once.
            state.holes.insert((conversation, seq));
            return Ok(Placed::Earlier(first));
        }
        let mut seq = seq;
        while state.holes.contains(&(conversation, seq)) {
            if dedup.is_none() {
                return Ok(Placed::Sealed(seq));
            }
            seq = Memory::allocate_in(&mut state, conversation);
        }
        if state.entries.contains_key(&(conversation, seq)) {
            return Ok(Placed::Earlier(seq));
        }
        let stored = Entry { conversation, seq, echo_of: entry.echo_of.map(String::from), body: entry.body.clone() };
        state.entries.insert((conversation, seq), stored);
        if let Some(key) = dedup {
            state.dedup.insert(key.to_string(), seq);
        }
        Ok(Placed::Written(seq))
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
    async fn replace(&self, entry: &Entry, seen: u64) -> Result<bool> {
        let mut state = self.state();
        let stored = state.entries.get_mut(&(entry.conversation, entry.seq));
        let stored = stored.ok_or_else(|| StoreError::Aws("ConditionalCheckFailed: no such entry".into()))?;
        if stored.message().map_or(0, |m| m.details.rev) != seen {
            return Ok(false);
        }
        *stored = entry.clone();
        Ok(true)
    }
    async fn unread(&self, user: UserId, conversation: ConversationId) -> Result<u64> {
        Ok(Memory::unread_of(&self.state(), user, conversation))
    }
    async fn receipts(&self, conversation: ConversationId, users: &[UserId]) -> Result<Vec<(u64, u64)>> {
        let state = self.state();
        let one = |user: &UserId| {
            let read = state.read.get(&(conversation, *user)).copied().unwrap_or(0);
            let key = (*user, crate::domain::ids::ANY_DEVICE.to_string(), conversation);
            (read, state.cursors.get(&key).map_or(0, |c| c.highest()))
        };
        Ok(users.iter().map(one).collect())
    }
    async fn raise_read_marker(&self, user: UserId, conversation: ConversationId, seq: u64) -> Result<bool> {
        let mut state = self.state();
        let marker = state.read.entry((conversation, user)).or_default();
        let moved = seq > *marker;
        *marker = (*marker).max(seq);
        Ok(moved)
    }
    async fn sent_before(&self, dedup: &str) -> Result<Option<u64>> {
        Ok(self.state().dedup.get(dedup).copied())
    }
    async fn confirm(
        &self,
        user: UserId,
        device: &str,
        conversation: ConversationId,
        head: u64,
        seqs: &[u64],
        up_to: Option<u64>,
        _expires_at: Option<u64>,
    ) -> Result<Option<u64>> {
        let mut state = self.state();
        let mut cursor = state.cursors.get(&(user, device.to_string(), conversation)).cloned().unwrap_or_default();
        let highest = cursor.highest();
        let mut changed = up_to.is_some_and(|seq| cursor.confirm_up_to(seq, head));
        for &seq in seqs {
            changed |= cursor.confirm(seq, head);
        }
        if changed {
            // As `cursors::confirm`: the user's own messages and the sealed holes just below are
            // taken in.
            let top = seqs.iter().copied().chain(up_to).max().unwrap_or(0).min(head);
            for (from, to) in cursor.recent_gaps(top) {
                let range = (conversation, from)..=(conversation, to);
                let own =
                    state.entries.range(range.clone()).filter(|(_, e)| e.sent_from(user, device)).map(|(_, e)| e.seq);
                let sealed = state.holes.range(range).map(|(_, seq)| *seq);
                let own: Vec<u64> = own.chain(sealed).collect();
                for seq in own {
                    cursor.confirm(seq, head);
                }
            }
        }
        let raised = (cursor.highest() > highest).then(|| cursor.highest());
        state.cursors.insert((user, device.to_string(), conversation), cursor);
        Ok(raised)
    }
    async fn start_cursors(&self, user: UserId, device: &str, positions: &[Position], _: u64) -> Result<()> {
        let mut state = self.state();
        for position in positions {
            state.cursors.insert((user, device.to_string(), position.conversation), position.confirmed.clone());
        }
        Ok(())
    }
    async fn claim_attachment(
        &self,
        object: &str,
        conversation: ConversationId,
        (by, name): (UserId, Option<&str>),
    ) -> Result<bool> {
        let mut state = self.state();
        let owner = *state.audio.entry(object.to_string()).or_insert(conversation);
        if owner == conversation {
            state.attachment_by.entry(object.to_string()).or_insert(by);
            if let Some(name) = name {
                state.attachment_names.insert(object.to_string(), name.to_string());
            }
        }
        Ok(owner == conversation)
    }
    async fn release_attachment(&self, object: &str) -> Result<()> {
        self.state().audio.remove(object);
        Ok(())
    }
    async fn attachment_owner(&self, object: &str) -> Result<Option<Claim>> {
        let state = self.state();
        let (name, by) = (state.attachment_names.get(object).cloned(), state.attachment_by.get(object).copied());
        Ok(state.audio.get(object).map(|&conversation| Claim { conversation, by, name }))
    }
    async fn unread_in(&self, user: UserId, conversations: &[ConversationId]) -> Result<Vec<u64>> {
        let state = self.state();
        Ok(conversations.iter().map(|c| Memory::unread_of(&state, user, *c)).collect())
    }
    async fn positions(&self, user: UserId, device: &str, conversations: &[ConversationId]) -> Result<Vec<Position>> {
        let state = self.state();
        let position = |conversation: &ConversationId| Position {
            conversation: *conversation,
            head: Memory::head_of(&state, *conversation),
            confirmed: state.cursors.get(&(user, device.to_string(), *conversation)).cloned().unwrap_or_default(),
        };
        Ok(conversations.iter().map(position).collect())
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
        let mut position = self.positions(user, device, &[conversation]).await?.remove(0);
        if let Some(after) = after {
            position.confirmed.confirm_up_to(after, position.head);
        }
        Ok(Memory::unconfirmed_in(&self.state(), &position, limit, keep))
    }
    async fn unconfirmed_at(
        &self,
        position: &Position,
        limit: usize,
        keep: impl Fn(&Entry) -> bool + Send + Sync,
    ) -> Result<(Vec<Entry>, bool)> {
        Ok(Memory::unconfirmed_in(&self.state(), position, limit, keep))
    }
}
