//! OpenTelemetry operations on a `tracing::Span`: read its context (trace
//! and span id, for propagation), re-parent it under a remote context, add
//! links, attributes, events and a status. The same methods as
//! `tracing_opentelemetry::OpenTelemetrySpanExt`, working with
//! [`crate::OtelLayer`]; a span recorded by tracing-opentelemetry's own layer
//! is handed to that crate's implementation, so code using this trait works
//! under either layer.

use crate::layer::ContextAccess;
use crate::span_record::{new_span_context, OtelSpan, Recording};
use opentelemetry::trace::{Event, Link, SpanContext, Status, TraceContextExt as _};
use opentelemetry::{Context, Key, KeyValue, Value};
use std::borrow::Cow;
use tracing_opentelemetry::OpenTelemetrySpanExt as Bridge;
pub use tracing_opentelemetry::SetParentError;

/// OpenTelemetry operations on a `tracing` span (no-ops on a disabled or
/// unsampled span, except [`Self::context`] and [`Self::set_parent`], which
/// work on unsampled spans too).
pub trait OpenTelemetrySpanExt {
    /// The span's OpenTelemetry context: its parent's context with this
    /// span's trace id, span id and sampling flag (empty without a layer).
    fn context(&self) -> Context;

    /// Makes the span a child of the span in `cx` (typically a remote parent
    /// extracted from request headers), sampling it again by that parent.
    /// Call it before the span has children: they keep the old trace id.
    fn set_parent(&self, cx: Context) -> Result<(), SetParentError>;

    /// Links the span to another span (e.g. the one that produced a cached value).
    fn add_link(&self, cx: SpanContext);

    /// [`Self::add_link`] with attributes on the link.
    fn add_link_with_attributes(&self, cx: SpanContext, attributes: Vec<KeyValue>);

    /// Sets an attribute (replacing one of the same key).
    fn set_attribute(&self, key: impl Into<Key>, value: impl Into<Value>);

    /// Sets the span's status.
    fn set_status(&self, status: Status);

    /// Adds an event, timestamped now.
    fn add_event(&self, name: impl Into<Cow<'static, str>>, attributes: Vec<KeyValue>);
}

/// What happened when an operation looked for the span's [`OtelSpan`].
enum Found<T> {
    /// The span is one of [`crate::OtelLayer`]'s; the operation's result.
    Ours(T),
    /// The subscriber has an `OtelLayer` but it does not know this span
    /// (filtered out for the layer, or already closed).
    Unknown,
    /// Disabled span, or a subscriber without an `OtelLayer`.
    NoLayer,
}

/// Runs `f` on the span's data under its layer's lock.
fn with_otel_span<T>(
    span: &tracing::Span,
    f: impl FnOnce(&mut OtelSpan, &ContextAccess) -> T,
) -> Found<T> {
    let mut f = Some(f);
    let mut found = Found::NoLayer;
    span.with_subscriber(|(id, dispatch)| {
        let Some(access) = dispatch.downcast_ref::<ContextAccess>() else {
            return;
        };
        found = Found::Unknown;
        access.with_span(dispatch, id, &mut |otel| {
            if let Some(f) = f.take() {
                found = Found::Ours(f(otel, access));
            }
        });
    });
    found
}

/// Hands `value` to `f` with the span's recording (sampled spans of ours;
/// dropped for other spans of ours); gives it back when the span is not
/// ours at all, for the bridge.
fn with_recording<V>(
    span: &tracing::Span,
    value: V,
    f: impl FnOnce(&mut Recording, V),
) -> Option<V> {
    let mut value = Some(value);
    let found = with_otel_span(span, |otel, _| {
        if let (Some(recording), Some(value)) = (otel.recording.as_deref_mut(), value.take()) {
            f(recording, value);
        }
    });
    match found {
        Found::NoLayer => value,
        Found::Ours(()) | Found::Unknown => None,
    }
}

impl OpenTelemetrySpanExt for tracing::Span {
    fn context(&self) -> Context {
        match with_otel_span(self, |otel, _| otel.context()) {
            Found::Ours(context) => context,
            Found::Unknown => Context::new(),
            Found::NoLayer => Bridge::context(self),
        }
    }

    fn set_parent(&self, cx: Context) -> Result<(), SetParentError> {
        let metadata = self.metadata();
        let found = with_otel_span(self, |otel, access| {
            let parent_span = cx.span();
            let parent = Some(parent_span.span_context()).filter(|p| p.is_valid());
            let trace_id = parent.map_or(otel.span_context.trace_id(), |p| p.trace_id());
            let span_id = otel.span_context.span_id();
            let span_context = new_span_context(access.sampler, parent, trace_id, span_id);
            let recording = match (otel.recording.take(), span_context.is_sampled(), metadata) {
                (Some(mut recording), true, _) => {
                    recording.set_parent(parent);
                    Some(recording)
                }
                // Recorded from now on: fields given earlier were not kept.
                (None, true, Some(metadata)) => Some(Box::new(Recording::start(
                    access.sink.clone(),
                    metadata,
                    parent,
                ))),
                _ => None,
            };
            *otel = OtelSpan::new(span_context, cx.clone(), recording);
        });
        match found {
            Found::Ours(()) => Ok(()),
            Found::Unknown => Err(SetParentError::LayerNotFound),
            Found::NoLayer => Bridge::set_parent(self, cx),
        }
    }

    fn add_link(&self, cx: SpanContext) {
        OpenTelemetrySpanExt::add_link_with_attributes(self, cx, Vec::new());
    }

    fn add_link_with_attributes(&self, cx: SpanContext, attributes: Vec<KeyValue>) {
        if !cx.is_valid() {
            return;
        }
        let link = Link::new(cx, attributes, 0);
        if let Some(link) = with_recording(self, link, Recording::add_link) {
            Bridge::add_link_with_attributes(self, link.span_context, link.attributes);
        }
    }

    fn set_attribute(&self, key: impl Into<Key>, value: impl Into<Value>) {
        let attribute = KeyValue::new(key, value);
        if let Some(attribute) = with_recording(self, attribute, |recording, kv| {
            recording.set_attribute(kv.key, kv.value)
        }) {
            Bridge::set_attribute(self, attribute.key, attribute.value);
        }
    }

    fn set_status(&self, status: Status) {
        if let Some(status) = with_recording(self, status, Recording::set_status) {
            Bridge::set_status(self, status);
        }
    }

    fn add_event(&self, name: impl Into<Cow<'static, str>>, attributes: Vec<KeyValue>) {
        let event = Event::new(name, opentelemetry::time::now(), attributes, 0);
        if let Some(event) = with_recording(self, event, |recording, event| {
            recording.add_event(event, None)
        }) {
            Bridge::add_event(self, event.name, event.attributes);
        }
    }
}
