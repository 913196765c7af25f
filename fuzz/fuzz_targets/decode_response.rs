//! Fuzz target: arbitrary server bytes into the response decoder.
//!
//! Checks more than "no panic": the decoder never consumes more than it was
//! given, a "need more" answer consumes nothing, feeding the same bytes
//! in two pieces yields the same items as feeding them whole, and the fast
//! path for values (`decode_value`) takes exactly what `decode` returns as
//! a value, or nothing.

#![no_main]

use bytes::BytesMut;
use libfuzzer_sys::fuzz_target;
use memcache_codec::{Decoder, Limits, Response};

fn drain(decoder: &Decoder, buf: &mut BytesMut) -> (Vec<Response>, bool) {
    let mut items = Vec::new();
    loop {
        let before = buf.len();
        let mut fast = buf.clone();
        let value = decoder.decode_value(&mut fast);
        if value.is_none() {
            assert_eq!(fast, *buf, "decode_value declining must consume nothing");
        }
        match decoder.decode(buf) {
            Ok(Some(item)) => {
                assert!(buf.len() < before, "an item must consume bytes");
                if let Some(value) = value {
                    assert_eq!(
                        item,
                        Response::Value(value),
                        "decode_value took another item"
                    );
                    assert_eq!(fast, *buf, "decode_value took other bytes");
                }
                items.push(item);
            }
            Ok(None) => {
                assert!(value.is_none(), "decode_value took an incomplete item");
                assert_eq!(buf.len(), before, "need-more must consume nothing");
                return (items, false);
            }
            Err(_) => {
                assert!(value.is_none(), "decode_value took a malformed item");
                return (items, true);
            }
        }
    }
}

fuzz_target!(|data: &[u8]| {
    // Small limits so the fuzzer reaches the limit paths quickly.
    let decoder = Decoder::new(Limits { max_line_len: 512, max_value_len: 4096 });
    let mut whole = BytesMut::from(data);
    let (items, failed) = drain(&decoder, &mut whole);

    if data.is_empty() {
        return;
    }
    let cut = data[0] as usize % data.len();
    let mut split = BytesMut::from(&data[..cut]);
    let (mut first, failed_early) = drain(&decoder, &mut split);
    if failed_early {
        // The prefix already held an undecodable item; the whole input must too.
        assert!(failed);
        return;
    }
    split.extend_from_slice(&data[cut..]);
    let (rest, failed_split) = drain(&decoder, &mut split);
    first.extend(rest);
    assert_eq!(first, items, "chunking must not change the items");
    assert_eq!(failed_split, failed);
    if !failed {
        assert_eq!(split.len(), whole.len());
    }
});
