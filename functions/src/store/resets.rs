//! Password reset codes (issue 27), in the users table: `reset#<user>` holds the code's hash,
//! when it expires (the table's TTL sweeps it) and the wrong guesses so far. One code per
//! account: a new one replaces the last. The code reaches its owner by SMS (SNS `Publish` to a
//! phone number) or email (SES `SendEmail`).

use super::ports::{Messenger, ResetStore};
use super::{aws, from_item, lost_condition, malformed, n, s, to_item, Result};
use crate::domain::ids::UserId;
use aws_sdk_dynamodb::types::ReturnValue;
use aws_sdk_sesv2::types::{Body, Content, Destination, EmailContent, Message};
use im_adapters::Clients;
use serde::{Deserialize, Serialize};

/// A code as stored.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Reset {
    pub code: String,
    pub expires_at: u64,
    #[serde(default)]
    pub tries: u64,
}

fn key(user: UserId) -> String {
    format!("reset#{user}")
}

impl ResetStore for Clients {
    async fn put_reset(&self, user: UserId, reset: &Reset) -> Result<()> {
        let mut item = to_item(reset)?;
        item.insert("pk".into(), s(key(user)));
        self.dynamodb
            .put_item()
            .table_name(&self.config.tables.users)
            .set_item(Some(item))
            .send()
            .await
            .map_err(aws)?;
        Ok(())
    }
    async fn reset_of(&self, user: UserId) -> Result<Option<Reset>> {
        let get = self.dynamodb.get_item().table_name(&self.config.tables.users).key("pk", s(key(user)));
        let out = get.consistent_read(true).send().await.map_err(aws)?;
        out.item.map(from_item).transpose()
    }
    async fn count_reset_try(&self, user: UserId) -> Result<u64> {
        let update = self
            .dynamodb
            .update_item()
            .table_name(&self.config.tables.users)
            .key("pk", s(key(user)))
            .update_expression("ADD tries :one")
            .condition_expression("attribute_exists(pk)")
            .expression_attribute_values(":one", n(1))
            .return_values(ReturnValue::UpdatedNew)
            .send()
            .await;
        match update {
            Ok(out) => {
                let tries = out.attributes.and_then(|a| a.get("tries").and_then(|v| v.as_n().ok()).cloned());
                tries.and_then(|t| t.parse().ok()).ok_or_else(|| malformed("a reset without its tries"))
            }
            // Used or replaced meanwhile: as many tries as a blocked code.
            Err(err) if lost_condition(&err) => Ok(u64::MAX),
            Err(err) => Err(aws(err)),
        }
    }
    async fn delete_reset(&self, user: UserId) -> Result<()> {
        let delete = self.dynamodb.delete_item().table_name(&self.config.tables.users).key("pk", s(key(user)));
        delete.send().await.map_err(aws)?;
        Ok(())
    }
}

impl Messenger for Clients {
    async fn send_sms(&self, number: &str, text: &str) -> Result<()> {
        let publish = self.sns.publish().phone_number(number).message(text);
        // A one-time code: SNS's transactional route, which it delivers first.
        let kind = aws_sdk_sns::types::MessageAttributeValue::builder()
            .data_type("String")
            .string_value("Transactional")
            .build()
            .map_err(malformed)?;
        publish.message_attributes("AWS.SNS.SMS.SMSType", kind).send().await.map_err(aws)?;
        Ok(())
    }
    async fn send_email(&self, to: &str, subject: &str, text: &str) -> Result<()> {
        let from = self.config.reset_email_from.clone().ok_or_else(|| malformed("no sender for emails"))?;
        let data = |text: &str| Content::builder().data(text).charset("UTF-8").build().map_err(malformed);
        let message =
            Message::builder().subject(data(subject)?).body(Body::builder().text(data(text)?).build()).build();
        self.sesv2
            .send_email()
            .from_email_address(from)
            .destination(Destination::builder().to_addresses(to).build())
            .content(EmailContent::builder().simple(message).build())
            .send()
            .await
            .map_err(aws)?;
        Ok(())
    }
    fn can_email(&self) -> bool {
        self.config.reset_email_from.is_some()
    }
    fn calling_code(&self) -> &str {
        &self.config.sms_calling_code
    }
}
