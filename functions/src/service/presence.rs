//! Who is connected: one live socket per user and device name. A new login from a device
//! closes the socket that device had before (once the new one is bound), so two sockets of
//! one phone never both receive.

use crate::delivery;
use crate::domain::ids::{Caller, UserId};
use crate::domain::refusal::{Error, Result};
use crate::store::connections::Connection;
use crate::store::Backend;

/// Most live sockets one user keeps (one per device name): a new one past it closes the
/// oldest, so device names a client makes up cannot grow the user's connection record (and
/// every fan-out to them) without bound.
pub const MAX_SOCKETS_PER_USER: usize = 10;

/// Binds a logged-in connection to its user and closes that device's older sockets, and the
/// oldest sockets past [`MAX_SOCKETS_PER_USER`].
pub async fn bind(backend: &impl Backend, conn: &Connection) -> Result<()> {
    let user = conn.user_id.ok_or_else(|| Error::internal("binding a connection without a user"))?;
    backend.bind(conn).await?;
    let (mut older, mut others): (Vec<_>, Vec<_>) = backend
        .of_users(&[user])
        .await?
        .into_iter()
        .filter(|c| c.connection_id != conn.connection_id)
        .partition(|c| c.device == conn.device);
    others.sort_by_key(|c| c.since);
    let excess = (others.len() + 1).saturating_sub(MAX_SOCKETS_PER_USER);
    older.extend(others.into_iter().take(excess));
    delivery::close_connections(backend, &older.into_iter().map(|c| c.connection_id).collect::<Vec<_>>()).await;
    Ok(())
}

/// Closes the sockets a session opened (its device name and tag): what a logout ends.
pub async fn close_sockets_of(backend: &impl Backend, caller: &Caller) -> Result<()> {
    close_sockets(backend, caller.user_id, |c| c.device == caller.device && c.tag == caller.tag).await
}

/// Closes a user's sockets that `ended` picks.
pub async fn close_sockets(backend: &impl Backend, user: UserId, ended: impl Fn(&Connection) -> bool) -> Result<()> {
    let sockets: Vec<String> =
        backend.of_users(&[user]).await?.into_iter().filter(|c| ended(c)).map(|c| c.connection_id).collect();
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
}
