//! Logging a socket in by a frame: simple_im's `[[r]]` login, seed 003's `LOGIN` / `LOGON`.
//! A password login opens a session of its own, a token's socket belongs to its session; the
//! answer is posted first, then what the device has not confirmed, in order.

use super::answer::Answer;
use crate::delivery::{self, render};
use crate::domain::entry::Entry;
use crate::domain::format::Format;
use crate::domain::ids::{device_key, DeviceName, UserId};
use crate::domain::names::{LoginName, Password};
use crate::domain::refusal::{Error, Refusal, Result};
use crate::domain::user::NewUser;
use crate::service::{auth, presence, sync};
use crate::store::connections::Connection;
use im_adapters::Clients;
use serde_json::json;

/// Entries of each kind one SYNC answer carries: well under API Gateway's 128 KB message.
pub const SYNC_PAGE: usize = 50;

/// A login frame's credentials.
pub(super) struct Login<'a> {
    pub(super) token: Option<String>,
    pub(super) phone: Option<String>,
    pub(super) email: Option<String>,
    pub(super) password: Option<Password>,
    pub(super) device: Option<String>,
    /// `[r.user] id`: the user the credentials must name.
    pub(super) user_id: Option<String>,
    /// The connection's address, for the login limits.
    pub(super) source: &'a str,
}

/// After a login frame: a refusal is answered with its reason; a success is answered, then
/// what this device has not confirmed is pushed without being asked (the simple_im wiki's
/// login), in the connection's format, before anything else. Both are posted in order through
/// `@connections`, so the route itself answers nothing.
pub(super) async fn logged_in(
    clients: &Clients,
    answer: &Answer,
    conn: &Connection,
    outcome: Result<std::result::Result<(UserId, Connection), String>>,
    frame_id: Option<&str>,
) -> Result<String> {
    let (user_id, bound) = match outcome {
        Ok(Ok(bound)) => bound,
        Ok(Err(reason)) => return Ok(answer.login(Err(reason), frame_id)),
        Err(Error::Refused(refusal)) => return Ok(answer.login(Err(refusal.to_string()), frame_id)),
        Err(internal) => return Err(internal),
    };
    let mut frames = vec![answer.login(Ok(user_id), frame_id)];
    let device = (device_key(&bound.device, &bound.tag), bound.device.as_str());
    let pending = sync::pending(clients, user_id, device, None, SYNC_PAGE).await?;
    // Seed 003's contact changes carry the whole contact list, replayed ones too.
    let contacts = match bound.format == Format::Json && pending.feed.iter().any(Entry::is_contact_change) {
        true => Some(delivery::contacts_unread(clients, user_id).await?),
        false => None,
    };
    let replay = pending.feed.iter().chain(&pending.messages);
    frames.extend(replay.map(|entry| render::push_frame(bound.format, entry, contacts.as_ref())));
    if pending.more {
        frames.push(bound.format.frame("sync", "SYNC", &json!({ "more": true })));
    }
    delivery::push_to_connection_in_order(clients, &conn.connection_id, frames).await;
    Ok(String::new())
}

/// The device a login names, else the one the connection was opened with.
fn device_of(conn: &Connection, device: Option<String>) -> Result<DeviceName> {
    match device {
        Some(d) => Ok(DeviceName::parse(Some(&d))?),
        None => Ok(conn.device.clone()),
    }
}

/// Logs a connection in by a frame; `Ok(Err(reason))` when it sent no credentials.
pub(super) async fn log_in(
    clients: &Clients,
    conn: &Connection,
    login: Login<'_>,
    dialect: Format,
) -> Result<std::result::Result<(UserId, Connection), String>> {
    let device = device_of(conn, login.device.clone())?;
    let (user_id, of_token) = match credentials(clients, login).await? {
        Ok(found) => found,
        Err(reason) => return Ok(Err(reason)),
    };
    let (tag, session) = match of_token {
        Some(of_token) => of_token,
        None => {
            let opened = auth::open_socket_session(clients, user_id, &device).await?;
            (opened.tag, opened.id)
        }
    };
    Ok(Ok((user_id, bind(clients, conn, user_id, Bound { device, tag, session }, dialect).await?)))
}

/// Whose credentials a login frame carries, with the session of its token (a token's socket
/// belongs to its session; a password login opens a session of its own): `Ok(Err(reason))`
/// when it carries none, or names another user than its `[r.user] id`.
async fn credentials(
    clients: &Clients,
    login: Login<'_>,
) -> Result<std::result::Result<(UserId, Option<(String, String)>), String>> {
    let (user_id, of_token) = match (login.token, login.password) {
        (Some(token), _) => {
            let caller = auth::resolve(clients, &token).await?;
            (caller.user_id, Some((caller.tag, caller.session)))
        }
        (None, Some(password)) => {
            let name = LoginName::from_fields(login.phone.as_deref(), login.email.as_deref())?;
            (auth::authenticate(clients, &name, password, login.source).await?, None)
        }
        (None, None) => return Ok(Err("send a token, or a phone/email and password".into())),
    };
    if login.user_id.is_some_and(|claimed| claimed != user_id.to_string()) {
        return Ok(Err("user id does not match the login".into()));
    }
    Ok(Ok((user_id, of_token)))
}

/// A login frame on a socket already logged in (seed 003's `LOGON` then `LOGIN {user,
/// password}`): the same user's credentials are answered as a login, and the socket stays as
/// it is; another user's are refused (a socket belongs to one user: reconnect).
pub(super) async fn log_in_again(
    clients: &Clients,
    answer: &Answer,
    logged_in: UserId,
    login: Login<'_>,
    frame_id: Option<&str>,
) -> Result<String> {
    match credentials(clients, login).await? {
        Ok((user_id, _)) if user_id == logged_in => Ok(answer.login(Ok(user_id), frame_id)),
        Ok(_) => Err(Refusal::invalid("already logged in as another user: reconnect to switch").into()),
        Err(reason) => Ok(answer.login(Err(reason), frame_id)),
    }
}

/// Seed 003's `LOGON`: signs up with an email and logs this connection in.
pub(super) async fn sign_up(
    clients: &Clients,
    conn: &Connection,
    (email, password, source): (&str, Password, &str),
    device: Option<String>,
    dialect: Format,
) -> Result<(UserId, Connection)> {
    let device = device_of(conn, device)?;
    let id = auth::sign_up(clients, &NewUser::from_email(email, password)?, source).await?;
    let opened = auth::open_socket_session(clients, id, &device).await?;
    Ok((id, bind(clients, conn, id, Bound { device, tag: opened.tag, session: opened.id }, dialect).await?))
}

/// What a login binds a socket to: its device, the login's tag, its session.
struct Bound {
    device: DeviceName,
    tag: String,
    session: String,
}

/// Binds the connection to its user and session, in its login frame's dialect unless it
/// chose one.
async fn bind(
    clients: &Clients,
    conn: &Connection,
    user_id: UserId,
    Bound { device, tag, session }: Bound,
    dialect: Format,
) -> Result<Connection> {
    let format = if conn.format_chosen { conn.format } else { dialect };
    let bound = Connection { user_id: Some(user_id), device, tag, format, session, ..conn.clone() };
    presence::bind(clients, &bound).await?;
    Ok(bound)
}
