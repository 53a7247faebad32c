//! The inbox index (issue 27): one small item per user and conversation in the relations table,
//! `inbox#<user>`,`<conversation>`, whose `version` is the conversation's last activity (ms), so
//! the table's `by_version` index lists a user's conversations newest first, a page per Query.
//! A user's relation to a conversation sits beside their relations to people; its own
//! partition keeps it out of every contact Query.

use super::ports::InboxStore;
use super::streams;
use super::{aws, batch_write, malformed, n, s, Item, Result};
use crate::domain::entry::Entry;
use crate::domain::ids::{ConversationId, UserId};
use crate::domain::inbox::Cursor;
use aws_sdk_dynamodb::types::{DeleteRequest, PutRequest, WriteRequest};
use im_adapters::Clients;
use std::collections::HashMap;

fn inbox_key(user: UserId) -> String {
    format!("inbox#{user}")
}

fn key(user: UserId, conversation: ConversationId) -> Item {
    HashMap::from([("pk".to_string(), s(inbox_key(user))), ("sk".to_string(), s(conversation.to_string()))])
}

/// Notes activity at `at` (ms) in a conversation in each user's inbox: one BatchWriteItem per 25.
pub async fn touch(clients: &Clients, users: &[UserId], conversation: ConversationId, at: u64) -> Result<()> {
    let mut writes = vec![];
    for user in users {
        let mut item = key(*user, conversation);
        item.insert("version".into(), n(at));
        writes.push(
            WriteRequest::builder()
                .put_request(PutRequest::builder().set_item(Some(item)).build().map_err(malformed)?)
                .build(),
        );
    }
    batch_write(clients, &clients.config.tables.relations, writes).await
}

/// Takes a conversation out of each user's inbox (they left the group, or it is gone).
pub async fn forget(clients: &Clients, users: &[UserId], conversation: ConversationId) -> Result<()> {
    let mut writes = vec![];
    for user in users {
        let delete = DeleteRequest::builder().set_key(Some(key(*user, conversation))).build().map_err(malformed)?;
        writes.push(WriteRequest::builder().delete_request(delete).build());
    }
    batch_write(clients, &clients.config.tables.relations, writes).await
}

/// One page of `user`'s inbox, newest first, after `after`: one Query of `by_version`.
pub async fn page(
    clients: &Clients,
    user: UserId,
    limit: usize,
    after: Option<&Cursor>,
) -> Result<(Vec<Cursor>, Option<Cursor>)> {
    let start = after.map(|cursor| {
        let mut start = key(user, cursor.conversation);
        start.insert("version".into(), n(cursor.at));
        start
    });
    let out = clients
        .dynamodb
        .query()
        .table_name(&clients.config.tables.relations)
        .index_name("by_version")
        .key_condition_expression("pk = :pk")
        .expression_attribute_values(":pk", s(inbox_key(user)))
        .scan_index_forward(false)
        .limit(limit as i32)
        .set_exclusive_start_key(start)
        .send()
        .await
        .map_err(aws)?;
    let mut listed = vec![];
    for item in out.items.unwrap_or_default() {
        let conversation = item.get("sk").and_then(|v| v.as_s().ok()).and_then(|c| c.parse().ok());
        let at = item.get("version").and_then(|v| v.as_n().ok()).and_then(|v| v.parse().ok());
        match (conversation, at) {
            (Some(conversation), Some(at)) => listed.push(Cursor { at, conversation }),
            _ => return Err(malformed("an inbox item without its conversation or time")),
        }
    }
    let more = out.last_evaluated_key.is_some();
    let next = if more { listed.last().cloned() } else { None };
    Ok((listed, next))
}

impl InboxStore for Clients {
    async fn touch_inbox(&self, users: &[UserId], conversation: ConversationId, at: u64) -> Result<()> {
        touch(self, users, conversation, at).await
    }
    async fn forget_in_inbox(&self, users: &[UserId], conversation: ConversationId) -> Result<()> {
        forget(self, users, conversation).await
    }
    async fn inbox_page(
        &self,
        user: UserId,
        limit: usize,
        after: Option<&Cursor>,
    ) -> Result<(Vec<Cursor>, Option<Cursor>)> {
        page(self, user, limit, after).await
    }
    async fn latest(&self, conversation: ConversationId) -> Result<Option<Entry>> {
        streams::latest(self, conversation).await
    }
    async fn claim_inbox_refresh(&self, conversation: ConversationId, now: u64, every: u64) -> Result<bool> {
        streams::claim_inbox_refresh(self, conversation, now, every).await
    }
}
