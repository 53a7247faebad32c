//! The Lambda API's `Invoke` (`POST /2015-03-31/functions/{name}/invocations`), for the calls
//! the functions make themselves: the fan-out hand-off. As Lambda does it:
//! - `Event`: the event is queued and answered `202` at once, then run in the background. A
//!   failed run (an error, a panic, the function's `Timeout`) is tried again after 1 s, then
//!   2 s (AWS waits about one and two minutes), `EventInvokeConfig.MaximumRetryAttempts` times
//!   (AWS's default 2), then dropped with an error log (AWS: to the on-failure destination).
//!   A payload over 256 KB is refused (`413`; 6 MB for the others). At most [`RUNS_AT_ONCE`]
//!   events run at once; the others wait their turn in the queue;
//! - `RequestResponse` (the default): runs and answers the result, or `X-Amz-Function-Error`;
//! - `DryRun`: `204`.
//!
//! As on AWS, only signed calls run anything: SigV4 with the stack's keys (the ones its
//! functions sign with), checked before the body is read. Only this machine may call it, like
//! `@connections`, and never a web page (`callers`: no `Origin`, the stack's own `Host`).

use crate::gateway::{Gateway, MAX_LAMBDA_PAYLOAD_BYTES};
use axum::body::Bytes;
use axum::extract::{ConnectInfo, Path, State};
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use serde_json::{json, Value};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

/// The gateway counts the invocations; they keep the path the tests know them by.
pub use crate::gateway::{AsyncStats, Invocations, RUNS_AT_ONCE};

/// Lambda's limit on an asynchronous invocation's payload.
pub const MAX_EVENT_BYTES: usize = 256 * 1024;

/// The waits before the retries of a failed asynchronous run, scaled from AWS's minutes.
const RETRY_DELAYS: [Duration; 2] = [Duration::from_secs(1), Duration::from_secs(2)];

/// An error in the Lambda API's shape (`x-amzn-errortype` and a JSON message).
fn error(status: StatusCode, kind: &'static str, message: String) -> Response {
    let body = json!({ "Type": "User", "message": message }).to_string();
    (status, [("x-amzn-errortype", kind), ("content-type", "application/json")], body).into_response()
}

/// `FUNCTION`, `FUNCTION:QUALIFIER` or an ARN: the function's name.
fn function_name(raw: &str) -> &str {
    let name = raw.rsplit_once(":function:").map_or(raw, |(_, rest)| rest);
    name.split(':').next().unwrap_or(name)
}

/// `POST /2015-03-31/functions/{name}/invocations`.
pub async fn invoke(
    State(gateway): State<Arc<Gateway>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    Path(name): Path<String>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    if !peer.ip().is_loopback() {
        return error(
            StatusCode::FORBIDDEN,
            "AccessDeniedException",
            "the Lambda API answers the functions only".into(),
        );
    }
    let scope = (gateway.clients.config.region.as_str(), "lambda");
    let now = std::time::SystemTime::now();
    if let Err(refused) = crate::sigv4::verify(&method, &uri, &headers, &body, &gateway.keys, scope, now) {
        tracing::warn!(function = %name, kind = refused.kind, "Lambda API: refused an unsigned or wrongly signed call");
        let body = json!({ "message": refused.message }).to_string();
        return (
            StatusCode::FORBIDDEN,
            [("x-amzn-errortype", refused.kind), ("content-type", "application/json")],
            body,
        )
            .into_response();
    }
    let Some(binary) = gateway.template.function_names.get(function_name(&name)).cloned() else {
        return error(StatusCode::NOT_FOUND, "ResourceNotFoundException", format!("Function not found: {name}"));
    };
    let kind = headers.get("x-amz-invocation-type").and_then(|v| v.to_str().ok()).unwrap_or("RequestResponse");
    let limit = if kind == "Event" { MAX_EVENT_BYTES } else { MAX_LAMBDA_PAYLOAD_BYTES };
    if body.len() > limit {
        let message = format!("{} bytes is more than the {limit} this invocation may carry", body.len());
        return error(StatusCode::PAYLOAD_TOO_LARGE, "RequestEntityTooLargeException", message);
    }
    let payload: Value = if body.is_empty() {
        json!({})
    } else {
        match serde_json::from_slice(&body) {
            Ok(payload) => payload,
            Err(err) => {
                let message = format!("Could not parse request body into json: {err}");
                return error(StatusCode::BAD_REQUEST, "InvalidRequestContentException", message);
            }
        }
    };
    match kind {
        "Event" => {
            gateway.invocations.count(&binary, |s| s.queued += 1);
            tokio::spawn(run_event(gateway.clone(), binary, payload));
            StatusCode::ACCEPTED.into_response()
        }
        "DryRun" => StatusCode::NO_CONTENT.into_response(),
        _ => match gateway.call(&binary, payload).await {
            Ok(answer) => (StatusCode::OK, [("x-amz-executed-version", "$LATEST")], answer.to_string()).into_response(),
            Err(_) => {
                let body = json!({ "errorMessage": "the function failed", "errorType": "Unhandled" }).to_string();
                (StatusCode::OK, [("x-amz-function-error", "Unhandled")], body).into_response()
            }
        },
    }
}

/// Runs a queued event, with Lambda's retries: the Lambda API's `Event` invocations, and SNS's
/// of the functions subscribed to a topic (`crate::sns`). The caller counts it `queued`.
pub(crate) async fn run_event(gateway: Arc<Gateway>, binary: String, payload: Value) {
    let retries = gateway.template.async_retries.get(&binary).copied().unwrap_or(2) as usize;
    for attempt in 0..=retries {
        if attempt > 0 {
            tokio::time::sleep(RETRY_DELAYS[(attempt - 1).min(RETRY_DELAYS.len() - 1)]).await;
        }
        let Some(_turn) = gateway.invocations.turn().await else { return };
        gateway.invocations.count(&binary, |s| s.runs += 1);
        if gateway.call(&binary, payload.clone()).await.is_ok() {
            gateway.invocations.count(&binary, |s| s.succeeded += 1);
            return;
        }
        gateway.invocations.count(&binary, |s| s.failed_runs += 1);
    }
    gateway.invocations.count(&binary, |s| s.dropped += 1);
    tracing::error!(function = %binary, retries, "asynchronous invocation dropped after its retries");
}

#[cfg(test)]
mod tests {
    use super::function_name;

    #[test]
    fn a_function_is_named_by_name_qualified_name_or_arn() {
        assert_eq!(function_name("local-fan-out"), "local-fan-out");
        assert_eq!(function_name("local-fan-out:$LATEST"), "local-fan-out");
        assert_eq!(function_name("arn:aws:lambda:us-east-1:000000000000:function:local-fan-out"), "local-fan-out");
        assert_eq!(function_name("arn:aws:lambda:us-east-1:000000000000:function:local-fan-out:7"), "local-fan-out");
    }
}
