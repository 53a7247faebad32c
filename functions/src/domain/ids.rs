//! Who and where: callers and devices, conversations and the ids of their entries. Ids are
//! parsed once at the edge and printed one way (`dm#1#2`, `group#9`, `dm#1#2:57`, `n:3`).

use super::refusal::Refusal;
use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// A numeric id of its own kind: printed and parsed as its number, stored and sent as one, and
/// never taken for an id of another kind.
macro_rules! numeric_id {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(pub u64);

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                self.0.fmt(f)
            }
        }

        impl FromStr for $name {
            type Err = std::num::ParseIntError;
            fn from_str(text: &str) -> Result<Self, Self::Err> {
                text.parse().map($name)
            }
        }
    };
}

numeric_id!(
    /// A user (`user#<id>`), as every seed numbers them.
    UserId
);
numeric_id!(
    /// A group (`group#<id>`).
    GroupId
);

/// A device name as simple_im's `d`: short lowercase words (android, iphone, ipad, web).
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct DeviceName(String);

impl DeviceName {
    /// Lowercased; 1 to 16 letters, digits, `-` or `_`. Absent means `unknown`.
    pub fn parse(raw: Option<&str>) -> Result<DeviceName, Refusal> {
        let device = raw.unwrap_or("unknown").to_lowercase();
        if (1..=16).contains(&device.len())
            && device.bytes().all(|c| c.is_ascii_alphanumeric() || c == b'_' || c == b'-')
        {
            Ok(DeviceName(device))
        } else {
            Err(Refusal::invalid("device must be 1 to 16 letters, digits, - or _"))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Whether the client named its device: an unnamed one (`unknown`) is a device of its own
    /// for each login, and two of them never stand for one phone.
    pub fn is_named(&self) -> bool {
        self.0 != "unknown"
    }
}

impl fmt::Display for DeviceName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Who is calling, as resolved from a valid token.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Caller {
    pub user_id: UserId,
    /// The device the session was opened on: its name, for display and echo rules.
    pub device: DeviceName,
    /// What tells this login's device from another of the same name (see [`device_key`]).
    pub tag: String,
    /// The session's id (its token's hash): what a logout ends, with the sockets it opened.
    pub session: String,
}

/// The cursor that holds what any of a user's devices confirmed: where a device seen for the
/// first time starts. Device names are letters, digits, `-` and `_`: no device is called this.
pub const ANY_DEVICE: &str = "*";

/// The identity of a device for what it has confirmed: its name plus its login's tag, so two
/// phones that both call themselves `android` never share what they confirmed. Sessions from
/// before tags existed have none and are known by their name alone.
pub fn device_key(device: &DeviceName, tag: &str) -> String {
    if tag.is_empty() {
        device.to_string()
    } else {
        format!("{device}~{tag}")
    }
}

impl Caller {
    pub fn device_key(&self) -> String {
        device_key(&self.device, &self.tag)
    }
}

/// Who acted: their other devices get the echo, the acting device does not.
#[derive(Clone, Debug)]
pub struct Actor {
    pub user_id: UserId,
    pub device: DeviceName,
    pub tag: String,
    /// Set when the action came over a WebSocket: that exact connection gets no echo.
    pub connection_id: Option<String>,
}

impl From<&Caller> for Actor {
    fn from(caller: &Caller) -> Actor {
        Actor { user_id: caller.user_id, device: caller.device.clone(), tag: caller.tag.clone(), connection_id: None }
    }
}

/// How a frame names a user: by id (a number), or by email or phone (a string). Never both ways
/// at once: a string of digits is a phone, never an id, so registering phone `10001` cannot
/// capture what is meant for user 10001.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum UserRef {
    Id(UserId),
    Name(String),
}

impl From<&str> for UserRef {
    /// A string names a user by email or phone.
    fn from(name: &str) -> UserRef {
        UserRef::Name(name.to_string())
    }
}

impl UserRef {
    /// As the frame gave it: a number, or a string.
    pub fn to_json(&self) -> serde_json::Value {
        match self {
            UserRef::Id(id) => serde_json::json!(id),
            UserRef::Name(name) => serde_json::json!(name),
        }
    }
}

/// Where a message goes: on the wire, simple_im's `to = <user>` or `g_id = <group>`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum Target {
    #[serde(rename = "to")]
    User(UserId),
    #[serde(rename = "g_id")]
    Group(GroupId),
}

impl Target {
    /// The conversation a request names by `with` (a user) or `g_id` (a group): exactly one.
    pub fn either(with: Option<UserId>, group: Option<GroupId>) -> Result<Target, &'static str> {
        match (with, group) {
            (Some(user), None) => Ok(Target::User(user)),
            (None, Some(group)) => Ok(Target::Group(group)),
            (Some(_), Some(_)) => Err("give with or g_id, not both"),
            (None, None) => Err("with or g_id is required"),
        }
    }
}

/// An ordered stream of entries: a user's own feed, the conversation of two users, a group's.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ConversationId {
    Feed(UserId),
    /// The two users, lower id first: the same whichever of them names it.
    Direct(UserId, UserId),
    Group(GroupId),
}

impl ConversationId {
    pub fn direct(a: UserId, b: UserId) -> ConversationId {
        ConversationId::Direct(a.min(b), a.max(b))
    }

    /// The conversation a message from `from` to `target` belongs to.
    pub fn of(from: UserId, target: Target) -> ConversationId {
        match target {
            Target::User(other) => ConversationId::direct(from, other),
            Target::Group(id) => ConversationId::Group(id),
        }
    }

    /// The conversation as `user` addresses it: the other user, or the group; a feed is nobody's.
    pub fn target_for(&self, user: UserId) -> Option<Target> {
        match *self {
            ConversationId::Direct(a, b) if a == user => Some(Target::User(b)),
            ConversationId::Direct(a, b) if b == user => Some(Target::User(a)),
            ConversationId::Group(group) => Some(Target::Group(group)),
            _ => None,
        }
    }

    /// Whether its id alone names `user` as a participant (a feed or a direct conversation).
    pub fn names(&self, user: UserId) -> bool {
        match *self {
            ConversationId::Feed(owner) => owner == user,
            ConversationId::Direct(a, b) => a == user || b == user,
            ConversationId::Group(_) => false,
        }
    }
}

impl fmt::Display for ConversationId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ConversationId::Feed(user) => write!(f, "feed#{user}"),
            ConversationId::Direct(a, b) => write!(f, "dm#{a}#{b}"),
            ConversationId::Group(id) => write!(f, "group#{id}"),
        }
    }
}

impl FromStr for ConversationId {
    type Err = Refusal;
    fn from_str(text: &str) -> Result<Self, Refusal> {
        let bad = || Refusal::invalid(format!("not a conversation: {text}"));
        let number = |s: &str| s.parse::<u64>().map_err(|_| bad());
        let user = |s: &str| number(s).map(UserId);
        if let Some(pair) = text.strip_prefix("dm#") {
            let (a, b) = pair.split_once('#').ok_or_else(bad)?;
            return Ok(ConversationId::direct(user(a)?, user(b)?));
        }
        if let Some(id) = text.strip_prefix("group#") {
            return Ok(ConversationId::Group(GroupId(number(id)?)));
        }
        if let Some(user) = text.strip_prefix("feed#") {
            return Ok(ConversationId::Feed(UserId(number(user)?)));
        }
        Err(bad())
    }
}

/// The id of one entry: `n:<seq>` in the caller's own feed, `<conversation>:<seq>` elsewhere.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EntryId {
    /// An entry of the caller's own feed (`n:17`, or a bare `17`).
    Feed(u64),
    /// A message or group event (`dm#1#2:57`, `group#9:3`).
    Message(ConversationId, u64),
}

impl EntryId {
    /// The entry's stream, from the point of view of `user` (whose feed `n:` ids name).
    pub fn conversation(&self, user: UserId) -> ConversationId {
        match *self {
            EntryId::Feed(_) => ConversationId::Feed(user),
            EntryId::Message(conversation, _) => conversation,
        }
    }

    pub fn seq(&self) -> u64 {
        match *self {
            EntryId::Feed(seq) | EntryId::Message(_, seq) => seq,
        }
    }

    /// The id of entry `seq` of `conversation`.
    pub fn of(conversation: ConversationId, seq: u64) -> EntryId {
        match conversation {
            ConversationId::Feed(_) => EntryId::Feed(seq),
            other => EntryId::Message(other, seq),
        }
    }

    /// The sequence of a message id that must belong to `conversation` (history's `before`).
    pub fn seq_in(text: &str, conversation: ConversationId) -> Result<u64, Refusal> {
        match EntryId::message(text) {
            Some((c, seq)) if c == conversation => Ok(seq),
            _ => Err(Refusal::invalid("before must be a message id of this conversation")),
        }
    }

    /// A message id only: `dm#a#b:seq` or `group#g:seq`.
    pub fn message(text: &str) -> Option<(ConversationId, u64)> {
        match text.parse() {
            Ok(EntryId::Message(conversation, seq)) => Some((conversation, seq)),
            _ => None,
        }
    }
}

impl fmt::Display for EntryId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            EntryId::Feed(seq) => write!(f, "n:{seq}"),
            EntryId::Message(conversation, seq) => write!(f, "{conversation}:{seq}"),
        }
    }
}

impl FromStr for EntryId {
    type Err = Refusal;
    fn from_str(text: &str) -> Result<Self, Refusal> {
        let unknown = || Refusal::invalid(format!("unknown id {text}"));
        if let Some((conversation, seq)) = text.rsplit_once(':').filter(|(c, _)| !c.starts_with("feed#") && *c != "n") {
            let conversation: ConversationId = conversation.parse().map_err(|_| unknown())?;
            return Ok(EntryId::Message(conversation, seq.parse().map_err(|_| unknown())?));
        }
        text.strip_prefix("n:").unwrap_or(text).parse().map(EntryId::Feed).map_err(|_| unknown())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::ids::{GroupId, UserId};

    #[test]
    fn conversation_ids_print_and_parse_one_way() {
        assert_eq!(ConversationId::direct(UserId(7), UserId(2)).to_string(), "dm#2#7");
        assert_eq!("dm#7#2".parse::<ConversationId>().unwrap(), ConversationId::Direct(UserId(2), UserId(7)));
        assert_eq!("group#9".parse::<ConversationId>().unwrap(), ConversationId::Group(GroupId(9)));
        assert!("dm#1".parse::<ConversationId>().is_err() && "chat#1".parse::<ConversationId>().is_err());
    }

    #[test]
    fn entry_ids_of_messages_and_the_feed() {
        assert_eq!(
            "dm#1#2:57".parse::<EntryId>().unwrap(),
            EntryId::Message(ConversationId::Direct(UserId(1), UserId(2)), 57)
        );
        assert_eq!("n:3".parse::<EntryId>().unwrap(), EntryId::Feed(3));
        assert_eq!("3".parse::<EntryId>().unwrap(), EntryId::Feed(3));
        assert_eq!(EntryId::of(ConversationId::Feed(UserId(4)), 3).to_string(), "n:3");
        assert_eq!(EntryId::of(ConversationId::Group(GroupId(9)), 3).to_string(), "group#9:3");
        assert_eq!("dm#x".parse::<EntryId>().unwrap_err().to_string(), "unknown id dm#x");
        assert!(EntryId::message("n:3").is_none() && EntryId::message("group#9:1").is_some());
    }

    #[test]
    fn device_names_are_short_lowercase_words() {
        assert_eq!(DeviceName::parse(Some("iPad")).unwrap().as_str(), "ipad");
        assert_eq!(DeviceName::parse(None).unwrap().as_str(), "unknown");
        assert!(DeviceName::parse(Some("my phone")).is_err());
    }
}
