//! The outboxes themselves: what each recipient got, checked as AWS checks it.

use serde::Serialize;
use std::sync::Mutex;

/// The local stack's verified SES identity: `RESET_EMAIL_FROM` of its functions.
pub const LOCAL_SENDER: &str = "no-reply@im.localhost";
/// SNS's cap on one SMS publish (its parts together).
pub const MAX_SMS_BYTES: usize = 1600;
/// SES's cap on the recipients of one email.
pub const MAX_RECIPIENTS: usize = 50;

/// One message as its recipient got it.
#[derive(Clone, Debug, Serialize)]
pub struct Received {
    pub to: String,
    /// The sender: an email's `From`; an SMS's is empty.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub from: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub subject: String,
    pub text: String,
    /// When, in unix seconds.
    pub at: u64,
}

#[derive(Default)]
pub struct Outbox {
    pub(super) sms: Mutex<Vec<Received>>,
    pub(super) mail: Mutex<Vec<Received>>,
    /// What was published to topics, `to` the topic's ARN (an email subscription's view).
    pub(super) topics: Mutex<Vec<Received>>,
}

fn now() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0)
}

/// Whether `number` is an E.164 number, as SNS requires of `PhoneNumber`.
pub fn is_e164(number: &str) -> bool {
    number.strip_prefix('+').is_some_and(|digits| {
        (2..=15).contains(&digits.len()) && digits.bytes().all(|b| b.is_ascii_digit()) && !digits.starts_with('0')
    })
}

impl Outbox {
    /// An SMS, checked as SNS checks it: `Err` carries SNS's message.
    pub fn text(&self, to: &str, message: &str) -> Result<(), String> {
        if !is_e164(to) {
            return Err(format!("Invalid parameter: PhoneNumber Reason: {to} is not valid to publish to"));
        }
        if message.is_empty() {
            return Err("Invalid parameter: Empty message".into());
        }
        if message.len() > MAX_SMS_BYTES {
            return Err("Invalid parameter: Message too long".into());
        }
        let received =
            Received { to: to.into(), from: String::new(), subject: String::new(), text: message.into(), at: now() };
        self.sms.lock().unwrap_or_else(|e| e.into_inner()).push(received);
        Ok(())
    }

    /// An email to each recipient.
    pub fn mail(&self, from: &str, to: &[String], subject: &str, text: &str) {
        let mut mail = self.mail.lock().unwrap_or_else(|e| e.into_inner());
        for recipient in to {
            let received = Received {
                to: recipient.clone(),
                from: from.into(),
                subject: subject.into(),
                text: text.into(),
                at: now(),
            };
            mail.push(received);
        }
    }

    /// A message published to a topic.
    pub fn publish(&self, topic_arn: &str, subject: &str, text: &str) {
        let received = Received {
            to: topic_arn.into(),
            from: String::new(),
            subject: subject.into(),
            text: text.into(),
            at: now(),
        };
        self.topics.lock().unwrap_or_else(|e| e.into_inner()).push(received);
    }

    pub(super) fn to(list: &Mutex<Vec<Received>>, to: &str) -> Vec<Received> {
        list.lock().unwrap_or_else(|e| e.into_inner()).iter().filter(|m| m.to == to).cloned().collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sms_needs_an_e164_number_and_a_bounded_message() {
        let outbox = Outbox::default();
        assert!(outbox.text("+8613800138000", "code 123456").is_ok());
        for bad in ["13800138000", "+", "+0123", "+12345678901234567", "+86 138"] {
            assert!(outbox.text(bad, "hi").unwrap_err().contains("PhoneNumber"), "{bad}");
        }
        assert!(outbox.text("+15550100199", &"x".repeat(MAX_SMS_BYTES + 1)).is_err());
        assert_eq!(Outbox::to(&outbox.sms, "+8613800138000").len(), 1);
    }
}
