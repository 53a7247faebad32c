//! `bench --push`: what a push costs, measured. The push worker's job runs in this process on
//! the bench's own stack (DynamoDB Local for its reads, the SNS emulator for its `Publish`), on
//! a single-threaded runtime as in `stub::in_process`: its DynamoDB requests and capacity units
//! as DynamoDB reported them, its CPU time. Priced with SQS's and SNS's list prices; the
//! message the push comes with is priced by `--cost`.

use super::cost::{AWS_ROUND_TRIP_MS, DYNAMODB_RRU, DYNAMODB_WRU, FULL_CPU_MB, LAMBDA_ARM_GB_SECOND, LAMBDA_REQUEST};
use super::stub::thread_cpu;
use im_adapters::Clients;
use im_functions::delivery::push::{deliver, Job};
use im_functions::domain::ids::{Actor, ConversationId, DeviceName, Target, UserId};
use im_functions::domain::message::Outgoing;
use im_functions::domain::push::Platform;
use std::collections::BTreeMap;
use std::time::Duration;

const WARM_UPS: usize = 5;
const MEASURED: usize = 50;
/// SQS: $0.40 per million requests (each 64 KB); SNS: $0.50 per million publishes and $0.50
/// per million mobile push deliveries.
const SQS_REQUEST: f64 = 0.40 / 1e6;
const SNS_PUBLISH: f64 = 0.50 / 1e6;
const SNS_MOBILE_DELIVERY: f64 = 0.50 / 1e6;
/// The worker's sequential DynamoDB stages (functions/src/delivery/push.rs: registrations,
/// the device's cursor, the entry, the edge, the settings, the sender's profile, the
/// correspondents and groups, the unread counts) and SNS's `Publish`, about 20 ms on AWS.
const WORKER_STAGES: f64 = 9.0;
const SNS_PUBLISH_MS: f64 = 20.0;
const WORKER_MEMORY_GB: f64 = 128.0 / 1024.0;
/// Jobs in one SQS batch, one worker invocation (the template's `BatchSize`).
const JOBS_PER_BATCH: f64 = 10.0;

fn actor(id: UserId, device: &str) -> Actor {
    Actor { user_id: id, device: DeviceName::parse(Some(device)).unwrap(), tag: String::new(), connection_id: None }
}

/// One kind of job, measured.
struct Measured {
    requests: BTreeMap<String, f64>,
    read_units: f64,
    write_units: f64,
    cpu_ms: f64,
    publishes: f64,
}

/// Runs `jobs` (made by `make`, after its warm-ups) one after another on a runtime of their own.
fn measure(
    config: im_adapters::Config,
    stack: &im_local::LocalStack,
    token: &str,
    make: &(dyn Fn(usize) -> Job + Sync),
) -> Measured {
    std::thread::scope(|scope| {
        scope
            .spawn(|| {
                let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
                runtime.block_on(async {
                    let clients = Clients::local(config);
                    let (mut requests, mut capacity, mut cpu) = (None, None, Duration::ZERO);
                    let mut published = 0;
                    for i in 0..WARM_UPS + MEASURED {
                        if i == WARM_UPS {
                            requests = Some(clients.dynamodb_requests.snapshot());
                            capacity = Some(clients.dynamodb_requests.capacity());
                            published = stack.gateway.sns.deliveries_to(token).len();
                        }
                        let job = make(i);
                        let before = thread_cpu();
                        deliver(&clients, &job).await.expect("the job runs");
                        if i >= WARM_UPS {
                            cpu += thread_cpu() - before;
                        }
                    }
                    let per = |x: f64| x / MEASURED as f64;
                    let since = clients.dynamodb_requests.since(&requests.expect("measured"));
                    let before = capacity.expect("measured");
                    let (mut read_units, mut write_units) = (0.0, 0.0);
                    for (op, units) in clients.dynamodb_requests.capacity() {
                        let units = units - before.get(&op).copied().unwrap_or(0.0);
                        match ["GetItem", "BatchGetItem", "Query", "TransactGetItems"].contains(&op.as_str()) {
                            true => read_units += units,
                            false => write_units += units,
                        }
                    }
                    Measured {
                        requests: since.into_iter().map(|(op, n)| (op, per(n as f64))).collect(),
                        read_units: per(read_units),
                        write_units: per(write_units),
                        cpu_ms: per(cpu.as_secs_f64() * 1000.0),
                        publishes: per((stack.gateway.sns.deliveries_to(token).len() - published) as f64),
                    }
                })
            })
            .join()
            .expect("the measuring thread")
    })
}

/// The price of one job, per million, and its line.
fn priced(what: &str, measured: &Measured) -> String {
    let duration_ms = measured.cpu_ms * FULL_CPU_MB / 128.0 + WORKER_STAGES * AWS_ROUND_TRIP_MS + SNS_PUBLISH_MS;
    let lambda = LAMBDA_REQUEST / JOBS_PER_BATCH + duration_ms / 1000.0 * WORKER_MEMORY_GB * LAMBDA_ARM_GB_SECOND;
    let dynamodb = measured.read_units * DYNAMODB_RRU + measured.write_units * DYNAMODB_WRU;
    // The sender's SendMessageBatch (one per message, up to ten jobs), and Lambda's poller's
    // receive and delete, one each per batch of ten.
    let sqs = (1.0 + 2.0 / JOBS_PER_BATCH) * SQS_REQUEST;
    let sns = measured.publishes * (SNS_PUBLISH + SNS_MOBILE_DELIVERY);
    let requests: Vec<String> = measured.requests.iter().map(|(op, n)| format!("{op} {n:.1}")).collect();
    format!(
        "| {what} | {} | {:.1} RRU + {:.1} WRU: ${:.2} | {:.2} ms CPU, {duration_ms:.0} ms modelled: ${:.2} | ${:.2} | {:.1}: ${:.2} | **${:.2}** |",
        requests.join(", "),
        measured.read_units,
        measured.write_units,
        dynamodb * 1e6,
        measured.cpu_ms,
        lambda * 1e6,
        sqs * 1e6,
        measured.publishes,
        sns * 1e6,
        (lambda + dynamodb + sqs + sns) * 1e6
    )
}

/// `--push`: a one-to-one message's push to a phone without a socket, and a badge-only push
/// after a read, each job measured.
pub async fn costs(stack: &im_local::LocalStack) {
    let mut config = stack.clients.config.clone();
    // The bench queues nothing: it runs the jobs itself.
    config.push_queue_url = None;
    let setup = Clients::local(config.clone());
    let user = |name: &str| {
        let profile = im_functions::domain::user::Profile::named(name.into(), None, None);
        let setup = &setup;
        async move { im_functions::store::users::insert(setup, &profile, "-".into()).await.expect("a user") }
    };
    let (ann, bob) = (user("ann").await, user("bob").await);
    im_functions::service::contacts::befriend(&setup, &actor(ann, "web"), bob).await.expect("ann asks");
    im_functions::service::contacts::befriend(&setup, &actor(bob, "web"), ann).await.expect("bob accepts");
    let token = format!("fcm-bench-{bob}:APA91bH");
    let registration =
        im_functions::service::push::register(&setup, (bob, "android~phone", "s"), Platform::Fcm, &token)
            .await
            .expect("bob's phone registers");
    let dm = ConversationId::direct(ann, bob);
    let mut seqs = vec![];
    for i in 0..WARM_UPS + MEASURED {
        let out = Outgoing::new(format!("push-{i}"), "text", format!("message {i}"), Target::User(bob)).unwrap();
        seqs.push(im_functions::service::messages::send(&setup, &actor(ann, "web"), &out).await.expect("sent").seq);
    }
    let job = |i: usize, badge_only: bool| Job {
        user: bob,
        conversation: dm.to_string(),
        seq: seqs[i],
        devices: vec![registration.device.clone()],
        badge_only,
    };
    let message = measure(config.clone(), stack, &token, &|i| job(i, false));
    let badge = measure(config, stack, &token, &|i| job(i, true));
    println!("## Mobile push, measured (`bench --push`: {MEASURED} jobs after {WARM_UPS} warm-ups, one device, a user with one conversation)\n");
    println!("| job | worker's DynamoDB requests | DynamoDB units (as reported): $ per million | worker Lambda (arm64, 128 MB, a tenth of an invocation) | SQS | SNS publishes: $ | total per million pushes |");
    println!("| --- | --- | --- | --- | --- | --- | --- |");
    println!("{}", priced("a message to a phone without a socket", &message));
    println!("{}", priced("badge-only, after a read on another device", &badge));
    println!("\nEach further conversation of the user adds one BatchGetItem item pair to the badge's read (0.5 to 1 RRU, $0.06 to $0.13 per million). A recipient with no registered device costs nothing: no job is queued.");
}
