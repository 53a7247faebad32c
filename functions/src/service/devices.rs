//! "My devices" (issue 27): the sessions that hold a user's account, and ending one of them. A
//! session is named by the first 16 hex digits of its token's hash: never the token, and
//! looked up only among the caller's own sessions, so another user's id finds nothing.

use crate::domain::ids::{Caller, UserId};
use crate::domain::now_secs;
use crate::domain::refusal::{Refusal, Result};
use crate::service::auth;
use crate::store::Backend;
use serde::Serialize;

/// How many hex digits of a session's hash name it.
const ID_DIGITS: usize = 16;

/// One session as its user sees it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Device {
    pub id: String,
    /// The device name it logged in with.
    pub device: String,
    /// The push platform it registered with, if any (`apns`, `apns_sandbox`, `fcm`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub platform: Option<&'static str>,
    /// When it was opened (seconds); 0 for sessions opened before this was kept.
    pub created: u64,
    /// When a socket of it last logged in (seconds); 0: never.
    pub last_seen: u64,
    /// The session this request came with.
    pub current: bool,
}

fn short(id: &str) -> String {
    id.chars().take(ID_DIGITS).collect()
}

/// `GET /user/sessions`: the caller's live sessions, newest first.
pub async fn list(backend: &impl Backend, caller: &Caller) -> Result<Vec<Device>> {
    let (sessions, registrations) =
        futures::join!(backend.sessions_of(caller.user_id), backend.registrations(caller.user_id));
    let registrations = registrations?;
    let now = now_secs();
    let mut devices: Vec<Device> = sessions?
        .into_iter()
        .filter(|(_, listed)| listed.x > now)
        .map(|(id, listed)| Device {
            id: short(&id),
            device: listed.d,
            platform: registrations.iter().find(|r| r.session == id).map(|r| r.platform.as_str()),
            created: listed.c,
            last_seen: listed.l,
            current: id == caller.session,
        })
        .collect();
    devices.sort_by(|a, b| b.created.cmp(&a.created).then_with(|| a.id.cmp(&b.id)));
    Ok(devices)
}

/// `DELETE /user/sessions/{id}`: ends one of the caller's sessions (the current one too), with
/// its sockets and its push registration. An id none of the caller's sessions has is not found.
pub async fn end(backend: &impl Backend, user: UserId, id: &str) -> Result<()> {
    if id.len() != ID_DIGITS || !id.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(Refusal::NotFound("no such session".into()).into());
    }
    let ended: Vec<_> = backend.sessions_of(user).await?.into_iter().filter(|(full, _)| full.starts_with(id)).collect();
    if ended.is_empty() {
        return Err(Refusal::NotFound("no such session".into()).into());
    }
    auth::end(backend, user, ended).await
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::ids::DeviceName;
    use crate::store::memory::{refused, Memory};

    #[tokio::test]
    async fn a_user_lists_and_ends_their_own_sessions_only() {
        let memory = Memory::default();
        memory.user(1, None);
        memory.user(2, None);
        let phone =
            auth::open_session(&memory, UserId(1), &DeviceName::parse(Some("phone")).unwrap(), 3600).await.unwrap();
        let laptop =
            auth::open_session(&memory, UserId(1), &DeviceName::parse(Some("laptop")).unwrap(), 3600).await.unwrap();
        let others =
            auth::open_session(&memory, UserId(2), &DeviceName::parse(Some("tab")).unwrap(), 3600).await.unwrap();
        let caller = Caller {
            user_id: UserId(1),
            device: DeviceName::parse(Some("laptop")).unwrap(),
            tag: laptop.tag.clone(),
            session: laptop.id.clone(),
        };
        let listed = list(&memory, &caller).await.unwrap();
        assert_eq!(listed.len(), 2);
        assert!(listed.iter().any(|d| d.device == "laptop" && d.current));
        assert!(listed.iter().any(|d| d.device == "phone" && !d.current && d.id == short(&phone.id)));
        assert!(matches!(refused(end(&memory, UserId(1), &short(&others.id)).await), Refusal::NotFound(_)));
        assert!(matches!(refused(end(&memory, UserId(1), "zz").await), Refusal::NotFound(_)));
        end(&memory, UserId(1), &short(&phone.id)).await.unwrap();
        assert_eq!(list(&memory, &caller).await.unwrap().len(), 1);
        assert!(memory.state().sessions.contains_key(&others.id), "another user's session stays");
    }
}
