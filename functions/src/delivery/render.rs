//! How a stored entry travels: simple_im's `[[m]]` / `[[gm]]` / `[[n]]` tables in TOML, seed
//! 003's events in JSON (`NOTIFY_NEW_MSG` for messages, `NOTIFY_UPDATE_CONTACT` for contact
//! changes, `NOTIFY` for the rest).

use crate::domain::entry::Entry;
use crate::domain::format::{seed_time, Format};
use crate::domain::notice::NoticeKind;
use serde_json::{json, Value};
use std::collections::BTreeMap;

/// API Gateway's frame limit: a bigger entry is announced by reference and fetched by sync.
pub const MAX_FRAME_BYTES: usize = 32 * 1024;

/// The JSON event an entry travels as.
pub fn json_event(entry: &Entry) -> &'static str {
    if entry.kind.is_message() {
        "NOTIFY_NEW_MSG"
    } else if entry.t().is_some_and(NoticeKind::is_contact_change) {
        "NOTIFY_UPDATE_CONTACT"
    } else {
        "NOTIFY"
    }
}

/// An entry as its frame carries it: JSON messages follow seed 003 (`{"msg": {content, time,
/// ...}}`), everything else is the entry's own fields.
pub fn frame_data(format: Format, entry: &Entry) -> Value {
    let view = entry.view();
    if format == Format::Toml || !entry.kind.is_message() {
        return view;
    }
    let mut msg = view.as_object().cloned().unwrap_or_default();
    msg.insert("content".into(), view["c"].clone());
    msg.insert("time".into(), json!(seed_time(view["ts"].as_u64().unwrap_or(0))));
    json!({ "msg": msg })
}

/// An entry rendered for a connection, in its format. A frame over API Gateway's limit goes by
/// reference (`more = true`): the client fetches it by sync.
pub fn push_frame(format: Format, entry: &Entry) -> String {
    let (table, event) = (entry.kind.table(), json_event(entry));
    let frame = format.frame(table, event, &frame_data(format, entry));
    if frame.len() <= MAX_FRAME_BYTES {
        return frame;
    }
    let reference = json!({ "id": entry.id().to_string(), "seq": entry.seq, "t": entry.t(), "more": true });
    format.frame(table, event, &reference)
}

/// Entries grouped by simple_im table (`n`, `m`, `gm`), as sync and `GET /offline` list them;
/// `n` is always present.
pub fn by_table<'a>(entries: impl IntoIterator<Item = &'a Entry>) -> BTreeMap<&'static str, Vec<Value>> {
    let mut tables: BTreeMap<&'static str, Vec<Value>> = BTreeMap::from([("n", vec![])]);
    for entry in entries {
        tables.entry(entry.kind.table()).or_default().push(entry.view());
    }
    tables
}
