//! A client over several real servers: keys land where the distribution
//! says, multi-key calls span servers, and dead servers are handled as
//! configured (fail fast or fail over).

mod common;

use std::time::Duration;

use memcache_client::{Client, Distribution, Error, Failover, Ketama, Rendezvous, StoreOptions};
use memcached_harness::Memcached;

fn client(servers: &[Memcached], distribution: Distribution, failover: Failover) -> Client {
    let mut b = common::builder()
        .distribution(distribution)
        .failover(failover)
        .operation_timeout(Duration::from_secs(2))
        .dead_after_failures(1)
        .retry_dead_after(Duration::from_millis(300));
    for s in servers {
        b = b.server_addr(s.addr());
    }
    b.build().unwrap()
}

/// Keys are stored on the server the distribution names, which is also the
/// one an independent computation of the same algorithm names.
async fn check_placement(distribution: Distribution) {
    let servers = common::start_servers(3);
    let c = client(&servers, distribution, Failover::FailFast);
    let names: Vec<String> = servers
        .iter()
        .map(|s| format!("127.0.0.1:{}", s.addr().port()))
        .collect();
    let ketama = Ketama::new(
        servers
            .iter()
            .map(|s| ("127.0.0.1".to_string(), s.addr().port(), 1)),
    );
    let unweighted = Ketama::unweighted(
        servers
            .iter()
            .map(|s| ("127.0.0.1".to_string(), s.addr().port())),
    );
    let rendezvous = Rendezvous::new(names.clone());
    let keys: Vec<String> = (0..300).map(|i| format!("placement-{i}")).collect();
    let items: Vec<(String, String)> = keys.iter().map(|k| (k.clone(), format!("v-{k}"))).collect();
    c.set_many(&items, StoreOptions::default()).await.unwrap();
    let direct: Vec<Client> = servers.iter().map(common::client_for).collect();
    let mut per_server = [0usize; 3];
    for k in &keys {
        let owner = c.server_for_key(k).unwrap();
        let expected = match distribution {
            Distribution::Ketama => ketama.pick(k.as_bytes(), |_| true),
            Distribution::KetamaUnweighted => unweighted.pick(k.as_bytes(), |_| true),
            Distribution::Rendezvous => rendezvous.pick(k.as_bytes(), |_| true),
        };
        assert_eq!(Some(owner), expected);
        per_server[owner] += 1;
        for (i, d) in direct.iter().enumerate() {
            assert_eq!(
                d.get(k).await.unwrap().is_some(),
                i == owner,
                "{k} on server {i}"
            );
        }
    }
    assert!(
        per_server.iter().all(|&n| n > 30),
        "uneven spread {per_server:?}"
    );
    // A multi-get across all servers sees everything.
    let found = c.get_many(&keys).await.unwrap();
    assert_eq!(found.len(), keys.len());
    for k in &keys {
        assert_eq!(found[k.as_bytes()].value, format!("v-{k}").into_bytes());
    }
    let deleted = c.delete_many(&keys[..100]).await.unwrap();
    assert!(deleted
        .iter()
        .all(|d| *d == memcache_client::DeleteOutcome::Deleted));
    assert_eq!(c.get_many(&keys).await.unwrap().len(), 200);
    // Server-wide commands answer per server.
    assert_eq!(c.version().await.unwrap().len(), 3);
    c.flush_all(None).await.unwrap();
    assert!(c.get_many(&keys).await.unwrap().is_empty());
}

#[tokio::test]
async fn ketama_places_keys_and_spans_servers() {
    check_placement(Distribution::Ketama).await;
}

#[tokio::test]
async fn unweighted_ketama_places_keys_and_spans_servers() {
    check_placement(Distribution::KetamaUnweighted).await;
}

#[tokio::test]
async fn rendezvous_places_keys_and_spans_servers() {
    check_placement(Distribution::Rendezvous).await;
}

/// A key whose owner is server `owner` under the client's distribution.
fn key_on(c: &Client, owner: usize) -> String {
    (0..10_000)
        .map(|i| format!("owned-{i}"))
        .find(|k| c.server_for_key(k).unwrap() == owner)
        .unwrap()
}

#[tokio::test]
async fn dead_server_fails_fast_then_comes_back() {
    let mut servers = common::start_servers(2);
    let c = client(&servers, Distribution::Ketama, Failover::FailFast);
    let on_dead = key_on(&c, 1);
    let on_live = key_on(&c, 0);
    servers[1].kill();
    // The first failure marks it dead (dead_after_failures = 1) ...
    assert!(c.get(&on_dead).await.unwrap_err().kind() != "server_marked_dead");
    // ... then its keys fail fast, while the other server's keys work.
    assert!(matches!(
        c.get(&on_dead).await,
        Err(Error::ServerMarkedDead)
    ));
    c.set(&on_live, "v", StoreOptions::default()).await.unwrap();
    servers[1].restart().unwrap();
    // After the retry interval the server is tried again and revives.
    tokio::time::sleep(Duration::from_millis(400)).await;
    let mut back = false;
    for _ in 0..20 {
        if c.set(&on_dead, "v", StoreOptions::default()).await.is_ok() {
            back = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(back, "dead server was not retried");
    assert_eq!(c.server_for_key(&on_dead).unwrap(), 1);
}

#[tokio::test]
async fn dead_server_keys_fail_over_to_the_next_server() {
    let mut servers = common::start_servers(3);
    let c = client(&servers, Distribution::Rendezvous, Failover::NextServer);
    let on_dead = key_on(&c, 2);
    servers[2].kill();
    // The refused connection marks it dead and the call moves on to a live
    // server: even the call that discovers the outage succeeds.
    c.set(&on_dead, "v", StoreOptions::default()).await.unwrap();
    // Now marked dead: the key moves to a live server and works there.
    let moved_to = c.server_for_key(&on_dead).unwrap();
    assert_ne!(moved_to, 2);
    c.set(&on_dead, "moved", StoreOptions::default())
        .await
        .unwrap();
    assert_eq!(&c.get(&on_dead).await.unwrap().unwrap().value[..], b"moved");
    assert!(common::client_for(&servers[moved_to])
        .get(&on_dead)
        .await
        .unwrap()
        .is_some());
    // Multi-key calls route around it too.
    let keys: Vec<String> = (0..50).map(|i| format!("fo-{i}")).collect();
    let items: Vec<(String, &str)> = keys.iter().map(|k| (k.clone(), "x")).collect();
    c.set_many(&items, StoreOptions::default()).await.unwrap();
    assert_eq!(c.get_many(&keys).await.unwrap().len(), 50);
}

#[tokio::test]
async fn all_servers_dead_is_no_server_available() {
    let mut servers = common::start_servers(2);
    let c = client(&servers, Distribution::Ketama, Failover::NextServer);
    for s in &mut servers {
        s.kill();
    }
    for _ in 0..4 {
        let _ = c.get("k").await;
    }
    assert!(matches!(c.get("k").await, Err(Error::NoServerAvailable)));
}

/// A multi-key get whose keys span servers and include one invalid key
/// fails with `InvalidKey` before any server sees a `get`, whichever
/// server the valid keys go to.
#[tokio::test]
async fn invalid_key_in_multi_server_get_many_reaches_no_server() {
    let servers = common::start_servers(3);
    let c = client(&servers, Distribution::Ketama, Failover::FailFast);
    let mut keys: Vec<String> = (0..60).map(|i| format!("split-invalid-{i}")).collect();
    keys.push("has space".to_string());
    assert!(matches!(c.get_many(&keys).await, Err(Error::InvalidKey(_))));
    for (server, stats) in c.stats(None).await.unwrap() {
        assert_eq!(
            stats.get("cmd_get").map(String::as_str),
            Some("0"),
            "{server}"
        );
    }
}
