//! The HTTP surface: one file per route area, each route a thin translation from the request
//! to a use case and from its result to the answer. Shared here: who is calling (from the
//! authorizer's context), the response format (TOML or JSON by `Accept`), the one rendering of
//! refusals, and request fields validated once at the edge.

pub mod account;
pub mod audio;
pub mod authorizer;
pub mod contacts;
mod fields;
pub mod friends;
pub mod groups;
pub mod inbox;
pub mod media;
pub mod messages;
pub mod offline;
pub mod profile;
pub mod push;
pub mod reports;
pub mod reset;
pub mod users;

pub use fields::{parse_form, Fields, MAX_BODY_BYTES};

use crate::domain::format::Format;
use crate::domain::ids::{Actor, Caller, DeviceName, UserId};
use crate::domain::refusal::{Error, Refusal, Result, UNAVAILABLE_RETRY_AFTER_SECS};
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
            Some(fields) => match (fields.get("user_id").and_then(Value::as_u64).map(UserId), fields.get("device")) {
                (Some(user_id), Some(Value::String(device))) => DeviceName::parse(Some(device))
                    .map(|device| {
                        let text =
                            |name: &str| fields.get(name).and_then(Value::as_str).unwrap_or_default().to_string();
                        Caller { user_id, device, tag: text("tag"), session: text("session") }
                    })
                    .map_err(|err| err.to_string()),
                _ => Err(fields.get("auth_error").and_then(Value::as_str).unwrap_or("login required").to_string()),
            },
            None => Err("login required".to_string()),
        };
        let unavailable = context.and_then(|fields| fields.get("unavailable")).and_then(Value::as_bool) == Some(true);
        let source = match req.request_context_ref() {
            Some(RequestContext::ApiGatewayV2(context)) => context.http.source_ip.clone(),
            _ => None,
        };
        let authorized_route = context.is_some();
        Ctx { clients, caller, source: source.unwrap_or_else(|| "unknown".into()), authorized_route, unavailable }
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
            let reason = refusal.to_string();
            let mut response = json!({ "status": 1, "reason": reason });
            let mut doc = Map::new();
            if let Some(code) = refusal.code() {
                response["code"] = json!(code);
                // Seed 004's JSON clients read the code and message at the top level.
                if format == Format::Json {
                    doc.insert("code".into(), json!(code));
                    doc.insert("message".into(), json!(reason));
                }
            }
            doc.insert("response".into(), json!([response]));
            let status = StatusCode::from_u16(refusal.status()).unwrap_or(StatusCode::BAD_REQUEST);
            let retry = refusal.retry_after().map(|secs| (header::RETRY_AFTER, secs.to_string()));
            (status, Value::Object(doc), retry.into_iter().collect())
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

/// A path parameter, as API Gateway extracted it from the route template.
pub fn path_param<'a>(req: &'a Request, name: &str) -> Result<&'a str> {
    let params = req.path_parameters_ref();
    params.and_then(|p| p.first(name)).ok_or_else(|| Refusal::invalid(format!("missing path parameter {name}")).into())
}

/// A numeric path parameter; `refusal` says why another value is refused.
pub fn path_number<T: std::str::FromStr>(req: &Request, name: &str, refusal: impl FnOnce() -> Refusal) -> Result<T> {
    path_param(req, name)?.parse().map_err(|_| refusal().into())
}

/// A query parameter.
pub fn query<'a>(req: &'a Request, name: &str) -> Option<&'a str> {
    req.query_string_parameters_ref().and_then(|q| q.first(name))
}
