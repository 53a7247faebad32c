//! What runs a function as Lambda would, under its template policy, and the state the HTTP,
//! WebSocket and Lambda API emulators share: the template, the functions it names, the clients
//! they use, the authorizer cache, the live WebSocket connections, the asynchronous
//! invocations, and the SNS and SQS state. The emulators depend on this module, never the
//! other way.

use crate::contracts::Contracts;
use crate::iam::{Denials, Guard};
use crate::template::Template;
use axum::extract::ws::Message;
use im_adapters::{Clients, LocalKeys};
use im_functions::Function;
use serde_json::Value;
use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};
use tokio::sync::{mpsc, Semaphore, SemaphorePermit};

/// Lambda's payload limit for a synchronous invocation, request and response alike: an event
/// past it (a body near the gateway's 10 MB, base64-encoded) never reaches the function.
pub const MAX_LAMBDA_PAYLOAD_BYTES: usize = 6 * 1024 * 1024;

/// A function failed the way a Lambda fails (error or panic): API Gateway answers 500.
#[derive(Debug)]
pub struct LambdaFailure;

/// API Gateway's WebSocket limits; the defaults are AWS's, tests may shorten the timeouts.
#[derive(Clone, Debug)]
pub struct WsLimits {
    pub max_frame_bytes: usize,
    pub max_message_bytes: usize,
    pub idle_timeout: Duration,
    pub max_lifetime: Duration,
}

impl Default for WsLimits {
    fn default() -> Self {
        WsLimits {
            max_frame_bytes: 32 * 1024,
            max_message_bytes: 128 * 1024,
            idle_timeout: Duration::from_secs(10 * 60),
            max_lifetime: Duration::from_secs(2 * 3600),
        }
    }
}

/// A live WebSocket connection as the management API sees it.
pub(crate) struct Live {
    pub(crate) outbox: mpsc::UnboundedSender<Message>,
    pub(crate) connected_at: time::OffsetDateTime,
    pub(crate) last_active: Arc<Mutex<time::OffsetDateTime>>,
    pub(crate) source_ip: String,
    pub(crate) user_agent: String,
}

/// The live WebSocket connections, by connection id.
#[derive(Default)]
pub struct Connections(Mutex<HashMap<String, Live>>);

impl Connections {
    pub(crate) fn lock(&self) -> MutexGuard<'_, HashMap<String, Live>> {
        self.0.lock().unwrap_or_else(|e| e.into_inner())
    }
    /// How many connections are open (for the launcher's status line and the tests).
    pub fn count(&self) -> usize {
        self.lock().len()
    }
}

/// What the asynchronous invocations of one function came to.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct AsyncStats {
    /// Events accepted (`202`).
    pub queued: u64,
    /// Runs, retries included.
    pub runs: u64,
    /// Runs that failed (each retried while retries remain).
    pub failed_runs: u64,
    /// Events given up after their last retry.
    pub dropped: u64,
    /// Events whose run (first or retried) succeeded.
    pub succeeded: u64,
}

/// Queued events run at most this many at once: on AWS each runs in a sandbox of its own, up to
/// the account's concurrency; on a laptop's few cores a hundred at once would only starve each
/// other past their `Timeout`. The rest wait in the queue, as events do behind a concurrency limit.
pub const RUNS_AT_ONCE: usize = 4;

/// Synchronous invocations (API routes, WebSocket routes, authorizers) run at most this many at
/// once; the rest wait their turn, and a function's `Timeout` counts from its start. On AWS each
/// runs in a sandbox of its own, up to the account's concurrency (1000 by default); a hundred
/// at once on a laptop's two cores would only starve each other past their `Timeout`, which
/// AWS would never do to them. The wait counts against the gateway's integration timeout.
pub const CALLS_AT_ONCE: usize = 16;

/// Asynchronous invocations by function (binary name), for tests and benchmarks.
#[derive(Clone, Debug)]
pub struct Invocations {
    stats: Arc<Mutex<BTreeMap<String, AsyncStats>>>,
    turns: Arc<Semaphore>,
}

impl Default for Invocations {
    fn default() -> Self {
        Invocations { stats: Default::default(), turns: Arc::new(Semaphore::new(RUNS_AT_ONCE)) }
    }
}

impl Invocations {
    pub fn of(&self, function: &str) -> AsyncStats {
        self.stats.lock().unwrap_or_else(|e| e.into_inner()).get(function).cloned().unwrap_or_default()
    }

    pub(crate) fn count(&self, function: &str, change: impl FnOnce(&mut AsyncStats)) {
        change(self.stats.lock().unwrap_or_else(|e| e.into_inner()).entry(function.to_string()).or_default());
    }

    /// Waits for one of the [`RUNS_AT_ONCE`] turns; the run holds it until dropped.
    pub(crate) async fn turn(&self) -> Option<SemaphorePermit<'_>> {
        self.turns.acquire().await.ok()
    }
}

pub struct Gateway {
    pub template: Template,
    pub clients: Arc<Clients>,
    functions: HashMap<String, Function>,
    /// Each function's own clients, held to its template policy by the IAM guard.
    function_clients: HashMap<String, Arc<Clients>>,
    /// The calls IAM refused, for tests and the log.
    pub denials: Denials,
    pub auth_cache: Mutex<HashMap<String, (Instant, Option<Value>)>>,
    pub connections: Connections,
    pub ws_limits: WsLimits,
    /// The asynchronous invocations the local Lambda API ran.
    pub invocations: Invocations,
    /// The contracts every answer and frame is held to, when checked.
    pub contracts: Option<Arc<Contracts>>,
    /// The keys the functions sign with and the Lambda API checks.
    pub keys: LocalKeys,
    /// The port of the WebSocket API, the Lambda API and `@connections`: their callers' `Host`.
    pub own_port: u16,
    /// The turns of synchronous invocations ([`CALLS_AT_ONCE`]).
    calls: Semaphore,
    /// The SMS and emails the functions sent (`crate::outbox`).
    pub outbox: crate::outbox::boxes::Outbox,
    /// What the X-Ray daemon received, and the segments of traced invocations (`crate::xray`).
    pub traces: Arc<crate::xray::Traces>,
    /// The SNS API's platform applications, endpoints, what the local platforms received, and
    /// the application events waiting for their topic's subscribers.
    pub sns: crate::sns::registry::Sns,
    /// The SQS API's queues (the template's) and their messages.
    pub sqs: crate::sqs::queues::Sqs,
}

impl Gateway {
    /// Resolves every function the template names; a name without code is a startup error.
    /// `deny_base` is where refused AWS calls go (the gateway's own `/__denied/{service}`).
    pub fn new(
        template: Template,
        clients: Arc<Clients>,
        ws_limits: WsLimits,
        deny_base: &str,
        keys: &LocalKeys,
    ) -> Result<Gateway, String> {
        let mut functions = HashMap::new();
        let mut function_clients = HashMap::new();
        let denials = Denials::default();
        let partition_keys = Arc::new(crate::iam::PartitionKeys(
            template.tables.iter().filter_map(|t| Some((t.logical_id.clone(), hash_key(&t.properties)?))).collect(),
        ));
        for binary in template.functions.values() {
            let function =
                im_functions::function(binary).ok_or_else(|| format!("template names unknown function {binary}"))?;
            functions.insert(binary.clone(), function);
            let guard = Guard {
                function: binary.clone(),
                statements: Arc::new(template.policies.get(binary).cloned().unwrap_or_default()),
                stage: template.ws_stage.clone(),
                deny_base: deny_base.to_string(),
                denials: denials.clone(),
                partition_keys: partition_keys.clone(),
            };
            let own = Clients::local_guarded(
                clients.config.clone(),
                keys,
                clients.dynamodb_requests.clone(),
                im_adapters::SharedInterceptor::new(guard),
            );
            function_clients.insert(binary.clone(), Arc::new(own));
        }
        let sqs = crate::sqs::queues::Sqs::new(&template.queues);
        // The local applications tell the template's push events topic of refused tokens, as
        // the operator sets them to on AWS (docs/DEPLOYMENT.md).
        let sns = crate::sns::registry::Sns::local();
        sns.set_delivery_failure_topic(template.push_events_topic.as_deref().map(crate::template::topic_arn));
        Ok(Gateway {
            template,
            clients,
            functions,
            function_clients,
            denials,
            auth_cache: Mutex::new(HashMap::new()),
            connections: Connections::default(),
            ws_limits,
            invocations: Default::default(),
            contracts: None,
            keys: keys.clone(),
            own_port: 0,
            calls: Semaphore::new(CALLS_AT_ONCE),
            outbox: Default::default(),
            traces: Default::default(),
            sns,
            sqs,
        })
    }

    /// Invokes a function in-process, as Lambda would: an error or a panic is a failed invocation.
    pub async fn call(&self, binary: &str, event: Value) -> Result<Value, LambdaFailure> {
        let (Some(function), Some(clients)) = (self.functions.get(binary).copied(), self.function_clients.get(binary))
        else {
            return Err(LambdaFailure);
        };
        let Ok(_turn) = self.calls.acquire().await else { return Err(LambdaFailure) };
        let mut context = lambda_http::Context::default();
        // Lambda samples an invocation of a function with active tracing (every one, locally).
        let trace = self.template.traced.contains(binary).then(im_adapters::xray::TraceHeader::new_sampled);
        context.xray_trace_id = trace.as_ref().map(|t| t.to_header());
        let started = std::time::SystemTime::now();
        // On Lambda's stack size, not the caller's runtime's (`functions_runtime`).
        let invocation =
            crate::functions_runtime().spawn(im_functions::invoke(clients.clone(), function, event, context));
        let outcome = self.outcome(binary, invocation).await;
        if let Some(trace) = &trace {
            self.traces.record_function(binary, trace, started, outcome.is_err());
        }
        outcome
    }

    /// How an invocation ended, as Lambda tells it: its answer, or a failure (logged).
    async fn outcome(
        &self,
        binary: &str,
        invocation: tokio::task::JoinHandle<Result<Value, im_functions::Error>>,
    ) -> Result<Value, LambdaFailure> {
        // Lambda cuts a function off at its `Timeout`; so does the local stack.
        let limit = Duration::from_secs(self.template.timeouts.get(binary).copied().unwrap_or(3));
        let abort = invocation.abort_handle();
        let finished = match tokio::time::timeout(limit, invocation).await {
            Ok(finished) => finished,
            Err(_) => {
                abort.abort();
                tracing::error!(function = binary, seconds = limit.as_secs(), "Task timed out: cut off at its Timeout");
                return Err(LambdaFailure);
            }
        };
        match finished {
            Ok(Ok(answer)) if answer.to_string().len() > MAX_LAMBDA_PAYLOAD_BYTES => {
                tracing::error!(function = binary, "Response payload size exceeded maximum allowed payload size");
                Err(LambdaFailure)
            }
            Ok(Ok(answer)) => Ok(answer),
            Ok(Err(err)) => {
                tracing::error!(function = binary, error = %err, "invocation failed");
                Err(LambdaFailure)
            }
            Err(panic) => {
                tracing::error!(function = binary, error = %panic, "invocation panicked");
                Err(LambdaFailure)
            }
        }
    }
}

/// A table definition's partition (HASH) key attribute.
fn hash_key(properties: &serde_yaml::Value) -> Option<String> {
    let schema = properties.get("KeySchema")?.as_sequence()?;
    let hash = schema.iter().find(|k| k.get("KeyType").and_then(|t| t.as_str()) == Some("HASH"))?;
    hash.get("AttributeName")?.as_str().map(String::from)
}

/// API Gateway's request time, `23/Nov/2026:10:32:22 +0000`, and the epoch in milliseconds.
pub fn api_gateway_time() -> (String, i64) {
    let now = time::OffsetDateTime::now_utc();
    let format = time::macros::format_description!("[day]/[month repr:short]/[year]:[hour]:[minute]:[second] +0000");
    (now.format(format).unwrap_or_default(), (now.unix_timestamp_nanos() / 1_000_000) as i64)
}
