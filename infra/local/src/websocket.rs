//! The WebSocket API emulator and its `@connections` management API.
//!
//! `ws://host:port/{stage}` accepts a connection only when the `$connect` function answers 2xx;
//! each frame routes on `$request.body.event` (or falls to `$default`); two-way routes send the
//! function's answer back; closing runs `$disconnect`. API Gateway's limits apply: frame and
//! message size, idle timeout, connection lifetime. `POST|GET|DELETE /{stage}/@connections/{id}`
//! is the management API `aws-sdk-apigatewaymanagement` calls, with 410 Gone for closed connections.

use crate::events::{to_event, ws_connect, ws_context, ws_disconnect, ws_message};
use crate::gateway::{Gateway, LambdaFailure, Live};
use axum::body::Bytes;
use axum::extract::ws::{CloseFrame, Message, WebSocket, WebSocketUpgrade};
use axum::extract::{ConnectInfo, Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use futures::{SinkExt, StreamExt};
use lambda_http::aws_lambda_events::apigw::ApiGatewayProxyResponse;
use lambda_http::Body as LambdaBody;
use rand::Rng;
use serde_json::{json, Value};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use tokio::sync::mpsc;

/// Connection ids look like API Gateway's: 12 random bytes, base64 (so they carry `=`).
fn new_connection_id() -> String {
    use base64::Engine;
    let bytes: [u8; 11] = rand::thread_rng().gen();
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

fn iso(t: time::OffsetDateTime) -> String {
    t.format(&time::format_description::well_known::Rfc3339).unwrap_or_default()
}

/// A route's answer (a proxy response, as `lambda_http` writes it for a WebSocket event): its
/// status and its body as text, as it came (base64 or not). One that does not read as a proxy
/// response is a failed invocation.
fn read_answer(answer: Value) -> Result<(i64, Option<String>), LambdaFailure> {
    let answer = serde_json::from_value::<ApiGatewayProxyResponse>(answer).map_err(|_| LambdaFailure)?;
    let body = match answer.body {
        Some(LambdaBody::Text(text)) => Some(text),
        Some(LambdaBody::Binary(bytes)) => Some(String::from_utf8_lossy(&bytes).into_owned()),
        _ => None,
    };
    Ok((answer.status_code, body))
}

fn route_function<'a>(gateway: &'a Gateway, key: &str) -> Option<&'a crate::template::WsRoute> {
    gateway.template.ws_routes.iter().find(|r| r.key == key)
}

/// `GET /{stage}` with an upgrade: runs `$connect`, then hands the socket to [`serve`].
pub async fn upgrade(
    State(gateway): State<Arc<Gateway>>,
    Path(stage): Path<String>,
    RawQuery(query): RawQuery,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    upgrade: WebSocketUpgrade,
) -> Response {
    if stage != gateway.template.ws_stage {
        return (StatusCode::FORBIDDEN, "Forbidden").into_response();
    }
    let cid = new_connection_id();
    let connected_at = time::OffsetDateTime::now_utc();
    let connected_ms = (connected_at.unix_timestamp_nanos() / 1_000_000) as i64;
    let source = peer.ip().to_string();
    let context = ws_context(&gateway.template.ws_stage, "$connect", "CONNECT", (&cid, &source), connected_ms);
    let event = ws_connect(&headers, query.as_deref().unwrap_or(""), context);
    if let Some(route) = route_function(&gateway, "$connect") {
        match gateway.call(&route.function, to_event(&event)).await.and_then(read_answer) {
            Ok((status, body)) => {
                if !(200..300).contains(&status) {
                    let status = u16::try_from(status).ok().and_then(|s| StatusCode::from_u16(s).ok());
                    return (status.unwrap_or(StatusCode::FORBIDDEN), body.unwrap_or_default()).into_response();
                }
            }
            Err(_) => return (StatusCode::INTERNAL_SERVER_ERROR, "Internal server error").into_response(),
        }
    }
    // Registered before the 101 goes out, so a post racing the client's first frame is queued, not lost.
    let (outbox, inbox) = mpsc::unbounded_channel();
    let last_active = Arc::new(Mutex::new(connected_at));
    gateway.connections.lock().insert(
        cid.clone(),
        Live {
            outbox,
            connected_at,
            last_active: last_active.clone(),
            source_ip: peer.ip().to_string(),
            user_agent: headers.get("user-agent").and_then(|v| v.to_str().ok()).unwrap_or("").to_string(),
        },
    );
    let limits = gateway.ws_limits.clone();
    let on_failed = {
        let gateway = gateway.clone();
        let cid = cid.clone();
        move |_err| {
            gateway.connections.lock().remove(&cid);
        }
    };
    upgrade
        .max_frame_size(limits.max_frame_bytes)
        .max_message_size(limits.max_message_bytes)
        .on_failed_upgrade(on_failed)
        .on_upgrade(move |socket| serve(gateway, cid, connected_ms, socket, inbox, last_active))
}

/// Pumps one connection: frames in go to their route, posted frames go out, limits close it.
async fn serve(
    gateway: Arc<Gateway>,
    cid: String,
    connected_ms: i64,
    socket: WebSocket,
    mut inbox: mpsc::UnboundedReceiver<Message>,
    last_active: Arc<Mutex<time::OffsetDateTime>>,
) {
    let (mut sink, mut stream) = socket.split();
    let writer = tokio::spawn(async move {
        while let Some(message) = inbox.recv().await {
            let closing = matches!(message, Message::Close(_));
            if sink.send(message).await.is_err() || closing {
                break;
            }
        }
        let _ = sink.close().await;
    });
    let limits = gateway.ws_limits.clone();
    let deadline = tokio::time::Instant::now() + limits.max_lifetime;
    let (mut close_code, mut close_reason) = (1000u16, String::from("Client closed"));
    loop {
        let next = tokio::select! {
            next = tokio::time::timeout(limits.idle_timeout, stream.next()) => next,
            _ = tokio::time::sleep_until(deadline) => {
                (close_code, close_reason) = (1001, "Going away: connection lifetime reached".into());
                break;
            }
        };
        let frame = match next {
            Err(_) => {
                (close_code, close_reason) = (1001, "Going away: idle timeout".into());
                break;
            }
            Ok(None) => break,
            Ok(Some(Err(err))) => {
                // Oversized messages and protocol errors end the connection, as in API Gateway.
                (close_code, close_reason) = (1009, err.to_string());
                break;
            }
            Ok(Some(Ok(frame))) => frame,
        };
        *last_active.lock().unwrap_or_else(|e| e.into_inner()) = time::OffsetDateTime::now_utc();
        let body = match frame {
            Message::Text(text) => text.to_string(),
            Message::Binary(bytes) => String::from_utf8_lossy(&bytes).to_string(),
            Message::Close(frame) => {
                if let Some(frame) = frame {
                    (close_code, close_reason) = (frame.code, frame.reason.to_string());
                }
                break;
            }
            Message::Ping(_) | Message::Pong(_) => continue,
        };
        dispatch(&gateway, &cid, connected_ms, body).await;
    }
    let closing = gateway.connections.lock().remove(&cid);
    let source = closing.as_ref().map(|live| live.source_ip.clone()).unwrap_or_default();
    if let Some(live) = closing {
        let frame = CloseFrame { code: close_code, reason: close_reason.clone().into() };
        let _ = live.outbox.send(Message::Close(Some(frame)));
    }
    let _ = writer.await;
    if let Some(route) = route_function(&gateway, "$disconnect") {
        let context =
            ws_context(&gateway.template.ws_stage, "$disconnect", "DISCONNECT", (&cid, &source), connected_ms);
        let _ = gateway.call(&route.function, to_event(&ws_disconnect(context, close_code, &close_reason))).await;
    }
}

/// Routes one incoming message on `$request.body.event`, falling back to `$default`.
async fn dispatch(gateway: &Gateway, cid: &str, connected_ms: i64, body: String) {
    let selected = serde_json::from_str::<Value>(&body)
        .ok()
        .and_then(|v| v.get("event").and_then(Value::as_str).map(str::to_string))
        .filter(|key| !key.starts_with('$') && route_function(gateway, key).is_some());
    let key = selected.unwrap_or_else(|| "$default".to_string());
    let Some(route) = route_function(gateway, &key) else {
        let error = json!({ "message": "Forbidden", "connectionId": cid });
        post(gateway, cid, Bytes::from(error.to_string()));
        return;
    };
    let source = gateway.connections.lock().get(cid).map(|live| live.source_ip.clone()).unwrap_or_default();
    let context = ws_context(&gateway.template.ws_stage, &key, "MESSAGE", (cid, &source), connected_ms);
    let answer = gateway.call(&route.function, to_event(&ws_message(context, &body))).await.and_then(read_answer);
    if let Some(contracts) = &gateway.contracts {
        let reply = answer.as_ref().ok().and_then(|(_, reply)| reply.as_deref());
        contracts.check_client_frame(&body, reply);
    }
    match answer {
        Ok((_, reply)) if route.two_way => {
            let reply = reply.as_deref().filter(|b| !b.is_empty());
            // An answer past the message limit does not reach the client on AWS either.
            if reply.is_some_and(|r| r.len() > gateway.ws_limits.max_message_bytes) {
                tracing::error!(route = key, "the route's answer exceeds the 128 KB message limit");
                let error = json!({ "message": "Internal server error", "connectionId": cid });
                post(gateway, cid, Bytes::from(error.to_string()));
            } else if let Some(reply) = reply {
                post(gateway, cid, Bytes::from(reply.to_string()));
            }
        }
        Ok(_) => {}
        Err(_) => {
            let error = json!({ "message": "Internal server error", "connectionId": cid });
            post(gateway, cid, Bytes::from(error.to_string()));
        }
    }
}

/// Queues a frame for a connection; false when it is gone.
fn post(gateway: &Gateway, cid: &str, data: Bytes) -> bool {
    if !gateway.connections.lock().contains_key(cid) {
        return false;
    }
    let message = match String::from_utf8(data.to_vec()) {
        Ok(text) => {
            // What a client receives is held to docs/asyncapi.yaml (`crate::contracts`).
            if let Some(contracts) = &gateway.contracts {
                contracts.check_server_frame(&text);
            }
            Message::Text(text.into())
        }
        Err(_) => Message::Binary(data),
    };
    gateway.connections.lock().get(cid).is_some_and(|live| live.outbox.send(message).is_ok())
}

fn gone(cid: &str) -> Response {
    let body = json!({ "message": format!("connection {cid} is gone") }).to_string();
    (StatusCode::GONE, [("x-amzn-errortype", "GoneException"), ("content-type", "application/json")], body)
        .into_response()
}

/// The `@connections` API answers only this machine (where the functions run): on AWS it takes
/// only IAM-signed calls of the functions' role, and a stack listening beyond loopback must not
/// let a phone on the network post to, read or close anyone's socket.
fn management_forbidden() -> Response {
    let body = json!({ "message": "Forbidden: @connections answers the functions only" }).to_string();
    (StatusCode::FORBIDDEN, [("x-amzn-errortype", "AccessDeniedException")], body).into_response()
}

/// `POST /{stage}/@connections/{id}`: PostToConnection.
pub async fn post_to_connection(
    State(gateway): State<Arc<Gateway>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    Path((_stage, cid)): Path<(String, String)>,
    data: Bytes,
) -> Response {
    if !peer.ip().is_loopback() {
        return management_forbidden();
    }
    if data.len() > gateway.ws_limits.max_message_bytes {
        let body = json!({ "message": "payload exceeds 128 KB" }).to_string();
        return (StatusCode::PAYLOAD_TOO_LARGE, [("x-amzn-errortype", "PayloadTooLargeException")], body)
            .into_response();
    }
    if post(&gateway, &cid, data) {
        StatusCode::OK.into_response()
    } else {
        gone(&cid)
    }
}

/// `GET /{stage}/@connections/{id}`: GetConnection.
pub async fn get_connection(
    State(gateway): State<Arc<Gateway>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    Path((_stage, cid)): Path<(String, String)>,
) -> Response {
    with_live(&gateway, peer, &cid, |live| {
        let last_active = *live.last_active.lock().unwrap_or_else(|e| e.into_inner());
        let body = json!({
            "connectedAt": iso(live.connected_at),
            "lastActiveAt": iso(last_active),
            "identity": { "sourceIp": live.source_ip, "userAgent": live.user_agent },
        });
        (StatusCode::OK, [("content-type", "application/json")], body.to_string()).into_response()
    })
}

/// Answers a caller on this machine from a live connection, or 410 Gone as API Gateway does
/// for a closed one.
fn with_live(gateway: &Gateway, peer: SocketAddr, cid: &str, answer: impl FnOnce(&Live) -> Response) -> Response {
    if !peer.ip().is_loopback() {
        return management_forbidden();
    }
    match gateway.connections.lock().get(cid) {
        Some(live) => answer(live),
        None => gone(cid),
    }
}

/// `DELETE /{stage}/@connections/{id}`: DeleteConnection closes it from the server side.
pub async fn delete_connection(
    State(gateway): State<Arc<Gateway>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    Path((_stage, cid)): Path<(String, String)>,
) -> Response {
    with_live(&gateway, peer, &cid, |live| {
        let frame = CloseFrame { code: 1000, reason: "Connection closed by the server".into() };
        let _ = live.outbox.send(Message::Close(Some(frame)));
        StatusCode::NO_CONTENT.into_response()
    })
}
