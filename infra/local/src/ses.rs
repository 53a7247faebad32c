//! Amazon SES (API v2) as the functions use it: `SendEmail` (`POST /v2/email/outbound-emails`,
//! restJson1) with simple content, signed with the stack's keys (SigV4, scope `ses`), from this
//! machine. As SES answers: `MessageRejected` for a sender that is not the verified identity,
//! `BadRequestException` for no or too many recipients, a malformed address, or content
//! without a subject or a body. A sent email lands in the recipient's local mailbox
//! (`crate::outbox`). Not emulated: templates, raw messages, configuration sets, the sandbox's
//! verified-recipient rule, sending quotas and bounces.

use crate::gateway::Gateway;
use crate::outbox::{LOCAL_SENDER, MAX_RECIPIENTS};
use axum::body::Bytes;
use axum::extract::{ConnectInfo, State};
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use serde_json::{json, Value};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::SystemTime;

fn error(status: StatusCode, code: &str, message: impl Into<String>) -> Response {
    let body = json!({ "message": message.into() }).to_string();
    (status, [("content-type", "application/json"), ("x-amzn-errortype", code)], body).into_response()
}

fn bad(message: impl Into<String>) -> Response {
    error(StatusCode::BAD_REQUEST, "BadRequestException", message)
}

/// The addresses of one destination field.
fn addresses(destination: &Value, field: &str) -> Vec<String> {
    let listed = destination.get(field).and_then(Value::as_array);
    listed.map(|list| list.iter().filter_map(Value::as_str).map(String::from).collect()).unwrap_or_default()
}

/// Whether SES would take `address` (a local part, `@`, a dotted domain; no spaces).
fn well_formed(address: &str) -> bool {
    match address.rsplit_once('@') {
        Some((local, domain)) => {
            !local.is_empty() && domain.contains('.') && !address.chars().any(|c| c.is_whitespace() || c.is_control())
        }
        None => false,
    }
}

/// `POST /v2/email/outbound-emails`.
pub async fn send_email(
    State(gateway): State<Arc<Gateway>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    if !peer.ip().is_loopback() {
        return error(StatusCode::FORBIDDEN, "AccessDeniedException", "the SES API answers the functions only");
    }
    let scope = (gateway.clients.config.region.as_str(), "ses");
    if let Err(refused) = crate::sigv4::verify(&method, &uri, &headers, &body, &gateway.keys, scope, SystemTime::now())
    {
        return error(StatusCode::FORBIDDEN, refused.kind, refused.message);
    }
    let Ok(request) = serde_json::from_slice::<Value>(&body) else {
        return bad("the request body is not JSON");
    };
    let from = request["FromEmailAddress"].as_str().unwrap_or_default();
    if from.is_empty() {
        return bad("FromEmailAddress is required");
    }
    if from != LOCAL_SENDER {
        let message = format!(
            "Email address is not verified. The following identities failed the check in region {}: {from}",
            gateway.clients.config.region
        );
        return error(StatusCode::BAD_REQUEST, "MessageRejected", message);
    }
    let destination = &request["Destination"];
    let to: Vec<String> =
        ["ToAddresses", "CcAddresses", "BccAddresses"].iter().flat_map(|f| addresses(destination, f)).collect();
    if to.is_empty() || to.len() > MAX_RECIPIENTS {
        return bad(format!("a message has 1 to {MAX_RECIPIENTS} recipients"));
    }
    if let Some(wrong) = to.iter().find(|a| !well_formed(a)) {
        return bad(format!("Illegal address: {wrong}"));
    }
    let simple = &request["Content"]["Simple"];
    let subject = simple["Subject"]["Data"].as_str().unwrap_or_default();
    let text = simple["Body"]["Text"]["Data"].as_str().or(simple["Body"]["Html"]["Data"].as_str()).unwrap_or_default();
    if subject.is_empty() || text.is_empty() {
        return bad("simple content needs a subject and a body");
    }
    gateway.outbox.mail(from, &to, subject, text);
    let answer = json!({ "MessageId": uuid::Uuid::new_v4().to_string() }).to_string();
    (StatusCode::OK, [("content-type", "application/json")], answer).into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_are_checked_as_ses_checks_them() {
        assert!(well_formed("ann@example.com"));
        for bad in ["ann", "ann@localhost", "@example.com", "a n@example.com"] {
            assert!(!well_formed(bad), "{bad}");
        }
    }
}
