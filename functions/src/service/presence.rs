//! Who is connected: one live socket per user and device name. A new login from a named device
//! closes the socket that device had before (once the new one is bound), so two sockets of
//! one phone never both receive. A socket that names no device (seed 003's clients, two tabs
//! of one user) is a device of its own and evicts nobody.

use crate::delivery;
use crate::domain::ids::{Actor, UserId};
use crate::domain::refusal::{Error, Refusal, Result};
use crate::store::connections::Connection;
use crate::store::push::Visibility;
use crate::store::relations::List;
use crate::store::Backend;
use serde_json::Value;
use std::collections::HashSet;

/// Most live sockets one user keeps (one per device name): a new one past it closes the
/// oldest, so device names a client makes up cannot grow the user's connection record (and
/// every fan-out to them) without bound.
pub const MAX_SOCKETS_PER_USER: usize = 10;

/// Binds a logged-in connection to its user and session, and closes that named device's older
/// sockets and the oldest sockets past [`MAX_SOCKETS_PER_USER`]. Refused when the session
/// ended meanwhile: ending a session deletes it, then closes the sockets listed for it, so a
/// socket listed while its session still exists is found by any later ending (both reads are
/// strongly consistent), and one listed after is closed here.
pub async fn bind(backend: &impl Backend, conn: &Connection) -> Result<()> {
    let user = conn.user_id.ok_or_else(|| Error::internal("binding a connection without a user"))?;
    backend.bind(conn).await?;
    if backend.session(&conn.session).await?.is_none() {
        delivery::close_connections(backend, std::slice::from_ref(&conn.connection_id)).await;
        return Err(Refusal::Unauthorized("the session has ended: log in again".into()).into());
    }
    let (mut older, mut others): (Vec<_>, Vec<_>) = backend
        .sockets_of(user)
        .await?
        .into_iter()
        .filter(|c| c.connection_id != conn.connection_id)
        .partition(|c| c.device == conn.device && conn.device.is_named());
    let first = older.is_empty() && others.is_empty();
    // The devices list's "last seen" (`GET /user/sessions`): best effort, never the login's failure.
    if let Err(err) = backend.touch_session(user, &conn.session, crate::domain::now_secs()).await {
        tracing::warn!(error = %err, "a session's last login was not noted");
    }
    others.sort_by_key(|c| c.since);
    let excess = (others.len() + 1).saturating_sub(MAX_SOCKETS_PER_USER);
    older.extend(others.into_iter().take(excess));
    delivery::close_connections(backend, &older.into_iter().map(|c| c.connection_id).collect::<Vec<_>>()).await;
    if first {
        delivery::presence::announce(backend, user, true).await;
    }
    Ok(())
}

/// The most users one connection watches.
pub const MAX_WATCHED: usize = 100;

/// `PRESENCE_SUBSCRIBE`: connection `cid` of `actor` watches the presence of `users`, replacing
/// what it watched before, until it closes. Only friends who show their presence are watched
/// and answered (online, last seen); everyone else is left out of the answer and of every later
/// `NOTIFY_PRESENCE`, so a stranger learns nothing, not even that the user exists.
pub async fn subscribe(backend: &impl Backend, actor: &Actor, users: &[UserId]) -> Result<Vec<Value>> {
    if users.len() > MAX_WATCHED {
        return Err(Refusal::invalid(format!("users: at most {MAX_WATCHED}")).into());
    }
    let cid = actor.connection_id.as_deref().ok_or_else(|| Refusal::invalid("presence is for sockets"))?;
    let friends: HashSet<UserId> = backend.list(actor.user_id, List::Friends).await?.iter().map(|c| c.other).collect();
    let mut wanted: Vec<UserId> = users.iter().copied().filter(|u| friends.contains(u)).collect();
    wanted.sort_unstable();
    wanted.dedup();
    let settings = backend.settings_of(&wanted).await?;
    let visible: Vec<UserId> =
        wanted.into_iter().zip(settings).filter(|(_, s)| s.presence == Visibility::Friends).map(|(u, _)| u).collect();
    backend.watch(cid, actor.user_id, &visible).await?;
    let states = backend.presence_of(&visible).await?;
    let views = visible.iter().zip(states).map(|(user, (online, seen))| delivery::presence::view(*user, online, seen));
    Ok(views.collect())
}

/// Closes the sockets of the sessions `ended` (their ids), whatever device names they gave.
pub async fn close_sockets_of(backend: &impl Backend, user: UserId, ended: &[String]) -> Result<()> {
    let sockets: Vec<String> = backend
        .sockets_of(user)
        .await?
        .into_iter()
        .filter(|c| ended.contains(&c.session))
        .map(|c| c.connection_id)
        .collect();
    delivery::close_connections(backend, &sockets).await;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::format::Format;
    use crate::store::memory::Memory;

    #[tokio::test]
    async fn a_new_login_of_a_device_closes_its_older_socket_and_keeps_the_others() {
        let memory = Memory::default();
        let (old_phone, tablet) = (memory.connect(1, "android", Format::Json), memory.connect(1, "ipad", Format::Toml));
        let mut new_phone = memory.state().connections[0].clone();
        new_phone.connection_id = "conn-new".into();
        bind(&memory, &new_phone).await.unwrap();
        assert_eq!(memory.state().disconnected, [old_phone]);
        let live: Vec<String> = memory.state().connections.iter().map(|c| c.connection_id.clone()).collect();
        assert_eq!(live, [tablet, "conn-new".to_string()]);
    }

    #[tokio::test]
    async fn sockets_that_name_no_device_never_evict_each_other() {
        let memory = Memory::default();
        let first_tab = memory.connect(1, "unknown", Format::Json);
        let mut second_tab = memory.state().connections[0].clone();
        (second_tab.connection_id, second_tab.tag) = ("conn-tab".into(), "other-login".into());
        bind(&memory, &second_tab).await.unwrap();
        assert!(memory.state().disconnected.is_empty());
        let live: Vec<String> = memory.state().connections.iter().map(|c| c.connection_id.clone()).collect();
        assert_eq!(live, [first_tab, "conn-tab".to_string()]);
    }

    #[tokio::test]
    async fn sockets_past_the_per_user_cap_close_the_oldest() {
        let memory = Memory::default();
        for i in 0..MAX_SOCKETS_PER_USER {
            memory.connect(1, &format!("d{i}"), Format::Json);
            memory.state().connections[i].since = i as u64 + 1;
        }
        let mut one_more = memory.state().connections[0].clone();
        (one_more.connection_id, one_more.device, one_more.since) =
            ("conn-extra".into(), crate::domain::ids::DeviceName::parse(Some("extra")).unwrap(), 100);
        bind(&memory, &one_more).await.unwrap();
        assert_eq!(memory.state().disconnected, ["conn-1"], "the oldest goes");
        assert_eq!(memory.state().connections.len(), MAX_SOCKETS_PER_USER);
    }

    #[tokio::test]
    async fn a_socket_whose_session_ended_while_it_bound_is_refused_and_closed() {
        let memory = Memory::default();
        memory.connect(1, "android", Format::Json);
        let mut late = memory.state().connections[0].clone();
        (late.connection_id, late.session) = ("conn-late".into(), "ended-session".into());
        assert!(matches!(crate::store::memory::refused(bind(&memory, &late).await), Refusal::Unauthorized(_)));
        assert_eq!(memory.state().disconnected, ["conn-late"]);
        assert_eq!(memory.state().connections.len(), 1, "only the first socket is left");
    }

    #[tokio::test]
    async fn ending_a_session_closes_its_sockets_whatever_device_name_they_gave() {
        let memory = Memory::default();
        let (stolen, own) = (memory.connect(1, "anything", Format::Json), memory.connect(1, "ipad", Format::Json));
        memory.state().connections[0].session = "stolen".into();
        close_sockets_of(&memory, UserId(1), &["stolen".to_string()]).await.unwrap();
        assert_eq!(memory.state().disconnected, [stolen]);
        assert_eq!(memory.state().connections[0].connection_id, own);
    }
}
