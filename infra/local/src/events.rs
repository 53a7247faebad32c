//! The events API Gateway hands the functions, built as the `aws_lambda_events` types the
//! functions deserialize them into: the HTTP API's payload 2.0 request and its Lambda
//! authorizer's `REQUEST`, and the WebSocket API's `CONNECT`, `MESSAGE` and `DISCONNECT`.
//! [`to_event`] turns one into the JSON a function is invoked with.

use crate::gateway::api_gateway_time;
use axum::http::header::{COOKIE, HOST, USER_AGENT};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue};
use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine;
use lambda_http::aws_lambda_events::apigw::{
    ApiGatewayRequestIdentity, ApiGatewayV2CustomAuthorizerV2Request, ApiGatewayV2httpRequest,
    ApiGatewayV2httpRequestContext, ApiGatewayV2httpRequestContextHttpDescription, ApiGatewayWebsocketProxyRequest,
    ApiGatewayWebsocketProxyRequestContext,
};
use lambda_http::aws_lambda_events::query_map::QueryMap;
use serde::Serialize;
use serde_json::Value;
use std::collections::{BTreeMap, HashMap};

/// The JSON a function is invoked with.
pub fn to_event(event: &impl Serialize) -> Value {
    // The events hold strings, numbers and string-keyed maps only: serializing cannot fail.
    serde_json::to_value(event).unwrap_or_default()
}

/// Request bodies API Gateway (HTTP API) passes as text; every other body is base64-encoded.
pub fn is_text_content(content_type: &str) -> bool {
    let ct = content_type.to_ascii_lowercase();
    ct.starts_with("text/") || ["json", "xml", "javascript", "yaml"].iter().any(|t| ct.contains(t))
}

/// A header's value as API Gateway passes it: text, with bytes that are not UTF-8 replaced.
fn text_of(value: &HeaderValue) -> String {
    String::from_utf8_lossy(value.as_bytes()).into_owned()
}

/// A header value from text (always one: it comes from a header value, or is ours).
fn header_value(text: &str) -> Option<HeaderValue> {
    HeaderValue::from_str(text).ok()
}

/// The payload 2.0 event API Gateway sends for this request, from `source_ip`. Repeated headers
/// are joined by commas, `Cookie` headers become `cookies`, repeated query parameters are
/// joined by commas, path parameters are percent-decoded ([`decoded_path_parameter`]).
pub fn http_request(
    parts: &Parts,
    body: &[u8],
    route_key: &str,
    params: &BTreeMap<String, String>,
    source_ip: &str,
) -> ApiGatewayV2httpRequest {
    let mut headers = HeaderMap::new();
    let mut cookies = vec![];
    for name in parts.headers.keys() {
        let values: Vec<String> = parts.headers.get_all(name).iter().map(text_of).collect();
        if name == COOKIE {
            let each = values.iter().flat_map(|v| v.split(';')).map(str::trim).filter(|c| !c.is_empty());
            cookies.extend(each.map(String::from));
        } else if let Some(joined) = header_value(&values.join(",")) {
            headers.insert(name.clone(), joined);
        }
    }
    headers.insert("x-forwarded-proto", HeaderValue::from_static("http"));
    let raw_query = parts.uri.query().unwrap_or("");
    let mut query: Vec<(String, String)> = Vec::new();
    for (k, v) in form_urlencoded::parse(raw_query.as_bytes()) {
        match query.iter_mut().find(|(key, _)| *key == k) {
            Some((_, existing)) => *existing = format!("{existing},{v}"),
            None => query.push((k.into_owned(), v.into_owned())),
        }
    }
    let content_type = parts.headers.get("content-type").and_then(|v| v.to_str().ok()).unwrap_or("");
    let (body, is_base64) = if body.is_empty() {
        (None, false)
    } else if is_text_content(content_type) && std::str::from_utf8(body).is_ok() {
        (Some(String::from_utf8_lossy(body).into_owned()), false)
    } else {
        (Some(BASE64.encode(body)), true)
    };
    let header = |name| parts.headers.get(name).and_then(|h| h.to_str().ok());
    let mut http = ApiGatewayV2httpRequestContextHttpDescription::default();
    http.method = parts.method.clone();
    http.path = Some(parts.uri.path().to_string());
    http.protocol = Some("HTTP/1.1".into());
    http.source_ip = Some(source_ip.to_string());
    http.user_agent = Some(header(USER_AGENT).unwrap_or("").to_string());
    let (time, epoch_ms) = api_gateway_time();
    let mut context = ApiGatewayV2httpRequestContext::default();
    context.route_key = Some(route_key.to_string());
    context.account_id = Some("000000000000".into());
    context.stage = Some("$default".into());
    context.request_id = Some(uuid::Uuid::new_v4().to_string());
    context.apiid = Some("local".into());
    context.domain_name = Some(header(HOST).unwrap_or("localhost").to_string());
    context.domain_prefix = Some("local".into());
    context.time = Some(time);
    context.time_epoch = epoch_ms;
    context.http = http;
    // The deprecated top-level `httpMethod` (not in payload 2.0) keeps the type's default:
    // it is written as `GET` and read back as `GET`, whatever the method, which
    // `requestContext.http.method` carries (what `lambda_http` reads).
    let mut event = ApiGatewayV2httpRequest::default();
    event.version = Some("2.0".into());
    event.route_key = Some(route_key.to_string());
    event.raw_path = Some(parts.uri.path().to_string());
    event.raw_query_string = Some(raw_query.to_string());
    event.cookies = (!cookies.is_empty()).then_some(cookies);
    event.headers = headers;
    event.query_string_parameters = QueryMap::from(query.into_iter().collect::<HashMap<_, _>>());
    event.path_parameters = params.iter().map(|(name, raw)| (name.clone(), decoded_path_parameter(raw))).collect();
    event.request_context = context;
    event.body = body;
    event.is_base64_encoded = is_base64;
    event
}

/// A path parameter as API Gateway passes it: percent-decoded, or as it came when it does not
/// decode (a `%` without two hex digits anywhere in it, or bytes that are not UTF-8).
pub fn decoded_path_parameter(raw: &str) -> String {
    let well_formed = raw
        .split('%')
        .skip(1)
        .all(|escape| escape.as_bytes().get(..2).is_some_and(|hex| hex.iter().all(u8::is_ascii_hexdigit)));
    if !well_formed {
        return raw.to_string();
    }
    percent_encoding::percent_decode_str(raw).decode_utf8().map_or_else(|_| raw.to_string(), String::from)
}

/// The Lambda authorizer's payload 2.0 `REQUEST` event: the request's, without its body.
pub fn authorizer_request(request: &ApiGatewayV2httpRequest) -> ApiGatewayV2CustomAuthorizerV2Request {
    let route_key = request.route_key.clone().unwrap_or_default();
    let mut event = ApiGatewayV2CustomAuthorizerV2Request::default();
    event.version = request.version.clone();
    event.type_ = Some("REQUEST".into());
    event.route_arn = Some(format!("arn:aws:execute-api:local:000000000000:local/$default/{route_key}"));
    event.route_key = request.route_key.clone();
    event.raw_path = request.raw_path.clone();
    event.raw_query_string = request.raw_query_string.clone();
    event.cookies = request.cookies.clone().unwrap_or_default();
    event.headers = request.headers.clone();
    event.query_string_parameters = request.query_string_parameters.iter().map(|(k, v)| (k.into(), v.into())).collect();
    event.request_context = request.request_context.clone();
    event.path_parameters = request.path_parameters.clone();
    event.stage_variables = request.stage_variables.clone();
    event
}

/// The `requestContext` of a WebSocket event; `identity.sourceIp` is the client's real address
/// (the functions' per-address limits read it).
pub fn ws_context(
    stage: &str,
    route_key: &str,
    event_type: &str,
    (cid, source): (&str, &str),
    connected_at_ms: i64,
) -> ApiGatewayWebsocketProxyRequestContext {
    let (time, epoch_ms) = api_gateway_time();
    let mut identity = ApiGatewayRequestIdentity::default();
    identity.source_ip = Some(source.to_string());
    let mut context = ApiGatewayWebsocketProxyRequestContext::default();
    context.route_key = Some(route_key.to_string());
    context.event_type = Some(event_type.to_string());
    context.message_direction = Some("IN".into());
    context.stage = Some(stage.to_string());
    context.connected_at = connected_at_ms;
    context.request_time = Some(time);
    context.request_time_epoch = epoch_ms;
    context.identity = identity;
    context.request_id = Some(uuid::Uuid::new_v4().to_string());
    context.extended_request_id = Some(uuid::Uuid::new_v4().to_string());
    context.domain_name = Some("localhost".into());
    context.connection_id = Some(cid.to_string());
    context.apiid = Some("local".into());
    context
}

/// The `$connect` event: the upgrade request's headers and query string. A repeated header or
/// parameter keeps its last value in the single-valued maps and all of them in `multiValue*`.
pub fn ws_connect(
    headers: &HeaderMap,
    query: &str,
    context: ApiGatewayWebsocketProxyRequestContext,
) -> ApiGatewayWebsocketProxyRequest {
    let mut event = ApiGatewayWebsocketProxyRequest::default();
    for (name, value) in headers {
        if let Some(value) = header_value(&text_of(value)) {
            event.headers.insert(name.clone(), value.clone());
            event.multi_value_headers.append(name.clone(), value);
        }
    }
    let mut single = HashMap::new();
    let mut multi: HashMap<String, Vec<String>> = HashMap::new();
    for (k, v) in form_urlencoded::parse(query.as_bytes()) {
        single.insert(k.to_string(), v.to_string());
        multi.entry(k.into_owned()).or_default().push(v.into_owned());
    }
    event.query_string_parameters = QueryMap::from(single);
    event.multi_value_query_string_parameters = QueryMap::from(multi);
    event.request_context = context;
    event
}

/// A `MESSAGE` event: the frame as text.
pub fn ws_message(context: ApiGatewayWebsocketProxyRequestContext, body: &str) -> ApiGatewayWebsocketProxyRequest {
    let mut event = ApiGatewayWebsocketProxyRequest::default();
    event.request_context = context;
    event.body = Some(body.to_string());
    event
}

/// The `$disconnect` event, with the close frame's code and reason.
pub fn ws_disconnect(
    mut context: ApiGatewayWebsocketProxyRequestContext,
    code: u16,
    reason: &str,
) -> ApiGatewayWebsocketProxyRequest {
    context.disconnect_status_code = Some(code.into());
    context.disconnect_reason = Some(reason.to_string());
    let mut event = ApiGatewayWebsocketProxyRequest::default();
    event.request_context = context;
    event
}

#[cfg(test)]
mod tests {
    use super::*;
    use lambda_http::request::LambdaRequest;
    use lambda_http::RequestExt;
    use serde::de::DeserializeOwned;

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

    /// What the emulator sent before its events were typed (`json!` values, captured with the
    /// same requests as [`samples`]): the events must read back the same.
    fn fixture(name: &str) -> Value {
        let path = format!("{}/fixtures/events/{name}.json", env!("CARGO_MANIFEST_DIR"));
        serde_json::from_str(&std::fs::read_to_string(&path).expect("the fixture is there")).expect("JSON")
    }

    fn parts(request: http::request::Builder) -> Parts {
        request.body(()).expect("a request").into_parts().0
    }

    fn fixed_http(mut event: ApiGatewayV2httpRequest) -> ApiGatewayV2httpRequest {
        event.request_context.request_id = Some("req-1".into());
        event.request_context.time = Some("23/Nov/2026:10:32:22 +0000".into());
        event.request_context.time_epoch = 1_795_000_000_000;
        event
    }

    fn fixed_ws(mut context: ApiGatewayWebsocketProxyRequestContext) -> ApiGatewayWebsocketProxyRequestContext {
        context.request_id = Some("req-1".into());
        context.extended_request_id = Some("ext-1".into());
        context.request_time = Some("23/Nov/2026:10:32:22 +0000".into());
        context.request_time_epoch = 1_795_000_000_000;
        context
    }

    /// Requests with what the functions read: repeated and non-UTF-8 headers, cookies in two
    /// headers, repeated, encoded and empty query parameters, encoded path parameters, binary,
    /// text and empty bodies, an authorizer context; a `$connect` with a query string and
    /// repeated headers, a message, a disconnect.
    fn samples() -> Vec<(&'static str, Value)> {
        let binary = parts(
            http::Request::builder()
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
                .header("x-latin", &b"caf\xe9"[..]),
        );
        let params = BTreeMap::from([("id".to_string(), "%2B33%20612".to_string()), ("raw".into(), "100%".into())]);
        let route = "POST /users/{id}/audio";
        let first = fixed_http(http_request(&binary, b"#!AMR\n\x00\x01\xff", route, &params, "10.0.0.7"));
        let text = parts(
            http::Request::builder()
                .method("PUT")
                .uri("/user/password")
                .header("host", "localhost:3000")
                .header("content-type", "application/json"),
        );
        let body = br#"{"a":"\u00e9"}"#;
        let second = fixed_http(http_request(&text, body, "PUT /user/password", &BTreeMap::new(), "127.0.0.1"));
        let empty = parts(http::Request::builder().method("GET").uri("/health"));
        let third = fixed_http(http_request(&empty, b"", "GET /health", &BTreeMap::new(), "::1"));
        let mut authorized = first.clone();
        let mut authorizer = lambda_http::aws_lambda_events::apigw::ApiGatewayRequestAuthorizer::default();
        authorizer.fields =
            serde_json::from_value(serde_json::json!({"user_id": 7, "device": "ipad", "tag": "t"})).expect("fields");
        authorized.request_context.authorizer = Some(authorizer);

        let mut headers = HeaderMap::new();
        headers.insert("host", HeaderValue::from_static("localhost:3001"));
        headers.insert("user-agent", HeaderValue::from_static("im-client/1.0"));
        headers.append("sec-websocket-protocol", HeaderValue::from_static("a"));
        headers.append("sec-websocket-protocol", HeaderValue::from_static("b, c"));
        let cid = "AbCdEfGhIjKlMn=";
        let context = |route, kind| fixed_ws(ws_context("v1", route, kind, (cid, "10.0.0.7"), 1_794_999_999_000));
        let query = "token=abc&format=toml&format=json&d=i%2Bpad&l=a,b";
        let message = r#"{"event":"sendmessage","to":3}"#;
        vec![
            ("http_binary", to_event(&first)),
            ("http_text", to_event(&second)),
            ("http_empty", to_event(&third)),
            ("http_authorized", to_event(&authorized)),
            ("authorizer", to_event(&authorizer_request(&first))),
            ("ws_connect_query", to_event(&ws_connect(&headers, query, context("$connect", "CONNECT")))),
            ("ws_connect_plain", to_event(&ws_connect(&HeaderMap::new(), "", context("$connect", "CONNECT")))),
            ("ws_message", to_event(&ws_message(context("sendmessage", "MESSAGE"), message))),
            (
                "ws_disconnect",
                to_event(&ws_disconnect(context("$disconnect", "DISCONNECT"), 1001, "Going away: idle timeout")),
            ),
        ]
    }

    /// Both events read as `T`, as the function reads its event.
    fn read_alike<T: DeserializeOwned + PartialEq + std::fmt::Debug>(name: &str, typed: &Value) -> T {
        let then: T = serde_json::from_value(fixture(name)).expect("the fixture reads");
        let now: T = serde_json::from_value(typed.clone()).expect("the typed event reads");
        assert_eq!(now, then, "{name} reads differently");
        now
    }

    #[test]
    fn the_typed_events_read_as_the_json_ones_did() {
        for (name, typed) in samples() {
            match name {
                "authorizer" => {
                    let event: ApiGatewayV2CustomAuthorizerV2Request = read_alike(name, &typed);
                    assert_eq!(event.cookies, ["token=abc", "theme=dark", "x=1"]);
                    assert_eq!(event.type_.as_deref(), Some("REQUEST"));
                }
                _ if name.starts_with("http") => {
                    let event: ApiGatewayV2httpRequest = read_alike(name, &typed);
                    assert!(!event.request_context.http.source_ip.unwrap_or_default().is_empty());
                    // What `im_functions::invoke` reads an HTTP event as, and the request it
                    // turns it into.
                    let [then, now] = [fixture(name), typed].map(|event| match serde_json::from_value(event) {
                        Ok(LambdaRequest::ApiGatewayV2(event)) => event,
                        _ => panic!("{name} does not read as a payload 2.0 event"),
                    });
                    let [then, now] = [then, now].map(|event| {
                        let request: lambda_http::Request = LambdaRequest::ApiGatewayV2(event).into();
                        let (query, path) = (request.query_string_parameters(), request.path_parameters());
                        let (parts, body) = request.into_parts();
                        (parts.method, parts.uri, parts.headers, body, query, path)
                    });
                    assert_eq!(now, then, "{name} arrives differently");
                }
                _ => {
                    let event: ApiGatewayWebsocketProxyRequest = read_alike(name, &typed);
                    assert_eq!(event.request_context.connection_id.as_deref(), Some("AbCdEfGhIjKlMn="));
                }
            }
        }
    }

    #[test]
    fn a_connect_keeps_every_value_of_a_repeated_parameter() {
        let (_, connect) = samples().into_iter().find(|(name, _)| *name == "ws_connect_query").expect("sampled");
        let event: ApiGatewayWebsocketProxyRequest = serde_json::from_value(connect).expect("reads");
        assert_eq!(event.multi_value_query_string_parameters.all("format"), Some(vec!["toml", "json"]));
        assert_eq!(event.query_string_parameters.first("format"), Some("json"));
        assert_eq!(event.headers["sec-websocket-protocol"], "b, c");
        assert_eq!(event.multi_value_headers.get_all("sec-websocket-protocol").iter().count(), 2);
    }
}
