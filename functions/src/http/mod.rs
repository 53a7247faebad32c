//! The HTTP surface: one file per route area, each route a thin translation from the request
//! to a use case and from its result to the answer. Shared here: who is calling (from the
//! authorizer's context), the response format (TOML or JSON by `Accept`), the one rendering of
//! refusals, and request fields validated once at the edge.

pub mod audio;
pub mod authorizer;
pub mod contacts;
pub mod friends;
pub mod groups;
pub mod messages;
pub mod offline;
pub mod users;

use crate::domain::format::Format;
use crate::domain::ids::{Actor, Caller, DeviceName};
use crate::domain::refusal::{Error, Refusal, Result, UNAVAILABLE_RETRY_AFTER_SECS};
use crate::service::auth;
use http::{header, HeaderValue, StatusCode};
use im_adapters::Clients;
use lambda_http::request::RequestContext;
use lambda_http::{Body, Request, RequestExt, Response};
use serde_json::{json, Map, Value};
use std::sync::Arc;

/// What a route handler sees: the shared clients and who is calling.
pub struct Ctx {
    pub clients: Arc<Clients>,
    /// The caller the authorizer resolved, or why it could not.
    caller: std::result::Result<Caller, String>,
    /// The raw token of the request, for logout.
    pub token: Option<String>,
    /// The address the request came from (API Gateway's `sourceIp`), for rate limits.
    pub source: String,
    /// Whether the authorizer ran: the route needs a session.
    authorized_route: bool,
    /// The authorizer could not reach the sessions (503, not 401).
    unavailable: bool,
}

impl Ctx {
    pub fn new(clients: Arc<Clients>, req: &Request) -> Ctx {
        let context = req.request_context_ref().and_then(|c| c.authorizer()).map(|a| &a.fields);
        let caller = match context {
            Some(fields) => match (fields.get("user_id").and_then(Value::as_u64), fields.get("device")) {
                (Some(user_id), Some(Value::String(device))) => DeviceName::parse(Some(device))
                    .map(|device| {
                        let tag = fields.get("tag").and_then(Value::as_str).unwrap_or_default().to_string();
                        Caller { user_id, device, tag }
                    })
                    .map_err(|err| err.to_string()),
                _ => Err(fields.get("auth_error").and_then(Value::as_str).unwrap_or("login required").to_string()),
            },
            None => Err("login required".to_string()),
        };
        let unavailable = context.and_then(|fields| fields.get("unavailable")).and_then(Value::as_bool) == Some(true);
        let header = |name: header::HeaderName| req.headers().get_all(name).iter().filter_map(|v| v.to_str().ok());
        let token =
            auth::find_token(header(header::AUTHORIZATION).next(), header(header::COOKIE), None).map(str::to_string);
        let source = match req.request_context_ref() {
            Some(RequestContext::ApiGatewayV2(context)) => context.http.source_ip.clone(),
            _ => None,
        };
        let authorized_route = context.is_some();
        Ctx {
            clients,
            caller,
            token,
            source: source.unwrap_or_else(|| "unknown".into()),
            authorized_route,
            unavailable,
        }
    }

    /// On a route that needs a session, the 401 for a request without a valid one: checked
    /// before the handler runs, so no route reads its input (or tells what is wrong with it)
    /// for someone not logged in.
    pub fn unauthenticated(&self) -> Option<Error> {
        if self.unavailable {
            return Some(Error::Unavailable("the authorizer could not read the session".into()));
        }
        match &self.caller {
            Err(reason) if self.authorized_route => Some(Refusal::Unauthorized(reason.clone()).into()),
            _ => None,
        }
    }

    /// The caller as the actor of a change made over HTTP.
    pub fn actor(&self) -> Result<Actor> {
        self.caller().map(Actor::from)
    }

    /// The authenticated caller, or 401 with the reason the token was refused.
    pub fn caller(&self) -> Result<&Caller> {
        self.caller.as_ref().map_err(|reason| Refusal::Unauthorized(reason.clone()).into())
    }
}

/// Picks the answer's format from `Accept`; without a usable one, the route's own (its seed's).
pub fn negotiate(req: &Request, route_default: Format) -> Format {
    let accept = req.headers().get(header::ACCEPT).and_then(|v| v.to_str().ok()).unwrap_or("").to_ascii_lowercase();
    match (accept.find("json"), accept.find("toml")) {
        (Some(j), Some(t)) if j < t => Format::Json,
        (Some(_), Some(_)) => Format::Toml,
        (Some(_), None) => Format::Json,
        (None, Some(_)) => Format::Toml,
        (None, None) => route_default,
    }
}

/// A successful answer: a status and a document in simple_im's shape.
pub struct Reply {
    pub status: StatusCode,
    pub doc: Value,
    /// Headers beside the body: `Set-Cookie`, `Location`.
    pub headers: Vec<(header::HeaderName, String)>,
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
        Reply { status: StatusCode::OK, doc: Value::Object(doc), headers: vec![], bare_json: None }
    }
    /// A document whose `[[response]]` entry carries more than the status (login's `[response.user]`).
    pub fn ok_with_response(fields: Value) -> Self {
        let mut response = Map::new();
        response.insert("status".into(), json!(0));
        if let Value::Object(extra) = fields {
            response.extend(extra);
        }
        Reply { status: StatusCode::OK, doc: json!({ "response": [response] }), headers: vec![], bare_json: None }
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
    /// `[[response]] status = 0` alone: done, nothing more to say.
    pub fn empty(_done: ()) -> Self {
        Reply::ok(json!({}))
    }
    /// `201 Created` with nothing more to say.
    pub fn created() -> Self {
        Reply::ok(json!({})).with_status(StatusCode::CREATED)
    }
    pub fn with_status(mut self, status: StatusCode) -> Self {
        self.status = status;
        self
    }
    pub fn with_header(mut self, name: header::HeaderName, value: String) -> Self {
        self.headers.push((name, value));
        self
    }
    /// Adds tables (`[[m]]`, `[[n]]` ...) to the document.
    pub fn with_tables(mut self, tables: impl IntoIterator<Item = (&'static str, Vec<Value>)>) -> Self {
        if let Value::Object(doc) = &mut self.doc {
            doc.extend(tables.into_iter().map(|(name, list)| (name.to_string(), Value::Array(list))));
        }
        self
    }
}

/// Turns a route's result into the HTTP response, in the negotiated format: a refusal is its
/// status with `[[response]] status = 1, reason` (and seed 004's `code`); an internal failure
/// is logged with its cause and answered 500 without it.
pub fn respond(format: Format, result: Result<Reply>) -> Response<Body> {
    let (status, doc, extra) = match result {
        Ok(Reply { status, doc, headers, bare_json: Some(section) }) if format == Format::Json => {
            (status, doc[section].clone(), headers)
        }
        Ok(reply) => (reply.status, reply.doc, reply.headers),
        Err(Error::Refused(refusal)) => {
            let mut response = json!({ "status": 1, "reason": refusal.to_string() });
            if let Some(code) = refusal.code() {
                response["code"] = json!(code);
            }
            let status = StatusCode::from_u16(refusal.status()).unwrap_or(StatusCode::BAD_REQUEST);
            let retry = refusal.retry_after().map(|secs| (header::RETRY_AFTER, secs.to_string()));
            (status, json!({ "response": [response] }), retry.into_iter().collect())
        }
        Err(Error::Unavailable(cause)) => {
            tracing::warn!(%cause, "a backend is unavailable");
            let body = json!({ "response": [{ "status": 1, "reason": "service unavailable, try again" }] });
            let retry = vec![(header::RETRY_AFTER, UNAVAILABLE_RETRY_AFTER_SECS.to_string())];
            (StatusCode::SERVICE_UNAVAILABLE, body, retry)
        }
        Err(Error::Internal(cause)) => {
            tracing::error!(%cause, "request failed");
            let body = json!({ "response": [{ "status": 1, "reason": "internal error, try again" }] });
            (StatusCode::INTERNAL_SERVER_ERROR, body, vec![])
        }
    };
    let body = if status == StatusCode::NO_CONTENT { Body::Empty } else { Body::Binary(format.encode(&doc)) };
    let mut response = Response::new(body);
    *response.status_mut() = status;
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(format.content_type()));
    for (name, value) in extra {
        if let Ok(value) = HeaderValue::from_str(&value) {
            headers.insert(name, value);
        }
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
    pub fn parse(req: &Request) -> Result<Fields> {
        let bytes: &[u8] = req.body().as_ref();
        if bytes.len() > MAX_BODY_BYTES {
            return Err(Refusal::TooLarge(format!("body is larger than {MAX_BODY_BYTES} bytes")).into());
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
            let reason = "send application/x-www-form-urlencoded, application/json or application/toml";
            return Err(Refusal::UnsupportedMedia(reason.into()).into());
        }
        let text = std::str::from_utf8(bytes).map_err(|_| Refusal::invalid("body is not valid UTF-8"))?;
        let map = if content_type.contains("json") {
            match serde_json::from_str::<Value>(text) {
                Ok(Value::Object(map)) => map,
                Ok(_) => return Err(Refusal::invalid("JSON body must be an object").into()),
                Err(e) => return Err(Refusal::invalid(format!("body is not valid JSON: {e}")).into()),
            }
        } else if content_type.contains("toml") {
            let table: toml::Table = toml::from_str(text)
                .map_err(|e| Refusal::invalid(format!("body is not valid TOML: {}", e.message())))?;
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
    pub fn text(&self, name: &str, min: usize, max: usize) -> Result<String> {
        self.opt_text(name, min, max)?.ok_or_else(|| Refusal::invalid(format!("{name} is required")).into())
    }

    pub fn opt_text(&self, name: &str, min: usize, max: usize) -> Result<Option<String>> {
        let Some(value) = self.get(name) else { return Ok(None) };
        let text = match value {
            Value::String(s) => s.trim().to_string(),
            Value::Number(n) => n.to_string(),
            _ => return Err(Refusal::invalid(format!("{name} must be a string")).into()),
        };
        let chars = text.chars().count();
        if chars < min || chars > max {
            return Err(Refusal::invalid(format!("{name} must be {min} to {max} characters")).into());
        }
        if text.chars().any(char::is_control) {
            return Err(Refusal::invalid(format!("{name} must not contain control characters")).into());
        }
        Ok(Some(text))
    }

    /// A non-negative integer, as a JSON number or a string of digits (forms only carry strings).
    pub fn opt_u64(&self, name: &str, max: u64) -> Result<Option<u64>> {
        let Some(value) = self.get(name) else { return Ok(None) };
        let parsed = match value {
            Value::Number(n) => n.as_u64(),
            Value::String(s) => s.trim().parse::<u64>().ok(),
            _ => None,
        };
        match parsed {
            Some(n) if n <= max => Ok(Some(n)),
            _ => Err(Refusal::invalid(format!("{name} must be a whole number from 0 to {max}")).into()),
        }
    }

    /// A user id in a seed 004 body: 400-3 when it is not a number.
    pub fn opt_user(&self, name: &str) -> Result<Option<u64>> {
        self.opt_u64(name, u64::MAX).map_err(|_| Refusal::BadUserId(name.to_string()).into())
    }

    /// A list of ids (`members[]=2&members[]=3`, or a JSON/TOML array); absent means empty.
    pub fn u64_list(&self, name: &str, max_len: usize) -> Result<Vec<u64>> {
        let items = match self.get(name) {
            None => return Ok(vec![]),
            Some(Value::Array(items)) => items.clone(),
            Some(single) => vec![single.clone()],
        };
        if items.len() > max_len {
            return Err(Refusal::invalid(format!("{name} takes at most {max_len} ids")).into());
        }
        items
            .iter()
            .map(|v| match v {
                Value::Number(n) => n.as_u64(),
                Value::String(s) => s.trim().parse().ok(),
                _ => None,
            })
            .map(|id| id.ok_or_else(|| Refusal::invalid(format!("{name} must be user ids")).into()))
            .collect()
    }

    /// A boolean: JSON/TOML true/false, or the strings true/false/1/0 from a form.
    pub fn opt_bool(&self, name: &str) -> Result<Option<bool>> {
        let Some(value) = self.get(name) else { return Ok(None) };
        match value {
            Value::Bool(b) => Ok(Some(*b)),
            Value::String(s) if matches!(s.as_str(), "true" | "1") => Ok(Some(true)),
            Value::String(s) if matches!(s.as_str(), "false" | "0") => Ok(Some(false)),
            _ => Err(Refusal::invalid(format!("{name} must be true or false")).into()),
        }
    }
}

/// Strict `application/x-www-form-urlencoded` parsing. Kept by hand on purpose: the crates
/// decode broken percent-encoding and invalid UTF-8 lossily, and this refuses them instead of
/// storing replacement characters. `name[]` keys (simple_im's `members[]=2&members[]=3`)
/// collect into an array under `name`.
pub fn parse_form(text: &str) -> Result<Map<String, Value>> {
    let mut map = Map::new();
    for pair in text.split('&').filter(|p| !p.is_empty()) {
        let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
        let key = percent_decode(key)?;
        let value = Value::String(percent_decode(value)?);
        if let Some(list) = key.strip_suffix("[]") {
            match map.entry(list.to_string()).or_insert_with(|| Value::Array(vec![])) {
                Value::Array(items) => items.push(value),
                _ => return Err(Refusal::invalid(format!("{list} given both as a list and a value")).into()),
            }
        } else if map.insert(key.clone(), value).is_some() {
            return Err(Refusal::invalid(format!("{key} given more than once")).into());
        }
    }
    Ok(map)
}

fn percent_decode(text: &str) -> Result<String> {
    let broken = || Error::from(Refusal::invalid("form body has broken percent-encoding or invalid UTF-8"));
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
pub fn path_param<'a>(req: &'a Request, name: &str) -> Result<&'a str> {
    let params = req.path_parameters_ref();
    params.and_then(|p| p.first(name)).ok_or_else(|| Refusal::invalid(format!("missing path parameter {name}")).into())
}

/// A numeric path parameter; `refusal` says why another value is refused.
pub fn path_number(req: &Request, name: &str, refusal: impl FnOnce() -> Refusal) -> Result<u64> {
    path_param(req, name)?.parse().map_err(|_| refusal().into())
}

/// A query parameter.
pub fn query<'a>(req: &'a Request, name: &str) -> Option<&'a str> {
    req.query_string_parameters_ref().and_then(|q| q.first(name))
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
}
