//! The template's SQS queues (`AWS::SQS::Queue`, with AWS's defaults and bounds) and the
//! functions' `SQS` events, the event source mappings that deliver their messages.

use super::document::{Expr, Integer, QueueProperties, Resource, SqsEvent};
use super::{of_type, shaped, FunctionResource, TemplateError};
use serde_yaml::Value;
use std::collections::BTreeMap;

/// An SQS queue (`AWS::SQS::Queue`), named locally by its logical id.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Queue {
    pub logical_id: String,
    /// `VisibilityTimeout`: how long a received message stays hidden (AWS's default 30 s).
    pub visibility_timeout_secs: u64,
    /// `MessageRetentionPeriod`: how long a message is kept (AWS's default 4 days).
    pub retention_secs: u64,
    /// `DelaySeconds`: the delay of a message that does not name its own (default 0).
    pub delay_secs: u64,
    /// `RedrivePolicy`: the dead-letter queue's logical id and `maxReceiveCount`.
    pub dead_letter: Option<(String, u32)>,
}

/// An SQS event source mapping (a function's `SQS` event): the function a queue's messages go to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct QueueMapping {
    /// The queue's logical id.
    pub queue: String,
    /// The function's binary name.
    pub function: String,
    /// `BatchSize`: the most messages in one invocation (default 10).
    pub batch_size: usize,
    /// `FunctionResponseTypes: [ReportBatchItemFailures]`: the function may name the messages
    /// that failed, and only those are retried.
    pub report_failures: bool,
}

/// A whole-number property within AWS's bounds (CloudFormation refuses the stack otherwise),
/// or its default.
fn bounded(
    id: &str,
    name: &str,
    value: Option<Integer>,
    default: u64,
    bounds: std::ops::RangeInclusive<u64>,
) -> Result<u64, TemplateError> {
    let value = value.map_or(default, |v| v.0);
    if !bounds.contains(&value) {
        let (low, high) = (bounds.start(), bounds.end());
        return Err(TemplateError::Shape(format!("{id}: {name} {value} is not within {low}..={high}")));
    }
    Ok(value)
}

/// The queue a value names: `!GetAtt Q.Arn` or a local queue ARN, `Q` a queue of the template.
fn queue_named(value: &Expr, resources: &BTreeMap<String, Resource>) -> Option<String> {
    fn reference(value: &Expr) -> Option<&str> {
        match value {
            Expr::GetAtt(attribute) => attribute.strip_suffix(".Arn"),
            _ => None,
        }
    }
    super::arns::resource_named(value, resources, ("AWS::SQS::Queue", "sqs"), reference)
}

/// The SQS queues, with AWS's defaults and bounds. FIFO queues are refused: their ordering and
/// deduplication are not emulated.
pub(super) fn read_queues(resources: &BTreeMap<String, Resource>) -> Result<Vec<Queue>, TemplateError> {
    let mut queues = vec![];
    for (id, resource) in of_type(resources, "AWS::SQS::Queue") {
        let properties: QueueProperties = shaped(id, resource.properties())?;
        let fifo = matches!(&properties.fifo_queue, Some(Value::Bool(true)))
            || matches!(&properties.fifo_queue, Some(Value::String(s)) if s.eq_ignore_ascii_case("true"));
        if fifo {
            return Err(TemplateError::Shape(format!("{id}: FIFO queues are not emulated (infra/local/src/sqs/)")));
        }
        let dead_letter = match &properties.redrive_policy {
            None => None,
            Some(policy) => {
                let target = queue_named(&policy.dead_letter_target_arn, resources).ok_or_else(|| {
                    TemplateError::Shape(format!(
                        "{id}: deadLetterTargetArn must be !GetAtt of a queue of the template"
                    ))
                })?;
                let receives = bounded(id, "maxReceiveCount", Some(policy.max_receive_count), 0, 1..=1000)?;
                Some((target, receives as u32))
            }
        };
        queues.push(Queue {
            logical_id: id.clone(),
            visibility_timeout_secs: bounded(id, "VisibilityTimeout", properties.visibility_timeout, 30, 0..=43_200)?,
            retention_secs: bounded(
                id,
                "MessageRetentionPeriod",
                properties.message_retention_period,
                345_600,
                60..=1_209_600,
            )?,
            delay_secs: bounded(id, "DelaySeconds", properties.delay_seconds, 0, 0..=900)?,
            dead_letter,
        });
    }
    Ok(queues)
}

/// Every function's `SQS` events, checked as Lambda checks an event source mapping: a batch
/// size Lambda accepts, and a function that cannot outlive its messages' invisibility (a
/// `Timeout` longer than the queue's `VisibilityTimeout` is refused, as `CreateEventSourceMapping`
/// refuses it). A disabled mapping (`Enabled: false`) delivers nothing and is left out.
pub(super) fn read_queue_mappings(
    resources: &BTreeMap<String, Resource>,
    functions: &[FunctionResource],
    queues: &[Queue],
    timeouts: &BTreeMap<String, u64>,
) -> Result<Vec<QueueMapping>, TemplateError> {
    let mut mappings = vec![];
    for function in functions {
        let id = function.id;
        for event in function.properties.events.iter().filter(|event| event.kind == "SQS") {
            let properties: SqsEvent = shaped(id, event.properties())?;
            if properties.enabled == Some(false) {
                continue;
            }
            if properties.filter_criteria.is_some() {
                return Err(TemplateError::Shape(format!(
                    "{id}: FilterCriteria is not emulated (infra/local/src/sqs/)"
                )));
            }
            let named = queue_named(&properties.queue, resources);
            let queue = queues.iter().find(|q| named.as_deref() == Some(q.logical_id.as_str())).ok_or_else(|| {
                TemplateError::Shape(format!("{id}: an SQS event's Queue must be !GetAtt of a queue of the template"))
            })?;
            let batch_size = bounded(id, "BatchSize", properties.batch_size, 10, 1..=10_000)?;
            let window = properties.maximum_batching_window_in_seconds.map_or(0, |w| w.0);
            if batch_size > 10 && window == 0 {
                let message = format!("{id}: a BatchSize over 10 needs a MaximumBatchingWindowInSeconds of at least 1");
                return Err(TemplateError::Shape(message));
            }
            let mut report_failures = false;
            for kind in &properties.function_response_types {
                match kind.as_str() {
                    "ReportBatchItemFailures" => report_failures = true,
                    other => {
                        return Err(TemplateError::Shape(format!("{id}: unknown FunctionResponseTypes {other}")));
                    }
                }
            }
            let timeout = timeouts.get(&function.binary).copied().unwrap_or(3);
            if timeout > queue.visibility_timeout_secs {
                return Err(TemplateError::Shape(format!(
                    "{id}: Queue visibility timeout: {} seconds is less than Function timeout: {timeout} seconds",
                    queue.visibility_timeout_secs
                )));
            }
            mappings.push(QueueMapping {
                queue: queue.logical_id.clone(),
                function: function.binary.clone(),
                batch_size: batch_size as usize,
                report_failures,
            });
        }
    }
    Ok(mappings)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::template::{queue_arn, Template, LOCAL_ACCOUNT, LOCAL_REGION};

    /// Queues with AWS's defaults, a redrive policy to a dead-letter queue, the function their
    /// messages go to, and `!Ref`/`!GetAtt` of a queue: its URL's queue, its ARN.
    #[test]
    fn queues_and_their_event_source_mappings_are_read() {
        let template = |push_queue: &str, extra: &str| {
            format!(
                "Globals:
  Function:
    Timeout: 10
    Environment:
      Variables:
        PUSH_QUEUE_URL: {push_queue}
Resources:
  PushQueue:
    Type: AWS::SQS::Queue
    Properties:
      VisibilityTimeout: 60
      MessageRetentionPeriod: 3600
      SqsManagedSseEnabled: true
      RedrivePolicy: {{ deadLetterTargetArn: !GetAtt PushDeadLetterQueue.Arn, maxReceiveCount: 3 }}
  PushDeadLetterQueue:
    Type: AWS::SQS::Queue
    Properties: {{ MessageRetentionPeriod: 1209600, SqsManagedSseEnabled: true }}
  PushFunction:
    Type: AWS::Serverless::Function
    Metadata: {{ BuildMethod: rust-cargolambda, BuildProperties: {{ Binary: push }} }}
    Properties:
      FunctionName: !Sub \"${{AWS::StackName}}-push\"
      Events:
        Queue:
          Type: SQS
          Properties:
            {{ Queue: !GetAtt PushQueue.Arn, BatchSize: 10, FunctionResponseTypes: [ReportBatchItemFailures] }}
  SendFunction:
    Type: AWS::Serverless::Function
    Metadata: {{ BuildProperties: {{ Binary: send }} }}
    Properties:
      Policies:
        - Statement: [{{ Effect: Allow, Action: sqs:SendMessage, Resource: !GetAtt PushQueue.Arn }}]
{extra}"
            )
        };
        let t = Template::parse(&template("!Ref PushQueue", "")).unwrap();
        assert_eq!(
            t.queues,
            vec![
                Queue {
                    logical_id: "PushDeadLetterQueue".into(),
                    visibility_timeout_secs: 30,
                    retention_secs: 1_209_600,
                    delay_secs: 0,
                    dead_letter: None,
                },
                Queue {
                    logical_id: "PushQueue".into(),
                    visibility_timeout_secs: 60,
                    retention_secs: 3600,
                    delay_secs: 0,
                    dead_letter: Some(("PushDeadLetterQueue".into(), 3)),
                },
            ]
        );
        let mapping =
            QueueMapping { queue: "PushQueue".into(), function: "push".into(), batch_size: 10, report_failures: true };
        assert_eq!(t.queue_mappings, vec![mapping]);
        assert_eq!(t.push_queue.as_deref(), Some("PushQueue"));
        assert_eq!(t.function_names["local-push"], "push");
        assert_eq!(t.policies["send"][0].resources, vec![queue_arn("PushQueue")]);
        assert_eq!(queue_arn("PushQueue"), format!("arn:aws:sqs:{LOCAL_REGION}:{LOCAL_ACCOUNT}:PushQueue"));

        // Defaults: a mapping's batch of 10, no partial failures, a queue's 4 days and 30 s.
        let plain = "  Plain: { Type: AWS::SQS::Queue }
  PlainFunction:
    Type: AWS::Serverless::Function
    Metadata: { BuildProperties: { Binary: plain } }
    Properties:
      Timeout: 30
      Events:
        Q: { Type: SQS, Properties: { Queue: !GetAtt Plain.Arn } }
        Off: { Type: SQS, Properties: { Queue: !GetAtt Plain.Arn, Enabled: false } }";
        let t = Template::parse(&template("!Ref PushQueue", plain)).unwrap();
        let queue = t.queues.iter().find(|q| q.logical_id == "Plain").unwrap();
        assert_eq!((queue.visibility_timeout_secs, queue.retention_secs, queue.delay_secs), (30, 345_600, 0));
        let mapping = t.queue_mappings.iter().find(|m| m.queue == "Plain").unwrap();
        assert_eq!((mapping.batch_size, mapping.report_failures), (10, false));
        assert_eq!(t.queue_mappings.len(), 2, "the disabled mapping delivers nothing");

        for (push_queue, refused) in [
            ("!Ref Nowhere", ""),
            ("!GetAtt PushQueue.Arn", ""),
            ("!Ref PushQueue", "  Fifo: { Type: AWS::SQS::Queue, Properties: { FifoQueue: true } }"),
            ("!Ref PushQueue", "  Slow: { Type: AWS::SQS::Queue, Properties: { VisibilityTimeout: 43201 } }"),
            (
                "!Ref PushQueue",
                "  Lost: { Type: AWS::SQS::Queue, Properties: { RedrivePolicy: { deadLetterTargetArn: !GetAtt \
                 SendFunction.Arn, maxReceiveCount: 3 } } }",
            ),
            (
                "!Ref PushQueue",
                "  Never: { Type: AWS::SQS::Queue, Properties: { RedrivePolicy: { deadLetterTargetArn: !GetAtt \
                 PushDeadLetterQueue.Arn, maxReceiveCount: 0 } } }",
            ),
            // Lambda refuses a function that may outlive its messages' invisibility.
            (
                "!Ref PushQueue",
                "  Short: { Type: AWS::SQS::Queue, Properties: { VisibilityTimeout: 5 } }
  ShortFunction:
    Type: AWS::Serverless::Function
    Metadata: { BuildProperties: { Binary: short } }
    Properties: { Events: { Q: { Type: SQS, Properties: { Queue: !GetAtt Short.Arn } } } }",
            ),
            (
                "!Ref PushQueue",
                "  BigFunction:
    Type: AWS::Serverless::Function
    Metadata: { BuildProperties: { Binary: big } }
    Properties: { Events: { Q: { Type: SQS, Properties: { Queue: !GetAtt PushQueue.Arn, BatchSize: 11 } } } }",
            ),
            (
                "!Ref PushQueue",
                "  NoQueueFunction:
    Type: AWS::Serverless::Function
    Metadata: { BuildProperties: { Binary: no_queue } }
    Properties: { Events: { Q: { Type: SQS, Properties: { Queue: !Ref PushQueue } } } }",
            ),
        ] {
            let parsed = Template::parse(&template(push_queue, refused));
            assert!(matches!(parsed, Err(TemplateError::Shape(_))), "{push_queue} {refused}: {parsed:?}");
        }
    }
}
