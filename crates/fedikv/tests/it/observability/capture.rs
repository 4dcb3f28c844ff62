//! [`Capture`]: a tracing layer and a metrics recorder, installed for the
//! current thread only, that keep every span, event and metric.

use std::collections::BTreeMap;
use std::fmt;
use std::sync::{Arc, Mutex};

use metrics::LocalRecorderGuard;
use metrics_util::debugging::{DebugValue, DebuggingRecorder};
use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Id, Record};
use tracing::{Event, Subscriber};
use tracing_subscriber::layer::{Context, Layer, SubscriberExt};
use tracing_subscriber::registry::LookupSpan;

/// A captured span: its name and its fields as text (strings unquoted).
#[derive(Debug, Clone)]
pub struct SpanData {
    pub name: &'static str,
    pub fields: BTreeMap<String, String>,
}

impl SpanData {
    /// The field's text, if the span recorded it.
    pub fn field(&self, name: &str) -> Option<&str> {
        self.fields.get(name).map(String::as_str)
    }
}

/// A captured metric: name, labels and value (a counter's count, a
/// gauge's largest value, a histogram's number of samples).
#[derive(Debug, Clone)]
pub struct MetricData {
    pub name: String,
    pub labels: BTreeMap<String, String>,
    pub value: f64,
}

/// A metric's name and labels.
type MetricKey = (String, BTreeMap<String, String>);

#[derive(Default)]
struct Log {
    spans: Vec<SpanData>,
    events: Vec<BTreeMap<String, String>>,
}

/// Where on_record finds a span's entry in the log.
struct SpanIndex(usize);

/// Every span and event, in order.
#[derive(Clone, Default)]
struct CaptureLayer(Arc<Mutex<Log>>);

#[derive(Default)]
struct Fields(BTreeMap<String, String>);

impl Visit for Fields {
    fn record_str(&mut self, field: &Field, value: &str) {
        self.0.insert(field.name().to_owned(), value.to_owned());
    }

    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        self.0.insert(field.name().to_owned(), format!("{value:?}"));
    }
}

impl<S: Subscriber + for<'a> LookupSpan<'a>> Layer<S> for CaptureLayer {
    fn on_new_span(&self, attrs: &Attributes<'_>, id: &Id, ctx: Context<'_, S>) {
        let mut fields = Fields::default();
        attrs.record(&mut fields);
        let mut log = self.0.lock().unwrap();
        let index = log.spans.len();
        log.spans.push(SpanData {
            name: attrs.metadata().name(),
            fields: fields.0,
        });
        ctx.span(id)
            .expect("new span")
            .extensions_mut()
            .insert(SpanIndex(index));
    }

    fn on_record(&self, id: &Id, values: &Record<'_>, ctx: Context<'_, S>) {
        let span = ctx.span(id).expect("recorded span");
        let extensions = span.extensions();
        let SpanIndex(index) = extensions.get::<SpanIndex>().expect("indexed");
        let mut fields = Fields::default();
        values.record(&mut fields);
        self.0.lock().unwrap().spans[*index].fields.extend(fields.0);
    }

    fn on_event(&self, event: &Event<'_>, _: Context<'_, S>) {
        let mut fields = Fields::default();
        event.record(&mut fields);
        self.0.lock().unwrap().events.push(fields.0);
    }
}

/// What a test captured; see [`Capture::install`].
pub struct Capture {
    layer: CaptureLayer,
    recorder: DebuggingRecorder,
    /// Every metric's value by name and labels; see [`Capture::metrics`].
    seen: Mutex<BTreeMap<MetricKey, f64>>,
}

/// Keeps a [`Capture`] installed on this thread.
pub struct Installed<'a> {
    _tracing: tracing::subscriber::DefaultGuard,
    _metrics: LocalRecorderGuard<'a>,
}

impl Capture {
    pub fn new() -> Self {
        Self {
            layer: CaptureLayer::default(),
            recorder: DebuggingRecorder::new(),
            seen: Mutex::default(),
        }
    }

    /// Captures what this thread emits (a `#[tokio::test]` runs the store's
    /// futures on it) until the guard is dropped.
    pub fn install(&self) -> Installed<'_> {
        let subscriber = tracing_subscriber::registry().with(self.layer.clone());
        Installed {
            _tracing: tracing::subscriber::set_default(subscriber),
            _metrics: metrics::set_default_local_recorder(&self.recorder),
        }
    }

    /// Every span so far.
    pub fn spans(&self) -> Vec<SpanData> {
        self.layer.0.lock().unwrap().spans.clone()
    }

    /// The spans named `name`.
    pub fn spans_named(&self, name: &str) -> Vec<SpanData> {
        self.spans()
            .into_iter()
            .filter(|s| s.name == name)
            .collect()
    }

    /// The last span named `name`; panics without one.
    pub fn last_span(&self, name: &str) -> SpanData {
        let spans = self.spans_named(name);
        let names: Vec<_> = self.spans().iter().map(|s| s.name).collect();
        spans
            .last()
            .cloned()
            .unwrap_or_else(|| panic!("no span {name:?} among {names:?}"))
    }

    /// Every metric so far. (A snapshot resets the recorder's counters,
    /// gauges and histograms, so counts are added up here across snapshots,
    /// and a gauge is the largest value a snapshot saw.)
    pub fn metrics(&self) -> Vec<MetricData> {
        let mut seen = self.seen.lock().unwrap();
        for (key, _, _, value) in self.recorder.snapshotter().snapshot().into_vec() {
            let (_, key) = key.into_parts();
            let labels: BTreeMap<String, String> = key
                .labels()
                .map(|l| (l.key().to_owned(), l.value().to_owned()))
                .collect();
            let slot = seen.entry((key.name().to_owned(), labels)).or_insert(0.0);
            match value {
                DebugValue::Counter(n) => *slot += n as f64,
                DebugValue::Gauge(v) => *slot = slot.max(v.into_inner()),
                DebugValue::Histogram(samples) => *slot += samples.len() as f64,
            }
        }
        seen.iter()
            .map(|((name, labels), value)| MetricData {
                name: name.clone(),
                labels: labels.clone(),
                value: *value,
            })
            .collect()
    }

    /// The value of metric `name` with exactly these `labels`, or `None`.
    pub fn metric(&self, name: &str, labels: &[(&str, &str)]) -> Option<f64> {
        let labels: BTreeMap<String, String> = labels
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        self.metrics()
            .into_iter()
            .find(|m| m.name == name && m.labels == labels)
            .map(|m| m.value)
    }

    /// Panics if any of `secrets` appears in a span's or event's field (name
    /// or value) or a metric's name or label.
    pub fn assert_never_shows(&self, secrets: &[&str]) {
        let log = self.layer.0.lock().unwrap();
        let spans = log.spans.iter().map(|s| &s.fields);
        let mut texts: Vec<String> = Vec::new();
        for fields in spans.chain(log.events.iter()) {
            texts.extend(fields.iter().flat_map(|(k, v)| [k.clone(), v.clone()]));
        }
        drop(log);
        for metric in self.metrics() {
            texts.push(metric.name);
            texts.extend(metric.labels.into_iter().flat_map(|(k, v)| [k, v]));
        }
        assert!(!texts.is_empty(), "nothing was captured");
        for secret in secrets {
            assert!(!secret.is_empty());
            if let Some(text) = texts.iter().find(|t| t.contains(secret)) {
                panic!("{secret:?} shows in telemetry: {text:?}");
            }
        }
    }
}
