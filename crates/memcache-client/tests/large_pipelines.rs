//! Large pipelined calls: a multi-get whose request and reply are both far
//! larger than socket buffers must not deadlock (the reply is read while
//! the request is still being written).

mod common;

use std::time::Duration;

use memcache_client::{StoreOptions, StoreOutcome};

#[tokio::test]
async fn huge_get_many_and_set_many_complete() {
    let server = common::start_server(&["-m", "256"]);
    let c = common::builder()
        .server_addr(server.addr())
        .operation_timeout(Duration::from_secs(30))
        .build()
        .unwrap();
    // About 4 MiB of request and 40 MiB of reply: both far beyond what the
    // socket buffers hold.
    let keys: Vec<String> = (0..20_000)
        .map(|i| format!("{}-{i:06}", "large-pipeline-key".repeat(10)))
        .collect();
    let value = |i: usize| vec![(i % 251) as u8; 2 * 1024];
    let items: Vec<(&String, Vec<u8>)> = keys
        .iter()
        .enumerate()
        .map(|(i, k)| (k, value(i)))
        .collect();
    let stored = c.set_many(&items, StoreOptions::default()).await.unwrap();
    assert!(stored.iter().all(|s| *s == StoreOutcome::Stored));
    let found = c.get_many(&keys).await.unwrap();
    assert_eq!(found.len(), keys.len());
    for (i, k) in keys.iter().enumerate() {
        assert!(found[k.as_bytes()].value == value(i), "value of key {i}");
    }
    // The connection is still in step afterwards.
    assert!(c.get(&keys[7]).await.unwrap().unwrap().value == value(7));
}
