//! Decoding speed of the codec: a 100-value multi-get reply, the shape the
//! client reads for `get_many`, reported as throughput (bytes/s).

use bytes::{Bytes, BytesMut};
use criterion::{criterion_group, criterion_main, BatchSize, Criterion, Throughput};
use traced_memcache::codec::{Decoder, Response, Value};

fn multi_get_reply(values: usize, value_len: usize) -> Bytes {
    let mut wire = BytesMut::new();
    for i in 0..values {
        Response::Value(Value {
            key: Bytes::from(format!("bench:key:{i:06}")),
            flags: 0,
            cas: Some(1_000_000 + i as u64),
            data: Bytes::from(vec![b'x'; value_len]),
        })
        .encode(&mut wire);
    }
    Response::End.encode(&mut wire);
    wire.freeze()
}

fn decode_all(decoder: &Decoder, buf: &mut BytesMut) -> usize {
    let mut n = 0;
    while let Ok(Some(item)) = decoder.decode(buf) {
        if item == Response::End {
            break;
        }
        n += 1;
    }
    n
}

fn bench_multi_get(c: &mut Criterion) {
    let decoder = Decoder::default();
    let mut group = c.benchmark_group("decode_multi_get_100");
    for value_len in [32usize, 1024] {
        let wire = multi_get_reply(100, value_len);
        group.throughput(Throughput::Bytes(wire.len() as u64));
        group.bench_function(format!("{value_len}B_values"), |b| {
            b.iter_batched_ref(
                || BytesMut::from(&wire[..]),
                |buf| {
                    let n = decode_all(&decoder, buf);
                    assert_eq!(n, 100);
                },
                BatchSize::SmallInput,
            )
        });
    }
    group.finish();
}

criterion_group!(benches, bench_multi_get);
criterion_main!(benches);
