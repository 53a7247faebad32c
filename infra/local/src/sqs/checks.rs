//! SQS's errors and the checks it makes of a call's input: the queue URL, a message's body,
//! `DelaySeconds` and what a standard queue does not take, and a batch entry's id.

use crate::template::LOCAL_ACCOUNT;
use axum::http::StatusCode;
use serde_json::Value;

/// SQS's limit on a message, and on a batch's messages together: 256 KiB.
pub const MAX_MESSAGE_BYTES: usize = 262_144;
/// SQS's limit on a batch's entries.
pub const MAX_BATCH_ENTRIES: usize = 10;
/// The longest `DelaySeconds`: 15 minutes.
pub const MAX_DELAY_SECS: i64 = 900;

/// An SQS error: HTTP status, the error's shape (the body's `__type`), SQS's query code (the
/// `x-amzn-query-error` header, what the SDK matches its error types by) and message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SqsError {
    pub status: StatusCode,
    pub kind: &'static str,
    pub code: Option<&'static str>,
    pub message: String,
}

impl SqsError {
    pub(super) fn sender(kind: &'static str, code: &'static str, message: impl Into<String>) -> SqsError {
        SqsError { status: StatusCode::BAD_REQUEST, kind, code: Some(code), message: message.into() }
    }
    pub(super) fn queue_does_not_exist() -> SqsError {
        SqsError::sender(
            "com.amazonaws.sqs#QueueDoesNotExist",
            "AWS.SimpleQueueService.NonExistentQueue",
            "The specified queue does not exist.",
        )
    }
    fn invalid_address(url: &str) -> SqsError {
        let message = format!("The address {url} is not valid for this endpoint.");
        SqsError::sender("com.amazonaws.sqs#InvalidAddress", "InvalidAddress", message)
    }
    fn invalid_parameter(message: impl Into<String>) -> SqsError {
        SqsError::sender("com.amazonaws.sqs#InvalidParameterValueException", "InvalidParameterValue", message)
    }
    pub(super) fn missing(name: &str) -> SqsError {
        let message = format!("The request must contain the parameter {name}.");
        SqsError::sender("com.amazonaws.sqs#MissingParameterException", "MissingParameter", message)
    }
    fn invalid_contents(c: char) -> SqsError {
        let message = format!(
            "Invalid binary character '#x{:X}' was found in the message body, the set of allowed characters is \
             #x9 | #xA | #xD | [#x20-#xD7FF] | [#xE000-#xFFFD] | [#x10000-#x10FFFF].",
            u32::from(c)
        );
        SqsError::sender("com.amazonaws.sqs#InvalidMessageContents", "InvalidMessageContents", message)
    }
    pub(super) fn unsupported(operation: &str) -> SqsError {
        let message = format!("{operation}: the local SQS answers SendMessage and SendMessageBatch only");
        SqsError::sender(
            "com.amazonaws.sqs#UnsupportedOperation",
            "AWS.SimpleQueueService.UnsupportedOperation",
            message,
        )
    }
    pub(super) fn not_json(reason: impl Into<String>) -> SqsError {
        let kind = "com.amazon.coral.service#SerializationException";
        SqsError { status: StatusCode::BAD_REQUEST, kind, code: None, message: reason.into() }
    }
    pub(super) fn access_denied(message: impl Into<String>) -> SqsError {
        let kind = "com.amazon.coral.service#AccessDeniedException";
        SqsError { status: StatusCode::FORBIDDEN, kind, code: Some("AccessDenied"), message: message.into() }
    }
}

/// The queue a URL names: `http(s)://host/ACCOUNT/NAME`, the local account's.
pub(super) fn queue_name(url: &str) -> Result<&str, SqsError> {
    let rest = url.strip_prefix("http://").or_else(|| url.strip_prefix("https://"));
    let path = rest.and_then(|rest| rest.split_once('/')).map(|(_, path)| path.trim_end_matches('/'));
    let Some((account, name)) = path.and_then(|path| path.split_once('/')) else {
        return Err(SqsError::invalid_address(url));
    };
    if name.is_empty() || name.contains('/') {
        return Err(SqsError::invalid_address(url));
    }
    if account != LOCAL_ACCOUNT {
        return Err(SqsError::queue_does_not_exist());
    }
    Ok(name)
}

/// A body SQS accepts: at most 256 KiB, of the characters XML 1.0 allows.
pub(super) fn check_body(body: &str) -> Result<(), SqsError> {
    if body.len() > MAX_MESSAGE_BYTES {
        return Err(SqsError::invalid_parameter(format!(
            "One or more parameters are invalid. Reason: Message must be shorter than {MAX_MESSAGE_BYTES} bytes."
        )));
    }
    let allowed = |c: char| {
        matches!(c, '\t' | '\n' | '\r')
            || matches!(c, '\u{20}'..='\u{D7FF}' | '\u{E000}'..='\u{FFFD}' | '\u{10000}'..='\u{10FFFF}')
    };
    match body.chars().find(|c| !allowed(*c)) {
        Some(c) => Err(SqsError::invalid_contents(c)),
        None => Ok(()),
    }
}

/// A message's `DelaySeconds`: none, or a whole number of seconds from 0 to 900.
pub(super) fn check_delay(value: Option<&Value>) -> Result<Option<u64>, SqsError> {
    match value {
        None | Some(Value::Null) => Ok(None),
        Some(value) => match value.as_i64() {
            Some(delay) if (0..=MAX_DELAY_SECS).contains(&delay) => Ok(Some(delay as u64)),
            _ => Err(SqsError::invalid_parameter(format!(
                "Value {value} for parameter DelaySeconds is invalid. Reason: DelaySeconds must be >= 0 and <= \
                 {MAX_DELAY_SECS}."
            ))),
        },
    }
}

/// A message's body: present and not empty.
pub(super) fn required_body(message: &Value) -> Result<&str, SqsError> {
    let body = message.get("MessageBody").and_then(Value::as_str).filter(|body| !body.is_empty());
    body.ok_or_else(|| SqsError::missing("MessageBody"))
}

/// What a standard queue refuses (`MessageDeduplicationId`, FIFO's), and message attributes,
/// which are not kept: a sender that sets them is told so, rather than its consumer finding
/// them missing.
pub(super) fn refuse_unemulated(message: &Value) -> Result<(), SqsError> {
    if let Some(id) = message.get("MessageDeduplicationId").filter(|id| !id.is_null()) {
        return Err(SqsError::invalid_parameter(format!(
            "Value {id} for parameter MessageDeduplicationId is invalid. Reason: The request includes a parameter \
             that is not valid for this queue type."
        )));
    }
    for name in ["MessageAttributes", "MessageSystemAttributes"] {
        if message.get(name).is_some_and(|v| v.as_object().is_some_and(|attributes| !attributes.is_empty())) {
            return Err(SqsError::invalid_parameter(format!("{name}: the local SQS does not keep message attributes")));
        }
    }
    Ok(())
}

/// A batch entry's id: 1 to 80 letters, digits, hyphens and underscores.
pub(super) fn check_entry_id(id: &str) -> Result<(), SqsError> {
    let valid = (1..=80).contains(&id.len()) && id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    if valid {
        return Ok(());
    }
    Err(SqsError::sender(
        "com.amazonaws.sqs#InvalidBatchEntryId",
        "AWS.SimpleQueueService.InvalidBatchEntryId",
        "A batch entry id can only contain alphanumeric characters, hyphens and underscores. It can be at most 80 \
         letters long.",
    ))
}
