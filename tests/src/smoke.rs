//! A smoke suite for a deployed stack: two throwaway users sign up, become friends, message
//! each other over HTTP and over the socket, in a group and by voice note, catch up after a
//! disconnect, log out, and delete their accounts. It takes base URLs only (no local stack, no
//! AWS credentials, no table to peek into), so the same code checks a deployment
//! (`src/bin/smoke.rs`) and, in the end-to-end suite, the local stack. It never panics on what
//! the network answers: each failure is a failed step that says what came back.

mod steps;

use crate::Socket;
use futures::{SinkExt, StreamExt};
use reqwest::header::{ACCEPT, CONTENT_TYPE, LOCATION};
use reqwest::Method;
use serde_json::Value;
use std::future::Future;
use std::time::Duration;
use tokio_tungstenite::tungstenite::{self, Message};

/// How long a socket waits for a frame: long enough for a cold Lambda, short enough that a lost
/// frame fails its step instead of hanging the run.
const WAIT: Duration = Duration::from_secs(15);

/// How long an HTTP call may take, for the same reason (API Gateway itself gives up at 30 s).
const HTTP_TIMEOUT: Duration = Duration::from_secs(30);

/// What a step that could not run says.
const SKIPPED: &str = "skipped: an earlier step failed";

pub const SIGN_UP: &str = "sign up two users";
pub const BEFRIEND: &str = "befriend";
pub const HTTP_MESSAGE: &str = "message over HTTP";
pub const WS_MESSAGE: &str = "message over WebSocket";
pub const GROUP: &str = "a group";
pub const VOICE_NOTE: &str = "a voice note";
pub const SYNC: &str = "sync after a disconnect";
pub const LOGOUT: &str = "logout";
pub const CLEANUP: &str = "delete the accounts";

/// Every step, in the order they run.
pub const STEPS: [&str; 9] = [SIGN_UP, BEFRIEND, HTTP_MESSAGE, WS_MESSAGE, GROUP, VOICE_NOTE, SYNC, LOGOUT, CLEANUP];

/// One step's outcome: `detail` says why it failed (empty when it passed).
#[derive(Clone, Debug)]
pub struct Step {
    pub name: &'static str,
    pub ok: bool,
    pub detail: String,
}

impl Step {
    fn new(name: &'static str, outcome: Result<(), String>) -> Step {
        match outcome {
            Ok(()) => Step { name, ok: true, detail: String::new() },
            Err(detail) => Step { name, ok: false, detail },
        }
    }
}

/// Runs every step against the stack at `http` (the HTTP API's base URL) and `ws` (the WebSocket
/// stage URL), in order. A step whose prerequisites failed is reported skipped; the accounts
/// made are deleted whatever happened, so a run leaves nothing behind on a real deployment.
pub async fn run(http: &str, ws: &str) -> Vec<Step> {
    let mut cx = match Ctx::new(http, ws) {
        Ok(cx) => cx,
        Err(why) => return STEPS.iter().map(|&name| Step { name, ok: false, detail: why.clone() }).collect(),
    };
    let mut done = Vec::new();
    let outcome = steps::sign_up(&mut cx).await;
    done.push(Step::new(SIGN_UP, outcome));
    let outcome = gated(&done, &[SIGN_UP], steps::befriend(&cx)).await;
    done.push(Step::new(BEFRIEND, outcome));
    let outcome = gated(&done, &[BEFRIEND], steps::message_over_http(&cx)).await;
    done.push(Step::new(HTTP_MESSAGE, outcome));
    let outcome = gated(&done, &[BEFRIEND], steps::message_over_websocket(&mut cx)).await;
    done.push(Step::new(WS_MESSAGE, outcome));
    // B hears the group message on the socket the previous step opened.
    let outcome = gated(&done, &[WS_MESSAGE], steps::group(&mut cx)).await;
    done.push(Step::new(GROUP, outcome));
    let outcome = gated(&done, &[BEFRIEND], steps::voice_note(&cx)).await;
    done.push(Step::new(VOICE_NOTE, outcome));
    let outcome = gated(&done, &[BEFRIEND], steps::sync_after_disconnect(&mut cx)).await;
    done.push(Step::new(SYNC, outcome));
    let outcome = gated(&done, &[SIGN_UP], steps::logout(&mut cx)).await;
    done.push(Step::new(LOGOUT, outcome));
    let outcome = steps::delete_accounts(&mut cx).await;
    done.push(Step::new(CLEANUP, outcome));
    done
}

/// Runs `work` if every step it `needs` passed; else it is reported skipped (and never polled).
async fn gated(done: &[Step], needs: &[&str], work: impl Future<Output = Result<(), String>>) -> Result<(), String> {
    if needs.iter().all(|need| done.iter().any(|step| step.name == *need && step.ok)) {
        work.await
    } else {
        Err(SKIPPED.to_string())
    }
}

/// A user the run signed up: enough to log in again and to delete the account at the end.
#[derive(Clone, Debug)]
struct Account {
    id: u64,
    phone: String,
    password: String,
    /// The session's token; none before the login, and after the logout.
    token: Option<String>,
}

impl Account {
    fn token(&self) -> Result<&str, String> {
        self.token.as_deref().ok_or_else(|| format!("user {} has no session", self.id))
    }
}

/// What the steps share: the stack's addresses, the users made so far (A, then B) and their
/// sockets.
struct Ctx {
    /// Follows no redirect, so the audio path's `302` is seen.
    http: reqwest::Client,
    base: String,
    ws: String,
    users: Vec<Account>,
    sockets: [Option<Socket>; 2],
}

/// A request's body: none, a form (as simple_im's curl sends) or JSON.
enum Body<'a> {
    Empty,
    Form(&'a [(&'a str, &'a str)]),
    Json(Value),
}

/// An HTTP answer, with what was asked (`POST /user`) to say in a failure.
struct Reply {
    what: String,
    status: u16,
    location: Option<String>,
    text: String,
}

impl Reply {
    /// The reply if its status is `status`, else why not.
    fn want(self, status: u16) -> Result<Reply, String> {
        if self.status == status {
            Ok(self)
        } else {
            Err(self.unexpected(&status.to_string()))
        }
    }

    /// The failure of a reply that is not what was `wanted`: what was asked, status and body.
    fn unexpected(&self, wanted: &str) -> String {
        format!("{}: HTTP {} (wanted {wanted}): {}", self.what, self.status, excerpt(&self.text))
    }

    fn json(&self) -> Result<Value, String> {
        serde_json::from_str(&self.text).map_err(|e| format!("{}: not JSON ({e}): {}", self.what, excerpt(&self.text)))
    }
}

impl Ctx {
    fn new(http: &str, ws: &str) -> Result<Ctx, String> {
        let client = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .timeout(HTTP_TIMEOUT)
            .build()
            .map_err(|e| format!("no HTTP client: {}", chain(&e)))?;
        let (base, ws) = (http.trim_end_matches('/').to_string(), ws.trim_end_matches('/').to_string());
        Ok(Ctx { http: client, base, ws, users: vec![], sockets: [None, None] })
    }

    /// A and B, once both signed up.
    fn pair(&self) -> Result<(Account, Account), String> {
        match self.users.as_slice() {
            [a, b, ..] => Ok((a.clone(), b.clone())),
            _ => Err("the two users were not signed up".to_string()),
        }
    }

    /// User `i`'s socket (0 is A, 1 is B).
    fn socket(&mut self, i: usize) -> Result<&mut Socket, String> {
        self.sockets[i].as_mut().ok_or_else(|| format!("user {i} has no socket"))
    }

    /// Calls the HTTP API, in JSON, with the token as a Bearer header (as an app does).
    async fn call(&self, method: Method, path: &str, token: Option<&str>, body: Body<'_>) -> Result<Reply, String> {
        let what = format!("{method} {path}");
        let mut request = self.http.request(method, format!("{}{path}", self.base)).header(ACCEPT, "application/json");
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        request = match body {
            Body::Empty => request,
            Body::Form(fields) => {
                request.header(CONTENT_TYPE, "application/x-www-form-urlencoded").body(crate::form(fields))
            }
            Body::Json(value) => request.header(CONTENT_TYPE, "application/json").body(value.to_string()),
        };
        let response = request.send().await.map_err(|e| format!("{what}: {}", chain(&e)))?;
        let status = response.status().as_u16();
        let location = response.headers().get(LOCATION).and_then(|v| v.to_str().ok()).map(str::to_string);
        let text =
            response.text().await.map_err(|e| format!("{what}: HTTP {status}, body unreadable: {}", chain(&e)))?;
        Ok(Reply { what, status, location, text })
    }

    /// POSTs `file` to a presigned upload form at `url`: every field of `fields`, then the file
    /// in part `file`, last, as S3 requires (docs/API.md §4.5).
    async fn post_upload(&self, url: &str, fields: &Value, file: &[u8]) -> Result<(), String> {
        let (content_type, body) = crate::try_upload_body(fields, file)?;
        let request = self.http.post(url).header(CONTENT_TYPE, content_type).body(body);
        let response = request.send().await.map_err(|e| format!("the upload to S3: {}", chain(&e)))?;
        let status = response.status().as_u16();
        if (200..300).contains(&status) {
            return Ok(());
        }
        let text = response.text().await.unwrap_or_default();
        Err(format!("S3 refused the upload: HTTP {status}: {}", excerpt(&text)))
    }

    /// The bytes at a signed URL (no token: the signature is the permission).
    async fn download(&self, url: &str) -> Result<Vec<u8>, String> {
        let response = self.http.get(url).send().await.map_err(|e| format!("GET the signed URL: {}", chain(&e)))?;
        let status = response.status().as_u16();
        let bytes = response.bytes().await.map_err(|e| format!("GET the signed URL: HTTP {status}: {}", chain(&e)))?;
        if status != 200 {
            return Err(format!("GET the signed URL: HTTP {status}: {}", excerpt(&String::from_utf8_lossy(&bytes))));
        }
        Ok(bytes.to_vec())
    }

    /// Opens a socket logged in with `token`, pushes in JSON (docs/API.md §3.1).
    async fn connect(&self, token: &str) -> Result<Socket, String> {
        let url = format!("{}?{}", self.ws, crate::form(&[("token", token), ("format", "json")]));
        match tokio::time::timeout(WAIT, tokio_tungstenite::connect_async(url)).await {
            Err(_) => Err(format!("the WebSocket handshake took over {} s", WAIT.as_secs())),
            Ok(Ok((socket, _))) => Ok(socket),
            Ok(Err(tungstenite::Error::Http(response))) => {
                let body = response.body().as_deref().map(String::from_utf8_lossy).unwrap_or_default();
                let status = response.status().as_u16();
                Err(format!("the WebSocket handshake was refused: HTTP {status}: {}", excerpt(&body)))
            }
            Ok(Err(e)) => Err(format!("the WebSocket handshake failed: {}", chain(&e))),
        }
    }
}

/// Sends a JSON frame.
async fn send(socket: &mut Socket, frame: &Value) -> Result<(), String> {
    let event = frame["event"].as_str().unwrap_or("a frame");
    match tokio::time::timeout(WAIT, socket.send(Message::text(frame.to_string()))).await {
        Ok(Ok(())) => Ok(()),
        Ok(Err(e)) => Err(format!("sending {event}: {}", chain(&e))),
        Err(_) => Err(format!("sending {event} took over {} s", WAIT.as_secs())),
    }
}

/// Sends a frame with a `ref` and waits for the answer that echoes it (docs/API.md §3.2).
async fn ask(socket: &mut Socket, frame: &Value) -> Result<Value, String> {
    send(socket, frame).await?;
    let what = format!("the answer to {}", frame["event"].as_str().unwrap_or("a frame"));
    wait_for(socket, &what, |answer| answer["ref"] == frame["ref"]).await
}

/// The `data` of an `OK` answer; any other answer fails with what it said.
fn ok_data(answer: Value, what: &str) -> Result<Value, String> {
    if answer["event"] == "OK" {
        Ok(answer["data"].clone())
    } else {
        Err(format!("{what} was answered {}", excerpt(&answer.to_string())))
    }
}

/// The first JSON frame within [`WAIT`] that `wanted` accepts, skipping the others (unread
/// counts, the notifications of earlier steps).
async fn wait_for(socket: &mut Socket, what: &str, wanted: impl Fn(&Value) -> bool) -> Result<Value, String> {
    let deadline = tokio::time::Instant::now() + WAIT;
    let mut last = String::from("none");
    loop {
        let text = match tokio::time::timeout_at(deadline, socket.next()).await {
            Err(_) => return Err(format!("no {what} within {} s (last frame: {})", WAIT.as_secs(), excerpt(&last))),
            Ok(None) => return Err(format!("the socket ended before {what}")),
            Ok(Some(Err(e))) => return Err(format!("the socket failed before {what}: {}", chain(&e))),
            Ok(Some(Ok(Message::Close(frame)))) => {
                return Err(format!("the server closed the socket before {what}: {frame:?}"))
            }
            Ok(Some(Ok(Message::Text(text)))) => text.as_str().to_string(),
            Ok(Some(Ok(Message::Binary(bytes)))) => String::from_utf8_lossy(&bytes).into_owned(),
            Ok(Some(Ok(_))) => continue,
        };
        match serde_json::from_str::<Value>(&text) {
            Ok(frame) if wanted(&frame) => return Ok(frame),
            _ => last = text,
        }
    }
}

/// Closes a socket and waits (briefly) for the server's side of the close, so that what
/// follows happens after it.
async fn close(mut socket: Socket) {
    let _ = tokio::time::timeout(WAIT, socket.close(None)).await;
    let _ =
        tokio::time::timeout(Duration::from_secs(2), async { while let Some(Ok(_)) = socket.next().await {} }).await;
}

/// The entries of a section (`m`, `gm`, `n`) of an answer; none when it is absent.
fn entries<'a>(doc: &'a Value, section: &str) -> impl Iterator<Item = &'a Value> {
    doc[section].as_array().into_iter().flatten()
}

/// An error with its causes (reqwest's own text leaves out why a connection failed).
fn chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = std::error::Error::source(error);
    while let Some(cause) = source {
        text.push_str(&format!(": {cause}"));
        source = std::error::Error::source(cause);
    }
    text
}

/// The start of a body, on one line, for a failure's detail.
fn excerpt(text: &str) -> String {
    const MAX: usize = 300;
    if text.trim().is_empty() {
        return "(empty body)".to_string();
    }
    let flat: String = text.chars().take(MAX).map(|c| if c.is_control() { ' ' } else { c }).collect();
    if text.chars().count() > MAX {
        format!("{flat}...")
    } else {
        flat
    }
}
