//! IAM, enforced locally from the template: every AWS call a function makes is checked against
//! that function's `Policies` before it leaves the process (an SDK interceptor on the clients
//! the local stack gives the function). A call AWS would refuse fails as AWS fails it: the
//! request goes to the gateway's `/__denied/{service}`, which answers DynamoDB's
//! `AccessDeniedException`, S3's `403 AccessDenied`, SNS's `403 AuthorizationError`, SQS's
//! `403 AccessDenied`, `@connections`' or Lambda's `403`, with AWS's
//! message naming the function's role, the action and the resource. S3's semantics on missing
//! objects follow too: without `s3:ListBucket` a missing key is `403`, not `404`.
//!
//! The actions checked (`actions`) are the ones AWS checks: per item for TransactWriteItems
//! (`PutItem`, `UpdateItem`, `DeleteItem`, `ConditionCheckItem`) and TransactGetItems
//! (`GetItem`), per table for the batch calls, the index ARN for a Query on an index,
//! `s3:GetObject` for HeadObject and for a CopyObject's source, `sqs:SendMessage` for
//! SendMessageBatch (on the queue its URL names). Statements' conditions are evaluated as AWS
//! evaluates them (`conditions`: `dynamodb:LeadingKeys`, per item of a batch or transaction).

mod actions;
mod conditions;

use crate::template::{Statement, LOCAL_ACCOUNT};
use actions::needed;
use aws_smithy_runtime_api::box_error::BoxError;
use aws_smithy_runtime_api::client::interceptors::context::{
    BeforeDeserializationInterceptorContextMut, BeforeSerializationInterceptorContextRef,
    BeforeTransmitInterceptorContextMut,
};
use aws_smithy_runtime_api::client::interceptors::Intercept;
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_types::body::SdkBody;
use aws_smithy_types::config_bag::{ConfigBag, Storable, StoreReplace};
pub use conditions::{Context, PartitionKeys};
use std::sync::{Arc, Mutex};

/// Calls the policies refused, as `function: action on resource`, for tests and the log.
#[derive(Clone, Debug, Default)]
pub struct Denials(Arc<Mutex<Vec<String>>>);

impl Denials {
    pub fn list(&self) -> Vec<String> {
        self.0.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }
    fn push(&self, denial: String) {
        self.0.lock().unwrap_or_else(|e| e.into_inner()).push(denial);
    }
}

/// Whether `pattern` (IAM's `*` and `?` wildcards) matches `text`.
pub fn matches(pattern: &str, text: &str) -> bool {
    fn go(p: &[u8], t: &[u8]) -> bool {
        match (p.first(), t.first()) {
            (None, None) => true,
            (Some(b'*'), _) => go(&p[1..], t) || (!t.is_empty() && go(p, &t[1..])),
            (Some(b'?'), Some(_)) => go(&p[1..], &t[1..]),
            (Some(a), Some(b)) if a == b => go(&p[1..], &t[1..]),
            _ => false,
        }
    }
    go(pattern.as_bytes(), text.as_bytes())
}

/// Whether the statements allow `action` on `resource` (actions match case-insensitively),
/// for a call that offers the conditions nothing.
pub fn allows(statements: &[Statement], action: &str, resource: &str) -> bool {
    grant(statements, action, resource, &Context::default()).is_some()
}

/// The grant (`action resource-pattern`, as the template writes them) that allows a call:
/// a statement with the action and the resource whose conditions all hold.
fn grant(statements: &[Statement], action: &str, resource: &str, context: &Context) -> Option<String> {
    let wanted = action.to_ascii_lowercase();
    statements.iter().find_map(|s| {
        let action = s.actions.iter().find(|a| matches(&a.to_ascii_lowercase(), &wanted))?;
        let pattern = s.resources.iter().find(|r| matches(r, resource))?;
        conditions::hold(s, context).then(|| format!("{action} {pattern}"))
    })
}

/// Every grant of a policy, `action resource-pattern`.
pub fn grants(statements: &[Statement]) -> Vec<String> {
    statements
        .iter()
        .flat_map(|s| s.actions.iter().flat_map(move |a| s.resources.iter().map(move |r| format!("{a} {r}"))))
        .collect()
}

/// Appends `function grant` to the file `IAM_USAGE_FILE` names, once per process and grant:
/// what `make test` exercised, for `iam_unused` to list what no test used.
fn record_use(function: &str, grant: &str) {
    use std::collections::BTreeSet;
    use std::sync::OnceLock;
    static SEEN: OnceLock<Mutex<BTreeSet<String>>> = OnceLock::new();
    let Some(path) = std::env::var_os("IAM_USAGE_FILE") else { return };
    let line = format!("{function} {grant}");
    if !SEEN.get_or_init(Default::default).lock().unwrap_or_else(|e| e.into_inner()).insert(line.clone()) {
        return;
    }
    use std::io::Write;
    if let Ok(mut file) = std::fs::OpenOptions::new().create(true).append(true).open(path) {
        let _ = writeln!(file, "{line}");
    }
}

/// A call refused before it left: where it goes instead, and AWS's message.
#[derive(Clone, Debug)]
struct Refused {
    service: &'static str,
    message: String,
}

impl Storable for Refused {
    type Storer = StoreReplace<Self>;
}

/// An S3 read of a function without `s3:ListBucket` on its bucket: a missing key must answer
/// 403, as S3 does to a caller who may not list.
#[derive(Clone, Debug)]
struct MayNotList;

impl Storable for MayNotList {
    type Storer = StoreReplace<Self>;
}

/// The interceptor that holds one function to its policy.
#[derive(Clone, Debug)]
pub struct Guard {
    /// The function's binary name, and its role as AWS names it in refusals.
    pub function: String,
    pub statements: Arc<Vec<Statement>>,
    /// The WebSocket stage (`@connections` ARNs carry it).
    pub stage: String,
    /// The gateway's base URL, where refused calls are sent (`/__denied/{service}`).
    pub deny_base: String,
    pub denials: Denials,
    /// The tables' partition keys (`dynamodb:LeadingKeys`).
    pub partition_keys: Arc<PartitionKeys>,
}

impl Guard {
    fn message(&self, action: &str, resource: &str) -> String {
        let role = format!("arn:aws:sts::{LOCAL_ACCOUNT}:assumed-role/{}-role/{}", self.function, self.function);
        format!(
            "User: {role} is not authorized to perform: {action} on resource: {resource} because no identity-based \
             policy allows the {action} action (template.yaml: the Policies of the function {})",
            self.function
        )
    }
}

impl Intercept for Guard {
    fn name(&self) -> &'static str {
        "LocalIamGuard"
    }

    fn read_before_serialization(
        &self,
        context: &BeforeSerializationInterceptorContextRef<'_>,
        _components: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let Some((service, pairs)) = needed(context.input(), &self.partition_keys) else {
            let message =
                format!("{}: an AWS call the local IAM check does not know (infra/local/src/iam.rs)", self.function);
            self.denials.push(message.clone());
            cfg.interceptor_state().store_put(Refused { service: "dynamodb", message });
            return Ok(());
        };
        for (action, resource, at) in pairs {
            let resource = resource.replace("{stage}", &self.stage);
            let granted = grant(&self.statements, &action, &resource, &at);
            if let Some(grant) = &granted {
                record_use(&self.function, grant);
            }
            if granted.is_none() {
                let keys = at.leading_keys.join(",");
                tracing::warn!(function = %self.function, %action, %resource, %keys, "IAM: refused as AWS would refuse it");
                self.denials.push(format!("{}: {action} on {resource}", self.function));
                cfg.interceptor_state().store_put(Refused { service, message: self.message(&action, &resource) });
                return Ok(());
            }
            if action == "s3:GetObject" {
                let bucket = resource.trim_start_matches("arn:aws:s3:::").split('/').next().unwrap_or_default();
                if !allows(&self.statements, "s3:ListBucket", &format!("arn:aws:s3:::{bucket}")) {
                    cfg.interceptor_state().store_put(MayNotList);
                }
            }
        }
        Ok(())
    }

    fn modify_before_transmit(
        &self,
        context: &mut BeforeTransmitInterceptorContextMut<'_>,
        _components: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        if let Some(refused) = cfg.load::<Refused>() {
            let request = context.request_mut();
            request.set_uri(format!("{}/__denied/{}", self.deny_base, refused.service))?;
            request.headers_mut().insert("x-local-denied", refused.message.clone());
        }
        Ok(())
    }

    fn modify_before_deserialization(
        &self,
        context: &mut BeforeDeserializationInterceptorContextMut<'_>,
        _components: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let response = context.response_mut();
        if cfg.load::<MayNotList>().is_some() && response.status().as_u16() == 404 {
            *response.status_mut() = 403.try_into()?;
            *response.body_mut() = SdkBody::from(
                "<?xml version=\"1.0\" encoding=\"UTF-8\"?><Error><Code>AccessDenied</Code><Message>Access Denied</Message></Error>",
            );
        }
        Ok(())
    }
}

/// `ANY /__denied/{service}`: a refused call's answer, in the service's own error shape.
pub async fn denied(
    axum::extract::Path(service): axum::extract::Path<String>,
    headers: axum::http::HeaderMap,
) -> axum::response::Response {
    use axum::http::StatusCode;
    use axum::response::IntoResponse;
    let message = headers.get("x-local-denied").and_then(|v| v.to_str().ok()).unwrap_or("Access Denied").to_string();
    match service.as_str() {
        "s3" => {
            let body = format!(
                "<?xml version=\"1.0\" encoding=\"UTF-8\"?><Error><Code>AccessDenied</Code><Message>{message}</Message></Error>"
            );
            (StatusCode::FORBIDDEN, [("content-type", "application/xml")], body).into_response()
        }
        "sns" => {
            let body = crate::sns::xml::access_denied_xml(&message);
            (StatusCode::FORBIDDEN, [("content-type", "text/xml")], body).into_response()
        }
        "sqs" => {
            // SQS's JSON protocol: the framework's shape, and the query code the SDK reads.
            let body =
                serde_json::json!({ "__type": "com.amazon.coral.service#AccessDeniedException", "Message": message });
            let headers =
                [("content-type", "application/x-amz-json-1.0"), ("x-amzn-query-error", "AccessDenied;Sender")];
            (StatusCode::FORBIDDEN, headers, body.to_string()).into_response()
        }
        "execute-api" | "lambda" | "ses" => {
            let body = serde_json::json!({ "message": message }).to_string();
            (StatusCode::FORBIDDEN, [("x-amzn-errortype", "AccessDeniedException")], body).into_response()
        }
        _ => {
            let body =
                serde_json::json!({ "__type": "com.amazon.coral.service#AccessDeniedException", "Message": message });
            (StatusCode::BAD_REQUEST, [("content-type", "application/x-amz-json-1.0")], body.to_string())
                .into_response()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::template::table_arn;

    #[test]
    fn wildcards_and_actions_match_as_iam_matches_them() {
        assert!(matches("arn:aws:s3:::audio-bucket/audio/*", "arn:aws:s3:::audio-bucket/audio/ab.amr"));
        assert!(!matches("arn:aws:s3:::audio-bucket/audio/*", "arn:aws:s3:::audio-bucket/upload/1/ab.amr"));
        assert!(!matches(&table_arn("UsersTable"), &format!("{}/index/by_version", table_arn("UsersTable"))));
        let statements = vec![Statement {
            actions: vec!["dynamodb:GetItem".into()],
            resources: vec![table_arn("UsersTable")],
            conditions: vec![],
        }];
        assert!(allows(&statements, "dynamodb:getitem", &table_arn("UsersTable")));
        assert!(!allows(&statements, "dynamodb:PutItem", &table_arn("UsersTable")));
        assert!(!allows(&statements, "dynamodb:GetItem", &table_arn("GroupsTable")));
    }
}
