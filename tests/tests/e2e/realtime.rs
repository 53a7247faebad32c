//! Real-time delivery: every device of a user, no echo to the acting device, offline sync and
//! acks, gone connections, both socket dialects with login by the first frame.

use im_tests::{connect, connection_ids, dynamodb, eventually, login, new_user, next_text, send_text, Client, Socket};
use serde_json::{json, Value};

fn toml_doc(frame: &str) -> Value {
    serde_json::to_value(toml::from_str::<toml::Table>(frame).unwrap_or_else(|e| panic!("{frame:?}: {e}"))).unwrap()
}

fn json_doc(frame: &str) -> Value {
    serde_json::from_str(frame).unwrap_or_else(|e| panic!("{frame:?}: {e}"))
}

/// Proves nothing else is queued for `socket`: a PING's answer is the very next frame.
async fn assert_nothing_pending(socket: &mut Socket, json: bool) {
    if json {
        send_text(socket, r#"{"event":"PING"}"#).await;
        assert_eq!(json_doc(&next_text(socket).await)["event"], "PONG");
    } else {
        send_text(socket, "[[p]]\n").await;
        assert!(next_text(socket).await.starts_with("[[pp]]\nts = "));
    }
}

#[tokio::test]
async fn every_device_gets_it_except_the_one_that_acted() {
    let alice = new_user("alice", "web").await;
    let bob = new_user("bob", "android").await;
    let mut bob_android = connect(&format!("token={}&format=toml", bob.token)).await.unwrap();
    let mut bob_iphone = connect(&format!("token={}&device=iphone", login(&bob.phone, "iphone").await)).await.unwrap();
    let mut bob_ipad = connect(&format!("token={}&device=ipad", login(&bob.phone, "ipad").await)).await.unwrap();
    assert_eq!(connection_ids(bob.id).await.len(), 3);

    let asked =
        Client::new().with_token(&alice.token).post_form(&format!("/contact/{}", bob.id), &[("ask", "hello")]).await;
    assert_eq!(asked.status, 200, "{}", asked.text);
    let toml_frame = toml_doc(&next_text(&mut bob_android).await);
    let n = &toml_frame["n"][0];
    assert_eq!(
        (n["t"].as_str(), n["from"].as_u64(), n["to"].as_u64()),
        (Some("add_contact"), Some(alice.id), Some(bob.id))
    );
    assert_eq!(n["ask"], "hello");
    assert!(n["ts"].as_u64().is_some() && n["id"].as_str().unwrap().starts_with("n:"));
    for socket in [&mut bob_iphone, &mut bob_ipad] {
        let frame = json_doc(&next_text(socket).await);
        assert_eq!(frame["event"], "NOTIFY_UPDATE_CONTACT");
        assert_eq!(frame["data"]["t"], "add_contact");
        assert_eq!(frame["data"]["from"], json!(alice.id));
    }

    // Bob accepts from his android (HTTP, same device as that socket): the others hear of it.
    let accepted =
        Client::new().with_token(&bob.token).send("PUT", &format!("/contact/{}", alice.id), None, None).await;
    assert_eq!(accepted.status, 200, "{}", accepted.text);
    for socket in [&mut bob_iphone, &mut bob_ipad] {
        let frame = json_doc(&next_text(socket).await);
        assert_eq!(
            (frame["data"]["t"].as_str(), frame["data"]["d"].as_str()),
            (Some("accept_contact"), Some("android"))
        );
    }
    assert_nothing_pending(&mut bob_android, false).await;
    assert_nothing_pending(&mut bob_iphone, true).await;
}

#[tokio::test]
async fn offline_notifications_arrive_by_sync_and_get_offline_exactly_once_after_ack() {
    let alice = new_user("alice", "web").await;
    let bob = new_user("bob", "android").await;
    let alice_client = Client::new().with_token(&alice.token);
    // Devices logged in before and offline meanwhile: each keeps its own count.
    let ipad = Client::new().with_token(&login(&bob.phone, "ipad").await);
    let alice_phone = Client::new().with_token(&login(&alice.phone, "iphone").await);
    assert_eq!(alice_client.post_form(&format!("/contact/{}", bob.id), &[("ask", "hi")]).await.status, 200);
    assert_eq!(alice_client.send("DELETE", &format!("/contact/{}", bob.id), None, None).await.status, 200);

    let bob_client = Client::new().with_token(&bob.token);
    let offline = bob_client.get("/offline").await;
    assert_eq!(offline.status, 200);
    let doc = offline.doc();
    let kinds: Vec<&str> = doc["n"].as_array().unwrap().iter().map(|n| n["t"].as_str().unwrap()).collect();
    assert_eq!(kinds, ["add_contact", "delete_contact"], "in order");
    assert_eq!(doc["n"][1]["d"], "web");
    let first_id = doc["n"][0]["id"].as_str().unwrap().to_string();
    let last_id = doc["n"][1]["id"].as_str().unwrap().to_string();

    // The same two, in order, by sync over a socket; then from the first id on, only the second.
    let mut socket = connect(&format!("token={}&format=toml", bob.token)).await.unwrap();
    send_text(&mut socket, "[[s]]\n").await;
    let synced = toml_doc(&next_text(&mut socket).await);
    assert_eq!(synced["n"].as_array().unwrap().len(), 2);
    assert_eq!(synced["sync"][0]["more"], 0, "no booleans in TOML");
    send_text(&mut socket, &format!("[[s]]\nafter = \"{first_id}\"\n")).await;
    let synced = toml_doc(&next_text(&mut socket).await);
    assert_eq!(synced["n"][0]["id"], json!(last_id));
    assert_eq!(synced["n"].as_array().unwrap().len(), 1);

    // An ack confirms the entry it names, not the ones before it.
    send_text(&mut socket, &format!("[[a]]\nid = \"{last_id}\"\n")).await;
    assert_nothing_pending(&mut socket, false).await;
    let left = bob_client.get("/offline").await.doc();
    assert_eq!(left["n"].as_array().unwrap().len(), 1, "{left}");
    assert_eq!(left["n"][0]["id"], json!(first_id));
    // Acknowledged over the socket: gone from GET /offline for this device, still there for another.
    send_text(&mut socket, &format!("[[a]]\nid = \"{first_id}\"\n")).await;
    assert_nothing_pending(&mut socket, false).await;
    assert!(bob_client.get("/offline").await.doc().get("n").is_none());
    // A login after bob's phone confirmed them starts where bob stands: nothing again.
    let later = Client::new().with_token(&login(&bob.phone, "web").await);
    assert!(later.get("/offline").await.doc().get("n").is_none(), "no replay at login");
    assert_eq!(ipad.get("/offline").await.doc()["n"].as_array().unwrap().len(), 2);
    assert_eq!(ipad.send("DELETE", "/offline", None, None).await.status, 200);
    assert!(ipad.get("/offline").await.doc().get("n").is_none());
    // The acting device does not find its own actions; alice's other devices do.
    assert!(alice_client.get("/offline").await.doc().get("n").is_none());
    assert_eq!(
        alice_phone.send("GET", "/offline", Some("application/json"), None).await.doc()["n"].as_array().unwrap().len(),
        2
    );
}

#[tokio::test]
async fn a_connection_dropped_without_disconnect_is_gone_on_next_push_and_nothing_is_lost() {
    use aws_sdk_dynamodb::types::AttributeValue as A;
    let alice = new_user("alice", "web").await;
    let bob = new_user("bob", "android").await;
    let _live = connect(&format!("token={}", bob.token)).await.unwrap();
    // A socket that died without $disconnect: its records are still there.
    let stale = "c3RhbGVzdGFsZQ=";
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs();
    let entry = A::M(
        [
            ("d".to_string(), A::S("ipad".into())),
            ("f".to_string(), A::S("json".into())),
            ("at".to_string(), A::N(now.to_string())),
        ]
        .into(),
    );
    dynamodb()
        .update_item()
        .table_name("ConnectionsTable")
        .key("pk", A::S(format!("user#{}", bob.id)))
        .update_expression("SET conns.#c = :e")
        .expression_attribute_names("#c", stale)
        .expression_attribute_values(":e", entry)
        .send()
        .await
        .unwrap();
    dynamodb()
        .put_item()
        .table_name("ConnectionsTable")
        .item("pk", A::S(format!("conn#{stale}")))
        .item("user_id", A::N(bob.id.to_string()))
        .send()
        .await
        .unwrap();
    assert!(connection_ids(bob.id).await.contains(&stale.to_string()));

    let asked = Client::new()
        .with_token(&alice.token)
        .post_form(&format!("/contact/{}", bob.id), &[("ask", "still there?")])
        .await;
    assert_eq!(asked.status, 200);
    assert_eq!(connection_ids(bob.id).await.len(), 1, "the 410 removed the stale record");
    let ipad = Client::new().with_token(&login(&bob.phone, "ipad").await);
    let offline = ipad.get("/offline").await.doc();
    assert_eq!(offline["n"][0]["ask"], "still there?");
}

#[tokio::test]
async fn toml_dialect_logs_in_by_first_frame() {
    let alice = new_user("alice", "web").await;
    let bob = new_user("bob", "android").await;
    let mut socket = connect("login=frame&format=toml").await.expect("anonymous login connection");
    send_text(&mut socket, "[[s]]\n").await;
    assert!(next_text(&mut socket).await.contains("login first"));
    send_text(
        &mut socket,
        &format!("[[r]]\nt = \"login\"\nphone = \"{}\"\npassword = \"wrong!\"\nd = \"android\"\n", bob.phone),
    )
    .await;
    let refused = toml_doc(&next_text(&mut socket).await);
    assert_eq!(refused["rr"][0]["s"], 1);
    assert!(refused["rr"][0]["r"].as_str().unwrap().contains("wrong"));
    send_text(
        &mut socket,
        &format!("[[r]]\nt = \"login\"\nphone = \"{}\"\npassword = \"888888\"\nd = \"android\"\n", bob.phone),
    )
    .await;
    assert_eq!(next_text(&mut socket).await, "[[rr]]\ns = 0\n");
    Client::new().with_token(&alice.token).post_form(&format!("/contact/{}", bob.id), &[("ask", "toml?")]).await;
    let pushed = toml_doc(&next_text(&mut socket).await);
    assert_eq!(pushed["n"][0]["t"], "add_contact");
    assert_eq!(pushed["n"][0]["ask"], "toml?");
}

#[tokio::test]
async fn json_dialect_logs_in_or_signs_up_by_first_frame() {
    let email = format!("eva{}@gmail.com", im_tests::unique_phone());
    let mut socket = connect("login=frame").await.expect("anonymous login connection");
    send_text(&mut socket, r#"{"event":"ACK","data":{"id":"n:1"},"ref":"a1"}"#).await;
    let refused = json_doc(&next_text(&mut socket).await);
    assert_eq!((refused["event"].as_str(), refused["ref"].as_str()), (Some("FAIL"), Some("a1")));
    let logon = json!({"event": "LOGON", "data": {"user": email, "password": "123456"}, "ref": 1});
    send_text(&mut socket, &logon.to_string()).await;
    let ok = json_doc(&next_text(&mut socket).await);
    assert_eq!(ok["event"], "OK", "{ok}");
    let id = ok["data"]["id"].as_u64().unwrap();
    assert_eq!(connection_ids(id).await.len(), 1);
    let mut taken = connect("login=frame").await.unwrap();
    send_text(&mut taken, &logon.to_string()).await;
    assert_eq!(json_doc(&next_text(&mut taken).await)["data"]["msg"], "email is already registered");

    let mut second = connect("login=frame").await.unwrap();
    send_text(
        &mut second,
        &json!({"event": "LOGIN", "data": {"user": email, "password": "123456", "device": "iphone"}}).to_string(),
    )
    .await;
    assert_eq!(json_doc(&next_text(&mut second).await)["data"]["id"], json!(id));
    assert_eq!(connection_ids(id).await.len(), 2);
    let http = Client::new().post_form("/server/login", &[("email", &email), ("password", "123456")]).await;
    assert_eq!(http.status, 200);
}

#[tokio::test]
async fn bad_frames_get_an_error_and_the_connection_stays_usable() {
    let bob = new_user("bob", "android").await;
    let mut socket = connect(&format!("token={}", bob.token)).await.unwrap();
    for (frame, expected) in [
        (r#"{"event":"ACK","data":{"id":5}}"#, "ACK needs id"),
        (r#"{"event":"SYNC","data":"x"}"#, "data must be an object"),
        (r#"{"event":"NOPE"}"#, "unknown event NOPE"),
        ("\u{1}\u{2}binary junk", "neither JSON nor TOML"),
        ("[[a]]\nid = true\n", "id must be a string"),
    ] {
        send_text(&mut socket, frame).await;
        let answer = next_text(&mut socket).await;
        assert!(answer.contains(expected), "{frame}: {answer}");
    }
    assert_nothing_pending(&mut socket, true).await;
    eventually("the connection is still recorded", || async { connection_ids(bob.id).await.len() == 1 }).await;
}

#[tokio::test]
async fn an_ack_from_the_future_skips_nothing_and_login_happens_once() {
    let alice = new_user("alice", "web").await;
    let bob = new_user("bob", "android").await;
    let mut socket = connect(&format!("token={}", bob.token)).await.unwrap();
    send_text(&mut socket, r#"{"event":"ACK","data":{"id":"n:999"}}"#).await;
    assert_eq!(json_doc(&next_text(&mut socket).await)["event"], "OK");
    let login_again = json!({"event": "LOGIN", "data": {"user": alice.phone, "password": "888888"}});
    send_text(&mut socket, &login_again.to_string()).await;
    assert_eq!(
        json_doc(&next_text(&mut socket).await)["data"]["msg"],
        "already logged in as another user: reconnect to switch"
    );
    Client::new().with_token(&alice.token).post_form(&format!("/contact/{}", bob.id), &[("ask", "later")]).await;
    assert_eq!(json_doc(&next_text(&mut socket).await)["data"]["ask"], "later");
    let offline = Client::new().with_token(&bob.token).get("/offline").await.doc();
    assert_eq!(offline["n"][0]["ask"], "later", "the early ack did not swallow it");
}

#[tokio::test]
async fn a_live_ack_after_a_reconnect_does_not_skip_what_came_while_away() {
    let alice = new_user("alice", "web").await;
    let bob = new_user("bob", "android").await;
    let alice_client = Client::new().with_token(&alice.token);
    // Three notices while bob's phone is away.
    for _ in 0..3 {
        assert_eq!(alice_client.post_form(&format!("/contact/{}", bob.id), &[("ask", "hi")]).await.status, 200);
        assert_eq!(alice_client.send("DELETE", &format!("/contact/{}", bob.id), None, None).await.status, 200);
    }
    // Back online, a fourth arrives live, with its sequence, and is acked as seed clients do.
    let mut socket = connect(&format!("token={}&format=toml", bob.token)).await.unwrap();
    assert_eq!(alice_client.post_form(&format!("/contact/{}", bob.id), &[("ask", "live")]).await.status, 200);
    let live = toml_doc(&next_text(&mut socket).await)["n"][0].clone();
    assert_eq!((live["ask"].as_str(), live["seq"].as_u64()), (Some("live"), Some(7)), "{live}");
    send_text(&mut socket, &format!("[[a]]\nid = \"{}\"\n", live["id"].as_str().unwrap())).await;
    assert_nothing_pending(&mut socket, false).await;

    // The six from before are still pending (the gap 1..=6 is visible by seq), the live one is not.
    send_text(&mut socket, "[[s]]\n").await;
    let synced = toml_doc(&next_text(&mut socket).await);
    let seqs: Vec<u64> = synced["n"].as_array().unwrap().iter().map(|n| n["seq"].as_u64().unwrap()).collect();
    assert_eq!(seqs, [1, 2, 3, 4, 5, 6], "{synced}");
    // Only the explicit form confirms everything up to an id.
    let upto = synced["n"][3]["id"].as_str().unwrap().to_string();
    let bob_client = Client::new().with_token(&bob.token);
    assert_eq!(bob_client.send("DELETE", &format!("/offline?upto={upto}"), None, None).await.status, 200);
    let left = bob_client.get("/offline").await.doc();
    let seqs: Vec<u64> = left["n"].as_array().unwrap().iter().map(|n| n["seq"].as_u64().unwrap()).collect();
    assert_eq!(seqs, [5, 6], "{left}");
    // A JSON device confirms by ids and by upto alike; ids that name no entry (acks of acks)
    // confirm nothing and refuse nothing.
    let mut json_socket = connect(&format!("token={}", bob.token)).await.unwrap();
    send_text(&mut json_socket, r#"{"event":"ACK","data":{"id":"dm#x"}}"#).await;
    assert_eq!(json_doc(&next_text(&mut json_socket).await)["event"], "OK");
    assert_eq!(bob_client.get("/offline").await.doc()["n"].as_array().unwrap().len(), 2);
    send_text(&mut json_socket, r#"{"event":"ACK","data":{"upto":"n:6"}}"#).await;
    assert_eq!(json_doc(&next_text(&mut json_socket).await)["event"], "OK");
    assert!(bob_client.get("/offline").await.doc().get("n").is_none());
}
