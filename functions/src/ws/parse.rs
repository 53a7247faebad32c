//! Frames clients send, in both dialects, parsed once into one typed [`Request`]:
//!
//! - JSON (seed 003): `{"event": "LOGIN", "data": {...}, "ref": "optional"}`, a serde enum
//!   tagged by `event`;
//! - TOML (simple_im): `[[r]] t = "login"`, `[[a]] id = "..."`, `[[p]]`, `[[s]]`, `[[m]]`,
//!   `[[gm]]`, typed tables.
//!
//! A new frame is a variant here and an arm in `dispatch`.

use crate::domain::format::Format;
use serde::de::Error as _;
use serde::{Deserialize, Deserializer};
use serde_json::{json, Value};

/// What a frame asks for, whichever dialect it came in.
#[derive(Clone, Debug, PartialEq)]
pub enum Request {
    Ping,
    /// Log in a connection opened without a token: a token, or phone/email and password.
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
        friends: Vec<String>,
    },
    /// Seed 002 `Confirm`.
    Confirm {
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

/// Seed 002's `friend_id`: one id, or a list of them.
#[derive(Deserialize)]
#[serde(untagged)]
enum OneOrMany {
    One(Text),
    Many(Vec<Text>),
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
        user: Text,
    },
    #[serde(rename = "DELETE_CONTACT")]
    DeleteContact {
        user: Text,
    },
    #[serde(rename = "LIST_CONTACTS_UNREAD")]
    ListContactsUnread {},
    Friend {
        friend_id: OneOrMany,
    },
    Confirm {
        friend_id: Text,
    },
    Revoke {
        id: Option<Text>,
        user: Text,
    },
    #[serde(rename = "CHAT_SEND_MSG")]
    ChatSendMsg {
        id: Option<Text>,
        t: Option<Text>,
        content: Text,
        g_id: Option<u64>,
        user: Option<Text>,
    },
    #[serde(rename = "CHAT_WITH")]
    ChatWith {
        user: Text,
    },
    #[serde(rename = "CHAT_HISTORY")]
    ChatHistory {
        user: Text,
        page: Option<u64>,
        pagesize: Option<u64>,
        before: Option<Text>,
    },
    #[serde(rename = "CHAT_RECEIVE_MSG")]
    ChatReceiveMsg {
        id: Text,
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
            JsonRequest::ChatReceiveMsg { id } => Request::ChatReceive { id: id.0 },
            JsonRequest::ChatDelete { id } => Request::ChatDelete { id: id.0 },
        })
    }
}

/// simple_im's `[[r]]`: a login request.
#[derive(Deserialize)]
struct LoginTable {
    t: Option<Text>,
    token: Option<Text>,
    phone: Option<Text>,
    email: Option<Text>,
    password: Option<Text>,
    d: Option<Text>,
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
}

impl TomlFrame {
    /// The request of the first kind of table present, in simple_im's order.
    fn request(mut self) -> Result<Request, String> {
        if !self.p.is_empty() {
            return Ok(Request::Ping);
        }
        if let Some(r) = self.r.into_iter().next() {
            if text(r.t).as_deref() != Some("login") {
                return Err("[[r]] supports t = \"login\"".into());
            }
            let (token, phone, email, password, device) =
                (text(r.token), text(r.phone), text(r.email), text(r.password), text(r.d));
            return Ok(Request::Login { token, phone, email, password, device });
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
            Addressee::User(text(m.to).ok_or("to is required")?)
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

/// Parses a frame in either dialect.
pub fn parse(frame: &str) -> Result<Frame, BadFrame> {
    if let Ok(value) = serde_json::from_str::<Value>(frame) {
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
        return Ok(Frame { request, dialect: Format::Json, reference });
    }
    let bad = |reason: String| BadFrame { dialect: Format::Toml, reason, reference: None };
    if toml::from_str::<toml::Table>(frame).is_err() {
        return Err(bad("frame is neither JSON nor TOML".into()));
    }
    let tables: TomlFrame = serde_path_to_error::deserialize(toml::Deserializer::new(frame))
        .map_err(|e| bad(reason(None, e.path(), e.inner().message())))?;
    Ok(Frame { request: tables.request().map_err(bad)?, dialect: Format::Toml, reference: None })
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
        assert_eq!(empty, Request::Login { token: None, phone: None, email: None, password: None, device: None });
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
        assert_eq!(receive, Request::ChatReceive { id: "dm#1#2:57".into() });
        let delete = json_request(r#"{"event":"CHAT_DELETE","data":{"id":"58d2384deba27c5fb1e7600e"}}"#);
        assert_eq!(delete, Request::ChatDelete { id: "58d2384deba27c5fb1e7600e".into() });
    }

    // Seed 002's PRIVATE tuples as JSON events.

    #[test]
    fn json_friend_simple_and_list() {
        let simple = json_request(r#"{"event":"Friend","data":{"friend_id":"8618266175357"}}"#);
        assert_eq!(simple, Request::Friend { friends: vec!["8618266175357".into()] });
        let list = json_request(r#"{"event":"Friend","data":{"friend_id":["a@b.cn",42]}}"#);
        assert_eq!(list, Request::Friend { friends: vec!["a@b.cn".into(), "42".into()] });
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

    #[test]
    fn toml_login() {
        let request = toml_request("[[r]]\nt = \"login\"\ntoken = \"abc\"\nd = \"android\"\n");
        let expected = Request::Login {
            token: Some("abc".into()),
            phone: None,
            email: None,
            password: None,
            device: Some("android".into()),
        };
        assert_eq!(request, expected);
        assert_eq!(bad("[[r]]\nt = \"logout\"\n").reason, "[[r]] supports t = \"login\"");
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
            to: Addressee::User("2".into()),
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
        let unknown = bad("[[zz]]\n");
        assert_eq!((unknown.dialect, unknown.reason.as_str()), (Format::Toml, "unknown frame"));
    }
}
