//! The backend's functions: one Lambda per REST route and per WebSocket route, all built from
//! this library. A binary in `src/bin/` only names its function; [`lambda_main`] runs it on the
//! Lambda Runtime API, and the local stack calls the very same [`invoke`] in-process.

pub mod delivery;
pub mod domain;
pub mod http;
pub mod service;
pub mod store;
pub mod ws;

use crate::http::Ctx;
use domain::format::Format;
use im_adapters::Clients;
use lambda_http::request::LambdaRequest;
use lambda_http::{Body, Request, Response, Service};
use lambda_runtime::{service_fn, Context, LambdaEvent};
use serde_json::Value;
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
    /// The HTTP API's Lambda authorizer: payload 2.0 authorizer event in, simple response out.
    Authorizer(fn(Arc<Clients>, Value) -> BoxFuture<Result<Value, Error>>),
    /// An event Lambda hands over as it came (an asynchronous invocation): JSON in and out.
    Event(fn(Arc<Clients>, Value) -> BoxFuture<Result<Value, Error>>),
}

/// A REST route: refuses a route's missing session in one place, runs the handler, and renders
/// its result in the negotiated format.
macro_rules! rest {
    ($handler:path, $format:ident) => {
        Function::Http(|clients, req| {
            Box::pin(async move {
                let format = http::negotiate(&req, Format::$format);
                let ctx = Ctx::new(clients, &req);
                let result = match ctx.unauthenticated() {
                    Some(refused) => Err(refused),
                    None => $handler(&ctx, &req).await,
                };
                http::respond(format, result)
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

/// The HTTP API's authorizer: the payload 2.0 authorizer event in, a simple response out.
macro_rules! authorizer {
    ($handler:path) => {
        Function::Authorizer(|clients, event| {
            Box::pin(async move {
                let answer = $handler(&clients, serde_json::from_value(event)?).await?;
                Ok(serde_json::to_value(answer)?)
            })
        })
    };
}

/// An asynchronously invoked function: its error fails the run, and Lambda retries the event.
macro_rules! event {
    ($handler:path) => {
        Function::Event(|clients, payload| Box::pin(async move { Ok($handler(&*clients, payload).await?) }))
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
    health => rest!(http::users::health, Toml),
    create_user => rest!(http::users::create_user, Toml),
    login => rest!(http::users::login, Toml),
    logout => rest!(http::users::logout, Toml),
    list_sessions => rest!(http::users::list_sessions, Json),
    list_conversations => rest!(http::inbox::list_conversations, Json),
    update_user => rest!(http::profile::update_user, Toml),
    put_avatar => rest!(http::profile::put_avatar, Toml),
    get_avatar => rest!(http::profile::get_avatar, Json),
    report => rest!(http::reports::report, Json),
    request_password_reset => rest!(http::reset::request_password_reset, Toml),
    confirm_password_reset => rest!(http::reset::confirm_password_reset, Toml),
    delete_session => rest!(http::users::delete_session, Json),
    change_password => rest!(http::users::change_password, Toml),
    delete_user => rest!(http::account::delete_user, Json),
    export_user => rest!(http::account::export_user, Json),
    create_ws_ticket => rest!(http::users::create_ws_ticket, Toml),
    reconnect => rest!(http::users::reconnect, Toml),
    report_failed_server => rest!(http::users::report_failed_server, Toml),
    get_user_by_id => rest!(http::users::get_user_by_id, Toml),
    get_user_by_phone => rest!(http::users::get_user_by_phone, Toml),
    get_offline => rest!(http::offline::get_offline, Toml),
    delete_offline => rest!(http::offline::delete_offline, Toml),
    add_contact => rest!(http::contacts::add_contact, Toml),
    accept_contact => rest!(http::contacts::accept_contact, Toml),
    delete_contact => rest!(http::contacts::delete_contact, Toml),
    get_contacts_since => rest!(http::contacts::get_contacts_since, Toml),
    request_friend => rest!(http::friends::request_friend, Json),
    accept_friend => rest!(http::friends::accept_friend, Json),
    ignore_friend => rest!(http::friends::ignore_friend, Json),
    withdraw_friend => rest!(http::friends::withdraw_friend, Json),
    delete_friend => rest!(http::friends::delete_friend, Json),
    list_friends => rest!(http::friends::list_friends, Json),
    list_friend_requests => rest!(http::friends::list_friend_requests, Json),
    list_sent_friend_requests => rest!(http::friends::list_sent_friend_requests, Json),
    follow => rest!(http::friends::follow, Json),
    list_followers => rest!(http::friends::list_followers, Json),
    list_followees => rest!(http::friends::list_followees, Json),
    unfollow => rest!(http::friends::unfollow, Json),
    block => rest!(http::friends::block, Json),
    list_blocks => rest!(http::friends::list_blocks, Json),
    put_device_push => rest!(http::push::put_device_push, Json),
    delete_device_push => rest!(http::push::delete_device_push, Json),
    list_device_push => rest!(http::push::list_device_push, Json),
    get_user_settings => rest!(http::push::get_user_settings, Json),
    put_user_settings => rest!(http::push::put_user_settings, Json),
    put_mute => rest!(http::push::put_mute, Json),
    list_mutes => rest!(http::push::list_mutes, Json),
    unblock => rest!(http::friends::unblock, Json),
    create_group => rest!(http::groups::create_group, Toml),
    delete_group => rest!(http::groups::delete_group, Toml),
    join_group => rest!(http::groups::join_group, Toml),
    add_group_member => rest!(http::groups::add_group_member, Toml),
    leave_group => rest!(http::groups::leave_group, Toml),
    remove_group_member => rest!(http::groups::remove_group_member, Toml),
    rotate_group_key => rest!(http::groups::rotate_group_key, Toml),
    list_groups => rest!(http::groups::list_groups, Toml),
    list_group_members => rest!(http::groups::list_group_members, Toml),
    send_message => rest!(http::messages::send_message, Toml),
    get_message_history => rest!(http::messages::get_message_history, Toml),
    post_message_read => rest!(http::messages::post_message_read, Json),
    edit_message => rest!(http::messages::edit_message, Json),
    delete_message => rest!(http::messages::delete_message, Json),
    react_message => rest!(http::messages::react_message, Json),
    get_message_receipts => rest!(http::messages::get_message_receipts, Json),
    send_audio => rest!(http::audio::send_audio, Toml),
    send_group_audio => rest!(http::audio::send_group_audio, Toml),
    presign_audio_upload => rest!(http::audio::presign_audio_upload, Toml),
    get_audio => rest!(http::audio::get_audio, Toml),
    presign_media_upload => rest!(http::media::presign_media_upload, Json),
    send_image => rest!(http::media::send_image, Toml),
    send_group_image => rest!(http::media::send_group_image, Toml),
    send_video => rest!(http::media::send_video, Toml),
    send_group_video => rest!(http::media::send_group_video, Toml),
    get_image => rest!(http::media::get_image, Json),
    get_video => rest!(http::media::get_video, Json),
    get_media => rest!(http::media::get_media, Json),
    authorize => authorizer!(http::authorizer::authorize),
    ws_connect => socket!(ws::connect),
    ws_disconnect => socket!(ws::disconnect),
    ws_default => socket!(ws::default_route),
    fan_out => event!(delivery::fan_out::run),
    push => event!(delivery::push::run),
    push_feedback => event!(delivery::feedback::run),
    thumbnail => event!(service::media::make_thumbnail),
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
    use tracing::Instrument;
    let span = invocation_span(&payload, &context);
    let started = std::time::Instant::now();
    let done = if matches!(function, Function::Authorizer(_)) { "authorized" } else { "answered" };
    // A sampled invocation (the template's `Tracing: Active`) traces its AWS calls.
    let trace = context.xray_trace_id.clone();
    let work = run(clients, function, payload, context).instrument(span.clone());
    let answer = im_adapters::xray::traced(trace.as_deref(), work).await;
    span.in_scope(|| match &answer {
        Ok(answer) => {
            tracing::info!(status = answer["statusCode"].as_u64(), ms = started.elapsed().as_millis() as u64, "{done}")
        }
        Err(err) => tracing::error!(error = %err, ms = started.elapsed().as_millis() as u64, "failed"),
    });
    answer
}

/// The span every line of one invocation is logged in: Lambda's request id (API Gateway's when
/// there is none, as on the local stack), the route, and the caller the authorizer resolved;
/// a WebSocket frame's kind and caller are recorded by the dispatcher once it knows them.
fn invocation_span(payload: &Value, context: &Context) -> tracing::Span {
    let request = &payload["requestContext"];
    let request_id = match context.request_id.as_str() {
        "" => request["requestId"].as_str().unwrap_or(""),
        id => id,
    };
    let route = request["routeKey"].as_str().unwrap_or("event");
    let span = tracing::info_span!(
        "invocation",
        requestId = request_id,
        route,
        connectionId = tracing::field::Empty,
        frame = tracing::field::Empty,
        caller = tracing::field::Empty
    );
    if let Some(caller) = request["authorizer"]["lambda"]["user_id"].as_u64() {
        span.record("caller", caller);
    }
    if let Some(cid) = request["connectionId"].as_str() {
        span.record("connectionId", cid);
    }
    span
}

async fn run(clients: Arc<Clients>, function: Function, payload: Value, context: Context) -> Result<Value, Error> {
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
        Function::Authorizer(handler) | Function::Event(handler) => handler(clients, payload).await,
    }
}

/// The `main` of every Lambda binary: clients are built once per cold start, then each
/// invocation is served by [`invoke`].
pub async fn lambda_main(function: Function) -> Result<(), Error> {
    im_adapters::logging::init_lambda();
    let clients = Arc::new(Clients::from_env()?);
    lambda_runtime::run(service_fn(move |event: LambdaEvent<Value>| {
        invoke(clients.clone(), function, event.payload, event.context)
    }))
    .await
}
