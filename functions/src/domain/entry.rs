//! One stored entry of a conversation or feed: a message, a group event or a notification.
//! Its public fields are simple_im's (`t`, `from`, `to`, `c`, `ts`, `d`, ...); what the server
//! needs besides (which table it travels as, whose echo it is) is typed, not hidden in them.

use super::ids::{ConversationId, EntryId};
use serde_json::{json, Map, Value};

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

    pub fn parse(table: &str) -> EntryKind {
        match table {
            "m" => EntryKind::Message,
            "gm" => EntryKind::GroupMessage,
            _ => EntryKind::Notice,
        }
    }

    pub fn is_message(self) -> bool {
        self != EntryKind::Notice
    }
}

/// An entry as stored, with its place in its stream.
#[derive(Clone, Debug, PartialEq)]
pub struct Entry {
    pub conversation: ConversationId,
    pub seq: u64,
    pub kind: EntryKind,
    /// Set on the copy stored in the actor's own feed: the device that acted skips it.
    pub echo_of: Option<String>,
    /// simple_im's fields.
    pub body: Map<String, Value>,
}

impl Entry {
    /// The id clients acknowledge: `n:<seq>` in their own feed, `<conversation>:<seq>` elsewhere.
    pub fn id(&self) -> EntryId {
        EntryId::of(self.conversation, self.seq)
    }

    /// The entry as clients see it: its fields plus `id` and `seq`, its place in its stream, so
    /// a client sees a gap (and syncs) without parsing ids.
    pub fn view(&self) -> Value {
        let mut fields = Map::new();
        fields.insert("id".into(), json!(self.id().to_string()));
        fields.insert("seq".into(), json!(self.seq));
        fields.extend(self.body.iter().map(|(k, v)| (k.clone(), v.clone())));
        Value::Object(fields)
    }

    pub fn sender(&self) -> Option<u64> {
        self.body.get("from").and_then(Value::as_u64)
    }

    /// The kind named by `t` (`text`, `add_contact`, ...).
    pub fn t(&self) -> Option<&str> {
        self.body.get("t").and_then(Value::as_str)
    }

    /// Whether `user`'s `device` sent or did this itself.
    pub fn is_own(&self, user: u64, device: &str) -> bool {
        self.echo_of.as_deref() == Some(device)
            || (self.sender() == Some(user) && self.body.get("d").and_then(Value::as_str) == Some(device))
    }
}
