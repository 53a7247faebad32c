//! Device cursors: `cursor#<user>#<device>#<conversation>` holds what that device has confirmed
//! (`seq` the contiguous prefix, `above` the ranges past it, `v` the version its writes
//! condition on), so sync offers each device exactly what it has not confirmed.

use super::entries::{read_page, read_range};
use super::keys::{cursor_key, stream_key};
use super::markers::{head, marker, markers};
use crate::domain::confirmed::Confirmed;
use crate::domain::entry::Entry;
use crate::domain::ids::{ConversationId, UserId};
use crate::store::{aws, batch_write, lost_condition, malformed, n, s, until_won, Item, Result};
use aws_sdk_dynamodb::types::{PutRequest, WriteRequest};
use im_adapters::Clients;

/// What `device` of `user` has confirmed in a stream, and the version a write of it is
/// conditioned on.
async fn load_confirmed(clients: &Clients, cursor: &str) -> Result<(Confirmed, Option<u64>)> {
    let Some(marker) = marker(clients, cursor).await? else { return Ok((Confirmed::default(), None)) };
    Ok((Confirmed::decode(marker.seq.unwrap_or(0), marker.above.as_deref().unwrap_or("")), marker.v))
}

/// Confirms, for one device, the entries `seqs` of a stream whose latest entry is `head`, and
/// everything up to `up_to` when that explicit form is asked. One read and one conditional
/// write, whatever the gap; a concurrent confirmation of the same stream makes the loser read
/// again, so none is lost. `expires_at` (a device's cursor dies with its sessions) is set on
/// the write; `None` keeps the cursor for good. The user's own messages in the few gaps just
/// below are taken in too ([`own_below`]): nothing confirms them when they are sent. Answers
/// the highest entry confirmed when this raised it (what a delivered receipt says).
#[allow(clippy::too_many_arguments)]
pub async fn confirm(
    clients: &Clients,
    user: UserId,
    device: &str,
    conversation: ConversationId,
    head: u64,
    seqs: &[u64],
    up_to: Option<u64>,
    expires_at: Option<u64>,
) -> Result<Option<u64>> {
    let table = &clients.config.tables.conversations;
    let cursor = cursor_key(user, device, conversation);
    until_won(|| async {
        let (mut state, version) = load_confirmed(clients, &cursor).await?;
        let highest = state.highest();
        let mut changed = up_to.is_some_and(|seq| state.confirm_up_to(seq, head));
        for &seq in seqs {
            changed |= state.confirm(seq, head);
        }
        if !changed {
            return Ok(Some(None));
        }
        let top = seqs.iter().copied().chain(up_to).max().unwrap_or(0).min(head);
        for seq in own_below(clients, (user, device), conversation, &state, top).await? {
            state.confirm(seq, head);
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
        if let Some(expires_at) = expires_at {
            put = put.item("expires_at", n(expires_at));
        }
        put = match version {
            Some(v) => put.condition_expression("#v = :v").expression_attribute_values(":v", n(v)),
            None => put.condition_expression("attribute_not_exists(#v)"),
        };
        match put.send().await {
            Ok(_) => Ok(Some((state.highest() > highest).then(|| state.highest()))),
            Err(err) if lost_condition(&err) => Ok(None),
            Err(err) => Err(aws(err)),
        }
    })
    .await
}

/// The messages `device` of `user` sent (any device's for the user's own cursor,
/// `Entry::sent_from`) and the sealed holes in the gaps just below `top`
/// (`Confirmed::recent_gaps`): a Query of each, usually one of one entry (the message the device
/// sent between two it received), so neither keeps the confirmed prefix from moving.
async fn own_below(
    clients: &Clients,
    (user, device): (UserId, &str),
    conversation: ConversationId,
    state: &Confirmed,
    top: u64,
) -> Result<Vec<u64>> {
    let mut own = vec![];
    for (from, to) in state.recent_gaps(top) {
        let page = read_page(clients, conversation, from - 1, to, (to - from + 1) as usize).await?;
        own.extend(page.entries.iter().filter(|e| e.sent_from(user, device)).map(|e| e.seq));
        own.extend(page.holes);
    }
    Ok(own)
}

/// Starts `device`'s cursors where `positions` stand (a new device takes on what its user's
/// devices confirmed): 25 items per BatchWriteItem. Unconditional: the device is new, nothing
/// of its own is there to lose.
pub async fn start(
    clients: &Clients,
    user: UserId,
    device: &str,
    positions: &[Position],
    expires_at: u64,
) -> Result<()> {
    let requests = positions
        .iter()
        .map(|position| {
            let item = Item::from([
                ("pk".to_string(), s(cursor_key(user, device, position.conversation))),
                ("sk".to_string(), n(0)),
                ("seq".to_string(), n(position.confirmed.prefix())),
                ("above".to_string(), s(position.confirmed.encode_above())),
                ("v".to_string(), n(1)),
                ("expires_at".to_string(), n(expires_at)),
            ]);
            let put = PutRequest::builder().set_item(Some(item)).build().map_err(malformed)?;
            Ok(WriteRequest::builder().put_request(put).build())
        })
        .collect::<Result<Vec<_>>>()?;
    batch_write(clients, &clients.config.tables.conversations, requests).await
}

/// The entries of a stream that `device` has not confirmed, oldest first, at most `limit`,
/// keeping those `keep` accepts. `after` additionally skips everything up to it (for this read
/// only). Reads only the gaps, a page at a time; also tells whether more may follow.
pub async fn unconfirmed(
    clients: &Clients,
    user: UserId,
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
    user: UserId,
    device: &str,
    conversations: &[ConversationId],
) -> Result<Vec<Position>> {
    let keys = |c: &ConversationId| [stream_key(*c), cursor_key(user, device, *c)];
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
