//! Reads `template.yaml`: the HTTP routes, the WebSocket routes, the tables and the bucket.
//! The local stack serves exactly what this finds; nothing else repeats the routes.

use serde_yaml::Value;
use std::collections::BTreeMap;
use std::path::Path;

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
    /// Every function's IAM statements (its `Policies`), by binary name, resources resolved
    /// to local ARNs (`crate::iam`).
    pub policies: BTreeMap<String, Vec<Statement>>,
    /// Every function's binary, by the names the Lambda API knows it by: its `FunctionName`
    /// (resolved, the stack named `local`) and its binary name.
    pub function_names: BTreeMap<String, String>,
    /// Retries of a failed asynchronous invocation (`EventInvokeConfig.MaximumRetryAttempts`,
    /// AWS's default 2), by binary name.
    pub async_retries: BTreeMap<String, u32>,
    /// The fan-out worker's name as `Globals` gives it to every function (`FAN_OUT_FUNCTION`).
    pub fan_out_function: Option<String>,
}

/// One `Allow` statement of a function's policy: actions and resources, `*` wildcards kept.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Statement {
    pub actions: Vec<String>,
    pub resources: Vec<String>,
}

/// Resolves `!Ref X`, `!GetAtt X.Arn` and `${X.Arn}` / `${X}` inside `!Sub` to the logical id X.
fn referenced_ids(value: &Value) -> Vec<String> {
    match value {
        Value::Tagged(tagged) => match (tagged.tag.to_string().as_str(), &tagged.value) {
            ("!Ref", Value::String(id)) => vec![id.clone()],
            ("!GetAtt", Value::String(attr)) => vec![attr.split('.').next().unwrap_or_default().to_string()],
            ("!Sub", Value::String(text)) => text
                .split("${")
                .skip(1)
                .filter_map(|part| part.split('}').next())
                .map(|inner| inner.split('.').next().unwrap_or_default().to_string())
                .collect(),
            _ => vec![],
        },
        _ => vec![],
    }
}

/// Resolves a policy's `Resource` to the local stack's ARNs: `!GetAtt X.Arn` of a table or
/// the bucket, and `!Sub` with `${X.Arn}`, `${AWS::Region}`, `${AWS::AccountId}`,
/// `${WebSocketApi}` and `${StageName}`.
struct LocalArns<'a> {
    by_id: &'a BTreeMap<String, &'a Value>,
    stage: &'a str,
}

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

impl LocalArns<'_> {
    fn arn_of(&self, id: &str) -> Result<String, TemplateError> {
        match self.by_id.get(id).and_then(|r| str_of(r, "Type")) {
            Some("AWS::DynamoDB::Table") => Ok(table_arn(id)),
            Some("AWS::S3::Bucket") => Ok(format!("arn:aws:s3:::{}", bucket_name(id))),
            _ => Err(TemplateError::Shape(format!("no local ARN for {id}"))),
        }
    }

    fn resolve(&self, value: &Value) -> Result<String, TemplateError> {
        match value {
            Value::String(literal) => Ok(literal.clone()),
            Value::Tagged(tagged) => match (tagged.tag.to_string().as_str(), &tagged.value) {
                ("!GetAtt", Value::String(attr)) => self.arn_of(attr.trim_end_matches(".Arn")),
                ("!Sub", Value::String(text)) => {
                    let mut out = String::new();
                    let mut rest = text.as_str();
                    while let Some(start) = rest.find("${") {
                        out.push_str(&rest[..start]);
                        let end =
                            rest[start..].find('}').ok_or_else(|| TemplateError::Shape(format!("bad !Sub {text}")))?;
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
                _ => Err(TemplateError::Shape(format!("unsupported Resource {value:?}"))),
            },
            other => Err(TemplateError::Shape(format!("unsupported Resource {other:?}"))),
        }
    }
}

fn str_of<'a>(value: &'a Value, key: &str) -> Option<&'a str> {
    value.get(key).and_then(Value::as_str)
}

impl Template {
    pub fn load(path: &Path) -> Result<Template, TemplateError> {
        Self::parse(&std::fs::read_to_string(path)?)
    }

    pub fn parse(text: &str) -> Result<Template, TemplateError> {
        let doc: Value = serde_yaml::from_str(text)?;
        let resources = doc
            .get("Resources")
            .and_then(Value::as_mapping)
            .ok_or_else(|| TemplateError::Shape("no Resources".into()))?;
        let mut by_id = BTreeMap::new();
        for (id, resource) in resources {
            if let Some(id) = id.as_str() {
                by_id.insert(id.to_string(), resource);
            }
        }
        let of_type = |kind: &'static str| by_id.iter().filter(move |(_, r)| str_of(r, "Type") == Some(kind));

        let mut functions = BTreeMap::new();
        for (id, resource) in of_type("AWS::Serverless::Function") {
            let binary = resource
                .get("Metadata")
                .and_then(|m| m.get("BuildProperties"))
                .and_then(|b| str_of(b, "Binary"))
                .ok_or_else(|| TemplateError::Shape(format!("{id} has no Metadata.BuildProperties.Binary")))?;
            functions.insert(id.clone(), binary.to_string());
        }
        let function_of = |value: &Value| -> Result<String, TemplateError> {
            referenced_ids(value)
                .iter()
                .find_map(|id| functions.get(id).cloned())
                .ok_or_else(|| TemplateError::Shape(format!("no function referenced by {value:?}")))
        };

        let mut authorizer = None;
        for (_, api) in of_type("AWS::Serverless::HttpApi") {
            let Some(auth) = api.get("Properties").and_then(|p| p.get("Auth")) else { continue };
            let Some(default) = str_of(auth, "DefaultAuthorizer") else { continue };
            let def = auth
                .get("Authorizers")
                .and_then(|a| a.get(default))
                .ok_or_else(|| TemplateError::Shape(format!("authorizer {default} is not defined")))?;
            let identity = def.get("Identity");
            authorizer = Some(Authorizer {
                function: function_of(def.get("FunctionArn").unwrap_or(&Value::Null))?,
                ttl_secs: identity.and_then(|i| i.get("ReauthorizeEvery")).and_then(Value::as_u64).unwrap_or(300),
                identity_headers: identity
                    .and_then(|i| i.get("Headers"))
                    .and_then(Value::as_sequence)
                    .map(|h| h.iter().filter_map(Value::as_str).map(str::to_ascii_lowercase).collect())
                    .unwrap_or_default(),
            });
        }

        let mut http_routes = vec![];
        for (id, resource) in of_type("AWS::Serverless::Function") {
            let events = resource.get("Properties").and_then(|p| p.get("Events")).and_then(Value::as_mapping);
            for event in events.into_iter().flat_map(|m| m.values()) {
                if str_of(event, "Type") != Some("HttpApi") {
                    continue;
                }
                let props = event.get("Properties").unwrap_or(&Value::Null);
                let (Some(path), Some(method)) = (str_of(props, "Path"), str_of(props, "Method")) else {
                    return Err(TemplateError::Shape(format!("{id}: HttpApi event needs Path and Method")));
                };
                let no_auth = props.get("Auth").and_then(|a| str_of(a, "Authorizer")) == Some("NONE");
                http_routes.push(HttpRoute {
                    method: method.to_ascii_uppercase(),
                    path: path.to_string(),
                    function: functions[id].clone(),
                    authorized: authorizer.is_some() && !no_auth,
                });
            }
        }

        let mut ws_routes = vec![];
        let responded: Vec<String> = of_type("AWS::ApiGatewayV2::RouteResponse")
            .flat_map(|(_, r)| {
                referenced_ids(r.get("Properties").and_then(|p| p.get("RouteId")).unwrap_or(&Value::Null))
            })
            .collect();
        for (id, route) in of_type("AWS::ApiGatewayV2::Route") {
            let props = route.get("Properties").unwrap_or(&Value::Null);
            let key = str_of(props, "RouteKey").ok_or_else(|| TemplateError::Shape(format!("{id} has no RouteKey")))?;
            let integration = referenced_ids(props.get("Target").unwrap_or(&Value::Null))
                .into_iter()
                .next()
                .and_then(|i| by_id.get(&i).copied())
                .ok_or_else(|| TemplateError::Shape(format!("{id}: Target is not an integration")))?;
            let uri = integration.get("Properties").and_then(|p| p.get("IntegrationUri")).unwrap_or(&Value::Null);
            ws_routes.push(WsRoute {
                key: key.to_string(),
                function: function_of(uri)?,
                two_way: responded.contains(id),
            });
        }

        let ws_stage = doc
            .get("Parameters")
            .and_then(|p| p.get("StageName"))
            .and_then(|s| str_of(s, "Default"))
            .unwrap_or("v1")
            .to_string();
        let tables = of_type("AWS::DynamoDB::Table")
            .map(|(id, r)| Table {
                logical_id: id.clone(),
                properties: r.get("Properties").cloned().unwrap_or(Value::Null),
            })
            .collect();
        let buckets = of_type("AWS::S3::Bucket").map(|(id, _)| bucket_name(id)).collect();
        let arns = LocalArns { by_id: &by_id, stage: &ws_stage };
        let mut policies = BTreeMap::new();
        for (id, resource) in of_type("AWS::Serverless::Function") {
            let listed = resource.get("Properties").and_then(|p| p.get("Policies")).and_then(Value::as_sequence);
            let mut statements = vec![];
            for policy in listed.into_iter().flatten() {
                let Some(list) = policy.get("Statement").and_then(Value::as_sequence) else {
                    return Err(TemplateError::Shape(format!("{id}: only inline Statement policies are read")));
                };
                for statement in list {
                    if str_of(statement, "Effect") != Some("Allow") {
                        return Err(TemplateError::Shape(format!("{id}: only Allow statements are read")));
                    }
                    let strings = |key: &str| -> Vec<&Value> {
                        match statement.get(key) {
                            Some(Value::Sequence(items)) => items.iter().collect(),
                            Some(one) => vec![one],
                            None => vec![],
                        }
                    };
                    let actions = strings("Action").into_iter().filter_map(Value::as_str).map(String::from).collect();
                    let resources =
                        strings("Resource").into_iter().map(|r| arns.resolve(r)).collect::<Result<_, _>>()?;
                    statements.push(Statement { actions, resources });
                }
            }
            policies.insert(functions[id].clone(), statements);
        }
        let global_timeout =
            doc.get("Globals").and_then(|g| g.get("Function")).and_then(|f| f.get("Timeout")).and_then(Value::as_u64);
        let timeouts = of_type("AWS::Serverless::Function")
            .map(|(id, r)| {
                let own = r.get("Properties").and_then(|p| p.get("Timeout")).and_then(Value::as_u64);
                (functions[id].clone(), own.or(global_timeout).unwrap_or(3))
            })
            .collect();
        let mut function_names = BTreeMap::new();
        let mut async_retries = BTreeMap::new();
        for (id, r) in of_type("AWS::Serverless::Function") {
            let binary = functions[id].clone();
            let props = r.get("Properties");
            if let Some(name) = props.and_then(|p| p.get("FunctionName")) {
                function_names.insert(arns.resolve(name)?, binary.clone());
            }
            function_names.insert(binary.clone(), binary.clone());
            let retries = props
                .and_then(|p| p.get("EventInvokeConfig"))
                .and_then(|c| c.get("MaximumRetryAttempts"))
                .and_then(Value::as_u64)
                .unwrap_or(2);
            async_retries.insert(binary, retries as u32);
        }
        let fan_out_function = doc
            .get("Globals")
            .and_then(|g| g.get("Function"))
            .and_then(|f| f.get("Environment"))
            .and_then(|e| e.get("Variables"))
            .and_then(|v| v.get("FAN_OUT_FUNCTION"))
            .map(|name| arns.resolve(name))
            .transpose()?;
        Ok(Template {
            http_routes,
            authorizer,
            ws_routes,
            ws_stage,
            tables,
            buckets,
            functions,
            timeouts,
            policies,
            function_names,
            async_retries,
            fan_out_function,
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
