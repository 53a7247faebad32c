//! Ordered streams in the conversations table: every user's feed, every pair's conversation,
//! every group's. A stream is a head item holding the latest sequence number and one item per
//! entry at its sequence, written together in one transaction so no number is ever skipped or
//! reused; an entry is stored once, whoever and however many will read it.
//!
//! Items (`pk`, `sk`):
//! - `<conversation>`, 0: the head, `seq`; `<conversation>`, n: entry n (`kind`, `body` as a
//!   map of its typed fields (a JSON string in items written before bodies were typed), `echo_of`, `ts`). Conversations are `feed#<user>`, `dm#<a>#<b>`, `group#<id>`.
//! - `dedup#<conversation>#<sender>#<client id>`, 0: the sequence a send got (retries find it);
//! - `audio#audio/<name>.amr`, 0: the conversation an attached audio object belongs to;
//! - `read#<conversation>#<user>`, 0: the user's read marker (unread = head − marker);
//! - `cursor#<user>#<device>#<conversation>`, 0: what that device has confirmed: `seq` the
//!   contiguous prefix, `above` the ranges past it, `v` the version its writes condition on.

use super::{aws, batch_get, from_item, lost_condition, malformed, n, s, transact, until_won, Item, Result};
use crate::domain::confirmed::Confirmed;
use crate::domain::entry::{Body, Entry, EntryKind};
use crate::domain::ids::ConversationId;
use crate::domain::now_secs;
use aws_sdk_dynamodb::types::{AttributeValue, Put, TransactWriteItem, Update};
use im_adapters::Clients;
use serde::de::DeserializeOwned;
use serde::Deserialize;
use std::collections::HashMap;

/// What to append: the entry less its place, which the stream gives it.
pub struct NewEntry<'a> {
    pub echo_of: Option<&'a str>,
    pub body: &'a Body,
    /// Whose read marker moves to the entry in the same transaction (a message's sender: what
    /// one sends is read, and a crash cannot leave it counted unread).
    pub reader: Option<u64>,
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

#[derive(Deserialize)]
struct Marker {
    #[serde(default)]
    seq: Option<u64>,
    #[serde(default)]
    above: Option<String>,
    #[serde(default)]
    v: Option<u64>,
}

/// The item at `(pk, 0)`, read consistently: a head, cursor, read marker or dedup key.
async fn marker(clients: &Clients, pk: &str) -> Result<Option<Marker>> {
    let get = clients.dynamodb.get_item().table_name(&clients.config.tables.conversations);
    let out = get.key("pk", s(pk)).key("sk", n(0)).consistent_read(true).send().await.map_err(aws)?;
    out.item.map(from_item::<Marker>).transpose()
}

/// The latest sequence number of a stream (0 when empty).
pub async fn head(clients: &Clients, conversation: ConversationId) -> Result<u64> {
    Ok(marker(clients, &conversation.to_string()).await?.and_then(|m| m.seq).unwrap_or(0))
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
    let stream = conversation.to_string();
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
        .item("pk", s(entry.conversation.to_string()))
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
        .expression_attribute_values(":pk", s(conversation.to_string()))
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

fn read_key(conversation: ConversationId, user: u64) -> String {
    format!("read#{conversation}#{user}")
}

/// `user`'s read marker in a conversation (0 when nothing was read).
pub async fn read_marker(clients: &Clients, conversation: ConversationId, user: u64) -> Result<u64> {
    Ok(marker(clients, &read_key(conversation, user)).await?.and_then(|m| m.seq).unwrap_or(0))
}

/// Unread entries of `user` in a conversation: head minus read marker, exact under races.
pub async fn unread(clients: &Clients, conversation: ConversationId, user: u64) -> Result<u64> {
    let head = head(clients, conversation).await?;
    Ok(head.saturating_sub(read_marker(clients, conversation, user).await?))
}

/// Raises `user`'s read marker to `seq`, never lowering it.
pub async fn raise_read_marker(clients: &Clients, conversation: ConversationId, user: u64, seq: u64) -> Result<()> {
    let moved = clients
        .dynamodb
        .update_item()
        .table_name(&clients.config.tables.conversations)
        .key("pk", s(read_key(conversation, user)))
        .key("sk", n(0))
        .update_expression("SET #seq = :seq")
        .condition_expression("attribute_not_exists(#seq) OR #seq < :seq")
        .expression_attribute_names("#seq", "seq")
        .expression_attribute_values(":seq", n(seq))
        .send()
        .await;
    match moved {
        Err(err) if !lost_condition(&err) => Err(aws(err)),
        _ => Ok(()),
    }
}

fn audio_key(object: &str) -> String {
    format!("audio#{object}")
}

/// Claims an audio object for the conversation whose message names it: `false` when another
/// conversation holds it. Claiming it again for the same conversation (a retry) is fine.
pub async fn claim_audio(clients: &Clients, object: &str, conversation: ConversationId) -> Result<bool> {
    let put = clients
        .dynamodb
        .put_item()
        .table_name(&clients.config.tables.conversations)
        .item("pk", s(audio_key(object)))
        .item("sk", n(0))
        .item("conversation", s(conversation.to_string()))
        .condition_expression("attribute_not_exists(pk) OR #c = :c")
        .expression_attribute_names("#c", "conversation")
        .expression_attribute_values(":c", s(conversation.to_string()));
    match put.send().await {
        Ok(_) => Ok(true),
        Err(err) if lost_condition(&err) => Ok(false),
        Err(err) => Err(aws(err)),
    }
}

/// Forgets which conversation an audio object belonged to (its message was deleted).
pub async fn release_audio(clients: &Clients, object: &str) -> Result<()> {
    let delete = clients.dynamodb.delete_item().table_name(&clients.config.tables.conversations);
    delete.key("pk", s(audio_key(object))).key("sk", n(0)).send().await.map_err(aws)?;
    Ok(())
}

/// The conversation an audio object belongs to.
pub async fn audio_owner(clients: &Clients, object: &str) -> Result<Option<ConversationId>> {
    #[derive(Deserialize)]
    struct Claim {
        conversation: String,
    }
    let get = clients.dynamodb.get_item().table_name(&clients.config.tables.conversations);
    let out = get.key("pk", s(audio_key(object))).key("sk", n(0)).send().await.map_err(aws)?;
    let claim = out.item.map(from_item::<Claim>).transpose()?;
    claim.map(|c| c.conversation.parse().map_err(malformed)).transpose()
}

/// The sequence a send with this dedup key got, if it was stored already.
pub async fn sent_before(clients: &Clients, dedup: &str) -> Result<Option<u64>> {
    Ok(marker(clients, dedup).await?.and_then(|m| m.seq))
}

/// The key of a send's client id, so a retry finds the first send.
pub fn dedup_key(conversation: ConversationId, sender: u64, client_id: &str) -> String {
    format!("dedup#{conversation}#{sender}#{client_id}")
}

fn cursor_key(user: u64, device: &str, conversation: ConversationId) -> String {
    format!("cursor#{user}#{device}#{conversation}")
}

/// What `device` of `user` has confirmed in a stream, and the version a write of it is
/// conditioned on.
async fn load_confirmed(clients: &Clients, cursor: &str) -> Result<(Confirmed, Option<u64>)> {
    let Some(marker) = marker(clients, cursor).await? else { return Ok((Confirmed::default(), None)) };
    Ok((Confirmed::decode(marker.seq.unwrap_or(0), marker.above.as_deref().unwrap_or("")), marker.v))
}

/// Confirms, for one device, the entries `seqs` of a stream whose latest entry is `head`, and
/// everything up to `up_to` when that explicit form is asked. One read and one conditional
/// write, whatever the gap; a concurrent confirmation of the same stream makes the loser read
/// again, so none is lost.
pub async fn confirm(
    clients: &Clients,
    user: u64,
    device: &str,
    conversation: ConversationId,
    head: u64,
    seqs: &[u64],
    up_to: Option<u64>,
) -> Result<()> {
    let table = &clients.config.tables.conversations;
    let cursor = cursor_key(user, device, conversation);
    until_won(|| async {
        let (mut state, version) = load_confirmed(clients, &cursor).await?;
        let mut changed = up_to.is_some_and(|seq| state.confirm_up_to(seq, head));
        for &seq in seqs {
            changed |= state.confirm(seq, head);
        }
        if !changed {
            return Ok(Some(()));
        }
        let mut put = clients
            .dynamodb
            .put_item()
            .table_name(table)
            .item("pk", s(&cursor))
            .item("sk", n(0))
            .item("seq", n(state.prefix()))
            .item("above", s(state.encode_above()))
            .item("v", n(version.unwrap_or(0) + 1))
            .expression_attribute_names("#v", "v");
        put = match version {
            Some(v) => put.condition_expression("#v = :v").expression_attribute_values(":v", n(v)),
            None => put.condition_expression("attribute_not_exists(#v)"),
        };
        match put.send().await {
            Ok(_) => Ok(Some(())),
            Err(err) if lost_condition(&err) => Ok(None),
            Err(err) => Err(aws(err)),
        }
    })
    .await
}

/// The entries of a stream that `device` has not confirmed, oldest first, at most `limit`,
/// keeping those `keep` accepts. `after` additionally skips everything up to it (for this read
/// only). Reads only the gaps, a page at a time; also tells whether more may follow.
pub async fn unconfirmed(
    clients: &Clients,
    user: u64,
    device: &str,
    conversation: ConversationId,
    after: Option<u64>,
    limit: usize,
    keep: impl Fn(&Entry) -> bool,
) -> Result<(Vec<Entry>, bool)> {
    let head = head(clients, conversation).await?;
    let (mut state, _) = load_confirmed(clients, &cursor_key(user, device, conversation)).await?;
    if let Some(after) = after {
        state.confirm_up_to(after, head);
    }
    unconfirmed_at(clients, &Position { conversation, head, confirmed: state }, limit, keep).await
}

/// Where one device stands in one stream: the stream's head and what the device confirmed.
pub struct Position {
    pub conversation: ConversationId,
    pub head: u64,
    pub confirmed: Confirmed,
}

impl Position {
    /// Whether the device has entries left to confirm here.
    pub fn behind(&self) -> bool {
        !self.confirmed.gaps(self.head).is_empty()
    }
}

/// Where `device` of `user` stands in each of `conversations`, in their order: heads and
/// cursors read together, one BatchGetItem per 50 streams, whatever their number.
pub async fn positions(
    clients: &Clients,
    user: u64,
    device: &str,
    conversations: &[ConversationId],
) -> Result<Vec<Position>> {
    let keys = |c: &ConversationId| [c.to_string(), cursor_key(user, device, *c)];
    let markers = markers(clients, conversations.iter().flat_map(keys).collect()).await?;
    Ok(conversations
        .iter()
        .map(|&conversation| {
            let [head, cursor] = keys(&conversation).map(|k| markers.get(&k));
            let confirmed = cursor.map_or_else(Confirmed::default, |m| {
                Confirmed::decode(m.seq.unwrap_or(0), m.above.as_deref().unwrap_or(""))
            });
            Position { conversation, head: head.and_then(|m| m.seq).unwrap_or(0), confirmed }
        })
        .collect())
}

/// Unread counts of `user` in each of `conversations` (head minus read marker), in their order:
/// one BatchGetItem per 50 conversations.
pub async fn unread_in(clients: &Clients, user: u64, conversations: &[ConversationId]) -> Result<Vec<u64>> {
    let keys = |c: &ConversationId| [c.to_string(), read_key(*c, user)];
    let markers = markers(clients, conversations.iter().flat_map(keys).collect()).await?;
    let seq = |key: &String| markers.get(key).and_then(|m| m.seq).unwrap_or(0);
    Ok(conversations
        .iter()
        .map(|c| {
            let [head, read] = keys(c);
            seq(&head).saturating_sub(seq(&read))
        })
        .collect())
}

/// The items at `(pk, 0)` for many keys (consistent BatchGetItem), by key.
async fn markers(clients: &Clients, pks: Vec<String>) -> Result<HashMap<String, Marker>> {
    #[derive(Deserialize)]
    struct Keyed {
        pk: String,
        #[serde(flatten)]
        marker: Marker,
    }
    let keys = pks.into_iter().map(|pk| Item::from([("pk".to_string(), s(pk)), ("sk".to_string(), n(0))])).collect();
    let items = batch_get(clients, &clients.config.tables.conversations, keys, true).await?;
    items.into_iter().map(|item| from_item::<Keyed>(item).map(|k| (k.pk, k.marker))).collect()
}

/// The entries a device has not confirmed in one stream from where it stands, oldest first,
/// at most `limit` of those `keep` takes; `true` when more remain.
pub async fn unconfirmed_at(
    clients: &Clients,
    position: &Position,
    limit: usize,
    keep: impl Fn(&Entry) -> bool,
) -> Result<(Vec<Entry>, bool)> {
    let conversation = position.conversation;
    let gaps = position.confirmed.gaps(position.head);
    let mut found = vec![];
    for &(from, to) in &gaps {
        let mut last = from - 1;
        loop {
            let (page, more) = read_range(clients, conversation, last, to, limit - found.len()).await?;
            for entry in page {
                last = entry.seq;
                if keep(&entry) {
                    found.push(entry);
                }
            }
            if found.len() == limit {
                return Ok((found, gaps.iter().any(|&(_, to)| to > last)));
            }
            if !more {
                break;
            }
        }
    }
    Ok((found, false))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::notice::Change;

    fn item(fields: &[(&str, AttributeValue)]) -> Item {
        fields.iter().map(|(k, v)| (k.to_string(), v.clone())).collect()
    }

    #[test]
    fn items_written_before_bodies_were_typed_are_read() {
        // As the code before typed bodies wrote them: the body a JSON string.
        let message = r#"{"client_id":"c1","t":"text","c":"hello","from":1,"from_email":"a@b.c","to":2,"ts":1448185739,"d":"android"}"#;
        let old = item(&[("pk", s("dm#1#2")), ("sk", n(3)), ("kind", s("m")), ("body", s(message)), ("ts", n(1))]);
        let entry = entry(ConversationId::direct(1, 2), old).unwrap();
        let shown = entry.message().expect("a message");
        assert_eq!((shown.c.as_str(), shown.from, entry.seq, entry.kind()), ("hello", 1, 3, EntryKind::Message));
        let tombstone = r#"{"client_id":"c1","t":"audio","c":"","from":1,"g_id":9,"ts":1,"d":"ipad","deleted":true}"#;
        let old = item(&[("sk", n(4)), ("kind", s("gm")), ("body", s(tombstone))]);
        assert!(entry_of(ConversationId::Group(9), old).message().unwrap().deleted);
        // Notices from before kinds were stored have no `kind`, and a delete notice no `to`.
        let notice = r#"{"t":"delete_message","from":1,"msg_id":"dm#1#2:3","ts":5,"d":"web"}"#;
        let old = item(&[("sk", n(1)), ("body", s(notice)), ("echo_of", s("web"))]);
        let entry = entry_of(ConversationId::Feed(1), old);
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
            what: Change::CreateGroup { g_id: 9, g_key: "k".into(), name: "大傻".into() },
            from: 1,
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
        assert_eq!(entry_of(ConversationId::Group(9), back).body, body);
    }

    #[test]
    fn an_unknown_kind_or_a_missing_body_is_malformed_not_defaulted() {
        let unknown = item(&[("sk", n(2)), ("kind", s("zz")), ("body", s("{}"))]);
        assert!(entry(ConversationId::Feed(1), unknown).is_err());
        assert!(entry(ConversationId::Feed(1), item(&[("sk", n(2)), ("kind", s("n"))])).is_err());
    }
}
