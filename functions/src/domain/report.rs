//! Reports of abuse (issue 27, App Store Review Guideline 1.2): what a user reports, why, and
//! what the reported content was when they did, kept for the operator whatever happens to it.

use super::ids::UserId;
use super::refusal::Refusal;
use serde::Serialize;
use serde_json::Value;

/// The longest free text a report carries.
pub const MAX_REPORT_TEXT: usize = 500;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Reason {
    Spam,
    Abuse,
    Other,
}

impl Reason {
    pub fn parse(text: &str) -> Result<Reason, Refusal> {
        match text {
            "spam" => Ok(Reason::Spam),
            "abuse" => Ok(Reason::Abuse),
            "other" => Ok(Reason::Other),
            _ => Err(Refusal::invalid("reason must be spam, abuse or other")),
        }
    }

    /// As clients write it (and as it is stored).
    pub fn as_str(self) -> &'static str {
        match self {
            Reason::Spam => "spam",
            Reason::Abuse => "abuse",
            Reason::Other => "other",
        }
    }
}

/// A report as the operator reads it.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Report {
    /// `<day>:<microseconds>`: where it is stored (`report#<day>`, its number).
    pub id: String,
    pub by: UserId,
    /// The user reported (a message's sender when a message is).
    pub user: UserId,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    pub reason: Reason,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub text: Option<String>,
    /// The message as it was stored when reported.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub content: Option<Value>,
    /// When (seconds).
    pub at: u64,
}

/// The day partition (`YYYY-MM-DD`, UTC) of a time in seconds.
pub fn day_of(secs: u64) -> String {
    let at = time::OffsetDateTime::from_unix_timestamp(secs as i64).unwrap_or(time::OffsetDateTime::UNIX_EPOCH);
    at.date().to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reasons_and_days() {
        assert_eq!(Reason::parse("spam").unwrap(), Reason::Spam);
        assert!(Reason::parse("Spam").is_err() && Reason::parse("").is_err());
        assert_eq!(day_of(1_796_601_600), "2026-12-07");
        assert_eq!(day_of(0), time::OffsetDateTime::UNIX_EPOCH.date().to_string());
    }
}
