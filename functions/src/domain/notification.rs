//! What a push says, in each platform's shape, under each platform's 4 KB: APNs's `aps`
//! dictionary, FCM HTTP v1's message (as SNS takes it, under `fcmV1Message`). Built once per
//! push from a [`Notification`]; the SNS message carries only the platform's own key and SNS's
//! required `default`.

use super::message::MessageKind;
use super::notice::Change;
use super::push::Platform;
use serde_json::{json, Value};
use std::collections::BTreeMap;

/// The most a push payload may weigh: APNs's and FCM's limit alike.
pub const MAX_PAYLOAD_BYTES: usize = 4096;

/// The longest preview of a message's text, in characters.
pub const PREVIEW_CHARS: usize = 100;

/// What a push tells a device.
#[derive(Clone, Debug, PartialEq)]
pub struct Notification {
    /// The sender's name as the recipient may see it, or the group's name; `None`: a
    /// badge-only push (the badge changed because the user read on another device).
    pub alert: Option<Alert>,
    /// The user's exact unread total.
    pub badge: u64,
    /// The conversation's thread: APNs's `thread-id`, FCM's `collapse_key` and `tag`.
    pub thread: String,
    /// Custom data, strings only (FCM's `data` takes nothing else): conversation, id, seq.
    pub data: BTreeMap<String, String>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Alert {
    pub title: String,
    pub body: String,
}

/// A message's preview: its first [`PREVIEW_CHARS`] characters (an ellipsis when cut), or
/// what it attaches (`Voice note`, `Photo`, ...); `New message` alone when the user wants no
/// preview (nothing private crosses Apple's or Google's servers then).
pub fn preview(text: &str, kind: MessageKind, show: bool) -> String {
    match (show, kind) {
        (false, _) => "New message".into(),
        (true, MessageKind::Text) => cut(text, PREVIEW_CHARS),
        (true, MessageKind::Audio) => "Voice note".into(),
        (true, MessageKind::Image) => "Photo".into(),
        (true, MessageKind::Video) => "Video".into(),
        (true, MessageKind::File) => "File".into(),
    }
}

/// What a push says of a notice ([`super::entry::Entry::alerts`]), after its actor's name: no
/// text a user wrote, so it needs no preview setting.
pub fn notice_body(change: &Change, actor: &str) -> String {
    match change {
        Change::AddContact { .. } => format!("{actor} sent you a friend request"),
        Change::AcceptContact => format!("{actor} accepted your friend request"),
        Change::CreateGroup { .. } | Change::CreateGroupMember { .. } => format!("{actor} added you to the group"),
        _ => format!("{actor}: {}", change.t()),
    }
}

fn cut(text: &str, chars: usize) -> String {
    match text.char_indices().nth(chars) {
        Some((end, _)) => format!("{}…", &text[..end]),
        None => text.to_string(),
    }
}

impl Notification {
    /// The platform's payload, its alert's body shortened until it fits in
    /// [`MAX_PAYLOAD_BYTES`] (the data never is).
    pub fn payload(&self, platform: Platform) -> Value {
        let mut alert = self.alert.clone();
        loop {
            let payload = self.shaped(platform, alert.as_ref());
            let size = payload.to_string().len();
            let Some(a) = alert.as_mut().filter(|a| size > MAX_PAYLOAD_BYTES && !a.body.is_empty()) else {
                return payload;
            };
            let keep = a.body.chars().count().saturating_sub((size - MAX_PAYLOAD_BYTES).max(8));
            a.body = if keep == 0 { String::new() } else { cut(&a.body, keep.saturating_sub(1)) };
        }
    }

    fn shaped(&self, platform: Platform, alert: Option<&Alert>) -> Value {
        let mut data = self.data.clone();
        data.insert("badge".into(), self.badge.to_string());
        match platform {
            Platform::Apns | Platform::ApnsSandbox => {
                let aps = match alert {
                    Some(a) => json!({
                        "alert": { "title": a.title, "body": a.body },
                        "badge": self.badge,
                        "sound": "default",
                        "mutable-content": 1,
                        "thread-id": self.thread,
                    }),
                    None => json!({ "badge": self.badge }),
                };
                let mut payload = json!({ "aps": aps });
                for (key, value) in data {
                    payload[key] = Value::String(value);
                }
                payload
            }
            Platform::Fcm => {
                let message = match alert {
                    Some(a) => json!({
                        "notification": { "title": a.title, "body": a.body },
                        "android": {
                            "collapse_key": self.thread,
                            "notification": { "notification_count": self.badge, "tag": self.thread },
                        },
                        "data": data,
                    }),
                    None => json!({ "data": data }),
                };
                json!({ "fcmV1Message": { "message": message } })
            }
        }
    }

    /// The SNS message (`MessageStructure = json`) for one endpoint of `platform`: SNS's
    /// `default` and the platform's own key, each payload a JSON string as SNS wants it.
    pub fn sns_message(&self, platform: Platform) -> String {
        let key = match platform {
            Platform::Apns => "APNS",
            Platform::ApnsSandbox => "APNS_SANDBOX",
            Platform::Fcm => "GCM",
        };
        let default = self.alert.as_ref().map_or_else(String::new, |a| a.body.clone());
        json!({ "default": default, key: self.payload(platform).to_string() }).to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn notification(body: &str) -> Notification {
        Notification {
            alert: Some(Alert { title: "Ann".into(), body: body.into() }),
            badge: 3,
            thread: "dm#1#2".into(),
            data: BTreeMap::from([("seq".into(), "7".into()), ("id".into(), "dm#1#2:7".into())]),
        }
    }

    #[test]
    fn previews_are_cut_at_100_characters_or_withheld() {
        assert_eq!(preview("hi", MessageKind::Text, true), "hi");
        let long = "é".repeat(150);
        assert_eq!(preview(&long, MessageKind::Text, true).chars().count(), PREVIEW_CHARS + 1);
        assert_eq!(preview("secret", MessageKind::Audio, true), "Voice note");
        assert_eq!(preview("file/image/x.png", MessageKind::Image, true), "Photo");
        assert_eq!(preview("secret", MessageKind::Text, false), "New message");
    }

    #[test]
    fn each_platform_gets_its_shape_with_the_badge_and_string_data() {
        let apns = notification("hello").payload(Platform::Apns);
        assert_eq!(apns["aps"]["alert"], json!({ "title": "Ann", "body": "hello" }));
        assert_eq!((apns["aps"]["badge"].as_u64(), apns["aps"]["mutable-content"].as_u64()), (Some(3), Some(1)));
        assert_eq!((apns["aps"]["thread-id"].as_str(), apns["seq"].as_str()), (Some("dm#1#2"), Some("7")));
        let fcm = notification("hello").payload(Platform::Fcm);
        let message = &fcm["fcmV1Message"]["message"];
        assert_eq!(message["notification"]["body"], "hello");
        assert_eq!(message["android"]["notification"]["notification_count"], 3);
        assert_eq!(message["android"]["collapse_key"], "dm#1#2");
        assert_eq!(message["data"], json!({ "badge": "3", "id": "dm#1#2:7", "seq": "7" }));
        let silent = Notification { alert: None, ..notification("") };
        assert_eq!(silent.payload(Platform::ApnsSandbox)["aps"], json!({ "badge": 3 }));
        assert!(silent.payload(Platform::Fcm)["fcmV1Message"]["message"].get("notification").is_none());
    }

    #[test]
    fn a_payload_fits_in_4_kb_by_shortening_the_body_never_the_data() {
        let mut huge = notification(&"字".repeat(3000));
        huge.alert.as_mut().unwrap().title = "T".repeat(50);
        for platform in [Platform::Apns, Platform::Fcm] {
            let payload = huge.payload(platform);
            assert!(payload.to_string().len() <= MAX_PAYLOAD_BYTES, "{platform:?}");
            assert!(payload.to_string().contains("dm#1#2:7"), "the data stays");
        }
        let message: Value = serde_json::from_str(&notification("hi").sns_message(Platform::Fcm)).unwrap();
        assert_eq!(message["default"], "hi");
        let gcm: Value = serde_json::from_str(message["GCM"].as_str().unwrap()).unwrap();
        assert_eq!(gcm["fcmV1Message"]["message"]["notification"]["body"], "hi");
    }
}
