//! The traced client on its own: every call below is a `tracing` span with
//! OpenTelemetry database attributes, printed here by a fmt subscriber.
//! Run: `MEMCACHED_ADDR=127.0.0.1:11211 cargo run --example traced_client`
use std::time::Duration;

use traced_memcache::client::{Client, Expiry, StoreOptions};
use tracing_subscriber::fmt::format::FmtSpan;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    tracing_subscriber::fmt()
        .with_span_events(FmtSpan::CLOSE) // one line per finished span, with its fields
        .init();
    let addr = std::env::var("MEMCACHED_ADDR").unwrap_or_else(|_| "127.0.0.1:11211".into());
    let client = Client::builder()
        .server(&addr)
        .operation_timeout(Duration::from_millis(500))
        .build()?;

    let ttl = StoreOptions::default().expiry(Expiry::After(Duration::from_secs(60)));
    client.set("example:greeting", "hello", ttl).await?;
    let hit = client.get("example:greeting").await?;
    println!("hit: {:?}", hit.map(|item| item.value));
    let many = client
        .get_many(&["example:greeting", "example:absent"])
        .await?;
    println!("get_many found {} of 2", many.len());
    client.delete("example:greeting").await?;
    Ok(())
}
