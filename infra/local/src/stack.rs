//! The whole local stack in one value: DynamoDB Local, the S3 server, the HTTP API and the
//! WebSocket API (with `@connections`), all configured from `template.yaml`.

use crate::contracts::Contracts;
use crate::gateway::{Gateway, WsLimits};
use crate::site::{self, Site};
use crate::template::Template;
use crate::{callers, dynamodb, http_gateway, iam, lambda_api, s3, sns, sqs, websocket};
use axum::routing::{any, get, post};
use axum::Router;
use im_adapters::{Clients, Config, Tables};
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::sync::Arc;
use tokio::net::TcpListener;
use tokio::task::JoinHandle;

#[derive(Clone, Debug)]
pub struct StackOptions {
    /// The project folder: `template.yaml` is read from here, tools are cached in `.tools/`.
    pub root: PathBuf,
    /// Address the HTTP, WebSocket and S3 servers listen on (loopback unless a phone must reach them).
    pub host: IpAddr,
    /// Ports; 0 picks a free one.
    pub http_port: u16,
    pub ws_port: u16,
    pub dynamodb_port: u16,
    pub s3_port: u16,
    /// Where DynamoDB and S3 keep data; `None` keeps DynamoDB in memory and S3 in a temporary folder.
    pub data_dir: Option<PathBuf>,
    pub ws_limits: WsLimits,
    /// Another template than the project's (a test's altered copy).
    pub template: Option<PathBuf>,
    /// Where the functions post frames instead of the stack's own `@connections` (the
    /// benchmark's counting stub); `None` in normal use.
    pub connections_endpoint: Option<String>,
    /// Whether every answer and frame is held to `docs/openapi.yaml` and `docs/asyncapi.yaml`.
    pub contract_checks: ContractChecks,
}

/// How the stack holds its answers to the contracts (`crate::contracts`).
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum ContractChecks {
    /// Tests: the documents must load, and every answer and frame is checked.
    Required,
    /// `make run`: checked (violations logged) when the documents load; a document being
    /// edited that does not load is a warning, not a stop.
    WhenPresent,
    /// Benchmarks: nothing checked, so the gateway adds no CPU of its own.
    Off,
}

impl StackOptions {
    /// Everything in memory on free ports: what the tests use.
    pub fn ephemeral(root: PathBuf) -> Self {
        StackOptions {
            root,
            host: IpAddr::V4(Ipv4Addr::LOCALHOST),
            http_port: 0,
            ws_port: 0,
            dynamodb_port: 0,
            s3_port: 0,
            data_dir: None,
            ws_limits: WsLimits::default(),
            template: None,
            connections_endpoint: None,
            contract_checks: ContractChecks::Required,
        }
    }
}

pub struct LocalStack {
    pub http_url: String,
    pub ws_url: String,
    /// The `@connections` endpoint, stage included, as the functions get it.
    pub management_url: String,
    /// The Lambda API (`Invoke`) the functions hand the fan-out to.
    pub lambda_url: String,
    pub dynamodb_endpoint: String,
    pub s3_endpoint: String,
    pub clients: Arc<Clients>,
    pub gateway: Arc<Gateway>,
    /// The keys S3 and the Lambda API check (random beyond loopback: `s3::keys`).
    pub keys: im_adapters::LocalKeys,
    dynamodb: dynamodb::DynamoDbLocal,
    scratch: Option<PathBuf>,
    tasks: Vec<JoinHandle<()>>,
}

impl Drop for LocalStack {
    fn drop(&mut self) {
        for task in &self.tasks {
            task.abort();
        }
        if let Some(dir) = &self.scratch {
            let _ = std::fs::remove_dir_all(dir);
        }
    }
}

/// Listens on `port`; a taken port is an error that says what to do.
async fn listen(host: IpAddr, port: u16, flag: &str) -> std::io::Result<(TcpListener, u16)> {
    let listener = TcpListener::bind(SocketAddr::new(host, port)).await.map_err(|e| match e.kind() {
        std::io::ErrorKind::AddrInUse => std::io::Error::new(
            e.kind(),
            format!(
                "port {port} on {host} is taken (another `make run`?): stop that process (`ss -ltnp 'sport = :{port}'` \
                 shows it) or choose another port: make run ARGS=\"--{flag} {}\"",
                port + 100
            ),
        ),
        _ => e,
    })?;
    let port = listener.local_addr()?.port();
    Ok((listener, port))
}

/// A free port for a child process that must be told its port.
fn free_port() -> std::io::Result<u16> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

type StackResult<T> = Result<T, Box<dyn std::error::Error + Send + Sync>>;

impl LocalStack {
    /// DynamoDB Local's process id.
    pub fn dynamodb_pid(&self) -> Option<u32> {
        self.dynamodb.pid()
    }

    pub async fn start(options: StackOptions) -> StackResult<LocalStack> {
        let template_path = options.template.clone().unwrap_or_else(|| options.root.join("template.yaml"));
        let template = Template::load(&template_path)?;
        let tools = options.root.join(".tools");
        let home = dynamodb::install(&tools).await?;
        let dynamodb_port = match options.dynamodb_port {
            0 => free_port()?,
            // A DynamoDB already there would answer our readiness check, and take our tables.
            port => listen(Ipv4Addr::LOCALHOST.into(), port, "dynamodb-port").await.map(|_| port)?,
        };
        let dynamodb_data = options.data_dir.as_ref().map(|d| d.join("dynamodb"));
        let ddb = dynamodb::start(&home, dynamodb_port, dynamodb_data.as_deref()).await?;

        let (s3_root, scratch) = match &options.data_dir {
            Some(dir) => (dir.join("s3"), None),
            None => {
                let dir = std::env::temp_dir().join(format!("im-local-s3-{}", uuid::Uuid::new_v4()));
                (dir.clone(), Some(dir))
            }
        };
        let (s3_listener, s3_port) = listen(options.host, options.s3_port, "s3-port").await?;
        let (http_listener, http_port) = listen(options.host, options.http_port, "http-port").await?;
        let keys = s3::keys(options.host, options.data_dir.as_deref())?;
        let mut tasks = vec![s3::serve(&s3_root, s3_listener, http_port, &keys)?];

        let (ws_listener, ws_port) = listen(options.host, options.ws_port, "ws-port").await?;
        let management_url = options
            .connections_endpoint
            .clone()
            .unwrap_or_else(|| format!("http://127.0.0.1:{ws_port}/{}", template.ws_stage));
        let bucket = template.buckets.first().cloned().unwrap_or_else(|| "audio-bucket".into());
        let lambda_url = format!("http://127.0.0.1:{ws_port}");
        let mut config = local_config(&ddb.endpoint, &format!("http://127.0.0.1:{s3_port}"), &management_url, &bucket);
        config.lambda_endpoint = Some(lambda_url.clone());
        // The SNS API and its three local platform applications: registering works out of the box.
        config.sns_endpoint = Some(lambda_url.clone());
        // SES (restJson1, `/v2/...`) at the same root: password reset codes by email.
        config.ses_endpoint = Some(lambda_url.clone());
        config.push_platforms = crate::sns::local_platforms();
        // The SQS API at the same root; the queue `Globals` names (`PUSH_QUEUE_URL`) by its local URL.
        config.sqs_endpoint = Some(lambda_url.clone());
        config.push_queue_url = template.push_queue.as_deref().map(|queue| sqs::queue_url(ws_port, queue));
        config.fan_out_function = template.fan_out_function.clone();
        config.thumbnail_function = template.thumbnail_function.clone();
        let report_topic = template.topics.iter().find(|id| *id == crate::template::REPORT_TOPIC);
        config.report_topic_arn = report_topic.map(|id| crate::template::topic_arn(id));
        // Lambda's X-Ray daemon beside the functions: every client traces a sampled invocation.
        let traces = Arc::new(crate::xray::Traces::default());
        config.xray_daemon_address = Some(crate::xray::listen(options.host, traces.clone()).await?.to_string());
        let clients = Arc::new(Clients::local_keyed(config, &keys));
        // The functions run in this process: their embedded metrics are summed here too.
        im_adapters::emf::collect();
        for table in &template.tables {
            dynamodb::create_table(&clients.dynamodb, table).await?;
        }
        for bucket in &template.buckets {
            let created = clients.s3.create_bucket().bucket(bucket).send().await;
            if let Err(err) = created {
                let owned = err
                    .as_service_error()
                    .is_some_and(|e| e.is_bucket_already_owned_by_you() || e.is_bucket_already_exists());
                if !owned {
                    return Err(
                        format!("create bucket {bucket}: {}", aws_sdk_s3::error::DisplayErrorContext(err)).into()
                    );
                }
            }
        }

        let deny_base = format!("http://127.0.0.1:{ws_port}");
        // Checked runs need the contracts; `make run` goes on without them (a document being
        // edited), and says so.
        let contracts = match Contracts::load(&options.root) {
            Ok(contracts) => Some(Arc::new(contracts)),
            Err(err) if options.contract_checks == ContractChecks::Required => return Err(err.into()),
            Err(err) => {
                tracing::warn!("the contracts did not load, answers are not checked against them: {err}");
                None
            }
        };
        let mut gateway = Gateway::new(template, clients.clone(), options.ws_limits.clone(), &deny_base, &keys)?;
        gateway.own_port = ws_port;
        gateway.traces = traces;
        gateway.contracts = contracts.clone().filter(|_| options.contract_checks != ContractChecks::Off);
        let gateway = Arc::new(gateway);
        // Lambda's SQS event source mappings: the template's queues delivered to their functions.
        tasks.extend(sqs::start_pollers(gateway.clone()));
        let site = Arc::new(Site::new(&options.root, ws_port, &gateway.template.ws_stage, contracts.as_deref()));
        // What the local push platforms received, for a developer's eyes and the tests: loopback only.
        let http = Router::new()
            .merge(site::routes(site))
            .route("/_local/push", get(sns::recorded))
            .route("/_local/sms", get(crate::outbox::sms))
            .route("/_local/mail", get(crate::outbox::mail))
            .route("/_local/topic", get(crate::outbox::topic))
            .route("/_local/metrics", get(crate::outbox::metrics))
            .route("/_local/traces", get(crate::outbox::traces))
            .fallback(any(http_gateway::handle))
            .with_state(gateway.clone());
        // The Lambda API and `@connections` answer programs, never a page (`callers`).
        let programs = Router::new()
            .route("/2015-03-31/functions/{name}/invocations", post(lambda_api::invoke))
            // SNS (awsQuery) and SQS (JSON, `x-amz-target: AmazonSQS.*`) share the root.
            .route("/", post(sqs::aws_root))
            .route("/v2/email/outbound-emails", post(crate::ses::send_email))
            .route(&format!("/{}/{{queue}}", crate::template::LOCAL_ACCOUNT), post(sqs::handle))
            .route(
                "/{stage}/@connections/{id}",
                post(websocket::post_to_connection).get(websocket::get_connection).delete(websocket::delete_connection),
            )
            .route_layer(axum::middleware::from_fn_with_state(gateway.clone(), callers::only_programs));
        let ws = Router::new()
            .route("/{stage}", get(websocket::upgrade))
            .route("/__denied/{service}", any(iam::denied))
            .merge(programs)
            .with_state(gateway.clone());
        tasks.push(tokio::spawn(async move {
            let _ = axum::serve(http_listener, http.into_make_service_with_connect_info::<SocketAddr>()).await;
        }));
        tasks.push(tokio::spawn(async move {
            let _ = axum::serve(ws_listener, ws.into_make_service_with_connect_info::<SocketAddr>()).await;
        }));
        Ok(LocalStack {
            http_url: format!("http://127.0.0.1:{http_port}"),
            ws_url: format!("ws://127.0.0.1:{ws_port}/{}", gateway.template.ws_stage),
            management_url,
            lambda_url,
            dynamodb_endpoint: ddb.endpoint.clone(),
            s3_endpoint: format!("http://127.0.0.1:{s3_port}"),
            clients,
            gateway,
            keys,
            dynamodb: ddb,
            scratch,
            tasks,
        })
    }
}

/// The configuration functions get on the local stack: tables and bucket under their local
/// names (a table's logical id, a bucket's kebab-case id), endpoints of the local services.
pub fn local_config(dynamodb: &str, s3: &str, management: &str, bucket: &str) -> Config {
    Config {
        region: "us-east-1".into(),
        tables: Tables {
            users: "UsersTable".into(),
            connections: "ConnectionsTable".into(),
            conversations: "ConversationsTable".into(),
            relations: "RelationsTable".into(),
            groups: "GroupsTable".into(),
        },
        audio_bucket: bucket.into(),
        websocket_management_endpoint: Some(management.into()),
        dynamodb_endpoint: Some(dynamodb.into()),
        s3_endpoint: Some(s3.into()),
        push_concurrency: im_adapters::config::DEFAULT_PUSH_CONCURRENCY,
        token_ttl_secs: im_adapters::config::DEFAULT_TOKEN_TTL_SECS,
        audio_url_ttl_secs: im_adapters::config::DEFAULT_AUDIO_URL_TTL_SECS,
        strong_passwords: false,
        function_timeout_secs: im_adapters::config::DEFAULT_FUNCTION_TIMEOUT_SECS,
        direct_audience: im_adapters::config::DEFAULT_DIRECT_AUDIENCE,
        fan_out_function: None,
        thumbnail_function: None,
        reset_email_from: Some(crate::outbox::LOCAL_SENDER.into()),
        sms_calling_code: im_adapters::config::DEFAULT_SMS_CALLING_CODE.into(),
        ses_endpoint: None,
        report_topic_arn: None,
        xray_daemon_address: None,
        lambda_endpoint: None,
        sns_endpoint: None,
        sqs_endpoint: None,
        push_queue_url: None,
        push_after_secs: im_adapters::config::DEFAULT_PUSH_AFTER_SECS,
        push_platforms: im_adapters::PushPlatforms::default(),
        // `EDIT_WINDOW_SECS=5 make run` lets a client see an edit refused without waiting 48 h.
        edit_window_secs: std::env::var("EDIT_WINDOW_SECS")
            .ok()
            .and_then(|secs| secs.parse().ok())
            .unwrap_or(im_adapters::config::DEFAULT_EDIT_WINDOW_SECS),
    }
}
