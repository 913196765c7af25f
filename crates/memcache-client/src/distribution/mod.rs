//! Key-to-server distribution: which server owns a key, and which live
//! server takes over when it is dead.

mod ketama;
mod murmur3;
mod one_at_a_time;
mod rendezvous;

pub use ketama::Ketama;
pub use murmur3::murmur3_32;
pub use one_at_a_time::one_at_a_time;
pub use rendezvous::Rendezvous;

use crate::config::{Distribution, ServerConfig};

/// A built distribution over a fixed server list (indexes into that list).
#[derive(Debug)]
pub enum Distributor {
    Ketama(Ketama),
    Rendezvous(Rendezvous),
}

impl Distributor {
    pub fn new(kind: Distribution, servers: &[ServerConfig]) -> Self {
        match kind {
            Distribution::Ketama => Distributor::Ketama(Ketama::new(
                servers
                    .iter()
                    .map(|s| (ketama_host(&s.addr), s.addr.port().unwrap_or(0), s.weight)),
            )),
            Distribution::KetamaUnweighted => Distributor::Ketama(Ketama::unweighted(
                servers
                    .iter()
                    .map(|s| (ketama_host(&s.addr), s.addr.port().unwrap_or(0))),
            )),
            Distribution::Rendezvous => {
                Distributor::Rendezvous(Rendezvous::new(servers.iter().map(|s| node_name(&s.addr))))
            }
        }
    }

    /// The first server for `key` that `is_live` accepts, in the
    /// distribution's preference order; `None` when none is live.
    pub fn pick(&self, key: &[u8], is_live: impl Fn(usize) -> bool) -> Option<usize> {
        match self {
            Distributor::Ketama(k) => k.pick(key, is_live),
            Distributor::Rendezvous(r) => r.pick(key, is_live),
        }
    }
}

/// The host part libmemcached hashes: the host name as configured, or the
/// socket path (whose port libmemcached takes as 0).
fn ketama_host(addr: &crate::ServerAddr) -> String {
    addr.host()
}

/// pymemcache's node name: `"%s:%s" % (host, port)`, IPv6 without brackets,
/// or the socket path.
fn node_name(addr: &crate::ServerAddr) -> String {
    match addr.port() {
        Some(port) => format!("{}:{}", addr.host(), port),
        None => addr.host(),
    }
}
