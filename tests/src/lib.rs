//! Helpers for the end-to-end tests: one local stack per test binary (DynamoDB Local, S3,
//! HTTP and WebSocket gateways, all real), and a client that talks to it as a phone would.

use reqwest::header::{HeaderMap, HeaderValue, ACCEPT, AUTHORIZATION, CONTENT_TYPE, COOKIE};
use serde_json::Value;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::OnceLock;

pub mod smoke;
pub mod toml_erl;

/// Fails the test when TOML the stack sent is not readable by simple_im's own reader.
pub fn assert_simple_im_reads(text: &str) {
    if let Err(why) = toml_erl::check(text) {
        panic!("simple_im's toml.erl cannot read this ({why}):\n{text}");
    }
}

/// Where the shared stack listens.
#[derive(Clone, Debug)]
pub struct StackUrls {
    pub http: String,
    pub ws: String,
    pub management: String,
    pub dynamodb: String,
    pub s3: String,
    /// DynamoDB requests the stack's functions made, by operation (for benchmarks).
    pub dynamodb_requests: im_adapters::RequestCounter,
    /// The Lambda API the functions hand the fan-out to, and what it ran.
    pub lambda: String,
    pub invocations: im_local::lambda_api::Invocations,
    /// The fan-out worker's name, as the functions are configured with it.
    pub fan_out_function: Option<String>,
    /// The push queue's URL, as the functions are configured with it.
    pub push_queue_url: Option<String>,
}

impl StackUrls {
    /// The configuration the stack's functions run with (fan-out hand-off included), for a
    /// test that calls the functions' code in-process with clients of its own.
    pub fn config(&self) -> im_adapters::Config {
        let mut config = im_local::stack::local_config(&self.dynamodb, &self.s3, &self.management, "audio-bucket");
        config.lambda_endpoint = Some(self.lambda.clone());
        config.sns_endpoint = Some(self.lambda.clone());
        config.sqs_endpoint = Some(self.lambda.clone());
        config.push_queue_url = self.push_queue_url.clone();
        config.push_platforms = im_local::sns::local_platforms();
        config.fan_out_function = self.fan_out_function.clone();
        config
    }
}

static STACK: OnceLock<StackUrls> = OnceLock::new();

/// Starts the stack once, on a runtime of its own that outlives every test's runtime.
pub fn stack() -> &'static StackUrls {
    STACK.get_or_init(|| {
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let runtime = im_local::runtime();
            runtime.block_on(async move {
                let root = im_local::project_root();
                let stack = im_local::LocalStack::start(im_local::StackOptions::ephemeral(root))
                    .await
                    .expect("local stack starts");
                tx.send(StackUrls {
                    http: stack.http_url.clone(),
                    ws: stack.ws_url.clone(),
                    management: stack.management_url.clone(),
                    dynamodb: stack.dynamodb_endpoint.clone(),
                    s3: stack.s3_endpoint.clone(),
                    dynamodb_requests: stack.clients.dynamodb_requests.clone(),
                    lambda: stack.lambda_url.clone(),
                    invocations: stack.gateway.invocations.clone(),
                    fan_out_function: stack.clients.config.fan_out_function.clone(),
                    push_queue_url: stack.clients.config.push_queue_url.clone(),
                })
                .expect("test thread waits");
                std::future::pending::<()>().await;
                drop(stack);
            });
        });
        rx.recv().expect("local stack failed to start")
    })
}

/// A random address in 127.0.0.0/8 (Linux routes the whole block to the loopback device).
pub fn any_loopback_address() -> std::net::IpAddr {
    let [a, b, c]: [u8; 3] = rand::random();
    std::net::Ipv4Addr::new(127, a, b, c.max(2)).into()
}

/// A phone number no other test uses.
pub fn unique_phone() -> String {
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let n = NEXT.fetch_add(1, Ordering::Relaxed);
    format!("86{:05}{:06}", std::process::id() % 100_000, n)
}

/// A parsed answer: status and body, with the body read as TOML or JSON by its content type.
#[derive(Debug)]
pub struct Answer {
    pub status: u16,
    pub content_type: String,
    pub headers: HeaderMap,
    pub text: String,
}

impl Answer {
    /// The body as a JSON value, whichever format it came in (TOML is converted).
    pub fn doc(&self) -> Value {
        if self.content_type.contains("toml") {
            assert_simple_im_reads(&self.text);
            let table: toml::Table =
                toml::from_str(&self.text).unwrap_or_else(|e| panic!("invalid TOML {:?}: {e}", self.text));
            serde_json::to_value(table).expect("TOML converts to JSON")
        } else {
            serde_json::from_str(&self.text).unwrap_or_else(|e| panic!("invalid JSON {:?}: {e}", self.text))
        }
    }
    /// simple_im's `[[response]] status`.
    pub fn im_status(&self) -> i64 {
        self.doc()["response"][0]["status"].as_i64().expect("response status")
    }
    pub fn reason(&self) -> String {
        self.doc()["response"][0]["reason"].as_str().unwrap_or_default().to_string()
    }
}

/// A document's list of `table` rows; empty when absent, as TOML leaves out an empty list
/// (simple_im's reader has no empty array of tables).
pub fn rows<'a>(doc: &'a Value, table: &str) -> &'a [Value] {
    doc[table].as_array().map(Vec::as_slice).unwrap_or_default()
}

/// A flag as either format writes it: JSON `true`, TOML `1` (simple_im's reader has no booleans).
pub fn flag(value: &Value) -> Option<bool> {
    value.as_bool().or_else(|| value.as_u64().filter(|n| *n <= 1).map(|n| n == 1))
}

/// An HTTP client of the stack, optionally logged in.
#[derive(Clone)]
pub struct Client {
    http: reqwest::Client,
    base: String,
    pub token: Option<String>,
}

impl Default for Client {
    fn default() -> Self {
        Self::new()
    }
}

impl Client {
    /// A client from an address of its own in 127.0.0.0/8, as phones come from many addresses:
    /// the per-address limits of the stack (see docs/SECURITY.md) hold for each, as deployed.
    pub fn new() -> Client {
        Client::of(&stack().http)
    }

    /// A client whose requests come from `address` (a loopback address).
    pub fn from_address(address: std::net::IpAddr) -> Client {
        Client::of(&stack().http).with_address(address)
    }

    /// A client of another stack's HTTP API (a test with a stack of its own).
    pub fn of(base: &str) -> Client {
        let http = reqwest::Client::builder().local_address(any_loopback_address()).build().expect("HTTP client");
        Client { http, base: base.to_string(), token: None }
    }

    fn with_address(self, address: std::net::IpAddr) -> Client {
        let http = reqwest::Client::builder().local_address(address).build().expect("HTTP client");
        Client { http, ..self }
    }

    pub fn with_token(&self, token: &str) -> Client {
        Client { token: Some(token.to_string()), ..self.clone() }
    }

    /// Sends a request; `body` is sent as-is with `content_type`; the token goes as a cookie.
    pub async fn send(&self, method: &str, path: &str, accept: Option<&str>, body: Option<(&str, Vec<u8>)>) -> Answer {
        let mut request = self.http.request(method.parse().expect("method"), format!("{}{path}", self.base));
        if let Some(token) = &self.token {
            request = request.header(COOKIE, format!("token={token}"));
        }
        if let Some(accept) = accept {
            request = request.header(ACCEPT, accept);
        }
        if let Some((content_type, bytes)) = body {
            request = request.header(CONTENT_TYPE, content_type).body(bytes);
        }
        let response = request.send().await.expect("request reaches the stack");
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let content_type = headers.get(CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("").to_string();
        let text = response.text().await.expect("body");
        Answer { status, content_type, headers, text }
    }

    pub async fn get(&self, path: &str) -> Answer {
        self.send("GET", path, None, None).await
    }

    /// POSTs a form, as simple_im's curl examples do.
    pub async fn post_form(&self, path: &str, fields: &[(&str, &str)]) -> Answer {
        let body = form(fields);
        self.send("POST", path, None, Some(("application/x-www-form-urlencoded", body.into_bytes()))).await
    }

    pub async fn post_json(&self, path: &str, body: &Value) -> Answer {
        self.send("POST", path, Some("application/json"), Some(("application/json", body.to_string().into_bytes())))
            .await
    }

    /// Sends with `Authorization: Bearer` instead of the cookie.
    pub async fn get_bearer(&self, path: &str, token: &str) -> Answer {
        let response = self
            .http
            .get(format!("{}{path}", self.base))
            .header(AUTHORIZATION, HeaderValue::from_str(&format!("Bearer {token}")).expect("header"))
            .header(ACCEPT, "application/json")
            .send()
            .await
            .expect("request reaches the stack");
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let content_type = headers.get(CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("").to_string();
        Answer { status, content_type, headers, text: response.text().await.expect("body") }
    }
}

/// `application/x-www-form-urlencoded`, like curl's `--data-urlencode`.
pub fn form(fields: &[(&str, &str)]) -> String {
    let mut out = form_urlencoded::Serializer::new(String::new());
    for (k, v) in fields {
        out.append_pair(k, v);
    }
    out.finish()
}

/// A signed-up, logged-in user.
#[derive(Clone, Debug)]
pub struct User {
    pub id: u64,
    pub phone: String,
    pub token: String,
}

/// Signs up a fresh user and logs in on `device`.
pub async fn new_user(name: &str, device: &str) -> User {
    let phone = unique_phone();
    let client = Client::new();
    let created = client.post_form("/user", &[("phone", &phone), ("name", name), ("password", "888888")]).await;
    assert_eq!(created.status, 200, "{}", created.text);
    let token = login(&phone, device).await;
    let id = created.doc()["user"][0]["id"].as_u64().expect("new user id");
    User { id, phone, token }
}

/// Makes two users friends (seed 004's request and accept).
pub async fn befriend(a: &User, b: &User) {
    let body =
        |id: u64| Some(("application/json", serde_json::json!({ "requested_user_id": id }).to_string().into_bytes()));
    let request = Client::new().with_token(&a.token).send("POST", "/friends/request", None, body(b.id)).await;
    assert_eq!(request.status, 201, "{}", request.text);
    let accept = Client::new().with_token(&b.token).send("POST", "/friends/accept", None, body(a.id)).await;
    assert_eq!(accept.status, 201, "{}", accept.text);
}

/// Logs in and returns the token.
pub async fn login(phone: &str, device: &str) -> String {
    let answer =
        Client::new().post_form("/server/login", &[("phone", phone), ("password", "888888"), ("device", device)]).await;
    assert_eq!(answer.status, 200, "{}", answer.text);
    answer.doc()["response"][0]["user"]["token"].as_str().expect("token").to_string()
}

/// A stack of its own on a copy of the template where `grant` (a policy line of the resource
/// `function`, its logical id) reads `instead`: what a permission missing from the template
/// does. The copy's path comes back to be removed once done.
pub async fn stack_with_policy_changed(
    function: &str,
    grant: &str,
    instead: &str,
) -> (im_local::LocalStack, std::path::PathBuf) {
    stack_with_template_changed(&format!("  {function}:"), grant, instead).await
}

/// A stack of its own on a copy of the template where the first `old` after `after` reads
/// `new` (a parameter's default, a grant ...). The copy's path comes back to be removed once done.
pub async fn stack_with_template_changed(
    after: &str,
    old: &str,
    new: &str,
) -> (im_local::LocalStack, std::path::PathBuf) {
    let root = im_local::project_root();
    let template = std::fs::read_to_string(root.join("template.yaml")).expect("the template");
    let start = template.find(after).expect("the anchor is in the template");
    let at = start + template[start..].find(old).expect("the text follows the anchor");
    let altered = format!("{}{new}{}", &template[..at], &template[at + old.len()..]);
    let copy = std::env::temp_dir().join(format!("im-template-{}.yaml", uuid::Uuid::new_v4()));
    std::fs::write(&copy, altered).expect("a temporary copy");
    let mut options = im_local::StackOptions::ephemeral(root);
    options.template = Some(copy.clone());
    (im_local::LocalStack::start(options).await.expect("a stack on the copy"), copy)
}

/// The management API client, as a function would build it, pointed at the local stack.
pub async fn management_client() -> aws_sdk_apigatewaymanagement::Client {
    let config = aws_sdk_apigatewaymanagement::Config::builder()
        .behavior_version(aws_sdk_apigatewaymanagement::config::BehaviorVersion::latest())
        .http_client(im_adapters::https_client())
        .region(aws_sdk_apigatewaymanagement::config::Region::new("us-east-1"))
        .credentials_provider(aws_sdk_apigatewaymanagement::config::Credentials::new(
            "local", "local", None, None, "test",
        ))
        .endpoint_url(&stack().management)
        .build();
    aws_sdk_apigatewaymanagement::Client::from_conf(config)
}

/// A DynamoDB client on the stack's DynamoDB Local, to look at what the functions stored.
pub fn dynamodb() -> aws_sdk_dynamodb::Client {
    dynamodb_at(&stack().dynamodb)
}

/// A DynamoDB client on the DynamoDB Local at `endpoint`.
pub fn dynamodb_at(endpoint: &str) -> aws_sdk_dynamodb::Client {
    let config = aws_sdk_dynamodb::Config::builder()
        .behavior_version(aws_sdk_dynamodb::config::BehaviorVersion::latest())
        .http_client(im_adapters::https_client())
        .region(aws_sdk_dynamodb::config::Region::new("us-east-1"))
        .credentials_provider(aws_sdk_dynamodb::config::Credentials::new("local", "local", None, None, "test"))
        .endpoint_url(endpoint)
        .build();
    aws_sdk_dynamodb::Client::from_conf(config)
}

/// The live connection ids the server recorded for a user.
pub async fn connection_ids(user_id: u64) -> Vec<String> {
    let item = dynamodb()
        .get_item()
        .table_name("ConnectionsTable")
        .key("pk", aws_sdk_dynamodb::types::AttributeValue::S(format!("user#{user_id}")))
        .send()
        .await
        .expect("DynamoDB Local answers")
        .item;
    let conns = item.as_ref().and_then(|i| i.get("conns")).and_then(|c| c.as_m().ok());
    let mut ids: Vec<String> = conns.map(|m| m.keys().cloned().collect()).unwrap_or_default();
    ids.sort();
    ids
}

pub type Socket = tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// Opens a WebSocket with `query` (`token=...&format=...`); Err carries the refusal status.
pub async fn connect(query: &str) -> Result<Socket, u16> {
    let url = format!("{}?{query}", stack().ws);
    match tokio_tungstenite::connect_async(url).await {
        Ok((socket, _)) => Ok(socket),
        Err(tokio_tungstenite::tungstenite::Error::Http(response)) => Err(response.status().as_u16()),
        Err(other) => panic!("WebSocket handshake failed: {other}"),
    }
}

/// Users by their numbers, as the functions' types name them.
pub fn user_ids(ids: &[u64]) -> Vec<im_functions::domain::ids::UserId> {
    ids.iter().copied().map(im_functions::domain::ids::UserId).collect()
}

/// A new session's token for `user` on `device`, straight from the store (no sign-up).
pub async fn token_for(
    clients: &im_adapters::Clients,
    user: u64,
    device: &im_functions::domain::ids::DeviceName,
) -> String {
    let user = im_functions::domain::ids::UserId(user);
    let lifetime = clients.config.token_ttl_secs;
    im_functions::service::auth::open_session(clients, user, device, lifetime).await.expect("a session").token
}

/// Opens a session and a live connection (`format` `json` or `toml`) for each of `users`, 32 at
/// a time, straight from the store: no sign-up, a token is all a connect needs.
pub async fn live_sockets(clients: &im_adapters::Clients, users: &[u64], format: &str) -> Vec<Socket> {
    use futures::StreamExt;
    let device = im_functions::domain::ids::DeviceName::parse(Some("android")).expect("a device name");
    futures::stream::iter(users.to_vec())
        .map(|user| {
            let device = device.clone();
            async move {
                let token = token_for(clients, user, &device).await;
                connect(&format!("token={token}&format={format}")).await.expect("connected")
            }
        })
        .buffer_unordered(32)
        .collect()
        .await
}

/// Opens a WebSocket on the stage URL with nothing in it, as the seeds' clients do.
pub async fn connect_plain() -> Socket {
    tokio_tungstenite::connect_async(stack().ws.as_str()).await.expect("a plain connect is accepted").0
}

/// The next text frame, failing the test after 10 s of silence (a hang, not a timing claim).
pub async fn next_text(socket: &mut Socket) -> String {
    use futures::StreamExt;
    loop {
        let frame = tokio::time::timeout(std::time::Duration::from_secs(10), socket.next())
            .await
            .expect("a frame arrives")
            .expect("socket open")
            .expect("frame readable");
        match frame {
            tokio_tungstenite::tungstenite::Message::Text(text) => return checked_frame(text.to_string()),
            tokio_tungstenite::tungstenite::Message::Binary(bytes) => {
                return checked_frame(String::from_utf8_lossy(&bytes).to_string())
            }
            _ => continue,
        }
    }
}

/// A frame as received; a TOML one (not JSON) must be readable by simple_im's reader.
fn checked_frame(text: String) -> String {
    if !text.starts_with('{') {
        assert_simple_im_reads(&text);
    }
    text
}

/// Sends a text frame.
pub async fn send_text(socket: &mut Socket, text: &str) {
    use futures::SinkExt;
    socket.send(tokio_tungstenite::tungstenite::Message::Text(text.into())).await.expect("frame sent");
}

/// Waits (bounded) until `check` holds; for state that settles asynchronously, like `$disconnect`.
pub async fn eventually<F, Fut>(what: &str, check: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    eventually_within(what, 10, check).await
}

/// [`eventually`] with a bound of `secs` seconds: for what waits on purpose (a delayed push).
pub async fn eventually_within<F, Fut>(what: &str, secs: u64, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    for _ in 0..secs * 10 {
        if check().await {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    panic!("{what} did not happen within {secs} s");
}

/// The next JSON frame whose `event` is `event`, skipping others (unread counts and the like).
pub async fn next_event(socket: &mut Socket, event: &str) -> serde_json::Value {
    loop {
        let frame: serde_json::Value = serde_json::from_str(&next_text(socket).await).expect("a JSON frame");
        if frame["event"] == event {
            return frame;
        }
    }
}

/// Sends seed 003's `{event, data}` and answers the first frame that is not a push (`NOTIFY*`).
pub async fn ask(socket: &mut Socket, event: &str, data: serde_json::Value) -> serde_json::Value {
    send_text(socket, &serde_json::json!({ "event": event, "data": data }).to_string()).await;
    loop {
        let frame: serde_json::Value = serde_json::from_str(&next_text(socket).await).expect("a JSON frame");
        if !frame["event"].as_str().is_some_and(|e| e.starts_with("NOTIFY")) {
            return frame;
        }
    }
}

/// Waits (bounded) for the server to close a socket, reading past frames still in flight.
pub async fn closed(socket: &mut Socket) -> bool {
    use futures::StreamExt;
    loop {
        match tokio::time::timeout(std::time::Duration::from_secs(10), socket.next()).await {
            Err(_) => return false,
            Ok(None | Some(Err(_)) | Some(Ok(tokio_tungstenite::tungstenite::Message::Close(_)))) => return true,
            Ok(Some(Ok(_))) => continue,
        }
    }
}

/// A `multipart/form-data` body with one file part (`filename`) and one text field.
pub fn multipart(file: &[u8], file_type: &str, field: &str, value: &str) -> (String, Vec<u8>) {
    let boundary = "----im-test-boundary";
    let mut body = format!("--{boundary}\r\nContent-Disposition: form-data; name=\"filename\"; filename=\"10010.amr\"\r\nContent-Type: {file_type}\r\n\r\n").into_bytes();
    body.extend_from_slice(file);
    body.extend_from_slice(
        format!(
            "\r\n--{boundary}\r\nContent-Disposition: form-data; name=\"{field}\"\r\n\r\n{value}\r\n--{boundary}--\r\n"
        )
        .as_bytes(),
    );
    (format!("multipart/form-data; boundary={boundary}"), body)
}

/// Follows an audio message's path as `user`: the signed URL it redirects to, or the status.
pub async fn audio_url(user: &User, path: &str) -> Result<String, u16> {
    let http = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
    let answer = http
        .get(format!("{}/{path}", stack().http))
        .header("cookie", format!("token={}", user.token))
        .send()
        .await
        .unwrap();
    match answer.status().as_u16() {
        302 => Ok(answer.headers()["location"].to_str().unwrap().to_string()),
        status => Err(status),
    }
}

/// An S3 client on the stack's S3 server, to look at what the functions stored.
pub fn s3() -> aws_sdk_s3::Client {
    let urls = stack();
    im_adapters::Clients::local(im_local::stack::local_config(
        &urls.dynamodb,
        &urls.s3,
        &urls.management,
        "audio-bucket",
    ))
    .s3
    .clone()
}

/// The body of a presigned POST upload: `fields` (a presign answer's, in order), then the file
/// in part `file`, last, as S3 requires.
pub fn upload_body(fields: &Value, file: &[u8]) -> (String, Vec<u8>) {
    try_upload_body(fields, file).expect("a presign answer's fields are text")
}

/// [`upload_body`], or why `fields` cannot make one (a field that is not text): for a caller
/// that must not panic on what a server answered (the smoke suite).
pub fn try_upload_body(fields: &Value, file: &[u8]) -> Result<(String, Vec<u8>), String> {
    let boundary = "----im-upload-boundary";
    let mut body = vec![];
    for (name, value) in fields.as_object().ok_or_else(|| format!("the upload form's fields are {fields}"))? {
        let value = value.as_str().ok_or_else(|| format!("the upload form's {name} is not text: {value}"))?;
        body.extend(
            format!("--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n{value}\r\n").bytes(),
        );
    }
    let file_part = "Content-Disposition: form-data; name=\"file\"; filename=\"voice.amr\"\r\nContent-Type: audio/amr";
    body.extend(format!("--{boundary}\r\n{file_part}\r\n\r\n").bytes());
    body.extend_from_slice(file);
    body.extend(format!("\r\n--{boundary}--\r\n").bytes());
    Ok((format!("multipart/form-data; boundary={boundary}"), body))
}

/// POSTs `file` to a presign answer's `url` with `fields`: S3's status and body.
pub async fn post_upload(url: &str, fields: &Value, file: &[u8]) -> (u16, String) {
    let (content_type, body) = upload_body(fields, file);
    let answer = reqwest::Client::new().post(url).header(CONTENT_TYPE, content_type).body(body).send().await;
    let answer = answer.expect("S3 answers");
    (answer.status().as_u16(), answer.text().await.unwrap_or_default())
}

/// Presigns an upload as `user` and POSTs `file` with its form, which S3 must take: the
/// answer's `upload` table (`key`, `url`, `fields` ...).
pub async fn upload_audio(user: &User, file: &[u8]) -> Value {
    let presign = Client::new().with_token(&user.token).post_form("/audio/upload", &[]).await;
    assert_eq!(presign.status, 200, "{}", presign.text);
    let upload = presign.doc()["upload"][0].clone();
    let (status, text) = post_upload(upload["url"].as_str().expect("url"), &upload["fields"], file).await;
    assert!((200..300).contains(&status), "S3 refused the upload: {status} {text}");
    upload
}
