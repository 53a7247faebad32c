//! The parts of `template.yaml` the local stack reads, as serde reads them.
//!
//! A resource is read in two steps: its `Type`, with its `Properties` kept as YAML, then the
//! properties as the shape of that type. One step (an enum tagged by `Type`) cannot work:
//! serde_yaml gives an intrinsic such as `!GetAtt X.Arn` as an enum, and serde's buffering
//! of an internally tagged enum refuses enums.

use serde::de::{DeserializeOwned, Deserializer, IgnoredAny, MapAccess, Visitor};
use serde::Deserialize;
use serde_yaml::Value;
use std::collections::BTreeMap;
use std::marker::PhantomData;

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub(super) struct Document {
    #[serde(default)]
    pub parameters: Parameters,
    #[serde(default)]
    pub globals: Globals,
    pub resources: BTreeMap<String, Resource>,
}

#[derive(Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub(super) struct Parameters {
    pub stage_name: Option<Parameter>,
    pub tracing: Option<Parameter>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub(super) struct Parameter {
    pub default: Option<String>,
}

#[derive(Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub(super) struct Globals {
    #[serde(default)]
    pub function: GlobalFunction,
}

#[derive(Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub(super) struct GlobalFunction {
    pub timeout: Option<u64>,
    pub tracing: Option<Expr>,
    #[serde(default)]
    pub environment: Environment,
}

#[derive(Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub(super) struct Environment {
    #[serde(default)]
    pub variables: Variables,
}

#[derive(Default, Deserialize)]
pub(super) struct Variables {
    #[serde(rename = "FAN_OUT_FUNCTION")]
    pub fan_out_function: Option<Expr>,
    #[serde(rename = "THUMBNAIL_FUNCTION")]
    pub thumbnail_function: Option<Expr>,
    /// `!Ref` of the queue the functions hand pushes to (a queue's `!Ref` is its URL).
    #[serde(rename = "PUSH_QUEUE_URL")]
    pub push_queue_url: Option<Expr>,
}

/// Any resource: its type, and the rest as YAML until the type says what shape it has.
#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub(super) struct Resource {
    #[serde(rename = "Type")]
    pub kind: String,
    #[serde(default)]
    pub properties: Value,
    #[serde(default)]
    pub metadata: Value,
}

impl Resource {
    pub fn properties<T: DeserializeOwned>(&self) -> Result<T, serde_yaml::Error> {
        read(&self.properties)
    }

    pub fn metadata<T: DeserializeOwned>(&self) -> Result<T, serde_yaml::Error> {
        read(&self.metadata)
    }
}

/// Reads a part of a resource as `T`; an absent part reads as an empty mapping.
fn read<T: DeserializeOwned>(part: &Value) -> Result<T, serde_yaml::Error> {
    match part {
        Value::Null => T::deserialize(&Value::Mapping(Default::default())),
        part => T::deserialize(part),
    }
}

/// `AWS::Serverless::Function`'s `Metadata`: the binary `cargo lambda` builds.
#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub(super) struct FunctionMetadata {
    pub build_properties: BuildProperties,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub(super) struct BuildProperties {
    pub binary: String,
}

/// `AWS::Serverless::Function`'s `Properties`.
#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub(super) struct FunctionProperties {
    /// In the template's order, which is the routes' order.
    #[serde(default, deserialize_with = "values_in_order")]
    pub events: Vec<Event>,
    #[serde(default)]
    pub policies: Vec<Policy>,
    pub timeout: Option<u64>,
    pub tracing: Option<Expr>,
    pub function_name: Option<Expr>,
    #[serde(default)]
    pub event_invoke_config: EventInvokeConfig,
}

#[derive(Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub(super) struct EventInvokeConfig {
    pub maximum_retry_attempts: Option<u32>,
}

/// A function's event source; its properties are read once its type is known.
#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub(super) struct Event {
    #[serde(rename = "Type")]
    pub kind: String,
    #[serde(default)]
    pub properties: Value,
}

impl Event {
    pub fn properties<T: DeserializeOwned>(&self) -> Result<T, serde_yaml::Error> {
        read(&self.properties)
    }
}

/// An `HttpApi` event's `Properties`: one route.
#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub(super) struct HttpApiEvent {
    pub path: String,
    pub method: String,
    #[serde(default)]
    pub auth: RouteAuth,
}

#[derive(Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub(super) struct RouteAuth {
    /// `NONE` turns the API's default authorizer off for the route.
    pub authorizer: Option<String>,
}

/// An `SQS` event's `Properties`: an event source mapping from a queue to the function.
#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub(super) struct SqsEvent {
    pub queue: Expr,
    pub batch_size: Option<Integer>,
    pub enabled: Option<bool>,
    #[serde(default)]
    pub function_response_types: Vec<String>,
    pub maximum_batching_window_in_seconds: Option<Integer>,
    /// Read only to be refused: the local mapping does not filter.
    pub filter_criteria: Option<Value>,
}

/// `AWS::SQS::Queue`'s `Properties`; the others (`SqsManagedSseEnabled`, tags...) change
/// nothing the functions can see.
#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub(super) struct QueueProperties {
    pub visibility_timeout: Option<Integer>,
    pub message_retention_period: Option<Integer>,
    pub delay_seconds: Option<Integer>,
    pub redrive_policy: Option<RedrivePolicy>,
    /// Read only to be refused: FIFO queues are not emulated.
    pub fifo_queue: Option<Value>,
}

/// A queue's `RedrivePolicy`, written as an object (its keys are camelCase, as in SQS's JSON).
#[derive(Deserialize)]
pub(super) struct RedrivePolicy {
    #[serde(rename = "deadLetterTargetArn")]
    pub dead_letter_target_arn: Expr,
    #[serde(rename = "maxReceiveCount")]
    pub max_receive_count: Integer,
}

/// A whole number as CloudFormation takes it: `60` or `"60"`.
#[derive(Clone, Copy, Debug)]
pub(super) struct Integer(pub u64);

impl<'de> Deserialize<'de> for Integer {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        use serde::de::Error;
        let read = match Value::deserialize(deserializer)? {
            Value::Number(number) => number.as_u64(),
            Value::String(text) => text.trim().parse().ok(),
            _ => None,
        };
        read.map(Integer).ok_or_else(|| D::Error::custom("expected a whole number"))
    }
}

/// One entry of a function's `Policies`: only inline `Statement` lists are read.
#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub(super) struct Policy {
    pub statement: Option<Vec<PolicyStatement>>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub(super) struct PolicyStatement {
    pub effect: String,
    #[serde(default)]
    pub action: OneOrMany<String>,
    #[serde(default)]
    pub resource: OneOrMany<Expr>,
    /// `{ Operator: { ConditionKey: value or [values] } }`.
    #[serde(default)]
    pub condition: BTreeMap<String, BTreeMap<String, OneOrMany<String>>>,
}

/// `AWS::Serverless::HttpApi`'s `Properties`.
#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub(super) struct HttpApiProperties {
    #[serde(default)]
    pub auth: HttpApiAuth,
}

#[derive(Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub(super) struct HttpApiAuth {
    pub default_authorizer: Option<String>,
    #[serde(default)]
    pub authorizers: BTreeMap<String, AuthorizerDefinition>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub(super) struct AuthorizerDefinition {
    pub function_arn: Option<Expr>,
    #[serde(default)]
    pub identity: AuthorizerIdentity,
}

#[derive(Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub(super) struct AuthorizerIdentity {
    pub reauthorize_every: Option<u64>,
    #[serde(default)]
    pub headers: Vec<String>,
}

/// `AWS::ApiGatewayV2::Route`'s `Properties`.
#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub(super) struct RouteProperties {
    pub route_key: String,
    pub target: Option<Expr>,
}

/// `AWS::ApiGatewayV2::Integration`'s `Properties`.
#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub(super) struct IntegrationProperties {
    pub integration_uri: Option<Expr>,
}

/// `AWS::ApiGatewayV2::RouteResponse`'s `Properties`: its route has a response (two-way).
#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub(super) struct RouteResponseProperties {
    pub route_id: Option<Expr>,
}

/// A value as CloudFormation writes it: a literal, or an intrinsic function (a YAML tag).
#[derive(Debug, Deserialize)]
#[serde(from = "Value")]
pub(super) enum Expr {
    Literal(String),
    Ref(String),
    GetAtt(String),
    Sub(String),
    /// Anything else (a number, `!If`, `!Join`...), kept to be named in an error.
    Other(Value),
}

impl From<Value> for Expr {
    fn from(value: Value) -> Expr {
        let Value::Tagged(tagged) = value else {
            return match value {
                Value::String(literal) => Expr::Literal(literal),
                other => Expr::Other(other),
            };
        };
        match (tagged.tag.to_string().as_str(), &tagged.value) {
            ("!Ref", Value::String(id)) => Expr::Ref(id.clone()),
            ("!GetAtt", Value::String(attribute)) => Expr::GetAtt(attribute.clone()),
            ("!Sub", Value::String(text)) => Expr::Sub(text.clone()),
            _ => Expr::Other(Value::Tagged(tagged)),
        }
    }
}

impl Expr {
    /// The logical ids it refers to: X of `!Ref X`, `!GetAtt X.Arn`, `${X}` or `${X.Arn}` in a `!Sub`.
    pub fn referenced_ids(&self) -> Vec<&str> {
        fn logical_id(name: &str) -> &str {
            name.split('.').next().unwrap_or_default()
        }
        match self {
            Expr::Ref(id) => vec![id],
            Expr::GetAtt(attribute) => vec![logical_id(attribute)],
            Expr::Sub(text) => {
                text.split("${").skip(1).filter_map(|part| part.split('}').next()).map(logical_id).collect()
            }
            Expr::Literal(_) | Expr::Other(_) => vec![],
        }
    }
}

/// `X` or `[X, ...]`: CloudFormation lets a list of one be written as the one.
pub(super) struct OneOrMany<T>(pub Vec<T>);

impl<T> Default for OneOrMany<T> {
    fn default() -> Self {
        OneOrMany(Vec::new())
    }
}

impl<'de, T: DeserializeOwned> Deserialize<'de> for OneOrMany<T> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        // Through `Value`, not an untagged enum: that buffering refuses YAML tags too.
        let items = match Value::deserialize(deserializer)? {
            Value::Sequence(items) => items,
            one => vec![one],
        };
        let read = items.iter().map(T::deserialize).collect::<Result<_, _>>();
        read.map(OneOrMany).map_err(serde::de::Error::custom)
    }
}

/// A mapping's values in the template's order (a `BTreeMap` would sort them by key).
fn values_in_order<'de, D: Deserializer<'de>, T: Deserialize<'de>>(deserializer: D) -> Result<Vec<T>, D::Error> {
    struct InOrder<T>(PhantomData<T>);
    impl<'de, T: Deserialize<'de>> Visitor<'de> for InOrder<T> {
        type Value = Vec<T>;
        fn expecting(&self, formatter: &mut std::fmt::Formatter) -> std::fmt::Result {
            formatter.write_str("a mapping")
        }
        fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Vec<T>, A::Error> {
            let mut values = Vec::new();
            while let Some((IgnoredAny, value)) = map.next_entry()? {
                values.push(value);
            }
            Ok(values)
        }
    }
    deserializer.deserialize_map(InOrder(PhantomData))
}
