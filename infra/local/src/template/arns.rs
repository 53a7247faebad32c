//! The local stack's names for what the template declares: its region, account and stack, the
//! ARNs of its tables, bucket, queues, topics and functions, and the template's references
//! resolved to them.

use super::document::{Expr, Resource};
use std::collections::BTreeMap;

/// The local stack's region and account, in every ARN it makes.
pub const LOCAL_REGION: &str = "us-east-1";
pub const LOCAL_ACCOUNT: &str = "000000000000";
/// The local stack's `AWS::StackName`.
pub const LOCAL_STACK_NAME: &str = "local";

/// The local ARN of a function, from its name or its ARN.
pub fn function_arn(name: &str) -> String {
    if name.starts_with("arn:") {
        return name.to_string();
    }
    format!("arn:aws:lambda:{LOCAL_REGION}:{LOCAL_ACCOUNT}:function:{name}")
}

/// The local ARN of a table.
pub fn table_arn(table: &str) -> String {
    format!("arn:aws:dynamodb:{LOCAL_REGION}:{LOCAL_ACCOUNT}:table/{table}")
}

/// The local ARN of a queue; locally a queue is named by its logical id.
pub fn queue_arn(logical_id: &str) -> String {
    format!("arn:aws:sqs:{LOCAL_REGION}:{LOCAL_ACCOUNT}:{logical_id}")
}

/// The local ARN of a topic; locally a topic is named by its logical id, as a queue is.
pub fn topic_arn(logical_id: &str) -> String {
    format!("arn:aws:sns:{LOCAL_REGION}:{LOCAL_ACCOUNT}:{logical_id}")
}

/// The logical id of the template's resource of `kind` that a value names: by the reference the
/// resource's ARN is (`reference`: a topic's `!Ref`, a queue's `!GetAtt Q.Arn`) or by its local
/// ARN in `service` (`arn:aws:{service}:...:{logical id}`).
pub(super) fn resource_named(
    value: &Expr,
    resources: &BTreeMap<String, Resource>,
    (kind, service): (&str, &str),
    reference: impl Fn(&Expr) -> Option<&str>,
) -> Option<String> {
    let id = match value {
        Expr::Literal(arn) => arn.strip_prefix(&format!("arn:aws:{service}:"))?.rsplit(':').next()?,
        other => reference(other)?,
    };
    let is_kind = resources.get(id).is_some_and(|resource| resource.kind == kind);
    is_kind.then(|| id.to_string())
}

/// Local name of a bucket: its logical id in kebab case (`AudioBucket` → `audio-bucket`).
pub fn bucket_name(logical_id: &str) -> String {
    let mut name = String::new();
    for (i, c) in logical_id.chars().enumerate() {
        if c.is_ascii_uppercase() && i > 0 {
            name.push('-');
        }
        name.push(c.to_ascii_lowercase());
    }
    name
}

/// Resolves a value to the local stack's names: a literal as it is, `!GetAtt X.Arn` of a table,
/// a queue or the bucket, `!Ref` of a topic (its ARN), and `!Sub` with `${X.Arn}` (`${X}` of a topic: its ARN, as its `!Ref`),
/// `${AWS::Region}`, `${AWS::AccountId}`, `${AWS::Partition}`, `${AWS::StackName}`,
/// `${WebSocketApi}` and `${StageName}`.
pub(super) struct LocalArns<'a> {
    pub resources: &'a BTreeMap<String, Resource>,
    pub stage: &'a str,
}

impl LocalArns<'_> {
    fn arn_of(&self, id: &str) -> Result<String, String> {
        match self.resources.get(id).map(|resource| resource.kind.as_str()) {
            Some("AWS::DynamoDB::Table") => Ok(table_arn(id)),
            Some("AWS::S3::Bucket") => Ok(format!("arn:aws:s3:::{}", bucket_name(id))),
            Some("AWS::SQS::Queue") => Ok(queue_arn(id)),
            Some("AWS::SNS::Topic") => Ok(topic_arn(id)),
            _ => Err(format!("no local ARN for {id}")),
        }
    }

    /// The value resolved, or why it cannot be.
    pub fn resolve(&self, value: &Expr) -> Result<String, String> {
        match value {
            Expr::Literal(literal) => Ok(literal.clone()),
            Expr::GetAtt(attribute) => self.arn_of(attribute.trim_end_matches(".Arn")),
            Expr::Sub(text) => {
                let mut out = String::new();
                let mut rest = text.as_str();
                while let Some(start) = rest.find("${") {
                    out.push_str(&rest[..start]);
                    let end = rest[start..].find('}').ok_or_else(|| format!("bad !Sub {text}"))?;
                    let name = &rest[start + 2..start + end];
                    out.push_str(&match name {
                        "AWS::Region" => LOCAL_REGION.to_string(),
                        "AWS::AccountId" => LOCAL_ACCOUNT.to_string(),
                        "AWS::Partition" => "aws".to_string(),
                        "AWS::StackName" => LOCAL_STACK_NAME.to_string(),
                        "WebSocketApi" => "local".to_string(),
                        "StageName" => self.stage.to_string(),
                        other => self.arn_of(other.trim_end_matches(".Arn"))?,
                    });
                    rest = &rest[start + end + 1..];
                }
                out.push_str(rest);
                Ok(out)
            }
            // A topic's `!Ref` is its ARN; any other resource's is a name, never a policy's resource.
            Expr::Ref(id) if self.resources.get(id).is_some_and(|r| r.kind == "AWS::SNS::Topic") => Ok(topic_arn(id)),
            Expr::Ref(id) => Err(format!("unsupported Resource !Ref {id}")),
            Expr::Other(other) => Err(format!("unsupported Resource {other:?}")),
        }
    }
}
