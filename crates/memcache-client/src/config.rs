//! Client configuration: the servers, how keys are spread over them, and
//! the timeouts, pool size and failure handling.

use std::fmt;
use std::path::PathBuf;
use std::str::FromStr;
use std::time::Duration;

use memcache_codec::Limits;

use crate::Error;

/// memcached's default TCP port.
pub const DEFAULT_PORT: u16 = 11211;

/// Where a server listens.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum ServerAddr {
    /// A host name or IP literal and a port. IPv6 literals are kept without
    /// brackets (`::1`).
    Tcp {
        /// Host name or IP literal.
        host: String,
        /// TCP port.
        port: u16,
    },
    /// A Unix domain socket path.
    Unix(PathBuf),
}

impl ServerAddr {
    /// A TCP server.
    pub fn tcp(host: impl Into<String>, port: u16) -> Self {
        ServerAddr::Tcp {
            host: host.into(),
            port,
        }
    }

    /// A Unix socket server.
    pub fn unix(path: impl Into<PathBuf>) -> Self {
        ServerAddr::Unix(path.into())
    }

    /// The host (or socket path) as written in `server.address`.
    pub fn host(&self) -> String {
        match self {
            ServerAddr::Tcp { host, .. } => host.clone(),
            ServerAddr::Unix(path) => path.display().to_string(),
        }
    }

    /// The TCP port, `None` for a Unix socket.
    pub fn port(&self) -> Option<u16> {
        match self {
            ServerAddr::Tcp { port, .. } => Some(*port),
            ServerAddr::Unix(_) => None,
        }
    }
}

impl From<std::net::SocketAddr> for ServerAddr {
    fn from(addr: std::net::SocketAddr) -> Self {
        ServerAddr::tcp(addr.ip().to_string(), addr.port())
    }
}

/// `host:port` (`[v6]:port` for IPv6 literals) or the socket path; this is
/// also the node name rendezvous hashing uses, as pymemcache's `HashClient`
/// does (`"%s:%s" % (host, port)`, IPv6 without brackets).
impl fmt::Display for ServerAddr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ServerAddr::Tcp { host, port } if host.contains(':') => write!(f, "[{host}]:{port}"),
            ServerAddr::Tcp { host, port } => write!(f, "{host}:{port}"),
            ServerAddr::Unix(path) => write!(f, "{}", path.display()),
        }
    }
}

/// Parses `host:port`, `host` (port 11211), `[v6]:port`, `[v6]`, a path
/// starting with `/`, or `unix:<path>`.
impl FromStr for ServerAddr {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self, Error> {
        let bad = || Error::Config(format!("cannot parse server address {s:?}"));
        if let Some(path) = s.strip_prefix("unix:") {
            return Ok(ServerAddr::unix(path));
        }
        if s.starts_with('/') {
            return Ok(ServerAddr::unix(s));
        }
        if let Some(rest) = s.strip_prefix('[') {
            let (host, after) = rest.split_once(']').ok_or_else(bad)?;
            let port = match after {
                "" => DEFAULT_PORT,
                _ => after
                    .strip_prefix(':')
                    .and_then(|p| p.parse().ok())
                    .ok_or_else(bad)?,
            };
            return Ok(ServerAddr::tcp(host, port));
        }
        match s.rsplit_once(':') {
            None if !s.is_empty() => Ok(ServerAddr::tcp(s, DEFAULT_PORT)),
            Some((host, port)) if !host.is_empty() && !host.contains(':') => {
                Ok(ServerAddr::tcp(host, port.parse().map_err(|_| bad())?))
            }
            // A bare IPv6 literal such as `::1`.
            Some(_) if s.parse::<std::net::Ipv6Addr>().is_ok() => {
                Ok(ServerAddr::tcp(s, DEFAULT_PORT))
            }
            _ => Err(bad()),
        }
    }
}

/// A server and its weight (its share of keys under ketama).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ServerConfig {
    /// Where it listens.
    pub addr: ServerAddr,
    /// Its relative share of keys (1 by default).
    pub weight: u32,
}

impl From<ServerAddr> for ServerConfig {
    fn from(addr: ServerAddr) -> Self {
        ServerConfig { addr, weight: 1 }
    }
}

/// How keys are assigned to servers.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Distribution {
    /// libmemcached's weighted ketama continuum (MD5, 160 points per server
    /// at equal weights): the same key lands on the same server as with
    /// libmemcached on the same server list and
    /// `MEMCACHED_BEHAVIOR_KETAMA_WEIGHTED` (pylibmc
    /// `{"ketama_weighted": True}`).
    #[default]
    Ketama,
    /// libmemcached's `MEMCACHED_BEHAVIOR_KETAMA` (pylibmc
    /// `{"ketama": True}`): 100 points per server, keys and points hashed
    /// with libmemcached's default one-at-a-time hash, weights ignored.
    /// Choose it to share a cache with (or migrate from) such clients.
    KetamaUnweighted,
    /// Highest-random-weight hashing as pymemcache's `HashClient`
    /// (murmur3_32 of `"<host:port>-<key>"`).
    Rendezvous,
}

/// What happens to keys of a server that is marked dead.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Failover {
    /// Calls for its keys fail at once with [`Error::ServerMarkedDead`].
    #[default]
    FailFast,
    /// Its keys go to the next live server of the distribution.
    NextServer,
}

/// How calls share a server's connections.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum ConnectionMode {
    /// A pool: each call takes a connection to itself for its exchange and
    /// gives it back afterwards (when in step). Callers beyond
    /// `max_connections_per_server` wait up to `pool_wait_timeout`. The
    /// least work per call for a lone caller.
    #[default]
    Exclusive,
    /// Each of up to `max_connections_per_server` connections carries many
    /// calls at once: concurrent callers' requests are written together
    /// and the replies matched to them in order, so under load the client
    /// and the server make several times fewer system calls. No caller
    /// waits for a free connection (`pool_wait_timeout` is unused); a
    /// cancelled call leaves its reply to be read and dropped. The oldest
    /// request passing the operation timeout, an `ERROR`/`CLIENT_ERROR`
    /// line or a malformed reply ends the connection for every call on it
    /// ([`crate::Error::Aborted`] for those behind an error; a
    /// `SERVER_ERROR` answering a one-line command ends only that call).
    Multiplexed,
}

/// Everything a [`crate::Client`] is built from. `Default` has no servers.
#[derive(Clone, Debug)]
pub struct ClientConfig {
    /// The servers, in the order given.
    pub servers: Vec<ServerConfig>,
    /// How keys are assigned to servers.
    pub distribution: Distribution,
    /// What happens to the keys of a server marked dead.
    pub failover: Failover,
    /// Longest wait for a TCP or Unix connect.
    pub connect_timeout: Duration,
    /// Longest time one request/response exchange may take.
    pub operation_timeout: Duration,
    /// Most connections open to one server at once.
    pub max_connections_per_server: usize,
    /// Whether a connection serves one call at a time or many.
    pub connection_mode: ConnectionMode,
    /// Longest wait for a free pooled connection; zero means do not wait.
    pub pool_wait_timeout: Duration,
    /// Consecutive failures (IO errors, timeouts) after which a server is
    /// marked dead.
    pub dead_after_failures: u32,
    /// How long a dead server is left alone before it is tried again.
    pub retry_dead_after: Duration,
    /// Record keys in spans (`memcached.key`). Off by default: keys can be
    /// personal data. Values are never recorded.
    pub record_keys: bool,
    /// The service name spans give memcached as `peer.service` (what the
    /// OpenTelemetry-to-Zipkin mapping makes the remote endpoint's service,
    /// and what Jaeger and Zipkin draw dependency edges to).
    pub peer_service: String,
    /// Value and line size limits for requests and responses.
    pub limits: Limits,
    /// Names this client in metrics: its pools are then called
    /// `<name>/<address>:<port>` (`db.client.connection.pool.name`) instead
    /// of `<address>:<port>`. The conventions ask for pool names unique
    /// within an application; give each client a name when one process has
    /// several reaching the same server, or their observed connection counts
    /// share one series.
    pub client_name: Option<String>,
    /// TLS for every TCP connection (feature `tls`); `None` is plaintext.
    #[cfg(feature = "tls")]
    pub tls: Option<crate::TlsConfig>,
    /// memcached ASCII authentication (`-Y`), done on each new connection
    /// before it enters the pool.
    pub credentials: Option<crate::Credentials>,
}

impl Default for ClientConfig {
    fn default() -> Self {
        ClientConfig {
            servers: Vec::new(),
            distribution: Distribution::default(),
            failover: Failover::default(),
            connect_timeout: Duration::from_secs(1),
            operation_timeout: Duration::from_secs(1),
            max_connections_per_server: 16,
            connection_mode: ConnectionMode::Exclusive,
            pool_wait_timeout: Duration::from_secs(1),
            dead_after_failures: 3,
            retry_dead_after: Duration::from_secs(2),
            record_keys: false,
            client_name: None,
            peer_service: "memcached".to_owned(),
            limits: Limits::default(),
            #[cfg(feature = "tls")]
            tls: None,
            credentials: None,
        }
    }
}

impl ClientConfig {
    /// Checks the settings a client cannot work with.
    pub(crate) fn validate(&self) -> Result<(), Error> {
        if self.servers.is_empty() {
            return Err(Error::Config("no servers configured".into()));
        }
        if self.servers.iter().any(|s| s.weight == 0) {
            return Err(Error::Config("server weight must be at least 1".into()));
        }
        if self.max_connections_per_server == 0 {
            return Err(Error::Config(
                "max_connections_per_server must be at least 1".into(),
            ));
        }
        #[cfg(not(unix))]
        if self
            .servers
            .iter()
            .any(|s| matches!(s.addr, ServerAddr::Unix(_)))
        {
            return Err(unix_unsupported());
        }
        #[cfg(feature = "tls")]
        if self.tls.is_some()
            && self
                .servers
                .iter()
                .any(|s| matches!(s.addr, ServerAddr::Unix(_)))
        {
            return Err(Error::Config("TLS is for TCP servers only".into()));
        }
        Ok(())
    }
}

/// A Unix socket server configured on a platform without Unix sockets.
#[cfg(not(unix))]
pub(crate) fn unix_unsupported() -> Error {
    Error::Config("Unix socket servers need a Unix platform".into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_address_forms() {
        let p = |s: &str| s.parse::<ServerAddr>().unwrap();
        assert_eq!(p("127.0.0.1:11212"), ServerAddr::tcp("127.0.0.1", 11212));
        assert_eq!(p("cache-a"), ServerAddr::tcp("cache-a", 11211));
        assert_eq!(p("[::1]:11300"), ServerAddr::tcp("::1", 11300));
        assert_eq!(p("[::1]"), ServerAddr::tcp("::1", 11211));
        assert_eq!(p("::1"), ServerAddr::tcp("::1", 11211));
        assert_eq!(p("/tmp/mc.sock"), ServerAddr::unix("/tmp/mc.sock"));
        assert_eq!(p("unix:rel.sock"), ServerAddr::unix("rel.sock"));
        assert!("host:notaport".parse::<ServerAddr>().is_err());
        assert!("".parse::<ServerAddr>().is_err());
        assert!("[::1".parse::<ServerAddr>().is_err());
    }

    #[test]
    fn displays_as_host_port() {
        assert_eq!(ServerAddr::tcp("::1", 1).to_string(), "[::1]:1");
        assert_eq!(ServerAddr::tcp("a", 2).to_string(), "a:2");
    }

    #[cfg(not(unix))]
    #[test]
    fn a_unix_socket_server_is_a_config_error_off_unix() {
        let c = ClientConfig {
            servers: vec![ServerAddr::unix("/x.sock").into()],
            ..ClientConfig::default()
        };
        assert!(matches!(c.validate(), Err(Error::Config(_))));
    }

    #[test]
    fn refuses_unusable_configs() {
        assert!(ClientConfig::default().validate().is_err());
        let mut c = ClientConfig {
            servers: vec![ServerAddr::tcp("a", 1).into()],
            ..ClientConfig::default()
        };
        assert!(c.validate().is_ok());
        c.servers[0].weight = 0;
        assert!(c.validate().is_err());
    }
}
