//! TLS for server connections (cargo feature `tls`): rustls with the `ring`
//! provider, through tokio-rustls.
//!
//! The server certificate is verified against the CA roots given here
//! (a private CA's PEM, as most memcached deployments use, or the
//! platform's roots for a managed memcached with a public certificate) and
//! the server name, which defaults to the configured host (a DNS name or an
//! IP literal). A client certificate can be presented for servers that
//! require one (`ssl_verify_mode`).

use std::fmt;
use std::sync::Arc;

use tokio::net::TcpStream;
use tokio_rustls::client::TlsStream;
use tokio_rustls::rustls::{
    self,
    pki_types::{pem::PemObject, CertificateDer, PrivateKeyDer, ServerName},
};

use crate::{Error, Result};

/// What a client needs to open verified TLS connections.
pub struct TlsConfig {
    roots: Vec<CertificateDer<'static>>,
    server_name: Option<String>,
    identity: Option<(Vec<CertificateDer<'static>>, PrivateKeyDer<'static>)>,
}

impl TlsConfig {
    /// Trusts the CA certificates in `pem` (one or more `CERTIFICATE`
    /// blocks).
    pub fn from_ca_pem(pem: &[u8]) -> Result<TlsConfig> {
        let roots = certificates(pem)?;
        Ok(TlsConfig {
            roots,
            server_name: None,
            identity: None,
        })
    }

    /// Trusts the platform's root certificates (on Linux the system bundle,
    /// e.g. `/etc/ssl/certs`, or the files `SSL_CERT_FILE`/`SSL_CERT_DIR`
    /// name; the OS store on macOS and Windows), for servers with a
    /// certificate from a public CA. Fails when none can be loaded.
    pub fn native_roots() -> Result<TlsConfig> {
        let loaded = rustls_native_certs::load_native_certs();
        if loaded.certs.is_empty() {
            let why = loaded
                .errors
                .first()
                .map_or_else(|| "none installed".to_string(), |e| e.to_string());
            return Err(Error::Config(format!(
                "no platform root certificates could be loaded: {why}"
            )));
        }
        Ok(TlsConfig {
            roots: loaded.certs,
            server_name: None,
            identity: None,
        })
    }

    /// The name the server certificate must carry, instead of the host of
    /// the server address.
    pub fn server_name(mut self, name: impl Into<String>) -> TlsConfig {
        self.server_name = Some(name.into());
        self
    }

    /// Presents this certificate chain and private key (PEM) to servers
    /// that ask for a client certificate.
    pub fn client_identity(mut self, cert_chain_pem: &[u8], key_pem: &[u8]) -> Result<TlsConfig> {
        let chain = certificates(cert_chain_pem)?;
        let key = PrivateKeyDer::from_pem_slice(key_pem)
            .map_err(|_| Error::Config("no usable private key in the PEM".into()))?;
        self.identity = Some((chain, key));
        Ok(self)
    }
}

fn certificates(pem: &[u8]) -> Result<Vec<CertificateDer<'static>>> {
    let certs = CertificateDer::pem_slice_iter(pem)
        .collect::<std::result::Result<Vec<_>, _>>()
        .map_err(|_| Error::Config("unreadable certificate PEM".into()))?;
    if certs.is_empty() {
        return Err(Error::Config("no certificate in the PEM".into()));
    }
    Ok(certs)
}

impl Clone for TlsConfig {
    fn clone(&self) -> Self {
        TlsConfig {
            roots: self.roots.clone(),
            server_name: self.server_name.clone(),
            identity: self
                .identity
                .as_ref()
                .map(|(chain, key)| (chain.clone(), key.clone_key())),
        }
    }
}

/// No key material in debug output.
impl fmt::Debug for TlsConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TlsConfig")
            .field("roots", &self.roots.len())
            .field("server_name", &self.server_name)
            .field("client_identity", &self.identity.is_some())
            .finish()
    }
}

/// A ready rustls client configuration, shared by every connection.
#[derive(Clone)]
pub(crate) struct Connector {
    inner: tokio_rustls::TlsConnector,
    server_name: Option<String>,
}

impl Connector {
    pub fn new(config: &TlsConfig) -> Result<Connector> {
        let bad = |e: rustls::Error| Error::Config(format!("TLS configuration: {e}"));
        let mut roots = rustls::RootCertStore::empty();
        for cert in &config.roots {
            roots.add(cert.clone()).map_err(bad)?;
        }
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let builder = rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(bad)?
            .with_root_certificates(roots);
        let client = match &config.identity {
            Some((chain, key)) => builder
                .with_client_auth_cert(chain.clone(), key.clone_key())
                .map_err(bad)?,
            None => builder.with_no_client_auth(),
        };
        Ok(Connector {
            inner: tokio_rustls::TlsConnector::from(Arc::new(client)),
            server_name: config.server_name.clone(),
        })
    }

    /// The TLS handshake over a connected socket to `host`. Any failure
    /// (unknown CA, wrong name, a peer that does not speak TLS) is
    /// [`Error::Tls`].
    pub async fn handshake(&self, host: &str, stream: TcpStream) -> Result<TlsStream<TcpStream>> {
        let name = self.server_name.as_deref().unwrap_or(host).to_owned();
        let name = ServerName::try_from(name)
            .map_err(|_| Error::Config("the TLS server name is not a DNS name or IP".into()))?;
        self.inner
            .connect(name, stream)
            .await
            .map_err(|e| Error::Tls(e.to_string()))
    }
}
