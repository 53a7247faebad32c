//! Notifications: what someone must hear about a change, in simple_im's `[[n]]` shape: what
//! changed (`t` and its own fields), who did it (`from`), to whom (`to`), when, from which device.

use super::ids::{Actor, GroupId, UserId};
use serde::{Deserialize, Serialize};

/// What changed: one variant per kind of notification, tagged by simple_im's `t`, each with the
/// fields its kind carries.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "t", rename_all = "snake_case")]
pub enum Change {
    AddContact {
        ask: String,
        friend_request_id: u64,
    },
    AcceptContact,
    DeleteContact,
    IgnoreContact,
    WithdrawContact,
    Follow,
    Unfollow,
    Block,
    Unblock,
    CreateGroup {
        g_id: GroupId,
        g_key: String,
        name: String,
    },
    CreateGroupMember {
        g_id: GroupId,
        member_id: UserId,
    },
    DeleteGroupMember {
        g_id: GroupId,
        gm_id: UserId,
    },
    DeleteGroup {
        g_id: GroupId,
    },
    /// The creator rotated the join key: members get the new one.
    UpdateGroupKey {
        g_id: GroupId,
        g_key: String,
    },
    DeleteMessage {
        msg_id: String,
    },
    /// Its sender edited a message: its new text, and when.
    EditMessage {
        msg_id: String,
        c: String,
        edited_at: u64,
    },
    /// The user deleted a message for themselves: their other devices hide it too.
    HideMessage {
        msg_id: String,
    },
    /// The user (`from`) changed their profile: what everyone but them sees of it now.
    UpdateUser {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        name: Option<String>,
        nick_name: String,
        avatar: String,
    },
}

impl Change {
    /// simple_im's `t`.
    pub fn t(&self) -> &'static str {
        use Change::*;
        match self {
            AddContact { .. } => "add_contact",
            AcceptContact => "accept_contact",
            DeleteContact => "delete_contact",
            IgnoreContact => "ignore_contact",
            WithdrawContact => "withdraw_contact",
            Follow => "follow",
            Unfollow => "unfollow",
            Block => "block",
            Unblock => "unblock",
            CreateGroup { .. } => "create_group",
            CreateGroupMember { .. } => "create_group_member",
            DeleteGroupMember { .. } => "delete_group_member",
            DeleteGroup { .. } => "delete_group",
            UpdateGroupKey { .. } => "update_group_key",
            DeleteMessage { .. } => "delete_message",
            EditMessage { .. } => "edit_message",
            HideMessage { .. } => "hide_message",
            UpdateUser { .. } => "update_user",
        }
    }

    /// Contact changes travel as seed 003's `NOTIFY_UPDATE_CONTACT`.
    pub fn is_contact_change(&self) -> bool {
        matches!(self, Change::AddContact { .. } | Change::AcceptContact | Change::DeleteContact)
    }
}

/// A notification to store and push.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Notice {
    #[serde(flatten)]
    pub what: Change,
    pub from: UserId,
    /// Whom it is about: a user or a group; a deleted message's notice names nobody.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub to: Option<u64>,
    pub ts: u64,
    pub d: String,
}

impl Notice {
    pub fn new(what: Change, by: &Actor, to: Option<u64>, ts: u64) -> Notice {
        Notice { what, from: by.user_id, to, ts, d: by.device.as_str().to_string() }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_notice_is_simple_im_n_table() {
        let notice = Notice {
            what: Change::AddContact { ask: "hello".into(), friend_request_id: 7 },
            from: UserId(1),
            to: Some(2),
            ts: 1448185739,
            d: "android".into(),
        };
        let shown = serde_json::to_value(&notice).unwrap();
        let expected = json!({"t": "add_contact", "ask": "hello", "friend_request_id": 7, "from": 1, "to": 2,
            "ts": 1448185739, "d": "android"});
        assert_eq!(shown, expected);
        assert_eq!(serde_json::from_value::<Notice>(shown).unwrap(), notice);
        assert_eq!(notice.what.t(), "add_contact");
        assert!(notice.what.is_contact_change() && !Change::Follow.is_contact_change());
    }

    #[test]
    fn kinds_without_fields_and_without_an_addressee() {
        let deleted = Notice {
            what: Change::DeleteMessage { msg_id: "dm#1#2:3".into() },
            from: UserId(1),
            to: None,
            ts: 0,
            d: "web".into(),
        };
        let shown = serde_json::to_value(&deleted).unwrap();
        assert!(shown.get("to").is_none(), "{shown}");
        let plain: Notice =
            serde_json::from_value(json!({"t": "unblock", "from": 3, "to": 4, "ts": 5, "d": "ipad"})).unwrap();
        assert_eq!(plain.what, Change::Unblock);
        let unknown = serde_json::from_value::<Notice>(json!({"t": "hello", "from": 3, "ts": 5, "d": "ipad"}));
        assert!(unknown.is_err(), "an unknown kind is refused, not defaulted");
    }
}
