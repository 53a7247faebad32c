//! The HTTP API emulator: each request becomes an API Gateway payload 2.0 event, the route's
//! authorizer runs first (cached by identity when the template says so), the function runs
//! in-process through `im_functions::invoke`, and its answer is turned back into HTTP with
//! API Gateway's rules (base64 bodies decoded by `isBase64Encoded`, `cookies` as Set-Cookie).

use crate::gateway::{api_gateway_time, Gateway, LambdaFailure, MAX_LAMBDA_PAYLOAD_BYTES};
use axum::body::{Body, Bytes};
use axum::extract::{ConnectInfo, Request, State};
use axum::http::{HeaderMap, HeaderName, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine;
use serde_json::{json, Map, Value};
use std::collections::BTreeMap;
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

/// Request bodies API Gateway (HTTP API) passes as text; every other body is base64-encoded.
fn is_text_content(content_type: &str) -> bool {
    let ct = content_type.to_ascii_lowercase();
    ct.starts_with("text/") || ["json", "xml", "javascript", "yaml"].iter().any(|t| ct.contains(t))
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
    let mut event = payload_v2(&parts, &bytes, &route.key(), &params);
    event["requestContext"]["http"]["sourceIp"] = json!(peer.ip().to_string());
    if event.to_string().len() > MAX_LAMBDA_PAYLOAD_BYTES {
        return gateway_error(StatusCode::PAYLOAD_TOO_LARGE, "Request Entity Too Large");
    }
    match tokio::time::timeout(INTEGRATION_TIMEOUT, run(gateway, route, event)).await {
        Ok(answer) => answer,
        Err(_) => gateway_error(StatusCode::SERVICE_UNAVAILABLE, "Service Unavailable"),
    }
}

/// The authorizer (when the route has it), then the route's function.
async fn run(gateway: &Gateway, route: &crate::template::HttpRoute, mut event: Value) -> Response {
    if route.authorized {
        match authorize(gateway, &event).await {
            Ok(Some(context)) => event["requestContext"]["authorizer"] = json!({ "lambda": context }),
            Ok(None) => return gateway_error(StatusCode::FORBIDDEN, "Forbidden"),
            Err(_) => return gateway_error(StatusCode::INTERNAL_SERVER_ERROR, "Internal Server Error"),
        }
    }
    match gateway.call(&route.function, event).await {
        Ok(answer) => from_payload_v2(&answer),
        Err(LambdaFailure) => gateway_error(StatusCode::INTERNAL_SERVER_ERROR, "Internal Server Error"),
    }
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

/// Builds the payload 2.0 event API Gateway sends for this request.
fn payload_v2(
    parts: &axum::http::request::Parts,
    body: &Bytes,
    route_key: &str,
    params: &BTreeMap<String, String>,
) -> Value {
    let mut headers = Map::new();
    let mut cookies = vec![];
    for (name, value) in &parts.headers {
        let value = String::from_utf8_lossy(value.as_bytes()).to_string();
        if name == "cookie" {
            cookies.extend(value.split(';').map(|c| c.trim().to_string()).filter(|c| !c.is_empty()));
            continue;
        }
        match headers.get_mut(name.as_str()) {
            Some(Value::String(existing)) => *existing = format!("{existing},{value}"),
            _ => {
                headers.insert(name.as_str().to_string(), Value::String(value));
            }
        }
    }
    headers.insert("x-forwarded-proto".into(), json!("http"));
    let raw_query = parts.uri.query().unwrap_or("");
    let mut query = Map::new();
    for (k, v) in form_urlencoded::parse(raw_query.as_bytes()) {
        match query.get_mut(k.as_ref()) {
            Some(Value::String(existing)) => *existing = format!("{existing},{v}"),
            _ => {
                query.insert(k.to_string(), Value::String(v.to_string()));
            }
        }
    }
    let path_parameters: Map<String, Value> =
        params.iter().map(|(name, raw)| (name.clone(), Value::String(decoded_path_parameter(raw)))).collect();
    let content_type = parts.headers.get("content-type").and_then(|v| v.to_str().ok()).unwrap_or("");
    let (body, is_base64) = if body.is_empty() {
        (Value::Null, false)
    } else if is_text_content(content_type) && std::str::from_utf8(body).is_ok() {
        (Value::String(String::from_utf8_lossy(body).to_string()), false)
    } else {
        (Value::String(BASE64.encode(body)), true)
    };
    let (time, epoch_ms) = api_gateway_time();
    let mut event = json!({
        "version": "2.0",
        "routeKey": route_key,
        "rawPath": parts.uri.path(),
        "rawQueryString": raw_query,
        "headers": headers,
        "requestContext": {
            "accountId": "000000000000",
            "apiId": "local",
            "domainName": parts.headers.get("host").and_then(|h| h.to_str().ok()).unwrap_or("localhost"),
            "domainPrefix": "local",
            "http": {
                "method": parts.method.as_str(),
                "path": parts.uri.path(),
                "protocol": "HTTP/1.1",
                "sourceIp": "",
                "userAgent": parts.headers.get("user-agent").and_then(|h| h.to_str().ok()).unwrap_or(""),
            },
            "requestId": uuid::Uuid::new_v4().to_string(),
            "routeKey": route_key,
            "stage": "$default",
            "time": time,
            "timeEpoch": epoch_ms,
        },
        "isBase64Encoded": is_base64,
    });
    if !cookies.is_empty() {
        event["cookies"] = json!(cookies);
    }
    if !query.is_empty() {
        event["queryStringParameters"] = Value::Object(query);
    }
    if !path_parameters.is_empty() {
        event["pathParameters"] = Value::Object(path_parameters);
    }
    if !body.is_null() {
        event["body"] = body;
    }
    event
}

/// A path parameter as API Gateway passes it: percent-decoded, or as it came when it does not
/// decode (a `%` without two hex digits anywhere in it, or bytes that are not UTF-8).
fn decoded_path_parameter(raw: &str) -> String {
    let well_formed = raw
        .split('%')
        .skip(1)
        .all(|escape| escape.as_bytes().get(..2).is_some_and(|hex| hex.iter().all(u8::is_ascii_hexdigit)));
    if !well_formed {
        return raw.to_string();
    }
    percent_encoding::percent_decode_str(raw).decode_utf8().map_or_else(|_| raw.to_string(), String::from)
}

/// Runs the authorizer; `Ok(None)` is a deny. Results are cached by identity for the
/// template's TTL, as API Gateway does (a TTL of 0 turns the cache off).
async fn authorize(gateway: &Gateway, event: &Value) -> Result<Option<Value>, LambdaFailure> {
    let Some(authorizer) = &gateway.template.authorizer else { return Ok(Some(json!({}))) };
    let cache_key = (authorizer.ttl_secs > 0).then(|| {
        authorizer
            .identity_headers
            .iter()
            .map(|h| event["headers"][h].as_str().unwrap_or(""))
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
    let answer = gateway.call(&authorizer.function, authorizer_event(event)).await?;
    let verdict = (answer["isAuthorized"] == json!(true)).then(|| answer["context"].clone());
    if let Some(key) = cache_key {
        let mut cache = gateway.auth_cache.lock().unwrap_or_else(|e| e.into_inner());
        cache.insert(key, (Instant::now(), verdict.clone()));
    }
    Ok(verdict)
}

/// The authorizer's payload 2.0 event: the request's, without its body, as a `REQUEST`.
fn authorizer_event(event: &Value) -> Value {
    let mut request = event.clone();
    if let Value::Object(map) = &mut request {
        map.remove("body");
        map.remove("isBase64Encoded");
        map.insert("type".into(), json!("REQUEST"));
        map.insert(
            "routeArn".into(),
            json!(format!(
                "arn:aws:execute-api:local:000000000000:local/$default/{}",
                event["routeKey"].as_str().unwrap_or("")
            )),
        );
    }
    request
}

/// Turns a payload 2.0 answer into the HTTP response API Gateway would send.
fn from_payload_v2(answer: &Value) -> Response {
    let status =
        answer["statusCode"].as_u64().and_then(|s| StatusCode::from_u16(s as u16).ok()).unwrap_or(StatusCode::OK);
    let body = match answer["body"].as_str() {
        None => Vec::new(),
        Some(text) if answer["isBase64Encoded"] == json!(true) => match BASE64.decode(text) {
            Ok(bytes) => bytes,
            Err(_) => return gateway_error(StatusCode::INTERNAL_SERVER_ERROR, "Internal Server Error"),
        },
        Some(text) => text.as_bytes().to_vec(),
    };
    let mut headers = HeaderMap::new();
    let mut add = |name: &str, value: &str| {
        if let (Ok(n), Ok(v)) = (HeaderName::try_from(name), HeaderValue::try_from(value)) {
            headers.append(n, v);
        }
    };
    for (name, value) in answer["headers"].as_object().into_iter().flatten() {
        add(name, value.as_str().unwrap_or_default());
    }
    for (name, values) in answer["multiValueHeaders"].as_object().into_iter().flatten() {
        for value in values.as_array().into_iter().flatten() {
            add(name, value.as_str().unwrap_or_default());
        }
    }
    for cookie in answer["cookies"].as_array().into_iter().flatten() {
        add("set-cookie", cookie.as_str().unwrap_or_default());
    }
    let mut response = Response::new(Body::from(body));
    *response.status_mut() = status;
    *response.headers_mut() = headers;
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_and_binary_bodies() {
        assert!(is_text_content("application/json"));
        assert!(is_text_content("text/plain; charset=utf-8"));
        assert!(!is_text_content("application/x-www-form-urlencoded"));
        assert!(!is_text_content("audio/amr"));
        assert!(!is_text_content("multipart/form-data; boundary=x"));
    }

    #[test]
    fn path_parameters_are_decoded_unless_malformed() {
        assert_eq!(decoded_path_parameter("%2B33%20612"), "+33 612");
        assert_eq!(decoded_path_parameter("caf%C3%A9"), "café");
        assert_eq!(decoded_path_parameter("plain"), "plain");
        // Undecodable: passed on as it came, all of it.
        assert_eq!(decoded_path_parameter("100%"), "100%");
        assert_eq!(decoded_path_parameter("a%20b%zz"), "a%20b%zz");
        assert_eq!(decoded_path_parameter("%4"), "%4");
        assert_eq!(decoded_path_parameter("%FF"), "%FF");
    }

    #[test]
    fn base64_answers_are_decoded() {
        let answer = json!({"statusCode": 201, "headers": {"content-type": "application/toml"},
            "body": BASE64.encode("[[response]]\nstatus = 0\n"), "isBase64Encoded": true, "cookies": ["token=a"]});
        let response = from_payload_v2(&answer);
        assert_eq!(response.status(), StatusCode::CREATED);
        assert_eq!(response.headers()["set-cookie"], "token=a");
    }
}

#[cfg(test)]
mod capture {
    use super::*;

    pub fn normalized(mut event: Value) -> Value {
        let context = &mut event["requestContext"];
        context["requestId"] = json!("req-1");
        context["time"] = json!("23/Nov/2026:10:32:22 +0000");
        context["timeEpoch"] = json!(1_795_000_000_000i64);
        event
    }

    fn write(name: &str, event: &Value) {
        let dir = std::env::var("CAPTURE_DIR").unwrap_or_else(|_| "/tmp/events-capture".into());
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(format!("{dir}/{name}.json"), serde_json::to_string_pretty(event).unwrap()).unwrap();
    }

    pub fn samples() -> Vec<(&'static str, Value)> {
        let binary = http::Request::builder()
            .method("POST")
            .uri("/users/%2B33%20612/audio?to=3&to=4&since=5&q=a%2Cb&empty=")
            .header("host", "127.0.0.1:3000")
            .header("user-agent", "im-client/1.0")
            .header("content-type", "audio/amr")
            .header("authorization", "Bearer abc")
            .header("cookie", "token=abc; theme=dark")
            .header("cookie", "x=1")
            .header("x-dup", "one")
            .header("x-dup", "two")
            .header("x-latin", &b"caf\xe9"[..])
            .body(())
            .unwrap();
        let (parts, ()) = binary.into_parts();
        let params = BTreeMap::from([("id".to_string(), "%2B33%20612".to_string()), ("raw".into(), "100%".into())]);
        let body = Bytes::from_static(b"#!AMR\n\x00\x01\xff");
        let mut first = payload_v2(&parts, &body, "POST /users/{id}/audio", &params);
        first["requestContext"]["http"]["sourceIp"] = json!("10.0.0.7");
        let text = http::Request::builder()
            .method("PUT")
            .uri("/user/password")
            .header("host", "localhost:3000")
            .header("content-type", "application/json")
            .body(())
            .unwrap();
        let (parts, ()) = text.into_parts();
        let mut second =
            payload_v2(&parts, &Bytes::from_static(br#"{"a":"\u00e9"}"#), "PUT /user/password", &BTreeMap::new());
        second["requestContext"]["http"]["sourceIp"] = json!("127.0.0.1");
        let empty = http::Request::builder().method("GET").uri("/health").body(()).unwrap();
        let (parts, ()) = empty.into_parts();
        let mut third = payload_v2(&parts, &Bytes::new(), "GET /health", &BTreeMap::new());
        third["requestContext"]["http"]["sourceIp"] = json!("::1");
        let authorizer = authorizer_event(&first);
        let mut authorized = first.clone();
        authorized["requestContext"]["authorizer"] = json!({ "lambda": {"user_id": 7, "device": "ipad", "tag": "t"} });
        vec![
            ("http_binary", normalized(first)),
            ("http_text", normalized(second)),
            ("http_empty", normalized(third)),
            ("http_authorized", normalized(authorized)),
            ("authorizer", normalized(authorizer)),
        ]
    }

    #[test]
    fn capture_http_events() {
        for (name, event) in samples() {
            write(name, &event);
        }
    }
}
