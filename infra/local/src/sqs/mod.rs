//! Amazon SQS, as the functions use it: the JSON API (`awsJson1_0`, `x-amz-target:
//! AmazonSQS.{Operation}`, `POST /`) for `SendMessage` and `SendMessageBatch` to the template's
//! queues, and Lambda's SQS event source mapping that delivers their messages to a function.
//! As on AWS:
//! - only signed calls are answered (SigV4 with the stack's keys, scope `sqs`), from this machine;
//! - a message is at most 256 KiB of the characters XML allows, a batch at most 10 entries with
//!   distinct ids and 256 KiB in all; `DelaySeconds` is 0 to 900 (the queue's own by default);
//! - errors are SQS's JSON errors, with the `x-amzn-query-error` header the SDK matches its error
//!   types by (`QueueDoesNotExist` is `AWS.SimpleQueueService.NonExistentQueue`);
//! - the mapping takes up to `BatchSize` visible messages, hides them for the queue's visibility
//!   timeout and invokes the function with Lambda's SQS event. A successful invocation deletes
//!   them, except those its `batchItemFailures` names (with `ReportBatchItemFailures`); a failed
//!   one deletes none. What is not deleted is received again once its visibility timeout ends,
//!   and a message already received `maxReceiveCount` times goes to the dead-letter queue
//!   instead (on the receive after the last allowed one, as SQS moves it). Messages older than
//!   the queue's retention period are dropped.
//!
//! Scaled for a laptop: a visibility timeout lasts at most [`LOCAL_MAX_VISIBILITY`] (AWS's
//! minutes would make every retry a wait), and a message is not received again while the
//! invocation that received it runs (on AWS the template's check that `Timeout` is within the
//! visibility timeout ensures it). `DelaySeconds` and retention are not scaled: they are the
//! sender's and the template's own.
//!
//! Not emulated: the other operations (`ReceiveMessage` and `DeleteMessage` for clients,
//! queue management), FIFO queues, message attributes (refused rather than lost), the
//! mapping's batching window, filters and scaling (one batch at a time per mapping), and
//! `MaximumMessageSize` other than the 256 KiB default.
//!
//! This module holds the HTTP handlers (`POST /` and a queue's URL) and the mappings' pollers;
//! the queues' state machine is in `queues`, SQS's errors and input checks in `checks`, the
//! body's digest in `md5`.

mod checks;
mod md5;
pub(crate) mod queues;

pub use checks::{SqsError, MAX_BATCH_ENTRIES, MAX_DELAY_SECS, MAX_MESSAGE_BYTES};
pub use md5::md5_hex;
pub use queues::{failed_items, queue_url, Received, Sqs, LOCAL_MAX_VISIBILITY};

use crate::gateway::Gateway;
use crate::template::{queue_arn, QueueMapping};
use axum::body::Bytes;
use axum::extract::{ConnectInfo, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use serde_json::{json, Value};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};
use tokio::task::JoinHandle;

/// How often a mapping looks for visible messages (Lambda long-polls; this is as prompt).
const POLL_EVERY: Duration = Duration::from_millis(100);
/// The content type of SQS's JSON protocol.
const JSON: &str = "application/x-amz-json-1.0";

/// Starts Lambda's event source mappings of the template's queues: one poller per mapping.
pub fn start_pollers(gateway: Arc<Gateway>) -> Vec<JoinHandle<()>> {
    let mappings = gateway.template.queue_mappings.clone();
    mappings.into_iter().map(|mapping| tokio::spawn(poll(gateway.clone(), mapping))).collect()
}

/// A mapping's poller: takes a batch when there are visible messages, and delivers it.
async fn poll(gateway: Arc<Gateway>, mapping: QueueMapping) {
    let arn = queue_arn(&mapping.queue);
    let mut tick = tokio::time::interval(POLL_EVERY);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        let batch = gateway.sqs.take_batch(&mapping.queue, mapping.batch_size, Instant::now());
        if !batch.is_empty() {
            deliver(&gateway, &mapping, &arn, batch).await;
        }
    }
}

/// Invokes the function with a batch, then deletes what it handled. Counted in the gateway's
/// invocations: a run per batch, succeeded or failed.
async fn deliver(gateway: &Gateway, mapping: &QueueMapping, arn: &str, batch: Vec<Received>) {
    let binary = &mapping.function;
    let event = json!({ "Records": batch.iter().map(|message| message.record(arn)).collect::<Vec<_>>() });
    gateway.invocations.count(binary, |s| s.runs += 1);
    let all = || batch.iter().map(|message| message.message_id.clone()).collect::<Vec<_>>();
    let answer = gateway.call(binary, event).await;
    let outcome = if answer.is_ok() { "succeeded" } else { "failed" };
    gateway.invocations.count(binary, |s| if answer.is_ok() { s.succeeded += 1 } else { s.failed_runs += 1 });
    let failed = match answer {
        Err(_) => all(),
        // Without `ReportBatchItemFailures` the answer is not read: success deletes the batch.
        Ok(_) if !mapping.report_failures => vec![],
        Ok(answer) => failed_items(&answer, &batch).unwrap_or_else(|reason| {
            tracing::warn!(function = %binary, %reason, "SQS: the batch response fails the whole batch");
            all()
        }),
    };
    let failed_count = failed.len();
    let queue = &mapping.queue;
    tracing::debug!(function = %binary, %queue, outcome, failed = failed_count, "SQS: delivered a batch");
    gateway.sqs.settle(&mapping.queue, &batch, &failed);
}

fn error_response(error: &SqsError, request_id: &str) -> Response {
    let body = json!({ "__type": error.kind, "message": error.message }).to_string();
    let mut response = (error.status, [("content-type", JSON), ("x-amzn-requestid", request_id)], body).into_response();
    if let Some(code) = error.code {
        if let Ok(value) = HeaderValue::from_str(&format!("{code};Sender")) {
            response.headers_mut().insert("x-amzn-query-error", value);
        }
    }
    response
}

/// Whether a request is for SQS: its `x-amz-target` is `AmazonSQS.{Operation}`.
fn is_sqs(headers: &HeaderMap) -> bool {
    let target = headers.get("x-amz-target").and_then(|v| v.to_str().ok());
    target.is_some_and(|target| target.starts_with("AmazonSQS."))
}

/// `POST /`, the root both SNS (awsQuery: a form with its `Action`) and SQS (JSON with an
/// `x-amz-target`) are called at: each request to its service.
pub async fn aws_root(
    gateway: State<Arc<Gateway>>,
    peer: ConnectInfo<SocketAddr>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    if is_sqs(&headers) {
        handle(gateway, peer, method, uri, headers, body).await
    } else {
        crate::sns::handle(gateway, peer, method, uri, headers, body).await
    }
}

/// The SQS API, for the functions on this machine: `POST /` (where the SDK calls it) and
/// `POST /000000000000/{queue}` (a queue's URL, where older clients call it).
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
        return error_response(&SqsError::access_denied("the SQS API answers the functions only"), &request_id);
    }
    let scope = (gateway.clients.config.region.as_str(), "sqs");
    if let Err(refused) = crate::sigv4::verify(&method, &uri, &headers, &body, &gateway.keys, scope, SystemTime::now())
    {
        tracing::warn!(kind = refused.kind, "SQS API: refused an unsigned or wrongly signed call");
        // Refused before SQS sees it: the service framework's error, without a query code.
        let kind = match refused.kind {
            "MissingAuthenticationTokenException" => "com.amazon.coral.service#MissingAuthenticationTokenException",
            "UnrecognizedClientException" => "com.amazon.coral.service#UnrecognizedClientException",
            "IncompleteSignatureException" => "com.amazon.coral.service#IncompleteSignatureException",
            _ => "com.amazon.coral.service#InvalidSignatureException",
        };
        let error = SqsError { status: StatusCode::FORBIDDEN, kind, code: None, message: refused.message };
        return error_response(&error, &request_id);
    }
    let target = headers.get("x-amz-target").and_then(|v| v.to_str().ok()).unwrap_or_default();
    let Some(operation) = target.strip_prefix("AmazonSQS.") else {
        let kind = "com.amazon.coral.service#UnknownOperationException";
        let error = SqsError { status: StatusCode::BAD_REQUEST, kind, code: None, message: String::new() };
        return error_response(&error, &request_id);
    };
    let input = if body.is_empty() { Ok(json!({})) } else { serde_json::from_slice::<Value>(&body) };
    let result = match input {
        Ok(input) if input.is_object() => gateway.sqs.act(operation, &input, Instant::now()),
        Ok(_) => Err(SqsError::not_json("the request body must be a JSON object")),
        Err(err) => Err(SqsError::not_json(err.to_string())),
    };
    match result {
        Ok(output) => {
            let headers = [("content-type", JSON), ("x-amzn-requestid", request_id.as_str())];
            (StatusCode::OK, headers, output.to_string()).into_response()
        }
        Err(error) => {
            tracing::debug!(%operation, kind = error.kind, message = %error.message, "SQS API: refused");
            error_response(&error, &request_id)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_answer_sqss_json_with_the_query_code() {
        let response = error_response(&SqsError::queue_does_not_exist(), "r-1");
        assert_eq!(response.status(), StatusCode::BAD_REQUEST);
        let header = |name: &str| response.headers().get(name).and_then(|v| v.to_str().ok()).map(String::from);
        assert_eq!(header("x-amzn-query-error").as_deref(), Some("AWS.SimpleQueueService.NonExistentQueue;Sender"));
        assert_eq!(header("content-type").as_deref(), Some(JSON));
        assert_eq!(header("x-amzn-requestid").as_deref(), Some("r-1"));
        let no_code = error_response(&SqsError::not_json("bad"), "r-2");
        assert!(no_code.headers().get("x-amzn-query-error").is_none());
        let target = |value: &'static str| -> HeaderMap {
            [("x-amz-target", value)].iter().map(|(n, v)| (n.parse().unwrap(), v.parse().unwrap())).collect()
        };
        assert!(is_sqs(&target("AmazonSQS.SendMessage")));
        assert!(!is_sqs(&target("AmazonSNS.Publish")));
        assert!(!is_sqs(&HeaderMap::new()));
    }
}
