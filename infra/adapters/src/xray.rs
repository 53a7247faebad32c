//! X-Ray subsegments for every AWS call of a traced invocation (issue 28, item 3).
//!
//! With the template's `Tracing` parameter `Active`, Lambda samples invocations and hands each
//! one a trace header (`Root=1-…;Parent=…;Sampled=1`); Lambda itself records the function's
//! segment. The Rust runtime has no X-Ray SDK, so [`XrayInterceptor`], on every AWS client,
//! times each call (retries included) and sends it to the X-Ray daemon Lambda runs beside the
//! function (`AWS_XRAY_DAEMON_ADDRESS`, UDP) as a subsegment of that segment: DynamoDB
//! `PutItem`, S3 `PutObject`, `PostToConnection` … with the HTTP status and whether it failed.
//!
//! The header reaches the interceptor as a task-local ([`traced`]), set per invocation by
//! `im_functions::invoke`: an environment variable would mix up the invocations the local stack
//! runs at once in one process. Unsampled invocations (tracing `PassThrough`, the default) send
//! nothing and cost nothing.

use aws_smithy_runtime_api::box_error::BoxError;
use aws_smithy_runtime_api::client::interceptors::context::{
    BeforeSerializationInterceptorContextRef, FinalizerInterceptorContextRef,
};
use aws_smithy_runtime_api::client::interceptors::Intercept;
use aws_smithy_runtime_api::client::orchestrator::Metadata;
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_types::config_bag::{ConfigBag, Storable, StoreReplace};
use serde_json::{json, Value};
use std::future::Future;
use std::net::{SocketAddr, UdpSocket};
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

/// What the daemon expects before each document of a datagram.
pub const DAEMON_HEADER: &str = "{\"format\": \"json\", \"version\": 1}";

/// One invocation's place in a trace, from Lambda's trace header.
#[derive(Clone, Debug, PartialEq)]
pub struct TraceHeader {
    /// `1-<8 hex: epoch seconds>-<24 hex>`.
    pub root: String,
    /// The function segment's id (16 hex): the parent of the subsegments sent.
    pub parent: String,
    pub sampled: bool,
}

impl TraceHeader {
    /// Reads `Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1`;
    /// `None` without a root or a parent.
    pub fn parse(header: &str) -> Option<TraceHeader> {
        let (mut root, mut parent, mut sampled) = (None, None, false);
        for part in header.split(';') {
            match part.trim().split_once('=') {
                Some(("Root", value)) => root = Some(value.to_string()),
                Some(("Parent", value)) => parent = Some(value.to_string()),
                Some(("Sampled", value)) => sampled = value == "1",
                _ => {}
            }
        }
        Some(TraceHeader { root: root?, parent: parent?, sampled })
    }

    /// A new sampled trace (what Lambda starts for an invocation with active tracing).
    pub fn new_sampled() -> TraceHeader {
        let epoch = seconds(SystemTime::now()) as u64;
        TraceHeader {
            root: format!("1-{epoch:08x}-{:024x}", rand::random::<u128>() >> 32),
            parent: new_id(),
            sampled: true,
        }
    }

    pub fn to_header(&self) -> String {
        format!("Root={};Parent={};Sampled={}", self.root, self.parent, u8::from(self.sampled))
    }
}

/// A segment or subsegment id: 16 hex digits.
pub fn new_id() -> String {
    format!("{:016x}", rand::random::<u64>())
}

/// Seconds since the epoch, with microseconds, as X-Ray's documents count time.
pub fn seconds(at: SystemTime) -> f64 {
    at.duration_since(UNIX_EPOCH).unwrap_or_default().as_secs_f64()
}

tokio::task_local! {
    static TRACE: TraceHeader;
}

/// Runs `work` with the invocation's trace header (Lambda's `xray_trace_id`), so its AWS calls
/// are traced when the header is sampled.
pub async fn traced<F: Future>(header: Option<&str>, work: F) -> F::Output {
    match header.and_then(TraceHeader::parse).filter(|h| h.sampled) {
        Some(header) => TRACE.scope(header, work).await,
        None => work.await,
    }
}

/// The daemon's address from `AWS_XRAY_DAEMON_ADDRESS`: `127.0.0.1:2000`, or Lambda's
/// `udp:169.254.79.129:2000 tcp:169.254.79.129:2000` form (the UDP one is used).
pub fn daemon_address(value: &str) -> Option<SocketAddr> {
    let udp = value.split_whitespace().find_map(|part| part.strip_prefix("udp:"));
    udp.unwrap_or(value.trim()).parse().ok()
}

/// One AWS call as an X-Ray subsegment document of the invocation's segment.
pub fn subsegment(trace: &TraceHeader, service: &str, operation: &str, call: &Call) -> Value {
    let mut document = json!({
        "name": service,
        "id": new_id(),
        "trace_id": trace.root,
        "parent_id": trace.parent,
        "type": "subsegment",
        "namespace": "aws",
        "start_time": seconds(call.started),
        "end_time": seconds(call.ended),
        "aws": { "operation": operation },
    });
    if let Some(status) = call.status {
        document["http"] = json!({ "response": { "status": status } });
    }
    // X-Ray's flags: `error` for a 4xx (the caller's), `fault` for a 5xx or no answer.
    match call.status {
        Some(status) if (400..500).contains(&status) => document["error"] = json!(true),
        Some(status) if status >= 500 => document["fault"] = json!(true),
        None if call.failed => document["fault"] = json!(true),
        _ if call.failed => document["error"] = json!(true),
        _ => {}
    }
    document
}

/// What the interceptor saw of one call.
#[derive(Clone, Debug)]
pub struct Call {
    pub started: SystemTime,
    pub ended: SystemTime,
    /// The last attempt's HTTP status; `None` when no answer came.
    pub status: Option<u16>,
    pub failed: bool,
}

/// When a traced call started (kept in the call's config bag between the two hooks).
#[derive(Debug)]
struct Started(TraceHeader, SystemTime);

impl Storable for Started {
    type Storer = StoreReplace<Self>;
}

/// Sends a subsegment for every AWS call made under a sampled trace header (see the module).
#[derive(Clone, Debug)]
pub struct XrayInterceptor {
    daemon: SocketAddr,
    socket: Arc<UdpSocket>,
}

impl XrayInterceptor {
    /// An interceptor sending to `daemon`; `None` when no UDP socket can be opened.
    pub fn new(daemon: SocketAddr) -> Option<XrayInterceptor> {
        let any = if daemon.is_ipv4() { "0.0.0.0:0" } else { "[::]:0" };
        let socket = UdpSocket::bind(any).ok()?;
        socket.set_nonblocking(true).ok()?;
        Some(XrayInterceptor { daemon, socket: Arc::new(socket) })
    }
}

impl Intercept for XrayInterceptor {
    fn name(&self) -> &'static str {
        "XrayInterceptor"
    }

    fn read_before_execution(
        &self,
        _context: &BeforeSerializationInterceptorContextRef<'_>,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        if let Ok(trace) = TRACE.try_with(TraceHeader::clone) {
            cfg.interceptor_state().store_put(Started(trace, SystemTime::now()));
        }
        Ok(())
    }

    fn read_after_execution(
        &self,
        context: &FinalizerInterceptorContextRef<'_>,
        _components: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let Some(Started(trace, started)) = cfg.load::<Started>() else { return Ok(()) };
        let (service, operation) = match cfg.load::<Metadata>() {
            Some(metadata) => (metadata.service().to_string(), metadata.name().to_string()),
            None => ("AWS".to_string(), "unknown".to_string()),
        };
        let call = Call {
            started: *started,
            ended: SystemTime::now(),
            status: context.response().map(|r| r.status().as_u16()),
            failed: !matches!(context.output_or_error(), Some(Ok(_))),
        };
        let document = subsegment(trace, &service, &operation, &call);
        // Best effort, as the X-Ray SDKs: a lost datagram costs a span, never the call.
        let _ = self.socket.send_to(format!("{DAEMON_HEADER}\n{document}").as_bytes(), self.daemon);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn a_header_is_read_and_written_back() {
        let text = "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1";
        let header = TraceHeader::parse(text).unwrap();
        assert_eq!(
            (header.root.as_str(), header.parent.as_str(), header.sampled),
            (&text[5..40], "53995c3f42cd8ad8", true)
        );
        assert_eq!(header.to_header(), text);
        assert!(
            !TraceHeader::parse("Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8").unwrap().sampled
        );
        assert_eq!(TraceHeader::parse("Sampled=1"), None);
        let fresh = TraceHeader::new_sampled();
        assert_eq!((fresh.root.len(), fresh.parent.len()), (35, 16), "{fresh:?}");
        assert_eq!(TraceHeader::parse(&fresh.to_header()), Some(fresh));
    }

    #[test]
    fn the_daemon_address_is_read_in_both_forms() {
        let plain = daemon_address("127.0.0.1:2000");
        let lambda = daemon_address("udp:169.254.79.129:2000 tcp:169.254.79.129:2001");
        assert_eq!(plain, Some("127.0.0.1:2000".parse().unwrap()));
        assert_eq!(lambda, Some("169.254.79.129:2000".parse().unwrap()));
        assert_eq!(daemon_address("nowhere"), None);
    }

    #[test]
    fn a_subsegment_says_which_call_how_long_and_how_it_ended() {
        let trace = TraceHeader::new_sampled();
        let started = UNIX_EPOCH + Duration::from_millis(1_795_428_000_250);
        let ended = started + Duration::from_millis(12);
        let ok = subsegment(&trace, "DynamoDB", "PutItem", &Call { started, ended, status: Some(200), failed: false });
        assert_eq!((ok["name"].as_str(), ok["aws"]["operation"].as_str()), (Some("DynamoDB"), Some("PutItem")));
        assert_eq!((ok["trace_id"] == trace.root.as_str(), ok["parent_id"] == trace.parent.as_str()), (true, true));
        let took = ok["end_time"].as_f64().unwrap() - ok["start_time"].as_f64().unwrap();
        assert!((took - 0.012).abs() < 1e-6, "{took}");
        assert!(ok.get("error").is_none() && ok.get("fault").is_none());
        let gone = Call { started, ended, status: Some(410), failed: true };
        assert_eq!(subsegment(&trace, "ApiGatewayManagementApi", "PostToConnection", &gone)["error"], true);
        let throttled = Call { started, ended, status: Some(500), failed: true };
        assert_eq!(subsegment(&trace, "DynamoDB", "Query", &throttled)["fault"], true);
        let timed_out = Call { started, ended, status: None, failed: true };
        assert_eq!(subsegment(&trace, "S3", "PutObject", &timed_out)["fault"], true);
    }

    #[tokio::test]
    async fn only_a_sampled_invocation_is_traced() {
        let sampled = "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1";
        let seen = traced(Some(sampled), async { TRACE.try_with(|t| t.parent.clone()).ok() }).await;
        assert_eq!(seen.as_deref(), Some("53995c3f42cd8ad8"));
        let unsampled = sampled.replace("Sampled=1", "Sampled=0");
        assert!(!traced(Some(&unsampled), async { TRACE.try_with(|_| ()).is_ok() }).await);
        assert!(!traced(None, async { TRACE.try_with(|_| ()).is_ok() }).await);
    }
}
