//! What AWS checks for each call a function makes: the (action, resource, condition context)
//! triples of the call's input, per item of a batch or transaction.

use super::conditions::{Context, PartitionKeys};
use crate::template::{function_arn, queue_arn, table_arn, LOCAL_ACCOUNT, LOCAL_REGION};
use aws_sdk_apigatewaymanagement::operation as apigw;
use aws_sdk_dynamodb::operation as ddb;
use aws_sdk_dynamodb::types::AttributeValue;
use aws_sdk_lambda::operation as lambda;
use aws_sdk_s3::operation as s3;
use aws_sdk_sesv2::operation as sesv2;
use aws_sdk_sns::operation as sns;
use aws_sdk_sqs::operation as sqs;
use std::collections::HashMap;

/// One check AWS makes: an action on a resource, with what the call offers its conditions.
type Need = (String, String, Context);

/// The (action, resource, condition context) triples AWS checks for one call, from its input;
/// `None` for an operation this module does not know (refused: a new call needs a rule here first).
pub(super) fn needed(
    input: &aws_smithy_runtime_api::client::interceptors::context::Input,
    keys: &PartitionKeys,
) -> Option<(&'static str, Vec<Need>)> {
    let table = |name: Option<&str>| table_arn(name.unwrap_or_default());
    let at = |leading_keys: Vec<String>| Context { leading_keys };
    let one =
        |service, action: &str, resource: String| Some((service, vec![(action.to_string(), resource, at(vec![]))]));
    let item = |action: &str, name: Option<&str>, key: Option<&HashMap<String, AttributeValue>>| {
        let name = name.unwrap_or_default();
        Some(("dynamodb", vec![(action.to_string(), table_arn(name), at(keys.of(name, key)))]))
    };
    if let Some(i) = input.downcast_ref::<ddb::get_item::GetItemInput>() {
        return item("dynamodb:GetItem", i.table_name(), i.key.as_ref());
    }
    if let Some(i) = input.downcast_ref::<ddb::put_item::PutItemInput>() {
        return item("dynamodb:PutItem", i.table_name(), i.item.as_ref());
    }
    if let Some(i) = input.downcast_ref::<ddb::update_item::UpdateItemInput>() {
        return item("dynamodb:UpdateItem", i.table_name(), i.key.as_ref());
    }
    if let Some(i) = input.downcast_ref::<ddb::delete_item::DeleteItemInput>() {
        return item("dynamodb:DeleteItem", i.table_name(), i.key.as_ref());
    }
    if let Some(i) = input.downcast_ref::<ddb::query::QueryInput>() {
        let arn = match i.index_name() {
            Some(index) => format!("{}/index/{index}", table(i.table_name())),
            None => table(i.table_name()),
        };
        let name = i.table_name().unwrap_or_default();
        let leading = keys.of_query(
            name,
            i.key_condition_expression(),
            i.expression_attribute_names.as_ref(),
            i.expression_attribute_values.as_ref(),
        );
        return Some(("dynamodb", vec![("dynamodb:Query".into(), arn, at(leading))]));
    }
    if let Some(i) = input.downcast_ref::<ddb::scan::ScanInput>() {
        return one("dynamodb", "dynamodb:Scan", table(i.table_name()));
    }
    if let Some(i) = input.downcast_ref::<ddb::batch_get_item::BatchGetItemInput>() {
        let mut needs = vec![];
        for (name, wanted) in i.request_items().into_iter().flatten() {
            for key in wanted.keys() {
                needs.push(("dynamodb:BatchGetItem".into(), table_arn(name), at(keys.of(name, Some(key)))));
            }
        }
        return Some(("dynamodb", needs));
    }
    if let Some(i) = input.downcast_ref::<ddb::batch_write_item::BatchWriteItemInput>() {
        let mut needs = vec![];
        for (name, writes) in i.request_items().into_iter().flatten() {
            for write in writes {
                let key = write.put_request().map(|p| p.item()).or(write.delete_request().map(|d| d.key()));
                needs.push(("dynamodb:BatchWriteItem".into(), table_arn(name), at(keys.of(name, key))));
            }
        }
        return Some(("dynamodb", needs));
    }
    if let Some(i) = input.downcast_ref::<ddb::transact_write_items::TransactWriteItemsInput>() {
        let items = i.transact_items().iter().filter_map(|item| {
            let (action, name, key) = match (item.put(), item.update(), item.delete(), item.condition_check()) {
                (Some(p), ..) => ("dynamodb:PutItem", p.table_name(), p.item()),
                (_, Some(u), ..) => ("dynamodb:UpdateItem", u.table_name(), u.key()),
                (_, _, Some(d), _) => ("dynamodb:DeleteItem", d.table_name(), d.key()),
                (.., Some(c)) => ("dynamodb:ConditionCheckItem", c.table_name(), c.key()),
                _ => return None,
            };
            Some((action.to_string(), table_arn(name), at(keys.of(name, Some(key)))))
        });
        return Some(("dynamodb", items.collect()));
    }
    if let Some(i) = input.downcast_ref::<ddb::transact_get_items::TransactGetItemsInput>() {
        let items = i.transact_items().iter().filter_map(|item| item.get());
        let needs = items.map(|g| {
            ("dynamodb:GetItem".into(), table_arn(g.table_name()), at(keys.of(g.table_name(), Some(g.key()))))
        });
        return Some(("dynamodb", needs.collect()));
    }
    let object = |bucket: Option<&str>, key: Option<&str>| {
        format!("arn:aws:s3:::{}/{}", bucket.unwrap_or_default(), key.unwrap_or_default())
    };
    if let Some(i) = input.downcast_ref::<s3::get_object::GetObjectInput>() {
        return one("s3", "s3:GetObject", object(i.bucket(), i.key()));
    }
    if let Some(i) = input.downcast_ref::<s3::head_object::HeadObjectInput>() {
        return one("s3", "s3:GetObject", object(i.bucket(), i.key()));
    }
    if let Some(i) = input.downcast_ref::<s3::put_object::PutObjectInput>() {
        return one("s3", "s3:PutObject", object(i.bucket(), i.key()));
    }
    if let Some(i) = input.downcast_ref::<s3::delete_object::DeleteObjectInput>() {
        return one("s3", "s3:DeleteObject", object(i.bucket(), i.key()));
    }
    if let Some(i) = input.downcast_ref::<s3::copy_object::CopyObjectInput>() {
        let source = format!("arn:aws:s3:::{}", i.copy_source().unwrap_or_default().trim_start_matches('/'));
        let pairs = vec![
            ("s3:GetObject".into(), source, Context::default()),
            ("s3:PutObject".into(), object(i.bucket(), i.key()), Context::default()),
        ];
        return Some(("s3", pairs));
    }
    if let Some(i) = input.downcast_ref::<s3::list_objects_v2::ListObjectsV2Input>() {
        return one("s3", "s3:ListBucket", format!("arn:aws:s3:::{}", i.bucket().unwrap_or_default()));
    }
    let connection = |method: &str, id: Option<&str>| {
        let id = id.unwrap_or_default();
        format!("arn:aws:execute-api:{LOCAL_REGION}:{LOCAL_ACCOUNT}:local/{{stage}}/{method}/@connections/{id}")
    };
    if let Some(i) = input.downcast_ref::<apigw::post_to_connection::PostToConnectionInput>() {
        return one("execute-api", "execute-api:ManageConnections", connection("POST", i.connection_id()));
    }
    if let Some(i) = input.downcast_ref::<apigw::delete_connection::DeleteConnectionInput>() {
        return one("execute-api", "execute-api:ManageConnections", connection("DELETE", i.connection_id()));
    }
    if let Some(i) = input.downcast_ref::<apigw::get_connection::GetConnectionInput>() {
        return one("execute-api", "execute-api:ManageConnections", connection("GET", i.connection_id()));
    }
    let arn = |arn: Option<&str>| arn.unwrap_or_default().to_string();
    if let Some(i) = input.downcast_ref::<sns::create_platform_endpoint::CreatePlatformEndpointInput>() {
        return one("sns", "sns:CreatePlatformEndpoint", arn(i.platform_application_arn()));
    }
    if let Some(i) = input.downcast_ref::<sns::set_endpoint_attributes::SetEndpointAttributesInput>() {
        return one("sns", "sns:SetEndpointAttributes", arn(i.endpoint_arn()));
    }
    if let Some(i) = input.downcast_ref::<sns::get_endpoint_attributes::GetEndpointAttributesInput>() {
        return one("sns", "sns:GetEndpointAttributes", arn(i.endpoint_arn()));
    }
    if let Some(i) = input.downcast_ref::<sns::delete_endpoint::DeleteEndpointInput>() {
        return one("sns", "sns:DeleteEndpoint", arn(i.endpoint_arn()));
    }
    if let Some(i) = input.downcast_ref::<sns::publish::PublishInput>() {
        // An SMS has no resource of its own: only a policy on `*` allows it, as on AWS.
        let resource = match i.phone_number() {
            Some(_) => "*".to_string(),
            None => arn(i.target_arn().or(i.topic_arn())),
        };
        return one("sns", "sns:Publish", resource);
    }
    if let Some(i) = input.downcast_ref::<sesv2::send_email::SendEmailInput>() {
        // The sending identity: the From address (a domain identity is matched by `identity/*`).
        let from = i.from_email_address().unwrap_or_default();
        return one("ses", "ses:SendEmail", format!("arn:aws:ses:{LOCAL_REGION}:{LOCAL_ACCOUNT}:identity/{from}"));
    }
    // A queue URL's last segment is the queue's name: its logical id, locally.
    let queue = |url: Option<&str>| {
        queue_arn(url.unwrap_or_default().trim_end_matches('/').rsplit('/').next().unwrap_or_default())
    };
    if let Some(i) = input.downcast_ref::<sqs::send_message::SendMessageInput>() {
        return one("sqs", "sqs:SendMessage", queue(i.queue_url()));
    }
    if let Some(i) = input.downcast_ref::<sqs::send_message_batch::SendMessageBatchInput>() {
        return one("sqs", "sqs:SendMessage", queue(i.queue_url()));
    }
    if let Some(i) = input.downcast_ref::<lambda::invoke::InvokeInput>() {
        let name = i.function_name().unwrap_or_default();
        let unqualified = if name.starts_with("arn:") {
            name.to_string()
        } else {
            name.split(':').next().unwrap_or(name).to_string()
        };
        return one("lambda", "lambda:InvokeFunction", function_arn(&unqualified));
    }
    None
}
