//! Log lines with the invocation they belong to: every line carries the fields of the spans it
//! sits in (`requestId`, `route`, `frame`, `caller`, set by `im_functions::invoke` and the
//! WebSocket dispatcher), so one request's lines can be found and followed.
//!
//! Two renderings of one event: JSON in the shape of Lambda's JSON log format (`timestamp`,
//! `level`, `message`, `requestId`, then the other fields), what a function writes to CloudWatch
//! with `LoggingConfig: LogFormat: JSON`; and one short line for a person watching `make run`.

use serde_json::{Map, Value};
use std::fmt;
use std::io::Write;
use std::sync::Mutex;
use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Id, Record};
use tracing::{Event, Subscriber};
use tracing_subscriber::layer::Context;
use tracing_subscriber::registry::LookupSpan;
use tracing_subscriber::Layer;

#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Style {
    /// Lambda's JSON log format, one object per line.
    Json,
    /// `12:00:01.234 INFO  GET /user/id/{id} caller=5 answered status=200 ms=3`.
    Line,
}

/// A layer writing each event, with its spans' fields, to `writer`.
pub struct LogLayer<W: Write + Send + 'static> {
    style: Style,
    writer: Mutex<W>,
}

impl<W: Write + Send + 'static> LogLayer<W> {
    pub fn new(style: Style, writer: W) -> Self {
        LogLayer { style, writer: Mutex::new(writer) }
    }
}

/// The fields a span was given, kept in its extensions (and updated by `record`).
struct SpanFields(Map<String, Value>);

struct Collect<'a>(&'a mut Map<String, Value>);

impl Visit for Collect<'_> {
    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        self.0.insert(field.name().into(), Value::String(format!("{value:?}")));
    }
    fn record_str(&mut self, field: &Field, value: &str) {
        self.0.insert(field.name().into(), Value::String(value.into()));
    }
    fn record_i64(&mut self, field: &Field, value: i64) {
        self.0.insert(field.name().into(), value.into());
    }
    fn record_u64(&mut self, field: &Field, value: u64) {
        self.0.insert(field.name().into(), value.into());
    }
    fn record_bool(&mut self, field: &Field, value: bool) {
        self.0.insert(field.name().into(), value.into());
    }
}

impl<S, W> Layer<S> for LogLayer<W>
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    W: Write + Send + 'static,
{
    fn on_new_span(&self, attrs: &Attributes<'_>, id: &Id, ctx: Context<'_, S>) {
        let mut fields = Map::new();
        attrs.record(&mut Collect(&mut fields));
        // Layers share a span's extensions: the first layer keeps the fields for all of them.
        if let Some(span) = ctx.span(id) {
            let mut extensions = span.extensions_mut();
            if extensions.get_mut::<SpanFields>().is_none() {
                extensions.insert(SpanFields(fields));
            }
        }
    }

    /// Every layer records into the one shared map; the values are the same.
    fn on_record(&self, id: &Id, values: &Record<'_>, ctx: Context<'_, S>) {
        if let Some(span) = ctx.span(id) {
            if let Some(SpanFields(fields)) = span.extensions_mut().get_mut::<SpanFields>() {
                values.record(&mut Collect(fields));
            }
        }
    }

    fn on_event(&self, event: &Event<'_>, ctx: Context<'_, S>) {
        let mut context = Map::new();
        for span in ctx.event_scope(event).into_iter().flat_map(|scope| scope.from_root()) {
            if let Some(SpanFields(fields)) = span.extensions().get::<SpanFields>() {
                context.extend(fields.iter().map(|(k, v)| (k.clone(), v.clone())));
            }
        }
        let mut fields = Map::new();
        event.record(&mut Collect(&mut fields));
        let level = event.metadata().level().as_str();
        let metrics = match fields.get("emf") {
            Some(Value::String(text)) if event.metadata().target() == crate::emf::TARGET => {
                serde_json::from_str::<Value>(text).ok()
            }
            _ => None,
        };
        let line = match metrics {
            Some(document) => metric_line(self.style, level, context, document),
            None => render(self.style, level, context, fields),
        };
        let mut writer = self.writer.lock().unwrap_or_else(|e| e.into_inner());
        let _ = writer.write_all(line.as_bytes());
        let _ = writer.flush();
    }
}

/// A metrics event (`crate::emf`): in JSON, the EMF object itself with the spans' fields beside
/// its metrics (CloudWatch reads it as it is); as a short line, the metrics and their values.
fn metric_line(style: Style, level: &str, context: Map<String, Value>, document: Value) -> String {
    match (style, document) {
        (Style::Json, Value::Object(mut object)) => {
            object.extend(context);
            format!("{}\n", Value::Object(object))
        }
        (_, document) => {
            let mut fields: Map<String, Value> =
                crate::emf::values(&document).into_iter().map(|(name, value)| (name, value.into())).collect();
            fields.insert("message".into(), "metrics".into());
            render(Style::Line, level, context, fields)
        }
    }
}

/// One event as a line: the spans' fields (`context`) and the event's own (`fields`).
pub fn render(style: Style, level: &str, context: Map<String, Value>, mut fields: Map<String, Value>) -> String {
    let message = fields.remove("message").unwrap_or(Value::String(String::new()));
    let now = time::OffsetDateTime::now_utc();
    match style {
        Style::Json => {
            let mut line = Map::new();
            let stamp = now.format(&time::format_description::well_known::Rfc3339).unwrap_or_default();
            line.insert("timestamp".into(), stamp.into());
            line.insert("level".into(), level.into());
            line.insert("message".into(), message);
            line.extend(context);
            line.extend(fields);
            format!("{}\n", Value::Object(line))
        }
        Style::Line => {
            let text = |v: &Value| v.as_str().map(str::to_string).unwrap_or_else(|| v.to_string());
            let mut line = format!(
                "{:02}:{:02}:{:02}.{:03} {level:<5}",
                now.hour(),
                now.minute(),
                now.second(),
                now.millisecond()
            );
            for key in ["route", "frame"] {
                if let Some(value) = context.get(key) {
                    line.push(' ');
                    line.push_str(&text(value));
                }
            }
            if let Some(caller) = context.get("caller") {
                line.push_str(&format!(" caller={}", text(caller)));
            }
            line.push(' ');
            line.push_str(&text(&message));
            for (key, value) in &fields {
                line.push_str(&format!(" {key}={}", text(value)));
            }
            if let Some(id) = context.get("requestId") {
                line.push_str(&format!(" [{}]", text(id)));
            }
            line.push('\n');
            line
        }
    }
}

/// A function's logging: JSON lines on stdout when Lambda's log format is JSON (the
/// template's `LoggingConfig`), short lines otherwise; the level from `AWS_LAMBDA_LOG_LEVEL`,
/// else `RUST_LOG`, else INFO.
pub fn init_lambda() {
    use tracing_subscriber::layer::SubscriberExt;
    use tracing_subscriber::util::SubscriberInitExt;
    let level = std::env::var("AWS_LAMBDA_LOG_LEVEL").or_else(|_| std::env::var("RUST_LOG"));
    let filter = tracing_subscriber::EnvFilter::new(level.as_deref().unwrap_or("info").to_ascii_lowercase());
    let json = std::env::var("AWS_LAMBDA_LOG_FORMAT").is_ok_and(|f| f.eq_ignore_ascii_case("json"));
    let style = if json { Style::Json } else { Style::Line };
    let _ = tracing_subscriber::registry().with(filter).with(LogLayer::new(style, std::io::stdout())).try_init();
}

#[cfg(test)]
mod tests {
    use super::*;
    use tracing_subscriber::layer::SubscriberExt;

    #[derive(Clone, Default)]
    struct Buffer(std::sync::Arc<Mutex<Vec<u8>>>);
    impl Write for Buffer {
        fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(bytes);
            Ok(bytes.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    /// A metrics event is written as its EMF object, the request id beside its metrics, so
    /// CloudWatch Logs makes metrics of the line itself.
    #[test]
    fn a_metrics_event_is_an_emf_line() {
        let buffer = Buffer::default();
        let subscriber = tracing_subscriber::registry().with(LogLayer::new(Style::Json, buffer.clone()));
        tracing::subscriber::with_default(subscriber, || {
            let span = tracing::info_span!("invocation", requestId = "r-2");
            let _entered = span.enter();
            crate::emf::emit(&[("Posts", 3.0, crate::emf::Unit::Count)]);
        });
        let text = String::from_utf8(buffer.0.lock().unwrap().clone()).unwrap();
        let line: Value = serde_json::from_str(text.trim()).unwrap();
        assert_eq!((line["Posts"].as_f64(), line["requestId"].as_str()), (Some(3.0), Some("r-2")), "{line}");
        assert_eq!(line["_aws"]["CloudWatchMetrics"][0]["Metrics"][0]["Name"], "Posts");
    }

    /// A line logged deep in a handler carries the request id, the route and the caller
    /// recorded on the invocation's span after it began (as the WebSocket dispatcher does).
    #[test]
    fn every_line_carries_the_request_id_route_and_caller() {
        let buffer = Buffer::default();
        let subscriber = tracing_subscriber::registry().with(LogLayer::new(Style::Json, buffer.clone()));
        tracing::subscriber::with_default(subscriber, || {
            let span = tracing::info_span!(
                "invocation",
                requestId = "r-1",
                route = "$default",
                frame = tracing::field::Empty,
                caller = tracing::field::Empty
            );
            let _entered = span.enter();
            span.record("frame", "CHAT_SEND_MSG");
            span.record("caller", 42u64);
            tracing::warn!(status = 409, "a conflict");
        });
        let text = String::from_utf8(buffer.0.lock().unwrap().clone()).unwrap();
        let line: Value = serde_json::from_str(text.trim()).unwrap();
        assert_eq!(line["level"], "WARN");
        assert_eq!(line["message"], "a conflict");
        assert_eq!(line["requestId"], "r-1");
        assert_eq!(line["frame"], "CHAT_SEND_MSG");
        assert_eq!(line["caller"], 42);
        assert_eq!(line["status"], 409);
        assert!(line["timestamp"].as_str().unwrap().ends_with('Z'), "{line}");
    }

    #[test]
    fn a_person_reads_one_short_line() {
        let context: Map<String, Value> =
            serde_json::from_value(serde_json::json!({"requestId": "r-2", "route": "GET /health", "caller": 7}))
                .unwrap();
        let fields: Map<String, Value> =
            serde_json::from_value(serde_json::json!({"message": "answered", "status": 200})).unwrap();
        let line = render(Style::Line, "INFO", context, fields);
        assert!(line.ends_with("INFO  GET /health caller=7 answered status=200 [r-2]\n"), "{line}");
    }
}
