//! The SNS emulator's state and actions: the platform applications (the local stack's three,
//! [`LOCAL_APPLICATIONS`]), their endpoints, and what the local platforms delivered
//! ([`Delivery`]); each awsQuery action answered as the inner XML of its result or an
//! [`SnsError`]. The application events a `Publish` gives rise to wait here, for the HTTP
//! handler to hand them to the topic's subscribers ([`Sns::take_events`]).

use super::checks::{
    attributes, check_custom_user_data, json_structure, non_empty, parse_enabled, platform_payload, unknown_attribute,
    SnsError, MAX_MESSAGE_BYTES, MAX_PLATFORM_PAYLOAD_BYTES,
};
use super::events::delivery_failure;
use super::xml::escape;
use axum::http::StatusCode;
use serde::Serialize;
use serde_json::Value;
use std::collections::HashMap;
use std::sync::{Mutex, MutexGuard};
use std::time::SystemTime;

/// The API version the SDK speaks; another is an unknown operation, as on AWS.
const VERSION: &str = "2010-03-31";

/// The local stack's platform applications: (platform, ARN). The platform is the ARN's segment
/// after `app/`, and the key of a `MessageStructure=json` message's entry for it.
pub const LOCAL_APPLICATIONS: [(&str, &str); 3] = [
    ("GCM", "arn:aws:sns:us-east-1:000000000000:app/GCM/local-fcm"),
    ("APNS", "arn:aws:sns:us-east-1:000000000000:app/APNS/local-apns"),
    ("APNS_SANDBOX", "arn:aws:sns:us-east-1:000000000000:app/APNS_SANDBOX/local-apns-sandbox"),
];

/// The functions' configuration for the local applications: every push platform on.
pub fn local_platforms() -> im_adapters::PushPlatforms {
    let arn = |platform: &str| LOCAL_APPLICATIONS.iter().find(|(p, _)| *p == platform).map(|(_, arn)| arn.to_string());
    im_adapters::PushPlatforms { apns: arn("APNS"), apns_sandbox: arn("APNS_SANDBOX"), fcm: arn("GCM") }
}

/// A notification a local platform accepted for a device.
#[derive(Clone, Debug, Serialize)]
pub struct Delivery {
    /// `apns`, `apns_sandbox` or `fcm`.
    pub platform: String,
    pub token: String,
    /// The platform's JSON object: the message's entry for the platform, or `{"default": text}`.
    pub payload: Value,
    /// When, in unix seconds.
    pub at: u64,
}

/// A platform endpoint: a device's token under an application.
#[derive(Clone, Debug)]
struct Endpoint {
    application: String,
    /// The application's platform (`APNS`, `APNS_SANDBOX`, `GCM`).
    platform: String,
    token: String,
    enabled: bool,
    custom_user_data: Option<String>,
}

#[derive(Default)]
struct Registry {
    applications: Vec<String>,
    endpoints: HashMap<String, Endpoint>,
    deliveries: Vec<Delivery>,
    /// Each application's `EventDeliveryFailure` topic ARN, by application ARN.
    failure_topics: HashMap<String, String>,
    /// The application events not yet handed to their topic: (topic ARN, message).
    events: Vec<(String, String)>,
}

/// The emulated service: its applications, their endpoints, and what the platforms delivered.
pub struct Sns(Mutex<Registry>);

impl Default for Sns {
    /// The local stack's three applications ([`Sns::local`]).
    fn default() -> Self {
        Sns::local()
    }
}

/// `arn:...:app/GCM/name` → `GCM`.
fn platform_of(application: &str) -> &str {
    let path = application.split_once(":app/").map_or("", |(_, path)| path);
    path.split('/').next().unwrap_or_default()
}

/// A platform's name in a [`Delivery`]: the service the application stands for.
fn delivery_platform(platform: &str) -> String {
    match platform {
        "GCM" => "fcm".to_string(),
        other => other.to_ascii_lowercase(),
    }
}

fn unix_now() -> u64 {
    SystemTime::now().duration_since(SystemTime::UNIX_EPOCH).map_or(0, |d| d.as_secs())
}

impl Sns {
    /// A service with these platform applications (ARNs `arn:aws:sns:REGION:ACCOUNT:app/PLATFORM/NAME`).
    pub fn new(applications: &[String]) -> Sns {
        Sns(Mutex::new(Registry { applications: applications.to_vec(), ..Registry::default() }))
    }

    /// The local stack's applications, [`LOCAL_APPLICATIONS`].
    pub fn local() -> Sns {
        let arns: Vec<String> = LOCAL_APPLICATIONS.iter().map(|(_, arn)| arn.to_string()).collect();
        Sns::new(&arns)
    }

    fn lock(&self) -> MutexGuard<'_, Registry> {
        self.0.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// What the platforms delivered to a token, oldest first.
    pub fn deliveries_to(&self, token: &str) -> Vec<Delivery> {
        self.lock().deliveries.iter().filter(|d| d.token == token).cloned().collect()
    }

    /// Sets (or with `None` clears) every application's `EventDeliveryFailure` attribute: the
    /// topic SNS tells when a platform refuses an endpoint's token.
    pub fn set_delivery_failure_topic(&self, topic_arn: Option<String>) {
        let mut registry = self.lock();
        let topics = match topic_arn {
            Some(topic) => registry.applications.iter().map(|app| (app.clone(), topic.clone())).collect(),
            None => HashMap::new(),
        };
        registry.failure_topics = topics;
    }

    /// Queues a message published to a topic for the topic's subscribers.
    pub fn queue_event(&self, topic_arn: &str, message: &str) {
        self.lock().events.push((topic_arn.to_string(), message.to_string()));
    }

    /// The application events queued since the last call, oldest first: (topic ARN, message).
    pub fn take_events(&self) -> Vec<(String, String)> {
        std::mem::take(&mut self.lock().events)
    }

    /// Whether an endpoint is enabled; `None` if there is no such endpoint.
    pub fn enabled(&self, endpoint_arn: &str) -> Option<bool> {
        self.lock().endpoints.get(endpoint_arn).map(|e| e.enabled)
    }

    /// One awsQuery action with its form parameters: the inner XML of its `...Result` element
    /// (empty for the actions whose answer has none), or SNS's error.
    pub fn act(&self, action: &str, params: &HashMap<String, String>) -> Result<String, SnsError> {
        let param = |name: &str| params.get(name).map(String::as_str);
        let required = |name: &str| param(name).ok_or_else(|| SnsError::missing(name));
        let version = param("Version").unwrap_or_default();
        let known =
            ["CreatePlatformEndpoint", "SetEndpointAttributes", "GetEndpointAttributes", "DeleteEndpoint", "Publish"];
        if version != VERSION || !known.contains(&action) {
            let message = format!("Could not find operation {action} for version {version}");
            return Err(SnsError::new(StatusCode::BAD_REQUEST, "InvalidAction", message));
        }
        match action {
            "CreatePlatformEndpoint" => {
                let arn = self.create_endpoint(
                    required("PlatformApplicationArn")?,
                    required("Token")?,
                    param("CustomUserData"),
                    &attributes(params),
                )?;
                Ok(format!("<EndpointArn>{}</EndpointArn>", escape(&arn)))
            }
            "SetEndpointAttributes" => {
                self.set_attributes(required("EndpointArn")?, &attributes(params))?;
                Ok(String::new())
            }
            "GetEndpointAttributes" => {
                let entries: String = self
                    .attributes_of(required("EndpointArn")?)?
                    .iter()
                    .map(|(key, value)| {
                        format!("<entry><key>{}</key><value>{}</value></entry>", escape(key), escape(value))
                    })
                    .collect();
                Ok(format!("<Attributes>{entries}</Attributes>"))
            }
            "DeleteEndpoint" => {
                self.delete_endpoint(required("EndpointArn")?);
                Ok(String::new())
            }
            _ => {
                for elsewhere in ["TopicArn", "PhoneNumber"] {
                    if param(elsewhere).is_some_and(|v| !v.is_empty()) {
                        return Err(SnsError::invalid(format!(
                            "Invalid parameter: {elsewhere} Reason: this emulator delivers to platform endpoints only"
                        )));
                    }
                }
                let Some(target) = param("TargetArn").filter(|t| !t.is_empty()) else {
                    return Err(SnsError::invalid(
                        "Invalid parameter: TopicArn or TargetArn Reason: no value for required parameter",
                    ));
                };
                let id = self.publish(target, required("Message")?, param("MessageStructure"))?;
                Ok(format!("<MessageId>{}</MessageId>", escape(&id)))
            }
        }
    }

    /// `CreatePlatformEndpoint`: the endpoint's ARN, an existing one for the same token and
    /// attributes (SNS's idempotence).
    pub fn create_endpoint(
        &self,
        application: &str,
        token: &str,
        custom_user_data: Option<&str>,
        attributes: &[(String, String)],
    ) -> Result<String, SnsError> {
        let mut custom = non_empty(custom_user_data);
        let mut enabled = None;
        for (name, value) in attributes {
            match name.as_str() {
                // The parameter wins over the attribute of the same name.
                "CustomUserData" if custom_user_data.is_none() => custom = non_empty(Some(value)),
                "CustomUserData" | "Token" => {}
                "Enabled" => enabled = Some(parse_enabled(value)?),
                other => return Err(unknown_attribute(other)),
            }
        }
        if let Some(data) = &custom {
            check_custom_user_data(data)?;
        }
        let mut registry = self.lock();
        if !registry.applications.iter().any(|a| a == application) {
            return Err(SnsError::not_found("PlatformApplication does not exist"));
        }
        if token.is_empty() {
            return Err(SnsError::invalid("Invalid parameter: Token Reason: cannot be empty"));
        }
        let existing = registry.endpoints.iter().find(|(_, e)| e.application == application && e.token == token);
        if let Some((arn, endpoint)) = existing {
            let same = endpoint.custom_user_data == custom && enabled.is_none_or(|on| on == endpoint.enabled);
            if same {
                return Ok(arn.clone());
            }
            return Err(SnsError::invalid(format!(
                "Invalid parameter: Token Reason: Endpoint {arn} already exists with the same Token, but different \
                 attributes."
            )));
        }
        let arn = format!("{}/{}", application.replacen(":app/", ":endpoint/", 1), uuid::Uuid::new_v4());
        let endpoint = Endpoint {
            application: application.to_string(),
            platform: platform_of(application).to_string(),
            token: token.to_string(),
            enabled: enabled.unwrap_or(true),
            custom_user_data: custom,
        };
        registry.endpoints.insert(arn.clone(), endpoint);
        Ok(arn)
    }

    /// `SetEndpointAttributes`: `Enabled`, `Token`, `CustomUserData`, all or none applied.
    pub fn set_attributes(&self, endpoint_arn: &str, attributes: &[(String, String)]) -> Result<(), SnsError> {
        let mut registry = self.lock();
        let Some(endpoint) = registry.endpoints.get_mut(endpoint_arn) else {
            return Err(SnsError::not_found("Endpoint does not exist"));
        };
        let mut changed = endpoint.clone();
        for (name, value) in attributes {
            match name.as_str() {
                "Enabled" => changed.enabled = parse_enabled(value)?,
                "Token" if value.is_empty() => {
                    return Err(SnsError::invalid("Invalid parameter: Token Reason: cannot be empty"));
                }
                "Token" => changed.token = value.clone(),
                "CustomUserData" => {
                    check_custom_user_data(value)?;
                    changed.custom_user_data = non_empty(Some(value));
                }
                other => return Err(unknown_attribute(other)),
            }
        }
        *endpoint = changed;
        Ok(())
    }

    /// `GetEndpointAttributes`: `Enabled`, `Token` and `CustomUserData` (when there is some).
    pub fn attributes_of(&self, endpoint_arn: &str) -> Result<Vec<(String, String)>, SnsError> {
        let registry = self.lock();
        let endpoint =
            registry.endpoints.get(endpoint_arn).ok_or_else(|| SnsError::not_found("Endpoint does not exist"))?;
        let mut attributes =
            vec![("Enabled".to_string(), endpoint.enabled.to_string()), ("Token".to_string(), endpoint.token.clone())];
        if let Some(data) = &endpoint.custom_user_data {
            attributes.push(("CustomUserData".to_string(), data.clone()));
        }
        Ok(attributes)
    }

    /// `DeleteEndpoint`: idempotent, as on AWS.
    pub fn delete_endpoint(&self, endpoint_arn: &str) {
        self.lock().endpoints.remove(endpoint_arn);
    }

    /// `Publish` to a platform endpoint: the message id. The platform refuses a token that
    /// begins with `bad` after SNS accepted the message: the endpoint is disabled, nothing is
    /// delivered, the application's `EventDeliveryFailure` topic (if it has one) is told, and
    /// the caller learns it at its next `Publish` (`EndpointDisabled`).
    pub fn publish(&self, endpoint_arn: &str, message: &str, structure: Option<&str>) -> Result<String, SnsError> {
        if message.is_empty() {
            return Err(SnsError::invalid("Invalid parameter: Empty message"));
        }
        if message.len() > MAX_MESSAGE_BYTES {
            return Err(SnsError::too_long());
        }
        let structured = match structure.filter(|s| !s.is_empty()) {
            None => None,
            Some("json") => Some(json_structure(message)?),
            Some(other) => {
                return Err(SnsError::invalid(format!(
                    "Invalid parameter: MessageStructure Reason: {other} is not a valid value (json)"
                )));
            }
        };
        let mut guard = self.lock();
        let registry = &mut *guard;
        let endpoint =
            registry.endpoints.get_mut(endpoint_arn).ok_or_else(|| SnsError::not_found("Endpoint does not exist"))?;
        if !endpoint.enabled {
            return Err(SnsError::new(StatusCode::BAD_REQUEST, "EndpointDisabled", "Endpoint is disabled"));
        }
        let payload = platform_payload(&endpoint.platform, message, structured.as_ref())?;
        if payload.to_string().len() > MAX_PLATFORM_PAYLOAD_BYTES {
            return Err(SnsError::too_long());
        }
        let message_id = uuid::Uuid::new_v4().to_string();
        if endpoint.token.starts_with("bad") {
            tracing::warn!(endpoint = endpoint_arn, "SNS: the platform refused the token; endpoint disabled");
            endpoint.enabled = false;
            if let Some(topic) = registry.failure_topics.get(&endpoint.application) {
                let (application, now) = (&endpoint.application, time::OffsetDateTime::now_utc());
                let failure = delivery_failure(endpoint_arn, application, &endpoint.platform, &message_id, now);
                registry.events.push((topic.clone(), failure));
            }
            return Ok(message_id);
        }
        let delivery = Delivery {
            platform: delivery_platform(&endpoint.platform),
            token: endpoint.token.clone(),
            payload,
            at: unix_now(),
        };
        tracing::debug!(platform = %delivery.platform, token = %delivery.token, "SNS: delivered");
        registry.deliveries.push(delivery);
        Ok(message_id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sns::xml::{access_denied_xml, error_xml, success_xml};
    use crate::template::{LOCAL_ACCOUNT, LOCAL_REGION};
    use serde_json::json;

    const FCM: &str = LOCAL_APPLICATIONS[0].1;
    const APNS: &str = LOCAL_APPLICATIONS[1].1;

    fn params(pairs: &[(&str, &str)]) -> HashMap<String, String> {
        let mut all: HashMap<String, String> =
            [("Version", VERSION)].iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        all.extend(pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())));
        all
    }

    fn register(sns: &Sns, application: &str, token: &str) -> String {
        sns.create_endpoint(application, token, None, &[]).unwrap()
    }

    #[test]
    fn the_local_applications_are_the_local_stacks() {
        for (platform, arn) in LOCAL_APPLICATIONS {
            assert!(arn.starts_with(&format!("arn:aws:sns:{LOCAL_REGION}:{LOCAL_ACCOUNT}:app/{platform}/")));
            assert_eq!(platform_of(arn), platform);
        }
        let platforms = local_platforms();
        assert_eq!(platforms.fcm.as_deref(), Some(FCM));
        assert_eq!(platforms.apns.as_deref(), Some(APNS));
        assert_eq!(platforms.apns_sandbox.as_deref(), Some(LOCAL_APPLICATIONS[2].1));
    }

    #[test]
    fn creating_an_endpoint_is_idempotent_for_the_same_token_and_attributes() {
        let sns = Sns::local();
        let arn = sns.create_endpoint(FCM, "t1", Some("user-1"), &[]).unwrap();
        assert!(arn.starts_with(&format!("arn:aws:sns:{LOCAL_REGION}:{LOCAL_ACCOUNT}:endpoint/GCM/local-fcm/")));
        assert_eq!(sns.create_endpoint(FCM, "t1", Some("user-1"), &[]).unwrap(), arn);
        let other = sns.create_endpoint(FCM, "t1", Some("user-2"), &[]).unwrap_err();
        assert_eq!(other.code, "InvalidParameter");
        assert_eq!(
            other.message,
            format!(
                "Invalid parameter: Token Reason: Endpoint {arn} already exists with the same Token, but different \
                 attributes."
            )
        );
        // The same token under another application is another endpoint.
        assert_ne!(sns.create_endpoint(APNS, "t1", Some("user-1"), &[]).unwrap(), arn);
        assert_eq!(
            sns.create_endpoint(FCM, "", None, &[]).unwrap_err().message,
            "Invalid parameter: Token Reason: cannot be empty"
        );
        let missing =
            sns.create_endpoint("arn:aws:sns:us-east-1:000000000000:app/GCM/nope", "t", None, &[]).unwrap_err();
        assert_eq!((missing.status, missing.code), (StatusCode::NOT_FOUND, "NotFound"));
        assert_eq!(missing.message, "PlatformApplication does not exist");
    }

    #[test]
    fn endpoint_attributes_are_set_read_and_checked() {
        let sns = Sns::local();
        let arn = sns.create_endpoint(APNS, "t2", Some("u"), &[]).unwrap();
        let set = |pairs: &[(&str, &str)]| {
            let pairs: Vec<(String, String)> = pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
            sns.set_attributes(&arn, &pairs)
        };
        set(&[("Enabled", "false"), ("Token", "t3")]).unwrap();
        let read = sns.attributes_of(&arn).unwrap();
        assert!(read.contains(&("Enabled".into(), "false".into())));
        assert!(read.contains(&("Token".into(), "t3".into())));
        assert!(read.contains(&("CustomUserData".into(), "u".into())));
        let unknown = set(&[("Enabled", "true"), ("Colour", "red")]).unwrap_err();
        assert_eq!(unknown.code, "InvalidParameter");
        assert_eq!(sns.enabled(&arn), Some(false), "a refused change changes nothing");
        assert_eq!(set(&[("Enabled", "maybe")]).unwrap_err().code, "InvalidParameter");
        assert_eq!(sns.attributes_of("arn:aws:sns:x:endpoint/none").unwrap_err().code, "NotFound");

        let xml = sns.act("GetEndpointAttributes", &params(&[("EndpointArn", arn.as_str())])).unwrap();
        assert!(xml.starts_with("<Attributes><entry><key>Enabled</key><value>false</value></entry>"));
        sns.act("DeleteEndpoint", &params(&[("EndpointArn", arn.as_str())])).unwrap();
        assert_eq!(sns.act("DeleteEndpoint", &params(&[("EndpointArn", arn.as_str())])).unwrap(), "");
        assert_eq!(sns.enabled(&arn), None);
    }

    #[test]
    fn a_json_structured_message_needs_a_default_and_gives_each_platform_its_entry() {
        let sns = Sns::local();
        let apns = register(&sns, APNS, "ios-1");
        let fcm = register(&sns, FCM, "android-1");
        let message = json!({
            "default": "hello",
            "APNS": json!({ "aps": { "alert": "hi" } }).to_string(),
        })
        .to_string();
        sns.publish(&apns, &message, Some("json")).unwrap();
        sns.publish(&fcm, &message, Some("json")).unwrap();
        sns.publish(&fcm, "plain", None).unwrap();
        let to_ios = sns.deliveries_to("ios-1");
        assert_eq!((to_ios.len(), to_ios[0].platform.as_str()), (1, "apns"));
        assert_eq!(to_ios[0].payload, json!({ "aps": { "alert": "hi" } }));
        let to_android: Vec<Value> = sns.deliveries_to("android-1").into_iter().map(|d| d.payload).collect();
        assert_eq!(to_android, vec![json!({ "default": "hello" }), json!({ "default": "plain" })]);
        assert_eq!(sns.deliveries_to("android-1")[0].platform, "fcm");

        let no_default = json!({ "APNS": "{}" }).to_string();
        assert_eq!(
            sns.publish(&apns, &no_default, Some("json")).unwrap_err().message,
            "Invalid parameter: Message Structure - No default entry in JSON message body"
        );
        assert_eq!(sns.publish(&apns, "not json", Some("json")).unwrap_err().code, "InvalidParameter");
        for bad in ["not json", "[1]", "\"text\""] {
            let message = json!({ "default": "d", "APNS": bad }).to_string();
            let error = sns.publish(&apns, &message, Some("json")).unwrap_err();
            assert!(
                error.message.starts_with("Invalid parameter: Message Reason: Invalid notification for protocol APNS:"),
                "{bad}: {}",
                error.message
            );
        }
        assert_eq!(sns.deliveries_to("ios-1").len(), 1, "a refused message is not delivered");
    }

    #[test]
    fn messages_are_held_to_sns_and_the_platforms_limits() {
        let sns = Sns::local();
        let fcm = register(&sns, FCM, "android-2");
        let big = json!({ "data": { "text": "x".repeat(MAX_PLATFORM_PAYLOAD_BYTES) } }).to_string();
        let message = json!({ "default": "d", "GCM": big }).to_string();
        assert_eq!(
            sns.publish(&fcm, &message, Some("json")).unwrap_err().message,
            "Invalid parameter: Message too long"
        );
        let huge = "x".repeat(MAX_MESSAGE_BYTES + 1);
        assert_eq!(sns.publish(&fcm, &huge, None).unwrap_err().message, "Invalid parameter: Message too long");
        let fits = json!({ "data": { "text": "x".repeat(4000) } }).to_string();
        sns.publish(&fcm, &json!({ "default": "d", "GCM": fits }).to_string(), Some("json")).unwrap();
        assert_eq!(sns.publish("arn:aws:sns:x:endpoint/none", "m", None).unwrap_err().code, "NotFound");
    }

    #[test]
    fn a_token_the_platform_refuses_disables_its_endpoint_after_a_successful_publish() {
        let sns = Sns::local();
        let arn = register(&sns, APNS, "bad-token");
        let id = sns.act("Publish", &params(&[("TargetArn", arn.as_str()), ("Message", "hi")])).unwrap();
        assert!(id.starts_with("<MessageId>"));
        assert_eq!(sns.enabled(&arn), Some(false));
        assert!(sns.deliveries_to("bad-token").is_empty());
        let again = sns.publish(&arn, "hi", None).unwrap_err();
        assert_eq!((again.code, again.message.as_str()), ("EndpointDisabled", "Endpoint is disabled"));
        // The same registration again answers the (disabled) endpoint; re-enabling it is the caller's.
        assert_eq!(sns.create_endpoint(APNS, "bad-token", None, &[]).unwrap(), arn);
    }

    /// SNS tells the application's `EventDeliveryFailure` topic of a refused token, once (the
    /// endpoint is disabled after), and of nothing else; without a topic, nobody is told.
    #[test]
    fn a_refused_token_is_told_to_the_applications_delivery_failure_topic() {
        let topic = "arn:aws:sns:us-east-1:000000000000:PushEventsTopic";
        let sns = Sns::local();
        let bad = register(&sns, FCM, "bad-1");
        let good = register(&sns, APNS, "good-1");
        sns.publish(&bad, "hi", None).unwrap();
        assert!(sns.take_events().is_empty(), "no topic: nobody is told");

        sns.set_delivery_failure_topic(Some(topic.to_string()));
        sns.publish(&good, "hi", None).unwrap();
        assert!(sns.take_events().is_empty(), "a delivered push is no event");
        let bad = register(&sns, APNS, "bad-2");
        let id = sns.publish(&bad, "hi", None).unwrap();
        assert!(sns.publish(&bad, "hi", None).is_err(), "disabled");
        let events = sns.take_events();
        assert_eq!(events.len(), 1, "{events:?}");
        assert_eq!(events[0].0, topic);
        let message: Value = serde_json::from_str(&events[0].1).unwrap();
        assert_eq!(message["EventType"], "DeliveryFailure");
        assert_eq!(message["EndpointArn"], bad.as_str());
        assert_eq!(message["Resource"], APNS);
        assert_eq!(message["MessageId"], id.as_str());
        assert_eq!(message["FailureMessage"], "BadDeviceToken");
        assert!(sns.take_events().is_empty(), "taken once");

        sns.set_delivery_failure_topic(None);
        let bad = register(&sns, FCM, "bad-3");
        sns.publish(&bad, "hi", None).unwrap();
        assert!(sns.take_events().is_empty(), "cleared: nobody is told");
    }

    #[test]
    fn actions_answer_sns_shapes() {
        let sns = Sns::local();
        let unknown = sns.act("CreateTopic", &params(&[("Name", "t")])).unwrap_err();
        assert_eq!(unknown.code, "InvalidAction");
        assert_eq!(unknown.message, "Could not find operation CreateTopic for version 2010-03-31");
        let topic = sns.act("Publish", &params(&[("TopicArn", "arn:t"), ("Message", "m")])).unwrap_err();
        assert_eq!(topic.code, "InvalidParameter");
        assert_eq!(sns.act("CreatePlatformEndpoint", &params(&[("Token", "t")])).unwrap_err().code, "ValidationError");
        let created =
            sns.act("CreatePlatformEndpoint", &params(&[("PlatformApplicationArn", FCM), ("Token", "t")])).unwrap();
        assert!(created.starts_with("<EndpointArn>arn:aws:sns:"));

        let ok = success_xml("CreatePlatformEndpoint", &created, "r-1");
        let start = "<CreatePlatformEndpointResponse xmlns=\"http://sns.amazonaws.com/doc/2010-03-31/\">\
                     <CreatePlatformEndpointResult><EndpointArn>";
        let end = "</CreatePlatformEndpointResult><ResponseMetadata><RequestId>r-1</RequestId></ResponseMetadata>\
                   </CreatePlatformEndpointResponse>";
        assert!(ok.starts_with(start) && ok.ends_with(end), "{ok}");
        assert!(!success_xml("DeleteEndpoint", "", "r").contains("Result"));
        let error = error_xml("InvalidParameter", "a <b> & 'c' \"d\"", "r-2");
        assert_eq!(
            error,
            "<ErrorResponse xmlns=\"http://sns.amazonaws.com/doc/2010-03-31/\"><Error><Type>Sender</Type>\
             <Code>InvalidParameter</Code><Message>a &lt;b&gt; &amp; &apos;c&apos; &quot;d&quot;</Message></Error>\
             <RequestId>r-2</RequestId></ErrorResponse>"
        );
        assert!(access_denied_xml("no").contains("<Code>AuthorizationError</Code><Message>no</Message>"));
    }
}
