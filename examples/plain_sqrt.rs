//! The seed's plain version, without tracing: memoize square roots of huge
//! numbers in memcached. Exact where the seed used floats.
//! Run: `MEMCACHED_ADDR=127.0.0.1:11211 cargo run --example plain_sqrt`
use traced_memcache::client::Client;
use traced_memcache::sqrt::{MemoConfig, SqrtMemo};

const VALUES: [&str; 5] = [
    "9999999183838328567567689828757567669797060958585737272727311111199911188888889953113",
    "9082782799999992727727272727272727272727272727838383285677272727399917272728373799422229",
    "987773333733799999999475786161616373683838328567727272739991727272837378888888881322229",
    "99999999999999999999998899919191919191919192828727737368383832856772727273999172727283737671626262269222848",
    "991818178171928287277373683838328567727272739991727272837377827272727272727272727711119",
];

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let addr = std::env::var("MEMCACHED_ADDR").unwrap_or_else(|_| "127.0.0.1:11211".into());
    let memo = SqrtMemo::new(Client::connect(&addr)?, MemoConfig::default());
    for value in VALUES {
        for _round in 0..2 {
            let sqrt = memo.sqrt_text(value, 10).await?;
            println!("{value:<100} ==> {}", sqrt.root);
        }
        // Afterwards, clean up to ensure repeatability.
        memo.forget(&value.parse()?, 10).await?;
    }
    Ok(())
}
