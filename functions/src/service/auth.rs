//! Signing up, logging in and out, and resolving a token to its caller. Passwords are hashed
//! with argon2id (off the async threads); tokens are 32 random bytes, stored only hashed.

use crate::domain::ids::{device_key, Caller, DeviceName, UserId};
use crate::domain::limits::{LOGINS_PER_ACCOUNT, LOGINS_PER_SOURCE, SIGN_UPS_PER_SOURCE};
use crate::domain::names::{LoginName, Password};
use crate::domain::now_secs;
use crate::domain::refusal::{Error, Refusal, Result};
use crate::domain::user::{check_strong_password, NewUser};
use crate::service::{limits, presence, push, sync};
use crate::store::sessions::{self, Session};
use crate::store::Backend;
use argon2::password_hash::{rand_core::OsRng, PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::Argon2;
use base64::Engine;
use rand::RngCore;

/// Hashes a password with argon2id off the async threads (it is deliberately slow).
pub(crate) async fn hash_password(password: Password) -> Result<String> {
    tokio::task::spawn_blocking(move || {
        let salt = SaltString::generate(&mut OsRng);
        Argon2::default().hash_password(password.expose().as_bytes(), &salt).map(|h| h.to_string())
    })
    .await
    .map_err(Error::internal)?
    .map_err(Error::internal)
}

/// Checks a password against a stored hash. Without a stored hash it still spends the same
/// work, so response time does not tell whether an account exists.
async fn verify_password(password: Password, stored: Option<String>) -> bool {
    tokio::task::spawn_blocking(move || {
        let stored = stored.unwrap_or_else(|| DUMMY_HASH.to_string());
        let Ok(parsed) = PasswordHash::new(&stored) else { return false };
        Argon2::default().verify_password(password.expose().as_bytes(), &parsed).is_ok() && stored != DUMMY_HASH
    })
    .await
    .unwrap_or(false)
}

/// An argon2id hash of a random string nobody knows, used to equalise timing.
const DUMMY_HASH: &str =
    "$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHRzb21lc2FsdA$0vSPrNfTzZl0kbgJqrz4+qI9S3Hsv3W4mIC7WMCGqBs";

/// A new session token: 32 random bytes, URL-safe base64 (cookie- and query-safe).
fn new_token() -> String {
    let mut bytes = [0u8; 32];
    rand::thread_rng().fill_bytes(&mut bytes);
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

/// Signs up from a source address (limited per address; the strong password rule when the
/// deployment asks for it): stores the profile and the password's hash; returns the new id.
pub async fn sign_up(backend: &impl Backend, new: &NewUser, source: &str) -> Result<UserId> {
    check_password(backend, new.password.expose())?;
    limits::check(backend, &SIGN_UPS_PER_SOURCE, source).await?;
    let hash = hash_password(new.password.clone()).await?;
    Ok(backend.insert_user(&new.profile, hash).await?)
}

/// Checks a password against the user `name` names: the same refusal whether the user is
/// unknown or the password wrong, and the same work either way. Attempts are limited per
/// source address, and per account (failures only) before any hashing is spent.
pub async fn authenticate(
    backend: &impl Backend,
    name: &LoginName,
    password: Password,
    source: &str,
) -> Result<UserId> {
    limits::check(backend, &LOGINS_PER_SOURCE, source).await?;
    let Some(id) = backend.claimed_by(name).await? else {
        verify_password(password, None).await;
        return Err(Refusal::WrongCredentials.into());
    };
    match check_account_password(backend, id, password).await? {
        true => Ok(id),
        false => Err(Refusal::WrongCredentials.into()),
    }
}

/// Checks the password of account `id` under the account's one limit of failures (logins by
/// any of its names and password changes share it): counted before hashing, given back when
/// right.
pub(super) async fn check_account_password(backend: &impl Backend, id: UserId, password: Password) -> Result<bool> {
    let attempt = limits::check_refundable(backend, &LOGINS_PER_ACCOUNT, &format!("user#{id}")).await?;
    let right = verify_password(password, backend.password_hash(id).await?).await;
    if right {
        attempt.refund(backend).await?;
    }
    Ok(right)
}

/// A new login's tag: what tells its device from another of the same name.
pub fn new_tag() -> String {
    format!("{:08x}", rand::random::<u32>())
}

/// Most sessions one user keeps: a new login past it ends the oldest (and its sockets).
pub const MAX_SESSIONS_PER_USER: usize = 20;

/// A session just opened: the token goes to the client once; the id (its hash) is what the
/// store and the sockets know it by.
pub struct Opened {
    pub token: String,
    pub id: String,
    pub tag: String,
    pub expires_at: u64,
}

/// Opens a session for `user_id` on `device`, living `lifetime` seconds, and ends the ones
/// past [`MAX_SESSIONS_PER_USER`] (the soonest to expire first) and those expired.
pub async fn open_session(
    backend: &impl Backend,
    user_id: UserId,
    device: &DeviceName,
    lifetime: u64,
) -> Result<Opened> {
    let token = new_token();
    let (id, tag, expires_at) = (sessions::id_of(&token), new_tag(), now_secs() + lifetime);
    let session = Session { user_id, device: device.to_string(), tag: tag.clone(), expires_at };
    sync::start_device(backend, user_id, &device_key(device, &tag), now_secs() + backend.token_lifetime()).await?;
    backend.open_session(&id, &session).await?;
    let mut listed: Vec<(String, sessions::Listed)> = backend.sessions_of(user_id).await?.into_iter().collect();
    listed.sort_by_key(|(_, session)| session.x);
    let now = now_secs();
    let expired = listed.iter().filter(|(_, s)| s.x <= now).count();
    let ended = expired.max(listed.len().saturating_sub(MAX_SESSIONS_PER_USER));
    if ended > 0 {
        end(backend, user_id, listed.into_iter().take(ended).collect()).await?;
    }
    Ok(Opened { token, id, tag, expires_at })
}

/// A session for a socket that logged in by password: it lives as long as a socket can, its
/// token is never handed out, and a logout everywhere or a password change ends it like any
/// other.
pub async fn open_socket_session(backend: &impl Backend, user_id: UserId, device: &DeviceName) -> Result<Opened> {
    open_session(backend, user_id, device, crate::store::connections::LIFETIME_SECS).await
}

/// Logs the caller's session out, closes the sockets it opened and ends its device's push
/// registration.
pub async fn log_out(backend: &impl Backend, caller: &Caller) -> Result<()> {
    backend.close_session(&caller.session).await?;
    push::forget_sessions(backend, caller.user_id, std::slice::from_ref(&caller.session)).await?;
    presence::close_sockets_of(backend, caller.user_id, std::slice::from_ref(&caller.session)).await
}

/// Ends every session of the caller's user but `keep` (none: all of them, "log out
/// everywhere"), and closes the sockets those sessions opened.
pub async fn end_sessions(backend: &impl Backend, user: UserId, keep: Option<&str>) -> Result<()> {
    let ended = backend.sessions_of(user).await?.into_iter().filter(|(id, _)| Some(id.as_str()) != keep);
    end(backend, user, ended.collect()).await
}

/// Ends these listed sessions of `user`: their tokens, their devices' push registrations, the
/// sockets they opened.
pub async fn end(backend: &impl Backend, user: UserId, ended: Vec<(String, sessions::Listed)>) -> Result<()> {
    let ids: Vec<String> = ended.into_iter().map(|(id, _)| id).collect();
    backend.end_sessions(user, &ids).await?;
    push::forget_sessions(backend, user, &ids).await?;
    presence::close_sockets_of(backend, user, &ids).await
}

/// Changes the caller's password: the current one must be right (a wrong one counts as a
/// failed login of the account), the new one passes the sign-up rule; every other session
/// ends, with its sockets, and the caller's stays.
pub async fn change_password(backend: &impl Backend, caller: &Caller, current: Password, new: Password) -> Result<()> {
    if !check_account_password(backend, caller.user_id, current).await? {
        return Err(Refusal::WrongCredentials.into());
    }
    check_password(backend, new.expose())?;
    backend.set_password_hash(caller.user_id, hash_password(new).await?).await?;
    end_sessions(backend, caller.user_id, Some(&caller.session)).await
}

/// How long a socket ticket works: long enough to open the socket it was asked for.
pub const TICKET_SECS: u64 = 60;

/// A one-time ticket for `?ticket=` on the socket, for the caller's session: a short-lived
/// secret in the URL instead of the 30-day token.
pub async fn issue_ticket(backend: &impl Backend, caller: &Caller) -> Result<String> {
    let ticket = new_token();
    backend.issue_ticket(&sessions::id_of(&ticket), &caller.session, now_secs() + TICKET_SECS).await?;
    Ok(ticket)
}

/// Uses up a ticket: the caller of its session. Unknown, used and expired tickets, and those
/// whose session ended, are refused alike.
pub async fn redeem_ticket(backend: &impl Backend, ticket: &str) -> Result<Caller> {
    let refused = || Error::from(Refusal::Unauthorized("invalid, used or expired ticket".into()));
    if ticket.is_empty() || ticket.len() > 256 {
        return Err(refused());
    }
    let session = backend.take_ticket(&sessions::id_of(ticket)).await?.ok_or_else(refused)?;
    caller_of(backend, session).await?.ok_or_else(refused)
}

/// The password rule of new passwords: the seeds' 6 to 128 characters, or the strong rule
/// when the deployment asks for it.
pub(crate) fn check_password(backend: &impl Backend, password: &str) -> Result<()> {
    if backend.strong_passwords() {
        return Ok(check_strong_password(password)?);
    }
    if !(6..=128).contains(&password.chars().count()) {
        return Err(Refusal::invalid("password must be 6 to 128 characters").into());
    }
    Ok(())
}

/// Resolves a token to its caller: one GetItem. Unknown and expired tokens are refused alike.
pub async fn resolve(backend: &impl Backend, token: &str) -> Result<Caller> {
    let refused = || Error::from(Refusal::Unauthorized("invalid or expired token".into()));
    if token.is_empty() || token.len() > 256 {
        return Err(Refusal::Unauthorized("invalid token".into()).into());
    }
    caller_of(backend, sessions::id_of(token)).await?.ok_or_else(refused)
}

/// The caller of the live session `id`.
async fn caller_of(backend: &impl Backend, id: String) -> Result<Option<Caller>> {
    let Some(session) = backend.session(&id).await? else { return Ok(None) };
    let device = DeviceName::parse(Some(&session.device)).map_err(Error::internal)?;
    Ok(Some(Caller { user_id: session.user_id, device, tag: session.tag, session: id }))
}

/// Finds the token a client sent: `Authorization: Bearer`, else a `token=` cookie, else
/// `?token=` (browsers cannot set headers on a WebSocket handshake).
pub fn find_token<'a>(
    authorization: Option<&'a str>,
    cookie_headers: impl IntoIterator<Item = &'a str>,
    query_token: Option<&'a str>,
) -> Option<&'a str> {
    if let Some(bearer) = authorization.and_then(|a| a.strip_prefix("Bearer ")) {
        return Some(bearer.trim());
    }
    let from_cookie = cookie_headers.into_iter().flat_map(cookie::Cookie::split_parse).find_map(|c| match c {
        Ok(c) if c.name() == "token" => c.value_raw().map(|v| v.trim_matches('"')),
        _ => None,
    });
    from_cookie.or(query_token)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn token_found_in_each_place_in_order() {
        assert_eq!(find_token(Some("Bearer abc"), ["token=zzz"], Some("q")), Some("abc"));
        assert_eq!(find_token(None, ["a=1; token=xyz; b=2"], Some("q")), Some("xyz"));
        assert_eq!(find_token(None, ["a=1"], Some("q")), Some("q"));
        assert_eq!(find_token(Some("Basic x"), [], None), None);
    }

    #[test]
    fn tokens_are_random() {
        let (a, b) = (new_token(), new_token());
        assert_ne!(a, b);
        assert_eq!(a.len(), 43);
    }

    #[tokio::test]
    async fn passwords_verify_only_with_the_right_secret() {
        let hash = hash_password("888888".into()).await.unwrap();
        assert!(hash.starts_with("$argon2id$"));
        assert!(verify_password("888888".into(), Some(hash.clone())).await);
        assert!(!verify_password("888889".into(), Some(hash)).await);
        assert!(!verify_password("anything".into(), None).await);
    }
}

/// The use cases through the in-memory backend.
#[cfg(test)]
mod use_cases {
    use super::*;
    use crate::domain::format::Format;
    use crate::domain::names::Email;
    use crate::store::memory::{refused, Memory};
    use crate::store::ports::Settings;

    fn eva() -> NewUser {
        NewUser::from_email("Eva@example.com", "888888".into()).unwrap()
    }

    fn eva_name() -> LoginName {
        LoginName::Email(Email::parse("eva@example.com").unwrap())
    }

    fn device(name: &str) -> DeviceName {
        DeviceName::parse(Some(name)).unwrap()
    }

    #[tokio::test]
    async fn a_sign_up_logs_in_with_its_password_only_and_claims_its_email_once() {
        let memory = Memory::default();
        let id = sign_up(&memory, &eva(), "10.0.0.1").await.unwrap();
        let claim = &LoginName::Email(Email::parse("eva@example.com").unwrap());
        assert_eq!(authenticate(&memory, claim, "888888".into(), "10.0.0.1").await.unwrap(), id);
        let wrong = authenticate(&memory, claim, "888889".into(), "10.0.0.1").await;
        let unknown = authenticate(
            &memory,
            &LoginName::Email(Email::parse("nobody@example.com").unwrap()),
            "888888".into(),
            "10.0.0.1",
        )
        .await;
        assert_eq!((refused(wrong), refused(unknown)), (Refusal::WrongCredentials, Refusal::WrongCredentials));
        assert_eq!(refused(sign_up(&memory, &eva(), "10.0.0.2").await), Refusal::EmailTaken);
        assert!(!memory.state().password_hashes[&id].contains("888888"), "stored hashed");
    }

    #[tokio::test]
    async fn the_strong_rule_refuses_a_seed_password_when_the_deployment_asks_for_it() {
        let memory = Memory::with_strong_passwords();
        assert!(matches!(refused(sign_up(&memory, &eva(), "10.0.0.1").await), Refusal::Invalid(_)));
        assert!(memory.state().profiles.is_empty());
    }

    #[tokio::test]
    async fn logins_past_the_accounts_limit_are_refused_before_any_hashing() {
        let memory = Memory::default();
        sign_up(&memory, &eva(), "10.0.0.1").await.unwrap();
        for attempt in 0..LOGINS_PER_ACCOUNT.max {
            let _ = authenticate(&memory, &eva_name(), "nope".into(), &format!("10.1.0.{attempt}")).await;
        }
        let right = authenticate(&memory, &eva_name(), "888888".into(), "10.2.0.1").await;
        assert!(matches!(refused(right), Refusal::TooManyRequests(_)));
    }

    #[tokio::test]
    async fn a_right_password_gives_its_attempt_back_so_reconnecting_never_locks_out() {
        let memory = Memory::default();
        sign_up(&memory, &eva(), "10.0.0.1").await.unwrap();
        for _ in 0..LOGINS_PER_ACCOUNT.max + 5 {
            authenticate(&memory, &eva_name(), "888888".into(), "10.0.0.1").await.unwrap();
        }
    }

    #[tokio::test]
    async fn a_password_change_ends_every_other_session_and_its_sockets() {
        let memory = Memory::default();
        let id = sign_up(&memory, &eva(), "10.0.0.1").await.unwrap();
        let lifetime = memory.token_lifetime();
        let (kept, ended) = (
            open_session(&memory, id, &device("web"), lifetime).await.unwrap(),
            open_session(&memory, id, &device("ipad"), lifetime).await.unwrap(),
        );
        let caller = resolve(&memory, &kept.token).await.unwrap();
        memory.connect(id.0, "anything", Format::Json);
        memory.state().connections[0].session = ended.id.clone();
        change_password(&memory, &caller, "888888".into(), "999999".into()).await.unwrap();
        assert!(resolve(&memory, &kept.token).await.is_ok());
        assert!(matches!(refused(resolve(&memory, &ended.token).await), Refusal::Unauthorized(_)));
        assert_eq!(memory.state().disconnected.len(), 1, "the ended session's socket is closed");
        assert_eq!(authenticate(&memory, &eva_name(), "999999".into(), "10.0.0.1").await.unwrap(), id);
    }

    #[tokio::test]
    async fn a_logged_out_session_resolves_no_more() {
        let memory = Memory::default();
        let token = open_session(&memory, UserId(7), &device("android"), 60).await.unwrap().token;
        let caller = resolve(&memory, &token).await.unwrap();
        assert_eq!(caller.user_id, UserId(7));
        log_out(&memory, &caller).await.unwrap();
        assert!(matches!(refused(resolve(&memory, &token).await), Refusal::Unauthorized(_)));
    }

    #[tokio::test]
    async fn a_ticket_opens_one_socket_of_its_live_session_once() {
        let memory = Memory::default();
        let token = open_session(&memory, UserId(7), &device("android"), 60).await.unwrap().token;
        let caller = resolve(&memory, &token).await.unwrap();
        let ticket = issue_ticket(&memory, &caller).await.unwrap();
        assert_eq!(redeem_ticket(&memory, &ticket).await.unwrap(), caller);
        assert!(matches!(refused(redeem_ticket(&memory, &ticket).await), Refusal::Unauthorized(_)), "used up");
        let second = issue_ticket(&memory, &caller).await.unwrap();
        log_out(&memory, &caller).await.unwrap();
        assert!(matches!(refused(redeem_ticket(&memory, &second).await), Refusal::Unauthorized(_)), "session ended");
        assert!(
            matches!(refused(redeem_ticket(&memory, &token).await), Refusal::Unauthorized(_)),
            "a token is no ticket"
        );
    }
}
