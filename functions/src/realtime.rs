//! WebSocket sessions: `$connect` authenticates and records the connection, `$disconnect`
//! forgets it, `$default` answers frames no other route takes.
//!
//! Items in the connections table:
//! - `conn#<connection id>`: user, device, wire format, connected-at; `expires_at` TTL (2 h, API
//!   Gateway's connection limit). Found from a frame's connection id.
//! - `user#<id>`: map `conns` of that user's live connections, so the connections of 100 users
//!   are one BatchGetItem when a notification fans out.

use crate::api::{ApiError, ApiResult};
use crate::db::{n, now_secs, s, ItemExt};
use crate::sessions;
use aws_sdk_dynamodb::types::AttributeValue;
use http::StatusCode;
use im_adapters::Clients;
use lambda_http::request::RequestContext;
use lambda_http::{Body, Request, RequestExt, Response};
use serde_json::json;
use std::collections::HashMap;

/// API Gateway closes a WebSocket after two hours; records live no longer.
pub const CONNECTION_LIFETIME_SECS: u64 = 2 * 3600;

/// The wire format a connection chose at connect (`?format=toml|json`, JSON by default).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WireFormat {
    Json,
    Toml,
}

impl WireFormat {
    fn parse(raw: Option<&str>) -> Result<Self, ApiError> {
        match raw.map(str::to_ascii_lowercase).as_deref() {
            None | Some("json") => Ok(WireFormat::Json),
            Some("toml") => Ok(WireFormat::Toml),
            Some(_) => Err(ApiError::bad_request("format must be json or toml")),
        }
    }
    fn as_str(self) -> &'static str {
        match self {
            WireFormat::Json => "json",
            WireFormat::Toml => "toml",
        }
    }
}

fn connection_id(req: &Request) -> Option<String> {
    match req.request_context_ref()? {
        RequestContext::WebSocket(ctx) => ctx.connection_id.clone(),
        _ => None,
    }
}

/// A WebSocket route's answer: the status decides whether `$connect` is accepted; the body is
/// the frame sent back on two-way routes.
fn answer(status: StatusCode, body: String) -> Response<Body> {
    let mut response = Response::new(Body::Text(body));
    *response.status_mut() = status;
    response
}

fn refuse(err: ApiError) -> Response<Body> {
    match err {
        ApiError::Client { status, reason, .. } => answer(status, reason),
        ApiError::Internal(cause) => {
            tracing::error!(%cause, "websocket route failed");
            answer(StatusCode::INTERNAL_SERVER_ERROR, "internal error".into())
        }
    }
}

/// `$connect`: `?token=` (or an `Authorization: Bearer` / `token` cookie header), optional
/// `?format=json|toml` and `?device=`. Refused with 401 without a valid token.
pub async fn connect(clients: &Clients, req: &Request) -> Response<Body> {
    match record_connection(clients, req).await {
        Ok(()) => answer(StatusCode::OK, String::new()),
        Err(err) => refuse(err),
    }
}

async fn record_connection(clients: &Clients, req: &Request) -> ApiResult<()> {
    let cid = connection_id(req).ok_or_else(|| ApiError::bad_request("not a WebSocket event"))?;
    let query = req.query_string_parameters_ref();
    let param = |name: &str| query.and_then(|q| q.first(name));
    let header = |name: http::HeaderName| req.headers().get_all(name).iter().filter_map(|v| v.to_str().ok());
    let token =
        sessions::find_token(header(http::header::AUTHORIZATION).next(), header(http::header::COOKIE), param("token"))
            .ok_or_else(|| ApiError::unauthorized("login required: connect with ?token="))?;
    let caller = sessions::resolve(clients, token).await?;
    let format = WireFormat::parse(param("format"))?;
    let device = match param("device") {
        Some(d) => crate::users::parse_device(Some(d.to_string()))?,
        None => caller.device.clone(),
    };
    let now = now_secs();
    let table = &clients.config.tables.connections;
    clients
        .dynamodb
        .put_item()
        .table_name(table)
        .item("pk", s(format!("conn#{cid}")))
        .item("user_id", n(caller.user_id))
        .item("device", s(&device))
        .item("format", s(format.as_str()))
        .item("connected_at", n(now))
        .item("expires_at", n(now + CONNECTION_LIFETIME_SECS))
        .send()
        .await
        .map_err(ApiError::aws)?;
    let entry = AttributeValue::M(HashMap::from([
        ("d".to_string(), s(&device)),
        ("f".to_string(), s(format.as_str())),
        ("at".to_string(), n(now)),
    ]));
    add_to_user(clients, caller.user_id, &cid, entry).await
}

/// Adds a connection to the user's `conns` map. DynamoDB cannot set a path inside a map that
/// does not exist yet, so the first connection creates the map (conditionally, against a race).
async fn add_to_user(clients: &Clients, user_id: u64, cid: &str, entry: AttributeValue) -> ApiResult<()> {
    let table = &clients.config.tables.connections;
    let key = s(format!("user#{user_id}"));
    for _ in 0..3 {
        let into_map = clients
            .dynamodb
            .update_item()
            .table_name(table)
            .key("pk", key.clone())
            .update_expression("SET conns.#cid = :entry")
            .condition_expression("attribute_exists(conns)")
            .expression_attribute_names("#cid", cid)
            .expression_attribute_values(":entry", entry.clone())
            .send()
            .await;
        match into_map {
            Ok(_) => return Ok(()),
            Err(err) if !err.as_service_error().is_some_and(|e| e.is_conditional_check_failed_exception()) => {
                return Err(ApiError::aws(err))
            }
            Err(_) => {}
        }
        let new_map = clients
            .dynamodb
            .update_item()
            .table_name(table)
            .key("pk", key.clone())
            .update_expression("SET conns = :conns")
            .condition_expression("attribute_not_exists(conns)")
            .expression_attribute_values(":conns", AttributeValue::M(HashMap::from([(cid.to_string(), entry.clone())])))
            .send()
            .await;
        match new_map {
            Ok(_) => return Ok(()),
            Err(err) if !err.as_service_error().is_some_and(|e| e.is_conditional_check_failed_exception()) => {
                return Err(ApiError::aws(err))
            }
            Err(_) => {}
        }
    }
    Err(ApiError::internal("could not record the connection after retries"))
}

/// `$disconnect`: forgets the connection. Also what a push does on 410 Gone.
pub async fn disconnect(clients: &Clients, req: &Request) -> Response<Body> {
    let Some(cid) = connection_id(req) else { return refuse(ApiError::bad_request("not a WebSocket event")) };
    match forget_connection(clients, &cid).await {
        Ok(()) => answer(StatusCode::OK, String::new()),
        Err(err) => refuse(err),
    }
}

/// Removes both records of a connection; forgetting an unknown connection is not an error.
pub async fn forget_connection(clients: &Clients, cid: &str) -> ApiResult<()> {
    let table = &clients.config.tables.connections;
    let removed = clients
        .dynamodb
        .delete_item()
        .table_name(table)
        .key("pk", s(format!("conn#{cid}")))
        .return_values(aws_sdk_dynamodb::types::ReturnValue::AllOld)
        .send()
        .await
        .map_err(ApiError::aws)?;
    let Some(user_id) = removed.attributes.as_ref().and_then(|a| a.u64("user_id")) else { return Ok(()) };
    clients
        .dynamodb
        .update_item()
        .table_name(table)
        .key("pk", s(format!("user#{user_id}")))
        .update_expression("REMOVE conns.#cid")
        .expression_attribute_names("#cid", cid)
        .send()
        .await
        .map_err(ApiError::aws)?;
    Ok(())
}

/// `$default`: frames no other route takes. A keep-alive `PING` (JSON `{"event":"PING"}`, TOML
/// `[[p]]`) is answered with `PONG` / `[[pp]]`; anything else gets an error frame in the dialect
/// it came in, and the connection stays open.
pub async fn default_route(_clients: &Clients, req: &Request) -> Response<Body> {
    let frame = std::str::from_utf8(req.body().as_ref()).unwrap_or("");
    if let Ok(value) = serde_json::from_str::<serde_json::Value>(frame) {
        let reply = match value["event"].as_str() {
            Some("PING") => json!({ "event": "PONG", "data": {} }),
            Some(other) => json!({ "event": "ERROR", "data": { "msg": format!("unknown event {other}") } }),
            None => json!({ "event": "ERROR", "data": { "msg": "a JSON frame needs an \"event\" name" } }),
        };
        return answer(StatusCode::OK, reply.to_string());
    }
    let reply = match toml::from_str::<toml::Table>(frame) {
        Ok(table) if table.contains_key("p") => "[[pp]]\n".to_string(),
        Ok(_) => "[[error]]\nr = \"unknown frame\"\n".to_string(),
        Err(_) => "[[error]]\nr = \"frame is neither JSON nor TOML\"\n".to_string(),
    };
    answer(StatusCode::OK, reply)
}
