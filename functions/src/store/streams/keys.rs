//! Every key of the conversations table, built here and nowhere else, so each family's shape
//! is written once (see the module doc of `streams`).

use crate::domain::ids::{ConversationId, UserId};

/// A stream's own partition: its head at 0, its entries at their sequence.
pub(super) fn stream_key(conversation: ConversationId) -> String {
    conversation.to_string()
}

/// A user's read marker in a conversation.
pub(super) fn read_key(conversation: ConversationId, user: UserId) -> String {
    format!("read#{conversation}#{user}")
}

/// The attribute of a one-to-one head that holds `user`'s read marker (`direct`).
pub(super) fn read_attribute(user: UserId) -> String {
    format!("read_{user}")
}

/// Which conversation an attached audio object belongs to.
pub(super) fn audio_key(object: &str) -> String {
    format!("audio#{object}")
}

/// The key of a send's client id, so a retry finds the first send.
pub fn dedup_key(conversation: ConversationId, sender: UserId, client_id: &str) -> String {
    format!("dedup#{conversation}#{sender}#{client_id}")
}

/// What one device has confirmed in one stream.
pub(super) fn cursor_key(user: UserId, device: &str, conversation: ConversationId) -> String {
    format!("cursor#{user}#{device}#{conversation}")
}

/// The head's attribute: when its activity was last written into inboxes (ms).
pub const INBOX_AT: &str = "inbox_at";

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::ids::GroupId;

    #[test]
    fn each_family_has_its_own_prefix_and_names_its_stream() {
        let dm = ConversationId::direct(UserId(7), UserId(2));
        assert_eq!(stream_key(dm), "dm#2#7");
        assert_eq!(read_key(dm, UserId(7)), "read#dm#2#7#7");
        assert_eq!(audio_key("audio/ab.amr"), "audio#audio/ab.amr");
        assert_eq!(dedup_key(ConversationId::Group(GroupId(9)), UserId(3), "c-1"), "dedup#group#9#3#c-1");
        assert_eq!(cursor_key(UserId(3), "ipad~x1", ConversationId::Feed(UserId(3))), "cursor#3#ipad~x1#feed#3");
    }

    #[test]
    fn keys_of_different_families_never_collide_with_a_stream() {
        let streams = [
            ConversationId::Feed(UserId(1)),
            ConversationId::direct(UserId(1), UserId(2)),
            ConversationId::Group(GroupId(1)),
        ];
        for conversation in streams {
            let others = [
                read_key(conversation, UserId(1)),
                dedup_key(conversation, UserId(1), "x"),
                cursor_key(UserId(1), "web", conversation),
            ];
            for key in others {
                assert!(key.parse::<ConversationId>().is_err(), "{key} reads as a stream");
            }
        }
    }
}
