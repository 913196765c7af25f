//! `memcache://` URLs: every setting as a parameter, several servers,
//! Unix sockets, TLS and credentials; hostile URLs refused with an error
//! naming the part; and clients built from URLs talking to real memcached.

mod common;

use std::time::Duration;

use memcache_client::{
    Client, ClientConfig, ConnectionMode, Distribution, Error, Failover, ServerAddr, StoreOptions,
    UrlError,
};

fn parse(url: &str) -> ClientConfig {
    ClientConfig::from_url(url).unwrap_or_else(|e| panic!("{url}: {e}"))
}

fn refused(url: &str) -> UrlError {
    let err = ClientConfig::from_url(url).expect_err(url);
    eprintln!("{url} -> {err}");
    err
}

fn addrs(config: &ClientConfig) -> Vec<(ServerAddr, u32)> {
    config
        .servers
        .iter()
        .map(|s| (s.addr.clone(), s.weight))
        .collect()
}

#[test]
fn every_setting_is_a_parameter() {
    let c = parse(
        "memcache://cache-a:11300?connect_timeout=1.5&timeout=250ms&pool_size=7\
         &pool_wait_timeout=0&connection_mode=multiplexed&distribution=rendezvous\
         &failover=next_server&dead_after_failures=5&retry_dead_after=1m\
         &record_keys=true&max_value_len=2097152&peer_service=session-cache",
    );
    assert_eq!(addrs(&c), vec![(ServerAddr::tcp("cache-a", 11300), 1)]);
    assert_eq!(c.connect_timeout, Duration::from_millis(1500));
    assert_eq!(c.operation_timeout, Duration::from_millis(250));
    assert_eq!(c.max_connections_per_server, 7);
    assert_eq!(c.pool_wait_timeout, Duration::ZERO);
    assert_eq!(c.connection_mode, ConnectionMode::Multiplexed);
    assert_eq!(c.distribution, Distribution::Rendezvous);
    assert_eq!(c.failover, Failover::NextServer);
    assert_eq!(c.dead_after_failures, 5);
    assert_eq!(c.retry_dead_after, Duration::from_secs(60));
    assert!(c.record_keys);
    assert_eq!(c.peer_service, "session-cache");
    assert_eq!(c.limits.max_value_len, 2 * 1024 * 1024);
    #[cfg(feature = "tls")]
    assert!(c.tls.is_none());
    assert!(c.credentials.is_none());
}

#[test]
fn defaults_are_the_builders() {
    let url = parse("memcache://localhost");
    let built = Client::builder().server("localhost").config().clone();
    assert_eq!(addrs(&url), vec![(ServerAddr::tcp("localhost", 11211), 1)]);
    assert_eq!(url.operation_timeout, built.operation_timeout);
    assert_eq!(url.connect_timeout, built.connect_timeout);
    assert_eq!(
        url.max_connections_per_server,
        built.max_connections_per_server
    );
    assert_eq!(url.distribution, built.distribution);
    assert_eq!(url.failover, built.failover);
    assert_eq!(url.connection_mode, built.connection_mode);
    // A trailing slash and an empty query change nothing.
    assert_eq!(addrs(&parse("memcache://localhost/?")), addrs(&url));
}

#[test]
fn aliases_and_the_memcache_crates_names() {
    let c = parse(
        "memcache+tcp://h:1?operation_timeout=2&max_connections_per_server=3&mode=exclusive\
         &protocol=ascii&tcp_nodelay=true&udp=false&failover=false&distribution=ketama_weighted",
    );
    assert_eq!(c.operation_timeout, Duration::from_secs(2));
    assert_eq!(c.max_connections_per_server, 3);
    assert_eq!(c.connection_mode, ConnectionMode::Exclusive);
    assert_eq!(c.failover, Failover::FailFast);
    assert_eq!(c.distribution, Distribution::Ketama);
    let d = |name: &str| parse(&format!("memcache://h?distribution={name}")).distribution;
    assert_eq!(d("ketama"), Distribution::Ketama);
    assert_eq!(d("ketama_unweighted"), Distribution::KetamaUnweighted);
    // Case-insensitive scheme, as URLs have it.
    assert_eq!(
        addrs(&parse("MEMCACHE://h")),
        vec![(ServerAddr::tcp("h", 11211), 1)]
    );
}

#[test]
fn durations_take_units() {
    let t = |v: &str| parse(&format!("memcache://h?timeout={v}")).operation_timeout;
    assert_eq!(t("3"), Duration::from_secs(3));
    assert_eq!(t("0.25"), Duration::from_millis(250));
    assert_eq!(t("1.5s"), Duration::from_millis(1500));
    assert_eq!(t("40ms"), Duration::from_millis(40));
    assert_eq!(t("750us"), Duration::from_micros(750));
    assert_eq!(t("2m"), Duration::from_secs(120));
}

#[test]
fn several_servers_with_weights() {
    // `weights` applies to every server in order, `server=` ones included.
    let c =
        parse("memcache://a:11211,[::1]:11300,b?server=c:5&server=/run/mc.sock&weights=3,1,2,4,5");
    assert_eq!(
        addrs(&c),
        vec![
            (ServerAddr::tcp("a", 11211), 3),
            (ServerAddr::tcp("::1", 11300), 1),
            (ServerAddr::tcp("b", 11211), 2),
            (ServerAddr::tcp("c", 5), 4),
            (ServerAddr::unix("/run/mc.sock"), 5),
        ]
    );
    assert_eq!(
        refused("memcache://a,b,c?weights=3,1"),
        UrlError::Value {
            name: "weights".into(),
            value: "2 weights".into(),
            expected: "one weight per server",
        }
    );
}

#[test]
fn unix_sockets() {
    let unix = |url: &str| addrs(&parse(url));
    let expected = vec![(ServerAddr::unix("/run/memcached/mc.sock"), 1)];
    assert_eq!(unix("memcache:///run/memcached/mc.sock"), expected);
    assert_eq!(unix("memcache+unix:///run/memcached/mc.sock"), expected);
    assert_eq!(
        unix("memcache+unix:///run/memcached/mc.sock?timeout=1"),
        expected
    );
    assert_eq!(
        unix("memcache:///tmp/my%20cache.sock"),
        vec![(ServerAddr::unix("/tmp/my cache.sock"), 1)]
    );
    assert!(matches!(
        refused("memcache+unix://host/x.sock"),
        UrlError::Path(_)
    ));
    assert!(matches!(refused("memcache+unix://"), UrlError::Path(_)));
    assert!(matches!(
        refused("memcache://host:1/x.sock"),
        UrlError::Path(_)
    ));
}

#[test]
fn credentials_are_decoded_and_never_shown() {
    let c = parse("memcache://app:s%40cret%3A1@cache:11211");
    let creds = c.credentials.expect("credentials");
    assert_eq!(creds.username(), "app");
    assert!(!format!("{creds:?}").contains("s@cret"));
    // Refusals do not repeat the password.
    for url in [
        "memcache://app:sekr%20et@h",
        "memcache://app:@h",
        "memcache://sekret@h",
        "memcache://app:sekr%zzet@h",
        "memcache://app:sekr%C3%A9t@h",
        // Unescaped '/' and '?' in the password.
        "memcache://app:sekr/et@h:11211",
        "memcache://app:sekr?et@h:11211",
        "memcache://app:sekr/et@h?timeout=1",
    ] {
        let err = refused(url);
        assert!(
            matches!(err, UrlError::Credentials(_) | UrlError::Encoding(_)),
            "{url}: {err:?}"
        );
        assert!(!err.to_string().contains("sekr"), "{err}");
    }
}

/// Hostile and mistaken URLs: each refused, with the part that is wrong.
#[test]
fn bad_urls_say_what_is_wrong() {
    use UrlError::*;
    type Expected = fn(&UrlError) -> bool;
    let cases: &[(&str, Expected)] = &[
        ("cache-a:11211", |e| matches!(e, NotAUrl)),
        ("", |e| matches!(e, NotAUrl)),
        ("redis://h", |e| matches!(e, Scheme(s) if s == "redis")),
        ("memcache+udp://h", |e| matches!(e, Unsupported(_))),
        ("memcache://", |e| matches!(e, NoServer)),
        ("memcache://?timeout=1", |e| matches!(e, NoServer)),
        (
            "memcache://h:0",
            |e| matches!(e, Port { port, .. } if port == "0"),
        ),
        ("memcache://h:65536", |e| matches!(e, Port { .. })),
        ("memcache://h:+80", |e| matches!(e, Port { .. })),
        ("memcache://h:", |e| matches!(e, Port { .. })),
        (
            "memcache://h:abc",
            |e| matches!(e, Port { port, .. } if port == "abc"),
        ),
        ("memcache://::1:11211", |e| matches!(e, Server { .. })),
        ("memcache://[::1:11211", |e| matches!(e, Server { .. })),
        ("memcache://[nothost]:1", |e| matches!(e, Server { .. })),
        ("memcache://[::1]x", |e| matches!(e, Server { .. })),
        ("memcache://a,,b", |e| matches!(e, Server { .. })),
        ("memcache://a,", |e| matches!(e, Server { .. })),
        ("memcache://a b", |e| matches!(e, Server { .. })),
        ("memcache://h#frag", |e| matches!(e, Unsupported(_))),
        (
            "memcache://h?timeuot=1",
            |e| matches!(e, UnknownParameter(p) if p == "timeuot"),
        ),
        ("memcache://h?timeout=1&timeout=2", |e| {
            matches!(e, DuplicateParameter(_))
        }),
        ("memcache://h?timeout=1&operation_timeout=2", |e| {
            matches!(e, DuplicateParameter(_))
        }),
        ("memcache://h?timeout", |e| matches!(e, Value { .. })),
        ("memcache://h?timeout=-1", |e| matches!(e, Value { .. })),
        ("memcache://h?timeout=1e3", |e| matches!(e, Value { .. })),
        ("memcache://h?timeout=NaN", |e| matches!(e, Value { .. })),
        ("memcache://h?timeout=inf", |e| matches!(e, Value { .. })),
        ("memcache://h?timeout=.5", |e| matches!(e, Value { .. })),
        ("memcache://h?timeout=1.2.3", |e| matches!(e, Value { .. })),
        ("memcache://h?timeout=5h", |e| matches!(e, Value { .. })),
        ("memcache://h?timeout=99999999999999999999", |e| {
            matches!(e, Value { .. })
        }),
        ("memcache://h?timeout=99999999999999999999.5", |e| {
            matches!(e, Value { .. })
        }),
        ("memcache://h?retry_dead_after=999999999999999999m", |e| {
            matches!(e, Value { .. })
        }),
        ("memcache://h?pool_size=0", |e| matches!(e, Value { .. })),
        ("memcache://h?pool_size=-3", |e| matches!(e, Value { .. })),
        ("memcache://h?pool_size=%2B3", |e| matches!(e, Value { .. })),
        ("memcache://h?dead_after_failures=4294967296", |e| {
            matches!(e, Value { .. })
        }),
        ("memcache://h?weights=0", |e| matches!(e, Value { .. })),
        ("memcache://h?weights=", |e| matches!(e, Value { .. })),
        ("memcache://h?distribution=modula", |e| {
            matches!(e, Value { .. })
        }),
        ("memcache://h?connection_mode=shared", |e| {
            matches!(e, Value { .. })
        }),
        ("memcache://h?failover=maybe", |e| matches!(e, Value { .. })),
        ("memcache://h?record_keys=2", |e| matches!(e, Value { .. })),
        ("memcache://h?protocol=binary", |e| {
            matches!(e, Unsupported(_))
        }),
        ("memcache://h?tcp_nodelay=false", |e| {
            matches!(e, Unsupported(_))
        }),
        ("memcache://h?udp=true", |e| matches!(e, Unsupported(_))),
        ("memcache://h?ca_path=/x.pem", |e| {
            matches!(e, Unsupported(_))
        }),
        ("memcache://h?timeout=%4", |e| matches!(e, Encoding(_))),
        ("memcache://h?timeout=%+1", |e| matches!(e, Encoding(_))),
        ("memcache://h?t%ff=1", |e| matches!(e, Encoding(_))),
        ("memcache:///sock%zz", |e| matches!(e, Encoding(_))),
        ("memcache://h?server=", |e| matches!(e, Server { .. })),
        ("memcache://h?server=x:y", |e| matches!(e, Port { .. })),
    ];
    for (url, expected) in cases {
        let err = refused(url);
        assert!(expected(&err), "{url}: unexpected {err:?}");
        // Client::connect refuses it the same way (a string without
        // "://" is read as a plain server address instead).
        if url.contains("://") {
            match Client::connect(url) {
                Err(Error::Url(e)) => assert_eq!(&e, &err),
                other => panic!("{url}: {other:?}"),
            }
        }
    }
    // Error::Url wraps the URL error, with its own kind.
    let err = Client::connect("memcache://h?nope=1").unwrap_err();
    assert_eq!(err.kind(), "url");
    assert_eq!(err.to_string(), "invalid URL: unknown parameter \"nope\"");
}

/// Long and odd input never panics: every prefix of some URLs, and bytes
/// of every kind in each part.
#[test]
fn hostile_input_never_panics() {
    let urls = [
        "memcaches://us%65r:p%40ss@[::1]:11211,b:2?timeout=1.5ms&weights=1,2&server=/s",
        "memcache+unix:///tmp/%E2%9C%93.sock?pool_size=3",
    ];
    for url in urls {
        for end in 0..=url.len() {
            if url.is_char_boundary(end) {
                let _ = ClientConfig::from_url(&url[..end]);
            }
        }
    }
    let long = format!("memcache://{}", "a,".repeat(10_000));
    assert!(ClientConfig::from_url(&long).is_err());
    let many = format!("memcache://h?{}", "server=x&".repeat(1000));
    assert_eq!(ClientConfig::from_url(&many).unwrap().servers.len(), 1001);
    for b in 0u8..=255 {
        let s = String::from_utf8_lossy(&[b]).into_owned();
        for url in [
            format!("memcache://h{s}"),
            format!("memcache://h:1{s}"),
            format!("memcache://h?timeout=1{s}"),
            format!("memcache://{s}@h"),
        ] {
            let _ = ClientConfig::from_url(&url);
        }
    }
}

#[tokio::test]
async fn a_client_from_a_url_talks_to_memcached() {
    let addr = common::shared_addr();
    let mode = match common::multiplexed() {
        true => "multiplexed",
        false => "exclusive",
    };
    let url = format!("memcache://{addr}?timeout=5s&connect_timeout=2s&pool_size=4&mode={mode}");
    let client = Client::connect(&url).unwrap();
    assert_eq!(client.server_labels(), vec![addr.to_string()]);
    assert_eq!(client.config().max_connections_per_server, 4);
    let key = format!("{}url", common::prefix("url"));
    client
        .set(&key, "from a url", StoreOptions::default())
        .await
        .unwrap();
    assert_eq!(
        &client.get(&key).await.unwrap().unwrap().value[..],
        b"from a url"
    );
    // A plain address still works, as before.
    let plain = Client::connect(&addr.to_string()).unwrap();
    assert!(plain.get(&key).await.unwrap().is_some());
}

#[cfg(unix)]
#[tokio::test]
async fn a_unix_socket_url_talks_to_memcached() {
    let server = common::UnixMemcached::start();
    let path = server.path.display().to_string();
    for url in [
        format!("memcache://{path}?timeout=2s"),
        format!("memcache+unix://{path}"),
    ] {
        let client = Client::connect(&url).unwrap();
        assert_eq!(client.server_labels(), vec![path.clone()], "{url}");
        common::wait_answering(&client).await;
        client
            .set("via-url", url.as_str(), StoreOptions::default())
            .await
            .unwrap();
        let item = client.get("via-url").await.unwrap().unwrap();
        assert_eq!(&item.value[..], url.as_bytes());
    }
}

#[tokio::test]
async fn several_servers_from_one_url() {
    let servers = common::start_servers(2);
    let list: Vec<String> = servers.iter().map(|s| s.addr().to_string()).collect();
    let url = format!(
        "memcache://{}?distribution=ketama_unweighted",
        list.join(",")
    );
    let client = Client::connect(&url).unwrap();
    assert_eq!(client.server_labels(), list);
    let keys: Vec<String> = (0..100).map(|i| format!("url-multi-{i}")).collect();
    let items: Vec<(String, String)> = keys.iter().map(|k| (k.clone(), k.clone())).collect();
    client
        .set_many(&items, StoreOptions::default())
        .await
        .unwrap();
    // Each key is on the server the client names, and only there.
    let direct: Vec<Client> = servers.iter().map(common::client_for).collect();
    let mut used = [0; 2];
    for k in &keys {
        let owner = client.server_for_key(k).unwrap();
        used[owner] += 1;
        for (i, d) in direct.iter().enumerate() {
            assert_eq!(d.get(k).await.unwrap().is_some(), i == owner);
        }
    }
    assert!(used.iter().all(|&n| n > 10), "{used:?}");
}

/// Without the `tls` feature a TLS URL is refused, not served in plaintext.
#[cfg(not(feature = "tls"))]
#[test]
fn tls_urls_need_the_tls_feature() {
    for url in ["memcaches://h", "memcache+tls://h:11211?ca_path=/ca.pem"] {
        assert!(matches!(refused(url), UrlError::Unsupported(_)), "{url}");
    }
}
