//! The value format on arbitrary input: decoding never panics, and every
//! encodable root survives a round trip.

use proptest::prelude::*;
use rug::Integer;
use sqrt_memo::value::{decode, encode_manifest, encode_root, Manifest, StoredValue};
use sqrt_memo::{sqrt_decimal, TraceContext};

proptest! {
    #![proptest_config(ProptestConfig::with_cases(500))]

    #[test]
    fn decoding_arbitrary_bytes_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..300), digits in 0u32..20) {
        let _ = decode(&bytes, digits);
    }

    #[test]
    fn arbitrary_bytes_after_a_valid_header_are_rejected(tail in proptest::collection::vec(any::<u8>(), 0..300)) {
        // A right magic and version with a random payload: the CRC-32C
        // (or, rarely, the layout checks) must refuse it.
        let mut bytes = b"SQRT\x01\x01".to_vec();
        bytes.extend_from_slice(&tail);
        prop_assert!(decode(&bytes, 0).is_err());
    }

    #[test]
    fn roots_round_trip(text in "[1-9][0-9]{0,120}", digits in 0u32..40, trace in any::<[u8; 16]>(), span in any::<[u8; 8]>()) {
        let n = Integer::from_str_radix(&text, 10).unwrap();
        let root = sqrt_decimal(&n, digits).unwrap();
        let source = TraceContext { trace_id: trace, span_id: span };
        match decode(&encode_root(&root, &source), digits) {
            Ok(StoredValue::Root(stored)) => {
                prop_assert_eq!(stored.root, root);
                prop_assert_eq!(stored.source, source);
            }
            other => prop_assert!(false, "{:?}", other),
        }
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
        prop_assert_eq!(decode(&encode_manifest(&manifest), 7), Ok(StoredValue::Manifest(manifest)));
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
    assert!(decode(&encode_manifest(&manifest), 0).is_err());
}
