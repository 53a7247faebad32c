//! Frames clients send, in both dialects, parsed once into one typed [`Request`]:
//!
//! - JSON (seed 003): `{"event": "LOGIN", "data": {...}, "ref": "optional"}`, a serde enum
//!   tagged by `event`;
//! - TOML (simple_im): `[[r]] t = "login"`, `[[a]] id = "..."`, `[[p]]`, `[[s]]`, `[[m]]`,
//!   `[[gm]]`, typed tables.
//!
//! A new frame is a variant here and an arm in `dispatch`. Each dialect has its module (`json`,
//! `simple_im`); `lines` reads what TOML cannot: simple_im's one-line frames and header order.

mod json;
mod lines;
mod simple_im;

pub use lines::one_key_per_line;

use crate::domain::format::Format;
use crate::domain::ids::{Target, UserId, UserRef};
use crate::domain::names::Password;
use serde::de::Error as _;
use serde::{Deserialize, Deserializer};
use serde_json::Value;

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
        password: Option<Password>,
        device: Option<String>,
        frame_id: Option<String>,
        user_id: Option<String>,
    },
    /// Seed 003's `LOGON`: sign up with an email and log in.
    Logon {
        email: String,
        password: Password,
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
        /// The message it answers, if any.
        reply_to: Option<String>,
        /// A file's name.
        name: Option<String>,
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
    /// Seed 003 `CHAT_RECEIVE_MSG`: the device has a message pushed to it, named by `id`
    /// when given, else by its `content` (the seed's own frame), else the oldest one pushed.
    ChatReceive {
        id: Option<String>,
        content: Option<String>,
    },
    /// Seed 003 `CHAT_DELETE`: for everyone, or (`for: "me"`) for the caller only.
    ChatDelete {
        id: String,
        for_me: bool,
    },
    /// The sender's new text for a message (`service::changes::edit`).
    ChatEdit {
        id: String,
        content: String,
    },
    /// A reaction added or taken back (`service::changes::react`).
    ChatReact {
        id: String,
        emoji: String,
        on: bool,
    },
    /// This device's push registration (`service::push`).
    PushRegister {
        platform: String,
        token: String,
    },
    PushUnregister,
    /// Someone types in a conversation, or stopped (`service::signals::typing`).
    Typing {
        target: Target,
        start: bool,
    },
    /// Watch these users' presence (`service::presence::subscribe`).
    PresenceSubscribe {
        users: Vec<UserId>,
    },
    /// The reader read a conversation up to `upto` (`service::signals::read`).
    Read {
        target: Target,
        upto: u64,
    },
    /// A page of the inbox (`service::inbox::list`).
    Conversations {
        limit: Option<u64>,
        after: Option<String>,
    },
    /// A report of a user or a message (`service::reports::report`).
    Report {
        user: Option<UserId>,
        message: Option<String>,
        reason: String,
        text: Option<String>,
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
            Request::ChatEdit { .. } => "chat_edit",
            Request::ChatReact { .. } => "chat_react",
            Request::PushRegister { .. } => "push_register",
            Request::PushUnregister => "push_unregister",
            Request::Typing { .. } => "typing",
            Request::Read { .. } => "read",
            Request::PresenceSubscribe { .. } => "presence_subscribe",
            Request::Conversations { .. } => "conversations",
            Request::Report { .. } => "report",
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

/// What `Text`, `Who` and `Whole` say of a value of the wrong type, in this API's words;
/// `reason` puts the field's name before it ("id must be a string").
const MUST_BE_A_STRING: &str = "must be a string";
const MUST_BE_A_WHOLE_NUMBER: &str = "must be a positive whole number";

/// A string, or a number given where a string is meant (TOML `to = 2`, JSON `"user": 3`).
#[derive(Clone, Debug, Default, PartialEq)]
struct Text(String);

impl<'de> Deserialize<'de> for Text {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        match Value::deserialize(deserializer)? {
            Value::String(s) => Ok(Text(s)),
            Value::Number(n) => Ok(Text(n.to_string())),
            _ => Err(D::Error::custom(MUST_BE_A_STRING)),
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
            Value::Number(n) => n
                .as_u64()
                .map(|id| Who(UserRef::Id(UserId(id))))
                .ok_or_else(|| D::Error::custom(MUST_BE_A_WHOLE_NUMBER)),
            _ => Err(D::Error::custom(MUST_BE_A_STRING)),
        }
    }
}

/// A count or an id given as a number (`page`, `g_id`): anything else is refused in this API's
/// words rather than serde's.
#[derive(Clone, Copy, Debug, PartialEq)]
struct Whole(u64);

impl<'de> Deserialize<'de> for Whole {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        u64::deserialize(deserializer).map(Whole).map_err(|_| D::Error::custom(MUST_BE_A_WHOLE_NUMBER))
    }
}

/// A typed parse's failure as this API words it: "user is required", "id must be a string",
/// "unknown event NOPE", naming the field (found with `serde_path_to_error`). Wrong types of
/// `Text`, `Who` and `Whole` come worded already; the rest is serde's text, reworded.
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
        (_, Some(field)) if [MUST_BE_A_STRING, MUST_BE_A_WHOLE_NUMBER].contains(&message) => {
            format!("{field} {message}")
        }
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
    match serde_json::from_str::<Value>(frame) {
        Ok(value) => vec![json::parse_frame(value)],
        Err(_) => simple_im::parse_frames(frame),
    }
}

/// Parses a frame that carries one request (a JSON frame, or a TOML frame of one table).
pub fn parse(frame: &str) -> Result<Frame, BadFrame> {
    parse_all(frame).into_iter().next().unwrap_or_else(|| Err(simple_im::bad_frame("unknown frame")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    pub(super) fn json_request(frame: &str) -> Request {
        let parsed = parse(frame).unwrap_or_else(|bad| panic!("{frame}: {}", bad.reason));
        assert_eq!(parsed.dialect, Format::Json);
        parsed.request
    }

    pub(super) fn toml_request(frame: &str) -> Request {
        let parsed = parse(frame).unwrap_or_else(|bad| panic!("{frame}: {}", bad.reason));
        assert_eq!(parsed.dialect, Format::Toml);
        parsed.request
    }

    pub(super) fn bad(frame: &str) -> BadFrame {
        parse(frame).expect_err(frame)
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
