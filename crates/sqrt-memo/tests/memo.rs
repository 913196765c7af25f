//! The memo engine against a real memcached: misses, hits, canonical keys,
//! forget, wait timeouts, the near cache and failing servers.

mod common;

use std::time::Duration;

use common::{engine, engine_at, fresh_number, test_config};
use memcached_harness::Memcached;
use rug::Integer;
use sqrt_memo::{
    sqrt_decimal, CanonicalDecimal, MemoConfig, MemoError, MemoKey, MemoStore, NearCacheConfig,
    Source,
};

#[tokio::test]
async fn miss_then_hit_returns_the_same_exact_root() {
    let memo = engine(test_config());
    let n = fresh_number(120);
    let first = memo.sqrt(&n, 30).await.unwrap();
    assert_eq!(first.source, Source::Computed);
    assert_eq!(first.root, sqrt_decimal(&n, 30).unwrap());
    let second = memo.sqrt(&n, 30).await.unwrap();
    assert_eq!(second.source, Source::Hit);
    assert_eq!(second.root, first.root);
    // Other digit counts are other entries.
    assert_eq!(memo.sqrt(&n, 31).await.unwrap().source, Source::Computed);
    let stats = memo.stats();
    assert_eq!(stats.computations, 2);
    assert_eq!(stats.hits, 1);
    assert_eq!(stats.corrupt, 0);
}

#[tokio::test]
async fn every_spelling_of_a_number_shares_one_entry() {
    let memo = engine(test_config());
    let n = fresh_number(40);
    let digits = n.to_string();
    let spelled = format!("  +000{}_{}\n", &digits[..10], &digits[10..]);
    assert_eq!(
        memo.sqrt_text(&spelled, 5).await.unwrap().source,
        Source::Computed
    );
    let hit = memo.sqrt(&n, 5).await.unwrap();
    assert_eq!(hit.source, Source::Hit);
    assert_eq!(
        hit.root.to_string(),
        sqrt_decimal(&n, 5).unwrap().to_string()
    );
}

#[tokio::test]
async fn bad_input_is_a_typed_error_not_a_cache_entry() {
    let memo = engine(test_config());
    assert!(matches!(
        memo.sqrt_text("", 3).await,
        Err(MemoError::Parse(_))
    ));
    assert!(matches!(
        memo.sqrt_text("12x", 3).await,
        Err(MemoError::Parse(_))
    ));
    assert!(matches!(
        memo.sqrt_text("-4", 3).await,
        Err(MemoError::Parse(_))
    ));
    assert!(matches!(
        memo.sqrt(&Integer::from(-4), 3).await,
        Err(MemoError::Arithmetic(_))
    ));
    assert_eq!(memo.stats().computations, 0);
}

#[tokio::test]
async fn perfect_squares_come_back_exact() {
    let memo = engine(test_config());
    let base = fresh_number(60);
    let square = Integer::from(base.square_ref());
    memo.sqrt(&square, 4).await.unwrap();
    let hit = memo.sqrt(&square, 4).await.unwrap();
    assert_eq!(hit.source, Source::Hit);
    assert!(hit.root.is_exact());
    assert_eq!(hit.root.integer_part(), base);
    assert_eq!(hit.root.fractional_digits(), "0000");
}

#[tokio::test]
async fn forget_removes_the_entry() {
    let memo = engine(test_config());
    let n = fresh_number(50);
    memo.sqrt(&n, 2).await.unwrap();
    assert!(memo.forget(&n, 2).await.unwrap());
    assert!(!memo.forget(&n, 2).await.unwrap());
    assert_eq!(memo.sqrt(&n, 2).await.unwrap().source, Source::Computed);
}

#[tokio::test]
async fn a_waiter_computes_itself_when_the_winner_never_stores() {
    let config = MemoConfig {
        max_wait: Duration::from_millis(150),
        ..test_config()
    };
    let memo = engine(config);
    let n = fresh_number(70);
    let key = MemoKey::new(&CanonicalDecimal::from_integer(&n).unwrap(), 3);
    // A "crashed" winner: takes the win and never writes.
    let taken = common::memo_store(&memo)
        .meta_get(key.as_str(), Some(30))
        .await
        .unwrap();
    assert!(taken.win);
    let outcome = memo.sqrt(&n, 3).await.unwrap();
    assert_eq!(outcome.source, Source::ComputedAfterWait);
    assert_eq!(memo.stats().waits, 1);
    // Its result replaced the abandoned placeholder.
    assert_eq!(memo.sqrt(&n, 3).await.unwrap().source, Source::Hit);
}

#[tokio::test]
async fn near_cache_answers_without_memcached() {
    let config = MemoConfig {
        near_cache: Some(NearCacheConfig {
            capacity: 8,
            max_number_bits: 1024,
        }),
        ..test_config()
    };
    let mut server = Memcached::start().unwrap();
    let memo = engine_at(server.addr(), config);
    let small = fresh_number(30);
    let large = fresh_number(400); // > 1024 bits: never kept in process
    memo.sqrt(&small, 8).await.unwrap();
    memo.sqrt(&large, 8).await.unwrap();
    assert_eq!(
        memo.sqrt(&small, 8).await.unwrap().source,
        Source::NearCache
    );
    assert_eq!(memo.sqrt(&large, 8).await.unwrap().source, Source::Hit);
    server.kill();
    assert_eq!(
        memo.sqrt(&small, 8).await.unwrap().source,
        Source::NearCache
    );
    assert_eq!(memo.stats().near_hits, 2);
}

#[tokio::test]
async fn a_dead_server_fails_open_or_errors_as_configured() {
    let mut server = Memcached::start().unwrap();
    let addr = server.addr();
    server.kill();
    let open = engine_at(addr, test_config());
    let n = fresh_number(25);
    let outcome = open.sqrt(&n, 4).await.unwrap();
    assert_eq!(outcome.source, Source::ComputedUncached);
    assert_eq!(outcome.root, sqrt_decimal(&n, 4).unwrap());
    assert_eq!(open.stats().store_errors, 1);

    let closed = engine_at(
        addr,
        MemoConfig {
            fail_open: false,
            ..test_config()
        },
    );
    assert!(matches!(closed.sqrt(&n, 4).await, Err(MemoError::Store(_))));
    // The server coming back is picked up by the same engine.
    server.restart().unwrap();
    assert_eq!(closed.sqrt(&n, 4).await.unwrap().source, Source::Computed);
    assert_eq!(closed.sqrt(&n, 4).await.unwrap().source, Source::Hit);
}
