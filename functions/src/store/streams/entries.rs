//! A stream's head and entries: appending at the next sequence (allocated by an atomic update
//! of the head, then the entry written there), reading a range, rewriting a tombstone, and how
//! a body is stored.

use super::holes;
use super::keys::stream_key;
use super::markers::{marker, number};
use crate::domain::entry::{Body, Entry, EntryKind};
use crate::domain::ids::ConversationId;
use crate::domain::now_secs;
use crate::store::{aws, from_item, malformed, n, s, until_won, Item, Result};
use aws_sdk_dynamodb::operation::update_item::UpdateItemError;
use aws_sdk_dynamodb::types::{
    AttributeValue, Put, ReturnValue, ReturnValuesOnConditionCheckFailure, TransactWriteItem, Update,
};
use im_adapters::Clients;
use serde::de::DeserializeOwned;
use serde::Deserialize;

/// What to append: the entry less its place, which the stream gives it.
pub struct NewEntry<'a> {
    pub echo_of: Option<&'a str>,
    pub body: &'a Body,
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

/// Where a write put an entry.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Placed {
    /// Written by this call, at this number (a group's send takes a new one if its own was
    /// sealed meanwhile).
    Written(u64),
    /// The same send was stored before, at this number.
    Earlier(u64),
    /// The number was sealed as a hole (`holes`): a one-to-one send must take a new one.
    Sealed(u64),
}

/// Appends a notice and returns its sequence number. The number comes from one atomic update
/// of the head ([`allocate`]), which DynamoDB applies one after another: concurrent appends to
/// one stream never conflict (a transaction conditioned on the head made all but one of them
/// lose, and a busy group refused half its messages). The entry is then written at that number
/// ([`write`]). A crash between the two leaves a number no entry takes: readers skip it (module
/// doc). Messages take their number and write apart, the connection look-up between
/// (`service::messages`).
pub async fn append(clients: &Clients, conversation: ConversationId, entry: NewEntry<'_>) -> Result<u64> {
    loop {
        let seq = allocate(clients, conversation).await?.seq;
        // Only a writer slower than every function's timeout finds its number sealed.
        if let Placed::Written(seq) = write(clients, conversation, seq, &entry, None).await? {
            return Ok(seq);
        }
    }
}

/// Writes `entry` at `seq`, a number taken for it: alone (a one-to-one send, whose other
/// attempt may have written the place, or a reader sealed it), or with its dedup key in one
/// transaction (a group's send: when the key was taken, the first attempt's number is answered
/// and `seq`, not needed, is sealed at once; when `seq` was sealed, a new number is taken).
pub async fn write(
    clients: &Clients,
    conversation: ConversationId,
    seq: u64,
    entry: &NewEntry<'_>,
    dedup: Option<&str>,
) -> Result<Placed> {
    let table = &clients.config.tables.conversations;
    let Some(key) = dedup else {
        return put_alone(clients, conversation, entry_put(table, conversation, seq, entry)?).await;
    };
    let mut seq = seq;
    loop {
        match put_with_dedup(clients, entry_put(table, conversation, seq, entry)?, key, seq).await? {
            Placed::Earlier(first) => {
                holes::seal(clients, conversation, &[seq]).await?;
                return Ok(Placed::Earlier(first));
            }
            Placed::Sealed(_) => seq = allocate(clients, conversation).await?.seq,
            written => return Ok(written),
        }
    }
}

/// Whether the item at `seq` is a sealed hole.
async fn is_hole(clients: &Clients, conversation: ConversationId, seq: u64) -> Result<bool> {
    let get = clients.dynamodb.get_item().table_name(&clients.config.tables.conversations);
    let out = get.key("pk", s(stream_key(conversation))).key("sk", n(seq)).consistent_read(true).send().await;
    let kind = out.map_err(aws)?.item.and_then(|item| item.get("kind").and_then(|k| k.as_s().ok()).cloned());
    Ok(kind.as_deref() == Some(holes::HOLE_KIND))
}

/// A number taken on a stream's head, with when the head last had its activity written into
/// its members' inboxes (ms; 0: never), which the same answer reads for free.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Allocated {
    pub seq: u64,
    pub inbox_at: u64,
}

/// The next sequence number of a stream: `ADD 1` on its head, never conditioned, so it never
/// loses a race. It only waits out a relationship change's transaction on a feed's head.
pub async fn allocate(clients: &Clients, conversation: ConversationId) -> Result<Allocated> {
    let allocated = until_won(|| async {
        let update = clients
            .dynamodb
            .update_item()
            .table_name(&clients.config.tables.conversations)
            .key("pk", s(stream_key(conversation)))
            .key("sk", n(0))
            .update_expression("ADD #seq :one")
            .expression_attribute_names("#seq", "seq")
            .expression_attribute_values(":one", n(1))
            .return_values(ReturnValue::AllNew)
            .send()
            .await;
        match update {
            Ok(out) => Ok(Some(out.attributes.unwrap_or_default())),
            Err(err) if matches!(err.as_service_error(), Some(UpdateItemError::TransactionConflictException(_))) => {
                Ok(None)
            }
            Err(err) => Err(aws(err)),
        }
    })
    .await?;
    let seq = number(&allocated, "seq").ok_or_else(|| malformed("a head without its sequence"))?;
    Ok(Allocated { seq, inbox_at: number(&allocated, super::keys::INBOX_AT).unwrap_or(0) })
}

/// The put of `entry` at `seq`, conditioned on the place being free.
fn entry_put(table: &str, conversation: ConversationId, seq: u64, entry: &NewEntry) -> Result<Put> {
    let mut put = Put::builder()
        .table_name(table)
        .item("pk", s(stream_key(conversation)))
        .item("sk", n(seq))
        .item("kind", s(entry.body.kind().table()))
        .item("body", stored_body(entry.body)?)
        .item("ts", n(now_secs()))
        .condition_expression("attribute_not_exists(sk)");
    if let Some(device) = entry.echo_of {
        put = put.item("echo_of", s(device));
    }
    put.build().map_err(malformed)
}

/// An entry without a dedup key: one conditional PutItem. When its place was taken (a
/// one-to-one send's other attempt wrote it, see `direct`, or a reader sealed it), the failed
/// condition returns what is there, which tells the two apart without another read.
async fn put_alone(clients: &Clients, conversation: ConversationId, put: Put) -> Result<Placed> {
    use aws_sdk_dynamodb::operation::put_item::PutItemError;
    let seq = number(&put.item, "sk").ok_or_else(|| malformed("an entry without its number"))?;
    let (table, item, condition) = (put.table_name, put.item, put.condition_expression);
    let request = clients.dynamodb.put_item().table_name(table).set_item(Some(item));
    let request = request.return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld);
    let err = match request.set_condition_expression(condition).send().await {
        Ok(_) => return Ok(Placed::Written(seq)),
        Err(err) => err,
    };
    let Some(PutItemError::ConditionalCheckFailedException(failed)) = err.as_service_error() else {
        return Err(aws(err));
    };
    let kind = failed.item().and_then(|item| item.get("kind")).and_then(|kind| kind.as_s().ok());
    Ok(match kind.map(String::as_str) {
        Some(holes::HOLE_KIND) => Placed::Sealed(seq),
        Some(_) => Placed::Earlier(seq),
        // An answer without the item (an endpoint that ignores the parameter): read the place.
        None => match is_hole(clients, conversation, seq).await? {
            true => Placed::Sealed(seq),
            false => Placed::Earlier(seq),
        },
    })
}

/// An entry and its dedup key in one transaction. When the key is taken, a send with the same
/// client id was stored first: its sequence is answered as `Earlier`. When only the place is
/// taken, a reader sealed it: `Sealed`. Only two attempts of one send touch these items, so a
/// conflict is retried.
async fn put_with_dedup(clients: &Clients, put: Put, key: &str, seq: u64) -> Result<Placed> {
    let claim = Put::builder()
        .table_name(&put.table_name)
        .item("pk", s(key))
        .item("sk", n(0))
        .item("seq", n(seq))
        .condition_expression("attribute_not_exists(pk)")
        .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
        .build()
        .map_err(malformed)?;
    let writes = vec![TransactWriteItem::builder().put(put).build(), TransactWriteItem::builder().put(claim).build()];
    until_won(|| async {
        use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError as E;
        let written = clients.dynamodb.transact_write_items().set_transact_items(Some(writes.clone())).send().await;
        let err = match written {
            Ok(_) => return Ok(Some(Placed::Written(seq))),
            Err(err) => err,
        };
        let reasons = match err.as_service_error() {
            Some(E::TransactionCanceledException(canceled)) => canceled.cancellation_reasons(),
            Some(E::TransactionInProgressException(_)) => return Ok(None),
            _ => return Err(aws(err)),
        };
        let failed = |i: usize| reasons.get(i).filter(|r| r.code() == Some("ConditionalCheckFailed"));
        let Some(claimed) = failed(1) else {
            return Ok(failed(0).map(|_| Placed::Sealed(seq)));
        };
        let first = claimed.item().and_then(|i| i.get("seq")).and_then(|v| v.as_n().ok()).and_then(|v| v.parse().ok());
        match first {
            Some(first) => Ok(Some(Placed::Earlier(first))),
            None => Ok(marker(clients, key).await?.and_then(|m| m.seq).map(Placed::Earlier)),
        }
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
    Ok(vec![
        TransactWriteItem::builder().update(head_update).build(),
        TransactWriteItem::builder().put(entry_put(table, conversation, next, entry)?).build(),
    ])
}

/// Rewrites an existing message in place (an edit, a tombstone, a reaction), on condition that
/// it is still at revision `seen` (`details.rev`, absent while 0): of two changes made from one
/// read, the second finds the revision moved and reads again. False then.
pub async fn replace(clients: &Clients, entry: &Entry, seen: u64) -> Result<bool> {
    use aws_sdk_dynamodb::operation::put_item::PutItemError;
    let body = stored_body(&entry.body)?;
    let request = clients
        .dynamodb
        .put_item()
        .table_name(&clients.config.tables.conversations)
        .item("pk", s(stream_key(entry.conversation)))
        .item("sk", n(entry.seq))
        .item("kind", s(entry.kind().table()))
        .item("body", body)
        .item("ts", n(now_secs()));
    let request = match &entry.echo_of {
        Some(device) => request.item("echo_of", s(device)),
        None => request,
    };
    let request = match seen {
        0 => request.condition_expression("attribute_exists(sk) AND attribute_not_exists(body.rev)"),
        seen => request.condition_expression("body.rev = :rev").expression_attribute_values(":rev", n(seen)),
    };
    match request.send().await {
        Ok(_) => Ok(true),
        Err(err) if matches!(err.as_service_error(), Some(PutItemError::ConditionalCheckFailedException(_))) => {
            Ok(false)
        }
        Err(err) => Err(aws(err)),
    }
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

pub(super) fn entry(conversation: ConversationId, mut item: Item) -> Result<Entry> {
    let body = item.remove("body").ok_or_else(|| malformed("an entry without a body"))?;
    let stored: StoredEntry = from_item(item)?;
    let kind = stored.kind.as_deref().unwrap_or("n");
    let kind = EntryKind::parse(kind).ok_or_else(|| malformed(format!("unknown entry kind {kind}")))?;
    Ok(Entry { conversation, seq: stored.sk, echo_of: stored.echo_of, body: body_of(kind, body)? })
}

/// Entries with `after < seq <= until`, oldest first, at most `limit` (a Query on the key,
/// never a Scan); also tells whether more follow. Sealed holes are skipped; a number missing
/// for good is sealed on the way (`holes`).
pub async fn read_range(
    clients: &Clients,
    conversation: ConversationId,
    after: u64,
    until: u64,
    limit: usize,
) -> Result<(Vec<Entry>, bool)> {
    let page = read_page(clients, conversation, after, until, limit).await?;
    Ok((page.entries, page.more))
}

/// A page of a stream's items.
pub struct Page {
    pub entries: Vec<Entry>,
    /// The sealed holes among them.
    pub holes: Vec<u64>,
    pub more: bool,
}

/// The items with `after < seq <= until` (at most `limit`, holes included), as [`read_range`]
/// reads them; a missing number that is known for good (`holes::final_gaps`) is sealed. A seal
/// that fails leaves the number to the next reader: the read itself never fails for it.
pub async fn read_page(
    clients: &Clients,
    conversation: ConversationId,
    after: u64,
    until: u64,
    limit: usize,
) -> Result<Page> {
    if until <= after || limit == 0 {
        return Ok(Page { entries: vec![], holes: vec![], more: false });
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
    let (mut entries, mut holes, mut present) = (vec![], vec![], vec![]);
    for item in out.items.unwrap_or_default() {
        let seq = number(&item, "sk").ok_or_else(|| malformed("an entry without its number"))?;
        present.push((seq, number(&item, "ts").unwrap_or(0)));
        match item.get("kind").and_then(|k| k.as_s().ok()).map(String::as_str) {
            Some(holes::HOLE_KIND) => holes.push(seq),
            _ => entries.push(entry(conversation, item)?),
        }
    }
    let gaps = holes::final_gaps(after, &present, now_secs());
    if !gaps.is_empty() {
        if let Err(err) = holes::seal(clients, conversation, &gaps).await {
            tracing::warn!(error = %err, %conversation, "could not seal a stream's holes");
        }
    }
    let last = present.last().map(|(seq, _)| *seq).unwrap_or(until);
    Ok(Page { entries, holes, more: out.last_evaluated_key.is_some() && last < until })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::ids::{GroupId, UserId};
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
