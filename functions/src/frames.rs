//! Frames clients send over the WebSocket, in both dialects, and the answers they get.
//!
//! - JSON (seed 003): `{"event": "LOGIN", "data": {...}, "ref": "optional"}`, answered with
//!   `{"event": "OK" | "FAIL", "data": {...}, "ref": ...}`.
//! - TOML (simple_im): `[[r]] t = "login"`, `[[a]] id = "..."`, `[[p]]`, `[[s]]`, answered with
//!   `[[rr]] s = 0`, `[[pp]]`, `[[n]]` ...
//!
//! An answer goes back in the dialect of the frame; pushes use the connection's format.
//! A frame that cannot be understood gets an error frame and the connection stays open.

use crate::api::{ApiError, ApiResult};
use crate::contacts;
use crate::feed::{self, Entry};
use crate::messages::{self, Outgoing, Target};
use crate::push::Actor;
use crate::realtime::{self, ConnectionInfo, WireFormat};
use crate::relations::{self, Friendship};
use crate::sessions;
use crate::users::{self, NewUser};
use im_adapters::Clients;
use serde_json::{json, Value};

/// What a frame asks for, whichever dialect it came in.
#[derive(Clone, Debug, PartialEq)]
pub enum Request {
    Ping,
    /// Log in on a connection opened with `?login=frame`: a token, or phone/email and password.
    Login {
        token: Option<String>,
        phone: Option<String>,
        email: Option<String>,
        password: Option<String>,
        device: Option<String>,
    },
    /// Seed 003's `LOGON`: sign up with an email and log in.
    Logon {
        email: String,
        password: String,
        device: Option<String>,
    },
    /// Confirm exactly the entries named (simple_im `[[a]] id`, JSON `ACK`); `up_to` is the
    /// explicit "everything up to this id" (`[[a]] upto`, `ACK {"upto": ...}`).
    Ack {
        ids: Vec<String>,
        up_to: Option<String>,
    },
    /// Everything after `after` (default: this device's cursor).
    Sync {
        after: Option<String>,
    },
    /// Seed 003: ask (or accept) a contact, named by email, phone or id.
    CreateContact {
        user: String,
    },
    /// Seed 003: end a contact.
    DeleteContact {
        user: String,
    },
    /// Seed 003: every contact with its unread count.
    ListContactsUnread,
    /// Seed 002 `Friend` (simple: one id; list: many).
    Friend {
        id: Option<String>,
        friends: Vec<String>,
    },
    /// Seed 002 `Confirm`.
    Confirm {
        id: Option<String>,
        friend: String,
    },
    /// Seed 002 `Revoke`.
    Revoke {
        id: Option<String>,
        user: String,
    },
    /// A message: simple_im `[[m]]` / `[[gm]]`, seed 003 `CHAT_SEND_MSG`.
    Send {
        client_id: String,
        kind: String,
        content: String,
        to: Addressee,
    },
    /// Seed 003 `CHAT_WITH`: open a conversation and mark it read.
    ChatWith {
        user: String,
    },
    /// Seed 003 `CHAT_HISTORY`: `page`/`pagesize`, or `before` a message id.
    ChatHistory {
        user: String,
        page: u64,
        pagesize: u64,
        before: Option<String>,
    },
    /// Seed 003 `CHAT_RECEIVE_MSG`: the device has the message.
    ChatReceive {
        id: String,
    },
    /// Seed 003 `CHAT_DELETE`.
    ChatDelete {
        id: String,
    },
}

/// Who a message is for, as the frame names them.
#[derive(Clone, Debug, PartialEq)]
pub enum Addressee {
    /// A user named by email, phone or id.
    User(String),
    Group(u64),
}

/// A parsed frame: the request, the dialect to answer in, and JSON's optional `ref`.
#[derive(Clone, Debug, PartialEq)]
pub struct Frame {
    pub request: Request,
    pub dialect: WireFormat,
    pub reference: Option<Value>,
}

/// Why a frame was not understood, in the dialect to answer in.
#[derive(Clone, Debug, PartialEq)]
pub struct BadFrame {
    pub dialect: WireFormat,
    pub reason: String,
    pub reference: Option<Value>,
}

fn text(data: &Value, key: &str) -> Result<Option<String>, String> {
    match data.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(Value::Number(n)) => Ok(Some(n.to_string())),
        Some(_) => Err(format!("{key} must be a string")),
    }
}

fn number(data: &Value, key: &str, default: u64) -> Result<u64, String> {
    match data.get(key) {
        None | Some(Value::Null) => Ok(default),
        Some(v) => v.as_u64().ok_or_else(|| format!("{key} must be a positive whole number")),
    }
}

/// A message id for clients that send none (seed 003 has none): such sends are not deduplicated.
fn uuid_like() -> String {
    use rand::Rng;
    format!("srv-{:032x}", rand::thread_rng().gen::<u128>())
}

fn required(data: &Value, key: &str) -> Result<String, String> {
    text(data, key)?.ok_or_else(|| format!("{key} is required"))
}

/// Seed 003 names users by email; a string of digits is taken as a phone.
fn split_user(user: Option<String>) -> (Option<String>, Option<String>) {
    match user {
        Some(u) if u.contains('@') => (None, Some(u)),
        Some(u) => (Some(u), None),
        None => (None, None),
    }
}

/// Parses a frame in either dialect.
pub fn parse(frame: &str) -> Result<Frame, BadFrame> {
    if let Ok(value) = serde_json::from_str::<Value>(frame) {
        let reference = value.get("ref").cloned();
        let bad = |reason: String| BadFrame { dialect: WireFormat::Json, reason, reference: reference.clone() };
        let Some(event) = value.get("event").and_then(Value::as_str) else {
            return Err(bad("a JSON frame needs an \"event\" name".into()));
        };
        let data = value.get("data").cloned().unwrap_or_else(|| json!({}));
        if !data.is_object() {
            return Err(bad("data must be an object".into()));
        }
        let request = parse_json(event, &data).map_err(bad)?;
        return Ok(Frame { request, dialect: WireFormat::Json, reference });
    }
    let bad = |reason: String| BadFrame { dialect: WireFormat::Toml, reason, reference: None };
    let table: toml::Table = toml::from_str(frame).map_err(|_| bad("frame is neither JSON nor TOML".into()))?;
    let doc = serde_json::to_value(table).map_err(|e| bad(e.to_string()))?;
    let request = parse_toml(&doc).map_err(bad)?;
    Ok(Frame { request, dialect: WireFormat::Toml, reference: None })
}

fn parse_json(event: &str, data: &Value) -> Result<Request, String> {
    Ok(match event {
        "PING" => Request::Ping,
        "LOGIN" => {
            let (phone, email) = split_user(text(data, "user")?);
            Request::Login {
                token: text(data, "token")?,
                phone: text(data, "phone")?.or(phone),
                email: text(data, "email")?.or(email),
                password: text(data, "password")?,
                device: text(data, "device")?,
            }
        }
        "LOGON" => Request::Logon {
            email: required(data, "user")?,
            password: required(data, "password")?,
            device: text(data, "device")?,
        },
        "ACK" => {
            let up_to = text(data, "upto")?;
            let ids = match (data.get("id"), data.get("ids")) {
                (Some(Value::String(id)), _) => vec![id.clone()],
                (_, Some(Value::Array(ids))) => ids
                    .iter()
                    .map(|i| i.as_str().map(str::to_string).ok_or("ids must be strings"))
                    .collect::<Result<_, _>>()?,
                (None, None) if up_to.is_some() => vec![],
                _ => return Err("ACK needs id (a string), ids or upto".into()),
            };
            Request::Ack { ids, up_to }
        }
        "SYNC" => Request::Sync { after: text(data, "after")? },
        "CREATE_CONTACT" => Request::CreateContact { user: required(data, "user")? },
        "DELETE_CONTACT" => Request::DeleteContact { user: required(data, "user")? },
        "LIST_CONTACTS_UNREAD" => Request::ListContactsUnread,
        "Friend" => {
            let friends = match data.get("friend_id") {
                Some(Value::Array(list)) => list
                    .iter()
                    .map(|f| match f {
                        Value::String(s) => Ok(s.clone()),
                        Value::Number(n) => Ok(n.to_string()),
                        _ => Err("friend_id entries must be strings".to_string()),
                    })
                    .collect::<Result<Vec<_>, _>>()?,
                _ => vec![required(data, "friend_id")?],
            };
            Request::Friend { id: text(data, "id")?, friends }
        }
        "Confirm" => Request::Confirm { id: text(data, "id")?, friend: required(data, "friend_id")? },
        "Revoke" => Request::Revoke { id: text(data, "id")?, user: required(data, "user")? },
        "CHAT_SEND_MSG" => Request::Send {
            client_id: text(data, "id")?.unwrap_or_else(uuid_like),
            kind: text(data, "t")?.unwrap_or_else(|| "text".into()),
            content: required(data, "content")?,
            to: match data.get("g_id") {
                Some(_) => Addressee::Group(number(data, "g_id", 0)?),
                None => Addressee::User(required(data, "user")?),
            },
        },
        "CHAT_WITH" => Request::ChatWith { user: required(data, "user")? },
        "CHAT_HISTORY" => Request::ChatHistory {
            user: required(data, "user")?,
            page: number(data, "page", 1)?,
            pagesize: number(data, "pagesize", 20)?.clamp(1, 100),
            before: text(data, "before")?,
        },
        "CHAT_RECEIVE_MSG" => Request::ChatReceive { id: required(data, "id")? },
        "CHAT_DELETE" => Request::ChatDelete { id: required(data, "id")? },
        other => return Err(format!("unknown event {other}")),
    })
}

fn parse_toml(doc: &Value) -> Result<Request, String> {
    let first = |name: &str| doc.get(name).and_then(Value::as_array).and_then(|a| a.first()).cloned();
    if first("p").is_some() {
        return Ok(Request::Ping);
    }
    if let Some(r) = first("r") {
        if r.get("t").and_then(Value::as_str) != Some("login") {
            return Err("[[r]] supports t = \"login\"".into());
        }
        return Ok(Request::Login {
            token: text(&r, "token")?,
            phone: text(&r, "phone")?,
            email: text(&r, "email")?,
            password: text(&r, "password")?,
            device: text(&r, "d")?,
        });
    }
    if let Some(acks) = doc.get("a").and_then(Value::as_array) {
        let mut ids = vec![];
        let mut up_to = None;
        for ack in acks {
            match (text(ack, "id")?, text(ack, "upto")?) {
                (Some(id), _) => ids.push(id),
                (None, Some(upto)) => up_to = Some(upto),
                (None, None) => return Err("[[a]] needs id (or upto)".into()),
            }
        }
        return Ok(Request::Ack { ids, up_to });
    }
    if let Some(s) = first("s") {
        return Ok(Request::Sync { after: text(&s, "after")? });
    }
    for (table, group) in [("m", false), ("gm", true)] {
        if let Some(m) = first(table) {
            let to = if group {
                Addressee::Group(required(&m, "g_id")?.parse().map_err(|_| "g_id must be a number".to_string())?)
            } else {
                Addressee::User(required(&m, "to")?)
            };
            return Ok(Request::Send {
                client_id: required(&m, "id")?,
                kind: text(&m, "t")?.unwrap_or_else(|| "text".into()),
                content: required(&m, "c")?,
                to,
            });
        }
    }
    Err("unknown frame".into())
}

/// An answer in a dialect: JSON `OK`/`FAIL`/`ERROR` events, or the TOML tables simple_im uses.
struct Answer {
    dialect: WireFormat,
    reference: Option<Value>,
}

impl Answer {
    fn json(&self, event: &str, data: Value) -> String {
        let mut frame = json!({ "event": event, "data": data });
        if let Some(reference) = &self.reference {
            frame["ref"] = reference.clone();
        }
        frame.to_string()
    }
    fn toml(&self, table: &str, data: Value) -> String {
        String::from_utf8_lossy(&realtime::encode_frame(WireFormat::Toml, table, "", &data)).to_string()
    }
    fn error(&self, reason: &str) -> String {
        match self.dialect {
            WireFormat::Json => self.json("ERROR", json!({ "msg": reason })),
            WireFormat::Toml => self.toml("error", json!({ "r": reason })),
        }
    }
    fn fail(&self, reason: &str) -> String {
        match self.dialect {
            WireFormat::Json => self.json("FAIL", json!({ "msg": reason })),
            WireFormat::Toml => self.toml("error", json!({ "r": reason })),
        }
    }
    fn login(&self, result: Result<u64, String>) -> String {
        match (self.dialect, result) {
            (WireFormat::Json, Ok(id)) => self.json("OK", json!({ "id": id })),
            (WireFormat::Json, Err(reason)) => self.json("FAIL", json!({ "msg": reason })),
            (WireFormat::Toml, Ok(_)) => self.toml("rr", json!({ "s": 0 })),
            (WireFormat::Toml, Err(reason)) => self.toml("rr", json!({ "s": 1, "r": reason })),
        }
    }
}

fn client_reason(err: ApiError) -> Result<String, ApiError> {
    match err {
        ApiError::Client { reason, .. } => Ok(reason),
        internal => Err(internal),
    }
}

/// Handles one frame from connection `cid`; returns the answer to send back ("" for none).
pub async fn handle(clients: &Clients, cid: &str, frame: &str) -> ApiResult<String> {
    let frame = match parse(frame) {
        Ok(frame) => frame,
        Err(bad) => return Ok(Answer { dialect: bad.dialect, reference: bad.reference }.error(&bad.reason)),
    };
    let answer = Answer { dialect: frame.dialect, reference: frame.reference.clone() };
    let Some(conn) = realtime::connection_info(clients, cid).await? else {
        return Ok(answer.error("unknown or expired connection: reconnect"));
    };
    match (frame.request, conn.user_id) {
        (Request::Ping, _) => Ok(match frame.dialect {
            WireFormat::Json => answer.json("PONG", json!({})),
            WireFormat::Toml => answer.toml("pp", json!({})),
        }),
        (Request::Login { .. } | Request::Logon { .. }, Some(_)) => Ok(answer.fail("already logged in")),
        (Request::Login { token, phone, email, password, device }, None) => {
            let outcome = match login(clients, &conn, token, phone, email, password, device).await {
                Ok(outcome) => outcome,
                Err(err) => Err(client_reason(err)?),
            };
            Ok(answer.login(outcome))
        }
        (Request::Logon { email, password, device }, None) => {
            let outcome = match logon(clients, &conn, &email, password, device).await {
                Ok(id) => Ok(id),
                Err(err) => Err(client_reason(err)?),
            };
            Ok(answer.login(outcome))
        }
        (_, None) => Ok(answer.fail("login first")),
        (Request::Ack { ids, up_to }, Some(user_id)) => {
            if let Err(err) = messages::acknowledge(clients, user_id, &conn.device, &ids, up_to.as_deref()).await {
                return Ok(answer.fail(&client_reason(err)?));
            }
            Ok(match frame.dialect {
                WireFormat::Json => answer.json("OK", json!({})),
                WireFormat::Toml => String::new(),
            })
        }
        (
            request @ (Request::Send { .. }
            | Request::ChatWith { .. }
            | Request::ChatHistory { .. }
            | Request::ChatReceive { .. }
            | Request::ChatDelete { .. }),
            Some(user_id),
        ) => {
            let actor = Actor { user_id, device: conn.device.clone(), connection_id: Some(conn.connection_id.clone()) };
            let client_id = match &request {
                Request::Send { client_id, .. } => Some(client_id.clone()),
                _ => None,
            };
            match chat(clients, &answer, &actor, request).await {
                Ok(reply) => Ok(reply),
                Err(err) => {
                    let reason = client_reason(err)?;
                    Ok(match (answer.dialect, client_id) {
                        (WireFormat::Toml, Some(id)) => answer.toml("error", json!({ "r": reason, "id": id })),
                        _ => answer.fail(&reason),
                    })
                }
            }
        }
        (Request::ListContactsUnread, Some(user_id)) => {
            let contacts = contacts::contacts_unread(clients, user_id).await?;
            Ok(answer.json("OK", json!({ "contacts": contacts })))
        }
        (request @ (Request::CreateContact { .. } | Request::DeleteContact { .. }), Some(user_id)) => {
            let actor = Actor { user_id, device: conn.device.clone(), connection_id: Some(conn.connection_id.clone()) };
            let (name, delete) = match &request {
                Request::DeleteContact { user } => (user.as_str(), true),
                Request::CreateContact { user } => (user.as_str(), false),
                _ => unreachable!("matched above"),
            };
            let Some(them) = contacts::resolve_user(clients, name).await? else {
                return Ok(answer.fail("No such user"));
            };
            let done = if delete {
                contacts::unfriend(clients, &actor, them).await
            } else {
                contacts::befriend(clients, &actor, them).await
            };
            Ok(match done {
                Ok(_) => answer.json("OK", json!({})),
                Err(ApiError::Client { code: Some("400-20" | "400-21"), .. }) => answer.fail("Already exists"),
                Err(err) => answer.fail(&client_reason(err)?),
            })
        }
        (request @ (Request::Friend { .. } | Request::Confirm { .. } | Request::Revoke { .. }), Some(user_id)) => {
            let actor = Actor { user_id, device: conn.device.clone(), connection_id: Some(conn.connection_id.clone()) };
            private(clients, &answer, &actor, request).await
        }
        (Request::Sync { after }, Some(user_id)) => {
            let after = match after {
                Some(id) => match feed::parse_id(&id) {
                    Some(seq) => Some(seq),
                    None => return Ok(answer.fail(&format!("unknown id {id}"))),
                },
                None => None,
            };
            let pending = messages::pending(clients, user_id, &conn.device, after, SYNC_PAGE).await?;
            Ok(sync_answer(&answer, &pending.feed, &pending.messages, pending.more))
        }
    }
}

/// Notifications one SYNC answer carries: well under API Gateway's 128 KB message.
pub const SYNC_PAGE: usize = 50;

fn sync_answer(answer: &Answer, entries: &[Entry], messages: &[Entry], more: bool) -> String {
    let tables = feed::by_table(entries, messages);
    match answer.dialect {
        WireFormat::Json => {
            let mut data = serde_json::Map::new();
            for (table, list) in tables {
                data.insert(table.to_string(), Value::Array(list));
            }
            data.insert("more".into(), json!(more));
            answer.json("OK", Value::Object(data))
        }
        WireFormat::Toml => {
            let mut doc = serde_json::Map::new();
            for (table, list) in tables {
                doc.insert(table.to_string(), Value::Array(list));
            }
            doc.insert("sync".into(), json!([{ "more": more }]));
            String::from_utf8_lossy(&crate::api::Format::Toml.encode(&Value::Object(doc))).to_string()
        }
    }
}

/// Names a user the way seed 003 does (email, phone or id); 404 when nobody has that name.
async fn named_user(clients: &Clients, name: &str) -> ApiResult<u64> {
    contacts::resolve_user(clients, name).await?.ok_or_else(|| ApiError::not_found("No such user"))
}

/// Messages over the socket, both dialects.
async fn chat(clients: &Clients, answer: &Answer, actor: &Actor, request: Request) -> ApiResult<String> {
    match request {
        Request::Send { client_id, kind, content, to } => {
            let target = match to {
                Addressee::User(name) => Target::User(named_user(clients, &name).await?),
                Addressee::Group(id) => Target::Group(id),
            };
            let out = Outgoing { client_id: client_id.clone(), kind, content, target };
            let sent = messages::send(clients, actor, &out).await?;
            Ok(match answer.dialect {
                WireFormat::Json => answer.json("OK", json!({ "id": sent.id })),
                WireFormat::Toml => answer.toml("a", json!({ "id": client_id, "sid": sent.id })),
            })
        }
        Request::ChatWith { user } => {
            let other = named_user(clients, &user).await?;
            messages::mark_read(clients, actor.user_id, &messages::direct(actor.user_id, other)).await?;
            Ok(answer.json("OK", json!({})))
        }
        Request::ChatHistory { user, page, pagesize, before } => {
            let other = named_user(clients, &user).await?;
            let stream = messages::direct(actor.user_id, other);
            let before = match before {
                Some(id) => Some(
                    messages::parse_message_id(&id)
                        .filter(|(s, _)| *s == stream)
                        .map(|(_, seq)| seq)
                        .ok_or_else(|| ApiError::bad_request("before must be a message id of this conversation"))?,
                ),
                None => None,
            };
            let entries = messages::history(clients, &stream, page, pagesize, before).await?;
            let profiles = users::load_profiles(clients, &[actor.user_id, other]).await?;
            let name_of = |id: u64| profiles.get(&id).map(contacts::contact_key).unwrap_or_else(|| id.to_string());
            let history: Vec<Value> = entries
                .iter()
                .map(|e| {
                    let from = e.body.get("from").and_then(Value::as_u64).unwrap_or(0);
                    let data = crate::push::frame_data(WireFormat::Json, e);
                    json!({ "id": e.id(), "content": data["msg"]["content"], "time": data["msg"]["time"], "user": name_of(from), "deleted": e.body.get("deleted").is_some() })
                })
                .collect();
            Ok(answer.json("OK", json!({ "chat_history": history, "current_page": if before.is_some() { Value::Null } else { json!(page) } })))
        }
        Request::ChatReceive { id } => {
            messages::parse_message_id(&id).ok_or_else(|| ApiError::bad_request("not a message id"))?;
            messages::acknowledge(clients, actor.user_id, &actor.device, &[id], None).await?;
            Ok(answer.json("OK", json!({})))
        }
        Request::ChatDelete { id } => {
            let (stream, seq) =
                messages::parse_message_id(&id).ok_or_else(|| ApiError::bad_request("not a message id"))?;
            if !messages::is_member(clients, actor.user_id, &stream).await? {
                return Err(ApiError::not_found("message not found"));
            }
            messages::delete(clients, actor, &stream, seq).await?;
            Ok(answer.json("OK", json!({})))
        }
        _ => Ok(answer.fail("not a chat frame")),
    }
}

/// Seed 002 (PRIVATE) over the socket: `io` answers with its errors, `Contact` on confirm,
/// the `Revoke` echoed back.
async fn private(clients: &Clients, answer: &Answer, actor: &Actor, request: Request) -> ApiResult<String> {
    let io = |data: Value| answer.json("io", data);
    let error = |err: ApiError| -> ApiResult<String> {
        match err {
            ApiError::Client { code: Some("400-6" | "400-23"), .. } => Ok(io(json!({ "error": "not_authorized" }))),
            ApiError::Client { code: Some("404-12"), .. } => Ok(io(json!({ "error": "not_authorized" }))),
            ApiError::Client { code: Some("400-20" | "400-21" | "400-22"), .. } => Ok(io(json!({}))),
            ApiError::Client { .. } => Ok(io(json!({ "error": "roster_not_found" }))),
            internal => Err(internal),
        }
    };
    match request {
        Request::Friend { friends, .. } => {
            for name in friends {
                let Some(them) = contacts::resolve_user(clients, &name).await? else {
                    return Ok(io(json!({ "error": "roster_not_found" })));
                };
                if let Err(err) = contacts::befriend(clients, actor, them).await {
                    let reply = error(err)?;
                    if reply != io(json!({})) {
                        return Ok(reply);
                    }
                }
            }
            Ok(io(json!({})))
        }
        Request::Confirm { friend, .. } => {
            let Some(them) = contacts::resolve_user(clients, &friend).await? else {
                return Ok(io(json!({ "error": "roster_not_found" })));
            };
            let pair = relations::pair(clients, actor.user_id, them).await?;
            if pair.ab.friendship == Friendship::Friends {
                return Ok(io(json!({ "ok": "already_present" })));
            }
            if let Err(err) = contacts::confirm(clients, actor, them).await {
                return error(err);
            }
            let profile = users::load_profile(clients, them).await?;
            let contact = json!({
                "user_id": them,
                "phone": profile.and_then(|p| p.phone),
                "status": "friend",
                "update_time": crate::db::now_secs(),
            });
            Ok(answer.json("Contact", contact))
        }
        Request::Revoke { id, user } => {
            let Some(them) = contacts::resolve_user(clients, &user).await? else {
                return Ok(io(json!({ "error": "roster_not_found" })));
            };
            if let Err(err) = contacts::unfriend(clients, actor, them).await {
                return error(err);
            }
            Ok(answer.json("Revoke", json!({ "id": id, "user": user, "status": "revoke" })))
        }
        _ => Ok(answer.fail("not a PRIVATE frame")),
    }
}

/// Logs a `?login=frame` connection in; `Ok(Err(reason))` is a refusal the client should see.
async fn login(
    clients: &Clients,
    conn: &ConnectionInfo,
    token: Option<String>,
    phone: Option<String>,
    email: Option<String>,
    password: Option<String>,
    device: Option<String>,
) -> ApiResult<Result<u64, String>> {
    let device = match device {
        Some(d) => users::parse_device(Some(d))?,
        None => conn.device.clone(),
    };
    let user_id = match (token, password) {
        (Some(token), _) => sessions::resolve(clients, &token).await?.user_id,
        (None, Some(password)) => users::authenticate(clients, users::login_claim(phone, email)?, password).await?,
        (None, None) => return Ok(Err("send a token, or a phone/email and password".into())),
    };
    realtime::bind(clients, &conn.connection_id, user_id, &device, conn.format).await?;
    Ok(Ok(user_id))
}

/// Seed 003's `LOGON`: signs up with an email and logs this connection in.
async fn logon(
    clients: &Clients,
    conn: &ConnectionInfo,
    email: &str,
    password: String,
    device: Option<String>,
) -> ApiResult<u64> {
    let device = match device {
        Some(d) => users::parse_device(Some(d))?,
        None => conn.device.clone(),
    };
    let id = users::register(clients, &NewUser::from_email(email, password)?).await?;
    realtime::bind(clients, &conn.connection_id, id, &device, conn.format).await?;
    Ok(id)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_both_dialects() {
        let f = parse(r#"{"event":"LOGIN","data":{"user":"eva@gmail.com","password":"123456"},"ref":7}"#).unwrap();
        assert_eq!(f.dialect, WireFormat::Json);
        assert_eq!(f.reference, Some(json!(7)));
        assert!(matches!(f.request, Request::Login { email: Some(ref e), .. } if e == "eva@gmail.com"));
        let f = parse("[[r]]\nt = \"login\"\ntoken = \"abc\"\nd = \"android\"\n").unwrap();
        assert_eq!(f.dialect, WireFormat::Toml);
        assert!(
            matches!(f.request, Request::Login { token: Some(ref t), device: Some(ref d), .. } if t == "abc" && d == "android")
        );
        let f = parse("[[a]]\nid = \"n:3\"\n[[a]]\nid = \"n:4\"\n").unwrap();
        assert_eq!(f.request, Request::Ack { ids: vec!["n:3".into(), "n:4".into()], up_to: None });
    }

    #[test]
    fn bad_frames_say_why_in_their_dialect() {
        let bad = parse(r#"{"event":"ACK","data":{"id":5}}"#).unwrap_err();
        assert_eq!(bad.dialect, WireFormat::Json);
        assert!(bad.reason.contains("ACK"));
        assert!(parse(r#"{"data":{}}"#).unwrap_err().reason.contains("event"));
        assert!(parse(r#"{"event":"LOGIN","data":[]}"#).unwrap_err().reason.contains("object"));
        assert_eq!(parse("garbage = = =").unwrap_err().reason, "frame is neither JSON nor TOML");
        assert_eq!(parse("[[zz]]\n").unwrap_err().dialect, WireFormat::Toml);
    }
}
