//! Fuzz target: the whole client against a loopback server whose reply is
//! the fuzz input. Each run makes a new `Client`, lets a one-shot server on
//! 127.0.0.1 read the request, write the input and hang up, and runs the
//! call selected by the first byte: connection, read loop, exchanges and
//! the per-command result mapping, as in production.
//!
//! A selector of 128 or more runs the client on one multiplexed connection
//! and makes two calls at once (the second chosen by `selector >> 3`), so
//! the driver's framing of pipelined replies meets the same bytes.
//!
//! Checks: every call returns (no hang past its timeout), returned values
//! respect the limits and belong to keys that were asked for, a pipeline
//! answers every request slot, and errors format.

#![no_main]

use std::net::SocketAddr;
use std::sync::OnceLock;
use std::time::Duration;

use libfuzzer_sys::fuzz_target;
use memcache_client::{
    Client, ConnectionMode, Expiry, Limits, MetaGetFlags, MetaRequest, StoreOptions,
};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

const KEYS: [&str; 3] = ["alpha", "beta", "gamma"];
const LIMITS: Limits = Limits {
    max_value_len: 4096,
    max_line_len: 512,
};

struct World {
    rt: tokio::runtime::Runtime,
    listener: TcpListener,
    addr: SocketAddr,
}

fn world() -> &'static World {
    static WORLD: OnceLock<World> = OnceLock::new();
    WORLD.get_or_init(|| {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let listener = rt.block_on(TcpListener::bind("127.0.0.1:0")).unwrap();
        let addr = listener.local_addr().unwrap();
        World { rt, listener, addr }
    })
}

/// Runs the selected call, checking what it returns.
async fn call(c: &Client, selector: u8) -> Result<(), memcache_client::Error> {
    let o = StoreOptions::default();
    match selector % 10 {
        0 => {
            if let Some(item) = c.get(KEYS[0]).await? {
                assert!(item.value.len() <= LIMITS.max_value_len);
            }
        }
        1 => {
            let found = c.get_many(&KEYS).await?;
            for (key, item) in found {
                assert!(
                    KEYS.iter().any(|k| k.as_bytes() == &key[..]),
                    "stranger key"
                );
                assert!(item.value.len() <= LIMITS.max_value_len);
            }
        }
        2 => {
            if let Some(item) = c.gats(KEYS[1], Expiry::Never).await? {
                assert!(item.value.len() <= LIMITS.max_value_len);
            }
        }
        3 => drop(c.set(KEYS[0], "value", o).await?),
        4 => drop(c.delete(KEYS[0]).await?),
        5 => drop(c.incr(KEYS[0], 7).await?),
        6 => drop(c.stats(None).await?),
        7 => {
            let flags = MetaGetFlags {
                return_value: true,
                ..MetaGetFlags::default()
            };
            let requests: Vec<MetaRequest> = KEYS
                .iter()
                .map(|k| MetaRequest::Get {
                    key: k.as_bytes(),
                    flags,
                })
                .collect();
            let replies = c.meta_pipeline(&requests).await?;
            assert_eq!(replies.len(), KEYS.len());
        }
        8 => {
            let flags = MetaGetFlags {
                return_value: true,
                opaque: Some(5),
                ..MetaGetFlags::default()
            };
            let reply = c.meta_get(KEYS[2], flags).await?;
            assert_eq!(reply.flags.opaque, Some(5));
        }
        _ => drop(c.set_many(&[(KEYS[0], "x"), (KEYS[1], "y")], o).await?),
    }
    Ok(())
}

fuzz_target!(|data: &[u8]| {
    let Some((&selector, reply)) = data.split_first() else {
        return;
    };
    let w = world();
    let multiplexed = selector >= 128;
    let mode = match multiplexed {
        true => ConnectionMode::Multiplexed,
        false => ConnectionMode::Exclusive,
    };
    w.rt.block_on(async {
        let client = Client::builder()
            .server_addr(w.addr)
            .connection_mode(mode)
            .max_connections_per_server(1)
            .operation_timeout(Duration::from_millis(200))
            .dead_after_failures(u32::MAX)
            .limits(LIMITS)
            .build()
            .unwrap();
        let server = async {
            let (mut socket, _) = w.listener.accept().await.unwrap();
            let mut request = [0u8; 4096];
            let _ = socket.read(&mut request).await;
            let _ = socket.write_all(reply).await;
            let _ = socket.shutdown().await;
        };
        let calls = async {
            let second = async {
                match multiplexed {
                    true => call(&client, selector >> 3).await,
                    false => Ok(()),
                }
            };
            let (first, second) = tokio::join!(call(&client, selector), second);
            [first, second]
        };
        let guarded = tokio::time::timeout(Duration::from_secs(5), calls);
        let (_, results) = tokio::join!(server, guarded);
        for result in results.expect("a call hung past its timeout") {
            match result {
                Ok(()) => {}
                Err(e) => {
                    assert!(!e.kind().is_empty());
                    let _ = format!("{e} {e:?}");
                }
            }
        }
    });
});
