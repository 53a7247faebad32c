//! The backend's functions: one Lambda per REST route and per WebSocket route, all built from
//! this library. A binary in `src/bin/` only names its function; [`lambda_main`] runs it on the
//! Lambda Runtime API, and the local stack calls the very same [`invoke`] in-process.

pub mod api;
pub mod audio;
pub mod authorizer;
pub mod contacts;
pub mod db;
pub mod domain;
pub mod feed;
pub mod frames;
pub mod friends;
pub mod groups;
pub mod messages;
pub mod push;
pub mod realtime;
pub mod relations;
pub mod sessions;
pub mod users;

use api::{ApiError, ApiResult, Format};
use im_adapters::Clients;
use lambda_http::request::LambdaRequest;
use lambda_http::{Body, Request, RequestExt, Response, Service};
use lambda_runtime::{service_fn, Context, LambdaEvent};
use serde_json::Value;
use sessions::Caller;
use std::convert::Infallible;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

pub use lambda_runtime::Error;

type BoxFuture<T> = Pin<Box<dyn Future<Output = T> + Send>>;

/// How a function is driven.
#[derive(Clone, Copy)]
pub enum Function {
    /// HTTP API payload 2.0 events, through `lambda_http`.
    Http(fn(Arc<Clients>, Request) -> BoxFuture<Response<Body>>),
    /// WebSocket API events, through `lambda_http` too. Kept apart because a WebSocket event
    /// also parses as a (sparse) payload 2.0 event, which would lose its connection id.
    Socket(fn(Arc<Clients>, Request) -> BoxFuture<Response<Body>>),
    /// The HTTP API's Lambda authorizer: raw payload 2.0 authorizer event in, simple response out.
    Authorizer(fn(Arc<Clients>, Value) -> BoxFuture<Result<Value, ApiError>>),
}

/// What a route handler sees: the shared clients and who is calling.
pub struct Ctx {
    pub clients: Arc<Clients>,
    /// The caller the authorizer resolved, or why it could not.
    caller: Result<Caller, String>,
    /// The raw token of the request, for logout.
    pub token: Option<String>,
}

impl Ctx {
    fn new(clients: Arc<Clients>, req: &Request) -> Ctx {
        let context = req.request_context_ref().and_then(|c| c.authorizer()).map(|a| &a.fields);
        let caller = match context {
            Some(fields) => match (fields.get("user_id").and_then(Value::as_u64), fields.get("device")) {
                (Some(user_id), Some(Value::String(device))) => Ok(Caller { user_id, device: device.clone() }),
                _ => Err(fields.get("auth_error").and_then(Value::as_str).unwrap_or("login required").to_string()),
            },
            None => Err("login required".to_string()),
        };
        let header = |name: http::HeaderName| req.headers().get_all(name).iter().filter_map(|v| v.to_str().ok());
        let token =
            sessions::find_token(header(http::header::AUTHORIZATION).next(), header(http::header::COOKIE), None)
                .map(str::to_string);
        Ctx { clients, caller, token }
    }

    /// The authenticated caller, or 401 with the reason the token was refused.
    pub fn caller(&self) -> ApiResult<&Caller> {
        self.caller.as_ref().map_err(|reason| ApiError::unauthorized(reason.clone()))
    }
}

/// A REST route: runs the handler and renders its result in the negotiated format.
macro_rules! rest {
    ($handler:path, $format:ident) => {
        Function::Http(|clients, req| {
            Box::pin(async move {
                let format = Format::negotiate(&req, Format::$format);
                let ctx = Ctx::new(clients, &req);
                api::respond(format, $handler(&ctx, &req).await)
            })
        })
    };
}

/// A WebSocket route: the handler answers with the frame (or status) API Gateway expects.
macro_rules! socket {
    ($handler:path) => {
        Function::Socket(|clients, req| Box::pin(async move { $handler(&clients, &req).await }))
    };
}

/// The HTTP API's authorizer: a raw payload 2.0 event in, a simple response out.
macro_rules! authorizer {
    ($handler:path) => {
        Function::Authorizer(|clients, event| Box::pin(async move { $handler(&clients, event).await }))
    };
}

/// Declares every function once: a constructor per function in [`by_name`] (so each binary
/// links only its own handler and LTO drops the rest), and [`function`] to find one by its
/// binary's name (what the local stack and `Metadata.BuildProperties.Binary` use).
macro_rules! functions {
    ($($name:ident => $function:expr,)*) => {
        /// One constructor per function, named like its binary.
        pub mod by_name {
            use super::*;
            $(pub fn $name() -> Function { $function })*
        }

        /// Every function, by the name of its binary.
        pub fn function(name: &str) -> Option<Function> {
            match name {
                $(stringify!($name) => Some(by_name::$name()),)*
                _ => None,
            }
        }
    };
}

functions! {
    health => rest!(users::health, Toml),
    create_user => rest!(users::create_user, Toml),
    login => rest!(users::login, Toml),
    logout => rest!(users::logout, Toml),
    get_user_by_id => rest!(users::get_user_by_id, Toml),
    get_user_by_phone => rest!(users::get_user_by_phone, Toml),
    get_offline => rest!(feed::get_offline, Toml),
    delete_offline => rest!(feed::delete_offline, Toml),
    add_contact => rest!(contacts::add_contact, Toml),
    accept_contact => rest!(contacts::accept_contact, Toml),
    delete_contact => rest!(contacts::delete_contact, Toml),
    get_contacts_since => rest!(contacts::contacts_since, Toml),
    request_friend => rest!(friends::request, Json),
    accept_friend => rest!(friends::accept, Json),
    ignore_friend => rest!(friends::ignore, Json),
    withdraw_friend => rest!(friends::withdraw, Json),
    delete_friend => rest!(friends::unfriend, Json),
    list_friends => rest!(friends::list_friends, Json),
    list_friend_requests => rest!(friends::list_requests_received, Json),
    list_sent_friend_requests => rest!(friends::list_requests_sent, Json),
    follow => rest!(friends::follow, Json),
    list_followers => rest!(friends::list_followers, Json),
    list_followees => rest!(friends::list_followees, Json),
    unfollow => rest!(friends::unfollow, Json),
    block => rest!(friends::block, Json),
    list_blocks => rest!(friends::list_blocks, Json),
    unblock => rest!(friends::unblock, Json),
    create_group => rest!(groups::create_group, Toml),
    delete_group => rest!(groups::delete_group, Toml),
    join_group => rest!(groups::join_group, Toml),
    add_group_member => rest!(groups::add_group_member, Toml),
    leave_group => rest!(groups::leave_group, Toml),
    list_groups => rest!(groups::list_groups, Toml),
    list_group_members => rest!(groups::list_members, Toml),
    send_message => rest!(messages::send_route, Toml),
    get_message_history => rest!(messages::history_route, Toml),
    send_audio => rest!(audio::send_audio, Toml),
    send_group_audio => rest!(audio::send_group_audio, Toml),
    presign_audio_upload => rest!(audio::presign_upload, Toml),
    authorize => authorizer!(authorizer::authorize),
    ws_connect => socket!(realtime::connect),
    ws_disconnect => socket!(realtime::disconnect),
    ws_default => socket!(realtime::default_route),
}

/// Runs one event through a function: the same path on Lambda and in the local stack.
/// HTTP events go through `lambda_http`'s own adapter, so request and response conversion
/// (base64 bodies, cookies, headers) is exactly what the deployed function does.
pub async fn invoke(
    clients: Arc<Clients>,
    function: Function,
    payload: Value,
    context: Context,
) -> Result<Value, Error> {
    match function {
        Function::Http(handler) | Function::Socket(handler) => {
            let request = match function {
                Function::Socket(_) => LambdaRequest::WebSocket(serde_json::from_value(payload)?),
                _ => serde_json::from_value(payload)?,
            };
            let service = service_fn(move |req: Request| {
                let clients = clients.clone();
                async move { Ok::<_, Infallible>(handler(clients, req).await) }
            });
            let mut adapter = lambda_http::Adapter::from(service);
            let response = adapter.call(LambdaEvent::new(request, context)).await?;
            Ok(serde_json::to_value(response)?)
        }
        Function::Authorizer(handler) => match handler(clients, payload).await {
            Ok(answer) => Ok(answer),
            Err(err) => Err(err.into()),
        },
    }
}

/// The `main` of every Lambda binary: clients are built once per cold start, then each
/// invocation is served by [`invoke`].
pub async fn lambda_main(function: Function) -> Result<(), Error> {
    lambda_http::tracing::init_default_subscriber();
    let clients = Arc::new(Clients::from_env()?);
    lambda_runtime::run(service_fn(move |event: LambdaEvent<Value>| {
        invoke(clients.clone(), function, event.payload, event.context)
    }))
    .await
}
