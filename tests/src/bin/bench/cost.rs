//! `bench --cost`: what a million messages cost on AWS, from measured handler time and counted
//! DynamoDB requests, beside AWS's reference chat (aws-samples/simple-websockets-chat-app) for
//! the same traffic. List prices of us-east-1 (on-demand DynamoDB after its November 2024 cut).

use super::stub::Measured;

pub const LAMBDA_ARM_GB_SECOND: f64 = 0.000_013_333_4;
const LAMBDA_X86_GB_SECOND: f64 = 0.000_016_666_7;
pub const LAMBDA_REQUEST: f64 = 0.20 / 1e6;
pub const DYNAMODB_WRU: f64 = 0.625 / 1e6;
pub const DYNAMODB_RRU: f64 = 0.125 / 1e6;
/// WebSocket messages (each 32 KB or part of it), and HTTP API requests: the same price.
const GATEWAY_MESSAGE: f64 = 1.00 / 1e6;
const GATEWAY_CONNECTION_MINUTE: f64 = 0.25 / 1e6;
const S3_PUT: f64 = 0.005 / 1000.0;
const S3_GET: f64 = 0.0004 / 1000.0;
const S3_GB_MONTH: f64 = 0.023;

/// Lambda gives a function CPU in proportion to its memory: one vCPU at 1769 MB. CPU-bound time
/// stretches by 1769 / memory; a CPU-second costs 1.769 GB-seconds whatever the memory.
pub const FULL_CPU_MB: f64 = 1769.0;
/// On AWS a DynamoDB round trip takes about 4 ms, a wave of posts to `@connections` about
/// 10 ms, an `Invoke` about 15 ms: the waits added to the CPU time.
pub const AWS_ROUND_TRIP_MS: f64 = 4.0;
const AWS_POST_WAVE_MS: f64 = 10.0;
const AWS_INVOKE_MS: f64 = 15.0;
/// Posts in flight at once (the pusher's concurrency).
const POSTS_AT_ONCE: f64 = 64.0;
/// Round trips one after another before a send's first post (functions/src/service/messages.rs):
/// the checks at once (the edge or the members, the profile, a group's duplicate check; the
/// rate counter once a batch); the head's update; the message's write beside the connection
/// look-up (a group's beside the sender's read marker too).
pub const SEND_STAGES: f64 = 3.0;

/// The template's memory size for the send functions.
const MEMORY_GB: f64 = 128.0 / 1024.0;
/// The reference chat's `sendmessage`: 256 MB, x86_64 (its template sets no architecture).
const REFERENCE_MEMORY_GB: f64 = 256.0 / 1024.0;
/// A reference connection item is its connection id, about 30 bytes.
const REFERENCE_ITEM_BYTES: f64 = 30.0;
/// A membership item of ours (group, member, flags).
const MEMBERSHIP_ITEM_BYTES: f64 = 60.0;

/// Read and write units of one message from its counted requests, for an audience of `n`
/// users: every item read is under 4 KB, every item written under 1 KB (a text message item is
/// about 300 bytes); transactions cost double, the send's transaction writes 2 items (message,
/// idempotency key: the head moves by its own `UpdateItem`); a BatchGetItem of connections reads one eventually consistent
/// item per user; the members Query reads `n` small items consistently.
pub fn units(measured: &Measured, n: usize) -> (f64, f64) {
    if !measured.capacity_per_message.is_empty() {
        return measured_units(measured);
    }
    let (mut read, mut write) = (0.0, 0.0);
    for (op, count) in &measured.requests_per_message {
        match op.as_str() {
            "GetItem" => read += count,
            "TransactGetItems" => read += count * 2.0 * 2.0,
            "BatchGetItem" => read += 0.5 * n as f64,
            "Query" => read += count * (n as f64 * MEMBERSHIP_ITEM_BYTES / 4096.0).ceil().max(1.0),
            "PutItem" | "UpdateItem" | "DeleteItem" => write += count,
            "TransactWriteItems" => write += count * 2.0 * 2.0,
            _ => {}
        }
    }
    (read, write)
}

/// Read and write units of one message as DynamoDB Local reported them (`ReturnConsumedCapacity`
/// on every request of the run, the fan-out worker's included).
fn measured_units(measured: &Measured) -> (f64, f64) {
    const READS: [&str; 5] = ["GetItem", "BatchGetItem", "Query", "Scan", "TransactGetItems"];
    let (reads, writes): (Vec<_>, Vec<_>) =
        measured.capacity_per_message.iter().partition(|(op, _)| READS.contains(&op.as_str()));
    (reads.iter().map(|(_, u)| **u).sum(), writes.iter().map(|(_, u)| **u).sum())
}

/// One row: the cost of a million messages, by service.
pub struct Row {
    pub traffic: String,
    pub design: &'static str,
    pub duration_ms: f64,
    pub lambda: f64,
    pub read_units: f64,
    pub write_units: f64,
    pub dynamodb: f64,
    pub gateway: f64,
}

impl Row {
    pub fn total(&self) -> f64 {
        self.lambda + self.dynamodb + self.gateway
    }

    pub fn markdown(&self) -> String {
        // Cents show where the one-to-one rows differ; whole dollars suffice for groups.
        let total = self.total() * 1e6;
        let total = if total < 10.0 { format!("{total:.2}") } else { format!("{total:.0}") };
        format!(
            "| {} | {} | {:.0} ms | ${:.2} | {:.1} RRU + {:.0} WRU: ${:.2} | ${:.0} | **${total}** |",
            self.traffic,
            self.design,
            self.duration_ms,
            self.lambda * 1e6,
            self.read_units,
            self.write_units,
            self.dynamodb * 1e6,
            self.gateway * 1e6,
        )
    }
}

/// Fan-out worker invocations per message for an audience of `n` (docs/ARCHITECTURE.md):
/// batches of 5000 handed off beyond 100 users, split in invocations of 1000 beyond 1000.
fn worker_invocations(n: usize) -> f64 {
    let n = n as f64;
    match n {
        _ if n <= 100.0 => 0.0,
        _ if n <= 1000.0 => 1.0,
        _ => (n / 5000.0).ceil() + (n / 1000.0).ceil(),
    }
}

/// Where a send comes in: an HTTP request (its answer is the request's own), or a socket frame,
/// whose answer frame API Gateway bills as one more message.
#[derive(Clone, Copy, PartialEq)]
pub enum Surface {
    Http,
    Socket,
}

/// This project's send to `n` users (n = 2: one-to-one), from its measured CPU time, requests
/// and posts (the fan-out worker's included). `cpu_per_post` prices the worker's posts, which
/// run outside the measured handler.
pub fn ours(traffic: &str, measured: &Measured, n: usize, cpu_per_post: f64, surface: Surface) -> Row {
    let workers = worker_invocations(n);
    let mut cpu_ms = measured.cpu_per_message.as_secs_f64() * 1000.0;
    let mut waits =
        SEND_STAGES * AWS_ROUND_TRIP_MS + (measured.posts_per_message / POSTS_AT_ONCE).ceil() * AWS_POST_WAVE_MS;
    if workers > 0.0 {
        // The worker posts (its CPU), reads the entry and the connections (one stage each).
        cpu_ms += measured.posts_per_message * cpu_per_post;
        waits += AWS_INVOKE_MS * (workers / 16.0).ceil() + 2.0 * AWS_ROUND_TRIP_MS;
    }
    let duration_ms = (cpu_ms * FULL_CPU_MB / 128.0 + waits).ceil();
    let (read_units, write_units) = units(measured, n);
    Row {
        traffic: traffic.into(),
        design: "this project (Rust, arm64, 128 MB)",
        duration_ms,
        lambda: (1.0 + workers) * LAMBDA_REQUEST + duration_ms / 1000.0 * MEMORY_GB * LAMBDA_ARM_GB_SECOND,
        read_units,
        write_units,
        dynamodb: read_units * DYNAMODB_RRU + write_units * DYNAMODB_WRU,
        // The sender's frame or request in, its answer frame on a socket, one post per other
        // device out.
        gateway: (1.0 + if surface == Surface::Socket { 1.0 } else { 0.0 } + measured.posts_per_message)
            * GATEWAY_MESSAGE,
    }
}

/// The reference chat's `sendmessage` measured in this run (`tests/reference/measure.mjs`, the
/// design re-written from its README, on Node.js against the same DynamoDB Local and stub).
#[derive(serde::Deserialize)]
pub struct ReferenceMeasured {
    pub n: usize,
    pub handler_p50_ms: f64,
    /// The Node.js process's CPU time per send (`process.cpuUsage`), its SDK's included.
    pub cpu_ms: f64,
    pub sends: usize,
}

impl ReferenceMeasured {
    pub fn line(&self) -> String {
        format!(
            "- reference chat, {} connections (Node.js {}, measured in this run, {} sends): handler p50 {:.1} ms, CPU {:.2} ms per send",
            self.n,
            node_version(),
            self.sends,
            self.handler_p50_ms,
            self.cpu_ms
        )
    }
}

fn node_version() -> String {
    let out = std::process::Command::new("node").arg("--version").output();
    out.map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string()).unwrap_or_default()
}

/// Runs the reference chat's handler for audiences `ns` (its modules installed by `make bench`).
pub fn measure_reference(config: &im_adapters::Config, connections_url: &str, ns: &[usize]) -> Vec<ReferenceMeasured> {
    let dir = im_local::project_root().join("tests/reference");
    let audiences: Vec<String> = ns.iter().map(ToString::to_string).collect();
    let out = std::process::Command::new("node")
        .arg(dir.join("measure.mjs"))
        .current_dir(&dir)
        .env("DYNAMODB_ENDPOINT", config.dynamodb_endpoint.as_deref().expect("the local DynamoDB"))
        .env("CONNECTIONS_URL", connections_url)
        .env("AUDIENCES", audiences.join(","))
        .env("SENDS", super::stub::MEASURED.to_string())
        .env("WARM_UPS", super::stub::WARM_UPS.to_string())
        .output()
        .expect("node runs (make bench installs tests/reference's modules)");
    assert!(out.status.success(), "the reference chat failed: {}", String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice(&out.stdout).expect("the reference's measurements")
}

/// The reference chat for the same audience: its `sendmessage` Scans every connection (at
/// least the `n` of the audience) and posts to each, the sender included; it stores nothing.
/// Its CPU time as measured in this run.
pub fn reference(traffic: &str, measured: &ReferenceMeasured) -> Row {
    let n = measured.n;
    // One Scan per MB of connections; it posts all at once (`Promise.all`).
    let waits = AWS_ROUND_TRIP_MS * (n as f64 * REFERENCE_ITEM_BYTES / (1024.0 * 1024.0)).ceil() + AWS_POST_WAVE_MS;
    let duration_ms = (measured.cpu_ms * FULL_CPU_MB / 256.0 + waits).ceil();
    let read_units = 0.5 * (n as f64 * REFERENCE_ITEM_BYTES / 4096.0).ceil();
    Row {
        traffic: traffic.into(),
        design: "reference chat (Node.js, x86_64, 256 MB)",
        duration_ms,
        lambda: LAMBDA_REQUEST + duration_ms / 1000.0 * REFERENCE_MEMORY_GB * LAMBDA_X86_GB_SECOND,
        read_units,
        write_units: 0.0,
        dynamodb: read_units * DYNAMODB_RRU,
        gateway: (1.0 + n as f64) * GATEWAY_MESSAGE,
    }
}

/// The extras that do not depend on the design: a device online all month, and a voice note.
pub fn extras() -> Vec<String> {
    let month_minutes = 30.0 * 24.0 * 60.0;
    // A 10 s AMR note at 12.2 kbit/s is about 16 KB; the upload is a PUT, attaching it a copy
    // (PUT-priced) and a delete (free), each listener one GET; kept a month.
    let note_gb = 16.0 / 1024.0 / 1024.0;
    let one_to_one = 2.0 * S3_PUT + S3_GET + note_gb * S3_GB_MONTH;
    let group_100 = 2.0 * S3_PUT + 99.0 * S3_GET + note_gb * S3_GB_MONTH;
    vec![
        format!(
            "- a device connected all month: {:.0} connection minutes, ${:.4} (both designs)",
            month_minutes,
            month_minutes * GATEWAY_CONNECTION_MINUTE
        ),
        format!(
            "- S3 for a million one-to-one voice notes (16 KB, kept a month): ${:.2}; to a group of 100, every member listening: ${:.2} (the message itself is priced as above)",
            one_to_one * 1e6,
            group_100 * 1e6
        ),
    ]
}
