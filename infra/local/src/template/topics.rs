//! The template's SNS topics (`AWS::SNS::Topic`) and the functions' `SNS` events, the Lambda
//! subscriptions SNS invokes with what is published to a topic. Locally nothing but SNS itself
//! publishes to them: the platform applications' delivery failures (`crate::sns`) and the
//! functions' own `Publish` to a topic (reports of abuse to `ReportTopic`).

use super::document::{Expr, Resource};
use super::{of_type, shaped, FunctionResource, TemplateError};
use serde::Deserialize;
use serde_yaml::Value;
use std::collections::BTreeMap;

/// The topic the local platform applications tell of their delivery failures
/// (`EventDeliveryFailure`), when the template has one by this logical id: on AWS the operator
/// sets it on each application (docs/DEPLOYMENT.md).
pub const PUSH_EVENTS_TOPIC: &str = "PushEventsTopic";

/// The topic reports of abuse are published to, when the template has one by this logical id
/// (its `REPORT_TOPIC_ARN`).
pub const REPORT_TOPIC: &str = "ReportTopic";

/// A function's `SNS` event: the function subscribed to a topic.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TopicSubscription {
    /// The topic's logical id (its local ARN: `topic_arn`).
    pub topic: String,
    /// The function's binary name.
    pub function: String,
}

/// An `SNS` event's `Properties`: the function subscribed to a topic.
#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct SnsEvent {
    topic: Expr,
    /// Read only to be refused: the local topic neither filters nor delivers through a queue.
    filter_policy: Option<Value>,
    filter_policy_scope: Option<Value>,
    sqs_subscription: Option<Value>,
}

/// `AWS::SNS::Topic`'s `Properties`: those that change nothing the functions can see. Any other
/// (an inline `Subscription`, `FifoTopic`, a delivery policy) changes what the topic does and
/// is refused, rather than silently not emulated.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct TopicProperties {
    #[serde(rename = "KmsMasterKeyId")]
    _kms_master_key_id: Option<Value>,
    #[serde(rename = "TopicName")]
    _topic_name: Option<Value>,
    #[serde(rename = "DisplayName")]
    _display_name: Option<Value>,
    #[serde(rename = "Tags")]
    _tags: Option<Value>,
}

/// The topic a value names: `!Ref T` (a topic's `!Ref` is its ARN) or a local topic ARN, `T` a
/// topic of the template.
fn topic_named(value: &Expr, resources: &BTreeMap<String, Resource>) -> Option<String> {
    fn reference(value: &Expr) -> Option<&str> {
        match value {
            Expr::Ref(id) => Some(id.as_str()),
            _ => None,
        }
    }
    super::arns::resource_named(value, resources, ("AWS::SNS::Topic", "sns"), reference)
}

/// The topics' logical ids, in logical id order; a topic with a property that changes what it
/// does is refused (`TopicProperties`).
pub(super) fn read_topics(resources: &BTreeMap<String, Resource>) -> Result<Vec<String>, TemplateError> {
    let mut topics = vec![];
    for (id, resource) in of_type(resources, "AWS::SNS::Topic") {
        let _: TopicProperties = shaped(id, resource.properties())?;
        topics.push(id.clone());
    }
    Ok(topics)
}

/// Every function's `SNS` events, function by function in logical id order. A filter policy
/// and a subscription through a queue are refused: neither is emulated.
pub(super) fn read_topic_subscriptions(
    resources: &BTreeMap<String, Resource>,
    functions: &[FunctionResource],
) -> Result<Vec<TopicSubscription>, TemplateError> {
    let mut subscriptions = vec![];
    for function in functions {
        let id = function.id;
        for event in function.properties.events.iter().filter(|event| event.kind == "SNS") {
            let properties: SnsEvent = shaped(id, event.properties())?;
            let refused = [
                ("FilterPolicy", properties.filter_policy.is_some()),
                ("FilterPolicyScope", properties.filter_policy_scope.is_some()),
                ("SqsSubscription", properties.sqs_subscription.as_ref().is_some_and(|s| *s != Value::Bool(false))),
            ];
            if let Some((name, _)) = refused.iter().find(|(_, present)| *present) {
                let message = format!("{id}: an SNS event's {name} is not emulated (infra/local/src/sns/)");
                return Err(TemplateError::Shape(message));
            }
            let topic = topic_named(&properties.topic, resources).ok_or_else(|| {
                TemplateError::Shape(format!("{id}: an SNS event's Topic must be !Ref of a topic of the template"))
            })?;
            subscriptions.push(TopicSubscription { topic, function: function.binary.clone() });
        }
    }
    Ok(subscriptions)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::template::{topic_arn, Template, LOCAL_ACCOUNT, LOCAL_REGION};

    /// A topic as the project declares it, a function subscribed by `!Ref` and another by ARN;
    /// an SNS event naming anything but a topic of the template, or asking for what the local
    /// topic does not do, is refused.
    #[test]
    fn topics_and_their_lambda_subscriptions_are_read() {
        let template = |extra: &str| {
            format!(
                "Resources:
  PushEventsTopic:
    Type: AWS::SNS::Topic
    Properties: {{ KmsMasterKeyId: alias/aws/sns, DisplayName: push events }}
  PushQueue: {{ Type: AWS::SQS::Queue }}
  PushFeedbackFunction:
    Type: AWS::Serverless::Function
    Metadata: {{ BuildMethod: rust-cargolambda, BuildProperties: {{ Binary: push_feedback }} }}
    Properties:
      Events:
        Failures: {{ Type: SNS, Properties: {{ Topic: !Ref PushEventsTopic }} }}
{extra}"
            )
        };
        let t = Template::parse(&template("")).unwrap();
        let subscription = TopicSubscription { topic: "PushEventsTopic".into(), function: "push_feedback".into() };
        assert_eq!(t.topic_subscriptions, vec![subscription]);
        assert_eq!(t.push_events_topic.as_deref(), Some(PUSH_EVENTS_TOPIC));
        assert_eq!(topic_arn("PushEventsTopic"), format!("arn:aws:sns:{LOCAL_REGION}:{LOCAL_ACCOUNT}:PushEventsTopic"));

        let by_arn = format!(
            "  AuditFunction:
    Type: AWS::Serverless::Function
    Metadata: {{ BuildProperties: {{ Binary: audit }} }}
    Properties: {{ Events: {{ E: {{ Type: SNS, Properties: {{ Topic: \"{}\" }} }} }} }}",
            topic_arn("PushEventsTopic")
        );
        let t = Template::parse(&template(&by_arn)).unwrap();
        let functions: Vec<&str> = t.topic_subscriptions.iter().map(|s| s.function.as_str()).collect();
        assert_eq!(functions, ["audit", "push_feedback"], "function by function in logical id order");

        let other = "  OtherTopic: { Type: AWS::SNS::Topic }";
        let t = Template::parse(&template(other)).unwrap();
        assert_eq!(t.push_events_topic.as_deref(), Some(PUSH_EVENTS_TOPIC));
        let none = Template::parse(&template("").replace("PushEventsTopic", "AlertsTopic")).unwrap();
        assert_eq!(none.push_events_topic, None, "only the topic of that name tells of delivery failures");

        let subscribed = |properties: &str| {
            format!(
                "  OtherFunction:
    Type: AWS::Serverless::Function
    Metadata: {{ BuildProperties: {{ Binary: other }} }}
    Properties: {{ Events: {{ E: {{ Type: SNS, Properties: {properties} }} }} }}"
            )
        };
        for refused in [
            subscribed("{ Topic: !Ref PushQueue }"),
            subscribed("{ Topic: !Ref Nowhere }"),
            subscribed("{ Topic: !GetAtt PushEventsTopic.TopicName }"),
            subscribed("{ Topic: \"arn:aws:sns:us-east-1:000000000000:Nowhere\" }"),
            subscribed("{ Topic: !Ref PushEventsTopic, FilterPolicy: { kind: [a] } }"),
            subscribed("{ Topic: !Ref PushEventsTopic, SqsSubscription: true }"),
            subscribed("{ Topic: !Ref PushEventsTopic, SqsSubscription: { BatchSize: 5 } }"),
            "  Fifo: { Type: AWS::SNS::Topic, Properties: { FifoTopic: true } }".to_string(),
            "  Inline:
    Type: AWS::SNS::Topic
    Properties: { Subscription: [{ Endpoint: a@b.c, Protocol: email }] }"
                .to_string(),
        ] {
            let parsed = Template::parse(&template(&refused));
            assert!(matches!(parsed, Err(TemplateError::Shape(_))), "{refused}: {parsed:?}");
        }
    }
}
