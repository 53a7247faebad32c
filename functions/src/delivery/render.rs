//! How a stored entry travels, one function per dialect: simple_im's `[[m]]` / `[[gm]]` /
//! `[[n]]` tables in TOML, seed 003's events in JSON (`NOTIFY_NEW_MSG` for messages,
//! `NOTIFY_UPDATE_CONTACT` for contact changes, `NOTIFY_EDIT_MSG` for edits, `NOTIFY` for the rest).

use crate::domain::entry::{Body, Entry, View};
use crate::domain::format::Format;
use crate::domain::notice::{Change, Notice};
use serde::Serialize;
use serde_json::{json, Value};
use std::collections::BTreeMap;

/// API Gateway's frame limit: a bigger entry is announced by reference and fetched by sync.
pub const MAX_FRAME_BYTES: usize = 32 * 1024;

/// The JSON event an entry travels as.
pub fn json_event(entry: &Entry) -> &'static str {
    match &entry.body {
        Body::Message(_) => "NOTIFY_NEW_MSG",
        Body::Notice(notice) if notice.what.is_contact_change() => "NOTIFY_UPDATE_CONTACT",
        Body::Notice(Notice { what: Change::EditMessage { .. }, .. }) => "NOTIFY_EDIT_MSG",
        Body::Notice(_) => "NOTIFY",
    }
}

/// Seed 003's message: the entry's fields, with the seed's `content` and `time`.
#[derive(Serialize)]
struct SeedMessage<'a> {
    #[serde(flatten)]
    view: View<'a>,
    content: &'a str,
    time: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    from_email: Option<String>,
}

/// A contact change as seed 003 shows it: with the recipient's whole contact list and each
/// contact's unread count, as `LIST_CONTACTS_UNREAD` answers it.
#[derive(Serialize)]
struct WithContacts<'a> {
    #[serde(flatten)]
    view: View<'a>,
    contacts: &'a Contacts,
}

/// A user's contacts by contact key, with the unread count of each (`{<key>: <n>}`).
pub type Contacts = BTreeMap<String, u64>;

/// An entry in simple_im's dialect: its table with the entry's fields.
pub fn toml_frame(entry: &Entry) -> String {
    within_limit(Format::Toml, entry, Format::Toml.frame(entry.kind().table(), "", &as_value(&entry.view())))
}

/// An entry in seed 003's dialect: messages as `{"msg": {..., content, time}}`, contact changes
/// with `contacts` (the recipient's whole list) when known, anything else its fields.
pub fn json_frame(entry: &Entry, contacts: Option<&Contacts>) -> String {
    let data = match (&entry.body, contacts) {
        (Body::Message(m), _) => {
            // Messages stored before `from_email` was always a string name the sender by id.
            let from_email = m.from_email.is_none().then(|| m.from.to_string());
            json!({ "msg": SeedMessage { view: entry.view(), content: &m.c, time: m.seed_time(), from_email } })
        }
        (Body::Notice(_), Some(contacts)) if entry.is_contact_change() => {
            as_value(&WithContacts { view: entry.view(), contacts })
        }
        (Body::Notice(_), _) => as_value(&entry.view()),
    };
    within_limit(Format::Json, entry, Format::Json.frame("", json_event(entry), &data))
}

/// An entry rendered for a connection of `format`; `contacts` is the recipient's list, for
/// seed 003's contact changes.
pub fn push_frame(format: Format, entry: &Entry, contacts: Option<&Contacts>) -> String {
    match format {
        Format::Toml => toml_frame(entry),
        Format::Json => json_frame(entry, contacts),
    }
}

fn as_value(shown: &impl Serialize) -> Value {
    serde_json::to_value(shown).unwrap_or_default()
}

/// A frame over API Gateway's limit goes by reference (`more = 1` in TOML): the client fetches it
/// by sync.
fn within_limit(format: Format, entry: &Entry, frame: String) -> String {
    if frame.len() <= MAX_FRAME_BYTES {
        return frame;
    }
    let reference = json!({ "id": entry.id().to_string(), "seq": entry.seq, "t": entry.body.t(), "more": true });
    format.frame(entry.kind().table(), json_event(entry), &reference)
}

/// Entries grouped by simple_im table (`n`, `m`, `gm`), as sync and `GET /offline` list them;
/// `n` is always present.
pub fn by_table<'a>(entries: impl IntoIterator<Item = &'a Entry>) -> BTreeMap<&'static str, Vec<Value>> {
    let mut tables: BTreeMap<&'static str, Vec<Value>> = BTreeMap::from([("n", vec![])]);
    for entry in entries {
        tables.entry(entry.kind().table()).or_default().push(as_value(&entry.view()));
    }
    tables
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::entry::Message;
    use crate::domain::ids::UserId;
    use crate::domain::ids::{ConversationId, Target};
    use crate::domain::message::MessageKind;
    use crate::domain::notice::{Change, Notice};

    fn text(c: &str) -> Entry {
        let message = Message {
            client_id: "c1".into(),
            t: MessageKind::Text,
            c: c.into(),
            from: UserId(1),
            from_email: Some("a@b.c".into()),
            target: Target::User(UserId(2)),
            ts: 1448185739,
            us: 0,
            d: "android".into(),
            deleted: false,
            details: Default::default(),
        };
        Entry {
            conversation: ConversationId::direct(UserId(1), UserId(2)),
            seq: 4,
            echo_of: None,
            body: Body::Message(message),
        }
    }

    #[test]
    fn a_message_in_each_dialect() {
        let toml: toml::Table = toml::from_str(&toml_frame(&text("hi"))).unwrap();
        assert_eq!(toml["m"][0]["c"].as_str(), Some("hi"));
        assert_eq!(toml["m"][0]["id"].as_str(), Some("dm#1#2:4"));
        let json: Value = serde_json::from_str(&json_frame(&text("hi"), None)).unwrap();
        assert_eq!(json["event"], "NOTIFY_NEW_MSG");
        assert_eq!(json["data"]["msg"]["content"], "hi");
        assert_eq!(json["data"]["msg"]["time"], "2015-11-22T09:48:59.000000");
        assert_eq!(json["data"]["msg"]["from_email"], "a@b.c");
    }

    #[test]
    fn a_message_with_reactions_and_a_quote_reads_back_in_toml() {
        let mut entry = text("hi");
        if let Body::Message(m) = &mut entry.body {
            let thumbs = crate::domain::rich::Emoji::parse("👍").unwrap();
            m.details.react(UserId(2), &thumbs, true).unwrap();
            m.details.reply_to = Some("dm#1#2:3".into());
            m.details.reply_snippet = Some("say \"when\"\n".into());
        }
        let entry = entry.seen_by(UserId(2));
        let toml: toml::Table = toml::from_str(&toml_frame(&entry)).unwrap();
        assert_eq!(toml["m"][0]["reactions"]["👍"]["count"].as_integer(), Some(1));
        assert_eq!(toml["m"][0]["reply_snippet"].as_str(), Some("say \"when\"\n"));
        assert!(toml["m"][0].get("reacted_by").is_none(), "who reacted is not shown");
    }

    #[test]
    fn a_contact_change_carries_its_count_in_json_only() {
        let notice = Notice { what: Change::AcceptContact, from: UserId(2), to: Some(1), ts: 0, d: "ipad".into() };
        let entry =
            Entry { conversation: ConversationId::Feed(UserId(1)), seq: 2, echo_of: None, body: Body::Notice(notice) };
        let contacts = Contacts::from([("b@c.d".to_string(), 3), ("e@f.g".to_string(), 0)]);
        let json: Value = serde_json::from_str(&json_frame(&entry, Some(&contacts))).unwrap();
        assert_eq!(
            (json["event"].as_str(), &json["data"]["contacts"]),
            (Some("NOTIFY_UPDATE_CONTACT"), &json!({"b@c.d": 3, "e@f.g": 0}))
        );
        assert_eq!(json["data"]["id"], "n:2");
        assert!(!toml_frame(&entry).contains("contacts"));
    }

    #[test]
    fn an_entry_over_the_frame_limit_goes_by_reference() {
        let big = text(&"x".repeat(MAX_FRAME_BYTES));
        let frame = toml_frame(&big);
        assert!(frame.len() < 200 && frame.contains("more = 1"), "{frame}");
        let json: Value = serde_json::from_str(&json_frame(&big, None)).unwrap();
        assert_eq!((json["data"]["more"].as_bool(), json["data"]["seq"].as_u64()), (Some(true), Some(4)));
    }
}
