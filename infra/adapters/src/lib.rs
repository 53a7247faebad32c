//! Adapters between the model and AWS: configuration, the DynamoDB tables, the S3 bucket,
//! the WebSocket pusher and the fan-out worker's invocations. Clients are built once per process (cold start) and shared.

pub mod config;
pub mod emf;
pub mod https;
pub mod invoker;
pub mod logging;
pub mod metrics;
pub mod pusher;
pub mod xray;

pub use config::{Config, PushPlatforms, Tables};
pub use invoker::Invoker;
pub use metrics::{measure_capacity, RequestCounter};
pub use pusher::{PostOutcome, Pusher};

use aws_sdk_apigatewaymanagement as apigw;
use aws_sdk_dynamodb as dynamodb;
use aws_sdk_lambda as lambda;
use aws_sdk_s3 as s3;
use aws_sdk_sesv2 as sesv2;
use aws_sdk_sns as sns;
use aws_sdk_sqs as sqs;
pub use aws_smithy_runtime_api::client::interceptors::SharedInterceptor;

/// Every AWS client a function may need, built once from one [`Config`].
#[derive(Clone)]
pub struct Clients {
    pub dynamodb: dynamodb::Client,
    pub s3: s3::Client,
    pub pusher: Pusher,
    /// Hands large deliveries to the fan-out worker (asynchronous invocations).
    pub invoker: Invoker,
    /// Push registrations (platform endpoints) and pushes, through SNS.
    pub sns: sns::Client,
    /// Push jobs, queued for the push worker (with a delay for devices that have a socket).
    pub sqs: sqs::Client,
    /// Emails (password reset codes), through SES.
    pub sesv2: sesv2::Client,
    pub config: Config,
    /// The credentials the clients sign with: a presigned POST form is signed with them too
    /// (the S3 client's own config no longer tells them).
    pub credentials: Option<aws_credential_types::provider::SharedCredentialsProvider>,
    /// DynamoDB requests made through these clients, by operation.
    pub dynamodb_requests: RequestCounter,
}

impl Clients {
    /// Builds the clients. `sdk` is the shared AWS configuration (region, credentials);
    /// endpoints in `config` override AWS's for the local stack.
    pub fn new(sdk: &aws_config::SdkConfig, config: Config) -> Self {
        Self::with_interceptor(sdk, config, RequestCounter::default(), None)
    }

    /// Builds the clients counting DynamoDB requests into `dynamodb_requests`, with `guard`
    /// (the local stack's IAM check) on every client when given.
    fn with_interceptor(
        sdk: &aws_config::SdkConfig,
        config: Config,
        dynamodb_requests: RequestCounter,
        guard: Option<SharedInterceptor>,
    ) -> Self {
        let (attempt, operation, connect, attempts) = config.sdk_timeouts();
        let timeouts = aws_config::timeout::TimeoutConfig::builder()
            .operation_attempt_timeout(attempt)
            .operation_timeout(operation)
            .connect_timeout(connect)
            .build();
        let retries = aws_config::retry::RetryConfig::standard().with_max_attempts(attempts);
        let sdk = &sdk.to_builder().timeout_config(timeouts).retry_config(retries).build();
        let mut ddb = dynamodb::config::Builder::from(sdk).interceptor(dynamodb_requests.clone());
        if let Some(url) = &config.dynamodb_endpoint {
            ddb = ddb.endpoint_url(url);
        }
        let mut s3b = s3::config::Builder::from(sdk).force_path_style(true);
        if let Some(url) = &config.s3_endpoint {
            s3b = s3b.endpoint_url(url);
        }
        let mut mgmt = apigw::config::Builder::from(sdk);
        if let Some(url) = &config.websocket_management_endpoint {
            mgmt = mgmt.endpoint_url(url);
        }
        let mut lambdab = lambda::config::Builder::from(sdk);
        if let Some(url) = &config.lambda_endpoint {
            lambdab = lambdab.endpoint_url(url);
        }
        let mut snsb = sns::config::Builder::from(sdk);
        if let Some(url) = &config.sns_endpoint {
            snsb = snsb.endpoint_url(url);
        }
        let mut sqsb = sqs::config::Builder::from(sdk);
        if let Some(url) = &config.sqs_endpoint {
            sqsb = sqsb.endpoint_url(url);
        }
        let mut sesb = sesv2::config::Builder::from(sdk);
        if let Some(url) = &config.ses_endpoint {
            sesb = sesb.endpoint_url(url);
        }
        // Every client gets the X-Ray tracer when a daemon is configured, and the local IAM check.
        let tracer = config.xray_daemon_address.as_deref().and_then(xray::daemon_address);
        let tracer = tracer.and_then(xray::XrayInterceptor::new).map(SharedInterceptor::new);
        for interceptor in tracer.into_iter().chain(guard) {
            sesb.push_interceptor(interceptor.clone());
            sqsb.push_interceptor(interceptor.clone());
            ddb.push_interceptor(interceptor.clone());
            s3b.push_interceptor(interceptor.clone());
            lambdab.push_interceptor(interceptor.clone());
            snsb.push_interceptor(interceptor.clone());
            mgmt.push_interceptor(interceptor);
        }
        Clients {
            dynamodb: dynamodb::Client::from_conf(ddb.build()),
            s3: s3::Client::from_conf(s3b.build()),
            pusher: Pusher::new(apigw::Client::from_conf(mgmt.build()), config.push_concurrency),
            invoker: Invoker::new(lambda::Client::from_conf(lambdab.build())),
            sns: sns::Client::from_conf(snsb.build()),
            sqs: sqs::Client::from_conf(sqsb.build()),
            sesv2: sesv2::Client::from_conf(sesb.build()),
            credentials: sdk.credentials_provider(),
            config,
            dynamodb_requests,
        }
    }

    /// Clients for a Lambda: region and credentials from the environment the Lambda runtime
    /// sets. Deliberately not `aws_config::load_defaults`: its provider chain (profiles, SSO,
    /// STS, IMDS) is never used in Lambda but costs megabytes of binary and cold-start time.
    pub fn from_env() -> Result<Self, config::ConfigError> {
        let config = Config::from_env()?;
        let credentials = aws_config::environment::EnvironmentVariableCredentialsProvider::new();
        let sdk = aws_config::SdkConfig::builder()
            .region(aws_config::Region::new(config.region.clone()))
            .credentials_provider(aws_credential_types::provider::SharedCredentialsProvider::new(credentials))
            .http_client(https_client())
            .behavior_version(aws_config::BehaviorVersion::latest())
            .build();
        Ok(Self::new(&sdk, config))
    }

    /// Clients for a loopback local stack: its fixed public keys, explicit endpoints.
    pub fn local(config: Config) -> Self {
        Self::local_keyed(config, &LocalKeys::default())
    }

    /// Clients for a local stack signing with `keys` (random ones when it listens beyond loopback).
    pub fn local_keyed(config: Config, keys: &LocalKeys) -> Self {
        Self::new(&local_sdk(&config, keys), config)
    }

    /// The local stack's clients for one function: its IAM check (`guard`) on every call, and
    /// DynamoDB requests counted into the stack's shared `counter`.
    pub fn local_guarded(config: Config, keys: &LocalKeys, counter: RequestCounter, guard: SharedInterceptor) -> Self {
        Self::with_interceptor(&local_sdk(&config, keys), config, counter, Some(guard))
    }
}

/// The local stack's SDK configuration: its region, its keys.
fn local_sdk(config: &Config, keys: &LocalKeys) -> aws_config::SdkConfig {
    aws_config::SdkConfig::builder()
        .region(aws_config::Region::new(config.region.clone()))
        .credentials_provider(aws_credential_types::provider::SharedCredentialsProvider::new(
            aws_credential_types::Credentials::new(&keys.access_key, &keys.secret_key, None, None, "local-stack"),
        ))
        .http_client(https_client())
        .behavior_version(aws_config::BehaviorVersion::latest())
        .build()
}

/// The HTTP client every AWS client here uses: the SDK's own (hyper, its pool and timeouts),
/// with rustls on *ring* for HTTPS instead of the default aws-lc-rs, which adds 0.7 MB to
/// each function, built on its first request ([`https::Lazy`]) with one CA bundle as its
/// trust store (docs/BENCHMARKS.md, cold starts). Plain HTTP (the local stack) goes through
/// it too.
pub fn https_client() -> aws_smithy_runtime_api::client::http::SharedHttpClient {
    aws_smithy_runtime_api::client::http::SharedHttpClient::new(https::Lazy::default())
}

/// The keys a local stack's S3 server and Lambda API check and its functions sign with.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LocalKeys {
    pub access_key: String,
    pub secret_key: String,
}

/// The public constant keys: enough on loopback, where only this machine can call.
impl Default for LocalKeys {
    fn default() -> Self {
        LocalKeys { access_key: LOCAL_ACCESS_KEY.into(), secret_key: LOCAL_SECRET_KEY.into() }
    }
}

/// Credentials of a loopback local stack: not secrets, they are in this repository.
pub const LOCAL_ACCESS_KEY: &str = "local";
pub const LOCAL_SECRET_KEY: &str = "local-secret-key";
