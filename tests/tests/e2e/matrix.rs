//! The authorization matrix: every HTTP route of the template and every socket frame, tried
//! with no token, a forged token and an expired one, and on another user's resources and on a
//! user who blocked the caller. Each try must be refused and change nothing: the tables and the
//! bucket are dumped before and after. It runs on a stack of its own, so no other test's
//! writes show in the dumps.

use aws_sdk_dynamodb::types::AttributeValue as A;
use im_tests::{Client, Socket};
use serde_json::{json, Value};
use sha2::Digest;

/// What the attacker can reach: the stack, and the victims' resources.
struct World {
    http: String,
    ws: String,
    dynamodb: aws_sdk_dynamodb::Client,
    s3: aws_sdk_s3::Client,
    victim: Person,
    friend: Person,
    attacker: Person,
    blocker: Person,
    group: u64,
    g_key: String,
    message: String,
    audio: String,
    expired_token: String,
}

struct Person {
    id: u64,
    phone: String,
    token: String,
}

impl World {
    fn client(&self, token: Option<&str>) -> Client {
        let client = Client::of(&self.http);
        match token {
            Some(token) => client.with_token(token),
            None => client,
        }
    }

    async fn sign_up(&self, name: &str) -> Person {
        let phone = im_tests::unique_phone();
        let created =
            self.client(None).post_form("/user", &[("phone", &phone), ("name", name), ("password", "888888")]).await;
        assert_eq!(created.status, 200, "{}", created.text);
        let login = self.client(None).post_form("/server/login", &[("phone", &phone), ("password", "888888")]).await;
        let token = login.doc()["response"][0]["user"]["token"].as_str().unwrap().to_string();
        Person { id: created.doc()["user"][0]["id"].as_u64().unwrap(), phone, token }
    }

    async fn json(&self, who: &Person, method: &str, path: &str, body: Value) -> im_tests::Answer {
        let body = Some(("application/json", body.to_string().into_bytes()));
        self.client(Some(&who.token)).send(method, path, Some("application/json"), body).await
    }

    /// Everything stored, one line per item, sorted: the tables (less the rate-limit counters,
    /// which count refused attempts by design, and the connections and each session's last
    /// socket login, which the matrix's own sockets make) and the bucket's keys.
    async fn dump(&self) -> Vec<String> {
        let mut lines = vec![];
        for table in ["UsersTable", "ConversationsTable", "RelationsTable", "GroupsTable"] {
            let mut start = None;
            loop {
                let page = self.dynamodb.scan().table_name(table).set_exclusive_start_key(start).send().await.unwrap();
                for item in page.items() {
                    let pk = item.get("pk").and_then(|v| v.as_s().ok()).cloned().unwrap_or_default();
                    if pk.starts_with("limit#") {
                        continue;
                    }
                    let mut item = item.clone();
                    if pk.starts_with("sessions#") {
                        // A session's last socket login (`l`): the matrix's own sockets set it.
                        if let Some(aws_sdk_dynamodb::types::AttributeValue::M(sessions)) = item.get_mut("s") {
                            for session in sessions.values_mut() {
                                if let aws_sdk_dynamodb::types::AttributeValue::M(fields) = session {
                                    fields.remove("l");
                                }
                            }
                        }
                    }
                    let mut fields: Vec<String> = item.iter().map(|(k, v)| format!("{k}={}", canonical(v))).collect();
                    fields.sort();
                    lines.push(format!("{table}: {}", fields.join(", ")));
                }
                start = page.last_evaluated_key;
                if start.is_none() {
                    break;
                }
            }
        }
        let objects = self.s3.list_objects_v2().bucket("audio-bucket").send().await.unwrap();
        lines.extend(objects.contents().iter().map(|o| format!("s3: {}", o.key().unwrap_or_default())));
        lines.sort();
        lines
    }

    async fn socket(&self, query: &str) -> Result<Socket, u16> {
        let url = format!("{}?{query}", self.ws);
        match tokio_tungstenite::connect_async(url).await {
            Ok((socket, _)) => Ok(socket),
            Err(tokio_tungstenite::tungstenite::Error::Http(response)) => Err(response.status().as_u16()),
            Err(other) => panic!("handshake failed: {other}"),
        }
    }
}

async fn world() -> (World, im_local::LocalStack) {
    let root = im_local::project_root();
    let stack = im_local::LocalStack::start(im_local::StackOptions::ephemeral(root)).await.expect("a stack of its own");
    let clients = im_adapters::Clients::local(im_local::stack::local_config(
        &stack.dynamodb_endpoint,
        &stack.s3_endpoint,
        &stack.management_url,
        "audio-bucket",
    ));
    let mut world = World {
        http: stack.http_url.clone(),
        ws: stack.ws_url.clone(),
        dynamodb: im_tests::dynamodb_at(&stack.dynamodb_endpoint),
        s3: clients.s3.clone(),
        victim: Person { id: 0, phone: String::new(), token: String::new() },
        friend: Person { id: 0, phone: String::new(), token: String::new() },
        attacker: Person { id: 0, phone: String::new(), token: String::new() },
        blocker: Person { id: 0, phone: String::new(), token: String::new() },
        group: 0,
        g_key: String::new(),
        message: String::new(),
        audio: String::new(),
        expired_token: "expired-token-of-the-victim".into(),
    };
    world.victim = world.sign_up("victim").await;
    world.friend = world.sign_up("friend").await;
    world.attacker = world.sign_up("attacker").await;
    world.blocker = world.sign_up("blocker").await;
    let (v, f, a, b) = (&world.victim, &world.friend, &world.attacker, &world.blocker);
    for (asker, asked) in [(v, f), (b, a)] {
        assert_eq!(
            world.json(asker, "POST", "/friends/request", json!({"requested_user_id": asked.id})).await.status,
            201
        );
        assert_eq!(
            world.json(asked, "POST", "/friends/accept", json!({"requested_user_id": asker.id})).await.status,
            201
        );
    }
    assert_eq!(world.json(b, "POST", "/blocks", json!({"user_id": a.id})).await.status, 201);
    let group = world.json(v, "POST", "/group", json!({"name": "private", "members": [f.id]})).await;
    assert_eq!(group.status, 200, "{}", group.text);
    let sent = world.json(v, "POST", "/message", json!({"to": f.id, "id": "m1", "t": "text", "c": "secret"})).await;
    let message = sent.doc()["message"][0]["sid"].as_str().unwrap().to_string();
    let (ct, body) = im_tests::multipart(b"#!AMR\n\x01\x02", "audio/amr", "to", &f.id.to_string());
    let audio = world.client(Some(&v.token)).send("POST", "/m/audio", None, Some((&ct, body))).await;
    assert_eq!(audio.status, 200, "{}", audio.text);
    let history = world.client(Some(&f.token)).get(&format!("/message/history?with={}", v.id)).await.doc();
    let audio = history["m"][1]["c"].as_str().unwrap().rsplit('/').next().unwrap().to_string();
    let group = group.doc()["group"][0].clone();
    let (group, g_key) = (group["g_id"].as_u64().unwrap(), group["g_key"].as_str().unwrap().to_string());
    // A session of the victim that expired (and TTL has not swept yet).
    let hash = hex::encode(sha2::Sha256::digest(world.expired_token.as_bytes()));
    world
        .dynamodb
        .put_item()
        .table_name("UsersTable")
        .item("pk", A::S(format!("token#{hash}")))
        .item("user_id", A::N(v.id.to_string()))
        .item("device", A::S("android".into()))
        .item("tag", A::S("0".into()))
        .item("expires_at", A::N("1".into()))
        .send()
        .await
        .unwrap();
    (World { group, g_key, message, audio, ..world }, stack)
}

/// A path of the template with its parameters naming the victims' resources.
fn concrete(path: &str, world: &World) -> String {
    let id = if path.starts_with("/group/") { world.group } else { world.victim.id };
    path.replace("{id}", &id.to_string())
        .replace("{uid}", &world.victim.id.to_string())
        .replace("{user_id}", &world.victim.id.to_string())
        .replace("{followee_id}", &world.victim.id.to_string())
        .replace("{phone}", &world.victim.phone)
        .replace("{v}", "0")
        .replace("{name}", &world.audio)
}

/// A body that would be accepted from the right caller, so a refusal is about who asks.
fn body_for(world: &World) -> Value {
    json!({
        "requested_user_id": world.victim.id, "user_id": world.victim.id, "to": world.victim.id,
        "g_id": world.group, "id": "x1", "t": "text", "c": "hi", "name": "g", "members": [world.victim.id],
        "g_key": world.g_key, "password": "888888", "new_password": "another-password", "ask": "",
        "everywhere": true,
    })
}

#[tokio::test]
async fn every_route_and_frame_refuses_who_may_not_and_changes_nothing() {
    let (world, _stack) = world().await;
    let template = im_local::template::Template::load(&im_local::project_root().join("template.yaml")).unwrap();
    let before = world.dump().await;

    // HTTP: every authorized route, without a valid session.
    let mut tried = 0;
    for route in template.http_routes.iter().filter(|r| r.authorized) {
        let path = concrete(&route.path, &world);
        for token in [None, Some("forged-token-0123456789abcdef"), Some(world.expired_token.as_str())] {
            let body = Some(("application/json", body_for(&world).to_string().into_bytes()));
            let answer = world.client(token).send(&route.method, &path, None, body).await;
            assert_eq!(answer.status, 401, "{} {path} with {token:?}: {}", route.method, answer.text);
            tried += 1;
        }
    }
    assert!(tried >= 3 * 40, "{tried} tries: every route");

    // HTTP: another user's resources, and a user who blocked the caller.
    let (a, v) = (&world.attacker, &world.victim);
    let (g, b) = (world.group, &world.blocker);
    let message_id = world.message.replace('#', "%23");
    let attacks: Vec<(&str, String, Value)> = vec![
        ("DELETE", format!("/group/{g}"), json!({})),
        ("POST", format!("/group/{g}/member/{}", a.id), json!({})),
        ("POST", format!("/group/{g}/member"), json!({"g_key": "guessed"})),
        ("GET", format!("/group/{g}/member"), json!({})),
        ("DELETE", format!("/group/{g}/member"), json!({})),
        ("PUT", format!("/group/{g}/key"), json!({})),
        ("DELETE", format!("/group/{g}/member/{}", v.id), json!({})),
        ("GET", format!("/file/audio/{}", world.audio), json!({})),
        ("GET", format!("/message/history?g_id={g}"), json!({})),
        ("POST", "/message".into(), json!({"g_id": g, "id": "x", "t": "text", "c": "in"})),
        ("POST", "/message".into(), json!({"to": v.id, "id": "x", "t": "text", "c": "stranger"})),
        ("DELETE", format!("/offline?id={message_id}"), json!({})),
        ("PUT", format!("/contact/{}", v.id), json!({})),
        ("DELETE", format!("/contact/{}", v.id), json!({})),
        ("POST", "/friends/accept".into(), json!({"requested_user_id": v.id})),
        ("POST", "/friends/ignore".into(), json!({"requested_user_id": v.id})),
        ("POST", "/friends/withdraw".into(), json!({"requested_user_id": world.friend.id})),
        ("DELETE", format!("/follows/{}", v.id), json!({})),
        ("PUT", "/user/password".into(), json!({"password": "not-mine", "new_password": "taken-over"})),
        ("POST", "/friends/request".into(), json!({"requested_user_id": b.id})),
        ("POST", format!("/contact/{}", b.id), json!({"ask": "let me in"})),
        ("POST", "/message".into(), json!({"to": b.id, "id": "x", "t": "text", "c": "blocked"})),
        ("POST", "/follows".into(), json!({"user_id": b.id})),
        ("POST", "/group".into(), json!({"name": "trap", "members": [b.id]})),
        ("POST", "/group".into(), json!({"name": "trap", "members": [v.id]})),
    ];
    let mut allowed = vec![];
    for (method, path, body) in &attacks {
        let answer = world.json(a, method, path, body.clone()).await;
        if !(400..500).contains(&answer.status) {
            allowed.push(format!("{method} {path}: {} {}", answer.status, answer.text));
        }
        tried += 1;
    }
    assert!(allowed.is_empty(), "{allowed:#?}");
    // Seed 004's deletes answer 204 whatever was there: ending a friendship or a block that
    // does not exist succeeds and must change nothing (the dump below says so).
    for path in [format!("/friends/{}", v.id), format!("/blocks/{}", v.id)] {
        assert_eq!(world.json(a, "DELETE", &path, json!({})).await.status, 204, "{path}");
        tried += 1;
    }
    for (to, field) in [(g, "g_id"), (v.id, "to"), (b.id, "to")] {
        let (ct, body) = im_tests::multipart(b"#!AMR\n\x01", "audio/amr", field, &to.to_string());
        let path = if field == "g_id" { "/gm/audio" } else { "/m/audio" };
        let answer = world.client(Some(&a.token)).send("POST", path, None, Some((&ct, body))).await;
        assert_eq!(answer.status, 403, "{path} to {to}: {}", answer.text);
    }

    // Sockets: a forged or expired token is refused at connect and in a login frame; so is a
    // forged ticket, or a token given as a ticket.
    for token in ["forged-token-0123456789abcdef", world.expired_token.as_str()] {
        assert_eq!(world.socket(&format!("token={token}")).await.err(), Some(401));
        assert_eq!(world.socket(&format!("ticket={token}")).await.err(), Some(401));
        let mut plain = world.socket("").await.unwrap();
        let login = json!({"event": "LOGIN", "data": {"token": token}});
        im_tests::send_text(&mut plain, &login.to_string()).await;
        assert_eq!(frame(&mut plain).await["event"], "FAIL");
    }
    // Every frame on a connection that never logged in, in both dialects.
    let mut anonymous = world.socket("").await.unwrap();
    let someone = json!(v.id);
    let json_frames = [
        json!({"event": "ACK", "data": {"id": world.message}}),
        json!({"event": "SYNC", "data": {}}),
        json!({"event": "CREATE_CONTACT", "data": {"user": someone}}),
        json!({"event": "DELETE_CONTACT", "data": {"user": someone}}),
        json!({"event": "LIST_CONTACTS_UNREAD", "data": {}}),
        json!({"event": "CHAT_SEND_MSG", "data": {"user": someone, "content": "hi"}}),
        json!({"event": "CHAT_WITH", "data": {"user": someone}}),
        json!({"event": "CHAT_HISTORY", "data": {"user": someone}}),
        json!({"event": "CHAT_RECEIVE_MSG", "data": {"id": world.message}}),
        json!({"event": "CHAT_DELETE", "data": {"id": world.message}}),
        json!({"event": "Friend", "data": {"friend_id": someone}}),
        json!({"event": "Confirm", "data": {"friend_id": someone}}),
        json!({"event": "Revoke", "data": {"user": someone}}),
    ];
    for request in &json_frames {
        im_tests::send_text(&mut anonymous, &request.to_string()).await;
        assert_refused(&frame(&mut anonymous).await, request);
        tried += 1;
    }
    let toml_frames = [
        format!("[[a]]\nid = \"{}\"\n", world.message),
        "[[s]]\n".to_string(),
        format!("[[m]]\nid = \"x\"\nt = \"text\"\nc = \"hi\"\nto = {}\n", v.id),
        format!("[[gm]]\nid = \"x\"\nt = \"text\"\nc = \"hi\"\ng_id = {g}\n"),
    ];
    for request in &toml_frames {
        im_tests::send_text(&mut anonymous, request).await;
        let answer = im_tests::next_text(&mut anonymous).await;
        assert!(answer.contains("[[error]]"), "{request:?} answered {answer:?}");
        tried += 1;
    }
    // The attacker, logged in: other users' resources and a user who blocked them.
    let mut socket = world.socket(&format!("token={}", a.token)).await.unwrap();
    let own_frames = [
        json!({"event": "CHAT_DELETE", "data": {"id": world.message}}),
        json!({"event": "CHAT_RECEIVE_MSG", "data": {"id": world.message}}),
        json!({"event": "ACK", "data": {"id": world.message}}),
        json!({"event": "CHAT_SEND_MSG", "data": {"g_id": g, "content": "in"}}),
        json!({"event": "CHAT_SEND_MSG", "data": {"user": v.id, "content": "stranger"}}),
        json!({"event": "CHAT_SEND_MSG", "data": {"user": b.id, "content": "blocked"}}),
        json!({"event": "CREATE_CONTACT", "data": {"user": b.id}}),
        json!({"event": "Friend", "data": {"friend_id": b.id}}),
        json!({"event": "Confirm", "data": {"friend_id": v.id}}),
        json!({"event": "DELETE_CONTACT", "data": {"user": v.id}}),
    ];
    for request in &own_frames {
        im_tests::send_text(&mut socket, &request.to_string()).await;
        assert_refused(&frame(&mut socket).await, request);
        tried += 1;
    }
    let mut toml_socket = world.socket(&format!("token={}&format=toml", a.token)).await.unwrap();
    for request in [
        format!("[[gm]]\nid = \"x\"\nt = \"text\"\nc = \"in\"\ng_id = {g}\n"),
        format!("[[m]]\nid = \"x\"\nt = \"text\"\nc = \"blocked\"\nto = {}\n", b.id),
        format!("[[a]]\nid = \"{}\"\n", world.message),
    ] {
        im_tests::send_text(&mut toml_socket, &request).await;
        let answer = im_tests::next_text(&mut toml_socket).await;
        assert!(answer.contains("[[error]]"), "{request:?} answered {answer:?}");
        tried += 1;
    }

    let after = world.dump().await;
    let gone: Vec<&String> = before.iter().filter(|l| !after.contains(l)).collect();
    let new: Vec<&String> = after.iter().filter(|l| !before.contains(l)).collect();
    assert!(gone.is_empty() && new.is_empty(), "refused requests changed the store:\n- {gone:#?}\n+ {new:#?}");
    eprintln!("authorization matrix: {tried} refused tries, store unchanged");
}

/// An attribute as text, map keys in order (the SDK's maps iterate in any order).
fn canonical(value: &A) -> String {
    match value {
        A::M(map) => {
            let mut fields: Vec<String> = map.iter().map(|(k, v)| format!("{k}: {}", canonical(v))).collect();
            fields.sort();
            format!("{{{}}}", fields.join(", "))
        }
        A::L(list) => format!("[{}]", list.iter().map(canonical).collect::<Vec<_>>().join(", ")),
        other => format!("{other:?}"),
    }
}

/// The next JSON frame.
async fn frame(socket: &mut Socket) -> Value {
    serde_json::from_str(&im_tests::next_text(socket).await).expect("a JSON frame")
}

/// A JSON refusal: seed 003's `FAIL`, or seed 002's `io` frame with an `error`.
fn assert_refused(answer: &Value, request: &Value) {
    let refused = answer["event"] == "FAIL" || (answer["event"] == "io" && answer["data"]["error"].is_string());
    assert!(refused, "{request} answered {answer}");
}
