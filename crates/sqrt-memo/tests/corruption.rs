//! Corrupt, truncated and foreign values under our key are misses that get
//! overwritten, never returned; chunked values are read by generation only.

mod common;

use common::{engine, fresh_number, test_config};
use rug::ops::Pow;
use rug::Integer;
use sqrt_memo::value::{self, DecodeRules, StoredValue};
use sqrt_memo::{
    sqrt_decimal, sqrt_decimal_rem_within, CanonicalDecimal, ExactSqrt, MemoConfig, MemoKey,
    MemoSecret, MemoStore, Source, TraceContext,
};

fn key_of(n: &Integer, digits: u32) -> MemoKey {
    MemoKey::new(&CanonicalDecimal::from_integer(n).unwrap(), digits)
}

/// Puts `bytes` under the key of `(n, digits)`, asks for the root and checks
/// that the right root comes back computed, then as a hit.
async fn assert_rejected_and_overwritten(bytes: &[u8], n: &Integer, digits: u32) {
    let memo = engine(test_config());
    let key = key_of(n, digits);
    common::memo_store(&memo)
        .meta_set(key.as_str(), bytes, 0, None)
        .await
        .unwrap();
    let outcome = memo.sqrt(n, digits).await.unwrap();
    assert_eq!(outcome.root, sqrt_decimal(n, digits).unwrap());
    assert_eq!(outcome.source, Source::Computed);
    assert_eq!(memo.stats().corrupt, 1);
    let again = memo.sqrt(n, digits).await.unwrap();
    assert_eq!(again.source, Source::Hit);
    assert_eq!(again.root, outcome.root);
}

fn valid_value(n: &Integer, digits: u32) -> Vec<u8> {
    let root = sqrt_decimal(n, digits).unwrap();
    value::encode_root(&root, &TraceContext::default(), &key_of(n, digits), None)
}

/// A well-formed value (valid checksum, right binding) under the key of
/// `(n, digits)` holding `root`, whatever it is.
fn forged_value(
    n: &Integer,
    digits: u32,
    root: &ExactSqrt,
    secret: Option<&MemoSecret>,
) -> Vec<u8> {
    value::encode_root(root, &TraceContext::default(), &key_of(n, digits), secret)
}

#[tokio::test]
async fn foreign_text_is_a_miss() {
    let n = fresh_number(90);
    assert_rejected_and_overwritten(b"3162277531121885532860585114766575939878912.0", &n, 10).await;
}

#[tokio::test]
async fn an_empty_value_is_a_miss() {
    let n = fresh_number(90);
    assert_rejected_and_overwritten(b"", &n, 10).await;
}

#[tokio::test]
async fn a_truncated_value_is_a_miss() {
    let n = fresh_number(90);
    let bytes = valid_value(&n, 10);
    assert_rejected_and_overwritten(&bytes[..bytes.len() - 3], &n, 10).await;
}

#[tokio::test]
async fn a_flipped_bit_is_a_miss() {
    let n = fresh_number(90);
    let mut bytes = valid_value(&n, 10);
    let last = bytes.len() - 1;
    bytes[last] ^= 0x10;
    assert_rejected_and_overwritten(&bytes, &n, 10).await;
}

#[tokio::test]
async fn a_future_format_version_is_a_miss() {
    let n = fresh_number(90);
    let mut bytes = valid_value(&n, 10);
    bytes[4] = 99;
    assert_rejected_and_overwritten(&bytes, &n, 10).await;
}

#[tokio::test]
async fn a_well_formed_wrong_root_fails_verification() {
    let n = fresh_number(90);
    // A correct value format with a valid checksum and the right binding,
    // holding another number's root.
    let other = Integer::from(&n * 4u32);
    let wrong = forged_value(&n, 10, &sqrt_decimal(&other, 10).unwrap(), None);
    assert_rejected_and_overwritten(&wrong, &n, 10).await;
}

/// Values carrying a remainder are checked against it in linear time: a
/// neighbouring root with the remainder that balances the equation is out of
/// range, and with the true remainder the equation fails; either is a miss.
#[tokio::test]
async fn a_wrong_root_with_a_crafted_remainder_fails_verification() {
    // Large enough for the remainder to be used (`REMAINDER_MIN_BITS`).
    let n = fresh_number(45_000);
    let digits = 12;
    let (root, remainder) =
        sqrt_decimal_rem_within(&n, digits, &sqrt_memo::Limits::default()).unwrap();
    let scaled_n = &n * Integer::from(10u32).pow(2 * digits);
    let key = key_of(&n, digits);
    let with_remainder = |r: &Integer, s: &Integer| {
        let forged = ExactSqrt::from_parts(r.clone(), digits, root.is_exact());
        value::encode_root_with_remainder(&forged, Some(s), &TraceContext::default(), &key, None)
    };
    for delta in [-1i32, 1] {
        let neighbour = Integer::from(root.scaled() + delta);
        let balancing = &scaled_n - Integer::from(neighbour.square_ref());
        let balanced = with_remainder(&neighbour, &balancing.abs());
        assert_rejected_and_overwritten(&balanced, &n, digits).await;
        let true_remainder = with_remainder(&neighbour, &remainder);
        assert_rejected_and_overwritten(&true_remainder, &n, digits).await;
    }
    let off_by_one = with_remainder(root.scaled(), &Integer::from(&remainder + 1u32));
    assert_rejected_and_overwritten(&off_by_one, &n, digits).await;
    // The honest value passes and is a hit.
    let honest = with_remainder(root.scaled(), &remainder);
    let memo = engine(test_config());
    common::memo_store(&memo)
        .meta_set(key.as_str(), &honest, 0, None)
        .await
        .unwrap();
    let outcome = memo.sqrt(&n, digits).await.unwrap();
    assert_eq!(outcome.source, Source::Hit);
    assert_eq!(outcome.root, root);
}

/// Issue 13.2: with the defaults, a forged value with a valid CRC-32C under
/// the key of 2 (the root of 2.2928...) made sqrt(2) print 1.5142135623.
#[tokio::test]
async fn a_forged_root_under_the_key_of_2_is_never_returned() {
    let two = Integer::from(2u32);
    let forged = ExactSqrt::from_parts(Integer::from(15_142_135_623u64), 10, false);
    let memo = engine(MemoConfig::default());
    let key = key_of(&two, 10);
    common::memo_store(&memo)
        .meta_set(
            key.as_str(),
            &forged_value(&two, 10, &forged, None),
            0,
            None,
        )
        .await
        .unwrap();
    let outcome = memo.sqrt(&two, 10).await.unwrap();
    assert_eq!(outcome.root.to_string(), "1.4142135623");
    assert_eq!(outcome.source, Source::Computed);
    assert_eq!(memo.stats().corrupt, 1);
    // Overwritten with the right root.
    assert_eq!(memo.sqrt(&two, 10).await.unwrap().source, Source::Hit);
    // Even with verification turned off: without a secret nothing
    // unverified is trusted.
    common::memo_store(&memo)
        .meta_set(
            key.as_str(),
            &forged_value(&two, 10, &forged, None),
            0,
            None,
        )
        .await
        .unwrap();
    let lax = engine(MemoConfig {
        verify_hits: false,
        secret: None,
        ..MemoConfig::default()
    });
    assert_eq!(
        lax.sqrt(&two, 10).await.unwrap().root.to_string(),
        "1.4142135623"
    );
    assert_eq!(lax.stats().corrupt, 1);
}

#[tokio::test]
async fn a_value_swapped_from_another_number_or_digit_count_is_a_miss() {
    let n = fresh_number(90);
    let other = fresh_number(90);
    // Another number's genuine value, copied under n's key.
    assert_rejected_and_overwritten(&valid_value(&other, 10), &n, 10).await;
    // n's own value for another digit count.
    assert_rejected_and_overwritten(&valid_value(&n, 11), &n, 10).await;
}

#[tokio::test]
async fn an_old_format_value_is_a_miss() {
    let n = fresh_number(90);
    let mut bytes = valid_value(&n, 10);
    bytes[4] = 1; // format version 1: no binding, no tag
    assert_rejected_and_overwritten(&bytes, &n, 10).await;
}

#[tokio::test]
async fn with_a_secret_untagged_or_wrongly_tagged_values_are_misses_and_tagged_ones_skip_verification(
) {
    let secret = MemoSecret::new("test secret 0123456789abcdef");
    let config = MemoConfig {
        secret: Some(secret.clone()),
        verify_hits: false,
        ..MemoConfig::default()
    };
    let n = fresh_number(90);
    let right = sqrt_decimal(&n, 10).unwrap();
    let wrong_secret = MemoSecret::new("someone else");
    for (bytes, what) in [
        (forged_value(&n, 10, &right, None), "no tag"),
        (
            forged_value(&n, 10, &right, Some(&wrong_secret)),
            "another secret's tag",
        ),
    ] {
        let memo = engine(config.clone());
        common::memo_store(&memo)
            .meta_set(key_of(&n, 10).as_str(), &bytes, 0, None)
            .await
            .unwrap();
        let outcome = memo.sqrt(&n, 10).await.unwrap();
        assert_eq!(outcome.source, Source::Computed, "{what}");
        assert_eq!(memo.stats().corrupt, 1, "{what}");
    }
    // What the engine wrote carries the secret's tag: a hit, authenticated.
    let memo = engine(config);
    let hit = memo.sqrt(&n, 10).await.unwrap();
    assert_eq!(hit.source, Source::Hit);
    assert_eq!(hit.root, right);
}

#[tokio::test]
async fn without_verification_the_checksum_still_guards() {
    let memo = engine(MemoConfig {
        verify_hits: false,
        ..MemoConfig::default()
    });
    let n = fresh_number(80);
    let mut bytes = valid_value(&n, 6);
    bytes[20] ^= 1;
    common::memo_store(&memo)
        .meta_set(key_of(&n, 6).as_str(), &bytes, 0, None)
        .await
        .unwrap();
    let outcome = memo.sqrt(&n, 6).await.unwrap();
    assert_eq!(outcome.root, sqrt_decimal(&n, 6).unwrap());
    assert_eq!(memo.stats().corrupt, 1);
}

fn chunked_config() -> MemoConfig {
    MemoConfig {
        max_item_size: 512,
        ..test_config()
    }
}

async fn manifest_of(
    memo: &sqrt_memo::SqrtMemo<memcache_client::Client>,
    key: &MemoKey,
    digits: u32,
) -> value::Manifest {
    let item = common::memo_store(memo)
        .meta_get(key.as_str(), None)
        .await
        .unwrap();
    let config = chunked_config();
    let rules = DecodeRules {
        key,
        digits,
        secret: None,
        max_value_len: config.max_value_len,
        max_chunks: config.max_chunks(),
    };
    match value::decode(&item.value.unwrap(), &rules).unwrap().value {
        StoredValue::Manifest(m) => m,
        StoredValue::Root(_) => panic!("expected a chunk manifest"),
    }
}

#[tokio::test]
async fn large_results_are_chunked_and_read_back() {
    let memo = engine(chunked_config());
    let n = fresh_number(3000);
    let digits = 3000;
    assert_eq!(
        memo.sqrt(&n, digits).await.unwrap().source,
        Source::Computed
    );
    let key = key_of(&n, digits);
    let manifest = manifest_of(&memo, &key, digits).await;
    assert!(manifest.chunk_count >= 4, "{} chunks", manifest.chunk_count);
    for i in 0..manifest.chunk_count {
        let chunk = common::memo_store(&memo)
            .meta_get(&key.chunk_key(manifest.generation, i), None)
            .await
            .unwrap();
        assert!(chunk.value.unwrap().len() <= 512);
    }
    let hit = memo.sqrt(&n, digits).await.unwrap();
    assert_eq!(hit.source, Source::Hit);
    assert_eq!(hit.root, sqrt_decimal(&n, digits).unwrap());

    // forget removes the chunks as well as the manifest.
    assert!(memo.forget(&n, digits).await.unwrap());
    let gone = common::memo_store(&memo)
        .meta_get(&key.chunk_key(manifest.generation, 0), None)
        .await
        .unwrap();
    assert!(gone.value.is_none());
}

#[tokio::test]
async fn a_missing_chunk_is_a_miss_and_a_new_generation_is_written() {
    let memo = engine(chunked_config());
    let n = fresh_number(3000);
    let digits = 2000;
    memo.sqrt(&n, digits).await.unwrap();
    let key = key_of(&n, digits);
    let first = manifest_of(&memo, &key, digits).await;
    assert!(common::memo_store(&memo)
        .meta_delete(&key.chunk_key(first.generation, 1), None)
        .await
        .unwrap());
    let outcome = memo.sqrt(&n, digits).await.unwrap();
    assert_eq!(outcome.source, Source::Computed);
    assert_eq!(outcome.root, sqrt_decimal(&n, digits).unwrap());
    assert_eq!(memo.stats().corrupt, 1);
    let second = manifest_of(&memo, &key, digits).await;
    assert_ne!(second.generation, first.generation);
    assert_eq!(memo.sqrt(&n, digits).await.unwrap().source, Source::Hit);
}

#[tokio::test]
async fn chunks_of_two_writes_are_never_mixed() {
    let memo = engine(chunked_config());
    let n = fresh_number(3000);
    let digits = 2000;
    let key = key_of(&n, digits);
    memo.sqrt(&n, digits).await.unwrap();
    let a = manifest_of(&memo, &key, digits).await;
    let manifest_a = common::memo_store(&memo)
        .meta_get(key.as_str(), None)
        .await
        .unwrap()
        .value
        .unwrap();
    // A second write (after an invalidation) leaves generation A's chunks behind.
    common::memo_store(&memo)
        .meta_invalidate(key.as_str(), None, 30)
        .await
        .unwrap();
    memo.sqrt(&n, digits).await.unwrap();
    let b = manifest_of(&memo, &key, digits).await;
    assert_ne!(a.generation, b.generation);
    // Point the main key back at A and put a different chunk 0 in A's place
    // (B's, with a byte changed: both writes encode the same root, so B's
    // chunk alone would be byte-identical). Same length, but the manifest's
    // total CRC-32C catches the mix.
    common::memo_store(&memo)
        .meta_set(key.as_str(), &manifest_a, 0, None)
        .await
        .unwrap();
    let b0 = common::memo_store(&memo)
        .meta_get(&key.chunk_key(b.generation, 0), None)
        .await
        .unwrap()
        .value
        .unwrap();
    let mut spliced = b0.to_vec();
    spliced[40] ^= 0xff;
    common::memo_store(&memo)
        .meta_set(&key.chunk_key(a.generation, 0), &spliced, 0, None)
        .await
        .unwrap();
    let before = memo.stats().corrupt;
    let outcome = memo.sqrt(&n, digits).await.unwrap();
    assert_eq!(outcome.root, sqrt_decimal(&n, digits).unwrap());
    assert_eq!(memo.stats().corrupt, before + 1);
}

/// Issue 13.3: `forget` does not believe a manifest's chunk count. One
/// announcing 2^32-1 chunks (and as many bytes) made it send deletes for
/// days; now the manifest is refused as corrupt and only the main key goes.
#[tokio::test]
async fn forget_refuses_a_manifest_announcing_absurd_chunk_counts() {
    let memo = engine(chunked_config());
    let n = fresh_number(90);
    let key = key_of(&n, 10);
    let manifest = value::Manifest {
        source: TraceContext::default(),
        digits: 10,
        generation: 7,
        chunk_count: u32::MAX,
        total_len: u64::MAX,
        total_crc: 0,
    };
    common::memo_store(&memo)
        .meta_set(
            key.as_str(),
            &value::encode_manifest(&manifest, &key, None),
            0,
            None,
        )
        .await
        .unwrap();
    // A guard against the old behaviour (days of deletes), not a speed test.
    let forgot = tokio::time::timeout(std::time::Duration::from_secs(30), memo.forget(&n, 10))
        .await
        .expect("forget must not walk 2^32 chunks");
    assert!(forgot.unwrap());
    let gone = common::memo_store(&memo)
        .meta_get(key.as_str(), None)
        .await
        .unwrap();
    assert!(gone.value.is_none());
    // The lookup treats it as corrupt, too: computed, never chunk-walked.
    common::memo_store(&memo)
        .meta_set(
            key.as_str(),
            &value::encode_manifest(&manifest, &key, None),
            0,
            None,
        )
        .await
        .unwrap();
    let outcome = memo.sqrt(&n, 10).await.unwrap();
    assert_eq!(outcome.source, Source::Computed);
    assert_eq!(memo.stats().corrupt, 1);
}
