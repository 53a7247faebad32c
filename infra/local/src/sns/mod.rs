//! Amazon SNS's mobile push, as the functions use it: the awsQuery API (version 2010-03-31) at
//! `POST /` for `CreatePlatformEndpoint`, `SetEndpointAttributes`, `GetEndpointAttributes`,
//! `DeleteEndpoint` and `Publish` to a platform endpoint, answered in SNS's XML (the shapes the
//! Rust SDK parses) with SNS's error codes and messages. As on AWS:
//! - only signed calls are answered (SigV4 with the stack's keys, scope `sns`), from this machine;
//! - `CreatePlatformEndpoint` is idempotent: the same token with the same attributes under the
//!   same application answers the existing endpoint, with other attributes it is refused;
//! - `DeleteEndpoint` always succeeds, a missing endpoint included;
//! - `Publish` checks the message (256 KB; with `MessageStructure=json` a `default` entry, the
//!   platform's own entry a JSON object of at most 4 KB, the cap of APNs and FCM alike) and
//!   refuses a disabled endpoint (`EndpointDisabled`).
//!
//! The three local platform applications ([`LOCAL_APPLICATIONS`]) stand for APNs, the APNs
//! sandbox and FCM. They deliver by recording ([`Delivery`], read at `GET /_local/push?token=`),
//! and refuse a token that begins with `bad` as APNs (`BadDeviceToken`) and FCM (`UNREGISTERED`)
//! refuse a stale one: the `Publish` succeeds, as on AWS, and SNS then disables the endpoint.
//!
//! Application events, as SNS sends them: when the template has a topic `PushEventsTopic`, it
//! is the three applications' `EventDeliveryFailure` topic (on AWS the operator sets it,
//! docs/DEPLOYMENT.md), and a refused token makes SNS publish a `DeliveryFailure` event to it.
//! The topic invokes the functions the template subscribes to it (their `SNS` events)
//! asynchronously, with Lambda's retries (`lambda_api::run_event`); an event of a topic
//! without subscribers is dropped, as SNS drops it.
//!
//! SMS: `Publish` with `PhoneNumber` checks the number and the message as SNS does and records
//! the text in the stack's outbox (`crate::outbox`, read at `GET /_local/sms?to=`).
//!
//! Topics: `Publish` with `TopicArn` to a topic of the template records the message in the
//! outbox (`GET /_local/topic?name=`) and hands it to the topic's Lambda subscribers.
//!
//! Not emulated: any other topic API, the other application events
//! (`EventEndpointCreated`, `EventEndpointDeleted`, `EventEndpointUpdated`), subscription
//! protocols other than Lambda, filter policies, SMS sender ids and spending limits, creating or configuring platform
//! applications, delivery-status logging, message attributes, the platforms' own payload checks
//! (an `aps` dictionary, FCM's message fields) and the token formats they accept.
//!
//! This module holds the HTTP handlers (`POST /`, `GET /_local/push`) and the hand-off of
//! application events to their topic's subscribers; the service's state and actions are in
//! `registry`, its errors and input checks in `checks`, its XML in `xml`, the events' JSON in
//! `events`.

mod checks;
mod events;
pub(crate) mod registry;
pub(crate) mod xml;

pub use checks::{attributes, SnsError, MAX_MESSAGE_BYTES, MAX_PLATFORM_PAYLOAD_BYTES};
pub use registry::{local_platforms, Delivery, Sns, LOCAL_APPLICATIONS};
pub use xml::access_denied_xml;

use crate::gateway::Gateway;
use crate::template::topic_arn;
use axum::body::Bytes;
use axum::extract::{ConnectInfo, Query, State};
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use serde_json::json;
use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::SystemTime;
use xml::{error_xml, success_xml};

fn xml_response(status: StatusCode, body: String, request_id: &str) -> Response {
    (status, [("content-type", "text/xml"), ("x-amzn-requestid", request_id)], body).into_response()
}

fn error_response(error: &SnsError, request_id: &str) -> Response {
    xml_response(error.status, error_xml(error.code, &error.message, request_id), request_id)
}

/// The code SNS (an awsQuery service) answers a signature refusal with.
fn signature_code(kind: &str) -> &'static str {
    match kind {
        "MissingAuthenticationTokenException" => "MissingAuthenticationToken",
        "UnrecognizedClientException" => "InvalidClientTokenId",
        "IncompleteSignatureException" => "IncompleteSignature",
        _ => "SignatureDoesNotMatch",
    }
}

/// `POST /`: the SNS API, for the functions on this machine.
pub async fn handle(
    State(gateway): State<Arc<Gateway>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let request_id = uuid::Uuid::new_v4().to_string();
    if !peer.ip().is_loopback() {
        let refused =
            SnsError::new(StatusCode::FORBIDDEN, "AuthorizationError", "the SNS API answers the functions only");
        return error_response(&refused, &request_id);
    }
    let scope = (gateway.clients.config.region.as_str(), "sns");
    let now = SystemTime::now();
    if let Err(refused) = crate::sigv4::verify(&method, &uri, &headers, &body, &gateway.keys, scope, now) {
        tracing::warn!(kind = refused.kind, "SNS API: refused an unsigned or wrongly signed call");
        let error = SnsError::new(StatusCode::FORBIDDEN, signature_code(refused.kind), refused.message);
        return error_response(&error, &request_id);
    }
    let params: HashMap<String, String> = form_urlencoded::parse(&body).into_owned().collect();
    let action = params.get("Action").cloned().unwrap_or_default();
    let non_empty = |name: &str| params.get(name).filter(|v| !v.is_empty());
    let acted = match (action.as_str(), non_empty("PhoneNumber"), non_empty("TopicArn")) {
        ("Publish", Some(number), None) => text_message(&gateway, number, &params),
        ("Publish", None, Some(topic)) => publish_to_topic(&gateway, topic, &params),
        _ => gateway.sns.act(&action, &params),
    };
    notify_subscribers(&gateway);
    match acted {
        Ok(result) => xml_response(StatusCode::OK, success_xml(&action, &result, &request_id), &request_id),
        Err(error) => {
            tracing::debug!(%action, code = error.code, message = %error.message, "SNS API: refused");
            error_response(&error, &request_id)
        }
    }
}

/// `Publish` with `PhoneNumber`: an SMS, recorded in the stack's outbox (`crate::outbox`).
fn text_message(gateway: &Gateway, number: &str, params: &HashMap<String, String>) -> Result<String, SnsError> {
    let message = params.get("Message").map(String::as_str).unwrap_or_default();
    gateway.outbox.text(number, message).map_err(SnsError::invalid)?;
    Ok(format!("<MessageId>{}</MessageId>", uuid::Uuid::new_v4()))
}

/// `Publish` with `TopicArn`: to a topic of the template, checked as SNS checks it (the message
/// at most 256 KB, the subject under 100 printable characters), recorded in the outbox under the
/// topic and handed to the topic's Lambda subscribers.
fn publish_to_topic(gateway: &Gateway, topic: &str, params: &HashMap<String, String>) -> Result<String, SnsError> {
    if !gateway.template.topics.iter().any(|id| topic_arn(id) == topic) {
        return Err(SnsError::not_found("Topic does not exist"));
    }
    let message = params.get("Message").map(String::as_str).unwrap_or_default();
    if message.is_empty() {
        return Err(SnsError::invalid("Invalid parameter: Empty message"));
    }
    if message.len() > MAX_MESSAGE_BYTES {
        return Err(SnsError::too_long());
    }
    let subject = params.get("Subject").map(String::as_str).unwrap_or_default();
    if subject.chars().count() >= 100 || subject.chars().any(|c| c.is_control() || !c.is_ascii()) {
        return Err(SnsError::invalid("Invalid parameter: Subject"));
    }
    gateway.outbox.publish(topic, subject, message);
    gateway.sns.queue_event(topic, message);
    Ok(format!("<MessageId>{}</MessageId>", uuid::Uuid::new_v4()))
}

/// Hands the application events queued by the action to the functions subscribed to their
/// topic: each an asynchronous invocation, counted and retried as the Lambda API's `Event`
/// ones are. Every subscriber gets the same notification (message id and time), as from SNS.
fn notify_subscribers(gateway: &Arc<Gateway>) {
    for (topic, message) in gateway.sns.take_events() {
        let subscribers = gateway.template.topic_subscriptions.iter().filter(|s| topic_arn(&s.topic) == topic);
        let (message_id, now) = (uuid::Uuid::new_v4().to_string(), time::OffsetDateTime::now_utc());
        let mut notified = 0;
        // A subscriber is a function of the template, and the gateway has every one of those.
        for subscription in subscribers {
            let function = subscription.function.clone();
            let event = events::lambda_event(&topic, &function, &message_id, &message, now);
            gateway.invocations.count(&function, |s| s.queued += 1);
            tokio::spawn(crate::lambda_api::run_event(gateway.clone(), function, event));
            notified += 1;
        }
        if notified == 0 {
            tracing::debug!(%topic, "SNS: no subscription to the topic; the event is dropped");
        }
    }
}

fn json_response(status: StatusCode, body: String) -> Response {
    (status, [("content-type", "application/json")], body).into_response()
}

/// `GET /_local/push?token=TOKEN`: what the local platforms delivered to a token, oldest first
/// (`[{"platform","token","payload","at"}]`), for tests and the developer. This machine only.
pub async fn recorded(
    State(gateway): State<Arc<Gateway>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    Query(query): Query<HashMap<String, String>>,
) -> Response {
    if !peer.ip().is_loopback() {
        let body = json!({ "message": "the recorded pushes are for this machine only" }).to_string();
        return json_response(StatusCode::FORBIDDEN, body);
    }
    let Some(token) = query.get("token").filter(|t| !t.is_empty()) else {
        let body = json!({ "message": "the query needs a token: /_local/push?token=TOKEN" }).to_string();
        return json_response(StatusCode::BAD_REQUEST, body);
    };
    let deliveries = gateway.sns.deliveries_to(token);
    json_response(StatusCode::OK, serde_json::to_string(&deliveries).unwrap_or_else(|_| "[]".into()))
}
