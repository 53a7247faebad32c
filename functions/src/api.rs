//! The HTTP boundary shared by every route: response format negotiation (TOML or JSON),
//! one error type with one status mapping, and request field parsing validated at the edge.

use http::{header, HeaderValue, StatusCode};
use lambda_http::{Body, Request, Response};
use serde_json::{json, Map, Value};

/// The two encodings of one response document.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    /// simple_im's format: `[[response]] status = 0`.
    Toml,
    Json,
}

impl Format {
    /// Picks the format from `Accept`; without a usable one, the route's own (its seed's) format.
    pub fn negotiate(req: &Request, route_default: Format) -> Format {
        let accept = req.headers().get(header::ACCEPT).and_then(|v| v.to_str().ok()).unwrap_or("").to_ascii_lowercase();
        let json = accept.find("json");
        let toml = accept.find("toml");
        match (json, toml) {
            (Some(j), Some(t)) => {
                if j < t {
                    Format::Json
                } else {
                    Format::Toml
                }
            }
            (Some(_), None) => Format::Json,
            (None, Some(_)) => Format::Toml,
            (None, None) => route_default,
        }
    }

    pub fn content_type(self) -> &'static str {
        match self {
            Format::Toml => "application/toml; charset=utf-8",
            Format::Json => "application/json",
        }
    }

    /// Encodes a document. TOML has no null: null fields (hidden by privacy flags) are left out.
    pub fn encode(self, doc: &Value) -> Vec<u8> {
        match self {
            Format::Json => serde_json::to_vec(doc).unwrap_or_default(),
            Format::Toml => toml::to_string(&without_nulls(doc)).unwrap_or_default().into_bytes(),
        }
    }
}

fn without_nulls(doc: &Value) -> Value {
    match doc {
        Value::Object(map) => Value::Object(
            map.iter().filter(|(_, v)| !v.is_null()).map(|(k, v)| (k.clone(), without_nulls(v))).collect(),
        ),
        Value::Array(items) => Value::Array(items.iter().filter(|v| !v.is_null()).map(without_nulls).collect()),
        other => other.clone(),
    }
}

/// Every failure a client can cause, plus `Internal` for ours. The reason is shown to the client;
/// an internal cause is logged and never sent.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("{reason}")]
    Client { status: StatusCode, reason: String, code: Option<&'static str> },
    #[error("internal error: {0}")]
    Internal(String),
}

pub type ApiResult<T = Reply> = Result<T, ApiError>;

impl ApiError {
    pub fn new(status: StatusCode, reason: impl Into<String>) -> Self {
        ApiError::Client { status, reason: reason.into(), code: None }
    }
    /// An error with one of seed 004's codes (`404-3`, `400-20`, ...); the HTTP status is its prefix.
    pub fn coded(code: &'static str, reason: impl Into<String>) -> Self {
        let status = code
            .split('-')
            .next()
            .and_then(|s| s.parse().ok())
            .and_then(|n| StatusCode::from_u16(n).ok())
            .unwrap_or(StatusCode::BAD_REQUEST);
        ApiError::Client { status, reason: reason.into(), code: Some(code) }
    }
    pub fn bad_request(reason: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, reason)
    }
    pub fn unauthorized(reason: impl Into<String>) -> Self {
        Self::new(StatusCode::UNAUTHORIZED, reason)
    }
    pub fn not_found(reason: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, reason)
    }
    pub fn conflict(reason: impl Into<String>) -> Self {
        Self::new(StatusCode::CONFLICT, reason)
    }
    /// Wraps a failed AWS SDK call, keeping its whole cause chain for the log.
    pub fn aws<E: std::error::Error>(err: E) -> Self {
        ApiError::Internal(aws_sdk_dynamodb::error::DisplayErrorContext(err).to_string())
    }
    /// Wraps any internal failure (AWS SDK errors, ...) keeping its full cause for the log.
    pub fn internal(err: impl std::fmt::Display) -> Self {
        ApiError::Internal(err.to_string())
    }
}

/// A successful answer: a status and a document in simple_im's shape.
pub struct Reply {
    pub status: StatusCode,
    pub doc: Value,
    pub set_cookie: Option<String>,
    /// Seed 004's lists are bare JSON arrays: in JSON only this section of the document is sent.
    pub bare_json: Option<&'static str>,
}

impl Reply {
    /// `[[response]] status = 0` followed by the given sections (`user = [...]`, ...).
    pub fn ok(sections: Value) -> Self {
        let mut doc = Map::new();
        doc.insert("response".into(), json!([{ "status": 0 }]));
        if let Value::Object(extra) = sections {
            doc.extend(extra);
        }
        Reply { status: StatusCode::OK, doc: Value::Object(doc), set_cookie: None, bare_json: None }
    }
    /// A document whose `[[response]]` entry carries more than the status (login's `[response.user]`).
    pub fn ok_with_response(fields: Value) -> Self {
        let mut response = Map::new();
        response.insert("status".into(), json!(0));
        if let Value::Object(extra) = fields {
            response.extend(extra);
        }
        Reply { status: StatusCode::OK, doc: json!({ "response": [response] }), set_cookie: None, bare_json: None }
    }
    /// A list in seed 004's shape: a bare array in JSON, `[[response]]` then `[[section]]` in TOML.
    pub fn list(section: &'static str, items: Vec<Value>) -> Self {
        let mut reply = Reply::ok(json!({ section: items }));
        reply.bare_json = Some(section);
        reply
    }
    /// `204 No Content`: no body in either format.
    pub fn no_content() -> Self {
        Reply::ok(json!({})).with_status(StatusCode::NO_CONTENT)
    }
    pub fn with_status(mut self, status: StatusCode) -> Self {
        self.status = status;
        self
    }
    pub fn with_cookie(mut self, cookie: String) -> Self {
        self.set_cookie = Some(cookie);
        self
    }
}

/// Turns a route's result into the HTTP response, in the negotiated format.
pub fn respond(format: Format, result: ApiResult) -> Response<Body> {
    let (status, doc, cookie) = match result {
        Ok(Reply { status, doc, set_cookie, bare_json: Some(section) }) if format == Format::Json => {
            (status, doc[section].clone(), set_cookie)
        }
        Ok(reply) => (reply.status, reply.doc, reply.set_cookie),
        Err(ApiError::Client { status, reason, code }) => {
            let mut response = json!({ "status": 1, "reason": reason });
            if let Some(code) = code {
                response["code"] = json!(code);
            }
            (status, json!({ "response": [response] }), None)
        }
        Err(ApiError::Internal(cause)) => {
            tracing::error!(%cause, "request failed");
            let body = json!({ "response": [{ "status": 1, "reason": "internal error, try again" }] });
            (StatusCode::INTERNAL_SERVER_ERROR, body, None)
        }
    };
    let body = if status == StatusCode::NO_CONTENT { Body::Empty } else { Body::Binary(format.encode(&doc)) };
    let mut response = Response::new(body);
    *response.status_mut() = status;
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(format.content_type()));
    if let Some(cookie) = cookie.and_then(|c| HeaderValue::from_str(&c).ok()) {
        headers.insert(header::SET_COOKIE, cookie);
    }
    response
}

/// Largest body any non-upload route accepts.
pub const MAX_BODY_BYTES: usize = 64 * 1024;

/// The fields of a request body: form-encoded (simple_im's curl `-d`), JSON or TOML, chosen by
/// `Content-Type`. Every value is checked once here, with a reason the client can act on.
#[derive(Debug, Default)]
pub struct Fields(Map<String, Value>);

impl Fields {
    pub fn parse(req: &Request) -> ApiResult<Fields> {
        let bytes: &[u8] = req.body().as_ref();
        if bytes.len() > MAX_BODY_BYTES {
            return Err(ApiError::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                format!("body is larger than {MAX_BODY_BYTES} bytes"),
            ));
        }
        if bytes.iter().all(u8::is_ascii_whitespace) {
            return Ok(Fields::default());
        }
        let content_type = req
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("application/x-www-form-urlencoded")
            .to_ascii_lowercase();
        let known = ["json", "toml", "application/x-www-form-urlencoded"];
        if !known.iter().any(|k| content_type.contains(k)) {
            return Err(ApiError::new(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "send application/x-www-form-urlencoded, application/json or application/toml",
            ));
        }
        let text = std::str::from_utf8(bytes).map_err(|_| ApiError::bad_request("body is not valid UTF-8"))?;
        let map = if content_type.contains("json") {
            match serde_json::from_str::<Value>(text) {
                Ok(Value::Object(map)) => map,
                Ok(_) => return Err(ApiError::bad_request("JSON body must be an object")),
                Err(e) => return Err(ApiError::bad_request(format!("body is not valid JSON: {e}"))),
            }
        } else if content_type.contains("toml") {
            let table: toml::Table = toml::from_str(text)
                .map_err(|e| ApiError::bad_request(format!("body is not valid TOML: {}", e.message())))?;
            serde_json::to_value(table).ok().and_then(|v| v.as_object().cloned()).unwrap_or_default()
        } else {
            parse_form(text)?
        };
        Ok(Fields(map))
    }

    fn get(&self, name: &str) -> Option<&Value> {
        self.0.get(name).filter(|v| !v.is_null())
    }

    /// A required text field of `min..=max` characters, trimmed.
    pub fn text(&self, name: &str, min: usize, max: usize) -> ApiResult<String> {
        self.opt_text(name, min, max)?.ok_or_else(|| ApiError::bad_request(format!("{name} is required")))
    }

    pub fn opt_text(&self, name: &str, min: usize, max: usize) -> ApiResult<Option<String>> {
        let Some(value) = self.get(name) else { return Ok(None) };
        let text = match value {
            Value::String(s) => s.trim().to_string(),
            Value::Number(n) => n.to_string(),
            _ => return Err(ApiError::bad_request(format!("{name} must be a string"))),
        };
        let chars = text.chars().count();
        if chars < min || chars > max {
            return Err(ApiError::bad_request(format!("{name} must be {min} to {max} characters")));
        }
        if text.chars().any(char::is_control) {
            return Err(ApiError::bad_request(format!("{name} must not contain control characters")));
        }
        Ok(Some(text))
    }

    /// A non-negative integer, as a JSON number or a string of digits (forms only carry strings).
    pub fn opt_u64(&self, name: &str, max: u64) -> ApiResult<Option<u64>> {
        let Some(value) = self.get(name) else { return Ok(None) };
        let parsed = match value {
            Value::Number(n) => n.as_u64(),
            Value::String(s) => s.trim().parse::<u64>().ok(),
            _ => None,
        };
        match parsed {
            Some(n) if n <= max => Ok(Some(n)),
            _ => Err(ApiError::bad_request(format!("{name} must be a whole number from 0 to {max}"))),
        }
    }

    /// A list of ids (`members[]=2&members[]=3`, or a JSON/TOML array); absent means empty.
    pub fn u64_list(&self, name: &str, max_len: usize) -> ApiResult<Vec<u64>> {
        let items = match self.get(name) {
            None => return Ok(vec![]),
            Some(Value::Array(items)) => items.clone(),
            Some(single) => vec![single.clone()],
        };
        if items.len() > max_len {
            return Err(ApiError::bad_request(format!("{name} takes at most {max_len} ids")));
        }
        items
            .iter()
            .map(|v| match v {
                Value::Number(n) => n.as_u64(),
                Value::String(s) => s.trim().parse().ok(),
                _ => None,
            })
            .map(|id| id.ok_or_else(|| ApiError::bad_request(format!("{name} must be user ids"))))
            .collect()
    }

    /// A boolean: JSON/TOML true/false, or the strings true/false/1/0 from a form.
    pub fn opt_bool(&self, name: &str) -> ApiResult<Option<bool>> {
        let Some(value) = self.get(name) else { return Ok(None) };
        match value {
            Value::Bool(b) => Ok(Some(*b)),
            Value::String(s) if matches!(s.as_str(), "true" | "1") => Ok(Some(true)),
            Value::String(s) if matches!(s.as_str(), "false" | "0") => Ok(Some(false)),
            _ => Err(ApiError::bad_request(format!("{name} must be true or false"))),
        }
    }
}

/// Strict `application/x-www-form-urlencoded` parsing: unlike lossy decoders, broken
/// percent-encoding or invalid UTF-8 is an error, not replacement characters in stored data.
/// `name[]` keys (simple_im's `members[]=2&members[]=3`) collect into an array under `name`.
pub fn parse_form(text: &str) -> ApiResult<Map<String, Value>> {
    let mut map = Map::new();
    for pair in text.split('&').filter(|p| !p.is_empty()) {
        let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
        let key = percent_decode(key)?;
        let value = Value::String(percent_decode(value)?);
        if let Some(list) = key.strip_suffix("[]") {
            match map.entry(list.to_string()).or_insert_with(|| Value::Array(vec![])) {
                Value::Array(items) => items.push(value),
                _ => return Err(ApiError::bad_request(format!("{list} given both as a list and a value"))),
            }
        } else if map.insert(key.clone(), value).is_some() {
            return Err(ApiError::bad_request(format!("{key} given more than once")));
        }
    }
    Ok(map)
}

fn percent_decode(text: &str) -> ApiResult<String> {
    let broken = || ApiError::bad_request("form body has broken percent-encoding or invalid UTF-8");
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' => {
                let hex = bytes.get(i + 1..i + 3).ok_or_else(broken)?;
                let hex = std::str::from_utf8(hex).map_err(|_| broken())?;
                out.push(u8::from_str_radix(hex, 16).map_err(|_| broken())?);
                i += 2;
            }
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8(out).map_err(|_| broken())
}

/// A path parameter, as API Gateway extracted it from the route template.
pub fn path_param<'a>(req: &'a Request, name: &str) -> ApiResult<&'a str> {
    use lambda_http::RequestExt;
    let params = req.path_parameters_ref();
    params.and_then(|p| p.first(name)).ok_or_else(|| ApiError::bad_request(format!("missing path parameter {name}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn form_decodes_utf8_and_lists() {
        let map = parse_form("name=%E5%A4%A7%E5%82%BB&members[]=2&members[]=3&a=b+c").unwrap();
        assert_eq!(map["name"], "大傻");
        assert_eq!(map["members"], json!(["2", "3"]));
        assert_eq!(map["a"], "b c");
    }

    #[test]
    fn form_rejects_broken_encoding() {
        assert!(parse_form("name=%E5%A4").is_err());
        assert!(parse_form("name=%zz").is_err());
        assert!(parse_form("name=%4").is_err());
        assert!(parse_form("a=1&a=2").is_err());
    }

    #[test]
    fn toml_is_one_key_per_line_and_drops_nulls() {
        let doc = json!({"response": [{"status": 0}], "user": [{"id": 2, "name": "大傻", "age": null}]});
        let text = String::from_utf8(Format::Toml.encode(&doc)).unwrap();
        assert_eq!(text, "[[response]]\nstatus = 0\n\n[[user]]\nid = 2\nname = \"大傻\"\n");
        let back: toml::Table = toml::from_str(&text).unwrap();
        assert_eq!(back["user"][0]["id"].as_integer(), Some(2));
    }

    #[test]
    fn coded_errors_take_their_status_from_the_code() {
        match ApiError::coded("404-3", "no such user") {
            ApiError::Client { status, .. } => assert_eq!(status, StatusCode::NOT_FOUND),
            _ => unreachable!(),
        }
    }
}
