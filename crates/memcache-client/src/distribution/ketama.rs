//! libmemcached-compatible ketama, in libmemcached's two flavours.
//!
//! Weighted ([`Ketama::new`]) follows libmemcached's `update_continuum` with
//! `MEMCACHED_BEHAVIOR_KETAMA_WEIGHTED`: each server gets
//! `floor(weight/total * 40 * servers) * 4` points (160 at equal weights),
//! four per MD5 digest of the point name `"host-N"` (`"host:port-N"` when
//! the port is not 11211); a key's MD5 (first four bytes, little endian)
//! goes to the first point at or after it, wrapping around. The point
//! count is computed in `f32` exactly as libmemcached does, so weighted
//! lists round the same way.
//!
//! Unweighted ([`Ketama::unweighted`]) follows `MEMCACHED_BEHAVIOR_KETAMA`
//! alone (pylibmc's `{"ketama": True}`), which leaves libmemcached's key
//! hash at its default, one-at-a-time: each server gets 100 points, one per
//! name `"host-N"` (`"host:port-N"`), hashed with one-at-a-time as the keys
//! are; weights are ignored. (libmemcached's documentation says this
//! behaviour switches to MD5; libmemcached 1.1.4 does not, and the vectors
//! in `tests/vectors/` were made by libmemcached itself.)

use super::one_at_a_time;
use crate::config::DEFAULT_PORT;

/// Points per server at equal weights (40 digests x 4 points).
const POINTS_PER_SERVER: u32 = 160;
const POINTS_PER_HASH: u32 = 4;
/// Points per server of unweighted ketama (`MEMCACHED_POINTS_PER_SERVER`).
const UNWEIGHTED_POINTS_PER_SERVER: u32 = 100;

/// The continuum: points sorted by (hash, server index), and the hash that
/// places keys on it.
#[derive(Debug)]
pub struct Ketama {
    points: Vec<(u32, u32)>,
    key_hash: fn(&[u8]) -> u32,
}

/// The name libmemcached hashes for point `n` of a server.
fn point_name(host: &str, port: u16, n: u32) -> String {
    if port == DEFAULT_PORT {
        format!("{host}-{n}")
    } else {
        format!("{host}:{port}-{n}")
    }
}

impl Ketama {
    /// Builds the weighted continuum (libmemcached
    /// `MEMCACHED_BEHAVIOR_KETAMA_WEIGHTED`, pylibmc
    /// `{"ketama_weighted": True}`) from `(host, port, weight)` in server
    /// order. Keys are placed by their MD5 ([`Ketama::hash`]).
    pub fn new(servers: impl IntoIterator<Item = (String, u16, u32)>) -> Self {
        let servers: Vec<_> = servers.into_iter().collect();
        let live = servers.len() as f32;
        let total: u64 = servers.iter().map(|s| u64::from(s.2)).sum();
        let mut points = Vec::with_capacity(servers.len() * POINTS_PER_SERVER as usize);
        for (index, (host, port, weight)) in servers.iter().enumerate() {
            let pct = *weight as f32 / total as f32;
            let digests =
                (pct * POINTS_PER_SERVER as f32 / 4.0 * live + 0.000_000_000_1_f32).floor() as u32;
            for n in 0..digests {
                let digest = md5::compute(point_name(host, *port, n).as_bytes());
                for chunk in digest.chunks_exact(4).take(POINTS_PER_HASH as usize) {
                    let value = u32::from_le_bytes([chunk[0], chunk[1], chunk[2], chunk[3]]);
                    points.push((value, index as u32));
                }
            }
        }
        points.sort_unstable();
        Ketama {
            points,
            key_hash: Self::hash,
        }
    }

    /// Builds the unweighted continuum (libmemcached
    /// `MEMCACHED_BEHAVIOR_KETAMA`, pylibmc `{"ketama": True}`) from
    /// `(host, port)` in server order: 100 points per server, keys and
    /// points hashed with libmemcached's default one-at-a-time hash.
    pub fn unweighted(servers: impl IntoIterator<Item = (String, u16)>) -> Self {
        let mut points = Vec::new();
        for (index, (host, port)) in servers.into_iter().enumerate() {
            for n in 0..UNWEIGHTED_POINTS_PER_SERVER {
                let value = one_at_a_time(point_name(&host, port, n).as_bytes());
                points.push((value, index as u32));
            }
        }
        points.sort_unstable();
        Ketama {
            points,
            key_hash: one_at_a_time,
        }
    }

    /// Where `key` falls on this continuum: its MD5 for the weighted one,
    /// its one-at-a-time hash for the unweighted one.
    pub fn key_hash(&self, key: &[u8]) -> u32 {
        (self.key_hash)(key)
    }

    /// libmemcached's key hash for weighted ketama: MD5, first four bytes
    /// little endian.
    pub fn hash(key: &[u8]) -> u32 {
        let digest = md5::compute(key);
        u32::from_le_bytes([digest[0], digest[1], digest[2], digest[3]])
    }

    /// The continuum position a hash maps to (first point >= hash, wrapping).
    fn position(&self, hash: u32) -> usize {
        let at = self.points.partition_point(|p| p.0 < hash);
        if at == self.points.len() {
            0
        } else {
            at
        }
    }

    /// The owner of `key`, or when `is_live` refuses it the next live
    /// server along the continuum.
    pub fn pick(&self, key: &[u8], is_live: impl Fn(usize) -> bool) -> Option<usize> {
        if self.points.is_empty() {
            return None;
        }
        let start = self.position(self.key_hash(key));
        let n = self.points.len();
        (0..n)
            .map(|i| self.points[(start + i) % n].1 as usize)
            .find(|&server| is_live(server))
    }

    /// The continuum point value a key hash selects (for compatibility tests).
    pub fn point_for_hash(&self, hash: u32) -> Option<u32> {
        self.points.get(self.position(hash)).map(|p| p.0)
    }

    /// Number of points on the continuum.
    pub fn len(&self) -> usize {
        self.points.len()
    }

    /// Whether the continuum has no points (no servers).
    pub fn is_empty(&self) -> bool {
        self.points.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const WEIGHTED: [(&str, u32); 8] = [
        ("10.0.1.1", 600),
        ("10.0.1.2", 300),
        ("10.0.1.3", 200),
        ("10.0.1.4", 350),
        ("10.0.1.5", 1000),
        ("10.0.1.6", 800),
        ("10.0.1.7", 950),
        ("10.0.1.8", 100),
    ];

    fn libmemcached_list() -> Ketama {
        Ketama::new(
            WEIGHTED
                .iter()
                .map(|(h, w)| (h.to_string(), DEFAULT_PORT, *w)),
        )
    }

    /// libmemcached's ketama test vectors (a subset of its
    /// tests/ketama_test_cases.h): key, key hash, chosen point, server.
    #[test]
    fn matches_libmemcached_vectors() {
        let ring = libmemcached_list();
        let data = include_str!("../../tests/data/ketama_libmemcached.tsv");
        let mut checked = 0;
        for line in data.lines().filter(|l| !l.starts_with('#')) {
            let f: Vec<&str> = line.split('\t').collect();
            let (key, hash, point, host) = (f[0], f[1], f[2], f[3]);
            assert_eq!(
                Ketama::hash(key.as_bytes()).to_string(),
                hash,
                "hash of {key}"
            );
            assert_eq!(
                ring.point_for_hash(Ketama::hash(key.as_bytes()))
                    .map(|p| p.to_string())
                    .as_deref(),
                Some(point),
                "point of {key}"
            );
            let server = ring.pick(key.as_bytes(), |_| true).unwrap();
            assert_eq!(WEIGHTED[server].0, host, "server of {key}");
            checked += 1;
        }
        assert_eq!(checked, 35);
    }

    /// libmemcached: "VDEAAAAA hashes to fffcd1b5, after the last continuum
    /// point", so it wraps to the first point.
    #[test]
    fn wraps_past_the_last_point() {
        let ring = libmemcached_list();
        assert_eq!(Ketama::hash(b"VDEAAAAA"), 0xfffc_d1b5);
        assert_eq!(ring.point_for_hash(0xfffc_d1b5), Some(ring.points[0].0));
    }

    #[test]
    fn equal_weights_give_160_points_each() {
        let ring = Ketama::new((0..3).map(|i| (format!("10.0.0.{i}"), 11311, 1)));
        assert_eq!(ring.len(), 480);
        for server in 0..3 {
            assert_eq!(ring.points.iter().filter(|p| p.1 == server).count(), 160);
        }
    }

    #[test]
    fn dead_servers_are_skipped() {
        let ring = Ketama::new((0..3).map(|i| (format!("10.0.0.{i}"), 11211, 1)));
        for i in 0..200 {
            let key = format!("key-{i}");
            let owner = ring.pick(key.as_bytes(), |_| true).unwrap();
            let next = ring.pick(key.as_bytes(), |s| s != owner).unwrap();
            assert_ne!(next, owner);
        }
        assert_eq!(ring.pick(b"k", |_| false), None);
    }
}
