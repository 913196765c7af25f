//! The value format on arbitrary input: decoding never panics, and every
//! encodable root survives a round trip.

use proptest::prelude::*;
use rug::Integer;
use sqrt_memo::value::{
    decode, encode_manifest, encode_root, encode_root_with_remainder, DecodeRules, Manifest,
    StoredValue,
};
use sqrt_memo::{sqrt_decimal_rem_within, Limits, MemoKey, MemoSecret, TraceContext};

fn key(n: &Integer, digits: u32) -> MemoKey {
    MemoKey::for_integer(n, digits).unwrap()
}

fn rules<'a>(key: &'a MemoKey, digits: u32, secret: Option<&'a MemoSecret>) -> DecodeRules<'a> {
    DecodeRules {
        key,
        digits,
        secret,
        max_value_len: 64 << 20,
        max_chunks: 20_000,
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(500))]

    #[test]
    fn decoding_arbitrary_bytes_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..300), digits in 0u32..20) {
        let k = key(&Integer::from(2u32), digits);
        let secret = MemoSecret::new("s");
        let _ = decode(&bytes, &rules(&k, digits, None));
        let _ = decode(&bytes, &rules(&k, digits, Some(&secret)));
    }

    #[test]
    fn arbitrary_bytes_after_a_valid_header_are_rejected(tail in proptest::collection::vec(any::<u8>(), 0..300)) {
        // A right magic and version with a random payload: the CRC-32C
        // (or, rarely, the binding and layout checks) must refuse it.
        let mut bytes = b"SQRT\x02\x01".to_vec();
        bytes.extend_from_slice(&tail);
        let k = key(&Integer::from(2u32), 0);
        prop_assert!(decode(&bytes, &rules(&k, 0, None)).is_err());
    }

    #[test]
    fn roots_round_trip(text in "[1-9][0-9]{0,120}", digits in 0u32..40, trace in any::<[u8; 16]>(), span in any::<[u8; 8]>(), tagged in any::<bool>(), with_remainder in any::<bool>()) {
        let n = Integer::from_str_radix(&text, 10).unwrap();
        let (root, remainder) = sqrt_decimal_rem_within(&n, digits, &Limits::default()).unwrap();
        let source = TraceContext { trace_id: trace, span_id: span };
        let k = key(&n, digits);
        let secret = MemoSecret::new("round trip");
        let secret = tagged.then_some(&secret);
        let stored_remainder = with_remainder.then_some(&remainder);
        let bytes = encode_root_with_remainder(&root, stored_remainder, &source, &k, secret);
        match decode(&bytes, &rules(&k, digits, secret)) {
            Ok(decoded) => {
                prop_assert_eq!(decoded.authenticated, tagged);
                let StoredValue::Root(stored) = decoded.value else {
                    return Err(TestCaseError::fail("not a root"));
                };
                prop_assert_eq!(&stored.root, &root);
                prop_assert_eq!(stored.remainder.as_ref(), stored_remainder);
                prop_assert_eq!(stored.source, source);
                // Whatever way it is checked, the stored root is right.
                prop_assert!(sqrt_memo::certificate::verify(&stored.root, stored.remainder.as_ref(), &n));
            }
            other => prop_assert!(false, "{:?}", other),
        }
        // Under any other key the same bytes are refused.
        let other = key(&Integer::from(&n + 1u32), digits);
        prop_assert!(decode(&encode_root(&root, &source, &k, None), &rules(&other, digits, None)).is_err());
    }

    #[test]
    fn manifests_round_trip(generation in any::<u64>(), chunk_count in 1u32..10_000, extra in 0u64..1_000_000, total_crc in any::<u32>()) {
        let manifest = Manifest {
            source: TraceContext::default(),
            digits: 7,
            generation,
            chunk_count,
            total_len: u64::from(chunk_count) + extra,
            total_crc,
        };
        let k = key(&Integer::from(99u32), 7);
        prop_assert_eq!(
            decode(&encode_manifest(&manifest, &k, None), &rules(&k, 7, None)).map(|d| d.value),
            Ok(StoredValue::Manifest(manifest))
        );
    }
}

#[test]
fn a_manifest_announcing_more_chunks_than_bytes_is_rejected() {
    let manifest = Manifest {
        source: TraceContext::default(),
        digits: 0,
        generation: 1,
        chunk_count: u32::MAX,
        total_len: 10,
        total_crc: 0,
    };
    let k = key(&Integer::from(5u32), 0);
    assert!(decode(&encode_manifest(&manifest, &k, None), &rules(&k, 0, None)).is_err());
}
