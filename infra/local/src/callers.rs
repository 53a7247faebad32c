//! Who may call the stack's program-to-program endpoints (the Lambda API, `@connections`):
//! programs on this machine, never a web page. A page can reach loopback from the developer's
//! browser: a cross-site POST carries an `Origin`, and a DNS-rebound one names its own domain
//! as `Host`. Neither ever comes from the SDK, so both are refused.

use crate::gateway::Gateway;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use std::sync::Arc;

/// Why a request is not a program's on this machine, if it is not.
pub fn refusal(headers: &HeaderMap, port: u16) -> Option<String> {
    if headers.contains_key("origin") {
        return Some("a request with an Origin header comes from a web page".into());
    }
    let host = headers.get("host").and_then(|v| v.to_str().ok()).unwrap_or_default();
    let own = ["127.0.0.1", "localhost", "[::1]"].iter().any(|name| host == format!("{name}:{port}"));
    (!own).then(|| format!("Host '{host}' is not this stack's (127.0.0.1:{port} or localhost:{port})"))
}

/// Middleware: refuses (403, AWS's error shape) what [`refusal`] refuses.
pub async fn only_programs(State(gateway): State<Arc<Gateway>>, request: Request, next: Next) -> Response {
    match refusal(request.headers(), gateway.own_port) {
        Some(message) => {
            tracing::warn!(path = %request.uri().path(), "refused: {message}");
            let body = serde_json::json!({ "message": message }).to_string();
            (
                StatusCode::FORBIDDEN,
                [("x-amzn-errortype", "AccessDeniedException"), ("content-type", "application/json")],
                body,
            )
                .into_response()
        }
        None => next.run(request).await,
    }
}

#[cfg(test)]
mod tests {
    use super::refusal;
    use axum::http::HeaderMap;

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        pairs.iter().map(|(n, v)| (n.parse().unwrap(), v.parse().unwrap())).collect()
    }

    #[test]
    fn only_this_stacks_host_without_an_origin_is_a_program() {
        assert_eq!(refusal(&headers(&[("host", "127.0.0.1:3001")]), 3001), None);
        assert_eq!(refusal(&headers(&[("host", "localhost:3001")]), 3001), None);
        assert_eq!(refusal(&headers(&[("host", "[::1]:3001")]), 3001), None);
        assert!(refusal(&headers(&[("host", "127.0.0.1:3001"), ("origin", "null")]), 3001).is_some());
        assert!(refusal(&headers(&[("host", "rebound.example:3001")]), 3001).is_some());
        assert!(refusal(&headers(&[("host", "127.0.0.1:3000")]), 3001).is_some());
        assert!(refusal(&headers(&[("host", "127.0.0.1")]), 3001).is_some());
        assert!(refusal(&headers(&[]), 3001).is_some());
    }
}
