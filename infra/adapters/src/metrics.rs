//! Counts DynamoDB requests per operation, and the time each waited for its answer, so
//! benchmarks can report what an action costs and where its time goes.

use aws_smithy_runtime_api::box_error::BoxError;
use aws_smithy_runtime_api::client::interceptors::context::{
    BeforeDeserializationInterceptorContextRef, BeforeTransmitInterceptorContextRef,
};
use aws_smithy_runtime_api::client::interceptors::Intercept;
use aws_smithy_runtime_api::client::orchestrator::Metadata;
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_types::config_bag::{ConfigBag, Storable, StoreReplace};
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Requests sent, by operation name (`GetItem`, `BatchGetItem`, ...); every attempt counts.
#[derive(Clone, Debug, Default)]
pub struct RequestCounter(Arc<Mutex<BTreeMap<String, u64>>>, Arc<Mutex<BTreeMap<String, Duration>>>);

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

    fn read_before_transmit(
        &self,
        _context: &BeforeTransmitInterceptorContextRef<'_>,
        _components: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let operation = cfg.load::<Metadata>().map(|m| m.name().to_string()).unwrap_or_else(|| "unknown".into());
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
