//! Hostile input from the caller: keys that could smuggle protocol (empty,
//! too long, spaces, `\r\n`, NUL, control bytes) are refused with a typed
//! error before a single byte is written, by every key-taking method,
//! including multi-key and multi-server calls (no partial sends). Binary
//! keys are carried base64-encoded by the meta commands. Values at, just
//! under and just over the client's and the server's size limits.
//!
//! "Nothing reached the server" is proven by a recording proxy in front of
//! a private memcached (every byte it forwards is kept) and by the
//! server's own `cmd_*` counters.

mod common;
mod fake;

use std::collections::HashMap;

use fake::{Behavior, FakeServer};
use memcache_client::{
    Client, Distribution, Error, Expiry, Limits, MetaArithmeticFlags, MetaDeleteFlags,
    MetaGetFlags, MetaRequest, MetaSetFlags, MetaStatus, StoreOptions,
};
use memcached_harness::Memcached;

/// Keys the text protocol cannot carry.
fn bad_keys() -> Vec<(&'static str, Vec<u8>)> {
    vec![
        ("empty", b"".to_vec()),
        ("251 bytes", vec![b'k'; 251]),
        ("space", b"a key".to_vec()),
        ("crlf injection", b"a\r\nflush_all".to_vec()),
        ("lf", b"a\nb".to_vec()),
        ("nul", b"nul\0".to_vec()),
        ("tab", b"\tk".to_vec()),
        ("del", b"k\x7f".to_vec()),
        ("unicode with a space", "clé ünïcode".as_bytes().to_vec()),
        ("non-UTF-8 with a control byte", b"\xff\xfe\x01".to_vec()),
    ]
}

/// Calls every key-taking method with `key`; each must be refused as an
/// invalid key.
async fn every_method_refuses(c: &Client, name: &str, key: &[u8]) {
    let o = StoreOptions::default();
    let e = Expiry::Never;
    let mut results: Vec<(&str, Result<(), Error>)> = vec![
        ("get", c.get(key).await.map(drop)),
        ("gets", c.gets(key).await.map(drop)),
        ("gat", c.gat(key, e).await.map(drop)),
        ("gats", c.gats(key, e).await.map(drop)),
        ("set", c.set(key, "v", o).await.map(drop)),
        ("add", c.add(key, "v", o).await.map(drop)),
        ("replace", c.replace(key, "v", o).await.map(drop)),
        ("append", c.append(key, "v", o).await.map(drop)),
        ("prepend", c.prepend(key, "v", o).await.map(drop)),
        ("cas", c.cas(key, "v", 1, o).await.map(drop)),
        ("set noreply", c.set(key, "v", o.noreply()).await.map(drop)),
        ("delete", c.delete(key).await.map(drop)),
        ("delete_noreply", c.delete_noreply(key).await),
        ("incr", c.incr(key, 1).await.map(drop)),
        ("decr", c.decr(key, 1).await.map(drop)),
        ("incr_noreply", c.incr_noreply(key, 1).await),
        ("decr_noreply", c.decr_noreply(key, 1).await),
        ("touch", c.touch(key, e).await.map(drop)),
        ("touch_noreply", c.touch_noreply(key, e).await),
        (
            "meta_get",
            c.meta_get(key, MetaGetFlags::default()).await.map(drop),
        ),
        (
            "meta_set",
            c.meta_set(key, "v", MetaSetFlags::default())
                .await
                .map(drop),
        ),
        (
            "meta_delete",
            c.meta_delete(key, MetaDeleteFlags::default())
                .await
                .map(drop),
        ),
        (
            "meta_arithmetic",
            c.meta_arithmetic(key, MetaArithmeticFlags::default())
                .await
                .map(drop),
        ),
        ("meta_debug", c.meta_debug(key).await.map(drop)),
    ];
    // Multi-key calls with the bad key after good ones.
    let keys: Vec<&[u8]> = vec![b"good-1", b"good-2", key];
    results.push(("get_many", c.get_many(&keys).await.map(drop)));
    results.push(("gets_many", c.gets_many(&keys).await.map(drop)));
    results.push(("delete_many", c.delete_many(&keys).await.map(drop)));
    let items: Vec<(&[u8], &[u8])> = keys.iter().map(|k| (*k, &b"v"[..])).collect();
    results.push(("set_many", c.set_many(&items, o).await.map(drop)));
    let requests: Vec<MetaRequest> = keys
        .iter()
        .map(|k| MetaRequest::Set {
            key: k,
            value: b"v",
            flags: MetaSetFlags::default(),
        })
        .collect();
    results.push(("meta_pipeline", c.meta_pipeline(&requests).await.map(drop)));

    for (method, result) in results {
        assert!(
            matches!(result, Err(Error::InvalidKey(_))),
            "{method} with {name} key: {result:?}"
        );
    }
}

#[tokio::test]
async fn bad_keys_are_refused_before_a_byte_is_written() {
    let server = common::start_server(&[]);
    let proxy = FakeServer::start(vec![Behavior::Proxy(server.addr())]).await;
    let c = common::builder().server_addr(proxy.addr).build().unwrap();
    for (name, key) in bad_keys() {
        every_method_refuses(&c, name, &key).await;
    }
    // Give the proxy time to see any connection or byte in flight.
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    assert!(
        proxy.received().is_empty(),
        "bytes reached the server: {:?}",
        String::from_utf8_lossy(&proxy.received())
    );
    assert_eq!(proxy.accepted(), 0, "a connection was opened for nothing");

    // The client works, and the server's counters saw nothing before.
    let direct = common::client_for(&server);
    let stats = &direct.stats(None).await.unwrap()[0].1;
    for counter in [
        "cmd_get",
        "cmd_set",
        "cmd_flush",
        "cmd_touch",
        "total_items",
    ] {
        assert_eq!(stats[counter], "0", "{counter}");
    }
    c.set("fine", "v", StoreOptions::default()).await.unwrap();
}

/// Two servers, each behind its own recording proxy.
struct TwoServers {
    _servers: Vec<Memcached>,
    proxies: Vec<FakeServer>,
    client: Client,
}

async fn two_servers(limits: Limits) -> TwoServers {
    let servers: Vec<Memcached> = (0..2).map(|_| common::start_server(&[])).collect();
    let mut proxies = Vec::new();
    for s in &servers {
        proxies.push(FakeServer::start(vec![Behavior::Proxy(s.addr())]).await);
    }
    let client = common::builder()
        .distribution(Distribution::Ketama)
        .server_addr(proxies[0].addr)
        .server_addr(proxies[1].addr)
        .limits(limits)
        .build()
        .unwrap();
    TwoServers {
        _servers: servers,
        proxies,
        client,
    }
}

fn key_on(c: &Client, owner: usize, tag: &str) -> String {
    (0..10_000)
        .map(|i| format!("{tag}-{i}"))
        .find(|k| c.server_for_key(k).unwrap() == owner)
        .unwrap()
}

#[tokio::test]
async fn a_bad_item_in_a_multi_server_batch_stops_the_whole_batch() {
    // Good items for server 0, one bad item for server 1: nothing may be
    // sent to either (no half-applied batch).
    let t = two_servers(Limits::default()).await;
    let c = &t.client;
    let (good, other) = (key_on(c, 0, "good"), key_on(c, 1, "other"));
    let big = vec![b'v'; Limits::default().max_value_len + 1];

    let items: Vec<(&[u8], &[u8])> = vec![(good.as_bytes(), b"v"), (other.as_bytes(), &big)];
    let err = c
        .set_many(&items, StoreOptions::default())
        .await
        .unwrap_err();
    assert!(matches!(err, Error::ValueTooLarge { .. }), "{err:?}");

    let requests = [
        MetaRequest::Set {
            key: good.as_bytes(),
            value: b"v",
            flags: MetaSetFlags::default(),
        },
        MetaRequest::Set {
            key: other.as_bytes(),
            value: &big,
            flags: MetaSetFlags::default(),
        },
    ];
    let err = c.meta_pipeline(&requests).await.unwrap_err();
    assert!(matches!(err, Error::ValueTooLarge { .. }), "{err:?}");

    // A binary key too long even for base64 (188 bytes -> 252 encoded).
    let long = vec![0u8; 188];
    let requests = [
        MetaRequest::Get {
            key: good.as_bytes(),
            flags: MetaGetFlags::default(),
        },
        MetaRequest::Get {
            key: &long,
            flags: MetaGetFlags {
                base64_key: true,
                ..MetaGetFlags::default()
            },
        },
    ];
    let err = c.meta_pipeline(&requests).await.unwrap_err();
    assert!(matches!(err, Error::InvalidKey(_)), "{err:?}");

    let err = c
        .meta_set(&good, &big, MetaSetFlags::default())
        .await
        .unwrap_err();
    assert!(matches!(err, Error::ValueTooLarge { .. }), "{err:?}");

    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    for p in &t.proxies {
        assert!(p.received().is_empty(), "part of a refused batch was sent");
        assert_eq!(p.accepted(), 0, "a connection was opened for nothing");
    }
}

#[tokio::test]
async fn binary_keys_travel_base64_encoded_through_the_meta_commands() {
    let server = common::start_server(&[]);
    let c = common::client_for(&server);
    let keys: Vec<Vec<u8>> = vec![
        b"a\r\nflush_all".to_vec(),
        b"with space".to_vec(),
        b"nul\0byte".to_vec(),
        vec![0xff, 0xfe, 0x00, 0x01, b'\n'],
        "clé ünïcode".as_bytes().to_vec(),
        // The longest binary key: 186 bytes are 248 in base64 (limit 250).
        vec![0x80; 186],
    ];
    for (i, key) in keys.iter().enumerate() {
        let value = format!("binary-{i}");
        let set = c
            .meta_set(
                key,
                &value,
                MetaSetFlags {
                    base64_key: true,
                    ..MetaSetFlags::default()
                },
            )
            .await
            .unwrap();
        assert_eq!(set.status, MetaStatus::Header);
        let got = c
            .meta_get(
                key,
                MetaGetFlags {
                    base64_key: true,
                    return_value: true,
                    return_key: true,
                    ..MetaGetFlags::default()
                },
            )
            .await
            .unwrap();
        assert_eq!(got.status, MetaStatus::Value);
        assert_eq!(got.value.as_deref(), Some(value.as_bytes()));
        assert!(got.flags.base64_key);
    }
    // The injection did not run: one item per key, nothing flushed.
    let stats = &c.stats(None).await.unwrap()[0].1;
    assert_eq!(stats["cmd_flush"], "0");
    assert_eq!(stats["curr_items"], keys.len().to_string());

    // Pipelined too, mixed with a plain key.
    let b64 = MetaGetFlags {
        base64_key: true,
        return_value: true,
        ..MetaGetFlags::default()
    };
    let requests: Vec<MetaRequest> = keys
        .iter()
        .map(|k| MetaRequest::Get { key: k, flags: b64 })
        .collect();
    let replies = c.meta_pipeline(&requests).await.unwrap();
    for (i, reply) in replies.into_iter().enumerate() {
        let reply = reply.unwrap();
        assert_eq!(
            reply.value.as_deref(),
            Some(format!("binary-{i}").as_bytes())
        );
    }
}

async fn stats(c: &Client) -> HashMap<String, String> {
    c.stats(None).await.unwrap().remove(0).1
}

#[tokio::test]
async fn values_at_and_around_the_client_limit() {
    // The server takes 2 MiB items; the client's limit is 1 MiB.
    let server = common::start_server(&["-I", "2m"]);
    let proxy = FakeServer::start(vec![Behavior::Proxy(server.addr())]).await;
    let limit = Limits::default().max_value_len;
    let c = common::builder().server_addr(proxy.addr).build().unwrap();
    for (name, len) in [("under", limit - 1), ("at", limit)] {
        let value = vec![b'u'; len];
        c.set(name, &value, StoreOptions::default()).await.unwrap();
        assert_eq!(c.get(name).await.unwrap().unwrap().value.len(), len);
    }
    let sent = proxy.received().len();
    let over = vec![b'o'; limit + 1];
    for result in [
        c.set("over", &over, StoreOptions::default())
            .await
            .map(drop),
        c.add("over", &over, StoreOptions::default())
            .await
            .map(drop),
        c.append("at", &over, StoreOptions::default())
            .await
            .map(drop),
        c.cas("at", &over, 1, StoreOptions::default())
            .await
            .map(drop),
        c.set_many(&[("over", &over)], StoreOptions::default())
            .await
            .map(drop),
        c.meta_set("over", &over, MetaSetFlags::default())
            .await
            .map(drop),
    ] {
        assert!(
            matches!(result, Err(Error::ValueTooLarge { len, limit: l }) if len == limit + 1 && l == limit),
            "{result:?}"
        );
    }
    assert_eq!(proxy.received().len(), sent, "an oversized value was sent");

    // A value the server holds but the client may not read (stored by a
    // client with a higher limit) is refused from its header: a typed error,
    // the connection dropped, the next call fine.
    let generous = common::builder()
        .server_addr(server.addr())
        .limits(Limits {
            max_value_len: 2 << 20,
            ..Limits::default()
        })
        .build()
        .unwrap();
    generous
        .set("huge", vec![b'h'; limit + 1], StoreOptions::default())
        .await
        .unwrap();
    let err = c.get("huge").await.unwrap_err();
    assert!(
        matches!(
            err,
            Error::Protocol(memcache_codec::DecodeError::ValueTooLarge { .. })
        ),
        "{err:?}"
    );
    assert_eq!(c.idle_connections(), vec![0]);
    assert_eq!(c.get("at").await.unwrap().unwrap().value.len(), limit);
}

#[tokio::test]
async fn values_at_and_around_the_server_limit() {
    // The client allows 4 MiB, the server stores items up to 1 MiB (value
    // plus its item header).
    let server = common::start_server(&["-I", "1m"]);
    let c = common::builder()
        .server_addr(server.addr())
        .limits(Limits {
            max_value_len: 4 << 20,
            ..Limits::default()
        })
        .build()
        .unwrap();
    let under = vec![b'u'; (1 << 20) - 1024];
    c.set("under", &under, StoreOptions::default())
        .await
        .unwrap();
    assert_eq!(c.get("under").await.unwrap().unwrap().value, under);
    for len in [1 << 20, (1 << 20) + 1] {
        let err = c
            .set("over", vec![b'o'; len], StoreOptions::default())
            .await
            .unwrap_err();
        assert!(matches!(err, Error::Server(_)), "{len}: {err:?}");
        // The server swallowed the value: the stream is still in step, and
        // the next calls are answered correctly.
        assert!(c.get("over").await.unwrap().is_none());
        assert_eq!(c.get("under").await.unwrap().unwrap().value, under);
    }
    let s = stats(&c).await;
    assert_eq!(s["curr_items"], "1");
}

#[tokio::test]
async fn unicode_and_high_byte_keys_are_ordinary_keys() {
    // memcached's text protocol takes any byte above space (except DEL):
    // UTF-8 and even non-UTF-8 high bytes are valid keys, stored verbatim.
    let server = common::start_server(&[]);
    let c = common::client_for(&server);
    let keys: Vec<Vec<u8>> = vec![
        "clé-ünïcode".as_bytes().to_vec(),
        "日本語のキー".as_bytes().to_vec(),
        vec![0x80, 0xff, 0xfe, b'k'],
        "é".repeat(125).into_bytes(), // 250 bytes: the longest key
    ];
    for (i, key) in keys.iter().enumerate() {
        c.set(key, format!("v{i}"), StoreOptions::default())
            .await
            .unwrap();
        assert_eq!(
            c.get(key).await.unwrap().unwrap().value,
            format!("v{i}").into_bytes()
        );
    }
    let found = c.get_many(&keys).await.unwrap();
    assert_eq!(found.len(), keys.len());
    for key in &keys {
        assert!(found.contains_key(&key[..]));
    }
    // One byte more is refused.
    let long = "é".repeat(125) + "x";
    assert!(matches!(c.get(&long).await, Err(Error::InvalidKey(_))));
    assert_eq!(stats(&c).await["curr_items"], keys.len().to_string());
}
