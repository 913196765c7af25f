//! Faults under load, with real memcached processes killed and restarted:
//! in-flight calls fail with a typed error within the timeout (never hang,
//! never return another key's value), the client recovers by itself, a dead
//! server among three is routed around (failover) or fails fast (no
//! failover) without disturbing the others, and a storm of cancelled and
//! timed-out calls leaves every key consistent.

mod common;

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use memcache_client::{Client, Distribution, Error, Failover, StoreOptions};
use memcached_harness::Memcached;

const OP_TIMEOUT: Duration = Duration::from_millis(500);
/// A call that takes longer than this hangs: connect + operation timeouts
/// plus generous scheduling slack on a loaded machine.
const HANG: Duration = Duration::from_secs(10);

/// The kinds a call may fail with when its server dies under it.
const SERVER_GONE: &[&str] = &[
    "io",
    "connection_closed",
    "timeout",
    "connect_timeout",
    "server_marked_dead",
    "no_server_available",
];

/// The value stored under `key` encodes the key, so a value handed back for
/// the wrong key is detected.
fn value_for(key: &str, version: u64) -> String {
    format!("{key}={version}")
}

fn value_belongs_to(key: &str, value: &[u8]) -> bool {
    value.starts_with(format!("{key}=").as_bytes())
}

/// Small deterministic PRNG (xorshift64*), so failures can be replayed.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

#[derive(Default)]
struct LoadReport {
    ok: AtomicUsize,
    failed: AtomicUsize,
    kinds: Mutex<HashSet<&'static str>>,
}

/// One worker: set/get its own keys until `stop`, checking every answer.
async fn worker(c: Client, id: usize, stop: Arc<AtomicBool>, report: Arc<LoadReport>) {
    let mut version = 0u64;
    while !stop.load(Ordering::Relaxed) {
        version += 1;
        let key = format!("load:{id}:{}", version % 16);
        let value = value_for(&key, version);
        let set = tokio::time::timeout(HANG, c.set(&key, &value, StoreOptions::default()));
        let get = async {
            match tokio::time::timeout(HANG, c.get(&key)).await {
                Ok(Ok(Some(item))) => {
                    assert!(
                        value_belongs_to(&key, &item.value),
                        "value of another key returned for {key}"
                    );
                    Ok(())
                }
                Ok(Ok(None)) => Ok(()),
                Ok(Err(e)) => Err(e),
                Err(_) => panic!("get hung"),
            }
        };
        let result = match set.await {
            Ok(Ok(_)) => get.await,
            Ok(Err(e)) => Err(e),
            Err(_) => panic!("set hung"),
        };
        match result {
            Ok(()) => report.ok.fetch_add(1, Ordering::Relaxed),
            Err(e) => {
                assert!(SERVER_GONE.contains(&e.kind()), "untyped failure: {e:?}");
                report.kinds.lock().unwrap().insert(e.kind());
                // Do not spin on a dead server.
                tokio::time::sleep(Duration::from_millis(5)).await;
                report.failed.fetch_add(1, Ordering::Relaxed)
            }
        };
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn server_killed_mid_load_fails_cleanly_and_recovers() {
    let mut server = common::start_server(&[]);
    let c = common::builder()
        .server_addr(server.addr())
        .operation_timeout(OP_TIMEOUT)
        .connect_timeout(OP_TIMEOUT)
        .dead_after_failures(3)
        .retry_dead_after(Duration::from_millis(100))
        .build()
        .unwrap();
    let stop = Arc::new(AtomicBool::new(false));
    let report = Arc::new(LoadReport::default());
    let workers: Vec<_> = (0..24)
        .map(|id| tokio::spawn(worker(c.clone(), id, stop.clone(), report.clone())))
        .collect();

    // Let the load run, then kill the server under it.
    wait_for(|| report.ok.load(Ordering::Relaxed) >= 500).await;
    server.kill();
    wait_for(|| report.failed.load(Ordering::Relaxed) >= 50).await;
    let ok_while_down = report.ok.load(Ordering::Relaxed);

    // Restart on the same port: the client must find it again by itself.
    server.restart().unwrap();
    wait_for(|| report.ok.load(Ordering::Relaxed) >= ok_while_down + 500).await;
    stop.store(true, Ordering::Relaxed);
    for w in workers {
        // A worker panics (failing the test) on a hang, a wrong value or an
        // untyped error.
        w.await.unwrap();
    }
    eprintln!(
        "ok {} failed {} kinds {:?}",
        report.ok.load(Ordering::Relaxed),
        report.failed.load(Ordering::Relaxed),
        report.kinds.lock().unwrap()
    );

    // After recovery every call works and every pooled connection is sane.
    for i in 0..200 {
        let key = format!("after:{i}");
        c.set(&key, value_for(&key, 1), StoreOptions::default())
            .await
            .unwrap();
        let item = c.get(&key).await.unwrap().unwrap();
        assert_eq!(item.value, value_for(&key, 1).into_bytes());
    }
}

/// Waits (bounded, 30 s) for a condition on the load's counters.
async fn wait_for(condition: impl Fn() -> bool) {
    for _ in 0..3000 {
        if condition() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("condition not reached within 30 s");
}

/// Long enough that the loops below finish within one interval, so the
/// dead server is probed only when the test expects it.
const RETRY_DEAD_AFTER: Duration = Duration::from_secs(3);

fn multi_client(servers: &[Memcached], failover: Failover) -> Client {
    let mut b = common::builder()
        .distribution(Distribution::Ketama)
        .failover(failover)
        .operation_timeout(OP_TIMEOUT)
        .connect_timeout(OP_TIMEOUT)
        .dead_after_failures(1)
        .retry_dead_after(RETRY_DEAD_AFTER);
    for s in servers {
        b = b.server_addr(s.addr());
    }
    b.build().unwrap()
}

/// `count` keys, grouped by the server they belong to while all are live.
fn keys_by_owner(c: &Client, prefix: &str, count: usize) -> HashMap<usize, Vec<String>> {
    let mut owners: HashMap<usize, Vec<String>> = HashMap::new();
    for i in 0..count {
        let key = format!("{prefix}{i}");
        owners
            .entry(c.server_for_key(&key).unwrap())
            .or_default()
            .push(key);
    }
    owners
}

async fn cmd_set(server: &Memcached) -> u64 {
    let stats = common::client_for(server).stats(None).await.unwrap();
    stats[0].1["cmd_set"].parse().unwrap()
}

/// Waits past the retry interval, then until `key`'s server answers again.
async fn wait_until_used_again(c: &Client, key: &str, owner: usize) {
    tokio::time::sleep(RETRY_DEAD_AFTER).await;
    for _ in 0..50 {
        if c.server_for_key(key).ok() == Some(owner)
            && c.set(key, value_for(key, 9), StoreOptions::default())
                .await
                .is_ok()
        {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("the returned server was not used again");
}

#[tokio::test]
async fn one_of_three_down_with_failover_every_call_succeeds() {
    let mut servers = common::start_servers(3);
    let c = multi_client(&servers, Failover::NextServer);
    let owners = keys_by_owner(&c, "fo3:", 300);
    assert_eq!(owners.len(), 3, "300 keys should span three servers");
    servers[1].kill();

    // Every call succeeds, even the one that discovers the death
    // (dead_after_failures is 1: its refused connection marks the server
    // dead and hands the call on); the dead server's keys move.
    for round in 0..3u64 {
        for keys in owners.values() {
            for key in keys {
                let value = value_for(key, round);
                c.set(key, &value, StoreOptions::default()).await.unwrap();
                let item = c.get(key).await.unwrap().unwrap();
                assert_eq!(item.value, value.into_bytes());
            }
        }
    }
    for key in &owners[&1] {
        // Right after a call for it the server is dead (still, or again if
        // the retry interval had passed and the call probed it).
        c.set(key, "moved", StoreOptions::default()).await.unwrap();
        assert_ne!(c.server_for_key(key).unwrap(), 1);
    }
    // Keys of the live servers never moved.
    for owner in [0, 2] {
        for key in &owners[&owner] {
            assert_eq!(c.server_for_key(key).unwrap(), owner);
        }
    }
    let multi: Vec<&String> = owners.values().flatten().collect();
    assert_eq!(c.get_many(&multi).await.unwrap().len(), 300);

    // It comes back: after the retry interval its keys go to it again.
    servers[1].restart().unwrap();
    let before = cmd_set(&servers[1]).await;
    wait_until_used_again(&c, &owners[&1][0], 1).await;
    for key in &owners[&1] {
        assert_eq!(c.server_for_key(key).unwrap(), 1);
        c.set(key, value_for(key, 10), StoreOptions::default())
            .await
            .unwrap();
    }
    assert!(cmd_set(&servers[1]).await >= before + owners[&1].len() as u64);
}

#[tokio::test]
async fn one_of_three_down_without_failover_fails_fast_and_spares_the_others() {
    let mut servers = common::start_servers(3);
    let c = multi_client(&servers, Failover::FailFast);
    let owners = keys_by_owner(&c, "ff3:", 300);
    assert_eq!(owners.len(), 3);
    servers[2].kill();

    // The first call to it discovers the death; the rest fail fast,
    // without touching the network.
    let first = c.get(&owners[&2][0]).await.unwrap_err();
    assert!(
        matches!(first.kind(), "io" | "connection_closed"),
        "{first}"
    );
    for key in &owners[&2] {
        let err = c.set(key, "x", StoreOptions::default()).await.unwrap_err();
        assert!(matches!(err, Error::ServerMarkedDead), "{err:?}");
        assert!(matches!(c.get(key).await, Err(Error::ServerMarkedDead)));
    }
    // A multi-key call touching it fails as a whole with the same error.
    let mixed = [&owners[&0][0], &owners[&2][0]];
    assert!(matches!(
        c.get_many(&mixed).await,
        Err(Error::ServerMarkedDead)
    ));
    // The other servers' keys are unaffected.
    for owner in [0, 1] {
        for key in &owners[&owner] {
            c.set(key, value_for(key, 1), StoreOptions::default())
                .await
                .unwrap();
            assert_eq!(
                c.get(key).await.unwrap().unwrap().value,
                value_for(key, 1).into_bytes()
            );
        }
    }

    servers[2].restart().unwrap();
    let before = cmd_set(&servers[2]).await;
    wait_until_used_again(&c, &owners[&2][0], 2).await;
    for key in &owners[&2] {
        c.set(key, value_for(key, 2), StoreOptions::default())
            .await
            .unwrap();
    }
    assert!(cmd_set(&servers[2]).await >= before + owners[&2].len() as u64);
}

const STORM_KEYS: u64 = 200;
const STORM_OPS: u64 = 4000;

/// What was attempted for each key: the final value must be one of these.
/// Values are recorded by fingerprint (version, length), not kept whole.
type Attempts = Arc<Mutex<HashMap<String, HashSet<(u64, usize)>>>>;

fn storm_key(i: u64) -> String {
    format!("storm:{i}")
}

/// A value of 10 bytes to 100 KiB that names its key and version, so a torn
/// or misplaced value is recognised.
fn storm_value(key: &str, version: u64, rng: &mut Rng) -> Vec<u8> {
    let mut v = value_for(key, version).into_bytes();
    let pad = match rng.below(4) {
        0 => 100 * 1024,
        1 => 4 * 1024,
        _ => 10,
    };
    v.push(b':');
    v.extend(std::iter::repeat_n(b'0' + (version % 10) as u8, pad));
    v
}

/// The (version, length) of a storm value.
fn fingerprint(value: &[u8]) -> (u64, usize) {
    let text = String::from_utf8_lossy(value);
    let version = text
        .split_once('=')
        .and_then(|(_, rest)| rest.split_once(':'))
        .and_then(|(v, _)| v.parse().ok())
        .expect("a storm value");
    (version, value.len())
}

fn check_storm_value(key: &str, value: &[u8]) {
    assert!(
        value_belongs_to(key, value),
        "value of another key for {key}"
    );
    let (_, pad) = value.split_at(value.iter().rposition(|&b| b == b':').unwrap() + 1);
    let first = pad[0];
    assert!(pad.iter().all(|&b| b == first), "torn value for {key}");
}

/// Operations dropped by their caller's timeout before they finished.
static STORM_CUT: AtomicUsize = AtomicUsize::new(0);

/// One random operation on random keys, possibly cut short by the caller.
async fn storm_op(c: Client, seed: u64, version: u64, attempts: Attempts) {
    let mut rng = Rng(seed);
    let op = rng.below(5);
    let key = storm_key(rng.below(STORM_KEYS));
    let cut = Duration::from_micros(rng.below(3000));
    let run_to_end = rng.below(3) == 0;
    let work = async {
        match op {
            0 | 1 => {
                let value = storm_value(&key, version, &mut rng);
                attempts
                    .lock()
                    .unwrap()
                    .entry(key.clone())
                    .or_default()
                    .insert(fingerprint(&value));
                let _ = c.set(&key, &value, StoreOptions::default()).await;
            }
            2 => {
                if let Ok(Some(item)) = c.get(&key).await {
                    check_storm_value(&key, &item.value);
                }
            }
            3 => {
                let keys: Vec<String> = (0..20).map(|_| storm_key(rng.below(STORM_KEYS))).collect();
                if let Ok(found) = c.get_many(&keys).await {
                    for (k, item) in found {
                        let k = String::from_utf8(k.to_vec()).unwrap();
                        assert!(keys.contains(&k), "a key nobody asked for");
                        check_storm_value(&k, &item.value);
                    }
                }
            }
            _ => {
                let items: Vec<(String, Vec<u8>)> = (0..5)
                    .map(|_| {
                        let k = storm_key(rng.below(STORM_KEYS));
                        let v = storm_value(&k, version, &mut rng);
                        (k, v)
                    })
                    .collect();
                {
                    let mut a = attempts.lock().unwrap();
                    for (k, v) in &items {
                        a.entry(k.clone()).or_default().insert(fingerprint(v));
                    }
                }
                let _ = c.set_many(&items, StoreOptions::default()).await;
            }
        }
    };
    // Some calls run to the end, the others are dropped at a random point.
    if run_to_end {
        work.await;
    } else if tokio::time::timeout(cut, work).await.is_err() {
        STORM_CUT.fetch_add(1, Ordering::Relaxed);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cancellation_storm_leaves_every_key_consistent() {
    let server = common::start_server(&["-m", "256"]);
    let patient = common::builder()
        .server_addr(server.addr())
        .operation_timeout(Duration::from_secs(10))
        .max_connections_per_server(8)
        .dead_after_failures(u32::MAX)
        .build()
        .unwrap();
    // A second client on the same server whose own timeout is tiny: its
    // calls time out inside the client rather than being dropped.
    let hasty = common::builder()
        .server_addr(server.addr())
        .operation_timeout(Duration::from_millis(1))
        .max_connections_per_server(8)
        .dead_after_failures(u32::MAX)
        .build()
        .unwrap();
    let attempts: Attempts = Arc::default();
    let mut rng = Rng(0x5eed_cafe_f00d_0001);
    for i in 0..STORM_KEYS {
        let key = storm_key(i);
        let value = storm_value(&key, 0, &mut rng);
        attempts
            .lock()
            .unwrap()
            .entry(key.clone())
            .or_default()
            .insert(fingerprint(&value));
        patient
            .set(&key, &value, StoreOptions::default())
            .await
            .unwrap();
    }

    let mut version = 1;
    let mut tasks = tokio::task::JoinSet::new();
    for batch in 0..STORM_OPS / 100 {
        for _ in 0..100 {
            let client = if rng.below(4) == 0 { &hasty } else { &patient };
            let op = storm_op(client.clone(), rng.next() | 1, version, attempts.clone());
            version += 1;
            // Some tasks are aborted outright, wherever they are.
            let handle = tasks.spawn(op);
            if rng.below(10) == 0 {
                handle.abort();
            }
        }
        while let Some(joined) = tasks.join_next().await {
            if let Err(e) = joined {
                assert!(e.is_cancelled(), "storm op panicked in batch {batch}: {e}");
            }
        }
    }

    let cut = STORM_CUT.load(Ordering::Relaxed);
    eprintln!("storm: {STORM_OPS} ops, {cut} dropped mid-flight by their caller");
    assert!(cut > 0, "no operation was cut short");

    // Consistency: every key holds one of the values written to it, whole.
    let keys: Vec<String> = (0..STORM_KEYS).map(storm_key).collect();
    let found = patient.get_many(&keys).await.unwrap();
    assert_eq!(found.len(), keys.len(), "keys lost");
    let attempts = attempts.lock().unwrap().clone();
    for key in &keys {
        let item = &found[key.as_bytes()];
        check_storm_value(key, &item.value);
        assert!(
            attempts[key].contains(&fingerprint(&item.value)),
            "{key} holds a value nobody wrote"
        );
        // Single gets agree with the multi-get (no connection out of step).
        let single = patient.get(key).await.unwrap().unwrap();
        assert_eq!(single.value, item.value);
    }
    for (i, key) in keys.iter().enumerate() {
        let v = value_for(key, 1_000_000 + i as u64);
        patient.set(key, &v, StoreOptions::default()).await.unwrap();
        assert_eq!(
            patient.get(key).await.unwrap().unwrap().value,
            v.into_bytes()
        );
    }
    assert!(patient.idle_connections()[0] <= 8);
}
