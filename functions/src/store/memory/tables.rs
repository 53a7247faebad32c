//! The tables' ports in memory: groups, relations, users and sessions, each with the rule its
//! DynamoDB module keeps (a join under the cap with its notice, a transition with what it tells,
//! claims that two sign-ups cannot share).

use super::{Memory, State};
use crate::domain::entry::{Body, Entry};
use crate::domain::ids::{ConversationId, GroupId, UserId};
use crate::domain::names::LoginName;
use crate::domain::notice::Notice;
use crate::domain::now_secs;
use crate::domain::refusal::{Error, Refusal};
use crate::domain::relation::{Edge, Rule};
use crate::domain::user::{Profile, ProfileChange};
use crate::store::groups::{Creation, Info};
use crate::store::ports::{GroupStore, RelationStore, SessionStore, UserStore};
use crate::store::relations::{List, ListedEdge, Page, Pair, Told};
use crate::store::sessions::{Listed, Session};
use crate::store::users::{claim_key, claims_of};
use crate::store::{Result, StoreError};
use std::collections::HashMap;

impl GroupStore for Memory {
    async fn members(&self, group: GroupId) -> Result<Vec<UserId>> {
        Ok(self.state().members.get(&group).cloned().unwrap_or_default())
    }
    async fn groups_of(&self, user: UserId) -> Result<Vec<GroupId>> {
        Ok(self.state().members.iter().filter(|(_, m)| m.contains(&user)).map(|(g, _)| *g).collect())
    }
    async fn info(&self, group: GroupId) -> Result<Option<Info>> {
        Ok(self.state().groups.get(&group).cloned())
    }
    async fn infos(&self, groups: &[GroupId]) -> Result<Vec<(GroupId, Info)>> {
        let state = self.state();
        Ok(groups.iter().filter_map(|g| state.groups.get(g).map(|info| (*g, info.clone()))).collect())
    }
    async fn create_group(&self, group: GroupId, info: &Info, _members: usize) -> Result<bool> {
        let mut state = self.state();
        if state.groups.contains_key(&group) {
            return Ok(false);
        }
        state.groups.insert(group, info.clone());
        Ok(true)
    }
    async fn created_by(&self, creator: UserId, client_id: &str) -> Result<Option<Creation>> {
        Ok(self.state().creations.get(&(creator, client_id.to_string())).cloned())
    }
    async fn claim_creation(&self, creator: UserId, client_id: &str, creation: &Creation) -> Result<Creation> {
        Ok(self.state().creations.entry((creator, client_id.to_string())).or_insert(creation.clone()).clone())
    }
    async fn delete_group(&self, group: GroupId, info: &Info) -> Result<()> {
        let mut state = self.state();
        if let Some(client_id) = &info.client_id {
            state.creations.remove(&(info.creator, client_id.clone()));
        }
        state.groups.remove(&group);
        Ok(())
    }
    async fn set_group_key(&self, group: GroupId, key: &str) -> Result<()> {
        let mut state = self.state();
        let info = state.groups.get_mut(&group).ok_or_else(|| StoreError::Malformed("no such group".into()))?;
        info.g_key = key.to_string();
        Ok(())
    }
    async fn pass_group(&self, group: GroupId, to: UserId) -> Result<()> {
        let mut state = self.state();
        let info = state.groups.get_mut(&group).ok_or_else(|| StoreError::Malformed("no such group".into()))?;
        info.creator = to;
        Ok(())
    }
    async fn join(&self, group: GroupId, user: UserId, max: usize, notice: &Notice) -> Result<Option<Entry>> {
        let mut state = self.state();
        let members = state.members.entry(group).or_default();
        if members.contains(&user) || members.len() >= max {
            return Ok(None);
        }
        members.push(user);
        Ok(announce(&mut state, group, notice))
    }
    async fn leave(&self, group: GroupId, user: UserId, notice: &Notice) -> Result<Option<Entry>> {
        let mut state = self.state();
        let members = state.members.entry(group).or_default();
        let Some(at) = members.iter().position(|m| *m == user) else { return Ok(None) };
        members.remove(at);
        Ok(announce(&mut state, group, notice))
    }
    async fn write_memberships(&self, group: GroupId, users: &[UserId], add: bool) -> Result<()> {
        let mut state = self.state();
        let members = state.members.entry(group).or_default();
        members.retain(|m| !users.contains(m));
        if add {
            members.extend(users);
        }
        Ok(())
    }
}

/// A membership change's notice, in the group's conversation, as its transaction stores it
/// (only while the group exists).
fn announce(state: &mut State, group: GroupId, notice: &Notice) -> Option<Entry> {
    state
        .groups
        .contains_key(&group)
        .then(|| Memory::append_to(state, ConversationId::Group(group), None, Body::Notice(notice.clone())))
}

impl RelationStore for Memory {
    async fn pair(&self, a: UserId, b: UserId) -> std::result::Result<Pair, Error> {
        if a == b {
            return Err(Refusal::SelfRelation.into());
        }
        let state = self.state();
        let edge = |from: UserId, to: UserId| state.edges.get(&(from, to)).cloned().unwrap_or_default();
        Ok(Pair { ab: edge(a, b), ba: edge(b, a), changed: false })
    }
    async fn edge(&self, a: UserId, b: UserId) -> std::result::Result<Edge, Error> {
        Ok(self.pair(a, b).await?.ab)
    }
    async fn list(&self, owner: UserId, which: List) -> Result<Vec<ListedEdge>> {
        Ok(edges_of(&self.state(), owner, |edge| which.admits(edge)))
    }
    async fn transition(
        &self,
        a: UserId,
        b: UserId,
        rule: impl Rule + Send + Sync,
        tell: impl Fn(&Edge) -> Told + Send + Sync,
    ) -> std::result::Result<(Pair, Vec<(UserId, Entry)>), Error> {
        let (ab, ba) = {
            let pair = self.pair(a, b).await?;
            (pair.ab, pair.ba)
        };
        let (new_ab, new_ba) = rule(&ab, &ba)?;
        if new_ab.state() == ab.state() && new_ba.state() == ba.state() {
            return Ok((Pair { ab, ba, changed: false }, vec![]));
        }
        let mut state = self.state();
        let mut version = |user: UserId| {
            let v = state.versions.entry(user).or_default();
            *v += 1;
            *v
        };
        let (ab, ba) = (Edge { version: version(a), ..new_ab }, Edge { version: version(b), ..new_ba });
        state.edges.insert((a, b), ab.clone());
        state.edges.insert((b, a), ba.clone());
        let told = tell(&ab);
        let body = Body::Notice(told.notice);
        let stored = told
            .feeds
            .into_iter()
            .map(|(user, echo_of)| {
                (user, Memory::append_to(&mut state, ConversationId::Feed(user), echo_of, body.clone()))
            })
            .collect();
        if let Some((id, from, to)) = told.request {
            state.requests.insert(id, (from, to));
        }
        Ok((Pair { ab, ba, changed: true }, stored))
    }
    async fn version(&self, owner: UserId) -> Result<u64> {
        Ok(self.state().versions.get(&owner).copied().unwrap_or(0))
    }
    async fn changed_since(&self, owner: UserId, since: u64, limit: usize) -> Result<(Vec<ListedEdge>, bool)> {
        let mut changed = edges_of(&self.state(), owner, |edge| edge.version > since);
        changed.sort_by_key(|listed| listed.edge.version);
        let more = changed.len() > limit;
        changed.truncate(limit);
        Ok((changed, more))
    }
    async fn list_page(&self, owner: UserId, which: List, page: Page) -> Result<(Vec<ListedEdge>, Option<UserId>)> {
        // In the order of the sort key: the other user's id as a string.
        let mut listed = edges_of(&self.state(), owner, |edge| which.admits(edge));
        listed.sort_by_key(|l| l.other.to_string());
        listed.retain(|l| page.after.is_none_or(|after| l.other.to_string() > after.to_string()));
        let more = listed.len() > page.limit;
        listed.truncate(page.limit);
        let next = if more { listed.last().map(|l| l.other) } else { None };
        Ok((listed, next))
    }
    async fn find_request(&self, request_id: u64) -> Result<Option<(UserId, UserId)>> {
        Ok(self.state().requests.get(&request_id).copied())
    }
}

fn edges_of(state: &State, owner: UserId, keep: impl Fn(&Edge) -> bool) -> Vec<ListedEdge> {
    let mut listed: Vec<ListedEdge> = state
        .edges
        .iter()
        .filter(|((from, _), edge)| *from == owner && keep(edge))
        .map(|((_, other), edge)| ListedEdge { other: *other, edge: edge.clone() })
        .collect();
    listed.sort_by_key(|l| l.other);
    listed
}

impl UserStore for Memory {
    async fn profile(&self, id: UserId) -> Result<Option<Profile>> {
        Ok(self.state().profiles.get(&id).cloned())
    }
    async fn profiles(&self, ids: &[UserId]) -> Result<HashMap<UserId, Profile>> {
        let state = self.state();
        Ok(ids.iter().filter_map(|id| state.profiles.get(id).map(|p| (*id, p.clone()))).collect())
    }
    async fn insert_user(&self, profile: &Profile, password_hash: String) -> Result<UserId> {
        let mut state = self.state();
        let claims = claims_of(profile);
        if let Some((taken, _)) = claims.iter().find(|(_, key)| state.claims.contains_key(key)) {
            return Err(StoreError::Taken(*taken));
        }
        let id = UserId(bump(&mut state, "counter#users"));
        for (_, key) in claims {
            state.claims.insert(key, id);
        }
        state.profiles.insert(id, Profile { id, ..profile.clone() });
        state.password_hashes.insert(id, password_hash);
        Ok(id)
    }
    async fn next_id(&self, counter: &str) -> Result<u64> {
        Ok(bump(&mut self.state(), counter))
    }
    async fn claimed_by(&self, name: &LoginName) -> Result<Option<UserId>> {
        Ok(self.state().claims.get(&claim_key(name)).copied())
    }
    async fn password_hash(&self, id: UserId) -> Result<Option<String>> {
        Ok(self.state().password_hashes.get(&id).cloned())
    }
    async fn set_password_hash(&self, id: UserId, hash: String) -> Result<()> {
        self.state().password_hashes.insert(id, hash);
        Ok(())
    }
    async fn update_profile(&self, id: UserId, change: &ProfileChange) -> Result<Option<Profile>> {
        let mut state = self.state();
        let Some(profile) = state.profiles.get_mut(&id) else { return Ok(None) };
        let mut stored = serde_json::to_value(&*profile).map_err(crate::store::malformed)?;
        for (name, value) in change.attributes() {
            stored[name] = value;
        }
        *profile = serde_json::from_value(stored).map_err(crate::store::malformed)?;
        Ok(Some(profile.clone()))
    }
    async fn erase_user(&self, profile: &Profile) -> Result<()> {
        let mut state = self.state();
        state.claims.retain(|_, id| *id != profile.id);
        state.profiles.remove(&profile.id);
        state.password_hashes.remove(&profile.id);
        state.session_lists.remove(&profile.id);
        state.resets.remove(&profile.id);
        Ok(())
    }
}

fn bump(state: &mut State, counter: &str) -> u64 {
    let next = state.counters.entry(counter.to_string()).or_default();
    *next += 1;
    *next
}

impl SessionStore for Memory {
    async fn open_session(&self, id: &str, session: &Session) -> Result<()> {
        let mut state = self.state();
        state.sessions.insert(id.to_string(), session.clone());
        let (d, g, x) = (session.device.clone(), session.tag.clone(), session.expires_at);
        let listed = Listed { d, g, x, c: crate::domain::now_secs(), l: 0 };
        state.session_lists.entry(session.user_id).or_default().insert(id.to_string(), listed);
        Ok(())
    }
    async fn close_session(&self, id: &str) -> Result<()> {
        let mut state = self.state();
        if let Some(session) = state.sessions.remove(id) {
            state.session_lists.entry(session.user_id).or_default().remove(id);
        }
        Ok(())
    }
    async fn session(&self, id: &str) -> Result<Option<Session>> {
        Ok(self.state().sessions.get(id).filter(|s| s.expires_at > now_secs()).cloned())
    }
    async fn touch_session(&self, user: UserId, id: &str, at: u64) -> Result<()> {
        if let Some(listed) = self.state().session_lists.entry(user).or_default().get_mut(id) {
            listed.l = at;
        }
        Ok(())
    }
    async fn sessions_of(&self, user: UserId) -> Result<HashMap<String, Listed>> {
        Ok(self.state().session_lists.get(&user).cloned().unwrap_or_default())
    }
    async fn end_sessions(&self, user: UserId, ids: &[String]) -> Result<()> {
        let mut state = self.state();
        for id in ids {
            state.sessions.remove(id);
            state.session_lists.entry(user).or_default().remove(id);
        }
        Ok(())
    }
    async fn issue_ticket(&self, ticket: &str, session: &str, expires_at: u64) -> Result<()> {
        self.state().tickets.insert(ticket.to_string(), (session.to_string(), expires_at));
        Ok(())
    }
    async fn take_ticket(&self, ticket: &str) -> Result<Option<String>> {
        let taken = self.state().tickets.remove(ticket);
        Ok(taken.filter(|(_, expires_at)| *expires_at > now_secs()).map(|(session, _)| session))
    }
}
