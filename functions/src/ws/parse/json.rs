//! Seed 003's dialect: `{"event": "LOGIN", "data": {...}, "ref": "optional"}`, a serde enum
//! tagged by `event` (seed 002's tuples are events too).

use super::{reason, text, Addressee, BadFrame, Frame, Request, Text, Who, Whole};
use crate::domain::format::Format;
use crate::domain::ids::{GroupId, Target, UserId};
use crate::domain::names::Password;
use serde::Deserialize;
use serde_json::{json, Value};

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
        g_id: Option<Whole>,
        user: Option<Who>,
        reply_to: Option<Text>,
        name: Option<Text>,
    },
    #[serde(rename = "CHAT_WITH")]
    ChatWith {
        user: Who,
    },
    #[serde(rename = "CHAT_HISTORY")]
    ChatHistory {
        user: Who,
        page: Option<Whole>,
        pagesize: Option<Whole>,
        before: Option<Text>,
    },
    #[serde(rename = "CHAT_RECEIVE_MSG")]
    ChatReceiveMsg {
        id: Option<Text>,
        /// The seed's frame: `{'content': }`, anything or nothing.
        content: Option<Value>,
    },
    #[serde(rename = "CHAT_DELETE")]
    ChatDelete {
        id: Text,
        #[serde(rename = "for")]
        for_whom: Option<Text>,
    },
    #[serde(rename = "CHAT_EDIT")]
    ChatEdit {
        id: Text,
        content: Text,
    },
    #[serde(rename = "CHAT_REACT")]
    ChatReact {
        id: Text,
        emoji: Text,
        on: Option<bool>,
    },
    #[serde(rename = "PUSH_REGISTER")]
    PushRegister {
        platform: Text,
        token: Text,
    },
    #[serde(rename = "PUSH_UNREGISTER")]
    PushUnregister {},
    #[serde(rename = "TYPING")]
    Typing {
        with: Option<Whole>,
        g_id: Option<Whole>,
        state: Text,
    },
    #[serde(rename = "PRESENCE_SUBSCRIBE")]
    PresenceSubscribe {
        users: Vec<Whole>,
    },
    #[serde(rename = "READ")]
    Read {
        with: Option<Whole>,
        g_id: Option<Whole>,
        upto: Whole,
    },
    #[serde(rename = "CONVERSATIONS")]
    Conversations {
        limit: Option<Whole>,
        after: Option<Text>,
    },
    #[serde(rename = "REPORT")]
    Report {
        user: Option<Whole>,
        message: Option<Text>,
        reason: Text,
        text: Option<Text>,
    },
}

/// The conversation a signal names (`with` a user or `g_id` a group).
fn signal_target(with: Option<Whole>, g_id: Option<Whole>) -> Result<Target, String> {
    Target::either(with.map(|w| UserId(w.0)), g_id.map(|g| GroupId(g.0))).map_err(str::to_string)
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
                    password: text(password).map(Password::from),
                    device: text(device),
                    frame_id: None,
                    user_id: None,
                }
            }
            JsonRequest::Logon { user, password, device } => {
                Request::Logon { email: user.0, password: password.0.into(), device: text(device) }
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
            JsonRequest::PushRegister { platform, token } => {
                Request::PushRegister { platform: platform.0, token: token.0 }
            }
            JsonRequest::PushUnregister {} => Request::PushUnregister,
            JsonRequest::Friend { friend_id } => Request::Friend {
                friends: match friend_id {
                    OneOrMany::One(id) => vec![id.0],
                    OneOrMany::Many(ids) => ids.into_iter().map(|t| t.0).collect(),
                },
            },
            JsonRequest::Confirm { friend_id } => Request::Confirm { friend: friend_id.0 },
            JsonRequest::Revoke { id, user } => Request::Revoke { id: text(id), user: user.0 },
            JsonRequest::ChatSendMsg { id, t, content, g_id, user, reply_to, name } => Request::Send {
                client_id: text(id).unwrap_or_else(server_id),
                kind: text(t).unwrap_or_else(|| "text".into()),
                content: content.0,
                to: match (g_id, user) {
                    (Some(group), _) => Addressee::Group(group.0),
                    (None, Some(user)) => Addressee::User(user.0),
                    (None, None) => return Err("user is required".into()),
                },
                reply_to: text(reply_to),
                name: text(name),
            },
            JsonRequest::ChatWith { user } => Request::ChatWith { user: user.0 },
            JsonRequest::ChatHistory { user, page, pagesize, before } => Request::ChatHistory {
                user: user.0,
                page: page.map_or(1, |p| p.0),
                pagesize: pagesize.map_or(20, |p| p.0).clamp(1, 100),
                before: text(before),
            },
            JsonRequest::ChatReceiveMsg { id, content } => Request::ChatReceive {
                id: text(id),
                content: content.as_ref().and_then(Value::as_str).filter(|c| !c.is_empty()).map(str::to_string),
            },
            JsonRequest::ChatDelete { id, for_whom } => Request::ChatDelete {
                id: id.0,
                for_me: match text(for_whom).as_deref() {
                    None | Some("everyone") => false,
                    Some("me") => true,
                    Some(_) => return Err("for must be me or everyone".into()),
                },
            },
            JsonRequest::ChatEdit { id, content } => Request::ChatEdit { id: id.0, content: content.0 },
            JsonRequest::ChatReact { id, emoji, on } => {
                Request::ChatReact { id: id.0, emoji: emoji.0, on: on.unwrap_or(true) }
            }
            JsonRequest::Typing { with, g_id, state } => Request::Typing {
                target: signal_target(with, g_id)?,
                start: match state.0.as_str() {
                    "start" => true,
                    "stop" => false,
                    _ => return Err("state must be start or stop".into()),
                },
            },
            JsonRequest::PresenceSubscribe { users } => {
                Request::PresenceSubscribe { users: users.into_iter().map(|u| UserId(u.0)).collect() }
            }
            JsonRequest::Read { with, g_id, upto } => {
                Request::Read { target: signal_target(with, g_id)?, upto: upto.0 }
            }
            JsonRequest::Conversations { limit, after } => {
                Request::Conversations { limit: limit.map(|l| l.0), after: text(after) }
            }
            JsonRequest::Report { user, message, reason, text: said } => Request::Report {
                user: user.map(|u| UserId(u.0)),
                message: text(message),
                reason: reason.0,
                text: text(said),
            },
        })
    }
}

/// A JSON frame's request, or why there is none (answered with the frame's `ref`).
pub(super) fn parse_frame(value: Value) -> Result<Frame, BadFrame> {
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

#[cfg(test)]
mod tests {
    use super::super::parse;
    use super::super::tests::{bad, json_request};
    use super::*;
    use crate::domain::ids::UserId;
    use crate::domain::ids::UserRef;

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
        let Request::Send { client_id, kind, content, to, .. } = json_request(frame) else { panic!("a send") };
        assert!(client_id.starts_with("srv-"), "the seed sends no id: one is made");
        assert_eq!((kind.as_str(), content.as_str()), ("text", "《金刚狼吧》"));
        assert_eq!(to, Addressee::User("sinchb@gmail.com".into()));
        let group = json_request(r#"{"event":"CHAT_SEND_MSG","data":{"g_id":9,"content":"hi all"}}"#);
        assert!(matches!(group, Request::Send { to: Addressee::Group(9), .. }));
    }

    #[test]
    fn json_chat_receive_and_delete() {
        let receive = json_request(r#"{"event":"CHAT_RECEIVE_MSG","data":{"id":"dm#1#2:57"}}"#);
        assert_eq!(receive, Request::ChatReceive { id: Some("dm#1#2:57".into()), content: None });
        let as_the_seed_writes_it = json_request(r#"{"event":"CHAT_RECEIVE_MSG","data":{"content":""}}"#);
        assert_eq!(as_the_seed_writes_it, Request::ChatReceive { id: None, content: None });
        let with_content = json_request(r#"{"event":"CHAT_RECEIVE_MSG","data":{"content":"hi"}}"#);
        assert_eq!(with_content, Request::ChatReceive { id: None, content: Some("hi".into()) });
        let odd = json_request(r#"{"event":"CHAT_RECEIVE_MSG","data":{"content":{"x":1}}}"#);
        assert_eq!(odd, Request::ChatReceive { id: None, content: None });
        let delete = json_request(r#"{"event":"CHAT_DELETE","data":{"id":"58d2384deba27c5fb1e7600e"}}"#);
        assert_eq!(delete, Request::ChatDelete { id: "58d2384deba27c5fb1e7600e".into(), for_me: false });
        let mine = json_request(r#"{"event":"CHAT_DELETE","data":{"id":"dm#1#2:3","for":"me"}}"#);
        assert_eq!(mine, Request::ChatDelete { id: "dm#1#2:3".into(), for_me: true });
        assert!(bad(r#"{"event":"CHAT_DELETE","data":{"id":"dm#1#2:3","for":"them"}}"#).reason.contains("for must"));
        let react = json_request(r#"{"event":"CHAT_REACT","data":{"id":"dm#1#2:3","emoji":"👍"}}"#);
        assert_eq!(react, Request::ChatReact { id: "dm#1#2:3".into(), emoji: "👍".into(), on: true });
    }

    // Seed 002's PRIVATE tuples as JSON events.

    #[test]
    fn json_friend_simple_and_list() {
        let simple = json_request(r#"{"event":"Friend","data":{"friend_id":"8618266175357"}}"#);
        assert_eq!(simple, Request::Friend { friends: vec!["8618266175357".into()] });
        let list = json_request(r#"{"event":"Friend","data":{"friend_id":["a@b.cn",42]}}"#);
        assert_eq!(list, Request::Friend { friends: vec!["a@b.cn".into(), UserRef::Id(UserId(42))] });
    }

    #[test]
    fn json_confirm_and_revoke() {
        let confirm = json_request(r#"{"event":"Confirm","data":{"friend_id":"8618266175357"}}"#);
        assert_eq!(confirm, Request::Confirm { friend: "8618266175357".into() });
        let revoke = json_request(r#"{"event":"Revoke","data":{"id":"r1","user":"8618266175357"}}"#);
        assert_eq!(revoke, Request::Revoke { id: Some("r1".into()), user: "8618266175357".into() });
    }
}
