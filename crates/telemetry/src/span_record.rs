//! What [`crate::OtelLayer`] keeps for one `tracing` span: its OpenTelemetry
//! context and, when sampled, the name, kind, attributes, events, links and
//! status it is exported with; and the conversion of `tracing` field values
//! into those (the `otel.*` fields steer the span instead of becoming
//! attributes, as in `tracing-opentelemetry`).

use crate::interned::string_value;
use crate::{SamplerConfig, SharedProcessor};
use opentelemetry::trace::{
    Event, Link, SpanContext, SpanId, SpanKind, Status, TraceContextExt as _, TraceFlags, TraceId,
    TraceState,
};
use opentelemetry::{Context, InstrumentationScope, Key, KeyValue, StringValue, Value};
use opentelemetry_sdk::trace::{SpanData, SpanEvents, SpanLinks, SpanProcessor as _};
use std::borrow::Cow;
use std::fmt;
use std::sync::{Arc, OnceLock};
use std::time::SystemTime;
use tracing::field::{Field, Visit};
use tracing::{Level, Metadata};

/// The SDK's default span limits: beyond them items are counted as dropped.
const MAX_ATTRIBUTES: usize = 128;
const MAX_EVENTS: usize = 128;
const MAX_LINKS: usize = 128;
/// Room reserved for attributes when a span starts: a span declaring many
/// fields (to record them later) usually records only some, and a vector
/// past 1 KiB skips malloc's per-thread cache.
const INITIAL_ATTRIBUTES: usize = 12;

/// Where a layer's finished spans go, and the scope they are exported with.
#[derive(Debug)]
pub(crate) struct SpanSink {
    pub(crate) processor: SharedProcessor,
    pub(crate) scope: InstrumentationScope,
}

/// The layer's extension on every span it saw. A sampled span is exported
/// when this is dropped: when the span closes, or when its subscriber is
/// dropped with the span still open (a child closed outside any subscriber
/// context never releases its parent, so such parents are not lost).
#[derive(Debug)]
pub(crate) struct OtelSpan {
    /// The span's id, trace and sampling flag.
    pub(crate) span_context: SpanContext,
    /// The context this span runs in, [`Self::context`], or how to make it.
    context: SpanContextCell,
    /// What will be exported; `None` when the span is not sampled. Boxed,
    /// so that this stays small: it is moved into the registry's
    /// extensions and out again (each move of the unboxed data was a
    /// `memcpy` of some 300 bytes).
    pub(crate) recording: Option<Box<Recording>>,
}

/// The context a span runs in: its parent's plus the span. Made when first
/// needed (entering the span, a child, `OpenTelemetrySpanExt::context`),
/// since most spans (a client call that is never entered) never need it
/// and making it allocates.
#[derive(Debug)]
enum SpanContextCell {
    /// Made when the span started (its parent context has an active span,
    /// which must not be kept alive by this span).
    Ready(Context),
    /// The parent's context (no active span in it), and the span's
    /// context once made.
    Lazy {
        parent: Context,
        made: OnceLock<Context>,
    },
}

impl OtelSpan {
    /// A span with `span_context` in `parent` (the parent's context).
    pub(crate) fn new(
        span_context: SpanContext,
        parent: Context,
        recording: Option<Box<Recording>>,
    ) -> Self {
        let context = if parent.has_active_span() {
            SpanContextCell::Ready(parent.with_remote_span_context(span_context.clone()))
        } else {
            SpanContextCell::Lazy {
                parent,
                made: OnceLock::new(),
            }
        };
        Self {
            span_context,
            context,
            recording,
        }
    }

    /// The context this span runs in: its parent's plus this span. Entering
    /// the span attaches it; children created inside inherit it.
    pub(crate) fn context(&self) -> Context {
        match &self.context {
            SpanContextCell::Ready(context) => context.clone(),
            SpanContextCell::Lazy { parent, made } => made
                .get_or_init(|| parent.with_remote_span_context(self.span_context.clone()))
                .clone(),
        }
    }
}

impl Drop for OtelSpan {
    fn drop(&mut self) {
        if let Some(recording) = self.recording.take() {
            let (data, sink) = recording.finish(self.span_context.clone());
            sink.processor.on_end(data);
        }
    }
}

/// The context of a span `span_id` of trace `trace_id` under `parent`
/// (`None` for a root): sampled as `sampler` decides, with the parent's
/// trace state.
pub(crate) fn new_span_context(
    sampler: SamplerConfig,
    parent: Option<&SpanContext>,
    trace_id: TraceId,
    span_id: SpanId,
) -> SpanContext {
    let flags = if sampler.samples(parent, trace_id) {
        TraceFlags::SAMPLED
    } else {
        TraceFlags::default()
    };
    let trace_state = parent.map_or_else(TraceState::default, |p| p.trace_state().clone());
    SpanContext::new(trace_id, span_id, flags, false, trace_state)
}

/// How `otel.status_code` was set.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum StatusCode {
    Unset,
    Ok,
    Error,
}

/// A sampled span's content until it ends.
#[derive(Debug)]
pub(crate) struct Recording {
    sink: Arc<SpanSink>,
    name: Cow<'static, str>,
    kind: SpanKind,
    parent_span_id: SpanId,
    parent_is_remote: bool,
    start_time: SystemTime,
    attributes: Vec<KeyValue>,
    /// Bit `i`: field `i` of the span's callsite already has an attribute
    /// (so a field recorded again replaces its value instead of repeating it).
    recorded_fields: u64,
    dropped_attributes: u32,
    events: Vec<Event>,
    dropped_events: u32,
    links: Vec<Link>,
    dropped_links: u32,
    status_code: StatusCode,
    status_message: Option<Cow<'static, str>>,
}

impl Recording {
    /// A span called after its callsite, starting now, with room for one
    /// attribute per declared field.
    pub(crate) fn start(
        sink: Arc<SpanSink>,
        metadata: &'static Metadata<'static>,
        parent: Option<&SpanContext>,
    ) -> Self {
        Self {
            sink,
            name: Cow::Borrowed(metadata.name()),
            kind: SpanKind::Internal,
            parent_span_id: parent.map_or(SpanId::INVALID, SpanContext::span_id),
            parent_is_remote: parent.is_some_and(SpanContext::is_remote),
            start_time: opentelemetry::time::now(),
            attributes: Vec::with_capacity(metadata.fields().len().min(INITIAL_ATTRIBUTES)),
            recorded_fields: 0,
            dropped_attributes: 0,
            events: Vec::new(),
            dropped_events: 0,
            links: Vec::new(),
            dropped_links: 0,
            status_code: StatusCode::Unset,
            status_message: None,
        }
    }

    /// Re-parents the span (see `OpenTelemetrySpanExt::set_parent`).
    pub(crate) fn set_parent(&mut self, parent: Option<&SpanContext>) {
        self.parent_span_id = parent.map_or(SpanId::INVALID, SpanContext::span_id);
        self.parent_is_remote = parent.is_some_and(SpanContext::is_remote);
    }

    /// Sets attribute `key`, replacing an earlier value of the same key.
    pub(crate) fn set_attribute(&mut self, key: Key, value: Value) {
        match self.attributes.iter_mut().find(|kv| kv.key == key) {
            Some(existing) => existing.value = value,
            None => self.push_attribute(KeyValue::new(key, value)),
        }
    }

    /// The attribute of `field` (fields past the 64th take the slow path).
    /// Inlined into every visitor method: the common case is a bit test
    /// and a push.
    #[inline(always)]
    fn set_field(&mut self, field: &Field, value: Value) {
        let bit = 1u64.checked_shl(field.index() as u32).unwrap_or(0);
        // `bit` is 0 past the 64th field: the slow path.
        if bit != 0 && self.recorded_fields & bit == 0 && self.attributes.len() < MAX_ATTRIBUTES {
            self.recorded_fields |= bit;
            self.attributes
                .push(KeyValue::new(Key::from_static_str(field.name()), value));
            return;
        }
        self.set_field_slow(field, value);
    }

    /// [`Self::set_field`] for a field recorded before, past the 64th, or
    /// past the attribute limit.
    #[inline(never)]
    fn set_field_slow(&mut self, field: &Field, value: Value) {
        let bit = 1u64.checked_shl(field.index() as u32).unwrap_or(0);
        if bit != 0 && self.recorded_fields & bit == 0 {
            self.recorded_fields |= bit;
            self.push_attribute(KeyValue::new(Key::from_static_str(field.name()), value));
        } else {
            self.set_attribute(Key::from_static_str(field.name()), value);
        }
    }

    fn push_attribute(&mut self, attribute: KeyValue) {
        if self.attributes.len() < MAX_ATTRIBUTES {
            self.attributes.push(attribute);
        } else {
            self.dropped_attributes += 1;
        }
    }

    /// Adds a link to another span.
    pub(crate) fn add_link(&mut self, link: Link) {
        if self.links.len() < MAX_LINKS {
            self.links.push(link);
        } else {
            self.dropped_links += 1;
        }
    }

    /// Adds an event; an ERROR-level one marks the span failed unless its
    /// status was set explicitly.
    pub(crate) fn add_event(&mut self, event: Event, level: Option<Level>) {
        if level == Some(Level::ERROR) && self.status_code == StatusCode::Unset {
            self.status_code = StatusCode::Error;
        }
        if self.events.len() < MAX_EVENTS {
            self.events.push(event);
        } else {
            self.dropped_events += 1;
        }
    }

    /// Sets the status as `Span::set_status` would.
    pub(crate) fn set_status(&mut self, status: Status) {
        match status {
            Status::Unset => self.status_code = StatusCode::Unset,
            Status::Ok => self.status_code = StatusCode::Ok,
            Status::Error { description } => {
                self.status_code = StatusCode::Error;
                self.status_message = Some(description);
            }
        }
    }

    /// The exported span, ending now, and where it goes.
    fn finish(self, span_context: SpanContext) -> (SpanData, Arc<SpanSink>) {
        let status = match (self.status_code, self.status_message) {
            (StatusCode::Ok, _) => Status::Ok,
            (StatusCode::Error, message) => Status::Error {
                description: message.unwrap_or_default(),
            },
            // `otel.status_message` alone means an error, as in tracing-opentelemetry.
            (StatusCode::Unset, Some(message)) => Status::Error {
                description: message,
            },
            (StatusCode::Unset, None) => Status::Unset,
        };
        let mut events = SpanEvents::default();
        events.events = self.events;
        events.dropped_count = self.dropped_events;
        let mut links = SpanLinks::default();
        links.links = self.links;
        links.dropped_count = self.dropped_links;
        let data = SpanData {
            span_context,
            parent_span_id: self.parent_span_id,
            parent_span_is_remote: self.parent_is_remote,
            span_kind: self.kind,
            name: self.name,
            start_time: self.start_time,
            end_time: opentelemetry::time::now(),
            attributes: self.attributes,
            dropped_attributes_count: self.dropped_attributes,
            events,
            links,
            status,
            instrumentation_scope: self.sink.scope.clone(),
        };
        (data, self.sink)
    }
}

/// Span fields that steer the exported span instead of becoming attributes:
/// `otel.` followed by one of these.
const OTEL_PREFIX: &str = "otel.";
const NAME_FIELD: &str = "name";
const KIND_FIELD: &str = "kind";
const STATUS_CODE_FIELD: &str = "status_code";
const STATUS_MESSAGE_FIELD: &str = "status_message";
/// tracing-opentelemetry's name for the status message.
const STATUS_DESCRIPTION_FIELD: &str = "status_description";

/// Records a span's fields into its [`Recording`].
pub(crate) struct SpanFields<'a>(pub(crate) &'a mut Recording);

impl SpanFields<'_> {
    /// A text value: one of the `otel.*` fields, or an attribute.
    #[inline(always)]
    fn text(&mut self, field: &Field, value: Cow<'_, str>) {
        // One prefix test keeps the common case (an attribute) off the
        // comparisons of `steer`.
        match field.name().strip_prefix(OTEL_PREFIX) {
            Some(steering) => self.steer(field, steering, value),
            None => self.0.set_field(field, Value::String(string_value(&value))),
        }
    }

    /// A text field named `otel.` + `steering`: the span's name, kind or
    /// status, or (another name) an attribute.
    #[inline(never)]
    fn steer(&mut self, field: &Field, steering: &str, value: Cow<'_, str>) {
        let recording = &mut *self.0;
        match steering {
            NAME_FIELD => recording.name = Cow::Owned(value.into_owned()),
            KIND_FIELD => recording.kind = span_kind(&value),
            STATUS_CODE_FIELD => recording.status_code = status_code(&value),
            STATUS_MESSAGE_FIELD | STATUS_DESCRIPTION_FIELD => {
                recording.status_message = Some(Cow::Owned(value.into_owned()))
            }
            _ => recording.set_field(field, Value::String(string_value(&value))),
        }
    }
}

impl Visit for SpanFields<'_> {
    fn record_bool(&mut self, field: &Field, value: bool) {
        self.0.set_field(field, Value::Bool(value));
    }

    fn record_i64(&mut self, field: &Field, value: i64) {
        self.0.set_field(field, Value::I64(value));
    }

    fn record_u64(&mut self, field: &Field, value: u64) {
        self.0.set_field(field, unsigned(value));
    }

    fn record_f64(&mut self, field: &Field, value: f64) {
        self.0.set_field(field, Value::F64(value));
    }

    fn record_str(&mut self, field: &Field, value: &str) {
        self.text(field, Cow::Borrowed(value));
    }

    fn record_error(&mut self, field: &Field, value: &(dyn std::error::Error + 'static)) {
        self.0
            .set_field(field, Value::String(value.to_string().into()));
        let chain = error_chain(value);
        if !chain.is_empty() {
            let key = Key::from(format!("{}.chain", field.name()));
            self.0.set_attribute(key, Value::Array(chain.into()));
        }
    }

    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        self.text(field, Cow::Owned(format!("{value:?}")));
    }
}

/// Builds an event's name and attributes from its fields: `message` names
/// it; an unnamed event with an `error` field becomes an `exception` event
/// (OpenTelemetry's convention for errors), as in tracing-opentelemetry.
pub(crate) struct EventFields {
    name: Option<Cow<'static, str>>,
    attributes: Vec<KeyValue>,
}

impl EventFields {
    /// An event of `metadata`'s level and target, fields still to record.
    pub(crate) fn new(metadata: &'static Metadata<'static>) -> Self {
        let mut attributes = Vec::with_capacity(metadata.fields().len() + 2);
        attributes.push(KeyValue::new("level", metadata.level().as_str()));
        attributes.push(KeyValue::new("target", metadata.target()));
        Self {
            name: None,
            attributes,
        }
    }

    /// The finished event, called after its callsite when no `message` named it.
    pub(crate) fn into_event(self, metadata: &'static Metadata<'static>) -> Event {
        let name = self.name.unwrap_or(Cow::Borrowed(metadata.name()));
        Event::new(name, opentelemetry::time::now(), self.attributes, 0)
    }

    fn text(&mut self, field: &Field, value: Cow<'_, str>) {
        match field.name() {
            "message" => self.name = Some(Cow::Owned(value.into_owned())),
            "error" if self.name.is_none() => {
                self.name = Some(Cow::Borrowed("exception"));
                self.attributes
                    .push(KeyValue::new("exception.message", value.into_owned()));
            }
            name => self.attributes.push(KeyValue::new(
                Key::from_static_str(name),
                Value::String(value.into_owned().into()),
            )),
        }
    }

    fn push(&mut self, field: &Field, value: Value) {
        self.attributes
            .push(KeyValue::new(Key::from_static_str(field.name()), value));
    }
}

impl Visit for EventFields {
    fn record_bool(&mut self, field: &Field, value: bool) {
        self.push(field, Value::Bool(value));
    }

    fn record_i64(&mut self, field: &Field, value: i64) {
        self.push(field, Value::I64(value));
    }

    fn record_u64(&mut self, field: &Field, value: u64) {
        self.push(field, unsigned(value));
    }

    fn record_f64(&mut self, field: &Field, value: f64) {
        self.push(field, Value::F64(value));
    }

    fn record_str(&mut self, field: &Field, value: &str) {
        self.text(field, Cow::Borrowed(value));
    }

    fn record_error(&mut self, field: &Field, value: &(dyn std::error::Error + 'static)) {
        self.text(field, Cow::Owned(value.to_string()));
        let chain = error_chain(value);
        if !chain.is_empty() {
            self.attributes.push(KeyValue::new(
                "exception.stacktrace",
                Value::Array(chain.into()),
            ));
        }
    }

    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        self.text(field, Cow::Owned(format!("{value:?}")));
    }
}

/// An unsigned integer as an OpenTelemetry integer when it fits (the
/// bridge formatted every `u64` into a string).
fn unsigned(value: u64) -> Value {
    match i64::try_from(value) {
        Ok(value) => Value::I64(value),
        Err(_) => Value::String(value.to_string().into()),
    }
}

/// The `source()` chain of an error, outermost first.
fn error_chain(error: &(dyn std::error::Error + 'static)) -> Vec<StringValue> {
    let mut chain = Vec::new();
    let mut next = error.source();
    while let Some(source) = next {
        chain.push(source.to_string().into());
        next = source.source();
    }
    chain
}

/// `otel.kind` as tracing-opentelemetry reads it (case-insensitive).
fn span_kind(value: &str) -> SpanKind {
    [
        ("client", SpanKind::Client),
        ("server", SpanKind::Server),
        ("producer", SpanKind::Producer),
        ("consumer", SpanKind::Consumer),
    ]
    .into_iter()
    .find(|(name, _)| value.eq_ignore_ascii_case(name))
    .map_or(SpanKind::Internal, |(_, kind)| kind)
}

/// `otel.status_code`: `OK` or `ERROR` (any case); anything else leaves it unset.
fn status_code(value: &str) -> StatusCode {
    if value.eq_ignore_ascii_case("ok") {
        StatusCode::Ok
    } else if value.eq_ignore_ascii_case("error") {
        StatusCode::Error
    } else {
        StatusCode::Unset
    }
}
