//! The `tracing` layer that turns spans into OpenTelemetry spans: it builds
//! the SDK's `SpanData` itself and hands it to the span processor when the
//! span closes, so the real pipeline and the in-memory test pipeline record
//! spans identically.
//!
//! It replaces `tracing-opentelemetry`'s layer, which costs about
//! 12,000 instructions per traced memcached `get` (a `SpanBuilder`, then an
//! SDK span started on the first enter, a clock read on every exit, the
//! span's data cloned for each extra processor, `u64` fields formatted into
//! strings). Here a span is sampled once when it is created, its attributes
//! go straight into the vector that is exported, and nothing is cloned.
//! The spans stay `tracing` spans; other layers see them as before.

use crate::span_record::{
    new_span_context, EventFields, OtelSpan, Recording, SpanFields, SpanSink,
};
use crate::{SamplerConfig, SharedProcessor};
use opentelemetry::trace::{Link, TraceContextExt as _};
use opentelemetry::{Context, ContextGuard, InstrumentationScope};
use opentelemetry_sdk::trace::{IdGenerator as _, RandomIdGenerator};
use std::any::TypeId;
use std::cell::{Cell, RefCell};
use std::marker::PhantomData;
use std::sync::Arc;
use tracing::span::{Attributes, Id, Record};
use tracing::{Dispatch, Event, Subscriber};
use tracing_subscriber::layer::Context as LayerContext;
use tracing_subscriber::registry::{LookupSpan, SpanRef};
use tracing_subscriber::Layer;

thread_local! {
    /// The OpenTelemetry contexts attached by entered spans of this thread,
    /// innermost last, with the span that attached each.
    static ATTACHED: RefCell<Vec<(Id, ContextGuard)>> = const { RefCell::new(Vec::new()) };
    /// Set while a span's data is locked: an event emitted by a field's
    /// `Debug` impl then must not try to lock it again.
    static RECORDING: Cell<bool> = const { Cell::new(false) };
}

/// A `tracing` layer exporting every sampled span through a span processor.
///
/// Span fields become attributes (`u64` as integers when they fit);
/// `otel.name`, `otel.kind`, `otel.status_code` and `otel.status_message`
/// (or tracing-opentelemetry's `otel.status_description`) set the span's
/// name, kind and status; events become span events (`message` names them,
/// an ERROR-level event marks the span failed); `follows_from` becomes a
/// link. A span's parent is its explicit parent, else the current
/// OpenTelemetry context, which every entered span sets (so OpenTelemetry
/// API users see it, and a remote parent attached with
/// `Context::attach` is inherited). [`crate::OpenTelemetrySpanExt`] reads a
/// span's context and adds links.
///
/// Setting the current context costs about 750 instructions per
/// enter/exit, and an async call enters its span on every poll; without
/// code that reads `opentelemetry::Context::current()` inside spans,
/// [`Self::with_context_activation`]`(false)` saves that (parents then come
/// from the current `tracing` span, and root spans still inherit an
/// attached remote context).
pub struct OtelLayer<S> {
    sink: Arc<SpanSink>,
    sampler: SamplerConfig,
    ids: RandomIdGenerator,
    activate_context: bool,
    access: ContextAccess,
    _subscriber: PhantomData<fn(S)>,
}

impl<S> std::fmt::Debug for OtelLayer<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OtelLayer")
            .field("sink", &self.sink)
            .field("sampler", &self.sampler)
            .field("activate_context", &self.activate_context)
            .finish_non_exhaustive()
    }
}

impl<S> OtelLayer<S>
where
    S: Subscriber + for<'span> LookupSpan<'span>,
{
    /// A layer handing the spans that `sampler` keeps to `processor`,
    /// exported as produced by `scope`.
    pub fn new(
        processor: SharedProcessor,
        sampler: SamplerConfig,
        scope: InstrumentationScope,
    ) -> Self {
        let sink = Arc::new(SpanSink { processor, scope });
        Self {
            sink: sink.clone(),
            sampler,
            ids: RandomIdGenerator::default(),
            activate_context: true,
            access: ContextAccess {
                with_span: with_span::<S>,
                sampler,
                sink,
            },
            _subscriber: PhantomData,
        }
    }

    /// Whether entering a span makes it the current OpenTelemetry context
    /// (on by default; see the type's documentation for the cost).
    pub fn with_context_activation(mut self, activate: bool) -> Self {
        self.activate_context = activate;
        self
    }

    /// The context a new span descends from: its explicit parent's, else
    /// (for a contextual span) the current one, else none.
    fn parent_context(&self, attrs: &Attributes<'_>, ctx: &LayerContext<'_, S>) -> Context {
        let span_context =
            |span: SpanRef<'_, S>| span.extensions().get::<OtelSpan>().map(OtelSpan::context);
        if let Some(parent) = attrs.parent() {
            // A parent this layer did not see (filtered out) makes a root,
            // as in tracing-opentelemetry.
            if let Some(context) = ctx.span(parent).and_then(span_context) {
                return context;
            }
        }
        if !attrs.is_contextual() {
            return Context::new();
        }
        if self.activate_context {
            // The entered span's context, or one attached inside it.
            return Context::current();
        }
        ctx.lookup_current()
            .and_then(span_context)
            .unwrap_or_else(Context::current)
    }
}

impl<S> Layer<S> for OtelLayer<S>
where
    S: Subscriber + for<'span> LookupSpan<'span>,
{
    fn on_new_span(&self, attrs: &Attributes<'_>, id: &Id, ctx: LayerContext<'_, S>) {
        let Some(span) = ctx.span(id) else {
            return;
        };
        let parent_cx = self.parent_context(attrs, &ctx);
        let parent_span = parent_cx.span();
        let parent = Some(parent_span.span_context()).filter(|p| p.is_valid());
        let trace_id = parent.map_or_else(|| self.ids.new_trace_id(), |p| p.trace_id());
        let span_context = new_span_context(self.sampler, parent, trace_id, self.ids.new_span_id());
        let recording = span_context.is_sampled().then(|| {
            // Boxed: the span's data then moves (into the registry's
            // extensions and out) as a pointer.
            let mut recording = Box::new(Recording::start(
                self.sink.clone(),
                attrs.metadata(),
                parent,
            ));
            // Not locked yet: a field's `Debug` impl may emit events freely.
            attrs.record(&mut SpanFields(&mut recording));
            recording
        });
        let otel = OtelSpan::new(span_context, parent_cx, recording);
        span.extensions_mut().insert(otel);
    }

    fn on_record(&self, id: &Id, values: &Record<'_>, ctx: LayerContext<'_, S>) {
        let Some(span) = ctx.span(id) else {
            return;
        };
        let mut extensions = span.extensions_mut();
        if let Some(recording) = extensions
            .get_mut::<OtelSpan>()
            .and_then(|otel| otel.recording.as_deref_mut())
        {
            while_recording(|| values.record(&mut SpanFields(recording)));
        }
    }

    fn on_follows_from(&self, id: &Id, follows: &Id, ctx: LayerContext<'_, S>) {
        let (Some(span), Some(follows)) = (ctx.span(id), ctx.span(follows)) else {
            return;
        };
        let Some(linked) = follows
            .extensions()
            .get::<OtelSpan>()
            .map(|otel| otel.span_context.clone())
        else {
            return;
        };
        let mut extensions = span.extensions_mut();
        if let Some(recording) = extensions
            .get_mut::<OtelSpan>()
            .and_then(|otel| otel.recording.as_mut())
        {
            recording.add_link(Link::with_context(linked));
        }
    }

    fn on_event(&self, event: &Event<'_>, ctx: LayerContext<'_, S>) {
        if RECORDING.with(Cell::get) {
            return;
        }
        let Some(span) = ctx.event_span(event) else {
            return;
        };
        let sampled = span
            .extensions()
            .get::<OtelSpan>()
            .is_some_and(|otel| otel.recording.is_some());
        if !sampled {
            return;
        }
        // Formatted before locking the span (fields may emit events).
        let metadata = event.metadata();
        let mut fields = EventFields::new(metadata);
        event.record(&mut fields);
        let otel_event = fields.into_event(metadata);
        let mut extensions = span.extensions_mut();
        if let Some(recording) = extensions
            .get_mut::<OtelSpan>()
            .and_then(|otel| otel.recording.as_mut())
        {
            recording.add_event(otel_event, Some(*metadata.level()));
        }
    }

    fn on_enter(&self, id: &Id, ctx: LayerContext<'_, S>) {
        if !self.activate_context {
            return;
        }
        let Some(span) = ctx.span(id) else {
            return;
        };
        let Some(context) = span.extensions().get::<OtelSpan>().map(OtelSpan::context) else {
            return;
        };
        let guard = context.attach();
        ATTACHED.with(|attached| attached.borrow_mut().push((id.clone(), guard)));
    }

    fn on_exit(&self, id: &Id, _ctx: LayerContext<'_, S>) {
        if !self.activate_context {
            return;
        }
        let guard = ATTACHED.with(|attached| {
            let mut attached = attached.borrow_mut();
            let position = attached.iter().rposition(|(entered, _)| entered == id)?;
            Some(attached.remove(position))
        });
        // Detached after the thread-local borrow ended.
        drop(guard);
    }

    fn on_close(&self, id: Id, ctx: LayerContext<'_, S>) {
        let Some(span) = ctx.span(&id) else {
            return;
        };
        let otel = span.extensions_mut().remove::<OtelSpan>();
        drop(span);
        // Exported as it drops, outside the registry's lock.
        drop(otel);
    }

    // SAFETY: returns pointers to `self` (or to its context accessor) only
    // for the matching `TypeId`, as `tracing-subscriber` requires.
    #[allow(unsafe_code)]
    unsafe fn downcast_raw(&self, id: TypeId) -> Option<*const ()> {
        if id == TypeId::of::<Self>() {
            Some(self as *const Self as *const ())
        } else if id == TypeId::of::<ContextAccess>() {
            Some(&self.access as *const ContextAccess as *const ())
        } else {
            None
        }
    }
}

/// Runs `f` with [`RECORDING`] set.
fn while_recording<T>(f: impl FnOnce() -> T) -> T {
    let outer = RECORDING.with(|flag| flag.replace(true));
    let result = f();
    RECORDING.with(|flag| flag.set(outer));
    result
}

/// Runs a function on the [`OtelSpan`] of a span of a dispatch's registry.
type WithSpan = fn(&Dispatch, &Id, &mut dyn FnMut(&mut OtelSpan));

/// How [`crate::OpenTelemetrySpanExt`] reaches a span's [`OtelSpan`]
/// knowing only the `Dispatch`: found by downcasting the dispatch to this
/// type, it remembers the subscriber type the layer was built for.
pub(crate) struct ContextAccess {
    with_span: WithSpan,
    /// The layer's sampler (re-parenting a span samples it again).
    pub(crate) sampler: SamplerConfig,
    /// Where the layer's spans go (a span sampled by re-parenting records from then on).
    pub(crate) sink: Arc<SpanSink>,
}

impl ContextAccess {
    /// Runs `f` on the span's data, if the span is one of this layer's.
    pub(crate) fn with_span(&self, dispatch: &Dispatch, id: &Id, f: &mut dyn FnMut(&mut OtelSpan)) {
        (self.with_span)(dispatch, id, f);
    }
}

fn with_span<S>(dispatch: &Dispatch, id: &Id, f: &mut dyn FnMut(&mut OtelSpan))
where
    S: Subscriber + for<'span> LookupSpan<'span>,
{
    let Some(subscriber) = dispatch.downcast_ref::<S>() else {
        return;
    };
    let Some(span) = subscriber.span(id) else {
        return;
    };
    let mut extensions = span.extensions_mut();
    if let Some(otel) = extensions.get_mut::<OtelSpan>() {
        while_recording(|| f(otel));
    }
}
