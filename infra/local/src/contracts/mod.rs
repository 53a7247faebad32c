//! The machine-readable contracts, `docs/openapi.yaml` and `docs/asyncapi.yaml`, held against
//! what the stack really does. The gateway checks every HTTP answer and every WebSocket frame
//! it sends; a JSON frame a client sends must match the AsyncAPI document too, or else be
//! refused by the server. A violation is logged, and, when `IM_CONTRACT_LOG` names a file, it
//! is written there beside one tally line per check: `contract_report` reads that file after
//! the end-to-end suite and fails `make test` on any violation.

mod documents;

use documents::{abbreviate, errors, escape, operation_messages, parse_document, parse_frame, resolve, segments};
pub use documents::{as_json, read_yaml};
use serde_json::{Map, Value};
use std::collections::HashMap;
use std::io::Write;
use std::path::Path;
use std::sync::{Arc, Mutex};

/// Where the tally goes (one line per check), for `contract_report`.
pub const LOG_ENV: &str = "IM_CONTRACT_LOG";

pub struct Contracts {
    pub openapi: Value,
    pub asyncapi: Value,
    /// `paths` keys split into segments, most literal segments first (so `/a/b` beats `/a/{x}`).
    paths: Vec<(Vec<String>, String)>,
    /// JSON pointers of the AsyncAPI messages the server sends and receives, by content type.
    server_messages: Vec<(String, String)>,
    client_messages: Vec<(String, String)>,
    validators: Mutex<HashMap<String, Arc<jsonschema::Validator>>>,
    log: Option<Mutex<std::fs::File>>,
}

/// What one check found.
#[derive(Debug, PartialEq)]
pub enum Verdict {
    Valid,
    /// A client frame outside the contract that the server refused: bad input, correctly met.
    Refused,
    Violation(String),
}

impl Contracts {
    /// Reads both documents from `docs/` under `root`.
    pub fn load(root: &Path) -> Result<Contracts, String> {
        let openapi = read_yaml(&root.join("docs/openapi.yaml"))?;
        let asyncapi = read_yaml(&root.join("docs/asyncapi.yaml"))?;
        let mut paths: Vec<(Vec<String>, String)> = openapi["paths"]
            .as_object()
            .ok_or("docs/openapi.yaml has no paths")?
            .keys()
            .map(|key| (segments(key), key.clone()))
            .collect();
        paths.sort_by_key(|(segs, _)| std::cmp::Reverse(segs.iter().filter(|s| !s.starts_with('{')).count()));
        let server_messages = operation_messages(&asyncapi, "send")?;
        let client_messages = operation_messages(&asyncapi, "receive")?;
        if server_messages.is_empty() || client_messages.is_empty() {
            return Err("docs/asyncapi.yaml has no send or receive operations".into());
        }
        let log = match std::env::var_os(LOG_ENV) {
            Some(file) => Some(Mutex::new(
                std::fs::OpenOptions::new()
                    .create(true)
                    .append(true)
                    .open(&file)
                    .map_err(|e| format!("{LOG_ENV}={}: {e}", file.to_string_lossy()))?,
            )),
            None => None,
        };
        Ok(Contracts {
            openapi,
            asyncapi,
            paths,
            server_messages,
            client_messages,
            validators: Mutex::new(HashMap::new()),
            log,
        })
    }

    /// The operation (JSON pointer) a request falls under, chosen as API Gateway routes: among
    /// the paths with this method, the one with the most literal segments
    /// (`DELETE /friends/request` is `DELETE /friends/{user_id}`: there is no `DELETE` of the
    /// literal path).
    pub fn operation(&self, method: &str, path: &str) -> Option<String> {
        let parts = segments(path);
        let method = method.to_ascii_lowercase();
        self.paths
            .iter()
            .filter(|(template, _)| {
                template.len() == parts.len() && template.iter().zip(&parts).all(|(t, p)| t.starts_with('{') || t == p)
            })
            .map(|(_, key)| format!("/paths/{}/{method}", escape(key)))
            .find(|pointer| self.openapi.pointer(pointer).is_some())
    }

    /// Checks an HTTP answer against the operation's documented response.
    pub fn check_http(&self, method: &str, path: &str, status: u16, content_type: &str, body: &[u8]) -> Verdict {
        let verdict = self.http_verdict(method, path, status, content_type, body);
        self.record("http", &format!("{method} {path} -> {status}"), &verdict);
        verdict
    }

    fn http_verdict(&self, method: &str, path: &str, status: u16, content_type: &str, body: &[u8]) -> Verdict {
        // API Gateway's own answers (unknown path or method) are outside every operation.
        let Some(operation) = self.operation(method, path) else {
            return self.validate_body("/components/schemas/GatewayError", content_type, body);
        };
        let responses = format!("{operation}/responses");
        let response = [status.to_string(), format!("{}XX", status / 100), "default".into()]
            .into_iter()
            .map(|code| format!("{responses}/{code}"))
            .find(|pointer| self.openapi.pointer(pointer).is_some());
        let Some(response) = response else {
            return Verdict::Violation(format!("status {status} is not documented"));
        };
        let content = self.openapi.pointer(&format!("{response}/content")).and_then(Value::as_object);
        let media = content_type.split(';').next().unwrap_or("").trim().to_ascii_lowercase();
        if body.is_empty() {
            return match content {
                Some(content) if !content.is_empty() => {
                    Verdict::Violation("an empty body where one is documented".into())
                }
                _ => Verdict::Valid,
            };
        }
        match content {
            None => Verdict::Violation(format!("a {media} body where none is documented")),
            Some(content) if !content.contains_key(&media) => {
                let documented: Vec<&String> = content.keys().collect();
                Verdict::Violation(format!("content type {media:?} is not documented ({documented:?})"))
            }
            Some(_) => self.validate_body(&format!("{response}/content/{}/schema", escape(&media)), &media, body),
        }
    }

    /// Validates a JSON or TOML body against the OpenAPI schema at `pointer`.
    fn validate_body(&self, pointer: &str, content_type: &str, body: &[u8]) -> Verdict {
        let document = match parse_document(content_type, body) {
            Ok(Some(document)) => document,
            Ok(None) => return Verdict::Valid, // audio and other bytes: no schema to hold them to
            Err(err) => return Verdict::Violation(err),
        };
        match self.validator(&self.openapi, pointer) {
            Ok(validator) => errors(&validator, &document).map_or(Verdict::Valid, Verdict::Violation),
            Err(err) => Verdict::Violation(err),
        }
    }

    /// Checks a frame the server sends: it must match one message the server `send`s.
    pub fn check_server_frame(&self, text: &str) -> Verdict {
        let verdict = match parse_frame(text) {
            Ok((content_type, frame)) => self.match_message(&self.server_messages, content_type, &frame),
            Err(err) => Verdict::Violation(err),
        };
        self.record("frame-out", &abbreviate(text), &verdict);
        verdict
    }

    /// Checks a JSON frame a client sent, once the server answered it: outside the contract is
    /// fine when the server refused it (`ERROR`/`FAIL`), a violation when it answered `OK`.
    pub fn check_client_frame(&self, text: &str, answer: Option<&str>) -> Verdict {
        let Ok(frame @ Value::Object(_)) = serde_json::from_str::<Value>(text) else {
            return Verdict::Valid; // TOML frames (simple_im writes non-strict TOML) are not held to a schema
        };
        let verdict = match self.match_message(&self.client_messages, "application/json", &frame) {
            Verdict::Violation(why) => {
                let accepted =
                    answer.and_then(|a| serde_json::from_str::<Value>(a).ok()).is_some_and(|a| a["event"] == "OK");
                if accepted {
                    Verdict::Violation(format!("the server accepted a frame the contract refuses: {why}"))
                } else {
                    Verdict::Refused
                }
            }
            verdict => verdict,
        };
        self.record("frame-in", &abbreviate(text), &verdict);
        verdict
    }

    /// The frame matches one of `messages` of its content type; else the errors against the
    /// message its `event` names (or the first one), to say what is wrong.
    fn match_message(&self, messages: &[(String, String)], content_type: &str, frame: &Value) -> Verdict {
        let mut closest: Option<String> = None;
        for (_, pointer) in messages.iter().filter(|(kind, _)| kind == content_type) {
            let validator = match self.validator(&self.asyncapi, &format!("{pointer}/payload")) {
                Ok(validator) => validator,
                Err(err) => return Verdict::Violation(err),
            };
            match errors(&validator, frame) {
                None => return Verdict::Valid,
                Some(err) => {
                    let named = self
                        .asyncapi
                        .pointer(&format!("{pointer}/payload/properties/event/const"))
                        .is_some_and(|event| *event == frame["event"]);
                    if named || closest.is_none() {
                        closest = Some(format!("{} {err}", pointer.rsplit('/').next().unwrap_or(pointer)));
                    }
                }
            }
        }
        Verdict::Violation(closest.unwrap_or_else(|| format!("no {content_type} message in the contract")))
    }

    /// The compiled schema at `pointer` in `document`, `#/components/...` refs resolving.
    fn validator(&self, document: &Value, pointer: &str) -> Result<Arc<jsonschema::Validator>, String> {
        // The two documents share pointer shapes (`/components/...`): the key names the document.
        let which = if document["openapi"].is_string() { "openapi" } else { "asyncapi" };
        let key = format!("{which}#{pointer}");
        if let Some(found) = self.validators.lock().unwrap_or_else(|e| e.into_inner()).get(&key) {
            return Ok(found.clone());
        }
        let schema = resolve(document, pointer).ok_or_else(|| format!("no schema at {pointer}"))?;
        let mut root = match schema {
            Value::Object(map) => map,
            Value::Bool(true) => Map::new(),
            other => return Err(format!("schema at {pointer} is {other}")),
        };
        root.insert("components".into(), document["components"].clone());
        let validator = jsonschema::options()
            .with_draft(jsonschema::Draft::Draft202012)
            .build(&Value::Object(root))
            .map_err(|e| format!("schema at {pointer} does not compile: {e}"))?;
        let validator = Arc::new(validator);
        self.validators.lock().unwrap_or_else(|e| e.into_inner()).insert(key, validator.clone());
        Ok(validator)
    }

    fn record(&self, kind: &str, what: &str, verdict: &Verdict) {
        let line = match verdict {
            Verdict::Valid => format!("{kind}\tvalid\n"),
            Verdict::Refused => format!("{kind}\trefused\n"),
            Verdict::Violation(why) => {
                tracing::error!(check = kind, what, why, "contract violation");
                format!("{kind}\tVIOLATION\t{what}\t{}\n", why.replace(['\n', '\t'], " "))
            }
        };
        if let Some(log) = &self.log {
            let _ = log.lock().unwrap_or_else(|e| e.into_inner()).write_all(line.as_bytes());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The contracts, not logging: these tests make violations on purpose, and `make test`'s
    /// report must hold only what the stacks saw.
    fn contracts() -> Contracts {
        let contracts = Contracts::load(&crate::project_root()).expect("docs/openapi.yaml and docs/asyncapi.yaml load");
        Contracts { log: None, ..contracts }
    }

    /// The OpenAPI document is checked against the code: its operations are exactly the
    /// template's HTTP routes, no more and no fewer.
    #[test]
    fn openapi_operations_are_the_template_routes() {
        let contracts = contracts();
        let template = crate::template::Template::load(&crate::project_root().join("template.yaml")).unwrap();
        let mut routes: Vec<String> =
            template.http_routes.iter().map(|r| format!("{} {}", r.method.to_ascii_uppercase(), r.path)).collect();
        routes.sort();
        let mut operations = Vec::new();
        for (path, item) in contracts.openapi["paths"].as_object().unwrap() {
            for method in item.as_object().unwrap().keys() {
                if ["get", "put", "post", "delete", "patch", "head", "options"].contains(&method.as_str()) {
                    operations.push(format!("{} {path}", method.to_ascii_uppercase()));
                }
            }
        }
        operations.sort();
        assert_eq!(operations, routes);
    }

    /// Every operation names its function and the caller it needs, as the template does.
    #[test]
    fn openapi_operation_ids_and_security_follow_the_template() {
        let contracts = contracts();
        let template = crate::template::Template::load(&crate::project_root().join("template.yaml")).unwrap();
        for route in &template.http_routes {
            let pointer = format!("/paths/{}/{}", escape(&route.path), route.method.to_ascii_lowercase());
            let operation = contracts.openapi.pointer(&pointer).unwrap_or_else(|| panic!("{pointer}"));
            assert_eq!(operation["operationId"], route.function, "{pointer}");
            let open = operation["security"].as_array().is_some_and(|s| s.is_empty());
            assert_eq!(open, !route.authorized, "{pointer}: security");
        }
    }

    #[test]
    fn every_schema_compiles() {
        let contracts = contracts();
        let mut count = 0;
        for (path, item) in contracts.openapi["paths"].as_object().unwrap() {
            for (method, operation) in item.as_object().unwrap() {
                for (code, response) in operation["responses"].as_object().into_iter().flatten() {
                    for media in response["content"].as_object().into_iter().flat_map(|c| c.keys()) {
                        let pointer = format!(
                            "/paths/{}/{method}/responses/{code}/content/{}/schema",
                            escape(path),
                            escape(media)
                        );
                        contracts.validator(&contracts.openapi, &pointer).unwrap();
                        count += 1;
                    }
                }
            }
        }
        for (_, pointer) in contracts.server_messages.iter().chain(&contracts.client_messages) {
            contracts.validator(&contracts.asyncapi, &format!("{pointer}/payload")).unwrap();
            count += 1;
        }
        assert!(count > 100, "only {count} schemas");
    }

    #[test]
    fn a_wrong_answer_is_a_violation() {
        let contracts = contracts();
        let ok = contracts.check_http("GET", "/health", 200, "application/json", br#"{"response":[{"status":0}]}"#);
        assert_eq!(ok, Verdict::Valid);
        let wrong = contracts.check_http("GET", "/health", 200, "application/json", br#"{"response":"up"}"#);
        assert!(matches!(wrong, Verdict::Violation(_)), "{wrong:?}");
        let undocumented = contracts.check_http("GET", "/health", 200, "text/plain", b"up");
        assert!(matches!(undocumented, Verdict::Violation(_)), "{undocumented:?}");
        let gateway = contracts.check_http("GET", "/nowhere", 404, "application/json", br#"{"message":"Not Found"}"#);
        assert_eq!(gateway, Verdict::Valid);
    }

    #[test]
    fn frames_are_held_to_the_asyncapi_document() {
        let contracts = contracts();
        let pong = contracts.check_server_frame(r#"{"event":"PONG","data":{},"ref":"k1"}"#);
        assert_eq!(pong, Verdict::Valid);
        let invented = contracts.check_server_frame(r#"{"event":"INVENTED","data":{}}"#);
        assert!(matches!(invented, Verdict::Violation(_)), "{invented:?}");
        let refused = contracts.check_client_frame(
            r#"{"event":"NOPE"}"#,
            Some(r#"{"event":"ERROR","data":{"msg":"unknown event NOPE"}}"#),
        );
        assert_eq!(refused, Verdict::Refused);
        let accepted = contracts.check_client_frame(r#"{"event":"NOPE"}"#, Some(r#"{"event":"OK","data":{}}"#));
        assert!(matches!(accepted, Verdict::Violation(_)), "{accepted:?}");
        let ping = contracts.check_client_frame(r#"{"event":"PING","ref":"k1"}"#, None);
        assert_eq!(ping, Verdict::Valid);
    }
}
