//! One stored entry of a conversation or feed: a message or a notice, typed. Its wire fields
//! are simple_im's (`t`, `from`, `to`, `c`, `ts`, `d`, ...); what the server needs besides (its
//! place, whose echo it is) sits beside them, not hidden in them.

use super::ids::{ConversationId, EntryId, Target, UserId, ANY_DEVICE};
use super::message::MessageKind;
use super::notice::Notice;
use super::rich::Details;
use serde::{Deserialize, Serialize};

/// Which simple_im table an entry travels as.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EntryKind {
    /// `[[m]]`: a one-to-one message.
    Message,
    /// `[[gm]]`: a group message.
    GroupMessage,
    /// `[[n]]`: a notification or a group event.
    Notice,
}

impl EntryKind {
    pub fn table(self) -> &'static str {
        match self {
            EntryKind::Message => "m",
            EntryKind::GroupMessage => "gm",
            EntryKind::Notice => "n",
        }
    }

    /// The kind a table name stands for; `None` for a name that is no entry's.
    pub fn parse(table: &str) -> Option<EntryKind> {
        match table {
            "m" => Some(EntryKind::Message),
            "gm" => Some(EntryKind::GroupMessage),
            "n" => Some(EntryKind::Notice),
            _ => None,
        }
    }

    pub fn is_message(self) -> bool {
        self != EntryKind::Notice
    }
}

/// A message as stored and shown (simple_im's `[[m]]` / `[[gm]]` fields, in that order).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Message {
    /// The sender's own id for it: a retry with the same id is the same message.
    pub client_id: String,
    pub t: MessageKind,
    /// The text, or an attachment's stable server path (`file/audio/<name>.amr`).
    pub c: String,
    pub from: UserId,
    /// Seed 003 names the sender by email, when they have one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub from_email: Option<String>,
    /// `to = <user>` or `g_id = <group>`.
    #[serde(flatten)]
    pub target: Target,
    pub ts: u64,
    /// The microseconds past `ts` (seed 003's times are to the microsecond); 0 on messages
    /// stored before they were kept, and then left out.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub us: u32,
    pub d: String,
    /// A tombstone: deleted by its sender, its content gone, its place kept.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub deleted: bool,
    /// What it gathered since (an edit, reactions, a reply's quote, an attachment's facts).
    #[serde(flatten)]
    pub details: Details,
}

fn is_zero(us: &u32) -> bool {
    *us == 0
}

impl Message {
    /// Seed 003's `time`: to the microsecond.
    pub fn seed_time(&self) -> String {
        super::format::seed_time(self.ts, self.us)
    }

    /// The attached object a message names by its server path (`file/audio/<name>.amr`).
    pub fn attachment(&self) -> Option<&str> {
        self.c.strip_prefix("file/").filter(|_| self.t != MessageKind::Text)
    }

    /// The message as a tombstone: no content, attachment, quote or reactions, marked deleted;
    /// who hid it for themselves still has it hidden.
    pub fn tombstone(&mut self) {
        self.c.clear();
        self.deleted = true;
        let Details { rev, reply_to, hidden_for, replies, .. } = std::mem::take(&mut self.details);
        self.details = Details { rev, reply_to, hidden_for, replies, ..Details::default() };
    }

    /// The message as `reader` sees it: reactions counted with `mine`; its content gone when
    /// they deleted it for themselves (`hidden`).
    pub fn seen_by(&mut self, reader: UserId) {
        self.details.seen_by(reader);
        if self.details.hidden {
            self.c.clear();
            let rev = self.details.rev;
            self.details = Details { rev, hidden: true, ..Details::default() };
        }
    }
}

/// What an entry says: a message or a notice. On the wire it is the fields of either.
/// A message is the larger variant by far (its details); entries travel in pages of at most 100,
/// so boxing it would buy nothing but an allocation per message read.
#[allow(clippy::large_enum_variant)]
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(untagged)]
pub enum Body {
    Message(Message),
    Notice(Notice),
}

impl Body {
    pub fn kind(&self) -> EntryKind {
        match self {
            Body::Message(Message { target: Target::User(_), .. }) => EntryKind::Message,
            Body::Message(Message { target: Target::Group(_), .. }) => EntryKind::GroupMessage,
            Body::Notice(_) => EntryKind::Notice,
        }
    }

    /// Who sent or did it.
    pub fn from(&self) -> UserId {
        match self {
            Body::Message(m) => m.from,
            Body::Notice(n) => n.from,
        }
    }

    /// The device it was sent or done from.
    pub fn device(&self) -> &str {
        match self {
            Body::Message(m) => &m.d,
            Body::Notice(n) => &n.d,
        }
    }

    pub fn ts(&self) -> u64 {
        match self {
            Body::Message(m) => m.ts,
            Body::Notice(n) => n.ts,
        }
    }

    /// simple_im's `t`: the message kind (`text`, `audio`, ...) or the notice's (`add_contact`, ...).
    pub fn t(&self) -> &'static str {
        match self {
            Body::Message(m) => m.t.as_str(),
            Body::Notice(n) => n.what.t(),
        }
    }
}

/// An entry as stored, with its place in its stream.
#[derive(Clone, Debug, PartialEq)]
pub struct Entry {
    pub conversation: ConversationId,
    pub seq: u64,
    /// Set on the copy stored in the actor's own feed: the device that acted skips it.
    pub echo_of: Option<String>,
    pub body: Body,
}

/// An entry as clients see it: `id` and `seq` (its place, so a client sees a gap and syncs
/// without parsing ids), then its fields.
#[derive(Serialize)]
pub struct View<'a> {
    pub id: String,
    pub seq: u64,
    #[serde(flatten)]
    pub body: &'a Body,
}

impl Entry {
    /// The id clients acknowledge: `n:<seq>` in their own feed, `<conversation>:<seq>` elsewhere.
    pub fn id(&self) -> EntryId {
        EntryId::of(self.conversation, self.seq)
    }

    pub fn kind(&self) -> EntryKind {
        self.body.kind()
    }

    pub fn view(&self) -> View<'_> {
        View { id: self.id().to_string(), seq: self.seq, body: &self.body }
    }

    pub fn sender(&self) -> UserId {
        self.body.from()
    }

    /// A change of the contact list (seed 003's `NOTIFY_UPDATE_CONTACT`).
    pub fn is_contact_change(&self) -> bool {
        matches!(&self.body, Body::Notice(n) if n.what.is_contact_change())
    }

    /// Whether this entry is worth a push to `user`'s phones: a message someone else sent
    /// (not deleted), a friend or contact request or its acceptance, being added to a group.
    /// The rest (a block, a leave, a key rotation...) reaches sockets and sync only.
    pub fn alerts(&self, user: UserId) -> bool {
        use super::notice::Change;
        match &self.body {
            Body::Message(m) => m.from != user && !m.deleted,
            Body::Notice(n) if n.from == user => false,
            Body::Notice(n) => match &n.what {
                Change::AddContact { .. } | Change::AcceptContact | Change::CreateGroup { .. } => true,
                Change::CreateGroupMember { member_id, .. } => *member_id == user,
                _ => false,
            },
        }
    }

    /// The entry as `reader` sees it (`Message::seen_by`).
    pub fn seen_by(mut self, reader: UserId) -> Entry {
        if let Body::Message(m) = &mut self.body {
            m.seen_by(reader);
        }
        self
    }

    pub fn message(&self) -> Option<&Message> {
        match &self.body {
            Body::Message(m) => Some(m),
            Body::Notice(_) => None,
        }
    }

    /// Whether `user`'s device (`key`, see `ids::device_key`, and `name`) sent or did this
    /// itself, so sync never offers it to that device: an echo names the acting device's key
    /// (a message's, since sends stopped confirming it; a notice's name, when stored before
    /// keys). A body names only the device's name, which tells nothing for an unnamed one
    /// (`unknown`: two tabs of one user are two devices).
    pub fn is_own(&self, user: UserId, key: &str, name: &str) -> bool {
        let echo = self.echo_of.as_deref();
        match &self.body {
            // A message's echo is its sender's device key: only the sender's.
            Body::Message(m) if echo.is_some() => m.from == user && echo == Some(key),
            _ => {
                echo.is_some_and(|echo| echo == key || echo == name)
                    || (self.sender() == user && self.body.device() == name && name != "unknown")
            }
        }
    }

    /// A message `device` of `user` sent, which a confirmation of that device's takes in (a
    /// send confirms nothing): device [`ANY_DEVICE`], the user's own cursor, takes in
    /// whatever any device of the user sent.
    pub fn sent_from(&self, user: UserId, device: &str) -> bool {
        matches!(&self.body, Body::Message(m) if m.from == user)
            && (device == ANY_DEVICE || self.echo_of.as_deref() == Some(device))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::ids::GroupId;
    use crate::domain::notice::Change;
    use serde_json::json;

    fn message(target: Target) -> Message {
        Message {
            client_id: "c1".into(),
            t: MessageKind::Text,
            c: "hi".into(),
            from: UserId(1),
            from_email: None,
            target,
            ts: 1448185739,
            us: 0,
            d: "android".into(),
            deleted: false,
            details: Details::default(),
        }
    }

    #[test]
    fn a_message_shows_simple_im_fields_after_its_place() {
        let entry = Entry {
            conversation: ConversationId::direct(UserId(1), UserId(2)),
            seq: 3,
            echo_of: None,
            body: Body::Message(message(Target::User(UserId(2)))),
        };
        let view = serde_json::to_value(entry.view()).unwrap();
        let expected = json!({"id": "dm#1#2:3", "seq": 3, "client_id": "c1", "t": "text", "c": "hi", "from": 1,
            "to": 2, "ts": 1448185739, "d": "android"});
        assert_eq!(view, expected);
        assert_eq!(entry.kind(), EntryKind::Message);
        let group = Body::Message(message(Target::Group(GroupId(9))));
        assert_eq!(serde_json::to_value(&group).unwrap()["g_id"], json!(9));
        assert_eq!(group.kind(), EntryKind::GroupMessage);
    }

    #[test]
    fn a_tombstone_keeps_its_place_and_says_deleted() {
        let mut m = message(Target::User(UserId(2)));
        m.t = MessageKind::Audio;
        m.c = "file/audio/x.amr".into();
        assert_eq!(m.attachment(), Some("audio/x.amr"));
        m.tombstone();
        let shown = serde_json::to_value(&m).unwrap();
        assert_eq!((shown["c"].as_str(), shown["deleted"].as_bool()), (Some(""), Some(true)));
        assert_eq!(serde_json::from_value::<Message>(shown).unwrap(), m);
    }

    #[test]
    fn own_entries_are_the_acting_devices() {
        let notice = Notice { what: Change::Follow, from: UserId(1), to: Some(2), ts: 0, d: "ipad".into() };
        let entry = Entry {
            conversation: ConversationId::Feed(UserId(1)),
            seq: 1,
            echo_of: Some("web~t1".into()),
            body: Body::Notice(notice),
        };
        assert!(entry.is_own(UserId(1), "web~t1", "web") && entry.is_own(UserId(1), "ipad~t2", "ipad"));
        assert!(!entry.is_own(UserId(1), "web~t3", "web"), "another login of a device of that name");
        assert!(!entry.is_own(UserId(2), "ipad~t2", "ipad"));
        let unnamed = Entry { echo_of: None, ..entry.clone() };
        let mut by_an_unnamed_tab = unnamed.clone();
        if let Body::Notice(n) = &mut by_an_unnamed_tab.body {
            n.d = "unknown".into();
        }
        assert!(!by_an_unnamed_tab.is_own(UserId(1), "unknown~t4", "unknown"), "tabs are devices of their own");
        // A message's echo names the sending device's key: its own, not another tab's, another
        // device's of the same name, nor the recipient's.
        let sent = Entry {
            conversation: ConversationId::direct(UserId(1), UserId(2)),
            seq: 2,
            echo_of: Some("unknown~t4".into()),
            body: Body::Message(message(Target::User(UserId(2)))),
        };
        assert!(sent.is_own(UserId(1), "unknown~t4", "unknown"));
        assert!(!sent.is_own(UserId(1), "unknown~t5", "unknown") && !sent.is_own(UserId(1), "android", "android"));
        assert!(!sent.is_own(UserId(2), "unknown~t4", "unknown"));
        assert!(sent.sent_from(UserId(1), "unknown~t4") && sent.sent_from(UserId(1), ANY_DEVICE));
        assert!(!sent.sent_from(UserId(1), "unknown~t5") && !sent.sent_from(UserId(2), ANY_DEVICE));
        assert!(!entry.sent_from(UserId(1), ANY_DEVICE), "a notice is no message");
        assert_eq!(EntryKind::parse("zz"), None);
    }
}
