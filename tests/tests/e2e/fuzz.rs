//! A generated test against the running stack (a stack of its own): random requests on every
//! route of the template (malformed, oversized, wrong-typed and random paths, queries and
//! bodies in every content type, with and without a session) and random frames in both socket
//! dialects. Nothing a client sends may get a 5xx, an internal error or a dropped socket.
//! `FUZZ_CASES` sets the number of HTTP requests and of frames (300 each by default; `make
//! fuzz` runs 20 000), `FUZZ_SEED` the seed (printed, so a failure can be replayed).

use im_tests::Client;
use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use serde_json::{json, Value};

include!("../../../functions/tests/common/vocabulary.rs");

/// Random text: ASCII, digits, unicode, control characters, percent escapes.
fn text(rng: &mut StdRng) -> String {
    let len = *[0, 1, 3, 8, 20, 70, 300].choose(rng).unwrap();
    let pool: &[&str] = &[
        "a", "Z", "0", "9", "-", "#", ":", "%", "%zz", "%00", "\"", "\\", " ", "\n", "\u{0}", "é", "大", "😀", "[[",
        "]]", "=", "&", "?", "/", "{", "}",
    ];
    (0..len).map(|_| *pool.choose(rng).unwrap()).collect()
}

fn number(rng: &mut StdRng) -> Value {
    match rng.gen_range(0..6) {
        0 => json!(rng.gen_range(0..20u64)),
        1 => json!(u64::MAX),
        2 => json!(-1),
        3 => json!(1.5),
        4 => json!(rng.gen::<i64>()),
        _ => json!("12"),
    }
}

fn value(rng: &mut StdRng, depth: u32) -> Value {
    match rng.gen_range(0..if depth > 2 { 5 } else { 7 }) {
        0 => Value::Null,
        1 => json!(rng.gen::<bool>()),
        2 | 3 => number(rng),
        4 => json!(text(rng)),
        5 => Value::Array((0..rng.gen_range(0..4)).map(|_| value(rng, depth + 1)).collect()),
        _ => object(rng, depth + 1),
    }
}

fn object(rng: &mut StdRng, depth: u32) -> Value {
    let mut map = serde_json::Map::new();
    for _ in 0..rng.gen_range(0..6) {
        map.insert(FIELDS.choose(rng).unwrap().to_string(), value(rng, depth));
    }
    Value::Object(map)
}

fn toml_value(rng: &mut StdRng) -> String {
    match rng.gen_range(0..6) {
        0 => rng.gen::<i64>().to_string(),
        1 => rng.gen::<bool>().to_string(),
        2 => format!("{:?}", text(rng)),
        3 => "[1, \"a\"]".into(),
        4 => "{ id = 1 }".into(),
        _ => text(rng),
    }
}

fn toml_frame(rng: &mut StdRng) -> String {
    let mut frame = String::new();
    for _ in 0..rng.gen_range(1..4) {
        frame.push_str(&format!("[[{}]]\n", TABLES.choose(rng).unwrap()));
        for _ in 0..rng.gen_range(0..6) {
            frame.push_str(&format!("{} = {}\n", FIELDS.choose(rng).unwrap(), toml_value(rng)));
        }
    }
    if rng.gen_bool(0.3) {
        frame = frame.replace('\n', " ");
    }
    frame
}

/// A body in one of the content types, or bytes that are none of them.
fn body(rng: &mut StdRng) -> Option<(&'static str, Vec<u8>)> {
    Some(match rng.gen_range(0..8) {
        0 => return None,
        1 => ("application/json", object(rng, 0).to_string().into_bytes()),
        2 => ("application/json", value(rng, 0).to_string().into_bytes()),
        3 => ("application/toml", toml_frame(rng).into_bytes()),
        4 => {
            let pairs: Vec<String> =
                (0..rng.gen_range(0..6)).map(|_| format!("{}={}", FIELDS.choose(rng).unwrap(), text(rng))).collect();
            ("application/x-www-form-urlencoded", pairs.join("&").into_bytes())
        }
        5 => ("multipart/form-data; boundary=x", (0..rng.gen_range(0..400)).map(|_| rng.gen::<u8>()).collect()),
        6 => ("application/json", vec![b'7'; 70 * 1024]),
        _ => ("text/plain", (0..rng.gen_range(0..200)).map(|_| rng.gen::<u8>()).collect()),
    })
}

/// A route's path with random parameters, and sometimes a random query.
fn path(rng: &mut StdRng, template: &str) -> String {
    let mut path = String::new();
    for segment in template.split('/').skip(1) {
        path.push('/');
        if segment.starts_with('{') {
            let raw = match rng.gen_range(0..4) {
                0 => rng.gen_range(0..20u64).to_string(),
                1 => u64::MAX.to_string(),
                2 => "-1".into(),
                _ => text(rng),
            };
            let encoded: String = form_urlencoded::byte_serialize(raw.as_bytes()).collect();
            path.push_str(if encoded.is_empty() { "x" } else { &encoded });
        } else {
            path.push_str(segment);
        }
    }
    if rng.gen_bool(0.4) {
        let pairs: Vec<String> = (0..rng.gen_range(1..4))
            .map(|_| {
                let value: String = form_urlencoded::byte_serialize(text(rng).as_bytes()).collect();
                format!("{}={value}", FIELDS.choose(rng).unwrap())
            })
            .collect();
        path = format!("{path}?{}", pairs.join("&"));
    }
    path
}

fn cases() -> usize {
    std::env::var("FUZZ_CASES").ok().and_then(|n| n.parse().ok()).unwrap_or(300)
}

#[tokio::test]
async fn random_requests_and_frames_never_get_a_server_error() {
    let seed: u64 = std::env::var("FUZZ_SEED").ok().and_then(|s| s.parse().ok()).unwrap_or_else(rand::random);
    eprintln!("fuzz seed {seed} (FUZZ_SEED={seed} replays it)");
    let mut rng = StdRng::seed_from_u64(seed);
    let root = im_local::project_root();
    let stack = im_local::LocalStack::start(im_local::StackOptions::ephemeral(root.clone())).await.unwrap();
    let template = im_local::template::Template::load(&root.join("template.yaml")).unwrap();
    let client = Client::of(&stack.http_url);
    let phone = im_tests::unique_phone();
    let created = client.post_form("/user", &[("phone", &phone), ("name", "fuzz"), ("password", "888888")]).await;
    assert_eq!(created.status, 200);
    let login = client.post_form("/server/login", &[("phone", &phone), ("password", "888888")]).await;
    let token = login.doc()["response"][0]["user"]["token"].as_str().unwrap().to_string();

    let mut statuses = std::collections::BTreeMap::new();
    for case in 0..cases() {
        let route = template.http_routes.choose(&mut rng).unwrap();
        let path = path(&mut rng, &route.path);
        // The fuzz user's session must live on: the routes that end sessions run without it.
        let ends_sessions = matches!(route.path.as_str(), "/server/logout" | "/user/password");
        let session = match ends_sessions || rng.gen_bool(0.2) {
            true => Client::of(&stack.http_url),
            false => Client::of(&stack.http_url).with_token(&token),
        };
        let accept = ["application/json", "application/toml", "*/*", "text/html"].choose(&mut rng).copied();
        let answer = session.send(&route.method, &path, accept, body(&mut rng)).await;
        assert!(
            answer.status < 500,
            "case {case}: {} {path} answered {}: {}",
            route.method,
            answer.status,
            answer.text
        );
        *statuses.entry(answer.status).or_insert(0) += 1;
    }
    eprintln!("fuzz: {} HTTP requests, statuses {statuses:?}", statuses.values().sum::<u32>());

    let mut frames = 0;
    for (query, dialect) in [
        (format!("token={token}&format=json"), "json"),
        (format!("token={token}&format=toml"), "toml"),
        (String::new(), "plain"),
    ] {
        let (mut socket, _) = tokio_tungstenite::connect_async(format!("{}?{query}", stack.ws_url)).await.unwrap();
        for case in 0..cases() / 3 {
            let frame = match rng.gen_range(0..4) {
                0 => json!({"event": EVENTS.choose(&mut rng).unwrap(), "data": object(&mut rng, 0)}).to_string(),
                1 => json!({"event": EVENTS.choose(&mut rng).unwrap(), "data": value(&mut rng, 0)}).to_string(),
                2 => toml_frame(&mut rng),
                _ => text(&mut rng),
            };
            // A login frame would turn the plain socket into a logged-in one: keep it plain.
            if dialect == "plain" && (frame.contains("LOGIN") || frame.contains("LOGON") || frame.contains("[[r]]")) {
                continue;
            }
            im_tests::send_text(&mut socket, &frame).await;
            // A PING after each frame: everything before its PONG answers the frame (some
            // frames, like an ACK, have no answer). A dropped socket fails in next_text.
            im_tests::send_text(&mut socket, r#"{"event":"PING"}"#).await;
            loop {
                let answer = im_tests::next_text(&mut socket).await;
                assert!(
                    !answer.to_lowercase().contains("internal"),
                    "case {case} ({dialect}): {frame:?} answered {answer}"
                );
                if answer.contains("PONG") {
                    break;
                }
            }
            frames += 1;
        }
    }
    eprintln!("fuzz: {frames} socket frames, no internal error, no socket dropped");
}
