//! A stream's head and entries: appending at the next sequence (head and entry in one
//! transaction), reading a range, rewriting a tombstone, and how a body is stored.

use super::keys::{read_key, stream_key};
use super::markers::{head, marker};
use crate::domain::entry::{Body, Entry, EntryKind};
use crate::domain::ids::{ConversationId, UserId};
use crate::domain::now_secs;
use crate::store::{aws, from_item, malformed, n, s, transact, until_won, Item, Result};
use aws_sdk_dynamodb::types::{AttributeValue, Put, TransactWriteItem, Update};
use im_adapters::Clients;
use serde::de::DeserializeOwned;
use serde::Deserialize;

/// What to append: the entry less its place, which the stream gives it.
pub struct NewEntry<'a> {
    pub echo_of: Option<&'a str>,
    pub body: &'a Body,
    /// Whose read marker moves to the entry in the same transaction (a message's sender: what
    /// one sends is read, and a crash cannot leave it counted unread).
    pub reader: Option<UserId>,
}

#[derive(Deserialize)]
struct StoredEntry {
    sk: u64,
    /// Items from before kinds were stored are notices.
    #[serde(default)]
    kind: Option<String>,
    #[serde(default)]
    echo_of: Option<String>,
}

/// Appends an entry and returns its sequence number. With `dedup` (a key naming the sender's
/// own id for it, which the caller has looked up already), a second append with the same key
/// returns the first's sequence and `false`, so a retried send never makes a second entry. The head is read, then head, entry (and dedup
/// key) are written in one transaction conditioned on the head not having moved; a concurrent
/// append retries with the next number.
pub async fn append(
    clients: &Clients,
    conversation: ConversationId,
    entry: NewEntry<'_>,
    dedup: Option<&str>,
) -> Result<(u64, bool)> {
    let table = &clients.config.tables.conversations;
    // The caller looked the dedup key up before appending (`sent_before`); a duplicate racing
    // in between makes the transaction's condition on the key fail, and the next round finds it.
    let first_round = std::sync::atomic::AtomicBool::new(true);
    until_won(|| async {
        let retrying = !first_round.swap(false, std::sync::atomic::Ordering::Relaxed);
        if let Some(key) = dedup.filter(|_| retrying) {
            if let Some(seq) = marker(clients, key).await?.and_then(|m| m.seq) {
                return Ok(Some((seq, false)));
            }
        }
        let seq = head(clients, conversation).await?;
        let next = seq + 1;
        let mut writes = append_writes(table, conversation, seq, &entry)?;
        if let Some(key) = dedup {
            let marker = Put::builder()
                .table_name(table)
                .item("pk", s(key))
                .item("sk", n(0))
                .item("seq", n(next))
                .condition_expression("attribute_not_exists(pk)")
                .build()
                .map_err(malformed)?;
            writes.push(TransactWriteItem::builder().put(marker).build());
        }
        if let Some(user) = entry.reader {
            // Markers never pass the head, so setting it to the new head never lowers it.
            let read = Update::builder()
                .table_name(table)
                .key("pk", s(read_key(conversation, user)))
                .key("sk", n(0))
                .update_expression("SET #seq = :next")
                .expression_attribute_names("#seq", "seq")
                .expression_attribute_values(":next", n(next))
                .build()
                .map_err(malformed)?;
            writes.push(TransactWriteItem::builder().update(read).build());
        }
        Ok(transact(clients, writes).await?.then_some((next, true)))
    })
    .await
}

/// The two writes that append `entry` to a stream whose head was read as `seen`: the head
/// moved to `seen + 1` (conditioned on it still being `seen`) and the entry at that number. For
/// an append that must commit with other writes (a relationship change and its notices).
pub fn append_writes(
    table: &str,
    conversation: ConversationId,
    seen: u64,
    entry: &NewEntry,
) -> Result<Vec<TransactWriteItem>> {
    let stream = stream_key(conversation);
    let next = seen + 1;
    let head_update = Update::builder()
        .table_name(table)
        .key("pk", s(&stream))
        .key("sk", n(0))
        .update_expression("SET #seq = :next")
        .condition_expression("attribute_not_exists(#seq) OR #seq = :seq")
        .expression_attribute_names("#seq", "seq")
        .expression_attribute_values(":next", n(next))
        .expression_attribute_values(":seq", n(seen))
        .build()
        .map_err(malformed)?;
    let mut put = Put::builder()
        .table_name(table)
        .item("pk", s(&stream))
        .item("sk", n(next))
        .item("kind", s(entry.body.kind().table()))
        .item("body", stored_body(entry.body)?)
        .item("ts", n(now_secs()))
        .condition_expression("attribute_not_exists(sk)");
    if let Some(device) = entry.echo_of {
        put = put.item("echo_of", s(device));
    }
    Ok(vec![
        TransactWriteItem::builder().update(head_update).build(),
        TransactWriteItem::builder().put(put.build().map_err(malformed)?).build(),
    ])
}

/// Rewrites an existing entry's fields in place (a deleted message's tombstone).
pub async fn replace(clients: &Clients, entry: &Entry) -> Result<()> {
    let body = stored_body(&entry.body)?;
    clients
        .dynamodb
        .put_item()
        .table_name(&clients.config.tables.conversations)
        .item("pk", s(stream_key(entry.conversation)))
        .item("sk", n(entry.seq))
        .item("kind", s(entry.kind().table()))
        .item("body", body)
        .item("ts", n(now_secs()))
        .condition_expression("attribute_exists(sk)")
        .send()
        .await
        .map_err(aws)?;
    Ok(())
}

/// A body as DynamoDB holds it: a map of its fields.
fn stored_body(body: &Body) -> Result<AttributeValue> {
    serde_dynamo::to_attribute_value(body).map_err(malformed)
}

/// A stored body of `kind`: a map, or the JSON string of items written before bodies were typed.
fn body_of(kind: EntryKind, stored: AttributeValue) -> Result<Body> {
    fn typed<T: DeserializeOwned>(stored: AttributeValue) -> Result<T> {
        match stored {
            AttributeValue::S(json) => serde_json::from_str(&json).map_err(malformed),
            map => serde_dynamo::from_attribute_value(map).map_err(malformed),
        }
    }
    Ok(match kind {
        EntryKind::Notice => Body::Notice(typed(stored)?),
        EntryKind::Message | EntryKind::GroupMessage => Body::Message(typed(stored)?),
    })
}

fn entry(conversation: ConversationId, mut item: Item) -> Result<Entry> {
    let body = item.remove("body").ok_or_else(|| malformed("an entry without a body"))?;
    let stored: StoredEntry = from_item(item)?;
    let kind = stored.kind.as_deref().unwrap_or("n");
    let kind = EntryKind::parse(kind).ok_or_else(|| malformed(format!("unknown entry kind {kind}")))?;
    Ok(Entry { conversation, seq: stored.sk, echo_of: stored.echo_of, body: body_of(kind, body)? })
}

/// Entries with `after < seq <= until`, oldest first, at most `limit` (a Query on the key,
/// never a Scan); also tells whether more follow.
pub async fn read_range(
    clients: &Clients,
    conversation: ConversationId,
    after: u64,
    until: u64,
    limit: usize,
) -> Result<(Vec<Entry>, bool)> {
    if until <= after || limit == 0 {
        return Ok((vec![], false));
    }
    let out = clients
        .dynamodb
        .query()
        .table_name(&clients.config.tables.conversations)
        .key_condition_expression("pk = :pk AND sk BETWEEN :from AND :until")
        .expression_attribute_values(":pk", s(stream_key(conversation)))
        .expression_attribute_values(":from", n(after + 1))
        .expression_attribute_values(":until", n(until))
        .consistent_read(true)
        .limit(limit as i32)
        .send()
        .await
        .map_err(aws)?;
    let entries: Vec<Entry> =
        out.items.unwrap_or_default().into_iter().map(|item| entry(conversation, item)).collect::<Result<_>>()?;
    let last = entries.last().map(|e| e.seq).unwrap_or(until);
    Ok((entries, out.last_evaluated_key.is_some() && last < until))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::ids::GroupId;
    use crate::domain::notice::Change;
    use crate::store::item;

    #[test]
    fn items_written_before_bodies_were_typed_are_read() {
        // As the code before typed bodies wrote them: the body a JSON string.
        let message = r#"{"client_id":"c1","t":"text","c":"hello","from":1,"from_email":"a@b.c","to":2,"ts":1448185739,"d":"android"}"#;
        let old = item(&[("pk", s("dm#1#2")), ("sk", n(3)), ("kind", s("m")), ("body", s(message)), ("ts", n(1))]);
        let entry = entry(ConversationId::direct(UserId(1), UserId(2)), old).unwrap();
        let shown = entry.message().expect("a message");
        assert_eq!(
            (shown.c.as_str(), shown.from, entry.seq, entry.kind()),
            ("hello", UserId(1), 3, EntryKind::Message)
        );
        let tombstone = r#"{"client_id":"c1","t":"audio","c":"","from":1,"g_id":9,"ts":1,"d":"ipad","deleted":true}"#;
        let old = item(&[("sk", n(4)), ("kind", s("gm")), ("body", s(tombstone))]);
        assert!(entry_of(ConversationId::Group(GroupId(9)), old).message().unwrap().deleted);
        // Notices from before kinds were stored have no `kind`, and a delete notice no `to`.
        let notice = r#"{"t":"delete_message","from":1,"msg_id":"dm#1#2:3","ts":5,"d":"web"}"#;
        let old = item(&[("sk", n(1)), ("body", s(notice)), ("echo_of", s("web"))]);
        let entry = entry_of(ConversationId::Feed(UserId(1)), old);
        let Body::Notice(notice) = &entry.body else { panic!("a notice") };
        assert_eq!(
            (&notice.what, notice.to, entry.echo_of.as_deref()),
            (&Change::DeleteMessage { msg_id: "dm#1#2:3".into() }, None, Some("web"))
        );
    }

    fn entry_of(conversation: ConversationId, item: Item) -> Entry {
        entry(conversation, item).unwrap()
    }

    #[test]
    fn bodies_are_stored_as_maps_and_read_back() {
        let notice = crate::domain::notice::Notice {
            what: Change::CreateGroup { g_id: GroupId(9), g_key: "k".into(), name: "大傻".into() },
            from: UserId(1),
            to: Some(9),
            ts: 7,
            d: "android".into(),
        };
        let body = Body::Notice(notice);
        let stored = stored_body(&body).unwrap();
        let AttributeValue::M(fields) = &stored else { panic!("a map: {stored:?}") };
        assert_eq!(fields.get("t"), Some(&s("create_group")));
        assert_eq!(fields.get("g_id"), Some(&n(9)));
        let back = item(&[("sk", n(2)), ("kind", s("n")), ("body", stored)]);
        assert_eq!(entry_of(ConversationId::Group(GroupId(9)), back).body, body);
    }

    #[test]
    fn an_unknown_kind_or_a_missing_body_is_malformed_not_defaulted() {
        let unknown = item(&[("sk", n(2)), ("kind", s("zz")), ("body", s("{}"))]);
        assert!(entry(ConversationId::Feed(UserId(1)), unknown).is_err());
        assert!(entry(ConversationId::Feed(UserId(1)), item(&[("sk", n(2)), ("kind", s("n"))])).is_err());
    }
}
