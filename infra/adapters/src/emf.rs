//! Metrics in CloudWatch's embedded metric format (EMF): a log line that is a JSON object with
//! an `_aws` member naming its metrics, which CloudWatch Logs turns into metrics on its own
//! (no `PutMetricData` call, nothing on the request's path but the line). Emitted as a tracing
//! event of target [`TARGET`]: the function's log layer writes the object as its line
//! (`logging`); the local stack also sums them ([`collect`], `GET /_local/metrics`).

use serde_json::{json, Map, Value};
use std::collections::BTreeMap;
use std::sync::Mutex;

/// Running sums of every metric emitted in this process, once [`collect`] is called: the local
/// stack runs every function in its own process and shows them at `GET /_local/metrics`. A
/// Lambda never calls it (CloudWatch sums the lines).
static SUMS: Mutex<Option<BTreeMap<String, f64>>> = Mutex::new(None);

/// Starts summing this process's metrics.
pub fn collect() {
    let mut sums = SUMS.lock().unwrap_or_else(|e| e.into_inner());
    sums.get_or_insert_with(BTreeMap::new);
}

/// The sums so far (empty unless [`collect`] was called).
pub fn sums() -> BTreeMap<String, f64> {
    SUMS.lock().unwrap_or_else(|e| e.into_inner()).clone().unwrap_or_default()
}

/// The tracing target of metric events.
pub const TARGET: &str = "emf";
/// The CloudWatch namespace of the project's own metrics.
pub const NAMESPACE: &str = "Messenger";

/// A metric's unit, as CloudWatch names it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Unit {
    Count,
    Milliseconds,
}

impl Unit {
    fn name(self) -> &'static str {
        match self {
            Unit::Count => "Count",
            Unit::Milliseconds => "Milliseconds",
        }
    }
}

/// The EMF object of `metrics` (name, value, unit), at `timestamp_ms`, without dimensions: one
/// series per metric for the whole stack.
pub fn document(metrics: &[(&str, f64, Unit)], timestamp_ms: u64) -> Value {
    let names: Vec<Value> =
        metrics.iter().map(|(name, _, unit)| json!({ "Name": name, "Unit": unit.name() })).collect();
    let mut object = Map::new();
    object.insert(
        "_aws".into(),
        json!({ "Timestamp": timestamp_ms, "CloudWatchMetrics": [{ "Namespace": NAMESPACE, "Dimensions": [[]], "Metrics": names }] }),
    );
    for (name, value, _) in metrics {
        object.insert((*name).into(), json!(value));
    }
    Value::Object(object)
}

/// Emits `metrics` (those of value 0 left out; nothing when all are).
pub fn emit(metrics: &[(&str, f64, Unit)]) {
    let kept: Vec<(&str, f64, Unit)> = metrics.iter().copied().filter(|(_, value, _)| *value != 0.0).collect();
    if kept.is_empty() {
        return;
    }
    if let Some(sums) = SUMS.lock().unwrap_or_else(|e| e.into_inner()).as_mut() {
        for (name, value, _) in &kept {
            *sums.entry((*name).to_string()).or_default() += value;
        }
    }
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default();
    let line = document(&kept, now.as_millis() as u64);
    tracing::info!(target: "emf", emf = %line, "metrics");
}

/// The metric values of an EMF object: what `_aws` names, with their values.
pub fn values(document: &Value) -> Vec<(String, f64)> {
    let names = document["_aws"]["CloudWatchMetrics"][0]["Metrics"].as_array().cloned().unwrap_or_default();
    names
        .iter()
        .filter_map(|m| m["Name"].as_str())
        .filter_map(|name| document[name].as_f64().map(|v| (name.to_string(), v)))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_document_names_its_metrics_and_reads_back() {
        let doc = document(&[("MessagesStored", 1.0, Unit::Count), ("StoreToLastPostMs", 12.0, Unit::Milliseconds)], 7);
        assert_eq!(doc["_aws"]["Timestamp"], 7);
        assert_eq!(doc["_aws"]["CloudWatchMetrics"][0]["Namespace"], NAMESPACE);
        assert_eq!(doc["_aws"]["CloudWatchMetrics"][0]["Metrics"][1]["Unit"], "Milliseconds");
        assert_eq!(values(&doc), [("MessagesStored".to_string(), 1.0), ("StoreToLastPostMs".to_string(), 12.0)]);
    }
}
