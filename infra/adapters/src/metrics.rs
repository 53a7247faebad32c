//! Counts DynamoDB requests per operation, and the time each waited for its answer, so
//! benchmarks can report what an action costs and where its time goes. While
//! [`measure_capacity`] is on (a benchmark's choice), every request also asks DynamoDB for the
//! capacity it consumed (`ReturnConsumedCapacity`), and the units are added up by operation:
//! what AWS would bill, as DynamoDB itself reckons it, instead of a model of item sizes.

use aws_smithy_runtime_api::box_error::BoxError;
use aws_smithy_runtime_api::client::interceptors::context::{
    AfterDeserializationInterceptorContextRef, BeforeDeserializationInterceptorContextRef,
    BeforeTransmitInterceptorContextMut, BeforeTransmitInterceptorContextRef,
};
use aws_smithy_runtime_api::client::interceptors::Intercept;
use aws_smithy_runtime_api::client::orchestrator::Metadata;
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_types::body::SdkBody;
use aws_smithy_types::config_bag::{ConfigBag, Storable, StoreReplace};
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Requests sent, by operation name (`GetItem`, `BatchGetItem`, ...); every attempt counts.
/// With them, the wait for each answer and, while measured, the capacity units consumed.
#[derive(Clone, Debug, Default)]
pub struct RequestCounter(
    Arc<Mutex<BTreeMap<String, u64>>>,
    Arc<Mutex<BTreeMap<String, Duration>>>,
    Arc<Mutex<BTreeMap<String, f64>>>,
);

/// Whether requests ask for their consumed capacity (off: requests go out as the code built them).
static MEASURE_CAPACITY: AtomicBool = AtomicBool::new(false);

/// Turns capacity measuring on or off for every client of this process.
pub fn measure_capacity(on: bool) {
    MEASURE_CAPACITY.store(on, Ordering::Relaxed);
}

/// The name of the operation a request belongs to (`GetItem`, ...).
fn operation(cfg: &ConfigBag) -> String {
    cfg.load::<Metadata>().map(|m| m.name().to_string()).unwrap_or_else(|| "unknown".into())
}

/// Adds `"ReturnConsumedCapacity": "TOTAL"` to a DynamoDB request body (JSON); `None` when the
/// body is not a JSON object.
fn asking_capacity(body: &[u8]) -> Option<Vec<u8>> {
    let mut request: serde_json::Value = serde_json::from_slice(body).ok()?;
    request.as_object_mut()?.insert("ReturnConsumedCapacity".into(), "TOTAL".into());
    serde_json::to_vec(&request).ok()
}

/// The capacity units an answer reports (one `ConsumedCapacity`, or a list of them from a batch
/// or a transaction).
fn consumed_units(body: &[u8]) -> f64 {
    let Ok(answer) = serde_json::from_slice::<serde_json::Value>(body) else { return 0.0 };
    let units = |c: &serde_json::Value| c["CapacityUnits"].as_f64().unwrap_or(0.0);
    match &answer["ConsumedCapacity"] {
        serde_json::Value::Array(list) => list.iter().map(units).sum(),
        one => units(one),
    }
}

/// When the request being sent left (between transmit and its answer: network and service).
#[derive(Clone, Debug)]
struct SentAt(String, Instant);

impl Storable for SentAt {
    type Storer = StoreReplace<Self>;
}

impl RequestCounter {
    /// Time spent waiting for answers, by operation (requests at once add up).
    pub fn waits(&self) -> BTreeMap<String, Duration> {
        self.1.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    pub fn snapshot(&self) -> BTreeMap<String, u64> {
        self.0.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }
    pub fn reset(&self) {
        self.0.lock().unwrap_or_else(|e| e.into_inner()).clear();
    }
    /// Capacity units consumed while measured, by operation (read units for reads, write
    /// units for writes, as DynamoDB reports them).
    pub fn capacity(&self) -> BTreeMap<String, f64> {
        self.2.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }
    /// Requests since `before`, by operation.
    pub fn since(&self, before: &BTreeMap<String, u64>) -> BTreeMap<String, u64> {
        self.snapshot()
            .into_iter()
            .map(|(op, n)| (op.clone(), n - before.get(&op).copied().unwrap_or(0)))
            .filter(|(_, n)| *n > 0)
            .collect()
    }
}

impl Intercept for RequestCounter {
    fn name(&self) -> &'static str {
        "RequestCounter"
    }

    fn modify_before_signing(
        &self,
        context: &mut BeforeTransmitInterceptorContextMut<'_>,
        _components: &RuntimeComponents,
        _cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        if !MEASURE_CAPACITY.load(Ordering::Relaxed) {
            return Ok(());
        }
        let request = context.request_mut();
        if let Some(body) = request.body().bytes().and_then(asking_capacity) {
            request.headers_mut().insert("content-length", body.len().to_string());
            *request.body_mut() = SdkBody::from(body);
        }
        Ok(())
    }

    fn read_after_deserialization(
        &self,
        context: &AfterDeserializationInterceptorContextRef<'_>,
        _components: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        if !MEASURE_CAPACITY.load(Ordering::Relaxed) {
            return Ok(());
        }
        let units = context.response().body().bytes().map(consumed_units).unwrap_or(0.0);
        let operation = operation(cfg);
        *self.2.lock().unwrap_or_else(|e| e.into_inner()).entry(operation).or_default() += units;
        Ok(())
    }

    fn read_before_transmit(
        &self,
        _context: &BeforeTransmitInterceptorContextRef<'_>,
        _components: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let operation = operation(cfg);
        *self.0.lock().unwrap_or_else(|e| e.into_inner()).entry(operation.clone()).or_insert(0) += 1;
        cfg.interceptor_state().store_put(SentAt(operation, Instant::now()));
        Ok(())
    }

    fn read_after_transmit(
        &self,
        _context: &BeforeDeserializationInterceptorContextRef<'_>,
        _components: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        if let Some(SentAt(operation, at)) = cfg.load::<SentAt>() {
            *self.1.lock().unwrap_or_else(|e| e.into_inner()).entry(operation.clone()).or_default() += at.elapsed();
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_request_asks_for_its_capacity_and_an_answer_tells_it() {
        let asked: serde_json::Value =
            serde_json::from_slice(&asking_capacity(br#"{"TableName":"t","Key":{}}"#).unwrap()).unwrap();
        assert_eq!((asked["ReturnConsumedCapacity"].as_str(), asked["TableName"].as_str()), (Some("TOTAL"), Some("t")));
        assert_eq!(asking_capacity(b"not json"), None);
        assert_eq!(consumed_units(br#"{"ConsumedCapacity":{"TableName":"t","CapacityUnits":5.5}}"#), 5.5);
        let batch = br#"{"ConsumedCapacity":[{"CapacityUnits":1.0},{"CapacityUnits":2.5}],"Responses":{}}"#;
        assert_eq!(consumed_units(batch), 3.5);
        assert_eq!(consumed_units(br#"{"Item":{}}"#), 0.0);
    }
}
