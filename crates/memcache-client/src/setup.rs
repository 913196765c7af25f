//! What happens to a new connection before it enters the pool: the TLS
//! handshake (feature `tls`) and authentication, as configured.

use std::time::Duration;

use memcache_codec::Limits;

use crate::auth::Credentials;
use crate::conn::Conn;
use crate::{ClientConfig, Error, Result, ServerAddr};

#[derive(Clone, Default)]
pub(crate) struct ConnSetup {
    #[cfg(feature = "tls")]
    pub tls: Option<crate::tls::Connector>,
    pub credentials: Option<Credentials>,
}

impl ConnSetup {
    /// Prepares the configuration's TLS settings once for all connections.
    pub fn from_config(config: &ClientConfig) -> Result<ConnSetup> {
        Ok(ConnSetup {
            #[cfg(feature = "tls")]
            tls: config
                .tls
                .as_ref()
                .map(crate::tls::Connector::new)
                .transpose()?,
            credentials: config.credentials.clone(),
        })
    }

    /// A new connection, ready for either connection mode: connected and
    /// TLS-wrapped within `timeout`, then authenticated within `timeout`.
    pub async fn connect(
        &self,
        addr: &ServerAddr,
        timeout: Duration,
        limits: Limits,
    ) -> Result<Conn> {
        let mut conn = Conn::open(
            addr,
            timeout,
            limits,
            #[cfg(feature = "tls")]
            self.tls.as_ref(),
        )
        .await?;
        if let Some(credentials) = &self.credentials {
            let login = crate::auth::authenticate(&mut conn, credentials, &limits);
            tokio::time::timeout(timeout, login)
                .await
                .map_err(|_| Error::ConnectTimeout)??;
        }
        Ok(conn)
    }
}
