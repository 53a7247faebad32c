//! The AWS services' ports in memory: rate counters, connections, the bucket, `@connections`
//! (posts recorded; a connection in `gone` answers 410) and the fan-out worker (hand-offs
//! recorded).

use super::Memory;
use crate::domain::ids::{GroupId, UserId};
use crate::domain::limits::Tallies;
use crate::domain::push::{Platform, Registration};
use crate::store::blobs::{Download, Stat};
use crate::store::connections::{Audience, Connection};
use crate::store::ports::{BlobStore, ConnectionStore, LimitStore, PushStore, Settings, Sockets, Workers};
use crate::store::post_policy::UploadForm;
use crate::store::push::{Flag, Holder, Published, Settings as PushSettings};
use crate::store::{Result, StoreError};
use im_adapters::PostOutcome;
use std::sync::{Arc, Mutex};

impl LimitStore for Memory {
    async fn count(&self, key: &str, by: u64, _expires_at: u64) -> Result<u64> {
        let mut state = self.state();
        let count = state.counts.entry(key.to_string()).or_default();
        *count += by;
        Ok(*count)
    }
    async fn refund(&self, key: &str, _expires_at: u64) -> Result<()> {
        let mut state = self.state();
        let count = state.counts.entry(key.to_string()).or_default();
        *count = count.saturating_sub(1);
        Ok(())
    }
    async fn turn(&self, key: &str, window_ms: u64) -> Result<bool> {
        let now = crate::domain::now_millis();
        let mut state = self.state();
        let last = state.counts.entry(format!("turn:{key}")).or_insert(0);
        let taken = *last == 0 || *last + window_ms <= now;
        if taken {
            *last = now;
        }
        Ok(taken)
    }
    fn tallies(&self) -> &Mutex<Tallies> {
        &self.tallies
    }
}

impl ConnectionStore for Memory {
    async fn of_users(&self, users: &[UserId]) -> Result<Vec<Connection>> {
        let state = self.state();
        Ok(state.connections.iter().filter(|c| c.user_id.is_some_and(|u| users.contains(&u))).cloned().collect())
    }
    async fn audience(&self, users: &[UserId]) -> Result<Audience> {
        let live = self.of_users(users).await?;
        let state = self.state();
        let registered = users
            .iter()
            .flat_map(|u| state.push.get(u).into_iter().flat_map(move |r| r.keys().map(move |d| (*u, d.clone()))));
        Ok(Audience { live, pushable: registered.collect() })
    }
    async fn sockets_of(&self, user: UserId) -> Result<Vec<Connection>> {
        self.of_users(&[user]).await
    }
    async fn forget(&self, connection_id: &str) -> Result<Option<UserId>> {
        let mut state = self.state();
        let user = state.connections.iter().find(|c| c.connection_id == connection_id).and_then(|c| c.user_id);
        state.connections.retain(|c| c.connection_id != connection_id);
        state.watching.retain(|(cid, _, _)| cid != connection_id);
        Ok(user)
    }
    async fn watch(&self, connection_id: &str, subscriber: UserId, users: &[UserId]) -> Result<()> {
        let mut state = self.state();
        state.watching.retain(|(cid, _, _)| cid != connection_id);
        state.watching.extend(users.iter().map(|u| (connection_id.to_string(), subscriber, *u)));
        Ok(())
    }
    async fn watchers(&self, user: UserId) -> Result<Vec<(String, UserId)>> {
        let state = self.state();
        Ok(state.watching.iter().filter(|(_, _, u)| *u == user).map(|(cid, s, _)| (cid.clone(), *s)).collect())
    }
    async fn presence_of(&self, users: &[UserId]) -> Result<Vec<(bool, u64)>> {
        let state = self.state();
        let one = |u: &UserId| {
            (state.connections.iter().any(|c| c.user_id == Some(*u)), state.last_seen.get(u).copied().unwrap_or(0))
        };
        Ok(users.iter().map(one).collect())
    }
    async fn mark_seen(&self, user: UserId, at: u64) -> Result<()> {
        self.state().last_seen.insert(user, at);
        Ok(())
    }
    async fn bind(&self, connection: &Connection) -> Result<()> {
        let mut state = self.state();
        state.connections.retain(|c| c.connection_id != connection.connection_id);
        state.connections.push(connection.clone());
        Ok(())
    }
    async fn group_audience(&self, group: GroupId, pushable: bool) -> Result<Audience> {
        let members = self.state().members.get(&group).cloned().unwrap_or_default();
        let mut found = self.audience(&members).await?;
        if !pushable {
            found.pushable.clear();
        }
        Ok(found)
    }
}

/// An ETag of the bytes, as S3's changes with the content.
fn etag(bytes: &[u8]) -> String {
    use sha2::Digest;
    format!("\"{}\"", hex::encode(&sha2::Sha256::digest(bytes)[..16]))
}

impl BlobStore for Memory {
    async fn stat(&self, key: &str) -> Result<Option<Stat>> {
        let mut state = self.state();
        let stat = state.blobs.get(key).map(|b| Stat { size: b.len() as u64, etag: etag(b) });
        if let Some(swapped) = state.swap_after_stat.remove(key) {
            state.blobs.insert(key.to_string(), swapped);
        }
        Ok(stat)
    }
    async fn first_bytes(&self, key: &str, len: usize, tag: &str) -> Result<Option<Vec<u8>>> {
        let state = self.state();
        Ok(state.blobs.get(key).filter(|b| etag(b) == tag).map(|b| b[..len.min(b.len())].to_vec()))
    }
    async fn rename_if(&self, from: &str, to: &str, tag: &str) -> Result<bool> {
        let mut state = self.state();
        if state.blobs.get(from).is_none_or(|b| etag(b) != tag) {
            return Ok(false);
        }
        let bytes = state.blobs.remove(from).ok_or_else(|| StoreError::Aws(format!("NoSuchKey {from}")))?;
        state.blobs.insert(to.to_string(), bytes);
        Ok(true)
    }
    async fn delete(&self, key: &str) -> Result<()> {
        self.state().blobs.remove(key);
        Ok(())
    }
    async fn download_url(&self, key: &str, _response: &Download) -> Result<String> {
        Ok(format!("memory://{key}"))
    }
    async fn put_blob(&self, key: &str, bytes: Vec<u8>, _content_type: &str) -> Result<()> {
        self.state().blobs.insert(key.to_string(), bytes);
        Ok(())
    }
    async fn upload_form(&self, key: &str, _content_type: &str, max_bytes: u64) -> Result<UploadForm> {
        let fields = vec![("key".to_string(), key.to_string()), ("max".to_string(), max_bytes.to_string())];
        Ok(UploadForm { url: "memory://upload".into(), fields })
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
    fn thumbnail_worker(&self) -> Option<&str> {
        Some("thumbnail")
    }
    async fn queue(&self, function: &str, payload: Vec<u8>) -> std::result::Result<(), String> {
        self.state().queued.push((function.to_string(), payload));
        Ok(())
    }
}

/// Registrations and token holders as `store::push` keeps them; SNS endpoints as `token@app`
/// (deleted ones recorded), each platform on unless `push_off` names it.
impl PushStore for Memory {
    async fn registrations(&self, user: UserId) -> Result<Vec<Registration>> {
        Ok(self.state().push.get(&user).map(|by_device| by_device.values().cloned().collect()).unwrap_or_default())
    }
    async fn put_registration(&self, user: UserId, registration: &Registration) -> Result<()> {
        let mut state = self.state();
        state.push.entry(user).or_default().insert(registration.device.clone(), registration.clone());
        Ok(())
    }
    async fn remove_registrations(&self, user: UserId, devices: &[String]) -> Result<()> {
        if let Some(by_device) = self.state().push.get_mut(&user) {
            by_device.retain(|device, _| !devices.contains(device));
        }
        Ok(())
    }
    async fn claim_push_token(&self, token: &str, holder: &Holder) -> Result<Option<Holder>> {
        Ok(self.state().push_tokens.insert(token.to_string(), holder.clone()))
    }
    async fn release_push_token(&self, token: &str, holder: &Holder) -> Result<bool> {
        let mut state = self.state();
        let held = state.push_tokens.get(token) == Some(holder);
        if held {
            state.push_tokens.remove(token);
        }
        Ok(held)
    }
    async fn push_endpoint(&self, application: &str, token: &str) -> Result<String> {
        Ok(format!("{token}@{application}"))
    }
    async fn push_settings(&self, user: UserId) -> Result<PushSettings> {
        let stored = self.state().push_settings.get(&user).cloned();
        Ok(stored.unwrap_or_default())
    }
    async fn set_presence(&self, user: UserId, visibility: crate::store::push::Visibility) -> Result<()> {
        self.state().push_settings.entry(user).or_default().presence = visibility;
        Ok(())
    }
    async fn settings_of(&self, users: &[UserId]) -> Result<Vec<PushSettings>> {
        let state = self.state();
        Ok(users.iter().map(|u| state.push_settings.get(u).cloned().unwrap_or_default()).collect())
    }
    async fn set_flag(&self, user: UserId, flag: Flag, on: bool) -> Result<()> {
        let mut state = self.state();
        let settings = state.push_settings.entry(user).or_default();
        match flag {
            Flag::PushPreview => settings.push_preview = on,
            Flag::ReadReceipts => settings.read_receipts = on,
        }
        Ok(())
    }
    async fn set_mute(&self, user: UserId, conversation: &str, until: u64) -> Result<()> {
        let mut state = self.state();
        let settings = state.push_settings.entry(user).or_default();
        match until {
            0 => settings.mutes.remove(conversation),
            _ => settings.mutes.insert(conversation.to_string(), until),
        };
        Ok(())
    }
    async fn mark_pushable(&self, _user: UserId, _device: &str, _on: bool) -> Result<()> {
        // The registrations themselves tell `audience` here.
        Ok(())
    }
    async fn delete_push_endpoint(&self, endpoint: &str) -> Result<()> {
        self.state().deleted_endpoints.push(endpoint.to_string());
        Ok(())
    }
    async fn publish(&self, endpoint: &str, message: &str) -> Result<Published> {
        let mut state = self.state();
        if state.gone_endpoints.contains(endpoint) {
            return Ok(Published::Gone("Endpoint is disabled".into()));
        }
        state.published.push((endpoint.to_string(), message.to_string()));
        Ok(Published::Sent)
    }
    async fn enqueue_pushes(&self, jobs: &[(String, u32)]) -> Result<()> {
        self.state().push_jobs.extend(jobs.iter().cloned());
        Ok(())
    }
    async fn push_endpoint_state(&self, endpoint: &str) -> Result<Option<(bool, String)>> {
        let state = self.state();
        if state.deleted_endpoints.iter().any(|e| e == endpoint) {
            return Ok(None);
        }
        let token = endpoint.split_once('@').map_or(endpoint, |(token, _)| token).to_string();
        Ok(Some((!state.gone_endpoints.contains(endpoint), token)))
    }
    async fn push_token_holder(&self, token: &str) -> Result<Option<Holder>> {
        Ok(self.state().push_tokens.get(token).cloned())
    }
}

impl Settings for Memory {
    fn push_application(&self, platform: Platform) -> Option<String> {
        (!self.state().push_off.contains(&platform)).then(|| format!("app/{}", platform.as_str()))
    }
    fn push_after_secs(&self) -> u32 {
        10
    }
    fn strong_passwords(&self) -> bool {
        self.strong_passwords
    }
    fn token_lifetime(&self) -> u64 {
        30 * 24 * 3600
    }
    fn edit_window_secs(&self) -> u64 {
        crate::domain::rich::DEFAULT_EDIT_WINDOW_SECS
    }
}
