//! Spans as an OpenTelemetry backend sees them (through
//! `tracing-opentelemetry` into an in-memory exporter): the engine's steps
//! under the caller's span, a hit linked to the span that computed the value
//! and carrying its ids as attributes, and corruption recorded.

#![cfg(feature = "otel")]

mod common;

use common::{engine, fresh_number, secret_config, test_config};
use opentelemetry::trace::TracerProvider as _;
use opentelemetry::Value;
use opentelemetry_sdk::trace::{InMemorySpanExporter, SdkTracerProvider, SpanData};
use sqrt_memo::{CanonicalDecimal, MemoConfig, MemoKey, MemoStore, Source};
use tracing::Instrument;
use tracing_subscriber::layer::SubscriberExt;

struct Capture {
    exporter: InMemorySpanExporter,
    provider: SdkTracerProvider,
    _guard: tracing::subscriber::DefaultGuard,
}

/// Installs an OpenTelemetry layer for this thread (the tests run on a
/// current-thread runtime, and the numbers are small enough to be computed
/// inline, so every span is seen).
fn capture() -> Capture {
    let exporter = InMemorySpanExporter::default();
    let provider = SdkTracerProvider::builder()
        .with_simple_exporter(exporter.clone())
        .build();
    let layer = tracing_opentelemetry::layer().with_tracer(provider.tracer("sqrt-memo-test"));
    let guard = tracing::subscriber::set_default(tracing_subscriber::registry().with(layer));
    Capture {
        exporter,
        provider,
        _guard: guard,
    }
}

impl Capture {
    fn spans(&self) -> Vec<SpanData> {
        self.provider.force_flush().unwrap();
        self.exporter.get_finished_spans().unwrap()
    }
}

fn attribute<'a>(span: &'a SpanData, name: &str) -> Option<&'a Value> {
    span.attributes
        .iter()
        .find(|kv| kv.key.as_str() == name)
        .map(|kv| &kv.value)
}

fn named<'a>(spans: &'a [SpanData], name: &str) -> Vec<&'a SpanData> {
    spans.iter().filter(|s| s.name == name).collect()
}

/// Exactly one `sqrt.verify` span, which checked the hit by `method` and
/// accepted it.
fn assert_one_passed_verify(spans: &[SpanData], method: &'static str) {
    let verify = named(spans, "sqrt.verify");
    assert_eq!(verify.len(), 1);
    assert_eq!(
        attribute(verify[0], "sqrt.verify.method"),
        Some(&Value::from(method))
    );
    assert_eq!(
        attribute(verify[0], "sqrt.verify.ok"),
        Some(&Value::Bool(true))
    );
}

#[tokio::test(flavor = "current_thread")]
async fn a_hit_links_to_the_span_that_computed_it() {
    let capture = capture();
    let memo = engine(test_config());
    let n = fresh_number(100);
    let first = memo
        .sqrt(&n, 12)
        .instrument(tracing::info_span!("caller.first"))
        .await
        .unwrap();
    let second = memo
        .sqrt(&n, 12)
        .instrument(tracing::info_span!("caller.second"))
        .await
        .unwrap();
    assert_eq!(first.source, Source::Computed);
    assert_eq!(second.source, Source::Hit);
    assert!(first.computed_by.is_valid());
    assert_eq!(second.computed_by, first.computed_by);

    let spans = capture.spans();
    let compute = named(&spans, "sqrt.compute");
    assert_eq!(compute.len(), 1);
    let compute = compute[0];
    assert_eq!(
        compute.span_context.span_id().to_bytes(),
        first.computed_by.span_id
    );
    assert_eq!(attribute(compute, "sqrt.digits"), Some(&Value::I64(12)));
    assert_eq!(
        attribute(compute, "sqrt.number.decimal_digits"),
        Some(&Value::I64(100))
    );
    assert!(attribute(compute, "sqrt.number.bits").is_some());

    // Steps nest under the engine's span, which nests under the caller's.
    let memo_spans = named(&spans, "sqrt.memo");
    assert_eq!(memo_spans.len(), 2);
    let caller_second = named(&spans, "caller.second")[0];
    let hit_memo = memo_spans
        .iter()
        .find(|s| s.parent_span_id == caller_second.span_context.span_id())
        .unwrap();
    assert_eq!(attribute(hit_memo, "sqrt.hit"), Some(&Value::Bool(true)));
    assert_eq!(
        attribute(hit_memo, "sqrt.source"),
        Some(&Value::from("hit"))
    );
    assert_eq!(named(&spans, "sqrt.store").len(), 1);
    // The value carries its remainder, but a root this small is cheaper to
    // square than a prime is to draw.
    assert_one_passed_verify(&spans, "squaring");

    // The hit's lookup links to the computing span and names it in attributes.
    let hit_lookup = named(&spans, "sqrt.lookup")
        .into_iter()
        .find(|s| attribute(s, "sqrt.hit") == Some(&Value::Bool(true)))
        .unwrap();
    assert_eq!(hit_lookup.parent_span_id, hit_memo.span_context.span_id());
    // Ids equal; the link is marked remote, as it came through memcached.
    let ids = |c: &opentelemetry::trace::SpanContext| (c.trace_id(), c.span_id());
    let linked: Vec<_> = hit_lookup
        .links
        .links
        .iter()
        .map(|l| ids(&l.span_context))
        .collect();
    assert_eq!(linked, vec![ids(&compute.span_context)]);
    for span in [hit_lookup, *hit_memo] {
        assert_eq!(
            attribute(span, "sqrt.source.span_id"),
            Some(&Value::from(first.computed_by.span_id_hex()))
        );
        assert_eq!(
            attribute(span, "sqrt.source.trace_id"),
            Some(&Value::from(first.computed_by.trace_id_hex()))
        );
    }
    assert_eq!(hit_memo.links.links.len(), 1);
}

#[tokio::test(flavor = "current_thread")]
async fn corruption_is_recorded_on_the_spans() {
    let capture = capture();
    let memo = engine(test_config());
    let n = fresh_number(60);
    let key = MemoKey::new(&CanonicalDecimal::from_integer(&n).unwrap(), 3);
    common::memo_store(&memo)
        .meta_set(key.as_str(), b"garbage", 0, None)
        .await
        .unwrap();
    let outcome = memo.sqrt(&n, 3).await.unwrap();
    assert_eq!(outcome.source, Source::Computed);
    let spans = capture.spans();
    let memo_span = named(&spans, "sqrt.memo")[0];
    assert_eq!(
        attribute(memo_span, "sqrt.corrupt"),
        Some(&Value::Bool(true))
    );
    assert_eq!(
        attribute(memo_span, "sqrt.corrupt.reason"),
        Some(&Value::from("foreign value: bad magic"))
    );
    let rejected = named(&spans, "sqrt.lookup")
        .into_iter()
        .filter(|s| attribute(s, "sqrt.corrupt") == Some(&Value::Bool(true)))
        .count();
    assert_eq!(rejected, 1);
    assert_eq!(named(&spans, "sqrt.compute").len(), 1);
}

#[tokio::test(flavor = "current_thread")]
async fn large_hits_are_checked_against_the_stored_remainder() {
    let capture = capture();
    let memo = engine(test_config());
    // About 150,000 bits: above `REMAINDER_MIN_BITS`.
    let n = fresh_number(45_000);
    assert_eq!(memo.sqrt(&n, 3).await.unwrap().source, Source::Computed);
    let hit = memo.sqrt(&n, 3).await.unwrap();
    assert_eq!(hit.source, Source::Hit);
    assert_eq!(hit.root, sqrt_memo::sqrt_decimal(&n, 3).unwrap());
    let spans = capture.spans();
    assert_one_passed_verify(&spans, "remainder");
}

#[tokio::test(flavor = "current_thread")]
async fn authenticated_hits_skip_verification_and_others_are_verified() {
    let capture = capture();
    let n = fresh_number(60);
    let authenticated = engine(secret_config());
    authenticated.sqrt(&n, 4).await.unwrap();
    assert!(authenticated.sqrt(&n, 4).await.unwrap().source.is_hit());
    // `verify_hits` off takes effect only for authenticated values: an
    // engine without the secret verifies the same hit anyway.
    let plain = engine(MemoConfig {
        secret: None,
        verify_hits: false,
        ..MemoConfig::default()
    });
    assert!(plain.sqrt(&n, 4).await.unwrap().source.is_hit());
    let spans = capture.spans();
    let hits: Vec<_> = named(&spans, "sqrt.lookup")
        .into_iter()
        .filter(|s| attribute(s, "sqrt.hit") == Some(&Value::Bool(true)))
        .map(|s| attribute(s, "sqrt.authenticated").cloned())
        .collect();
    assert_eq!(
        hits,
        vec![Some(Value::Bool(true)), Some(Value::Bool(false))]
    );
    // Only the hit without the secret ran the arithmetic check, by
    // squaring: a writer whose own hits skip the check stores no remainder.
    assert_one_passed_verify(&spans, "squaring");
}

#[tokio::test(flavor = "current_thread")]
async fn client_spans_nest_under_the_engine_steps() {
    let capture = capture();
    let addr = memcached_harness::shared_addr().to_string();
    let memo = sqrt_memo::SqrtMemo::new(
        memcache_client::Client::connect(&addr).unwrap(),
        test_config(),
    );
    let n = fresh_number(80);
    memo.sqrt(&n, 4).await.unwrap();
    assert_eq!(memo.sqrt(&n, 4).await.unwrap().source, Source::Hit);
    let spans = capture.spans();
    let parent_name = |span: &SpanData| {
        spans
            .iter()
            .find(|p| p.span_context.span_id() == span.parent_span_id)
            .map(|p| p.name.to_string())
    };
    let gets = named(&spans, "meta_get");
    assert_eq!(gets.len(), 2);
    assert!(gets
        .iter()
        .all(|s| parent_name(s).as_deref() == Some("sqrt.lookup")));
    let sets = named(&spans, "meta_set");
    assert_eq!(sets.len(), 1);
    assert_eq!(parent_name(sets[0]).as_deref(), Some("sqrt.store"));
}
