//! The HTTP API's Lambda authorizer (payload 2.0, simple responses).
//!
//! It resolves the token once per request and hands the caller to the route in the
//! authorizer context. It does not deny: HTTP APIs answer a deny with a fixed
//! `403 {"message":"Forbidden"}`, while the seeds want `401` with a reason in the route's own
//! format (TOML `status = 1`). So a missing or bad token yields `auth_error` in the context and
//! each route that needs a caller answers 401 itself (see `Ctx::caller`). Routes that need no
//! caller (`/health`, sign-up, login) are declared without the authorizer in `template.yaml`.

use crate::domain::refusal::{Error, Result};
use crate::service::auth;
use im_adapters::Clients;
use lambda_http::aws_lambda_events::apigw::{
    ApiGatewayV2CustomAuthorizerSimpleResponse as Answer, ApiGatewayV2CustomAuthorizerV2Request as Event,
};
use serde_json::{json, Value};

pub async fn authorize(clients: &Clients, event: Event) -> Result<Answer<Value>> {
    let header = |name: &str| event.headers.get(name).and_then(|v| v.to_str().ok());
    let cookies: Vec<&str> = match event.cookies.is_empty() {
        false => event.cookies.iter().map(String::as_str).collect(),
        true => header("cookie").into_iter().collect(),
    };
    let context = match auth::find_token(header("authorization"), cookies, None) {
        None => json!({ "auth_error": "login required: send the token as a cookie or a Bearer header" }),
        Some(token) => match auth::resolve(clients, token).await {
            Ok(caller) => {
                json!({ "user_id": caller.user_id, "device": caller.device.as_str(), "tag": caller.tag, "session": caller.session })
            }
            Err(Error::Refused(refusal)) => json!({ "auth_error": refusal.to_string() }),
            // The route answers 503 in its own format (API Gateway would answer a failed
            // authorizer with a bare 500).
            Err(Error::Unavailable(cause)) => {
                tracing::warn!(%cause, "sessions unavailable");
                json!({ "unavailable": true, "auth_error": "service unavailable, try again" })
            }
            Err(internal) => return Err(internal),
        },
    };
    let mut answer = Answer::default();
    answer.is_authorized = true;
    answer.context = context;
    Ok(answer)
}
