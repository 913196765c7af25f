//! What happens to a new connection before it enters the pool: the TLS
//! handshake (feature `tls`) and authentication, as configured.

use crate::auth::Credentials;
use crate::{ClientConfig, Result};

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
}
