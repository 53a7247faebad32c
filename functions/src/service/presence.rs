//! Who is connected: one live socket per user and device name. A new login from a device
//! closes the socket that device had before (once the new one is bound), so two sockets of
//! one phone never both receive.

use crate::delivery;
use crate::domain::ids::Caller;
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
pub async fn close_sockets(backend: &impl Backend, user: u64, ended: impl Fn(&Connection) -> bool) -> Result<()> {
    let sockets: Vec<String> =
        backend.of_users(&[user]).await?.into_iter().filter(|c| ended(c)).map(|c| c.connection_id).collect();
    delivery::close_connections(backend, &sockets).await;
    Ok(())
}
