//! The HTTP API emulator: each request becomes an API Gateway payload 2.0 event, the route's
//! authorizer runs first (cached by identity when the template says so), the function runs
//! in-process through `im_functions::invoke`, and its answer is turned back into HTTP with
//! API Gateway's rules (base64 bodies decoded by `isBase64Encoded`, `cookies` as Set-Cookie).

use crate::events::{authorizer_request, http_request, to_event};
use crate::gateway::{Gateway, LambdaFailure, MAX_LAMBDA_PAYLOAD_BYTES};
use axum::body::{Body, Bytes};
use axum::extract::{ConnectInfo, Request, State};
use axum::http::header::SET_COOKIE;
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine;
use lambda_http::aws_lambda_events::apigw::{
    ApiGatewayRequestAuthorizer, ApiGatewayV2CustomAuthorizerSimpleResponse, ApiGatewayV2httpRequest,
    ApiGatewayV2httpResponse,
};
use lambda_http::Body as LambdaBody;
use serde_json::{json, Value};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// API Gateway's payload limit for HTTP APIs.
pub const MAX_PAYLOAD_BYTES: usize = 10 * 1024 * 1024;

/// The HTTP API's integration timeout: past it the client gets 503, whatever the function does.
pub const INTEGRATION_TIMEOUT: Duration = Duration::from_secs(29);

/// API Gateway's own error answers: `{"message": ...}` with its status.
fn gateway_error(status: StatusCode, message: &str) -> Response {
    (status, [("content-type", "application/json")], json!({ "message": message }).to_string()).into_response()
}

pub async fn handle(
    State(gateway): State<Arc<Gateway>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    request: Request,
) -> Response {
    let (method, path) = (request.method().to_string(), request.uri().path().to_string());
    let response = answer(&gateway, peer, request).await;
    match &gateway.contracts {
        Some(contracts) => checked(contracts, &method, &path, response).await,
        None => response,
    }
}

/// Holds an answer to the OpenAPI document on its way out (`crate::contracts`).
async fn checked(contracts: &crate::contracts::Contracts, method: &str, path: &str, response: Response) -> Response {
    let (parts, body) = response.into_parts();
    let bytes = axum::body::to_bytes(body, usize::MAX).await.unwrap_or_default();
    let content_type = parts.headers.get("content-type").and_then(|v| v.to_str().ok()).unwrap_or("");
    contracts.check_http(method, path, parts.status.as_u16(), content_type, &bytes);
    Response::from_parts(parts, Body::from(bytes))
}

/// The gateway's answer to one request: its own errors, or the route's function's.
async fn answer(gateway: &Gateway, peer: SocketAddr, request: Request) -> Response {
    let (parts, body) = request.into_parts();
    let Some(bytes) = read_body(body).await else {
        return gateway_error(StatusCode::PAYLOAD_TOO_LARGE, "Request Entity Too Large");
    };
    let path = parts.uri.path();
    let Some((route, params)) = gateway.template.match_http(parts.method.as_str(), path) else {
        return gateway_error(StatusCode::NOT_FOUND, "Not Found");
    };
    let event = http_request(&parts, &bytes, &route.key(), &params, &peer.ip().to_string());
    if serde_json::to_vec(&event).map_or(0, |json| json.len()) > MAX_LAMBDA_PAYLOAD_BYTES {
        return gateway_error(StatusCode::PAYLOAD_TOO_LARGE, "Request Entity Too Large");
    }
    match tokio::time::timeout(INTEGRATION_TIMEOUT, run(gateway, route, event)).await {
        Ok(answer) => answer,
        Err(_) => gateway_error(StatusCode::SERVICE_UNAVAILABLE, "Service Unavailable"),
    }
}

/// The authorizer (when the route has it), then the route's function.
async fn run(gateway: &Gateway, route: &crate::template::HttpRoute, mut event: ApiGatewayV2httpRequest) -> Response {
    if route.authorized {
        match authorize(gateway, &event).await {
            Ok(Some(context)) => match authorizer_of(context) {
                Some(authorizer) => event.request_context.authorizer = Some(authorizer),
                // Not an object: no route could read an event with it as its `lambda` fields.
                None => return gateway_error(StatusCode::INTERNAL_SERVER_ERROR, "Internal Server Error"),
            },
            Ok(None) => return gateway_error(StatusCode::FORBIDDEN, "Forbidden"),
            Err(_) => return gateway_error(StatusCode::INTERNAL_SERVER_ERROR, "Internal Server Error"),
        }
    }
    match gateway.call(&route.function, to_event(&event)).await {
        Ok(answer) => from_payload_v2(answer),
        Err(LambdaFailure) => gateway_error(StatusCode::INTERNAL_SERVER_ERROR, "Internal Server Error"),
    }
}

/// `requestContext.authorizer` from the authorizer's `context`: its fields as `lambda`
/// (`null` is none); `None` when it is not an object.
fn authorizer_of(context: Value) -> Option<ApiGatewayRequestAuthorizer> {
    let mut authorizer = ApiGatewayRequestAuthorizer::default();
    match context {
        Value::Object(fields) => authorizer.fields = fields.into_iter().collect(),
        Value::Null => {}
        _ => return None,
    }
    Some(authorizer)
}

/// Reads a body up to API Gateway's limit. A larger one is still read to its end (up to a
/// bound) before the 413 goes out, so the client gets the answer instead of a reset connection.
async fn read_body(body: Body) -> Option<Bytes> {
    use futures::StreamExt;
    let mut stream = body.into_data_stream();
    let mut bytes = Vec::new();
    let mut seen = 0usize;
    while let Some(Ok(chunk)) = stream.next().await {
        seen += chunk.len();
        if seen <= MAX_PAYLOAD_BYTES {
            bytes.extend_from_slice(&chunk);
        } else if seen > 8 * MAX_PAYLOAD_BYTES {
            break;
        }
    }
    (seen <= MAX_PAYLOAD_BYTES).then(|| Bytes::from(bytes))
}

/// Runs the authorizer; `Ok(None)` is a deny. Results are cached by identity for the
/// template's TTL, as API Gateway does (a TTL of 0 turns the cache off).
async fn authorize(gateway: &Gateway, event: &ApiGatewayV2httpRequest) -> Result<Option<Value>, LambdaFailure> {
    let Some(authorizer) = &gateway.template.authorizer else { return Ok(Some(json!({}))) };
    let cache_key = (authorizer.ttl_secs > 0).then(|| {
        authorizer
            .identity_headers
            .iter()
            .map(|h| event.headers.get(h).map(|v| String::from_utf8_lossy(v.as_bytes())).unwrap_or_default())
            .collect::<Vec<_>>()
            .join("\n")
    });
    if let Some(key) = &cache_key {
        let cache = gateway.auth_cache.lock().unwrap_or_else(|e| e.into_inner());
        if let Some((at, answer)) = cache.get(key) {
            if at.elapsed() < Duration::from_secs(authorizer.ttl_secs) {
                return Ok(answer.clone());
            }
        }
    }
    let answer = gateway.call(&authorizer.function, to_event(&authorizer_request(event))).await?;
    // A simple response; one that does not read as one (no `isAuthorized: true`) is a deny.
    let verdict = serde_json::from_value::<ApiGatewayV2CustomAuthorizerSimpleResponse<Value>>(answer)
        .ok()
        .filter(|answer| answer.is_authorized)
        .map(|answer| answer.context);
    if let Some(key) = cache_key {
        let mut cache = gateway.auth_cache.lock().unwrap_or_else(|e| e.into_inner());
        cache.insert(key, (Instant::now(), verdict.clone()));
    }
    Ok(verdict)
}

/// Turns a payload 2.0 answer into the HTTP response API Gateway would send; one that does not
/// read as a payload 2.0 answer (or whose base64 body does not decode) is a 500.
fn from_payload_v2(answer: Value) -> Response {
    let Ok(answer) = serde_json::from_value::<ApiGatewayV2httpResponse>(answer) else {
        return gateway_error(StatusCode::INTERNAL_SERVER_ERROR, "Internal Server Error");
    };
    let status = u16::try_from(answer.status_code).ok().and_then(|s| StatusCode::from_u16(s).ok());
    let body = match answer.body {
        None | Some(LambdaBody::Empty) => Vec::new(),
        Some(LambdaBody::Text(text)) if answer.is_base64_encoded => match BASE64.decode(text) {
            Ok(bytes) => bytes,
            Err(_) => return gateway_error(StatusCode::INTERNAL_SERVER_ERROR, "Internal Server Error"),
        },
        Some(LambdaBody::Text(text)) => text.into_bytes(),
        Some(LambdaBody::Binary(bytes)) => bytes,
        Some(_) => Vec::new(),
    };
    let mut headers = HeaderMap::new();
    for (name, value) in answer.headers.iter().chain(answer.multi_value_headers.iter()) {
        headers.append(name, value.clone());
    }
    for cookie in &answer.cookies {
        if let Ok(value) = HeaderValue::try_from(cookie) {
            headers.append(SET_COOKIE, value);
        }
    }
    let mut response = Response::new(Body::from(body));
    *response.status_mut() = status.unwrap_or(StatusCode::OK);
    *response.headers_mut() = headers;
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_answers_are_decoded() {
        let answer = json!({"statusCode": 201, "headers": {"content-type": "application/toml"},
            "multiValueHeaders": {"x-seen": ["a", "b"]},
            "body": BASE64.encode("[[response]]\nstatus = 0\n"), "isBase64Encoded": true, "cookies": ["token=a"]});
        let response = from_payload_v2(answer);
        assert_eq!(response.status(), StatusCode::CREATED);
        assert_eq!(response.headers()["content-type"], "application/toml");
        assert_eq!(response.headers().get_all("x-seen").iter().collect::<Vec<_>>(), ["a", "b"]);
        assert_eq!(response.headers()["set-cookie"], "token=a");
    }

    #[test]
    fn an_answer_that_is_not_payload_2_is_a_500() {
        let undecodable = json!({"statusCode": 200, "body": "%%%", "isBase64Encoded": true, "cookies": []});
        assert_eq!(from_payload_v2(undecodable).status(), StatusCode::INTERNAL_SERVER_ERROR);
        assert_eq!(from_payload_v2(json!({"body": "hi"})).status(), StatusCode::INTERNAL_SERVER_ERROR);
    }

    #[test]
    fn the_authorizer_context_becomes_the_lambda_fields() {
        let authorizer = authorizer_of(json!({"user_id": 7, "device": "ipad"})).unwrap();
        assert_eq!(authorizer.fields["user_id"], json!(7));
        assert_eq!(to_event(&authorizer), json!({"lambda": {"user_id": 7, "device": "ipad"}}));
        assert!(authorizer_of(Value::Null).unwrap().fields.is_empty());
        assert!(authorizer_of(json!("user 7")).is_none());
    }
}
