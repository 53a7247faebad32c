//! The two encodings of every document the backend sends: simple_im's TOML and JSON. One enum
//! serves HTTP bodies (chosen by `Accept`) and socket frames (the dialect of the connection).

use super::toml_text;
use serde_json::{json, Value};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Format {
    /// simple_im's format: `[[response]] status = 0`, `[[m]] id = ...`.
    Toml,
    /// JSON; on the socket, seed 003's `{"event": ..., "data": ...}`.
    Json,
}

impl Format {
    /// `json` or `toml` (any case); absent means JSON.
    pub fn parse(raw: Option<&str>) -> Option<Format> {
        match raw.map(str::to_ascii_lowercase).as_deref() {
            None | Some("json") => Some(Format::Json),
            Some("toml") => Some(Format::Toml),
            Some(_) => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Format::Json => "json",
            Format::Toml => "toml",
        }
    }

    pub fn content_type(self) -> &'static str {
        match self {
            Format::Toml => "application/toml; charset=utf-8",
            Format::Json => "application/json",
        }
    }

    /// Encodes a document. TOML is written the way simple_im's own reader reads it (see
    /// [`toml_text`]): null fields (hidden by privacy flags) are left out, one key per line.
    pub fn encode(self, doc: &Value) -> Vec<u8> {
        match self {
            Format::Json => serde_json::to_vec(doc).unwrap_or_default(),
            Format::Toml => toml_text::write(doc).into_bytes(),
        }
    }

    /// A server frame: simple_im's `[[table]]` with `data`'s fields in TOML, or seed 003's
    /// `{"event": ..., "data": ...}` in JSON.
    pub fn frame(self, toml_table: &str, json_event: &str, data: &Value) -> String {
        match self {
            Format::Toml => String::from_utf8_lossy(&self.encode(&json!({ toml_table: [data] }))).into_owned(),
            Format::Json => json!({ "event": json_event, "data": data }).to_string(),
        }
    }
}

/// Seconds since the epoch as RFC 3339 (`2015-11-22T09:48:59Z`).
pub fn rfc3339(secs: u64) -> String {
    time::OffsetDateTime::from_unix_timestamp(secs as i64)
        .ok()
        .and_then(|t| t.format(&time::format_description::well_known::Rfc3339).ok())
        .unwrap_or_default()
}

/// Seconds and microseconds since the epoch as seed 003 shows a message's `time`:
/// `2017-03-22T16:32:26.272345` (UTC, microseconds, no zone suffix).
pub fn seed_time(secs: u64, micros: u32) -> String {
    let format =
        time::macros::format_description!("[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:6]");
    let nanos = secs as i128 * 1_000_000_000 + (micros.min(999_999) as i128) * 1000;
    time::OffsetDateTime::from_unix_timestamp_nanos(nanos).ok().and_then(|t| t.format(&format).ok()).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn toml_is_one_key_per_line_and_drops_nulls() {
        let doc = json!({"response": [{"status": 0}], "user": [{"id": 2, "name": "大傻", "age": null}]});
        let text = String::from_utf8(Format::Toml.encode(&doc)).unwrap();
        assert_eq!(text, "[[response]]\nstatus = 0\n\n[[user]]\nid = 2\nname = \"大傻\"\n");
        let back: toml::Table = toml::from_str(&text).unwrap();
        assert_eq!(back["user"][0]["id"].as_integer(), Some(2));
    }

    #[test]
    fn frames_in_both_dialects() {
        assert_eq!(Format::Toml.frame("pp", "PONG", &json!({})), "[[pp]]\n");
        assert_eq!(Format::Json.frame("pp", "PONG", &json!({})), r#"{"event":"PONG","data":{}}"#);
        assert_eq!(rfc3339(1448185739), "2015-11-22T09:48:59Z");
        assert_eq!(seed_time(1448185739, 0), "2015-11-22T09:48:59.000000");
        assert_eq!(seed_time(1490200346, 272345), "2017-03-22T16:32:26.272345");
    }
}
