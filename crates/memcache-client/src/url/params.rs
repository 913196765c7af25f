//! The query parameters of a `memcache://` URL: each one a
//! [`ClientBuilder`](crate::ClientBuilder) setting, its value checked.

use std::collections::HashSet;
use std::time::Duration;

use super::{decode, tcp_server, UrlError};
use crate::{ClientConfig, ConnectionMode, Distribution, Failover, ServerAddr, ServerConfig};

/// TLS settings gathered from the parameters, applied once all are read.
#[derive(Default)]
struct TlsParams {
    ca_path: Option<String>,
    cert_path: Option<String>,
    key_path: Option<String>,
    server_name: Option<String>,
}

/// A query parameter.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
enum Param {
    ConnectTimeout,
    Timeout,
    PoolSize,
    PoolWaitTimeout,
    ConnectionMode,
    Distribution,
    Failover,
    DeadAfterFailures,
    RetryDeadAfter,
    RecordKeys,
    PeerService,
    MaxValueLen,
    Weights,
    Server,
    Protocol,
    TcpNodelay,
    Udp,
    CaPath,
    CertPath,
    KeyPath,
    ServerName,
    VerifyMode,
}

impl Param {
    /// The parameter a name stands for (aliases are the `memcache` crate's
    /// or the builder's names), or `None` if unknown.
    fn from_name(name: &str) -> Option<Param> {
        use Param::*;
        Some(match name {
            "connect_timeout" => ConnectTimeout,
            "timeout" | "operation_timeout" => Timeout,
            "pool_size" | "max_connections_per_server" => PoolSize,
            "pool_wait_timeout" => PoolWaitTimeout,
            "connection_mode" | "mode" => ConnectionMode,
            "distribution" => Distribution,
            "failover" => Failover,
            "dead_after_failures" => DeadAfterFailures,
            "retry_dead_after" => RetryDeadAfter,
            "record_keys" => RecordKeys,
            "peer_service" => PeerService,
            "max_value_len" => MaxValueLen,
            "weights" => Weights,
            "server" => Server,
            "protocol" => Protocol,
            "tcp_nodelay" => TcpNodelay,
            "udp" => Udp,
            "ca_path" => CaPath,
            "cert_path" => CertPath,
            "key_path" => KeyPath,
            "server_name" => ServerName,
            "verify_mode" => VerifyMode,
            _ => return None,
        })
    }

    /// Whether it only makes sense with a TLS scheme.
    fn is_tls(self) -> bool {
        use Param::*;
        matches!(self, CaPath | CertPath | KeyPath | ServerName | VerifyMode)
    }
}

/// Applies the query string to `config`.
pub(super) fn apply(config: &mut ClientConfig, query: &str, tls: bool) -> Result<(), UrlError> {
    let mut seen = HashSet::new();
    let mut weights = None;
    let mut tls_params = TlsParams::default();
    for pair in query.split('&').filter(|p| !p.is_empty()) {
        let (raw_name, raw_value) = pair.split_once('=').unwrap_or((pair, ""));
        let name = decode(raw_name, true, "parameter names")?;
        let value = decode(raw_value, true, "parameter values")?;
        let param =
            Param::from_name(&name).ok_or_else(|| UrlError::UnknownParameter(name.clone()))?;
        if param != Param::Server && !seen.insert(param) {
            return Err(UrlError::DuplicateParameter(name));
        }
        if param.is_tls() && !tls {
            return Err(UrlError::Unsupported(
                "TLS parameters without a TLS scheme (memcaches:// or memcache+tls://)",
            ));
        }
        let bad = |expected| UrlError::Value {
            name: name.clone(),
            value: value.clone(),
            expected,
        };
        match param {
            Param::ConnectTimeout => {
                config.connect_timeout = duration(&value).ok_or_else(|| bad(DURATION))?
            }
            Param::Timeout => {
                config.operation_timeout = duration(&value).ok_or_else(|| bad(DURATION))?
            }
            Param::PoolWaitTimeout => {
                config.pool_wait_timeout = duration(&value).ok_or_else(|| bad(DURATION))?
            }
            Param::RetryDeadAfter => {
                config.retry_dead_after = duration(&value).ok_or_else(|| bad(DURATION))?
            }
            Param::PoolSize => {
                config.max_connections_per_server =
                    positive(&value).ok_or_else(|| bad("a whole number of at least 1"))?
            }
            Param::DeadAfterFailures => {
                config.dead_after_failures =
                    positive(&value).ok_or_else(|| bad("a whole number of at least 1"))?
            }
            Param::MaxValueLen => {
                config.limits.max_value_len =
                    positive(&value).ok_or_else(|| bad("a size in bytes of at least 1"))?
            }
            Param::ConnectionMode => {
                config.connection_mode = match value.as_str() {
                    "exclusive" => ConnectionMode::Exclusive,
                    "multiplexed" => ConnectionMode::Multiplexed,
                    _ => return Err(bad("exclusive or multiplexed")),
                }
            }
            Param::Distribution => {
                config.distribution = match value.as_str() {
                    "ketama" | "ketama_weighted" => Distribution::Ketama,
                    "ketama_unweighted" => Distribution::KetamaUnweighted,
                    "rendezvous" => Distribution::Rendezvous,
                    _ => {
                        return Err(bad(
                            "ketama, ketama_weighted, ketama_unweighted or rendezvous",
                        ))
                    }
                }
            }
            Param::Failover => {
                config.failover = match value.as_str() {
                    "fail_fast" | "false" => Failover::FailFast,
                    "next_server" | "true" => Failover::NextServer,
                    _ => return Err(bad("fail_fast, next_server, false or true")),
                }
            }
            Param::RecordKeys => {
                config.record_keys = boolean(&value).ok_or_else(|| bad(BOOLEAN))?
            }
            Param::PeerService => config.peer_service = value.to_string(),
            Param::Weights => {
                weights = Some(
                    value
                        .split(',')
                        .map(positive)
                        .collect::<Option<Vec<u32>>>()
                        .ok_or_else(|| bad("whole numbers of at least 1, separated by commas"))?,
                )
            }
            Param::Server => config
                .servers
                .push(ServerConfig::from(extra_server(&value)?)),
            Param::Protocol if value == "ascii" => {}
            Param::Protocol => {
                return Err(UrlError::Unsupported(
                    "a protocol other than protocol=ascii",
                ))
            }
            Param::TcpNodelay => match boolean(&value) {
                Some(true) => {}
                Some(false) => return Err(UrlError::Unsupported("tcp_nodelay=false")),
                None => return Err(bad(BOOLEAN)),
            },
            Param::Udp => match boolean(&value) {
                Some(false) => {}
                Some(true) => return Err(UrlError::Unsupported("UDP (udp=true)")),
                None => return Err(bad(BOOLEAN)),
            },
            Param::VerifyMode if value == "peer" => {}
            Param::VerifyMode => {
                return Err(UrlError::Unsupported(
                    "verify_mode other than peer: server certificates are always verified",
                ))
            }
            Param::CaPath => tls_params.ca_path = Some(value),
            Param::CertPath => tls_params.cert_path = Some(value),
            Param::KeyPath => tls_params.key_path = Some(value),
            Param::ServerName => tls_params.server_name = Some(value),
        }
    }
    if let Some(weights) = weights {
        if weights.len() != config.servers.len() {
            return Err(UrlError::Value {
                name: "weights".into(),
                value: format!("{} weights", weights.len()),
                expected: "one weight per server",
            });
        }
        for (server, weight) in config.servers.iter_mut().zip(weights) {
            server.weight = weight;
        }
    }
    if tls {
        set_tls(config, tls_params)?;
    }
    Ok(())
}

const DURATION: &str = "seconds (1.5) or a number with a unit: 500us, 250ms, 2s, 1m";
const BOOLEAN: &str = "true or false";

/// A `server=` parameter: a TCP address as in the authority, or a socket
/// path.
fn extra_server(value: &str) -> Result<ServerAddr, UrlError> {
    match value.strip_prefix("unix:") {
        Some(path) if !path.is_empty() => Ok(ServerAddr::unix(path)),
        _ if value.starts_with('/') => Ok(ServerAddr::unix(value)),
        _ => tcp_server(value),
    }
}

/// `1.5` (seconds, as the `memcache` crate reads it), `500us`, `250ms`,
/// `2s`, `1m`: digits with at most one decimal point, then a unit. Whole
/// numbers are exact; fractions are rounded to the nanosecond.
fn duration(value: &str) -> Option<Duration> {
    let split = value
        .find(|c: char| !c.is_ascii_digit() && c != '.')
        .unwrap_or(value.len());
    let (number, unit) = value.split_at(split);
    let seconds_per_unit = match unit {
        "" | "s" => 1.0,
        "ms" => 1e-3,
        "us" => 1e-6,
        "m" => 60.0,
        _ => return None,
    };
    let well_formed = !number.is_empty()
        && number.matches('.').count() <= 1
        && !number.starts_with('.')
        && !number.ends_with('.');
    if !well_formed {
        return None;
    }
    if !number.contains('.') {
        let whole: u64 = number.parse().ok()?;
        return match unit {
            "us" => Some(Duration::from_micros(whole)),
            "ms" => Some(Duration::from_millis(whole)),
            "m" => whole.checked_mul(60).map(Duration::from_secs),
            _ => Some(Duration::from_secs(whole)),
        };
    }
    let number: f64 = number.parse().ok()?;
    Duration::try_from_secs_f64(number * seconds_per_unit).ok()
}

/// A whole number of at least 1, digits only.
fn positive<T: std::str::FromStr + PartialOrd + From<u8>>(value: &str) -> Option<T> {
    if value.is_empty() || !value.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    value.parse().ok().filter(|n| *n >= T::from(1))
}

fn boolean(value: &str) -> Option<bool> {
    match value {
        "true" | "1" | "yes" | "on" => Some(true),
        "false" | "0" | "no" | "off" => Some(false),
        _ => None,
    }
}

#[cfg(feature = "tls")]
fn set_tls(config: &mut ClientConfig, params: TlsParams) -> Result<(), UrlError> {
    use crate::TlsConfig;
    let tls_error = |name| {
        move |e: crate::Error| UrlError::Tls {
            name,
            reason: e.to_string(),
        }
    };
    let read = |name, path: &str| {
        std::fs::read(path).map_err(|e| UrlError::Tls {
            name,
            reason: format!("cannot read {path:?}: {e}"),
        })
    };
    let mut tls = match &params.ca_path {
        Some(path) => {
            TlsConfig::from_ca_pem(&read("ca_path", path)?).map_err(tls_error("ca_path"))?
        }
        None => TlsConfig::native_roots().map_err(tls_error("native roots"))?,
    };
    match (&params.cert_path, &params.key_path) {
        (Some(cert), Some(key)) => {
            tls = tls
                .client_identity(&read("cert_path", cert)?, &read("key_path", key)?)
                .map_err(tls_error("key_path"))?;
        }
        (None, None) => {}
        _ => {
            return Err(UrlError::Tls {
                name: "cert_path",
                reason: "cert_path and key_path go together".into(),
            })
        }
    }
    if let Some(name) = params.server_name {
        tls = tls.server_name(name);
    }
    config.tls = Some(tls);
    Ok(())
}

#[cfg(not(feature = "tls"))]
fn set_tls(_: &mut ClientConfig, _: TlsParams) -> Result<(), UrlError> {
    Err(UrlError::Unsupported(
        "TLS: this build of memcache-client lacks the `tls` feature",
    ))
}
