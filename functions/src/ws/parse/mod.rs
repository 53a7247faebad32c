//! Frames clients send, in both dialects, parsed once into one typed [`Request`]:
//!
//! - JSON (seed 003): `{"event": "LOGIN", "data": {...}, "ref": "optional"}`, a serde enum
//!   tagged by `event`;
//! - TOML (simple_im): `[[r]] t = "login"`, `[[a]] id = "..."`, `[[p]]`, `[[s]]`, `[[m]]`,
//!   `[[gm]]`, typed tables.
//!
//! A new frame is a variant here and an arm in `dispatch`.

use crate::domain::format::Format;
use crate::domain::ids::UserRef;
use serde::de::Error as _;
use serde::{Deserialize, Deserializer};
use serde_json::{json, Value};

/// What a frame asks for, whichever dialect it came in.
#[derive(Clone, Debug, PartialEq)]
pub enum Request {
    Ping,
    /// Log in a connection opened without a token: a token, or phone/email and password.
    /// simple_im's `[[r]]` may carry its own `id` (echoed in `[[rr]]`) and `[r.user] id`,
    /// which must be the user the token or password names.
    Login {
        token: Option<String>,
        phone: Option<String>,
        email: Option<String>,
        password: Option<String>,
        device: Option<String>,
        frame_id: Option<String>,
        user_id: Option<String>,
    },
    /// Seed 003's `LOGON`: sign up with an email and log in.
    Logon {
        email: String,
        password: String,
        device: Option<String>,
    },
    /// Confirm exactly the entries named; `up_to` is the explicit "everything up to this id".
    Ack {
        ids: Vec<String>,
        up_to: Option<String>,
    },
    /// What this device has not confirmed (feed entries only after `after` too).
    Sync {
        after: Option<String>,
    },
    /// Seed 003: ask (or accept) a contact, named by email, phone or id.
    CreateContact {
        user: UserRef,
    },
    /// Seed 003: end a contact.
    DeleteContact {
        user: UserRef,
    },
    /// Seed 003: every contact with its unread count.
    ListContactsUnread,
    /// Seed 002 `Friend` (simple: one id; list: many).
    Friend {
        friends: Vec<UserRef>,
    },
    /// Seed 002 `Confirm`.
    Confirm {
        friend: UserRef,
    },
    /// Seed 002 `Revoke`.
    Revoke {
        id: Option<String>,
        user: UserRef,
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
        user: UserRef,
    },
    /// Seed 003 `CHAT_HISTORY`: `page`/`pagesize`, or `before` a message id.
    ChatHistory {
        user: UserRef,
        page: u64,
        pagesize: u64,
        before: Option<String>,
    },
    /// Seed 003 `CHAT_RECEIVE_MSG`: the device has the message. The seed's own frame carries
    /// only `content`; without an `id` there is nothing to confirm and it is simply answered.
    ChatReceive {
        id: Option<String>,
    },
    /// Seed 003 `CHAT_DELETE`.
    ChatDelete {
        id: String,
    },
}

impl Request {
    /// The request's kind, for the log (never its fields: a login carries a password).
    pub fn name(&self) -> &'static str {
        match self {
            Request::Ping => "ping",
            Request::Login { .. } => "login",
            Request::Logon { .. } => "logon",
            Request::Ack { .. } => "ack",
            Request::Sync { .. } => "sync",
            Request::CreateContact { .. } => "create_contact",
            Request::DeleteContact { .. } => "delete_contact",
            Request::ListContactsUnread => "list_contacts_unread",
            Request::Friend { .. } => "friend",
            Request::Confirm { .. } => "confirm",
            Request::Revoke { .. } => "revoke",
            Request::Send { to: Addressee::Group(_), .. } => "send_group",
            Request::Send { .. } => "send",
            Request::ChatWith { .. } => "chat_with",
            Request::ChatHistory { .. } => "chat_history",
            Request::ChatReceive { .. } => "chat_receive",
            Request::ChatDelete { .. } => "chat_delete",
        }
    }
}

/// Who a message is for, as the frame names them.
#[derive(Clone, Debug, PartialEq)]
pub enum Addressee {
    /// A user named by id (a number), or by email or phone (a string).
    User(UserRef),
    Group(u64),
}

/// A parsed frame: the request, the dialect to answer in, and JSON's optional `ref`.
#[derive(Clone, Debug, PartialEq)]
pub struct Frame {
    pub request: Request,
    pub dialect: Format,
    pub reference: Option<Value>,
}

/// Why a frame was not understood, in the dialect to answer in.
#[derive(Clone, Debug, PartialEq)]
pub struct BadFrame {
    pub dialect: Format,
    pub reason: String,
    pub reference: Option<Value>,
}

/// A string, or a number given where a string is meant (TOML `to = 2`, JSON `"user": 3`).
#[derive(Clone, Debug, Default, PartialEq)]
struct Text(String);

impl<'de> Deserialize<'de> for Text {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        match Value::deserialize(deserializer)? {
            Value::String(s) => Ok(Text(s)),
            Value::Number(n) => Ok(Text(n.to_string())),
            other => Err(D::Error::custom(format!("invalid type: {other}, expected a string"))),
        }
    }
}

fn text(value: Option<Text>) -> Option<String> {
    value.map(|t| t.0)
}

/// A user as a frame names them: a number is an id, a string an email or a phone.
#[derive(Clone, Debug, PartialEq)]
struct Who(UserRef);

impl<'de> Deserialize<'de> for Who {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        match Value::deserialize(deserializer)? {
            Value::String(s) => Ok(Who(UserRef::Name(s))),
            Value::Number(n) => {
                n.as_u64().map(|id| Who(UserRef::Id(id))).ok_or_else(|| D::Error::custom("expected u64"))
            }
            other => Err(D::Error::custom(format!("invalid type: {other}, expected a string"))),
        }
    }
}

/// Seed 002's `friend_id`: one user, or a list of them.
#[derive(Deserialize)]
#[serde(untagged)]
enum OneOrMany {
    One(Who),
    Many(Vec<Who>),
}

/// Seed 003's events, and this project's socket verbs in JSON.
#[derive(Deserialize)]
#[serde(tag = "event", content = "data")]
enum JsonRequest {
    #[serde(rename = "PING")]
    Ping {},
    #[serde(rename = "LOGIN")]
    Login {
        user: Option<Text>,
        token: Option<Text>,
        phone: Option<Text>,
        email: Option<Text>,
        password: Option<Text>,
        device: Option<Text>,
    },
    #[serde(rename = "LOGON")]
    Logon {
        user: Text,
        password: Text,
        device: Option<Text>,
    },
    #[serde(rename = "ACK")]
    Ack {
        id: Option<String>,
        ids: Option<Vec<String>>,
        upto: Option<Text>,
    },
    #[serde(rename = "SYNC")]
    Sync {
        after: Option<Text>,
    },
    #[serde(rename = "CREATE_CONTACT")]
    CreateContact {
        user: Who,
    },
    #[serde(rename = "DELETE_CONTACT")]
    DeleteContact {
        user: Who,
    },
    #[serde(rename = "LIST_CONTACTS_UNREAD")]
    ListContactsUnread {},
    Friend {
        friend_id: OneOrMany,
    },
    Confirm {
        friend_id: Who,
    },
    Revoke {
        id: Option<Text>,
        user: Who,
    },
    #[serde(rename = "CHAT_SEND_MSG")]
    ChatSendMsg {
        id: Option<Text>,
        t: Option<Text>,
        content: Text,
        g_id: Option<u64>,
        user: Option<Who>,
    },
    #[serde(rename = "CHAT_WITH")]
    ChatWith {
        user: Who,
    },
    #[serde(rename = "CHAT_HISTORY")]
    ChatHistory {
        user: Who,
        page: Option<u64>,
        pagesize: Option<u64>,
        before: Option<Text>,
    },
    #[serde(rename = "CHAT_RECEIVE_MSG")]
    ChatReceiveMsg {
        id: Option<Text>,
    },
    #[serde(rename = "CHAT_DELETE")]
    ChatDelete {
        id: Text,
    },
}

/// A message id for clients that send none (seed 003 has none): such sends are not deduplicated.
fn server_id() -> String {
    use rand::Rng;
    format!("srv-{:032x}", rand::thread_rng().gen::<u128>())
}

/// Seed 003 names users by email; a string of digits is taken as a phone.
fn split_user(user: Option<String>) -> (Option<String>, Option<String>) {
    match user {
        Some(u) if u.contains('@') => (None, Some(u)),
        Some(u) => (Some(u), None),
        None => (None, None),
    }
}

impl JsonRequest {
    fn request(self) -> Result<Request, String> {
        Ok(match self {
            JsonRequest::Ping {} => Request::Ping,
            JsonRequest::Login { user, token, phone, email, password, device } => {
                let (user_phone, user_email) = split_user(text(user));
                Request::Login {
                    token: text(token),
                    phone: text(phone).or(user_phone),
                    email: text(email).or(user_email),
                    password: text(password),
                    device: text(device),
                    frame_id: None,
                    user_id: None,
                }
            }
            JsonRequest::Logon { user, password, device } => {
                Request::Logon { email: user.0, password: password.0, device: text(device) }
            }
            JsonRequest::Ack { id, ids, upto } => {
                let up_to = text(upto);
                let ids = match (id, ids) {
                    (Some(id), _) => vec![id],
                    (None, Some(ids)) => ids,
                    (None, None) if up_to.is_some() => vec![],
                    (None, None) => return Err("ACK needs id (a string), ids or upto".into()),
                };
                Request::Ack { ids, up_to }
            }
            JsonRequest::Sync { after } => Request::Sync { after: text(after) },
            JsonRequest::CreateContact { user } => Request::CreateContact { user: user.0 },
            JsonRequest::DeleteContact { user } => Request::DeleteContact { user: user.0 },
            JsonRequest::ListContactsUnread {} => Request::ListContactsUnread,
            JsonRequest::Friend { friend_id } => Request::Friend {
                friends: match friend_id {
                    OneOrMany::One(id) => vec![id.0],
                    OneOrMany::Many(ids) => ids.into_iter().map(|t| t.0).collect(),
                },
            },
            JsonRequest::Confirm { friend_id } => Request::Confirm { friend: friend_id.0 },
            JsonRequest::Revoke { id, user } => Request::Revoke { id: text(id), user: user.0 },
            JsonRequest::ChatSendMsg { id, t, content, g_id, user } => Request::Send {
                client_id: text(id).unwrap_or_else(server_id),
                kind: text(t).unwrap_or_else(|| "text".into()),
                content: content.0,
                to: match (g_id, user) {
                    (Some(group), _) => Addressee::Group(group),
                    (None, Some(user)) => Addressee::User(user.0),
                    (None, None) => return Err("user is required".into()),
                },
            },
            JsonRequest::ChatWith { user } => Request::ChatWith { user: user.0 },
            JsonRequest::ChatHistory { user, page, pagesize, before } => Request::ChatHistory {
                user: user.0,
                page: page.unwrap_or(1),
                pagesize: pagesize.unwrap_or(20).clamp(1, 100),
                before: text(before),
            },
            JsonRequest::ChatReceiveMsg { id } => Request::ChatReceive { id: text(id) },
            JsonRequest::ChatDelete { id } => Request::ChatDelete { id: id.0 },
        })
    }
}

/// simple_im's `[[r]]`: a login request, its credentials at the top or in `[r.user]`.
#[derive(Deserialize)]
struct LoginTable {
    id: Option<Text>,
    t: Option<Text>,
    token: Option<Text>,
    phone: Option<Text>,
    email: Option<Text>,
    password: Option<Text>,
    d: Option<Text>,
    user: Option<LoginUser>,
}

/// `[r.user]`: who logs in, on which device, with which token (the simple_im wiki's form).
#[derive(Deserialize, Default)]
struct LoginUser {
    id: Option<Text>,
    d: Option<Text>,
    token: Option<Text>,
    phone: Option<Text>,
    email: Option<Text>,
    password: Option<Text>,
}

/// simple_im's `[[a]]`: an ack of one id (or this project's explicit `upto`).
#[derive(Deserialize)]
struct AckTable {
    id: Option<Text>,
    upto: Option<Text>,
}

/// `[[s]]`: a sync request.
#[derive(Deserialize)]
struct SyncTable {
    after: Option<Text>,
}

/// simple_im's `[[m]]` (to a user) and `[[gm]]` (to a group).
#[derive(Deserialize)]
struct MessageTable {
    id: Text,
    t: Option<Text>,
    c: Text,
    to: Option<Text>,
    g_id: Option<Text>,
}

/// A simple_im frame: the tables it may carry.
#[derive(Deserialize, Default)]
#[serde(default)]
struct TomlFrame {
    p: Vec<toml::Table>,
    r: Vec<LoginTable>,
    a: Vec<AckTable>,
    s: Vec<SyncTable>,
    m: Vec<MessageTable>,
    gm: Vec<MessageTable>,
    n: Vec<toml::Table>,
}

impl TomlFrame {
    /// The request of the first kind of table present, in simple_im's order.
    fn request(mut self) -> Result<Request, String> {
        if !self.p.is_empty() {
            return Ok(Request::Ping);
        }
        if !self.n.is_empty() {
            return Err("[[n]] is what the server sends: acknowledge it with [[a]] id".into());
        }
        if let Some(r) = self.r.into_iter().next() {
            if text(r.t).as_deref() != Some("login") {
                return Err("[[r]] supports t = \"login\"".into());
            }
            let user = r.user.unwrap_or_default();
            return Ok(Request::Login {
                token: text(user.token).or(text(r.token)),
                phone: text(user.phone).or(text(r.phone)),
                email: text(user.email).or(text(r.email)),
                password: text(user.password).or(text(r.password)),
                device: text(user.d).or(text(r.d)),
                frame_id: text(r.id),
                user_id: text(user.id),
            });
        }
        if !self.a.is_empty() {
            let mut ids = vec![];
            let mut up_to = None;
            for ack in self.a {
                match (text(ack.id), text(ack.upto)) {
                    (Some(id), _) => ids.push(id),
                    (None, Some(upto)) => up_to = Some(upto),
                    (None, None) => return Err("[[a]] needs id (or upto)".into()),
                }
            }
            return Ok(Request::Ack { ids, up_to });
        }
        if let Some(s) = self.s.into_iter().next() {
            return Ok(Request::Sync { after: text(s.after) });
        }
        let (m, group) = match (self.m.drain(..).next(), self.gm.drain(..).next()) {
            (Some(m), _) => (m, false),
            (None, Some(gm)) => (gm, true),
            (None, None) => return Err("unknown frame".into()),
        };
        let to = if group {
            let g_id = text(m.g_id).ok_or("g_id is required")?;
            Addressee::Group(g_id.parse().map_err(|_| "g_id must be a number".to_string())?)
        } else {
            // simple_im's `to` is a user id, given as a number or its digits.
            let to = text(m.to).ok_or("to is required")?;
            Addressee::User(to.parse().map(UserRef::Id).unwrap_or(UserRef::Name(to)))
        };
        Ok(Request::Send { client_id: m.id.0, kind: text(m.t).unwrap_or_else(|| "text".into()), content: m.c.0, to })
    }
}

/// A typed parse's failure as this API words it: "user is required", "id must be a string",
/// "unknown event NOPE", naming the field (found with `serde_path_to_error`).
fn reason(event: Option<&str>, path: &serde_path_to_error::Path, message: &str) -> String {
    use serde_path_to_error::Segment;
    let field = path.iter().rev().find_map(|segment| match segment {
        Segment::Map { key } if key != "data" => Some(key.clone()),
        _ => None,
    });
    if let Some((missing, _)) = message.strip_prefix("missing field `").and_then(|rest| rest.split_once('`')) {
        return format!("{missing} is required");
    }
    match (event, field) {
        (Some(event), _) if message.starts_with("unknown variant") => format!("unknown event {event}"),
        (Some("ACK"), _) => "ACK needs id (a string), ids or upto".into(),
        (_, Some(field)) if message.contains("expected u64") => format!("{field} must be a positive whole number"),
        (_, Some(field)) if message.contains("expected a string") => format!("{field} must be a string"),
        (_, Some(field)) if message.contains("expected a sequence") => format!("{field} must be a list"),
        (_, Some(field)) => format!("{field}: {message}"),
        (Some(event), None) => format!("{event}: {message}"),
        (None, None) => message.to_string(),
    }
}

/// Parses a frame in either dialect. A TOML frame may carry several tables (simple_im sends
/// `[[m]]` and `[[a]]` together): each is a request of its own, in order; consecutive `[[a]]`
/// tables are one ack.
pub fn parse_all(frame: &str) -> Vec<Result<Frame, BadFrame>> {
    if let Ok(value) = serde_json::from_str::<Value>(frame) {
        return vec![parse_json(value)];
    }
    let bad = |reason: String| BadFrame { dialect: Format::Toml, reason, reference: None };
    let text = match toml::from_str::<toml::Table>(frame) {
        Ok(_) => frame.to_string(),
        Err(_) => one_key_per_line(frame),
    };
    if toml::from_str::<toml::Table>(&text).is_err() {
        return vec![Err(bad("frame is neither JSON nor TOML".into()))];
    }
    tables_of(&text)
        .into_iter()
        .map(|table| {
            let tables: TomlFrame = serde_path_to_error::deserialize(toml::Deserializer::new(&table))
                .map_err(|e| bad(reason(None, e.path(), e.inner().message())))?;
            Ok(Frame { request: tables.request().map_err(bad)?, dialect: Format::Toml, reference: None })
        })
        .collect()
}

/// Parses a frame that carries one request (a JSON frame, or a TOML frame of one table).
pub fn parse(frame: &str) -> Result<Frame, BadFrame> {
    parse_all(frame)
        .into_iter()
        .next()
        .unwrap_or_else(|| Err(BadFrame { dialect: Format::Toml, reason: "unknown frame".into(), reference: None }))
}

fn parse_json(value: Value) -> Result<Frame, BadFrame> {
    let reference = value.get("ref").cloned();
    let bad = |reason: String| BadFrame { dialect: Format::Json, reason, reference: reference.clone() };
    let Some(event) = value.get("event").and_then(Value::as_str) else {
        return Err(bad("a JSON frame needs an \"event\" name".into()));
    };
    let data = value.get("data").cloned().unwrap_or_else(|| json!({}));
    if !data.is_object() {
        return Err(bad("data must be an object".into()));
    }
    let typed: JsonRequest =
        serde_path_to_error::deserialize(json!({ "event": event, "data": data })).map_err(|e| {
            let message = e.inner().to_string();
            bad(reason(Some(event), e.path(), message.split(" at line").next().unwrap_or_default()))
        })?;
    let request = typed.request().map_err(bad)?;
    Ok(Frame { request, dialect: Format::Json, reference })
}

/// The text of each request of a TOML frame: a chunk per `[[table]]` header (with the
/// `[table.sub]` tables under it); consecutive `[[a]]` stay together.
fn tables_of(text: &str) -> Vec<String> {
    let mut chunks: Vec<(String, String)> = vec![];
    for line in text.lines() {
        let header = line.trim().strip_prefix("[[").and_then(|rest| rest.split_once("]]")).map(|(name, _)| name.trim());
        match (header, chunks.last_mut()) {
            (Some(name), Some((last, chunk))) if name == "a" && last == "a" => chunk.push_str(&format!("{line}\n")),
            (Some(name), _) => chunks.push((name.to_string(), format!("{line}\n"))),
            (None, Some((_, chunk))) => chunk.push_str(&format!("{line}\n")),
            (None, None) => chunks.push((String::new(), format!("{line}\n"))),
        }
    }
    chunks.into_iter().map(|(_, chunk)| chunk).filter(|c| !c.trim().is_empty()).collect()
}

/// simple_im's encoder writes a frame on one line (`[[a]] id = "a_02"`), which TOML does not
/// allow: puts each table header and each `key = value` on a line of its own.
pub fn one_key_per_line(text: &str) -> String {
    let chars: Vec<char> = text.chars().collect();
    let mut out = String::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c.is_whitespace() {
            i += 1;
        } else if c == '#' {
            while i < chars.len() && chars[i] != '\n' {
                i += 1;
            }
        } else if c == '[' {
            let start = i;
            while i < chars.len() && chars[i] != ']' {
                i += 1;
            }
            while i < chars.len() && chars[i] == ']' {
                i += 1;
            }
            out.push('\n');
            out.extend(&chars[start..i]);
            out.push('\n');
        } else {
            let start = i;
            while i < chars.len() && chars[i] != '=' {
                i += 1;
            }
            let key: String = chars[start..i].iter().collect();
            i = (i + 1).min(chars.len());
            while i < chars.len() && chars[i].is_whitespace() {
                i += 1;
            }
            let value_start = i;
            i = end_of_value(&chars, i);
            let value: String = chars[value_start..i].iter().collect();
            out.push_str(&format!("{} = {value}\n", key.trim()));
        }
    }
    out
}

/// Where a TOML value that starts at `i` ends: a string, an array or inline table (balanced,
/// strings inside skipped), or a bare value up to the next space.
fn end_of_value(chars: &[char], mut i: usize) -> usize {
    let mut depth = 0usize;
    while i < chars.len() {
        match chars[i] {
            quote @ ('"' | '\'') => {
                i += 1;
                while i < chars.len() && chars[i] != quote {
                    i += if chars[i] == '\\' && quote == '"' { 2 } else { 1 };
                }
                i += 1;
                if depth == 0 {
                    return i.min(chars.len());
                }
                continue;
            }
            '[' | '{' => depth += 1,
            ']' | '}' => {
                depth = depth.saturating_sub(1);
                if depth == 0 {
                    return i + 1;
                }
            }
            c if c.is_whitespace() && depth == 0 => return i,
            _ => {}
        }
        i += 1;
    }
    chars.len()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn json_request(frame: &str) -> Request {
        let parsed = parse(frame).unwrap_or_else(|bad| panic!("{frame}: {}", bad.reason));
        assert_eq!(parsed.dialect, Format::Json);
        parsed.request
    }

    fn toml_request(frame: &str) -> Request {
        let parsed = parse(frame).unwrap_or_else(|bad| panic!("{frame}: {}", bad.reason));
        assert_eq!(parsed.dialect, Format::Toml);
        parsed.request
    }

    fn bad(frame: &str) -> BadFrame {
        parse(frame).expect_err(frame)
    }

    // Seed 003's events, with the seed's own data (its Python dicts as JSON).

    #[test]
    fn json_ping() {
        assert_eq!(json_request(r#"{"event":"PING"}"#), Request::Ping);
    }

    #[test]
    fn json_logon_as_the_seed_writes_it() {
        let request = json_request(r#"{"event":"LOGON","data":{"user":"sinchb128@gmail.com","password":"123456"}}"#);
        let expected = Request::Logon { email: "sinchb128@gmail.com".into(), password: "123456".into(), device: None };
        assert_eq!(request, expected);
    }

    #[test]
    fn json_login_with_credentials_or_empty_as_in_the_seed() {
        let frame = r#"{"event":"LOGIN","data":{"user":"sinchb128@gmail.com","password":"123456"},"ref":7}"#;
        let parsed = parse(frame).unwrap();
        assert_eq!(parsed.reference, Some(json!(7)));
        assert!(matches!(parsed.request, Request::Login { email: Some(ref e), .. } if e == "sinchb128@gmail.com"));
        let empty = json_request(r#"{"event":"LOGIN","data":{}}"#);
        let nothing = Request::Login {
            token: None,
            phone: None,
            email: None,
            password: None,
            device: None,
            frame_id: None,
            user_id: None,
        };
        assert_eq!(empty, nothing);
    }

    #[test]
    fn json_ack_by_id_ids_or_upto() {
        let one = json_request(r#"{"event":"ACK","data":{"id":"n:3"}}"#);
        assert_eq!(one, Request::Ack { ids: vec!["n:3".into()], up_to: None });
        let many = json_request(r#"{"event":"ACK","data":{"ids":["n:3","dm#1#2:57"]}}"#);
        assert_eq!(many, Request::Ack { ids: vec!["n:3".into(), "dm#1#2:57".into()], up_to: None });
        let up_to = json_request(r#"{"event":"ACK","data":{"upto":"n:3"}}"#);
        assert_eq!(up_to, Request::Ack { ids: vec![], up_to: Some("n:3".into()) });
        assert!(bad(r#"{"event":"ACK","data":{"id":5}}"#).reason.starts_with("ACK needs id"));
        assert!(bad(r#"{"event":"ACK","data":{}}"#).reason.starts_with("ACK needs id"));
    }

    #[test]
    fn json_sync() {
        assert_eq!(json_request(r#"{"event":"SYNC"}"#), Request::Sync { after: None });
        assert_eq!(
            json_request(r#"{"event":"SYNC","data":{"after":"n:2"}}"#),
            Request::Sync { after: Some("n:2".into()) }
        );
    }

    #[test]
    fn json_list_contacts_unread_as_in_the_seed() {
        assert_eq!(json_request(r#"{"event":"LIST_CONTACTS_UNREAD","data":{}}"#), Request::ListContactsUnread);
    }

    #[test]
    fn json_create_and_delete_contact_as_in_the_seed() {
        let create = json_request(r#"{"event":"CREATE_CONTACT","data":{"user":"Eva@gmail.com"}}"#);
        assert_eq!(create, Request::CreateContact { user: "Eva@gmail.com".into() });
        let delete = json_request(r#"{"event":"DELETE_CONTACT","data":{"user":"Eva@gmail.com"}}"#);
        assert_eq!(delete, Request::DeleteContact { user: "Eva@gmail.com".into() });
        assert_eq!(bad(r#"{"event":"CREATE_CONTACT","data":{}}"#).reason, "user is required");
    }

    #[test]
    fn json_chat_with_and_history_as_in_the_seed() {
        let with = json_request(r#"{"event":"CHAT_WITH","data":{"user":"Eva@gmail.com"}}"#);
        assert_eq!(with, Request::ChatWith { user: "Eva@gmail.com".into() });
        let history =
            json_request(r#"{"event":"CHAT_HISTORY","data":{"user":"Eva@gmail.com","page":1,"pagesize":20}}"#);
        let expected = Request::ChatHistory { user: "Eva@gmail.com".into(), page: 1, pagesize: 20, before: None };
        assert_eq!(history, expected);
        let reason = bad(r#"{"event":"CHAT_HISTORY","data":{"user":"a@b.c","page":-1}}"#).reason;
        assert_eq!(reason, "page must be a positive whole number");
    }

    #[test]
    fn json_chat_send_msg_as_in_the_seed() {
        let frame = r#"{"event":"CHAT_SEND_MSG","data":{"content":"《金刚狼吧》","time":"2017-03-22T16:36:45.272345","user":"sinchb@gmail.com"}}"#;
        let Request::Send { client_id, kind, content, to } = json_request(frame) else { panic!("a send") };
        assert!(client_id.starts_with("srv-"), "the seed sends no id: one is made");
        assert_eq!((kind.as_str(), content.as_str()), ("text", "《金刚狼吧》"));
        assert_eq!(to, Addressee::User("sinchb@gmail.com".into()));
        let group = json_request(r#"{"event":"CHAT_SEND_MSG","data":{"g_id":9,"content":"hi all"}}"#);
        assert!(matches!(group, Request::Send { to: Addressee::Group(9), .. }));
    }

    #[test]
    fn json_chat_receive_and_delete() {
        let receive = json_request(r#"{"event":"CHAT_RECEIVE_MSG","data":{"id":"dm#1#2:57"}}"#);
        assert_eq!(receive, Request::ChatReceive { id: Some("dm#1#2:57".into()) });
        let as_the_seed_writes_it = json_request(r#"{"event":"CHAT_RECEIVE_MSG","data":{"content":""}}"#);
        assert_eq!(as_the_seed_writes_it, Request::ChatReceive { id: None });
        let delete = json_request(r#"{"event":"CHAT_DELETE","data":{"id":"58d2384deba27c5fb1e7600e"}}"#);
        assert_eq!(delete, Request::ChatDelete { id: "58d2384deba27c5fb1e7600e".into() });
    }

    // Seed 002's PRIVATE tuples as JSON events.

    #[test]
    fn json_friend_simple_and_list() {
        let simple = json_request(r#"{"event":"Friend","data":{"friend_id":"8618266175357"}}"#);
        assert_eq!(simple, Request::Friend { friends: vec!["8618266175357".into()] });
        let list = json_request(r#"{"event":"Friend","data":{"friend_id":["a@b.cn",42]}}"#);
        assert_eq!(list, Request::Friend { friends: vec!["a@b.cn".into(), UserRef::Id(42)] });
    }

    #[test]
    fn json_confirm_and_revoke() {
        let confirm = json_request(r#"{"event":"Confirm","data":{"friend_id":"8618266175357"}}"#);
        assert_eq!(confirm, Request::Confirm { friend: "8618266175357".into() });
        let revoke = json_request(r#"{"event":"Revoke","data":{"id":"r1","user":"8618266175357"}}"#);
        assert_eq!(revoke, Request::Revoke { id: Some("r1".into()), user: "8618266175357".into() });
    }

    // simple_im's TOML tables.

    #[test]
    fn toml_ping() {
        assert_eq!(toml_request("[[p]]\n"), Request::Ping);
    }

    fn token_login(token: &str, device: &str, frame_id: Option<&str>, user_id: Option<&str>) -> Request {
        Request::Login {
            token: Some(token.into()),
            phone: None,
            email: None,
            password: None,
            device: Some(device.into()),
            frame_id: frame_id.map(Into::into),
            user_id: user_id.map(Into::into),
        }
    }

    #[test]
    fn toml_login() {
        let request = toml_request("[[r]]\nt = \"login\"\ntoken = \"abc\"\nd = \"android\"\n");
        assert_eq!(request, token_login("abc", "android", None, None));
        assert_eq!(bad("[[r]]\nt = \"logout\"\n").reason, "[[r]] supports t = \"login\"");
    }

    #[test]
    fn toml_login_as_the_simple_im_wiki_writes_it_on_one_line() {
        let frame = r#"[[r]] id = "a_01" t = "login" [r.user] id = 1 d = "ipad" token = "tok en=""#;
        assert_eq!(toml_request(frame), token_login("tok en=", "ipad", Some("a_01"), Some("1")));
    }

    #[test]
    fn several_tables_in_one_frame_are_requests_in_order() {
        let frames =
            parse_all(r#"[[m]] id = "m_1" t = "text" c = "a b" to = 2 [[a]] id = "a_02" [[a]] id = "a_03" [[p]]"#);
        let requests: Vec<Request> = frames.into_iter().map(|f| f.unwrap().request).collect();
        assert_eq!(requests.len(), 3, "{requests:?}");
        assert!(matches!(&requests[0], Request::Send { content, .. } if content == "a b"));
        assert_eq!(requests[1], Request::Ack { ids: vec!["a_02".into(), "a_03".into()], up_to: None });
        assert_eq!(requests[2], Request::Ping);
    }

    #[test]
    fn toml_acks() {
        let acks = toml_request("[[a]]\nid = \"n:3\"\n[[a]]\nid = \"n:4\"\n");
        assert_eq!(acks, Request::Ack { ids: vec!["n:3".into(), "n:4".into()], up_to: None });
        assert_eq!(toml_request("[[a]]\nupto = \"n:4\"\n"), Request::Ack { ids: vec![], up_to: Some("n:4".into()) });
        assert_eq!(bad("[[a]]\nid = true\n").reason, "id must be a string");
    }

    #[test]
    fn toml_sync() {
        assert_eq!(toml_request("[[s]]\nafter = \"n:2\"\n"), Request::Sync { after: Some("n:2".into()) });
    }

    #[test]
    fn toml_message_and_group_message() {
        let m = toml_request("[[m]]\nid = \"c-1\"\nt = \"text\"\nc = \"hello\"\nto = 2\n");
        let expected = Request::Send {
            client_id: "c-1".into(),
            kind: "text".into(),
            content: "hello".into(),
            to: Addressee::User(UserRef::Id(2)),
        };
        assert_eq!(m, expected);
        let gm = toml_request("[[gm]]\nid = \"g1\"\nt = \"text\"\nc = \"hi all\"\ng_id = 9\n");
        assert!(matches!(gm, Request::Send { to: Addressee::Group(9), .. }));
        assert_eq!(bad("[[gm]]\nid = \"g1\"\nc = \"x\"\ng_id = \"nine\"\n").reason, "g_id must be a number");
        assert_eq!(bad("[[m]]\nid = \"c-1\"\nto = 2\n").reason, "c is required");
    }

    #[test]
    fn frames_that_are_not_understood_say_why_in_their_dialect() {
        assert!(bad(r#"{"data":{}}"#).reason.contains("event"));
        assert!(bad(r#"{"event":"LOGIN","data":[]}"#).reason.contains("object"));
        assert_eq!(bad(r#"{"event":"NOPE"}"#).reason, "unknown event NOPE");
        assert_eq!(bad(r#"{"event":"NOPE","ref":"r"}"#).reference, Some(json!("r")));
        assert_eq!(bad("garbage = = =").reason, "frame is neither JSON nor TOML");
        assert_eq!(
            bad("[[n]]\nt = \"add_contact\"\n").reason,
            "[[n]] is what the server sends: acknowledge it with [[a]] id"
        );
        let unknown = bad("[[zz]]\n");
        assert_eq!((unknown.dialect, unknown.reason.as_str()), (Format::Toml, "unknown frame"));
    }
}
