//! Reads `template.yaml`: the HTTP routes, the WebSocket routes, the tables, the bucket and the
//! queues with the functions their messages go to.
//! The local stack serves exactly what this finds; nothing else repeats the routes. Queues and
//! their event source mappings are read in `queues`, topics and their subscriptions in `topics`.

mod arns;
mod document;
mod policies;
mod queues;
mod topics;

use arns::LocalArns;
pub use arns::{
    bucket_name, function_arn, queue_arn, table_arn, topic_arn, LOCAL_ACCOUNT, LOCAL_REGION, LOCAL_STACK_NAME,
};
use document::{
    Document, Expr, FunctionMetadata, FunctionProperties, HttpApiEvent, HttpApiProperties, IntegrationProperties,
    Parameter, Resource, RouteProperties, RouteResponseProperties,
};
use policies::read_statements;
pub use policies::{Condition, Statement};
use queues::{read_queue_mappings, read_queues};
pub use queues::{Queue, QueueMapping};
use serde_yaml::Value;
use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use topics::{read_topic_subscriptions, read_topics};
pub use topics::{TopicSubscription, PUSH_EVENTS_TOPIC, REPORT_TOPIC};

#[derive(Debug, thiserror::Error)]
pub enum TemplateError {
    #[error("cannot read the template: {0}")]
    Io(#[from] std::io::Error),
    #[error("template is not valid YAML: {0}")]
    Yaml(#[from] serde_yaml::Error),
    #[error("template: {0}")]
    Shape(String),
}

/// One route of the HTTP API.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HttpRoute {
    /// Upper-case method, or `ANY`.
    pub method: String,
    /// Path template, `/user/id/{id}`.
    pub path: String,
    /// Binary name of the function serving it.
    pub function: String,
    /// Whether the API's default authorizer runs first (`Auth: { Authorizer: NONE }` turns it off).
    pub authorized: bool,
}

impl HttpRoute {
    /// API Gateway's route key, `GET /user/id/{id}`.
    pub fn key(&self) -> String {
        format!("{} {}", self.method, self.path)
    }
}

/// One route of the WebSocket API.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WsRoute {
    /// `$connect`, `$disconnect`, `$default` or an event name.
    pub key: String,
    pub function: String,
    /// Has a route response: the function's answer is sent back to the client.
    pub two_way: bool,
}

/// The Lambda authorizer of the HTTP API.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Authorizer {
    pub function: String,
    /// Result cache lifetime (`Identity.ReauthorizeEvery`); 0 disables the cache.
    pub ttl_secs: u64,
    /// Identity sources (`$request.header.X`) that key the cache.
    pub identity_headers: Vec<String>,
}

/// A DynamoDB table definition, as CloudFormation properties.
#[derive(Clone, Debug)]
pub struct Table {
    pub logical_id: String,
    pub properties: Value,
}

#[derive(Clone, Debug)]
pub struct Template {
    pub http_routes: Vec<HttpRoute>,
    pub authorizer: Option<Authorizer>,
    pub ws_routes: Vec<WsRoute>,
    pub ws_stage: String,
    pub tables: Vec<Table>,
    pub buckets: Vec<String>,
    /// Every function's binary name, by logical id.
    pub functions: BTreeMap<String, String>,
    /// Every function's `Timeout` in seconds (its own, else `Globals`), by binary name.
    pub timeouts: BTreeMap<String, u64>,
    /// The functions whose `Tracing` (their own, else `Globals`) is `Active`, by binary name:
    /// Lambda samples their invocations and records a segment for each (`crate::xray`).
    pub traced: BTreeSet<String>,
    /// Every function's IAM statements (its `Policies`), by binary name, resources resolved
    /// to local ARNs: what the IAM guard holds each function to.
    pub policies: BTreeMap<String, Vec<Statement>>,
    /// Every function's binary, by the names the Lambda API knows it by: its `FunctionName`
    /// (resolved, the stack named `local`) and its binary name.
    pub function_names: BTreeMap<String, String>,
    /// Retries of a failed asynchronous invocation (`EventInvokeConfig.MaximumRetryAttempts`,
    /// AWS's default 2), by binary name.
    pub async_retries: BTreeMap<String, u32>,
    /// The fan-out worker's name as `Globals` gives it to every function (`FAN_OUT_FUNCTION`).
    pub fan_out_function: Option<String>,
    /// The thumbnail function's name, likewise (`THUMBNAIL_FUNCTION`).
    pub thumbnail_function: Option<String>,
    /// The SQS queues, in logical id order.
    pub queues: Vec<Queue>,
    /// The functions' `SQS` events, function by function in logical id order.
    pub queue_mappings: Vec<QueueMapping>,
    /// The queue `Globals` gives every function the URL of (`PUSH_QUEUE_URL: !Ref Q`): its logical id.
    pub push_queue: Option<String>,
    /// The functions' `SNS` events, function by function in logical id order.
    pub topic_subscriptions: Vec<TopicSubscription>,
    /// [`PUSH_EVENTS_TOPIC`] if present: the local applications' `EventDeliveryFailure` topic.
    pub push_events_topic: Option<String>,
    /// Every topic's logical id: what a function may publish to ([`REPORT_TOPIC`] among them).
    pub topics: Vec<String>,
}

impl Template {
    pub fn load(path: &Path) -> Result<Template, TemplateError> {
        Self::parse(&std::fs::read_to_string(path)?)
    }

    pub fn parse(text: &str) -> Result<Template, TemplateError> {
        let document: Document = serde_yaml::from_str(text)?;
        let resources = &document.resources;
        let ws_stage = document.parameters.stage_name.and_then(|p| p.default).unwrap_or_else(|| "v1".into());
        let arns = LocalArns { resources, stage: &ws_stage };
        let functions = read_functions(resources)?;
        let binaries = Binaries(functions.iter().map(|f| (f.id.to_string(), f.binary.clone())).collect());
        let authorizer = read_authorizer(resources, &binaries)?;
        let http_routes = read_http_routes(&functions, authorizer.is_some())?;
        let ws_routes = read_ws_routes(resources, &binaries)?;
        let tables = of_type(resources, "AWS::DynamoDB::Table")
            .map(|(id, r)| Table { logical_id: id.clone(), properties: r.properties.clone() })
            .collect();
        let buckets = of_type(resources, "AWS::S3::Bucket").map(|(id, _)| bucket_name(id)).collect();
        let global = &document.globals.function;
        let mut policies = BTreeMap::new();
        let mut timeouts = BTreeMap::new();
        let mut traced = BTreeSet::new();
        let mut function_names = BTreeMap::new();
        let mut async_retries = BTreeMap::new();
        for function in &functions {
            let (binary, properties) = (&function.binary, &function.properties);
            policies.insert(binary.clone(), read_statements(function, &arns)?);
            timeouts.insert(binary.clone(), properties.timeout.or(global.timeout).unwrap_or(3));
            let tracing = properties.tracing.as_ref().or(global.tracing.as_ref());
            if tracing_mode(tracing, document.parameters.tracing.as_ref())? == "Active" {
                traced.insert(binary.clone());
            }
            if let Some(name) = &properties.function_name {
                function_names.insert(arns.resolve(name).map_err(TemplateError::Shape)?, binary.clone());
            }
            function_names.insert(binary.clone(), binary.clone());
            async_retries.insert(binary.clone(), properties.event_invoke_config.maximum_retry_attempts.unwrap_or(2));
        }
        let worker =
            |name: Option<&Expr>| name.map(|name| arns.resolve(name)).transpose().map_err(TemplateError::Shape);
        let fan_out_function = worker(global.environment.variables.fan_out_function.as_ref())?;
        let thumbnail_function = worker(global.environment.variables.thumbnail_function.as_ref())?;
        let queues = read_queues(resources)?;
        let queue_mappings = read_queue_mappings(resources, &functions, &queues, &timeouts)?;
        let push_queue = match &global.environment.variables.push_queue_url {
            None => None,
            Some(Expr::Ref(id)) if queues.iter().any(|q| &q.logical_id == id) => Some(id.clone()),
            Some(other) => {
                let message = format!("PUSH_QUEUE_URL must be !Ref of a queue of the template, not {other:?}");
                return Err(TemplateError::Shape(message));
            }
        };
        let topics = read_topics(resources)?;
        let topic_subscriptions = read_topic_subscriptions(resources, &functions)?;
        let push_events_topic = topics.iter().find(|id| *id == PUSH_EVENTS_TOPIC).cloned();
        Ok(Template {
            http_routes,
            authorizer,
            ws_routes,
            ws_stage,
            tables,
            buckets,
            functions: binaries.0,
            timeouts,
            traced,
            policies,
            function_names,
            async_retries,
            fan_out_function,
            thumbnail_function,
            queues,
            queue_mappings,
            push_queue,
            topic_subscriptions,
            push_events_topic,
            topics,
        })
    }

    /// The route serving `method path`, with the path parameters it extracts. Literal segments
    /// win over `{param}` ones, as in API Gateway.
    pub fn match_http(&self, method: &str, path: &str) -> Option<(&HttpRoute, BTreeMap<String, String>)> {
        let segments: Vec<&str> = path.trim_start_matches('/').split('/').collect();
        let mut best: Option<(&HttpRoute, BTreeMap<String, String>, usize)> = None;
        for route in &self.http_routes {
            if route.method != method && route.method != "ANY" {
                continue;
            }
            let pattern: Vec<&str> = route.path.trim_start_matches('/').split('/').collect();
            let Some((params, literals)) = match_segments(&pattern, &segments) else { continue };
            if best.as_ref().is_none_or(|(_, _, l)| literals > *l) {
                best = Some((route, params, literals));
            }
        }
        best.map(|(route, params, _)| (route, params))
    }
}

/// A function resource, read once for everything the stack takes from it.
struct FunctionResource<'a> {
    id: &'a str,
    binary: String,
    properties: FunctionProperties,
}

/// The functions' binaries by logical id: the function a reference (an authorizer's
/// `FunctionArn`, an integration's `IntegrationUri`) names.
struct Binaries(BTreeMap<String, String>);

impl Binaries {
    fn referenced_by(&self, value: Option<&Expr>) -> Result<String, TemplateError> {
        let ids = value.map(Expr::referenced_ids).unwrap_or_default();
        let binary = ids.iter().find_map(|id| self.0.get(*id).cloned());
        binary.ok_or_else(|| TemplateError::Shape(format!("no function referenced by {value:?}")))
    }
}

/// The resources of one type, by logical id.
fn of_type<'a>(
    resources: &'a BTreeMap<String, Resource>,
    kind: &'static str,
) -> impl Iterator<Item = (&'a String, &'a Resource)> {
    resources.iter().filter(move |(_, resource)| resource.kind == kind)
}

/// A resource's part read as its type's shape; a part of another shape is a template error.
fn shaped<T>(id: &str, read: Result<T, serde_yaml::Error>) -> Result<T, TemplateError> {
    read.map_err(|err| TemplateError::Shape(format!("{id}: {err}")))
}

/// A function's tracing mode: its `Tracing` (`Active`, `PassThrough`, or `!Ref` of the
/// `Tracing` parameter, at its default); `PassThrough` when none is given, as Lambda's default.
fn tracing_mode(tracing: Option<&Expr>, parameter: Option<&Parameter>) -> Result<String, TemplateError> {
    match tracing {
        None => Ok("PassThrough".into()),
        Some(Expr::Literal(mode)) => Ok(mode.clone()),
        Some(Expr::Ref(name)) if name == "Tracing" => {
            Ok(parameter.and_then(|p| p.default.clone()).unwrap_or_else(|| "PassThrough".into()))
        }
        Some(other) => Err(TemplateError::Shape(format!("Tracing must be a mode or !Ref Tracing, not {other:?}"))),
    }
}

fn read_functions(resources: &BTreeMap<String, Resource>) -> Result<Vec<FunctionResource<'_>>, TemplateError> {
    of_type(resources, "AWS::Serverless::Function")
        .map(|(id, resource)| {
            let metadata: FunctionMetadata = shaped(id, resource.metadata())?;
            let binary = metadata.build_properties.binary;
            Ok(FunctionResource { id, binary, properties: shaped(id, resource.properties())? })
        })
        .collect()
}

/// The HTTP API's default authorizer, when it has one.
fn read_authorizer(
    resources: &BTreeMap<String, Resource>,
    binaries: &Binaries,
) -> Result<Option<Authorizer>, TemplateError> {
    let mut authorizer = None;
    for (id, api) in of_type(resources, "AWS::Serverless::HttpApi") {
        let properties: HttpApiProperties = shaped(id, api.properties())?;
        let Some(default) = &properties.auth.default_authorizer else { continue };
        let definition = properties.auth.authorizers.get(default);
        let definition =
            definition.ok_or_else(|| TemplateError::Shape(format!("authorizer {default} is not defined")))?;
        authorizer = Some(Authorizer {
            function: binaries.referenced_by(definition.function_arn.as_ref())?,
            ttl_secs: definition.identity.reauthorize_every.unwrap_or(300),
            identity_headers: definition.identity.headers.iter().map(|h| h.to_ascii_lowercase()).collect(),
        });
    }
    Ok(authorizer)
}

/// Every function's `HttpApi` events, function by function in logical id order.
fn read_http_routes(functions: &[FunctionResource], has_authorizer: bool) -> Result<Vec<HttpRoute>, TemplateError> {
    let mut routes = vec![];
    for function in functions {
        for event in function.properties.events.iter().filter(|event| event.kind == "HttpApi") {
            let route: HttpApiEvent = shaped(function.id, event.properties())?;
            routes.push(HttpRoute {
                method: route.method.to_ascii_uppercase(),
                path: route.path,
                function: function.binary.clone(),
                authorized: has_authorizer && route.auth.authorizer.as_deref() != Some("NONE"),
            });
        }
    }
    Ok(routes)
}

/// The WebSocket API's routes, each to the function its integration invokes.
fn read_ws_routes(resources: &BTreeMap<String, Resource>, binaries: &Binaries) -> Result<Vec<WsRoute>, TemplateError> {
    let mut responded: Vec<String> = vec![];
    for (id, response) in of_type(resources, "AWS::ApiGatewayV2::RouteResponse") {
        let properties: RouteResponseProperties = shaped(id, response.properties())?;
        responded.extend(properties.route_id.iter().flat_map(Expr::referenced_ids).map(String::from));
    }
    let mut routes = vec![];
    for (id, route) in of_type(resources, "AWS::ApiGatewayV2::Route") {
        let properties: RouteProperties = shaped(id, route.properties())?;
        let integration = properties.target.as_ref().and_then(|target| target.referenced_ids().first().copied());
        let (integration_id, integration) = integration
            .and_then(|integration_id| resources.get_key_value(integration_id))
            .ok_or_else(|| TemplateError::Shape(format!("{id}: Target is not an integration")))?;
        let integration: IntegrationProperties = shaped(integration_id, integration.properties())?;
        routes.push(WsRoute {
            key: properties.route_key,
            function: binaries.referenced_by(integration.integration_uri.as_ref())?,
            two_way: responded.contains(id),
        });
    }
    Ok(routes)
}

fn match_segments(pattern: &[&str], segments: &[&str]) -> Option<(BTreeMap<String, String>, usize)> {
    let mut params = BTreeMap::new();
    let mut literals = 0;
    for (i, part) in pattern.iter().enumerate() {
        if let Some(name) = part.strip_prefix('{').and_then(|p| p.strip_suffix("+}")) {
            params.insert(name.to_string(), segments.get(i..)?.join("/"));
            return Some((params, literals));
        }
        let segment = segments.get(i)?;
        if let Some(name) = part.strip_prefix('{').and_then(|p| p.strip_suffix('}')) {
            if segment.is_empty() {
                return None;
            }
            params.insert(name.to_string(), (*segment).to_string());
        } else if part == segment {
            literals += 1;
        } else {
            return None;
        }
    }
    (pattern.len() == segments.len()).then_some((params, literals))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn template() -> Template {
        Template::load(&Path::new(env!("CARGO_MANIFEST_DIR")).join("../../template.yaml")).unwrap()
    }

    #[test]
    fn reads_routes_tables_and_bucket() {
        let t = template();
        let (route, params) = t.match_http("GET", "/user/id/42").unwrap();
        assert_eq!(route.function, "get_user_by_id");
        assert!(route.authorized);
        assert_eq!(params["id"], "42");
        assert!(!t.match_http("POST", "/user").unwrap().0.authorized);
        assert!(t.match_http("GET", "/user/id").is_none());
        assert!(t.match_http("DELETE", "/health").is_none());
        assert!(t.tables.iter().any(|t| t.logical_id == "UsersTable"));
        assert_eq!(t.buckets, vec!["audio-bucket"]);
        let policy = &t.policies["get_user_by_id"];
        assert!(policy
            .iter()
            .any(|s| s.actions.contains(&"dynamodb:GetItem".to_string())
                && s.resources.contains(&table_arn("UsersTable"))));
        let presign = &t.policies["presign_audio_upload"];
        assert_eq!(presign[0].resources, vec!["arn:aws:s3:::audio-bucket/upload/*".to_string()]);
        let default = t.ws_routes.iter().find(|r| r.key == "$default").unwrap();
        assert!(default.two_way);
        assert_eq!(t.authorizer.as_ref().unwrap().function, "authorize");
    }

    /// The derived model finds what the hand walk of `serde_yaml::Value` it replaced found
    /// (43 HTTP routes, 5 tables, 182 statements in 48 functions when it was replaced): one of
    /// each for every time the template's text declares one.
    #[test]
    fn reads_every_route_table_and_statement_the_template_declares() {
        let text = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("../../template.yaml")).unwrap();
        let declared = |kind: &str| text.lines().filter(|line| line.trim() == format!("Type: {kind}")).count();
        let t = Template::parse(&text).unwrap();
        assert_eq!(t.http_routes.len(), declared("HttpApi"));
        assert_eq!(t.ws_routes.len(), declared("AWS::ApiGatewayV2::Route"));
        assert_eq!(t.tables.len(), declared("AWS::DynamoDB::Table"));
        assert_eq!(t.functions.len(), declared("AWS::Serverless::Function"));
        let statements: usize = t.policies.values().map(Vec::len).sum();
        assert_eq!(statements, text.matches("Effect: Allow").count());
        assert_eq!(t.policies["get_user_by_id"].len(), 2);
        assert_eq!((t.timeouts["fan_out"], t.timeouts["health"]), (60, 10));
        assert_eq!(t.function_names["local-fan-out"], "fan_out");
        assert_eq!(t.async_retries["fan_out"], 2);
        assert_eq!(t.fan_out_function.as_deref(), Some("local-fan-out"));
        assert_eq!(t.authorizer.as_ref().unwrap().ttl_secs, 0);
        assert_eq!(t.ws_stage, "v1");
        assert!(t.traced.is_empty(), "tracing is off by default: {:?}", t.traced);
        let active = text.replacen("Default: PassThrough", "Default: Active", 1);
        assert_eq!(Template::parse(&active).unwrap().traced.len(), t.functions.len(), "the parameter turns it on");
    }

    /// CloudFormation's intrinsics are YAML tags: `!Ref`, `!GetAtt` and `!Sub` resolve, one
    /// `Action` or `Resource` reads as a list of one, and what the stack cannot honour is refused.
    #[test]
    fn intrinsics_resolve_and_unsupported_policies_are_refused() {
        let template = |policies: &str| {
            format!(
                "Parameters: {{ StageName: {{ Default: beta }} }}
Resources:
  NotesTable: {{ Type: AWS::DynamoDB::Table, Properties: {{ TableName: notes }} }}
  NoteFunction:
    Type: AWS::Serverless::Function
    Metadata: {{ BuildProperties: {{ Binary: note }} }}
    Properties:
      FunctionName: !Sub \"${{AWS::StackName}}-note\"
      Events:
        Write: {{ Type: HttpApi, Properties: {{ Path: /note, Method: post }} }}
        Read: {{ Type: HttpApi, Properties: {{ Path: \"/note/{{id}}\", Method: GET }} }}
      Policies:
{policies}"
            )
        };
        let allowed = template(
            "        - Statement:
            - Effect: Allow
              Action: dynamodb:GetItem
              Resource: !GetAtt NotesTable.Arn
              Condition: { \"ForAllValues:StringLike\": { \"dynamodb:LeadingKeys\": note#* } }
            - Effect: Allow
              Action: [execute-api:ManageConnections]
              Resource: [!Sub \"arn:aws:execute-api:${AWS::Region}:${AWS::AccountId}:${WebSocketApi}/${StageName}/*\"]",
        );
        let t = Template::parse(&allowed).unwrap();
        let keys: Vec<String> = t.http_routes.iter().map(HttpRoute::key).collect();
        assert_eq!(keys, ["POST /note", "GET /note/{id}"], "in the template's order");
        assert!(t.http_routes.iter().all(|r| r.function == "note" && !r.authorized));
        assert_eq!(t.function_names["local-note"], "note");
        assert_eq!(t.ws_stage, "beta");
        let expected = [
            Statement {
                actions: vec!["dynamodb:GetItem".into()],
                resources: vec![table_arn("NotesTable")],
                conditions: vec![Condition {
                    operator: "ForAllValues:StringLike".into(),
                    key: "dynamodb:leadingkeys".into(),
                    values: vec!["note#*".into()],
                }],
            },
            Statement {
                actions: vec!["execute-api:ManageConnections".into()],
                resources: vec![format!("arn:aws:execute-api:{LOCAL_REGION}:{LOCAL_ACCOUNT}:local/beta/*")],
                conditions: vec![],
            },
        ];
        assert_eq!(t.policies["note"], expected);
        for refused in [
            "        - Statement: [{ Effect: Deny, Action: dynamodb:GetItem, Resource: !GetAtt NotesTable.Arn }]",
            "        - DynamoDBReadPolicy: { TableName: !Ref NotesTable }",
            "        - Statement: [{ Effect: Allow, Action: dynamodb:GetItem, Resource: !Ref NotesTable }]",
            "        - Statement: [{ Effect: Allow, Action: s3:GetObject, Resource: !GetAtt Nowhere.Arn }]",
            // A condition the local check does not evaluate would grant more here than on AWS.
            "        - Statement: [{ Effect: Allow, Action: dynamodb:GetItem, Resource: !GetAtt NotesTable.Arn, \
             Condition: { StringEquals: { \"dynamodb:Select\": SPECIFIC_ATTRIBUTES } } }]",
            "        - Statement: [{ Effect: Allow, Action: dynamodb:GetItem, Resource: !GetAtt NotesTable.Arn, \
             Condition: { \"ForAnyValue:StringLike\": { \"dynamodb:LeadingKeys\": note#* } } }]",
        ] {
            assert!(matches!(Template::parse(&template(refused)), Err(TemplateError::Shape(_))), "{refused}");
        }
    }

    #[test]
    fn every_function_in_the_template_exists() {
        for binary in template().functions.values() {
            assert!(im_functions::function(binary).is_some(), "{binary} is not in im_functions::function");
            let bin = Path::new(env!("CARGO_MANIFEST_DIR")).join(format!("../../functions/src/bin/{binary}.rs"));
            assert!(bin.exists(), "{binary} has no binary");
            let event = Path::new(env!("CARGO_MANIFEST_DIR")).join(format!("../../events/{binary}.json"));
            assert!(event.exists(), "{binary} has no sample event");
        }
    }
}
