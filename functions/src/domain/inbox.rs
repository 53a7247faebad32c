//! The inbox (issue 27): a user's conversations, newest activity first. Pure parts: the page
//! cursor and how an entry shows as a conversation's last line.

use super::entry::{Body, Entry};
use super::ids::ConversationId;
use super::notification::preview;
use super::refusal::Refusal;
use serde_json::{json, Value};

/// Conversations per page unless the client asks otherwise, and at most.
pub const DEFAULT_PAGE: usize = 20;
pub const MAX_PAGE: usize = 50;

/// How often, at most, a conversation's activity is written into its participants' inboxes
/// (ms): one busier than that moves in the index once a minute, and each page is ordered by its
/// entries' own times (docs/ARCHITECTURE.md, Inbox).
pub const INBOX_REFRESH_MS: u64 = 60_000;

/// Whether a conversation's activity is due in its participants' inboxes, last written there
/// at `inbox_at` (ms; 0: never).
pub fn refresh_due(inbox_at: u64, now: u64) -> bool {
    inbox_at.saturating_add(INBOX_REFRESH_MS) <= now
}

/// Where a page ends: the last conversation's activity time and id. Opaque to clients, and
/// URL-safe (`<ms>_<id with # as ->`), so it goes into `after=` as it is.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Cursor {
    pub at: u64,
    pub conversation: ConversationId,
}

impl Cursor {
    pub fn parse(text: &str) -> Result<Cursor, Refusal> {
        let bad = || Refusal::invalid("after must be a cursor from a previous page");
        let (at, conversation) = text.split_once('_').ok_or_else(bad)?;
        let at = at.parse().map_err(|_| bad())?;
        let conversation: ConversationId = conversation.replace('-', "#").parse().map_err(|_| bad())?;
        match conversation {
            ConversationId::Feed(_) => Err(bad()),
            conversation => Ok(Cursor { at, conversation }),
        }
    }

    pub fn text(&self) -> String {
        format!("{}_{}", self.at, self.conversation.to_string().replace('#', "-"))
    }
}

/// A conversation's last entry as the inbox shows it: its kind and a snippet made as a push's
/// preview is (a deleted message's is empty), who and when.
pub fn last_line(entry: &Entry) -> Value {
    let snippet = match &entry.body {
        Body::Message(m) if m.deleted => String::new(),
        Body::Message(m) => preview(&m.c, m.t, true),
        Body::Notice(_) => String::new(),
    };
    json!({
        "id": entry.id().to_string(),
        "seq": entry.seq,
        "t": entry.body.t(),
        "from": entry.body.from(),
        "ts": entry.body.ts(),
        "snippet": snippet,
        "deleted": entry.message().is_some_and(|m| m.deleted),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::ids::{GroupId, UserId};

    #[test]
    fn a_cursor_reads_back_what_it_wrote_and_refuses_anything_else() {
        for conversation in [ConversationId::direct(UserId(2), UserId(1)), ConversationId::Group(GroupId(7))] {
            let cursor = Cursor { at: 1_733_550_000_123, conversation };
            let text = cursor.text();
            assert!(!text.contains('#'), "URL-safe: {text}");
            assert_eq!(Cursor::parse(&text).unwrap(), cursor);
        }
        for bad in ["", "12", "x_dm-1-2", "12_feed-1", "12_dm-1", "12_group-x", "-1_group-1"] {
            assert!(Cursor::parse(bad).is_err(), "{bad}");
        }
    }
}
