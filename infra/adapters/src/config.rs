//! Configuration read once at cold start. Names match the environment variables that
//! `template.yaml` sets on every function, so the local stack can set the same ones.

use std::env;

/// Table names, as `template.yaml` names them through `!Ref`.
#[derive(Clone, Debug)]
pub struct Tables {
    /// Users, phone/email claims, session tokens, id counters.
    pub users: String,
    /// Live WebSocket connections: per user (found by one BatchGetItem) and per connection.
    pub connections: String,
    /// Ordered streams: each user's notification feed (later: chats), device cursors.
    pub conversations: String,
    /// What two users are to each other: two edges per pair, a versioned head per user.
    pub relations: String,
    /// Groups: info, members, and each user's groups.
    pub groups: String,
}

#[derive(Clone, Debug)]
pub struct Config {
    pub region: String,
    pub tables: Tables,
    pub audio_bucket: String,
    /// `https://{api}.execute-api.{region}.amazonaws.com/{stage}`: where `@connections` lives.
    pub websocket_management_endpoint: Option<String>,
    /// Local stack only: DynamoDB Local and the S3 server.
    pub dynamodb_endpoint: Option<String>,
    pub s3_endpoint: Option<String>,
    /// How many `PostToConnection` calls run at once during a fan-out.
    pub push_concurrency: usize,
    /// Lifetime of a session token, in seconds.
    pub token_ttl_secs: u64,
    /// How long a signed audio URL works (`AUDIO_URL_TTL_SECS`); every fetch of a message's
    /// audio path signs a fresh one.
    pub audio_url_ttl_secs: u64,
    /// `PASSWORD_RULE=strong`: new accounts need a strong password (8+ characters, not a
    /// common one). The default, `seed`, is the seeds' 6+ characters, so seed clients sign up
    /// as their documents show.
    pub strong_passwords: bool,
    /// The function's own timeout (`FUNCTION_TIMEOUT_SECS`, the template's `Timeout`): AWS
    /// calls are cut well inside it (see [`Config::sdk_timeouts`]), so a slow or dead backend
    /// gets the client a 503 instead of a function killed at its timeout.
    pub function_timeout_secs: u64,
    /// The fan-out worker (`FAN_OUT_FUNCTION`, a function name): audiences larger than
    /// [`Config::direct_audience`] are handed to it, asynchronously, instead of being posted by
    /// the function that stored the entry. `None` posts everything in place.
    pub fan_out_function: Option<String>,
    /// The largest audience (users) a function posts to itself (`DIRECT_AUDIENCE`).
    pub direct_audience: usize,
    /// Local stack only: the Lambda API the fan-out is handed to.
    pub lambda_endpoint: Option<String>,
    /// Local stack only: the SNS API push registrations and pushes go to.
    pub sns_endpoint: Option<String>,
    /// Local stack only: the SQS API the push jobs are queued on.
    pub sqs_endpoint: Option<String>,
    /// The queue of push jobs (`PUSH_QUEUE_URL`, the template's `PushQueue`); `None`: no pushes.
    pub push_queue_url: Option<String>,
    /// How long a device with a live socket has to confirm an entry before it is pushed to
    /// anyway (`PUSH_AFTER_SECS`): the backgrounded phone whose socket API Gateway still holds.
    pub push_after_secs: u32,
    /// The SNS platform applications a device may register with, one per platform; a
    /// platform without one is off (registering for it is refused).
    pub push_platforms: PushPlatforms,
    /// How long after sending a message its sender may edit it (`EDIT_WINDOW_SECS`).
    pub edit_window_secs: u64,
    /// The function that makes an attached image's thumbnail (`THUMBNAIL_FUNCTION`), invoked
    /// asynchronously at attach; `None`: no thumbnails.
    pub thumbnail_function: Option<String>,
    /// The SES identity password reset codes are emailed from (`RESET_EMAIL_FROM`, the
    /// template's `ResetEmailFrom`); `None`: codes go by SMS only.
    pub reset_email_from: Option<String>,
    /// The calling code of phones written without one (`SMS_CALLING_CODE`, the template's
    /// `SmsCallingCode`): simple_im's numbers are national ones.
    pub sms_calling_code: String,
    /// Local stack only: the SES API codes are emailed through.
    pub ses_endpoint: Option<String>,
    /// The topic reports of abuse are published to (`REPORT_TOPIC_ARN`, the template's
    /// `ReportTopic`); `None`: reports are only stored.
    pub report_topic_arn: Option<String>,
    /// The X-Ray daemon traced calls are sent to (`AWS_XRAY_DAEMON_ADDRESS`, which Lambda sets;
    /// the local stack's own daemon): see [`crate::xray`].
    pub xray_daemon_address: Option<String>,
}

/// The SNS platform application of each push platform (the template's
/// `ApnsPlatformApplicationArn`, `ApnsSandboxPlatformApplicationArn`, `FcmPlatformApplicationArn`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PushPlatforms {
    pub apns: Option<String>,
    pub apns_sandbox: Option<String>,
    pub fcm: Option<String>,
}

#[derive(Debug, thiserror::Error)]
#[error("missing or invalid environment variable {0}")]
pub struct ConfigError(pub &'static str);

fn required(name: &'static str) -> Result<String, ConfigError> {
    env::var(name).map_err(|_| ConfigError(name))
}

fn optional(name: &str) -> Option<String> {
    env::var(name).ok().filter(|v| !v.is_empty())
}

fn number<T: std::str::FromStr>(name: &'static str, default: T) -> Result<T, ConfigError> {
    match optional(name) {
        Some(v) => v.parse().map_err(|_| ConfigError(name)),
        None => Ok(default),
    }
}

/// Thirty days: a phone stays logged in, as messaging apps do.
pub const DEFAULT_TOKEN_TTL_SECS: u64 = 30 * 24 * 3600;
pub const DEFAULT_PUSH_CONCURRENCY: usize = 64;
/// The template's `Globals.Function.Timeout`.
pub const DEFAULT_FUNCTION_TIMEOUT_SECS: u64 = 10;
/// One connection look-up (a BatchGetItem reads 100 users): beyond it, delivery is handed off.
pub const DEFAULT_DIRECT_AUDIENCE: usize = 100;

/// Ten seconds: a phone in the foreground confirms a message within a second; one that has
/// not by then is backgrounded (its socket only believed alive) and gets the push.
pub const DEFAULT_PUSH_AFTER_SECS: u32 = 10;

/// Forty-eight hours (`functions::domain::rich` says why).
pub const DEFAULT_EDIT_WINDOW_SECS: u64 = 48 * 3600;

/// China's: simple_im's example phones (`13800138000`) are Chinese mobile numbers.
pub const DEFAULT_SMS_CALLING_CODE: &str = "86";

/// Fifteen minutes: long enough to play a voice note, short enough not to be shared.
pub const DEFAULT_AUDIO_URL_TTL_SECS: u64 = 15 * 60;

impl Config {
    /// The AWS calls' budget within the function's timeout: an attempt gets 30 % of it (3 s of
    /// 10), a call with its retry 60 % (6 s), a connection 1 s; two attempts at most. What is
    /// left answers the client 503 well before Lambda kills the function, and well inside API
    /// Gateway's 29 s.
    pub fn sdk_timeouts(&self) -> (std::time::Duration, std::time::Duration, std::time::Duration, u32) {
        let budget_ms = self.function_timeout_secs.max(1) * 1000;
        let ms = std::time::Duration::from_millis;
        (ms(budget_ms * 3 / 10), ms(budget_ms * 6 / 10), ms(1000), 2)
    }

    pub fn from_env() -> Result<Self, ConfigError> {
        Ok(Config {
            region: optional("AWS_REGION").unwrap_or_else(|| "us-east-1".into()),
            tables: Tables {
                users: required("USERS_TABLE")?,
                connections: required("CONNECTIONS_TABLE")?,
                conversations: required("CONVERSATIONS_TABLE")?,
                relations: required("RELATIONS_TABLE")?,
                groups: required("GROUPS_TABLE")?,
            },
            audio_bucket: required("AUDIO_BUCKET")?,
            websocket_management_endpoint: optional("WEBSOCKET_MANAGEMENT_ENDPOINT"),
            dynamodb_endpoint: optional("AWS_ENDPOINT_URL_DYNAMODB"),
            s3_endpoint: optional("AWS_ENDPOINT_URL_S3"),
            push_concurrency: number("PUSH_CONCURRENCY", DEFAULT_PUSH_CONCURRENCY)?,
            token_ttl_secs: number("TOKEN_TTL_SECS", DEFAULT_TOKEN_TTL_SECS)?,
            audio_url_ttl_secs: number("AUDIO_URL_TTL_SECS", DEFAULT_AUDIO_URL_TTL_SECS)?,
            strong_passwords: match optional("PASSWORD_RULE").as_deref() {
                None | Some("seed") => false,
                Some("strong") => true,
                Some(_) => return Err(ConfigError("PASSWORD_RULE")),
            },
            function_timeout_secs: number("FUNCTION_TIMEOUT_SECS", DEFAULT_FUNCTION_TIMEOUT_SECS)?,
            fan_out_function: optional("FAN_OUT_FUNCTION"),
            direct_audience: number("DIRECT_AUDIENCE", DEFAULT_DIRECT_AUDIENCE)?,
            lambda_endpoint: optional("AWS_ENDPOINT_URL_LAMBDA"),
            sns_endpoint: optional("AWS_ENDPOINT_URL_SNS"),
            sqs_endpoint: optional("AWS_ENDPOINT_URL_SQS"),
            push_queue_url: optional("PUSH_QUEUE_URL"),
            push_after_secs: number("PUSH_AFTER_SECS", DEFAULT_PUSH_AFTER_SECS)?,
            push_platforms: PushPlatforms {
                apns: optional("APNS_PLATFORM_APPLICATION_ARN"),
                apns_sandbox: optional("APNS_SANDBOX_PLATFORM_APPLICATION_ARN"),
                fcm: optional("FCM_PLATFORM_APPLICATION_ARN"),
            },
            edit_window_secs: number("EDIT_WINDOW_SECS", DEFAULT_EDIT_WINDOW_SECS)?,
            thumbnail_function: optional("THUMBNAIL_FUNCTION"),
            reset_email_from: optional("RESET_EMAIL_FROM"),
            sms_calling_code: optional("SMS_CALLING_CODE").unwrap_or_else(|| DEFAULT_SMS_CALLING_CODE.into()),
            ses_endpoint: optional("AWS_ENDPOINT_URL_SESV2"),
            report_topic_arn: optional("REPORT_TOPIC_ARN"),
            xray_daemon_address: optional("AWS_XRAY_DAEMON_ADDRESS"),
        })
    }

    /// The environment a function gets from `template.yaml`, as name/value pairs, so
    /// `invoke` can give a function binary exactly what the template would.
    pub fn to_env(&self) -> Vec<(&'static str, String)> {
        let mut vars = vec![
            ("AWS_REGION", self.region.clone()),
            ("USERS_TABLE", self.tables.users.clone()),
            ("CONNECTIONS_TABLE", self.tables.connections.clone()),
            ("CONVERSATIONS_TABLE", self.tables.conversations.clone()),
            ("RELATIONS_TABLE", self.tables.relations.clone()),
            ("GROUPS_TABLE", self.tables.groups.clone()),
            ("AUDIO_BUCKET", self.audio_bucket.clone()),
            ("PUSH_CONCURRENCY", self.push_concurrency.to_string()),
            ("TOKEN_TTL_SECS", self.token_ttl_secs.to_string()),
            ("AUDIO_URL_TTL_SECS", self.audio_url_ttl_secs.to_string()),
            ("PASSWORD_RULE", if self.strong_passwords { "strong" } else { "seed" }.to_string()),
            ("FUNCTION_TIMEOUT_SECS", self.function_timeout_secs.to_string()),
            ("DIRECT_AUDIENCE", self.direct_audience.to_string()),
            ("PUSH_AFTER_SECS", self.push_after_secs.to_string()),
            ("EDIT_WINDOW_SECS", self.edit_window_secs.to_string()),
            ("SMS_CALLING_CODE", self.sms_calling_code.clone()),
        ];
        let endpoints = [
            ("WEBSOCKET_MANAGEMENT_ENDPOINT", &self.websocket_management_endpoint),
            ("AWS_ENDPOINT_URL_DYNAMODB", &self.dynamodb_endpoint),
            ("AWS_ENDPOINT_URL_S3", &self.s3_endpoint),
            ("AWS_ENDPOINT_URL_LAMBDA", &self.lambda_endpoint),
            ("AWS_ENDPOINT_URL_SNS", &self.sns_endpoint),
            ("AWS_ENDPOINT_URL_SQS", &self.sqs_endpoint),
            ("PUSH_QUEUE_URL", &self.push_queue_url),
            ("FAN_OUT_FUNCTION", &self.fan_out_function),
            ("THUMBNAIL_FUNCTION", &self.thumbnail_function),
            ("RESET_EMAIL_FROM", &self.reset_email_from),
            ("AWS_ENDPOINT_URL_SESV2", &self.ses_endpoint),
            ("REPORT_TOPIC_ARN", &self.report_topic_arn),
            ("AWS_XRAY_DAEMON_ADDRESS", &self.xray_daemon_address),
            ("APNS_PLATFORM_APPLICATION_ARN", &self.push_platforms.apns),
            ("APNS_SANDBOX_PLATFORM_APPLICATION_ARN", &self.push_platforms.apns_sandbox),
            ("FCM_PLATFORM_APPLICATION_ARN", &self.push_platforms.fcm),
        ];
        for (name, value) in endpoints {
            if let Some(v) = value {
                vars.push((name, v.clone()));
            }
        }
        vars
    }
}
