//! The HTTP API's Lambda authorizer (payload 2.0, simple responses).
//!
//! It resolves the token once per request and hands the caller to the route in the
//! authorizer context. It does not deny: HTTP APIs answer a deny with a fixed
//! `403 {"message":"Forbidden"}`, while the seeds want `401` with a reason in the route's own
//! format (TOML `status = 1`). So a missing or bad token yields `auth_error` in the context and
//! each route that needs a caller answers 401 itself (see `Ctx::caller`). Routes that need no
//! caller (`/health`, sign-up, login) are declared without the authorizer in `template.yaml`.

use crate::api::{ApiError, ApiResult};
use crate::sessions;
use im_adapters::Clients;
use serde_json::{json, Value};

pub async fn authorize(clients: &Clients, event: Value) -> ApiResult<Value> {
    let header = |name: &str| event["headers"][name].as_str();
    let cookies: Vec<&str> = match event["cookies"].as_array() {
        Some(list) => list.iter().filter_map(Value::as_str).collect(),
        None => header("cookie").into_iter().collect(),
    };
    let token = sessions::find_token(header("authorization"), cookies, None);
    let context = match token {
        None => json!({ "auth_error": "login required: send the token as a cookie or a Bearer header" }),
        Some(token) => match sessions::resolve(clients, token).await {
            Ok(caller) => json!({ "user_id": caller.user_id, "device": caller.device }),
            Err(ApiError::Client { reason, .. }) => json!({ "auth_error": reason }),
            Err(internal) => return Err(internal),
        },
    };
    Ok(json!({ "isAuthorized": true, "context": context }))
}
