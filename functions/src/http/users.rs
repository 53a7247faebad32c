//! Users and sessions (seed 001, simple_im's login).

use super::{path_number, path_param, Ctx, Fields, Reply};
use crate::domain::ids::{DeviceName, UserId};
use crate::domain::names::{Email, Phone};
use crate::domain::refusal::{Refusal, Result};
use crate::domain::user::{NewUser, Profile, ProfileChange};
use crate::service::{auth, devices, users};
use cookie::{Cookie, SameSite};
use lambda_http::Request;
use serde_json::{json, Value};

/// `GET /health`: answers without touching any table, so it measures the function alone.
pub async fn health(_ctx: &Ctx, _req: &Request) -> Result<Reply> {
    Ok(Reply::ok(json!({})))
}

/// The profile fields a sign-up or an update (`PUT /user`) may give, checked the same way.
pub(super) fn profile_fields(fields: &Fields) -> Result<ProfileChange> {
    Ok(ProfileChange {
        name: fields.opt_text("name", 1, 64)?,
        nick_name: fields.opt_text("nick_name", 0, 64)?,
        age: fields.opt_u64("age", 150)?,
        gender: fields.opt_text("gender", 1, 16)?,
        avatar: None,
        show_user_name: fields.opt_bool("show_user_name")?,
        show_age: fields.opt_bool("show_age")?,
        show_gender: fields.opt_bool("show_gender")?,
        show_phone: fields.opt_bool("show_phone")?,
    })
}

/// Sign-up fields: a phone (simple_im) or an email (seed 003), or both.
fn new_user(fields: &Fields) -> Result<NewUser> {
    let phone = fields.opt_text("phone", 1, 32)?.map(|p| Phone::parse(&p)).transpose()?;
    let email = fields.opt_text("email", 3, 254)?.map(|e| Email::parse(&e)).transpose()?;
    if phone.is_none() && email.is_none() {
        return Err(Refusal::invalid("phone is required (or an email)").into());
    }
    let given = profile_fields(fields)?;
    let profile = Profile {
        id: UserId(0),
        phone,
        email,
        name: fields.text("name", 1, 64)?,
        nick_name: given.nick_name.unwrap_or_default(),
        age: given.age,
        gender: given.gender,
        avatar: fields.opt_text("avatar", 0, 1024)?.unwrap_or_default(),
        show_user_name: given.show_user_name.unwrap_or(true),
        show_age: given.show_age.unwrap_or(true),
        show_gender: given.show_gender.unwrap_or(true),
        show_phone: given.show_phone.unwrap_or(true),
    };
    Ok(NewUser { profile, password: fields.text("password", 6, 128)?.into() })
}

/// `POST /user`: signs up. Answers `200` with the new user, as simple_im does.
pub async fn create_user(ctx: &Ctx, req: &Request) -> Result<Reply> {
    let new = new_user(&Fields::parse(req)?)?;
    let id = auth::sign_up(&*ctx.clients, &new, &ctx.source).await?;
    let user = json!({ "id": id, "name": new.profile.name, "phone": new.profile.phone, "avatar": new.profile.avatar });
    Ok(Reply::ok(json!({ "user": [user] })))
}

/// The session cookie: `max_age` 0 clears it.
fn session_cookie(token: &str, max_age: u64) -> String {
    Cookie::build(("token", token))
        .path("/")
        .max_age(cookie::time::Duration::seconds(max_age as i64))
        .http_only(true)
        .secure(true)
        .same_site(SameSite::Lax)
        .build()
        .to_string()
}

/// `POST /server/login`: phone (or email) and password; opens a session on `device` and answers
/// simple_im's `[[response]] status = 0` with `[response.user] id, token`. The token also comes
/// back as an HttpOnly cookie, the way simple_im's clients send it.
pub async fn login(ctx: &Ctx, req: &Request) -> Result<Reply> {
    let fields = Fields::parse(req)?;
    let password = fields.text("password", 1, 128)?.into();
    let device = DeviceName::parse(fields.opt_text("device", 1, 16)?.as_deref())?;
    let name = fields.login_name()?;
    let id = auth::authenticate(&*ctx.clients, &name, password, &ctx.source).await?;
    let lifetime = ctx.clients.config.token_ttl_secs;
    let token = auth::open_session(&*ctx.clients, id, &device, lifetime).await?.token;
    let cookie = session_cookie(&token, lifetime);
    let mut response = socket_endpoint(ctx);
    response["user"] = json!({ "id": id, "token": token });
    Ok(Reply::ok_with_response(response).with_header(http::header::SET_COOKIE, cookie))
}

/// Where the socket is, as simple_im's login answers it (`server`, `port`) and as a URL
/// (`ws_url`): the WebSocket stage whose `@connections` endpoint the functions post to.
fn socket_endpoint(ctx: &Ctx) -> Value {
    let management = ctx.clients.config.websocket_management_endpoint.as_deref().unwrap_or_default();
    let ws_url = management.replacen("https://", "wss://", 1).replacen("http://", "ws://", 1);
    let url = http::Uri::try_from(ws_url.as_str()).ok();
    let server = url.as_ref().and_then(|u| u.host()).unwrap_or_default().to_string();
    let secure = ws_url.starts_with("wss://");
    let port = url.as_ref().and_then(|u| u.port_u16()).unwrap_or(if secure { 443 } else { 80 });
    // simple_im writes the port as a string (`port = "1987"`) and its client reads it so.
    json!({ "server": server, "port": port.to_string(), "ws_url": ws_url })
}

/// `POST /server/reconnect`: where to reconnect the socket. simple_im's servers were many; here
/// the one managed WebSocket endpoint is always the answer.
pub async fn reconnect(ctx: &Ctx, _req: &Request) -> Result<Reply> {
    ctx.caller()?;
    Ok(Reply::ok_with_response(socket_endpoint(ctx)))
}

/// `POST /server/failed`: a client reports the server it could not reach and gets where to go
/// instead; with one managed endpoint that is the same one (retry it, with backoff).
pub async fn report_failed_server(ctx: &Ctx, req: &Request) -> Result<Reply> {
    ctx.caller()?;
    Fields::parse(req)?.opt_text("server", 0, 256)?;
    Ok(Reply::ok_with_response(socket_endpoint(ctx)))
}

/// `POST /server/logout`: ends the session whose token came with the request, and closes the
/// sockets that session opened; with `everywhere = true`, every session of the user and all
/// their sockets.
pub async fn logout(ctx: &Ctx, req: &Request) -> Result<Reply> {
    let caller = ctx.caller()?;
    if Fields::parse(req)?.opt_bool("everywhere")?.unwrap_or(false) {
        auth::end_sessions(&*ctx.clients, caller.user_id, None).await?;
    }
    auth::log_out(&*ctx.clients, caller).await?;
    Ok(Reply::ok(json!({})).with_header(http::header::SET_COOKIE, session_cookie("", 0)))
}

/// `GET /user/sessions`: the caller's devices (sessions), newest first, the current one marked.
pub async fn list_sessions(ctx: &Ctx, _req: &Request) -> Result<Reply> {
    let caller = ctx.caller()?;
    let devices = devices::list(&*ctx.clients, caller).await?;
    Ok(Reply::list("sessions", devices.iter().map(|d| serde_json::to_value(d).unwrap_or_default()).collect()))
}

/// `DELETE /user/sessions/{id}`: ends one of the caller's sessions, its sockets and its push
/// registration (its token answers 401 from then on).
pub async fn delete_session(ctx: &Ctx, req: &Request) -> Result<Reply> {
    let caller = ctx.caller()?;
    devices::end(&*ctx.clients, caller.user_id, path_param(req, "id")?).await?;
    Ok(Reply::no_content())
}

/// `PUT /user/password`: `password` (the current one) and `new_password`. Every other session
/// of the user ends, with its sockets; this one stays.
pub async fn change_password(ctx: &Ctx, req: &Request) -> Result<Reply> {
    let caller = ctx.caller()?;
    let fields = Fields::parse(req)?;
    let (current, new) = (fields.text("password", 1, 128)?.into(), fields.text("new_password", 1, 128)?.into());
    auth::change_password(&*ctx.clients, caller, current, new).await?;
    Ok(Reply::ok(json!({})))
}

/// `POST /ws/ticket`: a one-time ticket for `?ticket=` on the socket, valid 60 s, bound to the
/// caller's session (so it carries no 30-day secret in a URL).
pub async fn create_ws_ticket(ctx: &Ctx, _req: &Request) -> Result<Reply> {
    let caller = ctx.caller()?;
    let ticket = auth::issue_ticket(&*ctx.clients, caller).await?;
    let mut response = socket_endpoint(ctx);
    response["ticket"] = json!(ticket);
    response["expires_in"] = json!(auth::TICKET_SECS);
    Ok(Reply::ok_with_response(response))
}

/// A user as the caller sees them: the profile (privacy flags applied, the phone only where
/// `users::look_up` shows it) and, for another user, what the caller is to them (seed 004's
/// `is_friend`, `friend_requested`, ...).
async fn found(ctx: &Ctx, by: users::LookUp<'_>) -> Result<Reply> {
    let caller = ctx.caller()?;
    let found = users::look_up(&*ctx.clients, caller.user_id, by).await?;
    let mut view = found.profile.view(Some(caller.user_id));
    if let Value::Object(fields) = &mut view {
        if !found.phone_shown {
            fields.insert("phone".into(), Value::Null);
        }
        if let Some(Ok(Value::Object(flags))) = found.flags.map(serde_json::to_value) {
            fields.extend(flags);
        }
    }
    Ok(Reply::ok(json!({ "user": [view] })))
}

/// `GET /user/id/{id}`
pub async fn get_user_by_id(ctx: &Ctx, req: &Request) -> Result<Reply> {
    ctx.caller()?;
    let id = path_number(req, "id", || Refusal::invalid("user id must be a number"))?;
    found(ctx, users::LookUp::Id(id)).await
}

/// `GET /user/phone/{phone}`
pub async fn get_user_by_phone(ctx: &Ctx, req: &Request) -> Result<Reply> {
    ctx.caller()?;
    found(ctx, users::LookUp::Phone(path_param(req, "phone")?)).await
}
