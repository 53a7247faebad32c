//! simple_im's dialect: TOML tables (`[[r]] t = "login"`, `[[a]] id = "..."`, `[[p]]`, `[[s]]`,
//! `[[m]]`, `[[gm]]`), several to a frame, each a request in the frame's order.

use super::lines::{header, one_key_per_line, Header};
use super::{reason, text, Addressee, BadFrame, Frame, Request, Text};
use crate::domain::format::Format;
use crate::domain::ids::UserRef;
use crate::domain::names::Password;
use serde::Deserialize;
use serde_json::{Map, Value};
use std::borrow::Cow;
use std::collections::HashMap;

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
    /// The message it answers (issue 26).
    reply_to: Option<Text>,
    /// A file's name.
    name: Option<Text>,
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
                return Err("[[r]] supports only t = login".into());
            }
            let user = r.user.unwrap_or_default();
            return Ok(Request::Login {
                token: text(user.token).or(text(r.token)),
                phone: text(user.phone).or(text(r.phone)),
                email: text(user.email).or(text(r.email)),
                password: text(user.password).or(text(r.password)).map(Password::from),
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
        let kind = text(m.t).unwrap_or_else(|| "text".into());
        Ok(Request::Send {
            client_id: m.id.0,
            kind,
            content: m.c.0,
            to,
            reply_to: text(m.reply_to),
            name: text(m.name),
        })
    }
}

/// One request's share of a frame's text: a run of `[[name]]` tables (more than one only for
/// `[[a]]`, whose run is one ack), or the preamble before the first of them (top-level keys).
/// Each takes the plain `[tables]` opened among its lines.
struct Part<'t> {
    array: Option<(&'t str, usize)>,
    plain: Vec<&'t str>,
}

/// The parts of a frame, in order, from its lines: the parsed table keeps each array of tables
/// in order but not how arrays interleave (`[[a]] [[m]] [[a]]` is three requests).
fn parts(text: &str) -> Vec<Part<'_>> {
    let mut parts: Vec<Part> = vec![];
    for line in text.lines() {
        match (header(line), parts.last_mut()) {
            (Some(Header::Array("a")), Some(Part { array: Some(("a", count)), .. })) => *count += 1,
            (Some(Header::Array(name)), _) => parts.push(Part { array: Some((name, 1)), plain: vec![] }),
            (Some(Header::Plain(key)), Some(Part { array: Some(_), plain })) => plain.push(key),
            (_, None) if !line.trim().is_empty() => parts.push(Part { array: None, plain: vec![] }),
            _ => {}
        }
    }
    parts
}

/// The frame as one TOML table, parsed once (and once more in one-key-per-line form when
/// simple_im wrote it on one line), with the text its headers are read from. A JSON map
/// (serde_json keeps insertion order here) rather than a `toml::Table`, which sorts its keys:
/// the first bad field in the frame's order is the one reported, and a datetime stays what
/// the typed tables refuse as text.
fn parsed(frame: &str) -> Option<(Cow<'_, str>, Map<String, Value>)> {
    let (text, mut table): (_, Map<String, Value>) = match toml::from_str(frame) {
        Ok(table) => (Cow::Borrowed(frame), table),
        Err(_) => {
            let fixed = one_key_per_line(frame);
            let table = toml::from_str(&fixed).ok()?;
            (Cow::Owned(fixed), table)
        }
    };
    table.values_mut().for_each(refuse_non_finite);
    Some((text, table))
}

/// TOML's `nan` and `inf` become JSON's null, which an `Option` field takes for absent: `false`
/// is refused wherever a string or a number is meant, as they were.
fn refuse_non_finite(value: &mut Value) {
    match value {
        Value::Null => *value = Value::Bool(false),
        Value::Array(items) => items.iter_mut().for_each(refuse_non_finite),
        Value::Object(entries) => entries.values_mut().for_each(refuse_non_finite),
        _ => {}
    }
}

/// Why a TOML frame was not understood.
pub(super) fn bad_frame(reason: impl Into<String>) -> BadFrame {
    BadFrame { dialect: Format::Toml, reason: reason.into(), reference: None }
}

/// A simple_im frame's requests, in order: the frame's text is parsed once, and each request is
/// read from its part of the parsed tables.
pub(super) fn parse_frames(frame: &str) -> Vec<Result<Frame, BadFrame>> {
    let Some((text, mut table)) = parsed(frame) else {
        return vec![Err(bad_frame("frame is neither JSON nor TOML"))];
    };
    let parts = parts(&text);
    let mut arrays = HashMap::new();
    for &(name, _) in parts.iter().filter_map(|part| part.array.as_ref()) {
        if table.get(name).is_some_and(Value::is_array) {
            if let Some(Value::Array(tables)) = table.shift_remove(name) {
                arrays.insert(name, tables.into_iter());
            }
        }
    }
    let mut shares: Vec<_> = parts.iter().map(|part| share_of(part, &mut arrays, &mut table)).collect();
    if let Some(Part { array: None, .. }) = parts.first() {
        // The preamble's keys are the frame's top-level keys: what no other part took.
        shares[0] = table;
    }
    shares.into_iter().map(request_of).collect()
}

/// A part's tables: the next run of its `[[name]]` tables, and the plain tables it opens.
fn share_of(
    part: &Part,
    arrays: &mut HashMap<&str, std::vec::IntoIter<Value>>,
    table: &mut Map<String, Value>,
) -> Map<String, Value> {
    let mut share = Map::new();
    if let Some((name, count)) = part.array {
        let run = arrays.get_mut(name).map(|tables| tables.take(count).collect()).unwrap_or_default();
        share.insert(name.to_string(), Value::Array(run));
    }
    for &key in &part.plain {
        if let Some(plain) = table.shift_remove(key) {
            share.insert(key.to_string(), plain);
        }
    }
    share
}

/// The request of one part's tables.
fn request_of(tables: Map<String, Value>) -> Result<Frame, BadFrame> {
    let tables: TomlFrame = serde_path_to_error::deserialize(Value::Object(tables))
        .map_err(|e| bad_frame(reason(None, e.path(), &e.inner().to_string())))?;
    Ok(Frame { request: tables.request().map_err(bad_frame)?, dialect: Format::Toml, reference: None })
}

#[cfg(test)]
mod tests {
    use super::super::parse_all;
    use super::super::tests::{bad, toml_request};
    use super::*;
    use crate::domain::ids::UserId;

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
        assert_eq!(bad("[[r]]\nt = \"logout\"\n").reason, "[[r]] supports only t = login");
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

    /// What the frame's requests were when each table's text was cut out and parsed again (the
    /// values below were computed with that code): the same, in the same order.
    #[test]
    fn interleaved_tables_are_the_requests_they_were() {
        let send = |id: &str, content: &str, to: Addressee| Request::Send {
            client_id: id.into(),
            kind: "text".into(),
            content: content.into(),
            to,
            reply_to: None,
            name: None,
        };
        let ack = |ids: &[&str]| Request::Ack { ids: ids.iter().map(|&id| id.into()).collect(), up_to: None };
        let requests = |frame: &str| -> Vec<Result<Request, String>> {
            parse_all(frame).into_iter().map(|parsed| parsed.map(|f| f.request).map_err(|bad| bad.reason)).collect()
        };
        let m1 = "[[m]]\nid = \"m_1\"\nt = \"text\"\nc = \"a b\"\nto = 2\n";
        let m2 = "[[m]]\nid = \"m_2\"\nc = \"x = y\"\nto = \"bob@x.cn\"\n";
        let gm = "[[gm]]\nid = \"g1\"\nc = \"hi\"\ng_id = 9\n";
        let (a1, a2) = ("[[a]]\nid = \"a_1\"\n", "[[a]]\nid = \"a_2\"\n");
        let (user_2, bob, group_9) =
            (Addressee::User(UserRef::Id(UserId(2))), Addressee::User("bob@x.cn".into()), Addressee::Group(9));

        let expected = vec![Ok(ack(&["a_1"])), Ok(send("m_1", "a b", user_2.clone())), Ok(ack(&["a_2"]))];
        assert_eq!(requests(&[a1, m1, a2].concat()), expected);
        let expected = vec![
            Ok(send("m_1", "a b", user_2.clone())),
            Ok(send("m_2", "x = y", bob.clone())),
            Ok(send("g1", "hi", group_9)),
        ];
        assert_eq!(requests(&[m1, m2, gm].concat()), expected);
        let missing_c = "[[m]]\nid = \"c-1\"\nto = 2\n";
        let expected = vec![
            Ok(Request::Sync { after: None }),
            Ok(Request::Ack { ids: vec![], up_to: Some("n:4".into()) }),
            Err("c is required".into()),
        ];
        assert_eq!(requests(&["[[s]]\n", "[[a]]\nupto = \"n:4\"\n", missing_c].concat()), expected);
        let expected = vec![
            Err("[[n]] is what the server sends: acknowledge it with [[a]] id".into()),
            Err("id must be a string".into()),
        ];
        assert_eq!(requests(&["[[n]]\nt = \"add_contact\"\n", a1, "[[a]]\nid = true\n"].concat()), expected);
        let expected = vec![Err("unknown frame".into()), Ok(Request::Ping), Err("unknown frame".into())];
        assert_eq!(requests("x = 1\n[[p]]\n[[zz]]\n"), expected);
        assert_eq!(requests("# note\n[[p]]\n"), vec![Err("unknown frame".into()), Ok(Request::Ping)]);
        let one_line = [m1, a1, a2, m2].concat().replace('\n', " ");
        let expected =
            vec![Ok(send("m_1", "a b", user_2)), Ok(ack(&["a_1", "a_2"])), Ok(send("m_2", "x = y", bob.clone()))];
        assert_eq!(requests(&one_line), expected);
        assert_eq!(requests(&[a1, a2, "[p]\n"].concat()), vec![Err("p must be a list".into())]);
        let dated = "[[m]]\nid = 1979-05-27T07:32:00Z\nc = \"x\"\nto = 1\n";
        assert_eq!(requests(dated), vec![Err("id must be a string".into())]);
        assert_eq!(requests("[[gm]]\nt = []\nid = {}\n"), vec![Err("t must be a string".into())]);
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
            to: Addressee::User(UserRef::Id(UserId(2))),
            reply_to: None,
            name: None,
        };
        assert_eq!(m, expected);
        let reply = toml_request("[[m]]\nid = \"c-2\"\nc = \"yes\"\nto = 2\nreply_to = \"dm#1#2:1\"\n");
        assert!(matches!(reply, Request::Send { reply_to: Some(id), .. } if id == "dm#1#2:1"));
        let gm = toml_request("[[gm]]\nid = \"g1\"\nt = \"text\"\nc = \"hi all\"\ng_id = 9\n");
        assert!(matches!(gm, Request::Send { to: Addressee::Group(9), .. }));
        assert_eq!(bad("[[gm]]\nid = \"g1\"\nc = \"x\"\ng_id = \"nine\"\n").reason, "g_id must be a number");
        assert_eq!(bad("[[m]]\nid = \"c-1\"\nto = 2\n").reason, "c is required");
    }
}
