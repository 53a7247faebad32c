//! One-to-one sends: the conversation's head item does all the bookkeeping in one atomic
//! update. Beside `seq` it holds each participant's read marker (`read_<user>`) and each
//! sender's last few send keys (`sent_<slot>_<user>` the hash of a client id,
//! `seqof_<slot>_<user>` the sequence it got), so a send is two writes: the head's update
//! (its number, the sender's marker raised to it, its key remembered, refused if the key is
//! there already) and the message's put (`entries::write`, beside the connection look-up): no
//! dedup item, no read-marker item, no transaction. A group keeps its dedup items: one head
//! for 500 senders' keys would outgrow one write unit.

use super::holes::{Above, Holes};
use super::keys::{read_attribute, stream_key};
use super::markers::number;
use crate::domain::ids::{ConversationId, UserId};
use crate::store::{aws, malformed, n, s, until_won, Result};
use aws_sdk_dynamodb::operation::update_item::UpdateItemError;
use aws_sdk_dynamodb::types::{ReturnValue, ReturnValuesOnConditionCheckFailure};
use im_adapters::Clients;

/// Send keys remembered per sender, one per slot by hash: a retry finds its first attempt until
/// a later message of the sender's lands in the same slot (one in four does), so the last
/// message's retry always, the one before it three times in four. Four slots keep the head of a
/// busy pair under 1 KB, one write unit.
const SEND_SLOTS: u64 = 4;

/// What numbering a one-to-one message did.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Numbered {
    pub seq: u64,
    /// False when the client id was numbered before: `seq` is that first attempt's, whose
    /// message may or may not be written (a retry writes it when it is not: `entries::write`).
    pub first: bool,
    /// The other participant's unread count at this message, from the head's markers (each
    /// one-to-one send puts the peer's there too, 0 until they read). `None` only for a head
    /// that holds none. A conversation from before markers moved onto heads keeps its marker
    /// item: unread counts read the higher of the two, this count misses it until the peer reads.
    pub peer_unread: Option<u64>,
    /// When the head's activity was last written into the participants' inboxes (ms; 0: never).
    pub inbox_at: u64,
}

/// A client id's hash (64-bit FNV-1a: stable across builds, unlike std's hasher) and its slot.
pub fn send_slot(client_id: &str) -> (u64, u64) {
    let hash =
        client_id.bytes().fold(0xcbf2_9ce4_8422_2325_u64, |h, b| (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3));
    (hash, hash % SEND_SLOTS)
}

/// Numbers `sender`'s message in a one-to-one conversation: one update of the head takes the
/// next number, raises the sender's read marker to it and remembers `client_id`, unless the
/// sender's slot for it holds that id already: then the first attempt's number is answered.
/// The message is then written there (`entries::write`), conditioned on the place being free,
/// so a retry completes a first attempt that died between its two writes, and of two attempts
/// at once exactly one writes it. A retry whose first number was sealed as a hole (`holes`: the
/// first attempt died and a reader gave the number up) passes it as `sealed` and takes a new
/// number in its place, unless a racing retry did so first (its number is then answered).
pub async fn number_direct(
    clients: &Clients,
    conversation: ConversationId,
    sender: UserId,
    client_id: &str,
    sealed: Option<u64>,
) -> Result<Numbered> {
    let ConversationId::Direct(a, b) = conversation else {
        return Err(malformed("a one-to-one number in a conversation of more than two"));
    };
    let peer = if sender == a { b } else { a };
    let (hash, slot) = send_slot(client_id);
    let table = &clients.config.tables.conversations;
    let (head, first) = until_won(|| async {
        let update = clients
            .dynamodb
            .update_item()
            .table_name(table)
            .key("pk", s(stream_key(conversation)))
            .key("sk", n(0))
            .update_expression("SET #seq = if_not_exists(#seq, :zero) + :one, #read = if_not_exists(#seq, :zero) + :one, #peer = if_not_exists(#peer, :zero), #sent = :hash, #seqof = if_not_exists(#seq, :zero) + :one")
            .condition_expression(match sealed {
                None => "attribute_not_exists(#sent) OR #sent <> :hash",
                Some(_) => "attribute_not_exists(#sent) OR #sent <> :hash OR #seqof = :sealed",
            })
            .expression_attribute_names("#seq", "seq")
            .expression_attribute_names("#read", read_attribute(sender))
            .expression_attribute_names("#peer", read_attribute(peer))
            .expression_attribute_names("#sent", format!("sent_{slot}_{sender}"))
            .expression_attribute_names("#seqof", format!("seqof_{slot}_{sender}"))
            .expression_attribute_values(":zero", n(0))
            .expression_attribute_values(":one", n(1))
            .expression_attribute_values(":hash", n(hash))
            .return_values(ReturnValue::AllNew)
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld);
        let update = match sealed {
            Some(seq) => update.expression_attribute_values(":sealed", n(seq)),
            None => update,
        };
        let update = update.send().await;
        match update {
            Ok(out) => Ok(Some((out.attributes.unwrap_or_default(), true))),
            Err(err) => match err.as_service_error() {
                Some(UpdateItemError::ConditionalCheckFailedException(failed)) => {
                    Ok(Some((failed.item.clone().unwrap_or_default(), false)))
                }
                Some(UpdateItemError::TransactionConflictException(_)) => Ok(None),
                _ => Err(aws(err)),
            },
        }
    })
    .await?;
    let seq_name = if first { "seq".to_string() } else { format!("seqof_{slot}_{sender}") };
    let seq = number(&head, &seq_name).ok_or_else(|| malformed("a head without its sequence"))?;
    let head_seq = number(&head, "seq").unwrap_or(seq);
    let peer_unread = number(&head, &read_attribute(peer)).and_then(|read| match Holes::of(&head).above(read) {
        Above::Exact(sealed) => Some(head_seq.saturating_sub(read).saturating_sub(sealed)),
        Above::Partly { .. } => None,
    });
    let inbox_at = number(&head, super::keys::INBOX_AT).unwrap_or(0);
    Ok(Numbered { seq, first, peer_unread, inbox_at })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_client_id_always_hashes_to_the_same_slot_and_slots_spread() {
        assert_eq!(send_slot("c-1"), send_slot("c-1"));
        assert_ne!(send_slot("c-1").0, send_slot("c-2").0);
        let slots: std::collections::BTreeSet<u64> = (0..64).map(|i| send_slot(&format!("m{i}")).1).collect();
        assert_eq!(slots.len() as u64, SEND_SLOTS, "{slots:?}");
        // FNV-1a's published value for "a": the hash is the algorithm, not this build's hasher.
        assert_eq!(send_slot("a").0, 0xaf63_dc4c_8601_ec8c);
    }
}
