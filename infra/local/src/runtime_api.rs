//! A Lambda Runtime API for one function process: hands it events on `/invocation/next` and
//! collects its answers, the way the Lambda service drives a `provided.al2023` bootstrap.
//! `invoke` (the `sam local invoke` of this project) and the cold-start benchmark use it.

use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use serde_json::Value;
use std::collections::VecDeque;
use std::path::Path as FsPath;
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::{mpsc, Notify};

/// What one invocation produced.
#[derive(Debug)]
pub struct Invocation {
    /// The function's answer, or the error it reported.
    pub outcome: Result<Value, Value>,
    /// From process start (first event) or from handing the event out, to the answer.
    pub elapsed: Duration,
    /// The process's CPU time so far (all its threads), read when the answer came.
    pub cpu: Duration,
    /// The process's peak resident memory so far (`VmHWM`), in KiB.
    pub peak_rss_kib: u64,
}

/// CPU time of every thread of `pid` (nanosecond `schedstat`, not the 10 ms `stat` ticks) and
/// its peak resident set; zero where `/proc` cannot tell.
fn usage(pid: Option<u32>) -> (Duration, u64) {
    let Some(pid) = pid else { return (Duration::ZERO, 0) };
    let mut nanos = 0u64;
    if let Ok(tasks) = std::fs::read_dir(format!("/proc/{pid}/task")) {
        for task in tasks.flatten() {
            let stat = std::fs::read_to_string(task.path().join("schedstat")).unwrap_or_default();
            nanos += stat.split_whitespace().next().and_then(|n| n.parse::<u64>().ok()).unwrap_or(0);
        }
    }
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    let peak = status
        .lines()
        .find_map(|line| line.strip_prefix("VmHWM:"))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|kib| kib.parse().ok())
        .unwrap_or(0);
    (Duration::from_nanos(nanos), peak)
}

struct Runtime {
    pending: Mutex<VecDeque<(String, Value)>>,
    handed_out: Mutex<Option<Instant>>,
    ready: Notify,
    answers: mpsc::UnboundedSender<(Result<Value, Value>, Instant)>,
}

async fn next(State(rt): State<Arc<Runtime>>) -> Response {
    loop {
        let event = rt.pending.lock().unwrap_or_else(|e| e.into_inner()).pop_front();
        if let Some((id, event)) = event {
            *rt.handed_out.lock().unwrap_or_else(|e| e.into_inner()) = Some(Instant::now());
            let mut headers = HeaderMap::new();
            let deadline = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default()
                + Duration::from_secs(30);
            headers.insert("lambda-runtime-aws-request-id", id.parse().expect("uuid is a header value"));
            headers.insert("lambda-runtime-deadline-ms", deadline.as_millis().to_string().parse().expect("digits"));
            headers.insert(
                "lambda-runtime-invoked-function-arn",
                "arn:aws:lambda:us-east-1:000000000000:function:local".parse().expect("ascii"),
            );
            headers.insert("content-type", "application/json".parse().expect("ascii"));
            return (StatusCode::OK, headers, event.to_string()).into_response();
        }
        rt.ready.notified().await;
    }
}

async fn respond(State(rt): State<Arc<Runtime>>, Path(_id): Path<String>, body: String) -> StatusCode {
    let value = serde_json::from_str(&body).unwrap_or(Value::String(body));
    let _ = rt.answers.send((Ok(value), Instant::now()));
    StatusCode::ACCEPTED
}

async fn error(State(rt): State<Arc<Runtime>>, body: String) -> StatusCode {
    let value = serde_json::from_str(&body).unwrap_or(Value::String(body));
    let _ = rt.answers.send((Err(value), Instant::now()));
    StatusCode::ACCEPTED
}

/// Starts `binary` as a Lambda function with `env`, feeds it `events` one after another and
/// returns each answer. The first elapsed time runs from process start (a cold start); the
/// others from handing the event out (warm). The process is killed afterwards.
pub async fn run_binary(
    binary: &FsPath,
    name: &str,
    env: &[(String, String)],
    events: Vec<Value>,
) -> Result<Vec<Invocation>, String> {
    let count = events.len();
    let (answers_tx, mut answers) = mpsc::unbounded_channel();
    let runtime = Arc::new(Runtime {
        pending: Mutex::new(events.into_iter().map(|e| (uuid::Uuid::new_v4().to_string(), e)).collect()),
        handed_out: Mutex::new(None),
        ready: Notify::new(),
        answers: answers_tx,
    });
    let app = Router::new()
        .route("/2018-06-01/runtime/invocation/next", get(next))
        .route("/2018-06-01/runtime/invocation/{id}/response", post(respond))
        .route("/2018-06-01/runtime/invocation/{id}/error", post(error))
        .route("/2018-06-01/runtime/init/error", post(error))
        .with_state(runtime.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.map_err(|e| e.to_string())?;
    let api = listener.local_addr().map_err(|e| e.to_string())?;
    let server = tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });

    let started = Instant::now();
    let mut child = tokio::process::Command::new(binary)
        .envs(env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
        .env("AWS_LAMBDA_RUNTIME_API", api.to_string())
        .env("AWS_LAMBDA_FUNCTION_NAME", name)
        .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "128")
        .env("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
        .env("AWS_LAMBDA_LOG_GROUP_NAME", format!("/aws/lambda/{name}"))
        .env("AWS_LAMBDA_LOG_STREAM_NAME", "local")
        .stdin(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .map_err(|e| format!("cannot start {}: {e}", binary.display()))?;

    let mut results = Vec::with_capacity(count);
    for i in 0..count {
        let answer = tokio::time::timeout(Duration::from_secs(60), answers.recv()).await;
        let Ok(Some((outcome, at))) = answer else {
            let _ = child.kill().await;
            server.abort();
            return Err(format!("{name} gave no answer to event {i} within 60 s"));
        };
        let from = if i == 0 {
            started
        } else {
            runtime.handed_out.lock().unwrap_or_else(|e| e.into_inner()).unwrap_or(started)
        };
        let (cpu, peak_rss_kib) = usage(child.id());
        results.push(Invocation { outcome, elapsed: at.saturating_duration_since(from), cpu, peak_rss_kib });
        runtime.ready.notify_waiters();
    }
    let _ = child.kill().await;
    server.abort();
    Ok(results)
}

/// The environment `template.yaml` gives a function, pointed at a local stack's endpoints.
pub fn local_env(dynamodb: &str, s3: &str, management: &str) -> Vec<(String, String)> {
    env_of(&crate::stack::local_config(dynamodb, s3, management, "audio-bucket"))
}

/// The environment of a function configured with `config`, local credentials included.
pub fn env_of(config: &im_adapters::Config) -> Vec<(String, String)> {
    let mut env: Vec<(String, String)> = config.to_env().into_iter().map(|(k, v)| (k.to_string(), v)).collect();
    env.push(("AWS_ACCESS_KEY_ID".into(), im_adapters::LOCAL_ACCESS_KEY.into()));
    env.push(("AWS_SECRET_ACCESS_KEY".into(), im_adapters::LOCAL_SECRET_KEY.into()));
    env
}
