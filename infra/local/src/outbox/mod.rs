//! What the local stack sends to people outside the app, as AWS would: SMS (SNS `Publish` to
//! a phone number) and email (SES `SendEmail`). Nothing leaves the machine: each message is
//! recorded, for the developer and the tests to read at `GET /_local/sms?to=` and
//! `GET /_local/mail?to=` (loopback only), as a phone or a mailbox would receive it; what was
//! published to a topic (reports of abuse), at `GET /_local/topic?name=<logical id>`.
//!
//! Checked as AWS checks them: an SMS goes to an E.164 number (`+` and 2 to 15 digits, SNS's
//! `InvalidParameter` otherwise) and is at most 1600 bytes (SNS splits longer ones into
//! 140-byte parts, up to that); an email comes from the stack's one verified identity
//! ([`LOCAL_SENDER`], SES's `MessageRejected` for any other), to 1 to 50 recipients, with a
//! subject and a body. The account is out of SES's sandbox (any recipient), as a production
//! deployment must be (docs/DEPLOYMENT.md).

pub mod boxes;

pub use boxes::{is_e164, Outbox, Received, LOCAL_SENDER, MAX_RECIPIENTS, MAX_SMS_BYTES};

use axum::extract::{ConnectInfo, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::json;
use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Arc;

fn json_response(status: StatusCode, body: serde_json::Value) -> Response {
    (status, [("content-type", "application/json")], body.to_string()).into_response()
}

/// Which outbox a route reads.
enum Kind {
    Sms,
    Mail,
    Topic,
}

/// `GET /_local/sms?to=`, `GET /_local/mail?to=` and `GET /_local/topic?name=`: what one
/// recipient (a topic, by its logical id) got, oldest first.
async fn received(
    gateway: &crate::gateway::Gateway,
    peer: SocketAddr,
    query: &HashMap<String, String>,
    kind: Kind,
) -> Response {
    if !peer.ip().is_loopback() {
        return json_response(StatusCode::FORBIDDEN, json!({ "message": "the outboxes are for this machine only" }));
    }
    let field = if matches!(kind, Kind::Topic) { "name" } else { "to" };
    let Some(to) = query.get(field).filter(|t| !t.is_empty()) else {
        return json_response(StatusCode::BAD_REQUEST, json!({ "message": format!("the query needs ?{field}=") }));
    };
    let (list, to) = match kind {
        Kind::Sms => (&gateway.outbox.sms, to.clone()),
        Kind::Mail => (&gateway.outbox.mail, to.clone()),
        Kind::Topic => (&gateway.outbox.topics, crate::template::topic_arn(to)),
    };
    json_response(StatusCode::OK, json!(Outbox::to(list, &to)))
}

pub async fn sms(
    State(gateway): State<Arc<crate::gateway::Gateway>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    Query(query): Query<HashMap<String, String>>,
) -> Response {
    received(&gateway, peer, &query, Kind::Sms).await
}

pub async fn mail(
    State(gateway): State<Arc<crate::gateway::Gateway>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    Query(query): Query<HashMap<String, String>>,
) -> Response {
    received(&gateway, peer, &query, Kind::Mail).await
}

pub async fn topic(
    State(gateway): State<Arc<crate::gateway::Gateway>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    Query(query): Query<HashMap<String, String>>,
) -> Response {
    received(&gateway, peer, &query, Kind::Topic).await
}

/// `GET /_local/metrics`: the sums of the embedded metrics the functions emitted since the stack
/// started (`im_adapters::emf`), as `{name: sum}`. This machine only.
pub async fn metrics(ConnectInfo(peer): ConnectInfo<SocketAddr>) -> Response {
    if !peer.ip().is_loopback() {
        return json_response(StatusCode::FORBIDDEN, json!({ "message": "the metrics are for this machine only" }));
    }
    json_response(StatusCode::OK, json!(im_adapters::emf::sums()))
}

/// `GET /_local/traces`: the X-Ray documents the stack's daemon received and the segments of
/// traced invocations (`crate::xray`), all or `?trace_id=`; with the reasons of dropped ones.
/// This machine only.
pub async fn traces(
    State(gateway): State<Arc<crate::gateway::Gateway>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    Query(query): Query<HashMap<String, String>>,
) -> Response {
    if !peer.ip().is_loopback() {
        return json_response(StatusCode::FORBIDDEN, json!({ "message": "the traces are for this machine only" }));
    }
    json_response(StatusCode::OK, gateway.traces.view(query.get("trace_id").map(String::as_str)))
}
