//! Rendezvous (highest random weight) hashing compatible with pymemcache's
//! `RendezvousHash`: each node scores `murmur3_32("<node>-<key>")`, the
//! highest score wins, ties go to the lexicographically larger node name.
//!
//! pymemcache hashes Python strings by code point, so compatibility holds
//! for ASCII keys and node names (the usual case); other bytes are hashed
//! as bytes.

use super::murmur3_32;

/// The node names keys are scored against.
#[derive(Debug)]
pub struct Rendezvous {
    nodes: Vec<String>,
}

impl Rendezvous {
    /// Hashing over `nodes`, the names keys are scored with.
    pub fn new(nodes: impl IntoIterator<Item = String>) -> Self {
        Rendezvous {
            nodes: nodes.into_iter().collect(),
        }
    }

    /// The live node with the highest score for `key`.
    pub fn pick(&self, key: &[u8], is_live: impl Fn(usize) -> bool) -> Option<usize> {
        let mut best: Option<(u32, usize)> = None;
        for (index, node) in self.nodes.iter().enumerate() {
            if !is_live(index) {
                continue;
            }
            let score = murmur3_32(&[node.as_bytes(), b"-", key], 0);
            let better = match best {
                None => true,
                Some((s, _)) if score > s => true,
                Some((s, b)) if score == s => node.as_str() > self.nodes[b].as_str(),
                Some(_) => false,
            };
            if better {
                best = Some((score, index));
            }
        }
        best.map(|(_, index)| index)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Vectors made by running pymemcache's own `RendezvousHash`
    /// (tests/data/gen_rendezvous.py).
    #[test]
    fn matches_pymemcache_vectors() {
        let data = include_str!("../../tests/data/rendezvous_pymemcache.tsv");
        let mut ring: Option<(Vec<String>, Rendezvous)> = None;
        let mut checked = 0;
        for line in data.lines().filter(|l| !l.starts_with('#')) {
            let (a, b) = line.split_once('\t').unwrap();
            if a == "nodes" {
                let nodes: Vec<String> = b.split(',').map(str::to_string).collect();
                ring = Some((nodes.clone(), Rendezvous::new(nodes)));
                continue;
            }
            let (nodes, r) = ring.as_ref().unwrap();
            let won = r.pick(a.as_bytes(), |_| true).unwrap();
            assert_eq!(nodes[won], b, "node for {a}");
            checked += 1;
        }
        assert_eq!(checked, 90);
    }

    #[test]
    fn dead_nodes_are_skipped() {
        let r = Rendezvous::new(["a:1".to_string(), "b:1".to_string()]);
        let owner = r.pick(b"k", |_| true).unwrap();
        assert_eq!(r.pick(b"k", |i| i != owner), Some(1 - owner));
        assert_eq!(r.pick(b"k", |_| false), None);
    }
}
