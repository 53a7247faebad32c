//! The domain layer: ids, rules and shapes, pure (no I/O). Every other layer may use it; it
//! uses none of them.

pub mod confirmed;
pub mod entry;
pub mod format;
pub mod ids;
pub mod inbox;
pub mod limits;
pub mod media;
pub mod message;
pub mod names;
pub mod notice;
pub mod notification;
pub mod push;
pub mod refusal;
pub mod relation;
pub mod report;
pub mod reset;
pub mod rich;
pub mod strip;
pub mod toml_text;
pub mod user;

/// Seconds since the Unix epoch: what DynamoDB's TTL reads and what simple_im's `ts` carries.
/// Now as seconds and the microseconds past them.
pub fn now_micros() -> (u64, u32) {
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default();
    (now.as_secs(), now.subsec_micros())
}

/// Milliseconds since the Unix epoch.
pub fn now_millis() -> u64 {
    let (secs, micros) = now_micros();
    secs * 1000 + u64::from(micros) / 1000
}

pub fn now_secs() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0)
}
