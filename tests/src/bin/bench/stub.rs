//! `bench --stub-connections`: the send path's own cost, without the WebSocket emulator. The
//! real handlers (`ws_default` for `CHAT_SEND_MSG` and `[[gm]]`, `send_message` for
//! `POST /message`) run against DynamoDB Local, and `@connections` is a stub that answers 200
//! at once and counts posts: the setting of the reference chat's published numbers (issue 13).

use super::{ms, percentile};
use im_adapters::Clients;
use im_functions::domain::format::Format;
use im_functions::domain::ids::{DeviceName, GroupId, UserId};
use im_functions::store::connections::{self, Connection};
use serde_json::{json, Value};
use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Sends measured per path and group size, after [`WARM_UPS`].
pub const MEASURED: usize = 12;
pub const WARM_UPS: usize = 2;

/// An `@connections` endpoint that answers every post with 200 at once and counts them, in all
/// and by connection.
#[derive(Clone)]
pub struct StubConnections {
    pub url: String,
    posts: Arc<AtomicU64>,
    by_connection: Arc<Mutex<HashMap<String, u32>>>,
}

impl StubConnections {
    pub async fn start() -> StubConnections {
        let posts = Arc::new(AtomicU64::new(0));
        let by_connection = Arc::new(Mutex::new(HashMap::new()));
        let (counted, seen) = (posts.clone(), by_connection.clone());
        let app = axum::Router::new().fallback(move |method: axum::http::Method, uri: axum::http::Uri| {
            let (counted, seen) = (counted.clone(), seen.clone());
            async move {
                if method == axum::http::Method::POST {
                    *seen.lock().unwrap_or_else(|e| e.into_inner()).entry(uri.path().to_string()).or_insert(0) += 1;
                    counted.fetch_add(1, Ordering::Relaxed);
                }
                axum::http::StatusCode::OK
            }
        });
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("a free port");
        let url = format!("http://{}", listener.local_addr().expect("bound"));
        tokio::spawn(async move { axum::serve(listener, app).await });
        StubConnections { url, posts, by_connection }
    }

    pub fn posts(&self) -> u64 {
        self.posts.load(Ordering::Relaxed)
    }

    /// Posts by connection (the post's path) since the last [`StubConnections::reset`].
    pub fn per_connection(&self) -> HashMap<String, u32> {
        self.by_connection.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    pub fn reset(&self) {
        self.by_connection.lock().unwrap_or_else(|e| e.into_inner()).clear();
        self.posts.store(0, Ordering::Relaxed);
    }
}

/// A group of `n` members, each with one live connection (JSON and TOML alternately), in
/// DynamoDB Local. The senders are members 0 (JSON), 1 (TOML) and 2 (HTTP, device `phone`).
pub struct Group {
    pub id: u64,
    pub members: Vec<u64>,
    pub n: usize,
}

pub const DEVICE: &str = "phone";

impl Group {
    pub async fn prepare(clients: &Clients, n: usize, base: u64) -> Group {
        let members: Vec<u64> = (0..n as u64).map(|i| base + i).collect();
        im_functions::store::groups::write_memberships(clients, GroupId(base), &im_tests::user_ids(&members), true)
            .await
            .expect("memberships");
        Group::connect(clients, &members).await;
        Group { id: base, members, n }
    }

    /// Two users who may message each other (friends already), each with a live connection:
    /// [`Path::Direct`] sends from the first to the second.
    pub async fn pair(clients: &Clients, a: u64, b: u64) -> Group {
        Group::connect(clients, &[a, b]).await;
        Group { id: 0, members: vec![a, b], n: 2 }
    }

    /// One live connection per member, JSON and TOML alternately.
    async fn connect(clients: &Clients, members: &[u64]) {
        use futures::StreamExt;
        futures::stream::iter(members.iter().enumerate())
            .map(|(i, user)| async move {
                let conn = Connection {
                    connection_id: Group::cid(*user),
                    user_id: Some(UserId(*user)),
                    device: DeviceName::parse(Some(DEVICE)).expect("a device name"),
                    tag: String::new(),
                    format: if i % 2 == 0 { Format::Json } else { Format::Toml },
                    format_chosen: true,
                    since: 0,
                    session: String::new(),
                };
                connections::bind(clients, &conn).await.expect("connection bound");
            })
            .buffer_unordered(32)
            .collect::<Vec<()>>()
            .await;
    }

    fn cid(user: u64) -> String {
        format!("stub{user}=")
    }

    /// The event of send number `i` on `path`, as API Gateway hands it to the function.
    pub fn event(&self, path: Path, label: &str, i: usize) -> Value {
        let root = im_local::project_root();
        let sample = |name: &str| -> Value {
            serde_json::from_str(&std::fs::read_to_string(root.join(format!("events/{name}.json"))).expect("event"))
                .expect("json event")
        };
        let client_id = format!("{label}{i}");
        let group = self.id;
        match path {
            Path::ChatSendMsg | Path::TomlGm | Path::DirectSocket => {
                let (sender, frame) = match path {
                    Path::DirectSocket => (
                        self.members[0],
                        json!({"event": "CHAT_SEND_MSG", "data": {"user": self.members[1], "content": "hello", "id": client_id}})
                            .to_string(),
                    ),
                    Path::ChatSendMsg => (
                        self.members[0],
                        json!({"event": "CHAT_SEND_MSG", "data": {"g_id": group, "content": "hello", "id": client_id}})
                            .to_string(),
                    ),
                    _ => (
                        self.members[1],
                        format!("[[gm]]\nid = \"{client_id}\"\nt = \"text\"\nc = \"hello\"\ng_id = {group}\n"),
                    ),
                };
                let mut event = sample("ws_default");
                event["requestContext"]["connectionId"] = json!(Group::cid(sender));
                event["body"] = json!(frame);
                event
            }
            Path::PostMessage | Path::Direct => {
                let (sender, to) = match path {
                    Path::Direct => (self.members[0], format!("to={}", self.members[1])),
                    _ => (self.members[2], format!("g_id={group}")),
                };
                let mut event = sample("send_message");
                event["requestContext"]["authorizer"]["lambda"] =
                    json!({"user_id": sender, "device": DEVICE, "tag": ""});
                event["isBase64Encoded"] = json!(false);
                event["body"] = json!(format!("{to}&id={client_id}&t=text&c=hello"));
                event
            }
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Path {
    ChatSendMsg,
    TomlGm,
    PostMessage,
    /// `POST /message` to one user (`to`): a one-to-one message.
    Direct,
    /// `CHAT_SEND_MSG` to one user (`user`, an id): a one-to-one message over the socket.
    DirectSocket,
}

impl Path {
    pub const ALL: [Path; 3] = [Path::ChatSendMsg, Path::TomlGm, Path::PostMessage];

    pub fn name(self) -> &'static str {
        match self {
            Path::ChatSendMsg => "CHAT_SEND_MSG",
            Path::TomlGm => "[[gm]]",
            Path::PostMessage => "POST /message",
            Path::Direct => "POST /message to a user",
            Path::DirectSocket => "CHAT_SEND_MSG to a user",
        }
    }

    pub fn function(self) -> &'static str {
        match self {
            Path::PostMessage | Path::Direct => "send_message",
            _ => "ws_default",
        }
    }
}

/// Whether a function's answer is a success (HTTP 2xx; a socket answer without a failure).
fn succeeded(answer: &Value) -> bool {
    let status = answer["statusCode"].as_u64().unwrap_or(0);
    let body = answer["body"].as_str().unwrap_or_default();
    (200..300).contains(&status) && !body.contains("FAIL") && !body.contains("\"code\":\"-")
}

/// What one path measured for one group size.
pub struct Measured {
    /// From the event handed to the function to its answer: the sender's ack.
    pub handler: Vec<Duration>,
    /// From the event to the last of its posts (the worker's, when handed off).
    pub last_post: Vec<Duration>,
    pub cpu_per_message: Duration,
    pub posts_per_message: f64,
    pub requests_per_message: BTreeMap<String, f64>,
    /// Capacity units consumed per message by operation, as DynamoDB reported them (empty when
    /// not measured: `im_adapters::measure_capacity`).
    pub capacity_per_message: BTreeMap<String, f64>,
    /// The handler's own DynamoDB requests: average wait for an answer, by operation.
    pub wait_per_request: BTreeMap<String, Duration>,
}

impl Measured {
    pub fn line(&mut self, how: &str, path: Path, n: usize) -> String {
        let requests: Vec<String> = self.requests_per_message.iter().map(|(op, c)| format!("{op} {c:.1}")).collect();
        let last_post = if self.last_post.is_empty() {
            String::new()
        } else {
            format!(", last post p50 {}", ms(percentile(&mut self.last_post, 0.5)))
        };
        let waits: Vec<String> = self.wait_per_request.iter().map(|(op, w)| format!("{op} {}", ms(*w))).collect();
        let waits = if waits.is_empty() { String::new() } else { format!("; wait per request: {}", waits.join(", ")) };
        format!(
            "- N = {n}, {} ({how}): handler p50 {}, p99 {}{last_post}, handler CPU {} per message, posts per message {:.1} (expected {}){}{waits}",
            path.name(),
            ms(percentile(&mut self.handler, 0.5)),
            ms(percentile(&mut self.handler, 0.99)),
            ms(self.cpu_per_message),
            self.posts_per_message,
            n - 1,
            if requests.is_empty() { String::new() } else { format!("; DynamoDB per message: {}", requests.join(", ")) }
        )
    }
}

/// Waits until the stub has counted `total` posts (at most 5 min); when it got there.
pub async fn posts_reach(stub: &StubConnections, total: u64) -> Instant {
    let deadline = Instant::now() + Duration::from_secs(300);
    while stub.posts() < total && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_micros(500)).await;
    }
    Instant::now()
}

/// CPU time of the calling thread so far (nanosecond `schedstat`).
pub fn thread_cpu() -> Duration {
    let stat = std::fs::read_to_string("/proc/thread-self/schedstat").unwrap_or_default();
    Duration::from_nanos(stat.split_whitespace().next().and_then(|n| n.parse().ok()).unwrap_or(0))
}

/// The handler invoked in this process, on a single-threaded runtime of its own (as a Lambda
/// of 128 MB has a fraction of one core), so the thread's CPU time is the handler's.
/// DynamoDB requests count the handler's and those of the stack's functions meanwhile (`stack`:
/// the fan-out worker's, when the audience is handed off).
pub fn in_process(
    config: im_adapters::Config,
    group: &Group,
    path: Path,
    stub: &StubConnections,
    stack: &im_adapters::RequestCounter,
) -> Measured {
    let events: Vec<Value> = (0..WARM_UPS + MEASURED).map(|i| group.event(path, "p", i)).collect();
    let n = group.n;
    let stub = stub.clone();
    std::thread::scope(|scope| {
        // Named, so a profile (`perf record`) can be narrowed to the handler's thread.
        std::thread::Builder::new()
            .name("handler".into())
            .spawn_scoped(scope, move || {
                let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
                runtime.block_on(async move {
                    let clients = Arc::new(Clients::local(config));
                    let function = im_functions::function(path.function()).expect("a function");
                    let (mut handler, mut last_post, mut cpu) = (vec![], vec![], Duration::ZERO);
                    let expected = n as u64 - 1;
                    let mut posts_start = 0;
                    let mut requests_before = clients.dynamodb_requests.snapshot();
                    let mut waits_before = clients.dynamodb_requests.waits();
                    let mut stack_before = stack.snapshot();
                    let capacity = || {
                        let mut all = clients.dynamodb_requests.capacity();
                        for (op, units) in stack.capacity() {
                            *all.entry(op).or_default() += units;
                        }
                        all
                    };
                    let mut capacity_before = capacity();
                    for (i, event) in events.into_iter().enumerate() {
                        if i == WARM_UPS {
                            posts_start = stub.posts();
                            requests_before = clients.dynamodb_requests.snapshot();
                            waits_before = clients.dynamodb_requests.waits();
                            stack_before = stack.snapshot();
                            capacity_before = capacity();
                        }
                        let posts_before = stub.posts();
                        let (cpu_before, start) = (thread_cpu(), Instant::now());
                        let answer = im_functions::invoke(clients.clone(), function, event, Default::default())
                            .await
                            .expect("the handler answers");
                        let (elapsed, handler_cpu) = (start.elapsed(), thread_cpu() - cpu_before);
                        assert!(succeeded(&answer), "N = {n}, {}: {answer}", path.name());
                        // The next send starts once this one's posts are all in (the worker's too).
                        let last = posts_reach(&stub, posts_before + expected).await;
                        if i >= WARM_UPS {
                            handler.push(elapsed);
                            last_post.push(last - start);
                            cpu += handler_cpu;
                        }
                    }
                    let per = |count: f64| count / MEASURED as f64;
                    Measured {
                        handler,
                        last_post,
                        cpu_per_message: cpu / MEASURED as u32,
                        posts_per_message: per((stub.posts() - posts_start) as f64),
                        wait_per_request: {
                            let counts = clients.dynamodb_requests.since(&requests_before);
                            let waits = clients.dynamodb_requests.waits();
                            counts
                                .into_iter()
                                .map(|(op, count)| {
                                    let waited = waits.get(&op).copied().unwrap_or_default()
                                        - waits_before.get(&op).copied().unwrap_or_default();
                                    (op, waited / count as u32)
                                })
                                .collect()
                        },
                        requests_per_message: {
                            let mut all = clients.dynamodb_requests.since(&requests_before);
                            for (op, count) in stack.since(&stack_before) {
                                *all.entry(op).or_default() += count;
                            }
                            all.into_iter().map(|(op, c)| (op, per(c as f64))).collect()
                        },
                        capacity_per_message: capacity()
                            .into_iter()
                            .map(|(op, units)| {
                                (op.clone(), per(units - capacity_before.get(&op).copied().unwrap_or(0.0)))
                            })
                            .filter(|(_, units)| *units > 0.0)
                            .collect(),
                    }
                })
            })
            .expect("a thread")
            .join()
            .expect("the in-process bench thread")
    })
}

/// The release function binary on the Lambda Runtime API: one process, the first event cold,
/// then warm ones. Handler time is from handing an event out to its answer.
pub async fn through_binary(group: &Group, path: Path, env: &[(String, String)], stub: &StubConnections) -> Measured {
    let events: Vec<Value> = (0..WARM_UPS + MEASURED).map(|i| group.event(path, "b", i)).collect();
    let binary = im_local::project_root().join("target/release").join(path.function());
    let before = stub.posts();
    let runs = im_local::runtime_api::run_binary(&binary, path.function(), env, events).await.expect("the binary runs");
    for run in &runs {
        let answer = run.outcome.as_ref().expect("an answer, not an error");
        assert!(succeeded(answer), "N = {}, {}: {answer}", group.n, path.name());
    }
    let warm = &runs[WARM_UPS..];
    let cpu = warm.last().expect("runs").cpu.saturating_sub(runs[WARM_UPS - 1].cpu);
    // Handed-off posts may still be under way: wait for all of them before counting.
    posts_reach(stub, before + (runs.len() * (group.n - 1)) as u64).await;
    Measured {
        handler: warm.iter().map(|r| r.elapsed).collect(),
        last_post: vec![],
        cpu_per_message: cpu / MEASURED as u32,
        posts_per_message: (stub.posts() - before) as f64 / runs.len() as f64,
        requests_per_message: BTreeMap::new(),
        capacity_per_message: BTreeMap::new(),
        wait_per_request: BTreeMap::new(),
    }
}

/// One whole process per event: spawn, first answer, killed. Cold starts and peak RSS.
pub async fn cold(binary: &str, events: Vec<Value>, env: &[(String, String)]) -> Cold {
    let path = im_local::project_root().join("target/release").join(binary);
    let mut cold = Cold { elapsed: vec![], cpu: vec![], peak_rss_kib: 0 };
    for event in events {
        let mut run = im_local::runtime_api::run_binary(&path, binary, env, vec![event]).await.expect("runs");
        let run = run.remove(0);
        assert!(run.outcome.is_ok(), "{binary}: {:?}", run.outcome);
        cold.elapsed.push(run.elapsed);
        cold.cpu.push(run.cpu);
        cold.peak_rss_kib = cold.peak_rss_kib.max(run.peak_rss_kib);
    }
    cold
}

/// Cold processes of one function: spawn to first answer, the process's CPU time by then (all
/// its threads: what is its own, as against waiting on DynamoDB and the posts), its peak RSS.
pub struct Cold {
    pub elapsed: Vec<Duration>,
    pub cpu: Vec<Duration>,
    pub peak_rss_kib: u64,
}
