//! SNS's errors and the checks it makes of a call's input: the form's attribute entries, an
//! endpoint's `Enabled` and `CustomUserData`, and a message with the payload it gives a platform.

use axum::http::StatusCode;
use serde_json::{json, Map, Value};
use std::collections::{BTreeMap, HashMap};

/// SNS's limit on a message: 256 KB.
pub const MAX_MESSAGE_BYTES: usize = 262_144;
/// What APNs and FCM accept in one notification: 4 KB.
pub const MAX_PLATFORM_PAYLOAD_BYTES: usize = 4096;
/// SNS's limit on an endpoint's `CustomUserData`.
const MAX_CUSTOM_USER_DATA_BYTES: usize = 2048;

/// An SNS error: HTTP status, SNS's code (what the SDK maps to its error types) and message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SnsError {
    pub status: StatusCode,
    pub code: &'static str,
    pub message: String,
}

impl SnsError {
    pub(super) fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> SnsError {
        SnsError { status, code, message: message.into() }
    }
    pub(super) fn not_found(message: &str) -> SnsError {
        SnsError::new(StatusCode::NOT_FOUND, "NotFound", message)
    }
    pub(super) fn invalid(message: impl Into<String>) -> SnsError {
        SnsError::new(StatusCode::BAD_REQUEST, "InvalidParameter", message)
    }
    /// A required parameter left out: the service framework's refusal, before SNS sees it.
    pub(super) fn missing(name: &str) -> SnsError {
        let mut member = name.to_string();
        if let Some(first) = member.get_mut(..1) {
            first.make_ascii_lowercase();
        }
        let message = format!(
            "1 validation error detected: Value null at '{member}' failed to satisfy constraint: Member must not be \
             null"
        );
        SnsError::new(StatusCode::BAD_REQUEST, "ValidationError", message)
    }
    pub(super) fn too_long() -> SnsError {
        SnsError::invalid("Invalid parameter: Message too long")
    }
}

/// `Enabled`'s value, which SNS takes as `true` or `false`.
pub(super) fn parse_enabled(value: &str) -> Result<bool, SnsError> {
    match value.to_ascii_lowercase().as_str() {
        "true" => Ok(true),
        "false" => Ok(false),
        _ => Err(SnsError::invalid("Invalid parameter: Attributes Reason: Enabled must be true or false")),
    }
}

pub(super) fn check_custom_user_data(data: &str) -> Result<(), SnsError> {
    if data.len() > MAX_CUSTOM_USER_DATA_BYTES {
        return Err(SnsError::invalid(format!(
            "Invalid parameter: CustomUserData Reason: must be at most {MAX_CUSTOM_USER_DATA_BYTES} bytes"
        )));
    }
    Ok(())
}

/// SNS does not keep an empty `CustomUserData`: it is the same as none.
pub(super) fn non_empty(data: Option<&str>) -> Option<String> {
    data.filter(|d| !d.is_empty()).map(String::from)
}

pub(super) fn unknown_attribute(name: &str) -> SnsError {
    SnsError::invalid(format!("Invalid parameter: Attributes Reason: Invalid attribute name: {name}"))
}

/// A `MessageStructure=json` message: a JSON object with a string `default`.
pub(super) fn json_structure(message: &str) -> Result<Map<String, Value>, SnsError> {
    let Ok(Value::Object(entries)) = serde_json::from_str::<Value>(message) else {
        return Err(SnsError::invalid("Invalid parameter: Message Structure - JSON message body failed to parse"));
    };
    if !entries.get("default").is_some_and(Value::is_string) {
        return Err(SnsError::invalid("Invalid parameter: Message Structure - No default entry in JSON message body"));
    }
    Ok(entries)
}

/// What the platform receives: the message's entry for it (a JSON object, given as a JSON
/// string), else the `default` text as `{"default": text}`.
pub(super) fn platform_payload(
    platform: &str,
    message: &str,
    structured: Option<&Map<String, Value>>,
) -> Result<Value, SnsError> {
    let malformed = || {
        let reason = format!("Invalid notification for protocol {platform}: Notification is malformed");
        SnsError::invalid(format!("Invalid parameter: Message Reason: {reason}"))
    };
    let Some(entries) = structured else {
        return Ok(json!({ "default": message }));
    };
    match entries.get(platform) {
        Some(Value::String(text)) => match serde_json::from_str::<Value>(text) {
            Ok(payload @ Value::Object(_)) => Ok(payload),
            _ => Err(malformed()),
        },
        Some(_) => Err(malformed()),
        None => Ok(json!({ "default": entries.get("default").cloned().unwrap_or_default() })),
    }
}

/// The `Attributes.entry.N.key` / `Attributes.entry.N.value` pairs of a form, in `N`'s order.
pub fn attributes(params: &HashMap<String, String>) -> Vec<(String, String)> {
    let mut entries: BTreeMap<u32, (Option<String>, Option<String>)> = BTreeMap::new();
    for (name, value) in params {
        let Some((index, field)) = name.strip_prefix("Attributes.entry.").and_then(|rest| rest.split_once('.')) else {
            continue;
        };
        let Ok(index) = index.parse::<u32>() else { continue };
        let entry = entries.entry(index).or_default();
        match field {
            "key" => entry.0 = Some(value.clone()),
            "value" => entry.1 = Some(value.clone()),
            _ => {}
        }
    }
    entries.into_values().filter_map(|(key, value)| Some((key?, value.unwrap_or_default()))).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn attribute_entries_are_read_in_their_order_from_the_sdks_form() {
        let body = "Action=SetEndpointAttributes&Version=2010-03-31&EndpointArn=arn%3Aaws%3Asns%3Ax\
                    &Attributes.entry.2.key=CustomUserData&Attributes.entry.2.value=a%20b%26c%2Bd\
                    &Attributes.entry.1.key=Enabled&Attributes.entry.1.value=false\
                    &Attributes.entry.3.key=Token&Attributes.entry.x.key=ignored&Other.entry.1.key=no";
        let form: HashMap<String, String> = form_urlencoded::parse(body.as_bytes()).into_owned().collect();
        assert_eq!(form["EndpointArn"], "arn:aws:sns:x");
        assert_eq!(
            attributes(&form),
            vec![
                ("Enabled".to_string(), "false".to_string()),
                ("CustomUserData".to_string(), "a b&c+d".to_string()),
                ("Token".to_string(), String::new()),
            ]
        );
    }
}
