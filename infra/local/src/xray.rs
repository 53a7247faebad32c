//! The X-Ray side of the local stack: the daemon Lambda runs beside each function (UDP, the
//! functions' `AWS_XRAY_DAEMON_ADDRESS`) and the function segments Lambda itself records for
//! a function with `Tracing: Active`. What it received is at `GET /_local/traces` (loopback).
//!
//! It holds documents to the daemon's rules: a datagram is the header line then one JSON
//! document of at most 64 KB; a document has a `name` (1–200 characters), a 16-hex `id`, a
//! `trace_id` of the form `1-<8 hex>-<24 hex>` and a `start_time`; a subsegment sent on its
//! own also names its `parent_id` and says `"type": "subsegment"`. Anything else is dropped
//! (and counted), as the daemon drops it, so a document X-Ray would refuse fails a test here.

use im_adapters::xray::{self, TraceHeader, DAEMON_HEADER};
use serde_json::{json, Value};
use std::collections::VecDeque;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::SystemTime;

/// The largest datagram the daemon reads.
const MAX_DATAGRAM: usize = 64 * 1024;

/// How many documents are kept (the oldest go first): enough for any test, bounded for `make run`.
const KEPT: usize = 10_000;

/// The documents received, and how many were dropped as malformed.
#[derive(Default)]
pub struct Traces {
    documents: Mutex<VecDeque<Value>>,
    dropped: Mutex<Vec<String>>,
}

impl Traces {
    fn keep(&self, document: Value) {
        let mut documents = self.documents.lock().unwrap_or_else(|e| e.into_inner());
        if documents.len() == KEPT {
            documents.pop_front();
        }
        documents.push_back(document);
    }

    /// Takes a datagram as the daemon would: kept if well formed, else dropped with why.
    pub fn receive(&self, datagram: &[u8]) {
        match document_of(datagram) {
            Ok(document) => self.keep(document),
            Err(why) => {
                tracing::warn!(%why, "X-Ray daemon: a document dropped");
                self.dropped.lock().unwrap_or_else(|e| e.into_inner()).push(why);
            }
        }
    }

    /// What Lambda records for an invocation with active tracing: the function's segment, under
    /// which the function's own subsegments (its AWS calls) hang.
    pub fn record_function(&self, function: &str, trace: &TraceHeader, started: SystemTime, failed: bool) {
        let mut segment = json!({
            "name": function,
            "id": trace.parent,
            "trace_id": trace.root,
            "origin": "AWS::Lambda::Function",
            "start_time": xray::seconds(started),
            "end_time": xray::seconds(SystemTime::now()),
        });
        if failed {
            segment["fault"] = json!(true);
        }
        self.keep(segment);
    }

    /// The documents of one trace, or all; and the reasons of the dropped ones.
    pub fn view(&self, trace_id: Option<&str>) -> Value {
        let documents = self.documents.lock().unwrap_or_else(|e| e.into_inner());
        let chosen: Vec<&Value> = documents.iter().filter(|d| trace_id.is_none_or(|id| d["trace_id"] == id)).collect();
        json!({ "documents": chosen, "dropped": *self.dropped.lock().unwrap_or_else(|e| e.into_inner()) })
    }
}

/// The document of a datagram, if the daemon would take it.
fn document_of(datagram: &[u8]) -> Result<Value, String> {
    if datagram.len() > MAX_DATAGRAM {
        return Err(format!("a datagram of {} bytes (at most {MAX_DATAGRAM})", datagram.len()));
    }
    let text = std::str::from_utf8(datagram).map_err(|_| "a datagram that is not UTF-8".to_string())?;
    let (header, body) = text.split_once('\n').ok_or("no header line")?;
    let expected: Value = serde_json::from_str(DAEMON_HEADER).unwrap_or_default();
    if serde_json::from_str::<Value>(header).ok() != Some(expected) {
        return Err(format!("the header {header:?}, not {DAEMON_HEADER}"));
    }
    let document: Value = serde_json::from_str(body).map_err(|e| format!("a document that is not JSON: {e}"))?;
    check(&document)?;
    Ok(document)
}

/// X-Ray's rules for a segment document (the fields the daemon and the service refuse without).
fn check(document: &Value) -> Result<(), String> {
    let text = |field: &str| document[field].as_str().ok_or(format!("no {field}"));
    let name = text("name")?;
    if name.is_empty() || name.chars().count() > 200 {
        return Err(format!("the name {name:?} (1 to 200 characters)"));
    }
    let hex16 = |value: &str| value.len() == 16 && value.bytes().all(|b| b.is_ascii_hexdigit());
    if !hex16(text("id")?) {
        return Err(format!("the id {:?} (16 hex digits)", document["id"]));
    }
    let trace_id = text("trace_id")?;
    let parts: Vec<&str> = trace_id.split('-').collect();
    let hex = |part: &str, len: usize| part.len() == len && part.bytes().all(|b| b.is_ascii_hexdigit());
    if !(parts.len() == 3 && parts[0] == "1" && hex(parts[1], 8) && hex(parts[2], 24)) {
        return Err(format!("the trace_id {trace_id:?}"));
    }
    if !document["start_time"].is_number() {
        return Err("no start_time".into());
    }
    if !document["end_time"].is_number() && document["in_progress"] != true {
        return Err("neither end_time nor in_progress".into());
    }
    if document["type"] == "subsegment" && !document["parent_id"].as_str().is_some_and(hex16) {
        return Err("a subsegment without a parent_id".into());
    }
    Ok(())
}

/// Listens for datagrams on a free port of `host`: the address to give the functions.
pub async fn listen(host: std::net::IpAddr, traces: Arc<Traces>) -> std::io::Result<SocketAddr> {
    let socket = tokio::net::UdpSocket::bind(SocketAddr::new(host, 0)).await?;
    let address = socket.local_addr()?;
    tokio::spawn(async move {
        let mut buffer = vec![0u8; MAX_DATAGRAM + 1];
        while let Ok(size) = socket.recv(&mut buffer).await {
            traces.receive(&buffer[..size]);
        }
    });
    Ok(address)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn datagram(document: &Value) -> Vec<u8> {
        format!("{DAEMON_HEADER}\n{document}").into_bytes()
    }

    #[test]
    fn the_daemon_keeps_what_x_ray_takes_and_drops_the_rest() {
        let traces = Traces::default();
        let trace = TraceHeader::new_sampled();
        let call =
            xray::Call { started: SystemTime::now(), ended: SystemTime::now(), status: Some(200), failed: false };
        traces.receive(&datagram(&xray::subsegment(&trace, "DynamoDB", "PutItem", &call)));
        traces.record_function("send_message", &trace, SystemTime::now(), false);
        let mut orphan = xray::subsegment(&trace, "S3", "PutObject", &call);
        orphan.as_object_mut().unwrap().remove("parent_id");
        traces.receive(&datagram(&orphan));
        traces.receive(b"{\"format\": \"json\", \"version\": 2}\n{}");
        traces.receive(&datagram(&json!({ "name": "x", "id": "short", "trace_id": trace.root, "start_time": 1 })));
        let view = traces.view(Some(&trace.root));
        assert_eq!(view["documents"].as_array().map(Vec::len), Some(2), "{view}");
        assert_eq!(view["dropped"].as_array().map(Vec::len), Some(3), "{view}");
        assert_eq!(traces.view(Some("1-00000000-000000000000000000000000"))["documents"], json!([]));
    }
}
