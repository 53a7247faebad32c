//! A busy group never refuses a message: 100 members send at once, 10 messages each, over HTTP
//! and over the socket, and every message is acknowledged, stored once, in one order that
//! every member's history agrees on.

use im_adapters::Clients;
use im_functions::domain::ids::{DeviceName, GroupId};
use im_tests::{next_text, send_text, Client, Socket};
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};

const MEMBERS: u64 = 100;
const EACH: u64 = 10;
/// Members who send over the socket (the rest over HTTP); only they hold live sockets, so the
/// pushes stay 20 per message on the local gateway.
const ON_SOCKETS: u64 = 20;

/// The server ids (`group#<g>:<seq>`) of one member's sends over HTTP, one after another.
async fn send_over_http(token: String, group: u64, member: u64) -> Vec<String> {
    let client = Client::new().with_token(&token);
    let mut ids = vec![];
    for i in 0..EACH {
        let id = format!("m{member}-{i}");
        let fields = [("g_id", group.to_string()), ("id", id.clone()), ("c", format!("{member} says {i}"))];
        let fields: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let sent = client.post_form("/message", &fields).await;
        assert_eq!(sent.status, 200, "{id}: {}", sent.text);
        ids.push(sent.doc()["message"][0]["sid"].as_str().expect("a server id").to_string());
    }
    ids
}

/// The server ids of one member's sends over its socket (`[[gm]]`, answered `[[a]] id sid`),
/// then reading on until every other member's message has been pushed to it.
async fn send_over_socket(mut socket: Socket, group: u64, member: u64) -> Vec<String> {
    let mut ids = vec![];
    let mut pushed = BTreeSet::new();
    for i in 0..EACH {
        let id = format!("m{member}-{i}");
        send_text(
            &mut socket,
            &format!("[[gm]]\nid = \"{id}\"\nt = \"text\"\nc = \"{member} says {i}\"\ng_id = {group}\n"),
        )
        .await;
        loop {
            let frame = read(&mut socket, &mut pushed).await;
            assert!(frame.get("e").is_none(), "{id} refused: {frame:?}");
            let answer = frame.get("a").and_then(|a| a.as_array()).and_then(|a| a.first()).cloned();
            if let Some(answer) = answer.filter(|a| a.get("id").and_then(|v| v.as_str()) == Some(id.as_str())) {
                ids.push(answer.get("sid").and_then(|v| v.as_str()).expect("a server id").to_string());
                break;
            }
        }
    }
    while (pushed.len() as u64) < (MEMBERS - 1) * EACH {
        read(&mut socket, &mut pushed).await;
    }
    ids
}

/// The next frame, noting the ids of the group messages pushed in it.
async fn read(socket: &mut Socket, pushed: &mut BTreeSet<String>) -> toml::Table {
    let frame: toml::Table = toml::from_str(&next_text(socket).await).expect("a TOML frame");
    for message in frame.get("gm").and_then(|gm| gm.as_array()).into_iter().flatten() {
        pushed.insert(message.get("id").and_then(|v| v.as_str()).unwrap_or_default().to_string());
    }
    frame
}

/// A member's whole history of the group, oldest first, as `(seq, id of the client's send)`,
/// paged back from the newest by `before`.
async fn history(token: &str, group: u64) -> Vec<(u64, String)> {
    let client = Client::new().with_token(token);
    let mut all = vec![];
    let mut before = String::new();
    loop {
        let path = format!("/message/history?g_id={group}&limit=100{before}");
        let page = client.send("GET", &path, Some("application/json"), None).await;
        assert_eq!(page.status, 200, "{}", page.text);
        let doc = page.doc();
        let entries = doc["gm"].as_array().cloned().unwrap_or_default();
        let Some(oldest) = entries.first() else { break };
        before = format!("&before={}", oldest["id"].as_str().unwrap().replace('#', "%23"));
        let shown = entries.iter().map(|e: &Value| (e["seq"].as_u64().unwrap(), e["c"].as_str().unwrap().to_string()));
        all.splice(0..0, shown);
    }
    all
}

#[tokio::test(flavor = "multi_thread")]
async fn a_hundred_members_sending_at_once_are_all_stored_once_in_one_order() {
    let urls = im_tests::stack();
    let clients = Clients::local(urls.config());
    let group = 8_000_000_000 + u64::from(rand::random::<u32>()) * 1000;
    let members: Vec<u64> = (0..MEMBERS).map(|i| group + i).collect();
    im_functions::store::groups::write_memberships(&clients, GroupId(group), &im_tests::user_ids(&members), true)
        .await
        .unwrap();
    let device = DeviceName::parse(Some("android")).unwrap();
    let mut tokens = vec![];
    for &member in &members {
        tokens.push(im_tests::token_for(&clients, member, &device).await);
    }
    let mut sockets = vec![];
    for token in &tokens[..ON_SOCKETS as usize] {
        sockets.push(im_tests::connect(&format!("token={token}&format=toml")).await.expect("connected"));
    }

    // Everyone at once: each member's ten sends one after another, all members side by side.
    let mut senders = tokio::task::JoinSet::new();
    let mut sockets = sockets.into_iter();
    for (token, &member) in tokens.iter().zip(&members) {
        match sockets.next() {
            Some(socket) => senders.spawn(send_over_socket(socket, group, member)),
            None => senders.spawn(send_over_http(token.clone(), group, member)),
        };
    }
    let sent: Vec<Vec<String>> = senders.join_all().await;

    // Every send was acknowledged with a number of its own.
    let ids: Vec<&String> = sent.iter().flatten().collect();
    assert_eq!(ids.len() as u64, MEMBERS * EACH, "every send acknowledged");
    let seqs: BTreeSet<u64> = ids.iter().map(|id| id.rsplit(':').next().unwrap().parse().unwrap()).collect();
    assert_eq!(seqs.len(), ids.len(), "no sequence twice");

    // Stored once each, and every member reads the same history in the same order.
    let first = history(&tokens[0], group).await;
    let contents: BTreeMap<&String, usize> = first.iter().fold(BTreeMap::new(), |mut seen, (_, c)| {
        *seen.entry(c).or_default() += 1;
        seen
    });
    assert_eq!(first.len() as u64, MEMBERS * EACH, "each message stored once");
    assert!(contents.values().all(|&n| n == 1), "a message stored twice");
    assert_eq!(first.iter().map(|(seq, _)| *seq).collect::<BTreeSet<_>>(), seqs, "the acknowledged numbers");
    for token in [&tokens[ON_SOCKETS as usize], &tokens[MEMBERS as usize - 1]] {
        assert_eq!(history(token, group).await, first, "members disagree on the order");
    }
}
