//! Push registrations: which platform a device's push token belongs to, and what a token may
//! look like. One registration per device (a login's device key); a token belongs to one
//! registration at a time, across all users (`service::push`).

use super::refusal::Refusal;
use serde::{Deserialize, Serialize};

/// The push platforms a device registers with, each an SNS platform application.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Platform {
    /// Apple's production APNs.
    Apns,
    /// Apple's sandbox APNs (development builds of an app).
    ApnsSandbox,
    /// Firebase Cloud Messaging (HTTP v1).
    Fcm,
}

impl Platform {
    pub fn parse(text: &str) -> Result<Platform, Refusal> {
        match text {
            "apns" => Ok(Platform::Apns),
            "apns_sandbox" => Ok(Platform::ApnsSandbox),
            "fcm" => Ok(Platform::Fcm),
            _ => Err(Refusal::invalid("platform must be apns, apns_sandbox or fcm")),
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Platform::Apns => "apns",
            Platform::ApnsSandbox => "apns_sandbox",
            Platform::Fcm => "fcm",
        }
    }
}

/// The longest token taken: FCM's registration tokens run to about 160 characters, APNs's
/// device tokens are 64 hex digits today (Apple says they may grow); SNS takes up to 4 KB.
pub const MAX_TOKEN_LEN: usize = 4096;

/// A push token as the platforms hand them out: 8 to [`MAX_TOKEN_LEN`] characters of letters,
/// digits and `: _ - .` (hex for APNs; base64url with `:` for FCM). Anything else is refused
/// before SNS sees it.
pub fn parse_token(text: &str) -> Result<String, Refusal> {
    let fits = (8..=MAX_TOKEN_LEN).contains(&text.len());
    let plain = text.bytes().all(|b| b.is_ascii_alphanumeric() || b":_-.".contains(&b));
    match fits && plain {
        true => Ok(text.to_string()),
        false => Err(Refusal::invalid(format!(
            "token must be 8 to {MAX_TOKEN_LEN} letters, digits or ':_-.' (the token the platform gave the app)"
        ))),
    }
}

/// One device's registration, as `GET /device/push` lists it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Registration {
    /// The device key: the login's device name and tag (`ids::device_key`).
    pub device: String,
    pub platform: Platform,
    pub token: String,
    /// The SNS platform endpoint the token has.
    pub endpoint: String,
    /// False once SNS reports the endpoint disabled (the registration is then removed).
    pub enabled: bool,
    /// The session it was made in (its id): it ends with that session.
    pub session: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn platforms_and_tokens_parse_as_the_platforms_give_them() {
        for name in ["apns", "apns_sandbox", "fcm"] {
            assert_eq!(Platform::parse(name).unwrap().as_str(), name);
        }
        assert!(Platform::parse("gcm").is_err() && Platform::parse("APNS").is_err());
        let apns = "a".repeat(64);
        let fcm = "dQw4w9WgXcQ:APA91bH-x_y.z0123456789";
        assert_eq!(parse_token(&apns).unwrap(), apns);
        assert_eq!(parse_token(fcm).unwrap(), fcm);
        for bad in ["short", "has space in it", "quote\"inside1", &"x".repeat(MAX_TOKEN_LEN + 1), "ünïcode-token"] {
            assert!(parse_token(bad).is_err(), "{bad}");
        }
    }
}
