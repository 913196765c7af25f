//! Hit versus miss across number sizes: is memcached worth asking?
//!
//! For numbers of 10^2 .. 10^6 decimal digits (root to 10 fractional digits):
//! `compute` is the plain exact computation with no cache, `miss` the
//! engine's full miss path (lookup + compute + store, the entry forgotten
//! before each timed call), `hit_verified` the default hit path (lookup +
//! checksum + binding + the root checked against its stored remainder,
//! `n*10^2d = r^2 + s` modulo a random prime and `0 <= s <= 2r`),
//! `hit_verified_squaring` the same engine reading a value stored without
//! the remainder (checked by `r^2 <= n*10^2d < (r+1)^2`, one squaring),
//! `hit_authenticated` a hit whose keyed BLAKE3 tag is checked instead of
//! the arithmetic (a secret configured, `verify_hits` off), and `raw_get` a
//! plain `get` of the authenticated value's bytes: the floor that hit is
//! measured against, side by side.
//! Everything goes through the traced client (with no subscriber
//! installed), as an application would use it. Uses the memcached
//! at MEMCACHED_ADDR, else starts one (`-m 1024`). `cargo xtask bench` runs it;
//! by hand: `cargo bench --bench sqrt_hit_vs_miss -- --warm-up-time 1 --measurement-time 3`

use std::hint::black_box;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion};
use memcached_harness::Memcached;
use rug::Integer;
use traced_memcache::client::Client;
use traced_memcache::sqrt::{sqrt_decimal, MemoConfig, MemoKey, MemoSecret, SqrtMemo};

const SIZES: [usize; 5] = [100, 1_000, 10_000, 100_000, 1_000_000];
const ROOT_DIGITS: u32 = 10;

/// A deterministic pseudo-random number of exactly `digits` decimal digits.
fn number(digits: usize) -> Integer {
    let mut state = 0x9e37_79b9_7f4a_7c15u64 ^ digits as u64;
    let mut text = String::with_capacity(digits);
    while text.len() < digits {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        let digit = (state % 10) as u8;
        text.push(char::from(if text.is_empty() {
            b'1' + digit % 9
        } else {
            b'0' + digit
        }));
    }
    Integer::from_str_radix(&text, 10).unwrap_or_default()
}

fn server() -> (Option<Memcached>, SocketAddr) {
    if let Ok(addr) = std::env::var("MEMCACHED_ADDR") {
        if let Ok(addr) = addr.parse() {
            return (None, addr);
        }
    }
    let server = Memcached::start_with_args(&["-m", "1024"]).expect("start memcached");
    let addr = server.addr();
    (Some(server), addr)
}

fn engine(addr: SocketAddr, secret: Option<MemoSecret>) -> SqrtMemo<Client> {
    SqrtMemo::new(
        Client::connect(&addr.to_string()).expect("client"),
        MemoConfig {
            // Verification is skipped only for values the secret authenticates.
            verify_hits: secret.is_none(),
            secret,
            ..MemoConfig::default()
        },
    )
}

fn hit_versus_miss(c: &mut Criterion) {
    let (_server, addr) = server();
    let runtime = tokio::runtime::Runtime::new().expect("tokio runtime");
    let verified = engine(addr, None);
    let authenticated = engine(addr, Some(MemoSecret::new("sqrt_hit_vs_miss bench secret")));
    let raw = Client::connect(&addr.to_string()).expect("client");
    let mut group = c.benchmark_group("sqrt");
    for size in SIZES {
        let n = number(size);
        if size >= 100_000 {
            group.sample_size(10);
        }
        group.bench_with_input(BenchmarkId::new("compute", size), &n, |b, n| {
            b.iter(|| sqrt_decimal(black_box(n), ROOT_DIGITS))
        });
        group.bench_with_input(BenchmarkId::new("miss", size), &n, |b, n| {
            b.iter_custom(|iters| {
                let mut total = Duration::ZERO;
                for _ in 0..iters {
                    runtime
                        .block_on(verified.forget(n, ROOT_DIGITS))
                        .expect("forget");
                    let start = Instant::now();
                    let outcome = runtime
                        .block_on(verified.sqrt(n, ROOT_DIGITS))
                        .expect("sqrt");
                    total += start.elapsed();
                    assert!(outcome.source.computed());
                }
                total
            })
        });
        // Written tagged by an engine whose hits skip the check, so without
        // the remainder: the verified engine reads it too and squares.
        runtime
            .block_on(authenticated.sqrt(&n, ROOT_DIGITS))
            .expect("warm");
        let key = MemoKey::for_integer(&n, ROOT_DIGITS).expect("key");
        group.bench_with_input(BenchmarkId::new("raw_get", size), &key, |b, key| {
            b.iter(|| {
                let item = runtime.block_on(raw.get(key.as_str())).expect("get");
                assert!(item.is_some());
                item
            })
        });
        hit(
            &mut group,
            &runtime,
            "hit_authenticated",
            &authenticated,
            (size, &n),
        );
        hit(
            &mut group,
            &runtime,
            "hit_verified_squaring",
            &verified,
            (size, &n),
        );
        // Written by the verified engine (the default, no secret): with the
        // remainder, checked in linear time.
        runtime
            .block_on(verified.forget(&n, ROOT_DIGITS))
            .expect("forget");
        runtime
            .block_on(verified.sqrt(&n, ROOT_DIGITS))
            .expect("warm");
        hit(&mut group, &runtime, "hit_verified", &verified, (size, &n));
        runtime
            .block_on(verified.forget(&n, ROOT_DIGITS))
            .expect("forget");
    }
    group.finish();
}

/// One hit row: `memo` finds the value already stored.
fn hit(
    group: &mut criterion::BenchmarkGroup<'_, criterion::measurement::WallTime>,
    runtime: &tokio::runtime::Runtime,
    name: &str,
    memo: &SqrtMemo<Client>,
    (size, n): (usize, &Integer),
) {
    group.bench_with_input(BenchmarkId::new(name, size), n, |b, n| {
        b.iter(|| {
            let outcome = runtime.block_on(memo.sqrt(n, ROOT_DIGITS)).expect("sqrt");
            assert!(outcome.source.is_hit());
            outcome
        })
    });
}

criterion_group!(benches, hit_versus_miss);
criterion_main!(benches);
