//! Delivery on a bad network: every device drops and reconnects at random while a group's
//! members send over `POST /message`. Each device acks every message it receives live, one by
//! one, as seed clients do (simple_im `[[a]]` per `[[m]]`, seed 003 `ACK` per `NOTIFY_NEW_MSG`),
//! and never syncs until the end; then it syncs (`[[s]]` / `SYNC`, acking each page) until
//! `more` is false. Nothing may be lost, and nothing a device confirmed may come back.
//!
//! `CHURN_SOAK=1` runs the longer variant (`make soak`); its figures go in docs/BENCHMARKS.md.

use futures::StreamExt;
use im_tests::{connect, login, new_user, send_text, Client, Socket, User};
use rand::Rng;
use serde_json::{json, Value};
use std::collections::{BTreeSet, HashSet, VecDeque};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tokio::time::Instant;

/// The size of a run: users × devices each × messages each, and how long a socket stays up.
struct Scenario {
    users: usize,
    devices: usize,
    messages_each: usize,
    up_ms: (u64, u64),
}

impl Scenario {
    fn from_env() -> Scenario {
        match std::env::var("CHURN_SOAK") {
            Ok(_) => Scenario { users: 10, devices: 3, messages_each: 60, up_ms: (300, 2500) },
            Err(_) => Scenario { users: 6, devices: 2, messages_each: 15, up_ms: (300, 2500) },
        }
    }
}

/// What one device saw.
#[derive(Default)]
struct DeviceLog {
    /// Message ids received, live or by sync (a client dedups by id).
    received: HashSet<String>,
    /// Message ids whose ack the server has certainly processed (a PING sent after the ack
    /// was answered: frames of one connection are handled in order).
    confirmed: HashSet<String>,
    /// Messages that arrived again after the device had confirmed them: must stay 0.
    redelivered: usize,
    /// Messages received more than once before being confirmed (allowed: at-least-once).
    repeated: usize,
    connections: usize,
}

impl DeviceLog {
    fn saw(&mut self, id: &str) {
        if self.confirmed.contains(id) {
            self.redelivered += 1;
        } else if !self.received.insert(id.to_string()) {
            self.repeated += 1;
        }
    }
}

/// One device's socket in its dialect.
struct Device {
    toml: bool,
    query: String,
}

impl Device {
    fn ack(&self, ids: &[String]) -> String {
        if self.toml {
            ids.iter().map(|id| format!("[[a]]\nid = \"{id}\"\n")).collect()
        } else {
            json!({ "event": "ACK", "data": { "ids": ids } }).to_string()
        }
    }

    fn ping(&self) -> &'static str {
        if self.toml {
            "[[p]]\n"
        } else {
            r#"{"event":"PING"}"#
        }
    }

    fn sync(&self) -> &'static str {
        if self.toml {
            "[[s]]\n"
        } else {
            r#"{"event":"SYNC"}"#
        }
    }

    /// The frame as a document: TOML tables, or the JSON event with its data.
    fn read(&self, frame: &str) -> Value {
        if self.toml {
            serde_json::to_value(toml::from_str::<toml::Table>(frame).unwrap_or_else(|e| panic!("{frame:?}: {e}")))
                .unwrap()
        } else {
            serde_json::from_str(frame).unwrap_or_else(|e| panic!("{frame:?}: {e}"))
        }
    }

    /// Group message ids a pushed frame carries.
    fn pushed_messages(&self, doc: &Value) -> Vec<String> {
        let entries = if self.toml {
            doc["gm"].as_array().cloned().unwrap_or_default()
        } else if doc["event"] == "NOTIFY_NEW_MSG" {
            vec![doc["data"]["msg"].clone()]
        } else {
            vec![]
        };
        entries.iter().filter_map(|m| m["id"].as_str().map(str::to_string)).collect()
    }

    fn is_pong(&self, doc: &Value) -> bool {
        if self.toml {
            doc.get("pp").is_some()
        } else {
            doc["event"] == "PONG"
        }
    }
}

/// The next text frame before `deadline`; `None` when the deadline passed or the socket ended.
async fn next_before(socket: &mut Socket, deadline: Instant) -> Option<String> {
    loop {
        match tokio::time::timeout_at(deadline, socket.next()).await {
            Ok(Some(Ok(tokio_tungstenite::tungstenite::Message::Text(text)))) => return Some(text.to_string()),
            Ok(Some(Ok(_))) => continue,
            _ => return None,
        }
    }
}

/// Churns until `stop`: connect, receive and ack live, drop without a close frame, reconnect.
async fn churn(device: &Device, up_ms: (u64, u64), stop: Arc<AtomicBool>) -> DeviceLog {
    let mut log = DeviceLog::default();
    while !stop.load(Ordering::Relaxed) {
        let mut socket = connect(&device.query).await.expect("reconnect accepted");
        log.connections += 1;
        let up = Duration::from_millis(rand::thread_rng().gen_range(up_ms.0..=up_ms.1));
        let deadline = Instant::now() + up;
        // Acks waiting for the answer of the PING sent after them.
        let mut unanswered: VecDeque<Vec<String>> = VecDeque::new();
        while let Some(frame) = next_before(&mut socket, deadline).await {
            let doc = device.read(&frame);
            if device.is_pong(&doc) {
                log.confirmed.extend(unanswered.pop_front().unwrap_or_default());
                continue;
            }
            let ids = device.pushed_messages(&doc);
            if ids.is_empty() {
                continue;
            }
            for id in &ids {
                log.saw(id);
            }
            send_text(&mut socket, &device.ack(&ids)).await;
            send_text(&mut socket, device.ping()).await;
            unanswered.push_back(ids);
        }
        drop(socket); // the network goes: no close frame
        let pause = Duration::from_millis(rand::thread_rng().gen_range(20..200));
        tokio::time::sleep(pause).await;
    }
    log
}

/// The end of the run: sync, ack each page, until nothing more is pending.
async fn sync_to_the_end(device: &Device, log: &mut DeviceLog) {
    let mut socket = connect(&device.query).await.expect("final connect accepted");
    for _ in 0..1000 {
        send_text(&mut socket, device.sync()).await;
        let page = device.read(&next_before(&mut socket, Instant::now() + Duration::from_secs(10)).await.unwrap());
        let (data, more) = if device.toml {
            (page.clone(), im_tests::flag(&page["sync"][0]["more"]).expect("[[sync]] more"))
        } else {
            assert_eq!(page["event"], "OK", "{page}");
            (page["data"].clone(), page["data"]["more"].as_bool().expect("more"))
        };
        let mut ids = vec![];
        for table in ["gm", "n"] {
            for entry in data[table].as_array().into_iter().flatten() {
                let id = entry["id"].as_str().expect("id").to_string();
                assert!(entry["seq"].as_u64().is_some(), "every sync entry carries its sequence: {entry}");
                if table == "gm" {
                    log.saw(&id);
                }
                ids.push(id);
            }
        }
        if !ids.is_empty() {
            send_text(&mut socket, &device.ack(&ids)).await;
        }
        send_text(&mut socket, device.ping()).await;
        loop {
            let doc = device.read(&next_before(&mut socket, Instant::now() + Duration::from_secs(10)).await.unwrap());
            if device.is_pong(&doc) {
                break;
            }
        }
        log.confirmed.extend(ids.into_iter().filter(|id| id.starts_with("group#")));
        if !more {
            return;
        }
    }
    panic!("sync never ended");
}

#[tokio::test]
async fn devices_that_drop_and_ack_live_lose_nothing_and_get_nothing_twice() {
    let scenario = Scenario::from_env();
    let mut users: Vec<User> = vec![];
    for i in 0..scenario.users {
        users.push(new_user(&format!("churn{i}"), "web").await);
    }
    for user in &users[1..] {
        im_tests::befriend(&users[0], user).await;
    }
    let others: Vec<String> = users[1..].iter().map(|u| u.id.to_string()).collect();
    let mut form: Vec<(&str, &str)> = others.iter().map(|id| ("members[]", id.as_str())).collect();
    form.push(("name", "bad network"));
    let created = Client::new().with_token(&users[0].token).post_form("/group", &form).await;
    assert_eq!(created.status, 200, "{}", created.text);
    let g_id = created.doc()["group"][0]["g_id"].as_u64().unwrap();

    let mut devices = vec![];
    for user in &users {
        for d in 0..scenario.devices {
            let name = format!("phone{d}");
            let token = login(&user.phone, &name).await;
            let toml = d % 2 == 0;
            let format = if toml { "toml" } else { "json" };
            devices.push(Arc::new(Device { toml, query: format!("token={token}&device={name}&format={format}") }));
        }
    }
    let stop = Arc::new(AtomicBool::new(false));
    let churning: Vec<_> =
        devices.iter().map(|device| tokio::spawn(churn_owned(device.clone(), scenario.up_ms, stop.clone()))).collect();

    let sends = users.iter().enumerate().map(|(u, user)| {
        let sender = Client::new().with_token(&user.token);
        let count = scenario.messages_each;
        async move {
            let mut ids = vec![];
            for i in 0..count {
                let pause = Duration::from_millis(rand::thread_rng().gen_range(0..150));
                tokio::time::sleep(pause).await;
                let answer = sender
                    .post_form(
                        "/message",
                        &[("g_id", &g_id.to_string()), ("id", &format!("u{u}-{i}")), ("c", &format!("{u}/{i}"))],
                    )
                    .await;
                assert_eq!(answer.status, 200, "{}", answer.text);
                ids.push(answer.doc()["message"][0]["sid"].as_str().unwrap().to_string());
            }
            ids
        }
    });
    let expected: BTreeSet<String> = futures::future::join_all(sends).await.into_iter().flatten().collect();
    assert_eq!(expected.len(), scenario.users * scenario.messages_each);
    // Let the last pushes land on whatever sockets are up, then stop churning.
    tokio::time::sleep(Duration::from_millis(scenario.up_ms.1)).await;
    stop.store(true, Ordering::Relaxed);

    let (mut lost, mut redelivered, mut repeated, mut connections) = (0, 0, 0, 0);
    for (device, task) in devices.iter().zip(churning) {
        let mut log = task.await.expect("device task");
        sync_to_the_end(device, &mut log).await;
        lost += expected.difference(&log.received.iter().cloned().collect()).count();
        redelivered += log.redelivered;
        repeated += log.repeated;
        connections += log.connections;
    }
    eprintln!(
        "churn: {} users, {} devices, {} messages, {} device-messages, {connections} connections \
         ({} disconnects), lost {lost}, redelivered after confirmation {redelivered}, repeated before \
         confirmation {repeated}",
        scenario.users,
        devices.len(),
        expected.len(),
        expected.len() * devices.len(),
        connections - devices.len(),
    );
    assert!(connections > 2 * devices.len(), "the test must really disconnect: {connections} connections");
    assert_eq!(lost, 0, "device-messages never received");
    assert_eq!(redelivered, 0, "confirmed messages that came back");
}

async fn churn_owned(device: Arc<Device>, up_ms: (u64, u64), stop: Arc<AtomicBool>) -> DeviceLog {
    churn(&device, up_ms, stop).await
}
