//! Small helpers for DynamoDB attribute maps, so area modules read like the model.

use aws_sdk_dynamodb::types::AttributeValue;
use std::collections::HashMap;

pub type Item = HashMap<String, AttributeValue>;

pub fn s(value: impl Into<String>) -> AttributeValue {
    AttributeValue::S(value.into())
}

pub fn n(value: impl ToString) -> AttributeValue {
    AttributeValue::N(value.to_string())
}

pub fn b(value: bool) -> AttributeValue {
    AttributeValue::Bool(value)
}

/// Typed reads from an item; a missing or mistyped attribute reads as `None`.
pub trait ItemExt {
    fn str(&self, name: &str) -> Option<&str>;
    fn u64(&self, name: &str) -> Option<u64>;
    fn bool(&self, name: &str) -> Option<bool>;
}

impl ItemExt for Item {
    fn str(&self, name: &str) -> Option<&str> {
        self.get(name).and_then(|v| v.as_s().ok()).map(String::as_str)
    }
    fn u64(&self, name: &str) -> Option<u64> {
        self.get(name).and_then(|v| v.as_n().ok()).and_then(|v| v.parse().ok())
    }
    fn bool(&self, name: &str) -> Option<bool> {
        self.get(name).and_then(|v| v.as_bool().ok()).copied()
    }
}

/// Seconds since the Unix epoch: what DynamoDB's TTL reads and what simple_im's `ts` carries.
pub fn now_secs() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0)
}
