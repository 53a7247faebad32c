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
use serde_json::{json, Value};
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
    pub fn parse(raw: Option<&str>) -> Result<Self, ApiError> {
        match raw.map(str::to_ascii_lowercase).as_deref() {
            None | Some("json") => Ok(WireFormat::Json),
            Some("toml") => Ok(WireFormat::Toml),
            Some(_) => Err(ApiError::bad_request("format must be json or toml")),
        }
    }
    pub fn as_str(self) -> &'static str {
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
/// `?format=json|toml` and `?device=`. Without a token the connection is refused (401), unless
/// it asks to log in by its first frame with `?login=frame` (seed 003's `LOGIN`/`LOGON`,
/// simple_im's `[[r]] t="login"`); until then every other frame is answered with an error.
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
    let format = WireFormat::parse(param("format"))?;
    let token =
        sessions::find_token(header(http::header::AUTHORIZATION).next(), header(http::header::COOKIE), param("token"));
    let device = param("device").map(|d| crate::users::parse_device(Some(d.to_string()))).transpose()?;
    match token {
        Some(token) => {
            let caller = sessions::resolve(clients, token).await?;
            let device = device.unwrap_or(caller.device);
            bind(clients, &cid, caller.user_id, &device, format).await
        }
        None if param("login") == Some("frame") => {
            let device = device.unwrap_or_else(|| "unknown".into());
            put_connection(clients, &cid, None, &device, format).await
        }
        None => Err(ApiError::unauthorized("login required: connect with ?token= (or ?login=frame)")),
    }
}

/// Writes the connection's own record; `user_id` is `None` until a login frame binds it.
async fn put_connection(
    clients: &Clients,
    cid: &str,
    user_id: Option<u64>,
    device: &str,
    format: WireFormat,
) -> ApiResult<()> {
    let now = now_secs();
    let mut put = clients
        .dynamodb
        .put_item()
        .table_name(&clients.config.tables.connections)
        .item("pk", s(format!("conn#{cid}")))
        .item("device", s(device))
        .item("format", s(format.as_str()))
        .item("connected_at", n(now))
        .item("expires_at", n(now + CONNECTION_LIFETIME_SECS));
    if let Some(user_id) = user_id {
        put = put.item("user_id", n(user_id));
    }
    put.send().await.map_err(ApiError::aws)?;
    Ok(())
}

/// Binds a connection to a user: its own record, and an entry in the user's `conns` map.
pub async fn bind(clients: &Clients, cid: &str, user_id: u64, device: &str, format: WireFormat) -> ApiResult<()> {
    put_connection(clients, cid, Some(user_id), device, format).await?;
    let entry = AttributeValue::M(HashMap::from([
        ("d".to_string(), s(device)),
        ("f".to_string(), s(format.as_str())),
        ("at".to_string(), n(now_secs())),
    ]));
    add_to_user(clients, user_id, cid, entry).await
}

/// What a frame's connection is: who (once logged in), which device, which format.
#[derive(Clone, Debug)]
pub struct ConnectionInfo {
    pub connection_id: String,
    pub user_id: Option<u64>,
    pub device: String,
    pub format: WireFormat,
}

/// Reads a connection's own record (one GetItem); `None` when it is unknown or expired.
pub async fn connection_info(clients: &Clients, cid: &str) -> ApiResult<Option<ConnectionInfo>> {
    let out = clients
        .dynamodb
        .get_item()
        .table_name(&clients.config.tables.connections)
        .key("pk", s(format!("conn#{cid}")))
        .send()
        .await
        .map_err(ApiError::aws)?;
    let Some(item) = out.item else { return Ok(None) };
    if item.u64("expires_at").unwrap_or(0) <= now_secs() {
        return Ok(None);
    }
    Ok(Some(ConnectionInfo {
        connection_id: cid.to_string(),
        user_id: item.u64("user_id"),
        device: item.str("device").unwrap_or("unknown").to_string(),
        format: WireFormat::parse(item.str("format")).unwrap_or(WireFormat::Json),
    }))
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

/// `$default`: every frame no other route takes, in either dialect (see `frames`).
pub async fn default_route(clients: &Clients, req: &Request) -> Response<Body> {
    let Some(cid) = connection_id(req) else { return refuse(ApiError::bad_request("not a WebSocket event")) };
    let frame = String::from_utf8_lossy(req.body().as_ref()).to_string();
    match crate::frames::handle(clients, &cid, &frame).await {
        Ok(reply) => answer(StatusCode::OK, reply),
        Err(err) => refuse(err),
    }
}

/// Encodes a server frame: simple_im's `[[table]]` with `data`'s fields in TOML, or seed 003's
/// `{"event": ..., "data": ...}` in JSON.
pub fn encode_frame(format: WireFormat, toml_table: &str, json_event: &str, data: &Value) -> Vec<u8> {
    match format {
        WireFormat::Toml => crate::api::Format::Toml.encode(&json!({ toml_table: [data] })),
        WireFormat::Json => json!({ "event": json_event, "data": data }).to_string().into_bytes(),
    }
}
