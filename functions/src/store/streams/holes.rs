//! Holes: numbers of a stream that no entry will ever take. A number is taken before its entry
//! is written (`entries::allocate`, `direct::number_direct`), so a sender that dies between
//! the two writes, or a group retry whose first attempt was stored (its new number is then not
//! needed), leaves one. A hole is sealed once it is known for good: a `hole` item at its
//! number (`kind = "h"`), so a late writer's conditional put fails and readers skip it, and its
//! number in the head's `holes` set, so an unread count (head − read marker) leaves it out
//! from the same head read.
//!
//! Who seals: a group retry seals its unneeded number at once (`entries::write`); a reader
//! that finds a number missing below an entry written more than [`FINAL_AFTER_SECS`] ago
//! seals it (`entries::read_range`): every writer's Lambda is stopped by then, so only a
//! one-to-one retry could still want the number, and that retry takes a new one
//! (`service::messages`). A missing number above a stream's last entry waits for the next entry.
//!
//! The head keeps the newest [`HOLES_KEPT`] sealed numbers (`holes`, a number set, under 200
//! bytes) and the highest it let go (`holes_floor`), versioned by `hv` so two sealers never
//! lose each other's numbers. A read marker at or above the floor gets its count from the head
//! alone; one below it (a reader that many holes behind) counts the hole items in between with
//! one Query ([`count_sealed`]).

use super::keys::stream_key;
use super::markers::number;
use crate::domain::ids::ConversationId;
use crate::domain::now_secs;
use crate::store::{aws, malformed, n, s, until_won, Item, Result};
use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
use aws_sdk_dynamodb::types::{AttributeValue, Put, Select, TransactWriteItem, Update};
use im_adapters::Clients;
use std::collections::BTreeSet;

/// The kind a hole item is stored with.
pub(super) const HOLE_KIND: &str = "h";

/// How old the entry after a missing number must be before the number is sealed: the longest
/// function timeout (the fan-out worker's 60 s, template.yaml) and a margin for clocks.
pub const FINAL_AFTER_SECS: u64 = 120;

/// Sealed numbers the head remembers.
pub const HOLES_KEPT: usize = 32;

/// A transaction holds at most 100 writes: the head's update and this many hole items.
const SEALS_PER_WRITE: usize = 24;

/// The sealed holes a head records: the newest numbers, and the highest one it let go.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Holes {
    pub kept: BTreeSet<u64>,
    pub floor: u64,
    /// The version the next seal is conditioned on.
    version: u64,
}

/// How many sealed holes lie above a read marker.
#[derive(Debug, PartialEq)]
pub enum Above {
    Exact(u64),
    /// The head's set counts `known` (those above the floor); the hole items in
    /// `(after, floor]` must be counted ([`count_sealed`]).
    Partly {
        known: u64,
        after: u64,
        floor: u64,
    },
}

impl Holes {
    /// The holes a head item records (none for a head that never had one).
    pub fn of(head: &Item) -> Holes {
        let kept = match head.get("holes") {
            Some(AttributeValue::Ns(numbers)) => numbers.iter().filter_map(|v| v.parse().ok()).collect(),
            _ => BTreeSet::new(),
        };
        let (floor, version) = (number(head, "holes_floor").unwrap_or(0), number(head, "hv").unwrap_or(0));
        Holes { kept, floor, version }
    }

    /// Sealed holes above `marker`.
    pub fn above(&self, marker: u64) -> Above {
        if marker >= self.floor {
            return Above::Exact(self.kept.range(marker + 1..).count() as u64);
        }
        Above::Partly { known: self.kept.range(self.floor + 1..).count() as u64, after: marker, floor: self.floor }
    }

    /// The head's record once `sealed` joins it: the newest [`HOLES_KEPT`] kept, the floor
    /// raised to the highest let go.
    fn with(&self, sealed: &[u64]) -> Holes {
        let mut kept = self.kept.clone();
        kept.extend(sealed);
        let mut floor = self.floor;
        while kept.len() > HOLES_KEPT {
            let lowest = kept.pop_first().unwrap_or_default();
            floor = floor.max(lowest);
        }
        Holes { kept, floor, version: self.version + 1 }
    }
}

/// An unread count: `head − marker` less the sealed holes above the marker, counting the hole
/// items below the head's floor when the marker is that far behind.
pub async fn unread_count(
    clients: &Clients,
    conversation: ConversationId,
    (head, holes): (u64, &Holes),
    marker: u64,
) -> Result<u64> {
    let sealed = match holes.above(marker) {
        Above::Exact(count) => count,
        Above::Partly { known, after, floor } => known + count_sealed(clients, conversation, after, floor).await?,
    };
    Ok(head.saturating_sub(marker).saturating_sub(sealed))
}

/// The numbers missing from a page of a stream's items (`present`, ascending, every number in
/// `(after, until]` that holds an item, entry or hole, with its write time) that are known for
/// good: those below an item written [`FINAL_AFTER_SECS`] before `now`.
pub fn final_gaps(after: u64, present: &[(u64, u64)], now: u64) -> Vec<u64> {
    let mut gaps = vec![];
    let mut expected = after + 1;
    for &(seq, written) in present {
        if seq > expected && written + FINAL_AFTER_SECS < now {
            gaps.extend(expected..seq);
        }
        expected = expected.max(seq + 1);
    }
    gaps
}

/// Seals `numbers` of a stream for good: a hole item at each still free, and the head's record
/// of them, in one transaction (a seal never counts a number whose item is not there). A number
/// written meanwhile (its sender was only slow) is left alone. Rare: a retry or a crash.
pub async fn seal(clients: &Clients, conversation: ConversationId, numbers: &[u64]) -> Result<()> {
    for chunk in numbers.chunks(SEALS_PER_WRITE) {
        // The numbers still to seal: one taken meanwhile (by its entry or another seal) drops out.
        let open = std::sync::Mutex::new(chunk.to_vec());
        let open = &open;
        until_won(|| async move {
            let numbers = open.lock().map_err(malformed)?.clone();
            if numbers.is_empty() {
                return Ok(Some(()));
            }
            let holes = Holes::of(&head_item(clients, conversation).await?.unwrap_or_default());
            let writes = seal_writes(&clients.config.tables.conversations, conversation, &holes, &numbers)?;
            let err = match clients.dynamodb.transact_write_items().set_transact_items(Some(writes)).send().await {
                Ok(_) => return Ok(Some(())),
                Err(err) => err,
            };
            let reasons = match err.as_service_error() {
                Some(TransactWriteItemsError::TransactionCanceledException(canceled)) => {
                    canceled.cancellation_reasons()
                }
                Some(TransactWriteItemsError::TransactionInProgressException(_)) => return Ok(None),
                _ => return Err(aws(err)),
            };
            // Reason 0 is the head's (a racing seal: read again); reason i + 1 is number i's.
            let taken = |i: usize| reasons.get(i + 1).and_then(|r| r.code()) == Some("ConditionalCheckFailed");
            let left = numbers.iter().enumerate().filter(|(i, _)| !taken(*i)).map(|(_, seq)| *seq).collect();
            *open.lock().map_err(malformed)? = left;
            Ok(None)
        })
        .await?;
    }
    Ok(())
}

/// The head's update (conditioned on the record read) and a hole item at each of `numbers`.
fn seal_writes(
    table: &str,
    conversation: ConversationId,
    holes: &Holes,
    numbers: &[u64],
) -> Result<Vec<TransactWriteItem>> {
    let stream = stream_key(conversation);
    let next = holes.with(numbers);
    let kept = next.kept.iter().map(u64::to_string).collect();
    let condition = match holes.version {
        0 => "attribute_not_exists(#hv)",
        _ => "#hv = :seen",
    };
    let mut head = Update::builder()
        .table_name(table)
        .key("pk", s(&stream))
        .key("sk", n(0))
        .update_expression("SET #holes = :kept, #floor = :floor, #hv = :next")
        .condition_expression(condition)
        .expression_attribute_names("#holes", "holes")
        .expression_attribute_names("#floor", "holes_floor")
        .expression_attribute_names("#hv", "hv")
        .expression_attribute_values(":kept", AttributeValue::Ns(kept))
        .expression_attribute_values(":floor", n(next.floor))
        .expression_attribute_values(":next", n(next.version));
    if holes.version > 0 {
        head = head.expression_attribute_values(":seen", n(holes.version));
    }
    let mut writes = vec![TransactWriteItem::builder().update(head.build().map_err(malformed)?).build()];
    for &seq in numbers {
        let hole = Put::builder()
            .table_name(table)
            .item("pk", s(&stream))
            .item("sk", n(seq))
            .item("kind", s(HOLE_KIND))
            .item("ts", n(now_secs()))
            .condition_expression("attribute_not_exists(sk)")
            .build()
            .map_err(malformed)?;
        writes.push(TransactWriteItem::builder().put(hole).build());
    }
    Ok(writes)
}

/// A stream's head item as stored, read consistently.
async fn head_item(clients: &Clients, conversation: ConversationId) -> Result<Option<Item>> {
    super::markers::marker_item(clients, &stream_key(conversation)).await
}

/// The hole items in `(after, until]` of a stream: one Query (paged) that reads the range and
/// keeps only the count of holes. Only for a read marker below the head's floor.
pub async fn count_sealed(clients: &Clients, conversation: ConversationId, after: u64, until: u64) -> Result<u64> {
    let query = clients
        .dynamodb
        .query()
        .table_name(&clients.config.tables.conversations)
        .key_condition_expression("pk = :pk AND sk BETWEEN :from AND :until")
        .filter_expression("#kind = :hole")
        .expression_attribute_names("#kind", "kind")
        .expression_attribute_values(":pk", s(stream_key(conversation)))
        .expression_attribute_values(":from", n(after + 1))
        .expression_attribute_values(":until", n(until))
        .expression_attribute_values(":hole", s(HOLE_KIND))
        .select(Select::Count);
    let (mut count, mut start) = (0u64, None);
    loop {
        let out = query.clone().set_exclusive_start_key(start).send().await.map_err(aws)?;
        count += out.count.max(0) as u64;
        start = out.last_evaluated_key;
        if start.is_none() {
            return Ok(count);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_gap_is_final_only_below_an_item_older_than_every_writer() {
        let now = 10_000;
        let old = now - FINAL_AFTER_SECS - 1;
        // 1 present, 2–3 missing below an old entry, 5 missing below a recent one.
        assert_eq!(final_gaps(0, &[(1, old), (4, old), (6, now - 5)], now), vec![2, 3]);
        // A gap at the start of the page counts from `after`; a hole item is not a gap.
        assert_eq!(final_gaps(10, &[(13, old), (14, old)], now), vec![11, 12]);
        // Nothing below the first item when it follows `after`; nothing above the last item.
        assert!(final_gaps(10, &[(11, old)], now).is_empty());
        assert!(final_gaps(0, &[], now).is_empty());
    }

    #[test]
    fn a_head_keeps_the_newest_holes_and_raises_its_floor() {
        let mut holes = Holes::default();
        holes = holes.with(&(1..=HOLES_KEPT as u64).map(|i| i * 10).collect::<Vec<_>>());
        assert_eq!((holes.kept.len(), holes.floor, holes.version), (HOLES_KEPT, 0, 1));
        assert_eq!(holes.above(0), Above::Exact(HOLES_KEPT as u64));
        assert_eq!(holes.above(15), Above::Exact(HOLES_KEPT as u64 - 1));
        holes = holes.with(&[1000, 5]);
        // 5 and 10 let go: the floor is the highest of them.
        assert_eq!((holes.kept.len(), holes.floor, holes.version), (HOLES_KEPT, 10, 2));
        assert_eq!(holes.above(10), Above::Exact(HOLES_KEPT as u64));
        assert_eq!(holes.above(3), Above::Partly { known: HOLES_KEPT as u64, after: 3, floor: 10 });
        assert_eq!(holes.above(2000), Above::Exact(0));
    }

    #[test]
    fn a_head_item_reads_as_its_record() {
        let head = crate::store::item(&[
            ("seq", n(40)),
            ("holes", AttributeValue::Ns(vec!["7".into(), "31".into()])),
            ("holes_floor", n(3)),
            ("hv", n(4)),
        ]);
        let holes = Holes::of(&head);
        assert_eq!((holes.kept.iter().copied().collect::<Vec<_>>(), holes.floor, holes.version), (vec![7, 31], 3, 4));
        assert_eq!(Holes::of(&Item::new()), Holes::default());
    }
}
