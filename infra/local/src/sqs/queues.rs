//! The SQS emulator's state machine: the template's queues and their messages, sent (checked
//! as SQS checks them), received in batches by the event source mapping, settled after the
//! invocation, moved to a dead-letter queue or dropped past their retention period.

use super::checks::{
    check_body, check_delay, check_entry_id, queue_name, refuse_unemulated, required_body, SqsError, MAX_BATCH_ENTRIES,
    MAX_MESSAGE_BYTES,
};
use super::md5::md5_hex;
use crate::template::{Queue, LOCAL_ACCOUNT, LOCAL_REGION};
use serde_json::{json, Value};
use std::collections::{BTreeMap, HashSet, VecDeque};
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant, SystemTime};

/// The longest a received message stays hidden locally, whatever the queue's visibility timeout.
pub const LOCAL_MAX_VISIBILITY: Duration = Duration::from_secs(2);

/// The local URL of a queue: `http://127.0.0.1:{port}/000000000000/{logical id}`.
pub fn queue_url(port: u16, logical_id: &str) -> String {
    format!("http://127.0.0.1:{port}/{LOCAL_ACCOUNT}/{logical_id}")
}

/// A message in a queue.
#[derive(Clone, Debug)]
struct Message {
    id: String,
    body: String,
    md5_of_body: String,
    /// When it was sent: its retention counts from here, in the dead-letter queue too.
    sent_at: Instant,
    sent_timestamp_ms: u64,
    first_receive_timestamp_ms: Option<u64>,
    receive_count: u32,
    /// When it may be received: after its delay, then after each receive's visibility timeout.
    visible_at: Instant,
    /// The receipt handle of the delivery under way, while its invocation runs.
    receipt: Option<String>,
}

/// A message as one receive gives it: what Lambda puts in the event's record.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Received {
    pub message_id: String,
    pub receipt_handle: String,
    pub body: String,
    pub md5_of_body: String,
    /// This receive included.
    pub receive_count: u32,
    pub sent_timestamp_ms: u64,
    pub first_receive_timestamp_ms: u64,
}

impl Received {
    /// The record of Lambda's SQS event for this message.
    pub fn record(&self, queue_arn: &str) -> Value {
        json!({
            "messageId": self.message_id,
            "receiptHandle": self.receipt_handle,
            "body": self.body,
            "attributes": {
                "ApproximateReceiveCount": self.receive_count.to_string(),
                "SentTimestamp": self.sent_timestamp_ms.to_string(),
                "ApproximateFirstReceiveTimestamp": self.first_receive_timestamp_ms.to_string(),
            },
            "messageAttributes": {},
            "md5OfBody": self.md5_of_body,
            "eventSource": "aws:sqs",
            "eventSourceARN": queue_arn,
            "awsRegion": LOCAL_REGION,
        })
    }
}

/// A queue: its template properties and its messages, oldest first.
struct QueueState {
    config: Queue,
    messages: VecDeque<Message>,
}

impl QueueState {
    /// Drops the messages past the retention period.
    fn expire(&mut self, now: Instant) {
        let retention = Duration::from_secs(self.config.retention_secs);
        let queue = &self.config.logical_id;
        self.messages.retain(|message| {
            let kept = now.saturating_duration_since(message.sent_at) < retention;
            if !kept {
                tracing::debug!(%queue, message_id = %message.id, "SQS: a message outlived the retention period");
            }
            kept
        });
    }

    /// Enqueues a checked message, hidden for its delay (the queue's unless it names one).
    fn push(&mut self, body: &str, delay_secs: Option<u64>, now: Instant) -> (String, String) {
        let delay = Duration::from_secs(delay_secs.unwrap_or(self.config.delay_secs));
        let message = Message {
            id: uuid::Uuid::new_v4().to_string(),
            body: body.to_string(),
            md5_of_body: md5_hex(body.as_bytes()),
            sent_at: now,
            sent_timestamp_ms: unix_ms(),
            first_receive_timestamp_ms: None,
            receive_count: 0,
            visible_at: now + delay,
            receipt: None,
        };
        let answer = (message.id.clone(), message.md5_of_body.clone());
        self.messages.push_back(message);
        answer
    }
}

/// The emulated service: the template's queues and their messages.
#[derive(Default)]
pub struct Sqs(Mutex<BTreeMap<String, QueueState>>);

fn unix_ms() -> u64 {
    SystemTime::now().duration_since(SystemTime::UNIX_EPOCH).map_or(0, |d| d.as_millis() as u64)
}

/// How long a received message stays hidden locally ([`LOCAL_MAX_VISIBILITY`] at most).
fn local_visibility(visibility_timeout_secs: u64) -> Duration {
    Duration::from_secs(visibility_timeout_secs).min(LOCAL_MAX_VISIBILITY)
}

impl Sqs {
    /// The template's queues, empty.
    pub fn new(queues: &[Queue]) -> Sqs {
        let states = queues
            .iter()
            .map(|queue| (queue.logical_id.clone(), QueueState { config: queue.clone(), messages: VecDeque::new() }));
        Sqs(Mutex::new(states.collect()))
    }

    fn lock(&self) -> MutexGuard<'_, BTreeMap<String, QueueState>> {
        self.0.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The bodies in a queue, oldest first: what went to a dead-letter queue, for tests.
    pub fn dead_letters(&self, logical_id: &str) -> Vec<String> {
        let mut queues = self.lock();
        let Some(queue) = queues.get_mut(logical_id) else { return vec![] };
        queue.expire(Instant::now());
        queue.messages.iter().map(|message| message.body.clone()).collect()
    }

    /// How many messages a queue holds: delayed, visible or being delivered.
    pub fn pending(&self, logical_id: &str) -> usize {
        let mut queues = self.lock();
        let Some(queue) = queues.get_mut(logical_id) else { return 0 };
        queue.expire(Instant::now());
        queue.messages.len()
    }

    /// One operation of the JSON API with its input: its output, or SQS's error.
    pub fn act(&self, operation: &str, input: &Value, now: Instant) -> Result<Value, SqsError> {
        match operation {
            "SendMessage" => self.send_message(input, now),
            "SendMessageBatch" => self.send_message_batch(input, now),
            other => Err(SqsError::unsupported(other)),
        }
    }

    /// The queue `QueueUrl` names.
    fn queue<'a>(queues: &'a mut BTreeMap<String, QueueState>, input: &Value) -> Result<&'a mut QueueState, SqsError> {
        let url = input.get("QueueUrl").and_then(Value::as_str).ok_or_else(|| SqsError::missing("QueueUrl"))?;
        queues.get_mut(queue_name(url)?).ok_or_else(SqsError::queue_does_not_exist)
    }

    /// `SendMessage`: `{"MessageId", "MD5OfMessageBody"}`.
    fn send_message(&self, input: &Value, now: Instant) -> Result<Value, SqsError> {
        let mut queues = self.lock();
        let queue = Sqs::queue(&mut queues, input)?;
        let body = required_body(input)?;
        check_body(body)?;
        let delay = check_delay(input.get("DelaySeconds"))?;
        refuse_unemulated(input)?;
        let (id, md5) = queue.push(body, delay, now);
        Ok(json!({ "MessageId": id, "MD5OfMessageBody": md5 }))
    }

    /// `SendMessageBatch`: the request's own faults refuse it whole (no entries, too many, ids
    /// invalid or repeated, too long); an entry's own fault fails that entry only, in `Failed`.
    fn send_message_batch(&self, input: &Value, now: Instant) -> Result<Value, SqsError> {
        let mut queues = self.lock();
        let queue = Sqs::queue(&mut queues, input)?;
        let entries = input.get("Entries").and_then(Value::as_array).map(Vec::as_slice).unwrap_or_default();
        if entries.is_empty() {
            return Err(SqsError::sender(
                "com.amazonaws.sqs#EmptyBatchRequest",
                "AWS.SimpleQueueService.EmptyBatchRequest",
                "There should be at least one SendMessageBatchRequestEntry in the request.",
            ));
        }
        if entries.len() > MAX_BATCH_ENTRIES {
            return Err(SqsError::sender(
                "com.amazonaws.sqs#TooManyEntriesInBatchRequest",
                "AWS.SimpleQueueService.TooManyEntriesInBatchRequest",
                format!(
                    "Maximum number of entries per request are {MAX_BATCH_ENTRIES}. You have sent {}.",
                    entries.len()
                ),
            ));
        }
        let id_of = |entry: &Value| entry.get("Id").and_then(Value::as_str).unwrap_or_default().to_string();
        let mut seen = HashSet::new();
        for entry in entries {
            let id = id_of(entry);
            check_entry_id(&id)?;
            if !seen.insert(id.clone()) {
                return Err(SqsError::sender(
                    "com.amazonaws.sqs#BatchEntryIdsNotDistinct",
                    "AWS.SimpleQueueService.BatchEntryIdsNotDistinct",
                    format!("Id {id} repeated."),
                ));
            }
            refuse_unemulated(entry)?;
        }
        let total: usize =
            entries.iter().filter_map(|entry| entry.get("MessageBody").and_then(Value::as_str)).map(str::len).sum();
        if total > MAX_MESSAGE_BYTES {
            return Err(SqsError::sender(
                "com.amazonaws.sqs#BatchRequestTooLong",
                "AWS.SimpleQueueService.BatchRequestTooLong",
                format!("Batch requests cannot be longer than {MAX_MESSAGE_BYTES} bytes. You have sent {total} bytes."),
            ));
        }
        let (mut successful, mut failed) = (vec![], vec![]);
        for entry in entries {
            let id = id_of(entry);
            let checked = required_body(entry)
                .and_then(|body| check_body(body).map(|()| body))
                .and_then(|body| Ok((body, check_delay(entry.get("DelaySeconds"))?)));
            match checked {
                Ok((body, delay)) => {
                    let (message_id, md5) = queue.push(body, delay, now);
                    successful.push(json!({ "Id": id, "MessageId": message_id, "MD5OfMessageBody": md5 }));
                }
                Err(error) => failed.push(json!({
                    "Id": id,
                    "SenderFault": true,
                    "Code": error.code.unwrap_or(error.kind),
                    "Message": error.message,
                })),
            }
        }
        Ok(json!({ "Successful": successful, "Failed": failed }))
    }

    /// One receive of the event source mapping: up to `max` visible messages, each hidden for
    /// the queue's (local) visibility timeout and counted received. A message already received
    /// `maxReceiveCount` times goes to the dead-letter queue instead. Expired messages are dropped.
    pub fn take_batch(&self, queue: &str, max: usize, now: Instant) -> Vec<Received> {
        let mut queues = self.lock();
        let Some(state) = queues.get_mut(queue) else { return vec![] };
        state.expire(now);
        let visibility = local_visibility(state.config.visibility_timeout_secs);
        let redrive = state.config.dead_letter.clone();
        let (mut taken, mut dead) = (vec![], vec![]);
        let mut kept = VecDeque::with_capacity(state.messages.len());
        for mut message in state.messages.drain(..) {
            let ready = message.receipt.is_none() && message.visible_at <= now && taken.len() < max;
            if !ready {
                kept.push_back(message);
                continue;
            }
            if redrive.as_ref().is_some_and(|(_, receives)| message.receive_count >= *receives) {
                dead.push(message);
                continue;
            }
            let receipt = uuid::Uuid::new_v4().to_string();
            message.receive_count += 1;
            message.visible_at = now + visibility;
            message.receipt = Some(receipt.clone());
            let first_receive = *message.first_receive_timestamp_ms.get_or_insert_with(unix_ms);
            taken.push(Received {
                message_id: message.id.clone(),
                receipt_handle: receipt,
                body: message.body.clone(),
                md5_of_body: message.md5_of_body.clone(),
                receive_count: message.receive_count,
                sent_timestamp_ms: message.sent_timestamp_ms,
                first_receive_timestamp_ms: first_receive,
            });
            kept.push_back(message);
        }
        state.messages = kept;
        if let Some((dead_letter_queue, receives)) = redrive {
            for mut message in dead {
                tracing::warn!(
                    %queue, %dead_letter_queue, message_id = %message.id, receives,
                    "SQS: moved a message to its dead-letter queue after maxReceiveCount receives"
                );
                message.visible_at = now;
                if let Some(target) = queues.get_mut(&dead_letter_queue) {
                    target.messages.push_back(message);
                }
            }
        }
        taken
    }

    /// Ends a delivery: its messages are deleted, but the `failed` ones (by message id), which
    /// are received again when the visibility timeout of their receive ends.
    pub fn settle(&self, queue: &str, batch: &[Received], failed: &[String]) {
        let mut queues = self.lock();
        let Some(state) = queues.get_mut(queue) else { return };
        let handles: HashSet<&str> = batch.iter().map(|m| m.receipt_handle.as_str()).collect();
        state.messages.retain_mut(|message| {
            if !message.receipt.as_deref().is_some_and(|handle| handles.contains(handle)) {
                return true;
            }
            message.receipt = None;
            failed.contains(&message.id)
        });
    }
}

/// The messages a `ReportBatchItemFailures` answer names as failed, or why Lambda would count
/// the whole batch failed: an answer that is not an object, an `itemIdentifier` that is empty
/// or names no message of the batch. No answer, or no or empty `batchItemFailures`, is success.
pub fn failed_items(answer: &Value, batch: &[Received]) -> Result<Vec<String>, String> {
    let items = match answer {
        Value::Null => return Ok(vec![]),
        Value::Object(fields) => match fields.get("batchItemFailures") {
            None | Some(Value::Null) => return Ok(vec![]),
            Some(Value::Array(items)) => items,
            Some(other) => return Err(format!("batchItemFailures is not a list: {other}")),
        },
        other => return Err(format!("the answer is not a batch response: {other}")),
    };
    let named = |item: &Value| {
        let id = item.get("itemIdentifier").and_then(Value::as_str).filter(|id| !id.is_empty());
        match id {
            Some(id) if batch.iter().any(|m| m.message_id == id) => Ok(id.to_string()),
            _ => Err(format!("{item} names no message of the batch")),
        }
    };
    items.iter().map(named).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::template::queue_arn;
    use axum::http::StatusCode;

    const PORT: u16 = 3001;

    fn work_queue() -> Queue {
        Queue {
            logical_id: "Work".into(),
            visibility_timeout_secs: 60,
            retention_secs: 3600,
            delay_secs: 0,
            dead_letter: Some(("Dead".into(), 3)),
        }
    }

    fn sqs() -> Sqs {
        let dead = Queue {
            logical_id: "Dead".into(),
            visibility_timeout_secs: 30,
            retention_secs: 1_209_600,
            delay_secs: 0,
            dead_letter: None,
        };
        let slow = Queue { logical_id: "Slow".into(), delay_secs: 5, dead_letter: None, ..work_queue() };
        Sqs::new(&[work_queue(), dead, slow])
    }

    fn send(sqs: &Sqs, queue: &str, body: &str, now: Instant) -> Result<Value, SqsError> {
        sqs.act("SendMessage", &json!({ "QueueUrl": queue_url(PORT, queue), "MessageBody": body }), now)
    }

    fn batch(entries: Value) -> Value {
        json!({ "QueueUrl": queue_url(PORT, "Work"), "Entries": entries })
    }

    #[test]
    fn a_queue_url_names_a_local_queue() {
        let url = queue_url(PORT, "PushQueue");
        assert_eq!(url, "http://127.0.0.1:3001/000000000000/PushQueue");
        assert_eq!(queue_name(&url), Ok("PushQueue"));
        assert_eq!(queue_name("https://sqs.us-east-1.amazonaws.com/000000000000/PushQueue/"), Ok("PushQueue"));
        assert_eq!(
            queue_name("http://127.0.0.1:3001/123456789012/PushQueue").unwrap_err().kind,
            "com.amazonaws.sqs#QueueDoesNotExist"
        );
        for invalid in
            ["PushQueue", "http://127.0.0.1:3001/PushQueue", "http://127.0.0.1:3001/000000000000/a/b", "ftp://x/0/q"]
        {
            assert_eq!(queue_name(invalid).unwrap_err().code, Some("InvalidAddress"), "{invalid}");
        }
    }

    #[test]
    fn a_message_is_checked_as_sqs_checks_it() {
        let sqs = sqs();
        let now = Instant::now();
        let sent = send(&sqs, "Work", "hello", now).unwrap();
        assert_eq!(sent["MD5OfMessageBody"], "5d41402abc4b2a76b9719d911017c592");
        assert!(sent["MessageId"].as_str().is_some_and(|id| !id.is_empty()));

        let missing = send(&sqs, "Nowhere", "hello", now).unwrap_err();
        assert_eq!(missing.status, StatusCode::BAD_REQUEST);
        assert_eq!(missing.kind, "com.amazonaws.sqs#QueueDoesNotExist");
        assert_eq!(missing.code, Some("AWS.SimpleQueueService.NonExistentQueue"));
        assert_eq!(send(&sqs, "Work", "", now).unwrap_err().code, Some("MissingParameter"));
        let no_url = sqs.act("SendMessage", &json!({ "MessageBody": "m" }), now).unwrap_err();
        assert_eq!(no_url.message, "The request must contain the parameter QueueUrl.");

        assert!(send(&sqs, "Work", &"x".repeat(MAX_MESSAGE_BYTES), now).is_ok());
        let long = send(&sqs, "Work", &"x".repeat(MAX_MESSAGE_BYTES + 1), now).unwrap_err();
        assert_eq!(long.code, Some("InvalidParameterValue"));
        assert_eq!(
            long.message,
            "One or more parameters are invalid. Reason: Message must be shorter than 262144 bytes."
        );

        assert!(send(&sqs, "Work", "tab\t, line\n, return\r, \u{D7FF} \u{E000} \u{FFFD} \u{10000} 🎉", now).is_ok());
        for (bad, shown) in [("\u{1}", "#x1"), ("a\u{1F}b", "#x1F"), ("\u{FFFE}", "#xFFFE"), ("\u{FFFF}", "#xFFFF")] {
            let refused = send(&sqs, "Work", bad, now).unwrap_err();
            assert_eq!(refused.code, Some("InvalidMessageContents"));
            assert!(
                refused.message.starts_with(&format!("Invalid binary character '{shown}' was found")),
                "{refused:?}"
            );
        }

        let delayed = |delay: Value| {
            let input = json!({ "QueueUrl": queue_url(PORT, "Work"), "MessageBody": "m", "DelaySeconds": delay });
            sqs.act("SendMessage", &input, now)
        };
        assert!(delayed(json!(0)).is_ok() && delayed(json!(900)).is_ok());
        for bad in [json!(901), json!(-1), json!(1.5), json!("5")] {
            let refused = delayed(bad.clone()).unwrap_err();
            assert_eq!(refused.code, Some("InvalidParameterValue"), "{bad}");
        }
        assert_eq!(
            delayed(json!(901)).unwrap_err().message,
            "Value 901 for parameter DelaySeconds is invalid. Reason: DelaySeconds must be >= 0 and <= 900."
        );

        let attributes = json!({
            "QueueUrl": queue_url(PORT, "Work"),
            "MessageBody": "m",
            "MessageAttributes": { "kind": { "DataType": "String", "StringValue": "push" } },
        });
        assert_eq!(sqs.act("SendMessage", &attributes, now).unwrap_err().code, Some("InvalidParameterValue"));
        let receive = sqs.act("ReceiveMessage", &json!({ "QueueUrl": queue_url(PORT, "Work") }), now).unwrap_err();
        assert_eq!(receive.code, Some("AWS.SimpleQueueService.UnsupportedOperation"));
    }

    #[test]
    fn a_batch_is_refused_whole_for_its_own_faults_and_fails_entry_by_entry_for_theirs() {
        let sqs = sqs();
        let now = Instant::now();
        let code = |input: Value| sqs.act("SendMessageBatch", &input, now).unwrap_err().code.unwrap();
        assert_eq!(code(batch(json!([]))), "AWS.SimpleQueueService.EmptyBatchRequest");
        assert_eq!(code(json!({ "QueueUrl": queue_url(PORT, "Work") })), "AWS.SimpleQueueService.EmptyBatchRequest");
        let eleven: Vec<Value> = (0..11).map(|i| json!({ "Id": format!("m{i}"), "MessageBody": "b" })).collect();
        assert_eq!(code(batch(json!(eleven))), "AWS.SimpleQueueService.TooManyEntriesInBatchRequest");
        let twice = json!([{ "Id": "a", "MessageBody": "1" }, { "Id": "a", "MessageBody": "2" }]);
        assert_eq!(code(batch(twice.clone())), "AWS.SimpleQueueService.BatchEntryIdsNotDistinct");
        assert_eq!(sqs.act("SendMessageBatch", &batch(twice), now).unwrap_err().message, "Id a repeated.");
        let too_long_id = "x".repeat(81);
        for id in ["", "a.b", too_long_id.as_str()] {
            let entries = json!([{ "Id": id, "MessageBody": "1" }]);
            assert_eq!(code(batch(entries)), "AWS.SimpleQueueService.InvalidBatchEntryId", "{id:?}");
        }
        let half = "x".repeat(MAX_MESSAGE_BYTES / 2);
        let long = json!([{ "Id": "a", "MessageBody": half }, { "Id": "b", "MessageBody": format!("{half}y") }]);
        assert_eq!(code(batch(long)), "AWS.SimpleQueueService.BatchRequestTooLong");
        let elsewhere =
            json!({ "QueueUrl": queue_url(PORT, "Nowhere"), "Entries": [{ "Id": "a", "MessageBody": "1" }] });
        assert_eq!(code(elsewhere), "AWS.SimpleQueueService.NonExistentQueue");
        assert_eq!(sqs.pending("Work"), 0, "a refused batch sends nothing");

        let mixed = json!([
            { "Id": "ok-1", "MessageBody": "abc" },
            { "Id": "late", "MessageBody": "abc", "DelaySeconds": 1800 },
            { "Id": "binary", "MessageBody": "\u{0}" },
            { "Id": "empty" },
            { "Id": "ok_2", "MessageBody": "message digest", "DelaySeconds": 0 },
        ]);
        let answer = sqs.act("SendMessageBatch", &batch(mixed), now).unwrap();
        let successful = answer["Successful"].as_array().unwrap();
        let ids: Vec<&str> = successful.iter().map(|s| s["Id"].as_str().unwrap()).collect();
        assert_eq!(ids, ["ok-1", "ok_2"]);
        assert_eq!(successful[0]["MD5OfMessageBody"], "900150983cd24fb0d6963f7d28e17f72");
        assert_eq!(successful[1]["MD5OfMessageBody"], "f96b697d7cb7938d525a2f31aaf161d0");
        assert_ne!(successful[0]["MessageId"], successful[1]["MessageId"]);
        let failed: Vec<(&str, &str, bool)> = answer["Failed"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| (f["Id"].as_str().unwrap(), f["Code"].as_str().unwrap(), f["SenderFault"].as_bool().unwrap()))
            .collect();
        assert_eq!(
            failed,
            [
                ("late", "InvalidParameterValue", true),
                ("binary", "InvalidMessageContents", true),
                ("empty", "MissingParameter", true)
            ]
        );
        assert_eq!(sqs.pending("Work"), 2);
    }

    #[test]
    fn delayed_messages_wait_their_delay_the_queues_unless_their_own() {
        let sqs = sqs();
        let now = Instant::now();
        send(&sqs, "Slow", "queue's delay", now).unwrap();
        let own = json!({ "QueueUrl": queue_url(PORT, "Slow"), "MessageBody": "none", "DelaySeconds": 0 });
        sqs.act("SendMessage", &own, now).unwrap();
        let first = sqs.take_batch("Slow", 10, now);
        assert_eq!(first.iter().map(|m| m.body.as_str()).collect::<Vec<_>>(), ["none"]);
        assert!(sqs.take_batch("Slow", 10, now + Duration::from_secs(4)).is_empty());
        let later = sqs.take_batch("Slow", 10, now + Duration::from_secs(5));
        assert_eq!(later.iter().map(|m| m.body.as_str()).collect::<Vec<_>>(), ["queue's delay"]);
    }

    #[test]
    fn a_batch_takes_at_most_its_size_and_hides_what_it_took() {
        let sqs = sqs();
        let now = Instant::now();
        for i in 0..12 {
            send(&sqs, "Work", &format!("m{i}"), now).unwrap();
        }
        let first = sqs.take_batch("Work", 10, now);
        assert_eq!(first.len(), 10);
        assert_eq!(first[0].body, "m0", "oldest first");
        let first_record = first[0].record(&queue_arn("Work"));
        assert_eq!(first_record["eventSource"], "aws:sqs");
        assert_eq!(first_record["eventSourceARN"], "arn:aws:sqs:us-east-1:000000000000:Work");
        assert_eq!(first_record["attributes"]["ApproximateReceiveCount"], "1");
        assert_eq!(first_record["md5OfBody"], md5_hex(b"m0"));
        assert_eq!(first_record["receiptHandle"], first[0].receipt_handle);
        let rest = sqs.take_batch("Work", 10, now);
        assert_eq!(rest.iter().map(|m| m.body.as_str()).collect::<Vec<_>>(), ["m10", "m11"]);
        assert!(sqs.take_batch("Work", 10, now + Duration::from_secs(30)).is_empty(), "in flight");
        sqs.settle("Work", &first, &[]);
        sqs.settle("Work", &rest, &[]);
        assert_eq!(sqs.pending("Work"), 0);
    }

    #[test]
    fn only_the_failed_messages_come_back_after_the_visibility_timeout() {
        let sqs = sqs();
        let now = Instant::now();
        for body in ["ok", "retry"] {
            send(&sqs, "Work", body, now).unwrap();
        }
        let taken = sqs.take_batch("Work", 10, now);
        let answer = json!({ "batchItemFailures": [{ "itemIdentifier": taken[1].message_id }] });
        let failed = failed_items(&answer, &taken).unwrap();
        assert_eq!(failed, [taken[1].message_id.clone()]);
        sqs.settle("Work", &taken, &failed);
        assert_eq!(sqs.pending("Work"), 1);
        assert!(sqs.take_batch("Work", 10, now + LOCAL_MAX_VISIBILITY - Duration::from_millis(1)).is_empty());
        let again = sqs.take_batch("Work", 10, now + LOCAL_MAX_VISIBILITY);
        assert_eq!((again[0].body.as_str(), again[0].receive_count), ("retry", 2));
        assert_eq!(again[0].message_id, taken[1].message_id);
        assert_ne!(again[0].receipt_handle, taken[1].receipt_handle, "a receive has its own receipt handle");
        assert_eq!(again[0].first_receive_timestamp_ms, taken[1].first_receive_timestamp_ms);
    }

    #[test]
    fn a_message_received_max_receive_count_times_goes_to_the_dead_letter_queue() {
        let sqs = sqs();
        let start = Instant::now();
        send(&sqs, "Work", "poison", start).unwrap();
        let mut now = start;
        for receive in 1..=3 {
            let taken = sqs.take_batch("Work", 10, now);
            assert_eq!(taken.len(), 1, "receive {receive}");
            assert_eq!(taken[0].receive_count, receive);
            let all: Vec<String> = taken.iter().map(|m| m.message_id.clone()).collect();
            sqs.settle("Work", &taken, &all);
            now += LOCAL_MAX_VISIBILITY;
        }
        assert!(sqs.take_batch("Work", 10, now).is_empty(), "moved on the receive after the last allowed");
        assert_eq!(sqs.pending("Work"), 0);
        assert_eq!(sqs.dead_letters("Dead"), ["poison"]);
        assert!(sqs.dead_letters("Work").is_empty());
    }

    #[test]
    fn messages_past_the_retention_period_are_dropped() {
        let sqs = sqs();
        let now = Instant::now();
        send(&sqs, "Work", "old", now).unwrap();
        assert!(sqs.take_batch("Work", 10, now + Duration::from_secs(3600)).is_empty());
        assert_eq!(sqs.pending("Work"), 0);
    }

    #[test]
    fn a_batch_response_names_failures_or_fails_the_batch() {
        let sqs = sqs();
        let now = Instant::now();
        send(&sqs, "Work", "one", now).unwrap();
        let taken = sqs.take_batch("Work", 10, now);
        let id = taken[0].message_id.as_str();
        for success in
            [Value::Null, json!({}), json!({ "batchItemFailures": [] }), json!({ "batchItemFailures": null })]
        {
            assert_eq!(failed_items(&success, &taken), Ok(vec![]), "{success}");
        }
        let named = json!({ "batchItemFailures": [{ "itemIdentifier": id }] });
        assert_eq!(failed_items(&named, &taken), Ok(vec![id.to_string()]));
        for whole in [
            json!("ok"),
            json!({ "batchItemFailures": "all" }),
            json!({ "batchItemFailures": [{ "itemIdentifier": "" }] }),
            json!({ "batchItemFailures": [{ "itemIdentifier": null }] }),
            json!({ "batchItemFailures": [{ "id": id }] }),
            json!({ "batchItemFailures": [{ "itemIdentifier": "another" }] }),
        ] {
            assert!(failed_items(&whole, &taken).is_err(), "{whole}");
        }
    }
}
