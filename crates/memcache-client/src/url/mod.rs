//! Configuration from a URL, as users of the `memcache` crate and of most
//! database clients write it:
//!
//! ```text
//! memcache://cache-a:11211,cache-b:11212?timeout=250ms&distribution=rendezvous
//! memcache:///run/memcached.sock            (a Unix socket: no host, the path)
//! memcache+unix:///run/memcached.sock       (the same, as the memcache crate writes it)
//! memcaches://app:secret@cache.example.com  (TLS with the platform's roots, -Y auth)
//! ```
//!
//! The scheme picks the transport (`memcache` and `memcache+tcp`: TCP, or a
//! Unix socket when the URL has a path but no host; `memcache+unix`: a
//! Unix socket; `memcaches` and `memcache+tls`: TLS). The authority holds
//! optional `user:password@` credentials and a comma-separated server list
//! (`host`, `host:port`, `[v6]:port`; port 11211 by default). Query
//! parameters are the [`ClientBuilder`](crate::ClientBuilder) settings
//! (listed in `params.rs` and the README). Anything not understood is a
//! [`UrlError`] that names the part; nothing is guessed or ignored.

mod params;

use std::str::FromStr;

use crate::config::DEFAULT_PORT;
use crate::{ClientConfig, Result, ServerAddr, ServerConfig};

/// A URL that does not describe a usable client configuration. Messages
/// name the part that is wrong; they never contain the password.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum UrlError {
    /// No `scheme://` at the start.
    #[error("not a URL: expected memcache://host:port (or memcache:///path/to.sock)")]
    NotAUrl,
    /// A scheme this client does not speak.
    #[error("unknown scheme {0:?}: expected memcache, memcache+tcp, memcache+unix, memcaches or memcache+tls")]
    Scheme(String),
    /// A server of the authority's list is malformed.
    #[error("bad server {server:?}: {reason}")]
    Server {
        /// The server as written.
        server: String,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// A port that is not a number from 1 to 65535.
    #[error("bad port {port:?} of server {server:?}: expected 1 to 65535")]
    Port {
        /// The server as written.
        server: String,
        /// The port as written.
        port: String,
    },
    /// A path where none belongs (a TCP URL), or a missing socket path.
    #[error("bad path: {0}")]
    Path(&'static str),
    /// `user:password@` that memcached authentication cannot use.
    #[error("bad credentials in the URL: {0}")]
    Credentials(&'static str),
    /// A query parameter this client does not know.
    #[error("unknown parameter {0:?}")]
    UnknownParameter(String),
    /// A parameter given twice (under one of its names).
    #[error("parameter {0:?} given more than once")]
    DuplicateParameter(String),
    /// A parameter whose value does not parse.
    #[error("bad value {value:?} for parameter {name:?}: expected {expected}")]
    Value {
        /// The parameter.
        name: String,
        /// The value as written.
        value: String,
        /// What would have been accepted.
        expected: &'static str,
    },
    /// A `%` escape that is not two hex digits or does not decode to UTF-8.
    #[error("bad percent-encoding in the {0}")]
    Encoding(&'static str),
    /// Something valid in URLs of other clients that this one does not do
    /// (UDP, the binary protocol, unverified TLS, ...).
    #[error("not supported: {0}")]
    Unsupported(&'static str),
    /// No server in the URL.
    #[error("no server: expected memcache://host:port or memcache:///path/to.sock")]
    NoServer,
    /// A certificate or key file named by a TLS parameter could not be
    /// used.
    #[error("TLS parameter {name:?}: {reason}")]
    Tls {
        /// The parameter (`ca_path`, `cert_path`, `key_path`) or
        /// `native roots`.
        name: &'static str,
        /// What went wrong.
        reason: String,
    },
}

/// The transport a scheme selects.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Transport {
    /// TCP, or a Unix socket when there is a path and no host.
    Plain,
    Unix,
    Tls,
}

fn transport(scheme: &str) -> std::result::Result<Transport, UrlError> {
    match scheme.to_ascii_lowercase().as_str() {
        "memcache" | "memcache+tcp" => Ok(Transport::Plain),
        "memcache+unix" => Ok(Transport::Unix),
        "memcaches" | "memcache+tls" => Ok(Transport::Tls),
        "memcache+udp" => Err(UrlError::Unsupported("UDP (memcache+udp)")),
        _ => Err(UrlError::Scheme(scheme.to_string())),
    }
}

impl ClientConfig {
    /// The configuration a `memcache://` URL describes. Reads the
    /// certificate files a TLS URL names; opens no connection.
    ///
    /// - Schemes: `memcache://` and `memcache+tcp://` (TCP; a Unix socket
    ///   when there is a path and no host: `memcache:///run/mc.sock`),
    ///   `memcache+unix:///run/mc.sock`, `memcaches://` and
    ///   `memcache+tls://` (TLS).
    /// - Authority: optional `user:password@` (memcached `-Y`
    ///   authentication, `%`-escapes decoded), then servers separated by
    ///   commas: `host`, `host:port`, `[v6]:port` (port 11211 by default).
    /// - Parameters (durations are seconds, `1.5`, or take a unit: `250ms`,
    ///   `2s`, `1m`, `500us`): `connect_timeout`, `timeout` (also
    ///   `operation_timeout`), `pool_size` (also
    ///   `max_connections_per_server`), `pool_wait_timeout`,
    ///   `connection_mode` (also `mode`: `exclusive`, `multiplexed`),
    ///   `distribution` (`ketama` = `ketama_weighted`, `ketama_unweighted`,
    ///   `rendezvous`), `failover` (`fail_fast`, `next_server`, or
    ///   `false`/`true`), `dead_after_failures`, `retry_dead_after`,
    ///   `record_keys`, `max_value_len` (bytes), `weights` (one per server,
    ///   in order: `weights=3,1`), `server` (repeatable: one more server,
    ///   also a socket path); TLS only: `ca_path` (PEM; without it the
    ///   platform's roots), `cert_path` and `key_path` (client
    ///   certificate), `server_name`, `verify_mode=peer`. The `memcache`
    ///   crate's `protocol=ascii`, `tcp_nodelay=true` and `udp=false` are
    ///   accepted as what this client always does; their opposites are
    ///   [`UrlError::Unsupported`].
    ///
    /// ```
    /// use std::time::Duration;
    /// use memcache_client::{ClientConfig, Distribution};
    ///
    /// let config = ClientConfig::from_url(
    ///     "memcache://a:11211,b:11212?timeout=250ms&distribution=rendezvous",
    /// )?;
    /// assert_eq!(config.servers.len(), 2);
    /// assert_eq!(config.operation_timeout, Duration::from_millis(250));
    /// assert_eq!(config.distribution, Distribution::Rendezvous);
    /// # Ok::<(), memcache_client::UrlError>(())
    /// ```
    pub fn from_url(url: &str) -> std::result::Result<ClientConfig, UrlError> {
        let (scheme, rest) = url.split_once("://").ok_or(UrlError::NotAUrl)?;
        let transport = transport(scheme)?;
        if rest.contains('#') {
            return Err(UrlError::Unsupported("a #fragment"));
        }
        let (before_query, query) = rest.split_once('?').unwrap_or((rest, ""));
        let (authority, path) = before_query
            .find('/')
            .map_or((before_query, ""), |at| before_query.split_at(at));
        let (userinfo, hosts) = authority
            .rsplit_once('@')
            .map_or((None, authority), |(user, hosts)| (Some(user), hosts));
        if userinfo.is_none() && misplaced_userinfo(authority, path, query) {
            // A password with a raw '/' or '?' cut the URL short: refuse it
            // before any error could quote a piece of the password.
            return Err(UrlError::Credentials(
                "'/', '?' and '#' in a user name or password must be %-escaped",
            ));
        }

        let mut config = ClientConfig {
            servers: servers(transport, hosts, path)?,
            ..ClientConfig::default()
        };
        if let Some(userinfo) = userinfo {
            config.credentials = Some(credentials(userinfo)?);
        }
        params::apply(&mut config, query, transport == Transport::Tls)?;
        if config.servers.is_empty() {
            return Err(UrlError::NoServer);
        }
        Ok(config)
    }
}

/// Parses a URL ([`ClientConfig::from_url`]).
impl FromStr for ClientConfig {
    type Err = UrlError;

    fn from_str(url: &str) -> std::result::Result<ClientConfig, UrlError> {
        ClientConfig::from_url(url)
    }
}

/// The configuration [`crate::Client::connect`] builds from its argument: a URL,
/// or a lone server address with default settings.
pub(crate) fn connect_target(target: &str) -> Result<ClientConfig> {
    if target.contains("://") {
        return Ok(ClientConfig::from_url(target)?);
    }
    Ok(ClientConfig {
        servers: vec![target.parse::<ServerAddr>()?.into()],
        ..ClientConfig::default()
    })
}

/// Whether an '@' sits where only a cut-short `user:password@` can put it:
/// in the path of a URL with a host, or in the first parameter's name
/// (neither is valid otherwise).
fn misplaced_userinfo(authority: &str, path: &str, query: &str) -> bool {
    let first_name = query.split(['&', '=']).next().unwrap_or("");
    (!authority.is_empty() && path.contains('@')) || first_name.contains('@')
}

/// The servers of the authority, or the socket path.
fn servers(
    transport: Transport,
    hosts: &str,
    path: &str,
) -> std::result::Result<Vec<ServerConfig>, UrlError> {
    let socket = |path: &str| -> std::result::Result<Vec<ServerConfig>, UrlError> {
        let path = percent_decode(path, "socket path")?;
        Ok(vec![ServerAddr::unix(path).into()])
    };
    match transport {
        Transport::Unix if !hosts.is_empty() => Err(UrlError::Path(
            "a Unix socket URL has no host: write memcache+unix:///path/to.sock",
        )),
        Transport::Unix if path.len() <= 1 => Err(UrlError::Path("no socket path")),
        Transport::Unix => socket(path),
        Transport::Plain if hosts.is_empty() && path.len() > 1 => socket(path),
        Transport::Tls if hosts.is_empty() && path.len() > 1 => {
            Err(UrlError::Unsupported("TLS over a Unix socket"))
        }
        _ if path.len() > 1 => Err(UrlError::Path(
            "a TCP URL has no path (for a Unix socket write memcache:///path/to.sock)",
        )),
        _ if hosts.is_empty() => Ok(Vec::new()),
        _ => hosts
            .split(',')
            .map(|server| tcp_server(server).map(ServerConfig::from))
            .collect(),
    }
}

/// `host`, `host:port`, `[v6]` or `[v6]:port`.
pub(super) fn tcp_server(server: &str) -> std::result::Result<ServerAddr, UrlError> {
    let bad = |reason| UrlError::Server {
        server: server.to_string(),
        reason,
    };
    let (host, port) = if let Some(rest) = server.strip_prefix('[') {
        let (host, after) = rest
            .split_once(']')
            .ok_or_else(|| bad("an IPv6 address needs its closing ']'"))?;
        if host.parse::<std::net::Ipv6Addr>().is_err() {
            return Err(bad("not an IPv6 address between '[' and ']'"));
        }
        match after {
            "" => (host, None),
            _ => (
                host,
                Some(
                    after
                        .strip_prefix(':')
                        .ok_or_else(|| bad("expected ':' and a port after ']'"))?,
                ),
            ),
        }
    } else {
        match server.split_once(':') {
            Some((_, port)) if port.contains(':') => {
                return Err(bad(
                    "an IPv6 address must be written in brackets: [::1]:11211",
                ))
            }
            Some((host, port)) => (host, Some(port)),
            None => (server, None),
        }
    };
    if host.is_empty() {
        return Err(bad("empty host"));
    }
    if host
        .bytes()
        .any(|b| b.is_ascii_control() || b" %/?#@[]\\".contains(&b))
    {
        return Err(bad("the host has a character hosts cannot have"));
    }
    let port = match port {
        None => DEFAULT_PORT,
        Some(port) => match port.parse::<u16>() {
            Ok(p) if p > 0 && port.bytes().all(|b| b.is_ascii_digit()) => p,
            _ => {
                return Err(UrlError::Port {
                    server: server.to_string(),
                    port: port.to_string(),
                })
            }
        },
    };
    Ok(ServerAddr::tcp(host, port))
}

/// `user:password` for memcached's ASCII authentication.
fn credentials(userinfo: &str) -> std::result::Result<crate::Credentials, UrlError> {
    let (user, password) = userinfo
        .split_once(':')
        .ok_or(UrlError::Credentials("expected user:password@"))?;
    let user = percent_decode(user, "user name")?;
    let password = percent_decode(password, "password")?;
    crate::Credentials::new(user, password).map_err(|_| {
        UrlError::Credentials("user and password must be non-empty printable ASCII without spaces")
    })
}

/// Decodes `%XX` escapes (and nothing else: `+` is a plus sign outside a
/// query); `part` names what is decoded in the error.
pub(super) fn percent_decode(s: &str, part: &'static str) -> std::result::Result<String, UrlError> {
    decode(s, false, part)
}

/// `%XX` escapes, and with `plus_is_space` (query strings, as the
/// `memcache` crate's parser reads them) `+` as a space.
fn decode(
    s: &str,
    plus_is_space: bool,
    part: &'static str,
) -> std::result::Result<String, UrlError> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'%' => {
                let hex = bytes
                    .get(i + 1..i + 3)
                    .filter(|h| h.iter().all(u8::is_ascii_hexdigit))
                    .and_then(|h| std::str::from_utf8(h).ok())
                    .and_then(|h| u8::from_str_radix(h, 16).ok())
                    .ok_or(UrlError::Encoding(part))?;
                out.push(hex);
                i += 3;
            }
            b'+' if plus_is_space => {
                out.push(b' ');
                i += 1;
            }
            b => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8(out).map_err(|_| UrlError::Encoding(part))
}
