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
use crate::feed::{self, Entry};
use crate::realtime::{self, ConnectionInfo, WireFormat};
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
    /// Acknowledge notifications by id (simple_im `[[a]]`, JSON `ACK`).
    Ack(Vec<String>),
    /// Everything after `after` (default: this device's cursor).
    Sync {
        after: Option<String>,
    },
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
        "ACK" => match (data.get("id"), data.get("ids")) {
            (Some(Value::String(id)), _) => Request::Ack(vec![id.clone()]),
            (_, Some(Value::Array(ids))) => Request::Ack(
                ids.iter()
                    .map(|i| i.as_str().map(str::to_string).ok_or("ids must be strings"))
                    .collect::<Result<_, _>>()?,
            ),
            _ => return Err("ACK needs id (a string) or ids".into()),
        },
        "SYNC" => Request::Sync { after: text(data, "after")? },
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
        let ids = acks.iter().map(|a| required(a, "id")).collect::<Result<Vec<_>, _>>()?;
        return Ok(Request::Ack(ids));
    }
    if let Some(s) = first("s") {
        return Ok(Request::Sync { after: text(&s, "after")? });
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
        (Request::Ack(ids), Some(user_id)) => {
            let mut latest = 0;
            for id in &ids {
                match feed::parse_id(id) {
                    Some(seq) => latest = latest.max(seq),
                    None => return Ok(answer.fail(&format!("unknown id {id}"))),
                }
            }
            feed::acknowledge(clients, user_id, &conn.device, latest).await?;
            Ok(match frame.dialect {
                WireFormat::Json => answer.json("OK", json!({})),
                WireFormat::Toml => String::new(),
            })
        }
        (Request::Sync { after }, Some(user_id)) => {
            let after = match after {
                Some(id) => match feed::parse_id(&id) {
                    Some(seq) => seq,
                    None => return Ok(answer.fail(&format!("unknown id {id}"))),
                },
                None => feed::cursor(clients, user_id, &conn.device).await?,
            };
            let (entries, more) = feed::read_after(clients, user_id, &conn.device, after, SYNC_PAGE).await?;
            Ok(sync_answer(&answer, &entries, more))
        }
    }
}

/// Notifications one SYNC answer carries: well under API Gateway's 128 KB message.
pub const SYNC_PAGE: usize = 50;

fn sync_answer(answer: &Answer, entries: &[Entry], more: bool) -> String {
    let views: Vec<Value> = entries.iter().map(Entry::view).collect();
    match answer.dialect {
        WireFormat::Json => answer.json("OK", json!({ "n": views, "more": more })),
        WireFormat::Toml => {
            let doc = json!({ "n": views, "sync": [{ "more": more }] });
            String::from_utf8_lossy(&crate::api::Format::Toml.encode(&doc)).to_string()
        }
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
        assert_eq!(f.request, Request::Ack(vec!["n:3".into(), "n:4".into()]));
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
