//! `make bench`: the numbers in docs/BENCHMARKS.md.
//!
//! - cold start of release function binaries on the Lambda Runtime API (process start to first answer);
//! - stripped size of every release function binary;
//! - warm latency of `GET /user/id/{id}` through the local HTTP gateway (authorizer included);
//! - the gateway's own overhead: `GET /health` over HTTP minus the same event invoked in-process.

use im_tests::{new_user, stack, Client};
use serde_json::Value;
use std::time::{Duration, Instant};

fn percentile(samples: &mut [Duration], p: f64) -> Duration {
    samples.sort();
    let index = ((samples.len() as f64 - 1.0) * p).round() as usize;
    samples[index]
}

fn ms(d: Duration) -> String {
    format!("{:.2} ms", d.as_secs_f64() * 1000.0)
}

async fn cold_starts(binary: &str, runs: usize) -> Vec<Duration> {
    let root = im_local::project_root();
    let urls = stack();
    let env = im_local::runtime_api::local_env(&urls.dynamodb, &urls.s3, &urls.management);
    let event: Value =
        serde_json::from_str(&std::fs::read_to_string(root.join(format!("events/{binary}.json"))).unwrap()).unwrap();
    let path = root.join("target/release").join(binary);
    let mut samples = vec![];
    for _ in 0..runs {
        let mut results = im_local::runtime_api::run_binary(&path, binary, &env, vec![event.clone()]).await.unwrap();
        let result = results.remove(0);
        assert!(result.outcome.is_ok(), "{binary}: {:?}", result.outcome);
        samples.push(result.elapsed);
    }
    samples
}

fn device(name: &str) -> im_functions::domain::ids::DeviceName {
    im_functions::domain::ids::DeviceName::parse(Some(name)).unwrap()
}

/// One notification to N users with one live connection each: time until the last delivery,
/// and the DynamoDB requests the broadcast made.
async fn fan_out(clients: &im_adapters::Clients, n: usize, round: u64) {
    use futures::StreamExt;
    let base = 1_000_000_000 + round * 100_000_000 + (n as u64) * 10_000;
    let members: Vec<u64> = (0..n as u64).map(|i| base + i).collect();
    let sockets: Vec<im_tests::Socket> = futures::stream::iter(members.clone())
        .map(|user| async move {
            let token = im_functions::service::auth::open_session(clients, user, &device("android")).await.unwrap();
            im_tests::connect(&format!("token={token}")).await.unwrap()
        })
        .buffer_unordered(32)
        .collect()
        .await;
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    for mut socket in sockets {
        let tx = tx.clone();
        tokio::spawn(async move {
            let _ = im_tests::next_text(&mut socket).await;
            let _ = tx.send(Instant::now());
            let _ = socket.close(None).await;
        });
    }
    let actor = im_functions::domain::ids::Actor {
        user_id: base - 1,
        device: device("bench"),
        tag: String::new(),
        connection_id: None,
    };
    let body = serde_json::json!({ "t": "create_group", "g_id": n, "ts": 0 }).as_object().unwrap().clone();
    let notice = im_functions::domain::notice::Notice { body };
    let before = clients.dynamodb_requests.snapshot();
    let start = Instant::now();
    let conversation = im_functions::domain::ids::ConversationId::Group(base);
    im_functions::delivery::broadcast(clients, &actor, conversation, &members, &notice).await.unwrap();
    let requests = clients.dynamodb_requests.since(&before);
    let mut last = start;
    for _ in 0..n {
        last = last.max(rx.recv().await.unwrap());
    }
    let warm = if round > 0 { " (connections to @connections already open)" } else { "" };
    println!("- N = {n}{warm}: last delivery after {}; DynamoDB requests {requests:?}", ms(last - start));
}

/// Opens a session and a live connection for each of `users` (no sign-up needed to connect).
async fn live_sockets(clients: &im_adapters::Clients, users: &[u64], format: &str) -> Vec<im_tests::Socket> {
    use futures::StreamExt;
    futures::stream::iter(users.to_vec())
        .map(|user| async move {
            let token = im_functions::service::auth::open_session(clients, user, &device("android")).await.unwrap();
            im_tests::connect(&format!("token={token}&format={format}")).await.unwrap()
        })
        .buffer_unordered(32)
        .collect()
        .await
}

/// Send-to-delivery latency of group messages to `n` live members (1:1 is n = 1 with a
/// two-member group's rules: same code path), and DynamoDB requests per message.
async fn message_latency(n: usize, messages: usize) {
    let urls = stack();
    let clients = im_adapters::Clients::local(im_local::stack::local_config(
        &urls.dynamodb,
        &urls.s3,
        &urls.management,
        "audio-bucket",
    ));
    let base = 2_000_000_000 + (n as u64) * 10_000;
    let sender = base;
    let members: Vec<u64> = (0..=n as u64).map(|i| base + i).collect();
    let group = base;
    im_functions::store::groups::write_memberships(&clients, group, &members, true).await.unwrap();
    let sockets = live_sockets(&clients, &members[1..], "json").await;
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<(usize, Instant)>();
    for mut socket in sockets {
        let tx = tx.clone();
        tokio::spawn(async move {
            for i in 0..messages {
                let _ = im_tests::next_text(&mut socket).await;
                let _ = tx.send((i, Instant::now()));
            }
        });
    }
    let actor = im_functions::domain::ids::Actor {
        user_id: sender,
        device: device("bench"),
        tag: String::new(),
        connection_id: None,
    };
    let mut latencies = vec![];
    let before = clients.dynamodb_requests.snapshot();
    for i in 0..messages {
        let target = im_functions::domain::ids::Target::Group(group);
        let out =
            im_functions::domain::message::Outgoing::new(format!("bench-{i}"), "text", format!("message {i}"), target)
                .unwrap();
        let start = Instant::now();
        im_functions::service::messages::send(&clients, &actor, &out).await.unwrap();
        let mut last = start;
        for _ in 0..n {
            let (index, at) = rx.recv().await.unwrap();
            assert_eq!(index, i);
            last = last.max(at);
        }
        latencies.push(last - start);
    }
    let requests = clients.dynamodb_requests.since(&before);
    let per_message: Vec<String> =
        requests.iter().map(|(op, count)| format!("{op} {:.1}", *count as f64 / messages as f64)).collect();
    println!(
        "- {n} recipient(s): send to last delivery p50 {}, p99 {}; DynamoDB requests per message: {}",
        ms(percentile(&mut latencies.clone(), 0.5)),
        ms(percentile(&mut latencies, 0.99)),
        per_message.join(", ")
    );
}

/// DynamoDB requests one HTTP call makes in the stack's functions (authorizer included).
async fn requests_of(what: &str, call: impl std::future::Future<Output = im_tests::Answer>) {
    let counter = &stack().dynamodb_requests;
    let before = counter.snapshot();
    let answer = call.await;
    assert!(answer.status < 300, "{what}: {}", answer.text);
    let used = counter.since(&before);
    let total: u64 = used.values().sum();
    println!("- {what}: {total} requests {used:?}");
}

/// DynamoDB requests per relationship operation, measured through the HTTP API.
async fn relationship_costs() {
    let json = |v: serde_json::Value| Some(("application/json", v.to_string().into_bytes()));
    let a = new_user("a", "android").await;
    let b = new_user("b", "android").await;
    let c = new_user("c", "android").await;
    let (ca, cb) = (Client::new().with_token(&a.token), Client::new().with_token(&b.token));
    requests_of(
        "friend request",
        ca.send("POST", "/friends/request", None, json(serde_json::json!({"requested_user_id": b.id}))),
    )
    .await;
    requests_of(
        "accept",
        cb.send("POST", "/friends/accept", None, json(serde_json::json!({"requested_user_id": a.id}))),
    )
    .await;
    requests_of("block", ca.send("POST", "/blocks", None, json(serde_json::json!({"user_id": c.id})))).await;
    for i in 0..499 {
        let friend = new_user(&format!("f{i}"), "android").await;
        let cf = Client::new().with_token(&friend.token);
        cf.send("POST", "/friends/request", None, json(serde_json::json!({"requested_user_id": a.id}))).await;
        ca.send("POST", "/friends/accept", None, json(serde_json::json!({"requested_user_id": friend.id}))).await;
    }
    requests_of("list friends (500 friends)", ca.get("/friends")).await;
    let version = ca.get("/contact/version/0").await.doc()["response"][0]["version"].as_u64().unwrap();
    requests_of("version sync from 0 (500 contacts)", ca.get("/contact/version/0")).await;
    requests_of("version sync, one change behind", ca.get(&format!("/contact/version/{}", version - 1))).await;
    requests_of("version sync at the current version", ca.get(&format!("/contact/version/{version}"))).await;
}

#[tokio::main]
async fn main() {
    let root = im_local::project_root();
    let template = im_local::template::Template::load(&root.join("template.yaml")).unwrap();
    if std::env::args().any(|a| a == "--relations") {
        println!("## DynamoDB requests per relationship operation (through the HTTP API, authorizer included)\n");
        relationship_costs().await;
        return;
    }
    if std::env::args().any(|a| a == "--messages") {
        println!("## Messages: send to delivery (group conversation; n = 1 is a one-to-one exchange)\n");
        for (n, count) in [(1, 200), (100, 50), (1000, 20)] {
            message_latency(n, count).await;
        }
        return;
    }
    if std::env::args().any(|a| a == "--fan-out") {
        println!("## Fan-out: one notification to N users, one live connection each\n");
        // One process, one set of clients, as one warm Lambda: the first broadcasts also open
        // the pusher's connections to @connections; the last one finds them open.
        let urls = stack();
        let local = im_local::stack::local_config(&urls.dynamodb, &urls.s3, &urls.management, "audio-bucket");
        let clients = im_adapters::Clients::local(local);
        for n in [10, 100, 1000] {
            fan_out(&clients, n, 0).await;
        }
        fan_out(&clients, 1000, 1).await;
        return;
    }
    println!("## Release function binaries (stripped)\n");
    let mut largest = 0;
    for binary in template.functions.values() {
        let Ok(meta) = std::fs::metadata(root.join("target/release").join(binary)) else { continue };
        largest = largest.max(meta.len());
        println!("- {binary}: {:.2} MB", meta.len() as f64 / 1e6);
    }
    println!("\nlargest: {:.2} MB (target: at most 8 MB)\n", largest as f64 / 1e6);

    println!("## Cold start on the Runtime API (process start to first answer, 20 runs)\n");
    for binary in ["health", "get_user_by_id"] {
        let mut samples = cold_starts(binary, 20).await;
        println!(
            "- {binary}: p50 {}, min {}, max {}",
            ms(percentile(&mut samples, 0.5)),
            ms(samples[0]),
            ms(*samples.last().unwrap())
        );
    }

    let user = new_user("bench", "android").await;
    let client = Client::new().with_token(&user.token);
    let path = format!("/user/id/{}", user.id);
    for _ in 0..50 {
        client.get(&path).await;
    }
    let mut samples = vec![];
    for _ in 0..1000 {
        let start = Instant::now();
        let answer = client.get(&path).await;
        samples.push(start.elapsed());
        assert_eq!(answer.status, 200);
    }
    println!("\n## Warm GET /user/id through the local gateway (1000 requests, authorizer + GetItem x2)\n");
    println!("- p50 {}, p99 {}", ms(percentile(&mut samples, 0.5)), ms(percentile(&mut samples, 0.99)));

    // The gateway's overhead: the same /health event, over HTTP vs invoked in-process.
    let anonymous = Client::new();
    let mut over_http = vec![];
    for _ in 0..1000 {
        let start = Instant::now();
        assert_eq!(anonymous.get("/health").await.status, 200);
        over_http.push(start.elapsed());
    }
    let clients = std::sync::Arc::new(im_adapters::Clients::local(im_local::stack::local_config(
        &stack().dynamodb,
        &stack().s3,
        &stack().management,
        "audio-bucket",
    )));
    let event: Value =
        serde_json::from_str(&std::fs::read_to_string(root.join("events/health.json")).unwrap()).unwrap();
    let function = im_functions::function("health").unwrap();
    let mut in_process = vec![];
    for _ in 0..1000 {
        let start = Instant::now();
        im_functions::invoke(clients.clone(), function, event.clone(), Default::default()).await.unwrap();
        in_process.push(start.elapsed());
    }
    let http_p50 = percentile(&mut over_http, 0.5);
    let direct_p50 = percentile(&mut in_process, 0.5);
    println!("\n## Gateway overhead (GET /health, 1000 requests)\n");
    println!("- over HTTP through the gateway: p50 {}, p99 {}", ms(http_p50), ms(percentile(&mut over_http, 0.99)));
    println!("- the function invoked in-process: p50 {}", ms(direct_p50));
    println!("- overhead (HTTP client + loopback + gateway): p50 {}", ms(http_p50.saturating_sub(direct_p50)));
}
