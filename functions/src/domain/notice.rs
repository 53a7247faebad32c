//! Notifications: what someone must hear about a change, in simple_im's `[[n]]` shape.

use super::ids::Caller;
use serde_json::{json, Map, Value};

/// Every kind of notification (simple_im's `t`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NoticeKind {
    AddContact,
    AcceptContact,
    DeleteContact,
    IgnoreContact,
    WithdrawContact,
    Follow,
    Unfollow,
    Block,
    Unblock,
    CreateGroup,
    CreateGroupMember,
    DeleteGroupMember,
    DeleteGroup,
    DeleteMessage,
}

impl NoticeKind {
    pub fn as_str(self) -> &'static str {
        use NoticeKind::*;
        match self {
            AddContact => "add_contact",
            AcceptContact => "accept_contact",
            DeleteContact => "delete_contact",
            IgnoreContact => "ignore_contact",
            WithdrawContact => "withdraw_contact",
            Follow => "follow",
            Unfollow => "unfollow",
            Block => "block",
            Unblock => "unblock",
            CreateGroup => "create_group",
            CreateGroupMember => "create_group_member",
            DeleteGroupMember => "delete_group_member",
            DeleteGroup => "delete_group",
            DeleteMessage => "delete_message",
        }
    }

    /// Contact changes travel as seed 003's `NOTIFY_UPDATE_CONTACT`.
    pub fn is_contact_change(t: &str) -> bool {
        [NoticeKind::AddContact, NoticeKind::AcceptContact, NoticeKind::DeleteContact].iter().any(|k| k.as_str() == t)
    }
}

/// A notification to store and push: `t`, `from`, `to`, the extra fields, `ts`, `d`.
#[derive(Clone, Debug, PartialEq)]
pub struct Notice {
    pub body: Map<String, Value>,
}

impl Notice {
    pub fn new(kind: NoticeKind, by: &Caller, to: u64, extra: Value, ts: u64) -> Notice {
        let mut body = Map::new();
        body.insert("t".into(), json!(kind.as_str()));
        body.insert("from".into(), json!(by.user_id));
        body.insert("to".into(), json!(to));
        if let Value::Object(extra) = extra {
            body.extend(extra);
        }
        body.insert("ts".into(), json!(ts));
        body.insert("d".into(), json!(by.device.as_str()));
        Notice { body }
    }
}
