//! SNS's mobile-push application events as they reach a subscribed function: the
//! `DeliveryFailure` message SNS publishes to a platform application's `EventDeliveryFailure`
//! topic, and the Lambda event a topic invokes its Lambda subscriptions with (the shape
//! `aws_lambda_events`'s `SnsEvent` reads).

use serde_json::{json, Value};
use sha2::{Digest, Sha256};
use time::OffsetDateTime;

/// SNS's timestamps: ISO 8601 in UTC with milliseconds, `2026-12-06T22:00:00.123Z`.
pub(crate) fn iso_millis(at: OffsetDateTime) -> String {
    let format =
        time::macros::format_description!("[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:3]Z");
    at.to_offset(time::UtcOffset::UTC).format(format).unwrap_or_default()
}

/// What the platform answers a refused token with: APNs `BadDeviceToken`, FCM `UNREGISTERED`.
fn refusal(platform: &str) -> &'static str {
    match platform {
        "GCM" => "UNREGISTERED",
        _ => "BadDeviceToken",
    }
}

/// The message of an `EventDeliveryFailure` event: the platform refused the token of
/// `endpoint` (under `application`, of `platform`) for the `Publish` `message_id`. SNS names
/// the failure `InvalidPlatformToken` and has disabled the endpoint.
pub(crate) fn delivery_failure(
    endpoint: &str,
    application: &str,
    platform: &str,
    message_id: &str,
    at: OffsetDateTime,
) -> String {
    json!({
        "DeliveryAttempts": 1,
        "EndpointArn": endpoint,
        "EventType": "DeliveryFailure",
        "FailureMessage": refusal(platform),
        "FailureType": "InvalidPlatformToken",
        "MessageId": message_id,
        "Resource": application,
        "Service": "SNS",
        "Time": iso_millis(at),
    })
    .to_string()
}

/// A Lambda subscription's ARN, `TOPIC_ARN:UUID`: the same for a function every time, as a
/// subscription's is on AWS.
fn subscription_arn(topic_arn: &str, function: &str) -> String {
    let digest = Sha256::digest(format!("{topic_arn}\n{function}").as_bytes());
    let mut bytes = [0u8; 16];
    bytes.copy_from_slice(&digest[..16]);
    format!("{topic_arn}:{}", uuid::Builder::from_random_bytes(bytes).into_uuid())
}

/// The event a topic invokes the subscribed `function` with: one record holding `message`,
/// published to `topic_arn` as `message_id` at `at`. Unsigned: nothing checks it locally.
pub(crate) fn lambda_event(
    topic_arn: &str,
    function: &str,
    message_id: &str,
    message: &str,
    at: OffsetDateTime,
) -> Value {
    json!({ "Records": [{
        "EventSource": "aws:sns",
        "EventVersion": "1.0",
        "EventSubscriptionArn": subscription_arn(topic_arn, function),
        "Sns": {
            "Type": "Notification",
            "MessageId": message_id,
            "TopicArn": topic_arn,
            "Subject": null,
            "Message": message,
            "Timestamp": iso_millis(at),
            "SignatureVersion": "1",
            "Signature": "",
            "SigningCertUrl": "",
            "UnsubscribeUrl": "",
            "MessageAttributes": {},
        },
    }] })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(unix: i64, millis: i64) -> OffsetDateTime {
        OffsetDateTime::from_unix_timestamp_nanos(((unix * 1000 + millis) * 1_000_000) as i128).unwrap()
    }

    #[test]
    fn timestamps_are_iso_8601_utc_with_milliseconds() {
        assert_eq!(iso_millis(at(0, 0)), "1970-01-01T00:00:00.000Z");
        assert_eq!(iso_millis(at(1_796_594_400, 0)), "2026-12-06T22:00:00.000Z");
        assert_eq!(iso_millis(at(1_796_594_400, 123)), "2026-12-06T22:00:00.123Z");
        let elsewhere = at(1_796_594_400, 7).to_offset(time::UtcOffset::from_hms(2, 0, 0).unwrap());
        assert_eq!(iso_millis(elsewhere), "2026-12-06T22:00:00.007Z");
    }

    #[test]
    fn a_delivery_failure_reaches_a_function_in_lambdas_sns_event() {
        let endpoint = "arn:aws:sns:us-east-1:000000000000:endpoint/GCM/local-fcm/e-1";
        let application = "arn:aws:sns:us-east-1:000000000000:app/GCM/local-fcm";
        let message = delivery_failure(endpoint, application, "GCM", "m-1", at(1_796_594_400, 123));
        assert_eq!(
            message,
            format!(
                "{{\"DeliveryAttempts\":1,\"EndpointArn\":\"{endpoint}\",\"EventType\":\"DeliveryFailure\",\
                 \"FailureMessage\":\"UNREGISTERED\",\"FailureType\":\"InvalidPlatformToken\",\"MessageId\":\"m-1\",\
                 \"Resource\":\"{application}\",\"Service\":\"SNS\",\"Time\":\"2026-12-06T22:00:00.123Z\"}}"
            )
        );
        let apns = delivery_failure(endpoint, application, "APNS", "m", at(0, 0));
        assert_eq!(serde_json::from_str::<Value>(&apns).unwrap()["FailureMessage"], "BadDeviceToken");

        let topic = "arn:aws:sns:us-east-1:000000000000:PushEventsTopic";
        let event = lambda_event(topic, "push_feedback", "n-1", &message, at(1_796_594_400, 200));
        let record = &event["Records"][0];
        assert_eq!(event["Records"].as_array().map(Vec::len), Some(1));
        assert_eq!((record["EventSource"].as_str(), record["EventVersion"].as_str()), (Some("aws:sns"), Some("1.0")));
        let subscription = record["EventSubscriptionArn"].as_str().unwrap();
        assert!(subscription.starts_with(&format!("{topic}:")) && subscription.len() == topic.len() + 37);
        assert_eq!(subscription, subscription_arn(topic, "push_feedback"), "stable for a function");
        assert_ne!(subscription, subscription_arn(topic, "other"));
        let sns = &record["Sns"];
        assert_eq!((sns["Type"].as_str(), sns["MessageId"].as_str()), (Some("Notification"), Some("n-1")));
        assert_eq!((sns["TopicArn"].as_str(), sns["Message"].as_str()), (Some(topic), Some(message.as_str())));
        assert_eq!(sns["Timestamp"], "2026-12-06T22:00:00.200Z");
        assert!(sns["Subject"].is_null() && sns["MessageAttributes"] == json!({}));
    }
}
