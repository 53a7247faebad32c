//! Presence news: a user's first socket opening, or their last closing, posted to the
//! connections watching them (`store::watch`), friends only, and to nobody when the user shows
//! their presence to nobody. Not stored beyond `last_seen`; a watcher that missed one asks
//! again by subscribing.

use crate::domain::format::Format;
use crate::domain::ids::UserId;
use crate::domain::now_secs;
use crate::store::push::Visibility;
use crate::store::relations::List;
use crate::store::{self, Backend};
use serde_json::{json, Value};
use std::collections::HashSet;
use std::sync::Arc;

/// How a user's presence reads: `online`, and `last_seen` (Unix seconds their last socket
/// closed; 0 when never).
pub fn view(user: UserId, online: bool, last_seen: u64) -> Value {
    json!({ "user": user, "online": online, "last_seen": last_seen })
}

/// Forgets a closed connection (`$disconnect`, a post answered 410 Gone, a socket closed from
/// here); when it was its user's last, their watchers hear they went offline.
pub async fn disconnected(backend: &impl Backend, cid: &str) -> store::Result<()> {
    if let Some(user) = backend.forget(cid).await? {
        left(backend, user).await;
    }
    Ok(())
}

/// After a socket of `user` closed: when it was their last, notes when and tells the watchers.
pub async fn left(backend: &impl Backend, user: UserId) {
    let noted = async {
        if !backend.sockets_of(user).await?.is_empty() {
            return Ok(false);
        }
        backend.mark_seen(user, now_secs()).await?;
        Ok::<_, store::StoreError>(true)
    };
    match noted.await {
        Ok(true) => announce(backend, user, false).await,
        Ok(false) => {}
        Err(err) => tracing::warn!(error = %err, "could not note a user's last socket closing"),
    }
}

/// Tells the connections watching `user` that they came online or went offline. Best effort:
/// a failure is logged; a watcher can always subscribe again.
pub async fn announce(backend: &impl Backend, user: UserId, online: bool) {
    if let Err(err) = tell(backend, user, online).await {
        tracing::warn!(error = %err, "presence news not sent");
    }
}

async fn tell(backend: &impl Backend, user: UserId, online: bool) -> store::Result<()> {
    let watchers = backend.watchers(user).await?;
    if watchers.is_empty() {
        return Ok(());
    }
    if backend.push_settings(user).await?.presence == Visibility::Nobody {
        return Ok(());
    }
    let friends = backend.list(user, List::Friends).await?;
    let friends: HashSet<UserId> = friends.iter().map(|c| c.other).collect();
    let last_seen = backend.presence_of(&[user]).await?.first().map_or(0, |(_, seen)| *seen);
    let frame: Arc<[u8]> =
        Arc::from(Format::Json.frame("", "NOTIFY_PRESENCE", &view(user, online, last_seen)).into_bytes());
    let posts =
        watchers.into_iter().filter(|(_, watcher)| friends.contains(watcher)).map(|(cid, _)| (cid, frame.clone()));
    // A gone watcher is not forgotten here: its own `$disconnect` does that.
    backend.post_all(posts.collect()).await;
    Ok(())
}
