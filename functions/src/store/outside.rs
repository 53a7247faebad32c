//! Messages to people outside the app: a person's SMS (SNS `Publish` to a phone number) and
//! email (SES `SendEmail`), and the operator's topic (SNS `Publish` to `ReportTopic`, which
//! emails `ReportTopicEmail` when the deployment gives one).

use super::ports::Messenger;
use super::{aws, malformed, Result};
use aws_sdk_sesv2::types::{Body, Content, Destination, EmailContent, Message};
use im_adapters::Clients;

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
    async fn notify_operator(&self, subject: &str, text: &str) -> Result<()> {
        let Some(topic) = &self.config.report_topic_arn else { return Ok(()) };
        // An email subscription shows the subject; SNS caps it at 100 characters.
        let subject: String = subject.chars().take(100).collect();
        self.sns.publish().topic_arn(topic).subject(subject).message(text).send().await.map_err(aws)?;
        Ok(())
    }
    fn can_email(&self) -> bool {
        self.config.reset_email_from.is_some()
    }
    fn calling_code(&self) -> &str {
        &self.config.sms_calling_code
    }
}
