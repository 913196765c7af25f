//! Rough throughput check against a running memcached (not a benchmark
//! suite; the criterion benches live elsewhere).
//!
//! `cargo run --release -p memcache-client --example throughput [host:port]`
//! (default `127.0.0.1:11211`). Writes keys under `throughput:`.

use std::time::{Duration, Instant};

use memcache_client::{Client, ConnectionMode, StoreOptions};

const OPS: usize = 20_000;
const TASKS: usize = 32;

#[tokio::main]
async fn main() -> Result<(), memcache_client::Error> {
    let addr = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:11211".to_string());
    let client = Client::builder()
        .server(&addr)
        .operation_timeout(Duration::from_secs(5))
        .build()?;
    client
        .set("throughput:k", vec![b'x'; 100], StoreOptions::default())
        .await?;

    let start = Instant::now();
    for _ in 0..OPS {
        client.get("throughput:k").await?;
    }
    report("sequential get (100 B)", OPS, start.elapsed());

    report(
        &format!("{TASKS} tasks get (100 B), pooled"),
        OPS,
        concurrent_gets(&client).await?,
    );
    let multiplexed = Client::builder()
        .server(&addr)
        .connection_mode(ConnectionMode::Multiplexed)
        .operation_timeout(Duration::from_secs(5))
        .build()?;
    report(
        &format!("{TASKS} tasks get (100 B), multiplexed"),
        OPS,
        concurrent_gets(&multiplexed).await?,
    );

    let keys: Vec<String> = (0..100).map(|i| format!("throughput:m{i}")).collect();
    let items: Vec<(&String, &[u8])> = keys.iter().map(|k| (k, &b"value"[..])).collect();
    client.set_many(&items, StoreOptions::default()).await?;
    let start = Instant::now();
    let rounds = OPS / 100;
    for _ in 0..rounds {
        client.get_many(&keys).await?;
    }
    report("get_many x100 keys", rounds * 100, start.elapsed());
    Ok(())
}

fn report(what: &str, ops: usize, took: Duration) {
    let per_sec = ops as f64 / took.as_secs_f64();
    println!(
        "{what}: {ops} keys in {:.3} s = {per_sec:.0} keys/s ({:.1} us/key)",
        took.as_secs_f64(),
        1e6 / per_sec
    );
}

/// [`OPS`] gets of one key shared by [`TASKS`] tasks; how long they took.
async fn concurrent_gets(client: &Client) -> Result<Duration, memcache_client::Error> {
    let start = Instant::now();
    let tasks: Vec<_> = (0..TASKS)
        .map(|_| {
            let client = client.clone();
            tokio::spawn(async move {
                for _ in 0..OPS / TASKS {
                    client.get("throughput:k").await?;
                }
                Ok::<_, memcache_client::Error>(())
            })
        })
        .collect();
    for task in tasks {
        task.await
            .map_err(|e| memcache_client::Error::from(std::io::Error::from(e)))??;
    }
    Ok(start.elapsed())
}
