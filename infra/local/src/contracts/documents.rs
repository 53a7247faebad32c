//! The contracts' documents as JSON, and the JSON they are held against: YAML read as JSON,
//! JSON pointers and `$ref`s followed, the AsyncAPI operations' messages, bodies and frames parsed.

use serde_json::{json, Value};
use std::path::Path;

/// A YAML document as JSON (keys as strings: `200:` and `'200':` alike).
pub fn read_yaml(path: &Path) -> Result<Value, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let yaml: serde_yaml::Value = serde_yaml::from_str(&text).map_err(|e| format!("{}: {e}", path.display()))?;
    Ok(yaml_to_json(yaml))
}

fn yaml_to_json(yaml: serde_yaml::Value) -> Value {
    use serde_yaml::Value as Y;
    match yaml {
        Y::Null => Value::Null,
        Y::Bool(b) => Value::Bool(b),
        Y::Number(n) => serde_json::to_value(&n).unwrap_or(Value::Null),
        Y::String(s) => Value::String(s),
        Y::Sequence(items) => Value::Array(items.into_iter().map(yaml_to_json).collect()),
        Y::Mapping(map) => Value::Object(
            map.into_iter()
                .map(|(k, v)| {
                    let key = match yaml_to_json(k) {
                        Value::String(s) => s,
                        other => other.to_string(),
                    };
                    (key, yaml_to_json(v))
                })
                .collect(),
        ),
        Y::Tagged(tagged) => yaml_to_json(tagged.value),
    }
}

pub(super) fn segments(path: &str) -> Vec<String> {
    path.split('/').filter(|s| !s.is_empty()).map(str::to_string).collect()
}

/// A JSON pointer token (RFC 6901).
pub(super) fn escape(token: &str) -> String {
    token.replace('~', "~0").replace('/', "~1")
}

/// Follows `$ref`s (`#/...`) from `pointer` until a value that is not a bare reference.
pub(super) fn resolve(document: &Value, pointer: &str) -> Option<Value> {
    let mut value = document.pointer(pointer)?;
    for _ in 0..16 {
        match value.get("$ref").and_then(Value::as_str) {
            Some(target) if value.as_object().is_some_and(|m| m.len() == 1) => {
                value = document.pointer(target.strip_prefix('#')?)?;
            }
            _ => break,
        }
    }
    Some(value.clone())
}

/// The messages (JSON pointers) of every operation with `action`, by content type.
pub(super) fn operation_messages(asyncapi: &Value, action: &str) -> Result<Vec<(String, String)>, String> {
    let default_type = asyncapi["defaultContentType"].as_str().unwrap_or("application/json");
    let mut found = Vec::new();
    for operation in asyncapi["operations"].as_object().into_iter().flat_map(|ops| ops.values()) {
        if operation["action"] != action {
            continue;
        }
        for message in operation["messages"].as_array().into_iter().flatten() {
            let mut pointer =
                message["$ref"].as_str().and_then(|r| r.strip_prefix('#')).ok_or("operation message without $ref")?;
            // A channel's message is often itself a reference to components.
            while let Some(next) = asyncapi.pointer(pointer).and_then(|m| m["$ref"].as_str()) {
                pointer = next.strip_prefix('#').ok_or("external $ref")?;
            }
            let content_type = asyncapi
                .pointer(&format!("{pointer}/contentType"))
                .and_then(Value::as_str)
                .unwrap_or(default_type)
                .to_string();
            let entry = (content_type, pointer.to_string());
            if !found.contains(&entry) {
                found.push(entry);
            }
        }
    }
    Ok(found)
}

/// A body as JSON: JSON as is, TOML converted; `None` for bytes no schema describes.
pub(super) fn parse_document(content_type: &str, body: &[u8]) -> Result<Option<Value>, String> {
    let text = || std::str::from_utf8(body).map_err(|_| "body is not UTF-8".to_string());
    if content_type.contains("json") {
        serde_json::from_str(text()?).map(Some).map_err(|e| format!("body is not JSON: {e}"))
    } else if content_type.contains("toml") {
        toml_to_json(text()?).map(Some)
    } else {
        Ok(None)
    }
}

fn toml_to_json(text: &str) -> Result<Value, String> {
    let table: toml::Table = toml::from_str(text).map_err(|e| format!("body is not TOML: {e}"))?;
    serde_json::to_value(table).map_err(|e| e.to_string())
}

/// A frame's content type and document: JSON if it parses as JSON, else TOML.
pub(super) fn parse_frame(text: &str) -> Result<(&'static str, Value), String> {
    match serde_json::from_str::<Value>(text) {
        Ok(frame) => Ok(("application/json", frame)),
        Err(_) => toml_to_json(text).map(|frame| ("application/toml", frame)),
    }
}

/// The first few errors, or `None` when the instance is valid.
pub(super) fn errors(validator: &jsonschema::Validator, instance: &Value) -> Option<String> {
    let found: Vec<String> = validator
        .iter_errors(instance)
        .take(3)
        .map(|e| format!("at {:?}: {e}", e.instance_path().to_string()))
        .collect();
    (!found.is_empty()).then(|| found.join("; "))
}

pub(super) fn abbreviate(text: &str) -> String {
    let short: String = text.chars().take(160).collect();
    short.replace(['\n', '\t'], " ")
}

/// The documents as JSON, for `GET /openapi.json` and `GET /asyncapi.json`.
pub fn as_json(document: &Value) -> String {
    serde_json::to_string_pretty(document).unwrap_or_else(|_| json!({}).to_string())
}
