//! Answers to frames, in the frame's dialect: JSON `OK` / `FAIL` / `ERROR` events (with the
//! frame's `ref`), or the TOML tables simple_im uses (`[[rr]]`, `[[a]]`, `[[error]]`, `[[pp]]`).

use crate::delivery::render::by_table;
use crate::domain::entry::Entry;
use crate::domain::format::Format;
use crate::domain::ids::UserId;
use serde_json::{json, Map, Value};

/// API Gateway's largest WebSocket message (128 KB), less room for its framing.
pub const MAX_MESSAGE_BYTES: usize = 127 * 1024;

/// Where an answer goes: the dialect of the frame, and JSON's `ref` to echo.
pub struct Answer {
    pub dialect: Format,
    pub reference: Option<Value>,
}

impl Answer {
    /// A JSON event, echoing the frame's `ref`.
    pub fn json(&self, event: &str, data: Value) -> String {
        let mut frame = json!({ "event": event, "data": data });
        if let Some(reference) = &self.reference {
            frame["ref"] = reference.clone();
        }
        frame.to_string()
    }

    /// A TOML table.
    pub fn toml(&self, table: &str, data: Value) -> String {
        Format::Toml.frame(table, "", &data)
    }

    /// Done, nothing to tell: `OK {}` in JSON, no answer in TOML (simple_im's acks).
    pub fn done(&self) -> String {
        match self.dialect {
            Format::Json => self.json("OK", json!({})),
            Format::Toml => String::new(),
        }
    }

    /// A frame that could not be understood.
    pub fn error(&self, reason: &str) -> String {
        match self.dialect {
            Format::Json => self.json("ERROR", json!({ "msg": reason })),
            Format::Toml => self.toml("error", json!({ "r": reason })),
        }
    }

    /// A request refused; TOML sends carry the client's `id` back.
    pub fn fail(&self, reason: &str, client_id: Option<&str>) -> String {
        match (self.dialect, client_id) {
            (Format::Json, _) => self.json("FAIL", json!({ "msg": reason })),
            (Format::Toml, Some(id)) => self.toml("error", json!({ "r": reason, "id": id })),
            (Format::Toml, None) => self.toml("error", json!({ "r": reason })),
        }
    }

    /// A login's outcome: `OK {id}` / `FAIL`, or `[[rr]] s = 0` / `s = 1, r`, echoing the
    /// `[[r]]` frame's own `id` when it had one.
    pub fn login(&self, result: Result<UserId, String>, frame_id: Option<&str>) -> String {
        match (self.dialect, result) {
            (Format::Json, Ok(id)) => self.json("OK", json!({ "id": id })),
            (Format::Json, Err(reason)) => self.json("FAIL", json!({ "msg": reason })),
            (Format::Toml, Ok(_)) => self.toml("rr", json!({ "id": frame_id, "s": 0 })),
            (Format::Toml, Err(reason)) => self.toml("rr", json!({ "id": frame_id, "s": 1, "r": reason })),
        }
    }

    /// A page of sync: the entries by table, `more`, and seed 004's count of friend requests.
    /// It fits one API Gateway WebSocket message: entries past [`MAX_MESSAGE_BYTES`] stay for
    /// the next page (they are not confirmed, so nothing is lost and the device is never stuck
    /// on a page it cannot receive).
    pub fn sync(&self, entries: &[Entry], more: bool, friend_requests: usize) -> String {
        let mut count = entries.len();
        loop {
            let page = self.sync_page(&entries[..count], more || count < entries.len(), friend_requests);
            if page.len() <= MAX_MESSAGE_BYTES || count == 0 {
                return page;
            }
            count = (count * MAX_MESSAGE_BYTES / page.len()).min(count - 1);
        }
    }

    fn sync_page(&self, entries: &[Entry], more: bool, friend_requests: usize) -> String {
        let mut doc: Map<String, Value> =
            by_table(entries).into_iter().map(|(table, list)| (table.to_string(), Value::Array(list))).collect();
        match self.dialect {
            Format::Json => {
                doc.insert("more".into(), json!(more));
                doc.insert("friend_request".into(), json!(friend_requests));
                self.json("OK", Value::Object(doc))
            }
            Format::Toml => {
                doc.insert("sync".into(), json!([{ "more": more, "friend_request": friend_requests }]));
                String::from_utf8_lossy(&Format::Toml.encode(&Value::Object(doc))).into_owned()
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::entry::{Body, Message};
    use crate::domain::ids::{ConversationId, Target};
    use crate::domain::message::MessageKind;

    fn big_messages(n: u64) -> Vec<Entry> {
        (1..=n)
            .map(|seq| {
                let message = Message {
                    client_id: format!("c{seq}"),
                    t: MessageKind::Text,
                    c: "😀".repeat(4000),
                    from: UserId(2),
                    from_email: None,
                    target: Target::User(UserId(1)),
                    ts: 0,
                    us: 0,
                    d: "web".into(),
                    deleted: false,
                    details: Default::default(),
                };
                Entry {
                    conversation: ConversationId::Direct(UserId(1), UserId(2)),
                    seq,
                    echo_of: None,
                    body: Body::Message(message),
                }
            })
            .collect()
    }

    #[test]
    fn a_sync_page_fits_one_websocket_message_and_says_more() {
        for dialect in [Format::Json, Format::Toml] {
            let answer = Answer { dialect, reference: None };
            let page = answer.sync(&big_messages(50), false, 0);
            assert!(page.len() <= MAX_MESSAGE_BYTES, "{} bytes", page.len());
            assert!(page.contains("more") && (page.contains("\"more\":true") || page.contains("more = 1")));
            assert!(page.matches("dm#1#2:").count() >= 5, "as many as fit, not a handful");
            let small = answer.sync(&big_messages(2), false, 0);
            assert!(small.contains("\"more\":false") || small.contains("more = 0"));
        }
    }
}
