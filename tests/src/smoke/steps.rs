//! The smoke suite's steps, each a small story told through the public API only (docs/API.md).
//! A step answers why it failed; it leaves the sockets it opened in the context for the next.

use super::{ask, close, entries, ok_data, wait_for, Account, Body, Ctx};
use reqwest::Method;
use serde_json::{json, Value};

/// A voice note the server takes: AMR's header, then a few frames of silence.
fn amr() -> Vec<u8> {
    [b"#!AMR\n".as_slice(), &[0x3c; 96]].concat()
}

/// A number no one has: the smoke users' phones start with 86 (the local calling code) and
/// carry 11 random digits.
fn throwaway_phone() -> String {
    format!("86{:011}", rand::random::<u64>() % 100_000_000_000)
}

/// The one text field of `doc`'s table `table` (`user`, `message`, ...), first row.
fn field<'a>(doc: &'a Value, table: &str, name: &str) -> Result<&'a Value, String> {
    let value = &doc[table][0][name];
    if value.is_null() {
        return Err(format!("the answer has no {table}.{name}: {doc}"));
    }
    Ok(value)
}

/// Signs up A and B with throwaway phones and strong random passwords, and logs both in.
pub async fn sign_up(cx: &mut Ctx) -> Result<(), String> {
    for name in ["smoke-a", "smoke-b"] {
        let (phone, password) = (throwaway_phone(), format!("smoke-{}", uuid::Uuid::new_v4().simple()));
        let fields = [("phone", phone.as_str()), ("name", name), ("password", password.as_str())];
        let created = cx.call(Method::POST, "/user", None, Body::Form(&fields)).await?.want(200)?.json()?;
        let id =
            field(&created, "user", "id")?.as_u64().ok_or_else(|| format!("a user id that is no number: {created}"))?;
        cx.users.push(Account { id, phone, password, token: None });
        let token = log_in(cx, cx.users.len() - 1).await?;
        cx.users.last_mut().expect("just pushed").token = Some(token);
    }
    Ok(())
}

/// Logs user `i` in (device `smoke`): the session's token.
async fn log_in(cx: &Ctx, i: usize) -> Result<String, String> {
    let user = &cx.users[i];
    let fields = [("phone", user.phone.as_str()), ("password", user.password.as_str()), ("device", "smoke")];
    let answer = cx.call(Method::POST, "/server/login", None, Body::Form(&fields)).await?.want(200)?.json()?;
    let token = answer["response"][0]["user"]["token"].as_str();
    token.map(str::to_string).ok_or_else(|| format!("the login answered no token: {answer}"))
}

/// A asks B to be friends, B accepts, and B's friend list shows A.
pub async fn befriend(cx: &Ctx) -> Result<(), String> {
    let (a, b) = cx.pair()?;
    let ask_b = Body::Json(json!({ "requested_user_id": b.id }));
    cx.call(Method::POST, "/friends/request", Some(a.token()?), ask_b).await?.want(201)?;
    let accept_a = Body::Json(json!({ "requested_user_id": a.id }));
    cx.call(Method::POST, "/friends/accept", Some(b.token()?), accept_a).await?.want(201)?;
    let friends = cx.call(Method::GET, "/friends", Some(b.token()?), Body::Empty).await?.want(200)?.json()?;
    let listed = friends.as_array().into_iter().flatten().any(|f| f["friend_id"] == a.id);
    listed.then_some(()).ok_or_else(|| format!("B's friends do not list A: {friends}"))
}

/// A sends over HTTP; B finds it in the history.
pub async fn message_over_http(cx: &Ctx) -> Result<(), String> {
    let (a, b) = cx.pair()?;
    let text = "hello over HTTP";
    let fields = [("to", b.id.to_string()), ("id", "smoke-http".into()), ("c", text.into())];
    let fields: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let sent = cx.call(Method::POST, "/message", Some(a.token()?), Body::Form(&fields)).await?.want(200)?.json()?;
    field(&sent, "message", "sid")?;
    let history = history(cx, &b, a.id).await?;
    let found = entries(&history, "m").any(|m| m["c"] == text);
    found.then_some(()).ok_or_else(|| format!("B's history lacks A's message: {history}"))
}

/// `reader`'s one-to-one history with `with`.
async fn history(cx: &Ctx, reader: &Account, with: u64) -> Result<Value, String> {
    let path = format!("/message/history?with={with}");
    cx.call(Method::GET, &path, Some(reader.token()?), Body::Empty).await?.want(200)?.json()
}

/// A and B open sockets; A sends on its socket and B hears it live.
pub async fn message_over_websocket(cx: &mut Ctx) -> Result<(), String> {
    let (a, b) = cx.pair()?;
    cx.sockets[0] = Some(cx.connect(a.token()?).await?);
    cx.sockets[1] = Some(cx.connect(b.token()?).await?);
    let text = "hello over the socket";
    let frame = json!({ "event": "CHAT_SEND_MSG", "data": { "user": b.id, "content": text, "id": "smoke-ws" }, "ref": "smoke-ws" });
    let answer = ask(cx.socket(0)?, &frame).await?;
    ok_data(answer, "CHAT_SEND_MSG")?;
    hears(cx.socket(1)?, "A's socket message", |msg| msg["c"] == text).await
}

/// Waits on `socket` for a `NOTIFY_NEW_MSG` whose message `wanted` accepts, and acks it.
async fn hears(socket: &mut crate::Socket, what: &str, wanted: impl Fn(&Value) -> bool) -> Result<(), String> {
    let frame = wait_for(socket, what, |f| f["event"] == "NOTIFY_NEW_MSG" && wanted(&f["data"]["msg"])).await?;
    let id = frame["data"]["msg"]["id"].clone();
    super::send(socket, &json!({ "event": "ACK", "data": { "id": id } })).await
}

/// A makes a group with B and writes in it over HTTP; B hears it on the socket.
pub async fn group(cx: &mut Ctx) -> Result<(), String> {
    let (a, b) = cx.pair()?;
    let b_id = b.id.to_string();
    let fields = [("members[]", b_id.as_str()), ("name", "smoke")];
    let created = cx.call(Method::POST, "/group", Some(a.token()?), Body::Form(&fields)).await?.want(200)?.json()?;
    let g_id = field(&created, "group", "g_id")?.clone();
    let text = "hello, group";
    let g = g_id.to_string();
    let fields = [("g_id", g.as_str()), ("id", "smoke-group"), ("c", text)];
    cx.call(Method::POST, "/message", Some(a.token()?), Body::Form(&fields)).await?.want(200)?;
    hears(cx.socket(1)?, "the group message", |msg| msg["g_id"] == g_id && msg["c"] == text).await
}

/// A uploads a voice note straight to S3 and sends it; B plays it back byte for byte.
pub async fn voice_note(cx: &Ctx) -> Result<(), String> {
    let (a, b) = cx.pair()?;
    let presigned = cx.call(Method::POST, "/audio/upload", Some(a.token()?), Body::Empty).await?.want(200)?.json()?;
    let upload = &presigned["upload"][0];
    let (url, key) = (field(&presigned, "upload", "url")?, field(&presigned, "upload", "key")?);
    let (url, key) = (url.as_str().unwrap_or_default(), key.as_str().unwrap_or_default());
    cx.post_upload(url, &upload["fields"], &amr()).await?;
    let fields = [("to", b.id.to_string()), ("id", "smoke-voice".into()), ("t", "audio".into()), ("c", key.into())];
    let fields: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (*k, v.as_str())).collect();
    cx.call(Method::POST, "/message", Some(a.token()?), Body::Form(&fields)).await?.want(200)?;
    let history = history(cx, &b, a.id).await?;
    let path = entries(&history, "m").find(|m| m["t"] == "audio").and_then(|m| m["c"].as_str());
    let path = path.ok_or_else(|| format!("B's history has no voice note: {history}"))?;
    let redirect = cx.call(Method::GET, &format!("/{path}"), Some(b.token()?), Body::Empty).await?.want(302)?;
    let location = redirect.location.clone().ok_or_else(|| format!("GET /{path}: a 302 without Location"))?;
    let played = cx.download(&location).await?;
    (played == amr()).then_some(()).ok_or_else(|| format!("the voice note came back as {} other bytes", played.len()))
}

/// B's socket drops; A writes meanwhile; B reconnects and `SYNC` hands over what it missed,
/// which B then confirms.
pub async fn sync_after_disconnect(cx: &mut Ctx) -> Result<(), String> {
    let (a, b) = cx.pair()?;
    if let Some(socket) = cx.sockets[1].take() {
        close(socket).await;
    }
    let text = "while you were away";
    let fields = [("to", b.id.to_string()), ("id", "smoke-away".into()), ("c", text.into())];
    let fields: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (*k, v.as_str())).collect();
    cx.call(Method::POST, "/message", Some(a.token()?), Body::Form(&fields)).await?.want(200)?;
    cx.sockets[1] = Some(cx.connect(b.token()?).await?);
    let socket = cx.socket(1)?;
    let synced = ok_data(ask(socket, &json!({ "event": "SYNC", "data": {}, "ref": "smoke-sync" })).await?, "SYNC")?;
    let missed: Vec<Value> = entries(&synced, "m").filter(|m| m["c"] == text).map(|m| m["id"].clone()).collect();
    if missed.is_empty() {
        return Err(format!("SYNC did not hand over the message sent while away: {synced}"));
    }
    let acked = ask(socket, &json!({ "event": "ACK", "data": { "ids": missed }, "ref": "smoke-ack" })).await?;
    ok_data(acked, "ACK").map(drop)
}

/// Both log out (their sockets first): the token is refused after, and the socket opened with it
/// closes.
pub async fn logout(cx: &mut Ctx) -> Result<(), String> {
    for i in 0..cx.users.len().min(2) {
        let token = cx.users[i].token()?.to_string();
        cx.call(Method::POST, "/server/logout", Some(&token), Body::Empty).await?.want(200)?;
        if let Some(socket) = cx.sockets[i].take() {
            closed_by_server(socket).await?;
        }
        cx.users[i].token = None;
        cx.call(Method::GET, "/group", Some(&token), Body::Empty).await?.want(401)?;
    }
    Ok(())
}

/// Waits for the server to close a socket whose session ended.
async fn closed_by_server(mut socket: crate::Socket) -> Result<(), String> {
    use futures::StreamExt;
    let deadline = tokio::time::Instant::now() + super::WAIT;
    loop {
        match tokio::time::timeout_at(deadline, socket.next()).await {
            Err(_) => return Err("the socket stayed open after the logout".to_string()),
            Ok(None | Some(Err(_)) | Some(Ok(tokio_tungstenite::tungstenite::Message::Close(_)))) => return Ok(()),
            Ok(Some(Ok(_))) => continue,
        }
    }
}

/// Deletes every account the run made (logging in again where the session ended), whatever
/// happened before; then each one's login must fail.
pub async fn delete_accounts(cx: &mut Ctx) -> Result<(), String> {
    for socket in cx.sockets.iter_mut().filter_map(Option::take) {
        close(socket).await;
    }
    let mut failures = vec![];
    for i in 0..cx.users.len() {
        if let Err(why) = delete_account(cx, i).await {
            failures.push(format!("user {}: {why}", cx.users[i].id));
        }
    }
    if failures.is_empty() {
        Ok(())
    } else {
        Err(failures.join("; "))
    }
}

async fn delete_account(cx: &mut Ctx, i: usize) -> Result<(), String> {
    if cx.users[i].token.is_none() {
        cx.users[i].token = Some(log_in(cx, i).await?);
    }
    let user = cx.users[i].clone();
    let body = Body::Json(json!({ "password": user.password }));
    cx.call(Method::DELETE, "/user", Some(user.token()?), body).await?.want(204)?;
    cx.users[i].token = None;
    let fields = [("phone", user.phone.as_str()), ("password", user.password.as_str()), ("device", "smoke")];
    cx.call(Method::POST, "/server/login", None, Body::Form(&fields)).await?.want(401).map(drop)
}
