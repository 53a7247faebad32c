//! `bench --throughput`: one conversation, N members sending at once (the issue-23 case of a
//! busy group): messages per second, each sender's ack latency, refusals, and whether the
//! numbers came out dense and once each. Sends run in process against DynamoDB Local with the
//! `@connections` stub, on a multi-threaded runtime (a local stand-in for N Lambda instances).

use super::stub::{Group, StubConnections};
use super::{ms, percentile};
use im_adapters::Clients;
use im_functions::domain::ids::{Actor, ConversationId, GroupId, Target, UserId};
use im_functions::domain::message::Outgoing;
use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Messages each sender sends, one after another.
pub const EACH: usize = 10;

/// DynamoDB's write limit of one partition, which holds a conversation's head and entries.
const PARTITION_WCU: f64 = 1000.0;
/// Write units a group message puts in its conversation's partition: the head's `ADD`, and the
/// transaction of message and dedup key (2 items at double price; the key is its own
/// partition, the message is not: 2 units). The sender's read marker is its own partition.
const GROUP_WCU_IN_PARTITION: f64 = 3.0;

/// N members of one group each send [`EACH`] messages at once; prints one line.
pub async fn one_conversation(clients: &Arc<Clients>, stub: &StubConnections, senders: usize, base: u64) {
    let group = Group::prepare(clients, senders, base).await;
    stub.reset();
    let started = Instant::now();
    let tasks: Vec<_> = group
        .members
        .iter()
        .map(|&member| {
            let clients = clients.clone();
            tokio::spawn(async move {
                let actor = Actor {
                    user_id: UserId(member),
                    device: super::device("bench"),
                    tag: String::new(),
                    connection_id: None,
                };
                let mut results = vec![];
                for i in 0..EACH {
                    let out =
                        Outgoing::new(format!("t{member}-{i}"), "text", "hi".into(), Target::Group(GroupId(base)))
                            .expect("a message");
                    let sent = Instant::now();
                    let answer = im_functions::service::messages::send(clients.as_ref(), &actor, &out).await;
                    results.push((sent.elapsed(), answer.map(|s| s.seq).map_err(|e| format!("{e:?}"))));
                }
                results
            })
        })
        .collect();
    let mut latencies: Vec<Duration> = vec![];
    let (mut seqs, mut refused) = (BTreeSet::new(), vec![]);
    for task in tasks {
        for (latency, answer) in task.await.expect("a sender") {
            latencies.push(latency);
            match answer {
                Ok(seq) => {
                    seqs.insert(seq);
                }
                Err(err) => refused.push(err),
            }
        }
    }
    let elapsed = started.elapsed();
    let total = senders * EACH;
    let (stored, _) = im_functions::store::streams::read_range(
        clients,
        ConversationId::Group(GroupId(base)),
        0,
        u64::MAX / 2,
        total + 10,
    )
    .await
    .expect("the conversation reads");
    let dense = seqs.len() == total && seqs.iter().copied().eq(1..=total as u64) && stored.len() == total;
    println!(
        "| {senders} | {total} | {:.0} | {} / {} | {} | {} |",
        total as f64 / elapsed.as_secs_f64(),
        ms(percentile(&mut latencies, 0.5)),
        ms(percentile(&mut latencies, 0.99)),
        refused.len(),
        if dense { "yes".to_string() } else { format!("no: {} numbers, {} stored", seqs.len(), stored.len()) }
    );
    if let Some(first) = refused.first() {
        println!("  first refusal: {first}");
    }
}

/// What one conversation can take on AWS, from DynamoDB's per-partition limit.
pub fn modelled() -> String {
    format!(
        "On AWS one conversation's partition takes {PARTITION_WCU:.0} write units a second: a group message puts {GROUP_WCU_IN_PARTITION:.0} there (the head's `ADD`, the message in its transaction), so about {:.0} messages a second; a one-to-one message 2 (the head's update, the message), about {:.0}. Nothing conflicts below that: DynamoDB applies the head's updates one after another.",
        PARTITION_WCU / GROUP_WCU_IN_PARTITION,
        PARTITION_WCU / 2.0
    )
}
