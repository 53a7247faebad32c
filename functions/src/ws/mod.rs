//! The WebSocket surface: `$connect` authenticates and records the connection, `$disconnect`
//! forgets it, `$default` answers every frame (parsed in `parse`, served in `dispatch`, answered
//! in `answer`).

pub mod answer;
pub mod dispatch;
mod login;
pub mod parse;

use crate::delivery;
use crate::domain::format::Format;
use crate::domain::ids::DeviceName;
use crate::domain::refusal::{Error, Refusal, Result};
use crate::service::{auth, presence};
use crate::store::connections::{self, Connection};
use http::StatusCode;
use im_adapters::Clients;
use lambda_http::request::RequestContext;
use lambda_http::{Body, Request, RequestExt, Response};

fn connection_id(req: &Request) -> Result<String> {
    match req.request_context_ref() {
        Some(RequestContext::WebSocket(ctx)) => ctx.connection_id.clone(),
        _ => None,
    }
    .ok_or_else(|| Refusal::invalid("not a WebSocket event").into())
}

/// A WebSocket route's answer: the status decides whether `$connect` is accepted; the body is
/// the frame sent back on two-way routes. A refusal is its status and reason; an internal
/// failure is logged and answered 500.
fn answer(result: Result<String>) -> Response<Body> {
    let (status, body) = match result {
        Ok(body) => (StatusCode::OK, body),
        Err(Error::Refused(refusal)) => {
            (StatusCode::from_u16(refusal.status()).unwrap_or(StatusCode::BAD_REQUEST), refusal.to_string())
        }
        Err(Error::Unavailable(cause)) => {
            tracing::warn!(%cause, "a backend is unavailable");
            (StatusCode::SERVICE_UNAVAILABLE, "service unavailable, try again".into())
        }
        Err(Error::Internal(cause)) => {
            tracing::error!(%cause, "websocket route failed");
            (StatusCode::INTERNAL_SERVER_ERROR, "internal error".into())
        }
    };
    let mut response = Response::new(Body::Text(body));
    *response.status_mut() = status;
    response
}

/// `$connect`: `?ticket=` (one-time, from `POST /ws/ticket`), else `?token=` (or an
/// `Authorization: Bearer` / `token` cookie header: the weaker form, a 30-day secret in a URL),
/// optional `?format=json|toml` and `?device=`. The socket belongs to that session. Without a token the connection is accepted and must log
/// in by a frame, as both seed clients do (seed 003's `LOGIN`/`LOGON`, simple_im's
/// `[[r]] t="login"`) within `LOGIN_DEADLINE_SECS`; until then every other frame is answered
/// with an error. A bad token or ticket is refused (401). `?login=frame` is accepted and changes nothing.
pub async fn connect(clients: &Clients, req: &Request) -> Response<Body> {
    answer(record_connection(clients, req).await.map(|()| String::new()))
}

async fn record_connection(clients: &Clients, req: &Request) -> Result<()> {
    let connection_id = connection_id(req)?;
    let query = req.query_string_parameters_ref();
    let param = |name: &str| query.and_then(|q| q.first(name));
    let header = |name: http::HeaderName| req.headers().get_all(name).iter().filter_map(|v| v.to_str().ok());
    let format = Format::parse(param("format")).ok_or_else(|| Refusal::invalid("format must be json or toml"))?;
    let format_chosen = param("format").is_some();
    let token =
        auth::find_token(header(http::header::AUTHORIZATION).next(), header(http::header::COOKIE), param("token"));
    let device = param("device").map(|d| DeviceName::parse(Some(d))).transpose()?;
    let caller = match (param("ticket"), token) {
        (Some(ticket), _) => Some(auth::redeem_ticket(clients, ticket).await?),
        (None, Some(token)) => Some(auth::resolve(clients, token).await?),
        (None, None) => None,
    };
    let session = caller.as_ref().map(|c| c.session.clone()).unwrap_or_default();
    let conn = match caller {
        Some(caller) => {
            let device = device.unwrap_or(caller.device);
            let (user_id, tag) = (Some(caller.user_id), caller.tag);
            let conn = Connection { connection_id, user_id, device, tag, format, format_chosen, since: 0, session };
            return presence::bind(clients, &conn).await;
        }
        None => {
            let device = device.unwrap_or(DeviceName::parse(None)?);
            Connection {
                connection_id,
                user_id: None,
                device,
                tag: String::new(),
                format,
                format_chosen,
                since: 0,
                session,
            }
        }
    };
    Ok(connections::put(clients, &conn).await?)
}

/// `$disconnect`: forgets the connection. Also what a push does on 410 Gone.
pub async fn disconnect(clients: &Clients, req: &Request) -> Response<Body> {
    let forgotten = match connection_id(req) {
        Ok(cid) => delivery::presence::disconnected(clients, &cid).await.map_err(Error::from),
        Err(err) => Err(err),
    };
    answer(forgotten.map(|()| String::new()))
}

/// `$default`: every frame no other route takes, in either dialect.
pub async fn default_route(clients: &Clients, req: &Request) -> Response<Body> {
    let served = match connection_id(req) {
        Ok(cid) => {
            let source = match req.request_context_ref() {
                Some(RequestContext::WebSocket(ctx)) => ctx.identity.source_ip.clone(),
                _ => None,
            };
            let text = String::from_utf8_lossy(req.body().as_ref());
            dispatch::handle(clients, &cid, source.as_deref().unwrap_or("unknown"), &text).await
        }
        Err(err) => Err(err),
    };
    answer(served)
}
