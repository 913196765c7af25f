//! Fuzz target: arbitrary server bytes as the reply to each kind of client
//! request, through the client's own read loop and exchanges
//! (`memcache_client::fuzzing`), delivered in fuzzer-chosen chunk sizes.
//!
//! Checks more than "no panic": a retrieval never yields a value for a key
//! it did not ask for (and only in request order), a meta pipeline accepts
//! only replies echoing its requests' opaques, in order, values respect the
//! size limit, and the outcome does not depend on how the bytes were split.

#![no_main]

use libfuzzer_sys::fuzz_target;
use memcache_client::fuzzing::{decode_reply, Decoded, KEYS};

fn summary(d: &Decoded) -> String {
    format!(
        "{} {:?} {:?} {:?} {:?} {:?}",
        d.complete,
        d.values,
        d.opaques,
        d.reply,
        d.replies,
        d.error.as_ref().map(|e| e.kind())
    )
}

fuzz_target!(|data: &[u8]| {
    let Some((&[selector, chunk], reply)) = data.split_first_chunk::<2>() else {
        return;
    };
    let d = decode_reply(selector, chunk as usize, reply);

    // Values only for asked-for keys, in request order, within the limit.
    let mut next = 0;
    for (key, value) in &d.values {
        let at = KEYS[next..]
            .iter()
            .position(|k| *k == &key[..])
            .expect("a value for a key not asked for");
        next += at + 1;
        assert!(value.len() <= 4096);
    }
    // Pipeline replies echo request opaques (0..3), strictly increasing.
    let mut last = None;
    for opaque in &d.opaques {
        let o = opaque.expect("a pipeline reply without opaque");
        assert!(o < 3);
        assert!(last.is_none_or(|l| o > l), "replies out of order");
        last = Some(o);
    }
    if let Some(e) = &d.error {
        assert!(!e.kind().is_empty());
        let _ = e.to_string();
    }
    // The same bytes in one piece give the same outcome.
    let whole = decode_reply(selector, usize::MAX, reply);
    assert_eq!(summary(&whole), summary(&d), "chunking changed the outcome");
});
