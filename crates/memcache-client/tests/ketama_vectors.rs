//! Key placement against vectors made by libmemcached itself
//! (`tests/vectors/gen_ketama.c`): both ketama modes, five server lists
//! (two to eight servers, default and other ports, weights, an IPv6
//! literal, Unix sockets), 400 keys each, some with bytes 0x80..0xff.
//! Building a client does no IO, so no server is needed.

use std::collections::BTreeMap;

use memcache_client::{Client, ClientConfig, Distribution, Ketama, ServerAddr, ServerConfig};

const VECTORS: &str = include_str!("vectors/ketama_vectors.tsv");

struct Server {
    host: String,
    port: u16,
    weight: u32,
}

struct Placement {
    list: usize,
    mode: String,
    key: Vec<u8>,
    index: usize,
}

fn hex(s: &str) -> Vec<u8> {
    assert_eq!(s.len() & 1, 0, "odd hex {s}");
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).expect("hex key"))
        .collect()
}

fn vectors() -> (BTreeMap<usize, Vec<Server>>, Vec<Placement>) {
    let mut lists: BTreeMap<usize, Vec<Server>> = BTreeMap::new();
    let mut placements = Vec::new();
    for line in VECTORS.lines().filter(|l| !l.starts_with('#')) {
        let f: Vec<&str> = line.split('\t').collect();
        match f[0] {
            "server" => lists
                .entry(f[1].parse().unwrap())
                .or_default()
                .push(Server {
                    host: f[2].to_string(),
                    port: f[3].parse().unwrap(),
                    weight: f[4].parse().unwrap(),
                }),
            "key" => placements.push(Placement {
                list: f[1].parse().unwrap(),
                mode: f[2].to_string(),
                key: hex(f[3]),
                index: f[4].parse().unwrap(),
            }),
            other => panic!("unknown vector line kind {other}"),
        }
    }
    (lists, placements)
}

fn addr(server: &Server) -> ServerAddr {
    if server.host.starts_with('/') {
        ServerAddr::unix(&server.host)
    } else {
        ServerAddr::tcp(&server.host, server.port)
    }
}

/// A client over the list (no connection is made) with the distribution.
fn client(servers: &[Server], distribution: Distribution) -> Client {
    Client::new(ClientConfig {
        servers: servers
            .iter()
            .map(|s| ServerConfig {
                addr: addr(s),
                weight: s.weight,
            })
            .collect(),
        distribution,
        ..ClientConfig::default()
    })
    .unwrap()
}

fn check_mode(mode: &str, distribution: Distribution) {
    let (lists, placements) = vectors();
    let clients: BTreeMap<usize, Client> = lists
        .iter()
        .map(|(&id, servers)| (id, client(servers, distribution)))
        .collect();
    let mut checked = 0;
    for p in placements.iter().filter(|p| p.mode == mode) {
        let owner = clients[&p.list].server_for_key(&p.key).unwrap();
        assert_eq!(owner, p.index, "{mode}: list {} key {:02x?}", p.list, p.key);
        checked += 1;
    }
    assert_eq!(checked, 5 * 400, "every {mode} vector checked");
}

#[test]
fn unweighted_ketama_matches_libmemcached_behavior_ketama() {
    check_mode("ketama", Distribution::KetamaUnweighted);
}

#[test]
fn weighted_ketama_matches_libmemcached_behavior_ketama_weighted() {
    check_mode("ketama_weighted", Distribution::Ketama);
}

/// The public continuum type agrees with the client's routing.
#[test]
fn ketama_type_places_as_the_vectors_say() {
    let (lists, placements) = vectors();
    let rings: BTreeMap<(usize, &str), Ketama> = lists
        .iter()
        .flat_map(|(&id, servers)| {
            let unweighted = Ketama::unweighted(
                servers
                    .iter()
                    .map(|s| (addr(s).host(), addr(s).port().unwrap_or(0))),
            );
            let weighted = Ketama::new(
                servers
                    .iter()
                    .map(|s| (addr(s).host(), addr(s).port().unwrap_or(0), s.weight)),
            );
            [
                ((id, "ketama"), unweighted),
                ((id, "ketama_weighted"), weighted),
            ]
        })
        .collect();
    for p in &placements {
        let ring = &rings[&(p.list, p.mode.as_str())];
        assert_eq!(ring.pick(&p.key, |_| true), Some(p.index));
    }
    assert_eq!(placements.len(), 2 * 5 * 400);
}

/// The two modes really differ: about one key in N stays put between
/// them, which is why a pylibmc `{"ketama": True}` user needs the
/// unweighted one.
#[test]
fn the_modes_place_most_keys_differently() {
    let (_, placements) = vectors();
    let pairs: Vec<_> = placements.chunks(2).collect();
    assert!(pairs
        .iter()
        .all(|p| p[0].key == p[1].key && p[0].mode != p[1].mode));
    let same = pairs.iter().filter(|p| p[0].index == p[1].index).count();
    assert!(same < pairs.len() * 2 / 3, "{same} of {}", pairs.len());
}
