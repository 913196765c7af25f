"""pymemcache, plain and with opentelemetry-instrumentation-pymemcache, on
the workloads of peers-bench (same keys, sizes and concurrency), for context
in the `cargo xtask bench` table.

Tracing: an SDK TracerProvider with the always-on sampler and a
BatchSpanProcessor feeding an exporter that drops every batch, the same
pipeline shape as the Rust side. The instrumentation patches the
pymemcache Client class, so rounds alternate by instrumenting and
uninstrumenting between them.

Prints JSON: {"systems": {name: {workload: median ops/s}}, "notes": [...]}.
"""

import argparse
import json
import statistics
import sys
import threading
import time

import pymemcache
from pymemcache.client.base import Client, PooledClient
from opentelemetry.instrumentation.pymemcache import PymemcacheInstrumentor
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import (
    BatchSpanProcessor,
    SpanExporter,
    SpanExportResult,
)
from opentelemetry.sdk.trace.sampling import ALWAYS_ON

SMALL = b"".join(bytes([97 + i % 26]) for i in range(32))
LARGE = bytes(97 + i % 26 for i in range(100 * 1024))
MANY_KEYS = [f"peers-bench:many:{i}" for i in range(100)]
SET_KEYS = [f"peers-bench:set:{i}" for i in range(100)]
CONCURRENT_KEYS = [f"peers-bench:concurrent:{i}" for i in range(1000)]
GET_KEY = "peers-bench:get"
LARGE_KEY = "peers-bench:large"
CONCURRENCY = 64

# Operations per round at scale 1.0: a quarter of the Rust counts (Python
# is slower; throughput is a rate, so the count only sets round length).
BASE_OPS = {
    "seq_get": 500,
    "seq_set": 500,
    "get_many_100": 50,
    "concurrent_64": 2500,
    "large_get": 75,
    "large_set": 75,
}


class DropExporter(SpanExporter):
    """Accepts every batch and keeps nothing."""

    def export(self, spans):
        return SpanExportResult.SUCCESS

    def shutdown(self):
        pass


def expect(ok):
    if not ok:
        raise RuntimeError("unexpected miss or failed store")


def seq_get(client, pooled, ops):
    for _ in range(ops):
        expect(client.get(GET_KEY) is not None)


def seq_set(client, pooled, ops):
    for i in range(ops):
        expect(client.set(SET_KEYS[i % len(SET_KEYS)], SMALL, noreply=False))


def get_many(client, pooled, ops):
    for _ in range(ops):
        expect(len(client.get_many(MANY_KEYS)) == len(MANY_KEYS))


def concurrent(client, pooled, ops):
    errors = []

    def worker(t):
        try:
            for i in range(t, ops, CONCURRENCY):
                key = CONCURRENT_KEYS[(i * 7) % len(CONCURRENT_KEYS)]
                if i % 10 == 0:
                    expect(pooled.set(key, SMALL, noreply=False))
                else:
                    expect(pooled.get(key) is not None)
        except Exception as e:  # reported after the join
            errors.append(e)

    threads = [threading.Thread(target=worker, args=(t,)) for t in range(CONCURRENCY)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if errors:
        raise errors[0]


def large_get(client, pooled, ops):
    for _ in range(ops):
        expect(client.get(LARGE_KEY) is not None)


def large_set(client, pooled, ops):
    for _ in range(ops):
        expect(client.set(LARGE_KEY, LARGE, noreply=False))


WORKLOADS = {
    "seq_get": seq_get,
    "seq_set": seq_set,
    "get_many_100": get_many,
    "concurrent_64": concurrent,
    "large_get": large_get,
    "large_set": large_set,
}


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--addr", required=True, help="host:port of memcached")
    parser.add_argument("--rounds", type=int, default=15)
    parser.add_argument("--scale", type=float, default=1.0)
    args = parser.parse_args()
    host, port = args.addr.rsplit(":", 1)
    server = (host, int(port))

    client = Client(server, no_delay=True)
    # PooledClient fails (rather than waits) when the pool is exhausted, so
    # it needs a connection per thread.
    pooled = PooledClient(server, no_delay=True, max_pool_size=CONCURRENCY)
    for key in [GET_KEY, *MANY_KEYS, *CONCURRENT_KEYS]:
        client.set(key, SMALL, noreply=False)
    client.set(LARGE_KEY, LARGE, noreply=False)

    provider = TracerProvider(sampler=ALWAYS_ON)
    provider.add_span_processor(BatchSpanProcessor(DropExporter()))
    instrumentor = PymemcacheInstrumentor()
    systems = {"pymemcache": False, "pymemcache + OTel always-on": True}

    rates = {name: {w: [] for w in WORKLOADS} for name in systems}
    for workload, run in WORKLOADS.items():
        ops = max(10, int(BASE_OPS[workload] * args.scale))
        # Unmeasured warm-up, then alternating measured rounds.
        order = list(systems.items())
        for name, traced in order:
            set_instrumented(instrumentor, provider, traced)
            run(client, pooled, max(10, ops // 10))
        for round_index in range(args.rounds):
            rotated = order[round_index % 2:] + order[: round_index % 2]
            for name, traced in rotated:
                set_instrumented(instrumentor, provider, traced)
                start = time.perf_counter()
                run(client, pooled, ops)
                rates[name][workload].append(ops / (time.perf_counter() - start))
        print(f"pymemcache_bench: {workload} done", file=sys.stderr)
    set_instrumented(instrumentor, provider, False)
    provider.shutdown()

    result = {
        "systems": {
            name: {w: statistics.median(r) for w, r in by_workload.items()}
            for name, by_workload in rates.items()
        },
        "notes": [
            f"Python {sys.version.split()[0]}, pymemcache {pymemcache.__version__}, "
            f"{args.rounds} rounds; concurrent = {CONCURRENCY} threads over "
            f"PooledClient(max_pool_size={CONCURRENCY}), which fails instead of waiting "
            f"when exhausted; GIL-bound"
        ],
    }
    print(json.dumps(result))


def set_instrumented(instrumentor, provider, on):
    if on and not instrumentor.is_instrumented_by_opentelemetry:
        instrumentor.instrument(tracer_provider=provider)
    elif not on and instrumentor.is_instrumented_by_opentelemetry:
        instrumentor.uninstrument()


if __name__ == "__main__":
    main()
