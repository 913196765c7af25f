//! Corrupt, truncated and foreign values under our key are misses that get
//! overwritten, never returned; chunked values are read by generation only.

mod common;

use common::{engine, fresh_number, test_config};
use rug::Integer;
use sqrt_memo::value::{self, StoredValue};
use sqrt_memo::{
    sqrt_decimal, CanonicalDecimal, MemoConfig, MemoKey, MemoStore, Source, TraceContext,
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
    value::encode_root(&sqrt_decimal(n, digits).unwrap(), &TraceContext::default())
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
    // A correct value format with a valid checksum, for another number.
    let other = Integer::from(&n * 4u32);
    assert_rejected_and_overwritten(&valid_value(&other, 10), &n, 10).await;
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
    match value::decode(&item.value.unwrap(), digits).unwrap() {
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
