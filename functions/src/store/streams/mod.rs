//! Ordered streams in the conversations table: every user's feed, every pair's conversation,
//! every group's. A stream is a head item holding the latest sequence number and one item per
//! entry at its sequence; an entry is stored once, whoever and however many will read it. An
//! append takes its number with one atomic `ADD` on the head (never a transaction on it: a hot
//! head would make concurrent senders lose), then writes the entry there. A number is never
//! given twice; one can stay empty for good (a hole: the writer died between the two writes,
//! or a retried group send found its first attempt stored). A hole is sealed once known for
//! good (`holes`): readers skip it, an unread count leaves it out, a device's cursor takes it in
//! as it takes in the device's own messages (`cursors::confirm`).
//!
//! Items (`pk`, `sk`):
//! - `<conversation>`, 0: the head, `seq`, and when holes were sealed `holes`, `holes_floor`,
//!   `hv` (`holes`) (a one-to-one head also holds both read markers and each sender's last send
//!   keys: `direct`); `<conversation>`, n: entry n, or a sealed hole (`kind = "h"`) (`kind`, `body` as a
//!   map of its typed fields (a JSON string in items written before bodies were typed), `echo_of`, `ts`). Conversations are `feed#<user>`, `dm#<a>#<b>`, `group#<id>`.
//! - `dedup#<conversation>#<sender>#<client id>`, 0: the sequence a group send got, written in
//!   one transaction with the entry (retries find it);
//! - `audio#audio/<name>.amr`, 0: the conversation an attached audio object belongs to;
//! - `read#<conversation>#<user>`, 0: the user's read marker in a group (unread = head −
//!   marker);
//! - `cursor#<user>#<device>#<conversation>`, 0: what that device has confirmed: `seq` the
//!   contiguous prefix, `above` the ranges past it, `v` the version its writes condition on,
//!   `expires_at` when it dies with its device's sessions; device `*` is the user's own:
//!   everything any of its devices confirmed, what a new device starts from.
//!
//! One module per key family: `entries` (the head and the entries), `holes` (numbers no entry
//! will take), `markers` (reading the
//! items at `(pk, 0)`), `read` (read markers), `dedup` (a group's send keys), `direct` (a
//! one-to-one send's one update of the head), `audio` (attachment claims),
//! `cursors` (what each device confirmed); the keys themselves are built in `keys` only.

mod activity;
mod audio;
mod cursors;
mod dedup;
mod direct;
mod entries;
mod holes;
mod keys;
mod markers;
mod read;

pub use activity::{claim_inbox_refresh, latest};
pub use audio::{attachment_owner, claim_attachment, release_attachment, Claim};
pub use cursors::{confirm, positions, start as start_cursors, unconfirmed, unconfirmed_at, Position};
pub use dedup::{dedup_key, sent_before};
pub use direct::{number_direct, send_slot, Numbered};
pub use entries::{
    allocate, append, append_writes, read_page, read_range, replace, write, Allocated, NewEntry, Placed,
};
pub use holes::{seal, Holes, FINAL_AFTER_SECS};
pub use markers::head;
pub use read::{raise_read_marker, receipts, unread, unread_in};
