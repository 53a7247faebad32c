//! `bench --scale`: one message to 10 000 and 100 000 recipients, each with one live connection
//! on the counting stub, through the fan-out hand-off (asynchronous invocations of the worker on
//! the local Lambda API): the sender's ack, the time to the last post, the invocations used,
//! and that every connection got exactly one post.

use super::ms;
use super::stub::StubConnections;
use aws_sdk_dynamodb::types::{AttributeValue, PutRequest, WriteRequest};
use futures::StreamExt;
use im_functions::domain::ids::{Actor, ConversationId, DeviceName, GroupId, UserId};
use im_functions::domain::notice::{Change, Notice};
use std::collections::HashMap;
use std::time::Instant;

/// Writes one live connection per user straight into the connections table (25 users a
/// BatchWriteItem): only what delivery reads, the `user#` item with its `conns` map.
async fn connect_all(clients: &im_adapters::Clients, users: &[u64]) {
    let now = im_functions::domain::now_secs();
    let table = clients.config.tables.connections.clone();
    let batches: Vec<Vec<u64>> = users.chunks(25).map(<[u64]>::to_vec).collect();
    futures::stream::iter(batches)
        .map(|batch| {
            let table = table.clone();
            async move {
                let writes: Vec<WriteRequest> = batch
                    .iter()
                    .map(|user| {
                        let live = HashMap::from([
                            ("d".to_string(), AttributeValue::S(super::stub::DEVICE.into())),
                            ("f".to_string(), AttributeValue::S("toml".into())),
                            ("at".to_string(), AttributeValue::N(now.to_string())),
                            ("g".to_string(), AttributeValue::S(String::new())),
                        ]);
                        let conns = HashMap::from([(format!("stub{user}="), AttributeValue::M(live))]);
                        let item = HashMap::from([
                            ("pk".to_string(), AttributeValue::S(format!("user#{user}"))),
                            ("conns".to_string(), AttributeValue::M(conns)),
                        ]);
                        let put = PutRequest::builder().set_item(Some(item)).build().expect("an item");
                        WriteRequest::builder().put_request(put).build()
                    })
                    .collect();
                let mut pending = HashMap::from([(table, writes)]);
                while !pending.is_empty() {
                    let out = clients
                        .dynamodb
                        .batch_write_item()
                        .set_request_items(Some(pending))
                        .send()
                        .await
                        .expect("DynamoDB Local writes");
                    pending = out.unprocessed_items.unwrap_or_default();
                    pending.retain(|_, w| !w.is_empty());
                }
            }
        })
        .buffer_unordered(16)
        .collect::<Vec<()>>()
        .await;
}

pub async fn audience(own: &im_local::LocalStack, stub: &StubConnections, n: usize) {
    let clients = im_adapters::Clients::local(own.clients.config.clone());
    let base = 5_000_000_000 + n as u64 * 10;
    let users: Vec<u64> = (0..n as u64).map(|i| base + i).collect();
    let setup = Instant::now();
    connect_all(&clients, &users).await;
    let setup = setup.elapsed();
    let actor = Actor {
        user_id: UserId(users[0]),
        device: DeviceName::parse(Some(super::stub::DEVICE)).expect("a device"),
        tag: String::new(),
        connection_id: Some(format!("stub{}=", users[0])),
    };
    let what = Change::CreateGroup { g_id: GroupId(base), g_key: String::new(), name: "to everyone".into() };
    let notice = Notice { what, from: UserId(users[0]), to: Some(base), ts: 0, d: super::stub::DEVICE.into() };
    let invocations = own.gateway.invocations.of("fan_out");
    stub.reset();
    let start = Instant::now();
    im_functions::delivery::tell_group(
        &clients,
        &actor,
        ConversationId::Group(GroupId(base)),
        &im_tests::user_ids(&users),
        &notice,
    )
    .await
    .expect("stored and handed off");
    let ack = start.elapsed();
    let last = super::stub::posts_reach(stub, n as u64 - 1).await - start;
    let after = own.gateway.invocations.of("fan_out");
    let per_connection = stub.per_connection();
    let once = per_connection.values().filter(|count| **count == 1).count();
    let more = per_connection.values().filter(|count| **count > 1).count();
    println!(
        "- N = {n}: sender's ack {}, last post after {}; fan_out invocations {} (runs {}, failed {}); posts {} to {} connections: {} exactly once, {} more than once, {} missed (setting up {n} connections took {:.1} s)",
        ms(ack),
        ms(last),
        after.queued - invocations.queued,
        after.runs - invocations.runs,
        after.failed_runs - invocations.failed_runs,
        stub.posts(),
        n - 1,
        once,
        more,
        (n - 1).saturating_sub(per_connection.len()),
        setup.as_secs_f64()
    );
}
