//! Push registrations: one per device (the login's device key), a token held by one
//! registration at a time across all users, the SNS endpoint behind each. Who may act: a
//! caller registers and unregisters only the device of their own session; there is no way
//! to name another.

use crate::domain::ids::{ConversationId, Target, UserId};
use crate::domain::now_secs;
use crate::domain::push::{Platform, Registration};
use crate::domain::refusal::{Refusal, Result};
use crate::store::push::{Flag, Holder, Settings, Visibility};
use crate::store::Backend;
use serde_json::{json, Value};

/// Registers the caller's device for pushes at `token`. A token another registration holds
/// (another user's device, or this user's older login on the same phone) moves here; the
/// device's own earlier token, if another, is let go. A platform the deployment has no SNS
/// application for is refused.
pub async fn register(
    backend: &impl Backend,
    (user, device, session): (UserId, &str, &str),
    platform: Platform,
    token: &str,
) -> Result<Registration> {
    let Some(application) = backend.push_application(platform) else {
        return Err(Refusal::invalid(format!("push platform {} is not configured here", platform.as_str())).into());
    };
    let device = device.to_string();
    let endpoint = backend.push_endpoint(&application, token).await?;
    let holder = Holder { user_id: user, device: device.clone() };
    let registration = Registration {
        device: device.clone(),
        platform,
        token: token.to_string(),
        endpoint,
        enabled: true,
        session: session.to_string(),
    };
    let before = backend.registrations(user).await?.into_iter().find(|r| r.device == device);
    backend.put_registration(user, &registration).await?;
    backend.mark_pushable(user, &device, true).await?;
    if let Some(previous) = backend.claim_push_token(token, &holder).await?.filter(|h| *h != holder) {
        backend.remove_registrations(previous.user_id, std::slice::from_ref(&previous.device)).await?;
        backend.mark_pushable(previous.user_id, &previous.device, false).await?;
    }
    if let Some(before) = before.filter(|b| b.token != token) {
        let held = Holder { user_id: user, device };
        if backend.release_push_token(&before.token, &held).await? {
            backend.delete_push_endpoint(&before.endpoint).await?;
        }
    }
    Ok(registration)
}

/// Ends the caller's device's registration and deletes its SNS endpoint (unless the token has
/// moved on to another registration meanwhile). `false` when there was none.
pub async fn unregister(backend: &impl Backend, (user, device): (UserId, &str)) -> Result<bool> {
    let Some(registration) = backend.registrations(user).await?.into_iter().find(|r| r.device == device) else {
        return Ok(false);
    };
    backend.remove_registrations(user, &[device.to_string()]).await?;
    backend.mark_pushable(user, device, false).await?;
    let holder = Holder { user_id: user, device: device.to_string() };
    if backend.release_push_token(&registration.token, &holder).await? {
        backend.delete_push_endpoint(&registration.endpoint).await?;
    }
    Ok(true)
}

/// A registration as the client sees it (its SNS endpoint stays the server's).
pub fn view(registration: &Registration) -> serde_json::Value {
    serde_json::json!({
        "device": registration.device,
        "platform": registration.platform.as_str(),
        "token": registration.token,
        "enabled": registration.enabled,
    })
}

/// The user's registrations, one per device.
pub async fn list(backend: &impl Backend, user: UserId) -> Result<Vec<Registration>> {
    Ok(backend.registrations(user).await?)
}

/// Forgets the registrations made in sessions that ended (logout, "log out everywhere", a
/// password change, a login past the session cap): a logged-out phone never shows a message,
/// whatever device name its sockets gave. DynamoDB only: the SNS endpoint stays (SNS keeps it
/// for free, and a later registration of the same token gets it back), so the functions that
/// end sessions need no SNS rights.
pub async fn forget_sessions(backend: &impl Backend, user: UserId, sessions: &[String]) -> Result<()> {
    let registrations = backend.registrations(user).await?;
    let ended: Vec<&Registration> = registrations.iter().filter(|r| sessions.contains(&r.session)).collect();
    if ended.is_empty() {
        return Ok(());
    }
    let names: Vec<String> = ended.iter().map(|r| r.device.clone()).collect();
    backend.remove_registrations(user, &names).await?;
    for registration in ended {
        backend.mark_pushable(user, &registration.device, false).await?;
        let holder = Holder { user_id: user, device: registration.device.clone() };
        backend.release_push_token(&registration.token, &holder).await?;
    }
    Ok(())
}

/// The user's settings (`push_preview`, `read_receipts`), after a partial update: only the
/// flags given change.
pub async fn update_settings(
    backend: &impl Backend,
    user: UserId,
    flags: &[(Flag, bool)],
    presence: Option<Visibility>,
) -> Result<Settings> {
    for (flag, on) in flags {
        backend.set_flag(user, *flag, *on).await?;
    }
    if let Some(visibility) = presence {
        backend.set_presence(user, visibility).await?;
    }
    Ok(backend.push_settings(user).await?)
}

/// Mutes the caller's conversation with `target` (a user, or a group they are a member of)
/// until `until` (seconds); 0 unmutes. No push for it meanwhile; sockets and sync still carry it.
pub async fn mute(backend: &impl Backend, user: UserId, target: Target, until: u64) -> Result<Vec<Value>> {
    match target {
        Target::User(other) if other == user => return Err(Refusal::invalid("you cannot mute yourself").into()),
        Target::Group(group) if !backend.members(group).await?.contains(&user) => {
            return Err(Refusal::NotGroupMember.into())
        }
        _ => {}
    }
    let conversation = ConversationId::of(user, target);
    backend.set_mute(user, &conversation.to_string(), until).await?;
    Ok(if until == 0 { vec![] } else { vec![mute_view(user, conversation, until)] })
}

/// The caller's mutes still in force.
pub async fn mutes(backend: &impl Backend, user: UserId) -> Result<Vec<Value>> {
    let now = now_secs();
    let mut listed: Vec<(ConversationId, u64)> = backend
        .push_settings(user)
        .await?
        .mutes
        .into_iter()
        .filter(|(_, until)| *until > now)
        .filter_map(|(conversation, until)| Some((conversation.parse().ok()?, until)))
        .collect();
    listed.sort_by_key(|(conversation, _)| conversation.to_string());
    Ok(listed.into_iter().map(|(conversation, until)| mute_view(user, conversation, until)).collect())
}

/// A mute as the client sees it: `with` the other user, or `g_id`, and `until`.
fn mute_view(user: UserId, conversation: ConversationId, until: u64) -> Value {
    match conversation {
        ConversationId::Group(group) => json!({ "g_id": group, "until": until }),
        ConversationId::Direct(a, b) => json!({ "with": if a == user { b } else { a }, "until": until }),
        ConversationId::Feed(_) => json!({ "until": until }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::memory::{refused, Memory};

    /// A user's login on a device: the device key is the device name and the login's tag.
    fn caller(user: u64, device: &str, tag: &str) -> (UserId, String, String) {
        (UserId(user), format!("{device}~{tag}"), format!("session-{tag}"))
    }

    #[tokio::test]
    async fn a_token_belongs_to_one_registration_across_users_and_logins() {
        let memory = Memory::default();
        let (old_login, new_login, other) =
            (caller(1, "iphone", "a"), caller(1, "iphone", "b"), caller(2, "iphone", "c"));
        register(&memory, (old_login.0, &old_login.1, &old_login.2), Platform::Apns, "tok-00000001").await.unwrap();
        // A new login on the same phone registers the same token: the old login's goes.
        register(&memory, (new_login.0, &new_login.1, &new_login.2), Platform::Apns, "tok-00000001").await.unwrap();
        let devices: Vec<String> = list(&memory, UserId(1)).await.unwrap().into_iter().map(|r| r.device).collect();
        assert_eq!(devices, std::slice::from_ref(&new_login.1));
        // Another user signs in on that phone: the token moves to them.
        register(&memory, (other.0, &other.1, &other.2), Platform::Apns, "tok-00000001").await.unwrap();
        assert!(list(&memory, UserId(1)).await.unwrap().is_empty());
        assert_eq!(list(&memory, UserId(2)).await.unwrap().len(), 1);
        assert!(memory.state().deleted_endpoints.is_empty(), "the endpoint is the token's: it moved with it");
    }

    #[tokio::test]
    async fn a_new_token_replaces_the_devices_old_one_and_unregister_deletes_the_endpoint() {
        let memory = Memory::default();
        let phone = caller(1, "android", "a");
        register(&memory, (phone.0, &phone.1, &phone.2), Platform::Fcm, "fcm-token-1").await.unwrap();
        register(&memory, (phone.0, &phone.1, &phone.2), Platform::Fcm, "fcm-token-2").await.unwrap();
        let listed = list(&memory, UserId(1)).await.unwrap();
        assert_eq!((listed.len(), listed[0].token.as_str()), (1, "fcm-token-2"));
        assert_eq!(memory.state().deleted_endpoints, ["fcm-token-1@app/fcm"]);
        assert!(unregister(&memory, (phone.0, &phone.1)).await.unwrap());
        assert!(!unregister(&memory, (phone.0, &phone.1)).await.unwrap(), "nothing left to end");
        assert!(list(&memory, UserId(1)).await.unwrap().is_empty());
        assert!(memory.state().push_tokens.is_empty());
    }

    #[tokio::test]
    async fn a_platform_without_an_application_is_refused_and_ended_sessions_registrations_go() {
        let memory = Memory::default();
        memory.state().push_off.insert(Platform::ApnsSandbox);
        let phone = caller(1, "iphone", "a");
        let off = register(&memory, (phone.0, &phone.1, &phone.2), Platform::ApnsSandbox, "tok-00000001").await;
        assert!(matches!(refused(off), Refusal::Invalid(_)));
        register(&memory, (phone.0, &phone.1, &phone.2), Platform::Apns, "tok-00000001").await.unwrap();
        let tablet = caller(1, "ipad", "b");
        register(&memory, (tablet.0, &tablet.1, &tablet.2), Platform::Apns, "tok-00000002").await.unwrap();
        forget_sessions(&memory, UserId(1), std::slice::from_ref(&phone.2)).await.unwrap();
        let left: Vec<String> = list(&memory, UserId(1)).await.unwrap().into_iter().map(|r| r.token).collect();
        assert_eq!(left, ["tok-00000002"]);
        assert!(!memory.state().push_tokens.contains_key("tok-00000001"), "its token is free again");
    }
}
