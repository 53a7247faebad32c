//! `make bench`: the numbers in docs/BENCHMARKS.md, one section per flag:
//!
//! - `--sizes` (or none): stripped size of every release function binary; warm latency of `GET /user/id/{id}`
//!   through the local HTTP gateway (authorizer included); the gateway's own overhead;
//! - `--stub-connections`: the send path's handler cost with an `@connections` stub, and cold
//!   starts with peak RSS ([`stub`]);
//! - `--cost`: the cost of a million messages on AWS beside the reference chat ([`cost`]);
//! - `--push`: a push job of the push worker, measured and priced ([`push`]);
//! - `--scale`: one message to 10 000 and 100 000 recipients through the fan-out worker ([`scale`]);
//! - `--throughput`: one conversation with N members sending at once ([`throughput`]);
//! - `--thumbnail`: memory and time of an image's attach and thumbnail ([`thumbnail`]);
//! - `--fan-out`, `--messages`, `--relations`: through the local stack's emulators.

mod cost;
mod push;
mod scale;
mod stub;
mod throughput;
mod thumbnail;

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
            let token = im_tests::token_for(clients, user, &device("android")).await;
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
        user_id: im_functions::domain::ids::UserId(base - 1),
        device: device("bench"),
        tag: String::new(),
        connection_id: None,
    };
    let what = im_functions::domain::notice::Change::CreateGroup {
        g_id: im_functions::domain::ids::GroupId(n as u64),
        g_key: String::new(),
        name: String::new(),
    };
    let notice = im_functions::domain::notice::Notice {
        what,
        from: actor.user_id,
        to: Some(n as u64),
        ts: 0,
        d: "bench".into(),
    };
    let before = clients.dynamodb_requests.snapshot();
    let start = Instant::now();
    let conversation = im_functions::domain::ids::ConversationId::Group(im_functions::domain::ids::GroupId(base));
    im_functions::delivery::tell_group(clients, &actor, conversation, &im_tests::user_ids(&members), &notice)
        .await
        .unwrap();
    let requests = clients.dynamodb_requests.since(&before);
    let mut last = start;
    for _ in 0..n {
        last = last.max(rx.recv().await.unwrap());
    }
    let warm = if round > 0 { " (connections to @connections already open)" } else { "" };
    println!("- N = {n}{warm}: last delivery after {}; DynamoDB requests {requests:?}", ms(last - start));
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
    im_functions::store::groups::write_memberships(
        &clients,
        im_functions::domain::ids::GroupId(group),
        &im_tests::user_ids(&members),
        true,
    )
    .await
    .unwrap();
    let sockets = im_tests::live_sockets(&clients, &members[1..], "json").await;
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
        user_id: im_functions::domain::ids::UserId(sender),
        device: device("bench"),
        tag: String::new(),
        connection_id: None,
    };
    let mut latencies = vec![];
    let before = clients.dynamodb_requests.snapshot();
    for i in 0..messages {
        let target = im_functions::domain::ids::Target::Group(im_functions::domain::ids::GroupId(group));
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

/// A local stack of the bench's own whose functions post to the counting stub.
async fn stub_stack() -> (im_local::LocalStack, stub::StubConnections) {
    let connections = stub::StubConnections::start().await;
    let mut options = im_local::StackOptions::ephemeral(im_local::project_root());
    options.connections_endpoint = Some(connections.url.clone());
    // Measured handlers only: the contract checks would add the gateway's CPU to theirs.
    options.contract_checks = im_local::ContractChecks::Off;
    (im_local::LocalStack::start(options).await.expect("the local stack starts"), connections)
}

/// `--stub-connections`: handler cost of a group send for N = 10, 100, 1000 on each path, in
/// process and through the release binary; then cold processes with their peak RSS.
async fn stub_connections() {
    use stub::{Group, Path};
    // Units are what DynamoDB reports for each request, not a model of item sizes.
    im_adapters::measure_capacity(true);
    let (own, connections) = stub_stack().await;
    let config = own.clients.config.clone();
    let env = im_local::runtime_api::env_of(&config);
    let setup = im_adapters::Clients::local(config.clone());
    println!(
        "## Send handler cost, `@connections` stubbed ({} sends after {} warm-ups)\n",
        stub::MEASURED,
        stub::WARM_UPS
    );
    for n in [10, 100, 1000] {
        let group = Group::prepare(&setup, n, 3_000_000_000 + n as u64 * 10).await;
        for path in Path::ALL {
            let mut measured = tokio::task::block_in_place(|| {
                stub::in_process(config.clone(), &group, path, &connections, &own.clients.dynamodb_requests)
            });
            println!("{}", measured.line("in process", path, n));
            let mut measured = stub::through_binary(&group, path, &env, &connections).await;
            println!("{}", measured.line("release binary", path, n));
        }
    }
    println!("\n## Cold processes: spawn to first answer, killed after it (20 each)\n");
    let group = Group::prepare(&setup, 10, 3_900_000_000).await;
    let sample = |name: &str| -> Value {
        let path = im_local::project_root().join(format!("events/{name}.json"));
        serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
    };
    let runs = 20;
    let cold_events: [(&str, Vec<Value>); 4] = [
        ("health", vec![sample("health"); runs]),
        ("get_user_by_id", vec![sample("get_user_by_id"); runs]),
        ("send_message", (0..runs).map(|i| group.event(Path::PostMessage, "c", i)).collect()),
        ("ws_default", (0..runs).map(|i| group.event(Path::ChatSendMsg, "c", i)).collect()),
    ];
    for (binary, events) in cold_events {
        let mut cold = stub::cold(binary, events, &env).await;
        let samples = &mut cold.elapsed;
        println!(
            "- {binary}: cold start p50 {}, min {}, max {}; its CPU p50 {}; peak RSS {:.1} MiB",
            ms(percentile(samples, 0.5)),
            ms(samples[0]),
            ms(*samples.last().unwrap()),
            ms(percentile(&mut cold.cpu, 0.5)),
            cold.peak_rss_kib as f64 / 1024.0
        );
    }
}

/// `--cost`: one-to-one, groups of 100 and 1000, measured in process with the stub, priced.
async fn cost_per_million() {
    use stub::{Group, Path};
    // Units are what DynamoDB reports for each request, not a model of item sizes.
    im_adapters::measure_capacity(true);
    let (own, connections) = stub_stack().await;
    let config = own.clients.config.clone();
    let setup = im_adapters::Clients::local(config.clone());
    // Two users with profiles: a socket send names its recipient, who must exist.
    let user = |name: &str| {
        let profile = im_functions::domain::user::Profile::named(name.into(), None, None);
        let setup = &setup;
        async move { im_functions::store::users::insert(setup, &profile, "-".into()).await.expect("a user").0 }
    };
    let (a, b) = (user("a").await, user("b").await);
    let as_user = |id: u64| im_functions::domain::ids::Actor {
        user_id: im_functions::domain::ids::UserId(id),
        device: device(stub::DEVICE),
        tag: String::new(),
        connection_id: None,
    };
    im_functions::service::contacts::befriend(&setup, &as_user(a), im_functions::domain::ids::UserId(b))
        .await
        .expect("a asks b");
    im_functions::service::contacts::befriend(&setup, &as_user(b), im_functions::domain::ids::UserId(a))
        .await
        .expect("b accepts");
    let pair = Group::pair(&setup, a, b).await;
    let measure = |group: &Group, path: Path| {
        tokio::task::block_in_place(|| {
            stub::in_process(config.clone(), group, path, &connections, &own.clients.dynamodb_requests)
        })
    };
    let direct = measure(&pair, Path::Direct);
    let direct_socket = measure(&pair, Path::DirectSocket);
    let mut groups = vec![];
    for n in [100, 500, 1000] {
        let group = Group::prepare(&setup, n, 4_000_000_000 + n as u64 * 10).await;
        groups.push((n, measure(&group, Path::PostMessage)));
    }
    // A post's CPU time, from the group of 100 (all posted by the handler) over one-to-one.
    let cpu_per_post = (groups[0].1.cpu_per_message.as_secs_f64() - direct.cpu_per_message.as_secs_f64()) * 1000.0
        / (groups[0].1.posts_per_message - direct.posts_per_message);
    let reference = cost::measure_reference(&config, &connections.url, &[2, 100, 500, 1000]);
    let mut rows = vec![
        cost::ours("one-to-one over HTTP", &direct, 2, cpu_per_post, cost::Surface::Http),
        cost::ours("one-to-one over the socket", &direct_socket, 2, cpu_per_post, cost::Surface::Socket),
        cost::reference("one-to-one", &reference[0]),
    ];
    for (i, (n, measured)) in groups.iter().enumerate() {
        rows.push(cost::ours(&format!("group of {n}"), measured, *n, cpu_per_post, cost::Surface::Http));
        rows.push(cost::reference(&format!("group of {n}"), &reference[i + 1]));
    }
    println!("## Cost of a million messages (us-east-1 list prices)\n");
    println!("CPU per post (group of 100 over one-to-one): {cpu_per_post:.3} ms\n");
    for measured in &reference {
        println!("{}", measured.line());
    }
    println!();
    let mut measured_rows =
        vec![("one-to-one over HTTP".to_string(), &direct), ("one-to-one over the socket".into(), &direct_socket)];
    measured_rows.extend(groups.iter().map(|(n, measured)| (format!("group of {n}"), measured)));
    for (name, measured) in measured_rows {
        let requests: Vec<String> =
            measured.requests_per_message.iter().map(|(op, c)| format!("{op} {c:.2}")).collect();
        let units: Vec<String> = measured.capacity_per_message.iter().map(|(op, u)| format!("{op} {u:.2}")).collect();
        println!(
            "- this project, {name}: DynamoDB per message: {}; capacity units (as DynamoDB reported them): {}",
            requests.join(", "),
            units.join(", ")
        );
    }
    println!();
    println!("| traffic | design | Lambda duration (modelled on AWS) | Lambda | DynamoDB per message: units, $ per million | API Gateway | total per million |");
    println!("| --- | --- | --- | --- | --- | --- | --- |");
    for row in &rows {
        println!("{}", row.markdown());
    }
    println!();
    for line in cost::extras() {
        println!("{line}");
    }
    println!("\n## Issue 23's goals, this run (cold starts and sizes: `--stub-connections`, `--sizes`)\n");
    let row = |traffic: &str| rows.iter().find(|r| r.traffic == traffic).expect("a row");
    let reference_row = |traffic: &str| rows.iter().find(|r| r.traffic == traffic && r.design.starts_with("reference"));
    let http = row("one-to-one over HTTP");
    let socket = row("one-to-one over the socket");
    let one_to_one_reference = reference_row("one-to-one").expect("the reference");
    let group = rows.iter().find(|r| r.traffic == "group of 500" && !r.design.starts_with("reference")).expect("500");
    println!("| figure | before (the issue) | must | this run |");
    println!("| --- | --- | --- | --- |");
    println!(
        "| one-to-one over HTTP, total per million | $9 | ≤ $4 (the reference, this run: ${:.2}) | ${:.2} |",
        one_to_one_reference.total() * 1e6,
        http.total() * 1e6
    );
    println!("| one-to-one over the socket, answer frame included | not priced | ≤ the reference's socket path (${:.2}) | ${:.2} |", one_to_one_reference.total() * 1e6, socket.total() * 1e6);
    println!(
        "| group of 500, total ÷ API Gateway's share | 1.074 (at 1000) | ≤ 1.02 | {:.3} |",
        group.total() / group.gateway
    );
    println!(
        "| sequential DynamoDB stages before the first post | 5 | ≤ 3 | {} (the cost model's, counted from the code) |",
        cost::SEND_STAGES
    );
}

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().collect();
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    if let [_, step @ ("--attach-child" | "--thumbnail-child"), file] = args.as_slice() {
        return thumbnail::child(step, file);
    }
    if args.contains(&"--thumbnail") {
        return thumbnail::measure();
    }
    let root = im_local::project_root();
    let template = im_local::template::Template::load(&root.join("template.yaml")).unwrap();
    if std::env::args().any(|a| a == "--stub-connections") {
        stub_connections().await;
        return;
    }
    if std::env::args().any(|a| a == "--scale") {
        let (own, connections) = stub_stack().await;
        println!("## One message to N recipients through the fan-out worker, `@connections` stubbed\n");
        for n in [10_000, 100_000] {
            scale::audience(&own, &connections, n).await;
        }
        return;
    }
    if std::env::args().any(|a| a == "--push") {
        im_adapters::measure_capacity(true);
        let (own, _connections) = stub_stack().await;
        push::costs(&own).await;
        return;
    }
    if std::env::args().any(|a| a == "--cost") {
        cost_per_million().await;
        return;
    }
    if std::env::args().any(|a| a == "--throughput") {
        let (own, connections) = stub_stack().await;
        let clients = std::sync::Arc::new(im_adapters::Clients::local(own.clients.config.clone()));
        println!("## One conversation, N members sending at once ({} messages each, in process)\n", throughput::EACH);
        println!("| senders | messages | messages per second | ack p50 / p99 | refused | numbers 1..=messages, each stored once |");
        println!("| --- | --- | --- | --- | --- | --- |");
        for (i, senders) in [1, 10, 50, 100].into_iter().enumerate() {
            throughput::one_conversation(&clients, &connections, senders, 5_000_000_000 + i as u64 * 1_000).await;
        }
        println!("\n{}", throughput::modelled());
        return;
    }
    if std::env::args().any(|a| a == "--relations") {
        println!("## DynamoDB requests per relationship operation (through the HTTP API, authorizer included)\n");
        relationship_costs().await;
        return;
    }
    if std::env::args().any(|a| a == "--messages") {
        println!("## Messages: send to delivery (group conversation; n = 1 is a one-to-one exchange)\n");
        for (n, count) in [(1, 100), (100, 50), (1000, 20)] {
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
